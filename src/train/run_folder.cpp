#include "nodulecad/train/run_folder.hpp"

#include <algorithm>
#include <filesystem>
#include <limits>
#include <nlohmann/json.hpp>

#include "nodulecad/core/error.hpp"
#include "nodulecad/core/files.hpp"
#include "nodulecad/io/csv.hpp"
#include "nodulecad/io/text_numbers.hpp"

namespace nodulecad {

namespace fs = std::filesystem;

std::string RunFolder::config() const { return (fs::path(dir) / "config.json").string(); }
std::string RunFolder::metrics() const { return (fs::path(dir) / "metrics.csv").string(); }
std::string RunFolder::last() const { return (fs::path(dir) / "last.pt").string(); }
std::string RunFolder::best() const { return (fs::path(dir) / "best.pt").string(); }

double MetricsTable::value(std::size_t row, std::string_view column) const {
    const auto it = std::find(columns.begin(), columns.end(), column);
    if (it == columns.end() || row >= rows.size()) return std::numeric_limits<double>::quiet_NaN();
    const auto k = static_cast<std::size_t>(it - columns.begin());
    return k < rows[row].size() ? rows[row][k] : std::numeric_limits<double>::quiet_NaN();
}

void MetricsTable::keep_epochs_up_to(int last) {
    std::vector<std::vector<double>> kept;
    for (std::size_t r = 0; r < rows.size(); ++r)
        if (value(r, "epoch") <= last) kept.push_back(rows[r]);
    rows = std::move(kept);
}

std::string epoch_file(const std::string& run_dir, const std::string& name, int epoch) {
    return (fs::path(run_dir) / (name + "_" + std::to_string(epoch) + ".json")).string();
}

void keep_epoch_file(const std::string& run_dir, const std::string& name, int epoch, const std::string& text) {
    write_file_atomically(epoch_file(run_dir, name, epoch), text);
    std::error_code ec;
    fs::remove(epoch_file(run_dir, name, epoch - 2), ec);
}

MetricsTable read_metrics_table(const std::string& path) {
    MetricsTable t;
    std::error_code ec;
    if (!fs::exists(path, ec)) return t;
    const CsvTable csv = read_csv(path, true);
    t.columns = csv.header;
    if (t.columns.empty() || t.columns.front() != "epoch") fail(path, "not a metrics table (the first column must be epoch)", 1);
    for (const auto& r : csv.rows) {
        std::vector<double> row;
        for (const auto& f : r.fields) row.push_back(parse_double(f).value_or(std::numeric_limits<double>::quiet_NaN()));
        if (row.empty() || !(row[0] >= 1)) fail(path, "epoch must be a number >= 1", r.line);
        t.rows.push_back(std::move(row));
    }
    return t;
}

void write_metrics_table(const std::string& path, const MetricsTable& t) {
    std::string out = format_csv_row(t.columns);
    for (const auto& row : t.rows) {
        std::vector<std::string> fields;
        for (std::size_t k = 0; k < row.size(); ++k) fields.push_back(k == 0 ? std::to_string(static_cast<long long>(row[k])) : format_double(row[k]));
        out += format_csv_row(fields);
    }
    write_file_atomically(path, out);
}

void read_run_config(const std::string& run_dir, const std::string& network, const std::function<void(const nlohmann::json&)>& read) {
    const std::string path = RunFolder{run_dir}.config();
    std::error_code ec;
    if (!fs::exists(path, ec)) fail(run_dir, "not a run folder (no config.json)");
    try {
        const nlohmann::json j = nlohmann::json::parse(read_file(path));
        const std::string kind = j.value("network", std::string("?"));
        if (kind != network) fail(path, "a run of the " + kind + " network, not of " + network);
        read(j);
    } catch (const nlohmann::json::exception& e) {
        fail(path, std::string("not a run configuration: ") + e.what());
    }
}

}  // namespace nodulecad
