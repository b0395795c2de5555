/* The built-in `dir` delivery (docs/delivery.md): the run's files in a directory (the
   output directory, or a copy into `url = file:///DIR`, each by a temporary name and
   renameat), an optional stable `latest` symbolic link per tenant and format (symlinkat to
   a temporary name, then renameat over the old link), and an optional manifest (JSON:
   every file with its size and SHA-256, run id, tenant, period) written LAST by the same
   temporary-name-and-rename, so that a pick-up system seeing it knows the drop is complete.
   It speaks the delivery ABI like a plugin, but is linked in. */
#include <dynoreport/delivery.h>

#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <limits.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "delivery.h"

#define HASH_HEX (2 * 32 + 1)

/* Read @p fd to its end: its size and SHA-256 (hex), copying every byte to @p out_fd when
   that is not -1. 0 or an errno. */
static int hash_copy(int fd, int out_fd, uint64_t *size, char hex[HASH_HEX])
{
    unsigned char buf[65536], md[EVP_MAX_MD_SIZE];
    unsigned mdlen = 0;
    int rc = 0;
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    *size = 0;
    if (ctx == NULL || EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) != 1) {
        rc = ENOMEM;
        goto cleanup;
    }
    for (;;) {
        ssize_t n = read(fd, buf, sizeof buf);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            rc = errno;
            goto cleanup;
        }
        if (n == 0)
            break;
        EVP_DigestUpdate(ctx, buf, (size_t)n);
        *size += (uint64_t)n;
        for (ssize_t off = 0; out_fd >= 0 && off < n;) {
            ssize_t w = write(out_fd, buf + off, (size_t)(n - off));
            if (w < 0 && errno == EINTR)
                continue;
            if (w < 0) {
                rc = errno;
                goto cleanup;
            }
            off += w;
        }
    }
    if (EVP_DigestFinal_ex(ctx, md, &mdlen) != 1) {
        rc = EIO;
        goto cleanup;
    }
    for (unsigned i = 0; i < mdlen && i < 32; i++)
        snprintf(hex + 2 * i, 3, "%02x", md[i]);
cleanup:
    EVP_MD_CTX_free(ctx);
    return rc;
}

