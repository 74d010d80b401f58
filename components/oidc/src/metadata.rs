//! Discovery (`openid-configuration`), RFC 8414 metadata and the JWK set.
//!
//! Served paths, with `P` the issuer's path (`/v1/esignet`): OpenID configuration at
//! `P/.well-known/openid-configuration`, eSignet's `P/oidc/.well-known/openid-configuration` and the root
//! `/.well-known/openid-configuration` (eSignet's nginx mapping); RFC 8414 metadata at
//! `/.well-known/oauth-authorization-server` + `P` (RFC 8414 §3.1), `P/oauth/.well-known/oauth-authorization-server`
//! and the root; the JWK set at `P/oauth/.well-known/jwks.json`, `P/.well-known/jwks.json` and the root. The JWK
//! set is our `oidc-service` (ID tokens, re-signed userinfo) and `oidc-access-token` keys plus the identity
//! system's KYC signing keys (`authenticator.signing-keys`), de-duplicated by `kid`; if the plugin cannot answer,
//! our keys alone are served. Publishing the access-token key lets a client's resource servers verify our access
//! tokens with the JWKS (RFC 9068 §4); it has a `kid` and an `alg` of its own, so no ID token verifies with it.

use esignet_core::authorize::ScopeConfig;
use esignet_core::claims::AmrAcrMapping;
use esignet_core::discovery::{
    acr_values, authorization_server_metadata, merge_jwks, openid_configuration, plugin_jwk,
    Endpoints,
};
use esignet_sdk::audit::{self, Level};
use esignet_sdk::{authenticator, keys, CapabilityError, Response};
use serde_json::Value;

use crate::reply::no_store_json;

/// The key purpose of ID tokens and of userinfo responses we sign ourselves (RS256 by default: every RP
/// library verifies it, and OIDC Core §15.1 requires it).
pub const OIDC_SERVICE: &str = "oidc-service";
/// The key purpose of access tokens (ES256): only this provider (userinfo, vci) and the clients' resource
/// servers verify them, so they need not be RSA, and keeping them apart from ID tokens means neither kind of
/// token verifies as the other (RFC 8725 §3.12).
pub const OIDC_ACCESS_TOKEN: &str = "oidc-access-token";

/// Which document a path names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Document {
    /// OpenID Provider Metadata.
    OpenidConfiguration,
    /// RFC 8414 metadata.
    AuthorizationServer,
    /// The JWK set.
    Jwks,
}

/// The document served at `path`, if any.
pub fn document_for(path: &str, endpoints: &Endpoints) -> Option<Document> {
    let p = endpoints.issuer_path();
    let oidc = [
        format!("{p}/.well-known/openid-configuration"),
        format!("{p}/oidc/.well-known/openid-configuration"),
        "/.well-known/openid-configuration".to_owned(),
    ];
    let oauth = [
        format!("/.well-known/oauth-authorization-server{p}"),
        format!("{p}/oauth/.well-known/oauth-authorization-server"),
        "/.well-known/oauth-authorization-server".to_owned(),
    ];
    let jwks = [
        format!("{p}/oauth/.well-known/jwks.json"),
        format!("{p}/.well-known/jwks.json"),
        "/.well-known/jwks.json".to_owned(),
    ];
    if oidc.iter().any(|x| x == path) {
        Some(Document::OpenidConfiguration)
    } else if oauth.iter().any(|x| x == path) {
        Some(Document::AuthorizationServer)
    } else if jwks.iter().any(|x| x == path) {
        Some(Document::Jwks)
    } else {
        None
    }
}

fn public_json(value: &Value) -> Response {
    Response::json(value).with_header("cache-control", "public, max-age=300")
}

/// Serves `doc`.
pub fn serve(doc: Document, endpoints: &Endpoints) -> Response {
    match doc {
        Document::OpenidConfiguration => {
            let acrs = AmrAcrMapping::default_mapping()
                .map(|m| acr_values(&m))
                .unwrap_or_default();
            public_json(&openid_configuration(
                endpoints,
                &ScopeConfig::default(),
                &acrs,
            ))
        }
        Document::AuthorizationServer => public_json(&authorization_server_metadata(
            endpoints,
            &ScopeConfig::default(),
        )),
        Document::Jwks => jwks(),
    }
}

fn key_failure(e: &keys::KeyError) -> Response {
    audit::log(
        Level::Error,
        &format!("jwks: key backend error {}", e.variant()),
    );
    let status = if e.is_unavailable() { 503 } else { 500 };
    no_store_json(status, r#"{"error":"temporarily_unavailable"}"#.to_owned())
}

fn jwks() -> Response {
    // The host creates a purpose's key on first use here, so a fresh deployment never publishes an empty set.
    let own = match keys::public_jwks(&[OIDC_SERVICE.to_owned(), OIDC_ACCESS_TOKEN.to_owned()]) {
        Ok(text) => serde_json::from_str::<Value>(&text).unwrap_or(Value::Null),
        Err(e) => return key_failure(&e),
    };
    let extra: Vec<Value> = match authenticator::signing_keys() {
        Ok(list) => list
            .iter()
            .filter_map(|k| plugin_jwk(&k.key_id, &k.jwk))
            .collect(),
        Err(_) => {
            audit::log(
                Level::Warn,
                "jwks: the identity system's signing keys are unavailable",
            );
            Vec::new()
        }
    };
    Response::json(&merge_jwks(&own, &extra)).with_header("cache-control", "public, max-age=300")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_map_to_documents() {
        let e = Endpoints::from_issuer("http://127.0.0.1:18082/v1/esignet");
        let d = |p: &str| document_for(p, &e);
        assert_eq!(
            d("/v1/esignet/.well-known/openid-configuration"),
            Some(Document::OpenidConfiguration)
        );
        assert_eq!(
            d("/v1/esignet/oidc/.well-known/openid-configuration"),
            Some(Document::OpenidConfiguration)
        );
        assert_eq!(
            d("/.well-known/openid-configuration"),
            Some(Document::OpenidConfiguration)
        );
        assert_eq!(
            d("/.well-known/oauth-authorization-server/v1/esignet"),
            Some(Document::AuthorizationServer)
        );
        assert_eq!(
            d("/v1/esignet/oauth/.well-known/oauth-authorization-server"),
            Some(Document::AuthorizationServer)
        );
        assert_eq!(
            d("/v1/esignet/oauth/.well-known/jwks.json"),
            Some(Document::Jwks)
        );
        assert_eq!(d("/v1/esignet/.well-known/jwks.json"), Some(Document::Jwks));
        assert_eq!(d("/v1/esignet/.well-known/other"), None);
    }
}
