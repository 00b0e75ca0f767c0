//! The message model: [`Level`], [`Kind`], [`Message`] and the [`Messages`] a take returns.

use std::borrow::Cow;
use std::fmt;
use std::str::FromStr;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::de::Error as _;
use serde::ser::{SerializeMap, SerializeStruct};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::error::{Error, StoreError};

/// The longest [`Kind`] accepted, in bytes.
pub const MAX_KIND_LEN: usize = 32;

/// A severity level, with Django's numeric ranks.
///
/// Levels are the five well-known [`Kind`]s. A minimum level set on the layer
/// ([`FlashLayer::min_level`](crate::FlashLayer::min_level)) drops messages of
/// lower levels at push time.
///
/// ```
/// use tower_flash::Level;
///
/// assert!(Level::Debug < Level::Info);
/// assert_eq!(Level::Success.rank(), 25);
/// assert_eq!(Level::Warning.as_str(), "warning");
/// assert_eq!("error".parse::<Level>(), Ok(Level::Error));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Level {
    /// Development detail (rank 10).
    Debug,
    /// Information (rank 20).
    Info,
    /// An action succeeded (rank 25).
    Success,
    /// Something needs attention (rank 30).
    Warning,
    /// An action failed (rank 40).
    Error,
}

impl Level {
    /// All levels, lowest first.
    pub const ALL: [Level; 5] = [
        Level::Debug,
        Level::Info,
        Level::Success,
        Level::Warning,
        Level::Error,
    ];

    /// Django's numeric rank: 10, 20, 25, 30 or 40.
    pub const fn rank(self) -> u8 {
        match self {
            Level::Debug => 10,
            Level::Info => 20,
            Level::Success => 25,
            Level::Warning => 30,
            Level::Error => 40,
        }
    }

    /// The kind string of this level: `"debug"`, `"info"`, `"success"`, `"warning"` or `"error"`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Level::Debug => "debug",
            Level::Info => "info",
            Level::Success => "success",
            Level::Warning => "warning",
            Level::Error => "error",
        }
    }
}

impl fmt::Display for Level {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Level {
    type Err = UnknownLevel;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Level::ALL
            .into_iter()
            .find(|level| level.as_str() == s)
            .ok_or(UnknownLevel)
    }
}

/// The error of parsing a [`Level`] from a string that names none.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("not a level name (expected debug, info, success, warning or error)")]
pub struct UnknownLevel;

/// The kind of a message: one of the five [`Level`]s or a free string such as `"notice"`.
///
/// A kind is 1 to [`MAX_KIND_LEN`] bytes of ASCII letters, digits, `_`, `-`, `.` and `:`,
/// so it is safe in logs, CSS class names and store keys.
///
/// ```
/// use tower_flash::{Kind, Level};
///
/// let kind = Kind::new("notice")?;
/// assert_eq!(kind.as_str(), "notice");
/// assert_eq!(kind.level(), None);
/// assert_eq!(Kind::from(Level::Error).level(), Some(Level::Error));
/// assert!(Kind::new("no spaces").is_err());
/// assert!(Kind::new("").is_err());
/// # Ok::<(), tower_flash::Error>(())
/// ```
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Kind(Cow<'static, str>);

impl Kind {
    /// Validates `kind`, returning [`Error::InvalidKind`] when it is empty, too long or has
    /// a character outside the allowed set.
    pub fn new(kind: &str) -> Result<Self, Error> {
        if let Ok(level) = kind.parse::<Level>() {
            return Ok(level.into());
        }
        validate_kind(kind)?;
        Ok(Kind(Cow::Owned(kind.to_owned())))
    }

    /// The kind as a string.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The level this kind names, if it is one of the five levels.
    pub fn level(&self) -> Option<Level> {
        self.0.parse().ok()
    }
}

pub(crate) fn validate_kind(kind: &str) -> Result<(), Error> {
    let reason = if kind.is_empty() {
        "it is empty"
    } else if kind.len() > MAX_KIND_LEN {
        "it is longer than 32 bytes"
    } else if !kind
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.' | b':'))
    {
        "only ASCII letters, digits, '_', '-', '.' and ':' are allowed"
    } else {
        return Ok(());
    };
    Err(Error::InvalidKind {
        kind: kind.chars().take(MAX_KIND_LEN + 8).collect(),
        reason,
    })
}

impl From<Level> for Kind {
    fn from(level: Level) -> Self {
        Kind(Cow::Borrowed(level.as_str()))
    }
}

impl FromStr for Kind {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Kind::new(s)
    }
}

