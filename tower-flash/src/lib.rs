#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]
#![cfg_attr(docsrs, feature(doc_cfg))]

pub mod adapter;
mod clock;
mod config;
mod error;
mod flash;
mod htmx;
mod id;
mod layer;
mod message;
mod sender;
mod service;
#[cfg(feature = "tower-sessions")]
mod session;
pub mod store;
mod telemetry;
#[cfg(feature = "minijinja")]
pub mod templates;

/// Thin wrappers over the crate-private parsers for the coverage-guided fuzz targets in
/// `fuzz/`: compiled only under `--cfg fuzzing` (set by cargo-fuzz), so no part of the API.
#[cfg(fuzzing)]
#[doc(hidden)]
#[path = "fuzz_api.rs"]
pub mod __fuzz;

#[cfg(feature = "axum")]
mod extract;
#[cfg(feature = "axum")]
mod json;

pub use cookie::{Key, KeyError};

pub use crate::clock::{Clock, SystemClock};
pub use crate::config::{
    DEFAULT_LEASE_TIMEOUT, DEFAULT_MAX_MESSAGE_BYTES, DEFAULT_MAX_MESSAGES, DEFAULT_SCOPE_FALLBACK,
    DEFAULT_TTL, OnStoreError,
};
pub use crate::error::{Error, StoreError};
#[cfg(feature = "axum")]
pub use crate::extract::MissingFlashLayer;
pub use crate::flash::Flash;
pub use crate::htmx::HtmxDelivery;
pub use crate::id::{ClientId, InvalidClientId, MAX_CLIENT_ID_LEN};
#[cfg(feature = "axum")]
pub use crate::json::messages_json;
pub use crate::layer::FlashLayer;
pub use crate::message::{
    Grouped, GroupedTexts, InvalidMessageId, Kind, Level, MAX_DATA_DEPTH, MAX_KIND_LEN, Message,
    MessageId, Messages, Scope, UnknownLevel,
};
pub use crate::sender::FlashSender;
pub use crate::service::{FlashBody, FlashService, ResponseFuture};
#[cfg(feature = "tower-sessions")]
pub use crate::session::SESSION_KEY;
pub use crate::store::memory::MemoryStore;
#[cfg(feature = "redis")]
pub use crate::store::redis::{InvalidPrefix, RedisOptions, RedisStore, UnsupportedServer};
