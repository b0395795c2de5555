/*
 * plugin_feed: drive one output plugin with a FIXED synthetic run, so its output is
 * byte-stable and can be compared with a golden file (tests/golden/).
 *
 *   plugin_feed [--repeat N] [--view] [--principals N] [--host-abi 1.1]
 *               PLUGIN.so OUTPUT [KEY=VALUE ...]
 *
 * Loads PLUGIN.so the way the host does (dlopen RTLD_NOW|RTLD_LOCAL, the entry symbol,
 * ABI major and size checks), opens it on OUTPUT with the report's 13 columns
 * (core/report.c) and a fixed run, feeds it the fixed rows below (values built from
 * their text by the host's own dr_value_from_text) N times (default 1), then ends it.
 * KEY=VALUE are the plugin's options; a leading "FORMAT." is removed, so both
 * csv.delimiter=semicolon and delimiter=semicolon work.
 *
 * The rows cover: NULL in every type, zeros, 0.00, negative average days, amounts and
 * counts past what a double or an int32 keeps exactly, and text with quotes,
 * backslashes, control characters, newlines, non-ASCII and formula-like starts.
 *
 * --view acts as an ABI 1.2 host that has a report view: when the plugin's descriptor has
 *   flags (DR_PLUGIN_HAS(d, flags)) with DR_PLUGIN_WANTS_VIEW, it is opened with a fixed
 *   dr_report_view (feed_view) and the 13 fact columns followed by the DR_VIEW_NCOLUMNS view
 *   columns of plugin.h (feed_view_columns), and fed the fact rows extended with their view
 *   values, then one "gone" row, then one "total" row per principal type (GROUP, USER:
 *   principal_id NULL, totals that are not the sum of the rows). --repeat repeats the fact
 *   rows only. A plugin without the flag gets exactly what it gets without --view (the 13
 *   columns and the fact rows), as a 1.2 host would give it; so does one whose wants_view
 *   (ABI 1.3) says that its options need no view, as a 1.3 host would.
 * --principals N (1..9999) replaces the fixed rows by a synthetic run of N users named
 *   "Rep 01 Müller" ... (amounts falling with the rank, with ties; some new, a few gone,
 *   one long name, one fallback name) and N/10+1 teams (the sums of their reps; a team of
 *   new reps only is new), for layout and print tests. Gone
 *   users are view rows: without the view a plugin gets the other users' and the teams'
 *   fact rows only.
 * --host-abi 1.1 passes a dr_open_args of ABI 1.1's size (no view field), as an older host
 *   would; --view has no effect then.
 *
 * OUTPUT may be a device such as /dev/full to test write errors; only a regular file is
 * removed after a failure.
 *
 * Exit status: 0 ok; 64 the plugin refused an option; 74 I/O error; 70 other plugin
 * failure; 2 usage or the plugin could not be loaded. Messages go to stderr.
 */
#include <dlfcn.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <dynoreport/plugin.h>

#include "report.h"

#define FEED_MAX_OPTIONS 64

