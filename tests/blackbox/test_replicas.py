"""Two replicas behind one (imagined) load balancer: two `esignet up` processes on different ports sharing the
production backends of this run — one PostgreSQL database, one Redis db, one SoftHSM2 token — and one public
issuer URL (ESIGNET_ISSUER, a load-balancer name that resolves nowhere; each request goes to the replica the test
picks, with the path the issuer's URLs name).

Runs only under ESIGNET_TEST_BACKENDS=production (tests/blackbox/run creates the backends); embedded backends are
per host, so replicas cannot share them.
"""

from __future__ import annotations

import concurrent.futures
import threading
import time
import urllib.parse

import pytest

from conftest import (DEMO_OTP, OP, PREFIX, PRODUCTION, Client, Host, LoginResult, UiSession, assert_esignet_error,
                      assert_oauth_error, challenge_for, new_session, oauth_details_request, ok_response)

pytestmark = pytest.mark.skipif(
    not PRODUCTION, reason="replicas share PostgreSQL, Redis and a PKCS#11 token: run with "
                           "ESIGNET_TEST_BACKENDS=production (tests/blackbox/run sets the backends up)")

ISSUER = "http://esignet-lb.replicas.test/v1/esignet"
INVALID_CLIENT_STATUSES = (400, 401)


class ReplicaOP(OP):
    """One replica: the shared issuer in every token and document, requests sent to this replica's port."""

    def __init__(self, host: Host, issuer: str):
        super().__init__(host.url, host.admin, host.data_dir, host.bin, host.mock_admin_token)
        self._issuer = issuer
        self.name = host.name

    @property
    def issuer(self) -> str:
        return self._issuer

    def local(self, url: str) -> str:
        """An issuer-based URL (as discovery names it) on this replica."""
        parts = urllib.parse.urlsplit(url)
        if parts.netloc != urllib.parse.urlsplit(self._issuer).netloc:
            return url
        return self.base + parts.path + (("?" + parts.query) if parts.query else "")

    @property
    def discovery(self) -> dict:
        if self._discovery is None:
            r = self.http.get(self.base + PREFIX + "/.well-known/openid-configuration", timeout=30)
            assert r.status_code == 200, r.text
            self._discovery = r.json()
        return self._discovery

    def jwks_json(self) -> dict:
        r = self.http.get(self.local(self.discovery["jwks_uri"]), timeout=30)
        assert r.status_code == 200, r.text
        return r.json()

    def jwks(self):
        from joserfc.jwk import KeySet
        return KeySet.import_key_set(self.jwks_json())

    def token_request(self, form, headers=None):
        h = {"Content-Type": "application/x-www-form-urlencoded"}
        h.update(headers or {})
        data = form if isinstance(form, str) else urllib.parse.urlencode(form)
        # A fresh connection per request: concurrent calls from several threads share no session.
        return new_session().post(self.local(self.token_endpoint), data=data, headers=h, timeout=60)

    def userinfo(self, access_token, scheme="Bearer"):
        headers = {} if access_token is None else {"Authorization": f"{scheme} {access_token}"}
        return self.http.get(self.local(self.userinfo_endpoint), headers=headers, timeout=60)


def ui_on(ui: UiSession, op: OP) -> UiSession:
    """The same browser (cookies, XSRF token) with its requests routed to another replica."""
    other = UiSession.__new__(UiSession)
    other.__dict__.update(ui.__dict__)
    other.op = op
    return other


@pytest.fixture(scope="module")
def replicas():
    hosts = [Host(name="replica-a", extra_env={"ESIGNET_ISSUER": ISSUER}),
             Host(name="replica-b", extra_env={"ESIGNET_ISSUER": ISSUER})]
    try:
        # Both start at the same moment (migrations, key lookup and demo seeding must tolerate that).
        with concurrent.futures.ThreadPoolExecutor(2) as pool:
            for f in [pool.submit(h.start) for h in hosts]:
                f.result()
        yield tuple(ReplicaOP(h, ISSUER) for h in hosts)
    finally:
        for h in hosts:
            h.stop()


@pytest.fixture(scope="module")
def client_ab(replicas) -> Client:
    a, _ = replicas
    return a.register_client("RS256")


def alternating_login(a: ReplicaOP, b: ReplicaOP, client: Client, identity) -> LoginResult:
    """oauth-details on A, send-otp on B, authenticate on A, auth-code on B."""
    params, verifier = a.authorization_params(client)
    started = int(time.time())
    query = {k: str(v) for k, v in params.items()}
    ui_a = a.ui()
    ui_b = ui_on(ui_a, b)
    details = ui_a.oauth_details(oauth_details_request(query))
    assert details.response.get("redirectUri") == client.redirect_uri, details.response
    sent = ok_response(ui_b.send_otp(details, identity.individual_id))
    assert sent.get("transactionId") == details.transaction_id, sent
    auth = ok_response(ui_a.authenticate(details, identity.individual_id, [challenge_for("OTP", identity)]))
    assert auth.get("transactionId") == details.transaction_id, auth
    accepted = details.essential_claims + details.voluntary_claims if auth.get("consentAction") == "CAPTURE" else []
    code_resp = ok_response(ui_b.auth_code(details, accepted))
    assert code_resp.get("code") and code_resp.get("state") == params["state"], code_resp
    return LoginResult(code_resp["code"], params["state"], params.get("nonce"), verifier, client.redirect_uri,
                       auth.get("consentAction"), accepted, details, code_resp, params, started, "OTP")


