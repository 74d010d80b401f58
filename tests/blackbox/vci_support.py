"""Helpers of the credential-issuance tests (test_vci.py): the issuer's documents, wallet-side proofs and keys, and
the independent checks of issued credentials (`sd-jwt` + joserfc for SD-JWT VC, joserfc for jwt_vc_json).

Nothing here uses the project's own code: proofs are minted with joserfc, certificates with `cryptography`, and
credentials are verified against the keys the issuer publishes (`/.well-known/jwt-vc-issuer`, `did.json`).
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
import time
import uuid
from typing import Any

import requests
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from jwcrypto.jwk import JWK
from joserfc import jwt
from joserfc.jwk import ECKey, KeySet, OKPKey, RSAKey
from sd_jwt.verifier import SDJWTVerifier

from conftest import (OP, PREFIX, Client, Identity, b64url, b64url_decode, jwt_parts, oauth_details_request,
                      ok_response)

SD_CONFIG = "MosipIdentitySdJwt"
VC_CONFIG = "MosipIdentityJwtVc"
SD_SCOPE = "mosip_identity_vc_sd_jwt"
VC_SCOPE = "mosip_identity_vc_jwt"
PROOF_TYP = "openid4vci-proof+jwt"
ERROR_MEMBERS = {"error", "error_description"}
BASE58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"


def metadata_url(op: OP) -> str:
    """The OpenID4VCI 1.0 location: the well-known suffix inserted between host and the issuer's path."""
    return op.url("/.well-known/openid-credential-issuer" + PREFIX)


def metadata(op: OP) -> dict:
    r = op.http.get(metadata_url(op), timeout=30)
    assert r.status_code == 200, r.text
    return r.json()


def issuer_jwks(op: OP) -> dict:
    r = op.http.get(op.url("/.well-known/jwt-vc-issuer" + PREFIX), timeout=30)
    assert r.status_code == 200, r.text
    doc = r.json()
    assert doc["issuer"] == op.issuer, doc
    return doc["jwks"]


def did_document(op: OP) -> dict:
    r = op.http.get(op.url("/.well-known/did.json"), timeout=30)
    assert r.status_code == 200, r.text
    return r.json()


def new_nonce(op: OP) -> str:
    r = op.http.post(metadata(op)["nonce_endpoint"], timeout=30)
    assert r.status_code == 200, r.text
    return r.json()["c_nonce"]


# ----------------------------------------------------------------------------------------------------------------
# Holder keys and proofs
# ----------------------------------------------------------------------------------------------------------------


def holder_key(alg: str = "ES256"):
    if alg == "ES256":
        return ECKey.generate_key("P-256")
    if alg in ("RS256", "PS256"):
        return RSAKey.generate_key(2048)
    if alg == "EdDSA":
        return OKPKey.generate_key("Ed25519")
    raise ValueError(alg)


def public_jwk(key) -> dict:
    return {k: v for k, v in key.as_dict(private=False).items() if k in ("kty", "crv", "x", "y", "n", "e")}


def did_jwk(key) -> str:
    return "did:jwk:" + b64url(json.dumps(public_jwk(key), separators=(",", ":")).encode())


def did_key_ed25519(key) -> str:
    raw = b64url_decode(public_jwk(key)["x"])
    data = b"\xed\x01" + raw
    n = int.from_bytes(data, "big")
    out = ""
    while n:
        n, r = divmod(n, 58)
        out = BASE58[r] + out
    out = "1" * (len(data) - len(data.lstrip(b"\0"))) + out
    return "did:key:z" + out


def self_signed_cert(key: ECKey) -> str:
    """A self-signed certificate for an EC holder key, base64 DER (x5c member)."""
    private = key.private_key
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "wallet holder")])
    now = dt.datetime.now(dt.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(private.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - dt.timedelta(minutes=1))
            .not_valid_after(now + dt.timedelta(days=1)).sign(private, hashes.SHA256()))
    return base64.b64encode(cert.public_bytes(serialization.Encoding.DER)).decode()


