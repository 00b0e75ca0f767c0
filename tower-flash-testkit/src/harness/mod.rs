//! Test harness: a real axum `Router` behind `FlashLayer`, driven by clients with their own
//! cookie jar. A test runs arbitrary code against the request's `Flash` inside a real
//! request with [`Client::run`].

#![allow(dead_code, unreachable_pub, clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashMap;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::{Arc, Mutex, OnceLock};

use axum::Router;
use axum::body::Body;
use axum::extract::Extension;
use axum::response::{IntoResponse, Response as AxumResponse};
use http::header::{COOKIE, SET_COOKIE};
use http::{Request, Response, StatusCode};
use http_body_util::BodyExt;
use hyper_util::client::legacy::Client as HyperClient;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use tower::ServiceExt;

use tower_flash::store::{
    End, ErasedLeaseStore, ErasedScopeStore, Lease, LeaseId, LeaseStore, PushOptions, PushReceipt,
    ScopeStore, Store, Take, Target,
};
use tower_flash::{ClientId, Flash, FlashLayer, Key, MemoryStore, Message, Scope, StoreError};

/// What a request asks the test app to run with its `Flash`: see [`with_job`].
pub type Job = Box<dyn FnOnce(Flash) -> Pin<Box<dyn Future<Output = AxumResponse> + Send>> + Send>;

#[derive(Clone)]
struct JobSlot(Arc<Mutex<Option<Job>>>);

/// A fixed key so that several routers (app instances) accept each other's cookies.
pub fn key() -> Key {
    Key::from(&[42u8; 64])
}

/// The test app: every path executes the job carried by the request.
pub fn app(layer: FlashLayer) -> Router {
    app_with(Router::new(), layer)
}

/// The test app with tower-http's `CatchPanicLayer` inside the flash layer: a job that
/// panics is answered 500, and the flash layer sees that 500.
pub fn app_catching_panics(layer: FlashLayer) -> Router {
    Router::new()
        .fallback(run_job)
        .layer(tower_http::catch_panic::CatchPanicLayer::new())
        .layer(layer)
}

/// The test app with `routes` of its own; every other path executes the request's job.
pub fn app_with(routes: Router, layer: FlashLayer) -> Router {
    routes.fallback(run_job).layer(layer)
}

async fn run_job(
    slot: Option<Extension<JobSlot>>,
    headers: http::HeaderMap,
    flash: Flash,
) -> AxumResponse {
    // In process the job rides in the request's extensions; over a real connection it
    // waits in the registry under the id the request names.
    match slot {
        Some(Extension(slot)) => {
            let job = slot.0.lock().unwrap().take();
            match job {
                Some(job) => job(flash).await,
                None => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
            }
        }
        None => {
            let id = headers.get(JOB_HEADER).and_then(|v| v.to_str().ok());
            run_registered_job(id, flash).await
        }
    }
}

/// Runs the job a request that crossed a real connection names in its
/// [`JOB_HEADER`] (`id`, the header's value) with the request's `Flash`; `500` when there is
/// none. What a [`Frontend`]'s app does for every request.
pub async fn run_registered_job(id: Option<&str>, flash: Flash) -> AxumResponse {
    let job = id
        .and_then(|v| v.parse::<u64>().ok())
        .and_then(|id| jobs().lock().unwrap().remove(&id));
    match job {
        Some(job) => job(flash).await,
        None => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
    }
}

/// The app the request-level contract cases drive, independent of the framework that
/// serves it: a flash layer (maybe with a second one outside it) around a fallback that runs
/// each request's job. Axum builds it with [`TestApp::router`]; another framework with its
/// [`Frontend`].
#[derive(Clone)]
pub struct TestApp {
    layer: FlashLayer,
    outer: Option<FlashLayer>,
}

impl TestApp {
    /// Every path runs the request's job behind `layer`.
    pub fn new(layer: FlashLayer) -> Self {
        TestApp { layer, outer: None }
    }

