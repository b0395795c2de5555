/**
 * @file plugin_common.h
 * @brief What the built-in output plugins (csv, json, xlsx) share: option words,
 *        message helpers, the first checks of open, a buffered output file and the
 *        reading of the report view (ABI 1.2).
 *
 * Built as a static, position-independent library with hidden visibility and linked
 * into each plugin module, so none of these names is exported by a plugin. No global
 * state: every function works on its arguments only. Messages are composed from the
 * @p plugin ("csv") and @p kind ("CSV") words the caller passes, so each plugin's text
 * stays its own.
 */
#ifndef DR_PLUGIN_COMMON_H
#define DR_PLUGIN_COMMON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include <dynoreport/plugin.h>

/**
 * Keep the plugin that holds @p symbol (its entry point) loaded until the process ends:
 * for plugins built on libraries that are not made to be unloaded (libcurl and the TLS
 * and SSH libraries under it keep thread-local storage and exit handlers; OpenSSL pins
 * itself only once initialized, so a plugin closed before its first transfer would take
 * them out of memory with those still registered).
 */
void dr_pc_pin_self(void *symbol);

/** @p s for a message: the empty string when @p s is NULL. */
const char *dr_pc_shown(const char *s);

/** errno when it is set, else EIO: the error of a failed call that may not set errno. */
int dr_pc_errno_or_eio(void);

/** Whether @p a and @p b are equal ignoring ASCII case (independent of the locale). */
bool dr_pc_word_eq(const char *a, const char *b);

/** Parse a boolean option word true/false, yes/no, on/off, 1/0 (any case): 0 and *out, or -1. */
int dr_pc_parse_bool(const char *value, bool *out);

/** Parse boolean option <plugin>.<key> into *out, or report it ("expected true or false"). */
dr_plugin_status dr_pc_option_bool(const dr_open_args *args, const char *plugin, const char *key,
                                   const char *value, bool *out);

/** The boolean option @p key of @p args (its last occurrence), false when absent; true when
    its value is not a boolean word (the option check refuses it anyway). For wants_view. */
bool dr_pc_option_is_true(const dr_open_args *args, const char *key);

/** First checks of open: both arguments given (then *handle = NULL), the host's ABI, and
    its dr_open_args holding every 1.0 field (DR_HAS_FIELD of the last, errbuf_size). */
dr_plugin_status dr_pc_check_open(const dr_open_args *args, void **handle, const char *plugin);

/** A plugin's option parser, the one its open uses: fills @p handle (the plugin's own handle
    type) from args->options, or reports the first bad option (DR_PLUGIN_EOPTION). */
typedef dr_plugin_status (*dr_pc_parse_options_fn)(const dr_open_args *args, void *handle);

/**
 * The ABI 1.1 check_options of a built-in plugin: @p parse run on a zeroed scratch handle of
 * @p handle_size bytes, freed again; so the host learns of a bad option before any work, with
 * the very message open() would give (open parses the options again: a 1.0 host never calls
 * check_options). Returns what @p parse returns, or DR_PLUGIN_ENOMEM.
 */
dr_plugin_status dr_pc_check_options(const dr_open_args *args, const char *plugin,
                                     size_t handle_size, dr_pc_parse_options_fn parse);

/** A buffered output file: its stream, the stream's buffer and the first write error. */
typedef struct dr_pc_file {
    FILE *fp;        /**< NULL until opened and once closed */
    char *iobuf;     /**< stdio buffer of fp; freed only after fclose */
    int write_errno; /**< errno of the first failed write, 0 if none */
} dr_pc_file;

/** Open args->path with a @p bufsize stdio buffer; on failure dr_pc_file_discard() cleans up. */
dr_plugin_status dr_pc_file_open(dr_pc_file *f, const dr_open_args *args, const char *plugin,
                                 const char *kind, size_t bufsize);

/** Record a failed write (its errno, the first one kept) and report it; the stream stays open. */
dr_plugin_status dr_pc_file_write_failed(dr_pc_file *f, const dr_open_args *args, const char *kind);

