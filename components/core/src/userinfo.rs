//! What the token endpoint keeps for userinfo, and the rules that turn an identity system's KYC answer into
//! the userinfo response (reference §3.10, case ES-11).
//!
//! - The grant is stored under `userinfo:<access-token hash>` (hash = base64url(SHA-256(access token))) for the
//!   access token's lifetime, as [`UserinfoGrant`]: the client, the subject, the final userinfo JWT (compact
//!   JWS, or JWE for a JWE client) and the accepted claims. Deleting the entry revokes the token (ES-08).
//! - KYC shapes ([`classify_kyc`]): 5 segments → a JWE, passed through unchanged; 3 segments → a JWS; anything
//!   else must be base64/base64url JSON claims. A JWS is passed through only when [`kyc_jws_passes`]: header
//!   `alg` is an advertised userinfo signing algorithm (RS256 or ES256: the identity system chooses), `kid` is set (the identity system's keys are in our JWKS), no
//!   `crit`, and the payload has `iss` = our issuer, `aud` = the client id and `sub` = the PSUT. Otherwise its
//!   claims (or the plain claims) are re-signed by us with `iss`/`aud`/`sub` forced
//!   ([`crate::tokens::userinfo_claims`]).
//! - Access tokens are checked after the host verified our signature ([`check_access_token`]): `typ` is
//!   `at+jwt` (so an ID token is never accepted), `iss` is ours, `exp` is in the future, `sub` and `client_id`
//!   are strings. Every failure is `invalid_token`.

use base64::engine::general_purpose::{STANDARD_NO_PAD, URL_SAFE_NO_PAD};
use base64::Engine;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::discovery::USERINFO_SIGNING_ALGS;
use crate::error::EsignetError;
use crate::hashing::sha256_b64url;
use crate::transaction::OidcTransaction;

/// The JWS `typ` of access tokens (RFC 9068).
pub const ACCESS_TOKEN_TYP: &str = "at+jwt";

/// The hash the userinfo grant is stored under.
pub fn access_token_hash(access_token: &str) -> String {
    sha256_b64url(access_token.as_bytes())
}

/// The `userinfo:<hash>` cache value.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UserinfoGrant {
    /// The client the access token was issued to.
    pub client_id: String,
    /// The PSUT (`sub`).
    pub sub: String,
    /// The transaction, for audit.
    pub transaction_id: String,
    /// The userinfo response body: a compact JWS or JWE.
    pub userinfo: String,
    /// Claims the user accepted.
    #[serde(default)]
    pub accepted_claims: Vec<String>,
}

impl std::fmt::Debug for UserinfoGrant {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UserinfoGrant")
            .field("client_id", &self.client_id)
            .field("transaction_id", &self.transaction_id)
            .finish_non_exhaustive()
    }
}

/// What an identity system's `encrypted-kyc` is.
#[derive(Debug, Clone, PartialEq)]
pub enum KycForm {
    /// A compact JWE, returned as is.
    Jwe,
    /// A compact JWS, its header and payload decoded (not verified: it came from our own plugin).
    Jws {
        /// Protected header.
        header: Map<String, Value>,
        /// Claims.
        payload: Map<String, Value>,
    },
    /// Plain claims (base64 or base64url JSON).
    Claims(Map<String, Value>),
}

fn decode_b64_any(s: &str) -> Option<Vec<u8>> {
    let s = s.trim().trim_end_matches('=');
    URL_SAFE_NO_PAD
        .decode(s)
        .or_else(|_| STANDARD_NO_PAD.decode(s))
        .ok()
}

fn json_object(bytes: &[u8]) -> Option<Map<String, Value>> {
    match serde_json::from_slice(bytes).ok()? {
        Value::Object(m) => Some(m),
        _ => None,
    }
}

/// Classifies `kyc` (see the module docs); `data_exchange_failed` when it is none of the three.
pub fn classify_kyc(kyc: &str) -> Result<KycForm, EsignetError> {
    let parts: Vec<&str> = kyc.trim().split('.').collect();
    let bad = EsignetError::DataExchangeFailed;
    match parts.as_slice() {
        [_, _, _, _, _] => Ok(KycForm::Jwe),
        [h, p, _] => {
            let header = URL_SAFE_NO_PAD
                .decode(h)
                .ok()
                .and_then(|b| json_object(&b))
                .ok_or(bad)?;
            let payload = URL_SAFE_NO_PAD
                .decode(p)
                .ok()
                .and_then(|b| json_object(&b))
                .ok_or(bad)?;
            Ok(KycForm::Jws { header, payload })
        }
        [single] => decode_b64_any(single)
            .and_then(|b| json_object(&b))
            .map(KycForm::Claims)
            .ok_or(bad),
        _ => Err(bad),
    }
}

