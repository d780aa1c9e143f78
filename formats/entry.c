#include "formats/entry.h"

#include <string.h>

#include "formats/meta.h"
#include "formats/text.h"

const char *fmt_status_str(pl_fmt_status s)
{
    switch (s) {
    case PL_FMT_OK: return "ok";
    case PL_FMT_TRUNCATED: return "truncated";
    case PL_FMT_TRAILING: return "unexpected bytes after the end";
    case PL_FMT_VERSION: return "unknown format version";
    case PL_FMT_FIELD: return "a field is out of range";
    case PL_FMT_TOO_BIG: return "too large";
    case PL_FMT_CRYPTO: return "authentication failed";
    }
    return "unknown format error";
}

static int all_zero(const uint8_t *p, size_t n)
{
    uint8_t acc = 0;
    for (size_t i = 0; i < n; i++)
        acc |= p[i];
    return acc == 0;
}

/* The checks shared by encode and decode, so both sides agree on what is valid. */
static pl_fmt_status header_check(const pl_header *h)
{
    size_t tl = strnlen(h->type, sizeof h->type);
    size_t sl = strnlen(h->subject, sizeof h->subject);
    if (h->version != PL_HEADER_VERSION)
        return PL_FMT_VERSION;
    if (!fmt_type_valid(h->type, tl) || tl > PL_TYPE_MAX)
        return PL_FMT_FIELD;
    if (sl > PL_SUBJECT_MAX || (sl > 0 && !fmt_subject_valid(h->subject, sl)))
        return PL_FMT_FIELD;
    if (h->seq == 0 || h->seq > (uint64_t)INT64_MAX)
        return PL_FMT_FIELD;
    if ((h->seq == 1) != all_zero(h->prev, sizeof h->prev))
        return PL_FMT_FIELD;
    if (h->time_ms < 0 || h->time_ms > PL_TIME_MS_MAX)
        return PL_FMT_FIELD;
    if (h->nrefs > PL_REFS_MAX || h->nrcpt == 0 || h->nrcpt > PL_RCPT_MAX)
        return PL_FMT_FIELD;
    if (h->meta_len > PL_META_MAX || strnlen(h->meta, sizeof h->meta) != h->meta_len ||
        !fmt_meta_valid(h->meta, h->meta_len))
        return PL_FMT_FIELD;
    if (h->body_len < PL_BODY_OVERHEAD || h->body_len > PL_BODY_MAX)
        return PL_FMT_FIELD;
    return PL_FMT_OK;
}

pl_fmt_status fmt_header_encode(const pl_header *h, uint8_t *out, size_t cap, size_t *len)
{
    pl_fmt_status st = header_check(h);
    if (st != PL_FMT_OK)
        return st;
    size_t tl = strlen(h->type), sl = strlen(h->subject);
    pl_wr w;
    pl_wr_init(&w, out, cap);
    pl_wr_u8(&w, h->version);
    pl_wr_u8(&w, (uint8_t)tl);
    pl_wr_put(&w, h->type, tl);
    pl_wr_put(&w, h->feed, sizeof h->feed);
    pl_wr_u64(&w, h->seq);
    pl_wr_put(&w, h->prev, sizeof h->prev);
    pl_wr_u64(&w, (uint64_t)h->time_ms);
    pl_wr_u8(&w, (uint8_t)sl);
    pl_wr_put(&w, h->subject, sl);
    pl_wr_u8(&w, h->nrefs);
    pl_wr_put(&w, h->refs, (size_t)h->nrefs * PL_ID_BYTES);
    pl_wr_u16(&w, h->meta_len);
    pl_wr_put(&w, h->meta, h->meta_len);
    pl_wr_put(&w, h->box_pk, sizeof h->box_pk);
    pl_wr_u8(&w, h->nrcpt);
    pl_wr_put(&w, h->rcpt, (size_t)h->nrcpt * PL_BOX_PK_BYTES);
    pl_wr_u32(&w, h->body_len);
    pl_wr_put(&w, h->body_hash, sizeof h->body_hash);
    if (w.bad)
        return PL_FMT_TOO_BIG;
    *len = w.len;
    return PL_FMT_OK;
}

