#!/usr/bin/env bash
# Long fuzzing on demand (the test suite runs each fuzzer for 10 s only).
#
#   bash scripts/fuzz-long.sh --seconds 600            every fuzzer, 10 minutes each
#   bash scripts/fuzz-long.sh --runs 10000000 fuzz_http one fuzzer, 10 million inputs
#   bash scripts/fuzz-long.sh --jobs 2 --runs 10000000  two fuzzers at a time
#
# Builds the clang ASan+UBSan build with the fuzzers (build-asan) if needed,
# runs each fuzzer on its corpus (new inputs go to build-asan/fuzz-corpus,
# crashes to build-asan/fuzz-<name>-crash-*), and prints a table of the
# executions each made and the crashes it found. Exit status 1 if any
# fuzzer crashed.
set -euo pipefail
cd "$(dirname "$0")/.."

seconds=0 runs=0 jobs=1 only=()
while (($#)); do
    case $1 in
    --seconds) seconds=$2; shift 2 ;;
    --runs) runs=$2; shift 2 ;;
    --jobs) jobs=$2; shift 2 ;;
    -h | --help) sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    -*) echo "fuzz-long: unknown option '$1'" >&2; exit 2 ;;
    *) only+=("$1"); shift ;;
    esac
done
if ((seconds == 0 && runs == 0)); then
    echo "fuzz-long: give --seconds S or --runs N (see --help)" >&2
    exit 2
fi

B=build-asan
if [[ ! -f $B/CMakeCache.txt ]] || ! grep -q 'VG_FUZZ:BOOL=ON' $B/CMakeCache.txt; then
    bash scripts/deps.sh
    CC=clang cmake -S . -B $B -DCMAKE_BUILD_TYPE=Debug -DVG_SANITIZE=ON -DVG_FUZZ=ON >/dev/null
fi
cmake --build $B -j"$(nproc)" >/dev/null

fuzzers=()
if ((${#only[@]})); then # in the order given
    for name in "${only[@]}"; do
        [[ -f fuzz/$name.c ]] || { echo "fuzz-long: no fuzzer '$name'" >&2; exit 2; }
        fuzzers+=("$name")
    done
else
    for src in fuzz/fuzz_*.c; do
        fuzzers+=("$(basename "$src" .c)")
    done
fi
((${#fuzzers[@]})) || { echo "fuzz-long: no fuzzer matches ${only[*]}" >&2; exit 2; }

limit=()
((seconds > 0)) && limit+=(-max_total_time="$seconds")
((runs > 0)) && limit+=(-runs="$runs")
logs=$B/fuzz-long
mkdir -p "$logs"

run_one() {
    local name=$1
    mkdir -p "$B/fuzz-corpus/$name"
    ASAN_OPTIONS=detect_leaks=1 "$B/$name" "${limit[@]}" -rss_limit_mb=2048 \
        -print_final_stats=1 -artifact_prefix="$B/fuzz-$name-" \
        "$B/fuzz-corpus/$name" "fuzz/corpus/$name" >"$logs/$name.log" 2>&1
}

echo "fuzz-long: ${#fuzzers[@]} fuzzers, ${limit[*]}, $jobs at a time; logs in $logs/"
declare -A pids
running=0
for name in "${fuzzers[@]}"; do
    (run_one "$name") &
    pids[$!]=$name
    running=$((running + 1))
    if ((running >= jobs)); then
        wait -n || true
        running=$((running - 1))
    fi
done
wait || true

status=0
printf '%-20s %14s %10s %8s\n' fuzzer executions exec/s crashes
for name in "${fuzzers[@]}"; do
    log=$logs/$name.log
    execs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | awk '{print $2}' | tail -1 || true)
    speed=$(grep -o 'stat::average_exec_per_sec: *[0-9]*' "$log" | awk '{print $2}' | tail -1 || true)
    shopt -s nullglob
    found=("$B"/fuzz-"$name"-crash-* "$B"/fuzz-"$name"-leak-* "$B"/fuzz-"$name"-timeout-*)
    shopt -u nullglob
    crashes=${#found[@]}
    if grep -q 'ERROR: libFuzzer\|ERROR: AddressSanitizer\|runtime error' "$log"; then
        crashes=$((crashes > 0 ? crashes : 1))
    fi
    ((crashes == 0)) || status=1
    printf '%-20s %14s %10s %8s\n' "$name" "${execs:-?}" "${speed:-?}" "$crashes"
done
exit $status
