/*
 * The "Report" sheet of the "xlsx" plugin: the run as a report for people, from the host's
 * report view (ABI 1.2: include/dynoreport/plugin.h, "The report view").
 *
 * Layout (columns A..N; the previous-period and change columns only with a comparison):
 *   title block   report name; tenant and the period in words; time zone and what is
 *                 compared; generated at
 *   header        a group header (this period | the comparison period | change) and the
 *                 column headers, shared by both tables: frozen on screen, repeated on
 *                 every printed page
 *   Reps          a title line, one row per rep ranked by the view's rank (1 first; the reps
 *                 gone since the comparison period after the others, with zeros now), the
 *                 total line (the view's total row: each deal once; bold, rules) and a note
 *                 on why the rows do not add up to it
 *   Teams         the same for the teams
 *   chart         under the tables (xlsx_layout.c)
 *
 * The rows arrive in the host's order (principal type, then id) while the sheet needs them
 * ranked, and constant_memory mode writes a sheet's rows in order: so the ranked rows are
 * kept in memory (the best XR_MAX_ROWS of each table, in a bounded heap; the sheet says
 * when it shows fewer than the run has) and the sheet is written at end. The Report sheet
 * is added in open, so it is the first sheet; its temporary file stays empty until end.
 */
#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <xlsxwriter.h>

#include <dynoreport/plugin.h>

#include "plugin_common.h"
#include "xlsx_internal.h"

#define XR_MAX_ROWS 2000 /* ranked rows per table kept for the Report sheet */
#define XR_NAME_MAX 200  /* characters of a name shown; a longer one is cut with "…" */
#define XR_CHART_TOP 15  /* reps in the chart */
#define XR_TEXT_MAX 2048 /* bytes of one line of the title block (its parts are cut) */

/* The columns the Report sheet reads, found by name: the fact columns among the first
   nfact_columns, the view's among the others. */
enum xr_field {
    XF_TYPE, XF_ID, XF_CREATED, XF_WON, XF_LOST, XF_AMOUNT, XF_AVG_DEAL, XF_AVG_DAYS,
    XF_WIN_RATE,
    XF_KIND, XF_NAME, XF_RANK, XF_IS_NEW, XF_PREV_WON, XF_PREV_AMOUNT, XF_PREV_WIN_RATE,
    XF_N
};
#define XF_FIRST_VIEW XF_KIND

static const char *const xr_field_names[XF_N] = {
    "principal_type", "principal_id", "deals_created_count", "deals_closed_won_count",
    "deals_closed_lost_count", "total_amount_won", "avg_deal_size_won", "avg_time_to_close_days",
    "win_rate",
    "row_kind", "principal_name", "rank", "is_new", "prev_deals_won", "prev_total_amount_won",
    "prev_win_rate",
};

/* The numbers kept per row. */
enum xr_metric {
    XM_CREATED, XM_WON, XM_LOST, XM_AMOUNT, XM_AVG_DEAL, XM_AVG_DAYS, XM_WIN_RATE, XM_PREV_WON,
    XM_PREV_AMOUNT, XM_PREV_WIN_RATE, XM_N
};
static const enum xr_field xr_metric_field[XM_N] = {
    XF_CREATED, XF_WON, XF_LOST, XF_AMOUNT, XF_AVG_DEAL, XF_AVG_DAYS, XF_WIN_RATE, XF_PREV_WON,
    XF_PREV_AMOUNT, XF_PREV_WIN_RATE,
};

/* A number of the view: its double, and when the text allows it the exact value scaled by
   10^scale (so a change is the exact difference of the database's decimals). */
typedef struct xr_num {
    bool null;
    bool exact;
    int scale;
    double v;
    int64_t scaled;
} xr_num;

typedef struct xr_row {
    char *name;     /* owned; never NULL once kept */
    bool gone;      /* only in the comparison period */
    bool has_rank;
    int64_t rank;
    uint64_t seq;   /* arrival: the last tie-break, so the order is the host's */
    int is_new;     /* 1 new, 0 not, -1 unknown (no comparison) */
    xr_num m[XM_N];
} xr_row;

typedef struct xr_table {
    const char *type, *title, *noun, *note;
    xr_row *rows;  /* a heap (worst first) while rows arrive, ranked at end */
    size_t n, cap;
    uint64_t seen; /* ranked rows received: principals and gone ones */
    xr_row total;
    bool has_total;
} xr_table;

/* Cell styles: the row variant (plain, gone, total) by what the cell holds. */
enum xr_variant { XV_ROW, XV_GONE, XV_TOTAL, XV_N };
enum xr_style {
    XS_RANK, XS_NAME, XS_INT, XS_MONEY, XS_DAYS, XS_PCT, XS_DMONEY_UP, XS_DMONEY_DOWN,
    XS_DMONEY_ZERO, XS_DPP_UP, XS_DPP_DOWN, XS_DPP_ZERO, XS_WORD, XS_BLANK, XS_N
};