    /// [`TestApp::new`] with a second flash layer, `outer`, around the first: the app must
    /// neither store messages twice nor lose them.
    pub fn stacked(inner: FlashLayer, outer: FlashLayer) -> Self {
        TestApp {
            layer: inner,
            outer: Some(outer),
        }
    }

    /// The flash layer the jobs run behind.
    pub fn layer(&self) -> &FlashLayer {
        &self.layer
    }

    /// The second flash layer, outside the first, if any.
    pub fn outer(&self) -> Option<&FlashLayer> {
        self.outer.as_ref()
    }

    /// The app as an axum `Router`.
    pub fn router(&self) -> Router {
        let router = app(self.layer.clone());
        match &self.outer {
            Some(outer) => router.layer(outer.clone()),
            None => router,
        }
    }
}

/// A web framework other than axum serving a [`TestApp`], so that the request-level contract
/// cases run through its adapter: its app hands every request's `Flash` (as the framework's
/// extractor gives it) to [`run_registered_job`] and answers what the job returns, its body
/// streamed as it comes (a failing body fails, an endless one never ends).
///
/// Implemented outside the testkit (by the adapter's tests), so that the testkit depends on
/// no framework but axum.
pub trait Frontend: Send + Sync + 'static {
    /// Starts serving `app` on a loopback port, with the framework's own server.
    fn serve(&self, app: &TestApp) -> Served;
}

/// A [`Frontend`]'s running server: its address, and whatever stops it when dropped.
pub struct Served {
    addr: SocketAddr,
    _stop: Box<dyn Send + Sync>,
}

impl Served {
    /// The server at `addr`, stopped when `stop` is dropped.
    pub fn new(addr: SocketAddr, stop: impl Send + Sync + 'static) -> Self {
        Served {
            addr,
            _stop: Box::new(stop),
        }
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }
}

/// Identifies requests by an `x-user` header (`user:<name>`), as an authentication layer
/// would; `None` without one.
pub fn user_from_header(req: &http::request::Parts) -> Option<ClientId> {
    let user = req.headers.get("x-user")?.to_str().ok()?;
    ClientId::new(&format!("user:{user}")).ok()
}

/// `req` carrying `job`: the app's fallback route runs it with the request's `Flash` and
/// answers what it returns.
pub fn with_job<F, Fut>(mut req: Request<Body>, job: F) -> Request<Body>
where
    F: FnOnce(Flash) -> Fut + Send + 'static,
    Fut: Future<Output = AxumResponse> + Send + 'static,
{
    let job: Job = Box::new(move |flash| Box::pin(job(flash)));
    req.extensions_mut()
        .insert(JobSlot(Arc::new(Mutex::new(Some(job)))));
    req
}

/// The header naming a job in the registry, for requests that cross a real connection.
pub const JOB_HEADER: &str = "x-test-job";

fn jobs() -> &'static Mutex<HashMap<u64, Job>> {
    static JOBS: OnceLock<Mutex<HashMap<u64, Job>>> = OnceLock::new();
    JOBS.get_or_init(Mutex::default)
}

/// How a [`Client`]'s requests reach the app.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Via {
    /// `Router::oneshot` in process: the response body is always read to its end.
    Oneshot,
    /// A real `axum::serve` listener on loopback and a real hyper client with keep-alive:
    /// the server decides, as in production, how much of a body it polls.
    Http,
    /// Another framework's real server, through its adapter ([`Client::on_framework`]),
    /// and the real hyper client.
    Framework,
}

/// The app behind a real listener; the server stops when the last client drops it.
pub struct Server {
    addr: SocketAddr,
    running: Running,
    http: HyperClient<HttpConnector, Body>,
}

enum Running {
    Axum(tokio::task::JoinHandle<()>),
    Framework(Served),
}

