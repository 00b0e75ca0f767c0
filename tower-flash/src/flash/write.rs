//! The handler's writes: pushes checked and queued, `keep`, `discard`, `clear`, `rebind`,
//! `save`, and the write that finishing makes.

use super::Flash;
use super::state::{Identity, Local};
use crate::error::{Error, StoreError};
use crate::id::ClientId;
use crate::message::{Kind, Level, Message};
use crate::store::End;
use crate::telemetry;

/// **Queuing messages**, connect-flash's `req.flash(kind, text)`: checked now, written in one
/// store call when the response leaves.
impl Flash {
    /// Queues a message of `kind` (one of the levels or a free kind such as `"notice"`),
    /// and returns how many messages of that kind this request has queued.
    ///
    /// Like connect-flash's `req.flash('info', 'Saved')`. A message below the layer's
    /// [`min_level`](crate::FlashLayer::min_level) is dropped here (the count does not
    /// grow). An invalid kind, an empty or too large text, or one message too many is an
    /// error, and nothing is queued.
    ///
    /// ```
    /// # use tower_flash::Flash;
    /// async fn handler(flash: Flash) -> Result<(), tower_flash::Error> {
    ///     assert_eq!(flash.push("notice", "one")?, 1);
    ///     assert_eq!(flash.push("notice", "two")?, 2);
    ///     assert!(flash.push("bad kind", "x").is_err());
    ///     Ok(())
    /// }
    /// ```
    pub fn push(&self, kind: &str, text: impl Into<String>) -> Result<usize, Error> {
        self.push_message(Message::new(Kind::new(kind)?, text))
    }

    /// Queues several messages of one kind at once, in order; all or none.
    ///
    /// Like connect-flash's `req.flash('info', ['a', 'b'])`, except that an empty list is
    /// fine (connect-flash threw).
    ///
    /// ```
    /// # use tower_flash::Flash;
    /// async fn handler(flash: Flash) -> Result<(), tower_flash::Error> {
    ///     assert_eq!(flash.push_all("info", ["a", "b"])?, 2);
    ///     assert_eq!(flash.push_all("info", Vec::<String>::new())?, 2);
    ///     Ok(())
    /// }
    /// ```
    pub fn push_all<I, T>(&self, kind: &str, texts: I) -> Result<usize, Error>
    where
        I: IntoIterator<Item = T>,
        T: Into<String>,
    {
        let kind = Kind::new(kind)?;
        let messages: Vec<Message> = texts
            .into_iter()
            .map(|text| Message::new(kind.clone(), text))
            .collect();
        self.enqueue(messages, false, &kind)
    }

    /// Queues a prepared [`Message`], for example one with structured data.
    ///
    /// ```
    /// # use tower_flash::{Flash, Level, Message};
    /// async fn handler(flash: Flash) -> Result<(), tower_flash::Error> {
    ///     let message = Message::new(Level::Error, "Email is taken")
    ///         .with_data(serde_json::json!({ "field": "email" }));
    ///     flash.push_message(message)?;
    ///     Ok(())
    /// }
    /// ```
    pub fn push_message(&self, message: Message) -> Result<usize, Error> {
        let kind = message.kind().clone();
        self.enqueue(vec![message], false, &kind)
    }

    /// Queues a [`Level::Debug`] message.
    pub fn debug(&self, text: impl Into<String>) -> Result<usize, Error> {
        self.push_message(Message::new(Level::Debug, text))
    }

    /// Queues a [`Level::Info`] message: `flash.info(format!("Hi {name}"))`.
    pub fn info(&self, text: impl Into<String>) -> Result<usize, Error> {
        self.push_message(Message::new(Level::Info, text))
    }

    /// Queues a [`Level::Success`] message.
    pub fn success(&self, text: impl Into<String>) -> Result<usize, Error> {
        self.push_message(Message::new(Level::Success, text))
    }

    /// Queues a [`Level::Warning`] message.
    pub fn warning(&self, text: impl Into<String>) -> Result<usize, Error> {
        self.push_message(Message::new(Level::Warning, text))
    }

    /// Queues a [`Level::Error`] message.
    pub fn error(&self, text: impl Into<String>) -> Result<usize, Error> {
        self.push_message(Message::new(Level::Error, text))
    }

    /// Adds a message for this request only (Rails' `flash.now`): takes and peeks in this
    /// request see it; it is never stored. Returns how many `now` messages of that kind this
    /// request has. The same limits apply as to [`push`](Flash::push), with a budget of
    /// [`max_messages`](crate::FlashLayer::max_messages) of its own.
    ///
    /// ```
    /// # use tower_flash::{Flash, Level, Message};
    /// async fn handler(flash: Flash) -> Result<(), tower_flash::Error> {
    ///     flash.now(Message::new(Level::Warning, "Showing cached results"))?;
    ///     let messages = flash.take_all().await;
    ///     assert_eq!(messages[0].text(), "Showing cached results");
    ///     Ok(())
    /// }
    /// ```
    pub fn now(&self, message: Message) -> Result<usize, Error> {
        let kind = message.kind().clone();
        self.enqueue(vec![message], true, &kind)
    }

