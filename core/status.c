/* The one status enum: its sentences, its exit codes (sysexits), error recording, and
   quoting of untrusted text for messages. */
#include "status.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static const struct {
    const char *text;
    int exit_code;
} status_table[DR_STATUS_COUNT] = {
    [DR_OK] = {"success", 0},
    [DR_EUSAGE] = {"invalid usage", 64},
    [DR_EDATA] = {"invalid input data", 65},
    [DR_EUNAVAILABLE] = {"database unavailable", 69},
    [DR_EINTERNAL] = {"internal error", 70},
    [DR_ENOMEM] = {"out of memory", 70},
    [DR_ECANTCREATE] = {"cannot create output", 73},
    [DR_EIO] = {"input/output error", 74},
    [DR_ETEMPFAIL] = {"temporary failure, try again later", 75},
    [DR_ECONFIG] = {"configuration error", 78},
    [DR_EINTERRUPTED] = {"interrupted", 130},
    [DR_EDELIVERY] = {"delivery failed (the run is saved)", 76},
};

const char *dr_strerror(dr_status st)
{
    if ((unsigned)st >= DR_STATUS_COUNT)
        return "unknown status";
    return status_table[st].text;
}

int dr_status_exit_code(dr_status st, int signal)
{
    if ((unsigned)st >= DR_STATUS_COUNT)
        return 70;
    if (st == DR_EINTERRUPTED && signal > 0)
        return 128 + signal;
    return status_table[st].exit_code;
}

dr_status dr_fail(dr_error *err, dr_status st, const char *fmt, ...)
{
    if (err == NULL || err->status != DR_OK)
        return st;
    err->status = st;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->msg, sizeof err->msg, fmt, ap);
    va_end(ap);
    return st;
}

dr_status dr_fail_usage(dr_error *err, const char *fmt, const char *value)
{
    char q[DR_QUOTE_SIZE];
    const char *mark = strstr(fmt, "%s");
    int head = mark ? (int)(mark - fmt) : (int)strlen(fmt);
    if (err == NULL || err->status != DR_OK)
        return DR_EUSAGE;
    dr_fail(err, DR_EUSAGE, "%.*s%s%s", head, fmt, value && mark ? dr_quote(value, strlen(value), q, sizeof q) : "",
            mark ? mark + 2 : "");
    err->usage_hint = 1;
    return DR_EUSAGE;
}

void dr_error_clear(dr_error *err)
{
    if (err) {
        err->status = DR_OK;
        err->signal = 0;
        err->usage_hint = 0;
        err->sqlstate[0] = '\0';
        err->msg[0] = '\0';
    }
}

/* Longest quoted text, in output bytes, before it is cut and "..." added. */
#define QUOTE_MAX 60

/*
 * Length of the well-formed UTF-8 sequence of two or more bytes at @p s
 * (@p n bytes available) and its code point, or 0. Overlong forms,
 * surrogates and values above U+10FFFF are not well-formed.
 */
static size_t utf8_sequence(const unsigned char *s, size_t n, unsigned long *cp)
{
    unsigned char lo = 0x80, hi = 0xBF;
    size_t len;
    if (s[0] >= 0xC2 && s[0] <= 0xDF) {
        len = 2;
    } else if (s[0] >= 0xE0 && s[0] <= 0xEF) {
        len = 3;
        lo = s[0] == 0xE0 ? 0xA0 : lo;
        hi = s[0] == 0xED ? 0x9F : hi;
    } else if (s[0] >= 0xF0 && s[0] <= 0xF4) {
        len = 4;
        lo = s[0] == 0xF0 ? 0x90 : lo;
        hi = s[0] == 0xF4 ? 0x8F : hi;
    } else {
        return 0;
    }
    if (n < len || s[1] < lo || s[1] > hi)
        return 0;
    unsigned long c = s[0] & (0x7Fu >> len);
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xC0) != 0x80)
            return 0;
        c = (c << 6) | (s[i] & 0x3Fu);
    }
    *cp = c;
    return len;
}

/* Code points a terminal shows as nothing or uses to reorder / break the line. */
static int invisible_code_point(unsigned long cp)
{
    return cp <= 0x9F                      /* C1 controls */
           || cp == 0x061C                 /* Arabic letter mark */
           || cp == 0x200E || cp == 0x200F /* LRM, RLM */
           || (cp >= 0x2028 && cp <= 0x202E) /* line/paragraph separators, bidi embeddings */
           || (cp >= 0x2066 && cp <= 0x2069) /* bidi isolates */
           || cp == 0xFEFF;                /* BOM / zero-width no-break space */
}

