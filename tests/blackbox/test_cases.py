"""The public conformance cases (shared/cases/public-cases.md) that the login flow covers, mapped to our paths.

Endpoint map: AUTHZ = GET <issuer>/authorize (302 to <issuer>/login or back to the client), OAUTH_DETAILS =
/authorization/v3/oauth-details, TOKEN = the discovery token_endpoint (/oauth/v2/token), USERINFO = the
discovery userinfo_endpoint, JWKS = the discovery jwks_uri. PAR is not implemented by this provider, so the PAR
halves of ES-01, ES-02 and ES-06 are not applicable (noted where they occur); their token-endpoint and
authorize halves are tested. No request anywhere may be answered with a 5xx (checked by conftest for every test).
"""

from __future__ import annotations

import concurrent.futures
import json
import secrets
import time
import urllib.parse
import uuid

import pytest

from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import RSAKey

from conftest import (OP, PREFIX, PRODUCTION, Client, assert_esignet_error, assert_oauth_error, b64url,
                      b64url_decode, jwt_parts, oauth_details_request, ok_response, pkce_pair, query_of,
                      random_text)

INVALID_CLIENT_STATUSES = (400, 401)


def fresh_code(op: OP, client: Client, identity, **kw):
    return op.login(client, identity, **kw)


def redirect_target(op: OP, resp) -> str:
    assert resp.status_code in (302, 303), f"expected a redirect, got {resp.status_code}: {resp.text[:300]}"
    return urllib.parse.urljoin(op.authorization_endpoint, resp.headers["location"])


def assert_error_redirect(op: OP, resp, redirect_uri: str, state: str, errors) -> dict:
    """An authorization error delivered to the client: redirect_uri?error=..&state=.. (and iss), no code."""
    target = redirect_target(op, resp)
    assert target.split("?", 1)[0] == redirect_uri.split("?", 1)[0], target
    q = query_of(target)
    wanted = {errors} if isinstance(errors, str) else set(errors)
    assert q.get("error") in wanted, q
    assert q.get("state") == state, (q.get("state"), state)
    assert "code" not in q, q
    if op.discovery.get("authorization_response_iss_parameter_supported"):
        assert q.get("iss") == op.issuer, q  # RFC 9207 §2: error responses carry iss too
    elif "iss" in q:
        assert q["iss"] == op.issuer, q
    return q


def assert_own_error_page(op: OP, resp, *not_to: str):
    """The OP shows its own error: no navigation to the supplied or any registered URI (RFC 6749 §4.1.2.1)."""
    if resp.status_code in (301, 302, 303, 307, 308):
        target = urllib.parse.urljoin(op.authorization_endpoint, resp.headers["location"])
        assert target.startswith(op.base + "/"), f"navigated away to {target}"
        for uri in not_to:
            assert not target.startswith(uri), f"navigated to {target}"
    else:
        assert 400 <= resp.status_code < 500, resp.status_code
        for uri in not_to:
            assert uri not in resp.headers.get("location", ""), resp.headers


# --------------------------------------------------------------------------------------------------------------
# Baseline invariants (0.4), on one successful flow
# --------------------------------------------------------------------------------------------------------------


def test_baseline_invariants(op, client_rs, identity):
    state = random_text(128)
    login = op.login(client_rs, identity, state=state, max_age="300")
    assert login.auth_code_response["state"] == state  # echoed byte for byte
    r = op.token(client_rs, login)
    assert r.status_code == 200, r.text
    assert "no-store" in r.headers.get("cache-control", "")
    assert "no-cache" in r.headers.get("pragma", ""), r.headers  # RFC 6749 §5.1
    assert r.headers.get("content-type", "").startswith("application/json"), r.headers
    tokens = r.json()
    assert tokens["token_type"] in ("Bearer", "DPoP")
    c = op.verify_tokens(client_rs, tokens, login)  # iss, aud, exp > iat, nonce, auth_time, acr, at_hash
    assert "auth_time" in c  # max_age was sent
    info = op.read_userinfo(client_rs, op.userinfo(tokens["access_token"]))
    assert info["sub"] == c["sub"]


# --------------------------------------------------------------------------------------------------------------
# ES-01 — client-assertion replay
# --------------------------------------------------------------------------------------------------------------


def test_es01_assertion_replay_is_refused(op, client_rs, identity):
    # (1)/(2) PAR: not applicable, this provider has no PAR endpoint (discovery does not advertise one).
    assert "pushed_authorization_request_endpoint" not in op.discovery
    jti = f"replay-{uuid.uuid4()}"
    a1 = op.client_assertion(client_rs, aud=op.issuer, jti=jti, exp=int(time.time()) + 120)
    first = fresh_code(op, client_rs, identity)
    r1 = op.token(client_rs, first, assertion=a1)
    assert r1.status_code == 200, r1.text
    # (3) a fresh, valid code, but the same assertion: invalid_client, no tokens.
    second = fresh_code(op, client_rs, identity)
    assert_oauth_error(op.token(client_rs, second, assertion=a1), "invalid_client", INVALID_CLIENT_STATUSES)
    # (4) an assertion without jti.
    no_jti = op.client_assertion(client_rs, jti=None)
    assert_oauth_error(op.token(client_rs, second, assertion=no_jti), "invalid_client", INVALID_CLIENT_STATUSES)
    # The refusals did not consume the code: a correct request still redeems it.
    assert op.token(client_rs, second).status_code == 200


