//! For store authors: the [`Store`] trait, what its methods take and return, and the
//! stored encoding ([`codec`]). The stores themselves are at the crate root
//! ([`MemoryStore`](crate::MemoryStore), and `RedisStore` with the feature `redis`).
//!
//! A store keeps, per [`ClientId`], one queue of [`Message`]s in push order. Every
//! operation is atomic for its client: under any number of concurrent requests, a message
//! is handed to at most one take, and a push racing a take is never lost. The layer calls
//! the store only for clients with a valid id and only when a handler asks for it.
//!
//! Stores are tested by one contract suite (`tests/contract/mod.rs`) that every
//! implementation runs unchanged.

use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use crate::error::StoreError;
use crate::id::ClientId;
use crate::message::{Kind, Message, Scope, now_millis};

pub mod codec;
mod dynamic;
pub(crate) mod memory;
mod query;
#[cfg(feature = "redis")]
pub(crate) mod redis;

pub(crate) use self::dynamic::{DynStore, OwnedTake};
pub(crate) use self::query::parse_query;

/// The longest time to live a store keeps: 400 days, the longest `Max-Age` browsers keep a
/// cookie for. Longer TTLs (even `Duration::MAX`) are clamped to it, by the layer when it is
/// built and by the stores on every write, so that every stored key expires.
pub const MAX_TTL: Duration = Duration::from_secs(400 * 24 * 60 * 60);

/// How a batch is written: its time to live and the cap on the client's queue.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct PushOptions {
    /// Time to live of the client's queue, refreshed by every write.
    pub ttl: Duration,
    /// The most messages kept for one client. A write that goes past it drops the oldest
    /// messages and reports how many in [`PushReceipt::dropped`].
    pub max_messages: usize,
}

impl PushOptions {
    /// Writes that keep the client's queue for `ttl` and at most `max_messages` long.
    pub fn new(ttl: Duration, max_messages: usize) -> Self {
        PushOptions { ttl, max_messages }
    }
}

/// What a write did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct PushReceipt {
    /// Messages queued for the client after the write.
    pub len: usize,
    /// Oldest messages dropped to keep the queue within [`PushOptions::max_messages`].
    pub dropped: usize,
}

impl PushReceipt {
    /// A write that left `len` messages queued after dropping the `dropped` oldest.
    pub fn new(len: usize, dropped: usize) -> Self {
        PushReceipt { len, dropped }
    }
}

/// What a take selects, and whether it leases what it takes.
///
/// Made by the layer for every take; a store applies it atomically.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct Take<'a> {
    /// Only messages of this kind (all kinds when `None`).
    pub kind: Option<&'a Kind>,
    /// The request, when redirect scoping is on: messages bound to another path (and not yet
    /// fallen back to any path) are left in place.
    pub target: Option<&'a Target>,
    /// Delivery confirmation: move the messages to this lease instead of deleting them, and
    /// first give back every expired lease of the client.
    pub lease: Option<&'a Lease>,
    /// The time of the take, ms since the Unix epoch: compared with scope fallbacks and
    /// lease deadlines.
    pub now: u64,
}

impl<'a> Take<'a> {
    /// Every message, deleted: connect-flash's `req.flash()`.
    pub fn all() -> Self {
        Take {
            kind: None,
            target: None,
            lease: None,
            now: now_millis(),
        }
    }

    /// The messages of `kind`.
    pub fn kind(kind: &'a Kind) -> Self {
        Take {
            kind: Some(kind),
            ..Take::all()
        }
    }

    /// Only what a request to `target` may read.
    #[must_use]
    pub fn at(mut self, target: &'a Target) -> Self {
        self.target = Some(target);
        self
    }

    /// Lease the messages instead of deleting them.
    #[must_use]
    pub fn leased(mut self, lease: &'a Lease) -> Self {
        self.lease = Some(lease);
        self
    }

    /// Whether a message is selected.
    pub fn selects(&self, message: &Message) -> bool {
        self.kind.is_none_or(|k| message.kind() == k)
            && match (self.target, message.scope()) {
                (Some(target), Some(scope)) => scope.admits(&target.path, &target.query, self.now),
                _ => true,
            }
    }
}

/// A request as redirect scoping sees it: its path and query pairs.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Target {
    /// The request's path.
    pub path: String,
    /// The request's query, decoded, in order.
    pub query: Vec<(String, String)>,
}

impl Target {
    /// A request to `path` with the decoded `query` pairs, in order.
    pub fn new(path: impl Into<String>, query: Vec<(String, String)>) -> Self {
        Target {
            path: path.into(),
            query,
        }
    }

    /// The target of a request URI.
    pub fn from_uri(uri: &http::Uri) -> Self {
        Target {
            path: uri.path().to_owned(),
            query: uri.query().map(parse_query).unwrap_or_default(),
        }
    }
}

/// A lease on taken messages (delivery confirmation): they stay with the store, invisible
/// to other takes, until the request confirms them ([`Store::release`]), gives them back
/// ([`Store::give_back`]), or `until` passes and the client's next leased take reclaims them.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Lease {
    /// The lease's id: unique, and ordered by creation (reclaimed leases go back oldest
    /// first).
    pub id: LeaseId,
    /// When the lease ends if nobody confirms it, ms since the Unix epoch.
    pub until: u64,
    /// The client's TTL, applied to whatever the lease puts back in the queue.
    pub ttl: Duration,
}

