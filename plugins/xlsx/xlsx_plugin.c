/*
 * The "xlsx" output plugin: an Excel workbook written with libxlsxwriter in
 * constant_memory mode (one row in memory; the rows of each sheet go to an unlinked
 * temporary file next to the output, then into the zip at end).
 *
 * Data sheet(s): a bold, frozen header row of the column labels, an autofilter over
 * the data, column widths from the column types, the labels and the widest value,
 * and typed cells:
 *   int64                      number, format "0" (past 2^53: text, a double would not keep it)
 *   decimal named *_rate       number, format "0.00%"      (win_rate is a fraction 0..1)
 *   decimal named *_days       number, format "#,##0.0"    (avg_time_to_close_days)
 *   decimal of scale 2         number, format "#,##0.00"   (money)
 *   other decimals             number, format "#,##0.000…" (as many zeros as the scale)
 *   timestamp                  date-time, format "yyyy-mm-dd hh:mm" (wall-clock in the
 *                              report's zone; the offset is on the "Run" sheet)
 *   boolean                    TRUE / FALSE
 *   text, uuid                 inline string (never a formula, even when it starts with '=';
 *                              a literal "_xHHHH_" is escaped so Excel does not decode it)
 *   NULL                       empty cell (with the column's format)
 * Past max_rows data rows the data goes on "<sheet_name> (2)", "(3)", … with the same
 * header, freeze, widths and autofilter. A last sheet "Run" holds the run's metadata;
 * the document properties carry title, subject, creation time and run id.
 *
 * Options (given as --opt xlsx.KEY=VALUE; the host strips the "xlsx." prefix):
 *   sheet_name   name of the data sheet: 1..31 characters, none of [ ] : * ? / \,
 *                not starting or ending with ', not "Run" or "History" (default Performance)
 *   max_rows     data rows per sheet, 1..1048575 (default 1048575, Excel's limit minus
 *                the header row)
 */
#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <xlsxwriter.h>

#include <dynoreport/plugin.h>

#include "plugin_common.h"

#define XL_DEFAULT_SHEET "Performance"
#define XL_RUN_SHEET "Run"
#define XL_SHEETNAME_MAX 31            /* Excel's limit, in characters */
#define XL_MAX_DATA_ROWS 1048575u      /* 1,048,576 rows minus the header */
#define XL_STRING_MAX 32767            /* characters in one cell */
#define XL_WIDTH_MAX 80.0              /* never wider than this many characters */
#define XL_IOCHECK_EVERY 4096u         /* rows between checks of the temporary file */
#define XL_EXACT_INT 9007199254740992LL /* 2^53: larger integers are not exact as doubles */

typedef enum xl_kind {
    XL_TEXT,     /* TEXT: inline string, width follows the content */
    XL_UUID,     /* UUID: inline string of 36 characters */
    XL_INT,      /* INT64: number "0" */
    XL_MONEY,    /* DECIMAL scale 2: number "#,##0.00" */
    XL_PERCENT,  /* DECIMAL *_rate: number "0.00%" */
    XL_DAYS,     /* DECIMAL *_days: number "#,##0.0" */
    XL_DECIMAL,  /* other DECIMAL: number "#,##0.<scale zeros>" */
    XL_DATETIME, /* TIMESTAMP: date-time "yyyy-mm-dd hh:mm" */
    XL_BOOL      /* BOOLEAN: TRUE / FALSE */
} xl_kind;

typedef struct xl_column {
    xl_kind kind;
    lxw_format *fmt;    /* owned by the workbook; NULL for plain text */
    int decimals;       /* digits shown after the point (numbers) */
    size_t label_chars; /* characters of the header label */
    size_t max_chars;   /* widest value written so far, as displayed */
} xl_column;

/* A timestamp of the run's metadata, parsed from its ISO 8601 text. */
typedef struct xl_meta_time {
    const char *text; /* exact text, or NULL when the host gave none */
    bool ok;          /* parsed into dt / epoch */
    lxw_datetime dt;  /* wall-clock */
    time_t epoch;     /* the instant, for the document's creation time */
} xl_meta_time;

typedef struct xlsx_handle {
    const dr_open_args *args; /* valid until destroy returns */
    lxw_workbook *wb;         /* NULL once closed (or never opened) */
    char *tmpdir;             /* directory of args->path: libxlsxwriter's temporary files */
    xl_column *cols;          /* args->ncolumns entries */
    lxw_format *f_header, *f_header_num, *f_label, *f_meta_time, *f_meta_num, *f_meta_exact;

    char sheet_name[4 * XL_SHEETNAME_MAX + 1]; /* base name of the data sheets (UTF-8) */
    uint32_t max_rows;                          /* data rows per sheet */

    lxw_worksheet **sheets; /* data sheets, in order */
    size_t nsheets, sheets_cap;
    lxw_worksheet *run_sheet; /* the metadata sheet, once written */
    uint32_t sheet_rows;      /* data rows on the last data sheet */
    uint64_t total_rows;      /* data rows on all sheets */
    char *escape;             /* reused buffer for text holding a literal "_xHHHH_" */
    size_t escape_cap;
    bool warned_int;          /* the warning about integers past 2^53 was logged */

    /* run metadata, taken once in open */
    const char *report, *run_id, *tenant, *period_label, *time_zone, *principals, *version;
    xl_meta_time period_start, period_end, generated_at;
} xlsx_handle;

static const char *const xlsx_option_keys[] = {"sheet_name", "max_rows", NULL};

static bool ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && strcmp(s + n - m, suffix) == 0;
}

