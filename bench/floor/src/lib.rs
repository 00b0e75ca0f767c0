//! The floor of the Redis benchmark (binaries `floor-server`, and `floor-fred` in
//! bench/floor-fred): the routes of `bench/CONTRACT.md` in bare axum over the fewest Redis
//! calls, to measure what the dependency stack alone costs.
//!
//! It is not a product and keeps none of tower-flash's guarantees beyond what the load
//! generator checks: the client's id is an unsigned random cookie, a message is stored as
//! `kind|text`, a push is one pipelined `RPUSH` + `PEXPIRE` (not atomic, no cap), a read one
//! `LPOP key n`; `GET /read/K` pops everything and pushes the other kinds back (not atomic).
//! The routes are generic over a [`Backend`], the three calls on one Redis client, so that
//! the same floor measures several clients and settings: redis-rs's [`ConnectionManager`]
//! with a response timeout as tower-flash connects ([`Setting::Manager`], the default), its
//! plain multiplexed connection, a larger pipeline buffer, and fred (bench/floor-fred, its
//! own cargo project so that CI never builds fred). Only the store calls differ from
//! `bench-server`: the same router, the same panic-catching layer on the same routes.
//!
//! The crate also holds the two pieces of the contract that every benchmark server shares:
//! [`local_redirect`] and the [`Aborting`] body.

use std::collections::HashMap;
use std::future::Future;
use std::hash::{BuildHasher, RandomState};
use std::pin::Pin;
use std::task::{Context, Poll};

use axum::Router;
use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use bytes::Bytes;
use http_body::Frame;
use redis::aio::{ConnectionLike, ConnectionManager, ConnectionManagerConfig};
use tower_http::catch_panic::CatchPanicLayer;

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

/// The three Redis calls the floor makes, on one client.
pub trait Backend: Clone + Send + Sync + 'static {
    /// What a failed call reports.
    type Error: std::fmt::Display + Send;

    /// `RPUSH key item` and `PEXPIRE key ttl_ms`, pipelined.
    fn push_back(
        &self,
        key: String,
        item: String,
        ttl_ms: u64,
    ) -> impl Future<Output = Result<(), Self::Error>> + Send;

    /// `LPUSH key items…` and `PEXPIRE key ttl_ms`, pipelined: `items` end up at the front,
    /// the last one first.
    fn push_front(
        &self,
        key: String,
        items: Vec<String>,
        ttl_ms: u64,
    ) -> impl Future<Output = Result<(), Self::Error>> + Send;

    /// `LPOP key count`: up to `count` items from the front, none for a missing key.
    fn pop(
        &self,
        key: String,
        count: usize,
    ) -> impl Future<Output = Result<Vec<String>, Self::Error>> + Send;
}

/// How the redis-rs floor connects: the settings issue 15 asks about.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Setting {
    /// As `RedisStore::connect` does: a [`ConnectionManager`] (which reconnects) with a
    /// 250 ms connection timeout and a 5 s response timeout.
    Manager,
    /// redis-rs's plain multiplexed connection, without the manager and without a response
    /// timeout: what those two cost.
    Multiplexed,
    /// [`Setting::Manager`] with a pipeline buffer of 1,024 commands instead of redis-rs's
    /// 50.
    ManagerLargeBuffer,
}

impl Setting {
    /// The setting named `name` (`manager`, `multiplexed`, `manager-buffer`).
    pub fn from_name(name: &str) -> Option<Self> {
        match name {
            "manager" => Some(Setting::Manager),
            "multiplexed" => Some(Setting::Multiplexed),
            "manager-buffer" => Some(Setting::ManagerLargeBuffer),
            _ => None,
        }
    }
}

/// A redis-rs async connection as a [`Backend`]: a [`ConnectionManager`] or a
/// `MultiplexedConnection` (both are cheap handles on one shared connection).
#[derive(Clone)]
pub struct RedisRs<C>(pub C);

/// A redis-rs connection of either kind, as [`connect`] makes it.
pub type AnyRedisRs = RedisRs<Conn>;

/// The connection a [`Setting`] makes.
#[derive(Clone)]
pub enum Conn {
    /// [`Setting::Manager`] or [`Setting::ManagerLargeBuffer`].
    Manager(ConnectionManager),
    /// [`Setting::Multiplexed`].
    Multiplexed(redis::aio::MultiplexedConnection),
}

