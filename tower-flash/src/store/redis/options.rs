//! [`RedisOptions`]: the tuning of a [`RedisStore`](super::RedisStore).

use std::fmt;
use std::time::Duration;

/// Tuning of a [`RedisStore`](super::RedisStore). Every field has a default; change what you need.
///
/// ```
/// use std::time::Duration;
/// use tower_flash::RedisOptions;
///
/// let options = RedisOptions::default()
///     .prefix("myapp:flash:")?
///     .timeout(Duration::from_millis(200));
/// # let _ = options;
/// # Ok::<(), tower_flash::InvalidPrefix>(())
/// ```
#[derive(Clone)]
pub struct RedisOptions {
    pub(super) prefix: String,
    pub(super) timeout: Duration,
    pub(super) connect_timeout: Duration,
    pub(super) retries: usize,
    #[cfg(feature = "tls")]
    pub(super) root_certificate: Option<Vec<u8>>,
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
    /// use tower_flash::RedisOptions;
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
    /// is answered within this added time ([`Store::deadline`](crate::store::Store::deadline)). A take still unanswered
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
    /// your own CA signed. Applies to [`RedisStore::connect_with`](super::RedisStore::connect_with) and
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
    pub(super) fn certificates(&self) -> Option<redis::TlsCertificates> {
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
#[non_exhaustive]
pub struct InvalidPrefix {
    /// The refused prefix.
    pub prefix: String,
}
