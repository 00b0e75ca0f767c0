//! [`RedisStore`]: messages in Redis (feature `redis`), on one server, a Redis Cluster
//! (feature `cluster`) or a Sentinel-managed master (feature `sentinel`), over TLS with the
//! feature `tls`.

use std::fmt;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::{Script, Value};

use self::connection::Connection;
use super::{LeaseId, PushOptions, PushReceipt, Store, Take, Target, codec};
use crate::error::StoreError;
use crate::id::ClientId;
use crate::message::{Message, Scope, now_millis};

mod connection;
mod server;

pub use self::server::UnsupportedServer;

/// The most messages one take pops: far above any sensible `max_messages`, so a take always
/// empties the list.
const TAKE_COUNT: usize = 100_000;

/// Lua shared by the scripts (prefixed to each): splitting lease bodies, message ids,
/// scopes; the layout of queues and leases is described at the top of the file.
const LUA_HELPERS: &str = include_str!("lua/helpers.lua");

/// Takes the messages a request may read, reclaiming expired leases first.
/// KEYS and ARGV are described at the top of the file.
const TAKE: &str = include_str!("lua/take.lua");

/// Gives a lease back to the front of the queue, whole or only the messages named.
/// KEYS and ARGV are described at the top of the file.
const GIVE_BACK: &str = include_str!("lua/give_back.lua");

/// Binds the messages scoped to one path to the next redirect's target.
/// KEYS and ARGV are described at the top of the file.
const RESCOPE: &str = include_str!("lua/rescope.lua");

fn script(body: &str) -> Script {
    Script::new(&format!("{LUA_HELPERS}{body}"))
}

/// Tuning of a [`RedisStore`]. Every field has a default; change what you need.
///
/// ```
/// use std::time::Duration;
/// use tower_flash::store::RedisOptions;
///
/// let options = RedisOptions::default()
///     .prefix("myapp:flash:")?
///     .timeout(Duration::from_millis(200));
/// # let _ = options;
/// # Ok::<(), tower_flash::store::InvalidPrefix>(())
/// ```
#[derive(Clone)]
pub struct RedisOptions {
    prefix: String,
    timeout: Duration,
    connect_timeout: Duration,
    retries: usize,
    #[cfg(feature = "tls")]
    root_certificate: Option<Vec<u8>>,
}

impl Default for RedisOptions {
    fn default() -> Self {
        RedisOptions {
            prefix: "flash:".to_owned(),
            timeout: Duration::from_millis(500),
            connect_timeout: Duration::from_millis(250),
            retries: 1,
            #[cfg(feature = "tls")]
            root_certificate: None,
        }
    }
}

impl fmt::Debug for RedisOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut s = f.debug_struct("RedisOptions");
        s.field("prefix", &self.prefix)
            .field("timeout", &self.timeout)
            .field("connect_timeout", &self.connect_timeout)
            .field("retries", &self.retries);
        #[cfg(feature = "tls")]
        s.field(
            "root_certificate",
            &self.root_certificate.as_ref().map(|pem| pem.len()),
        );
        s.finish()
    }
}

impl RedisOptions {
    /// The key prefix (default `flash:`): a client's list is at `{prefix}{<id>}`.
    ///
    /// A prefix holding `{` or `}` is refused: Redis Cluster hashes a key by the first
    /// `{…}` in it, so a brace in the prefix would take the place of the per-client hash tag
    /// (putting every client in one slot, or splitting one client's keys over several).
    ///
    /// ```
    /// use tower_flash::store::RedisOptions;
    ///
    /// assert!(RedisOptions::default().prefix("myapp:flash:").is_ok());
    /// assert!(RedisOptions::default().prefix("{myapp}:flash:").is_err());
    /// ```
    pub fn prefix(mut self, prefix: impl Into<String>) -> Result<Self, InvalidPrefix> {
        let prefix = prefix.into();
        if prefix.contains(['{', '}']) {
            return Err(InvalidPrefix { prefix });
        }
        self.prefix = prefix;
        Ok(self)
    }

