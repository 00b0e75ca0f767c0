//! [`Flash`]: the per-request handle a handler pushes and takes messages through.

use std::fmt;
use std::future::Future;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use http::{HeaderValue, StatusCode};

use crate::config::Config;
use crate::error::{Error, StoreError};
use crate::htmx::{HX_LOCATION, HX_REDIRECT, HX_REFRESH, HX_TRIGGER};
use crate::id::{ClientId, CookieHeaders};
use crate::message::{Kind, Level, Message, MessageId, Messages, Scope, millis, now_millis};
use crate::store::{Lease, LeaseId, OwnedTake, Take, Target, parse_query};
use crate::telemetry;

/// The request's flash messages.
///
/// [`FlashLayer`](crate::FlashLayer) puts one `Flash` in every request's extensions; with
/// the `axum` feature it is also an extractor. Clones share the same request state.
///
/// - **Pushes** ([`push`](Flash::push), [`info`](Flash::info)…) are checked against the
///   limits, buffered, and written in one store call before the response leaves, so the
///   browser's next request (after a redirect, say) always sees them.
/// - **Takes** ([`take`](Flash::take), [`take_all`](Flash::take_all)) remove messages
///   atomically in the store: a message is handed to one request only. They also see what
///   this request pushed and has not written yet.
/// - A request without a valid flash cookie never calls the store; a response that wrote
///   nothing sets no cookie.
/// - In a prefetch or prerender request (`Sec-Purpose: prefetch`…), takes return the same
///   messages but consume nothing: the real navigation gets them.
///
/// ```
/// use axum::{Router, routing::{get, post}, response::Redirect, Json};
/// use tower_flash::{Flash, FlashLayer, Key, MemoryStore};
///
/// async fn save(flash: Flash) -> Result<Redirect, tower_flash::Error> {
///     flash.success("Saved!")?;
///     Ok(Redirect::to("/"))
/// }
///
/// async fn show(flash: Flash) -> Json<Vec<String>> {
///     let messages = flash.take_all().await;
///     Json(messages.into_iter().map(|m| m.into_text()).collect())
/// }
///
/// let app: Router = Router::new()
///     .route("/", get(show))
///     .route("/save", post(save))
///     .layer(FlashLayer::new(MemoryStore::new(), Key::generate()));
/// ```
#[derive(Clone)]
pub struct Flash {
    shared: Arc<Shared>,
}

struct Shared {
    config: Arc<Config>,
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    identity: Identity,
    /// Keyed by session: the session's identity, which [`Flash::rebind`]`(None)` goes back
    /// to (without sessions it goes to a fresh cookie).
    #[cfg(feature = "tower-sessions")]
    session: Option<Identity>,
    /// Messages of this request not written to the store: pushed (stored at the end) or
    /// `now` (never stored), in push order.
    local: Vec<Local>,
    /// Messages this request took (from the store or from `local` pushes), for `keep`.
    taken: Vec<Message>,
    /// Messages to put back at the front of the queue at the end of the request.
    kept: Vec<Message>,
    /// Whether a store write succeeded: the response then (re)sets the cookie.
    wrote: bool,
    closed: bool,
    /// Redirect scoping: the request's path and query, and its URL to resolve `Location`s
    /// against.
    target: Option<Target>,
    base: Option<RequestUrl>,
    /// Delivery confirmation: the lease this request's takes go to (made by the first take)
    /// and whether it holds messages not yet confirmed or given back.
    lease: Option<Lease>,
    lease_open: bool,
    /// The client whose messages the lease holds.
    lease_client: Option<ClientId>,
    /// The ids of the messages in the lease.
    leased: Vec<MessageId>,
    /// An htmx request (`HX-Request: true`) on a layer that delivers to htmx.
    htmx: bool,
    /// Whether the handler took or peeked: then htmx delivery leaves the messages to it.
    read: bool,
    /// Whether the response shows messages (a take or peek returned some, or they went out
    /// in `HX-Trigger`): it must not be cached.
    delivered: bool,
    /// Time this request has spent waiting for the store, against its budget.
    spent: Duration,
    /// A prefetch or prerender: the user may never see the page, so takes only peek.
    prefetch: bool,
}

impl State {
    /// A fresh anonymous client: a new cookie, or the session when keyed by session.
    fn anonymous(&self) -> Identity {
        #[cfg(feature = "tower-sessions")]
        if let Some(session) = &self.session {
            return session.clone();
        }
        Identity::Cookie(None)
    }

    /// Whether this response delivers pending messages to htmx: an htmx request whose
    /// handler read nothing, answered neither with a redirect nor with a 5xx, nor with a
    /// header that makes htmx leave the page (the page that follows reads them). Before
    /// [`ResponseHead::headers`] only the status is known: `true` then means "may deliver".
    fn delivers_to_htmx(&self, head: &ResponseHead) -> bool {
        self.htmx
            && !self.prefetch
            && !self.read
            && !head.status.is_redirection()
            && !head.status.is_server_error()
            && !head.htmx_navigates
    }
}

/// What the service needs to know of the response to finish the request.
pub(crate) struct ResponseHead {
    pub(crate) status: StatusCode,
    pub(crate) location: Option<HeaderValue>,
    /// The server sends no body byte (a `HEAD` request, a 204 or a 304, an empty body or a
    /// `Content-Length: 0`): it drops such bodies unpolled, so delivery is confirmed with
    /// the head.
    pub(crate) bodiless: bool,
    /// The handler's own `HX-Trigger`s, merged into the one that delivers to htmx.
    pub(crate) hx_trigger: Vec<HeaderValue>,
    /// The response makes htmx replace the page (`HX-Redirect`, `HX-Location`,
    /// `HX-Refresh: true`): messages in its `HX-Trigger` would never be seen.
    pub(crate) htmx_navigates: bool,
}

/// What finishing a request produced: headers to set, and the first store error.
pub(crate) struct Finished {
    pub(crate) set_cookie: Option<HeaderValue>,
    pub(crate) hx_trigger: Option<HeaderValue>,
    pub(crate) result: Result<(), Error>,
}

