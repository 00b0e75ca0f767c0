//! Delivery to htmx requests in an `HX-Trigger` header; see
//! [`FlashLayer::deliver_to_htmx`](crate::FlashLayer::deliver_to_htmx).

use http::{HeaderName, HeaderValue};
use serde_json::{Map, Value};

use crate::message::Message;

/// The request header htmx sets on its requests.
pub(crate) const HX_REQUEST: HeaderName = HeaderName::from_static("hx-request");
/// The response header whose events htmx triggers on the page.
pub(crate) const HX_TRIGGER: HeaderName = HeaderName::from_static("hx-trigger");
/// Response headers with which htmx leaves the page: a full navigation, an htmx-driven
/// one, and a reload (when `true`).
pub(crate) const HX_REDIRECT: HeaderName = HeaderName::from_static("hx-redirect");
pub(crate) const HX_LOCATION: HeaderName = HeaderName::from_static("hx-location");
pub(crate) const HX_REFRESH: HeaderName = HeaderName::from_static("hx-refresh");

/// How messages are delivered to htmx requests.
///
/// ```
/// use tower_flash::HtmxDelivery;
///
/// let delivery = HtmxDelivery::default().event("toast").max_header_bytes(2048);
/// # let _ = delivery;
/// ```
#[derive(Clone, Debug)]
pub struct HtmxDelivery {
    pub(crate) event: String,
    pub(crate) max_header_bytes: usize,
}

impl Default for HtmxDelivery {
    fn default() -> Self {
        HtmxDelivery {
            event: "flash".to_owned(),
            max_header_bytes: 4096,
        }
    }
}

impl HtmxDelivery {
    /// The name of the event the messages arrive with (default `flash`).
    #[must_use]
    pub fn event(mut self, event: impl Into<String>) -> Self {
        self.event = event.into();
        self
    }

    /// The largest `HX-Trigger` header to send (default 4096 bytes). Messages that do not
    /// fit stay queued for the next request, in order.
    ///
    /// A push whose message alone would make a larger header is refused with
    /// [`Error::TooLargeForHtmx`](crate::Error::TooLargeForHtmx). One stored before htmx
    /// delivery was on is skipped by htmx requests: it waits, in order, for a request that
    /// reads its messages itself, and never holds back the messages after it.
    #[must_use]
    pub fn max_header_bytes(mut self, max: usize) -> Self {
        self.max_header_bytes = max;
        self
    }

    /// The `HX-Trigger` value carrying as many of `messages` (oldest first) as fit, merged
    /// with the handler's own `HX-Trigger`s (each a JSON object, or comma-separated event
    /// names). Returns the header (none if not even one message fits) and the messages left
    /// out, in order: from the first that does not fit on, plus any earlier one that could
    /// never fit even alone (it must not hold back the others; a full-page read gets it).
    pub(crate) fn header(
        &self,
        existing: &[HeaderValue],
        messages: Vec<Message>,
    ) -> (Option<HeaderValue>, Vec<Message>) {
        let mut events = handler_events(existing);
        // Sizes add up: `ascii_json` escapes character by character, so the header is the
        // size of its events with an empty array for ours, plus each message's own JSON and
        // a comma between two. Each message is serialized once, however many fit.
        events.insert(self.event.clone(), Value::Array(Vec::new()));
        let mut size = json_size(&events).unwrap_or(usize::MAX);
        let alone_base = self.alone_base();
        let mut chosen = Vec::new();
        let mut sent = vec![false; messages.len()];
        for (message, sent) in messages.iter().zip(&mut sent) {
            let Some((value, own)) = own_json(message) else {
                continue;
            };
            // One that never fits even alone waits for a full-page read without holding
            // back the others.
            if alone_base.saturating_add(own) > self.max_header_bytes {
                continue;
            }
            let comma = usize::from(!chosen.is_empty());
            let grown = size.saturating_add(own).saturating_add(comma);
            if grown > self.max_header_bytes {
                // The first that does not fit: it and every one after it wait, in order.
                break;
            }
            size = grown;
            *sent = true;
            chosen.push(value);
        }
        if chosen.is_empty() {
            return (None, messages);
        }
        events.insert(self.event.clone(), Value::Array(chosen));
        let header = serde_json::to_string(&events)
            .ok()
            .and_then(|json| HeaderValue::from_str(&ascii_json(&json)).ok())
            .filter(|header| header.len() <= self.max_header_bytes);
        match header {
            Some(header) => {
                let left = messages
                    .into_iter()
                    .zip(sent)
                    .filter_map(|(message, sent)| (!sent).then_some(message))
                    .collect();
                (Some(header), left)
            }
            // Not reached (the sizes add up, and the text is visible ASCII): nothing sent,
            // every message kept.
            None => (None, messages),
        }
    }