/// Whether an identity system's JWS may be passed through as our userinfo response (module docs).
pub fn kyc_jws_passes(
    header: &Map<String, Value>,
    payload: &Map<String, Value>,
    issuer: &str,
    client_id: &str,
    sub: &str,
) -> bool {
    let h = |k: &str| header.get(k).and_then(Value::as_str);
    let p = |k: &str| payload.get(k).and_then(Value::as_str);
    let aud_ok = match payload.get("aud") {
        Some(Value::String(a)) => a == client_id,
        Some(Value::Array(list)) => list.len() == 1 && list[0].as_str() == Some(client_id),
        _ => false,
    };
    h("alg").is_some_and(|a| USERINFO_SIGNING_ALGS.contains(&a))
        && h("kid").is_some_and(|k| !k.is_empty())
        && !header.contains_key("crit")
        && p("iss") == Some(issuer)
        && p("sub") == Some(sub)
        && aud_ok
}

/// The identity claims of an access token that passed [`check_access_token`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccessTokenView {
    /// PSUT.
    pub sub: String,
    /// Client.
    pub client_id: String,
}

/// Checks an access token's verified header and payload (module docs); `invalid_token` otherwise.
pub fn check_access_token(
    header: &Value,
    payload: &Value,
    issuer: &str,
    now: i64,
) -> Result<AccessTokenView, EsignetError> {
    let bad = EsignetError::InvalidToken;
    let typ = header.get("typ").and_then(Value::as_str).unwrap_or("");
    let typ_ok = typ.eq_ignore_ascii_case(ACCESS_TOKEN_TYP)
        || typ.eq_ignore_ascii_case("application/at+jwt");
    let s = |k: &str| {
        payload
            .get(k)
            .and_then(Value::as_str)
            .filter(|v| !v.is_empty())
    };
    let exp = payload.get("exp").and_then(Value::as_i64).ok_or(bad)?;
    if !typ_ok || s("iss") != Some(issuer) || exp <= now {
        return Err(bad);
    }
    Ok(AccessTokenView {
        sub: s("sub").ok_or(bad)?.to_owned(),
        client_id: s("client_id").ok_or(bad)?.to_owned(),
    })
}

