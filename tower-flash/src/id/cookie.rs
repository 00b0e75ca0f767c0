//! The signed cookie that carries a [`ClientId`]: written on a write, read (lazily) on every
//! request that may have messages.

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
            .map(|v| String::from_utf8_lossy(v.as_bytes()))
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
mod tests {
    use super::*;

    use cookie::CookieJar;

    fn codec() -> CookieCodec {
        CookieCodec::new(&Key::generate())
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
        let old_key = Key::generate();
        let old = CookieCodec::new(&old_key);
        let id = ClientId::random();
        let set = old.write(&id, Duration::from_secs(60)).unwrap();
        let mut new = codec();
        assert_eq!(new.read([&cookie_pair(&set)]), None);
        new.add_old_key(&old_key);
        assert_eq!(new.read([&cookie_pair(&set)]), Some(id));
    }

    /// The value is the cookie crate's signed format: its jar reads ours, we read its.
    #[test]
    fn compatible_with_the_cookie_crates_signed_jar() {
        let key = Key::generate();
        let codec = CookieCodec::new(&key);
        let id = ClientId::random();
        let ours = cookie_pair(&codec.write(&id, Duration::from_secs(60)).unwrap());
        let parsed = Cookie::parse(ours.to_str().unwrap().to_owned()).unwrap();
        let verified = CookieJar::new().signed(&key).verify(parsed).unwrap();
        assert_eq!(verified.value(), id.as_str());

        let mut jar = CookieJar::new();
        jar.signed_mut(&key).add(("flash", id.as_str().to_owned()));
        let theirs = jar.get("flash").unwrap().to_string();
        assert_eq!(codec.read([&header(&theirs)]), Some(id));
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
        let key = Key::generate();
        let codec = CookieCodec::new(&key);
        jar.signed_mut(&key).add(("flash", "{injected}"));
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
        assert_eq!(codec.read([&header("a=1"), &pair]), Some(id.clone()));
        let mut headers = HeaderMap::new();
        headers.append(COOKIE, header("a=1; xflash=1; b=flash=1"));
        assert!(
            codec.candidates(&headers).is_none(),
            "no cookie named flash"
        );
        headers.append(COOKIE, pair);
        let found = codec
            .candidates(&headers)
            .expect("the second header has it");
        assert_eq!(
            found.iter().count(),
            2,
            "every header is kept for the parse"
        );
        assert_eq!(codec.read(found.iter()), Some(id));
        let spaced = HeaderMap::from_iter([(COOKIE, header("a=1;flash=x"))]);
        assert!(
            codec.candidates(&spaced).is_some(),
            "with or without a space"
        );
    }

    /// Found by `fuzz_cookie_found_among_arbitrary_pairs`: a header with a non-ASCII cookie
    /// (`name=José`, set by another part of the site) was skipped whole, flash cookie
    /// included, so such a visitor never saw a message and got a new id on every write.
    #[test]
    fn regression_a_non_ascii_cookie_beside_ours_does_not_hide_it() {
        let codec = codec();
        let id = ClientId::random();
        let pair = cookie_pair(&codec.write(&id, Duration::from_secs(60)).unwrap());
        let pair = pair.to_str().unwrap();
        for other in [&b"name=Jos\xc3\xa9"[..], b"name=Jos\xe9", b"\xff=\xfe"] {
            let mut value = other.to_vec();
            value.extend_from_slice(b"; ");
            value.extend_from_slice(pair.as_bytes());
            let value = HeaderValue::from_bytes(&value).unwrap();
            assert_eq!(codec.read([&value]), Some(id.clone()), "{value:?}");
        }
    }

    /// The check of `fuzz_cookie_write_read_round_trip` computed the expected `Max-Age` as
    /// `ttl.as_secs_f64().ceil()`: a nanosecond past a large TTL is lost in an `f64` (its
    /// spacing near 400 days is about 7 ns), so the check expected one second less than
    /// the cookie rightly says. A defect of the test, not of `write`, which rounds up in
    /// integers; the check now does too.
    #[test]
    fn regression_max_age_rounds_up_a_nanosecond_past_a_large_ttl() {
        let codec = codec();
        let id = ClientId::random();
        let ttl = crate::store::MAX_TTL - Duration::from_secs(1) + Duration::from_nanos(1);
        assert_eq!(
            ttl.as_secs_f64().ceil() as u64,
            ttl.as_secs(),
            "f64 loses the nanosecond"
        );
        let set = codec.write(&id, ttl).unwrap();
        let expected = format!("; Max-Age={};", ttl.as_secs() + 1);
        assert!(set.to_str().unwrap().contains(&expected), "{set:?}");
        let ttl = Duration::new(86_400, 1);
        let set = codec.write(&id, ttl).unwrap();
        assert!(
            set.to_str().unwrap().contains("; Max-Age=86401;"),
            "{set:?}"
        );
    }

