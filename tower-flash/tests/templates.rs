//! Messages rendered by template engines through a real axum `Router`: a message pushed before
//! a redirect shows up on the next page once, in push order, with its text escaped by the
//! engine, and the page after that renders none.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use tower_flash_testkit::harness as common;

use axum::Router;
use axum::body::Body;
use axum::response::{Html, Redirect};
use axum::routing::{MethodRouter, get, post};
use http::{Request, StatusCode};
use tower_flash::{Flash, FlashLayer, Messages};

use common::{Client, app_with, body_text, key};

const SCRIPT: &str = "<script>alert(1)</script>";

/// The form handler: two messages, then a redirect to the page.
async fn save(flash: Flash) -> Result<Redirect, tower_flash::Error> {
    flash.success("Saved")?;
    flash.error(SCRIPT)?;
    Ok(Redirect::to("/"))
}

/// Posts the form, then renders the page twice; returns both renders.
async fn renders(page: MethodRouter) -> (String, String) {
    let routes = Router::new().route("/save", post(save)).route("/", page);
    let layer = FlashLayer::new(tower_flash::MemoryStore::new(), key()).secure(false);
    let browser = Client::new(&app_with(routes, layer));
    let res = browser
        .send(Request::post("/save").body(Body::empty()).unwrap())
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let mut pages = Vec::new();
    for _ in 0..2 {
        let res = browser
            .send(Request::get("/").body(Body::empty()).unwrap())
            .await;
        assert_eq!(res.status(), StatusCode::OK);
        pages.push(body_text(res).await);
    }
    let second = pages.pop().unwrap();
    (pages.pop().unwrap(), second)
}

/// What every engine must render: both messages in push order, the script escaped.
fn assert_rendered(first: &str, second: &str, escaped: &str) {
    assert_eq!(
        first,
        format!(r#"<p class="success">Saved</p><p class="error">{escaped}</p>"#)
    );
    assert!(!first.contains("<script>"), "unescaped: {first}");
    assert_eq!(second, "", "the messages were rendered once");
}

#[derive(askama::Template)]
#[template(
    source = r#"{% for m in messages %}<p class="{{ m.kind() }}">{{ m.text() }}</p>{% endfor %}"#,
    ext = "html"
)]
struct AskamaPage {
    messages: Messages,
}

#[tokio::test]
async fn askama_renders_taken_messages_once_escaped() {
    let page = get(|flash: Flash| async move {
        let page = AskamaPage {
            messages: flash.take_all().await,
        };
        Html(askama::Template::render(&page).unwrap())
    });
    let (first, second) = renders(page).await;
    assert_rendered(&first, &second, "&#60;script&#62;alert(1)&#60;/script&#62;");
}

#[tokio::test]
async fn tera_renders_serialized_messages_once_escaped() {
    let page = get(|flash: Flash| async move {
        let mut tera = tera::Tera::default();
        tera.add_raw_template(
            "flashes.html",
            r#"{% for m in messages %}<p class="{{ m.kind }}">{{ m.text }}</p>{% endfor %}"#,
        )
        .unwrap();
        let mut context = tera::Context::new();
        context.insert("messages", &flash.take_all().await);
        Html(tera.render("flashes.html", &context).unwrap())
    });
    let (first, second) = renders(page).await;
    assert_rendered(&first, &second, "&lt;script&gt;alert(1)&lt;/script&gt;");
}

#[cfg(feature = "minijinja")]
#[tokio::test]
async fn minijinja_renders_the_messages_value_once_escaped() {
    let page = get(|flash: Flash| async move {
        let mut env = minijinja::Environment::new();
        env.add_template(
            "flashes.html",
            r#"{% for m in messages %}<p class="{{ m.kind }}">{{ m.text }}</p>{% endfor %}"#,
        )
        .unwrap();
        let messages = minijinja::Value::from(flash.take_all().await);
        let html = env
            .get_template("flashes.html")
            .unwrap()
            .render(minijinja::context! { messages })
            .unwrap();
        Html(html)
    });
    let (first, second) = renders(page).await;
    assert_rendered(
        &first,
        &second,
        "&lt;script&gt;alert(1)&lt;&#x2f;script&gt;",
    );
}
