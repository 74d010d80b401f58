//! `login-bench`: the load driver of the login benchmark (`scripts/bench_logins.py` runs it).
//!
//! - `setup`: registers a private_key_jwt ES256 client with PKCE required on an eSignet host and creates
//!   identities in its mock identity system; writes the target file the `run` command reads.
//! - `run`: drives complete, verified logins against eSignet or the oidc-provider peer at the given
//!   concurrency levels, each bounded by time and by count, and prints per-level JSON: flows/s, p50/p99 per step,
//!   the server's CPU (utime+stime from /proc/<pid>/stat) and peak RSS (VmHWM), and the driver's own CPU.
//!
//! Only loopback targets are accepted.

mod flows;
mod http;
mod jose;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context, Result};
use clap::{Parser, Subcommand, ValueEnum};
use ::http::Method;
use serde_json::{json, Value};

use crate::flows::{envelope, json_of, Consent, Kind, Target, TargetFile};
use crate::http::{Conn, Origin};

#[derive(Parser)]
#[command(about = "Load driver of the login benchmark")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Clone, Copy, ValueEnum)]
enum KindArg {
    Esignet,
    Peer,
}

#[derive(Subcommand)]
enum Command {
    /// Register the bench client and create identities on an eSignet host.
    Setup {
        /// The issuer (e.g. http://127.0.0.1:8088/v1/esignet); the UI and admin APIs are on its origin.
        #[arg(long)]
        issuer: String,
        /// An operator token for client-mgmt (`esignet admin-token`).
        #[arg(long)]
        admin_token: String,
        /// The mock identity system's admin bearer token (variable mock_identity_admin_token).
        #[arg(long)]
        mock_admin_token: String,
        #[arg(long, default_value_t = 200)]
        identities: usize,
        /// Identity creations in flight (each hashes a PIN with Argon2id).
        #[arg(long, default_value_t = 2)]
        concurrency: usize,
        #[arg(long)]
        out: String,
    },
    /// Drive complete logins.
    Run {
        #[arg(long, value_enum)]
        kind: KindArg,
        /// The target file (from `setup`, or the peer's peer.json).
        #[arg(long)]
        target: String,
        /// Concurrency levels, e.g. 1,8,32 (0 = none: only the first pass).
        #[arg(long, value_delimiter = ',', default_value = "1,8,32")]
        levels: Vec<usize>,
        /// Time bound of each level.
        #[arg(long, default_value_t = 15.0)]
        seconds: f64,
        /// Count bound of each level.
        #[arg(long, default_value_t = 200_000)]
        max_flows: u64,
        /// Before the levels: log every identity in once (eSignet: consent CAPTURE), at this concurrency.
        /// For the peer: that many flows (its first pass). 0 = none.
        #[arg(long, default_value_t = 0)]
        first_pass: usize,
        #[arg(long, default_value_t = 8)]
        first_pass_concurrency: usize,
        /// The server's process id, for CPU and RSS.
        #[arg(long)]
        pid: Option<u32>,
        /// Clock ticks per second of /proc/<pid>/stat (getconf CLK_TCK).
        #[arg(long, default_value_t = 100)]
        clk_tck: u64,
        /// Driver worker threads (1 = a current-thread runtime).
        #[arg(long, default_value_t = 1)]
        threads: usize,
    },
}

fn main() -> Result<()> {
    let cli = Cli::parse();
    let threads = match &cli.command {
        Command::Run { threads, .. } => *threads,
        Command::Setup { .. } => 1,
    };
    let rt = if threads <= 1 {
        tokio::runtime::Builder::new_current_thread().enable_all().build()?
    } else {
        tokio::runtime::Builder::new_multi_thread().worker_threads(threads).enable_all().build()?
    };
    rt.block_on(async move {
        match cli.command {
            Command::Setup { issuer, admin_token, mock_admin_token, identities, concurrency, out } => {
                setup(&issuer, &admin_token, &mock_admin_token, identities, concurrency, &out).await
            }
            Command::Run { kind, target, levels, seconds, max_flows, first_pass, first_pass_concurrency, pid, clk_tck, threads: _ } => {
                let kind = match kind {
                    KindArg::Esignet => Kind::Esignet,
                    KindArg::Peer => Kind::Peer,
                };
                let file: TargetFile = serde_json::from_slice(&std::fs::read(&target).with_context(|| format!("reading {target}"))?)?;
                let target = Arc::new(Target::load(kind, file).await?);
                let probe = Probe { pid, clk_tck };
                if first_pass > 0 {
                    let n = if kind == Kind::Esignet { target.identities.len().min(first_pass) } else { first_pass };
                    let r = level(&target, first_pass_concurrency, 600.0, n as u64, &probe, "first-pass").await?;
                    println!("{r}");
                }
                for c in levels.into_iter().filter(|c| *c > 0) {
                    let r = level(&target, c, seconds, max_flows, &probe, "measured").await?;
                    println!("{r}");
                }
                Ok(())
            }
        }
    })
}

