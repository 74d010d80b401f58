//! The embedded `cache` backend: an in-process map with per-entry expiry, sharded to keep lock hold times short,
//! and in-process channels for notify/wait. It serves one host process only: replicas need Redis.

use std::collections::HashMap;
use std::hash::{BuildHasher, RandomState};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use parking_lot::Mutex;
use tokio::sync::broadcast;

use super::{CacheBackend, CacheError};

const SHARDS: usize = 32;

struct Entry {
    value: Vec<u8>,
    expires_at: Instant,
}

pub struct MemoryCache {
    shards: Vec<Mutex<HashMap<String, Entry>>>,
    hasher: RandomState,
    max_ttl: Duration,
    max_entries_per_shard: usize,
    channels: Mutex<HashMap<String, broadcast::Sender<Vec<u8>>>>,
}

impl MemoryCache {
    pub fn new(max_ttl: Duration, max_entries: usize) -> MemoryCache {
        MemoryCache {
            shards: (0..SHARDS).map(|_| Mutex::new(HashMap::new())).collect(),
            hasher: RandomState::new(),
            max_ttl,
            max_entries_per_shard: max_entries.div_ceil(SHARDS).max(1),
            channels: Mutex::new(HashMap::new()),
        }
    }

    fn shard(&self, key: &str) -> &Mutex<HashMap<String, Entry>> {
        let index = (self.hasher.hash_one(key) as usize) % SHARDS;
        &self.shards[index]
    }

    fn ttl(&self, ttl_ms: u64) -> Duration {
        if ttl_ms == 0 {
            self.max_ttl
        } else {
            Duration::from_millis(ttl_ms).min(self.max_ttl)
        }
    }

    /// Removes expired entries; called periodically and when a shard is full.
    pub fn sweep(&self) {
        let now = Instant::now();
        for shard in &self.shards {
            shard.lock().retain(|_, e| e.expires_at > now);
        }
    }

    fn insert(
        &self,
        map: &mut HashMap<String, Entry>,
        key: &str,
        value: Vec<u8>,
        ttl_ms: u64,
    ) -> Result<(), CacheError> {
        if map.len() >= self.max_entries_per_shard && !map.contains_key(key) {
            let now = Instant::now();
            map.retain(|_, e| e.expires_at > now);
            if map.len() >= self.max_entries_per_shard {
                return Err(CacheError::Unavailable("in-memory cache is full".into()));
            }
        }
        map.insert(key.to_string(), Entry { value, expires_at: Instant::now() + self.ttl(ttl_ms) });
        Ok(())
    }
}

fn live(map: &HashMap<String, Entry>, key: &str) -> bool {
    map.get(key).is_some_and(|e| e.expires_at > Instant::now())
}

#[async_trait]
impl CacheBackend for MemoryCache {
    async fn set(&self, key: &str, value: Vec<u8>, ttl_ms: u64) -> Result<(), CacheError> {
        let mut map = self.shard(key).lock();
        self.insert(&mut map, key, value, ttl_ms)
    }

    async fn set_if_absent(&self, key: &str, value: Vec<u8>, ttl_ms: u64) -> Result<bool, CacheError> {
        let mut map = self.shard(key).lock();
        if live(&map, key) {
            return Ok(false);
        }
        self.insert(&mut map, key, value, ttl_ms)?;
        Ok(true)
    }

    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, CacheError> {
        let map = self.shard(key).lock();
        Ok(map.get(key).filter(|e| e.expires_at > Instant::now()).map(|e| e.value.clone()))
    }

    async fn take(&self, key: &str) -> Result<Option<Vec<u8>>, CacheError> {
        let mut map = self.shard(key).lock();
        Ok(map.remove(key).filter(|e| e.expires_at > Instant::now()).map(|e| e.value))
    }

    async fn delete(&self, key: &str) -> Result<bool, CacheError> {
        let mut map = self.shard(key).lock();
        Ok(map.remove(key).is_some_and(|e| e.expires_at > Instant::now()))
    }

