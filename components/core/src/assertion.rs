//! Client authentication by `private_key_jwt` (reference §3.9; ES-01, ES-02, ES-04): the claim checks made
//! after the host's `keys.verify-jws` has verified the signature with the client's registered JWK.
//!
//! Every failure is `invalid_client` (RFC 7523 §3.2). Rules, with `leeway` = 5 s and `max_lifetime` = 300 s
//! by default:
//! - `client_assertion_type` is `urn:ietf:params:oauth:client-assertion-type:jwt-bearer` and an assertion is
//!   present; a form `client_id`, when sent, equals the authenticated client (ES-04 b);
//! - header `alg` ∈ {RS256, PS256, ES256};
//! - `iss` = `sub` = client_id; `aud` (string or array) contains one of the endpoint's allowed audiences;
//! - `exp` required and `exp > now − leeway` (ES-02 d);
//! - `iat` required and `iat ≤ now + leeway` (ES-02 a: a far-future `iat` is refused); `nbf`, if present,
//!   `≤ now + leeway` (ES-02 c: a client clock a few seconds fast is accepted);
//! - `exp > iat` and `exp − iat ≤ max_lifetime + leeway` (ES-02 b: a 24 h assertion is refused);
//! - `jti` a non-empty string.
//!
//! The caller must then store `(client_id, jti)` single-use until [`AcceptedAssertion::retain_until`]
//! (= `exp + leeway`), atomically and shared by the PAR and token endpoints (ES-01). Because the lifetime is
//! bounded, that store stays small. The FAPI 2.0 profile uses [`AssertionConfig::fapi2`] (10 s leeway).

use serde_json::Value;

use crate::error::EsignetError;
use crate::hashing::b64url_decode;

/// The only supported `client_assertion_type`.
pub const JWT_BEARER_ASSERTION_TYPE: &str =
    "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/// Signature algorithms accepted for client assertions.
pub const SUPPORTED_ALGS: [&str; 3] = ["RS256", "PS256", "ES256"];

/// Time rules for assertions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AssertionConfig {
    /// Clock skew tolerated, seconds.
    pub leeway_secs: i64,
    /// Longest `exp − iat` accepted (plus leeway), seconds.
    pub max_lifetime_secs: i64,
}

impl Default for AssertionConfig {
    fn default() -> Self {
        AssertionConfig {
            leeway_secs: 5,
            max_lifetime_secs: 300,
        }
    }
}

impl AssertionConfig {
    /// FAPI 2.0 Security Profile §5.3.2.1: `iat`/`nbf` up to 10 s in the future accepted.
    pub fn fapi2() -> Self {
        AssertionConfig {
            leeway_secs: 10,
            max_lifetime_secs: 300,
        }
    }
}

/// A client assertion whose claims passed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AcceptedAssertion {
    /// The `jti`, to be recorded single-use.
    pub jti: String,
    /// The `exp`.
    pub exp: i64,
    /// Keep the `jti` until this instant (epoch seconds): `exp + leeway`.
    pub retain_until: i64,
}

/// `invalid_client` unless the type is the JWT-bearer type (ES-04 c) and an assertion is present (ES-04 a).
pub fn check_assertion_params<'a>(
    assertion_type: Option<&str>,
    assertion: Option<&'a str>,
) -> Result<&'a str, EsignetError> {
    if assertion_type != Some(JWT_BEARER_ASSERTION_TYPE) {
        return Err(EsignetError::InvalidClient);
    }
    assertion
        .filter(|a| !a.is_empty())
        .ok_or(EsignetError::InvalidClient)
}

/// `invalid_client` when a form `client_id` is sent and differs from the authenticated client (ES-04 b).
pub fn check_client_id_param(
    form_client_id: Option<&str>,
    authenticated: &str,
) -> Result<(), EsignetError> {
    match form_client_id {
        Some(c) if !c.is_empty() && c != authenticated => Err(EsignetError::InvalidClient),
        _ => Ok(()),
    }
}

/// The `iss` of a compact JWS read **without** verification, only to find which client's key to verify with.
/// The claims must still pass [`validate_assertion_claims`] after verification.
pub fn unverified_issuer(assertion: &str) -> Result<String, EsignetError> {
    let mut parts = assertion.split('.');
    let (Some(_), Some(payload), Some(_), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(EsignetError::InvalidClient);
    };
    let bytes = b64url_decode(payload).ok_or(EsignetError::InvalidClient)?;
    let claims: Value = serde_json::from_slice(&bytes).map_err(|_| EsignetError::InvalidClient)?;
    claims
        .get("iss")
        .and_then(Value::as_str)
        .map(str::to_owned)
        .ok_or(EsignetError::InvalidClient)
}

