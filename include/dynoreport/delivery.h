/**
 * @file dynoreport/delivery.h
 * @brief The dynoreport delivery plugin SDK: how a run's files get to people and servers.
 *
 * A delivery plugin is a shared object exporting ::dr_delivery_entry (symbol name
 * #DR_DELIVERY_ENTRY_SYMBOL) that returns a pointer to a static, read-only ::dr_delivery
 * descriptor. One .so may export this entry, the format entry of <dynoreport/plugin.h>
 * (dr_plugin_entry), or both. A `[delivery NAME]` section with `kind = K` uses the plugin
 * whose descriptor's kind is K, found as K.so in the plugin search path and loaded with the
 * same trust checks as formats (docs/plugin-sdk.md). The host drives it:
 *
 *     check(args)    -> optional, once per destination before the database is touched:
 *                       the options, URL and recipients' form (no files, no run yet)
 *     deliver(args)  -> once per attempt, AFTER the run is committed and its files are in
 *                       place: send or upload every file in args->files
 *
 * A delivery runs after the commit: its failure never undoes the run. The host retries a
 * DR_DELIVERY_ETEMP failure with backoff, records every delivery in the database, and
 * reports; a DR_DELIVERY_EFAIL failure (wrong host key, refused recipient) is not retried.
 *
 * Rules of the ABI (the same as <dynoreport/plugin.h>):
 *  - the first two fields of every versioned struct (dr_delivery, dr_delivery_args) are
 *    its ABI major and its size; fields are only ever appended. Test an appended field
 *    with DR_HAS_FIELD (plugin.h) before reading it;
 *  - dr_delivery_file travels in an array: its layout is frozen for the major;
 *  - the plugin keeps all state on its stack or in what it allocates per call, never
 *    prints, logs only through args->log, finds its options through args->option, and
 *    writes one error sentence into args->errbuf. The sentence must not contain a secret
 *    (a password, a URL with userinfo): the host stores it in the database;
 *  - the host owns every string and keeps it valid during the call; args->secret is wiped
 *    by the host after the call.
 *
 * Self-contained: includes only <dynoreport/plugin.h> (for dr_run_info, dr_log_level,
 * DR_HAS_FIELD and DR_PLUGIN_EXPORT) and C standard headers.
 */
#ifndef DYNOREPORT_DELIVERY_H
#define DYNOREPORT_DELIVERY_H

#include <stddef.h>
#include <stdint.h>

#include <dynoreport/plugin.h>

