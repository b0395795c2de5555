/**
 * @file report.h
 * @brief The Representative Performance report: its columns, and typed values
 *        made from the text the database returns.
 */
#ifndef DR_REPORT_H
#define DR_REPORT_H

#include <dynoreport/plugin.h>

#include "status.h"

/** Report name used in report_run.report_type, metadata and {report}. */
#define DR_REPORT_NAME "rep_performance"

/** Number of fact columns. */
#define DR_REPORT_NCOLS 13

/** The 13 fact columns in the DDL's order, then the 8 columns of the report view (ABI 1.2). */
extern const dr_column dr_report_all_columns[DR_REPORT_NCOLS + DR_VIEW_NCOLUMNS];

/** The 13 fact columns: the first DR_REPORT_NCOLS of dr_report_all_columns. */
#define dr_report_columns dr_report_all_columns

/**
 * Fill @p out from the database text of a value of column @p col (@p text NULL = SQL NULL):
 * keeps the exact text and parses the number / timestamp for plugins that want it.
 * @return DR_OK, or DR_EINTERNAL if the text is not of the column's type.
 */
dr_status dr_value_from_text(const dr_column *col, const char *text, size_t len, dr_value *out,
                             dr_error *err);

#endif
