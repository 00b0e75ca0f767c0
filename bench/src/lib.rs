//! The benchmark tools of tower-flash:
//!
//! - [`server`]: the HTTP server of `bench/CONTRACT.md` (binary `bench-server`), on axum;
//! - [`actix_server`]: the same server on actix-web (`FLASH_FRAMEWORK=actix`);
//! - `floor-server`: the same routes in bare axum over the fewest redis-rs calls, the limit
//!   of the dependency stack (the `flash-floor` crate, bench/floor);
//! - [`client`]: a small keep-alive HTTP/1.1 client with a one-cookie jar, shared by the
//!   black-box tests and the load generator;
//! - [`load`]: the load generator's scenarios and measurements (binary `flash-load`);
//! - [`report`]: `BENCHMARKS.md` and its chart from the results (binary `bench-report`);
//! - [`soak`]: a long mixed load on the memory store and on Redis, with memory sampled
//!   (binary `flash-soak`, `bench/soak.sh`).

pub mod actix_server;
pub mod client;
pub mod load;
pub mod report;
pub mod server;
pub mod soak;
