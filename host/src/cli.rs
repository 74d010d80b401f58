//! The `esignet` command: `up` serves, `check` validates without serving, `deploy` pushes a new component
//! version to a running host's admin API.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context, Result};
use clap::{Args, Parser, Subcommand};

use crate::admin::{load_or_create_token, Admin};
use crate::deploy::Registry;
use crate::engine::{build_engine, start_epoch_ticker};
use crate::manifest::Manifest;
use crate::metrics::Metrics;
use crate::runtime_config::RuntimeConfig;
use crate::server::{serve, App, ConnectionLimits};
use crate::state::Platform;

#[derive(Parser)]
#[command(name = "esignet", version, about = "An eSignet-compatible OpenID Connect provider on WebAssembly components")]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand)]
pub enum Command {
    /// Serve the application described by spin.toml.
    Up(ServeArgs),
    /// Validate spin.toml, the runtime config and the components' grants without serving, and reach each backend.
    Check(CheckArgs),
    /// Hot-deploy a component file to a running host through its admin API.
    Deploy(DeployArgs),
    /// Print a short-lived operator token for the client-management API (from a running host).
    AdminToken(AdminArgs),
}

#[derive(Args)]
pub struct AdminArgs {
    /// The admin API's address.
    #[arg(long, env = "ESIGNET_ADMIN_LISTEN", default_value = "127.0.0.1:8089")]
    pub admin: SocketAddr,
    /// Data directory holding admin.token (unless ESIGNET_ADMIN_TOKEN is set).
    #[arg(long, env = "ESIGNET_DATA_DIR", default_value = ".esignet")]
    pub data_dir: PathBuf,
}

#[derive(Args, Clone)]
pub struct ServeArgs {
    /// Address to serve HTTP on.
    #[arg(long, env = "ESIGNET_LISTEN")]
    pub listen: Option<SocketAddr>,
    /// Directory for data: SQLite files, the soft keystore, the compile cache, the admin token.
    #[arg(long, env = "ESIGNET_DATA_DIR", default_value = ".esignet")]
    pub data_dir: PathBuf,
    /// runtime-config.toml (backends, limits); the embedded defaults apply without it.
    #[arg(long, env = "ESIGNET_RUNTIME_CONFIG")]
    pub runtime_config: Option<PathBuf>,
    /// The application manifest.
    #[arg(long, env = "ESIGNET_MANIFEST", default_value = "spin.toml")]
    pub manifest: PathBuf,
    /// Address of the admin (hot-deploy) API.
    #[arg(long, env = "ESIGNET_ADMIN_LISTEN")]
    pub admin_listen: Option<SocketAddr>,
}

#[derive(Args, Clone)]
pub struct CheckArgs {
    #[command(flatten)]
    pub serve: ServeArgs,
    /// Do not try to reach the configured backends (validate files only, e.g. for a config rendered elsewhere).
    #[arg(long)]
    pub offline: bool,
}

#[derive(Args)]
pub struct DeployArgs {
    /// Component id in spin.toml.
    pub component: String,
    /// The new version's .wasm file (or use --url with --digest).
    pub file: Option<PathBuf>,
    /// Deploy an HTTP(S) artifact instead of a file; the host fetches it and checks --digest.
    #[arg(long, requires = "digest", conflicts_with = "file")]
    pub url: Option<String>,
    /// `sha256:<hex>` digest the artifact must have.
    #[arg(long)]
    pub digest: Option<String>,
    /// The admin API's address.
    #[arg(long, env = "ESIGNET_ADMIN_LISTEN", default_value = "127.0.0.1:8089")]
    pub admin: SocketAddr,
    /// Data directory holding admin.token (unless ESIGNET_ADMIN_TOKEN is set).
    #[arg(long, env = "ESIGNET_DATA_DIR", default_value = ".esignet")]
    pub data_dir: PathBuf,
}

fn env_var(name: &str) -> Option<String> {
    std::env::var(name).ok()
}

/// Application variables come from `ESIGNET_VAR_<NAME>` (or Spin's `SPIN_VARIABLE_<NAME>`); `issuer` also from
/// `ESIGNET_ISSUER`.
fn app_variable(name: &str) -> Option<String> {
    let upper = name.to_ascii_uppercase();
    let issuer = if name == "issuer" { env_var("ESIGNET_ISSUER") } else { None };
    issuer
        .or_else(|| env_var(&format!("ESIGNET_VAR_{upper}")))
        .or_else(|| env_var(&format!("SPIN_VARIABLE_{upper}")))
}

/// The mock identity system's OTP in the single-machine demo.
const DEMO_OTP: &str = "111111";

