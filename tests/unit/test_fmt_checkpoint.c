/* Checkpoints (formats/checkpoint.md): the golden vectors CP1 and CP2 made from the author keys
 * of entry.md §8.1, the round trip, signature lines of other keys skipped, and that every
 * input of checkpoint.md §9.4, every truncation and every bit flip is refused. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "formats/checkpoint.h"
#include "tests/unit/check.h"
#include "tests/unit/hex.h"

/* CP1 of checkpoint.md §9.2: organisation 0123…, signed by the author of entry.md §8.1
 * (identity fingerprint 495de2f6…, records.md §9.1); feed 1 = author.sign_pk at seq 2 with
 * head H2.id (entry.md §8.3), feed 2 = the Ed25519 key of seed 32 × 0x01 at seq 2^63 - 1 with
 * head c0..df. */
#define EM_DASH "\xe2\x80\x94"
#define ORG     "0123456789abcdef0123456789abcdef"
#define SIGNER  "495de2f6cc72824be83684cf81e07551"
#define FEED1   "03a107bff3ce10be1d70dd18e74bc09967e4d6309ba50d5f1ddc8664125531b8"
#define HEAD1   "7363369de0daba718895e7fdcc02ddfd84a44b3aec0c7d8f694ed7742486001e"
#define FEED2   "8a88e3dd7409f195fd52db2d3cba5d72ca6709bf1d94121bf3748801b40f6f5c"
#define HEAD2   "c0c1c2c3c4c5c6c7c8c9cacbcccdcecfd0d1d2d3d4d5d6d7d8d9dadbdcdddedf"
#define SEQ_MAX "9223372036854775807"

#define CP1_TEXT                                                                          \
    "peerlog/org/" ORG "\n"                                                               \
    FEED1 " 2 " HEAD1 "\n"                                                                \
    FEED2 " " SEQ_MAX " " HEAD2 "\n"
#define CP1_KEY_NAME "peerlog-auditor-" SIGNER
#define CP1_B64                                                                           \
    "Yxh7oAR4gEzOe9pVjl8sgsaSNl71h4MzU9eLCjMCdbYJaeY+/0Ay9KMt61hxDm3/JyxwvryhmXQWFOfYkBfgmsAV" \
    "CwQ="
#define CP1_SIG_LINE EM_DASH " " CP1_KEY_NAME " " CP1_B64 "\n"
#define CP1_FILE CP1_TEXT "\n" CP1_SIG_LINE
/* CP2 of §9.3: CP1 cosigned by the key of seed 32 × 0x01 named witness.example/w1, whose line
 * comes first. */
#define CP2_WITNESS_NAME "witness.example/w1"
#define CP2_WITNESS_LINE                                                                  \
    EM_DASH " " CP2_WITNESS_NAME " UvI2O+/wIHIyQC2MzsjF/2UZH6YR/7jz1bVCoMcib4HeWEeFjUSEiZKa0TT3" \
    "BmxDrXS2L4lC64GUXtbb5qDkkMgc4wo=\n"
#define CP2_FILE CP1_TEXT "\n" CP2_WITNESS_LINE CP1_SIG_LINE

static const char CP1_KEYHASH[] = "63187ba0";
static const char CP1_SIG[] =
    "0478804cce7bda558e5f2c82c692365ef587833353d78b0a330275b60969e63e"
    "ff4032f4a32deb58710e6dff272c70bebca199741614e7d89017e09ac0150b04";
static const char CP2_WITNESS_KEYHASH[] = "52f2363b";
static const char CP2_WITNESS_SIG[] =
    "eff0207232402d8ccec8c5ff65191fa611ffb8f3d5b542a0c7226f81de584785"
    "8d448489929ad134f7066c43ad74b62f8942eb81945ed6dbe6a0e490c81ce30a";

_Static_assert(sizeof CP1_TEXT - 1 == 327, "CP1 text length as in checkpoint.md §9.2");
_Static_assert(sizeof CP1_FILE - 1 == 474, "CP1 file length as in checkpoint.md §9.2");
_Static_assert(sizeof CP2_FILE - 1 == 590, "CP2 file length as in checkpoint.md §9.3");

