//! Finishing a request, framework-neutral: a framework adapter (the tower service of this
//! crate) describes its response in a [`Reply`], hands it to [`Flash::finish`], and carries
//! out the [`Outcome`]: the cookie and `HX-Trigger` to set, whether the response may be
//! cached, and the [`Delivery`] its body confirms once sent whole.
//!
//! The handle only records what the request did; finishing is the one place that turns
//! that into store calls (writes, redirect scoping, giving a lease back) and into the plain
//! value the adapter applies. Nothing here knows about tower, bodies or futures of a server.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use http::{HeaderMap, HeaderValue, StatusCode};

use super::budget::{spawn, spawn_give_back};
use super::state::{Identity, State};
use super::{Flash, same_origin_target};
use crate::config::Config;
use crate::error::{Error, StoreError};
use crate::htmx::{HX_LOCATION, HX_REDIRECT, HX_REFRESH, HX_TRIGGER};
use crate::id::ClientId;
use crate::message::{Scope, millis};
use crate::store::LeaseId;

/// What finishing needs to know of the response: its status and whether it has a body,
/// given to [`Reply::new`]; [`finish`](crate::adapter::finish) reads the headers it needs
/// (`Location`, `HX-Trigger`, htmx navigation) itself.
#[derive(Debug)]
pub struct Reply {
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

impl Reply {
    /// A response with `status` to a `method` request. `sends_no_body` (called only when
    /// the method and status leave it open) says whether the server sends no byte of the
    /// body: an empty body, or a length of 0. Servers never poll such a body, so delivery
    /// is confirmed with the head instead of at the body's end.
    pub fn new(
        method: &http::Method,
        status: StatusCode,
        sends_no_body: impl FnOnce() -> bool,
    ) -> Self {
        let bodiless = method == http::Method::HEAD
            || status.is_informational()
            || status == StatusCode::NO_CONTENT
            || status == StatusCode::NOT_MODIFIED
            || sends_no_body();
        Reply {
            status,
            location: None,
            bodiless,
            hx_trigger: Vec::new(),
            htmx_navigates: false,
        }
    }

    /// Adds the response headers that finishing reads.
    fn headers(mut self, headers: &HeaderMap) -> Self {
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

/// What finishing a request leaves to the framework adapter (see the
/// [`adapter`](crate::adapter) module for how to apply it).
#[derive(Debug)]
#[non_exhaustive]
pub struct Outcome {
    /// The flash cookie to set (append a `Set-Cookie`): the request wrote to a client known
    /// by cookie.
    pub set_cookie: Option<HeaderValue>,
    /// The `HX-Trigger` that delivers messages to htmx; it replaces the handler's (it holds
    /// their events too).
    pub hx_trigger: Option<HeaderValue>,
    /// The response shows messages: no cache may keep it (`Cache-Control: no-store`, unless
    /// the handler set a `Cache-Control`).
    pub shows_messages: bool,
    /// Messages the response delivers under confirmation, to confirm once its body has been
    /// sent whole (dropped unconfirmed, they are given back).
    pub delivery: Option<Delivery>,
    /// The first store error of the request's own writes: the adapter answers 500 instead
    /// under [`OnStoreError::Fail`](crate::OnStoreError::Fail).
    pub result: Result<(), Error>,
}

/// Finishing, right away or after store calls.
pub enum Finishing {
    /// Nothing to store: the outcome is ready.
    Done(Outcome),
    /// The outcome once the store calls are done; the response waits for it, so that the
    /// messages are stored before it leaves.
    Pending(Pin<Box<dyn Future<Output = Outcome> + Send>>),
}

impl std::fmt::Debug for Finishing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Finishing::Done(outcome) => f.debug_tuple("Done").field(outcome).finish(),
            Finishing::Pending(_) => f.write_str("Pending(..)"),
        }
    }
}

impl Flash {
    /// Finishes the request once the inner response is ready, and closes the handle:
    ///
    /// 1. a same-origin redirect binds this request's pushes to its target, and carries on
    ///    the messages bound to this request's path that it did not read (redirect scoping);
    /// 2. an htmx request whose handler read nothing gets the pending messages in its
    ///    `HX-Trigger`;
    /// 3. pushes and kept messages are written;
    /// 4. a 5xx response gives leased messages back, to the front, and a bodiless one
    ///    confirms them (delivery confirmation).
    ///
    /// Requests that neither wrote nor took anything, and are not redirected under
    /// scoping, finish without a store call and without reading `headers`.
    pub(crate) fn finish(self, reply: Reply, headers: &HeaderMap) -> Finishing {
        {
            let mut state = self.state();
            if !self.needs_store(&mut state, &reply) {
                state.closed = true;
                return Finishing::Done(self.outcome(&mut state, None, Ok(())));
            }
        }
        let reply = reply.headers(headers);
        Finishing::Pending(Box::pin(async move { self.finish_with_store(reply).await }))
    }

    /// Finishes a request that got no response (the inner service failed): closes the
    /// handle, so that late pushes report [`Error::Closed`] instead of vanishing. Dropping the
    /// last handle gives any leased messages back.
    pub(crate) fn abort(self) {
        self.state().closed = true;
    }

