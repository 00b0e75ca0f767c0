//! The benchmark server: exactly the routes of `bench/CONTRACT.md`.

use std::collections::HashMap;
use std::fmt;
use std::future::Future;
use std::net::SocketAddr;

use axum::Router;
use axum::body::Body;
use axum::extract::{Path, Query};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Json, Response};
use axum::routing::get;
use flash_floor::{Aborting, Fail, parse_fail, parse_set};
use tower_flash::{Flash, FlashLayer, Key, MemoryStore, RedisOptions, RedisStore};
use tower_http::catch_panic::CatchPanicLayer;

/// The signing key used without `FLASH_KEY`: fixed, so that several instances accept each
/// other's cookies. For benchmarks and tests only.
const DEVELOPMENT_KEY: &[u8] = b"tower-flash bench-server development key: never use in production";

/// Where messages are kept.
#[derive(Clone, PartialEq, Eq)]
pub enum StoreConfig {
    /// `FLASH_STORE=memory` (the default).
    Memory,
    /// `FLASH_STORE=redis` with `REDIS_URL`.
    Redis(String),
    /// `FLASH_STORE=redis-cluster` with `REDIS_URLS`, comma-separated seed nodes.
    RedisCluster(Vec<String>),
    /// `FLASH_STORE=redis-sentinel` with `REDIS_SENTINELS` (comma-separated `host:port`) and
    /// `REDIS_MASTER`.
    RedisSentinel {
        /// The sentinels.
        sentinels: Vec<String>,
        /// The name of the master they watch.
        master: String,
    },
}

impl fmt::Debug for StoreConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StoreConfig::Memory => f.write_str("memory"),
            // The URL may hold a password: say only which scheme.
            StoreConfig::Redis(url) => {
                let scheme = url.split("://").next().unwrap_or("redis");
                write!(f, "redis ({scheme}://…)")
            }
            StoreConfig::RedisCluster(seeds) => write!(f, "redis-cluster ({} seeds)", seeds.len()),
            StoreConfig::RedisSentinel { sentinels, master } => write!(
                f,
                "redis-sentinel ({master} via {} sentinels)",
                sentinels.len()
            ),
        }
    }
}

/// A comma-separated list from `name`, at least one item.
fn list(
    var: &impl Fn(&str) -> Option<String>,
    name: &str,
    what: &str,
) -> Result<Vec<String>, ConfigError> {
    let items: Vec<String> = var(name)
        .unwrap_or_default()
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect();
    if items.is_empty() {
        return Err(ConfigError::Invalid(format!(
            "{name} must list the {what}, comma-separated"
        )));
    }
    Ok(items)
}

/// Which web framework serves the routes (`FLASH_FRAMEWORK`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Framework {
    /// axum with tower-flash's `FlashLayer` (the default).
    Axum,
    /// actix-web with tower-flash-actix's `FlashMiddleware`.
    Actix,
}

/// The server's configuration, from its arguments and environment.
#[derive(Clone)]
pub struct Config {
    /// `FLASH_FRAMEWORK`: axum (default) or actix.
    pub framework: Framework,
    /// Where to listen.
    pub addr: SocketAddr,
    /// The store.
    pub store: StoreConfig,
    /// The cookie signing key.
    pub key: Key,
    /// `FLASH_DELIVERY=confirmed`.
    pub confirm_delivery: bool,
    /// `FLASH_SCOPE=redirect`.
    pub scope_to_redirects: bool,
}

impl fmt::Debug for Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Config")
            .field("framework", &self.framework)
            .field("addr", &self.addr)
            .field("store", &self.store)
            .field("confirm_delivery", &self.confirm_delivery)
            .field("scope_to_redirects", &self.scope_to_redirects)
            .finish_non_exhaustive()
    }
}

/// Why the server cannot start.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// A variable or argument has a value the server does not understand.
    #[error("{0}")]
    Invalid(String),
    /// The store could not be reached.
    #[error("cannot connect to the store: {0}")]
    Store(#[from] tower_flash::StoreError),
    /// The address could not be bound.
    #[error("cannot listen on {addr}: {source}")]
    Listen {
        /// The address.
        addr: SocketAddr,
        /// The error.
        source: std::io::Error,
    },
}

