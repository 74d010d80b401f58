//! The component's configuration (`[component.oidc.variables]` in `spin.toml`): `issuer` (required; every
//! endpoint URL derives from it), `code_ttl_secs` (how long a code lives, default 300, also the lifetime of the
//! `redeemed:` marker), `access_token_ttl_secs` (access- and ID-token lifetime, default 3600),
//! `credential_token_ttl_secs` (lifetime of a credential-scoped access token, default and maximum 300) and
//! `c_nonce_ttl_secs` (lifetime of the `c_nonce` in a credential-scoped token response, default 300). A value
//! that is not a positive integer falls back to the default, with a warning in the log.

use esignet_core::credential::{DEFAULT_NONCE_TTL_SECS, MAX_CREDENTIAL_TOKEN_SECS};
use esignet_core::discovery::Endpoints;
use esignet_sdk::audit::{self, Level};
use esignet_sdk::config;

/// eSignet's default code lifetime.
pub const DEFAULT_CODE_TTL_SECS: u64 = 300;
/// eSignet's default token lifetime.
pub const DEFAULT_ACCESS_TOKEN_TTL_SECS: u64 = 3600;

/// What the endpoints need to know about the deployment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    /// The issuer and the URLs derived from it.
    pub endpoints: Endpoints,
    /// Code lifetime, seconds.
    pub code_ttl_secs: u64,
    /// Access- and ID-token lifetime, seconds.
    pub access_token_ttl_secs: u64,
    /// Credential-scoped access-token lifetime, seconds (at most 300).
    pub credential_token_ttl_secs: u64,
    /// `c_nonce` lifetime, seconds.
    pub c_nonce_ttl_secs: u64,
}

/// A positive integer, or `default`.
pub fn positive_or(value: Option<&str>, default: u64) -> Result<u64, u64> {
    match value.map(str::trim) {
        None | Some("") => Ok(default),
        Some(v) => v.parse::<u64>().ok().filter(|n| *n > 0).ok_or(default),
    }
}

fn seconds(name: &str, default: u64) -> u64 {
    positive_or(config::get(name).as_deref(), default).unwrap_or_else(|fallback| {
        audit::log(
            Level::Warn,
            &format!("config `{name}` is not a positive integer; using {fallback}"),
        );
        fallback
    })
}

impl Settings {
    /// Reads the configuration; `None` when `issuer` is not set.
    pub fn load() -> Option<Self> {
        let issuer = config::get("issuer").filter(|i| !i.trim().is_empty())?;
        Some(Settings {
            endpoints: Endpoints::from_issuer(issuer.trim()),
            code_ttl_secs: seconds("code_ttl_secs", DEFAULT_CODE_TTL_SECS),
            access_token_ttl_secs: seconds("access_token_ttl_secs", DEFAULT_ACCESS_TOKEN_TTL_SECS),
            credential_token_ttl_secs: seconds(
                "credential_token_ttl_secs",
                MAX_CREDENTIAL_TOKEN_SECS as u64,
            ),
            c_nonce_ttl_secs: seconds("c_nonce_ttl_secs", DEFAULT_NONCE_TTL_SECS),
        })
    }

    /// Code lifetime in milliseconds.
    pub fn code_ttl_ms(&self) -> u64 {
        self.code_ttl_secs.saturating_mul(1000)
    }

    /// Token lifetime in seconds, as the signed type the token claims use.
    pub fn token_lifetime_secs(&self) -> i64 {
        i64::try_from(self.access_token_ttl_secs).unwrap_or(i64::MAX)
    }

    /// Credential-scoped token lifetime: the configured value, never above the access-token lifetime or
    /// [`MAX_CREDENTIAL_TOKEN_SECS`] (OpenID4VCI §13.10, Bearer tokens).
    pub fn credential_token_lifetime_secs(&self) -> i64 {
        let configured = i64::try_from(self.credential_token_ttl_secs).unwrap_or(i64::MAX);
        configured
            .min(self.token_lifetime_secs())
            .min(MAX_CREDENTIAL_TOKEN_SECS)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positive_integers_or_default() {
        assert_eq!(positive_or(None, 300), Ok(300));
        assert_eq!(positive_or(Some(" 5 "), 300), Ok(5));
        assert_eq!(positive_or(Some("0"), 300), Err(300));
        assert_eq!(positive_or(Some("-1"), 300), Err(300));
        assert_eq!(positive_or(Some("ten"), 300), Err(300));
    }

    #[test]
    fn credential_tokens_live_at_most_five_minutes() {
        let mut s = Settings {
            endpoints: Endpoints::from_issuer("https://op.test"),
            code_ttl_secs: 300,
            access_token_ttl_secs: 3600,
            credential_token_ttl_secs: 900,
            c_nonce_ttl_secs: 300,
        };
        assert_eq!(s.credential_token_lifetime_secs(), 300);
        s.credential_token_ttl_secs = 60;
        assert_eq!(s.credential_token_lifetime_secs(), 60);
        s.access_token_ttl_secs = 30;
        assert_eq!(s.credential_token_lifetime_secs(), 30);
    }
}
