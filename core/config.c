/* The INI configuration file (sections, keys, line numbers in errors) and the precedence
   rules: command line > [job] > [defaults] > built-in defaults; connection lookup order.
   The reader is our own (it replaced Debian's libinih, whose 200-byte line buffer refused
   a job with more than four principals): no line limit short of DR_CONFIG_MAX_LINE, the
   same syntax as before (see docs/configuration.md). */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "odbc.h"

/* State of one parse. */
typedef struct parse_ctx {
    dr_config *cfg;
    int line;
    dr_config_problem_fn each; /* config check: every problem to this, and read on */
    void *each_ctx;
    char shown[512]; /* the file's path, printable, for messages */
    dr_error *err;
} parse_ctx;

/* Record "FILE:LINE: message" as a configuration error; returns 0 (the handler's "failed"). */
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
        {"currency", &s->currency, 0},     {"compare", &s->compare, 0},
        {"run_lock_timeout", &s->run_lock_timeout, 0}, {"skip_existing", &s->skip_existing, 0},
        {"jobs", &s->jobs, 0},
    };
    if (strcmp(key, "deliver") == 0) {
        if (*value == '\0')
            return config_fail(ctx, "key 'deliver' is empty: expected a comma list of [delivery NAME] names");
        s->deliver_line = ctx->line;
        return set_string(ctx, &s->deliver, key, value);
    }
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
            char qv[DR_QUOTE_SIZE];
            if (*value == '\0')
                return config_fail(ctx, "key '%s' is empty", table[i].key);
            if (table[i].slot == &s->currency && !dr_currency_valid(value))
                return config_fail(ctx, "key 'currency' has value %s: expected an ISO 4217 code of three "
                                   "capital letters such as EUR, USD or CHF", Q(value, qv));
            long number = 0;
            if (table[i].slot == &s->run_lock_timeout && !dr_duration_ms(value, &number))
                return config_fail(ctx, "key 'run_lock_timeout' has value %s: expected a duration with its "
                                   "unit such as 5s, 500ms or 2min (at most 24 days), or 0 for no wait",
                                   Q(value, qv));
            if (table[i].slot == &s->skip_existing && strcmp(value, "true") != 0 && strcmp(value, "false") != 0)
                return config_fail(ctx, "key 'skip_existing' has value %s: expected true or false", Q(value, qv));
            if (table[i].slot == &s->jobs && !dr_jobs_parse(value, &number))
                return config_fail(ctx, "key 'jobs' has value %s: expected a number of worker processes from "
                                   "1 to %d", Q(value, qv), DR_MAX_JOBS);
            if (table[i].slot == &s->compare && !dr_compare_valid(value))
                return config_fail(ctx, "key 'compare' has value %s: expected previous, year-ago or none",
                                   Q(value, qv));
            return set_string(ctx, table[i].slot, key, value);
        }
    }
    char qk[DR_QUOTE_SIZE];
    return config_fail(ctx, "unknown key %s in [%s]", Q(key, qk), is_job ? "job" : "defaults");
}

/*
 * A [connection] timeout (statement_timeout, lock_timeout,
 * idle_in_transaction_session_timeout) in PostgreSQL's form for a time setting: a number,
 * optionally with a fraction, and a unit us, ms, s, min, h or d (none: ms); 0 disables
 * the bound. Kept as whole milliseconds in @p slot (PostgreSQL rounds the same way);
 * a value that is not 0 but rounds to it, or above PostgreSQL's limit, is refused.
 */
static int set_timeout(parse_ctx *ctx, char *slot, size_t slot_size, const char *key, const char *value)
{
    static const struct { const char *unit; double ms; } units[] = {
        {"us", 0.001}, {"ms", 1}, {"s", 1000}, {"min", 60000}, {"h", 3600000}, {"d", 86400000},
    };
    char qv[DR_QUOTE_SIZE];
    const char *p = value;
    double number = 0, scale = 1, factor = 1;
    int digits = 0;
    if (slot[0] != '\0')
        return config_fail(ctx, "key '%s' is set twice", key);
    for (; *p >= '0' && *p <= '9' && digits < 12; p++, digits++)
        number = number * 10 + (*p - '0');
    if (digits > 0 && *p == '.') {
        for (p++; *p >= '0' && *p <= '9' && digits < 24; p++, digits++)
            number += (*p - '0') * (scale /= 10);
        if (p[-1] == '.')
            digits = 0;
    }
    while (*p == ' ' || *p == '\t')
        p++;
    if (digits > 0 && *p != '\0') {
        size_t i = 0;
        for (; i < sizeof units / sizeof units[0] && strcmp(p, units[i].unit) != 0; i++)
            ;
        if (i == sizeof units / sizeof units[0])
            digits = 0;
        else
            factor = units[i].ms;
    }
    double ms = number * factor;
    long long whole = (long long)(ms + 0.5);
    if (digits == 0 || ms > 2147483647.0 || (ms > 0 && whole == 0))
        return config_fail(ctx, "key '%s' has value %s: expected a duration such as 1500 (ms), 60s, "
                           "30min or 2h, at least 1ms and at most 24 days, or 0 for no limit",
                           key, Q(value, qv));
    snprintf(slot, slot_size, "%lld", whole);
    return 1;
}

/* ---- [delivery NAME] ------------------------------------------------------------------ */