/* NULL is SQL NULL. Column order as in core/report.c. */
static const char *const feed_rows[][DR_REPORT_NCOLS] = {
    /* a group with a won deal of NULL amount: 0.00 average; closed before created */
    {"3f2504e0-4f89-41d3-9a0c-0305e82c3301", "7c9e6679-7425-40de-944b-e07fc1f90ae7", "GROUP",
     "0b9f7a3c-0000-4000-8000-000000000001", "2026-10-01T00:00:00-04:00",
     "2026-11-01T00:00:00-04:00", "3", "1", "1", "0.00", "0.00", "-0.5000", "0.5000"},
    /* a principal asked for explicitly with no deals: zeros and NULLs */
    {"3f2504e0-4f89-41d3-9a0c-0305e82c3301", "7c9e6679-7425-40de-944b-e07fc1f90ae7", "GROUP",
     "0b9f7a3c-0000-4000-8000-000000000002", "2026-10-01T00:00:00-04:00",
     "2026-11-01T00:00:00-04:00", "0", "0", "0", "0.00", NULL, NULL, NULL},
    /* the largest numeric(14,2); a count past int32 */
    {"3f2504e0-4f89-41d3-9a0c-0305e82c3301", "7c9e6679-7425-40de-944b-e07fc1f90ae7", "USER",
     "1a2b3c4d-0000-4000-8000-000000000003", "2026-10-01T00:00:00-04:00",
     "2026-11-01T00:00:00-04:00", "2147483648", "3", "0", "999999999999.99",
     "333333333333.33", "12345.6789", "1.0000"},
    /* sums a double would print as 123456789012.35001 or so; 2/3 win rate */
    {"3f2504e0-4f89-41d3-9a0c-0305e82c3301", "7c9e6679-7425-40de-944b-e07fc1f90ae7", "USER",
     "1a2b3c4d-0000-4000-8000-000000000004", "2026-10-01T00:00:00-04:00",
     "2026-11-01T00:00:00-04:00", "7", "2", "1", "123456789012.35", "61728394506.18", "0.0001",
     "0.6667"},
    /* text that needs escaping; microseconds and a +05:30 offset */
    {"3f2504e0-4f89-41d3-9a0c-0305e82c3301", "7c9e6679-7425-40de-944b-e07fc1f90ae7",
     "Quote \" back\\slash /slash\nnew line\r\ttab \x01 caf\xc3\xa9 \xe6\x97\xa5\xe6\x9c\xac "
     "\xf0\x9f\x98\x80 \xe2\x80\xa8",
     "1a2b3c4d-0000-4000-8000-000000000005", "2026-10-01T09:30:00.000001+05:30",
     "2026-11-01T09:30:00.5+05:30", "1", "0", "1", "0.10", "0.10", "-12.3400", "0.0000"},
    /* formula-like text (escaped in CSV); a negative amount (never escaped: a number) */
    {"3f2504e0-4f89-41d3-9a0c-0305e82c3301", "7c9e6679-7425-40de-944b-e07fc1f90ae7",
     "=HYPERLINK(\"http://example.com\",\"x\")", "1a2b3c4d-0000-4000-8000-000000000006",
     "2026-10-01T00:00:00-04:00", "2026-11-01T00:00:00-04:00", "9223372036854775807", "1", "0",
     "-42.50", "-42.50", "0.0000", "1.0000"},
    /* NULL in every column the host could hand over as NULL; empty text */
    {"3f2504e0-4f89-41d3-9a0c-0305e82c3301", "7c9e6679-7425-40de-944b-e07fc1f90ae7", "", NULL,
     NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL},
};

#define FEED_NROWS (sizeof feed_rows / sizeof feed_rows[0])

/* The view columns a 1.2 host appends (plugin.h, DR_VIEW_NCOLUMNS), in their order. */
static const dr_column feed_view_columns[DR_VIEW_NCOLUMNS] = {
    {"row_kind", "Row kind", DR_TYPE_TEXT, 0},
    {"principal_name", "Name", DR_TYPE_TEXT, 0},
    {"rank", "Rank", DR_TYPE_INT64, 0},
    {"is_new", "New", DR_TYPE_BOOLEAN, 0},
    {"prev_deals_created", "Deals created (previous)", DR_TYPE_INT64, 0},
    {"prev_deals_won", "Deals won (previous)", DR_TYPE_INT64, 0},
    {"prev_total_amount_won", "Total amount won (previous)", DR_TYPE_DECIMAL, 2},
    {"prev_win_rate", "Win rate (previous)", DR_TYPE_DECIMAL, 4},
};

#define FEED_NCOLS_VIEW (DR_REPORT_NCOLS + DR_VIEW_NCOLUMNS)

/* The view values of the fixed fact rows, row by row: names with non-ASCII, quotes, a
   delimiter, a formula-like start and one fallback; ranks by amount won within each
   principal type (then deals won); one new principal; NULL in every view type that may be
   NULL (the last row). */
static const char *const feed_view_values[FEED_NROWS][DR_VIEW_NCOLUMNS] = {
    {DR_ROW_PRINCIPAL, "Vertrieb Nord & Ost", "1", "false", "5", "2", "300.00", "0.6667"},
    {DR_ROW_PRINCIPAL, "Team S\xc3\xbc" "d; \"Key Accounts\"", "2", "false", "2", "1", "200.00",
     "1.0000"},
    {DR_ROW_PRINCIPAL, "J\xc3\xb6rg Sch\xc3\xa4" "fer", "1", "true", NULL, NULL, NULL, NULL},
    {DR_ROW_PRINCIPAL, "[user 1a2b3c4d]", "2", "false", "6", "3", "98765.43", "0.5000"},
    {DR_ROW_PRINCIPAL, "Zo\xc3\xab \"Z\" O'Brien-\xc5\x81ukasiewicz", "1", "false", "1", "0",
     "0.00", "0.0000"},
    {DR_ROW_PRINCIPAL, "=SUM(A1:A2)", "1", "false", "1", "1", "10.00", "1.0000"},
    {DR_ROW_PRINCIPAL, "[unknown principal]", "1", NULL, NULL, NULL, NULL, NULL},
};