    /// The most time the store may add to one request, all its calls together,
    /// reconnection included (default 500 ms): while Redis is down or stalled, every request
    /// is answered within this added time ([`Store::deadline`]). A take still unanswered
    /// then goes on in the background and puts back what it took when its answer arrives.
    ///
    /// Calls made outside a request (a [`FlashSender`](crate::FlashSender), the `Store` API)
    /// wait up to [`RedisOptions::backstop`] for one call.
    #[must_use]
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// The longest one call waits for its answer: 10 times the
    /// [`timeout`](RedisOptions::timeout), at least 5 s. A request stops waiting at its
    /// timeout; the call itself is given this long to come back, so that a take answered
    /// late can still put its messages back.
    pub fn backstop(&self) -> Duration {
        self.timeout.saturating_mul(10).max(Duration::from_secs(5))
    }

    /// How long one connection attempt may take (default 250 ms).
    #[must_use]
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// Reconnection attempts after a broken connection before an operation fails (default
    /// 1). Later operations try again, so the store recovers by itself when Redis is back.
    #[must_use]
    pub fn retries(mut self, retries: usize) -> Self {
        self.retries = retries;
        self
    }

    /// Trusts the certificate authority in `pem` (one or more PEM certificates) for
    /// `rediss://` connections, instead of the system's roots: for a Redis whose certificate
    /// your own CA signed. Applies to [`RedisStore::connect_with`] and
    /// `RedisStore::connect_cluster` (feature `tls`).
    ///
    /// ```no_run
    /// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
    /// use tower_flash::{RedisOptions, RedisStore};
    ///
    /// let ca = std::fs::read("/etc/redis/tls/ca.crt")?;
    /// let store = RedisStore::connect_with(
    ///     "rediss://redis.internal:6380/0",
    ///     RedisOptions::default().root_certificate(ca),
    /// )
    /// .await?;
    /// # let _ = store; Ok(()) }
    /// ```
    #[cfg(feature = "tls")]
    #[must_use]
    pub fn root_certificate(mut self, pem: impl Into<Vec<u8>>) -> Self {
        self.root_certificate = Some(pem.into());
        self
    }

    #[cfg(feature = "tls")]
    fn certificates(&self) -> Option<redis::TlsCertificates> {
        self.root_certificate
            .as_ref()
            .map(|pem| redis::TlsCertificates {
                client_tls: None,
                root_cert: Some(pem.clone()),
            })
    }
}

/// A key prefix that [`RedisOptions::prefix`] refused: it holds `{` or `}`, which would
/// break the per-client hash tag.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "a Redis key prefix may not hold `{{` or `}}` (they would replace the per-client hash tag): {prefix:?}"
)]
pub struct InvalidPrefix {
    /// The refused prefix.
    pub prefix: String,
}

/// Whether `url` asks for TLS (`rediss://` or `valkeys://`).
#[cfg(feature = "tls")]
fn is_tls_url(url: &str) -> bool {
    url.starts_with("rediss://") || url.starts_with("valkeys://")
}

/// rustls needs a process-wide crypto provider; redis-rs uses rustls without choosing one.
/// Install `ring` unless the application installed another.
#[cfg(feature = "tls")]
fn install_crypto_provider() {
    if rustls::crypto::CryptoProvider::get_default().is_none() {
        // Losing a race with another installer is fine: a provider is then installed.
        let _ = rustls::crypto::ring::default_provider().install_default();
    }
}