static const char *const delivery_keys[DR_DK_COUNT] = {
    [DR_DK_KIND] = "kind", [DR_DK_URL] = "url", [DR_DK_USER] = "user",
    [DR_DK_CREDENTIALS_FILE] = "credentials_file", [DR_DK_RECIPIENTS] = "recipients",
    [DR_DK_RECIPIENTS_QUERY] = "recipients_query", [DR_DK_FROM] = "from", [DR_DK_REPLY_TO] = "reply_to",
    [DR_DK_SUBJECT] = "subject", [DR_DK_RETRIES] = "retries", [DR_DK_BACKOFF] = "backoff",
    [DR_DK_MANIFEST] = "manifest", [DR_DK_LATEST] = "latest", [DR_DK_KNOWN_HOSTS] = "known_hosts",
    [DR_DK_PRIVATE_KEY] = "private_key", [DR_DK_FORMATS] = "formats",
};

const char *dr_delivery_key_name(dr_delivery_key k)
{
    return (unsigned)k < DR_DK_COUNT ? delivery_keys[k] : "?";
}

/* Any control byte (CR, LF, TAB, ...): refused in values that end up in mail headers. */
static int has_control(const char *v)
{
    for (; *v; v++)
        if ((unsigned char)*v < 0x20 || *v == 0x7f)
            return 1;
    return 0;
}

/* yes/no for manifest and latest. */
static int parse_bool(const char *v, int *out)
{
    if (strcmp(v, "yes") == 0 || strcmp(v, "true") == 0 || strcmp(v, "on") == 0 || strcmp(v, "1") == 0)
        return *out = 1, 1;
    if (strcmp(v, "no") == 0 || strcmp(v, "false") == 0 || strcmp(v, "off") == 0 || strcmp(v, "0") == 0)
        return *out = 0, 1;
    return 0;
}

/* The scheme of a URL ("smtp" of "smtp://host"), lower-case, into @p out; 0 when none. */
static int url_scheme(const char *url, char *out, size_t size)
{
    size_t i = 0;
    for (; url[i] && url[i] != ':' && i + 1 < size; i++) {
        char c = url[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '+'))
            return 0;
        out[i] = (char)(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
    }
    out[i] = '\0';
    return i > 0 && strncmp(url + i, "://", 3) == 0;
}

static int delivery_key(parse_ctx *ctx, dr_config_delivery *d, const char *key, const char *value)
{
    char qv[DR_QUOTE_SIZE], qk[DR_QUOTE_SIZE];
    if (strcmp(key, "option") == 0) {
        const char *eq = strchr(value, '=');
        if (d->noptions >= DR_DELIVERY_MAX_OPTIONS)
            return config_fail(ctx, "too many 'option' keys in [delivery %s] (at most %d)", d->name,
                               DR_DELIVERY_MAX_OPTIONS);
        if (eq == NULL || eq == value)
            return config_fail(ctx, "key 'option' has value %s: expected KEY=VALUE", Q(value, qv));
        if ((d->options[d->noptions] = strdup(value)) == NULL) {
            dr_fail(ctx->err, DR_ENOMEM, "out of memory reading %s", ctx->shown);
            return 0;
        }
        d->option_lines[d->noptions++] = ctx->line;
        return 1;
    }
    size_t k = 0;
    while (k < DR_DK_COUNT && strcmp(key, delivery_keys[k]) != 0)
        k++;
    if (k == DR_DK_COUNT)
        return config_fail(ctx, "unknown key %s in [delivery %s]: expected kind, url, user, credentials_file, "
                           "recipients, recipients_query, from, reply_to, subject, retries, backoff, manifest, "
                           "latest, known_hosts, private_key, formats or option", Q(key, qk), d->name);
    if (*value == '\0')
        return config_fail(ctx, "key '%s' is empty", key);
    switch ((dr_delivery_key)k) {
    case DR_DK_CREDENTIALS_FILE:
    case DR_DK_RECIPIENTS_QUERY:
    case DR_DK_KNOWN_HOSTS:
    case DR_DK_PRIVATE_KEY:
        if (*value != '/')
            return config_fail(ctx, "key '%s' has value %s: expected an absolute path", key, Q(value, qv));
        break;
    case DR_DK_URL: {
        char scheme[16];
        const char *auth = strstr(value, "://");
        if (!url_scheme(value, scheme, sizeof scheme))
            return config_fail(ctx, "key 'url' has value %s: expected SCHEME://HOST[:PORT][/PATH] such as "
                               "smtp://mail.example.com:587, smtps://..., sftp://host/dir or file:///dir",
                               Q(value, qv));
        /* user:password@ in a URL would be in every message and record that shows it */
        size_t alen = strcspn(auth + 3, "/?#");
        if (memchr(auth + 3, '@', alen) != NULL)
            return config_fail(ctx, "key 'url' holds a user name or password ('...@'): put the user in "
                               "'user' and the password in 'credentials_file'");
        if (has_control(value))
            return config_fail(ctx, "key 'url' holds a control character");
        break;
    }
    case DR_DK_RETRIES: {
        char *end = NULL;
        errno = 0;
        unsigned long n = strtoul(value, &end, 10);
        if (*value < '0' || *value > '9' || *end || errno || n > DR_DELIVERY_MAX_RETRIES)
            return config_fail(ctx, "key 'retries' has value %s: expected a whole number from 0 to %d",
                               Q(value, qv), DR_DELIVERY_MAX_RETRIES);
        d->retries = (unsigned)n;
        break;
    }
    case DR_DK_BACKOFF: {
        char ms[32] = "";
        if (!set_timeout(ctx, ms, sizeof ms, key, value))
            return 0;
        long long v = strtoll(ms, NULL, 10);
        if (v > 600000)
            return config_fail(ctx, "key 'backoff' has value %s: expected at most 10min", Q(value, qv));
        d->backoff_ms = (unsigned)v;
        break;
    }
    case DR_DK_MANIFEST:
    case DR_DK_LATEST:
        if (!parse_bool(value, k == DR_DK_MANIFEST ? &d->manifest : &d->latest))
            return config_fail(ctx, "key '%s' has value %s: expected yes or no", key, Q(value, qv));
        break;
    case DR_DK_FROM:
    case DR_DK_REPLY_TO:
    case DR_DK_RECIPIENTS:
    case DR_DK_SUBJECT:
        /* a CR or LF here would start a new mail header (header injection) */
        if (has_control(value))
            return config_fail(ctx, "key '%s' holds a control character (CR, LF, TAB ...): refused, it "
                               "could add a mail header", key);
        break;
    default:
        break;
    }
    if (d->values[k] != NULL)
        return config_fail(ctx, "key '%s' is set twice", key);
    if ((d->values[k] = strdup(value)) == NULL) {
        dr_fail(ctx->err, DR_ENOMEM, "out of memory reading %s", ctx->shown);
        return 0;
    }
    d->lines[k] = ctx->line;
    return 1;
}

