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

/// The guestbook behind the flash middleware, as actix's test service.
macro_rules! guestbook_app {
    () => {
        test::init_service(
            App::new()
                .wrap(FlashMiddleware::new(FlashLayer::new(
                    MemoryStore::new(),
                    Key::generate(),
                )))
                .configure(guestbook::routes(guestbook::Guestbook::new().unwrap())),
        )
        .await
    };
}

/// The guestbook form posted: the answer, and the `name=value` of its flash cookie.
macro_rules! sign {
    ($app:expr, $form:expr) => {{
        let answer = test::call_service(
            $app,
            test::TestRequest::post()
                .uri("/entries")
                .set_form($form)
                .to_request(),
        )
        .await;
        let set_cookie = answer
            .headers()
            .get(header::SET_COOKIE)
            .expect("a flash cookie after the first message")
            .to_str()
            .unwrap();
        let cookie = set_cookie.split(';').next().unwrap().to_owned();
        (answer, cookie)
    }};
}

/// The guestbook's page for the visitor with `cookie`, as text.
macro_rules! page {
    ($app:expr, $cookie:expr) => {{
        let request = test::TestRequest::get()
            .uri("/")
            .insert_header((header::COOKIE, $cookie))
            .to_request();
        String::from_utf8(test::call_and_read_body($app, request).await.to_vec()).unwrap()
    }};
}

#[actix_web::test]
async fn signing_flashes_thanks_once_and_escapes_what_the_visitor_typed() {
    let app = guestbook_app!();
    let (signed, cookie) = sign!(&app, [("name", "<b>Ann</b>"), ("text", "Hello")]);
    assert_eq!(signed.status(), 303);
    assert_eq!(signed.headers().get(header::LOCATION).unwrap(), "/");
    let first = page!(&app, cookie.clone());
    assert!(
        first.contains(r#"<p class="flash success" role="status">Thanks for signing, &lt;b&gt;Ann&lt;&#x2f;b&gt;!</p>"#),
        "{first}"
    );
    assert!(first.contains("<p>Hello</p>"), "{first}");

    let again = page!(&app, cookie);
    assert!(!again.contains("Thanks for signing"), "shown once: {again}");
    assert!(again.contains("<p>Hello</p>"), "the entry stays: {again}");
}

#[actix_web::test]
async fn an_empty_form_flashes_what_was_wrong() {
    let app = guestbook_app!();
    let (_, cookie) = sign!(&app, [("name", " "), ("text", "")]);
    let page = page!(&app, cookie);
    assert!(
        page.contains(
            r#"<p class="flash error" role="status">Please give your name and a message.</p>"#
        ),
        "{page}"
    );
    assert!(page.contains("No entries yet"), "{page}");
}
