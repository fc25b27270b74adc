#!/usr/bin/env bash
# From a hot rack to the person on call and back, on one standalone member
# with real webhook receivers: a rule going critical opens one incident,
# the first step of its escalation policy pages alice (generic webhook with
# an Idempotency-Key and an acknowledge link), the next step pages bob
# (a PagerDuty Events v2 body) when nobody acknowledged, the link
# acknowledges once and only once, escalation stops, the rule clearing
# resolves the incident and both are told; a stale sensor never resolves
# one; a receiver refusing a page (400) is recorded as failed, not retried;
# the CLI shows it all. A "minute" of escalation is 300 ms here.
source "$(dirname "$0")/lib.sh"

D=$VG_TMP/m
vg_init "$D"
# a real SMTP server (Debian's aiosmtpd) saving each message it accepts
SMTP_PORT=$(vg_free_port)
mkdir -p "$VG_TMP/mail"
PYTHONPATH=$VG_SOURCE/tests/tools /usr/bin/python3 -m aiosmtpd -n -l "127.0.0.1:$SMTP_PORT" \
    -c page_smtp_handler.Save "$VG_TMP/mail" >"$VG_TMP/smtp.out" 2>&1 &
VG_PIDS+=("$!")
for _ in $(seq 50); do ss -Htln "sport = :$SMTP_PORT" | grep -q . && break; sleep 0.1; done
vg_start "$D" "$(vg_free_port)" --escalation-minute-ms 300 --smtp "smtp://127.0.0.1:$SMTP_PORT" \
    --mail-from vigil@dc1.example
export VIGIL_SERVER=http://127.0.0.1:$VG_PORT VIGIL_TOKEN=$VG_TOKEN

receiver() { # VAR LOG [args...]: a webhook receiver in the background; its port in VAR
    local var=$1 log=$2 fifo=$VG_TMP/port.$RANDOM port
    shift 2
    mkfifo "$fifo"
    python3 "$VG_SOURCE/tests/tools/page_receiver.py" --log "$log" "$@" >"$fifo" &
    VG_PIDS+=("$!")
    read -r port <"$fifo"
    rm -f "$fifo"
    printf -v "$var" %s "$port"
}
A_LOG=$VG_TMP/alice.jsonl B_LOG=$VG_TMP/bob.jsonl C_LOG=$VG_TMP/carol.jsonl
touch "$A_LOG" "$B_LOG" "$C_LOG"
receiver A_PORT "$A_LOG"
receiver B_PORT "$B_LOG"
receiver C_PORT "$C_LOG" --default 400

cat >"$VG_TMP/oncall.yaml" <<EOF
kind: Site
name: dc1
spec: {location: "test hall"}
---
kind: Zone
name: hall-a
spec: {site: dc1, type: server-room}
---
kind: Device
name: bms
spec: {site: dc1, zone: hall-a, driver: push}
---
kind: Sensor
name: rack-1
spec: {zone: hall-a, device: bms, type: temperature, builtin_rules: false}
---
kind: Sensor
name: rack-2
spec: {zone: hall-a, device: bms, type: temperature, builtin_rules: false, stale_after_s: 1}
---
kind: Sensor
name: rack-3
spec: {zone: hall-a, device: bms, type: temperature, builtin_rules: false}
---
kind: Rule
name: rack-hot
spec: {match: {type: temperature}, severity: warning, above: 27, critical_above: 30,
       clear_below: 26, message: "{sensor} at {value} C"}
---
kind: Person
name: alice
spec:
  full_name: Alice Martin
  timezone: Europe/Brussels
  contact_methods:
    - {name: hook, type: webhook, url: "http://127.0.0.1:$A_PORT/page"}
  notification_rules:
    - {contact: hook, delay_minutes: 0}
---
kind: Person
name: bob
spec:
  full_name: Bob Peeters
  contact_methods:
    - {name: pd, type: webhook, format: pagerduty, url: "http://127.0.0.1:$B_PORT/v2/enqueue",
       routing_key: "R0UT1NGKEYSECRETx"}