/** Flush, check and close @p f (its fp NULL afterwards in any case); report any error. The host
    fsyncs the file after `end`. */
dr_plugin_status dr_pc_file_close(dr_pc_file *f, const dr_open_args *args, const char *kind);

/** Close @p f without checks (failure path: the host removes the temp file) and free its buffer. */
void dr_pc_file_discard(dr_pc_file *f);

/**
 * @name The report view (ABI 1.2)
 * How a plugin that sets DR_PLUGIN_WANTS_VIEW reads the rows whichever host it meets: a 1.2
 * host with a view appends the view's columns and sends gone and total rows after the fact
 * rows; an older host (or one without a view) sends the fact columns and rows only. The
 * names of the fact rows come from the view, or else from the same marked fallback the host
 * uses ("[user 1a2b3c4d]", "[team 1a2b3c4d]", "[tenant 1a2b3c4d]").
 * @{
 */

/** A column index that is not there. */
#define DR_PC_NO_COLUMN ((size_t)-1)

/** Room for any fallback name of dr_pc_fallback_name() with its NUL. */
#define DR_PC_NAME_SIZE 32

/** Where the fact and view columns are in the rows this plugin gets. */
typedef struct dr_pc_view {
    const dr_report_view *view; /**< the host's view; NULL: none (older host, or not sent) */
    size_t nfact;               /**< the fact columns that come first in every row */
    size_t col_type, col_id;    /**< fact columns principal_type, principal_id, or NO_COLUMN */
    size_t col_kind, col_name;  /**< view columns row_kind, principal_name, or NO_COLUMN */
} dr_pc_view;

/** Index of the column named @p name among columns [@p from, @p to) of @p args, or
    DR_PC_NO_COLUMN. */
size_t dr_pc_column_index(const dr_open_args *args, size_t from, size_t to, const char *name);

/**
 * Fill @p v from @p args (call after dr_pc_check_open): the view when the host's
 * dr_open_args holds the field (DR_HAS_FIELD) and set it, checked (its ABI major, its size
 * holding nfact_columns, nfact_columns within ncolumns: else DR_PLUGIN_EFAIL naming
 * @p plugin); without one, every column is a fact column.
 */
dr_plugin_status dr_pc_view_init(dr_pc_view *v, const dr_open_args *args, const char *plugin);

/** Whether @p values is a fact row: always without a view (or a view without a row_kind
    column); with one, a row whose row_kind is DR_ROW_PRINCIPAL (gone and total rows, and
    kinds of later versions, are not). */
bool dr_pc_view_is_fact(const dr_pc_view *v, const dr_value *values);

/** The host's marked fallback for a principal or tenant without a name: "[WORD xxxxxxxx]",
    the first 8 characters of @p id, into @p buf (at least DR_PC_NAME_SIZE bytes). */
const char *dr_pc_fallback_name(const char *word, const char *id, char *buf, size_t size);

/** The fallback word of a principal type: "user" for USER, "team" for GROUP, else
    "principal". */
const char *dr_pc_principal_word(const char *principal_type);

/**
 * The name of the principal of row @p values: the view's principal_name when there is a
 * view, else the fallback from principal_type and principal_id (in @p buf, at least
 * DR_PC_NAME_SIZE bytes). NULL when the row has neither a name nor a principal id.
 */
const char *dr_pc_view_principal_name(const dr_pc_view *v, const dr_value *values, char *buf,
                                      size_t size);

/** The tenant's name: the view's tenant_name, else the fallback "[tenant xxxxxxxx]" from
    args->run->tenant_id (in @p buf, at least DR_PC_NAME_SIZE bytes); NULL without either. */
const char *dr_pc_view_tenant_name(const dr_pc_view *v, const dr_open_args *args, char *buf,
                                   size_t size);
/** @} */

#endif /* DR_PLUGIN_COMMON_H */
