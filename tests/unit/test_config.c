/* Unit tests for config.c's precedence rules (CLI > [job] > [defaults] > built-in), the
   connection lookup order, comma lists, and period.c's time zone form check. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "odbc.h"
#include "period.h"
#include "unit_check.h"

/* One level of settings in a table row; NULL = not set there. */
typedef struct level {
    const char *formats, *output_dir, *name, *plugin_dir, *tz;
    const char *opts[3];
} level;

static const struct {
    level cli, job, defaults;
    int has_job;
    const char *formats;      /* the effective list, comma-joined */
    const char *output_dir, *name, *plugin_dir, *tz;
    const char *opts;         /* effective order, comma-joined */
} precedence[] = {
    /* nothing anywhere: built-in defaults */
    {{0}, {0}, {0}, 0, "csv", ".", NULL, NULL, "UTC", ""},
    /* [defaults] alone */
    {{0}, {0}, {"xlsx,json", "/d", "d.{ext}", "/pd", "Europe/Berlin", {"csv.a=1"}}, 0,
     "xlsx,json", "/d", "d.{ext}", "/pd", "Europe/Berlin", "csv.a=1"},
    /* [job] over [defaults] */
    {{0}, {"json", "/j", NULL, NULL, "Asia/Tokyo", {"csv.a=2"}},
     {"xlsx", "/d", "d.{ext}", "/pd", "Europe/Berlin", {"csv.a=1"}}, 1,
     "json", "/j", "d.{ext}", "/pd", "Asia/Tokyo", "csv.a=1,csv.a=2"},
    /* the command line over both; options of every level kept, most specific last */
    {{"csv", "/c", "c.{ext}", "/pc", "UTC", {"csv.a=3", "xlsx.b=1"}},
     {"json", "/j", "j.{ext}", "/pj", "Asia/Tokyo", {"csv.a=2"}},
     {"xlsx", "/d", "d.{ext}", "/pd", "Europe/Berlin", {"csv.a=1"}}, 1,
     "csv", "/c", "c.{ext}", "/pc", "UTC", "csv.a=1,csv.a=2,csv.a=3,xlsx.b=1"},
    /* a [job] is ignored by run/export (no job given) */
    {{0}, {"json", "/j", NULL, NULL, "Asia/Tokyo", {0}}, {0}, 0, "csv", ".", NULL, NULL, "UTC", ""},
    /* spaces and empty items in lists */
    {{0}, {0}, {" csv, ,json,", NULL, NULL, NULL, NULL, {0}}, 0, "csv,json", ".", NULL, NULL, "UTC", ""},
};

static void fill(dr_settings *s, const level *l, char **own, size_t *nown)
{
    memset(s, 0, sizeof *s);
    s->formats = (char *)l->formats;
    s->output_dir = (char *)l->output_dir;
    s->name = (char *)l->name;
    s->plugin_dir = (char *)l->plugin_dir;
    s->tz = (char *)l->tz;
    for (size_t i = 0; i < 3 && l->opts[i]; i++)
        s->opts[s->nopts++] = (char *)l->opts[i];
    (void)own;
    (void)nown;
}

static void join(const char *const *items, size_t n, char *out, size_t size)
{
    size_t used = 0;
    out[0] = '\0';
    for (size_t i = 0; i < n; i++)
        used += (size_t)snprintf(out + used, size - used, "%s%s", i ? "," : "", items[i]);
}

static int same(const char *a, const char *b)
{
    return (a == NULL && b == NULL) || (a && b && strcmp(a, b) == 0);
}

static void test_precedence(void)
{
    for (size_t i = 0; i < COUNT(precedence); i++) {
        dr_config cfg = {0};
        dr_settings job;
        dr_output_request out = {0};
        dr_strstore store = {0};
        dr_error err = {0};
        char got[512];
        fill(&cfg.defaults, &precedence[i].defaults, NULL, NULL);
        fill(&job, &precedence[i].job, NULL, NULL);
        const level *c = &precedence[i].cli;
        char cli_formats[64] = "";
        if (c->formats) {
            snprintf(cli_formats, sizeof cli_formats, "%s", c->formats);
            dr_split_list(cli_formats, out.formats, DR_MAX_FORMATS, &out.nformats);
        }
        out.output_dir = c->output_dir;
        out.name_template = c->name;
        out.plugin_dir = c->plugin_dir;
        for (size_t o = 0; o < 3 && c->opts[o]; o++)
            out.opts[out.nopts++] = c->opts[o];
        const dr_settings *jp = precedence[i].has_job ? &job : NULL;
        CHECK_ROW(dr_config_output(&cfg, jp, &out, &store, &err) == DR_OK, i);
        join(out.formats, out.nformats, got, sizeof got);
        CHECK_ROW(strcmp(got, precedence[i].formats) == 0, i);
        CHECK_ROW(same(out.output_dir, precedence[i].output_dir), i);
        CHECK_ROW(same(out.name_template, precedence[i].name), i);
        CHECK_ROW(same(out.plugin_dir, precedence[i].plugin_dir), i);
        CHECK_ROW(strcmp(dr_config_tz(&cfg, jp, c->tz), precedence[i].tz) == 0, i);
        join(out.opts, out.nopts, got, sizeof got);
        CHECK_ROW(strcmp(got, precedence[i].opts) == 0, i);
        dr_strstore_free(&store);
    }
}

