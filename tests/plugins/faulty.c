/*
 * Test plugin "faulty": writes a line per row, and fails where told to, so the tests can
 * show that the host reports the failure, exits with the right code and leaves no file.
 *   --opt faulty.fail_in=open|row|end   where to fail (default: nowhere)
 *   --opt faulty.after=N                fail in row only after N rows (default 0)
 *   --opt faulty.stdout=true            also write garbage to stdout (must not reach
 *                                       the host's stdout contract... it does: the test
 *                                       documents what happens)
 *   --opt faulty.sleep_ms=N             sleep N ms before each row (0..60000), so a test
 *                                       can act while a run is in flight (signals,
 *                                       killed connections, concurrent runs)
 */
#include <dynoreport/plugin.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef struct faulty {
    const dr_open_args *args;
    FILE *out;
    char fail_in[8];
    long after;
    long rows;
    long sleep_ms;
} faulty;

static const char *const keys[] = {"fail_in", "after", "stdout", "sleep_ms", NULL};

static dr_plugin_status f_open(const dr_open_args *args, void **handle)
{
    const char *fail_in = dr_plugin_option(args, "fail_in");
    const char *after = dr_plugin_option(args, "after");
    const char *garbage = dr_plugin_option(args, "stdout");
    const char *sleep_ms = dr_plugin_option(args, "sleep_ms");
    long ms = 0;
    if (sleep_ms) {
        char *end = NULL;
        ms = strtol(sleep_ms, &end, 10);
        if (end == sleep_ms || *end != '\0' || ms < 0 || ms > 60000)
            return dr_plugin_error(args, DR_PLUGIN_EOPTION,
                                   "invalid faulty.sleep_ms '%s': expected 0..60000", sleep_ms);
    }
    if (fail_in && strcmp(fail_in, "open") == 0)
        return dr_plugin_error(args, DR_PLUGIN_EFAIL, "failing in open as asked");
    faulty *f = calloc(1, sizeof *f);
    if (f == NULL)
        return DR_PLUGIN_ENOMEM;
    f->args = args;
    snprintf(f->fail_in, sizeof f->fail_in, "%s", fail_in ? fail_in : "");
    f->after = after ? atol(after) : 0;
    f->sleep_ms = ms;
    *handle = f;
    if ((f->out = fopen(args->path, "wb")) == NULL)
        return dr_plugin_error(args, DR_PLUGIN_EIO, "cannot open '%s'", args->path);
    if (garbage && strcmp(garbage, "true") == 0)
        fputs("garbage from a plugin on stdout\n", stdout);
    fputs("faulty\n", f->out);
    return DR_PLUGIN_OK;
}

static dr_plugin_status f_row(void *handle, const dr_value *values)
{
    faulty *f = handle;
    if (f->sleep_ms > 0) {
        struct timespec ts = {f->sleep_ms / 1000, (f->sleep_ms % 1000) * 1000000L};
        while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
            ;
    }
    if (strcmp(f->fail_in, "row") == 0 && f->rows >= f->after)
        return dr_plugin_error(f->args, DR_PLUGIN_EIO, "failing in row %ld as asked", f->rows + 1);
    f->rows++;
    fprintf(f->out, "%s\n", values[0].is_null ? "" : values[0].text);
    return DR_PLUGIN_OK;
}

static dr_plugin_status f_end(void *handle)
{
    faulty *f = handle;
    if (strcmp(f->fail_in, "end") == 0)
        return dr_plugin_error(f->args, DR_PLUGIN_EFAIL, "failing in end as asked");
    int bad = fclose(f->out) != 0;
    f->out = NULL;
    return bad ? DR_PLUGIN_EIO : DR_PLUGIN_OK;
}

static void f_destroy(void *handle)
{
    faulty *f = handle;
    if (f && f->out)
        fclose(f->out);
    free(f);
}

static const dr_plugin desc = {
    .abi_major = DR_PLUGIN_ABI_MAJOR, .size = sizeof(dr_plugin), .name = "faulty",
    .version = "0.0.1", .description = "test plugin that fails on request", .extension = "txt",
    .option_keys = keys, .open = f_open, .row = f_row, .end = f_end, .destroy = f_destroy,
};

DR_PLUGIN_EXPORT const dr_plugin *dr_plugin_entry(void)
{
    return &desc;
}