/* The [delivery NAME] of @p name, created at its first line. */
static dr_config_delivery *delivery_section(parse_ctx *ctx, const char *name)
{
    dr_config *cfg = ctx->cfg;
    for (size_t i = 0; i < cfg->ndeliveries; i++)
        if (strcmp(cfg->deliveries[i].name, name) == 0)
            return &cfg->deliveries[i];
    dr_config_delivery *nd = realloc(cfg->deliveries, (cfg->ndeliveries + 1) * sizeof *nd);
    if (nd == NULL)
        return NULL;
    cfg->deliveries = nd;
    dr_config_delivery *d = &nd[cfg->ndeliveries];
    memset(d, 0, sizeof *d);
    d->retries = 2;
    d->backoff_ms = 2000;
    d->line = ctx->line;
    if ((d->name = strdup(name)) == NULL)
        return NULL;
    cfg->ndeliveries++;
    return d;
}

/* A destination name: what --deliver and deliver = carry. */
static int delivery_name_valid(const char *s)
{
    if (*s == '\0' || strlen(s) > 64)
        return 0;
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') || *s == '_' ||
              *s == '-' || *s == '.'))
            return 0;
    return 1;
}

/* After the whole file: what each kind needs, and every 'deliver' names a section. */
static int check_deliveries(parse_ctx *ctx)
{
    dr_config *cfg = ctx->cfg;
    char q[DR_QUOTE_SIZE];
    for (size_t i = 0; i < cfg->ndeliveries; i++) {
        dr_config_delivery *d = &cfg->deliveries[i];
        const char *kind = d->values[DR_DK_KIND] ? d->values[DR_DK_KIND] : "dir";
        const char *url = d->values[DR_DK_URL];
        char scheme[16] = "";
        ctx->line = d->lines[DR_DK_KIND] ? d->lines[DR_DK_KIND] : d->line;
        if (url)
            url_scheme(url, scheme, sizeof scheme);
        if (strcmp(kind, "mail") == 0) {
            if (!url)
                return config_fail(ctx, "[delivery %s] of kind mail needs key 'url' (smtp://HOST:PORT or "
                                   "smtps://HOST:PORT)", d->name);
            ctx->line = d->lines[DR_DK_URL];
            if (strcmp(scheme, "smtp") != 0 && strcmp(scheme, "smtps") != 0)
                return config_fail(ctx, "key 'url' has value %s: expected smtp://HOST[:PORT] or "
                                   "smtps://HOST[:PORT] for kind mail", Q(url, q));
            ctx->line = d->line;
            if (!d->values[DR_DK_FROM])
                return config_fail(ctx, "[delivery %s] of kind mail needs key 'from'", d->name);
            if (!d->values[DR_DK_RECIPIENTS] && !d->values[DR_DK_RECIPIENTS_QUERY])
                return config_fail(ctx, "[delivery %s] of kind mail needs key 'recipients' or "
                                   "'recipients_query'", d->name);
        } else if (strcmp(kind, "sftp") == 0) {
            if (!url)
                return config_fail(ctx, "[delivery %s] of kind sftp needs key 'url' (sftp://HOST[:PORT]/DIR)",
                                   d->name);
            ctx->line = d->lines[DR_DK_URL];
            if (strcmp(scheme, "sftp") != 0)
                return config_fail(ctx, "key 'url' has value %s: expected sftp://HOST[:PORT]/DIR for kind sftp",
                                   Q(url, q));
            ctx->line = d->line;
            if (!d->values[DR_DK_KNOWN_HOSTS])
                return config_fail(ctx, "[delivery %s] of kind sftp needs key 'known_hosts' (the server's "
                                   "host key is always checked)", d->name);
            if (!d->values[DR_DK_PRIVATE_KEY])
                return config_fail(ctx, "[delivery %s] of kind sftp needs key 'private_key'", d->name);
            if (!d->values[DR_DK_USER])
                return config_fail(ctx, "[delivery %s] of kind sftp needs key 'user'", d->name);
        } else if (strcmp(kind, "dir") == 0) {
            ctx->line = d->lines[DR_DK_URL];
            if (url && strcmp(scheme, "file") != 0)
                return config_fail(ctx, "key 'url' has value %s: expected file:///ABSOLUTE/DIR for kind dir",
                                   Q(url, q));
        }
    }
    const dr_settings *blocks[1 + 1024];
    size_t nblocks = 0;
    blocks[nblocks++] = &cfg->defaults;
    for (size_t j = 0; j < cfg->njobs && nblocks < sizeof blocks / sizeof blocks[0]; j++)
        blocks[nblocks++] = &cfg->jobs[j].s;
    for (size_t b = 0; b < nblocks; b++) {
        const dr_settings *s = blocks[b];
        if (!s->deliver)
            continue;
        char *copy = strdup(s->deliver);
        const char *names[DR_DELIVERY_MAX_OPTIONS];
        size_t n = 0;
        ctx->line = s->deliver_line;
        if (copy == NULL) {
            dr_fail(ctx->err, DR_ENOMEM, "out of memory reading %s", ctx->shown);
            return 0;
        }
        int ok = dr_split_list(copy, names, DR_DELIVERY_MAX_OPTIONS, &n) == 0 && n > 0;
        if (!ok)
            config_fail(ctx, "key 'deliver' has value %s: expected a comma list of at most %d [delivery NAME] "
                        "names", Q(s->deliver, q), DR_DELIVERY_MAX_OPTIONS);
        for (size_t k = 0; ok && k < n; k++)
            if (!dr_config_delivery_find(cfg, names[k]))
                ok = config_fail(ctx, "key 'deliver' names %s: there is no [delivery %s] section",
                                 Q(names[k], q), delivery_name_valid(names[k]) ? names[k] : "NAME");
        free(copy);
        if (!ok)
            return 0;
    }
    return 1;
}

