"""Scale-out simulation: `esignet up` replicas behind haproxy under a bounded load of complete logins.

`run` in this folder creates the shared backends (PostgreSQL database, Redis logical db, SoftHSM2 token) and calls
this script with them in the environment:

    ESIGNET_BIN         the host binary
    SCALEOUT_SQL_URL    postgres://…/<database>        SCALEOUT_CACHE_URL  redis://…/<db>
    SOFTHSM2_CONF, ESIGNET_PKCS11_MODULE, ESIGNET_PKCS11_TOKEN, ESIGNET_PKCS11_PIN
    SCALEOUT_WORK       a directory for logs, data dirs and the haproxy configuration (and `pids`, which run
                        reads to kill what is left if this script dies)
    SCALEOUT_REPORT     where the JSON report goes
    SCALEOUT_WORKERS (8), SCALEOUT_PHASE_SECONDS (8): the load's concurrency and each measured window

The replicas share one public issuer (haproxy's URL) and the backends; haproxy checks GET /v1/esignet/actuator/health
every 200 ms. SCALEOUT_WORKERS threads each run complete logins through haproxy without pause (oauth-details →
send-otp → authenticate → auth-code → token with private_key_jwt + PKCE → userinfo; ID token and userinfo verified
against the JWKS), then replay the code, which must give invalid_grant. Every request is recorded (start, end,
status, the server haproxy chose — its X-Served-By header). With the load running throughout:

  1. steady state, three replicas (r1, r2, r3);
  2. r1 gets SIGTERM: it answers DOWN to health checks while still serving, haproxy moves away, r1 drains and
     exits 0 — no request may fail;
  3. r2 gets SIGKILL: only requests in flight at r2 while it died may fail (from kill() until the process is
     reaped the kernel still holds its sockets: it unmaps the process's memory before it closes its files, so
     connections accepted meanwhile die unanswered too — a few tens of ms);
  4. r4 starts; haproxy's checks bring it in once it is ready; it must serve requests and none may fail.

Then: every failed login is started again from scratch and must succeed; no authorization code was redeemed more
than once (every replay or retry of a redeemed code answered invalid_grant). The report has logins/s before and
after each event, failures per event, and requests per replica (from X-Served-By and from haproxy's stats socket).
Exit status 0 when every assertion holds.
"""

from __future__ import annotations

import csv
import io
import json
import os
import random
import secrets
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.parse
import uuid
from pathlib import Path

import requests
from joserfc import jwt
from joserfc.jwk import KeySet

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests" / "blackbox"))
# Pure helpers of the black-box suite: oidc-ui's hash, PKCE, envelopes, the OTP challenge, setup calls.
from conftest import (COMPILE_CACHE, DEMO_OTP, HEALTH, JWT_BEARER, OP, PREFIX, at_hash,  # noqa: E402
                      challenge_for, jwt_parts, envelope, oauth_details_request, pkce_pair, random_text, ui_hash)

WORK = Path(os.environ["SCALEOUT_WORK"])
REPORT = Path(os.environ.get("SCALEOUT_REPORT", "/tmp/esignet-scaleout.json"))
BIN = os.environ["ESIGNET_BIN"]
WORKERS = int(os.environ.get("SCALEOUT_WORKERS", "8"))
PHASE = float(os.environ.get("SCALEOUT_PHASE_SECONDS", "8"))
WARMUP = 3.0
CHECK_INTER_MS = 200
HTTP_TIMEOUT = 30
# Its own range: the black-box suite takes 18500-18599 and the browser test 18600-18699.
PORTS = range(18800, 18900)

started_at = time.monotonic()


def log(msg: str) -> None:
    print(f"scaleout: [{time.monotonic() - started_at:6.1f}s] {msg}", file=sys.stderr, flush=True)


def free_ports(n: int, exclude: set[int] = frozenset()) -> list[int]:
    candidates = [p for p in PORTS if p not in exclude]
    random.shuffle(candidates)
    found = []
    for port in candidates:
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
        found.append(port)
        if len(found) == n:
            return found
    raise RuntimeError(f"fewer than {n} free ports in {PORTS.start}-{PORTS.stop - 1}")


def remember_pid(pid: int) -> None:
    with open(WORK / "pids", "a") as f:
        f.write(f"{pid}\n")


# --------------------------------------------------------------------------------------------------------------
# Replicas and the load balancer
# --------------------------------------------------------------------------------------------------------------

RUNTIME_CONFIG = """\
# Written by tests/scaleout/scaleout.py. Backends come from the environment (ESIGNET_SQL_URL, ESIGNET_CACHE_URL,
# ESIGNET_PKCS11_*). server.shutdown_delay_ms keeps its default (1000 ms): haproxy sees DOWN within ~2 checks.
[server]
watch_components = false
drain_seconds = 10
[sql]
pool_size = 4
"""


