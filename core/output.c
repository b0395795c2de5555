/* The output side of a run: the output plan (plugins loaded and checked once) and the
   staged files of each run (temp files, plugin open/row/end, fsync, rename after commit). */
#include "output.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "plugin_host.h"
#include "report.h"

/* One format of the plan: its plugin and its options. */
typedef struct format {
    dr_loaded_plugin plugin;
    dr_option opts[DR_MAX_OPTS];
    char *optbuf[DR_MAX_OPTS];
    size_t nopts;
    const dr_log *log;
} format;

struct dr_output_plan {
    dr_output_request req;
    dr_plugin_path path;
    format formats[DR_MAX_FORMATS];
    size_t n;
    char formats_text[DR_MAX_FORMATS * 34];
};

/* One file of a run. */
typedef struct staged {
    format *fmt;
    void *handle;
    char final_path[PATH_MAX];
    char tmp_path[PATH_MAX];
    int tmp_created;
    char errbuf[1024];
    dr_open_args args;
} staged;

struct dr_output_files {
    dr_output_plan *plan;
    staged files[DR_MAX_FORMATS];
    size_t n;
};

/* The host side of plugin logging: the level is filtered by the host's verbosity. */
static void plugin_log(void *log_ctx, dr_log_level level, const char *message)
{
    static const char *const names[] = {"error", "warning", "info", "debug"};
    const format *f = log_ctx;
    char shown[1024];
    if ((unsigned)level > DR_LOG_DEBUG)
        level = DR_LOG_DEBUG;
    if (!dr_log_enabled(f->log, level))
        return;
    /* a plugin's text is third-party text that may echo option values: escape it */
    dr_printable_copy(message ? message : "", shown, sizeof shown);
    dr_log_msg(f->log, level, "%s: %s: %s", f->plugin.desc->name, names[level], shown);
}

/* Plugin status -> tool status, with the plugin's own sentence as the message. */
static dr_status plugin_failure(const format *f, const char *errbuf, size_t errbuf_size, dr_plugin_status ps,
                                const char *stage, dr_error *err)
{
    dr_status st = ps == DR_PLUGIN_EOPTION ? DR_EUSAGE
                 : ps == DR_PLUGIN_EIO     ? DR_EIO
                 : ps == DR_PLUGIN_ENOMEM  ? DR_ENOMEM
                                           : DR_EINTERNAL;
    char said[1024], shown[1024];
    /* the plugin's sentence often echoes an option value: escape it; and do not trust
       the plugin to have NUL-terminated the buffer */
    size_t n = errbuf_size < sizeof said ? errbuf_size : sizeof said;
    memcpy(said, errbuf, n);
    said[n - 1] = '\0';
    dr_printable_copy(said[0] ? said : "it gave no reason", shown, sizeof shown);
    return dr_fail(err, st, "plugin '%s' failed in %s: %s", f->plugin.desc->name, stage, shown);
}

static int key_allowed(const dr_plugin *d, const char *key)
{
    for (const char *const *k = d->option_keys; k && *k; k++)
        if (strcmp(*k, key) == 0)
            return 1;
    return 0;
}

