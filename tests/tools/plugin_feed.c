/*
 * plugin_feed: drive one output plugin with a FIXED synthetic run, so its output is
 * byte-stable and can be compared with a golden file (tests/golden/).
 *
 *   plugin_feed [--repeat N] PLUGIN.so OUTPUT [KEY=VALUE ...]
 *
 * Loads PLUGIN.so the way the host does (dlopen RTLD_NOW|RTLD_LOCAL, the entry symbol,
 * ABI major and size checks), opens it on OUTPUT with the report's 13 columns
 * (core/report.c) and a fixed run, feeds it the fixed rows below (values built from
 * their text by the host's own dr_value_from_text) N times (default 1), then ends it.
 * KEY=VALUE are the plugin's options; a leading "FORMAT." is removed, so both
 * csv.delimiter=semicolon and delimiter=semicolon work.
 *
 * The rows cover: NULL in every type, zeros, 0.00, negative average days, amounts and
 * counts past what a double or an int32 keeps exactly, and text with quotes,
 * backslashes, control characters, newlines, non-ASCII and formula-like starts.
 *
 * OUTPUT may be a device such as /dev/full to test write errors; only a regular file is
 * removed after a failure.
 *
 * Exit status: 0 ok; 64 the plugin refused an option; 74 I/O error; 70 other plugin
 * failure; 2 usage or the plugin could not be loaded. Messages go to stderr.
 */
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <dynoreport/plugin.h>

#include "report.h"

#define FEED_MAX_OPTIONS 64

/* NULL is SQL NULL. Column order as in core/report.c. */
static const char *const feed_rows[][DR_REPORT_NCOLS] = {
    /* a group with a won deal of NULL amount: 0.00 average; closed before created */
    {"3f2504e0-4f89-41d3-9a0c-0305e82c3301", "7c9e6679-7425-40de-944b-e07fc1f90ae7", "GROUP",
     "0b9f7a3c-0000-4000-8000-000000000001", "2026-10-01T00:00:00-04:00",
     "2026-11-01T00:00:00-04:00", "3", "1", "1", "0.00", "0.00", "-0.5000", "0.5000"},
    /* a principal asked for explicitly with no deals: zeros and NULLs */
    {"3f2504e0-4f89-41d3-9a0c-0305e82c3301", "7c9e6679-7425-40de-944b-e07fc1f90ae7", "GROUP",
     "0b9f7a3c-0000-4000-8000-000000000002", "2026-10-01T00:00:00-04:00",
     "2026-11-01T00:00:00-04:00", "0", "0", "0", "0.00", NULL, NULL, NULL},
    /* the largest numeric(14,2); a count past int32 */
    {"3f2504e0-4f89-41d3-9a0c-0305e82c3301", "7c9e6679-7425-40de-944b-e07fc1f90ae7", "USER",
     "1a2b3c4d-0000-4000-8000-000000000003", "2026-10-01T00:00:00-04:00",
     "2026-11-01T00:00:00-04:00", "2147483648", "3", "0", "999999999999.99",
     "333333333333.33", "12345.6789", "1.0000"},
    /* sums a double would print as 123456789012.35001 or so; 2/3 win rate */
    {"3f2504e0-4f89-41d3-9a0c-0305e82c3301", "7c9e6679-7425-40de-944b-e07fc1f90ae7", "USER",
     "1a2b3c4d-0000-4000-8000-000000000004", "2026-10-01T00:00:00-04:00",
     "2026-11-01T00:00:00-04:00", "7", "2", "1", "123456789012.35", "61728394506.18", "0.0001",
     "0.6667"},
    /* text that needs escaping; microseconds and a +05:30 offset */
    {"3f2504e0-4f89-41d3-9a0c-0305e82c3301", "7c9e6679-7425-40de-944b-e07fc1f90ae7",
     "Quote \" back\\slash /slash\nnew line\r\ttab \x01 caf\xc3\xa9 \xe6\x97\xa5\xe6\x9c\xac "
     "\xf0\x9f\x98\x80 \xe2\x80\xa8",
     "1a2b3c4d-0000-4000-8000-000000000005", "2026-10-01T09:30:00.000001+05:30",
     "2026-11-01T09:30:00.5+05:30", "1", "0", "1", "0.10", "0.10", "-12.3400", "0.0000"},
    /* formula-like text (escaped in CSV); a negative amount (never escaped: a number) */
    {"3f2504e0-4f89-41d3-9a0c-0305e82c3301", "7c9e6679-7425-40de-944b-e07fc1f90ae7",
     "=HYPERLINK(\"http://example.com\",\"x\")", "1a2b3c4d-0000-4000-8000-000000000006",
     "2026-10-01T00:00:00-04:00", "2026-11-01T00:00:00-04:00", "9223372036854775807", "1", "0",
     "-42.50", "-42.50", "0.0000", "1.0000"},
    /* NULL in every column the host could hand over as NULL; empty text */
    {"3f2504e0-4f89-41d3-9a0c-0305e82c3301", "7c9e6679-7425-40de-944b-e07fc1f90ae7", "", NULL,
     NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL},
};

#define FEED_NROWS (sizeof feed_rows / sizeof feed_rows[0])

static const dr_run_info feed_run = {
    .abi_major = DR_PLUGIN_ABI_MAJOR,
    .size = sizeof(dr_run_info),
    .report = "rep_performance",
    .run_id = "3f2504e0-4f89-41d3-9a0c-0305e82c3301",
    .tenant_id = "7c9e6679-7425-40de-944b-e07fc1f90ae7",
    .period_label = "2026-10",
    .period_start = "2026-10-01T00:00:00-04:00",
    .period_end = "2026-11-01T00:00:00-04:00",
    .time_zone = "America/New_York",
    .generated_at = "2026-11-02T09:15:30.123456-05:00",
    .principals = "all",
    .tool_version = "0.1.0",
};