/* After the fact rows: a user only in the comparison period (zeros now), then one total per
   principal type, each deal counted once (so not the sum of the rows: a deal of two users
   counts once for USER; GROUP's previous values likewise). */
static const char *const feed_view_rows[][FEED_NCOLS_VIEW] = {
    {"3f2504e0-4f89-41d3-9a0c-0305e82c3301", "7c9e6679-7425-40de-944b-e07fc1f90ae7", "USER",
     "1a2b3c4d-0000-4000-8000-000000000008", "2026-10-01T00:00:00-04:00",
     "2026-11-01T00:00:00-04:00", "0", "0", "0", "0.00", NULL, NULL, NULL,
     DR_ROW_GONE, "Gunnar \xc3\x98sterg\xc3\xa5rd", "3", "false", "4", "2", "1500.00", "0.5000"},
    {"3f2504e0-4f89-41d3-9a0c-0305e82c3301", "7c9e6679-7425-40de-944b-e07fc1f90ae7", "GROUP",
     NULL, "2026-10-01T00:00:00-04:00", "2026-11-01T00:00:00-04:00", "3", "1", "1", "0.00",
     "0.00", "-0.5000", "0.5000",
     DR_ROW_TOTAL, "All teams", NULL, NULL, "6", "2", "350.00", "0.6667"},
    {"3f2504e0-4f89-41d3-9a0c-0305e82c3301", "7c9e6679-7425-40de-944b-e07fc1f90ae7", "USER",
     NULL, "2026-10-01T00:00:00-04:00", "2026-11-01T00:00:00-04:00", "2147483652", "4", "1",
     "1100000000000.00", "275000000000.00", "4115.2263", "0.8000",
     DR_ROW_TOTAL, "All reps", NULL, NULL, "9", "4", "99000.00", "0.5714"},
};

#define FEED_NVIEW_ROWS (sizeof feed_view_rows / sizeof feed_view_rows[0])

static const dr_report_view feed_view = {
    .abi_major = DR_PLUGIN_ABI_MAJOR,
    .size = sizeof(dr_report_view),
    .tenant_name = "Acme M\xc3\xb6" "bel GmbH",
    .period_title = "October 2026",
    .compare = "previous",
    .compare_title = "September 2026",
    .compare_start = "2026-09-01T00:00:00-04:00",
    .compare_end = "2026-10-01T00:00:00-04:00",
    .currency = "EUR",
    .nfact_columns = DR_REPORT_NCOLS,
};

static const dr_run_info feed_run = {
    .abi_major = DR_PLUGIN_ABI_MAJOR,
    .size = sizeof(dr_run_info),
    .report = "rep_performance",
    .run_id = "3f2504e0-4f89-41d3-9a0c-0305e82c3301",
    .tenant_id = "7c9e6679-7425-40de-944b-e07fc1f90ae7",
    .period_label = "2026-10",
    .period_start = "2026-10-01T00:00:00-04:00",
    .period_end = "2026-11-01T00:00:00-04:00",
    .time_zone = "America/New_York",
    .generated_at = "2026-11-02T09:15:30.123456-05:00",
    .principals = "all",
    .tool_version = "0.1.0",
};

/* ---- the rows fed: text cells of FEED_NCOLS_VIEW columns ---- */

typedef struct feed_rows_t {
    const char *(*cells)[FEED_NCOLS_VIEW]; /* [nrows][FEED_NCOLS_VIEW]; NULL = SQL NULL */
    size_t nrows, nfact;                   /* the first nfact rows are fact rows */
    char *pool;                            /* text of synthetic rows */
    size_t pool_len, pool_cap;
} feed_rows_t;

static void feed_rows_free(feed_rows_t *t)
{
    free(t->cells);
    free(t->pool);
    memset(t, 0, sizeof *t);
}

