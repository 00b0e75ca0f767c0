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
use std::sync::atomic::AtomicU64;

use axum::Router;
use axum::http::header;
use axum::routing::{get, post};
use minijinja::Environment;
use tower_flash::store::Store;
use tower_flash::{FlashLayer, HtmxDelivery, Key, MemoryStore};

use crate::guestbook::Guestbook;

mod guestbook;
mod handlers;
mod templates;

/// What every handler shares.
#[derive(Clone)]
struct AppState {
    templates: Arc<Environment<'static>>,
    guestbook: Arc<Guestbook>,
    likes: Arc<AtomicU64>,
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
    app_with_options(store, key, Options::default())
}

/// How the flash layer is set up, beyond its store and key.
#[derive(Clone, Copy, Debug, Default)]
pub struct Options {
    /// Binds the messages of a request that redirects to the redirect's target
    /// (`FLASH_SCOPE=redirect`): a page loaded meanwhile in another tab does not use them up.
    /// Off by default, because the preview page's `keep` then leaves its messages bound to
    /// the preview page instead of handing them to the guestbook.
    pub scope_to_redirects: bool,
}

/// The whole app, its messages in `store`, with `options`.
pub fn app_with_options(
    store: impl Store,
    key: Key,
    options: Options,
) -> Result<Router, minijinja::Error> {
    let state = AppState {
        templates: Arc::new(templates::environment()?),
        guestbook: Arc::default(),
        likes: Arc::default(),
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
        .confirm_delivery()
        // htmx requests get their messages in an HX-Trigger header (see /htmx); the header
        // is kept small so that proxies never refuse it.
        .deliver_to_htmx(HtmxDelivery::default().max_header_bytes(2048));
    let flash = if options.scope_to_redirects {
        flash.scope_to_redirects()
    } else {
        flash
    };
    let router = Router::new()
        .route("/", get(handlers::show_guestbook))
        .route("/entries", post(handlers::sign_guestbook))
        .route("/preview", get(handlers::preview))
        .route("/levels", post(handlers::flash_every_level))
        .route("/htmx", get(handlers::htmx_page))
        .route("/htmx/like", post(handlers::htmx_like))
        .route("/htmx/burst", post(handlers::htmx_burst))
        .route("/static/htmx-2.0.11.min.js", get(htmx_js))
        .with_state(state)
        // Outermost, so that every handler can extract `Flash`.
        .layer(flash);
    Ok(router)
}

/// htmx itself, served by the demo so that it runs offline (see `static/README.md`).
async fn htmx_js() -> ([(header::HeaderName, &'static str); 2], &'static str) {
    (
        [
            (header::CONTENT_TYPE, "text/javascript"),
            (header::CACHE_CONTROL, "public, max-age=86400"),
        ],
        include_str!("../static/htmx-2.0.11.min.js"),
    )
}
