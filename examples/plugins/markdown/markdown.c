/*
 * A complete dynoreport output plugin: writes the report as Markdown.
 *
 * With a host of ABI 1.0 or 1.1 (or one that has no report view) it writes the fact table
 * as it comes: one table row per report row, the column names (or labels) as the header.
 *
 * It also asks for the report view (ABI 1.2: DR_PLUGIN_WANTS_VIEW in .flags). A 1.2 host
 * then appends the view's columns (names, rank, the comparison period's values) and sends,
 * after the fact rows, the principals gone since the comparison period and one total row
 * per principal type. The plugin writes a report for people instead: a title with the
 * tenant's name and the period in words, then reps and teams in separate tables, ranked,
 * with names, each table closed by its total row, and the comparison period's amount won
 * beside this one with the change.
 *
 * Build it on its own, with nothing but the public header:
 *     cc -std=c11 -Wall -Wextra -fPIC -shared -I/usr/include -o markdown.so markdown.c
 * then drop markdown.so into a directory and run
 *     dynoreport run ... --plugin-dir DIR --format markdown
 */
#include <dynoreport/plugin.h>

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

/* One principal or total row of the view, kept until end() writes the ranked tables. */
typedef struct md_entry {
    char *type;           /* principal_type */
    char *name;           /* principal_name */
    char *created, *won;  /* deals_created_count, deals_closed_won_count ("" for NULL) */
    char *win_rate;       /* win_rate as written: "66.67%" ("" for NULL) */
    char *amount;         /* total_amount_won ("" for NULL) */
    char *prev_amount;    /* prev_total_amount_won ("" for NULL) */
    char *change;         /* amount - prev_amount, "new", or "" */
    long long rank;       /* 0: none (totals) */
    int is_total, is_gone;
} md_entry;

/* Where the columns the view report shows are in each row. */
typedef struct md_cols {
    size_t type, created, won, win_rate, amount;  /* fact columns */
    size_t kind, name, rank, is_new, prev_amount; /* view columns */
} md_cols;

/* Everything the plugin needs lives in its handle: no globals. */
typedef struct md_handle {
    const dr_open_args *args;     /* valid until destroy: used to report errors */
    FILE *out;
    int labels;                   /* option markdown.labels=true: header shows labels */
    const dr_report_view *view;   /* ABI 1.2: the report view, or NULL */
    md_cols col;
    md_entry *entries;            /* view rows, kept for the ranked tables */
    size_t nentries, capacity;
} md_handle;

static const char *const md_option_keys[] = {"labels", NULL};

/* Text in a table or a heading: '|' and line breaks would break it, so they are escaped. */
static int md_inline(FILE *out, const char *text)
{
    for (const char *p = text; p && *p; p++) {
        int rc = *p == '|' ? fputs("\\|", out) : (*p == '\n' || *p == '\r') ? fputs(" ", out)
                                                                            : fputc(*p, out);
        if (rc == EOF)
            return -1;
    }
    return 0;
}

/* One cell of a table row. */
static int md_cell(FILE *out, const char *text)
{
    if (fputs(" ", out) == EOF || md_inline(out, text) != 0)
        return -1;
    return fputs(" |", out) == EOF ? -1 : 0;
}

/* Option markdown.labels: true or false (default false). */
static dr_plugin_status md_labels(const dr_open_args *args, int *labels)
{
    const char *value = dr_plugin_option(args, "labels");
    if (value && strcmp(value, "true") != 0 && strcmp(value, "false") != 0)
        return dr_plugin_error(args, DR_PLUGIN_EOPTION,
                               "invalid markdown.labels '%s': expected true or false", value);
    *labels = value && strcmp(value, "true") == 0;
    return DR_PLUGIN_OK;
}

/* ABI 1.1: a 1.1 host calls this before it touches the database, so a bad option costs
   nothing. A 1.0 host never calls it: md_open checks the options again. */
static dr_plugin_status md_check(const dr_open_args *args)
{
    int labels;
    return md_labels(args, &labels);
}

