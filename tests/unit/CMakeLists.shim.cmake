# Unit suites of the shim's modules (shim/). Included by tests/unit/CMakeLists.txt
# (or, until it does, by tests/e2e/CMakeLists.txt).
if(TARGET shim_core)
  foreach(mod ids flags address log oci sandbox reaper runtime mount stdio)
    ttrpc_criterion_test(shim_${mod}_test
      SOURCES ${CMAKE_SOURCE_DIR}/tests/unit/shim_${mod}_test.c
      LIBS shim_core)
  endforeach()
endif()
