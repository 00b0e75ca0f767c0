//! A guestbook on actix-web with tower-flash: a form whose handler flashes "Thanks for
//! signing!" (or what was wrong) and redirects, and a page whose minijinja template shows
//! the messages once.
//!
//! ```text
//! cargo run -p tower-flash-actix --example guestbook   # then open http://127.0.0.1:8080
//! ```
//!
//! `tests/guestbook.rs` drives these routes through actix's test service.

use std::sync::{Arc, Mutex, PoisonError};

use actix_web::http::header;
use actix_web::{App, HttpResponse, HttpServer, web};
use minijinja::{Environment, context};
use serde::{Deserialize, Serialize};
use tower_flash::{FlashLayer, Key, MemoryStore};
use tower_flash_actix::{Flash, FlashError, FlashMiddleware};

/// The app's state: the template and the entries (in memory: a demo).
#[derive(Clone)]
pub struct Guestbook {
    templates: Arc<Environment<'static>>,
    entries: Arc<Mutex<Vec<Entry>>>,
}

#[derive(Clone, Serialize)]
struct Entry {
    name: String,
    text: String,
}

#[derive(Deserialize)]
struct Form {
    name: String,
    text: String,
}

impl Guestbook {
    /// A guestbook with no entries.
    pub fn new() -> Result<Self, minijinja::Error> {
        let mut templates = Environment::new();
        // `.html`: auto-escaped.
        templates.add_template("guestbook.html", include_str!("templates/guestbook.html"))?;
        Ok(Guestbook {
            templates: Arc::new(templates),
            entries: Arc::default(),
        })
    }
}

/// The guestbook's routes: `GET /` and `POST /entries`.
pub fn routes(guestbook: Guestbook) -> impl FnOnce(&mut web::ServiceConfig) {
    move |cfg| {
        cfg.app_data(web::Data::new(guestbook))
            .route("/", web::get().to(index))
            .route("/entries", web::post().to(sign));
    }
}

async fn index(flash: Flash, guestbook: web::Data<Guestbook>) -> HttpResponse {
    let messages = flash.take_all().await;
    let entries = guestbook
        .entries
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .clone();
    let page = guestbook
        .templates
        .get_template("guestbook.html")
        .and_then(|t| t.render(context! { messages => minijinja::Value::from(messages), entries }));
    match page {
        Ok(html) => HttpResponse::Ok()
            .content_type("text/html; charset=utf-8")
            .body(html),
        Err(error) => {
            eprintln!("guestbook: cannot render the page: {error}");
            HttpResponse::InternalServerError().finish()
        }
    }
}

async fn sign(
    flash: Flash,
    guestbook: web::Data<Guestbook>,
    form: web::Form<Form>,
) -> Result<HttpResponse, FlashError> {
    let Form { name, text } = form.into_inner();
    let (name, text) = (name.trim().to_owned(), text.trim().to_owned());
    if name.is_empty() || text.is_empty() {
        flash.error("Please give your name and a message.")?;
    } else {
        flash.success(format!("Thanks for signing, {name}!"))?;
        guestbook
            .entries
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(Entry { name, text });
    }
    // Post/redirect/get: the message is stored before this redirect leaves.
    Ok(HttpResponse::SeeOther()
        .insert_header((header::LOCATION, "/"))
        .finish())
}

#[actix_web::main]
async fn main() -> std::io::Result<()> {
    let guestbook = Guestbook::new().map_err(std::io::Error::other)?;
    // A fixed key would let restarts keep cookies; a random one is fine for a demo.
    let flash =
        FlashMiddleware::new(FlashLayer::new(MemoryStore::new(), Key::generate()).secure(false));
    println!("guestbook on http://127.0.0.1:8080");
    HttpServer::new(move || {
        App::new()
            .wrap(flash.clone())
            .configure(routes(guestbook.clone()))
    })
    .bind(("127.0.0.1", 8080))?
    .run()
    .await
}
