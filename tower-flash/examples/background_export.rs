//! Messages keyed by the signed-in user, pushed by a background job:
//!
//! ```text
//! cargo run -p tower-flash --example background_export
//! ```
//!
//! Open <http://127.0.0.1:3001> in two browsers (or a browser and a private window), sign in
//! with the same name in both, and start an export in one. Three seconds later the job pushes
//! "Your export is ready" to the user: the next page of whichever browser asks first shows
//! it, once. A third browser signed in with another name, or signed out, never sees it.
//!
//! The "sign in" here is a plain, unsigned `user` cookie standing in for your
//! authentication layer: it is not authentication. What matters is the shape: the auth layer
//! puts the user in the request extensions, and [`FlashLayer::identify`] keys messages by it.

#![allow(missing_docs)]

use std::time::Duration;

use askama::Template;
use axum::extract::{Form, Request};
use axum::http::StatusCode;
use axum::http::header::{COOKIE, SET_COOKIE};
use axum::middleware::{self, Next};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Extension, Router};
use cookie::{Cookie, SameSite};
use serde::Deserialize;
use tower_flash::{ClientId, Flash, FlashLayer, FlashSender, Key, Level, MemoryStore, Message};

/// The signed-in user, put in the request extensions by the (stand-in) auth layer.
#[derive(Clone)]
struct User(String);

impl User {
    /// The user's flash queue: prefixed so that it cannot meet a cookie's random id.
    fn client_id(&self) -> Option<ClientId> {
        ClientId::new(&format!("user:{}", self.0)).ok()
    }
}

/// Stand-in authentication: the `user` cookie names the user.
async fn authenticate(mut req: Request, next: Next) -> Response {
    let user = req
        .headers()
        .get_all(COOKIE)
        .iter()
        .filter_map(|header| header.to_str().ok())
        .flat_map(Cookie::split_parse)
        .filter_map(Result::ok)
        .find(|cookie| cookie.name() == "user")
        .map(|cookie| User(cookie.value().to_owned()));
    if let Some(user) = user {
        req.extensions_mut().insert(user);
    }
    next.run(req).await
}

#[derive(Template)]
#[template(
    ext = "html",
    source = r#"<!doctype html>
<title>tower-flash: background export</title>
{% for m in messages %}<p class="{{ m.kind() }}">{{ m.text() }}</p>
{% endfor %}
{% match user %}{% when Some(name) %}
<p>Signed in as <b>{{ name }}</b>.</p>
<form method="post" action="/export"><button>Start an export (ready in 3 s)</button></form>
<form method="post" action="/logout"><button>Sign out</button></form>
<p>Reload this page, here or in another browser signed in as {{ name }}.</p>
{% when None %}
<form method="post" action="/login">
  <input name="name" placeholder="your name" required pattern="[A-Za-z0-9]{1,32}">
  <button>Sign in</button>
</form>
{% endmatch %}"#
)]
struct Page {
    user: Option<String>,
    messages: tower_flash::Messages,
}

async fn index(flash: Flash, user: Option<Extension<User>>) -> Result<Html<String>, StatusCode> {
    let page = Page {
        user: user.map(|Extension(user)| user.0),
        messages: flash.take_all().await,
    };
    page.render().map(Html).map_err(|error| {
        eprintln!("template error: {error}");
        StatusCode::INTERNAL_SERVER_ERROR
    })
}

#[derive(Deserialize)]
struct Login {
    name: String,
}

/// Signs in. This request came in anonymous: `rebind` sends its greeting to the user.
async fn login(flash: Flash, Form(login): Form<Login>) -> Result<Response, tower_flash::Error> {
    let valid = (1..=32).contains(&login.name.len())
        && login.name.bytes().all(|b| b.is_ascii_alphanumeric());
    let user = User(login.name);
    let Some(id) = user.client_id().filter(|_| valid) else {
        flash.error("A name is 1 to 32 letters or digits")?;
        return Ok(Redirect::to("/").into_response());
    };
    flash.rebind(Some(id)).await?;
    flash.info(format!("Signed in as {}", user.0))?;
    let cookie = user_cookie(user.0);
    Ok(([(SET_COOKIE, cookie.to_string())], Redirect::to("/")).into_response())
}

/// Signs out. This request came in as the user: `rebind(None)` sends "Signed out" to the
/// browser (a fresh anonymous queue), not to the user's other devices.
async fn logout(flash: Flash) -> Result<impl IntoResponse, tower_flash::Error> {
    flash.rebind(None).await?;
    flash.info("Signed out")?;
    let mut expired = user_cookie(String::new());
    expired.make_removal();
    Ok(([(SET_COOKIE, expired.to_string())], Redirect::to("/")))
}

/// The stand-in sign-in cookie (unsigned: not authentication).
fn user_cookie(name: String) -> Cookie<'static> {
    Cookie::build(("user", name))
        .path("/")
        .http_only(true)
        .same_site(SameSite::Lax)
        .build()
}

/// Starts the "export" in a background task that tells the user when it is done.
async fn export(
    flash: Flash,
    Extension(sender): Extension<FlashSender>,
    user: Option<Extension<User>>,
) -> Result<Redirect, tower_flash::Error> {
    let Some(id) = user.and_then(|Extension(user)| user.client_id()) else {
        flash.warning("Sign in first")?;
        return Ok(Redirect::to("/"));
    };
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_secs(3)).await; // the export runs…
        let ready = Message::new(Level::Success, "Your export is ready");
        if let Err(error) = sender.send(&id, ready).await {
            eprintln!("could not tell {id}: {error}");
        }
    });
    flash.info("Export started")?;
    Ok(Redirect::to("/"))
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let flash = FlashLayer::new(MemoryStore::new(), Key::generate())
        .secure(false) // plain http on localhost
        .identify(|req| req.extensions.get::<User>()?.client_id());
    let sender = flash.sender();
    let app = Router::new()
        .route("/", get(index))
        .route("/login", post(login))
        .route("/logout", post(logout))
        .route("/export", post(export))
        .layer(Extension(sender))
        .layer(flash)
        // Added last, so it runs first: the flash layer sees the user it put in.
        .layer(middleware::from_fn(authenticate));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:3001").await?;
    println!("http://{}", listener.local_addr()?);
    axum::serve(listener, app).await
}
