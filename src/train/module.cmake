# The one trainer (LibTorch) with its three variants, the U-Net, the FP-reduction network and the 3D detector; sample drawing, run
# folders and the options (plain C++).
nodulecad_module(train
  DEPENDS core io preprocess model evaluate
  SOURCES sampling.cpp slice_sample.cpp patch_place.cpp run_folder.cpp trainer_options.cpp train_options.cpp fpr_train_options.cpp train_detector3d_options.cpp
  TORCH_SOURCES trainer.cpp rank_group.cpp train_unet.cpp train_fpr.cpp train_detector3d.cpp)
