"""Login benchmark: complete, verified eSignet logins against the release host (embedded backends, then
PostgreSQL + Redis + SoftHSM2), side by side with the oidc-provider peer (bench/peer), at concurrency 1, 8 and 32;
discovery and JWKS requests/s with wrk; start to ready of the real manifest; a perf profile of the host during
a c=8 run. The load driver is bench/ (`login-bench`, Rust). Results go into the `<!-- logins -->` section of
BENCHMARKS.md, and the raw JSON lines next to it in the work directory (printed at the end).

Every loop is bounded in count and time; every address is on loopback; every process started here is stopped
here (by its own pid)."""

from __future__ import annotations

import argparse
import collections
import datetime
import json
import os
import re
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_platform import free_port, machine, wrk  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
HEALTH = "/v1/esignet/actuator/health"
DEMO_ENV_DROP = ("ESIGNET_VAR_", "SPIN_VARIABLE_")
DEMO_ENV_KEYS = ("ESIGNET_ISSUER", "ESIGNET_RUNTIME_CONFIG", "ESIGNET_DEMO", "ESIGNET_LISTEN", "ESIGNET_ADMIN_LISTEN",
                 "ESIGNET_DATA_DIR", "ESIGNET_SQL_URL", "ESIGNET_CACHE_URL", "ESIGNET_PKCS11_MODULE",
                 "ESIGNET_PKCS11_TOKEN", "ESIGNET_PKCS11_PIN", "ESIGNET_PKCS11_PIN_FILE", "SOFTHSM2_CONF")


def log(msg: str) -> None:
    print(f"[bench-logins {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def loadavg() -> str:
    return " ".join(open("/proc/loadavg").read().split()[:3])


def tree_cpu_seconds(pid: int) -> float:
    """utime+stime of a process, of its reaped children, and of its live descendants (PostgreSQL's backends)."""
    tck = os.sysconf("SC_CLK_TCK")
    stats = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            raw = open(f"/proc/{entry}/stat").read()
        except OSError:
            continue
        fields = raw.rsplit(")", 1)[1].split()
        stats[int(entry)] = (int(fields[1]), [int(x) for x in fields[11:15]])  # ppid, utime stime cutime cstime
    total, todo, seen = 0.0, [pid], set()
    while todo:
        p = todo.pop()
        if p in seen or p not in stats:
            continue
        seen.add(p)
        u, st, cu, cs = stats[p][1]
        total += (u + st + cu + cs) / tck
        todo += [c for c, (pp, _) in stats.items() if pp == p]
    return total


def http_get(url: str, timeout: float = 2.0) -> tuple[int, str]:
    with urllib.request.urlopen(url, timeout=timeout) as r:
        return r.status, r.read().decode()


def wait_until(pred, seconds: float, what: str, proc: subprocess.Popen | None = None, logfile: Path | None = None):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            tail = logfile.read_text(errors="replace")[-3000:] if logfile and logfile.exists() else ""
            raise RuntimeError(f"{what}: process exited ({proc.returncode})\n{tail}")
        try:
            if pred():
                return
        except Exception:
            pass
        time.sleep(0.02)
    tail = logfile.read_text(errors="replace")[-3000:] if logfile and logfile.exists() else ""
    raise RuntimeError(f"{what}: not ready within {seconds:.0f} s\n{tail}")


def stop(proc: subprocess.Popen | None, sig=signal.SIGTERM, timeout: float = 30) -> None:
    if proc is None or proc.poll() is not None:
        return
    proc.send_signal(sig)
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=10)


# --------------------------------------------------------------------------------------------------------------
# Processes: the host, the peer, and the production backends
# --------------------------------------------------------------------------------------------------------------


