/* Finding, loading and checking output plugins: the search path, dlopen(RTLD_NOW |
   RTLD_LOCAL), the descriptor checks before any call, and undo on failure. */
#include "plugin_host.h"

#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

const char *dr_plugin_install_dir(void)
{
    return DR_PLUGIN_INSTALL_DIR;
}

void dr_plugin_path_init(dr_plugin_path *pp, const char *plugin_dir)
{
    memset(pp, 0, sizeof *pp);
    if (plugin_dir && *plugin_dir)
        pp->dirs[pp->ndirs++] = plugin_dir;
    const char *env = getenv("DYNOREPORT_PLUGIN_PATH");
    if (env && *env && (pp->owned = strdup(env)) != NULL) {
        char *save = NULL;
        for (char *d = strtok_r(pp->owned, ":", &save); d && pp->ndirs < DR_PLUGIN_MAX_DIRS - 1;
             d = strtok_r(NULL, ":", &save))
            pp->dirs[pp->ndirs++] = d;
    }
    pp->dirs[pp->ndirs++] = dr_plugin_install_dir();
}

void dr_plugin_path_free(dr_plugin_path *pp)
{
    free(pp->owned);
    memset(pp, 0, sizeof *pp);
}

/* A format name is what --format and file names can carry safely. */
static int valid_name(const char *s)
{
    if (s == NULL || *s == '\0' || strlen(s) > 32)
        return 0;
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || *s == '_' || *s == '-'))
            return 0;
    return 1;
}

static const char *check_descriptor(const dr_plugin *d, const char *expect_name, char *why, size_t n)
{
    if (d == NULL)
        return "its entry point returned no descriptor";
    if (d->abi_major != DR_PLUGIN_ABI_MAJOR) {
        snprintf(why, n, "it was built for plugin ABI %u, this dynoreport speaks ABI %d "
                 "(rebuild it against this version's <dynoreport/plugin.h>)",
                 (unsigned)d->abi_major, DR_PLUGIN_ABI_MAJOR);
        return why;
    }
    if (d->size < DR_PLUGIN_MIN_SIZE) {
        snprintf(why, n, "its descriptor is %u bytes, smaller than the %zu of ABI %d.0",
                 (unsigned)d->size, (size_t)DR_PLUGIN_MIN_SIZE, DR_PLUGIN_ABI_MAJOR);
        return why;
    }
    if (!valid_name(d->name))
        return "its name is missing or not made of a-z, 0-9, '_' and '-' (at most 32)";
    if (!valid_name(d->extension))
        return "its file extension is missing or not made of a-z, 0-9, '_' and '-'";
    if (!d->open || !d->row || !d->end || !d->destroy)
        return "one of its callbacks (open, row, end, destroy) is missing";
    if (expect_name && strcmp(d->name, expect_name) != 0) {
        snprintf(why, n, "it calls itself '%s', not '%s'", d->name, expect_name);
        return why;
    }
    return NULL;
}

dr_status dr_plugin_load(const char *path, const char *expect_name, dr_loaded_plugin *out,
                         dr_error *err)
{
    char shown[1024], why_shown[1024];
    memset(out, 0, sizeof *out);
    dr_printable_copy(path, shown, sizeof shown); /* the directory comes from the user */
    dlerror();
    void *dl = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (dl == NULL) {
        const char *e = dlerror();
        dr_printable_copy(e ? e : "unknown error", why_shown, sizeof why_shown);
        return dr_fail(err, DR_ECONFIG, "cannot load plugin '%s': %s", shown, why_shown);
    }
    /* POSIX: a function pointer is read from dlsym through a data pointer. */
    void *sym = dlsym(dl, DR_PLUGIN_ENTRY_SYMBOL);
    if (sym == NULL) {
        dlclose(dl);
        return dr_fail(err, DR_ECONFIG, "cannot load plugin '%s': it has no '%s' entry point",
                       shown, DR_PLUGIN_ENTRY_SYMBOL);
    }
    dr_plugin_entry_fn entry;
    memcpy(&entry, &sym, sizeof entry);
    const dr_plugin *desc = entry();
    char why[256];
    const char *problem = check_descriptor(desc, expect_name, why, sizeof why);
    if (problem) {
        dlclose(dl);
        return dr_fail(err, DR_ECONFIG, "cannot use plugin '%s': %s", shown, problem);
    }
    out->dl = dl;
    out->desc = desc;
    snprintf(out->path, sizeof out->path, "%s", path);
    return DR_OK;
}

