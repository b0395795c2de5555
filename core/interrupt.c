/* SIGINT / SIGTERM handling: a watcher thread records the signal and cancels the
   running statement, so the main thread unwinds through its normal cleanup. */
#include "interrupt.h"

#include <string.h>

void dr_interrupt_init(dr_interrupt *intr)
{
    memset(intr, 0, sizeof *intr);
    pthread_mutex_init(&intr->lock, NULL);
}

static void signal_set(sigset_t *set)
{
    sigemptyset(set);
    sigaddset(set, SIGINT);
    sigaddset(set, SIGTERM);
}

static void *signal_watch(void *arg)
{
    dr_interrupt *intr = arg;
    sigset_t set;
    int sig = 0;
    signal_set(&set);
    if (sigwait(&set, &sig) == 0)
        dr_interrupt_raise(intr, sig);
    return NULL;
}

void dr_interrupt_start(dr_interrupt *intr)
{
    sigset_t set;
    signal_set(&set);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    intr->watching = pthread_create(&intr->watcher, NULL, signal_watch, intr) == 0;
}

void dr_interrupt_stop(dr_interrupt *intr)
{
    if (intr == NULL)
        return;
    if (intr->watching) {
        pthread_cancel(intr->watcher);
        pthread_join(intr->watcher, NULL);
        intr->watching = 0;
    }
    pthread_mutex_destroy(&intr->lock);
}

void dr_interrupt_raise(dr_interrupt *intr, int sig)
{
    pthread_mutex_lock(&intr->lock);
    intr->signal = sig;
    dr_db_cancel(intr->db);
    pthread_mutex_unlock(&intr->lock);
}

void dr_interrupt_watch(dr_interrupt *intr, dr_db *db)
{
    if (intr == NULL)
        return;
    pthread_mutex_lock(&intr->lock);
    intr->db = db;
    pthread_mutex_unlock(&intr->lock);
}

int dr_interrupt_signal(const dr_interrupt *intr)
{
    return intr ? intr->signal : 0;
}

dr_status dr_interrupt_check(const dr_interrupt *intr, dr_error *err)
{
    int sig = dr_interrupt_signal(intr);
    if (sig == 0)
        return DR_OK;
    dr_status st = dr_fail(err, DR_EINTERRUPTED, "interrupted by signal %d: nothing was saved or written", sig);
    if (err)
        err->signal = sig;
    return st;
}
