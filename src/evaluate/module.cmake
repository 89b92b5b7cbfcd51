# LUNA16 FROC / CPM, localisation errors, segmentation and classification scores (used by training's validation too).
nodulecad_module(evaluate
  DEPENDS core io
  SOURCES overlap.cpp froc.cpp paired_froc.cpp localisation.cpp segmentation_scores.cpp classification.cpp subgroups.cpp mark_budget.cpp)
