# Unit suites of the shim's modules (shim/). Included by tests/unit/CMakeLists.txt.
# All of them also run in the ASan+UBSan tree (`ctest -L memcheck`), where any
# sanitizer report fails them (ttrpc_criterion_test).
if(TARGET shim_core)
  foreach(mod ids flags address log logger oci offload sandbox reaper runtime cmd mount stdio oom)
    ttrpc_criterion_test(shim_${mod}_test
      SOURCES ${CMAKE_SOURCE_DIR}/tests/unit/shim_${mod}_test.c
      LIBS shim_core
      LABELS memcheck)
  endforeach()
  # events.c is part of the shim binary, not shim_core (it needs the task API).
  if(TARGET ttrpc_task)
    ttrpc_criterion_test(shim_events_test
      SOURCES ${CMAKE_SOURCE_DIR}/tests/unit/shim_events_test.c ${CMAKE_SOURCE_DIR}/shim/events.c
      LIBS shim_core ttrpc_task ttrpc_static
      LABELS memcheck)
    # metrics.c (Task.Stats) packs the cgroups Metrics protos of ttrpc_task.
    ttrpc_criterion_test(shim_metrics_test
      SOURCES ${CMAKE_SOURCE_DIR}/tests/unit/shim_metrics_test.c ${CMAKE_SOURCE_DIR}/shim/metrics.c
      LIBS shim_core ttrpc_task ttrpc_static
      LABELS memcheck)
    # the containerd 2.x messages and services (-info, Task v3, Sandbox) against
    # containerd's definitions, field by field
    ttrpc_criterion_test(shim_proto_test
      SOURCES ${CMAKE_SOURCE_DIR}/tests/unit/shim_proto_test.c
      LIBS ttrpc_task ttrpc_static
      LABELS memcheck
      TIMEOUT 60)
    # The Task service over a socketpair with a fake OCI runtime (service.c and
    # the model in shim_task).
    if(TARGET shim_task)
      ttrpc_criterion_test(shim_task_test
        SOURCES ${CMAKE_SOURCE_DIR}/tests/unit/shim_task_test.c
        LIBS shim_task shim_core ttrpc_task ttrpc_static
        LABELS memcheck
        TIMEOUT 120)
      # the process state machine (process.c), table by table
      ttrpc_criterion_test(shim_process_test
        SOURCES ${CMAKE_SOURCE_DIR}/tests/unit/shim_process_test.c
        LIBS shim_task shim_core ttrpc_task ttrpc_static
        LABELS memcheck)
    endif()
    # bootstrap.c (start's input and answer) decodes BootstrapParams of ttrpc_task.
    ttrpc_criterion_test(shim_bootstrap_test
      SOURCES ${CMAKE_SOURCE_DIR}/tests/unit/shim_bootstrap_test.c ${CMAKE_SOURCE_DIR}/shim/bootstrap.c
      LIBS shim_core ttrpc_task ttrpc_static
      LABELS memcheck)
  endif()
endif()

# The shim binary's `start` for every containerd generation (plain, JSON,
# binary BootstrapResult); stops the daemons it leaves by their pid.
if(TARGET containerd-shim-tiny-v2)
  ttrpc_criterion_test(shim_start_test
    SOURCES ${CMAKE_SOURCE_DIR}/tests/unit/shim_start_test.c
    LIBS shim_core ttrpc_task ttrpc_static
    LABELS memcheck)
  add_dependencies(shim_start_test containerd-shim-tiny-v2)
  target_compile_definitions(shim_start_test PRIVATE SHIM_BINARY="$<TARGET_FILE:containerd-shim-tiny-v2>")
  # -info: info.c with fake runtimes, and the binary's stdout/stderr.
  ttrpc_criterion_test(shim_info_test
    SOURCES ${CMAKE_SOURCE_DIR}/tests/unit/shim_info_test.c ${CMAKE_SOURCE_DIR}/shim/info.c
            ${CMAKE_SOURCE_DIR}/shim/options.c
    LIBS shim_core ttrpc_task ttrpc_static
    LABELS memcheck
    TIMEOUT 120)
  add_dependencies(shim_info_test containerd-shim-tiny-v2)
  target_compile_definitions(shim_info_test PRIVATE SHIM_BINARY="$<TARGET_FILE:containerd-shim-tiny-v2>")
endif()
