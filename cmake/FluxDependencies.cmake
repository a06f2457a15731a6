# Every third-party dependency is found here, from Debian 12 packages (tools/install-deps.sh) — nothing is downloaded.
find_package(Threads REQUIRED)
find_package(OpenMP REQUIRED COMPONENTS CXX)
find_package(PkgConfig REQUIRED)
find_package(nlohmann_json 3.10 REQUIRED)
find_package(spdlog REQUIRED)
find_package(fmt REQUIRED)
find_package(ICU REQUIRED COMPONENTS uc i18n)
find_package(CLI11 REQUIRED)

# The OpenMP build of OpenBLAS shares our OpenMP thread pool; the pthread build would fight it for the cores.
find_library(FLUX_OPENBLAS_LIBRARY openblas PATHS /usr/lib/x86_64-linux-gnu/openblas-openmp
             /usr/lib/aarch64-linux-gnu/openblas-openmp NO_DEFAULT_PATH)
if(NOT FLUX_OPENBLAS_LIBRARY)
  message(WARNING "OpenMP OpenBLAS not found (Debian: libopenblas-openmp-dev); using the default BLAS")
  set(BLA_VENDOR OpenBLAS)
  find_package(BLAS REQUIRED)
  set(FLUX_OPENBLAS_LIBRARY ${BLAS_LIBRARIES})
endif()
find_path(FLUX_CBLAS_INCLUDE_DIR cblas.h PATH_SUFFIXES openblas-openmp openblas openblas-pthread REQUIRED)

pkg_check_modules(SENTENCEPIECE REQUIRED IMPORTED_TARGET sentencepiece)

if(FLUX_BUILD_TESTS)
  find_package(GTest REQUIRED)
endif()
if(FLUX_WITH_UI)
  find_package(Qt6 REQUIRED COMPONENTS Widgets Charts Svg Test)
endif()
