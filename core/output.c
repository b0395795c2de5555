/* The output side of a run: the output plan (plugins loaded and checked once, the output
   directory opened once) and the staged files of each run (a private staging directory,
   plugin open/row/end, fsync, rename after commit). Every file operation after the plan
   is built goes through a descriptor (openat, renameat, unlinkat, fstatat), never through
   a path another user could redirect: see docs/reliability.md ("Staging"). */
#define _GNU_SOURCE /* flock, getrandom, O_PATH (on top of _POSIX_C_SOURCE from the build) */
#include "output.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "plugin_host.h"
#include "report.h"

/* The staging directory of a run: DR_STAGE_PREFIX + DR_STAGE_RANDOM random characters,
   mode 0700, locked (flock LOCK_EX) while its run is alive, holding STAGE_MARKER and the
   staged files under their final names. */
#define STAGE_RANDOM 12
#define STAGE_MARKER ".dynoreport" /* "this directory is a dynoreport staging directory" */
#define STAGE_TRIES 100
#define SHOWN_SIZE 1024 /* a path escaped for a message (dr_error.msg holds 1024 bytes) */

/* One format of the plan: its plugin and its options. */
typedef struct format {
    dr_loaded_plugin plugin;
    dr_option opts[DR_MAX_OPTS];
    char *optbuf[DR_MAX_OPTS];
    size_t nopts;
    const dr_log *log;
    int wants_view; /* ABI 1.2: the plugin asked for the report view */
} format;

struct dr_output_plan {
    dr_output_request req;
    dr_plugin_path path;
    format formats[DR_MAX_FORMATS];
    size_t n;
    char formats_text[DR_MAX_FORMATS * 34];
    const dr_log *log;
    int outfd;        /* the output directory, opened once; every later step is relative to it */
    int use_proc;     /* plugins open /proc/self/fd/<stagefd>/<name> (else the plain path) */
    mode_t file_mode; /* 0666 & ~umask: published files follow the umask */
    long name_max;    /* NAME_MAX of the output directory's file system */
    int path_only;    /* outfd is O_PATH: the directory may be written but not read */
};

/* What a plugin's log callback and error sentence need: the format, and how to show the
   path it was given ("/proc/self/fd/N" becomes the staging directory's real path). */
typedef struct plugin_ctx {
    const format *fmt;
    const char *from; /* "/proc/self/fd/N", or NULL */
    const char *to;   /* the staging directory as a path */
} plugin_ctx;

/* One file of a run. Its staged name (inside the staging directory) is its final name. */
typedef struct staged {
    format *fmt;
    plugin_ctx ctx;
    void *handle;
    char name[NAME_MAX + 1];                  /* the file name (final and staged) */
    char final_path[PATH_MAX + NAME_MAX + 2]; /* output_dir/name: the result line */
    char plugin_path[PATH_MAX];               /* what the plugin opens */
    int fd;                                   /* the file as created, -1 when none */
    int created;                              /* this run created it (a batch's directory holds others' too) */
    dev_t dev;
    ino_t ino;
    char errbuf[1024];
    dr_open_args args;
} staged;

/* Who may use the staging descriptors: the owner (main thread) closes them only after
   taking them from IDLE to CLOSED; dr_output_files_remove_staged (any thread) only while
   it holds them in BUSY. Lock-free, so the signal thread never waits on the main thread. */
enum { GUARD_IDLE = 0, GUARD_BUSY = 1, GUARD_CLOSED = 2 };

struct dr_output_files {
    dr_output_plan *plan;
    staged files[DR_MAX_FORMATS];
    size_t n;
    int stagefd;                          /* the staging directory, locked; -1 when none */
    dev_t stage_dev;
    ino_t stage_ino;
    char stage_name[NAME_MAX + 1];        /* its name in the output directory */
    char proc_dir[32];                    /* "/proc/self/fd/<stagefd>" */
    char stage_path[PATH_MAX];            /* output_dir/stage_name, for messages */
    atomic_int guard;
    int borrowed; /* the staging directory is a batch's (dr_output_stage_open): only our files are ours */
};

/* ---- messages --------------------------------------------------------------------- */

/* DIR/NAME (NAME may be NULL) in single quotes, escaped whole (dr_printable_copy), for a
   message: a directory named with terminal escape sequences is shown as \x1b..., never raw. */
static const char *shown(const char *dir, const char *name, char *buf, size_t size)
{
    char raw[PATH_MAX + NAME_MAX + 2];
    if (name == NULL)
        snprintf(raw, sizeof raw, "%s", dir);
    else
        snprintf(raw, sizeof raw, "%s/%s", dir, name);
    buf[0] = '\'';
    dr_printable_copy(raw, buf + 1, size - 2);
    size_t n = strlen(buf);
    buf[n] = '\'';
    buf[n + 1] = '\0';
    return buf;
}

/* A plugin's text for a message: the "/proc/self/fd/N" it was given replaced by the path
   of the staging directory, then escaped (it is third-party text that may echo values). */
static void plugin_text(const plugin_ctx *c, const char *text, char *out, size_t size)
{
    char buf[2048];
    if (c->from != NULL) {
        size_t fl = strlen(c->from), used = 0;
        const char *p = text;
        while (*p && used < sizeof buf - 1) {
            if (strncmp(p, c->from, fl) == 0 && (p[fl] < '0' || p[fl] > '9')) {
                int n = snprintf(buf + used, sizeof buf - used, "%s", c->to);
                used += n > 0 ? (size_t)n : 0;
                if (used >= sizeof buf)
                    used = sizeof buf - 1;
                p += fl;
            } else {
                buf[used++] = *p++;
            }
        }
        buf[used] = '\0';
        text = buf;
    }
    dr_printable_copy(text, out, size);
}

/* The host side of plugin logging: the level is filtered by the host's verbosity. */
static void plugin_log(void *log_ctx, dr_log_level level, const char *message)
{
    static const char *const names[] = {"error", "warning", "info", "debug"};
    const plugin_ctx *c = log_ctx;
    char text[1024];
    if ((unsigned)level > DR_LOG_DEBUG)
        level = DR_LOG_DEBUG;
    if (!dr_log_enabled(c->fmt->log, level))
        return;
    /* a plugin's text is third-party text that may echo option values: escape it */
    plugin_text(c, message ? message : "", text, sizeof text);
    dr_log_msg(c->fmt->log, level, "%s: %s: %s", c->fmt->plugin.desc->name, names[level], text);
}

