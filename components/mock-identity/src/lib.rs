//! The mock identity system (reference §6) as a sandboxed authenticator plugin: an identity store in the
//! `mockidentity` database, the admin API at `/v1/mock-identity-system/...` (the plugin's HTTP handler), and
//! eSignet's Authenticator SPI (send-otp, kyc-auth with OTP/PIN/PWD/KBI, kyc-exchange with a signed KYC JWT,
//! signing keys).
//!
//! Pure rules live in modules tested natively (`schema`, `identity`, `secrets`, `otp`, `kbi`, `claims`, `kyc`,
//! `settings`); `store`, `admin` and `authenticator` add the host's capabilities around them. Every instance is
//! fresh per request or plugin call, so all state is in SQL (identities) or the cache (OTP records, KYC tokens,
//! the optional outbox). Nothing here panics on input: bad input ends in an eSignet error code.

#![forbid(unsafe_code)]
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used, clippy::panic))]

mod admin;
mod authenticator;
mod claims;
mod identity;
mod kbi;
mod kyc;
mod otp;
mod schema;
mod secrets;
mod settings;
mod store;

use esignet_plugin_sdk::authenticator::{
    KycAuthRequest, KycAuthResult, KycExchangeRequest, KycExchangeResult, PluginError, SendOtpRequest,
    SendOtpResult, SigningKey,
};
use esignet_plugin_sdk::{Authenticator, Endpoint, Request, Response};

struct MockIdentity;

impl Authenticator for MockIdentity {
    fn send_otp(rp: String, client: String, req: SendOtpRequest) -> Result<SendOtpResult, PluginError> {
        authenticator::send_otp(&rp, &client, req)
    }

    fn supported_otp_channels() -> Vec<String> {
        authenticator::OTP_CHANNELS.iter().map(|c| c.to_string()).collect()
    }

    fn kyc_auth(rp: String, client: String, req: KycAuthRequest) -> Result<KycAuthResult, PluginError> {
        authenticator::kyc_auth(&rp, &client, req)
    }

    fn kyc_exchange(rp: String, client: String, req: KycExchangeRequest) -> Result<KycExchangeResult, PluginError> {
        authenticator::kyc_exchange(&rp, &client, req)
    }

    fn signing_keys() -> Result<Vec<SigningKey>, PluginError> {
        authenticator::signing_keys()
    }
}

impl Endpoint for MockIdentity {
    fn handle(req: Request) -> Response {
        admin::handle(&req)
    }
}

esignet_plugin_sdk::export_plugin!(MockIdentity);
