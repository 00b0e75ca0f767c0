//! The salvo recipe through a real listener and a real HTTP client.

#![allow(clippy::unwrap_used, clippy::expect_used, dead_code, unreachable_pub)]

#[macro_use]
#[path = "../../client.rs"]
mod client;

use std::net::SocketAddr;

use salvo::Server;
use salvo::conn::{Acceptor, Listener, TcpListener};
use tower_flash::{FlashLayer, Key, MemoryStore};

/// The recipe's app on 127.0.0.1, port 0, in the background.
async fn serve() -> SocketAddr {
    let layer = FlashLayer::new(MemoryStore::new(), Key::generate())
        .confirm_delivery()
        .secure(false);
    let acceptor = TcpListener::new("127.0.0.1:0").bind().await;
    let addr = acceptor.holdings()[0]
        .local_addr
        .clone()
        .into_std()
        .unwrap();
    tokio::spawn(Server::new(acceptor).serve(recipe_salvo::app(layer)));
    addr
}

recipe_tests!(serve);
