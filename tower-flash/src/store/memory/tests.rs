//! The memory store's own tests; the contract suite (`tower-flash-testkit`) covers the rest.

use super::*;
use crate::message::{Kind, Level};

fn opts(ttl_ms: u64) -> PushOptions {
    PushOptions {
        ttl: Duration::from_millis(ttl_ms),
        max_messages: 10,
    }
}

/// The tests' clock: time is passed in, so no test sleeps for a TTL.
const T0: u64 = 1_800_000_000_000;

/// A push at `now`.
async fn push_at(
    store: &MemoryStore,
    id: &ClientId,
    messages: &[Message],
    options: &PushOptions,
    now: u64,
) -> Result<PushReceipt, StoreError> {
    Store::write(store, id, messages, End::Back, options, now).await
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
            push_at(&store, &id, &[Message::new(Level::Info, "x")], &opts(1), T0)
                .await
                .unwrap();
        }
        // Traffic from other, live clients, 5 ms later, sweeps the dead ones.
        let later = T0 + 5;
        for _ in 0..2_000 {
            let id = ClientId::random();
            let y = [Message::new(Level::Info, "y")];
            push_at(&store, &id, &y, &opts(60_000), later)
                .await
                .unwrap();
            store.take(&id, &Take::all().at_time(later)).await.unwrap();
        }
    });
    assert_eq!(store.clients(), 0, "expired clients were not reclaimed");
    assert_eq!(store.bytes(), 0, "byte accounting drifted");
}

/// Issue 12 (found by the soak): the sweep threshold was the live client count, which
/// new clients alone (cookieless visitors that push once and never come back) raise by
/// one per operation, exactly as fast as the operations counted against it: once a
/// shard held more than 64 clients, it was never swept again and the dead ones piled up
/// until the byte bound evicted them.
#[test]
fn regression_new_clients_alone_still_sweep_the_dead_ones() {
    let store = MemoryStore::new();
    block_on(async {
        // Waves of new clients, each pushing once with a short TTL; between waves the
        // previous wave expires. Nothing else touches the store.
        for wave in 0..8 {
            let now = T0 + wave * 30;
            for _ in 0..SHARDS * 200 {
                let id = ClientId::random();
                let x = [Message::new(Level::Info, "x")];
                push_at(&store, &id, &x, &opts(20), now).await.unwrap();
            }
        }
    });
    // Only the last wave (SHARDS * 200), plus what a shard sees before its next sweep
    // (at most as many operations as it held after the previous one), may remain.
    let clients = store.clients();
    assert!(
        clients <= SHARDS * 200 * 2 + SHARDS * 64,
        "{clients} clients held: the expired waves were never swept"
    );
}

/// Issue 11: the byte bound filled by a flood of clients (cookieless visitors whose
/// requests push) used to refuse every later write, for everyone.
#[test]
fn regression_a_full_byte_bound_evicts_the_soonest_to_expire_instead_of_refusing_everyone() {
    let store = MemoryStore::with_max_bytes(SHARDS * 2_000);
    let text = "z".repeat(500);
    block_on(async {
        let first = ClientId::random();
        let oldest = [Message::new(Level::Info, "oldest")];
        push_at(&store, &first, &oldest, &opts(1_000), T0)
            .await
            .unwrap();
        let mut last = None;
        for _ in 0..400 {
            let id = ClientId::random();
            let message = Message::new(Level::Info, text.clone());
            push_at(&store, &id, &[message], &opts(60_000), T0)
                .await
                .unwrap();
            assert!(store.bytes() <= SHARDS * 2_000, "the bound holds");
            last = Some(id);
        }
        let last = last.unwrap();
        assert_eq!(
            store.peek(&last, T0).await.unwrap().len(),
            1,
            "the newest is kept"
        );
        assert!(
            store.peek(&first, T0).await.unwrap().is_empty(),
            "the one expiring soonest went first"
        );
        assert!(store.clients() < 400, "some were evicted");

        // One write larger than the bound's share can never fit: refused, nothing
        // changed, nobody evicted for it.
        let clients = store.clients();
        let huge = Message::new(Level::Info, "h".repeat(4_000));
        let id = ClientId::random();
        assert!(matches!(
            push_at(&store, &id, &[huge], &opts(60_000), T0).await,
            Err(StoreError::Full(_))
        ));
        assert!(store.peek(&id, T0).await.unwrap().is_empty());
        assert_eq!(
            store.clients(),
            clients,
            "nobody evicted for a write that cannot fit"
        );
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
        let receipt = push_at(&store, &id, &batch, &opts(60_000), T0)
            .await
            .unwrap();
        assert_eq!(
            receipt,
            PushReceipt {
                len: 10,
                dropped: 5
            }
        );
        let error = Kind::from(Level::Error);
        let now = Take::kind(&error).at_time(T0);
        store.take(&id, &now).await.unwrap();
        let all = Take::all().at_time(T0);
        assert_eq!(store.take(&id, &all).await.unwrap().len(), 10);
    });
    assert_eq!(store.bytes(), 0);
    assert_eq!(store.clients(), 0);
}
