/* Golden vectors of formats/keyslots.md §6 (Argon2id key-encryption keys, sealed slots, the
 * file, master-key subkeys, identity secrets) and the keyslots decoder against truncation,
 * trailing bytes, every single-bit flip and oversized fields. */
#include <stdint.h>
#include <string.h>

#include <argon2.h>
#include <sodium.h>

#include "formats/keyslots.h"
#include "formats/text.h"
#include "tests/unit/check.h"
#include "tests/unit/hex.h"

/* ---- the hex of formats/keyslots.md §6, line for line ----------------------------------- */

static const char KS_KEK1[] =
    "9aeef75313e585f492c33c5e12d82e9ad253b7dd78632d537e899cd4eddd789c";
static const char KS_SLOT1_AD[] =
    "706565726c6f672f76312f6b6579736c6f740001010100000020000001000000"
    "01000000000102030405060708090a0b0c0d0e0f101112131415161718191a1b"
    "1c1d1e1f2021222324252627";
static const char KS_SLOT1_CT[] =
    "c38c8a1c061f76d2d0f427db24b00e583cb9ffba78fdfb1703f617549a855735"
    "dd3016c54ab15bc54dd11e03a2ff2c22";
static const char KS_KEK2[] =
    "40847cc9a3d5faff1be628ac07be561ed2d6139e39f9516ccdbdf8e2a018b851";
static const char KS_SLOT2_CT[] =
    "1f99259cfa913aae06cb125516af295322baa39aede35ff2abd4ccbaefaa7c41"
    "87a0ab545c284a0de89f6eadadc2819b";
static const char KS_FILE[] =
    "504c4b5301020000010100000020000001000000010000000001020304050607"
    "08090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f2021222324252627"
    "c38c8a1c061f76d2d0f427db24b00e583cb9ffba78fdfb1703f617549a855735"
    "dd3016c54ab15bc54dd11e03a2ff2c2202010000002000000100000001000000"
    "303132333435363738393a3b3c3d3e3f404142434445464748494a4b4c4d4e4f"
    "50515253545556571f99259cfa913aae06cb125516af295322baa39aede35ff2"
    "abd4ccbaefaa7c4187a0ab545c284a0de89f6eadadc2819b";
static const char KS_SUBKEY1[] =
    "a990320cbaf379da41ab3f72cfcd109b4eb33c5b6a34c7a05ad35f56a2796ee1";
static const char KS_SUBKEY2[] =
    "2ba4e4770731555897045da51779d6094bc24f80dd86a50ac90566cbd75115ec";
static const char ID_AD[] =
    "706565726c6f672f76312f6964656e746974792d736563726574730003a107bf"
    "f3ce10be1d70dd18e74bc09967e4d6309ba50d5f1ddc8664125531b85730800a"
    "b340fcb18ce5111eda9d705f91388b41e4544cbd103ba5942db2233e";
static const char ID_SECRETS[] =
    "58595a5b5c5d5e5f606162636465666768696a6b6c6d6e6ffe2bd39b534b807c"
    "700f9dda4614665928c09b83bff9f923cbdd80872fb03dcf6353eca347448759"
    "2b1bf611c77e22048c66b0b4bb16ddfda69a6689eb1b3f0014c606583c36371e"
    "66ae1b59f4708ab749a98f34c428f44a6cd1062e7da93819a4812f1c68f8e300"
    "dd041af2337b8f57";
static const char AUTHOR_SIGN_PK[] =
    "03a107bff3ce10be1d70dd18e74bc09967e4d6309ba50d5f1ddc8664125531b8";
static const char AUTHOR_SIGN_SK[] =
    "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"
    "03a107bff3ce10be1d70dd18e74bc09967e4d6309ba50d5f1ddc8664125531b8";
static const char AUTHOR_BOX_PK[] =
    "5730800ab340fcb18ce5111eda9d705f91388b41e4544cbd103ba5942db2233e";
