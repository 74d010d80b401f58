//! Test harness: runs the real `esignet` binary on free loopback ports with a manifest and runtime config
//! written for the test, against the test components built by `components/build.sh`.

#![allow(dead_code)]

use std::io::Read;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub fn wasm_dir() -> PathBuf {
    let dir = std::env::var("ESIGNET_TEST_WASM_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|_| PathBuf::from("/var/tmp/esignet-components-target/wasm32-wasip2/release"));
    assert!(
        dir.join("test_hello_v1.wasm").exists(),
        "test components missing in {}: run components/build.sh first (the README's test command does)",
        dir.display()
    );
    dir
}

pub fn wasm(name: &str) -> PathBuf {
    wasm_dir().join(format!("{name}.wasm"))
}

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map(|a| a.port()).expect("free port")
}

pub fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("esignet-test-{name}-{}-{}", std::process::id(), free_port()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}

pub fn binary() -> &'static str {
    env!("CARGO_BIN_EXE_esignet")
}

/// Runs `esignet <args> --manifest <manifest> --data-dir <dir of manifest>/data` (never the working directory's
/// `.esignet`) to its end; returns whether it succeeded, and its stderr.
pub fn run_to_end(args: &[&str], manifest: &Path) -> (bool, String) {
    let data_dir = manifest.parent().expect("manifest in a directory").join("data");
    let out = Command::new(binary())
        .args(args)
        .arg("--manifest")
        .arg(manifest)
        .arg("--data-dir")
        .arg(data_dir)
        .env("ESIGNET_DEMO", "0")
        .output()
        .expect("run esignet");
    (out.status.success(), String::from_utf8_lossy(&out.stderr).into_owned())
}

/// `esignet up` on free ports with a manifest it must refuse (it would serve, and this wait, otherwise).
pub fn up_refusing(manifest: &Path) -> (bool, String) {
    let (listen, admin) = (format!("127.0.0.1:{}", free_port()), format!("127.0.0.1:{}", free_port()));
    run_to_end(&["up", "--listen", &listen, "--admin-listen", &admin], manifest)
}

pub struct Host {
    pub child: Option<Child>,
    pub port: u16,
    pub admin_port: u16,
    pub dir: PathBuf,
    pub log: PathBuf,
}

impl Host {
    /// Writes the files and starts `esignet up`; waits until the health check says UP.
    pub fn start(name: &str, manifest: &str, runtime_config: &str) -> Host {
        let dir = temp_dir(name);
        Self::start_in(dir, manifest, runtime_config)
    }

    pub fn start_in(dir: PathBuf, manifest: &str, runtime_config: &str) -> Host {
        let data_dir = dir.join("data");
        Self::spawn(dir, manifest, runtime_config, &data_dir, None)
    }

    /// As [`Host::start`], with the process in the test's directory and `--data-dir data` (relative), as a user
    /// typing `esignet up --data-dir .esignet` would run it.
    pub fn start_relative(name: &str, manifest: &str, runtime_config: &str) -> Host {
        let dir = temp_dir(name);
        let cwd = dir.clone();
        Self::spawn(dir, manifest, runtime_config, Path::new("data"), Some(&cwd))
    }

