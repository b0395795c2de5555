# Two Debian packages from the install components of packaging/install.cmake:
#   dynoreport      the tool (component main)
#   dynoreport-dev  the plugin SDK: header and dynoreport-plugin.pc (component dev),
#                   depending on dynoreport of the same version
# The binary knows its plugin and SQL directories from the install prefix it was
# configured with, so configure for /usr (scripts/package-test does this):
#   cmake -S . -B build-deb -DCMAKE_INSTALL_PREFIX=/usr -DBUILD_TESTING=OFF -DDR_MAN=ON
#   cmake --build build-deb -j2 && (cd build-deb && cpack -G DEB)
# What the packages hold and what their maintainer scripts do: docs/packaging.md.
set(CPACK_PACKAGE_NAME "dynoreport")
set(CPACK_PACKAGE_VENDOR "dynoreport")
# No CPACK_PACKAGE_DESCRIPTION_SUMMARY: CPackDeb would put it before each component's own
# synopsis (CPACK_DEBIAN_<COMPONENT>_DESCRIPTION below).
set(CPACK_PACKAGE_VERSION "${PROJECT_VERSION}")
set(CPACK_PACKAGE_CONTACT "dynoreport maintainers <dynoreport@localhost>")
set(CPACK_PACKAGING_INSTALL_PREFIX "${CMAKE_INSTALL_PREFIX}")
set(CPACK_GENERATOR DEB)

set(CPACK_DEB_COMPONENT_INSTALL ON)
set(CPACK_COMPONENTS_ALL main dev)
set(CPACK_DEBIAN_PACKAGE_RELEASE 1)
set(DR_DEB_VERSION "${PROJECT_VERSION}-${CPACK_DEBIAN_PACKAGE_RELEASE}")
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)            # dynoreport_0.1.0-1_amd64.deb
set(CPACK_DEBIAN_PACKAGE_SECTION "database")
set(CPACK_DEBIAN_PACKAGE_PRIORITY "optional")
# dpkg-shlibdeps over the binary and plugins gives the library Depends (libc, unixODBC,
# libcsv, libxlsxwriter, json-c); the ODBC driver is loaded by unixODBC at run time, so
# shlibdeps cannot see it: odbc-postgresql is named here. The postinst creates the user
# with systemd-sysusers, or adduser where that is missing (adduser first: a machine
# without systemd does not get it pulled in).
set(CPACK_DEBIAN_MAIN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_MAIN_PACKAGE_NAME "dynoreport")
set(CPACK_DEBIAN_MAIN_PACKAGE_SECTION "database")
set(CPACK_DEBIAN_MAIN_PACKAGE_DEPENDS "odbc-postgresql, adduser | systemd")
set(CPACK_DEBIAN_MAIN_PACKAGE_SUGGESTS "systemd, postgresql-client")
# The first line is the synopsis, the rest the long description (one string: a CMake list
# of several would put ';' into the control file).
set(CPACK_DEBIAN_MAIN_DESCRIPTION "Representative Performance reports from PostgreSQL over ODBC
dynoreport computes the Representative Performance report of a CRM tenant
for a period in PostgreSQL, stores one fact row per sales rep or team and
writes CSV, XLSX or JSON files through dlopen'ed output plugins. Includes
hardened systemd units for scheduled reports (dynoreport-job@.timer), a
system user and man pages.")
set(CPACK_DEBIAN_MAIN_PACKAGE_CONTROL_EXTRA
    "${PROJECT_SOURCE_DIR}/packaging/debian/conffiles"
    "${PROJECT_SOURCE_DIR}/packaging/debian/postinst"
    "${PROJECT_SOURCE_DIR}/packaging/debian/prerm"
    "${PROJECT_SOURCE_DIR}/packaging/debian/postrm")
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)

set(CPACK_DEBIAN_DEV_PACKAGE_NAME "dynoreport-dev")
set(CPACK_DEBIAN_DEV_PACKAGE_SECTION "libdevel")
# not "all": the .pc file lives in the multiarch directory and names the multiarch plugin dir
set(CPACK_DEBIAN_DEV_PACKAGE_DEPENDS "dynoreport (= ${DR_DEB_VERSION}), pkg-config")
set(CPACK_DEBIAN_DEV_DESCRIPTION "dynoreport plugin SDK (header and pkg-config file)
The one header an output plugin of dynoreport needs (dynoreport/plugin.h),
the pkg-config file dynoreport-plugin.pc (its plugindir variable names the
installed plugin directory) and an example plugin.")
# stripped binary and plugins, as Debian ships them
set(CPACK_STRIP_FILES ON)
include(CPack)
