//! For store authors: the [`Store`] trait, what its methods take and return, and the
//! stored encoding ([`codec`]). The stores themselves are at the crate root
//! ([`MemoryStore`](crate::MemoryStore), and `RedisStore` with the feature `redis`).
//!
//! A store keeps, per [`ClientId`], one queue of [`Message`]s in push order. Every
//! operation is atomic for its client: under any number of concurrent requests, a message
//! is handed to at most one take, and a push racing a take is never lost. The layer calls
//! the store only for clients with a valid id and only when a handler asks for it.
//!
//! # The core and the capabilities
//!
//! The core, [`Store`], is four methods: [`write`](Store::write) at an end of the queue,
//! [`take`](Store::take) what a [`Take`] selects, [`peek`](Store::peek) and
//! [`clear`](Store::clear). That is all the layer's default mode needs. Two opt-in
//! capabilities add the delivery modes that need more of a store:
//!
//! | capability        | layer option                                                    | methods |
//! |-------------------|-----------------------------------------------------------------|---------|
//! | [`LeaseStore`]    | [`confirm_delivery`](crate::FlashLayer::confirm_delivery)       | take into a lease, release, give back |
//! | [`ScopeStore`]    | [`scope_to_redirects`](crate::FlashLayer::scope_to_redirects)   | rescope |
//!
//! A store announces a capability by returning `Some(self)` from [`Store::leases`] or
//! [`Store::scopes`]; the layer checks it when it is built, so a store without leases
//! cannot be given `confirm_delivery` and fail on the first request instead.
//!
//! Time is passed in (`now`, ms since the Unix epoch, from the layer's
//! [`Clock`](crate::Clock)), never read inside a store: tests drive it instead of sleeping.
//!
//! Every store runs one contract suite unchanged (`tower-flash-testkit`, which store authors run too). The rules a
//! store applies are defined here once: [`Take::selects`] (kind and scope),
//! [`Target`] (what a request is to scoping), the lease's order
//! ([`LeaseId`] sorts by age) and the cap ([`PushOptions::max_messages`], oldest first out).
//!
//! A complete store in a few lines (one lock over a map; no TTL sweep, for brevity):
//!
//! ```
//! use std::collections::HashMap;
//! use std::sync::{Mutex, PoisonError};
//! use tower_flash::{ClientId, FlashLayer, Key, Message, StoreError};
//! use tower_flash::store::{End, PushOptions, PushReceipt, Store, Take};
//!
//! #[derive(Default)]
//! struct MapStore(Mutex<HashMap<ClientId, Vec<Message>>>);
//!
//! impl Store for MapStore {
//!     async fn write(&self, id: &ClientId, messages: &[Message], end: End,
//!                    options: &PushOptions, _now: u64) -> Result<PushReceipt, StoreError> {
//!         let mut map = self.0.lock().unwrap_or_else(PoisonError::into_inner);
//!         let queue = map.entry(id.clone()).or_default();
//!         match end {
//!             End::Back => queue.extend_from_slice(messages),
//!             End::Front => drop(queue.splice(0..0, messages.iter().cloned())),
//!         }
//!         let dropped = queue.len().saturating_sub(options.max_messages);
//!         queue.drain(..dropped);
//!         Ok(PushReceipt::new(queue.len(), dropped))
//!     }
//!
//!     async fn take(&self, id: &ClientId, take: &Take<'_>) -> Result<Vec<Message>, StoreError> {
//!         let mut map = self.0.lock().unwrap_or_else(PoisonError::into_inner);
//!         let queue = map.entry(id.clone()).or_default();
//!         let (taken, kept) = queue.drain(..).partition(|m| take.selects(m));
//!         *queue = kept;
//!         Ok(taken)
//!     }
//!
//!     async fn peek(&self, id: &ClientId, _now: u64) -> Result<Vec<Message>, StoreError> {
//!         let map = self.0.lock().unwrap_or_else(PoisonError::into_inner);
//!         Ok(map.get(id).cloned().unwrap_or_default())
//!     }
//!
//!     async fn clear(&self, id: &ClientId) -> Result<(), StoreError> {
//!         let mut map = self.0.lock().unwrap_or_else(PoisonError::into_inner);
//!         map.remove(id);
//!         Ok(())
//!     }
//! }
//!
//! let layer = FlashLayer::new(MapStore::default(), Key::generate());
//! # let _ = layer;
//! ```

use std::future::Future;
use std::time::Duration;

use crate::error::StoreError;
use crate::id::ClientId;
use crate::message::{Kind, Message, now_millis};

pub mod codec;
mod dynamic;
mod lease;
pub(crate) mod memory;
mod query;
#[cfg(feature = "redis")]
pub(crate) mod redis;
mod scope;