def test_es01_jti_store_is_keyed_by_client(op, client_rs, client_b, identity):
    """The same jti value from two different clients is two different assertions."""
    jti = f"shared-{uuid.uuid4()}"
    a = fresh_code(op, client_rs, identity)
    assert op.token(client_rs, a, assertion=op.client_assertion(client_rs, jti=jti)).status_code == 200
    b = fresh_code(op, client_b, identity)
    r = op.token(client_b, b, assertion=op.client_assertion(client_b, jti=jti))
    assert r.status_code == 200, r.text


# --------------------------------------------------------------------------------------------------------------
# ES-02 — assertion time window
# --------------------------------------------------------------------------------------------------------------


def test_es02_assertion_time_window(op, client_rs, identity):
    login = fresh_code(op, client_rs, identity)
    now = int(time.time())
    # (a) iat an hour ahead. (PAR half: not applicable.)
    a = op.client_assertion(client_rs, iat=now + 3600, exp=now + 7200)
    assert_oauth_error(op.token(client_rs, login, assertion=a), "invalid_client", INVALID_CLIENT_STATUSES)
    # (b) a 24-hour assertion: over the pinned maximum lifetime (5 minutes). (PAR half: not applicable.)
    b = op.client_assertion(client_rs, iat=now, exp=now + 86400)
    assert_oauth_error(op.token(client_rs, login, assertion=b), "invalid_client", INVALID_CLIENT_STATUSES)
    # (d) expired.
    d = op.client_assertion(client_rs, iat=now - 300, exp=now - 120)
    assert_oauth_error(op.token(client_rs, login, assertion=d), "invalid_client", INVALID_CLIENT_STATUSES)
    # (c) the RP clock 5 s fast: accepted (and the refusals above did not burn the code).
    now = int(time.time())
    c = op.client_assertion(client_rs, iat=now + 5, nbf=now + 5, exp=now + 65)
    r = op.token(client_rs, login, assertion=c)
    assert r.status_code == 200, r.text


def test_es02_lifetime_just_under_the_maximum_is_accepted(op, client_rs, identity):
    login = fresh_code(op, client_rs, identity)
    now = int(time.time())
    r = op.token(client_rs, login, assertion=op.client_assertion(client_rs, iat=now, exp=now + 290))
    assert r.status_code == 200, r.text


# --------------------------------------------------------------------------------------------------------------
# ES-04 — client-authentication error codes
# --------------------------------------------------------------------------------------------------------------


def test_es04_client_authentication_errors(op, client_rs, client_b, identity):
    login = fresh_code(op, client_rs, identity)
    base = op.token_form(client_rs, login.code, login.verifier)
    # (a) no client authentication at all.
    form = {k: v for k, v in base.items() if k not in ("client_assertion", "client_assertion_type")}
    body_a = assert_oauth_error(op.token_request(form), "invalid_client", INVALID_CLIENT_STATUSES)
    assert body_a["error"] != "unauthorized_client"
    # ... and the answer does not depend on whether the code is valid.
    bogus = dict(form, code=b64url(secrets.token_bytes(32)))
    r_bogus = op.token_request(bogus)
    assert (r_bogus.status_code, r_bogus.json().get("error")) == (op.token_request(form).status_code, "invalid_client")
    # (b) the form says CLIENT_B, the assertion proves CLIENT_A.
    assert_oauth_error(op.token_request(dict(base, client_id=client_b.client_id,
                                             client_assertion=op.client_assertion(client_rs))),
                       "invalid_client", INVALID_CLIENT_STATUSES)
    # (c) an unsupported assertion type.
    saml = dict(base, client_assertion_type="urn:ietf:params:oauth:client-assertion-type:saml2-bearer",
                client_assertion=op.client_assertion(client_rs))
    assert_oauth_error(op.token_request(saml), "invalid_client", INVALID_CLIENT_STATUSES)
    # None of that consumed the code.
    r = op.token_request(dict(base, client_assertion=op.client_assertion(client_rs)))
    assert r.status_code == 200, r.text


def test_es04_assertion_signed_with_another_key(op, client_rs, client_b, identity):
    login = fresh_code(op, client_rs, identity)
    forged = op.client_assertion(client_rs, key=client_b.key, alg=client_b.alg)
    assert_oauth_error(op.token(client_rs, login, assertion=forged), "invalid_client", INVALID_CLIENT_STATUSES)
    wrong_aud = op.client_assertion(client_rs, aud="https://elsewhere.test/token")
    assert_oauth_error(op.token(client_rs, login, assertion=wrong_aud), "invalid_client", INVALID_CLIENT_STATUSES)
    other_sub = op.client_assertion(client_rs, sub=client_b.client_id)
    assert_oauth_error(op.token(client_rs, login, assertion=other_sub), "invalid_client", INVALID_CLIENT_STATUSES)
    assert_oauth_error(op.token(client_rs, login, assertion="not.a.jwt"), "invalid_client", INVALID_CLIENT_STATUSES)


def test_es04_assertion_without_kid_is_accepted(op, client_rs, client_b, identity):
    """RFC 7523 §3 asks for no `kid`: with one registered key the provider verifies with it (as eSignet does).
    RP libraries (Authlib's PrivateKeyJWT, for one) send no `kid` by default."""
    for client in (client_rs, client_b):
        login = fresh_code(op, client, identity)
        r = op.token(client, login, assertion=op.client_assertion(client, header={"kid": None}))
        assert r.status_code == 200, f"{client.alg} assertion without kid: {r.status_code} {r.text}"


