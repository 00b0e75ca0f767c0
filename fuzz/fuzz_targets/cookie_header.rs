//! The `Cookie` header, the one input every visitor controls (`fuzz_cookie_arbitrary_bytes_are_never_an_id`,
//! `fuzz_cookie_found_among_arbitrary_pairs`): 1 to 3 headers of arbitrary bytes, bare or
//! after `flash=`, are never an id; our valid cookie among arbitrary other pairs (names near
//! ours, values of any character a browser sends), in one header or several, is found
//! exactly when it is there.
#![no_main]

use std::sync::OnceLock;

use arbitrary::{Result, Unstructured};
use http::HeaderValue;
use libfuzzer_sys::fuzz_target;
use tower_flash::__fuzz::CookieCodec;
use tower_flash_fuzz::{header, header_bytes, id_of, key, our_pair};

fn codec() -> &'static CookieCodec {
    static CODEC: OnceLock<CookieCodec> = OnceLock::new();
    CODEC.get_or_init(|| CookieCodec::new(&key()))
}

/// Arbitrary bytes in 1 to 3 `Cookie` headers: never a panic, never an id.
fn arbitrary_bytes(u: &mut Unstructured<'_>) -> Result<()> {
    let count = u.int_in_range(1..=3usize)?;
    let mut values = Vec::with_capacity(count);
    for _ in 0..count {
        let flash = u.arbitrary::<bool>()?;
        let len = u.int_in_range(0..=300usize)?;
        let mut bytes = if flash {
            b"flash=".to_vec()
        } else {
            Vec::new()
        };
        bytes.extend(header_bytes(u.bytes(len.min(u.len()))?));
        values.push(header(&bytes));
    }
    let seen = codec().seen(&values);
    assert_eq!(seen, None, "{values:?}");
    Ok(())
}

/// A pair another application on the site may have set.
fn other_pair(u: &mut Unstructured<'_>) -> Result<String> {
    let name = match u.int_in_range(0..=3u8)? {
        0 => "flash".to_owned(),
        1 => format!(
            "flash{}",
            tower_flash_fuzz::string_of(u, b"abcdefghijklmnopqrstuvwxyz0123456789", 0, 2)?
        ),
        2 => tower_flash_fuzz::string_of(
            u,
            b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-",
            1,
            10,
        )?,
        _ => browser_text(u, 6)?,
    };
    let value = browser_text(u, 40)?;
    Ok(format!("{name}={value}"))
}

/// Up to `max` characters a browser may send in a cookie: anything but `;` and controls
/// other than tab, UTF-8 included.
fn browser_text(u: &mut Unstructured<'_>, max: usize) -> Result<String> {
    let text: String = u.arbitrary()?;
    Ok(text
        .chars()
        .filter(|&c| c != ';' && (c == '\t' || !(c <= '\u{1f}' || c == '\u{7f}')))
        .take(max)
        .collect())
}

/// Our valid cookie among arbitrary others is found exactly when it is present.
fn among_pairs(u: &mut Unstructured<'_>) -> Result<()> {
    let id = id_of(u.arbitrary()?);
    let with_ours: bool = u.arbitrary()?;
    let split: bool = u.arbitrary()?;
    let before = u.int_in_range(0..=5usize)?;
    let after = u.int_in_range(0..=5usize)?;
    let mut pairs = (0..before)
        .map(|_| other_pair(u))
        .collect::<Result<Vec<_>>>()?;
    if with_ours {
        pairs.push(our_pair(codec(), &id));
    }
    for _ in 0..after {
        pairs.push(other_pair(u)?);
    }
    let values: Vec<HeaderValue> = if split {
        pairs.iter().map(|p| header(p.as_bytes())).collect()
    } else {
        vec![header(pairs.join("; ").as_bytes())]
    };
    let expected = with_ours.then_some(id);
    assert_eq!(codec().seen(&values), expected, "{values:?}");
    Ok(())
}

fuzz_target!(|data: &[u8]| {
    let mut u = Unstructured::new(data);
    let _ = if u.arbitrary::<bool>().unwrap_or(false) {
        among_pairs(&mut u)
    } else {
        arbitrary_bytes(&mut u)
    };
});