pub(crate) use self::dynamic::{DynStore, OwnedTake};
pub use self::lease::{ErasedLeaseStore, HeldLeases, Lease, LeaseId, LeaseStore};
pub(crate) use self::query::parse_query;
pub use self::scope::{ErasedScopeStore, ScopeStore, Target};

/// The longest time to live a store keeps: 400 days, the longest `Max-Age` browsers keep a
/// cookie for. Longer TTLs (even `Duration::MAX`) are clamped to it, by the layer when it is
/// built and by the stores on every write, so that every stored key expires.
pub const MAX_TTL: Duration = Duration::from_secs(400 * 24 * 60 * 60);

/// Which end of the client's queue a [write](Store::write) goes to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum End {
    /// After everything queued: a push.
    Back,
    /// Before everything queued, in the given order: messages put back (a request that
    /// [kept](crate::Flash::keep) what it read, htmx messages that did not fit the header).
    Front,
}

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

/// What a take selects, and when it happens.
///
/// Made by the layer for every take; a store applies it atomically with
/// [`Take::selects`], the one definition of which messages a take returns.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct Take<'a> {
    /// Only messages of this kind (all kinds when `None`).
    pub kind: Option<&'a Kind>,
    /// The request, when redirect scoping is on: messages bound to another path (and not yet
    /// fallen back to any path) are left in place.
    pub target: Option<&'a Target>,
    /// The time of the take, ms since the Unix epoch: compared with scope fallbacks, lease
    /// deadlines and queue expiry.
    pub now: u64,
}

impl<'a> Take<'a> {
    /// Every message, now: connect-flash's `req.flash()`.
    pub fn all() -> Self {
        Take::of(None, now_millis())
    }

    /// The messages of `kind` (all kinds when `None`) at `now`: the layer's take, timed
    /// by its clock without reading the system's.
    pub(crate) fn of(kind: Option<&'a Kind>, now: u64) -> Self {
        Take {
            kind,
            target: None,
            now,
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

    /// The take happens at `now`, ms since the Unix epoch (the layer's clock).
    #[must_use]
    pub fn at_time(mut self, now: u64) -> Self {
        self.now = now;
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

/// A place to keep each client's messages: the core every store implements.
///
/// All operations are atomic per client. Implementations write `async fn` in their `impl`.
/// Delivery confirmation and redirect scoping need more of a store: see [`LeaseStore`] and
/// [`ScopeStore`], and the [module docs](self) for a complete example store.
///
/// ```
/// use tower_flash::{ClientId, Level, Message, MemoryStore};
/// use tower_flash::store::{End, PushOptions, Store, Take};
/// use std::time::{Duration, SystemTime, UNIX_EPOCH};
///
/// # async fn run() -> Result<(), tower_flash::StoreError> {
/// let store = MemoryStore::new();
/// let client = ClientId::new("user:42").unwrap();
/// let options = PushOptions::new(Duration::from_secs(60), 100);
/// let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_millis() as u64;
/// // A background job queues a message for the client's next page:
/// let ready = [Message::new(Level::Success, "Your export is ready")];
/// store.write(&client, &ready, End::Back, &options, now).await?;
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

    /// Writes `messages`, in order, at `end` of the client's queue, drops the oldest past
    /// `options.max_messages`, and keeps the queue until `now + options.ttl` at least (a
    /// write never shortens what a lease needs).
    fn write(
        &self,
        id: &ClientId,
        messages: &[Message],
        end: End,
        options: &PushOptions,
        now: u64,
    ) -> impl Future<Output = Result<PushReceipt, StoreError>> + Send;

    /// Removes and returns the messages `take` selects ([`Take::selects`]), oldest first,
    /// leaving the others in place and in order.
    fn take(
        &self,
        id: &ClientId,
        take: &Take<'_>,
    ) -> impl Future<Output = Result<Vec<Message>, StoreError>> + Send;

    /// Returns all the client's queued messages at `now` without removing them (leased
    /// ones are not queued).
    fn peek(
        &self,
        id: &ClientId,
        now: u64,
    ) -> impl Future<Output = Result<Vec<Message>, StoreError>> + Send;

    /// Deletes everything stored for the client, leases included.
    fn clear(&self, id: &ClientId) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Delivery confirmation: `Some(self)` in a store that implements [`LeaseStore`]
    /// (`None`, the default, otherwise). The layer refuses
    /// [`confirm_delivery`](crate::FlashLayer::confirm_delivery) on a store that returns
    /// `None`.
    fn leases(&self) -> Option<&dyn ErasedLeaseStore> {
        None
    }

    /// Redirect scoping: `Some(self)` in a store that implements [`ScopeStore`] (`None`,
    /// the default, otherwise). The layer refuses
    /// [`scope_to_redirects`](crate::FlashLayer::scope_to_redirects) on a store that
    /// returns `None`.
    fn scopes(&self) -> Option<&dyn ErasedScopeStore> {
        None
    }
}