/// The issuer when none is configured: only the single-machine demo may derive it from the listen address.
pub fn issuer_for(config: &RuntimeConfig) -> Option<String> {
    app_variable("issuer").or_else(|| {
        let listen = config.server.listen;
        let host = if listen.ip().is_unspecified() { "127.0.0.1".to_string() } else { listen.ip().to_string() };
        config.demo.enabled.then(|| format!("http://{host}:{}/v1/esignet", listen.port()))
    })
}

pub fn init_logging(config: &RuntimeConfig) {
    let filter = tracing_subscriber::EnvFilter::try_from_env("ESIGNET_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(&config.log.level));
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr);
    let _ = if config.log.format == "text" { builder.try_init() } else { builder.json().flatten_event(true).try_init() };
}

/// Loads configuration and manifest; the command-line address wins over the file.
pub fn load(args: &ServeArgs) -> Result<(RuntimeConfig, Manifest)> {
    let mut config = RuntimeConfig::load(args.runtime_config.as_deref(), &env_var)?;
    if let Some(listen) = args.listen {
        config.server.listen = listen;
    }
    if let Some(admin) = args.admin_listen {
        config.server.admin_listen = admin;
    }
    let issuer = issuer_for(&config);
    let demo = config.demo.enabled;
    let lookup = move |name: &str| match name {
        "issuer" => issuer.clone(),
        // Only the single-machine demo gets a fixed OTP by default; production keeps generated ones.
        "demo_otp" => app_variable(name).or_else(|| demo.then(|| DEMO_OTP.to_string())),
        _ => app_variable(name),
    };
    let manifest = Manifest::load(&args.manifest, &lookup)?;
    Ok((config, manifest))
}

/// Creates the data directory readable by the owner only. An existing directory this process does not own
/// (a volume mounted by the platform) keeps its mode; the secrets inside are written 0600 regardless.
fn create_data_dir(dir: &Path) -> Result<()> {
    let existed = dir.exists();
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        if let Err(e) = std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700)) {
            if !existed || e.kind() != std::io::ErrorKind::PermissionDenied {
                return Err(e).with_context(|| format!("restricting {}", dir.display()));
            }
            tracing::warn!(dir = %dir.display(), "data directory not owned by this user; leaving its mode as is");
        }
    }
    Ok(())
}

async fn platform(args: &ServeArgs, config: RuntimeConfig) -> Result<Arc<Platform>> {
    create_data_dir(&args.data_dir)?;
    let engine = build_engine(&config.limits, Some(&args.data_dir.join("compile-cache")))?;
    start_epoch_ticker(&engine);
    let (sql, cache, keys) = crate::backends::select::backends(&config, &args.data_dir).await?;
    Ok(Arc::new(Platform { engine, config, sql, cache, keys, metrics: Arc::new(Metrics::new()) }))
}

