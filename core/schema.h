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
 * The schema version this build's statements need (the newest migration it ships):
 * `run`, `export` and `job` refuse an older one (dr_schema_check), and `db init` checks the
 * objects against sql/schema_objects_check.sql, which describes this version.
 */
#define DR_SCHEMA_VERSION 11

/** What `db init` did, for its message. */
typedef struct dr_schema_report {
    int applied;              /**< migrations applied now */
    int version;              /**< schema version after */
    int checked;              /**< 1: the objects were checked (the version is DR_SCHEMA_VERSION) */
    int repaired;             /**< objects found missing or changed and put right */
    char repaired_what[768];  /**< what they were, "; "-separated (cut when long) */
    int invalid_dropped;      /**< INVALID source indexes dropped before the build */
} dr_schema_report;

/**
 * dr_schema_init with a report of what was done. After the migrations, and in their
 * transaction, the objects dynoreport owns (tables, columns and types, defaults,
 * constraints, indexes, functions) are checked (sql/schema_objects_check.sql): what is
 * missing or changed and can be re-created without losing or guessing data is repaired
 * (a constraint or index by re-creating it; a function by running again the function-only
 * migration that defines it and every later one, in version order: the migrations the
 * catalogue names for its functions, 004 and 006 today, each refused unless all of its
 * statements are CREATE OR REPLACE FUNCTION);
 * anything else (a table or column gone, another column type, a key on other columns) is
 * named and nothing is changed: DR_ECONFIG. With @p source_indexes, once that has
 * committed, the source indexes are built CONCURRENTLY, each statement on its own
 * (autocommit), an INVALID one left by an unfinished build dropped first; a wait for a
 * lock or for open transactions longer than the session's lock_timeout is DR_ETEMPFAIL
 * naming the index and its table (CRM writes are not blocked meanwhile).
 */
dr_status dr_schema_init_report(dr_db *db, int source_indexes, dr_schema_report *rep, dr_error *err);

/**
 * Check that the schema is at least at DR_SCHEMA_VERSION and that the functions the
 * statements call exist (sql/schema_check.sql: those of 004, 006, 007 and 011), so that `run` fails with a clear message (exit 78, "run
 * 'dynoreport db init'") instead of a missing-table or missing-function error when
 * `db init` was never run, not run since an upgrade, or a function was dropped. Two small
 * lookups; the full check of the objects is db init's.
 */
dr_status dr_schema_check(dr_db *db, dr_error *err);

#endif
