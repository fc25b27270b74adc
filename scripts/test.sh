#!/usr/bin/env bash
# The test command of the README: installs missing Debian packages, builds
# vigil twice (gcc release build; clang ASan+UBSan build with the fuzzers)
# and runs the whole ctest suite in both. Each run ends with the list of
# tests that skipped (exit 77) and why; with CI=true (or VG_STRICT_SKIPS=1)
# a skip that tests/skip-allowed.txt does not allow fails the run.
set -euo pipefail
cd "$(dirname "$0")/.."

strict=()
if [[ "${CI:-}" == true || "${VG_STRICT_SKIPS:-0}" == 1 ]]; then
    strict=(--strict)
fi

# run_tests BUILD_DIR LABEL: ctest, then the skipped tests and their reasons.
run_tests() {
    local junit=$PWD/$1/ctest-junit.xml rc=0 src=0
    rm -f "$junit"
    ctest --test-dir "$1" --output-on-failure -j"$jobs" --output-junit "$junit" || rc=$?
    python3 scripts/ctest_skips.py --junit "$junit" --allow tests/skip-allowed.txt \
        --label "$2" "${strict[@]}" || src=$?
    ((rc == 0)) || return "$rc"
    return "$src"
}

bash scripts/deps.sh
jobs=$(nproc)

echo "== build (gcc, RelWithDebInfo)"
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j"$jobs"
echo "== tests (release build)"
run_tests build "release build"

if [[ "${VG_SKIP_ASAN:-0}" == 1 ]]; then
    echo "== ASan+UBSan build skipped: VG_SKIP_ASAN=1"
    exit 0
fi
echo "== build (clang, ASan+UBSan, fuzzers)"
CC=clang cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DVG_SANITIZE=ON -DVG_FUZZ=ON >/dev/null
cmake --build build-asan -j"$jobs"
echo "== tests (ASan+UBSan build)"
run_tests build-asan "ASan+UBSan build"
