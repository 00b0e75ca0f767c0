//! The stored encoding of a [`Message`]: what a store that keeps bytes (Redis, or your
//! own) writes and reads back.
//!
//! A message is stored as `kind|{json}`: the kind first and in clear, so that a store can
//! select messages of one kind without decoding them (the Redis store does it in Lua with a
//! prefix match), then a compact JSON object with the id, text, creation time, and when
//! present the data, expiry and redirect scope. The field order is part of the format: the
//! Redis scripts read the id at a fixed place (`kind|{"i":"<16 hex digits>"`).
//!
//! ```
//! use tower_flash::{Level, Message};
//! use tower_flash::store::codec;
//!
//! let message = Message::new(Level::Info, "Saved");
//! let bytes = codec::encode(&message);
//! assert!(bytes.starts_with(b"info|{\"i\":\""));
//! assert_eq!(codec::decode(&bytes)?, message);
//! assert!(codec::decode(b"info|not json").is_err());
//! # Ok::<(), codec::DecodeError>(())
//! ```

use serde::{Deserialize, Deserializer, Serialize};

use crate::message::{Kind, Message, MessageId, Scope};

/// Bytes that are not a stored message: not written by [`encode`], or damaged.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not a stored flash message: {reason}")]
pub struct DecodeError {
    reason: String,
}

impl DecodeError {
    fn new(reason: impl Into<String>) -> Self {
        DecodeError {
            reason: reason.into(),
        }
    }
}

/// Encodes `message` for a store: `kind|{json}`.
pub fn encode(message: &Message) -> Vec<u8> {
    let kind = message.kind.as_str();
    let mut out = Vec::with_capacity(kind.len() + message.text.len() + 48);
    out.extend_from_slice(kind.as_bytes());
    out.push(b'|');
    let wire = WireRef {
        i: message.id,
        t: &message.text,
        c: message.created_at,
        d: message.data.as_ref(),
        x: message.expires_at,
        s: message.scope.as_ref(),
    };
    // Writing JSON into a Vec fails only for maps with non-string keys, which these fields
    // cannot hold.
    if serde_json::to_writer(&mut out, &wire).is_err() {
        out.truncate(kind.len() + 1);
        out.extend_from_slice(b"{}");
    }
    out
}

/// Decodes a message written by [`encode`].
pub fn decode(bytes: &[u8]) -> Result<Message, DecodeError> {
    let sep = bytes
        .iter()
        .position(|&b| b == b'|')
        .ok_or_else(|| DecodeError::new("no kind separator"))?;
    let kind = std::str::from_utf8(&bytes[..sep])
        .map_err(|_| DecodeError::new("kind is not UTF-8"))
        .and_then(|k| Kind::new(k).map_err(|e| DecodeError::new(e.to_string())))?;
    let wire: WireOwned =
        serde_json::from_slice(&bytes[sep + 1..]).map_err(|e| DecodeError::new(e.to_string()))?;
    Ok(Message {
        id: wire.i,
        kind,
        text: wire.t,
        data: wire.d,
        created_at: wire.c,
        expires_at: wire.x,
        scope: wire.s,
    })
}

#[derive(Serialize)]
struct WireRef<'a> {
    i: MessageId,
    t: &'a str,
    c: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    d: Option<&'a serde_json::Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    x: Option<u64>,
    // Redis scripts find scoped messages by the bytes `"s":`, which cannot occur inside a
    // JSON string; keep this key name in step with them.
    #[serde(skip_serializing_if = "Option::is_none")]
    s: Option<&'a Scope>,
}

#[derive(Deserialize)]
struct WireOwned {
    i: MessageId,
    t: String,
    c: u64,
    // `"d":null` is data that is JSON null, written only for `Some(Null)`: plain `Option`
    // would read it as no data, and the memory store (which keeps messages as they are)
    // would disagree with Redis.
    #[serde(default, deserialize_with = "present")]
    d: Option<serde_json::Value>,
    #[serde(default)]
    x: Option<u64>,
    #[serde(default)]
    s: Option<Scope>,
}

