//! Issuing tokens for a redeemed code (reference §3.8, §3.10): the KYC exchange with the identity system, the
//! userinfo response, the access token and the ID token, and the `userinfo:` grant. A transaction of credential
//! scopes is issued by [`crate::credential`] instead.
//!
//! - KYC exchange: `authenticator.kyc-exchange(rp_id, client_id, {transaction-id: the auth transaction id,
//!   kyc-token, individual-id: "" (the transaction keeps only its hash), accepted-claims, claims-locales,
//!   user-info-response-type, accepted-claim-details})`. Plugin errors: see [`crate::reply::Failure::plugin`].
//! - Lifetime: `access_token_ttl_secs` (3600 s), shortened to the consent's expiry (`consent_detail.expire_dtimes` of this client and
//!   subject; if that cannot be read, `auth_time` + the client's `consent_expire_in_mins`). A consent that has
//!   already expired gives `invalid_grant`.
//! - Access token: a JWS with `typ: at+jwt` (RFC 9068) signed with `oidc-access-token` (ES256); claims from
//!   `esignet_core::tokens::access_token_claims` (`scope` = `openid` + permitted scopes, `jti` random).
//! - ID token (only when `openid` was granted): signed with `oidc-service` (RS256 by default);
//!   `esignet_core::tokens::id_token_claims` with `acr` = the requested ACRs the factors used satisfy,
//!   `at_hash` for the ID token's own algorithm (OIDC Core §3.1.3.6), `nonce` when sent.
//! - Userinfo: the plugin's JWS passes through when it already carries our `iss`, the client as `aud` and the
//!   PSUT as `sub` (an advertised userinfo algorithm, with a `kid`); otherwise its claims are re-signed by us
//!   with `oidc-service` and those three forced. A
//!   plugin JWE passes through. A client registered for JWE gets the JWS wrapped in a JWE (RSA-OAEP-256,
//!   A256GCM, `cty: JWT`) to its `enc_public_key`; without one, `invalid_public_key`.

use std::collections::BTreeMap;

use esignet_core::claims::AmrAcrMapping;
use esignet_core::client::{ClientDetail, UserinfoResponseType};
use esignet_core::consent::consent_expires_at;
use esignet_core::discovery::{USERINFO_ENC_ALG, USERINFO_ENC_ENC};
use esignet_core::ids::new_jti;
use esignet_core::random::OsRandom;
use esignet_core::tokens::{
    access_token_claims, capped_lifetime, id_token_claims, userinfo_claims, IdTokenInput,
    TokenResponse, TOKEN_TYPE_BEARER,
};
use esignet_core::transaction::OidcTransaction;
use esignet_core::userinfo::{
    access_token_hash, classify_kyc, granted_scopes, kyc_jws_passes, KycForm, UserinfoGrant,
    ACCESS_TOKEN_TYP,
};
use esignet_core::EsignetError;
use esignet_sdk::audit::{self, Level};
use esignet_sdk::authenticator::{self, KycExchangeRequest};
use esignet_sdk::{cache, keys, sql};
use serde::Serialize;
use serde_json::{json, Map, Value};

use crate::metadata::{OIDC_ACCESS_TOKEN, OIDC_SERVICE};
use crate::reply::Failure;
use crate::settings::Settings;

const CONSENT_EXPIRY_SQL: &str =
    "SELECT expire_dtimes FROM consent_detail WHERE client_id = $1 AND psu_token = $2";

/// What the token endpoint answers, and the key its grant was stored under.
pub struct Issued {
    /// The token response.
    pub response: TokenResponse,
    /// base64url(SHA-256(access token)).
    pub access_token_hash: String,
}

