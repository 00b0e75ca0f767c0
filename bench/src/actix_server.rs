//! The benchmark server on actix-web (`FLASH_FRAMEWORK=actix`): the same routes, store and
//! options as [`server`](crate::server), through `tower-flash-actix`, so that the same
//! black-box contract and load generator measure both frameworks.

use std::collections::HashMap;
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::task::{Context, Poll};

use actix_web::body::{BodySize, BoxBody, MessageBody};
use actix_web::dev::{Service, ServiceRequest, ServiceResponse};
use actix_web::http::header;
use actix_web::{App, HttpResponse, HttpServer, ResponseError, web};
use bytes::Bytes;
use tower_flash_actix::{Flash, FlashError, FlashMiddleware};

use crate::server::{Config, ConfigError};
use flash_floor::{Fail, parse_fail, parse_set};

/// Serves `config` on actix-web until `shutdown` resolves. Runs inside an actix `System`
/// (`actix_web::rt::System::new().block_on(..)`).
pub async fn serve(
    config: Config,
    shutdown: impl Future<Output = ()> + 'static,
) -> Result<(), ConfigError> {
    let flash = FlashMiddleware::new(config.layer().await?);
    let listen = |source| ConfigError::Listen {
        addr: config.addr,
        source,
    };
    let server = HttpServer::new(move || app(flash.clone()))
        .disable_signals()
        .bind(config.addr)
        .map_err(listen)?;
    let addr = server.addrs().first().copied().unwrap_or(config.addr);
    eprintln!("{}", crate::server::banner(&config, addr, "actix-web"));
    let server = server.run();
    let handle = server.handle();
    actix_web::rt::spawn(async move {
        shutdown.await;
        handle.stop(true).await;
    });
    server.await.map_err(listen)
}

/// The routes of the contract; `/bare` without the flash middleware.
fn app(
    flash: FlashMiddleware,
) -> App<
    impl actix_web::dev::ServiceFactory<
        ServiceRequest,
        Config = (),
        Response = ServiceResponse<impl MessageBody>,
        Error = actix_web::Error,
        InitError = (),
    >,
> {
    App::new().route("/bare", web::get().to(ok)).service(
        web::scope("")
            // Inside the flash middleware, so that it sees the 500 of a panic (and gives
            // leased messages back before the response leaves).
            .wrap_fn(catch_panic)
            .wrap(flash)
            .route("/health", web::get().to(ok))
            .route("/set", web::get().to(set))
            .route("/read", web::get().to(read_all))
            .route("/read/{kind}", web::get().to(read_kind))
            .route("/page/{page}", web::get().to(read_page)),
    )
}

async fn ok() -> &'static str {
    "ok"
}

fn bad_request(reason: &'static str) -> HttpResponse {
    HttpResponse::BadRequest().body(reason)
}

async fn set(flash: Flash, query: web::Query<HashMap<String, String>>) -> HttpResponse {
    let set = match parse_set(&query) {
        Ok(set) => set,
        Err(reason) => return bad_request(reason),
    };
    if let Err(error) = flash.push(set.kind, set.msg) {
        return FlashError(error).error_response();
    }
    HttpResponse::Found()
        .insert_header((header::LOCATION, set.location.as_bytes()))
        .finish()
}

async fn read_all(flash: Flash, query: web::Query<HashMap<String, String>>) -> HttpResponse {
    let fail = match parse_fail(&query) {
        Ok(fail) => fail,
        Err(reason) => return bad_request(reason),
    };
    let messages = flash.take_all().await;
    match fail {
        Some(Fail::Status500) => HttpResponse::InternalServerError().body("the view failed"),
        Some(Fail::Panic) => panic!("the view panicked (fail=panic)"),
        Some(Fail::Abort) => HttpResponse::Ok().body(Aborting::Start),
        None => HttpResponse::Ok().json(messages.grouped().to_texts()),
    }
}

async fn read_page(flash: Flash, _page: web::Path<String>) -> HttpResponse {
    HttpResponse::Ok().json(flash.take_all().await.grouped().to_texts())
}

async fn read_kind(flash: Flash, kind: web::Path<String>) -> HttpResponse {
    match flash.try_take(&kind).await {
        Ok(messages) => HttpResponse::Ok().json(messages.texts()),
        Err(tower_flash::Error::Store(_)) => HttpResponse::Ok().json(Vec::<String>::new()),
        Err(error) => FlashError(error).error_response(),
    }
}

/// Turns a panicking handler into a `500`, as tower-http's `CatchPanicLayer` does for axum
/// (actix-web has no such middleware: it would drop the connection). The `500` is an error
/// of the service, which actix answers; the flash middleware around it sees its status.
fn catch_panic<S>(
    req: ServiceRequest,
    service: &S,
) -> impl Future<Output = Result<ServiceResponse<BoxBody>, actix_web::Error>> + use<S>
where
    S: Service<ServiceRequest, Response = ServiceResponse<BoxBody>, Error = actix_web::Error>,
    S::Future: 'static,
{
    let response = service.call(req);
    async move {
        match CatchUnwind(Box::pin(response)).await {
            Ok(response) => response,
            Err(()) => Err(actix_web::error::ErrorInternalServerError(
                "the view panicked",
            )),
        }
    }
}

/// A future whose panic is caught and reported as `Err(())`.
struct CatchUnwind<F>(Pin<Box<F>>);

impl<F: Future> Future for CatchUnwind<F> {
    type Output = Result<F::Output, ()>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let inner = self.0.as_mut();
        match std::panic::catch_unwind(AssertUnwindSafe(|| inner.poll(cx))) {
            Ok(poll) => poll.map(Ok),
            Err(_) => Poll::Ready(Err(())),
        }
    }
}

/// A body that starts, then fails: `fail=abort`. It waits once between its first bytes and
/// its error, so that actix sends the 200 head and those bytes before the error closes the
/// connection.
enum Aborting {
    Start,
    Sent,
    Failing,
    Done,
}

impl MessageBody for Aborting {
    type Error = std::io::Error;

    fn size(&self) -> BodySize {
        BodySize::Stream
    }

    fn poll_next(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Bytes, std::io::Error>>> {
        match *self {
            Aborting::Start => {
                *self = Aborting::Sent;
                Poll::Ready(Some(Ok(Bytes::from_static(b"{\"partial\":"))))
            }
            Aborting::Sent => {
                *self = Aborting::Failing;
                cx.waker().wake_by_ref();
                Poll::Pending
            }
            Aborting::Failing => {
                *self = Aborting::Done;
                Poll::Ready(Some(Err(std::io::Error::other(
                    "fail=abort: the body broke",
                ))))
            }
            Aborting::Done => Poll::Ready(None),
        }
    }
}
