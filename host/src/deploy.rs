//! Loading and replacing components. A version is compiled off the request path, checked against its grants,
//! pre-instantiated, and only then swapped in atomically; requests in flight keep the `Arc` of the version they
//! started on. A version that fails any step is refused and the running one keeps serving.

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use anyhow::{anyhow, bail, Context, Result};
use arc_swap::ArcSwapOption;
use sha2::{Digest, Sha256};
use wasmtime::component::{Component, Linker};

use crate::bindings::credential_data_plugin::CredentialDataPluginPre;
use crate::bindings::endpoint::IssuerEndpointPre;
use crate::bindings::plugin::AuthenticatorPluginPre;
use crate::manifest::{Capability, ComponentKind, ComponentSpec, Manifest, Source};
use crate::state::{ComponentEnv, HostState, Platform};

pub enum LoadedKind {
    Endpoint(IssuerEndpointPre<HostState>),
    Plugin(AuthenticatorPluginPre<HostState>),
    CredentialData(CredentialDataPluginPre<HostState>),
}

/// One deployed version of a component.
pub struct Loaded {
    pub version: u64,
    pub digest: String,
    pub kind: LoadedKind,
    pub env: Arc<ComponentEnv>,
}

/// The running version of one component, replaceable while serving.
pub struct ComponentSlot {
    pub id: String,
    current: ArcSwapOption<Loaded>,
    next_version: AtomicU64,
}

impl ComponentSlot {
    fn new(id: &str) -> ComponentSlot {
        ComponentSlot { id: id.to_string(), current: ArcSwapOption::empty(), next_version: AtomicU64::new(1) }
    }

    pub fn current(&self) -> Option<Arc<Loaded>> {
        self.current.load_full()
    }
}

/// What a deploy did.
#[derive(Debug, Clone, serde::Serialize)]
pub struct DeployReport {
    pub component: String,
    pub version: u64,
    pub digest: String,
    pub compile_ms: f64,
    pub total_ms: f64,
}

pub struct Registry {
    pub manifest: Manifest,
    pub platform: Arc<Platform>,
    pub slots: BTreeMap<String, Arc<ComponentSlot>>,
    linker: Linker<HostState>,
    envs: HashMap<String, Arc<ComponentEnv>>,
    deploy_lock: tokio::sync::Mutex<()>,
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

impl Registry {
    pub fn new(manifest: Manifest, platform: Arc<Platform>) -> Result<Registry> {
        let mut linker = Linker::new(&platform.engine);
        crate::caps::add_to_linker(&mut linker).map_err(|e| anyhow!("{e:#}"))?;
        let slots: BTreeMap<String, Arc<ComponentSlot>> =
            manifest.components.keys().map(|id| (id.clone(), Arc::new(ComponentSlot::new(id)))).collect();
        let public_key_algs: HashMap<String, String> = manifest
            .components
            .values()
            .flat_map(|c| c.grants.key_purposes.iter().map(|(p, a)| (p.clone(), a.name().to_string())))
            .collect();
        let envs = manifest
            .components
            .values()
            .map(|spec| {
                let plugin = spec.grants.plugin.as_ref().and_then(|p| slots.get(p).cloned());
                let credential_data = spec.grants.credential_data_plugin.as_ref().and_then(|p| slots.get(p).cloned());
                let env = ComponentEnv {
                    spec: spec.clone(),
                    platform: platform.clone(),
                    plugin,
                    credential_data,
                    public_key_algs: public_key_algs.clone(),
                };
                (spec.id.clone(), Arc::new(env))
            })
            .collect();
        Ok(Registry { manifest, platform, slots, linker, envs, deploy_lock: tokio::sync::Mutex::new(()) })
    }

    pub fn slot(&self, id: &str) -> Option<&Arc<ComponentSlot>> {
        self.slots.get(id)
    }

