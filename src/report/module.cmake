# Pictures, plots, the evaluation folder and the HTML report.
nodulecad_module(report
  DEPENDS core io evaluate
  SOURCES slice_view.cpp canvas.cpp froc_plot.cpp error_plot.cpp html_report.cpp evaluation_folder.cpp overlays.cpp)
