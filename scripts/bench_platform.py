"""Host-platform benchmark: start to ready (cold and cached), per-request instantiation, a trivial component
route against the native handler of the same binary (alternating wrk runs), and hot-deploy time. Results go into
the `<!-- platform -->` section of BENCHMARKS.md."""

import argparse
import datetime
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import urllib.request


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def get(url, timeout=5):
    with urllib.request.urlopen(url, timeout=timeout) as r:
        return r.status, r.read().decode()


class Host:
    def __init__(self, binary, workdir, wasm):
        self.binary, self.workdir, self.wasm = binary, workdir, wasm
        self.port, self.admin = free_port(), free_port()
        shutil.copy(os.path.join(wasm, "test_hello_v1.wasm"), os.path.join(workdir, "hello.wasm"))
        with open(os.path.join(workdir, "spin.toml"), "w") as f:
            f.write(
                'spin_manifest_version = 2\n[application]\nname = "bench"\n'
                '[[trigger.http]]\nroute = "/hello/..."\ncomponent = "hello"\n'
                '[component.hello]\nsource = "hello.wasm"\n'
            )
        with open(os.path.join(workdir, "runtime.toml"), "w") as f:
            f.write('[server]\nbench_routes = true\nwatch_components = false\n[log]\nlevel = "warn"\n')

    def start(self):
        self.log = open(os.path.join(self.workdir, "host.log"), "w")
        env = dict(os.environ, ESIGNET_DEMO="0", ESIGNET_LOG="info")
        t0 = time.monotonic()
        self.proc = subprocess.Popen(
            [self.binary, "up", "--manifest", os.path.join(self.workdir, "spin.toml"),
             "--runtime-config", os.path.join(self.workdir, "runtime.toml"),
             "--data-dir", os.path.join(self.workdir, "data"),
             "--listen", f"127.0.0.1:{self.port}", "--admin-listen", f"127.0.0.1:{self.admin}"],
            stdout=subprocess.DEVNULL, stderr=self.log, env=env)
        while True:
            try:
                if get(self.url("/v1/esignet/actuator/health"))[0] == 200:
                    break
            except Exception:
                time.sleep(0.005)
            if time.monotonic() - t0 > 60:
                raise SystemExit("host did not start")
        wall = (time.monotonic() - t0) * 1e3
        reported = None
        with open(os.path.join(self.workdir, "host.log")) as f:
            for line in f:
                if '"ready"' in line:
                    reported = json.loads(line).get("start_to_ready_ms")
        return wall, reported

    def url(self, path):
        return f"http://127.0.0.1:{self.port}{path}"

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        self.proc.wait(timeout=30)
        self.log.close()


def wrk(url, seconds, connections=32, threads=2):
    out = subprocess.run(["wrk", f"-t{threads}", f"-c{connections}", f"-d{seconds}s", "--latency", url],
                         capture_output=True, text=True, check=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    p99 = re.search(r"99%\s+([\d.]+)(\w+)", out)
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return rps, f"{p99.group(1)}{p99.group(2)}" if p99 else "?", int(errors.group(1)) if errors else 0


def instantiation_us(host):
    metrics = get(host.url("/metrics"))[1]
    s = float(re.search(r'esignet_instantiation_duration_seconds_sum\{component="hello"\} ([\d.e+-]+)', metrics).group(1))
    c = float(re.search(r'esignet_instantiation_duration_seconds_count\{component="hello"\} ([\d.e+-]+)', metrics).group(1))
    return s / c * 1e6, int(c)


def hot_deploy_ms(host):
    with open(os.path.join(host.wasm, "test_hello_v2.wasm"), "rb") as f:
        body = f.read()
    token = open(os.path.join(host.workdir, "data", "admin.token")).read().strip()
    req = urllib.request.Request(f"http://127.0.0.1:{host.admin}/admin/components/hello", data=body, method="PUT",
                                 headers={"Authorization": f"Bearer {token}"})
    t0 = time.monotonic()
    with urllib.request.urlopen(req, timeout=60) as r:
        report = json.loads(r.read())
    while get(host.url("/hello/x"))[1] != "hello v2":
        pass
    return (time.monotonic() - t0) * 1e3, report


def machine():
    model = "unknown"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    return f"{os.cpu_count()} cores, {model}"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", required=True)
    ap.add_argument("--wasm", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--seconds", type=int, default=10)
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    load_start = open("/proc/loadavg").read().split()[:3]
    work = tempfile.mkdtemp(prefix="esignet-bench-")
    host = Host(args.bin, work, args.wasm)
    cold_wall, cold = host.start()
    host.stop()
    warm_wall, warm = host.start()
    get(host.url("/hello/x"))
    native, component = [], []
    for _ in range(args.rounds):
        native.append(wrk(host.url("/__bench/native"), args.seconds))
        component.append(wrk(host.url("/hello/x"), args.seconds))
    inst_us, inst_n = instantiation_us(host)
    deploy_ms, report = hot_deploy_ms(host)
    host.stop()
    load_end = open("/proc/loadavg").read().split()[:3]
    best_native = max(r[0] for r in native)
    best_component = max(r[0] for r in component)
    ratio = sum(c[0] / n[0] for c, n in zip(component, native)) / len(native)
    today = datetime.date.today().isoformat()
    rows = "\n".join(
        f"| {i + 1} | {n[0]:,.0f} (p99 {n[1]}) | {c[0]:,.0f} (p99 {c[1]}) | {c[0] / n[0]:.0%} | {n[2] + c[2]} |"
        for i, (n, c) in enumerate(zip(native, component)))
    section = f"""<!-- platform -->
## Host platform ({today})

Machine: {machine()}. Method: `scripts/bench` starts the release host with one trivial component (`test-hello-v1`,
answers `hello v1`) and the native benchmark route `/__bench/native` of the same binary (same hyper server, same
middleware: routing, metrics, in-flight gauge), then alternates `wrk -t2 -c32 -d{args.seconds}s` runs against each
({args.rounds} rounds; wrk shares the 2 cores with the host). Instantiation is the host's own histogram
(`esignet_instantiation_duration_seconds`, `Store::new` to a ready instance) over {inst_n:,} requests under that load.
Load average (1/5/15 min) at start {' '.join(load_start)}, at end {' '.join(load_end)} (the machine is shared).

| measure | result | target |
|---|---|---|
| per-request instantiation (mean, under load) | {inst_us:.1f} µs | ≤ 10 µs |
| trivial component route vs native handler (mean ratio of alternating runs) | {ratio:.0%} ({best_component:,.0f} vs {best_native:,.0f} req/s, best runs) | ≥ 30 % |
| start to ready, compile cache cold (host's own measure / wall incl. process start) | {cold:.0f} ms / {cold_wall:.0f} ms | — |
| start to ready, compile cache warm | {warm:.0f} ms / {warm_wall:.0f} ms | ≤ 1 s |
| hot deploy: PUT of a new version to first response from it | {deploy_ms:.0f} ms (compile {report['compile_ms']:.0f} ms, swap total {report['total_ms']:.0f} ms) | — |

| round | native req/s | component req/s | ratio | non-2xx |
|---|---|---|---|---|
{rows}
<!-- /platform -->"""
    text = open(args.out).read() if os.path.exists(args.out) else "# Benchmarks\n\nNumbers measured on this project's machine kind; each section says how and when.\n"
    if "<!-- platform -->" in text:
        text = re.sub(r"<!-- platform -->.*<!-- /platform -->", section, text, flags=re.S)
    else:
        text = text.rstrip() + "\n\n" + section + "\n"
    with open(args.out, "w") as f:
        f.write(text)
    print(section)
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
