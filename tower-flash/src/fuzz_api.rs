//! What the coverage-guided fuzz targets in `fuzz/` call (VERIFICATION.md, "Coverage-guided
//! fuzzing"): thin wrappers over the crate-private parsers of untrusted input, the same
//! functions the `fuzz_*` property tests drive.
//!
//! Compiled only under `--cfg fuzzing`, which `cargo fuzz` sets; a normal build does not
//! see this module, so it is no part of the API and no semver promise.

use std::time::Duration;

use http::header::COOKIE;
use http::{HeaderMap, HeaderValue, Uri};

use crate::{ClientId, HtmxDelivery, Key, Kind, Message, Scope};

/// The flash cookie's reader and writer (`id::CookieCodec`).
#[derive(Clone, Debug)]
pub struct CookieCodec(crate::id::CookieCodec);

impl CookieCodec {
    /// A codec signing with `key`, named `flash`, `Secure`, without a domain: the default.
    pub fn new(key: &Key) -> Self {
        CookieCodec(crate::id::CookieCodec::new(key))
    }

    /// Also accept cookies signed with `key`.
    pub fn add_old_key(&mut self, key: &Key) {
        self.0.add_old_key(key);
    }

    /// The cookie's name.
    pub fn set_name(&mut self, name: &str) {
        name.clone_into(&mut self.0.name);
    }

    /// Whether the cookie is written `Secure`.
    pub fn set_secure(&mut self, secure: bool) {
        self.0.secure = secure;
    }

    /// The cheap test on every request: the `Cookie` headers kept when one names our cookie.
    pub fn candidates(&self, headers: &HeaderMap) -> Option<Vec<HeaderValue>> {
        self.0
            .candidates(headers)
            .map(|found| found.iter().cloned().collect())
    }

    /// The verified id among the pairs of `values`.
    pub fn read(&self, values: &[HeaderValue]) -> Option<ClientId> {
        self.0.read(values)
    }

    /// What the layer makes of a request with these `Cookie` headers: the cheap test, then
    /// the parse and verification.
    pub fn seen(&self, values: &[HeaderValue]) -> Option<ClientId> {
        let mut headers = HeaderMap::new();
        for value in values {
            headers.append(COOKIE, value.clone());
        }
        self.0
            .candidates(&headers)
            .and_then(|found| self.0.read(found.iter()))
    }

    /// The `Set-Cookie` value for `id`.
    pub fn write(&self, id: &ClientId, max_age: Duration) -> Option<HeaderValue> {
        self.0.write(id, max_age)
    }
}

/// A message with every field given, as a store could hand it back.
pub fn message(
    id: u64,
    kind: Kind,
    text: String,
    data: Option<serde_json::Value>,
    created_at: u64,
    expires_at: Option<u64>,
    scope: Option<Scope>,
) -> Message {
    Message {
        id: crate::MessageId::from(id),
        kind,
        text,
        data,
        created_at,
        expires_at,
        scope,
    }
}

/// How deeply a message's data nests.
pub fn data_depth(message: &Message) -> usize {
    message.data_depth()
}

/// Whether a push accepts `message` (data within `MAX_DATA_DEPTH`).
pub fn is_storable(message: &Message) -> bool {
    Message::check_storable(std::slice::from_ref(message)).is_ok()
}

/// Redirect scoping: the path and query pairs a `Location` leads to, if it stays on the
/// request's origin (`flash::same_origin_target`, against `flash::RequestUrl`).
pub fn same_origin_target(
    location: &str,
    uri: &Uri,
    headers: &HeaderMap,
) -> Option<(String, Vec<(String, String)>)> {
    crate::flash::same_origin_target(location, &crate::flash::RequestUrl::new(uri, headers))
}

/// Beginnings of `Location`s that resolve in surprising ways (`flash::LOCATION_STARTS`).
pub const LOCATION_STARTS: &[&str] = crate::flash::LOCATION_STARTS;

/// Query parsing (`store::parse_query`).
pub fn parse_query(query: &str) -> Vec<(String, String)> {
    crate::store::parse_query(query)
}

/// The `HX-Trigger` header for `messages`, merged with the handler's own `existing` ones,
/// and the messages left out (`HtmxDelivery::header`).
pub fn htmx_header(
    delivery: &HtmxDelivery,
    existing: &[HeaderValue],
    messages: Vec<Message>,
) -> (Option<HeaderValue>, Vec<Message>) {
    delivery.header(existing, messages)
}

/// The auto-escaped template the templates target renders (`templates::oracle`).
#[cfg(feature = "minijinja")]
pub const TEMPLATE: &str = crate::templates::oracle::TEMPLATE;

/// What [`TEMPLATE`] must render for `messages` with `wanted` (`templates::oracle`).
#[cfg(feature = "minijinja")]
pub fn expected_render(messages: &crate::Messages, wanted: &Kind) -> String {
    crate::templates::oracle::expected(messages, wanted)
}

/// Renders [`TEMPLATE`] (as an `.html` template: auto-escaped) with `messages` as the
/// minijinja value the `minijinja` feature makes of them.
#[cfg(feature = "minijinja")]
pub fn render(messages: crate::Messages, wanted: &str) -> Result<String, minijinja::Error> {
    use std::sync::OnceLock;
    static ENV: OnceLock<minijinja::Environment<'static>> = OnceLock::new();
    let env = ENV.get_or_init(|| {
        let mut env = minijinja::Environment::new();
        // A constant template: it parses.
        let _ = env.add_template("t.html", TEMPLATE);
        env
    });
    env.get_template("t.html")?.render(minijinja::context! {
        messages => minijinja::Value::from(messages),
        wanted => wanted,
    })
}
