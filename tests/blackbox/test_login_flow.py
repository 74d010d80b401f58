"""The browser login flow end to end, as eSignet's UI and a relying party drive it.

authorize (302 to the login page carrying the request) → oauth-details → send-otp → v3/authenticate → consent
(auth-code with the accepted claims) → token (private_key_jwt + PKCE S256) → userinfo; every token verified with
joserfc against the JWKS the discovery document names.
"""

from __future__ import annotations

import time
import urllib.parse

import pytest

from conftest import (ACR_KBI, ACR_OTP, ACR_PIN, ACR_PWD, JWT_REGISTERED, PREFIX, PROFILE_CLAIMS, Client,
                      Identity, OP, assert_esignet_error, oauth_details_request, ok_response, query_of, ui_hash)


def released(claims: dict) -> set[str]:
    """The user claims of a userinfo payload, locale tags (`name#fr`) folded to the claim name."""
    return {k.split("#", 1)[0] for k in claims if k not in JWT_REGISTERED}


def full_flow(op: OP, client: Client, identity: Identity, **login_kw):
    login = op.login(client, identity, **login_kw)
    tokens = op.tokens(client, login)
    id_claims = op.verify_tokens(client, tokens, login)
    info = op.read_userinfo(client, op.userinfo(tokens["access_token"]))
    assert info["sub"] == id_claims["sub"], (info["sub"], id_claims["sub"])
    return login, tokens, id_claims, info


# --------------------------------------------------------------------------------------------------------------
# The front channel
# --------------------------------------------------------------------------------------------------------------


def test_authorize_redirects_to_login_page_with_the_request(op, client_rs):
    params, _ = op.authorization_params(client_rs, acr_values=ACR_OTP, claims_locales="en", ui_locales="fr",
                                        display="page", max_age="600")
    query = op.login_page_query(params)  # asserts 302, same origin, /login, every parameter unchanged
    assert set(query) == {k for k in params}, query


def test_authorize_by_post_form_is_accepted(op, client_rs):
    """OIDC Core §3.1.2.1: the authorization endpoint supports GET and POST."""
    params, _ = op.authorization_params(client_rs)
    r = op.authorize(params, method="POST")
    assert r.status_code in (302, 303), r.text[:300]
    target = urllib.parse.urljoin(op.authorization_endpoint, r.headers["location"])
    assert urllib.parse.urlsplit(target).path.startswith(PREFIX + "/login"), target
    assert query_of(target).get("state") == params["state"]


def test_login_page_is_served(op, client_rs):
    params, _ = op.authorization_params(client_rs)
    r = op.authorize(params)
    target = urllib.parse.urljoin(op.authorization_endpoint, r.headers["location"])
    page = op.http.get(target, timeout=30)
    assert page.status_code == 200, page.status_code
    assert page.headers.get("content-type", "").startswith("text/html"), page.headers


def test_discovery_document(op):
    d = op.discovery
    assert d["issuer"] == op.issuer
    assert op.issuer.startswith(op.base + PREFIX)
    for name in ("authorization_endpoint", "token_endpoint", "userinfo_endpoint", "jwks_uri"):
        assert d[name].startswith(op.base + "/"), (name, d[name])
    assert d["response_types_supported"] == ["code"]
    assert "private_key_jwt" in d["token_endpoint_auth_methods_supported"]
    assert d["code_challenge_methods_supported"] == ["S256"]
    assert "openid" in d["scopes_supported"]
    assert set(d["subject_types_supported"]) <= {"pairwise", "public"}
    assert d.get("claims_parameter_supported") is True
    assert set(d["acr_values_supported"]) >= {ACR_OTP, ACR_PIN, ACR_PWD, ACR_KBI}
    assert d["id_token_signing_alg_values_supported"], d
    # eSignet's own discovery path serves the same document.
    alt = op.http.get(op.api("/oidc/.well-known/openid-configuration"), timeout=30)
    assert alt.status_code == 200 and alt.json()["issuer"] == op.issuer
    keys = op.jwks()
    assert keys.keys, "empty JWKS"
    raw = op.http.get(d["jwks_uri"], timeout=30).json()
    for k in raw["keys"]:
        assert k.get("kid") and k.get("kty"), k
        leaked = {"d", "p", "q", "dp", "dq", "qi", "oth", "k"} & set(k)
        assert not leaked, f"JWKS publishes private key members {leaked}"