/* ---- the view (ABI 1.2) ---- */

#define MD_NO_COLUMN ((size_t)-1)

/* Index of the column called @p name among [from, to), or MD_NO_COLUMN. */
static size_t md_column(const dr_open_args *args, size_t from, size_t to, const char *name)
{
    for (size_t i = from; i < to; i++)
        if (strcmp(args->columns[i].name, name) == 0)
            return i;
    return MD_NO_COLUMN;
}

/* Find the columns of the view report; 0, or -1 with an error in args->errbuf. */
static int md_find_columns(const dr_open_args *args, const dr_report_view *view, md_cols *c)
{
    size_t nfact = view->nfact_columns, n = args->ncolumns;
    struct {
        size_t *slot;
        const char *name;
        int in_view;
    } want[] = {
        {&c->type, "principal_type", 0}, {&c->created, "deals_created_count", 0},
        {&c->won, "deals_closed_won_count", 0}, {&c->win_rate, "win_rate", 0},
        {&c->amount, "total_amount_won", 0}, {&c->kind, "row_kind", 1},
        {&c->name, "principal_name", 1}, {&c->rank, "rank", 1}, {&c->is_new, "is_new", 1},
        {&c->prev_amount, "prev_total_amount_won", 1},
    };
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        *want[i].slot = want[i].in_view ? md_column(args, nfact, n, want[i].name)
                                        : md_column(args, 0, nfact, want[i].name);
        if (*want[i].slot == MD_NO_COLUMN) {
            dr_plugin_error(args, DR_PLUGIN_EFAIL, "markdown: the report view has no column %s",
                            want[i].name);
            return -1;
        }
    }
    return 0;
}

/* An exact decimal text with at most @p scale digits after the point, in units of
   10^-scale; 0, or -1 when it is not one (or does not fit). */
static int md_scaled(const char *text, int scale, int64_t *out)
{
    const char *p = text;
    int neg = *p == '-', digits = -1;
    int64_t v = 0;
    if (neg || *p == '+')
        p++;
    if (*p < '0' || *p > '9')
        return -1;
    for (; *p; p++) {
        if (*p == '.' && digits < 0) {
            digits = 0;
            continue;
        }
        if (*p < '0' || *p > '9' || digits == scale || v > (INT64_MAX - 9) / 10)
            return -1;
        v = v * 10 + (*p - '0');
        if (digits >= 0)
            digits++;
    }
    for (digits = digits < 0 ? 0 : digits; digits < scale; digits++) {
        if (v > INT64_MAX / 10)
            return -1;
        v *= 10;
    }
    *out = neg ? -v : v;
    return 0;
}

/* A copy of @p s (NULL: ""), or NULL when out of memory. */
static char *md_copy(const char *s)
{
    size_t n = s ? strlen(s) : 0;
    char *c = malloc(n + 1);
    if (c != NULL) {
        if (n > 0)
            memcpy(c, s, n);
        c[n] = '\0';
    }
    return c;
}

static const char *md_text(const dr_value *v)
{
    return v->is_null ? NULL : v->text;
}

/* The win rate, a fraction with 4 digits, as a percentage: "0.6667" -> "66.67%". */
static char *md_percent(const dr_value *v)
{
    int64_t r;
    char buf[48];
    if (v->is_null || md_scaled(v->text, 4, &r) != 0)
        return md_copy(md_text(v));
    int64_t a = r < 0 ? -r : r;
    snprintf(buf, sizeof buf, "%s%" PRId64 ".%02" PRId64 "%%", r < 0 ? "-" : "", a / 100, a % 100);
    return md_copy(buf);
}

/* The change of the amount won: "+12.50", "-3.00", "0.00"; "new" for a new principal,
   "" when there is nothing to compare with. Exact: both are decimals of scale 2. */
