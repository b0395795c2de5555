/*
 * The data sheet(s) of the "xlsx" plugin: the fact rows as a typed, filterable table.
 *
 * A bold, frozen header row of the column labels, an autofilter over the data, column
 * widths from the column types, the labels and the widest value, and typed cells:
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
 * header, freeze, widths and autofilter. With a report view the sheet holds the fact
 * columns and fact rows only (the view's columns and its gone / total rows are for the
 * Report sheet), and its default name is "Data" instead of "Performance".
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

static bool ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && strcmp(s + n - m, suffix) == 0;
}

/* Decide each data column's kind and format, once; also the header and Run sheet formats. */
dr_plugin_status xl_data_setup(xlsx_handle *h)
{
    const dr_open_args *args = h->args;
    lxw_format *f_int = xl_new_format(h, "0");
    lxw_format *f_money = xl_new_format(h, "#,##0.00");
    lxw_format *f_pct = xl_new_format(h, "0.00%");
    lxw_format *f_days = xl_new_format(h, "#,##0.0");
    lxw_format *f_dt = xl_new_format(h, "yyyy-mm-dd hh:mm");

    h->f_header = xl_new_format(h, NULL);
    h->f_header_num = xl_new_format(h, NULL);
    h->f_label = xl_new_format(h, NULL);
    h->f_meta_time = xl_new_format(h, "yyyy-mm-dd hh:mm:ss");
    h->f_meta_num = xl_new_format(h, "0");
    h->f_meta_exact = xl_new_format(h, NULL);
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

    for (size_t i = 0; i < h->ndata_cols; i++) {
        const dr_column *c = &args->columns[i];
        xl_column *x = &h->cols[i];
        const char *name = dr_pc_shown(c->name);
        size_t label = c->label != NULL ? xl_utf8_chars(c->label) : (size_t)-1;

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
                if ((x->fmt = xl_new_format(h, nf)) == NULL)
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
    for (size_t i = 0; i < h->ndata_cols; i++) {
        lxw_error err = worksheet_set_column(ws, (lxw_col_t)i, (lxw_col_t)i,
                                             column_width(&h->cols[i]), NULL);
        if (err != LXW_NO_ERROR)
            return xl_lxw_failed(h, err, "set the column widths");
    }
    return DR_PLUGIN_OK;
}


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
dr_plugin_status xl_data_add_sheet(xlsx_handle *h)
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
        return xl_sheet_failed(h, name);
    h->sheets[h->nsheets++] = ws;
    h->sheet_rows = 0;

    if ((st = set_widths(h, ws)) != DR_PLUGIN_OK)
        return st;
    worksheet_freeze_panes(ws, 1, 0);
    /* printing: landscape, the header on every page, each band of rows across first */
    worksheet_set_landscape(ws);
    worksheet_print_across(ws);
    err = worksheet_repeat_rows(ws, 0, 0);
    for (size_t i = 0; i < h->ndata_cols && err == LXW_NO_ERROR; i++) {
        const dr_column *c = &args->columns[i];
        xl_kind k = h->cols[i].kind;
        bool numeric = k != XL_TEXT && k != XL_UUID && k != XL_BOOL;
        const char *label = c->label != NULL && *c->label ? c->label : dr_pc_shown(c->name);
        err = worksheet_write_string(ws, 0, (lxw_col_t)i, label,
                                     numeric ? h->f_header_num : h->f_header);
    }
    if (err != LXW_NO_ERROR)
        return xl_lxw_failed(h, err, "write the header row");
    return DR_PLUGIN_OK;
}

/* The autofilter over the header and the data of the last data sheet. In constant_memory
   mode its last row must not be before the row being written: it is that row. */
static dr_plugin_status finish_data_sheet(xlsx_handle *h)
{
    lxw_worksheet *ws = h->sheets[h->nsheets - 1];
    lxw_error err = worksheet_autofilter(ws, 0, 0, (lxw_row_t)h->sheet_rows,
                                         (lxw_col_t)(h->ndata_cols - 1));
    return err == LXW_NO_ERROR ? DR_PLUGIN_OK : xl_lxw_failed(h, err, "set the autofilter");
}

/*
 * libxlsxwriter writes a constant_memory sheet's rows into an unlinked temporary file
 * and ignores write errors there (fprintf); a full disk would silently cut the data.
 * The file is a public field of lxw_worksheet (1.1.4 and the current sources), so check it
 * here: flush the pending row on request, then the stream.
 */
dr_plugin_status xl_check_sheet_file(xlsx_handle *h, lxw_worksheet *ws, bool flush_row)
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
const char *xl_literal_text(xlsx_handle *h, const char *text, size_t len)
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
        n = xl_number_chars((double)v->i64, 0, false, false);
        break;
    case XL_MONEY:
    case XL_PERCENT:
    case XL_DAYS:
    case XL_DECIMAL:
        if (!isfinite(v->f64)) /* e.g. numeric 'NaN': keep the database's text */
            goto as_text;
        err = worksheet_write_number(ws, r, c, v->f64, x->fmt);
        n = xl_number_chars(v->f64, x->decimals, x->kind != XL_PERCENT, x->kind == XL_PERCENT);
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
    n = xl_text_chars(dr_pc_shown(v->text), v->len);
    if (n > x->max_chars)
        x->max_chars = n;
    if (v->text == NULL || v->len == 0)
        return worksheet_write_blank(ws, r, c, x->fmt);
    const char *text = xl_literal_text(h, v->text, v->len);
    if (text == NULL)
        return LXW_ERROR_MEMORY_MALLOC_FAILED;
    return worksheet_write_string(ws, r, c, text, NULL);
}


dr_plugin_status xl_data_row(xlsx_handle *h, const dr_value *values)
{
    dr_plugin_status st;

    if (h->sheet_rows == h->max_rows) {
        if ((st = finish_data_sheet(h)) != DR_PLUGIN_OK ||
            (st = xl_check_sheet_file(h, h->sheets[h->nsheets - 1], true)) != DR_PLUGIN_OK ||
            (st = xl_data_add_sheet(h)) != DR_PLUGIN_OK)
            return st;
    }

    lxw_worksheet *ws = h->sheets[h->nsheets - 1];
    lxw_row_t r = (lxw_row_t)h->sheet_rows + 1;
    for (size_t i = 0; i < h->ndata_cols; i++) {
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
        return xl_check_sheet_file(h, ws, false);
    return DR_PLUGIN_OK;
}

dr_plugin_status xl_data_finish(xlsx_handle *h)
{
    dr_plugin_status st = finish_data_sheet(h);

    /* widths again, now that the widest values are known (cols are written at close) */
    for (size_t i = 0; i < h->nsheets && st == DR_PLUGIN_OK; i++)
        st = set_widths(h, h->sheets[i]);
    return st;
}
