//! Where messages live between requests: the [`Store`] trait and its implementations.
//!
//! A store keeps, per [`ClientId`], one queue of [`Message`]s in push order. Every
//! operation is atomic for its client: under any number of concurrent requests, a message
//! is handed to at most one take, and a push racing a take is never lost. The layer calls
//! the store only for clients with a valid id and only when a handler asks for it.
//!
//! Stores are tested by one contract suite (`tests/contract/mod.rs`) that every
//! implementation runs unchanged.

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use crate::error::StoreError;
use crate::id::ClientId;
use crate::message::{Kind, Message};

mod memory;
#[cfg(feature = "redis")]
mod redis;

pub use self::memory::MemoryStore;
#[cfg(feature = "redis")]
pub use self::redis::{RedisOptions, RedisStore};

/// How a batch is written: its time to live and the cap on the client's queue.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PushOptions {
    /// Time to live of the client's queue, refreshed by every write.
    pub ttl: Duration,
    /// The most messages kept for one client. A write that goes past it drops the oldest
    /// messages and reports how many in [`PushReceipt::dropped`].
    pub max_messages: usize,
}

/// What a write did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PushReceipt {
    /// Messages queued for the client after the write.
    pub len: usize,
    /// Oldest messages dropped to keep the queue within [`PushOptions::max_messages`].
    pub dropped: usize,
}

/// A place to keep each client's messages.
///
/// All operations are atomic per client. Implementations write `async fn` in their `impl`.
///
/// ```
/// use tower_flash::{ClientId, Level, Message, MemoryStore, PushOptions, Store};
/// use std::time::Duration;
///
/// # async fn run() -> Result<(), tower_flash::StoreError> {
/// let store = MemoryStore::new();
/// let client = ClientId::new("user:42").unwrap();
/// let options = PushOptions { ttl: Duration::from_secs(60), max_messages: 100 };
/// // A background job queues a message for the client's next page:
/// store.push(&client, &[Message::new(Level::Success, "Your export is ready")], &options).await?;
/// let taken = store.take_all(&client).await?;
/// assert_eq!(taken[0].text(), "Your export is ready");
/// assert!(store.take_all(&client).await?.is_empty());
/// # Ok(()) }
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(run()).unwrap();
/// ```
pub trait Store: Send + Sync + 'static {
    /// Appends `messages` in order to the client's queue, drops the oldest past
    /// `options.max_messages`, and sets the queue's TTL to `options.ttl`.
    fn push(
        &self,
        id: &ClientId,
        messages: &[Message],
        options: &PushOptions,
    ) -> impl Future<Output = Result<PushReceipt, StoreError>> + Send;

    /// Removes and returns all the client's messages, oldest first.
    fn take_all(
        &self,
        id: &ClientId,
    ) -> impl Future<Output = Result<Vec<Message>, StoreError>> + Send;

    /// Removes and returns the client's messages of `kind`, oldest first, leaving the
    /// others in place and in order.
    fn take_kind(
        &self,
        id: &ClientId,
        kind: &Kind,
    ) -> impl Future<Output = Result<Vec<Message>, StoreError>> + Send;

    /// Returns all the client's messages without removing them.
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

    /// Deletes everything stored for the client.
    fn clear(&self, id: &ClientId) -> impl Future<Output = Result<(), StoreError>> + Send;
}

type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// [`Store`] made object safe, so that `Flash` and the layer need no type parameter.
pub(crate) trait DynStore: Send + Sync + 'static {
    fn push<'a>(
        &'a self,
        id: &'a ClientId,
        messages: &'a [Message],
        options: &'a PushOptions,
    ) -> BoxFuture<'a, Result<PushReceipt, StoreError>>;
    fn take_all<'a>(&'a self, id: &'a ClientId) -> BoxFuture<'a, Result<Vec<Message>, StoreError>>;
    fn take_kind<'a>(
        &'a self,
        id: &'a ClientId,
        kind: &'a Kind,
    ) -> BoxFuture<'a, Result<Vec<Message>, StoreError>>;
    fn peek<'a>(&'a self, id: &'a ClientId) -> BoxFuture<'a, Result<Vec<Message>, StoreError>>;
    fn restore<'a>(
        &'a self,
        id: &'a ClientId,
        messages: &'a [Message],
        options: &'a PushOptions,
    ) -> BoxFuture<'a, Result<PushReceipt, StoreError>>;
    fn clear<'a>(&'a self, id: &'a ClientId) -> BoxFuture<'a, Result<(), StoreError>>;
}

impl<S: Store> DynStore for S {
    fn push<'a>(
        &'a self,
        id: &'a ClientId,
        messages: &'a [Message],
        options: &'a PushOptions,
    ) -> BoxFuture<'a, Result<PushReceipt, StoreError>> {
        Box::pin(Store::push(self, id, messages, options))
    }
    fn take_all<'a>(&'a self, id: &'a ClientId) -> BoxFuture<'a, Result<Vec<Message>, StoreError>> {
        Box::pin(Store::take_all(self, id))
    }
    fn take_kind<'a>(
        &'a self,
        id: &'a ClientId,
        kind: &'a Kind,
    ) -> BoxFuture<'a, Result<Vec<Message>, StoreError>> {
        Box::pin(Store::take_kind(self, id, kind))
    }
    fn peek<'a>(&'a self, id: &'a ClientId) -> BoxFuture<'a, Result<Vec<Message>, StoreError>> {
        Box::pin(Store::peek(self, id))
    }
    fn restore<'a>(
        &'a self,
        id: &'a ClientId,
        messages: &'a [Message],
        options: &'a PushOptions,
    ) -> BoxFuture<'a, Result<PushReceipt, StoreError>> {
        Box::pin(Store::restore(self, id, messages, options))
    }
    fn clear<'a>(&'a self, id: &'a ClientId) -> BoxFuture<'a, Result<(), StoreError>> {
        Box::pin(Store::clear(self, id))
    }
}
