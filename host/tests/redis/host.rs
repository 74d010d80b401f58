//! The whole host on Redis: `esignet up` with `ESIGNET_CACHE_URL`, the real `spin.toml` and the product components
//! in `target/components` reports health UP, names the Redis backend at start, and a login-flow step
//! (oauth-details) leaves its transaction in Redis under the flow's key (`esignet:preauth:<transactionId>`).

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::support::{redis_url, SERIAL};

struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).expect("free port").port()
}

/// Requirements of this test; `None` = skip (outside CI).
fn requirements() -> Option<PathBuf> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    if super::support::cluster() {
        eprintln!("skipped on a cluster: this test runs the host on the standalone test Redis");
        return None;
    }
    let missing = if !root.join("target/components/oidc.wasm").exists() {
        Some("the product components (target/components/*.wasm; components/build.sh makes them)".to_string())
    } else if redis::Client::open(redis_url().as_str()).and_then(|c| c.get_connection_with_timeout(Duration::from_secs(2))).is_err() {
        Some(format!("Redis at {}", redis_url()))
    } else {
        None
    };
    match missing {
        None => Some(root),
        Some(what) if std::env::var("CI").as_deref() == Ok("true") => panic!("missing {what} and CI=true"),
        Some(what) => {
            eprintln!("\n*** SKIP: missing {what} ***\n");
            None
        }
    }
}

#[test]
fn the_host_serves_a_flow_step_from_redis() {
    let _serial = SERIAL.blocking_read();
    let Some(root) = requirements() else { return };
    let dir = std::env::temp_dir().join(format!("esignet-redis-host-{}-{}", std::process::id(), free_port()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let (port, admin_port) = (free_port(), free_port());
    let log = dir.join("host.log");
    let child = Command::new(env!("CARGO_BIN_EXE_esignet"))
        .args(["up", "--manifest"])
        .arg(root.join("spin.toml"))
        .arg("--data-dir")
        .arg(dir.join("data"))
        .args(["--listen", &format!("127.0.0.1:{port}"), "--admin-listen", &format!("127.0.0.1:{admin_port}")])
        .env("ESIGNET_CACHE_URL", redis_url())
        .env("ESIGNET_DEMO", "1")
        .env("ESIGNET_ISSUER", format!("http://127.0.0.1:{port}/v1/esignet"))
        .env_remove("ESIGNET_SQL_URL")
        .env_remove("ESIGNET_PKCS11_MODULE")
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log).expect("log"))
        .spawn()
        .expect("start esignet");
    let _running = Running(child);
    let base = format!("http://127.0.0.1:{port}/v1/esignet");
    let logs = || std::fs::read_to_string(&log).unwrap_or_default();

    let started = Instant::now();
    loop {
        match ureq::get(&format!("{base}/actuator/health")).timeout(Duration::from_secs(2)).call() {
            Ok(r) if r.status() == 200 => break,
            _ if started.elapsed() > Duration::from_secs(180) => panic!("host not UP:\n{}", logs()),
            _ => std::thread::sleep(Duration::from_millis(200)),
        }
    }
    eprintln!("host UP on Redis after {:?}", started.elapsed());
    assert!(logs().contains("redis 127.0.0.1:6379 (standalone)") || !redis_url().contains("127.0.0.1:6379"), "{}", logs());

    // The UI's first step: a CSRF token, then oauth-details for the demo client.
    let csrf = ureq::get(&format!("{base}/csrf/token")).call().expect("csrf");
    let token = csrf.into_json::<serde_json::Value>().expect("csrf json")["token"].as_str().expect("token").to_string();
    let request_time = humantime::format_rfc3339_millis(std::time::SystemTime::now()).to_string();
    let body = serde_json::json!({
        "requestTime": request_time,
        "request": {
            "clientId": "demo-client", "scope": "openid profile", "responseType": "code",
            "redirectUri": "http://127.0.0.1:3000/callback", "nonce": "n-redis-test", "state": "s-redis-test",
            "acrValues": "mosip:idp:acr:generated-code",
        }
    });
    let answer = ureq::post(&format!("{base}/authorization/v3/oauth-details"))
        .set("Cookie", &format!("XSRF-TOKEN={token}"))
        .set("X-XSRF-TOKEN", &token)
        .send_json(body);
    let answer: serde_json::Value = match answer {
        Ok(r) => r.into_json().expect("json"),
        Err(e) => panic!("oauth-details failed: {e}\n{}", logs()),
    };
    let transaction = answer["response"]["transactionId"].as_str().unwrap_or_else(|| panic!("{answer}")).to_string();

    let mut conn = redis::Client::open(redis_url().as_str()).and_then(|c| c.get_connection()).expect("redis");
    let key = format!("esignet:preauth:{transaction}");
    let pttl: i64 = redis::cmd("PTTL").arg(&key).query(&mut conn).expect("PTTL");
    let _: Result<i64, _> = redis::cmd("DEL").arg(&key).query(&mut conn);
    assert!(pttl > 0 && pttl <= 300_000, "the transaction is in Redis with its TTL: PTTL {pttl}");
    let _ = std::fs::remove_dir_all(&dir);
}
