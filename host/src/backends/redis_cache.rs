//! The Redis `cache` backend: the cache shared by all replicas. Values live in Redis with a TTL (`SET PX`), single-use
//! values are consumed with `GETDEL` (atomic across replicas), counters are created with their TTL by a small Lua
//! script, and notify/wait use `PUBLISH` and one subscriber connection per process (see [`subscriber`]). Every
//! command runs under a client-side timeout (`[cache] command_timeout_ms`, default 500 ms), so a down or slow Redis
//! turns into [`CacheError::Unavailable`] (the component answers 503) within that bound, and a refused connection
//! fails at once; the connection re-establishes itself when Redis returns, without a failed command.
//!
//! Standalone Redis (one URL) is the supported mode. Redis Cluster (`[cache] cluster = true`, comma-separated seed
//! URLs) is best effort: every operation here touches exactly one key, so it is correct on a cluster without any
//! key convention, and `PUBLISH` is broadcast cluster-wide, so the subscriber listens on one seed node at a time.
//! Recommendation for cluster deployments: the keys that a flow moves between (`preauth:`, `authenticated:`, and
//! `rate:<api>:` per transaction) carry the transaction id as a hash tag, `preauth:{<transactionId>}`, so that one
//! flow's transaction keys share a slot and a later atomic move between them (one script) stays possible. Redis
//! hashes only the part inside the first `{...}`, so the host's `<namespace>:` prefix does not change the slot.
//! Keys named by their own secret (`code:`, `redeemed:`, `userinfo:`, `jti:`) are looked up alone and need no tag.
//! Keys and values are never logged.

mod subscriber;

use std::future::Future;
use std::time::Duration;

use async_trait::async_trait;
use redis::aio::{ConnectionLike, ConnectionManager, ConnectionManagerConfig};
use redis::cluster_async::ClusterConnection;
use redis::{Cmd, ConnectionAddr, Pipeline, RedisError, RedisFuture, Value};

use self::subscriber::Subscriber;
use super::{CacheBackend, CacheError};

/// INCRBY that gives a counter its TTL when it creates it (or finds one without a TTL), atomically.
const INCREMENT_SCRIPT: &str = r"
local created = redis.call('EXISTS', KEYS[1]) == 0
local value = redis.call('INCRBY', KEYS[1], ARGV[1])
if created or redis.call('PTTL', KEYS[1]) == -1 then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return value
";

/// What the Redis backend needs from `runtime-config.toml`.
#[derive(Debug, Clone)]
pub struct RedisOptions {
    /// One `redis://` / `rediss://` URL, or comma-separated cluster seed URLs when `cluster` is set.
    pub url: String,
    pub cluster: bool,
    /// Bound of every command and connection attempt.
    pub command_timeout: Duration,
    /// Longest TTL any entry gets (also used for a TTL of 0).
    pub max_ttl: Duration,
}

/// The command connection: one multiplexed connection that reconnects by itself, or a cluster connection.
#[derive(Clone)]
enum Connection {
    Standalone(ConnectionManager),
    Cluster(ClusterConnection),
}

impl ConnectionLike for Connection {
    fn req_packed_command<'a>(&'a mut self, cmd: &'a Cmd) -> RedisFuture<'a, Value> {
        match self {
            Connection::Standalone(c) => c.req_packed_command(cmd),
            Connection::Cluster(c) => c.req_packed_command(cmd),
        }
    }

    fn req_packed_commands<'a>(
        &'a mut self,
        cmd: &'a Pipeline,
        offset: usize,
        count: usize,
    ) -> RedisFuture<'a, Vec<Value>> {
        match self {
            Connection::Standalone(c) => c.req_packed_commands(cmd, offset, count),
            Connection::Cluster(c) => c.req_packed_commands(cmd, offset, count),
        }
    }

    fn get_db(&self) -> i64 {
        match self {
            Connection::Standalone(c) => c.get_db(),
            Connection::Cluster(c) => c.get_db(),
        }
    }
}

