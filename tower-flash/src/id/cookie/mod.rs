//! The signed cookie that carries a [`ClientId`]: written on a write, read (lazily) on every
//! request that may have messages.

use std::borrow::Cow;
use std::fmt;
use std::fmt::Write as _;
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use cookie::{Cookie, Key};
use hmac::{Hmac, Mac};
use http::header::{COOKIE, HeaderMap, HeaderValue};
use sha2::Sha256;

use super::ClientId;

/// Reads and writes the signed flash cookie.
///
/// The value has the format of the `cookie` crate's signed jar, base64 of the HMAC-SHA256
/// of the id, then the id, so either can read what the other wrote. It is computed here
/// directly, with keyed MACs prepared once, because the jar allocates a jar and several
/// cookies per request: this is the hot path of every flash write and read (see
/// `BENCHMARKS.md`, "Profile").
#[derive(Clone)]
pub(crate) struct CookieCodec {
    pub(crate) name: String,
    /// Keyed MACs: the current key first, then the old ones still accepted.
    signers: Vec<HmacSha256>,
    pub(crate) secure: bool,
    pub(crate) domain: Option<String>,
}

type HmacSha256 = Hmac<Sha256>;

/// Base64 of a 32-byte digest, with padding.
const DIGEST_LEN: usize = 44;
/// A cookie id: 32 hex digits.
const ID_LEN: usize = 32;

fn signer(key: &Key) -> Option<HmacSha256> {
    // HMAC takes keys of any length: this cannot fail.
    HmacSha256::new_from_slice(key.signing()).ok()
}

impl fmt::Debug for CookieCodec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CookieCodec")
            .field("name", &self.name)
            .field("keys", &format_args!("[{} redacted]", self.signers.len()))
            .field("secure", &self.secure)
            .field("domain", &self.domain)
            .finish()
    }
}

/// A request's `Cookie` headers: almost always exactly one (HTTP/2 may send several), so the
/// first is kept without a `Vec`.
#[derive(Clone)]
pub(crate) struct CookieHeaders {
    first: HeaderValue,
    rest: Vec<HeaderValue>,
}

impl CookieHeaders {
    pub(crate) fn iter(&self) -> impl Iterator<Item = &HeaderValue> {
        std::iter::once(&self.first).chain(&self.rest)
    }
}

impl CookieCodec {
    pub(crate) fn new(key: &Key) -> Self {
        CookieCodec {
            name: "flash".to_owned(),
            signers: signer(key).into_iter().collect(),
            secure: true,
            domain: None,
        }
    }

    /// Also accepts cookies signed with `key`.
    pub(crate) fn add_old_key(&mut self, key: &Key) {
        self.signers.extend(signer(key));
    }

    /// The request's `Cookie` headers, kept for a lazy parse, if one of them has a cookie
    /// of our name: a cheap test done on every request so that requests without it skip
    /// parsing (and verifying) entirely.
    pub(crate) fn candidates(&self, headers: &HeaderMap) -> Option<CookieHeaders> {
        let values = headers.get_all(COOKIE);
        if !values.iter().any(|value| self.names_ours(value)) {
            return None;
        }
        let mut values = values.iter();
        let first = values.next()?.clone();
        Some(CookieHeaders {
            first,
            rest: values.cloned().collect(),
        })
    }

    /// Whether one of the `name=value` pairs of a `Cookie` header has our name: one
    /// comparison per cookie, and no scan past ours (whose value is long).
    fn names_ours(&self, value: &HeaderValue) -> bool {
        let name = self.name.as_bytes();
        let mut rest = value.as_bytes();
        loop {
            let pair = rest.trim_ascii_start();
            if pair.starts_with(name) && pair.get(name.len()) == Some(&b'=') {
                return true;
            }
            match pair.iter().position(|&b| b == b';') {
                Some(end) => rest = &pair[end + 1..],
                None => return false,
            }
        }
    }

    /// The verified id in the request's cookies, trying the current key, then the old ones.
    ///
    /// Headers are read as UTF-8, with anything else replaced: browsers send other cookies'
    /// values as they were set, UTF-8 or Latin-1 included, and one such cookie in the
    /// header must not hide ours (which is ASCII, so the replacement cannot touch it).
    pub(crate) fn read<'a>(
        &self,
        values: impl IntoIterator<Item = &'a HeaderValue>,
    ) -> Option<ClientId> {
        values
            .into_iter()
            // `str::from_utf8` checks ASCII a word at a time; `from_utf8_lossy` walks every
            // byte (about 1,200 instructions for a usual header), so it only handles the rare
            // header that is not UTF-8.
            .map(|v| match std::str::from_utf8(v.as_bytes()) {
                Ok(text) => Cow::Borrowed(text),
                Err(_) => String::from_utf8_lossy(v.as_bytes()),
            })
            .flat_map(Cookie::split_parse)
            .filter_map(Result::ok)
            .filter(|c| c.name() == self.name)
            .find_map(|c| self.verify(c.value()))
    }

    fn verify(&self, value: &str) -> Option<ClientId> {
        if value.len() != DIGEST_LEN + ID_LEN || !value.is_char_boundary(DIGEST_LEN) {
            return None;
        }
        let (digest, id) = value.split_at(DIGEST_LEN);
        let id = ClientId::from_cookie_value(id)?;
        let mut tag = [0u8; 33];
        let len = STANDARD.decode_slice(digest, &mut tag).ok()?;
        self.signers
            .iter()
            .any(|signer| {
                let mut mac = signer.clone();
                mac.update(id.as_str().as_bytes());
                mac.verify_slice(&tag[..len]).is_ok()
            })
            .then_some(id)
    }

    /// The `Set-Cookie` value for `id`, signed with the current key.
    pub(crate) fn write(&self, id: &ClientId, max_age: Duration) -> Option<HeaderValue> {
        let mut mac = self.signers.first()?.clone();
        mac.update(id.as_str().as_bytes());
        let tag = mac.finalize().into_bytes();
        let mut out = String::with_capacity(self.name.len() + DIGEST_LEN + ID_LEN + 96);
        out.push_str(&self.name);
        out.push('=');
        STANDARD.encode_string(tag, &mut out);
        out.push_str(id.as_str());
        // Whole seconds, rounded up: a `Max-Age` of 0 would delete the cookie at once.
        let seconds = max_age.as_secs() + u64::from(max_age.subsec_nanos() > 0);
        let _ = write!(
            out,
            "; HttpOnly; SameSite=Lax; Path=/; Max-Age={}",
            seconds.max(1)
        );
        if self.secure {
            out.push_str("; Secure");
        }
        if let Some(domain) = &self.domain {
            out.push_str("; Domain=");
            out.push_str(domain);
        }
        HeaderValue::try_from(out).ok()
    }
}

#[cfg(test)]
mod fuzz;
#[cfg(test)]
mod tests;
