#!/usr/bin/env bash
# Builds everything with AddressSanitizer + UndefinedBehaviorSanitizer into ./build-asan (the system compiler) and
# runs the whole test suite there: the unit tests, the LibTorch tests, the command-line scripts and the fuzz
# harnesses' replays. Any sanitizer report ends its program, which fails its test. Left out, and why:
#   install_and_consumer  builds a separate consumer project against the installed library, which would need the
#                         sanitizer runtime on its own link line; it checks packaging, not memory.
#   cli_faults            re-runs `demo --quick` about 35 times around kills and full disks (7.5 min here under the
#                         sanitizers): process-level behaviour, whose code paths cli_end_to_end and the unit tests
#                         already run under the sanitizers; it keeps CI within its time (docs/reliability.md).
# Extra CMake arguments can be passed in NODULECAD_CMAKE_ARGS (CI sets -DNODULECAD_WERROR=ON).
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck disable=SC2086  # NODULECAD_CMAKE_ARGS is a list of arguments
# -O1, as the sanitizers' authors recommend: fast enough to run, quicker to build than -O3.
cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Release -DCMAKE_CXX_FLAGS_RELEASE="-O1 -DNDEBUG" -DNODULECAD_SANITIZE=ON \
    -DNODULECAD_BUILD_BENCHMARKS=OFF \
    ${NODULECAD_CMAKE_ARGS:-} > /dev/null
cmake --build build-asan -j"$(nproc)"
# detect_leaks: a leak is a finding too. abort_on_error off: a report exits with status 1 instead of a core dump.
export ASAN_OPTIONS="detect_leaks=1:strict_string_checks=1:detect_stack_use_after_return=1:check_initialization_order=1:${ASAN_OPTIONS:-}"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1:${UBSAN_OPTIONS:-}"
ctest --test-dir build-asan --output-on-failure -j2 -E '^(install_and_consumer|cli_faults)$'
