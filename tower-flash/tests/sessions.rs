//! Identity from tower-sessions (`FlashLayer::identify_by_session`) through a real axum
//! `Router` behind tower-sessions' `SessionManagerLayer`: messages follow the session across
//! its id rotation on login, a logout's flush leaves the next person on the browser an empty
//! queue, and concurrent sessions never see each other's messages.

#![cfg(feature = "tower-sessions")]
#![allow(clippy::unwrap_used, clippy::expect_used)]

use tower_flash_testkit::harness as common;

use axum::Router;
use axum::body::Body;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use http::header::{LOCATION, SET_COOKIE};
use http::{Request, StatusCode};
use tower_flash::store::Store;
use tower_flash::{ClientId, Error, Flash, FlashLayer, MemoryStore, OnStoreError, SESSION_KEY};
use tower_sessions::session::{Id, Record};
use tower_sessions::session_store::{self, SessionStore};
use tower_sessions::{MemoryStore as SessionMemoryStore, Session, SessionManagerLayer};

use common::{Client, Counting, app_with, body_text, key, now, user_from_header, with_job};

/// The app's own routes: the ones that touch the session as an authentication system would.
fn routes() -> Router {
    Router::new()
        .route("/account", get(account))
        .route("/login", post(login))
        .route("/logout", post(logout))
        .route("/logout-and-clear", post(logout_and_clear))
        .route("/flash-id", get(flash_id))
        .route("/texts", get(texts))
}

/// A page that needs a signed-in user: flashes and redirects to the login form.
async fn account(flash: Flash) -> Result<Redirect, Error> {
    flash.warning("Please sign in")?;
    Ok(Redirect::to("/login"))
}

/// Signs in: a new session id against session fixation, as tower-sessions advises.
async fn login(session: Session) -> Response {
    session.cycle_id().await.unwrap();
    session.insert("user", "alice").await.unwrap();
    Redirect::to("/").into_response()
}

/// Signs out, then says so. It looks at the pending messages first, as a layout showing
/// their count would: the handle must not keep using the id it read then.
async fn logout(session: Session, flash: Flash) -> Result<Redirect, Error> {
    assert_eq!(flash.peek().await.len(), 1);
    session.flush().await.unwrap();
    flash.info("Signed out")?;
    Ok(Redirect::to("/"))
}

/// Signs out after deleting the user's pending messages at once.
async fn logout_and_clear(session: Session, flash: Flash) -> Result<Redirect, Error> {
    flash.clear().await?;
    session.flush().await.unwrap();
    Ok(Redirect::to("/"))
}

/// What the session holds under `SESSION_KEY`.
async fn flash_id(session: Session) -> String {
    session
        .get::<String>(SESSION_KEY)
        .await
        .unwrap()
        .unwrap_or_default()
}

/// Takes every message and answers their texts, comma-separated.
async fn texts(flash: Flash) -> String {
    let texts: Vec<String> = flash
        .take_all()
        .await
        .into_iter()
        .map(|m| m.into_text())
        .collect();
    texts.join(",")
}

/// The test app keyed by session: the flash layer inside tower-sessions' layer.
fn session_app(layer: FlashLayer) -> Router {
    app_with(routes(), layer.identify_by_session())
        .layer(SessionManagerLayer::new(SessionMemoryStore::default()).with_secure(false))
}

fn flash_layer(store: impl Store) -> FlashLayer {
    FlashLayer::new(store, key()).secure(false)
}

/// The names of the cookies a response sets.
fn set_cookie_names(res: &http::Response<Body>) -> Vec<String> {
    res.headers()
        .get_all(SET_COOKIE)
        .iter()
        .map(|v| v.to_str().unwrap().split('=').next().unwrap().to_owned())
        .collect()
}

/// Pushes `text` in a request that writes it at once, and returns the client's flash id.
async fn push_and_save(browser: &Client, text: &'static str) -> ClientId {
    browser
        .run(move |flash| async move {
            flash.info(text).unwrap();
            flash.save().await.unwrap();
            flash.client_id().unwrap()
        })
        .await
}

