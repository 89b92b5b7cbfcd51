# Every stage in order on a cohort, resumable: the stage runner, the recipes, the split policy and the model bundle's
# card (plain C++); run_pipeline (it trains and predicts) and infer_scans (a bundle on new scans) use LibTorch.
nodulecad_module(pipeline
  DEPENDS core io synth preprocess model train infer detect evaluate report
  SOURCES stage_runner.cpp recipes.cpp splits.cpp model_bundle.cpp
  TORCH_SOURCES pipeline.cpp infer_scans.cpp)