impl ConnectionLike for Conn {
    fn req_packed_command<'a>(
        &'a mut self,
        cmd: &'a redis::Cmd,
    ) -> redis::RedisFuture<'a, redis::Value> {
        match self {
            Conn::Manager(c) => c.req_packed_command(cmd),
            Conn::Multiplexed(c) => c.req_packed_command(cmd),
        }
    }

    fn req_packed_commands<'a>(
        &'a mut self,
        cmd: &'a redis::Pipeline,
        offset: usize,
        count: usize,
    ) -> redis::RedisFuture<'a, Vec<redis::Value>> {
        match self {
            Conn::Manager(c) => c.req_packed_commands(cmd, offset, count),
            Conn::Multiplexed(c) => c.req_packed_commands(cmd, offset, count),
        }
    }

    fn get_db(&self) -> i64 {
        match self {
            Conn::Manager(c) => c.get_db(),
            Conn::Multiplexed(c) => c.get_db(),
        }
    }
}

/// Connects to the Redis server at `url` with `setting`.
pub async fn connect(url: &str, setting: Setting) -> redis::RedisResult<AnyRedisRs> {
    let client = redis::Client::open(url)?;
    let manager = ConnectionManagerConfig::new()
        .set_connection_timeout(Some(std::time::Duration::from_millis(250)))
        .set_response_timeout(Some(std::time::Duration::from_secs(5)));
    let conn = match setting {
        Setting::Manager => {
            Conn::Manager(ConnectionManager::new_with_config(client, manager).await?)
        }
        Setting::ManagerLargeBuffer => Conn::Manager(
            ConnectionManager::new_with_config(client, manager.set_pipeline_buffer_size(1024))
                .await?,
        ),
        Setting::Multiplexed => {
            let config = redis::AsyncConnectionConfig::new().set_response_timeout(None);
            Conn::Multiplexed(
                client
                    .get_multiplexed_async_connection_with_config(&config)
                    .await?,
            )
        }
    };
    Ok(RedisRs(conn))
}

impl<C> RedisRs<C>
where
    C: ConnectionLike + Clone + Send + Sync + 'static,
{
    /// `push key items` (`RPUSH` or `LPUSH`) and `PEXPIRE key ttl_ms`, pipelined.
    async fn push(
        &self,
        push: &str,
        key: String,
        items: impl redis::ToRedisArgs + Send,
        ttl_ms: u64,
    ) -> redis::RedisResult<()> {
        let mut conn = self.0.clone();
        redis::pipe()
            .cmd(push)
            .arg(&key)
            .arg(items)
            .ignore()
            .cmd("PEXPIRE")
            .arg(&key)
            .arg(ttl_ms)
            .ignore()
            .query_async(&mut conn)
            .await
    }
}

impl<C> Backend for RedisRs<C>
where
    C: ConnectionLike + Clone + Send + Sync + 'static,
{
    type Error = redis::RedisError;

    async fn push_back(&self, key: String, item: String, ttl_ms: u64) -> redis::RedisResult<()> {
        self.push("RPUSH", key, item, ttl_ms).await
    }

    async fn push_front(
        &self,
        key: String,
        items: Vec<String>,
        ttl_ms: u64,
    ) -> redis::RedisResult<()> {
        self.push("LPUSH", key, items, ttl_ms).await
    }

    async fn pop(&self, key: String, count: usize) -> redis::RedisResult<Vec<String>> {
        let mut conn = self.0.clone();
        let items: Option<Vec<String>> = redis::cmd("LPOP")
            .arg(key)
            .arg(count)
            .query_async(&mut conn)
            .await?;
        Ok(items.unwrap_or_default())
    }
}

/// `n` of the floor's cycles (a push, then a pop) on one key, one after another, with
/// nothing else around them: for counting a client's instructions per cycle under callgrind
/// (`bench/examples/hot_path.rs floor`, `floor-fred --cycles`). Returns the messages
/// delivered (`n` when every call succeeded).
pub async fn cycles<B: Backend>(backend: &B, n: usize) -> usize {
    let key = "floor:{0123456789abcdef0123456789abcdef}";
    let mut delivered = 0;
    for _ in 0..n {
        let pushed = backend
            .push_back(
                key.to_owned(),
                "info|Your changes were saved.".to_owned(),
                TTL_MS,
            )
            .await;
        let taken = backend.pop(key.to_owned(), TAKE_COUNT).await;
        if pushed.is_ok() {
            delivered += taken.map_or(0, |t| t.len());
        }
    }
    delivered
}

