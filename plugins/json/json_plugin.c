/*
 * The "json" output plugin: one JSON document
 *
 *   {"report":..., "run_id":..., "tenant_id":..., "period_start":..., "period_end":...,
 *    "generated_at":..., "time_zone":..., "period":..., "principals":..., "tool_version":...,
 *    "columns":[{"name":..., "label":..., "type":..., "scale":N}, ...],
 *    "rows":[{...}, ...]}
 *
 * or NDJSON (one row object a line, no head). Each row is an object keyed by column
 * name in column order: decimals are JSON numbers written from the database's exact
 * text (json-c's json_object_new_double_s serializes the given string verbatim, so no
 * binary floating point is on the way), counts are JSON integers, booleans true/false,
 * NULL null, everything else (text, uuid, timestamps) a string.
 *
 * The head is written by hand (its string values escaped by json-c); then every row is
 * built as one json_object, serialized, written and freed: the document is never held
 * in memory. By default each row takes one line of the "rows" array.
 *
 * Options (given as --opt json.KEY=VALUE; the host strips the "json." prefix):
 *   ndjson   true | false: one row object a line, no head and no array (default false)
 *   pretty   true | false: indent the document by 2 spaces (default false; not with ndjson)
 *   names    true | false: append the columns principal_name and tenant_name (default false)
 *
 * Asks for the report view (ABI 1.2, DR_PLUGIN_WANTS_VIEW) for the names only, and tells a
 * 1.3 host that only names=true needs it (wants_view): the fact
 * columns and rows are written as they are without a view; the view's columns and its gone
 * and total rows are never written. names=true takes the names from the view, or, from a
 * host without one, the host's marked fallback ("[user 1a2b3c4d]", "[tenant 7c9e6679]").
 */
#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include <dynoreport/plugin.h>

#include "plugin_common.h"

#define JSON_IOBUF_SIZE (64u * 1024u)

/* The pretty layout nests column and row objects 4 spaces deep. */
#define JSON_ITEM_INDENT 4
#define JSON_FIELD_INDENT 2

typedef struct json_handle {
    const dr_open_args *args; /* valid until destroy returns */
    dr_pc_file out;           /* the output file; out.fp NULL once closed */
    bool ndjson;
    bool pretty;
    bool names;               /* names=true: principal_name and tenant_name appended */
    int flags;                /* json-c serialization flags */
    size_t nrows;             /* rows written so far */
    dr_pc_view view;          /* where the fact columns are; the view, if sent */
    const char *tenant_name;  /* names=true: the view's, or tenant_buf */
    char tenant_buf[DR_PC_NAME_SIZE];
} json_handle;

static const char *const json_option_keys[] = {"ndjson", "pretty", "names", NULL};

/* The columns names=true appends after the fact columns. */
static const dr_column json_name_columns[] = {
    {"principal_name", "Principal name", DR_TYPE_TEXT, 0},
    {"tenant_name", "Tenant name", DR_TYPE_TEXT, 0},
};

#define JSON_NNAME_COLUMNS (sizeof json_name_columns / sizeof json_name_columns[0])

static const char json_spaces[] = "        "; /* at least JSON_ITEM_INDENT */

/* -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)? : what may stand verbatim as a JSON
 * number. PostgreSQL's numeric text always is, except 'NaN' and '[-]Infinity'. */
static bool is_json_number(const char *s)
{
    if (*s == '-')
        s++;
    if (*s == '0')
        s++;
    else if (*s >= '1' && *s <= '9')
        while (*s >= '0' && *s <= '9')
            s++;
    else
        return false;
    if (*s == '.') {
        s++;
        if (*s < '0' || *s > '9')
            return false;
        while (*s >= '0' && *s <= '9')
            s++;
    }
    if (*s == 'e' || *s == 'E') {
        s++;
        if (*s == '+' || *s == '-')
            s++;
        if (*s < '0' || *s > '9')
            return false;
        while (*s >= '0' && *s <= '9')
            s++;
    }
    return *s == '\0';
}

static const char *type_name(dr_type t)
{
    switch (t) {
    case DR_TYPE_TEXT: return "text";
    case DR_TYPE_UUID: return "uuid";
    case DR_TYPE_INT64: return "int64";
    case DR_TYPE_DECIMAL: return "decimal";
    case DR_TYPE_TIMESTAMP: return "timestamp";
    case DR_TYPE_BOOLEAN: return "boolean";
    }
    return "text"; /* a type of a later ABI minor: its text is still exact */
}

