#!/usr/bin/env bash
# vigild's one option parser (src/vigild/options.c): each subcommand's
# --help lists exactly the options of its table (and the flags vigild has
# always taken), every listed option is accepted, --name=value works, and a
# bad command line (unknown flag, missing value, number out of range, bad
# format, missing or extra operand) exits 2 with a message naming the flag,
# having done nothing.
source "$(dirname "$0")/lib.sh"

SRC=${VG_SOURCE:-$(cd "$(dirname "$0")/../.." && pwd)}

# The flags of each subcommand before the parser was shared, plus --help
# (and routes' long --output): none may go missing or appear unnoticed.
declare -A EXPECT=(
    [init]="data help key-file mirror output"
    [run]="allow-core-dumps bootstrap data escalation-minute-ms help http-timeout insecure
           key-file listen log-level mail-from max-connections max-pending-writes max-watchers
           no-collect node public-url request-deadline segment-bytes site smtp snapshot-every
           tls-cert tls-key"
    [witness]="allow-core-dumps data dead-after-ms help insecure-no-tls listen log-level tls-ca
               tls-cert tls-key"
    [probe]="device file help listen-ms polls"
    [inspect]="from help key-file output to"
    [verify]="help key-file"
    [routes]="help output"
)

sorted() { tr ' \n' '\n\n' | grep . | sort | tr '\n' ' '; }

# The option lines of --help: "  -d, --data DIR   text" -> "data DIR".
help_options() {
    awk '/^options:$/ {on = 1; next} on && /^$/ {exit}
         on && match($0, /^  (-[A-Za-z], )?--[a-z-]+( [^ ]+)?/) {
             s = substr($0, RSTART, RLENGTH); sub(/^  (-[A-Za-z], )?--/, "", s); print s }'
}

# The names in the subcommand's table in its source file.
table_options() {
    {
        grep -ozP 'VG_OPT_(FLAG|STRING|FORMAT)\(\s*[^,]+,\s*"\K[a-z-]+' "$1" | tr '\0' '\n'
        grep -ozP 'VG_OPT_NUMBER\(\s*"\K[a-z-]+' "$1" | tr '\0' '\n'
        grep -q 'VG_OPT_LOG_LEVEL' "$1" && echo log-level
        echo help
    } | sorted
}

