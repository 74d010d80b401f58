//! The Redis `cache` backend against a real server (`ESIGNET_TEST_REDIS_URL`, default `redis://127.0.0.1:6379`):
//! every operation's semantics, two backend instances standing for two replicas, fast failure against a closed
//! port and a server that never answers, and (with `ESIGNET_TEST_RESTART_REDIS=1`) recovery after the local Redis
//! is stopped and started again. Without a server the tests fail under `CI=true` and are skipped otherwise. Each
//! run uses its own key prefix and deletes its keys. `redis/outage.rs` stops and pauses the server; `redis/host.rs` runs the whole host on Redis.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "redis/host.rs"]
mod host;
#[path = "redis/outage.rs"]
mod outage;
#[path = "redis/support.rs"]
mod support;

use std::sync::Arc;
use std::time::{Duration, Instant};

use esignet_host::backends::{CacheBackend, CacheError};
use support::{backend, closed_port_backend, Fixture, SERIAL};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn set_get_ttl_and_caps() {
    let _serial = SERIAL.read().await;
    let Some(f) = Fixture::new("ttl").await else { return };
    let c = &f.caches[0];
    c.set(&f.key("a"), b"one".to_vec(), 150).await.unwrap();
    assert_eq!(c.get(&f.key("a")).await.unwrap(), Some(b"one".to_vec()));
    assert_eq!(f.caches[1].get(&f.key("a")).await.unwrap(), Some(b"one".to_vec()), "the other replica sees it");
    c.set(&f.key("a"), vec![0, 255, 10], 150).await.unwrap();
    assert_eq!(c.get(&f.key("a")).await.unwrap(), Some(vec![0, 255, 10]), "overwrite, binary-safe");
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(c.get(&f.key("a")).await.unwrap(), None, "expired");
    assert_eq!(c.get(&f.key("never-set")).await.unwrap(), None);

    // TTL 0 means the longest TTL (the fixture's max is 60 s); a longer TTL is capped at it.
    c.set(&f.key("zero"), b"z".to_vec(), 0).await.unwrap();
    c.set(&f.key("long"), b"l".to_vec(), 10_000_000).await.unwrap();
    for k in ["zero", "long"] {
        let pttl = f.pttl(&f.key(k));
        assert!((55_000..=60_000).contains(&pttl), "{k}: PTTL {pttl}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn set_if_absent_and_delete() {
    let _serial = SERIAL.read().await;
    let Some(f) = Fixture::new("nx").await else { return };
    let [a, b] = &f.caches;
    assert!(a.set_if_absent(&f.key("k"), b"first".to_vec(), 200).await.unwrap());
    assert!(!b.set_if_absent(&f.key("k"), b"second".to_vec(), 200).await.unwrap());
    assert_eq!(b.get(&f.key("k")).await.unwrap(), Some(b"first".to_vec()));
    let pttl = f.pttl(&f.key("k"));
    assert!((1..=200).contains(&pttl), "set_if_absent sets the TTL: {pttl}");
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(b.set_if_absent(&f.key("k"), b"again".to_vec(), 0).await.unwrap(), "free again after expiry");

    assert!(a.delete(&f.key("k")).await.unwrap());
    assert!(!b.delete(&f.key("k")).await.unwrap(), "deleting twice");
    assert!(!a.delete(&f.key("missing")).await.unwrap());
    assert_eq!(a.get(&f.key("k")).await.unwrap(), None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn take_has_one_winner_across_two_replicas() {
    let _serial = SERIAL.read().await;
    let Some(f) = Fixture::new("take").await else { return };
    assert_eq!(f.caches[0].take(&f.key("missing")).await.unwrap(), None);
    for round in 0..40 {
        let key = f.key(&format!("code{round}"));
        f.caches[round % 2].set(&key, format!("v{round}").into_bytes(), 5_000).await.unwrap();
        let takers: Vec<_> = (0..16)
            .map(|i| {
                let cache = f.caches[i % 2].clone();
                let key = key.clone();
                tokio::spawn(async move { cache.take(&key).await.unwrap() })
            })
            .collect();
        let mut winners = Vec::new();
        for t in takers {
            if let Some(v) = t.await.unwrap() {
                winners.push(v);
            }
        }
        assert_eq!(winners, vec![format!("v{round}").into_bytes()], "round {round}");
        assert_eq!(f.caches[0].get(&key).await.unwrap(), None, "taken means gone");
    }
    f.caches[0].set(&f.key("short"), b"x".to_vec(), 50).await.unwrap();
    tokio::time::sleep(Duration::from_millis(150)).await;
    assert_eq!(f.caches[1].take(&f.key("short")).await.unwrap(), None, "an expired value cannot be taken");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn increment_creates_a_counter_with_its_ttl() {
    let _serial = SERIAL.read().await;
    let Some(f) = Fixture::new("incr").await else { return };
    let [a, b] = &f.caches;
    let key = f.key("rate");
    assert_eq!(a.increment(&key, 1, 400).await.unwrap(), 1);
    let first = f.pttl(&key);
    assert!((1..=400).contains(&first), "created with its TTL: {first}");
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(b.increment(&key, 2, 10_000).await.unwrap(), 3);
    assert_eq!(a.increment(&key, -1, 10_000).await.unwrap(), 2);
    let later = f.pttl(&key);
    assert!(later < first && later > 0, "later increments keep the first TTL: {first} then {later}");
    assert_eq!(a.get(&key).await.unwrap(), Some(b"2".to_vec()), "a counter reads as its decimal text");
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert_eq!(b.increment(&key, 5, 400).await.unwrap(), 5, "after expiry the counter starts again");

    // Concurrent increments from both replicas are all counted.
    let tasks: Vec<_> = (0..100)
        .map(|i| {
            let cache = f.caches[i % 2].clone();
            let key = f.key("concurrent");
            tokio::spawn(async move { cache.increment(&key, 1, 5_000).await.unwrap() })
        })
        .collect();
    let mut seen: Vec<i64> = Vec::new();
    for t in tasks {
        seen.push(t.await.unwrap());
    }
    seen.sort_unstable();
    assert_eq!(seen, (1..=100).collect::<Vec<i64>>(), "every increment returns a distinct value");

    a.set(&f.key("text"), b"not a number".to_vec(), 5_000).await.unwrap();
    assert!(matches!(a.increment(&f.key("text"), 1, 5_000).await, Err(CacheError::Invalid(_))));
    a.set(&f.key("big"), i64::MAX.to_string().into_bytes(), 5_000).await.unwrap();
    assert!(matches!(a.increment(&f.key("big"), 1, 5_000).await, Err(CacheError::Invalid(_))));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn notify_wakes_waiters_on_the_other_replica() {
    let _serial = SERIAL.read().await;
    let Some(f) = Fixture::new("pubsub").await else { return };
    let channel = f.key("auth-result");
    let waiters: Vec<_> = (0..3)
        .map(|i| {
            let cache = f.caches[i % 2].clone();
            let channel = channel.clone();
            tokio::spawn(async move { cache.wait(&channel, 5_000).await.unwrap() })
        })
        .collect();
    // A message reaches the waiters that are subscribed when it is published: publish until all are woken.
    let started = Instant::now();
    while waiters.iter().any(|w| !w.is_finished()) && started.elapsed() < Duration::from_secs(4) {
        f.caches[1].notify(&channel, vec![1, 2, 0, 3]).await.unwrap();
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    for w in waiters {
        assert_eq!(w.await.unwrap(), Some(vec![1, 2, 0, 3]));
    }
    // Another channel's message does not wake a waiter.
    let other = {
        let cache = f.caches[0].clone();
        let channel = f.key("quiet");
        tokio::spawn(async move { cache.wait(&channel, 300).await.unwrap() })
    };
    for _ in 0..5 {
        f.caches[1].notify(&channel, b"not for you".to_vec()).await.unwrap();
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(other.await.unwrap(), None);
    // Notifying a channel nobody waits on is fine.
    f.caches[0].notify(&f.key("nobody"), b"x".to_vec()).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wait_times_out_on_time() {
    let _serial = SERIAL.read().await;
    let Some(f) = Fixture::new("wait").await else { return };
    let started = Instant::now();
    assert_eq!(f.caches[0].wait(&f.key("silent"), 250).await.unwrap(), None);
    let took = started.elapsed();
    assert!(took >= Duration::from_millis(240) && took < Duration::from_millis(1_000), "took {took:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ping_describe_and_no_password_in_text() {
    let _serial = SERIAL.read().await;
    let Some(f) = Fixture::new("describe").await else { return };
    f.caches[0].ping().await.unwrap();
    let described = f.caches[0].describe();
    let mode = if support::cluster() { " (cluster)" } else { " (standalone)" };
    assert!(described.starts_with("redis ") && described.ends_with(mode), "{described}");
    let with_password = backend("redis://user:s3cr3t-pw@127.0.0.1:6379", Duration::from_millis(300));
    assert_eq!(with_password.describe(), "redis 127.0.0.1:6379 (standalone)");
    // This server has no such user: the failure names no password either.
    if let Err(e) = with_password.ping().await {
        assert!(!e.to_string().contains("s3cr3t"), "{e}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_closed_port_fails_every_operation_fast() {
    let (cache, bound) = closed_port_backend();
    let started = Instant::now();
    for round in 0..3 {
        let t = Instant::now();
        let results = [
            cache.set("k", b"v".to_vec(), 1000).await.err(),
            cache.set_if_absent("k", b"v".to_vec(), 1000).await.err(),
            cache.get("k").await.err(),
            cache.take("k").await.err(),
            cache.delete("k").await.err(),
            cache.increment("k", 1, 1000).await.err(),
            cache.notify("c", b"m".to_vec()).await.err(),
            cache.wait("c", 5_000).await.err(),
            cache.ping().await.err(),
        ];
        for (i, r) in results.iter().enumerate() {
            assert!(matches!(r, Some(CacheError::Unavailable(_))), "round {round}, op {i}: {r:?}");
        }
        // A refused connection fails at once, far inside the bound (measured: 27 operations in ~5 ms).
        assert!(t.elapsed() < bound * 2, "round {round} took {:?}", t.elapsed());
    }
    eprintln!("closed port: 27 failed operations in {:?}", started.elapsed());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_that_never_answers_fails_within_the_bound() {
    // Accepts connections and reads, never writes: a hung Redis.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            held.push(socket);
        }
    });
    let bound = Duration::from_millis(300);
    let cache = Arc::new(backend(&format!("redis://127.0.0.1:{port}"), bound));
    let tasks: Vec<_> = (0..8)
        .map(|i| {
            let cache = cache.clone();
            tokio::spawn(async move {
                let t = Instant::now();
                let r = match i % 4 {
                    0 => cache.get("k").await.map(|_| ()),
                    1 => cache.take("k").await.map(|_| ()),
                    2 => cache.increment("k", 1, 100).await.map(|_| ()),
                    _ => cache.wait("c", 10_000).await.map(|_| ()),
                };
                (r, t.elapsed())
            })
        })
        .collect();
    for t in tasks {
        let (r, took) = t.await.unwrap();
        assert!(matches!(r, Err(CacheError::Unavailable(_))), "{r:?}");
        assert!(took < bound * 4, "took {took:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn operation_latency() {
    let _serial = SERIAL.read().await;
    let Some(f) = Fixture::new("latency").await else { return };
    let c = &f.caches[0];
    let n = 2_000u32;
    let key = f.key("lat");
    let started = Instant::now();
    for _ in 0..n {
        c.set(&key, b"0123456789abcdef0123456789abcdef".to_vec(), 10_000).await.unwrap();
        c.take(&key).await.unwrap();
    }
    let sequential = started.elapsed() / (2 * n);
    let started = Instant::now();
    let tasks: Vec<_> = (0..64)
        .map(|i| {
            let cache = f.caches[0].clone();
            let key = f.key(&format!("par{i}"));
            tokio::spawn(async move {
                for _ in 0..100 {
                    cache.increment(&key, 1, 10_000).await.unwrap();
                }
            })
        })
        .collect();
    for t in tasks {
        t.await.unwrap();
    }
    let rate = 6_400.0 / started.elapsed().as_secs_f64();
    eprintln!("redis backend: sequential set/take {sequential:?} per operation; 64 concurrent increments {rate:.0} ops/s");
    assert!(sequential < Duration::from_millis(20));
}
