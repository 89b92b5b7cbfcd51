#include <gtest/gtest.h>

#include <filesystem>

#include "nodulecad/core/error.hpp"
#include "nodulecad/core/files.hpp"
#include "test_util.hpp"

namespace nodulecad {
namespace {

TEST(Files, AtomicWriteReplacesAndLeavesNoTemporaries) {
    test::TempDir dir;
    const std::string p = dir.path("out.txt");
    write_file_atomically(p, "first");
    write_file_atomically(p, "second");
    EXPECT_EQ(read_file(p), "second");
    EXPECT_EQ(file_size(p), 6u);
    int entries = 0;
    for (const auto& e : std::filesystem::directory_iterator(dir.dir())) (void)e, ++entries;
    EXPECT_EQ(entries, 1);
}

TEST(Files, FailedWriteKeepsOldFileAndRemovesTemporary) {
    test::TempDir dir;
    const std::string p = dir.path("out.txt");
    write_file_atomically(p, "old contents");
    EXPECT_THROW(write_file_atomically(p,
                                       [&](std::FILE* f) {
                                           write_all(f, "partial", 7, p);
                                           throw Error("interrupted");
                                       }),
                 Error);
    EXPECT_EQ(read_file(p), "old contents");
    int entries = 0;
    for (const auto& e : std::filesystem::directory_iterator(dir.dir())) (void)e, ++entries;
    EXPECT_EQ(entries, 1);
}

TEST(Files, ErrorsNameTheFile) {
    test::TempDir dir;
    test::expect_error([&] { (void)read_file(dir.path("missing.csv")); }, {"missing.csv", "cannot open"});
    test::expect_error([&] { write_file_atomically(dir.path("no/such/dir/x.txt"), "x"); }, {"x.txt", "cannot create"});
    EXPECT_EQ(read_file_prefix((write_file_atomically(dir.path("p"), "abcdef"), dir.path("p")), 3), "abc");
}

TEST(Files, PathBytesSumsAFoldersFilesThroughLinks) {
    test::TempDir dir;
    std::filesystem::create_directories(dir.path("series/sub"));
    write_file_atomically(dir.path("series/a.dcm"), "12345");
    write_file_atomically(dir.path("series/sub/b.dcm"), "123");
    write_file_atomically(dir.path("c.dcm"), "1234567");
    std::filesystem::create_symlink(dir.path("c.dcm"), dir.path("series/c.dcm"));  // a split's folder of links
    EXPECT_EQ(path_bytes(dir.path("series")), 15u);
    EXPECT_EQ(path_bytes(dir.path("c.dcm")), 7u);
    test::expect_error([&] { (void)path_bytes(dir.path("missing")); }, {"missing"});
}

}  // namespace
}  // namespace nodulecad
