# Finds oneDNN (Debian's libdnnl-dev) for conv2d's float32 kernels and
# defines the imported target xgrad::onednn. Its own dnnl-config.cmake is not
# used: Debian's asks for OpenCL (its GPU runtime), which xgrad never needs.
# libgomp is named too: xgrad sets oneDNN's OpenMP thread count around each
# call (Note [Convolution through oneDNN]).
find_path(XgradOneDNN_INCLUDE_DIR dnnl.hpp PATH_SUFFIXES oneapi/dnnl)
find_library(XgradOneDNN_LIBRARY NAMES dnnl)
find_library(XgradOneDNN_GOMP NAMES gomp libgomp.so.1)
include(FindPackageHandleStandardArgs)
find_package_handle_standard_args(XgradOneDNN
  REQUIRED_VARS XgradOneDNN_LIBRARY XgradOneDNN_INCLUDE_DIR XgradOneDNN_GOMP
  REASON_FAILURE_MESSAGE "apt-get install libdnnl-dev (optional: conv2d then runs xgrad's own kernels)")
if(XgradOneDNN_FOUND AND NOT TARGET xgrad::onednn)
  add_library(xgrad::onednn UNKNOWN IMPORTED)
  set_target_properties(xgrad::onednn PROPERTIES
    IMPORTED_LOCATION "${XgradOneDNN_LIBRARY}"
    INTERFACE_INCLUDE_DIRECTORIES "${XgradOneDNN_INCLUDE_DIR}"
    INTERFACE_LINK_LIBRARIES "${XgradOneDNN_GOMP}")
endif()
mark_as_advanced(XgradOneDNN_INCLUDE_DIR XgradOneDNN_LIBRARY XgradOneDNN_GOMP)