const dr_config_delivery *dr_config_delivery_find(const dr_config *cfg, const char *name)
{
    for (size_t i = 0; i < cfg->ndeliveries; i++)
        if (strcmp(cfg->deliveries[i].name, name) == 0)
            return &cfg->deliveries[i];
    return NULL;
}

/* One key of @p section with its @p value (inline comments not yet removed; modified). */
static int handler(parse_ctx *ctx, const char *section, const char *name, char *value)
{
    dr_config *cfg = ctx->cfg;
    char qn[DR_QUOTE_SIZE];
    strip_comment(value);
    if (strcmp(section, "connection") == 0) {
        if (strcmp(name, "connect") == 0)
            return set_string(ctx, &cfg->connect, name, value);
        if (strcmp(name, "dsn") == 0)
            return set_string(ctx, &cfg->dsn, name, value);
        if (strcmp(name, "password_file") == 0) {
            /* a relative path would name a different file in every working directory */
            if (*value == '\0')
                return config_fail(ctx, "key 'password_file' is empty");
            if (*value != '/')
                return config_fail(ctx, "cannot read the password file %s: expected an absolute path",
                                   Q(value, qn));
            return set_string(ctx, &cfg->password_file, name, value);
        }
        if (strcmp(name, "statement_timeout") == 0)
            return set_timeout(ctx, cfg->timeouts.statement, sizeof cfg->timeouts.statement, name, value);
        if (strcmp(name, "lock_timeout") == 0)
            return set_timeout(ctx, cfg->timeouts.lock, sizeof cfg->timeouts.lock, name, value);
        if (strcmp(name, "idle_in_transaction_session_timeout") == 0)
            return set_timeout(ctx, cfg->timeouts.idle, sizeof cfg->timeouts.idle, name, value);
        return config_fail(ctx, "unknown key %s in [connection]", Q(name, qn));
    }
    if (strcmp(section, "defaults") == 0)
        return set_setting(ctx, &cfg->defaults, 0, name, value);
    if (strcmp(section, "names") == 0) {
        char **slot = strcmp(name, "principals") == 0 ? &cfg->names_principals
                    : strcmp(name, "tenant") == 0     ? &cfg->names_tenant
                                                      : NULL;
        if (slot == NULL)
            return config_fail(ctx, "unknown key %s in [names]: expected principals or tenant", Q(name, qn));
        if (*value != '/')
            return config_fail(ctx, "key '%s' has value %s: expected the absolute path of a file holding "
                               "one SELECT", name, Q(value, qn));
        return set_string(ctx, slot, name, value);
    }
    if (strncmp(section, "delivery ", 9) == 0 && section[9] != '\0') {
        if (!delivery_name_valid(section + 9))
            return config_fail(ctx, "section %s: expected [delivery NAME] with a NAME of letters, digits, "
                               "'_', '-' and '.' (at most 64)", Q(section, qn));
        dr_config_delivery *d = delivery_section(ctx, section + 9);
        if (d == NULL) {
            dr_fail(ctx->err, DR_ENOMEM, "out of memory reading %s", ctx->shown);
            return 0;
        }
        return delivery_key(ctx, d, name, value);
    }
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
    return config_fail(ctx, "unknown section %s: expected [connection], [defaults], [names], [job NAME] or [delivery NAME]",
                       Q(section, qn));
}

/* ---- the reader -------------------------------------------------------------------- */

/* isspace() of the C locale, whatever the process's locale. */
static int is_blank(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r';
}

static char *rstrip(char *s)
{
    size_t n = strlen(s);
    while (n > 0 && is_blank(s[n - 1]))
        s[--n] = '\0';
    return s;
}

static char *lskip(char *s)
{
    while (*s && is_blank(*s))
        s++;
    return s;
}

/* The first of @p chars (NULL: none) in @p s, or a ';' after a blank (an inline comment),
   or the end of @p s. */
