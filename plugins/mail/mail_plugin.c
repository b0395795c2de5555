/* The "mail" delivery plugin (docs/delivery.md): one message per delivery, sent with
   libcurl's SMTP (STARTTLS or SMTPS, AUTH with the host's secret), built with libcurl's
   MIME API: a multipart/alternative body (the host's plain text and HTML) and every file
   of the run as an attachment with its content type. No header is ever made from text
   with a CR or LF; a non-ASCII subject is RFC 2047 encoded. No credential is put in a URL,
   and curl's verbose output stays off, so none reaches a message. */
#include <dynoreport/delivery.h>

#include "plugin_common.h"

#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

static const char *const mail_options[] = {"tls", "ca_file", "timeout", NULL};

/* Any CR, LF or other control byte: such text never becomes a header. */
static int has_control(const char *s)
{
    for (; s && *s; s++)
        if ((unsigned char)*s < 0x20 || *s == 0x7f)
            return 1;
    return 0;
}

static int is_ascii(const char *s)
{
    for (; *s; s++)
        if ((unsigned char)*s >= 0x80)
            return 0;
    return 1;
}

/* RFC 2047 "=?UTF-8?B?...?=" words of at most 45 input bytes each (cut at a character
   boundary), folded with CRLF SPACE; @p out must hold 2 * strlen(in) + 64 bytes per 45. */
static void encode_word(const char *in, char *out, size_t size)
{
    static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    size_t len = strlen(in), pos = 0, used = 0;
    out[0] = '\0';
    while (pos < len && used + 80 < size) {
        size_t n = len - pos > 45 ? 45 : len - pos;
        while (n > 1 && pos + n < len && ((unsigned char)in[pos + n] & 0xC0) == 0x80)
            n--; /* never split a UTF-8 sequence */
        used += (size_t)snprintf(out + used, size - used, "%s=?UTF-8?B?", pos ? "\r\n " : "");
        for (size_t i = 0; i < n; i += 3) {
            unsigned v = (unsigned char)in[pos + i] << 16;
            if (i + 1 < n)
                v |= (unsigned char)in[pos + i + 1] << 8;
            if (i + 2 < n)
                v |= (unsigned char)in[pos + i + 2];
            out[used++] = b64[(v >> 18) & 63];
            out[used++] = b64[(v >> 12) & 63];
            out[used++] = i + 1 < n ? b64[(v >> 6) & 63] : '=';
            out[used++] = i + 2 < n ? b64[v & 63] : '=';
        }
        used += (size_t)snprintf(out + used, size - used, "?=");
        pos += n;
    }
}

/* The server's answer to each RCPT TO, read from libcurl's protocol trace (never shown:
   the trace also holds AUTH): the addresses it refused, for the record. */
typedef struct rcpt_watch {
    char pending[320];  /* the address of the last RCPT TO sent, until its answer */
    char refused[2048]; /* "ADDR (CODE), ..." */
    size_t nrefused;
} rcpt_watch;

static int trace(CURL *c, curl_infotype type, char *data, size_t size, void *ctx)
{
    rcpt_watch *w = ctx;
    (void)c;
    if (type == CURLINFO_HEADER_OUT && size > 10 && strncasecmp(data, "RCPT TO:<", 9) == 0) {
        const char *end = memchr(data + 9, '>', size - 9);
        size_t n = end ? (size_t)(end - data - 9) : 0;
        if (n < sizeof w->pending) {
            memcpy(w->pending, data + 9, n);
            w->pending[n] = '\0';
        }
    } else if (type == CURLINFO_HEADER_IN && w->pending[0] && size >= 4 && data[3] != '-') {
        if (data[0] >= '4' && data[0] <= '5') {
            size_t used = strlen(w->refused);
            snprintf(w->refused + used, sizeof w->refused - used, "%s%s (%.3s)", used ? ", " : "", w->pending, data);
            w->nrefused++;
        }
        w->pending[0] = '\0';
    }
    return 0;
}

