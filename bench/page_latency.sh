#!/usr/bin/env bash
# Reading -> page latency: vigil against Prometheus + Alertmanager (Debian's
# packages, at their fastest settings), in one run. See bench/page_latency.py.
#
# Environment (optional): BUILD_DIR (default build), BENCH_TRIALS (vigil,
# default 200), BENCH_PEER_TRIALS (default 30), BENCH_NO_BUILD=1, BENCH_KEEP=1.
# Exit status: 0 target met, 3 runs completed but the target is not met,
# 1 a run failed.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR=${BUILD_DIR:-build}
if [[ "${BENCH_NO_BUILD:-0}" != 1 ]]; then
    bash scripts/deps.sh
    cmake -S . -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
    cmake --build "$BUILD_DIR" -j"$(nproc)" --target vigild >/dev/null
fi
for bin in prometheus prometheus-alertmanager; do
    command -v "$bin" >/dev/null || { echo "page_latency: $bin is not installed (bash scripts/deps.sh)" >&2; exit 1; }
done
work=$(mktemp -d "${TMPDIR:-/tmp}/vigil-bench-page.XXXXXX")
[[ "${BENCH_KEEP:-0}" == 1 ]] || trap 'rm -rf "$work"' EXIT
python3 bench/page_latency.py --vigild "$BUILD_DIR/vigild" --workdir "$work" \
    --trials "${BENCH_TRIALS:-200}" --peer-trials "${BENCH_PEER_TRIALS:-30}"
