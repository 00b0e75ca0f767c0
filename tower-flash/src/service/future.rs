//! The response future of [`FlashService`](super::FlashService).

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, ready};

use http::header::SET_COOKIE;
use http::{HeaderValue, Response, StatusCode};
use pin_project_lite::pin_project;

use crate::error::StoreError;
use crate::flash::Flash;
use crate::layer::{Config, OnStoreError};

type Finish = Pin<Box<dyn Future<Output = (Option<HeaderValue>, Result<(), StoreError>)> + Send>>;

pin_project! {
    /// Polls the inner service, then writes the request's messages before handing the
    /// response back. Requests that wrote nothing take the fast path: no store call, no
    /// allocation.
    pub struct ResponseFuture<F, B> {
        #[pin]
        inner: F,
        flash: Option<Flash>,
        finishing: Option<(Finish, Response<B>)>,
        config: Arc<Config>,
    }
}

impl<F, B> ResponseFuture<F, B> {
    pub(crate) fn new(inner: F, flash: Option<Flash>, config: Arc<Config>) -> Self {
        ResponseFuture {
            inner,
            flash,
            finishing: None,
            config,
        }
    }
}

impl<F, B, E> Future for ResponseFuture<F, B>
where
    F: Future<Output = Result<Response<B>, E>>,
    B: Default,
{
    type Output = Result<Response<B>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        if this.finishing.is_none() {
            let response = ready!(this.inner.poll(cx));
            let Some(flash) = this.flash.take() else {
                return Poll::Ready(response);
            };
            match response {
                Ok(response) if flash.has_writes() => {
                    let finish: Finish = Box::pin(async move { flash.finish().await });
                    *this.finishing = Some((finish, response));
                }
                other => {
                    // Nothing to write (or the inner service failed and there is no
                    // response to carry a cookie): close, so that late pushes report
                    // `Error::Closed` instead of vanishing.
                    flash.close();
                    return Poll::Ready(other);
                }
            }
        }
        let Some((mut finish, mut response)) = this.finishing.take() else {
            return Poll::Pending;
        };
        let Poll::Ready((cookie, result)) = finish.as_mut().poll(cx) else {
            *this.finishing = Some((finish, response));
            return Poll::Pending;
        };
        if let Err(error) = result {
            tracing::error!(%error, "flash: could not store this request's messages");
            if this.config.on_store_error == OnStoreError::Fail {
                response = Response::new(B::default());
                *response.status_mut() = StatusCode::INTERNAL_SERVER_ERROR;
            }
        }
        if let Some(cookie) = cookie {
            response.headers_mut().append(SET_COOKIE, cookie);
        }
        Poll::Ready(Ok(response))
    }
}
