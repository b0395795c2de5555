/**
 * @file log.h
 * @brief Host-owned messages: every module reports through a dr_log, the CLI layer
 *        decides what reaches stderr (levels, -q / -v) and what goes to stdout.
 *
 * No module but the CLI layer prints. A dr_log carries two callbacks: one for
 * messages (stderr), one for result lines (stdout: run ids, then paths).
 */
#ifndef DR_LOG_H
#define DR_LOG_H

#include <dynoreport/plugin.h>

#include "status.h"

/** Where messages and result lines go; filled in by the CLI layer. */
typedef struct dr_log {
    int verbosity; /**< 0 quiet (errors only), 1 normal (+ warnings, info), 2 verbose (+ debug) */
    void (*message)(void *ctx, dr_log_level level, const char *text); /**< a message line */
    void (*result)(void *ctx, const char *line);                       /**< a stdout line */
    void *ctx;
    const char *scope; /**< prefix of every message but errors ("job monthly: tenant 2/40"), or NULL */
} dr_log;

/** True when a message of @p level would be shown. NULL-safe (then false). */
int dr_log_enabled(const dr_log *log, dr_log_level level);

/** Format and send one message if its level is shown. NULL-safe. */
void dr_log_msg(const dr_log *log, dr_log_level level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/** Send one result line (the script contract on stdout). NULL-safe. */
void dr_log_result(const dr_log *log, const char *line);

/** Monotonic clock in milliseconds, for phase timings. */
double dr_log_now_ms(void);

/**
 * With -v: "PHASE: N ms" since @p *t0, then set @p *t0 to now (so phases chain).
 */
void dr_log_phase(const dr_log *log, const char *phase, double *t0);

#endif
