//! The layer's own behaviour through a real axum `Router`: cookies, zero-cost paths,
//! forged input, store failures, wiring mistakes.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use tower_flash_testkit::contract;
use tower_flash_testkit::harness as common;

use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::response::{IntoResponse, Redirect};
use axum::routing::get;
use http::header::{COOKIE, SET_COOKIE};
use http::{Request, StatusCode};
use tower::ServiceExt;
use tower_flash::store::{
    End, ErasedLeaseStore, ErasedScopeStore, Lease, LeaseId, LeaseStore, PushOptions, PushReceipt,
    ScopeStore, Store, Take, Target,
};
use tower_flash::{
    ClientId, Error, Flash, FlashLayer, Key, MemoryStore, Message, OnStoreError, Scope, StoreError,
};

use common::{Client, Counting, ManualClock, app, body_text, key, now, user_from_header};

/// A store whose backend is down.
#[derive(Clone, Default)]
struct Down;

fn down() -> StoreError {
    StoreError::backend(std::io::Error::new(
        std::io::ErrorKind::ConnectionRefused,
        "store is down",
    ))
}

/// Every store call fails.
impl Store for Down {
    async fn write(
        &self,
        _: &ClientId,
        _: &[Message],
        _: End,
        _: &PushOptions,
        _: u64,
    ) -> Result<PushReceipt, StoreError> {
        Err(down())
    }
    async fn take(&self, _: &ClientId, _: &Take<'_>) -> Result<Vec<Message>, StoreError> {
        Err(down())
    }
    async fn peek(&self, _: &ClientId, _: u64) -> Result<Vec<Message>, StoreError> {
        Err(down())
    }
    async fn clear(&self, _: &ClientId) -> Result<(), StoreError> {
        Err(down())
    }
    fn leases(&self) -> Option<&dyn ErasedLeaseStore> {
        Some(self)
    }
    fn scopes(&self) -> Option<&dyn ErasedScopeStore> {
        Some(self)
    }
}

impl LeaseStore for Down {
    async fn take_leased(
        &self,
        _: &ClientId,
        _: &Take<'_>,
        _: &Lease,
    ) -> Result<Vec<Message>, StoreError> {
        Err(down())
    }
    async fn release(&self, _: &ClientId, _: &LeaseId) -> Result<bool, StoreError> {
        Err(down())
    }
    async fn give_back(
        &self,
        _: &ClientId,
        _: &LeaseId,
        _: Option<&[Message]>,
        _: &PushOptions,
        _: u64,
    ) -> Result<usize, StoreError> {
        Err(down())
    }
}

impl ScopeStore for Down {
    async fn rescope(
        &self,
        _: &ClientId,
        _: &Target,
        _: &Scope,
        _: u64,
    ) -> Result<usize, StoreError> {
        Err(down())
    }
}

/// A store of the core alone (the four methods a store author must write), over a
/// `MemoryStore`: no leases, no redirect scopes.
#[derive(Clone, Default)]
struct CoreOnly {
    inner: MemoryStore,
}

impl Store for CoreOnly {
    async fn write(
        &self,
        id: &ClientId,
        m: &[Message],
        end: End,
        o: &PushOptions,
        now: u64,
    ) -> Result<PushReceipt, StoreError> {
        self.inner.write(id, m, end, o, now).await
    }
    async fn take(&self, id: &ClientId, take: &Take<'_>) -> Result<Vec<Message>, StoreError> {
        self.inner.take(id, take).await
    }
    async fn peek(&self, id: &ClientId, now: u64) -> Result<Vec<Message>, StoreError> {
        self.inner.peek(id, now).await
    }
    async fn clear(&self, id: &ClientId) -> Result<(), StoreError> {
        self.inner.clear(id).await
    }
}

#[tokio::test]
async fn a_core_only_store_serves_the_default_mode() {
    let client = Client::new(&app(layer(CoreOnly::default())));
    client
        .run(|flash| async move {
            flash.info("first").unwrap();
            flash.error("second").unwrap();
        })
        .await;
    // A redirect in between reads nothing and loses nothing.
    let res = client
        .respond_at("/login", |flash| async move {
            let _ = flash;
            Redirect::to("/").into_response()
        })
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    // Kept messages go back to the front, before what came since.
    client
        .run(|flash| async move {
            assert_eq!(flash.take("info").await.len(), 1);
            assert_eq!(flash.keep(), 1);
            flash.success("third").unwrap();
        })
        .await;
    assert_eq!(client.take_texts().await, ["first", "second", "third"]);
    assert!(client.take_texts().await.is_empty(), "read once");
}

#[test]
#[should_panic(expected = "confirm_delivery needs a store that implements LeaseStore")]
fn confirm_delivery_is_refused_at_build_on_a_store_without_leases() {
    let _ = layer(CoreOnly::default()).confirm_delivery();
}

#[test]
#[should_panic(expected = "lease_timeout needs a store that implements LeaseStore")]
fn a_lease_timeout_is_refused_at_build_on_a_store_without_leases() {
    let _ = layer(CoreOnly::default()).lease_timeout(Duration::from_secs(5));
}

#[test]
#[should_panic(expected = "scope_to_redirects needs a store that implements ScopeStore")]
fn redirect_scoping_is_refused_at_build_on_a_store_without_scopes() {
    let _ = layer(CoreOnly::default()).scope_to_redirects();
}

#[test]
fn both_stores_of_the_crate_take_every_option() {
    // The capability checks pass for the stores that have them (no panic).
    let _ = layer(MemoryStore::new())
        .confirm_delivery()
        .lease_timeout(Duration::from_secs(5))
        .scope_to_redirects()
        .scope_fallback(Duration::from_secs(5));
}

#[tokio::test]
async fn a_driven_clock_expires_unread_messages_without_sleeping() {
    let hands = ManualClock::new();
    let client = Client::new(&app(layer(MemoryStore::new())
        .ttl(Duration::from_secs(3600))
        .clock(hands.clone())));
    client
        .run(|flash| async move { flash.info("soon stale").unwrap() })
        .await;
    hands.advance(Duration::from_secs(3599));
    client
        .run(|flash| async move { flash.info("fresh").unwrap() })
        .await;
    // The second write refreshed the client's TTL: an hour after the first, both are there.
    hands.advance(Duration::from_secs(2));
    assert_eq!(client.take_texts().await, ["soon stale", "fresh"]);

    client
        .run(|flash| async move { flash.info("never read").unwrap() })
        .await;
    hands.advance(Duration::from_secs(3600));
    assert!(
        client.take_texts().await.is_empty(),
        "an hour by the layer's clock: expired"
    );
}