impl ResponseHead {
    /// The head of a response with `status` to a `method` request. Its `Location` and
    /// `HX-Trigger` are looked up only for a request that has something to finish
    /// ([`ResponseHead::headers`]).
    pub(crate) fn new(
        method: &http::Method,
        status: StatusCode,
        sends_no_body: impl FnOnce() -> bool,
    ) -> Self {
        let bodiless = method == http::Method::HEAD
            || status.is_informational()
            || status == StatusCode::NO_CONTENT
            || status == StatusCode::NOT_MODIFIED
            || sends_no_body();
        ResponseHead {
            status,
            location: None,
            bodiless,
            hx_trigger: Vec::new(),
            htmx_navigates: false,
        }
    }

    /// Adds the response headers that finishing reads.
    pub(crate) fn headers(mut self, headers: &http::HeaderMap) -> Self {
        self.location = headers.get(http::header::LOCATION).cloned();
        self.hx_trigger = headers.get_all(HX_TRIGGER).iter().cloned().collect();
        self.htmx_navigates = headers.contains_key(HX_REDIRECT)
            || headers.contains_key(HX_LOCATION)
            || headers
                .get_all(HX_REFRESH)
                .iter()
                .any(|v| v.as_bytes().trim_ascii() == b"true");
        self
    }
}

struct Local {
    message: Message,
    now: bool,
}

/// How the request's client is known.
#[derive(Clone, Default)]
enum Identity {
    /// The request's `Cookie` headers, parsed on first need.
    Unresolved(CookieHeaders),
    /// The verified id of the flash cookie, if the request had one (or got one by a write).
    Cookie(Option<ClientId>),
    /// An id from [`FlashLayer::identify`](crate::FlashLayer::identify): no cookie involved.
    Given(ClientId),
    /// The id in the request's session, as last read ([`Flash::refresh`]).
    #[cfg(feature = "tower-sessions")]
    Session {
        session: tower_sessions_core::Session,
        id: Option<ClientId>,
    },
    /// Keyed by session, but the request has none: a wiring mistake, reported by every
    /// operation that needs the id.
    #[cfg(feature = "tower-sessions")]
    NoSession,
    /// No cookie header could hold our cookie.
    #[default]
    Absent,
}

#[cfg(feature = "tower-sessions")]
impl Identity {
    /// The identity of a request keyed by its tower-sessions session.
    fn session(extensions: &http::Extensions) -> Self {
        match extensions.get::<tower_sessions_core::Session>() {
            Some(session) => Identity::Session {
                session: session.clone(),
                id: None,
            },
            None => Identity::NoSession,
        }
    }
}

impl Flash {
    pub(crate) fn new(
        config: Arc<Config>,
        given: Option<ClientId>,
        cookies: Option<CookieHeaders>,
        extensions: &http::Extensions,
        scoping: Option<(Target, RequestUrl)>,
        htmx: bool,
        prefetch: bool,
    ) -> Self {
        let (target, base) = scoping.map_or((None, None), |(t, b)| (Some(t), Some(b)));
        #[cfg(feature = "tower-sessions")]
        let session = config.by_session().then(|| Identity::session(extensions));
        #[cfg(not(feature = "tower-sessions"))]
        let _ = extensions;
        let from_cookies = || cookies.map_or(Identity::Absent, Identity::Unresolved);
        let identity = match given {
            Some(id) => Identity::Given(id),
            #[cfg(feature = "tower-sessions")]
            None => session.clone().unwrap_or_else(from_cookies),
            #[cfg(not(feature = "tower-sessions"))]
            None => from_cookies(),
        };
        Flash {
            shared: Arc::new(Shared {
                config,
                state: Mutex::new(State {
                    identity,
                    #[cfg(feature = "tower-sessions")]
                    session,
                    target,
                    base,
                    htmx,
                    prefetch,
                    ..State::default()
                }),
            }),
        }
    }

    fn state(&self) -> MutexGuard<'_, State> {
        // Nothing panics while the state is locked; a poisoned lock still holds valid state.
        self.shared
            .state
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    fn config(&self) -> &Config {
        &self.shared.config
    }

    /// The verified client id of this request, if it had a valid flash cookie or has been
    /// given one by a write. Keyed [by session](crate::FlashLayer::identify_by_session), the
    /// id in the session as of this request's last take, peek or write.
    pub fn client_id(&self) -> Option<ClientId> {
        let mut state = self.state();
        self.resolve(&mut state).cloned()
    }

