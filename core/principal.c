/*
 * UUIDs and principals ("USER:<uuid>", "GROUP:<uuid>").
 */
#define _GNU_SOURCE /* getrandom */
#include "principal.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>

#define UUID_EXAMPLE "123e4567-e89b-12d3-a456-426614174000"

dr_status dr_uuid_random(char out[DR_UUID_LEN + 1], dr_error *err)
{
    unsigned char b[16];
    size_t got = 0;
    while (got < sizeof b) {
        ssize_t r = getrandom(b + got, sizeof b - got, 0);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            out[0] = '\0';
            return dr_fail(err, DR_EIO, "cannot make a run id: getrandom: %s", strerror(errno));
        }
        got += (size_t)r;
    }
    b[6] = (unsigned char)((b[6] & 0x0f) | 0x40); /* version 4 */
    b[8] = (unsigned char)((b[8] & 0x3f) | 0x80); /* RFC 4122 variant */
    snprintf(out, DR_UUID_LEN + 1, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0],
             b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13], b[14], b[15]);
    return DR_OK;
}

/* Hex digit value, or -1. ASCII only: the C library's ctype depends on the locale. */
static int hex_value(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Check the 8-4-4-4-12 form of @p text and write it in lower case; 0 if it is not one. */
static int uuid_canonical(const char *text, char out[DR_UUID_LEN + 1])
{
    static const char hex[] = "0123456789abcdef";
    char tmp[DR_UUID_LEN + 1];

    for (size_t i = 0; i < DR_UUID_LEN; i++) {
        if (i == 8 || i == 13 || i == 18 || i == 23) {
            if (text[i] != '-')
                return 0;
            tmp[i] = '-';
            continue;
        }
        int v = hex_value(text[i]); /* a NUL stops here, so we never read past the end */
        if (v < 0)
            return 0;
        tmp[i] = hex[v];
    }
    if (text[DR_UUID_LEN] != '\0')
        return 0;
    tmp[DR_UUID_LEN] = '\0';
    memcpy(out, tmp, sizeof tmp);
    return 1;
}

dr_status dr_uuid_parse(const char *text, const char *what, char out[DR_UUID_LEN + 1], dr_error *err)
{
    if (text == NULL)
        text = "";
    if (uuid_canonical(text, out))
        return DR_OK;

    char q[DR_QUOTE_SIZE];
    out[0] = '\0';
    return dr_fail(err, DR_EUSAGE, "invalid %s %s: expected a UUID like " UUID_EXAMPLE,
                   what && *what ? what : "UUID", dr_quote(text, strlen(text), q, sizeof q));
}

/* Does @p text start with @p prefix (upper-case ASCII), ignoring ASCII case? */
static int has_prefix_nocase(const char *text, const char *prefix)
{
    for (; *prefix; text++, prefix++) {
        char c = *text >= 'a' && *text <= 'z' ? (char)(*text - 'a' + 'A') : *text;
        if (c != *prefix)
            return 0;
    }
    return 1;
}

dr_status dr_principal_parse(const char *text, dr_principal *out, dr_error *err)
{
    static const struct {
        const char *prefix;
        dr_principal_type type;
    } types[] = {{"USER:", DR_PRINCIPAL_USER}, {"GROUP:", DR_PRINCIPAL_GROUP}};

    if (text == NULL)
        text = "";
    for (size_t i = 0; i < sizeof types / sizeof types[0]; i++) {
        if (has_prefix_nocase(text, types[i].prefix) &&
            uuid_canonical(text + strlen(types[i].prefix), out->id)) {
            out->type = types[i].type;
            return DR_OK;
        }
    }

    char q[DR_QUOTE_SIZE];
    return dr_fail(err, DR_EUSAGE,
                   "invalid --principal %s: expected USER:<uuid> or GROUP:<uuid>, e.g. USER:" UUID_EXAMPLE,
                   dr_quote(text, strlen(text), q, sizeof q));
}

const char *dr_principal_type_name(dr_principal_type type)
{
    switch (type) {
    case DR_PRINCIPAL_USER: return "USER";
    case DR_PRINCIPAL_GROUP: return "GROUP";
    }
    return "UNKNOWN";
}
