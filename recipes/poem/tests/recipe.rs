//! The poem recipe through a real listener and a real HTTP client.

#![allow(clippy::unwrap_used, clippy::expect_used, dead_code, unreachable_pub)]

#[macro_use]
#[path = "../../client.rs"]
mod client;

use std::net::SocketAddr;

use poem::Server;
use poem::listener::{Acceptor, Listener, TcpListener};
use tower_flash::{FlashLayer, Key, MemoryStore};

/// The recipe's app on 127.0.0.1, port 0, in the background.
async fn serve() -> SocketAddr {
    let layer = FlashLayer::new(MemoryStore::new(), Key::generate())
        .confirm_delivery()
        .secure(false);
    let acceptor = TcpListener::bind("127.0.0.1:0")
        .into_acceptor()
        .await
        .unwrap();
    let addr = *acceptor.local_addr()[0].as_socket_addr().unwrap();
    tokio::spawn(Server::new_with_acceptor(acceptor).run(recipe_poem::app(layer)));
    addr
}

recipe_tests!(serve);