    fn resolve<'s>(&self, state: &'s mut State) -> Option<&'s ClientId> {
        if let Identity::Unresolved(headers) = &state.identity {
            let id = self.config().cookie.read(headers.iter());
            state.identity = Identity::Cookie(id);
        }
        match &state.identity {
            Identity::Cookie(id) => id.as_ref(),
            Identity::Given(id) => Some(id),
            #[cfg(feature = "tower-sessions")]
            Identity::Session { id, .. } => id.as_ref(),
            #[cfg(feature = "tower-sessions")]
            Identity::NoSession => None,
            Identity::Unresolved(_) | Identity::Absent => None,
        }
    }

    /// Whether the client may have messages in the store: it has an id, or a session that
    /// may hold one (not read yet).
    fn may_have_id(&self, state: &mut State) -> bool {
        #[cfg(feature = "tower-sessions")]
        if let Identity::Session { session, id: None } = &state.identity {
            return session.id().is_some();
        }
        self.resolve(state).is_some()
    }

    /// Reads the request's session again before a store call (a handler may have flushed
    /// it since), and with `bind` gives it a flash id if it has none. Other identities need
    /// nothing.
    #[cfg(feature = "tower-sessions")]
    async fn refresh(&self, bind: bool) -> Result<(), Error> {
        let session = match &self.state().identity {
            Identity::Session { session, .. } => session.clone(),
            Identity::NoSession => return Err(Error::NoSession),
            _ => return Ok(()),
        };
        let fresh = if bind {
            Some(crate::session::bind(&session).await?)
        } else {
            crate::session::read(&session).await?
        };
        if let Identity::Session { id, .. } = &mut self.state().identity {
            *id = fresh;
        }
        Ok(())
    }

    #[cfg(not(feature = "tower-sessions"))]
    async fn refresh(&self, _bind: bool) -> Result<(), Error> {
        Ok(())
    }

    /// The store's budget for this request and what is left of it (`None`: no budget).
    fn budget_left(&self) -> Option<(Duration, Duration)> {
        let budget = self.config().budget?;
        Some((budget, budget.saturating_sub(self.state().spent)))
    }

    /// Runs a store call within what is left of the request's budget. Past it the call is
    /// abandoned: its effect, if the store still carries it out, is unknown to the request.
    async fn bounded<T>(
        &self,
        op: impl Future<Output = Result<T, StoreError>>,
    ) -> Result<T, StoreError> {
        let Some((budget, left)) = self.budget_left() else {
            return op.await;
        };
        if left.is_zero() {
            return Err(StoreError::Timeout(budget));
        }
        let started = Instant::now();
        let result = tokio::time::timeout(left, op).await;
        self.state().spent += started.elapsed();
        result.unwrap_or(Err(StoreError::Timeout(budget)))
    }

    /// Takes from the store within the request's budget. A take still unanswered when the
    /// budget runs out goes on in the background, and whatever it took then is put back at
    /// the front of the queue (or its lease given back): a take whose answer never reached
    /// the request loses nothing.
    async fn take_from_store(
        &self,
        id: &ClientId,
        take: &Take<'_>,
    ) -> Result<Vec<Message>, StoreError> {
        let Some((budget, left)) = self.budget_left() else {
            return self.config().store.take(id, take).await;
        };
        if left.is_zero() {
            return Err(StoreError::Timeout(budget));
        }
        let config = self.shared.config.clone();
        let lease = take.lease.cloned();
        let owned = OwnedTake {
            kind: take.kind.cloned(),
            target: take.target.cloned(),
            lease: lease.clone(),
            now: take.now,
        };
        let mut op = config.store.clone().take_owned(id.clone(), owned);
        let started = Instant::now();
        let answered = tokio::time::timeout(left, &mut op).await;
        self.state().spent += started.elapsed();
        if let Ok(result) = answered {
            return result;
        }
        {
            // A later take of this request must not add to the lease the background
            // recovery may give back.
            let mut state = self.state();
            if lease.is_some() {
                state.lease = None;
            }
        }
        let id = id.clone();
        spawn(async move {
            let taken = match op.await {
                Ok(taken) if !taken.is_empty() => taken,
                Ok(_) => return,
                Err(error) => {
                    tracing::warn!(%error, "flash: a take abandoned by its request failed");
                    return;
                }
            };
            let options = config.push_options();
            let put_back = match &lease {
                Some(lease) => config
                    .store
                    .give_back(&id, &lease.id, None, &options)
                    .await
                    .map(|_| ()),
                None => config
                    .store
                    .restore(&id, &taken, &options)
                    .await
                    .map(|_| ()),
            };
            match put_back {
                Ok(()) => tracing::warn!(
                    count = taken.len(),
                    "flash: a take answered after its request stopped waiting; its messages are back in the queue"
                ),
                Err(error) => tracing::error!(
                    %error,
                    count = taken.len(),
                    "flash: could not put back the messages of a take its request stopped waiting for"
                ),
            }
        });
        Err(StoreError::Timeout(budget))
    }

    /// The client's id for a store call: the session read again first, when keyed by one.
    async fn current_id(&self) -> Result<Option<ClientId>, Error> {
        self.refresh(false).await?;
        Ok(self.resolve(&mut self.state()).cloned())
    }

    // ----- writing -----

    /// Queues a message of `kind` (one of the levels or a free kind such as `"notice"`),
    /// and returns how many messages of that kind this request has queued.
    ///
    /// Like connect-flash's `req.flash('info', 'Saved')`. A message below the layer's
    /// [`min_level`](crate::FlashLayer::min_level) is dropped here (the count does not
    /// grow). An invalid kind, an empty or too large text, or one message too many is an
    /// error, and nothing is queued.
    ///
    /// ```
    /// # use tower_flash::Flash;
    /// async fn handler(flash: Flash) -> Result<(), tower_flash::Error> {
    ///     assert_eq!(flash.push("notice", "one")?, 1);
    ///     assert_eq!(flash.push("notice", "two")?, 2);
    ///     assert!(flash.push("bad kind", "x").is_err());
    ///     Ok(())
    /// }
    /// ```
    pub fn push(&self, kind: &str, text: impl Into<String>) -> Result<usize, Error> {
        self.push_message(Message::new(Kind::new(kind)?, text))
    }

    /// Queues several messages of one kind at once, in order; all or none.
    ///
    /// Like connect-flash's `req.flash('info', ['a', 'b'])`, except that an empty list is
    /// fine (connect-flash threw).
    ///
    /// ```
    /// # use tower_flash::Flash;
    /// async fn handler(flash: Flash) -> Result<(), tower_flash::Error> {
    ///     assert_eq!(flash.push_all("info", ["a", "b"])?, 2);
    ///     assert_eq!(flash.push_all("info", Vec::<String>::new())?, 2);
    ///     Ok(())
    /// }
    /// ```
    pub fn push_all<I, T>(&self, kind: &str, texts: I) -> Result<usize, Error>
    where
        I: IntoIterator<Item = T>,
        T: Into<String>,
    {
        let kind = Kind::new(kind)?;
        let messages: Vec<Message> = texts
            .into_iter()
            .map(|text| Message::new(kind.clone(), text))
            .collect();
        self.enqueue(messages, false, &kind)
    }

    /// Queues a prepared [`Message`], for example one with structured data.
    ///
    /// ```
    /// # use tower_flash::{Flash, Level, Message};
    /// async fn handler(flash: Flash) -> Result<(), tower_flash::Error> {
    ///     let message = Message::new(Level::Error, "Email is taken")
    ///         .with_data(serde_json::json!({ "field": "email" }));
    ///     flash.push_message(message)?;
    ///     Ok(())
    /// }
    /// ```
    pub fn push_message(&self, message: Message) -> Result<usize, Error> {
        let kind = message.kind().clone();
        self.enqueue(vec![message], false, &kind)
    }

    /// Queues a [`Level::Debug`] message.
    pub fn debug(&self, text: impl Into<String>) -> Result<usize, Error> {
        self.push_message(Message::new(Level::Debug, text))
    }

    /// Queues a [`Level::Info`] message: `flash.info(format!("Hi {name}"))`.
    pub fn info(&self, text: impl Into<String>) -> Result<usize, Error> {
        self.push_message(Message::new(Level::Info, text))
    }

    /// Queues a [`Level::Success`] message.
    pub fn success(&self, text: impl Into<String>) -> Result<usize, Error> {
        self.push_message(Message::new(Level::Success, text))
    }

    /// Queues a [`Level::Warning`] message.
    pub fn warning(&self, text: impl Into<String>) -> Result<usize, Error> {
        self.push_message(Message::new(Level::Warning, text))
    }

    /// Queues a [`Level::Error`] message.
    pub fn error(&self, text: impl Into<String>) -> Result<usize, Error> {
        self.push_message(Message::new(Level::Error, text))
    }

    /// Adds a message for this request only (Rails' `flash.now`): takes and peeks in this
    /// request see it; it is never stored. Returns how many `now` messages of that kind this
    /// request has. The same limits apply as to [`push`](Flash::push), with a budget of
    /// [`max_messages`](crate::FlashLayer::max_messages) of its own.
    ///
    /// ```
    /// # use tower_flash::{Flash, Level, Message};
    /// async fn handler(flash: Flash) -> Result<(), tower_flash::Error> {
    ///     flash.now(Message::new(Level::Warning, "Showing cached results"))?;
    ///     let messages = flash.take_all().await;
    ///     assert_eq!(messages[0].text(), "Showing cached results");
    ///     Ok(())
    /// }
    /// ```
    pub fn now(&self, message: Message) -> Result<usize, Error> {
        let kind = message.kind().clone();
        self.enqueue(vec![message], true, &kind)
    }

    fn enqueue(&self, messages: Vec<Message>, now: bool, kind: &Kind) -> Result<usize, Error> {
        let config = self.config();
        let messages = config.admit(messages)?;
        let mut state = self.state();
        if state.closed && !now {
            return Err(Error::Closed);
        }
        if !messages.is_empty() {
            // `now` messages and stored ones have separate budgets of the same size.
            let queued = state.local.iter().filter(|l| l.now == now).count()
                + if now { 0 } else { state.kept.len() };
            if queued + messages.len() > config.max_messages {
                return Err(Error::TooManyMessages {
                    max: config.max_messages,
                });
            }
            state
                .local
                .extend(messages.into_iter().map(|message| Local { message, now }));
        }
        Ok(state
            .local
            .iter()
            .filter(|l| l.now == now && l.message.kind() == kind)
            .count())
    }

    // ----- reading -----

    /// Removes and returns this client's messages of `kind` (connect-flash's
    /// `req.flash('info')`), leaving the other kinds in place. `[]` when there are none, when
    /// `kind` is not a valid kind, and when the store fails (logged; see
    /// [`try_take`](Flash::try_take) to get the error).
    pub async fn take(&self, kind: &str) -> Messages {
        self.try_take(kind).await.unwrap_or_else(|e| {
            tracing::warn!(error = %e, "flash: take failed, treating as no messages");
            Messages::new()
        })
    }

    /// [`take`](Flash::take), reporting an invalid kind or a store failure.
    pub async fn try_take(&self, kind: &str) -> Result<Messages, Error> {
        let kind = Kind::new(kind)?;
        self.take_inner(Some(&kind)).await
    }

    /// Removes and returns all this client's messages in push order (connect-flash's
    /// `req.flash()`); [`Messages::grouped`] gives the `{"info": [..], "error": [..]}` view.
    /// `[]` when the store fails (logged; see [`try_take_all`](Flash::try_take_all)).
    pub async fn take_all(&self) -> Messages {
        self.try_take_all().await.unwrap_or_else(|e| {
            tracing::warn!(error = %e, "flash: take failed, treating as no messages");
            Messages::new()
        })
    }

    /// [`take_all`](Flash::take_all), reporting a store failure.
    pub async fn try_take_all(&self) -> Result<Messages, Error> {
        self.take_inner(None).await
    }

    async fn take_inner(&self, kind: Option<&Kind>) -> Result<Messages, Error> {
        self.refresh(false).await?;
        let (id, target, lease, prefetch) = {
            let mut state = self.state();
            let id = self.resolve(&mut state).cloned();
            if id.is_some()
                && !state.prefetch
                && state.lease.is_none()
                && let Some(timeout) = self.config().lease_timeout
            {
                state.lease = Some(Lease {
                    id: LeaseId::new(),
                    until: now_millis().saturating_add(millis(timeout)),
                    ttl: self.config().ttl,
                });
            }
            // A request's lease belongs to one client: a take after the client changed
            // (a session flushed in between) consumes without a lease.
            let lease = match &state.lease_client {
                Some(client) if id.as_ref() != Some(client) => None,
                _ => state.lease.clone(),
            };
            (id, state.target.clone(), lease, state.prefetch)
        };
        let mut take = kind.map_or_else(Take::all, Take::kind);
        if let Some(target) = &target {
            take = take.at(target);
        }
        if let Some(lease) = &lease {
            take = take.leased(lease);
        }
        if prefetch {
            return self.prefetch_take(id.as_ref(), &take).await;
        }
        let mut messages = match &id {
            Some(id) => self.take_from_store(id, &take).await?,
            None => Vec::new(),
        };
        let mut state = self.state();
        state.read = true;
        if lease.is_some() && !messages.is_empty() {
            state.lease_open = true;
            state.lease_client = id;
            state.leased.extend(messages.iter().map(Message::id));
        }
        // A message past its own time to live is consumed but never delivered.
        let before = messages.len();
        messages.retain(|m| !m.is_expired_at(take.now));
        telemetry::expired(before - messages.len());
        // Taken from the store: older than anything this request pushed.
        state.taken.extend(messages.iter().cloned());
        let local = std::mem::take(&mut state.local);
        for entry in local {
            if kind.is_none_or(|k| entry.message.kind() == k) {
                if entry.message.is_expired_at(take.now) {
                    telemetry::expired(1);
                    continue;
                }
                if !entry.now {
                    state.taken.push(entry.message.clone());
                }
                messages.push(entry.message);
            } else {
                state.local.push(entry);
            }
        }
        telemetry::delivered(messages.len());
        state.delivered |= !messages.is_empty();
        Ok(Messages::from(messages))
    }

    /// A take in a prefetch or prerender: what the take would return, left where it is
    /// (stored, not leased, and this request's pushes still queued).
    async fn prefetch_take(
        &self,
        id: Option<&ClientId>,
        take: &Take<'_>,
    ) -> Result<Messages, Error> {
        let mut messages = match id {
            Some(id) => self.bounded(self.config().store.peek(id)).await?,
            None => Vec::new(),
        };
        messages.retain(|m| take.selects(m));
        let mut state = self.state();
        state.read = true;
        let local = state.local.iter().map(|l| &l.message);
        messages.extend(
            local
                .filter(|m| take.kind.is_none_or(|k| m.kind() == k))
                .cloned(),
        );
        messages.retain(|m| !m.is_expired_at(take.now));
        state.delivered |= !messages.is_empty();
        Ok(Messages::from(messages))
    }

    /// Returns this client's messages without consuming them: the stored ones, then this
    /// request's. `[]` when the store fails (logged; see [`try_peek`](Flash::try_peek)).
    pub async fn peek(&self) -> Messages {
        self.try_peek().await.unwrap_or_else(|e| {
            tracing::warn!(error = %e, "flash: peek failed, treating as no messages");
            Messages::new()
        })
    }

    /// [`peek`](Flash::peek), reporting a store failure.
    pub async fn try_peek(&self) -> Result<Messages, Error> {
        let id = self.current_id().await?;
        let mut messages = match &id {
            Some(id) => self.bounded(self.config().store.peek(id)).await?,
            None => Vec::new(),
        };
        let mut state = self.state();
        state.read = true;
        let mut visible = Take::all();
        if let Some(target) = &state.target {
            visible = visible.at(target);
        }
        messages.retain(|m| visible.selects(m));
        messages.extend(state.kept.iter().cloned());
        messages.extend(state.local.iter().map(|l| l.message.clone()));
        messages.retain(|m| !m.is_expired_at(visible.now));
        state.delivered |= !messages.is_empty();
        Ok(Messages::from(messages))
    }

    /// Puts every message this request took back for a later request (Rails' `keep`,
    /// Laravel's `reflash`): they are written back at the front of the client's queue, in
    /// their order, when the response leaves. `now` messages are never kept. Returns how many
    /// messages will be put back.
    ///
    /// ```
    /// # use tower_flash::Flash;
    /// async fn preview(flash: Flash) -> String {
    ///     let messages = flash.take_all().await;
    ///     flash.keep(); // the real page after this one still shows them
    ///     format!("{} pending", messages.len())
    /// }
    /// ```
    pub fn keep(&self) -> usize {
        let mut state = self.state();
        let taken = std::mem::take(&mut state.taken);
        state.kept.extend(taken);
        state.kept.len()
    }

    /// Switches the client this request works for, from now on: `Some(id)` for a user who
    /// has just signed in, `None` for one who has just signed out. After it, takes, peeks,
    /// [`clear`](Flash::clear) and the request's writes (including the pushes it queued
    /// before the switch) go to the new client.
    ///
    /// `None` means a fresh anonymous client: the browser gets a new flash cookie with the
    /// first message written to it (keyed [by session](crate::FlashLayer::identify_by_session),
    /// the session instead, read again). So a logout can say "Signed out" to whoever uses the
    /// browser next, while the user's own queue stays the user's. What this request
    /// [`keep`](Flash::keep)s is written back to the previous client first, never carried
    /// over; a failure to write it is returned and leaves the request unchanged.
    ///
    /// Identification by [`identify`](crate::FlashLayer::identify) starts again with the
    /// next request: rebind within the request that signs in or out.
    ///
    /// ```
    /// # use tower_flash::Flash;
    /// async fn logout(flash: Flash) -> Result<&'static str, tower_flash::Error> {
    ///     // … your auth layer ends the user's session …
    ///     flash.clear().await?; // optional: the user's pending messages, on every device
    ///     flash.rebind(None).await?;
    ///     flash.info("Signed out")?; // for this browser, not for the user
    ///     Ok("bye")
    /// }
    /// ```
    pub async fn rebind(&self, id: Option<ClientId>) -> Result<(), Error> {
        let kept = {
            let mut state = self.state();
            if state.closed {
                return Err(Error::Closed);
            }
            std::mem::take(&mut state.kept)
        };
        if let Err(error) = self.restore_to_current(&kept).await {
            let mut state = self.state();
            let newer = std::mem::replace(&mut state.kept, kept);
            state.kept.extend(newer);
            return Err(error);
        }
        let mut state = self.state();
        state.taken.clear();
        state.identity = match id {
            Some(id) => Identity::Given(id),
            None => state.anonymous(),
        };
        Ok(())
    }

    /// Writes `kept` back to the front of the current client's queue (before a rebind).
    async fn restore_to_current(&self, kept: &[Message]) -> Result<(), Error> {
        if kept.is_empty() {
            return Ok(());
        }
        let Some(id) = self.current_id().await? else {
            // Only this request's own pushes can be kept without a client: they were never
            // stored, so they go on with the request.
            self.state().kept.extend(kept.iter().cloned());
            return Ok(());
        };
        Ok(self.put_back(&id, kept.to_vec()).await?)
    }

    /// Puts `kept` back at the front of `id`'s queue, in order. Messages this request
    /// holds in its lease go back through the lease (and leave it), so that nothing the
    /// lease does later, confirming or giving back, can show them twice; the others (this
    /// request's own pushes) are written.
    async fn put_back(&self, id: &ClientId, kept: Vec<Message>) -> Result<(), StoreError> {
        let (from_lease, own, lease) = {
            let state = self.state();
            let lease = match (&state.lease, &state.lease_client) {
                (Some(lease), Some(client)) if state.lease_open => {
                    Some((lease.id.clone(), client.clone()))
                }
                _ => None,
            };
            let (from_lease, own): (Vec<Message>, Vec<Message>) = kept
                .into_iter()
                .partition(|m| lease.is_some() && state.leased.contains(&m.id()));
            (from_lease, own, lease)
        };
        let options = self.config().push_options();
        // Own pushes first: the leased messages, older, end up in front of them.
        if !own.is_empty() {
            let receipt = self
                .bounded(self.config().store.restore(id, &own, &options))
                .await?;
            telemetry::dropped(receipt.dropped);
        }
        let Some((lease, client)) = lease.filter(|_| !from_lease.is_empty()) else {
            return Ok(());
        };
        self.bounded(
            self.config()
                .store
                .give_back(&client, &lease, Some(&from_lease), &options),
        )
        .await?;
        let mut state = self.state();
        state
            .leased
            .retain(|id| !from_lease.iter().any(|m| m.id() == *id));
        if state.leased.is_empty() {
            // Nothing left to confirm or give back.
            state.lease_open = false;
        }
        Ok(())
    }

    /// Drops the messages this request would write: its unwritten pushes, its `now`
    /// messages and what it asked to [`keep`](Flash::keep). Stored messages are untouched.
    /// Returns how many were dropped.
    pub fn discard(&self) -> usize {
        let mut state = self.state();
        let dropped = state.local.len() + state.kept.len();
        state.local.clear();
        state.kept.clear();
        dropped
    }

    /// Deletes everything stored for this client and [`discard`](Flash::discard)s this
    /// request's messages.
    pub async fn clear(&self) -> Result<(), Error> {
        {
            let mut state = self.state();
            // Clearing deletes the leases too: there is nothing left to confirm.
            state.lease_open = false;
            state.local.clear();
            state.kept.clear();
            state.taken.clear();
        }
        if let Some(id) = self.current_id().await? {
            self.bounded(self.config().store.clear(&id)).await?;
        }
        Ok(())
    }

    /// Writes this request's queued messages now, in one store call, instead of when the
    /// response leaves, and reports a store failure to the caller.
    ///
    /// The messages are handed to the store once: after an error they are not written again
    /// at the end of the request. Nothing to write is `Ok` without a store call.
    ///
    /// ```
    /// # use tower_flash::Flash;
    /// async fn handler(flash: Flash) -> &'static str {
    ///     flash.success("Saved").ok();
    ///     match flash.save().await {
    ///         Ok(()) => "saved",
    ///         Err(_) => "the message could not be stored",
    ///     }
    /// }
    /// ```
    pub async fn save(&self) -> Result<(), Error> {
        self.write(false).await
    }

    /// Finishes the request once the inner response is ready, and closes the handle:
    ///
    /// 1. a same-origin redirect binds this request's pushes to its target, and carries on
    ///    the messages bound to this request's path that it did not read (redirect scoping);
    /// 2. pushes and kept messages are written;
    /// 3. a 5xx response gives leased messages back, to the front (delivery confirmation).
    ///
    /// Returns the cookie to set if this request wrote anything (here or in an earlier
    /// [`save`](Flash::save)), and the first store error, if any.
    pub(crate) async fn finish(&self, head: ResponseHead) -> Finished {
        let mut result = Ok(());
        let failed = head.status.is_server_error();
        if failed {
            // The lease puts these back: keeping them too would queue them twice.
            let mut state = self.state();
            let leased = std::mem::take(&mut state.leased);
            state.kept.retain(|m| !leased.contains(&m.id()));
        }
        if let Some(scope) = self.redirect_scope(&head) {
            // Carrying stored messages on is a read-side step: a failure is logged, never
            // turned into an error response (only this request's own writes are).
            if let Err(error) = self.refresh(false).await {
                tracing::warn!(%error, "flash: could not read the session to scope messages");
            }
            let (id, target) = {
                let mut state = self.state();
                for local in &mut state.local {
                    local.message.set_scope(Some(scope.clone()));
                }
                // What the request kept goes to the redirect's target too.
                for kept in &mut state.kept {
                    kept.set_scope(Some(scope.clone()));
                }
                (self.resolve(&mut state).cloned(), state.target.clone())
            };
            if let (Some(id), Some(target)) = (id, target)
                && let Err(error) = self
                    .bounded(self.config().store.rescope(&id, &target, &scope))
                    .await
            {
                tracing::warn!(%error, "flash: could not carry scoped messages on to the redirect");
            }
        }
        let mut hx_trigger = None;
        if let Some(delivery) = &self.config().htmx
            && self.state().delivers_to_htmx(&head)
        {
            match self.take_inner(None).await {
                Ok(messages) => {
                    let (header, left) = delivery.header(&head.hx_trigger, messages.into_vec());
                    hx_trigger = header;
                    // What does not fit stays queued, at the front, in order.
                    self.state()
                        .kept
                        .extend(left.into_iter().filter(|m| !m.is_expired()));
                }
                // A failed read delivers nothing; it is no reason to fail the response.
                Err(error) => tracing::warn!(%error, "flash: htmx delivery could not read"),
            }
        }
        let written = self.write(true).await;
        result = result.and(written);
        if failed {
            // Last, so that the leased messages, the oldest, end up first. The response is a
            // 5xx already; a failure here is logged, and the lease timeout brings them back.
            if let Err(error) = self.give_back().await {
                tracing::error!(
                    %error,
                    "flash: could not give back undelivered messages; they come back after the lease timeout"
                );
            }
        } else if head.bodiless {
            self.confirm_delivery().await;
        }
        let state = self.state();
        let set_cookie = match (&state.identity, state.wrote) {
            (Identity::Cookie(Some(id)), true) => self.config().cookie.write(id, self.config().ttl),
            _ => None,
        };
        Finished {
            set_cookie,
            hx_trigger,
            result,
        }
    }

    /// Whether [`finish`](Flash::finish) has anything to do for this response. Requests
    /// that neither wrote nor took anything, and are not redirected under scoping, skip it.
    pub(crate) fn needs_finish(&self, head: &ResponseHead) -> bool {
        let mut state = self.state();
        if state.wrote || !state.kept.is_empty() || state.local.iter().any(|l| !l.now) {
            return true;
        }
        if state.lease_open && (head.status.is_server_error() || head.bodiless) {
            return true;
        }
        if state.delivers_to_htmx(head) && (!state.local.is_empty() || self.may_have_id(&mut state))
        {
            return true;
        }
        state.target.is_some() && head.status.is_redirection() && self.may_have_id(&mut state)
    }

    /// What the response needs of the request, in one look: whether it shows messages
    /// (then no cache may keep it) and whether its body must confirm delivery when it ends.
    pub(crate) fn response_needs(&self) -> (bool, bool) {
        let state = self.state();
        (state.delivered, state.lease_open)
    }

    /// The messages of this request's lease were delivered: gone for good.
    ///
    /// Within the request's store budget the response waits for it; past the budget it is
    /// finished in the background, so that a slow store delays the confirmation, never
    /// turns it into a second delivery.
    pub(crate) async fn confirm_delivery(&self) {
        let Some((id, lease)) = self.close_lease() else {
            return;
        };
        let config = self.shared.config.clone();
        let mut release = Box::pin(async move {
            match config.store.release(&id, &lease).await {
                Ok(true) => {}
                Ok(false) => tracing::warn!(
                    "flash: a lease ended before its response did; its messages were given back \
                     and may be shown again (raise the lease timeout above your slowest response)"
                ),
                Err(error) => tracing::error!(
                    %error,
                    "flash: could not confirm delivered messages; they come back after the lease timeout"
                ),
            }
        });
        let Some((_, left)) = self.budget_left() else {
            return release.await;
        };
        let started = Instant::now();
        let confirmed = tokio::time::timeout(left, &mut release).await;
        self.state().spent += started.elapsed();
        if confirmed.is_err() {
            spawn(release);
        }
    }

    /// The response body failed: give the leased messages back, in the background.
    pub(crate) fn abandon_delivery(self) {
        if let Some((id, lease)) = self.close_lease() {
            spawn_give_back(self.shared.config.clone(), id, lease);
        }
    }

    /// Gives this request's leased messages back to the front of the queue now.
    pub(crate) async fn give_back(&self) -> Result<(), StoreError> {
        let Some((id, lease)) = self.close_lease() else {
            return Ok(());
        };
        let options = self.config().push_options();
        self.bounded(self.config().store.give_back(&id, &lease, None, &options))
            .await
            .map(|_| ())
    }

    /// Takes the open lease, if any, so that it is confirmed or given back once.
    fn close_lease(&self) -> Option<(ClientId, LeaseId)> {
        let mut state = self.state();
        if !std::mem::take(&mut state.lease_open) {
            return None;
        }
        let lease = state.lease.as_ref()?.id.clone();
        let id = state.lease_client.clone()?;
        Some((id, lease))
    }

    /// The scope a same-origin redirect binds messages to, when scoping is on.
    fn redirect_scope(&self, head: &ResponseHead) -> Option<Scope> {
        if !head.status.is_redirection() {
            return None;
        }
        let fallback = self.config().scope_fallback?;
        let location = head.location.as_ref()?.to_str().ok()?;
        let (path, query) = same_origin_target(location, self.state().base.as_ref()?)?;
        Some(Scope {
            path,
            params: query,
            until: now_millis().saturating_add(millis(fallback)),
        })
    }

    /// Marks the handle closed without writing (nothing was pending).
    pub(crate) fn close(&self) {
        self.state().closed = true;
    }

    /// Writes kept messages (at the front) and pushes (at the back). A client without an id
    /// gets a new one here.
    async fn write(&self, close: bool) -> Result<(), Error> {
        {
            let mut state = self.state();
            if close {
                state.closed = true;
            }
            if state.kept.is_empty() && state.local.iter().all(|l| l.now) {
                return Ok(());
            }
        }
        self.refresh(true).await?;
        let (id, kept, pushed) = {
            let mut state = self.state();
            let kept = std::mem::take(&mut state.kept);
            let local = std::mem::take(&mut state.local);
            let (now, pushed): (Vec<Local>, Vec<Local>) = local.into_iter().partition(|l| l.now);
            state.local = now;
            let id = match self.resolve(&mut state) {
                Some(id) => id.clone(),
                None => {
                    let id = ClientId::random();
                    state.identity = Identity::Cookie(Some(id.clone()));
                    id
                }
            };
            let pushed: Vec<Message> = pushed.into_iter().map(|l| l.message).collect();
            (id, kept, pushed)
        };
        let config = self.config();
        let options = config.push_options();
        if !kept.is_empty() {
            self.put_back(&id, kept).await?;
            self.state().wrote = true;
        }
        if !pushed.is_empty() {
            let receipt = self
                .bounded(config.store.push(&id, &pushed, &options))
                .await?;
            self.state().wrote = true;
            telemetry::pushed(pushed.len());
            telemetry::dropped(receipt.dropped);
        }
        Ok(())
    }
}