static void test_formats_errors(void)
{
    static const char *const bad[] = {",", " , ", "a,b,c,d,e,f,g,h,i"};
    for (size_t i = 0; i < COUNT(bad); i++) {
        dr_config cfg = {.path = "/etc/dynoreport/test.conf"};
        dr_output_request out = {0};
        dr_strstore store = {0};
        dr_error err = {0};
        cfg.defaults.formats = (char *)bad[i];
        CHECK_INPUT(dr_config_output(&cfg, NULL, &out, &store, &err) == DR_ECONFIG, bad[i], strlen(bad[i]));
        CHECK_INPUT(strstr(err.msg, "/etc/dynoreport/test.conf") != NULL, bad[i], strlen(bad[i]));
        CHECK_INPUT(strstr(err.msg, "'formats'") != NULL, bad[i], strlen(bad[i]));
        dr_strstore_free(&store);
    }
}

static const struct {
    const char *cli_connect, *cli_dsn, *env_connect, *env_dsn, *cfg_connect, *cfg_dsn;
    dr_status st;
    const char *connstr;
} connections[] = {
    {"Driver=a;", NULL, "Driver=e;", NULL, "Driver=f;", NULL, DR_OK, "Driver=a;"},
    {NULL, "cli", "Driver=e;", "env", NULL, "cfg", DR_OK, "DSN=cli;"},
    {NULL, NULL, "Driver=e;", NULL, "Driver=f;", NULL, DR_OK, "Driver=e;"},
    {NULL, NULL, NULL, "env", NULL, "cfg", DR_OK, "DSN=env;"},
    {NULL, NULL, "", "", "Driver=f;", NULL, DR_OK, "Driver=f;"}, /* "" is unset */
    {NULL, NULL, NULL, NULL, NULL, "cfg", DR_OK, "DSN=cfg;"},
    {NULL, NULL, NULL, NULL, NULL, NULL, DR_ECONFIG, ""},
};

static void test_connection(void)
{
    for (size_t i = 0; i < COUNT(connections); i++) {
        dr_config cfg = {.connect = (char *)connections[i].cfg_connect, .dsn = (char *)connections[i].cfg_dsn};
        char out[DR_CONNSTR_MAX] = "";
        dr_error err = {0};
        dr_status st = dr_config_connection(&cfg, connections[i].cli_connect, connections[i].cli_dsn,
                                            connections[i].env_connect, connections[i].env_dsn, out,
                                            sizeof out, &err);
        CHECK_ROW(st == connections[i].st, i);
        if (st == DR_OK)
            CHECK_ROW(strcmp(out, connections[i].connstr) == 0, i);
    }
}

/* A file of @p len bytes of @p text with mode @p mode; its path into @p path (>= 32 bytes). */
static void write_file(char *path, const void *text, size_t len, unsigned mode)
{
    strcpy(path, "/tmp/dr-unit-pw-XXXXXX");
    int fd = mkstemp(path);
    CU_ASSERT_FATAL(fd >= 0);
    CU_ASSERT(write(fd, text, len) == (ssize_t)len);
    CU_ASSERT(fchmod(fd, (mode_t)mode) == 0);
    close(fd);
}

/* password_file goes with [connection] only, escaped (issue 10: it went with any string,
   and a '}' in it ended the value: "x};ConnSettings={SQL" added an attribute). */
