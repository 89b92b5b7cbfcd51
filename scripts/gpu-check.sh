#!/bin/bash
# The GPU checks, in one go on a CUDA machine (see docs/model.md): builds nodulecad against the LibTorch
# inside the machine's PyTorch, then
#   1. U-Net speed, seed network 512x512 batch 16: train and infer, fp32 and bf16 autocast + channels-last (with our
#      bf16 upsampling and with ATen's), and the 3D detector of the CUDA recipe (64^3 patches, batch 8), fp32 and bf16;
#   2. agreement: one small model, predicted on the CPU, on CUDA in fp32 and on CUDA with bf16 autocast;
#   3. a short training run on CUDA (bf16), its checkpoint used on the CPU (and copied to $OUT), two ranks training
#      on c10d Gloo on the device, then the quick demo end to end on CUDA, with the U-Net and with both detectors
#      (its bundle applied by infer);
#   4. the full CUDA demo (100 full-size scans, the U-Net and the full-size 3D detector pooled), beside checks 2 and
#      3, stopped at GPU_CHECK_DEADLINE seconds after the script's start (default 480) so that a lease is not spent
#      on it alone; its log tells how far it got;
# and prints a table last. Needs .deps/ from scripts/gpu-deps.sh (carried). Writes logs to $OUT (or out/).
# CPU rehearsal on the development machine: GPU_CHECK_DEVICE=cpu TORCH_PREFIX=/usr bash scripts/gpu-check.sh
# (GPU_CHECK_FULL_DEMO=1 runs step 4 there too, with the CPU demo, until the deadline).
set -uo pipefail
cd "$(dirname "$0")/.."
OUT=${OUT:-$PWD/out}
mkdir -p "$OUT"
DEV=${GPU_CHECK_DEVICE:-cuda}
JOBS=$(nproc)
log="$OUT/gpu-check.log"
: > "$log"
say() { echo "$@" | tee -a "$log"; }
run() { say "\$ $*"; "$@" >> "$log" 2>&1; local rc=$?; [ $rc -eq 0 ] || say "  -> exit $rc"; return $rc; }

TORCH_PREFIX=${TORCH_PREFIX:-$(python3 -c 'import torch; print(torch.utils.cmake_prefix_path)')}
say "device $DEV; torch prefix $TORCH_PREFIX; $(nvidia-smi --query-gpu=name,driver_version --format=csv,noheader 2>/dev/null || echo 'no nvidia-smi')"
B=build-gpu
t0=$(date +%s)
DEADLINE=$(( t0 + ${GPU_CHECK_DEADLINE:-480} ))
run cmake -S . -B $B -DCMAKE_BUILD_TYPE=Release -DCMAKE_PREFIX_PATH="$TORCH_PREFIX;$PWD/.deps" -DZLIB_ROOT="$PWD/.deps" \
    -DCMAKE_POLICY_VERSION_MINIMUM=3.5 -DNODULECAD_BUILD_TESTS=OFF -DNODULECAD_BUILD_BENCHMARKS=OFF -DNODULECAD_WITH_ITK=OFF -DNODULECAD_REQUIRE_TORCH=ON \
    || { tail -40 "$log"; exit 1; }
# Keep going past the first failing file: one device call should show every compile error at once.
run cmake --build $B -j "$JOBS" -- -k || { grep -E -A6 "error:|Error [0-9]" "$log" | head -150; exit 1; }
say "build: $(( $(date +%s) - t0 )) s"
N=$B/nodulecad
rows=()

# 1. Speed of the seed network (goals on an H200: 730 train / 2,400 infer images/s).
if [ "$DEV" = cpu ]; then size=64; batch=2; it=2; else size=512; batch=16; it=30; fi
# --amp --aten-upsample: the same with ATen's upsampling, which autocast runs in fp32 (what the bf16 copy saves).
for mode in train infer; do
    for amp in "" --amp "--amp --aten-upsample"; do
        [ "$DEV" = cpu ] && [ -n "$amp" ] && continue
        line=$($N bench $mode --size $size --batch $batch --iterations $it --warmup 5 --device $DEV $amp 2>>"$log")
        say "$line"
        rows+=("bench $mode ${amp:-fp32}|$(echo "$line" | grep -o '[0-9.]* images/s')")
    done
