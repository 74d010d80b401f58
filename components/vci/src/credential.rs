//! `POST <issuer>/vci/credential` (OpenID4VCI 1.0 §8): one credential of one configuration per request,
//! bound to the key of the request's one `jwt` proof.
//!
//! Order: access token ([`crate::access`]: 401/403); body ([`crate::request`]); the configuration
//! (`unknown_credential_configuration`) and its scope among the token's (403 `insufficient_scope`); the proof
//! header ([`crate::proof::read_header`]), its signature (the host verifies it with the header's key:
//! `invalid_proof`), its claims (`invalid_proof`), and last its nonce, consumed atomically ([`crate::nonce`]:
//! `invalid_nonce`). The claims come from [`crate::data`] (the grant's KYC claims, or the bound credential-data
//! plugin's answer) and are mapped through the configuration ([`select`]); a `mandatory` claim the holder
//! lacks is `credential_request_denied`. The credential is signed by the host
//! with key purpose `vci-issuer` ([`ISSUER_KEY`]): the guest never holds a key. The answer is
//! `{"credentials": [{"credential": …}], "notification_id": …}` with `Cache-Control: no-store`; the
//! notification id is cached as `vci-notification:<id>` → the access token's hash for the token's lifetime.
//! The same token may ask again with a fresh nonce: a new credential, the earlier ones untouched (§14.3).

use esignet_core::clock::{Clock, SystemClock};
use esignet_core::credential::config::{ClaimConfig, CredentialConfig};
use esignet_core::credential::CredentialConfigs;
use esignet_core::ids::new_jti;
use esignet_core::random::OsRandom;
use esignet_sdk::audit::{self, Level};
use esignet_sdk::{cache, keys, CapabilityError, Request, Response};
use serde_json::{json, Map, Value};

use crate::access::{self, Authorized};
use crate::data::{self, Source};
use crate::events::{AuditContext, VC_ISSUANCE};
use crate::proof::{self, ProofPolicy};
use crate::reply::{method_not_allowed, no_store_json, VciError};
use crate::settings::Settings;
use crate::{jwt_vc, nonce, request, sd_jwt};

/// The key purpose credentials are signed with.
pub const ISSUER_KEY: &str = "vci-issuer";

/// The cache key of a notification id.
pub fn notification_key(notification_id: &str) -> String {
    format!(
        "vci-notification:{}",
        esignet_core::hashing::sha256_b64url(notification_id.as_bytes())
    )
}

/// Handles a credential request.
pub fn handle(req: &Request, settings: &Settings, configs: &CredentialConfigs) -> Response {
    if req.method != "POST" {
        return method_not_allowed("POST");
    }
    let mut ctx = AuditContext::default();
    match issue(req, settings, configs, SystemClock.now(), &mut ctx) {
        Ok(body) => {
            ctx.record(VC_ISSUANCE, None);
            no_store_json(200, &body)
        }
        Err(e) => {
            ctx.record(VC_ISSUANCE, Some(e.code()));
            e.response()
        }
    }
}

/// The configured claims the holder's data (from `source`) has, in configuration order; nothing else.
/// `credential_request_denied` when a mandatory one is missing.
pub fn select<'a>(
    config: &'a CredentialConfig,
    source: Source,
    data: &Map<String, Value>,
) -> Result<Vec<(&'a ClaimConfig, Value)>, VciError> {
    let mut out = Vec::new();
    for claim in &config.claims {
        match data.get(source.key(claim)) {
            Some(v) if !v.is_null() => out.push((claim, v.clone())),
            _ if claim.mandatory => {
                return Err(VciError::CredentialRequestDenied(
                    "the identity lacks data this credential requires",
                ))
            }
            _ => {}
        }
    }
    Ok(out)
}

