# A two-site vigil cluster in network namespaces, for fault tests: member dc1
# in namespace dc1, member dc2 in dc2, the witness in wit; tests talk to it
# from cli. Built on the cluster runtime's interface (vigild run --node,
# vigild init --mirror, GET /api/v1/cluster).
#
#   source "$(dirname "$0")/../blackbox/lib.sh"   # VG_TMP, fail, pass, VIGILD, VIGIL
#   source "$(dirname "$0")/netns.sh"
#   source "$(dirname "$0")/cluster_lib.sh"
#   vgc_require_runtime           # exit 77 if vigild run has no --node
#   vgn_setup
#   vgc_cluster_up                # pki, witness, init, node files, dc1 primary, dc2 mirrored
#   vgc_writer_start; t=$(vgc_now); ...fault...; vgc_wait_primary dc2 3
#   vgc_writer_stop; vgc_maxgap --after "$t" --max 3; vgc_check dc2 --also "$(vgc_url dc1)" --wait 10
#
# Pieces: vgc_pki, vgc_start_witness, vgc_init_members, vgc_node_file,
# vgc_start_member NAME [--bootstrap], vgc_kill9 / vgc_term / vgc_stop /
# vgc_cont NAME, vgc_cluster NAME (its GET /api/v1/cluster), vgc_primary,
# vgc_wait_primary, vgc_wait_mirrored, vgc_api / vgc_curl / vgc_cli,
# vgc_writer_start / vgc_writer_stop, vgc_now, vgc_acks_between,
# vgc_wait_resumed, vgc_maxgap, vgc_check, vgc_check_live, vgc_check_epochs.
#
# Timing of the node files and the witness (DESIGN.md section 3 defaults):
# VGC_HEARTBEAT_MS, VGC_ACK_TIMEOUT_MS, VGC_LEASE_MS, VGC_DEAD_AFTER_MS.
# Every vigild is started with vgn_bg, so vgn_teardown kills it.

: "${VGC_HEARTBEAT_MS:=100}"
: "${VGC_ACK_TIMEOUT_MS:=500}"
: "${VGC_LEASE_MS:=400}"
: "${VGC_DEAD_AFTER_MS:=800}"
VGC_API_PORT=7700
VGC_PEER_PORT=7701
VGC_WITNESS_PORT=7702
VGC_DIR=$VG_TMP/cluster
VGC_LOGS=$VG_TMP # dc1.log dc2.log witness.log writer.log: lib.sh's fail() shows their tails
VGC_PKI=$VGC_DIR/pki
VGC_CA=$VGC_PKI/ca.crt
VGC_TOKEN=""
VGC_ACKED_PY=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/acked.py
declare -A VGC_PID=()
declare -A VGC_NS=([dc1]=dc1 [dc2]=dc2 [witness]=wit)
mkdir -p "$VGC_DIR"

_vgc_other() { [[ $1 == dc1 ]] && echo dc2 || echo dc1; }
_vgc_check_member() { [[ ${1:-} == dc1 || ${1:-} == dc2 ]] || fail "not a member: '${1:-}' (dc1 or dc2)"; }

# vgc_require_runtime: exit 77 (skip) while vigild has no cluster runtime.
vgc_require_runtime() {
    "$VIGILD" run --help 2>&1 | grep -q -- '--node' || {
        echo "SKIP: vigild run has no --node (the cluster runtime is not built yet)" >&2
        exit 77
    }
}

# vgc_ip NAME: address of dc1, dc2 or witness.
vgc_ip() { vgn_ip "${VGC_NS[$1]}"; }

# vgc_url NAME: the client API of member NAME.
vgc_url() { _vgc_check_member "$1"; echo "https://$(vgc_ip "$1"):$VGC_API_PORT"; }

# vgc_urls: both members' APIs, comma-separated (for the CLI and acked.py).
vgc_urls() { echo "$(vgc_url dc1),$(vgc_url dc2)"; }

# vgc_pki: cluster CA and certificates for dc1, dc2 and witness with their
# namespace addresses (vigil pki: CN = name, SAN DNS:name + IP).
vgc_pki() {
    "$VIGIL" pki init --dir "$VGC_PKI" >/dev/null || fail "vigil pki init"
    local n
    for n in dc1 dc2 witness; do
        "$VIGIL" pki issue "$n" --dir "$VGC_PKI" --ip "$(vgc_ip "$n")" >/dev/null || fail "vigil pki issue $n"
    done
}

