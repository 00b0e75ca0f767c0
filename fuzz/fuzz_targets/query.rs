//! Query parsing (`fuzz_parse_query_is_form_urlencoded`): for the request and the redirect's
//! `Location`, equal to the WHATWG `application/x-www-form-urlencoded` parser
//! (`url::form_urlencoded::parse`) on any string.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tower_flash::__fuzz::parse_query;

fuzz_target!(|query: &str| {
    let expected: Vec<(String, String)> = url::form_urlencoded::parse(query.as_bytes())
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    assert_eq!(parse_query(query), expected, "{query:?}");
});
