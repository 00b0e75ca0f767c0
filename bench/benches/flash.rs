//! Micro-benchmarks: message encoding, the layer's cost per request (which includes cookie
//! verification and signing) against the same service without the layer, and an htmx
//! request whose `HX-Trigger` header is filled from a long queue.
//!
//! `cargo bench -p bench --bench flash`

#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

use std::convert::Infallible;
use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use http::header::{COOKIE, SET_COOKIE};
use http::{Request, Response};
use tower::{Service, ServiceBuilder, ServiceExt};
use tower_flash::store::codec;
use tower_flash::{Flash, FlashLayer, HtmxDelivery, Key, Level, MemoryStore, Message};

fn encoding(c: &mut Criterion) {
    let message = Message::new(Level::Success, "Your changes were saved.");
    let encoded = codec::encode(&message);
    c.bench_function("message/encode", |b| {
        b.iter(|| codec::encode(black_box(&message)))
    });
    c.bench_function("message/decode", |b| {
        b.iter(|| codec::decode(black_box(&encoded)).unwrap())
    });
}

type Body = String;

/// What the handler does with the request's flash.
#[derive(Clone, Copy)]
enum Work {
    Nothing,
    Push,
    Take,
    /// Pushes this many messages.
    Queue(usize),
}

async fn handler(req: Request<Body>, work: Work) -> Result<Response<Body>, Infallible> {
    if let Some(flash) = req.extensions().get::<Flash>() {
        match work {
            Work::Nothing => {}
            Work::Push => {
                flash.info("Saved").unwrap();
            }
            Work::Take => {
                black_box(flash.take_all().await);
            }
            Work::Queue(n) => {
                for i in 0..n {
                    flash
                        .info(format!("Message number {i} was saved."))
                        .unwrap();
                }
            }
        }
    }
    Ok(Response::new(String::new()))
}

/// A request, with the flash cookie `cookie` and, for `htmx`, `HX-Request: true`.
fn request(cookie: Option<&str>, htmx: bool) -> Request<Body> {
    let mut req = Request::new(String::new());
    if let Some(cookie) = cookie {
        req.headers_mut().insert(COOKIE, cookie.parse().unwrap());
    }
    if htmx {
        req.headers_mut()
            .insert("hx-request", "true".parse().unwrap());
    }
    req
}

/// The `name=value` of the flash cookie a response sets.
fn cookie_of<B>(res: &Response<B>) -> String {
    let set = res.headers()[SET_COOKIE].to_str().unwrap();
    set.split(';').next().unwrap().to_owned()
}

fn layer_cost(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let layer = FlashLayer::new(MemoryStore::new(), Key::from(&[7u8; 64])).secure(false);
    let service = |work: Work| {
        ServiceBuilder::new()
            .layer(layer.clone())
            .service_fn(move |req| handler(req, work))
    };
    // A valid cookie, from a real push.
    let cookie = runtime.block_on(async {
        let res = service(Work::Push)
            .oneshot(request(None, false))
            .await
            .unwrap();
        cookie_of(&res)
    });

    let mut group = c.benchmark_group("request");
    let mut bare = tower::service_fn(|req| handler(req, Work::Nothing));
    group.bench_function("bare (no layer)", |b| {
        b.to_async(&runtime)
            .iter(|| bare.call(request(Some(&cookie), false)))
    });
    let mut untouched = service(Work::Nothing);
    group.bench_function("layer, no cookie, untouched", |b| {
        b.to_async(&runtime)
            .iter(|| untouched.call(request(None, false)))
    });
    group.bench_function("layer, cookie, untouched", |b| {
        b.to_async(&runtime)
            .iter(|| untouched.call(request(Some(&cookie), false)))
    });
    let mut push = service(Work::Push);
    group.bench_function("layer, push (store + sign cookie)", |b| {
        b.to_async(&runtime)
            .iter(|| push.call(request(Some(&cookie), false)))
    });
    let mut take = service(Work::Take);
    group.bench_function("layer, take (verify cookie + store)", |b| {
        b.to_async(&runtime)
            .iter(|| take.call(request(Some(&cookie), false)))
    });
    group.finish();
}

/// An htmx request that finds 64 messages queued (the default cap per client): the layer
/// sends as many as fit in its 4 KiB `HX-Trigger` header and puts the others back. The
/// handler pushes as many as a header carries, so the queue is as long at every request.
fn htmx_delivery(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let layer = FlashLayer::new(MemoryStore::new(), Key::from(&[7u8; 64]))
        .secure(false)
        .deliver_to_htmx(HtmxDelivery::default());
    let service = |work: Work| {
        ServiceBuilder::new()
            .layer(layer.clone())
            .service_fn(move |req| handler(req, work))
    };
    // 64 messages queued by a plain request (no htmx delivery), then how many one header
    // carries.
    let (cookie, per_header) = runtime.block_on(async {
        let res = service(Work::Queue(64))
            .oneshot(request(None, false))
            .await
            .unwrap();
        let cookie = cookie_of(&res);
        let res = service(Work::Nothing)
            .oneshot(request(Some(&cookie), true))
            .await
            .unwrap();
        let header: serde_json::Value =
            serde_json::from_slice(res.headers()["hx-trigger"].as_bytes()).unwrap();
        (cookie, header["flash"].as_array().unwrap().len())
    });
    let mut steady = service(Work::Queue(per_header));
    c.bench_function(
        &format!("htmx/a {per_header}-message header from a queue of 64"),
        |b| {
            b.to_async(&runtime)
                .iter(|| steady.call(request(Some(&cookie), true)))
        },
    );
}

criterion_group!(benches, encoding, layer_cost, htmx_delivery);
criterion_main!(benches);
