//! Redirect scoping's view of a request: its URL as the browser sent it, and where a
//! `Location` takes the browser next.

use crate::store::parse_query;

/// What redirect scoping resolves a `Location` against: the request's URL as the browser
/// sent it.
pub(crate) struct RequestUrl {
    /// The request URI's scheme, `http` when it has none (an HTTP/1.1 request line has
    /// none). Same-origin includes the scheme, so behind a proxy that ends TLS an absolute
    /// `Location: https://this.host/…` counts as another origin and does not scope.
    scheme: String,
    /// `Host`, else the URI's authority; none for a request with neither.
    host: Option<String>,
    path: String,
    query: Option<String>,
}

impl RequestUrl {
    pub(crate) fn new(uri: &http::Uri, headers: &http::HeaderMap) -> Self {
        let host = headers
            .get(http::header::HOST)
            .and_then(|h| h.to_str().ok())
            .or_else(|| uri.authority().map(|a| a.as_str()))
            .map(str::to_owned);
        RequestUrl {
            scheme: uri.scheme_str().unwrap_or("http").to_owned(),
            host,
            path: uri.path().to_owned(),
            query: uri.query().map(str::to_owned),
        }
    }

    /// The request's URL as if its host were `host`; `None` if that is no plain host.
    fn on(&self, host: &str) -> Option<url::Url> {
        let mut url = url::Url::parse(&format!("{}://{host}/", self.scheme)).ok()?;
        // A `Host` must name a host and port, nothing more.
        let plain = url.path() == "/"
            && url.query().is_none()
            && url.fragment().is_none()
            && url.username().is_empty()
            && url.password().is_none()
            && url.has_host();
        if !plain {
            return None;
        }
        url.set_path(&self.path);
        url.set_query(self.query.as_deref());
        Some(url)
    }
}

/// The path and query a browser goes to after a redirect with `location` from `request`,
/// resolved as the WHATWG URL standard does, if that is the request's origin (scheme, host
/// and port). Anything else (another host or scheme, `mailto:`, `/\other.host`) leaves
/// the site: such messages are not scoped.
pub(crate) fn same_origin_target(
    location: &str,
    request: &RequestUrl,
) -> Option<(String, Vec<(String, String)>)> {
    let resolve = |host: &str| {
        let base = request.on(host)?;
        let to = base.join(location).ok()?;
        (to.origin() == base.origin()).then_some(to)
    };
    let to = match &request.host {
        Some(host) => resolve(host)?,
        // Without a host, only a reference that names no origin of its own stays on the
        // site: one that is same-origin from two different hosts.
        None => {
            resolve("a.invalid")?;
            resolve("b.invalid")?
        }
    };
    let query = to.query().map(parse_query).unwrap_or_default();
    Some((to.path().to_owned(), query))
}

