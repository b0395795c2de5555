/*
 * libFuzzer target: dr_name_expand (--name / name =). The input is the template, NUL bytes
 * included (the raw length is passed, as the function allows); when it holds a 0x01 byte,
 * what follows is used as the {period} and {tenant} values, so hostile token values are
 * fuzzed too. Whatever the input, a name that passes is one plain file name inside the
 * output directory.
 */
#include "fuzz_common.h"
#include "name_template.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const uint8_t *sep = memchr(data, 0x01, size);
    size_t tlen = sep ? (size_t)(sep - data) : size;
    char *tmpl = malloc(tlen + 1);
    FUZZ_CHECK(tmpl != NULL);
    memcpy(tmpl, data, tlen);
    tmpl[tlen] = '\0';
    char *value = sep ? fuzz_cstring(sep + 1, size - tlen - 1) : NULL;
    dr_name_vars v = {"rep_performance", value ? value : "11111111-1111-4111-8111-111111111111",
                      value ? value : "2026-03", "20260301T000000", "20260401T000000",
                      "3f2504e0-4f89-41d3-9a0c-0305e82c3301", "20260402T101500Z", "csv"};
    char out[256];
    size_t out_size = sizeof out - (size % 3) * 100; /* small buffers too */
    dr_error e = {0};
    memset(out, 0x5A, sizeof out);
    dr_status st = dr_name_expand(tmpl, tlen, &v, out, out_size, &e);
    fuzz_check_message(&e, st);
    if (st == DR_OK) {
        size_t n = strnlen(out, out_size);
        FUZZ_CHECK(n > 0 && n < out_size && n <= 255);
        FUZZ_CHECK(memchr(tmpl, '\0', tlen) == NULL);
        FUZZ_CHECK(strchr(out, '/') == NULL && strchr(out, '\\') == NULL);
        FUZZ_CHECK(out[0] != '.');
        for (size_t i = 0; i < n; i++)
            FUZZ_CHECK((unsigned char)out[i] >= 0x20 && out[i] != 0x7F);
    } else if (out_size > 0) {
        FUZZ_CHECK(out[0] == '\0');
    }
    free(tmpl);
    free(value);
    return 0;
}