static void test_connection_password_file(void)
{
    static const char pw[] = "p}a;s=s{w o}}rd \n2nd line\n";
    char path[32];
    write_file(path, pw, sizeof pw - 1, 0600);
    dr_config cfg = {.password_file = path, .connect = "Driver=a"};
    char out[DR_CONNSTR_MAX];
    dr_error err = {0};
    CU_ASSERT(dr_config_connection(&cfg, NULL, NULL, NULL, NULL, out, sizeof out, &err) == DR_OK);
    CU_ASSERT_STRING_EQUAL(out, "Driver=a;PWD={p}}a;s=s{w o}}}}rd };");
    /* the string a driver reads back: the password whole, nothing added */
    dr_connstr_attr a;
    int attrs = 0;
    for (const char *p = out; dr_connstr_next(&p, &a);)
        attrs++;
    CU_ASSERT_EQUAL(attrs, 2);

    /* never with a string from the command line or the environment (issue 10: the file's
       password went to whatever server --connect named) */
    static const struct { const char *cli, *cli_dsn, *env, *env_dsn, *want; } others[] = {
        {"Driver=b;Server=elsewhere;", NULL, NULL, NULL, "Driver=b;Server=elsewhere;"},
        {"Driver=b;Pwd=typed;", NULL, NULL, NULL, "Driver=b;Pwd=typed;"},
        {NULL, "dsn", NULL, NULL, "DSN=dsn;"},
        {NULL, NULL, "Driver=e;", NULL, "Driver=e;"},
        {NULL, NULL, NULL, "envdsn", "DSN=envdsn;"},
    };
    for (size_t i = 0; i < COUNT(others); i++) {
        dr_error_clear(&err);
        CHECK_ROW(dr_config_connection(&cfg, others[i].cli, others[i].cli_dsn, others[i].env, others[i].env_dsn,
                                       out, sizeof out, &err) == DR_OK, i);
        CHECK_ROW(strcmp(out, others[i].want) == 0, i);
    }

    /* a DSN of [connection] gets it too */
    dr_config dsn_cfg = {.password_file = path, .dsn = "crm"};
    dr_error_clear(&err);
    CU_ASSERT(dr_config_connection(&dsn_cfg, NULL, NULL, NULL, NULL, out, sizeof out, &err) == DR_OK);
    CU_ASSERT_STRING_EQUAL(out, "DSN=crm;PWD={p}}a;s=s{w o}}}}rd };");

    /* a password typed in connect and a password file: which one? Neither: refused */
    dr_config both = {.password_file = path, .connect = "Driver=a; pwd = x"};
    dr_error_clear(&err);
    CU_ASSERT(dr_config_connection(&both, NULL, NULL, NULL, NULL, out, sizeof out, &err) == DR_ECONFIG);
    CU_ASSERT(strstr(err.msg, "keep one") != NULL);

    /* too long with the password: refused without the password in the message or in out */
    char tiny[24];
    dr_error_clear(&err);
    CU_ASSERT(dr_config_connection(&cfg, NULL, NULL, NULL, NULL, tiny, sizeof tiny, &err) == DR_ECONFIG);
    CU_ASSERT(strstr(err.msg, "p}a") == NULL);
    CU_ASSERT(memchr(tiny, 'p', sizeof tiny) == NULL);
    unlink(path);
}

/* Owner and mode of the password file (libpq's .pgpass rule) and of the configuration
   file that names one or holds a password. */
static void test_secret_file_modes(void)
{
    static const struct { unsigned mode; int ok; } modes[] = {
        {0600, 1}, {0400, 1}, {0700, 1}, {0640, 0}, {0604, 0}, {0620, 0}, {0602, 0}, {0644, 0}, {0666, 0},
    };
    for (size_t i = 0; i < COUNT(modes); i++) {
        char path[32], pw[DR_PASSWORD_MAX + 1];
        dr_error err = {0};
        write_file(path, "secret\n", 7, modes[i].mode);
        dr_status st = dr_config_read_password(path, pw, sizeof pw, &err);
        CHECK_ROW((st == DR_OK) == modes[i].ok, i);
        if (st == DR_OK) {
            CHECK_ROW(strcmp(pw, "secret") == 0, i);
        } else {
            char mode[16];
            snprintf(mode, sizeof mode, "mode %04o", modes[i].mode);
            CHECK_ROW(st == DR_ECONFIG && strstr(err.msg, path) && strstr(err.msg, mode), i);
            CHECK_ROW(strstr(err.msg, "secret") == NULL, i);
        }
        unlink(path);
    }
    if (geteuid() == 0) { /* another owner than the running user (root) */
        char path[32], pw[64];
        dr_error err = {0};
        write_file(path, "secret\n", 7, 0600);
        CU_ASSERT(chown(path, 65534, 65534) == 0);
        CU_ASSERT(dr_config_read_password(path, pw, sizeof pw, &err) == DR_ECONFIG);
        CU_ASSERT(strstr(err.msg, "uid 65534") != NULL && strstr(err.msg, "another user") != NULL);
        unlink(path);
    }
    /* the configuration file: owner and mode as read at load (file_known) */
    char path[32];
    write_file(path, "secret\n", 7, 0600);
    static const struct { const char *connect; const char *pwfile; unsigned mode; unsigned long uid; int ok; } cfgs[] = {
        {"Driver=a;", "pw", 0644, 0, 1},        /* names a password file: readable is fine */
        {"Driver=a;", "pw", 0664, 0, 0},        /* ... writable by the group is not */
        {"Driver=a;", "pw", 0646, 0, 0},
        {"Driver=a;", "pw", 0644, 65534, 0},    /* another owner */
        {"Driver=a;Pwd=x;", NULL, 0644, 0, 1},  /* holds a password: not writable by others */
        {"Driver=a;Pwd=x;", NULL, 0620, 0, 0},
        {"Driver=a;Pwd=x;", NULL, 0600, 65534, 0},
        {"Driver=a;", NULL, 0666, 65534, 1},    /* no secret: not checked */
    };
    for (size_t i = 0; i < COUNT(cfgs); i++) {
        dr_config cfg = {.path = "/etc/dynoreport/t.conf", .connect = (char *)cfgs[i].connect,
                         .password_file = cfgs[i].pwfile ? path : NULL, .file_known = 1,
                         .file_uid = cfgs[i].uid == 0 ? (unsigned long)geteuid() : cfgs[i].uid,
                         .file_mode = 0100000u | cfgs[i].mode};
        char out[DR_CONNSTR_MAX];
        dr_error err = {0};
        dr_status st = dr_config_connection(&cfg, NULL, NULL, NULL, NULL, out, sizeof out, &err);
        CHECK_ROW((st == DR_OK) == cfgs[i].ok, i);
        if (st != DR_OK)
            CHECK_ROW(strstr(err.msg, "/etc/dynoreport/t.conf") != NULL && strstr(err.msg, "mode 0") != NULL, i);
        /* a password from --connect: the configuration is not used, not checked */
        dr_error_clear(&err);
        CHECK_ROW(dr_config_connection(&cfg, "Driver=x;", NULL, NULL, NULL, out, sizeof out, &err) == DR_OK, i);
    }
    unlink(path);
}

