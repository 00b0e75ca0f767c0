//! The store contract: every store runs these cases unchanged, through real requests where
//! the case is about the handle and through the `Store` API where it is about the store.
//!
//! A store's test file does:
//!
//! ```ignore
//! use tower_flash_testkit::store_contract_tests;
//! store_contract_tests!(async { MemoryStore::new() });
//! ```
//!
//! where the expression is a future of a [`Fixture`]: the store plus whatever must live as
//! long as the test (a Redis server, say).

#![allow(dead_code, unreachable_pub, clippy::unwrap_used, clippy::expect_used)]

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use tower_flash::store::Take;
use tower_flash::store::{LeaseStore, PushOptions, ScopeStore, Store};
use tower_flash::{ClientId, Error, FlashLayer, Kind, Level, MemoryStore, Message};

use crate::harness::{Calls, Client, Frontend, TestApp, Via, key, now};

mod delivery;
mod edges;
#[allow(unused_imports)] // the layer tests use only the fixture trait
pub use delivery::*;
#[allow(unused_imports)]
pub use edges::*;

/// What a store's test provides: the store, kept alive with whatever it needs.
pub trait Fixture: Send + Sync + 'static {
    /// The store under test, with both capabilities (delivery confirmation and redirect
    /// scoping); clones share the same data.
    type Store: Store + LeaseStore + ScopeStore + Clone;
    /// A handle on the store.
    fn store(&self) -> Self::Store;
    /// How the cases' clients reach the app: in process unless wrapped in [`OverHttp`].
    fn via(&self) -> Via {
        Via::Oneshot
    }
    /// The framework that serves the app under [`Via::Framework`] ([`OnFramework`]).
    fn frontend(&self) -> Option<Arc<dyn Frontend>> {
        None
    }
}

/// A fixture whose request-level cases run through a real listener and a real HTTP client.
pub struct OverHttp<F>(pub F);

impl<F: Fixture> OverHttp<F> {
    pub async fn wrap(fixture: impl std::future::Future<Output = F>) -> Self {
        OverHttp(fixture.await)
    }
}

impl<F: Fixture> Fixture for OverHttp<F> {
    type Store = F::Store;
    fn store(&self) -> F::Store {
        self.0.store()
    }
    fn via(&self) -> Via {
        Via::Http
    }
}

/// A fixture whose request-level cases run on another framework: its real server, through
/// its adapter, serves the app ([`Frontend`]), and a real HTTP client talks to it.
pub struct OnFramework<F> {
    fixture: F,
    frontend: Arc<dyn Frontend>,
}

impl<F: Fixture> OnFramework<F> {
    pub async fn wrap(
        frontend: impl Frontend,
        fixture: impl std::future::Future<Output = F>,
    ) -> Self {
        OnFramework {
            fixture: fixture.await,
            frontend: Arc::new(frontend),
        }
    }
}

impl<F: Fixture> Fixture for OnFramework<F> {
    type Store = F::Store;
    fn store(&self) -> F::Store {
        self.fixture.store()
    }
    fn via(&self) -> Via {
        Via::Framework
    }
    fn frontend(&self) -> Option<Arc<dyn Frontend>> {
        Some(self.frontend.clone())
    }
}

/// A browser for `app`, reaching it the way the fixture says.
pub async fn browser<F: Fixture>(fx: &F, app: &TestApp) -> Client {
    Client::for_test_app(fx.via(), fx.frontend(), app).await
}

/// A browser for `app` that always crosses a real connection: through the fixture's
/// framework, or else a real axum listener (for cases about what a server does with a
/// response, even in the in-process run).
pub async fn browser_over_a_connection<F: Fixture>(fx: &F, app: &TestApp) -> Client {
    let via = match fx.via() {
        Via::Oneshot => Via::Http,
        via => via,
    };
    Client::for_test_app(via, fx.frontend(), app).await
}

impl Fixture for MemoryStore {
    type Store = MemoryStore;
    fn store(&self) -> MemoryStore {
        self.clone()
    }
}

