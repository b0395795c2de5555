/**
 * @file config.h
 * @brief The INI configuration file (docs/configuration.md), read by our own parser (no line limit
 *        short of DR_CONFIG_MAX_LINE; it replaced libinih and its 200-byte lines).
 *
 * Looked up as --config FILE, else $DYNOREPORT_CONFIG, else
 * /etc/dynoreport/dynoreport.conf (only that last one may be absent).
 * Unknown sections or keys and bad values are errors (DR_ECONFIG, exit 78)
 * naming the file, the line and the key.
 */
#ifndef DR_CONFIG_H
#define DR_CONFIG_H

#include <stddef.h>

#include "odbc.h"
#include "output.h"
#include "run_view.h"
#include "status.h"

#define DR_CONFIG_DEFAULT_PATH "/etc/dynoreport/dynoreport.conf"
#define DR_CONFIG_MAX_OPTS 32
/** Longest line of the configuration file, without its line break (1024 principals fit). */
#define DR_CONFIG_MAX_LINE 65536
/** Longest password a password file may hold (its first line). */
#define DR_PASSWORD_MAX 511

/** Settings of [defaults] or of one [job NAME] (NULL = not set). */
typedef struct dr_settings {
    char *tz;
    char *formats;
    char *output_dir;
    char *name;
    char *plugin_dir;
    char *opts[DR_CONFIG_MAX_OPTS]; /**< "plugin.key=value" */
    size_t nopts;
    /* job only */
    char *tenant;
    char *principals;
    char *period;
    /* the report view (any block) */
    char *currency; /**< ISO 4217 code for money formats */
    char *compare;  /**< previous, year-ago or none */
    /* delivery (any block) */
    char *deliver;    /**< comma list of [delivery NAME] names */
    int deliver_line; /**< its line, for messages */
    /* many runs (any block; checked when read) */
    char *run_lock_timeout; /**< how long a run waits for another run of its tenant and period */
    char *skip_existing;    /**< "true" or "false" */
    char *jobs;             /**< worker processes of a job, 1..DR_MAX_JOBS */
} dr_settings;

/** Keys of a [delivery NAME] section (index into dr_config_delivery.values and .lines). */
typedef enum dr_delivery_key {
    DR_DK_KIND, DR_DK_URL, DR_DK_USER, DR_DK_CREDENTIALS_FILE, DR_DK_RECIPIENTS, DR_DK_RECIPIENTS_QUERY,
    DR_DK_FROM, DR_DK_REPLY_TO, DR_DK_SUBJECT, DR_DK_RETRIES, DR_DK_BACKOFF, DR_DK_MANIFEST, DR_DK_LATEST,
    DR_DK_KNOWN_HOSTS, DR_DK_PRIVATE_KEY, DR_DK_FORMATS, DR_DK_COUNT
} dr_delivery_key;

/** The name of key @p k as written in the file ("credentials_file"). */
const char *dr_delivery_key_name(dr_delivery_key k);

#define DR_DELIVERY_MAX_OPTIONS 32
#define DR_DELIVERY_MAX_RETRIES 10

/** One [delivery NAME] section (docs/delivery.md). Values are checked when read. */
typedef struct dr_config_delivery {
    char *name;
    int line;                         /**< line of the section header */
    char *values[DR_DK_COUNT];        /**< NULL = not set */
    int lines[DR_DK_COUNT];
    char *options[DR_DELIVERY_MAX_OPTIONS]; /**< "key=value" of the 'option' keys */
    int option_lines[DR_DELIVERY_MAX_OPTIONS];
    size_t noptions;
    unsigned retries;                 /**< retries after the first attempt (default 2) */
    unsigned backoff_ms;              /**< delay before the first retry, doubled each time (default 2000) */
    int manifest, latest;             /**< dir: write a manifest / a latest link (default 0) */
} dr_config_delivery;

typedef struct dr_config_job {
    char *name;
    dr_settings s;
} dr_config_job;

/** Where a section or key was set: for messages that name file and line after the load. */
typedef struct dr_config_line {
    char *section; /**< "connection", "defaults", "names", "job NAME", ... */
    char *key;     /**< NULL: the section's first header line */
    int line;
} dr_config_line;

/** A problem found while reading or checking the configuration (config check collects them). */
typedef void (*dr_config_problem_fn)(void *ctx, const dr_error *problem);

typedef struct dr_config {
    char *path;          /**< file read, or NULL when none */
    dr_config_line *lines; /**< every section header and key read, in file order */
    size_t nlines, lines_cap;
    char *connect;
    char *dsn;
    char *password_file; /**< an absolute path (checked when the file is loaded) */
    dr_db_timeouts timeouts; /**< [connection] statement_timeout, lock_timeout,
                                  idle_in_transaction_session_timeout ("" = not set) */
    char *names_principals; /**< [names] principals: file of the principals' names query */
    char *names_tenant;     /**< [names] tenant: file of the tenant's name query */
    dr_settings defaults;
    dr_config_job *jobs;
    size_t njobs;
    dr_config_delivery *deliveries;
    size_t ndeliveries;
    /* owner and mode of the file read (fstat of the handle parsed), for the checks of a
       configuration that holds or names a secret (dr_config_connection) */
    int file_known;
    unsigned long file_uid;
    unsigned file_mode;
} dr_config;

/**
 * Load the configuration. @p explicit_path is --config (may be NULL).
 * A missing explicit or $DYNOREPORT_CONFIG file is an error; a missing default file is not.
 */
dr_status dr_config_load(const char *explicit_path, dr_config *cfg, dr_error *err);

