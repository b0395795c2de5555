/* The INI configuration file (sections, keys, line numbers in errors) and the precedence
   rules: command line > [job] > [defaults] > built-in defaults; connection lookup order. */
#include "config.h"

#include <errno.h>
#include <ini.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* State of one parse: inih gives no line numbers in Debian's build, so the reader counts. */
typedef struct parse_ctx {
    dr_config *cfg;
    FILE *file;
    int line;
    int overlong;    /* line number of a line longer than inih's buffer, or 0 */
    char shown[512]; /* the file's path, printable, for messages */
    dr_error *err;
} parse_ctx;

/* Record "FILE:LINE: message" as a configuration error; returns 0 for inih's handler. */
static int config_fail(parse_ctx *ctx, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int config_fail(parse_ctx *ctx, const char *fmt, ...)
{
    char msg[768];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    dr_fail(ctx->err, DR_ECONFIG, "%s:%d: %s", ctx->shown, ctx->line, msg);
    return 0;
}

/* A user's text, quoted for a message (keys, sections and values may hold any bytes). */
#define Q(text, buf) dr_quote((text), strlen(text), (buf), sizeof(buf))

static char *reader(char *str, int num, void *stream)
{
    parse_ctx *ctx = stream;
    char *r = fgets(str, num, ctx->file);
    if (r == NULL)
        return NULL;
    ctx->line++;
    /* fgets stopped inside a line: inih (Debian builds it with a 200-byte line buffer)
       would read the rest as a line of its own, a key nobody wrote. Stop: it is an error. */
    size_t n = strlen(r);
    if (n == (size_t)num - 1 && r[n - 1] != '\n' && !feof(ctx->file)) {
        ctx->overlong = ctx->line;
        return NULL;
    }
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
    char qk[DR_QUOTE_SIZE];
    if (*slot != NULL)
        return config_fail(ctx, "key %s is set twice", Q(key, qk));
    if ((*slot = strdup(value)) == NULL) {
        dr_fail(ctx->err, DR_ENOMEM, "out of memory reading %s", ctx->shown);
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
        char qv[DR_QUOTE_SIZE];
        if (s->nopts >= DR_CONFIG_MAX_OPTS)
            return config_fail(ctx, "too many 'opt' keys (at most %d)", DR_CONFIG_MAX_OPTS);
        if (strchr(value, '.') == NULL || strchr(value, '=') == NULL)
            return config_fail(ctx, "key 'opt' has value %s: expected PLUGIN.KEY=VALUE", Q(value, qv));
        char *dup = NULL;
        if (!set_string(ctx, &dup, key, value))
            return 0;
        s->opts[s->nopts++] = dup;
        return 1;
    }
    for (size_t i = 0; i < sizeof table / sizeof table[0]; i++) {
        if (strcmp(key, table[i].key) == 0 && (is_job || !table[i].job_only)) {
            if (*value == '\0')
                return config_fail(ctx, "key '%s' is empty", table[i].key);
            return set_string(ctx, table[i].slot, key, value);
        }
    }
    char qk[DR_QUOTE_SIZE];
    return config_fail(ctx, "unknown key %s in [%s]", Q(key, qk), is_job ? "job" : "defaults");
}

static int handler(void *user, const char *section, const char *name, const char *raw)
{
    parse_ctx *ctx = user;
    dr_config *cfg = ctx->cfg;
    char value[4096];
    char qn[DR_QUOTE_SIZE];
    if (strlen(raw) >= sizeof value)
        return config_fail(ctx, "value of key %s is longer than %zu bytes", Q(name, qn), sizeof value - 1);
    strcpy(value, raw);
    strip_comment(value);
    if (strcmp(section, "connection") == 0) {
        if (strcmp(name, "connect") == 0)
            return set_string(ctx, &cfg->connect, name, value);
        if (strcmp(name, "dsn") == 0)
            return set_string(ctx, &cfg->dsn, name, value);
        if (strcmp(name, "password_file") == 0)
            return set_string(ctx, &cfg->password_file, name, value);
        return config_fail(ctx, "unknown key %s in [connection]", Q(name, qn));
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
                dr_fail(ctx->err, DR_ENOMEM, "out of memory reading %s", ctx->shown);
                return 0;
            }
            cfg->jobs = nj;
            job = &cfg->jobs[cfg->njobs];
            memset(job, 0, sizeof *job);
            if ((job->name = strdup(jname)) == NULL) {
                dr_fail(ctx->err, DR_ENOMEM, "out of memory reading %s", ctx->shown);
                return 0;
            }
            cfg->njobs++;
        }
        return set_setting(ctx, &job->s, 1, name, value);
    }
    return config_fail(ctx, "unknown section %s: expected [connection], [defaults] or [job NAME]",
                       Q(section, qn));
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
    char qp[DR_QUOTE_SIZE];
    FILE *f = fopen(path, "r");
    if (f == NULL) {
        if (!required && errno == ENOENT)
            return DR_OK;
        return dr_fail(err, DR_ECONFIG, "cannot read the configuration file %s: %s", Q(path, qp),
                       strerror(errno));
    }
    if ((cfg->path = strdup(path)) == NULL) {
        fclose(f);
        return dr_fail(err, DR_ENOMEM, "out of memory reading %s", Q(path, qp));
    }
    parse_ctx ctx = {.cfg = cfg, .file = f, .err = err};
    dr_printable_copy(path, ctx.shown, sizeof ctx.shown);
    int rc = ini_parse_stream(reader, &ctx, handler, &ctx);
    fclose(f);
    if (ctx.overlong && (err == NULL || err->status == DR_OK)) {
        ctx.line = ctx.overlong;
        config_fail(&ctx, "the line is longer than %d bytes, the longest the INI reader takes "
                    "(a long connection string can live in odbc.ini as a DSN)", INI_MAX_LINE - 2);
        rc = -1;
    }
    if (rc != 0) {
        if (err == NULL || err->status == DR_OK) {
            ctx.line = rc > 0 ? rc : ctx.line;
            config_fail(&ctx, "syntax error: expected [section] or key = value");
        }
        dr_config_free(cfg);
        return err ? err->status : DR_ECONFIG;
    }
    if (cfg->connect && cfg->dsn) {
        dr_fail(err, DR_ECONFIG, "%s: [connection] has both 'connect' and 'dsn': keep one", ctx.shown);
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
    char qp[DR_QUOTE_SIZE];
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return dr_fail(err, DR_ECONFIG, "cannot read the password file %s: %s", Q(path, qp),
                       strerror(errno));
    char *r = fgets(out, (int)out_size, f);
    fclose(f);
    if (r == NULL)
        return dr_fail(err, DR_ECONFIG, "the password file %s is empty", Q(path, qp));
    out[strcspn(out, "\r\n")] = '\0';
    return DR_OK;
}

