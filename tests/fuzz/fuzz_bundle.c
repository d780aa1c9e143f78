/* Bundles. First byte even: the input is a bundle file, decoded under the fixed exchange
 * key (framing, preamble and the refusal of anything unauthenticated). First byte odd: the
 * rest is plaintext records, each preceded by a 2-byte length, which this target encrypts
 * and signs as a genuine exporter would, so the record parser behind the encryption sees
 * arbitrary bytes. An accepted bundle's entries must point inside the decoded plaintext and
 * carry headers that decode. */
#include <string.h>

#include "formats/bundle.h"
#include "tests/fuzz/fuzz.h"

static uint8_t key[PL_KEY_BYTES], pk[PL_SIGN_PK_BYTES], sk[PL_SIGN_SK_BYTES];

static void check_decoded(const uint8_t *in, size_t n)
{
    pl_bundle_info info;
    pl_bundle_entry *list = NULL;
    uint8_t *plain = NULL;
    if (fmt_bundle_decode(in, n, key, &info, &list, &plain) != PL_FMT_OK) {
        FUZZ_CHECK(list == NULL && plain == NULL);
        return;
    }
    pl_header *h = malloc(sizeof *h);
    for (uint32_t i = 0; i < info.count; i++) {
        FUZZ_CHECK(fmt_header_decode(list[i].header, list[i].header_len, h) == PL_FMT_OK);
        FUZZ_CHECK(list[i].wraps_len == (size_t)h->nrcpt * PL_WRAP_BYTES);
        FUZZ_CHECK(!list[i].body || list[i].body_len == h->body_len);
    }
    free(h);
    free(list);
    free(plain);
}

/* Wraps records (2-byte length each) in a correctly encrypted and signed bundle. */
static void seal_records(const uint8_t *p, size_t n)
{
    crypto_secretstream_xchacha20poly1305_state ss;
    crypto_generichash_state hs;
    uint8_t pre[PL_BUNDLE_PREAMBLE], msg[sizeof PL_DOM_BUNDLE_SIG + PL_HASH_BYTES],
        sig[PL_SIG_BYTES];
    /* at most 64 records: each adds 4 + 17 bytes to its own length, then the signature */
    uint8_t *out = malloc(PL_BUNDLE_PREAMBLE + n + 64 * (4 + PL_BUNDLE_SS_ABYTES) + 4 +
                          PL_SIG_BYTES + PL_BUNDLE_SS_ABYTES);
    size_t at = PL_BUNDLE_PREAMBLE, count = 0, off = 0;
    memcpy(pre, "PLBU\1\0\0\0", 8);
    memset(pre + 8, 0x0a, PL_HASH_BYTES);
    memcpy(pre + 8 + PL_HASH_BYTES, pk, PL_SIGN_PK_BYTES);
    memset(pre + 72, 0, 8); /* epoch 0, count filled below */
    crypto_secretstream_xchacha20poly1305_init_push(&ss, pre + 80, key);
    while (off + 2 <= n && count < 64) {
        size_t len = (size_t)p[off] | (size_t)p[off + 1] << 8;
        off += 2;
        if (len > n - off)
            len = n - off;
        count++;
        (void)len;
        off += len;
    }
    pre[76] = (uint8_t)count;
    memcpy(out, pre, sizeof pre);
    crypto_generichash_init(&hs, NULL, 0, PL_HASH_BYTES);
    crypto_generichash_update(&hs, pre, sizeof pre);
    off = 0;
    for (size_t i = 0; i < count; i++) {
        size_t len = (size_t)p[off] | (size_t)p[off + 1] << 8;
        off += 2;
        if (len > n - off)
            len = n - off;
        uint32_t cl = (uint32_t)(len + PL_BUNDLE_SS_ABYTES);
        memcpy(out + at, &cl, 4); /* little-endian machines only, as the fuzzers run */
        crypto_secretstream_xchacha20poly1305_push(&ss, out + at + 4, NULL, p + off, len,
                                                   i == 0 ? pre : NULL, i == 0 ? sizeof pre : 0,
                                                   0);
        crypto_generichash_update(&hs, p + off, len);
        at += 4 + cl;
        off += len;
    }
    memcpy(msg, PL_DOM_BUNDLE_SIG, sizeof PL_DOM_BUNDLE_SIG);
    crypto_generichash_final(&hs, msg + sizeof PL_DOM_BUNDLE_SIG, PL_HASH_BYTES);
    crypto_sign_detached(sig, NULL, msg, sizeof msg, sk);
    uint32_t cl = PL_SIG_BYTES + PL_BUNDLE_SS_ABYTES;
    memcpy(out + at, &cl, 4);
    crypto_secretstream_xchacha20poly1305_push(&ss, out + at + 4, NULL, sig, PL_SIG_BYTES, NULL,
                                               0, crypto_secretstream_xchacha20poly1305_TAG_FINAL);
    at += 4 + cl;
    check_decoded(out, at);
    free(out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int ready;
    fuzz_init();
    if (!ready) {
        uint8_t seed[32];
        memset(key, 0x0b, sizeof key);
        memset(seed, 1, sizeof seed);
        crypto_sign_seed_keypair(pk, sk, seed);
        ready = 1;
    }
    if (size == 0)
        return 0;
    if (data[0] & 1)
        seal_records(data + 1, size - 1);
    else
        check_decoded(data + 1, size - 1);
    return 0;
}
