# Installable package of libttrpc: CMake config files and a pkg-config file.
# Included at the end of the top-level CMakeLists.txt. The library itself, its
# headers and the ttrpcTargets export set are declared in ttrpc/CMakeLists.txt.
#
# Consumers:
#   find_package(ttrpc REQUIRED)  + target_link_libraries(x ttrpc::ttrpc)
#   pkg-config --cflags --libs ttrpc
#
# Extending the package: ttrpcConfig.cmake includes ttrpcGenerate.cmake when it
# is installed next to it (${TTRPC_INSTALL_CMAKEDIR}); codegen/CMakeLists.txt
# installs cmake/TtrpcGenerate.cmake there (ttrpc_generate()). Targets added to
# the ttrpcTargets export set appear to consumers as ttrpc::<name>.
include(CMakePackageConfigHelpers)

set(TTRPC_INSTALL_CMAKEDIR ${CMAKE_INSTALL_LIBDIR}/cmake/ttrpc)
set(_ttrpc_pkg_dir ${PROJECT_BINARY_DIR}/package)

install(EXPORT ttrpcTargets
  NAMESPACE ttrpc::
  FILE ttrpcTargets.cmake
  DESTINATION ${TTRPC_INSTALL_CMAKEDIR}
  COMPONENT dev)

configure_package_config_file(${PROJECT_SOURCE_DIR}/cmake/ttrpcConfig.cmake.in
  ${_ttrpc_pkg_dir}/ttrpcConfig.cmake
  INSTALL_DESTINATION ${TTRPC_INSTALL_CMAKEDIR})
# 0.x releases promise nothing across minor versions.
write_basic_package_version_file(${_ttrpc_pkg_dir}/ttrpcConfigVersion.cmake
  VERSION ${PROJECT_VERSION}
  COMPATIBILITY SameMinorVersion)
install(FILES ${_ttrpc_pkg_dir}/ttrpcConfig.cmake ${_ttrpc_pkg_dir}/ttrpcConfigVersion.cmake
  DESTINATION ${TTRPC_INSTALL_CMAKEDIR} COMPONENT dev)

# pkg-config: paths relative to the .pc file, so that an install with
# `cmake --install --prefix` or DESTDIR stays usable wherever it lands.
set(_ttrpc_pc_dir ${CMAKE_INSTALL_LIBDIR}/pkgconfig)
if(IS_ABSOLUTE "${CMAKE_INSTALL_LIBDIR}" OR IS_ABSOLUTE "${CMAKE_INSTALL_INCLUDEDIR}")
  set(TTRPC_PC_PREFIX ${CMAKE_INSTALL_PREFIX})
  set(TTRPC_PC_LIBDIR ${CMAKE_INSTALL_FULL_LIBDIR})
  set(TTRPC_PC_INCLUDEDIR ${CMAKE_INSTALL_FULL_INCLUDEDIR})
else()
  file(RELATIVE_PATH _ttrpc_up /root/${_ttrpc_pc_dir} /root)
  string(REGEX REPLACE "/$" "" _ttrpc_up "${_ttrpc_up}")
  set(TTRPC_PC_PREFIX "\${pcfiledir}/${_ttrpc_up}")
  set(TTRPC_PC_LIBDIR "\${prefix}/${CMAKE_INSTALL_LIBDIR}")
  set(TTRPC_PC_INCLUDEDIR "\${prefix}/${CMAKE_INSTALL_INCLUDEDIR}")
endif()
configure_file(${PROJECT_SOURCE_DIR}/cmake/ttrpc.pc.in ${_ttrpc_pkg_dir}/ttrpc.pc @ONLY)
install(FILES ${_ttrpc_pkg_dir}/ttrpc.pc DESTINATION ${_ttrpc_pc_dir} COMPONENT dev)

# ---- Debian packages (`make package`: cmake --build <build> --target package) ----
# One package per install component:
#   lib         -> libttrpc0               the shared library and its SONAME link
#   dev         -> libttrpc-dev            headers, libttrpc.so, ttrpc.pc, CMake config + ttrpc_generate()
#   plugin      -> protoc-gen-ttrpc-c      the protoc plugin
#   shim        -> containerd-shim-tiny-v2 the shim
# Runtime Depends come from dpkg-shlibdeps (dpkg-dev); libttrpc0 ships a shlibs
# file, so packages built against it depend on it by version. Everything goes
# under /usr; the library directory is CMAKE_INSTALL_LIBDIR: configure with
# -DCMAKE_INSTALL_PREFIX=/usr for the multiarch one (lib/<triplet>), with the
# default prefix it is /usr/lib.
set(_ttrpc_deb_names lib libttrpc0 dev libttrpc-dev plugin protoc-gen-ttrpc-c shim containerd-shim-tiny-v2)