    /// Loads every component from its `source` (`data_dir` keeps fetched artifacts). Any failure is fatal at start.
    pub async fn load_all(&self, data_dir: &std::path::Path) -> Result<Vec<DeployReport>> {
        let mut reports = Vec::new();
        for spec in self.manifest.components.values() {
            let bytes = read_source(&spec.id, &spec.source, data_dir).await?;
            reports.push(self.deploy(&spec.id, bytes).await?);
        }
        Ok(reports)
    }

    /// Compiles, checks and swaps in a new version of component `id`.
    pub async fn deploy(&self, id: &str, bytes: Vec<u8>) -> Result<DeployReport> {
        let _serial = self.deploy_lock.lock().await;
        let started = Instant::now();
        let slot = self.slots.get(id).ok_or_else(|| anyhow!("no component `{id}` in the manifest"))?.clone();
        let env = self.envs.get(id).ok_or_else(|| anyhow!("no component `{id}` in the manifest"))?.clone();
        let digest = sha256_hex(&bytes);
        if let Some(current) = slot.current() {
            if current.digest == digest {
                return Ok(DeployReport {
                    component: id.to_string(),
                    version: current.version,
                    digest,
                    compile_ms: 0.0,
                    total_ms: 0.0,
                });
            }
        }
        let engine = self.platform.engine.clone();
        let compile_started = Instant::now();
        let component = tokio::task::spawn_blocking(move || Component::new(&engine, &bytes))
            .await
            .map_err(|e| anyhow!("compile task failed: {e}"))?
            .map_err(|e| anyhow!("component `{id}` does not compile: {e:#}"))?;
        let compile_ms = compile_started.elapsed().as_secs_f64() * 1e3;
        check_grants(&env.spec, &component, &self.platform.engine)?;
        check_exports(&env.spec, &component, &self.platform.engine)?;
        let pre = self
            .linker
            .instantiate_pre(&component)
            .map_err(|e| anyhow!("component `{id}` cannot be linked: {e:#}"))?;
        let kind = match env.spec.grants.kind {
            ComponentKind::Endpoint => LoadedKind::Endpoint(
                IssuerEndpointPre::new(pre).map_err(|e| anyhow!("component `{id}` is not an endpoint: {e:#}"))?,
            ),
            ComponentKind::CredentialDataPlugin => LoadedKind::CredentialData(
                CredentialDataPluginPre::new(pre)
                    .map_err(|e| anyhow!("component `{id}` is not a credential-data plugin: {e:#}"))?,
            ),
            ComponentKind::Plugin => LoadedKind::Plugin(
                AuthenticatorPluginPre::new(pre)
                    .map_err(|e| anyhow!("component `{id}` is not an authenticator plugin: {e:#}"))?,
            ),
        };
        let version = slot.next_version.fetch_add(1, Ordering::Relaxed);
        slot.current.store(Some(Arc::new(Loaded { version, digest: digest.clone(), kind, env })));
        let report = DeployReport {
            component: id.to_string(),
            version,
            digest,
            compile_ms,
            total_ms: started.elapsed().as_secs_f64() * 1e3,
        };
        tracing::info!(component = id, version, digest = %report.digest, compile_ms, total_ms = report.total_ms, "deployed");
        self.platform.metrics.deployed(id);
        Ok(report)
    }

