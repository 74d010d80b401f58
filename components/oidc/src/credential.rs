//! Tokens for a transaction of credential scopes (OpenID4VCI 1.0 §6 with the authorization code; the `vci`
//! component is the resource server). Contract in `esignet_core::credential` and `docs/design/login-flow.md`.
//!
//! Unlike an OpenID login: no ID token (credential scopes come without `openid`); the identity system's KYC
//! exchange is asked for the claims the credential configurations of the granted scopes need (the KYC token
//! can be exchanged once, so it is done here and its claims are kept for the credential endpoint under
//! `vci-grant:<access-token hash>`); the access token names the credential issuer (= our issuer) as `aud`,
//! lives at most 300 s ([`crate::settings::Settings::credential_token_lifetime_secs`]) and carries a
//! `c_nonce`, which the token response repeats for draft-13 wallets and which is stored in the same
//! single-use nonce store as the nonce endpoint's. A JWE KYC answer cannot be read here: `data_exchange_failed`.

use esignet_core::client::ClientDetail;
use esignet_core::credential::{
    grant_key, nonce_key, retained_claims, CredentialAccessTokenClaims, CredentialConfigs,
    CredentialGrant,
};
use esignet_core::ids::new_jti;
use esignet_core::random::OsRandom;
use esignet_core::tokens::{access_token_claims, TokenResponse, TOKEN_TYPE_BEARER};
use esignet_core::transaction::OidcTransaction;
use esignet_core::userinfo::{
    access_token_hash, classify_kyc, granted_scopes, KycForm, ACCESS_TOKEN_TYP,
};
use esignet_core::EsignetError;
use esignet_sdk::audit::{self, Level};
use esignet_sdk::authenticator::KycExchangeRequest;
use esignet_sdk::cache;
use serde_json::{json, Map, Value};

use crate::issue::{exchange, grant_lifetime, sign, Issued};
use crate::metadata::OIDC_ACCESS_TOKEN;
use crate::reply::Failure;
use crate::settings::Settings;

/// Issues a credential-scoped access token for `tx` (module docs).
pub fn issue(
    tx: &OidcTransaction,
    client: &ClientDetail,
    settings: &Settings,
    now: i64,
) -> Result<Issued, Failure> {
    let (Some(psut), Some(kyc_token)) = (tx.psut.as_deref(), tx.kyc_token.as_ref()) else {
        return Err(EsignetError::InvalidGrant.into());
    };
    let configs = CredentialConfigs::embedded().map_err(|e| {
        audit::log(
            Level::Error,
            &format!("credential configurations invalid: {e}"),
        );
        Failure::Fault
    })?;
    let scopes = credential_scopes(tx, &configs.scopes());
    if scopes.is_empty() {
        return Err(EsignetError::InvalidScope.into());
    }
    let lifetime = grant_lifetime(tx, psut, settings.credential_token_lifetime_secs(), now)?;
    let wanted = configs.kyc_claims_for(&scopes);
    let request = KycExchangeRequest {
        transaction_id: tx.auth_transaction_id.as_str().to_owned(),
        kyc_token: kyc_token.as_str().to_owned(),
        individual_id: String::new(),
        accepted_claims: wanted.clone(),
        claims_locales: tx.claims_locales.clone(),
        user_info_response_type: "JWS".to_owned(),
        accepted_claim_details: None,
    };
    let released = released_claims(&exchange(tx, &request)?).inspect_err(|_| {
        audit::log(Level::Warn, "credential KYC answer is not readable claims");
    })?;
    let c_nonce = new_jti(&mut OsRandom).map_err(|_| Failure::Fault)?;
    let nonce_ttl_ms = settings.c_nonce_ttl_secs.saturating_mul(1000);
    cache::set(&nonce_key(&c_nonce), b"1", nonce_ttl_ms).map_err(|e| Failure::capability(&e))?;
    let jti = new_jti(&mut OsRandom).map_err(|_| Failure::Fault)?;
    let issuer = &settings.endpoints.issuer;
    let base = access_token_claims(
        issuer,
        psut,
        client.id.as_str(),
        &scopes,
        now,
        lifetime,
        jti,
        None,
    );
    let claims =
        CredentialAccessTokenClaims::new(base, issuer, c_nonce.clone(), settings.c_nonce_ttl_secs);
    let access_token = sign(OIDC_ACCESS_TOKEN, &json!({ "typ": ACCESS_TOKEN_TYP }), &claims)?;
    let at_hash = access_token_hash(&access_token);
    let grant = CredentialGrant {
        client_id: client.id.as_str().to_owned(),
        sub: psut.to_owned(),
        transaction_id: tx.transaction_id.as_str().to_owned(),
        scopes,
        claims: retained_claims(&released, &wanted),
        claims_locales: tx.claims_locales.clone(),
        expires_at: now.saturating_add(lifetime),
    };
    let grant_json = serde_json::to_vec(&grant).map_err(|_| Failure::Fault)?;
    let ttl_ms = u64::try_from(lifetime).unwrap_or(0).saturating_mul(1000);
    cache::set(&grant_key(&at_hash), &grant_json, ttl_ms).map_err(|e| Failure::capability(&e))?;
    Ok(Issued {
        response: TokenResponse {
            access_token,
            token_type: TOKEN_TYPE_BEARER.to_owned(),
            expires_in: lifetime,
            id_token: None,
            c_nonce: Some(c_nonce),
            c_nonce_expires_in: Some(settings.c_nonce_ttl_secs),
        },
        access_token_hash: at_hash,
    })
}

