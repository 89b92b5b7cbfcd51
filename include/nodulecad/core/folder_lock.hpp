#pragma once
// One process at a time in a work folder: DIR/.nodulecad.lock, held with flock(2). The kernel releases the lock when
// the process ends, however it ends (a SIGKILL, a crash, a lost machine's NFS client aside), so a killed run never
// leaves a stale lock to clean up; the file stays, holding the last holder's pid and command, which is only ever
// read to name a holder that is still alive. Locks nest within one process: the pipeline holds WORK while its
// trainers take their run folders' locks, and taking a lock this process already holds costs nothing.
#include <string>

namespace nodulecad {

class FolderLock {
public:
    // Creates DIR if needed. Error "DIR is in use by another nodulecad process (pid N: what); wait for it to end, or
    // stop it and run this again" when another process holds it — at once, never waiting.
    FolderLock(const std::string& dir, const std::string& what);
    ~FolderLock();
    FolderLock(const FolderLock&) = delete;
    FolderLock& operator=(const FolderLock&) = delete;

private:
    std::string key_;  // the lock file's canonical path
};

}  // namespace nodulecad