done
# The 3D detector of the CUDA recipe (16 filters x 4 levels, 64^3 patches, batch 8), fp32 and bf16 autocast.
if [ "$DEV" = cpu ]; then side=16; b3=2; else side=64; b3=8; fi
for mode in train infer; do
    for amp in "" --amp; do
        [ "$DEV" = cpu ] && [ -n "$amp" ] && continue
        line=$($N bench $mode --network detector3d --size $side --batch $b3 --iterations $it --warmup 5 --device $DEV $amp 2>>"$log")
        say "$line"
        rows+=("bench detector3d $mode ${amp:-fp32}|$(echo "$line" | grep -o '[0-9.]* patches/s')")
    done
done

# 2. Agreement of CPU, CUDA fp32 and CUDA bf16 predictions of one model.
# Work files outside $OUT (only its few small files travel back; the full demo's cohort is about 18 GB).
W=${GPU_CHECK_WORK:-$PWD/$B/work}
rm -rf "$W"; mkdir -p "$W"
# 4. The full CUDA demo (started after the speed measurements, in the background beside checks 2 and 3, which are
# small), until the deadline. Each line is stamped with the seconds since it began (stage lines start "[i/n]");
# progress bars' carriage returns become lines; the log's tail comes back.
full_demo() {
    local left=$(( DEADLINE - $(date +%s) )) t3=$(date +%s)
    timeout --signal=INT --kill-after=10 $left $N demo --out "$W/demo_full" --device "$DEV" 2>&1 | stdbuf -oL tr '\r' '\n' \
        | while IFS= read -r l; do [ -n "${l// }" ] && printf '%4d %s\n' $(( $(date +%s) - t3 )) "$l"; done > "$W/demo-full.log"
    echo "${PIPESTATUS[0]} $(( $(date +%s) - t3 ))" > "$W/demo-full.rc"
}
demo_pid=""
if { [ "$DEV" != cpu ] || [ -n "${GPU_CHECK_FULL_DEMO:-}" ]; } && [ $(( DEADLINE - $(date +%s) )) -gt 60 ]; then
    say "\$ demo --out $W/demo_full --device $DEV (full configuration, in the background, until the deadline)"
    full_demo &
    demo_pid=$!
fi
run $N synth --out "$W/cohort" --scans 6 --preset small --seed 3
run $N preprocess --data "$W/cohort" --out "$W/prep" --size 128 --pixel-mm 2.8 --context 1 --val-fraction 0.2
run $N train --data "$W/prep" --out "$W/run" --epochs 3 --batch 8 --lr 2e-3 --filters 8 --depth 4 --batch-norm --crop 64 --device cpu
for m in cpu:cpu: "$DEV":gpu32:--fp32 "$DEV":gpu16:; do
    IFS=: read -r d name flag <<< "$m"
    run $N predict --model "$W/run/best.pt" --data "$W/cohort" --out "$W/pred_$name" --float --device "$d" $flag
done
agree=$(python3 - "$W" <<'PY' 2>>"$log"
import sys, glob, os
from array import array
w = sys.argv[1]
def floats(path):
    a = array("f")
    with open(path, "rb") as f:
        a.frombytes(f.read())
    return a
out = []
for other in ("gpu32", "gpu16"):
    worst, dice = 0.0, []
    for f in sorted(glob.glob(w + "/pred_cpu/*_prob.raw")):
        g = w + "/pred_" + other + "/" + os.path.basename(f)
        if not os.path.exists(g):
            print(other, "missing", os.path.basename(g)); sys.exit(1)
        a, b = floats(f), floats(g)
        worst = max(worst, max(abs(x - y) for x, y in zip(a, b)))
        both = sum(1 for x, y in zip(a, b) if x >= 0.5 and y >= 0.5)
        total = sum(1 for x in a if x >= 0.5) + sum(1 for y in b if y >= 0.5)
        if total: dice.append(2 * both / total)
    out.append("%s max|dp| %.2e, mask Dice vs cpu %.4f" % (other, worst, min(dice) if dice else 1.0))
print("; ".join(out))
PY
)
say "agreement: $agree"
rows+=("predict agreement|$agree")

# 3. Training on the device (bf16 unless fp32 is all there is), then the quick demo end to end.
t1=$(date +%s)
run $N train --data "$W/prep" --out "$W/run_dev" --epochs 3 --batch 8 --lr 2e-3 --filters 8 --depth 4 --batch-norm --crop 64 --device "$DEV" \
    && rows+=("train 3 epochs on $DEV|$(( $(date +%s) - t1 )) s, val Dice $(tail -1 "$W/run_dev/metrics.csv" | cut -d, -f4)") \
    || rows+=("train on $DEV|FAILED")
