"""Fixtures and helpers of the black-box suite.

The suite drives a running host over HTTP the way eSignet's UI (oidc-ui) and a relying party do, and checks every
token with joserfc (never with the project's own code). `run` in this folder starts one host with the real
spin.toml and exports:

    ESIGNET_URL         http://127.0.0.1:<port>        (the public listener)
    ESIGNET_ADMIN       127.0.0.1:<port>               (the admin listener, for `esignet admin-token`)
    ESIGNET_DATA_DIR    the host's data dir            (demo.json lives there)
    ESIGNET_BIN         the host binary                (to mint operator tokens, to start extra hosts)
    ESIGNET_MOCK_ADMIN_TOKEN  bearer token of the mock identity admin API (the host got it as a variable)

Without ESIGNET_URL the session starts its own host the same way (so `pytest tests/blackbox` works alone).
Tests needing another configuration (shrunk TTLs) start a second host with `start_host(...)`.

Every response passes a hook that records 5xx answers; a test during which the product answered 5xx fails, so
"never a 500" is checked everywhere, not only where a case says it.
"""

from __future__ import annotations

import base64
import contextlib
import dataclasses
import datetime as dt
import hashlib
import json
import os
import random
import secrets
import shutil
import signal
import socket
import string
import subprocess
import tempfile
import time
import tomllib
import urllib.parse
import uuid
from pathlib import Path
from typing import Any, Iterable

import pytest
import requests
from joserfc import jwe, jws, jwt
from joserfc.jwk import ECKey, KeySet, RSAKey

ROOT = Path(__file__).resolve().parents[2]
PREFIX = "/v1/esignet"
MOCK_PREFIX = "/v1/mock-identity-system"
JWT_BEARER = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
# Access tokens are ES256 under a key of their own (spin.toml `oidc-access-token`); ID tokens stay RS256.
ACCESS_TOKEN_ALG = "ES256"
DEMO_OTP = "111111"  # spin.toml `demo_otp` default: the mock identity system's fixed OTP
PORT_RANGE = range(18500, 18600)
HEALTH = PREFIX + "/actuator/health"

ACR_OTP = "mosip:idp:acr:generated-code"
ACR_PIN = "mosip:idp:acr:static-code"
ACR_PWD = "mosip:idp:acr:password"
ACR_KBI = "mosip:idp:acr:knowledge"
ALL_ACRS = [ACR_OTP, ACR_PIN, ACR_PWD, ACR_KBI]
FACTOR_ACR = {"OTP": ACR_OTP, "PIN": ACR_PIN, "PWD": ACR_PWD, "KBI": ACR_KBI}
USER_CLAIMS = ["name", "given_name", "family_name", "email", "phone_number", "gender", "birthdate", "address",
               "picture", "locale"]
# Claims `profile` implies (reference §3.2), as far as a client registered for USER_CLAIMS can get them.
PROFILE_CLAIMS = {"name", "address", "gender", "birthdate", "picture", "email", "phone_number"}
JWT_REGISTERED = {"iss", "sub", "aud", "iat", "exp", "nbf", "jti", "auth_time", "acr", "amr", "nonce", "azp",
                  "at_hash", "c_hash", "sid", "typ"}

# --------------------------------------------------------------------------------------------------------------
# Small encoders
# --------------------------------------------------------------------------------------------------------------


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def sha256_b64url(data: bytes | str) -> str:
    if isinstance(data, str):
        data = data.encode("utf-8")
    return b64url(hashlib.sha256(data).digest())


def request_time(offset_seconds: float = 0.0) -> str:
    """eSignet's `requestTime`: UTC `yyyy-MM-ddTHH:mm:ss.SSSZ`."""
    t = dt.datetime.now(dt.timezone.utc) + dt.timedelta(seconds=offset_seconds)
    return t.strftime("%Y-%m-%dT%H:%M:%S.") + f"{t.microsecond // 1000:03d}Z"


def envelope(request: Any, offset_seconds: float = 0.0) -> dict:
    return {"requestTime": request_time(offset_seconds), "request": request}


def random_text(n: int = 43) -> str:
    """A fresh `state`/`nonce`: URL-unsafe characters included so that echoing is tested byte for byte."""
    alphabet = string.ascii_letters + string.digits + "-._~"
    core = "".join(secrets.choice(alphabet) for _ in range(n - 4))
    return core + " +/="  # space, plus, slash, equals: must come back unchanged


def pkce_pair() -> tuple[str, str]:
    verifier = b64url(secrets.token_bytes(48))  # 64 unreserved characters
    return verifier, sha256_b64url(verifier)


def js_stringify(value: Any) -> str:
    """What JavaScript's `JSON.stringify` writes for a value parsed by `JSON.parse` (oidc-ui hashes that).

    Strings: Python's escaping with ensure_ascii=False is JavaScript's (quote, backslash, \\b\\f\\n\\r\\t, other
    controls as lower-case \\u00xx, everything else literal). Numbers: JavaScript prints integral doubles without
    a fraction. Object keys: array-index keys ("0".."4294967294") first in ascending order, then insertion order.
    """
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if value.is_integer():
            return str(int(value))
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, list):
        return "[" + ",".join(js_stringify(v) for v in value) + "]"
    if isinstance(value, dict):
        def is_index(k: str) -> bool:
            return k.isdigit() and (k == "0" or not k.startswith("0")) and int(k) < 2**32 - 1

        keys = sorted((k for k in value if is_index(k)), key=int) + [k for k in value if not is_index(k)]
        return "{" + ",".join(json.dumps(k, ensure_ascii=False) + ":" + js_stringify(value[k]) for k in keys) + "}"
    raise TypeError(f"not JSON: {value!r}")


def ui_hash(response_obj: Any) -> str:
    """`oauth-details-hash` as oidc-ui computes it: base64url(SHA-256(JSON.stringify(response)))."""
    return sha256_b64url(js_stringify(response_obj))


