//! Redirect scoping's capability: [`ScopeStore`], and the [`Target`] a request is to
//! scoping.

use std::future::Future;
use std::pin::Pin;

use super::{Store, parse_query};
use crate::error::StoreError;
use crate::id::ClientId;
use crate::message::Scope;
use crate::telemetry::observed;

type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// A request as redirect scoping sees it: its path and query pairs.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Target {
    /// The request's path.
    pub path: String,
    /// The request's query, decoded, in order.
    pub query: Vec<(String, String)>,
}

impl Target {
    /// A request to `path` with the decoded `query` pairs, in order.
    pub fn new(path: impl Into<String>, query: Vec<(String, String)>) -> Self {
        Target {
            path: path.into(),
            query,
        }
    }

    /// The target of a request URI.
    pub fn from_uri(uri: &http::Uri) -> Self {
        Target {
            path: uri.path().to_owned(),
            query: uri.query().map(parse_query).unwrap_or_default(),
        }
    }

    /// Whether a request to this target may read `scope`'s messages only because of their
    /// scope at `now`: bound here and not yet fallen back to any path. Those are the ones a
    /// redirect from here carries on ([`ScopeStore::rescope`]).
    pub fn binds(&self, scope: &Scope, now: u64) -> bool {
        now < scope.until && scope.admits(&self.path, &self.query, now)
    }
}

/// Redirect scoping's capability. Selection by scope is part of every take
/// ([`Take::selects`](super::Take::selects)); what scoping needs beyond it is carrying
/// messages on along a redirect chain.
///
/// A store that implements it says so by returning `Some(self)` from [`Store::scopes`].
pub trait ScopeStore: Store {
    /// Re-binds the queued messages that [`from.binds`](Target::binds) their scope at `now`
    /// to `to`: a request that redirects again without reading them carries them on.
    /// Returns how many were re-bound.
    fn rescope(
        &self,
        id: &ClientId,
        from: &Target,
        to: &Scope,
        now: u64,
    ) -> impl Future<Output = Result<usize, StoreError>> + Send;
}

/// [`ScopeStore`] made object safe, as [`Store::scopes`] returns it. Implemented for every
/// `ScopeStore`: store authors implement `ScopeStore`, never this.
pub trait ErasedScopeStore: Send + Sync + sealed::Sealed {
    /// [`ScopeStore::rescope`].
    fn dyn_rescope<'a>(
        &'a self,
        id: &'a ClientId,
        from: &'a Target,
        to: &'a Scope,
        now: u64,
    ) -> BoxFuture<'a, Result<usize, StoreError>>;
}

mod sealed {
    pub trait Sealed {}
    impl<S: super::ScopeStore> Sealed for S {}
}

impl<S: ScopeStore> ErasedScopeStore for S {
    fn dyn_rescope<'a>(
        &'a self,
        id: &'a ClientId,
        from: &'a Target,
        to: &'a Scope,
        now: u64,
    ) -> BoxFuture<'a, Result<usize, StoreError>> {
        Box::pin(observed(
            "rescope",
            id,
            ScopeStore::rescope(self, id, from, to, now),
        ))
    }
}
