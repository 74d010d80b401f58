"""Bad input everywhere a browser, a relying party or an attacker can send it.

Each refusal must be spec- or eSignet-shaped: the UI API answers its wrapper (HTTP 200 with `response: null` and
`errors[]` for business and validation failures; 403 CSRF, 404/405 routing, 413 size, 415 media type), the token
endpoint answers RFC 6749 §5.2 JSON with `Cache-Control: no-store`, userinfo answers 401 with a `WWW-Authenticate`
challenge. And a refusal changes nothing it should not: where a test says so, the same transaction or code is
used again afterwards to show what state the refusal left behind (pinned policies: a refused unauthenticated
token request leaves the code usable; a failed PKCE or redirect_uri check burns it).
"""

from __future__ import annotations

import json
import secrets
import time
import urllib.parse

import pytest

from conftest import (OP, EsignetError, OAuthDetails, assert_esignet_error, assert_oauth_error, b64url,
                      b64url_decode, challenge_for, envelope, oauth_details_request, ok_response, start_host)

SHORT_TTL = 5


def details_for(op: OP, client, ui=None, **kw) -> tuple[OAuthDetails, object]:
    params, _ = op.authorization_params(client, **kw)
    ui = ui or op.ui()
    return ui.oauth_details(oauth_details_request({k: str(v) for k, v in params.items()})), ui


def otp(identity, value=None):
    c = challenge_for("OTP", identity)
    if value is not None:
        c["challenge"] = value
    return c


# --------------------------------------------------------------------------------------------------------------
# Malformed bodies, content types, sizes, routing
# --------------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("body", ["{", "not json", "[]", '{"requestTime":"x"}', "", '"just a string"',
                                  '{"requestTime": null, "request": {}}'])
def test_malformed_json_to_oauth_details(op, body):
    r = op.ui().post("/authorization/v3/oauth-details", body=body)
    assert_esignet_error(r, "invalid_request")


def test_malformed_json_to_send_otp_keeps_the_transaction(op, client_rs, identity):
    details, ui = details_for(op, client_rs)
    assert_esignet_error(ui.post("/authorization/send-otp", body="{oops", details=details), "invalid_request")
    assert ok_response(ui.send_otp(details, identity.individual_id))


def test_request_member_missing_or_null(op):
    ui = op.ui()
    for body in ({"requestTime": envelope({})["requestTime"]},
                 {"requestTime": envelope({})["requestTime"], "request": None}):
        assert_esignet_error(ui.post("/authorization/v3/oauth-details", body=json.dumps(body)), "invalid_request")


def test_wrong_field_types(op, client_rs):
    params, _ = op.authorization_params(client_rs)
    request = oauth_details_request({k: str(v) for k, v in params.items()})
    ui = op.ui()
    for member, value in (("clientId", 42), ("scope", ["openid"]), ("maxAge", "soon"), ("claims", "{not json")):
        r = ui.oauth_details_raw(dict(request, **{member: value}))
        assert_esignet_error(r, ("invalid_request", "invalid_client_id", "invalid_scope", "invalid_claim"))


def test_oversized_authorization_fields_are_refused(op, client_rs):
    """state/nonce ≤ 512 characters, claimsLocales/uiLocales ≤ 128, acrValues/scope ≤ 1024 (invalid_request);
    claims ≤ 4096 bytes, ≤ 64 claim requests, JS-safe numbers only (invalid_claim); dpopJkt refused (DPoP is not
    implemented). The same bounds apply at /authorize."""
    params, _ = op.authorization_params(client_rs)
    request = oauth_details_request({k: str(v) for k, v in params.items()})
    ui = op.ui()
    assert ok_response(ui.oauth_details_raw(dict(request, state="s" * 512, nonce="n" * 512)))
    for member, value in (("state", "s" * 513), ("nonce", "n" * 513), ("claimsLocales", "e" * 129),
                          ("uiLocales", "e" * 129), ("acrValues", "a" * 1025), ("scope", "openid " + "p" * 1020),
                          ("dpopJkt", "0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I")):
        assert_esignet_error(ui.oauth_details_raw(dict(request, **{member: value})), "invalid_request")
    verification = {"trust_framework": {"value": "nin"}}
    for claims in (
        {"userinfo": {"name": {"purpose": "p" * 300, "values": ["v" * 100] * 40}}},
        {"userinfo": {f"c{i}": None for i in range(65)}},
        {"userinfo": {"verified_claims": [{"verification": verification,
                                            "claims": {f"c{i}": None for i in range(40)}}] * 2}},
        {"userinfo": {"verified_claims": {"verification": {"x": 1.5}, "claims": {"name": None}}}},
        {"userinfo": {"verified_claims": {"verification": {"x": 2 ** 53 + 1}, "claims": {"name": None}}}},
    ):
        assert_esignet_error(ui.oauth_details_raw(dict(request, claims=claims)), "invalid_claim")
    long_state = dict(params, state="s" * 513)
    r = op.authorize(long_state)
    assert r.status_code == 302 and "error=invalid_request" in r.headers["location"], r.headers.get("location")
    assert r.headers["location"].startswith(client_rs.redirect_uri), r.headers["location"]


