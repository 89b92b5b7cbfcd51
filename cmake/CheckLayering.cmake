# cmake -DSOURCE_DIR=<tree> -DMODULE_TABLE=<file> -P CheckLayering.cmake
# Holds every #include "nodulecad/<stage>/..." in src/<stage>/ and include/nodulecad/<stage>/ to the stages that
# <stage> declares in its module.cmake (DEPENDS, and what those depend on): data flows one way, no include runs back
# up. MODULE_TABLE is the table the configure step writes (nodulecad_write_module_table). Fails naming every
# offending file and line.
cmake_minimum_required(VERSION 3.25)
include("${MODULE_TABLE}")

# The stages a stage may include: itself and the closure of its DEPENDS.
function(allowed_stages stage out)
  set(result ${stage})
  set(queue ${NODULECAD_${stage}_DEPENDS})
  while(queue)
    list(POP_FRONT queue next)
    if(NOT next IN_LIST result)
      list(APPEND result ${next})
      list(APPEND queue ${NODULECAD_${next}_DEPENDS})
    endif()
  endwhile()
  set(${out} ${result} PARENT_SCOPE)
endfunction()

set(violations 0)
foreach(stage IN LISTS NODULECAD_MODULES)
  allowed_stages(${stage} allowed)
  file(GLOB files "${SOURCE_DIR}/src/${stage}/*.cpp" "${SOURCE_DIR}/src/${stage}/*.hpp" "${SOURCE_DIR}/include/nodulecad/${stage}/*.hpp")
  foreach(f IN LISTS files)
    file(STRINGS "${f}" includes REGEX "^#include \"nodulecad/[a-z_]+/")
    foreach(line IN LISTS includes)
      string(REGEX REPLACE "^#include \"nodulecad/([a-z_]+)/.*" "\\1" target "${line}")
      if(NOT target IN_LIST allowed)
        message(SEND_ERROR "${f}: stage ${stage} includes ${target} (${line}); ${stage} may include: ${allowed}")
        math(EXPR violations "${violations} + 1")
      endif()
    endforeach()
  endforeach()
endforeach()
if(violations GREATER 0)
  message(FATAL_ERROR "${violations} include(s) against the declared layering")
endif()
list(LENGTH NODULECAD_MODULES n)
message(STATUS "layering: ${n} stages, every include within its declared dependencies")