struct xl_report {
    size_t col[XF_N]; /* column index of each field */
    xr_table tables[2];
    uint64_t seq;
    bool compare;     /* a comparison period: the previous-period and change columns */
    size_t currency_chars; /* characters the currency adds to a money cell (0: none) */
    bool warned_kind, warned_type, warned_total;
    lxw_format *f_title, *f_subtitle, *f_line, *f_meta, *f_section, *f_group, *f_head,
        *f_head_name, *f_note, *f_empty;
    lxw_format *f[XV_N][XS_N];
};

/* ---- numbers ------------------------------------------------------------------------ */

static const double xr_pow10[] = {1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9};

/* "-123.45" with at most @p scale digits after the point and 18 digits in all, into
   value * 10^scale; false for anything else (the double is used then). */
static bool parse_scaled(const char *s, int scale, int64_t *out)
{
    int64_t v = 0;
    int digits = 0, frac = -1;
    bool neg = false;

    if (s == NULL || scale < 0 || scale > 9)
        return false;
    if (*s == '-' || *s == '+')
        neg = *s++ == '-';
    for (; *s; s++) {
        if (*s == '.' && frac < 0) {
            frac = 0;
            continue;
        }
        if (*s < '0' || *s > '9' || ++digits > 18)
            return false;
        if (frac >= 0 && ++frac > scale)
            return false;
        v = v * 10 + (*s - '0');
    }
    if (digits == 0)
        return false;
    for (int k = frac < 0 ? 0 : frac; k < scale; k++)
        v *= 10;
    *out = neg ? -v : v;
    return true;
}

static xr_num num_of(const dr_column *c, const dr_value *v)
{
    xr_num n = {.null = true};

    if (v->is_null)
        return n;
    switch (c->type) {
    case DR_TYPE_INT64:
    case DR_TYPE_BOOLEAN:
        n.null = false;
        n.exact = true;
        n.v = (double)v->i64;
        n.scaled = v->i64;
        break;
    case DR_TYPE_DECIMAL:
        if (!isfinite(v->f64)) /* e.g. numeric 'NaN': nothing a report can show */
            break;
        n.null = false;
        n.v = v->f64;
        n.scale = c->scale;
        n.exact = parse_scaled(v->text, c->scale, &n.scaled);
        break;
    default:
        break;
    }
    return n;
}

/* a - b, exact when both are; false when either is missing. */
static bool num_diff(const xr_num *a, const xr_num *b, double *out, double unit)
{
    if (a->null || b->null)
        return false;
    if (a->exact && b->exact && a->scale == b->scale && a->scale >= 0 && a->scale <= 9 &&
        llabs(a->scaled) < (1LL << 52) && llabs(b->scaled) < (1LL << 52))
        *out = (double)(a->scaled - b->scaled) * unit / xr_pow10[a->scale];
    else
        *out = (a->v - b->v) * unit;
    return true;
}

/* ---- columns and formats (open) ------------------------------------------------------ */

static dr_plugin_status find_columns(xlsx_handle *h, xl_report *r)
{
    const dr_open_args *args = h->args;
    size_t nfact = h->view->nfact_columns;

    for (int f = 0; f < XF_N; f++) {
        bool fact = f < XF_FIRST_VIEW;
        size_t from = fact ? 0 : nfact, to = fact ? nfact : args->ncolumns, i;
        for (i = from; i < to; i++) {
            const char *name = args->columns[i].name;
            if (name != NULL && strcmp(name, xr_field_names[f]) == 0)
                break;
        }
        if (i == to)
            return dr_plugin_error(args, DR_PLUGIN_EFAIL,
                                   "xlsx: the report view has no column '%s' among its %s "
                                   "columns: the Report sheet needs it",
                                   xr_field_names[f], fact ? "fact" : "view");
        r->col[f] = i;
    }
    return DR_PLUGIN_OK;
}

/* The currency as a quoted literal of a number format, or "" (none, or unusable). */
static void currency_suffix(xlsx_handle *h, char *out, size_t size)
{
    const char *c = h->currency;
    size_t n = c != NULL ? strlen(c) : 0;

    out[0] = '\0';
    if (n == 0)
        return;
    bool ok = n <= 16 && xl_utf8_chars(c) != (size_t)-1;
    for (size_t i = 0; ok && i < n; i++)
        ok = (unsigned char)c[i] >= 0x20 && c[i] != '"' && c[i] != '\\' && c[i] != 0x7F;
    if (!ok) {
        h->args->log(h->args->log_ctx, DR_LOG_WARN,
                     "the currency of the report view is not a short code such as EUR: the "
                     "Report sheet shows amounts without it");
        return;
    }
    snprintf(out, size, " \"%s\"", c);
    h->rep->currency_chars = 1 + xl_utf8_chars(c);
}

