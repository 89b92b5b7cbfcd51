# Shared by the end-to-end scripts: `check NAME COMMAND...` runs the command and counts a pass or a failure;
# `finish` prints the counts and fails when anything failed. Sourced after `set -u`.
failures=0
passes=0
check() {
    local name=$1; shift
    if "$@"; then echo "ok   $name"; passes=$((passes + 1)); else echo "FAIL $name"; failures=$((failures + 1)); fi
}
finish() {
    echo "$passes passed, $failures failed"
    test "$failures" -eq 0
}
# The common start of the scripts that launch background processes: $bin (NODULECAD), a temporary folder $tmp
# removed at exit unless KEEP is set, and $pids, the background processes a script starts, killed at exit.
start_test() {
    bin=${NODULECAD:?set NODULECAD to the nodulecad binary}
    tmp=$(mktemp -d)
    pids=()
    trap 'for p in "${pids[@]}"; do kill -9 "$p" 2> /dev/null; done; [ -n "${KEEP:-}" ] || rm -rf "$tmp"' EXIT
}
