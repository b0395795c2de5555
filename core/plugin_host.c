/* Finding, loading and checking output plugins: the search path, the trust check of
   directories and files (before dlopen runs any constructor), dlopen(RTLD_NOW |
   RTLD_LOCAL) of the very file checked, the descriptor checks before any call, and undo
   on failure. */
#define _GNU_SOURCE /* O_PATH, dlinfo, getpwent: Linux and glibc, like /proc/self/fd */
#include "plugin_host.h"

#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <link.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define TRUST_RULE "plugins are loaded only from files and directories that no one but root and the " \
                   "user running dynoreport can change"

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

/* ---- trust -------------------------------------------------------------------------- */

/* What a path component is to the plugin being loaded. */
typedef enum trust_role {
    ROLE_ABOVE, /* a directory above the plugin directory: sticky may excuse write bits */
    ROLE_DIR,   /* the plugin directory itself: new files could be planted in it */
    ROLE_FILE   /* the plugin file */
} trust_role;

/* Debian's rule for OpenSSH's StrictModes (user-group-modes): a group-writable file is
   as safe as a private one when the group's one member is the file's owner, as with the
   user-private groups of a umask of 002. Reads the group and user databases (main thread
   only: getpwent is not reentrant). */
static int group_is_owner_only(gid_t gid, uid_t owner)
{
    long hint = sysconf(_SC_GETGR_R_SIZE_MAX);
    size_t size = hint > 0 ? (size_t)hint : 16384;
    char *buf = NULL;
    struct group gr, *g = NULL;
    struct passwd pwbuf, *pw = NULL;
    int ok = 0, members = 0;
    for (;;) {
        char *nb = realloc(buf, size);
        if (nb == NULL)
            goto cleanup;
        buf = nb;
        int rc = getgrgid_r(gid, &gr, buf, size, &g);
        if (rc != ERANGE)
            break;
        if (size >= (1u << 20))
            goto cleanup;
        size *= 2;
    }
    if (g == NULL)
        goto cleanup; /* unknown group: no way to tell who is in it */
    ok = 1;
    for (char **m = g->gr_mem; ok && *m; m++) {
        char pwtext[4096];
        if (getpwnam_r(*m, &pwbuf, pwtext, sizeof pwtext, &pw) != 0 || pw == NULL || pw->pw_uid != owner)
            ok = 0;
        members++;
    }
    setpwent();
    while (ok && (pw = getpwent()) != NULL)
        if (pw->pw_gid == gid) {
            ok = pw->pw_uid == owner;
            members++;
        }
    endpwent();
    ok = ok && members > 0; /* a group without members (setgid programs) is not private */
cleanup:
    free(buf);
    return ok;
}

/* NULL when @p st may be trusted in @p role, else what is wrong ("writable by everyone
   (mode 0777)"), written into @p why. */
static const char *untrusted(const struct stat *st, trust_role role, char *why, size_t n)
{
    unsigned mode = (unsigned)(st->st_mode & 07777);
    uid_t me = geteuid();
    int sticky_excuses = role == ROLE_ABOVE && (st->st_mode & S_ISVTX);
    if (role == ROLE_FILE && !S_ISREG(st->st_mode))
        return "not a regular file";
    if (st->st_uid != 0 && st->st_uid != me) {
        char pwtext[4096], name[64] = "";
        struct passwd pwbuf, *pw = NULL;
        if (getpwuid_r(st->st_uid, &pwbuf, pwtext, sizeof pwtext, &pw) == 0 && pw)
            dr_printable_copy(pw->pw_name, name, sizeof name);
        snprintf(why, n, "owned by %s%s%suid %u, not by root or the user running dynoreport (uid %u)",
                 *name ? "'" : "", name, *name ? "' " : "", (unsigned)st->st_uid, (unsigned)me);
        return why;
    }
    if ((st->st_mode & S_IWOTH) && !sticky_excuses) {
        snprintf(why, n, "writable by everyone (mode %04o%s)", mode,
                 role == ROLE_DIR && (st->st_mode & S_ISVTX) ? ": sticky, but anyone may add a file" : "");
        return why;
    }
    if ((st->st_mode & S_IWGRP) && !sticky_excuses && !group_is_owner_only(st->st_gid, st->st_uid)) {
        char grtext[16384], name[64] = "";
        struct group grbuf, *gr = NULL;
        if (getgrgid_r(st->st_gid, &grbuf, grtext, sizeof grtext, &gr) == 0 && gr)
            dr_printable_copy(gr->gr_name, name, sizeof name);
        snprintf(why, n, "writable by group %s%s%s(gid %u, mode %04o), which has members other than its owner",
                 *name ? "'" : "", name, *name ? "' " : "", (unsigned)st->st_gid, mode);
        return why;
    }
    return NULL;
}