/* Record a failed write and report it; the stream stays open for destroy. */
static dr_plugin_status write_failed(json_handle *h)
{
    return dr_pc_file_write_failed(&h->out, h->args, "JSON");
}

static dr_plugin_status out_of_memory(json_handle *h)
{
    return dr_plugin_error(h->args, DR_PLUGIN_ENOMEM, "json: out of memory writing '%s'",
                           dr_pc_shown(h->args->path));
}

static dr_plugin_status write_bytes(json_handle *h, const char *s, size_t n)
{
    errno = 0;
    if (n > 0 && fwrite(s, 1, n, h->out.fp) != n)
        return write_failed(h);
    return DR_PLUGIN_OK;
}

static dr_plugin_status write_text(json_handle *h, const char *s)
{
    return write_bytes(h, s, strlen(s));
}

/* Write json-c output, indenting every line after the first by @p indent spaces (pretty
 * layout only). Raw newlines occur only between tokens: json-c escapes them in strings. */
static dr_plugin_status write_indented(json_handle *h, const char *s, size_t n, size_t indent)
{
    dr_plugin_status st = DR_PLUGIN_OK;
    const char *nl;

    while (indent > 0 && (nl = memchr(s, '\n', n)) != NULL) {
        size_t line = (size_t)(nl - s) + 1;
        if ((st = write_bytes(h, s, line)) != DR_PLUGIN_OK ||
            (st = write_bytes(h, json_spaces, indent)) != DR_PLUGIN_OK)
            return st;
        s += line;
        n -= line;
    }
    return write_bytes(h, s, n);
}

/* Serialize @p jso (NULL is JSON null) and write it; the caller still owns @p jso. */
static dr_plugin_status write_json(json_handle *h, json_object *jso, size_t indent)
{
    size_t len = 0;
    const char *s;

    if (jso == NULL)
        return write_bytes(h, "null", 4);
    s = json_object_to_json_string_length(jso, h->flags, &len);
    if (s == NULL)
        return out_of_memory(h);
    return write_indented(h, s, len, h->pretty ? indent : 0);
}

/* Write "key":"value" of the head: @p key is a literal that needs no escaping. */
static dr_plugin_status write_head_string(json_handle *h, const char *key, const char *value)
{
    dr_plugin_status st;
    json_object *jso = NULL;

    if (value != NULL && (jso = json_object_new_string(value)) == NULL)
        return out_of_memory(h);
    if ((st = write_bytes(h, json_spaces, h->pretty ? JSON_FIELD_INDENT : 0)) == DR_PLUGIN_OK &&
        (st = write_text(h, "\"")) == DR_PLUGIN_OK && (st = write_text(h, key)) == DR_PLUGIN_OK &&
        (st = write_text(h, h->pretty ? "\": " : "\":")) == DR_PLUGIN_OK &&
        (st = write_json(h, jso, JSON_FIELD_INDENT)) == DR_PLUGIN_OK)
        st = write_text(h, h->pretty ? ",\n" : ",");
    json_object_put(jso);
    return st;
}

/* Add @p val under the constant @p key, taking ownership of @p val in every case. */
static int object_add(json_object *obj, const char *key, json_object *val)
{
    if (json_object_object_add_ex(obj, key, val,
                                  JSON_C_OBJECT_ADD_KEY_IS_NEW | JSON_C_OBJECT_ADD_CONSTANT_KEY) != 0) {
        json_object_put(val);
        return -1;
    }
    return 0;
}

static json_object *column_object(const dr_column *col)
{
    json_object *obj = json_object_new_object();
    json_object *name = json_object_new_string(col->name);
    json_object *label = json_object_new_string(dr_pc_shown(col->label));
    json_object *type = json_object_new_string(type_name(col->type));
    json_object *scale = json_object_new_int(col->scale);
    int bad = obj == NULL || name == NULL || label == NULL || type == NULL || scale == NULL;

    if (bad) {
        json_object_put(name);
        json_object_put(label);
        json_object_put(type);
        json_object_put(scale);
        json_object_put(obj);
        return NULL;
    }
    /* object_add owns the value even when it fails, so keep going and free once */
    bad |= object_add(obj, "name", name);
    bad |= object_add(obj, "label", label);
    bad |= object_add(obj, "type", type);
    bad |= object_add(obj, "scale", scale);
    if (bad) {
        json_object_put(obj);
        return NULL;
    }
    return obj;
}

