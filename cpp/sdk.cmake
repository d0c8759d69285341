# The C++ SDK: a shared libo7s, its headers, the daemon and a CMake package,
# so that C++ programs can find_package(o7s) and link o7s::o7s.
#
# The shared library is built from the same sources as the static one the
# Python module and the daemon use. Installed, it finds the daemon at
# ../libexec/o7s-irmd relative to itself, so the install is relocatable.
include(CMakePackageConfigHelpers)

get_target_property(O7S_SOURCES o7s SOURCES)
get_target_property(O7S_DEFINITIONS o7s COMPILE_DEFINITIONS)
get_target_property(O7S_PRIVATE_LIBS o7s LINK_LIBRARIES)

add_library(o7s_shared SHARED ${O7S_SOURCES})
set_target_properties(o7s_shared PROPERTIES
  OUTPUT_NAME o7s
  EXPORT_NAME o7s
  VERSION ${PROJECT_VERSION}
  SOVERSION ${PROJECT_VERSION_MAJOR}.${PROJECT_VERSION_MINOR})
target_include_directories(o7s_shared PUBLIC
  $<BUILD_INTERFACE:${CMAKE_CURRENT_SOURCE_DIR}/include>
  $<INSTALL_INTERFACE:${CMAKE_INSTALL_INCLUDEDIR}>)
target_compile_definitions(o7s_shared PRIVATE ${O7S_DEFINITIONS})
target_compile_options(o7s_shared PRIVATE ${O7S_WARNINGS})
target_link_libraries(o7s_shared PRIVATE ${O7S_PRIVATE_LIBS})

install(TARGETS o7s_shared EXPORT o7sTargets COMPONENT sdk
  LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
  INCLUDES DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(DIRECTORY include/o7s DESTINATION ${CMAKE_INSTALL_INCLUDEDIR} COMPONENT sdk)
install(TARGETS o7s-irmd RUNTIME DESTINATION ${CMAKE_INSTALL_LIBEXECDIR} COMPONENT sdk)

set(O7S_CMAKE_DIR ${CMAKE_INSTALL_LIBDIR}/cmake/o7s)
install(EXPORT o7sTargets NAMESPACE o7s:: DESTINATION ${O7S_CMAKE_DIR} COMPONENT sdk)
configure_package_config_file(${PROJECT_SOURCE_DIR}/cmake/o7sConfig.cmake.in
  ${CMAKE_CURRENT_BINARY_DIR}/o7sConfig.cmake INSTALL_DESTINATION ${O7S_CMAKE_DIR})
write_basic_package_version_file(${CMAKE_CURRENT_BINARY_DIR}/o7sConfigVersion.cmake
  COMPATIBILITY SameMinorVersion)
install(FILES ${CMAKE_CURRENT_BINARY_DIR}/o7sConfig.cmake
  ${CMAKE_CURRENT_BINARY_DIR}/o7sConfigVersion.cmake
  DESTINATION ${O7S_CMAKE_DIR} COMPONENT sdk)
