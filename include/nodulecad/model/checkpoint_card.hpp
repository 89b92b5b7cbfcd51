#pragma once
// A checkpoint's model card without LibTorch's headers: for tools that only describe a checkpoint (`nodulecad info`)
// and must not pull torch into their translation unit. model/checkpoint.hpp has the rest of the checkpoint API.
#include <string>

namespace nodulecad {

// The card's JSON text; Error naming the file for anything that is not a nodulecad checkpoint.
std::string read_card_text(const std::string& path);

}  // namespace nodulecad
