#!/usr/bin/env bash
# End-to-end checks of the nodulecad command: exit codes, the JSON of `info`, one-line errors, no partial files.
set -u
bin=${NODULECAD:?set NODULECAD to the nodulecad binary}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# shellcheck source=../check.sh
. "$(dirname "$0")/../check.sh"
has() { grep -qF -- "$2" "$1"; }  # has FILE FIXED-STRING

"$bin" --version > "$tmp/version.txt"
check "version" grep -q '^nodulecad [0-9]' "$tmp/version.txt"
"$bin" --help > "$tmp/help.txt"
check "help lists info" grep -q 'info' "$tmp/help.txt"
"$bin" info --help > "$tmp/info_help.txt"
check "info help explains --world-to-index" grep -q -- '--world-to-index' "$tmp/info_help.txt"
"$bin" > /dev/null 2>&1; rc=$?
check "no subcommand exits non-zero" test "$rc" -ne 0

# A flipped phantom: LUNA16's TransformMatrix -1 0 0 0 -1 0 0 0 1.
"$bin" phantom --out "$tmp/p.mhd" --flip --size 40 30 20 --spacing 0.75 0.75 2 --origin 10 20 -50 \
    --annotations "$tmp/ann.csv" 2> "$tmp/phantom.err"
check "phantom writes header" test -f "$tmp/p.mhd"
check "phantom writes raw" test "$(stat -c %s "$tmp/p.raw")" -eq $((40 * 30 * 20 * 2))
check "phantom header flipped" grep -q 'TransformMatrix = -1 0 0 0 -1 0 0 0 1' "$tmp/p.mhd"

"$bin" info "$tmp/p.mhd" --index-to-world 2 4 6 --world-to-index 0 0 0 > "$tmp/info.json"
check "info exit 0" test $? -eq 0
check "info is one line" test "$(wc -l < "$tmp/info.json")" -eq 1
check "info size" has "$tmp/info.json" '"size":[40,30,20]'
check "info direction row-major" has "$tmp/info.json" '"direction":[-1.0,0.0,0.0,0.0,-1.0,0.0,0.0,0.0,1.0]'
check "info element type" has "$tmp/info.json" '"element_type":"MET_SHORT"'
check "info min/max" has "$tmp/info.json" '"min":-1000.0,"max":40.0'
# flip keeps the world field of view: origin moved to the far corner (10 + 39*0.75, 20 + 29*0.75).
check "info origin" has "$tmp/info.json" '"origin":[39.25,41.75,-50.0]'
# world = origin + D * diag(s) * (2,4,6) = (39.25 - 1.5, 41.75 - 3, -50 + 12)
check "index_to_world" has "$tmp/info.json" '"index_to_world":{"index":[2.0,4.0,6.0],"world":[37.75,38.75,-38.0]}'
# index = diag(1/s) D^T (world - origin) = (39.25/0.75, 41.75/0.75, 50/2)
check "world_to_index" grep -qE '"world_to_index":\{"world":\[0.0,0.0,0.0\],"index":\[52.33333333[0-9]*,55.66666666[0-9]*,25.0\]\}' "$tmp/info.json"

# Errors: one line on stderr naming the file, non-zero exit, nothing on stdout.
printf 'NDims = 3\nDimSize = 4 4 4\nElementType = MET_SHORT\nElementDataFile = short.raw\n' > "$tmp/short.mhd"
head -c 10 /dev/zero > "$tmp/short.raw"
"$bin" info "$tmp/short.mhd" > "$tmp/out.txt" 2> "$tmp/err.txt"; rc=$?
check "short data exits 1" test "$rc" -eq 1
check "short data message" grep -q 'short.raw: data file too short: 4x4x4 MET_SHORT needs 128 bytes, the file holds 10 bytes' "$tmp/err.txt"
check "error is one line" test "$(wc -l < "$tmp/err.txt")" -eq 1
check "nothing on stdout" test ! -s "$tmp/out.txt"
head -c 3000 /dev/urandom > "$tmp/junk.mhd"
"$bin" info "$tmp/junk.mhd" > /dev/null 2> "$tmp/err.txt"; rc=$?
check "garbage exits 1" test "$rc" -eq 1
check "garbage names file" grep -q 'junk.mhd' "$tmp/err.txt"
printf 'NDims = 3\nDimSize = 100000 100000 100000\nElementType = MET_FLOAT\nElementDataFile = x.raw\n' > "$tmp/huge.mhd"
"$bin" info "$tmp/huge.mhd" --max-memory-gb 1 > /dev/null 2> "$tmp/err.txt"; rc=$?
check "huge exits 1 before allocating" test "$rc" -eq 1
check "huge names memory limit" grep -q 'memory limit' "$tmp/err.txt"
"$bin" info "$tmp/p.mhd" --index-to-world 1 2 > /dev/null 2>&1; rc=$?
check "bad option arity exits non-zero" test "$rc" -ne 0
"$bin" phantom --out "$tmp/new/sub/x.mhd" --size 8 8 4 2> /dev/null
check "phantom creates output folders" test -f "$tmp/new/sub/x.raw"
"$bin" phantom --out "$tmp/p.raw/x.mhd" > /dev/null 2> "$tmp/err.txt"; rc=$?
check "unwritable output exits 1" test "$rc" -eq 1
check "unwritable output says why" grep -q 'cannot create output folder' "$tmp/err.txt"
check "no temporaries left" test -z "$(ls "$tmp" | grep tmp- || true)"