    #[test]
    fn debug_redacts() {
        let codec = codec();
        assert!(format!("{codec:?}").contains("redacted"));
        let id = ClientId::random();
        assert!(!format!("{id:?}").contains(id.as_str()));
    }
}

/// Property tests of the cookie parser and verifier (`fuzz_*`; VERIFICATION.md): the
/// `Cookie` header is the one input every visitor controls. Cases per property:
/// `PROPTEST_CASES` (256 by default).
#[cfg(test)]
mod fuzz {
    use super::*;
    use crate::id::MAX_CLIENT_ID_LEN;

    use proptest::prelude::*;

    /// What the layer makes of a request's `Cookie` headers: the cheap test, then the parse.
    fn seen(codec: &CookieCodec, values: &[HeaderValue]) -> Option<ClientId> {
        let mut headers = HeaderMap::new();
        for value in values {
            headers.append(COOKIE, value.clone());
        }
        codec
            .candidates(&headers)
            .and_then(|found| codec.read(found.iter()))
    }

    /// Bytes a `HeaderValue` accepts: visible ASCII, space, tab and obs-text (>= 0x80).
    fn header_bytes(max: usize) -> impl Strategy<Value = Vec<u8>> {
        proptest::collection::vec(any::<u8>(), 0..max).prop_map(|bytes| {
            bytes
                .into_iter()
                .filter(|&b| (b >= 0x20 && b != 0x7f) || b == b'\t')
                .collect()
        })
    }

    fn header(bytes: &[u8]) -> HeaderValue {
        HeaderValue::from_bytes(bytes).expect("only bytes a header value accepts")
    }

    /// A cookie pair another application on the site may have set: names near ours, values
    /// of any character a browser sends (UTF-8 included), quotes and `=` included.
    fn other_pair() -> impl Strategy<Value = String> {
        let name = prop_oneof![
            Just("flash".to_owned()),
            "flash[a-z0-9]{0,2}",
            "[a-zA-Z0-9_.-]{1,10}",
            " ?[a-z]{0,4}=?",
        ];
        (name, "[^;\\x00-\\x08\\x0a-\\x1f\\x7f]{0,40}").prop_map(|(n, v)| format!("{n}={v}"))
    }

    fn our_pair(codec: &CookieCodec, id: &ClientId) -> String {
        let set = codec
            .write(id, Duration::from_secs(60))
            .expect("a cookie for a valid id");
        let set = set.to_str().expect("ASCII");
        set.split(';').next().unwrap_or(set).to_owned()
    }

    fn id_of(bits: u128) -> ClientId {
        ClientId::from_cookie_value(&format!("{bits:032x}")).expect("32 hex digits")
    }

