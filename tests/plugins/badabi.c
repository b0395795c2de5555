/* Test plugin "badabi": claims ABI major 99; the host must refuse it without calling it. */
#include <dynoreport/plugin.h>

#include <stdlib.h>

static dr_plugin_status never_open(const dr_open_args *args, void **handle)
{
    (void)args;
    (void)handle;
    abort(); /* the host must not get here */
}

static const dr_plugin desc = {
    .abi_major = 99, .size = sizeof(dr_plugin), .name = "badabi", .version = "9.9.9",
    .description = "built for another ABI", .extension = "txt", .open = never_open,
};

DR_PLUGIN_EXPORT const dr_plugin *dr_plugin_entry(void)
{
    return &desc;
}