/// What redirect scoping resolves a `Location` against: the request's URL as the browser
/// sent it.
pub(crate) struct RequestUrl {
    /// The request URI's scheme, `http` when it has none (an HTTP/1.1 request line has
    /// none). Same-origin includes the scheme, so behind a proxy that ends TLS an absolute
    /// `Location: https://this.host/…` counts as another origin and does not scope.
    scheme: String,
    /// `Host`, else the URI's authority; none for a request with neither.
    host: Option<String>,
    path: String,
    query: Option<String>,
}

impl RequestUrl {
    pub(crate) fn new(uri: &http::Uri, headers: &http::HeaderMap) -> Self {
        let host = headers
            .get(http::header::HOST)
            .and_then(|h| h.to_str().ok())
            .or_else(|| uri.authority().map(|a| a.as_str()))
            .map(str::to_owned);
        RequestUrl {
            scheme: uri.scheme_str().unwrap_or("http").to_owned(),
            host,
            path: uri.path().to_owned(),
            query: uri.query().map(str::to_owned),
        }
    }

    /// The request's URL as if its host were `host`; `None` if that is no plain host.
    fn on(&self, host: &str) -> Option<url::Url> {
        let mut url = url::Url::parse(&format!("{}://{host}/", self.scheme)).ok()?;
        // A `Host` must name a host and port, nothing more.
        let plain = url.path() == "/"
            && url.query().is_none()
            && url.fragment().is_none()
            && url.username().is_empty()
            && url.password().is_none()
            && url.has_host();
        if !plain {
            return None;
        }
        url.set_path(&self.path);
        url.set_query(self.query.as_deref());
        Some(url)
    }
}

