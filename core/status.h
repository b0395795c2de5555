/**
 * @file status.h
 * @brief One status enum for the whole tool, its sentence, and its exit code.
 *
 * Functions return a dr_status and, on failure, fill a dr_error with one
 * sentence that names the offending value and what was expected. Only the
 * command boundary prints it.
 */
#ifndef DR_STATUS_H
#define DR_STATUS_H

#include <stddef.h>

/** Status of any dynoreport operation. */
typedef enum dr_status {
    DR_OK = 0,
    DR_EUSAGE,        /**< bad command line / option value            -> exit 64 */
    DR_EDATA,         /**< input data wrong (e.g. unknown run id)     -> exit 65 */
    DR_EUNAVAILABLE,  /**< database unreachable / refused             -> exit 69 */
    DR_EINTERNAL,     /**< bug, unexpected database or plugin failure -> exit 70 */
    DR_ENOMEM,        /**< out of memory                              -> exit 70 */
    DR_ECANTCREATE,   /**< cannot create an output file               -> exit 73 */
    DR_EIO,           /**< I/O error while writing                    -> exit 74 */
    DR_ETEMPFAIL,     /**< temporary failure, retry later (lock held) -> exit 75 */
    DR_ECONFIG,       /**< configuration error (file, key, value)     -> exit 78 */
    DR_EINTERRUPTED,  /**< stopped by SIGINT / SIGTERM                -> exit 130 / 143 */
    DR_EDELIVERY,     /**< the run is saved, a delivery failed        -> exit 76 */
    DR_STATUS_COUNT
} dr_status;

/** An error: a status and one sentence of context. */
typedef struct dr_error {
    dr_status status;
    int signal;       /**< for DR_EINTERRUPTED: the signal number */
    char sqlstate[6]; /**< SQLSTATE of a database error, else "" */
    int usage_hint;   /**< 1: the command line was wrong; the message is followed by the --help hint */
    char msg[1024];
} dr_error;

/** A short sentence describing @p st ("database unavailable"). Never NULL. */
const char *dr_strerror(dr_status st);

/** The process exit code (sysexits.h) for @p st; @p signal is used for DR_EINTERRUPTED. */
int dr_status_exit_code(dr_status st, int signal);

/**
 * Record an error in @p err (may be NULL) and return @p st.
 * Keeps the first error: a later call does not overwrite an earlier one.
 */
dr_status dr_fail(dr_error *err, dr_status st, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/**
 * A command-line error (DR_EUSAGE, with the --help hint): @p fmt holds at most one "%s",
 * replaced by @p value quoted with dr_quote (or by nothing when @p value is NULL).
 */
dr_status dr_fail_usage(dr_error *err, const char *fmt, const char *value);

/** Forget any recorded error. */
void dr_error_clear(dr_error *err);

/** Size of a buffer that always holds a whole dr_quote() result. */
#define DR_QUOTE_SIZE 66

/**
 * Write @p len bytes of @p value into @p buf in single quotes, as text that is
 * safe to show in a message: "invalid period %s" gives "invalid period '2026-13'".
 * A backslash becomes "\\"; control bytes, bytes that are not well-formed UTF-8,
 * and invisible code points that could disguise the text (C1 controls, bidi
 * overrides, line separators, BOM) become "\xNN" per byte; other UTF-8 is kept.
 * Text longer than 60 bytes is cut at a character boundary and ends in "...".
 * @p value may be NULL (shown as '') and may contain NULs.
 * @return @p buf (always NUL-terminated when @p bufsize > 0; "" if it is below 3).
 */
const char *dr_quote(const char *value, size_t len, char *buf, size_t bufsize);

/** Put @p prefix in front of the recorded message (adds context at a boundary). */
void dr_error_prefix(dr_error *err, const char *prefix);

/**
 * Copy @p in (NUL-terminated) into @p out for a message, whole (not cut like dr_quote):
 * printable ASCII unchanged; control bytes, malformed UTF-8 and invisible code points
 * as \xNN, a backslash doubled, other UTF-8 kept (dr_quote's rules). For text that comes
 * from outside and is shown in full: driver diagnostics (which echo values), connection
 * strings, plugin messages. Stops early when @p out is full; always NUL-terminated.
 */
void dr_printable_copy(const char *in, char *out, size_t out_size);

#endif
