//! The raw authorization request, as received, before validation.
//!
//! Two sources share one type: the oauth-details / PAR JSON (camelCase members; `claims` an object, `maxAge` a
//! number) via serde, and the `/authorize` query or PAR form body (snake_case parameters; `claims` URL-encoded
//! JSON text, `max_age` text) via [`AuthorizeRequest::from_query`]. Per RFC 6749 §3.1 unknown parameters are
//! ignored, parameters without a value count as omitted, and a known parameter sent twice is recorded in
//! `duplicates` so validation can answer `invalid_request`.

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// An authorization request as received.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AuthorizeRequest {
    /// `client_id`.
    pub client_id: Option<String>,
    /// `scope` (space-separated).
    pub scope: Option<String>,
    /// `response_type`.
    pub response_type: Option<String>,
    /// `redirect_uri`.
    pub redirect_uri: Option<String>,
    /// `display`.
    pub display: Option<String>,
    /// `prompt` (space-separated).
    pub prompt: Option<String>,
    /// `nonce`.
    pub nonce: Option<String>,
    /// `state`.
    pub state: Option<String>,
    /// `acr_values` (space-separated).
    pub acr_values: Option<String>,
    /// `max_age`: a number (JSON) or text (query).
    pub max_age: Option<Value>,
    /// `claims`: an object (JSON), or the text of one (query; kept as a string if it is not JSON).
    pub claims: Option<Value>,
    /// `claims_locales` (space-separated).
    pub claims_locales: Option<String>,
    /// `ui_locales` (space-separated).
    pub ui_locales: Option<String>,
    /// `code_challenge`.
    pub code_challenge: Option<String>,
    /// `code_challenge_method`.
    pub code_challenge_method: Option<String>,
    /// `id_token_hint`.
    pub id_token_hint: Option<String>,
    /// `request_uri` (PAR reference).
    pub request_uri: Option<String>,
    /// `request` (JAR request object; not supported).
    pub request: Option<String>,
    /// `dpop_jkt`.
    pub dpop_jkt: Option<String>,
    /// Known parameters that appeared more than once (query/form only).
    #[serde(skip)]
    pub duplicates: Vec<String>,
}

impl AuthorizeRequest {
    /// Parses an `application/x-www-form-urlencoded` query or body.
    pub fn from_query(query: &str) -> Self {
        let mut req = AuthorizeRequest::default();
        for (name, value) in form_urlencoded::parse(query.as_bytes()) {
            if value.is_empty() {
                continue;
            }
            let value = value.into_owned();
            let slot: &mut Option<String> = match name.as_ref() {
                "client_id" => &mut req.client_id,
                "scope" => &mut req.scope,
                "response_type" => &mut req.response_type,
                "redirect_uri" => &mut req.redirect_uri,
                "display" => &mut req.display,
                "prompt" => &mut req.prompt,
                "nonce" => &mut req.nonce,
                "state" => &mut req.state,
                "acr_values" => &mut req.acr_values,
                "claims_locales" => &mut req.claims_locales,
                "ui_locales" => &mut req.ui_locales,
                "code_challenge" => &mut req.code_challenge,
                "code_challenge_method" => &mut req.code_challenge_method,
                "id_token_hint" => &mut req.id_token_hint,
                "request_uri" => &mut req.request_uri,
                "request" => &mut req.request,
                "dpop_jkt" => &mut req.dpop_jkt,
                "max_age" => {
                    set_value(
                        &mut req.max_age,
                        &mut req.duplicates,
                        "max_age",
                        Value::String(value),
                    );
                    continue;
                }
                "claims" => {
                    let parsed = serde_json::from_str(&value).unwrap_or(Value::String(value));
                    set_value(&mut req.claims, &mut req.duplicates, "claims", parsed);
                    continue;
                }
                _ => continue,
            };
            if slot.is_some() {
                req.duplicates.push(name.into_owned());
            } else {
                *slot = Some(value);
            }
        }
        req
    }
}

fn set_value(slot: &mut Option<Value>, duplicates: &mut Vec<String>, name: &str, value: Value) {
    if slot.is_some() {
        duplicates.push(name.to_owned());
    } else {
        *slot = Some(value);
    }
}

/// `Some(s)` only for a non-empty value (OIDC Core §3.1.2.1: empty parameters count as omitted).
pub(super) fn present(v: &Option<String>) -> Option<&str> {
    v.as_deref().filter(|s| !s.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn parses_query_ignoring_unknown_and_empty() {
        let q = "response_type=code&client_id=c1&redirect_uri=https%3A%2F%2Frp.test%2Fcb&scope=openid%20profile\
                 &state=s%2B1&nonce=&extra=foobar&max_age=60&claims=%7B%22userinfo%22%3A%7B%22email%22%3Anull%7D%7D";
        let r = AuthorizeRequest::from_query(q);
        assert_eq!(r.client_id.as_deref(), Some("c1"));
        assert_eq!(r.redirect_uri.as_deref(), Some("https://rp.test/cb"));
        assert_eq!(r.scope.as_deref(), Some("openid profile"));
        assert_eq!(r.state.as_deref(), Some("s+1"));
        assert_eq!(r.nonce, None);
        assert_eq!(r.max_age, Some(json!("60")));
        assert_eq!(r.claims, Some(json!({"userinfo": {"email": null}})));
        assert!(r.duplicates.is_empty());
    }

    #[test]
    fn records_duplicates_and_keeps_bad_claims_text() {
        let r = AuthorizeRequest::from_query("scope=openid&scope=profile&claims=%7Bbad");
        assert_eq!(r.scope.as_deref(), Some("openid"));
        assert_eq!(r.duplicates, vec!["scope".to_owned()]);
        assert_eq!(r.claims, Some(json!("{bad")));
    }

    #[test]
    fn deserializes_oauth_details_json() {
        let r: AuthorizeRequest = serde_json::from_value(json!({
            "clientId": "c1", "scope": "openid", "responseType": "code", "redirectUri": "https://rp.test/cb",
            "maxAge": 30, "claims": {"userinfo": {}}, "codeChallenge": "x", "codeChallengeMethod": "S256",
            "idTokenHint": "h", "unknown": 1
        }))
        .unwrap();
        assert_eq!(r.client_id.as_deref(), Some("c1"));
        assert_eq!(r.max_age, Some(json!(30)));
        assert_eq!(r.code_challenge_method.as_deref(), Some("S256"));
        assert_eq!(r.id_token_hint.as_deref(), Some("h"));
    }
}
