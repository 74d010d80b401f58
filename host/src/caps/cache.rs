//! `cache`: namespaced keys over the configured cache backend.

use crate::backends::CacheError as BackendError;
use crate::bindings::endpoint::esignet::platform::cache::{CacheError, Host};
use crate::state::HostState;

const MAX_KEY: usize = 512;
const MAX_VALUE: usize = 1 << 20;

impl HostState {
    fn cache_key(&self, key: &str) -> Result<String, CacheError> {
        if key.is_empty() || key.len() > MAX_KEY {
            return Err(CacheError::InvalidInput(format!("keys are 1..={MAX_KEY} bytes")));
        }
        Ok(format!("{}:{}", self.env.spec.cache_namespace(), key))
    }
}

fn map(component: &str, e: BackendError) -> CacheError {
    match e {
        BackendError::Invalid(m) => CacheError::InvalidInput(m),
        BackendError::Unavailable(m) => {
            tracing::warn!(component, error = %m, "cache unavailable");
            CacheError::Unavailable
        }
    }
}

fn check_value(value: &[u8]) -> Result<(), CacheError> {
    if value.len() > MAX_VALUE {
        return Err(CacheError::InvalidInput(format!("values are at most {MAX_VALUE} bytes")));
    }
    Ok(())
}

macro_rules! cache_op {
    ($self:ident, $key:ident, |$cache:ident, $k:ident| $body:expr) => {{
        let $k = match $self.cache_key(&$key) {
            Ok(k) => k,
            Err(e) => return Ok(Err(e)),
        };
        let $cache = $self.env.platform.cache.clone();
        Ok($body.await.map_err(|e| map(&$self.env.spec.id, e)))
    }};
}

impl Host for HostState {
    async fn set(&mut self, key: String, value: Vec<u8>, ttl_ms: u64) -> wasmtime::Result<Result<(), CacheError>> {
        if let Err(e) = check_value(&value) {
            return Ok(Err(e));
        }
        cache_op!(self, key, |cache, k| cache.set(&k, value, ttl_ms))
    }

    async fn set_if_absent(
        &mut self,
        key: String,
        value: Vec<u8>,
        ttl_ms: u64,
    ) -> wasmtime::Result<Result<bool, CacheError>> {
        if let Err(e) = check_value(&value) {
            return Ok(Err(e));
        }
        cache_op!(self, key, |cache, k| cache.set_if_absent(&k, value, ttl_ms))
    }

    async fn get(&mut self, key: String) -> wasmtime::Result<Result<Option<Vec<u8>>, CacheError>> {
        cache_op!(self, key, |cache, k| cache.get(&k))
    }

    async fn take(&mut self, key: String) -> wasmtime::Result<Result<Option<Vec<u8>>, CacheError>> {
        cache_op!(self, key, |cache, k| cache.take(&k))
    }

    async fn delete(&mut self, key: String) -> wasmtime::Result<Result<bool, CacheError>> {
        cache_op!(self, key, |cache, k| cache.delete(&k))
    }

    async fn increment(&mut self, key: String, delta: i64, ttl_ms: u64) -> wasmtime::Result<Result<i64, CacheError>> {
        cache_op!(self, key, |cache, k| cache.increment(&k, delta, ttl_ms))
    }

    async fn notify(&mut self, channel: String, message: Vec<u8>) -> wasmtime::Result<Result<(), CacheError>> {
        if let Err(e) = check_value(&message) {
            return Ok(Err(e));
        }
        cache_op!(self, channel, |cache, k| cache.notify(&k, message))
    }

    async fn wait(&mut self, channel: String, timeout_ms: u32) -> wasmtime::Result<Result<Option<Vec<u8>>, CacheError>> {
        let timeout_ms = timeout_ms.min(60_000);
        cache_op!(self, channel, |cache, k| cache.wait(&k, timeout_ms))
    }
}