static char *find_chars_or_comment(char *s, const char *chars)
{
    int was_blank = 0;
    while (*s && !(chars && strchr(chars, *s)) && !(was_blank && *s == ';')) {
        was_blank = is_blank(*s);
        s++;
    }
    return s;
}

/* Replace *@p slot by a copy of @p text; 0 when out of memory. */
static int replace_copy(char **slot, const char *text)
{
    char *copy = strdup(text);
    if (copy == NULL)
        return 0;
    free(*slot);
    *slot = copy;
    return 1;
}

/* A line buffer that may hold a password: grown by copy, wiped before it is freed. */
typedef struct line_buf {
    char *data;
    size_t cap;
} line_buf;

static void line_buf_free(line_buf *b)
{
    dr_wipe(b->data, b->cap);
    free(b->data);
    b->data = NULL;
    b->cap = 0;
}

/*
 * Read one line (its line break kept) into @p b, NUL-terminated. @return 1 for a line,
 * 0 at the end of the file, -1 for a line longer than DR_CONFIG_MAX_LINE bytes (not
 * counting its line break), -2 out of memory, -3 a read error (errno).
 */
static int read_line(FILE *f, line_buf *b)
{
    size_t n = 0;
    int c = EOF;
    while ((c = getc(f)) != EOF) {
        if (c != '\n' && n >= DR_CONFIG_MAX_LINE)
            return -1;
        if (n + 2 > b->cap) { /* never past DR_CONFIG_MAX_LINE + 2: the check above */
            size_t cap = b->cap ? b->cap * 2 : 256;
            if (cap > DR_CONFIG_MAX_LINE + 2)
                cap = DR_CONFIG_MAX_LINE + 2;
            char *grown = malloc(cap);
            if (grown == NULL)
                return -2;
            if (n)
                memcpy(grown, b->data, n);
            line_buf_free(b);
            b->data = grown;
            b->cap = cap;
        }
        b->data[n++] = (char)c;
        if (c == '\n')
            break;
    }
    if (ferror(f))
        return -3;
    if (n == 0)
        return 0;
    b->data[n] = '\0';
    return 1;
}

/* Note where @p key of @p section (NULL: the section header) was set, for later messages. */
static int record_line(parse_ctx *ctx, const char *section, const char *key)
{
    dr_config *cfg = ctx->cfg;
    if (cfg->nlines == cfg->lines_cap) {
        size_t cap = cfg->lines_cap ? cfg->lines_cap * 2 : 32;
        dr_config_line *grown = realloc(cfg->lines, cap * sizeof *grown);
        if (grown == NULL)
            return 0;
        cfg->lines = grown;
        cfg->lines_cap = cap;
    }
    dr_config_line *l = &cfg->lines[cfg->nlines];
    *l = (dr_config_line){.section = strdup(section), .key = key ? strdup(key) : NULL, .line = ctx->line};
    if (l->section == NULL || (key && l->key == NULL)) {
        free(l->section);
        free(l->key);
        return 0;
    }
    cfg->nlines++;
    return 1;
}

int dr_config_line_of(const dr_config *cfg, const char *section, const char *key)
{
    for (size_t i = 0; i < cfg->nlines; i++) {
        const dr_config_line *l = &cfg->lines[i];
        if (strcmp(l->section, section) == 0 && (key ? l->key && strcmp(l->key, key) == 0 : l->key == NULL))
            return l->line;
    }
    return 0;
}

/* In a config check, a problem of one line is reported and the reading goes on: 1 when
   @p ok (0) was such a problem and has been handed over. */
static int go_on(parse_ctx *ctx, int ok)
{
    if (ok || ctx->each == NULL || ctx->err == NULL || ctx->err->status != DR_ECONFIG)
        return ok;
    ctx->each(ctx->each_ctx, ctx->err);
    dr_error_clear(ctx->err);
    return 1;
}

/*
 * The file's lines, the syntax inih had (docs/configuration.md): '[section]'; 'key = value'
 * or 'key: value'; ';' or '#' comment lines; a ';' after a blank ends a value (and the '#'
 * rule of strip_comment); an indented line continues the previous key (a second value of
 * it); a UTF-8 byte order mark at the start; a NUL byte ends the line's text. Stops at
 * the first error, naming the line. @return 1, or 0 with the error in ctx->err.
 */
