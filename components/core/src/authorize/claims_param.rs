//! The `claims` request parameter (OIDC Core §5.5, OIDC4IDA `verified_claims`), parsed and checked.
//!
//! Accepted shape: a JSON object (or, from a query, its text) with optional `userinfo` and `id_token` members,
//! each an object of claim name → `null` or a detail object. Unknown top-level members and unknown detail
//! members are ignored. Detail rules (`invalid_claim` otherwise): `essential` a boolean, `value` a non-empty
//! string, `values` an array of non-empty strings, `purpose` a string of 3–300 characters.
//! `userinfo.verified_claims` may be one object or an array; each entry needs a non-empty `verification`
//! object (`invalid_verification`) and a non-empty `claims` object (`invalid_verified_claims`); each claim in
//! it becomes a detail carrying that `verification`. A userinfo claim may thus have several details (eSignet's
//! `claim → list` shape); essential if any is.
//!
//! Bounds (`invalid_claim`): at most 4096 bytes as compact JSON, at most 64 claim requests after expansion, and
//! no number JavaScript cannot represent exactly (floats, integers beyond 2^53), checked up front because the
//! parameter is later hashed with `JSON.stringify` semantics.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::error::EsignetError;

/// Largest `claims` parameter, serialized as compact JSON, in bytes.
pub const MAX_CLAIMS_BYTES: usize = 4096;
/// Most claim requests (userinfo details, one per plain claim and per verified-claims entry, plus id_token
/// claims) one `claims` parameter may make.
pub const MAX_CLAIMS_REQUESTED: usize = 64;

/// One request for a claim.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClaimDetail {
    /// `essential`.
    #[serde(default)]
    pub essential: bool,
    /// `value`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
    /// `values`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub values: Option<Vec<String>>,
    /// `purpose`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub purpose: Option<String>,
    /// The `verification` filter of a `verified_claims` entry.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verification: Option<Value>,
}

/// The parsed `claims` parameter.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClaimsRequest {
    /// Userinfo claims: claim → its details (plain request first, then verified-claims requests).
    #[serde(default)]
    pub userinfo: BTreeMap<String, Vec<ClaimDetail>>,
    /// ID-token claims (only `acr` is acted on).
    #[serde(default)]
    pub id_token: BTreeMap<String, ClaimDetail>,
}

impl ClaimsRequest {
    /// Parses the parameter; `None` or JSON `null` is an empty request.
    pub fn parse(claims: Option<&Value>) -> Result<Self, EsignetError> {
        let root = match claims {
            None | Some(Value::Null) => return Ok(Self::default()),
            Some(Value::String(text)) => {
                serde_json::from_str::<Value>(text).map_err(|_| EsignetError::InvalidClaim)?
            }
            Some(v) => v.clone(),
        };
        let size = serde_json::to_string(&root).map_or(usize::MAX, |t| t.len());
        if size > MAX_CLAIMS_BYTES || crate::js_json::check_js_safe(&root).is_err() {
            return Err(EsignetError::InvalidClaim);
        }
        let obj = root.as_object().ok_or(EsignetError::InvalidClaim)?;
        let mut out = Self::default();
        if let Some(userinfo) = member_object(obj, "userinfo")? {
            for (name, detail) in userinfo {
                if name == "verified_claims" {
                    parse_verified(detail, &mut out.userinfo)?;
                } else {
                    check_name(name)?;
                    out.userinfo
                        .entry(name.clone())
                        .or_default()
                        .push(parse_detail(detail)?);
                }
            }
        }
        if let Some(id_token) = member_object(obj, "id_token")? {
            for (name, detail) in id_token {
                if name != "verified_claims" {
                    check_name(name)?;
                    out.id_token.insert(name.clone(), parse_detail(detail)?);
                }
            }
        }
        let requested = out.userinfo.values().map(Vec::len).sum::<usize>() + out.id_token.len();
        if requested > MAX_CLAIMS_REQUESTED {
            return Err(EsignetError::InvalidClaim);
        }
        Ok(out)
    }

    /// Whether any userinfo claim is requested.
    pub fn has_userinfo(&self) -> bool {
        !self.userinfo.is_empty()
    }

    /// Whether some detail of this userinfo claim is essential.
    pub fn is_essential(&self, claim: &str) -> bool {
        self.userinfo
            .get(claim)
            .is_some_and(|ds| ds.iter().any(|d| d.essential))
    }