def jwt_parts(token: str) -> tuple[dict, dict]:
    """Header and payload of a compact JWS, unverified (for diagnostics and `typ`/`kid` checks)."""
    h, p, _ = token.split(".")
    return json.loads(b64url_decode(h)), json.loads(b64url_decode(p))


def at_hash(access_token: str, alg: str) -> str:
    bits = {"256": hashlib.sha256, "384": hashlib.sha384, "512": hashlib.sha512}[alg[-3:]]
    digest = bits(access_token.encode("ascii")).digest()
    return b64url(digest[: len(digest) // 2])


def query_of(url: str) -> dict[str, str]:
    """The query parameters of a URL (each expected once)."""
    pairs = urllib.parse.parse_qsl(urllib.parse.urlsplit(url).query, keep_blank_values=True)
    out: dict[str, str] = {}
    for k, v in pairs:
        assert k not in out, f"parameter {k} repeated in {url}"
        out[k] = v
    return out


# --------------------------------------------------------------------------------------------------------------
# HTTP with a 5xx recorder
# --------------------------------------------------------------------------------------------------------------

SERVER_ERRORS: list[str] = []


def _record_5xx(resp: requests.Response, *args, **kwargs):
    if resp.status_code >= 500:
        SERVER_ERRORS.append(f"{resp.request.method} {resp.request.url} -> {resp.status_code} {resp.text[:300]!r}")


def new_session() -> requests.Session:
    s = requests.Session()
    s.hooks["response"].append(_record_5xx)
    s.trust_env = False  # never a proxy: everything is on loopback
    return s


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_call(item):
    start = len(SERVER_ERRORS)
    outcome = yield
    new = SERVER_ERRORS[start:]
    if new and outcome.excinfo is None:
        outcome.force_exception(AssertionError("the product answered 5xx:\n  " + "\n  ".join(new)))


# --------------------------------------------------------------------------------------------------------------
# Hosts
# --------------------------------------------------------------------------------------------------------------


def free_port(exclude: Iterable[int] = ()) -> int:
    candidates = [p for p in PORT_RANGE if p not in set(exclude)]
    random.shuffle(candidates)
    for port in candidates:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError("no free port in 18500-18599")


def component_files(manifest: Path) -> list[Path]:
    doc = tomllib.loads(manifest.read_text())
    return [manifest.parent / c["source"] for c in doc.get("component", {}).values() if "source" in c]


def default_bin() -> str:
    target = os.environ.get("ESIGNET_HOST_TARGET_DIR", "/var/tmp/esignet-target")
    return os.environ.get("ESIGNET_BIN") or f"{target}/release/esignet"


COMPILE_CACHE = Path(os.environ.get("ESIGNET_BB_COMPILE_CACHE", "/var/tmp/esignet-bb-compile-cache"))

# The backend set (`run` sets ESIGNET_TEST_BACKENDS): `embedded` (SQLite, in-memory cache, soft keys in each
# host's data dir) or `production` (PostgreSQL ESIGNET_BB_SQL_URL, Redis ESIGNET_BB_CACHE_URL, the SoftHSM2 token
# of ESIGNET_PKCS11_*; `run` creates all three). Under `production` every Host — the main one, start_host() ones,
# replicas — gets the same database, Redis db and token (as replicas behind a load balancer do); the demo client
# key of the main host is copied into each further host's data dir, since the demo client is registered once in
# the shared database.
BACKENDS = os.environ.get("ESIGNET_TEST_BACKENDS", "embedded")
PRODUCTION = BACKENDS == "production"
PRODUCTION_ENV_KEYS = ("ESIGNET_SQL_URL", "ESIGNET_CACHE_URL")
PKCS11_ENV_KEYS = ("ESIGNET_PKCS11_MODULE", "ESIGNET_PKCS11_TOKEN", "ESIGNET_PKCS11_PIN", "ESIGNET_PKCS11_PIN_FILE")
MAIN_DATA_DIR: Path | None = Path(os.environ["ESIGNET_DATA_DIR"]) if os.environ.get("ESIGNET_DATA_DIR") else None


def production_env() -> dict[str, str]:
    """ESIGNET_SQL_URL / ESIGNET_CACHE_URL of the production set (empty under `embedded`)."""
    if not PRODUCTION:
        return {}
    missing = [k for k in ("ESIGNET_BB_SQL_URL", "ESIGNET_BB_CACHE_URL", "ESIGNET_PKCS11_MODULE",
                           "ESIGNET_PKCS11_TOKEN", "SOFTHSM2_CONF") if not os.environ.get(k)]
    if missing:
        raise RuntimeError("ESIGNET_TEST_BACKENDS=production needs " + ", ".join(missing)
                           + " (tests/blackbox/run creates the database, Redis db and token and sets them)")
    return {"ESIGNET_SQL_URL": os.environ["ESIGNET_BB_SQL_URL"], "ESIGNET_CACHE_URL": os.environ["ESIGNET_BB_CACHE_URL"]}


class Host:
    """One `esignet up` process on free loopback ports with a temporary data dir (demo on, embedded defaults)."""

    def __init__(self, variables: dict[str, str] | None = None, name: str = "host",
                 extra_env: dict[str, str] | None = None, manifest: Path | None = None):
        self.variables = dict(variables or {})
        self.extra_env = dict(extra_env or {})  # e.g. ESIGNET_CACHE_URL, ESIGNET_ISSUER for replicas
        self.name = name
        self.bin = default_bin()
        self.manifest = manifest or ROOT / "spin.toml"  # another manifest: sources as absolute paths
        self.proc: subprocess.Popen | None = None
        self.data_dir = Path(tempfile.mkdtemp(prefix=f"bb-{name}-", dir="/tmp"))
        self.mock_admin_token = secrets.token_urlsafe(24)
        self.port = 0
        self.admin_port = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def admin(self) -> str:
        return f"127.0.0.1:{self.admin_port}"

    def log_tail(self, n: int = 60) -> str:
        try:
            lines = (self.data_dir / "host.log").read_text(errors="replace").splitlines()
        except OSError:
            return "(no host log)"
        return "\n".join(lines[-n:])

    def start(self, timeout: float = 120.0) -> "Host":
        missing = [str(p) for p in component_files(self.manifest) if not p.exists()]
        if missing:
            raise RuntimeError("components missing: " + ", ".join(missing))
        COMPILE_CACHE.mkdir(parents=True, exist_ok=True)
        if not (self.data_dir / "compile-cache").exists():
            os.symlink(COMPILE_CACHE, self.data_dir / "compile-cache")
        env = {k: v for k, v in os.environ.items()
               if not k.startswith(("ESIGNET_VAR_", "SPIN_VARIABLE_"))
               and k not in ("ESIGNET_ISSUER", "ESIGNET_RUNTIME_CONFIG", "ESIGNET_DEMO", "ESIGNET_LISTEN",
                             "ESIGNET_ADMIN_LISTEN", "ESIGNET_DATA_DIR", "ESIGNET_SQL_URL", "ESIGNET_CACHE_URL")
               and (PRODUCTION or k not in PKCS11_ENV_KEYS)}
        env.update(production_env())
        main_key = MAIN_DATA_DIR / "demo-client-key.json" if MAIN_DATA_DIR else None
        own_key = self.data_dir / "demo-client-key.json"
        if PRODUCTION and main_key is not None and main_key.exists() and self.data_dir != MAIN_DATA_DIR \
                and not own_key.exists():
            shutil.copy(main_key, own_key)  # the shared database holds the main host's demo client
        env["ESIGNET_VAR_MOCK_IDENTITY_ADMIN_TOKEN"] = self.mock_admin_token
        env["ESIGNET_VAR_MOCK_IDENTITY_OUTBOX"] = "true"
        for k, v in self.variables.items():
            env[f"ESIGNET_VAR_{k.upper()}"] = v
        env.update(self.extra_env)
        for attempt in range(3):
            self.port = free_port()
            self.admin_port = free_port(exclude=[self.port])
            log = open(self.data_dir / "host.log", "ab")
            self.proc = subprocess.Popen(
                [self.bin, "up", "--manifest", str(self.manifest), "--data-dir", str(self.data_dir),
                 "--listen", f"127.0.0.1:{self.port}", "--admin-listen", f"127.0.0.1:{self.admin_port}"],
                cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                start_new_session=True)
            log.close()
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline:
                if self.proc.poll() is not None:
                    break
                try:
                    r = requests.get(self.url + HEALTH, timeout=2)
                    if r.status_code == 200 and r.json().get("status") == "UP":
                        return self
                except (requests.RequestException, ValueError):
                    pass
                time.sleep(0.25)
            if self.proc.poll() is not None and "binding" in self.log_tail(5) and attempt < 2:
                continue  # lost a port race: try other ports
            self.stop(keep=True)
            raise RuntimeError(f"{self.name} did not become healthy within {timeout:.0f} s; log "
                               f"{self.data_dir}/host.log:\n{self.log_tail()}")
        raise RuntimeError("unreachable")

    def stop(self, keep: bool = False) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=45)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        self.proc = None
        if not keep and not os.environ.get("ESIGNET_BB_KEEP"):
            shutil.rmtree(self.data_dir, ignore_errors=True)


@contextlib.contextmanager
def start_host(variables: dict[str, str], name: str = "extra", manifest: Path | None = None):
    """A second host with some spin.toml variables changed (e.g. {"preauth_ttl_secs": "4"}), or another manifest;
    stopped after."""
    host = Host(variables, name=name, manifest=manifest)
    host.start()
    try:
        yield OP(host.url, host.admin, host.data_dir, host.bin, host.mock_admin_token)
    finally:
        host.stop()


# --------------------------------------------------------------------------------------------------------------
# The parties: identities, clients, the provider
# --------------------------------------------------------------------------------------------------------------


@dataclasses.dataclass
class Identity:
    individual_id: str
    pin: str | None = None
    password: str | None = None
    otp: str = DEMO_OTP
    full_name: dict[str, str] = dataclasses.field(default_factory=dict)  # ISO 639-3 -> value
    date_of_birth: str | None = None  # yyyy-MM-dd
    email: str | None = None
    phone: str | None = None


@dataclasses.dataclass
class Client:
    client_id: str
    key: Any  # joserfc private key
    alg: str
    redirect_uris: list[str]
    user_claims: list[str]
    acrs: list[str]
    additional_config: dict
    enc_key: Any = None

    @property
    def redirect_uri(self) -> str:
        return self.redirect_uris[0]


def new_signing_key(alg: str):
    if alg.startswith("ES"):
        key = ECKey.generate_key({"ES256": "P-256", "ES384": "P-384", "ES512": "P-521"}[alg], auto_kid=True)
    else:
        key = RSAKey.generate_key(2048, auto_kid=True)
    return key


class EsignetError(AssertionError):
    pass


def errors_of(resp: requests.Response) -> list[str]:
    """The `errorCode`s of an eSignet wrapper response."""
    body = resp.json()
    return [e.get("errorCode") for e in (body.get("errors") or [])]


def ok_response(resp: requests.Response) -> dict:
    """The `response` of a successful eSignet wrapper (HTTP 200, `errors` empty)."""
    assert resp.status_code == 200, f"HTTP {resp.status_code}: {resp.text[:500]}"
    body = resp.json()
    if body.get("errors"):
        raise EsignetError(f"{resp.request.method} {resp.request.url}: errors {body['errors']}")
    assert body.get("response") is not None, body
    return body["response"]


def assert_esignet_error(resp: requests.Response, expected: str | Iterable[str], status: int = 200) -> str:
    """An eSignet-shaped failure: wrapper with `response: null` and an `errors` list holding the code."""
    wanted = {expected} if isinstance(expected, str) else set(expected)
    assert resp.status_code == status, f"expected HTTP {status} with {wanted}, got {resp.status_code}: {resp.text[:500]}"
    assert resp.headers.get("content-type", "").startswith("application/json"), resp.headers
    body = resp.json()
    assert body.get("response") is None, body
    codes = [e.get("errorCode") for e in body.get("errors") or []]
    assert codes, body
    assert set(codes) & wanted, f"expected one of {sorted(wanted)}, got {codes}"
    assert "responseTime" in body, body
    return codes[0]


def assert_oauth_error(resp: requests.Response, expected: str | Iterable[str], statuses=(400,)) -> dict:
    """An RFC 6749 §5.2 error: JSON `{error, ...}`, the given status, `Cache-Control: no-store`, no tokens."""
    wanted = {expected} if isinstance(expected, str) else set(expected)
    assert resp.status_code in statuses, f"expected {statuses} {wanted}, got {resp.status_code}: {resp.text[:500]}"
    body = resp.json()
    assert body.get("error") in wanted, f"expected {sorted(wanted)}, got {body}"
    assert "access_token" not in body and "id_token" not in body, body
    assert "no-store" in resp.headers.get("cache-control", ""), resp.headers
    return body


@dataclasses.dataclass
class OAuthDetails:
    transaction_id: str
    response: dict
    hash: str
    raw: str

    @property
    def essential_claims(self) -> list[str]:
        return self.response.get("essentialClaims") or []

    @property
    def voluntary_claims(self) -> list[str]:
        return self.response.get("voluntaryClaims") or []


@dataclasses.dataclass
class LoginResult:
    code: str
    state: str | None
    nonce: str | None
    verifier: str | None
    redirect_uri: str
    consent_action: str
    accepted_claims: list[str]
    details: OAuthDetails
    auth_code_response: dict
    params: dict
    started_at: int
    factor: str = "OTP"


# Query parameters of /authorize and the oauth-details member oidc-ui sends them as (oidc-ui Authorize.js).
UI_PARAMS = {
    "client_id": "clientId", "scope": "scope", "response_type": "responseType", "redirect_uri": "redirectUri",
    "display": "display", "prompt": "prompt", "acr_values": "acrValues", "claims": "claims",
    "claims_locales": "claimsLocales", "ui_locales": "uiLocales", "nonce": "nonce", "state": "state",
    "max_age": "maxAge", "code_challenge": "codeChallenge", "code_challenge_method": "codeChallengeMethod",
    "id_token_hint": "idTokenHint",
}


def oauth_details_request(query: dict[str, str]) -> dict:
    """The oauth-details `request` oidc-ui builds from the login page's query (claims parsed, maxAge a number)."""
    out: dict[str, Any] = {}
    for name, member in UI_PARAMS.items():
        if name not in query or query[name] == "":
            continue
        value: Any = query[name]
        if name == "claims":
            value = json.loads(value)
        elif name == "max_age":
            value = int(value)
        out[member] = value
    return out


def requested_acrs(params: dict) -> set[str]:
    """The ACRs a request asks for: `claims.id_token.acr` values first, else `acr_values` (reference §3.4)."""
    claims = params.get("claims")
    if claims:
        acr = (json.loads(claims) if isinstance(claims, str) else claims).get("id_token", {}).get("acr") or {}
        values = acr.get("values") or ([acr["value"]] if acr.get("value") else [])
        if values:
            return set(values)
    return set(str(params.get("acr_values", "")).split())


def challenge_for(factor: str, identity: Identity) -> dict:
    if factor == "OTP":
        return {"authFactorType": "OTP", "challenge": identity.otp, "format": "alpha-numeric"}
    if factor == "PIN":
        return {"authFactorType": "PIN", "challenge": identity.pin, "format": "number"}
    if factor == "PWD":
        return {"authFactorType": "PWD", "challenge": identity.password, "format": "alpha-numeric"}
    if factor == "KBI":
        answers = {"individualId": identity.individual_id, "fullName": identity.full_name["eng"],
                   "dateOfBirth": identity.date_of_birth}
        return {"authFactorType": "KBI", "challenge": b64url(json.dumps(answers).encode()),
                "format": "base64url-encoded-json"}
    raise ValueError(factor)


class UiSession:
    """One browser as oidc-ui drives the UI API: the XSRF cookie and header, and the transaction headers."""

    def __init__(self, op: "OP"):
        self.op = op
        self.http = new_session()
        r = self.http.get(op.api("/csrf/token"), timeout=30)
        assert r.status_code == 200, r.text
        body = r.json()
        self.csrf_header = body.get("headerName") or "X-XSRF-TOKEN"
        self.csrf = body["token"]
        assert r.cookies.get("XSRF-TOKEN") == self.csrf, f"XSRF-TOKEN cookie not set: {r.headers}"
        if self.http.cookies.get("XSRF-TOKEN") != self.csrf:
            self.http.cookies.set("XSRF-TOKEN", self.csrf)

    def post(self, path: str, request: Any = None, *, details: OAuthDetails | None = None,
             body: bytes | str | None = None, headers: dict | None = None, offset_seconds: float = 0.0,
             content_type: str | None = "application/json", csrf: bool = True) -> requests.Response:
        h = {}
        if content_type:
            h["Content-Type"] = content_type
        if csrf:
            h[self.csrf_header] = self.csrf
        if details is not None:
            h["oauth-details-key"] = details.transaction_id
            h["oauth-details-hash"] = details.hash
        h.update(headers or {})
        data = body if body is not None else json.dumps(envelope(request, offset_seconds))
        return self.http.post(self.op.api(path), data=data, headers=h, timeout=60)

    # The steps, each returning the raw response (for error tests) or the parsed success (the `*_ok` forms).

    def oauth_details_raw(self, request: dict, version: str = "v3", **kw) -> requests.Response:
        path = "/authorization/oauth-details" if version == "v1" else f"/authorization/{version}/oauth-details"
        return self.post(path, request, **kw)

    def oauth_details(self, request: dict, version: str = "v3") -> OAuthDetails:
        r = self.oauth_details_raw(request, version)
        response = ok_response(r)
        return OAuthDetails(response["transactionId"], response, ui_hash(response), r.text)

    def send_otp(self, details: OAuthDetails, individual_id: str, channels=("email",), **kw) -> requests.Response:
        return self.post("/authorization/send-otp", {"transactionId": details.transaction_id,
                                                     "individualId": individual_id,
                                                     "otpChannels": list(channels)}, details=details, **kw)

    def authenticate(self, details: OAuthDetails, individual_id: str, challenges: list[dict],
                     version: str = "v3", **kw) -> requests.Response:
        path = "/authorization/authenticate" if version == "v1" else f"/authorization/{version}/authenticate"
        return self.post(path, {"transactionId": details.transaction_id, "individualId": individual_id,
                                "challengeList": challenges}, details=details, **kw)

    def auth_code(self, details: OAuthDetails, accepted_claims: list[str], permitted_scopes=(),
                  **kw) -> requests.Response:
        return self.post("/authorization/auth-code", {"transactionId": details.transaction_id,
                                                      "acceptedClaims": list(accepted_claims),
                                                      "permittedAuthorizeScopes": list(permitted_scopes)},
                         details=details, **kw)

    def claim_details(self, details: OAuthDetails) -> requests.Response:
        return self.http.get(self.op.api("/authorization/claim-details"), timeout=60,
                             headers={self.csrf_header: self.csrf, "oauth-details-key": details.transaction_id,
                                      "oauth-details-hash": details.hash})

    def authenticated(self, details: OAuthDetails, identity: Identity, factor: str = "OTP") -> dict:
        """send-otp (for OTP) then v3/authenticate; the authenticate `response`."""
        if factor == "OTP":
            sent = ok_response(self.send_otp(details, identity.individual_id))
            assert sent.get("transactionId") == details.transaction_id, sent
        return ok_response(self.authenticate(details, identity.individual_id, [challenge_for(factor, identity)]))


class OP:
    """The provider under test, as reached over HTTP."""

    def __init__(self, base_url: str, admin: str, data_dir: Path | str, bin_path: str, mock_admin_token: str):
        self.base = base_url.rstrip("/")
        self.admin = admin
        self.data_dir = Path(data_dir)
        self.bin = bin_path
        self.mock_admin_token = mock_admin_token
        self.http = new_session()
        self._admin_token: tuple[float, str] | None = None
        self._discovery: dict | None = None

    # URLs and documents

    def api(self, path: str) -> str:
        return self.base + PREFIX + path

    def url(self, path: str) -> str:
        return self.base + path

    @property
    def issuer(self) -> str:
        demo = self.demo
        return demo["issuer"] if demo else self.base + PREFIX

    @property
    def demo(self) -> dict | None:
        try:
            return json.loads((self.data_dir / "demo.json").read_text())
        except (OSError, ValueError):
            return None

    @property
    def discovery(self) -> dict:
        if self._discovery is None:
            r = self.http.get(self.issuer + "/.well-known/openid-configuration", timeout=30)
            assert r.status_code == 200, r.text
            self._discovery = r.json()
        return self._discovery

    @property
    def token_endpoint(self) -> str:
        return self.discovery["token_endpoint"]

    @property
    def userinfo_endpoint(self) -> str:
        return self.discovery["userinfo_endpoint"]

    @property
    def authorization_endpoint(self) -> str:
        return self.discovery["authorization_endpoint"]

    def jwks(self) -> KeySet:
        r = self.http.get(self.discovery["jwks_uri"], timeout=30)
        assert r.status_code == 200, r.text
        return KeySet.import_key_set(r.json())

    def signing_algs(self) -> list[str]:
        return self.discovery.get("id_token_signing_alg_values_supported") or ["RS256"]

    # Operator actions

    def admin_token(self) -> str:
        if self._admin_token and time.monotonic() - self._admin_token[0] < 240:
            return self._admin_token[1]
        out = subprocess.run([self.bin, "admin-token", "--admin", self.admin, "--data-dir", str(self.data_dir)],
                             capture_output=True, text=True, timeout=60, cwd=ROOT)
        assert out.returncode == 0, f"esignet admin-token failed: {out.stderr}"
        token = out.stdout.strip().splitlines()[-1].strip()
        self._admin_token = (time.monotonic(), token)
        return token

    def client_mgmt(self, method: str, path: str, request: dict) -> requests.Response:
        return self.http.request(method, self.api("/client-mgmt" + path), json=envelope(request), timeout=60,
                                 headers={"Authorization": f"Bearer {self.admin_token()}"})

    def register_client(self, alg: str = "RS256", *, redirect_uris: list[str] | None = None,
                        user_claims: list[str] | None = None, acrs: list[str] | None = None,
                        additional_config: dict | None = None, prefix: str = "bb") -> Client:
        key = new_signing_key(alg)
        client_id = f"{prefix}-{uuid.uuid4().hex[:12]}"
        public = key.as_dict(private=False)
        public.update({"alg": alg, "use": "sig"})
        redirect_uris = redirect_uris or ["https://rp.test/cb"]
        user_claims = user_claims or list(USER_CLAIMS)
        acrs = acrs or list(ALL_ACRS)
        additional_config = {"userinfo_response_type": "JWS", "consent_expire_in_mins": 60,
                             **(additional_config or {})}
        request = {
            "clientId": client_id, "clientName": f"Black-box RP {client_id}",
            "clientNameLangMap": {"eng": "Black-box RP", "fra": "RP boîte noire"},
            "relyingPartyId": f"rp-{client_id}", "logoUri": "https://rp.test/logo.png",
            "redirectUris": redirect_uris, "userClaims": user_claims, "authContextRefs": acrs,
            "grantTypes": ["authorization_code"], "clientAuthMethods": ["private_key_jwt"],
            "publicKey": public, "additionalConfig": additional_config,
        }
        r = self.client_mgmt("POST", "/client", request)
        response = ok_response(r)
        assert response.get("clientId") == client_id, response
        return Client(client_id, key, alg, redirect_uris, user_claims, acrs, additional_config)

    def enable_jwe(self, client: Client) -> Client:
        """PATCH an RSA encryption key and `userinfo_response_type=JWE` onto the client (reference §2.5)."""
        enc = RSAKey.generate_key(2048, auto_kid=True)
        public = enc.as_dict(private=False)
        public.update({"use": "enc", "alg": "RSA-OAEP-256"})
        config = {**client.additional_config, "userinfo_response_type": "JWE"}
        r = self.client_mgmt("PATCH", f"/client/{client.client_id}", {"encPublicKey": public,
                                                                       "additionalConfig": config})
        ok_response(r)
        client.enc_key = enc
        client.additional_config = config
        return client

    def demo_client(self) -> Client:
        demo = self.demo
        assert demo is not None, f"the host wrote no demo.json in {self.data_dir} (demo seeding did not run)"
        jwk_dict = demo["client_private_jwk"]
        key = ECKey.import_key(jwk_dict) if jwk_dict.get("kty") == "EC" else RSAKey.import_key(jwk_dict)
        alg = jwk_dict.get("alg") or ("ES256" if jwk_dict.get("kty") == "EC" else "RS256")
        client_json = json.loads((ROOT / "demo" / "client.json").read_text())
        return Client(demo["client_id"], key, alg, [demo["redirect_uri"]], client_json["userClaims"],
                      client_json["authContextRefs"], client_json.get("additionalConfig", {}))

    def create_identity(self, *, pin: bool = True, password: bool = True, **overrides) -> Identity:
        """A fresh identity in the mock identity system (admin API with the test bearer token)."""
        individual_id = "7" + "".join(secrets.choice(string.digits) for _ in range(9))
        pin_value = "".join(secrets.choice(string.digits) for _ in range(6)) if pin else None
        password_value = ("Pw" + secrets.token_hex(6)) if password else None
        suffix = secrets.token_hex(2)
        full_name = {"eng": f"Amina Tester {suffix}", "fra": f"Amina Testeuse {suffix}",
                     "ara": f"أمينة المختبرة {suffix}"}
        request = {
            "individualId": individual_id,
            "fullName": [{"language": k, "value": v} for k, v in full_name.items()],
            "givenName": [{"language": "eng", "value": "Amina"}, {"language": "fra", "value": "Amina"}],
            "familyName": [{"language": "eng", "value": f"Tester {suffix}"},
                           {"language": "fra", "value": f"Testeuse {suffix}"}],
            "gender": [{"language": "eng", "value": "Female"}, {"language": "fra", "value": "Femme"}],
            "streetAddress": [{"language": "eng", "value": "1 Test Street"}],
            "locality": [{"language": "eng", "value": "Testville"}, {"language": "fra", "value": "Testville"}],
            "region": [{"language": "eng", "value": "North"}, {"language": "fra", "value": "Nord"}],
            "country": [{"language": "eng", "value": "Testland"}],
            "preferredLang": "eng",
            "dateOfBirth": "1987/11/25",
            "postalCode": "12345",
            "encodedPhoto": "iVBORw0KGgoAAAANSUhEUg",
            "email": f"amina.{suffix}@example.com",
            "phone": "+91" + "".join(secrets.choice(string.digits) for _ in range(10)),
        }
        if pin_value:
            request["pin"] = pin_value
        if password_value:
            request["password"] = password_value
        request.update(overrides)
        r = self.http.post(self.url(MOCK_PREFIX + "/identity"), json=envelope(request), timeout=60,
                           headers={"Authorization": f"Bearer {self.mock_admin_token}"})
        ok_response(r)
        return Identity(individual_id, pin_value, password_value, DEMO_OTP, full_name, "1987-11-25",
                        request["email"], request["phone"])

    def demo_identity(self, index: int = 0) -> Identity:
        demo = self.demo
        assert demo is not None and demo.get("identities"), f"no demo identities in {self.data_dir}/demo.json"
        i = demo["identities"][index]
        return Identity(str(i["individual_id"]), str(i.get("pin") or "") or None,
                        str(i.get("password") or "") or None, str(i.get("otp") or DEMO_OTP))

    def ui(self) -> UiSession:
        return UiSession(self)

    # Relying-party side

    def authorization_params(self, client: Client, *, scope: str = "openid profile", pkce: bool = True,
                             nonce: bool = True, **extra) -> tuple[dict, str | None]:
        """Parameters of an authorization request (snake_case) and the PKCE verifier."""
        params: dict[str, Any] = {"response_type": "code", "client_id": client.client_id,
                                  "redirect_uri": client.redirect_uri, "scope": scope, "state": random_text()}
        if nonce:
            params["nonce"] = random_text()
        verifier = None
        if pkce:
            verifier, challenge = pkce_pair()
            params.update(code_challenge=challenge, code_challenge_method="S256")
        for k, v in extra.items():
            if v is None:
                params.pop(k, None)
            else:
                params[k] = v
        return params, verifier

    def authorize(self, params: dict | str, method: str = "GET") -> requests.Response:
        """The front-channel request; redirects are not followed (the test inspects them)."""
        if method == "GET":
            query = params if isinstance(params, str) else urllib.parse.urlencode(params, quote_via=urllib.parse.quote)
            return self.http.get(self.authorization_endpoint + "?" + query, allow_redirects=False, timeout=60)
        return self.http.post(self.authorization_endpoint, data=params, allow_redirects=False, timeout=60)

    def login_page_query(self, params: dict) -> dict[str, str]:
        """GET /authorize, expect the 302 to the provider's login page, and return the query it carries."""
        r = self.authorize(params)
        assert r.status_code in (302, 303), f"/authorize answered {r.status_code}: {r.text[:300]}"
        location = r.headers["location"]
        target = urllib.parse.urljoin(self.authorization_endpoint, location)
        assert target.startswith(self.base + "/"), f"/authorize left the provider: {location}"
        assert urllib.parse.urlsplit(target).path.startswith(PREFIX + "/login"), location
        query = query_of(target)
        for k, v in params.items():
            assert query.get(k) == str(v), f"login page lost {k}: {query.get(k)!r} != {v!r}"
        return query

    def client_assertion(self, client: Client, *, aud: str | list | None = None, alg: str | None = None,
                         header: dict | None = None, key=None, **claims) -> str:
        """A `private_key_jwt` assertion (RFC 7523) signed with joserfc; a claim given as None is left out."""
        now = int(time.time())
        payload: dict[str, Any] = {"iss": client.client_id, "sub": client.client_id,
                                   "aud": aud if aud is not None else self.token_endpoint,
                                   "iat": now, "exp": now + 60, "jti": str(uuid.uuid4())}
        for k, v in claims.items():
            if v is None:
                payload.pop(k, None)
            else:
                payload[k] = v
        alg = alg or client.alg
        head = {"alg": alg, "kid": (key or client.key).kid, "typ": "JWT"}
        for k, v in (header or {}).items():
            if v is None:
                head.pop(k, None)
            else:
                head[k] = v
        return jwt.encode(head, payload, key or client.key, algorithms=[alg])

    def token_request(self, form: dict | str, headers: dict | None = None) -> requests.Response:
        h = {"Content-Type": "application/x-www-form-urlencoded"}
        h.update(headers or {})
        data = form if isinstance(form, str) else urllib.parse.urlencode(form)
        return self.http.post(self.token_endpoint, data=data, headers=h, timeout=60)

    def token_form(self, client: Client, code: str | None, verifier: str | None, *,
                   redirect_uri: str | None = None, assertion: str | None = None, **extra) -> dict:
        form: dict[str, Any] = {"grant_type": "authorization_code", "code": code,
                                "redirect_uri": redirect_uri or client.redirect_uri,
                                "client_id": client.client_id, "client_assertion_type": JWT_BEARER,
                                "client_assertion": assertion or self.client_assertion(client),
                                "code_verifier": verifier}
        for k, v in extra.items():
            form[k] = v
        return {k: v for k, v in form.items() if v is not None}

    def token(self, client: Client, login: LoginResult, **extra) -> requests.Response:
        return self.token_request(self.token_form(client, login.code, login.verifier,
                                                  redirect_uri=login.redirect_uri, **extra))

    def userinfo(self, access_token: str | None, scheme: str = "Bearer") -> requests.Response:
        headers = {} if access_token is None else {"Authorization": f"{scheme} {access_token}"}
        return self.http.get(self.userinfo_endpoint, headers=headers, timeout=60)

    # Verification with joserfc

    def verify_jws(self, token: str, algorithms: list[str] | None = None) -> jwt.Token:
        keys = self.jwks()
        header, _ = jwt_parts(token)
        assert header.get("kid"), f"JWS without kid: {header}"
        assert any(k.kid == header["kid"] for k in keys.keys), f"kid {header['kid']} not in JWKS"
        return jwt.decode(token, keys, algorithms=algorithms or self.signing_algs())

    def verify_access_token(self, token: str) -> jwt.Token:
        """Checks an access token (RFC 9068): `typ` at+jwt, ES256 with a `kid` of the JWKS whose key is a P-256 key
        published for ES256 (the ID-token keys are RSA); returns the verified token."""
        header, _ = jwt_parts(token)
        assert header.get("typ") == "at+jwt", header
        assert header.get("alg") == ACCESS_TOKEN_ALG, header
        published = {k["kid"]: k for k in self.http.get(self.discovery["jwks_uri"], timeout=30).json()["keys"]}
        key = published.get(header.get("kid"))
        assert key is not None, f"access token kid {header.get('kid')} not in the JWKS"
        assert key["kty"] == "EC" and key.get("crv") == "P-256" and key.get("alg") == ACCESS_TOKEN_ALG, key
        return self.verify_jws(token, algorithms=[ACCESS_TOKEN_ALG])

    def verify_tokens(self, client: Client, tokens: dict, login: LoginResult | None = None) -> dict:
        """Checks a token response's ID token (OIDC Core §2, §3.1.3.7) and returns its claims."""
        assert tokens.get("token_type", "").lower() in ("bearer", "dpop"), tokens
        assert isinstance(tokens.get("expires_in"), int) and tokens["expires_in"] > 0, tokens
        idt = self.verify_jws(tokens["id_token"])
        c = idt.claims
        now = time.time()
        assert c["iss"] == self.issuer, c
        aud = c["aud"] if isinstance(c["aud"], list) else [c["aud"]]
        assert client.client_id in aud, c
        if isinstance(c["aud"], list) and len(aud) > 1:
            assert c.get("azp") == client.client_id, c
        assert isinstance(c.get("sub"), str) and c["sub"], c
        assert isinstance(c["iat"], int) and isinstance(c["exp"], int) and c["exp"] > c["iat"], c
        assert c["iat"] <= now + 5 and c["exp"] > now, c
        assert c["at_hash"] == at_hash(tokens["access_token"], idt.header["alg"]), c
        if login is not None:
            if login.nonce is not None:
                assert c.get("nonce") == login.nonce, c
            else:
                assert "nonce" not in c, c
            assert isinstance(c.get("auth_time"), int), c
            assert login.started_at - 5 <= c["auth_time"] <= now + 5, (login.started_at, c)
            # `acr`: the requested ACRs that the factor actually used satisfies (reference §3.4, OIDC Core §2).
            offered = requested_acrs(login.params) or set(client.acrs)
            assert set(str(c.get("acr", "")).split()) == {FACTOR_ACR[login.factor]} & offered, \
                f"acr {c.get('acr')!r} after a {login.factor} login (offered {sorted(offered)})"
        return c

    def read_userinfo(self, client: Client, resp: requests.Response) -> dict:
        """Checks a userinfo answer (OIDC Core §5.3.2, ES-11) and returns its claims."""
        assert resp.status_code == 200, f"userinfo {resp.status_code}: {resp.headers} {resp.text[:300]}"
        assert resp.headers.get("content-type", "").split(";")[0].strip() == "application/jwt", resp.headers
        body = resp.text.strip()
        if client.additional_config.get("userinfo_response_type") == "JWE":
            assert body.count(".") == 4, f"expected a compact JWE, got {body[:80]}"
            header = json.loads(b64url_decode(body.split(".")[0]))
            assert header["alg"] in self.discovery.get("userinfo_encryption_alg_values_supported", []), header
            assert header["enc"] in self.discovery.get("userinfo_encryption_enc_values_supported", []), header
            plain = jwe.decrypt_compact(body, client.enc_key, algorithms=[header["alg"], header["enc"]])
            body = plain.plaintext.decode()
        assert body.count(".") == 2, f"expected a compact JWS, got {body[:80]}"
        algs = self.discovery.get("userinfo_signing_alg_values_supported") or self.signing_algs()
        header, _ = jwt_parts(body)
        assert header["alg"] in algs, (header, algs)
        claims = self.verify_jws(body, algorithms=algs).claims
        assert claims["iss"] == self.issuer, claims
        assert claims["aud"] == client.client_id or claims["aud"] == [client.client_id], claims
        return claims

    # The whole login

    def login(self, client: Client, identity: Identity, *, factor: str = "OTP", scope: str = "openid profile",
              pkce: bool = True, nonce: bool = True, accept: Iterable[str] | None = None,
              via_authorize: bool = True, ui: UiSession | None = None, **extra) -> LoginResult:
        """authorize → login page → oauth-details → send-otp → authenticate → (consent) auth-code.

        `accept`: the claims the user allows on the consent screen (default: every requested claim). With
        NOCAPTURE the consent screen is skipped and nothing is sent, as the stored consent applies.
        """
        params, verifier = self.authorization_params(client, scope=scope, pkce=pkce, nonce=nonce, **extra)
        started = int(time.time())
        query = self.login_page_query(params) if via_authorize else {k: str(v) for k, v in params.items()}
        ui = ui or self.ui()
        details = ui.oauth_details(oauth_details_request(query))
        assert details.response.get("redirectUri") == client.redirect_uri, details.response
        auth = ui.authenticated(details, identity, factor)
        assert auth.get("transactionId") == details.transaction_id, auth
        action = auth.get("consentAction")
        assert action in ("CAPTURE", "NOCAPTURE"), auth
        if action == "CAPTURE":
            requested = details.essential_claims + details.voluntary_claims
            accepted = list(requested) if accept is None else [c for c in requested if c in set(accept)]
            accepted = sorted(set(accepted) | set(details.essential_claims), key=requested.index)
        else:
            accepted = []
        code_resp = ok_response(ui.auth_code(details, accepted))
        assert code_resp.get("code"), code_resp
        assert code_resp.get("redirectUri") == client.redirect_uri, code_resp
        assert code_resp.get("state") == params.get("state"), (code_resp.get("state"), params.get("state"))
        return LoginResult(code_resp["code"], params.get("state"), params.get("nonce"), verifier,
                           client.redirect_uri, action, accepted, details, code_resp, params, started, factor)

    def tokens(self, client: Client, login: LoginResult) -> dict:
        r = self.token(client, login)
        assert r.status_code == 200, f"token {r.status_code}: {r.text[:500]}"
        assert "no-store" in r.headers.get("cache-control", ""), r.headers
        return r.json()


# --------------------------------------------------------------------------------------------------------------
# Fixtures
# --------------------------------------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def op():
    """The provider started by `run` (or by this session when run alone)."""
    url = os.environ.get("ESIGNET_URL")
    if url:
        yield OP(url, os.environ["ESIGNET_ADMIN"], os.environ["ESIGNET_DATA_DIR"], default_bin(),
                 os.environ.get("ESIGNET_MOCK_ADMIN_TOKEN", ""))
        return
    global MAIN_DATA_DIR
    host = Host(name="session")
    MAIN_DATA_DIR = host.data_dir
    try:
        host.start()
    except RuntimeError as e:
        pytest.exit(f"cannot start the host: {e}", returncode=1)
    try:
        yield OP(host.url, host.admin, host.data_dir, host.bin, host.mock_admin_token)
    finally:
        host.stop()


@pytest.fixture
def identity(op) -> Identity:
    """A fresh identity with PIN and password (fresh per test: consent, attempts and blocks never leak)."""
    return op.create_identity()


@pytest.fixture(scope="session")
def client_rs(op) -> Client:
    """CLIENT_A: RS256 key, redirect https://rp.test/cb, all four ACRs, the demo's claims."""
    return op.register_client("RS256")


@pytest.fixture(scope="session")
def client_b(op) -> Client:
    """CLIENT_B: a second, independent client (ES256 key), redirect https://rp-b.test/cb."""
    return op.register_client("ES256", redirect_uris=["https://rp-b.test/cb"])


@pytest.fixture(scope="session")
def client_p(op) -> Client:
    """CLIENT_P: `additionalConfig.require_pkce=true`."""
    return op.register_client("RS256", additional_config={"require_pkce": True})


@pytest.fixture(scope="session")
def client_w(op) -> Client:
    """CLIENT_W: redirect registered as the wildcard pattern https://rp.test/userprofile/*."""
    return op.register_client("RS256", redirect_uris=["https://rp.test/userprofile/*"])


@pytest.fixture(scope="session")
def client_app(op) -> Client:
    """A client with an https and a private-use-scheme redirect (RFC 8252 §7.1)."""
    return op.register_client("RS256", redirect_uris=["https://rp.test/cb", "io.rp.app:/cb"])


@pytest.fixture(scope="session")
def client_jwe(op) -> Client:
    """A client with `userinfo_response_type=JWE` and an RSA encryption key."""
    return op.enable_jwe(op.register_client("RS256"))


@pytest.fixture(scope="session")
def demo_client(op) -> Client:
    return op.demo_client()