#[tokio::test]
async fn a_driven_clock_ends_a_lease_without_sleeping() {
    let hands = ManualClock::new();
    let store = MemoryStore::new();
    let client = Client::new(&app(layer(store.clone())
        .lease_timeout(Duration::from_secs(30))
        .clock(hands.clone())));
    client
        .run(|flash| async move { flash.info("leased").unwrap() })
        .await;
    let id = client
        .run(|flash| async move { flash.client_id().unwrap() })
        .await;
    // A process that takes under a lease and dies: the lease is never confirmed.
    let lease = Lease::new(
        LeaseId::at(hands.now()),
        hands.now() + 30_000,
        Duration::from_secs(3600),
    );
    let taken = store
        .take_leased(&id, &Take::all().at_time(hands.now()), &lease)
        .await
        .unwrap();
    assert_eq!(taken.len(), 1);
    assert!(client.take_texts().await.is_empty(), "leased: invisible");
    hands.advance(Duration::from_secs(31));
    assert_eq!(
        client.take_texts().await,
        ["leased"],
        "the lease ended by the layer's clock: given back"
    );
}

/// What connect-flash-redis did: read, then delete, in two steps. The race cases of the
/// contract must catch it, or they prove nothing.
#[derive(Clone, Default)]
struct ReadThenDelete {
    inner: MemoryStore,
}

impl Store for ReadThenDelete {
    async fn write(
        &self,
        id: &ClientId,
        m: &[Message],
        end: End,
        o: &PushOptions,
        now: u64,
    ) -> Result<PushReceipt, StoreError> {
        self.inner.write(id, m, end, o, now).await
    }
    async fn take(&self, id: &ClientId, take: &Take<'_>) -> Result<Vec<Message>, StoreError> {
        if take.kind.is_some() || take.target.is_some() {
            return self.inner.take(id, take).await;
        }
        let messages = self.inner.peek(id, take.now).await?;
        tokio::time::sleep(Duration::from_micros(200)).await;
        self.inner.clear(id).await?;
        Ok(messages)
    }
    async fn peek(&self, id: &ClientId, now: u64) -> Result<Vec<Message>, StoreError> {
        self.inner.peek(id, now).await
    }
    async fn clear(&self, id: &ClientId) -> Result<(), StoreError> {
        self.inner.clear(id).await
    }
    fn leases(&self) -> Option<&dyn ErasedLeaseStore> {
        Some(self)
    }
    fn scopes(&self) -> Option<&dyn ErasedScopeStore> {
        Some(self)
    }
}

impl LeaseStore for ReadThenDelete {
    async fn take_leased(
        &self,
        id: &ClientId,
        take: &Take<'_>,
        lease: &Lease,
    ) -> Result<Vec<Message>, StoreError> {
        self.inner.take_leased(id, take, lease).await
    }
    async fn release(&self, id: &ClientId, lease: &LeaseId) -> Result<bool, StoreError> {
        self.inner.release(id, lease).await
    }
    async fn give_back(
        &self,
        id: &ClientId,
        lease: &LeaseId,
        only: Option<&[Message]>,
        o: &PushOptions,
        now: u64,
    ) -> Result<usize, StoreError> {
        self.inner.give_back(id, lease, only, o, now).await
    }
}

impl ScopeStore for ReadThenDelete {
    async fn rescope(
        &self,
        id: &ClientId,
        from: &Target,
        to: &Scope,
        now: u64,
    ) -> Result<usize, StoreError> {
        self.inner.rescope(id, from, to, now).await
    }
}

impl contract::Fixture for ReadThenDelete {
    type Store = ReadThenDelete;
    fn store(&self) -> Self {
        self.clone()
    }
}

fn layer(store: impl Store) -> FlashLayer {
    FlashLayer::new(store, key()).secure(false)
}

#[tokio::test]
async fn set_cookie_is_signed_http_only_lax_root_with_max_age_and_secure_by_default() {
    let client = Client::new(&app(FlashLayer::new(MemoryStore::new(), key())));
    let (_, res) = client
        .run_with_response(|flash| async move { flash.info("hi").unwrap() })
        .await;
    let cookie = res.headers()[SET_COOKIE].to_str().unwrap().to_owned();
    for attr in [
        "flash=",
        "HttpOnly",
        "SameSite=Lax",
        "Path=/",
        "Max-Age=86400",
        "Secure",
    ] {
        assert!(cookie.contains(attr), "{cookie} lacks {attr}");
    }
    let value = cookie
        .split(';')
        .next()
        .unwrap()
        .trim_start_matches("flash=");
    assert!(
        value.len() > 32 + 40,
        "the id travels with its HMAC: {value}"
    );

    let insecure = Client::new(&app(layer(MemoryStore::new()).ttl(Duration::from_secs(60))));
    let (_, res) = insecure
        .run_with_response(|flash| async move { flash.info("hi").unwrap() })
        .await;
    let cookie = res.headers()[SET_COOKIE].to_str().unwrap();
    assert!(!cookie.contains("Secure"), "{cookie}");
    assert!(cookie.contains("Max-Age=60"), "{cookie}");
}

#[tokio::test]
async fn a_request_without_a_cookie_never_calls_the_store_and_sets_no_cookie() {
    let store = Counting::default();
    let client = Client::new(&app(layer(store.clone())));
    let (seen, res) = client
        .run_with_response(|flash| async move {
            let a = flash.take_all().await.len();
            let b = flash.take("info").await.len();
            let c = flash.peek().await.len();
            flash.clear().await.unwrap();
            flash.keep();
            (a, b, c)
        })
        .await;
    assert_eq!(seen, (0, 0, 0));
    assert_eq!(store.calls(), 0, "no cookie, no store call");
    assert!(
        res.headers().get(SET_COOKIE).is_none(),
        "nothing written, no cookie"
    );
}

#[tokio::test]
async fn store_calls_are_one_per_operation_and_zero_for_untouched_requests() {
    let store = Counting::default();
    let client = Client::new(&app(layer(store.clone())));
    client
        .run(|flash| async move {
            flash.push_all("info", ["a", "b", "c"]).unwrap();
            flash.error("d").unwrap();
        })
        .await;
    assert_eq!(store.calls(), 1, "all of a request's pushes in one call");
    let (_, res) = client.run_with_response(|_flash| async move {}).await;
    assert_eq!(
        store.calls(),
        1,
        "a request with a cookie that touches no message: 0 calls"
    );
    assert!(res.headers().get(SET_COOKIE).is_none());
    let got = client.take_texts().await;
    assert_eq!(got, ["a", "b", "c", "d"]);
    assert_eq!(store.calls(), 2, "a take is one call");
}

