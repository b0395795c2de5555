/**
 * @file schema.h
 * @brief `db init`: apply the versioned SQL files of sql/migrations in order, once each.
 */
#ifndef DR_SCHEMA_H
#define DR_SCHEMA_H

#include "odbc.h"
#include "status.h"

/**
 * Directory holding the SQL files: $DYNOREPORT_SQL_DIR, else the installed
 * directory when it exists, else the source tree's sql/ (a build-tree run).
 */
const char *dr_sql_dir(void);

/**
 * Bring the dynoreport tables to the newest schema version, in one transaction
 * under an advisory lock (two concurrent inits are safe; a second run does nothing).
 * With @p source_indexes, also run sql/source_indexes.sql (the optional indexes on the
 * source tables). Scripts are split into statements, and their comments removed, by
 * dr_sqltext_split(), the rule the embedded statements go through at build time.
 * @p applied receives the number of migrations applied now, @p version the version after.
 */
dr_status dr_schema_init(dr_db *db, int source_indexes, int *applied, int *version,
                         dr_error *err);

/**
 * Check that the schema is at least at version 1, so that `run` fails with a clear
 * message (exit 78) instead of a missing-table error when `db init` was never run.
 */
dr_status dr_schema_check(dr_db *db, dr_error *err);

#endif
