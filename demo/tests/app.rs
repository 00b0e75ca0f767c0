//! The demo app driven through its router, request by request, the way a browser would:
//! every test carries the flash cookie from one response to the next request by hand.

// The helpers below are test code too: a failed expectation there is a failed test.
#![allow(clippy::expect_used, reason = "test helpers")]

use axum::Router;
use axum::body::Body;
use axum::http::{HeaderValue, Request, Response, StatusCode, header};
use http_body_util::BodyExt;
use tower::ServiceExt;
use tower_flash::Key;

const NOW_NOTE: &str = "This note comes from flash.now()";

fn app() -> Router {
    demo::app(Key::generate()).expect("the built-in templates parse")
}

async fn send(app: &Router, request: Request<Body>) -> Response<Body> {
    app.clone()
        .oneshot(request)
        .await
        .expect("the router is infallible")
}

fn get(path: &str, cookie: Option<&str>) -> Request<Body> {
    let mut request = Request::get(path);
    if let Some(cookie) = cookie {
        request = request.header(header::COOKIE, cookie);
    }
    request.body(Body::empty()).expect("a valid request")
}

/// A form post; `form` is already URL-encoded.
fn post(path: &str, form: &str) -> Request<Body> {
    Request::post(path)
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::from(form.to_owned()))
        .expect("a valid request")
}

/// The `name=value` part of the response's flash cookie, ready for a `Cookie` header.
fn flash_cookie(response: &Response<Body>) -> String {
    let set_cookie = response
        .headers()
        .get(header::SET_COOKIE)
        .expect("the response sets the flash cookie")
        .to_str()
        .expect("an ASCII cookie");
    let pair = set_cookie.split(';').next().expect("a name=value pair");
    assert!(pair.starts_with("flash="), "{set_cookie}");
    pair.to_owned()
}

fn location(response: &Response<Body>) -> Option<&HeaderValue> {
    response.headers().get(header::LOCATION)
}

/// GETs `path` with `cookie`, checks for a 200 and returns the page.
async fn page(app: &Router, path: &str, cookie: Option<&str>) -> String {
    let response = send(app, get(path, cookie)).await;
    assert_eq!(response.status(), StatusCode::OK, "GET {path}");
    let bytes = response
        .into_body()
        .collect()
        .await
        .expect("the body is readable")
        .to_bytes();
    String::from_utf8(bytes.to_vec()).expect("the page is UTF-8")
}

/// Posts `form` to `path`, checks for a 303 to `to`, and returns the flash cookie.
async fn post_and_redirect(app: &Router, path: &str, form: &str, to: &str) -> String {
    let response = send(app, post(path, form)).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER, "POST {path}");
    assert_eq!(
        location(&response).map(HeaderValue::as_bytes),
        Some(to.as_bytes())
    );
    flash_cookie(&response)
}

