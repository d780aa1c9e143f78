/* Decrypted record bodies: parsed with jansson exactly as vault_body does, then checked
 * against every record type's schema with pl_record_validate (the code appending runs).
 * Properties: nothing misbehaves; accepted bodies derive valid header metadata; a body that
 * is accepted is accepted again, with the same metadata, after the trip through storage
 * (compact, sorted-key JSON as append_record writes it, read back as vault_body reads it). */
#include <string.h>

#include "formats/entry.h"
#include "formats/meta.h"
#include "tests/fuzz/fuzz.h"
#include "vault/vault.h"

static const char *const types[] = {"consent.grant", "consent.withdraw", "session", "note",
                                    "retract"};

static void check_type(const char *type, json_t *body)
{
    char meta[PL_META_MAX + 1], meta2[PL_META_MAX + 1];
    pl_err err;
    err.msg[0] = '\0';
    pl_status st = pl_record_validate(type, body, meta, sizeof meta, &err);
    if (st != PL_OK) {
        FUZZ_CHECK(st == PL_E_INVALID);
        FUZZ_CHECK(memchr(err.msg, '\0', sizeof err.msg) != NULL && err.msg[0] != '\0');
        return;
    }
    FUZZ_CHECK(fmt_meta_valid(meta, strlen(meta)));

    size_t n = json_dumpb(body, NULL, 0, JSON_COMPACT | JSON_SORT_KEYS);
    FUZZ_CHECK(n > 0);
    char *text = malloc(n);
    FUZZ_CHECK(text != NULL);
    FUZZ_CHECK(json_dumpb(body, text, n, JSON_COMPACT | JSON_SORT_KEYS) == n);
    json_error_t jerr;
    json_t *back = json_loadb(text, n, JSON_REJECT_DUPLICATES, &jerr);
    FUZZ_CHECK(back != NULL && json_is_object(back));
    FUZZ_CHECK(pl_record_validate(type, back, meta2, sizeof meta2, &err) == PL_OK);
    FUZZ_CHECK(strcmp(meta, meta2) == 0);
    json_decref(back);
    free(text);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int once;
    json_error_t jerr;
    fuzz_init();
    if (!once) {
        pl_json_use_wiping_allocator(); /* as the CLI does before reading any body */
        once = 1;
    }
    json_t *body = json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES, &jerr);
    if (!body)
        return 0;
    for (size_t i = 0; i < sizeof types / sizeof types[0]; i++)
        check_type(types[i], body);
    json_decref(body);
    return 0;
}
