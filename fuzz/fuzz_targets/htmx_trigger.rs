//! The `HX-Trigger` header (`fuzz_htmx_trigger_is_bounded_ascii_json_with_the_exact_texts`,
//! `fuzz_htmx_trigger_merges_arbitrary_handler_headers`): 0 to 39 messages of arbitrary
//! text, header bounds of 0 to 599 and 4096 bytes, and 0 to 2 handler `HX-Trigger`s of
//! arbitrary bytes, text or JSON objects: no panic; the header is visible ASCII, within the
//! bound, JSON whose `flash` texts are exactly those sent, in order; sent + left over = all
//! messages, left over in order; every event of the handler's JSON objects is kept.
#![no_main]

use arbitrary::{Result, Unstructured};
use http::HeaderValue;
use libfuzzer_sys::fuzz_target;
use serde_json::Value;
use tower_flash::__fuzz::{htmx_header, message};
use tower_flash::{HtmxDelivery, Kind, Level, Message};
use tower_flash_fuzz::header_bytes;

fn handler_header(u: &mut Unstructured<'_>) -> Result<Option<HeaderValue>> {
    let bytes = match u.int_in_range(0..=2u8)? {
        0 => {
            let len = u.int_in_range(0..=200usize)?;
            header_bytes(u.bytes(len.min(u.len()))?)
        }
        1 => u.arbitrary::<String>()?.into_bytes(),
        _ => {
            let len = u.int_in_range(0..=3usize)?;
            let mut events = std::collections::BTreeMap::new();
            for _ in 0..len {
                events.insert(u.arbitrary::<String>()?, u.arbitrary::<i32>()?);
            }
            serde_json::to_vec(&events).unwrap_or_default()
        }
    };
    Ok(HeaderValue::from_bytes(&bytes).ok())
}

fn run(u: &mut Unstructured<'_>) -> Result<()> {
    let max = if u.arbitrary()? {
        4096
    } else {
        u.int_in_range(0..=599usize)?
    };
    let handlers = u.int_in_range(0..=2usize)?;
    let mut existing = Vec::new();
    for _ in 0..handlers {
        existing.extend(handler_header(u)?);
    }
    // 0 to 39 messages, as many as the input holds: the cost of a header grows with the
    // square of the messages it holds (each fitting message re-serializes the header), so
    // a fixed count drawn first would make every short input a costly one.
    let mut messages = Vec::new();
    for id in 0..39 {
        if u.is_empty() {
            break;
        }
        // Distinct ids: what was sent and what is left are told apart by them.
        let text: String = u.arbitrary()?;
        messages.push(message(
            id,
            Kind::from(Level::Info),
            text,
            None,
            0,
            None,
            None,
        ));
    }
    let delivery = HtmxDelivery::default().max_header_bytes(max);
    let (header, left) = htmx_header(&delivery, &existing, messages.clone());

    let sent: Vec<String> = match &header {
        Some(header) => {
            assert!(header.len() <= max, "{} > {max}", header.len());
            assert!(
                header.as_bytes().iter().all(|&b| (0x20..0x7f).contains(&b)),
                "{header:?}"
            );
            let value: Value = serde_json::from_slice(header.as_bytes()).expect("JSON");
            let list = value["flash"].as_array().expect("the flash event").clone();
            assert!(!list.is_empty());
            for handler in &existing {
                if let Ok(Value::Object(events)) =
                    serde_json::from_slice::<Value>(handler.as_bytes())
                {
                    for (event, _) in events.iter().filter(|(event, _)| event.as_str() != "flash") {
                        assert!(
                            value.get(event).is_some(),
                            "{event:?} lost from {handler:?}"
                        );
                    }
                }
            }
            list.iter()
                .map(|m| m["text"].as_str().expect("a text").to_owned())
                .collect()
        }
        None => Vec::new(),
    };
    // What was sent is, in order, the messages not left over; what is left over keeps its
    // order; together they are all the messages.
    let not_left: Vec<&str> = messages
        .iter()
        .filter(|m| !left.contains(m))
        .map(Message::text)
        .collect();
    assert_eq!(not_left, sent);
    let left_ids: Vec<_> = left.iter().map(Message::id).collect();
    let mut in_order = left_ids.clone();
    in_order.sort_unstable();
    assert_eq!(left_ids, in_order, "left over out of order");
    assert_eq!(sent.len() + left.len(), messages.len());
    assert!(left.iter().all(|m| messages.contains(m)));
    Ok(())
}

fuzz_target!(|data: &[u8]| {
    let _ = run(&mut Unstructured::new(data));
});
