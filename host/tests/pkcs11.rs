//! The PKCS#11 `keys` backend against real SoftHSM2 tokens made by `scripts/softhsm-init`: signatures that an
//! independent library verifies against the published JWKS, keys that persist and cannot be read out, rotation,
//! JWE, replicas that race to generate, the full host on a token, and a throughput measurement. SoftHSM reads
//! `SOFTHSM2_CONF` once per process, so every token these tests use is made up front in one directory. Without
//! softhsm2 the tests fail under `CI=true` and print a loud SKIP otherwise.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use cryptoki::context::{CInitializeArgs, CInitializeFlags, Pkcs11};
use cryptoki::object::{Attribute, AttributeInfo, AttributeType, ObjectClass};
use cryptoki::mechanism::Mechanism;
use cryptoki::session::{Session, UserType};
use esignet_host::backends::pkcs11::{system_clock, Clock, Pkcs11KeyStore, Pkcs11Settings};
use esignet_host::backends::{jose, KeyError, KeyStore};
use josekit::jwk::Jwk;
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

const DAY: i64 = 86_400;
const TEST_TOKEN: &str = "esignet-test";
const HOST_TOKEN: &str = "esignet-host";

struct Hsm {
    dir: PathBuf,
    module: String,
    conf: String,
    pin: String,
}

fn init_token(dir: &std::path::Path, label: &str, pin: &str) -> Vec<(String, String)> {
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../scripts/softhsm-init");
    let out = Command::new(script).arg(dir).arg(label).arg(pin).stderr(Stdio::inherit()).output().expect("softhsm-init");
    assert!(out.status.success(), "softhsm-init failed");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.strip_prefix("export ")?.split_once('='))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// The tokens of this test process, or `None` (after a loud SKIP) when softhsm2 is not installed.
fn hsm() -> Option<&'static Hsm> {
    static HSM: OnceLock<Option<Hsm>> = OnceLock::new();
    HSM.get_or_init(|| {
        if Command::new("softhsm2-util").arg("--version").output().is_err() {
            assert!(std::env::var("CI").as_deref() != Ok("true"), "softhsm2 is not installed (CI=true: failing)");
            // Straight to stderr, past the test harness's output capture.
            let skip = "\n*** SKIP: softhsm2 is not installed; the PKCS#11 tests did not run (apt-get install softhsm2) ***\n";
            let _ = std::io::Write::write_all(&mut std::io::stderr(), skip.as_bytes());
            return None;
        }
        let dir = common::temp_dir("pkcs11");
        let pin = format!("{:016x}", rand::random::<u64>());
        let exports = init_token(&dir, TEST_TOKEN, &pin);
        init_token(&dir, HOST_TOKEN, &pin);
        let get = |k: &str| exports.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone()).expect(k);
        let hsm = Hsm { dir, module: get("ESIGNET_PKCS11_MODULE"), conf: get("SOFTHSM2_CONF"), pin: get("ESIGNET_PKCS11_PIN") };
        // Before any C_Initialize in this process (they all happen after this initializer returns).
        std::env::set_var("SOFTHSM2_CONF", &hsm.conf);
        Some(hsm)
    })
    .as_ref()
}

fn settings(hsm: &Hsm, token: &str, clock: Clock) -> Pkcs11Settings {
    Pkcs11Settings {
        module: hsm.module.clone(),
        token: token.to_string(),
        pin: hsm.pin.clone().into(),
        sessions: 4,
        rotate_after_secs: 90 * DAY,
        retain_secs: 2 * DAY,
        clock,
    }
}

async fn store(hsm: &Hsm) -> Pkcs11KeyStore {
    store_at(hsm, 0).await
}

/// A backend whose clock runs `offset` seconds ahead of the real one.
async fn store_at(hsm: &Hsm, offset: i64) -> Pkcs11KeyStore {
    let real = system_clock();
    Pkcs11KeyStore::open(settings(hsm, TEST_TOKEN, Arc::new(move || real() + offset))).await.expect("open token")
}

fn kids(jwks: &[Value]) -> Vec<String> {
    jwks.iter().map(|k| k["kid"].as_str().unwrap_or_default().to_string()).collect()
}

