#!/usr/bin/env bash
# kill -9 while clients write continuously: every write that was
# acknowledged (2xx) must be there, with its value, after restart. Repeated
# CRASH_ROUNDS times (fewer under the sanitizers, which are slower).
source "$(dirname "$0")/lib.sh"

rounds=${CRASH_ROUNDS:-25}
[[ "${VG_SANITIZE:-0}" == 1 || "${VG_SANITIZE:-}" == ON ]] && rounds=${CRASH_ROUNDS:-8}
writers=4

D=$VG_TMP/data
vg_init "$D"
VG_PORT=$(vg_free_port)
ACKED=$VG_TMP/acked
: >"$ACKED"

writer() { # id round: PUT until the daemon dies; log acknowledged writes
    local id=$1 round=$2 n=0 code
    while :; do
        n=$((n + 1))
        local name="w$id-r$round-$n" value="v-$RANDOM-$n"
        code=$(curl -sS -o /dev/null -w '%{http_code}' --max-time 5 -X PUT \
            -H "Authorization: Bearer $VG_TOKEN" \
            --data-binary "{\"spec\":{\"location\":\"$value\"}}" \
            "http://127.0.0.1:$VG_PORT/api/v1/objects/Site/$name" 2>/dev/null) || return 0
        [[ $code == 201 ]] || return 0
        echo "$name $value" >>"$ACKED.$id"
    done
}

total=0
for round in $(seq 1 "$rounds"); do
    vg_start "$D" "$VG_PORT" --snapshot-every 200 --segment-bytes 65536
    pids=()
    for w in $(seq 1 $writers); do
        writer "$w" "$round" &
        pids+=($!)
    done
    sleep "0.$((2 + RANDOM % 7))"
    kill -9 "$VG_PID"
    wait "$VG_PID" 2>/dev/null || true
    for p in "${pids[@]}"; do wait "$p" || true; done
    cat "$ACKED".* >>"$ACKED" 2>/dev/null || true
    rm -f "$ACKED".*

    vg_start "$D" "$VG_PORT" --snapshot-every 200 --segment-bytes 65536
    stored=$(curl -sS -H "Authorization: Bearer $VG_TOKEN" \
        "http://127.0.0.1:$VG_PORT/api/v1/objects/Site" | jq -r '.items[] | "\(.name) \(.spec.location)"' | sort)
    missing=$(comm -23 <(sort "$ACKED") <(echo "$stored"))
    [[ -z "$missing" ]] || fail "round $round: acknowledged writes lost after kill -9: $(head -5 <<<"$missing")"
    total=$(wc -l <"$ACKED")
    kill -9 "$VG_PID"
    wait "$VG_PID" 2>/dev/null || true
done
((total > rounds)) || fail "too few acknowledged writes ($total) for the test to mean anything"
pass "$rounds kill -9 rounds, $total acknowledged writes, none lost"
