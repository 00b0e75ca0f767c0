//! [`Store`] made object safe, so that `Flash` and the layer need no type parameter.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use super::{Lease, LeaseId, PushOptions, PushReceipt, Store, Take, Target};
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

/// [`Store`] made object safe, so that `Flash` and the layer need no type parameter.
pub(crate) trait DynStore: Send + Sync + 'static {
    /// A take whose future owns everything, so that it can outlive its request.
    fn take_owned(
        self: Arc<Self>,
        id: ClientId,
        take: OwnedTake,
    ) -> BoxFuture<'static, Result<Vec<Message>, StoreError>>;
    fn push<'a>(
        &'a self,
        id: &'a ClientId,
        messages: &'a [Message],
        options: &'a PushOptions,
    ) -> BoxFuture<'a, Result<PushReceipt, StoreError>>;
    fn take<'a>(
        &'a self,
        id: &'a ClientId,
        take: &'a Take<'a>,
    ) -> BoxFuture<'a, Result<Vec<Message>, StoreError>>;
    fn peek<'a>(&'a self, id: &'a ClientId) -> BoxFuture<'a, Result<Vec<Message>, StoreError>>;
    fn restore<'a>(
        &'a self,
        id: &'a ClientId,
        messages: &'a [Message],
        options: &'a PushOptions,
    ) -> BoxFuture<'a, Result<PushReceipt, StoreError>>;
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
    ) -> BoxFuture<'a, Result<usize, StoreError>>;
    fn rescope<'a>(
        &'a self,
        id: &'a ClientId,
        from: &'a Target,
        to: &'a Scope,
    ) -> BoxFuture<'a, Result<usize, StoreError>>;
}

impl<S: Store> DynStore for S {
    fn take_owned(
        self: Arc<Self>,
        id: ClientId,
        take: OwnedTake,
    ) -> BoxFuture<'static, Result<Vec<Message>, StoreError>> {
        Box::pin(async move {
            let borrowed = Take {
                kind: take.kind.as_ref(),
                target: take.target.as_ref(),
                lease: take.lease.as_ref(),
                now: take.now,
            };
            observed("take", &id, Store::take(&*self, &id, &borrowed)).await
        })
    }
    fn push<'a>(
        &'a self,
        id: &'a ClientId,
        messages: &'a [Message],
        options: &'a PushOptions,
    ) -> BoxFuture<'a, Result<PushReceipt, StoreError>> {
        Box::pin(observed(
            "push",
            id,
            Store::push(self, id, messages, options),
        ))
    }
    fn take<'a>(
        &'a self,
        id: &'a ClientId,
        take: &'a Take<'a>,
    ) -> BoxFuture<'a, Result<Vec<Message>, StoreError>> {
        Box::pin(observed("take", id, Store::take(self, id, take)))
    }
    fn peek<'a>(&'a self, id: &'a ClientId) -> BoxFuture<'a, Result<Vec<Message>, StoreError>> {
        Box::pin(observed("peek", id, Store::peek(self, id)))
    }
    fn restore<'a>(
        &'a self,
        id: &'a ClientId,
        messages: &'a [Message],
        options: &'a PushOptions,
    ) -> BoxFuture<'a, Result<PushReceipt, StoreError>> {
        Box::pin(observed(
            "restore",
            id,
            Store::restore(self, id, messages, options),
        ))
    }
    fn clear<'a>(&'a self, id: &'a ClientId) -> BoxFuture<'a, Result<(), StoreError>> {
        Box::pin(observed("clear", id, Store::clear(self, id)))
    }
    fn release<'a>(
        &'a self,
        id: &'a ClientId,
        lease: &'a LeaseId,
    ) -> BoxFuture<'a, Result<bool, StoreError>> {
        Box::pin(observed("release", id, Store::release(self, id, lease)))
    }
    fn give_back<'a>(
        &'a self,
        id: &'a ClientId,
        lease: &'a LeaseId,
        only: Option<&'a [Message]>,
        options: &'a PushOptions,
    ) -> BoxFuture<'a, Result<usize, StoreError>> {
        Box::pin(observed(
            "give_back",
            id,
            Store::give_back(self, id, lease, only, options),
        ))
    }
    fn rescope<'a>(
        &'a self,
        id: &'a ClientId,
        from: &'a Target,
        to: &'a Scope,
    ) -> BoxFuture<'a, Result<usize, StoreError>> {
        Box::pin(observed("rescope", id, Store::rescope(self, id, from, to)))
    }
}
