//! Template integration (feature `minijinja`): [`Messages`] as a minijinja value.
//!
//! ```
//! use minijinja::{Environment, context};
//! use tower_flash::{Level, Message, Messages};
//!
//! let mut env = Environment::new();
//! env.add_template("flashes.html", r#"
//! {%- for message in messages %}<p class="{{ message.kind }}">{{ message.text }}</p>{% endfor -%}
//! {%- for message in messages.of_kind("error") %}!{% endfor -%}
//! "#)?;
//! // In a handler: `let messages = flash.take_all().await;` — taken once, before rendering.
//! let messages = Messages::from(vec![
//!     Message::new(Level::Info, "Saved"),
//!     Message::new(Level::Error, "<script>alert(1)</script>"),
//! ]);
//! let html = env
//!     .get_template("flashes.html")?
//!     .render(context! { messages => minijinja::Value::from(messages) })?;
//! assert_eq!(
//!     html,
//!     r#"<p class="info">Saved</p><p class="error">&lt;script&gt;alert(1)&lt;&#x2f;script&gt;</p>!"#
//! );
//! # Ok::<(), minijinja::Error>(())
//! ```
//!
//! In a template, `messages` iterates in push order (each with `id`, `kind`, `text`,
//! `data`, `created_at`, `expires_at`), is false when empty, has a length, and has the
//! methods `of_kind(kind)` and `kinds()`. Text is escaped by the engine's auto-escaping
//! (on for `.html` templates): never mark messages `|safe`, they are often what a visitor
//! typed.
//!
//! Other engines need no feature. askama reads the typed messages (`m.kind()`, `m.text()`)
//! from the template struct and escapes HTML in `.html` templates; tera and the rest take
//! them serialized ([`Message`](crate::Message) and [`Messages`] are `Serialize`):
//! `context.insert("messages", &messages)`. The crate's README has a compiled example of
//! both, and `tests/templates.rs` renders all three engines through a real `Router`.

use std::sync::Arc;

use minijinja::value::{Enumerator, Object, ObjectRepr, Value};
use minijinja::{Error, ErrorKind, State};

use crate::message::Messages;

impl Object for Messages {
    fn repr(self: &Arc<Self>) -> ObjectRepr {
        ObjectRepr::Seq
    }

    fn get_value(self: &Arc<Self>, key: &Value) -> Option<Value> {
        let index = usize::try_from(key.as_i64()?).ok()?;
        self.get(index).map(Value::from_serialize)
    }

    fn enumerate(self: &Arc<Self>) -> Enumerator {
        Enumerator::Seq(self.len())
    }

    fn call_method(
        self: &Arc<Self>,
        _state: &State<'_, '_>,
        method: &str,
        args: &[Value],
    ) -> Result<Value, Error> {
        match (method, args) {
            ("of_kind", [kind]) => {
                let kind = kind.as_str().ok_or_else(|| {
                    Error::new(ErrorKind::InvalidOperation, "of_kind takes a kind name")
                })?;
                Ok(Value::from_serialize(self.grouped().get(kind)))
            }
            ("kinds", []) => Ok(Value::from_serialize(
                self.grouped().kinds().collect::<Vec<_>>(),
            )),
            _ => Err(Error::from(ErrorKind::UnknownMethod)),
        }
    }
}

impl From<Messages> for Value {
    fn from(messages: Messages) -> Self {
        Value::from_object(messages)
    }
}

/// What an auto-escaped template must render for any messages: the oracle of the template
/// property test and of the `templates` fuzz target (through `__fuzz`).
#[cfg(any(test, fuzzing))]
pub(crate) mod oracle {
    use crate::{Kind, Messages};

    /// Every message's kind and text, then the texts of kind `wanted` (`of_kind`), then
    /// `kinds()`; rendered as an `.html` template, so auto-escaped.
    pub(crate) const TEMPLATE: &str = "{% for m in messages %}<p class=\"{{ m.kind }}\">{{ m.text }}</p>{% endfor %}|\
         {% for m in messages.of_kind(wanted) %}{{ m.text }};{% endfor %}|\
         {% for k in messages.kinds() %}{{ k }},{% endfor %}";

    /// minijinja's HTML escaping, written out: what every text and kind must come out as.
    pub(crate) fn escaped(text: &str) -> String {
        let mut out = String::with_capacity(text.len());
        for c in text.chars() {
            match c {
                '&' => out.push_str("&amp;"),
                '<' => out.push_str("&lt;"),
                '>' => out.push_str("&gt;"),
                '"' => out.push_str("&quot;"),
                '\'' => out.push_str("&#x27;"),
                '/' => out.push_str("&#x2f;"),
                c => out.push(c),
            }
        }
        out
    }

    /// What [`TEMPLATE`] renders for `messages` with `wanted`.
    pub(crate) fn expected(messages: &Messages, wanted: &Kind) -> String {
        let mut expected: String = messages
            .iter()
            .map(|m| {
                format!(
                    "<p class=\"{}\">{}</p>",
                    escaped(m.kind().as_str()),
                    escaped(m.text())
                )
            })
            .collect();
        expected.push('|');
        for m in messages.iter().filter(|m| m.kind() == wanted) {
            expected += &escaped(m.text());
            expected.push(';');
        }
        expected.push('|');
        for kind in messages.grouped().kinds() {
            expected += &escaped(kind.as_str());
            expected.push(',');
        }
        expected
    }
}

#[cfg(test)]
mod tests {
    use minijinja::{Environment, context};

    use crate::message::{Level, Message, Messages};

    #[test]
    fn templates_see_messages_by_kind_and_empty_is_false() {
        let mut env = Environment::new();
        env.add_template(
            "t.html",
            "{% if messages %}{% for m in messages %}{{ loop.index }}{% endfor %}:\
             {% for k in messages.kinds() %}{{ k }},{% endfor %}:{{ messages[1].text }}:\
             {% for m in messages.of_kind('info') %}{{ m.text }}{% endfor %}{% else %}none{% endif %}",
        )
        .unwrap();
        let t = env.get_template("t.html").unwrap();
        let messages = Messages::from(vec![
            Message::new(Level::Info, "a"),
            Message::new(Level::Error, "b"),
            Message::new(Level::Info, "c"),
        ]);
        let html = t.render(context! { messages => minijinja::Value::from(messages) });
        assert_eq!(html.unwrap(), "123:info,error,:b:ac");
        let empty = t.render(context! { messages => minijinja::Value::from(Messages::new()) });
        assert_eq!(empty.unwrap(), "none");
    }

    proptest::proptest! {
        #![proptest_config(crate::message::fuzz::costly())]

        /// Arbitrary messages render escaped, in push order, by kind, in an auto-escaped
        /// template. Cases: `PROPTEST_CASES` (64 by default: `costly`).
        #[test]
        fn fuzz_templates_render_arbitrary_messages_escaped(
            messages in proptest::collection::vec(crate::message::fuzz::message(), 0..6),
            wanted in crate::message::fuzz::kind(),
        ) {
            let mut env = Environment::new();
            env.add_template("t.html", super::oracle::TEMPLATE).expect("a valid template");
            let messages = Messages::from(messages);
            let expected = super::oracle::expected(&messages, &wanted);
            let html = env
                .get_template("t.html")
                .expect("added")
                .render(context! { messages => minijinja::Value::from(messages), wanted => wanted.as_str() })
                .expect("renders");
            proptest::prop_assert_eq!(html, expected);
        }
    }
}
