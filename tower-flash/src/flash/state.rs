//! What a request records: its client's identity, its unwritten messages, what it took and
//! keeps, and its lease.

use std::time::Duration;

use super::finish::Reply;
use crate::id::{ClientId, CookieHeaders};
use crate::message::{Message, MessageId};
use crate::store::{Lease, Target};

use super::RequestUrl;

#[derive(Default)]
pub(super) struct State {
    pub(super) identity: Identity,
    /// Keyed by session: the session's identity, which [`Flash::rebind`]`(None)` goes back
    /// to (without sessions it goes to a fresh cookie).
    #[cfg(feature = "tower-sessions")]
    pub(super) session: Option<Identity>,
    /// Messages of this request not written to the store: pushed (stored at the end) or
    /// `now` (never stored), in push order.
    pub(super) local: Vec<Local>,
    /// Messages this request took (from the store or from `local` pushes), for `keep`.
    pub(super) taken: Vec<Message>,
    /// Messages to put back at the front of the queue at the end of the request.
    pub(super) kept: Vec<Message>,
    /// Whether a store write succeeded: the response then (re)sets the cookie.
    pub(super) wrote: bool,
    pub(super) closed: bool,
    /// Redirect scoping: the request's path and query, and its URL to resolve `Location`s
    /// against.
    pub(super) target: Option<Target>,
    pub(super) base: Option<RequestUrl>,
    /// Delivery confirmation: the lease this request's takes go to (made by the first take)
    /// and whether it holds messages not yet confirmed or given back.
    pub(super) lease: Option<Lease>,
    pub(super) lease_open: bool,
    /// The client whose messages the lease holds.
    pub(super) lease_client: Option<ClientId>,
    /// The ids of the messages in the lease.
    pub(super) leased: Vec<MessageId>,
    /// An htmx request (`HX-Request: true`) on a layer that delivers to htmx.
    pub(super) htmx: bool,
    /// Whether the handler took or peeked: then htmx delivery leaves the messages to it.
    pub(super) read: bool,
    /// Whether the response shows messages (a take or peek returned some, or they went out
    /// in `HX-Trigger`): it must not be cached.
    pub(super) delivered: bool,
    /// Time this request has spent waiting for the store, against its budget.
    pub(super) spent: Duration,
    /// A prefetch or prerender: the user may never see the page, so takes only peek.
    pub(super) prefetch: bool,
}

impl State {
    /// A fresh anonymous client: a new cookie, or the session when keyed by session.
    pub(super) fn anonymous(&self) -> Identity {
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
    pub(super) fn delivers_to_htmx(&self, head: &Reply) -> bool {
        self.htmx
            && !self.prefetch
            && !self.read
            && !head.status.is_redirection()
            && !head.status.is_server_error()
            && !head.htmx_navigates
    }
}

pub(super) struct Local {
    pub(super) message: Message,
    pub(super) now: bool,
}

/// How the request's client is known.
#[derive(Clone, Default)]
pub(super) enum Identity {
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
    pub(super) fn session(extensions: &http::Extensions) -> Self {
        match extensions.get::<tower_sessions_core::Session>() {
            Some(session) => Identity::Session {
                session: session.clone(),
                id: None,
            },
            None => Identity::NoSession,
        }
    }
}