/* The first line of the password file: line breaks, limits, what is refused. */
static void test_password_file_content(void)
{
    static const struct { const char *text; size_t len; const char *pw; const char *msg; } rows[] = {
        {"abc", 3, "abc", NULL},
        {"abc\n", 4, "abc", NULL},
        {"abc\r\nxyz\n", 9, "abc", NULL},
        {" a b \n", 6, " a b ", NULL},
        {"\n", 1, "", NULL},
        {"", 0, NULL, "is empty"},
        {"a\0b\n", 4, NULL, "NUL byte"},
    };
    for (size_t i = 0; i < COUNT(rows); i++) {
        char path[32], pw[DR_PASSWORD_MAX + 1];
        dr_error err = {0};
        write_file(path, rows[i].text, rows[i].len, 0600);
        dr_status st = dr_config_read_password(path, pw, sizeof pw, &err);
        CHECK_ROW((st == DR_OK) == (rows[i].pw != NULL), i);
        if (rows[i].pw)
            CHECK_ROW(strcmp(pw, rows[i].pw) == 0, i);
        else
            CHECK_ROW(strstr(err.msg, rows[i].msg) != NULL, i);
        unlink(path);
    }
    /* 511 bytes fit, 512 do not (no silent cut: a cut password fails to log in) */
    for (size_t len = DR_PASSWORD_MAX; len <= DR_PASSWORD_MAX + 1; len++) {
        char text[DR_PASSWORD_MAX + 3], path[32], pw[DR_PASSWORD_MAX + 1];
        dr_error err = {0};
        memset(text, 'x', len);
        text[len] = '\n';
        write_file(path, text, len + 1, 0600);
        dr_status st = dr_config_read_password(path, pw, sizeof pw, &err);
        CU_ASSERT((st == DR_OK) == (len == DR_PASSWORD_MAX));
        if (st == DR_OK)
            CU_ASSERT(strlen(pw) == DR_PASSWORD_MAX);
        unlink(path);
    }
    /* not a regular file: a directory, a FIFO (must not hang) */
    char pw[64];
    dr_error err = {0};
    CU_ASSERT(dr_config_read_password("/tmp", pw, sizeof pw, &err) == DR_ECONFIG);
    CU_ASSERT(strstr(err.msg, "not a regular file") != NULL);
    char fifo[] = "/tmp/dr-unit-fifo-XXXXXX";
    int fd = mkstemp(fifo);
    CU_ASSERT_FATAL(fd >= 0);
    close(fd);
    unlink(fifo);
    if (mkfifo(fifo, 0600) == 0) {
        dr_error_clear(&err);
        CU_ASSERT(dr_config_read_password(fifo, pw, sizeof pw, &err) == DR_ECONFIG);
        unlink(fifo);
    }
}

/* ---- the reader (it replaced libinih) ------------------------------------------------- */

/* Load @p len bytes of @p text as a configuration file. */
static dr_status load_text(const char *text, size_t len, dr_config *cfg, dr_error *err, char *path)
{
    write_file(path, text, len, 0644);
    dr_status st = dr_config_load(path, cfg, err);
    unlink(path);
    return st;
}

