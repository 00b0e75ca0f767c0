//! [`FlashService`]: the tower plumbing around a [`Flash`]. Flash semantics live in
//! [`crate::flash`]; this module only attaches the handle and finishes it.

use std::sync::Arc;
use std::task::{Context, Poll};

use http::{Request, Response};
use tower_service::Service;

use crate::config::Config;
use crate::flash::Flash;

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

    fn call(&mut self, req: Request<ReqBody>) -> Self::Future {
        // An outer FlashLayer already attached a handle and will finish it: attaching a
        // second one would split the request's messages between two handles.
        if req.extensions().get::<Flash>().is_some() {
            let method = req.method().clone();
            return ResponseFuture::new(self.inner.call(req), None, self.config.clone(), method);
        }
        let (mut parts, body) = req.into_parts();
        let flash = crate::adapter::start(&self.config, &parts, None);
        parts.extensions.insert(flash.clone());
        let req = Request::from_parts(parts, body);
        let method = req.method().clone();
        ResponseFuture::new(
            self.inner.call(req),
            Some(flash),
            self.config.clone(),
            method,
        )
    }
}
