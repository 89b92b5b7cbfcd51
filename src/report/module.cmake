# Pictures, plots, the evaluation folder (with sensitivities by size, and by kind from a synth manifest) and the
# HTML report.
nodulecad_module(report
  DEPENDS core io synth evaluate
  SOURCES slice_view.cpp canvas.cpp froc_plot.cpp error_plot.cpp html_report.cpp evaluation_folder.cpp overlays.cpp)
