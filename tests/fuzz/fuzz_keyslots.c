/* The keyslots file, read before anything is authenticated.
 * Properties: decoding never misbehaves; what decodes re-encodes to the identical bytes; a
 * proper prefix never decodes; opening each slot under a fixed key fails cleanly or, for the
 * seeds (sealed under that key), succeeds. */
#include <string.h>

#include "formats/keyslots.h"
#include "tests/fuzz/fuzz.h"

/* The key the seed slots are sealed under (tests/fuzz/make_seeds.c uses the same). */
#define FUZZ_KEK_BYTE 0x4b

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    pl_keyslots ks, again;
    uint8_t out[PL_KS_FILE_MAX], kek[PL_KEY_BYTES], master[PL_MASTER_KEY_BYTES];
    size_t len = 0;
    fuzz_init();
    if (fmt_keyslots_decode(data, size, &ks) != PL_FMT_OK)
        return 0;
    FUZZ_CHECK(size <= PL_KS_FILE_MAX);
    FUZZ_CHECK(fmt_keyslots_encode(&ks, out, sizeof out, &len) == PL_FMT_OK);
    FUZZ_CHECK(len == size && memcmp(out, data, size) == 0);
    FUZZ_CHECK(fmt_keyslots_encode(&ks, out, size - 1, &len) == PL_FMT_TOO_BIG);
    FUZZ_CHECK(fmt_keyslots_decode(data, size - 1, &again) != PL_FMT_OK);

    memset(kek, FUZZ_KEK_BYTE, sizeof kek);
    for (size_t i = 0; i < ks.nslots; i++) {
        pl_fmt_status st = fmt_keyslot_open(&ks.slot[i], kek, master);
        FUZZ_CHECK(st == PL_FMT_OK || st == PL_FMT_CRYPTO);
    }
    return 0;
}
