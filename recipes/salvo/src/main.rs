//! The salvo recipe on http://127.0.0.1:3000 (`cargo run -p recipe-salvo`).

use salvo::prelude::*;
use tower_flash::{FlashLayer, Key, MemoryStore};

#[tokio::main]
async fn main() {
    // Plain http on loopback: `secure(false)` lets the browser send the cookie back.
    let layer = FlashLayer::new(MemoryStore::new(), Key::generate())
        .confirm_delivery()
        .secure(false);
    let acceptor = TcpListener::new("127.0.0.1:3000").bind().await;
    Server::new(acceptor).serve(recipe_salvo::app(layer)).await;
}