async fn send(client: &Client, method: &str, path: &str) -> http::Response<Body> {
    let req = Request::builder()
        .method(method)
        .uri(path)
        .body(Body::empty())
        .unwrap();
    client.send(req).await
}

#[tokio::test]
async fn messages_survive_the_session_id_rotation_on_login_and_set_no_flash_cookie() {
    let router = session_app(flash_layer(MemoryStore::new()));
    let browser = Client::new(&router);

    let res = send(&browser, "GET", "/account").await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(res.headers()[LOCATION], "/login");
    assert_eq!(
        set_cookie_names(&res),
        ["id"],
        "the session cookie, and no flash cookie"
    );
    let before_login = browser.cookie().unwrap();

    let res = send(&browser, "POST", "/login").await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let after_login = browser.cookie().unwrap();
    assert_ne!(
        before_login, after_login,
        "the login rotated the session id"
    );

    // Someone holding the pre-login session id (session fixation) gets nothing.
    let fixated = Client::new(&router);
    fixated.set_cookie(Some(before_login));
    assert!(fixated.take_texts().await.is_empty());

    assert_eq!(browser.take_texts().await, ["Please sign in"]);
    assert!(
        browser.take_texts().await.is_empty(),
        "delivered once, and consumed"
    );
}

#[tokio::test]
async fn after_a_logout_the_next_person_on_the_browser_sees_only_what_followed_it() {
    let store = MemoryStore::new();
    let router = session_app(flash_layer(store.clone()));
    let browser = Client::new(&router);
    send(&browser, "POST", "/login").await;
    let alice = push_and_save(&browser, "Alice's invoice is ready").await;

    let res = send(&browser, "POST", "/logout").await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    // The next person on this browser: only the message pushed after the flush.
    assert_eq!(browser.take_texts().await, ["Signed out"]);
    assert!(browser.take_texts().await.is_empty());
    // Alice's message was not moved or deleted by a plain flush: it waits, unreachable from
    // this browser, until its time to live ends.
    let pending = store.peek(&alice, now()).await.unwrap();
    assert_eq!(pending.len(), 1);
    assert_eq!(pending[0].text(), "Alice's invoice is ready");
}

#[tokio::test]
async fn clearing_before_the_flush_deletes_the_users_messages_at_once() {
    let store = MemoryStore::new();
    let router = session_app(flash_layer(store.clone()));
    let browser = Client::new(&router);
    let alice = push_and_save(&browser, "secret").await;
    assert_eq!(store.peek(&alice, now()).await.unwrap().len(), 1);

    send(&browser, "POST", "/logout-and-clear").await;
    assert!(store.peek(&alice, now()).await.unwrap().is_empty());
    assert!(browser.take_texts().await.is_empty());
}

#[tokio::test]
async fn a_visitor_without_a_flash_id_costs_no_store_call_and_gets_no_cookie() {
    let store = Counting::default();
    let router = session_app(flash_layer(store.clone()));
    let browser = Client::new(&router);
    let res = browser
        .respond_at("/", |flash| async move {
            assert!(flash.take_all().await.is_empty());
            assert!(flash.peek().await.is_empty());
            StatusCode::OK.into_response()
        })
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    assert!(
        set_cookie_names(&res).is_empty(),
        "no session was created for a read"
    );
    assert_eq!(store.calls(), 0);
    // A session without a flash id (signed in, never flashed) costs none either.
    send(&browser, "POST", "/login").await;
    assert!(browser.cookie().is_some());
    assert!(browser.take_texts().await.is_empty());
    assert_eq!(store.calls(), 0);
}

