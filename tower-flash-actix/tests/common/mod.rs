//! The app the tests drive (bench/CONTRACT.md's routes, on actix-web), the stores it runs
//! on, a real actix server on loopback and a cookie-keeping HTTP client.

#![allow(dead_code, unreachable_pub, clippy::unwrap_used, clippy::expect_used)]

mod axum_app;
// tower-flash's throwaway redis-server, from its testkit (as bench's tests use it).
pub use tower_flash_testkit::harness::redis_server;

use std::collections::BTreeMap;
use std::net::{SocketAddr, TcpListener};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use actix_web::http::header;
use actix_web::{App, HttpMessage, HttpResponse, HttpServer, web};
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client as Hyper;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use tower_flash::{ClientId, FlashLayer, Key, MemoryStore, RedisOptions, RedisStore};
use tower_flash_actix::{Flash, FlashError, FlashMiddleware, messages_json};

pub use redis_server::RedisServer;

/// Where the messages live for a test.
pub enum Backend {
    Memory,
    Redis(RedisServer),
}

impl Backend {
    pub fn memory() -> Self {
        Backend::Memory
    }

    pub fn redis() -> Self {
        Backend::Redis(RedisServer::start())
    }

    /// A layer on this backend's store, plain http, with a fixed key.
    pub async fn layer(&self) -> FlashLayer {
        let key = Key::from(&[7u8; 64]);
        match self {
            Backend::Memory => FlashLayer::new(MemoryStore::new(), key),
            Backend::Redis(server) => {
                // Generous: the tests are about what is delivered, not how fast, on a
                // shared 2-core machine.
                let options = RedisOptions::default().timeout(Duration::from_secs(5));
                let store = RedisStore::connect_with(&server.url(), options)
                    .await
                    .expect("connect to the test redis-server");
                FlashLayer::new(store, key)
            }
        }
        .secure(false)
    }
}

/// A signed-in user, put in actix's request extensions by the app's authentication
/// middleware (here: from an `x-user` header).
#[derive(Clone)]
pub struct UserId(pub String);

/// Which framework serves the test app.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Framework {
    /// actix-web, through tower-flash-actix.
    Actix,
    /// axum, through tower-flash's own `FlashLayer`: the reference the adapter must match.
    Axum,
}

/// A running server on loopback; [`Server::stop`] stops it and waits for it.
pub struct Server {
    pub addr: SocketAddr,
    running: Running,
}

enum Running {
    Actix {
        handle: actix_web::dev::ServerHandle,
        task: tokio::task::JoinHandle<std::io::Result<()>>,
    },
    Axum {
        stop: tokio::sync::oneshot::Sender<()>,
        task: tokio::task::JoinHandle<std::io::Result<()>>,
    },
}

impl Server {
    /// The test app behind `layer` on `framework`.
    pub async fn start(framework: Framework, layer: FlashLayer) -> Self {
        match framework {
            Framework::Actix => Self::start_actix(layer),
            Framework::Axum => Self::start_axum(layer).await,
        }
    }

    async fn start_axum(layer: FlashLayer) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind loopback");
        let addr = listener.local_addr().expect("local address");
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(
            axum::serve(listener, axum_app::app(layer))
                .with_graceful_shutdown(async move {
                    let _ = stopped.await;
                })
                .into_future(),
        );
        Server {
            addr,
            running: Running::Axum { stop, task },
        }
    }

    /// The actix app, served by two workers.
    fn start_actix(layer: FlashLayer) -> Self {
        let middleware = FlashMiddleware::new(layer).identify(|req| {
            let user = req.extensions().get::<UserId>()?.0.clone();
            ClientId::new(&format!("user:{user}")).ok()
        });
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind loopback");
        let addr = listener.local_addr().expect("local address");
        let server = HttpServer::new(move || app(middleware.clone()))
            .workers(2)
            .disable_signals()
            .shutdown_timeout(1)
            .listen(listener)
            .expect("listen")
            .run();
        let handle = server.handle();
        let task = tokio::task::spawn_local(server);
        Server {
            addr,
            running: Running::Actix { handle, task },
        }
    }

    pub async fn stop(self) {
        let task = match self.running {
            Running::Actix { handle, task } => {
                handle.stop(false).await;
                task
            }
            Running::Axum { stop, task } => {
                let _ = stop.send(());
                task
            }
        };
        // Graceful, but a connection a test left open (a hung-up body) must not hold it.
        tokio::time::timeout(Duration::from_secs(10), task)
            .await
            .expect("the server stops within 10 s")
            .expect("server task")
            .expect("server ran without error");
    }
}

