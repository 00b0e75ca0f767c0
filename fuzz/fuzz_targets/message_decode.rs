//! The stored encoding as a store hands it back (`fuzz_message_decode_arbitrary_bytes`,
//! `fuzz_message_id_parses_only_16_hex_digits`): arbitrary bytes, bare or after `info|` or
//! `info|{"i":"`, never panic, and what decodes re-encodes to the same message; a message id
//! parses only as 16 hex digits.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tower_flash::MessageId;
use tower_flash::store::codec;

fuzz_target!(|data: &[u8]| {
    let Some((&selector, bytes)) = data.split_first() else {
        return;
    };
    let prefix: &[u8] = match selector % 4 {
        0 => b"",
        1 => b"info|",
        2 => b"info|{\"i\":\"",
        _ => {
            // A message id, as the encoding holds it.
            let Ok(text) = std::str::from_utf8(bytes) else {
                return;
            };
            let canonical = text.len() == 16 && text.bytes().all(|b| b.is_ascii_hexdigit());
            match text.parse::<MessageId>() {
                Ok(id) => {
                    assert!(canonical, "{text:?} accepted");
                    assert_eq!(id.to_string(), text.to_ascii_lowercase());
                }
                Err(_) => assert!(!canonical, "{text:?} refused"),
            }
            return;
        }
    };
    let input = [prefix, bytes].concat();
    if let Ok(message) = codec::decode(&input) {
        let encoded = codec::encode(&message);
        let again = codec::decode(&encoded).expect("re-decodes");
        assert_eq!(again, message);
        assert_eq!(codec::encode(&again), encoded);
    }
});