// ------------------------------------------------------------------------------------------------------------
// setup
// ------------------------------------------------------------------------------------------------------------

async fn setup(issuer: &str, admin_token: &str, mock_admin_token: &str, n: usize, concurrency: usize, out: &str) -> Result<()> {
    let origin = Origin::parse(issuer)?;
    let (private, public) = jose::new_client_key()?;
    let client_id = format!("bench-{}", &jose::random_b64(9));
    let redirect_uri = "http://127.0.0.1:3000/callback";
    let claims = ["name", "given_name", "family_name", "email", "phone_number", "gender", "birthdate", "address", "picture", "locale"];
    let acrs = ["mosip:idp:acr:generated-code", "mosip:idp:acr:static-code", "mosip:idp:acr:password", "mosip:idp:acr:knowledge"];
    let request = json!({
        "clientId": client_id, "clientName": "Bench RP", "clientNameLangMap": { "eng": "Bench RP" },
        "relyingPartyId": format!("rp-{client_id}"), "logoUri": "https://rp.bench.invalid/logo.png",
        "redirectUris": [redirect_uri], "userClaims": claims, "authContextRefs": acrs,
        "grantTypes": ["authorization_code"], "clientAuthMethods": ["private_key_jwt"], "publicKey": public,
        "additionalConfig": { "userinfo_response_type": "JWS", "consent_expire_in_mins": 1440, "require_pkce": true },
    });
    let mut conn = Conn::new(origin.clone());
    let bearer = format!("Bearer {admin_token}");
    let r = conn
        .send(Method::POST, "/v1/esignet/client-mgmt/client", &[("authorization", &bearer)], None, Some(("application/json", envelope(request).to_string().into_bytes())))
        .await?;
    let body = json_of(r.expect(200, "client registration")?)?;
    if body.get("response").and_then(|r| r.get("clientId")).and_then(Value::as_str) != Some(&client_id) {
        bail!("client registration failed: {body}");
    }

    let t0 = Instant::now();
    let made = Arc::new(tokio::sync::Mutex::new(Vec::with_capacity(n)));
    let todo = Arc::new(AtomicU64::new(n as u64));
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..concurrency.max(1) {
        let (origin, made, todo, token) = (origin.clone(), made.clone(), todo.clone(), format!("Bearer {mock_admin_token}"));
        tasks.spawn(async move {
            let mut conn = Conn::new(origin);
            let mut failures = 0;
            while todo.fetch_update(Ordering::SeqCst, Ordering::SeqCst, |v| v.checked_sub(1)).is_ok() {
                let id = format!("7{:09}", rand::random::<u32>() % 1_000_000_000);
                let request = identity_request(&id);
                let r = conn
                    .send(Method::POST, "/v1/mock-identity-system/identity", &[("authorization", &token)], None, Some(("application/json", envelope(request).to_string().into_bytes())))
                    .await?;
                let body = json_of(r.expect(200, "identity creation")?)?;
                if body.get("errors").and_then(Value::as_array).is_some_and(|e| !e.is_empty()) {
                    failures += 1;
                    if failures > 10 {
                        bail!("identity creation keeps failing: {body}");
                    }
                    todo.fetch_add(1, Ordering::SeqCst);
                    continue;
                }
                made.lock().await.push(id);
            }
            Ok::<(), anyhow::Error>(())
        });
    }
    while let Some(r) = tasks.join_next().await {
        r??;
    }
    let identities = made.lock().await.clone();
    let file = json!({
        "issuer": issuer, "client_id": client_id, "client_private_jwk": private, "redirect_uri": redirect_uri,
        "scope": "openid profile", "identities": identities, "otp": "111111",
    });
    std::fs::write(out, serde_json::to_vec_pretty(&file)?)?;
    println!("{}", json!({ "client_id": client_id, "identities": identities.len(), "seconds": t0.elapsed().as_secs_f64() }));
    Ok(())
}

