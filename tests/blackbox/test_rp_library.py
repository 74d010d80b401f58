"""A real relying-party library against the provider: Authlib's requests client.

Authlib discovers the endpoints, builds the authorization URL (S256 PKCE), redeems the code with
`private_key_jwt` and calls userinfo with the access token. Between the authorization URL and the callback the
test plays the citizen through the UI API, exactly as the browser with eSignet's UI would.
"""

from __future__ import annotations

import urllib.parse

import pytest
from authlib.integrations.requests_client import OAuth2Session
from authlib.oauth2.rfc7523 import PrivateKeyJWT, private_key_jwt_sign
from joserfc import jwt

from conftest import OP, Client, Identity, _record_5xx, oauth_details_request, ok_response, pkce_pair, random_text


class PrivateKeyJWT60(PrivateKeyJWT):
    """Authlib's PrivateKeyJWT with a 60 s assertion.

    Authlib signs assertions valid for one hour by default; this provider refuses assertions living longer than
    its pinned maximum (5 minutes, case ES-02 b), so the relying party configures a short lifetime — the usual
    setting for FAPI-style deployments.
    """

    def sign(self, auth, token_endpoint):
        return private_key_jwt_sign(auth.client_secret, client_id=auth.client_id, token_endpoint=token_endpoint,
                                    claims=self.claims, header=self.headers, alg=self.alg, expires_in=60)


def citizen_logs_in(op: OP, authorization_url: str, identity: Identity) -> str:
    """Follow the authorization URL to the login page, log in with OTP, consent; return the callback URL."""
    r = op.http.get(authorization_url, allow_redirects=False, timeout=60)
    assert r.status_code in (302, 303), r.text[:300]
    login_page = urllib.parse.urljoin(authorization_url, r.headers["location"])
    query = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(login_page).query))
    ui = op.ui()
    details = ui.oauth_details(oauth_details_request(query))
    auth = ui.authenticated(details, identity, "OTP")
    accepted = details.essential_claims + details.voluntary_claims if auth["consentAction"] == "CAPTURE" else []
    code = ok_response(ui.auth_code(details, accepted))
    # What the UI does with the answer: navigate to redirectUri with code, state and iss (RFC 9207).
    params = {"code": code["code"], "state": code["state"], "iss": op.issuer}
    return code["redirectUri"] + "?" + urllib.parse.urlencode(params)


@pytest.mark.parametrize("which", ["rs256", "demo-es256"])
def test_authlib_completes_the_code_flow(op, identity, which):
    client: Client = op.register_client("RS256") if which == "rs256" else op.demo_client()
    # 1. Discovery, as an RP library does it: <issuer>/.well-known/openid-configuration.
    meta = op.http.get(op.issuer + "/.well-known/openid-configuration", timeout=30).json()
    assert meta["issuer"] == op.issuer  # OIDC Discovery §4.3

    session = OAuth2Session(
        client.client_id,
        client.key,
        token_endpoint_auth_method=PrivateKeyJWT60(meta["token_endpoint"], alg=client.alg),
        scope="openid profile",
        redirect_uri=client.redirect_uri,
        code_challenge_method="S256",
    )
    session.hooks["response"].append(_record_5xx)
    verifier, _ = pkce_pair()
    nonce = random_text(40)
    url, state = session.create_authorization_url(meta["authorization_endpoint"], code_verifier=verifier,
                                                  nonce=nonce)
    callback = citizen_logs_in(op, url, identity)
    assert dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(callback).query))["state"] == state

    token = session.fetch_token(meta["token_endpoint"], authorization_response=callback, state=state,
                                code_verifier=verifier)
    assert token["token_type"].lower() == "bearer"
    id_token = jwt.decode(token["id_token"], op.jwks(), algorithms=meta["id_token_signing_alg_values_supported"])
    assert id_token.claims["iss"] == op.issuer
    assert id_token.claims["aud"] in (client.client_id, [client.client_id])
    assert id_token.claims["nonce"] == nonce

    r = session.get(meta["userinfo_endpoint"])
    assert r.status_code == 200, r.headers
    assert r.headers["content-type"].split(";")[0] == "application/jwt"
    info = jwt.decode(r.text, op.jwks(), algorithms=meta.get("userinfo_signing_alg_values_supported")
                      or meta["id_token_signing_alg_values_supported"]).claims
    assert info["sub"] == id_token.claims["sub"]
    assert info["aud"] in (client.client_id, [client.client_id])
    assert "name" in info


def test_authlib_default_one_hour_assertion_is_refused(op, identity):
    """The flip side of ES-02 b: Authlib's default (exp = iat + 3600) is over the pinned 5-minute maximum."""
    client = op.register_client("RS256")
    meta = op.discovery
    session = OAuth2Session(client.client_id, client.key,
                            token_endpoint_auth_method=PrivateKeyJWT(meta["token_endpoint"]),
                            scope="openid profile", redirect_uri=client.redirect_uri, code_challenge_method="S256")
    session.hooks["response"].append(_record_5xx)
    verifier, _ = pkce_pair()
    url, state = session.create_authorization_url(meta["authorization_endpoint"], code_verifier=verifier)
    callback = citizen_logs_in(op, url, identity)
    with pytest.raises(Exception) as err:
        session.fetch_token(meta["token_endpoint"], authorization_response=callback, state=state,
                            code_verifier=verifier)
    assert "invalid_client" in str(err.value), err.value