/* The fixed rows: the fact rows with their view values, then feed_view_rows. */
static int feed_rows_fixed(feed_rows_t *t)
{
    t->nrows = FEED_NROWS + FEED_NVIEW_ROWS;
    t->nfact = FEED_NROWS;
    t->cells = calloc(t->nrows, sizeof *t->cells);
    if (t->cells == NULL)
        return -1;
    for (size_t r = 0; r < FEED_NROWS; r++) {
        memcpy(t->cells[r], feed_rows[r], sizeof feed_rows[r]);
        memcpy(t->cells[r] + DR_REPORT_NCOLS, feed_view_values[r], sizeof feed_view_values[r]);
    }
    for (size_t r = 0; r < FEED_NVIEW_ROWS; r++)
        memcpy(t->cells[FEED_NROWS + r], feed_view_rows[r], sizeof feed_view_rows[r]);
    return 0;
}

/* ---- --principals N: a synthetic run ---- */

#define SYN_MAX 9999

typedef struct syn_principal {
    int is_user, is_new, is_gone;
    char id[37], name[96];
    long long created, won, lost, cents, days10k; /* current period */
    long long p_created, p_won, p_lost, p_cents;  /* comparison period */
    long long rank;
} syn_principal;

static const char *const syn_surnames[] = {
    "M\xc3\xbcller", "Schmidt", "Schneider", "Fischer", "Weber", "Meyer", "Wagner", "Becker",
    "Schulz", "Hoffmann", "Sch\xc3\xa4" "fer", "Koch", "Bauer", "Richter", "Klein", "Wolf",
    "Schr\xc3\xb6" "der", "Neumann", "Schwarz", "Zimmermann", "Braun", "Kr\xc3\xbcger",
    "Hofmann", "Hartmann", "Lange", "Schmitt", "Werner", "Krause", "Meier", "Lehmann",
    "K\xc3\xb6hler", "Herrmann", "K\xc3\xb6nig", "Walter", "Huber", "Kaiser", "Fuchs", "Peters",
    "Scholz", "M\xc3\xb6ller", "Wei\xc3\x9f", "Jung", "Hahn", "Schubert", "Vogel", "Friedrich",
    "Keller", "G\xc3\xbcnther",
};

static const char *const syn_teams[] = {
    "Nord", "S\xc3\xbc" "d", "West", "Ost", "Mitte", "Rhein-Main", "Bayern", "Hamburg",
    "Berlin", "Sachsen", "\xc3\x96sterreich", "Schweiz",
};

#define NELEMS(a) (sizeof(a) / sizeof((a)[0]))

/* Copy @p text into the pool; the cell is set once the pool no longer moves (offsets). */
static long pool_add(feed_rows_t *t, const char *text)
{
    size_t n = strlen(text) + 1;
    if (t->pool_len + n > t->pool_cap) {
        size_t cap = t->pool_cap ? t->pool_cap * 2 : 4096;
        while (cap < t->pool_len + n)
            cap *= 2;
        char *p = realloc(t->pool, cap);
        if (p == NULL)
            return -1;
        t->pool = p;
        t->pool_cap = cap;
    }
    memcpy(t->pool + t->pool_len, text, n);
    t->pool_len += n;
    return (long)(t->pool_len - n);
}

/* Decimal text of @p num / @p den rounded half up to @p scale (2 or 4) digits; den > 0. */
static void fmt_ratio(char *buf, size_t size, long long num, long long den, int scale)
{
    long long mul = scale == 4 ? 10000 : 100;
    int neg = num < 0;
    long long a = neg ? -num : num;
    long long q = (a * mul * 2 + den) / (den * 2);
    snprintf(buf, size, "%s%lld.%0*lld", neg && q ? "-" : "", q / mul, scale, q % mul);
}

/* amount won desc, deals won desc, name, id: the rank order of plugin.h */
static int syn_rank_cmp(const void *pa, const void *pb)
{
    const syn_principal *a = *(const syn_principal *const *)pa;
    const syn_principal *b = *(const syn_principal *const *)pb;
    if (a->is_user != b->is_user)
        return a->is_user - b->is_user;
    if (a->cents != b->cents)
        return a->cents > b->cents ? -1 : 1;
    if (a->won != b->won)
        return a->won > b->won ? -1 : 1;
    int c = strcmp(a->name, b->name);
    return c ? c : strcmp(a->id, b->id);
}

/* the fact order: principal_type (GROUP before USER), then principal_id */
static int syn_fact_cmp(const void *pa, const void *pb)
{
    const syn_principal *a = *(const syn_principal *const *)pa;
    const syn_principal *b = *(const syn_principal *const *)pb;
    if (a->is_user != b->is_user)
        return a->is_user - b->is_user;
    return strcmp(a->id, b->id);
}