static dr_plugin_status make_formats(xlsx_handle *h, xl_report *r)
{
    char cur[48], money[96], dmoney[320];
    const char *pp = "\"\xE2\x96\xB2 \"0.0\" pp\";\"\xE2\x96\xBC \"0.0\" pp\";0.0\" pp\"";
    bool ok = true;

    currency_suffix(h, cur, sizeof cur);
    snprintf(money, sizeof money, "#,##0.00%s", cur);
    /* the sign as an arrow: the cell holds the signed change */
    snprintf(dmoney, sizeof dmoney,
             "\"\xE2\x96\xB2 \"#,##0.00%s;\"\xE2\x96\xBC \"#,##0.00%s;0.00%s", cur, cur, cur);

    lxw_format **simple[] = {&r->f_title, &r->f_subtitle, &r->f_line, &r->f_meta, &r->f_section,
                             &r->f_group, &r->f_head, &r->f_head_name, &r->f_note, &r->f_empty};
    for (size_t i = 0; i < sizeof simple / sizeof simple[0]; i++)
        ok = ok && (*simple[i] = xl_new_format(h, NULL)) != NULL;
    if (!ok)
        return dr_plugin_error(h->args, DR_PLUGIN_ENOMEM, "xlsx: out of memory");
    format_set_bold(r->f_title);
    format_set_font_size(r->f_title, 16);
    format_set_font_color(r->f_title, 0x1F4E79);
    format_set_bold(r->f_subtitle);
    format_set_font_size(r->f_subtitle, 12);
    format_set_font_color(r->f_meta, 0x595959);
    format_set_font_size(r->f_meta, 9);
    format_set_bold(r->f_section);
    format_set_font_size(r->f_section, 12);
    format_set_font_color(r->f_section, 0x1F4E79);
    format_set_bold(r->f_group);
    format_set_align(r->f_group, LXW_ALIGN_CENTER);
    format_set_bg_color(r->f_group, 0xBDD7EE);
    format_set_border(r->f_group, LXW_BORDER_THIN);
    format_set_border_color(r->f_group, 0xFFFFFF);
    for (int k = 0; k < 2; k++) {
        lxw_format *f = k == 0 ? r->f_head : r->f_head_name;
        format_set_bold(f);
        format_set_text_wrap(f);
        format_set_align(f, k == 0 ? LXW_ALIGN_CENTER : LXW_ALIGN_LEFT);
        format_set_align(f, LXW_ALIGN_VERTICAL_CENTER);
        format_set_bg_color(f, 0xDDEBF7);
        format_set_bottom(f, LXW_BORDER_THIN);
    }
    format_set_italic(r->f_note);
    format_set_font_size(r->f_note, 9);
    format_set_font_color(r->f_note, 0x595959);
    format_set_text_wrap(r->f_note);
    format_set_align(r->f_note, LXW_ALIGN_VERTICAL_TOP);
    format_set_italic(r->f_empty);
    format_set_font_color(r->f_empty, 0x808080);

    const char *nf[XS_N] = {
        [XS_RANK] = "0", [XS_INT] = "#,##0", [XS_MONEY] = money, [XS_DAYS] = "#,##0.0",
        [XS_PCT] = "0.0%", [XS_DMONEY_UP] = dmoney, [XS_DMONEY_DOWN] = dmoney,
        [XS_DMONEY_ZERO] = dmoney, [XS_DPP_UP] = pp, [XS_DPP_DOWN] = pp, [XS_DPP_ZERO] = pp,
    };
    for (int v = 0; v < XV_N; v++) {
        for (int s = 0; s < XS_N; s++) {
            lxw_format *f = xl_new_format(h, nf[s]);
            if (f == NULL)
                return dr_plugin_error(h->args, DR_PLUGIN_ENOMEM, "xlsx: out of memory");
            r->f[v][s] = f;
            if (v == XV_TOTAL) {
                format_set_bold(f);
                format_set_top(f, LXW_BORDER_THIN);
                format_set_bottom(f, LXW_BORDER_THIN);
                format_set_bg_color(f, 0xF2F2F2);
            } else {
                format_set_bottom(f, LXW_BORDER_HAIR);
                format_set_bottom_color(f, 0xBFBFBF);
            }
            if (v == XV_GONE) {
                format_set_italic(f);
                format_set_font_color(f, 0x808080);
            }
            if (s == XS_DMONEY_UP || s == XS_DPP_UP)
                format_set_font_color(f, 0x1E7B34);
            else if (s == XS_DMONEY_DOWN || s == XS_DPP_DOWN)
                format_set_font_color(f, 0xC00000);
            if (s == XS_RANK || s == XS_WORD)
                format_set_align(f, LXW_ALIGN_CENTER);
            if (s == XS_NAME) /* a rare long name shrinks into its cell: rows keep their height */
                format_set_shrink(f);
            if (s == XS_WORD)
                format_set_italic(f);
        }
    }
    return DR_PLUGIN_OK;
}

