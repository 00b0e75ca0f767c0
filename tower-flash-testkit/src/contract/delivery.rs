//! Contract cases for delivery confirmation, redirect-scoped messages and per-message
//! expiry: through the `Store` API and through real requests.

use std::collections::HashSet;
use std::time::Duration;

use axum::response::{IntoResponse, Redirect};
use http::StatusCode;
use tower_flash::store::{Lease, LeaseId, Take, Target};
use tower_flash::store::{LeaseStore, ScopeStore, Store};
use tower_flash::{ClientId, Level, Message, Scope};

use super::{Fixture, browser, browser_over_a_connection, info, layer, opts, texts};
use crate::harness::{BodyFailed, Calls, Client, TestApp, Via, body_result, failing_body, now};

fn lease(until_from_now_ms: i64) -> Lease {
    let now = now_ms();
    Lease::new(
        LeaseId::new(),
        now.saturating_add_signed(until_from_now_ms),
        Duration::from_secs(60),
    )
}

fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64
}

fn target(path: &str, query: &[(&str, &str)]) -> Target {
    Target::new(
        path,
        query
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect(),
    )
}

fn scoped(text: &str, path: &str, params: &[(&str, &str)], until: u64) -> Message {
    let mut message = info(text);
    let scope = Scope::new(
        path,
        params
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect(),
        until,
    );
    // Scopes are set by the layer; a store test sets one through the wire encoding.
    let mut json: serde_json::Value =
        serde_json::from_slice(&tower_flash::store::codec::encode(&message)[5..]).unwrap();
    json["s"] = serde_json::to_value(&scope).unwrap();
    let encoded = [b"info|".as_slice(), json.to_string().as_bytes()].concat();
    message = tower_flash::store::codec::decode(&encoded).unwrap();
    assert_eq!(message.scope(), Some(&scope));
    message
}

// ----- leases, through the Store API -----

pub async fn store_lease_hides_messages_until_given_back_in_order<F: Fixture>(fx: &F) {
    let store = fx.store();
    let id = ClientId::random();
    store
        .push(&id, &[info("a"), info("b")], &opts(10))
        .await
        .unwrap();
    let held = lease(30_000);
    let taken = store.take_leased(&id, &Take::all(), &held).await.unwrap();
    assert_eq!(texts(&taken), ["a", "b"]);
    assert!(
        store.peek(&id, now()).await.unwrap().is_empty(),
        "leased messages are not queued"
    );
    let other = lease(30_000);
    assert!(
        store
            .take_leased(&id, &Take::all(), &other)
            .await
            .unwrap()
            .is_empty()
    );
    assert!(store.take(&id, &Take::all()).await.unwrap().is_empty());
    store.push(&id, &[info("c")], &opts(10)).await.unwrap();
    assert_eq!(
        store
            .give_back(&id, &held.id, None, &opts(10), now())
            .await
            .unwrap(),
        2
    );
    assert_eq!(
        store
            .give_back(&id, &held.id, None, &opts(10), now())
            .await
            .unwrap(),
        0,
        "once"
    );
    assert_eq!(
        texts(&store.take(&id, &Take::all()).await.unwrap()),
        ["a", "b", "c"]
    );
}

pub async fn store_release_deletes_leased_messages<F: Fixture>(fx: &F) {
    let store = fx.store();
    let id = ClientId::random();
    store.push(&id, &[info("a")], &opts(10)).await.unwrap();
    let held = lease(30_000);
    store.take_leased(&id, &Take::all(), &held).await.unwrap();
    assert!(store.release(&id, &held.id).await.unwrap());
    assert!(
        !store.release(&id, &held.id).await.unwrap(),
        "already released"
    );
    assert_eq!(
        store
            .give_back(&id, &held.id, None, &opts(10), now())
            .await
            .unwrap(),
        0
    );
    let next = lease(30_000);
    assert!(
        store
            .take_leased(&id, &Take::all(), &next)
            .await
            .unwrap()
            .is_empty()
    );
}