def test_post_authorize_re_encodes_the_login_location(op, client_rs):
    """A POST /authorize body with raw CR/LF and spaces gives a clean Location (parameters re-encoded)."""
    params, _ = op.authorization_params(client_rs)
    body = "&".join(f"{k}={urllib.parse.quote(str(v), safe='')}" for k, v in params.items() if k != "state")
    body += "&state=a b\r\nSet-Cookie: x=1"
    r = op.http.post(op.authorization_endpoint, data=body.encode(), allow_redirects=False, timeout=60,
                     headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert r.status_code == 302, (r.status_code, r.text[:200])
    location = r.headers.get("location", "")
    assert "/login?" in location, r.headers
    assert all(0x20 < ord(ch) < 0x7F for ch in location), location
    assert "x=1" not in r.headers.get("set-cookie", ""), r.headers
    query = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(location).query))
    assert query["state"] == "a b\r\nSet-Cookie: x=1"
    assert query["client_id"] == client_rs.client_id


def test_body_over_the_size_limit(op, client_rs):
    big = "x" * (1024 * 1024 + 10)
    r = op.ui().post("/authorization/v3/oauth-details", body=json.dumps(envelope({"clientId": big})))
    assert_esignet_error(r, "payload_too_large", status=413)
    form = op.token_form(client_rs, big, None)
    assert_oauth_error(op.token_request(form), "payload_too_large", statuses=(413,))


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded", None])
def test_wrong_content_type_at_the_ui_api(op, client_rs, content_type):
    params, _ = op.authorization_params(client_rs)
    body = json.dumps(envelope(oauth_details_request({k: str(v) for k, v in params.items()})))
    r = op.ui().post("/authorization/v3/oauth-details", body=body, content_type=content_type)
    assert_esignet_error(r, "invalid_request", status=415)


def test_wrong_content_type_at_the_token_endpoint(op, client_rs, identity):
    login = op.login(client_rs, identity)
    form = op.token_form(client_rs, login.code, login.verifier)
    r = op.http.post(op.token_endpoint, json=form, timeout=60)
    assert_oauth_error(r, "invalid_request", statuses=(400, 415))
    # The refusal came before client authentication and the code: it is still good.
    assert op.token(client_rs, login).status_code == 200


def test_unknown_paths_and_methods(op):
    ui = op.ui()
    r = ui.post("/authorization/v9/oauth-details", {})
    assert r.status_code == 404, r.status_code
    r = ui.http.get(op.api("/authorization/send-otp"), timeout=30)
    assert r.status_code == 405, r.status_code
    r = op.http.get(op.token_endpoint, timeout=30)
    assert r.status_code == 405, r.status_code


# --------------------------------------------------------------------------------------------------------------
# The envelope's requestTime
# --------------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("offset", [-180, 180, -7200])
def test_request_time_outside_two_minutes(op, client_rs, offset):
    params, _ = op.authorization_params(client_rs)
    r = op.ui().oauth_details_raw(oauth_details_request({k: str(v) for k, v in params.items()}),
                                  offset_seconds=offset)
    assert_esignet_error(r, "invalid_request")


