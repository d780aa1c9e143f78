/* Golden vectors of formats/entry.md §8 (keys, headers, ids, signatures, bodies, wraps) and of
 * formats/records.md §9.1 (identity export), and the header decoder against truncation,
 * trailing bytes, every single-bit flip and oversized length fields. */
#include <stdint.h>
#include <string.h>

#include <sodium.h>

#include "formats/entry.h"
#include "tests/unit/check.h"
#include "tests/unit/hex.h"
#include "vault/vault.h"

/* ---- the hex of formats/entry.md §8 and formats/records.md §9.1, line for line ---------- */

static const char AUTHOR_SIGN_PK[] =
    "03a107bff3ce10be1d70dd18e74bc09967e4d6309ba50d5f1ddc8664125531b8";
static const char AUTHOR_SIGN_SK[] =
    "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"
    "03a107bff3ce10be1d70dd18e74bc09967e4d6309ba50d5f1ddc8664125531b8";
static const char AUTHOR_BOX_PK[] =
    "5730800ab340fcb18ce5111eda9d705f91388b41e4544cbd103ba5942db2233e";
static const char AUTHOR_BOX_SK[] =
    "887af58a36202e05c4c1cfec5bf6c61fad66bca851536004074b31f1b56e4ac9";
static const char RECIPIENT_BOX_PK[] =
    "f14b5173130a1b80687f273d49e8f4740a793a949b83b105837f2a61e8fee14f";
static const char RECIPIENT_BOX_SK[] =
    "6428d4276d036d787ba4df5803e7d15ae9165e486417ad3ae5e48b49290cd696";
static const char H1_BODY[] =
    "a0a1a2a3a4a5a6a7a8a9aaabacadaeafb0b1b2b3b4b5b6b7068b17c73df0c78a"
    "829ce8980445df1b23aed5d1872467b62fd83da39d9e41da521e214560ee";
static const char H1_BODY_HASH[] =
    "36d336a4a9ef31aacb1fccf47c5102558001f6cd7680c5a29999feba33f2924d";
static const char H1_HEADER[] =
    "01046e6f746503a107bff3ce10be1d70dd18e74bc09967e4d6309ba50d5f1ddc"
    "8664125531b80100000000000000000000000000000000000000000000000000"
    "00000000000000000000000000008056d70d8e010000000000005730800ab340"
    "fcb18ce5111eda9d705f91388b41e4544cbd103ba5942db2233e015730800ab3"
    "40fcb18ce5111eda9d705f91388b41e4544cbd103ba5942db2233e3e00000036"
    "d336a4a9ef31aacb1fccf47c5102558001f6cd7680c5a29999feba33f2924d";
static const char H1_ID[] =
    "1c9c7f7ed8c57ba503c769618afd8e2a91e656af560c4703eab385f5aeaaac88";
static const char H1_SIG[] =
    "0970c3a83fb77bfd00f1558fcf184936583b6d4a4b3d3fdd76c0638d69762d2a"
    "bb864b182bb111a3c065a0a98843c4787e296be9660aa8c6aca91200c323bc0a";
static const char H2_BODY_AD[] =
    "706565726c6f672f76312f626f64790003a107bff3ce10be1d70dd18e74bc099"
    "67e4d6309ba50d5f1ddc8664125531b80200000000000000";
static const char H2_BODY[] =
    "b8b9babbbcbdbebfc0c1c2c3c4c5c6c7c8c9cacbcccdcecf0d64dc107b0755ef"
    "f9b84d313814e60bb04c671423ef7e06788fde0cb63addadff0e32e1cbd316ef"
    "42a1fcbbd622f25d38ceb75b00eb3a08e0b311fd06c931fe4ba4c5ec465fd320"
    "0fae29b189cb0f52b572a6aa61a371";
static const char H2_BODY_HASH[] =
    "8ab928b825e8342ed21c48b719b203ed1ec733b0d12b6a4723dece3938bf42f9";
