//! The oauth-details answer (v2/v3 shape) and its `oauth-details-hash`.
//!
//! [`OAuthDetailsResponse::to_json`] writes the `response` object compactly with the members in eSignet's
//! order — `transactionId, clientName, logoUrl, authFactors, authorizeScopes, essentialClaims,
//! voluntaryClaims, configs, redirectUri, credentialScopes` — through [`crate::js_json`], so that the UI's
//! `JSON.stringify(JSON.parse(...))` of the member gives back the same bytes. The component must send exactly
//! those bytes as the envelope's `response` (see [`crate::envelope::success_raw`]) and store
//! [`oauth_details_hash`] of them in the transaction. What must hold for that (enforced by `js_json`): no
//! floats or integers beyond ±(2^53 − 1) anywhere (a config value like `0.5` fails with
//! `failed_to_generate_header_hash`; check configs at start-up with [`crate::js_json::check_js_safe`]);
//! strings escaped only where `JSON.stringify` escapes (`"`, `\`, controls), never `/` or non-ASCII; object
//! keys that look like array indices are written first, as JavaScript orders them.

use serde::Serialize;
use serde_json::{Map, Value};
use subtle::ConstantTimeEq;

use crate::claims::AuthFactor;
use crate::client::ClientName;
use crate::error::EsignetError;
use crate::hashing::sha256_b64url;
use crate::ids::TransactionId;
use crate::js_json::{write_string, write_value, KeyOrder};

/// The `configs` key holding the client's additionalConfig.
pub const CLIENT_ADDITIONAL_CONFIG_KEY: &str = "clientAdditionalConfig";

/// The oauth-details `response` object (v2/v3).
#[derive(Debug, Clone, PartialEq)]
pub struct OAuthDetailsResponse {
    /// Transaction id.
    pub transaction_id: TransactionId,
    /// Client name per language.
    pub client_name: ClientName,
    /// Client logo, `null` when none.
    pub logo_url: Option<String>,
    /// Factor groups (one of which the user must satisfy).
    pub auth_factors: Vec<Vec<AuthFactor>>,
    /// Requested authorize scopes.
    pub authorize_scopes: Vec<String>,
    /// Essential claims.
    pub essential_claims: Vec<String>,
    /// Voluntary claims.
    pub voluntary_claims: Vec<String>,
    /// UI configuration, including `clientAdditionalConfig`.
    pub configs: Map<String, Value>,
    /// The redirect URI of the request.
    pub redirect_uri: String,
    /// Requested credential scopes.
    pub credential_scopes: Vec<String>,
}

impl OAuthDetailsResponse {
    /// The exact bytes to send and hash. `failed_to_generate_header_hash` if a value cannot round-trip.
    pub fn to_json(&self) -> Result<String, EsignetError> {
        self.write(to_value(&self.client_name)?, true)
    }

    /// The deprecated v1 shape: `clientName` is the `@none` name as a string (`null` when the client has
    /// none), and there is no `credentialScopes`; otherwise as [`Self::to_json`].
    pub fn to_json_v1(&self) -> Result<String, EsignetError> {
        self.write(to_value(&self.client_name.default_name())?, false)
    }

    fn write(&self, client_name: Value, credential_scopes: bool) -> Result<String, EsignetError> {
        let fields: [(&str, Value); 9] = [
            ("transactionId", to_value(&self.transaction_id)?),
            ("clientName", client_name),
            ("logoUrl", to_value(&self.logo_url)?),
            ("authorizeScopes", to_value(&self.authorize_scopes)?),
            ("essentialClaims", to_value(&self.essential_claims)?),
            ("voluntaryClaims", to_value(&self.voluntary_claims)?),
            ("configs", Value::Object(self.configs.clone())),
            ("redirectUri", to_value(&self.redirect_uri)?),
            ("credentialScopes", to_value(&self.credential_scopes)?),
        ];
        let mut out = String::with_capacity(1024);
        out.push('{');
        for (i, (key, value)) in fields.iter().enumerate() {
            if *key == "credentialScopes" && !credential_scopes {
                continue;
            }
            if i > 0 {
                out.push(',');
            }
            write_string(&mut out, key);
            out.push(':');
            write_value(&mut out, value, KeyOrder::JavaScript)
                .map_err(|_| EsignetError::FailedToGenerateHeaderHash)?;
            if *key == "logoUrl" {
                out.push_str(",\"authFactors\":");
                write_auth_factors(&mut out, &self.auth_factors);
            }
        }
        out.push('}');
        Ok(out)
    }
}

/// `[[{"type":..,"count":..,"subTypes":..}]]` in eSignet's member order (a `Value` would sort the keys).
fn write_auth_factors(out: &mut String, groups: &[Vec<AuthFactor>]) {
    out.push('[');
    for (i, group) in groups.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push('[');
        for (j, f) in group.iter().enumerate() {
            if j > 0 {
                out.push(',');
            }
            out.push_str("{\"type\":");
            write_string(out, &f.factor_type);
            out.push_str(&format!(",\"count\":{},\"subTypes\":", f.count));
            match &f.sub_types {
                None => out.push_str("null"),
                Some(list) => {
                    out.push('[');
                    for (k, t) in list.iter().enumerate() {
                        if k > 0 {
                            out.push(',');
                        }
                        write_string(out, t);
                    }
                    out.push(']');
                }
            }
            out.push('}');
        }
        out.push(']');
    }
    out.push(']');
}

