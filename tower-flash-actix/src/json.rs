//! A ready JSON endpoint for single-page apps.

use actix_web::http::header::{CACHE_CONTROL, CONTENT_TYPE};
use actix_web::{HttpRequest, HttpResponse};

use crate::Flash;

/// A handler that answers the client's pending messages as JSON and consumes them; with
/// `?peek=1` it reads them without consuming. Route it where you like:
///
/// ```
/// use actix_web::{App, web};
/// use tower_flash::{FlashLayer, Key, MemoryStore};
/// use tower_flash_actix::{FlashMiddleware, messages_json};
///
/// let app = App::new()
///     .wrap(FlashMiddleware::new(FlashLayer::new(MemoryStore::new(), Key::generate())))
///     .route("/flash.json", web::get().to(messages_json));
/// # let _ = app;
/// ```
///
/// The answer is always `200` with `Cache-Control: no-store` and
/// `{"messages": [{"id": "…", "kind": "info", "text": "…", "data": null,
/// "created_at": 1732800000000, "expires_at": null}, …]}`, oldest first, the same as
/// tower-flash's axum handler. It goes through the request's [`Flash`], so delivery
/// confirmation and redirect scoping apply as to any take.
pub async fn messages_json(flash: Flash, req: HttpRequest) -> HttpResponse {
    match tower_flash::adapter::messages_json(&flash, req.uri().query()).await {
        Ok(body) => HttpResponse::Ok()
            .insert_header((CONTENT_TYPE, "application/json"))
            .insert_header((CACHE_CONTROL, "no-store"))
            .body(body),
        Err(error) => {
            tracing::error!(%error, "flash: could not encode messages as JSON");
            HttpResponse::InternalServerError().finish()
        }
    }
}