# --------------------------------------------------------------------------------------------------------------
# Full flows per client key type
# --------------------------------------------------------------------------------------------------------------


def test_full_flow_es256_demo_client(op, demo_client):
    """The seeded demo client (ES256 private_key_jwt) with the first seeded demo identity."""
    identity = op.demo_identity(0)
    login, tokens, id_claims, info = full_flow(op, demo_client, identity)
    assert login.consent_action in ("CAPTURE", "NOCAPTURE")
    assert released(info) <= set(demo_client.user_claims)


@pytest.mark.parametrize("alg", ["RS256", "ES256"])
def test_full_flow_by_client_key_type(op, identity, alg):
    client = op.register_client(alg)
    login, tokens, id_claims, info = full_flow(op, client, identity)
    assert login.consent_action == "CAPTURE"  # first login of this user at this client
    requested = set(login.details.essential_claims + login.details.voluntary_claims)
    assert requested == PROFILE_CLAIMS, requested  # `profile` ∩ the client's registered claims
    assert released(info) == set(login.accepted_claims) == requested
    assert info["name"] == identity.full_name["eng"]  # preferred language, no claims_locales
    assert info["email"] == identity.email
    assert info["phone_number"] == identity.phone
    assert info["birthdate"] == identity.date_of_birth
    assert info["gender"] == "Female"
    assert isinstance(info["address"], dict) and info["address"].get("locality") == "Testville", info["address"]
    # The access token is a JWT of ours too (RFC 9068 shape): verify it with the same JWKS.
    at = op.verify_access_token(tokens["access_token"])
    assert at.claims["iss"] == op.issuer and at.claims["sub"] == id_claims["sub"]
    assert at.claims["exp"] > time.time()


def test_userinfo_can_be_read_again_until_expiry(op, client_rs, identity):
    login = op.login(client_rs, identity)
    tokens = op.tokens(client_rs, login)
    first = op.read_userinfo(client_rs, op.userinfo(tokens["access_token"]))
    second = op.read_userinfo(client_rs, op.userinfo(tokens["access_token"]))
    assert released(first) == released(second)


def test_subject_is_pairwise_per_relying_party(op, client_rs, client_b, identity):
    """Discovery says `pairwise`: one person gets different `sub` values at different relying parties."""
    c_a = op.verify_tokens(client_rs, op.tokens(client_rs, op.login(client_rs, identity)))
    b_login = op.login(client_b, identity)
    c_b = op.verify_tokens(client_b, op.tokens(client_b, b_login))
    assert c_a["sub"] != c_b["sub"]
    again = op.verify_tokens(client_rs, op.tokens(client_rs, op.login(client_rs, identity)))
    assert again["sub"] == c_a["sub"], "sub must be stable for the same person and relying party"


def test_nonce_absent_when_not_sent(op, client_rs, identity):
    login, tokens, id_claims, _ = full_flow(op, client_rs, identity, nonce=False)
    assert "nonce" not in id_claims


def test_without_pkce_for_a_client_that_does_not_require_it(op, client_rs, identity):
    login, tokens, id_claims, info = full_flow(op, client_rs, identity, pkce=False)
    assert login.verifier is None


# --------------------------------------------------------------------------------------------------------------
# Request parameters: claims, acr_values, claims_locales
# --------------------------------------------------------------------------------------------------------------


def test_claims_parameter_essential_and_voluntary(op, client_rs, identity):
    claims = {"userinfo": {"name": {"essential": True}, "email": {"essential": False}, "phone_number": None,
                           "not_registered_claim": {"essential": True}},
              "id_token": {}}
    import json
    login = op.login(client_rs, identity, scope="openid", claims=json.dumps(claims),
                     accept=["name", "phone_number"])  # the user declines the voluntary email
    assert login.details.essential_claims == ["name"], login.details.response
    assert set(login.details.voluntary_claims) == {"email", "phone_number"}, login.details.response
    tokens = op.tokens(client_rs, login)
    op.verify_tokens(client_rs, tokens, login)
    info = op.read_userinfo(client_rs, op.userinfo(tokens["access_token"]))
    assert released(info) == {"name", "phone_number"}, info
    assert "email" not in info