@pytest.mark.parametrize("offset", [-60, 60])
def test_request_time_within_two_minutes(op, client_rs, offset):
    params, _ = op.authorization_params(client_rs)
    r = op.ui().oauth_details_raw(oauth_details_request({k: str(v) for k, v in params.items()}),
                                  offset_seconds=offset)
    assert ok_response(r)["transactionId"]


@pytest.mark.parametrize("value", ["2024-01-01T00:00:00Z", "now", "2024-13-01T00:00:00.000Z", 1700000000000])
def test_request_time_malformed(op, client_rs, value):
    params, _ = op.authorization_params(client_rs)
    body = {"requestTime": value, "request": oauth_details_request({k: str(v) for k, v in params.items()})}
    assert_esignet_error(op.ui().post("/authorization/v3/oauth-details", body=json.dumps(body)), "invalid_request")


# --------------------------------------------------------------------------------------------------------------
# CSRF and the transaction headers
# --------------------------------------------------------------------------------------------------------------


def test_csrf_is_required_and_a_refusal_changes_nothing(op, client_rs, identity):
    details, ui = details_for(op, client_rs)
    r = ui.send_otp(details, identity.individual_id, csrf=False)
    assert r.status_code == 403, r.status_code
    r = ui.send_otp(details, identity.individual_id, headers={ui.csrf_header: "x" * 43})
    assert r.status_code == 403, r.status_code
    r = op.ui().post("/authorization/v3/oauth-details", {}, headers={ui.csrf_header: ui.csrf + "x"})
    assert r.status_code == 403, r.status_code
    assert ok_response(ui.send_otp(details, identity.individual_id))


def test_unknown_transaction(op, identity):
    ui = op.ui()
    ghost = OAuthDetails(b64url(secrets.token_bytes(32)), {}, b64url(secrets.token_bytes(32)), "")
    assert_esignet_error(ui.send_otp(ghost, identity.individual_id), "invalid_transaction")
    assert_esignet_error(ui.authenticate(ghost, identity.individual_id, [otp(identity)]), "invalid_transaction")
    assert_esignet_error(ui.auth_code(ghost, []), "invalid_transaction")
    assert_esignet_error(ui.claim_details(ghost), "invalid_transaction")
    odd = OAuthDetails("../../etc/passwd", {}, "h", "")
    assert_esignet_error(ui.send_otp(odd, identity.individual_id), "invalid_transaction")


def test_missing_transaction_headers(op, client_rs, identity):
    details, ui = details_for(op, client_rs)
    body = {"transactionId": details.transaction_id, "individualId": identity.individual_id, "otpChannels": ["email"]}
    assert_esignet_error(ui.post("/authorization/send-otp", body), "invalid_transaction")
    r = ui.post("/authorization/send-otp", body, headers={"oauth-details-key": details.transaction_id})
    assert_esignet_error(r, "invalid_request")


def test_tampered_oauth_details_hash(op, client_rs, identity):
    details, ui = details_for(op, client_rs)
    tampered = OAuthDetails(details.transaction_id, details.response, details.hash[:-2] + "AA", details.raw)
    assert_esignet_error(ui.send_otp(tampered, identity.individual_id), "invalid_request")
    # The hash of a modified response (what a UI would send after tampering with the page data).
    from conftest import ui_hash
    forged = dict(details.response, redirectUri="https://evil.test/cb")
    assert_esignet_error(ui.send_otp(OAuthDetails(details.transaction_id, forged, ui_hash(forged), ""),
                                     identity.individual_id), "invalid_request")
    # Nothing changed: the genuine hash still drives the transaction to the end.
    assert ui.authenticated(details, identity)["consentAction"] == "CAPTURE"
    assert ok_response(ui.auth_code(details, details.voluntary_claims))["code"]


def test_body_transaction_must_match_the_headers(op, client_rs, identity):
    details, ui = details_for(op, client_rs)
    other, _ = details_for(op, client_rs, ui=ui)
    body = {"transactionId": other.transaction_id, "individualId": identity.individual_id, "otpChannels": ["email"]}
    assert_esignet_error(ui.post("/authorization/send-otp", body, details=details), "invalid_transaction")


