#include "formats/invite.h"

#include <string.h>

static void write_clear(const pl_invite_info *info, pl_wr *w)
{
    pl_wr_put(w, info->org, PL_ID_BYTES);
    pl_wr_u32(w, info->epoch);
    pl_wr_put(w, info->member, PL_SIGN_PK_BYTES);
}

pl_fmt_status fmt_invite_encode(const pl_invite_info *info, const uint8_t key[PL_KEY_BYTES],
                       const uint8_t member_box_pk[PL_BOX_PK_BYTES],
                       uint8_t out[PL_INVITE_BYTES])
{
    /* The plaintext holds a secret key: guarded memory, wiped. */
    uint8_t *plain = sodium_malloc(PL_INVITE_PLAIN);
    if (!plain) {
        sodium_memzero(out, PL_INVITE_BYTES);
        return PL_FMT_TOO_BIG;
    }
    pl_wr w;
    pl_wr_init(&w, plain, PL_INVITE_PLAIN);
    pl_wr_put(&w, PL_DOM_INVITE, sizeof PL_DOM_INVITE);
    write_clear(info, &w);
    pl_wr_put(&w, key, PL_KEY_BYTES);
    pl_wr_init(&w, out, PL_INVITE_BYTES);
    pl_wr_put(&w, PL_INVITE_MAGIC, 4);
    pl_wr_u8(&w, PL_INVITE_VERSION);
    pl_wr_put(&w, "\0\0\0", 3);
    write_clear(info, &w);
    int bad = crypto_box_seal(out + w.len, plain, PL_INVITE_PLAIN, member_box_pk) != 0;
    sodium_free(plain);
    if (bad) { /* a low-order key: no half-written invitation leaves here */
        sodium_memzero(out, PL_INVITE_BYTES);
        return PL_FMT_CRYPTO;
    }
    return PL_FMT_OK;
}

pl_fmt_status fmt_invite_info(const uint8_t *in, size_t n, pl_invite_info *info,
                              const uint8_t **rest, size_t *rest_len)
{
    pl_rd r;
    uint8_t magic[4], reserved[3];
    if (n < PL_INVITE_BYTES)
        return PL_FMT_TRUNCATED;
    pl_rd_init(&r, in, PL_INVITE_BYTES);
    pl_rd_copy(&r, magic, 4);
    uint8_t version = pl_rd_u8(&r);
    pl_rd_copy(&r, reserved, 3);
    pl_rd_copy(&r, info->org, PL_ID_BYTES);
    info->epoch = pl_rd_u32(&r);
    pl_rd_copy(&r, info->member, PL_SIGN_PK_BYTES);
    if (memcmp(magic, PL_INVITE_MAGIC, 4) != 0 || version != PL_INVITE_VERSION)
        return PL_FMT_VERSION;
    if (reserved[0] | reserved[1] | reserved[2])
        return PL_FMT_FIELD;
    if (rest) {
        *rest = in + PL_INVITE_BYTES;
        *rest_len = n - PL_INVITE_BYTES;
    }
    return PL_FMT_OK;
}

pl_fmt_status fmt_invite_open(const uint8_t *in, size_t n, const uint8_t box_pk[PL_BOX_PK_BYTES],
                              const uint8_t box_sk[PL_BOX_SK_BYTES], pl_invite_info *info,
                              uint8_t key[PL_KEY_BYTES])
{
    uint8_t clear[PL_INVITE_PLAIN];
    pl_fmt_status st = fmt_invite_info(in, n, info, NULL, NULL);
    if (st != PL_FMT_OK)
        return st;
    uint8_t *plain = sodium_malloc(PL_INVITE_PLAIN); /* holds a secret key once opened */
    if (!plain)
        return PL_FMT_TOO_BIG;
    if (crypto_box_seal_open(plain, in + PL_INVITE_BYTES - PL_INVITE_SEALED, PL_INVITE_SEALED,
                             box_pk, box_sk) != 0) {
        sodium_free(plain);
        return PL_FMT_CRYPTO;
    }
    /* The sealed part must repeat the domain and the clear fields. */
    pl_wr w;
    pl_wr_init(&w, clear, sizeof clear);
    pl_wr_put(&w, PL_DOM_INVITE, sizeof PL_DOM_INVITE);
    write_clear(info, &w);
    if (sodium_memcmp(plain, clear, w.len) != 0)
        st = PL_FMT_FIELD;
    else
        memcpy(key, plain + w.len, PL_KEY_BYTES);
    sodium_free(plain);
    return st;
}