static const char H2_HEADER[] =
    "0110636f6e73656e742e776974686472617703a107bff3ce10be1d70dd18e74b"
    "c09967e4d6309ba50d5f1ddc8664125531b802000000000000001c9c7f7ed8c5"
    "7ba503c769618afd8e2a91e656af560c4703eab385f5aeaaac88407035998e01"
    "00000b422d374b33512d3946324d012222222222222222222222222222222222"
    "2222222222222222222222222222222600646174653d323032342d30342d3031"
    "0a73636f7065733d7265636f72642d6b656570696e670a5730800ab340fcb18c"
    "e5111eda9d705f91388b41e4544cbd103ba5942db2233e025730800ab340fcb1"
    "8ce5111eda9d705f91388b41e4544cbd103ba5942db2233ef14b5173130a1b80"
    "687f273d49e8f4740a793a949b83b105837f2a61e8fee14f6f0000008ab928b8"
    "25e8342ed21c48b719b203ed1ec733b0d12b6a4723dece3938bf42f9";
static const char H2_ID[] =
    "7363369de0daba718895e7fdcc02ddfd84a44b3aec0c7d8f694ed7742486001e";
static const char H2_SIG_MESSAGE[] =
    "706565726c6f672f76312f656e7472792d736967007363369de0daba718895e7"
    "fdcc02ddfd84a44b3aec0c7d8f694ed7742486001e";
static const char H2_SIG[] =
    "f0e0422ac3802d9e85a9197fd486e9974a3185e73beec3a6d5e5f314277c636b"
    "690825f65b8bb0789e4699f5a826a272fbd86b73565537eceb4c4868c5bb7b0f";
static const char H2_SHARED_AUTHOR_AUTHOR[] =
    "213398d3c9d9668447fc42359e7ba305745339e9541cf2388f8330fc40b59e90";
static const char H2_SHARED_AUTHOR_RECIPIENT[] =
    "162cd7448bff548ea13f24d3f79ccd31e1ed466f63f849759d70d369ac6abf84";
static const char H2_WRAPS[] =
    "d0d1d2d3d4d5d6d7d8d9dadbdcdddedfe0e1e2e3e4e5e6e7cfd8e4e933f59c31"
    "28a960ae11db2ebc0e439d836a29a1c240f6ec4b5b1a44268a55565481e4fb6d"
    "386c1bdab6b71d82e8e9eaebecedeeeff0f1f2f3f4f5f6f7f8f9fafbfcfdfeff"
    "4a22d5755966700fe4111b62dcb574c6ef1a69cccab2a2c14cc9ac5b3ae68d5b"
    "46eb58baf11ca09cb12d06fe703e0ce8";
static const char EX_MESSAGE[] =
    "706565726c6f672f76312f6964656e746974792d6578706f72740003a107bff3"
    "ce10be1d70dd18e74bc09967e4d6309ba50d5f1ddc8664125531b85730800ab3"
    "40fcb18ce5111eda9d705f91388b41e4544cbd103ba5942db2233e0a00546573"
    "74204775696465";
static const char EX_SIG[] =
    "e11113fd4c75601b06e8079d8374c6c568741c398cef12f2dac55ee62d6e8ab1"
    "d6d4d8873b197a81257c6d054880caf21b0cee65e347ae30cb216a941ec2a706";
static const char EX_FINGERPRINT[] =
    "495de2f6cc72824be83684cf81e07551";

static const char H1_PLAIN[] = "{\"text\":\"First note.\"}";
static const char H2_PLAIN[] =
    "{\"date\":\"2024-04-01\",\"reason\":\"moved away\",\"scopes\":[\"record-keeping\"]}";
static const char H2_META[] = "date=2024-04-01\nscopes=record-keeping\n";


static uint8_t sign_pk[PL_SIGN_PK_BYTES], sign_sk[PL_SIGN_SK_BYTES];
static uint8_t box_pk[PL_BOX_PK_BYTES], box_sk[PL_BOX_SK_BYTES];
static uint8_t rcpt_pk[PL_BOX_PK_BYTES], rcpt_sk[PL_BOX_SK_BYTES];