/* Plugin status -> tool status, with the plugin's own sentence as the message. */
static dr_status plugin_failure(const plugin_ctx *c, const char *errbuf, size_t errbuf_size, dr_plugin_status ps,
                                const char *stage, dr_error *err)
{
    dr_status st = ps == DR_PLUGIN_EOPTION ? DR_EUSAGE
                 : ps == DR_PLUGIN_EIO     ? DR_EIO
                 : ps == DR_PLUGIN_ENOMEM  ? DR_ENOMEM
                                           : DR_EINTERNAL;
    char said[1024], text[1024];
    /* the plugin's sentence often echoes an option value: escape it; and do not trust
       the plugin to have NUL-terminated the buffer */
    size_t n = errbuf_size < sizeof said ? errbuf_size : sizeof said;
    memcpy(said, errbuf, n);
    said[n - 1] = '\0';
    plugin_text(c, said[0] ? said : "it gave no reason", text, sizeof text);
    return dr_fail(err, st, "plugin '%s' failed in %s: %s", c->fmt->plugin.desc->name, stage, text);
}

/* ---- options ---------------------------------------------------------------------- */

static int key_allowed(const dr_plugin *d, const char *key)
{
    for (const char *const *k = d->option_keys; k && *k; k++)
        if (strcmp(*k, key) == 0)
            return 1;
    return 0;
}

/* Split "plugin.key=value" options onto the formats; options of other plugins are ignored. */
static dr_status assign_options(dr_output_plan *plan, dr_error *err)
{
    for (size_t i = 0; i < plan->req.nopts; i++) {
        const char *o = plan->req.opts[i];
        const char *dot = strchr(o, '.'), *eq = strchr(o, '=');
        char q[DR_QUOTE_SIZE];
        if (dot == NULL || eq == NULL || eq < dot || dot == o || eq == dot + 1)
            return dr_fail(err, DR_EUSAGE, "invalid --opt %s: expected PLUGIN.KEY=VALUE, e.g. csv.delimiter=;",
                           dr_quote(o, strlen(o), q, sizeof q));
        for (size_t s = 0; s < plan->n; s++) {
            format *f = &plan->formats[s];
            const dr_plugin *d = f->plugin.desc;
            if (strlen(d->name) != (size_t)(dot - o) || strncmp(d->name, o, (size_t)(dot - o)) != 0)
                continue;
            char *buf = strdup(dot + 1);
            if (buf == NULL)
                return dr_fail(err, DR_ENOMEM, "out of memory");
            buf[eq - dot - 1] = '\0';
            f->optbuf[f->nopts] = buf;
            if (!key_allowed(d, buf)) {
                char keys[512] = "";
                size_t used = 0;
                for (const char *const *k = d->option_keys; k && *k && used < sizeof keys; k++) {
                    int n = snprintf(keys + used, sizeof keys - used, "%s%s", used ? ", " : "", *k);
                    used += n > 0 ? (size_t)n : 0;
                }
                f->nopts++; /* so the buffer is freed */
                return dr_fail(err, DR_EUSAGE, "unknown option %s for format '%s': it accepts %s",
                               dr_quote(o, (size_t)(eq - o), q, sizeof q), d->name,
                               keys[0] ? keys : "no options");
            }
            /* a key given again (config, then command line) replaces the earlier value: a
               plugin sees each key once, with the most specific value */
            size_t slot = f->nopts;
            for (size_t j = 0; j < f->nopts; j++)
                if (strcmp(f->opts[j].key, buf) == 0)
                    slot = j;
            if (slot < f->nopts) {
                free(f->optbuf[slot]);
                f->optbuf[slot] = buf;
            } else {
                f->nopts++;
            }
            f->opts[slot].key = buf;
            f->opts[slot].value = buf + (eq - dot);
        }
    }
    return DR_OK;
}

/* ABI 1.1: plugins that can check their option values do so now, before the database
   is touched, so a bad value costs nothing (open() checks again, for 1.0 plugins). Then,
   for a plugin that asks for the report view, whether these options need it (ABI 1.3,
   wants_view; without it the flag decides). */
static dr_status check_options(dr_output_plan *plan, dr_error *err)
{
    for (size_t i = 0; i < plan->n; i++) {
        format *f = &plan->formats[i];
        const dr_plugin *d = f->plugin.desc;
        int check = DR_HAS_FIELD(d, dr_plugin, check_options) && d->check_options != NULL;
        int ask = f->wants_view && DR_PLUGIN_HAS(d, wants_view) && d->wants_view != NULL;
        if (!check && !ask)
            continue;
        char errbuf[1024] = "";
        plugin_ctx c = {f, NULL, NULL};
        dr_open_args args = {
            .abi_major = DR_PLUGIN_ABI_MAJOR, .size = sizeof(dr_open_args), .options = f->opts,
            .noptions = f->nopts, .log = plugin_log, .log_ctx = &c, .errbuf = errbuf,
            .errbuf_size = sizeof errbuf};
        dr_plugin_status ps = check ? d->check_options(&args) : DR_PLUGIN_OK;
        if (ps != DR_PLUGIN_OK)
            return plugin_failure(&c, errbuf, sizeof errbuf, ps, "its option check", err);
        if (ask)
            f->wants_view = d->wants_view(&args) != 0;
    }
    return DR_OK;
}

/* ---- the output directory ---------------------------------------------------------- */

static int same_file(const struct stat *a, const struct stat *b)
{
    return a->st_dev == b->st_dev && a->st_ino == b->st_ino;
}

/* Open the output directory once (every later step is relative to this descriptor),
   check that we may write there, read the umask and the file system's NAME_MAX, and find
   out how plugins reach the staging directory: through /proc/self/fd (the path resolves
   through our descriptor, whatever anyone renames), else, only where no other user can
   rename our entries, by the plain path. */
