/* Invitations (formats/bundle.md §4): the golden vector I1 made with deterministic
 * randomness, its sealed part rebuilt from the primitives the specification names, the round
 * trip, and that every truncation, every bit flip, a wrong box key and a sealed part that
 * disagrees with the clear fields are refused. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "formats/invite.h"
#include "tests/unit/check.h"
#include "tests/unit/hex.h"

/* Where the fields start (bundle.md §4.1). */
enum {
    AT_VERSION = 4,
    AT_RESERVED = 5,
    AT_ORG = 8,
    AT_EPOCH = AT_ORG + PL_ID_BYTES,
    AT_MEMBER = AT_EPOCH + 4,
    AT_SEALED = AT_MEMBER + PL_SIGN_PK_BYTES
};
_Static_assert(AT_SEALED + PL_INVITE_SEALED == PL_INVITE_BYTES, "layout of bundle.md §4.1");
_Static_assert(PL_INVITE_SEALED == PL_INVITE_PLAIN + crypto_box_SEALBYTES, "sealed box size");
_Static_assert(PL_INVITE_PLAIN == 122, "sealed plaintext size as in bundle.md §4.2");

/* Deterministic randomness for the vector: call k (from 0) draws from the seed k as u64
 * little-endian followed by 24 zero bytes. */
