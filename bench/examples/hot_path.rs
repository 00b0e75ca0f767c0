//! The layer's hot path without HTTP, for counting instructions:
//!
//! ```text
//! cargo build --release -p bench --example hot_path
//! valgrind --tool=callgrind target/release/examples/hot_path 10000 [cycle|untouched|bare]
//! ```
//!
//! `cycle` (the default) runs N redirect cycles through `FlashLayer` on the memory store: a
//! request that pushes a message (store write, cookie signed), then one with that cookie that
//! takes it (cookie verified, store take). `untouched` runs 2N requests with a cookie whose
//! handler does not touch its flash, `bare` the same without the layer: their difference is
//! the layer's cost on a route that does not use it. Instructions per request or cycle =
//! (total at N = 11,000 − total at N = 1,000) / 10,000.

#![allow(missing_docs)]

use std::convert::Infallible;

use http::header::{COOKIE, SET_COOKIE};
use http::{HeaderValue, Request, Response};
use http_body::Body as _;
use tower::{Service, ServiceBuilder};
use tower_flash::{Flash, FlashLayer, Key, MemoryStore};

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

fn main() {
    let cycles: usize = std::env::args()
        .nth(1)
        .and_then(|n| n.parse().ok())
        .unwrap_or(10_000);
    let Ok(runtime) = tokio::runtime::Builder::new_current_thread().build() else {
        return;
    };
    let layer = FlashLayer::new(MemoryStore::new(), Key::from(&[7u8; 64])).secure(false);
    let mode = std::env::args()
        .nth(2)
        .unwrap_or_else(|| "cycle".to_owned());
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
                let ok = if mode == "bare" {
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
