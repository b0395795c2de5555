/**
 * @file principal.h
 * @brief UUIDs and principals ("USER:<uuid>", "GROUP:<uuid>").
 */
#ifndef DR_PRINCIPAL_H
#define DR_PRINCIPAL_H

#include "status.h"

#define DR_UUID_LEN 36

typedef enum dr_principal_type { DR_PRINCIPAL_USER = 0, DR_PRINCIPAL_GROUP = 1 } dr_principal_type;

typedef struct dr_principal {
    dr_principal_type type;
    char id[DR_UUID_LEN + 1]; /**< canonical lower-case UUID */
} dr_principal;

/**
 * Check that @p text is a UUID in the 8-4-4-4-12 hex form (either case) and
 * write its lower-case form to @p out. @p what names the value in messages
 * ("--tenant"; NULL gives "UUID"). On failure @p out is set to "".
 * @return DR_OK or DR_EUSAGE.
 */
dr_status dr_uuid_parse(const char *text, const char *what, char out[DR_UUID_LEN + 1], dr_error *err);

/**
 * A new random (version 4) UUID in lower case into @p out, from the kernel's random
 * source (getrandom): the run ids of a job's batch, made without a round trip.
 * @return DR_OK or DR_EIO.
 */
dr_status dr_uuid_random(char out[DR_UUID_LEN + 1], dr_error *err);

/**
 * Parse "USER:<uuid>" or "GROUP:<uuid>" (type case-insensitive, ASCII only).
 * @p out is written only on success.
 * @return DR_OK or DR_EUSAGE with a message naming the value and the form.
 */
dr_status dr_principal_parse(const char *text, dr_principal *out, dr_error *err);

/** "USER" or "GROUP" ("UNKNOWN" for a value outside the enum). */
const char *dr_principal_type_name(dr_principal_type type);

#endif
