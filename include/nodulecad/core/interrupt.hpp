#pragma once
// Ctrl-C (SIGINT) and SIGTERM (Slurm's scancel, torchrun stopping its ranks, a shutdown) end the process at once
// with one line on stderr — "nodulecad: interrupted (SIGINT): run the same command to resume" — and exit status
// 130 / 143, the shell's convention. Stopping anywhere is safe because every output is written to a temporary file
// and renamed into place (core/files.hpp): nothing under a final name is ever half-written, and the temporary files
// being written at that moment are removed by the handler. Every stage resumes from what is complete.
#include <string>

namespace nodulecad {

// Installs the handlers for SIGINT and SIGTERM, except for a signal the process was started ignoring (nohup, a
// shell's background job), which stays ignored; and ignores SIGXFSZ, so that a write past the file-size limit
// (ulimit -f) fails as an error naming the file instead of killing the process.
void install_interrupt_handlers();

// A temporary file being written: removed by the interrupt handler should the process be stopped before this is
// destroyed (after the rename, or after the writer removed the file itself). At most 64 at once are tracked; more
// are written all the same, just not cleaned up on an interrupt.
class PendingTemporary {
public:
    explicit PendingTemporary(const std::string& path);
    ~PendingTemporary();
    PendingTemporary(const PendingTemporary&) = delete;
    PendingTemporary& operator=(const PendingTemporary&) = delete;

private:
    int slot_ = -1;
};

}  // namespace nodulecad