static dr_plugin_status write_head(json_handle *h)
{
    const dr_open_args *args = h->args;
    const dr_run_info *run = args->run;
    const struct {
        const char *key;
        const char *value;
    } fields[] = {
        {"report", run->report},
        {"run_id", run->run_id},
        {"tenant_id", run->tenant_id},
        {"period_start", run->period_start},
        {"period_end", run->period_end},
        {"generated_at", run->generated_at},
        {"time_zone", run->time_zone},
        {"period", run->period_label},
        {"principals", run->principals},
        {"tool_version", run->tool_version},
    };
    dr_plugin_status st;

    if ((st = write_text(h, h->pretty ? "{\n" : "{")) != DR_PLUGIN_OK)
        return st;
    for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++)
        if ((st = write_head_string(h, fields[i].key, fields[i].value)) != DR_PLUGIN_OK)
            return st;

    if ((st = write_text(h, h->pretty ? "  \"columns\": [" : "\"columns\":[")) != DR_PLUGIN_OK)
        return st;
    size_t nfact = h->view.nfact, ncols = nfact + (h->names ? JSON_NNAME_COLUMNS : 0);
    for (size_t i = 0; i < ncols; i++) {
        json_object *col =
            column_object(i < nfact ? &args->columns[i] : &json_name_columns[i - nfact]);
        if (col == NULL)
            return out_of_memory(h);
        if ((i == 0 || (st = write_text(h, ",")) == DR_PLUGIN_OK) &&
            (!h->pretty || (st = write_text(h, "\n    ")) == DR_PLUGIN_OK))
            st = write_json(h, col, JSON_ITEM_INDENT);
        json_object_put(col);
        if (st != DR_PLUGIN_OK)
            return st;
    }
    if (h->pretty && ncols > 0 && (st = write_text(h, "\n  ")) != DR_PLUGIN_OK)
        return st;
    return write_text(h, h->pretty ? "],\n  \"rows\": [" : "],\"rows\":[");
}

/* Parse this plugin's options into @p handle (a json_handle): from open, and on a zeroed
   scratch handle from check_options (dr_pc_check_options). */
static dr_plugin_status parse_options(const dr_open_args *args, void *handle)
{
    json_handle *h = handle;
    const char *ndjson_val = NULL, *pretty_val = NULL; /* as given, for the message */

    for (size_t i = 0; i < args->noptions; i++) {
        const char *key = args->options[i].key;
        const char *val = args->options[i].value;
        dr_plugin_status st;

        if (key == NULL) {
            return dr_plugin_error(args, DR_PLUGIN_EOPTION, "invalid json option: missing key");
        } else if (strcmp(key, "ndjson") == 0) {
            if ((st = dr_pc_option_bool(args, "json", key, val, &h->ndjson)) != DR_PLUGIN_OK)
                return st;
            ndjson_val = val;
        } else if (strcmp(key, "pretty") == 0) {
            if ((st = dr_pc_option_bool(args, "json", key, val, &h->pretty)) != DR_PLUGIN_OK)
                return st;
            pretty_val = val;
        } else if (strcmp(key, "names") == 0) {
            if ((st = dr_pc_option_bool(args, "json", key, val, &h->names)) != DR_PLUGIN_OK)
                return st;
        } else {
            return dr_plugin_error(args, DR_PLUGIN_EOPTION,
                                   "unknown option 'json.%s': expected json.ndjson, json.pretty "
                                   "or json.names",
                                   key);
        }
    }
    if (h->ndjson && h->pretty)
        return dr_plugin_error(args, DR_PLUGIN_EOPTION,
                               "invalid json.pretty '%s' with json.ndjson '%s': NDJSON has "
                               "one row a line, so expected json.pretty=false",
                               dr_pc_shown(pretty_val), dr_pc_shown(ndjson_val));
    return DR_PLUGIN_OK;
}

/* Row objects take the column names as constant keys, so they must be unique: the @p nfact
   fact columns written, and the name columns after them when @p names. */
static dr_plugin_status check_columns(const dr_open_args *args, size_t nfact, bool names)
{
    for (size_t i = 0; i < nfact; i++) {
        const char *name = args->columns[i].name;
        if (name == NULL)
            return dr_plugin_error(args, DR_PLUGIN_EFAIL, "json: column %zu has no name", i + 1);
        for (size_t j = 0; j < i; j++)
            if (strcmp(args->columns[j].name, name) == 0)
                return dr_plugin_error(args, DR_PLUGIN_EFAIL,
                                       "json: column name '%s' appears twice: expected unique "
                                       "names to key the row objects",
                                       name);
        for (size_t j = 0; names && j < JSON_NNAME_COLUMNS; j++)
            if (strcmp(json_name_columns[j].name, name) == 0)
                return dr_plugin_error(args, DR_PLUGIN_EFAIL,
                                       "json: column name '%s' is also one of json.names=true: "
                                       "expected unique names to key the row objects",
                                       name);
    }
    return DR_PLUGIN_OK;
}