/* Characters (code points) of well-formed UTF-8 @p s, or (size_t)-1 if it is not. */
static size_t utf8_chars(const char *s)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t n = 0;
    while (*p) {
        unsigned c = *p;
        int more;
        unsigned min;
        if (c < 0x80) {
            more = 0;
            min = 0;
        } else if ((c & 0xE0) == 0xC0) {
            more = 1;
            min = 0x80;
            c &= 0x1F;
        } else if ((c & 0xF0) == 0xE0) {
            more = 2;
            min = 0x800;
            c &= 0x0F;
        } else if ((c & 0xF8) == 0xF0) {
            more = 3;
            min = 0x10000;
            c &= 0x07;
        } else {
            return (size_t)-1;
        }
        p++;
        for (int i = 0; i < more; i++, p++) {
            if ((*p & 0xC0) != 0x80)
                return (size_t)-1;
            c = (c << 6) | (*p & 0x3Fu);
        }
        if (c < min || c > 0x10FFFF || (c >= 0xD800 && c <= 0xDFFF))
            return (size_t)-1;
        n++;
    }
    return n;
}

/* Characters of UTF-8 text known to be valid (the database's), counted fast. */
static size_t text_chars(const char *s, size_t len)
{
    size_t n = 0;
    for (size_t i = 0; i < len; i++)
        n += ((unsigned char)s[i] & 0xC0) != 0x80;
    return n;
}

/* Characters a number takes when shown with grouping and @p decimals digits. */
static size_t number_chars(double v, int decimals, bool grouping, bool percent)
{
    double a = fabs(percent ? v * 100.0 : v);
    size_t n = v < 0 ? 1 : 0;
    size_t digits = 1;
    while (a >= 10.0 && digits < 400) {
        a /= 10.0;
        digits++;
    }
    n += digits;
    if (grouping)
        n += (digits - 1) / 3;
    if (decimals > 0)
        n += 1 + (size_t)decimals;
    return n + (percent ? 1 : 0);
}

/* ---- errors --------------------------------------------------------------------- */

static dr_plugin_status lxw_failed(const xlsx_handle *h, lxw_error err, const char *what)
{
    dr_plugin_status st = err == LXW_ERROR_MEMORY_MALLOC_FAILED ? DR_PLUGIN_ENOMEM : DR_PLUGIN_EFAIL;
    return dr_plugin_error(h->args, st, "xlsx: cannot %s in '%s': %s", what,
                           dr_pc_shown(h->args->path), lxw_strerror(err));
}

/* A sheet could not be added: out of memory, or its temporary file failed (errno). */
static dr_plugin_status sheet_failed(const xlsx_handle *h, const char *name)
{
    int e = errno;
    if (e == 0 || e == ENOMEM)
        return dr_plugin_error(h->args, DR_PLUGIN_ENOMEM, "xlsx: out of memory adding the sheet "
                               "'%s' to '%s'", name, dr_pc_shown(h->args->path));
    return dr_plugin_error(h->args, DR_PLUGIN_EIO,
                           "xlsx: cannot add the sheet '%s': no temporary file in '%s': %s", name,
                           dr_pc_shown(h->tmpdir), strerror(e));
}

/* ---- options -------------------------------------------------------------------- */

static dr_plugin_status check_sheet_name(const dr_open_args *args, const char *v)
{
    size_t n = v != NULL ? utf8_chars(v) : 0;

    if (v == NULL || *v == '\0')
        return dr_plugin_error(args, DR_PLUGIN_EOPTION,
                               "invalid xlsx.sheet_name '': expected 1 to 31 characters");
    if (n == (size_t)-1)
        return dr_plugin_error(args, DR_PLUGIN_EOPTION,
                               "invalid xlsx.sheet_name: it is not valid UTF-8");
    if (n > XL_SHEETNAME_MAX)
        return dr_plugin_error(args, DR_PLUGIN_EOPTION,
                               "invalid xlsx.sheet_name '%s': %zu characters, Excel allows at "
                               "most 31",
                               v, n);
    for (const char *p = v; *p; p++) {
        unsigned char c = (unsigned char)*p;
        if (strchr("[]:*?/\\", c) != NULL)
            return dr_plugin_error(args, DR_PLUGIN_EOPTION,
                                   "invalid xlsx.sheet_name '%s': Excel forbids the character "
                                   "'%c' (none of [ ] : * ? / \\ may appear)",
                                   v, c);
        if (c < 0x20 || c == 0x7F)
            return dr_plugin_error(args, DR_PLUGIN_EOPTION,
                                   "invalid xlsx.sheet_name: it contains a control character");
    }
    if (v[0] == '\'' || v[strlen(v) - 1] == '\'')
        return dr_plugin_error(args, DR_PLUGIN_EOPTION,
                               "invalid xlsx.sheet_name '%s': Excel forbids an apostrophe at "
                               "its start or end",
                               v);
    /* Excel compares sheet names without (ASCII) case */
    if (dr_pc_word_eq(v, XL_RUN_SHEET) || dr_pc_word_eq(v, "History"))
        return dr_plugin_error(args, DR_PLUGIN_EOPTION,
                               "invalid xlsx.sheet_name '%s': the name is taken (\"Run\" holds "
                               "the run's metadata, \"History\" is reserved by Excel)",
                               v);
    return DR_PLUGIN_OK;
}

static dr_plugin_status parse_max_rows(const dr_open_args *args, const char *v, uint32_t *out)
{
    unsigned long n = 0;
    const char *p = v;

    if (p == NULL || *p == '\0')
        goto bad;
    for (; *p; p++) {
        if (*p < '0' || *p > '9')
            goto bad;
        n = n * 10 + (unsigned long)(*p - '0');
        if (n > XL_MAX_DATA_ROWS)
            goto bad;
    }
    if (n == 0)
        goto bad;
    *out = (uint32_t)n;
    return DR_PLUGIN_OK;
bad:
    return dr_plugin_error(args, DR_PLUGIN_EOPTION,
                           "invalid xlsx.max_rows '%s': expected a whole number from 1 to %u "
                           "(data rows per sheet)",
                           dr_pc_shown(v), XL_MAX_DATA_ROWS);
}

