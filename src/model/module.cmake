# The networks (LibTorch) and their model cards (plain C++).
nodulecad_module(model
  DEPENDS core preprocess
  SOURCES model_card.cpp fpr_card.cpp detector3d_card.cpp
  TORCH_SOURCES checkpoint.cpp unet.cpp run_mode.cpp fpr_net.cpp losses.cpp device.cpp speed_bench.cpp detector3d.cpp)
