//! Serves the guestbook demo on <http://127.0.0.1:3000>.
//!
//! - `PORT` changes the port.
//! - `FLASH_KEY` (at least 64 bytes, e.g. `openssl rand -hex 64`) signs the flash cookie.
//!   Without it a random key is made at start-up, and the cookies of earlier runs no
//!   longer verify (their messages were in memory anyway).
//! - `FLASH_STORE` picks the store: `memory` (the default), or, built with
//!   `--features redis`, `redis` (with `REDIS_URL`), `redis-cluster` (with `REDIS_URLS`,
//!   comma-separated seed nodes) or `redis-sentinel` (with `REDIS_SENTINELS`, comma-separated
//!   `host:port`, and `REDIS_MASTER`).
//! - `FLASH_SCOPE=redirect` binds the messages of a redirecting request to the redirect's
//!   target (see [`demo::Options`]); default `none`.
//! - `RUST_LOG` sets the log filter (default `info`).

use std::net::{Ipv4Addr, SocketAddr};
use std::process::ExitCode;

use tokio::net::TcpListener;
use tower_flash::Key;
use tracing_subscriber::EnvFilter;

const DEFAULT_PORT: u16 = 3000;

#[tokio::main]
async fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")),
        )
        .init();
    match serve().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            tracing::error!("{message}");
            ExitCode::FAILURE
        }
    }
}

/// Starts the server and runs it until Ctrl-C. Start-up errors are returned as the
/// sentence to show the operator.
async fn serve() -> Result<(), String> {
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port()?));
    let key = flash_key()?;
    let app = app(key)
        .await?
        .map_err(|e| format!("a built-in template is broken: {e}"))?;
    let listener = TcpListener::bind(addr)
        .await
        .map_err(|e| format!("cannot listen on {addr}: {e}"))?;
    // With PORT=0 the system picks the port: log the one really bound.
    let addr = listener.local_addr().unwrap_or(addr);
    tracing::info!("guestbook demo listening on http://{addr}");
    axum::serve(listener, app)
        .with_graceful_shutdown(ctrl_c())
        .await
        .map_err(|e| format!("the server failed: {e}"))?;
    tracing::info!("stopped");
    Ok(())
}

/// The app on the store `FLASH_STORE` names.
async fn app(key: Key) -> Result<Result<axum::Router, minijinja::Error>, String> {
    let store = std::env::var("FLASH_STORE").unwrap_or_default();
    let options = demo::Options {
        scope_to_redirects: match std::env::var("FLASH_SCOPE").as_deref() {
            Ok("redirect") => true,
            Ok("" | "none") | Err(_) => false,
            Ok(other) => return Err(format!("FLASH_SCOPE={other}: use redirect or none")),
        },
    };
    if matches!(store.as_str(), "" | "memory") {
        tracing::info!("messages are kept in this process (FLASH_STORE=memory)");
        return Ok(demo::app_with_options(
            tower_flash::MemoryStore::new(),
            key,
            options,
        ));
    }
    #[cfg(feature = "redis")]
    {
        let redis = redis_store(&store).await?;
        tracing::info!(store = ?redis, "messages are kept in Redis");
        Ok(demo::app_with_options(redis, key, options))
    }
    #[cfg(not(feature = "redis"))]
    Err(format!(
        "FLASH_STORE={store}: this build has the memory store only; run `cargo run -p demo \
         --features redis` for redis, redis-cluster and redis-sentinel"
    ))
}

/// The Redis store `FLASH_STORE` names, from `REDIS_URL`, `REDIS_URLS` or `REDIS_SENTINELS`
/// and `REDIS_MASTER`.
#[cfg(feature = "redis")]
async fn redis_store(store: &str) -> Result<tower_flash::RedisStore, String> {
    use tower_flash::{RedisOptions, RedisStore};

    let var =
        |name: &str| std::env::var(name).map_err(|_| format!("FLASH_STORE={store} needs {name}"));
    let list = |name: &str| -> Result<Vec<String>, String> {
        Ok(var(name)?
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect())
    };
    let connected = match store {
        "redis" => RedisStore::connect(&var("REDIS_URL")?).await,
        "redis-cluster" => {
            RedisStore::connect_cluster(&list("REDIS_URLS")?, RedisOptions::default()).await
        }
        "redis-sentinel" => {
            let master = var("REDIS_MASTER")?;
            RedisStore::connect_sentinel(
                &list("REDIS_SENTINELS")?,
                &master,
                RedisOptions::default(),
            )
            .await
        }
        other => {
            return Err(format!(
                "FLASH_STORE={other} is unknown (memory, redis, redis-cluster, redis-sentinel)"
            ));
        }
    };
    connected.map_err(|e| format!("FLASH_STORE={store}: cannot connect: {e}"))
}

/// The port from `PORT`, or 3000.
fn port() -> Result<u16, String> {
    match std::env::var("PORT") {
        Ok(port) => port
            .parse()
            .map_err(|_| format!("PORT must be a port number (0 to 65535), not {port:?}")),
        Err(std::env::VarError::NotPresent) => Ok(DEFAULT_PORT),
        Err(std::env::VarError::NotUnicode(_)) => Err("PORT is not valid UTF-8".to_owned()),
    }
}

/// The cookie signing key from `FLASH_KEY`, or a random one.
fn flash_key() -> Result<Key, String> {
    match std::env::var_os("FLASH_KEY") {
        Some(secret) => Key::try_from(secret.as_encoded_bytes()).map_err(|_| {
            format!(
                "FLASH_KEY is {} bytes long; it must be at least 64 (try `openssl rand -hex 64`)",
                secret.len()
            )
        }),
        None => {
            tracing::info!(
                "FLASH_KEY is not set: using a random key, so pending flash messages will not \
                 survive a restart"
            );
            Ok(Key::generate())
        }
    }
}

/// Resolves on Ctrl-C, letting requests in flight finish before the server stops.
async fn ctrl_c() {
    if let Err(error) = tokio::signal::ctrl_c().await {
        // Without a signal handler, stopping gracefully is impossible; returning here would
        // stop the server at once, so keep serving until the process is killed.
        tracing::warn!(%error, "cannot listen for Ctrl-C; stop the server by killing it");
        std::future::pending::<()>().await;
    }
    tracing::info!("Ctrl-C received, shutting down");
}
