/**
 * @file name_template.h
 * @brief Output file names from a template such as "{report}_{tenant}_{period}.{ext}".
 */
#ifndef DR_NAME_TEMPLATE_H
#define DR_NAME_TEMPLATE_H

#include <stddef.h>

#include "status.h"

/** Default template. */
#define DR_NAME_DEFAULT "{report}_{tenant}_{period}.{ext}"

/** Values of the tokens. Any may be NULL, which makes its token an error. */
typedef struct dr_name_vars {
    const char *report;    /**< {report}    e.g. "rep_performance" */
    const char *tenant;    /**< {tenant}    tenant UUID */
    const char *period;    /**< {period}    e.g. "2026-10" */
    const char *from;      /**< {from}      e.g. "20261001T000000" (local time in the report zone) */
    const char *to;        /**< {to} */
    const char *run_id;    /**< {run_id} */
    const char *generated; /**< {generated} e.g. "20261105T093000Z" */
    const char *ext;       /**< {ext}       e.g. "csv" */
} dr_name_vars;

/**
 * Expand @p tmpl into @p out. The result must be one plain file name inside the
 * output directory: not empty, at most 255 bytes, no '/', not "." or "..", not
 * starting with '.', no control characters, no NUL in the template (the
 * caller passes @p tmpl_len so embedded NULs are detected).
 * Unknown tokens and unbalanced braces are errors; so are a backslash (a Windows
 * separator) and a result that does not fit in @p out_size. The message shows the
 * expansion as well when it is the token values that make the name unsafe.
 * On failure @p out (if @p out_size > 0) is set to "".
 * @return DR_OK or DR_EUSAGE with a message naming the template and the reason.
 */
dr_status dr_name_expand(const char *tmpl, size_t tmpl_len, const dr_name_vars *vars, char *out,
                         size_t out_size, dr_error *err);

#endif