static const struct {
    const char *text;
    int line;        /* 0: loads; else the error's line */
    const char *msg; /* in the error */
    const char *tz, *name, *connect; /* when it loads: the values read (NULL: not set) */
} syntax[] = {
    {"[defaults]\ntz = UTC\n", 0, NULL, "UTC", NULL, NULL},
    {"\xEF\xBB\xBF[defaults]\ntz=UTC", 0, NULL, "UTC", NULL, NULL},           /* BOM, no final newline */
    {"; c\n# c\n\n  \t\n[defaults]\n  ; indented comment\ntz: UTC\n", 0, NULL, "UTC", NULL, NULL},
    {"[defaults]\ntz = UTC   # the zone\n", 0, NULL, "UTC", NULL, NULL},
    {"[defaults]\ntz = UTC ; the zone\n", 0, NULL, "UTC", NULL, NULL},
    {"[defaults]\nname = a#b;c.{ext}\n", 0, NULL, NULL, "a#b;c.{ext}", NULL},  /* no blank: kept */
    {"[defaults]\nname = #x\n", 1 + 1, "key 'name' is empty", NULL, NULL, NULL},
    {"[defaults]\nname =;x\n", 0, NULL, NULL, ";x", NULL},
    {"[defaults]\r\ntz = UTC\r\n", 0, NULL, "UTC", NULL, NULL},
    {"[connection]\nconnect = Driver=PostgreSQL Unicode;Server=db;\n", 0, NULL, NULL, NULL,
     "Driver=PostgreSQL Unicode;Server=db;"},
    {"[defaults]\ntz = UTC\n  UTC\n", 3, "set twice", NULL, NULL, NULL},         /* a continuation */
    {"[defaults]\ntz = UTC\ntz = UTC\n", 3, "set twice", NULL, NULL, NULL},
    {"[defaults]\nbogus\n", 2, "syntax error", NULL, NULL, NULL},
    {"[defaults\ntz = UTC\n", 1, "syntax error", NULL, NULL, NULL},
    {"[defaults ;x]\ntz = UTC\n", 1, "syntax error", NULL, NULL, NULL},
    {"[defaults]\nt ;z = UTC\n", 2, "syntax error", NULL, NULL, NULL},
    {"tz = UTC\n", 1, "unknown section ''", NULL, NULL, NULL},
    {"[Defaults]\ntz = UTC\n", 2, "unknown section 'Defaults'", NULL, NULL, NULL},
    {"[defaults]\nTZ = UTC\n", 2, "unknown key 'TZ'", NULL, NULL, NULL},
    {"[defaults]\n\n\n\ntimezone = UTC\n", 5, "unknown key", NULL, NULL, NULL},
    {"[connection]\npassword_file = pw.txt\n", 2, "expected an absolute path", NULL, NULL, NULL},
    {"[connection]\npassword_file = \n", 2, "key 'password_file' is empty", NULL, NULL, NULL},
    {"[defaults]] x\ntz = UTC\n", 0, NULL, "UTC", NULL, NULL},                  /* inih: text after ']' */
};

/* Load @p text: 1 when it loads (then @p cfg is to be freed) and @p line is 0; else check
   that the error is DR_ECONFIG at "PATH:LINE: " and holds @p msg, and return 0. */
static int load_or_check_error(const char *text, int line, const char *msg, dr_config *cfg)
{
    dr_error err = {0};
    char path[32], where[128];
    dr_status st = load_text(text, strlen(text), cfg, &err, path);
    CHECK_INPUT((st == DR_OK) == (line == 0), text, strlen(text));
    if (st == DR_OK && line != 0)
        dr_config_free(cfg);
    if (st == DR_OK)
        return line == 0;
    snprintf(where, sizeof where, "%s:%d: ", path, line);
    CHECK_INPUT(st == DR_ECONFIG && strstr(err.msg, where) != NULL, err.msg, strlen(err.msg));
    CHECK_INPUT(msg && strstr(err.msg, msg) != NULL, err.msg, strlen(err.msg));
    return 0;
}

static void test_reader_syntax(void)
{
    for (size_t i = 0; i < COUNT(syntax); i++) {
        dr_config cfg;
        if (!load_or_check_error(syntax[i].text, syntax[i].line, syntax[i].msg, &cfg))
            continue;
        CHECK_INPUT(same(cfg.defaults.tz, syntax[i].tz), syntax[i].text, strlen(syntax[i].text));
        CHECK_INPUT(same(cfg.defaults.name, syntax[i].name), syntax[i].text, strlen(syntax[i].text));
        CHECK_INPUT(same(cfg.connect, syntax[i].connect), syntax[i].text, strlen(syntax[i].text));
        dr_config_free(&cfg);
    }
}

/* [delivery NAME] sections: values checked when read, defaults, what a kind requires, and
   'deliver' naming sections that exist (docs/delivery.md). */
