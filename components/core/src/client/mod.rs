//! Registered OIDC clients: the record the components load from `client_detail`, and redirect-URI matching.
//!
//! [`ClientDetail`] mirrors the table's columns (snake_case names, reference §7.1) so a row or a cached copy
//! deserializes directly. The lang-map `name` accepts eSignet's two stored forms (a JSON object, or a plain
//! string from the deprecated v1 API, read as `{"@none": name}`). `additional_config` is kept as raw JSON,
//! because oauth-details hands it to the UI unchanged as `clientAdditionalConfig`; typed accessors read the
//! keys the flow acts on.

mod redirect_uri;
pub mod registration;
mod row;

use std::collections::BTreeMap;

use serde::{Deserialize, Deserializer, Serialize};
use serde_json::Value;

use crate::error::EsignetError;
use crate::ids::ClientId;

pub use redirect_uri::redirect_uri_matches;
pub use row::{plausible_client_id, SELECT_CLIENT_SQL};

/// The language key eSignet uses for the default client name.
pub const NO_LANGUAGE: &str = "@none";

/// Client status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ClientStatus {
    /// Usable.
    #[serde(rename = "ACTIVE")]
    Active,
    /// Disabled: lookups answer `invalid_client_id`.
    #[serde(rename = "INACTIVE")]
    Inactive,
}

/// How userinfo is returned: signed, or signed then encrypted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
pub enum UserinfoResponseType {
    /// A JWS (default).
    #[default]
    #[serde(rename = "JWS")]
    Jws,
    /// A JWS nested in a JWE to the client's `enc_public_key`.
    #[serde(rename = "JWE")]
    Jwe,
}

/// The client's name per language (ISO 639-3 codes, plus `@none`), in a stable (sorted) order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Default)]
#[serde(transparent)]
pub struct ClientName(pub BTreeMap<String, String>);

impl ClientName {
    /// Reads a stored name: a JSON object of strings, or anything else taken as the `@none` name.
    pub fn from_stored(stored: &str) -> Self {
        match serde_json::from_str::<BTreeMap<String, String>>(stored) {
            Ok(map) => ClientName(map),
            Err(_) => ClientName(BTreeMap::from([(
                NO_LANGUAGE.to_owned(),
                stored.to_owned(),
            )])),
        }
    }

    /// The `@none` name (what the deprecated v1 oauth-details returns), if any.
    pub fn default_name(&self) -> Option<&str> {
        self.0.get(NO_LANGUAGE).map(String::as_str)
    }
}

impl<'de> Deserialize<'de> for ClientName {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Stored {
            Map(BTreeMap<String, String>),
            Text(String),
        }
        Ok(match Stored::deserialize(d)? {
            Stored::Map(m) => ClientName(m),
            Stored::Text(s) => ClientName::from_stored(&s),
        })
    }
}

/// A registered client (table `client_detail`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClientDetail {
    /// Client id.
    pub id: ClientId,
    /// Name per language.
    pub name: ClientName,
    /// Relying-party (partner) id, passed to the identity system.
    pub rp_id: String,
    /// Logo URL shown by the UI.
    #[serde(default)]
    pub logo_uri: Option<String>,
    /// Registered redirect URIs (exact, or patterns; see [`redirect_uri_matches`]).
    pub redirect_uris: Vec<String>,
    /// Claims the client may receive (`userClaims`).
    #[serde(default)]
    pub claims: Vec<String>,
    /// Registered ACR values (`authContextRefs`).
    #[serde(default)]
    pub acr_values: Vec<String>,
    /// The client's public JWK (for `private_key_jwt`).
    pub public_key: Value,
    /// The JWK userinfo is encrypted to when `userinfo_response_type` is JWE.
    #[serde(default)]
    pub enc_public_key: Option<Value>,
    /// Grant types (`authorization_code`).
    #[serde(default)]
    pub grant_types: Vec<String>,
    /// Client auth methods (`private_key_jwt`).
    #[serde(default)]
    pub auth_methods: Vec<String>,
    /// ACTIVE / INACTIVE.
    pub status: ClientStatus,
    /// The additionalConfig JSON object, as stored.
    #[serde(default)]
    pub additional_config: Value,
}