/// Messages in Redis: one LIST per client, so every instance of an app sees the same
/// messages and they survive restarts.
///
/// - **Layout**: a client's messages are the elements of the list at `{prefix}{<id>}`
///   (prefix `flash:` by default), one [encoded](super::codec::encode) message per element,
///   oldest first. The braces are a hash tag: every key of one client lands in one cluster
///   slot. Every key has a TTL.
/// - **Connection**: one multiplexed, auto-reconnecting [`ConnectionManager`] shared by all
///   requests ([`connect`](Self::connect)), or a cluster connection
///   (`connect_cluster`, feature `cluster`), or a connection that
///   follows the master Sentinel names (`connect_sentinel`, feature `sentinel`). All the
///   store calls of one request together are bounded by [`RedisOptions::timeout`] (500 ms
///   by default), so an outage or a stall never makes a request wait redis-rs's default
///   9.5 s; a take the request stopped waiting for puts back what it took when its answer
///   arrives.
/// - **Round trips**: one per operation, see the table.
///
/// | operation | Redis | round trips |
/// |-----------|-------|-------------|
/// | a request's pushes ([`Store::push`]) | `MULTI RPUSH LTRIM PEXPIRE EXEC` | 1 |
/// | [`Flash::take_all`](crate::Flash::take_all) | `LPOP key n` | 1 |
/// | [`Flash::take`](crate::Flash::take), and every take with delivery confirmation or redirect scoping | a Lua script (`EVALSHA`, reloaded if missing) | 1 |
/// | confirming a delivery (end of the response body) | `HDEL` | 1 |
/// | giving leased messages back (5xx, panic, broken body) | a Lua script | 1 |
/// | carrying scoped messages on through a second redirect | a Lua script | 1 |
/// | [`Flash::peek`](crate::Flash::peek) | `LRANGE key 0 -1` | 1 |
/// | [`Flash::keep`](crate::Flash::keep) (at the end of the request) | `MULTI LPUSH LTRIM PEXPIRE EXEC` | 1 |
/// | [`Flash::clear`](crate::Flash::clear) | `DEL` | 1 |
/// | a request that touches no message | none | 0 |
///
/// ```no_run
/// use tower_flash::{FlashLayer, Key, store::RedisStore};
///
/// # async fn run() -> Result<(), tower_flash::StoreError> {
/// let store = RedisStore::connect("redis://127.0.0.1:6379/0").await?;
/// let layer = FlashLayer::new(store, Key::generate());
/// # let _ = layer; Ok(()) }
/// ```
#[derive(Clone)]
pub struct RedisStore {
    conn: Connection,
    options: RedisOptions,
    scripts: Arc<Scripts>,
    url: String,
}

struct Scripts {
    take: Script,
    give_back: Script,
    rescope: Script,
}

impl fmt::Debug for RedisStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisStore")
            .field("redis", &self.url)
            .field("options", &self.options)
            .finish_non_exhaustive()
    }
}

impl RedisStore {
    /// Connects to the Redis server at `url` with default [`RedisOptions`].
    ///
    /// `url` is `redis://[user:password@]host[:port][/db]` or
    /// `redis+unix:///path/to/redis.sock[?db=N&user=…&pass=…]`. Fails when the URL is
    /// invalid or the server cannot be reached now; once connected, the store reconnects by
    /// itself.
    pub async fn connect(url: &str) -> Result<Self, StoreError> {
        Self::connect_with(url, RedisOptions::default()).await
    }