    fn enqueue(&self, messages: Vec<Message>, now: bool, kind: &Kind) -> Result<usize, Error> {
        let config = self.config();
        let messages = config.admit(messages)?;
        let mut state = self.state();
        if state.closed && !now {
            return Err(Error::Closed);
        }
        if !messages.is_empty() {
            // `now` messages and stored ones have separate budgets of the same size.
            let queued = state.local.iter().filter(|l| l.now == now).count()
                + if now { 0 } else { state.kept.len() };
            if queued + messages.len() > config.max_messages {
                return Err(Error::TooManyMessages {
                    max: config.max_messages,
                });
            }
            state
                .local
                .extend(messages.into_iter().map(|message| Local { message, now }));
        }
        Ok(state
            .local
            .iter()
            .filter(|l| l.now == now && l.message.kind() == kind)
            .count())
    }
}

/// **The request's messages and identity**: keep what was taken, drop what was queued,
/// delete what is stored, switch client at sign-in or sign-out, write now.
impl Flash {
    /// Puts every message this request took back for a later request (Rails' `keep`,
    /// Laravel's `reflash`): they are written back at the front of the client's queue, in
    /// their order, when the response leaves. `now` messages are never kept. Returns how many
    /// messages will be put back.
    ///
    /// ```
    /// # use tower_flash::Flash;
    /// async fn preview(flash: Flash) -> String {
    ///     let messages = flash.take_all().await;
    ///     flash.keep(); // the real page after this one still shows them
    ///     format!("{} pending", messages.len())
    /// }
    /// ```
    pub fn keep(&self) -> usize {
        let mut state = self.state();
        let taken = std::mem::take(&mut state.taken);
        state.kept.extend(taken);
        state.kept.len()
    }

    /// Switches the client this request works for, from now on: `Some(id)` for a user who
    /// has just signed in, `None` for one who has just signed out. After it, takes, peeks,
    /// [`clear`](Flash::clear) and the request's writes (including the pushes it queued
    /// before the switch) go to the new client.
    ///
    /// `None` means a fresh anonymous client: the browser gets a new flash cookie with the
    /// first message written to it (keyed [by session](crate::FlashLayer::identify_by_session),
    /// the session instead, read again). So a logout can say "Signed out" to whoever uses the
    /// browser next, while the user's own queue stays the user's. What this request
    /// [`keep`](Flash::keep)s is written back to the previous client first, never carried
    /// over; a failure to write it is returned and leaves the request unchanged.
    ///
    /// Identification by [`identify`](crate::FlashLayer::identify) starts again with the
    /// next request: rebind within the request that signs in or out.
    ///
    /// ```
    /// # use tower_flash::Flash;
    /// async fn logout(flash: Flash) -> Result<&'static str, tower_flash::Error> {
    ///     // … your auth layer ends the user's session …
    ///     flash.clear().await?; // optional: the user's pending messages, on every device
    ///     flash.rebind(None).await?;
    ///     flash.info("Signed out")?; // for this browser, not for the user
    ///     Ok("bye")
    /// }
    /// ```
    pub async fn rebind(&self, id: Option<ClientId>) -> Result<(), Error> {
        let kept = {
            let mut state = self.state();
            if state.closed {
                return Err(Error::Closed);
            }
            std::mem::take(&mut state.kept)
        };
        if let Err(error) = self.restore_to_current(&kept).await {
            let mut state = self.state();
            let newer = std::mem::replace(&mut state.kept, kept);
            state.kept.extend(newer);
            return Err(error);
        }
        let mut state = self.state();
        state.taken.clear();
        state.identity = match id {
            Some(id) => Identity::Given(id),
            None => state.anonymous(),
        };
        Ok(())
    }

    /// Writes `kept` back to the front of the current client's queue (before a rebind).
    async fn restore_to_current(&self, kept: &[Message]) -> Result<(), Error> {
        if kept.is_empty() {
            return Ok(());
        }
        let Some(id) = self.current_id().await? else {
            // Only this request's own pushes can be kept without a client: they were never
            // stored, so they go on with the request.
            self.state().kept.extend(kept.iter().cloned());
            return Ok(());
        };
        Ok(self.put_back(&id, kept.to_vec()).await?)
    }