class Replica:
    def __init__(self, name: str, port: int, admin_port: int, issuer: str, mock_token: str):
        self.name = name
        self.port = port
        self.admin_port = admin_port
        self.issuer = issuer
        self.mock_token = mock_token
        self.data_dir = WORK / name
        self.data_dir.mkdir()
        self.log = self.data_dir / "host.log"
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def admin(self) -> str:
        return f"127.0.0.1:{self.admin_port}"

    def start(self) -> None:
        COMPILE_CACHE.mkdir(parents=True, exist_ok=True)
        if not (self.data_dir / "compile-cache").is_symlink():
            os.symlink(COMPILE_CACHE, self.data_dir / "compile-cache")
        env = {k: v for k, v in os.environ.items() if not k.startswith(("ESIGNET_", "SPIN_VARIABLE_", "SCALEOUT_"))}
        env.update({k: os.environ[k] for k in ("ESIGNET_PKCS11_MODULE", "ESIGNET_PKCS11_TOKEN", "ESIGNET_PKCS11_PIN")})
        env.update({
            "ESIGNET_SQL_URL": os.environ["SCALEOUT_SQL_URL"],
            "ESIGNET_CACHE_URL": os.environ["SCALEOUT_CACHE_URL"],
            "ESIGNET_ISSUER": self.issuer,
            "ESIGNET_DEMO": "0",
            "ESIGNET_VAR_DEMO_OTP": DEMO_OTP,
            "ESIGNET_VAR_MOCK_IDENTITY_ADMIN_TOKEN": self.mock_token,
        })
        with open(self.log, "ab") as out:
            self.proc = subprocess.Popen(
                [BIN, "up", "--manifest", str(ROOT / "spin.toml"), "--data-dir", str(self.data_dir),
                 "--runtime-config", str(WORK / "runtime-config.toml"),
                 "--listen", f"127.0.0.1:{self.port}", "--admin-listen", self.admin],
                cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                start_new_session=True)
        remember_pid(self.proc.pid)

    def healthy(self) -> bool:
        try:
            r = requests.get(self.url + HEALTH, timeout=2)
            return r.status_code == 200 and r.json().get("status") == "UP"
        except (requests.RequestException, ValueError):
            return False

    def wait_healthy(self, timeout: float = 120) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.name} exited ({self.proc.returncode}); log {self.log}:\n{self.tail()}")
            if self.healthy():
                return
            time.sleep(0.2)
        raise RuntimeError(f"{self.name} not healthy within {timeout:.0f} s; log {self.log}:\n{self.tail()}")

    def lost_port_race(self) -> bool:
        """It exited because another process took its port between free_ports() and its bind (a race of this
        harness, not of the host): the last line of its log is the bind error."""
        if self.proc is None or self.proc.poll() is None:
            return False
        last = self.tail(3)
        return "binding " in last and "in use" in last

    def move(self, taken: set[int]) -> None:
        """New ports for a replica that lost its ports (before the balancer knows it), and a fresh log."""
        self.port, self.admin_port = free_ports(2, exclude=taken)
        self.log.rename(self.log.with_suffix(f".{time.monotonic_ns()}.log"))

    def tail(self, n: int = 40) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-n:])
        except OSError:
            return "(no log)"

    def signal(self, sig: int) -> None:
        self.proc.send_signal(sig)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)


HAPROXY_CONFIG = """\
# Written by tests/scaleout/scaleout.py: the load balancer of the scale-out simulation.
global
    stats socket {sock} mode 600 level admin
    log stdout format raw local0 info
    maxconn 4096

defaults
    mode http
    log global
    option httplog
    timeout connect 1s
    timeout client 30s
    timeout server 30s
    timeout http-request 10s
    timeout http-keep-alive 10s
    timeout check 1s
    # Retries go to another replica (redispatch). Any request is retried when the connection to a replica could
    # not be made (conn-failure: nothing was sent). A GET (csrf token, userinfo, discovery, JWKS: idempotent) is
    # also retried when the replica closed the connection without answering (empty-response: it died); a POST
    # never is (see disable-l7-retry below): the replica may have processed it — a code redeemed, a transaction
    # advanced — and it must not be sent twice.
    retry-on conn-failure empty-response
    retries 3
    option redispatch 1
    # A new connection to a replica for every request. With pooled server connections, a POST that haproxy sends
    # over an idle connection to a replica that has just died (before two failed checks mark it DOWN) is lost with
    # it and may not be retried; with fresh connections it meets a refused connect and goes elsewhere, so only
    # requests really in flight at the replica as it dies can fail. (An ingress that pools connections to pods
    # loses those few requests too; see docs/deploy.md.)
    http-reuse never

frontend esignet
    bind 127.0.0.1:{lb_port}
    default_backend replicas
    # Which replica answered (or which one haproxy gave up on): the driver counts requests per replica with it.
    http-after-response set-header X-Served-By %[srv_name]

backend replicas
    balance roundrobin
    http-request disable-l7-retry if !METH_GET
    # Readiness: 200 {{"status":"UP"}} only when the host is ready; 503 after SIGTERM (while it still serves).
    option httpchk
    http-check send meth GET uri {health} ver HTTP/1.1 hdr Host 127.0.0.1
    http-check expect status 200
    # No `on-marked-down shutdown-sessions`: requests in flight at a replica marked down must finish.
    default-server check inter {inter}ms fall 2 rise 2
{servers}
"""


