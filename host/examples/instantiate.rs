//! Micro-benchmark of per-request instantiation, without HTTP: the same `HostState::new_store` +
//! `instantiate_async` span that `esignet_instantiation_duration_seconds` measures, then the call and the store's
//! drop (which resets the pooled memory slot), each timed on its own.
//!
//! Usage: `cargo run --release -p esignet-host --example instantiate -- <component.wasm> [iterations]`
//! (e.g. `/var/tmp/esignet-components-target/wasm32-wasip2/release/test_hello_v1.wasm`). Runs on one thread,
//! so it also suits `valgrind --tool=callgrind` with a small iteration count.

use std::sync::Arc;
use std::time::{Duration, Instant};

use esignet_host::bindings::endpoint::exports::esignet::platform::handler::Request;
use esignet_host::deploy::{LoadedKind, Registry};
use esignet_host::engine::build_engine;
use esignet_host::manifest::Manifest;
use esignet_host::metrics::Metrics;
use esignet_host::runtime_config::RuntimeConfig;
use esignet_host::state::{HostState, Platform};

fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let wasm = args.next().ok_or_else(|| anyhow::anyhow!("usage: instantiate <component.wasm> [iterations]"))?;
    let iterations: u32 = args.next().map(|n| n.parse()).transpose()?.unwrap_or(20_000);
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    runtime.block_on(run(&wasm, iterations))
}

async fn run(wasm: &str, iterations: u32) -> anyhow::Result<()> {
    let dir = std::env::temp_dir().join(format!("esignet-instantiate-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    std::fs::copy(wasm, dir.join("c.wasm"))?;
    // INSTANTIATE_LIMITS="max_instances = 2" shrinks the pool's address-space reservation (valgrind needs it).
    let limits = std::env::var("INSTANTIATE_LIMITS").unwrap_or_default();
    let config = RuntimeConfig::parse(&format!("[limits]\n{limits}\n"))?;
    let engine = build_engine(&config.limits, None)?;
    let (sql, cache, keys) = esignet_host::backends::select::backends(&config, &dir).await?;
    let platform = Arc::new(Platform { engine, config, sql, cache, keys, metrics: Arc::new(Metrics::new()) });
    let text = "spin_manifest_version = 2\n[application]\nname = \"bench\"\n[[trigger.http]]\nroute = \"/c/...\"\n\
                component = \"c\"\n[component.c]\nsource = \"c.wasm\"\n";
    let manifest = Manifest::parse(text, &dir, &|_| None)?;
    let registry = Registry::new(manifest, platform)?;
    registry.load_all(&dir).await?;
    let loaded = registry.slot("c").and_then(|s| s.current()).ok_or_else(|| anyhow::anyhow!("not loaded"))?;
    let LoadedKind::Endpoint(pre) = &loaded.kind else { anyhow::bail!("not an endpoint component") };
    let req = Request {
        method: "GET".into(),
        path: "/c/x".into(),
        query: String::new(),
        route: "/c".into(),
        headers: vec![("host".into(), "localhost".into())],
        body: Vec::new(),
    };

    let (mut inst, mut call, mut drop_t) = (Duration::ZERO, Duration::ZERO, Duration::ZERO);
    let mut samples = Vec::with_capacity(iterations as usize);
    for i in 0..iterations + 100 {
        let t0 = Instant::now();
        let mut store = HostState::new_store(loaded.env.clone());
        let instance = pre.instantiate_async(&mut store).await?;
        let t1 = Instant::now();
        let resp = instance.esignet_platform_handler().call_handle(&mut store, &req).await?;
        let t2 = Instant::now();
        drop(store);
        let t3 = Instant::now();
        assert_eq!(resp.status, 200);
        if i >= 100 {
            // The first 100 warm the pool's slots and the allocator.
            inst += t1 - t0;
            call += t2 - t1;
            drop_t += t3 - t2;
            samples.push(t1 - t0);
        }
    }
    samples.sort();
    let n = f64::from(iterations);
    let us = |d: Duration| d.as_secs_f64() * 1e6 / n;
    let pct = |p: f64| samples[((samples.len() as f64 * p) as usize).min(samples.len() - 1)].as_secs_f64() * 1e6;
    println!(
        "iterations {iterations}: instantiate {:.2} µs mean (p50 {:.2}, p99 {:.2}), call {:.2} µs, drop {:.2} µs",
        us(inst),
        pct(0.5),
        pct(0.99),
        us(call),
        us(drop_t)
    );
    std::fs::remove_dir_all(&dir).ok();
    Ok(())
}
