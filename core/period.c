/*
 * Parsing of --period specs and --from / --to timestamps.
 *
 * Only text is checked and normalised here; PostgreSQL computes the actual
 * boundaries in the report's time zone. The calendar arithmetic below is the
 * proleptic Gregorian calendar, which is what PostgreSQL uses too.
 */
#include "period.h"

#include <stdio.h>
#include <string.h>

#define PERIOD_FORMS                                                                    \
    "YYYY, YYYY-MM, YYYY-Qn, YYYY-MM-DD, YYYY-Www or one of today, yesterday, this-week, " \
    "previous-week, this-month, previous-month, this-quarter, previous-quarter, this-year, " \
    "previous-year"

#define TS_FORMS                                                                         \
    "YYYY-MM-DD or YYYY-MM-DDTHH:MM[:SS[.ffffff]] (T or one space), optionally followed by " \
    "Z, +HH:MM, -HH:MM, +HHMM or +HH"

static const struct {
    const char *name;
    dr_period_unit unit;
    int offset;
} relative_periods[] = {
    {"today", DR_UNIT_DAY, 0},         {"yesterday", DR_UNIT_DAY, -1},
    {"this-week", DR_UNIT_WEEK, 0},    {"previous-week", DR_UNIT_WEEK, -1},
    {"this-month", DR_UNIT_MONTH, 0},  {"previous-month", DR_UNIT_MONTH, -1},
    {"this-quarter", DR_UNIT_QUARTER, 0}, {"previous-quarter", DR_UNIT_QUARTER, -1},
    {"this-year", DR_UNIT_YEAR, 0},    {"previous-year", DR_UNIT_YEAR, -1},
};

/* ---- calendar ---------------------------------------------------------- */

