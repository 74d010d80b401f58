//! The credential configurations an issuer offers (`credential-configurations.json`), parsed strictly and
//! checked for consistency before anything is served from them.
//!
//! The file is the single source of the issuer metadata's `credential_configurations_supported`, of the
//! credential scopes the authorization endpoint accepts, and of the claims the token endpoint asks the identity
//! system for. Unknown keys anywhere are refused. Consistency rules, each refused with a message naming the
//! configuration: ids and scopes are non-empty RFC 6749 scope tokens, scopes unique across configurations (a
//! scope selects one configuration); `dc+sd-jwt` needs `vct` and no `credential_definition`, `jwt_vc_json`
//! needs `credential_definition.type` containing `VerifiableCredential` and no `vct`; `sd` is allowed only
//! for `dc+sd-jwt`; claims are non-empty, unique, not a name the format reserves (`iss`, `vct`, `cnf`, `_sd`,
//! `id`, ...); `validity_days` is 1..=3650; proof algorithms are among those the host verifies; every display
//! has a non-empty name.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

/// The configurations shipped with the product.
pub const EMBEDDED_JSON: &str = include_str!("../../credential-configurations.json");

/// `dc+sd-jwt` (SD-JWT VC).
pub const FORMAT_SD_JWT: &str = "dc+sd-jwt";
/// `jwt_vc_json` (W3C VCDM 1.1 as a JWT).
pub const FORMAT_JWT_VC: &str = "jwt_vc_json";
/// Proof signing algorithms the host can verify, in the order advertised by default.
pub const PROOF_ALGS: [&str; 4] = ["ES256", "EdDSA", "RS256", "PS256"];
/// Default credential validity.
pub const DEFAULT_VALIDITY_DAYS: u32 = 365;

const RESERVED_SD_JWT: [&str; 12] = [
    "iss", "sub", "iat", "nbf", "exp", "vct", "cnf", "status", "_sd", "_sd_alg", "...", "jti",
];
const RESERVED_VC: [&str; 2] = ["id", "type"];

/// A display entry (issuer, configuration or claim).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Display {
    /// Display name.
    pub name: String,
    /// BCP47 locale.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub locale: Option<String>,
    /// Description.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Background colour (CSS).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub background_color: Option<String>,
    /// Text colour (CSS).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text_color: Option<String>,
    /// Logo.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub logo: Option<Logo>,
}

/// A logo reference.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Logo {
    /// URI of the image.
    pub uri: String,
    /// Alternative text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alt_text: Option<String>,
}

/// Whether a claim is selectively disclosable in an SD-JWT VC.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Disclosure {
    /// Always a disclosure.
    Always,
    /// Always in the clear.
    Never,
}

/// One claim of a credential.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClaimConfig {
    /// The claim's name in the credential (a top-level claim, or a `credentialSubject` member).
    pub name: String,
    /// The identity system's claim it is filled from (default: `name`).
    #[serde(default)]
    pub kyc_claim: Option<String>,
    /// Selective disclosure (SD-JWT only; default `always`).
    #[serde(default)]
    pub sd: Option<Disclosure>,
    /// Advertised as always present.
    #[serde(default)]
    pub mandatory: bool,
    /// Display names.
    #[serde(default)]
    pub display: Vec<Display>,
}

impl ClaimConfig {
    /// The KYC claim this claim is read from.
    pub fn source(&self) -> &str {
        self.kyc_claim.as_deref().unwrap_or(&self.name)
    }

    /// Whether the claim becomes a disclosure.
    pub fn disclosable(&self) -> bool {
        self.sd != Some(Disclosure::Never)
    }
}

/// `credential_definition` of a `jwt_vc_json` configuration.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CredentialDefinition {
    /// VC types.
    #[serde(rename = "type")]
    pub types: Vec<String>,
}

