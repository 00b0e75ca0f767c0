//! The poem recipe on http://127.0.0.1:3000 (`cargo run -p recipe-poem`).

use poem::Server;
use poem::listener::TcpListener;
use tower_flash::{FlashLayer, Key, MemoryStore};

#[tokio::main]
async fn main() -> std::io::Result<()> {
    // Plain http on loopback: `secure(false)` lets the browser send the cookie back.
    let layer = FlashLayer::new(MemoryStore::new(), Key::generate())
        .confirm_delivery()
        .secure(false);
    Server::new(TcpListener::bind("127.0.0.1:3000"))
        .run(recipe_poem::app(layer))
        .await
}