def test_both_replicas_serve_one_issuer_and_one_jwks(replicas):
    a, b = replicas
    assert a.discovery["issuer"] == b.discovery["issuer"] == ISSUER
    assert a.discovery == b.discovery
    ja, jb = a.jwks_json(), b.jwks_json()
    assert ja["keys"], ja
    key_ids = lambda j: sorted(k["kid"] for k in j["keys"])  # noqa: E731
    assert key_ids(ja) == key_ids(jb), (ja, jb)
    assert sorted(ja["keys"], key=lambda k: k["kid"]) == sorted(jb["keys"], key=lambda k: k["kid"])


def test_login_steps_alternate_between_replicas(replicas, client_ab):
    a, b = replicas
    identity = a.create_identity()
    assert identity.otp == DEMO_OTP
    login = alternating_login(a, b, client_ab, identity)
    tokens = a.tokens(client_ab, login)                      # token on A
    claims_a = a.verify_tokens(client_ab, tokens)            # verified against A's JWKS
    claims_b = b.verify_tokens(client_ab, tokens)            # and B's
    assert claims_a == claims_b and claims_a["nonce"] == login.nonce
    info = b.read_userinfo(client_ab, b.userinfo(tokens["access_token"]))  # userinfo on B
    assert info["sub"] == claims_a["sub"], (info, claims_a)
    assert info.get("name") or info.get("email"), info
    # The same flow the other way round: a session started on B, tokens from B, userinfo on A.
    login = alternating_login(b, a, client_ab, a.create_identity())
    tokens = b.tokens(client_ab, login)
    a.verify_tokens(client_ab, tokens)
    a.read_userinfo(client_ab, a.userinfo(tokens["access_token"]))


def race(requests_to_send):
    """Sends every (callable) at the same moment from its own thread; the responses in order."""
    barrier = threading.Barrier(len(requests_to_send))

    def run(send):
        barrier.wait(timeout=30)
        return send()

    with concurrent.futures.ThreadPoolExecutor(len(requests_to_send)) as pool:
        return list(pool.map(run, requests_to_send))


@pytest.mark.parametrize("round_", range(3))
def test_one_code_replayed_at_both_replicas_at_once_gives_one_token(replicas, client_ab, round_):
    a, b = replicas
    login = alternating_login(a, b, client_ab, a.create_identity())
    senders = []
    for i in range(8):
        replica = (a, b)[i % 2]
        # Each request its own fresh assertion (own jti): only the code is shared.
        form = replica.token_form(client_ab, login.code, login.verifier, redirect_uri=login.redirect_uri)
        senders.append(lambda replica=replica, form=form: replica.token_request(form))
    results = race(senders)
    statuses = [r.status_code for r in results]
    assert statuses.count(200) == 1, [(s, r.text[:200]) for s, r in zip(statuses, results)]
    for r in results:
        if r.status_code != 200:
            assert_oauth_error(r, "invalid_grant")
    winner = next(r for r in results if r.status_code == 200).json()
    a.verify_tokens(client_ab, winner)


@pytest.mark.parametrize("round_", range(3))
def test_one_jti_in_token_requests_at_both_replicas_at_once_gives_one_success(replicas, client_ab, round_):
    a, b = replicas
    identity = a.create_identity()
    logins = [alternating_login(a, b, client_ab, identity) for _ in range(4)]
    assertion = a.client_assertion(client_ab)  # one jti for four different codes
    senders = []
    for i, login in enumerate(logins):
        replica = (a, b)[i % 2]
        form = replica.token_form(client_ab, login.code, login.verifier, redirect_uri=login.redirect_uri,
                                  assertion=assertion)
        senders.append(lambda replica=replica, form=form: replica.token_request(form))
    results = race(senders)
    statuses = [r.status_code for r in results]
    assert statuses.count(200) <= 1, [(s, r.text[:200]) for s, r in zip(statuses, results)]
    assert statuses.count(200) == 1, ("no request won the jti", [(s, r.text[:200]) for s, r in zip(statuses, results)])
    for r in results:
        if r.status_code != 200:
            assert_oauth_error(r, "invalid_client", INVALID_CLIENT_STATUSES)


def test_client_deactivated_on_a_is_refused_by_b_at_once(replicas):
    a, b = replicas
    client = a.register_client("ES256")
    identity = a.create_identity()
    login = alternating_login(a, b, client, identity)   # B knows the client (and may have cached it)
    params, _ = b.authorization_params(client)
    ok_response(b.ui().oauth_details_raw(oauth_details_request({k: str(v) for k, v in params.items()})))
    ok_response(a.client_mgmt("PATCH", f"/client/{client.client_id}", {"status": "INACTIVE"}))
    r = b.ui().oauth_details_raw(oauth_details_request({k: str(v) for k, v in params.items()}))
    assert_esignet_error(r, "invalid_client_id")
    assert_oauth_error(b.token(client, login), "invalid_client", INVALID_CLIENT_STATUSES)
    # And back: reactivated on B, A serves it again at once.
    ok_response(b.client_mgmt("PATCH", f"/client/{client.client_id}", {"status": "ACTIVE"}))
    params, _ = a.authorization_params(client)
    ok_response(a.ui().oauth_details_raw(oauth_details_request({k: str(v) for k, v in params.items()})))
