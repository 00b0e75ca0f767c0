//! [`MemoryStore`]: the embedded default store.

use std::collections::hash_map::RandomState;
use std::collections::{HashMap, VecDeque};
use std::hash::BuildHasher;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use super::{
    End, ErasedLeaseStore, ErasedScopeStore, HeldLeases, Lease, LeaseId, LeaseStore, MAX_TTL,
    PushOptions, PushReceipt, ScopeStore, Store, Take, Target,
};
use crate::error::StoreError;
use crate::id::ClientId;
use crate::message::{Message, Scope, millis};

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
///   seen as many operations as it held clients after its last sweep (at least 64), so the
///   cost stays O(1) amortised and dead clients never pile up.
/// - Memory is bounded ([`MemoryStore::with_max_bytes`], 64 MiB by default). A write that
///   would go past the bound first evicts other clients, those whose messages expire
///   soonest, down to 7/8 of the bound (logged, and counted in
///   `tower_flash_messages_evicted_total`): a flood of writes cannot lock every client
///   out, at the price of the oldest pending messages. Only a write that cannot fit even
///   then (one client's messages larger than the bound's share) fails with
///   [`StoreError::Full`] and changes nothing. For untrusted traffic at scale, prefer
///   Redis with a `maxmemory` policy.
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
    /// The clients left by the last sweep: the operations to see before the next one. Fixed
    /// at sweep time, not read live: when only new clients arrive, the live count grows as
    /// fast as `ops_since_sweep` and would never be reached.
    next_sweep: usize,
}

#[derive(Debug)]
struct Queue {
    messages: VecDeque<Message>,
    /// Leased messages, oldest lease first.
    leases: HeldLeases,
    /// Bytes of queued and leased messages plus overhead.
    bytes: usize,
    /// ms since the Unix epoch.
    expires_at: u64,
}

impl Queue {
    fn is_empty(&self) -> bool {
        self.messages.is_empty() && self.leases.is_empty()
    }

    /// Puts messages at the front, keeping their order.
    fn prepend(&mut self, messages: Vec<Message>) {
        for message in messages.into_iter().rev() {
            self.messages.push_front(message);
        }
    }

    /// Gives back every lease that ended by `now`, oldest lease ending up first.
    fn reclaim_expired(&mut self, now: u64) {
        let ended = self.leases.reclaim_ended(now);
        self.prepend(ended);
    }
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

