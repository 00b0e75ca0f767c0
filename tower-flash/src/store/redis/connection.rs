//! The connection under a [`RedisStore`](super::RedisStore): one server, a cluster, or the
//! master that Sentinel names. The store's operations and scripts are the same on each; only
//! how a command finds its server differs.

use std::sync::{Arc, Mutex, PoisonError};

use redis::aio::{ConnectionLike, ConnectionManager, ConnectionManagerConfig};
use redis::{Cmd, Pipeline, RedisFuture, Value};

/// Every kind of connection the store runs on. Cloning is cheap: clones share the
/// underlying connections; [`Connection::handle`] takes the one to use now.
#[derive(Clone)]
pub(super) enum Connection {
    /// One server, over redis-rs's reconnecting [`ConnectionManager`].
    Single(Single),
    /// A Redis Cluster: commands go to the master of their key's slot, following
    /// redirections and failovers.
    #[cfg(feature = "cluster")]
    Cluster(redis::cluster_async::ClusterConnection),
    /// The master of a Sentinel-monitored group, found again after a failover.
    #[cfg(feature = "sentinel")]
    Sentinel(sentinel::SentinelConnection),
}

/// One server. redis-rs's [`ConnectionManager`] reconnects when its connection breaks, but
/// not when it goes silent: a connection whose peer vanished without a reset (a host gone,
/// a NAT or firewall that forgot it) answers nothing until the kernel gives up, many
/// minutes later. When a call stays unanswered for the store's backstop, the manager of
/// that connection is replaced by a new one (connecting lazily); calls already sent on the
/// old one end at their own timeouts.
#[derive(Clone)]
pub(super) struct Single {
    /// The manager in use when this handle was taken, and its generation.
    manager: ConnectionManager,
    generation: u64,
    shared: Arc<SingleShared>,
}

struct SingleShared {
    current: Mutex<(u64, ConnectionManager)>,
    /// How to build a replacement; `None` for a connection the application made
    /// ([`RedisStore::with_connection`](super::RedisStore::with_connection)), which is kept.
    rebuild: Option<(redis::Client, ConnectionManagerConfig)>,
}

impl Single {
    pub(super) fn new(
        manager: ConnectionManager,
        rebuild: Option<(redis::Client, ConnectionManagerConfig)>,
    ) -> Self {
        Single {
            manager: manager.clone(),
            generation: 0,
            shared: Arc::new(SingleShared {
                current: Mutex::new((0, manager)),
                rebuild,
            }),
        }
    }

    fn current(&self) -> (u64, ConnectionManager) {
        self.shared
            .current
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    fn handle(&self) -> Self {
        let (generation, manager) = self.current();
        Single {
            manager,
            generation,
            shared: self.shared.clone(),
        }
    }

    fn replace_silent(&self, generation: u64) {
        let Some((client, config)) = &self.shared.rebuild else {
            return;
        };
        let mut current = self
            .shared
            .current
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if current.0 != generation {
            return; // already replaced
        }
        match ConnectionManager::new_lazy_with_config(client.clone(), config.clone()) {
            Ok(manager) => {
                tracing::warn!("flash: the Redis connection went silent; opening a new one");
                *current = (generation + 1, manager);
            }
            Err(error) => {
                tracing::error!(%error, "flash: could not replace a silent Redis connection")
            }
        }
    }
}

impl Connection {
    /// The connection to use for one operation now.
    pub(super) fn handle(&self) -> Connection {
        match self {
            Connection::Single(single) => Connection::Single(single.handle()),
            #[allow(unreachable_patterns)] // with neither cluster nor sentinel
            other => other.clone(),
        }
    }

    /// Which connection a handle uses, for [`Connection::replace_silent`].
    pub(super) fn generation(&self) -> u64 {
        match self {
            Connection::Single(single) => single.generation,
            #[cfg(feature = "cluster")]
            Connection::Cluster(_) => 0,
            #[cfg(feature = "sentinel")]
            Connection::Sentinel(conn) => conn.generation(),
        }
    }

    /// A call on the connection of `generation` got no answer within the store's backstop:
    /// the connection may be silent for good, so the next calls use a new one (one server,
    /// Sentinel). On a cluster, redis-rs's cluster client keeps its connections.
    pub(super) fn replace_silent(&self, generation: u64) {
        match self {
            Connection::Single(single) => single.replace_silent(generation),
            #[cfg(feature = "cluster")]
            Connection::Cluster(_) => {}
            #[cfg(feature = "sentinel")]
            Connection::Sentinel(conn) => conn.forget(generation, &"no answer within the backstop"),
        }
    }
}

impl ConnectionLike for Connection {
    fn req_packed_command<'a>(&'a mut self, cmd: &'a Cmd) -> RedisFuture<'a, Value> {
        match self {
            Connection::Single(conn) => conn.manager.req_packed_command(cmd),
            #[cfg(feature = "cluster")]
            Connection::Cluster(conn) => conn.req_packed_command(cmd),
            #[cfg(feature = "sentinel")]
            Connection::Sentinel(conn) => conn.req_packed_command(cmd),
        }
    }