def test_es04_code_of_another_client(op, client_rs, client_b, identity):
    """An authenticated client redeeming another client's code: invalid_grant (RFC 6749 §4.1.3)."""
    login = fresh_code(op, client_rs, identity)
    form = op.token_form(client_b, login.code, login.verifier, redirect_uri=client_rs.redirect_uri)
    assert_oauth_error(op.token_request(form), "invalid_grant")


# --------------------------------------------------------------------------------------------------------------
# ES-05 — PKCE-bound code redeemed without or with a wrong verifier; pinned policy: a failed check burns the code
# --------------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("variant", ["a-omitted", "b-wrong", "d-malformed"])
def test_es05_pkce_verifier(op, client_rs, identity, variant):
    login = fresh_code(op, client_rs, identity)
    if variant == "a-omitted":
        assert_oauth_error(op.token_request(op.token_form(client_rs, login.code, None)), "invalid_grant")
    elif variant == "b-wrong":
        wrong, _ = pkce_pair()
        assert len(wrong) >= 43 and wrong != login.verifier
        assert_oauth_error(op.token_request(op.token_form(client_rs, login.code, wrong)), "invalid_grant")
    else:
        r = op.token_request(op.token_form(client_rs, login.code, "abc"))
        assert_oauth_error(r, ("invalid_grant", "invalid_request"))
    # (c) the right verifier afterwards: the code was burned by the failed check.
    assert_oauth_error(op.token(client_rs, login), "invalid_grant")


def test_es05_legacy_token_endpoint_does_not_bypass_pkce(op, client_rs, identity):
    """eSignet's deprecated `/oauth/token` knows no PKCE; a PKCE-bound code must not be redeemable there without
    its verifier (that would be a downgrade around ES-05)."""
    login = fresh_code(op, client_rs, identity)
    legacy = op.api("/oauth/token")
    form = op.token_form(client_rs, login.code, None,
                         assertion=op.client_assertion(client_rs, aud=[op.issuer, legacy]))
    r = op.http.post(legacy, data=form, timeout=60)
    assert_oauth_error(r, "invalid_grant")


def test_es05_verifier_without_challenge_is_refused(op, client_rs, identity):
    """A code issued without PKCE redeemed with a verifier: refused (RFC 9700 §2.1.1, PKCE downgrade)."""
    login = fresh_code(op, client_rs, identity, pkce=False)
    verifier, _ = pkce_pair()
    assert_oauth_error(op.token_request(op.token_form(client_rs, login.code, verifier)), "invalid_grant")


# --------------------------------------------------------------------------------------------------------------
# ES-06 — client-level "PKCE required" at authorize and oauth-details (PAR: not applicable)
# --------------------------------------------------------------------------------------------------------------

ES06_VARIANTS = {
    "a-none": {"code_challenge": None, "code_challenge_method": None},
    "b-plain": {"code_challenge_method": "plain"},
    "c-no-method": {"code_challenge_method": None},
    "d-no-challenge": {"code_challenge": None},
    "e-short": {"code_challenge": "A" * 20},
}


@pytest.mark.parametrize("variant", sorted(ES06_VARIANTS))
def test_es06_pkce_required_at_authorize(op, client_p, variant):
    params, _ = op.authorization_params(client_p, **ES06_VARIANTS[variant])
    r = op.authorize(params)
    assert_error_redirect(op, r, client_p.redirect_uri, params["state"], "invalid_request")
    # The same request through the UI API: refused, no transaction.
    ui = op.ui()
    resp = ui.oauth_details_raw(oauth_details_request({k: str(v) for k, v in params.items()}))
    assert_esignet_error(resp, ("invalid_request", "use_pkce", "invalid_pkce_challenge",
                                "unsupported_pkce_challenge_method"))


def test_es06_pkce_required_client_logs_in_with_s256(op, client_p, identity):
    login = op.login(client_p, identity)
    op.verify_tokens(client_p, op.tokens(client_p, login), login)
    assert op.discovery["code_challenge_methods_supported"] == ["S256"]


# --------------------------------------------------------------------------------------------------------------
# ES-08 — code replay: reject and revoke
# --------------------------------------------------------------------------------------------------------------


def test_es08_code_replay_revokes_tokens(op, client_rs, identity):
    login = fresh_code(op, client_rs, identity)
    t1 = op.tokens(client_rs, login)
    assert op.userinfo(t1["access_token"]).status_code == 200
    time.sleep(1)
    assert_oauth_error(op.token(client_rs, login), "invalid_grant")
    r = op.userinfo(t1["access_token"])
    assert r.status_code == 401, r.status_code
    challenge = r.headers.get("www-authenticate", "")
    assert challenge.startswith("Bearer") and 'error="invalid_token"' in challenge, challenge


@pytest.mark.slow
def test_es08_code_replay_after_30_seconds(op, client_rs, identity):
    login = fresh_code(op, client_rs, identity)
    t1 = op.tokens(client_rs, login)
    time.sleep(30)
    assert_oauth_error(op.token(client_rs, login), "invalid_grant")
    assert op.userinfo(t1["access_token"]).status_code == 401


def test_es08_concurrent_redemption_exactly_one_wins(op, client_rs, identity):
    login = fresh_code(op, client_rs, identity)
    forms = [op.token_form(client_rs, login.code, login.verifier) for _ in range(2)]  # two distinct jti
    with concurrent.futures.ThreadPoolExecutor(max_workers=2) as pool:
        results = list(pool.map(op.token_request, forms))
    statuses = sorted(r.status_code for r in results)
    assert statuses == [200, 400], [(r.status_code, r.text[:200]) for r in results]
    loser = next(r for r in results if r.status_code == 400)
    assert loser.json()["error"] == "invalid_grant"