/// A process took messages under a lease and died: after the lease ends, the next leased
/// take reclaims them, oldest lease first, ahead of newer messages.
pub async fn store_expired_leases_are_reclaimed_in_order<F: Fixture>(fx: &F) {
    let store = fx.store();
    let id = ClientId::random();
    store
        .push(&id, &[info("a"), info("b")], &opts(10))
        .await
        .unwrap();
    let dead_1 = lease(150);
    store
        .take_leased(&id, &Take::kind(&Level::Info.into()), &dead_1)
        .await
        .unwrap();
    store.push(&id, &[info("c")], &opts(10)).await.unwrap();
    let dead_2 = lease(150);
    store.take_leased(&id, &Take::all(), &dead_2).await.unwrap();
    store.push(&id, &[info("d")], &opts(10)).await.unwrap();
    let live = lease(30_000);
    let early = store.take_leased(&id, &Take::all(), &live).await.unwrap();
    assert_eq!(texts(&early), ["d"], "live leases are not reclaimed");
    store
        .give_back(&id, &live.id, None, &opts(10), now())
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    let next = lease(30_000);
    let taken = store.take_leased(&id, &Take::all(), &next).await.unwrap();
    assert_eq!(texts(&taken), ["a", "b", "c", "d"]);
    assert!(
        !store.release(&id, &dead_1.id).await.unwrap(),
        "a reclaimed lease is gone"
    );
    assert!(store.release(&id, &next.id).await.unwrap());
}

/// Leased takes racing for one client: each message is handed out once.
pub async fn store_race_leased_takes_deliver_each_message_once<F: Fixture>(fx: &F) {
    let store = fx.store();
    let id = ClientId::random();
    let (mut duplicates, mut losses) = (0, 0);
    for round in 0..300 {
        let sent: Vec<Message> = (0..4).map(|i| info(&format!("{round}/{i}"))).collect();
        store.push(&id, &sent, &opts(64)).await.unwrap();
        let takers: Vec<_> = (0..4)
            .map(|_| {
                let (store, id) = (store.clone(), id.clone());
                tokio::spawn(async move {
                    let held = lease(30_000);
                    let got = store.take_leased(&id, &Take::all(), &held).await.unwrap();
                    store.release(&id, &held.id).await.unwrap();
                    got
                })
            })
            .collect();
        let mut seen = Vec::new();
        for t in takers {
            seen.extend(t.await.unwrap().into_iter().map(Message::into_text));
        }
        let unique: HashSet<&String> = seen.iter().collect();
        duplicates += seen.len() - unique.len();
        losses += sent.len() - unique.len();
    }
    println!("leased race: duplicates={duplicates} losses={losses}");
    assert_eq!((duplicates, losses), (0, 0), "duplicates and losses");
}

// ----- scopes, through the Store API -----

pub async fn store_scoped_messages_reach_only_their_target<F: Fixture>(fx: &F) {
    let store = fx.store();
    let id = ClientId::random();
    let later = now_ms() + 60_000;
    store
        .push(
            &id,
            &[
                scoped("to target", "/target", &[], later),
                info("anywhere"),
                scoped("to tab 2", "/target", &[("tab", "2")], later),
                scoped("fell back", "/gone", &[], now_ms() - 1),
            ],
            &opts(10),
        )
        .await
        .unwrap();
    let other = target("/other", &[]);
    let got = store.take(&id, &Take::all().at(&other)).await.unwrap();
    assert_eq!(texts(&got), ["anywhere", "fell back"]);
    let plain = target("/target", &[]);
    let got = store.take(&id, &Take::all().at(&plain)).await.unwrap();
    assert_eq!(texts(&got), ["to target"], "tab 2 needs its parameter");
    let tab = target("/target", &[("x", "1"), ("tab", "2")]);
    let got = store.take(&id, &Take::all().at(&tab)).await.unwrap();
    assert_eq!(texts(&got), ["to tab 2"]);
    assert!(store.peek(&id, now()).await.unwrap().is_empty());
}

pub async fn store_rescope_carries_bound_messages_on<F: Fixture>(fx: &F) {
    let store = fx.store();
    let id = ClientId::random();
    let later = now_ms() + 60_000;
    let data_with_s = info("tricky").with_data(serde_json::json!({"s": {"p": "/a"}}));
    store
        .push(
            &id,
            &[
                scoped("hop", "/a", &[], later),
                scoped("stay", "/elsewhere", &[], later),
                data_with_s,
            ],
            &opts(10),
        )
        .await
        .unwrap();
    let next = Scope::new("/b", vec![("step".to_owned(), "2".to_owned())], later);
    let moved = store
        .rescope(&id, &target("/a", &[]), &next, now())
        .await
        .unwrap();
    assert_eq!(moved, 1);
    let a = target("/a", &[]);
    assert_eq!(
        texts(&store.take(&id, &Take::all().at(&a)).await.unwrap()),
        ["tricky"]
    );
    let b = target("/b", &[("step", "2")]);
    let got = store.take(&id, &Take::all().at(&b)).await.unwrap();
    assert_eq!(texts(&got), ["hop"]);
    assert_eq!(got[0].scope(), Some(&next));
    let left = store.peek(&id, now()).await.unwrap();
    assert_eq!(texts(&left), ["stay"]);
}