    fn req_packed_commands<'a>(
        &'a mut self,
        pipeline: &'a Pipeline,
        offset: usize,
        count: usize,
    ) -> RedisFuture<'a, Vec<Value>> {
        match self {
            Connection::Single(conn) => conn.manager.req_packed_commands(pipeline, offset, count),
            #[cfg(feature = "cluster")]
            Connection::Cluster(conn) => conn.req_packed_commands(pipeline, offset, count),
            #[cfg(feature = "sentinel")]
            Connection::Sentinel(conn) => conn.req_packed_commands(pipeline, offset, count),
        }
    }

    fn get_db(&self) -> i64 {
        match self {
            Connection::Single(conn) => conn.manager.get_db(),
            #[cfg(feature = "cluster")]
            Connection::Cluster(conn) => conn.get_db(),
            #[cfg(feature = "sentinel")]
            Connection::Sentinel(conn) => conn.get_db(),
        }
    }
}

#[cfg(feature = "sentinel")]
pub(super) mod sentinel {
    //! A connection that follows the master of a Sentinel group.
    //!
    //! redis-rs's Sentinel support finds the current master (asking the sentinels, then
    //! checking the node's `ROLE`), but the connection it returns stays with that node. This
    //! connection forgets the master, so that the next command asks the sentinels again:
    //!
    //! - when the sentinels name another master: a background task asks one of them every
    //!   [`RECHECK`] (Sentinel demotes a live old master only when it next polls it, up to
    //!   10 s later; until then the old master still accepts writes, which its demotion
    //!   discards);
    //! - when the connection breaks (Sentinel kills the demoted master's clients), or the
    //!   node answers `READONLY` (already demoted).

    use std::sync::{Arc, Mutex, PoisonError, Weak};
    use std::time::Duration;

    use redis::aio::{ConnectionLike, MultiplexedConnection};
    use redis::sentinel::SentinelClient;
    use redis::{
        AsyncConnectionConfig, Cmd, ConnectionAddr, ErrorKind, Pipeline, RedisError, RedisFuture,
        RedisResult, ServerErrorKind, Value,
    };

    /// How often the background task asks a sentinel which node is the master.
    pub(in crate::store::redis) const RECHECK: Duration = Duration::from_millis(250);

    /// A connection to the master, with where it goes and its generation (so that a failure
    /// only forgets the connection it happened on, not a newer one).
    #[derive(Clone)]
    struct Current {
        generation: u64,
        addr: Option<(String, u16)>,
        conn: MultiplexedConnection,
    }

    fn host_port(addr: &ConnectionAddr) -> Option<(String, u16)> {
        match addr {
            ConnectionAddr::Tcp(host, port) | ConnectionAddr::TcpTls { host, port, .. } => {
                Some((host.clone(), *port))
            }
            _ => None,
        }
    }

    #[derive(Clone)]
    pub(in crate::store::redis) struct SentinelConnection {
        inner: Arc<Inner>,
    }

    struct Inner {
        /// Asking the sentinels takes `&mut`: one resolution at a time, the others wait and
        /// then use its result.
        sentinel: tokio::sync::Mutex<SentinelClient>,
        current: Mutex<Option<Current>>,
        generation: std::sync::atomic::AtomicU64,
        config: AsyncConnectionConfig,
        master: String,
    }

    impl SentinelConnection {
        /// Finds the master now, so that a misconfiguration fails at start.
        /// Also starts the task that follows the sentinels' choice; it ends once the last
        /// clone of this connection is dropped.
        pub(in crate::store::redis) async fn new(
            sentinel: SentinelClient,
            master: &str,
            config: AsyncConnectionConfig,
        ) -> RedisResult<Self> {
            let conn = SentinelConnection {
                inner: Arc::new(Inner {
                    sentinel: tokio::sync::Mutex::new(sentinel),
                    current: Mutex::new(None),
                    generation: std::sync::atomic::AtomicU64::new(0),
                    config,
                    master: master.to_owned(),
                }),
            };
            conn.master().await?;
            tokio::spawn(follow(Arc::downgrade(&conn.inner)));
            Ok(conn)
        }

        fn current(&self) -> Option<Current> {
            self.inner
                .current
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .clone()
        }

        /// The master's connection, asking the sentinels when there is none.
        async fn master(&self) -> RedisResult<Current> {
            if let Some(current) = self.current() {
                return Ok(current);
            }
            let mut sentinel = self.inner.sentinel.lock().await;
            if let Some(current) = self.current() {
                return Ok(current);
            }
            let client = sentinel.async_get_client().await?;
            let conn = client
                .get_multiplexed_async_connection_with_config(&self.inner.config)
                .await?;
            let current = Current {
                generation: 1 + self
                    .inner
                    .generation
                    .fetch_add(1, std::sync::atomic::Ordering::Relaxed),
                addr: host_port(client.get_connection_info().addr()),
                conn,
            };
            *self
                .inner
                .current
                .lock()
                .unwrap_or_else(PoisonError::into_inner) = Some(current.clone());
            tracing::info!(master = ?current.addr, "flash: Sentinel named the master");
            Ok(current)
        }

