//! Client identity: the [`ClientId`] messages are stored under, and the signed cookie that
//! carries it.
//!
//! The cookie is named `flash` by default and holds 128 random bits as 32 hex digits,
//! signed with HMAC-SHA256 by the [`cookie`] crate's signed jar. It is `HttpOnly`,
//! `SameSite=Lax`, `Path=/`, `Secure` unless switched off, with `Max-Age` equal to the
//! message TTL. A missing, malformed, unsigned or forged cookie reads as "no id": nothing
//! derived from it ever reaches the store.

use std::fmt;
use std::time::Duration;

use cookie::{Cookie, CookieJar, Key, SameSite};
use http::header::{COOKIE, HeaderMap, HeaderValue};

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

/// Reads and writes the signed flash cookie.
#[derive(Clone)]
pub(crate) struct CookieCodec {
    pub(crate) name: String,
    pub(crate) key: Key,
    pub(crate) old_keys: Vec<Key>,
    pub(crate) secure: bool,
    pub(crate) domain: Option<String>,
}

impl fmt::Debug for CookieCodec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CookieCodec")
            .field("name", &self.name)
            .field("key", &"[redacted]")
            .field("old_keys", &self.old_keys.len())
            .field("secure", &self.secure)
            .field("domain", &self.domain)
            .finish()
    }
}

impl CookieCodec {
    pub(crate) fn new(key: Key) -> Self {
        CookieCodec {
            name: "flash".to_owned(),
            key,
            old_keys: Vec::new(),
            secure: true,
            domain: None,
        }
    }

    /// Whether any `Cookie` header might hold our cookie: a cheap test done on every
    /// request so that requests without it skip parsing entirely.
    pub(crate) fn may_be_present(&self, headers: &HeaderMap) -> bool {
        headers.get_all(COOKIE).iter().any(|v| {
            v.as_bytes()
                .windows(self.name.len() + 1)
                .any(|w| w.starts_with(self.name.as_bytes()) && w[self.name.len()] == b'=')
        })
    }

    /// The verified id in the request's cookies, trying the current key, then the old ones.
    pub(crate) fn read<'a>(
        &self,
        values: impl IntoIterator<Item = &'a HeaderValue>,
    ) -> Option<ClientId> {
        let jar = CookieJar::new();
        values
            .into_iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(Cookie::split_parse)
            .filter_map(Result::ok)
            .filter(|c| c.name() == self.name)
            .find_map(|c| {
                let c = c.into_owned();
                std::iter::once(&self.key)
                    .chain(&self.old_keys)
                    .find_map(|key| jar.signed(key).verify(c.clone()))
            })
            .and_then(|c| ClientId::from_cookie_value(c.value()))
    }

    /// The `Set-Cookie` value for `id`, signed with the current key.
    pub(crate) fn write(&self, id: &ClientId, max_age: Duration) -> Option<HeaderValue> {
        let mut builder = Cookie::build((self.name.clone(), id.as_str().to_owned()))
            .http_only(true)
            .same_site(SameSite::Lax)
            .path("/")
            .secure(self.secure)
            .max_age(cookie::time::Duration::seconds(
                i64::try_from(max_age.as_secs()).unwrap_or(i64::MAX),
            ));
        if let Some(domain) = &self.domain {
            builder = builder.domain(domain.clone());
        }
        let mut jar = CookieJar::new();
        jar.signed_mut(&self.key).add(builder);
        let cookie = jar.get(&self.name)?;
        HeaderValue::from_str(&cookie.to_string()).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn codec() -> CookieCodec {
        CookieCodec::new(Key::generate())
    }

    fn header(s: &str) -> HeaderValue {
        HeaderValue::from_str(s).unwrap()
    }

    fn cookie_pair(set_cookie: &HeaderValue) -> HeaderValue {
        let s = set_cookie.to_str().unwrap();
        header(s.split(';').next().unwrap())
    }

    #[test]
    fn round_trip_and_attributes() {
        let codec = codec();
        let id = ClientId::random();
        let set = codec.write(&id, Duration::from_secs(86_400)).unwrap();
        let s = set.to_str().unwrap();
        for attr in [
            "HttpOnly",
            "SameSite=Lax",
            "Path=/",
            "Secure",
            "Max-Age=86400",
        ] {
            assert!(s.contains(attr), "{s} lacks {attr}");
        }
        assert_eq!(codec.read([&cookie_pair(&set)]), Some(id));
    }

    #[test]
    fn rotated_keys_still_verify() {
        let old = codec();
        let id = ClientId::random();
        let set = old.write(&id, Duration::from_secs(60)).unwrap();
        let mut new = codec();
        assert_eq!(new.read([&cookie_pair(&set)]), None);
        new.old_keys.push(old.key.clone());
        assert_eq!(new.read([&cookie_pair(&set)]), Some(id));
    }

    #[test]
    fn forged_malformed_and_unsigned_cookies_read_as_none() {
        let codec = codec();
        let id = ClientId::random();
        let good = cookie_pair(&codec.write(&id, Duration::from_secs(60)).unwrap());
        let good = good.to_str().unwrap();
        // Change the last hex digit of the id (to another digit: `0` may already be it).
        let last = if good.ends_with('0') { '1' } else { '0' };
        let tampered = format!("{}{last}", &good[..good.len() - 1]);
        let other_key = cookie_pair(
            &super::tests::codec()
                .write(&id, Duration::from_secs(60))
                .unwrap(),
        );
        let bad_inputs = [
            format!("flash={id}"),
            "flash=".to_owned(),
            "flash".to_owned(),
            "flash=%%%;;".to_owned(),
            tampered,
            other_key.to_str().unwrap().to_owned(),
            format!("flash={}", "A".repeat(4000)),
        ];
        for bad in &bad_inputs {
            assert_eq!(codec.read([&header(bad)]), None, "{bad}");
        }
        // A signed value that is not one of our ids is refused too.
        let mut jar = CookieJar::new();
        jar.signed_mut(&codec.key).add(("flash", "{injected}"));
        let signed = jar.get("flash").unwrap().to_string();
        assert_eq!(codec.read([&header(&signed)]), None);
    }

    #[test]
    fn finds_the_cookie_among_others_and_across_headers() {
        let codec = codec();
        let id = ClientId::random();
        let pair = cookie_pair(&codec.write(&id, Duration::from_secs(60)).unwrap());
        let combined = header(&format!("a=1; {}; b=2", pair.to_str().unwrap()));
        assert_eq!(codec.read([&combined]), Some(id.clone()));
        assert_eq!(codec.read([&header("a=1"), &pair]), Some(id));
        let mut headers = HeaderMap::new();
        headers.append(COOKIE, header("a=1"));
        assert!(!codec.may_be_present(&headers));
        headers.append(COOKIE, pair);
        assert!(codec.may_be_present(&headers));
    }

    #[test]
    fn debug_redacts() {
        let codec = codec();
        assert!(format!("{codec:?}").contains("redacted"));
        let id = ClientId::random();
        assert!(!format!("{id:?}").contains(id.as_str()));
    }
}