pub struct RedisCache {
    connection: Connection,
    subscriber: Subscriber,
    increment: redis::Script,
    timeout: Duration,
    max_ttl_ms: u64,
    description: String,
}

impl RedisCache {
    /// Builds the backend without waiting for Redis: connections are made on first use and re-made after a loss,
    /// so a host can start (not ready) while Redis is still down. Needs a Tokio runtime (it starts the subscriber).
    pub fn new(options: &RedisOptions) -> Result<RedisCache, CacheError> {
        let timeout = options.command_timeout;
        if timeout.is_zero() || timeout > Duration::from_secs(60) {
            return Err(CacheError::Invalid("command_timeout_ms must be between 1 and 60000".into()));
        }
        let urls: Vec<&str> = options.url.split(',').map(str::trim).filter(|u| !u.is_empty()).collect();
        if urls.is_empty() || (!options.cluster && urls.len() > 1) {
            return Err(CacheError::Invalid("redis: give one URL (or set cluster = true for several seed nodes)".into()));
        }
        let clients = urls
            .iter()
            .map(|u| redis::Client::open(*u).map_err(|e| CacheError::Invalid(format!("redis URL: {}", e))))
            .collect::<Result<Vec<_>, _>>()?;
        let connection = if options.cluster {
            let cluster = redis::cluster::ClusterClientBuilder::new(urls.clone())
                .connection_timeout(timeout)
                .response_timeout(timeout)
                .retries(2)
                .build()
                .map_err(|e| CacheError::Invalid(format!("redis cluster: {}", e)))?;
            Connection::Cluster(cluster.get_pending_async_connection_with_config(redis::cluster::ClusterConfig::default()))
        } else {
            // No retry loop inside a reconnection: while Redis is down each command fails at once (or at the
            // connect timeout), and the next command after a failure starts one fresh attempt, so the first
            // command after Redis returns reconnects (at most one attempt is in flight, shared by all commands).
            let config = ConnectionManagerConfig::new()
                .set_connection_timeout(Some(timeout))
                .set_response_timeout(Some(timeout))
                .set_number_of_retries(0);
            let first = clients.first().cloned().ok_or_else(|| CacheError::Invalid("redis: no URL".into()))?;
            let manager = ConnectionManager::new_lazy_with_config(first, config)
                .map_err(|e| CacheError::Invalid(format!("redis: {}", e)))?;
            Connection::Standalone(manager)
        };
        let description = format!(
            "redis {} ({})",
            clients.iter().map(|c| address(c.get_connection_info().addr())).collect::<Vec<_>>().join(","),
            if options.cluster { "cluster" } else { "standalone" }
        );
        Ok(RedisCache {
            connection,
            subscriber: Subscriber::start(clients, timeout),
            increment: redis::Script::new(INCREMENT_SCRIPT),
            timeout,
            max_ttl_ms: u64::try_from(options.max_ttl.as_millis()).unwrap_or(u64::MAX).max(1),
            description,
        })
    }

    fn ttl_ms(&self, ttl_ms: u64) -> u64 {
        if ttl_ms == 0 {
            self.max_ttl_ms
        } else {
            ttl_ms.min(self.max_ttl_ms)
        }
    }

