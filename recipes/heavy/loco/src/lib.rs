//! tower-flash on [loco-rs] 1: a message set before a redirect, shown once on the next page.
//!
//! loco is axum underneath: its controllers are axum handlers, so tower-flash's own `Flash`
//! extractor works in them as it is, and `FlashLayer` goes on the router in
//! [`Hooks::after_routes`], outside loco's middleware stack (its panic catcher included):
//! the layer sees every response as it leaves.
//!
//! [loco-rs]: https://loco.rs

use async_trait::async_trait;
use axum::response::{Html, Redirect};
use loco_rs::app::{AppContext, Hooks};
use loco_rs::bgworker::Queue;
use loco_rs::boot::{BootResult, StartMode, create_app};
use loco_rs::config::Config;
use loco_rs::controller::{AppRoutes, Routes};
use loco_rs::environment::Environment;
use loco_rs::task::Tasks;
use tower_flash::{Flash, FlashLayer, Key, MemoryStore};

/// The loco application.
pub struct App;

#[async_trait]
impl Hooks for App {
    fn app_name() -> &'static str {
        env!("CARGO_CRATE_NAME")
    }

    async fn boot(
        mode: StartMode,
        environment: &Environment,
        config: Config,
    ) -> loco_rs::Result<BootResult> {
        create_app::<Self>(mode, environment, config).await
    }

    fn routes(_ctx: &AppContext) -> AppRoutes {
        AppRoutes::empty().add_route(guestbook())
    }

    async fn after_routes(
        router: axum::Router,
        _ctx: &AppContext,
    ) -> loco_rs::Result<axum::Router> {
        // In production: `Key::from(&secret)`, 64 bytes from your settings, the same on
        // every instance, and RedisStore once there is more than one. `secure(false)`
        // only because the recipe serves plain http on loopback.
        let layer = FlashLayer::new(MemoryStore::new(), Key::generate())
            .confirm_delivery()
            .secure(false);
        Ok(router.layer(layer))
    }

    async fn connect_workers(_ctx: &AppContext, _queue: &Queue) -> loco_rs::Result<()> {
        Ok(())
    }

    fn register_tasks(_tasks: &mut Tasks) {}
}

/// The guestbook of every recipe: `GET /` lists the messages it takes, `POST /save` pushes
/// one and redirects, `GET /broken` takes the messages and then fails (as a broken template
/// would); with `confirm_delivery()` on the layer, they come back.
fn guestbook() -> Routes {
    Routes::new()
        .add("/", axum::routing::get(index))
        .add("/save", axum::routing::post(save))
        .add("/broken", axum::routing::get(broken))
}

async fn index(flash: Flash) -> Html<String> {
    let mut page = String::from("<ul>");
    for message in flash.take_all().await {
        // Message text is data: escape it (template engines do this for you).
        let text = message.text().replace('&', "&amp;").replace('<', "&lt;");
        page += &format!("<li class=\"{}\">{text}</li>", message.kind());
    }
    Html(page + "</ul>")
}

async fn save(flash: Flash) -> Result<Redirect, tower_flash::Error> {
    flash.success("Saved!")?;
    Ok(Redirect::to("/"))
}

async fn broken(flash: Flash) -> loco_rs::Result<Html<String>> {
    let _messages = flash.take_all().await;
    Err(loco_rs::Error::InternalServerError)
}