    /// Polls component files and hot-deploys those that changed. Runs until the process ends.
    pub async fn watch_files(self: Arc<Self>) {
        let mut seen: HashMap<String, (SystemTime, u64)> = HashMap::new();
        let files: Vec<(String, PathBuf)> = self
            .manifest
            .components
            .values()
            .filter_map(|spec| match &spec.source {
                Source::File(path) => Some((spec.id.clone(), path.clone())),
                Source::Remote { .. } => None,
            })
            .collect();
        for (id, path) in &files {
            if let Some(stamp) = file_stamp(path) {
                seen.insert(id.clone(), stamp);
            }
        }
        loop {
            tokio::time::sleep(Duration::from_millis(500)).await;
            for (id, path) in &files {
                let Some(stamp) = file_stamp(path) else { continue };
                if seen.get(id) == Some(&stamp) {
                    continue;
                }
                seen.insert(id.clone(), stamp);
                match tokio::fs::read(path).await {
                    Ok(bytes) => {
                        if let Err(e) = self.deploy(id, bytes).await {
                            tracing::error!(component = %id, error = %format!("{e:#}"), "hot deploy refused; the running version keeps serving");
                        }
                    }
                    Err(e) => tracing::warn!(component = %id, error = %e, "cannot read the changed component"),
                }
            }
        }
    }
}

/// The bytes of a component source: a file, or a fetched artifact checked against its digest.
pub async fn read_source(id: &str, source: &Source, data_dir: &std::path::Path) -> Result<Vec<u8>> {
    match source {
        Source::File(path) => {
            tokio::fs::read(path).await.with_context(|| format!("component `{id}`: reading {}", path.display()))
        }
        Source::Remote { url, digest } => crate::artifact::fetch(url, digest, data_dir)
            .await
            .with_context(|| format!("component `{id}`")),
    }
}

fn file_stamp(path: &PathBuf) -> Option<(SystemTime, u64)> {
    let meta = std::fs::metadata(path).ok()?;
    Some((meta.modified().ok()?, meta.len()))
}

/// Refuses a component whose imports exceed its grants, naming the import.
pub fn check_grants(spec: &ComponentSpec, component: &Component, engine: &wasmtime::Engine) -> Result<()> {
    for (name, _item) in component.component_type().imports(engine) {
        if let Some(cap) = Capability::from_import(name) {
            if !spec.grants.allows(cap) {
                bail!(
                    "component `{}` imports `{name}` but is not granted `{}` (add it to [component.{}.tool.esignet] capabilities)",
                    spec.id,
                    cap.name(),
                    spec.id
                );
            }
            if matches!(cap, Capability::Authenticator | Capability::CredentialData) && spec.grants.kind.is_plugin() {
                bail!("plugin `{}` imports `{name}`: plugins cannot call plugins", spec.id);
            }
            continue;
        }
        if name.split('@').next() == Some("esignet:platform/http-types") {
            continue; // types only: nothing to grant
        }
        if name.starts_with("esignet:") {
            bail!("component `{}` imports `{name}`, which this host does not provide", spec.id);
        }
        let unversioned = name.split('@').next().unwrap_or(name);
        if unversioned.starts_with("wasi:sockets/") || unversioned.starts_with("wasi:http/") {
            bail!(
                "component `{}` imports `{name}`: raw network access is not available; use esignet:platform/outbound-http with allowed_outbound_hosts",
                spec.id
            );
        }
        if !unversioned.starts_with("wasi:") {
            bail!("component `{}` imports `{name}`, which this host does not provide", spec.id);
        }
    }
    Ok(())
}

/// The interface a plugin of each kind must export, besides the HTTP handler every component exports.
fn required_export(kind: ComponentKind) -> Option<&'static str> {
    match kind {
        ComponentKind::Endpoint => None,
        ComponentKind::Plugin => Some("esignet:plugin/authenticator"),
        ComponentKind::CredentialDataPlugin => Some("esignet:plugin/credential-data"),
    }
}

/// Refuses a plugin that does not export the interface its kind (and so every binding to it) needs, naming
/// the interface; `esignet check` runs this too.
pub fn check_exports(spec: &ComponentSpec, component: &Component, engine: &wasmtime::Engine) -> Result<()> {
    let Some(wanted) = required_export(spec.grants.kind) else { return Ok(()) };
    let exported = component
        .component_type()
        .exports(engine)
        .any(|(name, _)| name.split('@').next() == Some(wanted));
    if !exported {
        bail!(
            "component `{}` is declared with kind = \"{}\" but does not export `{wanted}`; it cannot serve the endpoints bound to it",
            spec.id,
            spec.grants.kind.name()
        );
    }
    Ok(())
}