static uint64_t draws;
static void det_seed(uint8_t seed[randombytes_SEEDBYTES])
{
    memset(seed, 0, randombytes_SEEDBYTES);
    for (size_t i = 0; i < 8; i++)
        seed[i] = (uint8_t)(draws >> (8 * i));
    draws++;
}
static const char *det_name(void) { return "peerlog-test-deterministic"; }
static uint32_t det_random(void)
{
    uint8_t seed[randombytes_SEEDBYTES], b[4];
    det_seed(seed);
    randombytes_buf_deterministic(b, sizeof b, seed);
    return (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
}
static void det_buf(void *p, size_t n)
{
    uint8_t seed[randombytes_SEEDBYTES];
    det_seed(seed);
    randombytes_buf_deterministic(p, n, seed);
}
static void det_stir(void) {}
static int det_close(void) { return 0; }
static struct randombytes_implementation det = {det_name, det_random, det_stir, NULL, det_buf,
                                                det_close};

/* I1 of formats/bundle.md §4.4: member box key pair from crypto_box_seed_keypair(32 × 0x02),
 * org = 32 × 0x0a, epoch 1, member = the Ed25519 public key of
 * crypto_sign_seed_keypair(32 × 0x01), exchange key = 32 × 0x0b; the ephemeral key is
 * randombytes call 0. */
static const char I1_MEMBER_BOX_PK[] =
    "60346e7c911a5f6ba154129174cafe75b294ac3bbd5549632f48cec6266f8410";
static const char I1_MEMBER[] =
    "8a88e3dd7409f195fd52db2d3cba5d72ca6709bf1d94121bf3748801b40f6f5c";
static const char I1_PLAIN[] =
    "706565726c6f672f76312f696e7669746174696f6e000a0a0a0a0a0a0a0a0a0a"
    "0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a010000008a88e3dd7409"
    "f195fd52db2d3cba5d72ca6709bf1d94121bf3748801b40f6f5c0b0b0b0b0b0b"
    "0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b";
static const char I1_HEX[] =
    "504c494e010000000a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a"
    "0a0a0a0a0a0a0a0a010000008a88e3dd7409f195fd52db2d3cba5d72ca6709bf"
    "1d94121bf3748801b40f6f5cee590d60b880f51116a8da348d8039ab66653de6"
    "11e3070f0fcc0f1b0f1a8f19859bc5ce94f1d0f447e7d9a242cf544115a20b5e"
    "303e750436230b12ab4ac90bfd2c8a6b935bbfde12085b0259ac92b9cccdf08e"
    "6811cece0f700a2eb6583c63d2a46909dcd31cf7078e588f25feb0a9a160487b"
    "6aafd1fc563b71756c642903f24040ea494528828d12c380eb550ac957bb99a4"
    "daa76ff3a0bfe522c0ae06f3adae43f0d0c12160f5c5";

static const char DOMAIN[] = PL_DOM_INVITE;
_Static_assert(sizeof DOMAIN == 22, "domain with its NUL as in bundle.md §4.2");

/* The sealed plaintext of bundle.md §4.2 for info and key. */
static void make_plain(const pl_invite_info *info, const uint8_t key[PL_KEY_BYTES],
                       uint8_t plain[PL_INVITE_PLAIN])
{
    size_t at = 0;
    memcpy(plain + at, DOMAIN, sizeof DOMAIN);
    at += sizeof DOMAIN;
    memcpy(plain + at, info->org, PL_ID_BYTES);
    at += PL_ID_BYTES;
    for (size_t i = 0; i < 4; i++)
        plain[at + i] = (uint8_t)(info->epoch >> (8 * i));
    at += 4;
    memcpy(plain + at, info->member, PL_SIGN_PK_BYTES);
    at += PL_SIGN_PK_BYTES;
    memcpy(plain + at, key, PL_KEY_BYTES);
}

/* inv = clear (magic .. member) || crypto_box_seal(plain, box_pk), sealed here by hand. */
static void seal_by_hand(const uint8_t clear[AT_SEALED], const uint8_t plain[PL_INVITE_PLAIN],
                         const uint8_t box_pk[PL_BOX_PK_BYTES], uint8_t inv[PL_INVITE_BYTES])
{
    memcpy(inv, clear, AT_SEALED);
    CHECK(crypto_box_seal(inv + AT_SEALED, plain, PL_INVITE_PLAIN, box_pk) == 0);
}

/* What fmt_invite_open says when bit `bit` of a valid invitation is flipped: magic and
 * version are unknown, a reserved byte is not zero, a clear field is no longer what the
 * sealed part repeats, the sealed part does not authenticate. */
static pl_fmt_status flipped_status(size_t bit)
{
    size_t at = bit / 8;
    if (at < AT_RESERVED)
        return PL_FMT_VERSION;
    if (at < AT_SEALED)
        return PL_FMT_FIELD;
    return PL_FMT_CRYPTO;
}

static int same_info(const pl_invite_info *a, const pl_invite_info *b)
{
    return memcmp(a->org, b->org, PL_ID_BYTES) == 0 && a->epoch == b->epoch &&
           memcmp(a->member, b->member, PL_SIGN_PK_BYTES) == 0;
}

int main(void)
{
    randombytes_set_implementation(&det);
    if (sodium_init() < 0)
        return 1;
    uint8_t seed[32], sign_pk[PL_SIGN_PK_BYTES], sign_sk[PL_SIGN_SK_BYTES],
        box_pk[PL_BOX_PK_BYTES], box_sk[PL_BOX_SK_BYTES], key[PL_KEY_BYTES],
        got_key[PL_KEY_BYTES];
    memset(seed, 0x01, sizeof seed);
    crypto_sign_seed_keypair(sign_pk, sign_sk, seed);
    memset(seed, 0x02, sizeof seed);
    crypto_box_seed_keypair(box_pk, box_sk, seed);
    CHECK_HEX(box_pk, sizeof box_pk, I1_MEMBER_BOX_PK);
    CHECK_HEX(sign_pk, sizeof sign_pk, I1_MEMBER);
    memset(key, 0x0b, sizeof key);
    pl_invite_info info = {.epoch = 1}, got;
    memset(info.org, 0x0a, sizeof info.org);
    memcpy(info.member, sign_pk, sizeof sign_pk);

    /* The golden vector, byte for byte; crypto_box_seal draws its ephemeral key once. */
    uint8_t b[PL_INVITE_BYTES];
    draws = 0;
    CHECK_EQ_INT(fmt_invite_encode(&info, key, box_pk, b), PL_FMT_OK);
    CHECK_EQ_INT(draws, 1);
    CHECK_HEX(b, sizeof b, I1_HEX);
    {
        /* A low-order member key cannot be sealed to: refused, nothing half written. */
        uint8_t zero_pk[PL_BOX_PK_BYTES] = {0}, z[PL_INVITE_BYTES];
        memset(z, 0x55, sizeof z);
        CHECK_EQ_INT(fmt_invite_encode(&info, key, zero_pk, z), PL_FMT_CRYPTO);
        CHECK(sodium_is_zero(z, sizeof z));
    }
    if (getenv("PL_PRINT_VECTORS")) {
        char hex[2 * PL_INVITE_BYTES + 1];
        sodium_bin2hex(hex, sizeof hex, b, sizeof b);
        printf("%s\n", hex);
    }

    /* The sealed part rebuilt as bundle.md §4.2 spells crypto_box_seal out: the ephemeral
     * secret key is randombytes call 0, the nonce BLAKE2b-192(epk || member box key). */
    uint8_t plain[PL_INVITE_PLAIN], opened[PL_INVITE_PLAIN];
    make_plain(&info, key, plain);
    CHECK_HEX(plain, sizeof plain, I1_PLAIN);
    {
        uint8_t esk[crypto_box_SECRETKEYBYTES], nonce[crypto_box_NONCEBYTES],
            both[2 * crypto_box_PUBLICKEYBYTES], sealed[PL_INVITE_SEALED];
        draws = 0;
        det_seed(seed);
        randombytes_buf_deterministic(esk, sizeof esk, seed);
        CHECK(crypto_scalarmult_base(sealed, esk) == 0);
        memcpy(both, sealed, crypto_box_PUBLICKEYBYTES);
        memcpy(both + crypto_box_PUBLICKEYBYTES, box_pk, crypto_box_PUBLICKEYBYTES);
        crypto_generichash(nonce, sizeof nonce, both, sizeof both, NULL, 0);
        CHECK(crypto_box_easy(sealed + crypto_box_PUBLICKEYBYTES, plain, sizeof plain, nonce,
                              box_pk, esk) == 0);
        CHECK(memcmp(sealed, b + AT_SEALED, sizeof sealed) == 0);
        CHECK(crypto_box_seal_open(opened, b + AT_SEALED, PL_INVITE_SEALED, box_pk,
                                   box_sk) == 0);
        CHECK(memcmp(opened, plain, sizeof plain) == 0);
    }

    /* Round trip: the clear fields, then the key. */
    const uint8_t *rest = NULL;
    size_t rest_len = 1;
    CHECK_EQ_INT(fmt_invite_info(b, sizeof b, &got, &rest, &rest_len), PL_FMT_OK);
    CHECK(same_info(&got, &info));
    CHECK(rest == b + sizeof b);
    CHECK_EQ_INT(rest_len, 0);
    CHECK_EQ_INT(fmt_invite_info(b, sizeof b, &got, NULL, NULL), PL_FMT_OK);
    memset(&got, 0, sizeof got);
    CHECK_EQ_INT(fmt_invite_open(b, sizeof b, box_pk, box_sk, &got, got_key), PL_FMT_OK);
    CHECK(same_info(&got, &info));
    CHECK(memcmp(got_key, key, sizeof key) == 0);

    /* Every truncation is refused, by both, reading nothing past the end (a heap copy of
     * exactly k bytes, so AddressSanitizer sees an overread). */
    int bad_trunc = 0;
    for (size_t k = 0; k < sizeof b; k++) {
        uint8_t *t = malloc(k ? k : 1);
        memcpy(t, b, k);
        memset(got_key, 0xee, sizeof got_key);
        if (fmt_invite_info(t, k, &got, &rest, &rest_len) != PL_FMT_TRUNCATED ||
            fmt_invite_open(t, k, box_pk, box_sk, &got, got_key) != PL_FMT_TRUNCATED ||
            memcmp(got_key, key, sizeof key) == 0)
            bad_trunc++;
        free(t);
    }
    CHECK_EQ_INT(bad_trunc, 0);

    /* Every single-bit flip is refused by fmt_invite_open, each for its own reason; the clear
     * fields alone (fmt_invite_info) still read, the header bytes do not. No key comes out. */
    int bad_flip = 0;
    for (size_t k = 0; k < 8 * sizeof b; k++) {
        b[k / 8] ^= (uint8_t)(1u << (k % 8));
        pl_fmt_status want = flipped_status(k);
        pl_fmt_status want_info = k / 8 < AT_ORG ? want : PL_FMT_OK;
        memset(got_key, 0xee, sizeof got_key);
        pl_fmt_status st = fmt_invite_open(b, sizeof b, box_pk, box_sk, &got, got_key);
        if (st != want || fmt_invite_info(b, sizeof b, &got, NULL, NULL) != want_info ||
            memcmp(got_key, key, sizeof key) == 0) {
            if (bad_flip++ == 0)
                fprintf(stderr, "  bit %zu: status %d, want %d\n", k, (int)st, (int)want);
        }
        b[k / 8] ^= (uint8_t)(1u << (k % 8));
    }
    CHECK_EQ_INT(bad_flip, 0);
    CHECK_HEX(b, sizeof b, I1_HEX);

    /* A box key pair the invitation was not sealed to. */
    uint8_t other_pk[PL_BOX_PK_BYTES], other_sk[PL_BOX_SK_BYTES];
    memset(seed, 0x03, sizeof seed);
    crypto_box_seed_keypair(other_pk, other_sk, seed);
    memset(got_key, 0xee, sizeof got_key);
    CHECK_EQ_INT(fmt_invite_open(b, sizeof b, other_pk, other_sk, &got, got_key),
                 PL_FMT_CRYPTO);
    CHECK(memcmp(got_key, key, sizeof key) != 0);
    /* The right public key with another secret key. */
    CHECK_EQ_INT(fmt_invite_open(b, sizeof b, box_pk, other_sk, &got, got_key), PL_FMT_CRYPTO);

    /* Bytes after the invitation (a bundle that came with it) are the rest, not an error. */
    static const uint8_t tail[] = "PLBU\1\0\0";
    uint8_t longer[PL_INVITE_BYTES + sizeof tail];
    memcpy(longer, b, sizeof b);
    memcpy(longer + sizeof b, tail, sizeof tail);
    CHECK_EQ_INT(fmt_invite_info(longer, sizeof longer, &got, &rest, &rest_len), PL_FMT_OK);
    CHECK(same_info(&got, &info));
    CHECK(rest == longer + PL_INVITE_BYTES);
    CHECK_EQ_INT(rest_len, sizeof tail);
    CHECK_EQ_INT(fmt_invite_open(longer, sizeof longer, box_pk, box_sk, &got, got_key),
                 PL_FMT_OK);
    CHECK(memcmp(got_key, key, sizeof key) == 0);

    /* Sealed parts made by hand: as the encoder makes it (opens), then with the domain, org,
     * epoch or member differing from the clear part (refused as a field, no key out). */
    uint8_t inv[PL_INVITE_BYTES], p[PL_INVITE_PLAIN];
    seal_by_hand(b, plain, box_pk, inv);
    CHECK_EQ_INT(fmt_invite_open(inv, sizeof inv, box_pk, box_sk, &got, got_key), PL_FMT_OK);
    CHECK(memcmp(got_key, key, sizeof key) == 0);
    /* domain first and last byte, org first and last, epoch first and last, member first
     * and last */
    static const size_t changed[] = {0,
                                     sizeof DOMAIN - 1,
                                     sizeof DOMAIN,
                                     sizeof DOMAIN + PL_ID_BYTES - 1,
                                     sizeof DOMAIN + PL_ID_BYTES,
                                     sizeof DOMAIN + PL_ID_BYTES + 3,
                                     sizeof DOMAIN + PL_ID_BYTES + 4,
                                     PL_INVITE_PLAIN - PL_KEY_BYTES - 1};
    for (size_t i = 0; i < sizeof changed / sizeof changed[0]; i++) {
        memcpy(p, plain, sizeof p);
        p[changed[i]] ^= 0x01;
        seal_by_hand(b, p, box_pk, inv);
        memset(got_key, 0xee, sizeof got_key);
        CHECK_EQ_INT(fmt_invite_open(inv, sizeof inv, box_pk, box_sk, &got, got_key),
                     PL_FMT_FIELD);
        CHECK(memcmp(got_key, key, sizeof key) != 0);
    }
    /* Another organisation named in the sealed part than in the clear one (§4.3 step 4). */
    pl_invite_info other = info;
    memset(other.org, 0x0c, sizeof other.org);
    make_plain(&other, key, p);
    seal_by_hand(b, p, box_pk, inv);
    memset(got_key, 0xee, sizeof got_key);
    CHECK_EQ_INT(fmt_invite_open(inv, sizeof inv, box_pk, box_sk, &got, got_key), PL_FMT_FIELD);
    CHECK(memcmp(got_key, key, sizeof key) != 0);
    /* ... and the clear part rewritten to name it: now the two agree (the clear part is only
     * as good as the sealed one; vault_join checks the organisation by its fingerprint). */
    memcpy(inv + AT_ORG, other.org, PL_ID_BYTES);
    CHECK_EQ_INT(fmt_invite_open(inv, sizeof inv, box_pk, box_sk, &got, got_key), PL_FMT_OK);
    CHECK(memcmp(got.org, other.org, PL_ID_BYTES) == 0);

    /* Headers: another magic, another version, a reserved byte set. */
    memcpy(inv, b, sizeof b);
    inv[0] = 'X';
    CHECK_EQ_INT(fmt_invite_info(inv, sizeof inv, &got, NULL, NULL), PL_FMT_VERSION);
    memcpy(inv, b, sizeof b);
    inv[AT_VERSION] = 2;
    CHECK_EQ_INT(fmt_invite_info(inv, sizeof inv, &got, NULL, NULL), PL_FMT_VERSION);
    memcpy(inv, b, sizeof b);
    inv[AT_RESERVED + 2] = 0x80;
    CHECK_EQ_INT(fmt_invite_info(inv, sizeof inv, &got, NULL, NULL), PL_FMT_FIELD);
    CHECK_EQ_INT(fmt_invite_open(inv, sizeof inv, box_pk, box_sk, &got, got_key), PL_FMT_FIELD);
    return check_done("test_fmt_invite");
}