static dr_status open_output_dir(dr_output_plan *plan, dr_error *err)
{
    const char *dir = plan->req.output_dir;
    struct stat sb, viaproc;
    char q[DR_QUOTE_SIZE], proc[64];
    if (dir == NULL || *dir == '\0')
        return dr_fail(err, DR_EUSAGE, "the output directory is empty: expected --output-dir DIR");
    plan->outfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NONBLOCK);
    if (plan->outfd < 0 && errno == EACCES) {
        /* a drop directory we may write but not read (mode 1733): a path-only descriptor
           still serves openat, mkdirat, renameat, unlinkat, fstatat and /proc/self/fd */
        plan->outfd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
        plan->path_only = plan->outfd >= 0;
        if (plan->outfd < 0)
            errno = EACCES;
    }
    if (plan->outfd < 0) {
        int e = errno;
        if (e == ENOTDIR && stat(dir, &sb) == 0 && !S_ISDIR(sb.st_mode))
            return dr_fail(err, DR_ECANTCREATE, "cannot use output directory %s: it is not a directory",
                           dr_quote(dir, strlen(dir), q, sizeof q));
        return dr_fail(err, DR_ECANTCREATE, "cannot use output directory %s: %s",
                       dr_quote(dir, strlen(dir), q, sizeof q), strerror(e));
    }
    if (fstat(plan->outfd, &sb) != 0)
        return dr_fail(err, DR_ECANTCREATE, "cannot use output directory %s: %s",
                       dr_quote(dir, strlen(dir), q, sizeof q), strerror(errno));
    /* effective ids, as the kernel checks them when we create the staging directory */
    if (faccessat(plan->outfd, ".", W_OK | X_OK, AT_EACCESS) != 0)
        return dr_fail(err, DR_ECANTCREATE, "cannot write into output directory %s: %s",
                       dr_quote(dir, strlen(dir), q, sizeof q), strerror(errno));
    mode_t mask = umask(0);
    umask(mask);
    plan->file_mode = 0666 & ~mask;
    errno = 0;
    plan->name_max = fpathconf(plan->outfd, _PC_NAME_MAX);
    if (plan->name_max <= 0 || plan->name_max > NAME_MAX)
        plan->name_max = NAME_MAX;

    snprintf(proc, sizeof proc, "/proc/self/fd/%d", plan->outfd);
    plan->use_proc = stat(proc, &viaproc) == 0 && same_file(&sb, &viaproc);
    if (!plan->use_proc) {
        /* Without /proc the plugins get the plain path DIR/.dynoreport-staging.X/NAME. That
           is safe only if nobody else can rename entries of DIR (and so swap our staging
           directory for theirs): DIR is ours or root's, and not writable by others or sticky. */
        int ours = sb.st_uid == geteuid() || sb.st_uid == 0;
        int shared = (sb.st_mode & (S_IWGRP | S_IWOTH)) != 0 && (sb.st_mode & S_ISVTX) == 0;
        if (!ours || shared)
            return dr_fail(err, DR_ECANTCREATE,
                           "cannot stage files safely in output directory %s: /proc/self/fd is not "
                           "available (is /proc mounted?) and other users may rename entries there; "
                           "mount /proc, or use a directory only you can write, or one with the sticky bit",
                           dr_quote(dir, strlen(dir), q, sizeof q));
    }
    return DR_OK;
}

/* The template is checked with sample values now, so a bad one costs no database work:
   the name must be a plain file name (dr_name_expand) that the file system of the output
   directory takes (its NAME_MAX may be below 255), and the path the plugins get must fit. */
static dr_status check_template(const dr_output_plan *plan, dr_error *err)
{
    const char *tmpl = plan->req.name_template ? plan->req.name_template : DR_NAME_DEFAULT;
    for (size_t i = 0; i < plan->n; i++) {
        char name[NAME_MAX + 1], q[DR_QUOTE_SIZE], q2[DR_QUOTE_SIZE], d[SHOWN_SIZE];
        dr_name_vars v = {DR_REPORT_NAME, "00000000-0000-0000-0000-000000000000", "2026-10",
                          "20261001T000000", "20261101T000000", "00000000-0000-0000-0000-000000000000",
                          "20261101T000000Z", plan->formats[i].plugin.desc->extension};
        dr_status st = dr_name_expand(tmpl, strlen(tmpl), &v, name, sizeof name, err);
        if (st != DR_OK)
            return st;
        size_t len = strlen(name);
        if ((long)len > plan->name_max)
            return dr_fail(err, DR_EUSAGE,
                           "invalid --name %s: the file name would be %zu bytes long (e.g. %s), longer "
                           "than the %ld bytes the file system of output directory %s takes",
                           dr_quote(tmpl, strlen(tmpl), q, sizeof q), len, dr_quote(name, len, q2, sizeof q2),
                           plan->name_max,
                           shown(plan->req.output_dir, NULL, d, sizeof d));
        if (!plan->use_proc &&
            strlen(plan->req.output_dir) + 1 + strlen(".dynoreport-staging.") + STAGE_RANDOM + 1 + len >= PATH_MAX)
            return dr_fail(err, DR_EUSAGE, "invalid --name %s: the path of the file in output directory %s "
                           "would be longer than %d bytes",
                           dr_quote(tmpl, strlen(tmpl), q, sizeof q), shown(plan->req.output_dir, NULL, d, sizeof d),
                           PATH_MAX - 1);
    }
    return DR_OK;
}

/* Remove the entries of directory @p dfd that are not directories (only regular files
   when @p regular_only): unlinkat never follows a link, and nothing is descended into.
   @return how many were removed. */