static const struct {
    const char *text;
    int line;        /* 0: loads; else the error's line */
    const char *msg; /* in the error */
    unsigned retries, backoff_ms;
    int manifest, latest;
} deliveries[] = {
    {"[delivery d]\n", 0, NULL, 2, 2000, 0, 0},                            /* all defaults, kind dir */
    {"[delivery d]\nretries = 0\nbackoff = 10ms\nmanifest = yes\nlatest = true\n", 0, NULL, 0, 10, 1, 1},
    {"[delivery d]\nretries = 10\nbackoff = 1.5s\nmanifest = off\n", 0, NULL, 10, 1500, 0, 0},
    {"[delivery d]\nretries = 11\n", 2, "from 0 to 10", 0, 0, 0, 0},
    {"[delivery d]\nretries = -1\n", 2, "whole number", 0, 0, 0, 0},
    {"[delivery d]\nretries = 2x\n", 2, "whole number", 0, 0, 0, 0},
    {"[delivery d]\nbackoff = 11min\n", 2, "at most 10min", 0, 0, 0, 0},
    {"[delivery d]\nbackoff = fast\n", 2, "expected a duration", 0, 0, 0, 0},
    {"[delivery d]\nlatest = maybe\n", 2, "expected yes or no", 0, 0, 0, 0},
    {"[delivery d]\nretries = 1\nretries = 2\n", 3, "set twice", 0, 0, 0, 0},
    {"[delivery d]\nkind = mail\nurl = smtp://u:p@h:25\n", 3, "user name or password", 0, 0, 0, 0},
    {"[delivery d]\nkind = mail\nurl = smtp://h@x/\nfrom = a@b\nrecipients = c@d\n", 3, "user name", 0, 0, 0, 0},
    {"[delivery d]\nkind = mail\nurl = smtp://h/?a@b\nfrom = a@b\nrecipients = c@d\n", 0, NULL, 2, 2000, 0, 0},
    {"[delivery d]\nurl = nourl\n", 2, "SCHEME://", 0, 0, 0, 0},
    {"[delivery d]\nurl = https://h/x\n", 2, "file:///", 0, 0, 0, 0},           /* kind dir */
    {"[delivery d]\nkind = mail\nurl = sftp://h/x\nfrom = a@b\nrecipients = c@d\n", 3, "smtps://", 0, 0, 0, 0},
    {"[delivery d]\nkind = mail\nfrom = a@b\nrecipients = c@d\n", 2, "needs key 'url'", 0, 0, 0, 0},
    {"[delivery d]\nkind = mail\nurl = smtps://h\nfrom = a@b\n", 1, "'recipients' or", 0, 0, 0, 0},
    {"[delivery d]\nkind = sftp\nurl = sftp://h/x\nknown_hosts = /k\nprivate_key = /p\n", 1, "needs key 'user'",
     0, 0, 0, 0},
    {"[delivery d]\nkind = sftp\nurl = smtp://h\nuser = u\nknown_hosts = /k\nprivate_key = /p\n", 3,
     "sftp://HOST", 0, 0, 0, 0},
    {"[delivery d]\ncredentials_file = pw\n", 2, "absolute path", 0, 0, 0, 0},
    {"[delivery d]\nrecipients_query = q.sql\n", 2, "absolute path", 0, 0, 0, 0},
    {"[delivery d]\nsubject = a\tb\n", 2, "control character", 0, 0, 0, 0},
    {"[delivery d]\nfrom = a\rb@c\n", 2, "control character", 0, 0, 0, 0},
    {"[delivery d]\noption = novalue\n", 2, "KEY=VALUE", 0, 0, 0, 0},
    {"[delivery d]\noption = =v\n", 2, "KEY=VALUE", 0, 0, 0, 0},
    {"[delivery d]\nport = 25\n", 2, "unknown key 'port' in [delivery d]", 0, 0, 0, 0},
    {"[delivery d]\nurl =\n", 2, "is empty", 0, 0, 0, 0},
    {"[delivery a/b]\n", 1, "[delivery NAME]", 0, 0, 0, 0},
    {"[defaults]\ndeliver = d\n[delivery d]\n", 0, NULL, 2, 2000, 0, 0},        /* named before it exists */
    {"[job j]\ndeliver = d, e\n[delivery d]\n", 2, "no [delivery e] section", 0, 0, 0, 0},
    {"[defaults]\ndeliver = , ,\n[delivery d]\n", 2, "comma list", 0, 0, 0, 0},
};

static void test_delivery_sections(void)
{
    for (size_t i = 0; i < COUNT(deliveries); i++) {
        dr_config cfg;
        const char *text = deliveries[i].text;
        if (!load_or_check_error(text, deliveries[i].line, deliveries[i].msg, &cfg))
            continue;
        const dr_config_delivery *d = dr_config_delivery_find(&cfg, "d");
        CHECK_INPUT(d != NULL && dr_config_delivery_find(&cfg, "e") == NULL, text, strlen(text));
        if (d) {
            CHECK_INPUT(d->retries == deliveries[i].retries && d->backoff_ms == deliveries[i].backoff_ms, text,
                        strlen(text));
            CHECK_INPUT(d->manifest == deliveries[i].manifest && d->latest == deliveries[i].latest, text,
                        strlen(text));
        }
        dr_config_free(&cfg);
    }
}

/* config check's reading: every problem reported with its line, the rest of the file read. */
typedef struct seen {
    int lines[8];
    size_t n;
} seen;

static void collect(void *ctx, const dr_error *e)
{
    seen *s = ctx;
    const char *colon = strchr(e->msg, ':');
    if (s->n < COUNT(s->lines))
        s->lines[s->n++] = colon ? atoi(colon + 1) : -1;
}

