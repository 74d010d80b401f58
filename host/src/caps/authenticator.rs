//! The `authenticator` import of endpoint components: each call runs the plugin that `spin.toml` binds to the
//! endpoint, on a fresh plugin instance in its own sandbox. A plugin that traps, loops or runs out of memory
//! yields the plugin error `unknown_error` for that call only (the detail is logged and counted).

use crate::bindings::endpoint::esignet::plugin::authenticator as ep;
use crate::bindings::plugin::exports::esignet::plugin::authenticator as pl;
use crate::invoke::{call_plugin, PluginCall, PluginReply};
use crate::state::HostState;

const PLUGIN_FAILURE: &str = "unknown_error";

fn failure() -> ep::PluginError {
    ep::PluginError { error_code: PLUGIN_FAILURE.into() }
}

fn err(e: pl::PluginError) -> ep::PluginError {
    ep::PluginError { error_code: e.error_code }
}

impl HostState {
    async fn plugin(&mut self, call: PluginCall) -> Option<PluginReply> {
        let slot = self.env.plugin.clone()?;
        call_plugin(&slot, call).await.ok()
    }
}

impl ep::Host for HostState {
    async fn send_otp(
        &mut self,
        relying_party_id: String,
        client_id: String,
        req: ep::SendOtpRequest,
    ) -> wasmtime::Result<Result<ep::SendOtpResult, ep::PluginError>> {
        let req = pl::SendOtpRequest {
            transaction_id: req.transaction_id,
            individual_id: req.individual_id,
            otp_channels: req.otp_channels,
        };
        Ok(match self.plugin(PluginCall::SendOtp(relying_party_id, client_id, req)).await {
            Some(PluginReply::SendOtp(Ok(r))) => Ok(ep::SendOtpResult {
                transaction_id: r.transaction_id,
                masked_email: r.masked_email,
                masked_mobile: r.masked_mobile,
            }),
            Some(PluginReply::SendOtp(Err(e))) => Err(err(e)),
            _ => Err(failure()),
        })
    }

    async fn supported_otp_channels(&mut self) -> wasmtime::Result<Vec<String>> {
        Ok(match self.plugin(PluginCall::SupportedOtpChannels).await {
            Some(PluginReply::SupportedOtpChannels(c)) => c,
            _ => Vec::new(),
        })
    }

    async fn kyc_auth(
        &mut self,
        relying_party_id: String,
        client_id: String,
        req: ep::KycAuthRequest,
    ) -> wasmtime::Result<Result<ep::KycAuthResult, ep::PluginError>> {
        let req = pl::KycAuthRequest {
            transaction_id: req.transaction_id,
            individual_id: req.individual_id,
            challenges: req
                .challenges
                .into_iter()
                .map(|c| pl::AuthChallenge { auth_factor_type: c.auth_factor_type, challenge: c.challenge, format: c.format })
                .collect(),
            claims_metadata_required: req.claims_metadata_required,
        };
        Ok(match self.plugin(PluginCall::KycAuth(relying_party_id, client_id, req)).await {
            Some(PluginReply::KycAuth(Ok(r))) => Ok(ep::KycAuthResult {
                kyc_token: r.kyc_token,
                partner_specific_user_token: r.partner_specific_user_token,
                claims_metadata: r.claims_metadata,
            }),
            Some(PluginReply::KycAuth(Err(e))) => Err(err(e)),
            _ => Err(failure()),
        })
    }

    async fn kyc_exchange(
        &mut self,
        relying_party_id: String,
        client_id: String,
        req: ep::KycExchangeRequest,
    ) -> wasmtime::Result<Result<ep::KycExchangeResult, ep::PluginError>> {
        let req = pl::KycExchangeRequest {
            transaction_id: req.transaction_id,
            kyc_token: req.kyc_token,
            individual_id: req.individual_id,
            accepted_claims: req.accepted_claims,
            claims_locales: req.claims_locales,
            user_info_response_type: req.user_info_response_type,
            accepted_claim_details: req.accepted_claim_details,
        };
        Ok(match self.plugin(PluginCall::KycExchange(relying_party_id, client_id, req)).await {
            Some(PluginReply::KycExchange(Ok(r))) => Ok(ep::KycExchangeResult { encrypted_kyc: r.encrypted_kyc }),
            Some(PluginReply::KycExchange(Err(e))) => Err(err(e)),
            _ => Err(failure()),
        })
    }

    async fn signing_keys(&mut self) -> wasmtime::Result<Result<Vec<ep::SigningKey>, ep::PluginError>> {
        Ok(match self.plugin(PluginCall::SigningKeys).await {
            Some(PluginReply::SigningKeys(Ok(keys))) => Ok(keys
                .into_iter()
                .map(|k| ep::SigningKey { key_id: k.key_id, jwk: k.jwk, issued_at: k.issued_at, expires_at: k.expires_at })
                .collect()),
            Some(PluginReply::SigningKeys(Err(e))) => Err(err(e)),
            _ => Err(failure()),
        })
    }
}
