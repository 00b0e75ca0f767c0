//! The minijinja templates, embedded in the binary, and the page rendering they serve.

use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use minijinja::Environment;

/// Every template, by name. `include_str!` puts them in the binary: the demo runs from any
/// directory, and a missing template is a compile error rather than a runtime one.
const TEMPLATES: &[(&str, &str)] = &[
    ("base.html", include_str!("../templates/base.html")),
    (
        "guestbook.html",
        include_str!("../templates/guestbook.html"),
    ),
    ("preview.html", include_str!("../templates/preview.html")),
    ("htmx.html", include_str!("../templates/htmx.html")),
];

/// Parses every template once, at start-up, so a syntax error stops the server from
/// starting instead of failing the first request for that page.
///
/// Auto-escaping is minijinja's default: on for names ending in `.html`. Flash messages
/// are plain text that may contain what a visitor typed, so the templates never mark
/// them `|safe`.
pub(crate) fn environment() -> Result<Environment<'static>, minijinja::Error> {
    let mut env = Environment::new();
    // Drop the blank lines `{% ... %}` tags would leave, for tidy page source.
    env.set_trim_blocks(true);
    env.set_lstrip_blocks(true);
    for (name, source) in TEMPLATES {
        env.add_template(name, source)?;
    }
    Ok(env)
}

/// Renders the template `name` with `context` into an HTML response.
pub(crate) fn render(
    env: &Environment<'_>,
    name: &str,
    context: minijinja::Value,
) -> Result<Html<String>, PageError> {
    let html = env.get_template(name)?.render(context)?;
    Ok(Html(html))
}

/// Why a page could not be served.
#[derive(Debug)]
pub(crate) enum PageError {
    /// A flash operation failed; tower-flash maps its errors to a status code.
    Flash(tower_flash::Error),
    /// A template failed to render: a bug in the demo, not the visitor's fault.
    Template(minijinja::Error),
}

impl From<tower_flash::Error> for PageError {
    fn from(error: tower_flash::Error) -> Self {
        PageError::Flash(error)
    }
}

impl From<minijinja::Error> for PageError {
    fn from(error: minijinja::Error) -> Self {
        PageError::Template(error)
    }
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        match self {
            PageError::Flash(error) => error.into_response(),
            PageError::Template(error) => {
                // The details are for the log; the visitor gets no template internals.
                tracing::error!(%error, "could not render a page");
                (StatusCode::INTERNAL_SERVER_ERROR, "Internal Server Error").into_response()
            }
        }
    }
}
