//! Micro-benchmarks: message encoding, and the layer's cost per request (which includes
//! cookie verification and signing) against the same service without the layer.
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
use tower_flash::{Flash, FlashLayer, Key, Level, MemoryStore, Message};

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
        }
    }
    Ok(Response::new(String::new()))
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
            .oneshot(Request::new(String::new()))
            .await
            .unwrap();
        let set = res.headers()[SET_COOKIE].to_str().unwrap().to_owned();
        set.split(';').next().unwrap().to_owned()
    });
    let request = |cookie: Option<&str>| {
        let mut req = Request::new(String::new());
        if let Some(cookie) = cookie {
            req.headers_mut().insert(COOKIE, cookie.parse().unwrap());
        }
        req
    };

    let mut group = c.benchmark_group("request");
    let mut bare = tower::service_fn(|req| handler(req, Work::Nothing));
    group.bench_function("bare (no layer)", |b| {
        b.to_async(&runtime)
            .iter(|| bare.call(request(Some(&cookie))))
    });
    let mut untouched = service(Work::Nothing);
    group.bench_function("layer, no cookie, untouched", |b| {
        b.to_async(&runtime).iter(|| untouched.call(request(None)))
    });
    group.bench_function("layer, cookie, untouched", |b| {
        b.to_async(&runtime)
            .iter(|| untouched.call(request(Some(&cookie))))
    });
    let mut push = service(Work::Push);
    group.bench_function("layer, push (store + sign cookie)", |b| {
        b.to_async(&runtime)
            .iter(|| push.call(request(Some(&cookie))))
    });
    let mut take = service(Work::Take);
    group.bench_function("layer, take (verify cookie + store)", |b| {
        b.to_async(&runtime)
            .iter(|| take.call(request(Some(&cookie))))
    });
    group.finish();
}

criterion_group!(benches, encoding, layer_cost);
criterion_main!(benches);