/* Parse this plugin's options into @p handle (a xlsx_handle): from open, and on a zeroed
   scratch handle from check_options (dr_pc_check_options). */
static dr_plugin_status parse_options(const dr_open_args *args, void *handle)
{
    xlsx_handle *h = handle;
    for (size_t i = 0; i < args->noptions; i++) {
        const char *key = args->options[i].key;
        const char *val = args->options[i].value;
        dr_plugin_status st;

        if (key == NULL) {
            return dr_plugin_error(args, DR_PLUGIN_EOPTION, "invalid xlsx option: missing key");
        } else if (strcmp(key, "sheet_name") == 0) {
            if ((st = check_sheet_name(args, val)) != DR_PLUGIN_OK)
                return st;
            snprintf(h->sheet_name, sizeof h->sheet_name, "%s", val);
        } else if (strcmp(key, "max_rows") == 0) {
            if ((st = parse_max_rows(args, val, &h->max_rows)) != DR_PLUGIN_OK)
                return st;
        } else {
            return dr_plugin_error(args, DR_PLUGIN_EOPTION,
                                   "unknown option 'xlsx.%s': expected xlsx.sheet_name or "
                                   "xlsx.max_rows",
                                   key);
        }
    }
    return DR_PLUGIN_OK;
}

/* ---- run metadata ------------------------------------------------------------------ */

/* Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm). */
static long long days_from_civil(long long y, unsigned m, unsigned d)
{
    y -= m <= 2;
    long long era = (y >= 0 ? y : y - 399) / 400;
    unsigned yoe = (unsigned)(y - era * 400);
    unsigned doy = (153 * (m + (m > 2 ? (unsigned)-3 : 9)) + 2) / 5 + d - 1;
    unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (long long)doe - 719468;
}

static bool read_digits(const char **p, int n, int *v)
{
    *v = 0;
    for (int i = 0; i < n; i++, (*p)++) {
        if (**p < '0' || **p > '9')
            return false;
        *v = *v * 10 + (**p - '0');
    }
    return true;
}

/* "YYYY-MM-DDTHH:MM:SS[.ffffff](+HH:MM|-HH:MM|Z)", as the host writes run metadata. */
static void parse_meta_time(const char *s, xl_meta_time *out)
{
    const char *p = s;
    int y, mo, d, hh, mi, ss, oh = 0, om = 0, sign = 1;
    double frac = 0.0, scale = 0.1;

    memset(out, 0, sizeof *out);
    out->text = s;
    if (s == NULL)
        return;
    if (!read_digits(&p, 4, &y) || *p++ != '-' || !read_digits(&p, 2, &mo) || *p++ != '-' ||
        !read_digits(&p, 2, &d) || (*p != 'T' && *p != ' ') || !(p++, read_digits(&p, 2, &hh)) ||
        *p++ != ':' || !read_digits(&p, 2, &mi) || *p++ != ':' || !read_digits(&p, 2, &ss))
        return;
    if (*p == '.') {
        for (p++; *p >= '0' && *p <= '9'; p++, scale /= 10.0)
            frac += (*p - '0') * scale;
    }
    if (*p == 'Z') {
        p++;
    } else if (*p == '+' || *p == '-') {
        sign = *p++ == '-' ? -1 : 1;
        if (!read_digits(&p, 2, &oh) || *p++ != ':' || !read_digits(&p, 2, &om))
            return;
    } else {
        return;
    }
    if (*p != '\0' || mo < 1 || mo > 12 || d < 1 || d > 31 || hh > 23 || mi > 59 || ss > 60)
        return;
    out->dt = (lxw_datetime){y, mo, d, hh, mi, ss + frac};
    out->epoch = (time_t)(days_from_civil(y, (unsigned)mo, (unsigned)d) * 86400LL + hh * 3600LL +
                          mi * 60LL + ss - sign * (oh * 3600LL + om * 60LL));
    out->ok = y >= 1900 && y <= 9999;
}

/* A field of the host's dr_run_info, or NULL when the host's struct is too small for it
   (each use copes with NULL). */
#define RUN_FIELD(run, field)                                                                  \
    ((run) != NULL && (run)->abi_major == DR_PLUGIN_ABI_MAJOR &&                               \
             DR_HAS_FIELD(run, dr_run_info, field)                                             \
         ? (run)->field                                                                        \
         : NULL)

static void take_run_info(xlsx_handle *h)
{
    const dr_run_info *run = h->args->run;

    h->report = RUN_FIELD(run, report);
    h->run_id = RUN_FIELD(run, run_id);
    h->tenant = RUN_FIELD(run, tenant_id);
    h->period_label = RUN_FIELD(run, period_label);
    h->time_zone = RUN_FIELD(run, time_zone);
    h->principals = RUN_FIELD(run, principals);
    h->version = RUN_FIELD(run, tool_version);
    parse_meta_time(RUN_FIELD(run, period_start), &h->period_start);
    parse_meta_time(RUN_FIELD(run, period_end), &h->period_end);
    parse_meta_time(RUN_FIELD(run, generated_at), &h->generated_at);
}

/* The report's human title: "Representative Performance" for rep_performance. */
static const char *report_title(const char *report)
{
    if (report == NULL || strcmp(report, "rep_performance") == 0)
        return "Representative Performance";
    return report;
}

static dr_plugin_status set_properties(xlsx_handle *h)
{
    char title[256], subject[128], comments[160];
    lxw_doc_properties props;
    lxw_error err;

    memset(&props, 0, sizeof props);
    if (h->period_label != NULL)
        snprintf(title, sizeof title, "%s %s", report_title(h->report), h->period_label);
    else
        snprintf(title, sizeof title, "%s", report_title(h->report));
    props.title = title;
    if (h->tenant != NULL) {
        snprintf(subject, sizeof subject, "%s", h->tenant);
        props.subject = subject;
    }
    if (h->run_id != NULL) {
        snprintf(comments, sizeof comments, "Run %s", h->run_id);
        props.comments = comments;
    }
    props.author = "dynoreport";
    props.keywords = (char *)(h->report != NULL ? h->report : "report");
    props.category = "Report";
    if (h->generated_at.ok && h->generated_at.epoch > 0)
        props.created = h->generated_at.epoch;
    err = workbook_set_properties(h->wb, &props);
    return err == LXW_NO_ERROR ? DR_PLUGIN_OK : lxw_failed(h, err, "set the document properties");
}

