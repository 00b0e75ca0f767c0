//! The store contract on [`MemoryStore`].

use tower_flash_testkit::store_contract_tests;

use tower_flash::MemoryStore;

store_contract_tests!(async { MemoryStore::new() });
store_contract_tests!(over_http async { MemoryStore::new() });
