//! The OIDC transaction record kept in the cache across the steps of a login (reference §8.2, the fields
//! this flow needs).
//!
//! Serialized compactly as camelCase JSON: absent options and empty lists are left out, so a fresh
//! transaction is a few hundred bytes. [`OidcTransaction::start`] builds it at oauth-details time from the
//! validated request, the client and the resolved claims/ACRs; later steps fill in the authentication,
//! consent and code fields. Secrets (`kycToken`) do not appear in `Debug` output.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::authorize::{ClaimDetail, Prompt, ValidatedAuthorize};
use crate::claims::{AuthFactor, ResolvedClaims};
use crate::client::{ClientDetail, UserinfoResponseType};
use crate::consent::ConsentAction;
use crate::error::EsignetError;
use crate::ids::{
    auth_transaction_id, AuthTransactionId, ClientId, CodeHash, Secret, TransactionId,
};
use crate::pkce::PkceChallenge;

pub use crate::ids::{code_hash, new_auth_code, new_transaction_id};

/// eSignet's default `mosip.esignet.auth-txn-id-length`.
pub const DEFAULT_AUTH_TXN_ID_LENGTH: usize = 10;

fn is_false(b: &bool) -> bool {
    !*b
}

/// One login's state.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OidcTransaction {
    /// Transaction id (`oauth-details-key`).
    pub transaction_id: TransactionId,
    /// Client.
    pub client_id: ClientId,
    /// Relying-party id of the client.
    pub relying_party_id: String,
    /// Redirect URI the code goes to (also checked at the token endpoint).
    pub redirect_uri: String,
    /// `nonce`, if sent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nonce: Option<String>,
    /// `state`, if sent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<String>,
    /// Essential claims.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub essential_claims: Vec<String>,
    /// Voluntary claims.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub voluntary_claims: Vec<String>,
    /// Requested userinfo claim details (claim → details; empty when implied by scope).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub requested_claim_details: BTreeMap<String, Vec<ClaimDetail>>,
    /// Requested ID-token claims, including the resolved `acr` (essential, `values` = resolved ACRs).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub id_token_claims: BTreeMap<String, ClaimDetail>,
    /// Requested authorize scopes.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub requested_authorize_scopes: Vec<String>,
    /// Requested credential scopes.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub requested_credential_scopes: Vec<String>,
    /// `claims_locales`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub claims_locales: Vec<String>,
    /// Resolved ACRs.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub acr_values: Vec<String>,
    /// Factor groups the user may satisfy.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub auth_factors: Vec<Vec<AuthFactor>>,
    /// Factor types actually used.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub provided_auth_factors: Vec<String>,
    /// The id sent to the identity system.
    pub auth_transaction_id: AuthTransactionId,
    /// base64url(SHA3-256(individual id)).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub individual_id_hash: Option<String>,
    /// The individual id the user authenticated with, for the identity system's KYC exchange (eSignet keeps it
    /// in the transaction too). Personal data: never logged, redacted in `Debug`, only in the shared cache.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub individual_id: Option<Secret>,
    /// The identity system's KYC token.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kyc_token: Option<Secret>,
    /// Partner-specific user token (the `sub`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub psut: Option<String>,
    /// Authentication time, epoch seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth_time: Option<i64>,
    /// Claims the user accepted.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub accepted_claims: Vec<String>,
    /// Scopes the user permitted.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub permitted_scopes: Vec<String>,
    /// Consent decision after authentication.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub consent_action: Option<ConsentAction>,
    /// Client's consent lifetime.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub consent_expire_minutes: Option<u64>,
    /// PKCE challenge.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pkce: Option<PkceChallenge>,
    /// `prompt` values.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub prompt: Vec<Prompt>,
    /// `max_age`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_age: Option<u64>,
    /// Hash of the oauth-details response bytes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub oauth_details_hash: Option<String>,
    /// Hash of the issued code.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code_hash: Option<CodeHash>,
    /// JWS or JWE userinfo.
    #[serde(default)]
    pub userinfo_response_type: UserinfoResponseType,
    /// DPoP key thumbprint the code is bound to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dpop_jkt: Option<String>,
    /// Access tokens must be DPoP-bound.
    #[serde(default, skip_serializing_if = "is_false")]
    pub dpop_bound_access_token: bool,
}