/* Is @p addr among the refused ("ADDR (CODE)" items of the list)? */
static int refused(const rcpt_watch *w, const char *addr)
{
    size_t n = strlen(addr);
    for (const char *p = w->refused; (p = strstr(p, addr)) != NULL; p += n)
        if ((p == w->refused || (p >= w->refused + 2 && p[-2] == ',' && p[-1] == ' ')) && strncmp(p + n, " (", 2) == 0)
            return 1;
    return 0;
}

/* Append @p line to *@p list; 0 when out of memory (the list is kept, to be freed). */
static int add_line(struct curl_slist **list, const char *line)
{
    struct curl_slist *n = curl_slist_append(*list, line);
    if (n == NULL)
        return 0;
    *list = n;
    return 1;
}

static dr_delivery_status mail_check(const dr_delivery_args *a)
{
    const char *tls = a->option(a->host, "tls"), *timeout = a->option(a->host, "timeout");
    if (tls && strcmp(tls, "starttls") != 0 && strcmp(tls, "none") != 0)
        return dr_delivery_error(a, DR_DELIVERY_EOPTION, "option tls=%s: expected starttls or none (smtps:// URLs "
                                 "always use TLS)", tls);
    if (tls && strcmp(tls, "none") == 0 && strncmp(a->url, "smtps://", 8) == 0)
        return dr_delivery_error(a, DR_DELIVERY_EOPTION, "option tls=none with an smtps:// url: expected smtp://");
    if (timeout) {
        char *end = NULL;
        long t = strtol(timeout, &end, 10);
        if (*timeout == '\0' || *end || t < 1 || t > 3600)
            return dr_delivery_error(a, DR_DELIVERY_EOPTION, "option timeout=%s: expected whole seconds from 1 "
                                     "to 3600", timeout);
    }
    if (has_control(a->from) || has_control(a->reply_to))
        return dr_delivery_error(a, DR_DELIVERY_EOPTION, "from or reply_to holds a control character");
    return DR_DELIVERY_OK;
}

/* A curl result as the ABI's status: what may pass (a connection, a 4xx) is retried. */
static dr_delivery_status classify(CURLcode rc, long response)
{
    if (response >= 500) /* the server said no for good (530, 535, 550, 554 ...) */
        return DR_DELIVERY_EFAIL;
    if (response >= 400)
        return DR_DELIVERY_ETEMP;
    switch (rc) {
    case CURLE_COULDNT_CONNECT:
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_OPERATION_TIMEDOUT:
    case CURLE_SEND_ERROR:
    case CURLE_RECV_ERROR:
    case CURLE_GOT_NOTHING:
    case CURLE_PARTIAL_FILE:
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_WEIRD_SERVER_REPLY:
        return DR_DELIVERY_ETEMP;
    case CURLE_OUT_OF_MEMORY:
        return DR_DELIVERY_ENOMEM;
    default:
        return DR_DELIVERY_EFAIL;
    }
}

