# xgrad_layer(<target> <export name> SOURCES ... [PUBLIC ...] [PRIVATE ...])
# One layer of the library: a static library xgrad_<name> (alias xgrad::<name>)
# with its folder's include/ as public headers, linking the layers below it
# PUBLIC, warnings on, installed and exported as xgrad::<name>.
function(xgrad_layer target export)
  cmake_parse_arguments(LAYER "" "" "SOURCES;PUBLIC;PRIVATE" ${ARGN})
  add_library(${target} ${LAYER_SOURCES})
  add_library(xgrad::${export} ALIAS ${target})
  target_include_directories(${target}
    PUBLIC $<BUILD_INTERFACE:${CMAKE_CURRENT_SOURCE_DIR}/include> $<INSTALL_INTERFACE:${CMAKE_INSTALL_INCLUDEDIR}>)
  target_link_libraries(${target} PUBLIC ${LAYER_PUBLIC} PRIVATE ${LAYER_PRIVATE} $<BUILD_INTERFACE:xgrad_warnings>)
  set_target_properties(${target} PROPERTIES POSITION_INDEPENDENT_CODE ON EXPORT_NAME ${export})
  install(DIRECTORY include/xgrad DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
endfunction()
