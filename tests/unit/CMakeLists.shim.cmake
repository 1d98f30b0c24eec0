# Unit suites of the shim's modules (shim/). Included by tests/unit/CMakeLists.txt
# (or, until it does, by tests/e2e/CMakeLists.txt). All of them also run in the
# ASan+UBSan tree (`ctest -L memcheck`).
if(TARGET shim_core)
  set(shim_unit_tests)
  foreach(mod ids flags address log oci sandbox reaper runtime mount stdio oom)
    ttrpc_criterion_test(shim_${mod}_test
      SOURCES ${CMAKE_SOURCE_DIR}/tests/unit/shim_${mod}_test.c
      LIBS shim_core
      LABELS memcheck)
    list(APPEND shim_unit_tests shim_${mod}_test)
  endforeach()
  # events.c is part of the shim binary, not shim_core (it needs the task API).
  if(TARGET ttrpc_task)
    ttrpc_criterion_test(shim_events_test
      SOURCES ${CMAKE_SOURCE_DIR}/tests/unit/shim_events_test.c ${CMAKE_SOURCE_DIR}/shim/events.c
      LIBS shim_core ttrpc_task ttrpc_static
      LABELS memcheck)
    list(APPEND shim_unit_tests shim_events_test)
  endif()
  # LeakSanitizer reports when a test's worker process exits, after Criterion
  # has counted the test as passed, and the runner still exits 0: without this
  # a leak is printed and the suite passes.
  if(TTRPC_SANITIZE)
    set_tests_properties(${shim_unit_tests} PROPERTIES
      FAIL_REGULAR_EXPRESSION "ERROR: LeakSanitizer|ERROR: AddressSanitizer|runtime error:")
  endif()
endif()
