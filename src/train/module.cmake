# The one trainer (LibTorch) with its two variants, the U-Net and the FP-reduction network; sample drawing, run
# folders and the options (plain C++).
nodulecad_module(train
  DEPENDS core io preprocess model evaluate
  SOURCES sampling.cpp slice_sample.cpp run_folder.cpp trainer_options.cpp train_options.cpp fpr_train_options.cpp
  TORCH_SOURCES trainer.cpp train_unet.cpp train_fpr.cpp)
