use super::*;
use serde_json::{json, Value};

fn base() -> Value {
    json!({
        "credential_configurations": {
            "Sd": {"format": "dc+sd-jwt", "scope": "s_sd", "vct": "urn:t", "claims": [{"name": "given_name"}]},
            "Vc": {"format": "jwt_vc_json", "scope": "s_vc",
                   "credential_definition": {"type": ["VerifiableCredential", "X"]},
                   "claims": [{"name": "email", "kyc_claim": "email"}]}
        }
    })
}

fn parse(v: &Value) -> Result<CredentialConfigs, String> {
    CredentialConfigs::parse(&v.to_string())
}

fn with(path: &[&str], value: Value) -> Value {
    let mut v = base();
    let mut cur = &mut v;
    for p in &path[..path.len() - 1] {
        cur = &mut cur[*p];
    }
    cur[path[path.len() - 1]] = value;
    v
}

#[test]
fn embedded_file_is_valid() {
    let c = CredentialConfigs::embedded().unwrap();
    assert_eq!(
        c.scopes(),
        vec!["mosip_identity_vc_jwt", "mosip_identity_vc_sd_jwt"]
    );
    assert_eq!(embedded_scopes(), c.scopes());
    let sd = c.get("MosipIdentitySdJwt").unwrap();
    assert!(sd.is_sd_jwt() && sd.validity_secs() == 365 * 86_400);
    assert!(sd.claims.iter().any(|cl| !cl.disclosable()));
    assert_eq!(sd.proof_algs(), PROOF_ALGS.to_vec());
}

#[test]
fn base_parses_and_maps_claims() {
    let c = parse(&base()).unwrap();
    assert_eq!(c.kyc_claims_for(&["s_sd".into()]), vec!["given_name"]);
    assert_eq!(
        c.kyc_claims_for(&["s_sd".into(), "s_vc".into()]),
        vec!["given_name", "email"]
    );
    assert!(c.kyc_claims_for(&["openid".into()]).is_empty());
    assert!(c.get("Nope").is_none());
}

#[test]
fn unknown_keys_are_refused() {
    assert!(parse(&with(&["extra"], json!(1))).is_err());
    assert!(parse(&with(
        &["credential_configurations", "Sd", "colour"],
        json!("red")
    ))
    .is_err());
    let claims = json!([{"name": "given_name", "selective": true}]);
    assert!(parse(&with(
        &["credential_configurations", "Sd", "claims"],
        claims
    ))
    .is_err());
}

#[test]
fn inconsistent_configs_are_refused() {
    let cases = [
        (vec!["credential_configurations", "Sd", "vct"], json!(null)),
        (
            vec!["credential_configurations", "Sd", "format"],
            json!("ldp_vc"),
        ),
        (
            vec!["credential_configurations", "Sd", "scope"],
            json!("s_vc"),
        ),
        (
            vec!["credential_configurations", "Sd", "scope"],
            json!("two words"),
        ),
        (vec!["credential_configurations", "Sd", "claims"], json!([])),
        (
            vec!["credential_configurations", "Sd", "claims"],
            json!([{"name": "vct"}]),
        ),
        (
            vec!["credential_configurations", "Sd", "claims"],
            json!([{"name": "a"}, {"name": "a"}]),
        ),
        (
            vec!["credential_configurations", "Sd", "validity_days"],
            json!(0),
        ),
        (
            vec![
                "credential_configurations",
                "Sd",
                "proof_signing_alg_values_supported",
            ],
            json!(["HS256"]),
        ),
        (
            vec![
                "credential_configurations",
                "Sd",
                "proof_signing_alg_values_supported",
            ],
            json!([]),
        ),
        (
            vec!["credential_configurations", "Sd", "credential_definition"],
            json!({"type": ["VerifiableCredential"]}),
        ),
        (
            vec!["credential_configurations", "Sd", "display"],
            json!([{"name": " "}]),
        ),
        (
            vec!["credential_configurations", "Vc", "credential_definition"],
            json!({"type": ["X"]}),
        ),
        (
            vec!["credential_configurations", "Vc", "vct"],
            json!("urn:x"),
        ),
        (
            vec!["credential_configurations", "Vc", "claims"],
            json!([{"name": "email", "sd": "always"}]),
        ),
        (
            vec!["credential_configurations", "Vc", "claims"],
            json!([{"name": "id"}]),
        ),
        (vec!["credential_configurations"], json!({})),
    ];
    for (path, value) in cases {
        let doc = with(&path, value.clone());
        assert!(parse(&doc).is_err(), "{path:?} = {value} was accepted");
    }
}
