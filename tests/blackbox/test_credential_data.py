"""Credential issuance with a credential-data plugin bound to `vci` (spin.toml `credential_data_plugin`): the
credential carries the plugin's claims, not the identity system's, filtered by the configuration and signed with
the issuer keys the host publishes; a plugin that traps, loops or refuses gives the wallet a clean OpenID4VCI
error and the next request is served. The main host (no binding) is covered by test_vci.py.

The plugin is the test component `test-credential-data` (components/tests): `given_name` "Ada", `family_name`
"Registry", `birthdate` "1815-12-10", `name` = the KYC name upper-cased, `email` = `<sub>@registry.test`,
`locale` = the first claims locale (else `und`), an unconfigured `registry_id`, no `gender`; an identity whose
given name is `trap`, `loop`, `denied`, ... makes it misbehave.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
from pathlib import Path

import pytest
import requests

from conftest import ROOT, jwt_parts, start_host
from vci_support import (SD_CONFIG, SD_SCOPE, VC_CONFIG, VC_SCOPE, assert_vci_error, credential_request,
                         holder_key, metadata, new_nonce, proof, request_body, verify_jwt_vc, verify_sd_jwt)

pytestmark = pytest.mark.filterwarnings("ignore:EdDSA is deprecated")

WASM_DIR = Path(os.environ.get("ESIGNET_TEST_WASM_DIR") or (
    os.environ.get("ESIGNET_COMPONENTS_TARGET_DIR", "/var/tmp/esignet-components-target")
    + "/wasm32-wasip2/release"))
PLUGIN_WASM = WASM_DIR / "test_credential_data.wasm"


def plugin_manifest(directory: Path) -> Path:
    """spin.toml with relative paths made absolute, `vci` bound to a `registry` credential-data plugin."""
    text = (ROOT / "spin.toml").read_text()
    text = text.replace('source = "target/', f'source = "{ROOT}/target/')
    text = text.replace('sql_migrations = ["migrations/', f'sql_migrations = ["{ROOT}/migrations/')
    vci = "[component.vci.tool.esignet]\n"
    assert text.count(vci) == 1
    text = text.replace(vci, vci + 'credential_data_plugin = "registry"\n')
    text += f"""
