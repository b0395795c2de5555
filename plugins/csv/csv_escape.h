/**
 * @file csv_escape.h
 * @brief CSV cell rules of the csv plugin: RFC 4180 quoting and the escaping
 *        of text cells that a spreadsheet would read as a formula.
 *
 * Kept apart from the plugin so the unit tests can reach the rules directly.
 * No allocation, no global state: every function works on its arguments only.
 * (Boolean option words are parsed by dr_pc_parse_bool() of plugins/common.)
 */
#ifndef DR_CSV_ESCAPE_H
#define DR_CSV_ESCAPE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include <dynoreport/plugin.h>

/** The quote character of RFC 4180. */
#define DR_CSV_QUOTE '"'

/** The prefix that neutralises a formula-like text cell (OWASP recommendation). */
#define DR_CSV_FORMULA_PREFIX '\''

/** How fields are written. Fill with dr_csv_format_init(), then adjust. */
typedef struct dr_csv_format {
    unsigned char delimiter; /**< field separator; ',' by default */
    bool quote_all;          /**< quote every non-NULL field (quote=all); default false */
    bool formula_escape;     /**< prefix formula-like text cells with '; default true */
} dr_csv_format;

/** Set @p fmt to the defaults: ',' delimiter, minimal quoting, formula escaping on. */
void dr_csv_format_init(dr_csv_format *fmt);

/**
 * Whether a cell needs the formula-injection escape: true only for a
 * DR_TYPE_TEXT cell whose first byte is '=', '+', '-', '@', TAB or CR.
 * Numbers, UUIDs, timestamps and booleans never need it (so "-5.00" stays).
 */
bool dr_csv_needs_formula_escape(dr_type type, const char *text, size_t len);

/**
 * Whether @p text must be quoted under RFC 4180 with @p delimiter: it contains
 * the delimiter, a double quote, CR or LF, or starts or ends with a space or a
 * TAB (which many readers, libcsv's default included, would otherwise trim).
 * The empty string needs no quotes.
 */
bool dr_csv_needs_quotes(const char *text, size_t len, unsigned char delimiter);

/**
 * Write one field (no delimiter, no line ending) to @p fp.
 *
 * @p text NULL means SQL NULL and writes nothing: an empty, unquoted field,
 * even with quote_all (so NULL and the empty string stay distinguishable).
 * Otherwise the text is written exactly, after the formula prefix when
 * dr_csv_needs_formula_escape() says so and fmt->formula_escape is set, and
 * quoted (with libcsv's csv_fwrite2, doubling inner quotes) when
 * dr_csv_needs_quotes() says so or fmt->quote_all is set.
 *
 * @return 0 on success, -1 on a write error (errno as left by stdio).
 */
int dr_csv_write_field(FILE *fp, const dr_csv_format *fmt, dr_type type, const char *text,
                       size_t len);

/**
 * Parse a delimiter option value: exactly one ASCII character (TAB allowed;
 * not '"', CR, LF, NUL or another control character), or one of the words
 * "comma", "semicolon", "tab", "pipe" (any case).
 *
 * @return 0 and the character in *out, or -1 if @p value is not valid.
 */
int dr_csv_parse_delimiter(const char *value, unsigned char *out);

#endif /* DR_CSV_ESCAPE_H */