    /// Puts `kept` back at the front of `id`'s queue, in order. Messages this request
    /// holds in its lease go back through the lease (and leave it), so that nothing the
    /// lease does later, confirming or giving back, can show them twice; the others (this
    /// request's own pushes) are written.
    async fn put_back(&self, id: &ClientId, kept: Vec<Message>) -> Result<(), StoreError> {
        let (from_lease, own, lease) = {
            let state = self.state();
            let lease = match (&state.lease, &state.lease_client) {
                (Some(lease), Some(client)) if state.lease_open => {
                    Some((lease.id.clone(), client.clone()))
                }
                _ => None,
            };
            let (from_lease, own): (Vec<Message>, Vec<Message>) = kept
                .into_iter()
                .partition(|m| lease.is_some() && state.leased.contains(&m.id()));
            (from_lease, own, lease)
        };
        let options = self.config().push_options();
        // Own pushes first: the leased messages, older, end up in front of them.
        if !own.is_empty() {
            let receipt = self
                .bounded(self.config().store.write(
                    id,
                    &own,
                    End::Front,
                    &options,
                    self.config().now(),
                ))
                .await?;
            telemetry::dropped(receipt.dropped);
        }
        let Some((lease, client)) = lease.filter(|_| !from_lease.is_empty()) else {
            return Ok(());
        };
        self.bounded(self.config().store.give_back(
            &client,
            &lease,
            Some(&from_lease),
            &options,
            self.config().now(),
        ))
        .await?;
        let mut state = self.state();
        state
            .leased
            .retain(|id| !from_lease.iter().any(|m| m.id() == *id));
        if state.leased.is_empty() {
            // Nothing left to confirm or give back.
            state.lease_open = false;
        }
        Ok(())
    }

    /// Drops the messages this request would write: its unwritten pushes, its `now`
    /// messages and what it asked to [`keep`](Flash::keep). Stored messages are untouched.
    /// Returns how many were dropped.
    pub fn discard(&self) -> usize {
        let mut state = self.state();
        let dropped = state.local.len() + state.kept.len();
        state.local.clear();
        state.kept.clear();
        dropped
    }

    /// Deletes everything stored for this client and [`discard`](Flash::discard)s this
    /// request's messages.
    pub async fn clear(&self) -> Result<(), Error> {
        {
            let mut state = self.state();
            // Clearing deletes the leases too: there is nothing left to confirm.
            state.lease_open = false;
            state.local.clear();
            state.kept.clear();
            state.taken.clear();
        }
        if let Some(id) = self.current_id().await? {
            self.bounded(self.config().store.clear(&id)).await?;
        }
        Ok(())
    }

    /// Writes this request's queued messages now, in one store call, instead of when the
    /// response leaves, and reports a store failure to the caller.
    ///
    /// The messages are handed to the store once: after an error they are not written again
    /// at the end of the request. Nothing to write is `Ok` without a store call.
    ///
    /// ```
    /// # use tower_flash::Flash;
    /// async fn handler(flash: Flash) -> &'static str {
    ///     flash.success("Saved").ok();
    ///     match flash.save().await {
    ///         Ok(()) => "saved",
    ///         Err(_) => "the message could not be stored",
    ///     }
    /// }
    /// ```
    pub async fn save(&self) -> Result<(), Error> {
        self.write(false).await
    }

    /// Writes kept messages (at the front) and pushes (at the back). A client without an id
    /// gets a new one here.
    pub(super) async fn write(&self, close: bool) -> Result<(), Error> {
        {
            let mut state = self.state();
            if close {
                state.closed = true;
            }
            if state.kept.is_empty() && state.local.iter().all(|l| l.now) {
                return Ok(());
            }
        }
        self.refresh(true).await?;
        let (id, kept, pushed) = {
            let mut state = self.state();
            let kept = std::mem::take(&mut state.kept);
            let local = std::mem::take(&mut state.local);
            let (now, pushed): (Vec<Local>, Vec<Local>) = local.into_iter().partition(|l| l.now);
            state.local = now;
            let id = match self.resolve(&mut state) {
                Some(id) => id.clone(),
                None => {
                    let id = ClientId::random();
                    state.identity = Identity::Cookie(Some(id.clone()));
                    id
                }
            };
            let pushed: Vec<Message> = pushed.into_iter().map(|l| l.message).collect();
            (id, kept, pushed)
        };
        let config = self.config();
        let options = config.push_options();
        if !kept.is_empty() {
            self.put_back(&id, kept).await?;
            self.state().wrote = true;
        }
        if !pushed.is_empty() {
            let receipt = self
                .bounded(
                    config
                        .store
                        .write(&id, &pushed, End::Back, &options, config.now()),
                )
                .await?;
            self.state().wrote = true;
            telemetry::pushed(pushed.len());
            telemetry::dropped(receipt.dropped);
        }
        Ok(())
    }
}
