//! [`RedisStore`]: messages in Redis (feature `redis`), on one server, a Redis Cluster
//! (feature `cluster`) or a Sentinel-managed master (feature `sentinel`), over TLS with the
//! feature `tls`.

use std::fmt;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use redis::{Script, Value};

use self::connection::Connection;
use super::{
    End, ErasedLeaseStore, ErasedScopeStore, Lease, LeaseId, LeaseStore, PushOptions, PushReceipt,
    ScopeStore, Store, Take, Target, codec,
};
use crate::error::StoreError;
use crate::id::ClientId;
use crate::message::{Message, Scope};

mod connect;
mod connection;
mod options;
mod server;

pub use self::options::{InvalidPrefix, RedisOptions};
pub use self::server::UnsupportedServer;

/// The most messages one take pops: far above any sensible `max_messages`, so a take always
/// empties the list.
const TAKE_COUNT: usize = 100_000;

/// Lua shared by the scripts (prefixed to each): splitting lease bodies, message ids,
/// scopes; the layout of queues and leases is described at the top of the file.
const LUA_HELPERS: &str = include_str!("lua/helpers.lua");

/// Pushes messages at either end of a client's queue, with its cap and TTL, atomically.
/// KEYS and ARGV are described at the top of the file.
const PUSH: &str = include_str!("lua/push.lua");

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

