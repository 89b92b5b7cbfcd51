#!/usr/bin/env bash
# Training as several ranks, launched by hand as torchrun and srun would (RANK, WORLD_SIZE, MASTER_ADDR,
# MASTER_PORT; Gloo over 127.0.0.1): two real processes train; a rank killed mid-run makes the other exit with a
# message naming it, within the timeout; bad launches are one-line errors. docs/distributed.md.
set -u
# shellcheck source=../check.sh
. "$(dirname "$0")/../check.sh"
start_test

if ! "$bin" train --help 2>&1 | grep -q -- '--dist-timeout'; then
    echo "skipped: this build has no LibTorch"
    exit 0
fi
# A port nothing listens on: the kernel's pick for a socket bound to port 0 (bash cannot bind; the shell's own
# range is the fallback).
port() { echo $((20000 + (RANDOM % 20000))); }

"$bin" synth --out "$tmp/cohort" --scans 2 --preset small --seed 3 --threads 2 2> /dev/null
"$bin" preprocess --data "$tmp/cohort" --out "$tmp/prep" --size 64 --pixel-mm 5 2> /dev/null
check "a dataset to train on" test -s "$tmp/prep/images.npy"
train=(train --data "$tmp/prep" --filters 4 --depth 3 --batch 2 --threads 1)

# Two ranks, one run folder: both exit 0, rank 0 alone speaks and writes.
p=$(port)
RANK=1 WORLD_SIZE=2 LOCAL_RANK=1 MASTER_ADDR=127.0.0.1 MASTER_PORT=$p "$bin" "${train[@]}" --out "$tmp/run" --epochs 2 2> "$tmp/r1.err" &
r1=$!; pids+=("$r1")
RANK=0 WORLD_SIZE=2 LOCAL_RANK=0 MASTER_ADDR=127.0.0.1 MASTER_PORT=$p "$bin" "${train[@]}" --out "$tmp/run" --epochs 2 2> "$tmp/r0.err"; rc0=$?
wait "$r1"; rc1=$?
check "rank 0 exits 0" test "$rc0" -eq 0
check "rank 1 exits 0" test "$rc1" -eq 0
check "rank 0 reports both epochs" test "$(grep -c '^epoch [12]:' "$tmp/r0.err")" -eq 2
check "rank 1 prints nothing" test ! -s "$tmp/r1.err"
for f in last.pt best.pt metrics.csv config.json; do check "rank 0 writes $f" test -s "$tmp/run/$f"; done
check "metrics has both epochs" test "$(wc -l < "$tmp/run/metrics.csv")" -eq 3

