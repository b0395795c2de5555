/* Deliveries after the commit: the destinations checked once per process, recipients
   resolved per tenant (a read-only transaction), the summary of a run for a message, the
   attempts with backoff, and the record of every delivery (dyno_crm.report_delivery). */
#define _GNU_SOURCE /* memmem */
#include "delivery.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "plugin_host.h"
#include "run_view.h"
#include "sql_embedded.h"

#define MAX_RECIPIENTS 256
#define ADDRESS_MAX 254 /* RFC 5321's path limit, less the brackets */

/* One checked destination. */
typedef struct destination {
    const dr_config_delivery *cfg;
    const char *kind;
    dr_loaded_delivery loaded; /* not loaded for the built-in dir */
    const dr_delivery *desc;
    char *static_buf;          /* the 'recipients' list, split in place */
    const char *static_rcpt[MAX_RECIPIENTS];
    size_t nstatic;
    char *query_sql;           /* the recipients_query, or NULL */
    /* the files that decide whom we trust (known_hosts, private_key, ca_file), opened and
       checked once; plugins get /proc/self/fd/N of the descriptor checked, never the path */
    int tfd[3];
    char tproc[3][32];
    const char *tpath[3];
    int tline[3];
} destination;

/* The files passed by descriptor, in the order of destination.tfd. */
static const char *const trusted_keys[3] = {"known_hosts", "private_key", "ca_file"};

struct dr_delivery_plan {
    destination dests[DR_MAX_DELIVERIES];
    size_t n;
    const dr_config *cfg;
    const dr_log *log;
    dr_interrupt *intr;
    dr_plugin_path path;
};

/* What the plugin's callbacks get back. */
struct dr_delivery_host {
    const destination *d;
    const dr_log *log;
    const char *secret; /* during a delivery: no message that holds it is shown */
};

#define SECRET_WITHHELD "the message held the destination's credential and was withheld"

/* A message that holds @p secret anywhere is replaced whole by a fixed sentence: masking
   only the secret's characters would still show where and how long it is (in place). */
static int withhold(char *text, size_t size, const char *secret)
{
    if (secret == NULL || secret[0] == '\0' || strstr(text, secret) == NULL)
        return 0;
    snprintf(text, size, "%s", SECRET_WITHHELD);
    return 1;
}

static const char *cfg_value(const destination *d, dr_delivery_key k)
{
    return d->cfg->values[k] ? d->cfg->values[k] : "";
}

/* "FILE:LINE: [delivery NAME] key 'KEY': " in front of the message; the status becomes @p st. */
static dr_status where_error(const dr_config *cfg, const destination *d, int line, const char *key, dr_status st,
                             dr_error *err)
{
    char prefix[1200], path[512], name[128];
    dr_printable_copy(cfg->path ? cfg->path : "", path, sizeof path);
    dr_printable_copy(d->cfg->name, name, sizeof name);
    if (key)
        snprintf(prefix, sizeof prefix, "%s:%d: [delivery %s] key '%s': ", path, line, name, key);
    else
        snprintf(prefix, sizeof prefix, "%s:%d: [delivery %s]: ", path, line, name);
    dr_error_prefix(err, prefix);
    err->status = st;
    err->usage_hint = 0;
    return st;
}

static void host_log(dr_delivery_host *host, dr_log_level level, const char *message)
{
    char shown[1024], name[128];
    if (message == NULL)
        return;
    if (host->secret && host->secret[0] && strstr(message, host->secret))
        message = SECRET_WITHHELD;
    dr_printable_copy(message, shown, sizeof shown);
    dr_printable_copy(host->d->cfg->name, name, sizeof name);
    dr_log_msg(host->log, level, "delivery %s: %s", name, shown);
}

/* The section's own keys first (user, known_hosts, private_key, manifest, latest, ...;
   credentials_file gives its path, never its content), then its 'option = KEY=VALUE'. */
static const char *host_option(dr_delivery_host *host, const char *key)
{
    const dr_config_delivery *c = host->d->cfg;
    size_t klen = strlen(key);
    const char *found = NULL;
    if (strcmp(key, "manifest") == 0 && c->values[DR_DK_MANIFEST])
        return c->manifest ? "yes" : "no";
    if (strcmp(key, "latest") == 0 && c->values[DR_DK_LATEST])
        return c->latest ? "yes" : "no";
    for (int k = 0; k < 3; k++)
        if (strcmp(key, trusted_keys[k]) == 0 && host->d->tfd[k] >= 0)
            return host->d->tproc[k];
    for (int k = 0; k < DR_DK_COUNT; k++)
        if (strcmp(key, dr_delivery_key_name((dr_delivery_key)k)) == 0 && c->values[k])
            return c->values[k];
    for (size_t i = 0; i < c->noptions; i++) /* the last one of a key wins */
        if (strncmp(c->options[i], key, klen) == 0 && c->options[i][klen] == '=')
            found = c->options[i] + klen + 1;
    return found;
}

/* The owner and mode rule on an open file: the owner root or the user running dynoreport,
   writable by no one else (with @p private_read also readable by no one else). */
static dr_status check_open_file(int fd, const char *what, const char *path, int private_read, dr_error *err)
{
    char q[DR_QUOTE_SIZE];
    struct stat sb;
    if (fstat(fd, &sb) != 0)
        return dr_fail(err, DR_ECONFIG, "cannot read the %s %s: %s", what, dr_quote(path, strlen(path), q, sizeof q),
                       strerror(errno));
    if (!S_ISREG(sb.st_mode))
        return dr_fail(err, DR_ECONFIG, "the %s %s is not a regular file", what,
                       dr_quote(path, strlen(path), q, sizeof q));
    return dr_config_check_file(what, path, (unsigned long)sb.st_uid, (unsigned)sb.st_mode, private_read, err);
}

/* "known hosts file" for known_hosts. */
static void key_words(const char *key, char *what, size_t size)
{
    if (strcmp(key, "ca_file") == 0) {
        snprintf(what, size, "CA certificates file");
        return;
    }
    snprintf(what, size, "%s%s", key, strcmp(key, "private_key") == 0 || strcmp(key, "known_hosts") == 0 ? " file" : "");
    for (char *p = what; *p; p++)
        if (*p == '_')
            *p = ' ';
}

