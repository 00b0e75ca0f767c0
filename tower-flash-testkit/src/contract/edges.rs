//! Issue 11: the delivery promise at its edges. Each case is named after the defect it pins
//! and failed before its fix.

use std::time::Duration;

use axum::body::Body;
use axum::response::{IntoResponse, Redirect, Response};
use http::StatusCode;
use tower_flash::store::{Lease, LeaseId, Take};
use tower_flash::store::{LeaseStore, PushOptions, Store};
use tower_flash::{Flash, Message};

use super::{Fixture, browser, browser_over_a_connection, info, layer, texts};
use crate::harness::{Calls, Client, TestApp, TwoChunks, body_result, failing_body};

async fn seed(client: &Client, batch: &'static [&'static str]) {
    client
        .run(move |flash| async move { flash.push_all("info", batch.iter().copied()).unwrap() })
        .await;
}

/// Reads once after giving a wrong give-back (one spawned when a body is dropped) time to
/// land: what a later request would see.
async fn settled_texts(client: &Client) -> Vec<String> {
    tokio::time::sleep(Duration::from_millis(100)).await;
    client.take_texts().await
}

/// Defect 1: hyper never polls a body of known length 0, and stops polling at the length
/// the response promised. Confirmed delivery must still see such responses as sent whole:
/// a redirect, a bare 200, an htmx-style empty 200 with headers only, and a streamed body
/// whose handler set `Content-Length` (its end is never polled); and any body of several
/// frames.
pub async fn regression_responses_sent_whole_confirm_their_delivery<F: Fixture>(fx: &F) {
    type Respond = fn() -> Response;
    let cases: [(&str, Respond); 5] = [
        // Found while fixing the others: every body of more than one frame gave its
        // messages back after the first frame.
        ("streamed in chunks", || {
            Response::new(Body::new(TwoChunks::new("ab", "c")))
        }),
        ("redirect", || Redirect::to("/next").into_response()),
        ("bare 200", || StatusCode::OK.into_response()),
        ("headers only", || {
            (StatusCode::OK, [("hx-trigger", "saved")]).into_response()
        }),
        ("content-length set by the handler", || {
            let mut res = Response::new(Body::new(TwoChunks::new("ab", "c")));
            res.headers_mut()
                .insert(http::header::CONTENT_LENGTH, "3".parse().unwrap());
            res
        }),
    ];
    let client = browser_over_a_connection(fx, &TestApp::new(layer(fx).confirm_delivery())).await;
    for (name, respond) in cases {
        seed(&client, &["a", "b"]).await;
        let res = client
            .respond_at("/read", move |flash| async move {
                assert_eq!(flash.take_all().await.texts(), ["a", "b"]);
                respond()
            })
            .await;
        assert!(body_result(res).await.is_ok(), "{name}: sent whole");
        assert!(
            settled_texts(&client).await.is_empty(),
            "{name}: delivered, so never shown again"
        );
    }
}

/// Defect 2: with confirmed delivery, `keep()` and the lease both put the messages back
/// when the response fails afterwards (a broken body, a rebind then a 5xx): `a,b,a,b`.
pub async fn regression_keep_under_confirmation_puts_messages_back_once<F: Fixture>(fx: &F) {
    let client = browser(fx, &TestApp::new(layer(fx).confirm_delivery())).await;

    seed(&client, &["a", "b"]).await;
    let res = client
        .respond_at("/read", |flash| async move {
            flash.take_all().await;
            flash.keep();
            Response::new(failing_body("half a page"))
        })
        .await;
    assert!(body_result(res).await.is_err());
    assert_eq!(
        settled_texts(&client).await,
        ["a", "b"],
        "after a broken body"
    );

    seed(&client, &["a", "b"]).await;
    let res = client
        .respond_at("/read", |flash| async move {
            flash.take_all().await;
            flash.keep();
            flash.rebind(None).await.unwrap();
            StatusCode::BAD_GATEWAY.into_response()
        })
        .await;
    assert_eq!(res.status(), StatusCode::BAD_GATEWAY);
    assert_eq!(
        settled_texts(&client).await,
        ["a", "b"],
        "after a rebind and a 5xx"
    );

    // Kept, then the response succeeds: back once, and the lease has nothing left to
    // give back or confirm.
    seed(&client, &["a", "b"]).await;
    client
        .respond_at("/read", |flash| async move {
            flash.take_all().await;
            flash.keep();
            StatusCode::OK.into_response()
        })
        .await;
    assert_eq!(settled_texts(&client).await, ["a", "b"], "after a success");
    assert!(client.take_texts().await.is_empty());
}

