//! [`FlashLayer`]: the builder of the flash middleware's configuration (which lives in
//! `config`, shared by every request's `Flash` and by `FlashSender`).

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use cookie::Key;
use http::request::Parts;
use tower_layer::Layer;

use crate::clock::{Clock, SystemClock};
use crate::config::{
    Config, DEFAULT_LEASE_TIMEOUT, DEFAULT_MAX_MESSAGE_BYTES, DEFAULT_MAX_MESSAGES,
    DEFAULT_SCOPE_FALLBACK, DEFAULT_TTL, OnStoreError,
};
use crate::htmx::HtmxDelivery;
use crate::id::{ClientId, CookieCodec};
use crate::message::Level;
use crate::sender::FlashSender;
use crate::service::FlashService;
use crate::store::{MAX_TTL, Store};

/// The flash middleware: gives every request a [`Flash`](crate::Flash) and writes its
/// messages before the response leaves.
///
/// See the [crate docs](crate) for an example and the guarantees.
///
/// ```
/// use std::time::Duration;
/// use tower_flash::{FlashLayer, Key, Level, MemoryStore, OnStoreError};
///
/// # let secret = [7u8; 64];
/// # let previous_secret = [8u8; 64];
/// let layer = FlashLayer::new(MemoryStore::new(), Key::from(&secret))
///     .with_old_key(Key::from(&previous_secret)) // cookies signed before a key rotation
///     .ttl(Duration::from_secs(3600))
///     .min_level(Level::Info)
///     .max_messages(20)
///     .secure(cfg!(not(debug_assertions))) // plain http in development only
///     .on_store_error(OnStoreError::Log);
/// # let _ = layer;
/// ```
#[derive(Clone)]
pub struct FlashLayer {
    config: Arc<Config>,
}

impl FlashLayer {
    /// A layer keeping messages in `store`, signing its cookie with `key`.
    ///
    /// Every instance of an app that shares a store must use the same key. Make one from a
    /// secret of at least 64 bytes with [`Key::from`] or [`Key::try_from`], or from 32 bytes
    /// with `Key::derive_from`; [`Key::generate`] gives a random key for a single process
    /// whose cookies die with it.
    pub fn new(store: impl Store, key: Key) -> Self {
        let budget = store.deadline();
        FlashLayer {
            config: Arc::new(Config {
                store: Arc::new(store),
                budget,
                cookie: CookieCodec::new(&key),
                ttl: DEFAULT_TTL,
                max_messages: DEFAULT_MAX_MESSAGES,
                max_message_bytes: DEFAULT_MAX_MESSAGE_BYTES,
                min_level: None,
                on_store_error: OnStoreError::Log,
                identify: None,
                #[cfg(feature = "tower-sessions")]
                by_session: false,
                lease_timeout: None,
                scope_fallback: None,
                htmx: None,
                clock: Arc::new(SystemClock),
            }),
        }
    }

    pub(crate) fn config(&self) -> &Arc<Config> {
        &self.config
    }

    fn config_mut(&mut self) -> &mut Config {
        Arc::make_mut(&mut self.config)
    }

    /// Also accepts cookies signed with `key` (a previous key, after a rotation). New cookies
    /// are signed with the key given to [`FlashLayer::new`]. Can be called several times.
    #[must_use]
    pub fn with_old_key(mut self, key: Key) -> Self {
        self.config_mut().cookie.add_old_key(&key);
        self
    }

    /// How long unread messages live after their client's last write, and the cookie's
    /// `Max-Age` (default [`DEFAULT_TTL`], one day). Clamped to between 1 ms and
    /// [`MAX_TTL`](crate::store::MAX_TTL) (400 days, the longest browsers keep a cookie);
    /// the cookie's `Max-Age` is rounded up to whole seconds, at least 1.
    #[must_use]
    pub fn ttl(mut self, ttl: Duration) -> Self {
        self.config_mut().ttl = clamp(ttl);
        self
    }

    /// The most messages kept for one client (default [`DEFAULT_MAX_MESSAGES`]). A request
    /// queueing more gets [`Error::TooManyMessages`](crate::Error::TooManyMessages); when
    /// writes from several requests add up to more, the store drops the oldest and logs it.
    #[must_use]
    pub fn max_messages(mut self, max: usize) -> Self {
        self.config_mut().max_messages = max.max(1);
        self
    }

