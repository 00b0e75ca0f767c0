//! [`FlashMiddleware`]: the actix-web middleware, and the service it wraps handlers in.
//! Flash rules live in tower-flash's core; this module only starts the request's handle,
//! finishes it through [`tower_flash::adapter`] and applies the outcome to the response.

use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::sync::Arc;

use actix_web::body::MessageBody;
use actix_web::dev::{Service, ServiceRequest, ServiceResponse, Transform, forward_ready};
use actix_web::http::StatusCode;
use actix_web::http::header::{CACHE_CONTROL, HeaderName, HeaderValue, SET_COOKIE};
use actix_web::{Error, HttpMessage, HttpResponse};
use tower_flash::adapter::{self, Adapter, Finishing, Outcome, Reply};
use tower_flash::{ClientId, FlashLayer, OnStoreError};

use crate::body::FlashBody;
use crate::convert;

type Identify = dyn Fn(&ServiceRequest) -> Option<ClientId> + Send + Sync;

/// The flash middleware for actix-web: gives every request a [`Flash`](crate::Flash) and
/// stores its messages before the response leaves.
///
/// It is built from a [`FlashLayer`], so the store (memory, Redis, Cluster, Sentinel, TLS)
/// and every option (TTL, limits, key rotation, delivery confirmation, redirect scoping,
/// htmx delivery, `on_store_error`) are those of the tower layer, and behave the same.
///
/// ```
/// use actix_web::{App, HttpResponse, web};
/// use tower_flash::{FlashLayer, Key, MemoryStore};
/// use tower_flash_actix::{Flash, FlashMiddleware};
///
/// async fn index(flash: Flash) -> HttpResponse {
///     let text: Vec<String> = flash.take_all().await.into_iter().map(|m| m.into_text()).collect();
///     HttpResponse::Ok().body(text.join("\n"))
/// }
///
/// let layer = FlashLayer::new(MemoryStore::new(), Key::generate());
/// let app = App::new()
///     .wrap(FlashMiddleware::new(layer))
///     .route("/", web::get().to(index));
/// # let _ = app;
/// ```
///
/// `App::wrap` takes the middleware by value once per worker thread: clone it (it shares
/// the store) rather than building one per worker, so that every worker uses one store.
#[derive(Clone)]
pub struct FlashMiddleware {
    adapter: Adapter,
    identify: Option<Arc<Identify>>,
}

impl FlashMiddleware {
    /// The middleware with `layer`'s store and options.
    ///
    /// The layer's own [`identify`](FlashLayer::identify) closure sees the request's method,
    /// URI and headers, but not actix's extensions: to key clients by something an actix
    /// middleware or extractor put there (a signed-in user), use
    /// [`FlashMiddleware::identify`]. `identify_by_session` (tower-sessions) has no actix
    /// counterpart: with it, requests find no session and flash operations report
    /// `Error::NoSession`.
    pub fn new(layer: FlashLayer) -> Self {
        FlashMiddleware {
            adapter: Adapter::new(&layer),
            identify: None,
        }
    }

    /// Identifies clients by something other than the flash cookie: `identify` sees the
    /// actix request (its extensions too) and returns the id to use, or `None` to fall back
    /// to the layer's `identify`, then to the flash cookie.
    ///
    /// Keyed by a signed-in user's id, messages follow the user across browsers and devices,
    /// and a background job can push to the user with [`FlashLayer::sender`]. Such requests
    /// never get a flash cookie. Prefix the ids (`user:42`) so that they cannot meet another
    /// source's.
    ///
    /// ```
    /// use actix_web::HttpMessage;
    /// use tower_flash::{ClientId, FlashLayer, Key, MemoryStore};
    /// use tower_flash_actix::FlashMiddleware;
    ///
    /// /// Put in the request extensions by your authentication middleware.
    /// #[derive(Clone)]
    /// struct UserId(u64);
    ///
    /// let flash = FlashMiddleware::new(FlashLayer::new(MemoryStore::new(), Key::generate()))
    ///     .identify(|req| {
    ///         let user = req.extensions().get::<UserId>()?.0;
    ///         ClientId::new(&format!("user:{user}")).ok()
    ///     });
    /// # let _ = flash;
    /// ```
    ///
    /// The flash middleware must run after (inside) the one that authenticates: in actix,
    /// `.wrap` it before the authentication middleware.
    #[must_use]
    pub fn identify<F>(mut self, identify: F) -> Self
    where
        F: Fn(&ServiceRequest) -> Option<ClientId> + Send + Sync + 'static,
    {
        self.identify = Some(Arc::new(identify));
        self
    }
}

impl std::fmt::Debug for FlashMiddleware {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FlashMiddleware")
            .field("identify", &self.identify.is_some())
            .finish_non_exhaustive()
    }
}

impl<S, B> Transform<S, ServiceRequest> for FlashMiddleware
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = Error> + 'static,
    B: MessageBody + 'static,
{
    type Response = ServiceResponse<FlashBody<B>>;
    type Error = Error;
    type Transform = FlashService<S>;
    type InitError = ();
    type Future = std::future::Ready<Result<Self::Transform, Self::InitError>>;

    fn new_transform(&self, service: S) -> Self::Future {
        std::future::ready(Ok(FlashService {
            service: Rc::new(service),
            adapter: self.adapter.clone(),
            identify: self.identify.clone(),
        }))
    }
}

