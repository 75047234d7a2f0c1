#!/usr/bin/env bash
# End-to-end smoke test of a running Streammeon server: the original README's cURL flow, with
# every status code and key field checked. Usage: scripts/smoke.sh [BASE_URL]
# (default http://localhost:8000). Exits non-zero at the first failing step, naming it.
set -euo pipefail

BASE="${1:-http://localhost:8000}"
BASE="${BASE%/}"
# Fresh addresses each run, so the script can run again against the same database.
RUN="$(date +%s)$$${RANDOM}"
VENDOR_EMAIL="vendor-${RUN}@example.com"
USER_EMAIL="user-${RUN}@example.com"

BODY_FILE="$(mktemp)"
trap 'rm -f "$BODY_FILE"' EXIT
STEP=""
STATUS=""

fail() {
  echo "smoke: FAILED at step '${STEP}': $*" >&2
  echo "smoke: last response (HTTP ${STATUS:-none}): $(head -c 2000 "$BODY_FILE" 2>/dev/null || true)" >&2
  exit 1
}

step() {
  STEP="$1"
  echo "smoke: ${STEP}"
}

# request METHOD PATH [JSON_BODY] [TOKEN]: sets STATUS, leaves the body in $BODY_FILE.
request() {
  local method="$1" path="$2" data="${3:-}" token="${4:-}"
  local args=(-sS -o "$BODY_FILE" -w '%{http_code}' -X "$method" "${BASE}${path}")
  [[ -n "$token" ]] && args+=(-H "Authorization: Bearer ${token}")
  [[ -n "$data" ]] && args+=(-H 'Content-Type: application/json' --data "$data")
  STATUS="$(curl "${args[@]}")" || fail "could not reach ${BASE}${path}"
}

expect_status() {
  [[ "$STATUS" == "$1" ]] || fail "expected HTTP $1, got ${STATUS}"
}

# field EXPR: evaluates a Python expression over the JSON body `j` and prints the result.
field() {
  python3 -c '
import json, sys
j = json.load(open(sys.argv[1]))
v = eval(sys.argv[2], {"j": j})
print(json.dumps(v) if isinstance(v, (dict, list, bool)) or v is None else v)
' "$BODY_FILE" "$1" 2>/dev/null || fail "response is not the expected JSON (looking for $1)"
}

# expect EXPR VALUE: the body's EXPR must print as VALUE.
expect() {
  local actual
  actual="$(field "$1")"
  [[ "$actual" == "$2" ]] || fail "expected $1 == $2, got ${actual}"
}

step "GET /health"
request GET /health
expect_status 200
expect 'j["status"] in ("ok", "degraded")' true
expect 'j["db"]' ok

step "register vendor"
request POST /auth/register "{\"email\":\"${VENDOR_EMAIL}\",\"name\":\"vendor1\",\"password\":\"123456789\",\"role\":\"vendor\"}"
expect_status 200
expect 'j["token_type"]' bearer
expect 'j["user"]["role"]' vendor

step "register the same vendor again is refused"
request POST /auth/register "{\"email\":\"${VENDOR_EMAIL}\",\"name\":\"vendor1\",\"password\":\"123456789\",\"role\":\"vendor\"}"
expect_status 400
expect 'j["detail"]' 'Email already registered'

step "login vendor"
request POST /auth/login "{\"email\":\"${VENDOR_EMAIL}\",\"password\":\"123456789\"}"
expect_status 200
VJWT="$(field 'j["access_token"]')"
[[ -n "$VJWT" ]] || fail "no access_token"

step "login with a wrong password is refused"
request POST /auth/login "{\"email\":\"${VENDOR_EMAIL}\",\"password\":\"wrong\"}"
expect_status 400
expect 'j["detail"]' 'Incorrect email/password'

step "GET /me as vendor"
request GET /me "" "$VJWT"
expect_status 200
expect 'j["email"]' "$VENDOR_EMAIL"
expect 'j["role"]' vendor

step "GET /me with ?authorization=Bearer%20…"
request GET "/me?authorization=Bearer%20${VJWT}"
expect_status 200
expect 'j["role"]' vendor

step "GET /me without a token is refused"
request GET /me
expect_status 401

step "create session"
request POST /live/sessions '{"title":"My Live"}' "$VJWT"
expect_status 200
SID="$(field 'j["session_id"]')"
expect 'j["title"]' 'My Live'
expect 'j["is_live"]' true
expect 'j["vendor"]["name"]' vendor1
# Every field of the original's session object (the contract may add fields, never drop one).
expect 'sorted({"ended_at", "is_live", "live_duration_seconds", "session_id", "started_at", "title", "vendor", "viewer_count", "views_total"} - set(j))' '[]'

step "register user"
request POST /auth/register "{\"email\":\"${USER_EMAIL}\",\"name\":\"user1\",\"password\":\"p\",\"role\":\"user\"}"
expect_status 200
expect 'j["user"]["role"]' user

step "login user"
request POST /auth/login "{\"email\":\"${USER_EMAIL}\",\"password\":\"p\"}"
expect_status 200
UJWT="$(field 'j["access_token"]')"

step "a user cannot create a session"
request POST /live/sessions '{"title":"Not mine"}' "$UJWT"
expect_status 403
expect 'j["detail"]' 'vendor role required'

step "post a comment"
request POST "/live/sessions/${SID}/comments" '{"message":"  hello  "}' "$UJWT"
expect_status 200
expect 'j["message"]' hello
expect 'j["user_name"]' user1
expect 'j["session_id"]' "$SID"

step "list comments"
request GET "/live/sessions/${SID}/comments?limit=50"
expect_status 200
expect '[c["message"] for c in j["items"]]' '["hello"]'

step "list active sessions"
request GET /live/sessions/active
expect_status 200
expect "\"${SID}\" in [s[\"session_id\"] for s in j[\"items\"]]" true

step "get the session"
request GET "/live/sessions/${SID}"
expect_status 200
expect 'j["is_live"]' true
expect 'j["ended_at"]' null

step "end the session"
request POST "/live/sessions/${SID}/end" "" "$VJWT"
expect_status 200
expect 'j["is_live"]' false
expect 'j["ended_at"] is not None' true
ENDED_AT="$(field 'j["ended_at"]')"

step "end again is idempotent"
request POST "/live/sessions/${SID}/end" "" "$VJWT"
expect_status 200
expect 'j["ended_at"]' "$ENDED_AT"

step "the ended session is no longer active"
request GET /live/sessions/active
expect_status 200
expect "\"${SID}\" in [s[\"session_id\"] for s in j[\"items\"]]" false

step "a comment on the ended session is refused"
request POST "/live/sessions/${SID}/comments" '{"message":"too late"}' "$UJWT"
expect_status 409

step "an unknown session is not found"
request GET /live/sessions/00000000-0000-4000-8000-000000000000
expect_status 404
expect 'j["detail"]' 'Session not found'

echo "smoke: all steps passed against ${BASE}"
