#!/usr/bin/env bash
# Paging through vigil from other monitoring: Debian's real Prometheus
# scrapes vigild's /metrics and fires an alert, Debian's real Alertmanager
# sends it to vigil's Alertmanager receiver, vigil opens an incident and
# pages alice at a real webhook receiver; when the alert resolves the
# incident resolves and alice is told. A PagerDuty Events v2 client
# triggers, acknowledges and resolves an incident. Malformed bodies are
# refused naming the field, and change nothing.
source "$(dirname "$0")/lib.sh"

for bin in prometheus prometheus-alertmanager; do
    command -v "$bin" >/dev/null || fail "$bin is not installed (scripts/deps.sh installs it)"
done

D=$VG_TMP/m
vg_init "$D"
vg_start "$D" "$(vg_free_port)"
export VIGIL_SERVER=http://127.0.0.1:$VG_PORT VIGIL_TOKEN=$VG_TOKEN
OP=$("$VIGIL" token create --name alertmanager --role operator -o json | jq -r .token)
RO=$("$VIGIL" token create --name prometheus --role viewer -o json | jq -r .token)
[[ $OP == vgt_* && $RO == vgt_* ]] || fail "tokens for Prometheus and Alertmanager"

LOG=$VG_TMP/pages.jsonl
touch "$LOG"
mkfifo "$VG_TMP/port.fifo"
python3 "$VG_SOURCE/tests/tools/page_receiver.py" --log "$LOG" >"$VG_TMP/port.fifo" &
VG_PIDS+=("$!")
R_PORT=$(head -1 "$VG_TMP/port.fifo")
cat >"$VG_TMP/oncall.yaml" <<EOF
kind: Person
name: alice
spec:
  contact_methods: [{name: hook, type: webhook, url: "http://127.0.0.1:$R_PORT/alice"}]
---
kind: EscalationPolicy
name: everything
spec:
  steps: [{notify: [{person: alice}], wait_minutes: 5}]
EOF
"$VIGIL" apply -f "$VG_TMP/oncall.yaml" >/dev/null || fail "apply alice and the policy"

# --- Prometheus -> Alertmanager -> vigil -> alice ---------------------------
AM_PORT=$(vg_free_port)
PROM_PORT=$(vg_free_port)
cat >"$VG_TMP/am.yml" <<EOF
route: {receiver: vigil, group_by: [alertname], group_wait: 0s, group_interval: 1s,
        repeat_interval: 1h}
receivers:
  - name: vigil
    webhook_configs:
      - url: http://127.0.0.1:$VG_PORT/api/v1/inbound/alertmanager
        send_resolved: true
        http_config: {authorization: {credentials: $OP}}
EOF
cat >"$VG_TMP/rules.yml" <<'EOF'
groups:
  - name: vigil
    rules:
      - alert: VigilTooManyObjects
        expr: vigil_objects > 10
        labels: {severity: critical, site: dc1}
        annotations: {summary: "vigil holds {{ $value }} objects"}
EOF
cat >"$VG_TMP/prom.yml" <<EOF
global: {scrape_interval: 1s, evaluation_interval: 1s}
rule_files: [$VG_TMP/rules.yml]
alerting:
  alertmanagers: [{static_configs: [{targets: ["127.0.0.1:$AM_PORT"]}]}]
scrape_configs:
  - job_name: vigil
    authorization: {credentials: $RO}
    static_configs: [{targets: ["127.0.0.1:$VG_PORT"]}]
EOF
prometheus-alertmanager --config.file="$VG_TMP/am.yml" --storage.path="$VG_TMP/am" \
    --web.listen-address="127.0.0.1:$AM_PORT" --cluster.listen-address= \
    >"$VG_TMP/alertmanager.log" 2>&1 &
VG_PIDS+=("$!")
prometheus --config.file="$VG_TMP/prom.yml" --storage.tsdb.path="$VG_TMP/prom" \
    --web.listen-address="127.0.0.1:$PROM_PORT" >"$VG_TMP/prometheus.log" 2>&1 &
VG_PIDS+=("$!")

wait_for() { # SECONDS WHAT CONDITION
    local i
    for ((i = 0; i < $1 * 10; i++)); do
        eval "$3" && return 0
        sleep 0.1
    done
    fail "$2 (waited $1 s)"
}
open_am() { vg_api GET '/api/v1/incidents?status=all' | cut -d' ' -f2- |
    jq -r '[.items[] | select(.key | startswith("am/"))][0] // empty'; }
for i in $(seq 1 10); do
    vg_api PUT "/api/v1/objects/Site/s$i" "{\"spec\":{\"location\":\"x\"}}" >/dev/null
done
wait_for 40 "an incident from Alertmanager" '[[ -n $(open_am) ]]'
inc=$(open_am)
assert_eq "critical dc1 alertmanager triggered" \
    "$(jq -r '[.severity, .site, .source, .status] | join(" ")' <<<"$inc")" "the incident"