/* Split "plugin.key=value" options onto the formats; options of other plugins are ignored. */
static dr_status assign_options(dr_output_plan *plan, dr_error *err)
{
    for (size_t i = 0; i < plan->req.nopts; i++) {
        const char *o = plan->req.opts[i];
        const char *dot = strchr(o, '.'), *eq = strchr(o, '=');
        char q[DR_QUOTE_SIZE];
        if (dot == NULL || eq == NULL || eq < dot || dot == o || eq == dot + 1)
            return dr_fail(err, DR_EUSAGE, "invalid --opt %s: expected PLUGIN.KEY=VALUE, e.g. csv.delimiter=;",
                           dr_quote(o, strlen(o), q, sizeof q));
        for (size_t s = 0; s < plan->n; s++) {
            format *f = &plan->formats[s];
            const dr_plugin *d = f->plugin.desc;
            if (strlen(d->name) != (size_t)(dot - o) || strncmp(d->name, o, (size_t)(dot - o)) != 0)
                continue;
            char *buf = strdup(dot + 1);
            if (buf == NULL)
                return dr_fail(err, DR_ENOMEM, "out of memory");
            buf[eq - dot - 1] = '\0';
            f->optbuf[f->nopts] = buf;
            if (!key_allowed(d, buf)) {
                char keys[512] = "";
                size_t used = 0;
                for (const char *const *k = d->option_keys; k && *k && used < sizeof keys; k++) {
                    int n = snprintf(keys + used, sizeof keys - used, "%s%s", used ? ", " : "", *k);
                    used += n > 0 ? (size_t)n : 0;
                }
                f->nopts++; /* so the buffer is freed */
                return dr_fail(err, DR_EUSAGE, "unknown option %s for format '%s': it accepts %s",
                               dr_quote(o, (size_t)(eq - o), q, sizeof q), d->name,
                               keys[0] ? keys : "no options");
            }
            /* a key given again (config, then command line) replaces the earlier value: a
               plugin sees each key once, with the most specific value */
            size_t slot = f->nopts;
            for (size_t j = 0; j < f->nopts; j++)
                if (strcmp(f->opts[j].key, buf) == 0)
                    slot = j;
            if (slot < f->nopts) {
                free(f->optbuf[slot]);
                f->optbuf[slot] = buf;
            } else {
                f->nopts++;
            }
            f->opts[slot].key = buf;
            f->opts[slot].value = buf + (eq - dot);
        }
    }
    return DR_OK;
}

static dr_status check_output_dir(const char *dir, dr_error *err)
{
    struct stat sb;
    char q[DR_QUOTE_SIZE];
    if (dir == NULL || *dir == '\0')
        return dr_fail(err, DR_EUSAGE, "the output directory is empty: expected --output-dir DIR");
    if (stat(dir, &sb) != 0)
        return dr_fail(err, DR_ECANTCREATE, "cannot use output directory %s: %s",
                       dr_quote(dir, strlen(dir), q, sizeof q), strerror(errno));
    if (!S_ISDIR(sb.st_mode))
        return dr_fail(err, DR_ECANTCREATE, "cannot use output directory %s: it is not a directory",
                       dr_quote(dir, strlen(dir), q, sizeof q));
    if (access(dir, W_OK | X_OK) != 0)
        return dr_fail(err, DR_ECANTCREATE, "cannot write into output directory %s: %s",
                       dr_quote(dir, strlen(dir), q, sizeof q), strerror(errno));
    return DR_OK;
}

/* ABI 1.1: plugins that can check their option values do so now, before the database
   is touched, so a bad value costs nothing. open() checks again (for 1.0 plugins). */
static dr_status check_options(dr_output_plan *plan, dr_error *err)
{
    for (size_t i = 0; i < plan->n; i++) {
        format *f = &plan->formats[i];
        const dr_plugin *d = f->plugin.desc;
        if (!DR_HAS_FIELD(d, dr_plugin, check_options) || d->check_options == NULL)
            continue;
        char errbuf[1024] = "";
        dr_open_args args = {
            .abi_major = DR_PLUGIN_ABI_MAJOR, .size = sizeof(dr_open_args), .options = f->opts,
            .noptions = f->nopts, .log = plugin_log, .log_ctx = f, .errbuf = errbuf,
            .errbuf_size = sizeof errbuf};
        dr_plugin_status ps = d->check_options(&args);
        if (ps != DR_PLUGIN_OK)
            return plugin_failure(f, errbuf, sizeof errbuf, ps, "its option check", err);
    }
    return DR_OK;
}

/* The template is checked with sample values now, so a bad one costs no database work. */
static dr_status check_template(const dr_output_plan *plan, dr_error *err)
{
    const char *tmpl = plan->req.name_template ? plan->req.name_template : DR_NAME_DEFAULT;
    for (size_t i = 0; i < plan->n; i++) {
        char name[256];
        dr_name_vars v = {DR_REPORT_NAME, "00000000-0000-0000-0000-000000000000", "2026-10",
                          "20261001T000000", "20261101T000000", "00000000-0000-0000-0000-000000000000",
                          "20261101T000000Z", plan->formats[i].plugin.desc->extension};
        dr_status st = dr_name_expand(tmpl, strlen(tmpl), &v, name, sizeof name, err);
        if (st != DR_OK)
            return st;
    }
    return DR_OK;
}

