//! The loco recipe through a real listener and a real HTTP client: the app booted as
//! `cargo loco start` boots it, from config/development.yaml.

#![allow(clippy::unwrap_used, clippy::expect_used, dead_code, unreachable_pub)]

#[macro_use]
#[path = "../../../client.rs"]
mod client;

use std::net::SocketAddr;
use std::path::Path;

use loco_rs::app::Hooks;
use loco_rs::boot::StartMode;
use loco_rs::config::Config;
use loco_rs::environment::Environment;
use recipe_loco::App;

/// The recipe's app on 127.0.0.1, port 0, in the background.
async fn serve() -> SocketAddr {
    let environment = Environment::Development;
    let folder = Path::new(env!("CARGO_MANIFEST_DIR")).join("config");
    let config = Config::from_folder(&environment, &folder).unwrap();
    let booted = App::boot(StartMode::ServerOnly, &environment, config)
        .await
        .unwrap();
    let router = booted.router.expect("a server-mode boot has a router");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, router).await });
    addr
}

recipe_tests!(serve);
