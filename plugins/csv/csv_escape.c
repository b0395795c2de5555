/* CSV cell rules: RFC 4180 quoting and formula-injection escaping. */
#include "csv_escape.h"

#include <csv.h>

#include "plugin_common.h"

void dr_csv_format_init(dr_csv_format *fmt)
{
    fmt->delimiter = ',';
    fmt->quote_all = false;
    fmt->formula_escape = true;
}

bool dr_csv_needs_formula_escape(dr_type type, const char *text, size_t len)
{
    if (type != DR_TYPE_TEXT || text == NULL || len == 0)
        return false;
    switch (text[0]) {
    case '=':
    case '+':
    case '-':
    case '@':
    case '\t':
    case '\r':
        return true;
    default:
        return false;
    }
}

static bool is_edge_space(unsigned char c)
{
    return c == ' ' || c == '\t';
}

/* The quoting rule applied to the text as written: when @p prefixed, the
 * formula prefix comes first, so the text's own first byte is not leading. */
static bool needs_quotes(const char *text, size_t len, unsigned char delimiter, bool prefixed)
{
    const unsigned char *s = (const unsigned char *)text;

    if (len == 0)
        return false;
    if ((!prefixed && is_edge_space(s[0])) || is_edge_space(s[len - 1]))
        return true;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = s[i];
        if (c == delimiter || c == DR_CSV_QUOTE || c == '\r' || c == '\n')
            return true;
    }
    return false;
}

bool dr_csv_needs_quotes(const char *text, size_t len, unsigned char delimiter)
{
    return text != NULL && needs_quotes(text, len, delimiter, false);
}

/* Write "'TEXT" quoted, inner quotes doubled. csv_fwrite2 always wraps its
 * whole argument in quotes and the prefix must sit inside them, so this one
 * case is written here, the same way, without copying the text. */
static int write_quoted_prefixed(FILE *fp, const char *text, size_t len)
{
    const char *start = text, *end = text + len;

    if (putc(DR_CSV_QUOTE, fp) == EOF || putc(DR_CSV_FORMULA_PREFIX, fp) == EOF)
        return -1;
    for (const char *p = text; p < end; p++) {
        if (*p != DR_CSV_QUOTE)
            continue;
        /* write up to and including this quote, then the doubling quote */
        size_t n = (size_t)(p - start) + 1;
        if (fwrite(start, 1, n, fp) != n || putc(DR_CSV_QUOTE, fp) == EOF)
            return -1;
        start = p + 1;
    }
    if (start < end && fwrite(start, 1, (size_t)(end - start), fp) != (size_t)(end - start))
        return -1;
    return putc(DR_CSV_QUOTE, fp) == EOF ? -1 : 0;
}

int dr_csv_write_field(FILE *fp, const dr_csv_format *fmt, dr_type type, const char *text,
                       size_t len)
{
    if (text == NULL)
        return 0; /* SQL NULL: empty, unquoted */

    bool prefixed = fmt->formula_escape && dr_csv_needs_formula_escape(type, text, len);
    bool quoted = fmt->quote_all || needs_quotes(text, len, fmt->delimiter, prefixed);

    if (quoted) {
        if (prefixed)
            return write_quoted_prefixed(fp, text, len);
        /* csv_fwrite2 returns 0 on success, EOF on a write error */
        return csv_fwrite2(fp, text, len, DR_CSV_QUOTE) == 0 ? 0 : -1;
    }
    if (prefixed && putc(DR_CSV_FORMULA_PREFIX, fp) == EOF)
        return -1;
    if (len > 0 && fwrite(text, 1, len, fp) != len)
        return -1;
    return 0;
}

int dr_csv_parse_delimiter(const char *value, unsigned char *out)
{
    static const struct {
        const char *word;
        unsigned char c;
    } words[] = {{"comma", ','}, {"semicolon", ';'}, {"tab", '\t'}, {"pipe", '|'}};

    if (value == NULL)
        return -1;
    if (value[0] != '\0' && value[1] == '\0') {
        unsigned char c = (unsigned char)value[0];
        /* one ASCII byte; no quote, no line break, no other control character */
        if (c >= 0x80 || c == DR_CSV_QUOTE || c == 0x7f || (c < 0x20 && c != '\t'))
            return -1;
        *out = c;
        return 0;
    }
    for (size_t i = 0; i < sizeof words / sizeof words[0]; i++) {
        if (dr_pc_word_eq(value, words[i].word)) {
            *out = words[i].c;
            return 0;
        }
    }
    return -1;
}
