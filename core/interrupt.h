/**
 * @file interrupt.h
 * @brief SIGINT / SIGTERM: a thread takes the signal, records it and cancels the
 *        running statement; the main thread stops at its next step and unwinds
 *        through its normal cleanup (rollback, staged files removed).
 */
#ifndef DR_INTERRUPT_H
#define DR_INTERRUPT_H

#include <pthread.h>
#include <signal.h>

#include "odbc.h"
#include "status.h"

/** Set by the signal-watching thread; the runner stops at the next step. */
typedef struct dr_interrupt {
    volatile sig_atomic_t signal; /**< 0, or SIGINT / SIGTERM */
    dr_db *db;                    /**< connection to cancel, while one is open (under lock) */
    pthread_mutex_t lock;         /**< guards db: a cancel never meets a closed connection */
    pthread_t watcher;            /**< the signal-watching thread */
    int watching;                 /**< 1 while the thread runs */
} dr_interrupt;

/** Prepare @p intr (no signal, no connection, no thread). */
void dr_interrupt_init(dr_interrupt *intr);

/**
 * Block SIGINT and SIGTERM in the calling thread (and the threads it starts later) and
 * start the thread that waits for them. Without a thread the signals stay default.
 */
void dr_interrupt_start(dr_interrupt *intr);

/** Stop the watching thread and free the lock. NULL-safe; safe without start. */
void dr_interrupt_stop(dr_interrupt *intr);

/**
 * Record signal @p sig and cancel the statement running on the watched connection.
 * For the signal-watching thread: safe against the runner closing the connection.
 */
void dr_interrupt_raise(dr_interrupt *intr, int sig);

/** Tell the watcher which connection to cancel (NULL before closing it). NULL-safe. */
void dr_interrupt_watch(dr_interrupt *intr, dr_db *db);

/** The signal received, or 0. NULL-safe. */
int dr_interrupt_signal(const dr_interrupt *intr);

/**
 * DR_OK while no signal came; else DR_EINTERRUPTED ("interrupted by signal N: nothing
 * was saved or written") with err->signal set.
 */
dr_status dr_interrupt_check(const dr_interrupt *intr, dr_error *err);

#endif
