/*
 * The "xlsx" output plugin: an Excel workbook written with libxlsxwriter in
 * constant_memory mode (one row in memory per sheet; the rows of each sheet go to an
 * unlinked temporary file next to the output, then into the zip at end).
 *
 * Without a report view (an ABI 1.1 host, or a host without one): the typed data
 * sheet(s) "Performance" (xlsx_data.c) and a last sheet "Run" with the run's metadata.
 * With one (ABI 1.2, asked for with DR_PLUGIN_WANTS_VIEW): first a "Report" sheet for
 * people (xlsx_report.c, xlsx_layout.c: names, reps and teams ranked apart, totals, the
 * comparison period, conditional formats, a chart, a printable page), then the data
 * sheet(s) named "Data" holding the fact rows only, then "Run" with the view's
 * metadata added. The document properties carry title, subject, creation time and run id.
 *
 * Options (given as --opt xlsx.KEY=VALUE; the host strips the "xlsx." prefix):
 *   sheet_name   name of the data sheet: 1..31 characters, none of [ ] : * ? / \,
 *                not starting or ending with ', not "Run", "Report" or "History"
 *                (default Performance, or Data beside a Report sheet)
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
#include "xlsx_internal.h"


static const char *const xlsx_option_keys[] = {"sheet_name", "max_rows", NULL};

/* Characters (code points) of well-formed UTF-8 @p s, or (size_t)-1 if it is not. */
size_t xl_utf8_chars(const char *s)
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
size_t xl_text_chars(const char *s, size_t len)
{
    size_t n = 0;
    for (size_t i = 0; i < len; i++)
        n += ((unsigned char)s[i] & 0xC0) != 0x80;
    return n;
}

/* Characters a number takes when shown with grouping and @p decimals digits. */
size_t xl_number_chars(double v, int decimals, bool grouping, bool percent)
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

const char *xl_cut(const char *s, size_t max, char *buf, size_t size)
{
    size_t bytes = 0, chars = 0;

    s = dr_pc_shown(s);
    while (s[bytes] != '\0' && chars < max) {
        size_t next = bytes + 1;
        while (((unsigned char)s[next] & 0xC0) == 0x80)
            next++;
        if (next + 4 > size) /* room for the ellipsis and the NUL */
            break;
        bytes = next;
        chars++;
    }
    if (s[bytes] == '\0')
        return s;
    if (size < 4)
        return "";
    memcpy(buf, s, bytes);
    memcpy(buf + bytes, "\xE2\x80\xA6", 4); /* an ellipsis and the NUL */
    return buf;
}

/* ---- errors --------------------------------------------------------------------- */

dr_plugin_status xl_lxw_failed(const xlsx_handle *h, lxw_error err, const char *what)
{
    dr_plugin_status st = err == LXW_ERROR_MEMORY_MALLOC_FAILED ? DR_PLUGIN_ENOMEM : DR_PLUGIN_EFAIL;
    return dr_plugin_error(h->args, st, "xlsx: cannot %s in '%s': %s", what,
                           dr_pc_shown(h->args->path), lxw_strerror(err));
}

