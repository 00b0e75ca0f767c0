//! A keep-alive HTTP/1.1 client for one virtual user: hyper's low-level connection, no pool,
//! and the user's cookie passed explicitly so that several connections can share it.

use std::net::SocketAddr;

use bytes::Bytes;
use http::header::{COOKIE, HOST, LOCATION, SET_COOKIE};
use http::{Request, StatusCode};
use http_body_util::{BodyExt, Empty};
use hyper::client::conn::http1::{self, SendRequest};
use hyper_util::rt::TokioIo;

/// What can go wrong talking to the server.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// Connecting failed.
    #[error("connect to {addr}: {source}")]
    Connect {
        /// The server.
        addr: SocketAddr,
        /// Why.
        source: std::io::Error,
    },
    /// The request failed before a response head arrived.
    #[error("request failed: {0}")]
    Http(#[from] hyper::Error),
    /// The request could not be built (a path with invalid characters).
    #[error("bad request: {0}")]
    Request(#[from] http::Error),
}

/// A response, read whole.
#[derive(Debug)]
pub struct Reply {
    /// The status.
    pub status: StatusCode,
    /// The `Location` header, if any.
    pub location: Option<String>,
    /// The `name=value` part of `Set-Cookie`, if any, and the whole header.
    pub set_cookie: Option<(String, String)>,
    /// The `HX-Trigger` header, if any (htmx delivery).
    pub hx_trigger: Option<String>,
    /// The body, or the error that broke it.
    pub body: Result<Bytes, String>,
}

impl Reply {
    /// The body as text (empty if it broke).
    pub fn text(&self) -> String {
        self.body
            .as_ref()
            .map(|b| String::from_utf8_lossy(b).into_owned())
            .unwrap_or_default()
    }
}

/// One keep-alive connection, reopened when the server closed it.
pub struct Conn {
    addr: SocketAddr,
    host: String,
    sender: Option<SendRequest<Empty<Bytes>>>,
}

impl Conn {
    /// A connection to `addr` (opened on first use).
    pub fn new(addr: SocketAddr) -> Self {
        Conn {
            addr,
            host: addr.to_string(),
            sender: None,
        }
    }

    async fn open(&mut self) -> Result<&mut SendRequest<Empty<Bytes>>, ClientError> {
        let usable = match self.sender.as_mut() {
            Some(sender) => sender.ready().await.is_ok(),
            None => false,
        };
        if !usable {
            let stream = tokio::net::TcpStream::connect(self.addr)
                .await
                .map_err(|source| ClientError::Connect {
                    addr: self.addr,
                    source,
                })?;
            let _ = stream.set_nodelay(true);
            let (sender, connection) = http1::handshake(TokioIo::new(stream)).await?;
            tokio::spawn(async move {
                // Ends when the server closes the connection; the next request reconnects.
                let _ = connection.await;
            });
            self.sender = Some(sender);
        }
        let addr = self.addr;
        self.sender.as_mut().ok_or_else(|| ClientError::Connect {
            addr,
            source: std::io::Error::other("no connection"),
        })
    }

    /// `GET path` with `cookie` (a `name=value` pair), the body read to its end.
    pub async fn get(&mut self, path: &str, cookie: Option<&str>) -> Result<Reply, ClientError> {
        self.get_with(path, cookie, &[]).await
    }

    /// [`Conn::get`] with more request headers (`HX-Request: true`, say).
    pub async fn get_with(
        &mut self,
        path: &str,
        cookie: Option<&str>,
        headers: &[(&str, &str)],
    ) -> Result<Reply, ClientError> {
        let mut request = Request::get(path).header(HOST, &self.host);
        if let Some(cookie) = cookie {
            request = request.header(COOKIE, cookie);
        }
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let request = request.body(Empty::new())?;
        let sender = self.open().await?;
        let response = sender.send_request(request).await?;
        let (parts, body) = response.into_parts();
        let header = |name| {
            parts
                .headers
                .get(name)
                .and_then(|v: &http::HeaderValue| v.to_str().ok())
                .map(str::to_owned)
        };
        let set_cookie = header(SET_COOKIE).map(|full| {
            let pair = full.split(';').next().unwrap_or_default().trim().to_owned();
            (pair, full)
        });
        let body = match body.collect().await {
            Ok(collected) => Ok(collected.to_bytes()),
            Err(error) => {
                // The connection is not reusable after a broken body.
                self.sender = None;
                Err(error.to_string())
            }
        };
        Ok(Reply {
            status: parts.status,
            location: header(LOCATION),
            set_cookie,
            hx_trigger: header(http::HeaderName::from_static("hx-trigger")),
            body,
        })
    }
}

/// A browser: a cookie jar holding the flash cookie, and connections to use with it.
///
/// With several servers (app instances behind a round-robin balancer), each request goes to
/// the next server in turn, so a redirect cycle's two requests meet different instances.
pub struct User {
    /// The flash cookie (`name=value`), once the server set one.
    pub cookie: Option<String>,
    /// `connections` connections to each server, server by server.
    conns: Vec<Conn>,
    connections: usize,
    next: usize,
}

impl User {
    /// A user with `connections` keep-alive connections to `addr` (2 for the race scenario:
    /// two tabs reading at once).
    pub fn new(addr: SocketAddr, connections: usize) -> Self {
        Self::round_robin(&[addr], connections)
    }

    /// A user whose requests go to `addrs` in turn, with `connections` connections to each.
    pub fn round_robin(addrs: &[SocketAddr], connections: usize) -> Self {
        let connections = connections.max(1);
        User {
            cookie: None,
            conns: addrs
                .iter()
                .flat_map(|&addr| (0..connections).map(move |_| Conn::new(addr)))
                .collect(),
            connections,
            next: 0,
        }
    }

    /// The connections to the next server in turn.
    fn next_server(&mut self) -> &mut [Conn] {
        let servers = (self.conns.len() / self.connections).max(1);
        let server = self.next % servers;
        self.next = self.next.wrapping_add(1);
        let start = server * self.connections;
        &mut self.conns[start..start + self.connections]
    }

    /// `GET path` on the next server, keeping any cookie it sets.
    pub async fn get(&mut self, path: &str) -> Result<Reply, ClientError> {
        self.get_with(path, &[]).await
    }

    /// [`User::get`] with more request headers.
    pub async fn get_with(
        &mut self,
        path: &str,
        headers: &[(&str, &str)],
    ) -> Result<Reply, ClientError> {
        let cookie = self.cookie.clone();
        let reply = self.next_server()[0]
            .get_with(path, cookie.as_deref(), headers)
            .await?;
        if let Some((pair, _)) = &reply.set_cookie {
            self.cookie = Some(pair.clone());
        }
        Ok(reply)
    }

    /// `GET path` on every connection to the next server at once, with the same cookie.
    pub async fn get_concurrently(&mut self, path: &str) -> Vec<Result<Reply, ClientError>> {
        let cookie = self.cookie.clone();
        let requests = self
            .next_server()
            .iter_mut()
            .map(|conn| conn.get(path, cookie.as_deref()));
        join_all(requests).await
    }
}

/// Awaits all futures, concurrently, in order (a tiny `join_all`).
async fn join_all<F: std::future::Future>(futures: impl IntoIterator<Item = F>) -> Vec<F::Output> {
    let mut futures: Vec<_> = futures.into_iter().map(Box::pin).collect();
    let mut out: Vec<Option<F::Output>> = futures.iter().map(|_| None).collect();
    std::future::poll_fn(|cx| {
        let mut pending = false;
        for (future, slot) in futures.iter_mut().zip(out.iter_mut()) {
            if slot.is_none() {
                match future.as_mut().poll(cx) {
                    std::task::Poll::Ready(value) => *slot = Some(value),
                    std::task::Poll::Pending => pending = true,
                }
            }
        }
        if pending {
            std::task::Poll::Pending
        } else {
            std::task::Poll::Ready(())
        }
    })
    .await;
    out.into_iter().flatten().collect()
}
