//! The layer's hot path without HTTP, for counting instructions:
//!
//! ```text
//! cargo build --release -p bench --example hot_path
//! valgrind --tool=callgrind target/release/examples/hot_path 10000 [cycle|untouched|bare|browser|browser-bare]
//! REDIS_URL=redis+unix:///path.sock valgrind --tool=callgrind target/release/examples/hot_path 10000 redis|floor|floor-mux
//! ```
//!
//! `redis` runs the same cycles on a `RedisStore` at `REDIS_URL` (Redis itself is not
//! counted: it runs outside valgrind); `floor` runs, for each cycle, only the redis-rs calls of
//! `floor-server` (a pipelined `RPUSH` + `PEXPIRE`, then `LPOP key n`) on the same kind of
//! connection: their difference is what the layer and the store add to the client's cost.
//! `floor-mux` runs those calls on redis-rs's plain multiplexed connection, without the
//! reconnecting manager and without a response timeout.
//!
//! `cycle` (the default) runs N redirect cycles through `FlashLayer` on the memory store: a
//! request that pushes a message (store write, cookie signed), then one with that cookie that
//! takes it (cookie verified, store take). `untouched` runs 2N requests with a cookie whose
//! handler does not touch its flash, `bare` the same without the layer: their difference is
//! the layer's cost on a route that does not use it; `browser` and `browser-bare` the same
//! with the 14 other headers of a Chromium navigation. Instructions per request or cycle =
//! (total at N = 11,000 − total at N = 1,000) / 10,000.

#![allow(missing_docs)]

use std::convert::Infallible;

use flash_floor::Backend;
use http::header::{COOKIE, SET_COOKIE};
use http::{HeaderValue, Request, Response};
use http_body::Body as _;
use tower::{Service, ServiceBuilder};
use tower_flash::{Flash, FlashLayer, Key, MemoryStore, RedisStore};

async fn handler(req: Request<String>) -> Result<Response<String>, Infallible> {
    let mut body = String::new();
    if let Some(flash) = req.extensions().get::<Flash>() {
        if req.uri().path() == "/set" {
            let _ = flash.info("Your changes were saved.");
        } else {
            for message in flash.take_all().await {
                body.push_str(message.text());
            }
        }
    }
    Ok(Response::new(body))
}

/// What Chromium sends with a navigation besides its cookie (`browser` and `browser-bare`).
const BROWSER_HEADERS: [(&str, &str); 14] = [
    ("host", "localhost:3000"),
    ("connection", "keep-alive"),
    (
        "sec-ch-ua",
        "\"Chromium\";v=\"131\", \"Not_A Brand\";v=\"24\"",
    ),
    ("sec-ch-ua-mobile", "?0"),
    ("sec-ch-ua-platform", "\"Linux\""),
    ("upgrade-insecure-requests", "1"),
    (
        "user-agent",
        "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 Chrome/131.0 Safari/537.36",
    ),
    (
        "accept",
        "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
    ),
    ("sec-fetch-site", "same-origin"),
    ("sec-fetch-mode", "navigate"),
    ("sec-fetch-user", "?1"),
    ("sec-fetch-dest", "document"),
    ("accept-encoding", "gzip, deflate, br, zstd"),
    ("accept-language", "en-US,en;q=0.9"),
];

fn main() {
    let cycles: usize = std::env::args()
        .nth(1)
        .and_then(|n| n.parse().ok())
        .unwrap_or(10_000);
    let mode = std::env::args()
        .nth(2)
        .unwrap_or_else(|| "cycle".to_owned());
    let mut builder = tokio::runtime::Builder::new_current_thread();
    if mode == "redis" || mode.starts_with("floor") {
        builder.enable_all();
    }
    let Ok(runtime) = builder.build() else {
        return;
    };
    let url = std::env::var("REDIS_URL").unwrap_or_default();
    if let Some(setting) = mode.strip_prefix("floor") {
        // `floor`: the floor's calls on tower-flash's connection; `floor-mux`: on redis-rs's
        // plain multiplexed connection, without the reconnecting manager and without a
        // response timeout: what those two cost the floor.
        let setting = if setting == "-mux" {
            flash_floor::Setting::Multiplexed
        } else {
            flash_floor::Setting::Manager
        };
        match runtime.block_on(flash_floor::connect(&url, setting)) {
            Ok(conn) => runtime.block_on(floor(conn, cycles)),
            Err(error) => eprintln!("hot_path: REDIS_URL: {error}"),
        }
        return;
    }
    let layer = if mode == "redis" {
        match runtime.block_on(RedisStore::connect(&url)) {
            Ok(store) => FlashLayer::new(store, Key::from(&[7u8; 64])).secure(false),
            Err(error) => {
                eprintln!("hot_path: REDIS_URL: {error}");
                return;
            }
        }
    } else {
        FlashLayer::new(MemoryStore::new(), Key::from(&[7u8; 64])).secure(false)
    };
    let mode = if mode == "redis" {
        "cycle".to_owned()
    } else {
        mode
    };
    if mode != "cycle" {
        let untouched = |req: Request<String>| async move {
            Ok::<_, Infallible>(Response::new(req.into_body()))
        };
        runtime.block_on(async {
            let cookie = HeaderValue::from_static("theme=dark; flash=x");
            let mut layered = ServiceBuilder::new().layer(layer).service_fn(untouched);
            let mut bare = tower::service_fn(untouched);
            for _ in 0..cycles * 2 {
                let mut req = Request::get("/health")
                    .body(String::new())
                    .unwrap_or_default();
                req.headers_mut().insert(COOKIE, cookie.clone());
                if mode.starts_with("browser") {
                    for (name, value) in BROWSER_HEADERS {
                        req.headers_mut()
                            .insert(name, HeaderValue::from_static(value));
                    }
                }
                let ok = if mode.ends_with("bare") {
                    bare.call(req).await.is_ok()
                } else {
                    layered.call(req).await.is_ok()
                };
                std::hint::black_box(ok);
            }
        });
        println!("{} {mode} requests", cycles * 2);
        return;
    }
    let mut service = ServiceBuilder::new().layer(layer).service_fn(handler);
    runtime.block_on(async {
        let mut cookie: Option<HeaderValue> = None;
        let mut delivered = 0;
        for _ in 0..cycles {
            let mut set = Request::get("/set").body(String::new()).unwrap_or_default();
            if let Some(c) = &cookie {
                set.headers_mut().insert(COOKIE, c.clone());
            }
            let Ok(res) = service.call(set).await;
            if let Some(pair) = res
                .headers()
                .get(SET_COOKIE)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.split(';').next())
                .and_then(|v| HeaderValue::from_str(v).ok())
            {
                cookie = Some(pair);
            }
            let mut read = Request::get("/read")
                .body(String::new())
                .unwrap_or_default();
            if let Some(c) = &cookie {
                read.headers_mut().insert(COOKIE, c.clone());
            }
            let Ok(res) = service.call(read).await;
            delivered += usize::from(res.body().size_hint().exact() != Some(0));
        }
        println!("{cycles} cycles, {delivered} messages delivered");
    });
}

/// `floor`: the redis-rs calls of `floor-server`'s cycle, nothing else.
async fn floor(backend: impl Backend, cycles: usize) {
    let delivered = flash_floor::cycles(&backend, cycles).await;
    println!("{cycles} cycles, {delivered} messages delivered");
}