/* §8.1: the three key pairs from the seeds 00..1f, 20..3f and 40..5f. */
static void test_keys(void)
{
    uint8_t seed[32];
    count_from(seed, sizeof seed, 0x00);
    CHECK(crypto_sign_seed_keypair(sign_pk, sign_sk, seed) == 0);
    count_from(seed, sizeof seed, 0x20);
    CHECK(crypto_box_seed_keypair(box_pk, box_sk, seed) == 0);
    count_from(seed, sizeof seed, 0x40);
    CHECK(crypto_box_seed_keypair(rcpt_pk, rcpt_sk, seed) == 0);
    CHECK_HEX(sign_pk, sizeof sign_pk, AUTHOR_SIGN_PK);
    CHECK_HEX(sign_sk, sizeof sign_sk, AUTHOR_SIGN_SK);
    CHECK_HEX(box_pk, sizeof box_pk, AUTHOR_BOX_PK);
    CHECK_HEX(box_sk, sizeof box_sk, AUTHOR_BOX_SK);
    CHECK_HEX(rcpt_pk, sizeof rcpt_pk, RECIPIENT_BOX_PK);
    CHECK_HEX(rcpt_sk, sizeof rcpt_sk, RECIPIENT_BOX_SK);
}

/* The fields of H1 (§8.2) or H2 (§8.3), given the sealed body's length and hash. */
static void make_header(int which, uint32_t body_len, const uint8_t hash[PL_HASH_BYTES],
                        pl_header *h)
{
    memset(h, 0, sizeof *h);
    h->version = PL_HEADER_VERSION;
    memcpy(h->feed, sign_pk, sizeof h->feed);
    memcpy(h->box_pk, box_pk, sizeof h->box_pk);
    memcpy(h->rcpt[0], box_pk, PL_BOX_PK_BYTES);
    h->nrcpt = 1;
    h->body_len = body_len;
    memcpy(h->body_hash, hash, PL_HASH_BYTES);
    if (which == 1) {
        strcpy(h->type, "note");
        h->seq = 1;
        h->time_ms = INT64_C(1709629200000);
        return;
    }
    strcpy(h->type, "consent.withdraw");
    h->seq = 2;
    CHECK(unhex(H1_ID, h->prev, sizeof h->prev) == PL_ID_BYTES);
    h->time_ms = INT64_C(1711967400000);
    strcpy(h->subject, "B-7K3Q-9F2M");
    h->nrefs = 1;
    memset(h->refs[0], 0x22, PL_ID_BYTES);
    strcpy(h->meta, H2_META);
    h->meta_len = (uint16_t)strlen(H2_META);
    memcpy(h->rcpt[1], rcpt_pk, PL_BOX_PK_BYTES);
    h->nrcpt = 2;
}

