//! The stored encoding (`fuzz_message_encode_decode_round_trip`): encode → decode gives back
//! exactly any message a push can store (arbitrary kinds, texts, ids, times, expiries,
//! scopes and data: bushy trees, and chains nested up to `MAX_DATA_DEPTH`), and the encoding
//! starts `kind|{"i":"<16 hex>"` as the Redis scripts read it.
#![no_main]

use arbitrary::Unstructured;
use libfuzzer_sys::fuzz_target;
use tower_flash::__fuzz;
use tower_flash::MAX_DATA_DEPTH;
use tower_flash::store::codec;

fuzz_target!(|data: &[u8]| {
    let Ok(message) = tower_flash_fuzz::message(&mut Unstructured::new(data)) else {
        return;
    };
    assert!(__fuzz::data_depth(&message) <= MAX_DATA_DEPTH);
    assert!(__fuzz::is_storable(&message));
    let bytes = codec::encode(&message);
    let head = format!("{}|{{\"i\":\"{}\"", message.kind(), message.id());
    assert!(
        bytes.starts_with(head.as_bytes()),
        "{}",
        String::from_utf8_lossy(&bytes)
    );
    let decoded = codec::decode(&bytes).expect("decodes");
    assert_eq!(decoded, message);
    assert_eq!(codec::encode(&decoded), bytes);
});
