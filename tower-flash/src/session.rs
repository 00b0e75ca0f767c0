//! Identity from a tower-sessions session (feature `tower-sessions`): the client's flash id
//! lives in the session's data, under [`SESSION_KEY`].
//!
//! Not the session id itself: tower-sessions changes that id on login (`cycle_id`, against
//! session fixation) and keeps the data, so an id kept in the data carries the client's
//! messages across the rotation, while `flush` (logout) drops it with the rest.

use tower_sessions_core::Session;

use crate::error::Error;
use crate::id::ClientId;

/// The session key holding the client's flash id.
pub const SESSION_KEY: &str = "tower_flash.id";

/// The flash id in `session`, if it has one. A client without a session cookie costs no
/// session-store call (tower-sessions has nothing to load).
pub(crate) async fn read(session: &Session) -> Result<Option<ClientId>, Error> {
    let value: Option<String> = session.get(SESSION_KEY).await?;
    Ok(value.and_then(|value| match ClientId::new(&value) {
        Ok(id) => Some(id),
        Err(_) => {
            tracing::warn!(
                key = SESSION_KEY,
                "flash: the session holds an invalid flash id; replacing it"
            );
            None
        }
    }))
}

/// The flash id in `session`, after giving the session a new one if it had none. The session
/// layer saves it with the response.
pub(crate) async fn bind(session: &Session) -> Result<ClientId, Error> {
    if let Some(id) = read(session).await? {
        return Ok(id);
    }
    let id = ClientId::random();
    session.insert(SESSION_KEY, id.as_str()).await?;
    Ok(id)
}