/* A file named by @p key must exist, be a regular file and pass the owner and mode rule;
   every directory on its path must pass the plugin trust rule (dr_trusted_data_open).
   With @p slot >= 0 the descriptor checked is kept for the deliveries (d->tfd[slot]). */
static dr_status check_secret_file(const dr_config *cfg, destination *d, const char *key, const char *path,
                                   int line, int private_read, int slot, dr_error *err)
{
    char what[64];
    int fd = -1;
    if (path == NULL)
        return DR_OK;
    key_words(key, what, sizeof what);
    dr_status st = dr_trusted_data_open(path, what, &fd, err);
    if (st == DR_OK)
        st = check_open_file(fd, what, path, private_read, err);
    if (st == DR_OK && slot >= 0) {
        d->tfd[slot] = fd;
        snprintf(d->tproc[slot], sizeof d->tproc[slot], "/proc/self/fd/%d", fd);
        d->tpath[slot] = path;
        d->tline[slot] = line;
        fd = -1;
    }
    if (fd >= 0)
        close(fd);
    if (st != DR_OK)
        return where_error(cfg, d, line, strcmp(key, "ca_file") == 0 ? "option" : key, st, err);
    return DR_OK;
}

/* Before each delivery: the files kept open are still regular files of a trusted owner
   and mode (their owner may have changed them since). DR_OK or DR_ECONFIG in @p err. */
static dr_status recheck_trusted(const destination *d, dr_error *err)
{
    for (int k = 0; k < 3; k++) {
        char what[64];
        if (d->tfd[k] < 0)
            continue;
        key_words(trusted_keys[k], what, sizeof what);
        dr_status st = check_open_file(d->tfd[k], what, d->tpath[k], k == 1, err);
        if (st != DR_OK)
            return st;
    }
    return DR_OK;
}

/* A plugin's message names the path configured, not the /proc/self/fd/N it was given. */
static void unproc(const destination *d, char *text, size_t size)
{
    for (int k = 0; k < 3; k++) {
        if (d->tfd[k] < 0)
            continue;
        size_t fl = strlen(d->tproc[k]);
        char *hit = text;
        while ((hit = strstr(hit, d->tproc[k])) != NULL) {
            if (hit[fl] >= '0' && hit[fl] <= '9') {
                hit += fl;
                continue;
            }
            char rest[2048];
            snprintf(rest, sizeof rest, "%s", hit + fl);
            size_t at = (size_t)(hit - text);
            int n = snprintf(hit, size - at, "%s%s", d->tpath[k], rest);
            size_t adv = strlen(d->tpath[k]);
            if (n < 0 || (size_t)n >= size - at || adv >= size - at)
                break;
            hit += adv;
        }
    }
}

/* The host of URL (scheme://[user@]HOST[:PORT]/...) is a loopback address: 127.0.0.0/8,
   ::1 or localhost. */
static int url_host_is_loopback(const char *url)
{
    const char *p = url ? strstr(url, "://") : NULL;
    char host[256];
    unsigned char addr[16];
    if (p == NULL)
        return 0;
    p += 3;
    size_t n = strcspn(p, "/?#");
    const char *at = memchr(p, '@', n);
    if (at) {
        n -= (size_t)(at + 1 - p);
        p = at + 1;
    }
    if (*p == '[') {
        const char *close_b = memchr(p, ']', n);
        if (close_b == NULL || (size_t)(close_b - p - 1) >= sizeof host)
            return 0;
        snprintf(host, sizeof host, "%.*s", (int)(close_b - p - 1), p + 1);
        return inet_pton(AF_INET6, host, addr) == 1 && memcmp(addr, in6addr_loopback.s6_addr, 16) == 0;
    }
    n = strcspn(p, ":/?#");
    if (n >= sizeof host)
        return 0;
    snprintf(host, sizeof host, "%.*s", (int)n, p);
    if (strcasecmp(host, "localhost") == 0)
        return 1;
    return inet_pton(AF_INET, host, addr) == 1 && addr[0] == 127;
}

/* An address we put in an SMTP envelope, strictly: LOCAL@DOMAIN with LOCAL a dot-atom of
   letters, digits and !#$&'*+-/=?^_`{|}~ but no '%' or '!' (the relay hacks that route
   through one server to another) and no "=?" (an encoded word), at most 64 bytes; DOMAIN
   host names of letters, digits and '-' (no IP literal such as [127.0.0.1]), each 1..63
   bytes; ASCII only; at most 254 bytes in all. */
static int address_valid(const char *a, size_t len)
{
    const char *at = memchr(a, '@', len);
    if (len == 0 || len > ADDRESS_MAX || at == NULL || at == a || at == a + len - 1 || at - a > 64)
        return 0;
    size_t llen = (size_t)(at - a);
    for (size_t i = 0; i < llen; i++) {
        unsigned char c = (unsigned char)a[i];
        int ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                 (c != 0 && strchr("#$&'*+-/=?^_`{|}~.", c) != NULL);
        if (!ok || (c == '.' && (i == 0 || i == llen - 1 || a[i - 1] == '.')) ||
            (c == '=' && i + 1 < llen && a[i + 1] == '?'))
            return 0;
    }
    size_t label = 0;
    for (const char *p = at + 1; p < a + len; p++) {
        unsigned char c = (unsigned char)*p;
        if (c == '.') {
            if (label == 0 || p[-1] == '-')
                return 0;
            label = 0;
            continue;
        }
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-') ||
            (c == '-' && label == 0) || ++label > 63)
            return 0;
    }
    return label > 0 && a[len - 1] != '-';
}

