//! Outbound HTTP from a component reaches only the hosts its `allowed_outbound_hosts` lists.

mod common;

use common::*;

#[test]
fn outbound_http_reaches_listed_hosts_only() {
    let files = temp_dir("outbound-served");
    std::fs::write(files.join("hello.txt"), "hello from outside").unwrap();
    let (_server, port) = serve_dir(&files);
    let (_other, other_port) = serve_dir(&files);
    let manifest = format!(
        r#"
spin_manifest_version = 2
[application]
name = "outbound"
[[trigger.http]]
route = "/caps/..."
component = "caps"
[[trigger.http]]
route = "/nonet/..."
component = "nonet"
[component.caps]
source = "{caps}"
allowed_outbound_hosts = ["http://127.0.0.1:{port}"]
[component.caps.tool.esignet]
capabilities = ["keys", "sql", "cache", "config", "audit", "outbound-http"]
[component.nonet]
source = "{caps}"
[component.nonet.tool.esignet]
capabilities = ["keys", "sql", "cache", "config", "audit", "outbound-http"]
"#,
        caps = toml_path(&wasm("test_caps")),
    );
    let host = Host::start("outbound", &manifest, "");
    let allowed = json(&get(&host.url(&format!("/caps/outbound?url=http://127.0.0.1:{port}/hello.txt"))).1);
    assert_eq!(allowed["status"], 200, "{allowed}");
    assert_eq!(allowed["body"], "hello from outside");
    let other = json(&get(&host.url(&format!("/caps/outbound?url=http://127.0.0.1:{other_port}/hello.txt"))).1);
    assert_eq!(other["error"], "not-allowed", "another port of the same host is not listed");
    let none = json(&get(&host.url(&format!("/nonet/outbound?url=http://127.0.0.1:{port}/hello.txt"))).1);
    assert_eq!(none["error"], "not-allowed", "a component with no allowed_outbound_hosts reaches nothing");
    let bad = json(&get(&host.url("/caps/outbound?url=file:///etc/passwd")).1);
    assert_eq!(bad["error"], "invalid-request");
}