    /// Connects with the given options.
    ///
    /// With the feature `tls`, `rediss://` URLs connect over TLS, checking the server's
    /// certificate against the system's roots or `RedisOptions::root_certificate`.
    pub async fn connect_with(url: &str, options: RedisOptions) -> Result<Self, StoreError> {
        #[cfg(feature = "tls")]
        install_crypto_provider();
        #[cfg(feature = "tls")]
        let client = match options.certificates() {
            Some(certs) if is_tls_url(url) => redis::Client::build_with_tls(url, certs),
            _ => redis::Client::open(url),
        };
        #[cfg(not(feature = "tls"))]
        let client = redis::Client::open(url);
        let client = client.map_err(StoreError::backend)?;
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(options.connect_timeout))
            .set_response_timeout(Some(options.backstop()))
            .set_number_of_retries(options.retries)
            .set_min_delay(Duration::from_millis(10))
            .set_max_delay(Duration::from_millis(100));
        let connect = ConnectionManager::new_with_config(client.clone(), config.clone());
        let deadline = options.timeout + options.connect_timeout;
        let conn = tokio::time::timeout(deadline, connect)
            .await
            .map_err(|_| StoreError::Timeout(deadline))?
            .map_err(StoreError::backend)?;
        let mut conn = Connection::Single(connection::Single::new(conn, Some((client, config))));
        tokio::time::timeout(options.timeout, server::require_supported(&mut conn))
            .await
            .map_err(|_| StoreError::Timeout(options.timeout))??;
        Ok(Self::over(conn, options).with_url(redact(url)))
    }

    /// A store over a connection you made. [`RedisOptions::timeout`] still bounds every
    /// request and [`RedisOptions::backstop`] every
    /// operation; the connection's own settings apply to reconnection. Unlike the stores of
    /// [`RedisStore::connect_with`], this one cannot replace a connection that goes silent
    /// (no answer and no reset, as when a host vanishes): redis-rs reconnects only when the
    /// connection breaks.
    pub fn with_connection(conn: ConnectionManager, options: RedisOptions) -> Self {
        Self::over(
            Connection::Single(connection::Single::new(conn, None)),
            options,
        )
    }

    fn over(conn: Connection, options: RedisOptions) -> Self {
        RedisStore {
            conn,
            options,
            scripts: Arc::new(Scripts {
                take: script(TAKE),
                give_back: script(GIVE_BACK),
                rescope: script(RESCOPE),
            }),
            url: "(connection)".to_owned(),
        }
    }

    /// Connects to a Redis Cluster through any of its nodes (`redis://host:port` or, with the
    /// feature `tls`, `rediss://host:port`), with the same operations, scripts and key layout
    /// as on one server: a client's keys share one hash slot (the `{<id>}` tag), so every
    /// operation stays atomic on one master (feature `cluster`).
    ///
    /// The cluster client is set up like the single-node one: connection attempts bounded by
    /// [`RedisOptions::connect_timeout`], responses and the whole operation (redirections
    /// and retries included) by [`RedisOptions::timeout`], at least 3 retries (a `MOVED`
    /// after a failover needs one), 10 to 100 ms apart. While a master fails over, the
    /// operations on its slots fail within the timeout and the others are unaffected; the
    /// connection learns the new topology by itself.
    ///
    /// ```no_run
    /// # async fn run() -> Result<(), tower_flash::StoreError> {
    /// use tower_flash::{FlashLayer, Key, RedisOptions, RedisStore};
    ///
    /// let store = RedisStore::connect_cluster(
    ///     &["redis://10.0.0.1:6379", "redis://10.0.0.2:6379", "redis://10.0.0.3:6379"],
    ///     RedisOptions::default(),
    /// )
    /// .await?;
    /// let layer = FlashLayer::new(store, Key::generate());
    /// # let _ = layer; Ok(()) }
    /// ```
    #[cfg(feature = "cluster")]
    pub async fn connect_cluster<S: AsRef<str>>(
        nodes: &[S],
        options: RedisOptions,
    ) -> Result<Self, StoreError> {
        #[cfg(feature = "tls")]
        install_crypto_provider();
        let urls: Vec<&str> = nodes.iter().map(AsRef::as_ref).collect();
        let retries = u32::try_from(options.retries.max(3)).unwrap_or(u32::MAX);
        let builder = redis::cluster::ClusterClientBuilder::new(urls.iter().copied())
            .connection_timeout(options.connect_timeout)
            .response_timeout(options.backstop())
            .retries(retries)
            .min_retry_wait(10)
            .max_retry_wait(100);
        #[cfg(feature = "tls")]
        let builder = match options.certificates() {
            Some(certs) => builder.certs(certs),
            None => builder,
        };
        let client = builder.build().map_err(StoreError::backend)?;
        let deadline = options.timeout + options.connect_timeout;
        let conn = tokio::time::timeout(deadline, client.get_async_connection())
            .await
            .map_err(|_| StoreError::Timeout(deadline))?
            .map_err(StoreError::backend)?;
        let mut conn = Connection::Cluster(conn);
        tokio::time::timeout(options.timeout, server::require_supported(&mut conn))
            .await
            .map_err(|_| StoreError::Timeout(options.timeout))??;
        let description = format!(
            "cluster {}",
            urls.iter().map(|u| redact(u)).collect::<Vec<_>>().join(",")
        );
        Ok(Self::over(conn, options).with_url(description))
    }

    /// Connects to the master that the Sentinels at `sentinels` name for `master`, and
    /// follows it through failovers (feature `sentinel`).
    ///
    /// `sentinels` are the addresses of Sentinel processes: `host:port`, or URLs
    /// (`redis://`, `valkey://`, and with the feature `tls` `rediss://`, `valkeys://`) whose
    /// username, password and database are **the master's**: the store authenticates to the
    /// master with them and selects that database there, as a `redis://` URL does for one
    /// server. A TLS scheme means TLS to the sentinels and to the master, both checked against
    /// [`RedisOptions::root_certificate`] when set. The sentinels themselves are asked without
    /// credentials (a Sentinel with its own `requirepass` is not supported yet), and every
    /// URL must name the same credentials, database and scheme.
    ///
    /// The master is looked up at start (failing if no sentinel answers, the master is
    /// unknown or refuses the credentials) and again whenever its connection breaks or it
    /// answers a write with `READONLY` (a demoted master): after a failover, the same store
    /// writes to the new master by itself. A command that the demoted master refused runs
    /// once more on the new one; requests stay bounded by [`RedisOptions::timeout`].
    ///
    /// ```no_run
    /// # async fn run() -> Result<(), tower_flash::StoreError> {
    /// use tower_flash::{RedisOptions, RedisStore};
    ///
    /// // The master has `requirepass`; its data lives in database 2.
    /// let store = RedisStore::connect_sentinel(
    ///     &[
    ///         "redis://:master-password@10.0.0.1:26379/2",
    ///         "redis://:master-password@10.0.0.2:26379/2",
    ///         "redis://:master-password@10.0.0.3:26379/2",
    ///     ],
    ///     "mymaster",
    ///     RedisOptions::default(),
    /// )
    /// .await?;
    /// # let _ = store; Ok(()) }
    /// ```
    #[cfg(feature = "sentinel")]
    pub async fn connect_sentinel<S: AsRef<str>>(
        sentinels: &[S],
        master: &str,
        options: RedisOptions,
    ) -> Result<Self, StoreError> {
        #[cfg(feature = "tls")]
        install_crypto_provider();
        let urls: Vec<String> = sentinels
            .iter()
            .map(|s| {
                let s = s.as_ref();
                if s.contains("://") {
                    s.to_owned()
                } else {
                    format!("redis://{s}")
                }
            })
            .collect();
        let client = sentinel_client(&urls, master, &options).map_err(StoreError::backend)?;
        let config = redis::AsyncConnectionConfig::new()
            .set_connection_timeout(Some(options.connect_timeout))
            .set_response_timeout(Some(options.backstop()));
        let deadline = options.timeout + options.connect_timeout;
        let conn = tokio::time::timeout(
            deadline,
            connection::sentinel::SentinelConnection::new(client, master, config),
        )
        .await
        .map_err(|_| StoreError::Timeout(deadline))?
        .map_err(StoreError::backend)?;
        let mut conn = Connection::Sentinel(conn);
        tokio::time::timeout(options.timeout, server::require_supported(&mut conn))
            .await
            .map_err(|_| StoreError::Timeout(options.timeout))??;
        let description = format!(
            "sentinel {master} at {}",
            urls.iter().map(|u| redact(u)).collect::<Vec<_>>().join(",")
        );
        Ok(Self::over(conn, options).with_url(description))
    }

    fn with_url(mut self, url: String) -> Self {
        self.url = url;
        self
    }

    /// The key of a client's list: `{prefix}{<id>}`. Ids are validated when they are made,
    /// so they hold no brace and no space.
    pub fn key(&self, id: &ClientId) -> String {
        format!("{}{{{}}}", self.options.prefix, id.as_str())
    }

    /// The key of a client's leases (delivery confirmation): a hash beside the list, in the
    /// same cluster slot.
    pub fn lease_key(&self, id: &ClientId) -> String {
        format!("{}:leases", self.key(id))
    }

    /// Runs one operation of the connection of `generation` under the store's backstop
    /// (requests stop waiting earlier, at their budget). An operation unanswered for the
    /// whole backstop replaces that connection: it may be silent for good.
    async fn bounded<T>(
        &self,
        generation: u64,
        op: impl Future<Output = redis::RedisResult<T>>,
    ) -> Result<T, StoreError> {
        self.answer(generation, op)
            .await?
            .map_err(StoreError::backend)
    }

    /// [`RedisStore::bounded`], with Redis's own error left to inspect.
    async fn answer<T>(
        &self,
        generation: u64,
        op: impl Future<Output = redis::RedisResult<T>>,
    ) -> Result<redis::RedisResult<T>, StoreError> {
        let backstop = self.options.backstop();
        match tokio::time::timeout(backstop, op).await {
            Ok(result) => {
                if result.as_ref().is_err_and(redis::RedisError::is_timeout) {
                    self.conn.replace_silent(generation);
                }
                Ok(result)
            }
            Err(_) => {
                self.conn.replace_silent(generation);
                Err(StoreError::Timeout(backstop))
            }
        }
    }

    /// Runs an idempotent operation, and once more when its connection broke under it (the
    /// connection reconnects by itself): whether the first run reached Redis is unknown, and
    /// running it twice is harmless. Lease operations are idempotent by their lease id (a
    /// second run finds what the first left), and retrying them spares a message shown
    /// twice when the confirmation of its delivery met a reset connection.
    async fn idempotent<T, F, Fut>(&self, op: F) -> Result<T, StoreError>
    where
        F: Fn(Connection) -> Fut,
        Fut: Future<Output = redis::RedisResult<T>>,
    {
        let conn = self.conn.handle();
        match self.answer(conn.generation(), op(conn)).await? {
            Ok(value) => Ok(value),
            Err(error) if error.is_connection_dropped() || error.is_unrecoverable_error() => {
                let conn = self.conn.handle();
                self.bounded(conn.generation(), op(conn)).await
            }
            Err(error) => Err(StoreError::backend(error)),
        }
    }

    async fn write(
        &self,
        id: &ClientId,
        messages: &[Message],
        options: &PushOptions,
        at_front: bool,
    ) -> Result<PushReceipt, StoreError> {
        if messages.is_empty() {
            return Ok(PushReceipt::default());
        }
        Message::check_storable(messages)?;
        let key = self.key(id);
        let encoded: Vec<Vec<u8>> = if at_front {
            // LPUSH puts each element at the head in turn: reverse to keep their order.
            messages.iter().rev().map(codec::encode).collect()
        } else {
            messages.iter().map(codec::encode).collect()
        };
        let cap = isize::try_from(options.max_messages).unwrap_or(isize::MAX);
        let ttl_ms = millis(options.ttl);
        let mut pipe = redis::pipe();
        pipe.atomic();
        if at_front {
            pipe.cmd("LPUSH").arg(&key).arg(&encoded);
        } else {
            pipe.cmd("RPUSH").arg(&key).arg(&encoded);
        }
        pipe.cmd("LTRIM")
            .arg(&key)
            .arg(-cap)
            .arg(-1)
            .ignore()
            .cmd("PEXPIRE")
            .arg(&key)
            .arg(ttl_ms)
            .ignore();
        let mut conn = self.conn.handle();
        let (len,): (usize,) = self
            .bounded(conn.generation(), pipe.query_async(&mut conn))
            .await?;
        Ok(PushReceipt {
            len: len.min(options.max_messages),
            dropped: len.saturating_sub(options.max_messages),
        })
    }
}

