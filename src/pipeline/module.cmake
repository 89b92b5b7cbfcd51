# Every stage in order on a cohort, resumable: the stage runner, the recipes and the split policy (plain C++), and
# run_pipeline (LibTorch: it trains and predicts).
nodulecad_module(pipeline
  DEPENDS core io synth preprocess model train infer detect evaluate report
  SOURCES stage_runner.cpp recipes.cpp splits.cpp
  TORCH_SOURCES pipeline.cpp)
