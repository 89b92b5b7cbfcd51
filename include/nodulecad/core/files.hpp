#pragma once
// File helpers. Writing outputs so that an interrupted run never leaves a half-written file under the final name:
// everything goes to "<path>.tmp-<pid>-<n>" in the same folder, is flushed, then renamed over <path>.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

namespace nodulecad {

// A FILE* closed when it goes out of scope.
struct FileCloser {
    void operator()(std::FILE* f) const {
        if (f) std::fclose(f);
    }
};
using UniqueFile = std::unique_ptr<std::FILE, FileCloser>;

// Calls write(FILE*) on a temporary file next to `path`, then renames it to `path`.
// On any failure (write's exception or an I/O error) the temporary file is removed and an Error is thrown.
void write_file_atomically(const std::string& path, const std::function<void(std::FILE*)>& write);
void write_file_atomically(const std::string& path, std::string_view contents);

// Removes, under `dir` (recursively), the temporary files of writers that died before their rename — those named
// "<path>.tmp-<pid>-<n>" whose process no longer runs (or is this one, at its start) — and returns how many. A
// SIGKILL leaves such files; the commands that resume call this on their folder first.
int remove_stale_temporaries(const std::string& dir);

// fwrite that throws nodulecad::Error naming `path` on a short write.
void write_all(std::FILE* f, const void* data, std::size_t bytes, const std::string& path);

// Whole file into memory; Error naming the file if it cannot be read.
std::string read_file(const std::string& path);
// At most the first `max_bytes` bytes of a file.
std::string read_file_prefix(const std::string& path, std::size_t max_bytes);
// File size in bytes, or Error.
std::uint64_t file_size(const std::string& path);
// A file's size, or for a folder (a DICOM series) the sizes of every file under it, recursively; Error when missing.
std::uint64_t path_bytes(const std::string& path);

}  // namespace nodulecad