class Balancer:
    def __init__(self, port: int, replicas: list[Replica]):
        self.port = port
        self.sock = WORK / "haproxy.sock"
        self.cfg = WORK / "haproxy.cfg"
        self.log = WORK / "haproxy.log"
        self.replicas = replicas
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        # Written now, not at construction: a replica may have moved to other ports while starting.
        servers = "\n".join(f"    server {r.name} 127.0.0.1:{r.port}" for r in self.replicas)
        self.cfg.write_text(HAPROXY_CONFIG.format(sock=self.sock, lb_port=self.port, health=HEALTH,
                                                  inter=CHECK_INTER_MS, servers=servers))
        check = subprocess.run(["haproxy", "-c", "-q", "-f", str(self.cfg)], capture_output=True, text=True)
        if check.returncode != 0:
            raise RuntimeError(f"haproxy rejects {self.cfg}: {check.stdout}{check.stderr}")
        with open(self.log, "ab") as out:
            self.proc = subprocess.Popen(["haproxy", "-db", "-f", str(self.cfg)], stdout=out, stderr=subprocess.STDOUT,
                                         stdin=subprocess.DEVNULL, start_new_session=True)
        remember_pid(self.proc.pid)
        deadline = time.monotonic() + 10
        while not self.sock.exists():
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"haproxy did not start: {self.log.read_text(errors='replace')}")
            time.sleep(0.05)

    def command(self, line: str) -> str:
        with socket.socket(socket.AF_UNIX) as s:
            s.settimeout(5)
            s.connect(str(self.sock))
            s.sendall(line.encode() + b"\n")
            chunks = []
            while chunk := s.recv(65536):
                chunks.append(chunk)
        return b"".join(chunks).decode()

    def stats(self) -> dict[str, dict[str, str]]:
        """`show stat` of the backend: server name → its CSV row (status, stot, …)."""
        text = self.command("show stat").lstrip("# ")
        return {row["svname"]: row for row in csv.DictReader(io.StringIO(text))
                if row.get("pxname") == "replicas" and row.get("svname") not in ("BACKEND",)}

    def status(self, name: str) -> str:
        return self.stats()[name]["status"]

    def wait_status(self, name: str, wanted: str, timeout: float) -> float:
        """Waits until haproxy reports the server `wanted` (UP/DOWN); the seconds it took."""
        t0 = time.monotonic()
        while time.monotonic() - t0 < timeout:
            if self.status(name).split(" ")[0] == wanted:
                return time.monotonic() - t0
            time.sleep(0.02)
        raise RuntimeError(f"haproxy did not mark {name} {wanted} within {timeout:.0f} s "
                           f"(status {self.status(name)}); see {self.log}")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


# --------------------------------------------------------------------------------------------------------------
# The load: complete logins, every request recorded
# --------------------------------------------------------------------------------------------------------------


class RequestFailed(Exception):
    """A transport error or a 5xx: what a balancer event may cause."""


class LoginBroken(Exception):
    """A functional failure (wrong answer, bad token): never acceptable."""


class Recorder:
    def __init__(self):
        self.lock = threading.Lock()
        self.requests: list[dict] = []
        self.logins: list[dict] = []
        self.codes: dict[str, dict] = {}  # code → {login, outcomes: ["token" | "invalid_grant" | "failed" | …]}

    def request(self, rec: dict) -> None:
        with self.lock:
            self.requests.append(rec)

    def login(self, rec: dict) -> None:
        with self.lock:
            self.logins.append(rec)

    def code_outcome(self, code: str, login_id: str, resp: requests.Response | None) -> str:
        """Records one answer to a token request for `code` (None: the request failed): "token", "invalid_grant",
        "failed" or "HTTP <status> <error>"; every code's outcomes in order are in `codes`."""
        if resp is None:
            outcome = "failed"
        elif resp.status_code == 200 and resp.json().get("access_token"):
            outcome = "token"
        else:
            try:
                error = resp.json().get("error")
            except ValueError:
                error = None
            outcome = "invalid_grant" if resp.status_code == 400 and error == "invalid_grant" \
                else f"HTTP {resp.status_code} {error or resp.text[:100]}"
        with self.lock:
            entry = self.codes.setdefault(code, {"login": login_id, "outcomes": []})
            entry["outcomes"].append(outcome)
        return outcome