/* The host side of the ABI for one call. */
static void args_init(dr_delivery_args *a, dr_delivery_host *host, const destination *d, char *errbuf,
                      size_t errsize, char *remote, size_t remote_size)
{
    *a = (dr_delivery_args){
        .abi_major = DR_DELIVERY_ABI_MAJOR, .size = sizeof(dr_delivery_args), .host = host,
        .destination = d->cfg->name, .url = cfg_value(d, DR_DK_URL), .from = cfg_value(d, DR_DK_FROM),
        .reply_to = cfg_value(d, DR_DK_REPLY_TO), .subject = "", .body_text = "", .body_html = "",
        .log = host_log, .option = host_option, .errbuf = errbuf, .errbuf_size = errsize, .remote = remote,
        .remote_size = remote_size};
    a->recipients = d->static_rcpt;
    a->nrecipients = d->nstatic;
    errbuf[0] = '\0';
    remote[0] = '\0';
}

static dr_status build_destination(dr_delivery_plan *plan, const dr_config_delivery *c, destination *d,
                                   dr_error *err)
{
    const dr_config *cfg = plan->cfg;
    char q[DR_QUOTE_SIZE];
    dr_status st = DR_OK;
    d->cfg = c;
    for (int k = 0; k < 3; k++)
        d->tfd[k] = -1;
    d->kind = c->values[DR_DK_KIND] ? c->values[DR_DK_KIND] : "dir";
    int kind_line = c->lines[DR_DK_KIND] ? c->lines[DR_DK_KIND] : c->line;
    if (strcmp(d->kind, "dir") == 0) {
        d->desc = dr_delivery_dir_builtin();
    } else {
        if ((st = dr_delivery_find(&plan->path, d->kind, &d->loaded, err)) != DR_OK)
            return where_error(cfg, d, kind_line, "kind", DR_ECONFIG, err);
        d->desc = d->loaded.desc;
    }
    /* files that hold secrets or decide whom we trust: nobody else may change them */
    if ((st = check_secret_file(cfg, d, "credentials_file", c->values[DR_DK_CREDENTIALS_FILE],
                                c->lines[DR_DK_CREDENTIALS_FILE], 1, -1, err)) != DR_OK ||
        (st = check_secret_file(cfg, d, "known_hosts", c->values[DR_DK_KNOWN_HOSTS], c->lines[DR_DK_KNOWN_HOSTS], 0, 0,
                                err)) != DR_OK ||
        (st = check_secret_file(cfg, d, "private_key", c->values[DR_DK_PRIVATE_KEY], c->lines[DR_DK_PRIVATE_KEY], 1, 1,
                                err)) != DR_OK)
        return st;
    if (c->values[DR_DK_RECIPIENTS_QUERY] &&
        (st = dr_query_file_read("recipients query", c->values[DR_DK_RECIPIENTS_QUERY], &d->query_sql, err)) != DR_OK)
        return where_error(cfg, d, c->lines[DR_DK_RECIPIENTS_QUERY], "recipients_query", st, err);
    if (c->values[DR_DK_RECIPIENTS]) {
        if ((d->static_buf = strdup(c->values[DR_DK_RECIPIENTS])) == NULL)
            return dr_fail(err, DR_ENOMEM, "out of memory");
        if (dr_split_list(d->static_buf, d->static_rcpt, MAX_RECIPIENTS, &d->nstatic) < 0) {
            dr_fail(err, DR_ECONFIG, "more than %d addresses", MAX_RECIPIENTS);
            return where_error(cfg, d, c->lines[DR_DK_RECIPIENTS], "recipients", DR_ECONFIG, err);
        }
        for (size_t i = 0; i < d->nstatic; i++)
            if (!address_valid(d->static_rcpt[i], strlen(d->static_rcpt[i]))) {
                dr_fail(err, DR_ECONFIG, "%s is not a mail address: expected a comma list of addresses "
                        "such as sales-managers@example.com", dr_quote(d->static_rcpt[i],
                        strlen(d->static_rcpt[i]), q, sizeof q));
                return where_error(cfg, d, c->lines[DR_DK_RECIPIENTS], "recipients", DR_ECONFIG, err);
            }
    }
    const char *from = c->values[DR_DK_FROM], *reply = c->values[DR_DK_REPLY_TO];
    if (from && !address_valid(from, strlen(from))) {
        dr_fail(err, DR_ECONFIG, "%s is not a mail address: expected one address such as reports@example.com",
                dr_quote(from, strlen(from), q, sizeof q));
        return where_error(cfg, d, c->lines[DR_DK_FROM], "from", DR_ECONFIG, err);
    }
    if (reply && !address_valid(reply, strlen(reply))) {
        dr_fail(err, DR_ECONFIG, "%s is not a mail address: expected one address", dr_quote(reply, strlen(reply), q,
                sizeof q));
        return where_error(cfg, d, c->lines[DR_DK_REPLY_TO], "reply_to", DR_ECONFIG, err);
    }
    /* every option is one the plugin knows */
    for (size_t i = 0; i < c->noptions; i++) {
        const char *keys = NULL;
        int known = d->desc->option_keys == NULL;
        size_t klen = strcspn(c->options[i], "=");
        for (const char *const *k = d->desc->option_keys; k && *k && !known; k++)
            known = strlen(*k) == klen && strncmp(*k, c->options[i], klen) == 0;
        if (!known) {
            char list[512] = "";
            size_t used = 0;
            for (const char *const *k = d->desc->option_keys; k && *k && used < sizeof list; k++)
                used += (size_t)snprintf(list + used, sizeof list - used, "%s%s", used ? ", " : "", *k);
            keys = used ? list : "none";
            dr_fail(err, DR_ECONFIG, "unknown option %s for kind %s: expected one of %s",
                    dr_quote(c->options[i], klen, q, sizeof q), d->kind, keys);
            return where_error(cfg, d, c->option_lines[i], "option", DR_ECONFIG, err);
        }
    }
    /* option ca_file: the certificates we trust, checked as known_hosts and passed by
       descriptor; option tls=none: no password in cleartext to another machine */
    int tls_none_line = 0;
    for (size_t i = 0; i < c->noptions; i++) {
        if (strncmp(c->options[i], "ca_file=", 8) == 0) {
            if (d->tfd[2] >= 0) {
                close(d->tfd[2]);
                d->tfd[2] = -1;
            }
            if ((st = check_secret_file(cfg, d, "ca_file", c->options[i] + 8, c->option_lines[i], 0, 2,
                                        err)) != DR_OK)
                return st;
        } else if (strncmp(c->options[i], "tls=", 4) == 0) {
            tls_none_line = strcmp(c->options[i] + 4, "none") == 0 ? c->option_lines[i] : 0;
        }
    }
    if (tls_none_line && strcmp(d->kind, "mail") == 0 &&
        (c->values[DR_DK_USER] || c->values[DR_DK_CREDENTIALS_FILE]) && !url_host_is_loopback(c->values[DR_DK_URL])) {
        dr_fail(err, DR_ECONFIG, "tls=none with user or credentials_file would send the password in cleartext to "
                "%s: expected tls=starttls or an smtps:// url (tls=none with a login only to a loopback host: "
                "127.0.0.0/8, ::1, localhost)", dr_quote(cfg_value(d, DR_DK_URL), strlen(cfg_value(d, DR_DK_URL)), q,
                sizeof q));
        return where_error(cfg, d, tls_none_line, "option", DR_ECONFIG, err);
    }
    if (d->desc->check) {
        char errbuf[1024], remote[8];
        dr_delivery_host host = {d, plan->log, NULL};
        dr_delivery_args a;
        args_init(&a, &host, d, errbuf, sizeof errbuf, remote, sizeof remote);
        dr_delivery_status ds = d->desc->check(&a);
        if (ds != DR_DELIVERY_OK) {
            char shown[1024];
            dr_printable_copy(errbuf[0] ? errbuf : "the plugin refused the configuration", shown, sizeof shown);
            dr_fail(err, ds == DR_DELIVERY_ENOMEM ? DR_ENOMEM : DR_ECONFIG, "%s", shown);
            return where_error(cfg, d, c->line, NULL, ds == DR_DELIVERY_ENOMEM ? DR_ENOMEM : DR_ECONFIG, err);
        }
    }
    return DR_OK;
}