static void test_reader_each(void)
{
    static const char text[] = "[defaults]\ntz = UTC\nbogus\ntz = UTC\n[nowhere]\nx = 1\n"
                               "[job j]\ntenant = all\n  all\nperiod = 2026-10\n[connection]\nconnect = a\ndsn = b\n";
    static const int expected[] = {3, 4, 6, 9, 13};
    char path[32];
    dr_config cfg;
    dr_error err = {0};
    seen s = {{0}, 0};
    write_file(path, text, strlen(text), 0644);
    dr_status st = dr_config_load_each(path, &cfg, collect, &s, &err);
    unlink(path);
    CU_ASSERT_EQUAL_FATAL(st, DR_OK);
    CU_ASSERT_EQUAL(s.n, COUNT(expected));
    for (size_t i = 0; i < COUNT(expected) && i < s.n; i++)
        CHECK_ROW(s.lines[i] == expected[i], i);
    CU_ASSERT(same(cfg.defaults.tz, "UTC"));
    CU_ASSERT_EQUAL(cfg.njobs, 1);
    CU_ASSERT(cfg.njobs == 1 && same(cfg.jobs[0].s.period, "2026-10"));
    CU_ASSERT_EQUAL(dr_config_line_of(&cfg, "defaults", "tz"), 2);
    CU_ASSERT_EQUAL(dr_config_line_of(&cfg, "job j", NULL), 7);
    CU_ASSERT_EQUAL(dr_config_line_of(&cfg, "job j", "period"), 10);
    CU_ASSERT_EQUAL(dr_config_line_of(&cfg, "job j", "name"), 0);
    CU_ASSERT_EQUAL(dr_config_line_of(&cfg, "connection", "dsn"), 13);
    dr_config_free(&cfg);
    /* dr_config_load still stops at the first problem */
    write_file(path, text, strlen(text), 0644);
    st = dr_config_load(path, &cfg, &err);
    unlink(path);
    CU_ASSERT(st == DR_ECONFIG && strstr(err.msg, ":3: syntax error") != NULL);
}

/* Long lines: 4 KiB (libinih refused 199 bytes) up to DR_CONFIG_MAX_LINE work, one byte more
   is refused naming the line; a NUL ends the line's text; opt continuation lines add. */
static void test_reader_long_lines(void)
{
    size_t sizes[] = {198, 199, 4096, DR_CONFIG_MAX_LINE, DR_CONFIG_MAX_LINE + 1, 1024 * 1024};
    for (size_t i = 0; i < COUNT(sizes); i++) {
        size_t line = sizes[i], head = strlen("[job j]\n");
        char *text = malloc(head + line + 2);
        CU_ASSERT_FATAL(text != NULL);
        memcpy(text, "[job j]\n", head);
        memcpy(text + head, "period = ", 9);
        memset(text + head + 9, 'x', line - 9);
        text[head + line] = '\n';
        dr_config cfg;
        dr_error err = {0};
        char path[32];
        dr_status st = load_text(text, head + line + 1, &cfg, &err, path);
        CHECK_ROW((st == DR_OK) == (line <= DR_CONFIG_MAX_LINE), i);
        if (st == DR_OK) {
            CHECK_ROW(cfg.njobs == 1 && strlen(cfg.jobs[0].s.period) == line - 9, i);
            dr_config_free(&cfg);
        } else {
            char where[128];
            snprintf(where, sizeof where, "%s:2: the line is longer than %d bytes", path, DR_CONFIG_MAX_LINE);
            CHECK_ROW(strstr(err.msg, where) != NULL, i);
        }
        free(text);
    }
    static const char nul[] = "[defaults]\nname = {report}\0/../x.{ext}\ntz = UTC\n";
    dr_config cfg;
    dr_error err = {0};
    char path[32];
    CU_ASSERT_FATAL(load_text(nul, sizeof nul - 1, &cfg, &err, path) == DR_OK);
    CU_ASSERT_STRING_EQUAL(cfg.defaults.name, "{report}");
    CU_ASSERT_STRING_EQUAL(cfg.defaults.tz, "UTC");
    dr_config_free(&cfg);
    static const char opts[] = "[defaults]\nopt = csv.a=1\n  csv.b=2 # two\n\topt = csv.c=3\n";
    CU_ASSERT_FATAL(load_text(opts, sizeof opts - 1, &cfg, &err, path) == DR_OK);
    CU_ASSERT_EQUAL(cfg.defaults.nopts, 3);
    if (cfg.defaults.nopts == 3) {
        CU_ASSERT_STRING_EQUAL(cfg.defaults.opts[1], "csv.b=2");
        CU_ASSERT_STRING_EQUAL(cfg.defaults.opts[2], "opt = csv.c=3"); /* indented: a value of opt */
    }
    dr_config_free(&cfg);
    /* the owner and mode of the file read are kept for the secret checks */
    CU_ASSERT_FATAL(load_text("[defaults]\n", 11, &cfg, &err, path) == DR_OK);
    CU_ASSERT(cfg.file_known && cfg.file_uid == (unsigned long)geteuid() && (cfg.file_mode & 0777) == 0644);
    dr_config_free(&cfg);
}

static const struct {
    const char *text;
    const char *items; /* comma-joined result, NULL when too many */
} lists[] = {
    {"csv", "csv"},       {"csv,xlsx", "csv,xlsx"}, {" csv,  xlsx ", "csv,xlsx"},
    {",,csv,,", "csv"},   {"", ""},                 {",", ""},
    {"a,b,c,d", NULL},
};

static void test_split_list(void)
{
    for (size_t i = 0; i < COUNT(lists); i++) {
        char buf[64], got[64];
        const char *items[3];
        size_t n = 0;
        snprintf(buf, sizeof buf, "%s", lists[i].text);
        int rc = dr_split_list(buf, items, 3, &n);
        if (lists[i].items == NULL) {
            CHECK_INPUT(rc == -1, lists[i].text, strlen(lists[i].text));
            continue;
        }
        CHECK_INPUT(rc == 0, lists[i].text, strlen(lists[i].text));
        join(items, n, got, sizeof got);
        CHECK_INPUT(strcmp(got, lists[i].items) == 0, lists[i].text, strlen(lists[i].text));
    }
}

