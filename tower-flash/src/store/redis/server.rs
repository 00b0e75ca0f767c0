//! Which servers the store runs on: Redis 6.2 or newer (the oldest with `LPOP key count`,
//! which every take relies on), and Valkey, which reports a compatible `redis_version`.
//! Checked once at connect, so that an older server is refused with a clear error instead of
//! failing on the first take.

use redis::Value;
use redis::aio::ConnectionLike;

use crate::error::StoreError;

/// The oldest `redis_version` the store's commands run on.
pub(super) const MINIMUM: (u32, u32, u32) = (6, 2, 0);

/// A server too old for the store's commands, refused at connect. It reaches you inside
/// [`StoreError::Backend`]; downcast to tell it apart.
///
/// ```
/// # #[cfg(feature = "redis")] {
/// use tower_flash::{StoreError, UnsupportedServer};
///
/// /// The version of a server refused as too old, if that is what `error` says.
/// fn too_old(error: &StoreError) -> Option<&str> {
///     match error {
///         StoreError::Backend(source) => source
///             .downcast_ref::<UnsupportedServer>()
///             .map(|refused| refused.version.as_str()),
///         _ => None,
///     }
/// }
/// assert_eq!(too_old(&StoreError::Full("memory")), None);
/// # }
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "the server reports redis_version {version}: tower-flash needs Redis 6.2 or newer, or \
     Valkey (LPOP with a count)"
)]
#[non_exhaustive]
pub struct UnsupportedServer {
    /// The `redis_version` the server reported (the lowest one, on a cluster).
    pub version: String,
}

/// Asks the server (every master, on a cluster) for its version and refuses one older than
/// [`MINIMUM`]. A server that reports no version (a proxy, say) is taken as it is.
pub(super) async fn require_supported(conn: &mut impl ConnectionLike) -> Result<(), StoreError> {
    let info: Value = redis::cmd("INFO")
        .arg("server")
        .query_async(conn)
        .await
        .map_err(StoreError::backend)?;
    let mut texts = Vec::new();
    collect_texts(&info, &mut texts);
    let oldest = texts
        .iter()
        .filter_map(|text| reported_version(text))
        .min_by_key(|(parsed, _)| *parsed);
    match oldest {
        Some((parsed, version)) if parsed < MINIMUM => {
            Err(StoreError::backend(UnsupportedServer { version }))
        }
        _ => Ok(()),
    }
}

/// Every text in a reply: one for a server, one per master for a cluster.
fn collect_texts(value: &Value, out: &mut Vec<String>) {
    match value {
        Value::BulkString(bytes) => out.push(String::from_utf8_lossy(bytes).into_owned()),
        Value::SimpleString(text) | Value::VerbatimString { text, .. } => out.push(text.clone()),
        Value::Array(values) | Value::Set(values) => {
            values.iter().for_each(|v| collect_texts(v, out));
        }
        Value::Map(pairs) => pairs.iter().for_each(|(_, v)| collect_texts(v, out)),
        _ => {}
    }
}

/// The `redis_version` line of an `INFO` text, parsed and as written.
fn reported_version(info: &str) -> Option<((u32, u32, u32), String)> {
    let version = info
        .lines()
        .find_map(|line| line.strip_prefix("redis_version:"))?
        .trim();
    let mut parts = version.split('.').map(|p| p.parse::<u32>().ok());
    let parsed = (
        parts.next().flatten()?,
        parts.next().flatten().unwrap_or(0),
        parts.next().flatten().unwrap_or(0),
    );
    Some((parsed, version.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_are_read_from_info() {
        let redis6 = "# Server\r\nredis_version:6.0.16\r\nredis_git_sha1:0\r\n";
        assert_eq!(
            reported_version(redis6),
            Some(((6, 0, 16), "6.0.16".to_owned()))
        );
        let valkey =
            "# Server\r\nredis_version:7.2.4\r\nserver_name:valkey\r\nvalkey_version:9.1.2\r\n";
        assert_eq!(reported_version(valkey).map(|v| v.0), Some((7, 2, 4)));
        assert_eq!(reported_version("# Server\r\n"), None);
        assert!(reported_version("redis_version:6.2.5").is_some_and(|v| v.0 >= MINIMUM));
        assert!(reported_version("redis_version:6.0.16").is_some_and(|v| v.0 < MINIMUM));
    }

    #[test]
    fn a_cluster_reply_is_judged_by_its_oldest_master() {
        let reply = Value::Map(vec![
            (
                Value::SimpleString("a:1".to_owned()),
                Value::BulkString(b"redis_version:7.0.15\r\n".to_vec()),
            ),
            (
                Value::SimpleString("b:2".to_owned()),
                Value::BulkString(b"redis_version:6.0.9\r\n".to_vec()),
            ),
        ]);
        let mut texts = Vec::new();
        collect_texts(&reply, &mut texts);
        let oldest = texts.iter().filter_map(|t| reported_version(t)).min();
        assert_eq!(oldest.map(|v| v.1), Some("6.0.9".to_owned()));
    }
}