#[tokio::test]
async fn forged_malformed_and_unsigned_cookies_are_served_as_no_messages() {
    let store = Counting::default();
    let router = app(layer(store.clone()));
    let victim = Client::new(&router);
    victim
        .run(|flash| async move { flash.info("secret").unwrap() })
        .await;
    let good = victim.cookie().unwrap();
    let id = ClientId::random();
    let other_key = Client::new(&app(
        FlashLayer::new(MemoryStore::new(), Key::generate()).secure(false)
    ));
    other_key
        .run(|flash| async move { flash.info("x").unwrap() })
        .await;
    let calls_before = store.calls();
    let forgeries = [
        format!("flash={id}"),
        "flash=".to_owned(),
        "flash=%zz%".to_owned(),
        format!("{}x", good),
        good.replacen('=', "=A", 1),
        other_key.cookie().unwrap(),
        format!("flash={}", "9".repeat(5000)),
        "flash=\"quoted\"; flash=; flash".to_owned(),
    ];
    for forged in forgeries {
        let attacker = Client::new(&router);
        attacker.set_cookie(Some(forged.clone()));
        let (got, res) = attacker
            .run_with_response(|flash| async move { flash.take_all().await.len() })
            .await;
        assert_eq!(res.status(), StatusCode::OK, "{forged}");
        assert_eq!(got, 0, "{forged}");
    }
    assert_eq!(
        store.calls(),
        calls_before,
        "nothing derived from a bad cookie reached the store"
    );
    assert_eq!(victim.take_texts().await, ["secret"]);
}

#[tokio::test]
async fn cookies_signed_with_a_rotated_out_key_still_work() {
    let store = MemoryStore::new();
    let old = Key::from(&[1u8; 64]);
    let new = Key::from(&[2u8; 64]);
    let before = Client::new(&app(
        FlashLayer::new(store.clone(), old.clone()).secure(false)
    ));
    before
        .run(|flash| async move { flash.info("across rotation").unwrap() })
        .await;
    let after = before
        .with_app(&app(FlashLayer::new(store.clone(), new.clone())
            .with_old_key(old)
            .secure(false)))
        .await;
    assert_eq!(after.take_texts().await, ["across rotation"]);
    let not_rotated = before
        .with_app(&app(FlashLayer::new(store, new).secure(false)))
        .await;
    not_rotated
        .run(|flash| async move { flash.info("fresh").unwrap() })
        .await;
    assert_eq!(
        not_rotated.take_texts().await,
        ["fresh"],
        "an unknown key is a new client"
    );
}

#[tokio::test]
async fn a_write_to_a_known_client_refreshes_the_cookie() {
    let client = Client::new(&app(layer(MemoryStore::new())));
    client
        .run(|flash| async move { flash.info("a").unwrap() })
        .await;
    let first = client.cookie().unwrap();
    let (_, res) = client
        .run_with_response(|flash| async move { flash.info("b").unwrap() })
        .await;
    let again = res.headers()[SET_COOKIE].to_str().unwrap();
    assert!(again.starts_with(&first), "same id, new Max-Age: {again}");
}

#[tokio::test]
async fn a_store_failure_is_logged_and_the_response_sent_by_default() {
    let client = Client::new(&app(layer(Down)));
    let (_, res) = client
        .run_with_response(|flash| async move { flash.info("lost to the outage").unwrap() })
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    assert!(
        res.headers().get(SET_COOKIE).is_none(),
        "nothing stored, no cookie"
    );
}

#[tokio::test]
async fn a_store_failure_is_a_500_when_configured() {
    let client = Client::new(&app(layer(Down).on_store_error(OnStoreError::Fail)));
    let (_, res) = client
        .run_with_response(|flash| async move { flash.info("x").unwrap() })
        .await;
    assert_eq!(res.status(), StatusCode::INTERNAL_SERVER_ERROR);
}

#[tokio::test]
async fn reads_degrade_to_no_messages_and_try_variants_report_the_error() {
    let healthy = MemoryStore::new();
    let client = Client::new(&app(layer(healthy)));
    client
        .run(|flash| async move { flash.info("x").unwrap() })
        .await;
    let broken = client.with_app(&app(layer(Down))).await;
    let (degraded, typed) = broken
        .run(|flash| async move {
            let degraded = flash.take_all().await.len() + flash.peek().await.len();
            let typed = (
                matches!(flash.try_take_all().await, Err(Error::Store(_))),
                matches!(flash.try_take("info").await, Err(Error::Store(_))),
                matches!(flash.try_peek().await, Err(Error::Store(_))),
                matches!(flash.clear().await, Err(Error::Store(_))),
            );
            (degraded, typed)
        })
        .await;
    assert_eq!(degraded, 0);
    assert_eq!(typed, (true, true, true, true));
}

#[tokio::test]
async fn an_explicit_save_returns_the_store_error_to_the_handler() {
    let client = Client::new(&app(layer(Down)));
    let saved = client
        .run(|flash| async move {
            flash.info("x").unwrap();
            matches!(flash.save().await, Err(Error::Store(_)))
        })
        .await;
    assert!(saved);

    let store = Counting::default();
    let ok = Client::new(&app(layer(store.clone())));
    let (_, res) = ok
        .run_with_response(|flash| async move {
            flash.info("early").unwrap();
            flash.save().await.unwrap();
        })
        .await;
    assert_eq!(store.calls(), 1, "written once, by the explicit save");
    assert!(
        res.headers().get(SET_COOKIE).is_some(),
        "the cookie still goes out"
    );
    assert_eq!(ok.take_texts().await, ["early"]);
}

#[tokio::test]
async fn pushes_after_the_response_report_closed() {
    let router = app(layer(MemoryStore::new()));
    let client = Client::new(&router);
    let leaked = client.run(|flash| async move { flash }).await;
    assert!(matches!(leaked.info("too late"), Err(Error::Closed)));
    assert!(matches!(leaked.rebind(None).await, Err(Error::Closed)));
}

#[tokio::test]
async fn the_extractor_without_the_layer_is_a_clear_500() {
    let router: Router = Router::new().route("/", get(|_flash: Flash| async { "unreachable" }));
    let res = router
        .oneshot(Request::get("/").body(Body::empty()).unwrap())
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::INTERNAL_SERVER_ERROR);
    assert!(body_text(res).await.contains("FlashLayer"));
}

#[tokio::test]
async fn invalid_input_from_a_handler_is_a_400_with_the_reason() {
    async fn handler(flash: Flash) -> Result<&'static str, Error> {
        flash.push("not a kind!", "x")?;
        Ok("unreachable")
    }
    let router = Router::new()
        .route("/", get(handler))
        .layer(layer(MemoryStore::new()));
    let res = router
        .oneshot(Request::get("/").body(Body::empty()).unwrap())
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    assert!(body_text(res).await.contains("invalid message kind"));
}

#[tokio::test]
async fn the_flash_is_in_request_extensions_for_plain_tower_services() {
    let svc = tower::ServiceBuilder::new()
        .layer(layer(MemoryStore::new()))
        .service_fn(|req: Request<Body>| async move {
            let flash = req.extensions().get::<Flash>().cloned();
            let status = match flash.map(|f| f.info("from tower")) {
                Some(Ok(1)) => StatusCode::OK,
                _ => StatusCode::INTERNAL_SERVER_ERROR,
            };
            Ok::<_, std::convert::Infallible>(
                http::Response::builder()
                    .status(status)
                    .body(Body::empty())
                    .unwrap(),
            )
        });
    let res = svc
        .oneshot(Request::get("/").body(Body::empty()).unwrap())
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert!(res.headers().get(SET_COOKIE).is_some());
}

