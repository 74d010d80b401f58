//! The HTTP front: routes each request per `spin.toml` to a fresh component instance, with a body limit, and
//! serves the host's own endpoints (`/metrics`, the actuator health check, and an optional native benchmark
//! route). Connections are tracked so that SIGTERM drains them before the process exits; between SIGTERM and the
//! drain (`server.shutdown_delay_ms`) the health check answers DOWN and responses close their connections. The
//! drain waits for requests being handled, not for clients that have not sent one.

use std::convert::Infallible;
use std::future::Future;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::header::{HeaderName, HeaderValue, CONTENT_LENGTH, CONTENT_TYPE};
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;

use crate::bindings::endpoint::exports::esignet::platform::handler as wit;
use crate::deploy::Registry;
use crate::invoke::{handle_request, InvokeError};
use crate::manifest::ErrorFormat;

pub const HEALTH_PATH: &str = "/v1/esignet/actuator/health";
pub const METRICS_PATH: &str = "/metrics";
pub const BENCH_NATIVE_PATH: &str = "/__bench/native";
/// Set by the host on requests it makes itself; stripped from every request it receives.
pub const INTERNAL_HEADER: &str = "x-esignet-internal";

pub struct App {
    pub registry: Arc<Registry>,
    pub ready: AtomicBool,
}

pub type HttpResponse = Response<Full<Bytes>>;

pub fn response(status: StatusCode, content_type: &str, body: impl Into<Bytes>) -> HttpResponse {
    let mut r = Response::new(Full::new(body.into()));
    *r.status_mut() = status;
    r.headers_mut().insert(CONTENT_TYPE, HeaderValue::from_str(content_type).unwrap_or(HeaderValue::from_static("text/plain")));
    r
}

fn now_esignet() -> String {
    humantime::format_rfc3339_millis(std::time::SystemTime::now()).to_string()
}

