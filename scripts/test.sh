#!/usr/bin/env bash
# The test command of the README: installs missing Debian packages, builds
# vigil twice (gcc release build; clang ASan+UBSan build with the fuzzers)
# and runs the whole ctest suite in both.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/deps.sh
jobs=$(nproc)

echo "== build (gcc, RelWithDebInfo)"
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j"$jobs"
echo "== tests (release build)"
ctest --test-dir build --output-on-failure -j"$jobs"

if [[ "${VG_SKIP_ASAN:-0}" == 1 ]]; then
    echo "== ASan+UBSan build skipped: VG_SKIP_ASAN=1"
    exit 0
fi
echo "== build (clang, ASan+UBSan, fuzzers)"
CC=clang cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DVG_SANITIZE=ON -DVG_FUZZ=ON >/dev/null
cmake --build build-asan -j"$jobs"
echo "== tests (ASan+UBSan build)"
ctest --test-dir build-asan --output-on-failure -j"$jobs"
