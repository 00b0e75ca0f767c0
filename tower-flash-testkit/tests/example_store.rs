//! A store written the way a third-party author would, outside tower-flash: one lock over a
//! map, the core and both capabilities, run through every case of the contract, in process
//! and over HTTP. If this passes, the contract is usable from outside the crate.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use tower_flash::store::{
    End, ErasedLeaseStore, ErasedScopeStore, HeldLeases, Lease, LeaseId, LeaseStore, PushOptions,
    PushReceipt, ScopeStore, Store, Take, Target,
};
use tower_flash::{ClientId, Message, Scope, StoreError};
use tower_flash_testkit::contract::Fixture;
use tower_flash_testkit::store_contract_tests;

/// One client's messages: the queue, the leases (tower-flash's bookkeeping for stores that
/// keep them in memory) and when it all expires.
#[derive(Default)]
struct Client {
    queue: Vec<Message>,
    leases: HeldLeases,
    expires_at: u64,
}

#[derive(Clone, Default)]
struct MapStore(Arc<Mutex<HashMap<ClientId, Client>>>);

impl MapStore {
    /// The map, with `id` dropped if it expired by `now`.
    fn at(&self, id: &ClientId, now: u64) -> MutexGuard<'_, HashMap<ClientId, Client>> {
        let mut map = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        if map.get(id).is_some_and(|c| c.expires_at <= now) {
            map.remove(id);
        }
        map
    }
}

fn ms(d: Duration) -> u64 {
    u64::try_from(d.min(tower_flash::store::MAX_TTL).as_millis()).unwrap_or(u64::MAX)
}

/// Drops the oldest queued messages past the cap; returns how many.
fn trim(client: &mut Client, max: usize) -> usize {
    let dropped = client.queue.len().saturating_sub(max);
    client.queue.drain(..dropped);
    dropped
}

impl Store for MapStore {
    async fn write(
        &self,
        id: &ClientId,
        messages: &[Message],
        end: End,
        options: &PushOptions,
        now: u64,
    ) -> Result<PushReceipt, StoreError> {
        // Refused alike on every store: what the stored encoding could not read back.
        Message::check_storable(messages)?;
        let mut map = self.at(id, now);
        let client = map.entry(id.clone()).or_default();
        match end {
            End::Back => client.queue.extend_from_slice(messages),
            End::Front => drop(client.queue.splice(0..0, messages.iter().cloned())),
        }
        let dropped = trim(client, options.max_messages);
        client.expires_at = client.expires_at.max(now + ms(options.ttl));
        Ok(PushReceipt::new(client.queue.len(), dropped))
    }

    async fn take(&self, id: &ClientId, take: &Take<'_>) -> Result<Vec<Message>, StoreError> {
        let mut map = self.at(id, take.now);
        let Some(client) = map.get_mut(id) else {
            return Ok(Vec::new());
        };
        let (taken, kept) = client.queue.drain(..).partition(|m| take.selects(m));
        client.queue = kept;
        Ok(taken)
    }

    async fn peek(&self, id: &ClientId, now: u64) -> Result<Vec<Message>, StoreError> {
        Ok(self
            .at(id, now)
            .get(id)
            .map(|c| c.queue.clone())
            .unwrap_or_default())
    }

    async fn clear(&self, id: &ClientId) -> Result<(), StoreError> {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(id);
        Ok(())
    }

    fn leases(&self) -> Option<&dyn ErasedLeaseStore> {
        Some(self)
    }

    fn scopes(&self) -> Option<&dyn ErasedScopeStore> {
        Some(self)
    }
}

impl LeaseStore for MapStore {
    async fn take_leased(
        &self,
        id: &ClientId,
        take: &Take<'_>,
        lease: &Lease,
    ) -> Result<Vec<Message>, StoreError> {
        let mut map = self.at(id, take.now);
        let Some(client) = map.get_mut(id) else {
            return Ok(Vec::new());
        };
        // Leases that ended go back first, the oldest ending up in front.
        let ended = client.leases.reclaim_ended(take.now);
        client.queue.splice(0..0, ended);
        let (taken, kept): (Vec<_>, Vec<_>) = client.queue.drain(..).partition(|m| take.selects(m));
        client.queue = kept;
        if !taken.is_empty() {
            client.leases.hold(lease, taken.clone());
            let ends = lease.until.max(take.now) + ms(lease.ttl);
            client.expires_at = client.expires_at.max(ends);
        }
        Ok(taken)
    }

    async fn release(&self, id: &ClientId, lease: &LeaseId) -> Result<bool, StoreError> {
        let mut map = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        let Some(client) = map.get_mut(id) else {
            return Ok(false);
        };
        Ok(client.leases.release(lease).is_some())
    }

    async fn give_back(
        &self,
        id: &ClientId,
        lease: &LeaseId,
        only: Option<&[Message]>,
        options: &PushOptions,
        now: u64,
    ) -> Result<usize, StoreError> {
        let mut map = self.at(id, now);
        let Some(client) = map.get_mut(id) else {
            return Ok(0);
        };
        let back = client.leases.give_back(lease, only);
        let n = back.len();
        client.queue.splice(0..0, back);
        trim(client, options.max_messages);
        client.expires_at = client.expires_at.max(now + ms(options.ttl));
        Ok(n)
    }
}

impl ScopeStore for MapStore {
    async fn rescope(
        &self,
        id: &ClientId,
        from: &Target,
        to: &Scope,
        now: u64,
    ) -> Result<usize, StoreError> {
        let mut map = self.at(id, now);
        let Some(client) = map.get_mut(id) else {
            return Ok(0);
        };
        let mut moved = 0;
        for message in &mut client.queue {
            if message.scope().is_some_and(|s| from.binds(s, now)) {
                message.set_scope(Some(to.clone()));
                moved += 1;
            }
        }
        Ok(moved)
    }
}

/// A fresh, empty store for each case.
struct Fresh(MapStore);

impl Fixture for Fresh {
    type Store = MapStore;
    fn store(&self) -> MapStore {
        self.0.clone()
    }
}

store_contract_tests!(async { Fresh(MapStore::default()) });
store_contract_tests!(over_http async { Fresh(MapStore::default()) });
