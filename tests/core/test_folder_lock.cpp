// One process at a time in a work folder: another process is refused at once with the holder's pid; locks nest in
// one process; a killed holder leaves no stale lock. Other processes are fork()ed children.
#include <gtest/gtest.h>

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <string>

#include "nodulecad/core/error.hpp"
#include "nodulecad/core/folder_lock.hpp"
#include "test_util.hpp"

namespace nodulecad {
namespace {

// In a child process: tries to lock `dir`; returns what it threw ("" when it got the lock).
std::string try_in_child(const std::string& dir) {
    int fds[2];
    if (pipe(fds) != 0) return "pipe failed";
    const pid_t pid = fork();
    if (pid == 0) {
        close(fds[0]);
        std::string msg;
        try {
            FolderLock lock(dir, "the child");
        } catch (const Error& e) {
            msg = e.what();
        }
        if (write(fds[1], msg.data(), msg.size()) < 0) _exit(2);
        _exit(0);
    }
    close(fds[1]);
    std::string out;
    char buf[256];
    ssize_t n;
    while ((n = read(fds[0], buf, sizeof buf)) > 0) out.append(buf, static_cast<std::size_t>(n));
    close(fds[0]);
    int status = 0;
    waitpid(pid, &status, 0);
    return out;
}

TEST(FolderLock, AnotherProcessIsRefusedAtOnceNamingTheHolder) {
    test::TempDir dir;
    const std::string work = dir.path("work");
    {
        FolderLock lock(work, "run --out work");
        const std::string err = try_in_child(work);
        EXPECT_NE(err.find(work + " is in use by another nodulecad process (pid " + std::to_string(getpid()) + ": run --out work)"), std::string::npos) << err;
        EXPECT_NE(err.find("wait for it to end"), std::string::npos) << err;
        // Another folder is free.
        EXPECT_EQ(try_in_child(dir.path("other")), "");
    }
    EXPECT_EQ(try_in_child(work), "");  // released with the lock
}

TEST(FolderLock, NestsInOneProcessAndHoldsUntilTheLastGoes) {
    test::TempDir dir;
    const std::string work = dir.path("w");
    auto outer = std::make_unique<FolderLock>(work, "outer");
    {
        FolderLock inner(work + "/.", "inner");  // the same folder, spelled otherwise
        EXPECT_NE(try_in_child(work), "");
    }
    EXPECT_NE(try_in_child(work), "");  // the outer one still holds it
    outer.reset();
    EXPECT_EQ(try_in_child(work), "");
}

TEST(FolderLock, AKilledHolderLeavesNoStaleLock) {
    test::TempDir dir;
    const std::string work = dir.path("w");
    int ready[2];
    ASSERT_EQ(pipe(ready), 0);
    const pid_t pid = fork();
    if (pid == 0) {
        close(ready[0]);
        FolderLock lock(work, "the victim");
        if (write(ready[1], "x", 1) < 0) _exit(2);
        pause();
        _exit(0);
    }
    close(ready[1]);
    char c;
    ASSERT_EQ(read(ready[0], &c, 1), 1);
    close(ready[0]);
    test::expect_error([&] { FolderLock lock(work, "me"); }, {"is in use", "pid " + std::to_string(pid) + ": the victim"});
    kill(pid, SIGKILL);
    int status = 0;
    waitpid(pid, &status, 0);
    EXPECT_NO_THROW(FolderLock(work, "me"));
    EXPECT_TRUE(std::filesystem::exists(work + "/.nodulecad.lock"));
}

}  // namespace
}  // namespace nodulecad
