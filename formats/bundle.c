#include "formats/bundle.h"

#include <stdlib.h>
#include <string.h>

#define TAG_MESSAGE crypto_secretstream_xchacha20poly1305_TAG_MESSAGE
#define TAG_FINAL   crypto_secretstream_xchacha20poly1305_TAG_FINAL
#define SIG_MSG_BYTES (sizeof PL_DOM_BUNDLE_SIG + PL_HASH_BYTES)
/* The smallest record: a header with no type byte to spare is still 188 bytes. */
#define RECORD_MIN (2u + 188u + PL_SIG_BYTES + 1u + PL_WRAP_BYTES)

static void write_preamble(const pl_bundle_info *info, const uint8_t ss[PL_BUNDLE_SS_HEADER],
                           uint8_t out[PL_BUNDLE_PREAMBLE])
{
    pl_wr w;
    pl_wr_init(&w, out, PL_BUNDLE_PREAMBLE);
    pl_wr_put(&w, PL_BUNDLE_MAGIC, 4);
    pl_wr_u8(&w, PL_BUNDLE_VERSION);
    pl_wr_put(&w, "\0\0\0", 3);
    pl_wr_put(&w, info->org, PL_HASH_BYTES);
    pl_wr_put(&w, info->exporter, PL_SIGN_PK_BYTES);
    pl_wr_u32(&w, info->epoch);
    pl_wr_u32(&w, info->count);
    pl_wr_put(&w, ss, PL_BUNDLE_SS_HEADER);
}

pl_fmt_status fmt_bundle_info(const uint8_t *in, size_t n, pl_bundle_info *info)
{
    pl_rd r;
    uint8_t magic[4], version, reserved[3];
    if (n < PL_BUNDLE_PREAMBLE)
        return PL_FMT_TRUNCATED;
    if (n > PL_BUNDLE_MAX_BYTES)
        return PL_FMT_TOO_BIG;
    pl_rd_init(&r, in, PL_BUNDLE_PREAMBLE);
    pl_rd_copy(&r, magic, 4);
    version = pl_rd_u8(&r);
    pl_rd_copy(&r, reserved, 3);
    pl_rd_copy(&r, info->org, PL_HASH_BYTES);
    pl_rd_copy(&r, info->exporter, PL_SIGN_PK_BYTES);
    info->epoch = pl_rd_u32(&r);
    info->count = pl_rd_u32(&r);
    if (memcmp(magic, PL_BUNDLE_MAGIC, 4) != 0 || version != PL_BUNDLE_VERSION)
        return PL_FMT_VERSION;
    if (reserved[0] | reserved[1] | reserved[2])
        return PL_FMT_FIELD;
    if (info->count == 0 || info->count > PL_BUNDLE_MAX_ENTRIES)
        return PL_FMT_FIELD;
    return PL_FMT_OK;
}

static void sig_message(crypto_generichash_state *hs, uint8_t msg[SIG_MSG_BYTES])
{
    memcpy(msg, PL_DOM_BUNDLE_SIG, sizeof PL_DOM_BUNDLE_SIG);
    crypto_generichash_final(hs, msg + sizeof PL_DOM_BUNDLE_SIG, PL_HASH_BYTES);
}

/* The record of e into out (cap bytes); 0 and *len on success. */
static pl_fmt_status record_encode(const pl_bundle_entry *e, pl_header *h, uint8_t *out,
                                   size_t cap, size_t *len)
{
    pl_fmt_status st;
    if (e->header_len > PL_HEADER_MAX)
        return PL_FMT_TOO_BIG;
    if ((st = fmt_header_decode(e->header, e->header_len, h)) != PL_FMT_OK)
        return st;
    pl_wr w;
    pl_wr_init(&w, out, cap);
    pl_wr_u16(&w, (uint16_t)e->header_len);
    pl_wr_put(&w, e->header, e->header_len);
    pl_wr_put(&w, e->sig, PL_SIG_BYTES);
    pl_wr_u8(&w, e->body ? 1u : 0u);
    pl_wr_put(&w, e->wraps, (size_t)h->nrcpt * PL_WRAP_BYTES);
    if (e->body)
        pl_wr_put(&w, e->body, h->body_len);
    if (w.bad)
        return PL_FMT_TOO_BIG;
    *len = w.len;
    return PL_FMT_OK;
}