---
kind: Person
name: dave
spec:
  contact_methods:
    - {name: mail, type: email, address: dave@dc1.example}
---
kind: Person
name: carol
spec:
  contact_methods:
    - {name: hook, type: webhook, url: "http://127.0.0.1:$C_PORT/page"}
---
kind: EscalationPolicy
name: facilities
spec:
  match: {severity: [critical, warning], site: dc1}
  steps:
    - notify: [{person: alice}, {person: carol}, {person: dave}]
      wait_minutes: 3
    - notify: [{person: bob}]
      wait_minutes: 3
  repeat: 0
EOF
"$VIGIL" apply -f "$VG_TMP/oncall.yaml" >/dev/null || fail "apply the on-call manifests"

push() { # SENSOR VALUE (the monitor learns new sensors a moment after they commit)
    local code i
    for ((i = 0; i < 50; i++)); do
        code=$(curl -sS -o "$VG_TMP/push" -w '%{http_code}' -H "Authorization: Bearer $VG_TOKEN" \
            --data-binary "$1 value=$2 $(($(date +%s%N) / 1000000))" \
            "http://127.0.0.1:$VG_PORT/api/v1/write?precision=ms")
        [[ $code == 200 && $(jq .accepted "$VG_TMP/push") == 1 ]] && return 0
        sleep 0.1
    done
    fail "push $1=$2: HTTP $code $(cat "$VG_TMP/push")"
}
wait_for() { # SECONDS WHAT CONDITION
    local i
    for ((i = 0; i < $1 * 10; i++)); do
        eval "$3" && return 0
        sleep 0.1
    done
    fail "$2 (waited $1 s)"
}
lines() { wc -l <"$1"; }
incident() { vg_api GET "/api/v1/incidents/$1" | cut -d' ' -f2-; }

# --- a hot rack opens one incident and pages the first step ------------------
push rack-1 31.5
wait_for 5 "an incident for rack-1" \
    '[[ $(vg_api GET "/api/v1/incidents?status=open" | cut -d" " -f2- | jq ".items | length") == 1 ]]'
ID=$(vg_api GET /api/v1/incidents | cut -d' ' -f2- | jq -r '.items[0].id')
inc=$(incident "$ID")
assert_eq "critical dc1 hall-a facilities" \
    "$(jq -r '[.severity, .site, .zone, .policy] | join(" ")' <<<"$inc")" "incident fields"
assert_eq "rule/rack-hot/rack-1" "$(jq -r .key <<<"$inc")" "dedup key"
wait_for 5 "alice paged" '(( $(lines "$A_LOG") >= 1 ))'
page=$(head -1 "$A_LOG")
key=$(jq -r '.headers["Idempotency-Key"] // .headers["idempotency-key"]' <<<"$page")
[[ -n $key && $key != null ]] || fail "alice's page has no Idempotency-Key: $page"
body=$(jq -r .body <<<"$page")
assert_eq "trigger $ID critical" "$(jq -r '[.event, .incident, .severity] | map(tostring) | join(" ")' <<<"$body")" \
    "alice's page"
