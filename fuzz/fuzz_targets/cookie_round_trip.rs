//! `Set-Cookie` writing (`fuzz_cookie_write_read_round_trip`): write → read is exact for any
//! id, cookie name, `Secure` and TTL up to `MAX_TTL`; `Max-Age` is the TTL in whole seconds
//! rounded up, at least 1 (computed here in integers: a nanosecond past a large TTL counts).
#![no_main]

use std::time::Duration;

use arbitrary::{Result, Unstructured};
use libfuzzer_sys::fuzz_target;
use tower_flash::__fuzz::CookieCodec;
use tower_flash::store::MAX_TTL;
use tower_flash_fuzz::{header, id_of, key, string_of};

fn run(u: &mut Unstructured<'_>) -> Result<()> {
    let id = id_of(u.arbitrary()?);
    let name = string_of(
        u,
        b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-",
        1,
        16,
    )?;
    let seconds = u.int_in_range(0..=MAX_TTL.as_secs())?;
    let nanos = u.int_in_range(0..=999_999_999u32)?;
    let secure: bool = u.arbitrary()?;
    let mut codec = CookieCodec::new(&key());
    codec.set_name(&name);
    codec.set_secure(secure);
    let ttl = Duration::new(seconds, nanos).min(MAX_TTL);
    let set = codec.write(&id, ttl).expect("a cookie for a valid id");
    let set = set.to_str().expect("ASCII");
    let rounded_up = (ttl.as_secs() + u64::from(ttl.subsec_nanos() > 0)).max(1);
    let attributes: Vec<&str> = set.split("; ").skip(1).collect();
    assert!(
        attributes.contains(&format!("Max-Age={rounded_up}").as_str()),
        "{set}"
    );
    for attribute in ["HttpOnly", "SameSite=Lax", "Path=/"] {
        assert!(attributes.contains(&attribute), "{set} lacks {attribute}");
    }
    assert_eq!(attributes.contains(&"Secure"), secure, "{set}");
    let pair = set.split(';').next().unwrap_or(set);
    assert!(pair.starts_with(&format!("{name}=")), "{set}");
    assert_eq!(codec.seen(&[header(pair.as_bytes())]), Some(id), "{set}");
    Ok(())
}

fuzz_target!(|data: &[u8]| {
    let _ = run(&mut Unstructured::new(data));
});