#[tokio::test]
async fn a_valid_entry_flashes_success_once() {
    let app = app();
    let cookie = post_and_redirect(&app, "/entries", "name=Ada&text=Hello+there", "/").await;

    let first = page(&app, "/", Some(&cookie)).await;
    assert!(
        first.contains(r#"<li class="flash flash-success""#),
        "{first}"
    );
    assert!(first.contains("Thanks for signing, Ada!"), "{first}");
    // The message's structured data, rendered as a link to the new entry.
    assert!(
        first.contains(r#"<a href="&#x2f;#entry-1">See your entry</a>"#),
        "{first}"
    );
    assert!(first.contains(r#"<article class="entry" id="entry-1">"#));
    assert!(first.contains("Hello there"));

    let second = page(&app, "/", Some(&cookie)).await;
    assert!(!second.contains("Thanks for signing"), "{second}");
    assert!(!second.contains(r#"class="flashes""#), "{second}");
    assert!(second.contains("Hello there"), "the entry itself stays");
}

#[tokio::test]
async fn an_invalid_entry_flashes_every_error_and_saves_nothing() {
    let app = app();
    let too_long = "name=&text=".to_owned() + &"x".repeat(281);
    let response = send(&app, post("/entries", &too_long)).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let cookie = flash_cookie(&response);

    let page = page(&app, "/", Some(&cookie)).await;
    assert_eq!(page.matches(r#"<li class="flash flash-error""#).count(), 2);
    assert!(page.contains("Please tell us your name."), "{page}");
    assert!(
        page.contains("Your message is 281 characters long; the limit is 280."),
        "{page}"
    );
    assert!(!page.contains("flash flash-success"), "{page}");
    assert!(page.contains("No entries yet."));
}

#[tokio::test]
async fn a_missing_field_is_a_validation_error_too() {
    let app = app();
    let cookie = post_and_redirect(&app, "/entries", "name=Ada", "/").await;
    let page = page(&app, "/", Some(&cookie)).await;
    assert!(page.contains("Please write a message."), "{page}");
}

#[tokio::test]
async fn message_text_is_escaped() {
    let app = app();
    let name = "name=%3Cscript%3Ealert(1)%3C%2Fscript%3E&text=hi";
    let cookie = post_and_redirect(&app, "/entries", name, "/").await;

    let page = page(&app, "/", Some(&cookie)).await;
    assert!(
        page.contains("Thanks for signing, &lt;script&gt;alert(1)&lt;&#x2f;script&gt;!"),
        "{page}"
    );
    assert!(!page.contains("<script>"), "{page}");
}

#[tokio::test]
async fn a_visitor_without_messages_gets_no_cookie() {
    let app = app();
    let response = send(&app, get("/", None)).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert!(response.headers().get(header::SET_COOKIE).is_none());
    let page = page(&app, "/", None).await;
    assert!(!page.contains(r#"class="flashes""#), "{page}");
}

#[tokio::test]
async fn preview_shows_the_now_note_without_storing_it() {
    let app = app();
    let response = send(&app, get("/preview", None)).await;
    assert_eq!(response.status(), StatusCode::OK);
    // Nothing was stored or kept, so there is no cookie to set.
    assert!(response.headers().get(header::SET_COOKIE).is_none());

    let page = page(&app, "/preview", None).await;
    assert!(page.contains(r#"<li class="flash flash-info""#), "{page}");
    assert!(page.contains(NOW_NOTE), "{page}");
    assert!(page.contains("had nothing to put back"), "{page}");
}

#[tokio::test]
async fn preview_keeps_messages_for_the_next_page() {
    let app = app();
    let cookie = post_and_redirect(&app, "/entries", "name=Ada&text=Hi", "/").await;

    let preview = page(&app, "/preview", Some(&cookie)).await;
    assert!(preview.contains("Thanks for signing, Ada!"), "{preview}");
    assert!(preview.contains(NOW_NOTE), "{preview}");
    assert!(
        preview.contains("put the 1 other message back"),
        "{preview}"
    );

    // Kept: the guestbook shows the message once more, without the `now` note.
    let guestbook = page(&app, "/", Some(&cookie)).await;
    assert!(
        guestbook.contains("Thanks for signing, Ada!"),
        "{guestbook}"
    );
    assert!(!guestbook.contains(NOW_NOTE), "{guestbook}");

    let reload = page(&app, "/", Some(&cookie)).await;
    assert!(!reload.contains("Thanks for signing"), "{reload}");
}

#[tokio::test]
async fn every_level_has_its_own_style() {
    let app = app();
    let cookie = post_and_redirect(&app, "/levels", "", "/preview").await;

    let preview = page(&app, "/preview", Some(&cookie)).await;
    for level in ["debug", "info", "success", "warning", "error"] {
        let item = format!(r#"<li class="flash flash-{level}""#);
        assert!(preview.contains(&item), "{level}: {preview}");
    }
    assert!(
        preview.contains("put the 5 other messages back"),
        "{preview}"
    );
    // The layout has a colour for each of them.
    for level in ["debug", "info", "success", "warning", "error"] {
        assert!(preview.contains(&format!(".flash-{level} ")), "{level}");
    }
}

/// An htmx post, its body read to the end (delivery is confirmed when the body is sent).
async fn htmx_post(app: &Router, path: &str, cookie: Option<&str>) -> (Response<()>, String) {
    let mut request = Request::post(path).header("hx-request", "true");
    if let Some(cookie) = cookie {
        request = request.header(header::COOKIE, cookie);
    }
    let response = send(app, request.body(Body::empty()).expect("a valid request")).await;
    let (parts, body) = response.into_parts();
    let bytes = body.collect().await.expect("the body arrives").to_bytes();
    (
        Response::from_parts(parts, ()),
        String::from_utf8(bytes.to_vec()).expect("UTF-8"),
    )
}

/// The `name=value` part of the response's `Set-Cookie`, if it sets one.
fn set_cookie_pair(response: &Response<()>) -> Option<String> {
    let set_cookie = response.headers().get(header::SET_COOKIE)?;
    let pair = set_cookie.to_str().expect("ASCII").split(';').next();
    pair.map(str::to_owned)
}

/// The texts of the `flash` event in a response's `HX-Trigger`.
fn toasts(response: &Response<()>) -> Vec<String> {
    let Some(trigger) = response.headers().get("hx-trigger") else {
        return Vec::new();
    };
    let value: serde_json::Value =
        serde_json::from_slice(trigger.as_bytes()).expect("HX-Trigger is JSON");
    value["flash"]
        .as_array()
        .expect("a flash event")
        .iter()
        .map(|m| m["text"].as_str().expect("a text").to_owned())
        .collect()
}

#[tokio::test]
async fn htmx_posts_get_their_messages_as_toasts_none_lost() {
    let app = app();
    let page = page(&app, "/htmx", None).await;
    assert!(page.contains("hx-post=\"/htmx/like\""), "{page}");
    assert!(page.contains("/static/htmx-2.0.11.min.js"));
    let js = send(&app, get("/static/htmx-2.0.11.min.js", None)).await;
    assert_eq!(js.status(), StatusCode::OK);

    let (liked, body) = htmx_post(&app, "/htmx/like", None).await;
    assert_eq!(body, "1");
    assert_eq!(
        toasts(&liked),
        ["Thanks! That makes 1. Merci · Danke · Спасибо"]
    );
    let cookie = set_cookie_pair(&liked);

    // Twenty messages: some now, the rest with the next htmx requests, in order.
    let (burst, _) = htmx_post(&app, "/htmx/burst", cookie.as_deref()).await;
    let cookie = set_cookie_pair(&burst).or(cookie);
    let mut received = toasts(&burst);
    assert!(
        !received.is_empty() && received.len() < 20,
        "{}",
        received.len()
    );
    for _ in 0..20 {
        let (next, _) = htmx_post(&app, "/htmx/like", cookie.as_deref()).await;
        let got: Vec<String> = toasts(&next)
            .into_iter()
            .filter(|t| t.starts_with("Message"))
            .collect();
        if got.is_empty() {
            break;
        }
        received.extend(got);
    }
    let expected: Vec<String> = (1..=20).map(|i| format!("Message {i} of 20")).collect();
    assert_eq!(received, expected);
}
