/* Host-owned messages: level filtering, the optional scope prefix, phase timings. The
   printing itself is the CLI layer's callback (core/cli.c). */
#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

int dr_log_enabled(const dr_log *log, dr_log_level level)
{
    if (log == NULL || log->message == NULL)
        return 0;
    if (level == DR_LOG_ERROR)
        return 1;
    if (level == DR_LOG_DEBUG)
        return log->verbosity >= 2;
    return log->verbosity >= 1;
}

void dr_log_msg(const dr_log *log, dr_log_level level, const char *fmt, ...)
{
    if (!dr_log_enabled(log, level))
        return;
    char text[2048];
    int n = 0;
    if (log->scope && level != DR_LOG_ERROR)
        n = snprintf(text, sizeof text, "%s: ", log->scope);
    if (n < 0 || (size_t)n >= sizeof text)
        n = 0;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text + n, sizeof text - (size_t)n, fmt, ap);
    va_end(ap);
    log->message(log->ctx, level, text);
}

void dr_log_result(const dr_log *log, const char *line)
{
    if (log && log->result)
        log->result(log->ctx, line);
}

double dr_log_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1000.0 + (double)ts.tv_nsec / 1e6;
}

void dr_log_phase(const dr_log *log, const char *phase, double *t0)
{
    double now = dr_log_now_ms();
    dr_log_msg(log, DR_LOG_DEBUG, "%s: %.1f ms", phase, now - *t0);
    *t0 = now;
}

static void hold_message(void *ctx, dr_log_level level, const char *text)
{
    const dr_log_hold *h = ctx;
    h->outer->message(h->outer->ctx, level, text);
}

static void hold_result(void *ctx, const char *line)
{
    dr_log_hold *h = ctx;
    size_t l = strlen(line);
    if (h->len + l + 1 > h->cap) {
        size_t cap = (h->len + l + 1) * 2;
        char *grown = realloc(h->lines, cap);
        if (grown == NULL) {
            h->lost = 1;
            return;
        }
        h->lines = grown;
        h->cap = cap;
    }
    memcpy(h->lines + h->len, line, l);
    h->len += l;
    h->lines[h->len++] = '\n';
}

dr_log dr_log_holding(dr_log_hold *h)
{
    return (dr_log){.verbosity = h->outer->verbosity, .message = hold_message, .result = hold_result, .ctx = h,
                    .scope = h->outer->scope};
}

void dr_log_hold_send(dr_log_hold *h)
{
    for (size_t k = 0, start = 0; k < h->len; k++)
        if (h->lines[k] == '\n') {
            h->lines[k] = '\0';
            dr_log_result(h->outer, h->lines + start);
            start = k + 1;
        }
    h->len = 0;
    h->lost = 0;
}

void dr_log_hold_free(dr_log_hold *h)
{
    if (h == NULL)
        return;
    free(h->lines);
    h->lines = NULL;
    h->len = h->cap = 0;
}
