# Synthetic chest CT cohorts with exact truth.
nodulecad_module(synth
  DEPENDS core io
  SOURCES phantom.cpp anatomy.cpp objects.cpp scan_spec.cpp render.cpp cohort.cpp manifest.cpp)
