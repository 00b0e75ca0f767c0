//! Delivery confirmation's capability: [`LeaseStore`], and the [`Lease`] a take moves
//! messages into until the response confirms or gives them back.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use super::{PushOptions, Store, Take};
use crate::error::StoreError;
use crate::id::ClientId;
use crate::message::{Message, now_millis};
use crate::telemetry::observed;

type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// A lease on taken messages (delivery confirmation): they stay with the store, invisible
/// to other takes, until the request confirms them ([`LeaseStore::release`]), gives them
/// back ([`LeaseStore::give_back`]), or `until` passes and the client's next leased take
/// reclaims them.
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
        Self::at(now_millis())
    }

    /// A fresh id made at `now`, ms since the Unix epoch (the layer's clock).
    pub fn at(now: u64) -> Self {
        static SEQUENCE: AtomicU64 = AtomicU64::new(0);
        let seq = SEQUENCE.fetch_add(1, Ordering::Relaxed) % 1_000_000_000;
        LeaseId(format!("{now:013}-{seq:09}-{:08x}", rand::random::<u32>()))
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

/// The leases of one client, for a store that keeps them in its own memory (the memory
/// store does; a store on a server keeps them there, as the Redis store's scripts do): the
/// bookkeeping [`LeaseStore`] needs, with its rules written once. Oldest lease first.
///
/// ```
/// use std::time::Duration;
/// use tower_flash::store::{HeldLeases, Lease, LeaseId};
/// use tower_flash::{Level, Message};
///
/// let mut leases = HeldLeases::default();
/// let lease = Lease::new(LeaseId::at(1_000), 31_000, Duration::from_secs(60));
/// leases.hold(&lease, vec![Message::new(Level::Info, "a"), Message::new(Level::Info, "b")]);
/// // Give back "b" alone (a request that re-scoped it, say): "a" stays held.
/// let b: Vec<Message> = leases.messages().skip(1).cloned().collect();
/// assert_eq!(leases.give_back(&lease.id, Some(&b)).len(), 1);
/// assert_eq!(leases.give_back(&lease.id, Some(&b)).len(), 0, "given back once");
/// // Nobody confirmed in time: the next leased take reclaims "a".
/// assert_eq!(leases.reclaim_ended(31_000)[0].text(), "a");
/// assert!(leases.is_empty());
/// ```
#[derive(Clone, Debug, Default)]
pub struct HeldLeases {
    /// Sorted by [`LeaseId`], which sorts by age.
    held: Vec<Held>,
}

#[derive(Clone, Debug)]
struct Held {
    id: LeaseId,
    until: u64,
    messages: Vec<Message>,
}

impl HeldLeases {
    /// Whether no lease is held.
    pub fn is_empty(&self) -> bool {
        self.held.is_empty()
    }

    /// Every held message, oldest lease first (for a store's size accounting).
    pub fn messages(&self) -> impl Iterator<Item = &Message> {
        self.held.iter().flat_map(|l| &l.messages)
    }

    /// Ends every lease whose `until` passed by `now`; returns their messages, oldest lease
    /// first, to put back at the front of the queue in that order.
    pub fn reclaim_ended(&mut self, now: u64) -> Vec<Message> {
        let (ended, live) = std::mem::take(&mut self.held)
            .into_iter()
            .partition::<Vec<Held>, _>(|l| l.until <= now);
        self.held = live;
        ended.into_iter().flat_map(|l| l.messages).collect()
    }

    /// Holds `taken` under `lease`: a new lease, or more of the same request's lease.
    pub fn hold(&mut self, lease: &Lease, taken: Vec<Message>) {
        match self.held.binary_search_by(|l| l.id.cmp(&lease.id)) {
            Ok(i) => self.held[i].messages.extend(taken),
            Err(i) => self.held.insert(
                i,
                Held {
                    id: lease.id.clone(),
                    until: lease.until,
                    messages: taken,
                },
            ),
        }
    }

    /// Confirms `lease`: its messages, delivered and gone; `None` if it is not held.
    pub fn release(&mut self, lease: &LeaseId) -> Option<Vec<Message>> {
        let i = self.position(lease)?;
        Some(self.held.remove(i).messages)
    }

    /// What [`LeaseStore::give_back`] puts back at the front of the queue, in order:
    /// everything `lease` holds, or with `only`, those of `only` it still holds (matched by
    /// [`Message::id`], as given in `only`, in its order), the rest staying held. A lease
    /// left empty ends. Nothing when `lease` is not held.
    pub fn give_back(&mut self, lease: &LeaseId, only: Option<&[Message]>) -> Vec<Message> {
        let Some(i) = self.position(lease) else {
            return Vec::new();
        };
        let Some(only) = only else {
            return self.held.remove(i).messages;
        };
        let held = &mut self.held[i].messages;
        let back: Vec<Message> = only
            .iter()
            .filter(|m| held.iter().any(|h| h.id() == m.id()))
            .cloned()
            .collect();
        held.retain(|h| !back.iter().any(|m| m.id() == h.id()));
        if held.is_empty() {
            self.held.remove(i);
        }
        back
    }

    fn position(&self, lease: &LeaseId) -> Option<usize> {
        self.held.iter().position(|l| &l.id == lease)
    }
}

/// Delivery confirmation's capability: taken messages move into a [`Lease`] instead of
/// being deleted, and the response's fate confirms or gives them back.
///
/// A store that implements it says so by returning `Some(self)` from [`Store::leases`].
pub trait LeaseStore: Store {
    /// Like [`Store::take`], but first gives back every lease of the client that ended by
    /// `take.now` (oldest lease first, at the front of the queue), then moves the taken
    /// messages into `lease` (created, or extended by a later take of the same request),
    /// keeping the client at least until the lease ends plus `lease.ttl`.
    fn take_leased(
        &self,
        id: &ClientId,
        take: &Take<'_>,
        lease: &Lease,
    ) -> impl Future<Output = Result<Vec<Message>, StoreError>> + Send;

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
    /// Same cap and TTL rules as [`Store::write`] at `now`. Returns how many went back (0
    /// when the lease is gone).
    fn give_back(
        &self,
        id: &ClientId,
        lease: &LeaseId,
        only: Option<&[Message]>,
        options: &PushOptions,
        now: u64,
    ) -> impl Future<Output = Result<usize, StoreError>> + Send;
}

/// [`LeaseStore`] made object safe, as [`Store::leases`] returns it. Implemented for every
/// `LeaseStore`: store authors implement `LeaseStore`, never this.
pub trait ErasedLeaseStore: Send + Sync + sealed::Sealed {
    /// [`LeaseStore::take_leased`].
    fn dyn_take_leased<'a>(
        &'a self,
        id: &'a ClientId,
        take: &'a Take<'a>,
        lease: &'a Lease,
    ) -> BoxFuture<'a, Result<Vec<Message>, StoreError>>;

    /// [`LeaseStore::release`].
    fn dyn_release<'a>(
        &'a self,
        id: &'a ClientId,
        lease: &'a LeaseId,
    ) -> BoxFuture<'a, Result<bool, StoreError>>;

    /// [`LeaseStore::give_back`].
    fn dyn_give_back<'a>(
        &'a self,
        id: &'a ClientId,
        lease: &'a LeaseId,
        only: Option<&'a [Message]>,
        options: &'a PushOptions,
        now: u64,
    ) -> BoxFuture<'a, Result<usize, StoreError>>;
}

mod sealed {
    pub trait Sealed {}
    impl<S: super::LeaseStore> Sealed for S {}
}

impl<S: LeaseStore> ErasedLeaseStore for S {
    fn dyn_take_leased<'a>(
        &'a self,
        id: &'a ClientId,
        take: &'a Take<'a>,
        lease: &'a Lease,
    ) -> BoxFuture<'a, Result<Vec<Message>, StoreError>> {
        Box::pin(observed(
            "take",
            id,
            LeaseStore::take_leased(self, id, take, lease),
        ))
    }

    fn dyn_release<'a>(
        &'a self,
        id: &'a ClientId,
        lease: &'a LeaseId,
    ) -> BoxFuture<'a, Result<bool, StoreError>> {
        Box::pin(observed(
            "release",
            id,
            LeaseStore::release(self, id, lease),
        ))
    }

    fn dyn_give_back<'a>(
        &'a self,
        id: &'a ClientId,
        lease: &'a LeaseId,
        only: Option<&'a [Message]>,
        options: &'a PushOptions,
        now: u64,
    ) -> BoxFuture<'a, Result<usize, StoreError>> {
        Box::pin(observed(
            "give_back",
            id,
            LeaseStore::give_back(self, id, lease, only, options, now),
        ))
    }
}
