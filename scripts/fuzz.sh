#!/usr/bin/env bash
# Builds the libFuzzer harnesses (clang, AddressSanitizer + UndefinedBehaviorSanitizer) into ./build-fuzz and runs
# each for SECONDS from the committed seed corpus (fuzz/corpus/<name>/), one per core at a time, then prints a table
# of executions and coverage. A crash, a sanitizer report, a timeout or a runaway allocation fails the script; the
# input that caused it is left in build-fuzz/crashes/<name>/ and should be copied into fuzz/regressions/<name>/ once
# fixed.
#   scripts/fuzz.sh [SECONDS] [NAME ...]    SECONDS defaults to 60; NAMEs (e.g. npy csv_tables) default to all
# The inputs each campaign finds interesting are kept in build-fuzz/corpus/<name>/, so later runs go on from them.
# libFuzzer's seed is FUZZ_SEED (default 1), so that a run that fails can be repeated; vary it to explore further.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-60}"
shift || true

# clang and its libFuzzer runtime (libclang-rt-<version>-dev, only recommended by clang's packages in Debian 12).
has_fuzzer_runtime() {
    command -v clang++ > /dev/null && [ -f "$(clang++ -print-file-name=libclang_rt.fuzzer-x86_64.a)" ]
}
if ! has_fuzzer_runtime; then
    echo "fuzz: installing clang and its libFuzzer runtime" >&2
    sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends clang > /dev/null
    version=$(clang++ -dumpversion | cut -d. -f1)
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "libclang-rt-$version-dev" > /dev/null
    has_fuzzer_runtime || { echo "fuzz: clang's libFuzzer runtime is still missing" >&2; exit 2; }
fi
CC=clang CXX=clang++ cmake -S . -B build-fuzz -DCMAKE_BUILD_TYPE=Release -DNODULECAD_FUZZ=ON \
    -DNODULECAD_BUILD_TESTS=OFF -DNODULECAD_BUILD_BENCHMARKS=OFF -DNODULECAD_WITH_TORCH=OFF > /dev/null
names=("$@")
if [ ${#names[@]} -eq 0 ]; then
    names=(metaimage_header csv_tables npy nifti_header)
    # The DICOM harness exists when GDCM was found.
    targets_known=$(cmake --build build-fuzz --target help)
    grep -q ' fuzz_dicom_file$' <<< "$targets_known" && names+=(dicom_file)
fi
targets=()
for n in "${names[@]}"; do targets+=("fuzz_$n"); done
cmake --build build-fuzz -j"$(nproc)" --target "${targets[@]}"

# The NIfTI and DICOM harnesses write each input to a file: on a memory file system when there is one.
[ -d /dev/shm ] && [ -w /dev/shm ] && export TMPDIR=/dev/shm
row() { printf "%-16s %8s %12s %10s %8s %9s %7s %8s  %s\n" "$@"; }
# One harness's campaign; its table row goes to build-fuzz/<name>.row and its exit status to build-fuzz/<name>.rc.
campaign() {
    local n=$1 work="build-fuzz/corpus/$1" crashes="build-fuzz/crashes/$1" log="build-fuzz/$1.log" rc=0
    mkdir -p "$work" "$crashes"
    echo "fuzz: $n for ${seconds} s" >&2
    # -rss_limit_mb / -malloc_limit_mb: a parser must refuse, not allocate, what a header claims; -timeout: no hang.
    "build-fuzz/fuzz/fuzz_$n" -seed="${FUZZ_SEED:-1}" -max_total_time="$seconds" -print_final_stats=1 -timeout=10 -rss_limit_mb=2048 \
        -malloc_limit_mb=1024 -artifact_prefix="$crashes/" "$work" "fuzz/corpus/$n" > "$log" 2>&1 || rc=$?
    # The figures, from libFuzzer's final statistics and its last status line (sed: no pipeline that can fail).
    figure() { sed -n "s/^stat::$1: *\([0-9]*\).*/\1/p" "$log" | sed -n '$p'; }
    local execs rate peak last cov ft corpus result="ok"
    execs=$(figure number_of_executed_units)
    rate=$(figure average_exec_per_sec)
    peak=$(figure peak_rss_mb)
    last=$(sed -n '/^#[0-9]/h; ${x;p;}' "$log")
    cov=$(sed -n 's/.* cov: \([0-9]*\).*/\1/p' <<< "$last")
    ft=$(sed -n 's/.* ft: \([0-9]*\).*/\1/p' <<< "$last")
    corpus=$(find "$work" -type f | wc -l)
    if [ "$rc" -ne 0 ]; then
        result="FAILED (exit $rc)"
        echo "fuzz: $n failed; its log is $log, the input in $crashes/:" >&2
        grep -E 'ERROR|SUMMARY|Assertion|Test unit written' "$log" >&2 || tail -n 20 "$log" >&2
    fi
    row "$n" "$seconds" "${execs:-0}" "${rate:-0}" "${cov:-?}" "${ft:-?}" "$corpus" "${peak:-?}" "$result" > "build-fuzz/$n.row"
    echo "$rc" > "build-fuzz/$n.rc"
}
for n in "${names[@]}"; do
    [ -d "fuzz/corpus/$n" ] || { echo "fuzz: no seed corpus fuzz/corpus/$n" >&2; exit 2; }
    rm -f "build-fuzz/$n.row" "build-fuzz/$n.rc"
done
# One campaign per core at a time (libFuzzer runs on one): each still gets its SECONDS, the whole takes less.
jobs_at_once=$(nproc)
for n in "${names[@]}"; do
    while [ "$(jobs -rp | wc -l)" -ge "$jobs_at_once" ]; do wait -n || true; done
    campaign "$n" &
done
wait
status=0
table=$(row harness seconds executions "per s" edges features corpus "peak MB" result)
for n in "${names[@]}"; do
    table+=$'\n'$(cat "build-fuzz/$n.row")
    [ "$(cat "build-fuzz/$n.rc")" = 0 ] || status=1
done
echo
echo "$table"
exit $status
