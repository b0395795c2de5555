/* What the built-in output plugins share: option words, messages, open checks, output files,
   the report view. */
#define _GNU_SOURCE /* dladdr */
#include "plugin_common.h"

#include <dlfcn.h>
#include <errno.h>
#include <stdio.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

const char *dr_pc_shown(const char *s)
{
    return s != NULL ? s : "";
}

int dr_pc_errno_or_eio(void)
{
    return errno != 0 ? errno : EIO;
}

static unsigned char ascii_lower(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') ? (unsigned char)(c - 'A' + 'a') : c;
}

bool dr_pc_word_eq(const char *a, const char *b)
{
    while (*a && *b && ascii_lower((unsigned char)*a) == ascii_lower((unsigned char)*b)) {
        a++;
        b++;
    }
    return *a == '\0' && *b == '\0';
}

int dr_pc_parse_bool(const char *value, bool *out)
{
    static const char *const yes[] = {"true", "yes", "on", "1"};
    static const char *const no[] = {"false", "no", "off", "0"};

    if (value == NULL)
        return -1;
    for (size_t i = 0; i < sizeof yes / sizeof yes[0]; i++) {
        if (dr_pc_word_eq(value, yes[i])) {
            *out = true;
            return 0;
        }
        if (dr_pc_word_eq(value, no[i])) {
            *out = false;
            return 0;
        }
    }
    return -1;
}

dr_plugin_status dr_pc_option_bool(const dr_open_args *args, const char *plugin, const char *key,
                                   const char *value, bool *out)
{
    if (dr_pc_parse_bool(value, out) != 0)
        return dr_plugin_error(args, DR_PLUGIN_EOPTION,
                               "invalid %s.%s '%s': expected true or false", plugin, key,
                               dr_pc_shown(value));
    return DR_PLUGIN_OK;
}

bool dr_pc_option_is_true(const dr_open_args *args, const char *key)
{
    bool on = false;
    for (size_t i = 0; i < args->noptions; i++)
        if (strcmp(args->options[i].key, key) == 0 && dr_pc_parse_bool(args->options[i].value, &on) != 0)
            on = true;
    return on;
}

dr_plugin_status dr_pc_check_open(const dr_open_args *args, void **handle, const char *plugin)
{
    if (handle == NULL || args == NULL)
        return dr_plugin_error(args, DR_PLUGIN_EFAIL, "%s: open called without arguments", plugin);
    *handle = NULL;
    if (args->abi_major != DR_PLUGIN_ABI_MAJOR || !DR_HAS_FIELD(args, dr_open_args, errbuf_size))
        return dr_plugin_error(args, DR_PLUGIN_EFAIL,
                               "%s: host open arguments of ABI %u size %u: expected ABI %d size "
                               "at least %zu",
                               plugin, (unsigned)args->abi_major, (unsigned)args->size,
                               DR_PLUGIN_ABI_MAJOR,
                               offsetof(dr_open_args, errbuf_size) + sizeof args->errbuf_size);
    return DR_PLUGIN_OK;
}

dr_plugin_status dr_pc_check_options(const dr_open_args *args, const char *plugin,
                                     size_t handle_size, dr_pc_parse_options_fn parse)
{
    void *scratch = calloc(1, handle_size);
    if (scratch == NULL)
        return dr_plugin_error(args, DR_PLUGIN_ENOMEM, "out of memory checking %s options",
                               plugin);
    dr_plugin_status st = parse(args, scratch);
    free(scratch);
    return st;
}

dr_plugin_status dr_pc_file_open(dr_pc_file *f, const dr_open_args *args, const char *plugin,
                                 const char *kind, size_t bufsize)
{
    f->iobuf = malloc(bufsize);
    if (f->iobuf == NULL)
        return dr_plugin_error(args, DR_PLUGIN_ENOMEM, "%s: out of memory", plugin);
    f->fp = fopen(args->path, "wb");
    if (f->fp == NULL) {
        int err = dr_pc_errno_or_eio();
        return dr_plugin_error(args, DR_PLUGIN_EIO, "cannot open %s file '%s': %s", kind,
                               args->path, strerror(err));
    }
    if (setvbuf(f->fp, f->iobuf, _IOFBF, bufsize) != 0)
        return dr_plugin_error(args, DR_PLUGIN_EFAIL, "%s: cannot set the buffer of '%s'", plugin,
                               args->path);
    return DR_PLUGIN_OK;
}

/* "cannot write <kind> file '<path>': <error>", the one message of a failed write. */
static dr_plugin_status write_error(const dr_open_args *args, const char *kind, int err)
{
    return dr_plugin_error(args, DR_PLUGIN_EIO, "cannot write %s file '%s': %s", kind,
                           dr_pc_shown(args->path), strerror(err));
}

dr_plugin_status dr_pc_file_write_failed(dr_pc_file *f, const dr_open_args *args, const char *kind)
{
    if (f->write_errno == 0)
        f->write_errno = dr_pc_errno_or_eio();
    return write_error(args, kind, f->write_errno);
}