/// The path and query a browser goes to after a redirect with `location` from `request`,
/// resolved as the WHATWG URL standard does, if that is the request's origin (scheme, host
/// and port). Anything else (another host or scheme, `mailto:`, `/\other.host`) leaves
/// the site: such messages are not scoped.
pub(crate) fn same_origin_target(
    location: &str,
    request: &RequestUrl,
) -> Option<(String, Vec<(String, String)>)> {
    let resolve = |host: &str| {
        let base = request.on(host)?;
        let to = base.join(location).ok()?;
        (to.origin() == base.origin()).then_some(to)
    };
    let to = match &request.host {
        Some(host) => resolve(host)?,
        // Without a host, only a reference that names no origin of its own stays on the
        // site: one that is same-origin from two different hosts.
        None => {
            resolve("a.invalid")?;
            resolve("b.invalid")?
        }
    };
    let query = to.query().map(parse_query).unwrap_or_default();
    Some((to.path().to_owned(), query))
}

/// The last handle of a request that still holds leased messages (a panic unwound the
/// handler, the client went away mid-body) gives them back. Without a Tokio runtime to do it
/// on, they come back when the lease times out.
impl Drop for Shared {
    fn drop(&mut self) {
        let state = self.state.get_mut().unwrap_or_else(PoisonError::into_inner);
        if !std::mem::take(&mut state.lease_open) {
            return;
        }
        let (Some(lease), Some(id)) = (state.lease.take(), state.lease_client.take()) else {
            return;
        };
        spawn_give_back(self.config.clone(), id, lease.id);
    }
}

