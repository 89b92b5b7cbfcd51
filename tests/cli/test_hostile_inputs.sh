#!/usr/bin/env bash
# Corrupt and hostile inputs through the real binary (docs/reliability.md has the table): each is one clear error
# line (exit 1) or a documented warning (exit 0), never a crash, a hang or a half-written output. `expect` checks
# the exit status, that the process was not killed by a signal, and the line it printed.
set -u
# shellcheck source=../check.sh
. "$(dirname "$0")/../check.sh"
start_test

# expect NAME STATUS REGEX COMMAND...: COMMAND exits with STATUS within 120 s and its stderr has a line matching REGEX
# (an extended regex, anchored by the caller where it matters; empty: stderr is not looked at).
expect() {
    local name=$1 status=$2 regex=$3; shift 3
    timeout 120 "$@" > "$tmp/out.txt" 2> "$tmp/err.txt"; local rc=$?
    tr '\r' '\n' < "$tmp/err.txt" > "$tmp/err_lines.txt"
    if [ "$rc" -eq "$status" ] && { [ -z "$regex" ] || grep -Eq -- "$regex" "$tmp/err_lines.txt"; }; then
        check "$name" true
        # The line itself, for the table in docs/reliability.md.
        [ -z "$regex" ] || grep -E -m 1 -- "$regex" "$tmp/err_lines.txt" | sed "s#$tmp/##g; s/^/       /" | cut -c 1-400
    else
        echo "     exit status $rc (wanted $status); stderr:"; head -c 2000 "$tmp/err_lines.txt" | sed 's/^/       /'
        check "$name" false
    fi
}

h='seriesuid,coordX,coordY,coordZ'
printf 'seriesuid\ns1\ns2\n' > "$tmp/uids.csv"
printf '%s,probability\ns1,0,0,0,0.9\n' "$h" > "$tmp/res.csv"
printf '%s,diameter_mm\ns1,0,0,0,6\n' "$h" > "$tmp/ann.csv"
score=("$bin" evaluate --bootstrap 0 --out "$tmp/ev" --manifest none)

# --- Tables ---
# A 1 GiB line (sparse: no disk used): refused within its first MiB, not read into memory.
printf '%s,diameter_mm\n' "$h" > "$tmp/huge_line.csv"; truncate -s 1G "$tmp/huge_line.csv"
expect "a 1 GiB line is refused at once" 1 "^nodulecad: error: .*huge_line.csv:2: line longer than 1 MiB: not a CSV table$" \
    "${score[@]}" --annotations "$tmp/huge_line.csv" --seriesuids "$tmp/uids.csv" --results "$tmp/res.csv"
# 100,000 columns: read; a missing column is named with the header's start only.
awk 'BEGIN { printf "seriesuid,coordX,coordY,coordZ,probability"; for (i = 0; i < 100000; i++) printf ",c%d", i; printf "\ns1,0,0,0,0.9"; for (i = 0; i < 100000; i++) printf ",0"; printf "\n" }' > "$tmp/wide.csv"
expect "100,000 columns are read" 0 "" "${score[@]}" --annotations "$tmp/ann.csv" --seriesuids "$tmp/uids.csv" --results "$tmp/wide.csv"
check "and scored" grep -q "^CPM 1.0000 " "$tmp/out.txt"
expect "a column missing from 100,000 is named, the header shortened" 1 "^nodulecad: error: .*wide.csv:1: missing column 'diameter_mm' \(header: seriesuid,coordX,.*\.\.\. \(100005 columns\)\)$" \
    "${score[@]}" --annotations "$tmp/wide.csv" --seriesuids "$tmp/uids.csv" --results "$tmp/res.csv"
printf '%s,diameter_mm\ns1,0,0,0,6\n1.2.\377\3763,1,2,3,4\n' "$h" > "$tmp/bytes.csv"
expect "a seriesuid that is not UTF-8 is refused" 1 "^nodulecad: error: .*bytes.csv:3:1: seriesuid is not UTF-8 text \(byte 0xFF at offset 4\)$" \
    "${score[@]}" --annotations "$tmp/bytes.csv" --seriesuids "$tmp/uids.csv" --results "$tmp/res.csv"
printf '%s,diameter_mm\ns1,0,0,nan,6\n' "$h" > "$tmp/nan.csv"
expect "a NaN coordinate is refused" 1 "^nodulecad: error: .*nan.csv:2:4: column 'coordZ': 'nan' is not finite$" \
    "${score[@]}" --annotations "$tmp/nan.csv" --seriesuids "$tmp/uids.csv" --results "$tmp/res.csv"
printf '%s,diameter_mm\ns1,0,0\n' "$h" > "$tmp/short_row.csv"
expect "a short row is refused" 1 "^nodulecad: error: .*short_row.csv:2: row has 3 fields, column 'coordZ' is field 4 of the header$" \
    "${score[@]}" --annotations "$tmp/short_row.csv" --seriesuids "$tmp/uids.csv" --results "$tmp/res.csv"
