//! The component's settings, read from its `spin.toml` variables on every request (a fresh instance per
//! request, so nothing is cached between requests).
//!
//! Every variable is optional; a missing or unparsable value falls back to eSignet 1.8's default so a typo never
//! breaks logins (the fallback is logged once per request by the caller). Lifetimes are clamped to at least one
//! second because a cache TTL of 0 means "the configured maximum" to the host. Variables read:
//! `issuer`, `preauth_ttl_secs` (300), `authenticated_ttl_secs` (120), `code_ttl_secs` (300),
//! `request_time_leeway_minutes` (2), `send_otp_attempts` (3), `authenticate_attempts` (3),
//! `claim_details_attempts` (1), `authenticate_failures_per_id` (5: failed authentications of one individual id,
//! across transactions, within `block_secs` before the id is blocked), `block_secs` (600), `ui_config` (a JSON
//! object merged over the built-in UI configuration returned as oauth-details `configs`). Besides eSignet's keys, `configs` carries
//! `authenticate.attempts` and `send-otp.attempts` (the limits above) so the login page can say how many
//! attempts are left.

use serde_json::{json, Map, Value};

/// Settings of one request.
#[derive(Debug, Clone, PartialEq)]
pub struct Settings {
    /// The public issuer URL (`issuer`), empty when unset.
    pub issuer: String,
    /// Lifetime of `preauth:<txn>` in milliseconds.
    pub preauth_ttl_ms: u64,
    /// Lifetime of `authenticated:<txn>` in milliseconds.
    pub authenticated_ttl_ms: u64,
    /// Lifetime of `code:<codeHash>` in milliseconds.
    pub code_ttl_ms: u64,
    /// Allowed distance of `requestTime` from now, in minutes.
    pub leeway_minutes: i64,
    /// send-otp calls allowed per transaction.
    pub send_otp_attempts: i64,
    /// authenticate calls allowed per transaction.
    pub authenticate_attempts: i64,
    /// claim-details calls allowed per transaction.
    pub claim_details_attempts: i64,
    /// Failed authentications of one individual id (across transactions) tolerated within `block_ms`.
    pub authenticate_failures_per_id: i64,
    /// How long an individual id stays blocked after too many attempts, in milliseconds.
    pub block_ms: u64,
    /// The oauth-details `configs` map (without `clientAdditionalConfig`).
    pub ui_config: Map<String, Value>,
    /// Names of variables whose value was unusable (the default was used instead).
    pub rejected: Vec<&'static str>,
}

impl Settings {
    /// Reads the settings through `lookup` (the `config` capability in the component, a map in tests).
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Self {
        let mut rejected = Vec::new();
        let mut num = |name: &'static str, default: u64| -> u64 {
            match lookup(name).map(|v| v.trim().parse::<u64>()) {
                None => default,
                Some(Ok(v)) if v > 0 && v <= 31_536_000 => v,
                Some(_) => {
                    rejected.push(name);
                    default
                }
            }
        };
        let preauth = num("preauth_ttl_secs", 300);
        let authenticated = num("authenticated_ttl_secs", 120);
        let code = num("code_ttl_secs", 300);
        let leeway = num("request_time_leeway_minutes", 2);
        let send_otp = num("send_otp_attempts", 3);
        let authenticate = num("authenticate_attempts", 3);
        let claim_details = num("claim_details_attempts", 1);
        let failures_per_id = num("authenticate_failures_per_id", 5);
        let block = num("block_secs", 600);
        let issuer = lookup("issuer").unwrap_or_default();
        let mut ui_config = default_ui_config(&issuer, preauth, authenticated);
        ui_config.insert("authenticate.attempts".into(), json!(authenticate));
        ui_config.insert("send-otp.attempts".into(), json!(send_otp));
        if let Some(text) = lookup("ui_config").filter(|t| !t.trim().is_empty()) {
            match parse_ui_config(&text) {
                Some(extra) => ui_config.extend(extra),
                None => rejected.push("ui_config"),
            }
        }
        let signed = |v: u64| i64::try_from(v).unwrap_or(i64::MAX);
        Settings {
            issuer,
            preauth_ttl_ms: preauth * 1000,
            authenticated_ttl_ms: authenticated * 1000,
            code_ttl_ms: code * 1000,
            leeway_minutes: signed(leeway),
            send_otp_attempts: signed(send_otp),
            authenticate_attempts: signed(authenticate),
            claim_details_attempts: signed(claim_details),
            authenticate_failures_per_id: signed(failures_per_id),
            block_ms: block * 1000,
            ui_config,
            rejected,
        }
    }
}

/// A `ui_config` override: a JSON object whose values survive the UI's `JSON.parse`/`JSON.stringify` unchanged
/// (no floats, no integers beyond 2^53), else `None`.
fn parse_ui_config(text: &str) -> Option<Map<String, Value>> {
    let value: Value = serde_json::from_str(text).ok()?;
    esignet_core::js_json::check_js_safe(&value).ok()?;
    match value {
        Value::Object(map) => Some(map),
        _ => None,
    }
}