static int parse_file(parse_ctx *ctx, FILE *f)
{
    line_buf b = {0};
    char *section = NULL, *prev = NULL;
    int ok = replace_copy(&section, "") && replace_copy(&prev, ""), rc;
    if (!ok)
        dr_fail(ctx->err, DR_ENOMEM, "out of memory reading %s", ctx->shown);
    while (ok && (rc = read_line(f, &b)) != 0) {
        ctx->line++;
        if (rc == -1) {
            ok = go_on(ctx, config_fail(ctx, "the line is longer than %d bytes, the longest a configuration "
                                        "line may be", DR_CONFIG_MAX_LINE)); /* the rest is not read */
            break;
        }
        if (rc == -2 || rc == -3) {
            if (rc == -2)
                dr_fail(ctx->err, DR_ENOMEM, "out of memory reading %s", ctx->shown);
            else
                dr_fail(ctx->err, DR_ECONFIG, "cannot read the configuration file %s: %s", ctx->shown,
                        strerror(errno));
            ok = 0;
            break;
        }
        char *line = b.data, *start = line, *end;
        if (ctx->line == 1 && (unsigned char)start[0] == 0xEF && (unsigned char)start[1] == 0xBB &&
            (unsigned char)start[2] == 0xBF)
            start += 3;
        start = lskip(rstrip(start));
        if (*start == '\0' || *start == ';' || *start == '#')
            continue; /* blank or comment line */
        if (*prev && start > line) {
            ok = go_on(ctx, handler(ctx, section, prev, start)); /* an indented line: more of the key above */
        } else if (*start == '[') {
            end = find_chars_or_comment(start + 1, "]");
            if (*end != ']') {
                ok = go_on(ctx, config_fail(ctx, "syntax error: expected [section] or key = value"));
                if (!ok)
                    break;
                replace_copy(&prev, ""); /* an indented line after it continues nothing */
                continue;
            }
            *end = '\0';
            /* a [delivery NAME] exists from its header on, even without keys */
            if (strncmp(start + 1, "delivery ", 9) == 0 && !delivery_name_valid(start + 10)) {
                char qs[DR_QUOTE_SIZE];
                /* the keys below it belong to no section: the rest is not read */
                ok = go_on(ctx, config_fail(ctx, "section %s: expected [delivery NAME] with a NAME of letters, "
                                            "digits, '_', '-' and '.' (at most 64)", Q(start + 1, qs)));
                break;
            }
            if (strncmp(start + 1, "delivery ", 9) == 0 && delivery_section(ctx, start + 10) == NULL)
                ok = 0, dr_fail(ctx->err, DR_ENOMEM, "out of memory reading %s", ctx->shown);
            if (!ok || !replace_copy(&section, start + 1) || !replace_copy(&prev, "") ||
                (dr_config_line_of(ctx->cfg, section, NULL) == 0 && !record_line(ctx, section, NULL)))
                ok = 0, dr_fail(ctx->err, DR_ENOMEM, "out of memory reading %s", ctx->shown);
        } else {
            end = find_chars_or_comment(start, "=:");
            if (*end != '=' && *end != ':') {
                ok = go_on(ctx, config_fail(ctx, "syntax error: expected [section] or key = value"));
                if (!ok)
                    break;
                replace_copy(&prev, "");
                continue;
            }
            *end = '\0';
            char *name = rstrip(start), *value = end + 1;
            *find_chars_or_comment(value, NULL) = '\0';
            value = rstrip(lskip(value));
            if (!replace_copy(&prev, name)) {
                ok = 0, dr_fail(ctx->err, DR_ENOMEM, "out of memory reading %s", ctx->shown);
            } else {
                ok = handler(ctx, section, name, value);
                /* the first line of a key, for messages after the load (config check, job) */
                if (ok && dr_config_line_of(ctx->cfg, section, name) == 0 && !record_line(ctx, section, name))
                    ok = 0, dr_fail(ctx->err, DR_ENOMEM, "out of memory reading %s", ctx->shown);
                else
                    ok = go_on(ctx, ok);
            }
        }
    }
    line_buf_free(&b);
    free(section);
    free(prev);
    return ok;
}

dr_status dr_config_load(const char *explicit_path, dr_config *cfg, dr_error *err)
{
    return dr_config_load_each(explicit_path, cfg, NULL, NULL, err);
}

dr_status dr_config_load_each(const char *explicit_path, dr_config *cfg, dr_config_problem_fn each, void *each_ctx,
                              dr_error *err)
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
    /* stdio's buffer holds the file, a password in 'connect' too: ours is wiped after use */
    char iobuf[4096];
    setvbuf(f, iobuf, _IOFBF, sizeof iobuf);
    /* who may change the file, for dr_config_connection: of the file read, not of a path */
    struct stat sb;
    if (fstat(fileno(f), &sb) == 0) {
        cfg->file_known = 1;
        cfg->file_uid = (unsigned long)sb.st_uid;
        cfg->file_mode = (unsigned)sb.st_mode;
    }
    parse_ctx ctx = {.cfg = cfg, .err = err, .each = each, .each_ctx = each_ctx};
    dr_printable_copy(path, ctx.shown, sizeof ctx.shown);
    int ok = (cfg->path = strdup(path)) != NULL;
    if (!ok)
        dr_fail(err, DR_ENOMEM, "out of memory reading %s", ctx.shown);
    else
        ok = parse_file(&ctx, f) && check_deliveries(&ctx);
    fclose(f);
    dr_wipe(iobuf, sizeof iobuf);
    if (ok && cfg->connect && cfg->dsn) {
        ctx.line = dr_config_line_of(cfg, "connection", "dsn");
        dr_fail(err, DR_ECONFIG, "%s:%d: [connection] has both 'connect' and 'dsn': keep one", ctx.shown, ctx.line);
        ok = go_on(&ctx, 0);
    }
    if (!ok) {
        dr_status st = err && err->status != DR_OK ? err->status : DR_ECONFIG;
        dr_config_free(cfg);
        return st;
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
    free(s->currency);
    free(s->compare);
    free(s->deliver);
    free(s->run_lock_timeout);
    free(s->skip_existing);
    free(s->jobs);
    for (size_t i = 0; i < s->nopts; i++)
        free(s->opts[i]);
    memset(s, 0, sizeof *s);
}