: > "$tmp/empty.csv"
expect "an empty table is refused" 1 "^nodulecad: error: .*empty.csv: empty file: expected a header line$" \
    "${score[@]}" --annotations "$tmp/empty.csv" --seriesuids "$tmp/uids.csv" --results "$tmp/res.csv"
printf '%s,diameter_mm\n' "$h" > "$tmp/header_only.csv"
printf 'seriesuid\ns1\ns2\ns1\n' > "$tmp/uids_twice.csv"
expect "a header-only table: the CPM is undefined, said" 0 "^nodulecad: warning: no nodule of .*header_only.csv is on the scans .*uids_twice.csv lists: sensitivities and the CPM are undefined \(shown as 0\)$" \
    "${score[@]}" --annotations "$tmp/header_only.csv" --seriesuids "$tmp/uids_twice.csv" --results "$tmp/res.csv"
check "a uid listed twice: said" grep -q "^nodulecad: warning: .*uids_twice.csv lists s1 more than once (counted once)$" "$tmp/err.txt"
printf '%s,diameter_mm\ns1,0,0,0,-4\ns2,5,5,5,6\nelsewhere,1,1,1,6\n' "$h" > "$tmp/bad.csv"
expect "a negative diameter: said, scored all the same" 0 "^nodulecad: warning: .*bad.csv: 1 nodules on the listed scans have a diameter that is not positive" \
    "${score[@]}" --annotations "$tmp/bad.csv" --seriesuids "$tmp/uids.csv" --results "$tmp/res.csv"
check "a nodule on an unlisted scan is not worth a warning (one fold against the whole table)" test "$(grep -c 'warning' "$tmp/err.txt")" -eq 1

# --- Scans ---
"$bin" synth --out "$tmp/cohort" --scans 2 --preset small --seed 3 --threads 2 2> /dev/null
scan=$(find "$tmp/cohort" -name '*.mhd' | sort | head -n 1)
uid=$(basename "$scan" .mhd)
raw=${scan%.mhd}.raw
mkdir -p "$tmp/cut"
sed "s|ElementDataFile = .*|ElementDataFile = cut.raw|" "$scan" > "$tmp/cut/cut.mhd"; head -c 1000 "$raw" > "$tmp/cut/cut.raw"
expect "a truncated .raw" 1 "^nodulecad: error: .*cut.raw: data file too short: 128x128x[0-9]+ MET_SHORT needs [0-9]+ bytes, the file holds 1000 bytes$" "$bin" info "$tmp/cut/cut.mhd"
"$bin" convert "$scan" "$tmp/cut/z.mhd" --compress > /dev/null 2>&1
head -c 3000 "$tmp/cut/z.zraw" > "$tmp/cut/zt.zraw"; sed 's|z.zraw|zt.zraw|' "$tmp/cut/z.mhd" > "$tmp/cut/zt.mhd"
expect "a truncated .zraw" 1 "^nodulecad: error: .*zt.zraw: data file too short: CompressedDataSize is [0-9]+ bytes, the file holds 3000 bytes$" "$bin" info "$tmp/cut/zt.mhd"
head -c 3000 /dev/urandom > "$tmp/cut/junk.mhd"
expect "a garbage header" 1 "^nodulecad: error: .*junk.mhd" "$bin" info "$tmp/cut/junk.mhd"
printf 'NDims = 3\nDimSize = 100000 100000 100000\nElementType = MET_FLOAT\nElementDataFile = x.raw\n' > "$tmp/cut/huge.mhd"
expect "a header claiming 4 PB is refused before reading" 1 "^nodulecad: error: .*huge.mhd: image 100000x100000x100000 MET_FLOAT needs 4000000000000000 bytes, over the memory limit of 17179869184 bytes$" \
    "$bin" info "$tmp/cut/huge.mhd"
expect "--max-memory-gb: refused with the figure it would need" 1 "^nodulecad: error: .*\.mhd: a 128x128x[0-9]+ scan needs about 0\.[0-9] GB in segment-lungs \(0\.2 GB \+ 5\.1 bytes a voxel\), over the memory limit of 0\.1 GB \(--max-memory-gb\)$" \
    "$bin" segment-lungs "$scan" --out "$tmp/cut/lungs.mhd" --max-memory-gb 0.1
check "and wrote nothing" test ! -e "$tmp/cut/lungs.mhd"
# NaN and infinite voxels in a float scan; a scan of one value.
awk 'BEGIN { printf "ObjectType = Image\nNDims = 3\nDimSize = 32 32 8\nElementSpacing = 1 1 2\nElementType = MET_FLOAT\nElementDataFile = nan.raw\n" }' > "$tmp/cut/nan.mhd"
{ printf '\000\000\300\177'; head -c $((32 * 32 * 8 * 4 - 8)) /dev/zero; printf '\000\000\200\177'; } > "$tmp/cut/nan.raw"
expect "NaN/Inf voxels: said, read as 0 HU" 0 "^nodulecad: warning: .*nan.mhd: 2 of 8192 voxels are NaN or infinite: read as 0 HU$" \
    "$bin" segment-lungs "$tmp/cut/nan.mhd" --out "$tmp/cut/nan_lungs.mhd"