class EsignetHost:
    def __init__(self, binary: Path, data_dir: Path, extra_env: dict[str, str]):
        self.binary, self.data_dir, self.extra_env = binary, data_dir, extra_env
        self.mock_token = secrets.token_urlsafe(24)
        self.proc: subprocess.Popen | None = None
        self.port = self.admin = 0
        self.pids: list[int] = []

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> dict:
        """Starts and waits for health; returns {wall_ms, reported_ms} (start to ready)."""
        self.data_dir.mkdir(parents=True, exist_ok=True)
        env = {k: v for k, v in os.environ.items() if not k.startswith(DEMO_ENV_DROP) and k not in DEMO_ENV_KEYS}
        env.update(self.extra_env)
        env["ESIGNET_VAR_MOCK_IDENTITY_ADMIN_TOKEN"] = self.mock_token
        self.port, self.admin = free_port(), free_port()
        self.logfile = self.data_dir / "host.log"
        offset = self.logfile.stat().st_size if self.logfile.exists() else 0
        out = open(self.logfile, "ab")
        t0 = time.monotonic()
        self.proc = subprocess.Popen(
            [str(self.binary), "up", "--manifest", str(ROOT / "spin.toml"), "--data-dir", str(self.data_dir),
             "--listen", f"127.0.0.1:{self.port}", "--admin-listen", f"127.0.0.1:{self.admin}"],
            cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        out.close()
        self.pids.append(self.proc.pid)

        def healthy():
            status, body = http_get(self.base + HEALTH, timeout=1)
            return status == 200 and json.loads(body).get("status") == "UP"

        wait_until(healthy, 180, "esignet host", self.proc, self.logfile)
        wall = (time.monotonic() - t0) * 1e3
        reported = None
        with open(self.logfile, "rb") as f:
            f.seek(offset)
            for line in f.read().decode(errors="replace").splitlines():
                if '"ready"' in line:
                    try:
                        reported = json.loads(line).get("start_to_ready_ms")
                    except ValueError:
                        pass
        return {"wall_ms": wall, "reported_ms": reported}

    @property
    def issuer(self) -> str:
        return json.loads((self.data_dir / "demo.json").read_text())["issuer"]

    def admin_token(self) -> str:
        out = subprocess.run([str(self.binary), "admin-token", "--admin", f"127.0.0.1:{self.admin}",
                              "--data-dir", str(self.data_dir)], capture_output=True, text=True, timeout=60,
                             cwd=ROOT, check=True)
        return out.stdout.strip().splitlines()[-1].strip()

    def stop(self) -> None:
        stop(self.proc, timeout=60)
        self.proc = None


class Peer:
    def __init__(self, work: Path):
        self.work = work
        self.proc: subprocess.Popen | None = None

    def start(self) -> None:
        peer_dir = ROOT / "bench" / "peer"
        if not (peer_dir / "node_modules" / "oidc-provider").exists():
            subprocess.run(["npm", "ci", "--no-audit", "--no-fund", "--silent"], cwd=peer_dir, check=True, timeout=600)
        self.port = free_port()
        self.target = self.work / "peer.json"
        self.logfile = self.work / "peer.log"
        out = open(self.logfile, "ab")
        self.proc = subprocess.Popen(["node", "server.js", "--port", str(self.port), "--out", str(self.target)],
                                     cwd=peer_dir, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                     env={**os.environ, "NODE_ENV": "production"})
        out.close()
        wait_until(lambda: self.target.exists() and self.target.stat().st_size > 0, 60, "peer", self.proc,
                   self.logfile)
        self.version = json.loads((peer_dir / "node_modules" / "oidc-provider" / "package.json").read_text())["version"]
        self.node = subprocess.run(["node", "--version"], capture_output=True, text=True).stdout.strip()

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def stop(self) -> None:
        stop(self.proc)
        self.proc = None


class ProductionBackends:
    """A private PostgreSQL cluster, a Redis server and a SoftHSM2 token, all in the work dir, on loopback."""

    def __init__(self, work: Path):
        self.work = work
        self.pg: subprocess.Popen | None = None
        self.redis: subprocess.Popen | None = None

    def start(self) -> dict[str, str]:
        pgdata = self.work / "pg"
        pgdata.mkdir(parents=True)
        as_pg = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        if as_pg:  # PostgreSQL refuses to run as root: its cluster belongs to the postgres user
            for d in [self.work, *self.work.parents]:
                if d == Path("/var/tmp") or d == Path("/"):
                    break
                d.chmod(d.stat().st_mode | 0o711)  # traversable (not listable) by postgres
            shutil.chown(pgdata, "postgres", "postgres")
        bindir = Path(subprocess.run(["pg_config", "--bindir"], capture_output=True, text=True).stdout.strip() or
                      "/usr/lib/postgresql/15/bin")
        initdb = bindir / "initdb" if (bindir / "initdb").exists() else Path(shutil.which("initdb") or "initdb")
        postgres = bindir / "postgres" if (bindir / "postgres").exists() else Path(shutil.which("postgres") or "postgres")
        subprocess.run(as_pg + [str(initdb), "-D", str(pgdata), "-A", "trust", "-U", "bench", "--no-sync"],
                       check=True, capture_output=True, timeout=120)
        self.pg_port = free_port()
        pglog = open(self.work / "pg.log", "ab")
        self.pg = subprocess.Popen(
            as_pg + [str(postgres), "-D", str(pgdata), "-p", str(self.pg_port), "-h", "127.0.0.1", "-k", str(pgdata),
                     "-c", "fsync=on", "-c", "max_connections=200", "-c", "shared_buffers=128MB"],
            stdout=pglog, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        pglog.close()
        wait_until(lambda: subprocess.run(["pg_isready", "-h", "127.0.0.1", "-p", str(self.pg_port)],
                                          capture_output=True).returncode == 0, 60, "postgres", self.pg,
                   self.work / "pg.log")
        subprocess.run(["psql", "-h", "127.0.0.1", "-p", str(self.pg_port), "-U", "bench", "-d", "postgres", "-qc",
                        "CREATE DATABASE esignet"], check=True, capture_output=True, timeout=60)
        self.redis_port = free_port()
        rlog = open(self.work / "redis.log", "ab")
        self.redis = subprocess.Popen(
            ["redis-server", "--port", str(self.redis_port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
             "--dir", str(self.work)], stdout=rlog, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        rlog.close()
        wait_until(lambda: subprocess.run(["redis-cli", "-p", str(self.redis_port), "ping"], capture_output=True,
                                          text=True).stdout.strip() == "PONG", 30, "redis", self.redis,
                   self.work / "redis.log")
        exports = subprocess.run([str(ROOT / "scripts" / "softhsm-init"), str(self.work / "hsm")], check=True,
                                 capture_output=True, text=True, timeout=60).stdout
        env = {}
        for line in exports.splitlines():
            m = re.match(r"export (\w+)=(.*)$", line.strip())
            if m:
                env[m.group(1)] = subprocess.run(["bash", "-c", f"printf %s {m.group(2)}"], capture_output=True,
                                                 text=True).stdout
        env["ESIGNET_SQL_URL"] = f"postgres://bench@127.0.0.1:{self.pg_port}/esignet"
        env["ESIGNET_CACHE_URL"] = f"redis://127.0.0.1:{self.redis_port}/0"
        self.describe = (f"PostgreSQL {self.pg_version()} (private cluster, fsync on), Redis "
                         f"{self.redis_version()} (no persistence), SoftHSM2 token via PKCS#11")
        return env

    def counters(self) -> dict[str, int]:
        """Work the backends did so far: PostgreSQL transactions (committed + rolled back, all databases; each
        statement outside an explicit transaction is one) and Redis commands processed."""
        pg = subprocess.run(["psql", "-h", "127.0.0.1", "-p", str(self.pg_port), "-U", "bench", "-d", "postgres",
                             "-tAc", "SELECT sum(xact_commit + xact_rollback) FROM pg_stat_database"],
                            capture_output=True, text=True, timeout=30).stdout.strip()
        info = subprocess.run(["redis-cli", "-p", str(self.redis_port), "INFO", "stats"], capture_output=True,
                              text=True, timeout=30).stdout
        m = re.search(r"total_commands_processed:(\d+)", info)
        return {"pg_xacts": int(pg or 0), "redis_commands": int(m.group(1)) if m else 0}

    def pg_version(self) -> str:
        out = subprocess.run(["psql", "-h", "127.0.0.1", "-p", str(self.pg_port), "-U", "bench", "-d", "postgres",
                              "-tAc", "SHOW server_version"], capture_output=True, text=True)
        return out.stdout.strip().split()[0] if out.stdout.strip() else "?"

    def redis_version(self) -> str:
        out = subprocess.run(["redis-server", "--version"], capture_output=True, text=True).stdout
        m = re.search(r"v=([\d.]+)", out)
        return m.group(1) if m else "?"

    def stop(self) -> None:
        stop(self.redis)
        if self.pg is not None and self.pg.poll() is None:
            stop(self.pg, sig=signal.SIGINT, timeout=60)  # fast shutdown
        self.pg = self.redis = None


# --------------------------------------------------------------------------------------------------------------
# The driver
# --------------------------------------------------------------------------------------------------------------


class Driver:
    def __init__(self, binary: Path, seconds: float, clk_tck: int):
        self.binary, self.seconds, self.clk_tck = binary, seconds, clk_tck
        self.lines: list[dict] = []
        self.backend_pids: dict[str, int] = {}  # name -> pid whose process tree's CPU is counted per run
        self.backend_counters = None  # () -> {counter: value} of the production backends, read around each run

    def run(self, kind: str, target: Path, pid: int, levels: list[int], first_pass: int = 0, label: str = "",
            seconds: float | None = None) -> list[dict]:
        cmd = [str(self.binary), "run", "--kind", kind, "--target", str(target), "--pid", str(pid),
               "--clk-tck", str(self.clk_tck), "--seconds", str(seconds or self.seconds),
               "--levels", ",".join(map(str, levels)) if levels else "0"]
        if first_pass:
            cmd += ["--first-pass", str(first_pass)]
        budget = (seconds or self.seconds) * max(1, len(levels)) + 660
        backends = dict(self.backend_pids) if kind == "esignet" else {}
        counters = self.backend_counters if kind == "esignet" else None
        before = {name: tree_cpu_seconds(p) for name, p in backends.items()}
        ops_before = counters() if counters else None
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=budget)
        ops_after = counters() if counters else None
        after = {name: tree_cpu_seconds(p) for name, p in backends.items()}
        if out.returncode != 0:
            raise RuntimeError(f"login-bench failed ({out.returncode}): {out.stderr[-3000:]}")
        results = [json.loads(line) for line in out.stdout.splitlines() if line.startswith("{")]
        for r in results:
            if backends and len(results) == 1:
                r["backend_cpu_s"] = {name: after[name] - before[name] for name in backends}
            if ops_before is not None and len(results) == 1:
                r["backend_ops"] = {k: ops_after[k] - ops_before[k] for k in ops_after}
            r["label"] = label
            r["date"] = datetime.datetime.now().isoformat(timespec="seconds")
            log(f"{label:>10} {r['kind']:>7} {r['phase']:>10} c={r['concurrency']:<3} "
                f"{r['flows_per_s']:8.1f} flows/s  errors {r['errors']}  cpu/flow "
                f"{(r['server_cpu_ms_per_flow'] or 0):.2f} ms  load {r['load_before']}")
            if r["errors"]:
                log(f"  first errors: {r['first_errors']}")
        self.lines.extend(results)
        return results


def perf_profile(pid: int, driver: Driver, target: Path, work: Path, seconds: float) -> dict | None:
    """perf record (DWARF call graphs) on the host during a c=8 run; samples classified by stack."""
    if shutil.which("perf") is None:
        return None
    data = work / "perf.data"
    rec = subprocess.Popen(["perf", "record", "-F", "199", "--call-graph", "dwarf,16384", "-p", str(pid), "-o",
                            str(data)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(0.5)
    try:
        run = driver.run("esignet", target, pid, [8], label="perf", seconds=seconds)
    finally:
        stop(rec, sig=signal.SIGINT, timeout=120)
    script = subprocess.run(["perf", "script", "-i", str(data), "-F", "comm,tid,ip,sym,dso"], capture_output=True,
                            text=True, timeout=900).stdout
    return {"run": run[0] if run else None, **classify(script)}


# Buckets, checked in order against every frame of a sample's stack (first match wins): where a login's host
# CPU goes. Frames are "symbol (dso)".
BUCKETS = [
    ("JWK parsing into OpenSSL keys",
     r"signer_from_jwk|verifier_from_jwk|from_jwk|private_key_from_der|public_key_from_der|OSSL_DECODER"),
    ("JWS signing (RSA-2048 private-key operations)", r"backends::jose::sign|Pkcs11KeyStore.*sign|C_Sign|sign_jws"),
    ("JWS verification", r"backends::jose::verify|verify_own"),
    ("JWE", r"backends::jose::(en|de)crypt"),
    ("SQL (host glue + SQLite / PostgreSQL client)", r"rusqlite|sqlite3|tokio_postgres|deadpool|postgres::|platform::sql"),
    ("cache (host glue + memory / Redis client)", r"memory_cache|redis|platform::cache"),
    ("audit and logging (tracing, JSON lines)", r"tracing_subscriber|tracing_core|platform::audit"),
    ("instantiation (Store::new, instance set-up)", r"instantiate|InstancePre|Store<.*>::new|allocate_memor|"
                                                    r"allocate_module|allocate_tables"),
    ("store teardown (memory reset)", r"StoreOpaque as core::ops::drop|deallocate"),
    ("plugin guest code (mock identity: send-otp, kyc-auth, kyc-exchange)", r"caps::authenticator"),
    ("other host calls (WASI, config, component ABI)", r"wasmtime_wasi|wasi::|bindings::|caps::|func::host"),
    ("guest code and component ABI (oidc, ui components)", r"perf-\d+\.map|wasm\[\d+\]|wasm-function"),
    ("HTTP server (hyper) and sockets", r"hyper::|mio::|tcp_|sock_|__sys_|do_writev|do_readv|__x64_sys_(write|read|recv|send)"),
    ("tokio scheduling and wakeups", r"tokio::runtime|futex|schedule|finish_task_switch"),
]


def classify(script: str) -> dict:
    samples = collections.Counter()
    leaf_symbols = collections.Counter()
    guest = collections.Counter()
    total = 0
    host_threads = 0
    for block in script.split("\n\n"):
        lines = [l.strip() for l in block.strip().splitlines() if l.strip()]
        if len(lines) < 2:
            continue
        total += 1
        frames = lines[1:]
        leaf = re.sub(r"^[0-9a-f]+\s+", "", frames[0])
        leaf_symbols[re.sub(r"\+0x[0-9a-f]+", "", leaf)[:140]] += 1
        stack = "\n".join(frames)
        if re.search(r"perf-\d+\.map", frames[0]):  # the sample executes JIT code: guest or trampoline
            guest[re.sub(r"^[0-9a-f]+\s+", "", frames[0]).rsplit(" (", 1)[0][:140]] += 1
        for name, pattern in BUCKETS:
            if re.search(pattern, stack):
                samples[name] += 1
                break
        else:
            samples["other (allocator, libc, kernel, unresolved)"] += 1
    return {
        "samples": total,
        "buckets": [(name, n, n / total if total else 0) for name, n in samples.most_common()],
        "top_leaves": [(sym, n, n / total if total else 0) for sym, n in leaf_symbols.most_common(15)],
        "top_guest": [(sym, n, n / total if total else 0) for sym, n in guest.most_common(15)],
        "jit_leaf_share": sum(guest.values()) / total if total else 0,
    }


# --------------------------------------------------------------------------------------------------------------
# One backend set
# --------------------------------------------------------------------------------------------------------------


def run_backend_set(name: str, args, work: Path, host_bin: Path, driver: Driver, peer: Peer, extra_env: dict,
                    describe: str, do_profile: bool) -> dict:
    data_dir = work / f"host-{name}"
    host = EsignetHost(host_bin, data_dir, extra_env)
    result: dict = {"name": name, "describe": describe}
    try:
        log(f"{name}: starting the host (compile cache cold)")
        result["start_cold"] = host.start()
        host.stop()
        log(f"{name}: restarting (compile cache warm)")
        result["start_warm"] = host.start()
        result["start_load"] = loadavg()
        token = host.admin_token()
        target = work / f"esignet-{name}.json"
        t0 = time.monotonic()
        out = subprocess.run([str(driver.binary), "setup", "--issuer", host.issuer, "--admin-token", token,
                              "--mock-admin-token", host.mock_token, "--identities", str(args.identities), "--out",
                              str(target)], capture_output=True, text=True, timeout=900)
        if out.returncode != 0:
            raise RuntimeError(f"setup failed: {out.stderr[-2000:]}")
        log(f"{name}: {out.stdout.strip()} in {time.monotonic() - t0:.1f} s")
        pid = host.proc.pid
        result["first_pass"] = driver.run("esignet", target, pid, [], first_pass=args.identities, label=name)
        if name == "embedded" or args.peer_each:
            driver.run("peer", peer.target, peer.proc.pid, [], first_pass=args.identities, label=name)
        result["levels"] = []
        for c in args.levels:
            ours = driver.run("esignet", target, pid, [c], label=name)[0]
            theirs = driver.run("peer", peer.target, peer.proc.pid, [c], label=name)[0]
            result["levels"].append((ours, theirs))
        if name == "embedded":
            result["wrk"] = {}
            disc = f"{host.issuer}/.well-known/openid-configuration"
            jwks = json.loads(http_get(disc)[1])["jwks_uri"]
            for label, url in [("esignet discovery", disc), ("esignet JWKS", jwks),
                               ("peer discovery", f"{peer.base}/.well-known/openid-configuration"),
                               ("peer JWKS", f"{peer.base}/jwks")]:
                load = loadavg()
                rps, p99, errors = wrk(url, args.wrk_seconds)
                result["wrk"][label] = {"rps": rps, "p99": p99, "errors": errors, "load": load}
                log(f"{name}: wrk {label}: {rps:,.0f} req/s p99 {p99} (load {load})")
        if do_profile:
            log(f"{name}: perf profile of a c=8 run")
            result["profile"] = perf_profile(pid, driver, target, work, args.profile_seconds)
        with open(f"/proc/{pid}/status") as f:
            status = f.read()
        result["vmhwm_kb"] = int(re.search(r"VmHWM:\s+(\d+)", status).group(1))
    finally:
        host.stop()
        for p in host.pids:
            Path(f"/tmp/perf-{p}.map").unlink(missing_ok=True)
    return result


# --------------------------------------------------------------------------------------------------------------
# Report
# --------------------------------------------------------------------------------------------------------------


def ms(v) -> str:
    return "—" if v is None else (f"{v:.2f}" if v < 10 else f"{v:.1f}")


def level_table(result: dict) -> str:
    rows = ["| c | eSignet flows/s | peer flows/s | ratio | eSignet host CPU ms/flow (cores used) | peer CPU ms/flow "
            "(cores used) | eSignet flow p50 / p99 ms | peer flow p50 / p99 ms | errors (ours/peer) | load before |",
            "|---|---|---|---|---|---|---|---|---|---|"]
    has_backends = any(o.get("backend_cpu_s") for o, _ in result["levels"])
    has_ops = any(o.get("backend_ops") for o, _ in result["levels"])
    if has_backends:
        rows[0] = rows[0].replace(" | peer CPU ms/flow", " | PostgreSQL + Redis CPU ms/flow | peer CPU ms/flow")
        rows[1] += "---|"
    if has_ops:
        rows[0] = rows[0].replace(" | peer CPU ms/flow", " | PostgreSQL transactions / Redis commands per flow"
                                  " | peer CPU ms/flow")
        rows[1] += "---|"
    for ours, theirs in result["levels"]:
        ratio = ours["flows_per_s"] / theirs["flows_per_s"] if theirs["flows_per_s"] else float("nan")
        backend = ""
        if has_backends:
            b = ours.get("backend_cpu_s") or {}
            n = max(ours["flows"], 1)
            parts = " + ".join(f"{k} {v * 1e3 / n:.2f}" for k, v in b.items())
            backend = f"{sum(b.values()) * 1e3 / n:.2f} ({parts}) | "
        if has_ops:
            o = ours.get("backend_ops") or {}
            n = max(ours["flows"], 1)
            backend += f"{o.get('pg_xacts', 0) / n:.1f} / {o.get('redis_commands', 0) / n:.1f} | "
        rows.append(
            f"| {ours['concurrency']} | {ours['flows_per_s']:,.0f} | {theirs['flows_per_s']:,.0f} | **{ratio:.2f}×** | "
            f"{ours['server_cpu_ms_per_flow']:.2f} ({ours['server_cores_used']:.2f}) | {backend}"
            f"{theirs['server_cpu_ms_per_flow']:.2f} ({theirs['server_cores_used']:.2f}) | "
            f"{ms(ours['flow']['p50_ms'])} / {ms(ours['flow']['p99_ms'])} | "
            f"{ms(theirs['flow']['p50_ms'])} / {ms(theirs['flow']['p99_ms'])} | {ours['errors']}/{theirs['errors']} | "
            f"{ours['load_before']} |")
    return "\n".join(rows)


def step_table(result: dict) -> str:
    levels = result["levels"]
    steps = list(levels[0][0]["steps"].keys())
    id_steps = set(levels[0][0].get("id_system_steps", []))
    head = "| step | " + " | ".join(f"c={o['concurrency']} p50 / p99 ms" for o, _ in levels) + " |"
    rows = [head, "|---|" + "---|" * len(levels)]
    for s in steps:
        mark = " (ID system)" if s in id_steps else ""
        rows.append(f"| {s}{mark} | " + " | ".join(
            f"{ms(o['steps'][s].get('p50_ms'))} / {ms(o['steps'][s].get('p99_ms'))}" for o, _ in levels) + " |")
    psteps = list(levels[0][1]["steps"].keys())
    rows.append("| *peer:* | " + " | ".join("" for _ in levels) + " |")
    for s in psteps:
        rows.append(f"| peer {s} | " + " | ".join(
            f"{ms(t['steps'][s].get('p50_ms'))} / {ms(t['steps'][s].get('p99_ms'))}" for _, t in levels) + " |")
    return "\n".join(rows)


def targets(results: dict[str, dict]) -> list[tuple[str, str, str, bool | None]]:
    out = []
    emb = results.get("embedded")
    prod = results.get("production")
    if emb and emb.get("levels"):
        ratios = [o["flows_per_s"] / t["flows_per_s"] for o, t in emb["levels"]]
        out.append(("embedded flows/s ≥ 2 × peer (every level)", ", ".join(f"{r:.2f}×" for r in ratios), "≥ 2×",
                    min(ratios) >= 2))
        c32 = [o for o, _ in emb["levels"] if o["concurrency"] == 32]
        if c32:
            o = c32[0]
            quiet = {k: v for k, v in o["steps"].items() if k not in set(o.get("id_system_steps", []))}
            worst = max(quiet.items(), key=lambda kv: kv[1].get("p99_ms") or 0)
            out.append(("p99 of steps not waiting on the ID system, c=32 (embedded)",
                        f"worst {worst[0]} {ms(worst[1]['p99_ms'])} ms", "≤ 10 ms", worst[1]["p99_ms"] <= 10))
        peak = max([emb.get("vmhwm_kb", 0)] + [o["server_vmhwm_kb"] or 0 for o, _ in emb["levels"]]) / 1024
        out.append(("host peak RSS (VmHWM) under load, embedded", f"{peak:.0f} MB", "≤ 150 MB", peak <= 150))
        warm = emb["start_warm"]
        out.append(("start to ready, real manifest, compile cache warm (host's measure / wall)",
                    f"{ms(warm['reported_ms'])} ms / {warm['wall_ms']:.0f} ms", "≤ 1 s",
                    (warm["reported_ms"] or warm["wall_ms"]) <= 1000))
    if prod and prod.get("levels"):
        ratios = [o["flows_per_s"] / t["flows_per_s"] for o, t in prod["levels"]]
        out.append(("PostgreSQL + Redis + SoftHSM2 flows/s ≥ 1 × peer (every level)",
                    ", ".join(f"{r:.2f}×" for r in ratios), "≥ 1×", min(ratios) >= 1))
        peak = max([prod.get("vmhwm_kb", 0)] + [o["server_vmhwm_kb"] or 0 for o, _ in prod["levels"]]) / 1024
        out.append(("host peak RSS, production backends", f"{peak:.0f} MB", "≤ 150 MB", peak <= 150))
    elif prod and prod.get("error"):
        out.append(("PostgreSQL + Redis + SoftHSM2 flows/s ≥ 1 × peer", "not measured: " + prod["error"][:200],
                    "≥ 1×", None))
    return out


def profile_section(profile: dict | None) -> str:
    if not profile:
        return "No profile (perf not available)."
    rows = ["| where (first matching frame of the sample's stack) | samples | share |", "|---|---|---|"]
    for name, n, share in profile["buckets"]:
        rows.append(f"| {name} | {n} | {share:.0%} |")
    leaves = ["| leaf symbol | share |", "|---|---|"]
    for sym, n, share in profile["top_leaves"][:12]:
        leaves.append(f"| `{sym.replace('|', '/')}` | {share:.1%} |")
    named = [(sym, n, share) for sym, n, share in profile.get("top_guest", [])
             if not re.fullmatch(r"\[unknown\]|wasm\[\d+\]::function\[\d+\]", sym)]
    guest = [f"{profile.get('jit_leaf_share', 0):.0%} of all samples execute JIT code (guest functions and "
             "component trampolines). Guest functions are unnamed: the product components are built stripped, so "
             "wasmtime's perf map (`ESIGNET_PERF_MAP=1`) only has `wasm[N]::function[M]` for them."]
    if any(share >= 0.01 for _, _, share in named):
        guest += ["", "| named JIT function (leaf) | share of all samples |", "|---|---|"]
        guest += [f"| `{sym.replace('|', '/')}` | {share:.1%} |" for sym, _, share in named[:8] if share >= 0.01]
    run = profile.get("run") or {}
    return (f"{profile['samples']:,} samples at 199 Hz with DWARF call graphs over a c=8 run "
            f"({run.get('flows_per_s', 0):,.0f} flows/s under perf, load {run.get('load_before', '?')}).\n\n"
            + "\n".join(rows) + "\n\nHottest leaf functions:\n\n" + "\n".join(leaves)
            + "\n\nJIT code:\n\n"
            + "\n".join(guest))


def write_section(out: Path, results: dict[str, dict], peer: Peer, args, platform_note: str) -> str:
    today = datetime.date.today().isoformat()
    emb = results.get("embedded", {})
    prod = results.get("production", {})
    lines = [f"<!-- logins -->", f"## Complete logins, side by side with oidc-provider ({today})", ""]
    lines += [
        f"Machine: {machine()}, shared with other engineers' builds (load average noted per row). Peer: "
        f"oidc-provider {peer.version} on Node.js {peer.node} (`bench/peer`, in-memory adapter, one private_key_jwt "
        f"ES256 client, PKCE required, RS256 ID tokens and signed userinfo, headless login + consent interaction).",
        "",
        "Method: `./scripts/bench` (or `./scripts/bench --logins` for this section alone) starts the release host "
        "on the real `spin.toml` with a chosen backend set, registers a private_key_jwt ES256 client with "
        f"`require_pkce`, creates {args.identities} identities through the mock identity admin API, and drives "
        "complete logins with `login-bench` (Rust, `bench/`: tokio + hyper client on one thread, josekit) — the "
        "same driver for the peer. An eSignet login is authorize (302 to the login page) → csrf → oauth-details "
        "(+ `oauth-details-hash`) → send-otp → authenticate (OTP) → auth-code → token (private_key_jwt + PKCE) → "
        "userinfo; the peer's is authorize → interaction (login + consent) → resume (code) → token → userinfo. "
        "Every flow checks state, the ID token's signature against the JWKS, iss, aud, nonce, at_hash (when "
        "present), exp, and the signed userinfo's signature, iss, aud and sub. Step times are round trips; the "
        "relying party's JOSE work is outside them. Each browser is new per login (fresh cookies, one keep-alive "
        "connection per virtual user). Levels alternate eSignet/peer at the same concurrency, "
        f"{args.seconds:.0f} s each. Host CPU is utime+stime of the process over the level "
        "(/proc/<pid>/stat); peak RSS is VmHWM.",
        "",
        f"Consent: the first pass logs every identity in once (consentAction CAPTURE, claims accepted); the "
        f"measured levels are all NOCAPTURE (stored consent), which is what a returning citizen does. The peer "
        f"creates a grant in every interaction.",
        "",
    ]
    if platform_note:
        lines += [platform_note, ""]
    lines += ["### Targets", "", "| target | measured | goal | met |", "|---|---|---|---|"]
    for what, measured, goal, met in targets(results):
        lines.append(f"| {what} | {measured} | {goal} | {'yes' if met else ('**no**' if met is False else 'pending')} |")
    lines.append("")
    for name, res in [("embedded", emb), ("production", prod)]:
        if not res:
            continue
        lines += [f"### {name.capitalize()} backends: {res.get('describe', '')}", ""]
        if res.get("error"):
            lines += [f"Not measured: {res['error']}", ""]
            continue
        fp = res.get("first_pass") or []
        if fp:
            f0 = fp[0]
            lines += [f"First pass (CAPTURE, c={f0['concurrency']}): {f0['flows']} logins, "
                      f"{f0['flows_per_s']:,.0f} flows/s, host CPU {f0['server_cpu_ms_per_flow']:.2f} ms/flow, "
                      f"errors {f0['errors']}.", ""]
        sc, sw = res["start_cold"], res["start_warm"]
        lines += [f"Start to ready (real manifest, 5 components): compile cache cold {ms(sc['reported_ms'])} ms "
                  f"(wall {sc['wall_ms']:.0f} ms), warm {ms(sw['reported_ms'])} ms (wall {sw['wall_ms']:.0f} ms), "
                  f"load {res.get('start_load', '?')}.", ""]
        lines += [level_table(res), "", "Per step (eSignet, then the peer):", "", step_table(res), ""]
        o8 = [o for o, _ in res["levels"]]
        drv = max(o["driver_cores_used"] for o in o8)
        lines += [f"Driver CPU: at most {drv:.2f} of a core in any eSignet level.", ""]
        if res.get("wrk"):
            lines += ["Discovery and JWKS (`wrk -t2 -c32`, "
                      f"{args.wrk_seconds} s each; wrk shares the 2 cores):", "",
                      "| endpoint | req/s | p99 | non-2xx | load before |", "|---|---|---|---|---|"]
            for label, w in res["wrk"].items():
                lines.append(f"| {label} | {w['rps']:,.0f} | {w['p99']} | {w['errors']} | {w['load']} |")
            lines.append("")
        if res.get("profile"):
            lines += ["#### Where a login's host CPU goes (perf)", "", profile_section(res["profile"]), ""]
    lines.append("<!-- /logins -->")
    section = "\n".join(lines)
    text = out.read_text() if out.exists() else "# Benchmarks\n\nNumbers measured on this project's machine kind; each section says how and when.\n"
    # Only the generated block is replaced; hand-written notes after it (<!-- logins-notes -->) stay.
    if "<!-- logins -->" in text:
        text = re.sub(r"<!-- logins -->.*<!-- /logins -->", lambda _: section, text, flags=re.S)
    else:
        text = text.rstrip() + "\n\n" + section + "\n"
    out.write_text(text)
    return section


def platform_summary(out: Path) -> str:
    """The platform section's headline numbers (written by bench_platform.py in the same `scripts/bench` run)."""
    if not out.exists():
        return ""
    m = re.search(r"<!-- platform -->\n## Host platform \(([^)]*)\)(.*?)<!-- /platform -->", out.read_text(), flags=re.S)
    if not m:
        return ""
    get = lambda label: (re.search(rf"\| {re.escape(label)}[^|]*\| ([^|]+) \|", m.group(2)) or [None, "?"])[1].strip()
    return (f"Platform numbers (section *Host platform*, {m.group(1)}): per-request instantiation "
            f"{get('per-request instantiation')}; trivial component route vs native handler "
            f"{get('trivial component route vs native handler')}; start to ready (trivial manifest, warm) "
            f"{get('start to ready, compile cache warm')}; hot deploy {get('hot deploy')}.")


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--bin", help="the esignet host binary (copied before use)")
    ap.add_argument("--driver", help="the login-bench binary")
    ap.add_argument("--out", required=True, help="BENCHMARKS.md")
    ap.add_argument("--seconds", type=float, default=15.0, help="time bound of each level")
    ap.add_argument("--levels", default="1,8,32")
    ap.add_argument("--identities", type=int, default=200)
    ap.add_argument("--wrk-seconds", type=int, default=8)
    ap.add_argument("--profile-seconds", type=float, default=10.0)
    ap.add_argument("--backends", default="embedded,production", help="embedded, production or both")
    ap.add_argument("--no-profile", action="store_true")
    ap.add_argument("--peer-each", action="store_true", help="also give the peer a first pass before production")
    ap.add_argument("--keep", action="store_true", help="keep the work directory")
    ap.add_argument("--render", metavar="SUMMARY_JSON", help="only rewrite the section from a saved summary.json")
    args = ap.parse_args()
    args.levels = [int(c) for c in args.levels.split(",") if c]
    if args.render:
        saved = json.loads(Path(args.render).read_text())
        meta = saved["meta"]
        peer = Peer(Path(args.render).parent)
        peer.version, peer.node = meta["peer_version"], meta["node"]
        for k in ("identities", "seconds", "wrk_seconds"):
            setattr(args, k, meta[k])
        print(write_section(Path(args.out), saved["results"], peer, args, platform_summary(Path(args.out))))
        return
    work = Path(tempfile.mkdtemp(prefix="esignet-bench-logins-", dir="/var/tmp"))
    host_bin = work / "esignet"
    shutil.copy2(args.bin, host_bin)  # perf resolves symbols even if the build tree's binary is replaced meanwhile
    driver = Driver(Path(args.driver), args.seconds, os.sysconf("SC_CLK_TCK"))
    peer = Peer(work)
    results: dict[str, dict] = {}
    log(f"work dir {work}; load {loadavg()}")
    prod_backends = None
    try:
        peer.start()
        for name in [b.strip() for b in args.backends.split(",") if b.strip()]:
            if name == "embedded":
                # ESIGNET_PERF_MAP=1: wasmtime writes /tmp/perf-<pid>.map (written at compile/load only) so
                # that perf names guest functions; removed after the run.
                env = {} if args.no_profile else {"ESIGNET_PERF_MAP": "1"}
                results[name] = run_backend_set(name, args, work, host_bin, driver, peer, env,
                                                "SQLite, in-process cache, soft keystore", not args.no_profile)
            elif name == "production":
                prod_backends = ProductionBackends(work / "prod")
                try:
                    env = prod_backends.start()
                    if not args.no_profile:
                        env["ESIGNET_PERF_MAP"] = "1"
                    driver.backend_pids = {"postgres": prod_backends.pg.pid, "redis": prod_backends.redis.pid}
                    driver.backend_counters = prod_backends.counters
                    results[name] = run_backend_set(name, args, work, host_bin, driver, peer, env,
                                                    prod_backends.describe, not args.no_profile)
                    driver.backend_pids = {}
                    driver.backend_counters = None
                except Exception as e:  # reported, not fatal: the embedded numbers stand
                    log(f"production backends: {e}")
                    results[name] = {"error": str(e).splitlines()[0] if str(e) else repr(e),
                                     "describe": "PostgreSQL + Redis + SoftHSM2"}
                finally:
                    prod_backends.stop()
            else:
                raise SystemExit(f"unknown backend set {name}")
    finally:
        peer.stop()
        if prod_backends:
            prod_backends.stop()
        raw = work / "results.jsonl"
        with open(raw, "w") as f:
            for line in driver.lines:
                f.write(json.dumps(line) + "\n")
        meta = {"peer_version": getattr(peer, "version", "?"), "node": getattr(peer, "node", "?"),
                "identities": args.identities, "seconds": args.seconds, "wrk_seconds": args.wrk_seconds}
        with open(work / "summary.json", "w") as f:
            json.dump({"meta": meta, "results": results}, f, indent=1, default=str)
    section = write_section(Path(args.out), results, peer, args, platform_summary(Path(args.out)))
    print(section)
    log(f"raw results: {raw}")
    if not args.keep:  # keep the results, drop the bulk (perf data, binary, databases, keystores, HSM token)
        for p in [work / "perf.data", work / "perf.data.old", host_bin]:
            p.unlink(missing_ok=True)
        for d in [work / "prod", *work.glob("host-*")]:
            shutil.rmtree(d, ignore_errors=True)


if __name__ == "__main__":
    main()
