#!/usr/bin/env bash
# End-to-end checks of the scan formats: one cohort written as MetaImage, NIfTI and DICOM reads as the same scans in
# every command (info, slice, segment-lungs, preprocess, predict, detect); DICOM folders holding several series need
# --series; wrong inputs are one-line errors.
set -u
bin=${NODULECAD:?set NODULECAD to the nodulecad binary}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# shellcheck source=../check.sh
. "$(dirname "$0")/../check.sh"
has() { grep -qF -- "$2" "$1"; }               # has FILE FIXED-STRING
field() { grep -oE "\"$2\":(\[[^]]*\]|[^,}]*)" "$1" | head -1; }  # field FILE NAME: "name":value

dicom=1
for format in metaimage nifti dicom; do
    "$bin" synth --out "$tmp/$format" --scans 2 --preset small --seed 3 --format "$format" --threads 2 2> "$tmp/synth_$format.err"; rc=$?
    if [ "$format" = dicom ] && grep -q 'GDCM' "$tmp/synth_$format.err"; then
        echo "skip DICOM: this build has no GDCM"; dicom=0; continue
    fi
    check "synth --format $format exit 0" test "$rc" -eq 0
done
uid=$(sed -n 1p "$tmp/metaimage/seriesuids.csv")
mhd=$(ls "$tmp"/metaimage/subset*/"$uid.mhd")
nii=$(ls "$tmp"/nifti/subset*/"$uid.nii.gz")
check "synth nifti writes <uid>.nii.gz" test -f "$nii"
check "the formats share the tables" cmp -s "$tmp/metaimage/annotations.csv" "$tmp/nifti/annotations.csv"
"$bin" synth --out "$tmp/bad" --scans 2 --format analyze > /dev/null 2> "$tmp/err.txt"; rc=$?
check "synth bad format exits non-zero and writes nothing" sh -c "test $rc -ne 0 && test ! -e '$tmp/bad'"

# info: the same grid and voxels whatever the format; what each format adds.
"$bin" info "$mhd" > "$tmp/mhd.json"
"$bin" info "$nii" > "$tmp/nii.json"
check "info nifti format" has "$tmp/nii.json" '"format":"nifti","transform":"sform"'
for f in size spacing direction min max mean; do
    check "nifti $f as the MetaImage twin" test "$(field "$tmp/nii.json" $f)" = "$(field "$tmp/mhd.json" $f)"
done

# segment-lungs: a NIfTI scan against its MetaImage truth mask (float32 NIfTI geometry is the same grid), NIfTI out.
truth="$tmp/metaimage/truth/${uid}_lungs.mhd"
"$bin" segment-lungs "$mhd" --out "$tmp/seg/a.mhd" --truth "$truth" > "$tmp/seg_mhd.json"
"$bin" segment-lungs "$nii" --out "$tmp/seg/b.nii.gz" --truth "$truth" > "$tmp/seg_nii.json"; rc=$?
check "segment-lungs on NIfTI exit 0" test "$rc" -eq 0
check "segment-lungs NIfTI Dice as MetaImage" test "$(field "$tmp/seg_nii.json" dice)" = "$(field "$tmp/seg_mhd.json" dice)"
"$bin" info "$tmp/seg/b.nii.gz" > "$tmp/segnii.json"
check "segment-lungs writes a NIfTI mask" has "$tmp/segnii.json" '"format":"nifti"'

# convert: NIfTI back to MetaImage gives the twin's voxels; an output name of no format is refused, nothing written.
"$bin" convert "$nii" "$tmp/conv/back.mha" --compress 2> "$tmp/conv.err"; rc=$?
check "convert nifti to mha exit 0" sh -c "test $rc -eq 0 && grep -q '^wrote .*back.mha (128x128x' '$tmp/conv.err'"
"$bin" info "$tmp/conv/back.mha" > "$tmp/back.json"
check "convert keeps the voxels" test "$(field "$tmp/back.json" mean)" = "$(field "$tmp/mhd.json" mean)"
check "convert --compress" has "$tmp/back.json" '"compressed":true'
"$bin" convert "$nii" "$tmp/conv/x.img" > /dev/null 2> "$tmp/err.txt"; rc=$?
check "convert to an unknown name exits 1" sh -c "test $rc -eq 1 && grep -q 'end it in .mhd' '$tmp/err.txt' && test ! -e '$tmp/conv/x.img'"

