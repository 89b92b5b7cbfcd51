#include "nodulecad/version.hpp"

namespace nodulecad {

const char* version() { return NODULECAD_VERSION_STRING; }

}  // namespace nodulecad
