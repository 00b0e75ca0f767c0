//! Store calls within the request's budget, and the store work a request leaves to the
//! background (an abandoned take put back, leased messages given back).

use std::future::Future;
use std::sync::{Arc, PoisonError};
use std::time::{Duration, Instant};

use super::{Flash, Shared};
use crate::config::Config;
use crate::error::{Error, StoreError};
use crate::id::ClientId;
use crate::message::Message;
use crate::store::{End, Lease, LeaseId, OwnedTake, Take};

impl Flash {
    /// The store's budget for this request and what is left of it (`None`: no budget).
    pub(super) fn budget_left(&self) -> Option<(Duration, Duration)> {
        let budget = self.config().budget?;
        Some((budget, budget.saturating_sub(self.state().spent)))
    }

    /// Runs a store call within what is left of the request's budget. Past it the call is
    /// abandoned: its effect, if the store still carries it out, is unknown to the request.
    pub(super) async fn bounded<T>(
        &self,
        op: impl Future<Output = Result<T, StoreError>>,
    ) -> Result<T, StoreError> {
        let Some((budget, left)) = self.budget_left() else {
            return op.await;
        };
        if left.is_zero() {
            return Err(StoreError::Timeout(budget));
        }
        let started = Instant::now();
        let result = tokio::time::timeout(left, op).await;
        self.state().spent += started.elapsed();
        result.unwrap_or(Err(StoreError::Timeout(budget)))
    }

    /// Takes from the store within the request's budget. A take still unanswered when the
    /// budget runs out goes on in the background, and whatever it took then is put back at
    /// the front of the queue (or its lease given back): a take whose answer never reached
    /// the request loses nothing.
    pub(super) async fn take_from_store(
        &self,
        id: &ClientId,
        take: &Take<'_>,
        lease: Option<&Lease>,
    ) -> Result<Vec<Message>, StoreError> {
        let Some((budget, left)) = self.budget_left() else {
            return self.config().store.take(id, take, lease).await;
        };
        if left.is_zero() {
            return Err(StoreError::Timeout(budget));
        }
        let config = self.shared.config.clone();
        let lease = lease.cloned();
        let owned = OwnedTake {
            kind: take.kind.cloned(),
            target: take.target.cloned(),
            lease: lease.clone(),
            now: take.now,
        };
        let mut op = config.store.clone().take_owned(id.clone(), owned);
        let started = Instant::now();
        let answered = tokio::time::timeout(left, &mut op).await;
        self.state().spent += started.elapsed();
        if let Ok(result) = answered {
            return result;
        }
        {
            // A later take of this request must not add to the lease the background
            // recovery may give back.
            let mut state = self.state();
            if lease.is_some() {
                state.lease = None;
            }
        }
        let id = id.clone();
        spawn(async move {
            let taken = match op.await {
                Ok(taken) if !taken.is_empty() => taken,
                Ok(_) => return,
                Err(error) => {
                    tracing::warn!(%error, "flash: a take abandoned by its request failed");
                    return;
                }
            };
            let options = config.push_options();
            let store = &config.store;
            let put_back = match &lease {
                Some(lease) => store
                    .give_back(&id, &lease.id, None, &options, config.now())
                    .await
                    .map(|_| ()),
                None => store
                    .write(&id, &taken, End::Front, &options, config.now())
                    .await
                    .map(|_| ()),
            };
            match put_back {
                Ok(()) => tracing::warn!(
                    count = taken.len(),
                    "flash: a take answered after its request stopped waiting; its messages are back in the queue"
                ),
                Err(error) => tracing::error!(
                    %error,
                    count = taken.len(),
                    "flash: could not put back the messages of a take its request stopped waiting for"
                ),
            }
        });
        Err(StoreError::Timeout(budget))
    }

    /// The client's id for a store call: the session read again first, when keyed by one.
    pub(super) async fn current_id(&self) -> Result<Option<ClientId>, Error> {
        self.refresh(false).await?;
        Ok(self.resolve(&mut self.state()).cloned())
    }
}

/// The last handle of a request that still holds leased messages (a panic unwound the
/// handler, the client went away mid-body) gives them back. Without a Tokio runtime to do it
/// on, they come back when the lease times out.
impl Drop for Shared {
    fn drop(&mut self) {
        let state = self.state.get_mut().unwrap_or_else(PoisonError::into_inner);
        if !std::mem::take(&mut state.lease_open) {
            return;
        }
        let (Some(lease), Some(id)) = (state.lease.take(), state.lease_client.take()) else {
            return;
        };
        spawn_give_back(self.config.clone(), id, lease.id);
    }
}

/// Runs `task` on the current Tokio runtime; without one, it is dropped with a warning
/// (leased messages then come back when their lease times out).
pub(super) fn spawn(task: impl Future<Output = ()> + Send + 'static) {
    match tokio::runtime::Handle::try_current() {
        Ok(runtime) => {
            runtime.spawn(task);
        }
        Err(_) => tracing::warn!(
            "flash: no Tokio runtime to finish a store call on; leased messages come back after the lease timeout"
        ),
    }
}

/// Gives leased messages back on the current Tokio runtime; without one they come back when
/// the lease times out.
pub(super) fn spawn_give_back(config: Arc<Config>, id: ClientId, lease: LeaseId) {
    spawn(async move {
        let options = config.push_options();
        let now = config.now();
        if let Err(error) = config
            .store
            .give_back(&id, &lease, None, &options, now)
            .await
        {
            tracing::error!(
                %error,
                "flash: could not give back undelivered messages; they come back after the lease timeout"
            );
        }
    });
}