static const char AUTHOR_BOX_SK[] =
    "887af58a36202e05c4c1cfec5bf6c61fad66bca851536004074b31f1b56e4ac9";

static const char PASSPHRASE[] = "correct horse battery staple";
static const char RECOVERY[] = "000G-40R4-0M30-E209-185G-R38E";


static uint8_t master[PL_MASTER_KEY_BYTES], kek1[PL_KEY_BYTES], kek2[PL_KEY_BYTES];

/* The slot of keyslots.md §6 before sealing: kind, Argon2id 8 MiB / 1 pass / 1 lane. */
static void make_slot(pl_keyslot *s, uint8_t kind, unsigned salt_from, unsigned nonce_from)
{
    memset(s, 0, sizeof *s);
    s->kind = kind;
    s->kdf = PL_KS_KDF_ARGON2ID;
    s->m_kib = 8192;
    s->t = 1;
    s->lanes = 1;
    count_from(s->salt, sizeof s->salt, salt_from);
    count_from(s->nonce, sizeof s->nonce, nonce_from);
}

static int same_slot(const pl_keyslot *a, const pl_keyslot *b)
{
    return a->kind == b->kind && a->kdf == b->kdf && a->m_kib == b->m_kib && a->t == b->t &&
           a->lanes == b->lanes && memcmp(a->salt, b->salt, sizeof a->salt) == 0 &&
           memcmp(a->nonce, b->nonce, sizeof a->nonce) == 0 &&
           memcmp(a->ct, b->ct, sizeof a->ct) == 0;
}

/* §2: the key-encryption keys, computed by libargon2 as vault/keys.c does. */
static void test_kek(void)
{
    uint8_t salt[PL_KS_SALT_BYTES];
    count_from(master, sizeof master, 0xc0);
    count_from(salt, sizeof salt, 0x00);
    CHECK(argon2id_hash_raw(1, 8192, 1, PASSPHRASE, strlen(PASSPHRASE), salt, sizeof salt, kek1,
                            sizeof kek1) == ARGON2_OK);
    CHECK_HEX(kek1, sizeof kek1, KS_KEK1);
    count_from(salt, sizeof salt, 0x30);
    CHECK_EQ_INT(strlen(RECOVERY), PL_RECOVERY_LEN);
    CHECK(argon2id_hash_raw(1, 8192, 1, RECOVERY, PL_RECOVERY_LEN, salt, sizeof salt, kek2,
                            sizeof kek2) == ARGON2_OK);
    CHECK_HEX(kek2, sizeof kek2, KS_KEK2);
}

