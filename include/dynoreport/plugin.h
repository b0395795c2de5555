/**
 * @file dynoreport/plugin.h
 * @brief The dynoreport output plugin SDK: the only header a plugin needs.
 *
 * A plugin is a shared object exporting one function, ::dr_plugin_entry
 * (symbol name #DR_PLUGIN_ENTRY_SYMBOL), that returns a pointer to a static,
 * read-only ::dr_plugin descriptor. The host checks the descriptor's ABI
 * major and size before it touches anything else, then drives the plugin:
 *
 *     open(args, &handle)  -> once, with schema, run metadata, options, temp path
 *     row(handle, values)  -> once per row, in order
 *     end(handle)          -> once, after the last row: flush and close the file
 *     destroy(handle)      -> always, exactly once, after open succeeded
 *
 * Rules of the ABI (the same as SQLite's sqlite3_api_routines):
 *  - the first two fields of every versioned struct (dr_plugin, dr_open_args,
 *    dr_run_info) are its ABI major and its size in bytes; fields are only ever
 *    appended, never reordered or removed. Each append raises DR_PLUGIN_ABI_MINOR;
 *  - a host accepts a descriptor of its own major whose size is at least the
 *    size of the first published version, and reads only fields that fit: either
 *    side tests an appended field with DR_HAS_FIELD before reading it;
 *  - dr_column, dr_value and dr_option travel in arrays, so their layout is
 *    frozen for a major: changing them needs a new DR_PLUGIN_ABI_MAJOR;
 *  - a plugin keeps all state in its handle (no globals), never prints, and
 *    reports errors by writing one sentence into the host-owned buffer
 *    (args->errbuf). The open args stay valid until destroy returns, so a plugin
 *    may keep the pointer to report errors from row and end;
 *  - the host never passes NULL keys, values or strings, except dr_value.text
 *    of a NULL value.
 *
 * Self-contained: includes only C standard headers.
 */