pl_fmt_status fmt_bundle_encode(const pl_bundle_info *info, const uint8_t key[PL_KEY_BYTES],
                                const uint8_t exporter_sk[PL_SIGN_SK_BYTES],
                                const pl_bundle_entry *entries, uint8_t **out, size_t *len)
{
    pl_fmt_status st = PL_FMT_OK;
    crypto_secretstream_xchacha20poly1305_state ss;
    crypto_generichash_state hs;
    uint8_t pre[PL_BUNDLE_PREAMBLE], ssh[PL_BUNDLE_SS_HEADER], msg[SIG_MSG_BYTES],
        sig[PL_SIG_BYTES];
    *out = NULL;
    *len = 0;
    if (info->count == 0 || info->count > PL_BUNDLE_MAX_ENTRIES)
        return PL_FMT_FIELD;
    pl_header *h = malloc(sizeof *h);
    uint8_t *rec = malloc(PL_BUNDLE_RECORD_MAX);
    /* Sizes first, so that the output is allocated once. */
    size_t total = PL_BUNDLE_PREAMBLE + 4u + PL_SIG_BYTES + PL_BUNDLE_SS_ABYTES;
    for (size_t i = 0; h && rec && st == PL_FMT_OK && i < info->count; i++) {
        size_t rl;
        if ((st = record_encode(&entries[i], h, rec, PL_BUNDLE_RECORD_MAX, &rl)) == PL_FMT_OK)
            total += 4u + rl + PL_BUNDLE_SS_ABYTES;
        if (total > PL_BUNDLE_MAX_BYTES) /* the caller splits the range into more bundles */
            st = PL_FMT_TOO_BIG;
    }
    uint8_t *buf = st == PL_FMT_OK && h && rec ? malloc(total) : NULL;
    if (!buf) {
        free(h);
        free(rec);
        return st != PL_FMT_OK ? st : PL_FMT_TOO_BIG;
    }
    crypto_secretstream_xchacha20poly1305_init_push(&ss, ssh, key);
    write_preamble(info, ssh, pre);
    memcpy(buf, pre, sizeof pre);
    size_t at = sizeof pre;
    crypto_generichash_init(&hs, NULL, 0, PL_HASH_BYTES);
    crypto_generichash_update(&hs, pre, sizeof pre);
    for (size_t i = 0; st == PL_FMT_OK && i < info->count; i++) {
        size_t rl;
        if ((st = record_encode(&entries[i], h, rec, PL_BUNDLE_RECORD_MAX, &rl)) != PL_FMT_OK)
            break;
        crypto_generichash_update(&hs, rec, rl);
        size_t cl = rl + PL_BUNDLE_SS_ABYTES;
        if (cl > total - at - 4u) { /* the entries changed between the two passes */
            st = PL_FMT_TOO_BIG;
            break;
        }
        pl_wr w;
        pl_wr_init(&w, buf + at, 4);
        pl_wr_u32(&w, (uint32_t)cl);
        at += 4;
        crypto_secretstream_xchacha20poly1305_push(&ss, buf + at, NULL, rec, rl,
                                                   i == 0 ? pre : NULL, i == 0 ? sizeof pre : 0,
                                                   TAG_MESSAGE);
        at += cl;
    }
    if (st == PL_FMT_OK) {
        uint8_t pk[PL_SIGN_PK_BYTES];
        sig_message(&hs, msg);
        crypto_sign_detached(sig, NULL, msg, sizeof msg, exporter_sk);
        crypto_sign_ed25519_sk_to_pk(pk, exporter_sk);
        /* Verify what we made, with the key the preamble names. */
        if (sodium_memcmp(pk, info->exporter, PL_SIGN_PK_BYTES) != 0 ||
            crypto_sign_verify_detached(sig, msg, sizeof msg, info->exporter) != 0)
            st = PL_FMT_CRYPTO;
    }
    if (st == PL_FMT_OK && total - at == 4u + PL_SIG_BYTES + PL_BUNDLE_SS_ABYTES) {
        pl_wr w;
        pl_wr_init(&w, buf + at, 4);
        pl_wr_u32(&w, PL_SIG_BYTES + PL_BUNDLE_SS_ABYTES);
        at += 4;
        crypto_secretstream_xchacha20poly1305_push(&ss, buf + at, NULL, sig, PL_SIG_BYTES, NULL,
                                                   0, TAG_FINAL);
        at += PL_SIG_BYTES + PL_BUNDLE_SS_ABYTES;
    } else if (st == PL_FMT_OK) {
        st = PL_FMT_TOO_BIG;
    }
    sodium_memzero(&ss, sizeof ss);
    free(h);
    free(rec);
    if (st != PL_FMT_OK) {
        free(buf);
        return st;
    }
    *out = buf;
    *len = at;
    return PL_FMT_OK;
}

