//! Truncated and mutated encodings (`fuzz_message_decode_truncated_and_mutated`): a valid
//! encoding cut short anywhere is refused without a panic; with one byte changed it never
//! panics, and what decodes is stable. The input chooses the message, two cut points and
//! the change, so each execution decodes a fixed number of times (the property decodes
//! every truncation of one message per case, which is what makes it slow).
#![no_main]

use arbitrary::Unstructured;
use libfuzzer_sys::fuzz_target;
use tower_flash::store::codec;

fuzz_target!(|data: &[u8]| {
    // The choices first, from the end of the input, so that they do not shift the message.
    let Some((data, choices)) = data.split_last_chunk::<6>() else {
        return;
    };
    let Ok(message) = tower_flash_fuzz::message(&mut Unstructured::new(data)) else {
        return;
    };
    let bytes = codec::encode(&message);
    let [a0, a1, b0, at0, at1, byte] = *choices;
    let len = bytes.len();
    // Two cuts: one anywhere, one within the last 256 bytes (where the JSON closes).
    let near_end = len.saturating_sub(1 + usize::from(b0));
    for cut in [usize::from(u16::from_le_bytes([a0, a1])) % len, near_end] {
        assert!(
            codec::decode(&bytes[..cut]).is_err(),
            "prefix of {cut} bytes of {}",
            String::from_utf8_lossy(&bytes)
        );
    }
    let at = usize::from(u16::from_le_bytes([at0, at1])) % len;
    let mut mutated = bytes.clone();
    mutated[at] = byte;
    if let Ok(decoded) = codec::decode(&mutated) {
        assert_eq!(
            codec::decode(&codec::encode(&decoded)).expect("re-decodes"),
            decoded
        );
    }
    assert_eq!(
        codec::decode(&bytes).expect("the whole encoding decodes"),
        message
    );
});