#ifndef DYNOREPORT_PLUGIN_H
#define DYNOREPORT_PLUGIN_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#ifdef __cplusplus
extern "C" {
#endif

/** ABI major. A host refuses a plugin with another major. */
#define DR_PLUGIN_ABI_MAJOR 1

/**
 * ABI minor: raised by each append of a field to a versioned struct within the major.
 * Informational: nothing is checked against it (a struct's `size` says what it holds).
 *   1.0  the first published ABI (dr_plugin up to destroy, dr_open_args, dr_run_info)
 *   1.1  dr_plugin.check_options
 *   1.2  dr_plugin.flags (DR_PLUGIN_WANTS_VIEW), dr_open_args.view, dr_report_view
 *   1.3  dr_plugin.wants_view
 */
#define DR_PLUGIN_ABI_MINOR 3

/**
 * Does the versioned struct at @p ptr, of type @p type, hold @p field? True when its
 * `size` (the sizeof the other side was built with) covers the whole field. Use it before
 * reading any field appended after the first version, e.g.
 * `DR_HAS_FIELD(d, dr_plugin, check_options)` (a host on a plugin's descriptor) or
 * `DR_HAS_FIELD(args->run, dr_run_info, tool_version)` (a plugin on the host's structs).
 * Check `abi_major` first; @p ptr must not be NULL.
 */
#define DR_HAS_FIELD(ptr, type, field) \
    ((size_t)(ptr)->size >= offsetof(type, field) + sizeof(((const type *)0)->field))

/** Name of the one symbol a plugin exports. */
#define DR_PLUGIN_ENTRY_SYMBOL "dr_plugin_entry"

/** Mark the entry point exported even when built with -fvisibility=hidden. */
#if defined(__GNUC__)
#define DR_PLUGIN_EXPORT __attribute__((visibility("default")))
#else
#define DR_PLUGIN_EXPORT
#endif

/** Status a plugin callback returns. */
typedef enum dr_plugin_status {
    DR_PLUGIN_OK = 0,       /**< success */
    DR_PLUGIN_EOPTION = 1,  /**< an option key or value is invalid (host exits 64) */
    DR_PLUGIN_EIO = 2,      /**< reading or writing the output failed (host exits 74) */
    DR_PLUGIN_ENOMEM = 3,   /**< out of memory (host exits 70) */
    DR_PLUGIN_EFAIL = 4     /**< any other failure (host exits 70) */
} dr_plugin_status;

/** Type of a column, and so of every value in it. */
typedef enum dr_type {
    DR_TYPE_TEXT = 0,      /**< UTF-8 text */
    DR_TYPE_UUID = 1,      /**< canonical lower-case 36-character UUID text */
    DR_TYPE_INT64 = 2,     /**< integer; parsed into dr_value.i64 */
    DR_TYPE_DECIMAL = 3,   /**< exact decimal text with dr_column.scale digits after
                                the point; parsed (inexactly) into dr_value.f64 */
    DR_TYPE_TIMESTAMP = 4, /**< ISO 8601 with offset, e.g. 2026-10-01T00:00:00-04:00;
                                parsed into dr_value.ts */
    DR_TYPE_BOOLEAN = 5    /**< "true" / "false"; parsed into dr_value.i64 (1 / 0) */
} dr_type;

/** Log levels of the host's logging callback. */
typedef enum dr_log_level {
    DR_LOG_ERROR = 0,
    DR_LOG_WARN = 1,
    DR_LOG_INFO = 2,
    DR_LOG_DEBUG = 3
} dr_log_level;

/** One column of the report's schema. */
typedef struct dr_column {
    const char *name;  /**< machine name, e.g. "total_amount_won" */
    const char *label; /**< human label, e.g. "Total amount won" */
    dr_type type;      /**< type of every value in the column */
    int scale;         /**< digits after the point for DR_TYPE_DECIMAL, else 0 */
} dr_column;

/** A point in time split for plugins that need parts (e.g. spreadsheet dates). */
typedef struct dr_timestamp {
    int year, month, day, hour, minute, second; /**< wall-clock in the report's zone */
    int microsecond;                            /**< 0..999999 */
    int offset_minutes;                         /**< UTC offset of that wall-clock */
} dr_timestamp;

/** One typed value. `text` is always the exact form the database gave. */
typedef struct dr_value {
    int is_null;      /**< non-zero: NULL; text is NULL then */
    const char *text; /**< exact text, NUL-terminated, valid during the call */
    size_t len;       /**< strlen(text) */
    int64_t i64;      /**< DR_TYPE_INT64, DR_TYPE_BOOLEAN */
    double f64;       /**< DR_TYPE_DECIMAL (approximate; use text for exactness) */
    dr_timestamp ts;  /**< DR_TYPE_TIMESTAMP */
} dr_value;

/** One `--opt PLUGIN.KEY=VALUE` given for this plugin (prefix removed). */
typedef struct dr_option {
    const char *key;
    const char *value;
} dr_option;

/** Metadata of the run being written. All strings are NUL-terminated. */
typedef struct dr_run_info {
    uint32_t abi_major;       /**< DR_PLUGIN_ABI_MAJOR of the host */
    uint32_t size;            /**< sizeof(dr_run_info) of the host */
    const char *report;       /**< "rep_performance" */
    const char *run_id;       /**< UUID */
    const char *tenant_id;    /**< UUID */
    const char *period_label; /**< the resolved period, e.g. "2026-10" (previous-month resolved) */
    const char *period_start; /**< ISO 8601 with offset */
    const char *period_end;   /**< ISO 8601 with offset (exclusive) */
    const char *time_zone;    /**< IANA name, e.g. "America/New_York" */
    const char *generated_at; /**< ISO 8601 with offset */
    const char *principals;   /**< "all" or a comma list of TYPE:UUID */
    const char *tool_version; /**< e.g. "0.1.0" */
} dr_run_info;

/**
 * @name The report view (ABI 1.2)
 * What a report made for people needs beyond the fact rows: names, a rank, the comparison
 * period, and honest totals. A plugin asks for it with DR_PLUGIN_WANTS_VIEW in
 * dr_plugin.flags; a 1.2 host then sets dr_open_args.view and appends DR_VIEW_NCOLUMNS
 * columns to every row (dr_open_args.columns describes all of them), and sends, after the
 * fact rows in their usual order, the rows of principals that are only in the comparison
 * period (kind "gone", current metrics 0) and one total row per principal type (kind
 * "total", principal_id NULL): each deal counted once. A plugin that does not ask, or an
 * older host, gets the 13 fact columns and the fact rows only, exactly as in ABI 1.1.
 * @{
 */

/** dr_plugin.flags bit: send the report view (extra columns, gone and total rows). */
#define DR_PLUGIN_WANTS_VIEW 0x1u

/** Columns the view appends after the fact columns, in this order:
 *   row_kind TEXT ("principal", "gone", "total"), principal_name TEXT (never NULL: the
 *   configured name, or a marked fallback such as "[user 1a2b3c4d]"; "All reps" /
 *   "All teams" for totals), rank INT64 (1 = most amount won within its principal type;
 *   ties by deals won, then name, then id; NULL for totals), is_new BOOLEAN (no row in the
 *   comparison period; NULL when there is no comparison), prev_deals_created INT64,
 *   prev_deals_won INT64, prev_total_amount_won DECIMAL(2), prev_win_rate DECIMAL(4)
 *   (the comparison period's values; NULL when there is no comparison or the principal
 *   is new). */
#define DR_VIEW_NCOLUMNS 8

/** Values of the row_kind column. */
#define DR_ROW_PRINCIPAL "principal"
#define DR_ROW_GONE "gone"
#define DR_ROW_TOTAL "total"

/** The run as a report for people. Versioned like the other structs. */
typedef struct dr_report_view {
    uint32_t abi_major;          /**< DR_PLUGIN_ABI_MAJOR of the host */
    uint32_t size;               /**< sizeof(dr_report_view) of the host */
    const char *tenant_name;     /**< the tenant's name, or a marked fallback */
    const char *period_title;    /**< the period in words: "October 2026", "Q3 2026",
                                      "Week 41, 2026", "1 Oct 2026 – 15 Oct 2026"
                                      (a range shows its inclusive last day) */
    const char *compare;         /**< "previous", "year-ago" or "none" */
    const char *compare_title;   /**< the comparison period in words; "" for none */
    const char *compare_start;   /**< ISO 8601 with offset; "" for none */
    const char *compare_end;     /**< ISO 8601 with offset (exclusive); "" for none */
    const char *currency;        /**< ISO 4217 code such as "EUR", or "" for none */
    size_t nfact_columns;        /**< the fact columns that come first in every row (13) */
} dr_report_view;
/** @} */

/** Everything a plugin gets when it opens. Valid until destroy returns. */
typedef struct dr_open_args {
    uint32_t abi_major;         /**< DR_PLUGIN_ABI_MAJOR of the host */
    uint32_t size;              /**< sizeof(dr_open_args) of the host */
    const dr_run_info *run;     /**< run metadata */
    const dr_column *columns;   /**< the schema */
    size_t ncolumns;            /**< number of columns; every row has this many values */
    const char *path;           /**< temporary file to write (exists, empty); the host
                                     renames it into place after a successful commit */
    const dr_option *options;   /**< options for this plugin */
    size_t noptions;
    /** Logging callback owned by the host; never NULL. */
    void (*log)(void *log_ctx, dr_log_level level, const char *message);
    void *log_ctx;
    char *errbuf;               /**< host-owned buffer for one error sentence */
    size_t errbuf_size;

    /* ---- ABI 1.2: appended; read only when DR_HAS_FIELD(args, dr_open_args, view) ---- */

    /** The report view, when the plugin asked for it (DR_PLUGIN_WANTS_VIEW) and the host
        has one; else NULL. When set, columns/ncolumns include the view's columns. */
    const dr_report_view *view;
} dr_open_args;

/** The descriptor a plugin returns from its entry point. */
typedef struct dr_plugin {
    uint32_t abi_major;       /**< must be DR_PLUGIN_ABI_MAJOR */
    uint32_t size;            /**< sizeof(dr_plugin) the plugin was built with */
    const char *name;         /**< format name used with --format, e.g. "csv" */
    const char *version;      /**< plugin version, e.g. "1.0.0" */
    const char *description;  /**< one line */
    const char *extension;    /**< file extension without dot, e.g. "csv" */
    /** NULL-terminated list of option keys the plugin accepts (may be NULL). */
    const char *const *option_keys;
    /** Validate options, open the output at args->path, write any header. */
    dr_plugin_status (*open)(const dr_open_args *args, void **handle);
    /** Write one row of args->ncolumns values. */
    dr_plugin_status (*row)(void *handle, const dr_value *values);
    /** Finish and close the output. */
    dr_plugin_status (*end)(void *handle);
    /** Free the handle (after end, or instead of it on failure). Never fails. */
    void (*destroy)(void *handle);

    /* ---- ABI 1.1: appended; read only when DR_PLUGIN_HAS(d, check_options) ---- */

    /**
     * Optional (NULL: not provided). Check the options before the run does any work
     * (before the database is touched), so a bad value costs nothing. @p args carries
     * only abi_major, size, options, noptions, log, log_ctx, errbuf and errbuf_size;
     * run, columns and path are NULL. Return DR_PLUGIN_OK or DR_PLUGIN_EOPTION.
     * open() must still check its options: a 1.0 host never calls this.
     */
    dr_plugin_status (*check_options)(const dr_open_args *args);

    /* ---- ABI 1.2: appended; read only when DR_PLUGIN_HAS(d, flags) ---- */

    /** DR_PLUGIN_WANTS_VIEW or 0. */
    uint32_t flags;

    /* ---- ABI 1.3: appended; read only when DR_PLUGIN_HAS(d, wants_view) ---- */

    /**
     * Optional (NULL: DR_PLUGIN_WANTS_VIEW alone decides). For a plugin that sets
     * DR_PLUGIN_WANTS_VIEW but needs the view only with some of its options (the names of
     * csv and json): does this output need it? @p args as for check_options, after
     * check_options accepted them. Return 1 for the view, 0 for the fact rows alone, as a
     * plugin without the flag gets them; when no output of a run needs the view the host
     * does not read it (it costs a statement and its joins). A 1.2 host never calls this
     * and sends the view whenever the flag is set.
     */
    int (*wants_view)(const dr_open_args *args);
} dr_plugin;

/** Size of the first published dr_plugin (ABI 1.0, up to destroy); the smallest a host accepts. */
#define DR_PLUGIN_MIN_SIZE (offsetof(dr_plugin, destroy) + sizeof(void (*)(void *)))

/** Does the descriptor @p d hold @p field? DR_HAS_FIELD on a dr_plugin. */
#define DR_PLUGIN_HAS(d, field) DR_HAS_FIELD(d, dr_plugin, field)

/** Type of the entry point. */
typedef const dr_plugin *(*dr_plugin_entry_fn)(void);

/**
 * The entry point every plugin defines:
 * @code
 * DR_PLUGIN_EXPORT const dr_plugin *dr_plugin_entry(void) { return &my_descriptor; }
 * @endcode
 */
DR_PLUGIN_EXPORT const dr_plugin *dr_plugin_entry(void);

/**
 * Write a formatted error sentence into the host-owned buffer of @p args.
 * A small inline helper so plugins need no other library.
 */
static inline dr_plugin_status dr_plugin_error(const dr_open_args *args, dr_plugin_status st,
                                               const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;
static inline dr_plugin_status dr_plugin_error(const dr_open_args *args, dr_plugin_status st,
                                               const char *fmt, ...)
{
    if (args && args->errbuf && args->errbuf_size > 0) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(args->errbuf, args->errbuf_size, fmt, ap);
        va_end(ap);
    }
    return st;
}

/** Find the value of option @p key in @p args, or NULL. */
static inline const char *dr_plugin_option(const dr_open_args *args, const char *key)
{
    for (size_t i = 0; args && i < args->noptions; i++) {
        const char *a = args->options[i].key, *b = key;
        while (*a && *a == *b) { a++; b++; }
        if (*a == '\0' && *b == '\0')
            return args->options[i].value;
    }
    return NULL;
}

#ifdef __cplusplus
}
#endif

#endif /* DYNOREPORT_PLUGIN_H */