# train-fpr as two ranks: rank 0 cuts the patch set into the shared run folder, rank 1 waits and opens it.
# Candidates: the truth masks' nodules (positives) and copies 40 mm away (negatives).
mkdir -p "$tmp/truthpred"
for f in "$tmp"/cohort/truth/*_nodules.mhd; do
    u=$(basename "$f" _nodules.mhd)
    cp "$f" "$tmp/truthpred/${u}_prob.mhd"
    cp "${f%.mhd}.zraw" "$tmp/truthpred/"
done
"$bin" detect --pred "$tmp/truthpred" --out "$tmp/cands.csv" --threshold 0.001 2> /dev/null
awk -F, 'BEGIN { OFS = "," } NR == 1 { print; next } { print; $4 = $4 + 40; $5 = 0.3; print }' "$tmp/cands.csv" > "$tmp/fpr_cands.csv"
fpr=(train-fpr --data "$tmp/cohort" --candidates "$tmp/fpr_cands.csv" --out "$tmp/fpr" --epochs 2 --patch 16 --width 4 --val-fraction 0.5 --threads 1)
p=$(port)
RANK=1 WORLD_SIZE=2 MASTER_ADDR=127.0.0.1 MASTER_PORT=$p "$bin" "${fpr[@]}" 2> "$tmp/f1.err" &
f1=$!; pids+=("$f1")
RANK=0 WORLD_SIZE=2 MASTER_ADDR=127.0.0.1 MASTER_PORT=$p "$bin" "${fpr[@]}" 2> "$tmp/f0.err"; rc0=$?
wait "$f1"; rc1=$?
check "train-fpr ranks exit 0" test "$rc0" -eq 0 -a "$rc1" -eq 0
check "train-fpr rank 0 reports the patch set and both epochs" sh -c "grep -q '^train-fpr: .* patches' '$tmp/f0.err' && test \$(grep -c '^epoch [12]:' '$tmp/f0.err') -eq 2"
check "train-fpr rank 1 prints nothing" test ! -s "$tmp/f1.err"
for f in last.pt best.pt metrics.csv patches.npy patches.json; do check "train-fpr rank 0 writes $f" test -s "$tmp/fpr/$f"; done

# predict in shards (by --shard, and by the launcher's rank): the same files, byte for byte, as one run.
"$bin" predict --model "$tmp/run/best.pt" --data "$tmp/cohort" --out "$tmp/pred_all" --threads 1 2> /dev/null
"$bin" predict --model "$tmp/run/best.pt" --data "$tmp/cohort" --out "$tmp/pred_sh" --threads 1 --shard 0/2 2> "$tmp/sh0.err"; rc0=$?
# (shards need no rendezvous: RANK and WORLD_SIZE alone will do)
RANK=1 WORLD_SIZE=2 "$bin" predict --model "$tmp/run/best.pt" --data "$tmp/cohort" --out "$tmp/pred_sh" --threads 1 2> "$tmp/sh1.err"; rc1=$?
check "predict shards exit 0" test "$rc0" -eq 0 -a "$rc1" -eq 0
check "each shard did one scan" sh -c "grep -q '^shard 0/2: predicted .* of 1 scans' '$tmp/sh0.err' && grep -q '^shard 1/2: predicted .* of 1 scans' '$tmp/sh1.err'"
same=0
for f in "$tmp"/pred_all/*; do cmp -s "$f" "$tmp/pred_sh/$(basename "$f")" && same=$((same + 1)); done
check "the shards' files are the single run's (4 files: 2 scans x .mhd/.raw)" test "$same" -eq 4 -a "$(ls "$tmp/pred_sh" | wc -l)" -eq 4
"$bin" predict --model "$tmp/run/best.pt" --data "$tmp/cohort" --out "$tmp/pred_bad" --shard 3/2 2> "$tmp/err.txt"; rc=$?
check "--shard 3/2 exits 1 with one line" sh -c "test $rc -eq 1 && test \$(wc -l < '$tmp/err.txt') -eq 1 && grep -q -- '--shard needs K below N' '$tmp/err.txt'"
check "and writes nothing" test ! -e "$tmp/pred_bad"

# detect in shards: from probability volumes (one shard by --shard, one by the launcher's rank), and rescoring a
# table with the false-positive reduction: OUT once the set is complete, byte for byte one run's.
"$bin" detect --pred "$tmp/pred_all" --out "$tmp/det_all.csv" --threshold 0.01 2> /dev/null
RANK=1 WORLD_SIZE=2 "$bin" detect --pred "$tmp/pred_all" --out "$tmp/det_sh.csv" --threshold 0.01 2> "$tmp/d1.err"; rc1=$?
check "detect shard 1/2 (RANK/WORLD_SIZE) exits 0 and leaves OUT to the other" sh -c "test $rc1 -eq 0 && test ! -e '$tmp/det_sh.csv' && grep -q '^detect shard 1/2: .* from 1 scan -> .*det_sh.csv.parts/.* waits for the other shards' '$tmp/d1.err'"
"$bin" detect --pred "$tmp/pred_all" --out "$tmp/det_sh.csv" --threshold 0.01 --shard 0/2 2> "$tmp/d0.err"; rc0=$?
check "detect shard 0/2 completes the set" sh -c "test $rc0 -eq 0 && grep -q 'every scan.s part is in, so -> .*det_sh.csv' '$tmp/d0.err'"
check "the sharded table is the single run's" cmp -s "$tmp/det_all.csv" "$tmp/det_sh.csv"
check "with candidates in it" test "$(wc -l < "$tmp/det_all.csv")" -gt 1
rescore=(detect --candidates "$tmp/fpr_cands.csv" --fpr "$tmp/fpr/best.pt" --data "$tmp/cohort" --threads 1)
"$bin" "${rescore[@]}" --out "$tmp/res_all.csv" 2> /dev/null
for k in 2 0 1; do "$bin" "${rescore[@]}" --out "$tmp/res_sh.csv" --shard $k/3 2> /dev/null; done
check "rescoring in 3 shards (one without a scan) = one run" cmp -s "$tmp/res_all.csv" "$tmp/res_sh.csv"

# train-3d as two ranks: rank 0 builds RUN/grid3d while rank 1 waits; then detect --detector3d in two shards.
t3=(train-3d --data "$tmp/cohort" --out "$tmp/run3d" --epochs 2 --grid-mm 4 --filters 4 --depth 2 --patch 16 --epoch-samples 8 --val-fraction 0.5 --threads 1 --nodule-mining --hard-mining-patches 4 --scale-augment 0.2 --contrast-augment 0.1)
p=$(port)
RANK=1 WORLD_SIZE=2 MASTER_ADDR=127.0.0.1 MASTER_PORT=$p "$bin" "${t3[@]}" 2> "$tmp/t1.err" &
t1=$!; pids+=("$t1")
RANK=0 WORLD_SIZE=2 MASTER_ADDR=127.0.0.1 MASTER_PORT=$p "$bin" "${t3[@]}" 2> "$tmp/t0.err"; rc0=$?
wait "$t1"; rc1=$?
check "train-3d ranks exit 0" test "$rc0" -eq 0 -a "$rc1" -eq 0
check "train-3d rank 0 reports the boxes and both epochs" sh -c "grep -q '^train-3d: 2 lung boxes at 4 mm (1 validation patients' '$tmp/t0.err' && test \$(grep -c '^epoch [12]:' '$tmp/t0.err') -eq 2"
check "train-3d rank 1 prints nothing" test ! -s "$tmp/t1.err"
for f in last.pt best.pt metrics.csv config.json grid3d/dataset.json nodule_scores_2.json; do check "train-3d rank 0 writes $f" test -s "$tmp/run3d/$f"; done
check "train-3d's config holds --nodule-mining, --hard-mining-patches and the augmentation" sh -c "grep -q '\"nodule_mining\": true' '$tmp/run3d/config.json' && grep -q '\"hard_mining_patches\": 4,' '$tmp/run3d/config.json' && grep -q '\"scale_augment\": 0.2' '$tmp/run3d/config.json' && grep -q '\"contrast_augment\": 0.1' '$tmp/run3d/config.json'"
check "and the training nodules' scores after epoch 2, each in [0, 1]" sh -c "tr -d '[]\n' < '$tmp/run3d/nodule_scores_2.json' | tr ',' '\n' | awk '\$1 < 0 || \$1 > 1 { bad = 1 } END { exit bad || NR < 1 }'"
d3=(detect --detector3d "$tmp/run3d/best.pt" --data "$tmp/cohort" --threshold 0 --max-per-scan 5 --flips 2 --threads 1)
"$bin" "${d3[@]}" --out "$tmp/d3_all.csv" 2> /dev/null
"$bin" "${d3[@]}" --out "$tmp/d3_sh.csv" --shard 1/2 2> /dev/null
"$bin" "${d3[@]}" --out "$tmp/d3_sh.csv" --shard 0/2 2> /dev/null
check "detect --detector3d: 5 candidates on each of the 2 scans" test "$(wc -l < "$tmp/d3_all.csv")" -eq 11
check "and its 2 shards write the same table" cmp -s "$tmp/d3_all.csv" "$tmp/d3_sh.csv"

# Killing one of two ranks: the other exits non-zero within the timeout, naming it.
p=$(port)
RANK=1 WORLD_SIZE=2 MASTER_ADDR=127.0.0.1 MASTER_PORT=$p "$bin" "${train[@]}" --out "$tmp/kill" --epochs 1000 --dist-timeout 20 2> "$tmp/k1.err" &
k1=$!; pids+=("$k1")
RANK=0 WORLD_SIZE=2 MASTER_ADDR=127.0.0.1 MASTER_PORT=$p "$bin" "${train[@]}" --out "$tmp/kill" --epochs 1000 --dist-timeout 20 2> "$tmp/k0.err" &
k0=$!; pids+=("$k0")
for _ in $(seq 1 300); do [ -s "$tmp/kill/metrics.csv" ] && break; sleep 0.2; done
check "the two ranks are training" test -s "$tmp/kill/metrics.csv"
kill -9 "$k1"
start=$(date +%s)
wait "$k0"; rc=$?
took=$(( $(date +%s) - start ))
check "the surviving rank exits 1" test "$rc" -eq 1
check "within the 20 s timeout ($took s)" test "$took" -le 25
check "it names the rank that ended" sh -c "tail -n 1 '$tmp/k0.err' | grep -q '^nodulecad: error: rank 0 of 2: lost the other ranks during .*(rank 1 ended'"
check "in one line after its progress" test "$(grep -vc '^train epoch' "$tmp/k0.err")" -eq 1

# Bad launches: one-line errors, exit 1, nothing written.
RANK=0 WORLD_SIZE=2 "$bin" "${train[@]}" --out "$tmp/bad" --epochs 1 2> "$tmp/err.txt"; rc=$?
check "WORLD_SIZE without MASTER_ADDR exits 1" test "$rc" -eq 1
check "and says what to export" grep -q '^nodulecad: error: WORLD_SIZE=2 is set but MASTER_ADDR is not' "$tmp/err.txt"
check "and writes nothing" test ! -e "$tmp/bad"
RANK=2 WORLD_SIZE=2 MASTER_ADDR=127.0.0.1 MASTER_PORT=1 "$bin" "${train[@]}" --out "$tmp/bad" --epochs 1 2> "$tmp/err.txt"; rc=$?
check "RANK >= WORLD_SIZE exits 1" test "$rc" -eq 1 -a "$(wc -l < "$tmp/err.txt")" -eq 1
# A port in use: rank 0 of a first job holds it (waiting for its rank 1); a second rank 0 on it cannot open its store.
p=$(port)
RANK=0 WORLD_SIZE=2 MASTER_ADDR=127.0.0.1 MASTER_PORT=$p "$bin" "${train[@]}" --out "$tmp/first" --epochs 1 --dist-timeout 30 2> /dev/null &
holder=$!; pids+=("$holder")
sleep 2
RANK=0 WORLD_SIZE=2 MASTER_ADDR=127.0.0.1 MASTER_PORT=$p "$bin" "${train[@]}" --out "$tmp/second" --epochs 1 --dist-timeout 5 2> "$tmp/err.txt"; rc=$?
kill -9 "$holder" 2> /dev/null
check "a port in use exits 1" test "$rc" -eq 1
check "and names the port" grep -q "^nodulecad: error: rank 0 of 2: cannot open the rendezvous store on port $p (in use?)" "$tmp/err.txt"
check "in one line" test "$(wc -l < "$tmp/err.txt")" -eq 1
# Commands that neither train as ranks nor take a shard of the scans refuse rather than repeat their work in every rank.
RANK=0 WORLD_SIZE=2 "$bin" evaluate --annotations "$tmp/cohort/annotations.csv" --results "$tmp/cands.csv" --out "$tmp/ev" 2> "$tmp/err.txt"; rc=$?
check "evaluate as a rank exits 1" test "$rc" -eq 1
check "and says which commands run as ranks" grep -q '^nodulecad: error: evaluate runs as one process, but was started as rank 0 of 2 (RANK/WORLD_SIZE): only train, train-fpr, train-3d, synth, preprocess, predict, infer, detect' "$tmp/err.txt"
check "and writes nothing" test ! -e "$tmp/ev"
# preprocess as one of two shards (by the launcher's rank): its parts, and no dataset until the other shard ran.
RANK=1 WORLD_SIZE=2 MASTER_ADDR=127.0.0.1 MASTER_PORT=1 "$bin" preprocess --data "$tmp/cohort" --out "$tmp/prep2" --size 64 --pixel-mm 5 2> "$tmp/err.txt"; rc=$?
check "preprocess as rank 1 of 2 exits 0 and waits for shard 0" sh -c "test $rc -eq 0 && grep -q 'shard 1/2: 1 scans made, 0 made earlier; 1 wait' '$tmp/err.txt' && test ! -e '$tmp/prep2/images.npy'"
"$bin" preprocess --data "$tmp/cohort" --out "$tmp/prep2" --size 64 --pixel-mm 5 --shard 0/2 2> "$tmp/err.txt"; rc=$?
check "shard 0/2 completes the dataset: the single run's bytes" sh -c "test $rc -eq 0 && cmp -s '$tmp/prep/images.npy' '$tmp/prep2/images.npy' && cmp -s '$tmp/prep/index.csv' '$tmp/prep2/index.csv'"
# torchrun --nproc-per-node 1 (WORLD_SIZE=1) is one process.
RANK=0 WORLD_SIZE=1 "$bin" "${train[@]}" --out "$tmp/single" --epochs 1 2> /dev/null; rc=$?
check "WORLD_SIZE=1 trains as one process" test "$rc" -eq 0 -a -s "$tmp/single/last.pt"

finish
