# Lung masks, nodule masks, the 2D slice dataset, the FP-reduction patches.
nodulecad_module(preprocess
  DEPENDS core io
  SOURCES components.cpp distance.cpp lung_segmentation.cpp lung_segmentation_seed.cpp nodule_masks.cpp slice_grid.cpp dataset.cpp fpr_patches.cpp resample.cpp grid3d.cpp detector3d_dataset.cpp
          patient_split.cpp)
