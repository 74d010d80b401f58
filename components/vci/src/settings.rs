//! The issuer's configuration (`[component.vci.variables]` in `spin.toml`) and the URLs and identifiers derived
//! from it.
//!
//! - `issuer` (required): the OpenID provider's issuer, which is also the credential issuer identifier (one
//!   server is both authorization server and credential issuer, so `authorization_servers` = `[issuer]`).
//! - `c_nonce_ttl_secs` (default 300): how long a nonce from the nonce endpoint can be used.
//!
//! Derived: the endpoints `<issuer>/vci/credential`, `/vci/nonce`, `/vci/notification`; the issuer's
//! did:web (`did:web:<host>`, the port's `:` percent-encoded; its document is served at
//! `/.well-known/did.json`); the metadata locations (see [`crate::metadata`]).

use esignet_core::credential::DEFAULT_NONCE_TTL_SECS;
use esignet_sdk::audit::{self, Level};
use esignet_sdk::config;

/// The issuer's identity and endpoints.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Issuer {
    /// The credential issuer identifier (= the OIDC issuer; no trailing `/`).
    pub identifier: String,
    /// `did:web:<host>`.
    pub did: String,
    /// The path of the identifier (`/v1/esignet`; empty for a bare host).
    pub path: String,
}

impl Issuer {
    /// The identity for an issuer URL.
    pub fn new(issuer: &str) -> Self {
        let identifier = issuer.trim().trim_end_matches('/').to_owned();
        let after_scheme = identifier
            .split_once("://")
            .map_or(identifier.as_str(), |(_, r)| r);
        let (host, path) = match after_scheme.find('/') {
            Some(i) => (&after_scheme[..i], &after_scheme[i..]),
            None => (after_scheme, ""),
        };
        Issuer {
            did: format!("did:web:{}", host.replace(':', "%3A")),
            path: path.to_owned(),
            identifier,
        }
    }

    /// An endpoint under `<identifier>/vci/`.
    pub fn endpoint(&self, name: &str) -> String {
        format!("{}/vci/{name}", self.identifier)
    }

    /// The path of an endpoint under `<identifier>/vci/`.
    pub fn endpoint_path(&self, name: &str) -> String {
        format!("{}/vci/{name}", self.path)
    }
}

/// What the endpoints need to know about the deployment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    /// The issuer.
    pub issuer: Issuer,
    /// Nonce lifetime, seconds.
    pub c_nonce_ttl_secs: u64,
}

impl Settings {
    /// Reads the configuration; `None` when `issuer` is not set.
    pub fn load() -> Option<Self> {
        let issuer = config::get("issuer").filter(|i| !i.trim().is_empty())?;
        let raw = config::get("c_nonce_ttl_secs");
        let c_nonce_ttl_secs = match raw.as_deref().map(str::trim) {
            None | Some("") => DEFAULT_NONCE_TTL_SECS,
            Some(v) => v.parse::<u64>().ok().filter(|n| *n > 0).unwrap_or_else(|| {
                audit::log(
                    Level::Warn,
                    "config `c_nonce_ttl_secs` is not a positive integer; using 300",
                );
                DEFAULT_NONCE_TTL_SECS
            }),
        };
        Some(Settings {
            issuer: Issuer::new(&issuer),
            c_nonce_ttl_secs,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identity_from_issuer_url() {
        let i = Issuer::new("http://127.0.0.1:8088/v1/esignet/");
        assert_eq!(i.identifier, "http://127.0.0.1:8088/v1/esignet");
        assert_eq!(i.did, "did:web:127.0.0.1%3A8088");
        assert_eq!(i.path, "/v1/esignet");
        assert_eq!(
            i.endpoint("nonce"),
            "http://127.0.0.1:8088/v1/esignet/vci/nonce"
        );
        assert_eq!(i.endpoint_path("credential"), "/v1/esignet/vci/credential");
        let bare = Issuer::new("https://id.example");
        assert_eq!(
            (bare.did.as_str(), bare.path.as_str()),
            ("did:web:id.example", "")
        );
    }
}
