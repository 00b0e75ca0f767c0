//! The guestbook example (`examples/guestbook.rs`) through actix's test service: its form
//! flashes, redirects, and its template shows the message once, escaped.

#![allow(clippy::unwrap_used, clippy::expect_used)]

#[allow(dead_code, unreachable_pub)]
#[path = "../examples/guestbook.rs"]
mod guestbook;

use actix_web::http::header;
use actix_web::{App, test};
use tower_flash::{FlashLayer, Key, MemoryStore};
use tower_flash_actix::FlashMiddleware;

/// The `name=value` of the response's flash cookie.
fn flash_cookie<B>(response: &actix_web::dev::ServiceResponse<B>) -> String {
    let set_cookie = response
        .headers()
        .get(header::SET_COOKIE)
        .expect("a flash cookie after the first message")
        .to_str()
        .unwrap();
    set_cookie.split(';').next().unwrap().to_owned()
}

#[actix_web::test]
async fn signing_flashes_thanks_once_and_escapes_what_the_visitor_typed() {
    let flash = FlashMiddleware::new(FlashLayer::new(MemoryStore::new(), Key::generate()));
    let app = test::init_service(
        App::new()
            .wrap(flash)
            .configure(guestbook::routes(guestbook::Guestbook::new().unwrap())),
    )
    .await;

    let signed = test::call_service(
        &app,
        test::TestRequest::post()
            .uri("/entries")
            .set_form([("name", "<b>Ann</b>"), ("text", "Hello")])
            .to_request(),
    )
    .await;
    assert_eq!(signed.status(), 303);
    assert_eq!(signed.headers().get(header::LOCATION).unwrap(), "/");
    let cookie = flash_cookie(&signed);
    let page = |cookie: String| {
        test::TestRequest::get()
            .uri("/")
            .insert_header((header::COOKIE, cookie))
            .to_request()
    };
    let first = test::call_and_read_body(&app, page(cookie.clone())).await;
    let first = String::from_utf8(first.to_vec()).unwrap();
    assert!(
        first.contains(r#"<p class="flash success" role="status">Thanks for signing, &lt;b&gt;Ann&lt;&#x2f;b&gt;!</p>"#),
        "{first}"
    );
    assert!(first.contains("<p>Hello</p>"), "{first}");

    let again = test::call_and_read_body(&app, page(cookie)).await;
    let again = String::from_utf8(again.to_vec()).unwrap();
    assert!(!again.contains("Thanks for signing"), "shown once: {again}");
    assert!(again.contains("<p>Hello</p>"), "the entry stays: {again}");
}

#[actix_web::test]
async fn an_empty_form_flashes_what_was_wrong() {
    let flash = FlashMiddleware::new(FlashLayer::new(MemoryStore::new(), Key::generate()));
    let app = test::init_service(
        App::new()
            .wrap(flash)
            .configure(guestbook::routes(guestbook::Guestbook::new().unwrap())),
    )
    .await;
    let signed = test::call_service(
        &app,
        test::TestRequest::post()
            .uri("/entries")
            .set_form([("name", " "), ("text", "")])
            .to_request(),
    )
    .await;
    let cookie = flash_cookie(&signed);
    let page = test::call_and_read_body(
        &app,
        test::TestRequest::get()
            .uri("/")
            .insert_header((header::COOKIE, cookie))
            .to_request(),
    )
    .await;
    let page = String::from_utf8(page.to_vec()).unwrap();
    assert!(
        page.contains(
            r#"<p class="flash error" role="status">Please give your name and a message.</p>"#
        ),
        "{page}"
    );
    assert!(page.contains("No entries yet"), "{page}");
}