/* Parses one decrypted record (exactly n bytes) into e, checking its header. */
static pl_fmt_status record_decode(const uint8_t *p, size_t n, pl_header *h, pl_bundle_entry *e)
{
    pl_rd r;
    pl_fmt_status st;
    pl_rd_init(&r, p, n);
    size_t hl = pl_rd_u16(&r);
    if (hl > PL_HEADER_MAX)
        return PL_FMT_FIELD;
    e->header = pl_rd_take(&r, hl);
    e->header_len = hl;
    if (r.bad)
        return PL_FMT_TRUNCATED;
    if ((st = fmt_header_decode(e->header, hl, h)) != PL_FMT_OK)
        return st;
    e->sig = pl_rd_take(&r, PL_SIG_BYTES);
    uint8_t present = pl_rd_u8(&r);
    e->wraps_len = (size_t)h->nrcpt * PL_WRAP_BYTES;
    e->wraps = pl_rd_take(&r, e->wraps_len);
    e->body_len = h->body_len;
    e->body = present == 1 ? pl_rd_take(&r, e->body_len) : NULL;
    if (r.bad)
        return PL_FMT_TRUNCATED;
    if (present > 1)
        return PL_FMT_FIELD;
    if (pl_rd_left(&r) != 0)
        return PL_FMT_TRAILING;
    return PL_FMT_OK;
}

pl_fmt_status fmt_bundle_decode(const uint8_t *in, size_t n, const uint8_t key[PL_KEY_BYTES],
                                pl_bundle_info *info, pl_bundle_entry **entries,
                                uint8_t **plain)
{
    pl_fmt_status st;
    crypto_secretstream_xchacha20poly1305_state ss;
    crypto_generichash_state hs;
    uint8_t msg[SIG_MSG_BYTES], tag;
    *entries = NULL;
    *plain = NULL;
    if ((st = fmt_bundle_info(in, n, info)) != PL_FMT_OK)
        return st;
    /* Every record needs at least RECORD_MIN bytes: a count the input cannot hold is refused
     * before anything is allocated for it. */
    size_t body = n - PL_BUNDLE_PREAMBLE;
    if (body / (4u + RECORD_MIN + PL_BUNDLE_SS_ABYTES) < info->count)
        return PL_FMT_TRUNCATED;
    if (crypto_secretstream_xchacha20poly1305_init_pull(&ss, in + PL_BUNDLE_PREAMBLE -
                                                                 PL_BUNDLE_SS_HEADER,
                                                        key) != 0)
        return PL_FMT_CRYPTO;
    pl_bundle_entry *list = calloc(info->count, sizeof *list);
    uint8_t *pt = malloc(body);
    pl_header *h = malloc(sizeof *h);
    if (!list || !pt || !h) {
        st = PL_FMT_TOO_BIG;
        goto fail;
    }
    crypto_generichash_init(&hs, NULL, 0, PL_HASH_BYTES);
    crypto_generichash_update(&hs, in, PL_BUNDLE_PREAMBLE);
    pl_rd r;
    pl_rd_init(&r, in + PL_BUNDLE_PREAMBLE, body);
    size_t at = 0;
    for (uint32_t i = 0; i <= info->count; i++) {
        int last = i == info->count;
        size_t cl = pl_rd_u32(&r);
        const uint8_t *c = pl_rd_take(&r, cl);
        if (r.bad) {
            st = PL_FMT_TRUNCATED;
            goto fail;
        }
        if (cl < PL_BUNDLE_SS_ABYTES ||
            cl - PL_BUNDLE_SS_ABYTES > (last ? PL_SIG_BYTES : PL_BUNDLE_RECORD_MAX)) {
            st = PL_FMT_FIELD;
            goto fail;
        }
        unsigned long long ml;
        if (crypto_secretstream_xchacha20poly1305_pull(&ss, pt + at, &ml, &tag, c, cl,
                                                       i == 0 ? in : NULL,
                                                       i == 0 ? PL_BUNDLE_PREAMBLE : 0) != 0) {
            st = PL_FMT_CRYPTO;
            goto fail;
        }
        if (tag != (last ? TAG_FINAL : TAG_MESSAGE)) {
            st = last ? PL_FMT_TRUNCATED : PL_FMT_FIELD;
            goto fail;
        }
        if (last) {
            if (ml != PL_SIG_BYTES) {
                st = PL_FMT_FIELD;
                goto fail;
            }
            break;
        }
        if ((st = record_decode(pt + at, (size_t)ml, h, &list[i])) != PL_FMT_OK)
            goto fail;
        crypto_generichash_update(&hs, pt + at, (size_t)ml);
        at += (size_t)ml;
    }
    if (pl_rd_left(&r) != 0) {
        st = PL_FMT_TRAILING;
        goto fail;
    }
    sig_message(&hs, msg);
    if (crypto_sign_verify_detached(pt + at, msg, sizeof msg, info->exporter) != 0) {
        st = PL_FMT_CRYPTO;
        goto fail;
    }
    sodium_memzero(&ss, sizeof ss);
    free(h);
    *entries = list;
    *plain = pt;
    return PL_FMT_OK;
fail:
    sodium_memzero(&ss, sizeof ss);
    free(list);
    free(pt);
    free(h);
    return st;
}