static dr_delivery_status mail_deliver(const dr_delivery_args *a)
{
    char errbuf[CURL_ERROR_SIZE] = "", line[4096], subject[8192], date[64], idbuf[128];
    const char *tls = a->option(a->host, "tls"), *ca = a->option(a->host, "ca_file");
    const char *user = a->option(a->host, "user"), *timeout = a->option(a->host, "timeout");
    struct curl_slist *rcpt = NULL, *headers = NULL, *alt_headers = NULL;
    curl_mime *mime = NULL, *alt = NULL;
    dr_delivery_status st = DR_DELIVERY_OK;
    rcpt_watch watch;
    CURL *c = NULL;
    size_t used = 0;
    memset(&watch, 0, sizeof watch);
    if (a->nrecipients == 0)
        return dr_delivery_error(a, DR_DELIVERY_EFAIL, "no recipients");
    if (has_control(a->subject) || has_control(a->from) || has_control(a->reply_to))
        return dr_delivery_error(a, DR_DELIVERY_EFAIL, "the subject, from or reply_to holds a CR, LF or other "
                                 "control character: refused (it could add a mail header)");
    if ((c = curl_easy_init()) == NULL)
        return DR_DELIVERY_ENOMEM;
    /* the envelope */
    snprintf(line, sizeof line, "<%s>", a->from);
    curl_easy_setopt(c, CURLOPT_URL, a->url);
    curl_easy_setopt(c, CURLOPT_MAIL_FROM, line);
    for (size_t i = 0; i < a->nrecipients; i++) {
        if (has_control(a->recipients[i])) {
            st = dr_delivery_error(a, DR_DELIVERY_EFAIL, "a recipient holds a control character: refused");
            goto cleanup;
        }
        char r[512];
        snprintf(r, sizeof r, "<%s>", a->recipients[i]);
        if (!add_line(&rcpt, r)) {
            st = DR_DELIVERY_ENOMEM;
            goto cleanup;
        }
    }
    curl_easy_setopt(c, CURLOPT_MAIL_RCPT, rcpt);
    /* one address the server refuses does not sink the others (it is recorded) */
#if LIBCURL_VERSION_NUM >= 0x080200
    curl_easy_setopt(c, CURLOPT_MAIL_RCPT_ALLOWFAILS, 1L);
#else
    curl_easy_setopt(c, CURLOPT_MAIL_RCPT_ALLLOWFAILS, 1L);
#endif
    curl_easy_setopt(c, CURLOPT_DEBUGFUNCTION, trace);
    curl_easy_setopt(c, CURLOPT_DEBUGDATA, &watch);
    if (strncmp(a->url, "smtps://", 8) != 0 && !(tls && strcmp(tls, "none") == 0))
        curl_easy_setopt(c, CURLOPT_USE_SSL, (long)CURLUSESSL_ALL); /* STARTTLS, required */
    if (ca)
        curl_easy_setopt(c, CURLOPT_CAINFO, ca);
    curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 1L);
    curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 2L);
    if (user)
        curl_easy_setopt(c, CURLOPT_USERNAME, user);
    if (a->secret)
        curl_easy_setopt(c, CURLOPT_PASSWORD, a->secret);
    curl_easy_setopt(c, CURLOPT_VERBOSE, 1L); /* to trace() only, which keeps the RCPT answers */
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 30L);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, timeout ? strtol(timeout, NULL, 10) : 300L);
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "smtp,smtps");
    /* the headers */
    const char *const *to = a->recipients;
    used = (size_t)snprintf(line, sizeof line, "To: ");
    for (size_t i = 0; i < a->nrecipients && used + 300 < sizeof line; i++)
        used += (size_t)snprintf(line + used, sizeof line - used, "%s<%s>", i ? ",\r\n " : "", to[i]);
    int ok = add_line(&headers, line);
    snprintf(line, sizeof line, "From: <%s>", a->from);
    ok = ok && add_line(&headers, line);
    if (a->reply_to[0]) {
        snprintf(line, sizeof line, "Reply-To: <%s>", a->reply_to);
        ok = ok && add_line(&headers, line);
    }
    if (is_ascii(a->subject))
        snprintf(subject, sizeof subject, "Subject: %s", a->subject);
    else {
        char enc[sizeof subject - 16];
        encode_word(a->subject, enc, sizeof enc);
        snprintf(subject, sizeof subject, "Subject: %s", enc);
    }
    ok = ok && add_line(&headers, subject);
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(date, sizeof date, "Date: %a, %d %b %Y %H:%M:%S +0000", &tm);
    ok = ok && add_line(&headers, date);
    const char *at = strchr(a->from, '@');
    snprintf(idbuf, sizeof idbuf, "Message-ID: <%s.%u@%s>", a->run ? a->run->run_id : "run", a->attempt,
             at ? at + 1 : "dynoreport");
    ok = ok && add_line(&headers, idbuf);
    if (!ok) {
        st = DR_DELIVERY_ENOMEM;
        goto cleanup;
    }
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers);
    /* the body: text and HTML as alternatives, then the files */
    mime = curl_mime_init(c);
    alt = curl_mime_init(c);
    if (mime == NULL || alt == NULL) {
        st = DR_DELIVERY_ENOMEM;
        goto cleanup;
    }
    curl_mimepart *p = curl_mime_addpart(alt);
    curl_mime_data(p, a->body_text, CURL_ZERO_TERMINATED);
    curl_mime_type(p, "text/plain; charset=UTF-8");
    curl_mime_encoder(p, "quoted-printable");
    p = curl_mime_addpart(alt);
    curl_mime_data(p, a->body_html, CURL_ZERO_TERMINATED);
    curl_mime_type(p, "text/html; charset=UTF-8");
    curl_mime_encoder(p, "quoted-printable");
    p = curl_mime_addpart(mime);
    curl_mime_subparts(p, alt);
    alt = NULL; /* owned by the part now */
    curl_mime_type(p, "multipart/alternative");
    if (add_line(&alt_headers, "Content-Disposition: inline")) {
        curl_mime_headers(p, alt_headers, 1);
        alt_headers = NULL; /* owned by the part now */
    }
    for (size_t i = 0; i < a->nfiles; i++) {
        p = curl_mime_addpart(mime);
        if (p == NULL || curl_mime_filedata(p, a->files[i].path) != CURLE_OK) {
            st = dr_delivery_error(a, DR_DELIVERY_EFAIL, "cannot attach %s", a->files[i].name);
            goto cleanup;
        }
        curl_mime_filename(p, a->files[i].name);
        curl_mime_type(p, a->files[i].content_type);
        curl_mime_encoder(p, "base64");
    }
    curl_easy_setopt(c, CURLOPT_MIMEPOST, mime);
    CURLcode rc = curl_easy_perform(c);
    if (rc != CURLE_OK) {
        long response = 0;
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &response);
        st = classify(rc, response);
        /* errbuf names the host at most: the URL never holds a user or password */
        dr_delivery_error(a, st, "SMTP to %s: %s%s%s", a->url, curl_easy_strerror(rc), errbuf[0] ? ": " : "",
                          errbuf);
        goto cleanup;
    }
    used = 0;
    used += (size_t)snprintf(a->remote, a->remote_size, "%s to ", a->url);
    for (size_t i = 0, n = 0; i < a->nrecipients && used < a->remote_size; i++) {
        if (refused(&watch, a->recipients[i]))
            continue;
        used += (size_t)snprintf(a->remote + used, a->remote_size - used, "%s%s", n++ ? ", " : "", a->recipients[i]);
    }
    if (watch.nrefused && used < a->remote_size) {
        used += (size_t)snprintf(a->remote + used, a->remote_size - used, "; refused by the server: %s",
                                 watch.refused);
        char msg[2200];
        snprintf(msg, sizeof msg, "warning: the server refused %zu of %zu recipients (the others got the message): %s",
                 watch.nrefused, a->nrecipients, watch.refused);
        a->log(a->host, DR_LOG_WARN, msg);
    }
cleanup:
    curl_slist_free_all(rcpt);
    curl_slist_free_all(headers);
    curl_slist_free_all(alt_headers);
    curl_mime_free(alt);
    curl_mime_free(mime);
    if (c) {
        curl_easy_setopt(c, CURLOPT_PASSWORD, "");
        curl_easy_cleanup(c);
    }
    return st;
}

static const dr_delivery mail_delivery = {
    .abi_major = DR_DELIVERY_ABI_MAJOR,
    .size = sizeof(dr_delivery),
    .kind = "mail",
    .version = "1.0.0",
    .description = "the run's files as attachments of one e-mail (SMTP, STARTTLS or SMTPS, AUTH)",
    .option_keys = mail_options,
    .check = mail_check,
    .deliver = mail_deliver,
};

DR_PLUGIN_EXPORT const dr_delivery *dr_delivery_entry(void)
{
    dr_pc_pin_self((void *)dr_delivery_entry); /* libcurl is not made to be unloaded */
    return &mail_delivery;
}