/* Seals, hashes, encodes, identifies and signs one vector entry and checks every step. */
static void check_entry(int which, const char *plain, unsigned key_from, unsigned nonce_from,
                        const char *want_body, const char *want_hash, const char *want_header,
                        const char *want_id, const char *want_sig)
{
    uint8_t key[PL_KEY_BYTES], nonce[PL_BODY_NONCE_BYTES], body[256], hash[PL_HASH_BYTES];
    uint8_t hdr[PL_HEADER_MAX], id[PL_ID_BYTES], sig[PL_SIG_BYTES], back[256];
    static pl_header h, d;
    size_t n = strlen(plain), hlen = 0;
    uint64_t seq = (uint64_t)which;
    count_from(key, sizeof key, key_from);
    count_from(nonce, sizeof nonce, nonce_from);
    CHECK_EQ_INT(fmt_body_seal_nonce(key, sign_pk, seq, nonce, (const uint8_t *)plain, n, body),
                 PL_FMT_OK);
    CHECK_HEX(body, n + PL_BODY_OVERHEAD, want_body);
    fmt_body_hash(body, n + PL_BODY_OVERHEAD, hash);
    CHECK_HEX(hash, sizeof hash, want_hash);

    /* The body opens under its own feed and seq only, and not once changed. */
    CHECK_EQ_INT(fmt_body_open(key, sign_pk, seq, body, n + PL_BODY_OVERHEAD, back), PL_FMT_OK);
    CHECK(memcmp(back, plain, n) == 0);
    CHECK_EQ_INT(fmt_body_open(key, sign_pk, seq + 1, body, n + PL_BODY_OVERHEAD, back),
                 PL_FMT_CRYPTO);
    CHECK_EQ_INT(fmt_body_open(key, rcpt_pk, seq, body, n + PL_BODY_OVERHEAD, back),
                 PL_FMT_CRYPTO);
    body[n + PL_BODY_OVERHEAD - 1] ^= 1;
    CHECK_EQ_INT(fmt_body_open(key, sign_pk, seq, body, n + PL_BODY_OVERHEAD, back),
                 PL_FMT_CRYPTO);
    CHECK_EQ_INT(fmt_body_open(key, sign_pk, seq, body, PL_BODY_OVERHEAD - 1, back),
                 PL_FMT_TRUNCATED);

    make_header(which, (uint32_t)(n + PL_BODY_OVERHEAD), hash, &h);
    CHECK_EQ_INT(fmt_header_encode(&h, hdr, sizeof hdr, &hlen), PL_FMT_OK);
    CHECK_HEX(hdr, hlen, want_header);
    CHECK_EQ_INT(fmt_header_decode(hdr, hlen, &d), PL_FMT_OK);
    CHECK_STR(d.type, h.type);
    CHECK_STR(d.subject, h.subject);
    CHECK_STR(d.meta, h.meta);
    CHECK(d.seq == h.seq && d.time_ms == h.time_ms && d.nrcpt == h.nrcpt && d.nrefs == h.nrefs);
    CHECK(memcmp(d.rcpt, h.rcpt, sizeof h.rcpt) == 0 && memcmp(d.prev, h.prev, PL_ID_BYTES) == 0);

    fmt_entry_id(hdr, hlen, id);
    CHECK_HEX(id, sizeof id, want_id);
    fmt_entry_sign(id, sign_sk, sig);
    CHECK_HEX(sig, sizeof sig, want_sig);
    CHECK_EQ_INT(fmt_entry_verify(id, sig, sign_pk), 0);
    id[0] ^= 1;
    CHECK_EQ_INT(fmt_entry_verify(id, sig, sign_pk), -1);
    id[0] ^= 1;
    sig[63] ^= 0x10;
    CHECK_EQ_INT(fmt_entry_verify(id, sig, sign_pk), -1);
}

/* The AD and the signature message as entry.md §4.2 and §3 write them are the ones used. */
static void test_spelled_out(void)
{
    uint8_t ad[64], msg[64], body[256], key[PL_KEY_BYTES], plain[256], sig[PL_SIG_BYTES];
    size_t adn = unhex(H2_BODY_AD, ad, sizeof ad), msgn = unhex(H2_SIG_MESSAGE, msg, sizeof msg);
    size_t bn = unhex(H2_BODY, body, sizeof body);
    unsigned long long pn = 0;
    CHECK_EQ_INT(adn, 56);
    CHECK_EQ_INT(msgn, 53);
    count_from(key, sizeof key, 0x80);
    CHECK(crypto_aead_xchacha20poly1305_ietf_decrypt(plain, &pn, NULL, body + 24, bn - 24, ad,
                                                     adn, body, key) == 0);
    CHECK(pn == strlen(H2_PLAIN) && memcmp(plain, H2_PLAIN, pn) == 0);
    CHECK(unhex(H2_SIG, sig, sizeof sig) == PL_SIG_BYTES);
    CHECK(crypto_sign_verify_detached(sig, msg, msgn, sign_pk) == 0);
}

