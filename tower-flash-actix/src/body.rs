//! [`FlashBody`]: the response body, which confirms delivery when it has been sent whole.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use actix_web::body::{BodySize, MessageBody};
use bytes::Bytes;
use pin_project_lite::pin_project;
use tower_flash::adapter::Delivery;

type Confirming = Pin<Box<dyn Future<Output = ()> + Send>>;

pin_project! {
    /// The body of a response that went through [`FlashMiddleware`](crate::FlashMiddleware):
    /// the handler's body, unchanged, except that under delivery confirmation the messages
    /// the request took are confirmed once actix has taken the body's last chunk, and given
    /// back if the body fails or is dropped before its end (a client that went away).
    pub struct FlashBody<B> {
        #[pin]
        inner: Option<B>,
        delivery: Option<Delivery>,
        confirming: Option<Confirming>,
    }
}

impl<B> FlashBody<B> {
    pub(crate) fn plain(inner: B) -> Self {
        FlashBody {
            inner: Some(inner),
            delivery: None,
            confirming: None,
        }
    }

    pub(crate) fn confirming(inner: B, delivery: Option<Delivery>) -> Self {
        FlashBody {
            inner: Some(inner),
            delivery,
            confirming: None,
        }
    }

    /// The empty body of the `500` answered under `OnStoreError::Fail`.
    pub(crate) fn empty() -> Self {
        FlashBody {
            inner: None,
            delivery: None,
            confirming: None,
        }
    }
}

impl<B: MessageBody> MessageBody for FlashBody<B> {
    type Error = B::Error;

    fn size(&self) -> BodySize {
        self.inner
            .as_ref()
            .map_or(BodySize::Sized(0), MessageBody::size)
    }

    fn poll_next(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Bytes, Self::Error>>> {
        let mut this = self.project();
        if let Some(confirming) = this.confirming.as_mut() {
            ready!(confirming.as_mut().poll(cx));
            *this.confirming = None;
            return Poll::Ready(None);
        }
        let Some(inner) = this.inner.as_mut().as_pin_mut() else {
            return Poll::Ready(None);
        };
        match ready!(inner.poll_next(cx)) {
            Some(Ok(chunk)) => Poll::Ready(Some(Ok(chunk))),
            Some(Err(error)) => {
                // Not sent whole: dropping the delivery gives the messages back.
                this.delivery.take();
                Poll::Ready(Some(Err(error)))
            }
            // actix polls a body with a length until it says it ended, so the end is seen
            // here, after the last chunk (bodies of no byte are confirmed with the head).
            None => {
                let Some(delivery) = this.delivery.take() else {
                    return Poll::Ready(None);
                };
                let mut confirming: Confirming = Box::pin(delivery.confirm());
                if confirming.as_mut().poll(cx).is_pending() {
                    *this.confirming = Some(confirming);
                    return Poll::Pending;
                }
                Poll::Ready(None)
            }
        }
    }
}

impl<B> std::fmt::Debug for FlashBody<B> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FlashBody")
            .field("confirms_delivery", &self.delivery.is_some())
            .finish_non_exhaustive()
    }
}