# vgc_start_witness: start the witness in its namespace; waits until it listens.
vgc_start_witness() {
    local ip log=$VGC_LOGS/witness.log i
    ip=$(vgc_ip witness)
    vgn_bg wit "$log" "$VIGILD" witness --data "$VGC_DIR/W" --listen "$ip:$VGC_WITNESS_PORT" \
        --tls-cert "$VGC_PKI/witness.crt" --tls-key "$VGC_PKI/witness.key" --tls-ca "$VGC_CA" \
        --dead-after-ms "$VGC_DEAD_AFTER_MS"
    VGC_PID[witness]=$VGN_LAST_PID
    for ((i = 0; i < 200; i++)); do
        vgn_exec wit ss -Htln "sport = :$VGC_WITNESS_PORT" | grep -q . && return 0
        kill -0 "${VGC_PID[witness]}" 2>/dev/null || break
        sleep 0.05
    done
    fail "the witness did not start: $(tail -5 "$log")"
}

# vgc_init_members: D1 with a new keyring (VGC_TOKEN = its admin token), D2
# as its mirror: the same data key, an empty log.
vgc_init_members() {
    local out
    out=$("$VIGILD" init --data "$VGC_DIR/D1" -o json 2>"$VGC_DIR/init.err") ||
        fail "vigild init D1: $(cat "$VGC_DIR/init.err")"
    VGC_TOKEN=$(jq -r .admin_token <<<"$out")
    [[ $VGC_TOKEN == vgt_* ]] || fail "vigild init -o json printed no admin_token: $out"
    "$VIGILD" init --data "$VGC_DIR/D2" --key-file "$VGC_DIR/D1/keyring" --mirror \
        >/dev/null 2>"$VGC_DIR/init.err" || fail "vigild init D2 --mirror: $(cat "$VGC_DIR/init.err")"
}

# vgc_node_file NAME: write $VGC_DIR/NAME.yaml (the node file of the
# contract) and print its path.
vgc_node_file() {
    _vgc_check_member "$1"
    local n=$1 peer f
    peer=$(_vgc_other "$n")
    f=$VGC_DIR/$n.yaml
    local D=D1
    [[ $n == dc2 ]] && D=D2
    cat >"$f" <<EOF
name: $n
site: $n
data: $VGC_DIR/$D
listen: $(vgc_ip "$n"):$VGC_API_PORT
peer_listen: $(vgc_ip "$n"):$VGC_PEER_PORT
peer: {name: $peer, address: $(vgc_ip "$peer"):$VGC_PEER_PORT}
witness: {name: witness, address: $(vgc_ip witness):$VGC_WITNESS_PORT}
tls: {cert: $VGC_PKI/$n.crt, key: $VGC_PKI/$n.key, ca: $VGC_CA}
timing: {heartbeat_ms: $VGC_HEARTBEAT_MS, ack_timeout_ms: $VGC_ACK_TIMEOUT_MS, lease_ms: $VGC_LEASE_MS, dead_after_ms: $VGC_DEAD_AFTER_MS}
EOF
    echo "$f"
}

# vgc_curl NAME CURL_ARGS... PATH: curl to member NAME's API from the client
# namespace, with the CA and the admin token; 1 s timeout.
vgc_curl() {
    local n=$1
    shift
    local path=${*: -1}
    vgn_exec cli curl -sS -m "${VGC_CURL_TIMEOUT:-1}" --cacert "$VGC_CA" \
        -H "Authorization: Bearer $VGC_TOKEN" "${@:1:$#-1}" "$(vgc_url "$n")$path"
}

# vgc_api NAME METHOD PATH [BODY]: prints "CODE BODY" (000 if unreachable).
vgc_api() {
    local n=$1 method=$2 path=$3 body=${4:-} code
    local args=(-X "$method" -o "$VGC_DIR/resp.$n" -w '%{http_code}')
    [[ -n "$body" ]] && args+=(-H 'Content-Type: application/json' --data-binary "$body")
    rm -f "$VGC_DIR/resp.$n"
    code=$(vgc_curl "$n" "${args[@]}" "$path" 2>/dev/null) || code=000
    echo "$code $(cat "$VGC_DIR/resp.$n" 2>/dev/null)"
}

