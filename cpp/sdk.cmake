# The C++ SDK: a shared libo7s, its headers, the daemon and a CMake package,
# so that C++ programs can find_package(o7s) and link o7s::o7s.
#
# The shared library is made of the same objects as the static one the
# Python module and the tests use (o7s_objects). Installed, it finds the
# daemon at ../libexec/o7s-irmd relative to itself, so the install is
# relocatable.
include(CMakePackageConfigHelpers)

o7s_library(o7s_shared SHARED)
set_target_properties(o7s_shared PROPERTIES
  OUTPUT_NAME o7s
  EXPORT_NAME o7s
  VERSION ${PROJECT_VERSION}
  SOVERSION ${PROJECT_VERSION_MAJOR}.${PROJECT_VERSION_MINOR})

install(TARGETS o7s_shared EXPORT o7sTargets COMPONENT sdk
  LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
  INCLUDES DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(DIRECTORY include/o7s DESTINATION ${CMAKE_INSTALL_INCLUDEDIR} COMPONENT sdk)
install(TARGETS o7s-irmd RUNTIME DESTINATION ${CMAKE_INSTALL_LIBEXECDIR} COMPONENT sdk)
if(TARGET o7s-system) # the system backend plugin: the library finds it beside itself
  install(TARGETS o7s-system LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR} COMPONENT sdk)
endif()

set(O7S_CMAKE_DIR ${CMAKE_INSTALL_LIBDIR}/cmake/o7s)
install(EXPORT o7sTargets NAMESPACE o7s:: DESTINATION ${O7S_CMAKE_DIR} COMPONENT sdk)
configure_package_config_file(${PROJECT_SOURCE_DIR}/cmake/o7sConfig.cmake.in
  ${CMAKE_CURRENT_BINARY_DIR}/o7sConfig.cmake INSTALL_DESTINATION ${O7S_CMAKE_DIR})
write_basic_package_version_file(${CMAKE_CURRENT_BINARY_DIR}/o7sConfigVersion.cmake
  COMPATIBILITY SameMinorVersion)
install(FILES ${CMAKE_CURRENT_BINARY_DIR}/o7sConfig.cmake
  ${CMAKE_CURRENT_BINARY_DIR}/o7sConfigVersion.cmake
  DESTINATION ${O7S_CMAKE_DIR} COMPONENT sdk)