/// Issues tokens for the transaction `tx` of `client`.
pub fn issue(
    tx: &OidcTransaction,
    client: &ClientDetail,
    settings: &Settings,
    now: i64,
) -> Result<Issued, Failure> {
    if !tx.requested_credential_scopes.is_empty() {
        return crate::credential::issue(tx, client, settings, now);
    }
    let e = &settings.endpoints;
    let (Some(psut), Some(kyc_token)) = (tx.psut.as_deref(), tx.kyc_token.as_ref()) else {
        return Err(EsignetError::InvalidGrant.into());
    };
    let lifetime = grant_lifetime(tx, psut, settings.token_lifetime_secs(), now)?;
    let request = KycExchangeRequest {
        transaction_id: tx.auth_transaction_id.as_str().to_owned(),
        kyc_token: kyc_token.as_str().to_owned(),
        individual_id: String::new(),
        accepted_claims: tx.accepted_claims.clone(),
        claims_locales: tx.claims_locales.clone(),
        user_info_response_type: response_type_name(tx.userinfo_response_type).to_owned(),
        accepted_claim_details: accepted_claim_details(tx),
    };
    let kyc = exchange(tx, &request)?;
    let userinfo = userinfo_body(&kyc, tx, client, &e.issuer, psut, now)?;
    let scopes = granted_scopes(tx);
    let jti = new_jti(&mut OsRandom).map_err(|_| Failure::Fault)?;
    let at = access_token_claims(
        &e.issuer,
        psut,
        client.id.as_str(),
        &scopes,
        now,
        lifetime,
        jti,
        None,
    );
    let access_token = sign(OIDC_ACCESS_TOKEN, &json!({ "typ": ACCESS_TOKEN_TYP }), &at)?;
    let id_token = if scopes.iter().any(|s| s == "openid") {
        Some(id_token(tx, &e.issuer, psut, now, lifetime, &access_token)?)
    } else {
        None
    };
    let at_hash = access_token_hash(&access_token);
    let grant = UserinfoGrant {
        client_id: client.id.as_str().to_owned(),
        sub: psut.to_owned(),
        transaction_id: tx.transaction_id.as_str().to_owned(),
        userinfo,
        accepted_claims: tx.accepted_claims.clone(),
    };
    let grant_json = serde_json::to_vec(&grant).map_err(|_| Failure::Fault)?;
    let ttl_ms = u64::try_from(lifetime).unwrap_or(0).saturating_mul(1000);
    cache::set(&format!("userinfo:{at_hash}"), &grant_json, ttl_ms)
        .map_err(|e| Failure::capability(&e))?;
    Ok(Issued {
        response: TokenResponse {
            access_token,
            token_type: TOKEN_TYPE_BEARER.to_owned(),
            expires_in: lifetime,
            id_token,
            c_nonce: None,
            c_nonce_expires_in: None,
        },
        access_token_hash: at_hash,
    })
}

/// The consent's expiry (epoch seconds), `None` when it never expires.
fn consent_expiry(tx: &OidcTransaction, psut: &str, now: i64) -> Option<i64> {
    let fallback = || consent_expires_at(tx.auth_time.unwrap_or(now), tx.consent_expire_minutes);
    let params = [
        sql::Value::Text(tx.client_id.as_str().to_owned()),
        sql::Value::Text(psut.to_owned()),
    ];
    match sql::query(CONSENT_EXPIRY_SQL, &params) {
        Ok(rows) if !rows.rows.is_empty() => match rows.get(0, "expire_dtimes") {
            Some(sql::Value::Integer(t)) => Some(*t),
            Some(sql::Value::Null) | None => None,
            Some(sql::Value::Text(t)) => t.trim().parse().ok().or_else(fallback),
            Some(_) => fallback(),
        },
        Ok(_) => fallback(),
        Err(_) => {
            audit::log(
                Level::Warn,
                "consent expiry unreadable; using the client's consent lifetime",
            );
            fallback()
        }
    }
}

/// The accepted claims' requested details, as a JSON object, when there are any.
fn accepted_claim_details(tx: &OidcTransaction) -> Option<String> {
    let details: BTreeMap<&String, &Vec<_>> = tx
        .requested_claim_details
        .iter()
        .filter(|(claim, list)| !list.is_empty() && tx.accepted_claims.contains(claim))
        .collect();
    (!details.is_empty())
        .then(|| serde_json::to_string(&details).ok())
        .flatten()
}

/// A token's lifetime: `default_secs`, capped by the user's consent; a consent already expired is `invalid_grant`.
pub(crate) fn grant_lifetime(
    tx: &OidcTransaction,
    psut: &str,
    default_secs: i64,
    now: i64,
) -> Result<i64, Failure> {
    let lifetime = capped_lifetime(default_secs, now, consent_expiry(tx, psut, now));
    if lifetime <= 0 {
        return Err(EsignetError::InvalidGrant.into());
    }
    Ok(lifetime)
}

fn response_type_name(t: UserinfoResponseType) -> &'static str {
    match t {
        UserinfoResponseType::Jws => "JWS",
        UserinfoResponseType::Jwe => "JWE",
    }
}

/// The identity system's `encrypted-kyc` for `request`.
pub(crate) fn exchange(
    tx: &OidcTransaction,
    request: &KycExchangeRequest,
) -> Result<String, Failure> {
    authenticator::kyc_exchange(&tx.relying_party_id, tx.client_id.as_str(), request)
        .map(|r| r.encrypted_kyc)
        .map_err(|e| {
            audit::log(Level::Warn, "kyc exchange failed");
            Failure::plugin(&e.error_code)
        })
}

