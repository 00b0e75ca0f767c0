//! Metrics (feature `metrics`, through the `metrics` facade) and `tracing` spans around
//! store calls. Every metric is recorded here, so the names live in one place:
//!
//! | name | type | labels | what |
//! |------|------|--------|------|
//! | `tower_flash_messages_pushed_total` | counter | | messages written to the store (requests and `FlashSender`) |
//! | `tower_flash_messages_delivered_total` | counter | | messages handed to handlers by takes (and to htmx) |
//! | `tower_flash_messages_expired_total` | counter | | messages taken past their own time to live, never delivered |
//! | `tower_flash_messages_dropped_total` | counter | | oldest messages dropped to keep a client within `max_messages` |
//! | `tower_flash_messages_evicted_total` | counter | | messages of whole clients the memory store evicted to make room when its byte bound was reached |
//! | `tower_flash_messages_undecodable_total` | counter | | stored messages that could not be decoded (dropped, logged at error level) |
//! | `tower_flash_store_errors_total` | counter | `op` | failed store calls |
//! | `tower_flash_store_duration_seconds` | histogram | `op` | store call latency |
//!
//! `op` is one of `push`, `take`, `peek`, `restore`, `clear`, `release`, `give_back`,
//! `rescope`. Store calls run in a `flash_store` span (debug level) with `op` and `client`,
//! the first 8 bytes of the SHA-256 of the client id in hex: never the id itself, which is a
//! bearer token for the client's messages.

use std::fmt;
use std::future::Future;
use std::time::Instant;

use sha2::{Digest, Sha256};
use tracing::Instrument;

use crate::error::StoreError;
use crate::id::ClientId;

/// A client id as logs may show it: hashed, computed only if a span is recorded.
struct Hashed<'a>(&'a ClientId);

impl fmt::Display for Hashed<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let digest = Sha256::digest(self.0.as_str().as_bytes());
        digest[..8].iter().try_for_each(|b| write!(f, "{b:02x}"))
    }
}

/// Runs a store call in its span, recording its latency and failure.
pub(crate) async fn observed<T>(
    op: &'static str,
    id: &ClientId,
    call: impl Future<Output = Result<T, StoreError>>,
) -> Result<T, StoreError> {
    let span = tracing::debug_span!("flash_store", op, client = %Hashed(id));
    let started = Instant::now();
    let result = call.instrument(span).await;
    store_call(op, started, result.is_err());
    result
}

#[cfg(feature = "metrics")]
mod record {
    use std::time::Instant;

    pub(super) fn store_call(op: &'static str, started: Instant, failed: bool) {
        metrics::histogram!("tower_flash_store_duration_seconds", "op" => op)
            .record(started.elapsed().as_secs_f64());
        if failed {
            metrics::counter!("tower_flash_store_errors_total", "op" => op).increment(1);
        }
    }

    pub(super) fn count(name: &'static str, n: usize) {
        if n > 0 {
            metrics::counter!(name).increment(u64::try_from(n).unwrap_or(u64::MAX));
        }
    }
}

#[cfg(not(feature = "metrics"))]
mod record {
    use std::time::Instant;

    pub(super) fn store_call(_: &'static str, _: Instant, _: bool) {}

    pub(super) fn count(_: &'static str, _: usize) {}
}

fn store_call(op: &'static str, started: Instant, failed: bool) {
    record::store_call(op, started, failed);
}

/// Messages written to the store.
pub(crate) fn pushed(n: usize) {
    record::count("tower_flash_messages_pushed_total", n);
}

/// Messages handed to a handler.
pub(crate) fn delivered(n: usize) {
    record::count("tower_flash_messages_delivered_total", n);
}

/// Messages taken past their own time to live.
pub(crate) fn expired(n: usize) {
    record::count("tower_flash_messages_expired_total", n);
}

/// Messages dropped over the per-client cap.
pub(crate) fn dropped(n: usize) {
    if n > 0 {
        tracing::warn!(
            dropped = n,
            "flash: client queue over its cap, oldest messages dropped"
        );
    }
    record::count("tower_flash_messages_dropped_total", n);
}

/// Messages of whole clients a bounded store evicted to make room for a write.
pub(crate) fn evicted(clients: usize, messages: usize) {
    if clients > 0 {
        tracing::warn!(
            clients,
            messages,
            "flash: memory store full, evicted the clients whose messages expire soonest"
        );
    }
    record::count("tower_flash_messages_evicted_total", messages);
}

/// Stored messages that could not be decoded (already removed by the take that found them).
/// Only a store that decodes what it reads (Redis) can find one.
#[cfg(feature = "redis")]
pub(crate) fn undecodable(error: &crate::store::codec::DecodeError) {
    tracing::error!(%error, "flash: a stored message could not be decoded and was dropped");
    record::count("tower_flash_messages_undecodable_total", 1);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn logs_show_a_stable_hash_of_the_client_never_the_id() {
        let id = ClientId::random();
        let shown = Hashed(&id).to_string();
        assert_eq!(shown.len(), 16);
        assert!(shown.bytes().all(|b| b.is_ascii_hexdigit()));
        assert!(!id.as_str().contains(&shown) && !shown.contains(id.as_str()));
        assert_eq!(
            shown,
            Hashed(&id).to_string(),
            "stable, so logs can be correlated"
        );
        assert_ne!(shown, Hashed(&ClientId::random()).to_string());
    }
}