static const char *const level_names[] = {"error", "warning", "info", "debug"};

static void feed_log(void *ctx, dr_log_level level, const char *message)
{
    (void)ctx;
    fprintf(stderr, "plugin_feed: plugin %s: %s\n",
            (unsigned)level < 4 ? level_names[level] : "log", message);
}

static int exit_code(dr_plugin_status st)
{
    switch (st) {
    case DR_PLUGIN_OK: return 0;
    case DR_PLUGIN_EOPTION: return 64;
    case DR_PLUGIN_EIO: return 74;
    default: return 70;
    }
}

static int usage(void)
{
    fprintf(stderr, "Usage: plugin_feed [--repeat N] PLUGIN.so OUTPUT [KEY=VALUE ...]\n");
    return 2;
}

static const dr_plugin *load(const char *path)
{
    void *dl = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (dl == NULL) {
        fprintf(stderr, "plugin_feed: cannot load '%s': %s\n", path, dlerror());
        return NULL;
    }
    void *sym = dlsym(dl, DR_PLUGIN_ENTRY_SYMBOL);
    if (sym == NULL) {
        fprintf(stderr, "plugin_feed: '%s' has no %s\n", path, DR_PLUGIN_ENTRY_SYMBOL);
        dlclose(dl);
        return NULL;
    }
    dr_plugin_entry_fn entry;
    memcpy(&entry, &sym, sizeof entry);
    const dr_plugin *d = entry();
    if (d == NULL || d->abi_major != DR_PLUGIN_ABI_MAJOR || d->size < DR_PLUGIN_MIN_SIZE ||
        d->name == NULL || !d->open || !d->row || !d->end || !d->destroy) {
        fprintf(stderr, "plugin_feed: '%s' has no usable ABI %d descriptor\n", path,
                DR_PLUGIN_ABI_MAJOR);
        dlclose(dl);
        return NULL;
    }
    /* left loaded: leak reports (valgrind) keep the plugin's symbols */
    return d;
}

int main(int argc, char **argv)
{
    unsigned long repeat = 1;
    int argi = 1;

    if (argc > 2 && strcmp(argv[1], "--repeat") == 0) {
        char *end = NULL;
        repeat = strtoul(argv[2], &end, 10);
        if (end == argv[2] || *end != '\0')
            return usage();
        argi = 3;
    }
    if (argc - argi < 2 || argc - argi - 2 > FEED_MAX_OPTIONS)
        return usage();
    const char *plugin_path = argv[argi], *out_path = argv[argi + 1];

    const dr_plugin *plugin = load(plugin_path);
    if (plugin == NULL)
        return 2;

    /* KEY=VALUE, with the "FORMAT." prefix the host would strip removed */
    dr_option options[FEED_MAX_OPTIONS];
    size_t noptions = 0, prefix = strlen(plugin->name);
    for (int i = argi + 2; i < argc; i++) {
        char *eq = strchr(argv[i], '=');
        if (eq == NULL || eq == argv[i])
            return usage();
        *eq = '\0';
        const char *key = argv[i];
        if (strncmp(key, plugin->name, prefix) == 0 && key[prefix] == '.')
            key += prefix + 1;
        options[noptions].key = key;
        options[noptions].value = eq + 1;
        noptions++;
    }

    /* the host hands over an existing, empty file */
    FILE *touch = fopen(out_path, "wb");
    if (touch == NULL || fclose(touch) != 0) {
        perror(out_path);
        return 2;
    }

    char errbuf[1024] = "";
    dr_open_args args = {
        .abi_major = DR_PLUGIN_ABI_MAJOR,
        .size = sizeof(dr_open_args),
        .run = &feed_run,
        .columns = dr_report_columns,
        .ncolumns = DR_REPORT_NCOLS,
        .path = out_path,
        .options = options,
        .noptions = noptions,
        .log = feed_log,
        .log_ctx = NULL,
        .errbuf = errbuf,
        .errbuf_size = sizeof errbuf,
    };

    /* every value built from its text as the host builds it */
    static dr_value values[FEED_NROWS][DR_REPORT_NCOLS];
    for (size_t r = 0; r < FEED_NROWS; r++) {
        for (size_t c = 0; c < DR_REPORT_NCOLS; c++) {
            const char *text = feed_rows[r][c];
            dr_error err = {0};
            if (dr_value_from_text(&dr_report_columns[c], text, text ? strlen(text) : 0,
                                   &values[r][c], &err) != DR_OK) {
                fprintf(stderr, "plugin_feed: row %zu: %s\n", r + 1, err.msg);
                return 70;
            }
        }
    }

    void *handle = NULL;
    dr_plugin_status st = plugin->open(&args, &handle);
    if (st == DR_PLUGIN_OK) {
        for (unsigned long n = 0; n < repeat && st == DR_PLUGIN_OK; n++)
            for (size_t r = 0; r < FEED_NROWS && st == DR_PLUGIN_OK; r++)
                st = plugin->row(handle, values[r]);
        if (st == DR_PLUGIN_OK)
            st = plugin->end(handle);
        plugin->destroy(handle);
    }
    if (st != DR_PLUGIN_OK) {
        fprintf(stderr, "plugin_feed: %s: %s\n", plugin->name,
                errbuf[0] ? errbuf : "failed without a message");
        struct stat sb; /* as the host does: no file after a failure (but never /dev/full) */
        if (stat(out_path, &sb) == 0 && S_ISREG(sb.st_mode))
            remove(out_path);
    }
    return exit_code(st);
}