/// Defect 2, the client that hangs up: kept messages are back once.
pub async fn regression_keep_then_a_client_that_hangs_up_puts_messages_back_once<F: Fixture>(
    fx: &F,
) {
    use tokio::io::AsyncReadExt;

    let client = browser(fx, &TestApp::new(layer(fx).confirm_delivery())).await;
    seed(&client, &["a", "b"]).await;
    let mut raw = client
        .raw_request("GET", "/read", "", |flash: Flash| async move {
            assert_eq!(flash.take_all().await.len(), 2);
            flash.keep();
            Response::new(Body::new(crate::harness::Endless::new()))
        })
        .await;
    let conn = &mut raw.conn;
    let mut buf = [0u8; 256];
    let n = tokio::time::timeout(Duration::from_secs(5), conn.read(&mut buf))
        .await
        .expect("the body started")
        .unwrap();
    assert!(n > 0);
    drop(raw);
    assert_eq!(settled_texts(&client).await, ["a", "b"]);
    assert!(client.take_texts().await.is_empty());
}

/// Defect 8: under scoping, messages a request keeps go to the target of its redirect,
/// as its pushes do (they stayed bound to the request's own path, hidden for 180 s).
pub async fn regression_kept_messages_follow_the_next_redirect<F: Fixture>(fx: &F) {
    for confirmed in [false, true] {
        let mut flash_layer = layer(fx).scope_to_redirects();
        if confirmed {
            flash_layer = flash_layer.confirm_delivery();
        }
        let client = browser(fx, &TestApp::new(flash_layer)).await;
        client
            .respond_at("/a", |flash| async move {
                flash.info("saved").unwrap();
                Redirect::to("/b").into_response()
            })
            .await;
        client
            .respond_at("/b", |flash| async move {
                assert_eq!(flash.take_all().await.texts(), ["saved"]);
                flash.keep();
                Redirect::to("/c").into_response()
            })
            .await;
        assert!(
            client.take_texts_at("/b").await.is_empty(),
            "confirmed={confirmed}: not for /b any more"
        );
        assert_eq!(
            client.take_texts_at("/c").await,
            ["saved"],
            "confirmed={confirmed}: carried to /c"
        );
        assert!(client.take_texts_at("/c").await.is_empty());
    }
}

/// Also checked in issue 11: a lease that outlives the client's TTL. The messages of a
/// process that died while holding them must come back when the lease ends, not expire
/// with the shorter TTL.
pub async fn regression_leased_messages_outlive_a_ttl_shorter_than_the_lease<F: Fixture>(fx: &F) {
    let store = fx.store();
    let id = tower_flash::ClientId::new("lease-vs-ttl").unwrap();
    let short = PushOptions::new(Duration::from_millis(150), 10);
    store
        .push(&id, &[info("a"), info("b")], &short)
        .await
        .unwrap();
    let dead = Lease::new(LeaseId::new(), now_ms() + 400, short.ttl);
    let taken = store.take_leased(&id, &Take::all(), &dead).await.unwrap();
    assert_eq!(texts(&taken), ["a", "b"]);
    tokio::time::sleep(Duration::from_millis(450)).await;
    let next = Lease::new(LeaseId::new(), now_ms() + 10_000, short.ttl);
    let back = store.take_leased(&id, &Take::all(), &next).await.unwrap();
    assert_eq!(
        texts(&back),
        ["a", "b"],
        "back after the lease, not expired"
    );
}

/// Defect 10: durations past what a store or a cookie can hold are clamped when the layer
/// is built: `Duration::MAX` neither panics nor leaves a key without a TTL.
pub async fn regression_durations_past_any_range_are_clamped<F: Fixture>(fx: &F) {
    let endless = layer(fx)
        .ttl(Duration::MAX)
        .lease_timeout(Duration::MAX)
        .scope_fallback(Duration::MAX);
    let client = browser(fx, &TestApp::new(endless)).await;
    seed(&client, &["a"]).await;
    assert_eq!(client.take_texts().await, ["a"]);
    let store = fx.store();
    let id = tower_flash::ClientId::new("endless-ttl").unwrap();
    let forever = PushOptions::new(Duration::MAX, 10);
    store.push(&id, &[info("x")], &forever).await.unwrap();
    store.restore(&id, &[info("w")], &forever).await.unwrap();
    let taken = store.take(&id, &Take::all()).await.unwrap();
    assert_eq!(texts(&taken), ["w", "x"]);
}

/// Defect 11: what a push accepts, a take delivers, on every store. Data nested deeper
/// than the limit is refused at push time; data at the limit round-trips.
pub async fn regression_deeply_nested_data_is_refused_or_delivered_never_dropped<F: Fixture>(
    fx: &F,
) {
    fn nested(depth: usize) -> serde_json::Value {
        (0..depth).fold(serde_json::json!(1), |inner, _| serde_json::json!([inner]))
    }
    let limit = tower_flash::MAX_DATA_DEPTH;
    let client = browser(fx, &TestApp::new(layer(fx))).await;
    let (deep, at_limit) = client
        .run(move |flash| async move {
            let deep = flash.push_message(info("deep").with_data(nested(limit + 1)));
            let at_limit = flash.push_message(info("at the limit").with_data(nested(limit)));
            (deep.map_err(|e| e.to_string()), at_limit.is_ok())
        })
        .await;
    assert!(
        deep.unwrap_err().contains("nested"),
        "refused with a reason"
    );
    assert!(at_limit);
    let delivered: Vec<Message> = client
        .run(|flash| async move { flash.take_all().await.into_vec() })
        .await;
    assert_eq!(texts(&delivered), ["at the limit"]);
    assert_eq!(delivered[0].data(), Some(&nested(limit)));

    // The store API refuses it too rather than lose it after the write.
    let id = tower_flash::ClientId::new("deep").unwrap();
    let options = PushOptions::new(Duration::from_secs(60), 10);
    let refused = fx
        .store()
        .push(&id, &[info("deep").with_data(nested(127))], &options)
        .await;
    assert!(refused.is_err());
    assert!(fx.store().take(&id, &Take::all()).await.unwrap().is_empty());
}

fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64
}

/// htmx delivery as a browser receives it (in the over-HTTP run, through a real listener):
/// with confirmation, an empty 200 whose messages ride in `HX-Trigger` is sent whole, so
/// they are gone; the header is ASCII and decodes to the exact text; a response that
/// navigates away (`HX-Redirect`) leaves the messages for the page that follows.
pub async fn htmx_delivery_through_a_server_delivers_once_and_leaves_navigation_alone<
    F: Fixture,
>(
    fx: &F,
) {
    let flash_layer = layer(fx)
        .confirm_delivery()
        .deliver_to_htmx(tower_flash::HtmxDelivery::default());
    let client = browser(fx, &TestApp::new(flash_layer)).await;
    let htmx = |respond: fn() -> Response| {
        let req = http::Request::get("/fragment")
            .header("hx-request", "true")
            .body(Body::empty())
            .unwrap();
        crate::harness::with_job(req, move |_flash| async move { respond() })
    };

    seed(&client, &["Café ✓ Привет"]).await;
    let res = client.send(htmx(|| StatusCode::OK.into_response())).await;
    let trigger = res
        .headers()
        .get("hx-trigger")
        .expect("delivered in HX-Trigger");
    assert!(trigger.as_bytes().is_ascii(), "{trigger:?}");
    let value: serde_json::Value = serde_json::from_slice(trigger.as_bytes()).unwrap();
    assert_eq!(value["flash"][0]["text"], "Café ✓ Привет");
    assert!(
        settled_texts(&client).await.is_empty(),
        "delivered by an empty 200: confirmed, never shown again"
    );

    seed(&client, &["after the redirect"]).await;
    let res = client
        .send(htmx(|| {
            (StatusCode::OK, [("hx-redirect", "/next")]).into_response()
        }))
        .await;
    assert!(res.headers().get("hx-trigger").is_none());
    assert_eq!(settled_texts(&client).await, ["after the redirect"]);
}

/// The one-pass `HX-Trigger` sizing at work through a real connection: a queue far longer
/// than one header (a small bound, texts whose escapes are six times their bytes) drains
/// over htmx requests, every header within the bound, every message once and in push
/// order; each empty 200 confirms what it carried, and a full-page read finds nothing left.
pub async fn htmx_a_queue_longer_than_one_header_drains_in_order_over_a_connection<F: Fixture>(
    fx: &F,
) {
    const MAX: usize = 700;
    let flash_layer = layer(fx)
        .confirm_delivery()
        .deliver_to_htmx(tower_flash::HtmxDelivery::default().max_header_bytes(MAX));
    let client = browser_over_a_connection(fx, &TestApp::new(flash_layer)).await;
    let sent: Vec<String> = (0..40)
        .map(|i| match i % 3 {
            0 => format!("saved {i}"),
            1 => format!("Привет {i} ✓ \"quoted\" <b>"),
            _ => format!("{i} 🎉🎉🎉 {}", "x".repeat(i)),
        })
        .collect();
    let batch = sent.clone();
    client
        .run(move |flash| async move { flash.push_all("info", batch).unwrap() })
        .await;
    let mut received = Vec::new();
    for _ in 0..sent.len() {
        let req = http::Request::get("/fragment")
            .header("hx-request", "true")
            .body(Body::empty())
            .unwrap();
        let res = client
            .send(crate::harness::with_job(req, |_flash| async {
                StatusCode::OK.into_response()
            }))
            .await;
        let Some(trigger) = res.headers().get("hx-trigger") else {
            break;
        };
        assert!(trigger.len() <= MAX, "{} bytes", trigger.len());
        let value: serde_json::Value = serde_json::from_slice(trigger.as_bytes()).unwrap();
        let batch: Vec<String> = value["flash"]
            .as_array()
            .expect("the flash event")
            .iter()
            .map(|m| m["text"].as_str().expect("a text").to_owned())
            .collect();
        assert!(!batch.is_empty(), "a header carries at least one message");
        received.extend(batch);
    }
    assert_eq!(received, sent, "every message once, in push order");
    assert!(
        settled_texts(&client).await.is_empty(),
        "each empty 200 confirmed what it carried"
    );
}