static const struct {
    const char *tz;
    int ok;
} zones[] = {
    {"UTC", 1}, {"Europe/Berlin", 1}, {"America/Argentina/Buenos_Aires", 1}, {"Etc/GMT+3", 1},
    {"America/Port-au-Prince", 1}, {"", 0}, {"/etc/passwd", 0}, {"1UTC", 0}, {"Europe/Ber lin", 0},
    {"Europe/Berlin'", 0}, {"Europe\\Berlin", 0}, {"Zone\n", 0},
    {"Aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", 1},  /* 64 */
    {"Aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", 0}, /* 65 */
    /* zone-directory names that are not places (PostgreSQL ignores case) */
    {"localtime", 0}, {"LocalTime", 0}, {"posixrules", 0}, {"POSIXRULES", 0}, {"Factory", 0},
    {"factory", 0}, {"posix/Europe/Berlin", 0}, {"POSIX/UTC", 0}, {"right/Europe/Berlin", 0},
    {"Right/UTC", 0}, {"posix/", 0}, {"right/", 0},
    /* real zones that only look alike */
    {"localtime2", 1}, {"posixrulesX", 1}, {"Factory/X", 1}, {"posix", 1}, {"rightx/UTC", 1},
    {"Europe/posix/x", 1}, {"America/Indiana/Indianapolis", 1},
};

static void test_tz_check(void)
{
    for (size_t i = 0; i < COUNT(zones); i++) {
        dr_error err = {0};
        dr_status st = dr_tz_check(zones[i].tz, &err);
        CHECK_INPUT((st == DR_OK) == zones[i].ok, zones[i].tz, strlen(zones[i].tz));
        if (!zones[i].ok)
            CHECK_INPUT(st == DR_EUSAGE && strstr(err.msg, "IANA") != NULL, zones[i].tz, strlen(zones[i].tz));
    }
    dr_error err = {0};
    CU_ASSERT(dr_tz_check(NULL, &err) == DR_EUSAGE);
}

static const struct {
    const char *text;
    int ok;
    long ms;
} durations[] = {
    {"0", 1, 0}, {"5s", 1, 5000}, {"500ms", 1, 500}, {"2min", 1, 120000}, {"1h", 1, 3600000},
    {"0s", 1, 0}, {"596h", 1, 2145600000}, {"597h", 0, 0}, /* 2^31-1 ms is 596.5 h */
    {"5", 0, 0}, {"", 0, 0}, {"s", 0, 0}, {"5 s", 0, 0}, {"-5s", 0, 0}, {"1.5s", 0, 0}, {"5S", 0, 0},
    {"5sec", 0, 0}, {"99999999999s", 0, 0}, {"5s ", 0, 0},
};

static void test_durations(void)
{
    for (size_t i = 0; i < COUNT(durations); i++) {
        long ms = -1;
        int ok = dr_duration_ms(durations[i].text, &ms);
        CHECK_INPUT(ok == durations[i].ok, durations[i].text, strlen(durations[i].text));
        if (ok)
            CHECK_INPUT(ms == durations[i].ms, durations[i].text, strlen(durations[i].text));
    }
    static const struct { const char *text; long n; } jobs[] = {
        {"1", 1}, {"4", 4}, {"64", 64}, {"0", 0}, {"65", 0}, {"", 0}, {"-1", 0}, {"2x", 0}, {"99999999999999", 0},
    };
    for (size_t i = 0; i < COUNT(jobs); i++) {
        long n = 0;
        int ok = dr_jobs_parse(jobs[i].text, &n);
        CHECK_INPUT(ok == (jobs[i].n > 0) && (!ok || n == jobs[i].n), jobs[i].text, strlen(jobs[i].text));
    }
}

void dr_test_register(void)
{
    CU_pSuite s = CU_add_suite("config", NULL, NULL);
    CU_add_test(s, "precedence CLI > [job] > [defaults] > built-in", test_precedence);
    CU_add_test(s, "bad formats lists", test_formats_errors);
    CU_add_test(s, "connection lookup order", test_connection);
    CU_add_test(s, "password file: [connection] only, escaped", test_connection_password_file);
    CU_add_test(s, "password and configuration file owner and mode", test_secret_file_modes);
    CU_add_test(s, "password file content", test_password_file_content);
    CU_add_test(s, "reader: syntax and line numbers", test_reader_syntax);
    CU_add_test(s, "reader: long lines, NUL, continuation", test_reader_long_lines);
    CU_add_test(s, "reader: every problem with its line (config check)", test_reader_each);
    CU_add_test(s, "comma lists", test_split_list);
    CU_add_test(s, "[delivery NAME] sections and deliver", test_delivery_sections);
    CU_add_test(s, "time zone form", test_tz_check);
    CU_add_test(s, "durations (--lock-timeout) and worker counts (--jobs)", test_durations);
}