/// The credential scopes granted: the requested ones are permitted without asking (eSignet's rule, also when
/// nothing else needed consent and the consent step was skipped), plus any permitted at consent; only scopes of
/// known configurations.
fn credential_scopes(tx: &OidcTransaction, known: &[String]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for s in tx
        .requested_credential_scopes
        .iter()
        .chain(granted_scopes(tx).iter())
    {
        if known.contains(s) && !out.contains(s) {
            out.push(s.clone());
        }
    }
    out
}

/// The claims of the identity system's answer: the payload of a JWS (it came from our own plugin through the
/// host) or plain claims; a JWE cannot be opened here.
fn released_claims(kyc: &str) -> Result<Map<String, Value>, Failure> {
    match classify_kyc(kyc)? {
        KycForm::Jws { payload, .. } | KycForm::Claims(payload) => Ok(payload),
        KycForm::Jwe => Err(EsignetError::DataExchangeFailed.into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use esignet_core::hashing::b64url;

    #[test]
    fn requested_credential_scopes_are_granted() {
        let mut tx: OidcTransaction = serde_json::from_value(serde_json::json!({
            "transactionId": "t", "clientId": "c", "relyingPartyId": "rp", "redirectUri": "https://rp.test/cb",
            "authTransactionId": "a", "requestedCredentialScopes": ["s1", "unknown"]
        }))
        .unwrap();
        let known = vec!["s1".to_owned(), "s2".to_owned()];
        assert_eq!(credential_scopes(&tx, &known), vec!["s1"]);
        tx.permitted_scopes = vec!["s1".into(), "s2".into()];
        assert_eq!(credential_scopes(&tx, &known), vec!["s1", "s2"]);
    }

    #[test]
    fn reads_claims_of_jws_or_plain_kyc() {
        let jws = format!(
            "{}.{}.sig",
            b64url(br#"{"alg":"RS256"}"#),
            b64url(br#"{"name":"J"}"#)
        );
        assert_eq!(released_claims(&jws).unwrap()["name"], "J");
        assert_eq!(
            released_claims(&b64url(br#"{"email":"e"}"#)).unwrap()["email"],
            "e"
        );
        assert_eq!(
            released_claims("a.b.c.d.e").unwrap_err(),
            Failure::Oauth(EsignetError::DataExchangeFailed)
        );
    }
}