void dr_config_free(dr_config *cfg)
{
    if (cfg == NULL)
        return;
    free(cfg->path);
    for (size_t i = 0; i < cfg->nlines; i++) {
        free(cfg->lines[i].section);
        free(cfg->lines[i].key);
    }
    free(cfg->lines);
    if (cfg->connect) /* it may hold a password */
        dr_wipe(cfg->connect, strlen(cfg->connect));
    free(cfg->connect);
    free(cfg->dsn);
    free(cfg->password_file);
    free(cfg->names_principals);
    free(cfg->names_tenant);
    settings_free(&cfg->defaults);
    for (size_t i = 0; i < cfg->njobs; i++) {
        free(cfg->jobs[i].name);
        settings_free(&cfg->jobs[i].s);
    }
    free(cfg->jobs);
    for (size_t i = 0; i < cfg->ndeliveries; i++) {
        dr_config_delivery *d = &cfg->deliveries[i];
        free(d->name);
        for (size_t k = 0; k < DR_DK_COUNT; k++)
            free(d->values[k]);
        for (size_t k = 0; k < d->noptions; k++)
            free(d->options[k]);
    }
    free(cfg->deliveries);
    memset(cfg, 0, sizeof *cfg);
}

const dr_config_job *dr_config_job_find(const dr_config *cfg, const char *name)
{
    for (size_t i = 0; i < cfg->njobs; i++)
        if (strcmp(cfg->jobs[i].name, name) == 0)
            return &cfg->jobs[i];
    return NULL;
}

/* "uid 1000 (alice)" into @p out. */
static void describe_owner(unsigned long uid, char *out, size_t size)
{
    struct passwd pw, *found = NULL;
    char buf[1024];
    if (getpwuid_r((uid_t)uid, &pw, buf, sizeof buf, &found) == 0 && found != NULL) {
        char name[128];
        dr_printable_copy(found->pw_name, name, sizeof name);
        snprintf(out, size, "uid %lu (%s)", uid, name);
    } else {
        snprintf(out, size, "uid %lu", uid);
    }
}

/*
 * May a file of owner @p uid and mode @p mode hold a secret? Like libpq's check of .pgpass
 * and ssh's StrictModes: owned by the user running the tool or by root, and writable by
 * nobody else; with @p private_read also readable by nobody else.
 */
dr_status dr_config_check_file(const char *what, const char *path, unsigned long uid, unsigned mode,
                               int private_read, dr_error *err)
{
    char qp[DR_QUOTE_SIZE], owner[200], me[200];
    unsigned bad = (unsigned)(S_IWGRP | S_IWOTH) | (private_read ? (unsigned)(S_IRGRP | S_IROTH) : 0u);
    unsigned long euid = (unsigned long)geteuid();
    describe_owner(uid, owner, sizeof owner);
    if (uid != euid && uid != 0) {
        describe_owner(euid, me, sizeof me);
        return dr_fail(err, DR_ECONFIG, "the %s %s (owner %s, mode %04o) belongs to another user: expected "
                       "the user running dynoreport, %s, or root as its owner", what, Q(path, qp), owner,
                       mode & 07777u, me);
    }
    if (mode & bad)
        return dr_fail(err, DR_ECONFIG, "the %s %s (owner %s, mode %04o) is %s by group or others: expected "
                       "chmod %s", what, Q(path, qp), owner, mode & 07777u,
                       (mode & (unsigned)(S_IWGRP | S_IWOTH)) ? "writable" : "readable",
                       private_read ? "600" : "go-w");
    return DR_OK;
}

dr_status dr_config_read_password(const char *path, char *out, size_t out_size, dr_error *err)
{
    char qp[DR_QUOTE_SIZE];
    dr_status st = DR_OK;
    size_t n = 0, len;
    struct stat sb;
    /* by handle: the file checked is the file read; O_NONBLOCK: a FIFO must not hang us */
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
    if (fd < 0)
        return dr_fail(err, DR_ECONFIG, "cannot read the password file %s: %s", Q(path, qp),
                       strerror(errno));
    if (fstat(fd, &sb) != 0) {
        st = dr_fail(err, DR_ECONFIG, "cannot read the password file %s: %s", Q(path, qp), strerror(errno));
        goto cleanup;
    }
    if (!S_ISREG(sb.st_mode)) {
        st = dr_fail(err, DR_ECONFIG, "the password file %s is not a regular file", Q(path, qp));
        goto cleanup;
    }
    if ((st = dr_config_check_file("password file", path, (unsigned long)sb.st_uid, (unsigned)sb.st_mode, 1,
                                err)) != DR_OK)
        goto cleanup;
    /* read(), not stdio: no buffer of ours but @p out ever holds the password */
    while (n < out_size) {
        ssize_t r = read(fd, out + n, out_size - n);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            st = dr_fail(err, DR_ECONFIG, "cannot read the password file %s: %s", Q(path, qp),
                         strerror(errno));
            goto cleanup;
        }
        if (r == 0)
            break;
        n += (size_t)r;
        if (memchr(out + n - (size_t)r, '\n', (size_t)r) != NULL)
            break;
    }
    char *nl = n ? memchr(out, '\n', n) : NULL;
    len = nl ? (size_t)(nl - out) : n;
    if (n == 0) {
        st = dr_fail(err, DR_ECONFIG, "the password file %s is empty", Q(path, qp));
        goto cleanup;
    }
    if (len >= out_size) {
        st = dr_fail(err, DR_ECONFIG, "the first line of the password file %s is longer than %zu bytes",
                     Q(path, qp), out_size - 1);
        goto cleanup;
    }
    if (len > 0 && out[len - 1] == '\r')
        len--;
    if (memchr(out, '\0', len) != NULL) {
        st = dr_fail(err, DR_ECONFIG, "the password in %s holds a NUL byte", Q(path, qp));
        goto cleanup;
    }
    dr_wipe(out + len, n - len); /* the rest of what was read: other lines */
    out[len] = '\0';