sed 's|nan.raw|flat.raw|; s|MET_FLOAT|MET_SHORT|' "$tmp/cut/nan.mhd" > "$tmp/cut/flat.mhd"; head -c $((32 * 32 * 8 * 2)) /dev/zero > "$tmp/cut/flat.raw"
expect "a scan of one value: no lungs, said" 0 "^nodulecad: warning: .*flat.mhd: no lungs found \(no air component of at least 5 ml inside the body\)$" \
    "$bin" segment-lungs "$tmp/cut/flat.mhd" --out "$tmp/cut/flat_lungs.mhd"
# Paths with spaces and beyond ASCII.
mkdir -p "$tmp/a folder/sübdir é"
cp "$scan" "$raw" "$tmp/a folder/sübdir é/"
expect "a path with spaces and non-ASCII names" 0 "" "$bin" segment-lungs "$tmp/a folder/sübdir é/$uid.mhd" --out "$tmp/a folder/sübdir é/lungs ü.nii.gz"
check "writes there" test -s "$tmp/a folder/sübdir é/lungs ü.nii.gz"

# --- Cohorts and their annotations ---
cp -r "$tmp/cohort" "$tmp/odd"
{ echo "$uid,9999,9999,9999,6"; echo "$uid,10,10,10,0"; echo "not.in.the.data,1,2,3,6"; } >> "$tmp/odd/annotations.csv"
expect "a nodule outside its scan: said" 0 "^nodulecad: warning: .*$uid.mhd: the nodule at \(9999, 9999, 9999\) mm lies outside the scan \(voxel \([0-9-]+, [0-9-]+, [0-9-]+\) of 128x128x[0-9]+\): its coordinates or its seriesuid are wrong$" \
    "$bin" preprocess --data "$tmp/odd" --out "$tmp/odd_prep" --size 64 --pixel-mm 5
check "a zero diameter: said" grep -q "^nodulecad: warning: .*$uid.mhd: the nodule at (10, 10, 10) mm has diameter 0 mm: not drawn in any mask$" "$tmp/err_lines.txt"
check "annotations of a scan not in the data: said" grep -q "^nodulecad: warning: .*annotations for not.in.the.data but no scan of that seriesuid under" "$tmp/err_lines.txt"
mkdir -p "$tmp/odd/subset9"; cp "$scan" "$raw" "$tmp/odd/subset9/"
expect "the same seriesuid twice in the data" 1 "^nodulecad: error: .*$uid.mhd: the same seriesuid also at .*subset9/$uid.mhd$" \
    "$bin" preprocess --data "$tmp/odd" --out "$tmp/odd_prep2" --size 64 --pixel-mm 5

# --- Checkpoints and bundles (LibTorch builds) ---
if "$bin" train --help 2>&1 | grep -q -- '--resume'; then
    "$bin" preprocess --data "$tmp/cohort" --out "$tmp/prep" --size 64 --pixel-mm 5 2> /dev/null
    "$bin" train --data "$tmp/prep" --out "$tmp/run" --filters 4 --depth 3 --batch 2 --epochs 1 --threads 1 2> /dev/null
    printf 'not a checkpoint' > "$tmp/garbage.pt"
    expect "a garbage checkpoint" 1 "^nodulecad: error: .*garbage.pt: not a nodulecad checkpoint \(cannot be read as a LibTorch archive: " \
        "$bin" predict --model "$tmp/garbage.pt" --data "$scan" --out "$tmp/pred"
    head -c 3000 "$tmp/run/best.pt" > "$tmp/cut.pt"
    expect "a truncated checkpoint" 1 "^nodulecad: error: .*cut.pt: not a nodulecad checkpoint" "$bin" predict --model "$tmp/cut.pt" --data "$scan" --out "$tmp/pred"
    expect "the other network's checkpoint" 1 "^nodulecad: error: .*best.pt: this is a unet model, not a 3D detector$" \
        "$bin" detect --detector3d "$tmp/run/best.pt" --data "$tmp/cohort" --out "$tmp/c.csv"
    check "no output left behind" test ! -e "$tmp/pred/$uid.mhd" -a ! -e "$tmp/c.csv"
    mkdir -p "$tmp/bundle"
    printf '{"format": "nodulecad-model", "format_version": 99, "nodulecad_version": "9.0.0"}\n' > "$tmp/bundle/model.json"
    expect "a bundle of another version" 1 "^nodulecad: error: .*model.json: bundle format 99 \(written by nodulecad 9.0.0\); this nodulecad " \
        "$bin" infer --model "$tmp/bundle" --data "$scan" --out "$tmp/inf"
    printf 'garbage' > "$tmp/bundle/model.json"
    expect "a garbage bundle card" 1 "^nodulecad: error: .*model.json: not a model bundle card: " "$bin" infer --model "$tmp/bundle" --data "$scan" --out "$tmp/inf"
else
    echo "skipped: checkpoints and bundles (this build has no LibTorch)"
fi

finish
