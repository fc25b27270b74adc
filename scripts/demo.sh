#!/usr/bin/env bash
# The README's demo: builds vigil and runs a two-site cluster on this
# machine — member dc1 (API https://127.0.0.1:7700), member dc2 (API :7710)
# and the witness (:7702), the member link and the witness on mutual TLS and
# the client API on HTTPS, all with a fresh cluster CA — then applies the
# two simulated sites (examples/demo-dc1.yaml, demo-dc2.yaml: six zones, two
# simulated devices and about 110 sensors per site) and shows the
# cluster and the live sensors, an on-call team whose pages land in a
# local webhook receiver (examples/demo-oncall.yaml), a FailoverPolicy
# (examples/demo-protect.yaml) and the dashboard, with a login printed at
# the end. Each member collects its own site's
# devices; dc2's readings reach the primary over the member link.
# `vigil demo scenario NAME` plays the story (fire, cooling failure, a member
# killed, a partition); it finds the demo by VIGIL_DEMO_DIR, and reads there
# the node files, the members' pid files (NAME.pid), the CA and the token.
# Ctrl-C stops everything cleanly and removes the temporary directory.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j"$(nproc)" --target vigild vigil >/dev/null

dir=$(mktemp -d /tmp/vigil-demo.XXXXXX)
pids=()
cleanup() {
    # a member `vigil demo heal` restarted is not our child: its pid file says
    for f in "$dir"/dc1.pid "$dir"/dc2.pid; do
        if [[ -f $f ]]; then pids+=("$(cat "$f")"); fi
    done
    for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
    # a partition left behind (vigil demo scenario partition) is undone too
    nft delete table inet vigil_demo_7701_7711 2>/dev/null || true
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
(umask 077 && echo "$token" >"$dir/token") # for vigil demo, when VIGIL_TOKEN is not set
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
api_tls: true
EOF
done
# the on-call person's pager: a local webhook receiver writing each page it
# gets to $dir/pages.jsonl (examples/demo-oncall.yaml points at it) and
# printing a line for it here
python3 tests/tools/page_receiver.py --log "$dir/pages.jsonl" --port 7790 --print >/dev/null &
pids+=($!)
"$vigild" run --node "$dir/dc1.yaml" --bootstrap 2>"$dir/dc1.log" &
pids+=($!)
echo $! >"$dir/dc1.pid"
"$vigild" run --node "$dir/dc2.yaml" 2>"$dir/dc2.log" &
pids+=($!)
echo $! >"$dir/dc2.pid"

export VIGIL_SERVER=https://127.0.0.1:7700,https://127.0.0.1:7710 VIGIL_TOKEN=$token
export VIGIL_CACERT=$dir/pki/ca.crt VIGIL_DEMO_DIR=$dir
for _ in $(seq 100); do # until dc2 is mirrored
    curl -fsS --cacert "$VIGIL_CACERT" -H "Authorization: Bearer $token" \
        https://127.0.0.1:7700/api/v1/cluster 2>/dev/null |
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
  dc1  https://127.0.0.1:7700   dc2  https://127.0.0.1:7710   witness https://127.0.0.1:7702
  every link is TLS with the demo's own CA: $VIGIL_CACERT

Dashboard: https://127.0.0.1:7700/  (either site; log in as noor, password $password;
  the browser warns about the demo's own CA: accept it, or import $VIGIL_CACERT)

In another shell:
  export PATH=$(pwd)/build:\$PATH
  export VIGIL_SERVER=$VIGIL_SERVER VIGIL_TOKEN=$token
  export VIGIL_CACERT=$VIGIL_CACERT VIGIL_DEMO_DIR=$dir
  vigil cluster status                     # who is primary, lag, witness
  vigil facility                           # both sites: PUE, alerts, devices
  vigil sensors --site dc2                 # live values (dc2's reach dc1 over the link)
  vigil demo scenario --list               # the story, one scenario at a time:
  vigil demo scenario fire-dc1             #   fire at dc1: dc2 takes over, noor paged
  vigil demo scenario cooling-failure-dc2  #   the inlet forecast fires before the room is hot
  vigil demo scenario kill-dc1             #   lose a site's vigild (SIGKILL)
  vigil demo scenario partition            #   cut the member link (as root)
  vigil demo heal                          # undo them all
  vigil alerts                             # rule states, recorded on both sites
  vigil incidents                          # what pages people; 'vigil incident ID' for its timeline
  tail -f $dir/pages.jsonl                 # every page in full (each also shows below as a PAGE line)
  vigil protect status                     # what the FailoverPolicy watches and decided
  vigil drill run --switch-back            # a DR drill with its report
  vigil events                             # what happened
Press Ctrl-C to stop.
EOT
# until Ctrl-C (a member may be killed and restarted meanwhile: not a reason to stop)
while :; do sleep 1; done
