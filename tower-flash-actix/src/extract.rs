//! The [`Flash`] extractor, and the error types handlers answer with.

use std::ops::Deref;

use actix_web::dev::Payload;
use actix_web::http::StatusCode;
use actix_web::{FromRequest, HttpMessage, HttpRequest, HttpResponse, ResponseError};

use crate::convert;

/// The request's flash messages: an extractor for handlers behind
/// [`FlashMiddleware`](crate::FlashMiddleware).
///
/// It dereferences to [`tower_flash::Flash`], whose methods (`push`, `info`, `take`,
/// `take_all`, `peek`, `keep`, `now`…) and guarantees are documented there. Clones share the
/// request's state.
///
/// ```
/// use actix_web::{HttpResponse, http::header};
/// use tower_flash_actix::{Flash, FlashError};
///
/// async fn save(flash: Flash) -> Result<HttpResponse, FlashError> {
///     flash.success("Saved!")?;
///     Ok(HttpResponse::SeeOther().insert_header((header::LOCATION, "/")).finish())
/// }
/// ```
#[derive(Clone, Debug)]
pub struct Flash(tower_flash::Flash);

impl Flash {
    /// The tower-flash handle, to pass to code written for any framework.
    pub fn into_inner(self) -> tower_flash::Flash {
        self.0
    }
}

impl Deref for Flash {
    type Target = tower_flash::Flash;

    fn deref(&self) -> &tower_flash::Flash {
        &self.0
    }
}

impl FromRequest for Flash {
    type Error = MissingFlashMiddleware;
    type Future = std::future::Ready<Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let flash = req.extensions().get::<tower_flash::Flash>().cloned();
        std::future::ready(flash.map(Flash).ok_or(MissingFlashMiddleware))
    }
}

/// The rejection of the [`Flash`] extractor: the route is not behind
/// [`FlashMiddleware`](crate::FlashMiddleware). A wiring mistake, answered with
/// `500 Internal Server Error`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, thiserror::Error)]
#[error(
    "tower-flash-actix: the Flash extractor needs FlashMiddleware on this route (add `.wrap(FlashMiddleware::new(..))`)"
)]
pub struct MissingFlashMiddleware;

impl ResponseError for MissingFlashMiddleware {}

/// A [`tower_flash::Error`] as an actix-web error, so that a handler returning
/// `Result<_, FlashError>` can `?` a failed push.
///
/// Invalid input is the client's mistake: `400 Bad Request` with the reason. A store failure
/// is `503 Service Unavailable` and a push after the response `500`, with a generic body:
/// their details (which may name the store's address) go to the log, not to the client.
/// The statuses are [`tower_flash::Error::status`], as with axum.
#[derive(Debug, thiserror::Error)]
#[error(transparent)]
pub struct FlashError(#[from] pub tower_flash::Error);

impl ResponseError for FlashError {
    fn status_code(&self) -> StatusCode {
        convert::actix_status(self.0.status())
    }

    fn error_response(&self) -> HttpResponse {
        let status = self.status_code();
        if self.0.is_client_error() {
            return HttpResponse::build(status).body(self.0.to_string());
        }
        tracing::error!(error = %self.0, "flash: answering {status}");
        HttpResponse::build(status).body("flash messages are unavailable")
    }
}
