//! Component artifacts fetched from an HTTP(S) URL and pinned by digest, as Spin's manifest allows
//! (`source = { url = "...", digest = "sha256:..." }`). A fetched artifact whose SHA-256 differs from the pinned
//! digest is refused with both digests named; a verified one is kept under `<data-dir>/artifacts/<digest>.wasm`
//! so that a restart needs no network.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{anyhow, bail, Context, Result};

use crate::deploy::sha256_hex;

/// Largest artifact accepted.
pub const MAX_ARTIFACT_BYTES: u64 = 64 << 20;

/// The hex SHA-256 of a `sha256:<hex>` digest string.
pub fn parse_digest(digest: &str) -> Result<String> {
    let hex = digest
        .strip_prefix("sha256:")
        .ok_or_else(|| anyhow!("digest `{digest}` must be `sha256:<64 hex digits>`"))?;
    if hex.len() != 64 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        bail!("digest `{digest}` must be `sha256:<64 hex digits>`");
    }
    Ok(hex.to_ascii_lowercase())
}

fn cache_path(data_dir: &Path, hex: &str) -> PathBuf {
    data_dir.join("artifacts").join(format!("{hex}.wasm"))
}

/// Fetches `url` (or takes it from the local artifact cache) and checks it against `digest`.
pub async fn fetch(url: &str, digest: &str, data_dir: &Path) -> Result<Vec<u8>> {
    let want = parse_digest(digest)?;
    let cached = cache_path(data_dir, &want);
    if let Ok(bytes) = tokio::fs::read(&cached).await {
        if sha256_hex(&bytes) == want {
            return Ok(bytes);
        }
    }
    let owned = url.to_string();
    let bytes = tokio::task::spawn_blocking(move || download(&owned))
        .await
        .map_err(|e| anyhow!("download task failed: {e}"))??;
    let got = sha256_hex(&bytes);
    if got != want {
        bail!("artifact {url}: digest mismatch (pinned sha256:{want}, fetched sha256:{got}); refused");
    }
    if let Some(dir) = cached.parent() {
        tokio::fs::create_dir_all(dir).await?;
    }
    let tmp = cached.with_extension("tmp");
    tokio::fs::write(&tmp, &bytes).await?;
    tokio::fs::rename(&tmp, &cached).await?;
    Ok(bytes)
}

fn download(url: &str) -> Result<Vec<u8>> {
    let parsed = url::Url::parse(url).with_context(|| format!("artifact URL `{url}`"))?;
    if !matches!(parsed.scheme(), "http" | "https") {
        bail!("artifact URL `{url}` must be http or https");
    }
    let tls = native_tls::TlsConnector::new().map_err(|e| anyhow!("TLS: {e}"))?;
    let agent = ureq::AgentBuilder::new()
        .timeout_connect(Duration::from_secs(10))
        .timeout(Duration::from_secs(60))
        .tls_connector(Arc::new(tls))
        .build();
    let resp = agent.get(url).call().map_err(|e| anyhow!("fetching {url}: {e}"))?;
    let mut bytes = Vec::new();
    resp.into_reader()
        .take(MAX_ARTIFACT_BYTES + 1)
        .read_to_end(&mut bytes)
        .with_context(|| format!("reading {url}"))?;
    if bytes.len() as u64 > MAX_ARTIFACT_BYTES {
        bail!("artifact {url} is larger than {MAX_ARTIFACT_BYTES} bytes");
    }
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digests_are_checked_for_form() {
        assert!(parse_digest("sha256:abc").is_err());
        assert!(parse_digest(&format!("md5:{}", "a".repeat(64))).is_err());
        assert_eq!(parse_digest(&format!("sha256:{}", "A".repeat(64))).unwrap(), "a".repeat(64));
    }
}