    /// The largest message, text plus JSON data, in bytes (default
    /// [`DEFAULT_MAX_MESSAGE_BYTES`]); larger ones get
    /// [`Error::TooLarge`](crate::Error::TooLarge).
    #[must_use]
    pub fn max_message_bytes(mut self, max: usize) -> Self {
        self.config_mut().max_message_bytes = max;
        self
    }

    /// Drops messages of a lower [`Level`] at push time (Django's `MESSAGE_LEVEL`). Free
    /// kinds such as `"notice"` have no level and are never dropped.
    #[must_use]
    pub fn min_level(mut self, level: Level) -> Self {
        self.config_mut().min_level = Some(level);
        self
    }

    /// The cookie's name (default `flash`).
    ///
    /// # Panics
    ///
    /// When `name` is empty or not an HTTP token (letters, digits and ``!#$%&'*+-.^_`|~``):
    /// a configuration mistake, caught at start-up.
    #[must_use]
    pub fn cookie_name(mut self, name: impl Into<String>) -> Self {
        let name = name.into();
        assert!(
            !name.is_empty()
                && name
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)),
            "tower-flash: invalid cookie name {name:?}"
        );
        self.config_mut().cookie.name = name;
        self
    }

    /// Whether the cookie is marked `Secure` (default `true`). Turn it off only for plain
    /// `http://` development servers: browsers do not send `Secure` cookies over plain http
    /// (except to `localhost`).
    #[must_use]
    pub fn secure(mut self, secure: bool) -> Self {
        self.config_mut().cookie.secure = secure;
        self
    }

    /// The cookie's `Domain` attribute (default none: the exact host that set it).
    ///
    /// # Panics
    ///
    /// When `domain` is empty or has a character other than ASCII letters, digits, `.` and
    /// `-`: a configuration mistake, caught at start-up.
    #[must_use]
    pub fn cookie_domain(mut self, domain: impl Into<String>) -> Self {
        let domain = domain.into();
        assert!(
            !domain.is_empty()
                && domain
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-'),
            "tower-flash: invalid cookie domain {domain:?}"
        );
        self.config_mut().cookie.domain = Some(domain);
        self
    }

    /// Identifies clients by something other than the flash cookie: `identify` sees the
    /// request's head (URI, headers, extensions set by earlier layers) and returns the id to
    /// use, or `None` to fall back to the flash cookie.
    ///
    /// Keyed by an authenticated user's id, messages follow the user across browsers and
    /// devices, and a background job can push to the user with [`FlashLayer::sender`]. Such
    /// requests never get a flash cookie. Prefix the ids (`user:42`) so that they cannot meet
    /// another source's. When the user logs out, the next requests fall back to the cookie,
    /// so the next person on that browser does not see the user's messages; within the
    /// sign-in or sign-out request itself, [`Flash::rebind`](crate::Flash::rebind) switches.
    ///
    /// ```
    /// use tower_flash::{ClientId, FlashLayer, Key, MemoryStore};
    ///
    /// /// Put in the request extensions by your authentication layer.
    /// #[derive(Clone)]
    /// struct UserId(u64);
    ///
    /// let layer = FlashLayer::new(MemoryStore::new(), Key::generate()).identify(|req| {
    ///     let user = req.extensions.get::<UserId>()?;
    ///     ClientId::new(&format!("user:{}", user.0)).ok()
    /// });
    /// # let _ = layer;
    /// ```
    ///
    /// Note that the layer must run after (inside) the layer that authenticates.
    #[must_use]
    pub fn identify<F>(mut self, identify: F) -> Self
    where
        F: Fn(&Parts) -> Option<ClientId> + Send + Sync + 'static,
    {
        self.config_mut().identify = Some(Arc::new(identify));
        self
    }

    /// Keys clients through their [tower-sessions](https://docs.rs/tower-sessions) session
    /// instead of the flash cookie (feature `tower-sessions`): the client's flash id is kept
    /// in the session's data under [`SESSION_KEY`](crate::SESSION_KEY), created by the first
    /// write, and no flash cookie is ever set.
    ///
    /// - **Login**: the id lives in the session's data, not in the session id, so it survives
    ///   `Session::cycle_id` (the id rotation that prevents session fixation): "Please sign
    ///   in" pushed before the login is shown after it.
    /// - **Logout**: `Session::flush` drops the id with the rest of the data; the next person
    ///   on that browser gets a new, empty queue. Call [`Flash::clear`](crate::Flash::clear)
    ///   before the flush to delete the old messages at once rather than let them expire.
    ///   The handle reads the session again before every store call, so a message pushed
    ///   after the flush ("Signed out") goes to the new queue.
    /// - A request whose session has no flash id (a new visitor) never calls the store.
    /// - An [`identify`](FlashLayer::identify) id, such as a signed-in user's, still wins;
    ///   requests it returns `None` for use the session.
    ///
    /// `SessionManagerLayer` must run before (outside) this layer; without it, takes and
    /// writes fail with [`Error::NoSession`](crate::Error::NoSession). Session failures are
    /// [`Error::Session`](crate::Error::Session).
    ///
    /// ```
    /// use axum::{Router, routing::get};
    /// use tower_flash::{Flash, FlashLayer, Key, MemoryStore};
    /// use tower_sessions::{MemoryStore as SessionStore, SessionManagerLayer};
    ///
    /// async fn index(flash: Flash) -> String {
    ///     flash.take_all().await.into_iter().map(|m| m.into_text()).collect()
    /// }
    ///
    /// let app: Router = Router::new()
    ///     .route("/", get(index))
    ///     // Layers run bottom-up: the session layer, added last, runs first.
    ///     .layer(FlashLayer::new(MemoryStore::new(), Key::generate()).identify_by_session())
    ///     .layer(SessionManagerLayer::new(SessionStore::default()));
    /// ```
    #[cfg(feature = "tower-sessions")]
    #[must_use]
    pub fn identify_by_session(mut self) -> Self {
        self.config_mut().by_session = true;
        self
    }

    /// A handle to push messages from outside any request (a background job: "your export
    /// is ready"), with this layer's store, TTL and limits.
    ///
    /// ```
    /// use tower_flash::{ClientId, FlashLayer, Key, Level, MemoryStore, Message};
    ///
    /// # async fn run() -> Result<(), tower_flash::Error> {
    /// let layer = FlashLayer::new(MemoryStore::new(), Key::generate());
    /// let sender = layer.sender();
    /// tokio::spawn(async move {
    ///     // … the export finishes …
    ///     let user = ClientId::new("user:42").expect("valid id");
    ///     let ready = Message::new(Level::Success, "Your export is ready");
    ///     if let Err(error) = sender.send(&user, ready).await {
    ///         eprintln!("could not tell the user: {error}");
    ///     }
    /// });
    /// # Ok(()) }
    /// ```
    pub fn sender(&self) -> FlashSender {
        FlashSender::new(self.config.clone())
    }

    /// Delivery confirmation: messages taken by a request are gone only once its response
    /// succeeded (status below 500 and the body sent to its end). After a 5xx, a panic, a
    /// body that fails or a client that disconnects mid-body, they go back to the front of the
    /// client's queue, in order. If the process dies in between, they come back after
    /// [`lease_timeout`](FlashLayer::lease_timeout) (default [`DEFAULT_LEASE_TIMEOUT`]).
    ///
    /// Costs one more store call per response that took messages (the confirmation). See
    /// the crate's "Delivery guarantees" table.
    ///
    /// # Panics
    ///
    /// When the store has no leases ([`Store::leases`](crate::store::Store::leases) returns
    /// `None`; both stores of this crate have them): a configuration mistake, caught at
    /// start-up rather than on the first request.
    ///
    /// ```
    /// use tower_flash::{FlashLayer, Key, MemoryStore};
    ///
    /// let layer = FlashLayer::new(MemoryStore::new(), Key::generate()).confirm_delivery();
    /// # let _ = layer;
    /// ```
    #[must_use]
    pub fn confirm_delivery(mut self) -> Self {
        self.needs(
            self.config.store.has_leases(),
            "confirm_delivery",
            "LeaseStore",
        );
        let config = self.config_mut();
        config.lease_timeout = Some(config.lease_timeout.unwrap_or(DEFAULT_LEASE_TIMEOUT));
        self
    }

    /// Turns on [delivery confirmation](FlashLayer::confirm_delivery) with this lease
    /// timeout. Keep it above your slowest response: a lease that ends before its response
    /// does gives its messages back, and they may be shown twice.
    ///
    /// Clamped to between 1 ms and [`MAX_TTL`](crate::store::MAX_TTL). Leased messages of
    /// a process that died come back after the timeout, and then live a full
    /// [`ttl`](FlashLayer::ttl) whatever the two durations are.
    ///
    /// # Panics
    ///
    /// As [`confirm_delivery`](FlashLayer::confirm_delivery), on a store without leases.
    #[must_use]
    pub fn lease_timeout(mut self, timeout: Duration) -> Self {
        self.needs(
            self.config.store.has_leases(),
            "lease_timeout",
            "LeaseStore",
        );
        self.config_mut().lease_timeout = Some(clamp(timeout));
        self
    }

    /// Redirect-scoped messages: what a request pushes before answering with a redirect to
    /// this site is bound to the redirect's path (and the query parameters named in it).
    /// Only a request to that path takes them: another tab, an XHR poll or an asset request
    /// neither sees nor consumes them. A request to the bound path that redirects again
    /// without reading them carries them on to its own target. Messages nobody collects fall
    /// back to any path after [`scope_fallback`](FlashLayer::scope_fallback) (default
    /// [`DEFAULT_SCOPE_FALLBACK`]) rather than being lost.
    ///
    /// The `Location` is resolved as browsers resolve it (the WHATWG URL standard, with the
    /// `url` crate) against the request's URL: its scheme (`http` when the request URI has
    /// none), its `Host` (else the URI's authority) and its path and query. So `?tab=2`,
    /// `./done`, `../done`, `#top` and an empty `Location` bind to where the browser goes.
    /// Only a target of the same origin (scheme, host and port) scopes: `//other.host/x`,
    /// `/\other.host/`, `mailto:…` and, from a plain-http request, `https://this.host/…`
    /// do not. Behind a proxy that ends TLS, redirect with paths rather than absolute
    /// `https://` URLs, or the messages are not scoped (they are delivered to the next
    /// reading request, as without scoping).
    ///
    /// **Nested routers**: put the `FlashLayer` on the outermost router. Inside
    /// `Router::nest("/admin", inner.layer(…))` it sees the path with `/admin` cut off
    /// (axum keeps the full one in its own `OriginalUri` type, which this crate cannot
    /// read without depending on `axum`), so messages bound to `/admin/done` would never
    /// match a request it sees as `/done`.
    ///
    /// Pushes written early with [`Flash::save`](crate::Flash::save) are not scoped (the
    /// response is not known yet).
    ///
    /// # Panics
    ///
    /// When the store cannot carry messages on along redirects
    /// ([`Store::scopes`](crate::store::Store::scopes) returns `None`; both stores of this
    /// crate can): a configuration mistake, caught at start-up.
    ///
    /// ```
    /// use tower_flash::{FlashLayer, Key, MemoryStore};
    ///
    /// let layer = FlashLayer::new(MemoryStore::new(), Key::generate()).scope_to_redirects();
    /// # let _ = layer;
    /// ```
    #[must_use]
    pub fn scope_to_redirects(mut self) -> Self {
        self.needs(
            self.config.store.has_scopes(),
            "scope_to_redirects",
            "ScopeStore",
        );
        let config = self.config_mut();
        config.scope_fallback = Some(config.scope_fallback.unwrap_or(DEFAULT_SCOPE_FALLBACK));
        self
    }

    /// Turns on [redirect scoping](FlashLayer::scope_to_redirects) with this fallback time,
    /// clamped to between 1 ms and [`MAX_TTL`](crate::store::MAX_TTL).
    ///
    /// # Panics
    ///
    /// As [`scope_to_redirects`](FlashLayer::scope_to_redirects), on a store without
    /// scopes.
    #[must_use]
    pub fn scope_fallback(mut self, fallback: Duration) -> Self {
        self.needs(
            self.config.store.has_scopes(),
            "scope_fallback",
            "ScopeStore",
        );
        self.config_mut().scope_fallback = Some(clamp(fallback));
        self
    }

    /// Delivers pending messages to htmx requests (`HX-Request: true`) in the response's
    /// `HX-Trigger` header, as the event `flash` (configurable) whose value is the list of
    /// messages, when the handler did not read them itself. It is a take like any other
    /// (atomic, confirmed or scoped when those are on), and it includes what the request
    /// itself pushed: an `hx-post` that saves and flashes "Saved" shows it at once. Every
    /// `HX-Trigger` the handler set (JSON objects or event names) is merged into the one
    /// header sent. The header is ASCII: characters above `~` are JSON `\uXXXX` escapes,
    /// which `JSON.parse` turns back into the text. The header stays within
    /// [`HtmxDelivery::max_header_bytes`]: what does not fit stays queued, never dropped.
    /// Redirects and 5xx responses deliver nothing, and so do responses with which htmx
    /// leaves the page (`HX-Redirect`, `HX-Location`, `HX-Refresh: true`): the messages stay
    /// queued for the page that follows.
    ///
    /// ```
    /// use tower_flash::{FlashLayer, HtmxDelivery, Key, MemoryStore};
    ///
    /// let layer = FlashLayer::new(MemoryStore::new(), Key::generate())
    ///     .deliver_to_htmx(HtmxDelivery::default());
    /// # let _ = layer;
    /// ```
    ///
    /// On the page, show them as toasts (htmx wraps a non-object value as `detail.value`):
    ///
    /// ```text
    /// <script>
    ///   document.body.addEventListener("flash", (event) => {
    ///     for (const message of event.detail.value) {
    ///       const toast = document.createElement("div");
    ///       toast.className = "toast " + message.kind;
    ///       toast.textContent = message.text;      // text, never innerHTML
    ///       document.body.append(toast);
    ///       setTimeout(() => toast.remove(), 4000);
    ///     }
    ///   });
    /// </script>
    /// ```
    #[must_use]
    pub fn deliver_to_htmx(mut self, delivery: HtmxDelivery) -> Self {
        self.config_mut().htmx = Some(delivery);
        self
    }

    /// Where the layer reads the time it gives the store, lease deadlines and scope
    /// fallbacks (default [`SystemClock`]): tests pass a [`Clock`] they drive, so that TTLs
    /// and timeouts pass without sleeping.
    #[must_use]
    pub fn clock(mut self, clock: impl Clock) -> Self {
        self.config_mut().clock = Arc::new(clock);
        self
    }

    /// What to do when writing a request's messages fails (default [`OnStoreError::Log`]).
    #[must_use]
    pub fn on_store_error(mut self, policy: OnStoreError) -> Self {
        self.config_mut().on_store_error = policy;
        self
    }
}