        /// The generation of the master connection in use now (0 when there is none).
        pub(in crate::store::redis) fn generation(&self) -> u64 {
            self.current().map_or(0, |c| c.generation)
        }

        /// Forgets the connection of `generation`.
        pub(in crate::store::redis) fn forget(&self, generation: u64, why: &dyn std::fmt::Display) {
            let mut current = self
                .inner
                .current
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            if current.as_ref().is_some_and(|c| c.generation == generation) {
                tracing::warn!(%why, "flash: leaving the Sentinel master; asking the sentinels again");
                *current = None;
            }
        }

        /// Drops the connection of `generation` after `error`, when the error says that
        /// node is no longer a usable master.
        fn forget_after(&self, generation: u64, error: &RedisError) {
            let stale = error.is_unrecoverable_error()
                || error.is_connection_dropped()
                || error.is_io_error()
                || matches!(
                    error.kind(),
                    ErrorKind::Server(
                        ServerErrorKind::ReadOnly
                            | ServerErrorKind::MasterDown
                            | ServerErrorKind::ExecAbort
                    )
                );
            if stale {
                self.forget(generation, error);
            }
        }

        /// Whether a failed command certainly did not run, so that running it again on the
        /// new master cannot apply it twice.
        fn not_applied(error: &RedisError) -> bool {
            matches!(
                error.kind(),
                ErrorKind::Server(
                    ServerErrorKind::ReadOnly
                        | ServerErrorKind::MasterDown
                        | ServerErrorKind::ExecAbort
                )
            )
        }

        async fn run<T, F>(&self, op: F) -> RedisResult<T>
        where
            F: Fn(MultiplexedConnection) -> RedisFuture<'static, T>,
        {
            let current = self.master().await?;
            match op(current.conn).await {
                Ok(value) => Ok(value),
                Err(error) => {
                    self.forget_after(current.generation, &error);
                    if !Self::not_applied(&error) {
                        return Err(error);
                    }
                    // The node was demoted before it ran the command: once more, on the
                    // master the sentinels name now (the store's deadline still applies).
                    let current = self.master().await?;
                    op(current.conn)
                        .await
                        .inspect_err(|e| self.forget_after(current.generation, e))
                }
            }
        }
    }

    impl ConnectionLike for SentinelConnection {
        fn req_packed_command<'a>(&'a mut self, cmd: &'a Cmd) -> RedisFuture<'a, Value> {
            Box::pin(async move {
                self.run(|mut conn| {
                    let cmd = cmd.clone();
                    Box::pin(async move { conn.req_packed_command(&cmd).await })
                })
                .await
            })
        }

        fn req_packed_commands<'a>(
            &'a mut self,
            pipeline: &'a Pipeline,
            offset: usize,
            count: usize,
        ) -> RedisFuture<'a, Vec<Value>> {
            Box::pin(async move {
                self.run(|mut conn| {
                    let pipeline = pipeline.clone();
                    Box::pin(
                        async move { conn.req_packed_commands(&pipeline, offset, count).await },
                    )
                })
                .await
            })
        }

        fn get_db(&self) -> i64 {
            self.current().map_or(0, |c| c.conn.get_db())
        }
    }

    /// Every [`RECHECK`], asks a sentinel which node is the master; when it names another
    /// node than the one in use, forgets the connection in use. Ends when the store is gone.
    async fn follow(inner: Weak<Inner>) {
        let mut sentinel_conn: Option<MultiplexedConnection> = None;
        loop {
            tokio::time::sleep(RECHECK).await;
            let Some(inner) = inner.upgrade() else {
                return;
            };
            let conn = SentinelConnection { inner };
            if sentinel_conn.is_none() {
                let client = {
                    let mut sentinel = conn.inner.sentinel.lock().await;
                    tokio::time::timeout(RECHECK, sentinel.async_get_sentinel_client()).await
                };
                if let Ok(Ok(client)) = client {
                    sentinel_conn = client
                        .get_multiplexed_async_connection_with_config(&conn.inner.config)
                        .await
                        .ok();
                }
            }
            let Some(mut sentinel) = sentinel_conn.clone() else {
                continue;
            };
            let named: RedisResult<Option<(String, u16)>> = redis::cmd("SENTINEL")
                .arg("GET-MASTER-ADDR-BY-NAME")
                .arg(&conn.inner.master)
                .query_async(&mut sentinel)
                .await;
            match named {
                Ok(Some(named)) => {
                    if let Some(current) = conn.current()
                        && current.addr.as_ref().is_some_and(|addr| *addr != named)
                    {
                        let why = format!("the sentinels name {}:{} now", named.0, named.1);
                        conn.forget(current.generation, &why);
                    }
                }
                Ok(None) => {}
                Err(_) => sentinel_conn = None,
            }
        }
    }
}
