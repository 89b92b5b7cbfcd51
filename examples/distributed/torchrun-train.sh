#!/usr/bin/env bash
# The U-Net trained by several processes on one machine (one per GPU, or a few on a CPU), launched by torchrun.
# torchrun sets RANK, WORLD_SIZE, LOCAL_RANK, MASTER_ADDR and MASTER_PORT for each process and hosts the rendezvous
# store itself; nodulecad joins it (docs/distributed.md). Every rank takes --batch samples of every step, so a step
# sees batch x processes samples: halve --batch when doubling the processes to keep the step's batch.
#   examples/distributed/torchrun-train.sh PREP RUN [PROCESSES]
set -euo pipefail
prep=${1:?dataset folder from nodulecad preprocess}
run=${2:?run folder}
procs=${3:-2}
torchrun --no-python --standalone --nnodes 1 --nproc-per-node "$procs" \
    build/nodulecad train --data "$prep" --out "$run" --batch 8 --epochs 20 --device auto
