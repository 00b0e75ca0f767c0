//! Cookie verification (`fuzz_cookie_forged_signatures_are_refused`,
//! `fuzz_cookie_one_byte_changed_is_refused`): a random or truncated signature on any id, or
//! one made with another key, is refused (the other key verifies once added with
//! `add_old_key`); our valid `flash=…` pair with one byte replaced by any header byte, or cut
//! short, is refused.
#![no_main]

use std::sync::OnceLock;

use arbitrary::{Result, Unstructured};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use libfuzzer_sys::fuzz_target;
use tower_flash::__fuzz::CookieCodec;
use tower_flash::Key;
use tower_flash_fuzz::{header, id_of, is_header_byte, key, our_pair};

fn codec() -> &'static CookieCodec {
    static CODEC: OnceLock<CookieCodec> = OnceLock::new();
    CODEC.get_or_init(|| CookieCodec::new(&key()))
}

fn forged(u: &mut Unstructured<'_>) -> Result<()> {
    let id = id_of(u.arbitrary()?);
    let tag: [u8; 32] = u.arbitrary()?;
    let short = u.int_in_range(0..=31usize)?;
    for tag in [&tag[..], &tag[..short]] {
        let forged = format!("flash={}{id}", STANDARD.encode(tag));
        assert_eq!(codec().seen(&[header(forged.as_bytes())]), None, "{forged}");
    }
    let other: [u8; 32] = u.arbitrary()?;
    let other_key = Key::from(&[other, other].concat());
    if other_key.signing() == key().signing() {
        return Ok(());
    }
    let signed_elsewhere = our_pair(&CookieCodec::new(&other_key), &id);
    assert_eq!(
        codec().seen(&[header(signed_elsewhere.as_bytes())]),
        None,
        "{signed_elsewhere}"
    );
    let mut rotated = CookieCodec::new(&key());
    rotated.add_old_key(&other_key);
    assert_eq!(
        rotated.seen(&[header(signed_elsewhere.as_bytes())]),
        Some(id)
    );
    Ok(())
}

fn one_byte_changed(u: &mut Unstructured<'_>) -> Result<()> {
    let id = id_of(u.arbitrary()?);
    let original = our_pair(codec(), &id).into_bytes();
    let mut pair = original.clone();
    let at = u.choose_index(pair.len())?;
    let byte: u8 = u.arbitrary()?;
    let byte = if is_header_byte(byte) { byte } else { b' ' };
    pair[at] = byte;
    if pair != original {
        assert_eq!(
            codec().seen(&[header(&pair)]),
            None,
            "{}",
            String::from_utf8_lossy(&pair)
        );
    }
    let cut = u.choose_index(original.len())?;
    assert_eq!(codec().seen(&[header(&original[..cut])]), None);
    // Unchanged, it is ours.
    assert_eq!(codec().seen(&[header(&original)]), Some(id));
    Ok(())
}

fuzz_target!(|data: &[u8]| {
    let mut u = Unstructured::new(data);
    let _ = if u.arbitrary::<bool>().unwrap_or(false) {
        forged(&mut u)
    } else {
        one_byte_changed(&mut u)
    };
});