cleanup:
    if (st != DR_OK)
        dr_wipe(out, out_size);
    close(fd);
    return st;
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
    char pw[DR_PASSWORD_MAX + 1], where[512];
    dr_status st = DR_OK;
    int from_config = 0;
    if (!connect && !dsn) {
        connect = env_connect && *env_connect ? env_connect : NULL;
        dsn = env_dsn && *env_dsn ? env_dsn : NULL;
    }
    if (!connect && !dsn) {
        connect = cfg->connect;
        dsn = cfg->dsn;
        from_config = 1;
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
    if (n < 0 || (size_t)n >= out_size - 1) {
        dr_wipe(out, out_size);
        return dr_fail(err, DR_EUSAGE, "the connection string is longer than %zu bytes", out_size - 2);
    }
    /* password_file belongs to [connection]: never sent with a string from anywhere else */
    if (!from_config)
        return DR_OK;
    int typed = connect && dr_connstr_has_secret(connect);
    if (!cfg->password_file && !typed)
        return DR_OK;
    dr_printable_copy(cfg->path ? cfg->path : "", where, sizeof where);
    /* who may write the file decides where the password goes */
    if (cfg->path && cfg->file_known &&
        (st = dr_config_check_file(typed ? "configuration file, which holds a password," :
                                        "configuration file, which names a password file,",
                                cfg->path, cfg->file_uid, cfg->file_mode, 0, err)) != DR_OK)
        goto cleanup;
    if (!cfg->password_file)
        return DR_OK;
    if (typed) {
        st = dr_fail(err, DR_ECONFIG, "%s: [connection] has a password in 'connect' and 'password_file': "
                     "keep one (password_file)", where);
        goto cleanup;
    }
    if ((st = dr_config_read_password(cfg->password_file, pw, sizeof pw, err)) != DR_OK)
        goto cleanup;
    /* PWD={...} with every '}' doubled: the ODBC quoting unixODBC and psqlODBC read, so a
       password may hold ';', '=', '{', '}' and blanks, and can add no attribute */
    size_t len = strlen(out);
    if (len && out[len - 1] != ';')
        out[len++] = ';';
    static const char head[] = "PWD={", tail_[] = "};";
    size_t need = len + sizeof head - 1 + sizeof tail_ - 1 + 1;
    for (const char *c = pw; *c; c++)
        need += *c == '}' ? 2 : 1;
    if (need > out_size - 1) {
        st = dr_fail(err, DR_ECONFIG, "the connection string with the password of %s is longer than %zu bytes",
                     where, out_size - 2);
        goto cleanup;
    }
    memcpy(out + len, head, sizeof head - 1);
    len += sizeof head - 1;
    for (const char *c = pw; *c; c++) {
        out[len++] = *c;
        if (*c == '}')
            out[len++] = '}';
    }
    memcpy(out + len, tail_, sizeof tail_);
cleanup:
    dr_wipe(pw, sizeof pw);
    if (st != DR_OK)
        dr_wipe(out, out_size);
    return st;
}

int dr_duration_ms(const char *text, long *ms)
{
    static const struct { const char *unit; long ms; } units[] = {
        {"ms", 1}, {"s", 1000}, {"min", 60000}, {"h", 3600000},
    };
    const char *p = text;
    long long n = 0;
    int digits = 0;
    for (; *p >= '0' && *p <= '9' && digits < 10; p++, digits++)
        n = n * 10 + (*p - '0');
    if (digits == 0 || (*p >= '0' && *p <= '9'))
        return 0;
    if (*p == '\0') { /* a bare number only for 0: "5" could mean seconds or ms */
        if (n != 0)
            return 0;
        *ms = 0;
        return 1;
    }
    for (size_t i = 0; i < sizeof units / sizeof units[0]; i++)
        if (strcmp(p, units[i].unit) == 0) {
            long long v = n * units[i].ms;
            if (v > 2147483647LL)
                return 0;
            *ms = (long)v;
            return 1;
        }
    return 0;
}

int dr_jobs_parse(const char *text, long *n)
{
    long v = 0;
    const char *p = text;
    for (; *p >= '0' && *p <= '9' && v <= DR_MAX_JOBS; p++)
        v = v * 10 + (*p - '0');
    if (p == text || *p != '\0' || v < 1 || v > DR_MAX_JOBS)
        return 0;
    *n = v;
    return 1;
}

int dr_currency_valid(const char *code)
{
    return code && strlen(code) == 3 && code[0] >= 'A' && code[0] <= 'Z' && code[1] >= 'A' && code[1] <= 'Z' &&
           code[2] >= 'A' && code[2] <= 'Z';
}

int dr_compare_valid(const char *mode)
{
    return mode && (strcmp(mode, "previous") == 0 || strcmp(mode, "year-ago") == 0 || strcmp(mode, "none") == 0);
}

void dr_config_view(const dr_config *cfg, const dr_settings *job, const char *cli_compare, dr_view_request *out)
{
    out->names_principals = cfg->names_principals;
    out->names_tenant = cfg->names_tenant;
    out->compare = cli_compare               ? cli_compare
                 : job && job->compare        ? job->compare
                 : cfg->defaults.compare      ? cfg->defaults.compare
                                              : "previous";
    out->currency = job && job->currency ? job->currency : cfg->defaults.currency ? cfg->defaults.currency : "";
}