/* A temporary name beside @p name in @p dfd, created O_EXCL: its fd, or -1 (errno). */
static int create_temp(int dfd, const char *name, char *tmp, size_t size, mode_t mode)
{
    for (unsigned i = 0; i < 100; i++) {
        snprintf(tmp, size, ".%s.%ld.%u.tmp", name, (long)getpid(), i);
        int fd = openat(dfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
        if (fd >= 0 || errno != EEXIST)
            return fd;
    }
    errno = EEXIST;
    return -1;
}

/* Write @p fd's data to disk and put @p tmp in place as @p name. */
static int publish_temp(int dfd, int fd, const char *tmp, const char *name)
{
    int rc = 0;
    if (fsync(fd) != 0)
        rc = errno;
    if (close(fd) != 0 && rc == 0)
        rc = errno;
    if (rc == 0 && renameat(dfd, tmp, dfd, name) != 0)
        rc = errno;
    if (rc != 0)
        unlinkat(dfd, tmp, 0);
    return rc;
}

/* The directory part of @p path ("." when none). */
static void dir_of(const char *path, char *out, size_t size)
{
    const char *slash = strrchr(path, '/');
    if (slash == NULL)
        snprintf(out, size, ".");
    else if (slash == path)
        snprintf(out, size, "/");
    else
        snprintf(out, size, "%.*s", (int)(slash - path), path);
}

static int opt_yes(const dr_delivery_args *a, const char *key)
{
    const char *v = a->option(a->host, key);
    return v && strcmp(v, "yes") == 0;
}

/* "name" of "name.ext" (the whole name when it has no '.'). */
static void stem_of(const char *name, char *out, size_t size)
{
    const char *dot = strrchr(name, '.');
    snprintf(out, size, "%.*s", dot && dot != name ? (int)(dot - name) : (int)strlen(name), name);
}

/* The manifest: a JSON document written into @p dfd last, by a temporary name. */
static dr_delivery_status write_manifest(const dr_delivery_args *a, int dfd, const char *name,
                                         char (*hashes)[HASH_HEX], const uint64_t *sizes)
{
    const dr_run_info *r = a->run;
    json_object *doc = json_object_new_object(), *files = json_object_new_array();
    dr_delivery_status st = DR_DELIVERY_OK;
    char tmp[NAME_MAX + 64];
    int fd = -1;
    if (doc == NULL || files == NULL) {
        json_object_put(files);
        st = DR_DELIVERY_ENOMEM;
        goto cleanup;
    }
    json_object_object_add(doc, "manifest_version", json_object_new_int(1));
    json_object_object_add(doc, "report", json_object_new_string(r->report));
    json_object_object_add(doc, "run_id", json_object_new_string(r->run_id));
    json_object_object_add(doc, "tenant_id", json_object_new_string(r->tenant_id));
    json_object_object_add(doc, "period", json_object_new_string(r->period_label));
    json_object_object_add(doc, "period_start", json_object_new_string(r->period_start));
    json_object_object_add(doc, "period_end", json_object_new_string(r->period_end));
    json_object_object_add(doc, "time_zone", json_object_new_string(r->time_zone));
    json_object_object_add(doc, "generated_at", json_object_new_string(r->generated_at));
    for (size_t i = 0; i < a->nfiles; i++) {
        json_object *f = json_object_new_object();
        if (f == NULL) {
            st = DR_DELIVERY_ENOMEM;
            break;
        }
        json_object_object_add(f, "name", json_object_new_string(a->files[i].name));
        json_object_object_add(f, "format", json_object_new_string(a->files[i].format));
        json_object_object_add(f, "content_type", json_object_new_string(a->files[i].content_type));
        json_object_object_add(f, "size", json_object_new_int64((int64_t)sizes[i]));
        json_object_object_add(f, "sha256", json_object_new_string(hashes[i]));
        json_object_array_add(files, f);
    }
    json_object_object_add(doc, "files", files);
    if (st != DR_DELIVERY_OK)
        goto cleanup;
    const char *text = json_object_to_json_string_ext(doc, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE);
    if (text == NULL) {
        st = DR_DELIVERY_ENOMEM;
        goto cleanup;
    }
    if ((fd = create_temp(dfd, name, tmp, sizeof tmp, 0666)) < 0) {
        st = dr_delivery_error(a, DR_DELIVERY_ETEMP, "cannot create the manifest %s: %s", name, strerror(errno));
        goto cleanup;
    }
    size_t len = strlen(text), off = 0;
    while (off < len) {
        ssize_t w = write(fd, text + off, len - off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0) {
            st = dr_delivery_error(a, DR_DELIVERY_ETEMP, "cannot write the manifest %s: %s", name, strerror(errno));
            close(fd);
            unlinkat(dfd, tmp, 0);
            fd = -1;
            goto cleanup;
        }
        off += (size_t)w;
    }
    if (write(fd, "\n", 1) != 1) {
        st = dr_delivery_error(a, DR_DELIVERY_ETEMP, "cannot write the manifest %s: %s", name, strerror(errno));
        close(fd);
        unlinkat(dfd, tmp, 0);
        fd = -1;
        goto cleanup;
    }
    int rc = publish_temp(dfd, fd, tmp, name);
    fd = -1;
    if (rc != 0)
        st = dr_delivery_error(a, DR_DELIVERY_ETEMP, "cannot put the manifest %s in place: %s", name, strerror(rc));
cleanup:
    json_object_put(doc);
    return st;
}

/* latest: NAME_latest.EXT -> the file, by symlinkat to a temporary name and renameat. */
static dr_delivery_status make_latest(const dr_delivery_args *a, int dfd, const dr_delivery_file *f)
{
    char link[NAME_MAX + 1], tmp[NAME_MAX + 64];
    const char *dot = strrchr(f->name, '.');
    snprintf(link, sizeof link, "%s_%s_latest.%s", a->run->report, a->run->tenant_id, dot ? dot + 1 : f->format);
    if (strcmp(link, f->name) == 0)
        return DR_DELIVERY_OK;
    for (unsigned i = 0;; i++) {
        snprintf(tmp, sizeof tmp, ".%s.%ld.%u.tmp", link, (long)getpid(), i);
        if (symlinkat(f->name, dfd, tmp) == 0)
            break;
        if (errno != EEXIST || i >= 100)
            return dr_delivery_error(a, DR_DELIVERY_ETEMP, "cannot create the link %s: %s", link, strerror(errno));
    }
    if (renameat(dfd, tmp, dfd, link) != 0) {
        int e = errno;
        unlinkat(dfd, tmp, 0);
        return dr_delivery_error(a, DR_DELIVERY_ETEMP, "cannot put the link %s in place: %s", link, strerror(e));
    }
    return DR_DELIVERY_OK;
}

static dr_delivery_status dir_check(const dr_delivery_args *a)
{
    if (a->url[0] && strncmp(a->url, "file:///", 8) != 0)
        return dr_delivery_error(a, DR_DELIVERY_EOPTION, "url %s: expected file:///ABSOLUTE/DIR", a->url);
    return DR_DELIVERY_OK;
}

static dr_delivery_status dir_deliver(const dr_delivery_args *a)
{
    char target[PATH_MAX], src_dir[PATH_MAX], manifest[NAME_MAX + 1], stem[NAME_MAX + 1];
    char (*hashes)[HASH_HEX] = NULL;
    uint64_t *sizes = NULL;
    dr_delivery_status st = DR_DELIVERY_OK;
    struct stat tsb, ssb;
    int dfd = -1, copy = 0;
    if (a->nfiles == 0)
        return dr_delivery_error(a, DR_DELIVERY_EFAIL, "the run has no files to deliver");
    dir_of(a->files[0].path, src_dir, sizeof src_dir);
    snprintf(target, sizeof target, "%s", a->url[0] ? a->url + 7 : src_dir);
    if ((dfd = open(target, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0 || fstat(dfd, &tsb) != 0) {
        st = dr_delivery_error(a, DR_DELIVERY_ETEMP, "cannot open the directory %s: %s", target, strerror(errno));
        goto cleanup;
    }
    copy = stat(src_dir, &ssb) != 0 || ssb.st_dev != tsb.st_dev || ssb.st_ino != tsb.st_ino;
    hashes = calloc(a->nfiles, sizeof *hashes);
    sizes = calloc(a->nfiles, sizeof *sizes);
    if (hashes == NULL || sizes == NULL) {
        st = DR_DELIVERY_ENOMEM;
        goto cleanup;
    }
    for (size_t i = 0; i < a->nfiles && st == DR_DELIVERY_OK; i++) {
        const dr_delivery_file *f = &a->files[i];
        char tmp[NAME_MAX + 64];
        int in = open(f->path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW), out = -1, rc;
        if (in < 0) {
            st = dr_delivery_error(a, DR_DELIVERY_EFAIL, "cannot read %s: %s", f->name, strerror(errno));
            break;
        }
        if (copy && (out = create_temp(dfd, f->name, tmp, sizeof tmp, 0666)) < 0) {
            st = dr_delivery_error(a, DR_DELIVERY_ETEMP, "cannot create a file in %s: %s", target, strerror(errno));
            close(in);
            break;
        }
        rc = hash_copy(in, out, &sizes[i], hashes[i]);
        close(in);
        if (rc != 0) {
            if (out >= 0) {
                close(out);
                unlinkat(dfd, tmp, 0);
            }
            st = rc == ENOMEM ? DR_DELIVERY_ENOMEM
                              : dr_delivery_error(a, DR_DELIVERY_ETEMP, "cannot copy %s: %s", f->name, strerror(rc));
            break;
        }
        if (out >= 0 && (rc = publish_temp(dfd, out, tmp, f->name)) != 0)
            st = dr_delivery_error(a, DR_DELIVERY_ETEMP, "cannot put %s in place in %s: %s", f->name, target,
                                   strerror(rc));
    }
    for (size_t i = 0; i < a->nfiles && st == DR_DELIVERY_OK && opt_yes(a, "latest"); i++)
        st = make_latest(a, dfd, &a->files[i]);
    stem_of(a->files[0].name, stem, sizeof stem);
    snprintf(manifest, sizeof manifest, "%.*s.manifest.json", NAME_MAX - 14, stem);
    if (st == DR_DELIVERY_OK && opt_yes(a, "manifest"))
        st = write_manifest(a, dfd, manifest, hashes, sizes);
    if (st == DR_DELIVERY_OK && fsync(dfd) != 0 && errno != EINVAL)
        st = dr_delivery_error(a, DR_DELIVERY_ETEMP, "cannot sync the directory %s: %s", target, strerror(errno));
    if (st == DR_DELIVERY_OK)
        snprintf(a->remote, a->remote_size, "%s%s%s", target, opt_yes(a, "manifest") ? " manifest " : "",
                 opt_yes(a, "manifest") ? manifest : "");
cleanup:
    if (dfd >= 0)
        close(dfd);
    free(hashes);
    free(sizes);
    return st;
}

static const char *const dir_options[] = {NULL};

static const dr_delivery dir_delivery = {
    .abi_major = DR_DELIVERY_ABI_MAJOR,
    .size = sizeof(dr_delivery),
    .kind = "dir",
    .version = "1.0.0",
    .description = "files in a directory, an optional manifest (size, SHA-256) and latest links",
    .option_keys = dir_options,
    .check = dir_check,
    .deliver = dir_deliver,
};

const dr_delivery *dr_delivery_dir_builtin(void)
{
    return &dir_delivery;
}
