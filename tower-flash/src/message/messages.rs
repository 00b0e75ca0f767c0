//! [`Messages`]: what a take returns, and connect-flash's grouped view of it.

use serde::ser::SerializeMap;
use serde::{Deserialize, Serialize, Serializer};

use super::{Kind, Message};

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
