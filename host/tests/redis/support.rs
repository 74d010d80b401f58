//! Helpers of the Redis tests: the server to use and the skip rule (with `CI=true` an unreachable Redis fails),
//! a fixture of two backend instances (two connections, standing for two replicas) under a key prefix of its own
//! that it deletes when dropped, and stopping/starting the local Redis for the restart test.
//!
//! `ESIGNET_TEST_REDIS_URL` chooses the server (default `redis://127.0.0.1:6379`); with
//! `ESIGNET_TEST_REDIS_CLUSTER=1` it lists Redis Cluster seed nodes (comma-separated) and the semantic tests run
//! against the cluster.

use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

use esignet_host::backends::redis_cache::{RedisCache, RedisOptions};
use esignet_host::backends::CacheBackend;
use tokio::sync::RwLock;

/// The command timeout of the fixture's backends.
pub const BOUND: Duration = Duration::from_millis(500);

/// Tests hold it shared; the outage tests hold it alone (Redis is away during them).
pub static SERIAL: RwLock<()> = RwLock::const_new(());

pub fn redis_url() -> String {
    std::env::var("ESIGNET_TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into())
}

pub fn cluster() -> bool {
    std::env::var("ESIGNET_TEST_REDIS_CLUSTER").as_deref() == Ok("1")
}

fn options(url: &str, cluster: bool, timeout: Duration) -> RedisOptions {
    RedisOptions { url: url.into(), cluster, command_timeout: timeout, max_ttl: Duration::from_secs(60) }
}

/// A standalone backend with a 60 s longest TTL.
pub fn backend(url: &str, timeout: Duration) -> RedisCache {
    RedisCache::new(&options(url, false, timeout)).expect("backend")
}

/// A backend on the test server (standalone or cluster).
pub fn test_backend(timeout: Duration) -> RedisCache {
    RedisCache::new(&options(&redis_url(), cluster(), timeout)).expect("backend")
}

/// A backend pointed at a loopback port nothing listens on, and its command timeout.
pub fn closed_port_backend() -> (RedisCache, Duration) {
    let port = std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).expect("free port").port();
    let bound = Duration::from_millis(300);
    (backend(&format!("redis://127.0.0.1:{port}"), bound), bound)
}

/// True when the test Redis answers; otherwise fails under `CI=true`, else prints a loud SKIP.
pub async fn require_redis() -> bool {
    let url = redis_url();
    match test_backend(Duration::from_secs(2)).ping().await {
        Ok(()) => true,
        Err(e) if std::env::var("CI").as_deref() == Ok("true") => {
            panic!("Redis at {url} is unreachable and CI=true: {e}")
        }
        Err(e) => {
            eprintln!("\n*** SKIP: Redis at {url} is unreachable ({e}); start it or set ESIGNET_TEST_REDIS_URL ***\n");
            false
        }
    }
}

/// Every node of the test server, for direct commands.
fn nodes() -> Vec<redis::Client> {
    redis_url().split(',').map(|u| redis::Client::open(u.trim()).expect("client")).collect()
}

pub struct Fixture {
    pub prefix: String,
    pub caches: [Arc<RedisCache>; 2],
}

impl Fixture {
    pub async fn new(name: &str) -> Option<Fixture> {
        if !require_redis().await {
            return None;
        }
        let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default().as_nanos();
        Some(Fixture {
            prefix: format!("esignet-test:{}-{nanos}:{name}", std::process::id()),
            caches: [Arc::new(test_backend(BOUND)), Arc::new(test_backend(BOUND))],
        })
    }

    pub fn key(&self, name: &str) -> String {
        format!("{}:{name}", self.prefix)
    }

    /// The key's remaining TTL in ms as Redis reports it (-2: no key, -1: no TTL).
    pub fn pttl(&self, key: &str) -> i64 {
        let mut cmd = redis::cmd("PTTL");
        cmd.arg(key);
        if cluster() {
            let urls: Vec<String> = redis_url().split(',').map(|u| u.trim().to_string()).collect();
            let client = redis::cluster::ClusterClient::new(urls).expect("cluster client");
            cmd.query(&mut client.get_connection().expect("cluster connection")).expect("PTTL")
        } else {
            cmd.query(&mut nodes()[0].get_connection().expect("raw connection")).expect("PTTL")
        }
    }

    /// Makes Redis hold every client's commands for `ms` milliseconds.
    pub fn pause(&self, ms: u64) {
        for node in nodes() {
            let mut conn = node.get_connection().expect("raw connection");
            let _: () = redis::cmd("CLIENT").arg("PAUSE").arg(ms).arg("ALL").query(&mut conn).expect("CLIENT PAUSE");
        }
    }
}

impl Drop for Fixture {
    /// Deletes the run's keys node by node (one key per DEL: keys of a cluster node may lie in different slots).
    fn drop(&mut self) {
        let pattern = format!("{}:*", self.prefix);
        for node in nodes() {
            let Ok(mut conn) = node.get_connection_with_timeout(Duration::from_secs(2)) else { continue };
            let keys: Vec<String> = match redis::Commands::scan_match::<_, String>(&mut conn, &pattern) {
                Ok(iter) => iter.filter_map(Result::ok).collect(),
                Err(_) => continue,
            };
            for key in keys {
                let _: Result<i64, _> = redis::cmd("DEL").arg(&key).query(&mut conn);
            }
        }
    }
}

/// The command that starts the local Redis (the same as `.ci/run`'s).
const START: &[&str] = &[
    "--daemonize", "yes", "--bind", "127.0.0.1", "-::1", "--port", "6379", "--save", "", "--appendonly", "no",
    "--dir", "/var/lib/redis", "--logfile", "/var/log/redis/ci.log",
];

pub fn stop_redis() {
    let _ = Command::new("redis-cli").args(["-h", "127.0.0.1", "-p", "6379", "shutdown", "nosave"]).status();
    let t = Instant::now();
    while t.elapsed() < Duration::from_secs(10) {
        if std::net::TcpStream::connect("127.0.0.1:6379").is_err() {
            return;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    panic!("Redis did not stop");
}

pub fn start_redis() {
    let status = Command::new("redis-server").args(START).status().expect("run redis-server");
    assert!(status.success(), "redis-server failed to start: {status}");
}

/// Blocks until the local Redis answers PING (after `start_redis`).
pub fn wait_until_redis_answers() {
    let t = Instant::now();
    while t.elapsed() < Duration::from_secs(10) {
        let ping = redis::Client::open("redis://127.0.0.1:6379")
            .and_then(|c| c.get_connection_with_timeout(Duration::from_millis(200)))
            .and_then(|mut c| redis::cmd("PING").query::<String>(&mut c));
        if ping.is_ok() {
            return;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    panic!("Redis did not come back");
}