dr_plugin_status xl_report_open(xlsx_handle *h)
{
    dr_plugin_status st;
    xl_report *r = calloc(1, sizeof *r);

    if (r == NULL)
        return dr_plugin_error(h->args, DR_PLUGIN_ENOMEM, "xlsx: out of memory");
    h->rep = r;
    r->tables[0] = (xr_table){.type = "USER", .title = "Reps", .noun = "reps",
                              .note = "The total counts each deal once: a deal whose owner and "
                                      "assignee are different reps is in both their rows above, "
                                      "so the rows do not add up to the total."};
    r->tables[1] = (xr_table){.type = "GROUP", .title = "Teams", .noun = "teams",
                              .note = "The total counts each deal once: a deal owned by one team "
                                      "and assigned to another is in both their rows above, so "
                                      "the rows do not add up to the total."};
    r->compare = h->compare != NULL && *h->compare != '\0' && strcmp(h->compare, "none") != 0;
    if ((st = find_columns(h, r)) != DR_PLUGIN_OK || (st = make_formats(h, r)) != DR_PLUGIN_OK)
        return st;

    /* the first sheet: the workbook opens on it; its cells come at end */
    errno = 0;
    h->report_sheet = workbook_add_worksheet(h->wb, XL_REPORT_SHEET);
    if (h->report_sheet == NULL)
        return xl_sheet_failed(h, XL_REPORT_SHEET);
    return DR_PLUGIN_OK;
}

void xl_report_free(xl_report *r)
{
    if (r == NULL)
        return;
    for (int t = 0; t < 2; t++) {
        for (size_t i = 0; i < r->tables[t].n; i++)
            free(r->tables[t].rows[i].name);
        free(r->tables[t].rows);
        free(r->tables[t].total.name);
    }
    free(r);
}

/* ---- the rows (row) -------------------------------------------------------------------- */

/* Order of the table: principals before gone ones, by rank (none last), then arrival. */
static int row_cmp(const xr_row *a, const xr_row *b)
{
    if (a->gone != b->gone)
        return a->gone ? 1 : -1;
    if (a->has_rank != b->has_rank)
        return a->has_rank ? -1 : 1;
    if (a->has_rank && a->rank != b->rank)
        return a->rank < b->rank ? -1 : 1;
    return a->seq < b->seq ? -1 : a->seq > b->seq;
}

static int row_qsort_cmp(const void *a, const void *b)
{
    return row_cmp(a, b);
}

static void heap_swap(xr_row *a, xr_row *b)
{
    xr_row t = *a;
    *a = *b;
    *b = t;
}

/* The heap keeps the worst kept row at its root, so a better one can replace it. */
static void heap_up(xr_row *rows, size_t i)
{
    while (i > 0) {
        size_t parent = (i - 1) / 2;
        if (row_cmp(&rows[parent], &rows[i]) >= 0)
            break;
        heap_swap(&rows[parent], &rows[i]);
        i = parent;
    }
}

static void heap_down(xr_row *rows, size_t n, size_t i)
{
    for (;;) {
        size_t worst = i, l = 2 * i + 1, rr = l + 1;
        if (l < n && row_cmp(&rows[l], &rows[worst]) > 0)
            worst = l;
        if (rr < n && row_cmp(&rows[rr], &rows[worst]) > 0)
            worst = rr;
        if (worst == i)
            return;
        heap_swap(&rows[i], &rows[worst]);
        i = worst;
    }
}

/* Keep @p row (its name is then owned by the table) if it is among the best XR_MAX_ROWS. */
static bool table_keep(xr_table *t, xr_row *row)
{
    t->seen++;
    if (t->n < XR_MAX_ROWS) {
        if (t->n == t->cap) {
            size_t cap = t->cap ? t->cap * 2 : 64;
            if (cap > XR_MAX_ROWS)
                cap = XR_MAX_ROWS;
            xr_row *grown = realloc(t->rows, cap * sizeof *grown);
            if (grown == NULL)
                return false;
            t->rows = grown;
            t->cap = cap;
        }
        t->rows[t->n] = *row;
        heap_up(t->rows, t->n++);
    } else if (row_cmp(row, &t->rows[0]) < 0) {
        free(t->rows[0].name);
        t->rows[0] = *row;
        heap_down(t->rows, t->n, 0);
    } else {
        free(row->name);
    }
    row->name = NULL;
    return true;
}

