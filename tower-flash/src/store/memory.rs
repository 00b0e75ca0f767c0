//! [`MemoryStore`]: the embedded default store.

use std::collections::hash_map::RandomState;
use std::collections::{HashMap, VecDeque};
use std::hash::BuildHasher;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Instant;

use super::{PushOptions, PushReceipt, Store};
use crate::error::StoreError;
use crate::id::ClientId;
use crate::message::{Kind, Message};

const SHARDS: usize = 16;
/// Bookkeeping bytes counted per message and per client on top of their text.
const MESSAGE_OVERHEAD: usize = 96;
const CLIENT_OVERHEAD: usize = 128;

/// Messages in process memory: no external service, for development, tests and
/// single-instance apps.
///
/// - Every operation is atomic per client (the client's shard is locked for its duration;
///   no lock is held across an `.await`).
/// - Queues expire `ttl` after their last write, like a Redis key with `EXPIRE`.
/// - Expired queues are reclaimed lazily on access, and each shard is swept whenever it has
///   seen as many operations as it holds clients, so the cost stays O(1) amortised and dead
///   clients never pile up.
/// - Memory is bounded ([`MemoryStore::with_max_bytes`], 64 MiB by default): a write that
///   would go past the bound fails with [`StoreError::Full`] and changes nothing.
///
/// Cloning is cheap and shares the messages, so a background task can push through a clone
/// of the store handed to the layer. Messages do not survive a restart and are not shared
/// between processes: use the Redis store for that.
///
/// ```
/// use tower_flash::MemoryStore;
///
/// let store = MemoryStore::with_max_bytes(16 << 20);
/// let for_background_jobs = store.clone();
/// # let _ = for_background_jobs;
/// ```
#[derive(Clone, Debug)]
pub struct MemoryStore {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    shards: Box<[Mutex<Shard>]>,
    hasher: RandomState,
    max_bytes_per_shard: usize,
}

#[derive(Debug, Default)]
struct Shard {
    clients: HashMap<ClientId, Queue>,
    bytes: usize,
    ops_since_sweep: usize,
}

#[derive(Debug)]
struct Queue {
    messages: VecDeque<Message>,
    bytes: usize,
    expires_at: Instant,
}

impl Default for MemoryStore {
    fn default() -> Self {
        Self::new()
    }
}

impl MemoryStore {
    /// A store bounded to 64 MiB of messages.
    pub fn new() -> Self {
        Self::with_max_bytes(64 << 20)
    }

    /// A store bounded to about `max_bytes` of messages and bookkeeping.
    pub fn with_max_bytes(max_bytes: usize) -> Self {
        MemoryStore {
            inner: Arc::new(Inner {
                shards: (0..SHARDS).map(|_| Mutex::default()).collect(),
                hasher: RandomState::new(),
                max_bytes_per_shard: (max_bytes / SHARDS).max(1),
            }),
        }
    }

    /// The number of clients with messages (expired ones not yet reclaimed included).
    pub fn clients(&self) -> usize {
        self.inner
            .shards
            .iter()
            .map(|s| lock(s).clients.len())
            .sum()
    }

    /// The bytes accounted against the bound.
    pub fn bytes(&self) -> usize {
        self.inner.shards.iter().map(|s| lock(s).bytes).sum()
    }

    fn shard(&self, id: &ClientId) -> MutexGuard<'_, Shard> {
        let index = self.inner.hasher.hash_one(id) as usize % SHARDS;
        let mut shard = lock(&self.inner.shards[index]);
        shard.ops_since_sweep += 1;
        if shard.ops_since_sweep >= shard.clients.len().max(64) {
            shard.sweep(Instant::now());
        }
        shard
    }

    fn write(
        &self,
        id: &ClientId,
        messages: &[Message],
        options: &PushOptions,
        at_front: bool,
    ) -> Result<PushReceipt, StoreError> {
        let now = Instant::now();
        let mut shard = self.shard(id);
        shard.expire(id, now);
        let added: usize = messages.iter().map(message_bytes).sum();
        let new_client = !shard.clients.contains_key(id);
        let needed = added + if new_client { CLIENT_OVERHEAD } else { 0 };
        if shard.bytes + needed > self.inner.max_bytes_per_shard {
            shard.sweep(now);
            if shard.bytes + needed > self.inner.max_bytes_per_shard {
                return Err(StoreError::Full("memory store byte bound reached"));
            }
        }
        shard.bytes += needed;
        let queue = shard.clients.entry(id.clone()).or_insert_with(|| Queue {
            messages: VecDeque::new(),
            bytes: CLIENT_OVERHEAD,
            expires_at: now,
        });
        queue.bytes += added;
        if at_front {
            for message in messages.iter().rev() {
                queue.messages.push_front(message.clone());
            }
        } else {
            queue.messages.extend(messages.iter().cloned());
        }
        let mut freed = 0;
        let mut dropped = 0;
        while queue.messages.len() > options.max_messages {
            if let Some(old) = queue.messages.pop_front() {
                freed += message_bytes(&old);
                dropped += 1;
            }
        }
        queue.bytes -= freed;
        queue.expires_at = now + options.ttl;
        let len = queue.messages.len();
        if len == 0 {
            shard.remove(id);
        }
        shard.bytes -= freed;
        Ok(PushReceipt { len, dropped })
    }

    fn take_where(&self, id: &ClientId, mut pred: impl FnMut(&Message) -> bool) -> Vec<Message> {
        let mut shard = self.shard(id);
        shard.expire(id, Instant::now());
        let Some(queue) = shard.clients.get_mut(id) else {
            return Vec::new();
        };
        let mut taken = Vec::new();
        let mut kept = VecDeque::with_capacity(queue.messages.len());
        for message in queue.messages.drain(..) {
            if pred(&message) {
                taken.push(message);
            } else {
                kept.push_back(message);
            }
        }
        let freed: usize = taken.iter().map(message_bytes).sum();
        queue.messages = kept;
        queue.bytes -= freed;
        let empty = queue.messages.is_empty();
        shard.bytes -= freed;
        if empty {
            shard.remove(id);
        }
        taken
    }
}