dr_status dr_output_plan_build(const dr_output_request *req, const dr_log *log, dr_output_plan **out,
                               dr_error *err)
{
    dr_status st = DR_OK;
    dr_output_plan *plan = NULL;
    *out = NULL;
    if (req->nformats == 0)
        return dr_fail(err, DR_EUSAGE, "no output format: expected --format csv,xlsx,json (any of them)");
    if ((plan = calloc(1, sizeof *plan)) == NULL)
        return dr_fail(err, DR_ENOMEM, "out of memory");
    plan->req = *req;
    dr_plugin_path_init(&plan->path, req->plugin_dir);
    for (size_t i = 0; i < req->nformats; i++) {
        for (size_t j = 0; j < i; j++)
            if (strcmp(req->formats[i], req->formats[j]) == 0) {
                st = dr_fail(err, DR_EUSAGE, "format '%s' is given twice in --format", req->formats[i]);
                goto cleanup;
            }
        format *f = &plan->formats[i];
        f->log = log;
        if ((st = dr_plugin_find(&plan->path, req->formats[i], &f->plugin, err)) != DR_OK)
            goto cleanup;
        plan->n++;
        size_t used = strlen(plan->formats_text);
        snprintf(plan->formats_text + used, sizeof plan->formats_text - used, "%s%s", i ? "," : "",
                 req->formats[i]);
    }
    if ((st = assign_options(plan, err)) != DR_OK || (st = check_options(plan, err)) != DR_OK ||
        (st = check_output_dir(req->output_dir, err)) != DR_OK || (st = check_template(plan, err)) != DR_OK)
        goto cleanup;
    *out = plan;
    plan = NULL;
cleanup:
    dr_output_plan_free(plan);
    return st;
}

void dr_output_plan_free(dr_output_plan *plan)
{
    if (plan == NULL)
        return;
    for (size_t i = 0; i < DR_MAX_FORMATS; i++) { /* a failed load leaves its slot empty */
        format *f = &plan->formats[i];
        for (size_t o = 0; o < f->nopts; o++)
            free(f->optbuf[o]);
        dr_plugin_unload(&f->plugin);
    }
    dr_plugin_path_free(&plan->path);
    free(plan);
}

size_t dr_output_plan_nformats(const dr_output_plan *plan)
{
    return plan->n;
}

const char *dr_output_plan_formats(const dr_output_plan *plan)
{
    return plan->formats_text;
}

/* Name every file, refuse two formats on one name, create the temporary files. */
static dr_status stage_files(dr_output_files *files, const dr_name_vars *vars, dr_error *err)
{
    const dr_output_request *req = &files->plan->req;
    const char *tmpl = req->name_template ? req->name_template : DR_NAME_DEFAULT;
    mode_t mask = umask(0);
    umask(mask);
    for (size_t i = 0; i < files->n; i++) {
        staged *s = &files->files[i];
        char name[256];
        dr_name_vars v = *vars;
        v.ext = s->fmt->plugin.desc->extension;
        dr_status st = dr_name_expand(tmpl, strlen(tmpl), &v, name, sizeof name, err);
        if (st != DR_OK)
            return st;
        if (snprintf(s->final_path, sizeof s->final_path, "%s/%s", req->output_dir, name) >=
                (int)sizeof s->final_path ||
            snprintf(s->tmp_path, sizeof s->tmp_path, "%s/.%s.tmp-XXXXXX", req->output_dir, name) >=
                (int)sizeof s->tmp_path)
            return dr_fail(err, DR_EUSAGE, "the output path for '%s' is too long", name);
        for (size_t j = 0; j < i; j++)
            if (strcmp(files->files[j].final_path, s->final_path) == 0)
                return dr_fail(err, DR_EUSAGE,
                               "formats '%s' and '%s' would both write '%s': put {ext} in --name",
                               files->files[j].fmt->plugin.desc->name, s->fmt->plugin.desc->name,
                               s->final_path);
        int fd = mkstemp(s->tmp_path);
        if (fd < 0)
            return dr_fail(err, DR_ECANTCREATE, "cannot create a file in '%s': %s", req->output_dir,
                           strerror(errno));
        s->tmp_created = 1;
        fchmod(fd, 0666 & ~mask);
        close(fd);
    }
    return DR_OK;
}