#ifdef __cplusplus
extern "C" {
#endif

/** Delivery ABI major. A host refuses a delivery plugin with another major. */
#define DR_DELIVERY_ABI_MAJOR 1

/**
 * Delivery ABI minor (informational, like DR_PLUGIN_ABI_MINOR):
 *   1.0  the first published ABI (dr_delivery up to deliver, dr_delivery_args up to remote_size)
 */
#define DR_DELIVERY_ABI_MINOR 0

/** Name of the symbol a delivery plugin exports. */
#define DR_DELIVERY_ENTRY_SYMBOL "dr_delivery_entry"

/** Status a delivery callback returns. */
typedef enum dr_delivery_status {
    DR_DELIVERY_OK = 0,      /**< delivered */
    DR_DELIVERY_EOPTION = 1, /**< an option, the URL or a recipient is wrong (host exits 78) */
    DR_DELIVERY_ETEMP = 2,   /**< failed, may succeed later (connection refused, cut, 4xx): retried */
    DR_DELIVERY_EFAIL = 3,   /**< failed for good (host key refused, 5xx): not retried */
    DR_DELIVERY_ENOMEM = 4   /**< out of memory */
} dr_delivery_status;

/** The opaque host handle given back to the host's callbacks. */
typedef struct dr_delivery_host dr_delivery_host;

/** One file of the run, in place in its directory. Frozen layout. */
typedef struct dr_delivery_file {
    const char *name;         /**< file name, e.g. "rep_performance_...csv" */
    const char *path;         /**< a path the plugin may open for reading */
    const char *format;       /**< format plugin name: "csv", "xlsx", "json", ... */
    const char *content_type; /**< MIME type: "text/csv", "application/json", ... */
    uint64_t size;            /**< bytes */
} dr_delivery_file;

/** Everything one call gets. Valid during the call. */
typedef struct dr_delivery_args {
    uint32_t abi_major;            /**< DR_DELIVERY_ABI_MAJOR of the host */
    uint32_t size;                 /**< sizeof(dr_delivery_args) of the host */
    dr_delivery_host *host;        /**< pass to log and option */
    const char *destination;       /**< the NAME of [delivery NAME] */
    const char *url;               /**< the section's url ("" when none) */
    const char *secret;            /**< the credentials file's first line, or NULL; never log it */
    const char *const *recipients; /**< addresses (mail), resolved per tenant; may be empty */
    size_t nrecipients;
    const char *from;              /**< "" when not set */
    const char *reply_to;          /**< "" when not set */
    const char *subject;           /**< the subject template expanded for this run ("" in check) */
    const char *body_text;         /**< a short plain-text summary of the run ("" in check) */
    const char *body_html;         /**< the same as HTML, names escaped ("" in check) */
    const dr_run_info *run;        /**< the run (NULL in check) */
    const dr_delivery_file *files; /**< the run's files (NULL in check) */
    size_t nfiles;
    unsigned attempt;              /**< 1 for the first try */
    /** Host-owned logging; never NULL. */
    void (*log)(dr_delivery_host *host, dr_log_level level, const char *message);
    /** The value of KEY for this destination, or NULL: a key of its section (user,
        known_hosts, private_key, manifest, latest, ...; credentials_file gives the path),
        else its last `option = KEY=VALUE`. */
    const char *(*option)(dr_delivery_host *host, const char *key);
    char *errbuf;                  /**< one error sentence, no secret */
    size_t errbuf_size;
    char *remote;                  /**< the plugin writes where it delivered (remote paths,
                                        recipients) for the record; no secret */
    size_t remote_size;
} dr_delivery_args;

/** The descriptor a delivery plugin returns from its entry point. */
typedef struct dr_delivery {
    uint32_t abi_major;       /**< must be DR_DELIVERY_ABI_MAJOR */
    uint32_t size;            /**< sizeof(dr_delivery) the plugin was built with */
    const char *kind;         /**< the `kind` it serves, e.g. "mail" (a-z 0-9 _ -, at most 32) */
    const char *version;      /**< plugin version */
    const char *description;  /**< one line */
    /** NULL-terminated list of option keys the plugin accepts (may be NULL). */
    const char *const *option_keys;
    /** Optional (NULL: none): check the configuration; DR_DELIVERY_OK or DR_DELIVERY_EOPTION. */
    dr_delivery_status (*check)(const dr_delivery_args *args);
    /** Deliver every file of args->files. Required. */
    dr_delivery_status (*deliver)(const dr_delivery_args *args);
} dr_delivery;

/** Size of the first published dr_delivery (ABI 1.0); the smallest a host accepts. */
#define DR_DELIVERY_MIN_SIZE (offsetof(dr_delivery, deliver) + sizeof(void (*)(void)))

/** Type of the entry point. */
typedef const dr_delivery *(*dr_delivery_entry_fn)(void);

/**
 * The entry point a delivery plugin defines:
 * @code
 * DR_PLUGIN_EXPORT const dr_delivery *dr_delivery_entry(void) { return &my_delivery; }
 * @endcode
 */
DR_PLUGIN_EXPORT const dr_delivery *dr_delivery_entry(void);

/** Write a formatted error sentence into args->errbuf and return @p st. */
static inline dr_delivery_status dr_delivery_error(const dr_delivery_args *args, dr_delivery_status st,
                                                   const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;
static inline dr_delivery_status dr_delivery_error(const dr_delivery_args *args, dr_delivery_status st,
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

#ifdef __cplusplus
}
#endif

#endif /* DYNOREPORT_DELIVERY_H */