pub async fn up(args: ServeArgs) -> Result<()> {
    let started = Instant::now();
    let (config, manifest) = load(&args)?;
    init_logging(&config);
    let platform = platform(&args, config).await?;
    tracing::info!(
        sql = %platform.sql.describe(),
        cache = %platform.cache.describe(),
        keys = %platform.keys.describe(),
        "backends"
    );
    // Waits for a database that is not reachable yet as long as one migration may take (sql.migration_timeout_ms).
    let wait = Duration::from_millis(platform.config.sql.migration_timeout_ms);
    crate::migrate::apply_when_reachable(platform.sql.as_ref(), &manifest, wait).await?;
    let registry = Arc::new(Registry::new(manifest, platform.clone())?);
    registry.load_all(&args.data_dir).await?;
    let app = Arc::new(App { registry: registry.clone(), ready: std::sync::atomic::AtomicBool::new(false) });
    let listener = tokio::net::TcpListener::bind(platform.config.server.listen)
        .await
        .with_context(|| format!("binding {}", platform.config.server.listen))?;
    let admin_listener = tokio::net::TcpListener::bind(platform.config.server.admin_listen)
        .await
        .with_context(|| format!("binding the admin API on {}", platform.config.server.admin_listen))?;
    let admin = Arc::new(Admin {
        registry: registry.clone(),
        token: load_or_create_token(&args.data_dir)?,
        issuer: registry.manifest.variables.get("issuer").cloned().unwrap_or_default(),
        data_dir: args.data_dir.clone(),
    });
    if platform.config.server.watch_components {
        tokio::spawn(registry.clone().watch_files());
    }
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let drain = Duration::from_secs(platform.config.server.drain_seconds);
    let admin_task = {
        let mut stop = stop_rx.clone();
        tokio::spawn(serve(
            admin_listener,
            move |req| admin.clone().handle(req),
            async move {
                let _ = stop.changed().await;
            },
            Duration::from_secs(1),
            ConnectionLimits { max_connections: 64, header_read_timeout: Duration::from_secs(10) },
        ))
    };
    if platform.config.demo.enabled {
        let dir = app.registry.manifest.base_dir.join(&platform.config.demo.dir);
        let files = crate::demo::DemoFiles { identities: dir.join("identities.json"), client: dir.join("client.json") };
        if files.identities.exists() && files.client.exists() {
            let issuer = app.registry.manifest.variables.get("issuer").cloned().unwrap_or_default();
            let doc = crate::demo::seed(&app, &files, &args.data_dir, &issuer).await.context("seeding the demo")?;
            print_demo(&doc, &args.data_dir);
        }
    }
    app.ready.store(true, Ordering::SeqCst);
    tracing::info!(
        listen = %platform.config.server.listen,
        admin = %platform.config.server.admin_listen,
        start_to_ready_ms = started.elapsed().as_secs_f64() * 1e3,
        "ready"
    );
    let serving_app = app.clone();
    let mut stop = stop_rx;
    let server = tokio::spawn(serve(
        listener,
        move |req| serving_app.clone().handle(req),
        async move {
            let _ = stop.changed().await;
        },
        drain,
        ConnectionLimits {
            max_connections: platform.config.server.max_connections,
            header_read_timeout: Duration::from_secs(platform.config.server.header_read_timeout_secs),
        },
    ));
    shutdown_signal().await;
    // Shutdown in two phases. 1: not ready — the health check answers DOWN and every response says
    // `Connection: close` (server.rs), but the listener stays open and requests are served, so a load balancer
    // that checks health moves away without a single refused or reset request. 2: stop accepting and drain.
    app.ready.store(false, Ordering::SeqCst);
    let delay = Duration::from_millis(platform.config.server.shutdown_delay_ms);
    if !delay.is_zero() {
        tracing::info!(shutdown_delay_ms = platform.config.server.shutdown_delay_ms, "shutting down: not ready; still serving");
        tokio::select! {
            _ = tokio::time::sleep(delay) => {}
            _ = shutdown_signal() => tracing::info!("second signal: skipping the rest of the shutdown delay"),
        }
    }
    tracing::info!("shutting down: no new connections; draining in-flight requests");
    let _ = stop_tx.send(true);
    let _ = server.await;
    let _ = admin_task.await;
    tracing::info!("stopped");
    Ok(())
}

fn print_demo(doc: &serde_json::Value, data_dir: &Path) {
    let ids: Vec<String> = doc["identities"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|i| format!("  individual id {}  OTP {}  PIN {}  password {}", i["individual_id"], i["otp"], i["pin"], i["password"]))
        .collect();
    println!(
        "\neSignet demo ready\n  issuer        {}\n  discovery     {}/.well-known/openid-configuration\n  client_id     {}\n  redirect_uri  {}\n  client key and everything else: {}\n  log in with:\n{}\n",
        doc["issuer"].as_str().unwrap_or_default(),
        doc["issuer"].as_str().unwrap_or_default(),
        doc["client_id"].as_str().unwrap_or_default(),
        doc["redirect_uri"].as_str().unwrap_or_default(),
        data_dir.join("demo.json").display(),
        ids.join("\n")
    );
}