impl AsRef<str> for Kind {
    fn as_ref(&self) -> &str {
        self.as_str()
    }
}

impl PartialEq<str> for Kind {
    fn eq(&self, other: &str) -> bool {
        self.as_str() == other
    }
}

impl PartialEq<&str> for Kind {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

impl fmt::Debug for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for Kind {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for Kind {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let s = Cow::<'de, str>::deserialize(deserializer)?;
        Kind::new(&s).map_err(D::Error::custom)
    }
}

/// A message's unique id: 64 random bits, shown as 16 hex digits.
///
/// Use it to de-duplicate on the client side or as an HTML element id.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct MessageId(u64);

impl MessageId {
    /// A fresh random id.
    pub fn random() -> Self {
        MessageId(rand::random())
    }

    /// The id as a number.
    pub const fn as_u64(self) -> u64 {
        self.0
    }
}

impl From<u64> for MessageId {
    fn from(id: u64) -> Self {
        MessageId(id)
    }
}

impl fmt::Display for MessageId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:016x}", self.0)
    }
}

impl fmt::Debug for MessageId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "MessageId({self})")
    }
}

impl FromStr for MessageId {
    type Err = StoreError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        // `from_str_radix` alone would take a sign (`+000000000000001`).
        if s.len() != 16 || !s.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(StoreError::Decode("message id is not 16 hex digits".into()));
        }
        u64::from_str_radix(s, 16)
            .map(MessageId)
            .map_err(|_| StoreError::Decode("message id is not 16 hex digits".into()))
    }
}

impl Serialize for MessageId {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for MessageId {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let s = Cow::<'de, str>::deserialize(deserializer)?;
        s.parse().map_err(D::Error::custom)
    }
}

/// The deepest nesting of arrays and objects a message's `data` may have: 64. Deeper data
/// is refused at push time ([`Error::TooDeep`](crate::Error::TooDeep)), since a store
/// could not read it back (JSON parsers bound their recursion; serde_json's limit is 128).
pub const MAX_DATA_DEPTH: usize = 64;

/// How deeply `value` nests arrays and objects (a scalar is 0), counted without recursion
/// so that hostile input cannot overflow the stack.
pub(crate) fn nesting_depth(value: &serde_json::Value) -> usize {
    let mut deepest = 0;
    let mut stack = vec![(value, 0usize)];
    while let Some((value, depth)) = stack.pop() {
        let children: Box<dyn Iterator<Item = &serde_json::Value>> = match value {
            serde_json::Value::Array(items) => Box::new(items.iter()),
            serde_json::Value::Object(map) => Box::new(map.values()),
            _ => continue,
        };
        deepest = deepest.max(depth + 1);
        stack.extend(children.map(|child| (child, depth + 1)));
    }
    deepest
}

/// One flash message: a kind, a text, optional structured data, a unique id and a creation time.
///
/// Messages serialize (for templates and JSON) as
/// `{"id": "…", "kind": "info", "text": "…", "data": null, "created_at": 1732800000000,
/// "expires_at": null}`, with times in milliseconds since the Unix epoch.
///
/// ```
/// use tower_flash::{Message, Level};
///
/// let message = Message::new(Level::Error, "Please fix the form")
///     .with_data(serde_json::json!({ "field": "email" }));
/// assert_eq!(message.kind(), "error");
/// assert_eq!(message.level(), Some(Level::Error));
/// assert_eq!(message.data().unwrap()["field"], "email");
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct Message {
    id: MessageId,
    kind: Kind,
    text: String,
    data: Option<serde_json::Value>,
    created_at: u64,
    expires_at: Option<u64>,
    scope: Option<Scope>,
}

/// Where a redirect-scoped message may be read: the path of the redirect that carried it and
/// the query parameters named there, until a fallback time after which any path may read it.
///
/// Set by the layer when redirect scoping is on
/// ([`FlashLayer::scope_to_redirects`](crate::FlashLayer::scope_to_redirects)).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Scope {
    /// The path a request must have to read the message.
    #[serde(rename = "p")]
    pub path: String,
    /// Query parameters the request must carry with these values.
    #[serde(rename = "q", default, skip_serializing_if = "Vec::is_empty")]
    pub params: Vec<(String, String)>,
    /// From this time on (ms since the Unix epoch) any request may read the message.
    #[serde(rename = "u")]
    pub until: u64,
}