/* Open the directory @p real (absolute, resolved: no symbolic link, "." or "..") one
   component at a time from "/" with O_NOFOLLOW, checking each one as it is opened, so
   what is checked is what is used. @p what starts every message ("cannot use plugin
   directory '...'", or "cannot load plugin '...'" when @p of_file: @p real is then the
   directory of that file; 2: the directory of a data file, which may be sticky, as /tmp:
   no one else can then rename or remove the file in it). @p rule ends a refusal. On DR_OK
   *@p out is an O_PATH descriptor of the directory. */
static dr_status open_checked_dir(const char *real, const char *what, int of_file, const char *rule, int *out,
                                  dr_error *err)
{
    char prefix[PATH_MAX], why[256], shown[1024];
    size_t len = strlen(real);
    dr_status st = DR_OK;
    struct stat sb;
    int fd = -1;
    *out = -1;
    if (real[0] != '/' || len >= sizeof prefix)
        return dr_fail(err, DR_EINTERNAL, "%s: not an absolute resolved path", what);
    prefix[0] = '/';
    prefix[1] = '\0';
    size_t used = 1, pos = 1;
    fd = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
    for (;;) {
        const char *problem;
        if (fd < 0 || fstat(fd, &sb) != 0) {
            dr_printable_copy(prefix, shown, sizeof shown);
            st = dr_fail(err, DR_ECONFIG, "%s: cannot open '%s' on its path: %s", what, shown, strerror(errno));
            goto cleanup;
        }
        while (real[pos] == '/')
            pos++;
        int last = real[pos] == '\0';
        if ((problem = untrusted(&sb, last && of_file != 2 ? ROLE_DIR : ROLE_ABOVE, why, sizeof why)) != NULL) {
            dr_printable_copy(prefix, shown, sizeof shown);
            if (last && of_file)
                st = dr_fail(err, DR_ECONFIG, "%s: its directory '%s' is %s; %s", what, shown, problem, rule);
            else if (last)
                st = dr_fail(err, DR_ECONFIG, "%s: it is %s; %s", what, problem, rule);
            else
                st = dr_fail(err, DR_ECONFIG, "%s: '%s' on its path is %s; %s", what, shown, problem, rule);
            goto cleanup;
        }
        if (last)
            break;
        size_t end = pos;
        while (real[end] && real[end] != '/')
            end++;
        char comp[NAME_MAX + 1];
        if (end - pos > NAME_MAX) {
            st = dr_fail(err, DR_ECONFIG, "%s: a name on its path is longer than %d bytes", what, NAME_MAX);
            goto cleanup;
        }
        memcpy(comp, real + pos, end - pos);
        comp[end - pos] = '\0';
        used += (size_t)snprintf(prefix + used, sizeof prefix - used, "%s%s", used > 1 ? "/" : "", comp);
        pos = end;
        int next = openat(fd, comp, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        int saved = errno;
        close(fd);
        fd = next; /* a failure (a link or a file put there since realpath) is reported above */
        errno = saved;
    }
    *out = fd;
    fd = -1;
cleanup:
    if (fd >= 0)
        close(fd);
    return st;
}

#define DATA_TRUST_RULE "files that hold a secret or decide whom we trust are read only from directories " \
                        "that no one but root and the user running dynoreport can change"

dr_status dr_trusted_data_open(const char *path, const char *what, int *fd_out, dr_error *err)
{
    char shown[1024], real[PATH_MAX], dir[PATH_MAX], msg[1200];
    dr_status st = DR_OK;
    int dfd = -1, fd = -1;
    struct stat sb;
    *fd_out = -1;
    dr_printable_copy(path, shown, sizeof shown);
    snprintf(msg, sizeof msg, "cannot use the %s '%s'", what, shown);
    if (path[0] != '/')
        return dr_fail(err, DR_ECONFIG, "%s: the path is relative, expected an absolute one", msg);
    const char *slash = strrchr(path, '/');
    const char *base = slash + 1;
    if (*base == '\0' || strcmp(base, ".") == 0 || strcmp(base, "..") == 0 || (size_t)(slash - path) >= sizeof dir)
        return dr_fail(err, DR_ECONFIG, "%s: expected the absolute path of a file", msg);
    /* the directory resolved (links above the file are allowed), then opened and checked
       one name at a time with O_NOFOLLOW, so a directory swapped since is refused */
    snprintf(dir, sizeof dir, "%.*s", slash == path ? 1 : (int)(slash - path), path);
    if (realpath(dir, real) == NULL)
        return dr_fail(err, DR_ECONFIG, "%s: its directory: %s", msg, strerror(errno));
    if ((st = open_checked_dir(real, msg, 2, DATA_TRUST_RULE, &dfd, err)) != DR_OK)
        goto cleanup;
    /* the file itself: never through a link (one could be pointed elsewhere after the check) */
    fd = openat(dfd, base, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
    if (fd < 0) {
        st = dr_fail(err, DR_ECONFIG, "%s: %s", msg,
                     errno == ELOOP ? "it is a symbolic link; expected the file itself" : strerror(errno));
        goto cleanup;
    }
    if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
        st = dr_fail(err, DR_ECONFIG, "%s: it is not a regular file", msg);
        goto cleanup;
    }
    *fd_out = fd;
    fd = -1;
cleanup:
    if (fd >= 0)
        close(fd);
    if (dfd >= 0)
        close(dfd);
    return st;
}

/* A directory of the search path: DR_OK with *@p dfd an O_PATH descriptor when it is
   trusted, DR_OK with -1 when it does not exist (skipped), else refused. */
static dr_status open_search_dir(const char *dir, int *dfd, dr_error *err)
{
    char real[PATH_MAX], shown[1024], what[1100], q[DR_QUOTE_SIZE];
    *dfd = -1;
    if (dir[0] != '/')
        return dr_fail(err, DR_ECONFIG, "plugin directory %s is relative: expected an absolute path (a "
                       "relative one is looked up in whatever directory dynoreport runs in)",
                       dr_quote(dir, strlen(dir), q, sizeof q));
    dr_printable_copy(dir, shown, sizeof shown); /* the directory comes from the user */
    if (strlen(dir) >= PATH_MAX)
        return dr_fail(err, DR_ECONFIG, "plugin directory %s is longer than %d bytes, the longest path there "
                       "is", dr_quote(dir, strlen(dir), q, sizeof q), PATH_MAX - 1);
    if (realpath(dir, real) == NULL) {
        if (errno == ENOENT || errno == ENOTDIR)
            return DR_OK;
        return dr_fail(err, DR_ECONFIG, "cannot use plugin directory '%s': %s", shown, strerror(errno));
    }
    snprintf(what, sizeof what, "cannot use plugin directory '%s'", shown);
    return open_checked_dir(real, what, 0, TRUST_RULE, dfd, err);
}

/* dlopen the file open on @p *fd through its /proc/self/fd name, so the loader maps the
   file that was checked, not whatever the path names by then. The loader knows objects
   by name first: a plugin still resident under the same /proc/self/fd/N (a descriptor
   number reused after a dlclose that kept it) would be returned instead, so such a name
   is avoided by moving the descriptor to another number. */
static void *dlopen_checked(int *fd, const char *real, char *name, size_t n)
{
    for (int tries = 0; tries < 8; tries++) {
        snprintf(name, n, "/proc/self/fd/%d", *fd);
        void *old = dlopen(name, RTLD_LAZY | RTLD_LOCAL | RTLD_NOLOAD);
        if (old == NULL)
            break;
        struct link_map *lm = NULL;
        int taken = dlinfo(old, RTLD_DI_LINKMAP, &lm) == 0 && lm && lm->l_name && strcmp(lm->l_name, name) == 0;
        dlclose(old);
        if (!taken)
            break; /* this very file is loaded already (the loader compares device and inode) */
        int moved = fcntl(*fd, F_DUPFD_CLOEXEC, *fd + 1);
        if (moved < 0)
            break;
        close(*fd);
        *fd = moved;
    }
    dlerror();
    if (access(name, F_OK) != 0) {
        /* no /proc (a bare chroot): the path then, whose every directory was just checked
           to be changeable by no one but root and this user */
        snprintf(name, n, "%s", real);
    }
    return dlopen(name, RTLD_NOW | RTLD_LOCAL);
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

/* The ABI major and the size a descriptor starts with, against what this host speaks;
   @p abi is "plugin" or "delivery", @p header the SDK header to rebuild against. */
static const char *check_version(uint32_t major, uint32_t size, int want, size_t min_size, const char *abi,
                                 const char *header, char *why, size_t n)
{
    if (major != (uint32_t)want) {
        snprintf(why, n, "it was built for %s ABI %u, this dynoreport speaks %s ABI %d (rebuild it against this "
                 "version's <dynoreport/%s>)", abi, (unsigned)major, abi, want, header);
        return why;
    }
    if (size < min_size) {
        snprintf(why, n, "its %s descriptor is %u bytes, smaller than the %zu of %s ABI %d.0", abi, (unsigned)size,
                 min_size, abi, want);
        return why;
    }
    return NULL;
}

static const char *check_descriptor(const dr_plugin *d, const char *expect_name, char *why, size_t n)
{
    const char *problem;
    if (d == NULL)
        return "its entry point returned no descriptor";
    if ((problem = check_version(d->abi_major, d->size, DR_PLUGIN_ABI_MAJOR, DR_PLUGIN_MIN_SIZE, "plugin",
                                 "plugin.h", why, n)) != NULL)
        return problem;
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

/* Check the file at @p path and its directories (see plugin_host.h), then dlopen the file
   checked. On DR_OK *@p dl and *@p fd are the library and the checked file's descriptor. */
static dr_status load_trusted(const char *path, void **dl_out, int *fd_out, dr_error *err)
{
    char shown[1024], why_shown[1024], real[PATH_MAX], real_shown[1024], what[2200], why[256];
    char name[PATH_MAX];
    dr_status st = DR_OK;
    void *dl = NULL;
    int dfd = -1, fd = -1;
    struct stat sb;
    *dl_out = NULL;
    *fd_out = -1;
    dr_printable_copy(path, shown, sizeof shown); /* the directory comes from the user */
    if (path[0] != '/')
        return dr_fail(err, DR_ECONFIG, "cannot load plugin '%s': the path is relative, expected an absolute one",
                       shown);
    if (strlen(path) >= sizeof ((dr_loaded_plugin *)0)->path)
        return dr_fail(err, DR_ECONFIG, "cannot load plugin '%s': the path is longer than %zu bytes", shown,
                       sizeof ((dr_loaded_plugin *)0)->path - 1);
    if (realpath(path, real) == NULL)
        return dr_fail(err, DR_ECONFIG, "cannot load plugin '%s': %s", shown, strerror(errno));
    dr_printable_copy(real, real_shown, sizeof real_shown);
    if (strcmp(real, path) == 0)
        snprintf(what, sizeof what, "cannot load plugin '%s'", shown);
    else
        snprintf(what, sizeof what, "cannot load plugin '%s' (a link to '%s')", shown, real_shown);
    /* the directory it really is in, then the file itself, both by descriptor */
    char *slash = strrchr(real, '/');
    const char *base = slash + 1;
    if (slash == real) {
        if ((st = open_checked_dir("/", what, 1, TRUST_RULE, &dfd, err)) != DR_OK)
            goto cleanup;
    } else {
        *slash = '\0';
        st = open_checked_dir(real, what, 1, TRUST_RULE, &dfd, err);
        *slash = '/';
        if (st != DR_OK)
            goto cleanup;
    }
    /* O_NONBLOCK: a FIFO named NAME.so must not hang the open; it is refused below */
    fd = openat(dfd, base, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0 || fstat(fd, &sb) != 0) {
        st = dr_fail(err, DR_ECONFIG, "%s: %s", what, strerror(errno));
        goto cleanup;
    }
    const char *problem = untrusted(&sb, ROLE_FILE, why, sizeof why);
    if (problem) {
        st = dr_fail(err, DR_ECONFIG, "%s: it is %s; " TRUST_RULE, what, problem);
        goto cleanup;
    }
    /* only now may its constructors run */
    dl = dlopen_checked(&fd, real, name, sizeof name);
    if (dl == NULL) {
        const char *e = dlerror();
        size_t nlen = strlen(name);
        if (e == NULL)
            e = "unknown error";
        else if (strncmp(e, name, nlen) == 0 && strncmp(e + nlen, ": ", 2) == 0)
            e += nlen + 2; /* the loader names the file /proc/self/fd/N: the path is shown already */
        dr_printable_copy(e, why_shown, sizeof why_shown);
        st = dr_fail(err, DR_ECONFIG, "cannot load plugin '%s': %s", shown, why_shown);
        goto cleanup;
    }
    *dl_out = dl;
    *fd_out = fd;
    dl = NULL;
    fd = -1;
cleanup:
    if (dl)
        dlclose(dl);
    if (fd >= 0)
        close(fd);
    if (dfd >= 0)
        close(dfd);
    return st;
}

/* Undo a load_trusted. */
static void release(void *dl, int fd)
{
    if (dl)
        dlclose(dl);
    if (fd >= 0)
        close(fd);
}

/* load_trusted, then the entry point @p symbol into *@p sym (NULL when the library has
   none: the caller says what that means; *@p dl and *@p fd stay open either way). */
static dr_status load_symbol(const char *path, const char *symbol, void **dl, int *fd, void **sym, dr_error *err)
{
    dr_status st = load_trusted(path, dl, fd, err);
    /* POSIX: a function pointer is read from dlsym through a data pointer. */
    *sym = st == DR_OK ? dlsym(*dl, symbol) : NULL;
    return st;
}

dr_status dr_plugin_load(const char *path, const char *expect_name, dr_loaded_plugin *out,
                         dr_error *err)
{
    char shown[1024], why[256];
    void *dl = NULL, *sym = NULL;
    int fd = -1;
    memset(out, 0, sizeof *out);
    out->fd = -1;
    dr_printable_copy(path, shown, sizeof shown);
    dr_status st = load_symbol(path, DR_PLUGIN_ENTRY_SYMBOL, &dl, &fd, &sym, err);
    if (st != DR_OK)
        return st;
    if (sym == NULL) {
        out->delivery_only = dlsym(dl, DR_DELIVERY_ENTRY_SYMBOL) != NULL; /* not a format: a delivery */
        st = out->delivery_only
                 ? dr_fail(err, DR_ECONFIG, "cannot use plugin '%s' as a format: it is a delivery plugin (it has "
                           "'%s' but no '%s' entry point)", shown, DR_DELIVERY_ENTRY_SYMBOL, DR_PLUGIN_ENTRY_SYMBOL)
                 : dr_fail(err, DR_ECONFIG, "cannot load plugin '%s': it has no '%s' entry point", shown,
                           DR_PLUGIN_ENTRY_SYMBOL);
        release(dl, fd);
        return st;
    }
    dr_plugin_entry_fn entry;
    memcpy(&entry, &sym, sizeof entry);
    const dr_plugin *desc = entry();
    const char *problem = check_descriptor(desc, expect_name, why, sizeof why);
    if (problem) {
        release(dl, fd);
        return dr_fail(err, DR_ECONFIG, "cannot use plugin '%s': %s", shown, problem);
    }
    *out = (dr_loaded_plugin){.dl = dl, .desc = desc, .fd = fd};
    snprintf(out->path, sizeof out->path, "%s", path);
    return DR_OK;
}

static const char *check_delivery(const dr_delivery *d, const char *expect_kind, char *why, size_t n)
{
    const char *problem;
    if (d == NULL)
        return "its delivery entry point returned no descriptor";
    if ((problem = check_version(d->abi_major, d->size, DR_DELIVERY_ABI_MAJOR, DR_DELIVERY_MIN_SIZE, "delivery",
                                 "delivery.h", why, n)) != NULL)
        return problem;
    if (!valid_name(d->kind))
        return "its kind is missing or not made of a-z, 0-9, '_' and '-' (at most 32)";
    if (d->deliver == NULL)
        return "its deliver callback is missing";
    if (expect_kind && strcmp(d->kind, expect_kind) != 0) {
        snprintf(why, n, "it serves kind '%s', not '%s'", d->kind, expect_kind);
        return why;
    }
    return NULL;
}

dr_status dr_delivery_load(const char *path, const char *expect_kind, dr_loaded_delivery *out, dr_error *err)
{
    char shown[1024], why[256];
    void *dl = NULL, *sym = NULL;
    int fd = -1;
    memset(out, 0, sizeof *out);
    out->fd = -1;
    dr_printable_copy(path, shown, sizeof shown);
    dr_status st = load_symbol(path, DR_DELIVERY_ENTRY_SYMBOL, &dl, &fd, &sym, err);
    if (st != DR_OK)
        return st;
    const char *problem = sym == NULL ? "it has no '" DR_DELIVERY_ENTRY_SYMBOL "' entry point" : NULL;
    const dr_delivery *desc = NULL;
    if (sym) {
        dr_delivery_entry_fn entry;
        memcpy(&entry, &sym, sizeof entry);
        problem = check_delivery(desc = entry(), expect_kind, why, sizeof why);
    }
    if (problem) {
        release(dl, fd);
        return dr_fail(err, DR_ECONFIG, "cannot use delivery plugin '%s': %s", shown, problem);
    }
    *out = (dr_loaded_delivery){.dl = dl, .desc = desc, .fd = fd};
    snprintf(out->path, sizeof out->path, "%s", path);
    return DR_OK;
}

/* "DIR/NAME.so" into @p path, or DR_ECONFIG when it does not fit (never cut short). */
static dr_status plugin_file_path(const char *dir, const char *name, char *path, size_t size, dr_error *err)
{
    int n = snprintf(path, size, "%s/%s.so", dir, name);
    if (n >= 0 && (size_t)n < size)
        return DR_OK;
    char q[DR_QUOTE_SIZE]; /* cut: the whole of a path that long would fill the message */
    return dr_fail(err, DR_ECONFIG, "cannot use plugin directory %s: the path of %s.so in it would be "
                   "longer than %zu bytes, the longest path there is", dr_quote(dir, strlen(dir), q, sizeof q),
                   name, size - 1);
}

/* NAME.so in the first directory of the search path that has one: *@p found and its path
   in @p path. Every directory must be absolute (checked first: a relative one is wrong
   wherever it comes) and trusted up to the one that has it. */
static dr_status find_file(const dr_plugin_path *pp, const char *name, char *path, size_t size, int *found,
                           dr_error *err)
{
    char file[64];
    dr_status st = DR_OK;
    *found = 0;
    snprintf(file, sizeof file, "%s.so", name);
    for (size_t i = 0; i < pp->ndirs; i++) {
        int dfd = -1;
        if (pp->dirs[i][0] != '/' && (st = open_search_dir(pp->dirs[i], &dfd, err)) != DR_OK)
            return st;
    }
    for (size_t i = 0; i < pp->ndirs; i++) {
        int dfd = -1;
        struct stat sb;
        if ((st = plugin_file_path(pp->dirs[i], name, path, size, err)) != DR_OK ||
            (st = open_search_dir(pp->dirs[i], &dfd, err)) != DR_OK)
            return st;
        if (dfd < 0)
            continue;
        *found = fstatat(dfd, file, &sb, AT_SYMLINK_NOFOLLOW) == 0;
        close(dfd);
        if (*found)
            return DR_OK;
    }
    return DR_OK;
}

/* What dr_plugin_find and dr_delivery_find share: @p name checked (else @p bad, "invalid
   @p what 'NAME': expected @p expected"), then found in the search path (find_file). */
static dr_status locate(const dr_plugin_path *pp, const char *name, dr_status bad, const char *what,
                        const char *expected, char *path, size_t size, int *found, dr_error *err)
{
    char q[DR_QUOTE_SIZE];
    *found = 0;
    if (!valid_name(name))
        return dr_fail(err, bad, "invalid %s %s: expected %s", what, dr_quote(name, strlen(name), q, sizeof q),
                       expected);
    return find_file(pp, name, path, size, found, err);
}

dr_status dr_plugin_find(const dr_plugin_path *pp, const char *name, dr_loaded_plugin *out,
                         dr_error *err)
{
    char path[PATH_MAX];
    int found = 0;
    memset(out, 0, sizeof *out);
    out->fd = -1;
    dr_status st = locate(pp, name, DR_EUSAGE, "format", "a plugin name such as csv, xlsx or json", path,
                          sizeof path, &found, err);
    if (st != DR_OK)
        return st;
    if (found)
        return dr_plugin_load(path, name, out, err);
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

dr_status dr_delivery_find(const dr_plugin_path *pp, const char *kind, dr_loaded_delivery *out, dr_error *err)
{
    char path[PATH_MAX];
    int found = 0;
    memset(out, 0, sizeof *out);
    out->fd = -1;
    dr_status st = locate(pp, kind, DR_ECONFIG, "delivery kind", "a name such as dir, mail or sftp", path,
                          sizeof path, &found, err);
    if (st != DR_OK)
        return st;
    if (found)
        return dr_delivery_load(path, kind, out, err);
    return dr_fail(err, DR_ECONFIG, "unknown delivery kind '%s': no %s.so with a '%s' entry point in the "
                   "plugin path; built in: dir, mail, sftp", kind, kind, DR_DELIVERY_ENTRY_SYMBOL);
}

void dr_delivery_unload(dr_loaded_delivery *p)
{
    if (p && p->dl) {
        dlclose(p->dl);
        if (p->fd >= 0)
            close(p->fd);
        p->dl = NULL;
        p->desc = NULL;
        p->fd = -1;
    }
}

void dr_plugin_unload(dr_loaded_plugin *p)
{
    if (p && p->dl) {
        dlclose(p->dl);
        if (p->fd >= 0)
            close(p->fd);
        p->dl = NULL;
        p->desc = NULL;
        p->fd = -1;
    }
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Report a refused directory or file to @p fn, as a plugin that failed to load. */
static void report_refused(void (*fn)(void *ctx, const dr_loaded_plugin *p, const dr_error *load_err), void *ctx,
                           const char *path, const dr_error *err)
{
    dr_loaded_plugin p;
    memset(&p, 0, sizeof p);
    p.fd = -1;
    snprintf(p.path, sizeof p.path, "%s", path);
    fn(ctx, &p, err);
}

/* The delivery side of a file of the search path, for dr_plugin_foreach: loaded and
   reported to @p fn when it has a delivery entry; its error reported only when it has
   nothing else (@p only). */
static void list_delivery(void (*fn)(void *ctx, const dr_loaded_delivery *d, const dr_error *load_err), void *ctx,
                          const char *path, const char *kind, int only)
{
    dr_loaded_delivery d;
    dr_error err = {0};
    if (fn == NULL)
        return;
    if (dr_delivery_load(path, kind, &d, &err) == DR_OK) {
        fn(ctx, &d, NULL);
        dr_delivery_unload(&d);
    } else if (only) {
        memset(&d, 0, sizeof d);
        d.fd = -1;
        snprintf(d.path, sizeof d.path, "%s", path);
        fn(ctx, &d, &err);
    }
}

void dr_plugin_foreach(const dr_plugin_path *pp,
                       void (*fn)(void *ctx, const dr_loaded_plugin *p, const dr_error *load_err),
                       void (*delivery_fn)(void *ctx, const dr_loaded_delivery *d, const dr_error *load_err),
                       void *ctx)
{
    char *seen[256];
    size_t nseen = 0;
    for (size_t i = 0; i < pp->ndirs; i++) {
        dr_error derr = {0};
        int dfd = -1;
        if (open_search_dir(pp->dirs[i], &dfd, &derr) != DR_OK) {
            report_refused(fn, ctx, pp->dirs[i], &derr);
            continue;
        }
        if (dfd < 0)
            continue;
        int rfd = openat(dfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        close(dfd);
        DIR *d = rfd >= 0 ? fdopendir(rfd) : NULL;
        if (d == NULL) {
            if (rfd >= 0)
                close(rfd);
            continue;
        }
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
            char path[PATH_MAX];
            dr_loaded_plugin p;
            dr_error err = {0};
            if (plugin_file_path(pp->dirs[i], files[f], path, sizeof path, &err) != DR_OK) {
                report_refused(fn, ctx, pp->dirs[i], &err);
            } else if (dr_plugin_load(path, files[f], &p, &err) == DR_OK) {
                fn(ctx, &p, NULL);
                dr_plugin_unload(&p);
                list_delivery(delivery_fn, ctx, path, files[f], 0);
            } else if (p.delivery_only) {
                list_delivery(delivery_fn, ctx, path, files[f], 1); /* mail.so, sftp.so: not a format */
            } else {
                report_refused(fn, ctx, path, &err);
            }
        }
    }
    for (size_t s = 0; s < nseen; s++)
        free(seen[s]);
}
