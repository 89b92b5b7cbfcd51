#!/bin/bash
# The GPU checks on a CUDA machine (see docs/model.md), in two device calls on the same warm machine:
#
#   bash scripts/gpu-check.sh            # call 1 (timeout_s 590): build, start the full demo, the checks, then wait
#                                        # for the demo until 480 s (GPU_CHECK_WAIT)
#   bash scripts/gpu-check.sh --collect  # call 2, at once (the machine is given back 30 s after a call ends)
#
# Call 1 builds nodulecad against the LibTorch inside the machine's PyTorch, then starts the full `demo --device
# cuda` (100 full-size scans, the U-Net and the full-size 3D detector pooled: about 10-15 minutes, more than one
# call may last) as a process of its own that outlives the call, and beside it runs
#   1. U-Net speed, seed network 512x512 batch 16: train and infer, fp32 and bf16 autocast + channels-last (with our
#      bf16 upsampling and with ATen's), and the 3D detector of the CUDA recipe (64^3 patches, batch 8), fp32 and bf16;
#   2. agreement: one small model, predicted on the CPU, on CUDA in fp32 and on CUDA with bf16 autocast;
#   3. a short training run on CUDA (bf16), its checkpoint used on the CPU (and copied to $OUT), two ranks training
#      on c10d Gloo on the device, then the quick demo end to end on CUDA, with the U-Net and with both detectors
#      (its bundle applied by infer);
# and prints a table last, with how far the full demo has got. Call 2 waits for the full demo (until
# GPU_CHECK_DEADLINE seconds, default 450: give the call timeout_s 600), then times `infer` with its bundle on one
# full-size held-out scan (the issue's goal: <= 2 s on CUDA) and on the ten of the last held-out subset, and prints the demo's stage times, CPM and those timings as a table; its
# log and summary.json come back in $OUT. The demo resumes finished stages, so a third call (or a later call 1)
# continues an unfinished one as long as the machine is the same.
# Needs .deps/ from scripts/gpu-deps.sh (carried). Writes logs to $OUT (or out/).
# The full demo alone, its GPU and cores shared with nothing (the checks' figures were measured four times; the demo
# never finished within a lease): `bash scripts/gpu-check.sh --demo` (timeout_s 595), then `--collect` at once.
# Its estimated length on an H200 (about 12-14 minutes: the U-Net's 60 epochs, the 3D detector's 40, predictions
# and 3D passes over 100 full-size scans) is about all a 15-minute lease holds after the build (~90 s).
# A lease too short for the full demo (under about 12 minutes left): `bash scripts/gpu-check.sh --infer-timing` (one
# call, about 7 minutes) builds, trains a bundle of the CUDA recipe's network sizes for one or two epochs on a few
# full-size scans (`run`, not the demo: its weights are barely trained, so its CPM means nothing) and times `infer`
# with it on full-size held-out scans, with the peak memory (the issue's <= 2 s a scan on CUDA), with cuDNN's
# autotuning and without.
# CPU rehearsal on the development machine: GPU_CHECK_DEVICE=cpu TORCH_PREFIX=/usr bash scripts/gpu-check.sh, then
# the same with --collect; GPU_CHECK_DEMO_ARGS=--quick makes the "full" demo the quick one (seconds, not hours).
set -uo pipefail
cd "$(dirname "$0")/.."
MODE=${1:-check}
case "$MODE" in check|--demo|--collect|--infer-timing|--demo-worker) ;; *) echo "usage: $0 [--demo|--collect|--infer-timing]" >&2; exit 2 ;; esac
OUT=${OUT:-$PWD/out}
mkdir -p "$OUT"
DEV=${GPU_CHECK_DEVICE:-cuda}
JOBS=$(nproc)
# GPU_CHECK_BUILD=build GPU_CHECK_NO_BUILD=1: a CPU rehearsal with the development build, not a second one.
B=${GPU_CHECK_BUILD:-build-gpu}
N=$B/nodulecad
# The full demo's folder and its files: .log (each line stamped with the seconds since the demo began; progress
# bars' carriage returns become lines), .pid while it runs, .rc ("<exit status> <seconds>") once it has ended.
D=$PWD/$B/demo-full
DEMO_ARGS=${GPU_CHECK_DEMO_ARGS:-}