/* §3 and §1: sealing, the file bytes, decoding, opening, and what must not open. */
static void test_file(void)
{
    static pl_keyslots ks, d;
    uint8_t file[PL_KS_FILE_MAX], re[PL_KS_FILE_MAX], ad[128], back[PL_MASTER_KEY_BYTES];
    size_t len = 0, rlen = 0;
    memset(&ks, 0, sizeof ks);
    ks.nslots = 2;
    make_slot(&ks.slot[0], PL_KS_KIND_PASSPHRASE, 0x00, 0x10);
    make_slot(&ks.slot[1], PL_KS_KIND_RECOVERY, 0x30, 0x40);
    fmt_keyslot_seal(&ks.slot[0], kek1, master);
    fmt_keyslot_seal(&ks.slot[1], kek2, master);
    CHECK_HEX(ks.slot[0].ct, PL_KS_CT_BYTES, KS_SLOT1_CT);
    CHECK_HEX(ks.slot[1].ct, PL_KS_CT_BYTES, KS_SLOT2_CT);
    CHECK_EQ_INT(fmt_keyslots_encode(&ks, file, sizeof file, &len), PL_FMT_OK);
    CHECK_HEX(file, len, KS_FILE);
    CHECK_EQ_INT(len, PL_KS_FILE_HEADER + 2 * PL_KS_SLOT_BYTES);

    CHECK_EQ_INT(fmt_keyslots_decode(file, len, &d), PL_FMT_OK);
    CHECK(d.nslots == 2 && same_slot(&d.slot[0], &ks.slot[0]) &&
          same_slot(&d.slot[1], &ks.slot[1]));
    CHECK_EQ_INT(fmt_keyslots_encode(&d, re, sizeof re, &rlen), PL_FMT_OK);
    CHECK(rlen == len && memcmp(re, file, len) == 0);

    CHECK_EQ_INT(fmt_keyslot_open(&d.slot[0], kek1, back), PL_FMT_OK);
    CHECK(memcmp(back, master, sizeof back) == 0);
    CHECK_EQ_INT(fmt_keyslot_open(&d.slot[1], kek2, back), PL_FMT_OK);
    CHECK(memcmp(back, master, sizeof back) == 0);
    CHECK_EQ_INT(fmt_keyslot_open(&d.slot[0], kek2, back), PL_FMT_CRYPTO);
    CHECK_EQ_INT(fmt_keyslot_open(&d.slot[1], kek1, back), PL_FMT_CRYPTO);

    /* The AD as keyslots.md §3 spells it out is the one used. */
    size_t adn = unhex(KS_SLOT1_AD, ad, sizeof ad);
    CHECK_EQ_INT(adn, 76);
    CHECK(crypto_aead_xchacha20poly1305_ietf_decrypt(back, NULL, NULL, d.slot[0].ct,
                                                     PL_KS_CT_BYTES, ad, adn, d.slot[0].nonce,
                                                     kek1) == 0);
    CHECK(memcmp(back, master, sizeof back) == 0);

    /* Every field bound as AD: changing any makes the slot fail like a wrong passphrase. */
    pl_keyslot s;
#define MUST_NOT_OPEN(change)                                                                 \
    do {                                                                                      \
        s = d.slot[0];                                                                        \
        change;                                                                               \
        CHECK_EQ_INT(fmt_keyslot_open(&s, kek1, back), PL_FMT_CRYPTO);                        \
    } while (0)
    MUST_NOT_OPEN(s.kind = PL_KS_KIND_RECOVERY);
    MUST_NOT_OPEN(s.m_kib = 16384);
    MUST_NOT_OPEN(s.t = 2);
    MUST_NOT_OPEN(s.lanes = 2);
    MUST_NOT_OPEN(s.salt[15] ^= 1);
    MUST_NOT_OPEN(s.nonce[0] ^= 1);
    MUST_NOT_OPEN(s.ct[0] ^= 1);
    MUST_NOT_OPEN(s.ct[PL_KS_CT_BYTES - 1] ^= 0x80);
#undef MUST_NOT_OPEN
}

