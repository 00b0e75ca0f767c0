//! tower-flash's request-level contract (the cases `store_contract_tests!` runs on axum) on
//! actix-web: the same cases, each request's job run by an actix handler with this crate's
//! `Flash` extractor, behind `FlashMiddleware`, on a real `HttpServer` on loopback and a real
//! HTTP client; on the memory store and on a real redis-server. One suite, two frameworks.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::mpsc;

use actix_web::body::{BodyStream, SizedStream};
use actix_web::http::StatusCode;
use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::middleware::Condition;
use actix_web::{App, HttpRequest, HttpResponse, HttpServer, web};
use http_body::Body as _;
use tower_flash::{MemoryStore, RedisStore};
use tower_flash_actix::{Flash, FlashMiddleware};
use tower_flash_testkit::contract::Fixture;
use tower_flash_testkit::harness::redis_server::{self, RedisServer};
use tower_flash_testkit::harness::{Frontend, JOB_HEADER, Served, TestApp, run_registered_job};

/// Serves the contract's test app with actix-web: two workers, each in its own thread and
/// runtime as actix runs them, in a thread of their own, away from the test's runtime.
struct Actix;

impl Frontend for Actix {
    fn serve(&self, app: &TestApp) -> Served {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind loopback");
        let addr = listener.local_addr().expect("local address");
        let inner = FlashMiddleware::new(app.layer().clone());
        let outer = app.outer().cloned().map(FlashMiddleware::new);
        let (started, handle) = mpsc::channel();
        std::thread::spawn(move || {
            actix_web::rt::System::new().block_on(async move {
                let server = HttpServer::new(move || {
                    // The outer middleware, when the app stacks two, or a disabled copy.
                    let second = outer.clone();
                    App::new()
                        .default_service(web::to(run_job))
                        .wrap(inner.clone())
                        .wrap(Condition::new(
                            second.is_some(),
                            second.unwrap_or_else(|| inner.clone()),
                        ))
                })
                .workers(2)
                .disable_signals()
                .shutdown_timeout(0)
                .listen(listener)
                .expect("listen")
                .run();
                started.send(server.handle()).expect("the test waits");
                let _ = server.await;
            });
        });
        let handle = handle.recv().expect("the server started");
        Served::new(addr, Stop(handle))
    }
}

/// Stops the server when the test's browsers are gone (its thread then ends).
struct Stop(actix_web::dev::ServerHandle);

impl Drop for Stop {
    fn drop(&mut self) {
        // The command is sent at once; nobody needs to wait for the stop.
        let _sent = self.0.stop(false);
    }
}

/// Every path: the job the request names, with the request's flash handle.
async fn run_job(req: HttpRequest, flash: Flash) -> HttpResponse {
    let id = req
        .headers()
        .get(JOB_HEADER)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    actix_response(run_registered_job(id.as_deref(), flash.into_inner()).await)
}

/// The job's answer as an actix handler would give it: same status and headers; a body of
/// no byte as actix's empty body, one of known length as a sized stream (a `Content-Length`
/// the job set counts, as hyper honours it), any other streamed as it comes, so that a
/// failing body fails and an endless one never ends.
fn actix_response(res: axum::response::Response) -> HttpResponse {
    let (parts, body) = res.into_parts();
    let status = StatusCode::from_u16(parts.status.as_u16()).expect("a valid status");
    let declared = parts
        .headers
        .get(http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    let length = body.size_hint().exact().or(declared);
    let mut actix = match length {
        Some(0) => HttpResponse::build(status).finish(),
        Some(length) => {
            HttpResponse::build(status).body(SizedStream::new(length, body.into_data_stream()))
        }
        None => HttpResponse::build(status).body(BodyStream::new(body.into_data_stream())),
    };
    for (name, value) in &parts.headers {
        // Framing is actix's to write, from the body.
        if name == http::header::CONTENT_LENGTH || name == http::header::TRANSFER_ENCODING {
            continue;
        }
        let name = HeaderName::from_bytes(name.as_str().as_bytes()).expect("a header name");
        let value = HeaderValue::from_bytes(value.as_bytes()).expect("a header value");
        actix.headers_mut().append(name, value);
    }
    actix
}

/// The contract's Redis fixture: a throwaway redis-server and a store on it.
struct Redis {
    store: RedisStore,
    _server: RedisServer,
}

impl Redis {
    async fn start() -> Self {
        let server = RedisServer::start();
        let store = RedisStore::connect_with(&server.url(), redis_server::contract_options())
            .await
            .expect("connect to the test redis-server");
        Redis {
            store,
            _server: server,
        }
    }
}

impl Fixture for Redis {
    type Store = RedisStore;
    fn store(&self) -> RedisStore {
        self.store.clone()
    }
}

mod memory {
    use super::*;
    tower_flash_testkit::store_contract_tests!(on_framework Actix, async { MemoryStore::new() });
}

mod redis {
    use super::*;
    tower_flash_testkit::store_contract_tests!(on_framework Actix, Redis::start());
}