impl Shard {
    fn remove(&mut self, id: &ClientId) {
        if let Some(queue) = self.clients.remove(id) {
            self.bytes -= queue.bytes;
        }
    }

    fn expire(&mut self, id: &ClientId, now: Instant) {
        if self.clients.get(id).is_some_and(|q| q.expires_at <= now) {
            self.remove(id);
        }
    }

    fn sweep(&mut self, now: Instant) {
        let mut freed = 0;
        self.clients.retain(|_, queue| {
            let live = queue.expires_at > now;
            if !live {
                freed += queue.bytes;
            }
            live
        });
        self.bytes -= freed;
        self.ops_since_sweep = 0;
    }
}

fn message_bytes(message: &Message) -> usize {
    MESSAGE_OVERHEAD + message.kind().as_str().len() + message.size()
}

fn lock(shard: &Mutex<Shard>) -> MutexGuard<'_, Shard> {
    // No code path panics while holding a shard, and a shard's state is valid between any
    // two statements, so a poisoned lock is safe to reuse.
    shard.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Store for MemoryStore {
    async fn push(
        &self,
        id: &ClientId,
        messages: &[Message],
        options: &PushOptions,
    ) -> Result<PushReceipt, StoreError> {
        self.write(id, messages, options, false)
    }

    async fn take_all(&self, id: &ClientId) -> Result<Vec<Message>, StoreError> {
        Ok(self.take_where(id, |_| true))
    }

    async fn take_kind(&self, id: &ClientId, kind: &Kind) -> Result<Vec<Message>, StoreError> {
        Ok(self.take_where(id, |m| m.kind() == kind))
    }

    async fn peek(&self, id: &ClientId) -> Result<Vec<Message>, StoreError> {
        let mut shard = self.shard(id);
        shard.expire(id, Instant::now());
        Ok(shard
            .clients
            .get(id)
            .map(|q| q.messages.iter().cloned().collect())
            .unwrap_or_default())
    }

    async fn restore(
        &self,
        id: &ClientId,
        messages: &[Message],
        options: &PushOptions,
    ) -> Result<PushReceipt, StoreError> {
        self.write(id, messages, options, true)
    }

    async fn clear(&self, id: &ClientId) -> Result<(), StoreError> {
        self.shard(id).remove(id);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::message::Level;

    fn opts(ttl_ms: u64) -> PushOptions {
        PushOptions {
            ttl: Duration::from_millis(ttl_ms),
            max_messages: 10,
        }
    }

    fn block_on<F: std::future::Future>(f: F) -> F::Output {
        tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap()
            .block_on(f)
    }

    #[test]
    fn expired_clients_are_reclaimed_without_being_touched_again() {
        let store = MemoryStore::new();
        block_on(async {
            for _ in 0..500 {
                let id = ClientId::random();
                store
                    .push(&id, &[Message::new(Level::Info, "x")], &opts(1))
                    .await
                    .unwrap();
            }
            std::thread::sleep(Duration::from_millis(5));
            // Traffic from other, live clients sweeps the dead ones.
            for _ in 0..2_000 {
                let id = ClientId::random();
                store
                    .push(&id, &[Message::new(Level::Info, "y")], &opts(60_000))
                    .await
                    .unwrap();
                store.take_all(&id).await.unwrap();
            }
        });
        assert_eq!(store.clients(), 0, "expired clients were not reclaimed");
        assert_eq!(store.bytes(), 0, "byte accounting drifted");
    }

    #[test]
    fn byte_bound_refuses_writes_and_changes_nothing() {
        let store = MemoryStore::with_max_bytes(SHARDS * 2_000);
        let text = "z".repeat(500);
        block_on(async {
            let mut refused = 0;
            for _ in 0..200 {
                let id = ClientId::random();
                match store
                    .push(
                        &id,
                        &[Message::new(Level::Info, text.clone())],
                        &opts(60_000),
                    )
                    .await
                {
                    Ok(_) => {}
                    Err(StoreError::Full(_)) => {
                        refused += 1;
                        assert!(store.peek(&id).await.unwrap().is_empty());
                    }
                    Err(e) => panic!("unexpected {e}"),
                }
            }
            assert!(refused > 0, "the bound never applied");
        });
        assert!(store.bytes() <= SHARDS * 2_000);
    }

    #[test]
    fn accounting_returns_to_zero() {
        let store = MemoryStore::new();
        let id = ClientId::random();
        block_on(async {
            let batch: Vec<_> = (0..15)
                .map(|i| Message::new(Level::Info, format!("m{i}")))
                .collect();
            let receipt = store.push(&id, &batch, &opts(60_000)).await.unwrap();
            assert_eq!(
                receipt,
                PushReceipt {
                    len: 10,
                    dropped: 5
                }
            );
            store
                .take_kind(&id, &Kind::from(Level::Error))
                .await
                .unwrap();
            assert_eq!(store.take_all(&id).await.unwrap().len(), 10);
        });
        assert_eq!(store.bytes(), 0);
        assert_eq!(store.clients(), 0);
    }
}
