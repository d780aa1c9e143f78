/* Entry headers, entry ids, signatures, body encryption and key wraps.
 * The byte layout is specified in formats/entry.md; keep the two in step. */
#ifndef PL_FORMATS_ENTRY_H
#define PL_FORMATS_ENTRY_H

#include <stddef.h>
#include <stdint.h>

#include <sodium.h>

#include "formats/bytes.h"

#define PL_HASH_BYTES      32u /* BLAKE2b-256 */
#define PL_ID_BYTES        PL_HASH_BYTES
#define PL_SIGN_PK_BYTES   32u /* Ed25519 public key = feed id */
#define PL_SIGN_SK_BYTES   64u
#define PL_SIG_BYTES       64u
#define PL_BOX_PK_BYTES    32u /* X25519 */
#define PL_BOX_SK_BYTES    32u
#define PL_KEY_BYTES       32u /* symmetric keys */
#define PL_BODY_NONCE_BYTES 24u
#define PL_BODY_TAG_BYTES  16u
#define PL_BODY_OVERHEAD   (PL_BODY_NONCE_BYTES + PL_BODY_TAG_BYTES)
#define PL_WRAP_NONCE_BYTES 24u
#define PL_WRAP_BYTES      (PL_WRAP_NONCE_BYTES + PL_KEY_BYTES + 16u)

#define PL_HEADER_VERSION  1u
/* Latest time_ms a header may carry, 9999-12-31T23:59:59.999Z: entries are indexed and shown
 * by their YYYY-MM-DD date, which has no room for a later year. */
#define PL_TIME_MS_MAX     INT64_C(253402300799999)
#define PL_TYPE_MAX        32u
#define PL_SUBJECT_MAX     32u
#define PL_REFS_MAX        16u
#define PL_META_MAX        4096u
#define PL_RCPT_MAX        64u
#define PL_BODY_PLAIN_MAX  (1u << 20) /* 1 MiB of JSON per body */
#define PL_BODY_MAX        (PL_BODY_PLAIN_MAX + PL_BODY_OVERHEAD)
#define PL_HEADER_MAX \
    (1u + 1u + PL_TYPE_MAX + PL_SIGN_PK_BYTES + 8u + PL_ID_BYTES + 8u + 1u + PL_SUBJECT_MAX + \
     1u + PL_REFS_MAX * PL_ID_BYTES + 2u + PL_META_MAX + PL_BOX_PK_BYTES + 1u +            \
     PL_RCPT_MAX * PL_BOX_PK_BYTES + 4u + PL_HASH_BYTES)

_Static_assert(PL_HASH_BYTES == crypto_generichash_BYTES, "BLAKE2b-256");
_Static_assert(PL_SIGN_PK_BYTES == crypto_sign_PUBLICKEYBYTES, "Ed25519 pk");
_Static_assert(PL_SIGN_SK_BYTES == crypto_sign_SECRETKEYBYTES, "Ed25519 sk");
_Static_assert(PL_SIG_BYTES == crypto_sign_BYTES, "Ed25519 sig");
_Static_assert(PL_BOX_PK_BYTES == crypto_box_PUBLICKEYBYTES, "X25519 pk");
_Static_assert(PL_BOX_SK_BYTES == crypto_box_SECRETKEYBYTES, "X25519 sk");
_Static_assert(PL_KEY_BYTES == crypto_aead_xchacha20poly1305_ietf_KEYBYTES, "body key");
_Static_assert(PL_BODY_NONCE_BYTES == crypto_aead_xchacha20poly1305_ietf_NPUBBYTES, "nonce");
_Static_assert(PL_BODY_TAG_BYTES == crypto_aead_xchacha20poly1305_ietf_ABYTES, "tag");
_Static_assert(PL_WRAP_NONCE_BYTES == crypto_box_NONCEBYTES, "wrap nonce");
_Static_assert(PL_WRAP_BYTES == crypto_box_NONCEBYTES + PL_KEY_BYTES + crypto_box_MACBYTES,
               "wrap size");
_Static_assert(PL_KEY_BYTES == crypto_box_BEFORENMBYTES, "precomputed box key");

/* Domain-separation prefixes (each includes its terminating NUL byte). */
#define PL_DOM_ENTRY_ID  "peerlog/v1/entry-id"
#define PL_DOM_ENTRY_SIG "peerlog/v1/entry-sig"
#define PL_DOM_BODY_HASH "peerlog/v1/body-hash"
#define PL_DOM_BODY_AD   "peerlog/v1/body"

typedef enum {
    PL_FMT_OK = 0,
    PL_FMT_TRUNCATED,   /* input ended early */
    PL_FMT_TRAILING,    /* bytes left after the last field */
    PL_FMT_VERSION,     /* unknown format version or magic */
    PL_FMT_FIELD,       /* a field's value is out of its allowed range or alphabet */
    PL_FMT_TOO_BIG,     /* the output would not fit */
    PL_FMT_CRYPTO       /* authentication failed */
} pl_fmt_status;