dr_status dr_delivery_plan_build(const dr_config *cfg, const char *const *names, size_t nnames, int from_cli,
                                 const char *plugin_dir, const dr_log *log, dr_interrupt *intr,
                                 dr_delivery_plan **out, dr_error *err)
{
    char q[DR_QUOTE_SIZE];
    dr_status st = DR_OK;
    *out = NULL;
    if (nnames == 0)
        return DR_OK;
    if (nnames > DR_MAX_DELIVERIES)
        return dr_fail(err, from_cli ? DR_EUSAGE : DR_ECONFIG, "more than %d destinations to deliver to",
                       DR_MAX_DELIVERIES);
    dr_delivery_plan *plan = calloc(1, sizeof *plan);
    if (plan == NULL)
        return dr_fail(err, DR_ENOMEM, "out of memory");
    plan->cfg = cfg;
    plan->log = log;
    plan->intr = intr;
    dr_plugin_path_init(&plan->path, plugin_dir);
    for (size_t i = 0; i < nnames && st == DR_OK; i++) {
        const dr_config_delivery *c = dr_config_delivery_find(cfg, names[i]);
        if (c == NULL) {
            char where[512];
            dr_printable_copy(cfg->path ? cfg->path : "no configuration file", where, sizeof where);
            st = from_cli ? dr_fail_usage(err, "unknown --deliver %s: expected the NAME of a [delivery NAME] "
                                          "section of the configuration file", names[i])
                          : dr_fail(err, DR_ECONFIG, "%s: no [delivery %s] section", where,
                                    dr_quote(names[i], strlen(names[i]), q, sizeof q));
            break;
        }
        int dup = 0;
        for (size_t j = 0; j < plan->n; j++)
            dup |= plan->dests[j].cfg == c;
        if (dup)
            continue; /* named twice: delivered once */
        st = build_destination(plan, c, &plan->dests[plan->n], err);
        plan->n++;
    }
    if (st != DR_OK) {
        dr_delivery_plan_free(plan);
        return st;
    }
    *out = plan;
    return DR_OK;
}

const char *dr_delivery_plan_dir_without_url(const dr_delivery_plan *plan)
{
    for (size_t i = 0; plan && i < plan->n; i++)
        if (strcmp(plan->dests[i].kind, "dir") == 0 && plan->dests[i].cfg->values[DR_DK_URL] == NULL)
            return plan->dests[i].cfg->name;
    return NULL;
}

void dr_delivery_plan_free(dr_delivery_plan *plan)
{
    if (plan == NULL)
        return;
    for (size_t i = 0; i < plan->n; i++) {
        dr_delivery_unload(&plan->dests[i].loaded);
        for (int k = 0; k < 3; k++)
            if (plan->dests[i].tfd[k] >= 0)
                close(plan->dests[i].tfd[k]);
        free(plan->dests[i].static_buf);
        free(plan->dests[i].query_sql);
    }
    dr_plugin_path_free(&plan->path);
    free(plan);
}

const char *dr_delivery_content_type(const char *format)
{
    static const struct { const char *format, *type; } types[] = {
        {"csv", "text/csv"},
        {"xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"},
        {"json", "application/json"},
    };
    for (size_t i = 0; format && i < sizeof types / sizeof types[0]; i++)
        if (strcmp(format, types[i].format) == 0)
            return types[i].type;
    return "application/octet-stream";
}

/* ---- text of a message ------------------------------------------------------------- */

/* A growing string. */
typedef struct sbuf {
    char *p;
    size_t len, cap;
    int failed;
} sbuf;

static void sb_add(sbuf *b, const char *s, size_t n)
{
    if (b->failed)
        return;
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < b->len + n + 1)
            cap *= 2;
        char *np = realloc(b->p, cap);
        if (np == NULL) {
            b->failed = 1;
            return;
        }
        b->p = np;
        b->cap = cap;
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
}

