//! The same test app on axum, behind tower-flash's own `FlashLayer`: the request-level suite
//! runs unchanged on both frameworks.

use std::collections::HashMap;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::{Path, Query};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Json, Response};
use axum::routing::get;
use bytes::Bytes;
use tower_flash::{ClientId, Flash, FlashLayer, messages_json};

/// The routes of [`super::app`], behind `layer`; the user comes from the `x-user` header
/// (the actix app reads it from the extensions its authentication middleware fills).
pub fn app(layer: FlashLayer) -> Router {
    let layer = layer.identify(|parts| {
        let user = parts.headers.get("x-user")?.to_str().ok()?;
        ClientId::new(&format!("user:{user}")).ok()
    });
    Router::new()
        .route("/health", get(|| async { "ok" }))
        .route("/set", get(set))
        .route("/read", get(read))
        .route("/read/{kind}", get(read_kind))
        .route("/page/{page}", get(read_page))
        .route("/slow", get(slow))
        .route("/flash.json", get(messages_json))
        .layer(layer)
}

async fn set(flash: Flash, Query(query): Query<HashMap<String, String>>) -> Response {
    let (Some(kind), Some(msg)) = (query.get("kind"), query.get("msg")) else {
        return StatusCode::BAD_REQUEST.into_response();
    };
    if let Err(error) = flash.push(kind.as_str(), msg.as_str()) {
        return error.into_response();
    }
    let next = query.get("next").map_or("/read", String::as_str);
    (StatusCode::FOUND, [(header::LOCATION, next.to_owned())]).into_response()
}

async fn read(flash: Flash, Query(query): Query<HashMap<String, String>>) -> Response {
    let messages = flash.take_all().await;
    let body = serde_json::to_vec(&messages.grouped().to_texts()).unwrap_or_default();
    match query.get("fail").map(String::as_str) {
        Some("500") => (StatusCode::INTERNAL_SERVER_ERROR, body).into_response(),
        Some("panic") => panic!("the view failed after taking its messages"),
        Some("abort") => {
            let chunks: Vec<Result<Bytes, std::io::Error>> = vec![
                Ok(Bytes::from(body)),
                Err(std::io::Error::other("the view's body stream broke")),
            ];
            Body::from_stream(super::Items(chunks.into_iter())).into_response()
        }
        _ => ([(header::CONTENT_TYPE, "application/json")], body).into_response(),
    }
}

async fn read_page(flash: Flash, Path(_page): Path<String>) -> Response {
    let messages = flash.take_all().await;
    (
        [(header::CONTENT_TYPE, "application/json")],
        serde_json::to_vec(&messages.grouped().to_texts()).unwrap_or_default(),
    )
        .into_response()
}

async fn read_kind(flash: Flash, Path(kind): Path<String>) -> Response {
    Json(flash.take(&kind).await.texts()).into_response()
}

/// Takes, then streams a body that never ends: the client hangs up in the middle of it.
async fn slow(flash: Flash) -> Response {
    let messages = flash.take_all().await;
    let first = Bytes::from(serde_json::to_vec(&messages.grouped().to_texts()).unwrap_or_default());
    let (tx, rx) = tokio::sync::mpsc::channel::<Result<Bytes, std::io::Error>>(1);
    tokio::spawn(async move {
        if tx.send(Ok(first)).await.is_err() {
            return;
        }
        while tx.send(Ok(Bytes::from_static(b" "))).await.is_ok() {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    });
    Body::from_stream(super::Receiver(rx)).into_response()
}
