//! A ready JSON endpoint for single-page apps (feature `axum`).

use axum_core::response::{IntoResponse, Response};
use http::header::{CACHE_CONTROL, CONTENT_TYPE};
use http::{HeaderValue, StatusCode, Uri};

use crate::flash::Flash;

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
    match crate::adapter::messages_json(&flash, uri.query()).await {
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