class Driver:
    def __init__(self, lb_url: str, issuer: str, client, identities, jwks: KeySet, algs: list[str]):
        self.lb = lb_url
        self.issuer = issuer
        self.client = client
        self.identities = identities
        self.jwks = jwks
        self.algs = algs
        self.rec = Recorder()
        self.stop = threading.Event()
        self.threads: list[threading.Thread] = []
        self.token_endpoint = issuer + "/oauth/v2/token"
        self.userinfo_endpoint = issuer + "/oidc/userinfo"

    def api(self, path: str) -> str:
        return self.lb + PREFIX + path

    # one HTTP request, recorded

    def send(self, http: requests.Session, login_id: str, step: str, method: str, url: str, **kw) -> requests.Response:
        rec = {"login": login_id, "step": step, "t0": time.monotonic(), "t1": None, "status": None, "error": None,
               "server": None}
        def local_port(resp, *args, **kwargs):  # the client port, to find the request in haproxy's log
            try:
                rec["port"] = resp.raw._connection.sock.getsockname()[1]
            except Exception:
                pass

        try:
            r = http.request(method, url, timeout=HTTP_TIMEOUT, allow_redirects=False, hooks={"response": local_port},
                             **kw)
        except requests.RequestException as e:
            rec["t1"] = time.monotonic()
            rec["error"] = f"{type(e).__name__}: {e}"[:300]
            self.rec.request(rec)
            raise RequestFailed(f"{step}: {rec['error']}") from e
        rec["t1"] = time.monotonic()
        rec["status"] = r.status_code
        rec["server"] = r.headers.get("x-served-by") or None
        if r.status_code >= 500:
            rec["error"] = f"HTTP {r.status_code}: {r.text[:200]!r}"
        self.rec.request(rec)
        if r.status_code >= 500:
            raise RequestFailed(f"{step}: {rec['error']} (server {rec['server']})")
        return r

    def ok(self, r: requests.Response, step: str) -> dict:
        if r.status_code != 200:
            raise LoginBroken(f"{step}: HTTP {r.status_code}: {r.text[:300]}")
        body = r.json()
        if body.get("errors") or body.get("response") is None:
            raise LoginBroken(f"{step}: {body}")
        return body["response"]

    def assertion(self) -> str:
        now = int(time.time())
        c = self.client
        claims = {"iss": c.client_id, "sub": c.client_id, "aud": self.token_endpoint, "iat": now, "exp": now + 60,
                  "jti": str(uuid.uuid4())}
        return jwt.encode({"alg": c.alg, "kid": c.key.kid, "typ": "JWT"}, claims, c.key, algorithms=[c.alg])

    def token_request(self, http, login_id: str, step: str, code: str, verifier: str) -> requests.Response:
        form = {"grant_type": "authorization_code", "code": code, "redirect_uri": self.client.redirect_uri,
                "client_id": self.client.client_id, "client_assertion_type": JWT_BEARER,
                "client_assertion": self.assertion(), "code_verifier": verifier}
        return self.send(http, login_id, step, "POST", self.token_endpoint, data=urllib.parse.urlencode(form),
                         headers={"Content-Type": "application/x-www-form-urlencoded"})

    def verify(self, token: str) -> dict:
        """The claims of a JWS signed with a key of the JWKS (joserfc checks the signature)."""
        return jwt.decode(token, self.jwks, algorithms=self.algs).claims

    def login(self, worker: int, identity, retry_of: str | None = None) -> dict:
        """One complete login; returns its record (ok, failed step, code, timings)."""
        login_id = f"w{worker}-{uuid.uuid4().hex[:10]}"
        rec = {"id": login_id, "worker": worker, "t0": time.monotonic(), "t1": None, "ok": False, "failure": None,
               "kind": None, "retry_of": retry_of, "individual_id": identity.individual_id}
        http = requests.Session()
        http.trust_env = False
        code = verifier = None
        try:
            r = self.send(http, login_id, "csrf", "GET", self.api("/csrf/token"))
            body = r.json()
            csrf_header = body.get("headerName") or "X-XSRF-TOKEN"
            csrf = body["token"]
            if http.cookies.get("XSRF-TOKEN") != csrf:
                http.cookies.set("XSRF-TOKEN", csrf)
            verifier, challenge = pkce_pair()
            params = {"client_id": self.client.client_id, "redirect_uri": self.client.redirect_uri,
                      "response_type": "code", "scope": "openid profile", "state": random_text(),
                      "nonce": random_text(), "code_challenge": challenge, "code_challenge_method": "S256"}

            def post(step: str, path: str, request: dict, details=None) -> requests.Response:
                h = {"Content-Type": "application/json", csrf_header: csrf}
                if details is not None:
                    h["oauth-details-key"], h["oauth-details-hash"] = details
                return self.send(http, login_id, step, "POST", self.api(path), data=json.dumps(envelope(request)),
                                 headers=h)

            details_resp = self.ok(post("oauth-details", "/authorization/v3/oauth-details",
                                        oauth_details_request(params)), "oauth-details")
            tx = details_resp["transactionId"]
            details = (tx, ui_hash(details_resp))
            self.ok(post("send-otp", "/authorization/send-otp",
                         {"transactionId": tx, "individualId": identity.individual_id, "otpChannels": ["email"]},
                         details), "send-otp")
            auth = self.ok(post("authenticate", "/authorization/v3/authenticate",
                                {"transactionId": tx, "individualId": identity.individual_id,
                                 "challengeList": [challenge_for("OTP", identity)]}, details), "authenticate")
            accepted = []
            if auth.get("consentAction") == "CAPTURE":
                accepted = (details_resp.get("essentialClaims") or []) + (details_resp.get("voluntaryClaims") or [])
            code_resp = self.ok(post("auth-code", "/authorization/auth-code",
                                     {"transactionId": tx, "acceptedClaims": accepted, "permittedAuthorizeScopes": []},
                                     details), "auth-code")
            code = code_resp.get("code")
            if not code or code_resp.get("state") != params["state"]:
                raise LoginBroken(f"auth-code: {code_resp}")
            rec["code"] = code

            try:
                r = self.token_request(http, login_id, "token", code, verifier)
            except RequestFailed:
                self.rec.code_outcome(code, login_id, None)
                raise
            if self.rec.code_outcome(code, login_id, r) != "token":
                raise LoginBroken(f"token: HTTP {r.status_code}: {r.text[:300]}")
            tokens = r.json()
            claims = self.verify(tokens["id_token"])
            if claims.get("iss") != self.issuer or claims.get("nonce") != params["nonce"]:
                raise LoginBroken(f"ID token claims: {claims}")
            aud = claims["aud"] if isinstance(claims["aud"], list) else [claims["aud"]]
            if self.client.client_id not in aud or claims["exp"] <= time.time():
                raise LoginBroken(f"ID token audience/expiry: {claims}")
            if claims.get("at_hash") != at_hash(tokens["access_token"], jwt_alg(tokens["id_token"])):
                raise LoginBroken(f"ID token at_hash: {claims}")

            r = self.send(http, login_id, "userinfo", "GET", self.userinfo_endpoint,
                          headers={"Authorization": f"Bearer {tokens['access_token']}"})
            if r.status_code != 200 or not r.headers.get("content-type", "").startswith("application/jwt"):
                raise LoginBroken(f"userinfo: HTTP {r.status_code} {r.headers.get('content-type')}: {r.text[:200]}")
            info = self.verify(r.text.strip())
            if info.get("sub") != claims["sub"] or info.get("iss") != self.issuer:
                raise LoginBroken(f"userinfo claims {info} vs ID token {claims}")

            # The code again (an RP retrying, an attacker replaying): invalid_grant, never a second token.
            try:
                r = self.token_request(http, login_id, "replay", code, verifier)
            except RequestFailed:
                self.rec.code_outcome(code, login_id, None)
                raise
            if self.rec.code_outcome(code, login_id, r) != "invalid_grant":
                raise LoginBroken(f"replayed code: HTTP {r.status_code}: {r.text[:300]}")
            rec["ok"] = True
        except RequestFailed as e:
            rec["failure"], rec["kind"] = str(e), "request"
            if code is not None:
                self.settle_code(http, login_id, code, verifier)
        except LoginBroken as e:
            rec["failure"], rec["kind"] = str(e), "broken"
        except Exception as e:  # a bug in this driver or an unparsable answer: reported, never hidden
            rec["failure"], rec["kind"] = f"{type(e).__name__}: {e}", "broken"
        finally:
            http.close()
        rec["t1"] = time.monotonic()
        self.rec.login(rec)
        return rec

    def settle_code(self, http, login_id: str, code: str, verifier: str) -> None:
        """A login failed with a code in hand (its token or userinfo request, or the replay, was lost): send the
        code again until an answer comes, and once more after a token. Whatever the lost request did, the code
        may give a token at most once; the final check reads every code's outcomes."""
        for _ in range(6):
            try:
                r = self.token_request(http, login_id, "settle", code, verifier)
            except RequestFailed:
                self.rec.code_outcome(code, login_id, None)
                time.sleep(0.2)
                continue
            if self.rec.code_outcome(code, login_id, r) != "token":
                return

    def worker(self, n: int) -> None:
        i = n
        while not self.stop.is_set():
            self.login(n, self.identities[i % len(self.identities)])
            i += WORKERS

    def start(self) -> None:
        for n in range(WORKERS):
            t = threading.Thread(target=self.worker, args=(n,), name=f"login-{n}", daemon=True)
            t.start()
            self.threads.append(t)

    def join(self) -> None:
        self.stop.set()
        for t in self.threads:
            t.join(timeout=HTTP_TIMEOUT * 3)