/* §4: subkeys 1 and 2, the SQLCipher key string, and the identity secrets. */
static void test_subkeys(void)
{
    uint8_t k1[PL_KEY_BYTES], k2[PL_KEY_BYTES], nonce[PL_BODY_NONCE_BYTES];
    uint8_t spk[32], ssk[64], bpk[32], bsk[32], plain[96], ad[128], blob[136], back[96];
    char raw[3 + 2 * PL_KEY_BYTES + 1], want[sizeof raw];
    CHECK(crypto_kdf_derive_from_key(k1, sizeof k1, 1, "plvault1", master) == 0);
    CHECK(crypto_kdf_derive_from_key(k2, sizeof k2, 2, "plvault1", master) == 0);
    CHECK_HEX(k1, sizeof k1, KS_SUBKEY1);
    CHECK_HEX(k2, sizeof k2, KS_SUBKEY2);
    raw[0] = 'x';
    raw[1] = '\'';
    sodium_bin2hex(raw + 2, 2 * PL_KEY_BYTES + 1, k1, sizeof k1);
    raw[2 + 2 * PL_KEY_BYTES] = '\'';
    raw[3 + 2 * PL_KEY_BYTES] = '\0';
    snprintf(want, sizeof want, "x'%s'", KS_SUBKEY1);
    CHECK_STR(raw, want);

    CHECK(unhex(AUTHOR_SIGN_PK, spk, sizeof spk) == 32 && unhex(AUTHOR_SIGN_SK, ssk, 64) == 64);
    CHECK(unhex(AUTHOR_BOX_PK, bpk, sizeof bpk) == 32 && unhex(AUTHOR_BOX_SK, bsk, 32) == 32);
    memcpy(ad, "peerlog/v1/identity-secrets", 28);
    memcpy(ad + 28, spk, 32);
    memcpy(ad + 60, bpk, 32);
    CHECK_HEX(ad, 92, ID_AD);
    memcpy(plain, ssk, 64);
    memcpy(plain + 64, bsk, 32);
    count_from(nonce, sizeof nonce, 0x58);
    memcpy(blob, nonce, sizeof nonce);
    crypto_aead_xchacha20poly1305_ietf_encrypt(blob + 24, NULL, plain, sizeof plain, ad, 92, NULL,
                                               nonce, k2);
    CHECK_HEX(blob, sizeof blob, ID_SECRETS);
    CHECK(crypto_aead_xchacha20poly1305_ietf_decrypt(back, NULL, NULL, blob + 24, 112, ad, 92,
                                                     blob, k2) == 0);
    CHECK(memcmp(back, plain, sizeof back) == 0);
}

/* §6 "Must be rejected", then truncations, a trailing byte, bit flips and oversized fields. */
static void test_decoder_robust(void)
{
    static const struct {
        size_t off;
        const char *hex;
        pl_fmt_status want;
    } rows[] = {
        {0, "504c4b54", PL_FMT_VERSION}, {4, "02", PL_FMT_VERSION},
        {5, "00", PL_FMT_FIELD},         {5, "05", PL_FMT_FIELD},
        {6, "01", PL_FMT_FIELD},         {8, "03", PL_FMT_FIELD},
        {8, "00", PL_FMT_FIELD},         {9, "02", PL_FMT_FIELD},
        {10, "01", PL_FMT_FIELD},        {12, "07000000", PL_FMT_FIELD},
        {12, "01004000", PL_FMT_FIELD},  {12, "00004000", PL_FMT_OK},
        {16, "00000000", PL_FMT_FIELD},  {16, "41000000", PL_FMT_FIELD},
        {16, "40000000", PL_FMT_OK},     {20, "00000000", PL_FMT_FIELD},
        {20, "41000000", PL_FMT_FIELD},  {20, "02000000", PL_FMT_OK},
        {20, "40000000", PL_FMT_OK}, /* 64 lanes need at least 512 KiB: 8192 is enough */
    };
    static uint8_t good[PL_KS_FILE_MAX + 1], m[PL_KS_FILE_MAX + 1], re[PL_KS_FILE_MAX];
    static pl_keyslots ks;
    size_t n = unhex(KS_FILE, good, sizeof good), rlen = 0;
    int not_truncated = 0, accepted = 0, bad_flip = 0;
    CHECK_EQ_INT(n, 216);
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        memcpy(m, good, n);
        CHECK(unhex(rows[i].hex, m + rows[i].off, sizeof m - rows[i].off) > 0);
        CHECK_EQ_INT(fmt_keyslots_decode(m, n, &ks), rows[i].want);
    }
    for (size_t len = 0; len < n; len++)
        not_truncated += fmt_keyslots_decode(good, len, &ks) != PL_FMT_TRUNCATED;
    CHECK_EQ_INT(not_truncated, 0);
    CHECK_EQ_INT(fmt_keyslots_decode(NULL, 0, &ks), PL_FMT_TRUNCATED);
    memcpy(m, good, n);
    m[n] = 0;
    CHECK_EQ_INT(fmt_keyslots_decode(m, n + 1, &ks), PL_FMT_TRAILING);
    /* A file of one slot is a valid file: nslots = 1 leaves slot 2 trailing. */
    memcpy(m, good, n);
    m[5] = 1;
    CHECK_EQ_INT(fmt_keyslots_decode(m, n, &ks), PL_FMT_TRAILING);
    CHECK_EQ_INT(fmt_keyslots_decode(m, PL_KS_FILE_HEADER + PL_KS_SLOT_BYTES, &ks), PL_FMT_OK);

    for (size_t bit = 0; bit < 8 * n; bit++) {
        memcpy(m, good, n);
        m[bit / 8] ^= (uint8_t)(1u << (bit % 8));
        if (fmt_keyslots_decode(m, n, &ks) != PL_FMT_OK)
            continue;
        accepted++;
        if (fmt_keyslots_encode(&ks, re, sizeof re, &rlen) != PL_FMT_OK || rlen != n ||
            memcmp(re, m, n) != 0)
            bad_flip++;
    }
    CHECK_EQ_INT(bad_flip, 0);
    CHECK(accepted > 0);

    static const size_t u32_at[] = {12, 16, 20, 12 + 104, 16 + 104, 20 + 104};
    for (size_t i = 0; i < sizeof u32_at / sizeof u32_at[0]; i++) {
        memcpy(m, good, n);
        memset(m + u32_at[i], 0xff, 4);
        CHECK_EQ_INT(fmt_keyslots_decode(m, n, &ks), PL_FMT_FIELD);
    }
    memcpy(m, good, n);
    m[5] = 0xff;
    CHECK_EQ_INT(fmt_keyslots_decode(m, n, &ks), PL_FMT_FIELD);
}

