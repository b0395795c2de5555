# A Debian package of the binary, the format plugins (csv, xlsx, json) and the delivery
# plugins (mail, sftp), the SQL files and the SDK headers,
# depending on the Debian 12 libraries used. The binary knows its plugin and SQL
# directories from the install prefix it was configured with, so configure for /usr:
#   cmake -S . -B build-pkg -DCMAKE_INSTALL_PREFIX=/usr -DBUILD_TESTING=OFF
#   cmake --build build-pkg -j2 && (cd build-pkg && cpack -G DEB)
set(CPACK_PACKAGE_NAME "dynoreport")
set(CPACK_PACKAGE_VENDOR "dynoreport")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "Representative Performance reports from PostgreSQL over ODBC, with output plugins")
set(CPACK_PACKAGE_VERSION "${PROJECT_VERSION}")
set(CPACK_PACKAGE_CONTACT "dynoreport maintainers")
set(CPACK_PACKAGING_INSTALL_PREFIX "${CMAKE_INSTALL_PREFIX}")
set(CPACK_DEBIAN_PACKAGE_DEPENDS
    "unixodbc (>= 2.3.11), odbc-postgresql (>= 1:13), libcsv3, libxlsxwriter4, libjson-c5, libssl3, libcurl4")
set(CPACK_DEBIAN_PACKAGE_SECTION "database")
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
include(CPack)