/// A field that is present, even as `null`.
fn present<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<serde_json::Value>, D::Error> {
    serde_json::Value::deserialize(deserializer).map(Some)
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::message::Level;

    #[test]
    fn encode_decode_round_trip() {
        let m = Message::new(Kind::new("notice").unwrap(), "Hé | \"quoted\"\n")
            .with_data(serde_json::json!({"link": "/x", "n": 3}));
        let bytes = encode(&m);
        assert!(bytes.starts_with(b"notice|{"));
        assert_eq!(decode(&bytes).unwrap(), m);
        let plain = Message::new(Level::Info, "Saved");
        assert_eq!(decode(&encode(&plain)).unwrap(), plain);
    }

    #[test]
    fn expiry_and_scope_survive_encoding() {
        let mut m = Message::new(Level::Info, "x").expires_in(Duration::from_secs(5));
        m.set_scope(Some(Scope {
            path: "/p".into(),
            params: vec![("a".into(), "1".into())],
            until: 9,
        }));
        let bytes = encode(&m);
        let text = std::str::from_utf8(&bytes).unwrap();
        assert!(text.contains(r#""s":{"p":"/p""#), "{text}");
        assert_eq!(decode(&bytes).unwrap(), m);
        // Text can never fake the scope marker: quotes inside strings are escaped.
        let sneaky = encode(&Message::new(Level::Info, r#""s":{"p":"/x"}"#));
        assert!(!std::str::from_utf8(&sneaky).unwrap().contains(r#""s":{"#));
    }

    /// Found by `fuzz_message_encode_decode_round_trip`: data that is JSON `null` came back
    /// as no data from Redis (the memory store kept it).
    #[test]
    fn regression_null_data_survives_encoding() {
        let m = Message::new(Level::Info, "x").with_data(serde_json::Value::Null);
        let back = decode(&encode(&m)).unwrap();
        assert_eq!(back.data(), Some(&serde_json::Value::Null));
        assert_eq!(back, m);
        let none = Message::new(Level::Info, "x");
        assert_eq!(decode(&encode(&none)).unwrap().data(), None);
    }

    /// Found by `fuzz_message_encode_decode_round_trip`: without serde_json's exact float
    /// parsing, a float in `data` could come back from Redis off by one unit in the last place.
    #[test]
    fn regression_float_data_survives_encoding() {
        let data = serde_json::json!([-3.7956255695157763e167, 0.1, 1e-300, f64::MAX]);
        let m = Message::new(Level::Info, "x").with_data(data);
        assert_eq!(decode(&encode(&m)).unwrap(), m);
    }

    #[test]
    fn encoding_is_compact() {
        let m = Message::new(Level::Info, "Saved");
        // kind, separator, id, text, time and the JSON punctuation: nothing else.
        assert!(encode(&m).len() <= 60, "{}", encode(&m).len());
    }

    #[test]
    fn decode_rejects_garbage_without_panicking() {
        for bad in [
            &b""[..],
            b"info",
            b"|{}",
            b"in fo|{\"i\":\"0000000000000001\",\"t\":\"x\",\"c\":1}",
            b"info|not json",
            b"info|{\"i\":\"zz\",\"t\":\"x\",\"c\":1}",
            b"\xff\xfe|{}",
        ] {
            assert!(decode(bad).is_err(), "{bad:?}");
        }
    }
}

/// Property tests of the stored encoding (`fuzz_*`; VERIFICATION.md): what a store hands
/// back is decoded on every read, so a corrupted or hostile store value must never panic,
/// and what a push accepts must come back exactly.
#[cfg(test)]
mod fuzz {
    use proptest::prelude::*;

    use super::*;
    use crate::message::MAX_DATA_DEPTH;
    use crate::message::fuzz::{costly, message};

    proptest! {
        /// encode → decode gives back exactly the message, and the encoding starts the way
        /// the Redis scripts read it: `kind|{"i":"<16 lowercase hex>"`.
        #[test]
        fn fuzz_message_encode_decode_round_trip(message in message()) {
            prop_assert!(message.data_depth() <= MAX_DATA_DEPTH);
            prop_assert!(Message::check_storable(std::slice::from_ref(&message)).is_ok());
            let bytes = encode(&message);
            let head = format!("{}|{{\"i\":\"{}\"", message.kind(), message.id());
            prop_assert!(bytes.starts_with(head.as_bytes()));
            prop_assert_eq!(decode(&bytes).expect("decodes"), message);
        }

        /// Arbitrary bytes, bare or behind a valid kind, never panic; what decodes encodes
        /// back to something that decodes to the same message.
        #[test]
        fn fuzz_message_decode_arbitrary_bytes(
            prefix in prop_oneof![Just(String::new()), Just("info|".to_owned()), Just("info|{\"i\":\"".to_owned())],
            bytes in proptest::collection::vec(any::<u8>(), 0..256),
        ) {
            let input = [prefix.as_bytes(), &bytes].concat();
            if let Ok(message) = decode(&input) {
                prop_assert_eq!(decode(&encode(&message)).expect("re-decodes"), message);
            }
        }

    }

    proptest! {
        #![proptest_config(costly())]

        /// Every truncation of a valid encoding is refused without a panic; a valid
        /// encoding with one byte changed never panics either.
        #[test]
        fn fuzz_message_decode_truncated_and_mutated(
            message in message(),
            at in any::<proptest::sample::Index>(),
            byte in any::<u8>(),
        ) {
            let bytes = encode(&message);
            for cut in 0..bytes.len() {
                prop_assert!(decode(&bytes[..cut]).is_err(), "prefix of {} bytes", cut);
            }
            let mut mutated = bytes.clone();
            let at = at.index(mutated.len());
            mutated[at] = byte;
            if let Ok(decoded) = decode(&mutated) {
                prop_assert_eq!(decode(&encode(&decoded)).expect("re-decodes"), decoded);
            }
        }

    }
}
