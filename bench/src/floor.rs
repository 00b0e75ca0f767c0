//! The floor (binary `floor-server`): the routes of `bench/CONTRACT.md` in bare axum over the
//! fewest redis-rs calls, to measure what the dependency stack alone costs.
//!
//! It is not a product and keeps none of tower-flash's guarantees beyond what the load
//! generator checks: the client's id is an unsigned random cookie, a message is stored as
//! `kind|text`, a push is one pipelined `RPUSH` + `PEXPIRE` (not atomic, no cap), a read one
//! `LPOP key n`; `GET /read/K` pops everything and pushes the other kinds back (not atomic).
//! Its connection is the one tower-flash uses on one server: redis-rs's multiplexed
//! [`ConnectionManager`] with a response timeout. Only the store calls differ from
//! `bench-server`: the same router, the same panic-catching layer on the same routes.

use std::collections::HashMap;
use std::hash::{BuildHasher, RandomState};

use axum::Router;
use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use tower_http::catch_panic::CatchPanicLayer;

use crate::server::{Aborting, local_redirect};

/// The name of the floor's cookie.
const COOKIE: &str = "flash";
/// How long unread messages live, in milliseconds (tower-flash's default: one day).
const TTL_MS: u64 = 86_400_000;
/// The most messages one read pops.
const TAKE_COUNT: usize = 100_000;
/// The longest message text accepted (tower-flash refuses longer ones too).
const MAX_TEXT: usize = 4096;
/// The longest kind accepted.
const MAX_KIND: usize = 32;

/// Connects to the Redis server at `url` the way `RedisStore::connect` does: a
/// [`ConnectionManager`] with a response timeout of 5 s (tower-flash's backstop).
pub async fn connect(url: &str) -> redis::RedisResult<ConnectionManager> {
    let client = redis::Client::open(url)?;
    let config = ConnectionManagerConfig::new()
        .set_connection_timeout(Some(std::time::Duration::from_millis(250)))
        .set_response_timeout(Some(std::time::Duration::from_secs(5)));
    ConnectionManager::new_with_config(client, config).await
}

/// The routes of the contract over `conn`; `/bare` without the panic-catching layer.
pub fn app(conn: ConnectionManager) -> Router {
    let routes = Router::new()
        .route("/health", get(health))
        .route("/set", get(set))
        .route("/read", get(read_all))
        .route("/read/{kind}", get(read_kind))
        .route("/page/{page}", get(read_page))
        .layer(CatchPanicLayer::new())
        .with_state(conn);
    Router::new().route("/bare", get(health)).merge(routes)
}

async fn health() -> &'static str {
    "ok"
}

/// The client's id from its cookie: 32 lowercase hex digits, or none.
fn client_id(headers: &HeaderMap) -> Option<&str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().strip_prefix("flash="))
        .find(|id| id.len() == 32 && id.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')))
}

/// A new random id (not cryptographic: the floor's ids only need to differ).
fn new_id() -> String {
    let (a, b) = (
        RandomState::new().hash_one(0u8),
        RandomState::new().hash_one(1u8),
    );
    format!("{a:016x}{b:016x}")
}

fn key(id: &str) -> String {
    format!("floor:{{{id}}}")
}

fn bad_request(reason: &'static str) -> Response {
    (StatusCode::BAD_REQUEST, reason).into_response()
}

fn unavailable(error: &redis::RedisError) -> Response {
    (StatusCode::SERVICE_UNAVAILABLE, format!("redis: {error}")).into_response()
}

async fn set(
    State(mut conn): State<ConnectionManager>,
    headers: HeaderMap,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    let (Some(kind), Some(msg)) = (query.get("kind"), query.get("msg")) else {
        return bad_request("kind and msg are required");
    };
    let kind_ok = |k: &str| {
        !k.is_empty()
            && k.len() <= MAX_KIND
            && k.bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.' | b':'))
    };
    if !kind_ok(kind) {
        return bad_request("invalid kind");
    }
    if msg.is_empty() || msg.len() > MAX_TEXT {
        return bad_request("invalid msg");
    }
    let Some(location) = local_redirect(query.get("next").map_or("/read", String::as_str)) else {
        return bad_request("next must be /read or /page/X");
    };
    let (id, new) = match client_id(&headers) {
        Some(id) => (id.to_owned(), false),
        None => (new_id(), true),
    };
    let key = key(&id);
    let result: redis::RedisResult<()> = redis::pipe()
        .cmd("RPUSH")
        .arg(&key)
        .arg(format!("{kind}|{msg}"))
        .ignore()
        .cmd("PEXPIRE")
        .arg(&key)
        .arg(TTL_MS)
        .ignore()
        .query_async(&mut conn)
        .await;
    if let Err(error) = result {
        return unavailable(&error);
    }
    let mut response = (StatusCode::FOUND, [(header::LOCATION, location)]).into_response();
    if new {
        let cookie = format!("{COOKIE}={id}; Path=/; HttpOnly; SameSite=Lax; Max-Age=86400");
        if let Ok(value) = HeaderValue::from_str(&cookie) {
            response.headers_mut().insert(header::SET_COOKIE, value);
        }
    }
    response
}