/* The name to show: the view's, cut to XR_NAME_MAX characters; a marked fallback if empty. */
static char *name_of(const dr_value *name, const dr_value *type, const dr_value *id)
{
    const char *s = name->is_null ? "" : dr_pc_shown(name->text);
    char fallback[64];
    size_t bytes = 0, chars = 0;
    char *out;

    if (*s == '\0') {
        const char *t = type->is_null ? "" : dr_pc_shown(type->text);
        snprintf(fallback, sizeof fallback, "[%s %.8s]",
                 strcmp(t, "GROUP") == 0 ? "team" : strcmp(t, "USER") == 0 ? "user" : "principal",
                 id->is_null ? "?" : dr_pc_shown(id->text));
        s = fallback;
    }
    while (s[bytes] != '\0' && chars < XR_NAME_MAX) {
        bytes++;
        while (((unsigned char)s[bytes] & 0xC0) == 0x80)
            bytes++;
        chars++;
    }
    bool cut = s[bytes] != '\0';
    out = malloc(bytes + (cut ? 4 : 1));
    if (out == NULL)
        return NULL;
    memcpy(out, s, bytes);
    if (cut)
        memcpy(out + bytes, "\xE2\x80\xA6", 4); /* an ellipsis and the NUL */
    else
        out[bytes] = '\0';
    return out;
}

static bool text_is(const dr_value *v, const char *word)
{
    return !v->is_null && v->text != NULL && strcmp(v->text, word) == 0;
}

dr_plugin_status xl_report_row(xlsx_handle *h, const dr_value *values, bool *is_fact)
{
    xl_report *r = h->rep;
    const dr_open_args *args = h->args;
    const dr_value *kind = &values[r->col[XF_KIND]], *type = &values[r->col[XF_TYPE]];
    bool total = false, gone = false;
    xr_table *t = NULL;
    xr_row row;

    /* a NULL kind is taken for a fact row: the host never sends one */
    if (kind->is_null || text_is(kind, DR_ROW_PRINCIPAL)) {
        *is_fact = true;
    } else if (text_is(kind, DR_ROW_GONE)) {
        *is_fact = false;
        gone = true;
    } else if (text_is(kind, DR_ROW_TOTAL)) {
        *is_fact = false;
        total = true;
    } else {
        *is_fact = false; /* a kind of a later ABI: neither a fact nor a line of this report */
        if (!r->warned_kind) {
            r->warned_kind = true;
            args->log(args->log_ctx, DR_LOG_INFO,
                      "the report view has rows of a kind this plugin does not know; they are "
                      "left out of the workbook");
        }
        return DR_PLUGIN_OK;
    }
    for (int i = 0; i < 2; i++)
        if (text_is(type, r->tables[i].type))
            t = &r->tables[i];
    if (t == NULL) {
        if (!r->warned_type) {
            r->warned_type = true;
            args->log(args->log_ctx, DR_LOG_WARN,
                      "a principal type other than USER or GROUP is not on the Report sheet "
                      "(its rows are on the data sheet)");
        }
        return DR_PLUGIN_OK;
    }

    memset(&row, 0, sizeof row);
    row.gone = gone;
    row.seq = r->seq++;
    const dr_value *rank = &values[r->col[XF_RANK]], *is_new = &values[r->col[XF_IS_NEW]];
    row.has_rank = !rank->is_null && !total;
    row.rank = rank->i64;
    row.is_new = is_new->is_null ? -1 : is_new->i64 != 0;
    for (int m = 0; m < XM_N; m++) {
        size_t c = r->col[xr_metric_field[m]];
        row.m[m] = num_of(&args->columns[c], &values[c]);
    }
    row.name = name_of(&values[r->col[XF_NAME]], type, &values[r->col[XF_ID]]);
    if (row.name == NULL)
        return dr_plugin_error(args, DR_PLUGIN_ENOMEM, "xlsx: out of memory");

    if (total) {
        if (t->has_total && !r->warned_total) {
            r->warned_total = true;
            args->log(args->log_ctx, DR_LOG_WARN,
                      "the report view has two total rows of one principal type: the Report "
                      "sheet shows the last");
        }
        free(t->total.name);
        t->total = row;
        t->has_total = true;
        return DR_PLUGIN_OK;
    }
    if (!table_keep(t, &row)) {
        free(row.name);
        return dr_plugin_error(args, DR_PLUGIN_ENOMEM, "xlsx: out of memory");
    }
    return DR_PLUGIN_OK;
}

/* ---- the sheet (end) ------------------------------------------------------------------- */

typedef struct xr_writer {
    xlsx_handle *h;
    xl_report *r;
    lxw_worksheet *ws;
    xl_layout *lay;
    lxw_row_t row;
    lxw_error err;
    size_t chars[XC_N]; /* widest content of each column, as displayed */
} xr_writer;

