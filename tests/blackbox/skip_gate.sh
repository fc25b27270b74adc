#!/usr/bin/env bash
# The skip gate of scripts/test.sh (scripts/ctest_skips.py) on a real ctest
# run of a tiny project: a test that exits 77 is listed with the reason it
# printed; under --strict (CI=true) a skip fails the run unless
# tests/skip-allowed.txt's format names it with a reason, and a skip that
# printed no reason fails even when allowed; a malformed allow-list is an
# error. Needs no vigild.
source "$(dirname "$0")/lib.sh"
GATE="python3 ${VG_SOURCE:-$(cd "$(dirname "$0")/../.." && pwd)}/scripts/ctest_skips.py"
P=$VG_TMP/proj
mkdir -p "$P"
cat >"$P/CMakeLists.txt" <<'EOF'
cmake_minimum_required(VERSION 3.20)
project(gate NONE)
enable_testing()
add_test(NAME t/says COMMAND sh -c "echo working; echo 'SKIP: no frobnicator here' >&2; exit 77")
add_test(NAME t/mute COMMAND sh -c "echo working; exit 77")
add_test(NAME t/runs COMMAND sh -c "echo fine")
set_tests_properties(t/says t/mute PROPERTIES SKIP_RETURN_CODE 77)
EOF
cmake -S "$P" -B "$P/b" >"$VG_TMP/cmake.log" 2>&1 || fail "cmake: $(cat "$VG_TMP/cmake.log")"
ctest --test-dir "$P/b" --output-junit "$P/j.xml" >"$VG_TMP/ctest.log" 2>&1 || fail "ctest: $(cat "$VG_TMP/ctest.log")"

gate() { # EXPECTED_RC ALLOW_TEXT [--strict]: runs the gate; output in $out
    local want=$1 rc=0
    printf '%s\n' "$2" >"$VG_TMP/allow.txt"
    shift 2
    out=$($GATE --junit "$P/j.xml" --allow "$VG_TMP/allow.txt" "$@" 2>&1) || rc=$?
    assert_eq "$want" "$rc" "gate exit status (allow-list '$(head -c 60 "$VG_TMP/allow.txt")' $*): $out"
}

gate 0 "# nothing allowed"
assert_contains "$out" "2 of 3 tests did not run" "the count of skips"
assert_contains "$out" "t/says (SKIP_RETURN_CODE=77)" "the skipped test"
assert_contains "$out" "SKIP: no frobnicator here" "the reason it printed"
assert_contains "$out" "t/mute (SKIP_RETURN_CODE=77)  [no reason printed]" "a skip without a reason"
[[ $out != *t/runs* ]] || fail "a test that ran is listed as skipped: $out"
pass "without --strict: skips are listed with their reasons and do not fail the run"

gate 1 "# nothing allowed" --strict
assert_contains "$out" "FAILED: 2 test(s)" "strict with nothing allowed"
assert_contains "$out" "t/says t/mute" "strict names the skips"
gate 1 "t/says  # the frobnicator is optional" --strict
assert_contains "$out" "[allowed: the frobnicator is optional]" "an allowed skip is marked"
assert_contains "$out" "FAILED: 1 test(s)" "the mute skip still fails"
gate 1 $'t/says  # optional\nt/mute  # optional too' --strict
assert_contains "$out" "FAILED: 1 test(s) skipped that" "an allowed skip without a reason"
gate 2 "t/says" --strict
assert_contains "$out" "want 'TEST-NAME  # why it may skip'" "an entry without a reason"
pass "--strict: an unlisted skip, and a skip that says nothing, fail the run; entries need a reason"

# the project's own list parses and every entry has its reason
$GATE --junit "$P/j.xml" --allow "${VG_SOURCE:-.}/tests/skip-allowed.txt" >/dev/null ||
    fail "tests/skip-allowed.txt does not parse"
rm -f "$P/j.xml"
gate 2 "# nothing allowed"
pass "tests/skip-allowed.txt parses; a missing JUnit file is an error, not 'no skips'"
