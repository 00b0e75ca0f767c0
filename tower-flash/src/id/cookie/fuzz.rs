//! Property tests of the cookie parser and verifier (`fuzz_*`; VERIFICATION.md): the
//! `Cookie` header is the one input every visitor controls. Cases per property:
//! `PROPTEST_CASES` (256 by default).

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