def test_steps_out_of_order(op, client_rs, identity):
    details, ui = details_for(op, client_rs)
    assert_esignet_error(ui.auth_code(details, []), "invalid_transaction")  # not authenticated yet
    assert_esignet_error(ui.claim_details(details), "invalid_transaction")
    ui.authenticated(details, identity)
    assert_esignet_error(ui.send_otp(details, identity.individual_id), "invalid_transaction")  # past preauth
    code = ok_response(ui.auth_code(details, details.voluntary_claims))["code"]
    assert code
    assert_esignet_error(ui.auth_code(details, details.voluntary_claims), "invalid_transaction")  # single use


def test_claim_details_is_answered_once(op, client_rs, identity):
    """Reference §1.5: claim-details allows one call per transaction; the next is `no_attempts_left`."""
    details, ui = details_for(op, client_rs)
    ui.authenticated(details, identity)
    assert ok_response(ui.claim_details(details))["transactionId"] == details.transaction_id
    assert_esignet_error(ui.claim_details(details), "no_attempts_left")
    # It limits claim-details only: the login goes on.
    assert ok_response(ui.auth_code(details, details.voluntary_claims))["code"]


# --------------------------------------------------------------------------------------------------------------
# Field validation of the UI API
# --------------------------------------------------------------------------------------------------------------


def test_send_otp_field_errors(op, client_rs, identity):
    details, ui = details_for(op, client_rs)
    assert_esignet_error(ui.send_otp(details, ""), "invalid_identifier")
    assert_esignet_error(ui.send_otp(details, identity.individual_id, channels=[]), "invalid_otp_channel")
    r = ui.send_otp(details, identity.individual_id, channels=["fax"])
    assert_esignet_error(r, ("invalid_otp_channel", "no_attempts_left"))


def test_send_otp_for_an_unknown_individual(op, client_rs):
    details, ui = details_for(op, client_rs)
    r = ui.send_otp(details, "9" + "".join(secrets.choice("0123456789") for _ in range(9)))
    assert_esignet_error(r, ("invalid_individual_id", "send_otp_failed", "auth_failed", "invalid_identifier"))


@pytest.mark.parametrize("challenge,codes", [
    ({"authFactorType": "otp", "challenge": "111111", "format": "alpha-numeric"}, "invalid_auth_factor_type"),
    ({"authFactorType": "OTP", "challenge": "111111", "format": "number"}, "invalid_challenge_format"),
    ({"authFactorType": "OTP", "challenge": "1111", "format": "alpha-numeric"}, "invalid_challenge_length"),
    ({"authFactorType": "PIN", "challenge": "12ab56", "format": "number"}, "invalid_challenge"),
    ({"authFactorType": "OTP", "challenge": "", "format": "alpha-numeric"},
     ("invalid_challenge", "invalid_challenge_length")),
    ({"authFactorType": "KBI", "challenge": "not base64url json, but long enough to pass the length check",
      "format": "base64url-encoded-json"}, "invalid_challenge"),
    ({"authFactorType": "XYZ", "challenge": "111111", "format": "alpha-numeric"}, "invalid_auth_factor_type"),
])
def test_authenticate_challenge_validation(op, client_rs, identity, challenge, codes):
    details, ui = details_for(op, client_rs)
    assert_esignet_error(ui.authenticate(details, identity.individual_id, [challenge]), codes)


def test_authenticate_number_of_challenges(op, client_rs, identity):
    details, ui = details_for(op, client_rs)
    assert_esignet_error(ui.authenticate(details, identity.individual_id, []), "invalid_no_of_challenges")
    six = [challenge_for("PIN", identity)] * 6
    assert_esignet_error(ui.authenticate(details, identity.individual_id, six), "invalid_no_of_challenges")


@pytest.mark.parametrize("factor", ["PIN", "PWD", "KBI", "OTP"])
def test_wrong_secret_is_auth_failed_and_a_retry_works(op, client_rs, identity, factor):
    details, ui = details_for(op, client_rs)
    if factor == "OTP":
        ok_response(ui.send_otp(details, identity.individual_id))
    wrong = challenge_for(factor, identity)
    wrong["challenge"] = {
        "PIN": "000000" if identity.pin != "000000" else "999999",
        "PWD": "Wrong" + secrets.token_hex(5),
        "KBI": b64url(json.dumps({"fullName": "Someone Else", "dateOfBirth": "1999-01-01"}).encode()),
        "OTP": "222222",
    }[factor]
    assert_esignet_error(ui.authenticate(details, identity.individual_id, [wrong]), "auth_failed")
    # Same transaction, right secret: the failed attempt consumed an attempt, nothing else.
    auth = ok_response(ui.authenticate(details, identity.individual_id, [challenge_for(factor, identity)]))
    assert auth["consentAction"] == "CAPTURE"


