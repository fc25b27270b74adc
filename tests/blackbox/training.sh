#!/usr/bin/env bash
# Training records end to end on one member: Courses applied, a CSV with
# one bad line refused whole (the line and column named, nothing stored),
# a good CSV imported (and again from stdin, changing nothing), and the
# status the API and `vigil training status` give: exactly the overdue
# ones with --overdue, per person, and bad filters refused.
#
# Dates are relative to today (UTC), so the statuses do not age. Person and
# Team objects are applied only when the server knows those kinds (they
# come from the on-call work); the overdue set is the same either way.
source "$(dirname "$0")/lib.sh"

D=$VG_TMP/m
vg_init "$D"
vg_start "$D" "$(vg_free_port)" --escalation-minute-ms 300
export VIGIL_SERVER=http://127.0.0.1:$VG_PORT VIGIL_TOKEN=$VG_TOKEN

ago() { date -u -d "$1 days ago" +%F; }
n_completions() { vg_api GET /api/v1/objects/Completion | cut -d' ' -f2- | jq '.items | length'; }

# --- courses (and people, when the server has the kind)
cat >"$VG_TMP/courses.yaml" <<'YAML'
kind: Course
name: sec-awareness
description: phishing, tailgating, badge sharing
spec:
  title: Security awareness
  renewal_days: 365
  grace_days: 14
  required_for: {people: [ann, bob, cat, dan]}
---
kind: Course
name: badge-policy
spec: {title: Badge policy, renewal_days: 730, required_for: {all: true}}
YAML
"$VIGIL" apply -f "$VG_TMP/courses.yaml" >/dev/null || fail "apply the courses"
kinds=$(vg_api GET /api/v1/kinds | cut -d' ' -f2- | jq -r '[.items[].kind] | join(" ")')
with_people=0
if [[ " $kinds " == *" Person "* ]]; then
    with_people=1
    for p in ann bob cat dan; do
        printf 'kind: Person\nname: %s\nspec: {manager: mia}\n---\n' "$p"
    done >"$VG_TMP/people.yaml"
    mkfifo "$VG_TMP/port.fifo"
    touch "$VG_TMP/mia.jsonl"
    python3 "$VG_SOURCE/tests/tools/page_receiver.py" --log "$VG_TMP/mia.jsonl" >"$VG_TMP/port.fifo" &
    VG_PIDS+=("$!")
    read -r MIA_PORT <"$VG_TMP/port.fifo"
    printf 'kind: Person\nname: mia\nspec: {contact_methods: [{name: hook, type: webhook, url: "http://127.0.0.1:%s/mia"}]}\n' \
        "$MIA_PORT" >>"$VG_TMP/people.yaml"
    "$VIGIL" apply -f "$VG_TMP/people.yaml" >/dev/null || fail "apply the people"
fi
out=$(vg_api PUT /api/v1/objects/Course/nobody \
    '{"spec":{"title":"X","renewal_days":30,"required_for":{"all":false}}}')