/// The service [`FlashMiddleware`] wraps around the app's; see there.
pub struct FlashService<S> {
    service: Rc<S>,
    adapter: Adapter,
    identify: Option<Arc<Identify>>,
}

impl<S> std::fmt::Debug for FlashService<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FlashService").finish_non_exhaustive()
    }
}

impl<S, B> Service<ServiceRequest> for FlashService<S>
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = Error> + 'static,
    B: MessageBody + 'static,
{
    type Response = ServiceResponse<FlashBody<B>>;
    type Error = Error;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, Error>>>>;

    forward_ready!(service);

    fn call(&self, req: ServiceRequest) -> Self::Future {
        // An outer FlashMiddleware already attached a handle and will finish it: a second
        // one would split the request's messages between two handles.
        if req.extensions().contains::<tower_flash::Flash>() {
            let response = self.service.call(req);
            return Box::pin(
                async move { Ok(response.await?.map_body(|_, b| FlashBody::plain(b))) },
            );
        }
        let given = self.identify.as_ref().and_then(|identify| identify(&req));
        let parts = convert::request_parts(req.head());
        let flash = self.adapter.start(&parts, given);
        req.extensions_mut().insert(flash.clone());
        let on_store_error = self.adapter.on_store_error();
        let response = self.service.call(req);
        Box::pin(async move {
            let response = match response.await {
                Ok(response) => response,
                Err(error) => {
                    finish_error(flash, &parts.method, &error).await;
                    return Err(error);
                }
            };
            let body_size = response.response().body().size();
            let reply = Reply::new(&parts.method, convert::status(response.status()), || {
                matches!(
                    body_size,
                    actix_web::body::BodySize::None | actix_web::body::BodySize::Sized(0)
                )
            });
            let headers = convert::headers(response.headers());
            let outcome = match adapter::finish(flash, reply, &headers) {
                Finishing::Done(outcome) => outcome,
                Finishing::Pending(finishing) => finishing.await,
            };
            Ok(apply(response, outcome, on_store_error))
        })
    }
}

/// Finishes a request whose inner service answered with an error, which actix turns into a
/// response of the error's status: messages are written (a 5xx gives taken ones back first)
/// and delivery is never confirmed, since this middleware cannot see that response's body.
/// There is no response here to carry a new client's first cookie; such a client's messages
/// are stored, unreachable, until they expire (logged).
async fn finish_error(flash: tower_flash::Flash, method: &http::Method, error: &Error) {
    let status = convert::status(error.as_response_error().status_code());
    let reply = Reply::new(method, status, || false);
    let outcome = match adapter::finish(flash, reply, &http::HeaderMap::new()) {
        Finishing::Done(outcome) => outcome,
        Finishing::Pending(finishing) => finishing.await,
    };
    if let Err(error) = &outcome.result {
        tracing::error!(%error, "flash: could not store this request's messages");
    }
    if outcome.set_cookie.is_some() {
        tracing::warn!(
            "flash: a request that pushed a new client's first message ended in an error, \
             which cannot carry the flash cookie: the message will not be seen"
        );
    }
}

/// Carries out what finishing the request left to the response, as the tower service does:
/// the cookie and the htmx header, no caching of a response that shows messages (unless the
/// handler said otherwise), and a body that confirms delivery once sent whole. A store error
/// under [`OnStoreError::Fail`] replaces the response with an empty 500 (its leased messages
/// go back).
fn apply<B>(
    mut response: ServiceResponse<B>,
    outcome: Outcome,
    on_store_error: OnStoreError,
) -> ServiceResponse<FlashBody<B>> {
    let set_cookie = outcome.set_cookie.as_ref().and_then(convert::header_value);
    if let Err(error) = &outcome.result {
        tracing::error!(%error, "flash: could not store this request's messages");
        if on_store_error == OnStoreError::Fail {
            let (request, _) = response.into_parts();
            let mut failed = HttpResponse::new(StatusCode::INTERNAL_SERVER_ERROR);
            if let Some(cookie) = set_cookie {
                failed.headers_mut().append(SET_COOKIE, cookie);
            }
            // The handler's response is not sent: dropping the delivery gives its leased
            // messages back.
            drop(outcome.delivery);
            return ServiceResponse::new(request, failed.map_body(|_, _| FlashBody::empty()));
        }
    }
    let headers = response.headers_mut();
    if let Some(cookie) = set_cookie {
        headers.append(SET_COOKIE, cookie);
    }
    if let Some(trigger) = outcome.hx_trigger.as_ref().and_then(convert::header_value) {
        // Replaces every `HX-Trigger` the handler set: the merged one holds them all.
        headers.insert(HeaderName::from_static("hx-trigger"), trigger);
    }
    if outcome.shows_messages && !headers.contains_key(CACHE_CONTROL) {
        headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    let delivery = outcome.delivery;
    response.map_body(|_, body| FlashBody::confirming(body, delivery))
}
