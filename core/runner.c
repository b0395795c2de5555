#include "runner.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "name_template.h"
#include "odbc.h"
#include "plugin_host.h"
#include "report.h"
#include "schema.h"
#include "sql_embedded.h"

#ifndef DR_VERSION
#define DR_VERSION "0"
#endif

/* Rows fetched per round trip (ODBC row array). */
#define DR_FETCH_BATCH 1000

/* One output format of a run: its plugin, its options, its files. */
typedef struct sink {
    dr_loaded_plugin plugin;
    void *handle;
    dr_option opts[DR_MAX_OPTS];
    char *optbuf[DR_MAX_OPTS];
    size_t nopts;
    char final_path[PATH_MAX];
    char tmp_path[PATH_MAX];
    int tmp_created;
    char errbuf[1024];
    dr_open_args args;
} sink;

/* Metadata of the run being written, as text; dr_run_info points into it. */
typedef struct run_meta {
    char run_id[64], tenant[64], period_label[64], start[64], end[64], generated[64];
    char from_c[32], to_c[32], generated_c[32], tz[128];
    char *principals; /* "all" or the comma list */
} run_meta;

typedef struct run_ctx {
    const dr_output_request *out;
    dr_interrupt *intr;
    dr_plugin_path path;
    sink sinks[DR_MAX_FORMATS];
    size_t nsinks;
    run_meta meta;
    dr_run_info info;
    dr_db *db;
    int published; /* past the commit (or the --no-persist rollback): files go in place */
} run_ctx;

dr_status dr_tz_check(const char *tz, dr_error *err)
{
    size_t n = tz ? strlen(tz) : 0;
    int ok = n > 0 && n <= 64 && ((tz[0] >= 'A' && tz[0] <= 'Z') || (tz[0] >= 'a' && tz[0] <= 'z'));
    for (size_t i = 0; ok && i < n; i++) {
        char c = tz[i];
        ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' ||
             c == '+' || c == '-' || c == '/';
    }
    if (!ok) {
        char q[128];
        return dr_fail(err, DR_EUSAGE, "invalid time zone %s: expected an IANA name such as "
                       "Europe/Berlin, America/New_York or UTC", dr_quote(tz ? tz : "", n, q, sizeof q));
    }
    return DR_OK;
}

void dr_interrupt_init(dr_interrupt *intr)
{
    intr->signal = 0;
    intr->db = NULL;
    pthread_mutex_init(&intr->lock, NULL);
}

void dr_interrupt_raise(dr_interrupt *intr, int sig)
{
    pthread_mutex_lock(&intr->lock);
    intr->signal = sig;
    dr_db_cancel(intr->db);
    pthread_mutex_unlock(&intr->lock);
}

/* Tell the signal watcher which connection to cancel (NULL before closing it). */
static void interrupt_watch(dr_interrupt *intr, dr_db *db)
{
    if (intr == NULL)
        return;
    pthread_mutex_lock(&intr->lock);
    intr->db = db;
    pthread_mutex_unlock(&intr->lock);
}

static dr_status interrupted(const run_ctx *ctx, dr_error *err)
{
    int sig = ctx->intr ? ctx->intr->signal : 0;
    if (sig == 0)
        return DR_OK;
    dr_status st = dr_fail(err, DR_EINTERRUPTED, "interrupted by signal %d: nothing was saved or written", sig);
    if (err)
        err->signal = sig;
    return st;
}

/* A signal that cut a run short is what happened, whatever failed on the way (a
   cancelled statement says "canceling statement due to user request"): say so. */
static dr_status interrupted_wins(const run_ctx *ctx, dr_status st, dr_error *err)
{
    if (st == DR_OK || st == DR_EINTERRUPTED || ctx->published || !ctx->intr || !ctx->intr->signal)
        return st;
    dr_error_clear(err);
    return interrupted(ctx, err);
}

/* The host side of plugin logging: one line on stderr, prefixed with the format. */
static void plugin_log(void *log_ctx, dr_log_level level, const char *message)
{
    static const char *const names[] = {"error", "warning", "info", "debug"};
    const sink *s = log_ctx;
    char shown[1024];
    if ((unsigned)level > DR_LOG_DEBUG)
        level = DR_LOG_DEBUG;
    /* a plugin's text is third-party text that may echo option values: escape it */
    dr_printable_copy(message ? message : "", shown, sizeof shown);
    if (level <= DR_LOG_INFO)
        fprintf(stderr, "dynoreport: %s: %s: %s\n", s->plugin.desc->name, names[level], shown);
}

