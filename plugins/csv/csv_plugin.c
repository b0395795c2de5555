/*
 * The "csv" output plugin: RFC 4180 CSV with a header row of column names,
 * NULL as an empty unquoted field, every value written from its exact text.
 *
 * Options (given as --opt csv.KEY=VALUE; the host strips the "csv." prefix):
 *   delimiter       one character, or comma | semicolon | tab | pipe   (default ',')
 *   bom             true | false: write a UTF-8 BOM for Excel            (default false)
 *   line_ending     crlf | lf                                           (default crlf)
 *   formula_escape  true | false: prefix formula-like text cells with ' (default true)
 *   quote           minimal | all                                       (default minimal)
 *   names           true | false: append principal_name and tenant_name   (default false)
 *   decimal         point | comma: the decimal separator; comma makes ';' the default
 *                   delimiter and refuses delimiter=comma                 (default point)
 *   timestamps      iso | local: ISO 8601 with offset, or the report zone's wall-clock
 *                   "2026-10-01 00:00:00" without offset, as Excel reads a date (default iso)
 *
 * Asks for the report view (ABI 1.2, DR_PLUGIN_WANTS_VIEW) for the names only, and tells a
 * 1.3 host that only names=true needs it (wants_view): the 13 fact columns and the fact rows
 * are written as they are without a view; the view's columns and its gone and total rows
 * are never written. names=true takes the names from the view, or, from a host without one,
 * the host's marked fallback ("[user 1a2b3c4d]", "[tenant ...]").
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <dynoreport/plugin.h>

#include "csv_escape.h"
#include "plugin_common.h"

#define CSV_IOBUF_SIZE (64u * 1024u)

/* "YYYY-MM-DD HH:MM:SS.ffffff" and its NUL, with room for a year past 9999 */
#define CSV_LOCAL_TS_SIZE 40

static const char csv_bom[] = "\xEF\xBB\xBF";

typedef struct csv_handle {
    const dr_open_args *args; /* valid until destroy returns */
    dr_pc_file out;           /* the output file; out.fp NULL once closed */
    dr_csv_format fmt;
    const char *eol;          /* "\r\n" or "\n" */
    size_t eol_len;
    bool bom;
    bool names;               /* names=true: principal_name and tenant_name appended */
    bool decimal_comma;       /* decimal=comma */
    bool ts_local;            /* timestamps=local */
    bool delimiter_given;     /* delimiter=... given (decimal=comma then keeps it) */
    dr_pc_view view;          /* where the fact columns are; the view, if sent */
    const char *tenant_name;  /* names=true: the view's, or tenant_buf */
    char tenant_buf[DR_PC_NAME_SIZE];
    char *cell;               /* a decimal with its comma */
    size_t cell_cap;
} csv_handle;

static const char *const csv_option_keys[] = {"delimiter", "bom", "line_ending",
                                              "formula_escape", "quote", "names",
                                              "decimal", "timestamps", NULL};

/* Record a failed write and report it; the stream stays open for destroy. */
static dr_plugin_status write_failed(csv_handle *h)
{
    return dr_pc_file_write_failed(&h->out, h->args, "CSV");
}

/* Parse this plugin's options into @p handle (a csv_handle): from open, and on a zeroed
   scratch handle from check_options (dr_pc_check_options). */
