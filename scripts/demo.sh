#!/usr/bin/env bash
# The README's demo: builds vigil and runs a two-site cluster on this
# machine — member dc1 (API 127.0.0.1:7700), member dc2 (API :7710) and the
# witness (:7702), all linked by mutual TLS with a fresh cluster CA — then
# applies the two simulated sites (examples/demo-dc1.yaml, demo-dc2.yaml:
# zones, a simulator device per site and its sensors) and shows the
# cluster and the live sensors, an on-call team whose pages land in a
# local webhook receiver (examples/demo-oncall.yaml), a FailoverPolicy
# (examples/demo-protect.yaml) and the dashboard, with a login printed at
# the end. Each member collects its own site's
# devices; dc2's readings reach the primary over the member link. Ctrl-C
# stops everything cleanly and removes the temporary directory.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j"$(nproc)" --target vigild vigil >/dev/null

dir=$(mktemp -d /tmp/vigil-demo.XXXXXX)
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
    wait 2>/dev/null || true
    rm -rf "$dir"
}
trap cleanup EXIT INT TERM

vigil=$(pwd)/build/vigil
vigild=$(pwd)/build/vigild
"$vigil" pki init --dir "$dir/pki" >/dev/null
for n in dc1 dc2 witness; do "$vigil" pki issue "$n" --dir "$dir/pki" --ip 127.0.0.1 >/dev/null; done
"$vigild" witness --data "$dir/witness" --listen 127.0.0.1:7702 --tls-cert "$dir/pki/witness.crt" \
    --tls-key "$dir/pki/witness.key" --tls-ca "$dir/pki/ca.crt" 2>"$dir/witness.log" &
pids+=($!)
token=$("$vigild" init --data "$dir/dc1" -o json | sed 's/.*"admin_token":"\([^"]*\)".*/\1/')
"$vigild" init --data "$dir/dc2" --key-file "$dir/dc1/keyring" --mirror 2>/dev/null
declare -A api=([dc1]=7700 [dc2]=7710) link=([dc1]=7701 [dc2]=7711)
for n in dc1 dc2; do
    o=$([[ $n == dc1 ]] && echo dc2 || echo dc1)
    cat >"$dir/$n.yaml" <<EOF
name: $n
site: $n
data: $dir/$n
listen: 127.0.0.1:${api[$n]}
peer_listen: 127.0.0.1:${link[$n]}
peer: {name: $o, address: 127.0.0.1:${link[$o]}}
witness: {name: witness, address: 127.0.0.1:7702}
tls: {cert: pki/$n.crt, key: pki/$n.key, ca: pki/ca.crt}
EOF
done
# the on-call person's pager: a local webhook receiver writing each page it
# gets to $dir/pages.jsonl (examples/demo-oncall.yaml points at it)
python3 tests/tools/page_receiver.py --log "$dir/pages.jsonl" --port 7790 >/dev/null 2>&1 &
pids+=($!)
"$vigild" run --node "$dir/dc1.yaml" --bootstrap 2>"$dir/dc1.log" &
pids+=($!)
"$vigild" run --node "$dir/dc2.yaml" 2>"$dir/dc2.log" &
pids+=($!)

export VIGIL_SERVER=http://127.0.0.1:7700,http://127.0.0.1:7710 VIGIL_TOKEN=$token
for _ in $(seq 100); do # until dc2 is mirrored
    curl -fsS -H "Authorization: Bearer $token" http://127.0.0.1:7700/api/v1/cluster 2>/dev/null |
        grep -q '"sync":\["dc1","dc2"\]' && break
    sleep 0.1
done
"$vigil" apply -f examples/demo-dc1.yaml >/dev/null
"$vigil" apply -f examples/demo-dc2.yaml >/dev/null
"$vigil" apply -f examples/demo-oncall.yaml >/dev/null
"$vigil" apply -f examples/demo-protect.yaml >/dev/null
# the dashboard's login: noor, the on-call operator, with a fresh password
password=$(head -c 12 /dev/urandom | base64 | tr -d '/+=')
echo "$password" | "$vigil" passwd noor --role operator >/dev/null
sleep 6 # a few polls of both simulators
"$vigil" get sites
echo
"$vigil" cluster status
echo
"$vigil" facility
cat <<EOT

A two-site vigil cluster is running (logs and data in $dir):
  dc1  http://127.0.0.1:7700   dc2  http://127.0.0.1:7710   witness https://127.0.0.1:7702

Dashboard: http://127.0.0.1:7700/  (either site; log in as noor, password $password)

In another shell:
  export VIGIL_SERVER=$VIGIL_SERVER VIGIL_TOKEN=$token
  $vigil cluster status          # who is primary, lag, witness
  $vigil sensors --site dc2       # live values and states (dc2's reach dc1 over the link)
  $vigil series dc1-hall-a-inlet-1 --from -10m
  $vigil sim dc1-sim cooling-failure   # watch the inlet rise and the prediction fire
  $vigil alerts                  # rule states, recorded on both sites
  $vigil incidents               # what pages people; 'vigil incident ID' for its timeline
  tail -f $dir/pages.jsonl       # the pages the on-call person got (ack links inside)
  $vigil oncall now              # who is on call
  $vigil sim dc1-sim fire        # smoke, VESDA, gas: dc2 takes over by planned switchover
  $vigil protect status          # what the FailoverPolicy watches and decided
  $vigil drill run --switch-back # a DR drill with its report (vigil drill report ID)
  $vigil switchover              # planned switchover by hand
  pkill -9 -f 'vigild run --node $dir/dc1.yaml'   # lose a site: dc2 takes over in ~1 s
  $vigil events                  # what happened
Press Ctrl-C to stop.
EOT
wait "${pids[@]}"
