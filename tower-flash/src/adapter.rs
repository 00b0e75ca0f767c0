//! What a framework adapter needs to run tower-flash outside tower: the tower service of
//! this crate ([`FlashService`](crate::FlashService)) is built on exactly this, and so is
//! `tower-flash-actix`.
//!
//! An adapter does three things per request, and decides no flash rule itself:
//!
//! 1. [`Adapter::start`] makes the request's [`Flash`] from its head (identity, redirect
//!    target, htmx, prefetch), which the adapter hands to the handler;
//! 2. once the handler's response is ready, [`finish`] turns what the request did into the
//!    store calls it needs, and gives back a plain [`Outcome`] (at once, or after a future);
//!    if there is no response (the handler failed), [`abort`] closes the handle instead;
//! 3. the adapter applies the [`Outcome`]: the `Set-Cookie` and `HX-Trigger` headers,
//!    `Cache-Control: no-store` on a response that shows messages unless the handler set
//!    one, an empty `500` when [`Outcome::result`] is an error under
//!    [`OnStoreError::Fail`], and a body that calls [`Delivery::confirm`] once it has been
//!    sent whole, or drops the [`Delivery`] (giving the messages back) when it was not.
//!
//! ```
//! use http::{Method, Request, Response, StatusCode};
//! use tower_flash::adapter::{self, Adapter, Finishing, Reply};
//! use tower_flash::{FlashLayer, Key, MemoryStore};
//!
//! # #[tokio::main(flavor = "current_thread")] async fn main() {
//! let adapter = Adapter::new(&FlashLayer::new(MemoryStore::new(), Key::generate()));
//!
//! let (parts, ()) = Request::get("/save").body(()).unwrap().into_parts();
//! let flash = adapter.start(&parts, None);
//! // … the framework runs the handler, which pushes:
//! flash.success("Saved!").unwrap();
//! let response = Response::builder()
//!     .status(StatusCode::SEE_OTHER)
//!     .header("location", "/")
//!     .body(())
//!     .unwrap();
//!
//! let reply = Reply::new(&Method::GET, response.status(), || true);
//! let outcome = match adapter::finish(flash, reply, response.headers()) {
//!     Finishing::Done(outcome) => outcome,
//!     Finishing::Pending(finishing) => finishing.await,
//! };
//! assert!(outcome.result.is_ok());
//! assert!(outcome.set_cookie.is_some(), "a first write gives the client its cookie");
//! # }
//! ```

use std::sync::Arc;

use http::request::Parts;
use http::{HeaderMap, HeaderValue};
use serde::Serialize;

use crate::config::{Config, OnStoreError};
use crate::flash::{Flash, RequestUrl};
use crate::htmx::HX_REQUEST;
use crate::id::ClientId;
use crate::layer::FlashLayer;
use crate::message::Messages;
use crate::store::Target;

pub use crate::flash::finish::{Delivery, Finishing, Outcome, Reply};

/// A [`FlashLayer`]'s configuration, ready to start requests in another framework.
#[derive(Clone)]
pub struct Adapter {
    config: Arc<Config>,
}

impl Adapter {
    /// Starts requests with `layer`'s store and options.
    pub fn new(layer: &FlashLayer) -> Self {
        Adapter {
            config: layer.config().clone(),
        }
    }

    /// The request's [`Flash`], from its head.
    ///
    /// The client is `given` when the adapter identified it itself (a framework's own
    /// authentication), else whatever the layer's [`identify`](FlashLayer::identify)
    /// returns for `parts`, else its tower-sessions session (if so configured and
    /// `parts.extensions` holds one), else the signed flash cookie in `parts.headers`. The
    /// cookie is only verified when the handler reads or writes messages.
    pub fn start(&self, parts: &Parts, given: Option<ClientId>) -> Flash {
        start(&self.config, parts, given)
    }

    /// What to do when [`Outcome::result`] is an error: under [`OnStoreError::Fail`] the
    /// adapter answers an empty `500` (with [`Outcome::set_cookie`]) instead of the
    /// handler's response, and drops [`Outcome::delivery`].
    pub fn on_store_error(&self) -> OnStoreError {
        self.config.on_store_error
    }
}