/* §8.4: shared keys from either side, the two wraps of H2's body key, and their opening. */
static void test_wraps(void)
{
    uint8_t k_self[PL_KEY_BYTES], k_ar[PL_KEY_BYTES], k_ra[PL_KEY_BYTES], key[PL_KEY_BYTES];
    uint8_t nonce[PL_WRAP_NONCE_BYTES], w[2][PL_WRAP_BYTES], back[PL_KEY_BYTES];
    CHECK(crypto_box_beforenm(k_self, box_pk, box_sk) == 0);
    CHECK(crypto_box_beforenm(k_ar, rcpt_pk, box_sk) == 0);
    CHECK(crypto_box_beforenm(k_ra, box_pk, rcpt_sk) == 0);
    CHECK_HEX(k_self, sizeof k_self, H2_SHARED_AUTHOR_AUTHOR);
    CHECK_HEX(k_ar, sizeof k_ar, H2_SHARED_AUTHOR_RECIPIENT);
    CHECK_HEX(k_ra, sizeof k_ra, H2_SHARED_AUTHOR_RECIPIENT);
    count_from(key, sizeof key, 0x80);
    count_from(nonce, sizeof nonce, 0xd0);
    fmt_wrap_seal_nonce(k_self, key, nonce, w[0]);
    count_from(nonce, sizeof nonce, 0xe8);
    fmt_wrap_seal_nonce(k_ar, key, nonce, w[1]);
    CHECK_HEX(&w[0][0], sizeof w, H2_WRAPS);
    CHECK_EQ_INT(fmt_wrap_open(k_ra, w[1], back), PL_FMT_OK);
    CHECK(memcmp(back, key, sizeof key) == 0);
    CHECK_EQ_INT(fmt_wrap_open(k_self, w[1], back), PL_FMT_CRYPTO);
    w[0][PL_WRAP_BYTES - 1] ^= 1;
    CHECK_EQ_INT(fmt_wrap_open(k_self, w[0], back), PL_FMT_CRYPTO);
    /* A random-nonce wrap opens too. */
    fmt_wrap_seal(k_ar, key, w[0]);
    CHECK_EQ_INT(fmt_wrap_open(k_ra, w[0], back), PL_FMT_OK);
    CHECK(memcmp(back, key, sizeof key) == 0);
}

/* §8.5: single changes to H1 that every decoder must refuse. */
static void test_rejects(void)
{
    static const struct {
        size_t off;
        const char *hex;
        pl_fmt_status want;
    } rows[] = {
        {0, "02", PL_FMT_VERSION},        {1, "00", PL_FMT_FIELD},
        {1, "21", PL_FMT_FIELD},          {2, "4e", PL_FMT_FIELD},
        {38, "00", PL_FMT_FIELD},         {38, "02", PL_FMT_FIELD},
        {85, "80", PL_FMT_FIELD},         {78, "00dc1fd277e60000", PL_FMT_FIELD},
        {86, "21", PL_FMT_FIELD},         {87, "11", PL_FMT_FIELD},
        {88, "0110", PL_FMT_FIELD},       {122, "00", PL_FMT_TRAILING},
        {122, "41", PL_FMT_FIELD},        {155, "27000000", PL_FMT_FIELD},
        {155, "29001000", PL_FMT_FIELD},  {155, "28001000", PL_FMT_OK},
        {78, "ffdb1fd277e60000", PL_FMT_OK},
    };
    uint8_t good[PL_HEADER_MAX], m[PL_HEADER_MAX];
    static pl_header h;
    size_t n = unhex(H1_HEADER, good, sizeof good);
    CHECK_EQ_INT(n, 191);
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        memcpy(m, good, n);
        CHECK(unhex(rows[i].hex, m + rows[i].off, sizeof m - rows[i].off) > 0);
        CHECK_EQ_INT(fmt_header_decode(m, n, &h), rows[i].want);
    }
}

