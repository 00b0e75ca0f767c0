//! The Leptos recipe on http://127.0.0.1:3000 (`cargo run -p recipe-leptos` in recipes/heavy).

use tower_flash::{FlashLayer, Key, MemoryStore};

#[tokio::main]
async fn main() -> std::io::Result<()> {
    // Plain http on loopback: `secure(false)` lets the browser send the cookie back.
    let layer = FlashLayer::new(MemoryStore::new(), Key::generate())
        .confirm_delivery()
        .secure(false);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:3000").await?;
    axum::serve(listener, recipe_leptos::app(layer)).await
}
