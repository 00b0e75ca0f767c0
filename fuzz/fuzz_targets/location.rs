//! `Location` resolution for redirect scoping (`fuzz_location_resolution`,
//! `fuzz_location_to_another_host_never_scopes`): any `Location` against requests with
//! arbitrary paths, queries, `Host`s and schemes never panics, and a same-origin result is a
//! path starting with `/` that the browser's next request carries unchanged (`http::Uri`
//! reads back the same path); a `Location` naming another host, with any scheme and any mix
//! of `/` and `\`, never scopes.
#![no_main]

use arbitrary::{Result, Unstructured};
use http::header::HOST;
use http::{HeaderMap, HeaderValue, Uri};
use libfuzzer_sys::fuzz_target;
use tower_flash::__fuzz::{LOCATION_STARTS as STARTS, same_origin_target};
use tower_flash_fuzz::{header_bytes, string_of};

fn location(u: &mut Unstructured<'_>) -> Result<String> {
    if u.arbitrary()? {
        let start = u.choose(STARTS)?;
        let rest = string_of(u, b"abcXYZ019/\\.?#%:@ \t;=&+[]-", 0, 30)?;
        Ok(format!("{start}{rest}"))
    } else {
        u.arbitrary()
    }
}

fn request(u: &mut Unstructured<'_>) -> Result<Option<(Uri, HeaderMap)>> {
    let path = string_of(u, b"abcXYZ019/._%~-", 0, 20)?;
    let query = if u.arbitrary()? {
        Some(string_of(u, b"az09=&%+", 0, 12)?)
    } else {
        None
    };
    let mut uri = format!("/{path}");
    if let Some(query) = query {
        uri = format!("{uri}?{query}");
    }
    if u.arbitrary()? {
        uri = format!("https://same.host{uri}");
    }
    let Ok(uri) = uri.parse::<Uri>() else {
        return Ok(None);
    };
    let mut headers = HeaderMap::new();
    let host = match u.int_in_range(0..=4u8)? {
        0 => Some(b"same.host".to_vec()),
        1 => Some(b"same.host:8080".to_vec()),
        2 => None,
        3 => Some(string_of(u, b"az09.:@/?#[]-", 0, 16)?.into_bytes()),
        _ => {
            let len = u.int_in_range(0..=40usize)?;
            Some(header_bytes(u.bytes(len.min(u.len()))?))
        }
    };
    if let Some(host) = host {
        headers.insert(HOST, HeaderValue::from_bytes(&host).expect("header bytes"));
    }
    Ok(Some((uri, headers)))
}

fn run(u: &mut Unstructured<'_>) -> Result<()> {
    let Some((uri, headers)) = request(u)? else {
        return Ok(());
    };
    let location = location(u)?;
    if let Some((to, _query)) = same_origin_target(&location, &uri, &headers) {
        assert!(
            to.starts_with('/'),
            "{location:?} from {uri:?} {headers:?}: {to:?}"
        );
        if let Ok(next) = to.parse::<Uri>() {
            assert_eq!(
                next.path(),
                to.as_str(),
                "{location:?} from {uri:?} {headers:?}"
            );
        }
    }

    // Another host: never scopes.
    let scheme = *u.choose(&["", "http:", "https:", "HTTP:"])?;
    let slashes = *u.choose(&["//", "\\\\", "/\\", "\\/"])?;
    let host = format!(
        "{}.{}",
        string_of(u, b"abcdefghijklmnopqrstuvwxyz", 1, 8)?,
        u.choose(&["example", "host"])?
    );
    if host == "same.host" {
        return Ok(());
    }
    let rest = string_of(u, b"aZ09/\\.?#%:@-", 0, 20)?;
    let location = format!("{scheme}{slashes}{host}/{rest}");
    let mut same = HeaderMap::new();
    same.insert(HOST, HeaderValue::from_static("same.host"));
    let request: Uri = "/items/list".parse().expect("a path");
    assert_eq!(
        same_origin_target(&location, &request, &same),
        None,
        "{location}"
    );
    Ok(())
}

fuzz_target!(|data: &[u8]| {
    let _ = run(&mut Unstructured::new(data));
});
