#!/usr/bin/env bash
# The README's demo: builds vigil, starts a standalone member on
# 127.0.0.1:7700 with a fresh data dir, applies the example sites and zones,
# and shows them. Ctrl-C stops the member cleanly.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j"$(nproc)" --target vigild vigil >/dev/null

port=${VIGIL_DEMO_PORT:-7700}
data=$(mktemp -d /tmp/vigil-demo.XXXXXX)/data
token=$(build/vigild init --data "$data" 2>/dev/null | sed 's/^admin token: //')
build/vigild run --data "$data" --listen "127.0.0.1:$port" &
pid=$!
trap 'kill -TERM $pid 2>/dev/null; wait $pid 2>/dev/null; rm -rf "$(dirname "$data")"' EXIT INT TERM
for _ in $(seq 100); do
    curl -fsS "http://127.0.0.1:$port/readyz" >/dev/null 2>&1 && break
    sleep 0.05
done

export VIGIL_SERVER=http://127.0.0.1:$port VIGIL_TOKEN=$token
build/vigil apply -f examples/sites.yaml
echo
build/vigil get sites
echo
build/vigil get zones -l site=dc1
echo
build/vigil status
cat <<EOT

vigil is running on http://127.0.0.1:$port (data in $data).
In another shell:
  export VIGIL_SERVER=$VIGIL_SERVER VIGIL_TOKEN=$token
  $(pwd)/build/vigil get zones -o yaml
  $(pwd)/build/vigil watch
Press Ctrl-C to stop.
EOT
wait $pid