if [ "$dicom" = 1 ]; then
    dcm=$(ls -d "$tmp"/dicom/subset*/"$uid")
    "$bin" info "$dcm" > "$tmp/dcm.json"; rc=$?
    check "info on a DICOM folder exit 0" test "$rc" -eq 0
    check "info dicom format and uid" has "$tmp/dcm.json" "\"format\":\"dicom\",\"series_uid\":\"$uid\",\"modality\":\"CT\""
    for f in size spacing origin direction min max mean; do
        check "dicom $f as the MetaImage twin" test "$(field "$tmp/dcm.json" $f)" = "$(field "$tmp/mhd.json" $f)"
    done
    "$bin" convert "$dcm" "$tmp/conv/dcm.nii" 2> /dev/null && "$bin" info "$tmp/conv/dcm.nii" > "$tmp/dcmnii.json"
    check "convert DICOM to NIfTI keeps the voxels" test "$(field "$tmp/dcmnii.json" mean)" = "$(field "$tmp/mhd.json" mean)"
    "$bin" info "$dcm/IM0000.dcm" > /dev/null 2> "$tmp/err.txt"; rc=$?
    check "info on one DICOM file says to give the folder" sh -c "test $rc -eq 1 && grep -q 'give the folder' '$tmp/err.txt'"
    mkdir -p "$tmp/two"
    cp -r "$tmp"/dicom/subset*/* "$tmp/two/"
    "$bin" info "$tmp/two" > /dev/null 2> "$tmp/err.txt"; rc=$?
    check "two series need --series" sh -c "test $rc -eq 1 && grep -q -- '--series' '$tmp/err.txt' && test \$(wc -l < '$tmp/err.txt') -eq 1"
    "$bin" info "$tmp/two" --series "$uid" > "$tmp/two.json"; rc=$?
    check "--series chooses one" sh -c "test $rc -eq 0 && grep -q '\"series_uid\":\"$uid\"' '$tmp/two.json'"
    "$bin" info "$tmp/two" --series 1.2.3 > /dev/null 2> "$tmp/err.txt"; rc=$?
    check "an unknown --series lists what is there" sh -c "test $rc -eq 1 && grep -q 'no series 1.2.3' '$tmp/err.txt'"
    "$bin" slice "$tmp/two" --series "$uid" --overlay "$tmp/metaimage/truth/${uid}_nodules.mhd" --out "$tmp/dcm.png"; rc=$?
    check "slice of a DICOM series with a MetaImage overlay" sh -c "test $rc -eq 0 && test \"\$(head -c 4 '$tmp/dcm.png' | tail -c 3)\" = PNG"
    "$bin" segment-lungs "$dcm" --out "$tmp/seg/c.mhd" --truth "$truth" > "$tmp/seg_dcm.json"
    check "segment-lungs DICOM Dice as MetaImage" test "$(field "$tmp/seg_dcm.json" dice)" = "$(field "$tmp/seg_mhd.json" dice)"
    # preprocess: the dataset built from the DICOM cohort is the MetaImage cohort's, file for file.
    "$bin" preprocess --data "$tmp/metaimage" --out "$tmp/prep_mhd" --size 64 --pixel-mm 5 2> /dev/null
    "$bin" preprocess --data "$tmp/dicom" --out "$tmp/prep_dcm" --size 64 --pixel-mm 5 2> /dev/null; rc=$?
    check "preprocess on a DICOM cohort exit 0" test "$rc" -eq 0
    for f in "$tmp"/prep_mhd/*.npy; do
        check "preprocess DICOM $(basename "$f") as MetaImage" cmp -s "$f" "$tmp/prep_dcm/$(basename "$f")"
    done
fi

# predict --format nifti, then detect on NIfTI probability maps (when this build has LibTorch).
if "$bin" train --help > /dev/null 2>&1 && ! "$bin" train --help 2>&1 | grep -q 'not in this build'; then
    "$bin" preprocess --data "$tmp/metaimage" --out "$tmp/prep" --size 64 --pixel-mm 5 2> /dev/null
    "$bin" train --data "$tmp/prep" --out "$tmp/run" --epochs 1 --filters 4 --depth 3 --batch 4 --threads 2 2> /dev/null
    "$bin" predict --model "$tmp/run/best.pt" --data "$nii" --out "$tmp/pred" --format nifti --threads 2 2> /dev/null; rc=$?
    check "predict --format nifti exit 0" test "$rc" -eq 0
    "$bin" info "$tmp/pred/${uid}_prob.nii.gz" > "$tmp/pred.json"; rc=$?
    check "predict writes <uid>_prob.nii.gz" test "$rc" -eq 0
    check "on the scan's grid" test "$(field "$tmp/pred.json" size)" = "$(field "$tmp/mhd.json" size)"
    "$bin" detect --pred "$tmp/pred" --out "$tmp/cands.csv" 2> /dev/null; rc=$?
    check "detect reads NIfTI probability maps" test "$rc" -eq 0
    mkdir -p "$tmp/truth_nii"
    for m in "$tmp"/metaimage/truth/*_nodules.mhd; do "$bin" convert "$m" "$tmp/truth_nii/$(basename "$m" .mhd).nii.gz" 2> /dev/null; done
    "$bin" evaluate-seg --pred "$tmp/pred" --truth "$tmp/truth_nii" --out "$tmp/seg_eval" > /dev/null 2>&1; rc=$?
    check "evaluate-seg on NIfTI predictions" sh -c "test $rc -eq 0 && test -s '$tmp/seg_eval/seg_scans.csv'"
    "$bin" predict --model "$tmp/run/best.pt" --data "$nii" --out "$tmp/pred2" --format dicom > /dev/null 2> "$tmp/err.txt"; rc=$?
    check "predict --format dicom is refused" test "$rc" -ne 0
fi

finish
