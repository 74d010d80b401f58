//! Credential-data plugins end to end, with the real binary and small test components: an endpoint's
//! `credential-data` import reaches the plugin `spin.toml` binds to it, in the plugin's own sandbox; without a
//! binding it answers `not-bound`; a plugin that traps, loops, over-allocates or answers badly gives the endpoint a
//! clean error for that call only; and the grants and bindings are checked at `check` and at start.

mod common;

use common::*;

fn manifest() -> String {
    format!(
        r#"
spin_manifest_version = 2
[application]
name = "credential-data-test"

[[trigger.http]]
route = "/bound/..."
component = "bound"
[[trigger.http]]
route = "/unbound/..."
component = "unbound"
[[trigger.http]]
route = "/cdata/..."
component = "cdata"

[component.bound]
source = "{caller}"
[component.bound.tool.esignet]
capabilities = ["credential-data"]
credential_data_plugin = "cdata"

[component.unbound]
source = "{caller}"
[component.unbound.tool.esignet]
capabilities = ["credential-data"]

[component.cdata]
source = "{plugin}"
[component.cdata.tool.esignet]
kind = "credential-data-plugin"
cpu_limit_ms = 300
memory_limit_mb = 32
"#,
        caller = toml_path(&wasm("test_credential_data_caller")),
        plugin = toml_path(&wasm("test_credential_data")),
    )
}

const RUNTIME: &str = "[limits]\nmemory_limit_mb = 64\ncpu_limit_ms = 2000\nmax_body_bytes = 65536\n[log]\nlevel = \"info\"\n";

fn fetch(host: &Host, route: &str, given: &str) -> (u16, serde_json::Value) {
    let (status, body) = get(&host.url(&format!("/{route}/fetch?given={given}")));
    (status, json(&body))
}

#[test]
fn the_bound_plugin_answers_in_its_own_sandbox() {
    let host = Host::start("credential-data", &manifest(), RUNTIME);
    let (status, claims) = fetch(&host, "bound", "Ada");
    assert_eq!(status, 200, "{claims}");
    assert_eq!(claims["given_name"], "Ada");
    assert_eq!(claims["name"], "ADA LOVELACE", "the plugin got the KYC claims");
    assert_eq!(claims["email"], "psut-1@registry.test", "the plugin got the subject");
    assert_eq!(claims["locale"], "fr", "the plugin got the claims locales");
    assert_eq!(claims["registry_id"], "TestConfig:dc+sd-jwt", "the plugin got the configuration and format");

    // No binding: the host answers `not-bound` without running anything.
    assert_eq!(fetch(&host, "unbound", "Ada"), (400, serde_json::json!({"error": "not-bound"})));

    // Misbehaving plugins: a clean error for that call, the next call served.
    let cases = [
        ("trap", "failed"),
        ("alloc", "failed"),
        ("loop", "unavailable"),
        ("garbage", "failed"),
        ("array", "failed"),
        ("not-bound", "failed"),
        ("denied", "denied"),
        ("missing", "not-found"),
        ("down", "unavailable"),
    ];
    for (given, error) in cases {
        let (status, body) = fetch(&host, "bound", given);
        assert_eq!((status, body["error"].as_str()), (400, Some(error)), "plugin {given}: {body}");
        let (status, body) = fetch(&host, "bound", "Ada");
        assert_eq!((status, body["given_name"].as_str()), (200, Some("Ada")), "after {given}: {body}");
    }

    // The plugin's own routes.
    assert_eq!(get(&host.url("/cdata/anything")), (200, "credential-data plugin".to_string()));

    let metrics = get(&host.url("/metrics")).1;
    for (kind, n) in [("trap", 1), ("out_of_memory", 1), ("timeout", 1), ("invalid_answer", 3)] {
        let line = format!("esignet_plugin_failures_total{{component=\"cdata\",kind=\"{kind}\"}} {n}");
        assert!(metrics.contains(&line), "{line} missing in:\n{metrics}");
    }
    let logs = host.logs();
    assert!(logs.contains("credential-data plugin failed"), "{logs}");
    assert!(!logs.contains("ADA LOVELACE"), "claims reached the log");
}

fn check(dir: &std::path::Path, name: &str, manifest: &str) -> (bool, String) {
    std::fs::write(dir.join(name), manifest).unwrap();
    run_to_end(&["check", "--offline"], &dir.join(name))
}

#[test]
fn grants_and_bindings_are_checked() {
    let dir = temp_dir("credential-data-check");
    let good = manifest();
    let (ok, stderr) = check(&dir, "good.toml", &good);
    assert!(ok, "{stderr}");

    // The import without the grant.
    let text = good.replace(
        "capabilities = [\"credential-data\"]\n\n[component.cdata]",
        "capabilities = []\n\n[component.cdata]",
    );
    let (ok, stderr) = check(&dir, "ungranted.toml", &text);
    assert!(!ok);
    assert!(
        stderr.contains("`unbound` imports `esignet:plugin/credential-data@0.1.0` but is not granted `credential-data`"),
        "{stderr}"
    );

    // A binding without the grant.
    let text = good.replacen("capabilities = [\"credential-data\"]\ncredential_data_plugin", "capabilities = []\ncredential_data_plugin", 1);
    let (ok, stderr) = check(&dir, "binding-only.toml", &text);
    assert!(!ok);
    assert!(stderr.contains("`credential_data_plugin` needs the `credential-data` grant"), "{stderr}");

    // A binding to a component of another kind.
    let text = good.replace("kind = \"credential-data-plugin\"", "kind = \"plugin\"");
    let (ok, stderr) = check(&dir, "wrong-kind.toml", &text);
    assert!(!ok);
    assert!(stderr.contains("credential_data_plugin `cdata` is not declared with kind = \"credential-data-plugin\""), "{stderr}");

    // A plugin that does not export the interface: refused by `check` and at start, naming it.
    let text = good.replace(&toml_path(&wasm("test_credential_data")), &toml_path(&wasm("test_plugin")));
    let (ok, stderr) = check(&dir, "no-export.toml", &text);
    assert!(!ok);
    assert!(stderr.contains("`cdata` is declared with kind = \"credential-data-plugin\" but does not export `esignet:plugin/credential-data`"), "{stderr}");
    let (ok, stderr) = up_refusing(&dir.join("no-export.toml"));
    assert!(!ok, "up must refuse a plugin that cannot serve its binding");
    assert!(stderr.contains("does not export `esignet:plugin/credential-data`"), "{stderr}");
}

#[test]
fn a_hot_deploy_that_drops_the_interface_is_refused() {
    let host = Host::start("credential-data-deploy", &manifest(), RUNTIME);
    let (status, body) = host.deploy("cdata", &std::fs::read(wasm("test_plugin")).unwrap());
    assert_eq!(status, 422, "{body}");
    assert!(body.contains("esignet:plugin/credential-data"), "{body}");
    assert_eq!(fetch(&host, "bound", "Ada").0, 200, "the running version keeps serving");
}