# --------------------------------------------------------------------------------------------------------------
# ES-09 — prompt
# --------------------------------------------------------------------------------------------------------------


def test_es09a_prompt_none_without_session_is_login_required(op, client_rs):
    state = random_text(128)
    params, _ = op.authorization_params(client_rs, prompt="none", state=state)
    q = assert_error_redirect(op, op.authorize(params), client_rs.redirect_uri, state, "login_required")
    assert q.get("state") == state


def test_es09b_prompt_login_is_an_interactive_login(op, client_rs, identity):
    before = int(time.time())
    login = op.login(client_rs, identity, prompt="login")
    c = op.verify_tokens(client_rs, op.tokens(client_rs, login), login)
    assert c["auth_time"] >= before - 1


def test_es09c_prompt_none_with_login_is_invalid_request(op, client_rs):
    params, _ = op.authorization_params(client_rs, prompt="none login")
    assert_error_redirect(op, op.authorize(params), client_rs.redirect_uri, params["state"], "invalid_request")


def test_es09_prompt_none_at_oauth_details(op, client_rs):
    """The UI path refuses a silent request too (the UI turns it into the redirect)."""
    params, _ = op.authorization_params(client_rs, prompt="none")
    ui = op.ui()
    r = ui.oauth_details_raw(oauth_details_request({k: str(v) for k, v in params.items()}))
    assert_esignet_error(r, "login_required")


# --------------------------------------------------------------------------------------------------------------
# ES-11 — signed (and encrypted) userinfo
# --------------------------------------------------------------------------------------------------------------


def test_es11_signed_userinfo(op, client_rs, identity):
    login = fresh_code(op, client_rs, identity)
    tokens = op.tokens(client_rs, login)
    id_claims = op.verify_tokens(client_rs, tokens, login)
    r = op.userinfo(tokens["access_token"])
    assert r.headers.get("content-type", "").split(";")[0] == "application/jwt"
    header, _ = jwt_parts(r.text)
    assert header["alg"] in op.discovery["userinfo_signing_alg_values_supported"]
    assert header["kid"] in {k.kid for k in op.jwks().keys}
    info = op.read_userinfo(client_rs, r)  # iss, aud == client_id, signature
    assert info["aud"] in (client_rs.client_id, [client_rs.client_id])
    assert info["sub"] == id_claims["sub"]
    consented = set(login.accepted_claims)
    assert {k.split("#")[0] for k in info} - {"iss", "aud", "sub", "iat", "exp", "nbf", "jti"} <= consented, info


def test_es11_encrypted_userinfo(op, client_jwe, identity):
    login = fresh_code(op, client_jwe, identity)
    tokens = op.tokens(client_jwe, login)
    id_claims = op.verify_tokens(client_jwe, tokens, login)
    r = op.userinfo(tokens["access_token"])
    assert r.status_code == 200
    assert r.text.count(".") == 4, "expected a 5-part compact JWE"
    info = op.read_userinfo(client_jwe, r)  # decrypts with the client's key, verifies the inner JWS
    assert info["sub"] == id_claims["sub"]
    assert info["aud"] in (client_jwe.client_id, [client_jwe.client_id])
    assert "name" in info


@pytest.mark.parametrize("token", ["not-a-token", "a.b.c", None])
def test_es11_bad_token_is_invalid_token(op, token):
    r = op.userinfo(token or "eyJhbGciOiJSUzI1NiJ9.e30." + b64url(secrets.token_bytes(256)))
    assert r.status_code == 401, r.status_code
    challenge = r.headers.get("www-authenticate", "")
    assert challenge.startswith("Bearer") and 'error="invalid_token"' in challenge, challenge


def test_es11_id_token_is_not_an_access_token(op, client_rs, identity):
    tokens = op.tokens(client_rs, fresh_code(op, client_rs, identity))
    r = op.userinfo(tokens["id_token"])
    assert r.status_code == 401
    assert 'error="invalid_token"' in r.headers.get("www-authenticate", "")


# --------------------------------------------------------------------------------------------------------------
# Access tokens: ES256 under a key purpose of their own (`oidc-access-token`), published in the JWKS (RFC 9068 §4);
# ID tokens RS256 (`oidc-service`). Neither kind verifies as the other (RFC 8725 §3.12).
# --------------------------------------------------------------------------------------------------------------


def assert_invalid_token(op: OP, token: str) -> None:
    r = op.userinfo(token)
    assert r.status_code == 401, (r.status_code, r.text[:200])
    assert 'error="invalid_token"' in r.headers.get("www-authenticate", ""), r.headers


def test_access_token_is_es256_with_its_own_published_key(op, client_rs, identity):
    login = fresh_code(op, client_rs, identity)
    tokens = op.tokens(client_rs, login)
    id_claims = op.verify_tokens(client_rs, tokens, login)  # at_hash with the ID token's alg
    at = op.verify_access_token(tokens["access_token"])  # typ at+jwt, ES256, kid of a published P-256 key
    id_header, _ = jwt_parts(tokens["id_token"])
    assert id_header["alg"] == "RS256" and id_header["alg"] in op.discovery["id_token_signing_alg_values_supported"]
    assert id_header["kid"] != at.header["kid"]
    assert at.claims["sub"] == id_claims["sub"] and at.claims["client_id"] == client_rs.client_id, at.claims
    with pytest.raises(JoseError):
        op.verify_jws(tokens["access_token"], algorithms=op.signing_algs())
    with pytest.raises(JoseError):
        op.verify_jws(tokens["id_token"], algorithms=["ES256"])
    assert op.userinfo(tokens["access_token"]).status_code == 200


