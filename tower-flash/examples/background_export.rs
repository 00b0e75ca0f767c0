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
        .flat_map(cookie::Cookie::split_parse)
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

/// Signs in. The message goes to the user's queue through the sender: this request is
/// still anonymous, so its own `Flash` is the browser's cookie queue.
async fn login(Extension(sender): Extension<FlashSender>, Form(login): Form<Login>) -> Response {
    let valid = (1..=32).contains(&login.name.len())
        && login.name.bytes().all(|b| b.is_ascii_alphanumeric());
    let user = User(login.name);
    let Some(id) = user.client_id().filter(|_| valid) else {
        return (
            StatusCode::BAD_REQUEST,
            "a name is 1 to 32 letters or digits",
        )
            .into_response();
    };
    let welcome = Message::new(Level::Info, format!("Signed in as {}", user.0));
    if let Err(error) = sender.send(&id, welcome).await {
        eprintln!("could not greet {}: {error}", user.0);
    }
    let cookie = format!("user={}; Path=/; HttpOnly; SameSite=Lax", user.0);
    ([(SET_COOKIE, cookie)], Redirect::to("/")).into_response()
}

async fn logout() -> impl IntoResponse {
    let expired = "user=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0";
    ([(SET_COOKIE, expired)], Redirect::to("/"))
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
