//! The issuer's public documents, all generated from the credential configurations and the keystore's public
//! keys of purpose `vci-issuer`:
//!
//! - Credential issuer metadata (OpenID4VCI 1.0 §12.2), one document served at three places that must agree
//!   (inji-certify#967 is the bug this avoids): the 1.0 location with `/.well-known/openid-credential-issuer`
//!   inserted between host and path (`/.well-known/openid-credential-issuer/v1/esignet`; the bare
//!   `/.well-known/openid-credential-issuer` too), the draft location appended to the identifier
//!   (`/v1/esignet/.well-known/openid-credential-issuer`, which Inji's wallet uses), and eSignet 1.4's
//!   `/v1/esignet/vci/.well-known/openid-credential-issuer`. Only 1.0 members: no `credentials_supported`,
//!   no `cryptographic_suites_supported`, no `c_nonce` anywhere.
//! - JWT VC issuer metadata (SD-JWT VC §5) at `/.well-known/jwt-vc-issuer[/v1/esignet]`: `{issuer, jwks}`.
//! - The did:web document at `/.well-known/did.json`: the same keys as `JsonWebKey2020` verification methods
//!   (`id` = `<did>#<kid>`, so a JWT's `kid` is the fragment), listed under `assertionMethod`.
//!
//! Claims descriptions (App. B.2) use `path: [name]` for SD-JWT VC and `["credentialSubject", name]` for
//! `jwt_vc_json`. Binding is `jwk` for SD-JWT VC (`cnf.jwk`) and `did:jwk` for `jwt_vc_json` (`sub`).

use esignet_core::credential::config::{CredentialConfig, FORMAT_SD_JWT};
use esignet_core::credential::CredentialConfigs;
use serde_json::{json, Map, Value};

use crate::settings::Issuer;

const WELL_KNOWN_VCI: &str = "/.well-known/openid-credential-issuer";
const WELL_KNOWN_JWT_VC: &str = "/.well-known/jwt-vc-issuer";
/// The did:web document's path for a did without path.
pub const DID_DOCUMENT_PATH: &str = "/.well-known/did.json";

/// Which public document a path names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Document {
    /// Credential issuer metadata.
    IssuerMetadata,
    /// JWT VC issuer metadata.
    JwtVcIssuer,
    /// The did:web document.
    Did,
}

/// The document served at `path`, if any.
pub fn document_for(path: &str, issuer: &Issuer) -> Option<Document> {
    let p = issuer.path.as_str();
    let metadata = [
        WELL_KNOWN_VCI.to_owned(),
        format!("{WELL_KNOWN_VCI}{p}"),
        format!("{p}{WELL_KNOWN_VCI}"),
        format!("{p}/vci{WELL_KNOWN_VCI}"),
    ];
    if metadata.iter().any(|m| m == path) {
        Some(Document::IssuerMetadata)
    } else if path == WELL_KNOWN_JWT_VC || path == format!("{WELL_KNOWN_JWT_VC}{p}") {
        Some(Document::JwtVcIssuer)
    } else if path == DID_DOCUMENT_PATH {
        Some(Document::Did)
    } else {
        None
    }
}

fn claims_descriptions(c: &CredentialConfig) -> Vec<Value> {
    c.claims
        .iter()
        .map(|claim| {
            let path = if c.format == FORMAT_SD_JWT {
                json!([claim.name])
            } else {
                json!(["credentialSubject", claim.name])
            };
            let mut d = Map::new();
            d.insert("path".into(), path);
            if claim.mandatory {
                d.insert("mandatory".into(), Value::Bool(true));
            }
            if !claim.display.is_empty() {
                d.insert("display".into(), json!(claim.display));
            }
            Value::Object(d)
        })
        .collect()
}

fn configuration(c: &CredentialConfig, signing_alg: &str) -> Value {
    let mut m = Map::new();
    m.insert("format".into(), json!(c.format));
    m.insert("scope".into(), json!(c.scope));
    let binding = if c.is_sd_jwt() { "jwk" } else { "did:jwk" };
    m.insert(
        "cryptographic_binding_methods_supported".into(),
        json!([binding]),
    );
    m.insert(
        "credential_signing_alg_values_supported".into(),
        json!([signing_alg]),
    );
    m.insert(
        "proof_types_supported".into(),
        json!({"jwt": {"proof_signing_alg_values_supported": c.proof_algs()}}),
    );
    if let Some(vct) = &c.vct {
        m.insert("vct".into(), json!(vct));
    }
    if let Some(def) = &c.credential_definition {
        m.insert("credential_definition".into(), json!({"type": def.types}));
    }
    let mut meta = Map::new();
    if !c.display.is_empty() {
        meta.insert("display".into(), json!(c.display));
    }
    meta.insert("claims".into(), Value::Array(claims_descriptions(c)));
    m.insert("credential_metadata".into(), Value::Object(meta));
    Value::Object(m)
}

