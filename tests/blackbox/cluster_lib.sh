#!/usr/bin/env bash
# Shared by the black-box tests that run a two-member cluster and its
# witness on loopback (sourced after lib.sh): ports, node files, starting
# members and asking them who they are.
#   cluster_setup         pki, witness, data dirs dc1 (fresh) and dc2 (mirror),
#                         node files; sets TOKEN, API, PEER, URL, W_PORT, P
#   m_start NAME [args]   runs a member, waits for /readyz; sets PID[NAME]
# DEAD (dead_after in ms) may be set before cluster_setup.

: "${DEAD:=1600}" # twice the default, so a busy test host never trips it
P=$VG_TMP/pki
declare -A API PEER PID URL

# wait_until WHAT CMD...: up to 20 s for CMD to succeed.
wait_until() {
    local what=$1 i
    shift
    for ((i = 0; i < 200; i++)); do
        "$@" && return 0
        sleep 0.1
    done
    fail "$what: not so after 20 s"
}

# A free port that none of the ports taken so far is.
taken=" "
new_port() {
    local port
    port=$(vg_free_port)
    while [[ $taken == *" $port "* ]]; do port=$(vg_free_port); done
    taken+="$port "
    echo "$port"
}

# view NAME: that member's GET /api/v1/cluster, as the CLI prints it.
view() { "$VIGIL" -s "${URL[$1]}" cluster status -o json 2>/dev/null; }
role_of() { view "$1" | jq -r '"\(.role) \(.acting)"'; }
is_primary() { [[ $(role_of "$1") == "primary true" ]]; }
# not_acting NAME: it answers, and not as the acting primary (a member that
# does not answer is no proof that it did not take over)
not_acting() { [[ $(role_of "$1") =~ ^[a-z]+\ false$ ]]; }
is_mirror_in_sync() { # MIRROR PRIMARY
    [[ $(role_of "$1") == "mirror"* ]] &&
        [[ $(view "$2" | jq -r '.sync | sort | join(",")') == "dc1,dc2" ]]
}

m_start() {
    local name=$1
    shift
    "$VIGILD" run --node "$VG_TMP/$name.yaml" "$@" >>"$VG_TMP/$name.log" 2>&1 &
    PID[$name]=$!
    VG_PIDS+=("${PID[$name]}")
    VG_PID=${PID[$name]} vg_wait_ready "${API[$name]}" || fail "member $name did not become ready"
}

witness_up() {
    curl -fsS -o /dev/null --cacert "$P/ca.crt" --cert "$P/dc1.crt" --key "$P/dc1.key" \
        "https://127.0.0.1:$W_PORT/witness/v1/config" 2>/dev/null
}

w_start() {
    "$VIGILD" witness --data "$VG_TMP/witness" --listen "127.0.0.1:$W_PORT" \
        --tls-cert "$P/witness.crt" --tls-key "$P/witness.key" --tls-ca "$P/ca.crt" \
        --dead-after-ms "$DEAD" >>"$VG_TMP/witness.log" 2>&1 &
    W_PID=$!
    VG_PIDS+=("$W_PID")
    wait_until "the witness answers" witness_up
}

cluster_setup() {
    "$VIGIL" pki init --dir "$P" >/dev/null || fail "pki init"
    local name other
    for name in dc1 dc2 witness; do
        "$VIGIL" pki issue "$name" --dir "$P" --ip 127.0.0.1 >/dev/null || fail "pki issue $name"
    done
    W_PORT=$(new_port)
    w_start
    TOKEN=$("$VIGILD" init --data "$VG_TMP/dc1" -o json | jq -r .admin_token)
    [[ $TOKEN == vgt_* ]] || fail "vigild init -o json gave no admin token"
    "$VIGILD" init --data "$VG_TMP/dc2" --key-file "$VG_TMP/dc1/keyring" --mirror >/dev/null ||
        fail "vigild init --mirror"
    for name in dc1 dc2; do
        API[$name]=$(new_port)
        PEER[$name]=$(new_port)
        URL[$name]=http://127.0.0.1:${API[$name]}
    done
    for name in dc1 dc2; do
        other=$([[ $name == dc1 ]] && echo dc2 || echo dc1)
        cat >"$VG_TMP/$name.yaml" <<EOF
name: $name
site: $name
data: $VG_TMP/$name
listen: 127.0.0.1:${API[$name]}
peer_listen: 127.0.0.1:${PEER[$name]}
peer: {name: $other, address: 127.0.0.1:${PEER[$other]}}
witness: {name: witness, address: 127.0.0.1:$W_PORT}
tls: {cert: $P/$name.crt, key: $P/$name.key, ca: $P/ca.crt}
timing: {heartbeat_ms: 100, ack_timeout_ms: 1000, lease_ms: 800, dead_after_ms: $DEAD}
EOF
    done
}
