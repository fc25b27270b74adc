# Network namespaces for fault tests (DESIGN.md section 8): one namespace per
# site (dc1, dc2), one for the witness (wit) and one for clients (cli), each
# joined by a veth pair to a bridge in a private "hub" namespace. Nothing is
# added to the root namespace's links or routes. Partitions are nft rules
# inside the site namespaces; delays are netem (when the kernel has it).
#
#   source tests/fault/netns.sh     # after tests/blackbox/lib.sh, if used
#   vgn_setup                       # exits 77 (skip) if namespaces are impossible here
#   vgn_exec dc1 ip addr
#   vgn_bg dc2 "$VG_TMP/srv.log" python3 -m http.server --bind "$(vgn_ip dc2)" 8000
#   vgn_cut dc1 dc2; vgn_isolate dc1; vgn_heal dc1 dc2; vgn_heal
#   vgn_delay dc1 dc2 200           # needs sch_netem (vgn_require_netem skips without it)
#   (vgn_teardown runs on EXIT: kills every process in the namespaces, deletes them)
#
# Names: dc1 dc2 wit cli. Addresses: $VGN_NET.1, .2, .3 and .10 (a /24 chosen
# per run); vgn_ip NAME prints one. The namespaces are $VGN_PREFIX-NAME, with a
# prefix unique to the run (vg<pid>), so parallel tests never collide.
# Call vgn_setup from the test's main shell (not in $(...)): it sets globals
# and may exit. Namespaces left by a run that was killed with SIGKILL (ctest
# timeout) are removed by the next vgn_setup: each run records its owner
# (pid + start time) under /run/vigil-fault.

VGN_NAMES=(dc1 dc2 wit cli)
declare -A VGN_HOST=([dc1]=1 [dc2]=2 [wit]=3 [cli]=10)
declare -A VGN_CUTS=()   # "a b" (sorted) -> 1
VGN_PREFIX=""
VGN_NET=""
VGN_PIDS=()
VGN_LAST_PID=""
VGN_OWNER_DIR=/run/vigil-fault

_vgn_err() { echo "netns: $*" >&2; }

# _vgn_skip WHY: the environment cannot run these tests; undo and exit 77.
_vgn_skip() {
    echo "SKIP: $* (fault tests need root with CAP_SYS_ADMIN and CAP_NET_ADMIN, iproute2 and nftables)" >&2
    vgn_teardown
    exit 77
}

_vgn_check_name() {
    [[ -n ${1:-} && -n "${VGN_HOST[$1]+x}" ]] || { _vgn_err "unknown namespace '${1:-}' (one of: ${VGN_NAMES[*]})"; return 2; }
    [[ -n "$VGN_PREFIX" ]] || { _vgn_err "vgn_setup has not run"; return 2; }
}

# vgn_ns NAME: the namespace's real name.
vgn_ns() { _vgn_check_name "$1" && echo "$VGN_PREFIX-$1"; }

# vgn_ip NAME: the address of NAME.
vgn_ip() { _vgn_check_name "$1" && echo "$VGN_NET.${VGN_HOST[$1]}"; }

