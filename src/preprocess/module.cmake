# Lung masks, nodule masks, the 2D slice dataset, the FP-reduction patches.
nodulecad_module(preprocess
  DEPENDS core io
  SOURCES components.cpp distance.cpp lung_segmentation.cpp lung_segmentation_seed.cpp nodule_masks.cpp slice_grid.cpp dataset.cpp fpr_patches.cpp resample.cpp
          patient_split.cpp)