/*
 * Render the character at @p s (@p n > 0 bytes available) into @p piece.
 * @return the number of output bytes; *consumed gets the input bytes used.
 */
static size_t quote_piece(const unsigned char *s, size_t n, char piece[4], size_t *consumed)
{
    static const char hex[] = "0123456789abcdef";
    unsigned long cp = 0;
    size_t len;

    *consumed = 1;
    if (s[0] == '\\') {
        piece[0] = piece[1] = '\\';
        return 2;
    }
    if (s[0] >= 0x20 && s[0] < 0x7F) {
        piece[0] = (char)s[0];
        return 1;
    }
    if (s[0] >= 0x80 && (len = utf8_sequence(s, n, &cp)) > 0 && !invisible_code_point(cp)) {
        memcpy(piece, s, len);
        *consumed = len;
        return len;
    }
    piece[0] = '\\';
    piece[1] = 'x';
    piece[2] = hex[s[0] >> 4];
    piece[3] = hex[s[0] & 0x0F];
    return 4;
}

/* dr_quote() without the quotes: the text into @p buf; @return its length. */
static size_t quote_body(const char *value, size_t len, char *buf, size_t bufsize)
{
    const unsigned char *s = (const unsigned char *)value;
    /* Room for the text when it fits whole, and when "..." must follow it. */
    size_t room_whole = bufsize - 1 < QUOTE_MAX ? bufsize - 1 : QUOTE_MAX;
    size_t room_cut = bufsize > 4 ? (bufsize - 4 < QUOTE_MAX ? bufsize - 4 : QUOTE_MAX) : 0;
    size_t pos = 0, cut = 0, i = 0;

    while (i < len) {
        char piece[4];
        size_t consumed;
        size_t out = quote_piece(s + i, len - i, piece, &consumed);
        if (pos + out > room_whole)
            break;
        memcpy(buf + pos, piece, out);
        pos += out;
        i += consumed;
        if (pos <= room_cut)
            cut = pos;
    }
    if (i < len) {
        pos = cut;
        for (int dots = 0; dots < 3 && pos < bufsize - 1; dots++)
            buf[pos++] = '.';
    }
    buf[pos] = '\0';
    return pos;
}

const char *dr_quote(const char *value, size_t len, char *buf, size_t bufsize)
{
    if (buf == NULL || bufsize == 0)
        return buf;
    if (bufsize < 3) {
        buf[0] = '\0';
        return buf;
    }
    buf[0] = '\'';
    size_t n = quote_body(value, value ? len : 0, buf + 1, bufsize - 2);
    buf[1 + n] = '\'';
    buf[2 + n] = '\0';
    return buf;
}

void dr_error_prefix(dr_error *err, const char *prefix)
{
    if (err == NULL || prefix == NULL)
        return;
    size_t pl = strlen(prefix), ml = strlen(err->msg);
    if (pl >= sizeof err->msg)
        pl = sizeof err->msg - 1;
    if (pl + ml >= sizeof err->msg)
        ml = sizeof err->msg - 1 - pl;
    memmove(err->msg + pl, err->msg, ml);
    memcpy(err->msg, prefix, pl);
    err->msg[pl + ml] = '\0';
}

/* Printable ASCII as it is, any other run of bytes through dr_quote(); runs are short
   enough (12 bytes plus the rest of a UTF-8 sequence) for dr_quote() never to cut them. */
void dr_printable_copy(const char *in, char *out, size_t out_size)
{
    size_t o = 0;
    while (*in && o + 1 < out_size) {
        unsigned char c = (unsigned char)*in;
        if (c >= 0x20 && c < 0x7f && c != '\\') {
            out[o++] = *in++;
            continue;
        }
        size_t run = 0;
        while (in[run] && run < 12 &&
               !((unsigned char)in[run] >= 0x20 && (unsigned char)in[run] < 0x7f))
            run++;
        while (in[run] && run < 15 && ((unsigned char)in[run] & 0xC0) == 0x80)
            run++;
        if (run == 0)
            run = 1; /* a backslash */
        char q[DR_QUOTE_SIZE];
        dr_quote(in, run, q, sizeof q);
        size_t ql = strlen(q) - 2; /* without the quotes */
        if (o + ql >= out_size)
            break;
        memcpy(out + o, q + 1, ql);
        o += ql;
        in += run;
    }
    out[o] = '\0';
}
