# Whole-scan U-Net inference.
nodulecad_module(infer
  DEPENDS core io preprocess model
  TORCH_SOURCES predict.cpp detector3d_infer.cpp)