@pytest.mark.parametrize("change", ["signature", "alg-rs256", "alg-none", "kid-of-id-token", "typ-jwt"])
def test_altered_access_token_is_refused(op, client_rs, identity, change):
    tokens = op.tokens(client_rs, fresh_code(op, client_rs, identity))
    h, p, sig = tokens["access_token"].split(".")
    header, _ = jwt_parts(tokens["access_token"])
    id_header, _ = jwt_parts(tokens["id_token"])
    if change == "signature":
        raw = bytearray(b64url_decode(sig))
        raw[0] ^= 1
        forged = ".".join([h, p, b64url(bytes(raw))])
    else:
        header = dict(header)
        if change == "alg-rs256":
            header["alg"] = "RS256"
        elif change == "alg-none":
            header["alg"] = "none"
        elif change == "kid-of-id-token":
            header["kid"] = id_header["kid"]
        else:
            header["typ"] = "JWT"
        forged = ".".join([b64url(json.dumps(header).encode()), p, "" if change == "alg-none" else sig])
    assert_invalid_token(op, forged)
    assert op.userinfo(tokens["access_token"]).status_code == 200


def test_access_token_signed_with_the_id_token_key_is_refused(op, client_rs, identity):
    """The access token's claims, re-signed RS256 with the ID-token key (read from the embedded keystore) and its kid.

    Userinfo verifies with the `oidc-access-token` keys only. (The grant is also keyed by the token's hash, so this
    checks the refusal end to end; the key separation itself is the host's `verify-own-jws` per purpose.)"""
    if PRODUCTION:
        pytest.skip("the ID-token key is inside the HSM")
    tokens = op.tokens(client_rs, fresh_code(op, client_rs, identity))
    id_header, _ = jwt_parts(tokens["id_token"])
    stored = json.loads((op.data_dir / "keystore.json").read_text())["keys"]
    id_key = next(k for k in stored if k["purpose"] == "oidc-service" and k["jwk"].get("kid") == id_header["kid"])
    header, claims = jwt_parts(tokens["access_token"])
    header = {**header, "alg": id_key["alg"], "kid": id_header["kid"]}
    forged = jwt.encode(header, claims, RSAKey.import_key(id_key["jwk"]), algorithms=[id_key["alg"]])
    assert op.verify_jws(forged, algorithms=op.signing_algs()).claims["sub"] == claims["sub"]  # a valid JWS
    assert_invalid_token(op, forged)


# --------------------------------------------------------------------------------------------------------------
# OP-07 — unknown, expired or malformed code
# --------------------------------------------------------------------------------------------------------------


def test_op07_unknown_malformed_and_missing_code(op, client_rs):
    def form(code):
        return op.token_form(client_rs, code, None)

    assert_oauth_error(op.token_request(form("not-a-real-code")), "invalid_grant")
    big = b64url(secrets.token_bytes(3750))  # 5 kB
    assert len(big) >= 5000
    assert_oauth_error(op.token_request(form(big)), "invalid_grant")
    assert_oauth_error(op.token_request(form(None)), "invalid_request")


@pytest.mark.slow
def test_op07_expired_code(short_ttl_op):
    op = short_ttl_op
    client = op.register_client("RS256")
    identity = op.create_identity()
    login = op.login(client, identity)
    time.sleep(SHORT_TTL + 2)
    assert_oauth_error(op.token(client, login), "invalid_grant")


# --------------------------------------------------------------------------------------------------------------
# OP-09 — consent denial goes back to the client, whatever the redirect scheme
# --------------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("redirect_uri", ["https://rp.test/cb", "io.rp.app:/cb"])
def test_op09_consent_denial_reaches_the_client(op, client_app, identity, redirect_uri):
    """Server half of OP-09: both schemes get the same login (302 to the login page, not an error page), the
    consent screen (CAPTURE), and oauth-details hands the UI the exact redirect URI to send `access_denied` to.
    The denial redirect itself is built by the UI (as in eSignet's oidc-ui, which calls no API on Cancel);
    without an auth-code call no code exists for the transaction."""
    params, _ = op.authorization_params(client_app, redirect_uri=redirect_uri)
    query = op.login_page_query(params)
    ui = op.ui()
    details = ui.oauth_details(oauth_details_request(query))
    assert details.response["redirectUri"] == redirect_uri
    assert ui.authenticated(details, identity)["consentAction"] == "CAPTURE"
    # The user presses Cancel: the UI navigates to redirectUri?error=access_denied&state=... on its own.
    denial = details.response["redirectUri"] + "?" + urllib.parse.urlencode(
        {"error": "access_denied", "state": params["state"]}, quote_via=urllib.parse.quote)
    assert denial.startswith(redirect_uri + "?")
    assert query_of(denial)["state"] == params["state"]


def test_op09_authorize_errors_reach_a_private_use_scheme(op, client_app):
    """A redirectable error for the private-use redirect goes there like for https (no OP error page)."""
    params, _ = op.authorization_params(client_app, redirect_uri="io.rp.app:/cb", prompt="none")
    assert_error_redirect(op, op.authorize(params), "io.rp.app:/cb", params["state"], "login_required")


# --------------------------------------------------------------------------------------------------------------
# CF-01 — registered redirect_uri (and missing redirect_uri)
# --------------------------------------------------------------------------------------------------------------