/* ---- formats and columns -------------------------------------------------------------- */

static lxw_format *new_format(xlsx_handle *h, const char *num_format)
{
    lxw_format *f = workbook_add_format(h->wb);
    if (f != NULL && num_format != NULL)
        format_set_num_format(f, num_format);
    return f;
}

/* Decide each column's kind and format, once. */
static dr_plugin_status setup_columns(xlsx_handle *h)
{
    const dr_open_args *args = h->args;
    lxw_format *f_int = new_format(h, "0");
    lxw_format *f_money = new_format(h, "#,##0.00");
    lxw_format *f_pct = new_format(h, "0.00%");
    lxw_format *f_days = new_format(h, "#,##0.0");
    lxw_format *f_dt = new_format(h, "yyyy-mm-dd hh:mm");

    h->f_header = new_format(h, NULL);
    h->f_header_num = new_format(h, NULL);
    h->f_label = new_format(h, NULL);
    h->f_meta_time = new_format(h, "yyyy-mm-dd hh:mm:ss");
    h->f_meta_num = new_format(h, "0");
    h->f_meta_exact = new_format(h, NULL);
    if (!f_int || !f_money || !f_pct || !f_days || !f_dt || !h->f_header || !h->f_header_num ||
        !h->f_label || !h->f_meta_time || !h->f_meta_num || !h->f_meta_exact)
        return dr_plugin_error(args, DR_PLUGIN_ENOMEM, "xlsx: out of memory");
    /* header: bold on a light blue band with a rule below; over numbers, flush right */
    for (int k = 0; k < 2; k++) {
        lxw_format *f = k == 0 ? h->f_header : h->f_header_num;
        format_set_bold(f);
        format_set_bg_color(f, 0xDDEBF7);
        format_set_bottom(f, LXW_BORDER_THIN);
        format_set_align(f, LXW_ALIGN_VERTICAL_CENTER);
    }
    format_set_align(h->f_header_num, LXW_ALIGN_RIGHT);
    format_set_bold(h->f_label);
    format_set_align(h->f_meta_time, LXW_ALIGN_LEFT);
    format_set_align(h->f_meta_num, LXW_ALIGN_LEFT);
    format_set_font_color(h->f_meta_exact, 0x595959);

    for (size_t i = 0; i < args->ncolumns; i++) {
        const dr_column *c = &args->columns[i];
        xl_column *x = &h->cols[i];
        const char *name = dr_pc_shown(c->name);
        size_t label = c->label != NULL ? utf8_chars(c->label) : (size_t)-1;

        x->label_chars = label != (size_t)-1 ? label : strlen(name);
        switch (c->type) {
        case DR_TYPE_UUID:
            x->kind = XL_UUID;
            x->max_chars = 36;
            break;
        case DR_TYPE_INT64:
            x->kind = XL_INT;
            x->fmt = f_int;
            x->max_chars = 4;
            break;
        case DR_TYPE_DECIMAL:
            if (ends_with(name, "_rate")) {
                x->kind = XL_PERCENT;
                x->fmt = f_pct;
                x->decimals = 2;
                x->max_chars = 7; /* 100.00% */
            } else if (ends_with(name, "_days")) {
                x->kind = XL_DAYS;
                x->fmt = f_days;
                x->decimals = 1;
                x->max_chars = 7;
            } else if (c->scale == 2) {
                x->kind = XL_MONEY;
                x->fmt = f_money;
                x->decimals = 2;
                x->max_chars = 12; /* 1,234,567.89 */
            } else {
                char nf[48] = "#,##0";
                int scale = c->scale < 0 ? 0 : c->scale > 30 ? 30 : c->scale;
                if (scale > 0) {
                    size_t n = strlen(nf);
                    nf[n++] = '.';
                    for (int k = 0; k < scale; k++)
                        nf[n++] = '0';
                    nf[n] = '\0';
                }
                x->kind = XL_DECIMAL;
                x->decimals = scale;
                x->max_chars = 8 + (size_t)scale;
                if ((x->fmt = new_format(h, nf)) == NULL)
                    return dr_plugin_error(args, DR_PLUGIN_ENOMEM, "xlsx: out of memory");
            }
            break;
        case DR_TYPE_TIMESTAMP:
            x->kind = XL_DATETIME;
            x->fmt = f_dt;
            x->max_chars = 16; /* 2026-10-01 00:00 */
            break;
        case DR_TYPE_BOOLEAN:
            x->kind = XL_BOOL;
            x->max_chars = 5;
            break;
        case DR_TYPE_TEXT:
        default:
            x->kind = XL_TEXT;
            x->max_chars = 6;
            break;
        }
    }
    return DR_PLUGIN_OK;
}

/* Width in Excel's character units: the widest value, or the bold label plus the
   autofilter's drop-down button, whichever is wider. */
static double column_width(const xl_column *x)
{
    double content = (double)x->max_chars + 2.0;
    double header = (double)x->label_chars * 1.2 + 4.0;
    double w = content > header ? content : header;
    return w > XL_WIDTH_MAX ? XL_WIDTH_MAX : w;
}

static dr_plugin_status set_widths(xlsx_handle *h, lxw_worksheet *ws)
{
    for (size_t i = 0; i < h->args->ncolumns; i++) {
        lxw_error err = worksheet_set_column(ws, (lxw_col_t)i, (lxw_col_t)i,
                                             column_width(&h->cols[i]), NULL);
        if (err != LXW_NO_ERROR)
            return lxw_failed(h, err, "set the column widths");
    }
    return DR_PLUGIN_OK;
}

