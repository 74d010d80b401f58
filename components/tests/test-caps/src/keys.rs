//! `/keys?purpose=P` signs and verifies with the purpose's current key; `/keys/verify` verifies a caller's JWS
//! against a caller's JWK; `/keys/jwe` encrypts to a caller's JWK; `/keys/jwe-roundtrip?purpose=P` encrypts to
//! the purpose's own public key (from `public-jwks`) and decrypts with `jwe-decrypt`.

use esignet_sdk::keys;
use esignet_sdk::{Request, Response};
use serde_json::{json, Value as Json};

use crate::{required, tag, OrRespond, Outcome};

const JWE_ALG: &str = "RSA-OAEP-256";
const JWE_ENC: &str = "A256GCM";

pub fn run(req: &Request) -> Outcome {
    let purpose = required(req, "purpose")?;
    let key = keys::current_key(&purpose).or_respond()?;
    let payload = json!({ "sub": "test-caps", "tag": tag(req) }).to_string();
    let jws = keys::sign_jws(&purpose, r#"{"typ":"JWT"}"#, payload.as_bytes()).or_respond()?;
    let (header, verified) = keys::verify_own_jws(&purpose, &jws).or_respond()?;
    let jwks = keys::public_jwks(std::slice::from_ref(&purpose)).or_respond()?;
    Ok(Response::json(&json!({
        "kid": key.kid,
        "alg": key.alg,
        "jws": jws,
        "verified_header": parse(header.as_bytes()),
        "verified_payload": parse(&verified),
        "jwks": parse(jwks.as_bytes()),
    })))
}

pub fn verify(req: &Request) -> Outcome {
    let body: Json = req.json().map_err(|_| bad_request())?;
    let jws = body["jws"].as_str().ok_or_else(bad_request)?;
    let jwk = json_text(&body["jwk"]).ok_or_else(bad_request)?;
    let algs: Vec<String> = body["algs"]
        .as_array()
        .ok_or_else(bad_request)?
        .iter()
        .filter_map(|a| a.as_str().map(String::from))
        .collect();
    let (header, payload) = keys::verify_jws(jws, &jwk, &algs).or_respond()?;
    Ok(Response::json(&json!({ "header": parse(header.as_bytes()), "payload": parse(&payload) })))
}

pub fn jwe(req: &Request) -> Outcome {
    let body: Json = req.json().map_err(|_| bad_request())?;
    let jwk = json_text(&body["jwk"]).ok_or_else(bad_request)?;
    let plaintext = body["plaintext"].as_str().ok_or_else(bad_request)?;
    let alg = body["alg"].as_str().unwrap_or(JWE_ALG);
    let enc = body["enc"].as_str().unwrap_or(JWE_ENC);
    let cty = body["cty"].as_str().map(String::from);
    let jwe = keys::jwe_encrypt(&jwk, alg, enc, plaintext.as_bytes(), cty.as_deref()).or_respond()?;
    Ok(Response::json(&json!({ "jwe": jwe })))
}

pub fn jwe_roundtrip(req: &Request) -> Outcome {
    let purpose = required(req, "purpose")?;
    let current = keys::current_key(&purpose).or_respond()?;
    let jwks: Json = serde_json::from_str(&keys::public_jwks(std::slice::from_ref(&purpose)).or_respond()?)
        .map_err(|_| Response::error(500, "bad_jwks"))?;
    let all = jwks["keys"].as_array().cloned().unwrap_or_default();
    let jwk = all
        .iter()
        .find(|k| k["kid"].as_str() == Some(current.kid.as_str()))
        .or_else(|| all.first())
        .ok_or_else(|| Response::error(500, "no_public_key"))?;
    let plaintext = format!("roundtrip {}", tag(req));
    let jwe = keys::jwe_encrypt(&jwk.to_string(), JWE_ALG, JWE_ENC, plaintext.as_bytes(), None).or_respond()?;
    let decrypted = keys::jwe_decrypt(&purpose, &jwe).or_respond()?;
    let decrypted = String::from_utf8_lossy(&decrypted).into_owned();
    Ok(Response::json(&json!({
        "kid": jwk["kid"],
        "jwe": jwe,
        "decrypted": decrypted,
        "matches": decrypted == plaintext,
    })))
}

fn bad_request() -> Response {
    Response::error(400, "invalid_request")
}

/// A JWK given either as a JSON object or as a string holding one.
fn json_text(value: &Json) -> Option<String> {
    match value {
        Json::String(s) => Some(s.clone()),
        Json::Object(_) => Some(value.to_string()),
        _ => None,
    }
}

/// JSON when the bytes parse as JSON, else the lossy text.
fn parse(bytes: &[u8]) -> Json {
    serde_json::from_slice(bytes).unwrap_or_else(|_| Json::String(String::from_utf8_lossy(bytes).into_owned()))
}