def test_essential_claim_must_be_accepted(op, client_rs, identity):
    import json
    params, _ = op.authorization_params(client_rs, scope="openid",
                                        claims=json.dumps({"userinfo": {"name": {"essential": True}}}))
    ui = op.ui()
    details = ui.oauth_details(oauth_details_request({k: str(v) for k, v in params.items()}))
    assert ui.authenticated(details, identity)["consentAction"] == "CAPTURE"
    assert_esignet_error(ui.auth_code(details, []), "invalid_accepted_claim")
    assert_esignet_error(ui.auth_code(details, ["name", "shoe_size"]), "invalid_accepted_claim")
    # The refusals changed nothing: a correct consent still gets a code.
    assert ok_response(ui.auth_code(details, ["name"]))["code"]


@pytest.mark.parametrize("acr,factor", [(ACR_PIN, "PIN"), (ACR_PWD, "PWD"), (ACR_KBI, "KBI"), (ACR_OTP, "OTP")])
def test_acr_values_select_the_factor_and_the_id_token_acr(op, client_rs, identity, acr, factor):
    login = op.login(client_rs, identity, factor=factor, acr_values=acr)
    groups = login.details.response["authFactors"]
    assert [[f["type"] for f in g] for g in groups] == [[factor]], groups
    tokens = op.tokens(client_rs, login)
    id_claims = op.verify_tokens(client_rs, tokens, login)
    assert id_claims["acr"] == acr


def test_acr_in_claims_parameter_wins_over_acr_values(op, client_rs, identity):
    import json
    claims = {"id_token": {"acr": {"essential": True, "values": [ACR_PWD]}}}
    login = op.login(client_rs, identity, factor="PWD", acr_values=ACR_PIN, claims=json.dumps(claims))
    assert [[f["type"] for f in g] for g in login.details.response["authFactors"]] == [["PWD"]]
    assert op.verify_tokens(client_rs, op.tokens(client_rs, login), login)["acr"] == ACR_PWD


def test_factor_not_offered_is_refused(op, client_rs, identity):
    """A PIN login for a request that asked for OTP only: `auth_factor_mismatch`, no consent, no code."""
    params, _ = op.authorization_params(client_rs, acr_values=ACR_OTP)
    ui = op.ui()
    details = ui.oauth_details(oauth_details_request({k: str(v) for k, v in params.items()}))
    r = ui.authenticate(details, identity.individual_id,
                        [{"authFactorType": "PIN", "challenge": identity.pin, "format": "number"}])
    assert_esignet_error(r, "auth_factor_mismatch")


def test_claims_locales_single_language(op, client_rs, identity):
    login, tokens, _, info = full_flow(op, client_rs, identity, claims_locales="fr")
    assert info["name"] == identity.full_name["fra"]
    assert info["gender"] == "Femme"
    assert not [k for k in info if "#" in k], info


def test_claims_locales_several_languages_tag_claims(op, client_rs, identity):
    """Mock identity rule: with several locales, one `claim#tag` per requested language the identity has."""
    login, tokens, _, info = full_flow(op, client_rs, identity, claims_locales="en fr")
    assert info["name#en"] == identity.full_name["eng"]
    assert info["name#fr"] == identity.full_name["fra"]
    assert "name" not in info
    assert info["gender#fr"] == "Femme" and info["gender#en"] == "Female"


# --------------------------------------------------------------------------------------------------------------
# Consent
# --------------------------------------------------------------------------------------------------------------


def test_consent_is_remembered(op, client_rs, identity):
    first, _, _, info1 = full_flow(op, client_rs, identity)
    assert first.consent_action == "CAPTURE"
    second, _, _, info2 = full_flow(op, client_rs, identity)
    assert second.consent_action == "NOCAPTURE"
    # With NOCAPTURE the UI sends no claims; the stored consent applies.
    assert released(info2) == released(info1)