/// Instantiates every contract case as a `#[tokio::test]` for the fixture expression;
/// `store_contract_tests!(over_http <fixture>)` instantiates the request-level cases again,
/// in a module `over_http`, through a real listener and a real HTTP client: what a server
/// does with a response body (how much of it it polls) shows only there.
///
/// `store_contract_tests!(on_framework <frontend>, <fixture>)` instantiates, in a module
/// `on_framework`, the request-level cases that do not need axum, with the app served by
/// another framework's real server through its adapter (a [`Frontend`]) and a real HTTP
/// client: one suite for every framework. (Wrap it in a module of your own to instantiate it
/// for several stores.)
#[macro_export]
macro_rules! store_contract_tests {
    (over_http $fixture:expr) => {
        mod over_http {
            use super::*;
            $crate::store_contract_tests!(@request_level $crate::contract::OverHttp::wrap($fixture));
        }
    };
    (on_framework $frontend:expr, $fixture:expr) => {
        mod on_framework {
            use super::*;
            $crate::store_contract_tests!(@portable
                $crate::contract::OnFramework::wrap($frontend, $fixture));
            $crate::store_contract_tests!(@over_a_connection
                $crate::contract::OnFramework::wrap($frontend, $fixture));
        }
    };
    // Cases that go through requests: they run in process and over HTTP.
    (@request_level $fixture:expr) => {
        $crate::store_contract_tests!(@portable $fixture);
        // The cases that need axum itself, so not `on_framework`: where a tower
        // `CatchPanicLayer` sits (the portable promise is
        // `confirmed_messages_come_back_after_a_panic_that_drops_the_connection`), the tower
        // service's body dropped unread in process, and `Router::nest`.
        $crate::store_contract_tests!(@cases $fixture;
            confirmed_messages_come_back_after_a_panic,
            confirmed_bodiless_responses_dropped_unread_are_confirmed,
            scoping_under_nest_compares_full_paths
        );
    };
    // Request-level cases written against the test app only (jobs run with the request's
    // `Flash`), whichever framework serves it.
    (@portable $fixture:expr) => {
        $crate::store_contract_tests!(@cases $fixture;
            push_returns_count_and_take_all_keeps_push_order,
            push_all_pushes_several_in_order_all_or_nothing,
            take_kind_removes_only_that_kind,
            take_all_returns_everything_grouped_and_removes_it,
            take_sees_what_this_request_pushed,
            order_is_kept_across_requests,
            now_is_visible_to_this_request_only,
            peek_does_not_consume,
            keep_puts_taken_messages_back_in_order,
            discard_drops_unsent_messages,
            clear_deletes_everything_stored,
            limits_give_typed_errors_and_leave_the_store_unchanged,
            min_level_drops_lower_levels,
            messages_expire_after_ttl,
            structured_data_round_trips,
            stacked_layers_neither_double_store_nor_lose,
            two_instances_share_one_store,
            isolation_across_hundreds_of_concurrent_clients,
            race_through_requests_deliver_each_message_once,
            default_mode_a_failing_view_consumes_its_messages,
            confirmed_messages_come_back_after_a_5xx_in_order,
            confirmed_messages_come_back_after_a_body_error,
            confirmed_messages_come_back_when_the_client_disconnects_mid_body,
            confirmed_messages_are_gone_after_a_successful_read,
            confirmed_messages_are_confirmed_on_a_real_listener,
            confirmed_messages_are_confirmed_by_bodiless_responses,
            confirmed_keep_then_5xx_puts_messages_back_once,
            confirmed_clear_deletes_leased_messages,
            confirmed_messages_abandoned_by_a_dead_process_come_back,
            scoped_messages_are_read_only_by_the_redirect_target,
            scoped_messages_follow_a_redirect_chain,
            scoped_messages_of_interleaved_tabs_stay_apart,
            scoped_messages_fall_back_to_any_path,
            off_site_redirects_do_not_scope,
            scoping_resolves_locations_as_browsers_do,
            expired_messages_are_never_delivered,
            regression_keep_under_confirmation_puts_messages_back_once,
            regression_keep_then_a_client_that_hangs_up_puts_messages_back_once,
            regression_kept_messages_follow_the_next_redirect,
            regression_durations_past_any_range_are_clamped,
            regression_deeply_nested_data_is_refused_or_delivered_never_dropped,
            htmx_delivery_through_a_server_delivers_once_and_leaves_navigation_alone
        );
    };
    // Cases that always cross a real connection (a real axum listener when the fixture is
    // in process): once per store, and on every framework.
    (@over_a_connection $fixture:expr) => {
        $crate::store_contract_tests!(@cases $fixture;
            regression_responses_sent_whole_confirm_their_delivery,
            confirmed_messages_come_back_after_a_panic_that_drops_the_connection,
            htmx_a_queue_longer_than_one_header_drains_in_order_over_a_connection
        );
    };
    (@cases $fixture:expr; $($case:ident),* $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn $case() {
                let fixture = $fixture.await;
                $crate::contract::$case(&fixture).await;
            }
        )*
    };
    ($fixture:expr) => {
        // Cases on the Store API, and those that set up their own real listener.
        $crate::store_contract_tests!(@cases $fixture;
            store_restore_puts_messages_at_the_front,
            store_cap_drops_oldest_and_reports_it,
            store_clear_and_empty_reads,
            race_concurrent_takes_deliver_each_message_once,
            race_pushes_against_takes_lose_nothing,
            store_lease_hides_messages_until_given_back_in_order,
            store_release_deletes_leased_messages,
            store_expired_leases_are_reclaimed_in_order,
            store_race_leased_takes_deliver_each_message_once,
            store_scoped_messages_reach_only_their_target,
            store_rescope_carries_bound_messages_on,
            regression_leased_messages_outlive_a_ttl_shorter_than_the_lease
        );
        $crate::store_contract_tests!(@over_a_connection $fixture);
        $crate::store_contract_tests!(@request_level $fixture);
    };
}

