//! Reading a `client_detail` row (reference §7.1, portable SQL: every JSON-valued column is TEXT) into a
//! [`ClientDetail`], and the statement that selects one.
//!
//! Column rules: `id`, `rp_id`, `redirect_uris`, `public_key` and `status` are required; list columns
//! (`redirect_uris`, `claims`, `acr_values`, `grant_types`, `auth_methods`) hold a JSON array of strings (NULL
//! or empty text reads as an empty list); `public_key`, `enc_public_key` and `additional_config` hold JSON
//! (NULL: absent); `name` is eSignet's lang-map JSON or a plain name; a `status` other than `ACTIVE` reads as
//! INACTIVE. A row that breaks these rules is a server-side fault: `unknown_error`, never a client's error.
//! The cache copy of a client (`client:<clientId>`) is the serde JSON of [`ClientDetail`], not the row.

use serde_json::Value;

use super::{ClientDetail, ClientName, ClientStatus};
use crate::error::EsignetError;
use crate::ids::ClientId;

/// Selects one client by id (`$1`); the column order [`ClientDetail::from_columns`] expects by name.
pub const SELECT_CLIENT_SQL: &str =
    "SELECT id, name, rp_id, logo_uri, redirect_uris, claims, acr_values, \
     public_key, enc_public_key, grant_types, auth_methods, status, additional_config \
     FROM client_detail WHERE id = $1";

/// Whether `id` could name a registered client: 1..=100 characters, none of them a control character. Anything
/// else is an unknown client without asking the database (PostgreSQL text cannot even hold a NUL).
pub fn plausible_client_id(id: &str) -> bool {
    !id.is_empty() && id.chars().count() <= 100 && !id.chars().any(char::is_control)
}

fn text_list(text: Option<String>) -> Result<Vec<String>, EsignetError> {
    match text.as_deref().map(str::trim) {
        None | Some("") => Ok(Vec::new()),
        Some(t) => serde_json::from_str(t).map_err(|_| EsignetError::UnknownError),
    }
}

fn json_value(text: Option<String>) -> Result<Option<Value>, EsignetError> {
    match text.as_deref().map(str::trim) {
        None | Some("") => Ok(None),
        Some(t) => serde_json::from_str(t)
            .map(Some)
            .map_err(|_| EsignetError::UnknownError),
    }
}

impl ClientDetail {
    /// Builds a client from a row whose column `name` has the text `column(name)` (`None` for NULL or a
    /// missing column). See the module docs for the rules.
    pub fn from_columns(column: impl Fn(&str) -> Option<String>) -> Result<Self, EsignetError> {
        let required = |name: &str| {
            column(name)
                .filter(|v| !v.is_empty())
                .ok_or(EsignetError::UnknownError)
        };
        let status = match column("status").as_deref() {
            Some("ACTIVE") => ClientStatus::Active,
            _ => ClientStatus::Inactive,
        };
        let redirect_uris = text_list(Some(required("redirect_uris")?))?;
        let public_key = json_value(Some(required("public_key")?))?.unwrap_or(Value::Null);
        Ok(ClientDetail {
            id: ClientId::new(required("id")?),
            name: column("name")
                .map(|n| ClientName::from_stored(&n))
                .unwrap_or_default(),
            rp_id: required("rp_id")?,
            logo_uri: column("logo_uri").filter(|v| !v.is_empty()),
            redirect_uris,
            claims: text_list(column("claims"))?,
            acr_values: text_list(column("acr_values"))?,
            public_key,
            enc_public_key: json_value(column("enc_public_key"))?,
            grant_types: text_list(column("grant_types"))?,
            auth_methods: text_list(column("auth_methods"))?,
            status,
            additional_config: json_value(column("additional_config"))?.unwrap_or(Value::Null),
        })
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn implausible_client_ids_are_unknown_without_a_query() {
        assert!(super::plausible_client_id("demo-client"));
        assert!(!super::plausible_client_id(""));
        assert!(!super::plausible_client_id("a\u{0}b"));
        assert!(!super::plausible_client_id(&"x".repeat(101)));
    }

    use std::collections::HashMap;

    use super::*;
    use crate::client::UserinfoResponseType;

    fn row() -> HashMap<&'static str, &'static str> {
        HashMap::from([
            ("id", "client-a"),
            ("name", r#"{"@none":"Health portal"}"#),
            ("rp_id", "rp-a"),
            ("redirect_uris", r#"["https://rp.test/cb"]"#),
            ("claims", r#"["name","email"]"#),
            ("acr_values", r#"["mosip:idp:acr:generated-code"]"#),
            ("public_key", r#"{"kty":"RSA","n":"x","e":"AQAB"}"#),
            (
                "enc_public_key",
                r#"{"kty":"RSA","n":"y","e":"AQAB","use":"enc"}"#,
            ),
            ("grant_types", r#"["authorization_code"]"#),
            ("auth_methods", r#"["private_key_jwt"]"#),
            ("status", "ACTIVE"),
            (
                "additional_config",
                r#"{"userinfo_response_type":"JWE","require_pkce":true}"#,
            ),
        ])
    }

    fn read(r: &HashMap<&'static str, &'static str>) -> Result<ClientDetail, EsignetError> {
        ClientDetail::from_columns(|c| r.get(c).map(|v| (*v).to_owned()))
    }

    #[test]
    fn reads_text_columns() {
        let c = read(&row()).unwrap();
        assert_eq!(c.id, "client-a");
        assert_eq!(c.name.default_name(), Some("Health portal"));
        assert!(c.accepts_redirect_uri("https://rp.test/cb"));
        assert_eq!(c.claims, vec!["name", "email"]);
        assert_eq!(c.public_key["kty"], "RSA");
        assert_eq!(c.enc_public_key.as_ref().unwrap()["use"], "enc");
        assert!(c.require_pkce());
        assert_eq!(c.userinfo_response_type(), UserinfoResponseType::Jwe);
        assert!(c.ensure_active().is_ok());
        let cached: ClientDetail =
            serde_json::from_str(&serde_json::to_string(&c).unwrap()).unwrap();
        assert_eq!(cached, c);
    }

    #[test]
    fn optional_columns_and_status() {
        let mut r = row();
        for k in [
            "name",
            "claims",
            "acr_values",
            "enc_public_key",
            "additional_config",
        ] {
            r.remove(k);
        }
        r.insert("status", "SUSPENDED");
        let c = read(&r).unwrap();
        assert!(c.claims.is_empty() && c.enc_public_key.is_none());
        assert_eq!(c.additional_config, Value::Null);
        assert_eq!(c.ensure_active(), Err(EsignetError::InvalidClientId));
    }

    #[test]
    fn broken_rows_are_server_faults() {
        for (k, v) in [
            ("redirect_uris", "not json"),
            ("public_key", "{"),
            ("id", ""),
        ] {
            let mut r = row();
            r.insert(k, v);
            assert_eq!(read(&r), Err(EsignetError::UnknownError), "{k}");
        }
        let mut r = row();
        r.remove("rp_id");
        assert_eq!(read(&r), Err(EsignetError::UnknownError));
    }
}
