#pragma once
// Warnings raised deep in the library, where no command's output is at hand: a scan read with NaN voxels, a DICOM
// series with an uneven spacing. Each is printed on stderr as one line, "nodulecad: warning: SOURCE: WHAT", the same
// line at most once per process (a pipeline reads a scan in several stages). Thread-safe.
#include <string>
#include <vector>

namespace nodulecad {

void warn(const std::string& source, const std::string& what);

// The warnings given so far in this process (for tests and summaries), in order, each once.
std::vector<std::string> warnings_given();

}  // namespace nodulecad