/// The routes of the contract over `backend`; `/bare` without the panic-catching layer.
pub fn app<B: Backend>(backend: B) -> Router {
    let routes = Router::new()
        .route("/health", get(health))
        .route("/set", get(set::<B>))
        .route("/read", get(read_all::<B>))
        .route("/read/{kind}", get(read_kind::<B>))
        .route("/page/{page}", get(read_page::<B>))
        .layer(CatchPanicLayer::new())
        .with_state(backend);
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

fn unavailable(error: impl std::fmt::Display) -> Response {
    (StatusCode::SERVICE_UNAVAILABLE, format!("redis: {error}")).into_response()
}

async fn set<B: Backend>(
    State(backend): State<B>,
    headers: HeaderMap,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    let set = match parse_set(&query) {
        Ok(set) => set,
        Err(reason) => return bad_request(reason),
    };
    let (kind, msg) = (set.kind, set.msg);
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
    let (id, new) = match client_id(&headers) {
        Some(id) => (id.to_owned(), false),
        None => (new_id(), true),
    };
    if let Err(error) = backend
        .push_back(key(&id), format!("{kind}|{msg}"), TTL_MS)
        .await
    {
        return unavailable(error);
    }
    let mut response = (StatusCode::FOUND, [(header::LOCATION, set.location)]).into_response();
    if new {
        let cookie = format!("{COOKIE}={id}; Path=/; HttpOnly; SameSite=Lax; Max-Age=86400");
        if let Ok(value) = HeaderValue::from_str(&cookie) {
            response.headers_mut().insert(header::SET_COOKIE, value);
        }
    }
    response
}

/// Pops every pending message of the client: `(kind, text)` in push order.
async fn pop_all<B: Backend>(
    backend: &B,
    headers: &HeaderMap,
) -> Result<Vec<(String, String)>, B::Error> {
    let Some(id) = client_id(headers) else {
        return Ok(Vec::new());
    };
    let items = backend.pop(key(id), TAKE_COUNT).await?;
    Ok(items
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

async fn read_all<B: Backend>(
    State(backend): State<B>,
    headers: HeaderMap,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    let fail = match parse_fail(&query) {
        Ok(fail) => fail,
        Err(reason) => return bad_request(reason),
    };
    let messages = match pop_all(&backend, &headers).await {
        Ok(messages) => messages,
        Err(error) => return unavailable(error),
    };
    match fail {
        Some(Fail::Status500) => {
            (StatusCode::INTERNAL_SERVER_ERROR, "the view failed").into_response()
        }
        Some(Fail::Panic) => panic!("the view panicked (fail=panic)"),
        Some(Fail::Abort) => Response::new(Body::new(Aborting::new())),
        None => grouped(messages),
    }
}

async fn read_page<B: Backend>(
    State(backend): State<B>,
    headers: HeaderMap,
    Path(_page): Path<String>,
) -> Response {
    match pop_all(&backend, &headers).await {
        Ok(messages) => grouped(messages),
        Err(error) => unavailable(error),
    }
}

async fn read_kind<B: Backend>(
    State(backend): State<B>,
    headers: HeaderMap,
    Path(kind): Path<String>,
) -> Response {
    let messages = match pop_all(&backend, &headers).await {
        Ok(messages) => messages,
        Err(error) => return unavailable(error),
    };
    let (mine, others): (Vec<_>, Vec<_>) = messages.into_iter().partition(|(k, _)| *k == kind);
    if let (Some(id), false) = (client_id(&headers), others.is_empty()) {
        let back: Vec<String> = others
            .iter()
            .rev()
            .map(|(k, t)| format!("{k}|{t}"))
            .collect();
        if let Err(error) = backend.push_front(key(id), back, TTL_MS).await {
            return unavailable(error);
        }
    }
    let texts: Vec<String> = mine.into_iter().map(|(_, t)| t).collect();
    axum::Json(texts).into_response()
}

/// The `Location` for `next` if it is `/read` or `/page/X` on this site: X one plain path
/// segment (never `.` or `..`, which a browser would resolve elsewhere), then optionally a
/// `?query` of visible ASCII. Anything else, including what is no valid header value, is
/// refused: never an open redirect, never a 302 without its `Location`.
pub fn local_redirect(next: &str) -> Option<HeaderValue> {
    let local = next == "/read"
        || next.strip_prefix("/page/").is_some_and(|rest| {
            let (segment, query) = rest.split_once('?').unwrap_or((rest, ""));
            let plain = |b: u8| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~');
            !matches!(segment, "" | "." | "..")
                && segment.bytes().all(plain)
                && query
                    .bytes()
                    .all(|b| b.is_ascii_graphic() && !matches!(b, b'#' | b'\\'))
        });
    if local {
        HeaderValue::from_str(next).ok()
    } else {
        None
    }
}

/// The `set` route's query, checked ([`parse_set`]).
pub struct SetQuery<'a> {
    /// The message's kind, as given (each server checks it its own way).
    pub kind: &'a str,
    /// The message's text, as given.
    pub msg: &'a str,
    /// Where the redirect goes: `next`, `/read` when absent.
    pub location: HeaderValue,
}

/// The `set` route's query as every benchmark server checks it, or the reason for its 400:
/// `kind` and `msg` present, `next` a [`local_redirect`]. Checked before anything is
/// stored: a refused `next` must leave nothing behind.
pub fn parse_set(query: &HashMap<String, String>) -> Result<SetQuery<'_>, &'static str> {
    let (Some(kind), Some(msg)) = (query.get("kind"), query.get("msg")) else {
        return Err("kind and msg are required");
    };
    let location = local_redirect(query.get("next").map_or("/read", String::as_str)).ok_or(
        "next must be /read or /page/X (X: letters, digits, '-', '_', '.', '~'; an optional ?query)",
    )?;
    Ok(SetQuery {
        kind,
        msg,
        location,
    })
}

/// How `/read?fail=…` fails after its take ([`parse_fail`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fail {
    /// `fail=500`: a 500 instead of the messages.
    Status500,
    /// `fail=panic`: the handler panics.
    Panic,
    /// `fail=abort`: a 200 whose body breaks ([`Aborting`]).
    Abort,
}

/// The read route's `fail`, or the reason for its 400.
pub fn parse_fail(query: &HashMap<String, String>) -> Result<Option<Fail>, &'static str> {
    match query.get("fail").map(String::as_str) {
        None => Ok(None),
        Some("500") => Ok(Some(Fail::Status500)),
        Some("panic") => Ok(Some(Fail::Panic)),
        Some("abort") => Ok(Some(Fail::Abort)),
        Some(_) => Err("fail must be 500, panic or abort"),
    }
}