# synth: a small cohort in the LUNA16 layout; bad arguments rejected before anything is written.
"$bin" synth --out "$tmp/cohort" --scans 2 --preset small --seed 3 --flip-fraction 0.5 --threads 2 2> "$tmp/synth.err"; rc=$?
check "synth exit 0" test "$rc" -eq 0
check "synth reports counts" grep -q 'wrote 2 scans (1 flipped)' "$tmp/synth.err"
check "synth seriesuids" test "$(wc -l < "$tmp/cohort/seriesuids.csv")" -eq 2
check "synth annotations header" grep -qx 'seriesuid,coordX,coordY,coordZ,diameter_mm' "$tmp/cohort/annotations.csv"
check "synth subsets" test -f "$(ls "$tmp"/cohort/subset1/*.mhd | head -1)"
check "synth truth masks" test "$(ls "$tmp"/cohort/truth/*_lungs.mhd | wc -l)" -eq 2
check "synth manifest" grep -q '"preset": "small"' "$tmp/cohort/manifest.json"
scan=$(ls "$tmp"/cohort/subset0/*.mhd | head -1)
"$bin" info "$scan" > "$tmp/synth_info.json"
check "synth scan is MET_SHORT 128x128" has "$tmp/synth_info.json" '"element_type":"MET_SHORT"'
check "synth scan in-plane size" grep -q '"size":\[128,128,' "$tmp/synth_info.json"
"$bin" synth --out "$tmp/bad" --scans 2 --preset huge > /dev/null 2> "$tmp/err.txt"; rc=$?
check "synth bad preset exits non-zero" test "$rc" -ne 0
check "synth bad preset writes nothing" test ! -e "$tmp/bad"
check "synth bad preset names the choices" grep -qF -- "--preset: must be small, demo or full, got 'huge'" "$tmp/err.txt"
"$bin" synth --out "$tmp/bad" --scans 2 --preset 1 > /dev/null 2>&1; rc=$?
check "synth preset as a number is refused" test "$rc" -ne 0
"$bin" synth --help > "$tmp/help.txt"
check "synth help lists the preset names" grep -qF -- "--preset {small,demo,full}=demo" "$tmp/help.txt"
"$bin" synth --out "$tmp/bad" --scans 0 > /dev/null 2>&1; rc=$?
check "synth zero scans exits non-zero" test "$rc" -ne 0
"$bin" synth --out "$tmp/bad" --scans 2 --full-fraction 1.5 > /dev/null 2> "$tmp/err.txt"; rc=$?
check "synth bad full fraction exits non-zero" test "$rc" -ne 0
check "synth bad full fraction names the option" grep -q -- '--full-fraction' "$tmp/err.txt"
check "synth bad full fraction writes nothing" test ! -e "$tmp/bad"

# slice: a PNG of the scan, with the nodule labels as overlay.
uid=$(basename "$scan" .mhd)
"$bin" slice "$scan" --plane coronal --overlay "$tmp/cohort/truth/${uid}_nodules.mhd" --out "$tmp/cor.png"; rc=$?
check "slice exit 0" test "$rc" -eq 0
check "slice writes a PNG" test "$(head -c 4 "$tmp/cor.png" | tail -c 3)" = "PNG"
"$bin" slice "$scan" --plane oblique --out "$tmp/x.png" > /dev/null 2> "$tmp/err.txt"; rc=$?
check "slice bad plane exits 1" test "$rc" -eq 1
"$bin" slice "$scan" --overlay "$tmp/p.mhd" --out "$tmp/x.png" > /dev/null 2> "$tmp/err.txt"; rc=$?
check "slice overlay geometry mismatch exits 1" test "$rc" -eq 1
check "slice mismatch says why" grep -q 'geometry differs' "$tmp/err.txt"

# segment-lungs: mask with the scan's geometry, JSON line with Dice against the truth.
truth="$tmp/cohort/truth/${uid}_lungs.mhd"
"$bin" segment-lungs "$scan" --out "$tmp/seg/lungs.mhd" --truth "$truth" > "$tmp/seg.json"; rc=$?
check "segment-lungs exit 0" test "$rc" -eq 0
check "segment-lungs writes the mask" test -f "$tmp/seg/lungs.raw"
check "segment-lungs reports dice" grep -qE '"dice":0\.9[789][0-9]*' "$tmp/seg.json"
"$bin" segment-lungs "$scan" --out "$tmp/seg/seed.mhd" --method seed --truth "$truth" > "$tmp/seed.json"; rc=$?
check "segment-lungs seed method exit 0" test "$rc" -eq 0
check "seed method reports dice" grep -q '"method":"seed"' "$tmp/seed.json"
"$bin" segment-lungs "$scan" --out "$tmp/seg/x.mhd" --truth "$tmp/p.mhd" > /dev/null 2> "$tmp/err.txt"; rc=$?
check "segment-lungs truth mismatch exits 1" test "$rc" -eq 1
check "segment-lungs mismatch says why" grep -q 'geometry differs' "$tmp/err.txt"

# preprocess: the dataset files, then a resumed run.
"$bin" preprocess --data "$tmp/cohort" --out "$tmp/prep" --size 64 --pixel-mm 5 2> "$tmp/prep.err"; rc=$?
check "preprocess exit 0" test "$rc" -eq 0
for f in images.npy masks.npy index.csv stats.json; do check "preprocess writes $f" test -s "$tmp/prep/$f"; done
check "preprocess index header" grep -q '^row,seriesuid,scan,subset,split,slice,world_z' "$tmp/prep/index.csv"
"$bin" preprocess --data "$tmp/cohort" --out "$tmp/prep" --size 64 --pixel-mm 5 2> "$tmp/prep2.err"; rc=$?
check "preprocess resume exit 0" test "$rc" -eq 0
check "preprocess resume reuses both scans" grep -q '(2 reused' "$tmp/prep2.err"
# --mask-min-diameter-mm: the small nodules' targets widened (more slices cross one), recorded; a negative one refused.
"$bin" preprocess --data "$tmp/cohort" --out "$tmp/prepwide" --size 64 --pixel-mm 5 --mask-min-diameter-mm 20 2> "$tmp/prepwide.err"; rc=$?
positives() { grep -o '"positives": [0-9]*' "$1" | grep -o '[0-9]*$'; }
check "preprocess --mask-min-diameter-mm 20: more positive slices" test "$rc" -eq 0 -a "$(positives "$tmp/prepwide/stats.json")" -gt "$(positives "$tmp/prep/stats.json")"
check "preprocess --mask-min-diameter-mm 20: recorded in stats.json" grep -q '"mask_min_diameter_mm": 20.0' "$tmp/prepwide/stats.json"
"$bin" preprocess --data "$tmp/cohort" --out "$tmp/prepbad" --mask-min-diameter-mm -2 > /dev/null 2> "$tmp/err.txt"; rc=$?
check "preprocess --mask-min-diameter-mm -2 refused, nothing written" sh -c "test $rc -ne 0 && grep -q 'mask-min-diameter-mm' '$tmp/err.txt' && test ! -e '$tmp/prepbad'"
"$bin" preprocess --data "$tmp/nothing" --out "$tmp/prep3" > /dev/null 2> "$tmp/err.txt"; rc=$?
check "preprocess missing data exits 1" test "$rc" -eq 1
check "preprocess missing data says why" grep -q 'data folder not found' "$tmp/err.txt"

# evaluate: the official protocol on a tiny case (CPM 6/7), outputs, and malformed input.
printf 'seriesuid,coordX,coordY,coordZ,diameter_mm\na,0,0,0,10\nb,0,0,0,10\n' > "$tmp/ann.csv"
printf 'a\nb\n' > "$tmp/uids.csv"
printf 'seriesuid,coordX,coordY,coordZ,probability\na,1,0,0,0.9\na,50,0,0,0.8\nb,0,2,0,0.7\nb,0,60,0,0.6\n' > "$tmp/res.csv"
"$bin" evaluate --annotations "$tmp/ann.csv" --seriesuids "$tmp/uids.csv" --results "$tmp/res.csv" --out "$tmp/eval" --bootstrap 200 > "$tmp/eval.txt"; rc=$?
check "evaluate exit 0" test "$rc" -eq 0
check "evaluate prints the CPM" grep -q '^CPM 0.8571' "$tmp/eval.txt"
for f in summary.json froc.csv missed_nodules.csv froc.svg froc.png errors.csv errors.svg errors.png subgroups.csv; do check "evaluate writes $f" test -s "$tmp/eval/$f"; done
check "evaluate scores the 10 mm bin" grep -q '^diameter,10-20 mm,2,2,1,1,1$' "$tmp/eval/subgroups.csv"
check "summary has the cpm" grep -q '"cpm": 0.857142857142857' "$tmp/eval/summary.json"
check "summary has the interval" grep -q '"cpm_ci"' "$tmp/eval/summary.json"
"$bin" report --eval "$tmp/eval" --out "$tmp/report/report.html" 2> /dev/null; rc=$?
check "report exit 0" test "$rc" -eq 0
check "report has the CPM" grep -q 'CPM 0.857' "$tmp/report/report.html"
check "report shows the subgroups" grep -q 'Sensitivity by size and kind' "$tmp/report/report.html"
# On a synthetic cohort the manifest beside annotations.csv adds kinds and locations (every nodule marked: found).
awk -F, 'NR == 1 { print "seriesuid,coordX,coordY,coordZ,probability"; next } { print $1 "," $2 "," $3 "," $4 ",0.9" }' "$tmp/cohort/annotations.csv" > "$tmp/truth_res.csv"
"$bin" evaluate --annotations "$tmp/cohort/annotations.csv" --seriesuids "$tmp/cohort/seriesuids.csv" --results "$tmp/truth_res.csv" --out "$tmp/eval_syn" --bootstrap 0 > /dev/null 2> "$tmp/eval_syn.err"; rc=$?
check "evaluate on a synth cohort exit 0" test "$rc" -eq 0
check "evaluate finds the manifest: kinds" grep -q '^kind,solid,' "$tmp/eval_syn/subgroups.csv"
check "evaluate finds the manifest: locations" grep -q '^location,' "$tmp/eval_syn/subgroups.csv"
check "every synth nodule is in the manifest" grep -q '"manifest_unmatched": 0' "$tmp/eval_syn/summary.json"
check "evaluate prints the subgroups" grep -q 'kind     solid' "$tmp/eval_syn.err"
check "evaluate says what each scan's first 10, 30 and 100 marks hit: every nodule" grep -qE '^  the first 10 / 30 / 100 marks of a scan hit ([0-9]+) / \1 / \1 of \1 nodules \(' "$tmp/eval_syn.err"
"$bin" evaluate --annotations "$tmp/cohort/annotations.csv" --seriesuids "$tmp/cohort/seriesuids.csv" --results "$tmp/truth_res.csv" --out "$tmp/eval_syn2" --bootstrap 0 --manifest none > /dev/null 2>&1
check "evaluate --manifest none: sizes only" sh -c "! grep -q '^kind,' '$tmp/eval_syn2/subgroups.csv'"
check "report is self-contained" sh -c "! grep -qE '(src|href)=\"(https?:|//)' \"$tmp/report/report.html\""
printf 'seriesuid,coordX,coordY,coordZ,probability\na,1,0,0,0.9\nb,0,two,0,0.7\n' > "$tmp/bad.csv"
"$bin" evaluate --annotations "$tmp/ann.csv" --seriesuids "$tmp/uids.csv" --results "$tmp/bad.csv" --out "$tmp/eval2" > /dev/null 2> "$tmp/err.txt"; rc=$?
check "evaluate malformed CSV exits 1" test "$rc" -eq 1
check "evaluate names file, line and column" grep -q "bad.csv:3:3: column 'coordY': 'two' is not a number" "$tmp/err.txt"
# compare: the tiny case above (CPM 6/7) against a system that finds a's nodule only (CPM 1/2), paired bootstrap.
printf 'seriesuid,coordX,coordY,coordZ,probability\na,1,0,0,0.9\nb,0,60,0,0.6\n' > "$tmp/res_a_only.csv"
"$bin" compare --annotations "$tmp/ann.csv" --seriesuids "$tmp/uids.csv" --baseline "$tmp/res.csv" --results "$tmp/res_a_only.csv" \
    --bootstrap 200 --out "$tmp/compare.json" > "$tmp/compare.txt"; rc=$?
check "compare exit 0" test "$rc" -eq 0
check "compare prints both CPMs" sh -c "grep -q '^baseline CPM 0.8571' '$tmp/compare.txt' && grep -q '^results  CPM 0.5000' '$tmp/compare.txt'"
check "compare prints the difference with its paired interval" grep -qE '^results - baseline: CPM -0.3571 \(paired 95% CI [-+][01]\.[0-9]{4} to [-+][01]\.[0-9]{4}; .* of 200 resamples of the 2 scans' "$tmp/compare.txt"
check "compare names who found what" grep -qx 'nodules: 1 found by both, 1 by the baseline only, 0 by the results only, 0 by neither' "$tmp/compare.txt"
check "compare writes JSON" sh -c "grep -q '\"found_by_baseline_only\"' '$tmp/compare.json' && grep -q '\"seriesuid\": \"b\"' '$tmp/compare.json'"
"$bin" compare --annotations "$tmp/ann.csv" --seriesuids "$tmp/uids.csv" --baseline "$tmp/res.csv" --results "$tmp/res.csv" > "$tmp/compare_same.txt"; rc=$?
check "compare of a system with itself: no difference" sh -c "test $rc -eq 0 && grep -q 'CPM +0.0000 (paired 95% CI +0.0000 to +0.0000; results above the baseline in 0.0 %' '$tmp/compare_same.txt'"
"$bin" compare --annotations "$tmp/ann.csv" --seriesuids "$tmp/uids.csv" --baseline "$tmp/res.csv" --results "$tmp/bad.csv" --out "$tmp/compare_bad.json" > /dev/null 2> "$tmp/err.txt"; rc=$?
check "compare malformed CSV exits 1, names the file and writes nothing" sh -c "test $rc -eq 1 && grep -q 'bad.csv:3:3' '$tmp/err.txt' && test ! -e '$tmp/compare_bad.json'"
"$bin" compare --annotations "$tmp/ann.csv" --seriesuids "$tmp/uids.csv" --results "$tmp/res.csv" > /dev/null 2> "$tmp/err.txt"; rc=$?
check "compare without --baseline exits non-zero and says so" sh -c "test $rc -ne 0 && grep -q 'baseline' '$tmp/err.txt'"
# compare over two groups (two runs, each on its own scans): each scored alone, the mean of their CPMs compared.
# Group 1 is the case above (6/7 against 1/2); group 2 is one scan, c, whose nodule both systems find (1 and 1).
printf 'seriesuid,coordX,coordY,coordZ,diameter_mm\nc,0,0,0,10\n' > "$tmp/ann_c.csv"
printf 'c\n' > "$tmp/uids_c.csv"
printf 'seriesuid,coordX,coordY,coordZ,probability\nc,1,0,0,0.9\n' > "$tmp/res_c.csv"
printf 'seriesuid,coordX,coordY,coordZ,probability\nc,0,1,0,0.001\n' > "$tmp/res_c_low.csv"
"$bin" compare --annotations "$tmp/ann.csv" "$tmp/ann_c.csv" --seriesuids "$tmp/uids.csv" "$tmp/uids_c.csv" --baseline "$tmp/res.csv" "$tmp/res_c.csv" \
    --results "$tmp/res_a_only.csv" "$tmp/res_c_low.csv" --bootstrap 200 --out "$tmp/compare_groups.json" > "$tmp/compare_groups.txt"; rc=$?
check "compare over groups exit 0" test "$rc" -eq 0
check "compare prints each group" sh -c "grep -qF 'group 1 ($tmp/uids.csv): 2 scans, 2 nodules; baseline CPM 0.8571 (2 found), results 0.5000 (1 found), difference -0.3571' '$tmp/compare_groups.txt' && grep -qF 'group 2 ($tmp/uids_c.csv): 1 scans, 1 nodules; baseline CPM 1.0000 (1 found), results 1.0000 (1 found), difference +0.0000' '$tmp/compare_groups.txt'"
check "compare over groups: the mean of the groups' CPMs" sh -c "grep -q '^baseline CPM 0.9286 (mean of 2 groups; 95% CI' '$tmp/compare_groups.txt' && grep -q '^results  CPM 0.7500 (mean of 2 groups; 95% CI' '$tmp/compare_groups.txt' && grep -q '^results - baseline: CPM -0.1786 (paired 95% CI .* of the 3 scans within each of the 2 groups' '$tmp/compare_groups.txt'"
check "compare over groups writes each group in JSON" sh -c "grep -q '\"groups\"' '$tmp/compare_groups.json' && grep -qF '\"seriesuids\": \"$tmp/uids_c.csv\"' '$tmp/compare_groups.json'"
"$bin" compare --annotations "$tmp/ann.csv" --seriesuids "$tmp/uids.csv" "$tmp/uids_c.csv" --baseline "$tmp/res.csv" --results "$tmp/res.csv" "$tmp/res_c.csv" > /dev/null 2> "$tmp/err.txt"; rc=$?
check "compare with a --baseline missing for a group exits 1 and says so" sh -c "test $rc -eq 1 && grep -qF 'nodulecad: error: --baseline and --results need one file each per --seriesuids file (one group each): got 2 --seriesuids, 1 --baseline, 2 --results' '$tmp/err.txt'"
"$bin" compare --annotations "$tmp/ann.csv" --seriesuids "$tmp/uids.csv" "$tmp/uids.csv" --baseline "$tmp/res.csv" "$tmp/res.csv" --results "$tmp/res.csv" "$tmp/res.csv" > /dev/null 2> "$tmp/err.txt"; rc=$?
check "compare refuses a scan in two groups" sh -c "test $rc -eq 1 && grep -q 'is listed twice (group 2)' '$tmp/err.txt'"

"$bin" evaluate-seg --pred "$tmp/cohort" --truth "$tmp/cohort/truth" --out "$tmp/seg_x" > /dev/null 2> "$tmp/err.txt"; rc=$?
check "evaluate-seg without predictions exits 1" test "$rc" -eq 1
check "evaluate-seg says why" grep -q 'no <uid>_prob.mhd' "$tmp/err.txt"

# detect: the truth label volumes as "probabilities" give back every nodule; evaluate scores that CPM 1.
mkdir -p "$tmp/truthpred"
for f in "$tmp"/cohort/truth/*_nodules.mhd; do
    u=$(basename "$f" _nodules.mhd)
    cp "$f" "$tmp/truthpred/${u}_prob.mhd"
    cp "${f%.mhd}.zraw" "$tmp/truthpred/"  # the truth masks are zlib-compressed
done
"$bin" detect --pred "$tmp/truthpred" --out "$tmp/cands.csv" --threshold 0.001 2> "$tmp/detect.err"; rc=$?
check "detect exit 0" test "$rc" -eq 0
check "detect header" grep -qx 'seriesuid,coordX,coordY,coordZ,probability,diameter_mm' "$tmp/cands.csv"
check "detect finds one candidate per nodule" test "$(($(wc -l < "$tmp/cands.csv") - 1))" -eq "$(($(wc -l < "$tmp/cohort/annotations.csv") - 1))"
"$bin" evaluate --annotations "$tmp/cohort/annotations.csv" --seriesuids "$tmp/cohort/seriesuids.csv" --results "$tmp/cands.csv" --out "$tmp/eval_detect" --bootstrap 0 > "$tmp/eval_detect.txt"; rc=$?
check "detect -> evaluate: CPM 1" grep -q '^CPM 1.0000' "$tmp/eval_detect.txt"
check "detect diameters reach the error table" sh -c "grep -A1 '\"diameter\": {' '$tmp/eval_detect/summary.json' | grep -q '\"count\": [1-9]'"
"$bin" detect --pred "$tmp/truthpred" --out "$tmp/sub.csv" --threshold 0.001 --submission 2> /dev/null
check "detect submission has exactly the LUNA16 columns" grep -qx 'seriesuid,coordX,coordY,coordZ,probability' <(head -1 "$tmp/sub.csv")
check "detect submission rows have 5 fields" test "$(awk -F, 'NR > 1 && NF != 5' "$tmp/sub.csv" | wc -l)" -eq 0
"$bin" detect --pred "$tmp/cohort" --out "$tmp/x.csv" > /dev/null 2> "$tmp/err.txt"; rc=$?
check "detect without predictions exits 1" test "$rc" -eq 1

# detect --blobs: the scans add blob candidates that no truth component covers, at most 3 per scan, ranked after
# every nodule (their probability is the truth volume's there, 0), so the CPM stays 1.
"$bin" detect --pred "$tmp/truthpred" --out "$tmp/cands_blobs.csv" --threshold 0.001 --blobs 3 --data "$tmp/cohort" 2> /dev/null; rc=$?
check "detect --blobs exit 0" test "$rc" -eq 0
added=$(($(wc -l < "$tmp/cands_blobs.csv") - $(wc -l < "$tmp/cands.csv")))
check "detect --blobs adds up to 3 candidates per scan" sh -c "test $added -gt 0 && test $added -le $((3 * $(ls "$tmp"/truthpred/*_prob.mhd | wc -l)))"
"$bin" evaluate --annotations "$tmp/cohort/annotations.csv" --seriesuids "$tmp/cohort/seriesuids.csv" --results "$tmp/cands_blobs.csv" --out "$tmp/eval_blobs" --bootstrap 0 > "$tmp/eval_blobs.txt"
check "detect --blobs keeps every nodule first: CPM 1" grep -q '^CPM 1.0000' "$tmp/eval_blobs.txt"
"$bin" detect --pred "$tmp/truthpred" --out "$tmp/x.csv" --blobs 3 > /dev/null 2> "$tmp/err.txt"; rc=$?
check "detect --blobs without --data exits 1 and says why" sh -c "test $rc -eq 1 && grep -q 'blobs needs' '$tmp/err.txt'"
# --blobs-uncovered: the 3 strongest blobs no truth component covers, so exactly 3 a scan and at least as many as
# without it (which counts the blobs under the nodules too).
"$bin" detect --pred "$tmp/truthpred" --out "$tmp/cands_unc.csv" --threshold 0.001 --blobs 3 --blobs-uncovered --data "$tmp/cohort" 2> /dev/null; rc=$?
added_unc=$(($(wc -l < "$tmp/cands_unc.csv") - $(wc -l < "$tmp/cands.csv")))
"$bin" detect --pred "$tmp/truthpred" --out "$tmp/x_unc.csv" --blobs-uncovered --data "$tmp/cohort" > /dev/null 2> "$tmp/err.txt"; rc2=$?
check "detect --blobs-uncovered without --blobs exits 1 and says why" sh -c "test $rc2 -eq 1 && grep -q 'needs --blobs' '$tmp/err.txt' && test ! -e '$tmp/x_unc.csv'"
check "detect --blobs 3 --blobs-uncovered adds exactly 3 candidates per scan" sh -c "test $rc -eq 0 && test $added_unc -eq $((3 * $(ls "$tmp"/truthpred/*_prob.mhd | wc -l))) && test $added_unc -ge $added"

# rle: encode the preprocessing masks, decode them back: identical bytes.
"$bin" rle encode "$tmp/prep/masks.npy" --out "$tmp/rle.csv" --min-pixels 0 2> /dev/null; rc=$?
check "rle encode exit 0" test "$rc" -eq 0
check "rle header" grep -qx 'img,pixels' <(head -1 "$tmp/rle.csv")
"$bin" rle decode "$tmp/rle.csv" --size 64 64 --out "$tmp/rle_back.npy" 2> /dev/null; rc=$?
check "rle decode exit 0" test "$rc" -eq 0
check "rle round trip is exact" cmp -s "$tmp/prep/masks.npy" "$tmp/rle_back.npy"
printf 'img,pixels\n1,1 2 3\n' > "$tmp/badrle.csv"
"$bin" rle decode "$tmp/badrle.csv" --size 4 4 --out "$tmp/x.npy" > /dev/null 2> "$tmp/err.txt"; rc=$?
check "rle bad string exits 1" test "$rc" -eq 1
check "rle bad string names file and line" grep -q 'badrle.csv:2' "$tmp/err.txt"

# train / predict / bench, when this build has LibTorch.
if "$bin" train --help > /dev/null 2>&1 && ! "$bin" train --help 2>&1 | grep -q 'not in this build'; then
    "$bin" train --data "$tmp/prep" --out "$tmp/run" --epochs 1 --filters 4 --depth 3 --batch 4 --threads 2 2> "$tmp/train.err"; rc=$?
    check "train exit 0" test "$rc" -eq 0
    for f in last.pt best.pt metrics.csv config.json; do check "train writes $f" test -s "$tmp/run/$f"; done
    "$bin" train --resume "$tmp/run" --epochs 2 --threads 2 2> "$tmp/train_resume.err"; rc=$?
    check "train --resume reads its options back and runs epoch 2 only" sh -c "test $rc -eq 0 && grep -c '^epoch ' '$tmp/train_resume.err' | grep -qx 1 && grep -q '^epoch 2:' '$tmp/train_resume.err'"
    "$bin" train --data "$tmp/prep" --out "$tmp/run_ve" --epochs 2 --val-every 2 --filters 4 --depth 3 --batch 4 --threads 2 2> "$tmp/train_ve.err"; rc=$?
    # (which epochs are validated is the trainer's unit test; this tiny cohort may have no validation patients)
    check "train --val-every 2 says which epochs were not validated and records the option" sh -c "test $rc -eq 0 && grep -q '^epoch 1: .*not validated' '$tmp/train_ve.err' && grep -q '\"validate_every\": 2' '$tmp/run_ve/config.json'"
    "$bin" train --data "$tmp/prep" --out "$tmp/run0" --val-every 0 > /dev/null 2> "$tmp/err.txt"; rc=$?
    check "train --val-every 0 is refused" sh -c "test $rc -ne 0 && grep -q -- '--val-every' '$tmp/err.txt'"
    "$bin" train --data "$tmp/prep" --out "$tmp/run0" --val-from 0 > /dev/null 2> "$tmp/err.txt"; rc=$?
    check "train --val-from 0 is refused" sh -c "test $rc -ne 0 && grep -q -- '--val-from' '$tmp/err.txt'"
    "$bin" train --data "$tmp/prep" --out "$tmp/run0" --epochs 0 > /dev/null 2> "$tmp/err.txt"; rc=$?
    check "a library option error names the flag and the value" sh -c "test $rc -eq 1 && grep -qx 'nodulecad: error: --epochs must be > 0, got 0' '$tmp/err.txt'"
    "$bin" train --data "$tmp/prep" --out "$tmp/run0" --filters 0 > /dev/null 2> "$tmp/err.txt"; rc=$?
    check "an option named otherwise in the library is shown as its flag" sh -c "test $rc -eq 1 && grep -q -- '--filters must be > 0, got 0' '$tmp/err.txt'"
    "$bin" train --data "$tmp/prep" --out "$tmp/run0" --loss focal > /dev/null 2> "$tmp/err.txt"; rc=$?
    check "an enum option takes only its names" sh -c "test $rc -ne 0 && grep -q 'focal' '$tmp/err.txt'"
    "$bin" run --help > "$tmp/run_help.txt"; "$bin" demo --help > "$tmp/demo_help.txt"
    check "run's 3D detector averages four passes; run and the demo start with the U-Net" sh -c "grep -qF -- '--detector {unet2d,heatmap3d,unet2d+heatmap3d}=unet2d' '$tmp/run_help.txt' && grep -qF -- 'in [1 - 8]=4' '$tmp/run_help.txt' && grep -qF -- '--detector {unet2d,heatmap3d,unet2d+heatmap3d}=unet2d' '$tmp/demo_help.txt'"
    "$bin" predict --model "$tmp/run/best.pt" --data "$scan" --out "$tmp/pred" --threads 2 2> "$tmp/pred.err"; rc=$?
    check "predict exit 0" test "$rc" -eq 0
    "$bin" info "$tmp/pred/${uid}_prob.mhd" > "$tmp/pred.json"
    check "predict output is uint8 on the scan grid" grep -q '"element_type":"MET_UCHAR"' "$tmp/pred.json"
    check "predict output has the scan's size" grep -q "$(grep -o '"size":\[[0-9,]*\]' "$tmp/synth_info.json" | sed 's/\[/\\[/; s/\]/\\]/')" "$tmp/pred.json"
    "$bin" detect --pred "$tmp/pred" --out "$tmp/pred_cands.csv" 2> /dev/null; rc=$?
    check "detect on predictions exit 0" test "$rc" -eq 0
    "$bin" evaluate-seg --pred "$tmp/pred" --truth "$tmp/cohort/truth" --out "$tmp/seg_eval" > "$tmp/seg_eval.txt"; rc=$?
    check "evaluate-seg exit 0" test "$rc" -eq 0
    for f in seg_scans.csv seg_nodules.csv seg_summary.json; do check "evaluate-seg writes $f" test -s "$tmp/seg_eval/$f"; done
    check "evaluate-seg prints Dice" grep -q '^Dice ' "$tmp/seg_eval.txt"
    # The full report (training curves, gallery over the predictions), rendered in headless Chromium when present.
    sed '1s/diameter_mm/probability/' "$tmp/cohort/annotations.csv" > "$tmp/cohort_results.csv"  # marks on every nodule
    "$bin" evaluate --annotations "$tmp/cohort/annotations.csv" --seriesuids "$tmp/cohort/seriesuids.csv" --results "$tmp/cohort_results.csv" \
        --out "$tmp/eval_cohort" --bootstrap 50 > /dev/null 2>&1
    check "evaluate on the cohort: every nodule found" grep -q '"cpm": 1.0' "$tmp/eval_cohort/summary.json"
    "$bin" report --eval "$tmp/eval_cohort" --run "$tmp/run" --data "$tmp/cohort" --pred "$tmp/pred" --out "$tmp/full_report.html" 2> /dev/null; rc=$?
    check "full report exit 0" test "$rc" -eq 0
    if command -v chromium > /dev/null 2>&1; then
        flags="--headless --no-sandbox --disable-gpu --no-first-run --disable-background-networking --disable-component-update --disable-sync --user-data-dir=$tmp/chromium"
        # shellcheck disable=SC2086
        timeout 120 chromium $flags --virtual-time-budget=5000 --dump-dom "file://$tmp/full_report.html" 2> /dev/null > "$tmp/dom.html"
        images=$(grep -o 'data-images="[0-9]*/[0-9]*"' "$tmp/dom.html" | head -1 | tr -dc '0-9/')
        loaded=${images%/*}
        total=${images#*/}
        check "chromium loaded every image ($images)" test -n "$images" -a "$loaded" = "$total" -a "${total:-0}" -gt 0
        zooms=$(grep -o 'data-zooms="[0-9]*/[0-9]*"' "$tmp/dom.html" | head -1 | tr -dc '0-9/')
        check "every finding has a zoomed view and none is blank ($zooms)" test -n "$zooms" -a "${zooms%/*}" = "${zooms#*/}" -a "${zooms#*/}" -gt 0
        # shellcheck disable=SC2086
        timeout 120 chromium $flags --window-size=1200,1600 --screenshot="$tmp/report.png" "file://$tmp/full_report.html" > /dev/null 2>&1
        check "report screenshot is not blank" test "$(stat -c %s "$tmp/report.png" 2> /dev/null || echo 0)" -gt 20000
    fi
    # train-fpr / detect --fpr: the truth candidates (all positive) plus copies 40 mm away (negatives).
    "$bin" train-fpr --data "$tmp/cohort" --candidates "$tmp/cands.csv" --out "$tmp/fpr0" --epochs 1 > /dev/null 2> "$tmp/err.txt"; rc=$?
    check "train-fpr with only positives exits 1" test "$rc" -eq 1
    check "train-fpr says it needs both classes" grep -q 'needs positive and negative' "$tmp/err.txt"
    awk -F, 'BEGIN { OFS = "," } NR == 1 { print; next } { print; $4 = $4 + 40; $5 = 0.3; print }' "$tmp/cands.csv" > "$tmp/fpr_cands.csv"
    "$bin" train-fpr --data "$tmp/cohort" --candidates "$tmp/fpr_cands.csv" --out "$tmp/fpr" --epochs 2 --patch 16 --width 4 --val-fraction 0.5 \
        --threads 2 2> "$tmp/fpr.err"; rc=$?
    check "train-fpr exit 0" test "$rc" -eq 0
    for f in last.pt best.pt metrics.csv config.json patches.npy patches.csv patches.json; do check "train-fpr writes $f" test -s "$tmp/fpr/$f"; done
    check "train-fpr metrics has AUC and CPM columns" grep -q '^epoch,train_loss,val_loss,val_auc,val_precision,val_recall,val_f1,cpm_before,cpm_after' "$tmp/fpr/metrics.csv"
    check "train-fpr reports each epoch" grep -q '^epoch 2: .*val AUC .*CPM ' "$tmp/fpr.err"
    "$bin" train-fpr --resume "$tmp/fpr" --epochs 3 --threads 2 2> "$tmp/fpr_resume.err"; rc=$?
    check "train-fpr resume exit 0" test "$rc" -eq 0
    check "train-fpr resume runs epoch 3 only" sh -c "grep -c '^epoch ' '$tmp/fpr_resume.err' | grep -qx 1 && grep -q '^epoch 3:' '$tmp/fpr_resume.err'"
    check "train-fpr resume reuses the patches" grep -q 'reused' "$tmp/fpr_resume.err"
    "$bin" detect --candidates "$tmp/fpr_cands.csv" --fpr "$tmp/fpr/best.pt" --data "$tmp/cohort" --out "$tmp/fpr_out.csv" --threads 2 2> /dev/null; rc=$?
    check "detect --fpr exit 0" test "$rc" -eq 0
    check "detect --fpr keeps every candidate" test "$(wc -l < "$tmp/fpr_out.csv")" -eq "$(wc -l < "$tmp/fpr_cands.csv")"
    check "detect --fpr keeps the columns" grep -qx 'seriesuid,coordX,coordY,coordZ,probability,diameter_mm' <(head -1 "$tmp/fpr_out.csv")
    check "train-fpr records its validation symmetries" grep -q '"symmetries": 8' "$tmp/fpr/config.json"
    "$bin" detect --candidates "$tmp/fpr_cands.csv" --fpr "$tmp/fpr/best.pt" --data "$tmp/cohort" --symmetries 8 --out "$tmp/fpr_out8.csv" --threads 2 2> /dev/null
    check "detect --fpr follows the model's symmetries by default" cmp -s "$tmp/fpr_out.csv" "$tmp/fpr_out8.csv"
    "$bin" detect --candidates "$tmp/fpr_cands.csv" --fpr "$tmp/fpr/best.pt" --data "$tmp/cohort" --symmetries 1 --out "$tmp/fpr_out1.csv" --threads 2 2> /dev/null
    check "detect --fpr --symmetries 1 scores without averaging" sh -c "! cmp -s '$tmp/fpr_out.csv' '$tmp/fpr_out1.csv'"
    "$bin" detect --candidates "$tmp/fpr_cands.csv" --fpr "$tmp/fpr/best.pt" --data "$tmp/cohort" --symmetries 17 --out "$tmp/x.csv" > /dev/null 2> "$tmp/err.txt"; rc=$?
    check "detect --symmetries 17 is refused" sh -c "test $rc -ne 0 && grep -q 'symmetries' '$tmp/err.txt'"
    "$bin" train-fpr --data "$tmp/cohort" --candidates "$tmp/fpr_cands.csv" --out "$tmp/fpr3" --arch 3d --epochs 1 --patch 18 --width 4 \
        > /dev/null 2> "$tmp/err.txt"; rc=$?
    check "train-fpr --arch 3d with a patch it cannot halve is refused in one line" \
        sh -c "test $rc -eq 1 && test \$(wc -l < '$tmp/err.txt') -eq 1 && grep -q 'multiple of 4' '$tmp/err.txt' && test ! -e '$tmp/fpr3'"
    "$bin" train-fpr --data "$tmp/cohort" --candidates "$tmp/fpr_cands.csv" --out "$tmp/fprv" --epochs 1 --patch 16 --width 4 --val-fraction 0.5 \
        --positive-views 3 --threads 2 2> "$tmp/fprv.err"; rc=$?
    check "train-fpr --positive-views exit 0" test "$rc" -eq 0
    check "train-fpr --positive-views adds 3 views of each annotated centre" \
        sh -c "test \$(grep -c ',view,' '$tmp/fprv/patches.csv') -gt 0 && test \$(grep -c ',view,' '$tmp/fprv/patches.csv') -eq \$((3 * \$(grep -c ',annotation,' '$tmp/fprv/patches.csv')))"
    check "train-fpr --positive-views says how many it added" grep -q 'views of them added' "$tmp/fprv.err"
    # --val-every 2 --val-from 2 over 3 epochs: validated after epochs 2 and 3 (the last), not after 1.
    "$bin" train-fpr --data "$tmp/cohort" --candidates "$tmp/fpr_cands.csv" --out "$tmp/fpre" --epochs 3 --patch 16 --width 4 --val-fraction 0.5 \
        --val-every 2 --val-from 2 --threads 2 2> "$tmp/fpre.err"; rc=$?
    check "train-fpr --val-every --val-from exit 0" test "$rc" -eq 0
    check "train-fpr says which epochs were not validated, and shows the others' figures" \
        sh -c "grep -q '^epoch 1: loss [0-9.e-]*, not validated, [0-9]* patches/s\$' '$tmp/fpre.err' && grep -q '^epoch 2: .*val AUC [0-9.]*, ' '$tmp/fpre.err' && ! grep -q nan '$tmp/fpre.err'"
    check "train-fpr --val-every 2 --val-from 2 validates after epochs 2 and 3 only" \
        sh -c "awk -F, 'NR > 1 { printf \"%s:%s \", \$1, (\$4 == \"nan\" ? \"-\" : \"v\") }' '$tmp/fpre/metrics.csv' | grep -qx '1:- 2:v 3:v '"
    "$bin" train-fpr --data "$tmp/cohort" --candidates "$tmp/fpr_cands.csv" --out "$tmp/fprw" --positive-views -1 > /dev/null 2> "$tmp/err.txt"; rc=$?
    check "train-fpr --positive-views -1 is refused in one line" \
        sh -c "test $rc -eq 1 && test \$(wc -l < '$tmp/err.txt') -eq 1 && grep -q 'positive-views must be between 0 and 1000' '$tmp/err.txt'"
    "$bin" detect --candidates "$tmp/fpr_cands.csv" --fpr "$tmp/fpr/best.pt" --out "$tmp/x.csv" > /dev/null 2> "$tmp/err.txt"; rc=$?
    check "detect --fpr without --data exits 1" test "$rc" -eq 1
    check "detect --fpr without --data says why" grep -q 'needs --data' "$tmp/err.txt"
    "$bin" detect --candidates "$tmp/fpr_cands.csv" --fpr "$tmp/run/best.pt" --data "$tmp/cohort" --out "$tmp/x.csv" > /dev/null 2> "$tmp/err.txt"; rc=$?
    check "detect --fpr with a U-Net exits 1" test "$rc" -eq 1
    check "detect --fpr with a U-Net says why" grep -q 'not a false-positive-reduction model' "$tmp/err.txt"
    # demo --quick: the whole pipeline in its tiny configuration (the seed's 2D U-Net by default); a second run skips every stage.
    "$bin" demo --quick --out "$tmp/demo" --threads 2 > "$tmp/demo.out" 2> "$tmp/demo.err"; rc=$?
    check "demo --quick exit 0" test "$rc" -eq 0
    check "demo prints the CPM line last" grep -qE "^CPM [0-9.]+ \(2 held-out scans\) — report: $tmp/demo/work/report.html\$" <(tail -1 "$tmp/demo.out")
    check "demo prints its stages" grep -q '^\[10/10\] model' "$tmp/demo.err"
    check "demo says what its first candidates hold" grep -qE '^Before FP reduction: CPM [0-9.e-]+; the first 10 / 30 / 100 marks of a scan hit [0-9]+ / [0-9]+ / [0-9]+ of [0-9]+ nodules' "$tmp/demo.err"
    check "demo's stage times end with the wall and CPU totals" grep -qE '^stages: split [0-9]+ s;.* total [0-9]+ s \(CPU time [0-9]+ s\)$' "$tmp/demo.err"
    for f in report.html submission.csv candidates_unet.csv summary.json eval/summary.json eval_unet/summary.json unet/best.pt fpr/patches.json \
             model/model.json model/unet.pt; do
        check "demo writes $f" test -s "$tmp/demo/work/$f"
    done
    check "demo submission has the LUNA16 columns" grep -qx 'seriesuid,coordX,coordY,coordZ,probability' <(head -1 "$tmp/demo/work/submission.csv")
    # The demo ranks the U-Net's components as detect does by default (peak-share): the same table from its maps.
    "$bin" detect --pred "$tmp/demo/work/pred_test" --threshold 0.1 --blobs 10 --data "$tmp/demo/cohort" --out "$tmp/demo_unet.csv" --threads 2 2> /dev/null
    check "detect's default score gives the demo's first-stage candidates" cmp -s "$tmp/demo_unet.csv" "$tmp/demo/work/candidates_unet.csv"
    "$bin" detect --pred "$tmp/demo/work/pred_test" --mean --score peak --out "$tmp/x_mean.csv" > /dev/null 2> "$tmp/err.txt"; rc=$?
    check "detect --mean with --score exits 1 and says why" sh -c "test $rc -eq 1 && grep -qE -- '--(mean|score) excludes --(score|mean)' '$tmp/err.txt' && test ! -e '$tmp/x_mean.csv'"
    "$bin" demo --quick --out "$tmp/demo" --threads 2 > "$tmp/demo2.out" 2> "$tmp/demo2.err"; rc=$?
    check "demo re-run exit 0" test "$rc" -eq 0
    check "demo re-run skips all 12 stages" test "$(grep -c 'done earlier, skipped' "$tmp/demo2.err")" -eq 12
    check "demo re-run gives the same CPM line" cmp -s <(tail -1 "$tmp/demo.out") <(tail -1 "$tmp/demo2.out")
    # A cohort written by an older generator (its marker without synth_version) is generated again; these six scans
    # and their tables are the same under both, so every stage is still skipped.
    check "demo's cohort marker names the generator version" grep -qF '"synth_version":2' "$tmp/demo/cohort.json"
    sed -i 's/,"synth_version":[0-9]*//' "$tmp/demo/cohort.json"
    "$bin" demo --quick --out "$tmp/demo" --threads 2 > "$tmp/demo3.out" 2> "$tmp/demo3.err"; rc=$?
    check "demo regenerates an older generator's cohort" sh -c "test $rc -eq 0 && grep -q '^\[synth\] 6 synthetic scans' '$tmp/demo3.err' && grep -qF '\"synth_version\":2' '$tmp/demo/cohort.json'"
    check "demo after regenerating the same cohort skips all 12 stages" test "$(grep -c 'done earlier, skipped' "$tmp/demo3.err")" -eq 12
    # infer: the demo's bundle on its held-out scans gives its candidates; on a folder with a broken scan it names
    # it, finishes the others and exits 1; a missing bundle is one line.
    "$bin" infer --model "$tmp/demo/work/model" --data "$tmp/demo/work/split/test" --out "$tmp/inf" --threads 2 > "$tmp/inf.out" 2> "$tmp/inf.err"; rc=$?
    check "infer exit 0" test "$rc" -eq 0
    check "infer prints the submission path" grep -qx "$tmp/inf/submission.csv" "$tmp/inf.out"
    check "infer says where the time went" grep -qE '^time per scan \(2 processed\): read [0-9.]+ s, lungs [0-9.]+ s, U-Net [0-9.]+ s \(network [0-9.]+ s\), .*FP reduction [0-9.]+ s \(network [0-9.]+ s\); networks loaded in [0-9.]+ s$' "$tmp/inf.err"
    check "infer gives the pipeline's candidates" cmp -s "$tmp/inf/candidates.csv" "$tmp/demo/work/candidates.csv"
    check "infer gives the pipeline's submission" cmp -s "$tmp/inf/submission.csv" "$tmp/demo/work/submission.csv"
    mkdir -p "$tmp/infdata" && cp -L "$tmp"/demo/work/split/test/subset*/* "$tmp/infdata/"
    printf 'not a header\n' > "$tmp/infdata/broken scan.mhd"
    "$bin" infer --model "$tmp/demo/work/model" --data "$tmp/infdata" --out "$tmp/inf2" --threads 2 > /dev/null 2> "$tmp/inf2.err"; rc=$?
    check "infer with a broken scan exits 1" test "$rc" -eq 1
    check "infer names the broken scan" grep -q "skipped $tmp/infdata/broken scan.mhd:1: expected" "$tmp/inf2.err"
    check "infer says how many failed" grep -q '1 of 3 scans could not be processed' "$tmp/inf2.err"
    check "infer still writes the others" cmp -s "$tmp/inf2/candidates.csv" "$tmp/demo/work/candidates.csv"
    "$bin" infer --model "$tmp/nomodel" --data "$tmp/infdata" --out "$tmp/inf3" > /dev/null 2> "$tmp/err.txt"; rc=$?
    check "infer without a bundle exits 1 in one line" sh -c "test $rc -eq 1 && test \$(wc -l < '$tmp/err.txt') -eq 1 && grep -q 'model bundle not found' '$tmp/err.txt'"
    # The FP reduction: 3d by default (the demo above), 2.5d selectable; either is bundled and applied by infer.
    check "demo trains the 3d FP reduction by default" grep -q '"arch": "3d"' "$tmp/demo/work/fpr/config.json"
    check "demo's FP reduction keeps its final weights by default" grep -q '"keep": "final"' "$tmp/demo/work/fpr/config.json"
    "$bin" demo --quick --fpr-net 2.5d --out "$tmp/demofpr2" --threads 2 > /dev/null 2> "$tmp/demofpr2.err"; rc=$?
    check "demo --fpr-net 2.5d exit 0" test "$rc" -eq 0
    check "demo --fpr-net 2.5d trains the 2.5d FP reduction" grep -q '"arch": "2.5d"' "$tmp/demofpr2/work/fpr/config.json"
    "$bin" infer --model "$tmp/demofpr2/work/model" --data "$tmp/demofpr2/work/split/test" --out "$tmp/inffpr2" --threads 2 > /dev/null 2>&1; rc=$?
    check "infer with a 2.5d FP reduction gives the pipeline's candidates" sh -c "test $rc -eq 0 && cmp -s '$tmp/inffpr2/candidates.csv' '$tmp/demofpr2/work/candidates.csv'"
    # --fpr-negatives-by hardest in the same folder: only the reduction and what follows it run again.
    "$bin" demo --quick --fpr-net 2.5d --fpr-negatives-by hardest --out "$tmp/demofpr2" --threads 2 > /dev/null 2> "$tmp/demohard.err"; rc=$?
    check "demo --fpr-negatives-by hardest retrains the reduction alone" sh -c "test $rc -eq 0 && grep -q '\"negative_choice\": \"hardest\"' '$tmp/demofpr2/work/fpr/config.json' && test \$(grep -c 'done earlier, skipped' '$tmp/demohard.err') -eq 7 && grep -q '^\[7/10\] fpr' '$tmp/demohard.err'"
    # --fpr-scans 3: the reduction's candidates come from 3 of the 4 training scans; the U-Net and the held-out predictions are reused.
    "$bin" demo --quick --fpr-net 2.5d --fpr-negatives-by hardest --fpr-scans 3 --out "$tmp/demofpr2" --threads 2 > /dev/null 2> "$tmp/demoscans.err"; rc=$?
    check "demo --fpr-scans 3 predicts 3 training scans for the reduction" sh -c "test $rc -eq 0 && test \$(find '$tmp/demofpr2/work/split/fpr' -name '*.mhd' | wc -l) -eq 3 && test \$(find '$tmp/demofpr2/work/split/train' -name '*.mhd' | wc -l) -eq 4 && test \$(grep -c 'done earlier, skipped' '$tmp/demoscans.err') -eq 4 && grep -q '^\[2/10\] split-fpr\$' '$tmp/demoscans.err'"
    # --blobs-uncovered: the candidate stages and what follows run again (not the U-Net, not the predictions), the
    # bundle records the rule, and infer repeats the pipeline's candidates with it.
    "$bin" demo --quick --fpr-net 2.5d --fpr-negatives-by hardest --fpr-scans 3 --blobs-uncovered --out "$tmp/demofpr2" --threads 2 > /dev/null 2> "$tmp/demounc.err"; rc=$?
    check "demo --blobs-uncovered re-runs from the candidates on" sh -c "test $rc -eq 0 && grep -q '^\[6/10\] candidates-train\$' '$tmp/demounc.err' && grep -q 'predict-train: done earlier, skipped' '$tmp/demounc.err' && grep -q '\"blobs_uncovered\": true' '$tmp/demofpr2/work/model/model.json'"
    "$bin" infer --model "$tmp/demofpr2/work/model" --data "$tmp/demofpr2/work/split/test" --out "$tmp/infunc" --threads 2 > /dev/null 2>&1; rc=$?
    check "infer with --blobs-uncovered's bundle gives the pipeline's candidates" sh -c "test $rc -eq 0 && cmp -s '$tmp/infunc/candidates.csv' '$tmp/demofpr2/work/candidates.csv'"
    # --loss dice_bce (the batch's Dice, the recipe's before sample_dice_bce): the U-Net trains again (not the
    # preprocessing), and its run records the loss.
    check "demo trains the U-Net with sample_dice_bce by default" grep -q '"loss": "sample_dice_bce"' "$tmp/demofpr2/work/unet/config.json"
    check "demo's U-Net mines no nodules by default" sh -c "! grep -q nodule_mining '$tmp/demofpr2/work/unet/config.json' && ! ls '$tmp/demofpr2/work/unet' | grep -q nodule_scores"
    # ...and with --unet-nodule-mining it scores its training nodules after each epoch (the one epoch of --quick).
    "$bin" demo --quick --fpr-net 2.5d --fpr-negatives-by hardest --fpr-scans 3 --blobs-uncovered --loss dice_bce --unet-nodule-mining --out "$tmp/demofpr2" --threads 2 > /dev/null 2> "$tmp/demoloss.err"; rc=$?
    check "demo --loss dice_bce retrains the U-Net" sh -c "test $rc -eq 0 && grep -q '^\[4/10\] unet\$' '$tmp/demoloss.err' && grep -q 'preprocess: done earlier, skipped' '$tmp/demoloss.err' && grep -q '\"loss\": \"dice_bce\"' '$tmp/demofpr2/work/unet/config.json'"
    check "demo --unet-nodule-mining records it and scores the nodules" sh -c "grep -q '\"nodule_mining\": true' '$tmp/demofpr2/work/unet/config.json' && grep -q '^\[\[' '$tmp/demofpr2/work/unet/nodule_scores_1.json'"
    # --context 2: five slices a sample instead of three; the preprocessing and all after it run again, the U-Net takes
    # five channels, and infer, reading them from the bundle, repeats the pipeline's candidates.
    check "demo's U-Net sees three slices by default" sh -c "grep -q '\"in_channels\": 3' '$tmp/demofpr2/work/unet/config.json' && grep -q '\"context\": 1' '$tmp/demofpr2/work/prep/stats.json'"
    check "demo's U-Net has validation patients and keeps its best validated epoch by default" sh -c "grep -q '\"keep\": \"best-validation\"' '$tmp/demofpr2/work/unet/config.json' && grep -qE '\"val_fraction\": 0.08,?\$' '$tmp/demofpr2/work/prep/stats.json'"
    # ...and with --unet-val-fraction 0 --unet-epochs 2 --pixel-mm 3.5 --fpr-patch-mm 1.25 (in the same run as
    # --context 2, which preprocesses again anyway): no validation patients, two epochs, the final epoch's weights, a
    # coarser grid, the reduction's cubes at 1.25 mm (infer, reading them from the bundle, repeats the candidates).
    "$bin" demo --quick --fpr-net 2.5d --fpr-negatives-by hardest --fpr-scans 3 --blobs-uncovered --loss dice_bce --unet-nodule-mining --context 2 --unet-val-fraction 0 --unet-epochs 2 --pixel-mm 3.5 --fpr-patch-mm 1.25 --out "$tmp/demofpr2" --threads 2 > /dev/null 2> "$tmp/democtx.err"; rc=$?
    check "demo --context 2 preprocesses again and trains a five-channel U-Net" sh -c "test $rc -eq 0 && grep -q '^\[3/10\] preprocess\$' '$tmp/democtx.err' && grep -q '\"in_channels\": 5' '$tmp/demofpr2/work/unet/config.json' && grep -q '\"context\": 2' '$tmp/demofpr2/work/prep/stats.json'"
    check "demo --unet-val-fraction 0 --unet-epochs 2: no validation patients, two epochs, the final weights" sh -c "grep -qE '\"val_fraction\": 0.0,?\$' '$tmp/demofpr2/work/prep/stats.json' && grep -q '\"keep\": \"final\"' '$tmp/demofpr2/work/unet/config.json' && grep -qE '\"epochs\": 2,?\$' '$tmp/demofpr2/work/unet/config.json'"
    check "demo --pixel-mm 3.5: the U-Net's slices at 3.5 mm keep the quick recipe's field (128 px at 2.8 mm -> 112 px)" sh -c "grep -qE '\"pixel_mm\": 3.5,?\$' '$tmp/demofpr2/work/prep/stats.json' && grep -qE '\"size\": 112,?\$' '$tmp/demofpr2/work/prep/stats.json'"
    check "demo --fpr-patch-mm 1.25: the reduction's cubes at 1.25 mm, recorded in its card" sh -c "test \$(grep -cE '\"patch_mm\": 1.25,?\$' '$tmp/demofpr2/work/fpr/config.json') -ge 2"
    "$bin" infer --model "$tmp/demofpr2/work/model" --data "$tmp/demofpr2/work/split/test" --out "$tmp/infctx" --threads 2 > /dev/null 2>&1; rc=$?
    check "infer with a five-channel U-Net on a 3.5-mm grid gives the pipeline's candidates" sh -c "test $rc -eq 0 && cmp -s '$tmp/infctx/candidates.csv' '$tmp/demofpr2/work/candidates.csv'"
    # --fpr-keep best-validation: the reduction alone trains again, keeping its best validated epoch.
    "$bin" demo --quick --fpr-net 2.5d --fpr-negatives-by hardest --fpr-scans 3 --blobs-uncovered --loss dice_bce --unet-nodule-mining --context 2 --unet-val-fraction 0 --unet-epochs 2 --pixel-mm 3.5 --fpr-patch-mm 1.25 --fpr-keep best-validation --out "$tmp/demofpr2" --threads 2 > /dev/null 2> "$tmp/demokeep.err"; rc=$?
    check "demo --fpr-keep best-validation retrains the reduction alone" sh -c "test $rc -eq 0 && grep -q '\"keep\": \"best-validation\"' '$tmp/demofpr2/work/fpr/config.json' && test \$(grep -c 'done earlier, skipped' '$tmp/demokeep.err') -eq 7 && grep -q '^\[7/10\] fpr' '$tmp/demokeep.err'"
    # --fpr-val-fraction 0: the reduction alone trains again, with no validation patients (the same candidate scans).
    "$bin" demo --quick --fpr-net 2.5d --fpr-negatives-by hardest --fpr-scans 3 --blobs-uncovered --loss dice_bce --unet-nodule-mining --context 2 --unet-val-fraction 0 --unet-epochs 2 --pixel-mm 3.5 --fpr-patch-mm 1.25 --fpr-keep best-validation --fpr-val-fraction 0 --out "$tmp/demofpr2" --threads 2 > /dev/null 2> "$tmp/demonoval.err"; rc=$?
    check "demo --fpr-val-fraction 0 retrains the reduction alone, without validation patients" sh -c "test $rc -eq 0 && grep -q '\"val_uids\": \[\]' '$tmp/demofpr2/work/fpr/config.json' && test \$(grep -c 'done earlier, skipped' '$tmp/demonoval.err') -eq 7 && grep -q '^\[7/10\] fpr' '$tmp/demonoval.err' && grep -q 'no validation patients' '$tmp/demonoval.err'"
    "$bin" demo --quick --context 11 --out "$tmp/democtxbad" > /dev/null 2> "$tmp/err.txt"; rc=$?
    check "demo --context 11 refused before any work" sh -c "test $rc -ne 0 && grep -q 'context' '$tmp/err.txt' && test ! -e '$tmp/democtxbad'"
    # The 3D detector through the same pipeline: its own stages, a heatmap3d bundle that infer applies.
    "$bin" demo --quick --detector heatmap3d --out "$tmp/demo3d" --threads 2 > "$tmp/demo3d.out" 2> "$tmp/demo3d.err"; rc=$?
    check "demo --detector heatmap3d exit 0" test "$rc" -eq 0
    check "demo --detector heatmap3d trains the 3D detector" sh -c "grep -q '^\[4/8\] detector3d' '$tmp/demo3d.err' && test -s '$tmp/demo3d/work/detector3d/best.pt'"
    check "demo --detector heatmap3d bundles it" grep -q '"detector": "heatmap3d"' "$tmp/demo3d/work/model/model.json"
    check "the 3D detector keeps its final weights" grep -q '"keep": "final"' "$tmp/demo3d/work/detector3d/config.json"
    "$bin" info "$tmp/demo/work/model" > "$tmp/info_bundle.json"; rc=$?
    check "info on a bundle: its card and each network's card" sh -c "test $rc -eq 0 && grep -q '\"kind\":\"model bundle\"' '$tmp/info_bundle.json' && grep -q '\"unet\":{\"file\":' '$tmp/info_bundle.json' && grep -q '\"kind\":\"fpr\",\"net\":{\"arch\":\"3d\"' '$tmp/info_bundle.json'"
    "$bin" info "$tmp/demo3d/work/detector3d/best.pt" > "$tmp/info_ckpt.json"; rc=$?
    check "info on a checkpoint: its card" sh -c "test $rc -eq 0 && grep -q '\"card\":{\"kind\":\"detector3d\"' '$tmp/info_ckpt.json'"
    printf 'not a checkpoint' > "$tmp/garbage.pt"
    "$bin" info "$tmp/garbage.pt" > /dev/null 2> "$tmp/err.txt"; rc=$?
    check "info on a garbage checkpoint: one-line error naming it" sh -c "test $rc -eq 1 && grep -q 'garbage.pt: not a nodulecad checkpoint' '$tmp/err.txt' && test \$(wc -l < '$tmp/err.txt') -eq 1"
    "$bin" infer --model "$tmp/demo3d/work/model" --data "$tmp/demo3d/work/split/test" --out "$tmp/inf3d" --threads 2 > /dev/null 2>&1; rc=$?
    check "infer on a heatmap3d bundle gives the pipeline's submission" sh -c "test $rc -eq 0 && cmp -s '$tmp/inf3d/submission.csv' '$tmp/demo3d/work/submission.csv'"
    # Both detectors pooled, in the same folder: the 3D detector's stages are reused, the U-Net's added, the pool
    # goes to the reduction; a bundle of both networks that infer applies.
    "$bin" demo --quick --detector unet2d+heatmap3d --out "$tmp/demo3d" --threads 2 > /dev/null 2> "$tmp/pooled.err"; rc=$?
    check "demo --detector unet2d+heatmap3d exit 0" test "$rc" -eq 0
    check "the pooled demo reuses the 3D detector and trains the U-Net" sh -c "grep -q '^\[6/12\] detector3d: done earlier, skipped' '$tmp/pooled.err' && grep -q '^\[4/12\] unet' '$tmp/pooled.err' && test -s '$tmp/demo3d/work/unet/best.pt'"
    check "the pooled bundle holds both networks" sh -c "grep -q '\"detector\": \"unet2d+heatmap3d\"' '$tmp/demo3d/work/model/model.json' && test -s '$tmp/demo3d/work/model/unet.pt' && test -s '$tmp/demo3d/work/model/detector3d.pt'"
    "$bin" infer --model "$tmp/demo3d/work/model" --data "$tmp/demo3d/work/split/test" --out "$tmp/infpool" --threads 2 > /dev/null 2>&1; rc=$?
    check "infer on a pooled bundle gives the pipeline's submission" sh -c "test $rc -eq 0 && cmp -s '$tmp/infpool/submission.csv' '$tmp/demo3d/work/submission.csv'"
    "$bin" demo --quick --detector retina --out "$tmp/demo3d" > /dev/null 2> "$tmp/err.txt"; rc=$?
    check "demo --detector with an unknown name is refused" sh -c "test $rc -ne 0 && grep -q 'detector' '$tmp/err.txt'"
    "$bin" demo --quick --full-fraction 1.5 --out "$tmp/demo3d" > /dev/null 2> "$tmp/err.txt"; rc=$?
    check "demo --full-fraction outside 0-1 is refused" sh -c "test $rc -ne 0 && grep -q 'full-fraction' '$tmp/err.txt'"
    "$bin" demo --quick --fpr-net 4d --out "$tmp/demo3d" > /dev/null 2> "$tmp/err.txt"; rc=$?
    check "demo --fpr-net with an unknown name is refused" sh -c "test $rc -ne 0 && grep -q 'fpr-net' '$tmp/err.txt'"
    "$bin" run --data "$tmp/demo3d/cohort" --out "$tmp/keepbad" --detector3d-keep latest > /dev/null 2> "$tmp/err.txt"; rc=$?
    check "run --detector3d-keep with an unknown name is refused" sh -c "test $rc -ne 0 && grep -q 'detector3d-keep' '$tmp/err.txt' && test ! -e '$tmp/keepbad'"
    "$bin" run --data "$tmp/demo3d/cohort" --out "$tmp/headbad" --detector3d-head sideways > /dev/null 2> "$tmp/err.txt"; rc=$?
    check "run --detector3d-head with an unknown name is refused, naming both heads" sh -c "test $rc -ne 0 && grep -q 'detector3d-head' '$tmp/err.txt' && grep -q 'segmentation' '$tmp/err.txt' && test ! -e '$tmp/headbad'"
    "$bin" run --data "$tmp/demo3d/cohort" --out "$tmp/headbad" --component-threshold 1.5 > /dev/null 2> "$tmp/err.txt"; rc=$?
    check "run --component-threshold outside [0, 1] is refused" sh -c "test $rc -ne 0 && grep -q 'component-threshold' '$tmp/err.txt' && test ! -e '$tmp/headbad'"
    "$bin" run --data "$tmp/demo3d/cohort" --out "$tmp/headbad" --component-threshold 0 > /dev/null 2> "$tmp/err.txt"; rc=$?
    check "run --component-threshold 0 is refused before any work" sh -c "test $rc -eq 1 && grep -q 'component-threshold must be in (0, 1), got 0' '$tmp/err.txt' && test ! -e '$tmp/headbad'"
    "$bin" run --data "$tmp/demo3d/cohort" --out "$tmp/headbad" --detector unet2d+heatmap3d --detector3d-blobs 5 > /dev/null 2> "$tmp/err.txt"; rc=$?
    check "run --detector3d-blobs with the pooled detector is refused before any work" sh -c "test $rc -eq 1 && grep -q 'detector3d-blobs is for --detector heatmap3d' '$tmp/err.txt' && test ! -e '$tmp/headbad'"
    "$bin" run --data "$tmp/demo3d/cohort" --out "$tmp/headbad" --detector heatmap3d --blobs-uncovered > /dev/null 2> "$tmp/err.txt"; rc=$?
    check "run --blobs-uncovered with the 3D detector alone is refused before any work" sh -c "test $rc -eq 1 && grep -q 'blobs-uncovered counts the --blobs N beside' '$tmp/err.txt' && test ! -e '$tmp/headbad'"
    "$bin" run --data "$tmp/demo3d/cohort" --out "$tmp/headbad" --unet-val-fraction 1.5 > /dev/null 2> "$tmp/err.txt"; rc=$?
    check "run --unet-val-fraction outside [0, 0.9] is refused before any work" sh -c "test $rc -ne 0 && grep -q 'unet-val-fraction' '$tmp/err.txt' && test ! -e '$tmp/headbad'"
    "$bin" run --data "$tmp/demo3d/cohort" --out "$tmp/headbad" --fpr-patch-mm 5 > /dev/null 2> "$tmp/err.txt"; rc=$?
    check "run --fpr-patch-mm outside [0.3, 3] is refused before any work" sh -c "test $rc -ne 0 && grep -q 'fpr-patch-mm' '$tmp/err.txt' && test ! -e '$tmp/headbad'"
    "$bin" demo --quick --pixel-mm 0.1 --out "$tmp/headbad" > /dev/null 2> "$tmp/err.txt"; rc=$?
    check "demo --pixel-mm 0.1 is refused before any work" sh -c "test $rc -ne 0 && grep -q 'pixel-mm' '$tmp/err.txt' && test ! -e '$tmp/headbad'"
    "$bin" demo --quick --unet-epochs 0 --out "$tmp/headbad" > /dev/null 2> "$tmp/err.txt"; rc=$?
    check "demo --unet-epochs 0 is refused before any work" sh -c "test $rc -ne 0 && grep -q 'unet-epochs' '$tmp/err.txt' && test ! -e '$tmp/headbad'"
    # detect --detector3d --blobs N: the blobs no peak covers follow each scan's peaks.
    d3=(detect --detector3d "$tmp/demo3d/work/detector3d/best.pt" --data "$tmp/demo3d/work/split/test" --threshold 0 --max-per-scan 5 --flips 1 --threads 2)
    "$bin" "${d3[@]}" --out "$tmp/peaks.csv" 2> /dev/null; rc=$?
    "$bin" "${d3[@]}" --blobs 3 --out "$tmp/peaks_blobs.csv" 2> /dev/null; rc2=$?
    check "detect --detector3d --blobs adds blobs to the peaks" sh -c "test $rc -eq 0 && test $rc2 -eq 0 && test \$(wc -l < '$tmp/peaks.csv') -eq 11 && test \$(wc -l < '$tmp/peaks_blobs.csv') -gt 11 && test \$(wc -l < '$tmp/peaks_blobs.csv') -le 17"
    # run --folds 2 on the 2-scan cohort: each fold trains on one scan and tests the other; one pooled evaluation.
    "$bin" run --data "$tmp/cohort" --out "$tmp/folds" --detector unet2d --folds 2 --epochs 1 --crop 32 --filters 4 --depth 3 --size 128 --pixel-mm 2.8 \
        --fpr-epochs 1 --bootstrap 10 --threads 2 > "$tmp/folds.out" 2> "$tmp/folds.err"; rc=$?
    check "run --folds 2 exit 0" test "$rc" -eq 0
    check "run --folds 2 runs both folds" sh -c "grep -q '^\[9/10\] fold 0: candidates-test' '$tmp/folds.err' && grep -q '^\[9/10\] fold 1: candidates-test' '$tmp/folds.err'"
    check "run --folds 2 writes a bundle per fold" sh -c "test -s '$tmp/folds/fold0/model/model.json' && test -s '$tmp/folds/fold1/model/model.json'"
    check "run --folds 2 pools both held-out scans" grep -qE '^CPM [0-9.]+ \(2 held-out scans\)' "$tmp/folds.out"
    check "run --folds 2 lists both scans for the evaluation" test "$(wc -l < "$tmp/folds/test_uids.csv")" -eq 2
    "$bin" run --data "$tmp/nowhere" --out "$tmp/w" > /dev/null 2> "$tmp/err.txt"; rc=$?
    check "run without data exits 1" test "$rc" -eq 1
    check "run without data says why" grep -q 'nowhere' "$tmp/err.txt"
    "$bin" run --data "$tmp/cohort" --out "$tmp/w" --folds 2 --val-subsets 1 > /dev/null 2>&1; rc=$?
    check "run --folds with --val-subsets is refused" test "$rc" -ne 0
    "$bin" predict --model "$scan" --data "$scan" --out "$tmp/pred2" > /dev/null 2> "$tmp/err.txt"; rc=$?
    check "predict with a bad model exits 1" test "$rc" -eq 1
    check "predict bad model says why" grep -q 'not a nodulecad checkpoint' "$tmp/err.txt"
    "$bin" bench infer --size 64 --filters 4 --depth 3 --iterations 2 > "$tmp/bench.txt"; rc=$?
    check "bench exit 0" test "$rc" -eq 0
    check "bench prints images/s" grep -q 'images/s' "$tmp/bench.txt"
    "$bin" bench infer --size 64 --filters 4 --depth 3 --iterations 1 --device cpu --amp > /dev/null 2> "$tmp/err.txt"; rc=$?
    check "bench --amp on a CPU exits 1 and says why" sh -c "test $rc -eq 1 && grep -q 'for CUDA devices' '$tmp/err.txt'"
    "$bin" bench train --network detector3d --size 16 --filters 4 --depth 3 --batch 2 --iterations 2 --warmup 1 > "$tmp/bench3d.txt"; rc=$?
    check "bench --network detector3d exit 0" test "$rc" -eq 0
    check "bench --network detector3d prints patches/s of 16^3 cubes" grep -q '^detector3d train 16x16x16 batch 2 on cpu: [0-9.]* patches/s' "$tmp/bench3d.txt"
    "$bin" bench train --network detector3d --size 10 --depth 3 --iterations 1 > /dev/null 2> "$tmp/err.txt"; rc=$?
    check "bench detector3d with a side not divisible by 4 exits 1 and says why" sh -c "test $rc -eq 1 && grep -q 'divisible by 2^(depth-1) = 4, got 10' '$tmp/err.txt'"
else
    check "train says LibTorch is missing" sh -c "\"$bin\" train 2>&1 | grep -q 'without LibTorch'"
    check "train-fpr says LibTorch is missing" sh -c "\"$bin\" train-fpr 2>&1 | grep -q 'without LibTorch'"
    check "demo says LibTorch is missing" sh -c "\"$bin\" demo 2>&1 | grep -q 'without LibTorch'"
    check "infer says LibTorch is missing" sh -c "\"$bin\" infer 2>&1 | grep -q 'without LibTorch'"
fi

finish
