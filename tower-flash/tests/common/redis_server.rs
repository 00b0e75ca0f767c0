//! Throwaway `redis-server`s for tests: each on a unix socket in its own temp dir, killed and
//! reaped on drop. A missing binary fails the test with the command that installs it.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Starts `program` (`redis-server`, `redis-cli`…) with `args`, its output on stderr. A
/// missing binary fails the test with the command that installs it.
pub fn spawn<I, S>(program: &str, args: I) -> Child
where
    I: IntoIterator<Item = S>,
    S: AsRef<std::ffi::OsStr>,
{
    match Command::new(program)
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
    {
        Ok(child) => child,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => panic!(
            "{program} is not installed, and these tests need a real one: run \
             `apt-get install -y redis-server redis-tools` (scripts/test.sh does it)"
        ),
        Err(e) => panic!("could not start {program}: {e}"),
    }
}

pub struct RedisServer {
    child: Option<Child>,
    socket: PathBuf,
    // Dropped last: the server's files live here unless the test owns the data dir.
    _dir: Option<tempfile::TempDir>,
}

impl RedisServer {
    /// A fresh server without persistence.
    pub fn start() -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let mut server = Self::spawn(dir.path(), false);
        server._dir = Some(dir);
        server
    }

    /// A server whose data (append-only file, fsync on every write) lives in `dir`, so that
    /// a server started again on the same `dir` has the same data.
    pub fn start_persistent(dir: &Path) -> Self {
        Self::spawn(dir, true)
    }

    fn spawn(dir: &Path, persistent: bool) -> Self {
        let socket = dir.join("redis.sock");
        let mut args: Vec<std::ffi::OsString> = vec![
            "--port".into(),
            "0".into(),
            "--unixsocket".into(),
            socket.clone().into(),
            "--unixsocketperm".into(),
            "700".into(),
            "--dir".into(),
            dir.into(),
            "--save".into(),
            "".into(),
            "--loglevel".into(),
            "warning".into(),
        ];
        let persistence: &[&str] = if persistent {
            &["--appendonly", "yes", "--appendfsync", "always"]
        } else {
            &["--appendonly", "no"]
        };
        args.extend(persistence.iter().map(Into::into));
        let child = spawn("redis-server", args);
        let mut server = RedisServer {
            child: Some(child),
            socket,
            _dir: None,
        };
        server.wait_ready();
        server
    }

    fn wait_ready(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if let Ok(client) = redis::Client::open(self.url())
                && let Ok(mut conn) = client.get_connection()
                && redis::cmd("PING").query::<String>(&mut conn).is_ok()
            {
                return;
            }
            if let Some(child) = self.child.as_mut()
                && let Ok(Some(status)) = child.try_wait()
            {
                panic!("redis-server exited at start: {status}");
            }
            assert!(
                Instant::now() < deadline,
                "redis-server did not start within 10 s"
            );
            std::thread::sleep(Duration::from_millis(2));
        }
    }

    pub fn url(&self) -> String {
        format!("redis+unix://{}", self.socket.display())
    }

    /// A plain connection for inspecting the server from the test.
    pub fn inspect(&self) -> redis::Connection {
        redis::Client::open(self.url())
            .and_then(|c| c.get_connection())
            .expect("connect to the test redis-server")
    }

    /// Kills the server (SIGKILL: no chance to save) and reaps it.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.kill();
    }
}
