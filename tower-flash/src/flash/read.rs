//! The handler's reads: takes (atomic in the store, leased under delivery confirmation),
//! prefetch takes that consume nothing, and peeks.

use super::Flash;
use crate::error::Error;
use crate::id::ClientId;
use crate::message::{Kind, Message, Messages, millis};
use crate::store::{Lease, LeaseId, Take};
use crate::telemetry;

/// **Reading messages**, connect-flash's `req.flash(kind)` and `req.flash()`: takes remove
/// what they return, atomically; peeks leave it in place.
impl Flash {
    /// Removes and returns this client's messages of `kind` (connect-flash's
    /// `req.flash('info')`), leaving the other kinds in place. `[]` when there are none, when
    /// `kind` is not a valid kind, and when the store fails (logged; see
    /// [`try_take`](Flash::try_take) to get the error).
    pub async fn take(&self, kind: &str) -> Messages {
        self.try_take(kind).await.unwrap_or_else(|e| {
            tracing::warn!(error = %e, "flash: take failed, treating as no messages");
            Messages::new()
        })
    }

    /// [`take`](Flash::take), reporting an invalid kind or a store failure.
    pub async fn try_take(&self, kind: &str) -> Result<Messages, Error> {
        let kind = Kind::new(kind)?;
        self.take_inner(Some(&kind)).await
    }

    /// Removes and returns all this client's messages in push order (connect-flash's
    /// `req.flash()`); [`Messages::grouped`] gives the `{"info": [..], "error": [..]}` view.
    /// `[]` when the store fails (logged; see [`try_take_all`](Flash::try_take_all)).
    pub async fn take_all(&self) -> Messages {
        self.try_take_all().await.unwrap_or_else(|e| {
            tracing::warn!(error = %e, "flash: take failed, treating as no messages");
            Messages::new()
        })
    }

    /// [`take_all`](Flash::take_all), reporting a store failure.
    pub async fn try_take_all(&self) -> Result<Messages, Error> {
        self.take_inner(None).await
    }

    pub(super) async fn take_inner(&self, kind: Option<&Kind>) -> Result<Messages, Error> {
        self.refresh(false).await?;
        let (id, target, lease, prefetch) = {
            let mut state = self.state();
            let id = self.resolve(&mut state).cloned();
            if id.is_some()
                && !state.prefetch
                && state.lease.is_none()
                && let Some(timeout) = self.config().lease_timeout
            {
                let now = self.config().now();
                state.lease = Some(Lease {
                    id: LeaseId::at(now),
                    until: now.saturating_add(millis(timeout)),
                    ttl: self.config().ttl,
                });
            }
            // A request's lease belongs to one client: a take after the client changed
            // (a session flushed in between) consumes without a lease.
            let lease = match &state.lease_client {
                Some(client) if id.as_ref() != Some(client) => None,
                _ => state.lease.clone(),
            };
            (id, state.target.clone(), lease, state.prefetch)
        };
        let mut take = Take::of(kind, self.config().now());
        if let Some(target) = &target {
            take = take.at(target);
        }
        if prefetch {
            return self.prefetch_take(id.as_ref(), &take).await;
        }
        let mut messages = match &id {
            Some(id) => self.take_from_store(id, &take, lease.as_ref()).await?,
            None => Vec::new(),
        };
        let mut state = self.state();
        state.read = true;
        if lease.is_some() && !messages.is_empty() {
            state.lease_open = true;
            state.lease_client = id;
            state.leased.extend(messages.iter().map(Message::id));
        }
        // A message past its own time to live is consumed but never delivered.
        let before = messages.len();
        messages.retain(|m| !m.is_expired_at(take.now));
        telemetry::expired(before - messages.len());
        // Taken from the store: older than anything this request pushed.
        state.taken.extend(messages.iter().cloned());
        let local = std::mem::take(&mut state.local);
        for entry in local {
            if kind.is_none_or(|k| entry.message.kind() == k) {
                if entry.message.is_expired_at(take.now) {
                    telemetry::expired(1);
                    continue;
                }
                if !entry.now {
                    state.taken.push(entry.message.clone());
                }
                messages.push(entry.message);
            } else {
                state.local.push(entry);
            }
        }
        telemetry::delivered(messages.len());
        state.delivered |= !messages.is_empty();
        Ok(Messages::from(messages))
    }

    /// A take in a prefetch or prerender: what the take would return, left where it is
    /// (stored, not leased, and this request's pushes still queued).
    async fn prefetch_take(
        &self,
        id: Option<&ClientId>,
        take: &Take<'_>,
    ) -> Result<Messages, Error> {
        let mut messages = match id {
            Some(id) => self.bounded(self.config().store.peek(id, take.now)).await?,
            None => Vec::new(),
        };
        messages.retain(|m| take.selects(m));
        let mut state = self.state();
        state.read = true;
        let local = state.local.iter().map(|l| &l.message);
        messages.extend(
            local
                .filter(|m| take.kind.is_none_or(|k| m.kind() == k))
                .cloned(),
        );
        messages.retain(|m| !m.is_expired_at(take.now));
        state.delivered |= !messages.is_empty();
        Ok(Messages::from(messages))
    }

    /// Returns this client's messages without consuming them: the stored ones, then this
    /// request's. `[]` when the store fails (logged; see [`try_peek`](Flash::try_peek)).
    pub async fn peek(&self) -> Messages {
        self.try_peek().await.unwrap_or_else(|e| {
            tracing::warn!(error = %e, "flash: peek failed, treating as no messages");
            Messages::new()
        })
    }

    /// [`peek`](Flash::peek), reporting a store failure.
    pub async fn try_peek(&self) -> Result<Messages, Error> {
        let id = self.current_id().await?;
        let now = self.config().now();
        let mut messages = match &id {
            Some(id) => self.bounded(self.config().store.peek(id, now)).await?,
            None => Vec::new(),
        };
        let mut state = self.state();
        state.read = true;
        let mut visible = Take::of(None, now);
        if let Some(target) = &state.target {
            visible = visible.at(target);
        }
        messages.retain(|m| visible.selects(m));
        messages.extend(state.kept.iter().cloned());
        messages.extend(state.local.iter().map(|l| l.message.clone()));
        messages.retain(|m| !m.is_expired_at(visible.now));
        state.delivered |= !messages.is_empty();
        Ok(Messages::from(messages))
    }
}