dr_plugin_status dr_pc_file_close(dr_pc_file *f, const dr_open_args *args, const char *kind)
{
    FILE *fp = f->fp;
    int err = 0;

    f->fp = NULL; /* closed below whatever happens */
    errno = 0;
    if (fflush(fp) != 0)
        err = dr_pc_errno_or_eio();
    else if (ferror(fp))
        err = f->write_errno != 0 ? f->write_errno : EIO;
    /* no fsync here: the host syncs the file it created, through its own descriptor, before
       the commit (one sync for a job's whole batch of runs), and reports a failure */
    errno = 0;
    if (fclose(fp) != 0 && err == 0)
        err = dr_pc_errno_or_eio();

    return err != 0 ? write_error(args, kind, err) : DR_PLUGIN_OK;
}

void dr_pc_file_discard(dr_pc_file *f)
{
    if (f->fp != NULL)
        fclose(f->fp);
    f->fp = NULL;
    free(f->iobuf);
    f->iobuf = NULL;
}

size_t dr_pc_column_index(const dr_open_args *args, size_t from, size_t to, const char *name)
{
    for (size_t i = from; i < to && i < args->ncolumns; i++)
        if (args->columns[i].name != NULL && strcmp(args->columns[i].name, name) == 0)
            return i;
    return DR_PC_NO_COLUMN;
}

dr_plugin_status dr_pc_view_init(dr_pc_view *v, const dr_open_args *args, const char *plugin)
{
    const dr_report_view *view =
        DR_HAS_FIELD(args, dr_open_args, view) ? args->view : NULL;

    memset(v, 0, sizeof *v);
    if (view != NULL &&
        (view->abi_major != DR_PLUGIN_ABI_MAJOR ||
         !DR_HAS_FIELD(view, dr_report_view, nfact_columns) ||
         view->nfact_columns > args->ncolumns))
        return dr_plugin_error(args, DR_PLUGIN_EFAIL,
                               "%s: host report view of ABI %u size %u with %zu of %zu "
                               "columns: expected ABI %d size at least %zu, within the columns",
                               plugin, (unsigned)view->abi_major, (unsigned)view->size,
                               DR_HAS_FIELD(view, dr_report_view, nfact_columns)
                                   ? view->nfact_columns : (size_t)0,
                               args->ncolumns, DR_PLUGIN_ABI_MAJOR,
                               offsetof(dr_report_view, nfact_columns) +
                                   sizeof view->nfact_columns);
    v->view = view;
    v->nfact = view != NULL ? view->nfact_columns : args->ncolumns;
    v->col_type = dr_pc_column_index(args, 0, v->nfact, "principal_type");
    v->col_id = dr_pc_column_index(args, 0, v->nfact, "principal_id");
    v->col_kind = view ? dr_pc_column_index(args, v->nfact, args->ncolumns, "row_kind")
                       : DR_PC_NO_COLUMN;
    v->col_name = view ? dr_pc_column_index(args, v->nfact, args->ncolumns, "principal_name")
                       : DR_PC_NO_COLUMN;
    return DR_PLUGIN_OK;
}

/* The text of column @p col of a row, or NULL (no such column, or SQL NULL). */
static const char *cell_text(const dr_value *values, size_t col)
{
    if (col == DR_PC_NO_COLUMN || values[col].is_null)
        return NULL;
    return values[col].text;
}

bool dr_pc_view_is_fact(const dr_pc_view *v, const dr_value *values)
{
    if (v->view == NULL || v->col_kind == DR_PC_NO_COLUMN)
        return true;
    const char *kind = cell_text(values, v->col_kind);
    return kind != NULL && strcmp(kind, DR_ROW_PRINCIPAL) == 0;
}

const char *dr_pc_fallback_name(const char *word, const char *id, char *buf, size_t size)
{
    snprintf(buf, size, "[%s %.8s]", word, id);
    return buf;
}

const char *dr_pc_principal_word(const char *principal_type)
{
    if (principal_type != NULL && strcmp(principal_type, "USER") == 0)
        return "user";
    if (principal_type != NULL && strcmp(principal_type, "GROUP") == 0)
        return "team";
    return "principal";
}

const char *dr_pc_view_principal_name(const dr_pc_view *v, const dr_value *values, char *buf,
                                      size_t size)
{
    const char *name = cell_text(values, v->col_name);
    if (name != NULL)
        return name;
    const char *id = cell_text(values, v->col_id);
    if (id == NULL)
        return NULL;
    return dr_pc_fallback_name(dr_pc_principal_word(cell_text(values, v->col_type)), id, buf,
                               size);
}

const char *dr_pc_view_tenant_name(const dr_pc_view *v, const dr_open_args *args, char *buf,
                                   size_t size)
{
    if (v->view != NULL && v->view->tenant_name != NULL)
        return v->view->tenant_name;
    if (args->run == NULL || args->run->tenant_id == NULL)
        return NULL;
    return dr_pc_fallback_name("tenant", args->run->tenant_id, buf, size);
}

void dr_pc_pin_self(void *symbol)
{
    Dl_info info;
    /* the name it was loaded by (/proc/self/fd/N, open while the host calls the entry):
       RTLD_NOLOAD finds it, RTLD_NODELETE keeps it; the handle is never closed */
    if (dladdr(symbol, &info) && info.dli_fname)
        (void)dlopen(info.dli_fname, RTLD_NOW | RTLD_NOLOAD | RTLD_NODELETE);
}
