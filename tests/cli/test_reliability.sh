#!/usr/bin/env bash
# Stopping and sharing, through the real binary (docs/reliability.md): SIGINT and SIGTERM end a run with one line and
# exit status 130 / 143, leaving no temporary file, and the same command resumes; a second process in a work folder
# that one holds is refused at once, naming the holder's pid, and a killed holder leaves no stale lock.
set -u
set -m  # background jobs get their own process group and keep SIGINT (a script's background jobs ignore it otherwise)
# shellcheck source=../check.sh
. "$(dirname "$0")/../check.sh"
start_test

if ! "$bin" train --help > /dev/null 2>&1 || ! "$bin" train --help 2>&1 | grep -q -- '--resume'; then
    echo "skipped: this build has no LibTorch"
    exit 0
fi

"$bin" synth --out "$tmp/cohort" --scans 2 --preset small --seed 3 --threads 2 2> /dev/null
"$bin" preprocess --data "$tmp/cohort" --out "$tmp/prep" --size 64 --pixel-mm 5 2> /dev/null
train=(train --data "$tmp/prep" --filters 4 --depth 3 --batch 2 --threads 1)

# Waits (up to 60 s) until FILE exists.
wait_for() { for _ in $(seq 1 300); do [ -e "$1" ] && return 0; sleep 0.2; done; return 1; }

for sig in INT TERM; do
    code=$([ "$sig" = INT ] && echo 130 || echo 143)
    run="$tmp/run_$sig"
    "$bin" "${train[@]}" --out "$run" --epochs 1000 2> "$tmp/$sig.err" &
    p=$!; pids+=("$p")
    wait_for "$run/last.pt"
    check "SIG$sig: the run is training" test -s "$run/last.pt"
    # A second run into the same folder is refused at once, naming the first.
    "$bin" "${train[@]}" --out "$run" --epochs 1 2> "$tmp/second.err"; rc=$?
    check "SIG$sig: a second run into RUN exits 1" test "$rc" -eq 1
    check "SIG$sig: naming the first's pid" grep -q "^nodulecad: error: $run is in use by another nodulecad process (pid $p: training); wait for it to end" "$tmp/second.err"
    kill -"$sig" "$p"
    wait "$p"; rc=$?
    check "SIG$sig: exit status $code" test "$rc" -eq "$code"
    check "SIG$sig: one line saying how to resume" sh -c "tail -n 1 '$tmp/$sig.err' | tr '\r' '\n' | tail -n 1 | grep -q '^nodulecad: interrupted (SIG$sig): run the same command to resume$'"
    check "SIG$sig: no temporary file left" test -z "$(find "$run" -name '*.tmp*')"
    done_epochs=$(($(wc -l < "$run/metrics.csv") - 1))
    # last.pt is written after its epoch's row, so a signal between the two leaves one row more, never one less.
    saved=$("$bin" info "$run/last.pt" | grep -o '"epoch":[0-9]*' | cut -d: -f2)
    consistent=no
    [ -n "$saved" ] && [ "$done_epochs" -ge "$saved" ] && [ "$done_epochs" -le $((saved + 1)) ] && consistent=yes
    check "SIG$sig: metrics.csv has a row for every epoch last.pt holds ($done_epochs rows, epoch $saved)" test "$consistent" = yes
    "$bin" train --resume "$run" --epochs $((done_epochs + 1)) --threads 1 2> /dev/null; rc=$?
    check "SIG$sig: the same run resumes and finishes its next epoch" sh -c "test $rc -eq 0 && test \$(wc -l < '$run/metrics.csv') -eq $((done_epochs + 2))"
done

# A holder killed with SIGKILL leaves no stale lock: the next run takes the folder.
"$bin" "${train[@]}" --out "$tmp/killed" --epochs 1000 2> /dev/null &
p=$!; pids+=("$p")
wait_for "$tmp/killed/last.pt"
kill -9 "$p"; wait "$p" 2> /dev/null
check "the lock file stays behind" test -e "$tmp/killed/.nodulecad.lock"
"$bin" train --resume "$tmp/killed" --epochs $(($(wc -l < "$tmp/killed/metrics.csv"))) --threads 1 2> "$tmp/err.txt"; rc=$?
check "but no longer holds: the next run resumes" test "$rc" -eq 0

# run: one process per work folder (a fold's job locks its fold's folder instead).
"$bin" run --data "$tmp/cohort" --out "$tmp/work" --test-fraction 0.5 --epochs 1000 --threads 1 2> /dev/null &
p=$!; pids+=("$p")
wait_for "$tmp/work/.nodulecad.lock"
sleep 1
"$bin" run --data "$tmp/cohort" --out "$tmp/work" --test-fraction 0.5 --threads 1 2> "$tmp/err.txt"; rc=$?
check "a second run on WORK exits 1 naming the first" sh -c "test $rc -eq 1 && grep -q '^nodulecad: error: $tmp/work is in use by another nodulecad process (pid $p: run)' '$tmp/err.txt'"
kill -9 "$p"; wait "$p" 2> /dev/null

finish
