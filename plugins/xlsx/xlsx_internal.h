/*
 * What the files of the "xlsx" plugin share: the handle, the column kinds of the data
 * sheets and the functions one file offers the others. Internal to the plugin (every
 * name here has hidden visibility: the plugin exports only dr_plugin_entry).
 *
 *   xlsx_plugin.c   the descriptor and callbacks, options, run metadata, document
 *                   properties and the "Run" sheet
 *   xlsx_data.c     the typed data sheet(s): "Performance" (or "Data" for a report), rollover
 *   xlsx_report.c   the report view (ABI 1.2): its columns, the ranked rows kept in memory,
 *                   and the cells of the "Report" sheet
 *   xlsx_layout.c   the Report sheet's conditional formats, chart, page setup and footer
 */
#ifndef DR_XLSX_INTERNAL_H
#define DR_XLSX_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <xlsxwriter.h>

#include <dynoreport/plugin.h>

#define XL_DEFAULT_SHEET "Performance" /* the data sheet without a report view */
#define XL_VIEW_DATA_SHEET "Data"      /* the data sheet beside a Report sheet */
#define XL_REPORT_SHEET "Report"
#define XL_RUN_SHEET "Run"
#define XL_SHEETNAME_MAX 31             /* Excel's limit, in characters */
#define XL_MAX_DATA_ROWS 1048575u       /* 1,048,576 rows minus the header */
#define XL_STRING_MAX 32767             /* characters in one cell */
#define XL_WIDTH_MAX 80.0               /* never wider than this many characters */
#define XL_IOCHECK_EVERY 4096u          /* rows between checks of the temporary file */
#define XL_EXACT_INT 9007199254740992LL /* 2^53: larger integers are not exact as doubles */

typedef enum xl_kind {
    XL_TEXT,     /* TEXT: inline string, width follows the content */
    XL_UUID,     /* UUID: inline string of 36 characters */
    XL_INT,      /* INT64: number "0" */
    XL_MONEY,    /* DECIMAL scale 2: number "#,##0.00" */
    XL_PERCENT,  /* DECIMAL *_rate: number "0.00%" */
    XL_DAYS,     /* DECIMAL *_days: number "#,##0.0" */
    XL_DECIMAL,  /* other DECIMAL: number "#,##0.<scale zeros>" */
    XL_DATETIME, /* TIMESTAMP: date-time "yyyy-mm-dd hh:mm" */
    XL_BOOL      /* BOOLEAN: TRUE / FALSE */
} xl_kind;

typedef struct xl_column {
    xl_kind kind;
    lxw_format *fmt;    /* owned by the workbook; NULL for plain text */
    int decimals;       /* digits shown after the point (numbers) */
    size_t label_chars; /* characters of the header label */
    size_t max_chars;   /* widest value written so far, as displayed */
} xl_column;

/* A timestamp of the run's metadata, parsed from its ISO 8601 text. */
typedef struct xl_meta_time {
    const char *text; /* exact text, or NULL when the host gave none */
    bool ok;          /* parsed into dt / epoch */
    lxw_datetime dt;  /* wall-clock */
    time_t epoch;     /* the instant, for the document's creation time */
    char offset[16];  /* "+05:30", "-04:00" or "Z" as written; "" if none */
} xl_meta_time;

/* The report view's rows kept for the Report sheet (xlsx_report.c). */
typedef struct xl_report xl_report;

typedef struct xlsx_handle {
    const dr_open_args *args; /* valid until destroy returns */
    lxw_workbook *wb;         /* NULL once closed (or never opened) */
    char *tmpdir;             /* directory of args->path: libxlsxwriter's temporary files */
    xl_column *cols;          /* ndata_cols entries */
    size_t ndata_cols;        /* columns on the data sheet: all, or the view's fact columns */
    lxw_format *f_header, *f_header_num, *f_label, *f_meta_time, *f_meta_num, *f_meta_exact;

    char sheet_name[4 * XL_SHEETNAME_MAX + 1]; /* base name of the data sheets (UTF-8) */
    bool sheet_name_given;                      /* xlsx.sheet_name was set */
    uint32_t max_rows;                          /* data rows per sheet */

    lxw_worksheet **sheets; /* data sheets, in order */
    size_t nsheets, sheets_cap;
    lxw_worksheet *run_sheet; /* the metadata sheet, once written */
    uint32_t sheet_rows;      /* data rows on the last data sheet */
    uint64_t total_rows;      /* data rows on all sheets */
    char *escape;             /* reused buffer for text holding a literal "_xHHHH_" */
    size_t escape_cap;
    bool warned_int;          /* the warning about integers past 2^53 was logged */

    /* run metadata, taken once in open */
    const char *report, *run_id, *tenant, *period_label, *time_zone, *principals, *version;
    xl_meta_time period_start, period_end, generated_at;

    /* the report view (ABI 1.2), NULL without one: then the workbook is as in ABI 1.1 */
    const dr_report_view *view;
    const char *tenant_name, *period_title, *compare, *compare_title, *currency;
    xl_meta_time compare_start, compare_end;
    xl_report *rep;               /* the buffered rows of the Report sheet */
    lxw_worksheet *report_sheet; /* the first sheet, written at end */
} xlsx_handle;