static char *md_change(const dr_value *amount, const dr_value *prev, const dr_value *is_new)
{
    int64_t a, b;
    char buf[48];
    if (!is_new->is_null && is_new->i64)
        return md_copy("new");
    if (amount->is_null || prev->is_null || md_scaled(amount->text, 2, &a) != 0 ||
        md_scaled(prev->text, 2, &b) != 0 || (b > 0 && a < INT64_MIN + b) ||
        (b < 0 && a > INT64_MAX + b))
        return md_copy("");
    int64_t d = a - b, m = d < 0 ? -d : d;
    snprintf(buf, sizeof buf, "%s%" PRId64 ".%02" PRId64, d > 0 ? "+" : d < 0 ? "-" : "",
             m / 100, m % 100);
    return md_copy(buf);
}

static void md_entry_free(md_entry *e)
{
    free(e->type);
    free(e->name);
    free(e->created);
    free(e->won);
    free(e->win_rate);
    free(e->amount);
    free(e->prev_amount);
    free(e->change);
}

/* Keep the fields of one view row; DR_PLUGIN_ENOMEM when out of memory. */
static dr_plugin_status md_keep(md_handle *h, const dr_value *v)
{
    const md_cols *c = &h->col;
    const char *kind = md_text(&v[c->kind]);
    if (kind == NULL || (strcmp(kind, DR_ROW_PRINCIPAL) != 0 && strcmp(kind, DR_ROW_GONE) != 0 &&
                         strcmp(kind, DR_ROW_TOTAL) != 0))
        return DR_PLUGIN_OK; /* a kind of a later version: not for this report */
    if (h->nentries == h->capacity) {
        size_t cap = h->capacity ? h->capacity * 2 : 64;
        md_entry *p = realloc(h->entries, cap * sizeof *p);
        if (p == NULL)
            return dr_plugin_error(h->args, DR_PLUGIN_ENOMEM, "markdown: out of memory");
        h->entries = p;
        h->capacity = cap;
    }
    md_entry e = {
        .type = md_copy(md_text(&v[c->type])),
        .name = md_copy(md_text(&v[c->name])),
        .created = md_copy(md_text(&v[c->created])),
        .won = md_copy(md_text(&v[c->won])),
        .win_rate = md_percent(&v[c->win_rate]),
        .amount = md_copy(md_text(&v[c->amount])),
        .prev_amount = md_copy(md_text(&v[c->prev_amount])),
        .change = md_change(&v[c->amount], &v[c->prev_amount], &v[c->is_new]),
        .rank = v[c->rank].is_null ? 0 : v[c->rank].i64,
        .is_total = kind != NULL && strcmp(kind, DR_ROW_TOTAL) == 0,
        .is_gone = kind != NULL && strcmp(kind, DR_ROW_GONE) == 0,
    };
    if (!e.type || !e.name || !e.created || !e.won || !e.win_rate || !e.amount ||
        !e.prev_amount || !e.change) {
        md_entry_free(&e);
        return dr_plugin_error(h->args, DR_PLUGIN_ENOMEM, "markdown: out of memory");
    }
    h->entries[h->nentries++] = e;
    return DR_PLUGIN_OK;
}

/* Rank order within a table: by rank (the host's: amount won, then deals won, name, id),
   the total row last. */
static int md_by_rank(const void *pa, const void *pb)
{
    const md_entry *a = pa, *b = pb;
    if (a->is_total != b->is_total)
        return a->is_total - b->is_total;
    if (a->rank != b->rank)
        return a->rank < b->rank ? -1 : 1;
    return strcmp(a->name, b->name);
}