def test_otp_of_another_transaction_is_refused(op, client_rs, identity):
    """An OTP belongs to the transaction it was sent for."""
    d1, ui = details_for(op, client_rs)
    ok_response(ui.send_otp(d1, identity.individual_id))
    d2, _ = details_for(op, client_rs, ui=ui)
    assert_esignet_error(ui.authenticate(d2, identity.individual_id, [otp(identity)]), "auth_failed")


def test_authenticate_as_someone_else_after_send_otp(op, client_rs, identity):
    other = op.create_identity()
    details, ui = details_for(op, client_rs)
    ok_response(ui.send_otp(details, identity.individual_id))
    assert_esignet_error(ui.authenticate(details, other.individual_id, [otp(other)]), "auth_failed")


# --------------------------------------------------------------------------------------------------------------
# Attempts exhausted → no_attempts_left, then individual_id_blocked
# --------------------------------------------------------------------------------------------------------------


def test_send_otp_attempts_exhausted_then_blocked(op, client_rs, identity):
    details, ui = details_for(op, client_rs)
    for _ in range(3):
        assert ok_response(ui.send_otp(details, identity.individual_id))
    assert_esignet_error(ui.send_otp(details, identity.individual_id), "no_attempts_left")
    # The individual is now blocked, in any transaction, for send-otp and authenticate alike.
    fresh, ui2 = details_for(op, client_rs)
    assert_esignet_error(ui2.send_otp(fresh, identity.individual_id), "individual_id_blocked")
    fresh2, ui3 = details_for(op, client_rs)
    r = ui3.authenticate(fresh2, identity.individual_id, [challenge_for("PIN", identity)])
    assert_esignet_error(r, "individual_id_blocked")
    # Nobody else is.
    other = op.create_identity()
    other_details, ui4 = details_for(op, client_rs)
    assert ui4.authenticated(other_details, other)["consentAction"] == "CAPTURE"


def test_authenticate_attempts_exhausted_then_blocked(op, client_rs, identity):
    details, ui = details_for(op, client_rs)
    wrong = dict(challenge_for("PIN", identity), challenge="000000" if identity.pin != "000000" else "999999")
    for _ in range(3):
        assert_esignet_error(ui.authenticate(details, identity.individual_id, [wrong]), "auth_failed")
    # The fourth call fails on the count, even with the right PIN.
    r = ui.authenticate(details, identity.individual_id, [challenge_for("PIN", identity)])
    assert_esignet_error(r, "no_attempts_left")
    fresh, ui2 = details_for(op, client_rs)
    r = ui2.authenticate(fresh, identity.individual_id, [challenge_for("PIN", identity)])
    assert_esignet_error(r, "individual_id_blocked")



def test_failures_across_transactions_block_the_individual_id(op, client_rs, identity):
    """Failed authentications are counted per individual id across transactions (authenticate_failures_per_id,
    5 by default): 4 transactions x 2 wrong PINs; the 6th failure itself answers auth_failed, the next attempt
    (a new transaction, right PIN) individual_id_blocked. Nobody else is blocked."""
    wrong = dict(challenge_for("PIN", identity), challenge="000000" if identity.pin != "000000" else "999999")
    failures = 0
    for _ in range(4):
        details, ui = details_for(op, client_rs)
        for _ in range(2):
            if failures == 6:
                break
            assert_esignet_error(ui.authenticate(details, identity.individual_id, [wrong]), "auth_failed")
            failures += 1
    assert failures == 6
    fresh, ui = details_for(op, client_rs)
    r = ui.authenticate(fresh, identity.individual_id, [challenge_for("PIN", identity)])
    assert_esignet_error(r, "individual_id_blocked")
    other = op.create_identity()
    other_details, ui2 = details_for(op, client_rs)
    assert ui2.authenticated(other_details, other)["consentAction"] == "CAPTURE"


