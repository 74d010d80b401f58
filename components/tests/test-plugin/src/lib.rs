//! Test authenticator plugin for the host's plugin tests: `kyc-auth` succeeds when a PIN challenge is `111111`
//! (kyc-token `kyc-<id>`, PSUT `psut-<id>`) and fails with `auth_failed` otherwise; individual ids `loop`,
//! `alloc` and `trap` spin forever, allocate 1 GiB and trap. Its HTTP handler answers `plugin admin` everywhere.

#[path = "../../misbehave.rs"]
mod faults;

use faults::{allocate, spin, trap};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use esignet_plugin_sdk::authenticator::{
    KycAuthRequest, KycAuthResult, KycExchangeRequest, KycExchangeResult, PluginError, SendOtpRequest,
    SendOtpResult, SigningKey,
};
use esignet_plugin_sdk::{Authenticator, Endpoint, Request, Response};

const PIN: &str = "111111";

struct TestPlugin;

impl Authenticator for TestPlugin {
    fn send_otp(_rp: String, _client: String, req: SendOtpRequest) -> Result<SendOtpResult, PluginError> {
        let wants = |c: &str| req.otp_channels.iter().any(|x| x == c);
        if req.otp_channels.is_empty() || req.otp_channels.iter().any(|c| c != "email" && c != "phone") {
            return Err(PluginError::new("invalid_otp_channel"));
        }
        Ok(SendOtpResult {
            transaction_id: req.transaction_id.clone(),
            masked_email: wants("email").then(|| "t***@example.test".to_string()),
            masked_mobile: wants("phone").then(|| "******7890".to_string()),
        })
    }

    fn supported_otp_channels() -> Vec<String> {
        vec!["email".into(), "phone".into()]
    }

    fn kyc_auth(_rp: String, _client: String, req: KycAuthRequest) -> Result<KycAuthResult, PluginError> {
        misbehave(&req.individual_id);
        let pin_ok = req.challenges.iter().any(|c| c.auth_factor_type == "PIN" && c.challenge == PIN);
        if !pin_ok {
            return Err(PluginError::new("auth_failed"));
        }
        Ok(KycAuthResult {
            kyc_token: format!("kyc-{}", req.individual_id),
            partner_specific_user_token: format!("psut-{}", req.individual_id),
            claims_metadata: Vec::new(),
        })
    }

    fn kyc_exchange(
        _rp: String,
        _client: String,
        req: KycExchangeRequest,
    ) -> Result<KycExchangeResult, PluginError> {
        let id = req.kyc_token.strip_prefix("kyc-").ok_or_else(|| PluginError::new("invalid_kyc_token"))?;
        let claims = serde_json::json!({ "sub": format!("psut-{id}"), "claims": req.accepted_claims });
        Ok(KycExchangeResult { encrypted_kyc: URL_SAFE_NO_PAD.encode(claims.to_string()) })
    }

    fn signing_keys() -> Result<Vec<SigningKey>, PluginError> {
        Ok(Vec::new())
    }
}

impl Endpoint for TestPlugin {
    fn handle(_req: Request) -> Response {
        Response::text("plugin admin")
    }
}

/// The special individual ids that make the plugin misbehave; any other id returns normally.
fn misbehave(individual_id: &str) {
    match individual_id {
        "loop" => spin(),
        "alloc" => {
            allocate(1 << 30);
        }
        "trap" => trap(),
        _ => {}
    }
}

esignet_plugin_sdk::export_plugin!(TestPlugin);
