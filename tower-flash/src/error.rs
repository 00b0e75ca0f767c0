//! Typed errors: [`Error`] for what a handler does with its [`Flash`](crate::Flash),
//! [`StoreError`] for what a [`Store`](crate::store::Store) reports.

use std::time::Duration;

/// What went wrong with a flash operation.
///
/// Validation errors (`InvalidKind`, `EmptyText`, `TooLarge`, `TooDeep`,
/// `TooLargeForHtmx`, `TooManyMessages`) are
/// returned before anything is buffered or stored: the request's messages and the store
/// are unchanged.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The kind is empty, longer than [`MAX_KIND_LEN`](crate::MAX_KIND_LEN) bytes, or has a
    /// character outside ASCII letters, digits, `_`, `-`, `.` and `:`.
    #[error("invalid message kind {kind:?}: {reason}")]
    InvalidKind {
        /// The rejected kind (cut to a few dozen characters).
        kind: String,
        /// Why it was rejected.
        reason: &'static str,
    },
    /// The message text is empty. (connect-flash read instead of writing here; we refuse.)
    #[error("message text is empty")]
    EmptyText,
    /// The message's text plus its JSON data is larger than the configured maximum.
    #[error("message is {size} bytes, more than the maximum of {max}")]
    TooLarge {
        /// The message's size in bytes.
        size: usize,
        /// The configured maximum.
        max: usize,
    },
    /// The message's JSON data is nested deeper than
    /// [`MAX_DATA_DEPTH`](crate::MAX_DATA_DEPTH) arrays and objects: a store could not
    /// read it back.
    #[error("message data is nested {depth} levels deep, more than the maximum of {max}")]
    TooDeep {
        /// How deep the data is nested.
        depth: usize,
        /// The maximum, [`MAX_DATA_DEPTH`](crate::MAX_DATA_DEPTH).
        max: usize,
    },
    /// With [htmx delivery](crate::FlashLayer::deliver_to_htmx) on, the message could never
    /// reach an htmx request: alone, in its event, it makes an `HX-Trigger` header larger
    /// than [`max_header_bytes`](crate::HtmxDelivery::max_header_bytes).
    #[error("message needs {size} bytes in the HX-Trigger header, more than the maximum of {max}")]
    TooLargeForHtmx {
        /// The size of the header carrying only this message.
        size: usize,
        /// The configured maximum header size.
        max: usize,
    },
    /// The request tried to queue more messages for one client than the configured maximum.
    #[error("more than {max} messages queued for one client")]
    TooManyMessages {
        /// The configured maximum.
        max: usize,
    },
    /// The response was already sent: the request's [`Flash`](crate::Flash) handle can no
    /// longer queue messages (push from a background task with the store instead).
    #[error("the response was already sent; this request's flash is closed")]
    Closed,
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The session the client is identified by
    /// ([`FlashLayer::identify_by_session`](crate::FlashLayer::identify_by_session)) could
    /// not be loaded or written.
    #[cfg(feature = "tower-sessions")]
    #[error("the session failed: {0}")]
    Session(#[from] tower_sessions_core::session::Error),
    /// [`FlashLayer::identify_by_session`](crate::FlashLayer::identify_by_session) is on but
    /// the request has no session: tower-sessions' `SessionManagerLayer` must run before
    /// (outside) the `FlashLayer`.
    #[cfg(feature = "tower-sessions")]
    #[error(
        "tower-flash identifies clients by session, but the request has no tower-sessions \
         Session: add SessionManagerLayer outside (after, in axum's `.layer` order) FlashLayer"
    )]
    NoSession,
}

impl Error {
    /// The status a web response reporting this error should have: invalid input is the
    /// client's mistake (`400 Bad Request`, and [`Display`](std::fmt::Display) says why); a
    /// store or session failure is `503 Service Unavailable`; a push after the response or
    /// a missing session layer is `500`. For the last three, send a generic body and log
    /// the error: its details may name the store's address.
    ///
    /// ```
    /// use tower_flash::Error;
    ///
    /// assert_eq!(Error::EmptyText.status(), http::StatusCode::BAD_REQUEST);
    /// assert_eq!(Error::Closed.status(), http::StatusCode::INTERNAL_SERVER_ERROR);
    /// ```
    pub fn status(&self) -> http::StatusCode {
        use http::StatusCode;
        match self {
            Error::Store(_) => StatusCode::SERVICE_UNAVAILABLE,
            Error::Closed => StatusCode::INTERNAL_SERVER_ERROR,
            #[cfg(feature = "tower-sessions")]
            Error::Session(_) => StatusCode::SERVICE_UNAVAILABLE,
            #[cfg(feature = "tower-sessions")]
            Error::NoSession => StatusCode::INTERNAL_SERVER_ERROR,
            _ => StatusCode::BAD_REQUEST,
        }
    }

    /// Whether the error is the client's mistake, whose [`Display`](std::fmt::Display) may
    /// be shown to it: the status is `4xx`.
    pub fn is_client_error(&self) -> bool {
        self.status().is_client_error()
    }
}

/// What went wrong in a [`Store`](crate::store::Store).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The store did not answer within its deadline.
    #[error("the flash store did not answer within {0:?}")]
    Timeout(Duration),
    /// The store is full: it refused to grow past its configured bound.
    #[error("the flash store is full ({0})")]
    Full(&'static str),
    /// A message was refused before anything was written: the store could not keep it and
    /// deliver it intact (its data nested deeper than
    /// [`MAX_DATA_DEPTH`](crate::MAX_DATA_DEPTH), say).
    #[error("the flash store refused a message: {0}")]
    Invalid(String),
    /// A stored message could not be decoded.
    #[error("a stored flash message could not be decoded: {0}")]
    Decode(#[from] crate::store::codec::DecodeError),
    /// The store lacks the capability the call needs (`"leases"` or `"scopes"`): a
    /// [`Store`](crate::store::Store) whose [`leases`](crate::store::Store::leases) or
    /// [`scopes`](crate::store::Store::scopes) returns `None`. The layer checks this when it
    /// is built, so requests never see it.
    #[error("the flash store does not support {0}")]
    Unsupported(&'static str),
    /// The backend failed (connection refused, protocol error, script error…).
    #[error("the flash store failed: {0}")]
    Backend(#[source] Box<dyn std::error::Error + Send + Sync + 'static>),
}

impl StoreError {
    /// Wraps any backend error.
    pub fn backend(error: impl std::error::Error + Send + Sync + 'static) -> Self {
        StoreError::Backend(Box::new(error))
    }
}
