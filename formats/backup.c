#include "formats/backup.h"

#include <string.h>

size_t fmt_backup_size(size_t nks, size_t ndb)
{
    return PL_BACKUP_HEADER + nks + 8u + ndb;
}

pl_fmt_status fmt_backup_encode(const uint8_t *ks, size_t nks, const uint8_t *db, size_t ndb,
                                uint8_t *out, size_t cap, size_t *len)
{
    pl_keyslots check;
    if (nks > PL_KS_FILE_MAX || fmt_keyslots_decode(ks, nks, &check) != PL_FMT_OK)
        return PL_FMT_FIELD;
    if (ndb < PL_BACKUP_DB_MIN || (uint64_t)ndb > PL_BACKUP_DB_MAX)
        return PL_FMT_TOO_BIG;
    pl_wr w;
    pl_wr_init(&w, out, cap);
    pl_wr_put(&w, PL_BACKUP_MAGIC, 4);
    pl_wr_u8(&w, PL_BACKUP_VERSION);
    pl_wr_put(&w, "\0\0\0", 3);
    pl_wr_u32(&w, (uint32_t)nks);
    pl_wr_put(&w, ks, nks);
    pl_wr_u64(&w, (uint64_t)ndb);
    pl_wr_put(&w, db, ndb);
    if (w.bad)
        return PL_FMT_TOO_BIG;
    *len = w.len;
    return PL_FMT_OK;
}

pl_fmt_status fmt_backup_decode(const uint8_t *in, size_t n, const uint8_t **ks, size_t *nks,
                                const uint8_t **db, size_t *ndb)
{
    pl_rd r;
    uint8_t magic[4], reserved[3];
    pl_keyslots check;
    *ks = *db = NULL;
    *nks = *ndb = 0;
    pl_rd_init(&r, in, n);
    pl_rd_copy(&r, magic, 4);
    uint8_t version = pl_rd_u8(&r);
    pl_rd_copy(&r, reserved, 3);
    uint32_t kl = pl_rd_u32(&r);
    if (r.bad)
        return PL_FMT_TRUNCATED;
    if (memcmp(magic, PL_BACKUP_MAGIC, 4) != 0 || version != PL_BACKUP_VERSION)
        return PL_FMT_VERSION;
    if (reserved[0] | reserved[1] | reserved[2])
        return PL_FMT_FIELD;
    if (kl > PL_KS_FILE_MAX)
        return PL_FMT_FIELD;
    const uint8_t *k = pl_rd_take(&r, kl);
    uint64_t dl = pl_rd_u64(&r);
    if (r.bad)
        return PL_FMT_TRUNCATED;
    if (dl < PL_BACKUP_DB_MIN || dl > PL_BACKUP_DB_MAX)
        return PL_FMT_FIELD;
    if (dl > pl_rd_left(&r))
        return PL_FMT_TRUNCATED;
    const uint8_t *d = pl_rd_take(&r, (size_t)dl);
    if (pl_rd_left(&r) != 0)
        return PL_FMT_TRAILING;
    if (fmt_keyslots_decode(k, kl, &check) != PL_FMT_OK)
        return PL_FMT_FIELD;
    *ks = k;
    *nks = kl;
    *db = d;
    *ndb = (size_t)dl;
    return PL_FMT_OK;
}