def proof(key, *, aud: str | None, nonce: str | None, alg: str | None = None, header: dict | None = None,
          **claims) -> str:
    """A `jwt` proof: header `typ`, `alg`, `jwk` unless `header` says otherwise (None removes a member)."""
    alg = alg or {"EC": "ES256", "RSA": "RS256", "OKP": "EdDSA"}[key.key_type]
    head: dict[str, Any] = {"typ": PROOF_TYP, "alg": alg, "jwk": public_jwk(key)}
    for k, v in (header or {}).items():
        if v is None:
            head.pop(k, None)
        else:
            head[k] = v
    payload: dict[str, Any] = {"aud": aud, "iat": int(time.time()), "nonce": nonce}
    payload.update(claims)
    payload = {k: v for k, v in payload.items() if v is not None}
    return jwt.encode(head, payload, key, algorithms=[alg])


def unsigned(header: dict, payload: dict) -> str:
    """A JWS with `alg: none` and an empty signature."""
    return (b64url(json.dumps(header).encode()) + "." + b64url(json.dumps(payload).encode()) + ".")


def tampered(token: str) -> str:
    """The same JWS with one signature byte changed."""
    h, p, s = token.split(".")
    raw = bytearray(b64url_decode(s))
    raw[0] ^= 0x01
    return f"{h}.{p}.{b64url(bytes(raw))}"


# ----------------------------------------------------------------------------------------------------------------
# Requests and errors
# ----------------------------------------------------------------------------------------------------------------


def credential_request(op: OP, token: str | None, body: Any, *, content_type: str = "application/json",
                       headers: dict | None = None, params: dict | None = None) -> requests.Response:
    h = {"Content-Type": content_type}
    if token is not None:
        h["Authorization"] = f"Bearer {token}"
    h.update(headers or {})
    data = body if isinstance(body, (str, bytes)) else json.dumps(body)
    return op.http.post(metadata(op)["credential_endpoint"], data=data, headers=h, params=params, timeout=60)


def request_body(config_id: str, *proofs: str, **extra) -> dict:
    body: dict[str, Any] = {"credential_configuration_id": config_id, "proofs": {"jwt": list(proofs)}}
    body.update(extra)
    return body


def assert_vci_error(resp: requests.Response, code: str, status: int = 400) -> dict:
    """A spec error (OpenID4VCI §8.3.1): the status, JSON {error, error_description?} and nothing else, ASCII
    description, `no-store`, never `application/jwt`."""
    assert resp.status_code == status, f"expected {status} {code}, got {resp.status_code}: {resp.text[:400]}"
    assert resp.headers.get("content-type", "").split(";")[0] == "application/json", resp.headers
    assert "no-store" in resp.headers.get("cache-control", ""), resp.headers
    body = resp.json()
    assert body.get("error") == code, f"expected {code}, got {body}"
    assert set(body) <= ERROR_MEMBERS, body
    description = body.get("error_description", "")
    assert all(0x20 <= ord(c) <= 0x7E and c not in '"\\' for c in description), description
    return body


def assert_bearer_error(resp: requests.Response, status: int, code: str | None) -> None:
    """An RFC 6750 refusal: status, a Bearer challenge naming `code` (bare when None)."""
    assert resp.status_code == status, f"expected {status}, got {resp.status_code}: {resp.text[:300]}"
    challenge = resp.headers.get("www-authenticate", "")
    assert challenge.startswith("Bearer"), resp.headers
    if code is None:
        assert "error=" not in challenge, challenge
    else:
        assert f'error="{code}"' in challenge, challenge


# ----------------------------------------------------------------------------------------------------------------
# Logins with credential scopes
# ----------------------------------------------------------------------------------------------------------------


class CredentialToken:
    """A credential-scoped access token, renewed by a fresh login when older than four minutes."""

    def __init__(self, op: OP, client: Client, identity: Identity, scope: str):
        self.op, self.client, self.identity, self.scope = op, client, identity, scope
        self._at: tuple[float, dict] | None = None

    def response(self) -> dict:
        if self._at is None or time.monotonic() - self._at[0] > 240:
            self._at = (time.monotonic(), credential_token(self.op, self.client, self.identity, self.scope))
        return self._at[1]

    @property
    def access_token(self) -> str:
        return self.response()["access_token"]


def credential_token(op: OP, client: Client, identity: Identity, scope: str) -> dict:
    login = op.login(client, identity, scope=scope)
    r = op.token(client, login)
    assert r.status_code == 200, f"token {r.status_code}: {r.text[:400]}"
    return r.json()


# ----------------------------------------------------------------------------------------------------------------
# Independent verification of issued credentials
# ----------------------------------------------------------------------------------------------------------------