/* ---- data sheets -------------------------------------------------------------------- */

/* "<base> (n)", the base cut (at a character) so the name stays within 31 characters. */
static void rollover_name(const char *base, size_t n, char *out, size_t size)
{
    char suffix[32];
    int slen = snprintf(suffix, sizeof suffix, " (%zu)", n);
    size_t keep = XL_SHEETNAME_MAX - (size_t)slen, chars = 0, bytes = 0;

    while (base[bytes] != '\0') {
        size_t next = bytes + 1;
        while (((unsigned char)base[next] & 0xC0) == 0x80)
            next++;
        if (chars + 1 > keep)
            break;
        chars++;
        bytes = next;
    }
    snprintf(out, size, "%.*s%s", (int)bytes, base, suffix);
}

/* Add a data sheet with its header row, frozen pane, widths and print setup. */
static dr_plugin_status add_data_sheet(xlsx_handle *h)
{
    char name[sizeof h->sheet_name + 32];
    const dr_open_args *args = h->args;
    lxw_worksheet *ws;
    lxw_error err = LXW_NO_ERROR;
    dr_plugin_status st;

    if (h->nsheets == h->sheets_cap) {
        size_t cap = h->sheets_cap ? h->sheets_cap * 2 : 4;
        lxw_worksheet **grown = realloc(h->sheets, cap * sizeof *grown);
        if (grown == NULL)
            return dr_plugin_error(args, DR_PLUGIN_ENOMEM, "xlsx: out of memory");
        h->sheets = grown;
        h->sheets_cap = cap;
    }
    if (h->nsheets == 0) {
        snprintf(name, sizeof name, "%s", h->sheet_name);
    } else {
        /* "(n)" can only collide with the base when the base itself ends in "(n)" */
        size_t n = h->nsheets + 1;
        do {
            rollover_name(h->sheet_name, n++, name, sizeof name);
        } while (dr_pc_word_eq(name, h->sheet_name));
    }
    errno = 0;
    ws = workbook_add_worksheet(h->wb, name);
    if (ws == NULL)
        return sheet_failed(h, name);
    h->sheets[h->nsheets++] = ws;
    h->sheet_rows = 0;

    if ((st = set_widths(h, ws)) != DR_PLUGIN_OK)
        return st;
    worksheet_freeze_panes(ws, 1, 0);
    /* printing: landscape, the header on every page, each band of rows across first */
    worksheet_set_landscape(ws);
    worksheet_print_across(ws);
    err = worksheet_repeat_rows(ws, 0, 0);
    for (size_t i = 0; i < args->ncolumns && err == LXW_NO_ERROR; i++) {
        const dr_column *c = &args->columns[i];
        xl_kind k = h->cols[i].kind;
        bool numeric = k != XL_TEXT && k != XL_UUID && k != XL_BOOL;
        const char *label = c->label != NULL && *c->label ? c->label : dr_pc_shown(c->name);
        err = worksheet_write_string(ws, 0, (lxw_col_t)i, label,
                                     numeric ? h->f_header_num : h->f_header);
    }
    if (err != LXW_NO_ERROR)
        return lxw_failed(h, err, "write the header row");
    return DR_PLUGIN_OK;
}

/* The autofilter over the header and the data of the last data sheet. In constant_memory
   mode its last row must not be before the row being written: it is that row. */
static dr_plugin_status finish_data_sheet(xlsx_handle *h)
{
    lxw_worksheet *ws = h->sheets[h->nsheets - 1];
    lxw_error err = worksheet_autofilter(ws, 0, 0, (lxw_row_t)h->sheet_rows,
                                         (lxw_col_t)(h->args->ncolumns - 1));
    return err == LXW_NO_ERROR ? DR_PLUGIN_OK : lxw_failed(h, err, "set the autofilter");
}

/*
 * libxlsxwriter writes a constant_memory sheet's rows into an unlinked temporary file
 * and ignores write errors there (fprintf); a full disk would silently cut the data.
 * The file is a public field of lxw_worksheet (1.1.4 and the current sources), so check it
 * here: flush the pending row on request, then the stream.
 */
static dr_plugin_status check_sheet_file(xlsx_handle *h, lxw_worksheet *ws, bool flush_row)
{
    FILE *f = ws->optimize_tmpfile;

    if (f == NULL)
        return DR_PLUGIN_OK;
    if (flush_row)
        lxw_worksheet_write_single_row(ws);
    errno = 0;
    if ((flush_row && fflush(f) != 0) || ferror(f)) {
        int e = dr_pc_errno_or_eio();
        return dr_plugin_error(h->args, DR_PLUGIN_EIO,
                               "cannot write the temporary sheet data of '%s' in '%s': %s",
                               dr_pc_shown(h->args->path), dr_pc_shown(h->tmpdir), strerror(e));
    }
    return DR_PLUGIN_OK;
}

/* ---- metadata sheet ----------------------------------------------------------------- */

typedef struct xl_run_writer {
    xlsx_handle *h;
    lxw_worksheet *ws;
    lxw_row_t row;
    size_t widest;
    lxw_error err;
} xl_run_writer;