impl Config {
    /// Reads `--addr HOST:PORT` (or `PORT`, on 127.0.0.1, default 8080), `FLASH_FRAMEWORK`,
    /// `FLASH_STORE`, `REDIS_URL`, `FLASH_KEY`, `FLASH_DELIVERY` and `FLASH_SCOPE`.
    pub fn from_env(
        args: &[String],
        var: impl Fn(&str) -> Option<String>,
    ) -> Result<Self, ConfigError> {
        let invalid = |s: String| ConfigError::Invalid(s);
        let addr = match args {
            [] => {
                let port = var("PORT").unwrap_or_else(|| "8080".to_owned());
                let port: u16 = port
                    .parse()
                    .map_err(|_| invalid(format!("PORT={port} is not a port number")))?;
                SocketAddr::from(([127, 0, 0, 1], port))
            }
            [flag, addr] if flag == "--addr" => addr
                .parse()
                .map_err(|_| invalid(format!("--addr {addr} is not HOST:PORT")))?,
            _ => return Err(invalid("usage: bench-server [--addr HOST:PORT]".to_owned())),
        };
        let framework = match var("FLASH_FRAMEWORK").as_deref() {
            None | Some("") | Some("axum") => Framework::Axum,
            Some("actix") => Framework::Actix,
            Some(other) => {
                return Err(invalid(format!(
                    "FLASH_FRAMEWORK={other} is unknown (axum, actix)"
                )));
            }
        };
        let store = match var("FLASH_STORE").as_deref() {
            None | Some("") | Some("memory") => StoreConfig::Memory,
            Some("redis") => match var("REDIS_URL") {
                Some(url) if !url.is_empty() => StoreConfig::Redis(url),
                _ => {
                    return Err(invalid(
                        "FLASH_STORE=redis needs REDIS_URL (redis://host:port/ or redis+unix:///path.sock)"
                            .to_owned(),
                    ));
                }
            },
            Some("redis-cluster") => {
                StoreConfig::RedisCluster(list(&var, "REDIS_URLS", "redis://host:port seed nodes")?)
            }
            Some("redis-sentinel") => StoreConfig::RedisSentinel {
                sentinels: list(&var, "REDIS_SENTINELS", "host:port sentinels")?,
                master: var("REDIS_MASTER")
                    .filter(|m| !m.is_empty())
                    .ok_or_else(|| {
                        invalid(
                            "FLASH_STORE=redis-sentinel needs REDIS_MASTER, the master's name"
                                .to_owned(),
                        )
                    })?,
            },
            Some(other) => {
                return Err(invalid(format!(
                    "FLASH_STORE={other} is unknown (memory, redis, redis-cluster, redis-sentinel)"
                )));
            }
        };
        let key = match var("FLASH_KEY") {
            Some(secret) => Key::try_from(secret.as_bytes()).map_err(|_| {
                invalid(format!(
                    "FLASH_KEY must be at least 64 bytes (it has {})",
                    secret.len()
                ))
            })?,
            None => Key::from(DEVELOPMENT_KEY),
        };
        let confirm_delivery = match var("FLASH_DELIVERY").as_deref() {
            None | Some("") | Some("default") => false,
            Some("confirmed") => true,
            Some(other) => {
                return Err(invalid(format!(
                    "FLASH_DELIVERY={other} is unknown (confirmed, default)"
                )));
            }
        };
        let scope_to_redirects = match var("FLASH_SCOPE").as_deref() {
            None | Some("") | Some("default") | Some("any") => false,
            Some("redirect") => true,
            Some(other) => {
                return Err(invalid(format!(
                    "FLASH_SCOPE={other} is unknown (redirect, default)"
                )));
            }
        };
        Ok(Config {
            framework,
            addr,
            store,
            key,
            confirm_delivery,
            scope_to_redirects,
        })
    }

    /// The flash layer of this configuration, connected to its store.
    pub async fn layer(&self) -> Result<FlashLayer, ConfigError> {
        let layer = match &self.store {
            StoreConfig::Memory => FlashLayer::new(MemoryStore::new(), self.key.clone()),
            StoreConfig::Redis(url) => {
                FlashLayer::new(RedisStore::connect(url).await?, self.key.clone())
            }
            StoreConfig::RedisCluster(seeds) => FlashLayer::new(
                RedisStore::connect_cluster(seeds, RedisOptions::default()).await?,
                self.key.clone(),
            ),
            StoreConfig::RedisSentinel { sentinels, master } => FlashLayer::new(
                RedisStore::connect_sentinel(sentinels, master, RedisOptions::default()).await?,
                self.key.clone(),
            ),
        };
        // Plain http on loopback: a `Secure` cookie would not come back.
        let mut layer = layer.secure(false);
        if self.confirm_delivery {
            layer = layer.confirm_delivery();
        }
        if self.scope_to_redirects {
            layer = layer.scope_to_redirects();
        }
        Ok(layer)
    }
}

/// Serves `config` until `shutdown` resolves.
pub async fn serve(
    config: Config,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), ConfigError> {
    let app = app(config.layer().await?);
    let listener = tokio::net::TcpListener::bind(config.addr)
        .await
        .map_err(|source| ConfigError::Listen {
            addr: config.addr,
            source,
        })?;
    let addr = listener.local_addr().unwrap_or(config.addr);
    eprintln!("{}", banner(&config, addr, "axum"));
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown)
        .await
        .map_err(|source| ConfigError::Listen {
            addr: config.addr,
            source,
        })
}

/// The line the server logs once it listens.
pub(crate) fn banner(config: &Config, addr: SocketAddr, framework: &str) -> String {
    format!(
        "bench-server listening on http://{addr} (framework: {framework}, store: {:?}, delivery: {}, scope: {})",
        config.store,
        if config.confirm_delivery {
            "confirmed"
        } else {
            "default"
        },
        if config.scope_to_redirects {
            "redirect"
        } else {
            "any"
        },
    )
}

