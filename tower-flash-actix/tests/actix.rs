//! The request-level guarantees through a real server on loopback and a real HTTP client, on
//! the memory store and on a real redis-server, and on both frameworks: actix-web through
//! this crate, and axum through tower-flash's own layer (the reference). One suite, every
//! case on all four.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::HashMap;
use std::time::Duration;

use common::{Backend, Client, Framework, Server};
use tower_flash::{FlashLayer, HtmxDelivery};

macro_rules! on_every_store {
    ($($name:ident),* $(,)?) => {
        on_every_store!(@store on_memory, memory, $($name),*);
        on_every_store!(@store on_redis, redis, $($name),*);
    };
    (@store $module:ident, $backend:ident, $($name:ident),*) => {
        mod $module {
            mod actix {
                $(
                    #[actix_web::test]
                    async fn $name() {
                        let stack = crate::Stack::new(crate::Backend::$backend(), crate::Framework::Actix);
                        crate::$name(stack).await;
                    }
                )*
            }
            mod axum {
                $(
                    #[actix_web::test]
                    async fn $name() {
                        let stack = crate::Stack::new(crate::Backend::$backend(), crate::Framework::Axum);
                        crate::$name(stack).await;
                    }
                )*
            }
        }
    };
}

macro_rules! on_every_store_on_actix {
    ($($name:ident),* $(,)?) => {
        on_every_store_on_actix!(@store on_memory_actix_only, memory, $($name),*);
        on_every_store_on_actix!(@store on_redis_actix_only, redis, $($name),*);
    };
    (@store $module:ident, $backend:ident, $($name:ident),*) => {
        mod $module {
            $(
                #[actix_web::test]
                async fn $name() {
                    let stack = crate::Stack::new(crate::Backend::$backend(), crate::Framework::Actix);
                    crate::$name(stack).await;
                }
            )*
        }
    };
}

/// Where a test runs: a store and a framework.
struct Stack {
    backend: Backend,
    framework: Framework,
}

impl Stack {
    fn new(backend: Backend, framework: Framework) -> Self {
        Stack { backend, framework }
    }
}

on_every_store!(
    a_message_set_before_a_redirect_is_read_by_the_next_request,
    a_take_is_read_once,
    a_per_kind_take_consumes_only_that_kind,
    flashless_requests_get_no_cookie,
    a_forged_cookie_is_served_as_no_messages,
    invalid_input_is_a_400_and_stores_nothing,
    concurrent_reads_deliver_each_message_exactly_once,
    concurrent_reads_deliver_each_message_exactly_once_under_confirmation,
    pushes_racing_takes_are_never_lost_or_duplicated,
    a_read_whose_body_is_sent_whole_is_confirmed,
    a_failed_view_gives_its_messages_back_under_confirmation,
    a_panicking_view_gives_its_messages_back_under_confirmation,
    a_broken_body_gives_its_messages_back_under_confirmation,
    a_client_that_hangs_up_mid_body_gets_its_messages_back,
    without_confirmation_a_failed_view_consumes_its_messages,
    redirect_scoped_messages_wait_for_their_target,
    htmx_requests_get_their_messages_in_hx_trigger,
    the_json_endpoint_answers_messages_and_peek_keeps_them,
    a_signed_in_user_reads_from_any_browser_without_a_cookie,
);

// What only actix has: service errors (axum's are `Infallible`) and its test service.
on_every_store_on_actix!(
    a_service_error_gives_its_messages_back_before_its_answer_leaves,
    a_second_middleware_does_not_split_the_request,
);

async fn serve(stack: &Stack, configure: impl FnOnce(FlashLayer) -> FlashLayer) -> Server {
    Server::start(stack.framework, configure(stack.backend.layer().await)).await
}

async fn a_message_set_before_a_redirect_is_read_by_the_next_request(stack: Stack) {
    let server = serve(&stack, |l| l).await;
    let client = Client::new(&server);
    // Many rounds: the write must be done before the 302 leaves, every time.
    for round in 0..50 {
        let set = client
            .get(&format!("/set?kind=info&msg=saved-{round}"))
            .await;
        assert_eq!(set.status, 302);
        assert_eq!(set.header("location"), Some("/read"));
        let read = client.get("/read").await;
        assert_eq!(read.status, 200);
        assert_eq!(read.texts(), [format!("saved-{round}")], "round {round}");
    }
    server.stop().await;
}