/* Start a row of @p points height (LXW_DEF_ROW_HEIGHT: the default). */
static void w_start(xr_writer *w, double points)
{
    if (w->err != LXW_NO_ERROR)
        return;
    if (points != LXW_DEF_ROW_HEIGHT)
        w->err = worksheet_set_row(w->ws, w->row, points, NULL);
    if (w->err == LXW_NO_ERROR && !xl_layout_row(w->lay, points))
        w->err = LXW_ERROR_MEMORY_MALLOC_FAILED;
}

static void w_end(xr_writer *w)
{
    w->row++;
}

static void w_text(xr_writer *w, lxw_col_t c, const char *text, lxw_format *f, bool measure)
{
    if (w->err != LXW_NO_ERROR)
        return;
    const char *lit = xl_literal_text(w->h, text, strlen(text));
    if (lit == NULL) {
        w->err = LXW_ERROR_MEMORY_MALLOC_FAILED;
        return;
    }
    w->err = *lit ? worksheet_write_string(w->ws, w->row, c, lit, f)
                  : worksheet_write_blank(w->ws, w->row, c, f);
    if (measure && c < XC_N) {
        size_t n = xl_text_chars(text, strlen(text));
        if (n > w->chars[c])
            w->chars[c] = n;
    }
}

static void w_blank(xr_writer *w, lxw_col_t c, lxw_format *f)
{
    if (w->err == LXW_NO_ERROR)
        w->err = worksheet_write_blank(w->ws, w->row, c, f);
}

/* A number, @p extra characters of decoration (arrow, currency, " pp") added to its width. */
static void w_number(xr_writer *w, lxw_col_t c, double v, lxw_format *f, int decimals,
                     bool percent, size_t extra)
{
    if (w->err != LXW_NO_ERROR)
        return;
    w->err = worksheet_write_number(w->ws, w->row, c, v, f);
    size_t n = xl_number_chars(fabs(v), decimals, !percent, percent) + extra;
    if (n > w->chars[c])
        w->chars[c] = n;
}

static void w_merge(xr_writer *w, lxw_col_t first, lxw_col_t last, const char *text, lxw_format *f)
{
    if (w->err != LXW_NO_ERROR)
        return;
    const char *lit = xl_literal_text(w->h, text, strlen(text));
    if (lit == NULL) {
        w->err = LXW_ERROR_MEMORY_MALLOC_FAILED;
        return;
    }
    w->err = first == last ? worksheet_write_string(w->ws, w->row, first, lit, f)
                           : worksheet_merge_range(w->ws, w->row, first, w->row, last, lit, f);
}

/* A line of the title block in column A (it runs over the empty cells to its right). */
static void w_line(xr_writer *w, double points, lxw_format *f, const char *text)
{
    w_start(w, points);
    w_text(w, 0, text, f, false);
    w_end(w);
}

static void w_metric(xr_writer *w, enum xl_rcol c, const xr_num *n, lxw_format *const *f,
                     enum xr_style style)
{
    static const int decimals[XS_N] = {[XS_MONEY] = 2, [XS_DAYS] = 1, [XS_PCT] = 1};
    if (n->null) {
        w_blank(w, (lxw_col_t)c, f[style]);
        return;
    }
    w_number(w, (lxw_col_t)c, n->v, f[style], decimals[style], style == XS_PCT,
             style == XS_MONEY ? w->r->currency_chars : 0);
}

static void w_word(xr_writer *w, enum xl_rcol c, const char *word, lxw_format *const *f)
{
    w_text(w, (lxw_col_t)c, word, f[XS_WORD], true);
}

