#!/usr/bin/env bash
# Every command the docs show exists (issue 14, point 1): each `vigil ...`
# and `vigild ...` line in a code block of the README, docs/*.md and
# bench/README.md names a command (and subcommand) that the binaries list,
# and `vigil explain KIND` works for every kind a doc tells people to
# explain. A doc that points nowhere fails here.
source "$(dirname "$0")/lib.sh"

root=$VG_SOURCE
vigil_cmds=$("$VIGIL" help | awk '/^commands:/ {on = 1; next} on && /^  [a-z]/ {print $1} on && /^$/ {exit}')
vigild_cmds=$("$VIGILD" --help | awk '/^commands:/ {on = 1; next} on && /^  [a-z]/ {print $1} on && /^$/ {exit}')
[[ $vigil_cmds == *apply* && $vigild_cmds == *run* ]] || fail "cannot read the command lists"

# the command lines of the docs' code blocks: "vigil WORD [WORD]"
lines=$(for f in "$root"/README.md "$root"/docs/*.md "$root"/bench/README.md; do
    awk -v f="${f#"$root"/}" '/^```/ {inblock = !inblock; next}
        inblock { sub(/^[$] /, ""); sub(/^ +/, "");
                  if ($1 ~ /^(build\/)?vigild?$/) print f ": " $0 }' "$f"
done)
n=0 bad=()
while IFS= read -r line; do
    [[ -n $line ]] || continue
    where=${line%%: *}
    cmdline=${line#*: }
    read -r bin word sub _ <<<"$cmdline"
    bin=${bin#build/}
    # global options before the command: -s URL, --server URL, --token T, -o F
    set -- $cmdline
    shift
    while [[ ${1:-} == -* ]]; do
        case $1 in -s | --server | --token | --token-file | --cacert | -o | --output) shift 2 ;; *) shift ;; esac
    done
    word=${1:-} sub=${2:-}
    [[ $word =~ ^[a-z][a-z-]*$ ]] || continue # a picture or a placeholder, not a command
    n=$((n + 1))
    if [[ $bin == vigild ]]; then
        grep -qx "$word" <<<"$vigild_cmds" || bad+=("$where: vigild $word")
        continue
    fi
    if ! grep -qx "$word" <<<"$vigil_cmds"; then
        bad+=("$where: vigil $word")
        continue
    fi
    # a command with subcommands: the second word must be one of them
    subs=$("$VIGIL" help "$word" 2>/dev/null | awk '/^commands:/ {on = 1; next} on && /^  [a-z]/ {print $1} on && /^$/ {exit}')
    if [[ -n $subs && -n $sub && $sub != -* && $sub != '#'* ]] && ! grep -qx "$sub" <<<"$subs"; then
        bad+=("$where: vigil $word $sub")
    fi
done <<<"$lines"
((n > 50)) || fail "only $n command lines found in the docs: the extraction is broken"
((${#bad[@]} == 0)) || fail "commands the docs show that do not exist: $(printf '%s; ' "${bad[@]}")"
pass "$n command lines in the docs' code blocks name commands that exist"

# every "vigil explain KIND" a doc mentions explains
vg_init "$VG_TMP/m"
vg_start "$VG_TMP/m" "$(vg_free_port)" --no-collect
export VIGIL_SERVER=http://127.0.0.1:$VG_PORT VIGIL_TOKEN=$VG_TOKEN
kinds=$(grep -ho 'vigil explain [A-Z][A-Za-z]*' "$root"/README.md "$root"/docs/*.md | awk '$3 ~ /[a-z]/ {print $3}' | sort -u)
[[ -n $kinds ]] || fail "no 'vigil explain KIND' in the docs"
for k in $kinds; do
    "$VIGIL" explain "$k" >/dev/null 2>&1 || fail "the docs say 'vigil explain $k', which fails"
done
pass "every 'vigil explain KIND' in the docs works: $(echo $kinds)"