/* Text of the 21 cells of @p p (or of a total when @p p->id is empty) into the pool;
   their offsets into @p off. */
static int syn_cells(feed_rows_t *t, const syn_principal *p, int is_total, long off[])
{
    char buf[FEED_NCOLS_VIEW][64];
    const char *txt[FEED_NCOLS_VIEW] = {0};
    const char *name = p->name;

    txt[0] = feed_run.run_id;
    txt[1] = feed_run.tenant_id;
    txt[2] = p->is_user ? "USER" : "GROUP";
    txt[3] = is_total ? NULL : p->id;
    txt[4] = feed_run.period_start;
    txt[5] = feed_run.period_end;
    snprintf(buf[6], sizeof buf[6], "%lld", p->created);
    snprintf(buf[7], sizeof buf[7], "%lld", p->won);
    snprintf(buf[8], sizeof buf[8], "%lld", p->lost);
    fmt_ratio(buf[9], sizeof buf[9], p->cents, 100, 2);
    for (int c = 6; c <= 9; c++)
        txt[c] = buf[c];
    if (p->won > 0) {
        fmt_ratio(buf[10], sizeof buf[10], p->cents, 100 * p->won, 2);
        fmt_ratio(buf[11], sizeof buf[11], p->days10k, 10000, 4);
        txt[10] = buf[10];
        txt[11] = buf[11];
    }
    if (p->won + p->lost > 0) {
        fmt_ratio(buf[12], sizeof buf[12], p->won, p->won + p->lost, 4);
        txt[12] = buf[12];
    }
    txt[13] = is_total ? DR_ROW_TOTAL : p->is_gone ? DR_ROW_GONE : DR_ROW_PRINCIPAL;
    txt[14] = name;
    if (!is_total) {
        snprintf(buf[15], sizeof buf[15], "%lld", p->rank);
        txt[15] = buf[15];
        txt[16] = p->is_new ? "true" : "false";
    }
    if (!p->is_new) {
        snprintf(buf[17], sizeof buf[17], "%lld", p->p_created);
        snprintf(buf[18], sizeof buf[18], "%lld", p->p_won);
        fmt_ratio(buf[19], sizeof buf[19], p->p_cents, 100, 2);
        txt[17] = buf[17];
        txt[18] = buf[18];
        txt[19] = buf[19];
        if (p->p_won + p->p_lost > 0) {
            fmt_ratio(buf[20], sizeof buf[20], p->p_won, p->p_won + p->p_lost, 4);
            txt[20] = buf[20];
        }
    }
    for (int c = 0; c < FEED_NCOLS_VIEW; c++) {
        off[c] = -1;
        if (txt[c] != NULL && (off[c] = pool_add(t, txt[c])) < 0)
            return -1;
    }
    return 0;
}

/* A total over @p n principals of one type: each deal once, so 1/10 (users) or 1/8 (teams)
   fewer deals and amount than the sum, as deals shared by two principals would give. */
static void syn_total(syn_principal *tot, syn_principal *const *ps, size_t n, int is_user)
{
    memset(tot, 0, sizeof *tot);
    tot->is_user = is_user;
    snprintf(tot->name, sizeof tot->name, "%s", is_user ? "All reps" : "All teams");
    long long days = 0;
    for (size_t i = 0; i < n; i++) {
        if (ps[i]->is_user != is_user)
            continue;
        tot->created += ps[i]->created;
        tot->won += ps[i]->won;
        tot->lost += ps[i]->lost;
        tot->cents += ps[i]->cents;
        days += ps[i]->days10k * ps[i]->won;
        if (!ps[i]->is_new) {
            tot->p_created += ps[i]->p_created;
            tot->p_won += ps[i]->p_won;
            tot->p_lost += ps[i]->p_lost;
            tot->p_cents += ps[i]->p_cents;
        }
    }
    long long d = is_user ? 10 : 8;
    tot->days10k = tot->won ? days / tot->won : 0;
    tot->created -= tot->created / d;
    tot->won -= tot->won / d;
    tot->lost -= tot->lost / d;
    tot->cents -= tot->cents / d;
    tot->p_created -= tot->p_created / d;
    tot->p_won -= tot->p_won / d;
    tot->p_lost -= tot->p_lost / d;
    tot->p_cents -= tot->p_cents / d;
}

