//! Throwaway Redis deployments on loopback TCP ports: a Redis Cluster (masters, optionally a
//! replica each) and a Sentinel group (a master, a replica, three sentinels). Every process
//! is killed and reaped on drop; a missing binary fails the test with the install command.

use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::time::{Duration, Instant};

use redis::Commands;

pub use super::free_ports;
use super::redis_server::spawn;

fn connect(port: u16, password: Option<&str>) -> redis::RedisResult<redis::Connection> {
    let auth = password.map_or(String::new(), |p| format!(":{p}@"));
    let client = redis::Client::open(format!("redis://{auth}127.0.0.1:{port}/"))?;
    let conn = client.get_connection_with_timeout(Duration::from_millis(500))?;
    conn.set_read_timeout(Some(Duration::from_secs(2)))?;
    Ok(conn)
}

fn wait_until(what: &str, timeout: Duration, mut ready: impl FnMut() -> bool) {
    let deadline = Instant::now() + timeout;
    while !ready() {
        assert!(Instant::now() < deadline, "{what}: not within {timeout:?}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// One `redis-server` (or sentinel) process on a loopback port.
pub struct Node {
    pub port: u16,
    child: Option<Child>,
    /// The node's `requirepass`, used by the test's own connections.
    password: Option<String>,
}

impl Node {
    fn start(port: u16, program: &str, args: Vec<String>) -> Self {
        Self::start_with_password(port, program, args, None)
    }

    fn start_with_password(
        port: u16,
        program: &str,
        args: Vec<String>,
        password: Option<&str>,
    ) -> Self {
        let mut node = Node {
            port,
            child: Some(spawn(program, &args)),
            password: password.map(str::to_owned),
        };
        node.wait_ready();
        node
    }

    fn wait_ready(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if let Ok(mut conn) = connect(self.port, self.password.as_deref())
                && let Ok(info) = redis::cmd("INFO").arg("server").query::<String>(&mut conn)
            {
                // Ours, not another test's server on the same port (`free_ports`).
                let ours = self.child.as_ref().map(Child::id);
                let answering = info
                    .lines()
                    .find_map(|line| line.strip_prefix("process_id:"))
                    .and_then(|pid| pid.trim().parse::<u32>().ok());
                assert_eq!(
                    answering, ours,
                    "port {} is answered by another process than the server started on it",
                    self.port
                );
                return;
            }
            if let Some(Ok(Some(status))) = self.child.as_mut().map(Child::try_wait) {
                panic!("redis on port {} exited at start: {status}", self.port);
            }
            assert!(
                Instant::now() < deadline,
                "redis on port {} did not start within 10 s",
                self.port
            );
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/", self.port)
    }

    pub fn conn(&self) -> redis::Connection {
        connect(self.port, self.password.as_deref()).expect("connect to a test redis node")
    }

    /// A connection, or the error (a node being demoted or resyncing may refuse a while).
    pub fn try_conn(&self) -> redis::RedisResult<redis::Connection> {
        connect(self.port, self.password.as_deref())
    }

    pub fn alive(&self) -> bool {
        self.child.is_some()
    }

    /// SIGKILL (no chance to save or hand over) and reap.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        self.kill();
    }
}

/// A Redis Cluster on loopback: `masters` masters, each with `replicas` replicas, slots spread
/// evenly by `redis-cli --cluster create`. Cluster node timeout 1 s, so that a dead master is
/// replaced within a few seconds, and `cluster-require-full-coverage no`, so that the other
/// masters keep serving meanwhile (see the README).
pub struct RedisCluster {
    pub nodes: Vec<Node>,
    _dir: tempfile::TempDir,
}

pub const NODE_TIMEOUT_MS: u64 = 1000;

impl RedisCluster {
    pub fn start(masters: usize, replicas: usize) -> Self {
        let started = Instant::now();
        let dir = tempfile::tempdir().expect("temp dir");
        let count = masters * (1 + replicas);
        let ports = free_ports(count * 2);
        let mut nodes = Vec::new();
        for i in 0..count {
            let (port, bus) = (ports[2 * i], ports[2 * i + 1]);
            let node_dir: PathBuf = dir.path().join(port.to_string());
            std::fs::create_dir(&node_dir).unwrap();
            let args = [
                "--port",
                &port.to_string(),
                "--bind",
                "127.0.0.1",
                "--cluster-enabled",
                "yes",
                "--cluster-port",
                &bus.to_string(),
                "--cluster-config-file",
                &node_dir.join("nodes.conf").display().to_string(),
                "--cluster-node-timeout",
                &NODE_TIMEOUT_MS.to_string(),
                // Redis's default (yes) stops the whole cluster while any slot has no
                // master: the other masters' clients would fail too during a failover.
                "--cluster-require-full-coverage",
                "no",
                "--repl-diskless-sync-delay",
                "0",
                "--dir",
                &node_dir.display().to_string(),
                "--save",
                "",
                "--appendonly",
                "no",
                "--loglevel",
                "warning",
            ]
            .map(str::to_owned)
            .to_vec();
            nodes.push(Node::start(port, "redis-server", args));
        }
        let mut create: Vec<String> = vec!["--cluster".into(), "create".into()];
        create.extend(nodes.iter().map(|n| format!("127.0.0.1:{}", n.port)));
        create.extend([
            "--cluster-replicas".into(),
            replicas.to_string(),
            "--cluster-yes".into(),
        ]);
        let out = match Command::new("redis-cli").args(&create).output() {
            Ok(out) => out,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => panic!(
                "redis-cli is not installed: run `apt-get install -y redis-tools` \
                 (scripts/test.sh does it)"
            ),
            Err(e) => panic!("could not run redis-cli: {e}"),
        };
        assert!(
            out.status.success() && String::from_utf8_lossy(&out.stdout).contains("[OK]"),
            "redis-cli --cluster create failed: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        let cluster = RedisCluster { nodes, _dir: dir };
        cluster.wait_healthy(Duration::from_secs(20));
        println!(
            "cluster of {masters} masters x {replicas} replicas ready in {:?}",
            started.elapsed()
        );
        cluster
    }

    pub fn urls(&self) -> Vec<String> {
        self.nodes
            .iter()
            .filter(|n| n.alive())
            .map(Node::url)
            .collect()
    }

    pub fn node(&self, port: u16) -> &Node {
        self.nodes.iter().find(|n| n.port == port).unwrap()
    }

    pub fn node_mut(&mut self, port: u16) -> &mut Node {
        self.nodes.iter_mut().find(|n| n.port == port).unwrap()
    }

    fn any_live(&self) -> &Node {
        self.nodes.iter().find(|n| n.alive()).unwrap()
    }

    /// Every live node says `cluster_state:ok`, and every live replica's link to its master
    /// is up.
    pub fn wait_healthy(&self, timeout: Duration) {
        wait_until("the cluster to be healthy", timeout, || {
            self.nodes.iter().filter(|n| n.alive()).all(|n| {
                let Ok(mut conn) = connect(n.port, None) else {
                    return false;
                };
                let info: String = redis::cmd("CLUSTER")
                    .arg("INFO")
                    .query(&mut conn)
                    .unwrap_or_default();
                let repl: String = redis::cmd("INFO")
                    .arg("replication")
                    .query(&mut conn)
                    .unwrap_or_default();
                info.contains("cluster_state:ok")
                    && (repl.contains("role:master") || repl.contains("master_link_status:up"))
            })
        });
    }

    /// The port of the master serving `key`'s slot, as the cluster says now.
    pub fn master_of(&self, key: &str) -> u16 {
        let mut conn = self.any_live().conn();
        let slot: u16 = redis::cmd("CLUSTER")
            .arg("KEYSLOT")
            .arg(key)
            .query(&mut conn)
            .unwrap();
        let slots: Vec<(u16, u16, Vec<redis::Value>)> = redis::cmd("CLUSTER")
            .arg("SLOTS")
            .query(&mut conn)
            .map(|v: Vec<redis::Value>| {
                v.into_iter()
                    .map(|range| {
                        let redis::Value::Array(parts) = range else {
                            panic!("CLUSTER SLOTS: {range:?}")
                        };
                        let num = |v: &redis::Value| match v {
                            redis::Value::Int(n) => *n as u16,
                            other => panic!("CLUSTER SLOTS: {other:?}"),
                        };
                        (num(&parts[0]), num(&parts[1]), parts[2..].to_vec())
                    })
                    .collect()
            })
            .unwrap();
        let (_, _, nodes) = slots
            .iter()
            .find(|(from, to, _)| (*from..=*to).contains(&slot))
            .expect("the slot is served");
        let redis::Value::Array(master) = &nodes[0] else {
            panic!("CLUSTER SLOTS master: {:?}", nodes[0])
        };
        match &master[1] {
            redis::Value::Int(port) => *port as u16,
            other => panic!("CLUSTER SLOTS port: {other:?}"),
        }
    }

    /// The ports of `master`'s replicas, as the replicas themselves say (the cluster's own
    /// view spreads by gossip, a moment later).
    pub fn replicas_of(&self, master: u16) -> Vec<u16> {
        let wanted = format!("master_port:{master}\r\n");
        self.nodes
            .iter()
            .filter(|n| n.alive())
            .filter(|n| {
                redis::cmd("INFO")
                    .arg("replication")
                    .query::<String>(&mut n.conn())
                    .is_ok_and(|info| info.contains("role:slave") && info.contains(&wanted))
            })
            .map(|n| n.port)
            .collect()
    }

    /// A key's list as `node` holds it (a replica too: `READONLY` first).
    pub fn list_on(&self, port: u16, key: &str) -> Vec<String> {
        let mut conn = self.node(port).conn();
        let _: redis::RedisResult<()> = redis::cmd("READONLY").query(&mut conn);
        conn.lrange(key, 0, -1).unwrap()
    }

    /// Waits until `port` is a master holding slots.
    pub fn wait_master(&self, port: u16, timeout: Duration) {
        wait_until("the replica to become master", timeout, || {
            let Ok(mut conn) = connect(port, None) else {
                return false;
            };
            let role: Vec<redis::Value> = redis::cmd("ROLE").query(&mut conn).unwrap_or_default();
            matches!(role.first(), Some(redis::Value::BulkString(r)) if r == b"master")
        });
    }
}

/// A Sentinel group on loopback: one master, one replica, three sentinels watching the
/// master under the name `mymaster` (quorum 2, down after 1 s, failover timeout 5 s).
/// [`SentinelGroup::start`] waits until a failover can happen (the sentinels know the
/// replica and each other, which takes their hello messages a few seconds);
/// [`SentinelGroup::start_serving`] only until the sentinels name the master.
pub struct SentinelGroup {
    pub master: Node,
    pub replica: Node,
    pub sentinels: Vec<Node>,
    _dir: tempfile::TempDir,
}

pub const MASTER_NAME: &str = "mymaster";

impl SentinelGroup {
    pub fn start() -> Self {
        Self::start_with(true, None)
    }

    pub fn start_serving() -> Self {
        Self::start_with(false, None)
    }

    /// A group whose master and replica require `password` (`requirepass`, and `masterauth`
    /// for replication), watched by sentinels that know it (`sentinel auth-pass`) but ask
    /// none of their own clients; ready for a failover.
    pub fn start_with_password(password: &str) -> Self {
        Self::start_with(true, Some(password))
    }

    fn start_with(ready_for_failover: bool, password: Option<&str>) -> Self {
        let started = Instant::now();
        let dir = tempfile::tempdir().expect("temp dir");
        let ports = free_ports(5);
        let server_args = |port: u16, extra: &[String]| {
            let mut args: Vec<String> = [
                "--port",
                &port.to_string(),
                "--bind",
                "127.0.0.1",
                "--dir",
                &dir.path().display().to_string(),
                "--dbfilename",
                &format!("dump-{port}.rdb"),
                "--repl-diskless-sync-delay",
                "0",
                "--save",
                "",
                "--appendonly",
                "no",
                "--loglevel",
                "warning",
            ]
            .map(str::to_owned)
            .to_vec();
            if let Some(password) = password {
                args.extend(
                    ["--requirepass", password, "--masterauth", password].map(str::to_owned),
                );
            }
            args.extend_from_slice(extra);
            args
        };
        let master = Node::start_with_password(
            ports[0],
            "redis-server",
            server_args(ports[0], &[]),
            password,
        );
        let replica = Node::start_with_password(
            ports[1],
            "redis-server",
            server_args(
                ports[1],
                &[
                    "--replicaof".into(),
                    "127.0.0.1".into(),
                    ports[0].to_string(),
                ],
            ),
            password,
        );
        // A connection that times out on a loaded machine is one more try, not a failure.
        wait_until(
            "the replica to sync",
            Duration::from_secs(10),
            || match replica.try_conn().and_then(|mut conn| {
                redis::cmd("INFO")
                    .arg("replication")
                    .query::<String>(&mut conn)
            }) {
                Ok(info) => info.contains("master_link_status:up"),
                Err(_) => false,
            },
        );
        let sentinels = ports[2..]
            .iter()
            .map(|&port| {
                let config = write_sentinel_config(dir.path(), port, ports[0], password);
                // redis-server in sentinel mode: the same binary, no redis-sentinel needed.
                Node::start(
                    port,
                    "redis-server",
                    vec![config.display().to_string(), "--sentinel".into()],
                )
            })
            .collect();
        let group = SentinelGroup {
            master,
            replica,
            sentinels,
            _dir: dir,
        };
        // Sentinels learn of the replica and of each other through the master: a failover
        // needs both.
        wait_until(
            "the sentinels to know the replica and each other",
            Duration::from_secs(20),
            || {
                group.sentinels.iter().all(|s| {
                    let Ok(mut conn) = connect(s.port, None) else {
                        return false;
                    };
                    let info: Vec<String> = redis::cmd("SENTINEL")
                        .arg("MASTER")
                        .arg(MASTER_NAME)
                        .query(&mut conn)
                        .unwrap_or_default();
                    let field = |name: &str| {
                        info.iter()
                            .position(|f| f == name)
                            .and_then(|i| info.get(i + 1))
                            .and_then(|v| v.parse::<u32>().ok())
                            .unwrap_or(0)
                    };
                    let known = info.iter().any(|f| f == "name");
                    known
                        && (!ready_for_failover
                            || (field("num-slaves") >= 1 && field("num-other-sentinels") >= 2))
                })
            },
        );
        println!("sentinel group ready in {:?}", started.elapsed());
        group
    }

    pub fn sentinel_addrs(&self) -> Vec<String> {
        self.sentinels
            .iter()
            .map(|s| format!("127.0.0.1:{}", s.port))
            .collect()
    }

    /// The sentinels as URLs carrying the master's `password` and database `db`.
    pub fn sentinel_urls(&self, password: &str, db: u8) -> Vec<String> {
        self.sentinels
            .iter()
            .map(|s| format!("redis://:{password}@127.0.0.1:{}/{db}", s.port))
            .collect()
    }

    /// The master's port as the first sentinel sees it.
    pub fn current_master(&self) -> u16 {
        let addr: Vec<String> = redis::cmd("SENTINEL")
            .arg("GET-MASTER-ADDR-BY-NAME")
            .arg(MASTER_NAME)
            .query(&mut self.sentinels[0].conn())
            .unwrap();
        addr[1].parse().unwrap()
    }
}

fn write_sentinel_config(dir: &Path, port: u16, master: u16, password: Option<&str>) -> PathBuf {
    let path = dir.join(format!("sentinel-{port}.conf"));
    let mut config = format!(
        "port {port}\n\
         bind 127.0.0.1\n\
         dir {dir}\n\
         logfile \"\"\n\
         loglevel warning\n\
         sentinel monitor {MASTER_NAME} 127.0.0.1 {master} 2\n\
         sentinel down-after-milliseconds {MASTER_NAME} 1000\n\
         sentinel failover-timeout {MASTER_NAME} 5000\n\
         sentinel parallel-syncs {MASTER_NAME} 1\n",
        dir = dir.display()
    );
    if let Some(password) = password {
        config.push_str(&format!("sentinel auth-pass {MASTER_NAME} {password}\n"));
    }
    std::fs::write(&path, config).unwrap();
    path
}
