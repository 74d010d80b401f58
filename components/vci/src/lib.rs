//! The `vci` component: an OpenID for Verifiable Credential Issuance 1.0 credential issuer beside the `oidc`
//! authorization server, which is the same issuer identifier.
//!
//! With `P` the issuer's path (`/v1/esignet`): `POST P/vci/nonce` ([`nonce`]), `POST P/vci/credential`
//! ([`credential`]), `POST P/vci/notification` ([`notification`]), and the public documents of [`metadata`]
//! (issuer metadata at three locations, `/.well-known/jwt-vc-issuer[P]`, `/.well-known/did.json`). What it
//! can issue comes from the credential configurations (`esignet_core::credential::config`), which every
//! request loads and checks; a broken file answers 500 and says why in the log. Wallets log in through the
//! existing authorization-code flow with credential scopes; `oidc` keeps the login's KYC claims for the
//! credential-scoped access token under `vci-grant:<hash>` (`docs/design/login-flow.md`); a credential-data
//! plugin bound in `spin.toml` replaces them ([`data`]). Credentials are signed by the host with key purpose
//! `vci-issuer`; the holder's claims, disclosures and tokens never reach a log or an audit record.

#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)
)]

mod access;
mod credential;
mod data;
mod der;
mod events;
mod holder_key;
mod jwt_vc;
mod metadata;
mod nonce;
mod notification;
mod proof;
mod reply;
mod request;
mod sd_jwt;
mod settings;

use esignet_core::credential::CredentialConfigs;
use esignet_sdk::audit::{self, Level};
use esignet_sdk::{keys, Endpoint, Request, Response};
use serde_json::Value;

use crate::credential::ISSUER_KEY;
use crate::metadata::Document;
use crate::reply::{document, method_not_allowed, VciError};
use crate::settings::{Issuer, Settings};

/// Which endpoint a path names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Route {
    Nonce,
    Credential,
    Notification,
    Document(Document),
}

fn route(path: &str, issuer: &Issuer) -> Option<Route> {
    if path == issuer.endpoint_path("nonce") {
        Some(Route::Nonce)
    } else if path == issuer.endpoint_path("credential") {
        Some(Route::Credential)
    } else if path == issuer.endpoint_path("notification") {
        Some(Route::Notification)
    } else {
        metadata::document_for(path, issuer).map(Route::Document)
    }
}

fn serve(
    doc: Document,
    settings: &Settings,
    configs: &CredentialConfigs,
) -> Result<Value, VciError> {
    let key = keys::current_key(ISSUER_KEY).map_err(|e| {
        audit::log(Level::Error, "the vci-issuer key is not available");
        VciError::capability(&e)
    })?;
    if doc == Document::IssuerMetadata {
        return Ok(metadata::issuer_metadata(
            &settings.issuer,
            configs,
            &key.alg,
        ));
    }
    let jwks = keys::public_jwks(&[ISSUER_KEY.to_owned()]).map_err(|e| VciError::capability(&e))?;
    let jwks: Value = serde_json::from_str(&jwks).map_err(|_| VciError::Fault)?;
    Ok(match doc {
        Document::Did => metadata::did_document(&settings.issuer, &jwks),
        _ => metadata::jwt_vc_issuer(&settings.issuer, &jwks),
    })
}

struct Vci;

impl Endpoint for Vci {
    fn handle(req: Request) -> Response {
        let Some(settings) = Settings::load() else {
            audit::log(Level::Error, "config variable `issuer` is not set");
            return VciError::Fault.response();
        };
        let configs = match CredentialConfigs::embedded() {
            Ok(c) => c,
            Err(e) => {
                audit::log(
                    Level::Error,
                    &format!("credential configurations refused: {e}"),
                );
                return VciError::Fault.response();
            }
        };
        match route(&req.path, &settings.issuer) {
            Some(Route::Nonce) => nonce::handle(&req, &settings),
            Some(Route::Credential) => credential::handle(&req, &settings, &configs),
            Some(Route::Notification) => notification::handle(&req, &settings, &configs),
            Some(Route::Document(doc)) if req.method == "GET" || req.method == "HEAD" => {
                match serve(doc, &settings, &configs) {
                    Ok(body) => document(&body.to_string()),
                    Err(e) => e.response(),
                }
            }
            Some(Route::Document(_)) => method_not_allowed("GET"),
            None => Response::not_found(),
        }
    }
}

esignet_sdk::export_endpoint!(Vci);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_by_issuer_path() {
        let i = Issuer::new("http://127.0.0.1:8088/v1/esignet");
        assert_eq!(route("/v1/esignet/vci/nonce", &i), Some(Route::Nonce));
        assert_eq!(
            route("/v1/esignet/vci/credential", &i),
            Some(Route::Credential)
        );
        assert_eq!(
            route("/v1/esignet/vci/notification", &i),
            Some(Route::Notification)
        );
        assert_eq!(
            route("/.well-known/openid-credential-issuer/v1/esignet", &i),
            Some(Route::Document(Document::IssuerMetadata))
        );
        assert_eq!(route("/v1/esignet/vci/other", &i), None);
    }
}
