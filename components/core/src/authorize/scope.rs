//! Scope parsing and the scope rules of reference §3.2 and CF-02.
//!
//! Pinned policy:
//! - `scope` is split on single spaces (RFC 6749 §3.3); empty tokens from repeated spaces are ignored
//!   (`openid  profile` = `openid profile`). A token holding any character outside RFC 6749's `scope-token`
//!   set (`%x21 / %x23-5B / %x5D-7E`: e.g. a tab, `"`, `\`, non-ASCII) makes the whole request `invalid_scope`,
//!   so `""` or `"openid\tprofile"` is never a scope name.
//! - Unknown scope values are ignored (OIDC Core §3.1.2.1). At least one known value must remain.
//! - `openid` is required (eSignet is OIDC-only), except for a request made only of credential scopes (VCI).
//! - Credential scopes cannot be mixed with any other known scope.
//!
//! Any violation is `invalid_scope`. Known values are kept in request order, deduplicated.

use serde::{Deserialize, Serialize};

use crate::error::EsignetError;

/// The `openid` scope.
pub const OPENID: &str = "openid";

/// The supported scope values, by family (`mosip.esignet.supported.*` in eSignet).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScopeConfig {
    /// OpenID scopes, including `openid` itself.
    pub openid_scopes: Vec<String>,
    /// Authorize scopes (MOSIP resident APIs).
    pub authorize_scopes: Vec<String>,
    /// Credential scopes (VCI): by default those of the embedded credential configurations.
    pub credential_scopes: Vec<String>,
}

impl Default for ScopeConfig {
    fn default() -> Self {
        let v = |xs: &[&str]| xs.iter().map(|s| (*s).to_owned()).collect();
        ScopeConfig {
            openid_scopes: v(&["openid", "profile", "email", "phone", "address"]),
            authorize_scopes: v(&[
                "Manage-Identity-Data",
                "Manage-VID",
                "Manage-Authentication",
                "Manage-Service-Requests",
                "Manage-Credentials",
            ]),
            credential_scopes: crate::credential::config::embedded_scopes(),
        }
    }
}

/// The known scopes of a request, by family.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RequestedScopes {
    /// OpenID scopes, including `openid`.
    pub openid: Vec<String>,
    /// Authorize scopes.
    pub authorize: Vec<String>,
    /// Credential scopes.
    pub credential: Vec<String>,
}

impl RequestedScopes {
    /// Whether `openid` was requested.
    pub fn has_openid(&self) -> bool {
        self.openid.iter().any(|s| s == OPENID)
    }
}

/// Splits a space-separated parameter on single spaces, dropping empty tokens.
pub fn split_space_list(s: &str) -> Vec<&str> {
    s.split(' ').filter(|t| !t.is_empty()).collect()
}

fn is_scope_token(t: &str) -> bool {
    t.bytes()
        .all(|c| c == 0x21 || (0x23..=0x5B).contains(&c) || (0x5D..=0x7E).contains(&c))
}

/// Parses and checks `scope`. See the module docs.
pub fn parse_scope(
    scope: Option<&str>,
    config: &ScopeConfig,
) -> Result<RequestedScopes, EsignetError> {
    let tokens = split_space_list(scope.unwrap_or(""));
    if tokens.is_empty() || !tokens.iter().all(|t| is_scope_token(t)) {
        return Err(EsignetError::InvalidScope);
    }
    let mut out = RequestedScopes::default();
    for t in tokens {
        let family = if config.openid_scopes.iter().any(|s| s == t) {
            &mut out.openid
        } else if config.authorize_scopes.iter().any(|s| s == t) {
            &mut out.authorize
        } else if config.credential_scopes.iter().any(|s| s == t) {
            &mut out.credential
        } else {
            continue;
        };
        if !family.iter().any(|s| s == t) {
            family.push(t.to_owned());
        }
    }
    let others = !out.openid.is_empty() || !out.authorize.is_empty();
    let valid = if out.credential.is_empty() {
        out.has_openid()
    } else {
        !others
    };
    if valid {
        Ok(out)
    } else {
        Err(EsignetError::InvalidScope)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(s: &str) -> Result<RequestedScopes, EsignetError> {
        parse_scope(Some(s), &ScopeConfig::default())
    }

    #[test]
    fn cf02_d_e_order_and_unknown_values() {
        assert_eq!(
            parse("email openid").unwrap().openid,
            vec!["email", "openid"]
        );
        let r = parse("openid foo").unwrap();
        assert_eq!(r.openid, vec!["openid"]);
        assert!(r.authorize.is_empty() && r.credential.is_empty());
    }

    #[test]
    fn cf02_f_double_space_tolerated_tab_rejected() {
        assert_eq!(
            parse("openid  profile").unwrap().openid,
            vec!["openid", "profile"]
        );
        assert_eq!(
            parse(" openid profile ").unwrap().openid,
            vec!["openid", "profile"]
        );
        assert_eq!(parse("openid\tprofile"), Err(EsignetError::InvalidScope));
        assert_eq!(
            parse("openid openid\tprofile"),
            Err(EsignetError::InvalidScope)
        );
        assert_eq!(parse("openid profile\n"), Err(EsignetError::InvalidScope));
        assert_eq!(parse("openid pr\"ofile"), Err(EsignetError::InvalidScope));
        assert_eq!(parse("openid profilé"), Err(EsignetError::InvalidScope));
    }

    #[test]
    fn cf02_g_openid_required() {
        assert_eq!(parse("profile"), Err(EsignetError::InvalidScope));
        assert_eq!(parse("Manage-VID"), Err(EsignetError::InvalidScope));
        assert_eq!(parse("foo bar"), Err(EsignetError::InvalidScope));
        assert_eq!(parse("   "), Err(EsignetError::InvalidScope));
        assert_eq!(
            parse_scope(None, &ScopeConfig::default()),
            Err(EsignetError::InvalidScope)
        );
    }

    #[test]
    fn credential_scopes_alone_only() {
        assert_eq!(
            parse("mosip_identity_vc_sd_jwt").unwrap().credential,
            vec!["mosip_identity_vc_sd_jwt"]
        );
        assert_eq!(
            parse("openid mosip_identity_vc_sd_jwt"),
            Err(EsignetError::InvalidScope)
        );
        assert_eq!(
            parse("Manage-VID mosip_identity_vc_sd_jwt"),
            Err(EsignetError::InvalidScope)
        );
    }

    #[test]
    fn families_and_dedupe() {
        let r = parse("openid Manage-VID openid profile Manage-VID").unwrap();
        assert_eq!(r.openid, vec!["openid", "profile"]);
        assert_eq!(r.authorize, vec!["Manage-VID"]);
        assert!(r.has_openid());
        assert_eq!(parse("OpenID"), Err(EsignetError::InvalidScope));
    }
}