// ----- delivery confirmation, through requests -----

fn confirming<F: Fixture>(fx: &F) -> TestApp {
    TestApp::new(layer(fx).confirm_delivery())
}

async fn seed(client: &Client, texts: &'static [&'static str]) {
    client
        .run(move |flash| async move { flash.push_all("info", texts.iter().copied()).unwrap() })
        .await;
}

/// What a failing view does to the messages it took, per mode.
pub async fn default_mode_a_failing_view_consumes_its_messages<F: Fixture>(fx: &F) {
    let client = browser(fx, &TestApp::new(layer(fx))).await;
    seed(&client, &["a"]).await;
    let res = client
        .respond_at("/read", |flash| async move {
            flash.take_all().await;
            StatusCode::INTERNAL_SERVER_ERROR.into_response()
        })
        .await;
    assert_eq!(res.status(), StatusCode::INTERNAL_SERVER_ERROR);
    assert!(client.take_texts().await.is_empty(), "consumed on read");
}

pub async fn confirmed_messages_come_back_after_a_5xx_in_order<F: Fixture>(fx: &F) {
    let client = browser(fx, &confirming(fx)).await;
    seed(&client, &["a", "b"]).await;
    let res = client
        .respond_at("/read", |flash| async move {
            assert_eq!(flash.take_all().await.len(), 2);
            StatusCode::SERVICE_UNAVAILABLE.into_response()
        })
        .await;
    assert_eq!(res.status(), StatusCode::SERVICE_UNAVAILABLE);
    seed(&client, &["c"]).await;
    assert_eq!(client.take_texts().await, ["a", "b", "c"]);
    assert!(
        client.take_texts().await.is_empty(),
        "gone after a successful read"
    );
}

async fn panicking_view(flash: tower_flash::Flash) -> &'static str {
    assert!(!flash.take_all().await.is_empty());
    panic!("the view panicked after taking its messages")
}