impl OidcTransaction {
    /// A new transaction at oauth-details time.
    pub fn start(
        transaction_id: TransactionId,
        request: &ValidatedAuthorize,
        client: &ClientDetail,
        claims: &ResolvedClaims,
        acrs: &[String],
        auth_factors: Vec<Vec<AuthFactor>>,
        auth_txn_id_length: usize,
    ) -> Result<Self, EsignetError> {
        let auth_transaction_id = auth_transaction_id(&transaction_id, auth_txn_id_length)?;
        let mut id_token_claims = request.claims.id_token.clone();
        id_token_claims.insert(
            "acr".to_owned(),
            ClaimDetail {
                essential: true,
                values: Some(acrs.to_vec()),
                ..ClaimDetail::default()
            },
        );
        Ok(OidcTransaction {
            transaction_id,
            client_id: client.id.clone(),
            relying_party_id: client.rp_id.clone(),
            redirect_uri: request.redirect_uri.clone(),
            nonce: request.nonce.clone(),
            state: request.state.clone(),
            essential_claims: claims.essential.clone(),
            voluntary_claims: claims.voluntary.clone(),
            requested_claim_details: claims.details.clone(),
            id_token_claims,
            requested_authorize_scopes: request.scopes.authorize.clone(),
            requested_credential_scopes: request.scopes.credential.clone(),
            claims_locales: request.claims_locales.clone(),
            acr_values: acrs.to_vec(),
            auth_factors,
            provided_auth_factors: Vec::new(),
            auth_transaction_id,
            individual_id_hash: None,
            individual_id: None,
            kyc_token: None,
            psut: None,
            auth_time: None,
            accepted_claims: Vec::new(),
            permitted_scopes: Vec::new(),
            consent_action: None,
            consent_expire_minutes: client.consent_expire_in_mins(),
            pkce: request.pkce.clone(),
            prompt: request.prompt.clone(),
            max_age: request.max_age,
            oauth_details_hash: None,
            code_hash: None,
            userinfo_response_type: client.userinfo_response_type(),
            dpop_jkt: request.dpop_jkt.clone(),
            dpop_bound_access_token: client.dpop_bound_access_tokens(),
        })
    }

    /// Records a successful authentication.
    pub fn mark_authenticated(
        &mut self,
        kyc_token: Secret,
        psut: String,
        individual_id_hash: String,
        provided_types: Vec<String>,
        now: i64,
    ) {
        self.kyc_token = Some(kyc_token);
        self.psut = Some(psut);
        self.individual_id_hash = Some(individual_id_hash);
        self.provided_auth_factors = provided_types;
        self.auth_time = Some(now);
    }

    /// Whether `prompt=consent` was requested.
    pub fn prompt_consent(&self) -> bool {
        self.prompt.contains(&Prompt::Consent)
    }

    /// The cache value.
    pub fn to_json(&self) -> Result<String, EsignetError> {
        serde_json::to_string(self).map_err(|_| EsignetError::UnknownError)
    }

    /// Reads a cache value; `invalid_transaction` if it is not one.
    pub fn from_json(json: &str) -> Result<Self, EsignetError> {
        serde_json::from_str(json).map_err(|_| EsignetError::InvalidTransaction)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::authorize::{validate_authorize, AuthorizePolicy, AuthorizeRequest};
    use crate::claims::{resolve_claims, AmrAcrMapping, ScopeClaims};
    use serde_json::json;

    fn fixture() -> OidcTransaction {
        let client: ClientDetail = serde_json::from_value(json!({
            "id": "client-a", "name": "A", "rp_id": "rp-a", "redirect_uris": ["https://rp.test/cb"],
            "claims": ["name", "email"], "acr_values": ["mosip:idp:acr:generated-code"],
            "public_key": {}, "status": "ACTIVE", "additional_config": {"consent_expire_in_mins": 60}
        }))
        .unwrap();
        let req = AuthorizeRequest::from_query(
            "client_id=client-a&redirect_uri=https://rp.test/cb&response_type=code&scope=openid%20email&state=st&prompt=consent",
        );
        let v =
            validate_authorize(&req, Some(&client), &AuthorizePolicy::default(), false).unwrap();
        let claims = resolve_claims(
            &client.claims,
            &v.scopes.openid,
            &v.claims,
            &ScopeClaims::default(),
        );
        let mapping = AmrAcrMapping::default_mapping().unwrap();
        let acrs = client.acr_values.clone();
        let groups = mapping.auth_factor_groups(&acrs);
        OidcTransaction::start(
            TransactionId::new("tx_abc-def0123456789"),
            &v,
            &client,
            &claims,
            &acrs,
            groups,
            10,
        )
        .unwrap()
    }

    #[test]
    fn start_fills_request_fields() {
        let t = fixture();
        assert_eq!(t.auth_transaction_id, "9876543210");
        assert_eq!(t.voluntary_claims, vec!["email"]);
        assert_eq!(t.state.as_deref(), Some("st"));
        assert_eq!(t.nonce, None);
        assert_eq!(t.consent_expire_minutes, Some(60));
        assert!(t.prompt_consent());
        assert_eq!(
            t.id_token_claims["acr"].values,
            Some(vec!["mosip:idp:acr:generated-code".to_owned()])
        );
        assert_eq!(t.auth_factors[0][0].factor_type, "OTP");
    }

    #[test]
    fn compact_round_trip_and_redacted_debug() {
        let mut t = fixture();
        let json = t.to_json().unwrap();
        for absent in [
            "nonce",
            "kycToken",
            "psut",
            "authTime",
            "acceptedClaims",
            "codeHash",
            "pkce",
            "dpop",
        ] {
            assert!(!json.contains(absent), "{absent} in {json}");
        }
        t.mark_authenticated(
            Secret::new("kyc-secret"),
            "psut-1".into(),
            "h".into(),
            vec!["OTP".into()],
            1_700_000_000,
        );
        t.individual_id = Some(Secret::new("8267411571"));
        let back = OidcTransaction::from_json(&t.to_json().unwrap()).unwrap();
        assert_eq!(back, t);
        assert!(!format!("{t:?}").contains("8267411571"));
        assert_eq!(back.auth_time, Some(1_700_000_000));
        assert!(!format!("{t:?}").contains("kyc-secret"));
        assert_eq!(
            OidcTransaction::from_json("{}"),
            Err(EsignetError::InvalidTransaction)
        );
    }
}