/* ---- xlsx_plugin.c: text measures and errors ---------------------------------------- */

/* Characters (code points) of well-formed UTF-8 @p s, or (size_t)-1 if it is not. */
size_t xl_utf8_chars(const char *s);
/* Characters of UTF-8 text known to be valid (the host's), counted fast. */
size_t xl_text_chars(const char *s, size_t len);
/* Characters a number takes when shown with grouping and @p decimals digits. */
size_t xl_number_chars(double v, int decimals, bool grouping, bool percent);
/* Report a failed libxlsxwriter call ("cannot <what> in '<path>': <reason>"). */
dr_plugin_status xl_lxw_failed(const xlsx_handle *h, lxw_error err, const char *what);
/* A sheet could not be added: out of memory, or its temporary file failed (errno). */
dr_plugin_status xl_sheet_failed(const xlsx_handle *h, const char *name);
/* A new format with @p num_format (or none), NULL when out of memory. */
lxw_format *xl_new_format(xlsx_handle *h, const char *num_format);
/* @p s (NULL: ""), or its first @p max characters and an ellipsis, copied into @p buf: never
   a cut inside a UTF-8 sequence (@p size of at least 4 * max + 4 bytes keeps all of them). */
const char *xl_cut(const char *s, size_t max, char *buf, size_t size);
/* "Representative Performance" for rep_performance. */
const char *xl_report_title(const char *report);
/* Close the temporary file of a constant_memory sheet that is dropped without writing. */
void xl_drop_sheet_file(lxw_worksheet *ws);

/* ---- xlsx_data.c: the data sheets ------------------------------------------------------ */

/* Decide each data column's kind and format, once (in open). */
dr_plugin_status xl_data_setup(xlsx_handle *h);
/* Add a data sheet (the first, or the next on rollover) with its header row. */
dr_plugin_status xl_data_add_sheet(xlsx_handle *h);
/* Write one fact row (its first ndata_cols values), rolling over to a new sheet as needed. */
dr_plugin_status xl_data_row(xlsx_handle *h, const dr_value *values);
/* At end: the last sheet's autofilter, the fitted widths of all data sheets. */
dr_plugin_status xl_data_finish(xlsx_handle *h);
/* Check (and on request flush) a constant_memory sheet's temporary file. */
dr_plugin_status xl_check_sheet_file(xlsx_handle *h, lxw_worksheet *ws, bool flush_row);
/* @p text, or a copy with every literal "_xHHHH_" escaped (NULL: out of memory). */
const char *xl_literal_text(xlsx_handle *h, const char *text, size_t len);

/* ---- xlsx_report.c: the report view and the Report sheet ------------------------------- */

/* In open, with h->view set: find the view's columns, make the formats, add the Report
   sheet (the first sheet of the workbook; its cells are written at end). */
dr_plugin_status xl_report_open(xlsx_handle *h);
/* One row of the view: *is_fact tells whether it also goes on the data sheet. */
dr_plugin_status xl_report_row(xlsx_handle *h, const dr_value *values, bool *is_fact);
/* At end: write the Report sheet from the kept rows. */
dr_plugin_status xl_report_write(xlsx_handle *h);
void xl_report_free(xl_report *r);

/* ---- xlsx_layout.c: what makes the Report sheet a printable page ----------------------- */

/* Report sheet columns, in order; the last five only with a comparison period. */
enum xl_rcol {
    XC_RANK, XC_NAME, XC_CREATED, XC_WON, XC_LOST, XC_AMOUNT, XC_AVG_DEAL, XC_AVG_DAYS,
    XC_WIN_RATE, XC_PREV_AMOUNT, XC_PREV_WON, XC_PREV_WIN_RATE, XC_D_AMOUNT, XC_D_WIN_RATE,
    XC_N
};
#define XC_N_NO_COMPARE (XC_WIN_RATE + 1)

/* Where one table landed on the Report sheet. */
typedef struct xl_table_place {
    bool present;
    lxw_row_t first, last; /* the ranked rows (principals, then gone ones); last < first: none */
    size_t nchart;         /* of them, the leading principals the chart shows (0: no chart) */
} xl_table_place;

/* Everything the layout needs from the cells written. */
typedef struct xl_layout {
    lxw_col_t ncols;             /* XC_N or XC_N_NO_COMPARE */
    double width[XC_N];          /* column widths in characters */
    lxw_row_t title_first, title_last; /* the header rows repeated on every printed page */
    lxw_row_t freeze;            /* first row under the reps' header */
    xl_table_place reps, teams;
    lxw_row_t chart_row;         /* where the chart goes (under the tables) */
    double *heights;             /* points, one per row written so far */
    size_t nrows, heights_cap;
} xl_layout;

/* The height of the next row written (points); false when out of memory. */
bool xl_layout_row(xl_layout *lay, double points);
/* Conditional formats, chart, page setup, footer and widths of the Report sheet. */
dr_plugin_status xl_layout_finish(xlsx_handle *h, lxw_worksheet *ws, xl_layout *lay);

#endif /* DR_XLSX_INTERNAL_H */
