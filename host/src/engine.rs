//! The wasmtime engine: Cranelift, the pooling instance allocator (instantiation in microseconds), epoch
//! interruption for CPU budgets, and an on-disk cache of compiled artifacts keyed by content hash so that a
//! restart does not recompile.

use std::path::Path;
use std::time::Duration;

use anyhow::{anyhow, Result};
use wasmtime::{Cache, CacheConfig, Config, Engine, InstanceAllocationStrategy, PoolingAllocationConfig};

use crate::runtime_config::LimitsConfig;
use crate::state::EPOCH_TICK_MS;

pub fn build_engine(limits: &LimitsConfig, cache_dir: Option<&Path>) -> Result<Engine> {
    let mut config = Config::new();
    config.epoch_interruption(true);
    config.wasm_component_model(true);
    // Profiling: ESIGNET_PERF_MAP=1 writes /tmp/perf-<pid>.map so that `perf` names guest functions
    // (scripts/bench_logins.py sets it for its profile run). Off by default: the map grows with every compile.
    if std::env::var_os("ESIGNET_PERF_MAP").is_some_and(|v| v == "1") {
        config.profiler(wasmtime::ProfilingStrategy::PerfMap);
    }

    let mut pool = PoolingAllocationConfig::default();
    pool.total_component_instances(limits.max_instances);
    pool.total_core_instances(limits.max_instances * 4);
    pool.total_memories(limits.max_instances * 2);
    pool.total_tables(limits.max_instances * 4);
    pool.max_memory_size(((limits.memory_limit_mb.max(64) as usize) << 20).max(64 << 20));
    // Keep a few pages warm per slot instead of zeroing whole memories with madvise on every request.
    pool.linear_memory_keep_resident(limits.keep_resident_kb << 10);
    pool.table_keep_resident(16 << 10);
    // Where the kernel has PAGEMAP_SCAN (Linux 6.7+), reset only the pages a request dirtied instead of memsetting
    // (and copying the data image back over) the whole kept-resident prefix on every store drop: the trivial guest
    // dirties a few of its 192 KiB, and the full memset evicted the cache the next instantiation on that thread
    // needs. Falls back to the memset elsewhere.
    pool.pagemap_scan(wasmtime::Enabled::Auto);
    config.allocation_strategy(InstanceAllocationStrategy::Pooling(pool));

    if let Some(dir) = cache_dir {
        std::fs::create_dir_all(dir)?;
        // wasmtime's cache wants an absolute directory; the data dir is often given relative (`.esignet`).
        let dir = std::path::absolute(dir).map_err(|e| anyhow!("compile cache {}: {e}", dir.display()))?;
        let mut cache_config = CacheConfig::new();
        cache_config.with_directory(&dir);
        let cache = Cache::new(cache_config).map_err(|e| anyhow!("compile cache: {e:#}"))?;
        config.cache(Some(cache));
    }
    Engine::new(&config).map_err(|e| anyhow!("creating the wasm engine: {e:#}"))
}

/// Advances the engine's epoch every tick; guests' CPU budgets are counted in these ticks.
pub fn start_epoch_ticker(engine: &Engine) {
    let weak = engine.weak();
    std::thread::Builder::new()
        .name("epoch-ticker".into())
        .spawn(move || loop {
            std::thread::sleep(Duration::from_millis(EPOCH_TICK_MS));
            match weak.upgrade() {
                Some(engine) => engine.increment_epoch(),
                None => return,
            }
        })
        .ok();
}
