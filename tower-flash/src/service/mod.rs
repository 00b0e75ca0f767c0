//! [`FlashService`]: the tower plumbing around a [`Flash`]. Flash semantics live in
//! [`crate::flash`]; this module only attaches the handle and finishes it.

use std::sync::Arc;
use std::task::{Context, Poll};

use http::{Request, Response};
use tower_service::Service;

use crate::config::Config;
use crate::flash::{Flash, RequestUrl};
use crate::htmx::HX_REQUEST;
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
            is_prefetch(req.headers()),
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

/// Whether the browser asks for the page ahead of a navigation that may never happen
/// (prefetch, prerender, a link preview): `Sec-Purpose` / `X-Sec-Purpose` lists whose first
/// token is `prefetch` (`prefetch`, `prefetch;prerender`), and the older `Purpose`,
/// `X-Purpose` and `X-Moz` set to `prefetch` or `preview`.
fn is_prefetch(headers: &http::HeaderMap) -> bool {
    let listed = |name: &str| {
        headers.get_all(name).iter().any(|value| {
            value.as_bytes().split(|&b| b == b',').any(|item| {
                let token = item.split(|&b| b == b';').next().unwrap_or_default();
                token.trim_ascii().eq_ignore_ascii_case(b"prefetch")
            })
        })
    };
    let legacy = |name: &str| {
        headers.get_all(name).iter().any(|value| {
            let value = value.as_bytes().trim_ascii();
            value.eq_ignore_ascii_case(b"prefetch") || value.eq_ignore_ascii_case(b"preview")
        })
    };
    listed("sec-purpose")
        || listed("x-sec-purpose")
        || legacy("purpose")
        || legacy("x-purpose")
        || legacy("x-moz")
}

#[cfg(test)]
mod tests {
    use super::is_prefetch;

    fn with(name: &'static str, value: &'static str) -> http::HeaderMap {
        let mut headers = http::HeaderMap::new();
        headers.insert(name, http::HeaderValue::from_static(value));
        headers
    }

    #[test]
    fn prefetch_and_prerender_headers_are_recognised() {
        for (name, value) in [
            ("sec-purpose", "prefetch"),
            ("sec-purpose", "prefetch;prerender"),
            ("sec-purpose", "prefetch; anonymous-client-ip"),
            ("x-sec-purpose", "Prefetch"),
            ("purpose", "prefetch"),
            ("x-purpose", "preview"),
            ("x-moz", "prefetch"),
        ] {
            assert!(is_prefetch(&with(name, value)), "{name}: {value}");
        }
        for (name, value) in [("sec-purpose", "prerender"), ("sec-fetch-mode", "navigate")] {
            assert!(!is_prefetch(&with(name, value)), "{name}: {value}");
        }
        assert!(!is_prefetch(&http::HeaderMap::new()));
    }
}
