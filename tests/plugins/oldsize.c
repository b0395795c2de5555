/*
 * Test plugin "oldsize": an ABI 1.0 descriptor, as a plugin built before check_options
 * was appended would have. Its size field says 1.0; the field past it holds a function
 * that aborts, so a host that read beyond `size` would crash the test.
 */
#include <dynoreport/plugin.h>

#include <stdlib.h>

typedef struct oldsize {
    FILE *out;
} oldsize;

static dr_plugin_status o_open(const dr_open_args *args, void **handle)
{
    oldsize *o = calloc(1, sizeof *o);
    if (o == NULL)
        return DR_PLUGIN_ENOMEM;
    *handle = o;
    if ((o->out = fopen(args->path, "wb")) == NULL)
        return dr_plugin_error(args, DR_PLUGIN_EIO, "cannot open '%s'", args->path);
    return DR_PLUGIN_OK;
}

static dr_plugin_status o_row(void *handle, const dr_value *values)
{
    oldsize *o = handle;
    fprintf(o->out, "%s\n", values[3].is_null ? "" : values[3].text);
    return DR_PLUGIN_OK;
}

static dr_plugin_status o_end(void *handle)
{
    oldsize *o = handle;
    int bad = fclose(o->out) != 0;
    o->out = NULL;
    return bad ? DR_PLUGIN_EIO : DR_PLUGIN_OK;
}

static void o_destroy(void *handle)
{
    oldsize *o = handle;
    if (o && o->out)
        fclose(o->out);
    free(o);
}

static dr_plugin_status must_not_be_called(const dr_open_args *args)
{
    (void)args;
    abort();
}

static const dr_plugin desc = {
    .abi_major = DR_PLUGIN_ABI_MAJOR, .size = DR_PLUGIN_MIN_SIZE, .name = "oldsize",
    .version = "1.0.0", .description = "an ABI 1.0 descriptor", .extension = "txt",
    .open = o_open, .row = o_row, .end = o_end, .destroy = o_destroy,
    .check_options = must_not_be_called,
};

DR_PLUGIN_EXPORT const dr_plugin *dr_plugin_entry(void)
{
    return &desc;
}