/* The decoder's feed rows: PL_CHECKPOINT_FEEDS_MAX, as its contract asks. */
static pl_checkpoint_feed rows[PL_CHECKPOINT_FEEDS_MAX];

/* Decodes a heap copy of exactly n bytes of in (so AddressSanitizer sees a read past it). */
static pl_fmt_status decode(const char *in, size_t n, pl_checkpoint *c)
{
    char *copy = malloc(n ? n : 1);
    if (!copy)
        abort();
    memcpy(copy, in, n);
    pl_fmt_status st = fmt_checkpoint_decode(copy, n, c, rows);
    free(copy);
    return st;
}

static pl_fmt_status decode_str(const char *in)
{
    pl_checkpoint c;
    return decode(in, strlen(in), &c);
}

/* CP1_FILE with the first occurrence of from replaced by to, into out[cap]. */
static const char *edited(const char *from, const char *to, char *out, size_t cap)
{
    static const char file[] = CP1_FILE;
    const char *at = strstr(file, from);
    if (!at || sizeof file + strlen(to) > cap)
        abort();
    size_t head = (size_t)(at - file);
    memcpy(out, file, head);
    snprintf(out + head, cap - head, "%s%s", to, at + strlen(from));
    return out;
}

/* The C2SP key hash by hand: SHA-256(name || 0x0a || 0x01 || pk)[0..4). */
static void keyhash_by_hand(const char *name, const uint8_t pk[PL_SIGN_PK_BYTES],
                            uint8_t out[PL_CHECKPOINT_KEYHASH])
{
    uint8_t msg[128], h[crypto_hash_sha256_BYTES];
    size_t n = strlen(name);
    memcpy(msg, name, n);
    msg[n] = 0x0a;
    msg[n + 1] = 0x01;
    memcpy(msg + n + 2, pk, PL_SIGN_PK_BYTES);
    crypto_hash_sha256(h, msg, n + 2 + PL_SIGN_PK_BYTES);
    memcpy(out, h, PL_CHECKPOINT_KEYHASH);
}

/* What a verifier holding the author's key concludes about in[n] (checkpoint.md §7 steps 2-4,
 * the organisation and membership reduced to the CP1 values): 1 when it would be trusted. */
static int trusted(const char *in, size_t n, const uint8_t pk[PL_SIGN_PK_BYTES])
{
    pl_checkpoint c;
    uint8_t kh[PL_CHECKPOINT_KEYHASH];
    if (decode(in, n, &c) != PL_FMT_OK || strcmp(c.org, ORG) != 0 ||
        strcmp(c.signer, SIGNER) != 0)
        return 0;
    fmt_checkpoint_keyhash(CP1_KEY_NAME, pk, kh);
    return sodium_memcmp(kh, c.keyhash, sizeof kh) == 0 &&
           crypto_sign_verify_detached(c.sig, (const uint8_t *)in, c.text_len, pk) == 0;
}

