//! The flash middleware's configuration, built by [`FlashLayer`](crate::FlashLayer) and
//! shared by every request's [`Flash`](crate::Flash) and by
//! [`FlashSender`](crate::FlashSender): defaults, the store, limits, the delivery options, and
//! the one admission check every pushed message passes.

use std::sync::Arc;
use std::time::Duration;

use http::request::Parts;

use crate::clock::SharedClock;
use crate::error::Error;
use crate::htmx::HtmxDelivery;
use crate::id::{ClientId, CookieCodec};
use crate::message::{Kind, Level, MAX_DATA_DEPTH, Message};
use crate::store::{DynStore, PushOptions};

/// Finds the client of a request other than by the flash cookie; see
/// [`FlashLayer::identify`].
pub(crate) type Identify = dyn Fn(&Parts) -> Option<ClientId> + Send + Sync;

/// Unread messages expire this long after their client's last write: one day.
pub const DEFAULT_TTL: Duration = Duration::from_secs(24 * 60 * 60);
/// The most messages kept for one client: 64.
pub const DEFAULT_MAX_MESSAGES: usize = 64;
/// The largest message, text plus JSON data: 4 KiB.
pub const DEFAULT_MAX_MESSAGE_BYTES: usize = 4096;
/// How long messages leased by a request stay away before they come back on their own,
/// when the process died before confirming or giving them back: 30 s.
pub const DEFAULT_LEASE_TIMEOUT: Duration = Duration::from_secs(30);
/// How long redirect-scoped messages wait for their target before any path may read them:
/// 180 s, as Spring's `FlashMap`.
pub const DEFAULT_SCOPE_FALLBACK: Duration = Duration::from_secs(180);

/// What the layer does when the store fails to write a request's messages.
///
/// A handler that wants to react itself calls [`Flash::save`](crate::Flash::save) and gets
/// the error; this policy covers the writes left to the end of the request.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum OnStoreError {
    /// Log the error (`tracing` at error level) and send the handler's response as it is.
    #[default]
    Log,
    /// Log the error and answer `500 Internal Server Error` with an empty body instead.
    Fail,
}

/// Everything a request's [`Flash`](crate::Flash) needs, shared by all requests.
#[derive(Clone)]
pub(crate) struct Config {
    pub(crate) store: Arc<dyn DynStore>,
    /// The most time the store may add to one request ([`Store::deadline`]).
    pub(crate) budget: Option<Duration>,
    pub(crate) cookie: CookieCodec,
    pub(crate) ttl: Duration,
    pub(crate) max_messages: usize,
    pub(crate) max_message_bytes: usize,
    pub(crate) min_level: Option<Level>,
    pub(crate) on_store_error: OnStoreError,
    pub(crate) identify: Option<Arc<Identify>>,
    /// Clients without an `identify` id are keyed through their tower-sessions session.
    #[cfg(feature = "tower-sessions")]
    pub(crate) by_session: bool,
    /// Delivery confirmation, with its lease timeout.
    pub(crate) lease_timeout: Option<Duration>,
    /// Redirect scoping, with its fallback time.
    pub(crate) scope_fallback: Option<Duration>,
    /// Delivery to htmx requests in `HX-Trigger`.
    pub(crate) htmx: Option<HtmxDelivery>,
    /// Where store calls, lease deadlines and scope fallbacks get the time.
    pub(crate) clock: SharedClock,
}

impl Config {
    /// The admission of pushed messages, the same for a request's pushes and a
    /// [`FlashSender`](crate::FlashSender)'s: every message passes [`Config::check`] (one
    /// that fails refuses the whole batch), then those below the minimum level are dropped
    /// silently. Returns the messages to queue.
    pub(crate) fn admit(
        &self,
        messages: impl IntoIterator<Item = Message>,
    ) -> Result<Vec<Message>, Error> {
        let mut admitted = Vec::new();
        for message in messages {
            self.check(&message)?;
            if self.passes_min_level(message.kind()) {
                admitted.push(message);
            }
        }
        Ok(admitted)
    }

    /// The per-message limits: a non-empty text, text plus data within the size limit, and,
    /// with htmx delivery, a message that fits the `HX-Trigger` header alone.
    fn check(&self, message: &Message) -> Result<(), Error> {
        if message.text().is_empty() {
            return Err(Error::EmptyText);
        }
        let size = message.size();
        if size > self.max_message_bytes {
            return Err(Error::TooLarge {
                size,
                max: self.max_message_bytes,
            });
        }
        let depth = message.data_depth();
        if depth > MAX_DATA_DEPTH {
            return Err(Error::TooDeep {
                depth,
                max: MAX_DATA_DEPTH,
            });
        }
        if let Some(htmx) = &self.htmx {
            // Any message could go out in a header: one that never fits would wait for a
            // full-page read however many htmx requests come.
            let size = htmx.alone_bytes(message);
            if size > htmx.max_header_bytes {
                return Err(Error::TooLargeForHtmx {
                    size,
                    max: htmx.max_header_bytes,
                });
            }
        }
        Ok(())
    }

    /// Whether a message of `kind` is kept by the minimum level (free kinds always are).
    fn passes_min_level(&self, kind: &Kind) -> bool {
        match (kind.level(), self.min_level) {
            (Some(level), Some(min)) => level >= min,
            _ => true,
        }
    }

    /// Whether clients are keyed through their session.
    pub(crate) fn by_session(&self) -> bool {
        #[cfg(feature = "tower-sessions")]
        return self.by_session;
        #[cfg(not(feature = "tower-sessions"))]
        false
    }

    /// The time now, by the layer's clock: ms since the Unix epoch.
    pub(crate) fn now(&self) -> u64 {
        self.clock.now_millis()
    }

    pub(crate) fn push_options(&self) -> PushOptions {
        PushOptions {
            ttl: self.ttl,
            max_messages: self.max_messages,
        }
    }
}