static void json_destroy(void *handle)
{
    json_handle *h = handle;

    if (h == NULL)
        return;
    dr_pc_file_discard(&h->out); /* failure path: the host removes the temp file */
    free(h);
}

static dr_plugin_status json_open(const dr_open_args *args, void **handle)
{
    dr_plugin_status st;
    json_handle *h = NULL;

    if ((st = dr_pc_check_open(args, handle, "json")) != DR_PLUGIN_OK)
        return st;
    /* the head writes every field of the 1.0 dr_run_info: the host's must hold the last */
    if (args->run == NULL || args->run->abi_major != DR_PLUGIN_ABI_MAJOR ||
        !DR_HAS_FIELD(args->run, dr_run_info, tool_version)) {
        st = dr_plugin_error(args, DR_PLUGIN_EFAIL,
                             "json: host run metadata missing or older than ABI %d.0 (%zu bytes)",
                             DR_PLUGIN_ABI_MAJOR,
                             offsetof(dr_run_info, tool_version) + sizeof args->run->tool_version);
        goto cleanup;
    }
    if (args->path == NULL || (args->ncolumns > 0 && args->columns == NULL) ||
        (args->noptions > 0 && args->options == NULL)) {
        st = dr_plugin_error(args, DR_PLUGIN_EFAIL,
                             "json: open arguments without path, columns or options");
        goto cleanup;
    }
    h = calloc(1, sizeof *h);
    if (h == NULL) {
        st = dr_plugin_error(args, DR_PLUGIN_ENOMEM, "json: out of memory");
        goto cleanup;
    }
    h->args = args;

    st = parse_options(args, h);
    if (st != DR_PLUGIN_OK)
        goto cleanup;
    if ((st = dr_pc_view_init(&h->view, args, "json")) != DR_PLUGIN_OK ||
        (st = check_columns(args, h->view.nfact, h->names)) != DR_PLUGIN_OK)
        goto cleanup;
    if (h->names)
        h->tenant_name = dr_pc_view_tenant_name(&h->view, args, h->tenant_buf,
                                                sizeof h->tenant_buf);
    /* '/' needs no escape in JSON; leaving it keeps URLs and paths readable */
    h->flags = JSON_C_TO_STRING_NOSLASHESCAPE |
               (h->pretty ? JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED
                          : JSON_C_TO_STRING_PLAIN);

    st = dr_pc_file_open(&h->out, args, "json", "JSON", JSON_IOBUF_SIZE);
    if (st != DR_PLUGIN_OK)
        goto cleanup;

    if (!h->ndjson && (st = write_head(h)) != DR_PLUGIN_OK)
        goto cleanup;

    *handle = h;
    h = NULL;

cleanup:
    json_destroy(h);
    return st;
}

/* The JSON value of one database value; *out stays NULL for SQL NULL (JSON null). */
static dr_plugin_status value_json(json_handle *h, const dr_column *col, const dr_value *v,
                                   json_object **out)
{
    *out = NULL;
    if (v->is_null)
        return DR_PLUGIN_OK;
    if (v->text == NULL)
        return dr_plugin_error(h->args, DR_PLUGIN_EFAIL, "json: column %s has no text for a value",
                               col->name);
    switch (col->type) {
    case DR_TYPE_INT64:
        *out = json_object_new_int64(v->i64);
        break;
    case DR_TYPE_BOOLEAN:
        *out = json_object_new_boolean(v->i64 != 0);
        break;
    case DR_TYPE_DECIMAL:
        if (!is_json_number(v->text))
            return dr_plugin_error(h->args, DR_PLUGIN_EFAIL,
                                   "json: column %s holds '%.40s', which is not a JSON number "
                                   "(expected digits with an optional sign and point)",
                                   col->name, v->text);
        *out = json_object_new_double_s(v->f64, v->text); /* serialized as v->text verbatim */
        break;
    case DR_TYPE_TEXT:
    case DR_TYPE_UUID:
    case DR_TYPE_TIMESTAMP:
    default:
        if (v->len > (size_t)INT_MAX)
            return dr_plugin_error(h->args, DR_PLUGIN_EFAIL,
                                   "json: a value of column %s is %zu bytes: at most %d fit",
                                   col->name, v->len, INT_MAX);
        *out = json_object_new_string_len(v->text, (int)v->len);
        break;
    }
    return *out != NULL ? DR_PLUGIN_OK : out_of_memory(h);
}

