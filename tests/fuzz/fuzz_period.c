/* libFuzzer target: dr_period_parse (--period) and dr_ts_arg_parse (--from / --to). */
#include <ctype.h>

#include "fuzz_common.h"
#include "period.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *s = fuzz_cstring(data, size);
    dr_error e = {0};
    dr_period p;
    memset(&p, 0x5A, sizeof p);
    dr_status st = dr_period_parse(s, &p, &e);
    fuzz_check_message(&e, st);
    if (st == DR_OK) {
        FUZZ_CHECK((unsigned)p.unit <= DR_UNIT_YEAR);
        FUZZ_CHECK(dr_period_unit_interval(p.unit) != NULL && dr_period_unit_field(p.unit) != NULL);
        FUZZ_CHECK(memchr(p.label, '\0', sizeof p.label) != NULL && p.label[0] != '\0');
        FUZZ_CHECK(memchr(p.anchor, '\0', sizeof p.anchor) != NULL);
        if (p.relative) {
            FUZZ_CHECK(p.anchor[0] == '\0' && (p.offset == 0 || p.offset == -1));
        } else {
            /* "YYYY-MM-DD", bound as a SQL parameter: digits and dashes only */
            FUZZ_CHECK(strlen(p.anchor) == 10 && p.anchor[4] == '-' && p.anchor[7] == '-');
            for (int i = 0; i < 10; i++)
                FUZZ_CHECK(i == 4 || i == 7 || isdigit((unsigned char)p.anchor[i]));
            FUZZ_CHECK(strcmp(p.anchor, "0001-01-01") >= 0);
        }
    }
    dr_error_clear(&e);
    dr_ts_arg t;
    memset(&t, 0x5A, sizeof t);
    st = dr_ts_arg_parse(s, (size & 1) ? "--from" : NULL, &t, &e);
    fuzz_check_message(&e, st);
    if (st == DR_OK) {
        size_t n = strnlen(t.local, sizeof t.local);
        FUZZ_CHECK(n >= 19 && n < sizeof t.local);
        for (size_t i = 0; i < n; i++)
            FUZZ_CHECK(isdigit((unsigned char)t.local[i]) || strchr("-: .", t.local[i]));
        size_t o = strnlen(t.offset, sizeof t.offset);
        FUZZ_CHECK(o == 0 || (o == 6 && (t.offset[0] == '+' || t.offset[0] == '-') && t.offset[3] == ':'));
    }
    free(s);
    return 0;
}