# A checkpoint written on the GPU comes back with $OUT: on the development machine, Debian's CPU-only LibTorch must
# load it (build/nodulecad predict --model OUT/cuda_trained_best.pt ...).
cp "$W/run_dev/best.pt" "$OUT/cuda_trained_best.pt" 2>/dev/null
run $N predict --model "$W/run_dev/best.pt" --data "$W/cohort" --out "$W/pred_dev_on_cpu" --device cpu \
    && rows+=("$DEV-trained model predicts on cpu|ok") || rows+=("$DEV-trained model predicts on cpu|FAILED")
t2=$(date +%s)
run $N demo --quick --out "$W/demo" --device "$DEV" \
    && rows+=("demo --quick on $DEV|$(( $(date +%s) - t2 )) s, $(grep -o 'CPM [0-9.]*' "$log" | tail -1)") \
    || rows+=("demo --quick on $DEV|FAILED")
# Two ranks on c10d (Gloo, both on the one device: LOCAL_RANK unset), one epoch (docs/distributed.md).
t1=$(date +%s)
RANK=1 WORLD_SIZE=2 MASTER_ADDR=127.0.0.1 MASTER_PORT=29555 "$N" train --data "$W/prep" --out "$W/run_ranks" --epochs 1 --batch 4 \
    --filters 8 --depth 4 --crop 64 --device "$DEV" > "$W/rank1.log" 2>&1 &
rank1=$!
run env RANK=0 WORLD_SIZE=2 MASTER_ADDR=127.0.0.1 MASTER_PORT=29555 "$N" train --data "$W/prep" --out "$W/run_ranks" --epochs 1 --batch 4 \
    --filters 8 --depth 4 --crop 64 --device "$DEV"
if wait "$rank1" && [ -s "$W/run_ranks/last.pt" ]; then
    rows+=("train as 2 ranks (Gloo) on $DEV|$(( $(date +%s) - t1 )) s, loss $(tail -1 "$W/run_ranks/metrics.csv" | cut -d, -f2)")
else
    rows+=("train as 2 ranks (Gloo) on $DEV|FAILED: $(tail -1 "$W/rank1.log")")
fi
# Both detectors (the 3D one trained and applied on the device), and the bundle it leaves applied by infer.
t2=$(date +%s)
run $N demo --quick --detector unet2d+heatmap3d --out "$W/demo_pool" --device "$DEV" \
    && rows+=("demo --quick --detector unet2d+heatmap3d on $DEV|$(( $(date +%s) - t2 )) s, $(grep -o 'CPM [0-9.]*' "$log" | tail -1)") \
    || rows+=("demo --quick --detector unet2d+heatmap3d on $DEV|FAILED")
run $N infer --model "$W/demo_pool/work/model" --data "$W/demo_pool/cohort" --out "$W/infer_pool" --device "$DEV" \
    && rows+=("infer, pooled bundle, on $DEV|$(wc -l < "$W/infer_pool/candidates.csv") candidate lines") \
    || rows+=("infer, pooled bundle, on $DEV|FAILED")

if [ -n "$demo_pid" ]; then
    wait "$demo_pid"
    read -r rc secs < "$W/demo-full.rc"
    tail -c 8000000 "$W/demo-full.log" > "$OUT/demo-full.log"
    grep -E '^ *[0-9]+ (\[|stages:|Before|CPM|.*rror)' "$W/demo-full.log" | tail -40 | tee -a "$log"
    cp "$W/demo_full/work/summary.json" "$OUT/demo-full-summary.json" 2>/dev/null
    if [ "$rc" -eq 0 ]; then
        rows+=("demo --device $DEV (full)|$secs s, $(grep -o 'CPM [0-9.]*' "$W/demo-full.log" | tail -1)")
    else
        rows+=("demo --device $DEV (full)|stopped after $secs s (exit $rc): see demo-full.log")
    fi
fi
say "total: $(( $(date +%s) - t0 )) s"

say ""
say "| check | result |"
say "|---|---|"
for r in "${rows[@]}"; do say "| ${r%%|*} | ${r#*|} |"; done
