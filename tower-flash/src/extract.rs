//! The axum extractor for [`Flash`] (feature `axum`).

use axum_core::extract::FromRequestParts;
use axum_core::response::{IntoResponse, Response};
use http::StatusCode;
use http::request::Parts;

use crate::flash::Flash;

/// The rejection of the [`Flash`] extractor: the route is not behind a
/// [`FlashLayer`](crate::FlashLayer). A wiring mistake, answered with
/// `500 Internal Server Error`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, thiserror::Error)]
#[error(
    "tower-flash: the Flash extractor needs FlashLayer on this route (add `.layer(FlashLayer::new(..))`)"
)]
pub struct MissingFlashLayer;

impl IntoResponse for MissingFlashLayer {
    fn into_response(self) -> Response {
        (StatusCode::INTERNAL_SERVER_ERROR, self.to_string()).into_response()
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Flash {
    type Rejection = MissingFlashLayer;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        parts
            .extensions
            .get::<Flash>()
            .cloned()
            .ok_or(MissingFlashLayer)
    }
}

/// Lets a handler return `Result<_, tower_flash::Error>` and `?` a failed push: invalid
/// input is the client's mistake (`400 Bad Request` with the reason). A store failure is
/// `503 Service Unavailable` (as is a session failure) and a push after the response or a
/// missing session layer `500`, all with a generic body:
/// their details (which may name the store's address) go to the log, not to the client.
impl IntoResponse for crate::Error {
    fn into_response(self) -> Response {
        let status = self.status();
        if status.is_client_error() {
            return (status, self.to_string()).into_response();
        }
        tracing::error!(error = %self, "flash: answering {status}");
        (status, "flash messages are unavailable").into_response()
    }
}