def test_remembered_consent_keeps_what_was_declined(op, client_rs, identity):
    first = op.login(client_rs, identity, accept=["name"])
    op.tokens(client_rs, first)
    second, _, _, info = full_flow(op, client_rs, identity)
    assert second.consent_action == "NOCAPTURE"
    assert released(info) == {"name"}, info


def test_prompt_consent_forces_capture(op, client_rs, identity):
    full_flow(op, client_rs, identity)
    again = op.login(client_rs, identity, prompt="consent")
    assert again.consent_action == "CAPTURE"


def test_changed_claims_force_capture(op, client_rs, identity):
    import json
    full_flow(op, client_rs, identity)
    changed = op.login(client_rs, identity, claims=json.dumps({"userinfo": {"name": {"essential": True}}}))
    assert changed.consent_action == "CAPTURE"
    same_as_first = op.login(client_rs, identity)
    assert same_as_first.consent_action == "CAPTURE", "the last consent stored was for other claims"


def test_consent_is_per_client(op, client_rs, client_b, identity):
    full_flow(op, client_rs, identity)
    other = op.login(client_b, identity)
    assert other.consent_action == "CAPTURE"


# --------------------------------------------------------------------------------------------------------------
# The UI's hash, versions and claim-details
# --------------------------------------------------------------------------------------------------------------


def test_oauth_details_hash_is_what_the_ui_computes(op, client_rs):
    """The transaction headers work with the hash oidc-ui computes from the parsed `response`."""
    params, _ = op.authorization_params(client_rs)
    ui = op.ui()
    r = ui.oauth_details_raw(oauth_details_request({k: str(v) for k, v in params.items()}))
    response = ok_response(r)
    assert response["transactionId"] and len(response["transactionId"]) >= 32
    for member in ("clientName", "logoUrl", "authFactors", "authorizeScopes", "essentialClaims",
                   "voluntaryClaims", "configs", "redirectUri"):
        assert member in response, member
    assert isinstance(response["clientName"], dict), response["clientName"]  # v2/v3: language map
    details_hash = ui_hash(response)
    from conftest import OAuthDetails
    details = OAuthDetails(response["transactionId"], response, details_hash, r.text)
    identity = op.create_identity()
    assert ok_response(ui.send_otp(details, identity.individual_id))["transactionId"] == details.transaction_id


@pytest.mark.parametrize("version", ["v2", "v3"])
def test_oauth_details_versions(op, client_rs, identity, version):
    params, _ = op.authorization_params(client_rs)
    ui = op.ui()
    details = ui.oauth_details(oauth_details_request({k: str(v) for k, v in params.items()}), version=version)
    auth = ui.authenticated(details, identity)
    assert auth["consentAction"] == "CAPTURE"
    code = ok_response(ui.auth_code(details, details.voluntary_claims))["code"]
    assert code


def test_claim_details_after_authentication(op, client_rs, identity):
    params, _ = op.authorization_params(client_rs)
    ui = op.ui()
    details = ui.oauth_details(oauth_details_request({k: str(v) for k, v in params.items()}))
    ui.authenticated(details, identity)
    r = ui.claim_details(details)
    response = ok_response(r)
    assert response["transactionId"] == details.transaction_id
    assert response["consentAction"] == "CAPTURE"
    assert isinstance(response.get("claimStatus"), list)
    assert response.get("profileUpdateRequired") in (True, False)


def test_send_otp_masks_the_contacts(op, client_rs, identity):
    params, _ = op.authorization_params(client_rs)
    ui = op.ui()
    details = ui.oauth_details(oauth_details_request({k: str(v) for k, v in params.items()}))
    sent = ok_response(ui.send_otp(details, identity.individual_id, channels=["email", "phone"]))
    assert sent["transactionId"] == details.transaction_id
    assert sent.get("maskedEmail") and sent["maskedEmail"] != identity.email, sent
    assert sent.get("maskedMobile") and sent["maskedMobile"] != identity.phone, sent
    assert identity.email.split("@")[0] not in sent["maskedEmail"], sent
