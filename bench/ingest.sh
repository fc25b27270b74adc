#!/usr/bin/env bash
# Facility ingest benchmark: the same realistic readings (line protocol,
# batches of 5,000) pushed to vigild and to InfluxDB 1.6, both started here,
# on the same disk, in the same run. Prints readings/s (and per CPU second
# of the server), bytes per reading on disk, reading -> rule state change
# latency, and vigild's memory per sensor at 10,000 and 100,000 sensors.
#
#   bash bench/ingest.sh                    # ~2-4 minutes
#   BENCH_SENSORS=10000 BENCH_POINTS=1000 BENCH_CLIENTS=4 bash bench/ingest.sh
#   BENCH_MEM_SENSORS="10000 100000"        # memory phases (empty: skip)
#   BENCH_ONLY_MEMORY=1                     # only the memory phases
#   BENCH_KEEP=1                            # keep the work dir and logs
set -euo pipefail
cd "$(dirname "$0")/.."

SENSORS=${BENCH_SENSORS:-10000}
POINTS=${BENCH_POINTS:-1000}
CLIENTS=${BENCH_CLIENTS:-4}
MEM_SENSORS=${BENCH_MEM_SENSORS-"10000 100000"}
BUILD_DIR=${BUILD_DIR:-build}

say() { echo "ingest: $*" >&2; }
die() { say "$*"; exit 1; }

bash scripts/deps.sh --bench
cmake -S . -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
grep -q '^VG_SANITIZE:BOOL=ON' "$BUILD_DIR/CMakeCache.txt" && die "benchmark a release build"
cmake --build "$BUILD_DIR" -j"$(nproc)" --target vigild vigil bench_ingest_load >/dev/null
VIGILD=$BUILD_DIR/vigild VIGIL=$BUILD_DIR/vigil LOAD=$BUILD_DIR/bench_ingest_load
command -v influxd >/dev/null || die "influxd missing (bash scripts/deps.sh --bench)"