def expected_claims(identity: Identity) -> dict:
    """What the mock identity system releases for the test identities of conftest.create_identity."""
    full = identity.full_name["eng"]
    return {"name": full, "given_name": "Amina", "family_name": full.split(" ", 1)[1], "gender": "Female",
            "birthdate": identity.date_of_birth, "email": identity.email, "phone_number": identity.phone,
            "locale": "en"}


def verify_sd_jwt(op: OP, credential: str, holder, config: dict) -> dict:
    """Verifies an SD-JWT VC with `sd-jwt` (signature, digests) plus our SD-JWT VC checks; returns the claims."""
    assert credential.endswith("~") and credential.count("~") >= 2, credential[:80]
    issuer_jwt, *disclosures = credential.split("~")[:-1]
    header, payload = jwt_parts(issuer_jwt)
    assert header["typ"] == "dc+sd-jwt" and header["alg"] == "ES256", header
    keys = {k["kid"]: k for k in issuer_jwks(op)["keys"]}
    assert header["kid"] in keys, (header, list(keys))
    assert all("d" not in k for k in keys.values())
    jwt.decode(issuer_jwt, KeySet.import_key_set({"keys": [keys[header["kid"]]]}), algorithms=["ES256"])

    def issuer_key(iss: str, jose_header: dict):
        assert iss == op.issuer, iss
        return JWK.from_json(json.dumps(keys[jose_header["kid"]]))

    claims = SDJWTVerifier(credential, issuer_key).get_verified_payload()
    now = time.time()
    assert payload["iss"] == op.issuer and payload["vct"] == config["vct"], payload
    assert payload["_sd_alg"] == "sha-256", payload
    assert payload["iat"] <= now + 5 < payload["exp"], payload
    assert payload["cnf"]["jwk"] == public_jwk(holder), (payload["cnf"], public_jwk(holder))
    digests = [b64url(hashlib.sha256(d.encode("ascii")).digest()) for d in disclosures]
    assert sorted(digests) == sorted(payload["_sd"]) and len(set(digests)) == len(digests), payload["_sd"]
    salts = [json.loads(b64url_decode(d))[0] for d in disclosures]
    assert len(set(salts)) == len(salts) and all(len(b64url_decode(s)) >= 16 for s in salts), salts
    return claims


def verify_jwt_vc(op: OP, credential: str, holder, config: dict, holder_did: str | None = None) -> dict:
    """Verifies a jwt_vc_json credential with the key of the issuer's did:web document; returns the payload."""
    header, _ = jwt_parts(credential)
    did = did_document(op)
    methods = {m["id"]: m for m in did["verificationMethod"]}
    method = methods[f"{did['id']}#{header['kid']}"]
    assert method["id"] in did["assertionMethod"], did
    token = jwt.decode(credential, KeySet.import_key_set({"keys": [method["publicKeyJwk"]]}), algorithms=["ES256"])
    c = token.claims
    now = time.time()
    assert c["iss"] == did["id"] == c["vc"]["issuer"], c
    assert c["sub"] == c["vc"]["credentialSubject"]["id"], c
    if holder_did is not None:
        assert c["sub"] == holder_did, (c["sub"], holder_did)
    else:
        assert c["sub"].startswith("did:jwk:") and "=" not in c["sub"], c["sub"]
        assert json.loads(b64url_decode(c["sub"][len("did:jwk:"):])) == public_jwk(holder), c["sub"]
    assert set(config["credential_definition"]["type"]) <= set(c["vc"]["type"]), c["vc"]["type"]
    assert c["nbf"] <= now + 5 < c["exp"], c
    assert c["jti"].startswith("urn:uuid:") and uuid.UUID(c["jti"][9:]).version == 4, c["jti"]
    return c


# ----------------------------------------------------------------------------------------------------------------
# Driving an independent wallet (tests/vci-wallet)
# ----------------------------------------------------------------------------------------------------------------


def login_with_params(op: OP, identity: Identity, params: dict) -> dict:
    """The user's part of a login someone else started: the authorization request's own parameters go through
    /authorize → login page → oauth-details → OTP → auth-code; returns the auth-code response."""
    query = op.login_page_query(params)
    ui = op.ui()
    details = ui.oauth_details(oauth_details_request(query))
    auth = ui.authenticated(details, identity)
    assert auth.get("consentAction") in ("CAPTURE", "NOCAPTURE"), auth
    return ok_response(ui.auth_code(details, []))