# Debian wants /usr/share/doc/<package>/copyright in every package.
file(WRITE ${_ttrpc_pkg_dir}/copyright
  "Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/\n"
  "Upstream-Name: ${PROJECT_NAME}\n"
  "\n"
  "Files: *\n"
  "Copyright: the ${PROJECT_NAME} authors\n"
  "License: Apache-2.0\n"
  " Licensed under the Apache License, Version 2.0 (the \"License\"); you may not\n"
  " use this file except in compliance with the License.\n"
  " .\n"
  " On Debian systems the full text of the Apache License 2.0 is in\n"
  " /usr/share/common-licenses/Apache-2.0 (and in LICENSE in the source tree).\n")
set(_i 0)
list(LENGTH _ttrpc_deb_names _n)
while(_i LESS _n)
  list(GET _ttrpc_deb_names ${_i} _comp)
  math(EXPR _j "${_i} + 1")
  list(GET _ttrpc_deb_names ${_j} _pkg)
  string(TOUPPER ${_comp} _COMP)
  set(CPACK_DEBIAN_${_COMP}_PACKAGE_NAME ${_pkg})
  install(FILES ${_ttrpc_pkg_dir}/copyright DESTINATION ${CMAKE_INSTALL_DATAROOTDIR}/doc/${_pkg} COMPONENT ${_comp})
  math(EXPR _i "${_i} + 2")
endwhile()

set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME ${PROJECT_NAME})
set(CPACK_PACKAGE_VENDOR "${PROJECT_NAME}")
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_CONTACT "ttrpc-c maintainers <ttrpc-c@localhost>")
# Debian packages install under /usr (never /usr/local), whatever
# CMAKE_INSTALL_PREFIX is; the CMake and pkg-config files are relocatable.
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_STRIP_FILES ON)
set(CPACK_COMPONENTS_ALL lib dev plugin shim)
set(CPACK_DEB_COMPONENT_INSTALL ON)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
# A shlibs file (for packages with a shared library: libttrpc0) and ldconfig triggers.
set(CPACK_DEBIAN_PACKAGE_GENERATE_SHLIBS ON)
set(CPACK_DEBIAN_PACKAGE_HOMEPAGE "https://github.com/containerd/ttrpc")

set(CPACK_DEBIAN_LIB_PACKAGE_SECTION libs)
# gRPC over TLS loads libssl3 with dlopen at its first use (no link-time dependency).
set(CPACK_DEBIAN_LIB_PACKAGE_RECOMMENDS "libssl3")
set(CPACK_DEBIAN_PACKAGE_GENERATE_SHLIBS_POLICY ">=")
set(CPACK_COMPONENT_LIB_DESCRIPTION "ttrpc (containerd's lightweight RPC protocol) for C
libttrpc is a C implementation of ttrpc, wire-compatible with
containerd/ttrpc: a libev based server and client, plus the codec runtime
of the stubs protoc-gen-ttrpc-c generates.")

set(CPACK_DEBIAN_DEV_PACKAGE_SECTION libdevel)
# ttrpc.pc has Requires.private: libprotobuf-c; the API runs on a libev loop.
set(CPACK_DEBIAN_DEV_PACKAGE_DEPENDS "libttrpc0 (= ${PROJECT_VERSION}), libprotobuf-c-dev, libev-dev, libnghttp2-dev")
set(CPACK_DEBIAN_DEV_PACKAGE_RECOMMENDS "protoc-gen-ttrpc-c (= ${PROJECT_VERSION}), protobuf-compiler, protobuf-c-compiler, libprotobuf-dev")
set(CPACK_DEBIAN_DEV_PACKAGE_SUGGESTS "nanopb, libnanopb-dev")
set(CPACK_COMPONENT_DEV_DESCRIPTION "ttrpc for C: development files
Headers, the libttrpc.so link, pkg-config file and CMake package
(find_package(ttrpc): ttrpc::ttrpc and ttrpc_generate()).")

set(CPACK_DEBIAN_PLUGIN_PACKAGE_SECTION devel)
set(CPACK_DEBIAN_PLUGIN_PACKAGE_RECOMMENDS "protobuf-compiler, libttrpc-dev (= ${PROJECT_VERSION})")
set(CPACK_COMPONENT_PLUGIN_DESCRIPTION "protoc plugin generating typed ttrpc stubs for C
protoc-gen-ttrpc-c writes server handler tables, respond functions and
async and blocking client stubs over protobuf-c or nanopb messages.")

set(CPACK_DEBIAN_SHIM_PACKAGE_SECTION admin)
set(CPACK_DEBIAN_SHIM_PACKAGE_RECOMMENDS "runc | crun, containerd")
set(CPACK_COMPONENT_SHIM_DESCRIPTION "containerd shim v2 (runtime io.containerd.tiny.v2)
A small containerd shim running OCI containers with runc or crun; one
process can host many containers of a sandbox.")

include(CPack)