impl Scope {
    /// Whether a request for `path` with query pairs `query` may read a message bound here,
    /// at time `now` (ms since the Unix epoch).
    pub fn admits(&self, path: &str, query: &[(String, String)], now: u64) -> bool {
        now >= self.until || (self.path == path && self.params.iter().all(|p| query.contains(p)))
    }
}

impl Message {
    /// A new message with a fresh id, created now.
    pub fn new(kind: impl Into<Kind>, text: impl Into<String>) -> Self {
        Message {
            id: MessageId::random(),
            kind: kind.into(),
            text: text.into(),
            data: None,
            created_at: now_millis(),
            expires_at: None,
            scope: None,
        }
    }

    /// Gives the message its own time to live, counted from its creation: once it has
    /// passed, the message is never delivered, whatever the store's TTL. ("Your session
    /// expires in 5 minutes" should not greet the user tomorrow.)
    ///
    /// ```
    /// use std::time::Duration;
    /// use tower_flash::{Message, Level};
    ///
    /// let message = Message::new(Level::Warning, "Maintenance in 5 minutes")
    ///     .expires_in(Duration::from_secs(300));
    /// assert!(!message.is_expired());
    /// assert!(Message::new(Level::Info, "gone").expires_in(Duration::ZERO).is_expired());
    /// ```
    #[must_use]
    pub fn expires_in(mut self, ttl: Duration) -> Self {
        self.expires_at = Some(self.created_at.saturating_add(millis(ttl)));
        self
    }

    /// When the message's own time to live ends, if it has one.
    pub fn expires_at(&self) -> Option<SystemTime> {
        self.expires_at
            .map(|ms| UNIX_EPOCH + Duration::from_millis(ms))
    }

    /// Whether the message's own time to live has passed.
    pub fn is_expired(&self) -> bool {
        self.is_expired_at(now_millis())
    }

    pub(crate) fn is_expired_at(&self, now: u64) -> bool {
        self.expires_at.is_some_and(|at| at <= now)
    }

    /// The redirect scope the message is bound to, if any.
    pub fn scope(&self) -> Option<&Scope> {
        self.scope.as_ref()
    }

    pub(crate) fn set_scope(&mut self, scope: Option<Scope>) {
        self.scope = scope;
    }

    /// Attaches structured data: a link, a field name, an i18n key and its arguments…
    #[must_use]
    pub fn with_data(mut self, data: serde_json::Value) -> Self {
        self.data = Some(data);
        self
    }

    /// The message's unique id.
    pub fn id(&self) -> MessageId {
        self.id
    }

    /// The message's kind.
    pub fn kind(&self) -> &Kind {
        &self.kind
    }

    /// The level, when the kind is one of the five levels.
    pub fn level(&self) -> Option<Level> {
        self.kind.level()
    }

    /// The text. It is data, not markup: let the template engine escape it.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// The structured data, if any.
    pub fn data(&self) -> Option<&serde_json::Value> {
        self.data.as_ref()
    }

    /// When the message was created.
    pub fn created_at(&self) -> SystemTime {
        UNIX_EPOCH + Duration::from_millis(self.created_at)
    }

    /// Consumes the message, returning its text.
    pub fn into_text(self) -> String {
        self.text
    }

    /// The number of bytes this message counts against
    /// [`FlashLayer::max_message_bytes`](crate::FlashLayer::max_message_bytes):
    /// its text plus its data encoded as JSON.
    pub fn size(&self) -> usize {
        self.text.len() + self.data.as_ref().map_or(0, |d| d.to_string().len())
    }

    /// How deeply the message's data nests arrays and objects (0 without data).
    pub(crate) fn data_depth(&self) -> usize {
        self.data.as_ref().map_or(0, nesting_depth)
    }

    /// A store's check before writing: refuses what it could not read back.
    pub(crate) fn check_storable(messages: &[Message]) -> Result<(), StoreError> {
        match messages.iter().map(Message::data_depth).max() {
            Some(depth) if depth > MAX_DATA_DEPTH => Err(StoreError::Invalid(format!(
                "data nested {depth} levels deep, more than {MAX_DATA_DEPTH}"
            ))),
            _ => Ok(()),
        }
    }

