//! A small guestbook showing tower-flash in an axum app with minijinja templates.
//!
//! Start it with `cargo run -p demo` and open <http://127.0.0.1:3000>. Where to look:
//!
//! - [`app`]: the router and the [`FlashLayer`] that gives every request a
//!   [`Flash`](tower_flash::Flash).
//! - `handlers.rs`: one handler per flash pattern (push and redirect, take and render,
//!   `now`, `keep`).
//! - `templates/base.html`: the layout that shows the messages, styled per level.
//!
//! The binary (`main.rs`) only reads the configuration and serves [`app`].

use std::sync::Arc;

use axum::Router;
use axum::routing::{get, post};
use minijinja::Environment;
use tower_flash::{FlashLayer, Key, MemoryStore, Store};

use crate::guestbook::Guestbook;

mod guestbook;
mod handlers;
mod templates;

/// What every handler shares.
#[derive(Clone)]
struct AppState {
    templates: Arc<Environment<'static>>,
    guestbook: Arc<Guestbook>,
}

/// The whole app on the memory store: routes, shared state and the flash middleware, with
/// an empty guestbook.
///
/// `key` signs the flash cookie; see [`FlashLayer::new`]. Fails only when a built-in
/// template does not parse.
pub fn app(key: Key) -> Result<Router, minijinja::Error> {
    app_with(MemoryStore::new(), key)
}

/// The whole app, its messages in `store` (a `RedisStore`, say).
pub fn app_with(store: impl Store, key: Key) -> Result<Router, minijinja::Error> {
    let state = AppState {
        templates: Arc::new(templates::environment()?),
        guestbook: Arc::default(),
    };
    // The memory store keeps messages in this process: enough for one server. Apps with
    // several instances share a store such as Redis, and the same `key`.
    let flash = FlashLayer::new(store, key)
        // The demo serves plain http://, and a `Secure` cookie is not sent back over plain
        // http (browsers make an exception for localhost only). Behind HTTPS, keep the
        // default, `secure(true)`.
        .secure(false)
        // Messages a page took are gone only once that page was sent whole: if rendering
        // fails (a 500) or the browser gives up mid-page, they are shown on the next page.
        .confirm_delivery();
    let router = Router::new()
        .route("/", get(handlers::show_guestbook))
        .route("/entries", post(handlers::sign_guestbook))
        .route("/preview", get(handlers::preview))
        .route("/levels", post(handlers::flash_every_level))
        .with_state(state)
        // Outermost, so that every handler can extract `Flash`.
        .layer(flash);
    Ok(router)
}