static void sb_printf(sbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void sb_printf(sbuf *b, const char *fmt, ...)
{
    char tmp[2048];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    sb_add(b, tmp, (size_t)n < sizeof tmp ? (size_t)n : sizeof tmp - 1);
}

/* Text from the database in HTML: & < > " ' escaped. */
static void sb_html(sbuf *b, const char *s)
{
    for (; s && *s; s++) {
        switch (*s) {
        case '&': sb_add(b, "&amp;", 5); break;
        case '<': sb_add(b, "&lt;", 4); break;
        case '>': sb_add(b, "&gt;", 4); break;
        case '"': sb_add(b, "&quot;", 6); break;
        case '\'': sb_add(b, "&#39;", 5); break;
        default: sb_add(b, s, 1); break;
        }
    }
}

/* Text from the database in the plain-text body: control bytes but LF become spaces. */
static void sb_plain(sbuf *b, const char *s)
{
    for (; s && *s; s++)
        sb_add(b, ((unsigned char)*s < 0x20 || *s == 0x7f) ? " " : s, 1);
}

/* The summary of a run: the plain-text body and its HTML alternative. */
static dr_status build_bodies(dr_db *db, const dr_delivery_run *run, sbuf *text, sbuf *html, dr_error *err)
{
    const dr_run_info *i = run->info;
    dr_param p[] = {{"run_id", i->run_id}};
    dr_cursor *c = NULL;
    const char *tname = run->tenant_name && *run->tenant_name ? run->tenant_name : i->tenant_id;
    const char *ptitle = run->period_title && *run->period_title ? run->period_title : i->period_label;
    sb_printf(text, "Representative Performance report\n\nTenant:     ");
    sb_plain(text, tname);
    sb_printf(text, " (%s)\nPeriod:     ", i->tenant_id);
    sb_plain(text, ptitle);
    sb_printf(text, " (%s to %s)\nPrincipals: %s\n\nTop reps by amount won:\n", i->period_start, i->period_end,
              i->principals);
    sb_printf(html, "<!DOCTYPE html>\n<html><body>\n<h1>Representative Performance report</h1>\n<table>\n"
                    "<tr><th align=\"left\">Tenant</th><td>");
    sb_html(html, tname);
    sb_printf(html, "</td></tr>\n<tr><th align=\"left\">Period</th><td>");
    sb_html(html, ptitle);
    sb_printf(html, "</td></tr>\n<tr><th align=\"left\">Principals</th><td>");
    sb_html(html, i->principals);
    sb_printf(html, "</td></tr>\n</table>\n<h2>Top reps by amount won</h2>\n<ol>\n");
    dr_status st = dr_db_query_named(db, dr_sql_delivery_top_reps, p, 1, 0, &c, err);
    int rank = 0;
    while (st == DR_OK) {
        const char *v[2];
        size_t l[2];
        int has = 0;
        if ((st = dr_cursor_next(c, &has, v, l, err)) != DR_OK || !has)
            break;
        sb_printf(text, "  %d. ", ++rank);
        sb_plain(text, v[0]);
        sb_printf(text, " - %s\n", v[1] ? v[1] : "0");
        sb_printf(html, "<li>");
        sb_html(html, v[0]);
        sb_printf(html, ": %s</li>\n", v[1] ? v[1] : "0");
    }
    dr_cursor_close(c);
    dr_db_rollback(db);
    if (st != DR_OK)
        return st;
    if (rank == 0) {
        sb_printf(text, "  (no rep in this period)\n");
        sb_printf(html, "<li>(no rep in this period)</li>\n");
    }
    sb_printf(text, "\nFiles of the run:\n");
    sb_printf(html, "</ol>\n<p>Files of the run:</p>\n<ul>\n");
    for (size_t f = 0; f < run->nfiles; f++) {
        sb_printf(text, "  %s\n", run->files[f].name);
        sb_printf(html, "<li>");
        sb_html(html, run->files[f].name);
        sb_printf(html, "</li>\n");
    }
    sb_printf(text, "\nRun id: %s\nGenerated: %s\n", i->run_id, i->generated_at);
    sb_printf(html, "</ul>\n<p>Run id: %s<br>Generated: %s</p>\n</body></html>\n", i->run_id, i->generated_at);
    if (text->failed || html->failed)
        return dr_fail(err, DR_ENOMEM, "out of memory");
    return DR_OK;
}

/* The subject template with the file-name tokens, plus {tenant_name} and {period_title}. */
static dr_status expand_subject(const char *tmpl, const dr_delivery_run *run, sbuf *out, dr_error *err)
{
    const dr_run_info *i = run->info;
    const struct { const char *token, *value; } tokens[] = {
        {"report", i->report}, {"tenant", i->tenant_id}, {"period", i->period_label}, {"from", run->from_c},
        {"to", run->to_c}, {"run_id", i->run_id}, {"generated", run->generated_c},
        {"tenant_name", run->tenant_name && *run->tenant_name ? run->tenant_name : i->tenant_id},
        {"period_title", run->period_title && *run->period_title ? run->period_title : i->period_label},
    };
    for (const char *p = tmpl; *p;) {
        if (*p != '{') {
            sb_add(out, p++, 1);
            continue;
        }
        const char *end = strchr(p, '}');
        size_t k = 0, n = end ? (size_t)(end - p - 1) : 0;
        for (; end && k < sizeof tokens / sizeof tokens[0]; k++)
            if (strlen(tokens[k].token) == n && strncmp(p + 1, tokens[k].token, n) == 0)
                break;
        if (end == NULL || k == sizeof tokens / sizeof tokens[0]) {
            char q[DR_QUOTE_SIZE];
            return dr_fail(err, DR_ECONFIG, "the subject %s has an unknown token or an unbalanced '{': expected "
                           "{report} {tenant} {period} {from} {to} {run_id} {generated} {tenant_name} "
                           "{period_title}", dr_quote(tmpl, strlen(tmpl), q, sizeof q));
        }
        sb_plain(out, tokens[k].value ? tokens[k].value : ""); /* a name with a line break: a space */
        p = end + 1;
    }
    sb_add(out, "", 0);
    return out->failed ? dr_fail(err, DR_ENOMEM, "out of memory") : DR_OK;
}

/* ---- recipients ------------------------------------------------------------------- */

typedef struct rcpt_list {
    char *store[MAX_RECIPIENTS]; /* addresses from the query (owned) */
    size_t nstore;
    const char *all[MAX_RECIPIENTS];
    size_t n;
} rcpt_list;

static void rcpt_free(rcpt_list *r)
{
    for (size_t i = 0; i < r->nstore; i++)
        free(r->store[i]);
    r->nstore = r->n = 0;
}

static int rcpt_add(rcpt_list *r, const char *a)
{
    for (size_t i = 0; i < r->n; i++)
        if (strcasecmp(r->all[i], a) == 0)
            return 1;
    if (r->n >= MAX_RECIPIENTS)
        return 0;
    r->all[r->n++] = a;
    return 1;
}

/* The job's addresses and those the recipients query gives for the tenant, in a read-only
   transaction. A failure is the delivery's (its message goes to the record). */
static dr_status resolve_recipients(dr_db *db, const destination *d, const char *tenant, rcpt_list *r, char *errbuf,
                                    size_t errsize)
{
    dr_error e = {0};
    dr_cursor *c = NULL;
    char q[DR_QUOTE_SIZE];
    dr_status st = DR_OK;
    for (size_t i = 0; i < d->nstatic; i++)
        rcpt_add(r, d->static_rcpt[i]);
    if (d->query_sql == NULL)
        return DR_OK;
    dr_param p[] = {{"tenant", tenant}};
    st = dr_db_exec(db, dr_sql_delivery_read_only, NULL, 0, NULL, &e);
    if (st == DR_OK)
        st = dr_db_query_named(db, d->query_sql, p, 1, 0, &c, &e);
    if (st == DR_OK && dr_cursor_ncols(c) < 1)
        st = dr_fail(&e, DR_ECONFIG, "it returns no column: expected the addresses in its first column");
    while (st == DR_OK) {
        const char *v[16];
        size_t l[16];
        int has = 0;
        if (dr_cursor_ncols(c) > 16) {
            st = dr_fail(&e, DR_ECONFIG, "it returns more than 16 columns: expected the addresses in its first");
            break;
        }
        if ((st = dr_cursor_next(c, &has, v, l, &e)) != DR_OK || !has)
            break;
        if (v[0] == NULL)
            continue;
        if (!address_valid(v[0], l[0])) {
            st = dr_fail(&e, DR_EDATA, "it returned %s, which is not a mail address", dr_quote(v[0], l[0], q, sizeof q));
            break;
        }
        if (r->nstore >= MAX_RECIPIENTS) {
            st = dr_fail(&e, DR_EDATA, "it returned more than %d addresses", MAX_RECIPIENTS);
            break;
        }
        if ((r->store[r->nstore] = strndup(v[0], l[0])) == NULL) {
            st = dr_fail(&e, DR_ENOMEM, "out of memory");
            break;
        }
        rcpt_add(r, r->store[r->nstore++]);
    }
    dr_cursor_close(c);
    dr_db_rollback(db);
    if (st != DR_OK)
        snprintf(errbuf, errsize, "the recipients query %s failed for tenant %s: %.700s",
                 dr_quote(d->cfg->values[DR_DK_RECIPIENTS_QUERY], strlen(d->cfg->values[DR_DK_RECIPIENTS_QUERY]), q,
                          sizeof q), tenant, e.msg);
    return st;
}

/* ---- the attempts ------------------------------------------------------------------ */

/* Wait @p ms, in slices, unless a signal comes (then 1). */
static int backoff_wait(dr_interrupt *intr, unsigned long ms)
{
    while (ms > 0) {
        unsigned long slice = ms > 50 ? 50 : ms;
        struct timespec ts = {(time_t)(slice / 1000), (long)(slice % 1000) * 1000000L};
        nanosleep(&ts, NULL);
        ms -= slice;
        if (dr_interrupt_signal(intr))
            return 1;
    }
    return dr_interrupt_signal(intr) != 0;
}

/* The directory part of @p path, for the record of a dir delivery into the output directory. */
static void dir_part(const char *path, char *out, size_t size)
{
    const char *slash = strrchr(path, '/');
    if (slash == NULL)
        snprintf(out, size, ".");
    else
        snprintf(out, size, "%.*s", slash == path ? 1 : (int)(slash - path), path);
}

static dr_status record_start(dr_db *db, const dr_delivery_run *run, const destination *d, const char *target,
                              char *id, size_t idsize, dr_error *err)
{
    dr_param p[] = {{"run_id", run->info->run_id}, {"tenant", run->info->tenant_id},
                    {"destination", d->cfg->name}, {"kind", d->kind}, {"target", target}};
    char *dst[] = {id};
    size_t sizes[] = {idsize};
    int found = 0;
    dr_status st = dr_db_fetch_row_named(db, dr_sql_delivery_insert, p, sizeof p / sizeof p[0], dst, sizes, 1,
                                         &found, err);
    if (st == DR_OK)
        st = dr_db_commit(db, err);
    if (st != DR_OK)
        dr_db_rollback(db);
    return st;
}

static dr_status record_finish(dr_db *db, const char *id, int ok, unsigned attempts, const char *error,
                               const char *target, dr_error *err)
{
    char n[16];
    snprintf(n, sizeof n, "%u", attempts);
    dr_param p[] = {{"id", id}, {"status", ok ? "delivered" : "failed"}, {"attempts", n},
                    {"error", ok ? NULL : error}, {"target", target}};
    dr_status st = dr_db_exec_named(db, dr_sql_delivery_finish, p, sizeof p / sizeof p[0], NULL, err);
    if (st == DR_OK)
        st = dr_db_commit(db, err);
    if (st != DR_OK)
        dr_db_rollback(db);
    return st;
}

/* The recipients as the record shows them (and the target until the plugin says more). */
static void join_recipients(const rcpt_list *r, char *out, size_t size)
{
    size_t used = 0;
    out[0] = '\0';
    for (size_t i = 0; i < r->n && used + 1 < size; i++) {
        int k = snprintf(out + used, size - used, "%s%s", i ? ", " : "", r->all[i]);
        if (k < 0)
            break;
        used += (size_t)k;
    }
    if (used >= size)
        out[size - 1] = '\0';
}

#define DR_MAX_FORMATS_DELIVERED 16

/* Is @p format in the comma list @p list (NULL: every format)? */
static int format_listed(const char *list, const char *format)
{
    size_t n = strlen(format);
    if (list == NULL)
        return 1;
    for (const char *p = list; *p;) {
        while (*p == ' ' || *p == ',' || *p == '\t')
            p++;
        size_t k = strcspn(p, ", \t");
        if (k == n && strncmp(p, format, n) == 0)
            return 1;
        p += k;
    }
    return 0;
}

/* One destination: recipients, record, attempts, record. DR_EDELIVERY for its failure. */
static dr_status deliver_one(dr_delivery_plan *plan, destination *d, dr_db *db, const dr_delivery_run *run,
                             const char *subject, const char *text, const char *html, char *fail_msg, size_t fail_size,
                             dr_error *err)
{
    const dr_log *log = plan->log;
    rcpt_list r;
    char errbuf[1024] = "", remote[2048] = "", target[2048] = "", id[32] = "", name[128];
    char secret[DR_PASSWORD_MAX + 1] = "";
    dr_delivery_status ds = DR_DELIVERY_EFAIL;
    unsigned attempts = 0, max_attempts = d->cfg->retries + 1;
    int have_secret = 0;
    double t0 = dr_log_now_ms();
    memset(&r, 0, sizeof r);
    dr_printable_copy(d->cfg->name, name, sizeof name);
    dr_status st = resolve_recipients(db, d, run->info->tenant_id, &r, errbuf, sizeof errbuf);
    if (st == DR_EUNAVAILABLE || st == DR_ENOMEM || st == DR_EINTERRUPTED)
        goto cleanup; /* nothing can be recorded */
    join_recipients(&r, target, sizeof target);
    if (target[0] == '\0' && d->cfg->values[DR_DK_URL]) /* until the plugin says where it went */
        snprintf(target, sizeof target, "%s", d->cfg->values[DR_DK_URL]);
    else if (target[0] == '\0' && run->nfiles > 0) /* dir into the output directory */
        dir_part(run->files[0].path, target, sizeof target);
    dr_status rst = record_start(db, run, d, target, id, sizeof id, err);
    if (rst != DR_OK) {
        st = rst;
        goto cleanup;
    }
    if (st == DR_OK && strcmp(d->kind, "mail") == 0 && r.n == 0) {
        snprintf(errbuf, sizeof errbuf, "no recipients for tenant %s (recipients and recipients_query gave "
                 "none)", run->info->tenant_id);
        st = DR_EDATA;
    }
    if (st == DR_OK && d->cfg->values[DR_DK_CREDENTIALS_FILE]) {
        dr_error e = {0};
        if (dr_config_read_password(d->cfg->values[DR_DK_CREDENTIALS_FILE], secret, sizeof secret, &e) != DR_OK) {
            snprintf(errbuf, sizeof errbuf, "%s", e.msg);
            st = DR_ECONFIG;
        } else {
            have_secret = 1;
        }
    }
    /* the files of this destination: those of its 'formats' (all when not set) */
    dr_delivery_file files[DR_MAX_FORMATS_DELIVERED];
    size_t nfiles = 0;
    for (size_t i = 0; i < run->nfiles && nfiles < DR_MAX_FORMATS_DELIVERED; i++)
        if (format_listed(d->cfg->values[DR_DK_FORMATS], run->files[i].format))
            files[nfiles++] = run->files[i];
    if (st == DR_OK && nfiles == 0) {
        snprintf(errbuf, sizeof errbuf, "none of the run's files is of the formats '%s' of this destination",
                 cfg_value(d, DR_DK_FORMATS));
        st = DR_EDATA;
    }
    if (st == DR_OK) {
        dr_error e = {0};
        if (recheck_trusted(d, &e) != DR_OK) {
            snprintf(errbuf, sizeof errbuf, "%s", e.msg);
            st = DR_ECONFIG;
        }
    }
    while (st == DR_OK && attempts < max_attempts) {
        dr_delivery_host host = {d, log, have_secret ? secret : NULL};
        dr_delivery_args a;
        args_init(&a, &host, d, errbuf, sizeof errbuf, remote, sizeof remote);
        a.secret = have_secret ? secret : NULL;
        a.recipients = r.all;
        a.nrecipients = r.n;
        a.subject = subject;
        a.body_text = text;
        a.body_html = html;
        a.run = run->info;
        a.files = files;
        a.nfiles = nfiles;
        a.attempt = ++attempts;
        ds = d->desc->deliver(&a);
        errbuf[sizeof errbuf - 1] = '\0';
        remote[sizeof remote - 1] = '\0';
        unproc(d, errbuf, sizeof errbuf);
        withhold(errbuf, sizeof errbuf, have_secret ? secret : NULL);
        if (withhold(remote, sizeof remote, have_secret ? secret : NULL))
            remote[0] = '\0';
        if (ds == DR_DELIVERY_OK)
            break;
        if (errbuf[0] == '\0')
            snprintf(errbuf, sizeof errbuf, "the %s plugin failed without saying why", d->kind);
        if (ds != DR_DELIVERY_ETEMP || attempts >= max_attempts)
            break;
        unsigned long wait = (unsigned long)d->cfg->backoff_ms << (attempts - 1 < 16 ? attempts - 1 : 16);
        if (wait > 3600000UL) /* doubled, but never more than an hour */
            wait = 3600000UL;
        char shown[1024];
        dr_printable_copy(errbuf, shown, sizeof shown);
        dr_log_msg(log, DR_LOG_WARN, "warning: delivery %s: attempt %u of %u failed: %s; trying again in %lu ms",
                   name, attempts, max_attempts, shown, wait);
        if (backoff_wait(plan->intr, wait)) {
            snprintf(errbuf, sizeof errbuf, "interrupted by a signal after attempt %u", attempts);
            break;
        }
    }
    dr_wipe(secret, sizeof secret);
    int ok = st == DR_OK && ds == DR_DELIVERY_OK;
    if (remote[0])
        snprintf(target, sizeof target, "%s", remote);
    char shown_err[1024];
    dr_printable_copy(errbuf, shown_err, sizeof shown_err);
    dr_status fst = record_finish(db, id, ok, attempts, shown_err, target, err);
    if (fst != DR_OK) {
        st = fst;
        goto cleanup;
    }
    if (ok) {
        char shown_t[1024];
        dr_printable_copy(target, shown_t, sizeof shown_t);
        dr_log_msg(log, DR_LOG_INFO, "delivery %s: delivered to %s (%u attempt%s, %.0f ms)", name, shown_t,
                   attempts, attempts == 1 ? "" : "s", dr_log_now_ms() - t0);
        st = DR_OK;
    } else {
        snprintf(fail_msg, fail_size, "run %s is saved, but delivery %s failed after %u attempt%s: %.600s (send it "
                 "again with 'dynoreport deliver --run-id %s --to %s')", run->info->run_id, name, attempts,
                 attempts == 1 ? "" : "s", shown_err, run->info->run_id, name);
        if (plan->n > 1) /* the command's message names the first failure only */
            dr_log_msg(log, DR_LOG_ERROR, "error: %s", fail_msg);
        st = DR_EDELIVERY;
    }
cleanup:
    dr_wipe(secret, sizeof secret);
    rcpt_free(&r);
    return st;
}

dr_status dr_delivery_execute(dr_delivery_plan *plan, dr_db *db, const dr_delivery_run *run, dr_error *err)
{
    sbuf text = {0}, html = {0};
    char first[1024] = "";
    size_t nfailed = 0;
    dr_status st = DR_OK;
    if (plan == NULL || plan->n == 0)
        return DR_OK;
    for (size_t i = 0; i < plan->n && st == DR_OK; i++)
        if (strcmp(plan->dests[i].kind, "dir") != 0 && text.p == NULL)
            st = build_bodies(db, run, &text, &html, err);
    for (size_t i = 0; i < plan->n && st == DR_OK; i++) {
        destination *d = &plan->dests[i];
        sbuf subject = {0};
        char msg[1024] = "";
        const char *tmpl = d->cfg->values[DR_DK_SUBJECT] ? d->cfg->values[DR_DK_SUBJECT]
                                                          : "{report} {tenant_name} {period_title}";
        st = expand_subject(tmpl, run, &subject, err);
        if (st == DR_ECONFIG) {
            st = where_error(plan->cfg, d, d->cfg->lines[DR_DK_SUBJECT], "subject", DR_ECONFIG, err);
        } else if (st == DR_OK) {
            dr_status ds = deliver_one(plan, d, db, run, subject.p, text.p ? text.p : "", html.p ? html.p : "",
                                       msg, sizeof msg, err);
            if (ds == DR_EDELIVERY) {
                if (nfailed++ == 0)
                    snprintf(first, sizeof first, "%s", msg);
            } else {
                st = ds;
            }
        }
        free(subject.p);
        int sig = dr_interrupt_signal(plan->intr);
        if (st == DR_OK && sig) { /* the run is saved: say so, and what was not delivered */
            st = dr_fail(err, DR_EINTERRUPTED, "interrupted by signal %d during the deliveries: run %s is saved "
                         "and its files are in place; %zu of %zu deliveries were not done (send them with "
                         "'dynoreport deliver --run-id %s')", sig, run->info->run_id, plan->n - i - 1 + nfailed,
                         plan->n, run->info->run_id);
            err->signal = sig;
        }
    }
    free(text.p);
    free(html.p);
    if (st == DR_OK && nfailed > 0) {
        if (nfailed > 1)
            return dr_fail(err, DR_EDELIVERY, "%zu of %zu deliveries failed; the first: %s", nfailed, plan->n, first);
        return dr_fail(err, DR_EDELIVERY, "%s", first);
    }
    return st;
}

/* ---- records ---------------------------------------------------------------------- */

dr_status dr_delivery_print(dr_db *db, const char *run_id, FILE *out, dr_error *err)
{
    dr_param p[] = {{"run_id", run_id}};
    dr_cursor *c = NULL;
    int n = 0;
    dr_status st = dr_db_query_named(db, dr_sql_delivery_list, p, 1, 0, &c, err);
    while (st == DR_OK) {
        const char *v[8];
        size_t l[8];
        int has = 0;
        char dest[256], target[2048], error[2048], kind[128], status[64], attempts[32], started[64], finished[64];
        if ((st = dr_cursor_next(c, &has, v, l, err)) != DR_OK || !has)
            break;
        /* every column through dr_printable_copy: a record is data, not terminal control */
        dr_printable_copy(v[0] ? v[0] : "", dest, sizeof dest);
        dr_printable_copy(v[1] ? v[1] : "", kind, sizeof kind);
        dr_printable_copy(v[2] ? v[2] : "", status, sizeof status);
        dr_printable_copy(v[3] ? v[3] : "0", attempts, sizeof attempts);
        dr_printable_copy(v[5] ? v[5] : "", started, sizeof started);
        dr_printable_copy(v[6] ? v[6] : "-", finished, sizeof finished);
        dr_printable_copy(v[4] ? v[4] : "", target, sizeof target);
        dr_printable_copy(v[7] ? v[7] : "", error, sizeof error);
        if (n++ == 0)
            fprintf(out, "deliveries:\n");
        fprintf(out, "  %s (%s): %s after %s attempt%s\n    target:   %s\n    started:  %s\n    finished: %s\n",
                dest, kind, status, attempts, strcmp(attempts, "1") == 0 ? "" : "s", target, started, finished);
        if (v[7])
            fprintf(out, "    error:    %s\n", error);
    }
    dr_cursor_close(c);
    if (st == DR_OK && n == 0)
        fprintf(out, "deliveries: none\n");
    return st;
}
