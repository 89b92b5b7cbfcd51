# Candidates from probability volumes and blobs, RLE, FP-reduction scoring (LibTorch).
nodulecad_module(detect
  DEPENDS core io preprocess model infer
  SOURCES blobs.cpp candidates.cpp heatmap_peaks.cpp rle.cpp
  TORCH_SOURCES fpr_score.cpp heatmap_candidates.cpp)
