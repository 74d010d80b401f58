#!/usr/bin/env bash
# Black-box test of the mock-identity plugin on the real host: starts `esignet up` with a manifest holding only
# mock-identity and the test endpoint test-authenticator-flow (which exposes each plugin call as a GET route),
# creates a demo identity through the admin API, drives send-otp → kyc-auth (OTP, PIN, PWD, KBI) → kyc-exchange,
# checks the admin API's errors, verifies the KYC JWT's RS256 signature against signing-keys, then stops the host.
#
# Needs: the host binary (ESIGNET_BIN), both wasm files built (../build.sh), curl, python3.
# Ports: HTTP_PORT (18081) and ADMIN_PORT (18091). Prints "N passed, N failed"; exits non-zero on a failure.
set -uo pipefail

HERE="$(cd "$(dirname "$0")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
ESIGNET_BIN="${ESIGNET_BIN:-/var/tmp/esignet-target/release/esignet}"
WASM_DIR="${CARGO_TARGET_DIR:-/var/tmp/esignet-components-target}/wasm32-wasip2/release"
HTTP_PORT="${HTTP_PORT:-18081}"
ADMIN_PORT="${ADMIN_PORT:-18091}"
WORK="$(mktemp -d)"
H="http://127.0.0.1:$HTTP_PORT"
B="$H/v1/mock-identity-system"
F="$H/flow"
TOKEN_HEADER='Authorization: Bearer e2e-admin-token'

cat > "$WORK/spin.toml" <<TOML
spin_manifest_version = 2

[application]
name = "mock-identity-e2e"
version = "0.1.0"

[[trigger.http]]
route = "/v1/mock-identity-system/..."
component = "mock-identity"

[[trigger.http]]
route = "/flow/..."
component = "flow"

[component.mock-identity]
source = "$WASM_DIR/mock_identity.wasm"
[component.mock-identity.variables]
issuer = "$H/v1/esignet"
fixed_otp = "111111"
admin_token = "e2e-admin-token"
outbox_enabled = "true"
[component.mock-identity.tool.esignet]
kind = "plugin"
capabilities = ["keys", "sql", "cache", "config", "audit"]
cache_namespace = "mock-identity"
sql_database = "mockidentity"
sql_migrations = ["$ROOT/migrations/mockidentity"]
key_purposes = { mock-identity-kyc = "RS256" }
memory_limit_mb = 64
cpu_limit_ms = 2000
error_format = "esignet"

[component.flow]
source = "$WASM_DIR/test_authenticator_flow.wasm"
[component.flow.tool.esignet]
capabilities = ["authenticator"]
plugin = "mock-identity"
TOML

ESIGNET_DEMO=0 "$ESIGNET_BIN" up --manifest "$WORK/spin.toml" --data-dir "$WORK/data" \
    --listen "127.0.0.1:$HTTP_PORT" --admin-listen "127.0.0.1:$ADMIN_PORT" >"$WORK/host.out" 2>"$WORK/host.err" &
HOST_PID=$!
cleanup() { kill "$HOST_PID" 2>/dev/null; wait "$HOST_PID" 2>/dev/null; rm -rf "$WORK"; }
trap cleanup EXIT
for _ in $(seq 1 100); do grep -q '"ready"' "$WORK/host.err" 2>/dev/null && break; sleep 0.2; done
grep -q '"ready"' "$WORK/host.err" || { echo "host did not start:"; cat "$WORK/host.err"; exit 1; }

pass=0; fail=0
check() { # name, expected substring, actual
    if [[ "$3" == *"$2"* ]]; then pass=$((pass+1)); echo "ok   $1"; else fail=$((fail+1)); echo "FAIL $1: $3"; fi
}
now() { python3 -c 'import datetime;print(datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3]+"Z")'; }
wrap() { printf '{"requestTime":"%s","request":%s}' "$(now)" "$1"; }
b64json() { python3 -c 'import base64,sys;print(base64.urlsafe_b64encode(sys.argv[1].encode()).decode().rstrip("="))' "$1"; }
jwt_payload() { python3 -c 'import base64,sys;p=sys.argv[1].split(".")[1];print(base64.urlsafe_b64decode(p+"="*(-len(p)%4)).decode())' "$1"; }
field() { python3 -c 'import json,sys;print(json.loads(sys.argv[1]).get(sys.argv[2],""))' "$1" "$2" 2>/dev/null; }
admin() { curl -s -X "$1" -H "$TOKEN_HEADER" -H 'content-type: application/json' ${3:+--data "$3"} "$B$2"; }

