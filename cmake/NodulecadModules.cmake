# Every pipeline stage declares itself in src/<stage>/module.cmake, as ITK modules do in itk-module.cmake: its
# sources (plain C++, and those that need LibTorch) and the stages whose headers it may include. The libraries are
# made from these lists, and the layering test (cmake/CheckLayering.cmake) holds every #include to them.
#
#   nodulecad_module(<stage> DEPENDS <stage>... SOURCES <file>... TORCH_SOURCES <file>...)
#
# Headers live in include/nodulecad/<stage>/ and are included as "nodulecad/<stage>/<name>.hpp".
set_property(GLOBAL PROPERTY NODULECAD_MODULES "")
set_property(GLOBAL PROPERTY NODULECAD_CORE_SOURCES "")
set_property(GLOBAL PROPERTY NODULECAD_DL_SOURCES "")

function(nodulecad_module name)
  cmake_parse_arguments(M "" "" "DEPENDS;SOURCES;TORCH_SOURCES" ${ARGN})
  get_property(known GLOBAL PROPERTY NODULECAD_MODULES)
  foreach(dep IN LISTS M_DEPENDS)
    if(NOT dep IN_LIST known)
      message(FATAL_ERROR "stage ${name} depends on ${dep}, which is not declared before it (src/<stage>/module.cmake order)")
    endif()
  endforeach()
  list(TRANSFORM M_SOURCES PREPEND "${CMAKE_CURRENT_LIST_DIR}/")
  list(TRANSFORM M_TORCH_SOURCES PREPEND "${CMAKE_CURRENT_LIST_DIR}/")
  set_property(GLOBAL APPEND PROPERTY NODULECAD_MODULES ${name})
  set_property(GLOBAL PROPERTY NODULECAD_${name}_DEPENDS "${M_DEPENDS}")
  set_property(GLOBAL PROPERTY NODULECAD_${name}_TORCH "${M_TORCH_SOURCES}")
  set_property(GLOBAL APPEND PROPERTY NODULECAD_CORE_SOURCES ${M_SOURCES})
  set_property(GLOBAL APPEND PROPERTY NODULECAD_DL_SOURCES ${M_TORCH_SOURCES})
endfunction()

# The module table as a CMake file the layering check includes: NODULECAD_MODULES and NODULECAD_<stage>_DEPENDS.
function(nodulecad_write_module_table path)
  get_property(modules GLOBAL PROPERTY NODULECAD_MODULES)
  set(text "set(NODULECAD_MODULES \"${modules}\")\n")
  foreach(m IN LISTS modules)
    get_property(deps GLOBAL PROPERTY NODULECAD_${m}_DEPENDS)
    string(APPEND text "set(NODULECAD_${m}_DEPENDS \"${deps}\")\n")
  endforeach()
  file(WRITE "${path}" "${text}")
endfunction()
