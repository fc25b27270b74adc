#!/usr/bin/env bash
# Facility event -> the company's PostgreSQL taking writes at the other site:
# vigil (a fire at the primary's site, a FailoverPolicy, the postgresql agent)
# against Patroni's `patronictl switchover` on the same kind of PostgreSQL 15
# pair, in one run. See bench/pg_switchover.py and bench/README.md.
#
# Environment (optional): BUILD_DIR (default build), BENCH_TRIALS (default 10),
# BENCH_NO_BUILD=1, BENCH_KEEP=1 (keep the work directory).
# Exit status: 0 target met, 3 runs completed but the target is not met,
# 1 a run failed.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR=${BUILD_DIR:-build}
if [[ "${BENCH_NO_BUILD:-0}" != 1 ]]; then
    bash scripts/deps.sh --bench
    cmake -S . -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
    cmake --build "$BUILD_DIR" -j"$(nproc)" --target vigild vigil >/dev/null
fi
for bin in patroni patronictl etcd /usr/lib/postgresql/15/bin/initdb; do
    command -v "$bin" >/dev/null || { echo "pg_switchover: $bin is missing (bash scripts/deps.sh --bench)" >&2; exit 1; }
done
work=$(mktemp -d "${TMPDIR:-/tmp}/vigil-bench-pg.XXXXXX")
chmod 755 "$work" # PostgreSQL and Patroni run as postgres when this runs as root
[[ "${BENCH_KEEP:-0}" == 1 ]] || trap 'rm -rf "$work"' EXIT
/usr/bin/python3 bench/pg_switchover.py --vigild "$BUILD_DIR/vigild" --vigil "$BUILD_DIR/vigil" \
    --workdir "$work" --trials "${BENCH_TRIALS:-10}" "$@"