/* A sheet could not be added: out of memory, or its temporary file failed (errno). */
dr_plugin_status xl_sheet_failed(const xlsx_handle *h, const char *name)
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
    size_t n = v != NULL ? xl_utf8_chars(v) : 0;

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
    if (dr_pc_word_eq(v, XL_RUN_SHEET) || dr_pc_word_eq(v, XL_REPORT_SHEET) ||
        dr_pc_word_eq(v, "History"))
        return dr_plugin_error(args, DR_PLUGIN_EOPTION,
                               "invalid xlsx.sheet_name '%s': the name is taken (\"Run\" holds "
                               "the run's metadata, \"Report\" the report, \"History\" is "
                               "reserved by Excel)",
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
            h->sheet_name_given = true;
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
    bool zulu = *p == 'Z';
    if (zulu) {
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
    if (zulu)
        memcpy(out->offset, "Z", 2);
    else
        snprintf(out->offset, sizeof out->offset, "%c%02d:%02d", sign < 0 ? '-' : '+', oh % 100,
                 om % 100);
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
const char *xl_report_title(const char *report)
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
        snprintf(title, sizeof title, "%s %s", xl_report_title(h->report), h->period_label);
    else
        snprintf(title, sizeof title, "%s", xl_report_title(h->report));
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
    return err == LXW_NO_ERROR ? DR_PLUGIN_OK
                               : xl_lxw_failed(h, err, "set the document properties");
}

lxw_format *xl_new_format(xlsx_handle *h, const char *num_format)
{
    lxw_format *f = workbook_add_format(h->wb);
    if (f != NULL && num_format != NULL)
        format_set_num_format(f, num_format);
    return f;
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
        size_t n = xl_text_chars(value, strlen(value));
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
    const dr_report_view *v = h->view;

    errno = 0;
    w.ws = workbook_add_worksheet(h->wb, XL_RUN_SHEET);
    if (w.ws == NULL)
        return xl_sheet_failed(h, XL_RUN_SHEET);
    h->run_sheet = w.ws;
    worksheet_fit_to_pages(w.ws, 1, 0);
    run_text(&w, "Report", h->report);
    run_text(&w, "Tenant", h->tenant);
    if (v != NULL)
        run_text(&w, "Tenant name", h->tenant_name);
    run_text(&w, "Period", h->period_label);
    if (v != NULL)
        run_text(&w, "Period title", h->period_title);
    run_time(&w, "Period start", &h->period_start);
    run_time(&w, "Period end", &h->period_end);
    run_text(&w, "Time zone", h->time_zone);
    if (v != NULL) {
        run_text(&w, "Comparison", h->compare);
        if (h->compare_title != NULL && *h->compare_title != '\0') {
            run_text(&w, "Comparison title", h->compare_title);
            run_time(&w, "Comparison start", &h->compare_start);
            run_time(&w, "Comparison end", &h->compare_end);
        }
        if (h->currency != NULL && *h->currency != '\0')
            run_text(&w, "Currency", h->currency);
    }
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
        return xl_lxw_failed(h, w.err, "write the Run sheet");
    return DR_PLUGIN_OK;
}

/* ---- the report view ------------------------------------------------------------------ */

/* The host's report view (ABI 1.2), when it sent one: checked, its metadata taken, and the
   data sheet limited to the fact columns. Without one the workbook is the ABI 1.1 one. */
static dr_plugin_status take_view(xlsx_handle *h)
{
    const dr_open_args *args = h->args;
    const dr_report_view *v;

    if (!DR_HAS_FIELD(args, dr_open_args, view) || args->view == NULL)
        return DR_PLUGIN_OK;
    v = args->view;
    /* every field of the first dr_report_view ends at nfact_columns */
    if (v->abi_major != DR_PLUGIN_ABI_MAJOR || !DR_HAS_FIELD(v, dr_report_view, nfact_columns))
        return dr_plugin_error(args, DR_PLUGIN_EFAIL,
                               "xlsx: the host's report view is of ABI %u with %u bytes: "
                               "expected ABI %d and at least %zu bytes",
                               (unsigned)v->abi_major, (unsigned)v->size, DR_PLUGIN_ABI_MAJOR,
                               offsetof(dr_report_view, nfact_columns) + sizeof(size_t));
    if (v->nfact_columns == 0 || v->nfact_columns >= args->ncolumns)
        return dr_plugin_error(args, DR_PLUGIN_EFAIL,
                               "xlsx: the report view has %zu fact columns of %zu columns: "
                               "expected at least one fact column and the view's after them",
                               v->nfact_columns, args->ncolumns);
    h->view = v;
    h->ndata_cols = v->nfact_columns;
    h->tenant_name = v->tenant_name;
    h->period_title = v->period_title;
    h->compare = v->compare;
    h->compare_title = v->compare_title;
    h->currency = v->currency;
    parse_meta_time(v->compare_start, &h->compare_start);
    parse_meta_time(v->compare_end, &h->compare_end);
    if (!h->sheet_name_given)
        snprintf(h->sheet_name, sizeof h->sheet_name, "%s", XL_VIEW_DATA_SHEET);
    return DR_PLUGIN_OK;
}

/* ---- callbacks ------------------------------------------------------------------------ */

void xl_drop_sheet_file(lxw_worksheet *ws)
{
    if (ws != NULL && ws->optimize_tmpfile != NULL) {
        fclose(ws->optimize_tmpfile);
        ws->optimize_tmpfile = NULL;
        ws->file = NULL;
    }
}

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
        for (size_t i = 0; i < h->nsheets; i++)
            xl_drop_sheet_file(h->sheets[i]);
        xl_drop_sheet_file(h->run_sheet);
        xl_drop_sheet_file(h->report_sheet);
        lxw_workbook_free(h->wb);
        h->wb = NULL;
    }
    xl_report_free(h->rep);
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
    h->ndata_cols = args->ncolumns;

    st = parse_options(args, h);
    if (st != DR_PLUGIN_OK)
        goto cleanup;
    take_run_info(h);
    if ((st = take_view(h)) != DR_PLUGIN_OK)
        goto cleanup;

    h->cols = calloc(h->ndata_cols, sizeof *h->cols);
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

    /* sheets in their order in the workbook: Report (its cells at end), data, Run (at end) */
    if ((st = xl_data_setup(h)) != DR_PLUGIN_OK || (st = set_properties(h)) != DR_PLUGIN_OK ||
        (h->view != NULL && (st = xl_report_open(h)) != DR_PLUGIN_OK) ||
        (st = xl_data_add_sheet(h)) != DR_PLUGIN_OK)
        goto cleanup;

    *handle = h;
    h = NULL;