def test_five_failures_across_transactions_do_not_block(op, client_rs, identity):
    """Up to authenticate_failures_per_id (5) failures across transactions leave the id usable."""
    wrong = dict(challenge_for("PIN", identity), challenge="000000" if identity.pin != "000000" else "999999")
    for n in (2, 2, 1):
        details, ui = details_for(op, client_rs)
        for _ in range(n):
            assert_esignet_error(ui.authenticate(details, identity.individual_id, [wrong]), "auth_failed")
    details, ui = details_for(op, client_rs)
    assert ui.authenticated(details, identity)["consentAction"] == "CAPTURE"


# --------------------------------------------------------------------------------------------------------------
# Token endpoint
# --------------------------------------------------------------------------------------------------------------


def test_replayed_code(op, client_rs, identity):
    login = op.login(client_rs, identity)
    assert op.token(client_rs, login).status_code == 200
    assert_oauth_error(op.token(client_rs, login), "invalid_grant")


def test_replayed_jti(op, client_rs, identity):
    a = op.client_assertion(client_rs)
    first = op.login(client_rs, identity)
    assert op.token(client_rs, first, assertion=a).status_code == 200
    second = op.login(client_rs, identity)
    assert_oauth_error(op.token(client_rs, second, assertion=a), "invalid_client", statuses=(400, 401))
    assert op.token(client_rs, second).status_code == 200  # the refusal did not touch the code


def test_wrong_verifier_burns_the_code(op, client_rs, identity):
    """Pinned policy (ES-05): the code is consumed before the PKCE check, so a failed check burns it."""
    login = op.login(client_rs, identity)
    other = b64url(secrets.token_bytes(40))
    assert_oauth_error(op.token_request(op.token_form(client_rs, login.code, other)), "invalid_grant")
    assert_oauth_error(op.token(client_rs, login), "invalid_grant")


def test_redirect_uri_mismatch_is_invalid_grant_and_burns_the_code(op, client_app, identity):
    login = op.login(client_app, identity)
    form = op.token_form(client_app, login.code, login.verifier, redirect_uri="io.rp.app:/cb")
    assert_oauth_error(op.token_request(form), "invalid_grant")
    assert_oauth_error(op.token(client_app, login), "invalid_grant")


def test_grant_type_errors(op, client_rs, identity):
    login = op.login(client_rs, identity)
    base = op.token_form(client_rs, login.code, login.verifier)
    assert_oauth_error(op.token_request(dict(base, grant_type="password", client_assertion=op.client_assertion(client_rs))),
                       "unsupported_grant_type")
    no_grant = {k: v for k, v in base.items() if k != "grant_type"}
    no_grant["client_assertion"] = op.client_assertion(client_rs)
    assert_oauth_error(op.token_request(no_grant), "invalid_request")
    no_redirect = {k: v for k, v in base.items() if k != "redirect_uri"}
    no_redirect["client_assertion"] = op.client_assertion(client_rs)
    assert_oauth_error(op.token_request(no_redirect), "invalid_request")
    # Repeated parameters are refused (RFC 6749 §3.2).
    import urllib.parse
    dup = urllib.parse.urlencode(dict(base, client_assertion=op.client_assertion(client_rs))) + "&code=x"
    assert_oauth_error(op.token_request(dup), "invalid_request")
    # None of these reached the code.
    assert op.token(client_rs, login).status_code == 200


def test_empty_token_request(op):
    assert_oauth_error(op.token_request(""), ("invalid_request", "invalid_client"), statuses=(400, 401))


# --------------------------------------------------------------------------------------------------------------
# Userinfo
# --------------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("header", [None, "Basic dXNlcjpwYXNz", "Bearer", "Bearer  ", "bearer"])
def test_userinfo_without_a_usable_bearer_token(op, header):
    headers = {} if header is None else {"Authorization": header}
    r = op.http.get(op.userinfo_endpoint, headers=headers, timeout=30)
    assert r.status_code in (400, 401), r.status_code
    assert r.headers.get("www-authenticate", "").lower().startswith("bearer"), r.headers