char *dr_strstore_dup(dr_strstore *s, const char *v)
{
    if (s->n == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 16;
        char **grown = realloc(s->bufs, cap * sizeof *grown);
        if (grown == NULL)
            return NULL;
        s->bufs = grown;
        s->cap = cap;
    }
    char *copy = strdup(v);
    if (copy != NULL)
        s->bufs[s->n++] = copy;
    return copy;
}

void dr_strstore_free(dr_strstore *s)
{
    if (s == NULL)
        return;
    for (size_t i = 0; i < s->n; i++)
        free(s->bufs[i]);
    free(s->bufs);
    s->bufs = NULL;
    s->n = s->cap = 0;
}

int dr_split_list(char *buf, const char **out, size_t max, size_t *n)
{
    char *save = NULL;
    for (char *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
        while (*t == ' ' || *t == '\t')
            t++;
        size_t len = strlen(t);
        while (len > 0 && (t[len - 1] == ' ' || t[len - 1] == '\t'))
            t[--len] = '\0';
        if (*t == '\0')
            continue;
        if (*n >= max)
            return -1;
        out[(*n)++] = t;
    }
    return 0;
}

/* One settings block ([job] or [defaults]) under what is already set in @p out. */
static dr_status apply_settings(const dr_config *cfg, const dr_settings *s, dr_output_request *out,
                                dr_strstore *store, dr_error *err)
{
    char where[512], q[DR_QUOTE_SIZE];
    dr_printable_copy(cfg->path ? cfg->path : "", where, sizeof where);
    if (out->nformats == 0 && s->formats) {
        char *b = dr_strstore_dup(store, s->formats);
        if (b == NULL)
            return dr_fail(err, DR_ENOMEM, "out of memory");
        if (dr_split_list(b, out->formats, DR_MAX_FORMATS, &out->nformats) < 0)
            return dr_fail(err, DR_ECONFIG, "%s: 'formats' lists more than %d formats in %s", where,
                           DR_MAX_FORMATS, Q(s->formats, q));
        if (out->nformats == 0)
            return dr_fail(err, DR_ECONFIG, "%s: 'formats' has no format in %s: expected a "
                           "comma list such as csv,xlsx,json", where, Q(s->formats, q));
    }
    if (!out->output_dir && s->output_dir)
        out->output_dir = s->output_dir;
    if (!out->name_template && s->name)
        out->name_template = s->name;
    if (!out->plugin_dir && s->plugin_dir)
        out->plugin_dir = s->plugin_dir;
    /* this block's options go before what is there, so the more specific ones win */
    size_t keep = out->nopts, add = s->nopts;
    if (keep + add > DR_MAX_OPTS)
        return dr_fail(err, DR_ECONFIG, "%s: more than %d plugin options (opt keys and --opt) in all",
                       where, DR_MAX_OPTS);
    memmove(out->opts + add, out->opts, keep * sizeof *out->opts);
    for (size_t i = 0; i < add; i++)
        out->opts[i] = s->opts[i];
    out->nopts = keep + add;
    return DR_OK;
}