/// The session's data holds the flash id under `SESSION_KEY`, readable by the app.
#[tokio::test]
async fn the_flash_id_is_kept_in_the_session_under_the_documented_key() {
    let router = session_app(flash_layer(MemoryStore::new()));
    let browser = Client::new(&router);
    let id = push_and_save(&browser, "hello").await;
    let res = send(&browser, "GET", "/flash-id").await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(body_text(res).await, id.as_str());
}

/// Many browsers racing through login, flash and read: every message reaches its own
/// browser exactly once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_sessions_never_see_each_others_messages() {
    const BROWSERS: usize = 24;
    const ROUNDS: usize = 10;
    let router = session_app(flash_layer(MemoryStore::new()));
    let mut tasks = Vec::new();
    for b in 0..BROWSERS {
        let browser = Client::new(&router);
        tasks.push(tokio::spawn(async move {
            send(&browser, "POST", "/login").await;
            let mut seen = Vec::new();
            for r in 0..ROUNDS {
                let text = format!("{b}:{r}");
                browser
                    .run(move |flash| async move { flash.info(text).unwrap() })
                    .await;
                seen.extend(browser.take_texts().await);
            }
            (b, seen)
        }));
    }
    let (mut lost, mut foreign) = (0, 0);
    for task in tasks {
        let (b, seen) = task.await.unwrap();
        let expected: Vec<String> = (0..ROUNDS).map(|r| format!("{b}:{r}")).collect();
        foreign += seen
            .iter()
            .filter(|t| !t.starts_with(&format!("{b}:")))
            .count();
        lost += expected.iter().filter(|t| !seen.contains(t)).count();
        assert_eq!(seen.len(), ROUNDS, "browser {b} saw {seen:?}");
    }
    assert_eq!((lost, foreign), (0, 0));
}