    /// The ACR values requested through `id_token.acr` (`values`, else `value`), if any.
    pub fn id_token_acr_values(&self) -> Option<Vec<String>> {
        let acr = self.id_token.get("acr")?;
        match (&acr.values, &acr.value) {
            (Some(vs), _) => Some(vs.clone()),
            (None, Some(v)) => Some(vec![v.clone()]),
            (None, None) => None,
        }
    }
}

fn member_object<'a>(
    obj: &'a Map<String, Value>,
    key: &str,
) -> Result<Option<&'a Map<String, Value>>, EsignetError> {
    match obj.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Object(m)) => Ok(Some(m)),
        Some(_) => Err(EsignetError::InvalidClaim),
    }
}

fn check_name(name: &str) -> Result<(), EsignetError> {
    if name.trim().is_empty() {
        Err(EsignetError::InvalidClaim)
    } else {
        Ok(())
    }
}

fn non_empty_string(v: &Value) -> Result<String, EsignetError> {
    match v.as_str() {
        Some(s) if !s.is_empty() => Ok(s.to_owned()),
        _ => Err(EsignetError::InvalidClaim),
    }
}

fn parse_detail(v: &Value) -> Result<ClaimDetail, EsignetError> {
    let obj = match v {
        Value::Null => return Ok(ClaimDetail::default()),
        Value::Object(o) => o,
        _ => return Err(EsignetError::InvalidClaim),
    };
    let mut d = ClaimDetail::default();
    if let Some(e) = obj.get("essential").filter(|e| !e.is_null()) {
        d.essential = e.as_bool().ok_or(EsignetError::InvalidClaim)?;
    }
    if let Some(v) = obj.get("value").filter(|v| !v.is_null()) {
        d.value = Some(non_empty_string(v)?);
    }
    if let Some(vs) = obj.get("values").filter(|v| !v.is_null()) {
        let arr = vs.as_array().ok_or(EsignetError::InvalidClaim)?;
        d.values = Some(arr.iter().map(non_empty_string).collect::<Result<_, _>>()?);
    }
    if let Some(p) = obj.get("purpose").filter(|p| !p.is_null()) {
        let p = p.as_str().ok_or(EsignetError::InvalidClaim)?;
        if !(3..=300).contains(&p.chars().count()) {
            return Err(EsignetError::InvalidClaim);
        }
        d.purpose = Some(p.to_owned());
    }
    Ok(d)
}

