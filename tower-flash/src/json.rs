//! A ready JSON endpoint for single-page apps (feature `axum`).

use axum_core::response::{IntoResponse, Response};
use http::header::{CACHE_CONTROL, CONTENT_TYPE};
use http::{HeaderValue, StatusCode, Uri};
use serde::Serialize;

use crate::flash::Flash;
use crate::message::Messages;

/// The body of [`messages_json`]: stable, versioned by its shape.
#[derive(Serialize)]
struct Body {
    messages: Messages,
}

/// A handler that answers the client's pending messages as JSON and consumes them; with
/// `?peek=1` it reads them without consuming. Route it where you like:
///
/// ```
/// use axum::{Router, routing::get};
/// use tower_flash::{FlashLayer, Key, MemoryStore, messages_json};
///
/// let app: Router = Router::new()
///     .route("/flash.json", get(messages_json))
///     .layer(FlashLayer::new(MemoryStore::new(), Key::generate()));
/// ```
///
/// The answer is always `200` with `Cache-Control: no-store` and
/// `{"messages": [{"id": "…", "kind": "info", "text": "…", "data": null,
/// "created_at": 1732800000000, "expires_at": null}, …]}`, oldest first; a store failure reads
/// as no messages, like [`Flash::take_all`]. It goes through the request's [`Flash`], so
/// delivery confirmation and redirect scoping apply as to any take.
pub async fn messages_json(flash: Flash, uri: Uri) -> Response {
    let peek = uri.query().is_some_and(|q| {
        q.split('&')
            .any(|pair| matches!(pair, "peek=1" | "peek=true" | "peek"))
    });
    let messages = if peek {
        flash.peek().await
    } else {
        flash.take_all().await
    };
    match serde_json::to_vec(&Body { messages }) {
        Ok(body) => (
            StatusCode::OK,
            [
                (CONTENT_TYPE, HeaderValue::from_static("application/json")),
                (CACHE_CONTROL, HeaderValue::from_static("no-store")),
            ],
            body,
        )
            .into_response(),
        Err(error) => {
            tracing::error!(%error, "flash: could not encode messages as JSON");
            StatusCode::INTERNAL_SERVER_ERROR.into_response()
        }
    }
}