def test_userinfo_with_a_tampered_access_token(op, client_rs, identity):
    tokens = op.tokens(client_rs, op.login(client_rs, identity))
    h, p, s = tokens["access_token"].split(".")
    claims = json.loads(b64url_decode(p))
    claims["sub"] = "someone-else"
    forged = ".".join([h, b64url(json.dumps(claims).encode()), s])
    r = op.userinfo(forged)
    assert r.status_code == 401 and 'error="invalid_token"' in r.headers.get("www-authenticate", "")
    assert op.userinfo(tokens["access_token"]).status_code == 200


# --------------------------------------------------------------------------------------------------------------
# Operator and admin APIs
# --------------------------------------------------------------------------------------------------------------


def test_client_mgmt_requires_the_operator_token(op):
    body = envelope({"clientId": "x"})
    r = op.http.post(op.api("/client-mgmt/client"), json=body, timeout=30)
    assert r.status_code == 401, r.status_code
    r = op.http.post(op.api("/client-mgmt/client"), json=body, timeout=30,
                     headers={"Authorization": "Bearer " + b64url(secrets.token_bytes(32))})
    assert r.status_code == 401, r.status_code
    r = op.http.post(op.api("/client-mgmt/client"), json=body, timeout=30, headers={"x-esignet-internal": "1"})
    assert r.status_code == 401, "the host must strip x-esignet-internal from outside requests"


def test_client_mgmt_validation_errors(op):
    r = op.client_mgmt("POST", "/client", {"clientId": "bad id with spaces"})
    assert r.status_code == 200
    body = r.json()
    assert body["response"] is None and body["errors"], body
    r = op.http.post(op.api("/client-mgmt/client"), data="{", timeout=30,
                     headers={"Authorization": f"Bearer {op.admin_token()}", "Content-Type": "application/json"})
    assert_esignet_error(r, "invalid_request")


def test_client_mgmt_additional_config_bounds(op):
    """consent_expire_in_mins ≤ 525600; userinfo_response_type JWE needs an encryption key (given in the same
    PATCH or already stored); a create cannot carry one."""
    with pytest.raises(EsignetError, match="invalid_additional_config"):
        op.register_client(additional_config={"consent_expire_in_mins": 525601})
    with pytest.raises(EsignetError, match="invalid_additional_config"):
        op.register_client(additional_config={"userinfo_response_type": "JWE"})
    client = op.register_client(additional_config={"consent_expire_in_mins": 525600})
    r = op.client_mgmt("PATCH", f"/client/{client.client_id}",
                       {"additionalConfig": {"userinfo_response_type": "JWE"}})
    assert_esignet_error(r, "invalid_additional_config")
    op.enable_jwe(client)  # key and JWE together: accepted
    r = op.client_mgmt("PATCH", f"/client/{client.client_id}",
                       {"additionalConfig": {"userinfo_response_type": "JWE", "consent_expire_in_mins": 30}})
    assert ok_response(r)


def test_client_mgmt_rejects_a_private_key(op):
    from joserfc.jwk import RSAKey
    key = RSAKey.generate_key(2048, auto_kid=True)
    request = {"clientId": f"bb-priv-{secrets.token_hex(4)}", "clientName": "x", "relyingPartyId": "rp-x",
               "logoUri": "https://rp.test/logo.png", "redirectUris": ["https://rp.test/cb"],
               "userClaims": ["name"], "authContextRefs": ["mosip:idp:acr:generated-code"],
               "grantTypes": ["authorization_code"], "clientAuthMethods": ["private_key_jwt"],
               "publicKey": key.as_dict(private=True)}
    assert_esignet_error(op.client_mgmt("POST", "/client", request), "invalid_public_key")


def test_mock_identity_admin_requires_its_token(op):
    r = op.http.post(op.url("/v1/mock-identity-system/identity"), json=envelope({"individualId": "12345"}),
                     timeout=30)
    assert r.status_code == 401, r.status_code


# --------------------------------------------------------------------------------------------------------------
# Expiry (a second host with shrunk lifetimes)
# --------------------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def short_op():
    with start_host({"preauth_ttl_secs": str(SHORT_TTL), "authenticated_ttl_secs": str(SHORT_TTL),
                     "access_token_ttl_secs": str(SHORT_TTL)}, name="bad-ttl") as other:
        yield other