static void run_text(xl_run_writer *w, const char *label, const char *value)
{
    char *cut = NULL;

    if (w->err != LXW_NO_ERROR)
        return;
    w->err = worksheet_write_string(w->ws, w->row, 0, label, w->h->f_label);
    if (w->err == LXW_NO_ERROR && value != NULL && *value != '\0') {
        size_t n = text_chars(value, strlen(value));
        if (n > XL_STRING_MAX) { /* a very long principal list: keep what a cell holds */
            size_t bytes = 0, chars = 0;
            while (value[bytes] && chars < XL_STRING_MAX - 1) {
                bytes++;
                while (((unsigned char)value[bytes] & 0xC0) == 0x80)
                    bytes++;
                chars++;
            }
            if ((cut = malloc(bytes + 4)) == NULL) {
                w->err = LXW_ERROR_MEMORY_MALLOC_FAILED;
                return;
            }
            memcpy(cut, value, bytes);
            memcpy(cut + bytes, "\xE2\x80\xA6", 4); /* an ellipsis and the NUL */
            value = cut;
            n = XL_STRING_MAX;
            w->h->args->log(w->h->args->log_ctx, DR_LOG_WARN,
                            "the principals list is longer than an Excel cell holds; the Run "
                            "sheet shows its beginning");
        }
        if (n > w->widest)
            w->widest = n;
        w->err = worksheet_write_string(w->ws, w->row, 1, value, NULL);
        free(cut);
    }
    w->row++;
}

static void run_time(xl_run_writer *w, const char *label, const xl_meta_time *t)
{
    if (t->text == NULL || !t->ok) {
        run_text(w, label, t->text);
        return;
    }
    if (w->err != LXW_NO_ERROR)
        return;
    lxw_datetime dt = t->dt;
    w->err = worksheet_write_string(w->ws, w->row, 0, label, w->h->f_label);
    if (w->err == LXW_NO_ERROR)
        w->err = worksheet_write_datetime(w->ws, w->row, 1, &dt, w->h->f_meta_time);
    if (w->err == LXW_NO_ERROR) /* the exact instant, with its offset */
        w->err = worksheet_write_string(w->ws, w->row, 2, t->text, w->h->f_meta_exact);
    if (w->widest < 19)
        w->widest = 19;
    w->row++;
}

/* The "Run" sheet: label / value rows (timestamps also as exact ISO 8601 text). */
static dr_plugin_status write_run_sheet(xlsx_handle *h)
{
    xl_run_writer w = {h, NULL, 0, 12, LXW_NO_ERROR};

    errno = 0;
    w.ws = workbook_add_worksheet(h->wb, XL_RUN_SHEET);
    if (w.ws == NULL)
        return sheet_failed(h, XL_RUN_SHEET);
    h->run_sheet = w.ws;
    worksheet_fit_to_pages(w.ws, 1, 0);
    run_text(&w, "Report", h->report);
    run_text(&w, "Tenant", h->tenant);
    run_text(&w, "Period", h->period_label);
    run_time(&w, "Period start", &h->period_start);
    run_time(&w, "Period end", &h->period_end);
    run_text(&w, "Time zone", h->time_zone);
    run_text(&w, "Run id", h->run_id);
    run_time(&w, "Generated at", &h->generated_at);
    run_text(&w, "Principals", h->principals);
    run_text(&w, "Tool version", h->version);
    if (w.err == LXW_NO_ERROR)
        w.err = worksheet_write_string(w.ws, w.row, 0, "Rows", h->f_label);
    if (w.err == LXW_NO_ERROR)
        w.err = worksheet_write_number(w.ws, w.row, 1, (double)h->total_rows, h->f_meta_num);
    if (w.err == LXW_NO_ERROR)
        w.err = worksheet_set_column(w.ws, 0, 0, 16, NULL);
    if (w.err == LXW_NO_ERROR)
        w.err = worksheet_set_column(w.ws, 1, 1,
                                     w.widest + 2.0 > 60.0 ? 60.0 : (double)w.widest + 2.0, NULL);
    if (w.err == LXW_NO_ERROR)
        w.err = worksheet_set_column(w.ws, 2, 2, 30, NULL);
    if (w.err != LXW_NO_ERROR)
        return lxw_failed(h, w.err, "write the Run sheet");
    return DR_PLUGIN_OK;
}

/* ---- callbacks ------------------------------------------------------------------------ */

/* Free everything; a workbook not closed is dropped without writing anything. */
static void xlsx_destroy(void *handle)
{
    xlsx_handle *h = handle;

    if (h == NULL)
        return;
    if (h->wb != NULL) {
        /* lxw_worksheet_free does not close a constant_memory sheet's temporary file
           (workbook_close does, while packaging): close them here, then free. The files
           were unlinked when created, so nothing is left on disk. */
        for (size_t i = 0; i < h->nsheets; i++) {
            if (h->sheets[i]->optimize_tmpfile != NULL) {
                fclose(h->sheets[i]->optimize_tmpfile);
                h->sheets[i]->optimize_tmpfile = NULL;
                h->sheets[i]->file = NULL;
            }
        }
        if (h->run_sheet != NULL && h->run_sheet->optimize_tmpfile != NULL) {
            fclose(h->run_sheet->optimize_tmpfile);
            h->run_sheet->optimize_tmpfile = NULL;
            h->run_sheet->file = NULL;
        }
        lxw_workbook_free(h->wb);
        h->wb = NULL;
    }
    free(h->sheets);
    free(h->escape);
    free(h->cols);
    free(h->tmpdir);
    free(h);
}

/* The directory of @p path ("." when it has none). */
static char *dir_of(const char *path)
{
    const char *slash = strrchr(path, '/');
    size_t n = slash == NULL ? 1 : slash == path ? 1 : (size_t)(slash - path);
    char *d = malloc(n + 1);

    if (d == NULL)
        return NULL;
    if (slash == NULL)
        memcpy(d, ".", 1);
    else if (slash == path)
        memcpy(d, "/", 1);
    else
        memcpy(d, path, n);
    d[n] = '\0';
    return d;
}