    /// The client's shard, locked.
    fn locked(&self, id: &ClientId) -> MutexGuard<'_, Shard> {
        let index = self.inner.hasher.hash_one(id) as usize % SHARDS;
        lock(&self.inner.shards[index])
    }

    /// The client's shard, locked, swept when due, with the client's queue dropped if it
    /// expired by `now`.
    fn shard(&self, id: &ClientId, now: u64) -> MutexGuard<'_, Shard> {
        let mut shard = self.locked(id);
        shard.ops_since_sweep += 1;
        if shard.ops_since_sweep >= shard.next_sweep.max(64) {
            shard.sweep(now);
        }
        shard.expire(id, now);
        shard
    }

    fn write_now(
        &self,
        id: &ClientId,
        messages: &[Message],
        end: End,
        options: &PushOptions,
        now: u64,
    ) -> Result<PushReceipt, StoreError> {
        // Kept as values here, but refused alike on every store.
        Message::check_storable(messages)?;
        let mut shard = self.shard(id, now);
        let added: usize = messages.iter().map(message_bytes).sum();
        let new_client = !shard.clients.contains_key(id);
        let needed = added + if new_client { CLIENT_OVERHEAD } else { 0 };
        let max = self.inner.max_bytes_per_shard;
        if shard.bytes + needed > max {
            shard.sweep(now);
            if shard.bytes + needed > max {
                // Refusing every write once the bound is reached would let a flood of
                // writes (cookieless visitors whose requests push, say) deny service to
                // everyone: make room by evicting the clients whose messages expire
                // soonest, down to 7/8 of the bound so that evictions stay rare.
                let target = max - max / 8;
                if needed <= target {
                    shard.evict_for(id, needed, target);
                }
            }
            if shard.bytes + needed > max {
                return Err(StoreError::Full("memory store byte bound reached"));
            }
        }
        shard.bytes += needed;
        let queue = shard.clients.entry(id.clone()).or_insert_with(|| Queue {
            messages: VecDeque::new(),
            leases: HeldLeases::default(),
            bytes: CLIENT_OVERHEAD,
            expires_at: now,
        });
        queue.bytes += added;
        match end {
            End::Front => queue.prepend(messages.to_vec()),
            End::Back => queue.messages.extend(messages.iter().cloned()),
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
        queue.expires_at = queue.expires_at.max(expiry(now, options.ttl));
        let len = queue.messages.len();
        if queue.is_empty() {
            shard.remove(id);
        }
        shard.bytes -= freed;
        Ok(PushReceipt { len, dropped })
    }

    fn take_selected(&self, id: &ClientId, take: &Take<'_>, lease: Option<&Lease>) -> Vec<Message> {
        let mut shard = self.shard(id, take.now);
        let Some(queue) = shard.clients.get_mut(id) else {
            return Vec::new();
        };
        if lease.is_some() {
            queue.reclaim_expired(take.now);
        }
        let mut taken = Vec::new();
        let mut kept = VecDeque::with_capacity(queue.messages.len());
        for message in queue.messages.drain(..) {
            if take.selects(&message) {
                taken.push(message);
            } else {
                kept.push_back(message);
            }
        }
        queue.messages = kept;
        match lease {
            Some(lease) if !taken.is_empty() => {
                hold(queue, lease, taken.clone(), take.now);
                return taken;
            }
            _ => {}
        }
        let freed: usize = taken.iter().map(message_bytes).sum();
        queue.bytes -= freed;
        let empty = queue.is_empty();
        shard.bytes -= freed;
        if empty {
            shard.remove(id);
        }
        taken
    }

    /// Applies `f` to the client's queue, if it has one at `now` (any queue when `None`),
    /// and drops the queue if it empties.
    fn with_queue<T>(
        &self,
        id: &ClientId,
        now: Option<u64>,
        f: impl FnOnce(&mut Queue) -> (T, usize),
    ) -> Option<T> {
        let mut shard = match now {
            Some(now) => self.shard(id, now),
            None => self.locked(id),
        };
        let queue = shard.clients.get_mut(id)?;
        let (out, freed) = f(queue);
        queue.bytes -= freed;
        let empty = queue.is_empty();
        shard.bytes -= freed;
        if empty {
            shard.remove(id);
        }
        Some(out)
    }
}

/// Moves `messages` into `lease` (created, or extended by a later take of the same request).
fn hold(queue: &mut Queue, lease: &Lease, messages: Vec<Message>, now: u64) {
    // A lease that times out gives its messages back for a full TTL: the client outlives
    // the lease by that much, whatever the two durations are.
    let lease_left = Duration::from_millis(lease.until.saturating_sub(now));
    let ends = expiry(now, lease_left.min(MAX_TTL) + lease.ttl.min(MAX_TTL));
    queue.expires_at = queue.expires_at.max(ends);
    queue.leases.hold(lease, messages);
}

impl Shard {
    fn remove(&mut self, id: &ClientId) {
        if let Some(queue) = self.clients.remove(id) {
            self.bytes -= queue.bytes;
        }
    }

    fn expire(&mut self, id: &ClientId, now: u64) {
        if self.clients.get(id).is_some_and(|q| q.expires_at <= now) {
            self.remove(id);
        }
    }