/// The UI configuration eSignet 1.8 ships (`mosip.esignet.ui.config.key-values`), with the screen timeouts
/// following the transaction lifetimes. Integers and strings only: the map is part of the hashed response.
fn default_ui_config(
    issuer: &str,
    preauth_secs: u64,
    authenticated_secs: u64,
) -> Map<String, Value> {
    let value = json!({
        "sbi.env": "Developer",
        "sbi.timeout.DISC": 30,
        "sbi.timeout.DINFO": 30,
        "sbi.timeout.CAPTURE": 30,
        "sbi.capture.count.face": 1,
        "sbi.capture.count.finger": 2,
        "sbi.capture.count.iris": 1,
        "sbi.capture.score.face": 70,
        "sbi.capture.score.finger": 70,
        "sbi.capture.score.iris": 70,
        "sbi.port.range": "4501-4600",
        "sbi.bio.subtypes.iris": "UNKNOWN",
        "sbi.bio.subtypes.finger": "UNKNOWN",
        "resend.otp.delay.secs": 60,
        "send.otp.channels": "email,phone",
        "captcha.enable": "",
        "captcha.sitekey": "",
        "auth.txnid.length": "10",
        "otp.length": 6,
        "password.max-length": 30,
        "preauth-screen-timeout-in-secs": preauth_secs,
        "consent.screen.timeout-in-secs": authenticated_secs,
        "consent.screen.timeout-buffer-in-secs": 5,
        "linked-transaction-expire-in-secs": 240,
        "wallet.qr-code-buffer-in-secs": 10,
        "error.banner.close-timer": 10,
        "issuer": issuer,
    });
    match value {
        Value::Object(map) => map,
        _ => Map::new(),
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn settings(vars: &[(&str, &str)]) -> Settings {
        let map: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        Settings::from_lookup(|name| map.get(name).cloned())
    }

    #[test]
    fn defaults_are_esignet_defaults() {
        let s = settings(&[]);
        assert_eq!(s.preauth_ttl_ms, 300_000);
        assert_eq!(s.authenticated_ttl_ms, 120_000);
        assert_eq!(s.code_ttl_ms, 300_000);
        assert_eq!(s.leeway_minutes, 2);
        assert_eq!(
            (
                s.send_otp_attempts,
                s.authenticate_attempts,
                s.claim_details_attempts
            ),
            (3, 3, 1)
        );
        assert_eq!(s.block_ms, 600_000);
        assert_eq!(s.authenticate_failures_per_id, 5);
        assert_eq!(s.ui_config["preauth-screen-timeout-in-secs"], 300);
        assert_eq!(s.ui_config["authenticate.attempts"], 3);
        assert_eq!(s.ui_config["send-otp.attempts"], 3);
        assert!(s.rejected.is_empty());
        esignet_core::js_json::check_js_safe(&Value::Object(s.ui_config)).unwrap();
    }

    #[test]
    fn variables_override_and_bad_values_fall_back() {
        let s = settings(&[
            ("issuer", "http://127.0.0.1:8088/v1/esignet"),
            ("preauth_ttl_secs", " 5 "),
            ("authenticated_ttl_secs", "0"),
            ("code_ttl_secs", "-1"),
            ("authenticate_attempts", "abc"),
            ("block_secs", "2"),
            ("authenticate_failures_per_id", "7"),
        ]);
        assert_eq!(s.authenticate_failures_per_id, 7);
        assert_eq!(s.preauth_ttl_ms, 5_000);
        assert_eq!(s.authenticated_ttl_ms, 120_000);
        assert_eq!(s.code_ttl_ms, 300_000);
        assert_eq!(s.authenticate_attempts, 3);
        assert_eq!(s.block_ms, 2_000);
        assert_eq!(s.ui_config["issuer"], "http://127.0.0.1:8088/v1/esignet");
        assert_eq!(
            s.rejected,
            vec![
                "authenticated_ttl_secs",
                "code_ttl_secs",
                "authenticate_attempts"
            ]
        );
    }

    #[test]
    fn ui_config_merges_js_safe_objects_only() {
        let s = settings(&[(
            "ui_config",
            r#"{"captcha.enable":"send-otp","otp.length":4}"#,
        )]);
        assert_eq!(s.ui_config["captcha.enable"], "send-otp");
        assert_eq!(s.ui_config["otp.length"], 4);
        for bad in [r#"{"ratio":0.5}"#, "[1]", "{"] {
            let s = settings(&[("ui_config", bad)]);
            assert_eq!(s.rejected, vec!["ui_config"], "{bad}");
            assert_eq!(s.ui_config["otp.length"], 6);
        }
    }
}
