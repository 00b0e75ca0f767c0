//! Delivery to htmx requests in an `HX-Trigger` header; see
//! [`FlashLayer::deliver_to_htmx`](crate::FlashLayer::deliver_to_htmx).

use http::{HeaderName, HeaderValue};
use serde_json::{Map, Value};

use crate::message::Message;

/// The request header htmx sets on its requests.
pub(crate) const HX_REQUEST: HeaderName = HeaderName::from_static("hx-request");
/// The response header whose events htmx triggers on the page.
pub(crate) const HX_TRIGGER: HeaderName = HeaderName::from_static("hx-trigger");

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
    #[must_use]
    pub fn max_header_bytes(mut self, max: usize) -> Self {
        self.max_header_bytes = max;
        self
    }

    /// The `HX-Trigger` value carrying as many of `messages` (oldest first) as fit, merged
    /// with the handler's own `HX-Trigger` (a JSON object, or comma-separated event names).
    /// Returns the header (none if not even one message fits) and how many messages it holds.
    pub(crate) fn header(
        &self,
        existing: Option<&HeaderValue>,
        messages: &[Message],
    ) -> (Option<HeaderValue>, usize) {
        let mut events = existing
            .and_then(|v| v.to_str().ok())
            .map(parse_existing)
            .unwrap_or_default();
        let mut fitted = 0;
        let mut best = None;
        for count in 1..=messages.len() {
            events.insert(
                self.event.clone(),
                serde_json::to_value(&messages[..count]).unwrap_or(Value::Null),
            );
            let Ok(text) = serde_json::to_string(&events).map(|json| ascii_json(&json)) else {
                break;
            };
            if text.len() > self.max_header_bytes {
                break;
            }
            // ASCII only: browsers read header bytes as Latin-1, so UTF-8 text would
            // arrive garbled in the page (`Zoë` as `ZoÃ«`).
            let Ok(value) = HeaderValue::from_bytes(text.as_bytes()) else {
                break;
            };
            best = Some(value);
            fitted = count;
        }
        (best, fitted)
    }
}

/// `json` with every non-ASCII character written as a `\uXXXX` escape (UTF-16 units, so
/// characters past U+FFFF become surrogate pairs). serde_json writes non-ASCII only inside
/// strings, where the escape means the same character.
fn ascii_json(json: &str) -> String {
    use std::fmt::Write;

    let mut out = String::with_capacity(json.len());
    for c in json.chars() {
        if c.is_ascii() {
            out.push(c);
        } else {
            let mut units = [0u16; 2];
            for unit in c.encode_utf16(&mut units) {
                let _ = write!(out, "\\u{unit:04x}");
            }
        }
    }
    out
}

/// The handler's own `HX-Trigger`: a JSON object, or comma-separated event names.
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::message::Level;

    /// Regression: non-ASCII text went out as raw UTF-8, which browsers decode as Latin-1,
    /// so toasts showed `Ã«` for `ë` (caught by the demo's browser test).
    #[test]
    fn non_ascii_text_is_sent_as_json_escapes() {
        let text = "Zoë · ありがとう 👍";
        let (header, fitted) =
            HtmxDelivery::default().header(None, &[Message::new(Level::Info, text)]);
        let header = header.unwrap();
        assert_eq!(fitted, 1);
        assert!(header.as_bytes().is_ascii(), "{header:?}");
        let value: Value = serde_json::from_slice(header.as_bytes()).unwrap();
        assert_eq!(value["flash"][0]["text"], text);
    }

    #[test]
    fn merges_with_the_handlers_own_triggers_and_stays_bounded() {
        let messages: Vec<Message> = (0..50)
            .map(|i| Message::new(Level::Info, format!("message number {i}")))
            .collect();
        let delivery = HtmxDelivery::default().max_header_bytes(1000);
        let existing = HeaderValue::from_static("itemAdded, refresh");
        let (header, fitted) = delivery.header(Some(&existing), &messages);
        let header = header.unwrap();
        assert!(header.len() <= 1000);
        assert!(fitted > 0 && fitted < 50, "{fitted}");
        let value: Value = serde_json::from_slice(header.as_bytes()).unwrap();
        assert_eq!(value["itemAdded"], Value::Null);
        assert_eq!(value["refresh"], Value::Null);
        assert_eq!(value["flash"].as_array().unwrap().len(), fitted);
        assert_eq!(value["flash"][0]["text"], "message number 0");

        let object = HeaderValue::from_static(r#"{"showModal":{"id":3}}"#);
        let (header, _) = delivery.header(Some(&object), &messages[..1]);
        let value: Value = serde_json::from_slice(header.unwrap().as_bytes()).unwrap();
        assert_eq!(value["showModal"]["id"], 3);

        let (none, fitted) = HtmxDelivery::default()
            .max_header_bytes(10)
            .header(None, &messages);
        assert!(none.is_none() && fitted == 0);
    }
}
