//! Test harness: a real axum `Router` behind `FlashLayer`, driven by clients with their own
//! cookie jar. A test runs arbitrary code against the request's `Flash` inside a real
//! request with [`Client::run`].

#![allow(dead_code, unreachable_pub, clippy::unwrap_used, clippy::expect_used)]

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::Body;
use axum::extract::Extension;
use axum::routing::get;
use http::header::{COOKIE, SET_COOKIE};
use http::{Request, Response, StatusCode};
use http_body_util::BodyExt;
use tower::ServiceExt;
use tower_flash::{Flash, FlashLayer, Key};

type Job = Box<dyn FnOnce(Flash) -> Pin<Box<dyn Future<Output = ()> + Send>> + Send>;

#[derive(Clone)]
struct JobSlot(Arc<Mutex<Option<Job>>>);

/// A fixed key so that several routers (app instances) accept each other's cookies.
pub fn key() -> Key {
    Key::from(&[42u8; 64])
}

/// The test app: `/run` executes the job carried by the request.
pub fn app(layer: FlashLayer) -> Router {
    Router::new().route("/run", get(run_job)).layer(layer)
}

async fn run_job(Extension(slot): Extension<JobSlot>, flash: Flash) -> StatusCode {
    let job = slot.0.lock().unwrap().take();
    match job {
        Some(job) => {
            job(flash).await;
            StatusCode::OK
        }
        None => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

/// One browser: a cookie jar holding at most the flash cookie.
#[derive(Clone)]
pub struct Client {
    app: Router,
    cookie: Arc<Mutex<Option<String>>>,
}

impl Client {
    pub fn new(app: &Router) -> Self {
        Client {
            app: app.clone(),
            cookie: Arc::new(Mutex::new(None)),
        }
    }

    /// Another browser tab of the same client, talking to `app` (maybe another instance).
    pub fn with_app(&self, app: &Router) -> Self {
        Client {
            app: app.clone(),
            cookie: self.cookie.clone(),
        }
    }

    pub fn cookie(&self) -> Option<String> {
        self.cookie.lock().unwrap().clone()
    }

    pub fn set_cookie(&self, cookie: Option<String>) {
        *self.cookie.lock().unwrap() = cookie;
    }

    /// Sends `req` with the jar's cookie and stores any `Set-Cookie` of the response.
    pub async fn send(&self, mut req: Request<Body>) -> Response<Body> {
        if let Some(cookie) = self.cookie() {
            req.headers_mut().insert(COOKIE, cookie.parse().unwrap());
        }
        let res = self.app.clone().oneshot(req).await.unwrap();
        if let Some(set) = res.headers().get(SET_COOKIE) {
            let pair = set.to_str().unwrap().split(';').next().unwrap().to_owned();
            self.set_cookie(Some(pair));
        }
        res
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
        let job: Job = Box::new(move |flash| {
            Box::pin(async move {
                let value = job(flash).await;
                *sink.lock().unwrap() = Some(value);
            })
        });
        let mut req = Request::get("/run").body(Body::empty()).unwrap();
        req.extensions_mut()
            .insert(JobSlot(Arc::new(Mutex::new(Some(job)))));
        let res = self.send(req).await;
        let value = out.lock().unwrap().take().expect("the job did not run");
        (value, res)
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

pub async fn body_text(res: Response<Body>) -> String {
    let bytes = res.into_body().collect().await.unwrap().to_bytes();
    String::from_utf8(bytes.to_vec()).unwrap()
}
#[cfg(feature = "redis")]
pub mod redis_server;