# --- admin API
IDENTITY=$(python3 -c 'import json,sys;print(json.dumps(json.load(open(sys.argv[1]))[0]["identity"]))' "$ROOT/demo/identities.json")
ID=$(field "$IDENTITY" individualId)
check unauthorized '"errorCode":"unauthorized"' "$(curl -s -X POST -H 'x-esignet-internal: 1' --data "$(wrap "$IDENTITY")" "$B/identity")"
check create '"status":"mock identity data created successfully"' "$(admin POST /identity "$(wrap "$IDENTITY")")"
check duplicate '"errorCode":"duplicate_individual_id"' "$(admin POST /identity "$(wrap "$IDENTITY")")"
GOT=$(admin GET "/identity/$ID")
check get '"fullName":[{"language":"eng","value":"Jane Doe"}' "$GOT"
check get-without-secrets 'absent' "$(grep -qi 'pin\|password\|argon' <<<"$GOT" && echo present || echo absent)"
check get-unknown '"errorCode":"invalid_individual_id"' "$(admin GET /identity/1111111111)"
BAD=$(admin POST /identity "$(wrap '{"individualId":"12ab","email":"nope","shoe":1}')")
check schema-field '"errorCode":"invalid_individualid","errorMessage":"individualId: invalid_individualid"' "$BAD"
check schema-unknown '"errorMessage":"shoe: invalid_request"' "$BAD"
check stale-envelope '"errorCode":"invalid_request"' \
    "$(admin POST /identity '{"requestTime":"2020-01-01T00:00:00.000Z","request":{}}')"
check wrong-method 405 "$(curl -s -o /dev/null -w '%{http_code}' -X DELETE -H "$TOKEN_HEADER" "$B/identity")"

# --- send-otp → kyc-auth(OTP) → kyc-exchange
TXN="txn-$RANDOM$RANDOM"
check channels '["email","phone"]' "$(curl -s "$F/channels")"
SENT=$(curl -s "$F/send-otp?id=$ID&txn=$TXN&channels=email,phone")
check send-otp '"masked_email":"j***@example.com","masked_mobile":"********0101","transaction_id":"'"$TXN"'"' "$SENT"
check send-otp-unknown '"error":"invalid_individual_id"' "$(curl -s "$F/send-otp?id=1111111111&txn=$TXN&channels=email")"
check outbox '"otp":"111111"' "$(admin GET "/outbox/$ID")"
check otp-wrong '"error":"auth_failed"' "$(curl -s "$F/kyc-auth?id=$ID&txn=$TXN&otp=222222")"
check otp-other-transaction '"error":"auth_failed"' "$(curl -s "$F/kyc-auth?id=$ID&txn=x-$TXN&otp=111111")"
AUTH=$(curl -s "$F/kyc-auth?id=$ID&txn=$TXN&otp=111111")
check otp '"kyc_token"' "$AUTH"
check otp-single-use '"error":"auth_failed"' "$(curl -s "$F/kyc-auth?id=$ID&txn=$TXN&otp=111111")"
KYC=$(field "$(curl -s "$F/kyc-exchange?id=$ID&txn=$TXN&token=$(field "$AUTH" kyc_token)&claims=name,email,birthdate,address")" encrypted_kyc)
CLAIMS=$(jwt_payload "$KYC")
check kyc-claims '"name":"Jane Doe"' "$CLAIMS"
check kyc-sub '"sub":"'"$(field "$AUTH" partner_specific_user_token)"'"' "$CLAIMS"
check kyc-birthdate '"birthdate":"1990-01-31"' "$CLAIMS"
check kyc-token-single-use '"error":"invalid_transaction"' \
    "$(curl -s "$F/kyc-exchange?id=$ID&txn=$TXN&token=$(field "$AUTH" kyc_token)&claims=name")"