cleanup:
    xlsx_destroy(h);
    return st;
}

static dr_plugin_status xlsx_row(void *handle, const dr_value *values)
{
    xlsx_handle *h = handle;
    bool is_fact = true;
    dr_plugin_status st;

    if (h == NULL)
        return DR_PLUGIN_EFAIL;
    if (h->wb == NULL)
        return dr_plugin_error(h->args, DR_PLUGIN_EFAIL, "xlsx: row after end for '%s'",
                               dr_pc_shown(h->args->path));
    if (values == NULL)
        return dr_plugin_error(h->args, DR_PLUGIN_EFAIL, "xlsx: row without values");

    /* with a view: every row is kept for the Report sheet, the fact rows also go on Data */
    if (h->view != NULL && (st = xl_report_row(h, values, &is_fact)) != DR_PLUGIN_OK)
        return st;
    return is_fact ? xl_data_row(h, values) : DR_PLUGIN_OK;
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

    if ((st = xl_data_finish(h)) != DR_PLUGIN_OK)
        return st;
    if (h->view != NULL && (st = xl_report_write(h)) != DR_PLUGIN_OK)
        return st;
    if ((st = write_run_sheet(h)) != DR_PLUGIN_OK)
        return st;
    for (size_t i = 0; i < h->nsheets; i++)
        if ((st = xl_check_sheet_file(h, h->sheets[i], true)) != DR_PLUGIN_OK)
            return st;
    if ((st = xl_check_sheet_file(h, h->run_sheet, true)) != DR_PLUGIN_OK)
        return st;
    if (h->report_sheet != NULL &&
        (st = xl_check_sheet_file(h, h->report_sheet, true)) != DR_PLUGIN_OK)
        return st;

    errno = 0;
    err = workbook_close(h->wb); /* frees the workbook, whatever happens */
    int e = errno;
    h->wb = NULL;
    h->run_sheet = NULL;
    h->report_sheet = NULL;
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
    .version = "1.1.0",
    .description = "Excel workbook: a ranked, printable report with a chart, the typed data, "
                   "a Run sheet",
    .extension = "xlsx",
    .option_keys = xlsx_option_keys,
    .open = xlsx_open,
    .row = xlsx_row,
    .end = xlsx_end,
    .destroy = xlsx_destroy,
    .check_options = xlsx_check_options,
    .flags = DR_PLUGIN_WANTS_VIEW,
};

DR_PLUGIN_EXPORT const dr_plugin *dr_plugin_entry(void)
{
    return &xlsx_descriptor;
}