assert_eq 400 "${out%% *}" "a course for nobody"
assert_eq spec.required_for "$(jq -r .field <<<"${out#* }")" "the field named"
pass "courses applied (people too: $with_people); a course that names nobody is refused"

# --- a CSV with one bad line: refused whole, the line and column named
cat >"$VG_TMP/bad.csv" <<CSV
person,course,completed_on,evidence
ann,sec-awareness,$(ago 2),CERT-1
bob,sec-awareness,$(ago 385),CERT-2
cat,sec-awareness,2026-02-30,CERT-3
CSV
rc=0
err=$("$VIGIL" training import "$VG_TMP/bad.csv" 2>&1 >/dev/null) || rc=$?
assert_eq 7 "$rc" "exit code of a bad import"
assert_contains "$err" "line 4, completed_on: '2026-02-30' is not a date" "the bad line named"
assert_contains "$err" "nothing imported" "says nothing was imported"
assert_eq 0 "$(n_completions)" "completions stored after the bad import"
pass "a CSV with a bad line stores nothing and names line 4's completed_on"

# --- the good CSV, then the same lines again from stdin
cat >"$VG_TMP/good.csv" <<CSV
person,course,completed_on,evidence
ann,sec-awareness,$(ago 2),CERT-1
bob,sec-awareness,$(ago 385),CERT-2
cat,sec-awareness,$(ago 370),"CERT-3, resit"
ann,badge-policy,$(ago 800),
bob,badge-policy,$(ago 10),
cat,badge-policy,$(ago 100),
dan,badge-policy,$(ago 731),
dan,badge-policy,$(ago 1500),
CSV
out=$("$VIGIL" training import "$VG_TMP/good.csv") || fail "import the good CSV"
assert_contains "$out" "imported 8 completions" "import summary"
assert_contains "$out" "8 new" "all new"
assert_eq 8 "$(n_completions)" "completions stored"
out=$("$VIGIL" training import - <"$VG_TMP/good.csv") || fail "import again from stdin"
assert_contains "$out" "0 new, 0 changed, 8 unchanged" "a second import changes nothing"
assert_eq 8 "$(n_completions)" "completions after the second import"
evidence=$(vg_api GET /api/v1/objects/Completion/cat--sec-awareness--$(ago 370) |
    cut -d' ' -f2- | jq -r .spec.evidence)
assert_eq "CERT-3, resit" "$evidence" "a quoted evidence field"
pass "a good CSV imported; importing it again changes nothing"

# --- exactly the overdue ones
json=$("$VIGIL" training status --overdue -o json) || fail "training status --overdue"
assert_eq "ann/badge-policy bob/sec-awareness dan/badge-policy" \
    "$(jq -r '[.items[] | "\(.person)/\(.course)"] | join(" ")' <<<"$json")" "the overdue ones"
assert_eq "overdue" "$(jq -r '[.items[].status] | unique | join(" ")' <<<"$json")" "their status"
assert_eq "$(ago 20)" "$(jq -r '.items[] | select(.person=="bob") | .due_on' <<<"$json")" \
    "bob's due date (385 days ago + 365)"
assert_eq "$(ago 731)" "$(jq -r '.items[] | select(.person=="dan") | .completed_on' <<<"$json")" \
    "the latest of dan's completions counts"
assert_eq 3 "$(jq .summary.overdue <<<"$json")" "overdue count"
if ((with_people)); then
    assert_eq mia "$(jq -r '[.items[].manager] | unique | join(" ")' <<<"$json")" "managers"
fi
pass "vigil training status --overdue lists exactly the three overdue"

# --- the whole picture, per person, and as a table
all=$("$VIGIL" training status -o json) || fail "training status"
st() { jq -r ".items[] | select(.person==\"$1\" and .course==\"$2\") | .status" <<<"$all"; }
assert_eq ok "$(st ann sec-awareness)" "ann, completed 2 days ago"
assert_eq due-soon "$(st cat sec-awareness)" "cat, 5 days late but within the grace"
assert_eq never "$(st dan sec-awareness)" "dan never took it"
assert_eq ok "$(st bob badge-policy)" "bob's badge policy"
assert_eq "$((with_people ? 9 : 8))" "$(jq '.items | length' <<<"$all")" "items (mia's when declared)"
bob=$("$VIGIL" training status --person bob -o json) || fail "status of bob"
assert_eq "badge-policy sec-awareness" "$(jq -r '[.items[].course] | join(" ")' <<<"$bob")" \
    "bob's courses"
assert_eq "1 1" "$(jq -r '"\(.summary.ok) \(.summary.overdue)"' <<<"$bob")" "bob's summary"
table=$("$VIGIL" training status --person bob 2>/dev/null) || fail "table of bob"
assert_contains "$table" "PERSON" "table header"
assert_contains "$(grep sec-awareness <<<"$table")" "overdue" "table row"
out=$(vg_api GET '/api/v1/training?status=overdue,late')
assert_eq 400 "${out%% *}" "an unknown status"
assert_contains "$out" "'late' is not one of" "the bad status named"
out=$(vg_api GET '/api/v1/training?status=never,due-soon')
assert_eq "due-soon never" "$(cut -d' ' -f2- <<<"$out" | jq -r '[.items[].status] | unique | join(" ")')" \
    "a list of statuses"
pass "status per person, as a table, by several statuses; unknown statuses refused"

# --- overdue training raises a warning incident paged to the manager ------------
if ((with_people)); then
    training_incidents() { vg_api GET '/api/v1/incidents?status=all' | cut -d' ' -f2- |
        jq -c '[.items[] | select(.source == "training")] | sort_by(.key)'; }
    wait_for_n() { # N: training incidents open
        local i
        for ((i = 0; i < 100; i++)); do
            [[ $(training_incidents | jq '[.[] | select(.status != "resolved")] | length') == "$1" ]] && return 0
            sleep 0.1
        done
        fail "expected $1 open training incidents, have: $(training_incidents)"
    }
    wait_for_n 3
    inc=$(training_incidents)
    assert_eq "warning warning warning" "$(jq -r '[.[].severity] | join(" ")' <<<"$inc")" "severities"
    assert_contains "$(jq -r '.[0].summary' <<<"$inc")" "is overdue" "the summary"
    for ((i = 0; i < 50; i++)); do (($(wc -l <"$VG_TMP/mia.jsonl") >= 3)) && break; sleep 0.1; done
    assert_eq 3 "$(jq -r .path "$VG_TMP/mia.jsonl" | grep -c /mia)" "mia, the manager, paged once each"
    printf 'person,course,completed_on\nbob,sec-awareness,%s\n' "$(ago 0)" >"$VG_TMP/bob.csv"
    "$VIGIL" training import "$VG_TMP/bob.csv" >/dev/null 2>&1 || fail "import bob's completion"
    wait_for_n 2
    assert_eq resolved "$(training_incidents | jq -r '.[] | select(.labels.person == "bob") | .status')" \
        "bob's incident"
    pass "overdue training opens a warning incident paged to the manager; a completion resolves it"
fi
