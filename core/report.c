/* The 13 fact columns of the report and the 8 columns of the report view (ABI 1.2), and
   the conversion of their text (as the database gives it) into typed values for plugins. */
#include "report.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const dr_column dr_report_all_columns[DR_REPORT_NCOLS + DR_VIEW_NCOLUMNS] = {
    {"run_id", "Run", DR_TYPE_UUID, 0},
    {"tenant_id", "Tenant", DR_TYPE_UUID, 0},
    {"principal_type", "Principal type", DR_TYPE_TEXT, 0},
    {"principal_id", "Principal", DR_TYPE_UUID, 0},
    {"period_start", "Period start", DR_TYPE_TIMESTAMP, 0},
    {"period_end", "Period end", DR_TYPE_TIMESTAMP, 0},
    {"deals_created_count", "Deals created", DR_TYPE_INT64, 0},
    {"deals_closed_won_count", "Deals won", DR_TYPE_INT64, 0},
    {"deals_closed_lost_count", "Deals lost", DR_TYPE_INT64, 0},
    {"total_amount_won", "Total amount won", DR_TYPE_DECIMAL, 2},
    {"avg_deal_size_won", "Average deal size won", DR_TYPE_DECIMAL, 2},
    {"avg_time_to_close_days", "Average days to close", DR_TYPE_DECIMAL, 4},
    {"win_rate", "Win rate", DR_TYPE_DECIMAL, 4},
    /* the report view (plugin.h, DR_VIEW_NCOLUMNS) */
    {"row_kind", "Row kind", DR_TYPE_TEXT, 0},
    {"principal_name", "Name", DR_TYPE_TEXT, 0},
    {"rank", "Rank", DR_TYPE_INT64, 0},
    {"is_new", "New this period", DR_TYPE_BOOLEAN, 0},
    {"prev_deals_created", "Deals created (previous)", DR_TYPE_INT64, 0},
    {"prev_deals_won", "Deals won (previous)", DR_TYPE_INT64, 0},
    {"prev_total_amount_won", "Amount won (previous)", DR_TYPE_DECIMAL, 2},
    {"prev_win_rate", "Win rate (previous)", DR_TYPE_DECIMAL, 4},
};

/* Read exactly n digits at *p into *v. */
static int digits(const char **p, int n, int *v)
{
    *v = 0;
    for (int i = 0; i < n; i++, (*p)++) {
        if (**p < '0' || **p > '9')
            return 0;
        *v = *v * 10 + (**p - '0');
    }
    return 1;
}

/* "YYYY-MM-DDTHH:MM:SS[.ffffff]+HH:MM[:SS]" as dynoreport_iso8601() writes it */
static int parse_timestamp(const char *s, dr_timestamp *ts)
{
    const char *p = s;
    int oh = 0, om = 0;
    memset(ts, 0, sizeof *ts);
    if (!digits(&p, 4, &ts->year) || *p++ != '-' || !digits(&p, 2, &ts->month) || *p++ != '-' ||
        !digits(&p, 2, &ts->day) || *p++ != 'T' || !digits(&p, 2, &ts->hour) || *p++ != ':' ||
        !digits(&p, 2, &ts->minute) || *p++ != ':' || !digits(&p, 2, &ts->second))
        return 0;
    if (*p == '.') {
        p++;
        int n = 0;
        while (*p >= '0' && *p <= '9' && n < 6) {
            ts->microsecond = ts->microsecond * 10 + (*p++ - '0');
            n++;
        }
        for (; n < 6; n++)
            ts->microsecond *= 10;
    }
    if (*p != '+' && *p != '-')
        return 0;
    int sign = *p++ == '-' ? -1 : 1;
    if (!digits(&p, 2, &oh) || *p++ != ':' || !digits(&p, 2, &om))
        return 0;
    int os = 0; /* local mean time offsets have seconds (+00:19:32); minutes keep the rest */
    if (*p == ':' && (p++, !digits(&p, 2, &os)))
        return 0;
    if (*p != '\0')
        return 0;
    ts->offset_minutes = sign * (oh * 60 + om);
    return 1;
}

dr_status dr_value_from_text(const dr_column *col, const char *text, size_t len, dr_value *out,
                             dr_error *err)
{
    memset(out, 0, sizeof *out);
    if (text == NULL) {
        out->is_null = 1;
        return DR_OK;
    }
    out->text = text;
    out->len = len;
    char *end = NULL;
    errno = 0;
    switch (col->type) {
    case DR_TYPE_INT64:
        out->i64 = strtoll(text, &end, 10);
        if (errno || end == text || *end)
            goto bad;
        break;
    case DR_TYPE_DECIMAL:
        out->f64 = strtod(text, &end);
        if (end == text || *end)
            goto bad;
        break;
    case DR_TYPE_BOOLEAN:
        if (strcmp(text, "true") == 0 || strcmp(text, "1") == 0)
            out->i64 = 1;
        else if (strcmp(text, "false") == 0 || strcmp(text, "0") == 0)
            out->i64 = 0;
        else
            goto bad;
        break;
    case DR_TYPE_TIMESTAMP:
        if (!parse_timestamp(text, &out->ts))
            goto bad;
        break;
    case DR_TYPE_TEXT:
    case DR_TYPE_UUID:
        break;
    }
    return DR_OK;
bad:
    return dr_fail(err, DR_EINTERNAL, "the database returned '%.60s' for column %s, which is not of its type",
                   text, col->name);
}