/// Messages in Redis: one LIST per client, so every instance of an app sees the same
/// messages and they survive restarts.
///
/// - **Layout**: a client's messages are the elements of the list at `{prefix}{<id>}`
///   (prefix `flash:` by default), one [encoded](super::codec::encode) message per element,
///   oldest first. The braces are a hash tag: every key of one client lands in one cluster
///   slot. Every key has a TTL.
/// - **Connection**: one multiplexed, auto-reconnecting [`ConnectionManager`](redis::aio::ConnectionManager) shared by all
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
/// | a request's pushes ([`Store::write`] at [`End::Back`](super::End::Back)) | a Lua script (`EVALSHA`: `RPUSH`, `LTRIM` only past the cap, `PEXPIRE`) | 1 |
/// | [`Flash::take_all`](crate::Flash::take_all) | `LPOP key n` | 1 |
/// | [`Flash::take`](crate::Flash::take), and every take with delivery confirmation or redirect scoping | a Lua script (`EVALSHA`, reloaded if missing) | 1 |
/// | confirming a delivery (end of the response body) | `HDEL` | 1 |
/// | giving leased messages back (5xx, panic, broken body) | a Lua script | 1 |
/// | carrying scoped messages on through a second redirect | a Lua script | 1 |
/// | [`Flash::peek`](crate::Flash::peek) | `LRANGE key 0 -1` | 1 |
/// | [`Flash::keep`](crate::Flash::keep) (at the end of the request) | the same script, `LPUSH` in place of `RPUSH` | 1 |
/// | [`Flash::clear`](crate::Flash::clear) | `DEL` | 1 |
/// | a request that touches no message | none | 0 |
///
/// ```no_run
/// use tower_flash::{FlashLayer, Key, RedisStore};
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
    push: Script,
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
    /// The key of a client's list: `{prefix}{<id>}`. Ids are validated when they are made,
    /// so they hold no brace and no space.
    pub fn key(&self, id: &ClientId) -> String {
        // Pushed piece by piece: `format!` cost about 1,400 instructions per call here, on
        // every store call (callgrind, `bench/examples/hot_path.rs`); this, a few dozen.
        let (prefix, id) = (self.options.prefix.as_str(), id.as_str());
        let mut key = String::with_capacity(prefix.len() + id.len() + 2);
        key.push_str(prefix);
        key.push('{');
        key.push_str(id);
        key.push('}');
        key
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

    /// A take: `LPOP` when it selects everything and leases nothing, else the take script.
    async fn take_with(
        &self,
        id: &ClientId,
        take: &Take<'_>,
        lease: Option<&Lease>,
    ) -> Result<Vec<Message>, StoreError> {
        let mut conn = self.conn.handle();
        if take.kind.is_none() && take.target.is_none() && lease.is_none() {
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
            .arg(lease.map_or("", |l| l.id.as_str()))
            .arg(lease.map_or(0, |l| l.until))
            .arg(lease.map_or(1, |l| millis(l.ttl)))
            .arg(lease.map_or(1, |l| {
                let left = Duration::from_millis(l.until.saturating_sub(take.now));
                millis(left) + millis(l.ttl)
            }));
        let items: Vec<Vec<u8>> = self
            .bounded(conn.generation(), invocation.invoke_async(&mut conn))
            .await?;
        Ok(decode_all(items))
    }

    async fn write_at(
        &self,
        id: &ClientId,
        messages: &[Message],
        end: End,
        options: &PushOptions,
    ) -> Result<PushReceipt, StoreError> {
        if messages.is_empty() {
            return Ok(PushReceipt::default());
        }
        Message::check_storable(messages)?;
        let at_front = end == End::Front;
        let cap = options.max_messages;
        let ttl_ms = millis(options.ttl);
        let mut invocation = self.scripts.push.key(self.key(id));
        invocation
            .arg(if at_front { "L" } else { "R" })
            .arg(cap)
            .arg(ttl_ms);
        if at_front {
            // LPUSH puts each element at the head in turn: reverse to keep their order.
            for message in messages.iter().rev() {
                invocation.arg(codec::encode(message));
            }
        } else {
            for message in messages {
                invocation.arg(codec::encode(message));
            }
        }
        let mut conn = self.conn.handle();
        let len: usize = self
            .bounded(conn.generation(), invocation.invoke_async(&mut conn))
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

    /// Redis keeps time for the queue's TTL itself: `now` is not needed.
    async fn write(
        &self,
        id: &ClientId,
        messages: &[Message],
        end: End,
        options: &PushOptions,
        _now: u64,
    ) -> Result<PushReceipt, StoreError> {
        self.write_at(id, messages, end, options).await
    }

    async fn take(&self, id: &ClientId, take: &Take<'_>) -> Result<Vec<Message>, StoreError> {
        self.take_with(id, take, None).await
    }

    async fn peek(&self, id: &ClientId, _now: u64) -> Result<Vec<Message>, StoreError> {
        let mut conn = self.conn.handle();
        let mut cmd = redis::cmd("LRANGE");
        cmd.arg(self.key(id)).arg(0).arg(-1);
        let items: Vec<Vec<u8>> = self
            .bounded(conn.generation(), cmd.query_async(&mut conn))
            .await?;
        Ok(decode_all(items))
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

    fn leases(&self) -> Option<&dyn ErasedLeaseStore> {
        Some(self)
    }

    fn scopes(&self) -> Option<&dyn ErasedScopeStore> {
        Some(self)
    }
}

impl LeaseStore for RedisStore {
    async fn take_leased(
        &self,
        id: &ClientId,
        take: &Take<'_>,
        lease: &Lease,
    ) -> Result<Vec<Message>, StoreError> {
        self.take_with(id, take, Some(lease)).await
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
        _now: u64,
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
}

impl ScopeStore for RedisStore {
    async fn rescope(
        &self,
        id: &ClientId,
        from: &Target,
        to: &Scope,
        now: u64,
    ) -> Result<usize, StoreError> {
        let scope = serde_json::to_string(to).map_err(|e| StoreError::Invalid(e.to_string()))?;
        let mut conn = self.conn.handle();
        let mut invocation = self.scripts.rescope.key(self.key(id));
        invocation
            .arg(&from.path)
            .arg(pairs_json(&from.query))
            .arg(now)
            .arg(scope);
        self.bounded(conn.generation(), invocation.invoke_async(&mut conn))
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::connect::redact;
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
