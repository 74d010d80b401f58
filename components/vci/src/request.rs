//! The credential request body (OpenID4VCI 1.0 §8.2) and its errors (§8.3.1), in the order they are checked.
//!
//! `Content-Type: application/json` and a JSON object, else `invalid_credential_request`.
//! `credential_response_encryption` → `invalid_encryption_parameters` (this issuer encrypts nothing).
//! `credential_configuration_id` and `credential_identifier` are exclusive: both or neither, or a non-string,
//! is `invalid_credential_request`; a `credential_identifier` alone is `unknown_credential_identifier`
//! (identifiers come only with `authorization_details`, which this issuer does not grant yet). Unknown members
//! (`format`, a draft's `proof`, anything else) are ignored, as the spec requires. Then [`jwt_proof`]:
//! `proofs` missing is `invalid_proof`; not an object with exactly one member, or its value not a one-element
//! array of strings, is `invalid_credential_request` (more than one proof asks for batch issuance, which is
//! not offered); a proof type other than `jwt` is `invalid_proof`.

use esignet_sdk::Request;
use serde_json::{Map, Value};

use crate::reply::VciError;

/// A credential request that passed the body checks.
#[derive(Debug, Clone, PartialEq)]
pub struct CredentialRequest {
    /// `credential_configuration_id`.
    pub configuration_id: String,
    /// `proofs`, if sent.
    pub proofs: Option<Value>,
}

fn malformed(reason: &'static str) -> VciError {
    VciError::InvalidCredentialRequest(reason)
}

/// Reads a JSON object body; `bad` when it is not one.
pub fn json_object(req: &Request, bad: VciError) -> Result<Map<String, Value>, VciError> {
    if !req.is_json() {
        return Err(bad);
    }
    match serde_json::from_slice(&req.body) {
        Ok(Value::Object(m)) => Ok(m),
        _ => Err(bad),
    }
}

/// Parses the body (module docs).
pub fn parse(req: &Request) -> Result<CredentialRequest, VciError> {
    let body = json_object(
        req,
        malformed("the body must be a JSON object sent as application/json"),
    )?;
    if body.contains_key("credential_response_encryption") {
        return Err(VciError::InvalidEncryptionParameters);
    }
    let configuration_id = match (
        body.get("credential_configuration_id"),
        body.get("credential_identifier"),
    ) {
        (Some(Value::String(id)), None) => id.clone(),
        (None, Some(Value::String(_))) => return Err(VciError::UnknownCredentialIdentifier),
        (Some(_), Some(_)) => {
            return Err(malformed(
                "send credential_configuration_id or credential_identifier, not both",
            ))
        }
        (None, None) => return Err(malformed("credential_configuration_id is required")),
        _ => return Err(malformed("the credential id must be a string")),
    };
    Ok(CredentialRequest {
        configuration_id,
        proofs: body.get("proofs").cloned(),
    })
}

/// The one `jwt` proof of the request (module docs).
pub fn jwt_proof(request: &CredentialRequest) -> Result<String, VciError> {
    let Some(proofs) = &request.proofs else {
        return Err(VciError::InvalidProof("proofs is required"));
    };
    let Some(proofs) = proofs.as_object() else {
        return Err(malformed("proofs must be an object"));
    };
    let mut entries = proofs.iter();
    let (Some((kind, list)), None) = (entries.next(), entries.next()) else {
        return Err(malformed("proofs must have exactly one proof type"));
    };
    let Some(list) = list.as_array() else {
        return Err(malformed("the proofs value must be an array"));
    };
    let jwt = match list.as_slice() {
        [] => return Err(malformed("the proofs array is empty")),
        [Value::String(jwt)] => jwt.clone(),
        [_] => return Err(malformed("a proof must be a string")),
        _ => return Err(malformed("batch issuance is not supported: send one proof")),
    };
    if kind != "jwt" {
        return Err(VciError::InvalidProof(
            "only the jwt proof type is supported",
        ));
    }
    Ok(jwt)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn req(body: &str, content_type: &str) -> Request {
        Request {
            method: "POST".into(),
            path: "/v1/esignet/vci/credential".into(),
            headers: vec![("content-type".into(), content_type.into())],
            body: body.as_bytes().to_vec(),
            ..Request::default()
        }
    }

    fn code(body: Value) -> &'static str {
        match parse(&req(&body.to_string(), "application/json")).and_then(|r| jwt_proof(&r)) {
            Ok(_) => "ok",
            Err(e) => e.code(),
        }
    }

    #[test]
    fn ids_and_body() {
        let ok = json!({"credential_configuration_id": "X", "proofs": {"jwt": ["a.b.c"]}, "format": "x"});
        assert_eq!(code(ok.clone()), "ok");
        assert_eq!(
            parse(&req(&ok.to_string(), "application/json"))
                .unwrap()
                .configuration_id,
            "X"
        );
        assert_eq!(
            code(json!({"credential_identifier": "X"})),
            "unknown_credential_identifier"
        );
        assert_eq!(
            code(json!({"credential_identifier": "X", "credential_configuration_id": "X"})),
            "invalid_credential_request"
        );
        assert_eq!(
            code(json!({"proofs": {"jwt": ["a"]}})),
            "invalid_credential_request"
        );
        assert_eq!(
            code(json!({"credential_configuration_id": 5})),
            "invalid_credential_request"
        );
        assert_eq!(
            code(json!({"credential_configuration_id": "X", "credential_response_encryption": {}})),
            "invalid_encryption_parameters"
        );
        let bad_type = parse(&req(&ok.to_string(), "text/plain")).unwrap_err();
        assert_eq!(bad_type.code(), "invalid_credential_request");
        assert_eq!(
            parse(&req("[1]", "application/json")).unwrap_err().code(),
            "invalid_credential_request"
        );
        assert_eq!(
            parse(&req("{", "application/json")).unwrap_err().code(),
            "invalid_credential_request"
        );
    }

    #[test]
    fn proofs_shape() {
        let with =
            |proofs: Value| code(json!({"credential_configuration_id": "X", "proofs": proofs}));
        assert_eq!(
            code(json!({"credential_configuration_id": "X"})),
            "invalid_proof"
        );
        assert_eq!(
            code(json!({"credential_configuration_id": "X", "proof": {"jwt": "a"}})),
            "invalid_proof"
        );
        assert_eq!(
            with(json!({"jwt": ["a"], "di_vp": ["b"]})),
            "invalid_credential_request"
        );
        assert_eq!(with(json!({"jwt": "a.b.c"})), "invalid_credential_request");
        assert_eq!(with(json!({"jwt": []})), "invalid_credential_request");
        assert_eq!(
            with(json!({"jwt": ["a", "b"]})),
            "invalid_credential_request"
        );
        assert_eq!(with(json!({"jwt": [5]})), "invalid_credential_request");
        assert_eq!(with(json!({})), "invalid_credential_request");
        assert_eq!(with(json!(["a"])), "invalid_credential_request");
        assert_eq!(with(json!({"di_vp": ["a"]})), "invalid_proof");
    }
}
