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

void dr_error_clear(dr_error *err)
{
    if (err) {
        err->status = DR_OK;
        err->signal = 0;
        err->msg[0] = '\0';
    }
}