/// Decodes what Redis returned; an element that does not decode is logged and skipped
/// rather than failing the whole take (it is already gone from the list).
fn decode_all(items: Vec<Vec<u8>>) -> Vec<Message> {
    items
        .iter()
        .filter_map(|bytes| match codec::decode(bytes) {
            Ok(message) => Some(message),
            Err(error) => {
                crate::telemetry::undecodable(&error);
                None
            }
        })
        .collect()
}

/// A TTL for `PEXPIRE`, which refuses 0 and values past its range: at least 1 ms, at most
/// [`MAX_TTL`](super::MAX_TTL), so that every key keeps a TTL.
fn millis(d: Duration) -> u64 {
    crate::message::millis(d.min(super::MAX_TTL)).max(1)
}

fn pairs_json(pairs: &[(String, String)]) -> String {
    serde_json::to_string(pairs).unwrap_or_else(|_| "[]".to_owned())
}

impl Store for RedisStore {
    fn deadline(&self) -> Option<Duration> {
        Some(self.options.timeout)
    }

    async fn push(
        &self,
        id: &ClientId,
        messages: &[Message],
        options: &PushOptions,
    ) -> Result<PushReceipt, StoreError> {
        self.write(id, messages, options, false).await
    }

    async fn take(&self, id: &ClientId, take: &Take<'_>) -> Result<Vec<Message>, StoreError> {
        let mut conn = self.conn.handle();
        if take.kind.is_none() && take.target.is_none() && take.lease.is_none() {
            let mut cmd = redis::cmd("LPOP");
            cmd.arg(self.key(id)).arg(TAKE_COUNT);
            let items: Option<Vec<Vec<u8>>> = self
                .bounded(conn.generation(), cmd.query_async(&mut conn))
                .await?;
            return Ok(decode_all(items.unwrap_or_default()));
        }
        let mut invocation = self.scripts.take.key(self.key(id));
        invocation
            .key(self.lease_key(id))
            .arg(take.kind.map_or_else(String::new, |k| format!("{k}|")))
            .arg(take.now)
            .arg(take.target.map_or("", |t| t.path.as_str()))
            .arg(
                take.target
                    .map_or_else(|| "[]".to_owned(), |t| pairs_json(&t.query)),
            )
            .arg(take.lease.map_or("", |l| l.id.as_str()))
            .arg(take.lease.map_or(0, |l| l.until))
            .arg(take.lease.map_or(1, |l| millis(l.ttl)))
            .arg(take.lease.map_or(1, |l| {
                let left = Duration::from_millis(l.until.saturating_sub(take.now));
                millis(left) + millis(l.ttl)
            }));
        let items: Vec<Vec<u8>> = self
            .bounded(conn.generation(), invocation.invoke_async(&mut conn))
            .await?;
        Ok(decode_all(items))
    }

