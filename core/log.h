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

/** Result lines held back while messages go on: what a job's worker sends its parent with
    each tenant's outcome, and what a batch sends just before each run is reported. */
typedef struct dr_log_hold {
    const dr_log *outer; /**< where messages go at once, and the held lines when sent */
    char *lines;         /**< the held result lines, each ended by '\n' (no NUL) */
    size_t len, cap;
    int lost;            /**< a line could not be held (out of memory) and is lost */
} dr_log_hold;

/** A log with @p h->outer's verbosity and scope whose messages go to h->outer and whose
    result lines are held in @p h. */
dr_log dr_log_holding(dr_log_hold *h);

/** Send the held lines to h->outer as result lines, then forget them (lost cleared too). */
void dr_log_hold_send(dr_log_hold *h);

/** Free what @p h holds. NULL-safe. */
void dr_log_hold_free(dr_log_hold *h);

#endif