pl_fmt_status fmt_header_decode(const uint8_t *in, size_t n, pl_header *h)
{
    pl_rd r;
    memset(h, 0, sizeof *h);
    pl_rd_init(&r, in, n);
    h->version = pl_rd_u8(&r);
    if (!r.bad && h->version != PL_HEADER_VERSION)
        return PL_FMT_VERSION;
    uint8_t tl = pl_rd_u8(&r);
    if (tl == 0 || tl > PL_TYPE_MAX)
        return r.bad ? PL_FMT_TRUNCATED : PL_FMT_FIELD;
    pl_rd_copy(&r, h->type, tl);
    pl_rd_copy(&r, h->feed, sizeof h->feed);
    h->seq = pl_rd_u64(&r);
    pl_rd_copy(&r, h->prev, sizeof h->prev);
    h->time_ms = (int64_t)pl_rd_u64(&r);
    uint8_t sl = pl_rd_u8(&r);
    if (sl > PL_SUBJECT_MAX)
        return PL_FMT_FIELD;
    pl_rd_copy(&r, h->subject, sl);
    h->nrefs = pl_rd_u8(&r);
    if (h->nrefs > PL_REFS_MAX)
        return PL_FMT_FIELD;
    pl_rd_copy(&r, h->refs, (size_t)h->nrefs * PL_ID_BYTES);
    h->meta_len = pl_rd_u16(&r);
    if (h->meta_len > PL_META_MAX)
        return PL_FMT_FIELD;
    pl_rd_copy(&r, h->meta, h->meta_len);
    pl_rd_copy(&r, h->box_pk, sizeof h->box_pk);
    h->nrcpt = pl_rd_u8(&r);
    if (h->nrcpt > PL_RCPT_MAX)
        return PL_FMT_FIELD;
    pl_rd_copy(&r, h->rcpt, (size_t)h->nrcpt * PL_BOX_PK_BYTES);
    h->body_len = pl_rd_u32(&r);
    pl_rd_copy(&r, h->body_hash, sizeof h->body_hash);
    if (r.bad)
        return PL_FMT_TRUNCATED;
    if (pl_rd_left(&r) != 0)
        return PL_FMT_TRAILING;
    /* A NUL inside type, subject or meta would make the strings lie about their length. */
    if (strlen(h->type) != tl || strlen(h->subject) != sl)
        return PL_FMT_FIELD;
    return header_check(h);
}

static void hash_with_domain(const char *dom, const uint8_t *p, size_t n,
                             uint8_t out[PL_HASH_BYTES])
{
    crypto_generichash_state st;
    crypto_generichash_init(&st, NULL, 0, PL_HASH_BYTES);
    crypto_generichash_update(&st, (const uint8_t *)dom, strlen(dom) + 1);
    crypto_generichash_update(&st, p, n);
    crypto_generichash_final(&st, out, PL_HASH_BYTES);
}

void fmt_entry_id(const uint8_t *hdr, size_t n, uint8_t id[PL_ID_BYTES])
{
    hash_with_domain(PL_DOM_ENTRY_ID, hdr, n, id);
}

void fmt_body_hash(const uint8_t *body, size_t n, uint8_t out[PL_HASH_BYTES])
{
    hash_with_domain(PL_DOM_BODY_HASH, body, n, out);
}

#define SIG_MSG_BYTES (sizeof PL_DOM_ENTRY_SIG + PL_ID_BYTES)

static void sig_message(const uint8_t id[PL_ID_BYTES], uint8_t msg[SIG_MSG_BYTES])
{
    memcpy(msg, PL_DOM_ENTRY_SIG, sizeof PL_DOM_ENTRY_SIG);
    memcpy(msg + sizeof PL_DOM_ENTRY_SIG, id, PL_ID_BYTES);
}

void fmt_entry_sign(const uint8_t id[PL_ID_BYTES], const uint8_t sk[PL_SIGN_SK_BYTES],
                    uint8_t sig[PL_SIG_BYTES])
{
    uint8_t msg[SIG_MSG_BYTES];
    sig_message(id, msg);
    crypto_sign_detached(sig, NULL, msg, sizeof msg, sk);
}

int fmt_entry_verify(const uint8_t id[PL_ID_BYTES], const uint8_t sig[PL_SIG_BYTES],
                     const uint8_t pk[PL_SIGN_PK_BYTES])
{
    uint8_t msg[SIG_MSG_BYTES];
    sig_message(id, msg);
    return crypto_sign_verify_detached(sig, msg, sizeof msg, pk) == 0 ? 0 : -1;
}

