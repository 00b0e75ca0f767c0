//! `peer-actix`: the routes of tower-flash's `bench/CONTRACT.md` on actix-web, with
//! actix-web-flash-messages storing messages in the session and actix-session keeping the
//! session in Redis (`RedisSessionStore`). Built and run only by `bench/run.sh`, to measure
//! tower-flash against it in the same run.
//!
//! ```text
//! REDIS_URL=redis://127.0.0.1:6379 peer-actix --addr 127.0.0.1:8080
//! ```
//!
//! Kinds are the library's five levels (`debug`, `info`, `success`, `warning`, `error`);
//! another kind is refused with a 400. `GET /read/K` takes every message (the library reads
//! all of a request's messages at once and keeps none). The `fail=` variants answer as the
//! contract says, but the library cannot keep messages for a later read.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::process::ExitCode;

use actix_session::SessionMiddleware;
use actix_session::storage::RedisSessionStore;
use actix_web::cookie::Key;
use actix_web::http::header;
use actix_web::{App, HttpResponse, HttpServer, web};
use actix_web_flash_messages::storage::SessionMessageStore;
use actix_web_flash_messages::{
    FlashMessage, FlashMessagesFramework, IncomingFlashMessages, Level,
};

/// The session cookie's signing key: fixed, so that restarts accept old cookies.
const KEY: &[u8; 64] = b"peer-actix development key, for benchmarks only: never deploy it";

fn level(kind: &str) -> Option<Level> {
    Some(match kind {
        "debug" => Level::Debug,
        "info" => Level::Info,
        "success" => Level::Success,
        "warning" => Level::Warning,
        "error" => Level::Error,
        _ => return None,
    })
}

fn name(level: Level) -> &'static str {
    match level {
        Level::Debug => "debug",
        Level::Info => "info",
        Level::Success => "success",
        Level::Warning => "warning",
        Level::Error => "error",
    }
}

/// The same rule as bench-server: `/read`, or `/page/X` with X one plain segment.
fn local(next: &str) -> bool {
    next == "/read"
        || next.strip_prefix("/page/").is_some_and(|rest| {
            let segment = rest.split_once('?').map_or(rest, |(s, _)| s);
            !matches!(segment, "" | "." | "..")
                && segment
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~'))
                && rest
                    .bytes()
                    .all(|b| b.is_ascii_graphic() && b != b'#' && b != b'\\')
        })
}

async fn ok() -> &'static str {
    "ok"
}

async fn set(query: web::Query<HashMap<String, String>>) -> HttpResponse {
    let (Some(kind), Some(msg)) = (query.get("kind"), query.get("msg")) else {
        return HttpResponse::BadRequest().body("kind and msg are required");
    };
    let Some(level) = level(kind) else {
        return HttpResponse::BadRequest().body("kind must be a level");
    };
    if msg.is_empty() || msg.len() > 4096 {
        return HttpResponse::BadRequest().body("invalid msg");
    }
    let next = query.get("next").map_or("/read", String::as_str);
    if !local(next) {
        return HttpResponse::BadRequest().body("next must be /read or /page/X");
    }
    FlashMessage::new(msg.clone(), level).send();
    HttpResponse::Found()
        .insert_header((header::LOCATION, next.to_owned()))
        .finish()
}

fn grouped(messages: &IncomingFlashMessages) -> HttpResponse {
    let mut map = serde_json::Map::new();
    for m in messages.iter() {
        if let serde_json::Value::Array(texts) = map
            .entry(name(m.level()))
            .or_insert_with(|| serde_json::Value::Array(Vec::new()))
        {
            texts.push(serde_json::Value::String(m.content().to_owned()));
        }
    }
    HttpResponse::Ok().json(map)
}

async fn read(
    messages: IncomingFlashMessages,
    query: web::Query<HashMap<String, String>>,
) -> HttpResponse {
    match query.get("fail").map(String::as_str) {
        None => grouped(&messages),
        Some("500" | "panic" | "abort") => {
            HttpResponse::InternalServerError().body("the view failed")
        }
        Some(_) => HttpResponse::BadRequest().body("fail must be 500, panic or abort"),
    }
}

async fn read_page(messages: IncomingFlashMessages) -> HttpResponse {
    grouped(&messages)
}

async fn read_kind(messages: IncomingFlashMessages, kind: web::Path<String>) -> HttpResponse {
    let texts: Vec<&str> = messages
        .iter()
        .filter(|m| name(m.level()) == kind.as_str())
        .map(|m| m.content())
        .collect();
    HttpResponse::Ok().json(texts)
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let addr: SocketAddr = match args.as_slice() {
        [flag, addr] if flag == "--addr" => match addr.parse() {
            Ok(addr) => addr,
            Err(_) => {
                eprintln!("peer-actix: --addr {addr} is not HOST:PORT");
                return ExitCode::from(2);
            }
        },
        _ => {
            eprintln!("usage: REDIS_URL=… peer-actix --addr HOST:PORT");
            return ExitCode::from(2);
        }
    };
    let Some(url) = std::env::var("REDIS_URL").ok().filter(|u| !u.is_empty()) else {
        eprintln!("peer-actix: REDIS_URL is required");
        return ExitCode::from(2);
    };
    let result = actix_web::rt::System::new().block_on(async move {
        let store = RedisSessionStore::new(url)
            .await
            .map_err(|e| std::io::Error::other(format!("cannot connect to Redis: {e}")))?;
        let key = Key::from(KEY);
        eprintln!("peer-actix listening on http://{addr} (store: actix-session Redis)");
        HttpServer::new(move || {
            let flash = FlashMessagesFramework::builder(SessionMessageStore::default())
                .minimum_level(Level::Debug)
                .build();
            let session = SessionMiddleware::builder(store.clone(), key.clone())
                .cookie_secure(false)
                .build();
            App::new().route("/bare", web::get().to(ok)).service(
                web::scope("")
                    .wrap(flash)
                    .wrap(session)
                    .route("/health", web::get().to(ok))
                    .route("/set", web::get().to(set))
                    .route("/read", web::get().to(read))
                    .route("/read/{kind}", web::get().to(read_kind))
                    .route("/page/{page}", web::get().to(read_page)),
            )
        })
        .workers(1)
        .bind(addr)?
        .run()
        .await
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("peer-actix: {error}");
            ExitCode::FAILURE
        }
    }
}
