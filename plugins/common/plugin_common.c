/* What the built-in output plugins share: option words, messages, open checks, output files. */
#include "plugin_common.h"

#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

const char *dr_pc_shown(const char *s)
{
    return s != NULL ? s : "";
}

int dr_pc_errno_or_eio(void)
{
    return errno != 0 ? errno : EIO;
}

static unsigned char ascii_lower(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') ? (unsigned char)(c - 'A' + 'a') : c;
}

bool dr_pc_word_eq(const char *a, const char *b)
{
    while (*a && *b && ascii_lower((unsigned char)*a) == ascii_lower((unsigned char)*b)) {
        a++;
        b++;
    }
    return *a == '\0' && *b == '\0';
}

int dr_pc_parse_bool(const char *value, bool *out)
{
    static const char *const yes[] = {"true", "yes", "on", "1"};
    static const char *const no[] = {"false", "no", "off", "0"};

    if (value == NULL)
        return -1;
    for (size_t i = 0; i < sizeof yes / sizeof yes[0]; i++) {
        if (dr_pc_word_eq(value, yes[i])) {
            *out = true;
            return 0;
        }
        if (dr_pc_word_eq(value, no[i])) {
            *out = false;
            return 0;
        }
    }
    return -1;
}

dr_plugin_status dr_pc_option_bool(const dr_open_args *args, const char *plugin, const char *key,
                                   const char *value, bool *out)
{
    if (dr_pc_parse_bool(value, out) != 0)
        return dr_plugin_error(args, DR_PLUGIN_EOPTION,
                               "invalid %s.%s '%s': expected true or false", plugin, key,
                               dr_pc_shown(value));
    return DR_PLUGIN_OK;
}

dr_plugin_status dr_pc_check_open(const dr_open_args *args, void **handle, const char *plugin)
{
    if (handle == NULL || args == NULL)
        return dr_plugin_error(args, DR_PLUGIN_EFAIL, "%s: open called without arguments", plugin);
    *handle = NULL;
    if (args->abi_major != DR_PLUGIN_ABI_MAJOR || !DR_HAS_FIELD(args, dr_open_args, errbuf_size))
        return dr_plugin_error(args, DR_PLUGIN_EFAIL,
                               "%s: host open arguments of ABI %u size %u: expected ABI %d size "
                               "at least %zu",
                               plugin, (unsigned)args->abi_major, (unsigned)args->size,
                               DR_PLUGIN_ABI_MAJOR,
                               offsetof(dr_open_args, errbuf_size) + sizeof args->errbuf_size);
    return DR_PLUGIN_OK;
}

dr_plugin_status dr_pc_check_options(const dr_open_args *args, const char *plugin,
                                     size_t handle_size, dr_pc_parse_options_fn parse)
{
    void *scratch = calloc(1, handle_size);
    if (scratch == NULL)
        return dr_plugin_error(args, DR_PLUGIN_ENOMEM, "out of memory checking %s options",
                               plugin);
    dr_plugin_status st = parse(args, scratch);
    free(scratch);
    return st;
}

dr_plugin_status dr_pc_file_open(dr_pc_file *f, const dr_open_args *args, const char *plugin,
                                 const char *kind, size_t bufsize)
{
    f->iobuf = malloc(bufsize);
    if (f->iobuf == NULL)
        return dr_plugin_error(args, DR_PLUGIN_ENOMEM, "%s: out of memory", plugin);
    f->fp = fopen(args->path, "wb");
    if (f->fp == NULL) {
        int err = dr_pc_errno_or_eio();
        return dr_plugin_error(args, DR_PLUGIN_EIO, "cannot open %s file '%s': %s", kind,
                               args->path, strerror(err));
    }
    if (setvbuf(f->fp, f->iobuf, _IOFBF, bufsize) != 0)
        return dr_plugin_error(args, DR_PLUGIN_EFAIL, "%s: cannot set the buffer of '%s'", plugin,
                               args->path);
    return DR_PLUGIN_OK;
}

/* "cannot write <kind> file '<path>': <error>", the one message of a failed write. */
static dr_plugin_status write_error(const dr_open_args *args, const char *kind, int err)
{
    return dr_plugin_error(args, DR_PLUGIN_EIO, "cannot write %s file '%s': %s", kind,
                           dr_pc_shown(args->path), strerror(err));
}

dr_plugin_status dr_pc_file_write_failed(dr_pc_file *f, const dr_open_args *args, const char *kind)
{
    if (f->write_errno == 0)
        f->write_errno = dr_pc_errno_or_eio();
    return write_error(args, kind, f->write_errno);
}

dr_plugin_status dr_pc_file_close(dr_pc_file *f, const dr_open_args *args, const char *kind)
{
    FILE *fp = f->fp;
    int err = 0;

    f->fp = NULL; /* closed below whatever happens */
    errno = 0;
    if (fflush(fp) != 0)
        err = dr_pc_errno_or_eio();
    else if (ferror(fp))
        err = f->write_errno != 0 ? f->write_errno : EIO;
    else if (fsync(fileno(fp)) != 0 && errno != EINVAL) /* EINVAL: cannot be synced */
        err = dr_pc_errno_or_eio();
    errno = 0;
    if (fclose(fp) != 0 && err == 0)
        err = dr_pc_errno_or_eio();

    return err != 0 ? write_error(args, kind, err) : DR_PLUGIN_OK;
}

void dr_pc_file_discard(dr_pc_file *f)
{
    if (f->fp != NULL)
        fclose(f->fp);
    f->fp = NULL;
    free(f->iobuf);
    f->iobuf = NULL;
}