fn layer<F: Fixture>(fx: &F) -> FlashLayer {
    FlashLayer::new(fx.store(), key()).secure(false)
}

fn plain<F: Fixture>(fx: &F) -> TestApp {
    TestApp::new(layer(fx))
}

fn opts(max_messages: usize) -> PushOptions {
    PushOptions::new(Duration::from_secs(60), max_messages)
}

fn texts(messages: &[Message]) -> Vec<&str> {
    messages.iter().map(Message::text).collect()
}

fn info(text: &str) -> Message {
    Message::new(Level::Info, text)
}

// ----- connect-flash parity -----

pub async fn push_returns_count_and_take_all_keeps_push_order<F: Fixture>(fx: &F) {
    let client = browser(fx, &plain(fx)).await;
    let counts = client
        .run(|flash| async move {
            let name = "Ada";
            [
                flash.push("info", "first").unwrap(),
                flash.info(format!("Hi {name}")).unwrap(),
                flash.push("error", "oops").unwrap(),
                flash.push("info", "third").unwrap(),
            ]
        })
        .await;
    assert_eq!(counts, [1, 2, 1, 3], "push returns the count of its kind");
    assert_eq!(
        client.take_texts().await,
        ["first", "Hi Ada", "oops", "third"]
    );
    assert!(client.take_texts().await.is_empty(), "read once");
}

pub async fn push_all_pushes_several_in_order_all_or_nothing<F: Fixture>(fx: &F) {
    let client = browser(fx, &plain(fx)).await;
    let results = client
        .run(|flash| async move {
            let empty = flash.push_all("info", Vec::<String>::new()).unwrap();
            let two = flash.push_all("info", ["a", "b"]).unwrap();
            let refused = flash.push_all("info", ["c", ""]).is_err();
            (empty, two, refused)
        })
        .await;
    assert_eq!(results, (0, 2, true));
    assert_eq!(
        client.take_texts().await,
        ["a", "b"],
        "the refused batch left nothing"
    );
}

