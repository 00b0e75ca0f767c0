//! The store contract on a master found through Sentinel, and a Sentinel failover under
//! requests: a real master, a replica and three sentinels on loopback ports, started by each
//! test and killed and reaped at the end.

#![cfg(feature = "sentinel")]
#![allow(clippy::unwrap_used, clippy::expect_used)]

use tower_flash_testkit::harness as common;
use tower_flash_testkit::{contract, store_contract_tests};

use std::time::{Duration, Instant};

use redis::Commands;
use tower_flash::{RedisOptions, RedisStore};

use common::load::{Load, as_user, tally, user_app, user_id};
use common::redis_deployments::{MASTER_NAME, SentinelGroup, free_ports};

struct SentinelFixture {
    store: RedisStore,
    _group: SentinelGroup,
}

impl SentinelFixture {
    async fn start() -> Self {
        let group = SentinelGroup::start_serving();
        let store = RedisStore::connect_sentinel(
            &group.sentinel_addrs(),
            MASTER_NAME,
            common::redis_server::contract_options(),
        )
        .await
        .unwrap();
        SentinelFixture {
            store,
            _group: group,
        }
    }
}

impl contract::Fixture for SentinelFixture {
    type Store = RedisStore;
    fn store(&self) -> RedisStore {
        self.store.clone()
    }
}

store_contract_tests!(SentinelFixture::start());

#[tokio::test]
async fn sentinel_connecting_fails_fast_with_a_clear_error() {
    let nobody: Vec<String> = free_ports(2)
        .iter()
        .map(|p| format!("127.0.0.1:{p}"))
        .collect();
    let started = Instant::now();
    let error = RedisStore::connect_sentinel(&nobody, MASTER_NAME, RedisOptions::default())
        .await
        .unwrap_err();
    assert!(error.to_string().contains("flash store"), "{error}");

    let group = SentinelGroup::start_serving();
    let unknown =
        RedisStore::connect_sentinel(&group.sentinel_addrs(), "no-such", RedisOptions::default())
            .await
            .unwrap_err();
    assert!(unknown.to_string().contains("flash store"), "{unknown}");
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
}

