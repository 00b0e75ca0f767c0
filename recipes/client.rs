//! The browser of the recipes' tests: a real HTTP/1 client (hyper-util's) on a real loopback
//! listener, keeping the flash cookie as a browser would. Included by each recipe's test
//! with `#[macro_use] #[path]`, so that every framework is driven the same way: the test
//! starts the recipe's server and [`recipe_tests!`] runs every scenario against it.

use std::net::SocketAddr;

use bytes::Bytes;
use http::{HeaderMap, Method, Request, StatusCode, header};
use http_body_util::{BodyExt, Empty};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;

/// Every scenario as a `#[tokio::test]`, each against a server of its own that `$serve`
/// (an `async fn() -> SocketAddr` of the test file) starts, and within 60 s.
macro_rules! recipe_tests {
    ($serve:ident) => {
        recipe_tests!(@each $serve;
            flashless_visits_get_no_cookie,
            the_message_shows_after_the_redirect_once,
            a_failing_page_gives_its_messages_back
        );
    };
    (@each $serve:ident; $($scenario:ident),*) => {
        $(
            #[tokio::test]
            async fn $scenario() {
                // A request the server never answers fails the test by its name, rather
                // than holding CI until its own limit.
                let scenario = $crate::client::scenarios::$scenario($serve().await);
                tokio::time::timeout(std::time::Duration::from_secs(60), scenario)
                    .await
                    .expect(concat!(stringify!($scenario), ": no answer within 60 s"));
            }
        )*
    };
}

/// One answer: status, headers and the whole body as text.
pub struct Page {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: String,
}

impl Page {
    /// The `Set-Cookie` headers of the answer.
    pub fn set_cookies(&self) -> Vec<String> {
        self.headers
            .get_all(header::SET_COOKIE)
            .iter()
            .map(|value| value.to_str().unwrap().to_owned())
            .collect()
    }

    pub fn location(&self) -> &str {
        self.headers[header::LOCATION].to_str().unwrap()
    }
}

/// A client with a one-cookie jar: enough for the flash cookie.
pub struct Browser {
    addr: SocketAddr,
    client: Client<HttpConnector, Empty<Bytes>>,
    cookie: Option<String>,
}

impl Browser {
    pub fn new(addr: SocketAddr) -> Self {
        Browser {
            addr,
            client: Client::builder(TokioExecutor::new()).build_http(),
            cookie: None,
        }
    }

    pub async fn get(&mut self, path: &str) -> Page {
        self.send(Method::GET, path).await
    }

    pub async fn post(&mut self, path: &str) -> Page {
        self.send(Method::POST, path).await
    }

    async fn send(&mut self, method: Method, path: &str) -> Page {
        let mut request = Request::builder()
            .method(method.clone())
            .uri(format!("http://{}{path}", self.addr))
            // As a browser navigating (Leptos answers a form post to one with a redirect).
            .header(header::ACCEPT, "text/html");
        if method == Method::POST {
            // As a browser's empty form (Leptos's server functions read forms).
            request = request.header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
        }
        if let Some(cookie) = &self.cookie {
            request = request.header(header::COOKIE, cookie);
        }
        let response = self
            .client
            .request(request.body(Empty::new()).unwrap())
            .await
            .unwrap();
        let (parts, body) = response.into_parts();
        let body = body.collect().await.unwrap().to_bytes();
        let page = Page {
            status: parts.status,
            headers: parts.headers,
            body: String::from_utf8(body.to_vec()).unwrap(),
        };
        // A browser keeps the cookie's `name=value` and sends it back (the flash cookie is
        // the only one these apps set).
        if let Some(cookie) = page.set_cookies().first() {
            self.cookie = cookie.split(';').next().map(str::to_owned);
        }
        page
    }
}

/// The recipes' common contract, checked on each framework: `GET /` lists the messages it
/// takes, `POST /save` pushes `Saved!` and redirects to `/`, `GET /broken` takes the
/// messages and then fails with a 500 (as a broken template would).
pub mod scenarios {
    use super::*;

    /// The message on the page, as each recipe renders it.
    const SAVED: &str = "<li class=\"success\">Saved!</li>";

    /// Visitors who never got a message get no cookie (and so never reach the store).
    pub async fn flashless_visits_get_no_cookie(addr: SocketAddr) {
        let mut browser = Browser::new(addr);
        for _ in 0..2 {
            let page = browser.get("/").await;
            assert_eq!(page.status, StatusCode::OK);
            assert!(page.set_cookies().is_empty(), "{:?}", page.headers);
            assert!(!page.body.contains("Saved!"), "{}", page.body);
        }
    }

    /// The message pushed before the redirect is on the page after it, and only there.
    pub async fn the_message_shows_after_the_redirect_once(addr: SocketAddr) {
        let mut browser = Browser::new(addr);
        let saved = browser.post("/save").await;
        assert!(saved.status.is_redirection(), "{}", saved.status);
        assert_eq!(saved.location(), "/");
        let cookie = saved.set_cookies();
        assert_eq!(cookie.len(), 1, "the flash cookie: {cookie:?}");
        assert!(cookie[0].contains("HttpOnly"), "{cookie:?}");

        let shown = browser.get(saved.location()).await;
        assert_eq!(shown.status, StatusCode::OK);
        assert!(shown.body.contains(SAVED), "{}", shown.body);
        assert_eq!(
            shown.headers[header::CACHE_CONTROL],
            "no-store",
            "a page that delivered messages must not be cached"
        );

        let again = browser.get("/").await;
        assert_eq!(again.status, StatusCode::OK);
        assert!(!again.body.contains("Saved!"), "read once: {}", again.body);
    }

    /// With delivery confirmation, a page that took the messages and then failed with a 5xx
    /// loses nothing: the flash layer saw the framework's real status. The next good page
    /// shows them, once.
    pub async fn a_failing_page_gives_its_messages_back(addr: SocketAddr) {
        let mut browser = Browser::new(addr);
        assert!(browser.post("/save").await.status.is_redirection());

        let broken = browser.get("/broken").await;
        assert_eq!(broken.status, StatusCode::INTERNAL_SERVER_ERROR);

        let shown = browser.get("/").await;
        assert!(shown.body.contains(SAVED), "given back: {}", shown.body);
        let again = browser.get("/").await;
        assert!(!again.body.contains("Saved!"), "read once: {}", again.body);
    }
}
