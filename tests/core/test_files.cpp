#include <gtest/gtest.h>

#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <string>
#include <vector>

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

// What a SIGKILL leaves mid-write: "<path>.tmp-<pid>-<n>" of a process that is gone (or of this one, before it has
// written anything) is removed, in subfolders too; a live writer's, and names that are not ours, are kept.
TEST(Files, StaleTemporariesOfDeadWritersAreRemoved) {
    test::TempDir dir;
    const pid_t child = fork();
    if (child == 0) _exit(0);
    waitpid(child, nullptr, 0);  // a pid that no longer runs
    const std::string dead = std::to_string(child), me = std::to_string(getpid());
    std::filesystem::create_directories(dir.path("sub"));
    for (const std::string& name : std::vector<std::string>{"a.csv.tmp-" + dead + "-3", "sub/b.npy.tmp-" + dead + "-0", "c.pt.tmp-" + me + "-1", "live.csv.tmp-1-2",
                                   "d.tmp", "e.tmp-12x-1", "f.tmp-" + dead + "-", "keep.csv"})
        write_file_atomically(dir.path(name), "x");
    EXPECT_EQ(remove_stale_temporaries(dir.path("")), 3);
    for (const char* gone : {"sub/b.npy.tmp-", "a.csv.tmp-", "c.pt.tmp-"}) {
        bool found = false;
        for (const auto& e : std::filesystem::recursive_directory_iterator(dir.path("")))
            found = found || e.path().string().find(gone) != std::string::npos;
        EXPECT_FALSE(found) << gone;
    }
    for (const char* kept : {"live.csv.tmp-1-2", "d.tmp", "e.tmp-12x-1", "keep.csv"}) EXPECT_TRUE(std::filesystem::exists(dir.path(kept))) << kept;
    EXPECT_TRUE(std::filesystem::exists(dir.path("f.tmp-" + dead + "-")));
    EXPECT_EQ(remove_stale_temporaries(dir.path("missing")), 0);
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
