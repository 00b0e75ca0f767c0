//! `ClientId::new` (`fuzz_client_id_new`): accepts exactly 1 to 128 bytes of
//! `[A-Za-z0-9_.:@-]` and keeps them; `Debug` never panics nor shows the whole id.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tower_flash::{ClientId, MAX_CLIENT_ID_LEN};

fuzz_target!(|id: &str| {
    let valid = (1..=MAX_CLIENT_ID_LEN).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"_-.:@".contains(&b));
    match ClientId::new(id) {
        Ok(client) => {
            assert!(valid, "{id:?} accepted");
            assert_eq!(client.as_str(), id);
            let debug = format!("{client:?}");
            assert!(
                id.len() <= 6 || !debug.contains(&format!("({id}")),
                "{debug}"
            );
        }
        Err(_) => assert!(!valid, "{id:?} refused"),
    }
});
