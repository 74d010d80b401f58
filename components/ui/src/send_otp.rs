//! `POST /authorization/send-otp` (reference §2.2, §1.5): asks the identity system to send an OTP for the
//! transaction bound by the headers (stage `preauth`).
//!
//! Order: wrapper; fields (`transactionId` → `invalid_transaction_id`, `individualId` → `invalid_identifier`,
//! `otpChannels` non-empty → `invalid_otp_channel`); the body's transaction must be the headers' one
//! (`invalid_transaction`); a blocked individual id → `individual_id_blocked`; the attempt is counted
//! (`rate:send-otp:<txn>`; past `send_otp_attempts` → `no_attempts_left` and the id is blocked for
//! `block_secs`); each channel must be one the plugin supports (`invalid_otp_channel`); the plugin's error code
//! passes through, and a result for another transaction is `send_otp_failed`. `captchaToken` is accepted and
//! not checked (no captcha service is configured).

use esignet_core::hashing::individual_id_hash;
use esignet_core::EsignetError;
use esignet_sdk::authenticator::{self, SendOtpRequest};
use esignet_sdk::Request;
use serde::{Deserialize, Serialize};

use crate::prelude::{
    blank, bound_transaction, fields_ok, parse_body, require_json, same_transaction,
};
use crate::reply::{success_value, Failure, Outcome};
use crate::settings::Settings;
use crate::store::{audit_event, count_attempt, ensure_not_blocked, Stage};

/// The send-otp `request` member.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct SendOtpBody {
    transaction_id: Option<String>,
    individual_id: Option<String>,
    otp_channels: Option<Vec<String>>,
    #[allow(dead_code)]
    captcha_token: Option<String>,
}

/// The send-otp `response` member.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct SendOtpResponse<'a> {
    transaction_id: &'a str,
    masked_email: Option<String>,
    masked_mobile: Option<String>,
}

/// Handles one send-otp call (CSRF already checked).
pub fn handle(req: &Request, settings: &Settings, now_ms: i64) -> Outcome {
    let txn = bound_transaction(req, Stage::Preauth)?;
    let result = send(req, settings, now_ms, &txn);
    audit_event(
        "SEND_OTP",
        Some(&txn),
        None,
        result.as_ref().err().map(Failure::code).as_deref(),
    );
    result
}

fn send(
    req: &Request,
    settings: &Settings,
    now_ms: i64,
    txn: &esignet_core::transaction::OidcTransaction,
) -> Outcome {
    require_json(req)?;
    let body: SendOtpBody = parse_body(req, settings, now_ms)?;
    let channels = body.otp_channels.unwrap_or_default();
    fields_ok(&[
        (
            blank(&body.transaction_id),
            "transactionId",
            EsignetError::InvalidTransactionId,
        ),
        (
            blank(&body.individual_id),
            "individualId",
            EsignetError::InvalidIdentifier,
        ),
        (
            channels.is_empty() || channels.iter().any(|c| c.trim().is_empty()),
            "otpChannels",
            EsignetError::InvalidOtpChannel,
        ),
    ])?;
    same_transaction(body.transaction_id.as_deref().unwrap_or(""), txn)?;
    let individual_id = body.individual_id.unwrap_or_default();
    let id_hash = individual_id_hash(&individual_id);
    ensure_not_blocked(&id_hash)?;
    count_attempt(
        "send-otp",
        txn.transaction_id.as_str(),
        settings.send_otp_attempts,
        Some((&id_hash, settings.block_ms)),
    )?;
    let supported = authenticator::supported_otp_channels();
    if !channels.iter().all(|c| supported.iter().any(|s| s == c)) {
        return Err(Failure::Code(EsignetError::InvalidOtpChannel));
    }
    let request = SendOtpRequest {
        transaction_id: txn.auth_transaction_id.as_str().to_owned(),
        individual_id,
        otp_channels: channels,
    };
    let result = authenticator::send_otp(&txn.relying_party_id, txn.client_id.as_str(), &request)
        .map_err(|e| plugin_failure(e.error_code, EsignetError::SendOtpFailed))?;
    if result.transaction_id != request.transaction_id {
        return Err(Failure::Code(EsignetError::SendOtpFailed));
    }
    let response = SendOtpResponse {
        transaction_id: txn.transaction_id.as_str(),
        masked_email: result.masked_email,
        masked_mobile: result.masked_mobile,
    };
    Ok(success_value(&response, now_ms))
}

/// A plugin's error code as sent (bounded), or `fallback` when it sent none.
pub fn plugin_failure(code: String, fallback: EsignetError) -> Failure {
    let code = code.trim();
    if code.is_empty() || code.len() > 128 {
        Failure::Code(fallback)
    } else {
        Failure::Plugin(code.to_owned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plugin_codes_pass_through_bounded() {
        assert_eq!(
            plugin_failure("auth_failed".into(), EsignetError::AuthFailed),
            Failure::Plugin("auth_failed".into())
        );
        assert_eq!(
            plugin_failure("  ".into(), EsignetError::SendOtpFailed),
            Failure::Code(EsignetError::SendOtpFailed)
        );
        assert_eq!(
            plugin_failure("x".repeat(200), EsignetError::SendOtpFailed),
            Failure::Code(EsignetError::SendOtpFailed)
        );
    }

    #[test]
    fn body_shape() {
        let b: SendOtpBody = serde_json::from_str(
            r#"{"transactionId":"t","individualId":"i","otpChannels":["email"],"x":1}"#,
        )
        .unwrap();
        assert_eq!(b.otp_channels.unwrap(), vec!["email"]);
        assert!(serde_json::from_str::<SendOtpBody>(r#"{"otpChannels":"email"}"#).is_err());
    }
}
