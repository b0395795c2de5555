#include "config.h"

#include <errno.h>
#include <ini.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* State of one parse: inih gives no line numbers in Debian's build, so the reader counts. */
typedef struct parse_ctx {
    dr_config *cfg;
    FILE *file;
    int line;
    dr_error *err;
} parse_ctx;

static char *reader(char *str, int num, void *stream)
{
    parse_ctx *ctx = stream;
    char *r = fgets(str, num, ctx->file);
    if (r)
        ctx->line++;
    return r;
}

/* "value   # comment" -> "value": the spec's examples use '#' comments after values. */
static void strip_comment(char *v)
{
    for (char *p = v; *p; p++) {
        if (*p == '#' && (p == v || p[-1] == ' ' || p[-1] == '\t')) {
            *p = '\0';
            break;
        }
    }
    size_t n = strlen(v);
    while (n > 0 && (v[n - 1] == ' ' || v[n - 1] == '\t'))
        v[--n] = '\0';
}

static int set_string(parse_ctx *ctx, char **slot, const char *key, const char *value)
{
    if (*slot != NULL) {
        dr_fail(ctx->err, DR_ECONFIG, "%s:%d: key '%s' is set twice", ctx->cfg->path, ctx->line, key);
        return 0;
    }
    if ((*slot = strdup(value)) == NULL) {
        dr_fail(ctx->err, DR_ENOMEM, "out of memory reading '%s'", ctx->cfg->path);
        return 0;
    }
    return 1;
}

static int set_setting(parse_ctx *ctx, dr_settings *s, int is_job, const char *key, const char *value)
{
    struct { const char *key; char **slot; int job_only; } table[] = {
        {"tz", &s->tz, 0},           {"formats", &s->formats, 0},
        {"output_dir", &s->output_dir, 0}, {"name", &s->name, 0},
        {"plugin_dir", &s->plugin_dir, 0}, {"tenant", &s->tenant, 1},
        {"principals", &s->principals, 1}, {"period", &s->period, 1},
    };
    if (strcmp(key, "opt") == 0) {
        if (s->nopts >= DR_CONFIG_MAX_OPTS) {
            dr_fail(ctx->err, DR_ECONFIG, "%s:%d: too many 'opt' keys (at most %d)", ctx->cfg->path,
                    ctx->line, DR_CONFIG_MAX_OPTS);
            return 0;
        }
        if (strchr(value, '.') == NULL || strchr(value, '=') == NULL) {
            dr_fail(ctx->err, DR_ECONFIG, "%s:%d: key 'opt' has value '%s': expected PLUGIN.KEY=VALUE",
                    ctx->cfg->path, ctx->line, value);
            return 0;
        }
        char *dup = NULL;
        if (!set_string(ctx, &dup, key, value))
            return 0;
        s->opts[s->nopts++] = dup;
        return 1;
    }
    for (size_t i = 0; i < sizeof table / sizeof table[0]; i++) {
        if (strcmp(key, table[i].key) == 0 && (is_job || !table[i].job_only)) {
            if (*value == '\0') {
                dr_fail(ctx->err, DR_ECONFIG, "%s:%d: key '%s' is empty", ctx->cfg->path, ctx->line, key);
                return 0;
            }
            return set_string(ctx, table[i].slot, key, value);
        }
    }
    dr_fail(ctx->err, DR_ECONFIG, "%s:%d: unknown key '%s' in [%s]", ctx->cfg->path, ctx->line, key,
            is_job ? "job" : "defaults");
    return 0;
}