    /// Evicts whole clients other than `keep`, soonest to expire first, until `needed`
    /// more bytes fit under `target`.
    fn evict_for(&mut self, keep: &ClientId, needed: usize, target: usize) {
        let mut by_expiry: Vec<(u64, ClientId)> = self
            .clients
            .iter()
            .filter(|(id, _)| *id != keep)
            .map(|(id, queue)| (queue.expires_at, id.clone()))
            .collect();
        by_expiry.sort_unstable_by_key(|(expires_at, _)| *expires_at);
        let (mut clients, mut messages) = (0, 0);
        for (_, id) in by_expiry {
            if self.bytes + needed <= target {
                break;
            }
            if let Some(queue) = self.clients.remove(&id) {
                self.bytes -= queue.bytes;
                clients += 1;
                messages += queue.messages.len() + queue.leases.messages().count();
            }
        }
        crate::telemetry::evicted(clients, messages);
    }

    fn sweep(&mut self, now: u64) {
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
        self.next_sweep = self.clients.len();
    }
}

/// When a queue written at `now` with `ttl` expires; TTLs past [`MAX_TTL`] count as it.
fn expiry(now: u64, ttl: Duration) -> u64 {
    now.saturating_add(millis(ttl.min(MAX_TTL)))
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
    async fn write(
        &self,
        id: &ClientId,
        messages: &[Message],
        end: End,
        options: &PushOptions,
        now: u64,
    ) -> Result<PushReceipt, StoreError> {
        self.write_now(id, messages, end, options, now)
    }

    async fn take(&self, id: &ClientId, take: &Take<'_>) -> Result<Vec<Message>, StoreError> {
        Ok(self.take_selected(id, take, None))
    }

    async fn peek(&self, id: &ClientId, now: u64) -> Result<Vec<Message>, StoreError> {
        let shard = self.shard(id, now);
        Ok(shard
            .clients
            .get(id)
            .map(|q| q.messages.iter().cloned().collect())
            .unwrap_or_default())
    }

    async fn clear(&self, id: &ClientId) -> Result<(), StoreError> {
        self.locked(id).remove(id);
        Ok(())
    }

    fn leases(&self) -> Option<&dyn ErasedLeaseStore> {
        Some(self)
    }

    fn scopes(&self) -> Option<&dyn ErasedScopeStore> {
        Some(self)
    }
}

impl LeaseStore for MemoryStore {
    async fn take_leased(
        &self,
        id: &ClientId,
        take: &Take<'_>,
        lease: &Lease,
    ) -> Result<Vec<Message>, StoreError> {
        Ok(self.take_selected(id, take, Some(lease)))
    }

    async fn release(&self, id: &ClientId, lease: &LeaseId) -> Result<bool, StoreError> {
        // A held lease keeps its client alive past the lease's end (see `hold`): the
        // confirmation needs no time.
        let released = self.with_queue(id, None, |queue| match queue.leases.release(lease) {
            Some(held) => (true, held.iter().map(message_bytes).sum()),
            None => (false, 0),
        });
        Ok(released.unwrap_or(false))
    }

    async fn give_back(
        &self,
        id: &ClientId,
        lease: &LeaseId,
        only: Option<&[Message]>,
        options: &PushOptions,
        now: u64,
    ) -> Result<usize, StoreError> {
        let given = self.with_queue(id, Some(now), |queue| {
            let back = queue.leases.give_back(lease, only);
            if back.is_empty() {
                return (0, 0);
            }
            let n = back.len();
            queue.prepend(back);
            let mut freed = 0;
            while queue.messages.len() > options.max_messages {
                if let Some(old) = queue.messages.pop_front() {
                    freed += message_bytes(&old);
                }
            }
            queue.expires_at = queue.expires_at.max(expiry(now, options.ttl));
            (n, freed)
        });
        Ok(given.unwrap_or(0))
    }
}

impl ScopeStore for MemoryStore {
    async fn rescope(
        &self,
        id: &ClientId,
        from: &Target,
        to: &Scope,
        now: u64,
    ) -> Result<usize, StoreError> {
        let moved = self.with_queue(id, Some(now), |queue| {
            let mut moved = 0;
            for message in &mut queue.messages {
                if message.scope().is_some_and(|s| from.binds(s, now)) {
                    message.set_scope(Some(to.clone()));
                    moved += 1;
                }
            }
            (moved, 0)
        });
        Ok(moved.unwrap_or(0))
    }
}

#[cfg(test)]
mod tests;
