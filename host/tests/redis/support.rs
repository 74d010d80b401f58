//! Helpers of the Redis tests: the server to use and the skip rule (with `CI=true` an unreachable Redis fails),
//! a fixture of two backend instances (two connections, standing for two replicas) under a key prefix of its own
//! that it deletes when dropped, and stopping/starting the local Redis for the restart test.

use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

use esignet_host::backends::redis_cache::{RedisCache, RedisOptions};
use esignet_host::backends::CacheBackend;
use tokio::sync::RwLock;

/// The command timeout of the fixture's backends.
pub const BOUND: Duration = Duration::from_millis(500);

/// Tests hold it shared; the restart test holds it alone (Redis is down during it).
pub static SERIAL: RwLock<()> = RwLock::const_new(());

pub fn redis_url() -> String {
    std::env::var("ESIGNET_TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into())
}

/// A standalone backend with a 60 s longest TTL.
pub fn backend(url: &str, timeout: Duration) -> RedisCache {
    let options =
        RedisOptions { url: url.into(), cluster: false, command_timeout: timeout, max_ttl: Duration::from_secs(60) };
    RedisCache::new(&options).expect("backend")
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
    let probe = backend(&url, Duration::from_secs(2));
    match probe.ping().await {
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

pub struct Fixture {
    pub prefix: String,
    pub caches: [Arc<RedisCache>; 2],
    raw: redis::Client,
}

impl Fixture {
    pub async fn new(name: &str) -> Option<Fixture> {
        if !require_redis().await {
            return None;
        }
        let url = redis_url();
        let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default().as_nanos();
        Some(Fixture {
            prefix: format!("esignet-test:{}-{nanos}:{name}", std::process::id()),
            caches: [Arc::new(backend(&url, BOUND)), Arc::new(backend(&url, BOUND))],
            raw: redis::Client::open(url.as_str()).expect("client"),
        })
    }

    pub fn key(&self, name: &str) -> String {
        format!("{}:{name}", self.prefix)
    }

    /// The key's remaining TTL in ms as Redis reports it (-2: no key, -1: no TTL).
    pub fn pttl(&self, key: &str) -> i64 {
        let mut conn = self.raw.get_connection().expect("raw connection");
        redis::cmd("PTTL").arg(key).query(&mut conn).expect("PTTL")
    }
}

impl Drop for Fixture {
    fn drop(&mut self) {
        let Ok(mut conn) = self.raw.get_connection_with_timeout(Duration::from_secs(2)) else { return };
        let pattern = format!("{}:*", self.prefix);
        let keys: Vec<String> = match redis::Commands::scan_match::<_, String>(&mut conn, &pattern) {
            Ok(iter) => iter.filter_map(Result::ok).collect(),
            Err(_) => return,
        };
        if !keys.is_empty() {
            let _: Result<i64, _> = redis::cmd("DEL").arg(&keys).query(&mut conn);
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