/* Inputs of checkpoint.md §9.4 made by editing CP1 (one replacement each). */
static const struct {
    const char *what, *from, *to;
    pl_fmt_status want;
} rejected[] = {
    {"organisation in upper case", "0123456789abcdef0123", "0123456789ABCDEF0123", PL_FMT_VERSION},
    {"another origin prefix", "peerlog/org/", "peerlog/log/", PL_FMT_VERSION},
    {"origin with 31 hex digits", ORG "\n", "123456789abcdef0123456789abcdef\n", PL_FMT_VERSION},
    {"origin with 33 hex digits", ORG "\n", ORG "0\n", PL_FMT_VERSION},
    {"CR LF after the origin", ORG "\n", ORG "\r\n", PL_FMT_VERSION},
    {"feeds out of order", FEED1 " 2 " HEAD1 "\n" FEED2 " " SEQ_MAX " " HEAD2 "\n",
     FEED2 " " SEQ_MAX " " HEAD2 "\n" FEED1 " 2 " HEAD1 "\n", PL_FMT_FIELD},
    {"a feed twice", FEED2 " " SEQ_MAX " " HEAD2 "\n",
     FEED2 " " SEQ_MAX " " HEAD2 "\n" FEED2 " " SEQ_MAX " " HEAD2 "\n", PL_FMT_FIELD},
    {"seq 0", " 2 ", " 0 ", PL_FMT_FIELD},
    {"seq with a leading zero", " 2 ", " 02 ", PL_FMT_FIELD},
    {"seq with a sign", " 2 ", " +2 ", PL_FMT_FIELD},
    {"seq negative", " 2 ", " -2 ", PL_FMT_FIELD},
    {"seq empty", " 2 ", "  ", PL_FMT_FIELD},
    {"seq 2^63", SEQ_MAX, "9223372036854775808", PL_FMT_FIELD},
    {"seq of 20 digits", SEQ_MAX, "10000000000000000000", PL_FMT_FIELD},
    {"seq in hex", " 2 ", " 0x2 ", PL_FMT_FIELD},
    {"feed in upper case", "03a107bff3", "03A107BFF3", PL_FMT_FIELD},
    {"head in upper case", "7363369de0daba", "7363369DE0DABA", PL_FMT_FIELD},
    {"feed of 63 hex digits", "03a107bff3", "3a107bff3", PL_FMT_FIELD},
    {"two spaces after the feed", FEED1 " 2", FEED1 "  2", PL_FMT_FIELD},
    {"a space at the end of a feed line", HEAD1 "\n", HEAD1 " \n", PL_FMT_FIELD},
    {"a tab for a space", FEED1 " 2", FEED1 "\t2", PL_FMT_FIELD},
    {"no feed line",
     FEED1 " 2 " HEAD1 "\n" FEED2 " " SEQ_MAX " " HEAD2 "\n", "", PL_FMT_FIELD},
    {"no blank line before the signature", HEAD2 "\n\n", HEAD2 "\n", PL_FMT_FIELD},
    {"two blank lines before the signature", HEAD2 "\n\n", HEAD2 "\n\n\n", PL_FMT_FIELD},
    {"a blank line after the signature", "CwQ=\n", "CwQ=\n\n", PL_FMT_FIELD},
    {"no final newline", "CwQ=\n", "CwQ=", PL_FMT_TRUNCATED},
    {"signature base64 of 91 characters", "CwQ=\n", "CwQ\n", PL_FMT_FIELD},
    {"signature base64 of 93 characters", "CwQ=\n", "CwQ==\n", PL_FMT_FIELD},
    {"signature base64 not canonical", "CwQ=\n", "CwR=\n", PL_FMT_FIELD},
    {"signature base64 in the URL alphabet", "+/0Ay9", "-_0Ay9", PL_FMT_FIELD},
    /* libsodium 1.0.18's decoder takes every byte >= 0x80 for the digit '/': 0xaf for a '/'
     * gives the same signature (a verifier would trust the altered file) */
    {"signature with the byte 0xaf for a '/'", "+/0Ay9", "+\xaf" "0Ay9", PL_FMT_FIELD},
    {"signature with the byte 0xd9 for a digit", " Yxh7", " \xd9xh7", PL_FMT_FIELD},
    {"a space at the end of the signature line", "CwQ=\n", "CwQ= \n", PL_FMT_FIELD},
    {"a hyphen for the em dash", EM_DASH " peerlog", "- peerlog", PL_FMT_FIELD},
    {"an en dash for the em dash", EM_DASH " peerlog", "\xe2\x80\x93 peerlog", PL_FMT_FIELD},
    {"no space after the em dash", EM_DASH " peerlog", EM_DASH "peerlog", PL_FMT_FIELD},
    {"two spaces after the key name", SIGNER " Yxh7", SIGNER "  Yxh7", PL_FMT_FIELD},
    {"no signature after the key name", " " CP1_B64, "", PL_FMT_FIELD},
    {"an empty signature after the key name", CP1_B64, "", PL_FMT_FIELD},
};

