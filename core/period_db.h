/**
 * @file period_db.h
 * @brief The period's bounds and the report's time zone, resolved by PostgreSQL:
 *        the zone made the transaction's zone, then the bounds, run id and name
 *        tokens computed in one SELECT (date_trunc + AT TIME ZONE, so DST is right).
 */
#ifndef DR_PERIOD_DB_H
#define DR_PERIOD_DB_H

#include "odbc.h"
#include "period.h"
#include "run_store.h"
#include "status.h"

/** A report zone and whether PostgreSQL already confirmed it (checked once per process). */
typedef struct dr_zone {
    const char *name; /**< IANA name, form already checked by dr_tz_check */
    int verified;     /**< 1 once the zone database has it */
} dr_zone;

/**
 * Make @p zone the current transaction's TimeZone. A name with a digit must be in
 * pg_timezone_names itself (POSIX strings like 'UTC+3' mean what few expect); that
 * lookup is made once per dr_zone.
 * @return DR_OK, or DR_EUSAGE for a zone PostgreSQL does not know.
 */
dr_status dr_zone_apply(dr_db *db, dr_zone *zone, dr_error *err);

/** What a run asks for: a period, or an explicit [from, to) range. */
typedef struct dr_period_request {
    int has_range;          /**< 1: from/to; 0: period */
    const dr_period *period;
    const dr_ts_arg *from, *to;
    const char *tz;
} dr_period_request;

/**
 * Compute the bounds (ISO 8601 in the zone), a new run id, the period label and the
 * compact name tokens into @p m. An empty or reversed range is DR_EUSAGE.
 */
dr_status dr_period_resolve(dr_db *db, const dr_period_request *req, dr_run_meta *m, dr_error *err);

#endif
