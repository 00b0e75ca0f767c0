//! [`FlashBody`]: the response body, which confirms delivery when it has been sent whole.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Mutex, PoisonError};
use std::task::{Context, Poll, ready};

use bytes::Buf;
use http_body::{Body, Frame, SizeHint};
use pin_project_lite::pin_project;

use crate::flash::finish::Delivery;

type Confirming = Pin<Box<dyn Future<Output = ()> + Send>>;

/// The confirmation in flight, in a `Mutex` only so that `FlashBody` is `Sync` (as poem and
/// salvo want response bodies to be): it is polled through `&mut` and never locked.
type ConfirmingSlot = Mutex<Confirming>;

pin_project! {
    /// The body of a response that went through [`FlashLayer`](crate::FlashLayer): the
    /// handler's body, unchanged, except that with delivery confirmation the messages the
    /// request took are confirmed once the body has been streamed to its end, and given back
    /// if it fails or is dropped unfinished (a client that went away).
    ///
    /// Servers stop polling a body once it has produced all the bytes its length promised
    /// (its `Content-Length` header, or its exact size hint), so the end is detected with
    /// the frame that completes that length, or with the last frame: that frame is held
    /// back until the confirmation is stored, then handed on. A body already at its end
    /// when the response leaves is confirmed with the head (see `ResponseFuture`).
    pub struct FlashBody<B: Body> {
        #[pin]
        inner: Option<B>,
        delivery: Option<Delivery>,
        confirming: Option<ConfirmingSlot>,
        last: Option<Frame<B::Data>>,
        // Bytes still to send before the length the response promised is reached.
        remaining: Option<u64>,
    }
}

impl<B: Body> FlashBody<B> {
    /// The handler's body as it is.
    pub(crate) fn plain(inner: B) -> Self {
        FlashBody {
            inner: Some(inner),
            delivery: None,
            confirming: None,
            last: None,
            remaining: None,
        }
    }

    /// The handler's body, confirming `delivery` when it ends or when `promised` bytes (the
    /// response's length, if known) have been sent.
    pub(crate) fn confirming(inner: B, delivery: Delivery, promised: Option<u64>) -> Self {
        FlashBody {
            inner: Some(inner),
            delivery: Some(delivery),
            confirming: None,
            last: None,
            remaining: promised,
        }
    }

    /// An empty body (the 500 of `OnStoreError::Fail`).
    pub(crate) fn empty() -> Self {
        FlashBody {
            inner: None,
            delivery: None,
            confirming: None,
            last: None,
            remaining: None,
        }
    }
}

impl<B: Body> Body for FlashBody<B> {
    type Data = B::Data;
    type Error = B::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Self::Data>, Self::Error>>> {
        let mut this = self.project();
        if let Some(confirming) = this.confirming.as_mut() {
            let confirming = confirming.get_mut().unwrap_or_else(PoisonError::into_inner);
            ready!(confirming.as_mut().poll(cx));
            *this.confirming = None;
            return Poll::Ready(this.last.take().map(Ok));
        }
        let Some(mut inner) = this.inner.as_mut().as_pin_mut() else {
            return Poll::Ready(None);
        };
        let frame = ready!(inner.as_mut().poll_frame(cx));
        let ended = match &frame {
            Some(Ok(frame)) => {
                let sent = frame.data_ref().map_or(0, |data| data.remaining() as u64);
                let length_reached = this.remaining.as_mut().is_some_and(|remaining| {
                    *remaining = remaining.saturating_sub(sent);
                    *remaining == 0
                });
                length_reached || inner.is_end_stream()
            }
            Some(Err(_)) => {
                // Dropped unconfirmed: its messages are given back.
                this.delivery.take();
                false
            }
            None => true,
        };
        // Only the end takes the delivery: dropping it early would give the messages back.
        let Some(delivery) = this.delivery.take_if(|_| ended) else {
            return Poll::Ready(frame);
        };
        *this.last = frame.and_then(Result::ok);
        let mut confirming: Confirming = Box::pin(delivery.confirm());
        if confirming.as_mut().poll(cx).is_pending() {
            *this.confirming = Some(Mutex::new(confirming));
            return Poll::Pending;
        }
        Poll::Ready(this.last.take().map(Ok))
    }

    fn is_end_stream(&self) -> bool {
        // With a lease to confirm, the server must poll once more to learn that the body
        // ended: that poll is the confirmation.
        self.delivery.is_none()
            && self.confirming.is_none()
            && self.last.is_none()
            && self.inner.as_ref().is_none_or(Body::is_end_stream)
    }

    fn size_hint(&self) -> SizeHint {
        self.inner
            .as_ref()
            .map_or_else(|| SizeHint::with_exact(0), Body::size_hint)
    }
}

impl<B: Body> std::fmt::Debug for FlashBody<B> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FlashBody")
            .field("confirms_delivery", &self.delivery.is_some())
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    /// poem and salvo take only `Sync` response bodies (`recipes/poem`, `recipes/salvo`).
    #[test]
    fn flash_bodies_of_sync_bodies_are_send_and_sync() {
        fn send_and_sync<T: Send + Sync>() {}
        send_and_sync::<super::FlashBody<http_body_util::Full<bytes::Bytes>>>();
    }
}
