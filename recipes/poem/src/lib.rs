//! tower-flash on [poem] 3: a message set before a redirect, shown once on the next page.
//!
//! poem's own tower bridge, `TowerLayerCompatExt::compat`, cannot carry `FlashLayer`: it
//! hands the tower service poem's `Request`, and `FlashService` serves `http::Request`s.
//! Converting a poem request into an `http::Request` and back would lose what poem keeps
//! beside it (remote address, route parameters, original URI). So [`WithFlash`] runs the
//! layer with the whole poem request riding along as the `http::Request`'s body: the layer
//! sees the head it needs (method, URI, `Cookie`), the endpoint gets its request back
//! untouched plus the `Flash` handle in its extensions, and the layer sees the endpoint's
//! real response (status, headers, and its body streamed through to the end). Handlers
//! take the handle with poem's own `Data<&Flash>` extractor: no extractor to write.
//!
//! [poem]: https://docs.rs/poem

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::Bytes;
use http_body_util::combinators::BoxBody;
use poem::http::StatusCode;
use poem::web::{Data, Html, Redirect};
use poem::{Endpoint, EndpointExt, Middleware, Request, Response, Route, handler};
use tower_flash::{Flash, FlashLayer, FlashService};
use tower_layer::Layer;
use tower_service::Service;

/// The guestbook of every recipe: `GET /` lists the messages it takes, `POST /save` pushes
/// one and redirects, `GET /broken` takes the messages and then fails (as a broken template
/// would); with `confirm_delivery()` on the layer, they come back.
pub fn app(layer: FlashLayer) -> impl Endpoint {
    Route::new()
        .at("/", poem::get(index))
        .at("/save", poem::post(save))
        .at("/broken", poem::get(broken))
        .with(WithFlash(layer))
}

#[handler]
async fn index(Data(flash): Data<&Flash>) -> Html<String> {
    let mut page = String::from("<ul>");
    for message in flash.take_all().await {
        // Message text is data: escape it (template engines do this for you).
        let text = message.text().replace('&', "&amp;").replace('<', "&lt;");
        page += &format!("<li class=\"{}\">{text}</li>", message.kind());
    }
    Html(page + "</ul>")
}

#[handler]
fn save(Data(flash): Data<&Flash>) -> poem::Result<Redirect> {
    flash
        .success("Saved!")
        .map_err(|error| poem::Error::from_string(error.to_string(), error.status()))?;
    Ok(Redirect::see_other("/"))
}

#[handler]
async fn broken(Data(flash): Data<&Flash>) -> poem::Result<Html<String>> {
    let _messages = flash.take_all().await;
    Err(poem::Error::from_status(StatusCode::INTERNAL_SERVER_ERROR))
}

/// tower-flash's [`FlashLayer`] as a poem [`Middleware`]: `route.with(WithFlash(layer))`.
/// Put it outermost, so that it sees every response of the routes it serves.
pub struct WithFlash(pub FlashLayer);

impl<E: Endpoint + 'static> Middleware<E> for WithFlash {
    type Output = FlashEndpoint<E>;

    fn transform(&self, endpoint: E) -> Self::Output {
        FlashEndpoint(self.0.layer(Inner(Arc::new(endpoint))))
    }
}

/// A poem endpoint behind [`WithFlash`].
pub struct FlashEndpoint<E>(FlashService<Inner<E>>);

impl<E: Endpoint + 'static> Endpoint for FlashEndpoint<E> {
    type Output = Response;

    async fn call(&self, mut request: Request) -> poem::Result<Response> {
        // The layer reads the head only; the headers move out and back, uncopied.
        let mut head = http::Request::new(());
        *head.method_mut() = request.method().clone();
        *head.uri_mut() = request.uri().clone();
        *head.headers_mut() = std::mem::take(request.headers_mut());
        let response = match self.0.clone().call(head.map(|()| request)).await {
            Ok(response) => response,
            Err(never) => match never {},
        };
        // Streams the body: the flash layer sees its end (delivery confirmation needs it).
        Ok(Response::from(response))
    }
}

/// The endpoint as the tower service the layer wraps.
struct Inner<E>(Arc<E>);

impl<E> Clone for Inner<E> {
    fn clone(&self) -> Self {
        Inner(Arc::clone(&self.0))
    }
}

type Body = BoxBody<Bytes, std::io::Error>;

impl<E: Endpoint + 'static> Service<http::Request<Request>> for Inner<E> {
    type Response = http::Response<Body>;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, Infallible>> + Send>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: http::Request<Request>) -> Self::Future {
        let (parts, mut request) = request.into_parts();
        *request.headers_mut() = parts.headers;
        // The `Flash` handle the layer put there.
        request.extensions_mut().extend(parts.extensions);
        let endpoint = Arc::clone(&self.0);
        // An endpoint's error becomes its response here, inside the layer: a 500 is seen
        // as a 500, and delivery confirmation gives the messages back.
        Box::pin(async move { Ok(endpoint.get_response(request).await.into()) })
    }
}
