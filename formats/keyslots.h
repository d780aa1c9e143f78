/* The keyslots file: the vault master key wrapped under keys derived from a passphrase
 * and from the recovery code. Byte layout in formats/keyslots.md. The Argon2id derivation
 * itself lives in vault/keys.c (formats/ depends on libsodium only). */
#ifndef PL_FORMATS_KEYSLOTS_H
#define PL_FORMATS_KEYSLOTS_H

#include <stddef.h>
#include <stdint.h>

#include "formats/entry.h"

#define PL_KS_MAGIC        "PLKS"
#define PL_KS_VERSION      1u
#define PL_KS_MAX_SLOTS    4u
#define PL_KS_FILE_HEADER  8u
#define PL_KS_SALT_BYTES   16u
#define PL_KS_NONCE_BYTES  24u
#define PL_MASTER_KEY_BYTES 32u
#define PL_KS_CT_BYTES     (PL_MASTER_KEY_BYTES + 16u)
#define PL_KS_SLOT_AD_PART (4u + 12u + PL_KS_SALT_BYTES + PL_KS_NONCE_BYTES) /* kind..nonce */
#define PL_KS_SLOT_BYTES   (PL_KS_SLOT_AD_PART + PL_KS_CT_BYTES)
#define PL_KS_FILE_MAX     (PL_KS_FILE_HEADER + PL_KS_MAX_SLOTS * PL_KS_SLOT_BYTES)
#define PL_DOM_KEYSLOT     "peerlog/v1/keyslot"

/* Argon2id limits accepted on decode: a tampered file must not make us allocate 4 TiB. */
#define PL_KS_M_KIB_MIN    8u
#define PL_KS_M_KIB_MAX    (4u * 1024u * 1024u) /* 4 GiB */
#define PL_KS_T_MAX        64u
#define PL_KS_LANES_MAX    64u

_Static_assert(PL_KS_SLOT_BYTES == 104, "keyslot size as in formats/keyslots.md");
_Static_assert(PL_KS_NONCE_BYTES == crypto_aead_xchacha20poly1305_ietf_NPUBBYTES, "nonce");

enum { PL_KS_KIND_PASSPHRASE = 1, PL_KS_KIND_RECOVERY = 2 };
enum { PL_KS_KDF_ARGON2ID = 1 };

typedef struct {
    uint8_t kind;
    uint8_t kdf;
    uint32_t m_kib; /* Argon2id memory in KiB */
    uint32_t t;     /* passes */
    uint32_t lanes;
    uint8_t salt[PL_KS_SALT_BYTES];
    uint8_t nonce[PL_KS_NONCE_BYTES];
    uint8_t ct[PL_KS_CT_BYTES]; /* XChaCha20-Poly1305(master key) */
} pl_keyslot;

typedef struct {
    uint8_t nslots;
    pl_keyslot slot[PL_KS_MAX_SLOTS];
} pl_keyslots;

PL_WUR pl_fmt_status fmt_keyslots_encode(const pl_keyslots *ks, uint8_t *out, size_t cap,
                                         size_t *len);
PL_WUR pl_fmt_status fmt_keyslots_decode(const uint8_t *in, size_t n, pl_keyslots *ks);
/* Encrypts master under kek into slot->ct (kind, kdf, params, salt and nonce set first). */
void fmt_keyslot_seal(pl_keyslot *slot, const uint8_t kek[PL_KEY_BYTES],
                      const uint8_t master[PL_MASTER_KEY_BYTES]);
/* Decrypts slot->ct under kek into master; PL_FMT_CRYPTO when the key is wrong. */
PL_WUR pl_fmt_status fmt_keyslot_open(const pl_keyslot *slot, const uint8_t kek[PL_KEY_BYTES],
                                      uint8_t master[PL_MASTER_KEY_BYTES]);

#endif
