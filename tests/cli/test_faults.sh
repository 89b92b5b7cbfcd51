#!/usr/bin/env bash
# Faults (docs/reliability.md). SIGKILL at seeded moments: `demo --quick` killed at 10 moments, the k-th a seeded few
# milliseconds after its k-th stage finished, and re-run after each kill: its submission, held-out candidates, evaluation
# tables and summary (less the stage timings and the folder's name) are an uninterrupted run's byte for byte, and no
# temporary file is left. The same for `infer` on the demo's bundle, killed at 5 moments. A full disk (`ulimit -f`)
# in each writing stage, then a real one (a small tmpfs filled up, ENOSPC; root only): one line naming the file and the
# cause, exit 1, no temporary file, and with space the same command finishes with the uninterrupted results.
set -u
# shellcheck source=../check.sh
. "$(dirname "$0")/../check.sh"
start_test

if ! "$bin" demo --help > /dev/null 2>&1 || "$bin" demo --help 2>&1 | grep -q 'not in this build'; then
    echo "skipped: this build has no LibTorch"
    exit 0
fi

# Runs demo --quick into $1 and kills it with SIGKILL once $2 of its stages have finished plus a further $3 ms (or
# lets it finish first); returns its exit status. Placing kills by progress, not by time, keeps them spread over the
# stages however loaded the machine is.
demo_killed_after() {
    local out=$1 stages=$2 delay=$3
    "$bin" demo --quick --out "$out" --threads 1 > /dev/null 2>&1 &
    local p=$!; pids+=("$p")
    while kill -0 "$p" 2> /dev/null && [ "$(ls "$out/work/stages" 2> /dev/null | wc -l)" -lt "$stages" ]; do sleep 0.02; done
    sleep "$(seconds "$delay")"
    kill -9 "$p" 2> /dev/null
    wait "$p"
}

# N milliseconds as sleep's seconds (no bc on a minimal system).
seconds() { printf '%d.%03d' $(( $1 / 1000 )) $(( $1 % 1000 )); }

# The summary without its stage timings (the "stages" array comes last) and with the output folder's name taken out.
summary_of() { sed -n '/"stages": \[/q;p' "$1/work/summary.json" | sed "s#$1#OUT#g"; }

"$bin" demo --quick --out "$tmp/ref" --threads 1 > /dev/null 2>&1; rc=$?
check "the uninterrupted demo --quick finishes" test "$rc" -eq 0 -a -s "$tmp/ref/work/submission.csv"