static dr_plugin_status xlsx_open(const dr_open_args *args, void **handle)
{
    dr_plugin_status st;
    xlsx_handle *h = NULL;
    lxw_workbook_options opts;

    if ((st = dr_pc_check_open(args, handle, "xlsx")) != DR_PLUGIN_OK)
        return st;
    if (args->path == NULL || args->columns == NULL || args->log == NULL ||
        (args->noptions > 0 && args->options == NULL)) {
        st = dr_plugin_error(args, DR_PLUGIN_EFAIL,
                             "xlsx: open arguments without path, columns, log or options");
        goto cleanup;
    }
    if (args->ncolumns == 0 || args->ncolumns > LXW_COL_MAX) {
        st = dr_plugin_error(args, DR_PLUGIN_EFAIL,
                             "xlsx: %zu columns: a sheet holds 1 to %d", args->ncolumns,
                             (int)LXW_COL_MAX);
        goto cleanup;
    }

    h = calloc(1, sizeof *h);
    if (h == NULL) {
        st = dr_plugin_error(args, DR_PLUGIN_ENOMEM, "xlsx: out of memory");
        goto cleanup;
    }
    h->args = args;
    snprintf(h->sheet_name, sizeof h->sheet_name, "%s", XL_DEFAULT_SHEET);
    h->max_rows = XL_MAX_DATA_ROWS;

    st = parse_options(args, h);
    if (st != DR_PLUGIN_OK)
        goto cleanup;
    take_run_info(h);

    h->cols = calloc(args->ncolumns, sizeof *h->cols);
    h->tmpdir = dir_of(args->path);
    if (h->cols == NULL || h->tmpdir == NULL) {
        st = dr_plugin_error(args, DR_PLUGIN_ENOMEM, "xlsx: out of memory");
        goto cleanup;
    }

    memset(&opts, 0, sizeof opts);
    opts.constant_memory = LXW_TRUE;
    opts.tmpdir = h->tmpdir; /* temporary data next to the output, on its file system */
    h->wb = workbook_new_opt(args->path, &opts);
    if (h->wb == NULL) {
        st = dr_plugin_error(args, DR_PLUGIN_ENOMEM, "xlsx: cannot create a workbook for '%s'",
                             args->path);
        goto cleanup;
    }

    if ((st = setup_columns(h)) != DR_PLUGIN_OK || (st = set_properties(h)) != DR_PLUGIN_OK ||
        (st = add_data_sheet(h)) != DR_PLUGIN_OK)
        goto cleanup;

    *handle = h;
    h = NULL;

cleanup:
    xlsx_destroy(h);
    return st;
}

/* "_xHHHH_" in text is read back by Excel as the character U+HHHH (the escape OOXML uses
   for control characters). A literal one is kept by escaping its '_' as "_x005F_". */
static bool is_ooxml_escape(const char *p)
{
    static const char hex[] = "0123456789abcdefABCDEF";
    if (p[0] != '_' || p[1] != 'x')
        return false;
    for (int i = 2; i < 6; i++)
        if (p[i] == '\0' || strchr(hex, p[i]) == NULL)
            return false;
    return p[6] == '_';
}

/* @p text, or a copy in the handle's buffer with every literal "_xHHHH_" escaped. */
static const char *literal_text(xlsx_handle *h, const char *text, size_t len)
{
    const char *first = strstr(text, "_x");
    size_t n = 0, need;
    char *out;

    while (first != NULL && !is_ooxml_escape(first))
        first = strstr(first + 1, "_x");
    if (first == NULL)
        return text; /* the usual case: nothing to copy */
    for (const char *p = first; *p; p++)
        n += is_ooxml_escape(p);
    need = len + n * 6 + 1;
    if (need > h->escape_cap) {
        char *grown = realloc(h->escape, need);
        if (grown == NULL)
            return NULL;
        h->escape = grown;
        h->escape_cap = need;
    }
    out = h->escape;
    for (const char *p = text; *p; p++) {
        if (is_ooxml_escape(p)) {
            memcpy(out, "_x005F", 6);
            out += 6;
        }
        *out++ = *p;
    }
    *out = '\0';
    return h->escape;
}

static lxw_error write_value(xlsx_handle *h, lxw_worksheet *ws, lxw_row_t r, lxw_col_t c,
                             xl_column *x, const dr_value *v)
{
    size_t n = 0;
    lxw_error err;

    if (v->is_null)
        return worksheet_write_blank(ws, r, c, x->fmt);
    switch (x->kind) {
    case XL_INT:
        if (v->i64 > XL_EXACT_INT || v->i64 < -XL_EXACT_INT) {
            /* a spreadsheet number is a double: keep the exact digits as text */
            if (!h->warned_int) {
                h->warned_int = true;
                h->args->log(h->args->log_ctx, DR_LOG_WARN,
                             "an integer beyond 2^53 is written as text: a spreadsheet number "
                             "would not keep its digits");
            }
            goto as_text;
        }
        err = worksheet_write_number(ws, r, c, (double)v->i64, x->fmt);
        n = number_chars((double)v->i64, 0, false, false);
        break;
    case XL_MONEY:
    case XL_PERCENT:
    case XL_DAYS:
    case XL_DECIMAL:
        if (!isfinite(v->f64)) /* e.g. numeric 'NaN': keep the database's text */
            goto as_text;
        err = worksheet_write_number(ws, r, c, v->f64, x->fmt);
        n = number_chars(v->f64, x->decimals, x->kind != XL_PERCENT, x->kind == XL_PERCENT);
        break;
    case XL_DATETIME: {
        const dr_timestamp *t = &v->ts;
        if (t->year < 1900 || t->year > 9999 || t->month < 1 || t->month > 12 || t->day < 1 ||
            t->day > 31) /* outside what a spreadsheet date can hold */
            goto as_text;
        lxw_datetime dt = {t->year, t->month, t->day, t->hour, t->minute,
                           t->second + t->microsecond / 1e6};
        err = worksheet_write_datetime(ws, r, c, &dt, x->fmt);
        break;
    }
    case XL_BOOL:
        err = worksheet_write_boolean(ws, r, c, v->i64 != 0, NULL);
        break;
    case XL_UUID:
    case XL_TEXT:
    default:
        goto as_text;
    }
    if (n > x->max_chars)
        x->max_chars = n;
    return err;

as_text:
    /* An inline string (<is><t>…</t></is>): never a formula, whatever its first character. */
    n = text_chars(dr_pc_shown(v->text), v->len);
    if (n > x->max_chars)
        x->max_chars = n;
    if (v->text == NULL || v->len == 0)
        return worksheet_write_blank(ws, r, c, x->fmt);
    const char *text = literal_text(h, v->text, v->len);
    if (text == NULL)
        return LXW_ERROR_MEMORY_MALLOC_FAILED;
    return worksheet_write_string(ws, r, c, text, NULL);
}