/* The table of one principal type: header, its principals by rank, its total row. */
static int md_table(md_handle *h, const char *type, const char *title)
{
    const dr_report_view *view = h->view;
    int compare = strcmp(view->compare, "none") != 0;
    FILE *out = h->out;
    int bad = 0, total = 0, any = 0;
    char amount[64], prev[160];

    for (size_t i = 0; i < h->nentries && !any; i++)
        any = strcmp(h->entries[i].type, type) == 0;
    if (!any)
        return 0; /* no table for a type without rows */

    snprintf(amount, sizeof amount, "Amount won%s%s%s", view->currency[0] ? " (" : "",
             view->currency, view->currency[0] ? ")" : "");
    snprintf(prev, sizeof prev, "Amount won, %s", view->compare_title);
    bad |= fputs("\n## ", out) == EOF || md_inline(out, title) != 0 ||
           fputs("\n\n|", out) == EOF;
    const char *head[] = {"Rank", "Name", "Deals created", "Deals won", "Win rate", amount,
                          prev, "Change"};
    size_t nhead = compare ? 8 : 6;
    for (size_t i = 0; i < nhead && !bad; i++)
        bad = md_cell(out, head[i]);
    bad = bad || fputs("\n|", out) == EOF;
    for (size_t i = 0; i < nhead && !bad; i++)
        bad = fputs(i == 1 ? " --- |" : " ---: |", out) == EOF;
    bad = bad || fputs("\n", out) == EOF;

    for (size_t i = 0; i < h->nentries && !bad; i++) {
        const md_entry *e = &h->entries[i];
        char rank[32], name[512];
        if (strcmp(e->type, type) != 0)
            continue;
        total |= e->is_total;
        rank[0] = '\0';
        if (!e->is_total)
            snprintf(rank, sizeof rank, "%lld", e->rank);
        snprintf(name, sizeof name, e->is_total ? "**%s**" : e->is_gone ? "%s (gone)" : "%s",
                 e->name);
        const char *cells[] = {rank, name, e->created, e->won, e->win_rate, e->amount,
                               e->prev_amount, e->change};
        bad = fputs("|", out) == EOF;
        for (size_t c = 0; c < nhead && !bad; c++)
            bad = md_cell(out, cells[c]);
        bad = bad || fputs("\n", out) == EOF;
    }
    if (total && !bad)
        bad = fputs("\nThe total counts each deal once, so it is not the sum of the rows above "
                    "(a deal can belong to several).\n", out) == EOF;
    return bad ? -1 : 0;
}

/* The report for people: the ranked tables, reps first, then teams, then any other type. */
static int md_view_report(md_handle *h)
{
    qsort(h->entries, h->nentries, sizeof *h->entries, md_by_rank);
    if (md_table(h, "USER", "Reps") != 0 || md_table(h, "GROUP", "Teams") != 0)
        return -1;
    for (size_t i = 0; i < h->nentries; i++) {
        const char *type = h->entries[i].type;
        int seen = strcmp(type, "USER") == 0 || strcmp(type, "GROUP") == 0;
        for (size_t j = 0; j < i && !seen; j++)
            seen = strcmp(h->entries[j].type, type) == 0;
        char title[160];
        snprintf(title, sizeof title, "Principals of type %s", type[0] ? type : "(none)");
        if (!seen && md_table(h, type, title) != 0)
            return -1;
    }
    return 0;
}

/* ---- the callbacks ---- */

static dr_plugin_status md_write_error(const md_handle *h)
{
    return dr_plugin_error(h->args, DR_PLUGIN_EIO, "cannot write '%s': %s", h->args->path,
                           strerror(errno));
}

static void md_destroy(void *handle)
{
    md_handle *h = handle;
    if (h == NULL)
        return;
    if (h->out)
        fclose(h->out);
    for (size_t i = 0; i < h->nentries; i++)
        md_entry_free(&h->entries[i]);
    free(h->entries);
    free(h);
}

