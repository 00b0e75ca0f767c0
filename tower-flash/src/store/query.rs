//! Query strings as redirect scoping reads them: the request's, and the redirect target's.

/// Splits a query string into decoded pairs (`+` is a space, `%XX` a byte).
pub(crate) fn parse_query(query: &str) -> Vec<(String, String)> {
    query
        .split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            (percent_decode(k), percent_decode(v))
        })
        .collect()
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        // Two hex digits, checked as such: `from_str_radix` alone takes a sign (`%+1`).
        let hex = bytes
            .get(i + 1..i + 3)
            .filter(|h| h.iter().all(u8::is_ascii_hexdigit))
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (bytes[i], hex) {
            (b'+', _) => out.push(b' '),
            (b'%', Some(byte)) => {
                out.push(byte);
                i += 2;
            }
            (b, _) => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::parse_query;

    #[test]
    fn queries_are_decoded() {
        let pairs = parse_query("a=1&b=x+y&c=%2Fp%3F&d&&e=%zz&f=%4");
        let expect: Vec<(String, String)> = [
            ("a", "1"),
            ("b", "x y"),
            ("c", "/p?"),
            ("d", ""),
            ("e", "%zz"),
            ("f", "%4"),
        ]
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
        assert_eq!(pairs, expect);
    }

    /// Found by `fuzz_parse_query_is_form_urlencoded`: `%+a` decoded to the byte 0x0a (a
    /// sign taken as part of the number), where browsers and the `url` crate read `% a`.
    #[test]
    fn regression_a_percent_sign_before_a_sign_is_literal() {
        let pairs = parse_query("a=%+a&b=%-1&c=%+%41");
        let expect: Vec<(String, String)> = [("a", "% a"), ("b", "%-1"), ("c", "% A")]
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        assert_eq!(pairs, expect);
    }

    proptest::proptest! {
        /// Query parsing, for the request and for the redirect's `Location`, is the WHATWG
        /// `application/x-www-form-urlencoded` parser (the `url` crate's): the same pairs,
        /// for any string, without a panic. Cases: `PROPTEST_CASES` (256 by default).
        #[test]
        fn fuzz_parse_query_is_form_urlencoded(
            query in proptest::prop_oneof!["[a-z0-9=&%+]{0,40}", "[%+0-9a-fA-F=&]{0,40}", "\\PC{0,60}"]
        ) {
            let expected: Vec<(String, String)> = url::form_urlencoded::parse(query.as_bytes())
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect();
            proptest::prop_assert_eq!(parse_query(&query), expected);
        }
    }
}
