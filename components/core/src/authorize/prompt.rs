//! The `prompt` parameter (OIDC Core §3.1.2.1, ES-09).
//!
//! Values `none`, `login`, `consent`, `select_account`, space-separated (empty tokens ignored, duplicates
//! collapsed). An unknown value is `invalid_prompt`; `none` together with any other value is `invalid_request`.
//! `none` alone is valid syntax; since this OP keeps no login session, validation turns it into
//! `login_required` once the rest of the request is known to be valid.

use serde::{Deserialize, Serialize};

use crate::error::EsignetError;

use super::scope::split_space_list;

/// A `prompt` value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Prompt {
    /// No interaction allowed.
    None,
    /// Force re-authentication.
    Login,
    /// Force the consent screen.
    Consent,
    /// Ask the user to pick an account.
    SelectAccount,
}

impl Prompt {
    /// The parameter value.
    pub fn as_str(self) -> &'static str {
        match self {
            Prompt::None => "none",
            Prompt::Login => "login",
            Prompt::Consent => "consent",
            Prompt::SelectAccount => "select_account",
        }
    }

    fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "none" => Prompt::None,
            "login" => Prompt::Login,
            "consent" => Prompt::Consent,
            "select_account" => Prompt::SelectAccount,
            _ => return None,
        })
    }
}

/// Parses `prompt`. See the module docs.
pub fn parse_prompt(prompt: Option<&str>) -> Result<Vec<Prompt>, EsignetError> {
    let mut out = Vec::new();
    for t in split_space_list(prompt.unwrap_or("")) {
        let p = Prompt::parse(t).ok_or(EsignetError::InvalidPrompt)?;
        if !out.contains(&p) {
            out.push(p);
        }
    }
    if out.contains(&Prompt::None) && out.len() > 1 {
        return Err(EsignetError::InvalidRequest);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn es09_values() {
        assert_eq!(parse_prompt(Some("none")), Ok(vec![Prompt::None]));
        assert_eq!(parse_prompt(Some("login")), Ok(vec![Prompt::Login]));
        assert_eq!(
            parse_prompt(Some("none login")),
            Err(EsignetError::InvalidRequest)
        );
        assert_eq!(
            parse_prompt(Some("login none")),
            Err(EsignetError::InvalidRequest)
        );
        assert_eq!(parse_prompt(Some("none none")), Ok(vec![Prompt::None]));
    }

    #[test]
    fn others() {
        assert_eq!(parse_prompt(None), Ok(vec![]));
        assert_eq!(
            parse_prompt(Some("consent select_account")),
            Ok(vec![Prompt::Consent, Prompt::SelectAccount])
        );
        assert_eq!(
            parse_prompt(Some("create")),
            Err(EsignetError::InvalidPrompt)
        );
        assert_eq!(
            parse_prompt(Some("login\tconsent")),
            Err(EsignetError::InvalidPrompt)
        );
        assert_eq!(Prompt::SelectAccount.as_str(), "select_account");
    }
}
