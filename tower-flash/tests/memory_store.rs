//! The store contract on [`MemoryStore`].

mod common;
mod contract;

use tower_flash::MemoryStore;

store_contract_tests!(async { MemoryStore::new() });