/// Signs `claims` with the key of `purpose` under `header`.
pub(crate) fn sign<T: Serialize>(
    purpose: &str,
    header: &Value,
    claims: &T,
) -> Result<String, Failure> {
    let payload = serde_json::to_vec(claims).map_err(|_| Failure::Fault)?;
    keys::sign_jws(purpose, &header.to_string(), &payload).map_err(|e| {
        audit::log(Level::Error, "signing failed");
        Failure::capability(&e)
    })
}

/// The algorithm ID tokens are signed with: that of the current `oidc-service` key (the grant in `spin.toml`).
fn id_token_alg() -> Result<String, Failure> {
    keys::current_key(OIDC_SERVICE)
        .map(|k| k.alg)
        .map_err(|e| {
            audit::log(Level::Error, "the ID token key is unavailable");
            Failure::capability(&e)
        })
}

fn id_token(
    tx: &OidcTransaction,
    issuer: &str,
    psut: &str,
    now: i64,
    lifetime: i64,
    access_token: &str,
) -> Result<String, Failure> {
    let alg = id_token_alg()?;
    let mapping = AmrAcrMapping::default_mapping().map_err(|_| Failure::Fault)?;
    let acrs = mapping.satisfied_acrs(&tx.acr_values, &tx.provided_auth_factors);
    let claims = id_token_claims(&IdTokenInput {
        issuer,
        subject: psut,
        client_id: tx.client_id.as_str(),
        now,
        lifetime_secs: lifetime,
        auth_time: tx.auth_time,
        nonce: tx.nonce.as_deref(),
        satisfied_acrs: &acrs,
        access_token: Some((access_token, &alg)),
    })?;
    sign(OIDC_SERVICE, &json!({ "typ": "JWT" }), &claims)
}

/// The userinfo response body for this grant (module docs).
fn userinfo_body(
    kyc: &str,
    tx: &OidcTransaction,
    client: &ClientDetail,
    issuer: &str,
    sub: &str,
    now: i64,
) -> Result<String, Failure> {
    let client_id = client.id.as_str();
    let jws = match classify_kyc(kyc)? {
        KycForm::Jwe => return Ok(kyc.trim().to_owned()),
        KycForm::Jws { header, payload }
            if kyc_jws_passes(&header, &payload, issuer, client_id, sub) =>
        {
            kyc.trim().to_owned()
        }
        KycForm::Jws { payload, .. } | KycForm::Claims(payload) => {
            resign(&payload, issuer, client_id, sub, now)?
        }
    };
    if tx.userinfo_response_type != UserinfoResponseType::Jwe {
        return Ok(jws);
    }
    let key = client
        .enc_public_key
        .as_ref()
        .filter(|k| k.is_object())
        .ok_or(EsignetError::InvalidPublicKey)?;
    keys::jwe_encrypt(
        &key.to_string(),
        USERINFO_ENC_ALG,
        USERINFO_ENC_ENC,
        jws.as_bytes(),
        Some("JWT"),
    )
    .map_err(|e| {
        audit::log(
            Level::Warn,
            "userinfo encryption to the client's key failed",
        );
        if esignet_sdk::CapabilityError::is_unavailable(&e) {
            Failure::Unavailable
        } else {
            Failure::Oauth(EsignetError::InvalidPublicKey)
        }
    })
}

fn resign(
    payload: &Map<String, Value>,
    issuer: &str,
    client_id: &str,
    sub: &str,
    now: i64,
) -> Result<String, Failure> {
    let mut claims = userinfo_claims(issuer, client_id, sub, payload);
    claims.entry("iat").or_insert(Value::from(now));
    sign(OIDC_SERVICE, &json!({ "typ": "JWT" }), &claims)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tx() -> OidcTransaction {
        serde_json::from_value(json!({
            "transactionId": "t", "clientId": "c", "relyingPartyId": "rp", "redirectUri": "https://rp.test/cb",
            "authTransactionId": "a", "acceptedClaims": ["name", "email"],
            "requestedClaimDetails": {"name": [{"essential": true}], "phone_number": [{"essential": false}]}
        }))
        .unwrap()
    }

    #[test]
    fn claim_details_only_for_accepted_claims() {
        assert_eq!(
            accepted_claim_details(&tx()).as_deref(),
            Some(r#"{"name":[{"essential":true}]}"#)
        );
        let mut t = tx();
        t.accepted_claims.clear();
        assert_eq!(accepted_claim_details(&t), None);
    }

    #[test]
    fn response_type_names() {
        assert_eq!(response_type_name(UserinfoResponseType::Jws), "JWS");
        assert_eq!(response_type_name(UserinfoResponseType::Jwe), "JWE");
    }
}