impl ClientDetail {
    /// `invalid_client_id` unless the client is ACTIVE.
    pub fn ensure_active(&self) -> Result<(), EsignetError> {
        match self.status {
            ClientStatus::Active => Ok(()),
            ClientStatus::Inactive => Err(EsignetError::InvalidClientId),
        }
    }

    /// Whether `given` matches one of the registered redirect URIs.
    pub fn accepts_redirect_uri(&self, given: &str) -> bool {
        redirect_uri_matches(&self.redirect_uris, given)
    }

    fn config_bool(&self, key: &str) -> bool {
        self.additional_config
            .get(key)
            .and_then(Value::as_bool)
            .unwrap_or(false)
    }

    /// `additional_config.require_pkce`.
    pub fn require_pkce(&self) -> bool {
        self.config_bool("require_pkce")
    }

    /// `additional_config.require_pushed_authorization_requests`.
    pub fn require_par(&self) -> bool {
        self.config_bool("require_pushed_authorization_requests")
    }

    /// `additional_config.dpop_bound_access_tokens`.
    pub fn dpop_bound_access_tokens(&self) -> bool {
        self.config_bool("dpop_bound_access_tokens")
    }

    /// `additional_config.userinfo_response_type`, default JWS.
    pub fn userinfo_response_type(&self) -> UserinfoResponseType {
        match self
            .additional_config
            .get("userinfo_response_type")
            .and_then(Value::as_str)
        {
            Some("JWE") => UserinfoResponseType::Jwe,
            _ => UserinfoResponseType::Jws,
        }
    }

    /// `additional_config.consent_expire_in_mins`, if a positive integer (absent: consent never expires).
    pub fn consent_expire_in_mins(&self) -> Option<u64> {
        self.additional_config
            .get("consent_expire_in_mins")
            .and_then(Value::as_u64)
            .filter(|m| *m > 0)
    }

    /// `additional_config.purpose`, as stored.
    pub fn purpose(&self) -> Option<&Value> {
        self.additional_config.get("purpose")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn row() -> Value {
        json!({
            "id": "client-a",
            "name": "{\"@none\":\"Health portal\",\"fra\":\"Portail santé\"}",
            "rp_id": "rp-a",
            "logo_uri": "https://rp.test/logo.png",
            "redirect_uris": ["https://rp.test/cb"],
            "claims": ["name", "email"],
            "acr_values": ["mosip:idp:acr:generated-code"],
            "public_key": {"kty": "RSA", "n": "x", "e": "AQAB"},
            "grant_types": ["authorization_code"],
            "auth_methods": ["private_key_jwt"],
            "status": "ACTIVE",
            "additional_config": {"require_pkce": true, "userinfo_response_type": "JWE", "consent_expire_in_mins": 30}
        })
    }

    #[test]
    fn deserializes_a_row_with_json_text_name() {
        let c: ClientDetail = serde_json::from_value(row()).unwrap();
        assert_eq!(c.id, "client-a");
        assert_eq!(c.name.default_name(), Some("Health portal"));
        assert_eq!(
            c.name.0.get("fra").map(String::as_str),
            Some("Portail santé")
        );
        assert!(c.require_pkce());
        assert!(!c.require_par());
        assert_eq!(c.userinfo_response_type(), UserinfoResponseType::Jwe);
        assert_eq!(c.consent_expire_in_mins(), Some(30));
        assert!(c.ensure_active().is_ok());
        assert!(c.accepts_redirect_uri("https://rp.test/cb"));
    }

    #[test]
    fn plain_and_map_names_and_inactive() {
        let mut v = row();
        v["name"] = json!("Legacy");
        v["status"] = json!("INACTIVE");
        v["additional_config"] = Value::Null;
        let c: ClientDetail = serde_json::from_value(v.clone()).unwrap();
        assert_eq!(c.name.default_name(), Some("Legacy"));
        assert_eq!(c.ensure_active(), Err(EsignetError::InvalidClientId));
        assert!(!c.require_pkce());
        assert_eq!(c.userinfo_response_type(), UserinfoResponseType::Jws);
        v["name"] = json!({"@none": "Map", "eng": "Map"});
        let c: ClientDetail = serde_json::from_value(v).unwrap();
        assert_eq!(c.name.0.len(), 2);
        let back: ClientDetail = serde_json::from_value(serde_json::to_value(&c).unwrap()).unwrap();
        assert_eq!(back, c);
    }
}
