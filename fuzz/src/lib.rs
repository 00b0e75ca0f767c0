//! Generators shared by the fuzz targets: header bytes, cookie pairs, kinds, JSON data and
//! whole messages, built from libFuzzer's bytes through `arbitrary::Unstructured`, the
//! counterparts of the proptest strategies beside the `fuzz_*` properties.

use arbitrary::{Result, Unstructured};
use http::HeaderValue;
use serde_json::Value;
use tower_flash::__fuzz::{self, CookieCodec};
use tower_flash::{ClientId, Key, Kind, Level, MAX_DATA_DEPTH, Message, Scope};

/// The key the targets sign with.
pub fn key() -> Key {
    Key::from(&[7u8; 64])
}

/// Whether a `HeaderValue` accepts `b`: visible ASCII, space, tab and obs-text (>= 0x80).
pub fn is_header_byte(b: u8) -> bool {
    (b >= 0x20 && b != 0x7f) || b == b'\t'
}

/// `bytes` without the bytes a header value refuses.
pub fn header_bytes(bytes: &[u8]) -> Vec<u8> {
    bytes
        .iter()
        .copied()
        .filter(|&b| is_header_byte(b))
        .collect()
}

/// A header value of `bytes`, which must be header bytes.
pub fn header(bytes: &[u8]) -> HeaderValue {
    HeaderValue::from_bytes(bytes).expect("only bytes a header value accepts")
}

/// The client id of a cookie: 32 lowercase hex digits.
pub fn id_of(bits: u128) -> ClientId {
    ClientId::new(&format!("{bits:032x}")).expect("32 hex digits")
}

/// Our `flash=…` pair for `id`, as the `Set-Cookie` the codec writes starts.
pub fn our_pair(codec: &CookieCodec, id: &ClientId) -> String {
    let set = codec
        .write(id, std::time::Duration::from_secs(60))
        .expect("a cookie for a valid id");
    let set = set.to_str().expect("ASCII");
    set.split(';').next().unwrap_or(set).to_owned()
}

/// `len` bytes of `alphabet`, chosen by the input.
pub fn string_of(
    u: &mut Unstructured<'_>,
    alphabet: &[u8],
    min: usize,
    max: usize,
) -> Result<String> {
    let len = u.int_in_range(min..=max)?;
    let mut out = String::with_capacity(len);
    for _ in 0..len {
        out.push(char::from(*u.choose(alphabet)?));
    }
    Ok(out)
}

/// The characters of a kind.
pub const KIND_ALPHABET: &[u8] =
    b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.:-";

/// A kind: one of the levels, or 1 to 32 characters of the kind alphabet.
pub fn kind(u: &mut Unstructured<'_>) -> Result<Kind> {
    if u.arbitrary()? {
        Ok(Kind::from(*u.choose(&Level::ALL)?))
    } else {
        let text = string_of(u, KIND_ALPHABET, 1, 32)?;
        Ok(Kind::new(&text).expect("a valid kind"))
    }
}

fn leaf(u: &mut Unstructured<'_>) -> Result<Value> {
    Ok(match u.int_in_range(0..=5u8)? {
        0 => Value::Null,
        1 => Value::from(u.arbitrary::<bool>()?),
        2 => Value::from(u.arbitrary::<i64>()?),
        3 => Value::from(u.arbitrary::<u64>()?),
        4 => serde_json::Number::from_f64(u.arbitrary::<f64>()?).map_or(Value::Null, Value::Number),
        _ => Value::from(u.arbitrary::<String>()?),
    })
}

fn tree(u: &mut Unstructured<'_>, depth: usize) -> Result<Value> {
    if depth == 0 || u.ratio(1u8, 2)? {
        return leaf(u);
    }
    let len = u.int_in_range(0..=5usize)?;
    if u.arbitrary()? {
        (0..len)
            .map(|_| tree(u, depth - 1))
            .collect::<Result<Vec<_>>>()
            .map(Value::Array)
    } else {
        let mut map = serde_json::Map::new();
        for _ in 0..len {
            let key: String = u.arbitrary()?;
            map.insert(key, tree(u, depth - 1)?);
        }
        Ok(Value::Object(map))
    }
}

/// JSON data a push accepts: bushy trees (8 levels at most) or chains of arrays and objects
/// as deep as `MAX_DATA_DEPTH`.
pub fn data(u: &mut Unstructured<'_>) -> Result<Value> {
    if u.arbitrary()? {
        return tree(u, 8);
    }
    let leaf = leaf(u)?;
    let levels = u.int_in_range(0..=MAX_DATA_DEPTH)?;
    let mut value = leaf;
    for _ in 0..levels {
        value = if u.arbitrary()? {
            Value::Array(vec![value])
        } else {
            let key: String = u.arbitrary()?;
            Value::Object([(key, value)].into_iter().collect())
        };
    }
    Ok(value)
}

fn scope(u: &mut Unstructured<'_>) -> Result<Scope> {
    let path: String = u.arbitrary()?;
    let len = u.int_in_range(0..=3usize)?;
    let params = (0..len)
        .map(|_| Ok((u.arbitrary()?, u.arbitrary()?)))
        .collect::<Result<Vec<(String, String)>>>()?;
    let until = u.arbitrary()?;
    Ok(Scope::new(path, params, until))
}

/// Any message a push can store: every field arbitrary, data within `MAX_DATA_DEPTH`.
pub fn message(u: &mut Unstructured<'_>) -> Result<Message> {
    let id = u.arbitrary()?;
    let kind = kind(u)?;
    let text = u.arbitrary()?;
    let data = if u.arbitrary()? { Some(data(u)?) } else { None };
    let created_at = u.arbitrary()?;
    let expires_at = u.arbitrary()?;
    let scope = if u.arbitrary()? {
        Some(scope(u)?)
    } else {
        None
    };
    Ok(__fuzz::message(
        id, kind, text, data, created_at, expires_at, scope,
    ))
}