/* Offsets of H's length and count fields in its encoding (entry.md §1). */
typedef struct {
    size_t type_len, subject_len, nrefs, meta_len, nrcpt, body_len;
} len_offsets;

static len_offsets offsets_of(const pl_header *h, size_t n)
{
    len_offsets o;
    o.type_len = 1;
    o.subject_len = 2 + strlen(h->type) + 32 + 8 + 32 + 8;
    o.nrefs = o.subject_len + 1 + strlen(h->subject);
    o.meta_len = o.nrefs + 1 + (size_t)h->nrefs * PL_ID_BYTES;
    o.nrcpt = o.meta_len + 2 + h->meta_len + PL_BOX_PK_BYTES;
    o.body_len = n - 4 - PL_HASH_BYTES;
    return o;
}

/* Truncations, a trailing byte, every single-bit flip and oversized lengths of a valid header. */
static void test_decoder_robust(const char *hex)
{
    static uint8_t good[PL_HEADER_MAX + 1], m[PL_HEADER_MAX + 1], re[PL_HEADER_MAX];
    static pl_header h;
    size_t n = unhex(hex, good, sizeof good), rlen = 0;
    int accepted = 0, bad_flip = 0, not_truncated = 0;
    CHECK_EQ_INT(fmt_header_decode(good, n, &h), PL_FMT_OK);
    len_offsets o = offsets_of(&h, n);

    for (size_t len = 0; len < n; len++)
        not_truncated += fmt_header_decode(good, len, &h) != PL_FMT_TRUNCATED;
    CHECK_EQ_INT(not_truncated, 0);
    memcpy(m, good, n);
    m[n] = 0;
    CHECK_EQ_INT(fmt_header_decode(m, n + 1, &h), PL_FMT_TRAILING);

    for (size_t bit = 0; bit < 8 * n; bit++) {
        memcpy(m, good, n);
        m[bit / 8] ^= (uint8_t)(1u << (bit % 8));
        if (fmt_header_decode(m, n, &h) != PL_FMT_OK)
            continue;
        accepted++;
        if (fmt_header_encode(&h, re, sizeof re, &rlen) != PL_FMT_OK || rlen != n ||
            memcmp(re, m, n) != 0)
            bad_flip++;
    }
    CHECK_EQ_INT(bad_flip, 0);
    CHECK(accepted > 0); /* flips inside feed, refs, keys and hashes decode to other headers */

    static const uint8_t ff[4] = {0xff, 0xff, 0xff, 0xff};
    const size_t at[] = {o.type_len, o.subject_len, o.nrefs, o.nrcpt};
    for (size_t i = 0; i < sizeof at / sizeof at[0]; i++) {
        memcpy(m, good, n);
        m[at[i]] = 0xff;
        CHECK_EQ_INT(fmt_header_decode(m, n, &h), PL_FMT_FIELD);
    }
    memcpy(m, good, n);
    memcpy(m + o.meta_len, ff, 2);
    CHECK_EQ_INT(fmt_header_decode(m, n, &h), PL_FMT_FIELD);
    memcpy(m, good, n);
    memcpy(m + o.body_len, ff, 4);
    CHECK_EQ_INT(fmt_header_decode(m, n, &h), PL_FMT_FIELD);
    CHECK_EQ_INT(fmt_header_decode(NULL, 0, &h), PL_FMT_TRUNCATED);
}