/// The scopes an access token carries: `openid` (every non-credential transaction required it, see
/// [`crate::authorize::parse_scope`]) followed by the permitted authorize/credential scopes.
pub fn granted_scopes(tx: &OidcTransaction) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    if tx.requested_credential_scopes.is_empty() {
        out.push("openid".to_owned());
    }
    for s in &tx.permitted_scopes {
        if !out.contains(s) {
            out.push(s.clone());
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hashing::b64url;
    use serde_json::json;

    const ISS: &str = "https://op.test/v1/esignet";

    fn obj(v: Value) -> Map<String, Value> {
        match v {
            Value::Object(m) => m,
            _ => Map::new(),
        }
    }

    #[test]
    fn classifies_kyc_shapes() {
        assert_eq!(classify_kyc("a.b.c.d.e"), Ok(KycForm::Jwe));
        let jws = format!(
            "{}.{}.sig",
            b64url(br#"{"alg":"RS256"}"#),
            b64url(br#"{"sub":"p"}"#)
        );
        match classify_kyc(&jws).unwrap() {
            KycForm::Jws { header, payload } => {
                assert_eq!(header["alg"], "RS256");
                assert_eq!(payload["sub"], "p");
            }
            other => panic!("{other:?}"),
        }
        let std_b64 = base64::engine::general_purpose::STANDARD.encode(br#"{"name":"A?>"}"#);
        assert_eq!(
            classify_kyc(&std_b64),
            Ok(KycForm::Claims(obj(json!({"name": "A?>"}))))
        );
        assert_eq!(
            classify_kyc(&b64url(br#"{"n":1}"#)),
            Ok(KycForm::Claims(obj(json!({"n": 1}))))
        );
        for bad in ["", "a.b", "!!!", &b64url(b"[1]"), "x.y.z"] {
            assert_eq!(
                classify_kyc(bad),
                Err(EsignetError::DataExchangeFailed),
                "{bad}"
            );
        }
    }

    #[test]
    fn jws_pass_through_rule() {
        let header = obj(json!({"alg": "RS256", "kid": "k1"}));
        let payload = obj(json!({"iss": ISS, "aud": "client-a", "sub": "psut", "name": "A"}));
        assert!(kyc_jws_passes(&header, &payload, ISS, "client-a", "psut"));
        let mut arr = payload.clone();
        arr.insert("aud".into(), json!(["client-a"]));
        assert!(kyc_jws_passes(&header, &arr, ISS, "client-a", "psut"));
        assert!(!kyc_jws_passes(&header, &payload, ISS, "client-a", "other"));
        assert!(!kyc_jws_passes(&header, &payload, ISS, "partner-1", "psut"));
        assert!(!kyc_jws_passes(
            &header,
            &payload,
            "https://idsystem",
            "client-a",
            "psut"
        ));
        let es256 = obj(json!({"alg": "ES256", "kid": "k2"}));
        assert!(kyc_jws_passes(&es256, &payload, ISS, "client-a", "psut"));
        assert!(!kyc_jws_passes(
            &obj(json!({"alg": "HS256", "kid": "k1"})),
            &payload,
            ISS,
            "client-a",
            "psut"
        ));
        assert!(!kyc_jws_passes(
            &obj(json!({"alg": "PS256", "kid": "k1"})),
            &payload,
            ISS,
            "client-a",
            "psut"
        ));
        assert!(!kyc_jws_passes(
            &obj(json!({"alg": "RS256"})),
            &payload,
            ISS,
            "client-a",
            "psut"
        ));
        assert!(!kyc_jws_passes(
            &obj(json!({"alg": "RS256", "kid": "k", "crit": ["b64"]})),
            &payload,
            ISS,
            "client-a",
            "psut"
        ));
    }

    #[test]
    fn access_token_checks() {
        let h = json!({"alg": "RS256", "typ": "at+jwt", "kid": "k"});
        let p = json!({"iss": ISS, "sub": "psut", "aud": "c", "client_id": "c", "exp": 200, "iat": 100});
        assert_eq!(
            check_access_token(&h, &p, ISS, 150),
            Ok(AccessTokenView {
                sub: "psut".into(),
                client_id: "c".into()
            })
        );
        assert_eq!(
            check_access_token(&h, &p, ISS, 200),
            Err(EsignetError::InvalidToken)
        );
        assert_eq!(
            check_access_token(&json!({"typ": "JWT"}), &p, ISS, 150),
            Err(EsignetError::InvalidToken)
        );
        assert_eq!(
            check_access_token(&h, &p, "https://other", 150),
            Err(EsignetError::InvalidToken)
        );
        let mut no_client = p.clone();
        no_client.as_object_mut().unwrap().remove("client_id");
        assert_eq!(
            check_access_token(&h, &no_client, ISS, 150),
            Err(EsignetError::InvalidToken)
        );
    }

    #[test]
    fn grant_round_trip_and_hash() {
        let g = UserinfoGrant {
            client_id: "c".into(),
            sub: "s".into(),
            transaction_id: "t".into(),
            userinfo: "secret.jws.value".into(),
            accepted_claims: vec!["name".into()],
        };
        let back: UserinfoGrant =
            serde_json::from_str(&serde_json::to_string(&g).unwrap()).unwrap();
        assert_eq!(back, g);
        assert!(!format!("{g:?}").contains("secret"));
        assert_eq!(
            access_token_hash("abc"),
            "ungWv48Bz-pBQUDeXa4iI7ADYaOWF3qctBD_YfIAFa0"
        );
    }

    #[test]
    fn scopes_granted() {
        let mut tx: OidcTransaction = serde_json::from_value(json!({
            "transactionId": "t", "clientId": "c", "relyingPartyId": "rp", "redirectUri": "https://rp.test/cb",
            "authTransactionId": "a", "permittedScopes": ["Manage-VID", "openid"]
        }))
        .unwrap();
        assert_eq!(granted_scopes(&tx), vec!["openid", "Manage-VID"]);
        tx.requested_credential_scopes = vec!["mosip_identity_vc_sd_jwt".into()];
        tx.permitted_scopes = vec!["mosip_identity_vc_sd_jwt".into()];
        assert_eq!(granted_scopes(&tx), vec!["mosip_identity_vc_sd_jwt"]);
    }
}