impl FlashLayer {
    /// Refuses an option the store cannot carry out.
    #[track_caller]
    fn needs(&self, has: bool, option: &str, capability: &str) {
        assert!(
            has,
            "tower-flash: FlashLayer::{option} needs a store that implements {capability} \
             and returns Some(self) from Store::{}",
            capability.trim_end_matches("Store").to_lowercase() + "s"
        );
    }
}

/// A configured duration within what every store and cookie can represent.
fn clamp(duration: Duration) -> Duration {
    duration.clamp(Duration::from_millis(1), MAX_TTL)
}

impl<S> Layer<S> for FlashLayer {
    type Service = FlashService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        FlashService::new(inner, self.config.clone())
    }
}

impl fmt::Debug for FlashLayer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let c = &self.config;
        f.debug_struct("FlashLayer")
            .field("cookie", &c.cookie)
            .field("ttl", &c.ttl)
            .field("max_messages", &c.max_messages)
            .field("max_message_bytes", &c.max_message_bytes)
            .field("min_level", &c.min_level)
            .field("on_store_error", &c.on_store_error)
            .field("identify", &c.identify.is_some())
            .field("by_session", &c.by_session())
            .field("lease_timeout", &c.lease_timeout)
            .field("scope_fallback", &c.scope_fallback)
            .finish_non_exhaustive()
    }
}