/* The encoder refuses what the decoder refuses, and never writes past its buffer. */
static void test_encode_rejects(void)
{
    static pl_header h, bad;
    uint8_t hash[PL_HASH_BYTES] = {0}, out[PL_HEADER_MAX];
    size_t len = 0, full = 0;
    int wrote = 0;
    make_header(2, 111, hash, &h);
    CHECK_EQ_INT(fmt_header_encode(&h, out, sizeof out, &full), PL_FMT_OK);
    for (size_t cap = 0; cap < full; cap++)
        wrote += fmt_header_encode(&h, out, cap, &len) != PL_FMT_TOO_BIG;
    CHECK_EQ_INT(wrote, 0);

#define REFUSE(change, want)                                                                  \
    do {                                                                                      \
        bad = h;                                                                              \
        change;                                                                               \
        CHECK_EQ_INT(fmt_header_encode(&bad, out, sizeof out, &len), want);                   \
    } while (0)
    REFUSE(bad.version = 2, PL_FMT_VERSION);
    REFUSE(bad.type[0] = '\0', PL_FMT_FIELD);
    REFUSE(strcpy(bad.type, "Consent"), PL_FMT_FIELD);
    REFUSE(memset(bad.type, 'a', sizeof bad.type), PL_FMT_FIELD); /* no terminator */
    REFUSE(strcpy(bad.subject, "b-7k3q-9f2m"), PL_FMT_FIELD);
    REFUSE(bad.seq = 0, PL_FMT_FIELD);
    REFUSE(bad.seq = (uint64_t)INT64_MAX + 1u, PL_FMT_FIELD);
    REFUSE(memset(bad.prev, 0, sizeof bad.prev), PL_FMT_FIELD);
    REFUSE(bad.time_ms = -1, PL_FMT_FIELD);
    REFUSE(bad.time_ms = PL_TIME_MS_MAX + 1, PL_FMT_FIELD);
    REFUSE(bad.nrefs = PL_REFS_MAX + 1, PL_FMT_FIELD);
    REFUSE(bad.nrcpt = 0, PL_FMT_FIELD);
    REFUSE(bad.nrcpt = PL_RCPT_MAX + 1, PL_FMT_FIELD);
    REFUSE(bad.meta_len++, PL_FMT_FIELD);
    REFUSE((strcpy(bad.meta, "scopes=x\ndate=y\n"), bad.meta_len = 16), PL_FMT_FIELD); /* order */
    REFUSE(bad.body_len = PL_BODY_OVERHEAD - 1, PL_FMT_FIELD);
    REFUSE(bad.body_len = PL_BODY_MAX + 1, PL_FMT_FIELD);
#undef REFUSE
}

/* records.md §9.1: fingerprint, the signed message and its signature. */
static void test_identity_export(void)
{
    char fp[PL_FINGERPRINT_HEX + 1];
    uint8_t msg[128], sig[PL_SIG_BYTES];
    size_t n = 0;
    vault_fingerprint(sign_pk, box_pk, fp);
    CHECK_STR(fp, EX_FINGERPRINT);
    pl_wr w;
    pl_wr_init(&w, msg, sizeof msg);
    pl_wr_put(&w, "peerlog/v1/identity-export", sizeof "peerlog/v1/identity-export");
    pl_wr_put(&w, sign_pk, sizeof sign_pk);
    pl_wr_put(&w, box_pk, sizeof box_pk);
    pl_wr_u16(&w, 10);
    pl_wr_put(&w, "Test Guide", 10);
    CHECK(!w.bad);
    CHECK_HEX(msg, w.len, EX_MESSAGE);
    crypto_sign_detached(sig, NULL, msg, w.len, sign_sk);
    CHECK_HEX(sig, sizeof sig, EX_SIG);
    n = unhex(EX_MESSAGE, msg, sizeof msg);
    CHECK(crypto_sign_verify_detached(sig, msg, n, sign_pk) == 0);
}

int main(void)
{
    if (sodium_init() < 0)
        return 1;
    test_keys();
    check_entry(1, H1_PLAIN, 0x60, 0xa0, H1_BODY, H1_BODY_HASH, H1_HEADER, H1_ID, H1_SIG);
    check_entry(2, H2_PLAIN, 0x80, 0xb8, H2_BODY, H2_BODY_HASH, H2_HEADER, H2_ID, H2_SIG);
    test_spelled_out();
    test_wraps();
    test_rejects();
    test_decoder_robust(H1_HEADER);
    test_decoder_robust(H2_HEADER);
    test_encode_rejects();
    test_identity_export();
    return check_done("test_fmt_entry");
}
