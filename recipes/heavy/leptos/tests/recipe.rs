//! The Leptos recipe through a real listener and a real HTTP client.

#![allow(clippy::unwrap_used, clippy::expect_used, dead_code, unreachable_pub)]

#[macro_use]
#[path = "../../../client.rs"]
mod client;

use std::net::SocketAddr;

use tower_flash::{FlashLayer, Key, MemoryStore};

/// The recipe's app on 127.0.0.1, port 0, in the background.
async fn serve() -> SocketAddr {
    let layer = FlashLayer::new(MemoryStore::new(), Key::generate())
        .confirm_delivery()
        .secure(false);
    let router = recipe_leptos::app(layer);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, router).await });
    addr
}

recipe_tests!(serve);
