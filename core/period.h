/**
 * @file period.h
 * @brief Parsing of period specs (--period) and timestamps (--from / --to).
 *
 * Parsing only validates and normalises text. The boundaries themselves are
 * computed by PostgreSQL in the report's time zone (so DST is right): see
 * period_db.c, which binds the fields below as parameters.
 */
#ifndef DR_PERIOD_H
#define DR_PERIOD_H

#include "status.h"

/** Length of a period. */
typedef enum dr_period_unit {
    DR_UNIT_DAY = 0,
    DR_UNIT_WEEK,    /**< ISO week, Monday to Monday */
    DR_UNIT_MONTH,
    DR_UNIT_QUARTER,
    DR_UNIT_YEAR
} dr_period_unit;

/** A parsed --period SPEC. */
typedef struct dr_period {
    dr_period_unit unit;
    int relative;     /**< 1: anchored on "today" in the report's zone */
    int offset;       /**< relative only: 0 = this, -1 = previous */
    char anchor[11];  /**< absolute only: first day, "YYYY-MM-DD"; "" when relative */
    char label[24];   /**< canonical spec, e.g. "2026-10", "2026-Q4", "2026-W41",
                           "previous-month"; used in names and metadata */
} dr_period;

/**
 * Parse a period SPEC: "2026-10", "2026-Q4", "2026", "2026-10-05", "2026-W41",
 * "today", "yesterday", "this-week", "previous-week", "this-month",
 * "previous-month", "this-quarter", "previous-quarter", "this-year",
 * "previous-year". Years 1..9999. Dates are checked (leap years, ISO weeks 53).
 * Exact text only: no spaces, signs or extra characters; "q" / "w" may be lower case
 * (the label has them upper case). @p out is written only on success.
 * @return DR_OK, or DR_EUSAGE with a message naming the value and the forms.
 */
dr_status dr_period_parse(const char *spec, dr_period *out, dr_error *err);

/** PostgreSQL interval text of one @p unit ("1 day", "7 days", "1 month", "3 months", "1 year");
    NULL for a value outside the enum. */
const char *dr_period_unit_interval(dr_period_unit unit);

/** PostgreSQL date_trunc field of @p unit ("day", "week", "month", "quarter", "year");
    NULL for a value outside the enum. */
const char *dr_period_unit_field(dr_period_unit unit);

/** A parsed --from / --to timestamp. */
typedef struct dr_ts_arg {
    char local[32];  /**< "YYYY-MM-DD HH:MM:SS[.ffffff]" (time defaults to 00:00:00) */
    char offset[7];  /**< "" (meaning: in the report's zone), or "+HH:MM" / "-HH:MM" ("Z" -> "+00:00") */
} dr_ts_arg;

/**
 * Parse "YYYY-MM-DD", "YYYY-MM-DDTHH:MM[:SS[.f{1,6}]]" (T or one space), with an
 * optional "Z" or "+HH:MM" / "-HH:MM" / "+HHMM" / "+HH" offset. Fields are range-checked.
 * An offset may follow a bare date too (midnight at that offset). Fractions are padded
 * to 6 digits; "-00:00" becomes "+00:00". @p what names the option in messages
 * ("--from"; NULL gives "timestamp"). @p out is written only on success.
 */
dr_status dr_ts_arg_parse(const char *text, const char *what, dr_ts_arg *out, dr_error *err);

/** Longest time zone name taken. */
#define DR_TZ_MAX 64

/**
 * Check a time zone name's form (IANA-like: a letter first, then A-Z a-z 0-9 _ + - /,
 * at most DR_TZ_MAX bytes). Whether the zone exists is PostgreSQL's to say (period_db.h).
 * @return DR_OK or DR_EUSAGE naming the value.
 */
dr_status dr_tz_check(const char *tz, dr_error *err);

#endif