async fn a_take_is_read_once(stack: Stack) {
    let server = serve(&stack, |l| l).await;
    let client = Client::new(&server);
    client.get("/set?kind=info&msg=a").await;
    client.get("/set?kind=error&msg=b").await;
    client.get("/set?kind=info&msg=c").await;
    let first = client.get("/read").await;
    assert_eq!(first.body, r#"{"info":["a","c"],"error":["b"]}"#);
    assert_eq!(first.header("cache-control"), Some("no-store"));
    assert_eq!(client.get("/read").await.body, "{}");
    server.stop().await;
}

async fn a_per_kind_take_consumes_only_that_kind(stack: Stack) {
    let server = serve(&stack, |l| l).await;
    let client = Client::new(&server);
    client.get("/set?kind=info&msg=a").await;
    client.get("/set?kind=error&msg=b").await;
    assert_eq!(client.get("/read/error").await.body, r#"["b"]"#);
    assert_eq!(client.get("/read/error").await.body, "[]");
    assert_eq!(client.get("/read").await.body, r#"{"info":["a"]}"#);
    server.stop().await;
}

async fn flashless_requests_get_no_cookie(stack: Stack) {
    let server = serve(&stack, |l| l).await;
    let client = Client::new(&server);
    if let Backend::Redis(redis) = &stack.backend {
        let _: () = redis::cmd("CONFIG")
            .arg("RESETSTAT")
            .query(&mut redis.inspect())
            .expect("CONFIG RESETSTAT");
    }
    for path in ["/health", "/read", "/read/info", "/page/x", "/flash.json"] {
        let answer = client.get(path).await;
        assert_eq!(answer.status, 200, "{path}");
        assert_eq!(answer.header("set-cookie"), None, "{path} set a cookie");
    }
    // Nothing shown, nothing to keep out of caches (the JSON endpoint always says so).
    assert_eq!(client.get("/read").await.header("cache-control"), None);
    assert_eq!(client.cookie(), None);
    if let Backend::Redis(redis) = &stack.backend {
        assert_eq!(
            data_commands(redis),
            Vec::<String>::new(),
            "no store call without a cookie"
        );
        // The check can fail: a write is seen.
        client.get("/set?kind=info&msg=a").await;
        assert!(!data_commands(redis).is_empty());
    }
    server.stop().await;
}

/// The Redis commands run since the last `CONFIG RESETSTAT`, other than the test's own and
/// the connection's handshake.
fn data_commands(redis: &common::RedisServer) -> Vec<String> {
    let info: String = redis::cmd("INFO")
        .arg("commandstats")
        .query(&mut redis.inspect())
        .expect("INFO commandstats");
    info.lines()
        .filter_map(|line| line.strip_prefix("cmdstat_"))
        .filter_map(|line| line.split(':').next())
        .filter(|cmd| {
            ![
                "config|resetstat",
                "info",
                "ping",
                "hello",
                "client|setinfo",
                "select",
            ]
            .contains(cmd)
        })
        .map(str::to_owned)
        .collect()
}

async fn a_forged_cookie_is_served_as_no_messages(stack: Stack) {
    let server = serve(&stack, |l| l).await;
    let client = Client::new(&server);
    client.get("/set?kind=info&msg=mine").await;
    let genuine = client.cookie().expect("a cookie after a write");
    let (name, value) = genuine.split_once('=').expect("name=value");
    let forged = Client::new(&server);
    for cookie in [
        format!("{name}=AAAA{value}"),
        format!("{name}=not-even-base64!"),
        format!("{name}="),
    ] {
        forged.set_cookie(&cookie);
        let answer = forged.get("/read").await;
        assert_eq!(
            (answer.status, answer.body.as_str()),
            (200, "{}"),
            "{cookie}"
        );
    }
    assert_eq!(client.get("/read").await.texts(), ["mine"]);
    server.stop().await;
}

async fn invalid_input_is_a_400_and_stores_nothing(stack: Stack) {
    let server = serve(&stack, |l| l.max_message_bytes(16)).await;
    let client = Client::new(&server);
    for path in [
        "/set?kind=info&msg=",
        "/set?kind=&msg=x",
        "/set?kind=no%20spaces&msg=x",
        "/set?kind=info&msg=far-more-than-sixteen-bytes",
    ] {
        let answer = client.get(path).await;
        assert_eq!(answer.status, 400, "{path}: {}", answer.body);
        assert!(!answer.body.is_empty(), "{path}: a reason");
    }
    assert_eq!(client.cookie(), None, "nothing stored, no cookie");
    assert_eq!(client.get("/read").await.body, "{}");
    server.stop().await;
}

/// Of `round`'s messages `{round}-0` to `{round}-{count - 1}`, how many texts were `seen`
/// more than once, and how many not at all.
fn tally(seen: Vec<String>, round: usize, count: usize) -> (usize, usize) {
    let mut times: HashMap<String, usize> = HashMap::new();
    for text in seen {
        *times.entry(text).or_default() += 1;
    }
    let twice = times.values().filter(|&&n| n > 1).count();
    let lost = (0..count)
        .filter(|i| !times.contains_key(&format!("{round}-{i}")))
        .count();
    (twice, lost)
}

#[test]
fn tally_counts_texts_seen_twice_and_messages_never_seen() {
    let seen = ["3-0", "3-0", "3-2", "2-1"].map(str::to_owned).to_vec();
    assert_eq!(tally(seen, 3, 3), (1, 1));
}

/// Many tabs of one client read at once, round after round: every message reaches exactly
/// one of them.
async fn concurrent_reads(stack: Stack, configure: impl FnOnce(FlashLayer) -> FlashLayer) {
    const ROUNDS: usize = 10;
    const MESSAGES: usize = 8;
    const TABS: usize = 16;
    let server = serve(&stack, configure).await;
    let client = Client::new(&server);
    let (mut duplicates, mut losses) = (0, 0);
    for round in 0..ROUNDS {
        for i in 0..MESSAGES {
            client.get(&format!("/set?kind=info&msg={round}-{i}")).await;
        }
        let tabs: Vec<_> = (0..TABS)
            .map(|_| {
                let tab = client.clone();
                tokio::spawn(async move { tab.get("/read").await })
            })
            .collect();
        let mut seen = Vec::new();
        for tab in tabs {
            let answer = tab.await.expect("tab");
            assert_eq!(answer.status, 200);
            seen.extend(answer.texts());
        }
        let (twice, lost) = tally(seen, round, MESSAGES);
        duplicates += twice;
        losses += lost;
    }
    assert_eq!(
        (duplicates, losses),
        (0, 0),
        "duplicates and losses over {ROUNDS} rounds"
    );
    server.stop().await;
}

async fn concurrent_reads_deliver_each_message_exactly_once(stack: Stack) {
    concurrent_reads(stack, |l| l).await;
}

async fn concurrent_reads_deliver_each_message_exactly_once_under_confirmation(stack: Stack) {
    concurrent_reads(stack, FlashLayer::confirm_delivery).await;
}

/// Tabs that push and tabs that read race, round after round; a final read collects what is
/// left. Every message pushed is delivered once: none lost, none twice.
async fn pushes_racing_takes_are_never_lost_or_duplicated(stack: Stack) {
    const ROUNDS: usize = 8;
    const WRITERS: usize = 8;
    const READERS: usize = 8;
    let server = serve(&stack, |l| l.max_messages(1000)).await;
    let client = Client::new(&server);
    client.get("/set?kind=info&msg=hello").await; // the client's cookie
    client.get("/read").await;
    let (mut duplicates, mut losses) = (0, 0);
    for round in 0..ROUNDS {
        let writers: Vec<_> = (0..WRITERS)
            .map(|w| {
                let tab = client.clone();
                tokio::spawn(async move {
                    let answer = tab.get(&format!("/set?kind=info&msg={round}-{w}")).await;
                    assert_eq!(answer.status, 302);
                })
            })
            .collect();
        let readers: Vec<_> = (0..READERS)
            .map(|_| {
                let tab = client.clone();
                tokio::spawn(async move { tab.get("/read").await.texts() })
            })
            .collect();
        for writer in writers {
            writer.await.expect("writer");
        }
        let mut seen = Vec::new();
        for reader in readers {
            seen.extend(reader.await.expect("reader"));
        }
        seen.extend(client.get("/read").await.texts());
        let (twice, lost) = tally(seen, round, WRITERS);
        duplicates += twice;
        losses += lost;
    }
    assert_eq!(
        (duplicates, losses),
        (0, 0),
        "duplicates and losses over {ROUNDS} rounds"
    );
    server.stop().await;
}

async fn a_read_whose_body_is_sent_whole_is_confirmed(stack: Stack) {
    let server = serve(&stack, FlashLayer::confirm_delivery).await;
    let client = Client::new(&server);
    client.get("/set?kind=info&msg=once").await;
    assert_eq!(client.get("/read").await.texts(), ["once"]);
    // Confirmed, not leased: still gone after the lease would have timed out.
    assert_eq!(client.get("/read").await.body, "{}");
    server.stop().await;
}

/// Takes through `path`, which fails somehow, then expects the messages back, in order.
async fn given_back_after(stack: Stack, path: &str) {
    let server = serve(&stack, FlashLayer::confirm_delivery).await;
    let client = Client::new(&server);
    client.get("/set?kind=info&msg=first").await;
    client.get("/set?kind=info&msg=second").await;
    match client.try_get(path).await {
        // A 500, or a panic (actix drops the connection), or a body cut short.
        Ok(status) => assert_eq!(status, 500, "{path}"),
        Err(error) => assert!(!path.ends_with("=500"), "{path}: {error}"),
    }
    assert_eq!(
        eventually_texts(&client).await,
        ["first", "second"],
        "given back after {path}"
    );
    server.stop().await;
}

/// The messages of the next read that has any (a give-back after a dropped body runs in the
/// background, so it may land just after the failed request's connection closed).
async fn eventually_texts(client: &Client) -> Vec<String> {
    for _ in 0..200 {
        let texts = client.get("/read").await.texts();
        if !texts.is_empty() {
            return texts;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    Vec::new()
}

async fn a_failed_view_gives_its_messages_back_under_confirmation(stack: Stack) {
    given_back_after(stack, "/read?fail=500").await;
}

async fn a_panicking_view_gives_its_messages_back_under_confirmation(stack: Stack) {
    given_back_after(stack, "/read?fail=panic").await;
}

async fn a_broken_body_gives_its_messages_back_under_confirmation(stack: Stack) {
    given_back_after(stack, "/read?fail=abort").await;
}

/// A middleware inside the flash middleware fails after the handler took: actix answers the
/// error's 500, and the messages are back before that answer leaves (no waiting here).
async fn a_service_error_gives_its_messages_back_before_its_answer_leaves(stack: Stack) {
    let server = serve(&stack, FlashLayer::confirm_delivery).await;
    let client = Client::new(&server);
    client.get("/set?kind=info&msg=first").await;
    client.get("/set?kind=info&msg=second").await;
    assert_eq!(client.get("/read?fail=service-error").await.status, 500);
    assert_eq!(client.get("/read").await.texts(), ["first", "second"]);
    server.stop().await;
}

async fn a_client_that_hangs_up_mid_body_gets_its_messages_back(stack: Stack) {
    let server = serve(&stack, FlashLayer::confirm_delivery).await;
    let client = Client::new(&server);
    client.get("/set?kind=info&msg=first").await;
    client.get("/set?kind=info&msg=second").await;
    let head = client.get_and_hang_up("/slow").await;
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    assert_eq!(eventually_texts(&client).await, ["first", "second"]);
    server.stop().await;
}

async fn without_confirmation_a_failed_view_consumes_its_messages(stack: Stack) {
    let server = serve(&stack, |l| l).await;
    let client = Client::new(&server);
    client.get("/set?kind=info&msg=gone").await;
    assert_eq!(client.get("/read?fail=500").await.status, 500);
    assert_eq!(client.get("/read").await.body, "{}");
    server.stop().await;
}

async fn redirect_scoped_messages_wait_for_their_target(stack: Stack) {
    let server = serve(&stack, FlashLayer::scope_to_redirects).await;
    let client = Client::new(&server);
    let set = client.get("/set?kind=info&msg=for-a&next=/page/a").await;
    assert_eq!(set.header("location"), Some("/page/a"));
    // Another tab, a poll, another page: not theirs.
    assert_eq!(client.get("/read").await.body, "{}");
    assert_eq!(client.get("/page/b").await.body, "{}");
    assert_eq!(client.get("/page/a").await.texts(), ["for-a"]);
    assert_eq!(client.get("/page/a").await.body, "{}");
    server.stop().await;
}

async fn htmx_requests_get_their_messages_in_hx_trigger(stack: Stack) {
    let server = serve(&stack, |l| l.deliver_to_htmx(HtmxDelivery::default())).await;
    let client = Client::new(&server);
    client.get("/set?kind=success&msg=Saved").await;
    let plain = client.get("/health").await;
    assert_eq!(plain.header("hx-trigger"), None, "not an htmx request");
    let htmx = client.get_with("/health", &[("hx-request", "true")]).await;
    let trigger: serde_json::Value =
        serde_json::from_str(htmx.header("hx-trigger").expect("an HX-Trigger")).expect("JSON");
    assert_eq!(trigger["flash"][0]["text"], "Saved");
    assert_eq!(trigger["flash"][0]["kind"], "success");
    assert_eq!(htmx.header("cache-control"), Some("no-store"));
    assert_eq!(client.get("/read").await.body, "{}", "delivered once");
    server.stop().await;
}

async fn the_json_endpoint_answers_messages_and_peek_keeps_them(stack: Stack) {
    let server = serve(&stack, |l| l).await;
    let client = Client::new(&server);
    client.get("/set?kind=info&msg=a").await;
    let peeked = client.get("/flash.json?peek=1").await;
    assert_eq!(peeked.status, 200);
    assert_eq!(peeked.header("content-type"), Some("application/json"));
    assert_eq!(peeked.header("cache-control"), Some("no-store"));
    let json: serde_json::Value = serde_json::from_str(&peeked.body).expect("JSON");
    assert_eq!(json["messages"][0]["text"], "a");
    let taken: serde_json::Value =
        serde_json::from_str(&client.get("/flash.json").await.body).expect("JSON");
    assert_eq!(taken["messages"][0]["text"], "a");
    let empty: serde_json::Value =
        serde_json::from_str(&client.get("/flash.json").await.body).expect("JSON");
    assert_eq!(empty["messages"], serde_json::json!([]));
    server.stop().await;
}

async fn a_signed_in_user_reads_from_any_browser_without_a_cookie(stack: Stack) {
    let server = serve(&stack, |l| l).await;
    let laptop = Client::new(&server);
    let phone = laptop.fresh();
    let set = laptop
        .get_with("/set?kind=info&msg=for-ann", &[("x-user", "ann")])
        .await;
    assert_eq!(set.status, 302);
    assert_eq!(
        set.header("set-cookie"),
        None,
        "keyed by user, not by cookie"
    );
    // Another user and an anonymous browser see nothing.
    assert_eq!(
        phone.get_with("/read", &[("x-user", "bob")]).await.body,
        "{}"
    );
    assert_eq!(phone.get("/read").await.body, "{}");
    let read = phone.get_with("/read", &[("x-user", "ann")]).await;
    assert_eq!(read.texts(), ["for-ann"]);
    server.stop().await;
}

async fn a_second_middleware_does_not_split_the_request(stack: Stack) {
    use actix_web::{App, HttpResponse, test, web};
    use tower_flash_actix::{Flash, FlashMiddleware};

    let layer = stack.backend.layer().await;
    let app = test::init_service(
        App::new()
            .wrap(FlashMiddleware::new(layer.clone()))
            .wrap(FlashMiddleware::new(layer))
            .route(
                "/",
                web::get().to(|flash: Flash| async move {
                    flash.push("info", "pushed").ok();
                    let texts = flash.take_all().await.texts().join(",");
                    HttpResponse::Ok().body(texts)
                }),
            ),
    )
    .await;
    let response = test::call_service(&app, test::TestRequest::get().uri("/").to_request()).await;
    let cookies = response.headers().get_all("set-cookie").count();
    let body = test::read_body(response).await;
    assert_eq!(body, "pushed", "a take sees what the request pushed");
    assert_eq!(
        cookies, 0,
        "taken in the request that pushed it: nothing stored"
    );
}

/// Redis goes away: a push is answered with the handler's redirect by default (the failure
/// logged), or with a 500 under `OnStoreError::Fail`; reads degrade to no messages.
#[actix_web::test]
async fn a_store_failure_is_logged_by_default_and_a_500_when_configured() {
    use tower_flash::OnStoreError;

    let cases = [(OnStoreError::Log, 302), (OnStoreError::Fail, 500)];
    for (framework, (policy, expected)) in [Framework::Actix, Framework::Axum]
        .into_iter()
        .flat_map(|f| cases.map(|c| (f, c)))
    {
        let stack = Stack::new(Backend::redis(), framework);
        let server = serve(&stack, |l| l.on_store_error(policy)).await;
        let client = Client::new(&server);
        client.get("/set?kind=info&msg=before").await;
        drop(stack); // kills and reaps redis-server
        let set = client.get("/set?kind=info&msg=lost").await;
        assert_eq!(set.status, expected, "{framework:?}, {policy:?}");
        let read = client.get("/read").await;
        assert_eq!(
            (read.status, read.body.as_str()),
            (200, "{}"),
            "{framework:?}, {policy:?}"
        );
        server.stop().await;
    }
}
