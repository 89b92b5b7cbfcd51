#include "train/toy_dataset.hpp"

#include <cmath>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <vector>

#include "nodulecad/core/files.hpp"
#include "nodulecad/io/csv.hpp"
#include "nodulecad/io/npy.hpp"

namespace nodulecad::test {

void write_toy_dataset(const std::string& dir, int n, int channels, int size, bool nodule_weights) {
    std::filesystem::create_directories(dir);
    std::vector<float> images(static_cast<std::size_t>(n * channels * size * size), 0.1f);
    std::vector<std::uint8_t> masks(static_cast<std::size_t>(n * size * size), 0);
    std::string index = std::string("row,seriesuid,scan,subset,split,slice,world_z,positive,nodules,") + (nodule_weights ? "nodule_weight," : "") +
                        "x0_mm,y0_mm,pixel_mm,size,channels\n";
    for (int s = 0; s < n; ++s) {
        const double cx = 8 + (s * 7) % 16, cy = 8 + (s * 11) % 16, r = 3 + s % 4;
        for (int y = 0; y < size; ++y)
            for (int x = 0; x < size; ++x)
                if (std::hypot(x - cx, y - cy) <= r) {
                    masks[static_cast<std::size_t>((s * size + y) * size + x)] = 1;
                    for (int c = 0; c < channels; ++c) images[static_cast<std::size_t>(((s * channels + c) * size + y) * size + x)] = 0.8f;
                }
        std::vector<std::string> row = {std::to_string(s), "p" + std::to_string(s % 5), "p.mhd", "0", s % 5 == 4 ? "val" : "train", "0", "0", "1", "1"};
        if (nodule_weights) row.push_back(s % 2 ? "0.25" : "0.5");
        for (const std::string& f : {std::string("0"), std::string("0"), std::string("1"), std::to_string(size), std::to_string(channels)}) row.push_back(f);
        index += format_csv_row(row);
    }
    write_npy(dir + "/images.npy", {n, channels, size, size}, images);
    write_npy(dir + "/masks.npy", {n, 1, size, size}, masks);
    write_file_atomically(dir + "/index.csv", index);
    const nlohmann::json stats = {{"train_mean", 0.15}, {"train_std", 0.2},
                                  {"options", {{"pixel_mm", 1.0}, {"window", {-1000, 400}}, {"context", (channels - 1) / 2}, {"mask_lungs", false}}}};
    write_file_atomically(dir + "/stats.json", stats.dump());
}

TrainOptions toy_options(const std::string& data, const std::string& run, int epochs) {
    TrainOptions o;
    o.data_dir = data;
    o.run.run_dir = run;
    o.run.epochs = epochs;
    o.run.batch = 4;
    o.run.lr = 3e-3;
    o.run.device = "cpu";
    o.unet = {1, 4, 3, false};
    o.run.seed = 3;
    return o;
}

}  // namespace nodulecad::test
