// nodulecad rle encode|decode: Kaggle run-length encoding of 2D masks.
#include <filesystem>
#include <iostream>

#include "cli/commands.hpp"
#include "nodulecad/core/files.hpp"
#include "nodulecad/detect/rle.hpp"
#include "nodulecad/io/csv.hpp"
#include "nodulecad/io/metaimage.hpp"
#include "nodulecad/io/npy.hpp"
#include "nodulecad/io/text_numbers.hpp"

namespace nodulecad::cli {

namespace {

struct RleArgs {
    std::string input, out, names;
    int min_pixels = 10;
    std::vector<int> size;  // W H for decode
};

// Masks as (count, height, width) from .npy (N,H,W or N,1,H,W or H,W) or MetaImage (each slice one mask).
void load_masks(const std::string& path, std::vector<std::uint8_t>& data, std::int64_t& count, int& width, int& height) {
    const std::string ext = std::filesystem::path(path).extension().string();
    if (ext == ".npy") {
        auto a = read_npy<std::uint8_t>(path);
        const auto& s = a.shape;
        if (s.size() == 2) count = 1, height = static_cast<int>(s[0]), width = static_cast<int>(s[1]);
        else if (s.size() == 3) count = s[0], height = static_cast<int>(s[1]), width = static_cast<int>(s[2]);
        else if (s.size() == 4 && s[1] == 1) count = s[0], height = static_cast<int>(s[2]), width = static_cast<int>(s[3]);
        else throw nodulecad::Error(path + ": masks must be (H,W), (N,H,W) or (N,1,H,W)");
        data = std::move(a.data);
    } else if (ext == ".mhd" || ext == ".mha") {
        auto v = read_volume<std::uint8_t>(path);
        width = static_cast<int>(v.geometry.size[0]);
        height = static_cast<int>(v.geometry.size[1]);
        count = v.geometry.size[2];
        data = std::move(v.voxels);
    } else {
        throw nodulecad::Error(path + ": masks must be .npy, .mhd or .mha");
    }
}

void run_encode(const RleArgs& a) {
    std::vector<std::uint8_t> data;
    std::int64_t count = 0;
    int width = 0, height = 0;
    load_masks(a.input, data, count, width, height);
    std::vector<std::string> names;
    if (!a.names.empty()) {
        for (const auto& r : read_csv(a.names, false).rows) names.push_back(r.fields.at(0));
        if (static_cast<std::int64_t>(names.size()) != count)
            throw nodulecad::Error(a.names + ": " + std::to_string(names.size()) + " names for " + std::to_string(count) + " masks");
    }
    std::string csv = "img,pixels\n";
    const std::size_t plane = static_cast<std::size_t>(width) * static_cast<std::size_t>(height);
    for (std::int64_t n = 0; n < count; ++n)
        csv += format_csv_row({names.empty() ? std::to_string(n + 1) : names[static_cast<std::size_t>(n)],
                               rle_encode(data.data() + static_cast<std::size_t>(n) * plane, width, height, a.min_pixels)});
    write_file_atomically(a.out, csv);
    std::cerr << "rle: " << count << " masks of " << width << "x" << height << " -> " << a.out << "\n";
}

void run_decode(const RleArgs& a) {
    if (a.size.size() != 2 || a.size[0] < 1 || a.size[1] < 1) throw nodulecad::Error("--size W H is required for decode");
    const int width = a.size[0], height = a.size[1];
    const CsvTable t = read_csv(a.input, true);
    const std::size_t col = t.column("pixels");
    std::vector<std::uint8_t> data;
    for (const auto& r : t.rows) {
        const std::string rle = col < r.fields.size() ? r.fields[col] : "";
        const auto m = rle_decode(rle, width, height, a.input + ":" + std::to_string(r.line));
        data.insert(data.end(), m.begin(), m.end());
    }
    write_npy(a.out, {static_cast<std::int64_t>(t.rows.size()), 1, height, width}, data);
    std::cerr << "rle: " << t.rows.size() << " masks -> " << a.out << "\n";
}

}  // namespace

void register_rle(CLI::App& app) {
    CLI::App* rle = app.add_subcommand("rle", "Kaggle run-length encoding of 2D masks (pixels numbered down the columns from 1).");
    rle->require_subcommand(1);
    auto e = std::make_shared<RleArgs>();
    CLI::App* enc = rle->add_subcommand("encode", "Masks (.npy (N,1,H,W)/(N,H,W)/(H,W) or .mhd: one mask per slice) -> CSV img,pixels.");
    enc->add_option("masks", e->input, "Mask file")->required();
    enc->add_option("--out", e->out, "Output CSV")->required();
    enc->add_option("--names", e->names, "One image name per line (default: 1, 2, ...)");
    enc->add_option("--min-pixels", e->min_pixels, "Masks with fewer foreground pixels give an empty string")->capture_default_str();
    enc->callback([e] { run_encode(*e); });
    auto d = std::make_shared<RleArgs>();
    CLI::App* dec = rle->add_subcommand("decode", "CSV img,pixels -> masks.npy (N,1,H,W) uint8 in row order.");
    dec->add_option("csv", d->input, "CSV with a pixels column")->required();
    dec->add_option("--size", d->size, "Image width and height")->expected(2)->required();
    dec->add_option("--out", d->out, "Output .npy")->required();
    dec->callback([d] { run_decode(*d); });
}

}  // namespace nodulecad::cli