    async fn peek(&self, id: &ClientId) -> Result<Vec<Message>, StoreError> {
        let mut conn = self.conn.handle();
        let mut cmd = redis::cmd("LRANGE");
        cmd.arg(self.key(id)).arg(0).arg(-1);
        let items: Vec<Vec<u8>> = self
            .bounded(conn.generation(), cmd.query_async(&mut conn))
            .await?;
        Ok(decode_all(items))
    }

    async fn restore(
        &self,
        id: &ClientId,
        messages: &[Message],
        options: &PushOptions,
    ) -> Result<PushReceipt, StoreError> {
        self.write(id, messages, options, true).await
    }

    async fn clear(&self, id: &ClientId) -> Result<(), StoreError> {
        let mut conn = self.conn.handle();
        let mut cmd = redis::cmd("DEL");
        cmd.arg(self.key(id)).arg(self.lease_key(id));
        let _: Value = self
            .bounded(conn.generation(), cmd.query_async(&mut conn))
            .await?;
        Ok(())
    }

    async fn release(&self, id: &ClientId, lease: &LeaseId) -> Result<bool, StoreError> {
        let mut cmd = redis::cmd("HDEL");
        cmd.arg(self.lease_key(id)).arg(lease.as_str());
        let removed: usize = self
            .idempotent(|mut conn| {
                let cmd = &cmd;
                async move { cmd.query_async(&mut conn).await }
            })
            .await?;
        Ok(removed > 0)
    }

