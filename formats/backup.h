/* Backup files: a vault's keyslots and an encrypted copy of its vault.db in one file.
 * Byte layout in formats/vault.md §4; keep the two in step. */
#ifndef PL_FORMATS_BACKUP_H
#define PL_FORMATS_BACKUP_H

#include <stddef.h>
#include <stdint.h>

#include "formats/keyslots.h"

#define PL_BACKUP_MAGIC   "PLBK"
#define PL_BACKUP_VERSION 1u
#define PL_BACKUP_HEADER  (4u + 1u + 3u + 4u) /* magic, version, reserved, keyslots length */
#define PL_BACKUP_DB_MIN  4096u               /* one SQLCipher page */
#define PL_BACKUP_DB_MAX  ((uint64_t)4 * 1024 * 1024 * 1024)

/* The size of a backup holding nks bytes of keyslots and ndb bytes of database. */
size_t fmt_backup_size(size_t nks, size_t ndb);
/* Writes the backup into out[cap] (cap at least fmt_backup_size). */
PL_WUR pl_fmt_status fmt_backup_encode(const uint8_t *ks, size_t nks, const uint8_t *db,
                                       size_t ndb, uint8_t *out, size_t cap, size_t *len);
/* Checks the layout of in[n] — magic, version, zero reserved bytes, lengths that add up to
 * n exactly, keyslots that decode, a database of at least one page — and points ks and db
 * into in. */
PL_WUR pl_fmt_status fmt_backup_decode(const uint8_t *in, size_t n, const uint8_t **ks,
                                       size_t *nks, const uint8_t **db, size_t *ndb);

#endif