/* A foreign signature line added after ours, and what the decoder says. */
static const struct {
    const char *what, *line;
    pl_fmt_status want;
} foreign[] = {
    {"a witness (CP2's line)", CP2_WITNESS_LINE, PL_FMT_OK},
    {"a five-byte signature", EM_DASH " w AAAAAAA=\n", PL_FMT_OK},
    {"an auditor name in upper-case hex",
     EM_DASH " peerlog-auditor-495DE2F6CC72824BE83684CF81E07551 AAAAAAA=\n", PL_FMT_OK},
    {"a four-byte signature", EM_DASH " w AAAAAA==\n", PL_FMT_FIELD},
    {"a three-byte signature", EM_DASH " w AAAA\n", PL_FMT_FIELD},
    {"no base64 at all", EM_DASH " w x\n", PL_FMT_FIELD},
    {"base64 not canonical", EM_DASH " w AAAAAAB=\n", PL_FMT_FIELD},
    {"base64 without padding", EM_DASH " w AAAAAAA\n", PL_FMT_FIELD},
    {"padding inside", EM_DASH " w AA==AAAA\n", PL_FMT_FIELD},
    {"control characters", EM_DASH " w \x1b[31m\r\n", PL_FMT_FIELD},
    {"a '+' in the name", EM_DASH " w+1 AAAAAAA=\n", PL_FMT_FIELD},
    {"a non-ASCII name", EM_DASH " w\xc3\xa9 AAAAAAA=\n", PL_FMT_FIELD},
    {"a DEL in the name", EM_DASH " w\x7f AAAAAAA=\n", PL_FMT_FIELD},
    {"an empty name", EM_DASH "  AAAAAAA=\n", PL_FMT_FIELD},
    {"no signature", EM_DASH " w\n", PL_FMT_FIELD},
    {"an empty signature", EM_DASH " w \n", PL_FMT_FIELD},
};

/* A file of nfeeds feed lines (feed i = big-endian i in its first bytes) and n_extra foreign
 * signature lines after CP1's, into a malloc'd buffer; *len receives its length. */
static char *big_file(size_t nfeeds, size_t n_extra, size_t *len)
{
    size_t cap = 64 + nfeeds * 160 + (n_extra + 1) * 160;
    char *out = malloc(cap);
    if (!out)
        abort();
    size_t at = (size_t)snprintf(out, cap, "peerlog/org/" ORG "\n");
    for (size_t i = 0; i < nfeeds; i++)
        at += (size_t)snprintf(out + at, cap - at, "%08zx%056x 1 " HEAD2 "\n", i, 0);
    at += (size_t)snprintf(out + at, cap - at, "\n" CP1_SIG_LINE);
    for (size_t i = 0; i < n_extra; i++)
        at += (size_t)snprintf(out + at, cap - at, EM_DASH " witness.example/w%zu AAAAAAA=\n", i);
    *len = at;
    return out;
}