static dr_plugin_status parse_options(const dr_open_args *args, void *handle)
{
    csv_handle *h = handle;
    const char *delimiter_val = NULL; /* as given, for the message */
    for (size_t i = 0; i < args->noptions; i++) {
        const char *key = args->options[i].key;
        const char *val = args->options[i].value;
        dr_plugin_status st;

        if (key == NULL) {
            return dr_plugin_error(args, DR_PLUGIN_EOPTION, "invalid csv option: missing key");
        } else if (strcmp(key, "delimiter") == 0) {
            if (dr_csv_parse_delimiter(val, &h->fmt.delimiter) != 0)
                return dr_plugin_error(args, DR_PLUGIN_EOPTION,
                                       "invalid csv.delimiter '%s': expected one character or "
                                       "comma, semicolon, tab, pipe",
                                       dr_pc_shown(val));
            h->delimiter_given = true;
            delimiter_val = val;
        } else if (strcmp(key, "bom") == 0) {
            if ((st = dr_pc_option_bool(args, "csv", key, val, &h->bom)) != DR_PLUGIN_OK)
                return st;
        } else if (strcmp(key, "line_ending") == 0) {
            if (val != NULL && strcmp(val, "crlf") == 0) {
                h->eol = "\r\n";
                h->eol_len = 2;
            } else if (val != NULL && strcmp(val, "lf") == 0) {
                h->eol = "\n";
                h->eol_len = 1;
            } else {
                return dr_plugin_error(args, DR_PLUGIN_EOPTION,
                                       "invalid csv.line_ending '%s': expected crlf or lf",
                                       dr_pc_shown(val));
            }
        } else if (strcmp(key, "formula_escape") == 0) {
            st = dr_pc_option_bool(args, "csv", key, val, &h->fmt.formula_escape);
            if (st != DR_PLUGIN_OK)
                return st;
        } else if (strcmp(key, "quote") == 0) {
            if (val != NULL && strcmp(val, "minimal") == 0) {
                h->fmt.quote_all = false;
            } else if (val != NULL && strcmp(val, "all") == 0) {
                h->fmt.quote_all = true;
            } else {
                return dr_plugin_error(args, DR_PLUGIN_EOPTION,
                                       "invalid csv.quote '%s': expected minimal or all",
                                       dr_pc_shown(val));
            }
        } else if (strcmp(key, "names") == 0) {
            if ((st = dr_pc_option_bool(args, "csv", key, val, &h->names)) != DR_PLUGIN_OK)
                return st;
        } else if (strcmp(key, "decimal") == 0) {
            if (val != NULL && strcmp(val, "point") == 0) {
                h->decimal_comma = false;
            } else if (val != NULL && strcmp(val, "comma") == 0) {
                h->decimal_comma = true;
            } else {
                return dr_plugin_error(args, DR_PLUGIN_EOPTION,
                                       "invalid csv.decimal '%s': expected point or comma",
                                       dr_pc_shown(val));
            }
        } else if (strcmp(key, "timestamps") == 0) {
            if (val != NULL && strcmp(val, "iso") == 0) {
                h->ts_local = false;
            } else if (val != NULL && strcmp(val, "local") == 0) {
                h->ts_local = true;
            } else {
                return dr_plugin_error(args, DR_PLUGIN_EOPTION,
                                       "invalid csv.timestamps '%s': expected iso (ISO 8601 "
                                       "with offset) or local (wall-clock without offset)",
                                       dr_pc_shown(val));
            }
        } else {
            return dr_plugin_error(args, DR_PLUGIN_EOPTION,
                                   "unknown option 'csv.%s': expected one of csv.delimiter, "
                                   "csv.bom, csv.line_ending, csv.formula_escape, csv.quote, "
                                   "csv.names, csv.decimal, csv.timestamps",
                                   key);
        }
    }
    /* a decimal comma needs another delimiter: ';' unless one is given, never ',' */
    if (h->decimal_comma && h->delimiter_given && h->fmt.delimiter == ',')
        return dr_plugin_error(args, DR_PLUGIN_EOPTION,
                               "invalid csv.delimiter '%s' with csv.decimal 'comma': the comma "
                               "would be both separators, so expected semicolon (the default "
                               "with csv.decimal=comma), tab, pipe or another character",
                               dr_pc_shown(delimiter_val));
    if (h->decimal_comma && !h->delimiter_given)
        h->fmt.delimiter = ';';
    return DR_PLUGIN_OK;
}

static void csv_destroy(void *handle)
{
    csv_handle *h = handle;

    if (h == NULL)
        return;
    dr_pc_file_discard(&h->out); /* failure path: the host removes the temp file */
    free(h->cell);
    free(h);
}

/* One header field. */
static dr_plugin_status header_field(csv_handle *h, size_t i, const char *name)
{
    FILE *fp = h->out.fp;

    if (i > 0 && putc(h->fmt.delimiter, fp) == EOF)
        return write_failed(h);
    if (dr_csv_write_field(fp, &h->fmt, DR_TYPE_TEXT, name, strlen(name)) != 0)
        return write_failed(h);
    return DR_PLUGIN_OK;
}

