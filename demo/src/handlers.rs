//! The request handlers. Each one is a complete example of one flash pattern:
//!
//! - [`sign_guestbook`]: post, validate, push `error` or `success`, redirect (303).
//! - [`show_guestbook`]: take the pending messages once and render them.
//! - [`preview`]: `flash.now` and `flash.keep`.
//! - [`flash_every_level`]: one message of each level, to see them all styled.
//! - [`htmx_page`], [`htmx_like`], [`htmx_burst`]: messages delivered to htmx requests in
//!   `HX-Trigger` and shown as toasts.

use std::sync::atomic::Ordering;

use axum::Form;
use axum::extract::State;
use axum::response::{Html, Redirect};
use minijinja::context;
use serde_json::json;
use tower_flash::{Flash, Level, Message};

use crate::AppState;
use crate::guestbook::{EntryForm, MAX_ENTRIES, MAX_NAME_CHARS, MAX_TEXT_CHARS};
use crate::templates::{PageError, render};

/// The note [`preview`] adds with `flash.now`.
const NOW_NOTE: &str =
    "This note comes from flash.now(): it belongs to this page only and was never stored.";

/// `GET /`: the entries, the form, and whatever messages are waiting.
pub(crate) async fn show_guestbook(
    State(state): State<AppState>,
    flash: Flash,
) -> Result<Html<String>, PageError> {
    // Taking removes the messages from the store: reloading the page will not show them
    // again. A visitor without a flash cookie costs no store call here.
    let messages = flash.take_all().await;
    render(
        &state.templates,
        "guestbook.html",
        context! {
            messages,
            entries => state.guestbook.entries(),
            max_name_chars => MAX_NAME_CHARS,
            max_text_chars => MAX_TEXT_CHARS,
        },
    )
}

/// `POST /entries`: signs the guestbook, or explains what is wrong with the form.
///
/// Either way it answers with a redirect (303 See Other) to `/`, so that reloading the
/// page does not post the form again (the Post/Redirect/Get pattern). The messages pushed
/// here are written to the store before the redirect leaves, and the page the browser
/// lands on takes them.
pub(crate) async fn sign_guestbook(
    State(state): State<AppState>,
    flash: Flash,
    Form(form): Form<EntryForm>,
) -> Result<Redirect, tower_flash::Error> {
    let entry = match form.validate() {
        Ok(entry) => entry,
        Err(problems) => {
            for problem in problems {
                flash.error(problem.to_string())?;
            }
            return Ok(Redirect::to("/"));
        }
    };
    let signed = state.guestbook.sign(entry);
    // Structured data rides along with the text; the template turns it into a link.
    let thanks = Message::new(
        Level::Success,
        format!("Thanks for signing, {}!", signed.entry.name),
    )
    .with_data(json!({
        "link": { "href": format!("/#entry-{}", signed.entry.id), "text": "See your entry" }
    }));
    flash.push_message(thanks)?;
    if signed.evicted_oldest {
        flash.warning(format!(
            "The guestbook keeps the {MAX_ENTRIES} newest entries, so the oldest one was removed."
        ))?;
    }
    Ok(Redirect::to("/"))
}

/// `GET /preview`: shows `flash.now` and `flash.keep` at work.
///
/// It shows the waiting messages without using them up, the way a confirmation step
/// before the page that really shows them would.
pub(crate) async fn preview(
    State(state): State<AppState>,
    flash: Flash,
) -> Result<Html<String>, PageError> {
    // For this render only: a `now` message is never stored, so it cannot follow the
    // visitor to the next page.
    flash.now(Message::new(Level::Info, NOW_NOTE))?;
    // The stored messages come first, then the `now` note...
    let messages = flash.take_all().await;
    // ...and `keep` puts the stored ones back (never the `now` one), so the guestbook
    // still shows them once.
    let kept = flash.keep();
    render(
        &state.templates,
        "preview.html",
        context! { messages, kept },
    )
}

/// One example message per level, lowest first.
const EVERY_LEVEL: [(Level, &str); 5] = [
    (Level::Debug, "Debug: detail for developers."),
    (Level::Info, "Info: something worth knowing."),
    (Level::Success, "Success: an action worked."),
    (Level::Warning, "Warning: something needs attention."),
    (Level::Error, "Error: an action failed."),
];

/// `POST /levels`: flashes one message of each level and goes back to the preview page.
pub(crate) async fn flash_every_level(flash: Flash) -> Result<Redirect, tower_flash::Error> {
    for (level, text) in EVERY_LEVEL {
        flash.push_message(Message::new(level, text))?;
    }
    Ok(Redirect::to("/preview"))
}

/// `GET /htmx`: a page whose buttons post with htmx.
pub(crate) async fn htmx_page(
    State(state): State<AppState>,
    flash: Flash,
) -> Result<Html<String>, PageError> {
    let messages = flash.take_all().await;
    render(
        &state.templates,
        "htmx.html",
        context! { messages, likes => state.likes.load(Ordering::Relaxed) },
    )
}

/// `POST /htmx/like`: counts a like and flashes it. htmx swaps the returned count in;
/// the message arrives in the same response's `HX-Trigger` header.
pub(crate) async fn htmx_like(
    State(state): State<AppState>,
    flash: Flash,
) -> Result<String, tower_flash::Error> {
    let likes = state.likes.fetch_add(1, Ordering::Relaxed) + 1;
    // Not only ASCII: HX-Trigger is a header, and the text must still arrive intact.
    flash.success(format!(
        "Thanks! That makes {likes}. Merci · Danke · Спасибо"
    ))?;
    Ok(likes.to_string())
}

/// `POST /htmx/burst`: more messages than one bounded header holds.
pub(crate) async fn htmx_burst(
    State(state): State<AppState>,
    flash: Flash,
) -> Result<String, tower_flash::Error> {
    let texts = (1..=20).map(|i| format!("Message {i} of 20"));
    flash.push_all("info", texts)?;
    Ok(state.likes.load(Ordering::Relaxed).to_string())
}