#define BODY_AD_BYTES (sizeof PL_DOM_BODY_AD + PL_SIGN_PK_BYTES + 8u)

static void body_ad(const uint8_t feed[PL_SIGN_PK_BYTES], uint64_t seq, uint8_t ad[BODY_AD_BYTES])
{
    memcpy(ad, PL_DOM_BODY_AD, sizeof PL_DOM_BODY_AD);
    memcpy(ad + sizeof PL_DOM_BODY_AD, feed, PL_SIGN_PK_BYTES);
    pl_store_u64(ad + sizeof PL_DOM_BODY_AD + PL_SIGN_PK_BYTES, seq);
}

pl_fmt_status fmt_body_seal_nonce(const uint8_t key[PL_KEY_BYTES],
                                  const uint8_t feed[PL_SIGN_PK_BYTES], uint64_t seq,
                                  const uint8_t nonce[PL_BODY_NONCE_BYTES],
                                  const uint8_t *plain, size_t n, uint8_t *out)
{
    uint8_t ad[BODY_AD_BYTES];
    if (n > PL_BODY_PLAIN_MAX)
        return PL_FMT_TOO_BIG;
    body_ad(feed, seq, ad);
    memmove(out, nonce, PL_BODY_NONCE_BYTES);
    crypto_aead_xchacha20poly1305_ietf_encrypt(out + PL_BODY_NONCE_BYTES, NULL, plain, n, ad,
                                               sizeof ad, NULL, out, key);
    return PL_FMT_OK;
}

pl_fmt_status fmt_body_seal(const uint8_t key[PL_KEY_BYTES], const uint8_t feed[PL_SIGN_PK_BYTES],
                            uint64_t seq, const uint8_t *plain, size_t n, uint8_t *out)
{
    uint8_t nonce[PL_BODY_NONCE_BYTES];
    randombytes_buf(nonce, sizeof nonce);
    return fmt_body_seal_nonce(key, feed, seq, nonce, plain, n, out);
}

pl_fmt_status fmt_body_open(const uint8_t key[PL_KEY_BYTES], const uint8_t feed[PL_SIGN_PK_BYTES],
                            uint64_t seq, const uint8_t *body, size_t n, uint8_t *plain)
{
    uint8_t ad[BODY_AD_BYTES];
    if (n < PL_BODY_OVERHEAD)
        return PL_FMT_TRUNCATED;
    if (n > PL_BODY_MAX)
        return PL_FMT_TOO_BIG;
    body_ad(feed, seq, ad);
    if (crypto_aead_xchacha20poly1305_ietf_decrypt(plain, NULL, NULL, body + PL_BODY_NONCE_BYTES,
                                                   n - PL_BODY_NONCE_BYTES, ad, sizeof ad, body,
                                                   key) != 0)
        return PL_FMT_CRYPTO;
    return PL_FMT_OK;
}

void fmt_wrap_seal_nonce(const uint8_t shared[PL_KEY_BYTES], const uint8_t body_key[PL_KEY_BYTES],
                         const uint8_t nonce[PL_WRAP_NONCE_BYTES], uint8_t out[PL_WRAP_BYTES])
{
    memcpy(out, nonce, PL_WRAP_NONCE_BYTES);
    crypto_box_easy_afternm(out + PL_WRAP_NONCE_BYTES, body_key, PL_KEY_BYTES, out, shared);
}

void fmt_wrap_seal(const uint8_t shared[PL_KEY_BYTES], const uint8_t body_key[PL_KEY_BYTES],
                   uint8_t out[PL_WRAP_BYTES])
{
    uint8_t nonce[PL_WRAP_NONCE_BYTES];
    randombytes_buf(nonce, sizeof nonce);
    fmt_wrap_seal_nonce(shared, body_key, nonce, out);
}

pl_fmt_status fmt_wrap_open(const uint8_t shared[PL_KEY_BYTES], const uint8_t in[PL_WRAP_BYTES],
                            uint8_t body_key[PL_KEY_BYTES])
{
    if (crypto_box_open_easy_afternm(body_key, in + PL_WRAP_NONCE_BYTES,
                                     PL_WRAP_BYTES - PL_WRAP_NONCE_BYTES, in, shared) != 0)
        return PL_FMT_CRYPTO;
    return PL_FMT_OK;
}
