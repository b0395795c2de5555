# What `cmake --install` (and so the Debian packages) puts where, GNUInstallDirs style.
# Two components: "main" (package dynoreport: binary, plugins, SQL, man pages, the
# configuration as a conffile, systemd units, sysusers.d entry, bash completion, docs) and
# "dev" (package dynoreport-dev: the SDK header and dynoreport-plugin.pc). Rules without a
# COMPONENT (core/, plugins/) fall into "main" (CMAKE_INSTALL_DEFAULT_COMPONENT_NAME).
#
# With -DCMAKE_INSTALL_PREFIX=/usr on Debian 12 (docs/packaging.md):
#   /usr/bin/dynoreport
#   /usr/lib/<multiarch>/dynoreport/plugins/{csv,json,xlsx}.so
#   /usr/share/dynoreport/sql/...                        migrations, source_indexes.sql
#   /etc/dynoreport/dynoreport.conf                      conffile, 0640 root:dynoreport
#   /usr/lib/systemd/system/dynoreport-job@.{service,timer}
#   /usr/lib/sysusers.d/dynoreport.conf                  the dynoreport system user
#   /usr/share/bash-completion/completions/dynoreport
#   /usr/share/man/man1/dynoreport.1.gz, man5/dynoreport.conf.5.gz, man7/dynoreport-plugin.7.gz
#   /usr/share/doc/dynoreport/{copyright,changelog.Debian.gz,examples/...}
#   /usr/include/dynoreport/plugin.h, /usr/lib/<multiarch>/pkgconfig/dynoreport-plugin.pc
# The binary finds its plugins and SQL through the absolute DR_PLUGIN_INSTALL_DIR and
# DR_SQL_INSTALL_DIR compiled in from this prefix: no environment variable is needed.

# SYSCONFDIR is /etc for the prefix /usr (GNUInstallDirs' special case); the tool's
# default configuration path (core/config.h) is /etc/dynoreport/dynoreport.conf.
set(DR_CONF_INSTALL_DIR "${CMAKE_INSTALL_FULL_SYSCONFDIR}/dynoreport")
# systemd looks in /usr/lib/systemd/system (and /usr/local/lib/...); /lib is /usr/lib on Debian 12.
set(DR_UNIT_INSTALL_DIR "${CMAKE_INSTALL_PREFIX}/lib/systemd/system")
set(DR_SYSUSERS_INSTALL_DIR "${CMAKE_INSTALL_PREFIX}/lib/sysusers.d")
set(DR_DOC_INSTALL_DIR "${CMAKE_INSTALL_DATADIR}/doc/dynoreport")
set(DR_DEV_DOC_INSTALL_DIR "${CMAKE_INSTALL_DATADIR}/doc/dynoreport-dev")
set(DR_GEN_DIR "${CMAKE_BINARY_DIR}/packaging")

# ---- main ------------------------------------------------------------------------------
install(DIRECTORY sql/ DESTINATION ${DR_SQL_INSTALL_DIR} COMPONENT main FILES_MATCHING PATTERN "*.sql")
install(FILES packaging/dynoreport.conf.example DESTINATION ${DR_CONF_INSTALL_DIR}
        RENAME dynoreport.conf PERMISSIONS OWNER_READ OWNER_WRITE GROUP_READ COMPONENT main)
install(FILES packaging/systemd/dynoreport-job@.service packaging/systemd/dynoreport-job@.timer
        DESTINATION ${DR_UNIT_INSTALL_DIR} COMPONENT main)
install(FILES packaging/sysusers/dynoreport.conf DESTINATION ${DR_SYSUSERS_INSTALL_DIR} COMPONENT main)
configure_file(packaging/completion/dynoreport.bash.in "${DR_GEN_DIR}/dynoreport.bash" @ONLY)
install(FILES "${DR_GEN_DIR}/dynoreport.bash" DESTINATION ${CMAKE_INSTALL_DATADIR}/bash-completion/completions
        RENAME dynoreport COMPONENT main)
install(FILES packaging/dynoreport.conf.example
        packaging/systemd/readwritepaths.conf.example packaging/systemd/dynoreport-failure@.service
        DESTINATION ${DR_DOC_INSTALL_DIR}/examples COMPONENT main)