    async fn increment(&self, key: &str, delta: i64, ttl_ms: u64) -> Result<i64, CacheError> {
        let mut map = self.shard(key).lock();
        let now = Instant::now();
        if let Some(entry) = map.get_mut(key).filter(|e| e.expires_at > now) {
            let current: i64 = std::str::from_utf8(&entry.value)
                .ok()
                .and_then(|s| s.parse().ok())
                .ok_or_else(|| CacheError::Invalid("value is not a counter".into()))?;
            let next = current
                .checked_add(delta)
                .ok_or_else(|| CacheError::Invalid("counter overflow".into()))?;
            entry.value = next.to_string().into_bytes();
            return Ok(next);
        }
        self.insert(&mut map, key, delta.to_string().into_bytes(), ttl_ms)?;
        Ok(delta)
    }

    async fn notify(&self, channel: &str, message: Vec<u8>) -> Result<(), CacheError> {
        let channels = self.channels.lock();
        if let Some(tx) = channels.get(channel) {
            let _ = tx.send(message);
        }
        Ok(())
    }

    async fn wait(&self, channel: &str, timeout_ms: u32) -> Result<Option<Vec<u8>>, CacheError> {
        let mut rx = {
            let mut channels = self.channels.lock();
            channels.retain(|_, tx| tx.receiver_count() > 0);
            channels.entry(channel.to_string()).or_insert_with(|| broadcast::channel(16).0).subscribe()
        };
        match tokio::time::timeout(Duration::from_millis(u64::from(timeout_ms)), rx.recv()).await {
            Ok(Ok(message)) => Ok(Some(message)),
            Ok(Err(_)) | Err(_) => Ok(None),
        }
    }

    async fn ping(&self) -> Result<(), CacheError> {
        Ok(())
    }

    fn describe(&self) -> String {
        "memory (embedded, one process only)".into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[tokio::test]
    async fn ttl_take_and_counters() {
        let c = MemoryCache::new(Duration::from_secs(60), 100);
        c.set("a", b"1".to_vec(), 30).await.unwrap();
        assert_eq!(c.get("a").await.unwrap(), Some(b"1".to_vec()));
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert_eq!(c.get("a").await.unwrap(), None);
        assert!(c.set_if_absent("b", b"x".to_vec(), 0).await.unwrap());
        assert!(!c.set_if_absent("b", b"y".to_vec(), 0).await.unwrap());
        assert_eq!(c.take("b").await.unwrap(), Some(b"x".to_vec()));
        assert_eq!(c.take("b").await.unwrap(), None);
        assert_eq!(c.increment("n", 1, 1000).await.unwrap(), 1);
        assert_eq!(c.increment("n", 2, 1000).await.unwrap(), 3);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn concurrent_takes_yield_one_winner() {
        let c = Arc::new(MemoryCache::new(Duration::from_secs(60), 100));
        for round in 0..50 {
            let key = format!("k{round}");
            c.set(&key, b"v".to_vec(), 0).await.unwrap();
            let tasks: Vec<_> = (0..8)
                .map(|_| {
                    let c = c.clone();
                    let key = key.clone();
                    tokio::spawn(async move { c.take(&key).await.unwrap().is_some() })
                })
                .collect();
            let mut winners = 0;
            for t in tasks {
                winners += usize::from(t.await.unwrap());
            }
            assert_eq!(winners, 1);
        }
    }

    #[tokio::test]
    async fn full_cache_refuses_instead_of_evicting_live_entries() {
        let c = MemoryCache::new(Duration::from_secs(60), SHARDS);
        let mut refused = false;
        for i in 0..SHARDS * 4 {
            if c.set(&format!("k{i}"), vec![], 0).await.is_err() {
                refused = true;
            }
        }
        assert!(refused);
    }

    #[tokio::test]
    async fn wait_wakes_on_notify_and_times_out() {
        let c = Arc::new(MemoryCache::new(Duration::from_secs(60), 100));
        let waiter = {
            let c = c.clone();
            tokio::spawn(async move { c.wait("ch", 2000).await.unwrap() })
        };
        tokio::time::sleep(Duration::from_millis(50)).await;
        c.notify("ch", b"hi".to_vec()).await.unwrap();
        assert_eq!(waiter.await.unwrap(), Some(b"hi".to_vec()));
        assert_eq!(c.wait("other", 20).await.unwrap(), None);
    }
}