    async fn give_back(
        &self,
        id: &ClientId,
        lease: &LeaseId,
        only: Option<&[Message]>,
        options: &PushOptions,
    ) -> Result<usize, StoreError> {
        if only.is_some_and(<[Message]>::is_empty) {
            return Ok(0);
        }
        let mut invocation = self.scripts.give_back.key(self.key(id));
        invocation
            .key(self.lease_key(id))
            .arg(lease.as_str())
            .arg(options.max_messages.max(1))
            .arg(millis(options.ttl));
        for message in only.unwrap_or_default() {
            invocation.arg(codec::encode(message));
        }
        self.idempotent(|mut conn| {
            let invocation = &invocation;
            async move { invocation.invoke_async(&mut conn).await }
        })
        .await
    }

    async fn rescope(&self, id: &ClientId, from: &Target, to: &Scope) -> Result<usize, StoreError> {
        let scope = serde_json::to_string(to).map_err(|e| StoreError::Invalid(e.to_string()))?;
        let mut conn = self.conn.handle();
        let mut invocation = self.scripts.rescope.key(self.key(id));
        invocation
            .arg(&from.path)
            .arg(pairs_json(&from.query))
            .arg(now_millis())
            .arg(scope);
        self.bounded(conn.generation(), invocation.invoke_async(&mut conn))
            .await
    }
}

/// The URL with any password replaced, for `Debug` and logs.
fn redact(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return "(unparsable url)".to_owned();
    };
    let mut out = format!("{scheme}://");
    match rest.rsplit_once('@') {
        Some((userinfo, host)) => {
            let user = userinfo.split_once(':').map_or(userinfo, |(user, _)| user);
            out.push_str(user);
            out.push_str(":***@");
            out.push_str(host);
        }
        None => out.push_str(rest),
    }
    // Unix socket URLs carry the password as a query parameter.
    if let Some(start) = out.find("pass=") {
        let end = out[start..].find('&').map_or(out.len(), |i| start + i);
        out.replace_range(start..end, "pass=***");
    }
    out
}