    fn spawn(dir: PathBuf, manifest: &str, runtime_config: &str, data_dir: &Path, cwd: Option<&Path>) -> Host {
        std::fs::write(dir.join("spin.toml"), manifest).expect("manifest");
        std::fs::write(dir.join("runtime-config.toml"), runtime_config).expect("runtime config");
        let port = free_port();
        let admin_port = free_port();
        let log = dir.join("host.log");
        let mut command = Command::new(binary());
        if let Some(cwd) = cwd {
            command.current_dir(cwd);
        }
        let child = command
            .arg("up")
            .arg("--manifest")
            .arg(dir.join("spin.toml"))
            .arg("--runtime-config")
            .arg(dir.join("runtime-config.toml"))
            .arg("--data-dir")
            .arg(data_dir)
            .arg("--listen")
            .arg(format!("127.0.0.1:{port}"))
            .arg("--admin-listen")
            .arg(format!("127.0.0.1:{admin_port}"))
            .env("ESIGNET_DEMO", "0")
            .env("ESIGNET_ISSUER", format!("http://127.0.0.1:{port}/v1/esignet"))
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).expect("log file"))
            .spawn()
            .expect("start esignet");
        let mut host = Host { child: Some(child), port, admin_port, dir, log };
        host.wait_ready(Duration::from_secs(60));
        host
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    pub fn wait_ready(&mut self, timeout: Duration) {
        let deadline = Instant::now() + timeout;
        while Instant::now() < deadline {
            if let Some(child) = self.child.as_mut() {
                if let Ok(Some(status)) = child.try_wait() {
                    panic!("esignet exited early ({status}):\n{}", self.logs());
                }
            }
            if let Ok(r) = ureq::get(&self.url("/v1/esignet/actuator/health")).timeout(Duration::from_secs(2)).call() {
                if r.status() == 200 {
                    return;
                }
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("esignet did not become ready:\n{}", self.logs());
    }

    pub fn logs(&self) -> String {
        let mut s = String::new();
        if let Ok(mut f) = std::fs::File::open(&self.log) {
            let _ = f.read_to_string(&mut s);
        }
        s
    }

    pub fn admin_token(&self) -> String {
        std::fs::read_to_string(self.dir.join("data/admin.token")).expect("admin token").trim().to_string()
    }

    /// PUTs a component version to the admin API; returns (status, body).
    pub fn deploy(&self, component: &str, bytes: &[u8]) -> (u16, String) {
        let r = ureq::put(&format!("http://127.0.0.1:{}/admin/components/{component}", self.admin_port))
            .set("Authorization", &format!("Bearer {}", self.admin_token()))
            .send_bytes(bytes);
        response_parts(r)
    }

    pub fn sigterm(&self) {
        if let Some(child) = &self.child {
            let status = Command::new("kill").arg("-TERM").arg(child.id().to_string()).status().expect("kill");
            assert!(status.success());
        }
    }

    pub fn wait_exit(&mut self, timeout: Duration) -> Option<std::process::ExitStatus> {
        let deadline = Instant::now() + timeout;
        let child = self.child.as_mut()?;
        while Instant::now() < deadline {
            if let Ok(Some(status)) = child.try_wait() {
                self.child = None;
                return Some(status);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        None
    }
}

impl Drop for Host {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// Status and body of a ureq result, whatever the status.
pub fn response_parts(r: Result<ureq::Response, ureq::Error>) -> (u16, String) {
    match r {
        Ok(resp) => (resp.status(), resp.into_string().unwrap_or_default()),
        Err(ureq::Error::Status(code, resp)) => (code, resp.into_string().unwrap_or_default()),
        Err(e) => (0, format!("transport error: {e}")),
    }
}

pub fn get(url: &str) -> (u16, String) {
    response_parts(ureq::get(url).timeout(Duration::from_secs(30)).call())
}

pub fn json(body: &str) -> serde_json::Value {
    serde_json::from_str(body).unwrap_or_else(|e| panic!("not JSON ({e}): {body}"))
}

pub fn copy_to(src: &Path, dst: &Path) {
    let tmp = dst.with_extension("tmp");
    std::fs::copy(src, &tmp).expect("copy");
    std::fs::rename(&tmp, dst).expect("rename");
}

pub fn toml_path(p: &Path) -> String {
    p.display().to_string().replace('\\', "\\\\")
}

/// A static file server (`python3 -m http.server`) on a free loopback port, stopped on drop.
pub struct FileServer(Child);

impl Drop for FileServer {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

pub fn serve_dir(dir: &std::path::Path) -> (FileServer, u16) {
    let port = free_port();
    let child = Command::new("python3")
        .args(["-m", "http.server", &port.to_string(), "--bind", "127.0.0.1"])
        .current_dir(dir)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("python3 http.server");
    let deadline = Instant::now() + Duration::from_secs(10);
    while get(&format!("http://127.0.0.1:{port}/")).0 != 200 {
        assert!(Instant::now() < deadline, "file server did not start");
        std::thread::sleep(Duration::from_millis(50));
    }
    (FileServer(child), port)
}