/// An error the host itself produces for a component, in that component's error format.
pub fn host_error(format: ErrorFormat, status: StatusCode, code: &str, description: &str) -> HttpResponse {
    let mut r = match format {
        ErrorFormat::Oauth => response(
            status,
            "application/json",
            serde_json::json!({ "error": code, "error_description": description }).to_string(),
        ),
        ErrorFormat::Esignet => response(
            status,
            "application/json",
            serde_json::json!({
                "responseTime": now_esignet(),
                "response": null,
                "errors": [{ "errorCode": code, "errorMessage": code }],
            })
            .to_string(),
        ),
        ErrorFormat::Plain => response(status, "text/plain; charset=utf-8", format!("{code}: {description}\n")),
    };
    r.headers_mut().insert(hyper::header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r
}

impl App {
    pub async fn handle(self: Arc<Self>, req: Request<Incoming>) -> Result<HttpResponse, Infallible> {
        let started = Instant::now();
        let metrics = self.registry.platform.metrics.clone();
        metrics.in_flight().inc();
        let path = req.uri().path().to_string();
        let (label, mut resp) = self.dispatch(req, &path).await;
        if !self.ready.load(Ordering::SeqCst) {
            // Shutting down (the listener serves only after `ready` was first set): end each keep-alive
            // connection after this response, so clients and balancers reconnect elsewhere instead of having an
            // idle connection closed under a request they are about to send.
            resp.headers_mut().insert(hyper::header::CONNECTION, HeaderValue::from_static("close"));
        }
        metrics.in_flight().dec();
        metrics.request(label, resp.status().as_u16(), started.elapsed());
        Ok(resp)
    }

    async fn dispatch<'a>(&'a self, req: Request<Incoming>, path: &str) -> (&'a str, HttpResponse) {
        match path {
            HEALTH_PATH => return ("host", self.health().await),
            METRICS_PATH => {
                return ("host", response(StatusCode::OK, "text/plain; version=0.0.4", self.registry.platform.metrics.render()))
            }
            BENCH_NATIVE_PATH if self.registry.platform.config.server.bench_routes => {
                return ("native", response(StatusCode::OK, "text/plain", "hello native"))
            }
            _ => {}
        }
        let Some((route, prefix)) = self.registry.manifest.route(path) else {
            return ("none", host_error(ErrorFormat::Plain, StatusCode::NOT_FOUND, "not_found", "no route"));
        };
        let Some(slot) = self.registry.slot(&route.component) else {
            return ("none", host_error(ErrorFormat::Plain, StatusCode::NOT_FOUND, "not_found", "no route"));
        };
        let format = self
            .registry
            .manifest
            .components
            .get(&route.component)
            .map(|c| c.grants.error_format)
            .unwrap_or_default();
        let label = slot.id.as_str();
        let max = self.registry.platform.config.limits.max_body_bytes;
        let guest_req = match to_guest_request(req, prefix, max).await {
            Ok(r) => r,
            Err(BodyError::TooLarge) => {
                return (label, host_error(format, StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large", "request body too large"))
            }
            Err(BodyError::Broken) => {
                return (label, host_error(format, StatusCode::BAD_REQUEST, "invalid_request", "unreadable request body"))
            }
            Err(BodyError::TimedOut) => {
                return (label, host_error(format, StatusCode::REQUEST_TIMEOUT, "invalid_request", "request body too slow"))
            }
        };
        let resp = match handle_request(slot, guest_req).await {
            Ok(r) => from_guest_response(label, r),
            Err(InvokeError::Timeout(_)) => host_error(
                format,
                StatusCode::SERVICE_UNAVAILABLE,
                if format == ErrorFormat::Oauth { "temporarily_unavailable" } else { "unknown_error" },
                "the request exceeded its time budget",
            ),
            Err(InvokeError::NotLoaded(_)) => host_error(
                format,
                StatusCode::SERVICE_UNAVAILABLE,
                if format == ErrorFormat::Oauth { "temporarily_unavailable" } else { "unknown_error" },
                "not ready",
            ),
            Err(_) => host_error(
                format,
                StatusCode::INTERNAL_SERVER_ERROR,
                if format == ErrorFormat::Oauth { "server_error" } else { "unknown_error" },
                "internal error",
            ),
        };
        (label, resp)
    }

    /// A request the host makes to one of its components (demo seeding); it carries the internal header.
    pub async fn internal(&self, method: &str, path: &str, body: Vec<u8>) -> anyhow::Result<wit::Response> {
        let (route, prefix) =
            self.registry.manifest.route(path).ok_or_else(|| anyhow::anyhow!("no route for {path}"))?;
        let slot = self.registry.slot(&route.component).ok_or_else(|| anyhow::anyhow!("no component for {path}"))?;
        let req = wit::Request {
            method: method.to_string(),
            path: path.to_string(),
            query: String::new(),
            route: prefix.to_string(),
            headers: vec![
                (INTERNAL_HEADER.to_string(), "1".to_string()),
                ("content-type".to_string(), "application/json".to_string()),
            ],
            body,
        };
        handle_request(slot, req).await.map_err(|e| anyhow::anyhow!("{e}"))
    }

    async fn health(&self) -> HttpResponse {
        let platform = &self.registry.platform;
        let probe = async {
            let sql = platform.sql.ping().await;
            let cache = platform.cache.ping().await;
            (sql, cache)
        };
        let up = self.ready.load(Ordering::SeqCst)
            && match tokio::time::timeout(Duration::from_secs(1), probe).await {
                Ok((Ok(()), Ok(()))) => true,
                Ok((sql, cache)) => {
                    tracing::warn!(sql = ?sql.err(), cache = ?cache.err(), "health: a backend is down");
                    false
                }
                Err(_) => false,
            };
        let (status, body) = if up {
            (StatusCode::OK, r#"{"status":"UP"}"#)
        } else {
            (StatusCode::SERVICE_UNAVAILABLE, r#"{"status":"DOWN"}"#)
        };
        response(status, "application/json", body)
    }
}

enum BodyError {
    TooLarge,
    Broken,
    TimedOut,
}

/// A request body must arrive within this time (slow-body attacks hold a connection otherwise).
const BODY_TIMEOUT: Duration = Duration::from_secs(10);

/// After refusing a body as too large, read and discard up to this much of it (for at most [`DRAIN_TIMEOUT`]) before
/// answering 413: a client still sending would otherwise have its connection reset under it and lose the answer.
const DRAIN_BYTES: u64 = 4 << 20;
const DRAIN_TIMEOUT: Duration = Duration::from_secs(2);

/// Reads a request body of at most `max` bytes.
async fn read_body(mut body: Incoming, max: usize) -> Result<Vec<u8>, BodyError> {
    let mut buf = Vec::new();
    while let Some(frame) = body.frame().await {
        let Ok(data) = frame.map_err(|_| BodyError::Broken)?.into_data() else { continue };
        if buf.len() + data.len() > max {
            drain(body, (buf.len() + data.len()) as u64).await;
            return Err(BodyError::TooLarge);
        }
        buf.extend_from_slice(&data);
    }
    Ok(buf)
}

/// Reads and discards the rest of a refused body, within [`DRAIN_BYTES`] and [`DRAIN_TIMEOUT`].
async fn drain(mut body: Incoming, mut seen: u64) {
    let _ = tokio::time::timeout(DRAIN_TIMEOUT, async {
        while seen <= DRAIN_BYTES {
            match body.frame().await {
                Some(Ok(frame)) => seen += frame.data_ref().map_or(0, |d| d.len() as u64),
                _ => break,
            }
        }
    })
    .await;
}

async fn to_guest_request(req: Request<Incoming>, prefix: &str, max: usize) -> Result<wit::Request, BodyError> {
    let (parts, body) = req.into_parts();
    if let Some(len) = parts.headers.get(CONTENT_LENGTH).and_then(|v| v.to_str().ok()).and_then(|v| v.parse::<u64>().ok()) {
        if len > max as u64 {
            if len <= DRAIN_BYTES {
                drain(body, 0).await;
            }
            return Err(BodyError::TooLarge);
        }
    }
    let body = match tokio::time::timeout(BODY_TIMEOUT, read_body(body, max)).await {
        Ok(result) => result?,
        Err(_) => return Err(BodyError::TimedOut),
    };
    let headers = parts
        .headers
        .iter()
        .filter(|(k, _)| k.as_str() != INTERNAL_HEADER)
        .filter_map(|(k, v)| v.to_str().ok().map(|v| (k.as_str().to_string(), v.to_string())))
        .collect();
    Ok(wit::Request {
        method: parts.method.as_str().to_string(),
        path: parts.uri.path().to_string(),
        query: parts.uri.query().unwrap_or_default().to_string(),
        route: prefix.to_string(),
        headers,
        body,
    })
}

fn from_guest_response(component: &str, r: wit::Response) -> HttpResponse {
    let status = match StatusCode::from_u16(r.status) {
        Ok(s) => s,
        Err(_) => {
            tracing::error!(component, status = r.status, "guest returned an invalid status");
            return host_error(ErrorFormat::Plain, StatusCode::INTERNAL_SERVER_ERROR, "server_error", "invalid response");
        }
    };
    let mut resp = Response::new(Full::new(Bytes::from(r.body)));
    *resp.status_mut() = status;
    for (name, value) in r.headers {
        match (HeaderName::from_bytes(name.as_bytes()), HeaderValue::from_str(&value)) {
            (Ok(n), Ok(v)) => {
                resp.headers_mut().append(n, v);
            }
            _ => tracing::warn!(component, header = %name, "guest returned an invalid header; dropped"),
        }
    }
    resp
}

/// How many connections a listener serves at once (beyond this, new ones wait in the listen backlog), and how
/// long a client gets to send a request's headers (also the idle timeout of a keep-alive connection).
#[derive(Debug, Clone, Copy)]
pub struct ConnectionLimits {
    pub max_connections: usize,
    pub header_read_timeout: Duration,
}

/// How long, once draining, a connection may go without a request being handled before it is closed: an idle
/// keep-alive connection closes at once anyway; this cuts off one whose request head is still arriving (hyper
/// would otherwise wait for it up to `header_read_timeout`, holding the whole drain).
const DRAIN_IDLE_CUTOFF: Duration = Duration::from_secs(2);

/// Accepts connections until `shutdown` resolves, then stops accepting and gives open connections `drain` to
/// finish their requests.
pub async fn serve<H, F>(
    listener: TcpListener,
    handler: H,
    shutdown: impl Future<Output = ()>,
    drain: Duration,
    limits: ConnectionLimits,
) where
    H: Fn(Request<Incoming>) -> F + Clone + Send + Sync + 'static,
    F: Future<Output = Result<HttpResponse, Infallible>> + Send + 'static,
{
    // Every open connection holds a permit: the drain is over when all of them are back.
    let connections = Arc::new(tokio::sync::Semaphore::new(limits.max_connections));
    let (stop, stopping) = tokio::sync::watch::channel(false);
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let permit = tokio::select! {
            permit = connections.clone().acquire_owned() => match permit {
                Ok(p) => p,
                Err(_) => break,
            },
            _ = &mut shutdown => break,
        };
        tokio::select! {
            accepted = listener.accept() => {
                let stream = match accepted {
                    Ok((stream, _)) => stream,
                    Err(e) => {
                        // EMFILE and friends: back off instead of spinning on a failing accept.
                        tracing::warn!(error = %e, "accept failed; backing off");
                        tokio::time::sleep(Duration::from_millis(100)).await;
                        continue;
                    }
                };
                let _ = stream.set_nodelay(true);
                let handler = handler.clone();
                // Requests of this connection being handled now (from its head parsed to its response made).
                let busy = Arc::new(AtomicUsize::new(0));
                let counted = busy.clone();
                let service = hyper::service::service_fn(move |req| {
                    let guard = Busy::enter(&counted);
                    let handled = handler(req);
                    async move {
                        let _guard = guard;
                        handled.await
                    }
                });
                let conn = hyper::server::conn::http1::Builder::new()
                    .timer(hyper_util::rt::TokioTimer::new())
                    // hyper counts an idle keep-alive connection against this too: the default 75 s (as nginx)
                    // leaves clients that pause between requests room, while a slow-header client is cut off.
                    .header_read_timeout(limits.header_read_timeout)
                    .serve_connection(TokioIo::new(stream), service);
                let mut stopping = stopping.clone();
                tokio::spawn(async move {
                    let mut conn = std::pin::pin!(conn);
                    tokio::select! {
                        _ = conn.as_mut() => {
                            drop(permit);
                            return;
                        }
                        _ = stopping.wait_for(|stop| *stop) => {}
                    }
                    // Finish the request being handled, then close; cut off a connection with none for a while.
                    conn.as_mut().graceful_shutdown();
                    let mut idle_since = tokio::time::Instant::now();
                    loop {
                        tokio::select! {
                            _ = conn.as_mut() => break,
                            _ = tokio::time::sleep(Duration::from_millis(250)) => {
                                if busy.load(Ordering::Acquire) > 0 {
                                    idle_since = tokio::time::Instant::now();
                                } else if idle_since.elapsed() >= DRAIN_IDLE_CUTOFF {
                                    break;
                                }
                            }
                        }
                    }
                    drop(permit);
                });
            }
            _ = &mut shutdown => break,
        }
    }
    drop(listener);
    let _ = stop.send(true);
    let all = u32::try_from(limits.max_connections).unwrap_or(u32::MAX);
    if tokio::time::timeout(drain, connections.acquire_many(all)).await.is_err() {
        tracing::warn!("drain timed out; closing remaining connections");
    }
}

/// Counts a request as being handled for as long as it lives.
struct Busy(Arc<AtomicUsize>);

impl Busy {
    fn enter(count: &Arc<AtomicUsize>) -> Busy {
        count.fetch_add(1, Ordering::AcqRel);
        Busy(count.clone())
    }
}

impl Drop for Busy {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}
