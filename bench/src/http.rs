//! A minimal HTTP/1.1 client for loopback targets: one keep-alive connection per virtual user (reopened when the
//! server closes it), a per-flow cookie jar, and URL helpers. No pool, no TLS, no redirects followed.

use std::net::SocketAddr;

use anyhow::{anyhow, bail, Context, Result};
use bytes::Bytes;
use http::header::{HeaderMap, HeaderValue, CONTENT_TYPE, COOKIE, HOST, SET_COOKIE};
use http::{Method, Request, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1::SendRequest;
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;

/// The origin of a target (`http://127.0.0.1:port`), checked to be a loopback address.
#[derive(Clone, Debug)]
pub struct Origin {
    pub base: String,
    pub addr: SocketAddr,
    pub host: HeaderValue,
}

impl Origin {
    pub fn parse(url: &str) -> Result<Origin> {
        let u = url::Url::parse(url).with_context(|| format!("bad URL {url}"))?;
        if u.scheme() != "http" {
            bail!("only http:// loopback targets are supported: {url}");
        }
        let host = u.host_str().ok_or_else(|| anyhow!("no host in {url}"))?;
        let port = u.port_or_known_default().ok_or_else(|| anyhow!("no port in {url}"))?;
        let ip: std::net::IpAddr = host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .parse()
            .with_context(|| format!("{host}: give a loopback IP address, not a name"))?;
        if !ip.is_loopback() {
            bail!("{url}: the bench only sends traffic to loopback addresses");
        }
        let authority = format!("{host}:{port}");
        Ok(Origin {
            base: format!("http://{authority}"),
            addr: SocketAddr::new(ip, port),
            host: HeaderValue::from_str(&authority)?,
        })
    }

    /// The path and query of `url`, which must be on this origin (absolute) or a path (relative).
    pub fn path_of(&self, url: &str) -> Result<String> {
        if url.starts_with('/') {
            return Ok(url.to_string());
        }
        match url.strip_prefix(&self.base) {
            Some(rest) if rest.starts_with('/') => Ok(rest.to_string()),
            _ => bail!("{url} is not on {}", self.base),
        }
    }
}

pub struct Response {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl Response {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).chars().take(300).collect()
    }

    pub fn expect(self, status: u16, what: &str) -> Result<Response> {
        if self.status.as_u16() != status {
            bail!("{what}: HTTP {} (expected {status}): {}", self.status, self.text());
        }
        Ok(self)
    }
}

/// One keep-alive connection to an origin.
pub struct Conn {
    origin: Origin,
    sender: Option<SendRequest<Full<Bytes>>>,
    pub opened: u64,
}

impl Conn {
    pub fn new(origin: Origin) -> Conn {
        Conn { origin, sender: None, opened: 0 }
    }

    async fn open(&mut self) -> Result<SendRequest<Full<Bytes>>> {
        let stream = TcpStream::connect(self.origin.addr).await.with_context(|| format!("connect {}", self.origin.base))?;
        stream.set_nodelay(true)?;
        let (sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
        tokio::spawn(async move {
            let _ = conn.await;
        });
        self.opened += 1;
        Ok(sender)
    }

    /// Sends one request; a connection the server closed in between is reopened once, before sending.
    pub async fn send(
        &mut self,
        method: Method,
        path: &str,
        headers: &[(&str, &str)],
        jar: Option<&mut Jar>,
        body: Option<(&str, Vec<u8>)>,
    ) -> Result<Response> {
        let mut sender = match self.sender.take() {
            Some(mut s) => match s.ready().await {
                Ok(()) => s,
                Err(_) => self.open().await?,
            },
            None => self.open().await?,
        };
        let mut req = Request::builder().method(method).uri(path).header(HOST, self.origin.host.clone());
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        let cookie = jar.as_ref().and_then(|j| j.header());
        if let Some(c) = cookie {
            req = req.header(COOKIE, c);
        }
        let body = match body {
            Some((content_type, bytes)) => {
                req = req.header(CONTENT_TYPE, content_type);
                Full::new(Bytes::from(bytes))
            }
            None => Full::new(Bytes::new()),
        };
        let resp = sender.send_request(req.body(body)?).await?;
        let (parts, incoming) = resp.into_parts();
        let body = incoming.collect().await?.to_bytes();
        let keep = !parts
            .headers
            .get(http::header::CONNECTION)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.eq_ignore_ascii_case("close"));
        if keep {
            self.sender = Some(sender);
        }
        if let Some(jar) = jar {
            jar.update(&parts.headers);
        }
        Ok(Response { status: parts.status, headers: parts.headers, body })
    }
}

/// The cookies of one browser for one origin (paths ignored: every cookie goes with every request).
#[derive(Default)]
pub struct Jar {
    cookies: Vec<(String, String)>,
}

impl Jar {
    pub fn get(&self, name: &str) -> Option<&str> {
        self.cookies.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
    }

    fn header(&self) -> Option<String> {
        if self.cookies.is_empty() {
            return None;
        }
        Some(self.cookies.iter().map(|(n, v)| format!("{n}={v}")).collect::<Vec<_>>().join("; "))
    }

    fn update(&mut self, headers: &HeaderMap) {
        for value in headers.get_all(SET_COOKIE) {
            let Ok(value) = value.to_str() else { continue };
            let mut parts = value.split(';');
            let Some((name, val)) = parts.next().and_then(|p| p.split_once('=')) else { continue };
            let (name, val) = (name.trim().to_string(), val.trim().to_string());
            let expired = val.is_empty()
                || parts.any(|a| {
                    let a = a.trim().to_ascii_lowercase();
                    a == "max-age=0" || (a.starts_with("expires=") && a.contains("1970"))
                });
            self.cookies.retain(|(n, _)| *n != name);
            if !expired {
                self.cookies.push((name, val));
            }
        }
    }
}

/// Query parameters of a URL or a relative reference.
pub fn query_params(location: &str) -> Result<Vec<(String, String)>> {
    let base = url::Url::parse("http://127.0.0.1/")?;
    let u = base.join(location).with_context(|| format!("bad location {location}"))?;
    Ok(u.query_pairs().map(|(k, v)| (k.into_owned(), v.into_owned())).collect())
}

pub fn param<'a>(params: &'a [(String, String)], name: &str) -> Option<&'a str> {
    params.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
}

/// `application/x-www-form-urlencoded` (also used for query strings; spaces as `%20`-compatible `+`).
pub fn form(pairs: &[(&str, &str)]) -> String {
    let mut s = url::form_urlencoded::Serializer::new(String::new());
    for (k, v) in pairs {
        s.append_pair(k, v);
    }
    s.finish()
}