    /// Runs one command under the client-side timeout and maps its failure. A refused connection means that the
    /// command was never sent, so it is tried once more on a fresh connection: the first command after Redis
    /// returns finds the refusal of the last attempt, and the retry gets through. Nothing else is retried (a
    /// command on a dropped connection may have run: `take` and `increment` must not run twice).
    async fn run<T, F, Fut>(&self, op: &'static str, attempt: F) -> Result<T, CacheError>
    where
        F: Fn(Connection) -> Fut,
        Fut: Future<Output = redis::RedisResult<T>>,
    {
        let command = async {
            match attempt(self.connection.clone()).await {
                Err(e) if e.is_connection_refusal() => attempt(self.connection.clone()).await,
                done => done,
            }
        };
        match tokio::time::timeout(self.timeout, command).await {
            Ok(Ok(value)) => Ok(value),
            Ok(Err(e)) => Err(classify(op, &e)),
            Err(_) => Err(CacheError::Unavailable(format!("redis {op}: no answer within {} ms", self.timeout.as_millis()))),
        }
    }

    async fn query<T: redis::FromRedisValue>(&self, op: &'static str, cmd: &Cmd) -> Result<T, CacheError> {
        self.run(op, |mut connection| async move { cmd.query_async::<T>(&mut connection).await }).await
    }
}

/// `host:port` of one node, without credentials.
fn address(addr: &ConnectionAddr) -> String {
    match addr {
        ConnectionAddr::Tcp(host, port) => format!("{host}:{port}"),
        ConnectionAddr::TcpTls { host, port, .. } => format!("{host}:{port} tls"),
        ConnectionAddr::Unix(path) => format!("unix:{}", path.display()),
        _ => "unknown address".into(),
    }
}

/// Counter misuse is the caller's error; anything else means the cache cannot serve. Redis error texts carry
/// neither keys nor values.
fn classify(op: &str, e: &RedisError) -> CacheError {
    let text = e.to_string();
    if op == "increment" && text.contains("not an integer") {
        return CacheError::Invalid("value is not a counter".into());
    }
    if op == "increment" && text.contains("overflow") {
        return CacheError::Invalid("counter overflow".into());
    }
    CacheError::Unavailable(format!("redis {op}: {text}"))
}

#[async_trait]
impl CacheBackend for RedisCache {
    async fn set(&self, key: &str, value: Vec<u8>, ttl_ms: u64) -> Result<(), CacheError> {
        let mut cmd = redis::cmd("SET");
        cmd.arg(key).arg(value).arg("PX").arg(self.ttl_ms(ttl_ms));
        self.query::<Value>("set", &cmd).await.map(|_| ())
    }

    async fn set_if_absent(&self, key: &str, value: Vec<u8>, ttl_ms: u64) -> Result<bool, CacheError> {
        let mut cmd = redis::cmd("SET");
        cmd.arg(key).arg(value).arg("NX").arg("PX").arg(self.ttl_ms(ttl_ms));
        Ok(!matches!(self.query::<Value>("set_if_absent", &cmd).await?, Value::Nil))
    }

    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, CacheError> {
        self.query("get", redis::cmd("GET").arg(key)).await
    }

    async fn take(&self, key: &str) -> Result<Option<Vec<u8>>, CacheError> {
        self.query("take", redis::cmd("GETDEL").arg(key)).await
    }

    async fn delete(&self, key: &str) -> Result<bool, CacheError> {
        Ok(self.query::<i64>("delete", redis::cmd("DEL").arg(key)).await? > 0)
    }

    async fn increment(&self, key: &str, delta: i64, ttl_ms: u64) -> Result<i64, CacheError> {
        let ttl = self.ttl_ms(ttl_ms);
        let script = &self.increment;
        self.run("increment", |mut connection| async move {
            script.key(key).arg(delta).arg(ttl).invoke_async::<i64>(&mut connection).await
        })
        .await
    }

    async fn notify(&self, channel: &str, message: Vec<u8>) -> Result<(), CacheError> {
        self.query::<i64>("notify", redis::cmd("PUBLISH").arg(channel).arg(message)).await.map(|_| ())
    }

    async fn wait(&self, channel: &str, timeout_ms: u32) -> Result<Option<Vec<u8>>, CacheError> {
        self.subscriber.wait(channel, Duration::from_millis(u64::from(timeout_ms))).await
    }

    async fn ping(&self) -> Result<(), CacheError> {
        self.query::<Value>("ping", &redis::cmd("PING")).await.map(|_| ())
    }

    fn describe(&self) -> String {
        self.description.clone()
    }
}