/// The routes of the contract; `/bare` without the flash layer.
pub fn app(layer: FlashLayer) -> Router {
    let flash_routes = Router::new()
        .route("/health", get(health))
        .route("/set", get(set))
        .route("/read", get(read_all))
        .route("/read/{kind}", get(read_kind))
        .route("/page/{page}", get(read_page))
        // Inside the flash layer, so that it sees the 500 of a panic (and gives leased
        // messages back before the response leaves).
        .layer(CatchPanicLayer::new())
        .layer(layer);
    Router::new().route("/bare", get(bare)).merge(flash_routes)
}

async fn bare() -> &'static str {
    "ok"
}

async fn health() -> &'static str {
    "ok"
}

fn bad_request(reason: impl Into<String>) -> Response {
    (StatusCode::BAD_REQUEST, reason.into()).into_response()
}

async fn set(flash: Flash, Query(query): Query<HashMap<String, String>>) -> Response {
    let set = match parse_set(&query) {
        Ok(set) => set,
        Err(reason) => return bad_request(reason),
    };
    if let Err(error) = flash.push(set.kind, set.msg) {
        return error.into_response();
    }
    (StatusCode::FOUND, [(header::LOCATION, set.location)]).into_response()
}

async fn read_all(flash: Flash, Query(query): Query<HashMap<String, String>>) -> Response {
    let fail = match parse_fail(&query) {
        Ok(fail) => fail,
        Err(reason) => return bad_request(reason),
    };
    let messages = flash.take_all().await;
    let body = Json(messages.grouped().to_texts()).into_response();
    match fail {
        Some(Fail::Status500) => {
            (StatusCode::INTERNAL_SERVER_ERROR, "the view failed").into_response()
        }
        Some(Fail::Panic) => panic!("the view panicked (fail=panic)"),
        Some(Fail::Abort) => Response::new(Body::new(Aborting::new())),
        None => body,
    }
}

async fn read_page(flash: Flash, Path(_page): Path<String>) -> Response {
    Json(flash.take_all().await.grouped().to_texts()).into_response()
}

async fn read_kind(flash: Flash, Path(kind): Path<String>) -> Response {
    match flash.try_take(&kind).await {
        Ok(messages) => Json(messages.texts()).into_response(),
        Err(tower_flash::Error::Store(_)) => Json(Vec::<String>::new()).into_response(),
        Err(error) => error.into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(vars: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let vars: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        move |name| vars.get(name).cloned()
    }

    #[test]
    fn defaults_and_overrides() {
        let config = Config::from_env(&[], env(&[])).unwrap();
        assert_eq!(config.addr, SocketAddr::from(([127, 0, 0, 1], 8080)));
        assert_eq!(config.store, StoreConfig::Memory);
        assert_eq!(config.framework, Framework::Axum);
        assert!(!config.confirm_delivery && !config.scope_to_redirects);
        let args = ["--addr".to_owned(), "127.0.0.1:9".to_owned()];
        let config = Config::from_env(
            &args,
            env(&[
                ("FLASH_STORE", "redis"),
                ("REDIS_URL", "redis://:pw@h/"),
                ("FLASH_DELIVERY", "confirmed"),
                ("FLASH_SCOPE", "redirect"),
                ("FLASH_FRAMEWORK", "actix"),
            ]),
        )
        .unwrap();
        assert_eq!(config.framework, Framework::Actix);
        assert_eq!(config.addr.port(), 9);
        assert!(config.confirm_delivery && config.scope_to_redirects);
        assert!(!format!("{config:?}").contains("pw"), "{config:?}");
    }

    #[test]
    fn misconfiguration_is_a_clear_error() {
        let cases: [(&[(&str, &str)], &str); 9] = [
            (&[("FLASH_FRAMEWORK", "rocket")], "FLASH_FRAMEWORK"),
            (&[("FLASH_STORE", "redis-sentinel")], "REDIS_SENTINELS"),
            (
                &[
                    ("FLASH_STORE", "redis-sentinel"),
                    ("REDIS_SENTINELS", "h:1"),
                ],
                "REDIS_MASTER",
            ),
            (&[("FLASH_STORE", "redis")], "REDIS_URL"),
            (&[("FLASH_STORE", "bogus")], "unknown"),
            (&[("FLASH_STORE", "redis-cluster")], "REDIS_URLS"),
            (&[("FLASH_KEY", "short")], "64 bytes"),
            (&[("FLASH_DELIVERY", "maybe")], "FLASH_DELIVERY"),
            (&[("PORT", "http")], "PORT"),
        ];
        for (vars, expected) in cases {
            let error = Config::from_env(&[], env(vars)).unwrap_err().to_string();
            assert!(error.contains(expected), "{vars:?}: {error}");
        }
    }
}