static dr_plugin_status write_header(csv_handle *h)
{
    const dr_open_args *args = h->args;
    FILE *fp = h->out.fp;

    dr_plugin_status st;
    size_t n = h->view.nfact;

    if (h->bom && fwrite(csv_bom, 1, sizeof csv_bom - 1, fp) != sizeof csv_bom - 1)
        return write_failed(h);
    for (size_t i = 0; i < n; i++)
        if ((st = header_field(h, i, dr_pc_shown(args->columns[i].name))) != DR_PLUGIN_OK)
            return st;
    if (h->names && ((st = header_field(h, n, "principal_name")) != DR_PLUGIN_OK ||
                     (st = header_field(h, n + 1, "tenant_name")) != DR_PLUGIN_OK))
        return st;
    if (fwrite(h->eol, 1, h->eol_len, fp) != h->eol_len)
        return write_failed(h);
    return DR_PLUGIN_OK;
}

static dr_plugin_status csv_open(const dr_open_args *args, void **handle)
{
    dr_plugin_status st;
    csv_handle *h = NULL;

    if ((st = dr_pc_check_open(args, handle, "csv")) != DR_PLUGIN_OK)
        return st;
    if (args->path == NULL || (args->ncolumns > 0 && args->columns == NULL) ||
        (args->noptions > 0 && args->options == NULL)) {
        st = dr_plugin_error(args, DR_PLUGIN_EFAIL,
                             "csv: open arguments without path, columns or options");
        goto cleanup;
    }

    h = calloc(1, sizeof *h);
    if (h == NULL) {
        st = dr_plugin_error(args, DR_PLUGIN_ENOMEM, "csv: out of memory");
        goto cleanup;
    }
    h->args = args;
    dr_csv_format_init(&h->fmt);
    h->eol = "\r\n";
    h->eol_len = 2;
    h->bom = false;

    st = parse_options(args, h);
    if (st != DR_PLUGIN_OK)
        goto cleanup;
    if ((st = dr_pc_view_init(&h->view, args, "csv")) != DR_PLUGIN_OK)
        goto cleanup;
    if (h->names)
        h->tenant_name = dr_pc_view_tenant_name(&h->view, args, h->tenant_buf,
                                                sizeof h->tenant_buf);

    st = dr_pc_file_open(&h->out, args, "csv", "CSV", CSV_IOBUF_SIZE);
    if (st != DR_PLUGIN_OK)
        goto cleanup;

    st = write_header(h);
    if (st != DR_PLUGIN_OK)
        goto cleanup;

    *handle = h;
    h = NULL;

cleanup:
    csv_destroy(h);
    return st;
}

/* The text of a decimal with ',' for its '.', in h->cell; NULL when out of memory. */
static const char *decimal_comma(csv_handle *h, const char *text, size_t len)
{
    if (len + 1 > h->cell_cap) {
        size_t cap = len + 1 < 64 ? 64 : len + 1;
        char *p = realloc(h->cell, cap);
        if (p == NULL)
            return NULL;
        h->cell = p;
        h->cell_cap = cap;
    }
    for (size_t i = 0; i < len; i++)
        h->cell[i] = text[i] == '.' ? ',' : text[i];
    h->cell[len] = '\0';
    return h->cell;
}

/* "YYYY-MM-DD HH:MM:SS[.ffffff]": the wall-clock of @p ts (already in the report's zone),
   without its offset; the fraction only when there is one, without trailing zeros. */
static size_t local_timestamp(const dr_timestamp *ts, char *buf, size_t size)
{
    int n = snprintf(buf, size, "%04d-%02d-%02d %02d:%02d:%02d", ts->year, ts->month, ts->day,
                     ts->hour, ts->minute, ts->second);
    if (n > 0 && ts->microsecond > 0 && (size_t)n < size) {
        int us = ts->microsecond, digits = 6;
        while (us % 10 == 0) {
            us /= 10;
            digits--;
        }
        n += snprintf(buf + n, size - (size_t)n, ".%0*d", digits, us);
    }
    return n < 0 ? 0 : (size_t)n < size ? (size_t)n : size - 1;
}

