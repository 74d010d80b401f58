//! The admin API for hot deploys, on its own listener (loopback by default):
//! `GET /admin/components` lists the running versions; `PUT /admin/components/{id}` with a component's bytes
//! deploys it. Every call needs `Authorization: Bearer <token>`, the token being `ESIGNET_ADMIN_TOKEN` or the
//! content of `<data-dir>/admin.token` (created at first start, readable by the owner only).

use std::convert::Infallible;
use std::io::Write;
use std::path::Path;
use std::sync::Arc;

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper::{Method, Request, Response, StatusCode};
use subtle::ConstantTimeEq;

use crate::deploy::Registry;
use crate::server::response;

const MAX_COMPONENT_BYTES: usize = 64 << 20;

pub struct Admin {
    pub registry: Arc<Registry>,
    pub token: String,
    /// The issuer URL; operator tokens are issued as `<issuer>/admin`.
    pub issuer: String,
    /// Where fetched artifacts are kept.
    pub data_dir: std::path::PathBuf,
}

/// The key purpose that signs operator tokens for the client-management API.
pub const OPERATOR_TOKEN_PURPOSE: &str = "client-mgmt-admin";
const OPERATOR_TOKEN_SECONDS: u64 = 600;

/// Reads the admin token, creating a random one (mode 0600) when none exists.
pub fn load_or_create_token(data_dir: &Path) -> anyhow::Result<String> {
    if let Ok(token) = std::env::var("ESIGNET_ADMIN_TOKEN") {
        if token.len() >= 16 {
            return Ok(token);
        }
        anyhow::bail!("ESIGNET_ADMIN_TOKEN must be at least 16 characters");
    }
    let path = data_dir.join("admin.token");
    if let Ok(token) = std::fs::read_to_string(&path) {
        return Ok(token.trim().to_string());
    }
    let token = hex::encode(rand::random::<[u8; 32]>());
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    match options.open(&path) {
        Ok(mut f) => {
            f.write_all(token.as_bytes())?;
            Ok(token)
        }
        // Another process created it first: use theirs.
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(std::fs::read_to_string(&path)?.trim().to_string()),
        Err(e) => Err(e.into()),
    }
}

fn json(status: StatusCode, value: serde_json::Value) -> Response<Full<Bytes>> {
    response(status, "application/json", value.to_string())
}

impl Admin {
    fn authorized(&self, req: &Request<Incoming>) -> bool {
        let presented = req
            .headers()
            .get(hyper::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .unwrap_or_default();
        !self.token.is_empty() && bool::from(presented.as_bytes().ct_eq(self.token.as_bytes()))
    }

    pub async fn handle(self: Arc<Self>, req: Request<Incoming>) -> Result<Response<Full<Bytes>>, Infallible> {
        if !self.authorized(&req) {
            return Ok(json(StatusCode::UNAUTHORIZED, serde_json::json!({ "error": "unauthorized" })));
        }
        let path = req.uri().path().to_string();
        let id = path.strip_prefix("/admin/components/").map(str::to_string);
        Ok(match (req.method().clone(), path.as_str(), id) {
            (Method::GET, "/admin/components", _) => self.list(),
            (Method::POST, "/admin/token", _) => self.operator_token().await,
            (Method::PUT, _, Some(id)) => self.deploy(&id, req).await,
            _ => json(StatusCode::NOT_FOUND, serde_json::json!({ "error": "not_found" })),
        })
    }

    fn list(&self) -> Response<Full<Bytes>> {
        let list: Vec<_> = self
            .registry
            .slots
            .values()
            .map(|s| {
                let current = s.current();
                serde_json::json!({
                    "component": s.id,
                    "version": current.as_ref().map(|c| c.version),
                    "digest": current.as_ref().map(|c| c.digest.clone()),
                })
            })
            .collect();
        json(StatusCode::OK, serde_json::json!({ "components": list }))
    }

    /// A short-lived operator token (both client-management scopes) signed by the host's keystore.
    async fn operator_token(&self) -> Response<Full<Bytes>> {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or_default();
        let claims = serde_json::json!({
            "iss": format!("{}/admin", self.issuer),
            "sub": "operator",
            "aud": "esignet-client-mgmt",
            "scope": "add_oidc_client update_oidc_client",
            "iat": now,
            "exp": now + OPERATOR_TOKEN_SECONDS,
            "jti": hex::encode(rand::random::<[u8; 16]>()),
        });
        let mut header = serde_json::Map::new();
        header.insert("typ".into(), "JWT".into());
        match self
            .registry
            .platform
            .keys
            .sign_jws(OPERATOR_TOKEN_PURPOSE, "ES256", header, claims.to_string().as_bytes())
            .await
        {
            Ok(token) => json(
                StatusCode::OK,
                serde_json::json!({ "access_token": token, "token_type": "Bearer", "expires_in": OPERATOR_TOKEN_SECONDS }),
            ),
            Err(e) => {
                tracing::error!(error = %e, "cannot sign an operator token");
                json(StatusCode::SERVICE_UNAVAILABLE, serde_json::json!({ "error": "keystore_unavailable" }))
            }
        }
    }

    async fn deploy(&self, id: &str, req: Request<Incoming>) -> Response<Full<Bytes>> {
        if self.registry.slot(id).is_none() {
            return json(StatusCode::NOT_FOUND, serde_json::json!({ "error": "unknown_component", "component": id }));
        }
        // `?url=...&digest=sha256:...` deploys a pinned artifact; otherwise the body is the component.
        let query: std::collections::HashMap<String, String> =
            url::form_urlencoded::parse(req.uri().query().unwrap_or_default().as_bytes()).into_owned().collect();
        let bytes = match (query.get("url"), query.get("digest")) {
            (Some(url), Some(digest)) => match crate::artifact::fetch(url, digest, &self.data_dir).await {
                Ok(b) => b,
                Err(e) => {
                    let message = format!("{e:#}");
                    tracing::error!(component = id, error = %message, "artifact refused; the running version keeps serving");
                    return json(StatusCode::UNPROCESSABLE_ENTITY, serde_json::json!({ "error": "deploy_refused", "detail": message }));
                }
            },
            (None, None) => match Limited::new(req.into_body(), MAX_COMPONENT_BYTES).collect().await {
                Ok(b) => b.to_bytes().to_vec(),
                Err(_) => return json(StatusCode::PAYLOAD_TOO_LARGE, serde_json::json!({ "error": "too_large" })),
            },
            _ => return json(StatusCode::BAD_REQUEST, serde_json::json!({ "error": "url_and_digest_go_together" })),
        };
        match self.registry.deploy(id, bytes).await {
            Ok(report) => json(StatusCode::OK, serde_json::to_value(report).unwrap_or_default()),
            Err(e) => {
                let message = format!("{e:#}");
                tracing::error!(component = id, error = %message, "deploy refused; the running version keeps serving");
                json(StatusCode::UNPROCESSABLE_ENTITY, serde_json::json!({ "error": "deploy_refused", "detail": message }))
            }
        }
    }
}