/// Runs `task` on the current Tokio runtime; without one, it is dropped with a warning
/// (leased messages then come back when their lease times out).
fn spawn(task: impl Future<Output = ()> + Send + 'static) {
    match tokio::runtime::Handle::try_current() {
        Ok(runtime) => {
            runtime.spawn(task);
        }
        Err(_) => tracing::warn!(
            "flash: no Tokio runtime to finish a store call on; leased messages come back after the lease timeout"
        ),
    }
}

/// Gives leased messages back on the current Tokio runtime; without one they come back when
/// the lease times out.
fn spawn_give_back(config: Arc<Config>, id: ClientId, lease: LeaseId) {
    spawn(async move {
        let options = config.push_options();
        if let Err(error) = config.store.give_back(&id, &lease, None, &options).await {
            tracing::error!(
                %error,
                "flash: could not give back undelivered messages; they come back after the lease timeout"
            );
        }
    });
}

impl fmt::Debug for Flash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = self.state();
        f.debug_struct("Flash")
            .field("local", &state.local.len())
            .field("taken", &state.taken.len())
            .field("kept", &state.kept.len())
            .field("closed", &state.closed)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(uri: &str, host: Option<&str>) -> RequestUrl {
        let mut headers = http::HeaderMap::new();
        if let Some(host) = host {
            headers.insert(http::header::HOST, HeaderValue::from_str(host).unwrap());
        }
        RequestUrl::new(&uri.parse().unwrap(), &headers)
    }

    fn path_of(location: &str, request: &RequestUrl) -> Option<String> {
        same_origin_target(location, request).map(|(path, _)| path)
    }

    #[test]
    fn without_a_host_only_references_without_an_origin_scope() {
        let request = request("/items/list", None);
        assert_eq!(path_of("../done", &request).as_deref(), Some("/done"));
        assert_eq!(path_of("/x", &request).as_deref(), Some("/x"));
        for location in ["http://a.invalid/x", "//b.invalid/x", "https://same.host/"] {
            assert_eq!(path_of(location, &request), None, "{location}");
        }
    }

    #[test]
    fn the_uri_scheme_and_authority_count_when_present() {
        let request = request("https://same.host/items/list", None);
        assert_eq!(
            path_of("https://same.host/x", &request).as_deref(),
            Some("/x")
        );
        assert_eq!(path_of("http://same.host/x", &request), None);
    }

    #[test]
    fn a_host_header_that_is_not_a_plain_host_scopes_nothing() {
        for host in ["same.host/evil", "user@same.host", "same.host?x", ""] {
            let request = request("/items/list", Some(host));
            assert_eq!(path_of("done", &request), None, "{host}");
        }
    }

    /// A `Location` as handlers write them, and as an attacker could: relative references,
    /// scheme-relative and absolute URLs, backslashes, dot segments, percent signs,
    /// non-ASCII, and anything at all.
    fn location() -> impl proptest::strategy::Strategy<Value = String> {
        use proptest::prelude::*;
        let start = proptest::sample::select(vec![
            "",
            "/",
            "//",
            "///",
            "\\\\",
            "/\\",
            "./",
            "../",
            "?",
            "#",
            "http:",
            "http:/",
            "http://same.host",
            "HTTP://SAME.HOST:80",
            "https://same.host",
            "//same.host",
            "//other.host",
            "http://other.host",
            "mailto:",
            "javascript:",
            "data:,",
            " ",
            "\t/",
        ]);
        prop_oneof![
            (start, "[a-zA-Z0-9/\\\\.?#%:@ \t;=&+\\[\\]-]{0,30}")
                .prop_map(|(a, b)| format!("{a}{b}")),
            "\\PC{0,40}",
            any::<String>(),
        ]
    }

    proptest::proptest! {
        /// Any `Location` against any request: never a panic; a same-origin result is a path
        /// starting with `/` that the browser's next request carries exactly as it is.
        /// Cases: `PROPTEST_CASES` (256 by default).
        #[test]
        fn fuzz_location_resolution(
            location in location(),
            path in "/[a-zA-Z0-9/._%~-]{0,20}",
            query in proptest::option::of("[a-z0-9=&%+]{0,12}"),
            host in proptest::prop_oneof![
                proptest::strategy::Just(Some("same.host".to_owned())),
                proptest::strategy::Just(Some("same.host:8080".to_owned())),
                proptest::strategy::Just(None),
                proptest::option::of("[a-z0-9.:@/?#\\[\\]-]{0,16}"),
            ],
            https in proptest::arbitrary::any::<bool>(),
        ) {
            let uri = match &query {
                Some(query) => format!("{path}?{query}"),
                None => path.clone(),
            };
            let uri = if https { format!("https://same.host{uri}") } else { uri };
            let request = request(&uri, host.as_deref());
            if let Some((to, _query)) = same_origin_target(&location, &request) {
                proptest::prop_assert!(to.starts_with('/'), "{:?} from {:?}: {:?}", location, uri, to);
                if let Ok(next) = to.parse::<http::Uri>() {
                    proptest::prop_assert_eq!(next.path(), to.as_str());
                }
            }
        }

        /// A `Location` naming another host never scopes, whatever follows it.
        #[test]
        fn fuzz_location_to_another_host_never_scopes(
            scheme in proptest::sample::select(vec!["", "http:", "https:", "HTTP:"]),
            slashes in proptest::sample::select(vec!["//", "\\\\", "/\\", "\\/"]),
            host in "[a-z]{1,8}\\.(example|host)",
            rest in "[a-zA-Z0-9/\\\\.?#%:@-]{0,20}",
        ) {
            proptest::prop_assume!(host != "same.host");
            let request = request("/items/list", Some("same.host"));
            let location = format!("{scheme}{slashes}{host}/{rest}");
            proptest::prop_assert_eq!(same_origin_target(&location, &request), None, "{}", location);
        }
    }
}
