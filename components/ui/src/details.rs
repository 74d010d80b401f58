//! `POST /authorization/oauth-details` (v1, deprecated), `/v2/oauth-details` (deprecated) and
//! `/v3/oauth-details`: validate the authorization request the UI forwards, start the transaction, answer what
//! the login page needs (reference §2.2, §3.1–§3.4).
//!
//! Steps: request wrapper; client from cache/SQL; `validate_authorize` (client and redirect URI first, then
//! scope, prompt, claims, PKCE and the client's `require_pkce`); claims and ACRs resolved; a new transaction id;
//! the response written by `esignet_core::oauth_details` to exact bytes, whose SHA-256 becomes the
//! transaction's `oauthDetailsHash`; the transaction stored as `preauth:<id>`; the bytes sent unchanged inside
//! the wrapper so the UI's `JSON.stringify` of the parsed `response` hashes to the same value.
//!
//! Versions differ only in what they read and write: v1 ignores PKCE parameters and answers `clientName` as the
//! `@none` string without `credentialScopes`; v1 and v2 ignore `idTokenHint`. v3's `idTokenHint` is accepted
//! and not acted on (the signup/IDT detour of §3.7 is not offered). Errors are eSignet codes in the wrapper.

use esignet_core::authorize::{
    validate_authorize, AuthorizePolicy, AuthorizeRequest, ValidatedAuthorize,
};
use esignet_core::claims::{resolve_acrs, resolve_claims, AmrAcrMapping, ScopeClaims};
use esignet_core::client::ClientDetail;
use esignet_core::oauth_details::{oauth_details_hash, ui_configs, OAuthDetailsResponse};
use esignet_core::random::OsRandom;
use esignet_core::transaction::{new_transaction_id, OidcTransaction, DEFAULT_AUTH_TXN_ID_LENGTH};
use esignet_core::EsignetError;
use esignet_sdk::Request;

use crate::prelude::parse_body;
use crate::reply::{success, Failure, Outcome};
use crate::settings::Settings;
use crate::store::{audit_event, load_client, put_transaction, Stage};

/// Which oauth-details endpoint was called.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Version {
    /// `/authorization/oauth-details`.
    V1,
    /// `/authorization/v2/oauth-details`.
    V2,
    /// `/authorization/v3/oauth-details`.
    V3,
}

/// Handles one oauth-details call (CSRF and content type already checked).
pub fn handle(req: &Request, settings: &Settings, now_ms: i64, version: Version) -> Outcome {
    let result = start(req, settings, now_ms, version);
    match &result {
        Ok((txn, _)) => {
            audit_event("GET_OAUTH_DETAILS", Some(txn), None, None);
            audit_event("TRANSACTION_STARTED", Some(txn), None, None);
        }
        Err(f) => audit_event("GET_OAUTH_DETAILS", None, None, Some(&f.code())),
    }
    result.map(|(_, bytes)| success(&bytes, now_ms))
}

fn start(
    req: &Request,
    settings: &Settings,
    now_ms: i64,
    version: Version,
) -> Result<(OidcTransaction, String), Failure> {
    let request = for_version(
        parse_body::<AuthorizeRequest>(req, settings, now_ms)?,
        version,
    );
    let client = match request
        .client_id
        .as_deref()
        .map(str::trim)
        .filter(|id| !id.is_empty())
    {
        Some(id) if id.len() <= 256 => load_client(id)?,
        _ => None,
    };
    let validated = validate_authorize(
        &request,
        client.as_ref(),
        &AuthorizePolicy::default(),
        false,
    )
    .map_err(|f| Failure::Code(f.error))?;
    let client = client.ok_or(Failure::Code(EsignetError::InvalidClientId))?;
    let (mut txn, response) = build(&validated, &client, settings)?;
    let bytes = match version {
        Version::V1 => response.to_json_v1(),
        Version::V2 | Version::V3 => response.to_json(),
    }
    .map_err(Failure::Code)?;
    txn.oauth_details_hash = Some(oauth_details_hash(bytes.as_bytes()));
    put_transaction(Stage::Preauth, &txn, settings.preauth_ttl_ms)?;
    Ok((txn, bytes))
}

/// Drops the members the version's request DTO does not have (eSignet ignores unknown members).
fn for_version(mut request: AuthorizeRequest, version: Version) -> AuthorizeRequest {
    if version == Version::V1 {
        request.code_challenge = None;
        request.code_challenge_method = None;
    }
    if version != Version::V3 {
        request.id_token_hint = None;
    }
    // A PAR reference is only meaningful at par-oauth-details.
    request.request_uri = None;
    request
}

