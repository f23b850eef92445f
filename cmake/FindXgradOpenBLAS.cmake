# Finds OpenBLAS with its own CBLAS header and defines the imported target
# xgrad::openblas. The generic <cblas.h> on Debian is an alternatives link
# that may point at the reference BLAS, so the header is looked for in
# OpenBLAS's own directories first. Installed with xgrad, so that
# find_package(xgrad) finds OpenBLAS again: exported targets name
# xgrad::openblas, never an absolute library path.
find_path(XgradOpenBLAS_INCLUDE_DIR cblas.h
  PATHS /usr/include/x86_64-linux-gnu/openblas-pthread /usr/include/aarch64-linux-gnu/openblas-pthread
        /usr/include/openblas
  NO_DEFAULT_PATH)
find_path(XgradOpenBLAS_INCLUDE_DIR cblas.h PATH_SUFFIXES openblas)
find_library(XgradOpenBLAS_LIBRARY NAMES openblas)
include(FindPackageHandleStandardArgs)
find_package_handle_standard_args(XgradOpenBLAS
  REQUIRED_VARS XgradOpenBLAS_LIBRARY XgradOpenBLAS_INCLUDE_DIR
  REASON_FAILURE_MESSAGE "apt-get install libopenblas-dev")
if(XgradOpenBLAS_FOUND AND NOT TARGET xgrad::openblas)
  add_library(xgrad::openblas UNKNOWN IMPORTED)
  set_target_properties(xgrad::openblas PROPERTIES
    IMPORTED_LOCATION "${XgradOpenBLAS_LIBRARY}"
    INTERFACE_INCLUDE_DIRECTORIES "${XgradOpenBLAS_INCLUDE_DIR}")
endif()
mark_as_advanced(XgradOpenBLAS_INCLUDE_DIR XgradOpenBLAS_LIBRARY)
