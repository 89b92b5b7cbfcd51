#pragma once
// Shared test helpers: a temporary folder removed at the end of each test, small file writers, and an assertion
// that a call throws nodulecad::Error whose one-line message contains given fragments.
#include <gtest/gtest.h>

#include <functional>
#include <string>
#include <vector>

#include "nodulecad/core/geometry.hpp"

namespace nodulecad::test {

class TempDir {
public:
    TempDir();
    ~TempDir();
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;
    std::string path(const std::string& name) const { return dir_ + "/" + name; }
    const std::string& dir() const { return dir_; }

private:
    std::string dir_;
};

void write_text(const std::string& path, const std::string& contents);
std::string read_text(const std::string& path);

// Runs f, expects nodulecad::Error, and checks its message contains every fragment and no newline.
void expect_error(const std::function<void()>& f, const std::vector<std::string>& fragments);

// Direction matrices every geometry test runs over: identity, LUNA16's flipped x/y, a permutation with a flip,
// an oblique rotation about an arbitrary axis, and an improper (reflection) matrix.
std::vector<std::pair<std::string, Mat3>> test_directions();

}  // namespace nodulecad::test
