/* Bundles (formats/bundle.md): a golden vector made with deterministic randomness, the round
 * trip, and that every truncation, bit flip, reordering, wrong key or wrong exporter fails. */
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "formats/bundle.h"
#include "tests/unit/check.h"

/* Deterministic randomness for the vector: each call draws from the next seed. */
static uint64_t draws;
static const char *det_name(void) { return "peerlog-test-deterministic"; }
static uint32_t det_random(void)
{
    uint32_t v;
    uint8_t seed[randombytes_SEEDBYTES] = {0};
    memcpy(seed, &draws, sizeof draws);
    draws++;
    randombytes_buf_deterministic(&v, sizeof v, seed);
    return v;
}
static void det_buf(void *p, size_t n)
{
    uint8_t seed[randombytes_SEEDBYTES] = {0};
    memcpy(seed, &draws, sizeof draws);
    draws++;
    randombytes_buf_deterministic(p, n, seed);
}
static void det_stir(void) {}
static int det_close(void) { return 0; }
static struct randombytes_implementation det = {det_name, det_random, det_stir, NULL, det_buf,
                                                det_close};

/* B1 of formats/bundle.md: one entry of feed seed 0x01.., seq 1, type "note", time 0,
 * one recipient (its own box key from seed 0x02..), body erased (not carried); organisation
 * id = 32 bytes 0x0a, epoch 7, exchange key = 32 bytes 0x0b, exporter = the feed's key. */
static const char B1_HEX[] =
#include "bundle_b1.inc"
    ;
static const char B1_RECORD_HEX[] =
#include "bundle_b1_record.inc"
    ;

static void make_entry(uint8_t *hdr, size_t *hlen, uint8_t sig[PL_SIG_BYTES],
                       uint8_t wrap[PL_WRAP_BYTES], uint8_t pk[PL_SIGN_PK_BYTES],
                       uint8_t sk[PL_SIGN_SK_BYTES])
{
    uint8_t seed[32], bpk[32], bsk[32], id[PL_ID_BYTES];
    memset(seed, 1, sizeof seed);
    crypto_sign_seed_keypair(pk, sk, seed);
    memset(seed, 2, sizeof seed);
    crypto_box_seed_keypair(bpk, bsk, seed);
    pl_header *h = calloc(1, sizeof *h);
    h->version = PL_HEADER_VERSION;
    strcpy(h->type, "note");
    memcpy(h->feed, pk, PL_SIGN_PK_BYTES);
    h->seq = 1;
    memcpy(h->box_pk, bpk, 32);
    h->nrcpt = 1;
    memcpy(h->rcpt[0], bpk, 32);
    h->body_len = PL_BODY_OVERHEAD + 4;
    memset(h->body_hash, 0x0c, PL_HASH_BYTES);
    CHECK_EQ_INT(fmt_header_encode(h, hdr, PL_HEADER_MAX, hlen), PL_FMT_OK);
    fmt_entry_id(hdr, *hlen, id);
    fmt_entry_sign(id, sk, sig);
    memset(wrap, 0x0d, PL_WRAP_BYTES);
    free(h);
}

