//! Client identity: the [`ClientId`] messages are stored under, and the signed cookie that
//! carries it.
//!
//! The cookie is named `flash` by default and holds 128 random bits as 32 hex digits,
//! signed with HMAC-SHA256 by the [`cookie`] crate's signed jar. It is `HttpOnly`,
//! `SameSite=Lax`, `Path=/`, `Secure` unless switched off, with `Max-Age` equal to the
//! message TTL. A missing, malformed, unsigned or forged cookie reads as "no id": nothing
//! derived from it ever reaches the store.

use std::fmt;

mod cookie;

pub(crate) use self::cookie::{CookieCodec, CookieHeaders};

/// The longest [`ClientId`] accepted, in bytes.
pub const MAX_CLIENT_ID_LEN: usize = 128;

/// The id a client's messages are stored under.
///
/// The flash cookie's ids are random ([`ClientId::random`]); other identity sources (a user
/// id, a session id) build one with [`ClientId::new`]. Ids are 1 to
/// [`MAX_CLIENT_ID_LEN`] bytes of ASCII letters, digits, `_`, `-`, `.`, `:` and `@`, so a
/// store can put them in a key as they are. Prefix ids from different sources (`user:42`)
/// so that they cannot meet.
///
/// ```
/// use tower_flash::ClientId;
///
/// let a = ClientId::random();
/// assert_eq!(a.as_str().len(), 32);
/// assert_ne!(a, ClientId::random());
/// assert!(ClientId::new("user:42").is_ok());
/// assert!(ClientId::new("{evil}").is_err());
/// ```
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ClientId(Box<str>);

impl ClientId {
    /// A fresh id of 128 random bits (32 lowercase hex digits).
    pub fn random() -> Self {
        ClientId(format!("{:032x}", rand::random::<u128>()).into_boxed_str())
    }

    /// Validates `id`.
    pub fn new(id: &str) -> Result<Self, InvalidClientId> {
        let valid = !id.is_empty()
            && id.len() <= MAX_CLIENT_ID_LEN
            && id.bytes().all(|b| {
                b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.' | b':' | b'@')
            });
        if valid {
            Ok(ClientId(id.into()))
        } else {
            Err(InvalidClientId)
        }
    }

    /// Parses the id part of a flash cookie: exactly 32 lowercase hex digits.
    fn from_cookie_value(value: &str) -> Option<Self> {
        let valid = value.len() == 32
            && value
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
        valid.then(|| ClientId(value.into()))
    }

    /// The id as a string.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ClientId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for ClientId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // An id is a bearer token for the client's messages: show only a prefix.
        let shown = self.0.get(..6).unwrap_or(&self.0);
        write!(f, "ClientId({shown}…)")
    }
}

/// The error of [`ClientId::new`] for an empty, too long or badly formed id.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("invalid client id: 1 to 128 ASCII letters, digits, '_', '-', '.', ':' or '@' expected")]
pub struct InvalidClientId;
