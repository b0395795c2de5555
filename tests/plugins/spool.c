/* Test plugin "spool": one shared object with both entry points, a format and a delivery,
   as a third party would write them against the public SDK. The format writes one line
   per row; the delivery appends "NAME SIZE FORMAT CONTENT_TYPE ATTEMPT" per file to the
   file of its option `out`, and fails with DR_DELIVERY_ETEMP while `fail_until` (an
   attempt number) is not reached, to show the host's retries. With `leak=yes` it breaks
   the ABI's rule on purpose: its error, its target and a line it logs through the host
   hold the secret, which the host must withhold before it shows or stores them. */
#include <dynoreport/delivery.h>
#include <dynoreport/plugin.h>

#include <stdio.h>
#include <stdlib.h>

static dr_plugin_status spool_open(const dr_open_args *args, void **handle)
{
    FILE *f = fopen(args->path, "w");
    if (f == NULL)
        return dr_plugin_error(args, DR_PLUGIN_EIO, "cannot open %s", args->path);
    *handle = f;
    return DR_PLUGIN_OK;
}

static dr_plugin_status spool_row(void *handle, const dr_value *values)
{
    return fprintf(handle, "%s\n", values[0].is_null ? "" : values[0].text) < 0 ? DR_PLUGIN_EIO : DR_PLUGIN_OK;
}

static dr_plugin_status spool_end(void *handle)
{
    (void)handle;
    return DR_PLUGIN_OK;
}

static void spool_destroy(void *handle)
{
    if (handle)
        fclose(handle);
}

static const dr_plugin format = {
    .abi_major = DR_PLUGIN_ABI_MAJOR, .size = sizeof(dr_plugin), .name = "spool", .version = "1.0.0",
    .description = "test: a format and a delivery in one file", .extension = "spool", .open = spool_open,
    .row = spool_row, .end = spool_end, .destroy = spool_destroy,
};

DR_PLUGIN_EXPORT const dr_plugin *dr_plugin_entry(void)
{
    return &format;
}

static dr_delivery_status spool_check(const dr_delivery_args *a)
{
    if (a->option(a->host, "out") == NULL)
        return dr_delivery_error(a, DR_DELIVERY_EOPTION, "option out=FILE is required");
    return DR_DELIVERY_OK;
}

static dr_delivery_status spool_deliver(const dr_delivery_args *a)
{
    const char *until = a->option(a->host, "fail_until"), *leak = a->option(a->host, "leak");
    if (leak && a->secret) {
        char line[512];
        snprintf(line, sizeof line, "connecting as user:%s", a->secret);
        a->log(a->host, DR_LOG_INFO, line);
        snprintf(a->remote, a->remote_size, "spool://user:%s@host", a->secret);
        return dr_delivery_error(a, DR_DELIVERY_EFAIL, "login with password %s refused", a->secret);
    }
    FILE *f = fopen(a->option(a->host, "out"), "a");
    if (f == NULL)
        return dr_delivery_error(a, DR_DELIVERY_EFAIL, "cannot open the out file");
    for (size_t i = 0; i < a->nfiles; i++)
        fprintf(f, "%s %llu %s %s %u\n", a->files[i].name, (unsigned long long)a->files[i].size, a->files[i].format,
                a->files[i].content_type, a->attempt);
    fclose(f);
    if (until && a->attempt < (unsigned)atoi(until)) {
        a->log(a->host, DR_LOG_INFO, "failing on purpose");
        return dr_delivery_error(a, DR_DELIVERY_ETEMP, "attempt %u fails on purpose", a->attempt);
    }
    snprintf(a->remote, a->remote_size, "spooled %zu files", a->nfiles);
    return DR_DELIVERY_OK;
}

static const char *const keys[] = {"out", "fail_until", "leak", NULL};

static const dr_delivery delivery = {
    .abi_major = DR_DELIVERY_ABI_MAJOR, .size = sizeof(dr_delivery), .kind = "spool", .version = "1.0.0",
    .description = "test delivery", .option_keys = keys, .check = spool_check, .deliver = spool_deliver,
};

DR_PLUGIN_EXPORT const dr_delivery *dr_delivery_entry(void)
{
    return &delivery;
}
