/* SIGINT / SIGTERM / SIGHUP: a watcher thread, alive for the whole process, records the
   first signal and has the running statement cancelled, so the main thread unwinds
   through its normal cleanup; a second signal runs the emergency cleanup and ends the
   process at once (as psql and git do on a second Ctrl-C). */
#include "interrupt.h"

#include <string.h>
#include <unistd.h>

void dr_interrupt_init(dr_interrupt *intr)
{
    memset(intr, 0, sizeof *intr);
    atomic_init(&intr->signal, 0);
    pthread_mutex_init(&intr->lock, NULL);
    pthread_mutex_init(&intr->cleanup_lock, NULL);
}

static void signal_set(sigset_t *set)
{
    sigemptyset(set);
    sigaddset(set, SIGINT);
    sigaddset(set, SIGTERM);
    sigaddset(set, SIGHUP);
}

/* Cancel the statement running on the watched connection, under the lock. */
static void cancel_watched(dr_interrupt *intr)
{
    pthread_mutex_lock(&intr->lock);
    dr_db_cancel(intr->db);
    pthread_mutex_unlock(&intr->lock);
}

static void *cancel_thread(void *arg)
{
    cancel_watched(arg);
    return NULL;
}

/* "NNN" of a signal number into @p out (at least 4 bytes); @return its length. */
static size_t format_signal(int sig, char *out)
{
    char digits[4];
    size_t n = 0, len = 0;
    unsigned v = sig > 0 && sig < 1000 ? (unsigned)sig : 0;
    do {
        digits[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v && n < sizeof digits);
    while (n)
        out[len++] = digits[--n];
    return len;
}

/* The second signal: the main thread may be stuck anywhere (a plugin, a FIFO, a frozen
   server), so nothing here waits for it. Only system calls: no stdio, no malloc. */
static void exit_at_once(dr_interrupt *intr, int sig)
{
    static const char head[] = "dynoreport: error: interrupted again by signal ";
    static const char tail_cleaned[] = ": stopped at once (staged files removed; the database "
                                       "rolls back what was not committed)\n";
    static const char tail[] = ": stopped at once (the database rolls back what was not committed)\n";
    char line[sizeof head + 4 + sizeof tail_cleaned];
    size_t len = 0;
    pthread_mutex_lock(&intr->cleanup_lock); /* held until _exit: a clear waits, then never returns */
    int cleaned = intr->cleanup != NULL;
    if (cleaned)
        intr->cleanup(intr->cleanup_ctx);
    memcpy(line, head, sizeof head - 1);
    len = sizeof head - 1;
    len += format_signal(sig, line + len);
    memcpy(line + len, cleaned ? tail_cleaned : tail, cleaned ? sizeof tail_cleaned - 1 : sizeof tail - 1);
    len += cleaned ? sizeof tail_cleaned - 1 : sizeof tail - 1;
    ssize_t w = write(STDERR_FILENO, line, len); /* best effort: fd 2 may be a closed pipe */
    (void)w;
    _exit(128 + sig);
}

static void *signal_watch(void *arg)
{
    dr_interrupt *intr = arg;
    sigset_t set;
    signal_set(&set);
    for (;;) {
        int sig = 0;
        /* stoppable (dr_interrupt_stop) only while waiting, never halfway through a signal */
        pthread_setcancelstate(PTHREAD_CANCEL_ENABLE, NULL);
        int rc = sigwait(&set, &sig);
        pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, NULL);
        if (rc != 0)
            return NULL; /* EINVAL only: the set is fixed, cannot happen */
        int first = 0;
        if (!atomic_compare_exchange_strong(&intr->signal, &first, sig)) {
            exit_at_once(intr, sig);
            continue; /* not reached */
        }
        /* the cancel talks to the server and may hang when it is frozen: not here, or a
           second signal would never be seen */
        if (pthread_create(&intr->canceller, NULL, cancel_thread, intr) == 0)
            intr->cancelling = 1;
        else
            cancel_watched(intr);
    }
}

void dr_interrupt_start(dr_interrupt *intr)
{
    sigset_t set;
    signal_set(&set);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    intr->watching = pthread_create(&intr->watcher, NULL, signal_watch, intr) == 0;
    if (!intr->watching) /* no thread: the default actions (end the process) are better */
        pthread_sigmask(SIG_UNBLOCK, &set, NULL);
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
    /* the watcher is gone: intr->canceller is stable. The runner has stopped watching its
       connection (dr_interrupt_watch NULL, which waited for the cancel), so this returns. */
    if (intr->cancelling) {
        pthread_join(intr->canceller, NULL);
        intr->cancelling = 0;
    }
    pthread_mutex_destroy(&intr->lock);
    pthread_mutex_destroy(&intr->cleanup_lock);
}

void dr_interrupt_raise(dr_interrupt *intr, int sig)
{
    int first = 0;
    atomic_compare_exchange_strong(&intr->signal, &first, sig);
    cancel_watched(intr);
}

void dr_interrupt_watch(dr_interrupt *intr, dr_db *db)
{
    if (intr == NULL)
        return;
    pthread_mutex_lock(&intr->lock);
    intr->db = db;
    pthread_mutex_unlock(&intr->lock);
}

void dr_interrupt_set_cleanup(dr_interrupt *intr, void (*fn)(void *ctx), void *ctx)
{
    if (intr == NULL)
        return;
    pthread_mutex_lock(&intr->cleanup_lock);
    intr->cleanup = fn;
    intr->cleanup_ctx = fn ? ctx : NULL;
    pthread_mutex_unlock(&intr->cleanup_lock);
}

int dr_interrupt_signal(const dr_interrupt *intr)
{
    /* C11 atomic_load takes a pointer to non-const before C17's DR 459 */
    return intr ? atomic_load((atomic_int *)&intr->signal) : 0;
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