    /// Encodes the message compactly for a store: `kind|{json}`.
    ///
    /// The kind comes first and in clear so that a store can select messages of one kind
    /// without decoding them (Redis does it in Lua with a prefix match).
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.kind.as_str().len() + self.text.len() + 48);
        out.extend_from_slice(self.kind.as_str().as_bytes());
        out.push(b'|');
        let wire = WireRef {
            i: self.id,
            t: &self.text,
            c: self.created_at,
            d: self.data.as_ref(),
            x: self.expires_at,
            s: self.scope.as_ref(),
        };
        // Writing JSON into a Vec fails only for maps with non-string keys, which these
        // fields cannot hold.
        if serde_json::to_writer(&mut out, &wire).is_err() {
            out.truncate(self.kind.as_str().len() + 1);
            out.extend_from_slice(b"{}");
        }
        out
    }

    /// A message with every field given, as a store could hand it back: for the fuzz
    /// targets (`fuzz_api`), which build arbitrary messages.
    #[cfg(fuzzing)]
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn from_parts(
        id: u64,
        kind: Kind,
        text: String,
        data: Option<serde_json::Value>,
        created_at: u64,
        expires_at: Option<u64>,
        scope: Option<Scope>,
    ) -> Self {
        Message {
            id: MessageId(id),
            kind,
            text,
            data,
            created_at,
            expires_at,
            scope,
        }
    }

    /// Decodes a message written by [`Message::encode`].
    pub fn decode(bytes: &[u8]) -> Result<Self, StoreError> {
        let sep = bytes
            .iter()
            .position(|&b| b == b'|')
            .ok_or_else(|| StoreError::Decode("no kind separator".into()))?;
        let kind = std::str::from_utf8(&bytes[..sep])
            .map_err(|_| StoreError::Decode("kind is not UTF-8".into()))
            .and_then(|k| Kind::new(k).map_err(|e| StoreError::Decode(e.to_string())))?;
        let wire: WireOwned = serde_json::from_slice(&bytes[sep + 1..])
            .map_err(|e| StoreError::Decode(e.to_string()))?;
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

/// Milliseconds since the Unix epoch.
pub(crate) fn now_millis() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, millis)
}

/// A duration in whole milliseconds, saturating.
pub(crate) fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

impl Serialize for Message {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut s = serializer.serialize_struct("Message", 6)?;
        s.serialize_field("id", &self.id)?;
        s.serialize_field("kind", &self.kind)?;
        s.serialize_field("text", &self.text)?;
        s.serialize_field("data", &self.data)?;
        s.serialize_field("created_at", &self.created_at)?;
        s.serialize_field("expires_at", &self.expires_at)?;
        s.end()
    }
}

impl<'de> Deserialize<'de> for Message {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        struct Public {
            id: MessageId,
            kind: Kind,
            text: String,
            #[serde(default)]
            data: Option<serde_json::Value>,
            created_at: u64,
            #[serde(default)]
            expires_at: Option<u64>,
        }
        let p = Public::deserialize(deserializer)?;
        Ok(Message {
            id: p.id,
            kind: p.kind,
            text: p.text,
            data: p.data,
            created_at: p.created_at,
            expires_at: p.expires_at,
            scope: None,
        })
    }
}

impl fmt::Display for Message {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

/// The messages a take returned, in push order.
///
/// It dereferences to a slice of [`Message`], iterates, serializes as a JSON array, and
/// offers connect-flash's grouped view with [`Messages::grouped`].
///
/// ```
/// use tower_flash::{Message, Messages, Level};
///
/// let messages = Messages::from(vec![
///     Message::new(Level::Info, "a"),
///     Message::new(Level::Error, "b"),
///     Message::new(Level::Info, "c"),
/// ]);
/// assert_eq!(messages.len(), 3);
/// let grouped = messages.grouped();
/// assert_eq!(grouped.texts("info"), ["a", "c"]);
/// assert_eq!(
///     serde_json::to_string(&grouped.to_texts()).unwrap(),
///     r#"{"info":["a","c"],"error":["b"]}"#
/// );
/// ```
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Messages(Vec<Message>);

impl Messages {
    /// No messages.
    pub const fn new() -> Self {
        Messages(Vec::new())
    }

