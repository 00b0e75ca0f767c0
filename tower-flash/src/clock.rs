//! [`Clock`]: where the layer reads the time it passes to the store.

use std::sync::Arc;

/// Where the flash layer reads the time: ms since the Unix epoch. Every store call gets
/// its time from here (stores never read a clock themselves), and so do lease deadlines
/// and redirect-scope fallbacks.
///
/// The default is [`SystemClock`]. Tests give the layer a clock they drive, so that a TTL
/// or a lease timeout passes without sleeping: any `Fn() -> u64` is a clock.
///
/// ```
/// use std::sync::Arc;
/// use std::sync::atomic::{AtomicU64, Ordering};
/// use std::time::Duration;
/// use tower_flash::{FlashLayer, Key, MemoryStore};
///
/// let now = Arc::new(AtomicU64::new(1_800_000_000_000));
/// let clock = now.clone();
/// let layer = FlashLayer::new(MemoryStore::new(), Key::generate())
///     .ttl(Duration::from_secs(60))
///     .clock(move || clock.load(Ordering::Relaxed));
/// // … a request pushes; then a minute passes at once:
/// now.fetch_add(60_000, Ordering::Relaxed);
/// # let _ = layer;
/// ```
///
/// Redis keeps the TTL of its keys by its own clock: a driven clock moves lease deadlines
/// and scope fallbacks there, not key expiry.
pub trait Clock: Send + Sync + 'static {
    /// The time now, ms since the Unix epoch.
    fn now_millis(&self) -> u64;
}

impl<F: Fn() -> u64 + Send + Sync + 'static> Clock for F {
    fn now_millis(&self) -> u64 {
        self()
    }
}

/// The system's clock ([`SystemTime::now`](std::time::SystemTime::now)): the default [`Clock`].
#[derive(Clone, Copy, Debug, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now_millis(&self) -> u64 {
        crate::message::now_millis()
    }
}

/// The clock a layer holds.
pub(crate) type SharedClock = Arc<dyn Clock>;
