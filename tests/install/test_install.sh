#!/usr/bin/env bash
# The installed library as a user's tool meets it: `cmake --install` into a fresh prefix, examples/consumer
# configured against it the way a machine without LibTorch would (Torch hidden from find_package), built, run on a
# flipped phantom and on LUNA16 tables; its answers must equal the nodulecad command's.
set -u
build=${BUILD_DIR:?set BUILD_DIR to the build folder}
src=${SOURCE_DIR:?set SOURCE_DIR to the source folder}
bin=${NODULECAD:?set NODULECAD to the nodulecad binary}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# shellcheck source=../check.sh
. "$(dirname "$0")/../check.sh"

cmake --install "$build" --prefix "$tmp/prefix" > "$tmp/install.log" 2>&1; rc=$?
check "install exit 0" test "$rc" -eq 0
for f in include/nodulecad/core/volume.hpp include/nodulecad/io/metaimage.hpp include/nodulecad/evaluate/froc.hpp include/nodulecad/version.hpp \
         lib/libnodulecad_core.a lib/cmake/nodulecad/nodulecadConfig.cmake lib/cmake/nodulecad/nodulecadConfigVersion.cmake bin/nodulecad; do
    check "installs $f" test -s "$tmp/prefix/$f"
done
check "no source-tree paths in the package" sh -c "! grep -rq '$src/include' '$tmp/prefix/lib/cmake/nodulecad'"

cmake -S "$src/examples/consumer" -B "$tmp/consumer" -DCMAKE_PREFIX_PATH="$tmp/prefix" -DCMAKE_DISABLE_FIND_PACKAGE_Torch=ON \
    -DCMAKE_BUILD_TYPE=Release > "$tmp/configure.log" 2>&1; rc=$?
check "consumer configures against the package without LibTorch" test "$rc" -eq 0
[ "$rc" -eq 0 ] || cat "$tmp/configure.log"
cmake --build "$tmp/consumer" > "$tmp/build.log" 2>&1; rc=$?
check "consumer builds" test "$rc" -eq 0
[ "$rc" -eq 0 ] || tail -30 "$tmp/build.log"
check "consumer compiles without torch headers" sh -c "! grep -rqi 'torch' '$tmp/consumer/CMakeFiles/scan_summary.dir/flags.make'"

"$bin" phantom --out "$tmp/p.mhd" --flip --size 40 30 20 --spacing 0.75 0.75 2 --origin 10 20 -50 > /dev/null 2>&1
"$tmp/consumer/scan_summary" "$tmp/p.mhd" > "$tmp/summary.txt"; rc=$?
check "consumer runs" test "$rc" -eq 0
check "consumer reports the version" grep -qx "nodulecad $("$bin" --version | cut -d' ' -f2)" "$tmp/summary.txt"
check "consumer reads the size" grep -qx 'size 40 30 20' "$tmp/summary.txt"
check "consumer reads the flipped origin" grep -qx 'origin 39.25 41.75 -50' "$tmp/summary.txt"
check "consumer reads the direction" grep -qx 'direction -1 0 0 0 -1 0 0 0 1' "$tmp/summary.txt"
# The centre voxel (19.5, 14.5, 9.5): world = origin + D diag(s) index = (39.25 - 14.625, 41.75 - 10.875, -50 + 19).
check "consumer maps the centre to world mm" grep -qx 'centre 24.6250 30.8750 -31.0000' "$tmp/summary.txt"

printf 'seriesuid,coordX,coordY,coordZ,diameter_mm\na,0,0,0,10\nb,0,0,0,10\n' > "$tmp/ann.csv"
printf 'a\nb\n' > "$tmp/uids.csv"
printf 'seriesuid,coordX,coordY,coordZ,probability\na,1,0,0,0.9\na,50,0,0,0.8\nb,0,2,0,0.7\nb,0,60,0,0.6\n' > "$tmp/res.csv"
"$tmp/consumer/scan_summary" "$tmp/p.mhd" "$tmp/ann.csv" "$tmp/uids.csv" "$tmp/res.csv" > "$tmp/cpm.txt"
"$bin" evaluate --annotations "$tmp/ann.csv" --seriesuids "$tmp/uids.csv" --results "$tmp/res.csv" --out "$tmp/eval" --bootstrap 0 > "$tmp/eval.txt"
check "consumer scores as the command does" test "$(grep '^CPM' "$tmp/cpm.txt")" = "$(grep -o '^CPM [0-9.]*' "$tmp/eval.txt")"
check "consumer's CPM is 6/7" grep -qx 'CPM 0.8571' "$tmp/cpm.txt"

finish