/**
 * dr_config_load that goes on after a problem: each bad line is sent to @p each (a
 * DR_ECONFIG error "FILE:LINE: ...") and skipped, so every problem of the file is found;
 * @p cfg keeps what could be read. A line longer than DR_CONFIG_MAX_LINE ends the reading
 * (reported). @return DR_OK once the file was read (or the default file is absent: then
 * cfg->path is NULL), else the error of a file that cannot be read, or DR_ENOMEM.
 */
dr_status dr_config_load_each(const char *explicit_path, dr_config *cfg, dr_config_problem_fn each, void *ctx,
                              dr_error *err);

/**
 * The line of the file where @p key of @p section was set (the first time), or with @p key
 * NULL the section's first header line; 0 when it was not (or no file was read).
 */
int dr_config_line_of(const dr_config *cfg, const char *section, const char *key);

/** Free everything in @p cfg. NULL-safe, idempotent. */
void dr_config_free(dr_config *cfg);

/** The [delivery NAME] called @p name, or NULL. */
const dr_config_delivery *dr_config_delivery_find(const dr_config *cfg, const char *name);

/** The job called @p name, or NULL. */
const dr_config_job *dr_config_job_find(const dr_config *cfg, const char *name);

/**
 * Read the password file: its first line, without the line break (CR LF too), into @p out
 * (at most @p out_size - 1 bytes). Never logged; @p out is wiped on failure, and nothing
 * but @p out ever holds the password (read(2), no stdio buffer). The file must be a
 * regular file owned by the user running the tool or root and neither readable nor
 * writable by group or others (libpq's .pgpass rule, ssh's StrictModes).
 * @return DR_OK or DR_ECONFIG naming the file, its owner and mode (never its content).
 */
dr_status dr_config_read_password(const char *path, char *out, size_t out_size, dr_error *err);

/** Longest connection string taken (with the password file's PWD). */
#define DR_CONNSTR_MAX 4096

/** Copies of strings that live until dr_strstore_free (split lists point into them). */
typedef struct dr_strstore {
    char **bufs;
    size_t n, cap;
} dr_strstore;

/** A copy of @p v that lives until dr_strstore_free; NULL when out of memory. */
char *dr_strstore_dup(dr_strstore *s, const char *v);

/** Free every copy. NULL-safe, idempotent. */
void dr_strstore_free(dr_strstore *s);

/**
 * Split the comma list in @p buf (modified) into @p out: spaces and tabs around an item
 * are dropped, and so are empty items. Appends after the @p *n items already there.
 * @return 0, or -1 when there would be more than @p max items.
 */
int dr_split_list(char *buf, const char **out, size_t max, size_t *n);

/**
 * The output request of a command, by precedence: what the command line set in @p out
 * wins, then the [job] settings @p job (NULL for run and export), then [defaults], then
 * the built-in defaults (csv into "."). Options (opt = PLUGIN.KEY=VALUE) of every level
 * are kept, lowest first, so the most specific value for a key wins.
 * @return DR_OK, or DR_ECONFIG naming file and key for a bad 'formats' value.
 */
dr_status dr_config_output(const dr_config *cfg, const dr_settings *job, dr_output_request *out,
                           dr_strstore *store, dr_error *err);

/** The report zone by precedence: @p cli_tz, [job] tz, [defaults] tz, "UTC". */
const char *dr_config_tz(const dr_config *cfg, const dr_settings *job, const char *cli_tz);

/**
 * The connection string by precedence: --connect / --dsn, else $DYNOREPORT_CONNECT /
 * $DYNOREPORT_DSN (@p env_connect / @p env_dsn, "" counts as unset), else [connection];
 * a DSN becomes "DSN=NAME;". Only a string from [connection] gets the password of
 * [connection] password_file, as PWD={...} with '}' doubled (ODBC quoting); one from the
 * command line or the environment never does. A configuration that names a password file
 * or holds a password in 'connect' must be owned by the running user or root and not
 * writable by group or others; both a
 * password in 'connect' and password_file is an error. @p out is wiped on failure.
 * @return DR_OK, DR_ECONFIG (none; a password file or configuration refused), DR_EUSAGE
 *         when the string is too long.
 */
dr_status dr_config_connection(const dr_config *cfg, const char *cli_connect, const char *cli_dsn,
                               const char *env_connect, const char *env_dsn, char *out, size_t out_size,
                               dr_error *err);

/**
 * May a file of owner @p uid and mode @p mode (from fstat of the open handle) hold a secret
 * or code the tool runs? Like libpq's .pgpass check and ssh's StrictModes: owned by the user
 * running the tool or root and writable by nobody else; with @p private_read also readable
 * by nobody else. @p what names the file in the message ("password file", "names query").
 * @return DR_OK or DR_ECONFIG naming the file, its owner and mode.
 */
dr_status dr_config_check_file(const char *what, const char *path, unsigned long uid, unsigned mode,
                               int private_read, dr_error *err);

/** Most worker processes of one `job --jobs N`. */
#define DR_MAX_JOBS 64

/**
 * A wait such as --lock-timeout: digits and a unit ms, s, min or h ("0" alone: no wait);
 * at most 2^31-1 ms. @return 1 with *@p ms set, or 0 for anything else.
 */
int dr_duration_ms(const char *text, long *ms);

/** A number of worker processes, 1..DR_MAX_JOBS. @return 1 with *@p n set, else 0. */
int dr_jobs_parse(const char *text, long *n);

/** An ISO 4217 code: three capital letters. */
int dr_currency_valid(const char *code);

/** "previous", "year-ago" or "none". */
int dr_compare_valid(const char *mode);

/**
 * The report view of a run by precedence: [names] files; compare from @p cli_compare, then
 * [job] (@p job may be NULL), [defaults], "previous"; currency from [job], [defaults], "".
 */
void dr_config_view(const dr_config *cfg, const dr_settings *job, const char *cli_compare, dr_view_request *out);

#endif
