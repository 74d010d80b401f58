//! ACR resolution and authentication factors (reference §3.4), from an eSignet-shaped `amr_acr_mapping.json`:
//! `{"amr": {AMR: [{type, count?, subTypes?}, ...]}, "acr_amr": {ACR: [AMR, ...]}}`.
//!
//! - ACRs for a request: `claims.id_token.acr` values ∩ registered, else `acr_values` ∩ registered, else all
//!   registered (`no_acr_registered` if the client has none). Order is the request's (or the client's).
//! - Factor groups (`authFactors` of oauth-details): for each resolved ACR, for each of its AMRs, that AMR's
//!   factor list is one group; duplicates are dropped. A group is satisfied when every one of its types was
//!   provided.
//! - The ID token's `acr`: the resolved ACRs having at least one AMR group satisfied by the factors used.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::error::EsignetError;

/// The mapping shipped with this crate (`amr-acr-mapping.json`).
pub const DEFAULT_MAPPING_JSON: &str = include_str!("../../amr-acr-mapping.json");

/// One authentication factor of a group.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuthFactor {
    /// Factor type, e.g. `OTP`.
    #[serde(rename = "type")]
    pub factor_type: String,
    /// How many (biometrics); 0 when not applicable.
    #[serde(default)]
    pub count: u32,
    /// Sub-types (biometric modalities), `null` when not applicable.
    #[serde(default, rename = "subTypes")]
    pub sub_types: Option<Vec<String>>,
}

/// The amr/acr mapping.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AmrAcrMapping {
    /// AMR name → factor group.
    pub amr: BTreeMap<String, Vec<AuthFactor>>,
    /// ACR → AMR names (alternatives).
    pub acr_amr: BTreeMap<String, Vec<String>>,
}

impl AmrAcrMapping {
    /// Parses a mapping file; `acr_amr_mapping_not_found` if it is unreadable or names an unknown AMR.
    pub fn from_json(json: &str) -> Result<Self, EsignetError> {
        let m: AmrAcrMapping =
            serde_json::from_str(json).map_err(|_| EsignetError::AcrAmrMappingNotFound)?;
        let dangling = m
            .acr_amr
            .values()
            .flatten()
            .any(|amr| !m.amr.contains_key(amr));
        if dangling {
            return Err(EsignetError::AcrAmrMappingNotFound);
        }
        Ok(m)
    }

    /// The shipped default mapping.
    pub fn default_mapping() -> Result<Self, EsignetError> {
        Self::from_json(DEFAULT_MAPPING_JSON)
    }

    /// Whether `acr` is a known ACR (client registration check: `invalid_acr`).
    pub fn knows_acr(&self, acr: &str) -> bool {
        self.acr_amr.contains_key(acr)
    }

    /// The factor groups for the resolved ACRs, deduplicated, in order.
    pub fn auth_factor_groups(&self, acrs: &[String]) -> Vec<Vec<AuthFactor>> {
        let mut groups: Vec<Vec<AuthFactor>> = Vec::new();
        for amr in acrs.iter().filter_map(|a| self.acr_amr.get(a)).flatten() {
            if let Some(group) = self.amr.get(amr) {
                if !groups.contains(group) {
                    groups.push(group.clone());
                }
            }
        }
        groups
    }

    /// The resolved ACRs fully satisfied by the factor types used (the ID token `acr`, space-joined by the
    /// caller).
    pub fn satisfied_acrs(&self, acrs: &[String], used_types: &[String]) -> Vec<String> {
        acrs.iter()
            .filter(|acr| {
                self.acr_amr.get(*acr).is_some_and(|amrs| {
                    amrs.iter()
                        .filter_map(|amr| self.amr.get(amr))
                        .any(|g| group_satisfied(g, used_types))
                })
            })
            .cloned()
            .collect()
    }
}

fn group_satisfied(group: &[AuthFactor], provided: &[String]) -> bool {
    !group.is_empty() && group.iter().all(|f| provided.contains(&f.factor_type))
}

/// Resolves the ACRs of a request. See the module docs.
pub fn resolve_acrs(
    registered: &[String],
    id_token_acr_values: Option<&[String]>,
    acr_values: &[String],
) -> Result<Vec<String>, EsignetError> {
    if registered.is_empty() {
        return Err(EsignetError::NoAcrRegistered);
    }
    let pick = |wanted: &[String]| -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        for a in wanted {
            if registered.contains(a) && !out.contains(a) {
                out.push(a.clone());
            }
        }
        out
    };
    if let Some(v) = id_token_acr_values {
        let r = pick(v);
        if !r.is_empty() {
            return Ok(r);
        }
    }
    let r = pick(acr_values);
    Ok(if r.is_empty() { registered.to_vec() } else { r })
}

