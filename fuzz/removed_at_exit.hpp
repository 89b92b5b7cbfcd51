#pragma once
// A file or folder the harnesses write each input to, removed when the process ends (libFuzzer and the replay both
// end by exit(), which runs static destructors).
#include <filesystem>
#include <string>
#include <system_error>

struct RemovedAtExit {
    std::string path;
    ~RemovedAtExit() {
        std::error_code ec;
        std::filesystem::remove_all(path, ec);
    }
};
