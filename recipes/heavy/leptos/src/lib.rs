//! tower-flash on [Leptos] 0.8 with `leptos_axum`, rendered on the server: a message set
//! before a redirect, shown once on the next page.
//!
//! leptos_axum serves the app from an axum `Router`, so `FlashLayer` goes on that router as
//! on any axum app, and server functions reach the handle with
//! `leptos_axum::extract::<Flash>()`. Two things matter:
//!
//! - **Render pages that read messages with `SsrMode::Async`.** Leptos streams pages by
//!   default: the head leaves before the suspended parts render, so a take in them would
//!   run after the flash layer has seen the response (no `Cache-Control: no-store`, and a
//!   status set afterwards never reaches the layer). `Async` renders the whole page first.
//! - **Fail with `ResponseOptions::set_status`**: the status reaches the response, and
//!   with `confirm_delivery()` a page that took messages and then answers 5xx gives them back.
//!
//! [Leptos]: https://leptos.dev

use leptos::prelude::*;
use leptos_router::components::{Route, Router, Routes};
use leptos_router::{SsrMode, path};

/// The guestbook of every recipe: `GET /` lists the messages it takes, `POST /save` pushes
/// one and redirects, `GET /broken` takes the messages and then fails (as a broken template
/// would); with `confirm_delivery()` on the layer, they come back.
#[cfg(feature = "ssr")]
pub fn app(layer: tower_flash::FlashLayer) -> axum::Router {
    use leptos_axum::{LeptosRoutes, generate_route_list};

    let options = LeptosOptions::builder()
        .output_name("recipe-leptos")
        .build();
    let routes = generate_route_list(App);
    axum::Router::new()
        .leptos_routes(&options, routes, {
            let options = options.clone();
            move || shell(options.clone())
        })
        .with_state(options)
        // Outermost: the layer sees every page and every server function.
        .layer(layer)
}

/// The page around the app (no hydration scripts: server-side rendering only).
pub fn shell(_options: LeptosOptions) -> impl IntoView {
    view! {
        <!DOCTYPE html>
        <html lang="en">
            <head><meta charset="utf-8"/><title>"Guestbook"</title></head>
            <body><App/></body>
        </html>
    }
}

/// The app's routes, both rendered whole before they leave (see the module docs).
#[component]
pub fn App() -> impl IntoView {
    view! {
        <Router>
            <Routes fallback=|| "Not found">
                <Route path=path!("/") view=Home ssr=SsrMode::Async/>
                <Route path=path!("/broken") view=Broken ssr=SsrMode::Async/>
            </Routes>
        </Router>
    }
}

/// The messages for this client, taken: they are gone from the store once the page that
/// shows them has been sent.
#[server(prefix = "", endpoint = "messages")]
pub async fn take_messages() -> Result<Vec<(String, String)>, ServerFnError> {
    let flash: tower_flash::Flash = leptos_axum::extract().await?;
    let messages = flash.take_all().await.into_iter();
    Ok(messages
        .map(|message| (message.kind().to_string(), message.text().to_owned()))
        .collect())
}

/// The form's action: a message, then a redirect to the page that shows it.
#[server(prefix = "", endpoint = "save")]
pub async fn save() -> Result<(), ServerFnError> {
    let flash: tower_flash::Flash = leptos_axum::extract().await?;
    flash.success("Saved!").map_err(ServerFnError::new)?;
    leptos_axum::redirect("/");
    Ok(())
}

#[component]
fn Home() -> impl IntoView {
    let messages = OnceResource::new(take_messages());
    view! {
        <Suspense>
            <ul>
                {move || Suspend::new(async move {
                    // Leptos escapes the text: messages are data.
                    messages.await.unwrap_or_default().into_iter()
                        .map(|(kind, text)| view! { <li class=kind>{text}</li> })
                        .collect_view()
                })}
            </ul>
        </Suspense>
        <form method="post" action="/save"><button>"Save"</button></form>
    }
}

#[component]
fn Broken() -> impl IntoView {
    let messages = OnceResource::new(take_messages());
    view! {
        <Suspense>
            {move || Suspend::new(async move {
                let _taken = messages.await;
                #[cfg(feature = "ssr")]
                if let Some(response) = use_context::<leptos_axum::ResponseOptions>() {
                    response.set_status(http::StatusCode::INTERNAL_SERVER_ERROR);
                }
                "Something broke"
            })}
        </Suspense>
    }
}