/// `auth_factor_mismatch` unless the provided factor types cover every type of at least one group.
pub fn auth_factors_satisfied(
    groups: &[Vec<AuthFactor>],
    provided: &[String],
) -> Result<(), EsignetError> {
    if groups.iter().any(|g| group_satisfied(g, provided)) {
        Ok(())
    } else {
        Err(EsignetError::AuthFactorMismatch)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const OTP: &str = "mosip:idp:acr:generated-code";
    const PIN: &str = "mosip:idp:acr:static-code";
    const BIO: &str = "mosip:idp:acr:biometrics";

    fn s(xs: &[&str]) -> Vec<String> {
        xs.iter().map(|x| (*x).to_owned()).collect()
    }

    #[test]
    fn default_mapping_loads() {
        let m = AmrAcrMapping::default_mapping().unwrap();
        for acr in [
            "static-code",
            "generated-code",
            "password",
            "knowledge",
            "linked-wallet",
            "biometrics",
        ] {
            assert!(m.knows_acr(&format!("mosip:idp:acr:{acr}")), "{acr}");
        }
        let g = m.auth_factor_groups(&s(&[BIO]));
        assert_eq!(
            g,
            vec![vec![AuthFactor {
                factor_type: "BIO".into(),
                count: 1,
                sub_types: None
            }]]
        );
        assert_eq!(
            serde_json::to_string(&m.auth_factor_groups(&s(&[OTP]))).unwrap(),
            r#"[[{"type":"OTP","count":0,"subTypes":null}]]"#
        );
    }

    #[test]
    fn resolution_priority() {
        let reg = s(&[OTP, PIN]);
        assert_eq!(
            resolve_acrs(&reg, Some(&s(&[PIN, "x"])), &s(&[OTP])).unwrap(),
            s(&[PIN])
        );
        assert_eq!(
            resolve_acrs(&reg, Some(&s(&["x"])), &s(&[OTP])).unwrap(),
            s(&[OTP])
        );
        assert_eq!(resolve_acrs(&reg, None, &s(&["unknown"])).unwrap(), reg);
        assert_eq!(
            resolve_acrs(&[], None, &[]),
            Err(EsignetError::NoAcrRegistered)
        );
    }

    #[test]
    fn factors_and_satisfied_acrs() {
        let m = AmrAcrMapping::default_mapping().unwrap();
        let acrs = s(&[OTP, PIN, OTP]);
        let groups = m.auth_factor_groups(&acrs);
        assert_eq!(groups.len(), 2);
        assert_eq!(auth_factors_satisfied(&groups, &s(&["OTP"])), Ok(()));
        assert_eq!(
            auth_factors_satisfied(&groups, &s(&["PWD"])),
            Err(EsignetError::AuthFactorMismatch)
        );
        assert_eq!(
            auth_factors_satisfied(&[], &s(&["OTP"])),
            Err(EsignetError::AuthFactorMismatch)
        );
        assert_eq!(m.satisfied_acrs(&s(&[OTP, PIN]), &s(&["PIN"])), s(&[PIN]));
        assert_eq!(
            m.satisfied_acrs(&s(&[OTP, PIN]), &s(&["OTP", "PIN"])),
            s(&[OTP, PIN])
        );
    }

    #[test]
    fn multi_factor_group_needs_all_types() {
        let m = AmrAcrMapping::from_json(
            r#"{"amr":{"OTP+PIN":[{"type":"OTP"},{"type":"PIN"}]},"acr_amr":{"strong":["OTP+PIN"]}}"#,
        )
        .unwrap();
        let g = m.auth_factor_groups(&s(&["strong"]));
        assert_eq!(
            auth_factors_satisfied(&g, &s(&["OTP"])),
            Err(EsignetError::AuthFactorMismatch)
        );
        assert_eq!(auth_factors_satisfied(&g, &s(&["PIN", "OTP"])), Ok(()));
        assert!(m.satisfied_acrs(&s(&["strong"]), &s(&["OTP"])).is_empty());
        assert_eq!(
            AmrAcrMapping::from_json(r#"{"amr":{},"acr_amr":{"a":["missing"]}}"#),
            Err(EsignetError::AcrAmrMappingNotFound)
        );
        assert_eq!(
            AmrAcrMapping::from_json("{"),
            Err(EsignetError::AcrAmrMappingNotFound)
        );
    }
}