def test_cf01_unregistered_redirect_uri(op, client_rs):
    bad = f"https://rp.test/cb-{secrets.token_hex(4)}"
    params, _ = op.authorization_params(client_rs, redirect_uri=bad)
    assert_own_error_page(op, op.authorize(params), bad, client_rs.redirect_uri)
    r = op.ui().oauth_details_raw(oauth_details_request({k: str(v) for k, v in params.items()}))
    assert_esignet_error(r, "invalid_redirect_uri")


def test_cf01_missing_redirect_uri(op, client_rs):
    params, _ = op.authorization_params(client_rs, redirect_uri=None)
    assert_own_error_page(op, op.authorize(params), client_rs.redirect_uri)
    r = op.ui().oauth_details_raw(oauth_details_request({k: str(v) for k, v in params.items()}))
    assert_esignet_error(r, "invalid_redirect_uri")


def test_cf01_unknown_client(op, client_rs):
    params, _ = op.authorization_params(client_rs, client_id="unknown-client")
    assert_own_error_page(op, op.authorize(params), client_rs.redirect_uri)
    r = op.ui().oauth_details_raw(oauth_details_request({k: str(v) for k, v in params.items()}))
    assert_esignet_error(r, "invalid_client_id")


@pytest.mark.parametrize("uri", ["https://rp.test/cb/", "https://RP.test/cb", "https://rp.test/cb?x=1",
                                 "https://rp.test/cb#f", "http://rp.test/cb", "https://rp.test:443/cb"])
def test_cf01_redirect_uri_is_compared_exactly(op, client_rs, uri):
    params, _ = op.authorization_params(client_rs, redirect_uri=uri)
    assert_own_error_page(op, op.authorize(params), uri, client_rs.redirect_uri)


@pytest.mark.parametrize("uri,ok", [("https://rp.test/userprofile/alice", True),
                                    ("https://rp.test/userprofile/", False),
                                    ("https://rp.test/userprofile/a/b", False),
                                    ("https://rp.test/userprofile/..", False),
                                    ("https://evil.test/userprofile/alice", False),
                                    ("https://rp.test.evil.test/userprofile/alice", False)])
def test_cf01_wildcard_redirect_uri(op, client_w, uri, ok):
    params, _ = op.authorization_params(client_w, redirect_uri=uri)
    r = op.authorize(params)
    if ok:
        target = redirect_target(op, r)
        assert urllib.parse.urlsplit(target).path.startswith(PREFIX + "/login"), target
    else:
        assert_own_error_page(op, r, uri)


def test_cf01_wildcard_client_logs_in(op, client_w, identity):
    uri = "https://rp.test/userprofile/alice"
    client = Client(client_w.client_id, client_w.key, client_w.alg, [uri], client_w.user_claims, client_w.acrs,
                    client_w.additional_config)
    login = op.login(client, identity)
    assert login.auth_code_response["redirectUri"] == uri
    op.verify_tokens(client, op.tokens(client, login), login)


# --------------------------------------------------------------------------------------------------------------
# CF-02 — request-parameter validation and tolerance
# --------------------------------------------------------------------------------------------------------------


def test_cf02a_response_type_missing(op, client_rs):
    params, _ = op.authorization_params(client_rs, response_type=None)
    q = assert_error_redirect(op, op.authorize(params), client_rs.redirect_uri, params["state"],
                              ("invalid_request", "unsupported_response_type"))
    assert "code" not in q
    r = op.ui().oauth_details_raw(oauth_details_request({k: str(v) for k, v in params.items()}))
    assert_esignet_error(r, ("invalid_response_type", "invalid_request"))


@pytest.mark.parametrize("variant", ["b-extra-param", "c-no-nonce", "d-scope-order", "e-unknown-scope",
                                     "f-double-space"])
def test_cf02_tolerated_requests_succeed(op, client_rs, identity, variant):
    kw = {
        "b-extra-param": {"extra": "foobar"},
        "c-no-nonce": {"nonce": False},
        "d-scope-order": {"scope": "email openid"},
        "e-unknown-scope": {"scope": "openid foo"},
        "f-double-space": {"scope": "openid  profile"},
    }[variant]
    login = op.login(client_rs, identity, **kw)
    tokens = op.tokens(client_rs, login)
    c = op.verify_tokens(client_rs, tokens, login)
    if variant == "c-no-nonce":
        assert "nonce" not in c
    at = op.verify_access_token(tokens["access_token"]).claims
    scope_text = at.get("scope") or tokens.get("scope") or ""
    scopes = scope_text.split(" ") if scope_text else []
    assert "" not in scopes and "foo" not in scopes, scopes
    if variant == "d-scope-order":
        assert set(login.details.voluntary_claims) == {"email"}, login.details.response
    if variant == "f-double-space":
        assert "name" in login.details.voluntary_claims  # `profile` was understood


def test_cf02f_tab_in_scope_is_invalid_scope(op, client_rs):
    params, _ = op.authorization_params(client_rs, scope="openid\tprofile")
    assert_error_redirect(op, op.authorize(params), client_rs.redirect_uri, params["state"], "invalid_scope")


def test_cf02g_scope_without_openid(op, client_rs):
    params, _ = op.authorization_params(client_rs, scope="profile")
    assert_error_redirect(op, op.authorize(params), client_rs.redirect_uri, params["state"], "invalid_scope")
    r = op.ui().oauth_details_raw(oauth_details_request({k: str(v) for k, v in params.items()}))
    assert_esignet_error(r, "invalid_scope")


# --------------------------------------------------------------------------------------------------------------
# A second host with short lifetimes (module-scoped: started once, stopped after this module)
# --------------------------------------------------------------------------------------------------------------