    proptest! {
        /// Arbitrary bytes in any number of `Cookie` headers: never a panic, never an id.
        #[test]
        fn fuzz_cookie_arbitrary_bytes_are_never_an_id(
            values in proptest::collection::vec(
                prop_oneof![header_bytes(300), header_bytes(300).prop_map(|b| [&b"flash="[..], &b].concat())],
                1..4,
            )
        ) {
            let codec = CookieCodec::new(&Key::from(&[7u8; 64]));
            let values: Vec<HeaderValue> = values.iter().map(|b| header(b)).collect();
            prop_assert_eq!(seen(&codec, &values), None);
        }

        /// Our valid cookie among any other cookies, in any header and position, is found,
        /// whatever the other cookies hold; without it, nothing is.
        #[test]
        fn fuzz_cookie_found_among_arbitrary_pairs(
            bits in any::<u128>(),
            before in proptest::collection::vec(other_pair(), 0..6),
            after in proptest::collection::vec(other_pair(), 0..6),
            split in any::<bool>(),
            with_ours in any::<bool>(),
        ) {
            let codec = CookieCodec::new(&Key::from(&[7u8; 64]));
            let id = id_of(bits);
            let ours = our_pair(&codec, &id);
            let mut pairs = before.clone();
            if with_ours {
                pairs.push(ours);
            }
            pairs.extend(after.iter().cloned());
            let values: Vec<HeaderValue> = if split {
                pairs.iter().map(|p| header(p.as_bytes())).collect()
            } else {
                vec![header(pairs.join("; ").as_bytes())]
            };
            let expected = with_ours.then_some(id);
            prop_assert_eq!(seen(&codec, &values), expected);
        }

        /// A forged signature (random, or made with another key) on any id is refused; an
        /// old key verifies only once it is added for rotation.
        #[test]
        fn fuzz_cookie_forged_signatures_are_refused(
            bits in any::<u128>(),
            tag in any::<[u8; 32]>(),
            short in 0usize..32,
            other in any::<[u8; 32]>(),
        ) {
            let key = Key::from(&[7u8; 64]);
            let codec = CookieCodec::new(&key);
            let id = id_of(bits);
            for tag in [&tag[..], &tag[..short]] {
                let forged = format!("flash={}{id}", STANDARD.encode(tag));
                prop_assert_eq!(seen(&codec, &[header(forged.as_bytes())]), None);
            }
            let other_key = Key::from(&[other, other].concat());
            prop_assume!(other_key.signing() != key.signing());
            let signed_elsewhere = our_pair(&CookieCodec::new(&other_key), &id);
            prop_assert_eq!(seen(&codec, &[header(signed_elsewhere.as_bytes())]), None);
            let mut rotated = CookieCodec::new(&key);
            rotated.add_old_key(&other_key);
            prop_assert_eq!(seen(&rotated, &[header(signed_elsewhere.as_bytes())]), Some(id));
        }

        /// Our own valid cookie with one byte changed, or cut short, is never accepted.
        #[test]
        fn fuzz_cookie_one_byte_changed_is_refused(
            bits in any::<u128>(),
            at in any::<proptest::sample::Index>(),
            byte in any::<u8>().prop_filter("a header byte", |&b| (b >= 0x20 && b != 0x7f) || b == b'\t'),
            cut in any::<proptest::sample::Index>(),
        ) {
            let codec = CookieCodec::new(&Key::from(&[7u8; 64]));
            let id = id_of(bits);
            let mut pair = our_pair(&codec, &id).into_bytes();
            let original = pair.clone();
            let at = at.index(pair.len());
            pair[at] = byte;
            if pair != original {
                prop_assert_eq!(seen(&codec, &[header(&pair)]), None, "{}", String::from_utf8_lossy(&pair));
            }
            let cut = cut.index(original.len());
            prop_assert_eq!(seen(&codec, &[header(&original[..cut])]), None);
        }

        /// write → read is exact for every id, cookie name and TTL the layer can be given.
        #[test]
        fn fuzz_cookie_write_read_round_trip(
            bits in any::<u128>(),
            name in "[A-Za-z0-9_.-]{1,16}",
            seconds in 0u64..=crate::store::MAX_TTL.as_secs(),
            nanos in 0u32..1_000_000_000,
            secure in any::<bool>(),
        ) {
            let mut codec = CookieCodec::new(&Key::from(&[7u8; 64]));
            codec.name = name;
            codec.secure = secure;
            let id = id_of(bits);
            let ttl = Duration::new(seconds, nanos).min(crate::store::MAX_TTL);
            let set = codec.write(&id, ttl).expect("a cookie for a valid id");
            let set = set.to_str().expect("ASCII");
            // Rounded up in integers: an `f64` loses a nanosecond past a large TTL
            // (`tests::regression_max_age_rounds_up_a_nanosecond_past_a_large_ttl`).
            let seconds = (ttl.as_secs() + u64::from(ttl.subsec_nanos() > 0)).max(1);
            let max_age = format!("Max-Age={seconds}");
            prop_assert!(set.split("; ").any(|a| a == max_age), "{} lacks {}", set, max_age);
            let pair = set.split(';').next().unwrap_or(set);
            prop_assert_eq!(seen(&codec, &[header(pair.as_bytes())]), Some(id));
        }

        /// `ClientId::new` accepts exactly 1 to 128 bytes of its alphabet and keeps them as
        /// they are; its `Debug` never panics nor shows the whole id.
        #[test]
        fn fuzz_client_id_new(
            id in prop_oneof!["[A-Za-z0-9_.:@-]{0,140}", "\\PC{0,140}", ".{0,8}"],
        ) {
            let valid = (1..=MAX_CLIENT_ID_LEN).contains(&id.len())
                && id.bytes().all(|b| b.is_ascii_alphanumeric() || b"_-.:@".contains(&b));
            match ClientId::new(&id) {
                Ok(client) => {
                    prop_assert!(valid, "{:?} accepted", id);
                    prop_assert_eq!(client.as_str(), id.as_str());
                    let debug = format!("{client:?}");
                    prop_assert!(id.len() <= 6 || !debug.contains(&format!("({id}")), "{}", debug);
                }
                Err(_) => prop_assert!(!valid, "{:?} refused", id),
            }
        }
    }
}