/// Redirect scoping and delivery confirmation work the same when keyed by session: the
/// finishing steps read the session's id before their store calls.
#[tokio::test]
async fn scoping_and_confirmation_read_the_session_id_when_finishing() {
    let layer = flash_layer(MemoryStore::new())
        .scope_to_redirects()
        .confirm_delivery();
    let router = session_app(layer);
    let browser = Client::new(&router);
    send(&browser, "POST", "/login").await;
    // Bound to /a; /a redirects on to /b without reading: carried on to /b.
    browser
        .respond_at("/save", |flash| async move {
            flash.success("Saved").unwrap();
            Redirect::to("/a").into_response()
        })
        .await;
    browser
        .respond_at(
            "/a",
            |_flash| async move { Redirect::to("/b").into_response() },
        )
        .await;
    assert!(browser.take_texts_at("/a").await.is_empty());
    assert!(browser.take_texts_at("/elsewhere").await.is_empty());
    // /b fails after taking: the message comes back, then a good read consumes it.
    let res = browser
        .respond_at("/b", |flash| async move {
            assert_eq!(flash.take_all().await.len(), 1);
            StatusCode::INTERNAL_SERVER_ERROR.into_response()
        })
        .await;
    assert_eq!(res.status(), StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(browser.take_texts_at("/b").await, ["Saved"]);
    assert!(browser.take_texts_at("/b").await.is_empty());
}

#[tokio::test]
async fn without_the_session_layer_takes_and_writes_report_the_wiring_mistake() {
    let router = app_with(
        Router::new(),
        flash_layer(MemoryStore::new()).identify_by_session(),
    );
    let browser = Client::new(&router);
    let (take, save) = browser
        .run(|flash| async move {
            let take = flash.try_take_all().await;
            flash.info("lost").unwrap();
            (take, flash.save().await)
        })
        .await;
    assert!(matches!(take, Err(Error::NoSession)), "{take:?}");
    assert!(matches!(save, Err(Error::NoSession)), "{save:?}");
    assert!(
        Error::NoSession.to_string().contains("SessionManagerLayer"),
        "the error names the fix"
    );
}

/// A session store whose backend is down.
#[derive(Clone, Debug)]
struct SessionsDown;

#[async_trait::async_trait]
impl SessionStore for SessionsDown {
    async fn save(&self, _: &Record) -> session_store::Result<()> {
        Err(session_store::Error::Backend("sessions are down".into()))
    }
    async fn load(&self, _: &Id) -> session_store::Result<Option<Record>> {
        Err(session_store::Error::Backend("sessions are down".into()))
    }
    async fn delete(&self, _: &Id) -> session_store::Result<()> {
        Err(session_store::Error::Backend("sessions are down".into()))
    }
}

/// With the session store down, reads degrade to no messages (the `try_` variants report
/// `Error::Session`) and a write is reported like a flash store failure: logged, or a 500
/// under `OnStoreError::Fail`.
#[tokio::test]
async fn a_failing_session_store_degrades_reads_and_reports_writes() {
    for (policy, status) in [
        (OnStoreError::Log, StatusCode::OK),
        (OnStoreError::Fail, StatusCode::INTERNAL_SERVER_ERROR),
    ] {
        let layer = flash_layer(MemoryStore::new())
            .identify_by_session()
            .on_store_error(policy);
        let router = app_with(Router::new(), layer).layer(SessionManagerLayer::new(SessionsDown));
        let browser = Client::new(&router);
        browser.set_cookie(Some(format!("id={}", Id::default())));
        let res = browser
            .respond_at("/", |flash| async move {
                assert!(flash.take_all().await.is_empty());
                assert!(flash.peek().await.is_empty());
                let taken = flash.try_take_all().await;
                assert!(matches!(taken, Err(Error::Session(_))), "{taken:?}");
                flash.info("not stored").unwrap();
                StatusCode::OK.into_response()
            })
            .await;
        assert_eq!(res.status(), status, "{policy:?}");
    }
}

/// An `identify` id (a signed-in user) wins over the session; requests without one use the
/// session. Neither sees the other's messages.
#[tokio::test]
async fn an_identified_user_wins_over_the_session_and_the_queues_stay_apart() {
    let layer = flash_layer(MemoryStore::new()).identify(user_from_header);
    let router = session_app(layer);
    let as_alice = |path: &str| {
        Request::get(path)
            .header("x-user", "alice")
            .body(Body::empty())
            .unwrap()
    };
    let browser = Client::new(&router);
    let session_id = push_and_save(&browser, "for the session").await;
    // Alice, signed in on this browser: her pushes go to her queue; the session keeps its id.
    let res = browser.send(as_alice("/account")).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let res = browser.send(as_alice("/flash-id")).await;
    assert_eq!(body_text(res).await, session_id.as_str());
    // Signed out, the browser's session sees its own message only.
    assert_eq!(browser.take_texts().await, ["for the session"]);
    // Alice on another device sees hers.
    let phone = Client::new(&router);
    let res = phone.send(as_alice("/texts")).await;
    assert_eq!(body_text(res).await, "Please sign in");
}

/// With a user id winning over the session, a logout's `rebind(None)` goes back to the
/// session: "Signed out" reaches the browser's session queue, and no flash cookie is set.
#[tokio::test]
async fn rebinding_to_anonymous_goes_back_to_the_session() {
    let router = session_app(flash_layer(MemoryStore::new()).identify(user_from_header));
    let browser = Client::new(&router);
    let session_id = push_and_save(&browser, "before").await;
    let logout = Request::get("/")
        .header("x-user", "alice")
        .body(Body::empty())
        .unwrap();
    let logout = with_job(logout, |flash| async move {
        flash.rebind(None).await.unwrap();
        flash.info("Signed out").unwrap();
        StatusCode::OK.into_response()
    });
    let res = browser.send(logout).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert!(
        set_cookie_names(&res).is_empty(),
        "{:?}",
        set_cookie_names(&res)
    );
    assert_eq!(browser.take_texts().await, ["before", "Signed out"]);
    let res = send(&browser, "GET", "/flash-id").await;
    assert_eq!(body_text(res).await, session_id.as_str());
}