fn to_value<T: Serialize>(v: &T) -> Result<Value, EsignetError> {
    serde_json::to_value(v).map_err(|_| EsignetError::FailedToGenerateHeaderHash)
}

/// The `configs` map: the server's UI configuration plus `clientAdditionalConfig` (the client's additionalConfig
/// as stored, `null` when it has none).
pub fn ui_configs(
    base: &Map<String, Value>,
    client_additional_config: &Value,
) -> Map<String, Value> {
    let mut configs = base.clone();
    configs.insert(
        CLIENT_ADDITIONAL_CONFIG_KEY.to_owned(),
        client_additional_config.clone(),
    );
    configs
}

/// `oauth-details-hash`: base64url without padding of SHA-256 over the exact response bytes.
pub fn oauth_details_hash(response_bytes: &[u8]) -> String {
    sha256_b64url(response_bytes)
}

/// Checks the `oauth-details-hash` header against the stored hash (constant time): missing or different →
/// `invalid_request`, as eSignet's header filter answers.
pub fn check_oauth_details_hash(stored: &str, header: Option<&str>) -> Result<(), EsignetError> {
    match header {
        Some(h) if bool::from(h.as_bytes().ct_eq(stored.as_bytes())) => Ok(()),
        _ => Err(EsignetError::InvalidRequest),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::client::ClientName;
    use serde_json::json;

    fn sample() -> OAuthDetailsResponse {
        let configs = json!({"sbi.env": "Developer", "resend.otp.delay.secs": 180, "send.otp.channels": "email,phone"});
        let Value::Object(base) = configs else {
            unreachable!()
        };
        OAuthDetailsResponse {
            transaction_id: TransactionId::new("tx1"),
            client_name: ClientName::from_stored(r#"{"@none":"Portail santé","ara":"بوابة"}"#),
            logo_url: Some("https://rp.test/logo.png".into()),
            auth_factors: vec![vec![AuthFactor {
                factor_type: "OTP".into(),
                count: 0,
                sub_types: None,
            }]],
            authorize_scopes: vec![],
            essential_claims: vec!["name".into()],
            voluntary_claims: vec!["email".into()],
            configs: ui_configs(
                &base,
                &json!({"require_pkce": true, "purpose": {"type": "login"}}),
            ),
            redirect_uri: "https://rp.test/cb".into(),
            credential_scopes: vec![],
        }
    }

    const EXPECTED: &str = concat!(
        r#"{"transactionId":"tx1","clientName":{"@none":"Portail santé","ara":"بوابة"},"#,
        r#""logoUrl":"https://rp.test/logo.png","authFactors":[[{"type":"OTP","count":0,"subTypes":null}]],"#,
        r#""authorizeScopes":[],"essentialClaims":["name"],"voluntaryClaims":["email"],"#,
        r#""configs":{"clientAdditionalConfig":{"purpose":{"type":"login"},"require_pkce":true},"#,
        r#""resend.otp.delay.secs":180,"sbi.env":"Developer","send.otp.channels":"email,phone"},"#,
        r#""redirectUri":"https://rp.test/cb","credentialScopes":[]}"#
    );

    #[test]
    fn fixed_order_compact_unescaped() {
        let text = sample().to_json().unwrap();
        assert_eq!(text, EXPECTED);
        assert!(!text.contains("\\/") && !text.contains("\\u"));
    }

    #[test]
    fn hash_is_sha256_of_exact_bytes() {
        let text = sample().to_json().unwrap();
        let h = oauth_details_hash(text.as_bytes());
        // Independently computed: python3 -c 'import hashlib,base64;
        //   print(base64.urlsafe_b64encode(hashlib.sha256(EXPECTED.encode()).digest()).rstrip(b"="))'
        assert_eq!(h, "b5R-p-aaib8G6LKjqnOtU0wa6D_LD43GhaLj94863fc");
        assert_eq!(check_oauth_details_hash(&h, Some(&h)), Ok(()));
        assert_eq!(
            check_oauth_details_hash(&h, Some("x")),
            Err(EsignetError::InvalidRequest)
        );
        assert_eq!(
            check_oauth_details_hash(&h, None),
            Err(EsignetError::InvalidRequest)
        );
    }

    #[test]
    fn v1_shape_has_string_name_and_no_credential_scopes() {
        let text = sample().to_json_v1().unwrap();
        let expected = EXPECTED
            .replace(
                r#"{"@none":"Portail santé","ara":"بوابة"}"#,
                r#""Portail santé""#,
            )
            .replace(r#","credentialScopes":[]"#, "");
        assert_eq!(text, expected);
        let mut r = sample();
        r.client_name = ClientName::from_stored(r#"{"eng":"Only English"}"#);
        assert!(r.to_json_v1().unwrap().contains(r#""clientName":null,"#));
    }

    #[test]
    fn float_config_is_refused() {
        let mut r = sample();
        r.configs.insert("ratio".into(), json!(0.5));
        assert_eq!(r.to_json(), Err(EsignetError::FailedToGenerateHeaderHash));
        r.auth_factors = vec![
            vec![AuthFactor {
                factor_type: "BIO".into(),
                count: 1,
                sub_types: Some(vec!["FACE".into(), "IRIS".into()]),
            }],
            vec![],
        ];
        r.logo_url = None;
        r.configs.remove("ratio");
        let text = r.to_json().unwrap();
        assert!(text.contains(r#""logoUrl":null,"authFactors":[[{"type":"BIO","count":1,"subTypes":["FACE","IRIS"]}],[]],"#), "{text}");
    }
}
