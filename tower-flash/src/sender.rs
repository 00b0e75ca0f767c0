//! [`FlashSender`]: pushing messages from outside any request.

use std::fmt;
use std::sync::Arc;

use crate::config::Config;
use crate::error::Error;
use crate::id::ClientId;
use crate::message::Message;
use crate::store::{End, PushReceipt};

/// Pushes messages to a client from outside any request: a background job, a queue
/// consumer, an admin action. Made by [`FlashLayer::sender`](crate::FlashLayer::sender);
/// cheap to clone.
///
/// Messages are checked against the layer's limits and minimum level exactly as a
/// request's pushes are, and written in one store call. The client sees them on its next
/// request that reads its messages. To reach a signed-in user on any device, identify clients
/// by user id with [`FlashLayer::identify`](crate::FlashLayer::identify).
#[derive(Clone)]
pub struct FlashSender {
    config: Arc<Config>,
}

impl FlashSender {
    pub(crate) fn new(config: Arc<Config>) -> Self {
        FlashSender { config }
    }

    /// Queues one message for `client`.
    pub async fn send(&self, client: &ClientId, message: Message) -> Result<PushReceipt, Error> {
        self.send_all(client, [message]).await
    }

    /// Queues several messages for `client`, in order: all or none.
    pub async fn send_all(
        &self,
        client: &ClientId,
        messages: impl IntoIterator<Item = Message>,
    ) -> Result<PushReceipt, Error> {
        let batch = self.config.admit(messages)?;
        if batch.len() > self.config.max_messages {
            return Err(Error::TooManyMessages {
                max: self.config.max_messages,
            });
        }
        if batch.is_empty() {
            return Ok(PushReceipt::default());
        }
        let receipt = self
            .config
            .store
            .write(
                client,
                &batch,
                End::Back,
                &self.config.push_options(),
                self.config.now(),
            )
            .await?;
        crate::telemetry::pushed(batch.len());
        crate::telemetry::dropped(receipt.dropped);
        Ok(receipt)
    }
}

impl fmt::Debug for FlashSender {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FlashSender").finish_non_exhaustive()
    }
}