pub async fn confirmed_messages_come_back_after_a_panic<F: Fixture>(fx: &F) {
    let client = browser(fx, &confirming(fx)).await;
    // CatchPanicLayer inside FlashLayer (recommended): the flash layer sees the 500 and
    // gives the messages back before the response leaves.
    let inside = axum::Router::new()
        .fallback(panicking_view)
        .layer(tower_http::catch_panic::CatchPanicLayer::new())
        .layer(layer(fx).confirm_delivery());
    seed(&client, &["a", "b"]).await;
    let res = client.with_app(&inside).await.send(get("/read")).await;
    assert_eq!(res.status(), StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(client.take_texts().await, ["a", "b"]);

    // CatchPanicLayer outside FlashLayer: the panic unwinds through the flash layer, whose
    // dropped handle gives the messages back in the background.
    let outside = axum::Router::new()
        .fallback(panicking_view)
        .layer(layer(fx).confirm_delivery())
        .layer(tower_http::catch_panic::CatchPanicLayer::new());
    seed(&client, &["c"]).await;
    let res = client.with_app(&outside).await.send(get("/read")).await;
    assert_eq!(res.status(), StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(eventually_texts(&client).await, ["c"]);
}

/// A handler that panics after taking its messages, with nothing to catch the panic: the
/// server drops the connection (axum's and actix-web's alike; no framework answers for it),
/// and the messages come back. Always over a real connection: in process the panic would
/// unwind into the test. The panic-catching layer's placement is the axum-only case above.
pub async fn confirmed_messages_come_back_after_a_panic_that_drops_the_connection<F: Fixture>(
    fx: &F,
) {
    let client = browser_over_a_connection(fx, &confirming(fx)).await;
    seed(&client, &["a", "b"]).await;
    let res = client
        .respond_at("/read", |flash| async move {
            panicking_view(flash).await.into_response()
        })
        .await;
    assert!(
        res.extensions().get::<BodyFailed>().is_some() || res.status().is_server_error(),
        "no successful answer: {:?}",
        res.status()
    );
    assert_eq!(eventually_texts(&client).await, ["a", "b"]);
    assert!(client.take_texts().await.is_empty(), "back once");
}

fn get(path: &str) -> http::Request<axum::body::Body> {
    http::Request::get(path)
        .body(axum::body::Body::empty())
        .unwrap()
}

/// A real listener; the client reads the start of an endless body, then hangs up.
pub async fn confirmed_messages_come_back_when_the_client_disconnects_mid_body<F: Fixture>(fx: &F) {
    use tokio::io::AsyncReadExt;

    let client = browser(fx, &confirming(fx)).await;
    seed(&client, &["a", "b"]).await;
    let mut raw = client
        .raw_request("GET", "/read", "", |flash| async move {
            assert_eq!(flash.take_all().await.len(), 2);
            axum::response::Response::new(axum::body::Body::new(crate::harness::Endless::new()))
        })
        .await;
    let conn = &mut raw.conn;
    let mut seen = Vec::new();
    let mut buf = [0u8; 1024];
    while !String::from_utf8_lossy(&seen).contains("chunk") {
        let n = tokio::time::timeout(Duration::from_secs(5), conn.read(&mut buf))
            .await
            .expect("the body started")
            .unwrap();
        assert!(n > 0, "the server closed the connection");
        seen.extend_from_slice(&buf[..n]);
    }
    assert!(String::from_utf8_lossy(&seen).starts_with("HTTP/1.1 200"));
    drop(raw);
    assert_eq!(eventually_texts(&client).await, ["a", "b"]);
}

/// The give-back of a dropped handle runs in the background: poll for it briefly.
async fn eventually_texts(client: &Client) -> Vec<String> {
    for _ in 0..100 {
        let got = client.take_texts().await;
        if !got.is_empty() {
            return got;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    Vec::new()
}

pub async fn confirmed_messages_come_back_after_a_body_error<F: Fixture>(fx: &F) {
    let client = browser(fx, &confirming(fx)).await;
    seed(&client, &["a", "b"]).await;
    let res = client
        .respond_at("/read", |flash| async move {
            flash.take_all().await;
            axum::response::Response::new(failing_body("<html>half a page"))
        })
        .await;
    if client.transport() == Via::Oneshot {
        // Over a connection the failure may come before the server flushed the head.
        assert_eq!(res.status(), StatusCode::OK);
    }
    assert!(body_result(res).await.is_err(), "the body fails mid-stream");
    assert_eq!(eventually_texts(&client).await, ["a", "b"]);
}

pub async fn confirmed_messages_are_gone_after_a_successful_read<F: Fixture>(fx: &F) {
    let client = browser(fx, &confirming(fx)).await;
    seed(&client, &["a"]).await;
    let res = client
        .respond_at("/read", |flash| async move {
            let texts = flash.take_all().await.texts().join(",");
            texts.into_response()
        })
        .await;
    assert_eq!(body_result(res).await.unwrap(), "a");
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert!(client.take_texts().await.is_empty());
    // And a response that took nothing holds no lease and confirms nothing.
    let res = client
        .respond_at("/x", |_| async { "ok".into_response() })
        .await;
    assert_eq!(body_result(res).await.unwrap(), "ok");
}

/// `keep` after a take, then a 5xx: the messages come back once, not twice (the lease and
/// the keep would each put them back).
pub async fn confirmed_keep_then_5xx_puts_messages_back_once<F: Fixture>(fx: &F) {
    let client = browser(fx, &confirming(fx)).await;
    seed(&client, &["a", "b"]).await;
    let res = client
        .respond_at("/read", |flash| async move {
            flash.take_all().await;
            flash.info("pushed by the failing request").unwrap();
            flash.take("info").await;
            flash.keep();
            StatusCode::INTERNAL_SERVER_ERROR.into_response()
        })
        .await;
    assert_eq!(res.status(), StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(
        client.take_texts().await,
        ["a", "b", "pushed by the failing request"],
        "leased messages once, in their place; the kept push after them"
    );
}

/// `clear` in confirmed mode deletes the leased messages too: nothing comes back.
pub async fn confirmed_clear_deletes_leased_messages<F: Fixture>(fx: &F) {
    let client = browser(fx, &confirming(fx)).await;
    seed(&client, &["a"]).await;
    let res = client
        .respond_at("/read", |flash| async move {
            flash.take_all().await;
            flash.clear().await.unwrap();
            StatusCode::INTERNAL_SERVER_ERROR.into_response()
        })
        .await;
    assert_eq!(res.status(), StatusCode::INTERNAL_SERVER_ERROR);
    assert!(client.take_texts().await.is_empty());
}

/// Reads the whole response of a raw request sent with `Connection: close`, as text.
async fn whole_response(mut raw: crate::harness::RawConnection) -> String {
    use tokio::io::AsyncReadExt;

    let mut response = String::new();
    tokio::time::timeout(
        Duration::from_secs(5),
        raw.conn.read_to_string(&mut response),
    )
    .await
    .expect("the response ended")
    .unwrap();
    response
}

const CLOSE: &str = "Connection: close\r\n";

/// On a real listener with a `Content-Length` body: the server stops polling the body once
/// it has its length, and the delivery must still be confirmed.
pub async fn confirmed_messages_are_confirmed_on_a_real_listener<F: Fixture>(fx: &F) {
    let client = browser(fx, &confirming(fx)).await;
    seed(&client, &["a", "b"]).await;
    let raw = client
        .raw_request("GET", "/read", CLOSE, |flash| async move {
            flash.take_all().await.texts().join(",").into_response()
        })
        .await;
    let response = whole_response(raw).await;
    assert!(response.contains("content-length: 3"), "{response}");
    assert!(response.ends_with("a,b"), "{response}");
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert!(
        client.take_texts().await.is_empty(),
        "confirmed: not shown again"
    );
}

/// Responses without a body (a 204, a `HEAD`): servers drop the body unread, so delivery is
/// confirmed with the head, not given back.
pub async fn confirmed_messages_are_confirmed_by_bodiless_responses<F: Fixture>(fx: &F) {
    let client = browser(fx, &confirming(fx)).await;
    for method in ["GET", "HEAD"] {
        seed(&client, &["a"]).await;
        let raw = client
            .raw_request(method, "/read", CLOSE, |flash| async move {
                assert!(!flash.take_all().await.is_empty());
                StatusCode::NO_CONTENT.into_response()
            })
            .await;
        let response = whole_response(raw).await;
        assert!(response.starts_with("HTTP/1.1 204"), "{method}: {response}");
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert!(
            client.take_texts().await.is_empty(),
            "{method}: confirmed, not given back"
        );
    }
}

/// hyper polls bodiless responses' bodies anyway; a server that drops them unread must not
/// give the messages back either. About the tower service itself, called in process: axum
/// only (the actix adapter decides by the body's size, not by polling it).
pub async fn confirmed_bodiless_responses_dropped_unread_are_confirmed<F: Fixture>(fx: &F) {
    use tower::ServiceExt;

    let client = browser(fx, &confirming(fx)).await;
    let page = axum::Router::new()
        .fallback(|flash: tower_flash::Flash| async move {
            assert!(!flash.take_all().await.is_empty());
            StatusCode::NO_CONTENT
        })
        .layer(layer(fx).confirm_delivery());
    seed(&client, &["a"]).await;
    let mut request = get("/read");
    request.headers_mut().insert(
        http::header::COOKIE,
        client.cookie().unwrap().parse().unwrap(),
    );
    let response = page.oneshot(request).await.unwrap();
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    drop(response);
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert!(
        client.take_texts().await.is_empty(),
        "dropped unread: still confirmed"
    );
}

/// A request took messages under a lease and its process died: after the lease timeout the
/// next request gets them.
pub async fn confirmed_messages_abandoned_by_a_dead_process_come_back<F: Fixture>(fx: &F) {
    let client = browser(
        fx,
        &TestApp::new(layer(fx).lease_timeout(Duration::from_millis(200))),
    )
    .await;
    seed(&client, &["a"]).await;
    let id = client
        .run(|flash| async move { flash.client_id().unwrap() })
        .await;
    // The "dead process": a store handle that leases and never answers.
    let dead = lease(200);
    let taken = fx
        .store()
        .take_leased(&id, &Take::all(), &dead)
        .await
        .unwrap();
    assert_eq!(texts(&taken), ["a"]);
    assert!(
        client.take_texts().await.is_empty(),
        "not while the lease lives"
    );
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert_eq!(client.take_texts().await, ["a"]);
    assert!(client.take_texts().await.is_empty());
}

// ----- redirect scoping, through requests -----

fn scoping<F: Fixture>(fx: &F) -> TestApp {
    TestApp::new(layer(fx).scope_to_redirects())
}

async fn post_and_redirect(client: &Client, text: &'static str, to: &'static str) {
    let res = client
        .respond_at("/form", move |flash| async move {
            flash.info(text).unwrap();
            Redirect::to(to).into_response()
        })
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
}

pub async fn scoped_messages_are_read_only_by_the_redirect_target<F: Fixture>(fx: &F) {
    let client = browser(fx, &scoping(fx)).await;
    post_and_redirect(&client, "saved", "/page/target").await;
    assert!(
        client.take_texts_at("/read").await.is_empty(),
        "an XHR poll"
    );
    assert!(
        client.take_texts_at("/page/other").await.is_empty(),
        "another tab"
    );
    assert!(
        client.take_texts_at("/favicon.ico").await.is_empty(),
        "an asset"
    );
    assert_eq!(client.take_texts_at("/page/target").await, ["saved"]);
    assert!(client.take_texts_at("/page/target").await.is_empty());
}

pub async fn scoped_messages_follow_a_redirect_chain<F: Fixture>(fx: &F) {
    let client = browser(fx, &scoping(fx)).await;
    post_and_redirect(&client, "logged in", "/after-login").await;
    let res = client
        .respond_at("/after-login", |_flash| async {
            Redirect::to("/dashboard?tab=news").into_response()
        })
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert!(client.take_texts_at("/after-login").await.is_empty());
    assert!(
        client.take_texts_at("/dashboard").await.is_empty(),
        "needs tab=news"
    );
    assert_eq!(
        client.take_texts_at("/dashboard?tab=news&x=1").await,
        ["logged in"]
    );
}

pub async fn scoped_messages_of_interleaved_tabs_stay_apart<F: Fixture>(fx: &F) {
    let client = browser(fx, &scoping(fx)).await;
    post_and_redirect(&client, "one saved", "/page/one").await;
    post_and_redirect(&client, "two saved", "/page/two").await;
    client
        .run(|flash| async move { flash.info("unscoped").unwrap() })
        .await;
    assert_eq!(
        client.take_texts_at("/page/two").await,
        ["two saved", "unscoped"]
    );
    assert_eq!(client.take_texts_at("/page/one").await, ["one saved"]);
}

pub async fn scoped_messages_fall_back_to_any_path<F: Fixture>(fx: &F) {
    let client = browser(
        fx,
        &TestApp::new(layer(fx).scope_fallback(Duration::from_millis(200))),
    )
    .await;
    post_and_redirect(&client, "late", "/never-visited").await;
    assert!(client.take_texts_at("/elsewhere").await.is_empty());
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(client.take_texts_at("/elsewhere").await, ["late"]);
}

pub async fn off_site_redirects_do_not_scope<F: Fixture>(fx: &F) {
    let client = browser(fx, &scoping(fx)).await;
    post_and_redirect(&client, "bye", "https://elsewhere.example/").await;
    assert_eq!(client.take_texts_at("/anything").await, ["bye"]);
}

/// Where browsers go, per the WHATWG URL standard, from a request to `http://same.host` +
/// the first column with the second as `Location`: the path (and query) the messages are
/// bound to, or `None` when the target is another origin and nothing is scoped.
pub const LOCATION_CASES: &[(&str, &str, Option<&str>)] = &[
    ("/items/list", "/done", Some("/done")),
    ("/items/list", "done", Some("/items/done")),
    ("/items/list", "./done", Some("/items/done")),
    ("/items/list", "../done", Some("/done")),
    ("/a/b/c", "../../x?k=v", Some("/x?k=v")),
    ("/items/list", "/a/./b/../c", Some("/a/c")),
    ("/items/list", "?tab=2", Some("/items/list?tab=2")),
    ("/items/list?tab=1", "#x", Some("/items/list?tab=1")),
    ("/items/list?tab=1", "", Some("/items/list?tab=1")),
    ("/items/list", "/done?x=1#frag", Some("/done?x=1")),
    ("/items/list", "//same.host/x", Some("/x")),
    ("/items/list", "http://same.host/x", Some("/x")),
    ("/items/list", "http://same.host:80/x", Some("/x")),
    ("/items/list", "HTTP://SAME.HOST/x", Some("/x")),
    ("/items/list", "http:/x", Some("/x")),
    ("/items/list", "mailto:x@y", None),
    ("/items/list", "javascript:alert(1)", None),
    ("/items/list", "/\\elsewhere.example/", None),
    ("/items/list", "\\\\elsewhere.example/x", None),
    ("/items/list", "//other.host/x", None),
    ("/items/list", "https://same.host/x", None),
    ("/items/list", "http://same.host:8080/x", None),
    ("/items/list", "https://elsewhere.example/", None),
];

/// Every row of [`LOCATION_CASES`] through a real request: bound messages hide from another
/// path and reach the bound one; unscoped ones reach any path.
pub async fn scoping_resolves_locations_as_browsers_do<F: Fixture>(fx: &F) {
    let browsers = browser(fx, &scoping(fx)).await;
    let mut wrong = Vec::new();
    for &(from, location, bound) in LOCATION_CASES {
        let client = browsers.fresh();
        let req = http::Request::get(from)
            .header(http::header::HOST, "same.host")
            .body(axum::body::Body::empty())
            .unwrap();
        let value = http::HeaderValue::from_str(location).unwrap();
        let res = client
            .send(crate::harness::with_job(req, move |flash| async move {
                flash.info("m").unwrap();
                (StatusCode::SEE_OTHER, [(http::header::LOCATION, value)]).into_response()
            }))
            .await;
        assert_eq!(res.status(), StatusCode::SEE_OTHER);
        let elsewhere = client.take_texts_at("/elsewhere").await;
        let ok = match bound {
            Some(path) => elsewhere.is_empty() && client.take_texts_at(path).await == ["m"],
            None => elsewhere == ["m"],
        };
        if !ok {
            wrong.push((from, location, bound));
        }
    }
    assert!(wrong.is_empty(), "resolved otherwise: {wrong:?}");
}

/// Under `Router::nest`, a `FlashLayer` on the outer router sees the full path: messages
/// bound by a redirect inside the nested router reach the full target path.
pub async fn scoping_under_nest_compares_full_paths<F: Fixture>(fx: &F) {
    use axum::routing::get as on_get;
    let admin = axum::Router::new()
        .route(
            "/items/save",
            on_get(|flash: tower_flash::Flash| async move {
                flash.info("saved").unwrap();
                Redirect::to("/admin/items/done")
            }),
        )
        .route(
            "/items/relative",
            on_get(|flash: tower_flash::Flash| async move {
                flash.info("relative").unwrap();
                Redirect::to("../report")
            }),
        )
        .route(
            "/items/done",
            on_get(
                |flash: tower_flash::Flash| async move { flash.take_all().await.texts().join(",") },
            ),
        )
        .route(
            "/report",
            on_get(
                |flash: tower_flash::Flash| async move { flash.take_all().await.texts().join(",") },
            ),
        );
    let routes = axum::Router::new().nest("/admin", admin);
    let client = Client::new(&crate::harness::app_with(
        routes,
        layer(fx).scope_to_redirects(),
    ));
    let read = |path: &'static str| {
        let client = client.clone();
        async move { body_result(client.send(get(path)).await).await.unwrap() }
    };
    client.send(get("/admin/items/save")).await;
    assert!(
        client.take_texts_at("/items/done").await.is_empty(),
        "stripped path"
    );
    assert_eq!(read("/admin/items/done").await, "saved");
    client.send(get("/admin/items/relative")).await;
    assert!(client.take_texts_at("/elsewhere").await.is_empty());
    assert_eq!(read("/admin/report").await, "relative");
}

// ----- per-message expiry -----

pub async fn expired_messages_are_never_delivered<F: Fixture>(fx: &F) {
    let client = browser(fx, &TestApp::new(layer(fx))).await;
    client
        .run(|flash| async move {
            flash
                .push_message(info("short").expires_in(Duration::from_millis(100)))
                .unwrap();
            flash
                .push_message(info("long").expires_in(Duration::from_secs(60)))
                .unwrap();
            flash.info("store ttl").unwrap();
        })
        .await;
    let peeked = client
        .run(|flash| async move { flash.peek().await.len() })
        .await;
    assert_eq!(peeked, 3);
    tokio::time::sleep(Duration::from_millis(200)).await;
    let peeked = client
        .run(|flash| async move { flash.peek().await.texts().join(",") })
        .await;
    assert_eq!(peeked, "long,store ttl");
    assert_eq!(client.take_texts().await, ["long", "store ttl"]);
}