fn numeric_date(payload: &Value, name: &str) -> Result<Option<i64>, EsignetError> {
    match payload.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) => {
            if let Some(i) = n.as_i64() {
                Ok(Some(i))
            } else {
                match n.as_f64() {
                    #[allow(clippy::cast_possible_truncation)]
                    Some(f) if f.is_finite() && f.abs() < 1e15 => Ok(Some(f.floor() as i64)),
                    _ => Err(EsignetError::InvalidClient),
                }
            }
        }
        Some(_) => Err(EsignetError::InvalidClient),
    }
}

fn audience_matches(aud: Option<&Value>, allowed: &[String]) -> bool {
    match aud {
        Some(Value::String(a)) => allowed.contains(a),
        Some(Value::Array(list)) => list
            .iter()
            .filter_map(Value::as_str)
            .any(|a| allowed.iter().any(|x| x == a)),
        _ => false,
    }
}

/// Checks the verified header and payload. See the module docs.
pub fn validate_assertion_claims(
    header: &Value,
    payload: &Value,
    client_id: &str,
    allowed_audiences: &[String],
    now: i64,
    config: &AssertionConfig,
) -> Result<AcceptedAssertion, EsignetError> {
    let bad = EsignetError::InvalidClient;
    let alg = header.get("alg").and_then(Value::as_str).ok_or(bad)?;
    if !SUPPORTED_ALGS.contains(&alg) {
        return Err(bad);
    }
    let claim = |name: &str| payload.get(name).and_then(Value::as_str);
    if client_id.is_empty() || claim("iss") != Some(client_id) || claim("sub") != Some(client_id) {
        return Err(bad);
    }
    if !audience_matches(payload.get("aud"), allowed_audiences) {
        return Err(bad);
    }
    let leeway = config.leeway_secs;
    let exp = numeric_date(payload, "exp")?.ok_or(bad)?;
    let iat = numeric_date(payload, "iat")?.ok_or(bad)?;
    if exp <= now.saturating_sub(leeway) || iat > now.saturating_add(leeway) {
        return Err(bad);
    }
    if numeric_date(payload, "nbf")?.is_some_and(|nbf| nbf > now.saturating_add(leeway)) {
        return Err(bad);
    }
    if exp <= iat || exp.saturating_sub(iat) > config.max_lifetime_secs.saturating_add(leeway) {
        return Err(bad);
    }
    let jti = claim("jti").filter(|j| !j.is_empty()).ok_or(bad)?;
    Ok(AcceptedAssertion {
        jti: jti.to_owned(),
        exp,
        retain_until: exp.saturating_add(leeway),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hashing::b64url;
    use serde_json::json;

    const NOW: i64 = 1_700_000_000;
    const ISSUER: &str = "https://esignet.test/v1/esignet";

    fn aud() -> Vec<String> {
        vec![ISSUER.to_owned(), format!("{ISSUER}/oauth/v2/token")]
    }

    fn payload(iat: i64, exp: i64) -> Value {
        json!({"iss": "client-a", "sub": "client-a", "aud": ISSUER, "iat": iat, "exp": exp, "jti": "j-1"})
    }

    fn check(p: &Value) -> Result<AcceptedAssertion, EsignetError> {
        validate_assertion_claims(
            &json!({"alg": "PS256", "kid": "k"}),
            p,
            "client-a",
            &aud(),
            NOW,
            &AssertionConfig::default(),
        )
    }

    #[test]
    fn accepts_a_normal_assertion_and_returns_jti() {
        let a = check(&payload(NOW, NOW + 60)).unwrap();
        assert_eq!(
            a,
            AcceptedAssertion {
                jti: "j-1".into(),
                exp: NOW + 60,
                retain_until: NOW + 65
            }
        );
        let mut arr = payload(NOW, NOW + 60);
        arr["aud"] = json!(["https://other", format!("{ISSUER}/oauth/v2/token")]);
        assert!(check(&arr).is_ok());
    }

    #[test]
    fn es02_time_window() {
        // (a) iat an hour ahead
        assert_eq!(
            check(&payload(NOW + 3600, NOW + 3660)),
            Err(EsignetError::InvalidClient)
        );
        assert_eq!(
            check(&payload(NOW + 6, NOW + 66)),
            Err(EsignetError::InvalidClient)
        );
        assert_eq!(
            check(&payload(NOW + 3600, NOW + 7200)),
            Err(EsignetError::InvalidClient)
        );
        // (b) 24 h lifetime
        assert_eq!(
            check(&payload(NOW, NOW + 86_400)),
            Err(EsignetError::InvalidClient)
        );
        // (c) RP clock 5 s fast
        let mut c = payload(NOW + 5, NOW + 65);
        c["nbf"] = json!(NOW + 5);
        assert!(check(&c).is_ok());
        // (d) expired two minutes ago
        assert_eq!(
            check(&payload(NOW - 300, NOW - 120)),
            Err(EsignetError::InvalidClient)
        );
        // boundaries
        assert!(check(&payload(NOW - 5, NOW + 300)).is_ok());
        assert_eq!(
            check(&payload(NOW - 10, NOW + 300)),
            Err(EsignetError::InvalidClient)
        );
        assert_eq!(
            check(&payload(NOW - 60, NOW - 5)),
            Err(EsignetError::InvalidClient)
        );
        assert!(check(&payload(NOW - 60, NOW - 4)).is_ok());
        let mut nbf = payload(NOW, NOW + 60);
        nbf["nbf"] = json!(NOW + 6);
        assert_eq!(check(&nbf), Err(EsignetError::InvalidClient));
        assert_eq!(check(&payload(NOW, NOW)), Err(EsignetError::InvalidClient));
        let fapi = validate_assertion_claims(
            &json!({"alg": "ES256"}),
            &payload(NOW + 10, NOW + 70),
            "client-a",
            &aud(),
            NOW,
            &AssertionConfig::fapi2(),
        );
        assert!(fapi.is_ok());
    }

    #[test]
    fn required_claims() {
        for key in ["exp", "iat", "jti", "iss", "sub", "aud"] {
            let mut p = payload(NOW, NOW + 60);
            p.as_object_mut().unwrap().remove(key);
            assert_eq!(check(&p), Err(EsignetError::InvalidClient), "{key}");
        }
        for (key, value) in [
            ("iss", json!("client-b")),
            ("sub", json!("client-b")),
            ("aud", json!("https://evil")),
            ("jti", json!("")),
            ("exp", json!("soon")),
        ] {
            let mut p = payload(NOW, NOW + 60);
            p[key] = value;
            assert_eq!(check(&p), Err(EsignetError::InvalidClient), "{key}");
        }
        let p = payload(NOW, NOW + 60);
        for alg in ["none", "HS256", "RS512"] {
            let r = validate_assertion_claims(
                &json!({"alg": alg}),
                &p,
                "client-a",
                &aud(),
                NOW,
                &AssertionConfig::default(),
            );
            assert_eq!(r, Err(EsignetError::InvalidClient), "{alg}");
        }
    }

    #[test]
    fn es04_params() {
        assert_eq!(
            check_assertion_params(Some(JWT_BEARER_ASSERTION_TYPE), Some("a.b.c")),
            Ok("a.b.c")
        );
        // (a) no assertion
        assert_eq!(
            check_assertion_params(None, None),
            Err(EsignetError::InvalidClient)
        );
        assert_eq!(
            check_assertion_params(Some(JWT_BEARER_ASSERTION_TYPE), None),
            Err(EsignetError::InvalidClient)
        );
        // (c) SAML bearer
        let saml = "urn:ietf:params:oauth:client-assertion-type:saml2-bearer";
        assert_eq!(
            check_assertion_params(Some(saml), Some("x")),
            Err(EsignetError::InvalidClient)
        );
        // (b) form client_id of another client
        assert_eq!(
            check_client_id_param(Some("client-b"), "client-a"),
            Err(EsignetError::InvalidClient)
        );
        assert_eq!(check_client_id_param(Some("client-a"), "client-a"), Ok(()));
        assert_eq!(check_client_id_param(None, "client-a"), Ok(()));
        assert_eq!(EsignetError::InvalidClient.oauth_error(), "invalid_client");
    }

    #[test]
    fn unverified_issuer_reads_payload() {
        let jws = format!(
            "{}.{}.sig",
            b64url(br#"{"alg":"PS256"}"#),
            b64url(br#"{"iss":"client-a"}"#)
        );
        assert_eq!(unverified_issuer(&jws).unwrap(), "client-a");
        assert_eq!(unverified_issuer("a.b"), Err(EsignetError::InvalidClient));
        assert_eq!(
            unverified_issuer("a.!!.c"),
            Err(EsignetError::InvalidClient)
        );
        assert_eq!(
            unverified_issuer(&format!("a.{}.c.d", b64url(b"{}"))),
            Err(EsignetError::InvalidClient)
        );
    }
}