    /// The messages grouped by kind, kinds in order of first appearance.
    pub fn grouped(&self) -> Grouped<'_> {
        let mut groups: Vec<(&Kind, Vec<&Message>)> = Vec::new();
        for message in &self.0 {
            match groups.iter_mut().find(|(k, _)| *k == &message.kind) {
                Some((_, group)) => group.push(message),
                None => groups.push((&message.kind, vec![message])),
            }
        }
        Grouped { groups }
    }

    /// The messages as a vector.
    pub fn into_vec(self) -> Vec<Message> {
        self.0
    }

    /// The texts, in order.
    pub fn texts(&self) -> Vec<&str> {
        self.0.iter().map(Message::text).collect()
    }
}

impl std::ops::Deref for Messages {
    type Target = [Message];

    fn deref(&self) -> &[Message] {
        &self.0
    }
}

impl From<Vec<Message>> for Messages {
    fn from(messages: Vec<Message>) -> Self {
        Messages(messages)
    }
}

impl From<Messages> for Vec<Message> {
    fn from(messages: Messages) -> Self {
        messages.0
    }
}

impl IntoIterator for Messages {
    type Item = Message;
    type IntoIter = std::vec::IntoIter<Message>;

    fn into_iter(self) -> Self::IntoIter {
        self.0.into_iter()
    }
}

impl<'a> IntoIterator for &'a Messages {
    type Item = &'a Message;
    type IntoIter = std::slice::Iter<'a, Message>;

    fn into_iter(self) -> Self::IntoIter {
        self.0.iter()
    }
}

/// connect-flash's grouped view of [`Messages`]: kind → messages, kinds in order of
/// first appearance. Serializes as `{"info": [message, …], "error": […]}`.
#[derive(Clone, Debug)]
pub struct Grouped<'a> {
    groups: Vec<(&'a Kind, Vec<&'a Message>)>,
}

impl<'a> Grouped<'a> {
    /// The messages of `kind`, empty when there are none.
    pub fn get(&self, kind: &str) -> &[&'a Message] {
        self.groups
            .iter()
            .find(|(k, _)| k.as_str() == kind)
            .map_or(&[], |(_, group)| group.as_slice())
    }

    /// The texts of the messages of `kind`.
    pub fn texts(&self, kind: &str) -> Vec<&'a str> {
        self.get(kind).iter().map(|m| m.text()).collect()
    }

    /// The kinds present, in order of first appearance.
    pub fn kinds(&self) -> impl Iterator<Item = &'a Kind> + '_ {
        self.groups.iter().map(|(k, _)| *k)
    }

    /// Each kind with its messages.
    pub fn iter(&self) -> impl Iterator<Item = (&'a Kind, &[&'a Message])> + '_ {
        self.groups.iter().map(|(k, g)| (*k, g.as_slice()))
    }

    /// Whether there are no messages.
    pub fn is_empty(&self) -> bool {
        self.groups.is_empty()
    }

    /// The same grouping with texts only: serializes exactly like connect-flash's
    /// `req.flash()`, `{"info": ["a", "b"]}`.
    pub fn to_texts(&self) -> GroupedTexts<'a> {
        GroupedTexts {
            groups: self
                .groups
                .iter()
                .map(|(k, g)| (*k, g.iter().map(|m| m.text()).collect()))
                .collect(),
        }
    }
}

impl Serialize for Grouped<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(self.groups.len()))?;
        for (kind, group) in &self.groups {
            map.serialize_entry(kind.as_str(), group)?;
        }
        map.end()
    }
}

/// Texts grouped by kind; see [`Grouped::to_texts`].
#[derive(Clone, Debug)]
pub struct GroupedTexts<'a> {
    groups: Vec<(&'a Kind, Vec<&'a str>)>,
}