static int feed_rows_synthetic(feed_rows_t *t, long n_users)
{
    int rc = -1;
    size_t nteams = (size_t)n_users / 10 + 1, np = (size_t)n_users + nteams;
    syn_principal *all = calloc(np + 2, sizeof *all);
    syn_principal **order = calloc(np, sizeof *order);
    long (*off)[FEED_NCOLS_VIEW] = calloc(np + 2, sizeof *off);
    if (all == NULL || order == NULL || off == NULL)
        goto cleanup;

    for (long k = 0; k < n_users; k++) {
        syn_principal *p = &all[k];
        long long s = n_users - k; /* falls with k: the amount order */
        p->is_user = 1;
        p->is_gone = k % 20 == 13;
        p->is_new = !p->is_gone && k % 7 == 3;
        /* ids in another order than the amounts: 7919 is prime to 1000003 */
        snprintf(p->id, sizeof p->id, "1a2b3c4d-0000-4000-8000-%012lld",
                 (long long)((k * 7919L) % 1000003L));
        if (k == 1)
            snprintf(p->name, sizeof p->name,
                     "Rep 02 Maximiliane Alexandra von Hohenzollern-Sigmaringen");
        else if (k == 8)
            snprintf(p->name, sizeof p->name, "[user %.8s]", p->id);
        else
            snprintf(p->name, sizeof p->name, "Rep %02ld %s", k + 1,
                     syn_surnames[k % (long)NELEMS(syn_surnames)]);
        /* every 6th ties with the one before it on amount (the rank then goes by deals won,
           then by name) */
        long long ts = k % 6 == 5 ? s + 1 : s;
        if (!p->is_gone) {
            p->won = 1 + s / 4;
            p->lost = s % 5;
            p->created = p->won + p->lost + s % 3 + 1;
            p->cents = ts * 123457;
            p->days10k = 30000 + (s * 3719) % 600000;
        }
        if (!p->is_new) {
            p->p_won = 1 + (s * 3) % 7 + s / 5;
            p->p_lost = k % 4;
            p->p_created = p->p_won + p->p_lost + 2;
            p->p_cents = ts * 123457 * (80 + (k * 13) % 45) / 100;
        }
    }
    for (size_t j = 0; j < nteams; j++) {
        syn_principal *g = &all[(size_t)n_users + j];
        g->is_user = 0;
        snprintf(g->id, sizeof g->id, "0b9f7a3c-0000-4000-8000-%012lld",
                 (long long)((j * 7919UL) % 1000003UL));
        snprintf(g->name, sizeof g->name, "Team %02zu %s", j + 1,
                 syn_teams[j % NELEMS(syn_teams)]);
        long long days = 0;
        g->is_new = 1; /* new when all its reps are */
        for (long k = (long)j; k < n_users; k += (long)nteams) { /* its reps */
            const syn_principal *p = &all[k];
            g->is_new &= p->is_new;
            g->created += p->created;
            g->won += p->won;
            g->lost += p->lost;
            g->cents += p->cents;
            days += p->days10k * p->won;
            g->p_created += p->p_created;
            g->p_won += p->p_won;
            g->p_lost += p->p_lost;
            g->p_cents += p->p_cents;
        }
        g->days10k = g->won ? days / g->won : 0;
    }

    for (size_t i = 0; i < np; i++)
        order[i] = &all[i];
    qsort(order, np, sizeof *order, syn_rank_cmp);
    for (size_t i = 0; i < np; i++)
        order[i]->rank = i == 0 || order[i]->is_user != order[i - 1]->is_user
                             ? 1 : order[i - 1]->rank + 1;
    qsort(order, np, sizeof *order, syn_fact_cmp);

    syn_total(&all[np], order, np, 0);
    syn_total(&all[np + 1], order, np, 1);

    /* facts, then the gone users, then the totals (GROUP, USER) */
    size_t r = 0;
    for (int pass = 0; pass < 2; pass++)
        for (size_t i = 0; i < np; i++)
            if (order[i]->is_gone == pass && syn_cells(t, order[i], 0, off[r++]) != 0)
                goto cleanup;
    t->nfact = 0;
    for (size_t i = 0; i < np; i++)
        t->nfact += !all[i].is_gone;
    for (size_t k = 0; k < 2; k++)
        if (syn_cells(t, &all[np + k], 1, off[r++]) != 0)
            goto cleanup;

    t->nrows = r;
    t->cells = calloc(r, sizeof *t->cells);
    if (t->cells == NULL)
        goto cleanup;
    for (size_t i = 0; i < r; i++)
        for (int c = 0; c < FEED_NCOLS_VIEW; c++)
            t->cells[i][c] = off[i][c] < 0 ? NULL : t->pool + off[i][c];
    rc = 0;

cleanup:
    free(all);
    free(order);
    free(off);
    return rc;
}

