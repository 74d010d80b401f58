//! The single-machine demo: with embedded defaults, `esignet up` loads demo identities into the mock identity
//! system and registers one demo client (whose private key it keeps in the data directory), through the
//! components' own APIs, then writes `<data-dir>/demo.json` so that a person or a script can log in at once.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{anyhow, bail, Context, Result};
use serde_json::{json, Value};

use crate::backends::jose;
use crate::server::App;

pub struct DemoFiles {
    pub identities: PathBuf,
    pub client: PathBuf,
}

fn write_private(path: &Path, bytes: &[u8]) -> Result<()> {
    let tmp = path.with_extension("tmp");
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    options.open(&tmp)?.write_all(bytes)?;
    std::fs::rename(&tmp, path)?;
    Ok(())
}

fn envelope(request: &Value) -> Vec<u8> {
    let now = humantime::format_rfc3339_millis(std::time::SystemTime::now()).to_string();
    json!({ "requestTime": now, "request": request }).to_string().into_bytes()
}

/// The error codes of an eSignet-style response, empty on success.
fn error_codes(body: &[u8]) -> Vec<String> {
    serde_json::from_slice::<Value>(body)
        .ok()
        .and_then(|v| v.get("errors").and_then(Value::as_array).cloned())
        .unwrap_or_default()
        .iter()
        .filter_map(|e| e.get("errorCode").and_then(Value::as_str).map(str::to_string))
        .collect()
}

async fn post(app: &App, path: &str, request: &Value, tolerated: &[&str]) -> Result<()> {
    let resp = app.internal("POST", path, envelope(request)).await?;
    let codes = error_codes(&resp.body);
    if resp.status >= 300 || codes.iter().any(|c| !tolerated.contains(&c.as_str())) {
        bail!("POST {path}: status {} errors {:?}", resp.status, codes);
    }
    Ok(())
}

/// Seeds the demo and returns the demo.json document.
pub async fn seed(app: &App, files: &DemoFiles, data_dir: &Path, issuer: &str) -> Result<Value> {
    let key_path = data_dir.join("demo-client-key.json");
    let private_jwk: Value = match std::fs::read(&key_path) {
        Ok(bytes) => serde_json::from_slice(&bytes)?,
        Err(_) => {
            let jwk = jose::generate_key("ES256").map_err(|e| anyhow!("{e}"))?;
            let v = Value::Object(jwk.as_ref().clone());
            write_private(&key_path, v.to_string().as_bytes())?;
            v
        }
    };
    let jwk = josekit::jwk::Jwk::from_map(private_jwk.as_object().cloned().unwrap_or_default())?;
    let public_jwk = jose::public_jwk(&jwk).map_err(|e| anyhow!("{e}"))?;

    let identities: Vec<Value> = serde_json::from_slice(
        &std::fs::read(&files.identities).with_context(|| format!("reading {}", files.identities.display()))?,
    )?;
    let mut logins = Vec::new();
    for demo in &identities {
        let identity = demo.get("identity").ok_or_else(|| anyhow!("demo identity without `identity`"))?;
        post(app, "/v1/mock-identity-system/identity", identity, &["duplicate_individual_id"]).await?;
        logins.push(demo.get("login").cloned().unwrap_or(Value::Null));
    }

    let mut client: Value = serde_json::from_slice(
        &std::fs::read(&files.client).with_context(|| format!("reading {}", files.client.display()))?,
    )?;
    client["publicKey"] = public_jwk;
    post(app, "/v1/esignet/client-mgmt/client", &client, &["duplicate_client_id"]).await?;

    let doc = json!({
        "issuer": issuer,
        "client_id": client["clientId"],
        "client_private_jwk": private_jwk,
        "redirect_uri": client["redirectUris"][0],
        "identities": logins,
    });
    write_private(&data_dir.join("demo.json"), serde_json::to_string_pretty(&doc)?.as_bytes())?;
    Ok(doc)
}
