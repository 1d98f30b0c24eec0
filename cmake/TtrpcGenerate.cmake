# ttrpc_generate(): compile .proto files into C message code (protobuf-c or
# nanopb) plus typed ttrpc stubs (protoc-gen-ttrpc-c), and add them to a target.
#
#   ttrpc_generate(TARGET <target> PROTOS <file.proto>...
#                  [BACKEND protobuf-c|nanopb]    # default protobuf-c
#                  [IMPORT_DIRS <dir>...]         # -I for protoc; see below
#                  [OUT_DIR <dir>]                # default <binary dir>/ttrpc_gen/<target>
#                  [NANOPB_OPTIONS <opt>...])     # extra --nanopb_opt values
#
# Each .proto is named to protoc by its path relative to the first IMPORT_DIRS
# entry that contains it (its own directory when none does), so imports such as
# "google/protobuf/empty.proto" resolve. The well-known types a file imports
# must be listed in PROTOS too (e.g. ${TTRPC_PROTOBUF_INCLUDE}/google/protobuf/empty.proto
# with IMPORT_DIRS ${TTRPC_PROTOBUF_INCLUDE}): neither libprotobuf-c nor nanopb ships them.
#
# For every file: <base>.pb-c.{c,h} (protobuf-c) or <base>.pb.{c,h} (nanopb);
# for every file declaring a service also <base>.ttrpc-c.{c,h}. The sources are
# added to <target>, OUT_DIR becomes a PUBLIC include directory and the message
# runtime (libprotobuf-c or nanopb) a PUBLIC link dependency. Link ttrpc
# yourself (ttrpc::ttrpc, or ttrpc_static inside this project); the target must
# use the keyword form of target_link_libraries.
#
# nanopb reads <base>.options next to each .proto (found through IMPORT_DIRS),
# e.g. "pkg.Msg.name max_size:64", to turn strings and repeated fields into
# fixed arrays.
#
# Inside the ttrpc-c build the plugin is the protoc-gen-ttrpc-c target; an
# installed copy of this file finds the installed plugin next to itself
# (<prefix>/lib*/cmake/ttrpc -> <prefix>/bin), then on PATH.
include_guard(GLOBAL)

set(_TTRPC_GENERATE_DIR "${CMAKE_CURRENT_LIST_DIR}")

find_program(TTRPC_PROTOC protoc DOC "protoc, the protobuf compiler (Debian: protobuf-compiler)")
find_program(TTRPC_PROTOC_GEN_C protoc-gen-c DOC "protobuf-c's protoc plugin (Debian: protobuf-c-compiler)")
find_path(TTRPC_PROTOBUF_INCLUDE google/protobuf/empty.proto HINTS /usr/include /usr/local/include
  DOC "directory holding protoc's well-known types (Debian: libprotobuf-dev)")

function(_ttrpc_generate_plugin out_exe out_dep)
  if(TARGET protoc-gen-ttrpc-c)
    set(${out_exe} "$<TARGET_FILE:protoc-gen-ttrpc-c>" PARENT_SCOPE)
    set(${out_dep} protoc-gen-ttrpc-c PARENT_SCOPE)
    return()
  endif()
  find_program(TTRPC_PROTOC_GEN_TTRPC_C protoc-gen-ttrpc-c
    HINTS "${_TTRPC_GENERATE_DIR}/../../../bin" "${_TTRPC_GENERATE_DIR}/../../../../bin"
    DOC "protoc-gen-ttrpc-c, ttrpc-c's protoc plugin")
  if(NOT TTRPC_PROTOC_GEN_TTRPC_C)
    message(FATAL_ERROR "ttrpc_generate: protoc-gen-ttrpc-c not found (set TTRPC_PROTOC_GEN_TTRPC_C)")
  endif()
  set(${out_exe} "${TTRPC_PROTOC_GEN_TTRPC_C}" PARENT_SCOPE)
  set(${out_dep} "${TTRPC_PROTOC_GEN_TTRPC_C}" PARENT_SCOPE)
endfunction()

# Link the message runtime of the backend to target.
function(_ttrpc_generate_runtime target backend)
  if(backend STREQUAL "nanopb")
    if(NOT TARGET nanopb::protobuf-nanopb-static)
      find_package(nanopb CONFIG REQUIRED)
    endif()
    target_link_libraries(${target} PUBLIC nanopb::protobuf-nanopb-static)
  else()
    if(NOT TARGET PkgConfig::PROTOBUF_C)
      find_package(PkgConfig REQUIRED)
      pkg_check_modules(PROTOBUF_C REQUIRED IMPORTED_TARGET libprotobuf-c)
    endif()
    target_link_libraries(${target} PUBLIC PkgConfig::PROTOBUF_C)
  endif()
endfunction()

# true when the .proto text declares a service (comments stripped first).
function(_ttrpc_generate_has_service file out)
  file(READ "${file}" text)
  string(REGEX REPLACE "/\\*([^*]|\\*+[^*/])*\\*+/" "" text "${text}")
  string(REGEX REPLACE "//[^\n]*" "" text "${text}")
  if(text MATCHES "(^|[;}\n \t])service[ \t\r\n]+[A-Za-z_][A-Za-z0-9_]*[ \t\r\n]*{")
    set(${out} TRUE PARENT_SCOPE)
  else()
    set(${out} FALSE PARENT_SCOPE)
  endif()
endfunction()

