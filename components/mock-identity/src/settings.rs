//! The component's configuration variables (`[component.mock-identity.variables]` in `spin.toml`) and the
//! admin API's access rule.
//!
//! | variable | meaning | default |
//! |---|---|---|
//! | `issuer` | `iss` of the KYC JWT | `mock-identity` |
//! | `fixed_otp` | the OTP every send-otp uses; empty = six random digits | empty |
//! | `admin_token` | bearer token of the admin API for outside callers; empty = only internal calls | empty |
//! | `outbox_enabled` | `true` keeps the last OTP per identity readable at `GET .../outbox/{id}` | `false` |
//! | `kbi_fields` | comma-separated identity fields a KBI challenge must match | `fullName,dateOfBirth` |
//!
//! Admin access: a request with `x-esignet-internal: 1` (set only by the host on its own requests; the host
//! strips it from outside requests) passes; otherwise `Authorization: Bearer <admin_token>` must match a
//! non-empty `admin_token`, compared in constant time.

use crate::kbi::fields_from_config;
use crate::secrets::ct_eq;

/// The resolved variables.
#[derive(Clone, PartialEq, Eq)]
pub struct Settings {
    pub issuer: String,
    pub fixed_otp: Option<String>,
    pub admin_token: Option<String>,
    pub outbox_enabled: bool,
    pub kbi_fields: Vec<String>,
}

impl std::fmt::Debug for Settings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Settings")
            .field("issuer", &self.issuer)
            .field("fixed_otp", &self.fixed_otp.as_ref().map(|_| "[redacted]"))
            .field("admin_token", &self.admin_token.as_ref().map(|_| "[redacted]"))
            .field("outbox_enabled", &self.outbox_enabled)
            .field("kbi_fields", &self.kbi_fields)
            .finish()
    }
}

impl Settings {
    /// Reads the variables through `lookup` (the `config` capability in the component).
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Self {
        let non_empty = |name: &str| lookup(name).map(|v| v.trim().to_string()).filter(|v| !v.is_empty());
        Settings {
            issuer: non_empty("issuer").unwrap_or_else(|| "mock-identity".into()),
            fixed_otp: non_empty("fixed_otp"),
            admin_token: non_empty("admin_token"),
            outbox_enabled: non_empty("outbox_enabled").is_some_and(|v| v.eq_ignore_ascii_case("true")),
            kbi_fields: fields_from_config(lookup("kbi_fields").as_deref()),
        }
    }

    /// The variables of this component.
    pub fn load() -> Self {
        Self::from_lookup(esignet_plugin_sdk::config::get)
    }

    /// True when an admin request with these header values may proceed.
    pub fn admin_allowed(&self, internal: Option<&str>, authorization: Option<&str>) -> bool {
        if internal == Some("1") {
            return true;
        }
        let presented = authorization.and_then(|a| {
            let (scheme, token) = a.trim().split_once(' ')?;
            scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
        });
        match (&self.admin_token, presented) {
            (Some(expected), Some(given)) => ct_eq(expected, given),
            _ => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn settings(vars: &[(&str, &str)]) -> Settings {
        let map: HashMap<String, String> = vars.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        Settings::from_lookup(|name| map.get(name).cloned())
    }

    #[test]
    fn defaults_and_values() {
        let s = settings(&[]);
        assert_eq!(s.issuer, "mock-identity");
        assert_eq!((s.fixed_otp, s.admin_token, s.outbox_enabled), (None, None, false));
        assert_eq!(s.kbi_fields, ["fullName", "dateOfBirth"]);
        let s = settings(&[("issuer", "http://i"), ("fixed_otp", "111111"), ("admin_token", " t "),
                           ("outbox_enabled", "TRUE"), ("kbi_fields", "email")]);
        assert_eq!(s.issuer, "http://i");
        assert_eq!((s.fixed_otp.as_deref(), s.admin_token.as_deref()), (Some("111111"), Some("t")));
        assert!(s.outbox_enabled);
        assert_eq!(s.kbi_fields, ["email"]);
        assert!(!format!("{s:?}").contains("111111"));
    }

    #[test]
    fn admin_access() {
        let open = settings(&[("admin_token", "")]);
        assert!(open.admin_allowed(Some("1"), None));
        assert!(!open.admin_allowed(None, Some("Bearer ")));
        assert!(!open.admin_allowed(Some("true"), None));
        let guarded = settings(&[("admin_token", "s3cret")]);
        assert!(guarded.admin_allowed(None, Some("Bearer s3cret")));
        assert!(guarded.admin_allowed(None, Some("bearer  s3cret")));
        assert!(!guarded.admin_allowed(None, Some("Bearer s3cre")));
        assert!(!guarded.admin_allowed(None, Some("Basic s3cret")));
        assert!(!guarded.admin_allowed(None, None));
    }
}
