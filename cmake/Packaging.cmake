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
  DESTINATION ${TTRPC_INSTALL_CMAKEDIR})

configure_package_config_file(${PROJECT_SOURCE_DIR}/cmake/ttrpcConfig.cmake.in
  ${_ttrpc_pkg_dir}/ttrpcConfig.cmake
  INSTALL_DESTINATION ${TTRPC_INSTALL_CMAKEDIR})
# 0.x releases promise nothing across minor versions.
write_basic_package_version_file(${_ttrpc_pkg_dir}/ttrpcConfigVersion.cmake
  VERSION ${PROJECT_VERSION}
  COMPATIBILITY SameMinorVersion)
install(FILES ${_ttrpc_pkg_dir}/ttrpcConfig.cmake ${_ttrpc_pkg_dir}/ttrpcConfigVersion.cmake
  DESTINATION ${TTRPC_INSTALL_CMAKEDIR})

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
install(FILES ${_ttrpc_pkg_dir}/ttrpc.pc DESTINATION ${_ttrpc_pc_dir})