[component.registry]
source = "{PLUGIN_WASM}"
[component.registry.tool.esignet]
kind = "credential-data-plugin"
memory_limit_mb = 32
cpu_limit_ms = 500
"""
    path = directory / "spin.toml"
    path.write_text(text)
    return path


@pytest.fixture(scope="module")
def plugin_op():
    if not PLUGIN_WASM.exists():
        if os.environ.get("CI") == "true":
            pytest.fail(f"{PLUGIN_WASM} missing (components/build.sh)")
        pytest.skip(f"{PLUGIN_WASM} missing (components/build.sh)")
    with tempfile.TemporaryDirectory(prefix="bb-cdata-") as d:
        with start_host({}, name="credential-data", manifest=plugin_manifest(Path(d))) as op:
            yield op


@pytest.fixture(scope="module")
def wallet(plugin_op):
    return plugin_op.register_client("ES256", redirect_uris=["https://wallet.test/cb"])


def token_for(op, client, identity, scope: str, **extra) -> str:
    login = op.login(client, identity, scope=scope, **extra)
    r = op.token(client, login)
    assert r.status_code == 200, f"token {r.status_code}: {r.text[:400]}"
    return r.json()["access_token"]


def send(op, token: str, config_id: str, key, http=None) -> requests.Response:
    """A valid credential request with a fresh nonce (through `http`, default the 5xx-recording session)."""
    body = request_body(config_id, proof(key, aud=op.issuer, nonce=new_nonce(op)))
    if http is None:
        return credential_request(op, token, body)
    return http.post(metadata(op)["credential_endpoint"], data=json.dumps(body), timeout=60,
                     headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"})


def credential_of(resp: requests.Response) -> str:
    assert resp.status_code == 200, f"credential {resp.status_code}: {resp.text[:400]}"
    return resp.json()["credentials"][0]["credential"]


def test_sd_jwt_vc_carries_the_plugins_claims(plugin_op, wallet):
    op = plugin_op
    identity = op.create_identity()
    token = token_for(op, wallet, identity, SD_SCOPE)
    sub = jwt_parts(token)[1]["sub"]
    key = holder_key()
    config = metadata(op)["credential_configurations_supported"][SD_CONFIG]
    claims = verify_sd_jwt(op, credential_of(send(op, token, SD_CONFIG, key)), key, config)
    assert claims["given_name"] == "Ada" and claims["family_name"] == "Registry", claims
    assert claims["birthdate"] == "1815-12-10", claims
    assert claims["name"] == identity.full_name["eng"].upper(), "the plugin got the KYC claims"
    assert claims["email"] == f"{sub}@registry.test", "the plugin got the token's subject"
    assert claims["locale"] == "und", claims
    for absent in ("gender", "phone_number", "address", "registry_id"):
        assert absent not in claims, (absent, claims)
    assert identity.email not in json.dumps(claims), "nothing of the identity system's own claims but the name"


def test_claims_locales_reach_the_plugin(plugin_op, wallet):
    token = token_for(plugin_op, wallet, plugin_op.create_identity(), SD_SCOPE, claims_locales="fr")
    key = holder_key()
    config = metadata(plugin_op)["credential_configurations_supported"][SD_CONFIG]
    claims = verify_sd_jwt(plugin_op, credential_of(send(plugin_op, token, SD_CONFIG, key)), key, config)
    assert claims["locale"] == "fr", claims


def test_jwt_vc_json_carries_the_plugins_claims(plugin_op, wallet):
    op = plugin_op
    identity = op.create_identity()
    token = token_for(op, wallet, identity, VC_SCOPE)
    key = holder_key()
    config = metadata(op)["credential_configurations_supported"][VC_CONFIG]
    c = verify_jwt_vc(op, credential_of(send(op, token, VC_CONFIG, key)), key, config)
    subject = c["vc"]["credentialSubject"]
    assert subject["given_name"] == "Ada" and subject["family_name"] == "Registry", subject
    assert subject["birthdate"] == "1815-12-10" and subject["name"] == identity.full_name["eng"].upper(), subject
    assert "gender" not in subject and "registry_id" not in subject, subject
    assert re.fullmatch(r".+@registry\.test", subject["email"]), subject


@pytest.mark.parametrize("given, status, error", [
    ("trap", 500, "server_error"),
    ("alloc", 500, "server_error"),
    ("garbage", 500, "server_error"),
    ("loop", 503, "temporarily_unavailable"),
    ("down", 503, "temporarily_unavailable"),
    ("denied", 400, "credential_request_denied"),
    ("missing", 400, "credential_request_denied"),
])
def test_a_failing_plugin_gives_a_clean_error_and_the_next_request_works(plugin_op, wallet, given, status, error):
    op = plugin_op
    bad = op.create_identity(givenName=[{"language": "eng", "value": given}])
    token = token_for(op, wallet, bad, SD_SCOPE)
    # A plain session: this 5xx is the expected answer to a failing data source, not a product fault.
    plain = requests.Session()
    plain.trust_env = False
    resp = send(op, token, SD_CONFIG, holder_key(), http=plain)
    assert_vci_error(resp, error, status)
    good = token_for(op, wallet, op.create_identity(), SD_SCOPE)
    key = holder_key()
    config = metadata(op)["credential_configurations_supported"][SD_CONFIG]
    assert verify_sd_jwt(op, credential_of(send(op, good, SD_CONFIG, key)), key, config)["given_name"] == "Ada"


@pytest.mark.parametrize("config_id, scope", [(SD_CONFIG, SD_SCOPE), (VC_CONFIG, VC_SCOPE)])
def test_claim_values_with_names_the_format_reserves_are_refused(plugin_op, wallet, config_id, scope):
    """A plugin's `name` {"@id": ..., "_sd": [...]} and `address` [{"...": ...}]: signed into an SD-JWT VC, a
    verifier would read `_sd`/`...` as digests of disclosures (or reject the credential); into a JSON-LD VC, `@id`
    re-identifies the claim. The issuer refuses rather than sign what a verifier would read differently."""
    op = plugin_op
    token = token_for(op, wallet, op.create_identity(givenName=[{"language": "eng", "value": "reserved"}]), scope)
    plain = requests.Session()  # the expected 500 of a broken data source, not a product fault
    plain.trust_env = False
    assert_vci_error(send(op, token, config_id, holder_key(), http=plain), "server_error", 500)
    good = token_for(op, wallet, op.create_identity(), scope)
    assert credential_of(send(op, good, config_id, holder_key()))


def test_logs_name_the_failure_but_no_claims(plugin_op, wallet):
    op = plugin_op
    identity = op.create_identity()
    token = token_for(op, wallet, identity, SD_SCOPE)
    credential_of(send(op, token, SD_CONFIG, holder_key()))
    text = (op.data_dir / "host.log").read_text(errors="replace")
    assert re.search(r'claimsSource[^,}]*plugin', text), "the audit record names the source"
    for secret in ("registry.test", identity.full_name["eng"].upper(), token):
        assert secret not in text, "claims or a token reached the log"
