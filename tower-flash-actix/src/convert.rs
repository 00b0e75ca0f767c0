//! actix-web 4 speaks `http` 0.2; tower-flash speaks `http` 1. The conversions happen here
//! and nowhere else. Names and values are the same bytes in both, already validated by the
//! side that made them, so a conversion can only fail on what neither would have produced;
//! such a header is left out rather than failing the request.

use actix_web::dev::RequestHead;
use actix_web::http::header::{HeaderMap as ActixHeaderMap, HeaderValue as ActixHeaderValue};

/// The request head tower-flash reads: method, URI, version and headers. Its extensions are
/// empty (actix keeps its own).
pub(crate) fn request_parts(head: &RequestHead) -> http::request::Parts {
    let (mut parts, ()) = http::Request::new(()).into_parts();
    parts.method = http::Method::from_bytes(head.method.as_str().as_bytes()).unwrap_or_default();
    parts.uri = head.uri.to_string().parse().unwrap_or_default();
    parts.version = version(head.version);
    parts.headers = headers(&head.headers);
    parts
}

/// Every header of an actix header map, in order.
pub(crate) fn headers(from: &ActixHeaderMap) -> http::HeaderMap {
    let mut headers = http::HeaderMap::with_capacity(from.len());
    for (name, value) in from {
        if let (Ok(name), Ok(value)) = (
            http::HeaderName::from_bytes(name.as_str().as_bytes()),
            http::HeaderValue::from_bytes(value.as_bytes()),
        ) {
            headers.append(name, value);
        }
    }
    headers
}

/// A tower-flash header value for an actix response (`None`: not a valid value, which the
/// cookie and `HX-Trigger` tower-flash makes never are).
pub(crate) fn header_value(value: &http::HeaderValue) -> Option<ActixHeaderValue> {
    ActixHeaderValue::from_bytes(value.as_bytes()).ok()
}

/// A status in `http` 1 terms.
pub(crate) fn status(status: actix_web::http::StatusCode) -> http::StatusCode {
    http::StatusCode::from_u16(status.as_u16()).unwrap_or(http::StatusCode::INTERNAL_SERVER_ERROR)
}

/// A status in actix terms.
pub(crate) fn actix_status(status: http::StatusCode) -> actix_web::http::StatusCode {
    actix_web::http::StatusCode::from_u16(status.as_u16())
        .unwrap_or(actix_web::http::StatusCode::INTERNAL_SERVER_ERROR)
}

fn version(version: actix_web::http::Version) -> http::Version {
    use actix_web::http::Version as V;
    match version {
        V::HTTP_09 => http::Version::HTTP_09,
        V::HTTP_10 => http::Version::HTTP_10,
        V::HTTP_2 => http::Version::HTTP_2,
        V::HTTP_3 => http::Version::HTTP_3,
        _ => http::Version::HTTP_11,
    }
}

#[cfg(test)]
mod tests {
    use actix_web::test::TestRequest;

    use super::*;

    #[test]
    fn a_request_head_keeps_method_uri_and_every_header() {
        let req = TestRequest::post()
            .uri("/save?next=%2Fdone")
            .insert_header(("host", "example.test"))
            .append_header(("cookie", "a=1"))
            .append_header(("cookie", "flash=xyz"))
            .to_srv_request();
        let parts = request_parts(req.head());
        assert_eq!(parts.method, http::Method::POST);
        assert_eq!(parts.uri, "/save?next=%2Fdone");
        assert_eq!(parts.headers["host"], "example.test");
        let cookies: Vec<_> = parts.headers.get_all("cookie").iter().collect();
        assert_eq!(cookies, ["a=1", "flash=xyz"]);
    }

    #[test]
    fn statuses_convert_both_ways() {
        for code in [200, 204, 302, 404, 500, 503] {
            let actix = actix_web::http::StatusCode::from_u16(code).unwrap_or_default();
            assert_eq!(status(actix).as_u16(), code);
            assert_eq!(actix_status(status(actix)), actix);
        }
    }
}
