//! [`FlashService`]: the tower plumbing around a [`Flash`]. Flash semantics live in
//! [`crate::flash`]; this module only attaches the handle and finishes it.

use std::sync::Arc;
use std::task::{Context, Poll};

use http::{Request, Response};
use tower_service::Service;

use crate::flash::{Flash, RequestUrl};
use crate::htmx::HX_REQUEST;
use crate::layer::Config;
use crate::store::Target;

mod body;
mod future;

pub use body::FlashBody;
pub use future::ResponseFuture;

/// The service made by [`FlashLayer`](crate::FlashLayer); see there.
#[derive(Clone)]
pub struct FlashService<S> {
    inner: S,
    config: Arc<Config>,
}

impl<S> FlashService<S> {
    pub(crate) fn new(inner: S, config: Arc<Config>) -> Self {
        FlashService { inner, config }
    }
}

impl<S: std::fmt::Debug> std::fmt::Debug for FlashService<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FlashService")
            .field("inner", &self.inner)
            .finish_non_exhaustive()
    }
}

impl<S, ReqBody, ResBody> Service<Request<ReqBody>> for FlashService<S>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>>,
    ResBody: http_body::Body,
{
    type Response = Response<FlashBody<ResBody>>;
    type Error = S::Error;
    type Future = ResponseFuture<S::Future, ResBody>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut req: Request<ReqBody>) -> Self::Future {
        // An outer FlashLayer already attached a handle and will finish it: attaching a
        // second one would split the request's messages between two handles.
        if req.extensions().get::<Flash>().is_some() {
            let method = req.method().clone();
            return ResponseFuture::new(self.inner.call(req), None, self.config.clone(), method);
        }
        let given = match &self.config.identify {
            Some(identify) => {
                let (parts, body) = req.into_parts();
                let id = identify(&parts);
                req = Request::from_parts(parts, body);
                id
            }
            None => None,
        };
        let cookies = if given.is_none() && !self.config.by_session() {
            self.config.cookie.candidates(req.headers())
        } else {
            None
        };
        let scoping = self.config.scope_fallback.map(|_| {
            (
                Target::from_uri(req.uri()),
                RequestUrl::new(req.uri(), req.headers()),
            )
        });
        let htmx = self.config.htmx.is_some()
            && req
                .headers()
                .get(HX_REQUEST)
                .is_some_and(|v| v.as_bytes() == b"true");
        let flash = Flash::new(
            self.config.clone(),
            given,
            cookies,
            req.extensions(),
            scoping,
            htmx,
        );
        req.extensions_mut().insert(flash.clone());
        let method = req.method().clone();
        ResponseFuture::new(
            self.inner.call(req),
            Some(flash),
            self.config.clone(),
            method,
        )
    }
}