dr_status dr_plugin_find(const dr_plugin_path *pp, const char *name, dr_loaded_plugin *out,
                         dr_error *err)
{
    char path[4096], q[DR_QUOTE_SIZE];
    if (!valid_name(name))
        return dr_fail(err, DR_EUSAGE, "invalid format %s: expected a plugin name such as csv, xlsx or json",
                       dr_quote(name, strlen(name), q, sizeof q));
    for (size_t i = 0; i < pp->ndirs; i++) {
        snprintf(path, sizeof path, "%s/%s.so", pp->dirs[i], name);
        if (access(path, F_OK) == 0)
            return dr_plugin_load(path, name, out, err);
    }
    char where[1024] = "";
    size_t used = 0;
    for (size_t i = 0; i < pp->ndirs && used < sizeof where; i++) {
        int n = snprintf(where + used, sizeof where - used, "%s%s", i ? ", " : "", pp->dirs[i]);
        if (n < 0)
            break;
        used += (size_t)n;
    }
    char shown[1024];
    dr_printable_copy(where, shown, sizeof shown); /* directories come from the user */
    return dr_fail(err, DR_EUSAGE,
                   "unknown format '%s': no %s.so in the plugin path (%s); 'dynoreport plugins' lists "
                   "the formats found", name, name, shown);
}

void dr_plugin_unload(dr_loaded_plugin *p)
{
    if (p && p->dl) {
        dlclose(p->dl);
        p->dl = NULL;
        p->desc = NULL;
    }
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

void dr_plugin_foreach(const dr_plugin_path *pp,
                       void (*fn)(void *ctx, const dr_loaded_plugin *p, const dr_error *load_err),
                       void *ctx)
{
    char *seen[256];
    size_t nseen = 0;
    for (size_t i = 0; i < pp->ndirs; i++) {
        DIR *d = opendir(pp->dirs[i]);
        if (d == NULL)
            continue;
        char *files[256];
        size_t nfiles = 0;
        struct dirent *e;
        while ((e = readdir(d)) != NULL && nfiles < 256) {
            size_t n = strlen(e->d_name);
            if (n > 3 && strcmp(e->d_name + n - 3, ".so") == 0)
                files[nfiles++] = strdup(e->d_name);
        }
        closedir(d);
        qsort(files, nfiles, sizeof *files, cmp_str);
        for (size_t f = 0; f < nfiles; f++) {
            if (files[f] == NULL)
                continue;
            files[f][strlen(files[f]) - 3] = '\0'; /* the format name */
            int dup = 0;
            for (size_t s = 0; s < nseen; s++)
                dup |= strcmp(seen[s], files[f]) == 0;
            if (dup || nseen >= 256) {
                free(files[f]);
                continue;
            }
            seen[nseen++] = files[f];
            char path[4096];
            snprintf(path, sizeof path, "%s/%s.so", pp->dirs[i], files[f]);
            dr_loaded_plugin p;
            dr_error err = {0};
            if (dr_plugin_load(path, files[f], &p, &err) == DR_OK) {
                fn(ctx, &p, NULL);
                dr_plugin_unload(&p);
            } else {
                snprintf(p.path, sizeof p.path, "%s", path);
                fn(ctx, &p, &err);
            }
        }
    }
    for (size_t s = 0; s < nseen; s++)
        free(seen[s]);
}
