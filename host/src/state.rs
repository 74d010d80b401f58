//! What one store carries: the WASI context (built on the guest's first WASI call; empty: no files, no environment,
//! no network), the resource table, the memory limiter, the CPU budget, and the component's environment (its
//! grants and the shared platform).

use std::sync::Arc;

use wasmtime::component::ResourceTable;
use wasmtime::{Engine, Store, StoreLimits, StoreLimitsBuilder, UpdateDeadline};
use wasmtime_wasi::p2::pipe::MemoryOutputPipe;
use wasmtime_wasi::{WasiCtx, WasiCtxBuilder, WasiCtxView, WasiView};

use crate::backends::{CacheBackend, KeyStore, SqlBackend};
use crate::deploy::ComponentSlot;
use crate::manifest::ComponentSpec;
use crate::metrics::Metrics;
use crate::runtime_config::RuntimeConfig;

/// One epoch tick; the CPU budget is counted in these slices.
pub const EPOCH_TICK_MS: u64 = 10;

/// Everything the host shares among components: backends, configuration, metrics.
pub struct Platform {
    pub engine: Engine,
    pub config: RuntimeConfig,
    pub sql: Arc<dyn SqlBackend>,
    pub cache: Arc<dyn CacheBackend>,
    pub keys: Arc<dyn KeyStore>,
    pub metrics: Arc<Metrics>,
}

/// A component's view of the platform: its manifest entry and, for endpoints bound to a plugin, that plugin.
pub struct ComponentEnv {
    pub spec: ComponentSpec,
    pub platform: Arc<Platform>,
    pub plugin: Option<Arc<ComponentSlot>>,
    /// For endpoints bound to a credential-data plugin (`credential_data_plugin`), that plugin.
    pub credential_data: Option<Arc<ComponentSlot>>,
    /// Algorithms of every key purpose any component of the manifest owns (for `public_key_purposes`).
    pub public_key_algs: std::collections::HashMap<String, String>,
}

impl ComponentEnv {
    pub fn memory_limit_bytes(&self) -> usize {
        let mb = self.spec.grants.memory_limit_mb.unwrap_or(self.platform.config.limits.memory_limit_mb);
        (mb as usize) << 20
    }

    pub fn cpu_slices(&self) -> u64 {
        let ms = self.spec.grants.cpu_limit_ms.unwrap_or(self.platform.config.limits.cpu_limit_ms);
        ms.div_ceil(EPOCH_TICK_MS).max(1)
    }
}

pub struct HostState {
    /// Built on the guest's first WASI call (see [`WasiView::ctx`]): a request whose guest never calls WASI
    /// does not pay for it, and one that does gets the same fresh context as before.
    wasi: Option<WasiCtx>,
    pub table: ResourceTable,
    limits: StoreLimits,
    slices_left: u64,
    pub stderr: GuestStderr,
    pub open_transactions: usize,
    pub env: Arc<ComponentEnv>,
}

/// What the guest wrote to stderr in this store (at most [`STDERR_CAPACITY`] bytes), for the log when it fails.
#[derive(Default)]
pub struct GuestStderr(Option<MemoryOutputPipe>);

/// Bytes of guest stderr kept per store.
pub const STDERR_CAPACITY: usize = 4096;

impl GuestStderr {
    pub fn contents(&self) -> bytes::Bytes {
        self.0.as_ref().map(MemoryOutputPipe::contents).unwrap_or_default()
    }
}

impl WasiView for HostState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        // A fresh context per store, created when first needed. Building one costs several allocations and
        // two RNG seedings (`WasiCtxBuilder::build` also builds the builder's replacement), which is a tenth of
        // an instantiation; guests that never call WASI skip it. Only this store ever sees it.
        let stderr = &mut self.stderr;
        let ctx = self.wasi.get_or_insert_with(|| {
            let pipe = MemoryOutputPipe::new(STDERR_CAPACITY);
            stderr.0 = Some(pipe.clone());
            WasiCtxBuilder::new().stderr(pipe).build()
        });
        WasiCtxView { ctx, table: &mut self.table }
    }
}

impl HostState {
    /// A fresh store for one request or one plugin call, with the component's memory cap and CPU budget.
    pub fn new_store(env: Arc<ComponentEnv>) -> Store<HostState> {
        let limits = StoreLimitsBuilder::new()
            .memory_size(env.memory_limit_bytes())
            .instances(16)
            .tables(16)
            .memories(16)
            .trap_on_grow_failure(true)
            .build();
        let slices_left = env.cpu_slices();
        let engine = env.platform.engine.clone();
        let state = HostState {
            wasi: None,
            table: ResourceTable::new(),
            limits,
            slices_left,
            stderr: GuestStderr::default(),
            open_transactions: 0,
            env,
        };
        let mut store = Store::new(&engine, state);
        store.limiter(|s| &mut s.limits);
        store.set_epoch_deadline(1);
        store.epoch_deadline_callback(|mut ctx| {
            let state = ctx.data_mut();
            if state.slices_left == 0 {
                return Ok(UpdateDeadline::Interrupt);
            }
            state.slices_left -= 1;
            Ok(UpdateDeadline::Yield(1))
        });
        store
    }
}