static dr_plugin_status xlsx_row(void *handle, const dr_value *values)
{
    xlsx_handle *h = handle;
    dr_plugin_status st;

    if (h == NULL)
        return DR_PLUGIN_EFAIL;
    if (h->wb == NULL)
        return dr_plugin_error(h->args, DR_PLUGIN_EFAIL, "xlsx: row after end for '%s'",
                               dr_pc_shown(h->args->path));
    if (values == NULL)
        return dr_plugin_error(h->args, DR_PLUGIN_EFAIL, "xlsx: row without values");

    if (h->sheet_rows == h->max_rows) {
        if ((st = finish_data_sheet(h)) != DR_PLUGIN_OK ||
            (st = check_sheet_file(h, h->sheets[h->nsheets - 1], true)) != DR_PLUGIN_OK ||
            (st = add_data_sheet(h)) != DR_PLUGIN_OK)
            return st;
    }

    lxw_worksheet *ws = h->sheets[h->nsheets - 1];
    lxw_row_t r = (lxw_row_t)h->sheet_rows + 1;
    for (size_t i = 0; i < h->args->ncolumns; i++) {
        lxw_error err = write_value(h, ws, r, (lxw_col_t)i, &h->cols[i], &values[i]);
        if (err != LXW_NO_ERROR) {
            dr_plugin_status s = err == LXW_ERROR_MEMORY_MALLOC_FAILED ? DR_PLUGIN_ENOMEM
                                                                       : DR_PLUGIN_EFAIL;
            return dr_plugin_error(h->args, s, "xlsx: cannot write column %s of row %llu in '%s': %s",
                                   dr_pc_shown(h->args->columns[i].name),
                                   (unsigned long long)h->total_rows + 1,
                                   dr_pc_shown(h->args->path), lxw_strerror(err));
        }
    }
    h->sheet_rows++;
    h->total_rows++;
    if (h->total_rows % XL_IOCHECK_EVERY == 0)
        return check_sheet_file(h, ws, false);
    return DR_PLUGIN_OK;
}

static dr_plugin_status xlsx_end(void *handle)
{
    xlsx_handle *h = handle;
    dr_plugin_status st;
    lxw_error err;

    if (h == NULL)
        return DR_PLUGIN_EFAIL;
    if (h->wb == NULL)
        return dr_plugin_error(h->args, DR_PLUGIN_EFAIL, "xlsx: end called twice for '%s'",
                               dr_pc_shown(h->args->path));

    if ((st = finish_data_sheet(h)) != DR_PLUGIN_OK)
        return st;
    /* widths again, now that the widest values are known (cols are written at close) */
    for (size_t i = 0; i < h->nsheets; i++)
        if ((st = set_widths(h, h->sheets[i])) != DR_PLUGIN_OK)
            return st;
    if ((st = write_run_sheet(h)) != DR_PLUGIN_OK)
        return st;
    for (size_t i = 0; i < h->nsheets; i++)
        if ((st = check_sheet_file(h, h->sheets[i], true)) != DR_PLUGIN_OK)
            return st;
    if ((st = check_sheet_file(h, h->run_sheet, true)) != DR_PLUGIN_OK)
        return st;

    errno = 0;
    err = workbook_close(h->wb); /* frees the workbook, whatever happens */
    int e = errno;
    h->wb = NULL;
    h->run_sheet = NULL;
    h->nsheets = 0;
    if (err != LXW_NO_ERROR) {
        /* these are the errors after which libxlsxwriter leaves errno set */
        bool has_errno = e != 0 && (err == LXW_ERROR_CREATING_XLSX_FILE ||
                                    err == LXW_ERROR_CREATING_TMPFILE ||
                                    err == LXW_ERROR_ZIP_FILE_OPERATION ||
                                    err == LXW_ERROR_ZIP_PARAMETER_ERROR ||
                                    err == LXW_ERROR_ZIP_BAD_ZIP_FILE ||
                                    err == LXW_ERROR_ZIP_INTERNAL_ERROR);
        return dr_plugin_error(h->args, DR_PLUGIN_EIO, "cannot write XLSX file '%s': %s%s%s",
                               dr_pc_shown(h->args->path), lxw_strerror(err), has_errno ? ": " : "",
                               has_errno ? strerror(e) : "");
    }
    return DR_PLUGIN_OK;
}

/* ABI 1.1: the host checks options before any work; open() parses them again. */
static dr_plugin_status xlsx_check_options(const dr_open_args *args)
{
    return dr_pc_check_options(args, "xlsx", sizeof(xlsx_handle), parse_options);
}

static const dr_plugin xlsx_descriptor = {
    .abi_major = DR_PLUGIN_ABI_MAJOR,
    .size = sizeof(dr_plugin),
    .name = "xlsx",
    .version = "1.0.0",
    .description = "Excel workbook: typed cells, bold frozen header, autofilter, a Run sheet",
    .extension = "xlsx",
    .option_keys = xlsx_option_keys,
    .open = xlsx_open,
    .row = xlsx_row,
    .end = xlsx_end,
    .destroy = xlsx_destroy,
    .check_options = xlsx_check_options,
};

DR_PLUGIN_EXPORT const dr_plugin *dr_plugin_entry(void)
{
    return &xlsx_descriptor;
}
