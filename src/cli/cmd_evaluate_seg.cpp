// nodulecad evaluate-seg: Dice / IoU of predicted probability volumes against nodule masks.
#include <filesystem>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>

#include "cli/commands.hpp"
#include "nodulecad/core/files.hpp"
#include "nodulecad/evaluate/segmentation_scores.hpp"
#include "nodulecad/io/probability_map.hpp"
#include "nodulecad/io/cohort_layout.hpp"
#include "nodulecad/io/csv.hpp"
#include "nodulecad/io/image_file.hpp"
#include "nodulecad/io/tables.hpp"
#include "nodulecad/io/text_numbers.hpp"
#include "nodulecad/preprocess/nodule_masks.hpp"

namespace nodulecad::cli {

namespace {

struct SegArgs {
    std::string pred, truth, annotations, out;
    double threshold = 0.5;
};

void run_evaluate_seg(const SegArgs& a) {
    namespace fs = std::filesystem;
    if (a.truth.empty() == a.annotations.empty()) throw nodulecad::Error("give exactly one of --truth (a folder of <uid>_nodules.mhd or .nii.gz) and --annotations");
    const std::vector<ScanFile> preds = find_predictions(a.pred);
    const AnnotationsByUid by_uid = a.annotations.empty() ? AnnotationsByUid{} : group_by_uid(read_annotations(a.annotations));

    Overlap total;
    double scan_dice_sum = 0, nodule_dice_sum = 0;
    std::int64_t nodules = 0;
    std::string scans_csv = "seriesuid,dice,iou,reference_voxels,predicted_voxels\n";
    std::string nodules_csv = "seriesuid,label,coordX,coordY,coordZ,voxels,dice,iou\n";
    for (const ScanFile& f : preds) {
        const std::string& uid = f.uid;
        const AnyVolume prob = read_image(f.path);
        const Volume<std::uint8_t> predicted = threshold_probability(prob, a.threshold);
        Volume<std::uint8_t> reference;
        if (!a.truth.empty()) {
            const std::string truth = image_path(a.truth, uid + "_nodules");
            if (truth.empty()) throw nodulecad::Error(a.truth + ": no " + uid + "_nodules.mhd (or .nii.gz) for the prediction " + f.path);
            reference = read_image_as<std::uint8_t>(truth);
        } else {
            reference = nodule_mask(predicted.geometry, annotations_of(by_uid, uid));
        }
        const ScanSegScore s = score_segmentation(uid, predicted, reference);
        total.both += s.overlap.both;
        total.only_a += s.overlap.only_a;
        total.only_b += s.overlap.only_b;
        scan_dice_sum += s.overlap.dice();
        scans_csv += format_csv_row({uid, format_double(s.overlap.dice()), format_double(s.overlap.iou()), std::to_string(s.overlap.both + s.overlap.only_b),
                                     std::to_string(s.overlap.both + s.overlap.only_a)});
        for (const auto& n : s.nodules) {
            ++nodules;
            nodule_dice_sum += n.overlap.dice();
            nodules_csv += format_csv_row({uid, std::to_string(n.label), format_double(n.centre[0]), format_double(n.centre[1]), format_double(n.centre[2]),
                                           std::to_string(n.voxels), format_double(n.overlap.dice()), format_double(n.overlap.iou())});
        }
    }
    fs::create_directories(a.out);
    write_file_atomically((fs::path(a.out) / "seg_scans.csv").string(), scans_csv);
    write_file_atomically((fs::path(a.out) / "seg_nodules.csv").string(), nodules_csv);
    const nlohmann::ordered_json j = {{"threshold", a.threshold}, {"scans", preds.size()}, {"nodules", nodules},
                                      {"dice_overall", total.dice()}, {"iou_overall", total.iou()},
                                      {"dice_mean_per_scan", scan_dice_sum / static_cast<double>(preds.size())},
                                      {"dice_mean_per_nodule", nodules ? nodule_dice_sum / static_cast<double>(nodules) : 0.0}};
    write_file_atomically((fs::path(a.out) / "seg_summary.json").string(), j.dump(1) + "\n");
    std::printf("Dice %.4f overall, %.4f per scan, %.4f per nodule (%zu scans, %lld nodules) -> %s\n", total.dice(),
                scan_dice_sum / static_cast<double>(preds.size()), nodules ? nodule_dice_sum / static_cast<double>(nodules) : 0.0, preds.size(),
                static_cast<long long>(nodules), a.out.c_str());
}

}  // namespace

void register_evaluate_seg(CLI::App& app) {
    auto a = std::make_shared<SegArgs>();
    CLI::App* cmd = app.add_subcommand(
        "evaluate-seg",
        "Dice and IoU of predicted probability volumes (PRED/<uid>_prob.mhd or .nii.gz, thresholded) against nodule masks — the\n"
        "synthetic truth (--truth DIR with <uid>_nodules.mhd) or balls of radius d/2 from --annotations — per scan, per\n"
        "nodule and overall. Writes DIR/seg_scans.csv, seg_nodules.csv, seg_summary.json.");
    cmd->add_option("--pred", a->pred, "Folder of <uid>_prob.mhd (or .nii.gz) from nodulecad predict")->required();
    cmd->add_option("--truth", a->truth, "Folder of <uid>_nodules.mhd (or .nii.gz) label volumes");
    cmd->add_option("--annotations", a->annotations, "Or: annotations.csv (nodule balls drawn on each prediction's geometry)");
    cmd->add_option("--threshold", a->threshold, "Probability threshold")->capture_default_str()->check(CLI::Range(0.0, 1.0));
    cmd->add_option("--out", a->out, "Output folder")->required();
    cmd->callback([a] { run_evaluate_seg(*a); });
}

}  // namespace nodulecad::cli