/* One value of a fact column, as the options want it. */
static dr_plugin_status value_field(csv_handle *h, const dr_column *col, const dr_value *v)
{
    const char *text = v->text;
    size_t len = v->len;
    char ts[CSV_LOCAL_TS_SIZE];

    if (v->is_null)
        return DR_PLUGIN_OK;
    if (h->decimal_comma && col->type == DR_TYPE_DECIMAL) {
        if ((text = decimal_comma(h, v->text, v->len)) == NULL)
            return dr_plugin_error(h->args, DR_PLUGIN_ENOMEM, "csv: out of memory writing '%s'",
                                   dr_pc_shown(h->args->path));
    } else if (h->ts_local && col->type == DR_TYPE_TIMESTAMP) {
        len = local_timestamp(&v->ts, ts, sizeof ts);
        text = ts;
    }
    if (dr_csv_write_field(h->out.fp, &h->fmt, col->type, text, len) != 0)
        return write_failed(h);
    return DR_PLUGIN_OK;
}

/* One text field of names=true (NULL: an empty field). */
static dr_plugin_status name_field(csv_handle *h, const char *name)
{
    if (putc(h->fmt.delimiter, h->out.fp) == EOF)
        return write_failed(h);
    if (name != NULL &&
        dr_csv_write_field(h->out.fp, &h->fmt, DR_TYPE_TEXT, name, strlen(name)) != 0)
        return write_failed(h);
    return DR_PLUGIN_OK;
}

static dr_plugin_status csv_row(void *handle, const dr_value *values)
{
    csv_handle *h = handle;

    if (h == NULL)
        return DR_PLUGIN_EFAIL;
    if (h->out.fp == NULL)
        return dr_plugin_error(h->args, DR_PLUGIN_EFAIL, "csv: row after end for '%s'",
                               dr_pc_shown(h->args->path));
    if (values == NULL && h->args->ncolumns > 0)
        return dr_plugin_error(h->args, DR_PLUGIN_EFAIL, "csv: row without values");

    FILE *fp = h->out.fp;
    const dr_column *cols = h->args->columns;
    size_t n = h->view.nfact;
    dr_plugin_status st;

    if (!dr_pc_view_is_fact(&h->view, values))
        return DR_PLUGIN_OK; /* gone and total rows are the view's, not the fact table's */
    for (size_t i = 0; i < n; i++) {
        if (i > 0 && putc(h->fmt.delimiter, fp) == EOF)
            return write_failed(h);
        if ((st = value_field(h, &cols[i], &values[i])) != DR_PLUGIN_OK)
            return st;
    }
    if (h->names) {
        char buf[DR_PC_NAME_SIZE];
        if ((st = name_field(h, dr_pc_view_principal_name(&h->view, values, buf,
                                                          sizeof buf))) != DR_PLUGIN_OK ||
            (st = name_field(h, h->tenant_name)) != DR_PLUGIN_OK)
            return st;
    }
    if (fwrite(h->eol, 1, h->eol_len, fp) != h->eol_len)
        return write_failed(h);
    return DR_PLUGIN_OK;
}

static dr_plugin_status csv_end(void *handle)
{
    csv_handle *h = handle;

    if (h == NULL)
        return DR_PLUGIN_EFAIL;
    if (h->out.fp == NULL)
        return dr_plugin_error(h->args, DR_PLUGIN_EFAIL, "csv: end called twice for '%s'",
                               dr_pc_shown(h->args->path));
    return dr_pc_file_close(&h->out, h->args, "CSV");
}

/* ABI 1.1: the host checks options before any work; open() parses them again. */
static dr_plugin_status csv_check_options(const dr_open_args *args)
{
    return dr_pc_check_options(args, "csv", sizeof(csv_handle), parse_options);
}

/* ABI 1.3: only names=true needs the report view (its names); without it a host whose other
   outputs need no view reads the fact rows alone. */
static int csv_wants_view(const dr_open_args *args)
{
    return dr_pc_option_is_true(args, "names");
}

static const dr_plugin csv_descriptor = {
    .abi_major = DR_PLUGIN_ABI_MAJOR,
    .size = sizeof(dr_plugin),
    .name = "csv",
    .version = "1.0.0",
    .description = "CSV (RFC 4180) with a header row of column names; NULL as an empty field",
    .extension = "csv",
    .option_keys = csv_option_keys,
    .open = csv_open,
    .row = csv_row,
    .end = csv_end,
    .destroy = csv_destroy,
    .check_options = csv_check_options,
    .flags = DR_PLUGIN_WANTS_VIEW, /* ABI 1.2: for names=true; the rest ignores the view */
    .wants_view = csv_wants_view,  /* ABI 1.3 */
};

DR_PLUGIN_EXPORT const dr_plugin *dr_plugin_entry(void)
{
    return &csv_descriptor;
}
