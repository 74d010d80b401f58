//! Components as versioned artifacts: fetched over HTTP from a local server, pinned by SHA-256 digest. A wrong
//! digest is refused (at start and at hot deploy) and the running version keeps serving.

mod common;


use common::*;
use sha2::{Digest, Sha256};

fn digest(bytes: &[u8]) -> String {
    format!("sha256:{}", hex::encode(Sha256::digest(bytes)))
}

fn manifest(url: &str, digest: &str) -> String {
    format!(
        "spin_manifest_version = 2\n[application]\nname = \"artifact\"\n[[trigger.http]]\nroute = \"/hello/...\"\ncomponent = \"hello\"\n[component.hello]\nsource = {{ url = \"{url}\", digest = \"{digest}\" }}\n"
    )
}

#[test]
fn a_pinned_artifact_is_loaded_and_a_wrong_digest_refused() {
    let files = temp_dir("artifacts-served");
    let v1 = std::fs::read(wasm("test_hello_v1")).unwrap();
    let v2 = std::fs::read(wasm("test_hello_v2")).unwrap();
    std::fs::write(files.join("hello-v1.wasm"), &v1).unwrap();
    std::fs::write(files.join("hello-v2.wasm"), &v2).unwrap();
    let (_server, port) = serve_dir(&files);
    let url_v1 = format!("http://127.0.0.1:{port}/hello-v1.wasm");
    let url_v2 = format!("http://127.0.0.1:{port}/hello-v2.wasm");

    // Wrong digest at start: refused, naming the mismatch.
    let dir = temp_dir("artifact-bad");
    std::fs::write(dir.join("spin.toml"), manifest(&url_v1, &digest(&v2))).unwrap();
    let (ok, stderr) = run_to_end(&["check"], &dir.join("spin.toml"));
    assert!(!ok);
    assert!(stderr.contains("digest mismatch") && stderr.contains(&digest(&v2)), "{stderr}");

    // Right digest: served.
    let host = Host::start("artifact-good", &manifest(&url_v1, &digest(&v1)), "");
    assert_eq!(get(&host.url("/hello/x")).1, "hello v1");
    assert!(host.dir.join("data/artifacts").read_dir().unwrap().count() == 1, "verified artifact cached by digest");

    // Hot deploy of an artifact: a wrong digest is refused and v1 keeps serving; the right one switches.
    let deploy = |url: &str, d: &str| {
        response_parts(
            ureq::put(&format!(
                "http://127.0.0.1:{}/admin/components/hello?url={}&digest={}",
                host.admin_port,
                url::form_urlencoded::byte_serialize(url.as_bytes()).collect::<String>(),
                url::form_urlencoded::byte_serialize(d.as_bytes()).collect::<String>()
            ))
            .set("Authorization", &format!("Bearer {}", host.admin_token()))
            .call(),
        )
    };
    // (A digest already verified and cached is content-addressed: only an unknown digest makes a fetch.)
    let (status, body) = deploy(&url_v2, &digest(b"not what the server has"));
    assert_eq!(status, 422, "{body}");
    assert!(body.contains("digest mismatch"), "{body}");
    assert_eq!(get(&host.url("/hello/x")).1, "hello v1");
    let (status, body) = deploy(&url_v2, &digest(&v2));
    assert_eq!(status, 200, "{body}");
    assert_eq!(get(&host.url("/hello/x")).1, "hello v2");
}
