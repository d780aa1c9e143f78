/* Consent receipt files, read with pl_receipt_parse as 'consent check-receipt' reads them
 * (formats/receipt.md §5). Properties: nothing misbehaves; a refusal is PL_E_INVALID with a
 * reason; what is accepted is what §5 describes (every string NUL-terminated inside its field
 * and of its length, the subject a pseudonym, dates real dates, at least one scope and only
 * the five); reading is deterministic; and a receipt that pl_receipt_json writes from what was
 * read (the collection method being one peerlog writes) reads back as the same claim. */
#include <string.h>

#include "formats/entry.h"
#include "formats/text.h"
#include "tests/fuzz/fuzz.h"
#include "vault/vault.h"

static pl_org org; /* large: not on the stack */

/* 1 when the field f[cap] holds a NUL-terminated string of min..max bytes. */
static int sized(const char *f, size_t cap, size_t min, size_t max)
{
    const char *nul = memchr(f, '\0', cap);
    size_t n = nul ? (size_t)(nul - f) : cap;
    return nul && n >= min && n <= max;
}

static const char *method_of(const char *text)
{
    static const char *const m[][2] = {{"written consent form", "written"},
                                       {"verbal consent, recorded by the peer-guide", "verbal"},
                                       {"digital consent form", "digital"}};
    for (size_t i = 0; i < sizeof m / sizeof m[0]; i++)
        if (!strcmp(text, m[i][0]))
            return m[i][1];
    return NULL;
}

/* Writes c back as a receipt of today's form and reads it again. */
static void round_trip(const pl_receipt_claim *c)
{
    const char *method = method_of(c->collection_method);
    if (!method || c->timestamp > PL_TIME_MS_MAX / 1000)
        return;
    pl_receipt r;
    memset(&r, 0, sizeof r);
    memcpy(r.subject, c->subject, sizeof r.subject);
    memcpy(r.entry, c->entry, PL_ID_BYTES);
    r.time_ms = c->timestamp * 1000 + 999;
    memcpy(r.method, method, strlen(method) + 1);
    r.scopes = c->scopes;
    memcpy(r.valid_from, c->valid_from, sizeof r.valid_from);
    memcpy(r.valid_until, c->valid_until, sizeof r.valid_until);
    memcpy(r.state, "given", sizeof "given");
    memcpy(r.issued, c->valid_from, sizeof r.issued);
    memcpy(r.receipt_id, c->receipt_id, sizeof r.receipt_id);
    memcpy(org.fingerprint, c->organisation, sizeof org.fingerprint);
    json_t *j = pl_receipt_json(&r, &org);
    FUZZ_CHECK(j != NULL);
    size_t n = json_dumpb(j, NULL, 0, JSON_COMPACT | JSON_ENSURE_ASCII);
    FUZZ_CHECK(n > 0 && n <= PL_RECEIPT_MAX);
    char *text = malloc(n);
    FUZZ_CHECK(text != NULL);
    FUZZ_CHECK(json_dumpb(j, text, n, JSON_COMPACT | JSON_ENSURE_ASCII) == n);
    json_decref(j);
    pl_receipt_claim back;
    pl_err err;
    FUZZ_CHECK(pl_receipt_parse(text, n, &back, &err) == PL_OK);
    FUZZ_CHECK(memcmp(&back, c, sizeof back) == 0);
    free(text);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int once;
    static pl_receipt_claim c, again;
    fuzz_init();
    if (!once) {
        pl_json_use_wiping_allocator(); /* as the CLI does before reading anything */
        snprintf(org.name, sizeof org.name, "Example Peer Support");
        snprintf(org.controller.phone, sizeof org.controller.phone, "+45 12 34 56 78");
        once = 1;
    }
    pl_err err, err2;
    err.msg[0] = err2.msg[0] = '\0';
    /* libFuzzer's copy of the input ends where it ends: a read past it is caught */
    pl_status st = pl_receipt_parse((const char *)data, size, &c, &err);
    pl_status st2 = pl_receipt_parse((const char *)data, size, &again, &err2);
    FUZZ_CHECK(st == st2);
    if (size > PL_RECEIPT_MAX)
        FUZZ_CHECK(st == PL_E_INVALID);
    if (st != PL_OK) {
        FUZZ_CHECK(st == PL_E_INVALID);
        FUZZ_CHECK(memchr(err.msg, '\0', sizeof err.msg) != NULL && err.msg[0] != '\0');
        FUZZ_CHECK(strcmp(err.msg, err2.msg) == 0);
        return 0;
    }
    FUZZ_CHECK(memcmp(&c, &again, sizeof c) == 0);
    FUZZ_CHECK(sized(c.subject, sizeof c.subject, PL_PSEUDONYM_LEN, PL_PSEUDONYM_LEN) &&
               fmt_pseudonym_valid(c.subject));
    FUZZ_CHECK(sized(c.receipt_id, sizeof c.receipt_id, PL_RECEIPT_ID_LEN, PL_RECEIPT_ID_LEN));
    FUZZ_CHECK(sized(c.collection_method, sizeof c.collection_method, 1,
                     sizeof c.collection_method - 1));
    FUZZ_CHECK(sized(c.valid_from, sizeof c.valid_from, PL_DATE_LEN, PL_DATE_LEN) &&
               fmt_date_valid(c.valid_from));
    FUZZ_CHECK(sized(c.valid_until, sizeof c.valid_until, 0, PL_DATE_LEN) &&
               (c.valid_until[0] == '\0' || fmt_date_valid(c.valid_until)));
    FUZZ_CHECK(sized(c.organisation, sizeof c.organisation, PL_FINGERPRINT_HEX,
                     PL_FINGERPRINT_HEX));
    FUZZ_CHECK(c.scopes != 0 && c.scopes < (1u << 5));
    FUZZ_CHECK(c.timestamp >= 0);
    round_trip(&c);
    return 0;
}
