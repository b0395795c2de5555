/**
 * @file interrupt.h
 * @brief SIGINT / SIGTERM / SIGHUP, so that a signal always ends the process.
 *
 * A thread waits for the three signals (they are blocked in every other thread) for
 * the whole life of the process:
 * - the first one is recorded and the statement running on the watched connection is
 *   cancelled (from a thread of its own, so a cancel that hangs on a frozen server never
 *   stops the watcher); the main thread stops at its next step and unwinds through its
 *   normal cleanup (rollback, staged files removed); the exit code is 128 + signal
 *   (130 SIGINT, 143 SIGTERM, 129 SIGHUP);
 * - a second one (any of the three) ends the process at once, whatever the main thread
 *   is doing (stuck in a plugin, a FIFO, a frozen server): the registered emergency
 *   cleanup runs, one fixed line goes to fd 2 with write(2) (the only output of this
 *   module: nobody else can print then), and _exit(128 + that signal).
 */
#ifndef DR_INTERRUPT_H
#define DR_INTERRUPT_H

#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>

#include "odbc.h"
#include "status.h"

/** The signal state of a process; lives in the CLI context (no global). */
typedef struct dr_interrupt {
    atomic_int signal;            /**< 0, or the first SIGINT / SIGTERM / SIGHUP received */
    dr_db *db;                    /**< connection to cancel, while one is open (under lock) */
    pthread_mutex_t lock;         /**< guards db: a cancel never meets a closed connection */
    void (*cleanup)(void *ctx);   /**< emergency cleanup of a second signal (under cleanup_lock) */
    void *cleanup_ctx;            /**< its argument */
    pthread_mutex_t cleanup_lock; /**< guards cleanup: it never runs while being cleared */
    pthread_t watcher;            /**< the signal-watching thread */
    int watching;                 /**< 1 while the thread runs */
    pthread_t canceller;          /**< the thread cancelling the statement after a first signal */
    int cancelling;               /**< 1 when it was started (joined by dr_interrupt_stop) */
} dr_interrupt;

/** Prepare @p intr (no signal, no connection, no cleanup, no thread). */
void dr_interrupt_init(dr_interrupt *intr);

/**
 * Block SIGINT, SIGTERM and SIGHUP in the calling thread (and the threads it starts
 * later) and start the thread that waits for them. Call it before any other thread is
 * started (the ODBC driver's, a plugin's). Without a thread the signals stay default.
 */
void dr_interrupt_start(dr_interrupt *intr);

/** Stop the watching thread and free the locks. NULL-safe; safe without start. */
void dr_interrupt_stop(dr_interrupt *intr);

/**
 * Record signal @p sig (the first one only) and cancel the statement running on the
 * watched connection, in the calling thread. Safe against the runner closing the
 * connection.
 */
void dr_interrupt_raise(dr_interrupt *intr, int sig);

/** Tell the watcher which connection to cancel (NULL before closing it). NULL-safe. */
void dr_interrupt_watch(dr_interrupt *intr, dr_db *db);

/**
 * Register @p fn (with @p ctx) as the emergency cleanup a second signal runs before
 * _exit; NULL @p fn clears it. NULL-safe. Clearing waits for a cleanup already running
 * (which then ends the process), so once this returns with NULL the watcher never
 * touches @p ctx again: clear it before freeing @p ctx.
 *
 * @p fn runs on the signal thread while the main thread may be stopped anywhere
 * (inside malloc, stdio, the driver, a plugin, halfway through freeing @p ctx's
 * neighbours). It must only use file descriptors and async-signal-safe system calls
 * (unlinkat, rmdir, close, write) on data that stays valid while registered: no malloc,
 * no stdio, no locks the main thread may hold, no ODBC.
 */
void dr_interrupt_set_cleanup(dr_interrupt *intr, void (*fn)(void *ctx), void *ctx);

/** The first signal received, or 0. NULL-safe. */
int dr_interrupt_signal(const dr_interrupt *intr);

/**
 * DR_OK while no signal came; else DR_EINTERRUPTED ("interrupted by signal N: nothing
 * was saved or written") with err->signal set.
 */
dr_status dr_interrupt_check(const dr_interrupt *intr, dr_error *err);

#endif
