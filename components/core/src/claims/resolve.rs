//! Claim resolution (reference §3.2–§3.3).
//!
//! Only claims registered on the client (`userClaims`) can ever be released. For each registered claim, in the
//! client's order: if the `claims` parameter asks for it under `userinfo`, it is essential when any of its
//! details says `essential: true`, voluntary otherwise; else, if one of the requested scopes implies it
//! ([`ScopeClaims`]), it is voluntary; else it is not requested. Claims the client is not registered for are
//! dropped silently, as eSignet does.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::authorize::{ClaimDetail, ClaimsRequest};

/// Which claims each OpenID scope implies.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ScopeClaims(pub BTreeMap<String, Vec<String>>);

impl Default for ScopeClaims {
    /// eSignet's defaults: `profile`, `email`, `phone`, `address`.
    fn default() -> Self {
        let v = |xs: &[&str]| xs.iter().map(|s| (*s).to_owned()).collect::<Vec<String>>();
        ScopeClaims(BTreeMap::from([
            (
                "profile".to_owned(),
                v(&[
                    "name",
                    "address",
                    "gender",
                    "birthdate",
                    "picture",
                    "email",
                    "phone_number",
                    "phone_number_verified",
                    "registration_type",
                    "updated_at",
                ]),
            ),
            ("email".to_owned(), v(&["email"])),
            (
                "phone".to_owned(),
                v(&["phone_number", "phone_number_verified"]),
            ),
            ("address".to_owned(), v(&["address"])),
        ]))
    }
}

impl ScopeClaims {
    fn implied(&self, scopes: &[String], claim: &str) -> bool {
        scopes.iter().any(|s| {
            self.0
                .get(s)
                .is_some_and(|cs| cs.iter().any(|c| c == claim))
        })
    }
}

/// The outcome of claim resolution.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ResolvedClaims {
    /// Essential claims, in the client's registration order.
    pub essential: Vec<String>,
    /// Voluntary claims, in the client's registration order.
    pub voluntary: Vec<String>,
    /// Details of every requested claim (empty list when only implied by scope).
    pub details: BTreeMap<String, Vec<ClaimDetail>>,
}

impl ResolvedClaims {
    /// Whether nothing at all is requested.
    pub fn is_empty(&self) -> bool {
        self.essential.is_empty() && self.voluntary.is_empty()
    }

    /// All requested claims (essential first).
    pub fn all(&self) -> Vec<String> {
        self.essential
            .iter()
            .chain(&self.voluntary)
            .cloned()
            .collect()
    }
}

/// Resolves the claims of a request. See the module docs.
pub fn resolve_claims(
    registered: &[String],
    openid_scopes: &[String],
    request: &ClaimsRequest,
    scope_claims: &ScopeClaims,
) -> ResolvedClaims {
    let mut out = ResolvedClaims::default();
    for claim in registered {
        if out.details.contains_key(claim) {
            continue;
        }
        if let Some(details) = request.userinfo.get(claim) {
            if request.is_essential(claim) {
                out.essential.push(claim.clone());
            } else {
                out.voluntary.push(claim.clone());
            }
            out.details.insert(claim.clone(), details.clone());
        } else if scope_claims.implied(openid_scopes, claim) {
            out.voluntary.push(claim.clone());
            out.details.insert(claim.clone(), Vec::new());
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn s(xs: &[&str]) -> Vec<String> {
        xs.iter().map(|x| (*x).to_owned()).collect()
    }

    #[test]
    fn scope_implied_claims_limited_to_registered() {
        let r = resolve_claims(
            &s(&["name", "email", "individual_id"]),
            &s(&["openid", "profile"]),
            &ClaimsRequest::default(),
            &ScopeClaims::default(),
        );
        assert_eq!(r.essential, Vec::<String>::new());
        assert_eq!(r.voluntary, s(&["name", "email"]));
        assert!(!r.details.contains_key("individual_id"));
    }

    #[test]
    fn claims_parameter_sets_essential_and_is_limited_to_registered() {
        let req = ClaimsRequest::parse(Some(&json!({"userinfo": {
            "email": {"essential": true}, "phone_number": {"essential": true}, "individual_id": null
        }})))
        .unwrap();
        let r = resolve_claims(
            &s(&["name", "email", "individual_id"]),
            &s(&["openid"]),
            &req,
            &ScopeClaims::default(),
        );
        assert_eq!(r.essential, s(&["email"]));
        assert_eq!(r.voluntary, s(&["individual_id"]));
        assert_eq!(r.all(), s(&["email", "individual_id"]));
        assert!(r.details["email"][0].essential);
    }

    #[test]
    fn nothing_requested() {
        let r = resolve_claims(
            &s(&["name"]),
            &s(&["openid"]),
            &ClaimsRequest::default(),
            &ScopeClaims::default(),
        );
        assert!(r.is_empty());
    }
}
