//! The store contract of [tower-flash](tower_flash), for store authors and for tower-flash's
//! own tests: every store, the crate's and yours, runs the same cases unchanged.
//!
//! - [`contract`]: the cases, and [`store_contract_tests!`], which instantiates every one
//!   of them as a `#[tokio::test]` for a [`Fixture`](contract::Fixture) (a store, plus
//!   whatever must live as long as the test). `store_contract_tests!(over_http …)` runs the
//!   request-level cases again through a real listener and a real HTTP client;
//!   `store_contract_tests!(on_framework …)` runs those that need no axum route on another
//!   web framework, through its adapter (see [For a framework adapter](#for-a-framework-adapter)).
//! - [`harness`]: the test client (a real axum `Router` behind a `FlashLayer`, with a cookie
//!   jar, in process or over loopback HTTP), stores that count or fail their calls, and
//!   (feature `redis`) a throwaway `redis-server` per test on a unix socket in a temporary
//!   directory, a Redis Cluster and a Sentinel group on loopback ports (features `cluster`,
//!   `sentinel`), and throwaway certificates (feature `tls`). A missing `redis-server`
//!   fails the test loudly; it never skips.
//!
//! # For a store author
//!
//! The contract covers the core and both capabilities (the
//! [`Fixture::Store`](contract::Fixture::Store) bound is
//! `Store + LeaseStore + ScopeStore + Clone`). In your crate's `tests/contract.rs`:
//!
//! ```
//! use tower_flash::MemoryStore; // your store here
//! use tower_flash_testkit::contract::Fixture;
//! use tower_flash_testkit::store_contract_tests;
//!
//! /// A fresh store for each case, and whatever must live as long as the case.
//! struct Fresh(MemoryStore);
//!
//! impl Fixture for Fresh {
//!     type Store = MemoryStore;
//!     fn store(&self) -> MemoryStore {
//!         self.0.clone()
//!     }
//! }
//!
//! store_contract_tests!(async { Fresh(MemoryStore::new()) });
//! store_contract_tests!(over_http async { Fresh(MemoryStore::new()) });
//! ```
//!
//! A complete example, a store of about 200 lines run through all the cases, is
//! `tower-flash-testkit/tests/example_store.rs`.
//!
//! # For a framework adapter
//!
//! The request-level cases drive a [`TestApp`](harness::TestApp): a flash layer around a
//! route that runs each request's job with its `Flash`. An adapter's tests implement
//! [`Frontend`](harness::Frontend), which serves a `TestApp` with the framework's real
//! server (its app hands the framework's flash handle to
//! [`run_registered_job`](harness::run_registered_job) and answers what the job returns,
//! its body streamed), and instantiate the cases with
//! `store_contract_tests!(on_framework MyFrontend, <fixture>)`.
//! `tower-flash-actix/tests/contract.rs` does so for actix-web.
//!
//! These are test helpers: they panic (`unwrap`, `assert!`) on anything unexpected, which is
//! how a test fails.

#![forbid(unsafe_code)]
// Test code: a panic is the test failing, and the helpers are documented by their modules.
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

pub mod contract;
pub mod harness;
