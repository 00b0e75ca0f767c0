//! Unit tests of the message model.

use super::*;

#[test]
fn scope_admits_its_path_and_params_then_anyone() {
    let scope = Scope {
        path: "/target".into(),
        params: vec![("tab".into(), "2".into())],
        until: 100,
    };
    let q = |pairs: &[(&str, &str)]| -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).into(), (*v).into()))
            .collect()
    };
    assert!(scope.admits("/target", &q(&[("tab", "2"), ("x", "y")]), 0));
    assert!(!scope.admits("/target", &q(&[]), 0));
    assert!(!scope.admits("/other", &q(&[("tab", "2")]), 0));
    assert!(
        scope.admits("/other", &q(&[]), 100),
        "fallback after the deadline"
    );
}

/// Found by `fuzz_message_id_parses_only_16_hex_digits`: a signed id such as
/// `+000000000000001` was read as id 1, which the Redis scripts (matching `%x+`) would
/// not see as the same message.
#[test]
fn regression_message_ids_take_no_sign() {
    assert!("+000000000000001".parse::<MessageId>().is_err());
    assert_eq!(
        "000000000000000A".parse::<MessageId>().unwrap(),
        MessageId(10)
    );
}

#[test]
fn kind_validation() {
    assert!(Kind::new("a.b-c_d:e9").is_ok());
    assert!(Kind::new(&"x".repeat(MAX_KIND_LEN)).is_ok());
    assert!(Kind::new(&"x".repeat(MAX_KIND_LEN + 1)).is_err());
    assert!(Kind::new("a|b").is_err());
    assert!(Kind::new("é").is_err());
    assert_eq!(Kind::new("info").unwrap(), Kind::from(Level::Info));
}

#[test]
fn public_serialization_round_trips() {
    let m = Message::new(Level::Warning, "<b>careful</b>");
    let json = serde_json::to_value(&m).unwrap();
    assert_eq!(json["kind"], "warning");
    assert_eq!(json["text"], "<b>careful</b>");
    assert_eq!(json["id"].as_str().unwrap().len(), 16);
    let back: Message = serde_json::from_value(json).unwrap();
    assert_eq!(back, m);
}

#[test]
fn levels_have_django_ranks() {
    let ranks: Vec<u8> = Level::ALL.iter().map(|l| l.rank()).collect();
    assert_eq!(ranks, [10, 20, 25, 30, 40]);
}
