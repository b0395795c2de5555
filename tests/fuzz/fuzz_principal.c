/* libFuzzer target: dr_principal_parse (--principal) and dr_uuid_parse (--tenant, --run-id). */
#include "fuzz_common.h"
#include "principal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_uuid(const char *id)
{
    FUZZ_CHECK(strlen(id) == DR_UUID_LEN);
    for (int i = 0; i < DR_UUID_LEN; i++) {
        if (i == 8 || i == 13 || i == 18 || i == 23)
            FUZZ_CHECK(id[i] == '-');
        else
            FUZZ_CHECK((id[i] >= '0' && id[i] <= '9') || (id[i] >= 'a' && id[i] <= 'f'));
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *s = fuzz_cstring(data, size);
    dr_error e = {0};
    dr_principal p;
    memset(&p, 0x5A, sizeof p);
    dr_status st = dr_principal_parse(s, &p, &e);
    fuzz_check_message(&e, st);
    if (st == DR_OK) {
        FUZZ_CHECK(p.type == DR_PRINCIPAL_USER || p.type == DR_PRINCIPAL_GROUP);
        check_uuid(p.id);
    }
    dr_error_clear(&e);
    char id[DR_UUID_LEN + 1];
    memset(id, 0x5A, sizeof id);
    st = dr_uuid_parse(s, (size & 1) ? "--tenant" : NULL, id, &e);
    fuzz_check_message(&e, st);
    if (st == DR_OK)
        check_uuid(id);
    else
        FUZZ_CHECK(id[0] == '\0');
    free(s);
    return 0;
}
