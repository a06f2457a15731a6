# Sanitizer and fuzzer builds (docs/reliability.md).
#   FLUX_SANITIZE=address,undefined  instruments every target; the first report aborts the test (-fno-sanitize-recover)
#                                    so ctest sees a failure instead of a log line nobody reads.
#   FLUX_FUZZ=ON                     builds tests/fuzz/ libFuzzer targets (clang only) with fuzzer,address,undefined.
if(FLUX_FUZZ)
  if(NOT CMAKE_CXX_COMPILER_ID MATCHES "Clang")
    message(FATAL_ERROR "FLUX_FUZZ=ON needs clang (libFuzzer): configure with -DCMAKE_CXX_COMPILER=clang++")
  endif()
  # The engine is instrumented for coverage and sanitizers; only the fuzz targets link libFuzzer's main.
  if(NOT FLUX_SANITIZE)
    set(FLUX_SANITIZE "address,undefined")
  endif()
  add_compile_options(-fsanitize=fuzzer-no-link)
endif()

if(FLUX_SANITIZE)
  add_compile_options(-fsanitize=${FLUX_SANITIZE} -fno-sanitize-recover=all -fno-omit-frame-pointer -g1)
  add_link_options(-fsanitize=${FLUX_SANITIZE} -fno-sanitize-recover=all)
endif()
