#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]
#![cfg_attr(docsrs, feature(doc_cfg))]

mod body;
mod convert;
mod extract;
mod json;
mod middleware;

pub use crate::body::FlashBody;
pub use crate::extract::{Flash, FlashError, MissingFlashMiddleware};
pub use crate::json::messages_json;
pub use crate::middleware::{FlashMiddleware, FlashService};
