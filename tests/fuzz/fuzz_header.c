/* Entry headers, the bytes every peer and every vault.db row hands us.
 * Properties: decoding never misbehaves; what decodes re-encodes to the identical bytes
 * (the encoding is unique, so the entry id is well defined); a proper prefix never decodes;
 * the encoder refuses a buffer one byte short; the date derived for the index is a date. */
#include <string.h>

#include "formats/entry.h"
#include "formats/text.h"
#include "tests/fuzz/fuzz.h"
#include "vault/vault.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static pl_header h, again;
    static uint8_t out[PL_HEADER_MAX];
    size_t len = 0;
    fuzz_init();
    if (fmt_header_decode(data, size, &h) != PL_FMT_OK)
        return 0;
    FUZZ_CHECK(size <= PL_HEADER_MAX);
    FUZZ_CHECK(fmt_header_encode(&h, out, sizeof out, &len) == PL_FMT_OK);
    FUZZ_CHECK(len == size && memcmp(out, data, size) == 0);
    FUZZ_CHECK(fmt_header_encode(&h, out, size - 1, &len) == PL_FMT_TOO_BIG);
    FUZZ_CHECK(fmt_header_decode(data, size - 1, &again) != PL_FMT_OK);

    char date[PL_DATE_LEN + 1];
    pl_entry_date(&h, date); /* what verify and the CLI derive */
    FUZZ_CHECK(memchr(date, '\0', sizeof date) != NULL && fmt_date_valid(date));
    return 0;
}