def jwt_alg(token: str) -> str:
    return jwt_parts(token)[0]["alg"]


# --------------------------------------------------------------------------------------------------------------
# The simulation
# --------------------------------------------------------------------------------------------------------------


def window(rec: Recorder, t0: float, t1: float) -> dict:
    """Logins completed in [t0, t1): count and rate; failed requests and logins started in it."""
    done = [lg for lg in rec.logins if lg["ok"] and t0 <= lg["t1"] < t1]
    reqs = [r for r in rec.requests if t0 <= r["t0"] < t1]
    per_server: dict[str, int] = {}
    for r in reqs:
        if r["server"]:
            per_server[r["server"]] = per_server.get(r["server"], 0) + 1
    return {"seconds": round(t1 - t0, 2), "logins": len(done), "logins_per_s": round(len(done) / (t1 - t0), 2),
            "requests": len(reqs), "requests_per_replica": dict(sorted(per_server.items()))}


def failures_between(rec: Recorder, t0: float, t1: float) -> tuple[list[dict], list[dict]]:
    """Failed requests that ended in [t0, t1), and logins that ended in it failed."""
    reqs = [r for r in rec.requests if r["error"] and t0 <= r["t1"] < t1]
    logins = [lg for lg in rec.logins if not lg["ok"] and t0 <= lg["t1"] < t1]
    return reqs, logins


