//! [`Flash`]: the per-request handle a handler pushes and takes messages through.
//!
//! One concern per file: [`state`] holds what a request records, [`write`] and [`read`] are
//! the handler's operations, [`budget`] bounds store calls by the request's budget and
//! finishes abandoned ones in the background, [`scope`] resolves redirects for scoping, and
//! [`finish`] turns the request's record into store calls and a plain
//! [`Outcome`](finish::Outcome) that a framework adapter applies to its response.

use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use crate::config::Config;
use crate::error::Error;
use crate::id::{ClientId, CookieHeaders};
use crate::store::Target;

mod budget;
pub(crate) mod finish;
mod read;
mod scope;
mod state;
mod write;

pub(crate) use finish::{Finishing, Reply};
#[cfg(fuzzing)]
pub(crate) use scope::LOCATION_STARTS;
pub(crate) use scope::RequestUrl;
pub(crate) use scope::same_origin_target;
use state::{Identity, State};

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

/// **Identity**: which client this request's messages belong to.
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