impl Server {
    pub async fn start(app: &Router) -> Arc<Server> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let app = app.clone();
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Self::running(addr, Running::Axum(task))
    }

    /// `app` served by another framework's server.
    pub fn start_on(frontend: &dyn Frontend, app: &TestApp) -> Arc<Server> {
        let served = frontend.serve(app);
        Self::running(served.addr(), Running::Framework(served))
    }

    fn running(addr: SocketAddr, running: Running) -> Arc<Server> {
        let http = HyperClient::builder(TokioExecutor::new()).build_http();
        Arc::new(Server {
            addr,
            running,
            http,
        })
    }

    /// Registers `req`'s job (if any) and names it in the request's [`JOB_HEADER`], for a
    /// request about to cross a connection to this server.
    fn register_job(parts: &mut http::request::Parts) {
        if let Some(JobSlot(slot)) = parts.extensions.remove::<JobSlot>()
            && let Some(job) = slot.lock().unwrap().take()
        {
            static NEXT: AtomicU64 = AtomicU64::new(1);
            let id = NEXT.fetch_add(1, Ordering::Relaxed);
            jobs().lock().unwrap().insert(id, job);
            parts.headers.insert(JOB_HEADER, id.into());
        }
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    async fn send(&self, req: Request<Body>) -> Response<Body> {
        let (mut parts, body) = req.into_parts();
        let path = parts.uri.path_and_query().map_or("/", |p| p.as_str());
        parts.uri = format!("http://{}{path}", self.addr).parse().unwrap();
        Self::register_job(&mut parts);
        match self.http.request(Request::from_parts(parts, body)).await {
            Ok(res) => res.map(Body::new),
            // The server closed the connection before a whole head arrived: a body that
            // failed before the server flushed anything. A browser shows a network error.
            Err(error) => {
                let mut res = Response::new(Body::empty());
                *res.status_mut() = StatusCode::BAD_GATEWAY;
                res.extensions_mut().insert(BodyFailed(error.to_string()));
                res
            }
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        // A framework's server stops when its `Served` drops.
        if let Running::Axum(task) = &self.running {
            task.abort();
        }
    }
}

#[derive(Clone)]
enum Transport {
    Oneshot(Router),
    Http(Router, Arc<Server>),
    Framework(Arc<dyn Frontend>, Arc<Server>),
}

/// One browser: a cookie jar holding at most the flash cookie.
#[derive(Clone)]
pub struct Client {
    transport: Transport,
    cookie: Arc<Mutex<Option<String>>>,
}

impl Client {
    /// A browser talking to `app` in process ([`Via::Oneshot`]).
    pub fn new(app: &Router) -> Self {
        Client {
            transport: Transport::Oneshot(app.clone()),
            cookie: Arc::new(Mutex::new(None)),
        }
    }

    /// A browser talking to `app` through a real listener ([`Via::Http`]).
    pub async fn over_http(app: &Router) -> Self {
        Client {
            transport: Transport::Http(app.clone(), Server::start(app).await),
            cookie: Arc::new(Mutex::new(None)),
        }
    }

    /// A browser talking to `app` the way `via` says.
    ///
    /// # Panics
    /// With [`Via::Framework`]: such a browser needs the framework ([`Client::on_framework`]).
    pub async fn via(via: Via, app: &Router) -> Self {
        match via {
            Via::Oneshot => Client::new(app),
            Via::Http => Client::over_http(app).await,
            Via::Framework => panic!("a framework's browser is made by Client::on_framework"),
        }
    }

    /// A browser talking to `app` served by `frontend`'s framework ([`Via::Framework`]).
    pub fn on_framework(frontend: Arc<dyn Frontend>, app: &TestApp) -> Self {
        let server = Server::start_on(&*frontend, app);
        Client {
            transport: Transport::Framework(frontend, server),
            cookie: Arc::new(Mutex::new(None)),
        }
    }

    /// A browser talking to `app` the way `via` says; `frontend` serves it under
    /// [`Via::Framework`].
    pub async fn for_test_app(
        via: Via,
        frontend: Option<Arc<dyn Frontend>>,
        app: &TestApp,
    ) -> Self {
        match (via, frontend) {
            (Via::Framework, Some(frontend)) => Client::on_framework(frontend, app),
            (Via::Framework, None) => panic!("Via::Framework needs a Frontend"),
            (via, _) => Client::via(via, &app.router()).await,
        }
    }

    pub fn transport(&self) -> Via {
        match self.transport {
            Transport::Oneshot(_) => Via::Oneshot,
            Transport::Http(..) => Via::Http,
            Transport::Framework(..) => Via::Framework,
        }
    }

    /// The axum app this client talks to.
    ///
    /// # Panics
    /// On another framework ([`Via::Framework`]).
    pub fn app(&self) -> &Router {
        match &self.transport {
            Transport::Oneshot(app) | Transport::Http(app, _) => app,
            Transport::Framework(..) => panic!("a framework's browser has no axum Router"),
        }
    }

    /// Another browser tab of the same client, talking to the axum `app` (maybe another
    /// instance) the same way this one does.
    ///
    /// # Panics
    /// On another framework ([`Via::Framework`]): use [`Client::with_test_app`].
    pub async fn with_app(&self, app: &Router) -> Self {
        let transport = match &self.transport {
            Transport::Oneshot(_) => Transport::Oneshot(app.clone()),
            Transport::Http(..) => Transport::Http(app.clone(), Server::start(app).await),
            Transport::Framework(..) => panic!("an axum Router on a framework's browser"),
        };
        Client {
            transport,
            cookie: self.cookie.clone(),
        }
    }

    /// Another browser tab of the same client, talking to `app` (another instance) the same
    /// way this one does, on whichever framework this one uses.
    pub async fn with_test_app(&self, app: &TestApp) -> Self {
        let transport = match &self.transport {
            Transport::Framework(frontend, _) => {
                Transport::Framework(frontend.clone(), Server::start_on(&**frontend, app))
            }
            _ => return self.with_app(&app.router()).await,
        };
        Client {
            transport,
            cookie: self.cookie.clone(),
        }
    }

    /// A real connection of its own to this client's app (for [`Via::Oneshot`], to the
    /// same app behind a new `axum::serve` listener) that writes `method path` with `job`,
    /// the jar's cookie, `Host` and `extra` header lines (each ending in `\r\n`): for cases
    /// that must see the raw response, or hang up in the middle of it.
    pub async fn raw_request<F, Fut>(
        &self,
        method: &str,
        path: &str,
        extra: &str,
        job: F,
    ) -> RawConnection
    where
        F: FnOnce(Flash) -> Fut + Send + 'static,
        Fut: Future<Output = AxumResponse> + Send + 'static,
    {
        use tokio::io::AsyncWriteExt;

        let server = match &self.transport {
            Transport::Oneshot(app) => Server::start(app).await,
            Transport::Http(_, server) | Transport::Framework(_, server) => server.clone(),
        };
        let req = with_job(Request::get(path).body(Body::empty()).unwrap(), job);
        let (mut parts, _) = req.into_parts();
        Server::register_job(&mut parts);
        let mut head = format!("{method} {path} HTTP/1.1\r\nHost: {}\r\n", server.addr());
        if let Some(cookie) = self.cookie() {
            head.push_str(&format!("Cookie: {cookie}\r\n"));
        }
        for (name, value) in &parts.headers {
            head.push_str(&format!("{name}: {}\r\n", value.to_str().unwrap()));
        }
        head.push_str(extra);
        head.push_str("\r\n");
        let mut conn = tokio::net::TcpStream::connect(server.addr()).await.unwrap();
        conn.write_all(head.as_bytes()).await.unwrap();
        RawConnection {
            conn,
            _server: server,
        }
    }

    /// Another browser (an empty cookie jar) reaching the same app the same way.
    pub fn fresh(&self) -> Self {
        Client {
            transport: self.transport.clone(),
            cookie: Arc::new(Mutex::new(None)),
        }
    }

    pub fn cookie(&self) -> Option<String> {
        self.cookie.lock().unwrap().clone()
    }

    pub fn set_cookie(&self, cookie: Option<String>) {
        *self.cookie.lock().unwrap() = cookie;
    }

    /// Sends `req` as a browser that goes away once it has the response's head: the cookie
    /// is kept, the body is dropped unread.
    pub async fn send_and_hang_up(&self, req: Request<Body>) -> http::response::Parts {
        self.exchange(req).await.into_parts().0
    }

    /// Sends `req` with the jar's cookie and stores any `Set-Cookie` of the response; the
    /// body is left as the server sent it.
    async fn exchange(&self, mut req: Request<Body>) -> Response<Body> {
        if let Some(cookie) = self.cookie() {
            req.headers_mut().insert(COOKIE, cookie.parse().unwrap());
        }
        let res = match &self.transport {
            Transport::Oneshot(app) => app.clone().oneshot(req).await.unwrap(),
            Transport::Http(_, server) | Transport::Framework(_, server) => server.send(req).await,
        };
        if let Some(set) = res.headers().get(SET_COOKIE) {
            let pair = set.to_str().unwrap().split(';').next().unwrap().to_owned();
            self.set_cookie(Some(pair));
        }
        res
    }

    /// Sends `req` with the jar's cookie and stores any `Set-Cookie` of the response.
    pub async fn send(&self, req: Request<Body>) -> Response<Body> {
        let res = self.exchange(req).await;
        // Read the body to its end, as a browser does: with delivery confirmation, a body
        // left unread is a client that went away.
        if res.extensions().get::<BodyFailed>().is_some() {
            return res;
        }
        let (parts, body) = res.into_parts();
        match body.collect().await {
            Ok(collected) => Response::from_parts(parts, Body::from(collected.to_bytes())),
            Err(error) => {
                let mut res = Response::from_parts(parts, Body::empty());
                res.extensions_mut().insert(BodyFailed(error.to_string()));
                res
            }
        }
    }

    /// Runs `job` with the `Flash` of a real request and returns its result along with the
    /// response.
    pub async fn run_with_response<T, F, Fut>(&self, job: F) -> (T, Response<Body>)
    where
        T: Send + 'static,
        F: FnOnce(Flash) -> Fut + Send + 'static,
        Fut: Future<Output = T> + Send + 'static,
    {
        let out: Arc<Mutex<Option<T>>> = Arc::new(Mutex::new(None));
        let sink = out.clone();
        let res = self
            .respond_at("/run", move |flash| async move {
                let value = job(flash).await;
                *sink.lock().unwrap() = Some(value);
                StatusCode::OK.into_response()
            })
            .await;
        let value = out.lock().unwrap().take().expect("the job did not run");
        (value, res)
    }

    /// Sends a GET for `path` whose handler is `job`, answering what `job` returns.
    pub async fn respond_at<F, Fut>(&self, path: &str, job: F) -> Response<Body>
    where
        F: FnOnce(Flash) -> Fut + Send + 'static,
        Fut: Future<Output = AxumResponse> + Send + 'static,
    {
        let req = Request::get(path).body(Body::empty()).unwrap();
        self.send(with_job(req, job)).await
    }

    /// Takes all messages in a request to `path` and returns their texts.
    pub async fn take_texts_at(&self, path: &str) -> Vec<String> {
        let out: Arc<Mutex<Vec<String>>> = Arc::new(Mutex::new(Vec::new()));
        let sink = out.clone();
        let res = self
            .respond_at(path, move |flash| async move {
                let texts = flash.take_all().await.into_iter().map(|m| m.into_text());
                sink.lock().unwrap().extend(texts);
                StatusCode::OK.into_response()
            })
            .await;
        assert_eq!(res.status(), StatusCode::OK);
        out.lock().unwrap().clone()
    }

    /// [`Client::run_with_response`] when only the job's result matters.
    pub async fn run<T, F, Fut>(&self, job: F) -> T
    where
        T: Send + 'static,
        F: FnOnce(Flash) -> Fut + Send + 'static,
        Fut: Future<Output = T> + Send + 'static,
    {
        let (value, res) = self.run_with_response(job).await;
        assert_eq!(res.status(), StatusCode::OK);
        value
    }

    /// Takes all messages in a new request and returns their texts.
    pub async fn take_texts(&self) -> Vec<String> {
        self.run(|flash| async move {
            flash
                .take_all()
                .await
                .into_iter()
                .map(|m| m.into_text())
                .collect()
        })
        .await
    }
}

/// A connection opened by [`Client::raw_request`]; dropping it hangs up.
pub struct RawConnection {
    pub conn: tokio::net::TcpStream,
    _server: Arc<Server>,
}

/// A store that counts the calls made to it.
#[derive(Clone, Default)]
pub struct Counting {
    inner: MemoryStore,
    calls: Arc<AtomicUsize>,
}

impl Counting {
    pub fn calls(&self) -> usize {
        self.calls.load(Ordering::SeqCst)
    }
    fn count(&self) {
        self.calls.fetch_add(1, Ordering::SeqCst);
    }
}

impl Store for Counting {
    async fn write(
        &self,
        id: &ClientId,
        m: &[Message],
        end: End,
        o: &PushOptions,
        now: u64,
    ) -> Result<PushReceipt, StoreError> {
        self.count();
        self.inner.write(id, m, end, o, now).await
    }
    async fn take(&self, id: &ClientId, take: &Take<'_>) -> Result<Vec<Message>, StoreError> {
        self.count();
        self.inner.take(id, take).await
    }
    async fn peek(&self, id: &ClientId, now: u64) -> Result<Vec<Message>, StoreError> {
        self.count();
        self.inner.peek(id, now).await
    }
    async fn clear(&self, id: &ClientId) -> Result<(), StoreError> {
        self.count();
        self.inner.clear(id).await
    }
    fn leases(&self) -> Option<&dyn ErasedLeaseStore> {
        Some(self)
    }
    fn scopes(&self) -> Option<&dyn ErasedScopeStore> {
        Some(self)
    }
}

impl LeaseStore for Counting {
    async fn take_leased(
        &self,
        id: &ClientId,
        take: &Take<'_>,
        lease: &Lease,
    ) -> Result<Vec<Message>, StoreError> {
        self.count();
        self.inner.take_leased(id, take, lease).await
    }
    async fn release(&self, id: &ClientId, lease: &LeaseId) -> Result<bool, StoreError> {
        self.count();
        self.inner.release(id, lease).await
    }
    async fn give_back(
        &self,
        id: &ClientId,
        lease: &LeaseId,
        only: Option<&[Message]>,
        o: &PushOptions,
        now: u64,
    ) -> Result<usize, StoreError> {
        self.count();
        self.inner.give_back(id, lease, only, o, now).await
    }
}

impl ScopeStore for Counting {
    async fn rescope(
        &self,
        id: &ClientId,
        from: &Target,
        to: &Scope,
        now: u64,
    ) -> Result<usize, StoreError> {
        self.count();
        self.inner.rescope(id, from, to, now).await
    }
}

/// A [`Clock`](tower_flash::Clock) the test moves, starting at the system time: TTLs,
/// lease timeouts and scope fallbacks pass at once, without sleeping. Clones share the
/// hands.
#[derive(Clone, Debug)]
pub struct ManualClock(Arc<AtomicU64>);

impl Default for ManualClock {
    fn default() -> Self {
        Self::new()
    }
}

impl ManualClock {
    pub fn new() -> Self {
        ManualClock(Arc::new(AtomicU64::new(now())))
    }
    /// Moves the clock forward by `by`.
    pub fn advance(&self, by: std::time::Duration) {
        let ms = u64::try_from(by.as_millis()).unwrap_or(u64::MAX);
        self.0.fetch_add(ms, Ordering::SeqCst);
    }
    /// The time it shows, ms since the Unix epoch.
    pub fn now(&self) -> u64 {
        self.0.load(Ordering::SeqCst)
    }
}

impl tower_flash::Clock for ManualClock {
    fn now_millis(&self) -> u64 {
        self.now()
    }
}

/// The time now by the system clock, ms since the Unix epoch: what the layer's default
/// clock gives the store.
pub fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

/// Pushes and put-backs as the layer makes them, at [`now`].
pub trait Calls: Store {
    /// A write at the back of the queue: a push.
    fn push(
        &self,
        id: &ClientId,
        messages: &[Message],
        options: &PushOptions,
    ) -> impl Future<Output = Result<PushReceipt, StoreError>> + Send {
        self.write(id, messages, End::Back, options, now())
    }

    /// A write at the front of the queue: messages put back.
    fn restore(
        &self,
        id: &ClientId,
        messages: &[Message],
        options: &PushOptions,
    ) -> impl Future<Output = Result<PushReceipt, StoreError>> + Send {
        self.write(id, messages, End::Front, options, now())
    }
}

impl<S: Store> Calls for S {}

/// Loopback ports for servers a test starts in another process (`redis-server`, sentinels,
/// cluster buses), each reserved for the rest of this process. nextest runs every test in a
/// process of its own, many at once, and a port the kernel hands out for `127.0.0.1:0` is
/// free only until the next connection or test takes it: two tests could start their
/// servers on one port, and a test would then talk to another test's server. So the ports
/// come from below Linux's ephemeral range (32768-60999, where the kernel picks the local
/// ports of connections and of `:0` binds), each one locked by a file lock that no other
/// test process can take while this one lives (the lock dies with the process, however it
/// ends), and checked free by a bind.
pub fn free_ports(n: usize) -> Vec<u16> {
    const FIRST: u16 = 20_000;
    const COUNT: u16 = 12_768; // up to 32767
    // Where this process starts looking: random, so that processes rarely contend.
    let start = {
        use std::hash::{BuildHasher, Hasher};
        let mut hasher = std::hash::RandomState::new().build_hasher();
        hasher.write_u32(std::process::id());
        (hasher.finish() % u64::from(COUNT)) as u16
    };
    reserve_ports(FIRST, COUNT, start, n).unwrap_or_else(|| {
        panic!(
            "no {n} free loopback ports in {FIRST}-{}",
            FIRST + COUNT - 1
        )
    })
}

/// `n` ports of `first..first + count`, looked for from `first + start`, each locked for the
/// rest of this process; `None` when fewer are free.
fn reserve_ports(first: u16, count: u16, start: u16, n: usize) -> Option<Vec<u16>> {
    static HELD: Mutex<Vec<std::fs::File>> = Mutex::new(Vec::new());
    let dir = std::env::temp_dir().join("tower-flash-test-ports");
    std::fs::create_dir_all(&dir)
        .unwrap_or_else(|e| panic!("cannot create {} for port locks: {e}", dir.display()));
    let mut held = HELD
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let mut ports = Vec::with_capacity(n);
    let mut files = Vec::with_capacity(n);
    for offset in 0..count {
        if ports.len() == n {
            break;
        }
        let port = first + (start + offset) % count;
        let path = dir.join(port.to_string());
        let file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .unwrap_or_else(|e| panic!("cannot open the port lock {}: {e}", path.display()));
        // Taken by another live test process, or already by this one (a second open file
        // of the same path conflicts too).
        if file.try_lock().is_err() {
            continue;
        }
        if std::net::TcpListener::bind(("127.0.0.1", port)).is_ok() {
            ports.push(port);
            files.push(file);
        }
    }
    // Fewer than asked: the locks taken go with `files`.
    (ports.len() == n).then(|| {
        held.append(&mut files);
        ports
    })
}

#[cfg(test)]
mod tests {
    /// A range apart from `free_ports`' own, so that no other test holds any of it.
    const FIRST: u16 = 19_990;
    const COUNT: u16 = 4;
    const CHILD: &str = "TOWER_FLASH_TESTKIT_PORTS_CHILD";

    /// Ports reserved by one test process are refused to the same process and to another,
    /// as long as the first lives: this test runs its own binary again as the other.
    #[test]
    fn reserved_ports_are_refused_to_this_process_and_to_another() {
        if std::env::var_os(CHILD).is_some() {
            assert_eq!(super::reserve_ports(FIRST, COUNT, 0, 1), None);
            return;
        }
        let ports = super::reserve_ports(FIRST, COUNT, 1, COUNT.into()).expect("the range is free");
        let mut sorted = ports.clone();
        sorted.sort_unstable();
        assert_eq!(sorted, (FIRST..FIRST + COUNT).collect::<Vec<_>>());
        assert_eq!(super::reserve_ports(FIRST, COUNT, 0, 1), None);

        let name = "harness::tests::reserved_ports_are_refused_to_this_process_and_to_another";
        let out = std::process::Command::new(std::env::current_exe().expect("this test binary"))
            .args(["--exact", name, "--test-threads", "1"])
            .env(CHILD, "1")
            .output()
            .expect("run the other process");
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success() && stdout.contains("1 passed"),
            "the other process got a reserved port, or did not run the check:\n{stdout}{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

pub async fn body_text(res: Response<Body>) -> String {
    let bytes = res.into_body().collect().await.unwrap().to_bytes();
    String::from_utf8(bytes.to_vec()).unwrap()
}
#[cfg(feature = "redis")]
pub mod load;
#[cfg(feature = "redis")]
pub mod proxy;
#[cfg(any(feature = "cluster", feature = "sentinel"))]
pub mod redis_deployments;
#[cfg(feature = "redis")]
pub mod redis_server;
#[cfg(feature = "tls")]
pub mod tls;

/// A body that sends `first`, then fails: a view whose rendering breaks mid-stream.
pub fn failing_body(first: &'static str) -> Body {
    Body::new(FailingBody { first: Some(first) })
}

struct FailingBody {
    first: Option<&'static str>,
}

impl http_body::Body for FailingBody {
    type Data = bytes::Bytes;
    type Error = std::io::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        _cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<http_body::Frame<Self::Data>, Self::Error>>> {
        std::task::Poll::Ready(Some(match self.first.take() {
            Some(first) => Ok(http_body::Frame::data(bytes::Bytes::from_static(
                first.as_bytes(),
            ))),
            None => Err(std::io::Error::other("the view broke mid-body")),
        }))
    }
}

/// Marks a response whose body failed while [`Client::send`] read it.
#[derive(Clone, Debug)]
pub struct BodyFailed(pub String);

/// Reads a whole body, reporting whether it failed.
pub async fn body_result(res: Response<Body>) -> Result<String, String> {
    if let Some(BodyFailed(error)) = res.extensions().get::<BodyFailed>() {
        return Err(error.clone());
    }
    match res.into_body().collect().await {
        Ok(collected) => Ok(String::from_utf8_lossy(&collected.to_bytes()).into_owned()),
        Err(e) => Err(e.to_string()),
    }
}

/// A body that sends `chunk\n` every 10 ms, forever: only a client hanging up ends it.
pub struct Endless {
    tick: tokio::time::Interval,
}

impl Default for Endless {
    fn default() -> Self {
        Self::new()
    }
}

impl Endless {
    pub fn new() -> Self {
        Endless {
            tick: tokio::time::interval(std::time::Duration::from_millis(10)),
        }
    }
}

impl http_body::Body for Endless {
    type Data = bytes::Bytes;
    type Error = std::io::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<http_body::Frame<Self::Data>, Self::Error>>> {
        std::task::ready!(self.tick.poll_tick(cx));
        std::task::Poll::Ready(Some(Ok(http_body::Frame::data(bytes::Bytes::from_static(
            b"chunk\n",
        )))))
    }
}

/// A body of two chunks whose size is not known up front: a handler that sets
/// `Content-Length` itself streams such a body, and the server stops at that length
/// without polling for the end.
pub struct TwoChunks {
    chunks: std::collections::VecDeque<&'static str>,
}

impl TwoChunks {
    pub fn new(first: &'static str, second: &'static str) -> Self {
        TwoChunks {
            chunks: [first, second].into(),
        }
    }
}

impl http_body::Body for TwoChunks {
    type Data = bytes::Bytes;
    type Error = std::io::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        _cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<http_body::Frame<Self::Data>, Self::Error>>> {
        std::task::Poll::Ready(self.chunks.pop_front().map(|chunk| {
            Ok(http_body::Frame::data(bytes::Bytes::from_static(
                chunk.as_bytes(),
            )))
        }))
    }
}
