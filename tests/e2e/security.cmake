# Security of containerd-shim-tiny-v2 under a private containerd + runc
# (security_test.sh): socket modes, peer credentials, ids, paths, the runtime
# binary. One ctest per scenario. Included by tests/e2e/CMakeLists.txt.
foreach(scenario socket_perms peer_creds bad_ids bad_paths runtime_binary)
  add_test(NAME e2e-security-${scenario} COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/security_test.sh ${scenario})
  set_tests_properties(e2e-security-${scenario} PROPERTIES
    ENVIRONMENT "E2E_BIN_DIR=${CMAKE_BINARY_DIR}/bin;E2E_SHIMCTL=${CMAKE_BINARY_DIR}/tests/shimctl"
    LABELS e2e TIMEOUT 300)
endforeach()

# Unit checks of the validators behind the suite (run as root: mounts, chown).
if(TARGET shim_core AND COMMAND ttrpc_criterion_test)
  ttrpc_criterion_test(shim_security_test
    SOURCES ${CMAKE_SOURCE_DIR}/tests/unit/shim_security_test.c
    LIBS shim_core
    LABELS memcheck)
endif()
