/*
 * A complete dynoreport output plugin: writes the report as a Markdown table.
 *
 * Build it on its own, with nothing but the public header:
 *     cc -std=c11 -Wall -Wextra -fPIC -shared -I/usr/include -o markdown.so markdown.c
 * then drop markdown.so into a directory and run
 *     dynoreport run ... --plugin-dir DIR --format markdown
 */
#include <dynoreport/plugin.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* Everything the plugin needs lives in its handle: no globals. */
typedef struct md_handle {
    const dr_open_args *args; /* valid until destroy: used to report errors */
    FILE *out;
    int labels;               /* option markdown.labels=true: header shows labels */
} md_handle;

static const char *const md_option_keys[] = {"labels", NULL};

/* One cell: '|' and line breaks would break the table, so they are escaped. */
static int md_cell(FILE *out, const char *text)
{
    if (fputs(" ", out) == EOF)
        return -1;
    for (const char *p = text; p && *p; p++) {
        int rc = *p == '|' ? fputs("\\|", out) : (*p == '\n' || *p == '\r') ? fputs(" ", out)
                                                                            : fputc(*p, out);
        if (rc == EOF)
            return -1;
    }
    return fputs(" |", out) == EOF ? -1 : 0;
}

/* Option markdown.labels: true or false (default false). */
static dr_plugin_status md_labels(const dr_open_args *args, int *labels)
{
    const char *value = dr_plugin_option(args, "labels");
    if (value && strcmp(value, "true") != 0 && strcmp(value, "false") != 0)
        return dr_plugin_error(args, DR_PLUGIN_EOPTION,
                               "invalid markdown.labels '%s': expected true or false", value);
    *labels = value && strcmp(value, "true") == 0;
    return DR_PLUGIN_OK;
}

/* ABI 1.1: a 1.1 host calls this before it touches the database, so a bad option costs
   nothing. A 1.0 host never calls it: md_open checks the options again. */
static dr_plugin_status md_check(const dr_open_args *args)
{
    int labels;
    return md_labels(args, &labels);
}

static dr_plugin_status md_open(const dr_open_args *args, void **handle)
{
    int labels;
    dr_plugin_status checked = md_labels(args, &labels);
    if (checked != DR_PLUGIN_OK)
        return checked;
    md_handle *h = calloc(1, sizeof *h);
    if (h == NULL)
        return dr_plugin_error(args, DR_PLUGIN_ENOMEM, "out of memory");
    h->args = args;
    h->labels = labels;
    h->out = fopen(args->path, "wb");
    if (h->out == NULL) {
        dr_plugin_status st = dr_plugin_error(args, DR_PLUGIN_EIO, "cannot open '%s': %s",
                                              args->path, strerror(errno));
        free(h);
        return st;
    }
    *handle = h;
    int bad = fprintf(h->out, "# %s %s (%s)\n\n|", args->run->report, args->run->period_label,
                      args->run->time_zone) < 0;
    for (size_t i = 0; i < args->ncolumns && !bad; i++)
        bad = md_cell(h->out, h->labels ? args->columns[i].label : args->columns[i].name) != 0;
    bad = bad || fputs("\n|", h->out) == EOF;
    for (size_t i = 0; i < args->ncolumns && !bad; i++) {
        dr_type t = args->columns[i].type;
        int numeric = t == DR_TYPE_INT64 || t == DR_TYPE_DECIMAL;
        bad = fputs(numeric ? " ---: |" : " --- |", h->out) == EOF;
    }
    bad = bad || fputs("\n", h->out) == EOF;
    if (bad)
        return dr_plugin_error(args, DR_PLUGIN_EIO, "cannot write '%s': %s", args->path, strerror(errno));
    return DR_PLUGIN_OK;
}

static dr_plugin_status md_row(void *handle, const dr_value *values)
{
    md_handle *h = handle;
    int bad = fputs("|", h->out) == EOF;
    for (size_t i = 0; i < h->args->ncolumns && !bad; i++)
        bad = md_cell(h->out, values[i].is_null ? "" : values[i].text) != 0;
    if (bad || fputs("\n", h->out) == EOF)
        return dr_plugin_error(h->args, DR_PLUGIN_EIO, "cannot write '%s': %s", h->args->path,
                               strerror(errno));
    return DR_PLUGIN_OK;
}

static dr_plugin_status md_end(void *handle)
{
    md_handle *h = handle;
    int bad = fflush(h->out) != 0 || ferror(h->out);
    bad |= fclose(h->out) != 0;
    h->out = NULL;
    if (bad)
        return dr_plugin_error(h->args, DR_PLUGIN_EIO, "cannot finish '%s': %s", h->args->path,
                               strerror(errno));
    return DR_PLUGIN_OK;
}

static void md_destroy(void *handle)
{
    md_handle *h = handle;
    if (h && h->out)
        fclose(h->out);
    free(h);
}

static const dr_plugin md_plugin = {
    .abi_major = DR_PLUGIN_ABI_MAJOR,
    .size = sizeof(dr_plugin),
    .name = "markdown",
    .version = "1.0.0",
    .description = "Markdown table (example plugin from docs/plugin-sdk.md)",
    .extension = "md",
    .option_keys = md_option_keys,
    .open = md_open,
    .row = md_row,
    .end = md_end,
    .destroy = md_destroy,
    .check_options = md_check, /* ABI 1.1: appended, optional */
};

DR_PLUGIN_EXPORT const dr_plugin *dr_plugin_entry(void)
{
    return &md_plugin;
}