# --- --help: from the table, the same as ever, and every option accepted
for cmd in "${!EXPECT[@]}"; do
    out=$("$VIGILD" "$cmd" --help 2>"$VG_TMP/help.err") || fail "$cmd --help exited $?"
    [[ ! -s "$VG_TMP/help.err" ]] || fail "$cmd --help wrote to stderr: $(cat "$VG_TMP/help.err")"
    assert_contains "$out" "usage: vigild $cmd" "$cmd --help usage line"
    listed=$(help_options <<<"$out")
    names=$(cut -d' ' -f1 <<<"$listed" | sorted)
    assert_eq "$(sorted <<<"${EXPECT[$cmd]}")" "$names" "$cmd --help lists its flags"
    assert_eq "$(table_options "$SRC/src/vigild/cmd_$cmd.c")" "$names" "$cmd: table = --help"
    while read -r name arg; do
        [[ $name == help ]] && continue
        case $arg in
        "") val=() ;;
        [a-z]*) val=("${arg%%|*}") ;; # formats: text|json
        LEVEL) val=(warn) ;;
        N | S | MS) val=(1) ;;
        *) val=(x) ;;
        esac
        rc=0; "$VIGILD" "$cmd" "--$name" "${val[@]}" --help >"$VG_TMP/o.out" 2>"$VG_TMP/o.err" || rc=$?
        assert_eq 0 "$rc" "$cmd --$name ${val[*]} --help: $(cat "$VG_TMP/o.err")"
        grep -q "^usage: vigild $cmd" "$VG_TMP/o.out" || fail "$cmd --$name: no help after it"
        if ((${#val[@]})); then
            rc=0; "$VIGILD" "$cmd" "--$name=${val[0]}" --help >/dev/null 2>&1 || rc=$?
            assert_eq 0 "$rc" "$cmd --$name=${val[0]}"
        else
            rc=0; "$VIGILD" "$cmd" "--$name=1" --help >/dev/null 2>"$VG_TMP/o.err" || rc=$?
            assert_eq 2 "$rc" "$cmd --$name=1 (a flag with a value)"
            assert_contains "$(cat "$VG_TMP/o.err")" "option '--$name' takes no value" "$cmd --$name=1"
        fi
    done <<<"$listed"
done
pass "every subcommand's --help lists its table, the flags it always had, each accepted"

# usage_error WHAT NEEDLE ARGS...: exit 2, NEEDLE on stderr, the usage line
# after it, nothing on stdout.
usage_error() {
    local what=$1 needle=$2 rc=0
    shift 2
    "$VIGILD" "$@" >"$VG_TMP/u.out" 2>"$VG_TMP/u.err" || rc=$?
    assert_eq 2 "$rc" "$what: exit status"
    assert_contains "$(cat "$VG_TMP/u.err")" "vigild: $needle" "$what: message"
    assert_contains "$(cat "$VG_TMP/u.err")" "Try 'vigild $1 --help'." "$what: usage hint"
    [[ ! -s "$VG_TMP/u.out" ]] || fail "$what: wrote to stdout: $(cat "$VG_TMP/u.out")"
}

D=$VG_TMP/data
# --- unknown options, missing values, flags given values
usage_error "unknown long" "unknown option '--frobnicate'" run --data "$D" --frobnicate
usage_error "unknown =" "unknown option '--frobnicate'" init --data "$D" --frobnicate=1
usage_error "unknown short" "unknown option '-z'" probe -f x -z
usage_error "missing value" "option '--data' needs a value (DIR)" init --data
usage_error "missing short value" "option '--file' needs a value (FILE)" probe -f
usage_error "missing format" "option '--output' needs a value (text|json)" init --data "$D" -o
usage_error "ambiguous" "option '--max' is ambiguous: --max-connections, --max-pending-writes, --max-watchers" \
    run --data "$D" --max 5
[[ ! -e "$D" ]] || fail "a refused command line created $D"
pass "unknown, ambiguous and value-less options refused with exit 2, naming the option"

# --- numbers, levels and formats out of bounds; nothing is created
for bad in 0 1000001 abc -1 "" 1x " 5" +5 99999999999999999999999; do
    usage_error "max-connections '$bad'" "--max-connections '$bad' is not a number from 1 to 1000000" \
        run --data "$D" --max-connections "$bad"
done
usage_error "= form" "--max-connections '0' is not a number from 1 to 1000000" \
    run --data "$D" --max-connections=0
usage_error "request-deadline" "--request-deadline '0' is not a number from 1 to 3600" \
    run --data "$D" --request-deadline 0
usage_error "dead-after-ms" "--dead-after-ms '3600001' is not a number from 1 to 3600000" \
    witness --data "$D" --listen 127.0.0.1:1 --insecure-no-tls --dead-after-ms 3600001
usage_error "polls" "--polls '0' is not a number from 1 to 1000000" probe -f x --polls 0
usage_error "from" "--from 'x' is not a number from 0 to 18446744073709551615" inspect "$D" --from x
usage_error "log level" "unknown log level 'loud'" run --data "$D" --log-level loud
usage_error "format" "--output 'yaml' is not one of: text, json" init --data "$D" -o yaml
usage_error "routes format" "--output 'text' is not one of: json" routes -o text
usage_error "inspect format" "--output 'text' is not one of: json" inspect "$D" --output=text
[[ ! -e "$D" ]] || fail "a refused command line created $D"
pass "out-of-range numbers, unknown levels and formats refused, naming the flag"

# --- required options, operands, options that go together
usage_error "init without --data" "--data DIR is required" init
usage_error "probe without -f" "--file FILE is required" probe --polls 2
usage_error "witness without --listen" "--listen HOST:PORT is required" witness --data "$D" --insecure-no-tls
usage_error "witness TLS half given" "give --tls-cert, --tls-key and --tls-ca, or --insecure-no-tls alone" \
    witness --data "$D" --listen 127.0.0.1:1 --tls-cert x
usage_error "run without either" "give either --data DIR or --node FILE" run
usage_error "run with both" "give either --data DIR or --node FILE" run --data "$D" --node x
usage_error "bootstrap alone" "--bootstrap goes with --node" run --data "$D" --bootstrap
usage_error "mirror alone" "--mirror needs --key-file" init --data "$D" --mirror
usage_error "verify without DATA" "missing DATA" verify
usage_error "verify two DATA" "unexpected argument 'b'" verify a b
usage_error "init operand" "unexpected argument 'extra'" init --data "$D" extra
usage_error "routes operand" "unexpected argument 'x'" routes x
[[ ! -e "$D" ]] || fail "a refused command line created $D"
pass "required options and operands checked"

# --- the accepted forms do what they say: --name=value, short letters,
# options after the operand, "--"
out=$("$VIGILD" init --data="$D" --output=json 2>/dev/null) || fail "init --data=DIR --output=json"
[[ $(jq -r .admin_token <<<"$out") == vgt_* ]] || fail "init --output=json printed: $out"
out=$("$VIGILD" init -d "$D.2" -k "$D/keyring" -o json 2>/dev/null) || fail "init -d -k -o"
cmp -s "$D/keyring" "$D.2/keyring" || fail "init -k did not take the keyring given"
"$VIGILD" verify --key-file="$D/keyring" "$D" >"$VG_TMP/v.out" || fail "verify --key-file=FILE DATA"
assert_contains "$(cat "$VG_TMP/v.out")" "verified '$D'" "verify summary"
"$VIGILD" inspect "$D" --from=1 --to 1 -o json >"$VG_TMP/i.out" || fail "inspect DATA --from=1 --to 1"
assert_eq 1 "$(wc -l <"$VG_TMP/i.out")" "inspect --from 1 --to 1: one record"
assert_eq 1 "$(jq .index "$VG_TMP/i.out")" "inspect --from 1 --to 1: index 1"
"$VIGILD" verify -- "$D" >/dev/null || fail "verify -- DATA"
"$VIGILD" routes -o json | jq -se 'any(.[]; .path == "/healthz")' >/dev/null || fail "routes -o json"
pass "--name=value, short letters, options after operands and -- work"