static size_t empty_dir(int dfd, int regular_only)
{
    size_t removed = 0;
    for (int pass = 0; pass < 3; pass++) { /* entries removed while reading may hide others */
        int fd = openat(dfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
        size_t before = removed;
        struct dirent *e;
        if (d == NULL) {
            if (fd >= 0)
                close(fd);
            break;
        }
        while ((e = readdir(d)) != NULL) {
            struct stat sb;
            if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
                continue;
            if (fstatat(dfd, e->d_name, &sb, AT_SYMLINK_NOFOLLOW) != 0 || S_ISDIR(sb.st_mode) ||
                (regular_only && !S_ISREG(sb.st_mode)))
                continue;
            if (unlinkat(dfd, e->d_name, 0) == 0)
                removed++;
        }
        closedir(d);
        if (removed == before)
            break;
    }
    return removed;
}

/* A `.dynoreport-staging.*` entry of the output directory: remove it if it is a staging
   directory of ours whose run is gone (its lock is free), leave it alone otherwise. */
static void clean_stale(const dr_output_plan *plan, const char *name)
{
    const dr_log *log = plan->log;
    char d[SHOWN_SIZE];
    struct stat sb, again, marker;
    int fd = openat(plan->outfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0)
        return; /* not a directory (or a link to one): not ours */
    if (fstat(fd, &sb) != 0 || sb.st_uid != geteuid() || (sb.st_mode & 0077) != 0) {
        dr_log_msg(log, DR_LOG_DEBUG, "left alone: %s is not a staging directory of this user",
                   shown(plan->req.output_dir, name, d, sizeof d));
        goto cleanup;
    }
    if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
        dr_log_msg(log, DR_LOG_DEBUG, "left alone: %s belongs to a run still in progress",
                   shown(plan->req.output_dir, name, d, sizeof d));
        goto cleanup;
    }
    /* locked: no run owns it. Still the entry we opened? */
    if (fstatat(plan->outfd, name, &again, AT_SYMLINK_NOFOLLOW) != 0 || !same_file(&sb, &again))
        goto cleanup;
    /* Files are removed only where our marker says the directory is a staging directory:
       someone who may rename entries of the output directory could give one of our own
       private directories this name. */
    size_t removed = 0;
    if (fstatat(fd, STAGE_MARKER, &marker, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(marker.st_mode) &&
        marker.st_uid == geteuid())
        removed = empty_dir(fd, 1);
    size_t nfiles = removed > 0 ? removed - 1 : 0; /* the marker is not a file of the run */
    if (unlinkat(plan->outfd, name, AT_REMOVEDIR) == 0)
        dr_log_msg(log, DR_LOG_INFO, "removed %s, the staging directory of an earlier run that did not "
                   "end cleanly (%zu staged %s)", shown(plan->req.output_dir, name, d, sizeof d), nfiles,
                   nfiles == 1 ? "file" : "files");
    else
        dr_log_msg(log, DR_LOG_WARN, "warning: cannot remove %s, the staging directory of an earlier run: %s",
                   shown(plan->req.output_dir, name, d, sizeof d), strerror(errno));
cleanup:
    close(fd); /* releases the lock */
}

/* Find and remove the staging directories that runs killed by SIGKILL, a crash or a power
   loss left behind; never one whose run is alive (it holds the lock). Errors are not
   fatal: the run does not depend on them. */
static void clean_stale_staging(const dr_output_plan *plan)
{
    int fd = openat(plan->outfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
    struct dirent *e;
    if (d == NULL) {
        if (fd >= 0)
            close(fd);
        return;
    }
    while ((e = readdir(d)) != NULL)
        if (strncmp(e->d_name, ".dynoreport-staging.", strlen(".dynoreport-staging.")) == 0)
            clean_stale(plan, e->d_name);
    closedir(d);
}

dr_status dr_output_plan_build(const dr_output_request *req, const dr_log *log, dr_output_plan **out,
                               dr_error *err)
{
    dr_status st = DR_OK;
    dr_output_plan *plan = NULL;
    *out = NULL;
    if (req->nformats == 0)
        return dr_fail(err, DR_EUSAGE, "no output format: expected --format csv,xlsx,json (any of them)");
    if ((plan = calloc(1, sizeof *plan)) == NULL)
        return dr_fail(err, DR_ENOMEM, "out of memory");
    plan->outfd = -1;
    plan->req = *req;
    plan->log = log;
    dr_plugin_path_init(&plan->path, req->plugin_dir);
    for (size_t i = 0; i < req->nformats; i++) {
        for (size_t j = 0; j < i; j++)
            if (strcmp(req->formats[i], req->formats[j]) == 0) {
                char q[DR_QUOTE_SIZE];
                st = dr_fail(err, DR_EUSAGE, "format %s is given twice in --format",
                             dr_quote(req->formats[i], strlen(req->formats[i]), q, sizeof q));
                goto cleanup;
            }
        format *f = &plan->formats[i];
        f->log = log;
        if ((st = dr_plugin_find(&plan->path, req->formats[i], &f->plugin, err)) != DR_OK)
            goto cleanup;
        f->wants_view = DR_PLUGIN_HAS(f->plugin.desc, flags) && (f->plugin.desc->flags & DR_PLUGIN_WANTS_VIEW);
        plan->n++;
        size_t used = strlen(plan->formats_text);
        snprintf(plan->formats_text + used, sizeof plan->formats_text - used, "%s%s", i ? "," : "",
                 req->formats[i]);
    }
    if ((st = assign_options(plan, err)) != DR_OK || (st = check_options(plan, err)) != DR_OK ||
        (st = open_output_dir(plan, err)) != DR_OK || (st = check_template(plan, err)) != DR_OK)
        goto cleanup;
    if (plan->path_only) {
        char d[SHOWN_SIZE];
        dr_log_msg(log, DR_LOG_WARN, "warning: output directory %s can be written but not read: the tool cannot "
                   "sync it to disk after the renames, nor find staging directories that killed runs left there",
                   shown(req->output_dir, NULL, d, sizeof d));
    } else if (!req->check_only) {
        clean_stale_staging(plan);
    }
    *out = plan;
    plan = NULL;
cleanup:
    dr_output_plan_free(plan);
    return st;
}

void dr_output_plan_free(dr_output_plan *plan)
{
    if (plan == NULL)
        return;
    for (size_t i = 0; i < DR_MAX_FORMATS; i++) { /* a failed load leaves its slot empty */
        format *f = &plan->formats[i];
        for (size_t o = 0; o < f->nopts; o++)
            free(f->optbuf[o]);
        dr_plugin_unload(&f->plugin);
    }
    dr_plugin_path_free(&plan->path);
    if (plan->outfd >= 0)
        close(plan->outfd);
    free(plan);
}

int dr_output_plan_wants_view(const dr_output_plan *plan)
{
    for (size_t i = 0; i < plan->n; i++)
        if (plan->formats[i].wants_view)
            return 1;
    return 0;
}

const char *dr_output_plan_formats(const dr_output_plan *plan)
{
    return plan->formats_text;
}

/* ---- the files of a run ------------------------------------------------------------ */

/* Item 7 of issue 10: what would make a rename fail after the commit is found before it.
   A missing final name is fine, and rename replaces a file, a link, a FIFO; it cannot
   replace a directory, nor (in a sticky directory, for anyone but root) another user's file. */
static dr_status check_targets(const dr_output_files *files, dr_error *err)
{
    const dr_output_plan *plan = files->plan;
    struct stat dir;
    char d[SHOWN_SIZE];
    if (fstat(plan->outfd, &dir) != 0)
        return dr_fail(err, DR_ECANTCREATE, "cannot use output directory %s: %s",
                       shown(plan->req.output_dir, NULL, d, sizeof d), strerror(errno));
    for (size_t i = 0; i < files->n; i++) {
        const staged *s = &files->files[i];
        struct stat sb;
        if (fstatat(plan->outfd, s->name, &sb, AT_SYMLINK_NOFOLLOW) != 0) {
            if (errno == ENOENT)
                continue;
            return dr_fail(err, DR_ECANTCREATE, "cannot put the report at %s: %s",
                           shown(plan->req.output_dir, s->name, d, sizeof d), strerror(errno));
        }
        if (S_ISDIR(sb.st_mode))
            return dr_fail(err, DR_ECANTCREATE, "cannot put the report at %s: a directory of that name is "
                           "in the way (remove it, or choose another --name); nothing was saved",
                           shown(plan->req.output_dir, s->name, d, sizeof d));
        if ((dir.st_mode & S_ISVTX) && geteuid() != 0 && sb.st_uid != geteuid() && dir.st_uid != geteuid())
            return dr_fail(err, DR_ECANTCREATE, "cannot put the report at %s: the file there belongs to "
                           "another user and the directory is sticky; nothing was saved",
                           shown(plan->req.output_dir, s->name, d, sizeof d));
    }
    return DR_OK;
}

/* DIR/NAME into @p out; 0 if it does not fit. */
static int join_path(char *out, size_t size, const char *dir, const char *name)
{
    size_t a = strlen(dir), b = strlen(name);
    if (a + 1 + b >= size)
        return 0;
    memcpy(out, dir, a);
    out[a] = '/';
    memcpy(out + a + 1, name, b + 1);
    return 1;
}

/* Name every file, refuse two formats on one name. */
static dr_status name_files(dr_output_files *files, const dr_name_vars *vars, dr_error *err)
{
    const dr_output_request *req = &files->plan->req;
    const char *tmpl = req->name_template ? req->name_template : DR_NAME_DEFAULT;
    char d[SHOWN_SIZE];
    for (size_t i = 0; i < files->n; i++) {
        staged *s = &files->files[i];
        dr_name_vars v = *vars;
        v.ext = s->fmt->plugin.desc->extension;
        dr_status st = dr_name_expand(tmpl, strlen(tmpl), &v, s->name, sizeof s->name, err);
        if (st != DR_OK)
            return st;
        if ((long)strlen(s->name) > files->plan->name_max)
            return dr_fail(err, DR_EUSAGE, "the file name %s is longer than the %ld bytes the file system "
                           "of the output directory takes", shown(req->output_dir, s->name, d, sizeof d),
                           files->plan->name_max);
        if (!join_path(s->final_path, sizeof s->final_path, req->output_dir, s->name))
            return dr_fail(err, DR_EUSAGE, "the output path %s is too long",
                           shown(req->output_dir, s->name, d, sizeof d));
        for (size_t j = 0; j < i; j++)
            if (strcmp(files->files[j].name, s->name) == 0)
                return dr_fail(err, DR_EUSAGE,
                               "formats '%s' and '%s' would both write %s: put {ext} in --name",
                               files->files[j].fmt->plugin.desc->name, s->fmt->plugin.desc->name,
                               shown(req->output_dir, s->name, d, sizeof d));
    }
    return DR_OK;
}

size_t dr_output_plan_count(const dr_output_plan *plan)
{
    return plan->n;
}

dr_status dr_output_plan_file(const dr_output_plan *plan, size_t i, const dr_name_vars *vars, char *path,
                              size_t path_size, int *exists, dr_error *err)
{
    const char *tmpl = plan->req.name_template ? plan->req.name_template : DR_NAME_DEFAULT;
    char name[NAME_MAX + 1], d[SHOWN_SIZE];
    struct stat sb;
    dr_name_vars v = *vars;
    v.ext = plan->formats[i].plugin.desc->extension;
    dr_status st = dr_name_expand(tmpl, strlen(tmpl), &v, name, sizeof name, err);
    if (st != DR_OK)
        return st;
    if (!join_path(path, path_size, plan->req.output_dir, name))
        return dr_fail(err, DR_EUSAGE, "the output path %s is too long", shown(plan->req.output_dir, name, d, sizeof d));
    /* a regular file of that name (not followed): what a run published there */
    *exists = fstatat(plan->outfd, name, &sb, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(sb.st_mode);
    return DR_OK;
}

static void random_name(char *out, size_t size)
{
    static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    unsigned char r[STAGE_RANDOM];
    if (getrandom(r, sizeof r, GRND_NONBLOCK) != (ssize_t)sizeof r) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        unsigned long x = (unsigned long)ts.tv_nsec ^ ((unsigned long)ts.tv_sec << 20) ^ (unsigned long)getpid();
        for (size_t i = 0; i < sizeof r; i++) {
            x = x * 6364136223846793005UL + 1442695040888963407UL;
            r[i] = (unsigned char)(x >> 33);
        }
    }
    char tail[STAGE_RANDOM + 1];
    for (size_t i = 0; i < STAGE_RANDOM; i++)
        tail[i] = alphabet[r[i] % (sizeof alphabet - 1)];
    tail[STAGE_RANDOM] = '\0';
    snprintf(out, size, ".dynoreport-staging.%s", tail);
}

/* The name in directory @p dirfd of the directory @p self (NAME first, then a scan):
   someone who may write the output directory may have renamed it there. 1: found, in NAME. */
static int find_by_inode(int dirfd, const struct stat *self, char *name, size_t size)
{
    struct stat sb;
    if (fstatat(dirfd, name, &sb, AT_SYMLINK_NOFOLLOW) == 0 && same_file(&sb, self))
        return 1;
    int fd = openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
    struct dirent *e;
    int found = 0;
    if (d == NULL) {
        if (fd >= 0)
            close(fd);
        return 0;
    }
    while (!found && (e = readdir(d)) != NULL)
        if (e->d_ino == self->st_ino && strlen(e->d_name) < size &&
            fstatat(dirfd, e->d_name, &sb, AT_SYMLINK_NOFOLLOW) == 0 && same_file(&sb, self)) {
            memcpy(name, e->d_name, strlen(e->d_name) + 1);
            found = 1;
        }
    closedir(d);
    return found;
}

/* Remove the (empty) directory open as @p fd from the output directory, where NAME (or,
   renamed, another name) leads to it; renamed again in between: a few more tries. */
static void discard_dir(const dr_output_plan *plan, int fd, char *name)
{
    char now[NAME_MAX + 1];
    snprintf(now, sizeof now, "%s", name);
    for (int attempt = 0; attempt < 5; attempt++) {
        struct stat self;
        if (fstat(fd, &self) != 0 || self.st_nlink == 0)
            return; /* removed */
        if (!find_by_inode(plan->outfd, &self, now, sizeof now))
            return; /* not in the output directory any more */
        unlinkat(plan->outfd, now, AT_REMOVEDIR);
    }
}

/* Our directory NAME was renamed before we could open it (mkdirat and openat cannot be
   one step): remove empty directories of ours whose name starts with NAME's random part
   (e.g. NAME.moved); rmdir never removes anything else. Elsewhere, the next run's stale
   cleanup finds it while it keeps the staging prefix. */
static void discard_lost(const dr_output_plan *plan, const char *name)
{
    int fd = openat(plan->outfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
    struct dirent *e;
    size_t n = strlen(name);
    if (d == NULL) {
        if (fd >= 0)
            close(fd);
        return;
    }
    while ((e = readdir(d)) != NULL) {
        struct stat sb;
        if (strncmp(e->d_name, name, n) == 0 && e->d_name[n] != '\0' &&
            fstatat(plan->outfd, e->d_name, &sb, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(sb.st_mode) &&
            sb.st_uid == geteuid())
            unlinkat(plan->outfd, e->d_name, AT_REMOVEDIR);
    }
    closedir(d);
}

/* Make, open, check and lock a fresh staging directory. 1: done, 0: try another name
   (taken, or changed under us), 2: what we opened is owned by *foreign_uid, -1: failed
   (*st and err set). */
static int try_staging_dir(dr_output_files *files, long *foreign_uid, dr_status *st, dr_error *err)
{
    const dr_output_plan *plan = files->plan;
    char d[SHOWN_SIZE];
    struct stat sb, again;
    random_name(files->stage_name, sizeof files->stage_name);
    if (mkdirat(plan->outfd, files->stage_name, 0700) != 0) {
        if (errno == EEXIST)
            return 0;
        *st = dr_fail(err, DR_ECANTCREATE, "cannot create a staging directory in %s: %s",
                shown(plan->req.output_dir, NULL, d, sizeof d), strerror(errno));
        return -1;
    }
    int fd = openat(plan->outfd, files->stage_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0) { /* replaced by something else already: not ours, leave that */
        discard_lost(plan, files->stage_name);
        return 0;
    }
    if (fstat(fd, &sb) != 0) {
        *st = dr_fail(err, DR_ECANTCREATE, "cannot check the staging directory %s: %s",
                shown(plan->req.output_dir, files->stage_name, d, sizeof d), strerror(errno));
        close(fd);
        return -1;
    }
    if (!S_ISDIR(sb.st_mode)) {
        close(fd);
        discard_lost(plan, files->stage_name);
        return 0;
    }
    if (sb.st_uid != geteuid()) {
        /* root_squash NFS maps us to another owner (every time), or someone swapped in a
           directory of theirs in that instant: the caller decides after a few tries */
        *foreign_uid = (long)sb.st_uid;
        discard_dir(plan, fd, files->stage_name);
        close(fd);
        discard_lost(plan, files->stage_name);
        return 2;
    }
    /* a umask without owner bits, or a default ACL, may have changed the mode */
    errno = 0;
    if ((sb.st_mode & 07777) != 0700 && (fchmod(fd, 0700) != 0 || fstat(fd, &sb) != 0 ||
                                         (sb.st_mode & 07777) != 0700)) {
        *st = dr_fail(err, DR_ECANTCREATE, "cannot make the staging directory %s private (mode 0700): %s",
                shown(plan->req.output_dir, files->stage_name, d, sizeof d),
                errno ? strerror(errno) : "the mode did not change");
        discard_dir(plan, fd, files->stage_name);
        close(fd);
        return -1;
    }
    /* The lock marks the directory as live. A run cleaning up stale staging that got the
       lock first is about to remove it: take another name. After locking, the directory
       must still exist (a cleaner may have removed it between our mkdirat and flock). If
       its name no longer leads to it, someone who may write the output directory renamed
       it there: it is still ours, private and on the same file system, and everything
       goes through the descriptor, so keep it and learn its new name. */
    if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
        close(fd);
        return 0;
    }
    if (fstatat(plan->outfd, files->stage_name, &again, AT_SYMLINK_NOFOLLOW) != 0 || !same_file(&sb, &again)) {
        if (fstat(fd, &again) != 0 || again.st_nlink == 0 ||
            !find_by_inode(plan->outfd, &sb, files->stage_name, sizeof files->stage_name)) {
            close(fd);
            return 0;
        }
    }
    int m = openat(fd, STAGE_MARKER, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (m < 0) {
        *st = dr_fail(err, DR_ECANTCREATE, "cannot create a file in the staging directory %s: %s",
                shown(plan->req.output_dir, files->stage_name, d, sizeof d), strerror(errno));
        discard_dir(plan, fd, files->stage_name);
        close(fd);
        return -1;
    }
    close(m);
    files->stagefd = fd;
    files->stage_dev = sb.st_dev;
    files->stage_ino = sb.st_ino;
    snprintf(files->proc_dir, sizeof files->proc_dir, "/proc/self/fd/%d", fd);
    if (!join_path(files->stage_path, sizeof files->stage_path, plan->req.output_dir, files->stage_name)) {
        if (!plan->use_proc) { /* the plugins would get this path */
            *st = dr_fail(err, DR_ECANTCREATE, "the path of the staging directory in %s is too long",
                          shown(plan->req.output_dir, NULL, d, sizeof d));
            unlinkat(fd, STAGE_MARKER, 0);
            discard_dir(plan, fd, files->stage_name);
            close(fd);
            files->stagefd = -1;
            return -1;
        }
        snprintf(files->stage_path, sizeof files->stage_path, "%s/...", plan->req.output_dir); /* messages only */
    }
    return 1;
}

static dr_status make_staging_dir(dr_output_files *files, dr_error *err)
{
    char d[SHOWN_SIZE];
    int foreign = 0;
    for (int i = 0; i < STAGE_TRIES; i++) {
        dr_status st = DR_OK;
        long uid = -1;
        int r = try_staging_dir(files, &uid, &st, err);
        if (r == 2 && ++foreign < 3)
            continue;
        if (r == 2)
            return dr_fail(err, DR_ECANTCREATE, "cannot stage files in %s: the directories the tool creates "
                           "there are owned by uid %ld, not by this user (uid %ld): a root_squash NFS export?",
                           shown(files->plan->req.output_dir, NULL, d, sizeof d), uid, (long)geteuid());
        if (r != 0)
            return st;
    }
    return dr_fail(err, DR_ECANTCREATE, "cannot create a staging directory in %s: %d names taken or "
                   "changed under the tool", shown(files->plan->req.output_dir, NULL, d, sizeof d), STAGE_TRIES);
}

/* Create every staged file in the staging directory, by handle: O_EXCL|O_NOFOLLOW, the
   descriptor kept (to fsync and check what is published), the mode from the umask. */
static dr_status stage_files(dr_output_files *files, dr_error *err)
{
    const dr_output_plan *plan = files->plan;
    char d[SHOWN_SIZE];
    for (size_t i = 0; i < files->n; i++) {
        staged *s = &files->files[i];
        struct stat sb;
        s->fd = openat(files->stagefd, s->name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0666);
        if (s->fd < 0)
            return dr_fail(err, DR_ECANTCREATE, "cannot create %s: %s",
                           shown(files->stage_path, s->name, d, sizeof d), strerror(errno));
        s->created = 1;
        /* exactly 0666 & ~umask, as a file the user created (a default ACL aside) */
        if (fchmod(s->fd, plan->file_mode) != 0 || fstat(s->fd, &sb) != 0)
            return dr_fail(err, DR_ECANTCREATE, "cannot set the mode of %s: %s",
                           shown(files->stage_path, s->name, d, sizeof d), strerror(errno));
        s->dev = sb.st_dev;
        s->ino = sb.st_ino;
        if (!join_path(s->plugin_path, sizeof s->plugin_path, plan->use_proc ? files->proc_dir : files->stage_path,
                       s->name))
            return dr_fail(err, DR_EUSAGE, "the output path %s is too long",
                           shown(files->stage_path, s->name, d, sizeof d));
        s->ctx = (plugin_ctx){s->fmt, plan->use_proc ? files->proc_dir : NULL, files->stage_path};
    }
    return DR_OK;
}

static dr_status open_plugins(dr_output_files *files, const dr_run_info *info, const dr_report_view *view,
                              dr_error *err)
{
    for (size_t i = 0; i < files->n; i++) {
        staged *s = &files->files[i];
        int with_view = view != NULL && s->fmt->wants_view;
        s->args = (dr_open_args){
            .abi_major = DR_PLUGIN_ABI_MAJOR, .size = sizeof(dr_open_args), .run = info,
            .columns = dr_report_all_columns,
            .ncolumns = with_view ? DR_REPORT_NCOLS + DR_VIEW_NCOLUMNS : DR_REPORT_NCOLS,
            .path = s->plugin_path, .options = s->fmt->opts, .noptions = s->fmt->nopts, .log = plugin_log,
            .log_ctx = &s->ctx, .errbuf = s->errbuf, .errbuf_size = sizeof s->errbuf,
            .view = with_view ? view : NULL};
        s->errbuf[0] = '\0';
        void *h = NULL;
        dr_plugin_status ps = s->fmt->plugin.desc->open(&s->args, &h);
        if (ps != DR_PLUGIN_OK) {
            if (h)
                s->fmt->plugin.desc->destroy(h);
            return plugin_failure(&s->ctx, s->errbuf, sizeof s->errbuf, ps, "open", err);
        }
        s->handle = h;
    }
    return DR_OK;
}

static dr_output_files *files_new(dr_output_plan *plan, size_t n)
{
    dr_output_files *files = calloc(1, sizeof *files);
    if (files == NULL)
        return NULL;
    files->plan = plan;
    files->n = n;
    files->stagefd = -1;
    atomic_init(&files->guard, GUARD_IDLE);
    for (size_t i = 0; i < n; i++) {
        files->files[i].fmt = &plan->formats[i];
        files->files[i].fd = -1;
    }
    return files;
}

dr_status dr_output_stage_open(dr_output_plan *plan, dr_output_files **out, dr_error *err)
{
    dr_output_files *stage = files_new(plan, 0);
    *out = NULL;
    if (stage == NULL)
        return dr_fail(err, DR_ENOMEM, "out of memory");
    dr_status st = make_staging_dir(stage, err);
    if (st != DR_OK) {
        dr_output_files_free(stage);
        return st;
    }
    *out = stage;
    return DR_OK;
}

/* The files of a run staged in @p stage's directory (a batch's, kept open by it). */
static void borrow_staging(dr_output_files *files, const dr_output_files *stage)
{
    files->borrowed = 1;
    files->stagefd = stage->stagefd;
    files->stage_dev = stage->stage_dev;
    files->stage_ino = stage->stage_ino;
    memcpy(files->stage_name, stage->stage_name, sizeof files->stage_name);
    memcpy(files->proc_dir, stage->proc_dir, sizeof files->proc_dir);
    memcpy(files->stage_path, stage->stage_path, sizeof files->stage_path);
}

dr_status dr_output_begin(dr_output_plan *plan, const dr_output_files *stage, const dr_name_vars *vars,
                          const dr_run_info *info, const dr_report_view *view, dr_output_files **out,
                          dr_error *err)
{
    dr_output_files *files = files_new(plan, plan->n);
    dr_status st = DR_OK;
    *out = NULL;
    if (files == NULL)
        return dr_fail(err, DR_ENOMEM, "out of memory");
    if (stage && stage->stagefd >= 0)
        borrow_staging(files, stage);
    if ((st = name_files(files, vars, err)) != DR_OK || (st = check_targets(files, err)) != DR_OK ||
        (!files->borrowed && (st = make_staging_dir(files, err)) != DR_OK) ||
        (st = stage_files(files, err)) != DR_OK || (st = open_plugins(files, info, view, err)) != DR_OK)
        goto cleanup;
    *out = files;
    files = NULL;
cleanup:
    dr_output_files_free(files);
    return st;
}

dr_status dr_output_row(dr_output_files *files, const dr_value *values, int is_fact, dr_error *err)
{
    for (size_t i = 0; i < files->n; i++) {
        staged *s = &files->files[i];
        if (!is_fact && s->args.view == NULL) /* gone and total rows are the view's */
            continue;
        dr_plugin_status ps = s->fmt->plugin.desc->row(s->handle, values);
        if (ps != DR_PLUGIN_OK)
            return plugin_failure(&s->ctx, s->errbuf, sizeof s->errbuf, ps, "row", err);
    }
    return DR_OK;
}

/* What is published must be the file this run created: a regular file of ours with one
   link, still under its name in the staging directory. */
static dr_status check_staged(const dr_output_files *files, const staged *s, dr_error *err)
{
    struct stat sb, byname;
    char d[SHOWN_SIZE];
    if (fstat(s->fd, &sb) != 0)
        return dr_fail(err, DR_EIO, "cannot check %s: %s", shown(files->stage_path, s->name, d, sizeof d),
                       strerror(errno));
    if (!S_ISREG(sb.st_mode) || sb.st_uid != geteuid() || sb.st_nlink != 1 || sb.st_dev != s->dev ||
        sb.st_ino != s->ino || fstatat(files->stagefd, s->name, &byname, AT_SYMLINK_NOFOLLOW) != 0 ||
        !same_file(&sb, &byname))
        return dr_fail(err, DR_EIO, "refusing to publish %s: it is no longer the regular file this run "
                       "created (replaced, linked or removed while the plugin '%s' wrote it); nothing was saved",
                       shown(files->stage_path, s->name, d, sizeof d), s->fmt->plugin.desc->name);
    return DR_OK;
}

dr_status dr_output_files_sync(dr_output_files *files, dr_error *err)
{
    char d[SHOWN_SIZE];
    for (size_t i = 0; i < files->n; i++) {
        staged *s = &files->files[i];
        /* the descriptor we created the file with: no path another user could redirect */
        if (s->fd >= 0 && fsync(s->fd) != 0)
            return dr_fail(err, DR_EIO, "cannot save %s: %s", shown(files->stage_path, s->name, d, sizeof d),
                           strerror(errno));
    }
    return DR_OK;
}

dr_status dr_output_plan_syncfs(const dr_output_plan *plan, int *synced, dr_error *err)
{
    char d[SHOWN_SIZE];
    *synced = 0;
#ifdef __linux__
    /* the output directory's file system, staged files included (the staging directories
       are in it): one flush and one journal commit for a batch of runs; the kernel reports
       a write-back error of any file of that file system since the plan was built */
    if (!plan->path_only) {
        if (syncfs(plan->outfd) == 0) {
            *synced = 1;
            return DR_OK;
        }
        if (errno != ENOSYS && errno != EBADF)
            return dr_fail(err, DR_EIO, "cannot save the files staged in %s: %s",
                           shown(plan->req.output_dir, NULL, d, sizeof d), strerror(errno));
    }
#else
    (void)plan;
    (void)d;
    (void)err;
#endif
    return DR_OK;
}

dr_status dr_output_finish(dr_output_files *files, int sync, dr_error *err)
{
    for (size_t i = 0; i < files->n; i++) {
        staged *s = &files->files[i];
        dr_plugin_status ps = s->fmt->plugin.desc->end(s->handle);
        if (ps != DR_PLUGIN_OK)
            return plugin_failure(&s->ctx, s->errbuf, sizeof s->errbuf, ps, "end", err);
        dr_status st = check_staged(files, s, err);
        if (st != DR_OK)
            return st;
    }
    dr_status st = sync ? dr_output_files_sync(files, err) : DR_OK;
    if (st != DR_OK)
        return st;
    /* the last moment before the commit: nothing predictable may fail after it */
    return check_targets(files, err);
}

/* Take the staging descriptor from any other thread (dr_output_files_remove_staged) for
   good: wait while one is using it (that one never blocks), then mark it closed. */
static void guard_close(dr_output_files *files)
{
    for (;;) {
        int idle = GUARD_IDLE;
        if (atomic_compare_exchange_strong(&files->guard, &idle, GUARD_CLOSED) || idle == GUARD_CLOSED)
            return;
        sched_yield();
    }
}

/* The end of the staging directory (main thread): what is still in it is removed, then
   the directory, then the descriptor is closed (which releases the lock). */
static void close_staging(dr_output_files *files)
{
    guard_close(files);
    if (files->stagefd < 0)
        return;
    if (files->borrowed) { /* a batch's directory: our files only (published ones are gone already) */
        for (size_t i = 0; i < files->n; i++)
            if (files->files[i].created)
                unlinkat(files->stagefd, files->files[i].name, 0);
        files->stagefd = -1;
        return;
    }
    empty_dir(files->stagefd, 0);
    discard_dir(files->plan, files->stagefd, files->stage_name);
    close(files->stagefd);
    files->stagefd = -1;
}

dr_status dr_output_plan_sync_dir(const dr_output_plan *plan, const char *run_id, dr_error *err)
{
    char d[SHOWN_SIZE];
    /* the renames are durable only once the directory is (a directory we may not read
       cannot be synced: said once, when the plan was built) */
    if (plan->path_only || fsync(plan->outfd) == 0 || errno == EINVAL)
        return DR_OK;
    if (run_id == NULL)
        return dr_fail(err, DR_EIO, "the runs are saved and their files are in place, but the output directory "
                       "%s could not be synced to disk: %s (after a crash files may be missing: rebuild them with "
                       "'dynoreport export --run-id RUN_ID')",
                       shown(plan->req.output_dir, NULL, d, sizeof d), strerror(errno));
    return dr_fail(err, DR_EIO, "run %s is saved and its files are in place, but the output directory %s "
                   "could not be synced to disk: %s (after a crash the files may be missing: rebuild them "
                   "with 'dynoreport export --run-id %s')",
                   run_id, shown(plan->req.output_dir, NULL, d, sizeof d), strerror(errno), run_id);
}

dr_status dr_output_publish(dr_output_files *files, const char *run_id, int sync_dir, const dr_log *log,
                            dr_error *err)
{
    const dr_output_plan *plan = files->plan;
    dr_status st = DR_OK;
    char d[SHOWN_SIZE];
    for (size_t i = 0; i < files->n; i++) {
        staged *s = &files->files[i];
        if (renameat(files->stagefd, s->name, plan->outfd, s->name) != 0) {
            st = dr_fail(err, DR_EIO, "run %s is saved, but %s could not be put in place: %s "
                         "(rebuild it with 'dynoreport export --run-id %s')",
                         run_id, shown(plan->req.output_dir, s->name, d, sizeof d), strerror(errno), run_id);
            continue;
        }
        dr_log_result(log, s->final_path);
    }
    if (st == DR_OK && sync_dir)
        st = dr_output_plan_sync_dir(plan, run_id, err);
    close_staging(files);
    return st;
}

void dr_output_files_remove_staged(dr_output_files *files)
{
    /* No malloc, no lock, nothing but system calls on descriptors: the main thread may be
       stuck anywhere (in a plugin, in the database), holding anything. */
    if (files == NULL)
        return;
    int idle = GUARD_IDLE;
    if (!atomic_compare_exchange_strong(&files->guard, &idle, GUARD_BUSY))
        return; /* closed (or being closed) by the main thread, or another caller is at it */
    int dfd = files->stagefd, outfd = files->plan->outfd;
    if (dfd >= 0) {
        struct stat sb;
        for (size_t i = 0; i < files->n; i++)
            if (files->files[i].created)
                unlinkat(dfd, files->files[i].name, 0); /* a published one is gone already: ENOENT */
        if (files->borrowed) { /* the batch's directory: removed with the batch's own call */
            atomic_store(&files->guard, GUARD_IDLE);
            return;
        }
        unlinkat(dfd, STAGE_MARKER, 0);
        if (fstatat(outfd, files->stage_name, &sb, AT_SYMLINK_NOFOLLOW) == 0 && sb.st_dev == files->stage_dev &&
            sb.st_ino == files->stage_ino)
            unlinkat(outfd, files->stage_name, AT_REMOVEDIR); /* fails if a plugin left more */
    }
    atomic_store(&files->guard, GUARD_IDLE);
}

void dr_output_files_free(dr_output_files *files)
{
    if (files == NULL)
        return;
    for (size_t i = 0; i < files->n; i++) {
        staged *s = &files->files[i];
        if (s->handle)
            s->fmt->plugin.desc->destroy(s->handle);
        s->handle = NULL;
        if (s->fd >= 0)
            close(s->fd);
        s->fd = -1;
    }
    close_staging(files);
    free(files);
}

size_t dr_output_files_count(const dr_output_files *files)
{
    return files ? files->n : 0;
}

void dr_output_file_at(const dr_output_files *files, size_t i, const char **name, const char **path,
                       const char **fmt_name)
{
    const staged *s = &files->files[i];
    *name = s->name;
    *path = s->final_path;
    *fmt_name = s->fmt->plugin.desc->name;
}