/* The encoder refuses what the decoder refuses and never writes past its buffer. */
static void test_encode_rejects(void)
{
    static pl_keyslots ks, bad;
    uint8_t out[PL_KS_FILE_MAX];
    size_t len = 0, full = 0;
    int wrote = 0;
    memset(&ks, 0, sizeof ks);
    ks.nslots = 1;
    make_slot(&ks.slot[0], PL_KS_KIND_PASSPHRASE, 0, 0);
    CHECK_EQ_INT(fmt_keyslots_encode(&ks, out, sizeof out, &full), PL_FMT_OK);
    CHECK_EQ_INT(full, PL_KS_FILE_HEADER + PL_KS_SLOT_BYTES);
    for (size_t cap = 0; cap < full; cap++)
        wrote += fmt_keyslots_encode(&ks, out, cap, &len) != PL_FMT_TOO_BIG;
    CHECK_EQ_INT(wrote, 0);
#define REFUSE(change)                                                                        \
    do {                                                                                      \
        bad = ks;                                                                             \
        change;                                                                               \
        CHECK_EQ_INT(fmt_keyslots_encode(&bad, out, sizeof out, &len), PL_FMT_FIELD);         \
    } while (0)
    REFUSE(bad.nslots = 0);
    REFUSE(bad.nslots = PL_KS_MAX_SLOTS + 1);
    REFUSE(bad.slot[0].kind = 3);
    REFUSE(bad.slot[0].kdf = 2);
    REFUSE(bad.slot[0].m_kib = PL_KS_M_KIB_MIN - 1);
    REFUSE(bad.slot[0].m_kib = PL_KS_M_KIB_MAX + 1);
    REFUSE(bad.slot[0].t = 0);
    REFUSE(bad.slot[0].t = PL_KS_T_MAX + 1);
    REFUSE(bad.slot[0].lanes = 0);
    REFUSE(bad.slot[0].lanes = PL_KS_LANES_MAX + 1);
    REFUSE((bad.slot[0].lanes = 2, bad.slot[0].m_kib = 15));
#undef REFUSE
}

int main(void)
{
    if (sodium_init() < 0)
        return 1;
    test_kek();
    test_file();
    test_subkeys();
    test_decoder_robust();
    test_encode_rejects();
    return check_done("test_fmt_keyslots");
}
