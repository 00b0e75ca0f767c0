//! The response future of [`FlashService`](super::FlashService).

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, ready};

use http::header::{CACHE_CONTROL, CONTENT_LENGTH, SET_COOKIE};
use http::{HeaderValue, Method, Response, StatusCode};
use http_body::Body;
use pin_project_lite::pin_project;

use super::FlashBody;
use crate::config::{Config, OnStoreError};
use crate::flash::finish::Outcome;
use crate::flash::{Finishing, Flash, Reply};
use crate::htmx::HX_TRIGGER;

type Finish = Pin<Box<dyn Future<Output = Outcome> + Send>>;

pin_project! {
    /// Polls the inner service, then finishes the request's flash (writes its messages,
    /// gives back or scopes them) and applies the outcome to the response before handing it
    /// back. Requests with nothing to finish take the fast path: no store call, no
    /// allocation.
    pub struct ResponseFuture<F, B> {
        #[pin]
        inner: F,
        flash: Option<Flash>,
        finishing: Option<(Finish, Response<B>)>,
        config: Arc<Config>,
        method: Method,
    }
}

impl<F, B> ResponseFuture<F, B> {
    pub(crate) fn new(inner: F, flash: Option<Flash>, config: Arc<Config>, method: Method) -> Self {
        ResponseFuture {
            inner,
            flash,
            finishing: None,
            config,
            method,
        }
    }
}

/// Carries out what finishing the request left to the response: the cookie and the htmx
/// header, no caching of a response that shows messages (unless the handler said otherwise),
/// and a body that confirms delivery when it has been sent whole. A store error under
/// [`OnStoreError::Fail`] replaces the response with an empty 500 (its leased messages go
/// back).
fn apply<B: Body>(
    mut response: Response<B>,
    outcome: Outcome,
    on_store_error: OnStoreError,
) -> Response<FlashBody<B>> {
    if let Err(error) = &outcome.result {
        tracing::error!(%error, "flash: could not store this request's messages");
        if on_store_error == OnStoreError::Fail {
            let mut failed = Response::new(FlashBody::empty());
            *failed.status_mut() = StatusCode::INTERNAL_SERVER_ERROR;
            if let Some(cookie) = outcome.set_cookie {
                failed.headers_mut().append(SET_COOKIE, cookie);
            }
            // The handler's response is not sent: dropping the delivery gives its leased
            // messages back.
            drop(response);
            drop(outcome.delivery);
            return failed;
        }
    }
    let headers = response.headers_mut();
    if let Some(cookie) = outcome.set_cookie {
        headers.append(SET_COOKIE, cookie);
    }
    if let Some(trigger) = outcome.hx_trigger {
        // Replaces every `HX-Trigger` the handler set: the merged one holds them all.
        headers.insert(HX_TRIGGER, trigger);
    }
    if outcome.shows_messages && !headers.contains_key(CACHE_CONTROL) {
        headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    match outcome.delivery {
        Some(delivery) => {
            let promised = promised_length(&response);
            response.map(|body| FlashBody::confirming(body, delivery, promised))
        }
        None => response.map(FlashBody::plain),
    }
}

/// How many body bytes the server will send: the `Content-Length` the handler set, or the
/// body's exact size. The server stops polling the body there.
fn promised_length<B: Body>(response: &Response<B>) -> Option<u64> {
    match response.headers().get(CONTENT_LENGTH) {
        Some(length) => length.to_str().ok().and_then(|l| l.trim().parse().ok()),
        None => response.body().size_hint().exact(),
    }
}

/// Whether the server sends no byte of this body, so never polls it: a body already at its
/// end, or one whose promised length is 0.
fn sends_no_body<B: Body>(response: &Response<B>) -> bool {
    response.body().is_end_stream() || promised_length(response) == Some(0)
}

impl<F, B, E> Future for ResponseFuture<F, B>
where
    F: Future<Output = Result<Response<B>, E>>,
    B: Body,
{
    type Output = Result<Response<FlashBody<B>>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        if this.finishing.is_none() {
            let response = ready!(this.inner.poll(cx));
            let Some(flash) = this.flash.take() else {
                return Poll::Ready(response.map(|r| r.map(FlashBody::plain)));
            };
            let response = match response {
                Ok(response) => response,
                Err(error) => {
                    flash.abort();
                    return Poll::Ready(Err(error));
                }
            };
            let reply = Reply::new(this.method, response.status(), || sends_no_body(&response));
            match flash.finish(reply, response.headers()) {
                Finishing::Done(outcome) => {
                    return Poll::Ready(Ok(apply(response, outcome, this.config.on_store_error)));
                }
                Finishing::Pending(finish) => *this.finishing = Some((finish, response)),
            }
        }
        let Some((mut finish, response)) = this.finishing.take() else {
            return Poll::Pending;
        };
        match finish.as_mut().poll(cx) {
            Poll::Ready(outcome) => {
                Poll::Ready(Ok(apply(response, outcome, this.config.on_store_error)))
            }
            Poll::Pending => {
                *this.finishing = Some((finish, response));
                Poll::Pending
            }
        }
    }
}