def main() -> int:
    (WORK / "runtime-config.toml").write_text(RUNTIME_CONFIG)
    lb_port, *ports = free_ports(9)
    issuer = f"http://127.0.0.1:{lb_port}{PREFIX}"
    mock_token = secrets.token_urlsafe(24)
    replicas = [Replica(f"r{i + 1}", ports[2 * i], ports[2 * i + 1], issuer, mock_token) for i in range(4)]
    r1, r2, r3, r4 = replicas
    lb = Balancer(lb_port, replicas)  # r4's slot exists from the start: DOWN until r4 is started and ready
    report: dict = {"workers": WORKERS, "phase_seconds": PHASE, "cpus": os.cpu_count(), "issuer": issuer,
                    "haproxy": {"check": f"GET {HEALTH} every {CHECK_INTER_MS} ms, fall 2, rise 2",
                                "retry_on": "conn-failure (any method), empty-response (GET only)", "http_reuse": "never",
                                "redispatch": True},
                    "host_shutdown_delay_ms": "default (1000)", "events": {}}
    checks: list[tuple[str, bool, str]] = []

    def check(name: str, ok: bool, detail) -> None:
        checks.append((name, bool(ok), str(detail)))
        log(f"{'ok  ' if ok else 'FAIL'} {name}: {detail}")

    driver = None
    try:
        log(f"starting r1, r2, r3 (shared PostgreSQL, Redis db, SoftHSM2 token; issuer {issuer})")
        t = time.monotonic()
        for r in (r1, r2, r3):
            r.start()
        for r in (r1, r2, r3):
            for attempt in range(3):
                try:
                    r.wait_healthy()
                    break
                except RuntimeError:
                    if attempt == 2 or not r.lost_port_race():
                        raise
                    taken = {lb_port, *(p for x in replicas for p in (x.port, x.admin_port))}
                    log(f"{r.name} could not bind its ports (another process took one): moving it\n{r.tail(3)}")
                    r.move(taken)
                    r.start()
        report["start_to_ready_s"] = round(time.monotonic() - t, 1)
        lb.start()
        for r in (r1, r2, r3):
            lb.wait_status(r.name, "UP", 10)
        lb.wait_status(r4.name, "DOWN", 10)
        log(f"3 replicas UP behind haproxy on {lb.url} (r4 slot DOWN) after {report['start_to_ready_s']} s")

        # Setup through the balancer: a client (ES256 private_key_jwt), identities, the JWKS.
        op = OP(lb.url, r1.admin, r1.data_dir, BIN, mock_token)
        disc = op.discovery
        assert disc["issuer"] == issuer and disc["token_endpoint"] == issuer + "/oauth/v2/token", disc
        assert disc["userinfo_endpoint"] == issuer + "/oidc/userinfo", disc
        client = op.register_client("ES256")
        identities = [op.create_identity() for _ in range(WORKERS * 2)]
        jwks = op.jwks()
        algs = sorted(set(op.signing_algs()) | set(disc.get("userinfo_signing_alg_values_supported") or []))
        driver = Driver(lb.url, issuer, client, identities, jwks, algs)
        rec = driver.rec

        log(f"load: {WORKERS} workers doing complete logins through haproxy")
        driver.start()
        time.sleep(WARMUP)

        # 1. Steady state.
        t0 = time.monotonic()
        time.sleep(PHASE)
        t1 = time.monotonic()
        steady = window(rec, t0, t1)
        report["events"]["steady"] = {"replicas": 3, **steady}
        log(f"steady, 3 replicas: {steady['logins_per_s']} logins/s, per replica {steady['requests_per_replica']}")

        # 2. SIGTERM r1.
        t_term = time.monotonic()
        report["timeline"] = {"sigterm": round(t_term - started_at, 4)}
        r1.signal(signal.SIGTERM)
        down_after = lb.wait_status(r1.name, "DOWN", 10)
        try:
            code = r1.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            code = None
        exit_after = time.monotonic() - t_term
        t_settled = time.monotonic()
        time.sleep(max(PHASE, 2.0))
        t_end = time.monotonic()
        after = window(rec, t_settled, t_end)
        reqs, logins = failures_between(rec, t_term, t_end)
        served_by_r1_after_term = sum(1 for r in rec.requests if r["server"] == "r1" and r["t0"] >= t_term)
        report["events"]["sigterm"] = {
            "replica": "r1", "replicas_after": 2, "logins_per_s_before": steady["logins_per_s"],
            "logins_per_s_after": after["logins_per_s"], "after": after,
            "haproxy_marked_down_after_s": round(down_after, 2), "exited_after_s": round(exit_after, 2),
            "exit_code": code, "requests_served_by_r1_after_sigterm": served_by_r1_after_term,
            "failed_requests": len(reqs), "failed_logins": len(logins),
            "failures": [r["error"] for r in reqs][:20]}
        log(f"SIGTERM r1: DOWN in haproxy after {down_after:.2f} s, exit {code} after {exit_after:.2f} s, "
            f"{served_by_r1_after_term} requests served by r1 meanwhile; {len(reqs)} failed requests; "
            f"after: {after['logins_per_s']} logins/s")
        check("SIGTERM: no failed request", len(reqs) == 0 and len(logins) == 0, [r["error"] for r in reqs][:5])
        check("SIGTERM: r1 drained and exited 0", code == 0, f"exit code {code}")

        # 3. SIGKILL r2.
        before = after["logins_per_s"]
        t_kill = time.monotonic()
        r2.signal(signal.SIGKILL)
        r2.proc.wait(timeout=10)
        # The kernel tears the process down after kill() returns (closing its sockets, unmapping its memory): until
        # it is reaped, connections to it may still be accepted into its backlog and die unanswered. Requests
        # in flight at r2 during [t_kill, t_dead] are the ones that may fail.
        t_dead = time.monotonic()
        report["timeline"]["sigkill"] = [round(t_kill - started_at, 4), round(t_dead - started_at, 4)]
        down_after = lb.wait_status(r2.name, "DOWN", 10)
        t_settled = time.monotonic()
        time.sleep(max(PHASE, 2.0))
        t_end = time.monotonic()
        after = window(rec, t_settled, t_end)
        reqs, logins = failures_between(rec, t_kill, t_end)
        with rec.lock:
            at_death = [r for r in rec.requests if r["t0"] < t_dead and r["t1"] > t_kill]
        # Not answered by a surviving replica: answered by r2 before it was gone, or failed (haproxy's 502 names r2;
        # a request on a reused connection to r2 is answered by closing the client connection, naming no one).
        at_r2 = [r for r in at_death if r["server"] in ("r2", None)]
        outside = [r for r in reqs if not (r["t0"] < t_dead and r["t1"] > t_kill)]
        elsewhere = [r for r in reqs if r["server"] not in ("r2", None)]
        report["events"]["sigkill"] = {
            "replica": "r2", "replicas_after": 1, "logins_per_s_before": before,
            "logins_per_s_after": after["logins_per_s"], "after": after,
            "death_ms": round((t_dead - t_kill) * 1e3, 1), "haproxy_marked_down_after_s": round(down_after, 2),
            "requests_in_flight_at_death": len(at_death), "requests_in_flight_at_death_to_r2": len(at_r2),
            "failed_requests": len(reqs), "failed_logins": len(logins),
            "failures": [f"{r['step']} ({r['server']}, {(r['t0'] - t_kill) * 1e3:+.1f} ms): {r['error']}"
                         for r in reqs][:20]}
        log(f"SIGKILL r2: gone after {(t_dead - t_kill) * 1e3:.0f} ms, DOWN in haproxy after {down_after:.2f} s; "
            f"{len(at_death)} requests in flight meanwhile ({len(at_r2)} at r2); {len(reqs)} failed requests, "
            f"{len(logins)} failed logins; after: {after['logins_per_s']} logins/s")
        check("SIGKILL: failed requests ≤ requests in flight at r2 as it died",
              len(reqs) <= len(at_r2), f"{len(reqs)} failed, {len(at_r2)} in flight at r2 "
              f"({sum(1 for r in at_r2 if r['t0'] < t_kill)} of them sent before the kill)")
        check("SIGKILL: no request failed that was not in flight at r2 as it died",
              not outside and not elsewhere, [r["error"] for r in outside + elsewhere][:5])

        # 4. Add r4.
        before = after["logins_per_s"]
        t_add = time.monotonic()
        report["timeline"]["add"] = round(t_add - started_at, 4)
        r4.start()
        up_after = lb.wait_status(r4.name, "UP", 120)
        t_settled = time.monotonic()
        time.sleep(max(PHASE, 2.0))
        t_end = time.monotonic()
        after = window(rec, t_settled, t_end)
        driver.join()
        t_stop = time.monotonic()
        reqs, logins = failures_between(rec, t_add, t_stop + 1)
        served_r4 = sum(1 for r in rec.requests if r["server"] == "r4")
        report["events"]["add"] = {
            "replica": "r4", "replicas_after": 2, "logins_per_s_before": before,
            "logins_per_s_after": after["logins_per_s"], "after": after,
            "haproxy_marked_up_after_start_s": round(up_after, 2), "requests_served_by_r4": served_r4,
            "failed_requests": len(reqs), "failed_logins": len(logins),
            "failures": [r["error"] for r in reqs][:20]}
        log(f"add r4: UP in haproxy {up_after:.2f} s after start; served {served_r4} requests; "
            f"{len(reqs)} failed requests; after: {after['logins_per_s']} logins/s, per replica "
            f"{after['requests_per_replica']}")
        check("add: no failed request", len(reqs) == 0 and len(logins) == 0, [r["error"] for r in reqs][:5])
        check("add: r4 took traffic", served_r4 > 0 and after["requests_per_replica"].get("r4", 0) > 0,
              f"{served_r4} requests")

        # Over the whole run.
        steady_fail, _ = failures_between(rec, 0, t_term)
        check("steady state: no failed request", not steady_fail, [r["error"] for r in steady_fail][:5])
        broken = [lg for lg in rec.logins if lg["kind"] == "broken"]
        check("no functional failure (every answer and token as expected)", not broken,
              [lg["failure"] for lg in broken][:5])
        failed = [lg for lg in rec.logins if not lg["ok"]]
        log(f"retrying {len(failed)} failed logins from scratch")
        retried = [driver.login(lg["worker"], next(i for i in identities if i.individual_id == lg["individual_id"]),
                                retry_of=lg["id"]) for lg in failed]
        check("every failed login succeeds when started again", all(lg["ok"] for lg in retried),
              [lg["failure"] for lg in retried if not lg["ok"]][:5])

        # Every code (the retried logins' too): at most one token; after it, the next answer (lost requests aside)
        # is invalid_grant; no other answer at all.
        double = {c: e for c, e in rec.codes.items() if e["outcomes"].count("token") > 1}
        redeemed = [e for e in rec.codes.values() if "token" in e["outcomes"]]
        refused_after = sum(1 for e in redeemed
                            if [o for o in e["outcomes"][e["outcomes"].index("token") + 1:] if o != "failed"][:1]
                            == ["invalid_grant"])
        odd = {c: e for c, e in rec.codes.items()
               if any(o not in ("token", "invalid_grant", "failed") for o in e["outcomes"])}
        check("no authorization code redeemed twice", not double, list(double.items())[:3])
        check("every redeemed code, sent again, was refused with invalid_grant", refused_after == len(redeemed),
              f"{refused_after} of {len(redeemed)}")
        check("token requests answered only with a token or invalid_grant", not odd, list(odd.items())[:3])

        stats = lb.stats()
        report["requests_per_replica"] = {
            "x_served_by": {n: sum(1 for r in rec.requests if r["server"] == n) for n in ("r1", "r2", "r3", "r4")},
            "haproxy_stot": {n: int(stats[n]["stot"]) for n in ("r1", "r2", "r3", "r4")},
        }
        report["totals"] = {
            "logins": len(rec.logins) - len(retried), "logins_ok": sum(1 for lg in rec.logins if lg["ok"]) -
            sum(1 for lg in retried if lg["ok"]), "requests": len(rec.requests),
            "failed_requests": sum(1 for r in rec.requests if r["error"]), "failed_logins": len(failed),
            "failed_logins_retried_ok": sum(1 for lg in retried if lg["ok"]),
            "codes": len(rec.codes), "codes_redeemed_once": len(redeemed) - len(double),
            "codes_redeemed_twice": len(double),
            "codes_without_a_token_response": sum(1 for e in rec.codes.values() if "token" not in e["outcomes"]),
        }
    except Exception as e:  # setup or an event did not happen as it must: a failure with the logs at hand
        check("the simulation ran", False, f"{type(e).__name__}: {e}")
        for r in replicas:
            if r.proc is not None:
                log(f"--- {r.name} log tail ---\n{r.tail(15)}")
    finally:
        if driver is not None:
            driver.join()
        for r in replicas:
            r.stop()
        lb.stop()

    if driver is not None:
        dump(driver.rec)
    report["checks"] = [{"check": n, "ok": ok, "detail": d} for n, ok, d in checks]
    report["ok"] = bool(checks) and all(ok for _, ok, _ in checks)
    REPORT.write_text(json.dumps(report, indent=2) + "\n")
    summary(report)
    return 0 if report["ok"] else 1


