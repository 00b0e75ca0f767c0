//! [`Store`] made object safe, so that `Flash` and the layer need no type parameter.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use super::{End, Lease, LeaseId, PushOptions, PushReceipt, Store, Take, Target};
use crate::error::StoreError;
use crate::id::ClientId;
use crate::message::{Kind, Message, Scope};
use crate::telemetry::observed;

type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// A take that owns what it selects, so that it can finish after its request stopped
/// waiting for it.
pub(crate) struct OwnedTake {
    pub(crate) kind: Option<Kind>,
    pub(crate) target: Option<Target>,
    pub(crate) lease: Option<Lease>,
    pub(crate) now: u64,
}

/// [`Store`] and its capabilities made object safe, so that `Flash` and the layer need no
/// type parameter. The layer checks the capabilities when it is built
/// ([`DynStore::has_leases`], [`DynStore::has_scopes`]); a call to one the store lacks
/// fails with [`StoreError::Unsupported`].
pub(crate) trait DynStore: Send + Sync + 'static {
    fn has_leases(&self) -> bool;
    fn has_scopes(&self) -> bool;
    /// A take (leased when `take.lease` is set) whose future owns everything, so that it
    /// can outlive its request.
    fn take_owned(
        self: Arc<Self>,
        id: ClientId,
        take: OwnedTake,
    ) -> BoxFuture<'static, Result<Vec<Message>, StoreError>>;
    fn write<'a>(
        &'a self,
        id: &'a ClientId,
        messages: &'a [Message],
        end: End,
        options: &'a PushOptions,
        now: u64,
    ) -> BoxFuture<'a, Result<PushReceipt, StoreError>>;
    fn take<'a>(
        &'a self,
        id: &'a ClientId,
        take: &'a Take<'a>,
        lease: Option<&'a Lease>,
    ) -> BoxFuture<'a, Result<Vec<Message>, StoreError>>;
    fn peek<'a>(
        &'a self,
        id: &'a ClientId,
        now: u64,
    ) -> BoxFuture<'a, Result<Vec<Message>, StoreError>>;
    fn clear<'a>(&'a self, id: &'a ClientId) -> BoxFuture<'a, Result<(), StoreError>>;
    fn release<'a>(
        &'a self,
        id: &'a ClientId,
        lease: &'a LeaseId,
    ) -> BoxFuture<'a, Result<bool, StoreError>>;
    fn give_back<'a>(
        &'a self,
        id: &'a ClientId,
        lease: &'a LeaseId,
        only: Option<&'a [Message]>,
        options: &'a PushOptions,
        now: u64,
    ) -> BoxFuture<'a, Result<usize, StoreError>>;
    fn rescope<'a>(
        &'a self,
        id: &'a ClientId,
        from: &'a Target,
        to: &'a Scope,
        now: u64,
    ) -> BoxFuture<'a, Result<usize, StoreError>>;
}

fn unsupported<'a, T: Send + 'a>(capability: &'static str) -> BoxFuture<'a, Result<T, StoreError>> {
    Box::pin(std::future::ready(Err(StoreError::Unsupported(capability))))
}

impl<S: Store> DynStore for S {
    fn has_leases(&self) -> bool {
        self.leases().is_some()
    }

    fn has_scopes(&self) -> bool {
        self.scopes().is_some()
    }

    fn take_owned(
        self: Arc<Self>,
        id: ClientId,
        take: OwnedTake,
    ) -> BoxFuture<'static, Result<Vec<Message>, StoreError>> {
        Box::pin(async move {
            let borrowed = Take {
                kind: take.kind.as_ref(),
                target: take.target.as_ref(),
                now: take.now,
            };
            DynStore::take(&*self, &id, &borrowed, take.lease.as_ref()).await
        })
    }

    fn write<'a>(
        &'a self,
        id: &'a ClientId,
        messages: &'a [Message],
        end: End,
        options: &'a PushOptions,
        now: u64,
    ) -> BoxFuture<'a, Result<PushReceipt, StoreError>> {
        let op = match end {
            End::Back => "push",
            End::Front => "restore",
        };
        Box::pin(observed(
            op,
            id,
            Store::write(self, id, messages, end, options, now),
        ))
    }

    fn take<'a>(
        &'a self,
        id: &'a ClientId,
        take: &'a Take<'a>,
        lease: Option<&'a Lease>,
    ) -> BoxFuture<'a, Result<Vec<Message>, StoreError>> {
        match lease {
            None => Box::pin(observed("take", id, Store::take(self, id, take))),
            Some(lease) => match self.leases() {
                Some(leases) => leases.dyn_take_leased(id, take, lease),
                None => unsupported("leases"),
            },
        }
    }

    fn peek<'a>(
        &'a self,
        id: &'a ClientId,
        now: u64,
    ) -> BoxFuture<'a, Result<Vec<Message>, StoreError>> {
        Box::pin(observed("peek", id, Store::peek(self, id, now)))
    }

    fn clear<'a>(&'a self, id: &'a ClientId) -> BoxFuture<'a, Result<(), StoreError>> {
        Box::pin(observed("clear", id, Store::clear(self, id)))
    }

    fn release<'a>(
        &'a self,
        id: &'a ClientId,
        lease: &'a LeaseId,
    ) -> BoxFuture<'a, Result<bool, StoreError>> {
        match self.leases() {
            Some(leases) => leases.dyn_release(id, lease),
            None => unsupported("leases"),
        }
    }

    fn give_back<'a>(
        &'a self,
        id: &'a ClientId,
        lease: &'a LeaseId,
        only: Option<&'a [Message]>,
        options: &'a PushOptions,
        now: u64,
    ) -> BoxFuture<'a, Result<usize, StoreError>> {
        match self.leases() {
            Some(leases) => leases.dyn_give_back(id, lease, only, options, now),
            None => unsupported("leases"),
        }
    }

    fn rescope<'a>(
        &'a self,
        id: &'a ClientId,
        from: &'a Target,
        to: &'a Scope,
        now: u64,
    ) -> BoxFuture<'a, Result<usize, StoreError>> {
        match self.scopes() {
            Some(scopes) => scopes.dyn_rescope(id, from, to, now),
            None => unsupported("scopes"),
        }
    }
}