static dr_status open_plugins(dr_output_files *files, const dr_run_info *info, dr_error *err)
{
    for (size_t i = 0; i < files->n; i++) {
        staged *s = &files->files[i];
        s->args = (dr_open_args){
            .abi_major = DR_PLUGIN_ABI_MAJOR, .size = sizeof(dr_open_args), .run = info,
            .columns = dr_report_columns, .ncolumns = DR_REPORT_NCOLS, .path = s->tmp_path,
            .options = s->fmt->opts, .noptions = s->fmt->nopts, .log = plugin_log, .log_ctx = s->fmt,
            .errbuf = s->errbuf, .errbuf_size = sizeof s->errbuf};
        s->errbuf[0] = '\0';
        void *h = NULL;
        dr_plugin_status ps = s->fmt->plugin.desc->open(&s->args, &h);
        if (ps != DR_PLUGIN_OK) {
            if (h)
                s->fmt->plugin.desc->destroy(h);
            return plugin_failure(s->fmt, s->errbuf, sizeof s->errbuf, ps, "open", err);
        }
        s->handle = h;
    }
    return DR_OK;
}

dr_status dr_output_begin(dr_output_plan *plan, const dr_name_vars *vars, const dr_run_info *info,
                          dr_output_files **out, dr_error *err)
{
    dr_output_files *files = calloc(1, sizeof *files);
    dr_status st = DR_OK;
    *out = NULL;
    if (files == NULL)
        return dr_fail(err, DR_ENOMEM, "out of memory");
    files->plan = plan;
    files->n = plan->n;
    for (size_t i = 0; i < plan->n; i++)
        files->files[i].fmt = &plan->formats[i];
    if ((st = stage_files(files, vars, err)) != DR_OK || (st = open_plugins(files, info, err)) != DR_OK)
        goto cleanup;
    *out = files;
    files = NULL;
cleanup:
    dr_output_files_free(files);
    return st;
}

dr_status dr_output_row(dr_output_files *files, const dr_value *values, dr_error *err)
{
    for (size_t i = 0; i < files->n; i++) {
        staged *s = &files->files[i];
        dr_plugin_status ps = s->fmt->plugin.desc->row(s->handle, values);
        if (ps != DR_PLUGIN_OK)
            return plugin_failure(s->fmt, s->errbuf, sizeof s->errbuf, ps, "row", err);
    }
    return DR_OK;
}

dr_status dr_output_finish(dr_output_files *files, dr_error *err)
{
    for (size_t i = 0; i < files->n; i++) {
        staged *s = &files->files[i];
        dr_plugin_status ps = s->fmt->plugin.desc->end(s->handle);
        if (ps != DR_PLUGIN_OK)
            return plugin_failure(s->fmt, s->errbuf, sizeof s->errbuf, ps, "end", err);
        int fd = open(s->tmp_path, O_RDONLY);
        if (fd < 0 || fsync(fd) != 0) {
            int e = errno;
            if (fd >= 0)
                close(fd);
            return dr_fail(err, DR_EIO, "cannot save '%s': %s", s->tmp_path, strerror(e));
        }
        close(fd);
    }
    return DR_OK;
}

dr_status dr_output_publish(dr_output_files *files, const char *run_id, const dr_log *log, dr_error *err)
{
    dr_status st = DR_OK;
    for (size_t i = 0; i < files->n; i++) {
        staged *s = &files->files[i];
        if (rename(s->tmp_path, s->final_path) != 0) {
            st = dr_fail(err, DR_EIO, "run %s is saved, but '%s' could not be put in place: %s "
                         "(rebuild it with 'dynoreport export --run-id %s')",
                         run_id, s->final_path, strerror(errno), run_id);
            continue;
        }
        s->tmp_created = 0;
        dr_log_result(log, s->final_path);
    }
    int dfd = open(files->plan->req.output_dir, O_RDONLY | O_DIRECTORY);
    if (dfd >= 0) {
        fsync(dfd);
        close(dfd);
    }
    return st;
}

void dr_output_files_free(dr_output_files *files)
{
    if (files == NULL)
        return;
    for (size_t i = 0; i < files->n; i++) {
        staged *s = &files->files[i];
        if (s->handle)
            s->fmt->plugin.desc->destroy(s->handle);
        if (s->tmp_created)
            unlink(s->tmp_path);
    }
    free(files);
}
