/* What people type and what other text fields carry: recovery codes, dates, pseudonyms,
 * record types, subjects and consent scope lists.
 * Properties: nothing misbehaves; a normalised recovery code is canonical (six groups of four
 * Crockford symbols), normalising it again is the identity, and it is exactly what
 * fmt_recovery_make writes for the 15 bytes it spells; fmt_date_valid agrees with the C
 * library's calendar; a valid pseudonym is what fmt_pseudonym_make writes for the 5 bytes it
 * spells, and is a valid subject; an accepted scope list formats and parses back to itself. */
#include <string.h>
#include <time.h>

#include "formats/text.h"
#include "tests/fuzz/fuzz.h"
#include "vault/vault.h"

/* Big-endian base32 decoding of nsym symbols into nbytes (nsym * 5 == nbytes * 8). */
static void b32_decode(const char *sym, size_t nsym, uint8_t *out, size_t nbytes)
{
    memset(out, 0, nbytes);
    for (size_t i = 0; i < nsym; i++) {
        const char *at = strchr(PL_B32_ALPHABET, sym[i]);
        FUZZ_CHECK(sym[i] != '\0' && at != NULL);
        unsigned v = (unsigned)(at - PL_B32_ALPHABET);
        for (size_t b = 0; b < 5; b++) {
            size_t bit = i * 5 + b;
            if ((v >> (4 - b)) & 1u)
                out[bit / 8] = (uint8_t)(out[bit / 8] | (0x80u >> (bit % 8)));
        }
    }
}

static void check_recovery(const char *in, size_t n)
{
    char out[PL_RECOVERY_LEN + 1], again[PL_RECOVERY_LEN + 1], made[PL_RECOVERY_LEN + 1];
    char sym[PL_RECOVERY_SYMBOLS];
    uint8_t raw[PL_RECOVERY_RANDOM_BYTES];
    if (fmt_recovery_normalize(in, n, out) != 0)
        return;
    FUZZ_CHECK(strlen(out) == PL_RECOVERY_LEN);
    for (size_t i = 0, k = 0; i < PL_RECOVERY_LEN; i++) {
        if (i % 5 == 4) {
            FUZZ_CHECK(out[i] == '-');
            continue;
        }
        sym[k++] = out[i];
    }
    FUZZ_CHECK(fmt_recovery_normalize(out, PL_RECOVERY_LEN, again) == 0);
    FUZZ_CHECK(strcmp(out, again) == 0);
    _Static_assert(PL_RECOVERY_SYMBOLS * 5 == PL_RECOVERY_RANDOM_BYTES * 8, "120 bits");
    b32_decode(sym, PL_RECOVERY_SYMBOLS, raw, sizeof raw);
    fmt_recovery_make(raw, made);
    FUZZ_CHECK(strcmp(out, made) == 0);
}

/* The calendar's own answer: the fields survive a trip through timegm and gmtime. */
static int date_reference(const char *s)
{
    if (strlen(s) != PL_DATE_LEN || s[4] != '-' || s[7] != '-')
        return 0;
    for (size_t i = 0; i < PL_DATE_LEN; i++)
        if (i != 4 && i != 7 && !(s[i] >= '0' && s[i] <= '9'))
            return 0;
    int y = (s[0] - '0') * 1000 + (s[1] - '0') * 100 + (s[2] - '0') * 10 + (s[3] - '0');
    int m = (s[5] - '0') * 10 + (s[6] - '0');
    int d = (s[8] - '0') * 10 + (s[9] - '0');
    if (y < 1900 || m < 1 || m > 12 || d < 1)
        return 0;
    struct tm tm = {.tm_year = y - 1900, .tm_mon = m - 1, .tm_mday = d, .tm_hour = 12}, back;
    time_t t = timegm(&tm);
    if (!gmtime_r(&t, &back))
        return 0;
    return back.tm_year == y - 1900 && back.tm_mon == m - 1 && back.tm_mday == d;
}

static void check_pseudonym(const char *s)
{
    char sym[8], made[PL_PSEUDONYM_LEN + 1];
    uint8_t raw[PL_PSEUDONYM_RANDOM_BYTES];
    if (!fmt_pseudonym_valid(s))
        return;
    FUZZ_CHECK(fmt_subject_valid(s, strlen(s)));
    memcpy(sym, s + 2, 4);
    memcpy(sym + 4, s + 7, 4);
    _Static_assert(sizeof sym * 5 == PL_PSEUDONYM_RANDOM_BYTES * 8, "40 bits");
    b32_decode(sym, sizeof sym, raw, sizeof raw);
    fmt_pseudonym_make(raw, made);
    FUZZ_CHECK(strcmp(s, made) == 0);
}

static void check_scopes(const char *s)
{
    char bad[16], list[128], bad2[16];
    unsigned mask = 0, again = 0;
    if (pl_scopes_parse(s, &mask, bad, sizeof bad) != 0) {
        FUZZ_CHECK(memchr(bad, '\0', sizeof bad) != NULL);
        return;
    }
    FUZZ_CHECK(mask != 0 && (mask & ~(unsigned)PL_SCOPE_ALL) == 0);
    pl_scopes_format(mask, list, sizeof list);
    FUZZ_CHECK(pl_scopes_parse(list, &again, bad2, sizeof bad2) == 0 && again == mask);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_init();
    char *s = malloc(size + 1);
    FUZZ_CHECK(s != NULL);
    memcpy(s, data, size);
    s[size] = '\0';

    check_recovery((const char *)data, size);
    FUZZ_CHECK(fmt_date_valid(s) == date_reference(s));
    check_pseudonym(s);
    check_scopes(s);
    (void)fmt_type_valid((const char *)data, size);
    (void)fmt_subject_valid((const char *)data, size);
    free(s);
    return 0;
}