/* ---- the host's side ---- */

static const char *const level_names[] = {"error", "warning", "info", "debug"};

static void feed_log(void *ctx, dr_log_level level, const char *message)
{
    (void)ctx;
    fprintf(stderr, "plugin_feed: plugin %s: %s\n",
            (unsigned)level < 4 ? level_names[level] : "log", message);
}

static int exit_code(dr_plugin_status st)
{
    switch (st) {
    case DR_PLUGIN_OK: return 0;
    case DR_PLUGIN_EOPTION: return 64;
    case DR_PLUGIN_EIO: return 74;
    default: return 70;
    }
}

static int usage(void)
{
    fprintf(stderr, "Usage: plugin_feed [--repeat N] [--view] [--principals N] "
                    "[--host-abi 1.1] PLUGIN.so OUTPUT [KEY=VALUE ...]\n");
    return 2;
}

static const dr_plugin *load(const char *path)
{
    void *dl = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (dl == NULL) {
        fprintf(stderr, "plugin_feed: cannot load '%s': %s\n", path, dlerror());
        return NULL;
    }
    void *sym = dlsym(dl, DR_PLUGIN_ENTRY_SYMBOL);
    if (sym == NULL) {
        fprintf(stderr, "plugin_feed: '%s' has no %s\n", path, DR_PLUGIN_ENTRY_SYMBOL);
        dlclose(dl);
        return NULL;
    }
    dr_plugin_entry_fn entry;
    memcpy(&entry, &sym, sizeof entry);
    const dr_plugin *d = entry();
    if (d == NULL || d->abi_major != DR_PLUGIN_ABI_MAJOR || d->size < DR_PLUGIN_MIN_SIZE ||
        d->name == NULL || !d->open || !d->row || !d->end || !d->destroy) {
        fprintf(stderr, "plugin_feed: '%s' has no usable ABI %d descriptor\n", path,
                DR_PLUGIN_ABI_MAJOR);
        dlclose(dl);
        return NULL;
    }
    /* left loaded: leak reports (valgrind) keep the plugin's symbols */
    return d;
}

static int parse_count(const char *s, unsigned long max, unsigned long *out)
{
    char *end = NULL;
    if (s == NULL || *s < '0' || *s > '9')
        return -1;
    *out = strtoul(s, &end, 10);
    return end == s || *end != '\0' || *out > max ? -1 : 0;
}