const char *fmt_status_str(pl_fmt_status s);

typedef struct {
    uint8_t version;
    char type[PL_TYPE_MAX + 1];           /* NUL-terminated */
    uint8_t feed[PL_SIGN_PK_BYTES];       /* author's Ed25519 public key */
    uint64_t seq;                         /* 1, 2, 3 … in the feed */
    uint8_t prev[PL_ID_BYTES];            /* id of seq-1; zero for seq 1 */
    int64_t time_ms;                      /* author clock, ms since 1970-01-01 UTC */
    char subject[PL_SUBJECT_MAX + 1];     /* "" when none */
    uint8_t nrefs;
    uint8_t refs[PL_REFS_MAX][PL_ID_BYTES];
    uint16_t meta_len;
    char meta[PL_META_MAX + 1];           /* "key=value\n" lines, NUL-terminated */
    uint8_t box_pk[PL_BOX_PK_BYTES];      /* author's X25519 key that made the wraps */
    uint8_t nrcpt;
    uint8_t rcpt[PL_RCPT_MAX][PL_BOX_PK_BYTES];
    uint32_t body_len;                    /* bytes of the encrypted body */
    uint8_t body_hash[PL_HASH_BYTES];
} pl_header;

/* Encodes h into out[cap]; *len receives the size. Validates every field first. */
PL_WUR pl_fmt_status fmt_header_encode(const pl_header *h, uint8_t *out, size_t cap, size_t *len);
/* Decodes exactly n bytes into h; rejects trailing bytes and out-of-range fields. */
PL_WUR pl_fmt_status fmt_header_decode(const uint8_t *in, size_t n, pl_header *h);

/* id = BLAKE2b-256(PL_DOM_ENTRY_ID "\0" || header bytes) */
void fmt_entry_id(const uint8_t *hdr, size_t n, uint8_t id[PL_ID_BYTES]);
/* sig = Ed25519(sk, PL_DOM_ENTRY_SIG "\0" || id) */
void fmt_entry_sign(const uint8_t id[PL_ID_BYTES], const uint8_t sk[PL_SIGN_SK_BYTES],
                    uint8_t sig[PL_SIG_BYTES]);
/* 0 when sig is the feed key's valid signature over id, -1 otherwise. */
PL_WUR int fmt_entry_verify(const uint8_t id[PL_ID_BYTES], const uint8_t sig[PL_SIG_BYTES],
                            const uint8_t pk[PL_SIGN_PK_BYTES]);
/* body_hash = BLAKE2b-256(PL_DOM_BODY_HASH "\0" || encrypted body) */
void fmt_body_hash(const uint8_t *body, size_t n, uint8_t out[PL_HASH_BYTES]);

/* Encrypts plain[n] under key for (feed, seq). out must hold n + PL_BODY_OVERHEAD bytes:
 * nonce(24) || ciphertext || tag(16). The nonce comes from randombytes. */
PL_WUR pl_fmt_status fmt_body_seal(const uint8_t key[PL_KEY_BYTES],
                                   const uint8_t feed[PL_SIGN_PK_BYTES], uint64_t seq,
                                   const uint8_t *plain, size_t n, uint8_t *out);
/* The variant with a given nonce: for test vectors, and for callers that draw the key and
 * nonces in one randombytes call (vault/feed.c). Never reuse a (key, nonce) pair. */
PL_WUR pl_fmt_status fmt_body_seal_nonce(const uint8_t key[PL_KEY_BYTES],
                                         const uint8_t feed[PL_SIGN_PK_BYTES], uint64_t seq,
                                         const uint8_t nonce[PL_BODY_NONCE_BYTES],
                                         const uint8_t *plain, size_t n, uint8_t *out);
/* Decrypts body[n] into plain (n - PL_BODY_OVERHEAD bytes); PL_FMT_CRYPTO if it fails. */
PL_WUR pl_fmt_status fmt_body_open(const uint8_t key[PL_KEY_BYTES],
                                   const uint8_t feed[PL_SIGN_PK_BYTES], uint64_t seq,
                                   const uint8_t *body, size_t n, uint8_t *plain);

/* A wrap is nonce(24) || crypto_box_easy_afternm(body key) under the precomputed key
 * crypto_box_beforenm(recipient pk, author sk) (= beforenm(author pk, recipient sk)). */
void fmt_wrap_seal(const uint8_t shared[PL_KEY_BYTES], const uint8_t body_key[PL_KEY_BYTES],
                   uint8_t out[PL_WRAP_BYTES]);
void fmt_wrap_seal_nonce(const uint8_t shared[PL_KEY_BYTES],
                         const uint8_t body_key[PL_KEY_BYTES],
                         const uint8_t nonce[PL_WRAP_NONCE_BYTES], uint8_t out[PL_WRAP_BYTES]);
PL_WUR pl_fmt_status fmt_wrap_open(const uint8_t shared[PL_KEY_BYTES],
                                   const uint8_t in[PL_WRAP_BYTES],
                                   uint8_t body_key[PL_KEY_BYTES]);

#endif