def dump(rec: Recorder) -> None:
    """Every request, login and code (times in seconds since the start) into the work directory."""
    def rel(t):
        return None if t is None else round(t - started_at, 4)

    with open(WORK / "requests.jsonl", "w") as f:
        for r in rec.requests:
            f.write(json.dumps({**r, "t0": rel(r["t0"]), "t1": rel(r["t1"])}) + "\n")
    with open(WORK / "logins.jsonl", "w") as f:
        for lg in rec.logins:
            f.write(json.dumps({**lg, "t0": rel(lg["t0"]), "t1": rel(lg["t1"])}) + "\n")
    (WORK / "codes.json").write_text(json.dumps(rec.codes) + "\n")


def summary(report: dict) -> None:
    ev = report["events"]
    lines = [f"scale-out simulation: {report['workers']} login workers through haproxy, {report['cpus']} CPUs "
             f"(report: {REPORT})"]
    if "steady" in ev:
        lines.append(f"  steady, 3 replicas     {ev['steady']['logins_per_s']:7.2f} logins/s")
    names = {"sigterm": "SIGTERM r1 → 2 replicas", "sigkill": "SIGKILL r2 → 1 replica ",
             "add": "add r4     → 2 replicas"}
    for key, label in names.items():
        if key in ev:
            e = ev[key]
            line = (f"  {label} {e['logins_per_s_before']:7.2f} → {e['logins_per_s_after']:7.2f} logins/s, "
                    f"{e['failed_requests']} failed requests, {e['failed_logins']} failed logins")
            if key == "sigkill":
                line += f" (in flight at r2 as it died: {e['requests_in_flight_at_death_to_r2']})"
            if key == "add":
                line += f"; r4 served {e['requests_served_by_r4']} requests"
            lines.append(line)
    if "requests_per_replica" in report:
        lines.append(f"  requests per replica (haproxy stot): {report['requests_per_replica']['haproxy_stot']}")
    if "totals" in report:
        t = report["totals"]
        lines.append(f"  {t['logins_ok']}/{t['logins']} logins, {t['requests']} requests, {t['codes']} codes "
                     f"({t['codes_redeemed_twice']} redeemed twice), failed logins retried OK: "
                     f"{t['failed_logins_retried_ok']}/{t['failed_logins']}")
    # The failed checks with their details last, so that a log cut to its tail still says what went wrong.
    lines.append("  " + ("PASS" if report["ok"] else "FAIL: " + "; ".join(
        f"{c['check']}: {c['detail'][:2000]}" for c in report["checks"] if not c["ok"])))
    print("\n".join(lines), file=sys.stderr, flush=True)


if __name__ == "__main__":
    sys.exit(main())