/// Pops every pending message of the client: `(kind, text)` in push order.
async fn pop_all(
    conn: &mut ConnectionManager,
    headers: &HeaderMap,
) -> redis::RedisResult<Vec<(String, String)>> {
    let Some(id) = client_id(headers) else {
        return Ok(Vec::new());
    };
    let items: Option<Vec<String>> = redis::cmd("LPOP")
        .arg(key(id))
        .arg(TAKE_COUNT)
        .query_async(conn)
        .await?;
    Ok(items
        .unwrap_or_default()
        .into_iter()
        .filter_map(|item| {
            item.split_once('|')
                .map(|(k, t)| (k.to_owned(), t.to_owned()))
        })
        .collect())
}

/// `{"kind":["text",…],…}`.
fn grouped(messages: Vec<(String, String)>) -> Response {
    let mut map = serde_json::Map::new();
    for (kind, text) in messages {
        if let serde_json::Value::Array(texts) = map
            .entry(kind)
            .or_insert_with(|| serde_json::Value::Array(Vec::new()))
        {
            texts.push(serde_json::Value::String(text));
        }
    }
    axum::Json(map).into_response()
}

async fn read_all(
    State(mut conn): State<ConnectionManager>,
    headers: HeaderMap,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    let fail = query.get("fail").map(String::as_str);
    if !matches!(fail, None | Some("500" | "panic" | "abort")) {
        return bad_request("fail must be 500, panic or abort");
    }
    let messages = match pop_all(&mut conn, &headers).await {
        Ok(messages) => messages,
        Err(error) => return unavailable(&error),
    };
    match fail {
        Some("500") => (StatusCode::INTERNAL_SERVER_ERROR, "the view failed").into_response(),
        Some("panic") => panic!("the view panicked (fail=panic)"),
        Some("abort") => Response::new(Body::new(Aborting::new())),
        _ => grouped(messages),
    }
}

async fn read_page(
    State(mut conn): State<ConnectionManager>,
    headers: HeaderMap,
    Path(_page): Path<String>,
) -> Response {
    match pop_all(&mut conn, &headers).await {
        Ok(messages) => grouped(messages),
        Err(error) => unavailable(&error),
    }
}

async fn read_kind(
    State(mut conn): State<ConnectionManager>,
    headers: HeaderMap,
    Path(kind): Path<String>,
) -> Response {
    let messages = match pop_all(&mut conn, &headers).await {
        Ok(messages) => messages,
        Err(error) => return unavailable(&error),
    };
    let (mine, others): (Vec<_>, Vec<_>) = messages.into_iter().partition(|(k, _)| *k == kind);
    if let (Some(id), false) = (client_id(&headers), others.is_empty()) {
        let back: Vec<String> = others
            .iter()
            .rev()
            .map(|(k, t)| format!("{k}|{t}"))
            .collect();
        let key = key(id);
        let result: redis::RedisResult<()> = redis::pipe()
            .cmd("LPUSH")
            .arg(&key)
            .arg(back)
            .ignore()
            .cmd("PEXPIRE")
            .arg(&key)
            .arg(TTL_MS)
            .ignore()
            .query_async(&mut conn)
            .await;
        if let Err(error) = result {
            return unavailable(&error);
        }
    }
    let texts: Vec<String> = mine.into_iter().map(|(_, t)| t).collect();
    axum::Json(texts).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_read_only_from_a_well_formed_cookie() {
        let id = new_id();
        assert_eq!(id.len(), 32);
        let mut headers = HeaderMap::new();
        let cookie = format!("theme=dark; flash={id}");
        headers.insert(header::COOKIE, HeaderValue::from_str(&cookie).unwrap());
        assert_eq!(client_id(&headers), Some(id.as_str()));
        headers.insert(header::COOKIE, HeaderValue::from_static("flash=XYZ"));
        assert_eq!(client_id(&headers), None);
        assert_ne!(new_id(), new_id());
    }
}
