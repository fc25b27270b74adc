#!/usr/bin/env bash
# Logging out of the dashboard ends the session on both sites, not only in
# the browser: a copy of the cookie taken before the logout is refused
# (401) by the primary and by the mirror, also after the mirror restarts
# from its log. A logout on the mirror cannot write that, so it answers
# 503 naming the primary and the session goes on. A password changed with
# `vigil passwd` ends the person's sessions on both sites too.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/cluster_lib.sh"

cluster_setup
export VIGIL_TOKEN=$TOKEN
m_start dc1 --bootstrap
wait_until "dc1 is primary" is_primary dc1
m_start dc2
wait_until "dc2 is an in-sync mirror" is_mirror_in_sync dc2 dc1
export VIGIL_SERVER=${URL[dc1]}
cat >"$VG_TMP/noor.yaml" <<'YAML'
kind: Person
name: noor
spec: {full_name: Noor El Amrani, timezone: Europe/Brussels}
YAML
"$VIGIL" apply -f "$VG_TMP/noor.yaml" >/dev/null || fail "apply noor"
PASSWORD="night shift $RANDOM$RANDOM"
echo "$PASSWORD" | "$VIGIL" passwd noor --role operator 2>/dev/null || fail "vigil passwd noor"
wait_until "dc2 has applied the login" \
    bash -c "curl -fsS -H 'Authorization: Bearer $TOKEN' ${URL[dc2]}/api/v1/logins | grep -q noor"

login() { # MEMBER BODY -> the session cookie's value
    curl -sS -m 10 -D - -o /dev/null -H 'Content-Type: application/json' -d "$2" \
        "${URL[$1]}/api/v1/login" | tr -d '\r' | sed -n 's/^Set-Cookie: vg_session=\([^;]*\);.*/\1/p'
}
as_person() { login "$1" "$(jq -nc --arg p "$PASSWORD" '{person:"noor",password:$p}')"; }
code() { # MEMBER METHOD PATH COOKIE -> HTTP code
    curl -sS -m 5 -o "$VG_TMP/body" -w '%{http_code}' -X "$2" -H "Cookie: vg_session=$4" \
        "${URL[$1]}$3"
}
refused_on() { [[ $(code "$1" GET /api/v1/session "$2") == 401 ]]; }

# --- a person's session, logged out on the primary
cookie=$(as_person dc1)
[[ -n $cookie ]] || fail "no session cookie from dc1"
assert_eq 200 "$(code dc1 GET /api/v1/session "$cookie")" "the session on dc1"
assert_eq 200 "$(code dc2 GET /api/v1/session "$cookie")" "the session on dc2"
copy=$cookie
hdrs=$(curl -sS -m 5 -D - -o "$VG_TMP/body" -X POST -H "Cookie: vg_session=$cookie" \
    "${URL[dc1]}/api/v1/logout" | tr -d '\r')
assert_contains "$hdrs" "HTTP/1.1 200" "logout on dc1"
assert_contains "$hdrs" "Set-Cookie: vg_session=; Path=/; Max-Age=0" "logout clears the cookie"
assert_eq true "$(jq -r .revoked "$VG_TMP/body")" "logout revoked the session"
assert_eq 401 "$(code dc1 GET /api/v1/session "$copy")" "the copied cookie on dc1"
wait_until "the copied cookie refused on dc2" refused_on dc2 "$copy"
assert_eq 401 "$(code dc1 GET /api/v1/incidents "$copy")" "the copied cookie reading incidents"
ended=$(curl -fsS -m 5 -H "Authorization: Bearer $TOKEN" "${URL[dc2]}/metrics" |
    awk '$1 == "vigil_dashboard_sessions_ended" { print $2 }')
assert_eq 1 "$ended" "vigil_dashboard_sessions_ended on dc2"
pass "a copied cookie is refused on both sites after logout"

# --- a token's session, the same
tcookie=$(login dc1 "{\"token\":\"$TOKEN\"}")
[[ -n $tcookie ]] || fail "no session cookie for the token"
assert_eq 200 "$(code dc1 POST /api/v1/logout "$tcookie")" "logout of the token's session"
assert_eq 401 "$(code dc1 GET /api/v1/session "$tcookie")" "the token's session after logout"
wait_until "the token's session refused on dc2" refused_on dc2 "$tcookie"
curl -fsS -m 5 -o /dev/null -H "Authorization: Bearer $TOKEN" "${URL[dc1]}/api/v1/session" ||
    fail "the token itself should still work"
pass "a token's session ends with logout; the token does not"

# --- a logout on the mirror is refused, naming the primary; the session goes on
other=$(as_person dc2)
[[ -n $other ]] || fail "no session cookie from dc2"
hdrs=$(curl -sS -m 5 -D - -o "$VG_TMP/body" -X POST -H "Cookie: vg_session=$other" \
    "${URL[dc2]}/api/v1/logout" | tr -d '\r')
assert_contains "$hdrs" "HTTP/1.1 503" "logout on the mirror"
assert_contains "$hdrs" "Vigil-Primary: dc1" "logout on the mirror names the primary"
[[ $hdrs != *"Set-Cookie: vg_session=;"* ]] || fail "the mirror cleared a cookie it could not end"
assert_eq 200 "$(code dc2 GET /api/v1/session "$other")" "the session after a refused logout"
assert_eq 200 "$(code dc1 POST /api/v1/logout "$other")" "the same session logged out on dc1"
wait_until "refused on dc2 once logged out on dc1" refused_on dc2 "$other"
pass "a logout on the mirror is refused with the primary's name"

# --- a new password ends the person's sessions on both sites
third=$(as_person dc1)
assert_eq 200 "$(code dc2 GET /api/v1/session "$third")" "a new session on dc2"
echo "another shift $RANDOM$RANDOM" | "$VIGIL" passwd noor --role operator 2>/dev/null ||
    fail "vigil passwd noor (change)"
assert_eq 401 "$(code dc1 GET /api/v1/session "$third")" "the session after a password change"
wait_until "refused on dc2 after the password change" refused_on dc2 "$third"
pass "a password change ends the sessions on both sites"

# --- the mirror, restarted from its log and snapshot, still refuses
vg_stop "${PID[dc2]}"
m_start dc2
wait_until "dc2 back in sync" is_mirror_in_sync dc2 dc1
assert_eq 401 "$(code dc2 GET /api/v1/session "$copy")" "the copied cookie on dc2 after restart"
pass "the logout survives the mirror's restart"
grep -qF "$PASSWORD" "$VG_TMP"/dc*.log && fail "a password reached a log"
grep -qF "$copy" "$VG_TMP"/dc*.log && fail "a session cookie reached a log"
vg_stop "${PID[dc2]}"
vg_stop "${PID[dc1]}"
pass "clean stop"
