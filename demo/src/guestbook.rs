//! The guestbook itself: entries kept in memory, and the validation of the sign-in form.
//!
//! Nothing here knows about HTTP or flash messages: the handlers turn [`Problem`]s into
//! `error` messages and a [`Signed`] entry into a `success` one.

use std::collections::VecDeque;
use std::fmt;
use std::sync::{Mutex, MutexGuard, PoisonError};

use serde::{Deserialize, Serialize};

/// The longest name accepted, in characters.
pub(crate) const MAX_NAME_CHARS: usize = 40;
/// The longest message accepted, in characters.
pub(crate) const MAX_TEXT_CHARS: usize = 280;
/// How many entries the guestbook keeps; signing a full book removes the oldest entry.
pub(crate) const MAX_ENTRIES: usize = 50;

/// The sign-in form as the browser sends it.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct EntryForm {
    // A missing field counts as empty: it gets the same friendly error as a blank one
    // instead of axum's plain-text rejection.
    #[serde(default)]
    pub(crate) name: String,
    #[serde(default)]
    pub(crate) text: String,
}

/// What is wrong with a submitted form. Its `Display` is the text the visitor sees.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Problem {
    NameMissing,
    NameTooLong { chars: usize },
    TextMissing,
    TextTooLong { chars: usize },
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Problem::NameMissing => f.write_str("Please tell us your name."),
            Problem::NameTooLong { chars } => write!(
                f,
                "Your name is {chars} characters long; the limit is {MAX_NAME_CHARS}."
            ),
            Problem::TextMissing => f.write_str("Please write a message."),
            Problem::TextTooLong { chars } => write!(
                f,
                "Your message is {chars} characters long; the limit is {MAX_TEXT_CHARS}."
            ),
        }
    }
}

/// A form that passed validation: trimmed, non-empty and within the limits.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct ValidEntry {
    name: String,
    text: String,
}

impl EntryForm {
    /// Checks the form, reporting every problem at once so the visitor can fix them all.
    pub(crate) fn validate(self) -> Result<ValidEntry, Vec<Problem>> {
        let name = self.name.trim();
        let text = self.text.trim();
        let mut problems = Vec::new();
        // Limits count characters, not bytes, so that "é" costs as much as "e".
        match name.chars().count() {
            0 => problems.push(Problem::NameMissing),
            chars if chars > MAX_NAME_CHARS => problems.push(Problem::NameTooLong { chars }),
            _ => {}
        }
        match text.chars().count() {
            0 => problems.push(Problem::TextMissing),
            chars if chars > MAX_TEXT_CHARS => problems.push(Problem::TextTooLong { chars }),
            _ => {}
        }
        if problems.is_empty() {
            Ok(ValidEntry {
                name: name.to_owned(),
                text: text.to_owned(),
            })
        } else {
            Err(problems)
        }
    }
}

/// One signed entry, as the template shows it.
#[derive(Clone, Debug, Serialize)]
pub(crate) struct Entry {
    pub(crate) id: u64,
    pub(crate) name: String,
    pub(crate) text: String,
}

/// The outcome of [`Guestbook::sign`].
#[derive(Debug)]
pub(crate) struct Signed {
    pub(crate) entry: Entry,
    /// Whether the book was full and its oldest entry was removed to make room.
    pub(crate) evicted_oldest: bool,
}

/// The entries, newest first, shared by all requests.
#[derive(Debug, Default)]
pub(crate) struct Guestbook {
    inner: Mutex<Book>,
}

#[derive(Debug, Default)]
struct Book {
    entries: VecDeque<Entry>,
    next_id: u64,
}

impl Guestbook {
    fn book(&self) -> MutexGuard<'_, Book> {
        // Nothing panics while the book is locked, so a poisoned lock still guards a
        // consistent book: keep serving rather than turn every later request into a panic.
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Adds an entry at the top, removing the oldest one when the book is full.
    pub(crate) fn sign(&self, entry: ValidEntry) -> Signed {
        let mut book = self.book();
        book.next_id += 1;
        let entry = Entry {
            id: book.next_id,
            name: entry.name,
            text: entry.text,
        };
        book.entries.push_front(entry.clone());
        let evicted_oldest = book.entries.len() > MAX_ENTRIES;
        book.entries.truncate(MAX_ENTRIES);
        Signed {
            entry,
            evicted_oldest,
        }
    }

    /// A copy of the entries, newest first, so that rendering does not hold the lock.
    pub(crate) fn entries(&self) -> Vec<Entry> {
        self.book().entries.iter().cloned().collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn form(name: &str, text: &str) -> EntryForm {
        EntryForm {
            name: name.to_owned(),
            text: text.to_owned(),
        }
    }

    #[test]
    fn validation_trims_and_accepts_a_good_entry() {
        assert_eq!(
            form("  Ada ", "\nHello!\n").validate(),
            Ok(ValidEntry {
                name: "Ada".to_owned(),
                text: "Hello!".to_owned(),
            })
        );
    }

    #[test]
    fn validation_reports_every_problem() {
        assert_eq!(
            form(" ", "").validate(),
            Err(vec![Problem::NameMissing, Problem::TextMissing])
        );
        let long_name = "n".repeat(MAX_NAME_CHARS + 1);
        let long_text = "é".repeat(MAX_TEXT_CHARS + 1);
        assert_eq!(
            form(&long_name, &long_text).validate(),
            Err(vec![
                Problem::NameTooLong {
                    chars: MAX_NAME_CHARS + 1
                },
                Problem::TextTooLong {
                    chars: MAX_TEXT_CHARS + 1
                },
            ])
        );
    }

    #[test]
    fn limits_count_characters_not_bytes() {
        // 280 two-byte characters are 560 bytes, and still within the limit.
        assert!(form("Zoë", &"é".repeat(MAX_TEXT_CHARS)).validate().is_ok());
    }

    #[test]
    fn a_full_book_drops_its_oldest_entry() {
        let book = Guestbook::default();
        for i in 0..MAX_ENTRIES {
            let signed = book.sign(form("Ada", &format!("entry {i}")).validate().unwrap());
            assert!(!signed.evicted_oldest);
        }
        let signed = book.sign(form("Bob", "one too many").validate().unwrap());
        assert!(signed.evicted_oldest);
        let entries = book.entries();
        assert_eq!(entries.len(), MAX_ENTRIES);
        assert_eq!(entries[0].text, "one too many");
        assert_eq!(entries[MAX_ENTRIES - 1].text, "entry 1");
        assert_eq!(entries[0].id, MAX_ENTRIES as u64 + 1);
    }
}