pub async fn take_kind_removes_only_that_kind<F: Fixture>(fx: &F) {
    let client = browser(fx, &plain(fx)).await;
    client
        .run(|flash| async move {
            flash.info("i1").unwrap();
            flash.error("e1").unwrap();
            flash.push("notice", "n1").unwrap();
            flash.info("i2").unwrap();
        })
        .await;
    let (infos, none) = client
        .run(|flash| async move {
            (
                texts_of(flash.take("info").await),
                texts_of(flash.take("warning").await),
            )
        })
        .await;
    assert_eq!(infos, ["i1", "i2"]);
    assert!(none.is_empty(), "a kind with no messages gives []");
    assert_eq!(
        client.take_texts().await,
        ["e1", "n1"],
        "other kinds untouched, in order"
    );
}

fn texts_of(messages: tower_flash::Messages) -> Vec<String> {
    messages.into_iter().map(Message::into_text).collect()
}

pub async fn take_all_returns_everything_grouped_and_removes_it<F: Fixture>(fx: &F) {
    let client = browser(fx, &plain(fx)).await;
    client
        .run(|flash| async move {
            flash.info("a").unwrap();
            flash.error("b").unwrap();
            flash.info("c").unwrap();
        })
        .await;
    let json = client
        .run(|flash| async move {
            let messages = flash.take_all().await;
            serde_json::to_string(&messages.grouped().to_texts()).unwrap()
        })
        .await;
    assert_eq!(json, r#"{"info":["a","c"],"error":["b"]}"#);
    assert!(client.take_texts().await.is_empty());
}

pub async fn take_sees_what_this_request_pushed<F: Fixture>(fx: &F) {
    let client = browser(fx, &plain(fx)).await;
    client
        .run(|flash| async move { flash.info("stored").unwrap() })
        .await;
    let seen = client
        .run(|flash| async move {
            flash.info("same request").unwrap();
            texts_of(flash.take_all().await)
        })
        .await;
    assert_eq!(seen, ["stored", "same request"], "stored (older) first");
    assert!(
        client.take_texts().await.is_empty(),
        "what the request took is not written afterwards"
    );
}

pub async fn order_is_kept_across_requests<F: Fixture>(fx: &F) {
    let client = browser(fx, &plain(fx)).await;
    for i in 0..5 {
        client
            .run(move |flash| async move {
                flash
                    .push_all("info", [format!("{i}a"), format!("{i}b")])
                    .unwrap()
            })
            .await;
    }
    assert_eq!(
        client.take_texts().await,
        ["0a", "0b", "1a", "1b", "2a", "2b", "3a", "3b", "4a", "4b"]
    );
}

// ----- beyond connect-flash -----

pub async fn now_is_visible_to_this_request_only<F: Fixture>(fx: &F) {
    let client = browser(fx, &plain(fx)).await;
    let (count, seen) = client
        .run(|flash| async move {
            let count = flash.now(info("only now")).unwrap();
            flash.info("later").unwrap();
            (count, texts_of(flash.peek().await))
        })
        .await;
    assert_eq!(count, 1);
    assert_eq!(seen, ["only now", "later"]);
    assert_eq!(
        client.take_texts().await,
        ["later"],
        "now messages are never stored"
    );
}

pub async fn peek_does_not_consume<F: Fixture>(fx: &F) {
    let client = browser(fx, &plain(fx)).await;
    client
        .run(|flash| async move { flash.info("a").unwrap() })
        .await;
    let peeked = client
        .run(|flash| async move {
            let first = texts_of(flash.peek().await);
            let second = texts_of(flash.peek().await);
            (first, second)
        })
        .await;
    assert_eq!(peeked, (vec!["a".to_owned()], vec!["a".to_owned()]));
    assert_eq!(client.take_texts().await, ["a"]);
}

pub async fn keep_puts_taken_messages_back_in_order<F: Fixture>(fx: &F) {
    let client = browser(fx, &plain(fx)).await;
    client
        .run(|flash| async move { flash.push_all("info", ["a", "b"]).unwrap() })
        .await;
    let (seen, kept) = client
        .run(|flash| async move {
            let seen = texts_of(flash.take_all().await);
            flash.info("c").unwrap();
            (seen, flash.keep())
        })
        .await;
    assert_eq!(seen, ["a", "b"]);
    assert_eq!(kept, 2);
    // Someone else pushed in between: kept messages still come first.
    client
        .run(|flash| async move { flash.info("d").unwrap() })
        .await;
    assert_eq!(client.take_texts().await, ["a", "b", "c", "d"]);
}

pub async fn discard_drops_unsent_messages<F: Fixture>(fx: &F) {
    let client = browser(fx, &plain(fx)).await;
    client
        .run(|flash| async move { flash.info("stored").unwrap() })
        .await;
    let dropped = client
        .run(|flash| async move {
            flash.info("x").unwrap();
            flash.now(info("y")).unwrap();
            flash.discard()
        })
        .await;
    assert_eq!(dropped, 2);
    assert_eq!(
        client.take_texts().await,
        ["stored"],
        "stored messages untouched"
    );
}

pub async fn clear_deletes_everything_stored<F: Fixture>(fx: &F) {
    let client = browser(fx, &plain(fx)).await;
    client
        .run(|flash| async move { flash.push_all("info", ["a", "b"]).unwrap() })
        .await;
    client
        .run(|flash| async move {
            flash.info("pending").unwrap();
            flash.clear().await.unwrap();
        })
        .await;
    assert!(client.take_texts().await.is_empty());
}

pub async fn limits_give_typed_errors_and_leave_the_store_unchanged<F: Fixture>(fx: &F) {
    let client = browser(
        fx,
        &TestApp::new(layer(fx).max_messages(3).max_message_bytes(100)),
    )
    .await;
    client
        .run(|flash| async move { flash.info("kept").unwrap() })
        .await;
    let errors = client
        .run(|flash| async move {
            let e1 = flash.push("bad kind", "x").unwrap_err();
            let e2 = flash.push(&"k".repeat(33), "x").unwrap_err();
            let e3 = flash.push("", "x").unwrap_err();
            let e4 = flash.info("").unwrap_err();
            let e5 = flash.info("x".repeat(101)).unwrap_err();
            let e6 = flash
                .push_message(info("small").with_data(serde_json::json!("y".repeat(100))))
                .unwrap_err();
            flash.push_all("info", ["1", "2", "3"]).unwrap();
            let e7 = flash.info("4").unwrap_err();
            let e8 = flash.try_take("no spaces").await.unwrap_err();
            [e1, e2, e3, e4, e5, e6, e7, e8]
                .map(|e| e.to_string())
                .to_vec()
        })
        .await;
    for (i, e) in errors.iter().enumerate() {
        assert!(!e.is_empty(), "error {i} has a message");
    }
    assert!(errors[0].contains("invalid message kind"), "{}", errors[0]);
    assert!(errors[3].contains("empty"), "{}", errors[3]);
    assert!(errors[4].contains("101 bytes"), "{}", errors[4]);
    assert!(errors[6].contains("more than 3"), "{}", errors[6]);
    // Typed variants, not just strings:
    let typed = client
        .run(|flash| async move {
            (
                matches!(flash.push("a b", "x"), Err(Error::InvalidKind { .. })),
                matches!(flash.info(""), Err(Error::EmptyText)),
                matches!(
                    flash.info("x".repeat(101)),
                    Err(Error::TooLarge {
                        size: 101,
                        max: 100
                    })
                ),
            )
        })
        .await;
    assert_eq!(typed, (true, true, true));
    // The one valid batch of the first request was written (the kept message was dropped by
    // the cap of 3); nothing of the refused pushes was.
    assert_eq!(client.take_texts().await, ["1", "2", "3"]);
}

pub async fn min_level_drops_lower_levels<F: Fixture>(fx: &F) {
    let client = browser(fx, &TestApp::new(layer(fx).min_level(Level::Success))).await;
    let counts = client
        .run(|flash| async move {
            [
                flash.debug("d").unwrap(),
                flash.info("i").unwrap(),
                flash.success("s").unwrap(),
                flash.push("notice", "custom kinds have no level").unwrap(),
                flash.error("e").unwrap(),
            ]
        })
        .await;
    assert_eq!(counts, [0, 0, 1, 1, 1]);
    assert_eq!(
        client.take_texts().await,
        ["s", "custom kinds have no level", "e"]
    );
}

pub async fn messages_expire_after_ttl<F: Fixture>(fx: &F) {
    let client = browser(fx, &TestApp::new(layer(fx).ttl(Duration::from_millis(300)))).await;
    client
        .run(|flash| async move { flash.info("soon gone").unwrap() })
        .await;
    let fresh = browser(fx, &TestApp::new(layer(fx).ttl(Duration::from_millis(300)))).await;
    fresh
        .run(|flash| async move { flash.info("fresh").unwrap() })
        .await;
    assert_eq!(
        fresh.take_texts().await,
        ["fresh"],
        "not expired before the TTL"
    );
    tokio::time::sleep(Duration::from_millis(700)).await;
    assert!(
        client.take_texts().await.is_empty(),
        "expired after the TTL"
    );
    // And at the store level: a write refreshes the TTL of the whole queue.
    let store = fx.store();
    let id = ClientId::random();
    let short = PushOptions::new(Duration::from_millis(400), 10);
    store.push(&id, &[info("a")], &short).await.unwrap();
    tokio::time::sleep(Duration::from_millis(250)).await;
    store.push(&id, &[info("b")], &short).await.unwrap();
    tokio::time::sleep(Duration::from_millis(250)).await;
    assert_eq!(
        texts(&store.peek(&id, now()).await.unwrap()),
        ["a", "b"],
        "TTL refreshed"
    );
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert!(store.take(&id, &Take::all()).await.unwrap().is_empty());
}

pub async fn structured_data_round_trips<F: Fixture>(fx: &F) {
    let client = browser(fx, &plain(fx)).await;
    let sent = client
        .run(|flash| async move {
            let message = Message::new(Kind::new("notice").unwrap(), "Export ready <b>now</b>")
                .with_data(serde_json::json!({"href": "/exports/7", "n": [1, 2]}));
            flash.push_message(message.clone()).unwrap();
            message
        })
        .await;
    let got = client
        .run(|flash| async move { flash.take_all().await })
        .await;
    assert_eq!(got.len(), 1);
    assert_eq!(
        got[0], sent,
        "id, kind, text, data and time all survive the store"
    );
}

pub async fn stacked_layers_neither_double_store_nor_lose<F: Fixture>(fx: &F) {
    let inner = layer(fx);
    let outer = FlashLayer::new(fx.store(), key()).secure(false);
    let stacked = TestApp::stacked(inner, outer);
    let client = browser(fx, &stacked).await;
    client
        .run(|flash| async move { flash.push_all("info", ["a", "b"]).unwrap() })
        .await;
    assert_eq!(
        client.take_texts().await,
        ["a", "b"],
        "stored once, not twice"
    );
    assert!(client.take_texts().await.is_empty());
}

pub async fn two_instances_share_one_store<F: Fixture>(fx: &F) {
    let one = plain(fx);
    let two = plain(fx);
    let tab_one = browser(fx, &one).await;
    let tab_two = tab_one.with_test_app(&two).await;
    tab_one
        .run(|flash| async move { flash.info("from one").unwrap() })
        .await;
    assert_eq!(tab_two.take_texts().await, ["from one"]);
    assert!(
        tab_one.take_texts().await.is_empty(),
        "exactly once across instances"
    );
}

// ----- the Store API -----

pub async fn store_restore_puts_messages_at_the_front<F: Fixture>(fx: &F) {
    let store = fx.store();
    let id = ClientId::random();
    store
        .push(&id, &[info("c"), info("d")], &opts(10))
        .await
        .unwrap();
    let receipt = store
        .restore(&id, &[info("a"), info("b")], &opts(10))
        .await
        .unwrap();
    assert_eq!(receipt.len, 4);
    assert_eq!(
        texts(&store.take(&id, &Take::all()).await.unwrap()),
        ["a", "b", "c", "d"]
    );
}

pub async fn store_cap_drops_oldest_and_reports_it<F: Fixture>(fx: &F) {
    let store = fx.store();
    let id = ClientId::random();
    let batch: Vec<Message> = (0..5).map(|i| info(&format!("m{i}"))).collect();
    let first = store.push(&id, &batch, &opts(3)).await.unwrap();
    assert_eq!((first.len, first.dropped), (3, 2));
    let second = store.push(&id, &[info("m5")], &opts(3)).await.unwrap();
    assert_eq!((second.len, second.dropped), (3, 1));
    assert_eq!(
        texts(&store.take(&id, &Take::all()).await.unwrap()),
        ["m3", "m4", "m5"]
    );
}

pub async fn store_clear_and_empty_reads<F: Fixture>(fx: &F) {
    let store = fx.store();
    let id = ClientId::random();
    assert!(store.take(&id, &Take::all()).await.unwrap().is_empty());
    assert!(store.peek(&id, now()).await.unwrap().is_empty());
    assert!(
        store
            .take(&id, &Take::kind(&Kind::from(Level::Info)))
            .await
            .unwrap()
            .is_empty()
    );
    store.clear(&id).await.unwrap();
    store.push(&id, &[info("a")], &opts(10)).await.unwrap();
    store.clear(&id).await.unwrap();
    assert!(store.take(&id, &Take::all()).await.unwrap().is_empty());
}

// ----- isolation and races -----

pub async fn isolation_across_hundreds_of_concurrent_clients<F: Fixture>(fx: &F) {
    let browsers = browser(fx, &plain(fx)).await;
    let mut tasks = Vec::new();
    for user in 0..300 {
        let client = browsers.fresh();
        tasks.push(tokio::spawn(async move {
            for round in 0..3 {
                let text = format!("user {user} round {round}");
                let sent = text.clone();
                client
                    .run(move |flash| async move { flash.info(sent).unwrap() })
                    .await;
                let got = client.take_texts().await;
                assert_eq!(
                    got,
                    [text],
                    "a client saw someone else's message, or lost its own"
                );
            }
        }));
    }
    for task in tasks {
        task.await.unwrap();
    }
}

/// Thousands of rounds: push N messages, then several concurrent takes (all and by kind)
/// for the same client; every message must come out exactly once.
pub async fn race_concurrent_takes_deliver_each_message_once<F: Fixture>(fx: &F) {
    const ROUNDS: usize = 2_000;
    const N: usize = 6;
    const TAKERS: usize = 4;
    let store = fx.store();
    let id = ClientId::random();
    let (mut duplicates, mut losses) = (0, 0);
    for round in 0..ROUNDS {
        let batch: Vec<Message> = (0..N)
            .map(|i| {
                let kind = if i % 2 == 0 {
                    Level::Info
                } else {
                    Level::Error
                };
                Message::new(kind, format!("{round}/{i}"))
            })
            .collect();
        store.push(&id, &batch, &opts(64)).await.unwrap();
        let takers: Vec<_> = (0..TAKERS)
            .map(|t| {
                let store = store.clone();
                let id = id.clone();
                tokio::spawn(async move {
                    match t % 3 {
                        0 => store.take(&id, &Take::all()).await,
                        1 => store.take(&id, &Take::kind(&Kind::from(Level::Info))).await,
                        _ => {
                            store
                                .take(&id, &Take::kind(&Kind::from(Level::Error)))
                                .await
                        }
                    }
                    .unwrap()
                })
            })
            .collect();
        let mut seen: HashMap<String, usize> = HashMap::new();
        for taker in takers {
            for m in taker.await.unwrap() {
                *seen.entry(m.into_text()).or_default() += 1;
            }
        }
        for m in store.take(&id, &Take::all()).await.unwrap() {
            *seen.entry(m.into_text()).or_default() += 1;
        }
        for m in &batch {
            match seen.get(m.text()).copied().unwrap_or(0) {
                0 => losses += 1,
                1 => {}
                n => duplicates += n - 1,
            }
        }
    }
    println!(
        "race: {ROUNDS} rounds x {N} messages, {TAKERS} takers: duplicates={duplicates} losses={losses}"
    );
    assert_eq!((duplicates, losses), (0, 0), "duplicates and losses");
}

/// Pushers and takers on one client at the same time: every message delivered exactly once.
pub async fn race_pushes_against_takes_lose_nothing<F: Fixture>(fx: &F) {
    const PUSHERS: usize = 4;
    const PER_PUSHER: usize = 500;
    let store = fx.store();
    let id = ClientId::random();
    let done = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let mut pushers = Vec::new();
    for p in 0..PUSHERS {
        let (store, id, done) = (store.clone(), id.clone(), done.clone());
        pushers.push(tokio::spawn(async move {
            for i in 0..PER_PUSHER {
                let batch = [info(&format!("{p}/{i}"))];
                store.push(&id, &batch, &opts(100_000)).await.unwrap();
            }
            done.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        }));
    }
    let mut takers = Vec::new();
    for _ in 0..3 {
        let (store, id, done) = (store.clone(), id.clone(), done.clone());
        takers.push(tokio::spawn(async move {
            let mut got = Vec::new();
            while done.load(std::sync::atomic::Ordering::SeqCst) < PUSHERS {
                got.extend(
                    store
                        .take(&id, &Take::all())
                        .await
                        .unwrap()
                        .into_iter()
                        .map(Message::into_text),
                );
                tokio::task::yield_now().await;
            }
            got
        }));
    }
    for p in pushers {
        p.await.unwrap();
    }
    let mut all: Vec<String> = Vec::new();
    for t in takers {
        let got = t.await.unwrap();
        // Each taker sees every pusher's messages in the order they were pushed.
        for p in 0..PUSHERS {
            let prefix = format!("{p}/");
            let seq: Vec<usize> = got
                .iter()
                .filter_map(|t| t.strip_prefix(&prefix))
                .map(|n| n.parse().unwrap())
                .collect();
            assert!(seq.windows(2).all(|w| w[0] < w[1]), "order broken: {seq:?}");
        }
        all.extend(got);
    }
    all.extend(
        store
            .take(&id, &Take::all())
            .await
            .unwrap()
            .into_iter()
            .map(Message::into_text),
    );
    let unique: HashSet<&String> = all.iter().collect();
    let duplicates = all.len() - unique.len();
    let losses = PUSHERS * PER_PUSHER - unique.len();
    println!(
        "push/take race: delivered={} duplicates={duplicates} losses={losses}",
        all.len()
    );
    assert_eq!((duplicates, losses), (0, 0), "duplicates and losses");
}

/// The same race through real requests: tabs of one client reading at once.
pub async fn race_through_requests_deliver_each_message_once<F: Fixture>(fx: &F) {
    const ROUNDS: usize = 300;
    let app = plain(fx);
    let client = browser(fx, &app).await;
    let (mut duplicates, mut losses) = (0, 0);
    for round in 0..ROUNDS {
        let sent: Vec<String> = (0..3).map(|i| format!("{round}/{i}")).collect();
        let batch = sent.clone();
        client
            .run(move |flash| async move { flash.push_all("info", batch).unwrap() })
            .await;
        let tabs: Vec<_> = (0..4)
            .map(|_| {
                let tab = client.clone();
                tokio::spawn(async move { tab.take_texts().await })
            })
            .collect();
        let mut seen: HashMap<String, usize> = HashMap::new();
        for tab in tabs {
            for text in tab.await.unwrap() {
                *seen.entry(text).or_default() += 1;
            }
        }
        for text in &sent {
            match seen.get(text).copied().unwrap_or(0) {
                0 => losses += 1,
                1 => {}
                n => duplicates += n - 1,
            }
        }
    }
    println!("request race: {ROUNDS} rounds: duplicates={duplicates} losses={losses}");
    assert_eq!((duplicates, losses), (0, 0), "duplicates and losses");
}