static int handler(void *user, const char *section, const char *name, const char *raw)
{
    parse_ctx *ctx = user;
    dr_config *cfg = ctx->cfg;
    char value[4096];
    if (strlen(raw) >= sizeof value) {
        dr_fail(ctx->err, DR_ECONFIG, "%s:%d: value of key '%s' is longer than %zu bytes", cfg->path,
                ctx->line, name, sizeof value - 1);
        return 0;
    }
    strcpy(value, raw);
    strip_comment(value);
    if (strcmp(section, "connection") == 0) {
        if (strcmp(name, "connect") == 0)
            return set_string(ctx, &cfg->connect, name, value);
        if (strcmp(name, "dsn") == 0)
            return set_string(ctx, &cfg->dsn, name, value);
        if (strcmp(name, "password_file") == 0)
            return set_string(ctx, &cfg->password_file, name, value);
        dr_fail(ctx->err, DR_ECONFIG, "%s:%d: unknown key '%s' in [connection]", cfg->path, ctx->line, name);
        return 0;
    }
    if (strcmp(section, "defaults") == 0)
        return set_setting(ctx, &cfg->defaults, 0, name, value);
    if (strncmp(section, "job ", 4) == 0 && section[4] != '\0') {
        const char *jname = section + 4;
        dr_config_job *job = NULL;
        for (size_t i = 0; i < cfg->njobs; i++)
            if (strcmp(cfg->jobs[i].name, jname) == 0)
                job = &cfg->jobs[i];
        if (job == NULL) {
            dr_config_job *nj = realloc(cfg->jobs, (cfg->njobs + 1) * sizeof *nj);
            if (nj == NULL) {
                dr_fail(ctx->err, DR_ENOMEM, "out of memory reading '%s'", cfg->path);
                return 0;
            }
            cfg->jobs = nj;
            job = &cfg->jobs[cfg->njobs];
            memset(job, 0, sizeof *job);
            if ((job->name = strdup(jname)) == NULL) {
                dr_fail(ctx->err, DR_ENOMEM, "out of memory reading '%s'", cfg->path);
                return 0;
            }
            cfg->njobs++;
        }
        return set_setting(ctx, &job->s, 1, name, value);
    }
    dr_fail(ctx->err, DR_ECONFIG, "%s:%d: unknown section [%s]: expected [connection], [defaults] or [job NAME]",
            cfg->path, ctx->line, section);
    return 0;
}

dr_status dr_config_load(const char *explicit_path, dr_config *cfg, dr_error *err)
{
    memset(cfg, 0, sizeof *cfg);
    const char *path = explicit_path;
    int required = 1;
    if (path == NULL)
        path = getenv("DYNOREPORT_CONFIG");
    if (path == NULL || *path == '\0') {
        path = DR_CONFIG_DEFAULT_PATH;
        required = 0;
    }
    FILE *f = fopen(path, "r");
    if (f == NULL) {
        if (!required && errno == ENOENT)
            return DR_OK;
        return dr_fail(err, DR_ECONFIG, "cannot read the configuration file '%s': %s", path, strerror(errno));
    }
    if ((cfg->path = strdup(path)) == NULL) {
        fclose(f);
        return dr_fail(err, DR_ENOMEM, "out of memory reading '%s'", path);
    }
    parse_ctx ctx = {cfg, f, 0, err};
    int rc = ini_parse_stream(reader, &ctx, handler, &ctx);
    fclose(f);
    if (rc != 0) {
        if (err == NULL || err->status == DR_OK)
            dr_fail(err, DR_ECONFIG, "%s:%d: syntax error: expected [section] or key = value", path,
                    rc > 0 ? rc : ctx.line);
        dr_config_free(cfg);
        return err ? err->status : DR_ECONFIG;
    }
    if (cfg->connect && cfg->dsn) {
        dr_fail(err, DR_ECONFIG, "%s: [connection] has both 'connect' and 'dsn': keep one", path);
        dr_config_free(cfg);
        return DR_ECONFIG;
    }
    return DR_OK;
}

static void settings_free(dr_settings *s)
{
    free(s->tz);
    free(s->formats);
    free(s->output_dir);
    free(s->name);
    free(s->plugin_dir);
    free(s->tenant);
    free(s->principals);
    free(s->period);
    for (size_t i = 0; i < s->nopts; i++)
        free(s->opts[i]);
    memset(s, 0, sizeof *s);
}

void dr_config_free(dr_config *cfg)
{
    if (cfg == NULL)
        return;
    free(cfg->path);
    free(cfg->connect);
    free(cfg->dsn);
    free(cfg->password_file);
    settings_free(&cfg->defaults);
    for (size_t i = 0; i < cfg->njobs; i++) {
        free(cfg->jobs[i].name);
        settings_free(&cfg->jobs[i].s);
    }
    free(cfg->jobs);
    memset(cfg, 0, sizeof *cfg);
}

const dr_config_job *dr_config_job_find(const dr_config *cfg, const char *name)
{
    for (size_t i = 0; i < cfg->njobs; i++)
        if (strcmp(cfg->jobs[i].name, name) == 0)
            return &cfg->jobs[i];
    return NULL;
}

dr_status dr_config_read_password(const char *path, char *out, size_t out_size, dr_error *err)
{
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return dr_fail(err, DR_ECONFIG, "cannot read the password file '%s': %s", path, strerror(errno));
    char *r = fgets(out, (int)out_size, f);
    fclose(f);
    if (r == NULL)
        return dr_fail(err, DR_ECONFIG, "the password file '%s' is empty", path);
    out[strcspn(out, "\r\n")] = '\0';
    return DR_OK;
}