/* Plugin status -> tool status, with the plugin's own sentence as the message. */
static dr_status plugin_failure(const sink *s, dr_plugin_status ps, const char *stage, dr_error *err)
{
    dr_status st = ps == DR_PLUGIN_EOPTION ? DR_EUSAGE
                 : ps == DR_PLUGIN_EIO     ? DR_EIO
                 : ps == DR_PLUGIN_ENOMEM  ? DR_ENOMEM
                                           : DR_EINTERNAL;
    char said[sizeof s->errbuf], shown[1024];
    /* the plugin's sentence often echoes an option value: escape it; and do not trust
       the plugin to have NUL-terminated the buffer */
    memcpy(said, s->errbuf, sizeof said);
    said[sizeof said - 1] = '\0';
    dr_printable_copy(said[0] ? said : "it gave no reason", shown, sizeof shown);
    return dr_fail(err, st, "plugin '%s' failed in %s: %s", s->plugin.desc->name, stage, shown);
}

static int key_allowed(const dr_plugin *d, const char *key)
{
    for (const char *const *k = d->option_keys; k && *k; k++)
        if (strcmp(*k, key) == 0)
            return 1;
    return 0;
}

/* Split "plugin.key=value" options onto the sinks; options of other plugins are ignored. */
static dr_status sinks_assign_options(run_ctx *ctx, dr_error *err)
{
    for (size_t i = 0; i < ctx->out->nopts; i++) {
        const char *o = ctx->out->opts[i];
        const char *dot = strchr(o, '.'), *eq = strchr(o, '=');
        char q[128];
        if (dot == NULL || eq == NULL || eq < dot || dot == o || eq == dot + 1)
            return dr_fail(err, DR_EUSAGE, "invalid --opt %s: expected PLUGIN.KEY=VALUE, e.g. csv.delimiter=;",
                           dr_quote(o, strlen(o), q, sizeof q));
        for (size_t s = 0; s < ctx->nsinks; s++) {
            sink *sk = &ctx->sinks[s];
            const dr_plugin *d = sk->plugin.desc;
            if (strlen(d->name) != (size_t)(dot - o) || strncmp(d->name, o, (size_t)(dot - o)) != 0)
                continue;
            char *buf = strdup(dot + 1);
            if (buf == NULL)
                return dr_fail(err, DR_ENOMEM, "out of memory");
            buf[eq - dot - 1] = '\0';
            sk->optbuf[sk->nopts] = buf;
            if (!key_allowed(d, buf)) {
                char keys[512] = "";
                size_t used = 0;
                for (const char *const *k = d->option_keys; k && *k && used < sizeof keys; k++) {
                    int n = snprintf(keys + used, sizeof keys - used, "%s%s", used ? ", " : "", *k);
                    used += n > 0 ? (size_t)n : 0;
                }
                sk->nopts++; /* so the buffer is freed */
                return dr_fail(err, DR_EUSAGE, "unknown option %s for format '%s': it accepts %s",
                               dr_quote(o, (size_t)(eq - o), q, sizeof q), d->name,
                               keys[0] ? keys : "no options");
            }
            sk->opts[sk->nopts].key = buf;
            sk->opts[sk->nopts].value = buf + (eq - dot);
            sk->nopts++;
        }
    }
    return DR_OK;
}

