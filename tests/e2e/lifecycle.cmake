# The lifecycle edges of containerd-shim-tiny-v2 under a private containerd +
# runc (lifecycle_test.sh): one ctest per scenario. Included by
# tests/e2e/CMakeLists.txt.
foreach(scenario delete_running delete_created delete_runtime_fails delete_action_twice sigterm_inflight
                 create_rollback_overlay)
  add_test(NAME e2e-lifecycle-${scenario} COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/lifecycle_test.sh ${scenario})
  set_tests_properties(e2e-lifecycle-${scenario} PROPERTIES
    ENVIRONMENT "E2E_BIN_DIR=${CMAKE_BINARY_DIR}/bin;E2E_SHIMCTL=${CMAKE_BINARY_DIR}/tests/shimctl"
    LABELS e2e TIMEOUT 300)
endforeach()
