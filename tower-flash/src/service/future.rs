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
use crate::flash::{Finished, Flash, ResponseHead};
use crate::htmx::HX_TRIGGER;

type Finish = Pin<Box<dyn Future<Output = Finished> + Send>>;

pin_project! {
    /// Polls the inner service, then finishes the request's flash (writes its messages,
    /// gives back or scopes them) before handing the response back. Requests with nothing to
    /// finish take the fast path: no store call, no allocation.
    pub struct ResponseFuture<F, B> {
        #[pin]
        inner: F,
        flash: Option<Flash>,
        finishing: Option<(Finish, Response<B>, Flash)>,
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

/// The response with its body wrapped, confirming delivery at the end of the body when the
/// request leased messages. A response that showed messages is not stored by caches,
/// unless the handler said otherwise.
fn wrap<B: Body>(mut response: Response<B>, flash: Flash) -> Response<FlashBody<B>> {
    let (delivered, holds_lease) = flash.response_needs();
    if delivered && !response.headers().contains_key(CACHE_CONTROL) {
        response
            .headers_mut()
            .insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    if holds_lease {
        let promised = promised_length(&response);
        response.map(|body| FlashBody::confirming(body, flash, promised))
    } else {
        response.map(FlashBody::plain)
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
                    // No response to carry a cookie: close, so that late pushes report
                    // `Error::Closed` instead of vanishing. Dropping the handle gives any
                    // leased messages back.
                    flash.close();
                    return Poll::Ready(Err(error));
                }
            };
            let head =
                ResponseHead::new(this.method, response.status(), || sends_no_body(&response));
            if !flash.needs_finish(&head) {
                flash.close();
                return Poll::Ready(Ok(wrap(response, flash)));
            }
            let head = head.headers(response.headers());
            let finisher = flash.clone();
            let finish: Finish = Box::pin(async move { finisher.finish(head).await });
            *this.finishing = Some((finish, response, flash));
        }
        let Some((mut finish, mut response, flash)) = this.finishing.take() else {
            return Poll::Pending;
        };
        let Poll::Ready(Finished {
            set_cookie: cookie,
            hx_trigger,
            result,
        }) = finish.as_mut().poll(cx)
        else {
            *this.finishing = Some((finish, response, flash));
            return Poll::Pending;
        };
        if let Err(error) = result {
            tracing::error!(%error, "flash: could not store this request's messages");
            if this.config.on_store_error == OnStoreError::Fail {
                let mut failed = Response::new(FlashBody::empty());
                *failed.status_mut() = StatusCode::INTERNAL_SERVER_ERROR;
                if let Some(cookie) = cookie {
                    failed.headers_mut().append(SET_COOKIE, cookie);
                }
                // The handler's response is not sent: its leased messages go back.
                drop(response);
                flash.abandon_delivery();
                return Poll::Ready(Ok(failed));
            }
        }
        if let Some(cookie) = cookie {
            response.headers_mut().append(SET_COOKIE, cookie);
        }
        if let Some(trigger) = hx_trigger {
            // Replaces every `HX-Trigger` the handler set: the merged one holds them all.
            response.headers_mut().insert(HX_TRIGGER, trigger);
        }
        Poll::Ready(Ok(wrap(response, flash)))
    }
}