    /// The size of an `HX-Trigger` header carrying `message` alone, ASCII-escaped.
    pub(crate) fn alone_bytes(&self, message: &Message) -> usize {
        own_json(message).map_or(usize::MAX, |(_, own)| self.alone_base().saturating_add(own))
    }

    /// The size of an `HX-Trigger` header carrying no message, and no handler's events.
    fn alone_base(&self) -> usize {
        let mut events = Map::new();
        events.insert(self.event.clone(), Value::Array(Vec::new()));
        json_size(&events).unwrap_or(usize::MAX)
    }
}

/// `message` as the JSON value it is sent as, and that value's size in the header.
fn own_json(message: &Message) -> Option<(Value, usize)> {
    let value = serde_json::to_value(message).ok()?;
    let size = json_size(&value)?;
    Some((value, size))
}

/// The size of `value`'s JSON, ASCII-escaped as in the header.
fn json_size<T: serde::Serialize + ?Sized>(value: &T) -> Option<usize> {
    serde_json::to_string(value)
        .ok()
        .map(|json| ascii_json(&json).len())
}

/// The events of the handler's own `HX-Trigger`s, merged.
fn handler_events(existing: &[HeaderValue]) -> Map<String, Value> {
    existing
        .iter()
        .flat_map(|value| parse_existing(&decode(value.as_bytes())))
        .collect()
}

/// A handler's own `HX-Trigger`: a JSON object, or comma-separated event names.
fn parse_existing(text: &str) -> Map<String, Value> {
    if let Ok(Value::Object(map)) = serde_json::from_str(text) {
        return map;
    }
    text.split(',')
        .map(str::trim)
        .filter(|name| !name.is_empty())
        .map(|name| (name.to_owned(), Value::Null))
        .collect()
}

/// A header value's text: UTF-8 when it is, else ISO-8859-1 (what a browser makes of it).
fn decode(bytes: &[u8]) -> String {
    match std::str::from_utf8(bytes) {
        Ok(text) => text.to_owned(),
        Err(_) => bytes.iter().map(|&b| char::from(b)).collect(),
    }
}