/// A Sentinel client for `master`: the sentinels at the URLs' addresses, asked without
/// credentials; the master reached with the URLs' username, password, database and TLS.
#[cfg(feature = "sentinel")]
fn sentinel_client(
    urls: &[String],
    master: &str,
    #[cfg_attr(not(feature = "tls"), allow(unused_variables))] options: &RedisOptions,
) -> redis::RedisResult<redis::sentinel::SentinelClient> {
    use redis::sentinel::{SentinelClientBuilder, SentinelServerType};
    use redis::{ConnectionAddr, ErrorKind, IntoConnectionInfo, RedisError};

    let infos = urls
        .iter()
        .map(|url| url.as_str().into_connection_info())
        .collect::<redis::RedisResult<Vec<_>>>()?;
    let settings = |info: &redis::ConnectionInfo| {
        let redis = info.redis_settings();
        (
            redis.username().map(str::to_owned),
            redis.password().map(str::to_owned),
            redis.db(),
            matches!(info.addr(), ConnectionAddr::TcpTls { .. }),
        )
    };
    let Some(first) = infos.first() else {
        return Err(RedisError::from((
            ErrorKind::InvalidClientConfig,
            "no sentinel address given",
        )));
    };
    let (username, password, db, tls) = settings(first);
    if infos.iter().any(|info| settings(info) != settings(first)) {
        return Err(RedisError::from((
            ErrorKind::InvalidClientConfig,
            "the sentinel URLs name different credentials, databases or schemes for the master",
        )));
    }
    let mut builder = SentinelClientBuilder::new(
        infos.iter().map(|info| info.addr().clone()),
        master,
        SentinelServerType::Master,
    )?
    .set_client_to_redis_db(db);
    if let Some(username) = username {
        builder = builder.set_client_to_redis_username(username);
    }
    if let Some(password) = password {
        builder = builder.set_client_to_redis_password(password);
    }
    if tls {
        builder = builder.set_client_to_redis_tls_mode(redis::TlsMode::Secure);
        #[cfg(feature = "tls")]
        if let Some(certs) = options.certificates() {
            builder = builder
                .set_client_to_sentinel_certificates(certs.clone())
                .set_client_to_redis_certificates(certs);
        }
    }
    builder.build()
}

#[cfg(test)]
mod tests {
    use super::redact;
    use crate::message::{Level, Message, Scope};
    use crate::store::codec;
    use std::time::{Duration, UNIX_EPOCH};

    /// The scripts in `lua/` read encoded messages without decoding them all: the kind before
    /// the first `|` (selection by kind), the id as the first field `{"i":"<16 hex>"`
    /// (`message_id`, give-back by id), and the scope as the last field `,"s":{"p":…,
    /// "q":…,"u":…}}` (`bound_scope`, `RESCOPE` rewrites from its last `,"s":{`). This pins
    /// the whole layout, field order included: a change to the encoding fails here first.
    #[test]
    fn the_encoding_has_the_field_order_the_scripts_rely_on() {
        let mut m = Message::new(Level::Info, "Saved \"x\"")
            .with_data(serde_json::json!({"k": 1}))
            .expires_in(Duration::from_secs(5));
        m.set_scope(Some(Scope {
            path: "/p".into(),
            params: vec![("a".into(), "1".into())],
            until: 9,
        }));
        let millis = |t: std::time::SystemTime| t.duration_since(UNIX_EPOCH).unwrap().as_millis();
        let expected = format!(
            r#"info|{{"i":"{}","t":"Saved \"x\"","c":{},"d":{{"k":1}},"x":{},"s":{{"p":"/p","q":[["a","1"]],"u":9}}}}"#,
            m.id(),
            millis(m.created_at()),
            millis(m.expires_at().unwrap()),
        );
        assert_eq!(String::from_utf8(codec::encode(&m)).unwrap(), expected);
        // Optional fields are left out, not written as null, so the id stays first and the
        // scope last whatever is set.
        let plain = Message::new(Level::Error, "x");
        let expected = format!(
            r#"error|{{"i":"{}","t":"x","c":{}}}"#,
            plain.id(),
            millis(plain.created_at())
        );
        assert_eq!(String::from_utf8(codec::encode(&plain)).unwrap(), expected);
    }

    #[test]
    fn urls_are_redacted() {
        assert_eq!(
            redact("redis://127.0.0.1:6379/0"),
            "redis://127.0.0.1:6379/0"
        );
        assert_eq!(
            redact("redis://user:s3cret@host:6379/2"),
            "redis://user:***@host:6379/2"
        );
        assert_eq!(redact("redis://:s3cret@host"), "redis://:***@host");
        assert_eq!(
            redact("redis+unix:///tmp/r.sock?db=1&pass=s3cret&user=u"),
            "redis+unix:///tmp/r.sock?db=1&pass=***&user=u"
        );
        assert!(!redact("rediss://a:p@w:s@h").contains("p@w"));
    }
}