# The full demo, in a process of its own (started by call 1 with setsid, so the end of the call does not stop it).
if [ "$MODE" = --demo-worker ]; then
    echo $$ > "$D.pid"
    t3=$(date +%s)
    # shellcheck disable=SC2086
    timeout --signal=INT --kill-after=10 "${GPU_CHECK_DEMO_LIMIT:-1800}" "$N" demo --out "$D" --device "$DEV" $DEMO_ARGS 2>&1 \
        | stdbuf -oL tr '\r' '\n' | while IFS= read -r l; do [ -n "${l// }" ] && printf '%4d %s\n' $(( $(date +%s) - t3 )) "$l"; done >> "$D.log"
    echo "${PIPESTATUS[0]} $(( $(date +%s) - t3 ))" > "$D.rc"
    rm -f "$D.pid"
    exit 0
fi
demo_running() { [ -s "$D.pid" ] && kill -0 "$(cat "$D.pid")" 2>/dev/null; }
# The stage lines of the demo's log so far ("[i/n]" stage starts, the summary, errors).
demo_stages() { grep -E '^ *[0-9]+ (\[|stages:|Before|CPM|.*rror)' "$D.log" 2>/dev/null | tail -40; }

log="$OUT/gpu-check.log"
: > "$log"
say() { echo "$@" | tee -a "$log"; }
run() { say "\$ $*"; "$@" >> "$log" 2>&1; local rc=$?; [ $rc -eq 0 ] || say "  -> exit $rc"; return $rc; }
rows=()
table() {
    say ""
    say "| check | result |"
    say "|---|---|"
    for r in "${rows[@]}"; do say "| ${r%%|*} | ${r#*|} |"; done
}
t0=$(date +%s)

