//! The connection under a [`RedisStore`](super::RedisStore): one server, a cluster, or the
//! master that Sentinel names. The store's operations and scripts are the same on each; only
//! how a command finds its server differs.

use redis::aio::{ConnectionLike, ConnectionManager};
use redis::{Cmd, Pipeline, RedisFuture, Value};

/// Every kind of connection the store runs on. Cloning is cheap: clones share the
/// underlying connections.
#[derive(Clone)]
pub(super) enum Connection {
    /// One server, over redis-rs's reconnecting [`ConnectionManager`].
    Single(ConnectionManager),
    /// A Redis Cluster: commands go to the master of their key's slot, following
    /// redirections and failovers.
    #[cfg(feature = "cluster")]
    Cluster(redis::cluster_async::ClusterConnection),
    /// The master of a Sentinel-monitored group, found again after a failover.
    #[cfg(feature = "sentinel")]
    Sentinel(sentinel::SentinelConnection),
}

impl ConnectionLike for Connection {
    fn req_packed_command<'a>(&'a mut self, cmd: &'a Cmd) -> RedisFuture<'a, Value> {
        match self {
            Connection::Single(conn) => conn.req_packed_command(cmd),
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
            Connection::Single(conn) => conn.req_packed_commands(pipeline, offset, count),
            #[cfg(feature = "cluster")]
            Connection::Cluster(conn) => conn.req_packed_commands(pipeline, offset, count),
            #[cfg(feature = "sentinel")]
            Connection::Sentinel(conn) => conn.req_packed_commands(pipeline, offset, count),
        }
    }

    fn get_db(&self) -> i64 {
        match self {
            Connection::Single(conn) => conn.get_db(),
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
    //! checking the node's `ROLE`), but the connection it returns stays with that node. After
    //! a failover the old master is demoted and Sentinel kills its client connections, or it
    //! answers writes with `READONLY`; either way this connection forgets it, and the next
    //! command asks the sentinels again.

    use std::sync::{Arc, Mutex, PoisonError};

    use redis::aio::{ConnectionLike, MultiplexedConnection};
    use redis::sentinel::SentinelClient;
    use redis::{
        AsyncConnectionConfig, Cmd, ErrorKind, Pipeline, RedisError, RedisFuture, RedisResult,
        ServerErrorKind, Value,
    };

    #[derive(Clone)]
    pub(in crate::store::redis) struct SentinelConnection {
        inner: Arc<Inner>,
    }

    struct Inner {
        /// Asking the sentinels takes `&mut`: one resolution at a time, the others wait and
        /// then use its result.
        sentinel: tokio::sync::Mutex<SentinelClient>,
        /// The master's connection and its generation (so that a failure only forgets the
        /// connection it happened on, not a newer one).
        current: Mutex<Option<(u64, MultiplexedConnection)>>,
        generation: std::sync::atomic::AtomicU64,
        config: AsyncConnectionConfig,
    }

    impl SentinelConnection {
        /// Finds the master now, so that a misconfiguration fails at start.
        pub(in crate::store::redis) async fn new(
            sentinel: SentinelClient,
            config: AsyncConnectionConfig,
        ) -> RedisResult<Self> {
            let conn = SentinelConnection {
                inner: Arc::new(Inner {
                    sentinel: tokio::sync::Mutex::new(sentinel),
                    current: Mutex::new(None),
                    generation: std::sync::atomic::AtomicU64::new(0),
                    config,
                }),
            };
            conn.master().await?;
            Ok(conn)
        }

        fn current(&self) -> Option<(u64, MultiplexedConnection)> {
            self.inner
                .current
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .clone()
        }

        /// The master's connection, asking the sentinels when there is none.
        async fn master(&self) -> RedisResult<(u64, MultiplexedConnection)> {
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
            let generation = 1 + self
                .inner
                .generation
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            *self
                .inner
                .current
                .lock()
                .unwrap_or_else(PoisonError::into_inner) = Some((generation, conn.clone()));
            tracing::debug!(master = ?client.get_connection_info().addr(), "flash: Sentinel named the master");
            Ok((generation, conn))
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
            if !stale {
                return;
            }
            let mut current = self
                .inner
                .current
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            if current.as_ref().is_some_and(|(g, _)| *g == generation) {
                tracing::warn!(%error, "flash: the Sentinel master failed; asking the sentinels again");
                *current = None;
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
            let (generation, conn) = self.master().await?;
            match op(conn).await {
                Ok(value) => Ok(value),
                Err(error) => {
                    self.forget_after(generation, &error);
                    if !Self::not_applied(&error) {
                        return Err(error);
                    }
                    // The node was demoted before it ran the command: once more, on the
                    // master the sentinels name now (the store's deadline still applies).
                    let (generation, conn) = self.master().await?;
                    op(conn).await.inspect_err(|e| self.forget_after(generation, e))
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
                    Box::pin(async move { conn.req_packed_commands(&pipeline, offset, count).await })
                })
                .await
            })
        }

        fn get_db(&self) -> i64 {
            self.current().map_or(0, |(_, conn)| conn.get_db())
        }
    }
}
