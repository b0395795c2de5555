/*
 * csvdump: read a CSV file with libcsv's strict parser and print it as JSON
 * Lines, for the integration tests.
 *
 *   csvdump FILE [DELIMITER]
 *
 * DELIMITER is one character or comma | semicolon | tab | pipe (default ',').
 * Output: first {"bom":true} or {"bom":false} (a leading UTF-8 BOM is
 * skipped), then one JSON array of strings per record. Fields are reported
 * exactly, spaces included; an empty field (quoted or not) is "".
 * Exit status: 0 ok, 1 read or parse error, 2 usage.
 */
#include <csv.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

typedef struct dump_state {
    bool in_record; /* a field of the current record was printed */
    unsigned long records;
} dump_state;

static void put_json_string(const unsigned char *s, size_t len)
{
    static const char hex[] = "0123456789abcdef";

    putchar('"');
    for (size_t i = 0; i < len; i++) {
        unsigned char c = s[i];
        switch (c) {
        case '"': fputs("\\\"", stdout); break;
        case '\\': fputs("\\\\", stdout); break;
        case '\n': fputs("\\n", stdout); break;
        case '\r': fputs("\\r", stdout); break;
        case '\t': fputs("\\t", stdout); break;
        default:
            if (c < 0x20) {
                fputs("\\u00", stdout);
                putchar(hex[c >> 4]);
                putchar(hex[c & 0xf]);
            } else {
                putchar(c);
            }
        }
    }
    putchar('"');
}

static void on_field(void *s, size_t len, void *data)
{
    dump_state *st = data;

    putchar(st->in_record ? ',' : '[');
    st->in_record = true;
    put_json_string(s != NULL ? s : (const void *)"", s != NULL ? len : 0);
}

static void on_record(int c, void *data)
{
    dump_state *st = data;

    (void)c;
    if (!st->in_record) /* a record without fields: cannot happen with libcsv */
        putchar('[');
    fputs("]\n", stdout);
    st->in_record = false;
    st->records++;
}

/* Report fields exactly: libcsv trims spaces and tabs around unquoted fields
 * by default. */
static int no_space(unsigned char c)
{
    (void)c;
    return 0;
}

static int parse_delimiter(const char *s, unsigned char *out)
{
    if (s[0] != '\0' && s[1] == '\0') {
        *out = (unsigned char)s[0];
        return 0;
    }
    if (strcmp(s, "comma") == 0)
        *out = ',';
    else if (strcmp(s, "semicolon") == 0)
        *out = ';';
    else if (strcmp(s, "tab") == 0 || strcmp(s, "\\t") == 0)
        *out = '\t';
    else if (strcmp(s, "pipe") == 0)
        *out = '|';
    else
        return -1;
    return 0;
}

int main(int argc, char **argv)
{
    struct csv_parser p;
    bool parser_ready = false;
    FILE *in = NULL;
    unsigned char delim = CSV_COMMA;
    unsigned char buf[65536];
    dump_state st = {false, 0};
    unsigned long long offset = 0;
    int rc = 1;

    if (argc < 2 || argc > 3) {
        fprintf(stderr, "usage: csvdump FILE [DELIMITER]\n");
        return 2;
    }
    if (argc == 3 && parse_delimiter(argv[2], &delim) != 0) {
        fprintf(stderr, "csvdump: invalid delimiter '%s': expected one character or comma, "
                        "semicolon, tab, pipe\n",
                argv[2]);
        return 2;
    }

    in = fopen(argv[1], "rb");
    if (in == NULL) {
        fprintf(stderr, "csvdump: cannot open '%s': %s\n", argv[1], strerror(errno));
        goto cleanup;
    }
    if (csv_init(&p, CSV_STRICT | CSV_APPEND_NULL | CSV_STRICT_FINI) != 0) {
        fprintf(stderr, "csvdump: csv_init failed\n");
        goto cleanup;
    }
    parser_ready = true;
    csv_set_delim(&p, delim);
    csv_set_space_func(&p, no_space);

    size_t n = fread(buf, 1, sizeof buf, in);
    size_t start = 0;
    bool bom = n >= 3 && buf[0] == 0xEF && buf[1] == 0xBB && buf[2] == 0xBF;
    if (bom)
        start = 3;
    printf("{\"bom\":%s}\n", bom ? "true" : "false");

    while (n > 0) {
        size_t len = n - start;
        size_t done = csv_parse(&p, buf + start, len, on_field, on_record, &st);
        if (done != len) {
            fprintf(stderr, "csvdump: %s: parse error at byte %llu (record %lu): %s\n", argv[1],
                    offset + start + done, st.records + 1, csv_strerror(csv_error(&p)));
            goto cleanup;
        }
        offset += n;
        start = 0;
        n = fread(buf, 1, sizeof buf, in);
    }
    if (ferror(in)) {
        fprintf(stderr, "csvdump: cannot read '%s': %s\n", argv[1], strerror(errno));
        goto cleanup;
    }
    if (csv_fini(&p, on_field, on_record, &st) != 0) {
        fprintf(stderr, "csvdump: %s: parse error at end of file (record %lu): %s\n", argv[1],
                st.records + 1, csv_strerror(csv_error(&p)));
        goto cleanup;
    }
    if (fflush(stdout) != 0 || ferror(stdout)) {
        fprintf(stderr, "csvdump: cannot write output: %s\n", strerror(errno));
        goto cleanup;
    }
    rc = 0;

cleanup:
    if (parser_ready)
        csv_free(&p);
    if (in != NULL)
        fclose(in);
    return rc;
}
