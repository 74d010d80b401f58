//! Outages of the real server, run only with `ESIGNET_TEST_RESTART_REDIS=1` because they disturb everyone using
//! it: the local Redis stopped and started again (`redis-cli shutdown nosave`, then `.ci/run`'s start command), and
//! paused (`CLIENT PAUSE`). Operations must fail fast while it is away and the same backend instances must serve
//! again, correctly, when it is back.

use std::time::{Duration, Instant};

use esignet_host::backends::{CacheBackend, CacheError};

use super::support::{self, Fixture, SERIAL};

fn enabled() -> bool {
    let on = std::env::var("ESIGNET_TEST_RESTART_REDIS").as_deref() == Ok("1") && !support::cluster();
    if !on {
        eprintln!("skipped: set ESIGNET_TEST_RESTART_REDIS=1 to stop, start and pause the local Redis in this test");
    }
    on
}

/// Stops the local Redis (`redis-cli shutdown nosave`), checks that operations fail fast while it is down, starts
/// it again with the CI command and checks that the same backend instances recover (commands and pub/sub).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn recovers_after_redis_restarts() {
    if !enabled() {
        return;
    }
    let _serial = SERIAL.write().await;
    let Some(f) = Fixture::new("restart").await else { return };
    let [a, b] = &f.caches;
    a.set(&f.key("before"), b"x".to_vec(), 30_000).await.unwrap();
    // A waiter that is subscribed before the outage.
    assert_eq!(b.wait(&f.key("warm"), 50).await.unwrap(), None);

    support::stop_redis();
    let mut slowest = Duration::ZERO;
    for _ in 0..10 {
        let t = Instant::now();
        let r = a.get(&f.key("before")).await;
        slowest = slowest.max(t.elapsed());
        assert!(matches!(r, Err(CacheError::Unavailable(_))), "{r:?}");
        let t = Instant::now();
        let r = b.wait(&f.key("down"), 2_000).await;
        slowest = slowest.max(t.elapsed());
        assert!(matches!(r, Err(CacheError::Unavailable(_))), "{r:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    eprintln!("while Redis was down the slowest failure took {slowest:?}");
    assert!(slowest < support::BOUND * 3, "slowest failure {slowest:?}");

    let restarted = Instant::now();
    support::start_redis();
    support::wait_until_redis_answers();
    let answering = restarted.elapsed();
    // The first command of each replica once Redis answers gets through (no failed command needed to reconnect).
    b.set(&f.key("after"), b"y".to_vec(), 30_000).await.expect("first command after the restart");
    assert_eq!(a.get(&f.key("after")).await.expect("first command after the restart"), Some(b"y".to_vec()));
    assert_eq!(a.increment(&f.key("n"), 1, 30_000).await.unwrap(), 1, "the script is loaded again");
    eprintln!("Redis answered {answering:?} after the start command; both replicas served their first command");

    // Pub/sub recovers too: a waiter on one replica is woken by the other.
    let channel = f.key("after-restart");
    let waiter = {
        let b = b.clone();
        let channel = channel.clone();
        tokio::spawn(async move {
            loop {
                match b.wait(&channel, 3_000).await {
                    Err(CacheError::Unavailable(_)) => tokio::time::sleep(Duration::from_millis(50)).await,
                    other => return other,
                }
            }
        })
    };
    let t = Instant::now();
    while !waiter.is_finished() && t.elapsed() < Duration::from_secs(10) {
        a.notify(&channel, b"back".to_vec()).await.unwrap();
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(waiter.await.unwrap().unwrap(), Some(b"back".to_vec()));
    eprintln!("pub/sub recovered {:?} after the start command", restarted.elapsed());
}

/// `CLIENT PAUSE`: commands time out within the bound, and once Redis answers again every reply still goes to the
/// command that asked for it (late replies of timed-out commands are dropped, not handed to the next one).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_paused_redis_fails_fast_then_answers_correctly() {
    if !enabled() {
        return;
    }
    let _serial = SERIAL.write().await;
    let Some(f) = Fixture::new("pause").await else { return };
    let a = &f.caches[0];
    for i in 0..5 {
        a.set(&f.key(&format!("k{i}")), format!("v{i}").into_bytes(), 30_000).await.unwrap();
    }
    f.pause(3_000);
    let paused = Instant::now();
    // Three reads of 0.5 s each fit in the 3 s pause.
    for i in 0..3 {
        let t = Instant::now();
        let r = a.get(&f.key(&format!("k{i}"))).await;
        assert!(matches!(r, Err(CacheError::Unavailable(_))), "{r:?}");
        assert!(t.elapsed() < support::BOUND * 2, "took {:?}", t.elapsed());
    }
    eprintln!("3 timed-out reads while paused, {:?}", paused.elapsed());
    while paused.elapsed() < Duration::from_millis(3_200) {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let mut served = None;
    for _ in 0..100 {
        if a.ping().await.is_ok() {
            served = Some(paused.elapsed());
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    eprintln!("serving again {served:?} after the pause started (pause: 3 s)");
    for round in 0..3 {
        for i in 0..5 {
            let value = a.get(&f.key(&format!("k{i}"))).await.unwrap();
            assert_eq!(value, Some(format!("v{i}").into_bytes()), "round {round}: reply of another command?");
        }
    }
}