async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        match (signal(SignalKind::terminate()), signal(SignalKind::interrupt())) {
            (Ok(mut term), Ok(mut int)) => {
                tokio::select! {
                    _ = term.recv() => {}
                    _ = int.recv() => {}
                }
            }
            _ => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

pub async fn check(check: CheckArgs) -> Result<()> {
    let args = check.serve;
    let (config, manifest) = load(&args)?;
    let engine = build_engine(&config.limits, None)?;
    let mut problems = Vec::new();
    for spec in manifest.components.values() {
        let result = crate::deploy::read_source(&spec.id, &spec.source, &args.data_dir)
            .await
            .and_then(|bytes| {
                let component = wasmtime::component::Component::new(&engine, &bytes)
                    .map_err(|e| anyhow!("component `{}` does not compile: {e:#}", spec.id))?;
                crate::deploy::check_grants(spec, &component, &engine)?;
                crate::deploy::check_exports(spec, &component, &engine)
            });
        if let Err(e) = result {
            problems.push(format!("{e:#}"));
        }
    }
    if !check.offline {
        problems.extend(check_backends(&config, &args.data_dir).await);
    }
    if !problems.is_empty() {
        bail!("{}", problems.join("\n"));
    }
    println!(
        "ok: {} components, {} routes; sql={:?} cache={:?} keys={:?}",
        manifest.components.len(),
        manifest.routes.len(),
        config.sql.kind,
        config.cache.kind,
        config.keys.kind
    );
    Ok(())
}

fn admin_secret(data_dir: &Path) -> Result<String> {
    match env_var("ESIGNET_ADMIN_TOKEN") {
        Some(t) => Ok(t),
        None => Ok(std::fs::read_to_string(data_dir.join("admin.token"))
            .with_context(|| format!("reading {}/admin.token (or set ESIGNET_ADMIN_TOKEN)", data_dir.display()))?
            .trim()
            .to_string()),
    }
}

/// Sends one request to a running host's admin API; returns the status and body.
async fn admin_call(admin: SocketAddr, secret: &str, method: hyper::Method, path: &str, body: Vec<u8>) -> Result<(hyper::StatusCode, bytes::Bytes)> {
    let stream = tokio::net::TcpStream::connect(admin).await.with_context(|| format!("connecting to the admin API at {admin}"))?;
    let (mut sender, conn) = hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream)).await?;
    tokio::spawn(conn);
    let req = hyper::Request::builder()
        .method(method)
        .uri(path)
        .header(hyper::header::HOST, admin.to_string())
        .header(hyper::header::AUTHORIZATION, format!("Bearer {secret}"))
        .body(http_body_util::Full::new(bytes::Bytes::from(body)))?;
    let resp = sender.send_request(req).await?;
    let status = resp.status();
    let body = http_body_util::BodyExt::collect(resp.into_body()).await?.to_bytes();
    Ok((status, body))
}

/// Reaches each configured backend; one line per backend that is missing or unreachable.
async fn check_backends(config: &RuntimeConfig, data_dir: &Path) -> Vec<String> {
    use crate::backends::select;
    let mut problems = Vec::new();
    let bound = Duration::from_secs(5);
    match select::sql_backend(config, data_dir).await {
        Ok(sql) => match tokio::time::timeout(bound, sql.ping()).await {
            Ok(Ok(())) => println!("sql: {} reachable", sql.describe()),
            Ok(Err(e)) => problems.push(format!("sql backend {} unreachable: {e}", sql.describe())),
            Err(_) => problems.push(format!("sql backend {} did not answer within {bound:?}", sql.describe())),
        },
        Err(e) => problems.push(format!("sql backend: {e:#}")),
    }
    match select::cache_backend(config).await {
        Ok(cache) => match tokio::time::timeout(bound, cache.ping()).await {
            Ok(Ok(())) => println!("cache: {} reachable", cache.describe()),
            Ok(Err(e)) => problems.push(format!("cache backend {} unreachable: {e}", cache.describe())),
            Err(_) => problems.push(format!("cache backend {} did not answer within {bound:?}", cache.describe())),
        },
        Err(e) => problems.push(format!("cache backend: {e:#}")),
    }
    match select::key_backend(config, data_dir).await {
        Ok(keys) => println!("keys: {} reachable", keys.describe()),
        Err(e) => problems.push(format!("keys backend: {e:#}")),
    }
    problems
}

pub async fn deploy(args: DeployArgs) -> Result<()> {
    let secret = admin_secret(&args.data_dir)?;
    let (bytes, path) = match (&args.file, &args.url, &args.digest) {
        (Some(file), None, _) => (
            std::fs::read(file).with_context(|| format!("reading {}", file.display()))?,
            format!("/admin/components/{}", args.component),
        ),
        (None, Some(url), Some(digest)) => {
            let query: String =
                url::form_urlencoded::Serializer::new(String::new()).append_pair("url", url).append_pair("digest", digest).finish();
            (Vec::new(), format!("/admin/components/{}?{query}", args.component))
        }
        _ => bail!("give a file, or --url with --digest"),
    };
    let (status, body) = admin_call(args.admin, &secret, hyper::Method::PUT, &path, bytes).await?;
    println!("{}", String::from_utf8_lossy(&body));
    if !status.is_success() {
        bail!("deploy refused ({status})");
    }
    Ok(())
}

pub async fn admin_token(args: AdminArgs) -> Result<()> {
    let secret = admin_secret(&args.data_dir)?;
    let (status, body) = admin_call(args.admin, &secret, hyper::Method::POST, "/admin/token", Vec::new()).await?;
    if !status.is_success() {
        bail!("the host refused ({status}): {}", String::from_utf8_lossy(&body));
    }
    let v: serde_json::Value = serde_json::from_slice(&body)?;
    println!("{}", v["access_token"].as_str().unwrap_or_default());
    Ok(())
}