#[tokio::test]
async fn a_cookie_header_that_is_not_utf8_is_no_cookie() {
    let store = Counting::default();
    let router = Router::new()
        .route(
            "/",
            get(|flash: Flash| async move { flash.take_all().await.len().to_string() }),
        )
        .layer(layer(store.clone()));
    let mut req = Request::get("/").body(Body::empty()).unwrap();
    req.headers_mut().insert(
        COOKIE,
        http::HeaderValue::from_bytes(b"flash=\xff\xfe; x=1").unwrap(),
    );
    let res = router.oneshot(req).await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(body_text(res).await, "0");
    assert_eq!(store.calls(), 0);
}

#[tokio::test]
async fn other_cookies_are_ignored_and_untouched() {
    let store = Counting::default();
    let router = app(layer(store.clone()));
    let mut req = Request::get("/run").body(Body::empty()).unwrap();
    req.headers_mut()
        .insert(COOKIE, "session=abc; theme=dark".parse().unwrap());
    // No job attached: the route answers 500, but the layer must not touch the store.
    let res = router.oneshot(req).await.unwrap();
    assert!(res.headers().get(SET_COOKIE).is_none());
    assert_eq!(store.calls(), 0);
}

/// The negative control of the race cases: a read-then-delete store must fail them.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[should_panic(expected = "duplicates and losses")]
async fn regression_connect_flash_redis_non_atomic_read_is_caught_by_the_race_case() {
    contract::race_concurrent_takes_deliver_each_message_once(&ReadThenDelete::default()).await;
}

#[tokio::test]
async fn the_sender_applies_the_layers_limits_and_min_level() {
    let store = MemoryStore::new();
    let layer = layer(store.clone())
        .min_level(tower_flash::Level::Info)
        .max_messages(2);
    let sender = layer.sender();
    let id = ClientId::new("user:1").unwrap();
    let info = |t: &str| Message::new(tower_flash::Level::Info, t);
    assert!(matches!(
        sender.send(&id, info("")).await,
        Err(Error::EmptyText)
    ));
    assert!(matches!(
        sender
            .send_all(&id, [info("a"), info("b"), info("c")])
            .await,
        Err(Error::TooManyMessages { max: 2 })
    ));
    let below = sender
        .send(&id, Message::new(tower_flash::Level::Debug, "dropped"))
        .await
        .unwrap();
    assert_eq!(below, PushReceipt::default());
    assert!(
        store.peek(&id, now()).await.unwrap().is_empty(),
        "nothing stored so far"
    );
    let receipt = sender.send_all(&id, [info("a"), info("b")]).await.unwrap();
    assert_eq!(receipt.len, 2);
}

/// Signed-in requests use the user's queue; signed-out ones the browser's cookie queue. After
/// a logout, the next person on that browser sees none of the user's messages.
#[tokio::test]
async fn identify_keys_signed_in_requests_by_user_and_falls_back_to_the_cookie() {
    let layer = layer(MemoryStore::new()).identify(user_from_header);
    let router = app(layer);
    let browser = Client::new(&router);
    // Anonymous: cookie queue.
    browser
        .run(|flash| async move { flash.info("anonymous").unwrap() })
        .await;
    assert!(browser.cookie().is_some());
    // The same browser, signed in.
    let as_user = Client::new(&app_with_user(&router, "alice"));
    as_user.set_cookie(browser.cookie());
    let (_, res) = as_user
        .run_with_response(|flash| async move { flash.info("for alice").unwrap() })
        .await;
    assert!(
        res.headers().get(SET_COOKIE).is_none(),
        "user ids need no cookie"
    );
    // Signed out again: the browser sees its own queue, never alice's.
    assert_eq!(browser.take_texts().await, ["anonymous"]);
    assert!(browser.take_texts().await.is_empty());
    // Alice on another browser sees hers.
    let elsewhere = Client::new(&app_with_user(&router, "alice"));
    assert_eq!(elsewhere.take_texts().await, ["for alice"]);
}

/// "Your export is ready", pushed by a background task to a user id, is shown on the next
/// page of whichever of the user's devices asks first, once, and to nobody else.
#[tokio::test]
async fn a_background_task_reaches_the_user_on_whichever_device_asks_next() {
    let layer = layer(MemoryStore::new()).identify(user_from_header);
    let sender = layer.sender();
    let router = app(layer);
    let laptop = Client::new(&app_with_user(&router, "alice"));
    let phone = Client::new(&app_with_user(&router, "alice"));
    let bob = Client::new(&app_with_user(&router, "bob"));
    let anonymous = Client::new(&router);
    assert!(laptop.take_texts().await.is_empty());

    let export = tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(5)).await; // the export runs…
        let alice = ClientId::new("user:alice").unwrap();
        let ready = Message::new(tower_flash::Level::Success, "Your export is ready");
        sender.send(&alice, ready).await
    });
    let receipt = export.await.unwrap().unwrap();
    assert_eq!(receipt.len, 1);

    assert!(bob.take_texts().await.is_empty());
    assert!(anonymous.take_texts().await.is_empty());
    assert_eq!(phone.take_texts().await, ["Your export is ready"]);
    assert!(laptop.take_texts().await.is_empty(), "shown once");
}

/// A logout that rebinds to a fresh anonymous client: "Signed out" reaches the browser (with a
/// new flash cookie), the user's cleared queue stays empty, and no other device sees it.
#[tokio::test]
async fn rebinding_at_logout_speaks_to_the_browser_not_to_the_user() {
    let router = app(layer(MemoryStore::new()).identify(user_from_header));
    let as_alice = Client::new(&app_with_user(&router, "alice"));
    let browser = as_alice.with_app(&router).await; // the same browser, signed out
    as_alice
        .run(|flash| async move { flash.info("alice's report").unwrap() })
        .await;
    // The logout request is still alice's: it clears her queue, then rebinds.
    let (_, res) = as_alice
        .run_with_response(|flash| async move {
            flash.clear().await.unwrap();
            flash.rebind(None).await.unwrap();
            flash.info("Signed out").unwrap();
        })
        .await;
    assert!(
        res.headers().get(SET_COOKIE).is_some(),
        "a new flash cookie"
    );
    let phone = Client::new(&app_with_user(&router, "alice"));
    assert!(
        phone.take_texts().await.is_empty(),
        "cleared, and nothing new for alice"
    );
    assert_eq!(browser.take_texts().await, ["Signed out"]);
}

/// A login that rebinds to the user: the welcome reaches the user on any device, sets no
/// flash cookie, and what the browser had queued while anonymous stays the browser's.
#[tokio::test]
async fn rebinding_at_login_speaks_to_the_user_and_merges_nothing() {
    let router = app(layer(MemoryStore::new()).identify(user_from_header));
    let browser = Client::new(&router);
    browser
        .run(|flash| async move { flash.info("anonymous").unwrap() })
        .await;
    let (_, res) = browser
        .run_with_response(|flash| async move {
            flash
                .rebind(Some(ClientId::new("user:alice").unwrap()))
                .await
                .unwrap();
            flash.success("Welcome back").unwrap();
        })
        .await;
    assert!(
        res.headers().get(SET_COOKIE).is_none(),
        "user ids need no cookie"
    );
    let phone = Client::new(&app_with_user(&router, "alice"));
    assert_eq!(phone.take_texts().await, ["Welcome back"]);
    assert_eq!(browser.take_texts().await, ["anonymous"]);
}

