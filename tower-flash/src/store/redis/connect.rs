//! Connecting a [`RedisStore`]: to one server, a Cluster or a Sentinel-managed master,
//! over TLS with the feature `tls`.

use std::sync::Arc;
use std::time::Duration;

use redis::aio::{ConnectionManager, ConnectionManagerConfig};

use super::connection::{self, Connection};
use super::{GIVE_BACK, PUSH, RESCOPE, RedisOptions, RedisStore, Scripts, TAKE, script, server};
use crate::error::StoreError;

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
                // Self-contained: without the helpers, so that reloading it after a
                // `SCRIPT FLUSH` sends less.
                push: redis::Script::new(PUSH),
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

/// The URL with any password replaced, for `Debug` and logs.
pub(super) fn redact(url: &str) -> String {
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
