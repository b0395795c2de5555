/*
 * Test plugin "hang": blocks forever where told, as a plugin stuck on a FIFO, a dead NFS
 * server or a deadlock would, so the tests can show that signals still end the run.
 *   --opt hang.in=open|row|end   where to block (default: row, on the first row)
 * Its constructor creates the file named by $DYNOREPORT_TEST_MARKER (when set), so a
 * test can tell whether the library was ever loaded: a refused plugin must never run
 * any code of its own.
 */
#include <dynoreport/plugin.h>

#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

__attribute__((constructor)) static void hang_loaded(void)
{
    const char *marker = getenv("DYNOREPORT_TEST_MARKER");
    if (marker && *marker) {
        int fd = open(marker, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
        if (fd >= 0)
            close(fd);
    }
}

typedef struct hang {
    FILE *out;
    char in[8];
} hang;

static const char *const keys[] = {"in", NULL};

/* Never returns: the host's signals are blocked in this thread, pause() waits forever. */
static void block_forever(void)
{
    for (;;)
        pause();
}

static dr_plugin_status h_open(const dr_open_args *args, void **handle)
{
    const char *in = dr_plugin_option(args, "in");
    if (in && strcmp(in, "open") != 0 && strcmp(in, "row") != 0 && strcmp(in, "end") != 0)
        return dr_plugin_error(args, DR_PLUGIN_EOPTION, "invalid hang.in '%s': expected open, row or end", in);
    hang *h = calloc(1, sizeof *h);
    if (h == NULL)
        return DR_PLUGIN_ENOMEM;
    snprintf(h->in, sizeof h->in, "%s", in ? in : "row");
    *handle = h;
    if ((h->out = fopen(args->path, "wb")) == NULL)
        return dr_plugin_error(args, DR_PLUGIN_EIO, "cannot open '%s'", args->path);
    fputs("hang\n", h->out);
    fflush(h->out);
    if (strcmp(h->in, "open") == 0)
        block_forever();
    return DR_PLUGIN_OK;
}

static dr_plugin_status h_row(void *handle, const dr_value *values)
{
    hang *h = handle;
    (void)values;
    if (strcmp(h->in, "row") == 0)
        block_forever();
    return DR_PLUGIN_OK;
}

static dr_plugin_status h_end(void *handle)
{
    hang *h = handle;
    if (strcmp(h->in, "end") == 0)
        block_forever();
    int bad = fclose(h->out) != 0;
    h->out = NULL;
    return bad ? DR_PLUGIN_EIO : DR_PLUGIN_OK;
}

static void h_destroy(void *handle)
{
    hang *h = handle;
    if (h && h->out)
        fclose(h->out);
    free(h);
}

static const dr_plugin desc = {
    .abi_major = DR_PLUGIN_ABI_MAJOR, .size = sizeof(dr_plugin), .name = "hang",
    .version = "0.0.1", .description = "test plugin that blocks forever", .extension = "hang",
    .option_keys = keys, .open = h_open, .row = h_row, .end = h_end, .destroy = h_destroy,
};

DR_PLUGIN_EXPORT const dr_plugin *dr_plugin_entry(void)
{
    return &desc;
}
