/* Unit tests for config.c's precedence rules (CLI > [job] > [defaults] > built-in), the
   connection lookup order, comma lists, and period.c's time zone form check. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
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

static void test_connection_password_file(void)
{
    char path[] = "/tmp/dr-unit-pw-XXXXXX";
    int fd = mkstemp(path);
    CU_ASSERT_FATAL(fd >= 0);
    CU_ASSERT(write(fd, "s3cret;x\n", 9) == 9);
    close(fd);
    dr_config cfg = {.password_file = path};
    char out[DR_CONNSTR_MAX];
    dr_error err = {0};
    CU_ASSERT(dr_config_connection(&cfg, "Driver=a", NULL, NULL, NULL, out, sizeof out, &err) == DR_OK);
    CU_ASSERT_STRING_EQUAL(out, "Driver=a;PWD={s3cret;x};");
    char tiny[12];
    dr_error_clear(&err);
    CU_ASSERT(dr_config_connection(&cfg, "Driver=a;", NULL, NULL, NULL, tiny, sizeof tiny, &err) != DR_OK);
    CU_ASSERT(strstr(err.msg, "s3cret") == NULL);
    unlink(path);
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

void dr_test_register(void)
{
    CU_pSuite s = CU_add_suite("config", NULL, NULL);
    CU_add_test(s, "precedence CLI > [job] > [defaults] > built-in", test_precedence);
    CU_add_test(s, "bad formats lists", test_formats_errors);
    CU_add_test(s, "connection lookup order", test_connection);
    CU_add_test(s, "password file", test_connection_password_file);
    CU_add_test(s, "comma lists", test_split_list);
    CU_add_test(s, "time zone form", test_tz_check);
}