# vgc_start_member NAME [--bootstrap] [more vigild args]: start the member in
# its namespace (writing its node file), wait until it serves (/healthz; its
# /readyz is 503 until it is an acting primary or a mirror: use
# vgc_wait_primary / vgc_wait_mirrored for that).
vgc_start_member() {
    _vgc_check_member "$1"
    local n=$1 f log=$VGC_LOGS/$1.log i
    shift
    f=$(vgc_node_file "$n")
    vgn_bg "${VGC_NS[$n]}" "$log" "$VIGILD" run --node "$f" "$@"
    VGC_PID[$n]=$VGN_LAST_PID
    for ((i = 0; i < 200; i++)); do
        vgn_exec cli curl -fsS -o /dev/null -m 1 --cacert "$VGC_CA" "$(vgc_url "$n")/healthz" 2>/dev/null && return 0
        kill -0 "${VGC_PID[$n]}" 2>/dev/null || fail "vigild $n exited: $(tail -20 "$log")"
        sleep 0.05
    done
    fail "vigild $n did not start serving: $(tail -20 "$log")"
}

# vgc_kill9 NAME: kill -9 member (or witness) NAME and reap it.
vgc_kill9() {
    local pid=${VGC_PID[$1]:-}
    [[ -n "$pid" ]] || fail "vgc_kill9: $1 is not running"
    kill -9 "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
    unset "VGC_PID[$1]"
}

# vgc_term NAME: SIGTERM; fails unless it exits 0 within 10 s.
vgc_term() {
    local pid=${VGC_PID[$1]:-} rc=0 i
    [[ -n "$pid" ]] || fail "vgc_term: $1 is not running"
    kill -TERM "$pid"
    for ((i = 0; i < 200; i++)); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.05
    done
    kill -0 "$pid" 2>/dev/null && fail "$1 did not exit within 10 s of SIGTERM"
    wait "$pid" || rc=$?
    unset "VGC_PID[$1]"
    [[ $rc == 0 ]] || fail "$1 exited with status $rc after SIGTERM"
}

# vgc_stop NAME / vgc_cont NAME: SIGSTOP / SIGCONT (a hung process).
vgc_stop() { kill -STOP "${VGC_PID[$1]:?$1 is not running}"; }
vgc_cont() { kill -CONT "${VGC_PID[$1]:?$1 is not running}"; }

# vgc_cluster NAME: GET /api/v1/cluster of member NAME (nothing if it does
# not answer within a second).
vgc_cluster() { vgc_curl "$1" -f /api/v1/cluster 2>/dev/null || true; }