dr_status dr_config_output(const dr_config *cfg, const dr_settings *job, dr_output_request *out,
                           dr_strstore *store, dr_error *err)
{
    dr_status st = DR_OK;
    if (job)
        st = apply_settings(cfg, job, out, store, err);
    if (st == DR_OK)
        st = apply_settings(cfg, &cfg->defaults, out, store, err);
    if (st != DR_OK)
        return st;
    if (out->nformats == 0)
        out->formats[out->nformats++] = "csv";
    if (!out->output_dir)
        out->output_dir = ".";
    return DR_OK;
}

const char *dr_config_tz(const dr_config *cfg, const dr_settings *job, const char *cli_tz)
{
    if (cli_tz)
        return cli_tz;
    if (job && job->tz)
        return job->tz;
    return cfg->defaults.tz ? cfg->defaults.tz : "UTC";
}

dr_status dr_config_connection(const dr_config *cfg, const char *cli_connect, const char *cli_dsn,
                               const char *env_connect, const char *env_dsn, char *out, size_t out_size,
                               dr_error *err)
{
    const char *connect = cli_connect, *dsn = cli_dsn;
    if (!connect && !dsn) {
        connect = env_connect && *env_connect ? env_connect : NULL;
        dsn = env_dsn && *env_dsn ? env_dsn : NULL;
    }
    if (!connect && !dsn) {
        connect = cfg->connect;
        dsn = cfg->dsn;
    }
    int n;
    if (connect)
        n = snprintf(out, out_size, "%s", connect);
    else if (dsn)
        n = snprintf(out, out_size, "DSN=%s;", dsn);
    else
        return dr_fail(err, DR_ECONFIG,
                       "no database connection: expected --connect 'Driver=...;Server=...;', --dsn NAME, "
                       "DYNOREPORT_CONNECT, DYNOREPORT_DSN or [connection] in the configuration file");
    if (n < 0 || (size_t)n >= out_size - 1)
        return dr_fail(err, DR_EUSAGE, "the connection string is longer than %zu bytes", out_size - 2);
    if (cfg->password_file) {
        char pw[512];
        dr_status st = dr_config_read_password(cfg->password_file, pw, sizeof pw, err);
        if (st != DR_OK)
            return st;
        size_t len = strlen(out);
        if (len && out[len - 1] != ';')
            out[len++] = ';', out[len] = '\0';
        /* braces let the password hold ';' (ODBC connection string quoting) */
        n = snprintf(out + len, out_size - len, "PWD={%s};", pw);
        memset(pw, 0, sizeof pw);
        if (n < 0 || (size_t)n >= out_size - len)
            return dr_fail(err, DR_ECONFIG, "the connection string with the password is too long");
    }
    return DR_OK;
}