# The same file, but for the output folder's name in it.
same() { test "$(sed "s#$tmp/[a-z_0-9/]*/#OUT/#g" "$1")" = "$(sed "s#$tmp/[a-z_0-9/]*/#OUT/#g" "$2")"; }

# Ten kills, the k-th once k stages have finished (k = 0: while the cohort is generated) and a seeded 0-199 ms more,
# so that they fall all over the stages (cohort, split, preprocessing, U-Net, predictions, candidates, reduction,
# evaluation, report); after each, the same command finishes the job, and its results must be the uninterrupted
# run's.
RANDOM=19
landed=0 right=0
for k in $(seq 0 9); do
    rm -rf "$tmp/killed"
    delay=$(( RANDOM % 200 ))
    demo_killed_after "$tmp/killed" "$k" "$delay"; rc=$?
    [ "$rc" -eq 137 ] && landed=$((landed + 1))
    # Where it landed: the stages finished before the kill.
    echo "     kill $k ($k stages + $delay ms): status $rc, finished before it: $(ls "$tmp/killed/work/stages" 2> /dev/null | sed 's/.json$//' | tr '\n' ' ')"
    "$bin" demo --quick --out "$tmp/killed" --threads 1 > /dev/null 2>&1; rc=$?
    ok=1
    [ "$rc" -eq 0 ] || ok=0
    for f in submission.csv candidates.csv eval/froc.csv eval/summary.json; do same "$tmp/ref/work/$f" "$tmp/killed/work/$f" || ok=0; done
    [ "$(summary_of "$tmp/ref")" = "$(summary_of "$tmp/killed")" ] || ok=0
    [ -z "$(find "$tmp/killed" -name '*.tmp*')" ] || ok=0
    [ "$ok" -eq 1 ] && right=$((right + 1)) || echo "     kill $k: the re-run's results differ (or it failed: status $rc)"
done
check "demo --quick: 10 kills, each re-run gives the uninterrupted run's submission, candidates, FROC and summary" test "$right" -eq 10
check "and at least 8 of them landed before the run's end ($landed)" test "$landed" -ge 8

# A full disk in each writing stage: the demo run without a limit until k stages have finished, then with writes
# limited to 8 KB (`ulimit -f 8`; SIGXFSZ is ignored, so the write fails with EFBIG), which fails at the next stage's
# first larger file. Stderr goes through a pipe, which the limit does not touch.
rm -rf "$tmp/full"
tried=0 clean=0
for k in $(seq 0 10); do
    demo_killed_after "$tmp/full" "$k" 0
    ( ulimit -f 8; exec "$bin" demo --quick --out "$tmp/full" --threads 1 2>&1 > /dev/null ) | cat > "$tmp/full.err"
    rc=${PIPESTATUS[0]}
    [ "$rc" -eq 0 ] && continue  # nothing left to write over 8 KB
    tried=$((tried + 1))
    file=$(tail -n 1 "$tmp/full.err" | sed -n 's/^nodulecad: error: \(.*\): write failed: File too large$/\1/p')
    echo "     full disk after $k stages: status $rc, ${file#"$tmp/full/"}"
    [ "$rc" -eq 1 ] && [ -n "$file" ] && [ "$(grep -c '^nodulecad: error' "$tmp/full.err")" -eq 1 ] && [ ! -d "$file" ] &&
        { [ ! -e "$file" ] || [ "$(wc -c < "$file")" -ne 8192 ]; } && [ -z "$(find "$tmp/full" -name '*.tmp*')" ] && clean=$((clean + 1))
done
check "full disk: each of the $tried failed runs is one line naming the file (File too large), exit 1, no temporary or cut file" test "$clean" -eq "$tried" -a "$tried" -ge 8
# Runs demo --quick into $1 again, with space: it must finish with the uninterrupted run's results.
finishes_as_uninterrupted() {
    "$bin" demo --quick --out "$1" --threads 1 > /dev/null 2>&1 || return 1
    local f
    for f in submission.csv candidates.csv eval/froc.csv eval/summary.json; do same "$tmp/ref/work/$f" "$1/work/$f" || return 1; done
}
check "with space again the same command finishes with the uninterrupted run's results" finishes_as_uninterrupted "$tmp/full"

# The same on a real full file system (ENOSPC rather than EFBIG): a small tmpfs, filled but for 8 KB after k stages.
# Needs root (mount); skipped, saying so, elsewhere.
mkdir -p "$tmp/small"
if [ "$(id -u)" -eq 0 ] && mount -t tmpfs -o size=512m nodulecad-test "$tmp/small" 2> /dev/null; then
    trap 'for p in "${pids[@]}"; do kill -9 "$p" 2> /dev/null; done; umount "$tmp/small" 2> /dev/null; [ -n "${KEEP:-}" ] || rm -rf "$tmp"' EXIT
    tried=0 clean=0
    for k in $(seq 0 10); do
        demo_killed_after "$tmp/small/run" "$k" 0
        free=$(df --output=avail -B1 "$tmp/small" | tail -n 1)
        fallocate -l $(( free - 8192 )) "$tmp/small/filler"
        "$bin" demo --quick --out "$tmp/small/run" --threads 1 > /dev/null 2> "$tmp/enospc.err"; rc=$?
        rm -f "$tmp/small/filler"
        [ "$rc" -eq 0 ] && continue
        tried=$((tried + 1))
        file=$(tail -n 1 "$tmp/enospc.err" | sed -n 's/^nodulecad: error: \(.*\): write failed: No space left on device$/\1/p')
        echo "     no space after $k stages: status $rc, ${file#"$tmp/small/run/"}"
        [ "$rc" -eq 1 ] && [ -n "$file" ] && [ "$(grep -c '^nodulecad: error' "$tmp/enospc.err")" -eq 1 ] && [ ! -d "$file" ] &&
            [ -z "$(find "$tmp/small/run" -name '*.tmp*')" ] && clean=$((clean + 1))
    done
    check "no space left: each of the $tried failed runs is one line naming the file, exit 1, no temporary file" test "$clean" -eq "$tried" -a "$tried" -ge 8
    check "with space again the same command finishes with the uninterrupted run's results" finishes_as_uninterrupted "$tmp/small/run"
    umount "$tmp/small"
else
    echo "skipped: a small file system (mounting a tmpfs needs root)"
fi

# infer on the demo's bundle: killed 5 times, the k-th once k scans have their results (OUT/scans/) and a seeded
# 0-199 ms more, each resumed (per scan) to the uninterrupted tables.
infer=(infer --model "$tmp/ref/work/model" --data "$tmp/ref/cohort" --threads 1)
"$bin" "${infer[@]}" --out "$tmp/inf_ref" > /dev/null 2>&1
right=0 landed=0
for k in $(seq 0 4); do
    rm -rf "$tmp/inf_killed"
    "$bin" "${infer[@]}" --out "$tmp/inf_killed" > /dev/null 2>&1 &
    p=$!; pids+=("$p")
    while kill -0 "$p" 2> /dev/null && [ "$(ls "$tmp/inf_killed/scans" 2> /dev/null | grep -c '\.csv$')" -lt "$k" ]; do sleep 0.02; done
    sleep "$(seconds $(( RANDOM % 200 )))"
    kill -9 "$p" 2> /dev/null
    wait "$p"; [ $? -eq 137 ] && landed=$((landed + 1))
    "$bin" "${infer[@]}" --out "$tmp/inf_killed" > /dev/null 2>&1 && cmp -s "$tmp/inf_ref/candidates.csv" "$tmp/inf_killed/candidates.csv" &&
        cmp -s "$tmp/inf_ref/submission.csv" "$tmp/inf_killed/submission.csv" && right=$((right + 1))
done
check "infer: 5 kills ($landed before its end), each resumed to the uninterrupted run's candidates.csv and submission.csv" test "$right" -eq 5

finish