/// A body that starts, then fails: `fail=abort` (the floor server answers it with this too).
///
/// It waits once between its first bytes and its error, so that the server sends the 200
/// head and those bytes before the error closes the connection: the client sees a response
/// that breaks, not a connection closed before any answer.
pub struct Aborting {
    stage: AbortStage,
}

enum AbortStage {
    Start,
    Sent,
    Failing,
    Done,
}

impl Aborting {
    /// A body that has sent nothing yet.
    #[allow(clippy::new_without_default)] // a body, not a value with a meaningful default
    pub fn new() -> Self {
        Aborting {
            stage: AbortStage::Start,
        }
    }
}

impl http_body::Body for Aborting {
    type Data = Bytes;
    type Error = std::io::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, std::io::Error>>> {
        match self.stage {
            AbortStage::Start => {
                self.stage = AbortStage::Sent;
                Poll::Ready(Some(Ok(Frame::data(Bytes::from_static(b"{\"partial\":")))))
            }
            AbortStage::Sent => {
                // Pending lets the connection flush what it has before the error.
                self.stage = AbortStage::Failing;
                cx.waker().wake_by_ref();
                Poll::Pending
            }
            AbortStage::Failing => {
                self.stage = AbortStage::Done;
                Poll::Ready(Some(Err(std::io::Error::other(
                    "fail=abort: the body broke",
                ))))
            }
            AbortStage::Done => Poll::Ready(None),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn next_stays_on_the_site_and_is_always_a_valid_location() {
        for ok in [
            "/read",
            "/page/x",
            "/page/target",
            "/page/a.b~c-d_e",
            "/page/x?a=1&b=/c",
        ] {
            assert_eq!(
                local_redirect(ok).as_ref().map(HeaderValue::as_bytes),
                Some(ok.as_bytes()),
                "{ok}"
            );
        }
        for bad in [
            "",
            "/",
            "/read/x",
            "/admin",
            "//evil.example/",
            "https://evil.example/",
            "/page/",
            "/page/.",
            "/page/..",
            "/page/../admin",
            "/page/a/b",
            "/page/a\\b",
            "/page/%2e%2e",
            "/page/a\rb",
            "/page/a\nLocation: //evil",
            "/page/é",
            "/page/x?a\0",
            "/page/x#f",
        ] {
            assert!(local_redirect(bad).is_none(), "{bad:?}");
        }
    }

    #[test]
    fn set_and_fail_queries_are_checked_as_the_contract_says() {
        let query = |pairs: &[(&str, &str)]| -> HashMap<String, String> {
            pairs
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect()
        };
        let set = query(&[("kind", "info"), ("msg", "Saved")]);
        let parsed = parse_set(&set).unwrap();
        assert_eq!((parsed.kind, parsed.msg), ("info", "Saved"));
        assert_eq!(parsed.location, "/read");
        let paged = query(&[("kind", "info"), ("msg", "x"), ("next", "/page/a")]);
        assert_eq!(parse_set(&paged).unwrap().location, "/page/a");
        for bad in [
            query(&[("msg", "x")]),
            query(&[("kind", "info")]),
            query(&[("kind", "info"), ("msg", "x"), ("next", "//evil.example/")]),
        ] {
            assert!(parse_set(&bad).is_err(), "{bad:?}");
        }

        assert_eq!(parse_fail(&query(&[])), Ok(None));
        for (value, fail) in [
            ("500", Fail::Status500),
            ("panic", Fail::Panic),
            ("abort", Fail::Abort),
        ] {
            assert_eq!(parse_fail(&query(&[("fail", value)])), Ok(Some(fail)));
        }
        assert!(parse_fail(&query(&[("fail", "bogus")])).is_err());
    }

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