int main(void)
{
    randombytes_set_implementation(&det);
    if (sodium_init() < 0)
        return 1;
    uint8_t hdr[PL_HEADER_MAX], sig[PL_SIG_BYTES], wrap[PL_WRAP_BYTES], pk[PL_SIGN_PK_BYTES],
        sk[PL_SIGN_SK_BYTES], key[PL_KEY_BYTES], body[PL_BODY_OVERHEAD + 4];
    size_t hlen;
    make_entry(hdr, &hlen, sig, wrap, pk, sk);
    memset(key, 0x0b, sizeof key);
    pl_bundle_info info = {.epoch = 7, .count = 1};
    memset(info.org, 0x0a, sizeof info.org);
    memcpy(info.exporter, pk, sizeof pk);
    pl_bundle_entry e = {hdr, hlen, sig, wrap, PL_WRAP_BYTES, NULL, 0};

    /* The golden vector, byte for byte. */
    uint8_t *b = NULL;
    size_t n = 0;
    draws = 0;
    CHECK_EQ_INT(fmt_bundle_encode(&info, key, sk, &e, &b, &n), PL_FMT_OK);
    char *hex = malloc(2 * n + 1);
    sodium_bin2hex(hex, 2 * n + 1, b, n);
    CHECK_STR(hex, B1_HEX);
    if (getenv("PL_PRINT_VECTORS"))
        printf("%s\n", hex);
    free(hex);

    /* Round trip. */
    pl_bundle_info got;
    pl_bundle_entry *list = NULL;
    uint8_t *plain = NULL;
    CHECK_EQ_INT(fmt_bundle_decode(b, n, key, &got, &list, &plain), PL_FMT_OK);
    if (list) {
        CHECK_EQ_INT(got.count, 1);
        CHECK_EQ_INT(got.epoch, 7);
        CHECK(memcmp(got.org, info.org, 32) == 0);
        CHECK_EQ_INT(list[0].header_len, hlen);
        CHECK(memcmp(list[0].header, hdr, hlen) == 0);
        CHECK(memcmp(list[0].sig, sig, PL_SIG_BYTES) == 0);
        CHECK(memcmp(list[0].wraps, wrap, PL_WRAP_BYTES) == 0);
        CHECK(list[0].body == NULL);
        /* The plaintext record, as formats/bundle.md gives it (and the fuzz seed uses). */
        size_t rl = 2 + hlen + PL_SIG_BYTES + 1 + PL_WRAP_BYTES;
        char *rh = malloc(2 * rl + 1);
        sodium_bin2hex(rh, 2 * rl + 1, plain, rl);
        CHECK_STR(rh, B1_RECORD_HEX);
        if (getenv("PL_PRINT_VECTORS"))
            printf("%s\n", rh);
        free(rh);
    }
    free(list);
    free(plain);
    pl_bundle_info pre;
    CHECK_EQ_INT(fmt_bundle_info(b, n, &pre), PL_FMT_OK);
    CHECK_EQ_INT(pre.count, 1);

    /* Every truncation and every single-bit flip fails: everything is authenticated. */
    int bad_trunc = 0, bad_flip = 0;
    for (size_t k = 0; k < n; k++) {
        if (fmt_bundle_decode(b, k, key, &got, &list, &plain) == PL_FMT_OK) {
            bad_trunc++;
            free(list);
            free(plain);
        }
    }
    CHECK_EQ_INT(bad_trunc, 0);
    for (size_t k = 0; k < 8 * n; k++) {
        b[k / 8] ^= (uint8_t)(1u << (k % 8));
        if (fmt_bundle_decode(b, n, key, &got, &list, &plain) == PL_FMT_OK) {
            bad_flip++;
            free(list);
            free(plain);
        }
        b[k / 8] ^= (uint8_t)(1u << (k % 8));
    }
    CHECK_EQ_INT(bad_flip, 0);
    uint8_t *longer = malloc(n + 1);
    memcpy(longer, b, n);
    longer[n] = 0;
    CHECK_EQ_INT(fmt_bundle_decode(longer, n + 1, key, &got, &list, &plain), PL_FMT_TRAILING);
    free(longer);
    uint8_t wrong[PL_KEY_BYTES];
    memset(wrong, 0x0c, sizeof wrong);
    CHECK_EQ_INT(fmt_bundle_decode(b, n, wrong, &got, &list, &plain), PL_FMT_CRYPTO);
    free(b);

    /* Two entries with a body: round trip, then the two records swapped must fail. */
    pl_bundle_entry two[2] = {e, e};
    memset(body, 0x0e, sizeof body);
    two[1].body = body;
    info.count = 2;
    CHECK_EQ_INT(fmt_bundle_encode(&info, key, sk, two, &b, &n), PL_FMT_OK);
    CHECK_EQ_INT(fmt_bundle_decode(b, n, key, &got, &list, &plain), PL_FMT_OK);
    if (list) {
        CHECK(list[0].body == NULL);
        CHECK(list[1].body != NULL && list[1].body_len == sizeof body &&
              memcmp(list[1].body, body, sizeof body) == 0);
    }
    free(list);
    free(plain);
    size_t r1 = 4 + 2 + hlen + PL_SIG_BYTES + 1 + PL_WRAP_BYTES + PL_BUNDLE_SS_ABYTES;
    size_t r2 = r1 + sizeof body;
    uint8_t *swapped = malloc(n);
    memcpy(swapped, b, PL_BUNDLE_PREAMBLE);
    memcpy(swapped + PL_BUNDLE_PREAMBLE, b + PL_BUNDLE_PREAMBLE + r1, r2);
    memcpy(swapped + PL_BUNDLE_PREAMBLE + r2, b + PL_BUNDLE_PREAMBLE, r1);
    memcpy(swapped + PL_BUNDLE_PREAMBLE + r1 + r2, b + PL_BUNDLE_PREAMBLE + r1 + r2,
           n - PL_BUNDLE_PREAMBLE - r1 - r2);
    CHECK_EQ_INT(fmt_bundle_decode(swapped, n, key, &got, &list, &plain), PL_FMT_CRYPTO);
    free(swapped);
    /* The preamble claims one entry more than there is. */
    b[4 + 4 + 32 + 32 + 4] = 3; /* count */
    CHECK(fmt_bundle_decode(b, n, key, &got, &list, &plain) != PL_FMT_OK);
    free(b);

    /* A signing key that is not the named exporter's: refused at encode. */
    uint8_t opk[PL_SIGN_PK_BYTES], osk[PL_SIGN_SK_BYTES];
    crypto_sign_keypair(opk, osk);
    info.count = 1;
    CHECK_EQ_INT(fmt_bundle_encode(&info, key, osk, &e, &b, &n), PL_FMT_CRYPTO);
    CHECK(b == NULL);
    /* Bad preambles. */
    uint8_t junk[PL_BUNDLE_PREAMBLE] = "PLBX";
    CHECK_EQ_INT(fmt_bundle_info(junk, sizeof junk, &got), PL_FMT_VERSION);
    CHECK_EQ_INT(fmt_bundle_info(junk, sizeof junk - 1, &got), PL_FMT_TRUNCATED);
    /* Over the size cap: refused on the length alone, before a byte is read. */
    CHECK_EQ_INT(fmt_bundle_info(junk, (size_t)PL_BUNDLE_MAX_BYTES + 1, &got), PL_FMT_TOO_BIG);
    return check_done("test_fmt_bundle");
}
