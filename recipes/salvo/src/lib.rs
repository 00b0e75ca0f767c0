//! tower-flash on [salvo] 1: a message set before a redirect, shown once on the next page.
//!
//! salvo's tower bridge (feature `tower-compat`) carries `FlashLayer` as it is:
//! `layer.compat()` is a hoop that runs the rest of the flow inside the layer. The request
//! goes through as an `http::Request` and comes back with the `Flash` handle in its
//! extensions; the layer sees the flow's real response (a handler's 500 included) and
//! streams its body. The one piece of glue is [`FlashExt`], the handle out of the request.
//!
//! [salvo]: https://docs.rs/salvo

use salvo::http::{ReqBody, StatusError};
use salvo::prelude::*;
use tower_flash::{Flash, FlashLayer};

/// The guestbook of every recipe: `GET /` lists the messages it takes, `POST /save` pushes
/// one and redirects, `GET /broken` takes the messages and then fails (as a broken template
/// would); with `confirm_delivery()` on the layer, they come back.
pub fn app(layer: FlashLayer) -> Router {
    Router::new()
        // Outermost, so that the layer sees every response of the routes below.
        .hoop(layer.compat::<ReqBody>())
        .get(index)
        .push(Router::with_path("save").post(save))
        .push(Router::with_path("broken").get(broken))
}

/// The request's `Flash` handle, put in its extensions by `FlashLayer`.
pub trait FlashExt {
    /// The handle, or a 500 when the route is not behind the layer (a wiring mistake).
    fn flash(&self) -> Result<Flash, StatusError>;
}

impl FlashExt for Request {
    fn flash(&self) -> Result<Flash, StatusError> {
        self.extensions().get::<Flash>().cloned().ok_or_else(|| {
            StatusError::internal_server_error().brief("FlashLayer is missing on this route")
        })
    }
}

#[handler]
async fn index(req: &mut Request) -> Result<Text<String>, StatusError> {
    let mut page = String::from("<ul>");
    for message in req.flash()?.take_all().await {
        // Message text is data: escape it (template engines do this for you).
        let text = message.text().replace('&', "&amp;").replace('<', "&lt;");
        page += &format!("<li class=\"{}\">{text}</li>", message.kind());
    }
    Ok(Text::Html(page + "</ul>"))
}

#[handler]
async fn save(req: &mut Request) -> Result<Redirect, StatusError> {
    req.flash()?.success("Saved!").map_err(|error| {
        StatusError::from_code(error.status())
            .unwrap_or_else(StatusError::internal_server_error)
            .brief(error.to_string())
    })?;
    Ok(Redirect::other("/"))
}

#[handler]
async fn broken(req: &mut Request) -> Result<Text<String>, StatusError> {
    let _messages = req.flash()?.take_all().await;
    Err(StatusError::internal_server_error())
}
