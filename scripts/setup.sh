#!/usr/bin/env bash
# Installs what nodulecad needs from Debian 12 packages (only what is missing), then configures and builds ./build.
#   scripts/setup.sh           build dependencies only
#   scripts/setup.sh --tests   also ITK (cross-checks our MetaImage, NIfTI and DICOM I/O) and Chromium (renders the
#                              HTML report)
# Extra CMake arguments can be passed in NODULECAD_CMAKE_ARGS (CI sets -DNODULECAD_WERROR=ON).
set -euo pipefail
cd "$(dirname "$0")/.."

# libgdcm-tools: GDCM's CMake package names its command-line tools and fails to load without them.
packages=(build-essential cmake pkg-config zlib1g-dev libcli11-dev nlohmann-json3-dev libgdcm-dev libgdcm-tools libgtest-dev libbenchmark-dev)
if [ "${1:-}" = "--tests" ]; then
    packages+=(libinsighttoolkit5-dev)
fi
# LibTorch (CPU) for train/predict/bench, with OpenBLAS: without it transposed and 1x1 convolutions fall back to
# the reference BLAS, 4-8x slower. Installed without recommends (they pull in a desktop toolkit). libgloo-dev:
# the headers of c10d's Gloo process group, for training as several ranks (docs/distributed.md).
torch_packages=(libtorch-dev libopenblas0-openmp libgloo-dev)
if [ "${1:-}" = "--tests" ]; then
    torch_packages+=(chromium)  # headless, for the report test; also without recommends
fi

missing_of() {
    local p
    for p in "$@"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || echo "$p"
    done
}
mapfile -t missing < <(missing_of "${packages[@]}")
mapfile -t missing_torch < <(missing_of "${torch_packages[@]}")
if [ ${#missing[@]} -gt 0 ] || [ ${#missing_torch[@]} -gt 0 ]; then
    echo "setup: installing ${missing[*]} ${missing_torch[*]}" >&2
    sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    $sudo apt-get update -qq
    if [ ${#missing[@]} -gt 0 ]; then
        DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" > /dev/null
    fi
    if [ ${#missing_torch[@]} -gt 0 ]; then
        DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing_torch[@]}" > /dev/null
    fi
fi

# shellcheck disable=SC2086  # NODULECAD_CMAKE_ARGS is a list of arguments
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release ${NODULECAD_CMAKE_ARGS:-} > /dev/null
cmake --build build -j"$(nproc)"