impl Lease {
    /// The lease `id`, ending at `until` (ms since the Unix epoch) unless confirmed, putting
    /// messages back with the client's `ttl`.
    pub fn new(id: LeaseId, until: u64, ttl: Duration) -> Self {
        Lease { id, until, ttl }
    }
}

/// The id of a [`Lease`]: the creation time, a sequence number and random bits, so that ids
/// sort by age (strictly, within one process) and never collide across processes.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct LeaseId(String);

impl LeaseId {
    /// A fresh id.
    pub fn new() -> Self {
        static SEQUENCE: AtomicU64 = AtomicU64::new(0);
        let seq = SEQUENCE.fetch_add(1, Ordering::Relaxed) % 1_000_000_000;
        LeaseId(format!(
            "{:013}-{seq:09}-{:08x}",
            now_millis(),
            rand::random::<u32>()
        ))
    }

    /// The id as a string (no `\n`, no `|`).
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl Default for LeaseId {
    fn default() -> Self {
        Self::new()
    }
}

/// A place to keep each client's messages.
///
/// All operations are atomic per client. Implementations write `async fn` in their `impl`.
///
/// ```
/// use tower_flash::{ClientId, Level, Message, MemoryStore, store::Take};
/// use tower_flash::store::{PushOptions, Store};
/// use std::time::Duration;
///
/// # async fn run() -> Result<(), tower_flash::StoreError> {
/// let store = MemoryStore::new();
/// let client = ClientId::new("user:42").unwrap();
/// let options = PushOptions::new(Duration::from_secs(60), 100);
/// // A background job queues a message for the client's next page:
/// store.push(&client, &[Message::new(Level::Success, "Your export is ready")], &options).await?;
/// let taken = store.take(&client, &Take::all()).await?;
/// assert_eq!(taken[0].text(), "Your export is ready");
/// assert!(store.take(&client, &Take::all()).await?.is_empty());
/// # Ok(()) }
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(run()).unwrap();
/// ```
pub trait Store: Send + Sync + 'static {
    /// The most time this store's calls may add to one request, all calls together: past
    /// it the layer stops waiting (reads degrade to no messages, writes report
    /// [`StoreError::Timeout`]), and a take that was still under way has its messages put
    /// back when its answer arrives. `None` (the default) for stores that answer at once,
    /// such as [`MemoryStore`](crate::MemoryStore); `RedisStore` returns its
    /// `RedisOptions::timeout`.
    fn deadline(&self) -> Option<Duration> {
        None
    }

    /// Appends `messages` in order to the client's queue, drops the oldest past
    /// `options.max_messages`, and sets the queue's TTL to `options.ttl`.
    fn push(
        &self,
        id: &ClientId,
        messages: &[Message],
        options: &PushOptions,
    ) -> impl Future<Output = Result<PushReceipt, StoreError>> + Send;

    /// Removes and returns the messages `take` selects, oldest first, leaving the others in
    /// place and in order. With a lease, first gives back the client's expired leases (oldest
    /// lease first, at the front), then moves the taken messages into the lease.
    fn take(
        &self,
        id: &ClientId,
        take: &Take<'_>,
    ) -> impl Future<Output = Result<Vec<Message>, StoreError>> + Send;

    /// Returns all the client's queued messages without removing them (leased ones are not
    /// queued).
    fn peek(&self, id: &ClientId) -> impl Future<Output = Result<Vec<Message>, StoreError>> + Send;

    /// Puts `messages` back at the front of the client's queue, in the given order, ahead of
    /// any queued since (used by [`Flash::keep`](crate::Flash::keep)); same cap and TTL rules
    /// as [`Store::push`].
    fn restore(
        &self,
        id: &ClientId,
        messages: &[Message],
        options: &PushOptions,
    ) -> impl Future<Output = Result<PushReceipt, StoreError>> + Send;

    /// Deletes everything stored for the client, leases included.
    fn clear(&self, id: &ClientId) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Confirms a lease: its messages are delivered and gone for good. Returns whether the
    /// lease was still held (`false`: it had expired and was reclaimed, or never existed).
    fn release(
        &self,
        id: &ClientId,
        lease: &LeaseId,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// Gives a lease's messages back to the front of the client's queue, in their order.
    ///
    /// With `only`, gives back just those of `only` that the lease still holds (matched by
    /// [`Message::id`]), written as given (a request may have re-scoped them), in the order
    /// of `only`; the rest stay leased. A message the lease no longer holds (it was reclaimed
    /// after the lease timed out, so it is already queued again) is not written twice.
    /// Same cap and TTL rules as [`Store::push`]. Returns how many went back (0 when the
    /// lease is gone).
    fn give_back(
        &self,
        id: &ClientId,
        lease: &LeaseId,
        only: Option<&[Message]>,
        options: &PushOptions,
    ) -> impl Future<Output = Result<usize, StoreError>> + Send;

    /// Re-binds the queued messages that a request to `from` may read only because of their
    /// scope (bound to `from`, not fallen back) to `to`: redirect chains carry messages on.
    /// Returns how many were re-bound.
    fn rescope(
        &self,
        id: &ClientId,
        from: &Target,
        to: &Scope,
    ) -> impl Future<Output = Result<usize, StoreError>> + Send;
}