# Waits for the full demo until DEADLINE (epoch seconds), then adds its rows: the CPM and stage times, and `infer`
# timed with its bundle, each timing only if it can end before HARD_END (default DEADLINE + 60: the call's own
# limit must not cut the table off); or how far it got.
collect_demo() {
    local DEADLINE=$1 HARD_END=${2:-$(( $1 + 60 ))}
    since() { awk -v a="$1" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }'; }
    [ -x "$N" ] || { say "no $N: run bash scripts/gpu-check.sh (call 1) first"; exit 1; }
    [ -e "$D.log" ] || { say "no full demo was started ($D.log missing): run bash scripts/gpu-check.sh (call 1) first"; exit 1; }
    say "waiting for the full demo (at most $(( DEADLINE - $(date +%s) )) s)"
    while demo_running && [ "$(date +%s)" -lt "$DEADLINE" ]; do sleep 5; done
    demo_stages | tee -a "$log"
    tail -c 8000000 "$D.log" > "$OUT/demo-full.log"
    if [ -s "$D.rc" ] && ! demo_running; then
        read -r rc secs < "$D.rc"
        if [ "$rc" -eq 0 ]; then
            cp "$D/work/summary.json" "$OUT/demo-full-summary.json" 2>/dev/null
            rows+=("demo --device $DEV $DEMO_ARGS (full)|$secs s in its last sitting, $(grep -o 'CPM [0-9.]*' "$D.log" | tail -1); $(grep -o 'stages:.*' "$D.log" | tail -1)")
            # infer with the demo's bundle: one held-out full-size scan end to end (a fresh process each time: the
            # first run pays cuDNN's autotuning and the file cache), then ten (seconds a scan once loaded).
            # The last subset is held out (the CUDA demo holds out 8 and 9; --quick 4 and 5).
            held=$(ls -d "$D"/cohort/subset* 2>/dev/null | sort -V | tail -1)
            one=$(ls "$held"/*.mhd 2>/dev/null | head -1)
            for k in 1 2; do
                [ -n "$one" ] && [ $(( $(date +%s) + 15 )) -lt "$HARD_END" ] || break
                ta=$(date +%s.%N)
                if run "$N" infer --model "$D/work/model" --data "$one" --out "$B/infer-one-$k" --device "$DEV"; then
                    rows+=("infer, demo bundle, one scan (run $k), end to end|$(since "$ta") s; $(grep -o 'time per scan.*' "$log" | tail -1)")
                else
                    rows+=("infer, demo bundle, one scan|FAILED")
                fi
                rm -rf "$B/infer-one-$k"
            done
            if [ -n "$one" ] && [ $(( $(date +%s) + 45 )) -lt "$HARD_END" ]; then
                ta=$(date +%s.%N)
                if run "$N" infer --model "$D/work/model" --data "$held" --out "$B/infer-ten" --device "$DEV"; then
                    n=$(ls "$held"/*.mhd | wc -l)
                    rows+=("infer, demo bundle, $(basename "$held") ($n scans)|$(since "$ta") s in all; $(grep -o 'time per scan.*' "$log" | tail -1)")
                fi
                rm -rf "$B/infer-ten"
            fi
        else
            rows+=("demo --device $DEV (full)|ended with exit $rc after $secs s: see demo-full.log")
        fi
    elif demo_running; then
        rows+=("demo --device $DEV (full)|still running after $(( $(date +%s) - t0 )) s of waiting: $(tail -1 "$D.log" | cut -c1-100); --collect waits on")
    else
        rows+=("demo --device $DEV (full)|stopped without an exit status (killed with its call?) at: $(tail -1 "$D.log" | cut -c1-100); call 1 resumes it")
    fi
}

if [ "$MODE" = --collect ]; then
    collect_demo $(( t0 + ${GPU_CHECK_DEADLINE:-450} ))
    say "total: $(( $(date +%s) - t0 )) s"
    table
    exit 0
fi

build_nodulecad() {
    [ -n "${GPU_CHECK_NO_BUILD:-}" ] && return 0
    TORCH_PREFIX=${TORCH_PREFIX:-$(python3 -c 'import torch; print(torch.utils.cmake_prefix_path)')}
    say "device $DEV; torch prefix $TORCH_PREFIX; $(nvidia-smi --query-gpu=name,driver_version --format=csv,noheader 2>/dev/null || echo 'no nvidia-smi')"
    run cmake -S . -B $B -DCMAKE_BUILD_TYPE=Release -DCMAKE_PREFIX_PATH="$TORCH_PREFIX;$PWD/.deps" -DZLIB_ROOT="$PWD/.deps" \
        -DCMAKE_POLICY_VERSION_MINIMUM=3.5 -DNODULECAD_BUILD_TESTS=OFF -DNODULECAD_BUILD_BENCHMARKS=OFF -DNODULECAD_WITH_ITK=OFF -DNODULECAD_REQUIRE_TORCH=ON \
        || { tail -40 "$log"; exit 1; }
    # Keep going past the first failing file: one device call should show every compile error at once.
    run cmake --build $B -j "$JOBS" -- -k || { grep -E -A6 "error:|Error [0-9]" "$log" | head -150; exit 1; }
    say "build: $(( $(date +%s) - t0 )) s"
}

# Where the machine's PyTorch keeps the headers a c10d build would need (Gloo's, NCCL's): one line each.
probe_c10d_headers() {
    local site
    site=$(python3 -c 'import torch, os; print(os.path.dirname(os.path.dirname(torch.__file__)))' 2>/dev/null) || return 0
    for h in gloo/rendezvous/store.h nccl.h torch/csrc/distributed/c10d/ProcessGroupNCCL.hpp; do
        say "header $h: $(find "$site" /usr/include /usr/local -path "*/$h" 2>/dev/null | head -2 | tr '\n' ' ')"
    done
}

if [ "$MODE" = --infer-timing ]; then
    build_nodulecad
    probe_c10d_headers
    W=${GPU_CHECK_WORK:-$PWD/$B/infer-timing}
    rm -rf "$W"; mkdir -p "$W"
    scans=${GPU_CHECK_TIMING_SCANS:-20}
    # The CUDA recipe's sizes (src/pipeline/recipes.cpp, DemoSize::Cuda) but one or two epochs; a CPU rehearsal
    # passes smaller ones in GPU_CHECK_TIMING_ARGS.
    # shellcheck disable=SC2086
    run $N synth --out "$W/cohort" --scans "$scans" --preset full --seed 7 --threads "$JOBS" || { table; exit 1; }
    t1=$(date +%s)
    # shellcheck disable=SC2086
    run $N run --data "$W/cohort" --out "$W/work" --val-subsets 8 9 --detector unet2d+heatmap3d --device "$DEV" --threads "$JOBS" \
        ${GPU_CHECK_TIMING_ARGS:---size 512 --pixel-mm 0.7 --filters 32 --depth 5 --crop 128 --epochs 2 --grid-mm 1.5 --patch 64 --detector3d-filters 16 --detector3d-epochs 2 --fpr-epochs 2 --fpr-scans 4} \
        && rows+=("run, CUDA recipe's sizes, 1-2 epochs, $scans full scans|$(( $(date +%s) - t1 )) s (bundle for timing only)") \
        || { rows+=("run for the timing bundle|FAILED"); table; exit 1; }
    # The held-out scan with the most voxels (the issue's goal is set on a 512x512x300 scan).
    one=$(ls -S "$W"/cohort/subset[89]/*.raw 2>/dev/null | head -1); one=${one%.raw}.mhd
    say "scan timed: $one ($(grep -E '^DimSize|^ElementSpacing' "${one%.mhd}.mhd" 2>/dev/null | tr '\n' ' '))"
    # cuDNN's autotuning (=1) against none (=0, inference's default since 2026-12-04): the 3D detector's tiles and the
    # last batch of slices or candidates change shape from scan to scan, and each new shape is searched again.
    for k in 1 2 3 4; do
        tune=$(( k % 2 ))
        ta=$(date +%s.%N)
        if run env NODULECAD_CUDNN_AUTOTUNE=$tune /usr/bin/time -v "$N" infer --model "$W/work/model" --data "$one" --out "$W/infer-one-$k" --device "$DEV" --threads "$JOBS"; then
            rows+=("infer, one full scan (run $k, autotune $tune), end to end|$(awk -v a="$ta" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }') s, peak RSS $(grep -o 'Maximum resident set size (kbytes): [0-9]*' "$log" | tail -1 | awk '{ printf "%.2f GB", $NF / 1048576 }'); $(grep -o 'time per scan.*' "$log" | tail -1)")
        else
            rows+=("infer, one full scan (run $k, autotune $tune)|FAILED")
        fi
    done
    for tune in 1 0; do
        ta=$(date +%s.%N)
        run env NODULECAD_CUDNN_AUTOTUNE=$tune "$N" infer --model "$W/work/model" --data "$W/cohort" --out "$W/infer-all-$tune" --device "$DEV" --threads "$JOBS" \
            && rows+=("infer, the cohort's $scans full scans, autotune $tune|$(awk -v a="$ta" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }') s in all; $(grep -o 'time per scan.*' "$log" | tail -1)")
    done
    say "total: $(( $(date +%s) - t0 )) s"
    table
    exit 0
fi

build_nodulecad

# The full demo first: it is the longest and its figures have never been measured. A running one (from an earlier
# call 1) is left to go on; otherwise it starts, or resumes its finished stages.
if demo_running; then
    say "the full demo is already running (pid $(cat "$D.pid")): left to go on"
elif [ "$DEV" != cpu ] || [ -n "${GPU_CHECK_FULL_DEMO:-}" ]; then
    rm -f "$D.rc"
    echo "---- $(date -u +%FT%TZ) demo --out $D --device $DEV $DEMO_ARGS" >> "$D.log"
    say "\$ demo --out $D --device $DEV $DEMO_ARGS (in a process of its own; bash scripts/gpu-check.sh --collect waits for it)"
    GPU_CHECK_DEVICE=$DEV setsid nohup bash scripts/gpu-check.sh --demo-worker < /dev/null > /dev/null 2>&1 &
    for _ in 1 2 3 4 5 6 7 8 9 10; do [ -s "$D.pid" ] && break; sleep 0.5; done
fi

# --demo: nothing beside the full demo (the checks below share its GPU and CPU cores and were measured four times),
# waiting for it until GPU_CHECK_WAIT (default 560 s: give the call timeout_s 595), then --collect at once.
if [ "$MODE" = --demo ]; then
    collect_demo $(( t0 + ${GPU_CHECK_WAIT:-560} )) $(( t0 + ${GPU_CHECK_WAIT:-560} + 25 ))
    say "total: $(( $(date +%s) - t0 )) s"
    table
    exit 0
fi

# 1. Speed of the seed network (goals on an H200: 730 train / 2,400 infer images/s). These run beside the full
# demo's first stages (the cohort and its preprocessing, on the CPU cores).
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
# Work files outside $OUT (only its few small files travel back).
W=${GPU_CHECK_WORK:-$PWD/$B/work}
rm -rf "$W"; mkdir -p "$W"
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

# The rest of call 1 waits for the full demo (until GPU_CHECK_WAIT seconds from the start, default 480: give call 1
# timeout_s 590), so that less is left to a second call, which must come within 30 s of this one's end.
[ -e "$D.log" ] && collect_demo $(( t0 + ${GPU_CHECK_WAIT:-480} ))
say "total: $(( $(date +%s) - t0 )) s"
table