impl Serialize for GroupedTexts<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(self.groups.len()))?;
        for (kind, texts) in &self.groups {
            map.serialize_entry(kind.as_str(), texts)?;
        }
        map.end()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encode_decode_round_trip() {
        let m = Message::new(Kind::new("notice").unwrap(), "Hé | \"quoted\"\n")
            .with_data(serde_json::json!({"link": "/x", "n": 3}));
        let bytes = m.encode();
        assert!(bytes.starts_with(b"notice|{"));
        assert_eq!(Message::decode(&bytes).unwrap(), m);
        let plain = Message::new(Level::Info, "Saved");
        assert_eq!(Message::decode(&plain.encode()).unwrap(), plain);
    }

    #[test]
    fn expiry_and_scope_survive_encoding() {
        let mut m = Message::new(Level::Info, "x").expires_in(Duration::from_secs(5));
        m.set_scope(Some(Scope {
            path: "/p".into(),
            params: vec![("a".into(), "1".into())],
            until: 9,
        }));
        let bytes = m.encode();
        let text = std::str::from_utf8(&bytes).unwrap();
        assert!(text.contains(r#""s":{"p":"/p""#), "{text}");
        assert_eq!(Message::decode(&bytes).unwrap(), m);
        // Text can never fake the scope marker: quotes inside strings are escaped.
        let sneaky = Message::new(Level::Info, r#""s":{"p":"/x"}"#).encode();
        assert!(!std::str::from_utf8(&sneaky).unwrap().contains(r#""s":{"#));
    }

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

    /// Found by `fuzz_message_encode_decode_round_trip`: data that is JSON `null` came back
    /// as no data from Redis (the memory store kept it).
    #[test]
    fn regression_null_data_survives_encoding() {
        let m = Message::new(Level::Info, "x").with_data(serde_json::Value::Null);
        let back = Message::decode(&m.encode()).unwrap();
        assert_eq!(back.data(), Some(&serde_json::Value::Null));
        assert_eq!(back, m);
        let none = Message::new(Level::Info, "x");
        assert_eq!(Message::decode(&none.encode()).unwrap().data(), None);
    }

    /// Found by `fuzz_message_encode_decode_round_trip`: without serde_json's exact float
    /// parsing, a float in `data` could come back from Redis off by one unit in the last place.
    #[test]
    fn regression_float_data_survives_encoding() {
        let data = serde_json::json!([-3.7956255695157763e167, 0.1, 1e-300, f64::MAX]);
        let m = Message::new(Level::Info, "x").with_data(data);
        assert_eq!(Message::decode(&m.encode()).unwrap(), m);
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
    fn encoding_is_compact() {
        let m = Message::new(Level::Info, "Saved");
        // kind, separator, id, text, time and the JSON punctuation: nothing else.
        assert!(m.encode().len() <= 60, "{}", m.encode().len());
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
            assert!(Message::decode(bad).is_err(), "{bad:?}");
        }
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
}

/// Property tests of the stored encoding (`fuzz_*`; VERIFICATION.md): what a store hands
/// back is decoded on every read, so a corrupted or hostile store value must never panic,
/// and what a push accepts must come back exactly. Cases per property: `PROPTEST_CASES`
/// (256 by default).
#[cfg(test)]
pub(crate) mod fuzz {
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
        /// encode → decode gives back exactly the message, and the encoding starts the way
        /// the Redis scripts read it: `kind|{"i":"<16 lowercase hex>"`.
        #[test]
        fn fuzz_message_encode_decode_round_trip(message in message()) {
            prop_assert!(message.data_depth() <= MAX_DATA_DEPTH);
            prop_assert!(Message::check_storable(std::slice::from_ref(&message)).is_ok());
            let bytes = message.encode();
            let head = format!("{}|{{\"i\":\"{}\"", message.kind, message.id);
            prop_assert!(bytes.starts_with(head.as_bytes()));
            prop_assert_eq!(Message::decode(&bytes).expect("decodes"), message);
        }

        /// Arbitrary bytes, bare or behind a valid kind, never panic; what decodes encodes
        /// back to something that decodes to the same message.
        #[test]
        fn fuzz_message_decode_arbitrary_bytes(
            prefix in prop_oneof![Just(String::new()), Just("info|".to_owned()), Just("info|{\"i\":\"".to_owned())],
            bytes in proptest::collection::vec(any::<u8>(), 0..256),
        ) {
            let input = [prefix.as_bytes(), &bytes].concat();
            if let Ok(message) = Message::decode(&input) {
                prop_assert_eq!(Message::decode(&message.encode()).expect("re-decodes"), message);
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
            let bytes = message.encode();
            for cut in 0..bytes.len() {
                prop_assert!(Message::decode(&bytes[..cut]).is_err(), "prefix of {} bytes", cut);
            }
            let mut mutated = bytes.clone();
            let at = at.index(mutated.len());
            mutated[at] = byte;
            if let Ok(decoded) = Message::decode(&mutated) {
                prop_assert_eq!(Message::decode(&decoded.encode()).expect("re-decodes"), decoded);
            }
        }

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
}
