/* The "sftp" delivery plugin (docs/delivery.md): each file of the run uploaded with
   libcurl's SFTP (libssh2) into the remote directory of the url under a temporary name
   of its own (".NAME.RUN_ID.ATTEMPT.part"), then renamed on the server (CURLOPT_POSTQUOTE:
   an existing NAME renamed aside, the upload renamed to NAME, the old one removed; if the
   rename fails the old one is put back), so that a reader there never sees half a file. The server's host key must be in the configured
   known_hosts file (a missing or changed key is refused, never added); authentication by
   the configured private key (its passphrase, if any, from the credentials file). */
#include <dynoreport/delivery.h>

#include "plugin_common.h"

#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const sftp_options[] = {"timeout", NULL};

/* What the host-key callback saw, for the message. */
typedef struct key_check {
    int match; /* enum curl_khmatch, -1 before the callback ran */
} key_check;

static int key_callback(CURL *c, const struct curl_khkey *known, const struct curl_khkey *found,
                        enum curl_khmatch match, void *ctx)
{
    key_check *k = ctx;
    (void)c;
    (void)known;
    (void)found;
    k->match = (int)match;
    /* only a key that is in known_hosts, unchanged, is accepted; nothing is ever added */
    return match == CURLKHMATCH_OK ? CURLKHSTAT_FINE : CURLKHSTAT_REJECT;
}

/* The path part of sftp://HOST[:PORT]/PATH (percent-decoding is not done: the path must
   be plain), without a trailing '/'. */
static int url_path(const char *url, char *out, size_t size)
{
    const char *p = strstr(url, "://");
    if (p == NULL || (p = strchr(p + 3, '/')) == NULL || strchr(p, '%') || strchr(p, '?') || strchr(p, '#'))
        return 0;
    size_t n = strlen(p);
    while (n > 1 && p[n - 1] == '/')
        n--;
    if (n + 1 > size)
        return 0;
    memcpy(out, p, n);
    out[n] = '\0';
    return 1;
}

static dr_delivery_status sftp_check(const dr_delivery_args *a)
{
    char path[2048];
    const char *timeout = a->option(a->host, "timeout");
    if (!url_path(a->url, path, sizeof path) || path[1] == '~' || strchr(path, ' ') || strchr(path, '"'))
        return dr_delivery_error(a, DR_DELIVERY_EOPTION, "url %s: expected sftp://HOST[:PORT]/ABSOLUTE/DIR (no "
                                 "~, %%, ?, #, blank or quote in the path)", a->url);
    if (timeout) {
        char *end = NULL;
        long t = strtol(timeout, &end, 10);
        if (*timeout == '\0' || *end || t < 1 || t > 3600)
            return dr_delivery_error(a, DR_DELIVERY_EOPTION, "option timeout=%s: expected whole seconds from 1 "
                                     "to 3600", timeout);
    }
    /* the host-key check is libssh2's: a libcurl built with another SSH library (or none)
       would never call key_callback */
    const curl_version_info_data *v = curl_version_info(CURLVERSION_NOW);
    if (v == NULL || v->libssh_version == NULL || strncmp(v->libssh_version, "libssh2", 7) != 0)
        return dr_delivery_error(a, DR_DELIVERY_EOPTION, "this libcurl (%s) has %s%s, not libssh2: the sftp kind "
                                 "needs a libcurl built with libssh2 (Debian's libcurl4)",
                                 v && v->version ? v->version : "unknown version",
                                 v && v->libssh_version ? "SSH by " : "no SSH support",
                                 v && v->libssh_version ? v->libssh_version : "");
    return DR_DELIVERY_OK;
}

static dr_delivery_status classify(CURLcode rc)
{
    switch (rc) {
    case CURLE_COULDNT_CONNECT:
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_OPERATION_TIMEDOUT:
    case CURLE_SEND_ERROR:
    case CURLE_RECV_ERROR:
    case CURLE_GOT_NOTHING:
    case CURLE_PARTIAL_FILE:
    case CURLE_SSH:
    case CURLE_FAILED_INIT: /* libcurl's libssh2 code: "Failure establishing ssh session" (cut off) */
    case CURLE_QUOTE_ERROR:
    case CURLE_UPLOAD_FAILED:
        return DR_DELIVERY_ETEMP;
    case CURLE_OUT_OF_MEMORY:
        return DR_DELIVERY_ENOMEM;
    default:
        return DR_DELIVERY_EFAIL;
    }
}

/* @p path as a URL path: each name between the '/' percent-encoded (curl_easy_escape), so
   a '#', '?' or '%' in a file name is a file name, not a URL's fragment or query. */