# vgc_primary: the name of the acting primary (a member that answers with
# role primary and acting true), or nothing. If both claim it (two primaries:
# always a failure), prints both, highest epoch first, and warns.
vgc_primary() {
    local n c claims=() p1 p2
    # both at once, 0.5 s timeout: a stopped member costs that only once
    VGC_CURL_TIMEOUT=${VGC_CURL_TIMEOUT:-0.5} vgc_cluster dc1 >"$VGC_DIR/primary.dc1" &
    p1=$!
    VGC_CURL_TIMEOUT=${VGC_CURL_TIMEOUT:-0.5} vgc_cluster dc2 >"$VGC_DIR/primary.dc2" &
    p2=$!
    wait "$p1" "$p2" || true
    for n in dc1 dc2; do
        c=$(cat "$VGC_DIR/primary.$n")
        [[ -n "$c" ]] || continue
        if [[ $(jq -r 'select(.role == "primary" and .acting == true) | .member' <<<"$c" 2>/dev/null) == "$n" ]]; then
            claims+=("$(jq -r .epoch <<<"$c") $n")
        fi
    done
    ((${#claims[@]})) || return 0
    if ((${#claims[@]} > 1)); then
        echo "vgc_primary: both members claim to be the acting primary: ${claims[*]}" >&2
    fi
    printf '%s\n' "${claims[@]}" | sort -rn | awk '{print $2}' | paste -sd' '
}

# vgc_wait_primary NAME TIMEOUT_S: wait until NAME (alone) is the acting
# primary. Sets VGC_WAITED to the seconds it took; returns 1 on timeout.
vgc_wait_primary() {
    local want=$1 timeout=$2 t0 p=""
    t0=$EPOCHREALTIME
    while :; do
        p=$(vgc_primary)
        VGC_WAITED=$(awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.3f", b - a }')
        [[ $p == "$want" ]] && return 0
        awk -v w="$VGC_WAITED" -v t="$timeout" 'BEGIN { exit !(w >= t) }' && break
        sleep 0.05
    done
    echo "vgc_wait_primary: after ${VGC_WAITED} s the acting primary is '${p:-none}', not $want" >&2
    return 1
}

# vgc_wait_mirrored TIMEOUT_S: wait until the acting primary has both members
# in sync and its mirror's lag is 0. Returns 1 on timeout.
vgc_wait_mirrored() {
    local timeout=$1 p c="" t0=$EPOCHREALTIME
    while awk -v a="$t0" -v b="$EPOCHREALTIME" -v t="$timeout" 'BEGIN { exit !(b - a < t) }'; do
        p=$(vgc_primary)
        if [[ $p == dc1 || $p == dc2 ]]; then
            c=$(vgc_cluster "$p")
            # under a running writer a record is nearly always in flight, so
            # "mirrored" is: both in sync, linked, every committed record acked
            jq -e '(.sync | length) == 2 and .peer.connected == true and
                   .peer.acked_index >= .self.commit_index' <<<"$c" >/dev/null 2>&1 &&
                return 0
        fi
        sleep 0.05
    done
    echo "vgc_wait_mirrored: not mirrored after ${timeout} s; primary '${p:-none}': ${c:-}" >&2
    return 1
}

# vgc_cluster_up: everything, dc1 primary and dc2 mirrored (the usual start).
vgc_cluster_up() {
    vgc_pki
    vgc_start_witness
    vgc_init_members
    vgc_start_member dc1 --bootstrap
    vgc_start_member dc2
    vgc_wait_primary dc1 10 || fail "dc1 did not become primary"
    vgc_wait_mirrored 10 || fail "dc2 did not become a mirror in sync"
}

# vgc_writer_start [acked.py writer options]: acknowledged writes to both
# members from the client namespace, into $VGC_DIR/acked (VGC_RUN is the run
# id). Returns once 5 writes are acknowledged: on a loaded machine python
# can take seconds to start, and a fault injected before the writes flow,
# or a stop before the first write, would test nothing.
vgc_writer_start() {
    VGC_RUN=${VGC_RUN:-f$(od -An -tx4 -N4 /dev/urandom | tr -d ' ')}
    rm -f "$VGC_DIR/writer.stop"
    VIGIL_TOKEN=$VGC_TOKEN vgn_bg cli "$VGC_LOGS/writer.log" python3 "$VGC_ACKED_PY" writer \
        --url "$(vgc_urls)" --ca "$VGC_CA" --run-id "$VGC_RUN" --out "$VGC_DIR/acked" \
        --stop-file "$VGC_DIR/writer.stop" --timeout 2 "$@"
    VGC_WRITER_PID=$VGN_LAST_PID
    local i n
    for ((i = 0; i < 400; i++)); do
        n=$(grep -c '"name"' "$VGC_DIR/acked" 2>/dev/null) || true
        ((${n:-0} >= 5)) && return 0
        kill -0 "$VGC_WRITER_PID" 2>/dev/null || fail "the writer exited: $(tail -5 "$VGC_LOGS/writer.log")"
        sleep 0.05
    done
    fail "the writer had 5 writes acknowledged not within 20 s: $(tail -5 "$VGC_LOGS/writer.log")"
}

# vgc_writer_stop: stop the writer cleanly; VGC_WRITER is its summary (JSON).
vgc_writer_stop() {
    touch "$VGC_DIR/writer.stop"
    wait "$VGC_WRITER_PID" || fail "the writer exited with status $?: $(tail -5 "$VGC_LOGS/writer.log")"
    VGC_WRITER=$(grep '^{' "$VGC_LOGS/writer.log" | tail -1)
    echo "writer: $VGC_WRITER"
}

# vgc_now: the time now (Unix seconds, no process started), to mark a fault
# for vgc_maxgap.
vgc_now() { echo "$EPOCHREALTIME"; }

# vgc_maxgap [acked.py maxgap options]: gaps in the acknowledged writes, with
# times from vgc_now, e.g. vgc_maxgap --after "$t_kill" --max 2.
vgc_maxgap() { python3 "$VGC_ACKED_PY" maxgap --acked "$VGC_DIR/acked" --clock wall "$@"; }

# vgc_acks_between T1 T2: how many writes were sent after T1 and
# acknowledged before T2 (vgc_now times). Counting by the send time keeps an
# answer received before T1 but recorded late (a loaded machine) out.
vgc_acks_between() {
    jq --argjson a "$1" --argjson b "$2" 'select(.name and (.sent // .wall) > $a and .wall < $b) | .name' \
        "$VGC_DIR/acked" | wc -l
}

# vgc_wait_resumed T TIMEOUT_S: wait until a write is acknowledged after time
# T (from vgc_now); returns 1 on timeout.
vgc_wait_resumed() {
    local t0=$EPOCHREALTIME
    while awk -v a="$t0" -v b="$EPOCHREALTIME" -v t="$2" 'BEGIN { exit !(b - a < t) }'; do
        (($(jq --argjson a "$1" 'select(.name and .wall > $a) | .name' "$VGC_DIR/acked" | wc -l) > 0)) &&
            return 0
        sleep 0.05
    done
    echo "vgc_wait_resumed: no write acknowledged within $2 s" >&2
    return 1
}

# vgc_check NAME [acked.py check options]: member NAME holds what the
# acknowledged writes (creates, updates, deletes) left, content and
# revisions; add "--also $(vgc_url OTHER) --wait 10" for both to agree.
vgc_check() {
    local n=$1
    shift
    VIGIL_TOKEN=$VGC_TOKEN vgn_exec cli python3 "$VGC_ACKED_PY" check --url "$(vgc_url "$n")" --ca "$VGC_CA" \
        --run-id "$VGC_RUN" --acked "$VGC_DIR/acked" "$@"
}

# vgc_check_live NAME: while the writer runs, member NAME (the acting
# primary: a mirror may lag) holds what every write acknowledged so far
# left (acked.py check --live: an object may also be at the write in
# flight). Sets VGC_LIVE to the summary.
vgc_check_live() {
    local out
    out=$(vgc_check "$1" --live 2>&1) || fail "acknowledged writes not as acknowledged on $1: $out"
    VGC_LIVE=$(vgc_summary "$out")
}

# vgc_summary CHECK_OUTPUT: "N acknowledged writes (P puts, D deletes) on K
# objects" from acked.py check's report (fails if it has none).
vgc_summary() {
    grep -m1 -o '[0-9]* acknowledged writes ([0-9]* puts, [0-9]* deletes) on [0-9]* objects' <<<"$1" ||
        fail "no summary in the check's report: $1"
}

# vgc_check_epochs [NAME...]: no two members acted as primary in one epoch
# (DESIGN.md section 8). From the events of each member given (default both;
# each must answer): every CONFIG record (an event with "config") was
# written by the primary it names, for its own epoch; CONFIG records of one
# epoch all name the same member, and their epochs strictly increase along
# the list; no event's epoch goes back; where both lists hold the same index,
# they hold the same event. From the daemons' logs: no epoch in which both
# dc1 and dc2 said "acting as primary" (or "acting again"), and the witness
# named the member primary of every epoch it acted in. The log check must
# see what it judges: both members' logs and the witness's must exist, and
# every CONFIG event that made a member primary (bootstrap, failover,
# switchover, forced) must match an "acting as primary" line of that member
# in that epoch. Sets VGC_EPOCHS to a summary.
vgc_check_epochs() {
    local names=("$@") n ev bad
    ((${#names[@]})) || names=(dc1 dc2)
    for n in "${names[@]}"; do
        ev=$(VGC_CURL_TIMEOUT=2 vgc_curl "$n" -f "/api/v1/events?limit=1000") ||
            fail "vgc_check_epochs: GET /api/v1/events on $n failed"
        echo "$ev" >"$VGC_DIR/events.$n"
        bad=$(jq -r '
            [.items[] | select(.config != null)] as $c
            | ($c[] | select(.member != .config.primary or .epoch != .config.epoch)
                | "index \(.index): CONFIG of epoch \(.epoch) written by \(.member) names primary \(.config.primary) for epoch \(.config.epoch)"),
              ($c | group_by(.epoch)[] | select((map(.member) | unique | length) > 1)
                | "epoch \(.[0].epoch): CONFIG records by \(map(.member) | unique | join(" and "))"),
              ($c | range(1; length) as $i | select($c[$i].epoch <= $c[$i - 1].epoch)
                | "index \($c[$i].index): CONFIG of epoch \($c[$i].epoch) after one of epoch \($c[$i - 1].epoch)"),
              ([.items[] | select(.epoch != null)] as $a | range(1; $a | length) as $i
                | select($a[$i].epoch < $a[$i - 1].epoch)
                | "index \($a[$i].index): \($a[$i].kind) of epoch \($a[$i].epoch) after epoch \($a[$i - 1].epoch)")
            ' "$VGC_DIR/events.$n") || fail "vgc_check_epochs: events of $n are not JSON: $ev"
        [[ -z "$bad" ]] || fail "epochs in the events of $n: $bad
$(jq -c '.items[] | select(.config != null) | {index, epoch, member, kind, primary: .config.primary}' "$VGC_DIR/events.$n")"
    done
    if ((${#names[@]} == 2)); then
        bad=$(jq -rn --slurpfile a "$VGC_DIR/events.${names[0]}" --slurpfile b "$VGC_DIR/events.${names[1]}" '
            ($b[0].items | map({key: (.index | tostring), value: .}) | from_entries) as $bi
            | $a[0].items[] | select($bi[.index | tostring] != null and $bi[.index | tostring] != .)
            | "index \(.index): \(.kind)/\(.epoch)/\(.member) vs \($bi[.index | tostring] | "\(.kind)/\(.epoch)/\(.member)")"')
        [[ -z "$bad" ]] || fail "${names[0]} and ${names[1]} list different events at the same index: $bad"
    fi
    # the daemons' own word: "acting as primary of epoch N", "(same epoch N, in sync): acting again"
    local -A acted=()
    local e both=() unnamed=() promos unlogged
    [[ -s $VGC_LOGS/witness.log ]] || fail "vgc_check_epochs: no witness log at $VGC_LOGS/witness.log"
    for n in dc1 dc2; do
        [[ -s $VGC_LOGS/$n.log ]] || fail "vgc_check_epochs: no log of $n at $VGC_LOGS/$n.log"
        for e in $(sed -nE 's/.*acting as primary of epoch ([0-9]+).*/\1/p; s/.*\(same epoch ([0-9]+), in sync\): acting again.*/\1/p' \
            "$VGC_LOGS/$n.log" | sort -un); do
            [[ -n "${acted[$e]:-}" && ${acted[$e]} != "$n" ]] && both+=("$e")
            acted[$e]=$n
            grep -qE " epoch $e: [a-z]+ by .*: primary '$n'," "$VGC_LOGS/witness.log" ||
                unnamed+=("$n@$e")
        done
    done
    ((${#acted[@]} > 0)) || fail "vgc_check_epochs: no 'acting as primary of epoch N' line in the logs of dc1 and dc2"
    # each promotion among the events was logged by the member it promoted
    promos=$(for n in "${names[@]}"; do
        jq -r '.items[] | select(.config != null and (.kind | IN("bootstrap", "failover", "switchover", "forced")))
               | "\(.epoch) \(.member) \(.kind)"' "$VGC_DIR/events.$n"
    done | sort -u) || fail "vgc_check_epochs: cannot list the promotions among the events"
    [[ -n $promos ]] || fail "vgc_check_epochs: no promotion (bootstrap, failover, switchover, forced) among the events"
    unlogged=$(while read -r e n k; do
        [[ ${acted[$e]:-} == "$n" ]] || echo "$k of epoch $e by $n (the logs say: ${acted[$e]:-nobody})"
    done <<<"$promos")
    [[ -z $unlogged ]] || fail "promotions in the events that no member's log shows: $unlogged"
    ((${#both[@]} == 0)) || fail "both members acted as primary in epoch(s) ${both[*]}"
    ((${#unnamed[@]} == 0)) || fail "members acted as primary in epochs the witness did not give them: ${unnamed[*]}"
    # a summary: in full for a few epochs, counted for many
    VGC_EPOCHS="$(jq -r '[.items[] | select(.config != null) | "\(.epoch):\(.member)"]
        | "\(length) CONFIG records, " + if length <= 12 then "epochs " + join(" ")
          else "epochs \(.[0] | split(":")[0])..\(.[-1] | split(":")[0])" end' "$VGC_DIR/events.${names[0]}"); acted as primary: $(
        for e in "${!acted[@]}"; do echo "$e:${acted[$e]}"; done | sort -n |
            awk '{ a[NR] = $0; n[substr($0, index($0, ":") + 1)]++ }
                 END { if (NR <= 12) { for (i = 1; i <= NR; i++) printf "%s%s", (i > 1 ? " " : ""), a[i] }
                       else printf "%d epochs (dc1 %d, dc2 %d)", NR, n["dc1"], n["dc2"] }')"
}

# vgc_cli ARGS...: the vigil CLI from the client namespace, both members.
vgc_cli() {
    VIGIL_SERVER=$(vgc_urls) VIGIL_TOKEN=$VGC_TOKEN VIGIL_CACERT=$VGC_CA vgn_exec cli "$VIGIL" "$@"
}
