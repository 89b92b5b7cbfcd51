# Volumes, geometry, errors, files, progress, threads. Depends on nothing.
nodulecad_module(core
  SOURCES error.cpp geometry.cpp files.cpp element_type.cpp progress.cpp version.cpp nonzero_box.cpp launch.cpp folder_lock.cpp interrupt.cpp warnings.cpp memory_limit.cpp cpu_time.cpp child_process.cpp allocator.cpp)