int main(int argc, char **argv)
{
    unsigned long repeat = 1, principals = 0;
    int argi = 1, view = 0, host_11 = 0, rc = 70;
    feed_rows_t rows = {0};
    dr_value *values = NULL;

    for (; argi < argc && strncmp(argv[argi], "--", 2) == 0; argi++) {
        const char *opt = argv[argi];
        if (strcmp(opt, "--view") == 0) {
            view = 1;
        } else if (strcmp(opt, "--repeat") == 0 && argi + 1 < argc) {
            if (parse_count(argv[++argi], 100000000UL, &repeat) != 0)
                return usage();
        } else if (strcmp(opt, "--principals") == 0 && argi + 1 < argc) {
            if (parse_count(argv[++argi], SYN_MAX, &principals) != 0 || principals == 0)
                return usage();
        } else if (strcmp(opt, "--host-abi") == 0 && argi + 1 < argc) {
            if (strcmp(argv[++argi], "1.1") == 0)
                host_11 = 1;
            else if (strcmp(argv[argi], "1.2") != 0)
                return usage();
        } else {
            return usage();
        }
    }
    if (argc - argi < 2 || argc - argi - 2 > FEED_MAX_OPTIONS)
        return usage();
    const char *plugin_path = argv[argi], *out_path = argv[argi + 1];

    const dr_plugin *plugin = load(plugin_path);
    if (plugin == NULL)
        return 2;

    /* KEY=VALUE, with the "FORMAT." prefix the host would strip removed */
    dr_option options[FEED_MAX_OPTIONS];
    size_t noptions = 0, prefix = strlen(plugin->name);
    for (int i = argi + 2; i < argc; i++) {
        char *eq = strchr(argv[i], '=');
        if (eq == NULL || eq == argv[i])
            return usage();
        *eq = '\0';
        const char *key = argv[i];
        if (strncmp(key, plugin->name, prefix) == 0 && key[prefix] == '.')
            key += prefix + 1;
        options[noptions].key = key;
        options[noptions].value = eq + 1;
        noptions++;
    }

    /* as a 1.3 host: the view only to a plugin that asks for it, and needs it for these
       options when it says (wants_view) */
    int send_view = view && !host_11 && DR_PLUGIN_HAS(plugin, flags) &&
                    (plugin->flags & DR_PLUGIN_WANTS_VIEW) != 0;
    if (send_view && DR_PLUGIN_HAS(plugin, wants_view) && plugin->wants_view != NULL) {
        char probe_err[256] = "";
        dr_open_args probe = {.abi_major = DR_PLUGIN_ABI_MAJOR, .size = sizeof(dr_open_args),
                              .options = options, .noptions = noptions, .log = feed_log,
                              .errbuf = probe_err, .errbuf_size = sizeof probe_err};
        send_view = plugin->wants_view(&probe) != 0;
    }
    dr_column columns[FEED_NCOLS_VIEW];
    memcpy(columns, dr_report_columns, sizeof dr_report_columns);
    memcpy(columns + DR_REPORT_NCOLS, feed_view_columns, sizeof feed_view_columns);
    size_t ncols = send_view ? FEED_NCOLS_VIEW : DR_REPORT_NCOLS;

    if ((principals ? feed_rows_synthetic(&rows, (long)principals) : feed_rows_fixed(&rows)) !=
        0) {
        fprintf(stderr, "plugin_feed: out of memory\n");
        goto cleanup;
    }
    size_t nsent = send_view ? rows.nrows : rows.nfact; /* fact rows come first */

    /* every value built from its text as the host builds it */
    values = calloc(rows.nrows * FEED_NCOLS_VIEW, sizeof *values);
    if (values == NULL) {
        fprintf(stderr, "plugin_feed: out of memory\n");
        goto cleanup;
    }
    for (size_t r = 0; r < rows.nrows; r++) {
        for (size_t c = 0; c < ncols; c++) {
            const char *text = rows.cells[r][c];
            dr_error err = {0};
            if (dr_value_from_text(&columns[c], text, text ? strlen(text) : 0,
                                   &values[r * ncols + c], &err) != DR_OK) {
                fprintf(stderr, "plugin_feed: row %zu: %s\n", r + 1, err.msg);
                goto cleanup;
            }
        }
    }

    /* the host hands over an existing, empty file */
    FILE *touch = fopen(out_path, "wb");
    if (touch == NULL || fclose(touch) != 0) {
        perror(out_path);
        rc = 2;
        goto cleanup;
    }

    char errbuf[1024] = "";
    dr_open_args args = {
        .abi_major = DR_PLUGIN_ABI_MAJOR,
        .size = host_11 ? (uint32_t)offsetof(dr_open_args, view) : (uint32_t)sizeof(dr_open_args),
        .run = &feed_run,
        .columns = columns,
        .ncolumns = ncols,
        .path = out_path,
        .options = options,
        .noptions = noptions,
        .log = feed_log,
        .log_ctx = NULL,
        .errbuf = errbuf,
        .errbuf_size = sizeof errbuf,
        .view = send_view ? &feed_view : NULL,
    };

    void *handle = NULL;
    dr_plugin_status st = plugin->open(&args, &handle);
    if (st == DR_PLUGIN_OK) {
        for (unsigned long n = 0; n < repeat && st == DR_PLUGIN_OK; n++)
            for (size_t r = 0; r < rows.nfact && st == DR_PLUGIN_OK; r++)
                st = plugin->row(handle, &values[r * ncols]);
        for (size_t r = rows.nfact; r < nsent && st == DR_PLUGIN_OK; r++)
            st = plugin->row(handle, &values[r * ncols]);
        if (st == DR_PLUGIN_OK)
            st = plugin->end(handle);
        plugin->destroy(handle);
    } else if (handle != NULL) { /* as the host does */
        plugin->destroy(handle);
    }
    if (st != DR_PLUGIN_OK) {
        fprintf(stderr, "plugin_feed: %s: %s\n", plugin->name,
                errbuf[0] ? errbuf : "failed without a message");
        struct stat sb; /* as the host does: no file after a failure (but never /dev/full) */
        if (stat(out_path, &sb) == 0 && S_ISREG(sb.st_mode))
            remove(out_path);
    }
    rc = exit_code(st);

cleanup:
    free(values);
    feed_rows_free(&rows);
    return rc;
}