fn parse_verified(
    v: &Value,
    into: &mut BTreeMap<String, Vec<ClaimDetail>>,
) -> Result<(), EsignetError> {
    let entries: Vec<&Value> = match v {
        Value::Array(a) if !a.is_empty() => a.iter().collect(),
        Value::Object(_) => vec![v],
        _ => return Err(EsignetError::InvalidVerifiedClaims),
    };
    for entry in entries {
        let obj = entry
            .as_object()
            .ok_or(EsignetError::InvalidVerifiedClaims)?;
        let verification = match obj.get("verification") {
            Some(Value::Object(m)) if !m.is_empty() => Value::Object(m.clone()),
            _ => return Err(EsignetError::InvalidVerification),
        };
        let claims = match obj.get("claims") {
            Some(Value::Object(m)) if !m.is_empty() => m,
            _ => return Err(EsignetError::InvalidVerifiedClaims),
        };
        for (name, detail) in claims {
            check_name(name)?;
            // Bound the copies of `verification` before making them.
            if into.values().map(Vec::len).sum::<usize>() >= MAX_CLAIMS_REQUESTED {
                return Err(EsignetError::InvalidClaim);
            }
            let mut d = parse_detail(detail)?;
            d.verification = Some(verification.clone());
            into.entry(name.clone()).or_default().push(d);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn parses_userinfo_and_id_token() {
        let c = ClaimsRequest::parse(Some(&json!({
            "userinfo": {"email": {"essential": true}, "name": null, "birthdate": {"purpose": "age check"}},
            "id_token": {"acr": {"values": ["mosip:idp:acr:generated-code"]}},
            "other": 1
        })))
        .unwrap();
        assert!(c.is_essential("email"));
        assert!(!c.is_essential("name"));
        assert_eq!(
            c.userinfo["birthdate"][0].purpose.as_deref(),
            Some("age check")
        );
        assert_eq!(
            c.id_token_acr_values(),
            Some(vec!["mosip:idp:acr:generated-code".to_owned()])
        );
    }

    #[test]
    fn text_form_and_empty() {
        let text = json!(r#"{"userinfo":{"email":null}}"#);
        assert!(ClaimsRequest::parse(Some(&text)).unwrap().has_userinfo());
        assert_eq!(
            ClaimsRequest::parse(None).unwrap(),
            ClaimsRequest::default()
        );
        assert_eq!(
            ClaimsRequest::parse(Some(&json!("{bad"))),
            Err(EsignetError::InvalidClaim)
        );
    }

    #[test]
    fn rejects_bad_details() {
        for bad in [
            json!([1]),
            json!({"userinfo": []}),
            json!({"userinfo": {"email": true}}),
            json!({"userinfo": {"email": {"essential": "yes"}}}),
            json!({"userinfo": {"email": {"purpose": "ab"}}}),
            json!({"userinfo": {"email": {"purpose": "x".repeat(301)}}}),
            json!({"userinfo": {"email": {"value": ""}}}),
            json!({"userinfo": {"email": {"values": "a"}}}),
            json!({"userinfo": {"email": {"values": [1]}}}),
            json!({"userinfo": {"": null}}),
        ] {
            assert_eq!(
                ClaimsRequest::parse(Some(&bad)),
                Err(EsignetError::InvalidClaim),
                "{bad}"
            );
        }
        let ok = json!({"userinfo": {"email": {"purpose": "x".repeat(300)}}});
        assert!(ClaimsRequest::parse(Some(&ok)).is_ok());
    }

    #[test]
    fn verified_claims() {
        let v = json!({"userinfo": {
            "name": null,
            "verified_claims": [{"verification": {"trust_framework": {"value": "nin"}},
                                 "claims": {"name": {"essential": true}, "birthdate": null}}]
        }});
        let c = ClaimsRequest::parse(Some(&v)).unwrap();
        assert_eq!(c.userinfo["name"].len(), 2);
        assert!(c.is_essential("name"));
        assert!(c.userinfo["birthdate"][0].verification.is_some());
        let no_verif = json!({"userinfo": {"verified_claims": {"claims": {"name": null}}}});
        assert_eq!(
            ClaimsRequest::parse(Some(&no_verif)),
            Err(EsignetError::InvalidVerification)
        );
        let no_claims =
            json!({"userinfo": {"verified_claims": {"verification": {"a": 1}, "claims": {}}}});
        assert_eq!(
            ClaimsRequest::parse(Some(&no_claims)),
            Err(EsignetError::InvalidVerifiedClaims)
        );
    }

    #[test]
    fn bounds_size_count_and_numbers() {
        let big = json!({"userinfo": {"name": {"purpose": "x".repeat(300)},
                                      "email": {"values": vec!["v".repeat(100); 40]}}});
        assert_eq!(
            ClaimsRequest::parse(Some(&big)),
            Err(EsignetError::InvalidClaim)
        );
        let text = Value::String(big.to_string());
        assert_eq!(
            ClaimsRequest::parse(Some(&text)),
            Err(EsignetError::InvalidClaim)
        );
        let names = |n: usize| -> Map<String, Value> {
            (0..n).map(|i| (format!("c{i}"), Value::Null)).collect()
        };
        let at_limit = json!({"userinfo": names(MAX_CLAIMS_REQUESTED)});
        assert!(ClaimsRequest::parse(Some(&at_limit)).is_ok());
        let over = json!({"userinfo": names(MAX_CLAIMS_REQUESTED + 1)});
        assert_eq!(
            ClaimsRequest::parse(Some(&over)),
            Err(EsignetError::InvalidClaim)
        );
        // Verified claims expand per claim and entry: 2 entries x 40 claims.
        let entry =
            json!({"verification": {"trust_framework": {"value": "nin"}}, "claims": names(40)});
        let expanded = json!({"userinfo": {"verified_claims": [entry.clone(), entry]}});
        assert_eq!(
            ClaimsRequest::parse(Some(&expanded)),
            Err(EsignetError::InvalidClaim)
        );
        for bad in [
            json!({"userinfo": {"verified_claims": {"verification": {"x": 1.5}, "claims": {"name": null}}}}),
            json!({"userinfo": {"verified_claims": {"verification": {"x": 9007199254740993_u64},
                                                     "claims": {"name": null}}}}),
            json!({"id_token": {"acr": null}, "extra": [0.1]}),
        ] {
            assert_eq!(
                ClaimsRequest::parse(Some(&bad)),
                Err(EsignetError::InvalidClaim),
                "{bad}"
            );
        }
        let ok = json!({"userinfo": {"verified_claims": {"verification": {"x": 9007199254740991_u64},
                                                          "claims": {"name": null}}}});
        assert!(ClaimsRequest::parse(Some(&ok)).is_ok());
    }
}