static int escape_path(CURL *c, const char *path, char *out, size_t size)
{
    size_t used = 0;
    for (const char *p = path; *p;) {
        if (*p == '/') {
            if (used + 1 >= size)
                return 0;
            out[used++] = *p++;
            continue;
        }
        size_t n = strcspn(p, "/");
        char *e = curl_easy_escape(c, p, (int)n);
        if (e == NULL)
            return 0;
        size_t el = strlen(e);
        int fits = used + el < size;
        if (fits)
            memcpy(out + used, e, el);
        curl_free(e);
        if (!fits)
            return 0;
        used += el;
        p += n;
    }
    out[used] = '\0';
    return 1;
}

/* The SSH side of a transfer: the user, key authentication, the known_hosts check (into
   @p kc), no signals, the timeouts. */
static void ssh_session(CURL *c, const dr_delivery_args *a, key_check *kc)
{
    const char *timeout = a->option(a->host, "timeout");
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "sftp");
    curl_easy_setopt(c, CURLOPT_USERNAME, a->option(a->host, "user"));
    curl_easy_setopt(c, CURLOPT_SSH_AUTH_TYPES, (long)CURLSSH_AUTH_PUBLICKEY);
    curl_easy_setopt(c, CURLOPT_SSH_PRIVATE_KEYFILE, a->option(a->host, "private_key"));
    if (a->secret)
        curl_easy_setopt(c, CURLOPT_KEYPASSWD, a->secret);
    curl_easy_setopt(c, CURLOPT_SSH_KNOWNHOSTS, a->option(a->host, "known_hosts"));
    curl_easy_setopt(c, CURLOPT_SSH_KEYFUNCTION, key_callback);
    curl_easy_setopt(c, CURLOPT_SSH_KEYDATA, kc);
    curl_easy_setopt(c, CURLOPT_VERBOSE, 0L);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 30L);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, timeout ? strtol(timeout, NULL, 10) : 300L);
}

/* After a failed rename: the old file back under its name, the upload removed (each may
   fail: nothing to do then). */
static void restore(const dr_delivery_args *a, const char *base_url, const char *old_path, const char *final_path,
                    const char *tmp_path)
{
    char dir_url[6200], q_back[8300], q_rm[8300];
    struct curl_slist *q = NULL, *n;
    key_check kc = {-1};
    CURL *c = curl_easy_init();
    if (c == NULL)
        return;
    snprintf(q_back, sizeof q_back, "*rename \"%s\" \"%s\"", old_path, final_path);
    snprintf(q_rm, sizeof q_rm, "*rm \"%s\"", tmp_path);
    snprintf(dir_url, sizeof dir_url, "%s/", base_url);
    if ((n = curl_slist_append(q, q_back)) == NULL)
        goto cleanup;
    q = n;
    if ((n = curl_slist_append(q, q_rm)) == NULL)
        goto cleanup;
    q = n;
    curl_easy_setopt(c, CURLOPT_URL, dir_url);
    curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
    curl_easy_setopt(c, CURLOPT_QUOTE, q);
    ssh_session(c, a, &kc);
    (void)curl_easy_perform(c);
cleanup:
    curl_slist_free_all(q);
    curl_easy_setopt(c, CURLOPT_KEYPASSWD, "");
    curl_easy_cleanup(c);
}

/* One file: upload to DIR/.NAME.RUN.ATTEMPT.part, then on the server: NAME (if any) renamed
   to .NAME.RUN.ATTEMPT.old, the upload renamed to NAME, the .old removed; when the rename
   fails, the .old is renamed back (restore). */