/// One credential configuration.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CredentialConfig {
    /// `dc+sd-jwt` or `jwt_vc_json`.
    pub format: String,
    /// The OAuth scope that authorizes it.
    pub scope: String,
    /// SD-JWT VC type.
    #[serde(default)]
    pub vct: Option<String>,
    /// VC types (`jwt_vc_json`).
    #[serde(default)]
    pub credential_definition: Option<CredentialDefinition>,
    /// Lifetime of an issued credential.
    #[serde(default)]
    pub validity_days: Option<u32>,
    /// Accepted proof algorithms (default [`PROOF_ALGS`]).
    #[serde(default)]
    pub proof_signing_alg_values_supported: Option<Vec<String>>,
    /// Display entries.
    #[serde(default)]
    pub display: Vec<Display>,
    /// Claims, in order.
    pub claims: Vec<ClaimConfig>,
}

impl CredentialConfig {
    /// Accepted proof algorithms.
    pub fn proof_algs(&self) -> Vec<String> {
        match &self.proof_signing_alg_values_supported {
            Some(list) => list.clone(),
            None => PROOF_ALGS.iter().map(|a| (*a).to_owned()).collect(),
        }
    }

    /// Credential lifetime in seconds.
    pub fn validity_secs(&self) -> i64 {
        i64::from(self.validity_days.unwrap_or(DEFAULT_VALIDITY_DAYS)).saturating_mul(86_400)
    }

    /// Whether this is an SD-JWT VC configuration.
    pub fn is_sd_jwt(&self) -> bool {
        self.format == FORMAT_SD_JWT
    }
}

/// The whole file.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CredentialConfigs {
    /// Issuer display entries.
    #[serde(default)]
    pub display: Vec<Display>,
    /// Configurations by id (sorted by id).
    pub credential_configurations: BTreeMap<String, CredentialConfig>,
}

fn is_token(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|c| c == 0x21 || (0x23..=0x5B).contains(&c) || (0x5D..=0x7E).contains(&c))
}

fn check_display(list: &[Display], what: &str) -> Result<(), String> {
    match list.iter().find(|d| d.name.trim().is_empty()) {
        Some(_) => Err(format!("{what}: a display entry has an empty name")),
        None => Ok(()),
    }
}

fn check_format(id: &str, c: &CredentialConfig) -> Result<(), String> {
    match c.format.as_str() {
        FORMAT_SD_JWT => {
            if c.vct.as_deref().is_none_or(|v| v.trim().is_empty()) {
                return Err(format!("{id}: dc+sd-jwt needs a non-empty `vct`"));
            }
            if c.credential_definition.is_some() {
                return Err(format!(
                    "{id}: `credential_definition` is not a dc+sd-jwt parameter"
                ));
            }
        }
        FORMAT_JWT_VC => {
            let types = c.credential_definition.as_ref().map(|d| &d.types);
            if !types.is_some_and(|t| t.iter().any(|x| x == "VerifiableCredential")) {
                return Err(format!(
                    "{id}: jwt_vc_json needs credential_definition.type with VerifiableCredential"
                ));
            }
            if c.vct.is_some() {
                return Err(format!("{id}: `vct` is not a jwt_vc_json parameter"));
            }
            if c.claims.iter().any(|cl| cl.sd.is_some()) {
                return Err(format!("{id}: `sd` applies to dc+sd-jwt claims only"));
            }
        }
        other => return Err(format!("{id}: unsupported format `{other}`")),
    }
    Ok(())
}

fn check_claims(id: &str, c: &CredentialConfig) -> Result<(), String> {
    if c.claims.is_empty() {
        return Err(format!("{id}: no claims"));
    }
    let reserved: &[&str] = if c.is_sd_jwt() {
        &RESERVED_SD_JWT
    } else {
        &RESERVED_VC
    };
    let mut seen = BTreeSet::new();
    for claim in &c.claims {
        let name = claim.name.as_str();
        if name.trim().is_empty() || claim.source().trim().is_empty() {
            return Err(format!("{id}: a claim has an empty name"));
        }
        if reserved.contains(&name) {
            return Err(format!("{id}: claim `{name}` is reserved by the format"));
        }
        if !seen.insert(name) {
            return Err(format!("{id}: claim `{name}` appears twice"));
        }
        check_display(&claim.display, &format!("{id}.{name}"))?;
    }
    Ok(())
}