WORK=$(mktemp -d "${BENCH_TMP:-${TMPDIR:-/tmp}}/vigil-ingest.XXXXXX")
PIDS=()
cleanup() {
    for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
    for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
    if [[ "${BENCH_KEEP:-0}" == 1 ]]; then say "kept $WORK"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM
FSTYPE=$(df --output=fstype "$WORK" | tail -n 1)
[[ "$FSTYPE" != tmpfs ]] || die "'$WORK' is on tmpfs; set BENCH_TMP to a directory on disk"

free_port() {
    local port
    while :; do
        port=$((20000 + RANDOM % 12000))
        ss -Htan "sport = :$port" | grep -q . || { echo "$port"; return; }
    done
}
wait_url() { # URL PID
    for _ in $(seq 600); do
        kill -0 "$2" 2>/dev/null || die "server for $1 exited"
        curl -s -o /dev/null -m 2 "$1" && return 0
        sleep 0.1
    done
    die "$1 not ready"
}
# disk_bytes DIR...: bytes the files under DIRs take on disk, as allocated
# blocks (du without --apparent-size): InfluxDB preallocates sparse files
# whose apparent size overstates what it stores, and small files take whole
# blocks whatever their length.
disk_bytes() { du -s -B1 -c "$@" | tail -n 1 | cut -f1; }
cpu_s() { # PID -> user+system CPU seconds
    awk -v hz="$(getconf CLK_TCK)" '{ print ($14 + $15) / hz }' "/proc/$1/stat"
}
rss_kib() { awk '/VmRSS/ { print $2 }' "/proc/$1/status"; }
peak_kib() { awk '/VmHWM/ { print $2 }' "/proc/$1/status"; }

# sensors.yaml N PREFIX: a site, a zone (A1 server room), a push device and
# N temperature sensors named PREFIX000000...
sensors_yaml() {
    python3 - "$1" "$2" <<'PY'
import sys
n, prefix = int(sys.argv[1]), sys.argv[2]
out = ["kind: Site\nname: bench\nspec: {location: bench hall}",
       "kind: Zone\nname: bench-hall\nspec: {site: bench, type: server-room, ashrae_class: A1}",
       "kind: Device\nname: bench-bms\nspec: {site: bench, driver: push}"]
for i in range(n):
    out.append(f"kind: Sensor\nname: {prefix}{i:06d}\nspec: {{zone: bench-hall, device: bench-bms, type: temperature}}")
for i in range(100 if prefix == "s" else 0):
    out.append(f"kind: Sensor\nname: alarm{i:03d}\nspec: {{zone: bench-hall, device: bench-bms, type: temperature}}")
print("\n---\n".join(out))
PY
}

# start_vigild NAME [ARGS...] -> sets VPORT VPID TOKEN
start_vigild() {
    local dir=$WORK/$1
    shift
    TOKEN=$("$VIGILD" init --data "$dir" -o json | python3 -c 'import json,sys; print(json.load(sys.stdin)["admin_token"])')
    VPORT=$(free_port)
    "$VIGILD" run --data "$dir" --listen "127.0.0.1:$VPORT" --log-level warn "$@" \
        >"$dir.log" 2>&1 &
    VPID=$!
    PIDS+=("$VPID")
    wait_url "http://127.0.0.1:$VPORT/healthz" "$VPID"
}
apply_sensors() { # N PREFIX (4 parallel appliers)
    sensors_yaml "$1" "$2" >"$WORK/sensors.yaml"
    python3 - "$WORK/sensors.yaml" 4 <<'PY'
import sys
docs = open(sys.argv[1]).read().split("\n---\n")
k = int(sys.argv[2])
head, rest = docs[:3], docs[3:]
open(sys.argv[1] + ".0", "w").write("\n---\n".join(head))
for i in range(k):
    open(f"{sys.argv[1]}.{i + 1}", "w").write("\n---\n".join(rest[i::k]) or "")
PY
    VIGIL_SERVER=http://127.0.0.1:$VPORT VIGIL_TOKEN=$TOKEN "$VIGIL" apply -f "$WORK/sensors.yaml.0" >/dev/null
    local pids=() i
    for i in 1 2 3 4; do
        [[ -s "$WORK/sensors.yaml.$i" ]] || continue
        VIGIL_SERVER=http://127.0.0.1:$VPORT VIGIL_TOKEN=$TOKEN "$VIGIL" apply -f "$WORK/sensors.yaml.$i" >/dev/null &
        pids+=($!)
    done
    for i in "${pids[@]}"; do wait "$i" || die "applying sensors failed"; done
    # the monitor reloads on its next tick
    sleep 1
}
metric() { # NAME -> value from vigild's /metrics
    curl -s -H "Authorization: Bearer $TOKEN" "http://127.0.0.1:$VPORT/metrics" |
        awk -v m="$1" '$1 == m { print $2 }'
}

if [[ "${BENCH_ONLY_MEMORY:-0}" == 1 ]]; then
    vjson='{"readings":1,"readings_per_s":1,"seconds":1,"batch_p50_ms":0,"batch_p99_ms":0}'
    ijson=$vjson c0=0 c1=0 i0=0 i1=0 vbytes=0 ibytes=0 lat="0 0 0 0 0 0 0 0" raw_bytes=0 raw_points=0
else
# ---- vigil ingest ----
say "vigil: $SENSORS sensors, $POINTS readings each, $CLIENTS clients"
start_vigild vigil --no-collect
apply_sensors "$SENSORS" s
c0=$(cpu_s "$VPID")
vjson=$(VIGIL_TOKEN=$TOKEN "$LOAD" --port "$VPORT" --sensors "$SENSORS" --points "$POINTS" --clients "$CLIENTS" --alarms 100)
c1=$(cpu_s "$VPID")
lat=$(curl -s -H "Authorization: Bearer $TOKEN" "http://127.0.0.1:$VPORT/api/v1/facility" | python3 -c '
import json, sys
l = json.load(sys.stdin)["rule_latency"]
print(*(l[k][f] for k in ("single", "bulk") for f in ("samples", "p50_us", "p99_us", "max_us")))')
sleep 6 # one maintenance pass: every chunk the load closed is written out before it is counted
raw_bytes=$(metric 'vigil_tsdb_bytes_on_disk{tier="raw"}')
raw_points=$(metric vigil_tsdb_points_on_disk)
kill -TERM "$VPID"; wait "$VPID" || true
vbytes=$(disk_bytes "$WORK/vigil/tsdb")

# ---- InfluxDB ingest ----
say "influxdb 1.6: the same readings"
IPORT=$(free_port)
mkdir -p "$WORK/influx"
cat >"$WORK/influx.conf" <<EOC
reporting-disabled = true
bind-address = "127.0.0.1:$(free_port)"
[meta]
  dir = "$WORK/influx/meta"
[data]
  dir = "$WORK/influx/data"
  wal-dir = "$WORK/influx/wal"
  cache-snapshot-write-cold-duration = "1s"
  query-log-enabled = false
[http]
  bind-address = "127.0.0.1:$IPORT"
  log-enabled = false
[monitor]
  store-enabled = false
[subscriber]
  enabled = false
EOC
influxd -config "$WORK/influx.conf" >"$WORK/influx.log" 2>&1 &
IPID=$!
PIDS+=("$IPID")
wait_url "http://127.0.0.1:$IPORT/ping" "$IPID"
curl -s -XPOST "http://127.0.0.1:$IPORT/query" --data-urlencode "q=CREATE DATABASE bench" >/dev/null
i0=$(cpu_s "$IPID")
ijson=$("$LOAD" --influx --port "$IPORT" --sensors "$SENSORS" --points "$POINTS" --clients "$CLIENTS")
i1=$(cpu_s "$IPID")
sleep 5 # cold cache written out as TSM files
kill -TERM "$IPID"; wait "$IPID" || true
ibytes=$(disk_bytes "$WORK/influx/data" "$WORK/influx/wal")

fi

# ---- memory per sensor ----
mem_rows=""
for n in $MEM_SENSORS; do
    say "vigil memory: $n sensors"
    start_vigild "mem$n" # collecting, as a member runs: the push device's points count too
    base=$(rss_kib "$VPID")
    apply_sensors "$n" m
    # three fresh readings each (1 s apart, ending now), as sensors that report
    VIGIL_TOKEN=$TOKEN "$LOAD" --port "$VPORT" --sensors "$n" --points 3 --interval-ms 1000 \
        --clients 2 --prefix m --flap-pct 0 >/dev/null
    sleep 6 # one maintenance pass
    after=$(rss_kib "$VPID")
    peak=$(peak_kib "$VPID")
    mem_rows+="$n $base $after $peak"$'\n'
    kill -TERM "$VPID"; wait "$VPID" || true
done

python3 - "$vjson" "$ijson" "$c0" "$c1" "$i0" "$i1" "$vbytes" "$ibytes" "$lat" "$mem_rows" "$raw_bytes" "$raw_points" <<'PY'
import json, sys
v, i = json.loads(sys.argv[1]), json.loads(sys.argv[2])
if v['readings'] > 1:
    vcpu, icpu = float(sys.argv[4]) - float(sys.argv[3]), float(sys.argv[6]) - float(sys.argv[5])
    vb, ib = int(sys.argv[7]), int(sys.argv[8])
    lat = [int(x) for x in sys.argv[9].split()]
    print(f"{'':28}{'vigil':>14}{'influxdb 1.6':>16}{'ratio':>9}")
    print(f"{'readings/s (wall)':28}{v['readings_per_s']:>14,.0f}{i['readings_per_s']:>16,.0f}{v['readings_per_s'] / i['readings_per_s']:>8.2f}x")
    vr, ir = v['readings'] / max(vcpu, 1e-9), i['readings'] / max(icpu, 1e-9)
    print(f"{'readings per CPU second':28}{vr:>14,.0f}{ir:>16,.0f}{vr / ir:>8.2f}x")
    print(f"{'server CPU seconds':28}{vcpu:>14.2f}{icpu:>16.2f}")
    print(f"{'batch p50 / p99 ms':28}{v['batch_p50_ms']:>8.2f}/{v['batch_p99_ms']:<5.2f}{i['batch_p50_ms']:>10.2f}/{i['batch_p99_ms']:<5.2f}")
    rb, rp = int(float(sys.argv[11] or 0)), int(float(sys.argv[12] or 0))
    if rp:
        print(f"{'raw tier bytes per reading':28}{rb / rp:>14.3f}{'':>16}  ({rp:,} readings in closed raw chunks; chunk bytes as vigild counts them)")
    print(f"{'whole store, allocated B/rd':28}{vb / v['readings']:>14.3f}{ib / i['readings']:>16.3f}{(ib / i['readings']) / (vb / v['readings']):>8.2f}x smaller")
    print(f"{'':28}(blocks allocated on disk, du -B1; vigil: raw + 1m + 1h rollups + checkpoint; influx: TSM + WAL)")
    print(f"reading -> rule state change, single pushes under the load: p50 {lat[1]} us, p99 {lat[2]} us, max {lat[3]} us ({lat[0]} changes)")
    print(f"reading -> rule state change, inside 5,000-reading batches: p50 {lat[5]} us, p99 {lat[6]} us, max {lat[7]} us ({lat[4]} changes)")
for row in sys.argv[10].strip().splitlines():
    n, base, after, peak = (int(x) for x in row.split())
    print(f"memory: {n:,} sensors: {(after - base) * 1024 / n:,.0f} bytes per sensor (RSS {base} -> {after} KiB, peak {peak} KiB)")
print("targets: >= 1,000,000 readings/s per core, >= 2x InfluxDB, <= 1.0 byte/reading, rule p99 <= 1 ms, <= 2 KiB/sensor")
PY