static dr_plugin_status md_open(const dr_open_args *args, void **handle)
{
    int labels;
    dr_plugin_status checked = md_labels(args, &labels);
    if (checked != DR_PLUGIN_OK)
        return checked;
    md_handle *h = calloc(1, sizeof *h);
    if (h == NULL)
        return dr_plugin_error(args, DR_PLUGIN_ENOMEM, "out of memory");
    h->args = args;
    h->labels = labels;
    /* ABI 1.2: read the appended field only when the host's struct holds it */
    if (DR_HAS_FIELD(args, dr_open_args, view) && args->view != NULL &&
        args->view->abi_major == DR_PLUGIN_ABI_MAJOR &&
        DR_HAS_FIELD(args->view, dr_report_view, nfact_columns)) {
        h->view = args->view;
        if (md_find_columns(args, h->view, &h->col) != 0) {
            free(h);
            return DR_PLUGIN_EFAIL;
        }
    }
    h->out = fopen(args->path, "wb");
    if (h->out == NULL) {
        dr_plugin_status st = dr_plugin_error(args, DR_PLUGIN_EIO, "cannot open '%s': %s",
                                              args->path, strerror(errno));
        free(h);
        return st;
    }
    int bad;
    if (h->view != NULL) {
        /* the title now; the ranked tables follow in md_end */
        const dr_report_view *v = h->view;
        int compare = strcmp(v->compare, "none") != 0;
        bad = fprintf(h->out, "# %s: %s, %s (%s)\n\n%s%s%s\n", args->run->report,
                      v->tenant_name, v->period_title, args->run->time_zone,
                      compare ? "Compared with " : "No comparison period.",
                      compare ? v->compare_title : "", compare ? "." : "") < 0;
    } else {
        bad = fprintf(h->out, "# %s %s (%s)\n\n|", args->run->report, args->run->period_label,
                      args->run->time_zone) < 0;
        for (size_t i = 0; i < args->ncolumns && !bad; i++)
            bad = md_cell(h->out, h->labels ? args->columns[i].label : args->columns[i].name);
        bad = bad || fputs("\n|", h->out) == EOF;
        for (size_t i = 0; i < args->ncolumns && !bad; i++) {
            dr_type t = args->columns[i].type;
            int numeric = t == DR_TYPE_INT64 || t == DR_TYPE_DECIMAL;
            bad = fputs(numeric ? " ---: |" : " --- |", h->out) == EOF;
        }
        bad = bad || fputs("\n", h->out) == EOF;
    }
    if (bad) {
        dr_plugin_status st = md_write_error(h);
        md_destroy(h);
        return st;
    }
    *handle = h;
    return DR_PLUGIN_OK;
}

static dr_plugin_status md_row(void *handle, const dr_value *values)
{
    md_handle *h = handle;
    if (h->view != NULL)
        return md_keep(h, values); /* a ranked table needs all its rows: written in md_end */
    int bad = fputs("|", h->out) == EOF;
    for (size_t i = 0; i < h->args->ncolumns && !bad; i++)
        bad = md_cell(h->out, values[i].is_null ? "" : values[i].text) != 0;
    if (bad || fputs("\n", h->out) == EOF)
        return md_write_error(h);
    return DR_PLUGIN_OK;
}

static dr_plugin_status md_end(void *handle)
{
    md_handle *h = handle;
    int bad = h->view != NULL && md_view_report(h) != 0;
    bad |= fflush(h->out) != 0 || ferror(h->out);
    bad |= fclose(h->out) != 0;
    h->out = NULL;
    if (bad)
        return dr_plugin_error(h->args, DR_PLUGIN_EIO, "cannot finish '%s': %s", h->args->path,
                               strerror(errno));
    return DR_PLUGIN_OK;
}

static const dr_plugin md_plugin = {
    .abi_major = DR_PLUGIN_ABI_MAJOR,
    .size = sizeof(dr_plugin),
    .name = "markdown",
    .version = "1.0.0",
    .description = "Markdown table (example plugin from docs/plugin-sdk.md)",
    .extension = "md",
    .option_keys = md_option_keys,
    .open = md_open,
    .row = md_row,
    .end = md_end,
    .destroy = md_destroy,
    .check_options = md_check,     /* ABI 1.1: appended, optional */
    .flags = DR_PLUGIN_WANTS_VIEW, /* ABI 1.2: appended; a 1.0/1.1 host never reads it */
};

DR_PLUGIN_EXPORT const dr_plugin *dr_plugin_entry(void)
{
    return &md_plugin;
}
