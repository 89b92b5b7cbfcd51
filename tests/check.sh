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