_vgn_starttime() { # PID: the process's start time in clock ticks, or nothing
    local stat
    stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 0
    stat=${stat##*) }            # fields after "(comm) "
    # shellcheck disable=SC2086
    set -- $stat
    echo "${20}"                 # field 22 of stat
}

# _vgn_delete PREFIX: kill every process in PREFIX's namespaces, delete them.
_vgn_delete() {
    local p=$1 ns pids n
    for n in "${VGN_NAMES[@]}" hub; do
        ns=$p-$n
        [[ -e /run/netns/$ns ]] || continue
        pids=$(ip netns pids "$ns" 2>/dev/null || true)
        # shellcheck disable=SC2086
        [[ -z "$pids" ]] || kill -9 $pids 2>/dev/null || true
    done
    for n in "${VGN_NAMES[@]}" hub; do
        ns=$p-$n
        [[ -e /run/netns/$ns ]] || continue
        local i
        for ((i = 0; i < 50; i++)); do
            [[ -z "$(ip netns pids "$ns" 2>/dev/null)" ]] && break
            sleep 0.02
        done
        ip netns del "$ns" 2>/dev/null || _vgn_err "could not delete namespace $ns"
    done
    rm -f "$VGN_OWNER_DIR/$p"
}

# Namespaces of earlier runs whose owner no longer exists.
_vgn_gc() {
    local f p pid start lock
    [[ -d $VGN_OWNER_DIR ]] || return 0
    # one collector at a time (parallel runs would delete the same namespaces)
    exec {lock}>"$VGN_OWNER_DIR/.lock"
    flock "$lock"
    for f in "$VGN_OWNER_DIR"/vg*; do
        [[ -f $f ]] || continue
        p=${f##*/}
        read -r pid start <"$f" || true
        if [[ -n "${pid:-}" && "$(_vgn_starttime "$pid")" == "${start:-x}" ]]; then
            continue # still running
        fi
        _vgn_err "removing namespaces left by an earlier run ($p)"
        _vgn_delete "$p"
    done
    exec {lock}>&-
}

# Runs vgn_teardown before whatever EXIT trap the test already has.
# shellcheck disable=SC2120 # "set --" below parses trap -p, not arguments
_vgn_chain_exit_trap() {
    local old
    old=$(trap -p EXIT)
    if [[ -n "$old" ]]; then
        eval "set -- $old" # trap -- 'COMMAND' EXIT
        # shellcheck disable=SC2064
        trap "vgn_teardown; $3" EXIT
    else
        trap vgn_teardown EXIT
    fi
    trap 'exit 143' TERM
    trap 'exit 130' INT
}

_vgn_nft_base() { # NAME: the partition table, with an empty set of blocked peers
    ip netns exec "$VGN_PREFIX-$1" nft -f - <<'EOF'
table inet vgfault {
    set blocked { type ipv4_addr; }
    chain input { type filter hook input priority 0; policy accept; ip saddr @blocked drop; }
    chain output { type filter hook output priority 0; policy accept; ip daddr @blocked drop; }
}
EOF
}

# vgn_setup: create hub + dc1 dc2 wit cli. Exits 77 if this host cannot.
vgn_setup() {
    local n ns
    [[ -z "$VGN_PREFIX" ]] || { _vgn_err "vgn_setup called twice"; return 1; }
    [[ $(id -u) == 0 ]] || _vgn_skip "not running as root"
    command -v ip >/dev/null || _vgn_skip "'ip' (iproute2) is not installed"
    command -v nft >/dev/null || _vgn_skip "'nft' (nftables) is not installed"
    mkdir -p "$VGN_OWNER_DIR" 2>/dev/null || _vgn_skip "cannot create $VGN_OWNER_DIR"

    VGN_PREFIX=vg$$
    while [[ -e /run/netns/$VGN_PREFIX-hub || -e $VGN_OWNER_DIR/$VGN_PREFIX ]]; do
        VGN_PREFIX=vg$$x$RANDOM
    done
    VGN_NET=10.$((64 + $$ % 128)).$((($$ / 128 + RANDOM) % 256))
    local me=$BASHPID
    echo "$me $(_vgn_starttime "$me")" >"$VGN_OWNER_DIR/$VGN_PREFIX"
    _vgn_chain_exit_trap

    local out
    out=$(ip netns add "$VGN_PREFIX-hub" 2>&1) || _vgn_skip "cannot create a network namespace: $out"
    out=$(ip -n "$VGN_PREFIX-hub" link add br0 type bridge 2>&1) || _vgn_skip "cannot create a bridge: $out"
    _vgn_gc
    ip -n "$VGN_PREFIX-hub" link set lo up
    ip -n "$VGN_PREFIX-hub" link set br0 up
    for n in "${VGN_NAMES[@]}"; do
        ns=$VGN_PREFIX-$n
        ip netns add "$ns" || { _vgn_err "ip netns add $ns failed"; return 1; }
        out=$(ip -n "$VGN_PREFIX-hub" link add "v-$n" type veth peer name eth0 netns "$ns" 2>&1) ||
            _vgn_skip "cannot create a veth pair: $out"
        ip -n "$VGN_PREFIX-hub" link set "v-$n" master br0 up
        ip -n "$ns" link set lo up
        ip -n "$ns" addr add "$VGN_NET.${VGN_HOST[$n]}/24" dev eth0
        ip -n "$ns" link set eth0 up
        if [[ $n != cli ]]; then
            out=$(_vgn_nft_base "$n" 2>&1) || _vgn_skip "nftables does not work in a namespace: $out"
        fi
    done
    # wait for carrier on every link (bridge ports forward at once: no STP)
    local i
    for n in "${VGN_NAMES[@]}"; do
        for ((i = 0; i < 100; i++)); do
            ip -n "$VGN_PREFIX-$n" -o link show eth0 | grep -q 'state UP' && break
            sleep 0.02
        done
    done
    echo "netns: $VGN_PREFIX-{dc1,dc2,wit,cli} on $VGN_NET.0/24" >&2
}

# vgn_teardown: kill processes started in the namespaces, delete them. Safe
# to call more than once and from a trap.
vgn_teardown() {
    local pid
    [[ -n "$VGN_PREFIX" ]] || return 0
    for pid in "${VGN_PIDS[@]}"; do
        kill -9 "$pid" 2>/dev/null || true
    done
    for pid in "${VGN_PIDS[@]}"; do
        wait "$pid" 2>/dev/null || true
    done
    _vgn_delete "$VGN_PREFIX"
    VGN_PREFIX=""
    VGN_PIDS=()
}

# vgn_exec NAME CMD...: run CMD in NAME's namespace.
vgn_exec() {
    local ns
    ns=$(vgn_ns "$1") || return 2
    shift
    ip netns exec "$ns" "$@"
}

# vgn_bg NAME LOGFILE CMD...: start CMD in the background in NAME's namespace,
# stdout and stderr appended to LOGFILE. Sets VGN_LAST_PID (the pid of CMD
# itself: ip netns exec execs it); the process is killed by vgn_teardown.
vgn_bg() {
    local ns log=$2
    ns=$(vgn_ns "$1") || return 2
    shift 2
    ip netns exec "$ns" "$@" >>"$log" 2>&1 &
    VGN_LAST_PID=$!
    VGN_PIDS+=("$VGN_LAST_PID")
}

# Rewrites NAME's set of blocked peers from VGN_CUTS (atomically).
_vgn_apply() {
    local n=$1 key a b ips=()
    [[ $n == cli ]] && return 0
    for key in "${!VGN_CUTS[@]}"; do
        read -r a b <<<"$key"
        [[ $a == "$n" ]] && ips+=("$VGN_NET.${VGN_HOST[$b]}")
        [[ $b == "$n" ]] && ips+=("$VGN_NET.${VGN_HOST[$a]}")
    done
    {
        echo "flush set inet vgfault blocked"
        if ((${#ips[@]})); then
            local IFS=,
            echo "add element inet vgfault blocked { ${ips[*]} }"
        fi
    } | ip netns exec "$VGN_PREFIX-$n" nft -f -
}

_vgn_key() { # A B -> "A B" in a fixed order
    if [[ $1 < $2 ]]; then echo "$1 $2"; else echo "$2 $1"; fi
}

# vgn_cut A B: drop every packet between A and B, both ways (existing TCP
# connections stall, as in a real partition). A and B: dc1, dc2, wit, cli
# (cli can be cut from a site, e.g. "clients cannot reach dc1").
vgn_cut() {
    (($# == 2)) || { _vgn_err "usage: vgn_cut A B"; return 2; }
    _vgn_check_name "$1" && _vgn_check_name "$2" || return 2
    [[ $1 != "$2" ]] || { _vgn_err "vgn_cut: $1 and $2 are the same"; return 2; }
    # (cli has no table of its own: the site's rules block both directions)
    VGN_CUTS[$(_vgn_key "$1" "$2")]=1
    _vgn_apply "$1" && _vgn_apply "$2"
}

# vgn_isolate A: cut A from the two others of dc1, dc2, wit.
vgn_isolate() {
    _vgn_check_name "$1" || return 2
    local n
    for n in dc1 dc2 wit; do
        [[ $n == "$1" ]] || vgn_cut "$1" "$n" || return 1
    done
}

# vgn_heal [A [B]]: remove the cut between A and B; with only A, every cut
# involving A; with nothing, every cut.
vgn_heal() {
    local key a b n
    local -A touched=()
    for n in "$@"; do _vgn_check_name "$n" || return 2; done
    for key in "${!VGN_CUTS[@]}"; do
        read -r a b <<<"$key"
        if (($# == 0)) || { (($# == 1)) && [[ $a == "$1" || $b == "$1" ]]; } ||
            [[ $key == "$(_vgn_key "$1" "${2:-}")" ]]; then
            unset "VGN_CUTS[$key]"
            touched[$a]=1
            touched[$b]=1
        fi
    done
    for n in "${!touched[@]}"; do _vgn_apply "$n" || return 1; done
}

# vgn_cuts: the current cuts, one "A B" per line.
vgn_cuts() {
    local key
    for key in "${!VGN_CUTS[@]}"; do echo "$key"; done | sort
}

# vgn_have_netem: 0 if the kernel can delay packets (sch_netem).
vgn_have_netem() {
    [[ -n "$VGN_PREFIX" ]] || return 1
    local ns=$VGN_PREFIX-hub ok=1
    if tc -n "$ns" qdisc add dev lo root netem delay 1ms >/dev/null 2>&1; then
        ok=0
        tc -n "$ns" qdisc del dev lo root >/dev/null 2>&1 || true
    fi
    return $ok
}

# vgn_require_netem: exit 77 (skip) if there is no netem.
vgn_require_netem() {
    vgn_have_netem || _vgn_skip "the kernel has no sch_netem: packets cannot be delayed"
}

# _vgn_delay_one FROM TO MS: delay FROM's packets to TO by MS (0: none).
# FROM's eth0 gets an htb root whose default class passes everything; each
# peer has its own class (1:1N) with a netem leaf, chosen by a u32 filter.
_vgn_delay_one() {
    local ns=$VGN_PREFIX-$1 to=$2 ms=$3 cls
    cls=$((10 + VGN_HOST[$to]))
    if ! tc -n "$ns" qdisc show dev eth0 | grep -q '^qdisc htb 1:'; then
        tc -n "$ns" qdisc add dev eth0 root handle 1: htb default 1 &&
            tc -n "$ns" class add dev eth0 parent 1: classid 1:1 htb rate 10gbit quantum 60000 || return 1
        local n
        for n in "${VGN_NAMES[@]}"; do
            [[ $n == "$1" ]] && continue
            tc -n "$ns" class add dev eth0 parent 1: classid "1:$((10 + VGN_HOST[$n]))" htb rate 10gbit quantum 60000 &&
                tc -n "$ns" filter add dev eth0 parent 1: protocol ip prio 1 u32 \
                    match ip dst "$VGN_NET.${VGN_HOST[$n]}/32" flowid "1:$((10 + VGN_HOST[$n]))" || return 1
        done
    fi
    if ((ms > 0)); then
        tc -n "$ns" qdisc replace dev eth0 parent "1:$cls" handle "$cls:" netem delay "${ms}ms"
    else
        tc -n "$ns" qdisc del dev eth0 parent "1:$cls" handle "$cls:" 2>/dev/null || true
    fi
}

# vgn_delay A B MS: add MS milliseconds of delay each way between A and B
# (0 removes it). Returns 3 with a message if the kernel has no netem; use
# vgn_require_netem first to skip instead.
vgn_delay() {
    (($# == 3)) || { _vgn_err "usage: vgn_delay A B MS"; return 2; }
    _vgn_check_name "$1" && _vgn_check_name "$2" || return 2
    [[ $3 =~ ^[0-9]+$ ]] || { _vgn_err "vgn_delay: MS must be a number"; return 2; }
    if ! vgn_have_netem; then
        _vgn_err "vgn_delay: the kernel has no sch_netem; cannot delay packets"
        return 3
    fi
    _vgn_delay_one "$1" "$2" "$3" && _vgn_delay_one "$2" "$1" "$3"
}