/// The routes of bench/CONTRACT.md, plus the JSON endpoint, behind `middleware`, with an
/// authentication middleware outside it.
pub fn app(
    middleware: FlashMiddleware,
) -> App<
    impl actix_web::dev::ServiceFactory<
        actix_web::dev::ServiceRequest,
        Config = (),
        Response = actix_web::dev::ServiceResponse<impl actix_web::body::MessageBody>,
        Error = actix_web::Error,
        InitError = (),
    >,
> {
    App::new()
        // Inside the flash middleware: `?fail=service-error` runs the handler, then fails
        // the service itself (as a panic-catching middleware does), which actix answers
        // with the error's status.
        .wrap_fn(|req, srv| {
            use actix_web::dev::Service as _;
            let fail = req.query_string().contains("fail=service-error");
            let response = srv.call(req);
            async move {
                let response = response.await?;
                if fail {
                    return Err(actix_web::error::ErrorInternalServerError(
                        "the service failed",
                    ));
                }
                Ok(response)
            }
        })
        .wrap(middleware)
        .wrap_fn(|req, srv| {
            use actix_web::dev::Service as _;
            if let Some(user) = req.headers().get("x-user").and_then(|v| v.to_str().ok()) {
                req.extensions_mut().insert(UserId(user.to_owned()));
            }
            srv.call(req)
        })
        .route("/health", web::get().to(|| async { "ok" }))
        .route("/set", web::get().to(set))
        .route("/read", web::get().to(read))
        .route("/read/{kind}", web::get().to(read_kind))
        .route("/page/{page}", web::get().to(read))
        .route("/slow", web::get().to(slow))
        .route("/flash.json", web::get().to(messages_json))
}

#[derive(serde::Deserialize)]
struct SetQuery {
    kind: String,
    msg: String,
    next: Option<String>,
}

async fn set(flash: Flash, query: web::Query<SetQuery>) -> Result<HttpResponse, FlashError> {
    flash.push(query.kind.as_str(), query.msg.as_str())?;
    let next = query.next.as_deref().unwrap_or("/read");
    Ok(HttpResponse::Found()
        .insert_header((header::LOCATION, next))
        .finish())
}

#[derive(serde::Deserialize)]
struct ReadQuery {
    fail: Option<String>,
}

async fn read(flash: Flash, query: web::Query<ReadQuery>) -> HttpResponse {
    let messages = flash.take_all().await;
    let body = serde_json::to_vec(&messages.grouped().to_texts()).unwrap_or_default();
    match query.fail.as_deref() {
        Some("500") => HttpResponse::InternalServerError().body(body),
        Some("panic") => panic!("the view failed after taking its messages"),
        Some("abort") => {
            let chunks = futures_stream(vec![
                Ok(Bytes::from(body)),
                Err(std::io::Error::other("the view's body stream broke")),
            ]);
            HttpResponse::Ok().streaming(chunks)
        }
        _ => HttpResponse::Ok()
            .content_type("application/json")
            .body(body),
    }
}

async fn read_kind(flash: Flash, kind: web::Path<String>) -> HttpResponse {
    let texts: Vec<String> = flash
        .take(kind.as_str())
        .await
        .into_iter()
        .map(|m| m.into_text())
        .collect();
    HttpResponse::Ok().json(texts)
}

