#pragma once
// A toy U-Net dataset and the options that train on it in seconds, shared by the trainer's tests.
#include <string>

#include "nodulecad/train/train_unet.hpp"

namespace nodulecad::test {

// A preprocessing dataset folder: bright discs on a dark background, masks = the discs; n samples of
// channels x size x size, every fifth (samples 4, 9, ...) in the validation split.
void write_toy_dataset(const std::string& dir, int n, int channels, int size, bool nodule_weights = true);

// A 4-filter, 3-level U-Net on the CPU, batch 4, lr 3e-3, seed 3.
TrainOptions toy_options(const std::string& data, const std::string& run, int epochs);

}  // namespace nodulecad::test