/// RFC 7638 computed here, independently of the backend.
fn thumbprint(jwk: &Value) -> String {
    let canonical = match jwk["kty"].as_str() {
        Some("EC") => format!(r#"{{"crv":"{}","kty":"EC","x":"{}","y":"{}"}}"#, jwk["crv"].as_str().unwrap(), jwk["x"].as_str().unwrap(), jwk["y"].as_str().unwrap()),
        _ => format!(r#"{{"e":"{}","kty":"RSA","n":"{}"}}"#, jwk["e"].as_str().unwrap(), jwk["n"].as_str().unwrap()),
    };
    URL_SAFE_NO_PAD.encode(Sha256::digest(canonical.as_bytes()))
}

/// Verifies with josekit directly (OpenSSL underneath), from the JWKS alone.
fn verify_independently(jws: &str, jwks: &[Value]) -> Vec<u8> {
    let header: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(jws.split('.').next().unwrap()).unwrap()).unwrap();
    let kid = header["kid"].as_str().unwrap();
    let jwk = jwks.iter().find(|k| k["kid"] == kid).expect("kid in the JWKS");
    let mut map = jwk.as_object().unwrap().clone();
    map.remove("exp");
    let jwk = Jwk::from_map(map).unwrap();
    let verifier: Box<dyn josekit::jws::JwsVerifier> = match header["alg"].as_str().unwrap() {
        "ES256" => Box::new(josekit::jws::ES256.verifier_from_jwk(&jwk).unwrap()),
        "RS256" => Box::new(josekit::jws::RS256.verifier_from_jwk(&jwk).unwrap()),
        "PS256" => Box::new(josekit::jws::PS256.verifier_from_jwk(&jwk).unwrap()),
        other => panic!("unexpected alg {other}"),
    };
    josekit::jws::deserialize_compact(jws, verifier.as_ref()).expect("independent verification").0
}

#[tokio::test]
async fn each_algorithm_signs_and_an_independent_library_verifies_against_the_jwks() {
    let Some(hsm) = hsm() else { return };
    let keys = store(hsm).await;
    for alg in ["ES256", "RS256", "PS256"] {
        let purpose = format!("sign-{alg}");
        let mut header = Map::new();
        header.insert("typ".into(), "JWT".into());
        header.insert("alg".into(), "none".into());
        let jws = keys.sign_jws(&purpose, alg, header, br#"{"sub":"x"}"#).await.unwrap();
        let jwks = keys.public_jwks(&[(purpose.clone(), alg.to_string())]).await.unwrap();
        assert_eq!(jwks.len(), 1, "{jwks:?}");
        let jwk = &jwks[0];
        assert_eq!(jwk["alg"], alg);
        assert_eq!(jwk["use"], "sig");
        assert_eq!(jwk["kid"].as_str().unwrap(), thumbprint(jwk));
        assert!(jwk["exp"].as_i64().unwrap() > 0);
        assert!(["d", "p", "q", "dp", "dq", "qi"].iter().all(|m| jwk.get(m).is_none()), "{jwk}");
        assert_eq!(verify_independently(&jws, &jwks), br#"{"sub":"x"}"#);
        if alg == "ES256" {
            assert_eq!(URL_SAFE_NO_PAD.decode(jws.rsplit('.').next().unwrap()).unwrap().len(), 64, "raw r||s");
        }
        let (h, payload) = keys.verify_own(&purpose, &jws).await.unwrap();
        assert_eq!(payload, br#"{"sub":"x"}"#);
        assert!(h.contains("\"typ\":\"JWT\""), "{h}");
        let mut tampered = jws.clone();
        tampered.insert(jws.find('.').unwrap() + 3, 'A');
        assert!(keys.verify_own(&purpose, &tampered).await.is_err());
        assert!(keys.verify_own("another-purpose", &jws).await.is_err());
    }
    assert!(matches!(keys.current_key("x", "HS256").await, Err(KeyError::Invalid(_))));
    assert!(keys.describe().contains("pkcs11") && keys.describe().contains(TEST_TOKEN));
}

#[tokio::test]
async fn keys_persist_across_backend_instances_on_one_token() {
    let Some(hsm) = hsm() else { return };
    let first = store(hsm).await;
    let k1 = first.current_key("persist", "ES256").await.unwrap();
    let jws = first.sign_jws("persist", "ES256", Map::new(), b"hello").await.unwrap();
    drop(first);
    let second = store(hsm).await;
    assert_eq!(second.current_key("persist", "ES256").await.unwrap(), k1);
    assert_eq!(second.verify_own("persist", &jws).await.unwrap().1, b"hello");
}

/// A logged-in session of this test's own, beside the backend's.
fn raw_session(hsm: &Hsm, token: &str) -> (Pkcs11, Session) {
    let ctx = Pkcs11::new(&hsm.module).unwrap();
    let _ = ctx.initialize(CInitializeArgs::new(CInitializeFlags::OS_LOCKING_OK));
    let slot = ctx.get_slots_with_token().unwrap().into_iter().find(|s| ctx.get_token_info(*s).unwrap().label() == token).unwrap();
    let session = ctx.open_ro_session(slot).unwrap();
    let _ = session.login(UserType::User, Some(&hsm.pin.clone().into()));
    (ctx, session)
}

#[tokio::test]
async fn private_keys_cannot_be_read_out_of_the_token() {
    let Some(hsm) = hsm() else { return };
    let keys = store(hsm).await;
    for (purpose, alg) in [("secret-ec", "ES256"), ("secret-rsa", "RS256"), ("secret-enc", "RSA-OAEP-256")] {
        keys.current_key(purpose, alg).await.unwrap();
    }
    let (_ctx, session) = raw_session(hsm, TEST_TOKEN);
    let privates = session.find_objects(&[Attribute::Class(ObjectClass::PRIVATE_KEY)]).unwrap();
    let mut checked = 0;
    for handle in privates {
        let label = match session.get_attributes(handle, &[AttributeType::Label]).unwrap().pop() {
            Some(Attribute::Label(l)) => String::from_utf8(l).unwrap(),
            other => panic!("{other:?}"),
        };
        if !label.starts_with("esignet:secret-") {
            continue;
        }
        checked += 1;
        let secret = [AttributeType::Value, AttributeType::PrivateExponent, AttributeType::Prime1, AttributeType::Prime2];
        assert!(session.get_attributes(handle, &secret).unwrap().is_empty(), "{label}: private material was returned");
        let info = session.get_attribute_info_map(handle, &secret).unwrap();
        assert!(info.values().all(|i| matches!(i, AttributeInfo::Sensitive | AttributeInfo::TypeInvalid)), "{label}: {info:?}");
        assert!(info.values().any(|i| matches!(i, AttributeInfo::Sensitive)), "{label}: {info:?}");
        let flags = [AttributeType::Extractable, AttributeType::Sensitive, AttributeType::NeverExtractable, AttributeType::Token];
        let got = session.get_attributes(handle, &flags).unwrap();
        for want in [Attribute::Extractable(false), Attribute::Sensitive(true), Attribute::NeverExtractable(true), Attribute::Token(true)] {
            assert!(got.contains(&want), "{label}: {got:?} lacks {want:?}");
        }
    }
    assert_eq!(checked, 3);
}

#[tokio::test]
async fn rotation_makes_a_new_key_and_keeps_the_old_one_published() {
    let Some(hsm) = hsm() else { return };
    let today = store(hsm).await;
    let k1 = today.current_key("rotate", "RS256").await.unwrap();
    let old_jws = today.sign_jws("rotate", "RS256", Map::new(), b"old").await.unwrap();
    let purposes = [("rotate".to_string(), "RS256".to_string())];

    let later = store_at(hsm, 91 * DAY).await; // past rotate_after (90 days), within retain (2 more)
    let k2 = later.current_key("rotate", "RS256").await.unwrap();
    assert_ne!(k1.kid, k2.kid);
    let jwks = later.public_jwks(&purposes).await.unwrap();
    assert_eq!(kids(&jwks), vec![k2.kid.clone(), k1.kid.clone()], "newest first");
    assert_eq!(later.verify_own("rotate", &old_jws).await.unwrap().1, b"old");
    let new_jws = later.sign_jws("rotate", "RS256", Map::new(), b"new").await.unwrap();
    assert_eq!(verify_independently(&new_jws, &jwks), b"new");

    let much_later = store_at(hsm, 93 * DAY).await; // the first key is past retain_days
    assert_eq!(kids(&much_later.public_jwks(&purposes).await.unwrap()), vec![k2.kid.clone()]);
    assert!(much_later.verify_own("rotate", &old_jws).await.is_err());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replicas_racing_to_generate_converge_on_one_key() {
    let Some(hsm) = hsm() else { return };
    let (a, b) = (store(hsm).await, store(hsm).await);
    let (ka, kb) = tokio::join!(a.current_key("race", "ES256"), b.current_key("race", "ES256"));
    let (ka, kb) = (ka.unwrap(), kb.unwrap());
    let purposes = [("race".to_string(), "ES256".to_string())];
    // Every key either replica signed with is published by both, at the latest after one refresh interval.
    tokio::time::sleep(Duration::from_millis(5_200)).await;
    for replica in [&a, &b] {
        let published = kids(&replica.public_jwks(&purposes).await.unwrap());
        assert!(published.contains(&ka.kid) && published.contains(&kb.kid), "{published:?}");
    }
    assert_eq!(a.current_key("race", "ES256").await.unwrap(), b.current_key("race", "ES256").await.unwrap());
    eprintln!("race: first picks {} / {}, converged", ka.kid, kb.kid);
}

#[tokio::test]
async fn jwe_round_trip_with_the_cek_unwrapped_in_the_token() {
    let Some(hsm) = hsm() else { return };
    let keys = store(hsm).await;
    let jwks = keys.public_jwks(&[("enc".to_string(), "RSA-OAEP-256".to_string())]).await.unwrap();
    assert_eq!(jwks[0]["use"], "enc");
    let mut map = jwks[0].as_object().unwrap().clone();
    map.remove("exp");
    let public = Jwk::from_map(map).unwrap();
    for enc in ["A256GCM", "A128GCM", "A128CBC-HS256"] {
        let jwe = jose::encrypt(&public, "RSA-OAEP-256", enc, b"secret claims", Some("JWT")).unwrap();
        assert_eq!(keys.decrypt_jwe("enc", "RSA-OAEP-256", &jwe).await.unwrap(), b"secret claims", "{enc}");
        // A damaged encrypted key fails like any other bad JWE, not as a backend outage.
        let mut parts: Vec<String> = jwe.split('.').map(str::to_string).collect();
        let mut ek = URL_SAFE_NO_PAD.decode(&parts[1]).unwrap();
        ek[10] ^= 1;
        parts[1] = URL_SAFE_NO_PAD.encode(ek);
        assert!(matches!(keys.decrypt_jwe("enc", "RSA-OAEP-256", &parts.join(".")).await, Err(KeyError::Verification(_))));
    }
    assert!(matches!(keys.decrypt_jwe("enc", "RSA1_5", "a.b.c.d.e").await, Err(KeyError::Invalid(_))));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn measure_signatures_per_second() {
    let Some(hsm) = hsm() else { return };
    let keys = Arc::new(store(hsm).await);
    for alg in ["ES256", "RS256"] {
        let purpose = format!("bench-{alg}");
        keys.current_key(&purpose, alg).await.unwrap();
        for tasks in [1usize, 2, 4] {
            let window = Duration::from_millis(1_500);
            let started = Instant::now();
            let mut handles = Vec::new();
            for _ in 0..tasks {
                let (keys, purpose) = (keys.clone(), purpose.clone());
                handles.push(tokio::spawn(async move {
                    let mut n = 0u64;
                    while started.elapsed() < window {
                        keys.sign_jws(&purpose, alg, Map::new(), br#"{"sub":"bench"}"#).await.unwrap();
                        n += 1;
                    }
                    n
                }));
            }
            let mut total = 0;
            for h in handles {
                total += h.await.unwrap();
            }
            let rate = total as f64 / started.elapsed().as_secs_f64();
            eprintln!("MEASURE pkcs11 {alg}: {rate:.0} JWS/s with {tasks} concurrent task(s) (SoftHSM2, 2 cores)");
        }
        // The token alone, for comparison: C_Sign in a loop on one session, no JWS, no thread hand-off.
        let (_ctx, session) = raw_session(hsm, TEST_TOKEN);
        let private = session
            .find_objects(&[Attribute::Class(ObjectClass::PRIVATE_KEY)])
            .unwrap()
            .into_iter()
            .find(|h| match session.get_attributes(*h, &[AttributeType::Label]).unwrap().pop() {
                Some(Attribute::Label(l)) => l.starts_with(format!("esignet:{purpose}:").as_bytes()),
                _ => false,
            })
            .unwrap();
        let mechanism = if alg == "ES256" { Mechanism::Ecdsa } else { Mechanism::Sha256RsaPkcs };
        let data = if alg == "ES256" { Sha256::digest(b"x").to_vec() } else { b"x".to_vec() };
        let (started, mut n) = (Instant::now(), 0u64);
        while started.elapsed() < Duration::from_millis(1_500) {
            session.sign(&mechanism, private, &data).unwrap();
            n += 1;
        }
        eprintln!("MEASURE raw C_Sign {alg}: {:.0}/s on one session", n as f64 / started.elapsed().as_secs_f64());
    }
}

/// Starts `esignet up` on the real manifest and components with keys on the host token.
fn start_host(hsm: &Hsm, pin: &str, dir: &std::path::Path) -> (std::process::Child, u16, PathBuf) {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    assert!(root.join("target/components/oidc.wasm").exists(), "components missing: build them (./esignet does)");
    let port = common::free_port();
    let log = dir.join("host.log");
    let child = Command::new(common::binary())
        .current_dir(&root)
        .args(["up", "--manifest", "spin.toml", "--data-dir"])
        .arg(dir.join("data"))
        .arg("--listen")
        .arg(format!("127.0.0.1:{port}"))
        .arg("--admin-listen")
        .arg(format!("127.0.0.1:{}", common::free_port()))
        .env("SOFTHSM2_CONF", &hsm.conf)
        .env("ESIGNET_PKCS11_MODULE", &hsm.module)
        .env("ESIGNET_PKCS11_TOKEN", HOST_TOKEN)
        .env("ESIGNET_PKCS11_PIN", pin)
        .env("ESIGNET_DEMO", "1")
        .env("ESIGNET_ISSUER", format!("http://127.0.0.1:{port}/v1/esignet"))
        .env("ESIGNET_LOG", "info")
        .env_remove("ESIGNET_SQL_URL")
        .env_remove("ESIGNET_CACHE_URL")
        .env_remove("ESIGNET_RUNTIME_CONFIG")
        .env_remove("ESIGNET_PKCS11_PIN_FILE")
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .expect("start esignet");
    (child, port, log)
}

#[tokio::test]
async fn the_full_host_serves_keys_from_the_token_and_refuses_a_wrong_pin() {
    let Some(hsm) = hsm() else { return };
    let dir = hsm.dir.join("host-run");
    std::fs::create_dir_all(&dir).unwrap();

    let (mut bad, _, bad_log) = start_host(hsm, "wrong-pin-4242", &dir);
    let deadline = Instant::now() + Duration::from_secs(60);
    let status = loop {
        if let Some(status) = bad.try_wait().unwrap() {
            break status;
        }
        assert!(Instant::now() < deadline, "a wrong PIN did not stop the host");
        std::thread::sleep(Duration::from_millis(50));
    };
    let logs = std::fs::read_to_string(&bad_log).unwrap();
    assert!(!status.success());
    assert!(logs.contains("the PIN was refused"), "{logs}");
    assert!(!logs.contains("wrong-pin-4242"), "the PIN was logged");

    let (child, port, log) = start_host(hsm, &hsm.pin, &dir);
    let mut host = common::Host { child: Some(child), port, admin_port: 0, dir: dir.clone(), log };
    host.wait_ready(Duration::from_secs(120));
    let (status, health) = common::get(&host.url("/v1/esignet/actuator/health"));
    assert_eq!(status, 200);
    assert!(health.contains("UP"), "{health}");
    let logs = host.logs();
    assert!(logs.contains(&format!("pkcs11 {} token {HOST_TOKEN}", hsm.module)), "{logs}");
    assert!(!logs.contains(&hsm.pin), "the PIN was logged");

    let (_, discovery) = common::get(&host.url("/v1/esignet/.well-known/openid-configuration"));
    let jwks_uri = common::json(&discovery)["jwks_uri"].as_str().expect("jwks_uri").to_string();
    let jwks_path = jwks_uri.split_once(&format!("127.0.0.1:{port}")).map(|(_, p)| p.to_string()).unwrap_or(jwks_uri);
    let (status, body) = common::get(&host.url(&jwks_path));
    assert_eq!(status, 200, "{body}");
    let served: Vec<Value> = common::json(&body)["keys"].as_array().unwrap().clone();

    // The same keys, read from the token by a backend of this process.
    let token = Pkcs11KeyStore::open(settings(hsm, HOST_TOKEN, system_clock())).await.unwrap();
    let on_token = token.public_jwks(&[("oidc-service".to_string(), "RS256".to_string())]).await.unwrap();
    assert!(!on_token.is_empty());
    for key in &on_token {
        assert!(kids(&served).contains(&key["kid"].as_str().unwrap().to_string()), "{} not in {served:?}", key["kid"]);
    }
    drop(host);
}
