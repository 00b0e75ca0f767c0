//! The store contract on [`MemoryStore`].

mod common;
mod contract;

use tower_flash::MemoryStore;

store_contract_tests!(async { MemoryStore::new() });
store_contract_tests!(over_http async { MemoryStore::new() });