static dr_delivery_status upload(const dr_delivery_args *a, const char *dir, const dr_delivery_file *f)
{
    char base[2048], url[8100], tmp_path[4096], final_path[4096], old_path[4096], escaped[6000];
    char q_aside[8300], q_mv[8300], q_rm[8300];
    char errbuf[CURL_ERROR_SIZE] = "";
    const char *run_id = a->run && a->run->run_id ? a->run->run_id : "run";
    struct curl_slist *post = NULL;
    dr_delivery_status st = DR_DELIVERY_OK;
    key_check kc = {-1};
    FILE *in = NULL;
    CURL *c = NULL;
    if (strchr(f->name, '"') || strchr(f->name, '/') || strchr(f->name, '\\') || strchr(f->name, ' '))
        return dr_delivery_error(a, DR_DELIVERY_EFAIL, "file name %s cannot be uploaded (quote, slash, backslash "
                                 "or blank)", f->name);
    /* the URL up to the path */
    const char *path_start = strchr(strstr(a->url, "://") + 3, '/');
    snprintf(base, sizeof base, "%.*s", (int)(path_start - a->url), a->url);
    /* names of this run and attempt: two runs (or a retry after a cut transfer) never
       write into the same temporary file */
    snprintf(tmp_path, sizeof tmp_path, "%s/.%s.%s.%u.part", dir, f->name, run_id, a->attempt);
    snprintf(old_path, sizeof old_path, "%s/.%s.%s.%u.old", dir, f->name, run_id, a->attempt);
    snprintf(final_path, sizeof final_path, "%s/%s", dir, f->name);
    /* SFTP's rename does not replace: the old file is moved aside first ('*': there may be
       none), removed only once the new one has its name */
    snprintf(q_aside, sizeof q_aside, "*rename \"%s\" \"%s\"", final_path, old_path);
    snprintf(q_mv, sizeof q_mv, "rename \"%s\" \"%s\"", tmp_path, final_path);
    snprintf(q_rm, sizeof q_rm, "*rm \"%s\"", old_path);
    if ((in = fopen(f->path, "rb")) == NULL)
        return dr_delivery_error(a, DR_DELIVERY_EFAIL, "cannot read %s", f->name);
    if ((c = curl_easy_init()) == NULL || (post = curl_slist_append(post, q_aside)) == NULL ||
        curl_slist_append(post, q_mv) == NULL || curl_slist_append(post, q_rm) == NULL ||
        !escape_path(c, tmp_path, escaped, sizeof escaped)) {
        st = DR_DELIVERY_ENOMEM;
        goto cleanup;
    }
    snprintf(url, sizeof url, "%s%s", base, escaped);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_UPLOAD, 1L);
    curl_easy_setopt(c, CURLOPT_READDATA, in);
    curl_easy_setopt(c, CURLOPT_INFILESIZE_LARGE, (curl_off_t)f->size);
    curl_easy_setopt(c, CURLOPT_POSTQUOTE, post);
    ssh_session(c, a, &kc);
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
    CURLcode rc = curl_easy_perform(c);
    if (rc == CURLE_OK && kc.match != CURLKHMATCH_OK) { /* fail closed: the key must have been checked */
        st = dr_delivery_error(a, DR_DELIVERY_EFAIL, "SFTP to %s: the server's host key was not checked against "
                               "the known_hosts file: refused", base);
        goto cleanup;
    }
    if (kc.match != -1 && kc.match != CURLKHMATCH_OK) {
        st = dr_delivery_error(a, DR_DELIVERY_EFAIL, "SFTP to %s: the server's host key is %s the known_hosts file "
                               "%s: refused (check the server's key, then add it to that file)", base,
                               kc.match == CURLKHMATCH_MISMATCH ? "not the one for this host in" : "not in",
                               a->option(a->host, "known_hosts"));
        goto cleanup;
    }
    if (rc == CURLE_QUOTE_ERROR) /* the upload is there, its rename failed: the old file back */
        restore(a, base, old_path, final_path, tmp_path);
    if (rc != CURLE_OK) {
        st = classify(rc);
        dr_delivery_error(a, st, "SFTP upload of %s to %s%s: %s%s%s", f->name, base, dir, curl_easy_strerror(rc),
                          errbuf[0] ? ": " : "", errbuf);
    }
cleanup:
    curl_slist_free_all(post);
    if (c) {
        curl_easy_setopt(c, CURLOPT_KEYPASSWD, "");
        curl_easy_cleanup(c);
    }
    if (in)
        fclose(in);
    return st;
}

static dr_delivery_status sftp_deliver(const dr_delivery_args *a)
{
    char dir[2048];
    size_t used = 0;
    if (!url_path(a->url, dir, sizeof dir))
        return dr_delivery_error(a, DR_DELIVERY_EOPTION, "url %s: expected sftp://HOST[:PORT]/ABSOLUTE/DIR", a->url);
    for (size_t i = 0; i < a->nfiles; i++) {
        dr_delivery_status st = upload(a, dir, &a->files[i]);
        if (st != DR_DELIVERY_OK)
            return st;
        used += (size_t)snprintf(a->remote + used, used < a->remote_size ? a->remote_size - used : 0, "%s%s/%s",
                                 i ? ", " : "", dir, a->files[i].name);
        if (used >= a->remote_size)
            used = a->remote_size;
    }
    return DR_DELIVERY_OK;
}

static const dr_delivery sftp_delivery = {
    .abi_major = DR_DELIVERY_ABI_MAJOR,
    .size = sizeof(dr_delivery),
    .kind = "sftp",
    .version = "1.0.0",
    .description = "upload by SFTP (temporary name, rename on the server; known_hosts checked; key auth)",
    .option_keys = sftp_options,
    .check = sftp_check,
    .deliver = sftp_deliver,
};

DR_PLUGIN_EXPORT const dr_delivery *dr_delivery_entry(void)
{
    dr_pc_pin_self((void *)dr_delivery_entry); /* libcurl is not made to be unloaded */
    return &sftp_delivery;
}