/// `json` with every character above `~` written as a `\uXXXX` escape (UTF-16, so astral
/// characters become surrogate pairs). Browsers decode header bytes as ISO-8859-1: raw UTF-8
/// would reach `JSON.parse` as mojibake, and DEL is not allowed in a header at all. Outside
/// strings, serde_json writes ASCII only, so every such character is inside a string, where
/// the escape means the same character.
fn ascii_json(json: &str) -> String {
    use std::fmt::Write;
    let mut out = String::with_capacity(json.len());
    for c in json.chars() {
        if u32::from(c) < 0x7f {
            out.push(c);
        } else {
            for unit in c.encode_utf16(&mut [0; 2]) {
                let _ = write!(out, "\\u{unit:04x}");
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::message::Level;

    #[test]
    fn merges_with_the_handlers_own_triggers_and_stays_bounded() {
        let messages: Vec<Message> = (0..50)
            .map(|i| Message::new(Level::Info, format!("message number {i}")))
            .collect();
        let delivery = HtmxDelivery::default().max_header_bytes(1000);
        let existing = HeaderValue::from_static("itemAdded, refresh");
        let (header, left) = delivery.header(&[existing], messages.clone());
        let header = header.unwrap();
        assert!(header.len() <= 1000);
        let fitted = 50 - left.len();
        assert!(fitted > 0 && fitted < 50, "{fitted}");
        assert_eq!(left[0].text(), format!("message number {fitted}"));
        let value: Value = serde_json::from_slice(header.as_bytes()).unwrap();
        assert_eq!(value["itemAdded"], Value::Null);
        assert_eq!(value["refresh"], Value::Null);
        assert_eq!(value["flash"].as_array().unwrap().len(), fitted);
        assert_eq!(value["flash"][0]["text"], "message number 0");

        let object = HeaderValue::from_static(r#"{"showModal":{"id":3}}"#);
        let (header, _) = delivery.header(&[object], messages[..1].to_vec());
        let value: Value = serde_json::from_slice(header.unwrap().as_bytes()).unwrap();
        assert_eq!(value["showModal"]["id"], 3);

        let (none, left) = HtmxDelivery::default()
            .max_header_bytes(10)
            .header(&[], messages.clone());
        assert!(none.is_none() && left == messages);
    }

    #[test]
    fn non_ascii_is_escaped_as_utf16_and_parses_back() {
        let text = "é ✓ Ж 🎉 \u{7f} \u{80}";
        let json = serde_json::to_string(&serde_json::json!({ "t": text })).unwrap();
        let escaped = ascii_json(&json);
        assert_eq!(
            escaped,
            r#"{"t":"\u00e9 \u2713 \u0416 \ud83c\udf89 \u007f \u0080"}"#
        );
        let back: Value = serde_json::from_str(&escaped).unwrap();
        assert_eq!(back["t"], text);
    }

    #[test]
    fn handler_triggers_are_read_as_utf8_or_else_latin1() {
        assert_eq!(decode("Grüße".as_bytes()), "Grüße");
        assert_eq!(decode(b"Gr\xfc\xdfe"), "Grüße");
    }

    fn messages() -> impl proptest::strategy::Strategy<Value = Vec<Message>> {
        use proptest::prelude::*;
        let text = prop_oneof![any::<String>(), "\\PC{1,300}", "[\\x00-\\x7f]{1,40}"];
        proptest::collection::vec(text, 0..40).prop_map(|texts| {
            texts
                .into_iter()
                .map(|text| Message::new(Level::Info, text))
                .collect()
        })
    }

    /// Bytes a `HeaderValue` accepts: visible ASCII, space, tab and obs-text (>= 0x80).
    fn header_value() -> impl proptest::strategy::Strategy<Value = HeaderValue> {
        use proptest::prelude::*;
        let bytes = proptest::collection::vec(any::<u8>(), 0..200).prop_map(|bytes| {
            bytes
                .into_iter()
                .filter(|&b| (b >= 0x20 && b != 0x7f) || b == b'\t')
                .collect::<Vec<u8>>()
        });
        let text = "\\PC{0,60}".prop_map(String::into_bytes);
        let object = proptest::collection::btree_map("\\PC{0,12}", any::<i32>(), 0..4)
            .prop_map(|events| serde_json::to_vec(&events).unwrap_or_default());
        prop_oneof![bytes, text, object].prop_filter_map("a header value", |bytes| {
            HeaderValue::from_bytes(&bytes).ok()
        })
    }

    /// The first version of [`HtmxDelivery::header`], which serialized the whole header again
    /// for every message it tried: the reference the one-pass version must equal.
    fn prefix_by_prefix(
        delivery: &HtmxDelivery,
        existing: &[HeaderValue],
        messages: Vec<Message>,
    ) -> (Option<HeaderValue>, Vec<Message>) {
        let mut events = handler_events(existing);
        let (mut chosen, mut left, mut best, mut full) = (Vec::new(), Vec::new(), None, false);
        // The size of a header with the message alone, serialized whole as at first.
        let alone = |message: &Message| {
            let mut events = Map::new();
            events.insert(
                delivery.event.clone(),
                serde_json::to_value([message]).unwrap(),
            );
            ascii_json(&serde_json::to_string(&events).unwrap()).len()
        };
        for message in messages {
            if full || alone(&message) > delivery.max_header_bytes {
                left.push(message);
                continue;
            }
            chosen.push(message);
            events.insert(
                delivery.event.clone(),
                serde_json::to_value(&chosen).unwrap(),
            );
            let text = ascii_json(&serde_json::to_string(&events).unwrap());
            if text.len() <= delivery.max_header_bytes {
                best = Some(HeaderValue::from_str(&text).unwrap());
            } else {
                full = true;
                left.extend(chosen.pop());
            }
        }
        (best, left)
    }

    /// At every bound around the exact size of a header with 1 to 5 messages (ASCII and not,
    /// beside a handler's own events), the one-pass header is the reference's: the
    /// boundaries are where a miscounted byte (a comma, an escape) would show.
    #[test]
    fn at_every_bound_near_a_full_header_the_one_pass_header_is_the_references() {
        let messages: Vec<Message> = ["Saved!", "é ✓ 🎉", "a \"quoted\" <b>", "x", "\u{7f}"]
            .into_iter()
            .map(|text| Message::new(Level::Info, text))
            .collect();
        let existing = [HeaderValue::from_static(r#"{"itemAdded":{"id":3}}"#)];
        // What a push is checked against: the size of the header a message makes alone.
        for message in &messages {
            let (alone, _) = HtmxDelivery::default().header(&[], vec![message.clone()]);
            assert_eq!(
                HtmxDelivery::default().alone_bytes(message),
                alone.expect("a header").len()
            );
        }
        for n in 1..=messages.len() {
            let (full, _) = HtmxDelivery::default().header(&existing, messages[..n].to_vec());
            let exact = full.expect("a header under the default bound").len();
            for max in exact - 2..=exact + 1 {
                let delivery = HtmxDelivery::default().max_header_bytes(max);
                assert_eq!(
                    delivery.header(&existing, messages.clone()),
                    prefix_by_prefix(&delivery, &existing, messages.clone()),
                    "{n} messages, bound {max}"
                );
            }
        }
    }

    proptest::proptest! {
        #![proptest_config(crate::message::fuzz::costly())]

        /// Arbitrary texts: the header is visible ASCII, within the bound, parses as JSON
        /// with the exact texts of the messages sent, and those plus the ones left out are
        /// all the messages, in order. Cases: `PROPTEST_CASES` (64 by default: `costly`).
        #[test]
        fn fuzz_htmx_trigger_is_bounded_ascii_json_with_the_exact_texts(
            messages in messages(),
            max in proptest::prop_oneof![0usize..600, proptest::strategy::Just(4096usize)],
        ) {
            let delivery = HtmxDelivery::default().max_header_bytes(max);
            let (header, left) = delivery.header(&[], messages.clone());
            let sent: Vec<String> = match &header {
                Some(header) => {
                    proptest::prop_assert!(header.len() <= max, "{} > {}", header.len(), max);
                    proptest::prop_assert!(header.as_bytes().iter().all(|&b| (0x20..0x7f).contains(&b)));
                    let value: Value = serde_json::from_slice(header.as_bytes()).expect("JSON");
                    let list = value["flash"].as_array().expect("the flash event").clone();
                    proptest::prop_assert!(!list.is_empty());
                    list.iter().map(|m| m["text"].as_str().expect("a text").to_owned()).collect()
                }
                None => Vec::new(),
            };
            let mut all: Vec<&str> = sent.iter().map(String::as_str).collect();
            let left_texts: Vec<&str> = left.iter().map(Message::text).collect();
            // What was sent comes first; what is left keeps its order.
            let sent_ids: Vec<&Message> = messages.iter().filter(|m| !left.contains(m)).collect();
            proptest::prop_assert_eq!(sent_ids.iter().map(|m| m.text()).collect::<Vec<_>>(), all.clone());
            all.extend(left_texts);
            let mut expected: Vec<&str> = messages.iter().map(Message::text).collect();
            expected.sort_unstable();
            all.sort_unstable();
            proptest::prop_assert_eq!(all, expected);
        }

        /// Arbitrary handler `HX-Trigger`s never panic and never push the header past the
        /// bound; when it is sent, every event of the handler's JSON objects is in it. The
        /// header and the messages left are exactly the prefix-by-prefix reference's.
        #[test]
        fn fuzz_htmx_trigger_merges_arbitrary_handler_headers(
            existing in proptest::collection::vec(header_value(), 0..3),
            messages in messages(),
            max in proptest::prop_oneof![0usize..600, proptest::strategy::Just(4096usize)],
        ) {
            let delivery = HtmxDelivery::default().max_header_bytes(max);
            let expected = prefix_by_prefix(&delivery, &existing, messages.clone());
            let (header, left) = delivery.header(&existing, messages);
            proptest::prop_assert_eq!((&header, &left), (&expected.0, &expected.1));
            if let Some(header) = header {
                proptest::prop_assert!(header.len() <= max);
                proptest::prop_assert!(header.as_bytes().iter().all(|&b| (0x20..0x7f).contains(&b)));
                let value: Value = serde_json::from_slice(header.as_bytes()).expect("JSON");
                for handler in &existing {
                    if let Ok(Value::Object(events)) = serde_json::from_slice::<Value>(handler.as_bytes()) {
                        for (event, _) in events.iter().filter(|(event, _)| event.as_str() != "flash") {
                            proptest::prop_assert!(value.get(event).is_some(), "{:?} lost", event);
                        }
                    }
                }
            }
        }
    }
}