/// `SENTINEL FAILOVER` while 8 users push and take through the app: every request is
/// answered within its bound, nothing panics, nobody gets a duplicate or a foreign message,
/// and within a few hundred ms of the promotion, long before Sentinel demotes the old
/// master, the same store writes to the new master by itself. Writes acknowledged before
/// the failover started and after it ended are all delivered. What the app did on the old
/// master after the promotion (Sentinel does not pause it) is undone by its demotion: pushes
/// lost, takes delivered again; the test counts both and requires duplicates to come only
/// from takes in that window.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sentinel_failover_under_requests_the_app_follows_the_new_master() {
    let group = SentinelGroup::start();
    let timeout = Duration::from_millis(300);
    let store = RedisStore::connect_sentinel(
        &group.sentinel_addrs(),
        MASTER_NAME,
        RedisOptions::default().timeout(timeout),
    )
    .await
    .unwrap();
    let router = user_app(store.clone());
    let users: Vec<usize> = (0..8).collect();
    let load = Load::start(&router, &users, Duration::from_millis(5));
    tokio::time::sleep(Duration::from_millis(500)).await;

    let (old, new) = (group.master.port, group.replica.port);
    let started = Instant::now();
    let _: () = redis::cmd("SENTINEL")
        .arg("FAILOVER")
        .arg(MASTER_NAME)
        .query(&mut group.sentinels[0].conn())
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    let role = |port: u16| -> String {
        let node = if port == old {
            &group.master
        } else {
            &group.replica
        };
        let role: Vec<redis::Value> = node
            .try_conn()
            .and_then(|mut conn| redis::cmd("ROLE").query(&mut conn))
            .unwrap_or_default();
        match role.first() {
            Some(redis::Value::BulkString(r)) => String::from_utf8_lossy(r).into_owned(),
            _ => String::new(),
        }
    };
    while !(group.current_master() == new && role(new) == "master") {
        assert!(Instant::now() < deadline, "no promotion within 20 s");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let promoted = Instant::now();
    // The old master is still up and still a master until Sentinel next polls it: the app
    // must leave it by itself. A probe user's pushes show where the app writes.
    let probe = as_user(&router, 99);
    let probe_key = store.key(&user_id(99));
    loop {
        probe
            .run(|flash| async move { flash.info("probe").unwrap() })
            .await;
        let on_new: Vec<String> = group
            .replica
            .try_conn()
            .and_then(|mut conn| conn.lrange(&probe_key, 0, -1))
            .unwrap_or_default();
        probe.take_texts().await;
        if !on_new.is_empty() {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the app never wrote to the new master"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let switched = Instant::now();
    let old_still_master = role(old) == "master";
    while role(old) != "slave" {
        assert!(
            Instant::now() < deadline,
            "the old master was not demoted in 20 s"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let ended = Instant::now();
    tokio::time::sleep(Duration::from_millis(1000)).await;

    let logs = load.finish(&router).await;
    let t = tally(&logs);
    let lost_outside = t
        .lost
        .iter()
        .filter(|(_, at)| *at < started || *at > ended)
        .count();
    println!(
        "sentinel failover: promoted after {:?}, the app wrote to the new master {:?} later \
         (old master still a master then: {old_still_master}), old master demoted after {:?}",
        promoted - started,
        switched - promoted,
        ended - started
    );
    // Between the promotion and the app leaving the old master, what the app does on the
    // old master is discarded when it is demoted: pushes are lost, and takes are undone,
    // so the new master delivers those messages again.
    let margin = Duration::from_millis(100);
    let duplicated_outside = t
        .duplicated_first_at
        .iter()
        .filter(|at| **at < started || **at > switched + margin)
        .count();
    println!(
        "sentinel failover: took {:?}; {t:?} (store timeout {timeout:?}); duplicates first \
         delivered outside the split-brain window: {duplicated_outside}",
        ended - started
    );
    assert!(t.slowest < Duration::from_secs(2), "{:?}", t.slowest);
    assert!(
        switched - promoted < Duration::from_secs(3),
        "the app followed the new master after {:?}",
        switched - promoted
    );
    assert_eq!((duplicated_outside, t.foreign, lost_outside), (0, 0, 0));
    assert!(t.acked > 0);

    // The same store, never rebuilt, writes to the new master.
    let client = as_user(&router, 0);
    client
        .run(|flash| async move { flash.info("after failover").unwrap() })
        .await;
    let on_new: Vec<String> = group
        .replica
        .conn()
        .lrange(store.key(&user_id(0)), 0, -1)
        .unwrap();
    assert_eq!(on_new.len(), 1, "written on the new master");
    assert_eq!(client.take_texts().await, ["after failover"]);
}

/// Regression: the master connection got none of the URL's settings, so a master with
/// `requirepass` could not be reached and the URL's database was ignored. Now the URLs'
/// password and database reach the master, before and after a failover; the sentinels
/// themselves are asked without credentials.
#[tokio::test]
async fn sentinel_master_with_requirepass_gets_the_urls_password_and_database_through_a_failover() {
    const PASSWORD: &str = "s3cret-master";
    let group = SentinelGroup::start_with_password(PASSWORD);

    let without = RedisStore::connect_sentinel(
        &group.sentinel_addrs(),
        MASTER_NAME,
        RedisOptions::default(),
    )
    .await;
    assert!(
        without.is_err(),
        "a master with requirepass accepted a client without the password"
    );
    let wrong = RedisStore::connect_sentinel(
        &group.sentinel_urls("wrong", 3),
        MASTER_NAME,
        RedisOptions::default(),
    )
    .await;
    assert!(wrong.is_err(), "a wrong master password was accepted");

    let store = RedisStore::connect_sentinel(
        &group.sentinel_urls(PASSWORD, 3),
        MASTER_NAME,
        RedisOptions::default().timeout(Duration::from_millis(300)),
    )
    .await
    .unwrap();
    assert!(
        !format!("{store:?}").contains(PASSWORD),
        "Debug shows the password: {store:?}"
    );
    let router = user_app(store.clone());
    let user = as_user(&router, 1);
    let key = store.key(&user_id(1));
    let in_db3 = |node: &common::redis_deployments::Node| -> Vec<String> {
        let Ok(mut conn) = node.try_conn() else {
            return Vec::new();
        };
        let _: redis::RedisResult<()> = redis::cmd("SELECT").arg(3).query(&mut conn);
        conn.lrange(&key, 0, -1).unwrap_or_default()
    };

    user.run(|flash| async move { flash.info("before").unwrap() })
        .await;
    assert_eq!(
        in_db3(&group.master).len(),
        1,
        "not written to db 3 on the master"
    );
    let db0: Vec<String> = group.master.conn().lrange(&key, 0, -1).unwrap();
    assert!(db0.is_empty(), "written to db 0: {db0:?}");
    assert_eq!(user.take_texts().await, ["before"]);

    let _: () = redis::cmd("SENTINEL")
        .arg("FAILOVER")
        .arg(MASTER_NAME)
        .query(&mut group.sentinels[0].conn())
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    while group.current_master() != group.replica.port {
        assert!(Instant::now() < deadline, "no promotion within 20 s");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // The store leaves the old master by itself; a push lands on the new one, authenticated
    // and in database 3, within a few seconds.
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let ((), pushed) = user
            .run_with_response(|flash| async move {
                flash.info("after").unwrap();
            })
            .await;
        if pushed.status().is_success() && !in_db3(&group.replica).is_empty() {
            break;
        }
        // Whatever reached the old master is discarded when it is demoted; take it anyway so
        // that the last take below sees only the push that reached the new master.
        let _ = user
            .run_with_response(|flash| async move { flash.take_all().await.len() })
            .await;
        assert!(
            Instant::now() < deadline,
            "the store did not write to the promoted master within 10 s"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(user.take_texts().await, ["after"]);
}
