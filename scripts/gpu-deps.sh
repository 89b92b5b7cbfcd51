#!/bin/bash
# Run on the Debian development machine before a GPU check: copies what the GPU machine lacks (no Debian
# packages and no network there) into .deps/ (git-ignored), which the device call carries: the header-only
# CLI11 and nlohmann-json with their CMake configs, and zlib's headers and link library.
set -euo pipefail
cd "$(dirname "$0")/.."
rm -rf .deps
mkdir -p .deps/include .deps/lib .deps/share/cmake
cp -r /usr/include/CLI /usr/include/nlohmann .deps/include/
cp -r /usr/share/cmake/CLI11 /usr/share/cmake/nlohmann_json .deps/share/cmake/
cp /usr/include/zlib.h /usr/include/zconf.h .deps/include/
cp -L /usr/lib/x86_64-linux-gnu/libz.so .deps/lib/libz.so
du -sh .deps