fn identity_request(id: &str) -> Value {
    let suffix = jose::random_b64(3);
    let pin = format!("{:06}", rand::random::<u32>() % 1_000_000);
    let phone = format!("+91{:010}", rand::random::<u64>() % 10_000_000_000);
    json!({
        "individualId": id,
        "fullName": [{ "language": "eng", "value": format!("Bench Citizen {suffix}") }],
        "givenName": [{ "language": "eng", "value": "Bench" }],
        "familyName": [{ "language": "eng", "value": format!("Citizen {suffix}") }],
        "gender": [{ "language": "eng", "value": "Female" }],
        "streetAddress": [{ "language": "eng", "value": "1 Test Street" }],
        "locality": [{ "language": "eng", "value": "Testville" }],
        "region": [{ "language": "eng", "value": "North" }],
        "country": [{ "language": "eng", "value": "Testland" }],
        "preferredLang": "eng",
        "dateOfBirth": "1987/11/25",
        "postalCode": "12345",
        "encodedPhoto": "iVBORw0KGgoAAAANSUhEUg",
        "email": format!("citizen.{}@example.com", suffix.to_lowercase().replace(['-', '_'], "x")),
        "phone": phone,
        "pin": pin,
    })
}

// ------------------------------------------------------------------------------------------------------------
// run
// ------------------------------------------------------------------------------------------------------------

struct Probe {
    pid: Option<u32>,
    clk_tck: u64,
}

/// utime + stime in seconds, from /proc/<pid>/stat (fields 14 and 15).
fn cpu_seconds(pid: &str, clk_tck: u64) -> Result<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))?;
    let rest = stat.rsplit_once(')').map(|(_, r)| r).ok_or_else(|| anyhow!("bad /proc/{pid}/stat"))?;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // `rest` starts at field 3 (state): utime is field 14, stime field 15.
    let utime: u64 = fields.get(11).ok_or_else(|| anyhow!("no utime"))?.parse()?;
    let stime: u64 = fields.get(12).ok_or_else(|| anyhow!("no stime"))?.parse()?;
    Ok((utime + stime) as f64 / clk_tck as f64)
}

/// VmHWM and VmRSS in kB, from /proc/<pid>/status.
fn memory_kb(pid: u32) -> Result<(u64, u64)> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    let field = |name: &str| -> u64 {
        status
            .lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse().ok())
            .unwrap_or(0)
    };
    Ok((field("VmHWM:"), field("VmRSS:")))
}

fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg").map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" ")).unwrap_or_default()
}

#[derive(Default)]
struct WorkerResult {
    times: Vec<Vec<u32>>,
    flow_us: Vec<u32>,
    capture: u64,
    nocapture: u64,
    programmatic: u64,
    errors: u64,
    first_errors: Vec<String>,
    connections: u64,
}