int main(void)
{
    if (sodium_init() < 0)
        return 1;
    uint8_t seed[32], pk[PL_SIGN_PK_BYTES], sk[PL_SIGN_SK_BYTES], wpk[PL_SIGN_PK_BYTES],
        wsk[PL_SIGN_SK_BYTES], kh[PL_CHECKPOINT_KEYHASH], kh2[PL_CHECKPOINT_KEYHASH];
    count_from(seed, sizeof seed, 0x00);
    crypto_sign_seed_keypair(pk, sk, seed);
    CHECK_HEX(pk, sizeof pk, FEED1);
    memset(seed, 0x01, sizeof seed);
    crypto_sign_seed_keypair(wpk, wsk, seed);
    CHECK_HEX(wpk, sizeof wpk, FEED2);

    /* CP1, byte for byte: the text, the key hash, the signature, the signature line. */
    static pl_checkpoint_feed feeds[PL_CHECKPOINT_FEEDS_MAX + 1];
    pl_checkpoint c;
    memset(&c, 0, sizeof c);
    memset(feeds, 0, sizeof feeds);
    c.feeds = feeds;
    c.nfeeds = 2;
    memcpy(c.org, ORG, sizeof c.org);
    memcpy(c.signer, SIGNER, sizeof c.signer);
    memcpy(feeds[0].feed, pk, PL_SIGN_PK_BYTES);
    feeds[0].seq = 2;
    CHECK_EQ_INT(unhex(HEAD1, feeds[0].head, PL_ID_BYTES), PL_ID_BYTES);
    memcpy(feeds[1].feed, wpk, PL_SIGN_PK_BYTES);
    feeds[1].seq = (uint64_t)INT64_MAX;
    count_from(feeds[1].head, PL_ID_BYTES, 0xc0);
    char buf[1024];
    size_t text_len = 0, len = 0;
    CHECK_EQ_INT(fmt_checkpoint_text(&c, buf, sizeof buf, &text_len), PL_FMT_OK);
    CHECK_EQ_INT(text_len, sizeof CP1_TEXT - 1);
    CHECK(text_len == sizeof CP1_TEXT - 1 && memcmp(buf, CP1_TEXT, text_len) == 0);
    fmt_checkpoint_keyhash(CP1_KEY_NAME, pk, c.keyhash);
    CHECK_HEX(c.keyhash, sizeof c.keyhash, CP1_KEYHASH);
    keyhash_by_hand(CP1_KEY_NAME, pk, kh);
    CHECK_HEX(kh, sizeof kh, CP1_KEYHASH);
    crypto_sign_detached(c.sig, NULL, (const uint8_t *)buf, text_len, sk);
    CHECK_HEX(c.sig, sizeof c.sig, CP1_SIG);
    CHECK_EQ_INT(fmt_checkpoint_sign_line(&c, buf, sizeof buf, text_len, &len), PL_FMT_OK);
    CHECK_EQ_INT(len, sizeof CP1_FILE - 1);
    CHECK(len == sizeof CP1_FILE - 1 && memcmp(buf, CP1_FILE, len) == 0);
    if (getenv("PL_PRINT_VECTORS"))
        fwrite(buf, 1, len, stdout);
    /* Every buffer too short for the text or the file is refused. */
    for (size_t cap = 0; cap <= sizeof CP1_FILE - 1; cap++) {
        char *t = malloc(cap ? cap : 1);
        if (cap <= sizeof CP1_TEXT - 1)
            CHECK_EQ_INT(fmt_checkpoint_text(&c, t, cap, &text_len), PL_FMT_TOO_BIG);
        else if (fmt_checkpoint_text(&c, t, cap, &text_len) == PL_FMT_OK)
            CHECK_EQ_INT(fmt_checkpoint_sign_line(&c, t, cap, text_len, &len), PL_FMT_TOO_BIG);
        free(t);
    }

    /* CP2: the witness's key hash and signature over the same text, by hand. */
    keyhash_by_hand(CP2_WITNESS_NAME, wpk, kh2);
    CHECK_HEX(kh2, sizeof kh2, CP2_WITNESS_KEYHASH);
    {
        uint8_t wsig[PL_SIG_BYTES], raw[PL_CHECKPOINT_KEYHASH + PL_SIG_BYTES];
        char b64[sodium_base64_ENCODED_LEN(sizeof raw, sodium_base64_VARIANT_ORIGINAL)],
            line[256];
        crypto_sign_detached(wsig, NULL, (const uint8_t *)CP1_TEXT, sizeof CP1_TEXT - 1, wsk);
        CHECK_HEX(wsig, sizeof wsig, CP2_WITNESS_SIG);
        memcpy(raw, kh2, sizeof kh2);
        memcpy(raw + sizeof kh2, wsig, sizeof wsig);
        sodium_bin2base64(b64, sizeof b64, raw, sizeof raw, sodium_base64_VARIANT_ORIGINAL);
        snprintf(line, sizeof line, EM_DASH " " CP2_WITNESS_NAME " %s\n", b64);
        CHECK_STR(line, CP2_WITNESS_LINE);
    }

    /* Decoding CP1, and CP2 (the witness line is skipped), gives every field back. */
    static const char *const goods[] = {CP1_FILE, CP2_FILE,
                                        CP1_TEXT "\n" CP1_SIG_LINE CP2_WITNESS_LINE};
    for (size_t i = 0; i < sizeof goods / sizeof goods[0]; i++) {
        memset(rows, 0xee, sizeof rows[0] * 3);
        CHECK_EQ_INT(decode(goods[i], strlen(goods[i]), &c), PL_FMT_OK);
        CHECK_STR(c.org, ORG);
        CHECK_STR(c.signer, SIGNER);
        CHECK_HEX(c.keyhash, sizeof c.keyhash, CP1_KEYHASH);
        CHECK_HEX(c.sig, sizeof c.sig, CP1_SIG);
        CHECK_EQ_INT(c.text_len, sizeof CP1_TEXT - 1);
        CHECK_EQ_INT(c.nfeeds, 2);
        CHECK(c.feeds == rows);
        CHECK_HEX(rows[0].feed, PL_SIGN_PK_BYTES, FEED1);
        CHECK(rows[0].seq == 2);
        CHECK_HEX(rows[0].head, PL_ID_BYTES, HEAD1);
        CHECK_HEX(rows[1].feed, PL_SIGN_PK_BYTES, FEED2);
        CHECK(rows[1].seq == (uint64_t)INT64_MAX);
        CHECK_HEX(rows[1].head, PL_ID_BYTES, HEAD2);
        CHECK(trusted(goods[i], strlen(goods[i]), pk));
        /* re-encoding the decoded text gives the same bytes */
        CHECK_EQ_INT(fmt_checkpoint_text(&c, buf, sizeof buf, &text_len), PL_FMT_OK);
        CHECK(text_len == c.text_len && memcmp(buf, goods[i], text_len) == 0);
    }
    /* A file with no signature line but the witness's is refused. */
    CHECK_EQ_INT(decode_str(CP1_TEXT "\n" CP2_WITNESS_LINE), PL_FMT_FIELD);

    /* Foreign lines: well-formed ones are skipped, malformed ones refuse the file, before or
     * after ours. */
    for (size_t i = 0; i < sizeof foreign / sizeof foreign[0]; i++) {
        char f[2048];
        snprintf(f, sizeof f, "%s%s", CP1_FILE, foreign[i].line);
        pl_fmt_status after = decode_str(f);
        snprintf(f, sizeof f, CP1_TEXT "\n%s" CP1_SIG_LINE, foreign[i].line);
        pl_fmt_status before = decode_str(f);
        snprintf(f, sizeof f, CP1_TEXT "\n%s", foreign[i].line);
        pl_fmt_status alone = decode_str(f);
        int ok = after == foreign[i].want && before == foreign[i].want && alone == PL_FMT_FIELD;
        if (!ok)
            fprintf(stderr, "  foreign line, %s: %d %d %d, want %d\n", foreign[i].what,
                    (int)after, (int)before, (int)alone, (int)foreign[i].want);
        CHECK(ok);
    }
    /* Two lines with auditor names: the first is taken, the second is checked for form only. */
    {
        /* a zero key hash and signature: 91 'A' and one '=' */
        char other[256], f[2048];
        size_t at = (size_t)snprintf(other, sizeof other,
                                     EM_DASH " peerlog-auditor-00000000000000000000000000000000 ");
        memset(other + at, 'A', 91);
        memcpy(other + at + 91, "=\n", 3);
        snprintf(f, sizeof f, "%s%s", CP1_FILE, other);
        CHECK_EQ_INT(decode(f, strlen(f), &c), PL_FMT_OK);
        CHECK_STR(c.signer, SIGNER);
        CHECK(trusted(f, strlen(f), pk));
        snprintf(f, sizeof f, CP1_TEXT "\n%s" CP1_SIG_LINE, other);
        CHECK_EQ_INT(decode(f, strlen(f), &c), PL_FMT_OK);
        CHECK_STR(c.signer, "00000000000000000000000000000000");
        CHECK(sodium_is_zero(c.sig, sizeof c.sig));
        CHECK(!trusted(f, strlen(f), pk));
        /* the second auditor line must still be well-formed */
        snprintf(f, sizeof f, "%s" EM_DASH " peerlog-auditor-" SIGNER " AAAA\n", CP1_FILE);
        CHECK_EQ_INT(decode_str(f), PL_FMT_FIELD);
    }

    /* The inputs of §9.4. */
    for (size_t i = 0; i < sizeof rejected / sizeof rejected[0]; i++) {
        char f[2048];
        edited(rejected[i].from, rejected[i].to, f, sizeof f);
        pl_fmt_status st = decode_str(f);
        if (st != rejected[i].want)
            fprintf(stderr, "  %s: status %d, want %d\n", rejected[i].what, (int)st,
                    (int)rejected[i].want);
        CHECK(st == rejected[i].want);
    }
    {
        char f[sizeof CP1_FILE];
        memcpy(f, CP1_FILE, sizeof f);
        f[strstr(f, HEAD2) - f] = '\0';
        CHECK_EQ_INT(decode(f, sizeof f - 1, &c), PL_FMT_FIELD); /* a NUL byte in a head */
        char crlf[2 * sizeof CP1_FILE];
        size_t n = 0;
        for (size_t k = 0; k < sizeof CP1_FILE - 1; k++) { /* every line ended by CR LF */
            if (CP1_FILE[k] == '\n')
                crlf[n++] = '\r';
            crlf[n++] = CP1_FILE[k];
        }
        CHECK_EQ_INT(decode(crlf, n, &c), PL_FMT_VERSION);
    }
    CHECK_EQ_INT(decode_str(""), PL_FMT_TRUNCATED);
    CHECK_EQ_INT(decode_str(CP1_TEXT), PL_FMT_TRUNCATED);             /* text only */
    CHECK_EQ_INT(decode_str(CP1_TEXT "\n"), PL_FMT_TRUNCATED);        /* no signature line */
    CHECK_EQ_INT(decode_str("peerlog/org/" ORG "\n\n" CP1_SIG_LINE), PL_FMT_FIELD);

    /* Every truncation is refused as truncated. */
    int bad_trunc = 0;
    for (size_t k = 0; k < sizeof CP1_FILE - 1; k++)
        if (decode(CP1_FILE, k, &c) != PL_FMT_TRUNCATED)
            bad_trunc++;
    CHECK_EQ_INT(bad_trunc, 0);

    /* No single-bit flip leaves a file a verifier trusts (most are refused by the decoder). */
    {
        char f[sizeof CP1_FILE];
        int bad_flip = 0, decoded = 0;
        memcpy(f, CP1_FILE, sizeof f);
        for (size_t k = 0; k < 8 * (sizeof f - 1); k++) {
            f[k / 8] = (char)(f[k / 8] ^ (1 << (k % 8)));
            decoded += decode(f, sizeof f - 1, &c) == PL_FMT_OK;
            if (trusted(f, sizeof f - 1, pk) && bad_flip++ == 0)
                fprintf(stderr, "  bit %zu flipped is still trusted\n", k);
            f[k / 8] = (char)(f[k / 8] ^ (1 << (k % 8)));
        }
        CHECK_EQ_INT(bad_flip, 0);
        CHECK(decoded > 0); /* e.g. a hex digit of a head: decodes, fails the signature */
        CHECK(trusted(f, sizeof f - 1, pk));
    }

    /* Limits: 4096 feed lines and 16 signature lines are read, one more of either is not, nor
     * a file of more than PL_CHECKPOINT_MAX bytes. */
    {
        char *f = big_file(PL_CHECKPOINT_FEEDS_MAX, PL_CHECKPOINT_SIGS_MAX - 1, &len);
        CHECK(len <= PL_CHECKPOINT_MAX);
        CHECK_EQ_INT(decode(f, len, &c), PL_FMT_OK);
        CHECK_EQ_INT(c.nfeeds, PL_CHECKPOINT_FEEDS_MAX);
        free(f);
        f = big_file(PL_CHECKPOINT_FEEDS_MAX + 1, 0, &len);
        CHECK_EQ_INT(decode(f, len, &c), PL_FMT_TOO_BIG);
        free(f);
        f = big_file(1, PL_CHECKPOINT_SIGS_MAX, &len);
        CHECK_EQ_INT(decode(f, len, &c), PL_FMT_TOO_BIG);
        free(f);
        f = malloc(PL_CHECKPOINT_MAX + 1);
        if (!f)
            abort();
        memset(f, '\n', PL_CHECKPOINT_MAX + 1);
        memcpy(f, CP1_FILE, sizeof CP1_FILE - 1);
        CHECK_EQ_INT(decode(f, PL_CHECKPOINT_MAX + 1, &c), PL_FMT_TOO_BIG);
        CHECK_EQ_INT(decode(f, PL_CHECKPOINT_MAX, &c), PL_FMT_FIELD); /* blank lines */
        free(f);
    }

    /* The encoder refuses what the decoder would: no feeds, too many, a feed out of order or
     * twice, seq 0 or past 2^63 - 1, a fingerprint not in lower-case hex. */
    {
        pl_checkpoint e;
        memset(&e, 0, sizeof e);
        memcpy(e.org, ORG, sizeof e.org);
        memcpy(e.signer, SIGNER, sizeof e.signer);
        e.feeds = feeds;
        for (size_t i = 0; i <= PL_CHECKPOINT_FEEDS_MAX; i++) {
            memset(&feeds[i], 0, sizeof feeds[i]);
            feeds[i].feed[0] = (uint8_t)(i >> 8);
            feeds[i].feed[1] = (uint8_t)i;
            feeds[i].seq = 1;
        }
        char *out = malloc(PL_CHECKPOINT_MAX);
        if (!out)
            abort();
        e.nfeeds = PL_CHECKPOINT_FEEDS_MAX;
        CHECK_EQ_INT(fmt_checkpoint_text(&e, out, PL_CHECKPOINT_MAX, &text_len), PL_FMT_OK);
        CHECK_EQ_INT(fmt_checkpoint_sign_line(&e, out, PL_CHECKPOINT_MAX, text_len, &len),
                     PL_FMT_OK);
        CHECK_EQ_INT(decode(out, len, &c), PL_FMT_OK);
        e.nfeeds = PL_CHECKPOINT_FEEDS_MAX + 1;
        CHECK_EQ_INT(fmt_checkpoint_text(&e, out, PL_CHECKPOINT_MAX, &text_len), PL_FMT_FIELD);
        e.nfeeds = 0;
        CHECK_EQ_INT(fmt_checkpoint_text(&e, out, PL_CHECKPOINT_MAX, &text_len), PL_FMT_FIELD);
        e.nfeeds = 3;
        feeds[1].seq = 0;
        CHECK_EQ_INT(fmt_checkpoint_text(&e, out, PL_CHECKPOINT_MAX, &text_len), PL_FMT_FIELD);
        feeds[1].seq = (uint64_t)INT64_MAX + 1;
        CHECK_EQ_INT(fmt_checkpoint_text(&e, out, PL_CHECKPOINT_MAX, &text_len), PL_FMT_FIELD);
        feeds[1].seq = 1;
        feeds[2].feed[1] = 1; /* equal to feeds[1] */
        CHECK_EQ_INT(fmt_checkpoint_text(&e, out, PL_CHECKPOINT_MAX, &text_len), PL_FMT_FIELD);
        feeds[2].feed[1] = 0; /* below feeds[1] */
        CHECK_EQ_INT(fmt_checkpoint_text(&e, out, PL_CHECKPOINT_MAX, &text_len), PL_FMT_FIELD);
        feeds[2].feed[1] = 2;
        CHECK_EQ_INT(fmt_checkpoint_text(&e, out, PL_CHECKPOINT_MAX, &text_len), PL_FMT_OK);
        e.org[0] = 'A';
        CHECK_EQ_INT(fmt_checkpoint_text(&e, out, PL_CHECKPOINT_MAX, &text_len), PL_FMT_FIELD);
        e.org[0] = '0';
        e.org[31] = '\0';
        CHECK_EQ_INT(fmt_checkpoint_text(&e, out, PL_CHECKPOINT_MAX, &text_len), PL_FMT_FIELD);
        e.signer[5] = 'E';
        CHECK_EQ_INT(fmt_checkpoint_sign_line(&e, out, PL_CHECKPOINT_MAX, 10, &len), PL_FMT_FIELD);
        free(out);
    }
    return check_done("test_fmt_checkpoint");
}