/// [`Adapter::start`], for the tower service.
pub(crate) fn start(config: &Arc<Config>, parts: &Parts, given: Option<ClientId>) -> Flash {
    let given = given.or_else(|| {
        config
            .identify
            .as_ref()
            .and_then(|identify| identify(parts))
    });
    let cookies = if given.is_none() && !config.by_session() {
        config.cookie.candidates(&parts.headers)
    } else {
        None
    };
    let scoping = config.scope_fallback.map(|_| {
        (
            Target::from_uri(&parts.uri),
            RequestUrl::new(&parts.uri, &parts.headers),
        )
    });
    let htmx = config.htmx.is_some()
        && parts
            .headers
            .get(HX_REQUEST)
            .is_some_and(|v| v.as_bytes() == b"true");
    Flash::new(
        config.clone(),
        given,
        cookies,
        &parts.extensions,
        scoping,
        htmx,
        is_prefetch(&parts.headers),
    )
}

impl std::fmt::Debug for Adapter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Adapter").finish_non_exhaustive()
    }
}

/// Finishes the request once its response is ready, and closes the handle: see
/// [`Reply`] for what it needs of the response, and the [module docs](self) for what the
/// adapter does with the [`Outcome`]. `headers` (the response's) are read only when the
/// request has something to finish. Requests that neither wrote nor took anything finish
/// at once, without a store call.
pub fn finish(flash: Flash, reply: Reply, headers: &HeaderMap) -> Finishing {
    flash.finish(reply, headers)
}

/// Finishes a request that got no response (its handler failed): late pushes then report
/// [`Error::Closed`](crate::Error::Closed), and dropping the last handle gives any leased
/// messages back.
pub fn abort(flash: Flash) {
    flash.abort();
}

/// The body of a JSON endpoint for single-page apps: the client's pending messages as
/// `{"messages": [{"id": "…", "kind": "info", "text": "…", "data": null, "created_at": …,
/// "expires_at": null}, …]}`, oldest first, consumed; with `peek=1` (or `peek=true`,
/// `peek`) in `query`, read without consuming. Answer it with `200`,
/// `Content-Type: application/json` and `Cache-Control: no-store`; an error (which no
/// message the store accepts can cause) is a `500`.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// use tower_flash::adapter::{self, Adapter};
/// use tower_flash::{FlashLayer, Key, MemoryStore};
///
/// let adapter = Adapter::new(&FlashLayer::new(MemoryStore::new(), Key::generate()));
/// let (parts, ()) = http::Request::get("/flash.json").body(()).unwrap().into_parts();
/// let flash = adapter.start(&parts, None);
/// let body = adapter::messages_json(&flash, parts.uri.query()).await.unwrap();
/// assert_eq!(body, br#"{"messages":[]}"#);
/// # }
/// ```
pub async fn messages_json(flash: &Flash, query: Option<&str>) -> serde_json::Result<Vec<u8>> {
    #[derive(Serialize)]
    struct Body {
        messages: Messages,
    }
    let peek = query.is_some_and(|q| {
        q.split('&')
            .any(|pair| matches!(pair, "peek=1" | "peek=true" | "peek"))
    });
    let messages = if peek {
        flash.peek().await
    } else {
        flash.take_all().await
    };
    serde_json::to_vec(&Body { messages })
}

/// Whether the browser asks for the page ahead of a navigation that may never happen
/// (prefetch, prerender, a link preview): `Sec-Purpose` / `X-Sec-Purpose` lists whose first
/// token is `prefetch` (`prefetch`, `prefetch;prerender`), and the older `Purpose`,
/// `X-Purpose` and `X-Moz` set to `prefetch` or `preview`.
fn is_prefetch(headers: &HeaderMap) -> bool {
    // One pass over the request's few headers, comparing names: five lookups by name cost
    // a hash each, or a parse of the name too when given as `&str` (about 2,800
    // instructions per redirect cycle, measured in bench/NOTES.md).
    let listed = |value: &HeaderValue| {
        value.as_bytes().split(|&b| b == b',').any(|item| {
            let token = item.split(|&b| b == b';').next().unwrap_or_default();
            token.trim_ascii().eq_ignore_ascii_case(b"prefetch")
        })
    };
    let legacy = |value: &HeaderValue| {
        let value = value.as_bytes().trim_ascii();
        value.eq_ignore_ascii_case(b"prefetch") || value.eq_ignore_ascii_case(b"preview")
    };
    headers.iter().any(|(name, value)| match name.as_str() {
        "sec-purpose" | "x-sec-purpose" => listed(value),
        "purpose" | "x-purpose" | "x-moz" => legacy(value),
        _ => false,
    })
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
