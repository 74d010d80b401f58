//! `spin.toml`: the application manifest (Spin manifest v2) with this project's grants under
//! `[component.<id>.tool.esignet]`. Parsing is strict: unknown keys, unknown grants, dangling references and
//! duplicate routes are errors that name the offending key.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use anyhow::{anyhow, bail, Context, Result};
use serde::Deserialize;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawManifest {
    spin_manifest_version: u32,
    application: RawApplication,
    #[serde(default)]
    variables: BTreeMap<String, RawVariable>,
    trigger: RawTriggers,
    #[serde(default)]
    component: BTreeMap<String, RawComponent>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawApplication {
    name: String,
    #[serde(default)]
    version: Option<String>,
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    authors: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawVariable {
    #[serde(default)]
    default: Option<String>,
    #[serde(default)]
    required: bool,
    #[serde(default)]
    secret: bool,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTriggers {
    #[serde(default)]
    http: Vec<RawHttpTrigger>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawHttpTrigger {
    route: String,
    component: String,
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum RawSource {
    Path(String),
    Remote(RawRemote),
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRemote {
    url: String,
    digest: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawComponent {
    source: RawSource,
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    allowed_outbound_hosts: Vec<String>,
    #[serde(default)]
    variables: BTreeMap<String, String>,
    /// Spin's build section is accepted and ignored: the host never builds.
    #[serde(default)]
    build: Option<toml::Value>,
    #[serde(default)]
    tool: BTreeMap<String, toml::Value>,
}

/// A capability a component may import. The names are the grant names in `spin.toml`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Capability {
    Keys,
    Sql,
    Cache,
    Config,
    Audit,
    Authenticator,
    OutboundHttp,
    /// The `credential-data` import: the credential-data plugin named by `credential_data_plugin`; without that
    /// binding every call answers `not-bound`.
    CredentialData,
}

impl Capability {
    pub fn name(self) -> &'static str {
        match self {
            Capability::Keys => "keys",
            Capability::Sql => "sql",
            Capability::Cache => "cache",
            Capability::Config => "config",
            Capability::Audit => "audit",
            Capability::Authenticator => "authenticator",
            Capability::OutboundHttp => "outbound-http",
            Capability::CredentialData => "credential-data",
        }
    }

    /// The capability behind a component import name such as `esignet:platform/sql@0.1.0`.
    pub fn from_import(import: &str) -> Option<Capability> {
        let unversioned = import.split('@').next().unwrap_or(import);
        match unversioned {
            "esignet:platform/keys" => Some(Capability::Keys),
            "esignet:platform/sql" => Some(Capability::Sql),
            "esignet:platform/cache" => Some(Capability::Cache),
            "esignet:platform/config" => Some(Capability::Config),
            "esignet:platform/audit" => Some(Capability::Audit),
            "esignet:plugin/authenticator" => Some(Capability::Authenticator),
            "esignet:platform/outbound-http" => Some(Capability::OutboundHttp),
            "esignet:plugin/credential-data" => Some(Capability::CredentialData),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum ComponentKind {
    #[default]
    Endpoint,
    /// An authenticator plugin (world `esignet:plugin/authenticator-plugin`).
    Plugin,
    /// A credential-data plugin (world `esignet:plugin/credential-data-plugin`).
    CredentialDataPlugin,
}

impl ComponentKind {
    /// Whether components of this kind are plugins (called by endpoints, never calling plugins themselves).
    pub fn is_plugin(self) -> bool {
        self != ComponentKind::Endpoint
    }

    /// The value of `kind` in `spin.toml`.
    pub fn name(self) -> &'static str {
        match self {
            ComponentKind::Endpoint => "endpoint",
            ComponentKind::Plugin => "plugin",
            ComponentKind::CredentialDataPlugin => "credential-data-plugin",
        }
    }
}

/// How the host words an error it produces for a component (trap, timeout, body too large).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum ErrorFormat {
    /// `{"error": ..., "error_description": ...}` (RFC 6749 §5.2).
    #[default]
    Oauth,
    /// eSignet's response wrapper with `errors[].errorCode`.
    Esignet,
    /// A short text body.
    Plain,
}

/// Signing algorithms a key purpose may use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize, serde::Serialize)]
pub enum KeyAlg {
    RS256,
    PS256,
    ES256,
    /// An encryption key (JWE recipient), not a signing key.
    #[serde(rename = "RSA-OAEP-256")]
    RsaOaep256,
}

impl KeyAlg {
    pub fn name(self) -> &'static str {
        match self {
            KeyAlg::RS256 => "RS256",
            KeyAlg::PS256 => "PS256",
            KeyAlg::ES256 => "ES256",
            KeyAlg::RsaOaep256 => "RSA-OAEP-256",
        }
    }
}

/// `[component.<id>.tool.esignet]`.
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct Grants {
    #[serde(default)]
    pub kind: ComponentKind,
    #[serde(default)]
    pub capabilities: Vec<Capability>,
    /// The plugin component that the `authenticator` import reaches.
    #[serde(default)]
    pub plugin: Option<String>,
    /// The credential-data plugin that the `credential-data` import reaches (needs the `credential-data` grant;
    /// that grant without this binding is allowed: every call then answers `not-bound`).
    #[serde(default)]
    pub credential_data_plugin: Option<String>,
    /// Cache keys are prefixed with this namespace (default: the component id).
    #[serde(default)]
    pub cache_namespace: Option<String>,
    /// The logical database the `sql` import reaches (default: `default`).
    #[serde(default)]
    pub sql_database: Option<String>,
    /// Directories (relative to `spin.toml`) of `.sql` migrations for that database, applied at start.
    #[serde(default)]
    pub sql_migrations: Vec<String>,
    /// Key purposes this component may use, with the algorithm of each.
    #[serde(default)]
    pub key_purposes: BTreeMap<String, KeyAlg>,
    /// Key purposes whose public keys this component may read (JWKS), beyond its own.
    #[serde(default)]
    pub public_key_purposes: Vec<String>,
    #[serde(default)]
    pub memory_limit_mb: Option<u64>,
    #[serde(default)]
    pub cpu_limit_ms: Option<u64>,
    #[serde(default)]
    pub error_format: ErrorFormat,
}

impl Grants {
    pub fn allows(&self, cap: Capability) -> bool {
        self.capabilities.contains(&cap)
    }
}

/// Where a component's bytes come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// A file (relative paths are relative to `spin.toml`); watched for hot deploy.
    File(PathBuf),
    /// An HTTP(S) artifact pinned by `sha256:<hex>` digest.
    Remote { url: String, digest: String },
}

impl std::fmt::Display for Source {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Source::File(p) => write!(f, "{}", p.display()),
            Source::Remote { url, digest } => write!(f, "{url} ({digest})"),
        }
    }
}

#[derive(Debug, Clone)]
pub struct ComponentSpec {
    pub id: String,
    pub source: Source,
    pub allowed_outbound_hosts: Vec<String>,
    /// Variables after template resolution.
    pub variables: HashMap<String, String>,
    pub grants: Grants,
}

impl ComponentSpec {
    pub fn cache_namespace(&self) -> &str {
        self.grants.cache_namespace.as_deref().unwrap_or(&self.id)
    }

    /// The logical database the `sql` import reaches.
    pub fn sql_database(&self) -> &str {
        self.grants.sql_database.as_deref().unwrap_or("default")
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RoutePattern {
    Exact(String),
    /// `/prefix/...`: the prefix itself and everything under it.
    Prefix(String),
}

#[derive(Debug, Clone)]
pub struct Route {
    pub pattern: RoutePattern,
    pub component: String,
}

impl Route {
    /// The matched prefix when `path` is served by this route.
    pub fn matches<'a>(&'a self, path: &str) -> Option<&'a str> {
        match &self.pattern {
            RoutePattern::Exact(p) => (p == path).then_some(p.as_str()),
            RoutePattern::Prefix(p) => {
                let rest = path.strip_prefix(p.as_str())?;
                (rest.is_empty() || rest.starts_with('/') || p.ends_with('/')).then_some(p.as_str())
            }
        }
    }

    fn specificity(&self) -> (u8, usize) {
        match &self.pattern {
            RoutePattern::Exact(p) => (1, p.len()),
            RoutePattern::Prefix(p) => (0, p.len()),
        }
    }
}

#[derive(Debug, Clone)]
pub struct Manifest {
    pub name: String,
    pub version: Option<String>,
    pub base_dir: PathBuf,
    /// Most specific first: exact routes, then longer prefixes.
    pub routes: Vec<Route>,
    pub components: BTreeMap<String, ComponentSpec>,
    /// Application variables after resolution.
    pub variables: HashMap<String, String>,
}

impl Manifest {
    /// Loads and validates a manifest; `variable` resolves application variables (environment, then default).
    pub fn load(path: &Path, variable: &dyn Fn(&str) -> Option<String>) -> Result<Manifest> {
        let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
        let base_dir = path.parent().map(Path::to_path_buf).unwrap_or_default();
        Self::parse(&text, &base_dir, variable).with_context(|| format!("in {}", path.display()))
    }

    pub fn parse(text: &str, base_dir: &Path, variable: &dyn Fn(&str) -> Option<String>) -> Result<Manifest> {
        let raw: RawManifest = toml::from_str(text).map_err(|e| anyhow!("invalid manifest: {e}"))?;
        if raw.spin_manifest_version != 2 {
            bail!("spin_manifest_version must be 2, found {}", raw.spin_manifest_version);
        }
        let _ = (&raw.application.description, &raw.application.authors);
        let app_vars = resolve_app_variables(&raw.variables, variable)?;

        let mut components = BTreeMap::new();
        for (id, rc) in &raw.component {
            let spec = component_spec(id, rc, base_dir, &app_vars)?;
            components.insert(id.clone(), spec);
        }
        check_plugin_bindings(&components)?;

        let mut routes = Vec::new();
        let mut seen = std::collections::HashSet::new();
        for t in &raw.trigger.http {
            if !components.contains_key(&t.component) {
                bail!("trigger.http route `{}` names unknown component `{}`", t.route, t.component);
            }
            if !t.route.starts_with('/') {
                bail!("trigger.http route `{}` must start with `/`", t.route);
            }
            if !seen.insert(t.route.clone()) {
                bail!("trigger.http route `{}` is declared twice", t.route);
            }
            let pattern = match t.route.strip_suffix("/...") {
                Some(prefix) => RoutePattern::Prefix(prefix.to_string()),
                None if t.route == "/..." => RoutePattern::Prefix(String::new()),
                None => RoutePattern::Exact(t.route.clone()),
            };
            routes.push(Route { pattern, component: t.component.clone() });
        }
        routes.sort_by(|a, b| b.specificity().cmp(&a.specificity()));

        Ok(Manifest {
            name: raw.application.name,
            version: raw.application.version,
            base_dir: base_dir.to_path_buf(),
            routes,
            components,
            variables: app_vars,
        })
    }

    /// The route serving `path`, with the matched prefix.
    pub fn route(&self, path: &str) -> Option<(&Route, &str)> {
        self.routes.iter().find_map(|r| r.matches(path).map(|m| (r, m)))
    }
}

fn resolve_app_variables(
    decls: &BTreeMap<String, RawVariable>,
    variable: &dyn Fn(&str) -> Option<String>,
) -> Result<HashMap<String, String>> {
    let mut out = HashMap::new();
    for (name, decl) in decls {
        if !name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_') {
            bail!("variable `{name}`: names are lower-case letters, digits and `_`");
        }
        if decl.required && decl.default.is_some() {
            bail!("variable `{name}`: `required` and `default` are exclusive");
        }
        let _ = decl.secret;
        match variable(name).or_else(|| decl.default.clone()) {
            Some(v) => {
                out.insert(name.clone(), v);
            }
            None if decl.required => bail!("variable `{name}` is required and has no value"),
            None => {}
        }
    }
    Ok(out)
}

fn component_spec(
    id: &str,
    rc: &RawComponent,
    base_dir: &Path,
    app_vars: &HashMap<String, String>,
) -> Result<ComponentSpec> {
    let _ = (&rc.description, &rc.build);
    let mut grants = Grants::default();
    for (tool, value) in &rc.tool {
        if tool == "esignet" {
            grants = value
                .clone()
                .try_into()
                .map_err(|e| anyhow!("component `{id}`: tool.esignet: {e}"))?;
        }
    }
    // Ids and namespaces prefix cache keys (`<namespace>:<key>`): a `:` in either could alias another component's
    // keys (a component `esignet:vci-nonce` would share `esignet`'s nonces).
    if !plain_name(id) {
        bail!("component id `{id}`: use letters, digits, `-` and `_` only");
    }
    if let Some(ns) = grants.cache_namespace.as_deref().filter(|ns| !plain_name(ns)) {
        bail!("component `{id}`: cache_namespace `{ns}`: use letters, digits, `-` and `_` only");
    }
    if grants.kind.is_plugin()
        && (grants.allows(Capability::Authenticator) || grants.allows(Capability::CredentialData))
    {
        bail!("component `{id}`: a plugin cannot itself import a plugin");
    }
    if grants.allows(Capability::Authenticator) != grants.plugin.is_some() {
        bail!("component `{id}`: the `authenticator` grant and `plugin` go together");
    }
    if grants.credential_data_plugin.is_some() && !grants.allows(Capability::CredentialData) {
        bail!("component `{id}`: `credential_data_plugin` needs the `credential-data` grant in capabilities");
    }
    let mut variables = HashMap::new();
    for (name, template) in &rc.variables {
        let value = expand_template(template, app_vars)
            .map_err(|e| anyhow!("component `{id}`: variables.{name}: {e}"))?;
        variables.insert(name.clone(), value);
    }
    Ok(ComponentSpec {
        id: id.to_string(),
        source: match &rc.source {
            RawSource::Path(p) => Source::File(base_dir.join(p)),
            RawSource::Remote(r) => {
                crate::artifact::parse_digest(&r.digest).map_err(|e| anyhow!("component `{id}`: source: {e}"))?;
                Source::Remote { url: r.url.clone(), digest: r.digest.clone() }
            }
        },
        allowed_outbound_hosts: rc.allowed_outbound_hosts.clone(),
        variables,
        grants,
    })
}

fn check_plugin_bindings(components: &BTreeMap<String, ComponentSpec>) -> Result<()> {
    for spec in components.values() {
        let bindings = [
            ("plugin", &spec.grants.plugin, ComponentKind::Plugin),
            ("credential_data_plugin", &spec.grants.credential_data_plugin, ComponentKind::CredentialDataPlugin),
        ];
        for (key, bound, kind) in bindings {
            let Some(plugin) = bound else { continue };
            match components.get(plugin) {
                None => bail!("component `{}`: {key} `{plugin}` is not a component of this manifest", spec.id),
                Some(p) if p.grants.kind != kind => bail!(
                    "component `{}`: {key} `{plugin}` is not declared with kind = \"{}\"",
                    spec.id,
                    kind.name()
                ),
                Some(_) => {}
            }
        }
    }
    check_plugin_keys(components)?;
    check_plugin_data(components)
}

fn plain_name(name: &str) -> bool {
    !name.is_empty() && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// A plugin's cache namespace and SQL database are its own too: a third party's code must not read or write the
/// provider's flows, codes, nonces or clients.
fn check_plugin_data(components: &BTreeMap<String, ComponentSpec>) -> Result<()> {
    type StoreName = fn(&ComponentSpec) -> &str;
    let stores: [(Capability, &str, StoreName); 2] = [
        (Capability::Cache, "cache namespace", ComponentSpec::cache_namespace),
        (Capability::Sql, "SQL database", ComponentSpec::sql_database),
    ];
    for plugin in components.values().filter(|c| c.grants.kind.is_plugin()) {
        for (cap, what, name) in stores.iter().filter(|(cap, ..)| plugin.grants.allows(*cap)) {
            let own = name(plugin);
            if let Some(other) =
                components.values().find(|c| c.id != plugin.id && c.grants.allows(*cap) && name(c) == own)
            {
                bail!(
                    "{what} `{own}` is used by plugin `{}` and by `{}`: a plugin's {what} is its own",
                    plugin.id,
                    other.id
                );
            }
        }
    }
    Ok(())
}

/// A plugin's key purposes are its own: no other component may be granted one of them (so no plugin can sign
/// with, say, the credential issuer's key, and no endpoint with a plugin's).
fn check_plugin_keys(components: &BTreeMap<String, ComponentSpec>) -> Result<()> {
    for plugin in components.values().filter(|c| c.grants.kind.is_plugin()) {
        for purpose in plugin.grants.key_purposes.keys() {
            if let Some(other) = components
                .values()
                .find(|c| c.id != plugin.id && c.grants.key_purposes.contains_key(purpose))
            {
                bail!(
                    "key purpose `{purpose}` is granted to plugin `{}` and to `{}`: a plugin's key purposes are its own",
                    plugin.id,
                    other.id
                );
            }
        }
    }
    Ok(())
}

/// Expands `{{ name }}` references to application variables.
fn expand_template(template: &str, vars: &HashMap<String, String>) -> Result<String> {
    let mut out = String::new();
    let mut rest = template;
    while let Some(start) = rest.find("{{") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let end = after.find("}}").ok_or_else(|| anyhow!("unclosed `{{{{`"))?;
        let name = after[..end].trim();
        let value = vars
            .get(name)
            .ok_or_else(|| anyhow!("refers to unknown or unset variable `{name}`"))?;
        out.push_str(value);
        rest = &after[end + 2..];
    }
    out.push_str(rest);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Manifest> {
        Manifest::parse(text, Path::new("/app"), &|_| None)
    }

    const BASE: &str = r#"
spin_manifest_version = 2
[application]
name = "t"
[variables]
issuer = { default = "http://x" }
[[trigger.http]]
route = "/a/..."
component = "a"
[[trigger.http]]
route = "/a/exact"
component = "b"
[component.a]
source = "a.wasm"
[component.a.variables]
iss = "{{ issuer }}/v1"
[component.a.tool.esignet]
capabilities = ["sql", "cache"]
[component.b]
source = "b.wasm"
"#;

    #[test]
    fn routes_prefer_exact_then_longest_prefix() {
        let m = parse(BASE).unwrap();
        assert_eq!(m.route("/a/exact").unwrap().0.component, "b");
        assert_eq!(m.route("/a/other").unwrap().0.component, "a");
        assert_eq!(m.route("/a").unwrap().1, "/a");
        assert!(m.route("/ab").is_none());
        assert_eq!(m.components["a"].variables["iss"], "http://x/v1");
        assert_eq!(m.components["a"].source, Source::File(PathBuf::from("/app/a.wasm")));
    }

    #[test]
    fn remote_sources_need_a_sha256_digest() {
        let good = BASE.replace(
            "source = \"b.wasm\"",
            &format!("source = {{ url = \"http://h/b.wasm\", digest = \"sha256:{}\" }}", "0".repeat(64)),
        );
        assert!(matches!(parse(&good).unwrap().components["b"].source, Source::Remote { .. }));
        let bad = BASE.replace("source = \"b.wasm\"", "source = { url = \"http://h/b.wasm\", digest = \"md5:1\" }");
        assert!(format!("{:#}", parse(&bad).unwrap_err()).contains("sha256"));
    }

    #[test]
    fn unknown_grant_is_named() {
        let text = BASE.replace(r#"["sql", "cache"]"#, r#"["sql", "filesystem"]"#);
        let err = format!("{:#}", parse(&text).unwrap_err());
        assert!(err.contains("filesystem"), "{err}");
    }

    #[test]
    fn unknown_key_is_named() {
        let text = BASE.replace("capabilities =", "colour = 1\ncapabilities =");
        let err = format!("{:#}", parse(&text).unwrap_err());
        assert!(err.contains("colour"), "{err}");
        let text = BASE.replace("[component.b]\n", "[component.b]\nfiles = []\n");
        let err = format!("{:#}", parse(&text).unwrap_err());
        assert!(err.contains("files"), "{err}");
    }

    #[test]
    fn dangling_references_are_errors() {
        let text = BASE.replace("component = \"b\"", "component = \"zz\"");
        assert!(format!("{:#}", parse(&text).unwrap_err()).contains("zz"));
        let text = BASE.replace("{{ issuer }}", "{{ nope }}");
        assert!(format!("{:#}", parse(&text).unwrap_err()).contains("nope"));
        let text = BASE.replace(r#"["sql", "cache"]"#, r#"["authenticator"]"#);
        assert!(format!("{:#}", parse(&text).unwrap_err()).contains("plugin"));
    }

    /// `BASE` with component `b` turned into a plugin of `kind` and `a` granted `caps` with `binding`.
    fn with_plugin(kind: &str, caps: &str, binding: &str) -> String {
        BASE.replace(r#"capabilities = ["sql", "cache"]"#, &format!("capabilities = {caps}\n{binding}"))
            .replace("[component.b]\nsource = \"b.wasm\"\n", &format!("[component.b]\nsource = \"b.wasm\"\n[component.b.tool.esignet]\nkind = \"{kind}\"\n"))
    }

    #[test]
    fn credential_data_plugin_binding() {
        let ok = parse(&with_plugin("credential-data-plugin", r#"["credential-data"]"#, r#"credential_data_plugin = "b""#)).unwrap();
        assert_eq!(ok.components["a"].grants.credential_data_plugin.as_deref(), Some("b"));
        assert_eq!(ok.components["b"].grants.kind, ComponentKind::CredentialDataPlugin);
        // The grant alone is allowed: calls answer `not-bound`.
        let unbound = parse(&with_plugin("credential-data-plugin", r#"["credential-data"]"#, "")).unwrap();
        assert!(unbound.components["a"].grants.allows(Capability::CredentialData));
        assert_eq!(
            Capability::from_import("esignet:plugin/credential-data@0.1.0"),
            Some(Capability::CredentialData)
        );

        let err = |text: String| format!("{:#}", parse(&text).unwrap_err());
        let e = err(with_plugin("credential-data-plugin", r#"["cache"]"#, r#"credential_data_plugin = "b""#));
        assert!(e.contains("`credential_data_plugin` needs the `credential-data` grant"), "{e}");
        let e = err(with_plugin("plugin", r#"["credential-data"]"#, r#"credential_data_plugin = "b""#));
        assert!(e.contains(r#"credential_data_plugin `b` is not declared with kind = "credential-data-plugin""#), "{e}");
        let e = err(with_plugin("credential-data-plugin", r#"["authenticator"]"#, r#"plugin = "b""#));
        assert!(e.contains(r#"plugin `b` is not declared with kind = "plugin""#), "{e}");
        let e = err(with_plugin("credential-data-plugin", r#"["credential-data"]"#, r#"credential_data_plugin = "zz""#));
        assert!(e.contains("credential_data_plugin `zz` is not a component"), "{e}");
        let e = err(with_plugin("credential-data-plugin", r#"["credential-data"]"#, "")
            .replace("kind = \"credential-data-plugin\"\n", "kind = \"credential-data-plugin\"\ncapabilities = [\"credential-data\"]\n"));
        assert!(e.contains("a plugin cannot itself import a plugin"), "{e}");
    }

    #[test]
    fn a_plugin_key_purpose_is_its_own() {
        let text = with_plugin("credential-data-plugin", r#"["credential-data", "keys"]"#, "key_purposes = { vci-issuer = \"ES256\" }")
            .replace("kind = \"credential-data-plugin\"\n", "kind = \"credential-data-plugin\"\nkey_purposes = { vci-issuer = \"ES256\" }\n");
        let e = format!("{:#}", parse(&text).unwrap_err());
        assert!(e.contains("key purpose `vci-issuer`") && e.contains("plugin `b`"), "{e}");
        let own = text.replace("kind = \"credential-data-plugin\"\nkey_purposes = { vci-issuer", "kind = \"credential-data-plugin\"\nkey_purposes = { registry");
        assert!(parse(&own).is_ok());
    }

    #[test]
    fn a_plugin_cache_namespace_and_database_are_its_own() {
        // `a` keeps ["sql", "cache"]: cache namespace `a`, database `default`.
        let plugin = |grants: &str| {
            BASE.replace("[component.b]\nsource = \"b.wasm\"\n", &format!("[component.b]\nsource = \"b.wasm\"\n[component.b.tool.esignet]\nkind = \"plugin\"\n{grants}\n"))
        };
        let e = format!("{:#}", parse(&plugin("capabilities = [\"cache\"]\ncache_namespace = \"a\"")).unwrap_err());
        assert!(e.contains("cache namespace `a`") && e.contains("plugin `b`"), "{e}");
        let e = format!("{:#}", parse(&plugin("capabilities = [\"sql\"]")).unwrap_err());
        assert!(e.contains("SQL database `default`") && e.contains("plugin `b`"), "{e}");
        let own = plugin("capabilities = [\"sql\", \"cache\"]\nsql_database = \"registry\"");
        assert!(parse(&own).is_ok());
        // Not granted the capability: the same names are harmless.
        assert!(parse(&plugin("cache_namespace = \"a\"\nsql_database = \"default\"")).is_ok());
    }

    #[test]
    fn ids_and_namespaces_cannot_alias_cache_keys() {
        let text = BASE.replace("[component.b]", "[component.\"a:x\"]").replace("component = \"b\"", "component = \"a:x\"");
        let e = format!("{:#}", parse(&text).unwrap_err());
        assert!(e.contains("component id `a:x`"), "{e}");
        let text = BASE.replace(r#"capabilities = ["sql", "cache"]"#, "capabilities = [\"cache\"]\ncache_namespace = \"esignet:vci-nonce\"");
        let e = format!("{:#}", parse(&text).unwrap_err());
        assert!(e.contains("cache_namespace `esignet:vci-nonce`"), "{e}");
    }
}