/// The credential issuer metadata. `signing_alg` is the algorithm of the `vci-issuer` key.
pub fn issuer_metadata(issuer: &Issuer, configs: &CredentialConfigs, signing_alg: &str) -> Value {
    let supported: Map<String, Value> = configs
        .credential_configurations
        .iter()
        .map(|(id, c)| (id.clone(), configuration(c, signing_alg)))
        .collect();
    let mut m = Map::new();
    m.insert("credential_issuer".into(), json!(issuer.identifier));
    m.insert("authorization_servers".into(), json!([issuer.identifier]));
    m.insert(
        "credential_endpoint".into(),
        json!(issuer.endpoint("credential")),
    );
    m.insert("nonce_endpoint".into(), json!(issuer.endpoint("nonce")));
    m.insert(
        "notification_endpoint".into(),
        json!(issuer.endpoint("notification")),
    );
    if !configs.display.is_empty() {
        m.insert("display".into(), json!(configs.display));
    }
    m.insert(
        "credential_configurations_supported".into(),
        Value::Object(supported),
    );
    Value::Object(m)
}

/// `{issuer, jwks}` for SD-JWT VC key discovery.
pub fn jwt_vc_issuer(issuer: &Issuer, jwks: &Value) -> Value {
    json!({"issuer": issuer.identifier, "jwks": jwks})
}

/// The did:web document of the issuer keys in `jwks`.
pub fn did_document(issuer: &Issuer, jwks: &Value) -> Value {
    let keys = jwks
        .get("keys")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let methods: Vec<Value> = keys
        .iter()
        .filter_map(|k| {
            let kid = k.get("kid")?.as_str()?;
            Some(json!({
                "id": format!("{}#{kid}", issuer.did),
                "type": "JsonWebKey2020",
                "controller": issuer.did,
                "publicKeyJwk": k,
            }))
        })
        .collect();
    let ids: Vec<Value> = methods
        .iter()
        .filter_map(|m| m.get("id").cloned())
        .collect();
    json!({
        "@context": ["https://www.w3.org/ns/did/v1", "https://w3id.org/security/suites/jws-2020/v1"],
        "id": issuer.did,
        "verificationMethod": methods,
        "assertionMethod": ids,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn issuer() -> Issuer {
        Issuer::new("http://127.0.0.1:8088/v1/esignet")
    }

    #[test]
    fn paths_map_to_documents() {
        let i = issuer();
        for p in [
            "/.well-known/openid-credential-issuer",
            "/.well-known/openid-credential-issuer/v1/esignet",
            "/v1/esignet/.well-known/openid-credential-issuer",
            "/v1/esignet/vci/.well-known/openid-credential-issuer",
        ] {
            assert_eq!(document_for(p, &i), Some(Document::IssuerMetadata), "{p}");
        }
        assert_eq!(
            document_for("/.well-known/jwt-vc-issuer/v1/esignet", &i),
            Some(Document::JwtVcIssuer)
        );
        assert_eq!(
            document_for("/.well-known/did.json", &i),
            Some(Document::Did)
        );
        assert_eq!(
            document_for("/.well-known/openid-credential-issuer/other", &i),
            None
        );
    }

    #[test]
    fn metadata_is_generated_from_configs() {
        let configs = CredentialConfigs::embedded().unwrap();
        let m = issuer_metadata(&issuer(), &configs, "ES256");
        assert_eq!(m["credential_issuer"], "http://127.0.0.1:8088/v1/esignet");
        assert_eq!(
            m["nonce_endpoint"],
            "http://127.0.0.1:8088/v1/esignet/vci/nonce"
        );
        let sd = &m["credential_configurations_supported"]["MosipIdentitySdJwt"];
        assert_eq!(sd["format"], "dc+sd-jwt");
        assert_eq!(
            sd["cryptographic_binding_methods_supported"],
            json!(["jwk"])
        );
        assert_eq!(
            sd["credential_metadata"]["claims"][0]["path"],
            json!(["given_name"])
        );
        assert!(sd["credential_metadata"]["display"][0]["name"].is_string());
        let vc = &m["credential_configurations_supported"]["MosipIdentityJwtVc"];
        assert_eq!(
            vc["credential_definition"]["type"][0],
            "VerifiableCredential"
        );
        assert_eq!(
            vc["credential_metadata"]["claims"][0]["path"],
            json!(["credentialSubject", "given_name"])
        );
        assert!(m.get("credentials_supported").is_none() && vc.get("vct").is_none());
    }

    #[test]
    fn did_document_lists_the_keys() {
        let jwks =
            json!({"keys": [{"kty": "EC", "crv": "P-256", "x": "x", "y": "y", "kid": "k1"}]});
        let d = did_document(&issuer(), &jwks);
        assert_eq!(d["id"], "did:web:127.0.0.1%3A8088");
        assert_eq!(
            d["verificationMethod"][0]["id"],
            "did:web:127.0.0.1%3A8088#k1"
        );
        assert_eq!(d["assertionMethod"], json!(["did:web:127.0.0.1%3A8088#k1"]));
        assert_eq!(jwt_vc_issuer(&issuer(), &jwks)["jwks"], jwks);
    }
}