fn issue(
    req: &Request,
    settings: &Settings,
    configs: &CredentialConfigs,
    now: i64,
    ctx: &mut AuditContext,
) -> Result<String, VciError> {
    let issuer = &settings.issuer;
    let Authorized { grant, token_hash } = access::authorize(req, issuer, configs, now)?;
    ctx.transaction_id = Some(grant.transaction_id.clone());
    ctx.client_id = Some(grant.client_id.clone());
    ctx.detail("accessTokenHash", &token_hash);
    let body = request::parse(req)?;
    let config = configs
        .get(&body.configuration_id)
        .ok_or(VciError::UnknownCredentialConfiguration)?;
    ctx.detail("credentialConfigurationId", &body.configuration_id);
    ctx.detail("format", &config.format);
    if !grant.scopes.contains(&config.scope) {
        return Err(VciError::InsufficientScope);
    }
    let jwt = request::jwt_proof(&body)?;
    let header = proof::read_header(&jwt, &config.proof_algs())?;
    let (_, payload) = keys::verify_jws(
        &jwt,
        &header.key.jwk_json(),
        std::slice::from_ref(&header.alg),
    )
    .map_err(|e| {
        if e.is_unavailable() {
            VciError::Unavailable
        } else {
            VciError::InvalidProof("the proof signature does not verify with its key")
        }
    })?;
    let policy = ProofPolicy {
        audience: &issuer.identifier,
        client_id: &grant.client_id,
        now,
    };
    let proof_nonce = proof::check_claims(&payload, &policy)?;
    nonce::take(&proof_nonce)?;
    let (source, data) = data::holder_data(&body.configuration_id, config, &grant)?;
    ctx.detail("claimsSource", source.name());
    let claims = select(config, source, &data)?;
    let credential = if config.is_sd_jwt() {
        let unsigned = sd_jwt::build(
            config,
            &issuer.identifier,
            &claims,
            &header.key,
            now,
            &mut OsRandom,
        )?;
        unsigned.assemble(&sign(sd_jwt::HEADER_TYP, &unsigned.payload)?)
    } else {
        let payload = jwt_vc::build(
            config,
            &issuer.did,
            &claims,
            &header.key,
            now,
            &mut OsRandom,
        )?;
        sign(jwt_vc::HEADER_TYP, &payload)?
    };
    let notification_id = new_jti(&mut OsRandom).map_err(|_| VciError::Fault)?;
    let ttl_ms = u64::try_from(grant.expires_at.saturating_sub(now))
        .unwrap_or(1)
        .max(1)
        .saturating_mul(1000);
    if cache::set(
        &notification_key(&notification_id),
        token_hash.as_bytes(),
        ttl_ms,
    )
    .is_err()
    {
        audit::log(Level::Warn, "could not store the notification id");
    }
    Ok(
        json!({"credentials": [{"credential": credential}], "notification_id": notification_id})
            .to_string(),
    )
}

fn sign(typ: &str, payload: &Map<String, Value>) -> Result<String, VciError> {
    let bytes = serde_json::to_vec(payload).map_err(|_| VciError::Fault)?;
    keys::sign_jws(ISSUER_KEY, &json!({ "typ": typ }).to_string(), &bytes).map_err(|e| {
        audit::log(Level::Error, "signing a credential failed");
        VciError::capability(&e)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn selects_configured_claims_in_order() {
        let configs = CredentialConfigs::embedded().unwrap();
        let config = configs.get("MosipIdentityJwtVc").unwrap();
        let Value::Object(data) =
            json!({"email": "e", "family_name": "D", "given_name": "J", "x": 1})
        else {
            unreachable!()
        };
        let names: Vec<&str> = select(config, Source::Kyc, &data)
            .unwrap()
            .iter()
            .map(|(c, _)| c.name.as_str())
            .collect();
        assert_eq!(names, ["given_name", "family_name", "email"]);
        let Value::Object(partial) = json!({"given_name": "J", "email": "e"}) else {
            unreachable!()
        };
        assert_eq!(
            select(config, Source::Kyc, &partial).unwrap_err().code(),
            "credential_request_denied"
        );
        assert_eq!(notification_key("n").len(), "vci-notification:".len() + 43);
    }

    #[test]
    fn plugin_data_is_filtered_by_the_configuration() {
        let configs = CredentialConfigs::embedded().unwrap();
        let config = configs.get("MosipIdentityJwtVc").unwrap();
        let Value::Object(data) =
            json!({"given_name": "Ada", "family_name": "R", "gender": null, "registry_id": "x"})
        else {
            unreachable!()
        };
        let names: Vec<&str> = select(config, Source::Plugin, &data)
            .unwrap()
            .iter()
            .map(|(c, _)| c.name.as_str())
            .collect();
        assert_eq!(names, ["given_name", "family_name"]);
    }
}
