#include "formats/keyslots.h"

#include <string.h>

static void slot_write_ad_part(pl_wr *w, const pl_keyslot *s)
{
    pl_wr_u8(w, s->kind);
    pl_wr_u8(w, s->kdf);
    pl_wr_u16(w, 0);
    pl_wr_u32(w, s->m_kib);
    pl_wr_u32(w, s->t);
    pl_wr_u32(w, s->lanes);
    pl_wr_put(w, s->salt, sizeof s->salt);
    pl_wr_put(w, s->nonce, sizeof s->nonce);
}

static int slot_params_ok(const pl_keyslot *s)
{
    return (s->kind == PL_KS_KIND_PASSPHRASE || s->kind == PL_KS_KIND_RECOVERY) &&
           s->kdf == PL_KS_KDF_ARGON2ID && s->lanes >= 1 && s->lanes <= PL_KS_LANES_MAX &&
           s->t >= 1 && s->t <= PL_KS_T_MAX && s->m_kib <= PL_KS_M_KIB_MAX &&
           s->m_kib >= PL_KS_M_KIB_MIN * s->lanes;
}

pl_fmt_status fmt_keyslots_encode(const pl_keyslots *ks, uint8_t *out, size_t cap, size_t *len)
{
    pl_wr w;
    if (ks->nslots == 0 || ks->nslots > PL_KS_MAX_SLOTS)
        return PL_FMT_FIELD;
    pl_wr_init(&w, out, cap);
    pl_wr_put(&w, PL_KS_MAGIC, 4);
    pl_wr_u8(&w, PL_KS_VERSION);
    pl_wr_u8(&w, ks->nslots);
    pl_wr_u16(&w, 0);
    for (size_t i = 0; i < ks->nslots; i++) {
        if (!slot_params_ok(&ks->slot[i]))
            return PL_FMT_FIELD;
        slot_write_ad_part(&w, &ks->slot[i]);
        pl_wr_put(&w, ks->slot[i].ct, sizeof ks->slot[i].ct);
    }
    if (w.bad)
        return PL_FMT_TOO_BIG;
    *len = w.len;
    return PL_FMT_OK;
}

pl_fmt_status fmt_keyslots_decode(const uint8_t *in, size_t n, pl_keyslots *ks)
{
    pl_rd r;
    memset(ks, 0, sizeof *ks);
    pl_rd_init(&r, in, n);
    const uint8_t *magic = pl_rd_take(&r, 4);
    if (!magic)
        return PL_FMT_TRUNCATED;
    if (memcmp(magic, PL_KS_MAGIC, 4) != 0)
        return PL_FMT_VERSION;
    uint8_t version = pl_rd_u8(&r);
    if (!r.bad && version != PL_KS_VERSION)
        return PL_FMT_VERSION;
    ks->nslots = pl_rd_u8(&r);
    uint16_t reserved = pl_rd_u16(&r);
    if (r.bad)
        return PL_FMT_TRUNCATED;
    if (reserved != 0 || ks->nslots == 0 || ks->nslots > PL_KS_MAX_SLOTS)
        return PL_FMT_FIELD;
    for (size_t i = 0; i < ks->nslots; i++) {
        pl_keyslot *s = &ks->slot[i];
        s->kind = pl_rd_u8(&r);
        s->kdf = pl_rd_u8(&r);
        uint16_t pad = pl_rd_u16(&r);
        s->m_kib = pl_rd_u32(&r);
        s->t = pl_rd_u32(&r);
        s->lanes = pl_rd_u32(&r);
        pl_rd_copy(&r, s->salt, sizeof s->salt);
        pl_rd_copy(&r, s->nonce, sizeof s->nonce);
        pl_rd_copy(&r, s->ct, sizeof s->ct);
        if (r.bad)
            return PL_FMT_TRUNCATED;
        if (pad != 0 || !slot_params_ok(s))
            return PL_FMT_FIELD;
    }
    if (pl_rd_left(&r) != 0)
        return PL_FMT_TRAILING;
    return PL_FMT_OK;
}

#define SLOT_AD_BYTES (sizeof PL_DOM_KEYSLOT + 1u + PL_KS_SLOT_AD_PART)

/* AD = domain "\0" || file version || the slot's bytes from kind to nonce. */
static void slot_ad(const pl_keyslot *s, uint8_t ad[SLOT_AD_BYTES])
{
    pl_wr w;
    pl_wr_init(&w, ad, SLOT_AD_BYTES);
    pl_wr_put(&w, PL_DOM_KEYSLOT, sizeof PL_DOM_KEYSLOT);
    pl_wr_u8(&w, PL_KS_VERSION);
    slot_write_ad_part(&w, s);
}

void fmt_keyslot_seal(pl_keyslot *slot, const uint8_t kek[PL_KEY_BYTES],
                      const uint8_t master[PL_MASTER_KEY_BYTES])
{
    uint8_t ad[SLOT_AD_BYTES];
    slot_ad(slot, ad);
    crypto_aead_xchacha20poly1305_ietf_encrypt(slot->ct, NULL, master, PL_MASTER_KEY_BYTES, ad,
                                               sizeof ad, NULL, slot->nonce, kek);
}

pl_fmt_status fmt_keyslot_open(const pl_keyslot *slot, const uint8_t kek[PL_KEY_BYTES],
                               uint8_t master[PL_MASTER_KEY_BYTES])
{
    uint8_t ad[SLOT_AD_BYTES];
    slot_ad(slot, ad);
    if (crypto_aead_xchacha20poly1305_ietf_decrypt(master, NULL, NULL, slot->ct, sizeof slot->ct,
                                                   ad, sizeof ad, slot->nonce, kek) != 0)
        return PL_FMT_CRYPTO;
    return PL_FMT_OK;
}