install(DIRECTORY packaging/names DESTINATION ${DR_DOC_INSTALL_DIR}/examples COMPONENT main)

# Debian's copyright (DEP-5) and changelog.Debian.gz in each package's doc directory
# (gzip -n: no name or time stamp in the header, so the package is reproducible).
find_program(DR_GZIP gzip REQUIRED)
add_custom_command(
  OUTPUT "${DR_GEN_DIR}/changelog.Debian.gz"
  COMMAND ${DR_GZIP} -9nc "${PROJECT_SOURCE_DIR}/packaging/debian/changelog" > "${DR_GEN_DIR}/changelog.Debian.gz"
  DEPENDS "${PROJECT_SOURCE_DIR}/packaging/debian/changelog"
  COMMENT "Compressing the Debian changelog")
add_custom_target(dr_changelog ALL DEPENDS "${DR_GEN_DIR}/changelog.Debian.gz")
foreach(dr_comp main dev)
  if(dr_comp STREQUAL main)
    set(dr_docdir ${DR_DOC_INSTALL_DIR})
  else()
    set(dr_docdir ${DR_DEV_DOC_INSTALL_DIR})
  endif()
  install(FILES packaging/debian/copyright "${DR_GEN_DIR}/changelog.Debian.gz"
          DESTINATION ${dr_docdir} COMPONENT ${dr_comp})
endforeach()

# Man pages from docs/man/*.scd with scdoc (Debian package scdoc). Required for a
# package build and in CI (-DDR_MAN=ON); without scdoc a developer build skips them.
find_program(DR_SCDOC scdoc)
option(DR_MAN "Build the man pages (needs scdoc)" OFF)
if(DR_MAN AND NOT DR_SCDOC)
  message(FATAL_ERROR "DR_MAN=ON but scdoc was not found (Debian package scdoc)")
endif()
if(DR_SCDOC)
  set(dr_man_outputs)
  foreach(dr_page dynoreport.1 dynoreport.conf.5 dynoreport-plugin.7)
    string(REGEX REPLACE ".*\\.([0-9])$" "\\1" dr_sect "${dr_page}")
    add_custom_command(
      OUTPUT "${DR_GEN_DIR}/man/${dr_page}.gz"
      COMMAND ${CMAKE_COMMAND} -E make_directory "${DR_GEN_DIR}/man"
      COMMAND sh -c "'${DR_SCDOC}' < '${PROJECT_SOURCE_DIR}/docs/man/${dr_page}.scd' > '${DR_GEN_DIR}/man/${dr_page}'"
      COMMAND ${DR_GZIP} -9nf "${DR_GEN_DIR}/man/${dr_page}"
      DEPENDS "${PROJECT_SOURCE_DIR}/docs/man/${dr_page}.scd"
      COMMENT "scdoc: ${dr_page}"
      VERBATIM)
    list(APPEND dr_man_outputs "${DR_GEN_DIR}/man/${dr_page}.gz")
    install(FILES "${DR_GEN_DIR}/man/${dr_page}.gz" DESTINATION ${CMAKE_INSTALL_MANDIR}/man${dr_sect}
            COMPONENT main)
  endforeach()
  add_custom_target(dr_man ALL DEPENDS ${dr_man_outputs})
endif()

# ---- dev -------------------------------------------------------------------------------
install(DIRECTORY include/dynoreport DESTINATION ${CMAKE_INSTALL_INCLUDEDIR} COMPONENT dev)
file(STRINGS include/dynoreport/plugin.h dr_abi_line REGEX "^#define DR_PLUGIN_ABI_MAJOR [0-9]+")
string(REGEX REPLACE ".* ([0-9]+)$" "\\1" DR_PLUGIN_ABI_MAJOR "${dr_abi_line}")
configure_file(packaging/pkgconfig/dynoreport-plugin.pc.in "${DR_GEN_DIR}/dynoreport-plugin.pc" @ONLY)
install(FILES "${DR_GEN_DIR}/dynoreport-plugin.pc" DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig COMPONENT dev)
install(DIRECTORY examples/plugins DESTINATION ${DR_DEV_DOC_INSTALL_DIR}/examples COMPONENT dev)