assert_contains "$(jq -r .summary <<<"$inc")" "vigil holds 12 objects" "its summary"
assert_eq VigilTooManyObjects "$(jq -r .labels.alertname <<<"$inc")" "its labels"
wait_for 10 "alice paged" '(( $(wc -l <"$LOG") >= 1 ))'
assert_contains "$(head -1 "$LOG" | jq -r .body)" "vigil holds 12 objects" "alice's page"
pass "Prometheus -> Alertmanager -> vigil: an incident, and alice is paged"

for i in $(seq 1 10); do vg_api DELETE "/api/v1/objects/Site/s$i" >/dev/null; done
wait_for 40 "the incident resolved by Alertmanager" \
    '[[ $(open_am | jq -r .status) == resolved ]]'
wait_for 10 "alice told" '[[ $(tail -1 "$LOG" | jq -r ".body | fromjson | .event") == resolve ]]'
pass "the alert resolving resolves the incident; alice is told"

# --- PagerDuty Events v2 ------------------------------------------------------
pd() { VG_TOKEN=$OP vg_api POST /api/v1/inbound/pagerduty "$1"; }
out=$(pd '{"routing_key":"x","event_action":"trigger","dedup_key":"db-7","payload":{"summary":"replica lag 40 s","source":"db-7","severity":"error","component":"postgres"}}')
assert_eq 202 "${out%% *}" "PagerDuty trigger: $out"
assert_eq db-7 "$(echo "${out#* }" | jq -r .dedup_key)" "the dedup key answered"
pd_inc() { vg_api GET '/api/v1/incidents?status=all' | cut -d' ' -f2- |
    jq -r '[.items[] | select(.key == "pd/db-7")][0]'; }
assert_eq "error triggered postgres" "$(pd_inc | jq -r '[.severity, .status, .labels.component] | join(" ")')" \
    "the PagerDuty incident"
out=$(pd '{"routing_key":"x","event_action":"acknowledge","dedup_key":"db-7"}')
assert_eq 202 "${out%% *}" "PagerDuty acknowledge"
assert_eq acknowledged "$(pd_inc | jq -r .status)" "status after acknowledge"
out=$(pd '{"routing_key":"x","event_action":"resolve","dedup_key":"db-7"}')
assert_eq resolved "$(pd_inc | jq -r .status)" "status after resolve"
out=$(pd '{"event_action":"trigger","payload":{"summary":"no key","source":"h","severity":"info"}}')
assert_eq 202 "${out%% *}" "a trigger without a dedup key"
[[ $(echo "${out#* }" | jq -r .dedup_key) =~ ^[0-9a-f]{32}$ ]] || fail "a dedup key was made: $out"
pass "PagerDuty Events v2: trigger, acknowledge, resolve"

# --- malformed bodies change nothing -------------------------------------------
before=$(vg_api GET '/api/v1/incidents?status=all' | cut -d' ' -f2-)
idx=$(vg_api GET /api/v1/status | cut -d' ' -f2- | jq .commit_index)
for body_field in \
    '{"alerts":[{"status":"firing","labels":{"a":"b"}},{"status":"burning"}]}|alerts[1].status' \
    '{"alerts":[{"status":"firing","labels":{"severity":5}}]}|alerts[0].labels.severity' \
    '{"alerts":{}}|alerts' \
    '{"alerts":[{"status":"firing","fingerprint":"../x"}]}|alerts[0].fingerprint'; do
    out=$(VG_TOKEN=$OP vg_api POST /api/v1/inbound/alertmanager "${body_field%|*}")
    assert_eq 400 "${out%% *}" "malformed Alertmanager body ${body_field%|*}"
    assert_eq "${body_field#*|}" "$(echo "${out#* }" | jq -r .field)" "the field named"
done
for body_field in \
    '{"event_action":"explode","dedup_key":"x"}|event_action' \
    '{"event_action":"trigger","payload":{"summary":"s","source":"h","severity":"meh"}}|payload.severity' \
    '{"event_action":"resolve"}|dedup_key' \
    '{"event_action":"trigger","payload":{"summary":"a\u0001b","source":"h","severity":"info"}}|payload.summary'; do
    out=$(pd "${body_field%|*}")
    assert_eq 400 "${out%% *}" "malformed PagerDuty event ${body_field%|*}"
    assert_eq "${body_field#*|}" "$(echo "${out#* }" | jq -r .field)" "the field named"
done
out=$(VG_TOKEN=$RO vg_api POST /api/v1/inbound/alertmanager '{"alerts":[]}')
assert_eq 403 "${out%% *}" "a viewer token cannot raise incidents"
assert_eq "$before" "$(vg_api GET '/api/v1/incidents?status=all' | cut -d' ' -f2-)" "incidents unchanged"
assert_eq "$idx" "$(vg_api GET /api/v1/status | cut -d' ' -f2- | jq .commit_index)" "nothing written"
pass "malformed inbound bodies are refused naming the field; nothing is written"
