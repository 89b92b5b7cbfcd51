#include "nodulecad/io/candidate_parts.hpp"

#include <cstdio>
#include <filesystem>
#include <map>

#include "nodulecad/core/error.hpp"
#include "nodulecad/core/random.hpp"

namespace nodulecad {

namespace fs = std::filesystem;

std::string candidate_parts_dir(const std::string& out, const std::string& key) {
    char hex[17];
    std::snprintf(hex, sizeof hex, "%016llx", static_cast<unsigned long long>(hash_string(key)));
    return (fs::path(out + ".parts") / hex).string();
}

bool write_candidate_parts(const std::string& out, const std::string& key, const std::vector<std::string>& all, const std::vector<std::string>& mine,
                           const std::vector<Candidate>& rows, bool with_diameter) {
    const fs::path dir = candidate_parts_dir(out, key);
    fs::create_directories(dir);
    std::map<std::string, std::vector<Candidate>> by_scan;
    for (const std::string& uid : mine) {
        // A uid names a file here: one that could name a path elsewhere is refused.
        if (uid.empty() || uid == "." || uid == ".." || uid.find_first_of("/\\") != std::string::npos)
            throw Error("seriesuid '" + uid + "' cannot name a file of " + dir.string());
        by_scan[uid];
    }
    for (const Candidate& c : rows) {
        const auto it = by_scan.find(c.seriesuid);
        if (it == by_scan.end()) throw Error("a candidate of scan " + c.seriesuid + ", which is not in this shard");
        it->second.push_back(c);
    }
    for (const auto& [uid, scan_rows] : by_scan) write_candidates((dir / (uid + ".csv")).string(), scan_rows, with_diameter);
    std::error_code ec;
    for (const std::string& uid : all)
        if (!fs::exists(dir / (uid + ".csv"), ec)) return false;
    std::vector<Candidate> table;
    for (const std::string& uid : all)
        for (Candidate& c : read_results((dir / (uid + ".csv")).string())) table.push_back(std::move(c));
    write_candidates(out, table, with_diameter);
    return true;
}

}  // namespace nodulecad