/// The new transaction and the response describing it.
fn build(
    validated: &ValidatedAuthorize,
    client: &ClientDetail,
    settings: &Settings,
) -> Result<(OidcTransaction, OAuthDetailsResponse), Failure> {
    let claims = resolve_claims(
        &client.claims,
        &validated.scopes.openid,
        &validated.claims,
        &ScopeClaims::default(),
    );
    let id_token_acrs = validated.claims.id_token_acr_values();
    let acrs = resolve_acrs(
        &client.acr_values,
        id_token_acrs.as_deref(),
        &validated.acr_values,
    )?;
    let mapping = AmrAcrMapping::default_mapping()?;
    let groups = mapping.auth_factor_groups(&acrs);
    if groups.is_empty() {
        // The client's ACRs are all unknown to the mapping: nothing could ever satisfy them.
        return Err(Failure::Code(EsignetError::InvalidAcr));
    }
    let transaction_id = new_transaction_id(&mut OsRandom)?;
    let txn = OidcTransaction::start(
        transaction_id.clone(),
        validated,
        client,
        &claims,
        &acrs,
        groups.clone(),
        DEFAULT_AUTH_TXN_ID_LENGTH,
    )?;
    let response = OAuthDetailsResponse {
        transaction_id,
        client_name: client.name.clone(),
        logo_url: client.logo_uri.clone(),
        auth_factors: groups,
        authorize_scopes: validated.scopes.authorize.clone(),
        essential_claims: claims.essential.clone(),
        voluntary_claims: claims.voluntary.clone(),
        configs: ui_configs(&settings.ui_config, &client.additional_config),
        redirect_uri: validated.redirect_uri.clone(),
        credential_scopes: validated.scopes.credential.clone(),
    };
    Ok((txn, response))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn client() -> ClientDetail {
        serde_json::from_value(json!({
            "id": "client-a", "name": {"@none": "Health portal", "eng": "Health portal"}, "rp_id": "rp-a",
            "redirect_uris": ["https://rp.test/cb"], "claims": ["name", "email", "phone_number"],
            "acr_values": ["mosip:idp:acr:generated-code", "mosip:idp:acr:static-code"],
            "public_key": {}, "status": "ACTIVE", "additional_config": {"consent_expire_in_mins": 30}
        }))
        .unwrap()
    }

    fn validated(extra: serde_json::Value) -> ValidatedAuthorize {
        let mut request = json!({
            "clientId": "client-a", "scope": "openid profile", "responseType": "code",
            "redirectUri": "https://rp.test/cb", "state": "st", "nonce": "n"
        });
        if let (Some(r), Some(e)) = (request.as_object_mut(), extra.as_object()) {
            r.extend(e.clone());
        }
        let request: AuthorizeRequest = serde_json::from_value(request).unwrap();
        validate_authorize(
            &request,
            Some(&client()),
            &AuthorizePolicy::default(),
            false,
        )
        .unwrap()
    }

    #[test]
    fn builds_transaction_and_response() {
        let settings = Settings::from_lookup(|_| None);
        let (txn, response) = build(&validated(json!({})), &client(), &settings).unwrap();
        assert_eq!(txn.transaction_id, response.transaction_id);
        assert_eq!(txn.voluntary_claims, vec!["name", "email", "phone_number"]);
        assert_eq!(txn.auth_factors.len(), 2);
        assert_eq!(txn.consent_expire_minutes, Some(30));
        assert_eq!(
            response.configs["clientAdditionalConfig"],
            json!({"consent_expire_in_mins": 30})
        );
        assert_eq!(response.configs["otp.length"], 6);
        let v2: serde_json::Value = serde_json::from_str(&response.to_json().unwrap()).unwrap();
        assert_eq!(v2["clientName"]["@none"], "Health portal");
        assert_eq!(v2["authFactors"][0][0]["type"], "OTP");
        let v1: serde_json::Value = serde_json::from_str(&response.to_json_v1().unwrap()).unwrap();
        assert_eq!(v1["clientName"], "Health portal");
        assert!(v1.get("credentialScopes").is_none());
    }

    #[test]
    fn acr_values_narrow_the_factors() {
        let settings = Settings::from_lookup(|_| None);
        let v = validated(json!({"acrValues": "mosip:idp:acr:static-code"}));
        let (txn, _) = build(&v, &client(), &settings).unwrap();
        assert_eq!(txn.acr_values, vec!["mosip:idp:acr:static-code"]);
        assert_eq!(txn.auth_factors[0][0].factor_type, "PIN");
    }

    #[test]
    fn unknown_acrs_cannot_start_a_login() {
        let mut c = client();
        c.acr_values = vec!["urn:unknown".into()];
        let settings = Settings::from_lookup(|_| None);
        let v = validated(json!({}));
        assert_eq!(
            build(&v, &c, &settings).unwrap_err(),
            Failure::Code(EsignetError::InvalidAcr)
        );
    }

    #[test]
    fn versions_drop_members_they_do_not_know() {
        let request: AuthorizeRequest = serde_json::from_value(json!({
            "codeChallenge": "c", "codeChallengeMethod": "S256", "idTokenHint": "h", "requestUri": "urn:x"
        }))
        .unwrap();
        let v1 = for_version(request.clone(), Version::V1);
        assert!(
            v1.code_challenge.is_none() && v1.id_token_hint.is_none() && v1.request_uri.is_none()
        );
        let v2 = for_version(request.clone(), Version::V2);
        assert!(v2.code_challenge.is_some() && v2.id_token_hint.is_none());
        assert!(for_version(request, Version::V3).id_token_hint.is_some());
    }
}
