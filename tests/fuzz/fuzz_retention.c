/* The retention decoders (formats/erasure.md §2, §6): the genesis body's "retention" object
 * (JSON from another device, retention_read), the --retention option (pl_retention_parse)
 * and a retention erasure's header metadata (erasure_filter). The first byte picks which.
 * Properties: nothing misbehaves; what is read is in range (months 1..1200 or kept, consent
 * only last-entry or kept, types a non-empty subset of the six, until a real date); a policy
 * read or parsed writes back (pl_retention_json) and reads again as the same policy; and the
 * coverage check on a decoded header with a decoded filter runs without fault. */
#include <string.h>

#include "formats/entry.h"
#include "formats/meta.h"
#include "tests/fuzz/fuzz.h"
#include "vault/internal.h"

static void policy_sane(const pl_retention *r)
{
    for (int t = 0; t < PL_RET_TYPES; t++) {
        int m = r->months[t];
        if (t == PL_RET_CONSENT)
            FUZZ_CHECK(m == 0 || m == PL_RET_LAST_ENTRY);
        else
            FUZZ_CHECK(m >= 0 && m <= PL_RET_MONTHS_MAX);
    }
    json_t *j = pl_retention_json(r);
    pl_retention back;
    FUZZ_CHECK(j);
    retention_read(j, &back);
    json_decref(j);
    FUZZ_CHECK(back.set && !memcmp(back.months, r->months, sizeof back.months));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_init();
    if (size < 1)
        return 0;
    uint8_t mode = data[0] % 3;
    data++;
    size--;
    if (mode == 0) {
        json_t *j = json_loadb((const char *)data, size, JSON_DECODE_ANY, NULL);
        pl_retention r;
        retention_read(j, &r);
        FUZZ_CHECK(r.set == (json_is_object(j) != 0));
        if (r.set)
            policy_sane(&r);
        json_decref(j);
    } else if (mode == 1) {
        char spec[512];
        size_t n = size < sizeof spec - 1 ? size : sizeof spec - 1;
        memcpy(spec, data, n);
        spec[n] = '\0';
        pl_retention r;
        pl_err err = {{0}};
        pl_status st = pl_retention_parse(spec, &r, &err);
        FUZZ_CHECK(st == PL_OK || (st == PL_E_INVALID && err.msg[0]));
        if (st == PL_OK)
            policy_sane(&r);
    } else {
        static pl_header h; /* large: not on the stack */
        pl_erasure x;
        memset(&x, 0, sizeof x);
        if (fmt_header_decode(data, size, &h) != PL_FMT_OK)
            return 0;
        if (erasure_filter(&h, &x) != 0)
            return 0;
        if (x.types || x.until[0]) {
            FUZZ_CHECK(x.types && x.types < (1u << PL_RET_TYPES));
            FUZZ_CHECK(fmt_date_valid(x.until));
        }
        snprintf(x.subject, sizeof x.subject, "%s", h.subject[0] ? h.subject : "B-0000-0000");
        uint8_t id[PL_ID_BYTES] = {0};
        (void)erasure_covering(&x, 1, &h, id);
    }
    return 0;
}
