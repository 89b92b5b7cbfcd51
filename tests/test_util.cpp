#include "test_util.hpp"

#include <unistd.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "nodulecad/core/allocator.hpp"
#include "nodulecad/core/error.hpp"

namespace nodulecad::test {

namespace {
// Every test program runs with the allocator set as the command line sets it (core/allocator.hpp), before main.
[[maybe_unused]] const bool allocator_set = keep_freed_memory_for_reuse();
}  // namespace

TempDir::TempDir() {
    std::string templ = (std::filesystem::temp_directory_path() / "nodulecad-test-XXXXXX").string();
    if (!::mkdtemp(templ.data())) throw std::runtime_error("mkdtemp failed");
    dir_ = templ;
}

TempDir::~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
}

void write_text(const std::string& path, const std::string& contents) {
    std::ofstream f(path, std::ios::binary);
    f << contents;
}

std::string read_text(const std::string& path) {
    std::ifstream f(path, std::ios::binary);
    std::stringstream ss;
    ss << f.rdbuf();
    return ss.str();
}

void expect_error(const std::function<void()>& f, const std::vector<std::string>& fragments) {
    try {
        f();
        ADD_FAILURE() << "expected nodulecad::Error containing '" << (fragments.empty() ? "" : fragments[0]) << "'";
    } catch (const Error& e) {
        const std::string msg = e.what();
        for (const auto& frag : fragments) EXPECT_NE(msg.find(frag), std::string::npos) << "message: " << msg << "\nlacks: " << frag;
        EXPECT_EQ(msg.find('\n'), std::string::npos) << "message spans lines: " << msg;
    } catch (const std::exception& e) {
        ADD_FAILURE() << "expected nodulecad::Error, got another exception: " << e.what();
    }
}

std::vector<std::pair<std::string, Mat3>> test_directions() {
    // Rotation by 0.7 rad about the unit axis (1, 2, 3)/sqrt(14) (Rodrigues).
    const double n = std::sqrt(14.0), ux = 1 / n, uy = 2 / n, uz = 3 / n, t = 0.7, c = std::cos(t), s = std::sin(t);
    const Mat3 oblique{c + ux * ux * (1 - c),      ux * uy * (1 - c) - uz * s, ux * uz * (1 - c) + uy * s,
                       uy * ux * (1 - c) + uz * s, c + uy * uy * (1 - c),      uy * uz * (1 - c) - ux * s,
                       uz * ux * (1 - c) - uy * s, uz * uy * (1 - c) + ux * s, c + uz * uz * (1 - c)};
    return {
        {"identity", identity3()},
        {"luna16_flipped_xy", Mat3{-1, 0, 0, 0, -1, 0, 0, 0, 1}},
        {"permuted_flipped", Mat3{0, 0, -1, 1, 0, 0, 0, -1, 0}},
        {"oblique_rotation", oblique},
        {"reflection_z", Mat3{1, 0, 0, 0, 1, 0, 0, 0, -1}},
    };
}

}  // namespace nodulecad::test