/// What a request took and kept before a rebind goes back to the client it came from, in
/// front, and is never shown to the new one.
#[tokio::test]
async fn kept_messages_go_back_to_their_client_before_a_rebind() {
    let router = app(layer(MemoryStore::new()).identify(user_from_header));
    let as_alice = Client::new(&app_with_user(&router, "alice"));
    as_alice
        .run(|flash| async move { flash.push_all("info", ["one", "two"]).unwrap() })
        .await;
    let (_, res) = as_alice
        .run_with_response(|flash| async move {
            assert_eq!(flash.take_all().await.len(), 2);
            flash.keep();
            flash.rebind(None).await.unwrap();
            assert!(
                flash.take_all().await.is_empty(),
                "the new client has nothing"
            );
            flash.keep(); // nothing of alice's to keep any more
            flash.info("Signed out").unwrap();
        })
        .await;
    assert!(
        res.headers().get(SET_COOKIE).is_some(),
        "a new flash cookie"
    );
    assert_eq!(
        as_alice.with_app(&router).await.take_texts().await,
        ["Signed out"]
    );
    assert_eq!(as_alice.take_texts().await, ["one", "two"]);
}

/// A rebind that cannot write the kept messages back to their client fails and changes
/// nothing: the same client, the kept messages still kept.
#[tokio::test]
async fn a_rebind_that_cannot_put_kept_messages_back_changes_nothing() {
    let minting = Client::new(&app(layer(MemoryStore::new())));
    minting
        .run(|flash| async move { flash.info("mint a cookie").unwrap() })
        .await;
    // The same browser on an app whose store refuses every write (full).
    let full = minting
        .with_app(&app(layer(MemoryStore::with_max_bytes(16))))
        .await;
    full.run(|flash| async move {
        let before = flash.client_id();
        assert!(before.is_some());
        flash.info("mine").unwrap();
        assert_eq!(flash.take_all().await.len(), 1, "its own push");
        assert_eq!(flash.keep(), 1);
        let rebound = flash.rebind(None).await;
        assert!(
            matches!(rebound, Err(Error::Store(StoreError::Full(_)))),
            "{rebound:?}"
        );
        assert_eq!(flash.client_id(), before, "still the same client");
        assert_eq!(flash.discard(), 1, "still kept");
    })
    .await;
}

/// The router with an `x-user` header added to every request, as an auth layer would.
fn app_with_user(router: &Router, user: &'static str) -> Router {
    let router = router.clone();
    Router::new().fallback_service(tower::service_fn(move |mut req: Request<Body>| {
        req.headers_mut()
            .insert("x-user", http::HeaderValue::from_static(user));
        router.clone().oneshot(req)
    }))
}

#[tokio::test]
async fn cookie_name_and_domain_are_configurable() {
    let client = Client::new(&app(layer(MemoryStore::new())
        .cookie_name("app_flash")
        .cookie_domain("example.com")));
    let (_, res) = client
        .run_with_response(|flash| async move { flash.info("x").unwrap() })
        .await;
    let set = res.headers()[SET_COOKIE].to_str().unwrap();
    assert!(set.starts_with("app_flash="), "{set}");
    assert!(set.contains("; Domain=example.com"), "{set}");
    assert_eq!(client.take_texts().await, ["x"]);
}

#[test]
#[should_panic(expected = "invalid cookie domain")]
fn an_invalid_cookie_domain_is_refused_at_start_up() {
    let _ = layer(MemoryStore::new()).cookie_domain("evil.com; HttpOnly=0");
}

#[test]
#[should_panic(expected = "invalid cookie name")]
fn an_invalid_cookie_name_is_refused_at_start_up() {
    let _ = layer(MemoryStore::new()).cookie_name("fl ash");
}

#[tokio::test]
async fn the_json_endpoint_answers_messages_and_peek_does_not_consume() {
    let router = common::app_with(
        Router::new().route("/flash.json", get(tower_flash::messages_json)),
        layer(MemoryStore::new()),
    );
    let client = Client::new(&router);
    client
        .run(|flash| async move {
            flash.info("saved").unwrap();
            flash
                .push_message(
                    Message::new(tower_flash::Level::Error, "bad")
                        .with_data(serde_json::json!({"field": "email"})),
                )
                .unwrap();
        })
        .await;
    let json_at = |path: &'static str| {
        let client = client.clone();
        async move {
            let res = client
                .send(Request::get(path).body(Body::empty()).unwrap())
                .await;
            assert_eq!(res.status(), StatusCode::OK);
            assert_eq!(res.headers()["content-type"], "application/json");
            assert_eq!(res.headers()["cache-control"], "no-store");
            serde_json::from_str::<serde_json::Value>(&body_text(res).await).unwrap()
        }
    };
    let peeked = json_at("/flash.json?peek=1").await;
    let messages = peeked["messages"].as_array().unwrap();
    assert_eq!(messages.len(), 2);
    assert_eq!(messages[0]["kind"], "info");
    assert_eq!(messages[0]["text"], "saved");
    assert_eq!(messages[1]["data"]["field"], "email");
    for field in ["id", "kind", "text", "data", "created_at", "expires_at"] {
        assert!(
            messages[0].get(field).is_some(),
            "{field} is part of the stable shape"
        );
    }
    assert_eq!(json_at("/flash.json").await, peeked, "peek did not consume");
    assert_eq!(
        json_at("/flash.json").await,
        serde_json::json!({"messages": []})
    );
}

/// An htmx app: `/save` pushes and answers a fragment, `/fragment` reads nothing, `/list`
/// reads its messages itself, `/go` redirects.
fn htmx_app(delivery: tower_flash::HtmxDelivery) -> Router {
    htmx_app_on(MemoryStore::new(), delivery)
}