@pytest.mark.slow
def test_expired_preauth_transaction(short_op):
    op = short_op
    client = op.register_client("RS256")
    identity = op.create_identity()
    details, ui = details_for(op, client)
    time.sleep(SHORT_TTL + 2)
    assert_esignet_error(ui.send_otp(details, identity.individual_id), "invalid_transaction")
    assert_esignet_error(ui.authenticate(details, identity.individual_id, [challenge_for("PIN", identity)]),
                         "invalid_transaction")


@pytest.mark.slow
def test_expired_authenticated_transaction(short_op):
    op = short_op
    client = op.register_client("RS256")
    identity = op.create_identity()
    details, ui = details_for(op, client)
    ui.authenticated(details, identity, "PIN")
    time.sleep(SHORT_TTL + 2)
    assert_esignet_error(ui.auth_code(details, details.voluntary_claims), "invalid_transaction")


@pytest.mark.slow
def test_expired_access_token(short_op):
    op = short_op
    client = op.register_client("RS256")
    identity = op.create_identity()
    login = op.login(client, identity, factor="PIN")
    tokens = op.tokens(client, login)
    assert tokens["expires_in"] <= SHORT_TTL
    time.sleep(SHORT_TTL + 2)
    r = op.userinfo(tokens["access_token"])
    assert r.status_code == 401 and 'error="invalid_token"' in r.headers.get("www-authenticate", "")


# --------------------------------------------------------------------------------------------------------------
# Garbage: whatever arrives, never a 5xx (the recorder in conftest fails the test on any)
# --------------------------------------------------------------------------------------------------------------

GARBAGE_BODIES = [
    json.dumps(envelope({"clientId": "\u0000\ud7ff\ue000", "scope": "openid", "responseType": "code",
                         "redirectUri": "https://rp.test/cb"})),
    json.dumps(envelope({"clientId": "x" * 10000})),
    json.dumps(envelope({"transactionId": 1e308, "individualId": -1, "challengeList": {"a": None}})),
    json.dumps(envelope([1, 2, 3])),
    "[" * 5000 + "]" * 5000,
    '{"requestTime":"' + envelope({})["requestTime"] + '","request":' + '{"a":' * 300 + "1" + "}" * 300 + "}",
    b"\xff\xfe not utf-8 \xc3\x28",
]

UI_PATHS = ["/authorization/v3/oauth-details", "/authorization/v2/oauth-details", "/authorization/oauth-details",
            "/authorization/send-otp", "/authorization/v3/authenticate", "/authorization/v2/authenticate",
            "/authorization/authenticate", "/authorization/auth-code"]


@pytest.mark.parametrize("path", UI_PATHS)
def test_garbage_to_the_ui_api(op, client_rs, path):
    details, ui = details_for(op, client_rs)
    for body in GARBAGE_BODIES:
        r = ui.post(path, body=body if isinstance(body, bytes) else body.encode(), details=details)
        assert r.status_code < 500, (path, r.status_code)
        assert r.status_code in (200, 400, 413, 415), (path, r.status_code, r.text[:200])
        if r.status_code == 200:
            assert r.json()["response"] is None, r.text[:200]


def test_garbage_to_the_token_endpoint(op):
    for body in ["grant_type=authorization_code&code=%FF%FE&client_assertion=%00",
                 "a" * 100000, "=&=&&==", "grant_type=" + "x" * 60000, "code[]=1&code[]=2"]:
        r = op.token_request(body)
        assert 400 <= r.status_code < 500, (r.status_code, r.text[:200])
        assert r.json().get("error"), r.text[:200]


def test_garbage_to_authorize(op):
    for query in ["client_id=%FF%FE", "%%%", "client_id=" + "a" * 8000, "redirect_uri=javascript:alert(1)",
                  "claims=" + "%7B" * 2000]:
        r = op.authorize(query)
        assert r.status_code < 500, (query[:40], r.status_code)
        if r.status_code in (301, 302, 303, 307, 308):
            assert r.headers["location"].startswith(("/", op.base)), r.headers["location"]


def test_huge_header_values(op, client_rs, identity):
    details, ui = details_for(op, client_rs)
    r = ui.send_otp(details, identity.individual_id, headers={"oauth-details-hash": "h" * 6000})
    assert r.status_code < 500
    r = op.userinfo("x" * 7000)
    assert r.status_code in (400, 401, 431), r.status_code