# --- other factors and locales
PIN=$(python3 -c 'import json,sys;print(json.load(open(sys.argv[1]))[0]["login"]["pin"])' "$ROOT/demo/identities.json")
PWD_=$(python3 -c 'import json,sys;print(json.load(open(sys.argv[1]))[0]["login"]["password"])' "$ROOT/demo/identities.json")
AUTH=$(curl -s "$F/kyc-auth?id=$ID&txn=$TXN&pin=$PIN")
check pin '"kyc_token"' "$AUTH"
check exchange-other-client '"error":"data_exchange_failed"' \
    "$(curl -s "$F/kyc-exchange?id=$ID&txn=$TXN&token=$(field "$AUTH" kyc_token)&client=other&claims=name")"
AUTH=$(curl -s "$F/kyc-auth?id=$ID&txn=$TXN&pwd=$PWD_")
check password '"kyc_token"' "$AUTH"
CLAIMS=$(jwt_payload "$(field "$(curl -s "$F/kyc-exchange?id=$ID&txn=$TXN&token=$(field "$AUTH" kyc_token)&claims=name&locales=fr,ar")" encrypted_kyc)")
check locale-fr '"name#fr":"Jeanne Doe"' "$CLAIMS"
check locale-ar '"name#ar":"جين دو"' "$CLAIMS"
KBI=$(b64json '{"individualId":"'"$ID"'","fullName":"Jane Doe","dateOfBirth":"1990-01-31"}')
check kbi '"kyc_token"' "$(curl -s "$F/kyc-auth?id=$ID&txn=$TXN&kbi=$KBI")"
check kbi-wrong '"error":"auth_failed"' "$(curl -s "$F/kyc-auth?id=$ID&txn=$TXN&kbi=$(b64json '{"fullName":"Jane Doe","dateOfBirth":"1990-02-01"}')")"
check pin-wrong '"error":"auth_failed"' "$(curl -s "$F/kyc-auth?id=$ID&txn=$TXN&pin=000000")"
check bio '"error":"auth_failed"' "$(curl -s "$F/kyc-auth?id=$ID&txn=$TXN&bio=x")"

# --- partial update keeps the rest and re-hashes a new PIN
check update '"status":"mock identity data updated successfully"' \
    "$(admin PUT /identity "$(wrap '{"individualId":"'"$ID"'","email":"jane.new@example.org","pin":"989898"}')")"
check update-applied '"email":"jane.new@example.org"' "$(admin GET "/identity/$ID")"
check update-new-pin '"kyc_token"' "$(curl -s "$F/kyc-auth?id=$ID&txn=$TXN&pin=989898")"
check update-old-pin '"error":"auth_failed"' "$(curl -s "$F/kyc-auth?id=$ID&txn=$TXN&pin=$PIN")"

# --- the KYC JWT verifies with the published key
KEYS=$(curl -s "$F/signing-keys")
check signing-keys '"key_id"' "$KEYS"
if python3 - "$KYC" "$KEYS" <<'PY'
import base64, hashlib, json, sys
jwt, keys = sys.argv[1], json.loads(sys.argv[2])["keys"]
d = lambda s: base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))
h, p, s = jwt.split(".")
header = json.loads(d(h))
jwk = next(json.loads(k["jwk"]) for k in keys if k["key_id"] == header["kid"])
assert header["alg"] == "RS256" and header["typ"] == "JWT"
n, e = int.from_bytes(d(jwk["n"]), "big"), int.from_bytes(d(jwk["e"]), "big")
em = pow(int.from_bytes(d(s), "big"), e, n).to_bytes((n.bit_length() + 7) // 8, "big")
digest_info = bytes.fromhex("3031300d060960864801650304020105000420") + hashlib.sha256((h + "." + p).encode()).digest()
assert em.startswith(b"\x00\x01\xff") and em.endswith(b"\x00" + digest_info)
PY
then check jws-verifies ok ok; else check jws-verifies ok failed; fi

# --- nothing personal in the logs
check logs-clean 0 "$(grep -c "$ID\|111111\|$PIN\|989898\|$PWD_\|Jane" "$WORK/host.err")"

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