function(ttrpc_generate)
  cmake_parse_arguments(G "" "TARGET;BACKEND;OUT_DIR" "PROTOS;IMPORT_DIRS;NANOPB_OPTIONS" ${ARGN})
  if(NOT G_TARGET OR NOT G_PROTOS)
    message(FATAL_ERROR "ttrpc_generate: TARGET and PROTOS are required")
  endif()
  if(NOT G_BACKEND)
    set(G_BACKEND protobuf-c)
  endif()
  if(NOT G_BACKEND STREQUAL "protobuf-c" AND NOT G_BACKEND STREQUAL "nanopb")
    message(FATAL_ERROR "ttrpc_generate: BACKEND must be protobuf-c or nanopb, not '${G_BACKEND}'")
  endif()
  if(NOT G_OUT_DIR)
    set(G_OUT_DIR "${CMAKE_CURRENT_BINARY_DIR}/ttrpc_gen/${G_TARGET}")
  endif()
  if(NOT TTRPC_PROTOC)
    message(FATAL_ERROR "ttrpc_generate: protoc not found (Debian: protobuf-compiler)")
  endif()
  _ttrpc_generate_plugin(plugin plugin_dep)

  set(msg_args)
  set(msg_dep)
  if(G_BACKEND STREQUAL "nanopb")
    find_program(TTRPC_PROTOC_GEN_NANOPB protoc-gen-nanopb DOC "nanopb's protoc plugin (Debian: nanopb)")
    if(NOT TTRPC_PROTOC_GEN_NANOPB)
      message(FATAL_ERROR "ttrpc_generate: protoc-gen-nanopb not found (Debian: nanopb)")
    endif()
    set(nanopb_opts)
    foreach(dir ${G_IMPORT_DIRS})
      get_filename_component(dir "${dir}" ABSOLUTE)
      list(APPEND nanopb_opts "--nanopb_opt=-I${dir}")
    endforeach()
    foreach(opt ${G_NANOPB_OPTIONS})
      list(APPEND nanopb_opts "--nanopb_opt=${opt}")
    endforeach()
    set(msg_args "--plugin=protoc-gen-nanopb=${TTRPC_PROTOC_GEN_NANOPB}" ${nanopb_opts} "--nanopb_out=${G_OUT_DIR}")
    set(msg_dep "${TTRPC_PROTOC_GEN_NANOPB}")
    set(src_ext .pb.c)
    set(hdr_ext .pb.h)
  else()
    if(NOT TTRPC_PROTOC_GEN_C)
      message(FATAL_ERROR "ttrpc_generate: protoc-gen-c not found (Debian: protobuf-c-compiler)")
    endif()
    set(msg_args "--plugin=protoc-gen-c=${TTRPC_PROTOC_GEN_C}" "--c_out=${G_OUT_DIR}")
    set(msg_dep "${TTRPC_PROTOC_GEN_C}")
    set(src_ext .pb-c.c)
    set(hdr_ext .pb-c.h)
  endif()

  set(import_dirs)
  foreach(dir ${G_IMPORT_DIRS})
    get_filename_component(dir "${dir}" ABSOLUTE)
    list(APPEND import_dirs "${dir}")
  endforeach()

  file(MAKE_DIRECTORY "${G_OUT_DIR}")
  set(sources)
  foreach(proto ${G_PROTOS})
    get_filename_component(abs "${proto}" ABSOLUTE)
    set(rel)
    foreach(dir ${import_dirs})
      file(RELATIVE_PATH candidate "${dir}" "${abs}")
      if(NOT candidate MATCHES "^\\.\\./" AND NOT IS_ABSOLUTE "${candidate}")
        set(rel "${candidate}")
        set(root "${dir}")
        break()
      endif()
    endforeach()
    if(NOT rel)
      get_filename_component(root "${abs}" DIRECTORY)
      get_filename_component(rel "${abs}" NAME)
    endif()
    string(REGEX REPLACE "\\.proto$" "" base "${rel}")

    set(outputs "${G_OUT_DIR}/${base}${src_ext}" "${G_OUT_DIR}/${base}${hdr_ext}")
    set(ttrpc_args)
    _ttrpc_generate_has_service("${abs}" has_service)
    set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS "${abs}")
    if(has_service)
      list(APPEND outputs "${G_OUT_DIR}/${base}.ttrpc-c.c" "${G_OUT_DIR}/${base}.ttrpc-c.h")
      set(ttrpc_args "--plugin=protoc-gen-ttrpc-c=${plugin}" "--ttrpc-c_out=backend=${G_BACKEND}:${G_OUT_DIR}")
    endif()
    set(include_args "-I${root}")
    foreach(dir ${import_dirs})
      if(NOT dir STREQUAL root)
        list(APPEND include_args "-I${dir}")
      endif()
    endforeach()
    add_custom_command(OUTPUT ${outputs}
      COMMAND "${TTRPC_PROTOC}" ${include_args} ${msg_args} ${ttrpc_args} "${root}/${rel}"
      DEPENDS "${abs}" ${plugin_dep} ${msg_dep}
      COMMENT "ttrpc_generate (${G_BACKEND}) ${rel}"
      VERBATIM)
    list(FILTER outputs INCLUDE REGEX "\\.c$")
    list(APPEND sources ${outputs})
  endforeach()

  target_sources(${G_TARGET} PRIVATE ${sources})
  target_include_directories(${G_TARGET} PUBLIC "$<BUILD_INTERFACE:${G_OUT_DIR}>")
  _ttrpc_generate_runtime(${G_TARGET} ${G_BACKEND})
endfunction()