/// Beginnings of `Location`s that resolve in surprising ways (relative, scheme-relative,
/// absolute, backslashes, dot segments, other schemes, whitespace): what the location
/// property test and the `location` fuzz target (through `__fuzz`) build on.
#[cfg(any(test, fuzzing))]
pub(crate) const LOCATION_STARTS: &[&str] = &[
    "",
    "/",
    "//",
    "///",
    "\\\\",
    "/\\",
    "./",
    "../",
    "?",
    "#",
    "http:",
    "http:/",
    "http://same.host",
    "HTTP://SAME.HOST:80",
    "https://same.host",
    "//same.host",
    "//other.host",
    "http://other.host",
    "mailto:",
    "javascript:",
    "data:,",
    " ",
    "\t/",
];

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    fn request(uri: &str, host: Option<&str>) -> RequestUrl {
        let mut headers = http::HeaderMap::new();
        if let Some(host) = host {
            headers.insert(http::header::HOST, HeaderValue::from_str(host).unwrap());
        }
        RequestUrl::new(&uri.parse().unwrap(), &headers)
    }

    fn path_of(location: &str, request: &RequestUrl) -> Option<String> {
        same_origin_target(location, request).map(|(path, _)| path)
    }

    #[test]
    fn without_a_host_only_references_without_an_origin_scope() {
        let request = request("/items/list", None);
        assert_eq!(path_of("../done", &request).as_deref(), Some("/done"));
        assert_eq!(path_of("/x", &request).as_deref(), Some("/x"));
        for location in ["http://a.invalid/x", "//b.invalid/x", "https://same.host/"] {
            assert_eq!(path_of(location, &request), None, "{location}");
        }
    }

    #[test]
    fn the_uri_scheme_and_authority_count_when_present() {
        let request = request("https://same.host/items/list", None);
        assert_eq!(
            path_of("https://same.host/x", &request).as_deref(),
            Some("/x")
        );
        assert_eq!(path_of("http://same.host/x", &request), None);
    }

    #[test]
    fn a_host_header_that_is_not_a_plain_host_scopes_nothing() {
        for host in ["same.host/evil", "user@same.host", "same.host?x", ""] {
            let request = request("/items/list", Some(host));
            assert_eq!(path_of("done", &request), None, "{host}");
        }
    }

    /// A `Location` as handlers write them, and as an attacker could: relative references,
    /// scheme-relative and absolute URLs, backslashes, dot segments, percent signs,
    /// non-ASCII, and anything at all.
    fn location() -> impl proptest::strategy::Strategy<Value = String> {
        use proptest::prelude::*;
        let start = proptest::sample::select(LOCATION_STARTS.to_vec());
        prop_oneof![
            (start, "[a-zA-Z0-9/\\\\.?#%:@ \t;=&+\\[\\]-]{0,30}")
                .prop_map(|(a, b)| format!("{a}{b}")),
            "\\PC{0,40}",
            any::<String>(),
        ]
    }

    proptest::proptest! {
        /// Any `Location` against any request: never a panic; a same-origin result is a path
        /// starting with `/` that the browser's next request carries exactly as it is.
        /// Cases: `PROPTEST_CASES` (256 by default).
        #[test]
        fn fuzz_location_resolution(
            location in location(),
            path in "/[a-zA-Z0-9/._%~-]{0,20}",
            query in proptest::option::of("[a-z0-9=&%+]{0,12}"),
            host in proptest::prop_oneof![
                proptest::strategy::Just(Some("same.host".to_owned())),
                proptest::strategy::Just(Some("same.host:8080".to_owned())),
                proptest::strategy::Just(None),
                proptest::option::of("[a-z0-9.:@/?#\\[\\]-]{0,16}"),
            ],
            https in proptest::arbitrary::any::<bool>(),
        ) {
            let uri = match &query {
                Some(query) => format!("{path}?{query}"),
                None => path.clone(),
            };
            let uri = if https { format!("https://same.host{uri}") } else { uri };
            let request = request(&uri, host.as_deref());
            if let Some((to, _query)) = same_origin_target(&location, &request) {
                proptest::prop_assert!(to.starts_with('/'), "{:?} from {:?}: {:?}", location, uri, to);
                if let Ok(next) = to.parse::<http::Uri>() {
                    proptest::prop_assert_eq!(next.path(), to.as_str());
                }
            }
        }

        /// A `Location` naming another host never scopes, whatever follows it.
        #[test]
        fn fuzz_location_to_another_host_never_scopes(
            scheme in proptest::sample::select(vec!["", "http:", "https:", "HTTP:"]),
            slashes in proptest::sample::select(vec!["//", "\\\\", "/\\", "\\/"]),
            host in "[a-z]{1,8}\\.(example|host)",
            rest in "[a-zA-Z0-9/\\\\.?#%:@-]{0,20}",
        ) {
            proptest::prop_assume!(host != "same.host");
            let request = request("/items/list", Some("same.host"));
            let location = format!("{scheme}{slashes}{host}/{rest}");
            proptest::prop_assert_eq!(same_origin_target(&location, &request), None, "{}", location);
        }
    }
}