/// [`htmx_app`] on `store`.
fn htmx_app_on(store: MemoryStore, delivery: tower_flash::HtmxDelivery) -> Router {
    let routes = Router::new()
        .route(
            "/save",
            get(|flash: Flash| async move {
                flash.success("Saved").unwrap();
                ([("hx-trigger", "itemSaved")], "<li>item</li>")
            }),
        )
        .route("/fragment", get(|| async { "<p>fragment</p>" }))
        .route(
            "/list",
            get(|flash: Flash| async move { flash.take_all().await.texts().join(",") }),
        )
        .route("/go", get(|| async { axum::response::Redirect::to("/") }))
        .route(
            "/hx-redirect",
            get(|| async { ([("hx-redirect", "/next")], "") }),
        )
        .route(
            "/hx-location",
            get(|| async { ([("hx-location", r#"{"path":"/next"}"#)], "") }),
        )
        .route(
            "/hx-refresh",
            get(|| async { ([("hx-refresh", "true")], "") }),
        )
        .route(
            "/two-triggers",
            get(|| async {
                let mut headers = http::HeaderMap::new();
                headers.append("hx-trigger", "itemSaved, listChanged".parse().unwrap());
                headers.append("hx-trigger", r#"{"showModal":{"id":3}}"#.parse().unwrap());
                (headers, "<li>item</li>")
            }),
        )
        .route(
            "/utf8-trigger",
            get(|| async {
                let value = r#"{"greet":"Grüße ✓"}"#;
                let value = http::HeaderValue::from_bytes(value.as_bytes()).unwrap();
                ([("hx-trigger", value)], "<p>hi</p>")
            }),
        );
    common::app_with(routes, layer(store).deliver_to_htmx(delivery))
}

/// The one `HX-Trigger` of an htmx GET for `path`, as sent: its raw bytes.
async fn htmx_trigger_bytes(client: &Client, path: &str) -> Vec<u8> {
    let req = Request::get(path)
        .header("hx-request", "true")
        .body(Body::empty())
        .unwrap();
    let res = client.send(req).await;
    let values: Vec<_> = res.headers().get_all("hx-trigger").iter().collect();
    assert_eq!(values.len(), 1, "exactly one merged HX-Trigger: {values:?}");
    values[0].as_bytes().to_vec()
}

async fn htmx_get(client: &Client, path: &str) -> (StatusCode, Option<serde_json::Value>) {
    let req = Request::get(path)
        .header("hx-request", "true")
        .body(Body::empty())
        .unwrap();
    let res = client.send(req).await;
    let trigger = res
        .headers()
        .get("hx-trigger")
        .map(|v| serde_json::from_slice(v.as_bytes()).unwrap());
    (res.status(), trigger)
}

fn texts_in(trigger: &serde_json::Value) -> Vec<String> {
    trigger["flash"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["text"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn htmx_requests_get_their_messages_in_hx_trigger_once() {
    let client = Client::new(&htmx_app(tower_flash::HtmxDelivery::default()));
    // The request's own push arrives with it, merged with the handler's own trigger.
    let (_, trigger) = htmx_get(&client, "/save").await;
    let trigger = trigger.unwrap();
    assert_eq!(texts_in(&trigger), ["Saved"]);
    assert_eq!(trigger["itemSaved"], serde_json::Value::Null);
    assert_eq!(trigger["flash"][0]["kind"], "success");
    assert!(
        client.take_texts().await.is_empty(),
        "delivered once, not stored"
    );

    // Stored messages go to the next htmx request that does not read them itself.
    client
        .run(|flash| async move { flash.info("queued").unwrap() })
        .await;
    let (_, trigger) = htmx_get(&client, "/fragment").await;
    assert_eq!(texts_in(&trigger.unwrap()), ["queued"]);
    assert!(client.take_texts().await.is_empty());
}

#[tokio::test]
async fn htmx_delivery_leaves_other_requests_alone() {
    let client = Client::new(&htmx_app(tower_flash::HtmxDelivery::default()));
    client
        .run(|flash| async move { flash.info("a").unwrap() })
        .await;
    // Not an htmx request: nothing delivered in a header.
    let res = client
        .send(Request::get("/fragment").body(Body::empty()).unwrap())
        .await;
    assert!(res.headers().get("hx-trigger").is_none());
    // A redirect: nothing delivered, the message stays.
    let (status, trigger) = htmx_get(&client, "/go").await;
    assert!(status.is_redirection() && trigger.is_none());
    // A handler that reads its messages gets them itself, no header.
    let req = Request::get("/list")
        .header("hx-request", "true")
        .body(Body::empty())
        .unwrap();
    let res = client.send(req).await;
    assert!(res.headers().get("hx-trigger").is_none());
    assert_eq!(body_text(res).await, "a");
}

#[tokio::test]
async fn htmx_messages_that_do_not_fit_stay_queued_in_order() {
    let delivery = tower_flash::HtmxDelivery::default().max_header_bytes(800);
    let client = Client::new(&htmx_app(delivery));
    let sent: Vec<String> = (0..30).map(|i| format!("message {i:02}")).collect();
    let batch = sent.clone();
    client
        .run(move |flash| async move { flash.push_all("info", batch).unwrap() })
        .await;
    let mut received = Vec::new();
    for _ in 0..30 {
        let (_, trigger) = htmx_get(&client, "/fragment").await;
        let Some(trigger) = trigger else { break };
        let got = texts_in(&trigger);
        assert!(!got.is_empty());
        received.extend(got);
    }
    assert_eq!(
        received, sent,
        "every message once, in order, over several requests"
    );
}

/// Browsers decode header bytes as ISO-8859-1: UTF-8 text in `HX-Trigger` arrived as
/// mojibake. Escaped as JSON `\uXXXX`, the header is ASCII and `JSON.parse` gives the text.
#[tokio::test]
async fn regression_htmx_trigger_is_ascii_and_round_trips_non_ascii_text() {
    let client = Client::new(&htmx_app(tower_flash::HtmxDelivery::default()));
    let text = "Café ✓ Привет 🎉 \u{7f}";
    client
        .run(move |flash| async move { flash.info(text).unwrap() })
        .await;
    let bytes = htmx_trigger_bytes(&client, "/fragment").await;
    assert!(
        bytes.iter().all(|b| (0x20..0x7f).contains(b)),
        "not printable ASCII: {}",
        String::from_utf8_lossy(&bytes)
    );
    let trigger: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
    assert_eq!(texts_in(&trigger), [text]);
}

/// Only the first of several `HX-Trigger` headers set by the handler was merged, and the
/// others were replaced.
#[tokio::test]
async fn regression_htmx_delivery_keeps_every_hx_trigger_the_handler_set() {
    let client = Client::new(&htmx_app(tower_flash::HtmxDelivery::default()));
    client
        .run(|flash| async move { flash.info("queued").unwrap() })
        .await;
    let bytes = htmx_trigger_bytes(&client, "/two-triggers").await;
    let trigger: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
    assert_eq!(texts_in(&trigger), ["queued"]);
    assert_eq!(trigger["itemSaved"], serde_json::Value::Null);
    assert_eq!(trigger["listChanged"], serde_json::Value::Null);
    assert_eq!(trigger["showModal"]["id"], 3);
}

/// A handler's own UTF-8 `HX-Trigger` failed `to_str()` and was dropped.
#[tokio::test]
async fn regression_htmx_delivery_keeps_a_non_ascii_handler_trigger() {
    let client = Client::new(&htmx_app(tower_flash::HtmxDelivery::default()));
    client
        .run(|flash| async move { flash.info("queued").unwrap() })
        .await;
    let bytes = htmx_trigger_bytes(&client, "/utf8-trigger").await;
    assert!(bytes.is_ascii());
    let trigger: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
    assert_eq!(texts_in(&trigger), ["queued"]);
    assert_eq!(trigger["greet"], "Grüße ✓");
}

/// A response that makes htmx leave the page (`HX-Redirect`, `HX-Location`, `HX-Refresh`)
/// spent the messages in its `HX-Trigger`, and the page that showed them was replaced.
#[tokio::test]
async fn regression_htmx_navigation_leaves_messages_for_the_next_page() {
    let client = Client::new(&htmx_app(tower_flash::HtmxDelivery::default()));
    let mut spent = Vec::new();
    for path in ["/hx-redirect", "/hx-location", "/hx-refresh"] {
        client
            .run(|flash| async move { flash.info("for the next page").unwrap() })
            .await;
        let (status, trigger) = htmx_get(&client, path).await;
        assert_eq!(status, StatusCode::OK);
        let next_page = client.take_texts().await;
        if trigger.is_some() || next_page != ["for the next page"] {
            spent.push(path);
        }
    }
    assert!(spent.is_empty(), "spent on {spent:?}");
}

/// A message that cannot fit the `HX-Trigger` header even alone is refused when pushed with
/// htmx delivery on: before, a text within `max_message_bytes` but too large once wrapped
/// was queued, and then blocked every later message from htmx delivery.
#[tokio::test]
async fn regression_a_message_too_large_for_htmx_is_refused_when_pushed() {
    let store = MemoryStore::new();
    let htmx_layer = layer(store.clone()).deliver_to_htmx(tower_flash::HtmxDelivery::default());
    let client = Client::new(&common::app(htmx_layer.clone()));
    let big = "x".repeat(4000);
    let refused = client
        .run(move |flash| async move {
            flash.info("before").unwrap();
            let refused = flash.info(big);
            let queued = flash.peek().await.texts().join(",");
            (refused, queued)
        })
        .await;
    assert!(
        matches!(refused.0, Err(Error::TooLargeForHtmx { max: 4096, .. })),
        "{:?}",
        refused.0
    );
    assert_eq!(refused.1, "before", "nothing queued by the refused push");
    let id = ClientId::new("user:1").unwrap();
    let sent = htmx_layer
        .sender()
        .send(
            &id,
            Message::new(tower_flash::Level::Info, "y".repeat(4000)),
        )
        .await;
    assert!(
        matches!(sent, Err(Error::TooLargeForHtmx { .. })),
        "{sent:?}"
    );
    assert!(
        store.peek(&id, now()).await.unwrap().is_empty(),
        "store unchanged"
    );
    assert_eq!(client.take_texts().await, ["before"]);
}

/// A stored message that cannot fit the header even alone (pushed before htmx delivery was
/// on) held back every later message forever, each htmx request taking and restoring the
/// queue. It is now skipped: it waits for a full-page read, in order, and the others arrive.
#[tokio::test]
async fn regression_an_oversized_stored_message_never_blocks_htmx_delivery() {
    let store = MemoryStore::new();
    let plain = Client::new(&common::app(layer(store.clone())));
    let delivery = tower_flash::HtmxDelivery::default().max_header_bytes(800);
    let htmx = plain.with_app(&htmx_app_on(store, delivery)).await;
    let big = |c: &str| c.repeat(1000);
    let sent = [
        "small 1".to_owned(),
        big("a"),
        "small 2".to_owned(),
        big("b"),
        "small 3".to_owned(),
    ];
    let batch = sent.clone();
    plain
        .run(move |flash| async move { flash.push_all("info", batch).unwrap() })
        .await;
    let (_, trigger) = htmx_get(&htmx, "/fragment").await;
    let delivered = trigger.map(|t| texts_in(&t)).unwrap_or_default();
    assert_eq!(delivered, ["small 1", "small 2", "small 3"]);
    let (_, trigger) = htmx_get(&htmx, "/fragment").await;
    assert!(trigger.is_none(), "nothing twice");
    assert_eq!(plain.take_texts().await, [big("a"), big("b")]);
    assert!(plain.take_texts().await.is_empty(), "nothing twice");
}

/// Browsers prefetch and prerender pages the user may never open: such requests took the
/// messages, and the real navigation afterwards found none.
#[tokio::test]
async fn regression_prefetch_and_prerender_requests_never_consume_messages() {
    let page = || {
        Router::new().route(
            "/page",
            get(|flash: Flash| async move { flash.take_all().await.texts().join(",") }),
        )
    };
    let layers = [
        layer(MemoryStore::new()),
        layer(MemoryStore::new()).confirm_delivery(),
    ];
    let purposes = [
        ("sec-purpose", "prefetch"),
        ("sec-purpose", "prefetch;prerender"),
        ("purpose", "prefetch"),
        ("x-purpose", "preview"),
        ("x-sec-purpose", "prefetch"),
        ("x-moz", "prefetch"),
    ];
    let get_page = |client: Client, purpose: Option<(&'static str, &'static str)>| async move {
        let mut req = Request::get("/page");
        if let Some((name, value)) = purpose {
            req = req.header(name, value);
        }
        body_text(client.send(req.body(Body::empty()).unwrap()).await).await
    };
    let mut consumed = Vec::new();
    for layer in layers {
        let client = Client::new(&common::app_with(page(), layer));
        for purpose in purposes {
            client
                .run(|flash| async move { flash.info("hello").unwrap() })
                .await;
            let seen = [
                get_page(client.clone(), Some(purpose)).await,
                get_page(client.clone(), Some(purpose)).await,
                get_page(client.clone(), None).await,
                get_page(client.clone(), None).await,
            ];
            if seen != ["hello", "hello", "hello", ""] {
                consumed.push((purpose, seen));
            }
        }
        // What a prefetch pushes and takes itself is still written.
        let req = Request::get("/run")
            .header("sec-purpose", "prefetch")
            .body(Body::empty())
            .unwrap();
        let res = client
            .send(common::with_job(req, |flash| async move {
                flash.info("own").unwrap();
                let taken = flash.take("info").await.texts().join(",");
                axum::response::IntoResponse::into_response(taken)
            }))
            .await;
        let own = [body_text(res).await, get_page(client.clone(), None).await];
        if own != ["own", "own"] {
            consumed.push((
                ("own push", "sec-purpose: prefetch"),
                [own[0].clone(), own[1].clone(), String::new(), String::new()],
            ));
        }
    }
    assert!(consumed.is_empty(), "consumed by {consumed:?}");
}

/// Issue 11, defect 6: `OnStoreError::Fail` is about the request's own writes. Reads that
/// fail at the end of a request (htmx delivery, carrying scoped messages on) degrade; they
/// used to turn the response into a 500.
#[tokio::test]
async fn regression_failed_reads_at_the_end_of_a_request_are_no_500_under_fail() {
    let client = Client::new(&app(layer(MemoryStore::new())));
    client
        .run(|flash| async move { flash.info("pending").unwrap() })
        .await;
    let broken = client
        .with_app(&app(layer(Down)
            .on_store_error(OnStoreError::Fail)
            .scope_to_redirects()
            .deliver_to_htmx(tower_flash::HtmxDelivery::default())))
        .await;

    let req = Request::get("/fragment")
        .header("hx-request", "true")
        .body(Body::empty())
        .unwrap();
    let res = broken
        .send(common::with_job(req, |_flash| async {
            "<p>fragment</p>".into_response()
        }))
        .await;
    assert_eq!(
        res.status(),
        StatusCode::OK,
        "htmx delivery that cannot read"
    );

    let res = broken
        .respond_at("/save", |_flash| async {
            axum::response::Redirect::to("/done").into_response()
        })
        .await;
    assert_eq!(
        res.status(),
        StatusCode::SEE_OTHER,
        "a redirect that cannot carry scoped messages on"
    );

    // Its own write failing is still a 500.
    let (_, res) = broken
        .run_with_response(|flash| async move { flash.info("x").unwrap() })
        .await;
    assert_eq!(res.status(), StatusCode::INTERNAL_SERVER_ERROR);
}

/// Issue 11, C: a response that showed messages must not be kept by a shared cache and
/// served to someone else; the handler's own `Cache-Control` wins.
#[tokio::test]
async fn responses_that_show_messages_are_not_cacheable() {
    for via in [common::Via::Oneshot, common::Via::Http] {
        let client = Client::via(via, &app(layer(MemoryStore::new()))).await;
        let cache_control = |res: &http::Response<Body>| {
            res.headers()
                .get(http::header::CACHE_CONTROL)
                .map(|v| v.to_str().unwrap().to_owned())
        };

        let (_, res) = client
            .run_with_response(|flash| async move { flash.take_all().await.len() })
            .await;
        assert_eq!(cache_control(&res), None, "{via:?}: nothing shown");

        client
            .run(|flash| async move { flash.info("secret").unwrap() })
            .await;
        let (_, res) = client
            .run_with_response(|flash| async move { flash.take_all().await.len() })
            .await;
        assert_eq!(
            cache_control(&res).as_deref(),
            Some("no-store"),
            "{via:?}: take"
        );

        client
            .run(|flash| async move { flash.info("secret").unwrap() })
            .await;
        let (_, res) = client
            .run_with_response(|flash| async move { flash.peek().await.len() })
            .await;
        assert_eq!(
            cache_control(&res).as_deref(),
            Some("no-store"),
            "{via:?}: peek"
        );

        let res = client
            .respond_at("/read", |flash| async move {
                flash.take_all().await;
                (
                    [(http::header::CACHE_CONTROL, "private, max-age=5")],
                    "page",
                )
                    .into_response()
            })
            .await;
        assert_eq!(
            cache_control(&res).as_deref(),
            Some("private, max-age=5"),
            "{via:?}: the handler's own"
        );
    }
}

/// Issue 11: the memory store's byte bound, filled by visitors without a cookie whose
/// requests push, must not lock everyone else out: the clients expiring soonest make room.
#[tokio::test]
async fn a_flood_of_cookieless_writers_cannot_lock_others_out_of_the_memory_store() {
    let store = MemoryStore::with_max_bytes(64 * 1024);
    let router = app(layer(store.clone()));
    for i in 0..400 {
        let visitor = Client::new(&router);
        visitor
            .run(move |flash| async move {
                flash
                    .info(format!("failed login {i:03} {}", "x".repeat(200)))
                    .unwrap()
            })
            .await;
        assert!(
            visitor.cookie().is_some(),
            "visitor {i}: its write was stored"
        );
    }
    assert!(store.bytes() <= 64 * 1024);
    let someone = Client::new(&router);
    someone
        .run(|flash| async move { flash.success("Saved").unwrap() })
        .await;
    assert_eq!(someone.take_texts().await, ["Saved"]);
}

/// A page that showed messages must not be stored by a cache and shown again (to this
/// user after the messages are gone, or to another user behind a shared cache): a
/// response whose request took messages carries `Cache-Control: no-store`, unless the
/// handler chose its own; a response that delivered nothing is left alone.
#[tokio::test]
async fn responses_that_delivered_messages_are_not_stored_by_caches() {
    let routes = Router::new()
        .route(
            "/page",
            get(|flash: Flash| async move { flash.take_all().await.texts().join(",") }),
        )
        .route(
            "/own",
            get(|flash: Flash| async move {
                let texts = flash.take_all().await.texts().join(",");
                ([(http::header::CACHE_CONTROL, "private, max-age=5")], texts)
            }),
        );
    let client = Client::new(&common::app_with(routes, layer(MemoryStore::new())));
    let get_page = |path: &'static str| {
        let client = client.clone();
        async move {
            let res = client
                .send(Request::get(path).body(Body::empty()).unwrap())
                .await;
            let cache = res
                .headers()
                .get(http::header::CACHE_CONTROL)
                .map(|v| v.to_str().unwrap().to_owned());
            (body_text(res).await, cache)
        }
    };
    client
        .run(|flash| async move { flash.info("hello").unwrap() })
        .await;
    assert_eq!(
        get_page("/page").await,
        ("hello".to_owned(), Some("no-store".to_owned()))
    );
    assert_eq!(
        get_page("/page").await,
        (String::new(), None),
        "nothing delivered"
    );
    client
        .run(|flash| async move { flash.info("again").unwrap() })
        .await;
    assert_eq!(
        get_page("/own").await,
        ("again".to_owned(), Some("private, max-age=5".to_owned())),
        "the handler's own Cache-Control is kept"
    );
}

/// A browser that goes away before reading the body gives the request's leased messages back
/// at once, even while the handler's `Flash` lives on in a task it spawned. The response body
/// used to hold the handle itself, so the give-back waited for the last clone: here 10 s,
/// in an app perhaps the lease timeout.
#[tokio::test]
async fn regression_a_dropped_body_gives_back_while_a_spawned_task_holds_the_flash() {
    let client = Client::new(&app(layer(MemoryStore::new()).confirm_delivery()));
    client
        .run(|flash| async move { flash.info("hello").unwrap() })
        .await;
    let (done, finished) = tokio::sync::oneshot::channel::<()>();
    let req = common::with_job(
        Request::get("/page").body(Body::empty()).unwrap(),
        move |flash: Flash| async move {
            assert_eq!(flash.take_all().await.texts(), ["hello"]);
            let held = flash.clone();
            tokio::spawn(async move {
                // Some background work of the handler's that keeps its handle.
                let _ = finished.await;
                drop(held);
            });
            "page".into_response()
        },
    );
    let head = client.send_and_hang_up(req).await;
    assert_eq!(head.status, StatusCode::OK);
    let started = std::time::Instant::now();
    let mut back = Vec::new();
    while back.is_empty() && started.elapsed() < Duration::from_secs(10) {
        tokio::time::sleep(Duration::from_millis(10)).await;
        back = client.take_texts().await;
    }
    assert_eq!(back, ["hello"], "given back while the handle lives on");
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "given back only after {:?}",
        started.elapsed()
    );
    drop(done);
}
