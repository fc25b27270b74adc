#!/usr/bin/env bash
# The fault-injection network itself (tests/fault/netns.sh): the namespaces
# reach each other over the hub; vgn_cut, vgn_isolate and vgn_heal really
# block and restore traffic, both new connections and an established one;
# vgn_delay delays (when the kernel has netem); without the capabilities the
# library skips with exit 77; a run killed with SIGKILL leaves namespaces
# that the next run removes; teardown leaves nothing behind.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
TMP=$(mktemp -d /tmp/vigil-fault.XXXXXX)
trap 'rm -rf "$TMP"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
pass() { echo "ok: $*"; }
alive() { # PID: running (not gone, not a zombie waiting for its parent)
    local st
    st=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
    st=${st##*) }
    [[ ${st:0:1} != Z ]]
}

# --- without CAP_SYS_ADMIN / CAP_NET_ADMIN: skip, with the reason ----------
rc=0
setpriv --bounding-set=-sys_admin,-net_admin bash -c \
    "source '$HERE/netns.sh'; vgn_setup; echo set up" >"$TMP/nocap.out" 2>&1 || rc=$?
if [[ $rc == 0 ]] && ! grep -q "set up" "$TMP/nocap.out"; then rc=1; fi
[[ $rc == 77 ]] || { cat "$TMP/nocap.out" >&2; fail "without capabilities: exit $rc, not 77"; }
grep -q "SKIP: cannot create a network namespace" "$TMP/nocap.out" ||
    fail "no reason given for the skip: $(cat "$TMP/nocap.out")"
pass "without CAP_SYS_ADMIN the library exits 77 and says why"

# --- a run killed with SIGKILL: its namespaces are left, then collected ----
bash -c "source '$HERE/netns.sh'; vgn_setup; vgn_bg dc1 /dev/null sleep 300;
         echo \$VGN_PREFIX \$VGN_LAST_PID >'$TMP/killed'; exec sleep 300" 2>"$TMP/killed.err" &
killed_pid=$!
for _ in $(seq 200); do [[ -s $TMP/killed ]] && break; sleep 0.05; done
[[ -s $TMP/killed ]] || fail "the run to be killed did not set up: $(cat "$TMP/killed.err")"
read -r old_prefix old_sleeper <"$TMP/killed"
kill -9 "$killed_pid"
wait "$killed_pid" 2>/dev/null || true
# (a test running in parallel may collect them before we do)

# --- set up ------------------------------------------------------------------
source "$HERE/netns.sh"
vgn_setup
for n in dc1 dc2 wit cli hub; do
    [[ -e /run/netns/$old_prefix-$n ]] && fail "namespace $old_prefix-$n of the killed run is still there"
done
alive "$old_sleeper" && fail "the killed run's process in its dc1 namespace still runs"
pass "namespaces and processes of a run killed with SIGKILL are removed by the next setup"

for n in dc1 dc2 wit cli; do
    [[ -e /run/netns/$VGN_PREFIX-$n ]] || fail "namespace $VGN_PREFIX-$n missing"
    addr=$(vgn_exec "$n" ip -4 -o addr show dev eth0 | awk '{print $4}')
    [[ $addr == "$(vgn_ip "$n")/24" ]] || fail "$n has address '$addr', not $(vgn_ip "$n")/24"
    vgn_exec "$n" ip -o link show lo | grep -q "UP" || fail "lo is not up in $n"
done
[[ -z "$(ip -o link show | grep -E 'v-(dc1|dc2|wit|cli)|br0' || true)" ]] ||
    fail "links appeared in the root namespace"
pass "namespaces dc1 dc2 wit cli on $VGN_NET.0/24, lo up, nothing in the root namespace"

# --- an HTTP server in each site; reach FROM TO answers 0 if it connects ---
PORT=8000
for n in dc1 dc2 wit; do
    vgn_bg "$n" "$TMP/http-$n.log" python3 -m http.server --bind "$(vgn_ip "$n")" --directory "$TMP" "$PORT"
done
reach() {
    vgn_exec "$1" curl -fsS -o /dev/null --connect-timeout 0.5 -m 1 "http://$(vgn_ip "$2"):$PORT/"
}
for n in dc1 dc2 wit; do
    for _ in $(seq 100); do reach cli "$n" 2>/dev/null && break; sleep 0.05; done
done
# expect "FROM>TO ..." "FROM>TO ...": the first list must connect, the second must not
# (all at once: a blocked connection takes its 0.5 s timeout)
expect() {
    local p pids=() rc
    rm -f "$TMP"/reach.*
    for p in $1 $2; do
        { rc=0; reach "${p%>*}" "${p#*>}" 2>/dev/null || rc=$?; echo $rc >"$TMP/reach.$p"; } &
        pids+=($!)
    done
    wait "${pids[@]}"
    for p in $1; do [[ $(cat "$TMP/reach.$p") == 0 ]] || fail "$3: ${p%>*} cannot reach ${p#*>}"; done
    for p in $2; do [[ $(cat "$TMP/reach.$p") != 0 ]] || fail "$3: ${p%>*} reaches ${p#*>}"; done
}
ALL="dc1>dc2 dc2>dc1 dc1>wit wit>dc1 dc2>wit wit>dc2 cli>dc1 cli>dc2 cli>wit"
expect "$ALL" "" "before any fault"
pass "TCP between every pair (new connections)"

# an established connection dc1 -> dc2: one request and answer every 50 ms,
# each answer logged with the time
cat >"$TMP/echo.py" <<'PY'
import socket, sys, time
if sys.argv[1] == "server":
    s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((sys.argv[2], 9000)); s.listen(1)
    c, _ = s.accept()
    while (d := c.recv(64)):
        c.sendall(d)
else:
    c = socket.create_connection((sys.argv[2], 9000))
    c.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    while True:
        c.sendall(b"x"); c.recv(64)
        print(time.monotonic(), flush=True)
        time.sleep(0.05)
PY
vgn_bg dc2 "$TMP/echo-server.log" python3 "$TMP/echo.py" server "$(vgn_ip dc2)"
for _ in $(seq 100); do vgn_exec dc2 ss -Htln "sport = :9000" | grep -q . && break; sleep 0.05; done
vgn_bg dc1 "$TMP/echo.log" python3 "$TMP/echo.py" client "$(vgn_ip dc2)"
lines() { wc -l <"$TMP/echo.log"; }
for _ in $(seq 100); do (($(lines) > 3)) && break; sleep 0.05; done
(($(lines) > 3)) || fail "the established connection carries nothing"

# --- cut dc1 dc2 -------------------------------------------------------------
vgn_cut dc1 dc2
sleep 0.3
before=$(lines)
expect "dc1>wit wit>dc1 dc2>wit wit>dc2 cli>dc1 cli>dc2" "dc1>dc2 dc2>dc1" "cut dc1 dc2"
sleep 0.5
after=$(lines)
((after == before)) || fail "the established connection went on across the cut ($before -> $after answers)"
[[ "$(vgn_cuts)" == "dc1 dc2" ]] || fail "vgn_cuts: $(vgn_cuts)"
pass "vgn_cut dc1 dc2 blocks new and established connections between them, nothing else"

vgn_heal dc1 dc2
expect "$ALL" "" "heal dc1 dc2"
for _ in $(seq 100); do (($(lines) > after)) && break; sleep 0.05; done
(($(lines) > after)) || fail "the established connection did not resume within 5 s of the heal"
[[ -z "$(vgn_cuts)" ]] || fail "cuts left after heal: $(vgn_cuts)"
pass "vgn_heal dc1 dc2 restores them, the established connection resumes"

# --- isolate -------------------------------------------------------------------
vgn_isolate dc1
expect "dc2>wit wit>dc2 cli>dc1 cli>dc2 cli>wit" "dc1>dc2 dc2>dc1 dc1>wit wit>dc1" "isolate dc1"
pass "vgn_isolate dc1 cuts dc1 from dc2 and the witness; clients still reach every site"
vgn_heal dc1
expect "$ALL" "" "heal dc1"
vgn_isolate wit
expect "dc1>dc2 dc2>dc1 cli>wit" "dc1>wit wit>dc1 dc2>wit wit>dc2" "isolate wit"
vgn_heal
expect "$ALL" "" "heal (all)"
pass "vgn_heal A and vgn_heal (all) restore; isolating the witness works the same"

# --- clients cut from a site ---------------------------------------------------
vgn_cut cli dc1
expect "cli>dc2 cli>wit dc1>dc2 dc2>dc1" "cli>dc1" "cut cli dc1"
vgn_heal cli dc1
expect "$ALL" "" "heal cli dc1"
pass "vgn_cut cli dc1: clients cannot reach dc1, the sites still can"

# --- delay ---------------------------------------------------------------------
rtt_ms() { # FROM TO: milliseconds of a TCP handshake (one round trip)
    vgn_exec "$1" curl -sS -o /dev/null -m 5 -w '%{time_connect}' "http://$(vgn_ip "$2"):$PORT/" |
        awk '{print int($1 * 1000)}'
}
if vgn_have_netem; then
    vgn_delay dc1 dc2 150
    rtt=$(rtt_ms dc1 dc2)
    ((rtt >= 280)) || fail "vgn_delay dc1 dc2 150: rtt $rtt ms"
    rtt=$(rtt_ms dc1 wit)
    ((rtt < 100)) || fail "vgn_delay dc1 dc2 also delayed dc1 -> wit: rtt $rtt ms"
    vgn_delay dc1 dc2 0
    rtt=$(rtt_ms dc1 dc2)
    ((rtt < 100)) || fail "vgn_delay dc1 dc2 0: rtt still $rtt ms"
    pass "vgn_delay dc1 dc2 150 delays only that pair; 0 removes it"
else
    rc=0
    vgn_delay dc1 dc2 100 2>"$TMP/delay.err" || rc=$?
    if [[ $rc != 3 ]] || ! grep -q netem "$TMP/delay.err"; then fail "vgn_delay without netem: rc $rc"; fi
    echo "ok: vgn_delay not exercised: this kernel has no sch_netem (it says so and returns 3)"
fi

# --- teardown ------------------------------------------------------------------
prefix=$VGN_PREFIX
pids=("${VGN_PIDS[@]}")
vgn_teardown
for n in dc1 dc2 wit cli hub; do
    [[ -e /run/netns/$prefix-$n ]] && fail "namespace $prefix-$n left after teardown"
done
for p in "${pids[@]}"; do
    alive "$p" && fail "process $p left after teardown"
done
[[ -e $VGN_OWNER_DIR/$prefix ]] && fail "owner record left after teardown"
vgn_teardown # a second time (as the EXIT trap will): nothing to do, no error
pass "teardown kills the processes and deletes every namespace"