static int is_leap_year(int y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int days_in_month(int y, int m)
{
    static const int days[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    return m == 2 && is_leap_year(y) ? 29 : days[m - 1];
}

/* Days since 1970-01-01 of a date with y >= 1 (H. Hinnant's algorithm). */
static long days_from_civil(int y, int m, int d)
{
    y -= m <= 2;
    long era = y / 400;
    long yoe = y - era * 400;
    long doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
    long doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

static void civil_from_days(long z, int *y, int *m, int *d)
{
    z += 719468;
    long era = (z >= 0 ? z : z - 146096) / 146097;
    long doe = z - era * 146097;
    long yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    long doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    long mp = (5 * doy + 2) / 153;
    *d = (int)(doy - (153 * mp + 2) / 5 + 1);
    *m = (int)(mp < 10 ? mp + 3 : mp - 9);
    *y = (int)(yoe + era * 400 + (*m <= 2));
}

/* 0 = Monday ... 6 = Sunday; 1970-01-01 was a Thursday. */
static int iso_weekday(long days)
{
    return (int)((days % 7 + 7 + 3) % 7);
}

/* An ISO year has 53 weeks when it starts or ends on a Thursday. */
static int iso_weeks_in_year(int y)
{
    return iso_weekday(days_from_civil(y, 1, 1)) == 3 || iso_weekday(days_from_civil(y, 12, 31)) == 3
               ? 53
               : 52;
}

/* Monday of ISO week @p w of ISO year @p y: week 1 is the one holding 4 January. */
static long iso_week_monday(int y, int w)
{
    long jan4 = days_from_civil(y, 1, 4);
    return jan4 - iso_weekday(jan4) + 7L * (w - 1);
}

/* ---- text -------------------------------------------------------------- */

static int is_digit(char c)
{
    /* Not isdigit(): that depends on the locale. */
    return c >= '0' && c <= '9';
}

/* Read exactly @p n ASCII digits; stops at the first non-digit (so never reads past a NUL). */
static int take_digits(const char *s, size_t n, int *val)
{
    int v = 0;
    for (size_t i = 0; i < n; i++) {
        if (!is_digit(s[i]))
            return 0;
        v = v * 10 + (s[i] - '0');
    }
    *val = v;
    return 1;
}

/* Write @p v as exactly @p n digits (v is known to fit). */
static char *put_digits(char *dst, int v, int n)
{
    for (int i = n - 1; i >= 0; i--) {
        dst[i] = (char)('0' + v % 10);
        v /= 10;
    }
    return dst + n;
}

/* "YYYY-MM-DD" plus NUL into @p out. */
static void format_date(char out[11], int y, int m, int d)
{
    char *p = put_digits(out, y, 4);
    *p++ = '-';
    p = put_digits(p, m, 2);
    *p++ = '-';
    p = put_digits(p, d, 2);
    *p = '\0';
}

/* "YYYY-MM-DD" at @p s, shape only. */
static int take_date(const char *s, int *y, int *m, int *d)
{
    return take_digits(s, 4, y) && s[4] == '-' && take_digits(s + 5, 2, m) && s[7] == '-' &&
           take_digits(s + 8, 2, d);
}

/*
 * Why a well-shaped date is not a real one, into @p buf; NULL when it is fine.
 * A month outside 01..12 is left to the caller, which treats it as a bad form.
 */
static const char *date_problem(int y, int m, int d, char *buf, size_t size)
{
    if (y < 1)
        return "years run from 0001 to 9999";
    if (d < 1 || d > days_in_month(y, m)) {
        snprintf(buf, size, "%04d-%02d has days 01 to %02d", y, m, days_in_month(y, m));
        return buf;
    }
    return NULL;
}

/* ---- periods ----------------------------------------------------------- */

static dr_status period_fail(dr_error *err, const char *spec, const char *reason)
{
    char q[DR_QUOTE_SIZE];
    dr_quote(spec, strlen(spec), q, sizeof q);
    if (reason)
        return dr_fail(err, DR_EUSAGE, "invalid period %s: %s; expected " PERIOD_FORMS, q, reason);
    return dr_fail(err, DR_EUSAGE, "invalid period %s: expected " PERIOD_FORMS, q);
}

/* The longest relative name must fit the label with its NUL (the fuzzer found it did not). */
_Static_assert(sizeof "previous-quarter" <= sizeof ((dr_period *)0)->label,
               "dr_period.label is too short for the relative period names");

static int parse_relative(const char *spec, dr_period *p)
{
    for (size_t i = 0; i < sizeof relative_periods / sizeof relative_periods[0]; i++) {
        if (strcmp(spec, relative_periods[i].name) == 0) {
            p->unit = relative_periods[i].unit;
            p->relative = 1;
            p->offset = relative_periods[i].offset;
            strcpy(p->label, relative_periods[i].name);
            return 1;
        }
    }
    return 0;
}

/*
 * The absolute forms, told apart by length: YYYY (4), YYYY-MM / YYYY-Qn (7),
 * YYYY-Www (8), YYYY-MM-DD (10). Returns 0 for a bad form; sets *reason for a
 * calendar problem (it then also returns 0).
 */
static int parse_absolute(const char *spec, dr_period *p, const char **reason, char *buf, size_t size)
{
    size_t len = strlen(spec);
    int y, m = 1, d = 1, n;

    if (!take_digits(spec, 4, &y))
        return 0;
    if (len == 4) {
        p->unit = DR_UNIT_YEAR;
    } else if (len == 7 && spec[4] == '-' && (spec[5] == 'Q' || spec[5] == 'q')) {
        if (!take_digits(spec + 6, 1, &n) || n < 1 || n > 4)
            return 0;
        p->unit = DR_UNIT_QUARTER;
        m = (n - 1) * 3 + 1;
    } else if (len == 7 && spec[4] == '-') {
        if (!take_digits(spec + 5, 2, &m) || m < 1 || m > 12)
            return 0;
        p->unit = DR_UNIT_MONTH;
    } else if (len == 8 && spec[4] == '-' && (spec[5] == 'W' || spec[5] == 'w')) {
        if (!take_digits(spec + 6, 2, &n) || n < 1 || n > 53)
            return 0;
        if (y >= 1 && n > iso_weeks_in_year(y)) {
            snprintf(buf, size, "%04d has only %d ISO weeks", y, iso_weeks_in_year(y));
            *reason = buf;
            return 0;
        }
        p->unit = DR_UNIT_WEEK;
        if (y >= 1)
            civil_from_days(iso_week_monday(y, n), &y, &m, &d);
    } else if (len == 10) {
        if (!take_date(spec, &y, &m, &d) || m < 1 || m > 12)
            return 0;
        p->unit = DR_UNIT_DAY;
    } else {
        return 0;
    }

    if ((*reason = date_problem(y, m, d, buf, size)) != NULL)
        return 0;
    format_date(p->anchor, y, m, d);
    /* The label is the spec itself, with the Q / W letter in upper case. */
    memcpy(p->label, spec, len + 1);
    if (p->unit == DR_UNIT_QUARTER || p->unit == DR_UNIT_WEEK)
        p->label[5] = p->unit == DR_UNIT_QUARTER ? 'Q' : 'W';
    return 1;
}

dr_status dr_period_parse(const char *spec, dr_period *out, dr_error *err)
{
    dr_period p;
    const char *reason = NULL;
    char buf[64];

    memset(&p, 0, sizeof p);
    if (spec == NULL)
        spec = "";
    if (!parse_relative(spec, &p) && !parse_absolute(spec, &p, &reason, buf, sizeof buf))
        return period_fail(err, spec, reason);
    *out = p;
    return DR_OK;
}

const char *dr_period_unit_interval(dr_period_unit unit)
{
    switch (unit) {
    case DR_UNIT_DAY: return "1 day";
    case DR_UNIT_WEEK: return "7 days";
    case DR_UNIT_MONTH: return "1 month";
    case DR_UNIT_QUARTER: return "3 months";
    case DR_UNIT_YEAR: return "1 year";
    }
    return NULL;
}

const char *dr_period_unit_field(dr_period_unit unit)
{
    switch (unit) {
    case DR_UNIT_DAY: return "day";
    case DR_UNIT_WEEK: return "week";
    case DR_UNIT_MONTH: return "month";
    case DR_UNIT_QUARTER: return "quarter";
    case DR_UNIT_YEAR: return "year";
    }
    return NULL;
}

/* ---- timestamps -------------------------------------------------------- */

/* The fields of a --from / --to value, as written. */
typedef struct ts_fields {
    int year, month, day, hour, minute, second;
    char frac[7];    /* the fractional digits as given, "" if none */
    int has_offset;
    char sign;
    int off_hour, off_minute;
} ts_fields;

/* "THH:MM[:SS[.f{1,6}]]" at s[*i]; advances *i. */
static int scan_time(const char *s, size_t *i, ts_fields *f)
{
    const char *t = s + *i;
    if (!(t[0] == 'T' || t[0] == ' '))
        return 1; /* no time part: midnight */
    if (!take_digits(t + 1, 2, &f->hour) || t[3] != ':' || !take_digits(t + 4, 2, &f->minute))
        return 0;
    t += 6;
    if (t[0] == ':') {
        if (!take_digits(t + 1, 2, &f->second))
            return 0;
        t += 3;
        if (t[0] == '.') {
            size_t n = 0;
            while (n < 7 && is_digit(t[1 + n]))
                n++;
            if (n == 0 || n > 6)
                return 0;
            memcpy(f->frac, t + 1, n);
            f->frac[n] = '\0';
            t += 1 + n;
        }
    }
    *i = (size_t)(t - s);
    return 1;
}

/* "Z", "+HH:MM", "+HHMM" or "+HH" (or '-') at s[*i]; advances *i. */
static int scan_offset(const char *s, size_t *i, ts_fields *f)
{
    const char *t = s + *i;
    if (t[0] == 'Z') {
        f->has_offset = 1;
        f->sign = '+';
        t += 1;
    } else if (t[0] == '+' || t[0] == '-') {
        f->has_offset = 1;
        f->sign = t[0];
        if (!take_digits(t + 1, 2, &f->off_hour))
            return 0;
        t += 3;
        if (t[0] == ':') {
            if (!take_digits(t + 1, 2, &f->off_minute))
                return 0;
            t += 3;
        } else if (is_digit(t[0])) {
            if (!take_digits(t, 2, &f->off_minute))
                return 0;
            t += 2;
        }
    }
    *i = (size_t)(t - s);
    return 1;
}

static int scan_ts(const char *s, ts_fields *f)
{
    size_t i = 10;
    memset(f, 0, sizeof *f);
    return take_date(s, &f->year, &f->month, &f->day) && scan_time(s, &i, f) &&
           scan_offset(s, &i, f) && s[i] == '\0';
}

/* Why well-shaped fields are out of range, or NULL. */
static const char *ts_problem(const ts_fields *f, char *buf, size_t size)
{
    if (f->month < 1 || f->month > 12)
        return "the month must be 01 to 12";
    const char *reason = date_problem(f->year, f->month, f->day, buf, size);
    if (reason)
        return reason;
    if (f->hour > 23)
        return "the hour must be 00 to 23";
    if (f->minute > 59)
        return "the minute must be 00 to 59";
    if (f->second > 59)
        return "the second must be 00 to 59";
    if (f->off_hour > 15)
        return "the offset hours must be 00 to 15";
    if (f->off_minute > 59)
        return "the offset minutes must be 00 to 59";
    return NULL;
}

/* "YYYY-MM-DD HH:MM:SS[.ffffff]" and "", "+HH:MM" or "-HH:MM". */
static void format_ts(const ts_fields *f, dr_ts_arg *out)
{
    char *p = out->local;
    format_date(p, f->year, f->month, f->day);
    p += 10;
    *p++ = ' ';
    p = put_digits(p, f->hour, 2);
    *p++ = ':';
    p = put_digits(p, f->minute, 2);
    *p++ = ':';
    p = put_digits(p, f->second, 2);
    if (f->frac[0] != '\0') {
        /* Pad to microseconds so equal instants are written alike. */
        size_t n = strlen(f->frac);
        *p++ = '.';
        memcpy(p, f->frac, n);
        memset(p + n, '0', 6 - n);
        p += 6;
    }
    *p = '\0';

    out->offset[0] = '\0';
    if (f->has_offset) {
        /* "-00:00" is the same instant as "+00:00": one spelling. */
        int zero = f->off_hour == 0 && f->off_minute == 0;
        p = out->offset;
        *p++ = zero ? '+' : f->sign;
        p = put_digits(p, f->off_hour, 2);
        *p++ = ':';
        p = put_digits(p, f->off_minute, 2);
        *p = '\0';
    }
}

dr_status dr_ts_arg_parse(const char *text, const char *what, dr_ts_arg *out, dr_error *err)
{
    ts_fields f;
    char buf[64];
    const char *reason = NULL;

    if (text == NULL)
        text = "";
    if (what == NULL || *what == '\0')
        what = "timestamp";
    if (!scan_ts(text, &f) || (reason = ts_problem(&f, buf, sizeof buf)) != NULL) {
        char q[DR_QUOTE_SIZE];
        dr_quote(text, strlen(text), q, sizeof q);
        if (reason)
            return dr_fail(err, DR_EUSAGE, "invalid %s %s: %s; expected " TS_FORMS, what, q, reason);
        return dr_fail(err, DR_EUSAGE, "invalid %s %s: expected " TS_FORMS, what, q);
    }
    format_ts(&f, out);
    return DR_OK;
}

dr_status dr_tz_check(const char *tz, dr_error *err)
{
    size_t n = tz ? strlen(tz) : 0;
    int ok = n > 0 && n <= DR_TZ_MAX && ((tz[0] >= 'A' && tz[0] <= 'Z') || (tz[0] >= 'a' && tz[0] <= 'z'));
    for (size_t i = 0; ok && i < n; i++) {
        char c = tz[i];
        ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' ||
             c == '+' || c == '-' || c == '/';
    }
    /* Names of the zone directory that are not a place (PostgreSQL looks them up without
       regard to case, so neither does this):
       - "localtime": whatever zone the server's host is set to; "posixrules": the rules
         POSIX TZ strings borrow (America/New_York, or nothing in tzdata >= 2020b builds);
         "Factory": the placeholder of a machine not yet set up ("-00");
       - "posix/...": a second copy of every zone under another name (so one zone would
         be saved in runs under two names; not in PostgreSQL's own tzdata, so a name one
         server takes another refuses); "right/...": the copies that count leap seconds,
         which would move each midnight of a period by up to 27 s. */
    static const char *const not_places[] = {"localtime", "posixrules", "Factory", "posix/", "right/"};
    for (size_t i = 0; ok && i < sizeof not_places / sizeof not_places[0]; i++) {
        const char *w = not_places[i];
        size_t wlen = strlen(w), j = 0;
        int prefix = w[wlen - 1] == '/';
        if (prefix ? n < wlen : n != wlen)
            continue;
        while (j < wlen && (tz[j] | 0x20) == (w[j] | 0x20)) /* ASCII letters, '/' is 0x2f */
            j++;
        ok = j < wlen;
    }
    if (!ok) {
        char q[DR_QUOTE_SIZE];
        return dr_fail(err, DR_EUSAGE, "invalid time zone %s: expected an IANA name such as "
                       "Europe/Berlin, America/New_York or UTC", dr_quote(tz ? tz : "", n, q, sizeof q));
    }
    return DR_OK;
}