SHORT_TTL = 4


@pytest.fixture(scope="module")
def short_ttl_op():
    from conftest import start_host
    with start_host({"code_ttl_secs": str(SHORT_TTL), "access_token_ttl_secs": str(SHORT_TTL)},
                    name="cases-ttl") as other:
        yield other


# --------------------------------------------------------------------------------------------------------------
# More inputs of the same kinds ("fix each fault's whole kind, not the one input")
# --------------------------------------------------------------------------------------------------------------


def test_es01_kind_jti_shared_by_both_token_endpoints(op, client_rs, identity):
    """One assertion, first at /oauth/v2/token, then at the deprecated /oauth/token: one jti store."""
    a = op.client_assertion(client_rs, aud=op.issuer)
    assert op.token(client_rs, fresh_code(op, client_rs, identity), assertion=a).status_code == 200
    login = fresh_code(op, client_rs, identity)
    form = op.token_form(client_rs, login.code, login.verifier, assertion=a)
    r = op.http.post(op.api("/oauth/token"), data=form, timeout=60)
    assert_oauth_error(r, "invalid_client", INVALID_CLIENT_STATUSES)


@pytest.mark.parametrize("variant", ["no-exp", "no-iat", "nbf-future", "exp-string", "exp-before-iat",
                                     "iss-other", "iss-unknown", "alg-none", "alg-hs256", "no-type",
                                     "jti-empty", "aud-list-without-us"])
