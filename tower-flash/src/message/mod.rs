//! The message model: [`Level`], [`Kind`], [`Message`] and the [`Messages`] a take returns.
//! Their stored encoding is [`store::codec`](crate::store::codec).

use std::borrow::Cow;
use std::fmt;
use std::str::FromStr;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::de::Error as _;
use serde::ser::SerializeStruct;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::error::{Error, StoreError};

mod messages;

pub use messages::{Grouped, GroupedTexts, Messages};

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

/// A [`MessageId`] in any form but 16 hex digits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("a message id is 16 hex digits")]
pub struct InvalidMessageId;

impl FromStr for MessageId {
    type Err = InvalidMessageId;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        // `from_str_radix` alone would take a sign (`+000000000000001`).
        if s.len() != 16 || !s.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(InvalidMessageId);
        }
        u64::from_str_radix(s, 16)
            .map(MessageId)
            .map_err(|_| InvalidMessageId)
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
    pub(crate) id: MessageId,
    pub(crate) kind: Kind,
    pub(crate) text: String,
    pub(crate) data: Option<serde_json::Value>,
    pub(crate) created_at: u64,
    pub(crate) expires_at: Option<u64>,
    pub(crate) scope: Option<Scope>,
}

/// Where a redirect-scoped message may be read: the path of the redirect that carried it and
/// the query parameters named there, until a fallback time after which any path may read it.
///
/// Set by the layer when redirect scoping is on
/// ([`FlashLayer::scope_to_redirects`](crate::FlashLayer::scope_to_redirects)).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
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
    /// Bound to requests for `path` carrying the query pairs `params`, until `until` (ms
    /// since the Unix epoch); any path after that.
    pub fn new(path: impl Into<String>, params: Vec<(String, String)>, until: u64) -> Self {
        Scope {
            path: path.into(),
            params,
            until,
        }
    }

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

    /// Binds the message to a redirect scope, or unbinds it: what a
    /// [`ScopeStore`](crate::store::ScopeStore) does when a redirect carries the message on.
    ///
    /// ```
    /// use tower_flash::{Level, Message, Scope};
    ///
    /// let mut message = Message::new(Level::Info, "Saved");
    /// message.set_scope(Some(Scope::new("/done", Vec::new(), 1_800_000_000_000)));
    /// assert_eq!(message.scope().map(|s| s.path.as_str()), Some("/done"));
    /// ```
    pub fn set_scope(&mut self, scope: Option<Scope>) {
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

    /// A store's check before writing: refuses, with [`StoreError::Invalid`], a batch that
    /// the [stored encoding](crate::store::codec) could not read back (data nested deeper
    /// than [`MAX_DATA_DEPTH`]). The layer refuses such messages at push time; this guards
    /// writes that come through the [`Store`](crate::store::Store) API directly, so that
    /// every store refuses alike rather than accept a message and lose it when it is read.
    ///
    /// ```
    /// use tower_flash::{Level, Message};
    ///
    /// let ok = Message::new(Level::Info, "Saved");
    /// assert!(Message::check_storable(&[ok]).is_ok());
    /// ```
    pub fn check_storable(messages: &[Message]) -> Result<(), StoreError> {
        match messages.iter().map(Message::data_depth).max() {
            Some(depth) if depth > MAX_DATA_DEPTH => Err(StoreError::Invalid(format!(
                "data nested {depth} levels deep, more than {MAX_DATA_DEPTH}"
            ))),
            _ => Ok(()),
        }
    }
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

#[cfg(test)]
pub(crate) mod fuzz;
#[cfg(test)]
mod tests;