async fn level(target: &Arc<Target>, concurrency: usize, seconds: f64, max_flows: u64, probe: &Probe, phase: &str) -> Result<Value> {
    let steps = target.kind.steps();
    if target.kind == Kind::Esignet && phase == "first-pass" {
        target.reset_identities();
    }
    let remaining = Arc::new(AtomicU64::new(max_flows));
    let deadline = Instant::now() + Duration::from_secs_f64(seconds);
    let load_before = loadavg();
    let pid = probe.pid.map(|p| p.to_string());
    let server_cpu0 = pid.as_deref().map(|p| cpu_seconds(p, probe.clk_tck)).transpose()?;
    let driver_cpu0 = cpu_seconds("self", probe.clk_tck)?;
    let t0 = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..concurrency {
        let (target, remaining) = (target.clone(), remaining.clone());
        tasks.spawn(async move {
            let mut out = WorkerResult { times: vec![Vec::new(); steps.len()], ..Default::default() };
            let mut conn = Conn::new(target.origin.clone());
            let mut times = vec![0u32; steps.len()];
            while Instant::now() < deadline && remaining.fetch_update(Ordering::Relaxed, Ordering::Relaxed, |v| v.checked_sub(1)).is_ok() {
                let identity = target.take_identity();
                let start = Instant::now();
                match target.flow(&mut conn, identity, &mut times).await {
                    Ok(consent) => {
                        out.flow_us.push(start.elapsed().as_micros().min(u32::MAX as u128) as u32);
                        for (i, t) in times.iter().enumerate() {
                            out.times[i].push(*t);
                        }
                        match consent {
                            Consent::Capture => out.capture += 1,
                            Consent::NoCapture => out.nocapture += 1,
                            Consent::Programmatic => out.programmatic += 1,
                        }
                    }
                    Err(e) => {
                        out.errors += 1;
                        if out.first_errors.len() < 3 {
                            out.first_errors.push(format!("{e:#}"));
                        }
                        out.connections += conn.opened;
                        conn = Conn::new(target.origin.clone());
                        if out.errors > 50 {
                            break;
                        }
                    }
                }
            }
            out.connections += conn.opened;
            out
        });
    }
    let mut all = WorkerResult { times: vec![Vec::new(); steps.len()], ..Default::default() };
    while let Some(r) = tasks.join_next().await {
        let r = r?;
        for (i, t) in r.times.into_iter().enumerate() {
            all.times[i].extend(t);
        }
        all.flow_us.extend(r.flow_us);
        all.capture += r.capture;
        all.nocapture += r.nocapture;
        all.programmatic += r.programmatic;
        all.errors += r.errors;
        all.connections += r.connections;
        all.first_errors.extend(r.first_errors.into_iter().take(3usize.saturating_sub(all.first_errors.len())));
    }
    let wall = t0.elapsed().as_secs_f64();
    let driver_cpu = cpu_seconds("self", probe.clk_tck)? - driver_cpu0;
    let server_cpu = match (pid.as_deref(), server_cpu0) {
        (Some(p), Some(c0)) => Some(cpu_seconds(p, probe.clk_tck)? - c0),
        _ => None,
    };
    let memory = probe.pid.map(memory_kb).transpose()?;
    let flows = all.flow_us.len() as u64;
    let mut step_stats = serde_json::Map::new();
    for (name, mut t) in steps.iter().zip(all.times) {
        step_stats.insert(name.to_string(), percentiles(&mut t));
    }
    Ok(json!({
        "kind": match target.kind { Kind::Esignet => "esignet", Kind::Peer => "peer" },
        "phase": phase,
        "concurrency": concurrency,
        "seconds": wall,
        "flows": flows,
        "errors": all.errors,
        "first_errors": all.first_errors,
        "flows_per_s": flows as f64 / wall,
        "flow": percentiles(&mut all.flow_us),
        "steps": step_stats,
        "id_system_steps": if target.kind == Kind::Esignet { flows::ESIGNET_ID_SYSTEM_STEPS } else { &[] },
        "consent": { "capture": all.capture, "nocapture": all.nocapture, "programmatic": all.programmatic },
        "connections_opened": all.connections,
        "server_cpu_s": server_cpu,
        "server_cpu_ms_per_flow": server_cpu.map(|c| if flows > 0 { c * 1e3 / flows as f64 } else { 0.0 }),
        "server_cores_used": server_cpu.map(|c| c / wall),
        "server_vmhwm_kb": memory.map(|m| m.0),
        "server_vmrss_kb": memory.map(|m| m.1),
        "driver_cpu_s": driver_cpu,
        "driver_cores_used": driver_cpu / wall,
        "load_before": load_before,
        "load_after": loadavg(),
    }))
}

/// p50/p99/mean/max in milliseconds.
fn percentiles(t: &mut [u32]) -> Value {
    if t.is_empty() {
        return json!({ "n": 0 });
    }
    t.sort_unstable();
    let at = |q: f64| -> f64 {
        let i = ((q * t.len() as f64).ceil() as usize).clamp(1, t.len()) - 1;
        f64::from(t[i]) / 1e3
    };
    let mean = t.iter().map(|v| f64::from(*v)).sum::<f64>() / t.len() as f64 / 1e3;
    json!({ "n": t.len(), "p50_ms": at(0.50), "p99_ms": at(0.99), "mean_ms": mean, "max_ms": at(1.0) })
}