def test_es02_es04_kind_assertion_claims(op, client_rs, client_b, identity, variant):
    login = fresh_code(op, client_rs, identity)
    now = int(time.time())
    form = None
    if variant == "no-exp":
        a = op.client_assertion(client_rs, exp=None)
    elif variant == "no-iat":
        a = op.client_assertion(client_rs, iat=None)
    elif variant == "nbf-future":
        a = op.client_assertion(client_rs, nbf=now + 120, exp=now + 180)
    elif variant == "exp-string":
        a = op.client_assertion(client_rs, exp=str(now + 60))
    elif variant == "exp-before-iat":
        a = op.client_assertion(client_rs, iat=now, exp=now - 1)
    elif variant == "iss-other":
        a = op.client_assertion(client_rs, iss=client_b.client_id)
    elif variant == "iss-unknown":
        a = op.client_assertion(client_rs, iss="no-such-client", sub="no-such-client")
    elif variant == "alg-none":
        h = b64url(json.dumps({"alg": "none", "typ": "JWT"}).encode())
        p = b64url(json.dumps({"iss": client_rs.client_id, "sub": client_rs.client_id, "aud": op.token_endpoint,
                               "iat": now, "exp": now + 60, "jti": str(uuid.uuid4())}).encode())
        a = f"{h}.{p}."
    elif variant == "alg-hs256":
        # Algorithm confusion: an HMAC keyed with the client's public key material.
        import hashlib
        import hmac
        pub = json.dumps(client_rs.key.as_dict(private=False), separators=(",", ":")).encode()
        h = b64url(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
        p = b64url(json.dumps({"iss": client_rs.client_id, "sub": client_rs.client_id, "aud": op.token_endpoint,
                               "iat": now, "exp": now + 60, "jti": str(uuid.uuid4())}).encode())
        a = f"{h}.{p}." + b64url(hmac.new(pub, f"{h}.{p}".encode(), hashlib.sha256).digest())
    elif variant == "no-type":
        form = op.token_form(client_rs, login.code, login.verifier)
        del form["client_assertion_type"]
        a = None
    elif variant == "jti-empty":
        a = op.client_assertion(client_rs, jti="")
    else:
        a = op.client_assertion(client_rs, aud=["https://other.test", "https://elsewhere.test/token"])
    if form is None:
        form = op.token_form(client_rs, login.code, login.verifier, assertion=a)
    assert_oauth_error(op.token_request(form), "invalid_client", INVALID_CLIENT_STATUSES)
    assert op.token(client_rs, login).status_code == 200  # an unauthenticated request did not touch the code


@pytest.mark.parametrize("verifier", ["a" * 129, "+" * 43, "abc def" + "a" * 40, "é" * 43])
def test_es05_kind_malformed_verifiers(op, client_rs, identity, verifier):
    login = fresh_code(op, client_rs, identity)
    assert_oauth_error(op.token_request(op.token_form(client_rs, login.code, verifier)),
                       ("invalid_grant", "invalid_request"))


BAD_PKCE = {
    "plain": {"code_challenge_method": "plain"},
    "lower-s256": {"code_challenge_method": "s256"},
    "bad-chars": {"code_challenge": "+" * 43},
    "too-long": {"code_challenge": "a" * 129},
    "method-only": {"code_challenge": None},
}


@pytest.mark.parametrize("variant", list(BAD_PKCE.values()), ids=list(BAD_PKCE))
def test_es06_kind_bad_pkce_for_any_client(op, client_rs, variant):
    """Malformed PKCE parameters are refused even when the client does not require PKCE."""
    params, _ = op.authorization_params(client_rs, **variant)
    assert_error_redirect(op, op.authorize(params), client_rs.redirect_uri, params["state"], "invalid_request")


def test_es08_kind_replay_does_not_revoke_other_grants(op, client_rs, identity):
    """Revocation on replay is scoped to the tokens of that code."""
    other = op.tokens(client_rs, fresh_code(op, client_rs, identity))
    login = fresh_code(op, client_rs, identity)
    op.tokens(client_rs, login)
    assert_oauth_error(op.token(client_rs, login), "invalid_grant")
    assert op.userinfo(other["access_token"]).status_code == 200


@pytest.mark.parametrize("prompt", ["none consent", "consent none", "none select_account"])
def test_es09_kind_none_with_anything_is_invalid_request(op, client_rs, prompt):
    params, _ = op.authorization_params(client_rs, prompt=prompt)
    assert_error_redirect(op, op.authorize(params), client_rs.redirect_uri, params["state"], "invalid_request")


def test_es11_kind_userinfo_by_post(op, client_rs, identity):
    """OIDC Core §5.3.1: the userinfo endpoint supports GET and POST."""
    tokens = op.tokens(client_rs, fresh_code(op, client_rs, identity))
    r = op.http.post(op.userinfo_endpoint, headers={"Authorization": f"Bearer {tokens['access_token']}"},
                     timeout=60)
    info = op.read_userinfo(client_rs, r)
    assert info["aud"] in (client_rs.client_id, [client_rs.client_id])


def test_es11_kind_token_of_another_client_still_names_its_client(op, client_rs, client_b, identity):
    """Each client's userinfo names that client as `aud`."""
    ta = op.tokens(client_rs, fresh_code(op, client_rs, identity))
    tb = op.tokens(client_b, fresh_code(op, client_b, identity))
    assert op.read_userinfo(client_rs, op.userinfo(ta["access_token"]))["aud"] in (client_rs.client_id,
                                                                                   [client_rs.client_id])
    assert op.read_userinfo(client_b, op.userinfo(tb["access_token"]))["aud"] in (client_b.client_id,
                                                                                  [client_b.client_id])


@pytest.mark.parametrize("code", ["", " ", "x" * 43, "%00", "名前" * 10, "../../code"])
def test_op07_kind_odd_codes(op, client_rs, code):
    form = op.token_form(client_rs, "placeholder", None)
    form["code"] = code
    expected = "invalid_request" if code == "" else ("invalid_grant", "invalid_request")
    assert_oauth_error(op.token_request(form), expected)


def test_op07_kind_code_with_a_suffix_is_unknown(op, client_rs, identity):
    login = fresh_code(op, client_rs, identity)
    form = op.token_form(client_rs, login.code + "x", login.verifier)
    assert_oauth_error(op.token_request(form), "invalid_grant")


@pytest.mark.parametrize("variant,errors", [
    ({"response_type": "token"}, "unsupported_response_type"),
    ({"response_type": "code id_token"}, "unsupported_response_type"),
    ({"response_type": "CODE"}, "unsupported_response_type"),
    ({"scope": "OpenID profile"}, "invalid_scope"),
    ({"scope": "foo bar"}, "invalid_scope"),
    ({"max_age": "-1"}, "invalid_request"),
    ({"max_age": "soon"}, "invalid_request"),
    ({"claims": "{not json"}, "invalid_request"),
    ({"claims": json.dumps({"userinfo": {"name": {"essential": "yes"}}})}, "invalid_request"),
])
def test_cf02_kind_invalid_requests_are_redirected(op, client_rs, variant, errors):
    params, _ = op.authorization_params(client_rs, **variant)
    assert_error_redirect(op, op.authorize(params), client_rs.redirect_uri, params["state"], errors)


def test_cf02_kind_repeated_parameter_is_invalid_request(op, client_rs):
    params, _ = op.authorization_params(client_rs)
    query = urllib.parse.urlencode(params, quote_via=urllib.parse.quote) + "&scope=openid%20email"
    assert_error_redirect(op, op.authorize(query), client_rs.redirect_uri, params["state"], "invalid_request")


@pytest.mark.parametrize("scope", ["openid openid profile", "profile openid", "openid Manage-VID-unknown"])
def test_cf02_kind_tolerated_scopes(op, client_rs, identity, scope):
    login = op.login(client_rs, identity, scope=scope)
    op.verify_tokens(client_rs, op.tokens(client_rs, login), login)


def test_cf01_kind_redirect_uri_change_applies_at_once(op, identity):
    """A client's redirect URIs changed through client-mgmt apply to the next request (no stale client copy)."""
    client = op.register_client("RS256")
    op.login(client, identity)  # the client is now known (and cached) by the login path
    r = op.client_mgmt("PATCH", f"/client/{client.client_id}", {"redirectUris": ["https://rp.test/new-cb"]})
    ok_response(r)
    params, _ = op.authorization_params(client)
    assert_own_error_page(op, op.authorize(params), "https://rp.test/cb")
    r = op.ui().oauth_details_raw(oauth_details_request({k: str(v) for k, v in params.items()}))
    assert_esignet_error(r, "invalid_redirect_uri")
    moved = Client(client.client_id, client.key, client.alg, ["https://rp.test/new-cb"], client.user_claims,
                   client.acrs, client.additional_config)
    op.login_page_query(op.authorization_params(moved)[0])


def test_cf01_kind_inactive_client_is_refused_everywhere(op, identity):
    client = op.register_client("RS256")
    login = op.login(client, identity)
    ok_response(op.client_mgmt("PATCH", f"/client/{client.client_id}", {"status": "INACTIVE"}))
    params, _ = op.authorization_params(client)
    assert_own_error_page(op, op.authorize(params), client.redirect_uri)
    r = op.ui().oauth_details_raw(oauth_details_request({k: str(v) for k, v in params.items()}))
    assert_esignet_error(r, "invalid_client_id")
    assert_oauth_error(op.token(client, login), "invalid_client", INVALID_CLIENT_STATUSES)
