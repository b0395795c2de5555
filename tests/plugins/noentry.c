/* Test plugin "noentry": a shared object without the dr_plugin_entry symbol. */
#include <dynoreport/plugin.h>

DR_PLUGIN_EXPORT int dr_plugin_entry_misspelled(void);

DR_PLUGIN_EXPORT int dr_plugin_entry_misspelled(void)
{
    return 42;
}
