//! proptest strategies for messages, shared by the `fuzz_*` properties of other modules
//! (the stored encoding's among them), and the message id's own property. Cases per
//! property: `PROPTEST_CASES` (256 by default).

use super::*;

use proptest::prelude::*;
use serde_json::Value;

/// The configuration of the costliest properties (milliseconds a case in a debug
/// build): 64 cases unless `PROPTEST_CASES` says otherwise, so that the default test
/// run stays short; a long run sets `PROPTEST_CASES` for all properties alike.
pub(crate) fn costly() -> ProptestConfig {
    let mut config = ProptestConfig::default();
    if std::env::var_os("PROPTEST_CASES").is_none() {
        config.cases = 64;
    }
    config
}

pub(crate) fn kind() -> impl Strategy<Value = Kind> {
    prop_oneof![
        proptest::sample::select(Level::ALL.to_vec()).prop_map(Kind::from),
        "[A-Za-z0-9_.:-]{1,32}".prop_map(|k| Kind::new(&k).expect("a valid kind")),
    ]
}

fn leaf() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>().prop_filter_map("finite", |f| serde_json::Number::from_f64(f)
            .map(Value::Number)),
        any::<String>().prop_map(Value::from),
    ]
}

/// JSON data: bushy trees, and chains as deep as a push accepts.
pub(crate) fn data() -> impl Strategy<Value = Value> {
    let tree = leaf().prop_recursive(8, 64, 6, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            proptest::collection::vec((any::<String>(), inner), 0..6)
                .prop_map(|entries| Value::Object(entries.into_iter().collect())),
        ]
    });
    let chain = (
        leaf(),
        proptest::collection::vec((any::<bool>(), any::<String>()), 0..=MAX_DATA_DEPTH),
    )
        .prop_map(|(leaf, levels)| {
            levels.into_iter().fold(leaf, |inner, (array, key)| {
                if array {
                    Value::Array(vec![inner])
                } else {
                    Value::Object([(key, inner)].into_iter().collect())
                }
            })
        });
    prop_oneof![tree, chain]
}

fn scope() -> impl Strategy<Value = Scope> {
    (
        any::<String>(),
        proptest::collection::vec((any::<String>(), any::<String>()), 0..4),
        any::<u64>(),
    )
        .prop_map(|(path, params, until)| Scope {
            path,
            params,
            until,
        })
}

/// Any message a push can store: every field arbitrary, data within `MAX_DATA_DEPTH`.
pub(crate) fn message() -> impl Strategy<Value = Message> {
    (
        any::<u64>(),
        kind(),
        any::<String>(),
        proptest::option::of(data()),
        any::<u64>(),
        proptest::option::of(any::<u64>()),
        proptest::option::of(scope()),
    )
        .prop_map(
            |(id, kind, text, data, created_at, expires_at, scope)| Message {
                id: MessageId(id),
                kind,
                text,
                data,
                created_at,
                expires_at,
                scope,
            },
        )
}

proptest! {
    /// A message id is read only in the form it is written: 16 hex digits.
    #[test]
    fn fuzz_message_id_parses_only_16_hex_digits(text in prop_oneof!["[0-9a-fA-F+-]{16}", "\\PC{0,20}"]) {
        let canonical = text.len() == 16 && text.bytes().all(|b| b.is_ascii_hexdigit());
        match text.parse::<MessageId>() {
            Ok(id) => {
                prop_assert!(canonical, "{:?} accepted", text);
                prop_assert_eq!(id.to_string(), text.to_ascii_lowercase());
            }
            Err(_) => prop_assert!(!canonical, "{:?} refused", text),
        }
    }
}