/* One line of a table: a ranked row, or the total. */
static void w_table_line(xr_writer *w, const xr_row *row, enum xr_variant variant)
{
    lxw_format *const *f = w->r->f[variant];
    double d;

    w_start(w, LXW_DEF_ROW_HEIGHT);
    if (row->has_rank)
        w_number(w, XC_RANK, (double)row->rank, f[XS_RANK], 0, false, 0);
    else
        w_blank(w, XC_RANK, f[XS_RANK]);
    w_text(w, XC_NAME, row->name, f[XS_NAME], true);
    w_metric(w, XC_CREATED, &row->m[XM_CREATED], f, XS_INT);
    w_metric(w, XC_WON, &row->m[XM_WON], f, XS_INT);
    w_metric(w, XC_LOST, &row->m[XM_LOST], f, XS_INT);
    w_metric(w, XC_AMOUNT, &row->m[XM_AMOUNT], f, XS_MONEY);
    w_metric(w, XC_AVG_DEAL, &row->m[XM_AVG_DEAL], f, XS_MONEY);
    w_metric(w, XC_AVG_DAYS, &row->m[XM_AVG_DAYS], f, XS_DAYS);
    w_metric(w, XC_WIN_RATE, &row->m[XM_WIN_RATE], f, XS_PCT);
    if (w->r->compare) {
        w_metric(w, XC_PREV_AMOUNT, &row->m[XM_PREV_AMOUNT], f, XS_MONEY);
        w_metric(w, XC_PREV_WON, &row->m[XM_PREV_WON], f, XS_INT);
        w_metric(w, XC_PREV_WIN_RATE, &row->m[XM_PREV_WIN_RATE], f, XS_PCT);
        /* the change: "new" for a principal without a row in the comparison period */
        if (row->is_new == 1) {
            w_word(w, XC_D_AMOUNT, "new", f);
        } else if (num_diff(&row->m[XM_AMOUNT], &row->m[XM_PREV_AMOUNT], &d, 1.0)) {
            enum xr_style s = d > 0 ? XS_DMONEY_UP : d < 0 ? XS_DMONEY_DOWN : XS_DMONEY_ZERO;
            w_number(w, XC_D_AMOUNT, d, f[s], 2, false, 2 + w->r->currency_chars);
        } else {
            w_blank(w, XC_D_AMOUNT, f[XS_BLANK]);
        }
        /* in percentage points: the win rates are fractions */
        if (num_diff(&row->m[XM_WIN_RATE], &row->m[XM_PREV_WIN_RATE], &d, 100.0)) {
            enum xr_style s = d > 0 ? XS_DPP_UP : d < 0 ? XS_DPP_DOWN : XS_DPP_ZERO;
            w_number(w, XC_D_WIN_RATE, d, f[s], 1, false, 5);
        } else if (row->is_new == 1) {
            w_word(w, XC_D_WIN_RATE, "new", f);
        } else if (row->gone) {
            w_word(w, XC_D_WIN_RATE, "gone", f);
        } else {
            w_blank(w, XC_D_WIN_RATE, f[XS_BLANK]);
        }
    }
    w_end(w);
}

/* The group header (with a comparison) and the column headers of both tables. */
static void w_headers(xr_writer *w)
{
    static const char *const labels[XC_N] = {
        "Rank", "Name", "Deals created", "Deals won", "Deals lost", "Amount won",
        "Avg deal size", "Avg days to close", "Win rate", "Prev. amount won", "Prev. deals won",
        "Prev. win rate", "Change in amount won", "Change in win rate"};
    xl_report *r = w->r;
    xlsx_handle *h = w->h;

    if (r->compare) {
        char period[404], compare[404];
        w_start(w, 17);
        w_blank(w, XC_RANK, r->f_group);
        w_blank(w, XC_NAME, r->f_group);
        w_merge(w, XC_CREATED, XC_WIN_RATE, xl_cut(h->period_title, 100, period, sizeof period),
                r->f_group);
        w_merge(w, XC_PREV_AMOUNT, XC_PREV_WIN_RATE,
                *dr_pc_shown(h->compare_title)
                    ? xl_cut(h->compare_title, 100, compare, sizeof compare)
                    : "Comparison period",
                r->f_group);
        w_merge(w, XC_D_AMOUNT, XC_D_WIN_RATE, "Change", r->f_group);
        w_end(w);
    }
    w_start(w, 30);
    for (lxw_col_t c = 0; c < w->lay->ncols; c++)
        w_text(w, c, labels[c], c == XC_NAME ? r->f_head_name : r->f_head, false);
    w_end(w);
}

static void w_table(xr_writer *w, xr_table *t, xl_table_place *place)
{
    xl_report *r = w->r;
    char text[256];
    size_t nprincipal = 0;

    if (t->n > 0)
        qsort(t->rows, t->n, sizeof *t->rows, row_qsort_cmp);
    for (size_t i = 0; i < t->n; i++)
        nprincipal += !t->rows[i].gone;

    snprintf(text, sizeof text, "%s, ranked by amount won", t->title);
    w_start(w, 20);
    w_text(w, 0, text, r->f_section, false);
    w_end(w);
    place->present = true;
    place->first = w->row;
    for (size_t i = 0; i < t->n; i++)
        w_table_line(w, &t->rows[i], t->rows[i].gone ? XV_GONE : XV_ROW);
    place->last = w->row - 1; /* before first when there is none */
    place->nchart = nprincipal < XR_CHART_TOP ? nprincipal : XR_CHART_TOP;
    if (t->n == 0) {
        snprintf(text, sizeof text, "No %s in this period.", t->noun);
        w_start(w, LXW_DEF_ROW_HEIGHT);
        w_blank(w, XC_RANK, NULL);
        w_text(w, XC_NAME, text, r->f_empty, false);
        w_end(w);
    }
    if (t->has_total) {
        w_table_line(w, &t->total, XV_TOTAL);
        w_start(w, 26);
        w_merge(w, 0, w->lay->ncols - 1, t->note, r->f_note);
        w_end(w);
    }
    if (t->seen > t->n) {
        snprintf(text, sizeof text,
                 "Only the first %zu of %llu %s by rank are shown here; the %s sheet has every "
                 "row of this period.",
                 t->n, (unsigned long long)t->seen, t->noun, w->h->sheet_name);
        w_start(w, LXW_DEF_ROW_HEIGHT);
        w_text(w, 0, text, r->f_note, false);
        w_end(w);
    }
    w_start(w, LXW_DEF_ROW_HEIGHT); /* a blank line after the table */
    w_end(w);
}