static dr_plugin_status json_row(void *handle, const dr_value *values)
{
    json_handle *h = handle;
    dr_plugin_status st = DR_PLUGIN_OK;
    json_object *row = NULL;

    if (h == NULL)
        return DR_PLUGIN_EFAIL;
    if (h->out.fp == NULL)
        return dr_plugin_error(h->args, DR_PLUGIN_EFAIL, "json: row after end for '%s'",
                               dr_pc_shown(h->args->path));
    if (values == NULL && h->args->ncolumns > 0)
        return dr_plugin_error(h->args, DR_PLUGIN_EFAIL, "json: row without values");

    const dr_column *cols = h->args->columns;
    size_t n = h->view.nfact;

    if (!dr_pc_view_is_fact(&h->view, values))
        return DR_PLUGIN_OK; /* gone and total rows are the view's, not the fact table's */
    row = json_object_new_object();
    if (row == NULL)
        return out_of_memory(h);
    for (size_t i = 0; i < n; i++) {
        json_object *val;
        if ((st = value_json(h, &cols[i], &values[i], &val)) != DR_PLUGIN_OK)
            goto cleanup;
        if (object_add(row, cols[i].name, val) != 0) {
            st = out_of_memory(h);
            goto cleanup;
        }
    }
    if (h->names) {
        char buf[DR_PC_NAME_SIZE];
        const char *name[JSON_NNAME_COLUMNS] = {
            dr_pc_view_principal_name(&h->view, values, buf, sizeof buf), h->tenant_name};
        for (size_t i = 0; i < JSON_NNAME_COLUMNS; i++) {
            json_object *val = NULL;
            if ((name[i] != NULL && (val = json_object_new_string(name[i])) == NULL) ||
                object_add(row, json_name_columns[i].name, val) != 0) {
                st = out_of_memory(h);
                goto cleanup;
            }
        }
    }

    if (h->ndjson) {
        if ((st = write_json(h, row, 0)) == DR_PLUGIN_OK)
            st = write_bytes(h, "\n", 1);
    } else if ((h->nrows == 0 || (st = write_bytes(h, ",", 1)) == DR_PLUGIN_OK) &&
               (st = write_text(h, h->pretty ? "\n    " : "\n")) == DR_PLUGIN_OK) {
        st = write_json(h, row, JSON_ITEM_INDENT);
    }
    if (st == DR_PLUGIN_OK)
        h->nrows++;

cleanup:
    json_object_put(row);
    return st;
}

static dr_plugin_status json_end(void *handle)
{
    json_handle *h = handle;
    dr_plugin_status st = DR_PLUGIN_OK, closed;

    if (h == NULL)
        return DR_PLUGIN_EFAIL;
    if (h->out.fp == NULL)
        return dr_plugin_error(h->args, DR_PLUGIN_EFAIL, "json: end called twice for '%s'",
                               dr_pc_shown(h->args->path));

    if (!h->ndjson) {
        if (h->nrows > 0)
            st = write_text(h, h->pretty ? "\n  " : "\n");
        if (st == DR_PLUGIN_OK)
            st = write_text(h, h->pretty ? "]\n}\n" : "]}\n");
    }

    /* an error of closing, if any, is the one reported */
    closed = dr_pc_file_close(&h->out, h->args, "JSON");
    return closed != DR_PLUGIN_OK ? closed : st;
}

/* ABI 1.1: the host checks options before any work; open() parses them again. */
static dr_plugin_status json_check_options(const dr_open_args *args)
{
    return dr_pc_check_options(args, "json", sizeof(json_handle), parse_options);
}

/* ABI 1.3: only names=true needs the report view (its names). */
static int json_wants_view(const dr_open_args *args)
{
    return dr_pc_option_is_true(args, "names");
}

static const dr_plugin json_descriptor = {
    .abi_major = DR_PLUGIN_ABI_MAJOR,
    .size = sizeof(dr_plugin),
    .name = "json",
    .version = "1.0.0",
    .description = "JSON document (or NDJSON with json.ndjson=true); decimals as exact numbers",
    .extension = "json",
    .option_keys = json_option_keys,
    .open = json_open,
    .row = json_row,
    .end = json_end,
    .destroy = json_destroy,
    .check_options = json_check_options,
    .flags = DR_PLUGIN_WANTS_VIEW, /* ABI 1.2: for names=true; the rest ignores the view */
    .wants_view = json_wants_view, /* ABI 1.3 */
};

DR_PLUGIN_EXPORT const dr_plugin *dr_plugin_entry(void)
{
    return &json_descriptor;
}
