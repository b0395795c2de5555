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
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <dynoreport/plugin.h>

#include "csv_escape.h"
#include "plugin_common.h"

#define CSV_IOBUF_SIZE (64u * 1024u)

static const char csv_bom[] = "\xEF\xBB\xBF";

typedef struct csv_handle {
    const dr_open_args *args; /* valid until destroy returns */
    dr_pc_file out;           /* the output file; out.fp NULL once closed */
    dr_csv_format fmt;
    const char *eol;          /* "\r\n" or "\n" */
    size_t eol_len;
    bool bom;
} csv_handle;

static const char *const csv_option_keys[] = {"delimiter", "bom", "line_ending",
                                              "formula_escape", "quote", NULL};

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
        } else {
            return dr_plugin_error(args, DR_PLUGIN_EOPTION,
                                   "unknown option 'csv.%s': expected one of csv.delimiter, "
                                   "csv.bom, csv.line_ending, csv.formula_escape, csv.quote",
                                   key);
        }
    }
    return DR_PLUGIN_OK;
}

static void csv_destroy(void *handle)
{
    csv_handle *h = handle;

    if (h == NULL)
        return;
    dr_pc_file_discard(&h->out); /* failure path: the host removes the temp file */
    free(h);
}

static dr_plugin_status write_header(csv_handle *h)
{
    const dr_open_args *args = h->args;
    FILE *fp = h->out.fp;

    if (h->bom && fwrite(csv_bom, 1, sizeof csv_bom - 1, fp) != sizeof csv_bom - 1)
        return write_failed(h);
    for (size_t i = 0; i < args->ncolumns; i++) {
        const char *name = dr_pc_shown(args->columns[i].name);
        if (i > 0 && putc(h->fmt.delimiter, fp) == EOF)
            return write_failed(h);
        if (dr_csv_write_field(fp, &h->fmt, DR_TYPE_TEXT, name, strlen(name)) != 0)
            return write_failed(h);
    }
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
    size_t n = h->args->ncolumns;

    for (size_t i = 0; i < n; i++) {
        const dr_value *v = &values[i];
        if (i > 0 && putc(h->fmt.delimiter, fp) == EOF)
            return write_failed(h);
        if (!v->is_null && dr_csv_write_field(fp, &h->fmt, cols[i].type, v->text, v->len) != 0)
            return write_failed(h);
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
};

DR_PLUGIN_EXPORT const dr_plugin *dr_plugin_entry(void)
{
    return &csv_descriptor;
}