static dr_status check_output_dir(const char *dir, dr_error *err)
{
    struct stat sb;
    char q[128];
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
static dr_status sinks_check_options(run_ctx *ctx, dr_error *err)
{
    for (size_t i = 0; i < ctx->nsinks; i++) {
        sink *s = &ctx->sinks[i];
        const dr_plugin *d = s->plugin.desc;
        if (!DR_PLUGIN_HAS(d, check_options) || d->check_options == NULL)
            continue;
        s->args = (dr_open_args){
            .abi_major = DR_PLUGIN_ABI_MAJOR, .size = sizeof(dr_open_args), .options = s->opts,
            .noptions = s->nopts, .log = plugin_log, .log_ctx = s, .errbuf = s->errbuf,
            .errbuf_size = sizeof s->errbuf};
        s->errbuf[0] = '\0';
        dr_plugin_status ps = d->check_options(&s->args);
        if (ps != DR_PLUGIN_OK)
            return plugin_failure(s, ps, "its option check", err);
    }
    return DR_OK;
}

/* Load every format's plugin and check options, template and directory. */
static dr_status sinks_load(run_ctx *ctx, dr_error *err)
{
    const dr_output_request *out = ctx->out;
    dr_status st = DR_OK;
    if (out->nformats == 0)
        return dr_fail(err, DR_EUSAGE, "no output format: expected --format csv,xlsx,json (any of them)");
    dr_plugin_path_init(&ctx->path, out->plugin_dir);
    for (size_t i = 0; i < out->nformats && st == DR_OK; i++) {
        for (size_t j = 0; j < i; j++)
            if (strcmp(out->formats[i], out->formats[j]) == 0)
                return dr_fail(err, DR_EUSAGE, "format '%s' is given twice in --format", out->formats[i]);
        st = dr_plugin_find(&ctx->path, out->formats[i], &ctx->sinks[i].plugin, err);
        if (st == DR_OK)
            ctx->nsinks++;
    }
    if (st == DR_OK)
        st = sinks_assign_options(ctx, err);
    if (st == DR_OK)
        st = sinks_check_options(ctx, err);
    if (st == DR_OK)
        st = check_output_dir(out->output_dir, err);
    /* The template is checked with sample values now, so a bad one costs no database work. */
    for (size_t i = 0; st == DR_OK && i < ctx->nsinks; i++) {
        char name[256];
        const char *tmpl = out->name_template ? out->name_template : DR_NAME_DEFAULT;
        dr_name_vars v = {DR_REPORT_NAME, "00000000-0000-0000-0000-000000000000", "2026-10",
                          "20261001T000000", "20261101T000000", "00000000-0000-0000-0000-000000000000",
                          "20261101T000000Z", ctx->sinks[i].plugin.desc->extension};
        st = dr_name_expand(tmpl, strlen(tmpl), &v, name, sizeof name, err);
    }
    return st;
}

/* Name every file, refuse two formats on one name, create the temporary files. */
static dr_status sinks_prepare_files(run_ctx *ctx, dr_error *err)
{
    const char *tmpl = ctx->out->name_template ? ctx->out->name_template : DR_NAME_DEFAULT;
    mode_t mask = umask(0);
    umask(mask);
    for (size_t i = 0; i < ctx->nsinks; i++) {
        sink *s = &ctx->sinks[i];
        char name[256];
        dr_name_vars v = {DR_REPORT_NAME, ctx->meta.tenant, ctx->meta.period_label, ctx->meta.from_c,
                          ctx->meta.to_c, ctx->meta.run_id, ctx->meta.generated_c,
                          s->plugin.desc->extension};
        dr_status st = dr_name_expand(tmpl, strlen(tmpl), &v, name, sizeof name, err);
        if (st != DR_OK)
            return st;
        if (snprintf(s->final_path, sizeof s->final_path, "%s/%s", ctx->out->output_dir, name) >=
                (int)sizeof s->final_path ||
            snprintf(s->tmp_path, sizeof s->tmp_path, "%s/.%s.tmp-XXXXXX", ctx->out->output_dir, name) >=
                (int)sizeof s->tmp_path)
            return dr_fail(err, DR_EUSAGE, "the output path for '%s' is too long", name);
        for (size_t j = 0; j < i; j++)
            if (strcmp(ctx->sinks[j].final_path, s->final_path) == 0)
                return dr_fail(err, DR_EUSAGE,
                               "formats '%s' and '%s' would both write '%s': put {ext} in --name",
                               ctx->sinks[j].plugin.desc->name, s->plugin.desc->name, s->final_path);
        int fd = mkstemp(s->tmp_path);
        if (fd < 0)
            return dr_fail(err, DR_ECANTCREATE, "cannot create a file in '%s': %s", ctx->out->output_dir,
                           strerror(errno));
        s->tmp_created = 1;
        fchmod(fd, 0666 & ~mask);
        close(fd);
    }
    return DR_OK;
}

static dr_status sinks_open(run_ctx *ctx, dr_error *err)
{
    for (size_t i = 0; i < ctx->nsinks; i++) {
        sink *s = &ctx->sinks[i];
        s->args = (dr_open_args){
            .abi_major = DR_PLUGIN_ABI_MAJOR, .size = sizeof(dr_open_args), .run = &ctx->info,
            .columns = dr_report_columns, .ncolumns = DR_REPORT_NCOLS, .path = s->tmp_path,
            .options = s->opts, .noptions = s->nopts, .log = plugin_log, .log_ctx = s,
            .errbuf = s->errbuf, .errbuf_size = sizeof s->errbuf};
        s->errbuf[0] = '\0';
        void *h = NULL;
        dr_plugin_status ps = s->plugin.desc->open(&s->args, &h);
        if (ps != DR_PLUGIN_OK) {
            if (h)
                s->plugin.desc->destroy(h);
            return plugin_failure(s, ps, "open", err);
        }
        s->handle = h;
    }
    return DR_OK;
}

/* Read the run's fact rows once and hand each row to every sink. */
static dr_status sinks_feed(run_ctx *ctx, long *nrows, dr_error *err)
{
    dr_cursor *cur = NULL;
    dr_param p[] = {{"run_id", ctx->meta.run_id}};
    *nrows = 0;
    dr_status st = dr_db_query_named(ctx->db, dr_sql_report_read, p, 1, DR_FETCH_BATCH, &cur, err);
    if (st != DR_OK)
        return st;
    if (dr_cursor_ncols(cur) != DR_REPORT_NCOLS) {
        dr_cursor_close(cur);
        return dr_fail(err, DR_EINTERNAL, "the report query returned %zu columns, expected %d",
                       dr_cursor_ncols(cur), DR_REPORT_NCOLS);
    }
    const char *text[DR_REPORT_NCOLS];
    size_t lens[DR_REPORT_NCOLS];
    dr_value values[DR_REPORT_NCOLS];
    for (;;) {
        int has = 0;
        if ((st = interrupted(ctx, err)) != DR_OK)
            break;
        if ((st = dr_cursor_next(cur, &has, text, lens, err)) != DR_OK || !has)
            break;
        for (size_t c = 0; c < DR_REPORT_NCOLS && st == DR_OK; c++)
            st = dr_value_from_text(&dr_report_columns[c], text[c], lens[c], &values[c], err);
        for (size_t i = 0; i < ctx->nsinks && st == DR_OK; i++) {
            sink *s = &ctx->sinks[i];
            dr_plugin_status ps = s->plugin.desc->row(s->handle, values);
            if (ps != DR_PLUGIN_OK)
                st = plugin_failure(s, ps, "row", err);
        }
        if (st != DR_OK)
            break;
        (*nrows)++;
    }
    dr_cursor_close(cur);
    return st;
}

/* Finish each file and make its bytes durable before the commit. */
static dr_status sinks_end(run_ctx *ctx, dr_error *err)
{
    for (size_t i = 0; i < ctx->nsinks; i++) {
        sink *s = &ctx->sinks[i];
        dr_plugin_status ps = s->plugin.desc->end(s->handle);
        if (ps != DR_PLUGIN_OK)
            return plugin_failure(s, ps, "end", err);
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

/* After the commit: rename every file into place, then sync the directory. */
static dr_status sinks_publish(run_ctx *ctx, FILE *out_stream, dr_error *err)
{
    dr_status st = DR_OK;
    for (size_t i = 0; i < ctx->nsinks; i++) {
        sink *s = &ctx->sinks[i];
        if (rename(s->tmp_path, s->final_path) != 0) {
            st = dr_fail(err, DR_EIO, "run %s is saved, but '%s' could not be put in place: %s "
                         "(rebuild it with 'dynoreport export --run-id %s')",
                         ctx->meta.run_id, s->final_path, strerror(errno), ctx->meta.run_id);
            continue;
        }
        s->tmp_created = 0;
        fprintf(out_stream, "%s\n", s->final_path);
    }
    int dfd = open(ctx->out->output_dir, O_RDONLY | O_DIRECTORY);
    if (dfd >= 0) {
        fsync(dfd);
        close(dfd);
    }
    fflush(out_stream);
    return st;
}

static void ctx_free(run_ctx *ctx)
{
    for (size_t i = 0; i < DR_MAX_FORMATS; i++) { /* a failed load leaves its slot empty */
        sink *s = &ctx->sinks[i];
        if (s->handle && s->plugin.desc)
            s->plugin.desc->destroy(s->handle);
        s->handle = NULL;
        if (s->tmp_created)
            unlink(s->tmp_path);
        s->tmp_created = 0;
        for (size_t o = 0; o < s->nopts; o++)
            free(s->optbuf[o]);
        s->nopts = 0;
        dr_plugin_unload(&s->plugin);
    }
    interrupt_watch(ctx->intr, NULL);
    dr_db_close(ctx->db);
    ctx->db = NULL;
    dr_plugin_path_free(&ctx->path);
    free(ctx->meta.principals);
}

static void info_from_meta(run_ctx *ctx)
{
    run_meta *m = &ctx->meta;
    ctx->info = (dr_run_info){
        .abi_major = DR_PLUGIN_ABI_MAJOR, .size = sizeof(dr_run_info), .report = DR_REPORT_NAME,
        .run_id = m->run_id, .tenant_id = m->tenant, .period_label = m->period_label,
        .period_start = m->start, .period_end = m->end, .time_zone = m->tz,
        .generated_at = m->generated, .principals = m->principals ? m->principals : "all",
        .tool_version = DR_VERSION};
}

static dr_status connect_checked(run_ctx *ctx, const char *connstr, dr_error *err)
{
    dr_status st = dr_db_connect(connstr, &ctx->db, err);
    if (st != DR_OK)
        return st;
    interrupt_watch(ctx->intr, ctx->db);
    return dr_schema_check(ctx->db, err);
}

/* Make the report's zone the transaction's zone, so every timestamp is written in it. */
static dr_status set_zone(run_ctx *ctx, const char *tz, dr_error *err)
{
    dr_param p[] = {{"tz", tz}};
    char q[DR_QUOTE_SIZE];
    int known = 1;
    dr_status st = DR_OK;
    /* A POSIX zone string ('UTC+3', 'EST5EDT') always holds a digit and means something
       people do not expect (UTC+3 is three hours *behind* UTC): names with digits must be
       in the zone database itself ('Etc/GMT+3' is). Plain names skip that 50 ms lookup. */
    if (strpbrk(tz, "0123456789")) {
        char count[24] = "0";
        char *const dst[1] = {count};
        const size_t size[1] = {sizeof count};
        st = dr_db_fetch_row_named(ctx->db,
                                   "SELECT count(*) FROM pg_catalog.pg_timezone_names WHERE name = :tz",
                                   p, 1, dst, size, 1, &known, err);
        known = known && strcmp(count, "0") != 0;
    }
    if (st == DR_OK && known) {
        dr_error e = {0};
        st = dr_db_exec_named(ctx->db, "SELECT set_config('TimeZone', :tz, true)", p, 1, NULL, &e);
        if (st != DR_OK && strcmp(e.sqlstate, "22023") != 0)
            return dr_fail(err, st, "%s", e.msg);
        known = st == DR_OK;
        st = DR_OK;
    }
    if (!known)
        return dr_fail(err, DR_EUSAGE, "unknown time zone %s: expected an IANA name such as "
                       "Europe/Berlin, America/New_York or UTC", dr_quote(tz, strlen(tz), q, sizeof q));
    return st;
}

/* SQL computing the period's bounds in the report's zone, the run id and the name tokens. */
static const char resolve_sql[] =
    "SELECT gen_random_uuid()::text, dyno_crm.dynoreport_iso8601(s), dyno_crm.dynoreport_iso8601(e),"
    " dyno_crm.dynoreport_iso8601(now()),"
    " CASE WHEN :range = '1' THEN to_char(s, 'YYYYMMDD\"T\"HH24MISS') || '_' || to_char(e, 'YYYYMMDD\"T\"HH24MISS')"
    "      WHEN :field = 'day' THEN to_char(s, 'YYYY-MM-DD')"
    "      WHEN :field = 'week' THEN to_char(s, 'IYYY-\"W\"IW')"
    "      WHEN :field = 'month' THEN to_char(s, 'YYYY-MM')"
    "      WHEN :field = 'quarter' THEN to_char(s, 'YYYY-\"Q\"Q')"
    "      ELSE to_char(s, 'YYYY') END,"
    " to_char(s, 'YYYYMMDD\"T\"HH24MISS'), to_char(e, 'YYYYMMDD\"T\"HH24MISS'),"
    " to_char(now() AT TIME ZONE 'UTC', 'YYYYMMDD\"T\"HH24MISS\"Z\"'),"
    " CASE WHEN e > s THEN '1' ELSE '0' END "
    "FROM (SELECT CASE WHEN :range = '1' THEN"
    "               CASE WHEN :from_off = '' THEN :from_local::timestamp AT TIME ZONE :tz"
    "                    ELSE (:from_local || :from_off)::timestamptz END"
    "             ELSE b AT TIME ZONE :tz END AS s,"
    "             CASE WHEN :range = '1' THEN"
    "               CASE WHEN :to_off = '' THEN :to_local::timestamp AT TIME ZONE :tz"
    "                    ELSE (:to_local || :to_off)::timestamptz END"
    "             ELSE (b + :interval::interval) AT TIME ZONE :tz END AS e"
    "      FROM (SELECT CASE WHEN :relative = '1'"
    "                   THEN date_trunc(:field, now() AT TIME ZONE :tz) + :offset::integer * :interval::interval"
    "                   ELSE :anchor::timestamp END AS b) AS base) AS bounds";

static dr_status resolve_period(run_ctx *ctx, const dr_run_request *req, dr_error *err)
{
    char offset[8];
    snprintf(offset, sizeof offset, "%d", req->period.offset);
    dr_param p[] = {
        {"range", req->has_range ? "1" : "0"},
        {"relative", req->period.relative ? "1" : "0"},
        {"field", dr_period_unit_field(req->period.unit)},
        {"interval", dr_period_unit_interval(req->period.unit)},
        {"offset", offset},
        {"anchor", req->has_range || req->period.relative ? NULL : req->period.anchor},
        {"tz", req->tz},
        {"from_local", req->has_range ? req->from.local : NULL},
        {"from_off", req->from.offset},
        {"to_local", req->has_range ? req->to.local : NULL},
        {"to_off", req->to.offset},
    };
    run_meta *m = &ctx->meta;
    char ordered[8];
    char *const dst[9] = {m->run_id, m->start, m->end, m->generated, m->period_label,
                          m->from_c, m->to_c, m->generated_c, ordered};
    const size_t size[9] = {sizeof m->run_id, sizeof m->start, sizeof m->end, sizeof m->generated,
                            sizeof m->period_label, sizeof m->from_c, sizeof m->to_c,
                            sizeof m->generated_c, sizeof ordered};
    int has = 0;
    dr_status st = dr_db_fetch_row_named(ctx->db, resolve_sql, p, sizeof p / sizeof p[0], dst, size, 9,
                                         &has, err);
    if (st == DR_OK && !has)
        st = dr_fail(err, DR_EINTERNAL, "the period query returned no row");
    if (st == DR_OK && strcmp(ordered, "1") != 0)
        st = dr_fail(err, DR_EUSAGE, "--from %s%s must be before --to %s%s (in %s: %s .. %s)",
                     req->from.local, req->from.offset, req->to.local, req->to.offset, req->tz,
                     m->start, m->end);
    return st;
}

static dr_status principals_text(run_ctx *ctx, const dr_run_request *req, dr_error *err)
{
    size_t n = req->all_principals ? 4 : req->nprincipals * (DR_UUID_LEN + 8) + 1;
    char *t = malloc(n);
    if (t == NULL)
        return dr_fail(err, DR_ENOMEM, "out of memory");
    if (req->all_principals) {
        strcpy(t, "all");
    } else {
        size_t used = 0;
        t[0] = '\0';
        for (size_t i = 0; i < req->nprincipals; i++)
            used += (size_t)snprintf(t + used, n - used, "%s%s:%s", i ? "," : "",
                                     dr_principal_type_name(req->principals[i].type), req->principals[i].id);
    }
    ctx->meta.principals = t;
    return DR_OK;
}

static dr_status insert_run(run_ctx *ctx, const dr_run_request *req, dr_error *err)
{
    char formats[256] = "";
    size_t used = 0;
    for (size_t i = 0; i < req->out.nformats && used < sizeof formats; i++)
        used += (size_t)snprintf(formats + used, sizeof formats - used, "%s%s", i ? "," : "",
                                 req->out.formats[i]);
    const char *principals = req->all_principals ? NULL : ctx->meta.principals;
    dr_param p[] = {
        {"run_id", ctx->meta.run_id},   {"tenant", ctx->meta.tenant},
        {"start", ctx->meta.start},     {"end", ctx->meta.end},
        {"label", ctx->meta.period_label}, {"tz", ctx->meta.tz},
        {"principals", principals},     {"period", req->period_text},
        {"formats", formats},           {"version", DR_VERSION},
    };
    return dr_db_exec_named(
        ctx->db,
        "INSERT INTO dyno_crm.report_run (id, tenant_id, report_type, generated_at, period_start,"
        " period_end, period_label, time_zone, parameters, tool_version)"
        " VALUES (:run_id::uuid, :tenant::uuid, '" DR_REPORT_NAME "', now(), :start::timestamptz,"
        " :end::timestamptz, :label, :tz, jsonb_build_object("
        "  'principals', CASE WHEN :principals::text IS NULL THEN to_jsonb('all'::text)"
        "                     ELSE to_jsonb(string_to_array(:principals::text, ',')) END,"
        "  'period', :period::text, 'time_zone', :tz::text,"
        "  'formats', to_jsonb(string_to_array(:formats::text, ','))), :version)",
        p, sizeof p / sizeof p[0], NULL, err);
}

static dr_status insert_facts(run_ctx *ctx, const dr_run_request *req, long *rows, dr_error *err)
{
    dr_param p[] = {
        {"run_id", ctx->meta.run_id}, {"tenant", ctx->meta.tenant},
        {"period_start", ctx->meta.start}, {"period_end", ctx->meta.end},
        {"principals", req->all_principals ? NULL : ctx->meta.principals},
    };
    dr_status st = dr_db_exec_named(ctx->db, dr_sql_report_insert, p, sizeof p / sizeof p[0], rows, err);
    if (st == DR_EDATA) /* numeric field overflow (22003) and the like: say what it means */
        dr_error_prefix(err, "the source data gives numbers the fact table cannot hold (amounts are "
                             "numeric(14,2), average days numeric(10,4)); nothing was saved: ");
    return st;
}

/* Everything after the fact rows exist: feed, finish, commit or roll back, publish. */
static dr_status write_and_publish(run_ctx *ctx, int commit, FILE *out_stream, dr_error *err)
{
    long nrows = 0;
    dr_status st = sinks_prepare_files(ctx, err);
    if (st == DR_OK)
        st = sinks_open(ctx, err);
    if (st == DR_OK)
        st = sinks_feed(ctx, &nrows, err);
    if (st == DR_OK)
        st = sinks_end(ctx, err);
    if (st == DR_OK)
        st = interrupted(ctx, err);
    if (st != DR_OK)
        return st;
    if (commit)
        st = dr_db_commit(ctx->db, err);
    else
        dr_db_rollback(ctx->db);
    if (st != DR_OK)
        return st;
    ctx->published = 1;
    fprintf(out_stream, "%s\n", ctx->meta.run_id);
    if (ctx->out->verbosity > 0)
        fprintf(stderr, "dynoreport: run %s: %ld rows written%s\n", ctx->meta.run_id, nrows,
                commit ? "" : " (--no-persist: nothing saved in the database)");
    return sinks_publish(ctx, out_stream, err);
}

dr_status dr_output_check(const dr_output_request *out, dr_error *err)
{
    run_ctx ctx = {.out = out};
    dr_status st = sinks_load(&ctx, err);
    ctx_free(&ctx);
    return st;
}

dr_status dr_run_execute(const char *connstr, const dr_run_request *req, dr_interrupt *intr,
                         FILE *out_stream, dr_error *err)
{
    run_ctx ctx = {.out = &req->out, .intr = intr};
    long nfacts = 0;
    snprintf(ctx.meta.tenant, sizeof ctx.meta.tenant, "%s", req->tenant);
    snprintf(ctx.meta.tz, sizeof ctx.meta.tz, "%s", req->tz);
    dr_status st = dr_tz_check(req->tz, err);
    if (st == DR_OK)
        st = principals_text(&ctx, req, err);
    if (st == DR_OK)
        st = sinks_load(&ctx, err);
    if (st == DR_OK)
        st = connect_checked(&ctx, connstr, err);
    if (st == DR_OK)
        st = set_zone(&ctx, req->tz, err);
    if (st == DR_OK)
        st = resolve_period(&ctx, req, err);
    if (st == DR_OK)
        info_from_meta(&ctx);
    if (st == DR_OK)
        st = insert_run(&ctx, req, err);
    if (st == DR_OK)
        st = insert_facts(&ctx, req, &nfacts, err);
    if (st == DR_OK)
        st = interrupted(&ctx, err);
    if (st == DR_OK)
        st = write_and_publish(&ctx, req->persist, out_stream, err);
    st = interrupted_wins(&ctx, st, err);
    if (st != DR_OK && ctx.db)
        dr_db_rollback(ctx.db);
    ctx_free(&ctx);
    return st;
}

/* The principals a saved run asked for, one row each ("all" when it asked for all): a
   list of hundreds does not fit one fetched cell. */
static dr_status saved_principals(run_ctx *ctx, const char *run_id, dr_error *err)
{
    dr_param p[] = {{"run_id", run_id}};
    dr_cursor *c = NULL;
    size_t used = 0, cap = 0;
    char *list = NULL;
    dr_status st = dr_db_query_named(ctx->db,
                                     "SELECT x.token FROM dyno_crm.report_run r,"
                                     " jsonb_array_elements_text(CASE WHEN jsonb_typeof(r.parameters -> 'principals')"
                                     " = 'array' THEN r.parameters -> 'principals' END) AS x(token)"
                                     " WHERE r.id = :run_id::uuid",
                                     p, 1, 0, &c, err);
    while (st == DR_OK) {
        const char *v[1];
        size_t l[1];
        int has = 0;
        if ((st = dr_cursor_next(c, &has, v, l, err)) != DR_OK || !has || v[0] == NULL)
            break;
        if (used + l[0] + 2 > cap) {
            cap = (used + l[0] + 2) * 2;
            char *grown = realloc(list, cap);
            if (grown == NULL) {
                st = dr_fail(err, DR_ENOMEM, "out of memory");
                break;
            }
            list = grown;
        }
        if (used)
            list[used++] = ',';
        memcpy(list + used, v[0], l[0] + 1);
        used += l[0];
    }
    dr_cursor_close(c);
    if (st == DR_OK && list == NULL && (list = strdup("all")) == NULL)
        st = dr_fail(err, DR_ENOMEM, "out of memory");
    if (st != DR_OK) {
        free(list);
        return st;
    }
    ctx->meta.principals = list;
    return DR_OK;
}

dr_status dr_run_export(const char *connstr, const char *run_id, const dr_output_request *out,
                        dr_interrupt *intr, FILE *out_stream, dr_error *err)
{
    run_ctx ctx = {.out = out, .intr = intr};
    run_meta *m = &ctx.meta;
    dr_param p[] = {{"run_id", run_id}};
    int has = 0;
    dr_status st = sinks_load(&ctx, err);
    if (st == DR_OK)
        st = connect_checked(&ctx, connstr, err);
    /* The run's zone first, so its timestamps are written as the run wrote them. */
    if (st == DR_OK) {
        char *const dst[1] = {m->tz};
        const size_t size[1] = {sizeof m->tz};
        st = dr_db_fetch_row_named(ctx.db, "SELECT time_zone FROM dyno_crm.report_run WHERE id = :run_id::uuid",
                                   p, 1, dst, size, 1, &has, err);
    }
    if (st == DR_OK && !has)
        st = dr_fail(err, DR_EDATA, "no run '%s' in the database: expected the id a 'dynoreport run' printed",
                     run_id);
    if (st == DR_OK)
        st = set_zone(&ctx, m->tz, err);
    if (st == DR_OK) {
        char *const dst[9] = {m->run_id, m->tenant, m->period_label, m->start, m->end,
                              m->generated, m->from_c, m->to_c, m->generated_c};
        const size_t size[9] = {sizeof m->run_id, sizeof m->tenant, sizeof m->period_label,
                                sizeof m->start, sizeof m->end, sizeof m->generated,
                                sizeof m->from_c, sizeof m->to_c, sizeof m->generated_c};
        st = dr_db_fetch_row_named(
            ctx.db,
            "SELECT id::text, tenant_id::text, period_label, dyno_crm.dynoreport_iso8601(period_start),"
            " dyno_crm.dynoreport_iso8601(period_end), dyno_crm.dynoreport_iso8601(generated_at),"
            " to_char(period_start, 'YYYYMMDD\"T\"HH24MISS'), to_char(period_end, 'YYYYMMDD\"T\"HH24MISS'),"
            " to_char(generated_at AT TIME ZONE 'UTC', 'YYYYMMDD\"T\"HH24MISS\"Z\"')"
            " FROM dyno_crm.report_run WHERE id = :run_id::uuid",
            p, 1, dst, size, 9, &has, err);
    }
    if (st == DR_OK)
        st = saved_principals(&ctx, run_id, err);
    if (st == DR_OK) {
        info_from_meta(&ctx);
        st = write_and_publish(&ctx, 0, out_stream, err);
    }
    st = interrupted_wins(&ctx, st, err);
    if (st != DR_OK && ctx.db)
        dr_db_rollback(ctx.db);
    ctx_free(&ctx);
    return st;
}

dr_status dr_list_tenants(const char *connstr, char (**out)[DR_UUID_LEN + 1], size_t *n, dr_error *err)
{
    dr_db *db = NULL;
    dr_cursor *c = NULL;
    char (*ids)[DR_UUID_LEN + 1] = NULL;
    size_t count = 0, cap = 0;
    *out = NULL;
    *n = 0;
    dr_status st = dr_db_connect(connstr, &db, err);
    if (st == DR_OK)
        st = dr_db_query(db, "SELECT DISTINCT tenant_id::text FROM dyno_crm.deal ORDER BY 1", NULL, 0, 0,
                         &c, err);
    while (st == DR_OK) {
        const char *v[1];
        size_t l[1];
        int has = 0;
        if ((st = dr_cursor_next(c, &has, v, l, err)) != DR_OK || !has)
            break;
        if (v[0] == NULL || l[0] != DR_UUID_LEN)
            continue;
        if (count == cap) {
            cap = cap ? cap * 2 : 16;
            void *grown = realloc(ids, cap * sizeof *ids);
            if (grown == NULL) {
                st = dr_fail(err, DR_ENOMEM, "out of memory listing tenants");
                break;
            }
            ids = grown;
        }
        memcpy(ids[count++], v[0], DR_UUID_LEN + 1);
    }
    dr_cursor_close(c);
    dr_db_close(db);
    if (st != DR_OK) {
        free(ids);
        return st;
    }
    *out = ids;
    *n = count;
    return DR_OK;
}