ACK_URL=$(jq -r .ack_url <<<"$body")
[[ $ACK_URL == http://127.0.0.1:$VG_PORT/ack/* ]] || fail "acknowledge link: $ACK_URL"
push rack-1 31.9 # the same condition: no second incident, no second page
sleep 0.5
assert_eq 1 "$(vg_api GET '/api/v1/incidents?status=all' | cut -d' ' -f2- | jq '.items | length')" \
    "one condition, one incident"
pass "a critical rule opens one incident; alice is paged with a key and an acknowledge link"

# --- email through a real SMTP server ------------------------------------------
wait_for 5 "dave's email" '[[ -f $VG_TMP/mail/1.eml ]]'
mail=$(cat "$VG_TMP/mail/1.eml")
assert_eq '["dave@dc1.example"]' "$(jq -c .rcpt_tos "$VG_TMP/mail/1.json")" "the email's recipient"
grep -q "^Subject: .*CRITICAL.*$ID" <<<"$mail" || fail "email subject: $(grep Subject <<<"$mail")"
grep -q "^From: .*vigil@dc1.example" <<<"$mail" || fail "email From: $(grep ^From <<<"$mail")"
grep -q "/ack/" <<<"$mail" || fail "the email has no acknowledge link"
pass "dave is paged by email through a real SMTP server, with the acknowledge link"

# --- a receiver that refuses is recorded, not retried -------------------------
wait_for 5 "carol's page recorded as failed" \
    '[[ $(incident "$ID" | jq -r "[.pages[] | select(.target==\"carol\")][0].state") == failed ]]'
assert_eq 1 "$(lines "$C_LOG")" "a 400 is not retried"
pass "a page refused with 400 is failed on the timeline after one attempt"

# --- nobody acknowledged: the next step pages bob, PagerDuty style ------------
wait_for 5 "bob paged at step 2" '(( $(lines "$B_LOG") >= 1 ))'
pd=$(head -1 "$B_LOG" | jq -r .body)
assert_eq "trigger rule/rack-hot/rack-1 R0UT1NGKEYSECRETx critical" \
    "$(jq -r '[.event_action, .dedup_key, .routing_key, .payload.severity] | join(" ")' <<<"$pd")" \
    "PagerDuty Events v2 body"
assert_eq 1 "$(incident "$ID" | jq .step)" "escalation step"
pass "unacknowledged, the next step pages bob with a PagerDuty Events v2 body"

# --- the acknowledge link: shows, acknowledges once, stops escalation ---------
code=$(curl -sS -o "$VG_TMP/ackpage" -w '%{http_code}' "$ACK_URL")
assert_eq 200 "$code" "GET of the link"
grep -q "<form method=\"post\"" "$VG_TMP/ackpage" || fail "the link's page has no button"
assert_eq triggered "$(incident "$ID" | jq -r .status)" "a GET acknowledges nothing"
assert_eq 200 "$(curl -sS -o /dev/null -w '%{http_code}' -X POST "$ACK_URL")" "POST of the link"
assert_eq "acknowledged" "$(incident "$ID" | jq -r .status)" "status after the link"
assert_eq 410 "$(curl -sS -o /dev/null -w '%{http_code}' -X POST "$ACK_URL")" "the link twice"
forged=${ACK_URL%?}A
[[ $forged == "$ACK_URL" ]] && forged=${ACK_URL%?}B
assert_eq 404 "$(curl -sS -o /dev/null -w '%{http_code}' -X POST "$forged")" "an altered link"
n_bob=$(lines "$B_LOG")
sleep 2 # past the end of the policy: nothing more is sent
assert_eq "$n_bob" "$(lines "$B_LOG")" "no page after the acknowledgement"
pass "the acknowledge link works once from a browser; escalation stops"

# --- the rule clears: the incident resolves and whoever was paged is told ------
push rack-1 22
wait_for 5 "incident resolved" '[[ $(incident "$ID" | jq -r .status) == resolved ]]'
wait_for 5 "alice told it resolved" \
    '[[ $(tail -1 "$A_LOG" | jq -r ".body | fromjson | .event") == resolve ]]'
wait_for 5 "bob told it resolved" \
    '[[ $(tail -1 "$B_LOG" | jq -r ".body | fromjson | .event_action") == resolve ]]'
assert_eq 1 "$(lines "$C_LOG")" "carol, never reached, is not told"
pass "the rule clearing resolves the incident; alice and bob are told"

# --- a stale sensor never resolves an incident -------------------------------
push rack-2 33
wait_for 5 "an incident for rack-2" \
    '[[ $(vg_api GET "/api/v1/incidents?status=open" | cut -d" " -f2- | jq ".items | length") == 1 ]]'
ID2=$(vg_api GET '/api/v1/incidents?status=open' | cut -d' ' -f2- | jq -r '.items[0].id')
wait_for 5 "rack-2 stale" \
    '[[ $(vg_api GET /api/v1/alerts | cut -d" " -f2- | jq -r "[.active[] | select(.sensor==\"rack-2\")][0].to") == stale ]]'
sleep 0.5
[[ $(incident "$ID2" | jq -r .status) != resolved ]] || fail "a stale sensor resolved an incident"
pass "a stale sensor leaves its incident open"

# --- the CLI -------------------------------------------------------------------
out=$("$VIGIL" incidents) || fail "vigil incidents"
assert_contains "$out" "rack-2" "vigil incidents lists the open one"
[[ $out != *"rack-1 at"* ]] || fail "vigil incidents (open only) lists a resolved one: $out"
out=$("$VIGIL" incidents --all -o json) || fail "vigil incidents --all"
assert_eq 2 "$(jq '.items | length' <<<"$out")" "vigil incidents --all -o json"
"$VIGIL" note "$ID2" "sensor cable checked" >/dev/null || fail "vigil note"
"$VIGIL" ack "$ID2" >/dev/null || fail "vigil ack"
rc=0
"$VIGIL" ack "$ID2" 2>/dev/null || rc=$?
assert_eq 4 "$rc" "acknowledging twice is a conflict"
"$VIGIL" resolve "$ID2" --reason "replaced the probe" >/dev/null || fail "vigil resolve"
out=$("$VIGIL" incident "$ID") || fail "vigil incident"
for want in "triggered" "escalated" "notified      alice by hook" "acknowledged  by acknowledge link" \
    "resolved      by vigil"; do
    assert_contains "$out" "$want" "vigil incident's timeline"
done
out=$("$VIGIL" incident "$ID2")
assert_contains "$out" "note          by" "note on the timeline"
assert_contains "$out" "sensor cable checked" "the note's text"
assert_contains "$out" "replaced the probe" "the resolve reason"
rc=0
"$VIGIL" incident 999 2>/dev/null || rc=$?
assert_eq 3 "$rc" "an unknown incident"
pass "vigil incidents, incident, note, ack and resolve"

# --- bad input changes nothing ------------------------------------------------
before=$(vg_api GET "/api/v1/incidents/$ID2" | cut -d' ' -f2-)
out=$(vg_api POST "/api/v1/incidents/$ID2/notes" '{"text":"a\u0001b"}')
assert_eq 400 "${out%% *}" "a note with a control byte"
out=$(vg_api POST "/api/v1/incidents/$ID2/notes" "{\"text\":\"$(head -c 2001 /dev/zero | tr '\0' x)\"}")
assert_eq 400 "${out%% *}" "a note of 2001 characters"
out=$(vg_api POST "/api/v1/incidents/$ID2/notes" '{"text":5}')
assert_contains "$out" '"field":"text"' "a note that is not text names the field"
assert_eq "$before" "$(vg_api GET "/api/v1/incidents/$ID2" | cut -d' ' -f2-)" "nothing changed"
pass "malformed notes are refused, naming the field; nothing changes"

# --- secrets: the routing key is never shown -----------------------------------
out=$("$VIGIL" get person bob -o json)
[[ $out != *R0UT1NGKEYSECRETx* ]] || fail "bob's routing key shown by vigil get"
! grep -rq R0UT1NGKEYSECRETx "$D" || fail "the routing key is in plaintext under the data dir"
! grep -q R0UT1NGKEYSECRETx "$D.log" || fail "the routing key is in the log"
pass "the routing key stays secret"

# --- a silence: recorded, nobody paged until it ends ----------------------------
n_alice=$(lines "$A_LOG")
cat >"$VG_TMP/silence.yaml" <<EOF
kind: Silence
name: rack-3-work
spec:
  starts: "$(date -u -d '-1 min' +%Y-%m-%dT%H:%M:%SZ)"
  ends: "$(date -u -d '+1 hour' +%Y-%m-%dT%H:%M:%SZ)"
  comment: re-cabling rack 3
  match: {labels: {sensor: rack-3}}
EOF
"$VIGIL" apply -f "$VG_TMP/silence.yaml" >/dev/null || fail "apply the silence"
rack3() { vg_api GET '/api/v1/incidents?status=open' | cut -d' ' -f2- |
    jq -r '.items[] | select(.labels.sensor=="rack-3") | .id'; }
push rack-3 35
wait_for 5 "an incident for rack-3" '[[ -n $(rack3) ]]'
ID3=$(rack3)
wait_for 5 "the silence on the incident" '[[ $(incident "$ID3" | jq -r .silenced_by) == rack-3-work ]]'
sleep 1
assert_eq "$n_alice" "$(lines "$A_LOG")" "nobody paged while silenced"
"$VIGIL" delete silence rack-3-work >/dev/null || fail "end the silence"
wait_for 5 "alice paged once the silence is gone" '(( $(lines "$A_LOG") > n_alice ))'
assert_contains "$(tail -1 "$A_LOG" | jq -r .body)" "rack-3" "the page after the silence"
out=$(vg_api PUT /api/v1/objects/Silence/bad '{"spec":{"starts":"2026-12-08T08:00:00Z","ends":"2026-12-08T07:00:00Z","comment":"x","match":{"site":"dc1"}}}')
assert_eq 400 "${out%% *}" "a silence ending before it starts"
assert_contains "$out" '"field":"spec.ends"' "the field named"
pass "a silenced incident is recorded and pages nobody until the silence ends"

# --- hand-offs: whoever comes on call is told ---------------------------------
n_alice=$(lines "$A_LOG") n_bob=$(lines "$B_LOG")
cat >"$VG_TMP/schedule.yaml" <<EOF
kind: Schedule
name: hall
spec:
  timezone: UTC
  layers: [{name: weekly, people: [alice], start: "2026-01-05T09:00", turn: 1w}]
EOF
"$VIGIL" apply -f "$VG_TMP/schedule.yaml" >/dev/null || fail "apply the schedule"
notice_to() { tail -n +"$(($2 + 1))" "$1" | jq -r .body | grep -c "on call for hall" || true; }
wait_for 5 "alice told she is on call" '(( $(notice_to "$A_LOG" "$n_alice") == 1 ))'
assert_eq alice "$("$VIGIL" oncall now --schedule hall -o json | jq -r '.items[0].person')" "on call"
cat >>"$VG_TMP/schedule.yaml" <<EOF
  overrides:
    - {person: bob, start: "$(date -u +%Y-%m-%dT%H:%M)", end: "$(date -u -d '+2 hour' +%Y-%m-%dT%H:%M)"}
EOF
"$VIGIL" apply -f "$VG_TMP/schedule.yaml" >/dev/null || fail "apply the override"
wait_for 5 "bob told he is on call" '(( $(notice_to "$B_LOG" "$n_bob") == 1 ))'
sleep 1.5 # a second look at the schedules: nobody is told twice
assert_eq 1 "$(notice_to "$A_LOG" "$n_alice")" "alice told once"
assert_eq 1 "$(notice_to "$B_LOG" "$n_bob")" "bob told once"
pass "a hand-off notice goes to whoever comes on call, once"

# --- the schedule as a calendar people subscribe to -----------------------------
VIEWER=$("$VIGIL" token create --name calendar --role viewer -o json | jq -r .token)
url="http://127.0.0.1:$VG_PORT/api/v1/schedules/hall/calendar.ics"
code=$(curl -s -o "$VG_TMP/hall.ics" -w '%{http_code} %{content_type}' "$url?access_token=$VIEWER")
assert_eq "200 text/calendar; charset=utf-8" "$code" "the feed with a token in the URL"
grep -q $'^BEGIN:VCALENDAR\r$' "$VG_TMP/hall.ics" || fail "not an iCalendar file: $(head -3 "$VG_TMP/hall.ics")"
grep -q "SUMMARY:On call: bob (hall)" "$VG_TMP/hall.ics" || fail "bob's shift is not in the feed"
assert_eq 401 "$(curl -s -o /dev/null -w '%{http_code}' "$url?access_token=vgt_0000000000000000_$(printf 'A%.0s' $(seq 43))")" \
    "a forged token in the URL"
assert_eq 401 "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$VG_PORT/api/v1/status?access_token=$VIEWER")" \
    "a token in the URL anywhere but a calendar feed"
pass "the schedule is a calendar feed a calendar app subscribes to by URL (a viewer token in it)"