/* "2026-11-02 09:15 -05:00" from the run's generated_at, or its text as given. */
static void format_time(const xl_meta_time *t, char *out, size_t size)
{
    if (!t->ok) {
        snprintf(out, size, "%s", dr_pc_shown(t->text));
        return;
    }
    snprintf(out, size, "%04d-%02d-%02d %02d:%02d %s", t->dt.year % 10000, t->dt.month % 100,
             t->dt.day % 100, t->dt.hour % 100, t->dt.min % 100, t->offset);
}

static void w_title_block(xr_writer *w)
{
    xlsx_handle *h = w->h;
    xl_report *r = w->r;
    char text[XR_TEXT_MAX], when[64], b_tenant[804], b_period[404], b_compare[404], b_word[132],
        b_zone[260], b_version[132], b_run[260];
    /* each part cut to a sensible length (at a character), so a line never overflows */
    const char *tenant = xl_cut(h->tenant_name, 200, b_tenant, sizeof b_tenant);
    const char *period = xl_cut(h->period_title, 100, b_period, sizeof b_period);
    const char *compare = xl_cut(h->compare_title, 100, b_compare, sizeof b_compare);
    const char *zone = h->time_zone != NULL && *h->time_zone
                           ? xl_cut(h->time_zone, 64, b_zone, sizeof b_zone)
                           : "not given";

    w_line(w, 24, r->f_title, xl_report_title(h->report));
    if (*tenant)
        snprintf(text, sizeof text, "%s \xE2\x80\x94 %s", tenant, period);
    else
        snprintf(text, sizeof text, "%s", period);
    w_line(w, 18, r->f_subtitle, text);
    if (r->compare) {
        const char *what = strcmp(h->compare, "previous") == 0   ? "the previous period"
                           : strcmp(h->compare, "year-ago") == 0 ? "the same period a year earlier"
                                                                 : xl_cut(h->compare, 32, b_word,
                                                                          sizeof b_word);
        if (*compare)
            snprintf(text, sizeof text, "Time zone %s. Compared with %s (%s).", zone, compare,
                     what);
        else
            snprintf(text, sizeof text, "Time zone %s. Compared with %s.", zone, what);
    } else {
        snprintf(text, sizeof text, "Time zone %s. No comparison period.", zone);
    }
    w_line(w, LXW_DEF_ROW_HEIGHT, r->f_line, text);
    format_time(&h->generated_at, when, sizeof when);
    snprintf(text, sizeof text, "Generated %s by dynoreport %s; run %s.", when,
             xl_cut(h->version, 32, b_version, sizeof b_version),
             xl_cut(h->run_id, 64, b_run, sizeof b_run));
    w_line(w, LXW_DEF_ROW_HEIGHT, r->f_meta, text);
    w_start(w, LXW_DEF_ROW_HEIGHT);
    w_end(w);
}

/* Column widths in characters: the content's, at least what the wrapped header needs. */
static void set_widths(xr_writer *w)
{
    static const double min_width[XC_N] = {6, 18, 9, 8, 8, 12, 12, 10, 9, 12, 10, 10, 14, 12};
    for (int c = 0; c < XC_N; c++) {
        double want = (double)w->chars[c] + 2.0;
        if (c == XC_NAME && want > 40)
            want = 40; /* a longer name shrinks to fit (its cell holds it whole) */
        w->lay->width[c] = want > min_width[c] ? want : min_width[c];
    }
}

dr_plugin_status xl_report_write(xlsx_handle *h)
{
    xl_report *r = h->rep;
    xl_layout lay;
    xr_writer w;
    dr_plugin_status st;

    memset(&lay, 0, sizeof lay);
    memset(&w, 0, sizeof w);
    lay.ncols = r->compare ? XC_N : XC_N_NO_COMPARE;
    w.h = h;
    w.r = r;
    w.ws = h->report_sheet;
    w.lay = &lay;

    /* one header for both tables: frozen on screen, repeated on every printed page */
    w_title_block(&w);
    lay.title_first = w.row;
    w_headers(&w);
    lay.title_last = w.row - 1;
    lay.freeze = w.row;
    w_table(&w, &r->tables[0], &lay.reps);
    w_table(&w, &r->tables[1], &lay.teams);
    lay.chart_row = w.row;
    if (w.err != LXW_NO_ERROR) {
        st = xl_lxw_failed(h, w.err, "write the Report sheet");
        goto cleanup;
    }
    set_widths(&w);
    st = xl_layout_finish(h, w.ws, &lay);

cleanup:
    free(lay.heights);
    return st;
}
