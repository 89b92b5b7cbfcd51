#pragma once
// A training run's folder, the same for every network the trainer trains:
//   RUN/config.json  what the run was started with (the network's card, the data, the options)
//   RUN/metrics.csv  one row of numbers per finished epoch, columns named in the header
//   RUN/last.pt      every epoch, with the optimizer state (what --resume continues from)
//   RUN/best.pt      the epoch the network's validation metric liked best
// Every file is written atomically. Plain C++: readers (the pipeline, the report) need no LibTorch.
#include <functional>
#include <nlohmann/json_fwd.hpp>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace nodulecad {

struct RunFolder {
    std::string dir;

    std::string config() const;
    std::string metrics() const;
    std::string last() const;
    std::string best() const;
};

// metrics.csv: one row per epoch, "epoch" first. Read by column name, so a file with other or more columns still
// reads; a missing value reads as NaN.
struct MetricsTable {
    std::vector<std::string> columns;
    std::vector<std::vector<double>> rows;

    // NaN when the column is absent.
    double value(std::size_t row, std::string_view column) const;
    // Rows with epoch <= last (a resumed run forgets the epochs after its checkpoint).
    void keep_epochs_up_to(int last);
};

// An empty table when the file does not exist; Error naming the file and line for anything unreadable.
MetricsTable read_metrics_table(const std::string& path);
void write_metrics_table(const std::string& path, const MetricsTable& table);

// A network's typed metrics row (EpochMetrics, FprEpochMetrics) from its named values: `epoch` and each field by
// the column name paired with it. `get(name)` is a table row's or a finished epoch's value (NaN when absent).
template <class Metrics> using MetricsFields = std::vector<std::pair<const char*, double Metrics::*>>;
template <class Metrics, class Get> Metrics metrics_from(const Get& get, const MetricsFields<Metrics>& fields) {
    Metrics m;
    m.epoch = static_cast<int>(get("epoch"));
    for (const auto& [name, field] : fields) m.*field = get(name);
    return m;
}
// Every row of a run's metrics.csv, typed.
template <class Metrics> std::vector<Metrics> read_metrics(const std::string& run_dir, const MetricsFields<Metrics>& fields) {
    const MetricsTable t = read_metrics_table(RunFolder{run_dir}.metrics());
    std::vector<Metrics> out;
    for (std::size_t r = 0; r < t.rows.size(); ++r) out.push_back(metrics_from<Metrics>([&](const char* c) { return t.value(r, c); }, fields));
    return out;
}

// What an epoch mined (hard negatives, nodule scores): RUN/<name>_<epoch>.json, kept for a resumed run to draw the
// next epoch as the first run did.
std::string epoch_file(const std::string& run_dir, const std::string& name, int epoch);
// Writes it atomically and removes the one of two epochs before (the last two epochs' stay).
void keep_epoch_file(const std::string& run_dir, const std::string& name, int epoch, const std::string& text);

// RUN/config.json of a run of `network` ("unet", "fpr"), handed to `read`, which takes the options out of it.
// Error naming the file when it is missing, of another network, or not what `read` expects.
void read_run_config(const std::string& run_dir, const std::string& network, const std::function<void(const nlohmann::json&)>& read);

}  // namespace nodulecad