    async fn finish_with_store(self, reply: Reply) -> Outcome {
        let failed = reply.status.is_server_error();
        if failed {
            // The lease puts these back: keeping them too would queue them twice.
            let mut state = self.state();
            let leased = std::mem::take(&mut state.leased);
            state.kept.retain(|m| !leased.contains(&m.id()));
        }
        if let Some(scope) = self.redirect_scope(&reply) {
            self.carry_on_to(scope).await;
        }
        let mut hx_trigger = None;
        if let Some(delivery) = &self.config().htmx
            && self.state().delivers_to_htmx(&reply)
        {
            match self.take_inner(None).await {
                Ok(messages) => {
                    let (header, left) = delivery.header(&reply.hx_trigger, messages.into_vec());
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
        let result = self.write(true).await;
        if failed {
            // Last, so that the leased messages, the oldest, end up first. The response is a
            // 5xx already; a failure here is logged, and the lease timeout brings them back.
            if let Err(error) = self.give_back().await {
                tracing::error!(
                    %error,
                    "flash: could not give back undelivered messages; they come back after the lease timeout"
                );
            }
        }
        let mut outcome = self.outcome(&mut self.state(), hx_trigger, result);
        if reply.bodiless
            && let Some(delivery) = outcome.delivery.take()
        {
            delivery.confirm().await;
        }
        outcome
    }

    /// Binds this request's pushes and kept messages to the redirect's `scope`, and carries
    /// on the stored messages bound to this request's path. A read-side step: a failure is
    /// logged, never turned into an error response (only this request's own writes are).
    async fn carry_on_to(&self, scope: Scope) {
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
                .bounded(
                    self.config()
                        .store
                        .rescope(&id, &target, &scope, self.config().now()),
                )
                .await
        {
            tracing::warn!(%error, "flash: could not carry scoped messages on to the redirect");
        }
    }

    /// The outcome of the finished request, as its state says.
    fn outcome(
        &self,
        state: &mut State,
        hx_trigger: Option<HeaderValue>,
        result: Result<(), Error>,
    ) -> Outcome {
        let config = &self.shared.config;
        let delivery = close_lease(state).map(|(client, lease)| Delivery {
            pending: Some((config.clone(), client, lease)),
            budget_left: config.budget.map(|b| b.saturating_sub(state.spent)),
        });
        let set_cookie = match (&state.identity, state.wrote) {
            (Identity::Cookie(Some(id)), true) => config.cookie.write(id, config.ttl),
            _ => None,
        };
        Outcome {
            set_cookie,
            hx_trigger,
            shows_messages: state.delivered,
            delivery,
            result,
        }
    }

    /// Whether finishing has store calls to make for this response.
    fn needs_store(&self, state: &mut State, reply: &Reply) -> bool {
        if state.wrote || !state.kept.is_empty() || state.local.iter().any(|l| !l.now) {
            return true;
        }
        if state.lease_open && (reply.status.is_server_error() || reply.bodiless) {
            return true;
        }
        if state.delivers_to_htmx(reply) && (!state.local.is_empty() || self.may_have_id(state)) {
            return true;
        }
        state.target.is_some() && reply.status.is_redirection() && self.may_have_id(state)
    }

    /// Gives this request's leased messages back to the front of the queue now.
    async fn give_back(&self) -> Result<(), StoreError> {
        let Some((id, lease)) = close_lease(&mut self.state()) else {
            return Ok(());
        };
        let options = self.config().push_options();
        let now = self.config().now();
        self.bounded(
            self.config()
                .store
                .give_back(&id, &lease, None, &options, now),
        )
        .await
        .map(|_| ())
    }

    /// The scope a same-origin redirect binds messages to, when scoping is on.
    fn redirect_scope(&self, reply: &Reply) -> Option<Scope> {
        if !reply.status.is_redirection() {
            return None;
        }
        let fallback = self.config().scope_fallback?;
        let location = reply.location.as_ref()?.to_str().ok()?;
        let (path, query) = same_origin_target(location, self.state().base.as_ref()?)?;
        Some(Scope {
            path,
            params: query,
            until: self.config().now().saturating_add(millis(fallback)),
        })
    }
}

/// Takes the open lease, if any, so that it is confirmed or given back once.
fn close_lease(state: &mut State) -> Option<(ClientId, LeaseId)> {
    if !std::mem::take(&mut state.lease_open) {
        return None;
    }
    let lease = state.lease.as_ref()?.id.clone();
    let id = state.lease_client.clone()?;
    Some((id, lease))
}

/// The messages a response delivers under confirmation: [`confirm`](Delivery::confirm)ed
/// once its body has been sent whole; dropped unconfirmed (the body failed, the client went
/// away, the response was replaced), they are given back in the background. Without a
/// Tokio runtime to do that on, they come back when the lease times out.
pub struct Delivery {
    pending: Option<(Arc<Config>, ClientId, LeaseId)>,
    /// What is left of the request's store budget (`None`: no budget).
    budget_left: Option<Duration>,
}

impl Delivery {
    /// The messages were delivered: gone for good.
    ///
    /// Within what is left of the request's store budget the caller waits for it; past the
    /// budget it is finished in the background, so that a slow store delays the
    /// confirmation, never turns it into a second delivery.
    pub fn confirm(mut self) -> impl Future<Output = ()> + Send + 'static {
        let pending = self.pending.take();
        let budget_left = self.budget_left;
        async move {
            let Some((config, id, lease)) = pending else {
                return;
            };
            let mut release = Box::pin(release(config, id, lease));
            let Some(left) = budget_left else {
                return release.await;
            };
            if tokio::time::timeout(left, &mut release).await.is_err() {
                spawn(release);
            }
        }
    }
}

impl std::fmt::Debug for Delivery {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Delivery")
            .field("pending", &self.pending.is_some())
            .finish_non_exhaustive()
    }
}

impl Drop for Delivery {
    fn drop(&mut self) {
        if let Some((config, id, lease)) = self.pending.take() {
            spawn_give_back(config, id, lease);
        }
    }
}

/// Confirms `lease`: its messages are deleted.
async fn release(config: Arc<Config>, id: ClientId, lease: LeaseId) {
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
}
