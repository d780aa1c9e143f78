/* Invitations. First byte even: the rest is an invitation file (and whatever follows it),
 * read with fmt_invite_info and opened with a fixed box key pair (the one of vector I1, so
 * the I1 seed opens). First byte odd: the next 76 bytes are taken as the clear part and the
 * next 122 as the plaintext (both zero-padded when the input is short), which this target
 * seals to the fixed key as a genuine coordinator would, so the checks behind the decryption
 * see arbitrary plaintext; bytes after those follow the invitation. Both readers must agree,
 * stay inside the input, and let out a key only from a sealed part that repeats the domain
 * and the clear fields. */
#include <string.h>

#include "formats/invite.h"
#include "tests/fuzz/fuzz.h"

#define CLEAR_BYTES (PL_INVITE_BYTES - PL_INVITE_SEALED) /* magic .. member */
#define REPEATED    (PL_INVITE_PLAIN - PL_KEY_BYTES)     /* domain, org, epoch, member */
#define UNSET       0xee

static uint8_t box_pk[PL_BOX_PK_BYTES], box_sk[PL_BOX_SK_BYTES];

static int key_is(const uint8_t key[PL_KEY_BYTES], uint8_t v)
{
    for (size_t i = 0; i < PL_KEY_BYTES; i++)
        if (key[i] != v)
            return 0;
    return 1;
}

/* Reads in[n] both ways; returns fmt_invite_open's status and the key it gave in key. */
static pl_fmt_status check_read(const uint8_t *in, size_t n, uint8_t key[PL_KEY_BYTES])
{
    pl_invite_info info, opened;
    const uint8_t *rest = NULL;
    size_t rest_len = 0;
    pl_fmt_status si = fmt_invite_info(in, n, &info, &rest, &rest_len);
    memset(key, UNSET, PL_KEY_BYTES);
    pl_fmt_status so = fmt_invite_open(in, n, box_pk, box_sk, &opened, key);
    if (n < PL_INVITE_BYTES)
        FUZZ_CHECK(si == PL_FMT_TRUNCATED);
    if (si != PL_FMT_OK) {
        FUZZ_CHECK(so == si);
    } else {
        FUZZ_CHECK(rest == in + PL_INVITE_BYTES && rest_len == n - PL_INVITE_BYTES);
        FUZZ_CHECK(memcmp(in, PL_INVITE_MAGIC, 4) == 0 && in[4] == PL_INVITE_VERSION);
        FUZZ_CHECK((in[5] | in[6] | in[7]) == 0);
        FUZZ_CHECK(memcmp(info.org, in + 8, PL_ID_BYTES) == 0);
        const uint8_t *e = in + 8 + PL_ID_BYTES;
        FUZZ_CHECK(info.epoch == ((uint32_t)e[0] | (uint32_t)e[1] << 8 | (uint32_t)e[2] << 16 |
                                  (uint32_t)e[3] << 24));
        FUZZ_CHECK(memcmp(info.member, e + 4, PL_SIGN_PK_BYTES) == 0);
    }
    if (so == PL_FMT_OK)
        FUZZ_CHECK(si == PL_FMT_OK && memcmp(opened.org, info.org, PL_ID_BYTES) == 0 &&
                   opened.epoch == info.epoch &&
                   memcmp(opened.member, info.member, PL_SIGN_PK_BYTES) == 0);
    else /* nothing of a refused invitation comes out (a wiped key is fine too) */
        FUZZ_CHECK(key_is(key, UNSET) || key_is(key, 0));
    return so;
}

/* The invitation made of clear || crypto_box_seal(plain) || rest, and what it must give. */
static void check_sealed(const uint8_t *p, size_t n)
{
    uint8_t clear[CLEAR_BYTES] = {0}, plain[PL_INVITE_PLAIN] = {0}, want[REPEATED],
        key[PL_KEY_BYTES];
    size_t take = n < CLEAR_BYTES ? n : CLEAR_BYTES;
    memcpy(clear, p, take);
    p += take;
    n -= take;
    take = n < PL_INVITE_PLAIN ? n : PL_INVITE_PLAIN;
    memcpy(plain, p, take);
    p += take;
    n -= take;
    uint8_t *inv = malloc(PL_INVITE_BYTES + n);
    FUZZ_CHECK(inv != NULL);
    memcpy(inv, clear, CLEAR_BYTES);
    FUZZ_CHECK(crypto_box_seal(inv + CLEAR_BYTES, plain, sizeof plain, box_pk) == 0);
    if (n)
        memcpy(inv + PL_INVITE_BYTES, p, n);

    pl_fmt_status expect;
    memcpy(want, PL_DOM_INVITE, sizeof PL_DOM_INVITE);
    memcpy(want + sizeof PL_DOM_INVITE, clear + 8, CLEAR_BYTES - 8);
    if (memcmp(clear, PL_INVITE_MAGIC, 4) != 0 || clear[4] != PL_INVITE_VERSION)
        expect = PL_FMT_VERSION;
    else if (clear[5] | clear[6] | clear[7])
        expect = PL_FMT_FIELD;
    else if (memcmp(plain, want, REPEATED) != 0)
        expect = PL_FMT_FIELD;
    else
        expect = PL_FMT_OK;
    FUZZ_CHECK(check_read(inv, PL_INVITE_BYTES + n, key) == expect);
    if (expect == PL_FMT_OK)
        FUZZ_CHECK(memcmp(key, plain + REPEATED, PL_KEY_BYTES) == 0);
    free(inv);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int ready;
    fuzz_init();
    if (!ready) {
        uint8_t seed[32];
        memset(seed, 2, sizeof seed);
        crypto_box_seed_keypair(box_pk, box_sk, seed);
        ready = 1;
    }
    if (size == 0)
        return 0;
    uint8_t key[PL_KEY_BYTES];
    if (data[0] & 1)
        check_sealed(data + 1, size - 1);
    else /* libFuzzer's copy of the input ends where it ends: a read past it is caught */
        (void)check_read(data + 1, size - 1, key);
    return 0;
}