/// Takes, then streams a body that never ends: the client hangs up in the middle of it.
async fn slow(flash: Flash) -> HttpResponse {
    let messages = flash.take_all().await;
    let first = Bytes::from(serde_json::to_vec(&messages.grouped().to_texts()).unwrap_or_default());
    let (tx, rx) = tokio::sync::mpsc::channel::<Result<Bytes, std::io::Error>>(1);
    actix_web::rt::spawn(async move {
        if tx.send(Ok(first)).await.is_err() {
            return;
        }
        // A chunk every 10 ms until the body is dropped (the client went away).
        while tx.send(Ok(Bytes::from_static(b" "))).await.is_ok() {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    });
    HttpResponse::Ok().streaming(Receiver(rx))
}

pub(crate) struct Receiver(pub(crate) tokio::sync::mpsc::Receiver<Result<Bytes, std::io::Error>>);

impl futures_core::Stream for Receiver {
    type Item = Result<Bytes, std::io::Error>;

    fn poll_next(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Self::Item>> {
        self.0.poll_recv(cx)
    }
}

/// A stream of the given items, one per poll.
fn futures_stream(
    items: Vec<Result<Bytes, std::io::Error>>,
) -> impl futures_core::Stream<Item = Result<Bytes, std::io::Error>> {
    Items(items.into_iter())
}

/// The items of a list as a stream, one per poll.
pub(crate) struct Items(pub(crate) std::vec::IntoIter<Result<Bytes, std::io::Error>>);

impl futures_core::Stream for Items {
    type Item = Result<Bytes, std::io::Error>;

    fn poll_next(
        mut self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Self::Item>> {
        std::task::Poll::Ready(self.0.next())
    }
}

/// An answer as the client saw it.
#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    pub headers: http::HeaderMap,
    pub body: String,
}

impl Answer {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// The body of `/read`: messages grouped by kind.
    pub fn grouped(&self) -> BTreeMap<String, Vec<String>> {
        serde_json::from_str(&self.body)
            .unwrap_or_else(|e| panic!("not grouped JSON ({e}): {:?}", self.body))
    }

    /// All texts of a `/read` body, whatever their kind.
    pub fn texts(&self) -> Vec<String> {
        self.grouped().into_values().flatten().collect()
    }
}

/// A browser: one cookie jar (the flash cookie), shared by its clones (tabs).
#[derive(Clone)]
pub struct Client {
    addr: SocketAddr,
    hyper: Hyper<HttpConnector, Full<Bytes>>,
    cookie: Arc<Mutex<Option<String>>>,
}

impl Client {
    pub fn new(server: &Server) -> Self {
        Client {
            addr: server.addr,
            hyper: Hyper::builder(TokioExecutor::new()).build_http(),
            cookie: Arc::new(Mutex::new(None)),
        }
    }

    /// Another browser (an empty cookie jar) on the same server.
    pub fn fresh(&self) -> Self {
        Client {
            cookie: Arc::new(Mutex::new(None)),
            ..self.clone()
        }
    }

    pub fn cookie(&self) -> Option<String> {
        self.cookie.lock().expect("cookie jar").clone()
    }

    pub fn set_cookie(&self, cookie: &str) {
        *self.cookie.lock().expect("cookie jar") = Some(cookie.to_owned());
    }

    pub async fn get(&self, path: &str) -> Answer {
        self.get_with(path, &[]).await
    }

    /// `GET path` with extra headers; keeps any flash cookie the answer sets.
    pub async fn get_with(&self, path: &str, headers: &[(&str, &str)]) -> Answer {
        let mut request = http::Request::get(format!("http://{}{path}", self.addr));
        if let Some(cookie) = self.cookie() {
            request = request.header("cookie", cookie);
        }
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let request = request.body(Full::new(Bytes::new())).expect("request");
        let response = tokio::time::timeout(Duration::from_secs(30), self.hyper.request(request))
            .await
            .expect("an answer within 30 s")
            .expect("an answer");
        let (parts, body) = response.into_parts();
        if let Some(set) = parts
            .headers
            .get("set-cookie")
            .and_then(|v| v.to_str().ok())
            && let Some(pair) = set.split(';').next()
        {
            self.set_cookie(pair);
        }
        let body = body
            .collect()
            .await
            .map(|b| b.to_bytes())
            .unwrap_or_default();
        Answer {
            status: parts.status.as_u16(),
            headers: parts.headers,
            body: String::from_utf8_lossy(&body).into_owned(),
        }
    }

    /// `GET path`, for a request that may fail: its status once its body was read whole, or
    /// what went wrong (no answer, a body cut short).
    pub async fn try_get(&self, path: &str) -> Result<u16, String> {
        let mut request = http::Request::get(format!("http://{}{path}", self.addr));
        if let Some(cookie) = self.cookie() {
            request = request.header("cookie", cookie);
        }
        let request = request
            .body(Full::new(Bytes::new()))
            .map_err(|e| e.to_string())?;
        let response = tokio::time::timeout(Duration::from_secs(30), self.hyper.request(request))
            .await
            .map_err(|_| "no answer within 30 s".to_owned())?
            .map_err(|e| e.to_string())?;
        let status = response.status().as_u16();
        response
            .into_body()
            .collect()
            .await
            .map_err(|e| format!("{status}, then the body broke: {e}"))?;
        Ok(status)
    }

    /// `GET path` over a raw connection that reads the head and the first bytes of the
    /// body, then hangs up.
    pub async fn get_and_hang_up(&self, path: &str) -> String {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let mut stream = tokio::net::TcpStream::connect(self.addr)
            .await
            .expect("connect");
        let cookie = self
            .cookie()
            .map(|c| format!("cookie: {c}\r\n"))
            .unwrap_or_default();
        let request = format!("GET {path} HTTP/1.1\r\nhost: {}\r\n{cookie}\r\n", self.addr);
        stream.write_all(request.as_bytes()).await.expect("send");
        let mut seen = Vec::new();
        let mut buf = [0u8; 4096];
        while !String::from_utf8_lossy(&seen).contains("\r\n\r\n") {
            let n = tokio::time::timeout(Duration::from_secs(30), stream.read(&mut buf))
                .await
                .expect("the head within 30 s")
                .expect("read");
            assert!(n > 0, "the server closed before its head");
            seen.extend_from_slice(&buf[..n]);
        }
        drop(stream);
        String::from_utf8_lossy(&seen).into_owned()
    }
}