fn check_config(id: &str, c: &CredentialConfig) -> Result<(), String> {
    if !is_token(id) {
        return Err(format!("configuration id `{id}` is not a token"));
    }
    if !is_token(&c.scope) {
        return Err(format!("{id}: scope is not a single scope token"));
    }
    check_format(id, c)?;
    check_claims(id, c)?;
    if !(1..=3650).contains(&c.validity_days.unwrap_or(DEFAULT_VALIDITY_DAYS)) {
        return Err(format!("{id}: validity_days must be 1..=3650"));
    }
    if let Some(algs) = &c.proof_signing_alg_values_supported {
        if algs.is_empty() || algs.iter().any(|a| !PROOF_ALGS.contains(&a.as_str())) {
            return Err(format!(
                "{id}: proof algorithms must be a non-empty subset of {PROOF_ALGS:?}"
            ));
        }
    }
    check_display(&c.display, id)
}

impl CredentialConfigs {
    /// Parses and checks a configuration file; the error names the problem.
    pub fn parse(json: &str) -> Result<Self, String> {
        let configs: CredentialConfigs =
            serde_json::from_str(json).map_err(|e| format!("credential configurations: {e}"))?;
        configs.check()?;
        Ok(configs)
    }

    /// The shipped configurations.
    pub fn embedded() -> Result<Self, String> {
        Self::parse(EMBEDDED_JSON)
    }

    fn check(&self) -> Result<(), String> {
        if self.credential_configurations.is_empty() {
            return Err("no credential configurations".to_owned());
        }
        check_display(&self.display, "issuer")?;
        let mut scopes = BTreeSet::new();
        for (id, c) in &self.credential_configurations {
            check_config(id, c)?;
            if !scopes.insert(c.scope.as_str()) {
                return Err(format!("{id}: scope `{}` is used twice", c.scope));
            }
        }
        Ok(())
    }

    /// The configuration with this id.
    pub fn get(&self, id: &str) -> Option<&CredentialConfig> {
        self.credential_configurations.get(id)
    }

    /// Every credential scope, in configuration-id order.
    pub fn scopes(&self) -> Vec<String> {
        self.credential_configurations
            .values()
            .map(|c| c.scope.clone())
            .collect()
    }

    /// The KYC claims the configurations of the `granted` scopes need, deduplicated, in order.
    pub fn kyc_claims_for(&self, granted: &[String]) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        let wanted = self
            .credential_configurations
            .values()
            .filter(|c| granted.contains(&c.scope));
        for claim in wanted.flat_map(|c| c.claims.iter()) {
            if !out.iter().any(|s| s == claim.source()) {
                out.push(claim.source().to_owned());
            }
        }
        out
    }
}

/// The credential scopes of the embedded configurations (empty when they do not load; the `vci` component
/// reports that), in the order of [`CredentialConfigs::scopes`].
///
/// Every authorization request needs these (scope parsing), so only the `scope` members are read: building and
/// checking the whole configuration set on each request was ~3 % of a login's host CPU. The embedded file is fixed
/// at build time and its full check is a unit test.
pub fn embedded_scopes() -> Vec<String> {
    #[derive(Deserialize)]
    struct ScopesOnly {
        credential_configurations: BTreeMap<String, ScopeOnly>,
    }
    #[derive(Deserialize)]
    struct ScopeOnly {
        scope: String,
    }
    serde_json::from_str::<ScopesOnly>(EMBEDDED_JSON)
        .map(|c| c.credential_configurations.into_values().map(|c| c.scope).collect())
        .unwrap_or_default()
}

#[cfg(test)]
#[path = "config_tests.rs"]
mod tests;
