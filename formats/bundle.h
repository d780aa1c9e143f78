/* Bundles: a run of entries carried between devices, encrypted to the organisation's
 * exchange key with crypto_secretstream and signed by the exporting device.
 * Byte layout in formats/bundle.md; keep the two in step. */
#ifndef PL_FORMATS_BUNDLE_H
#define PL_FORMATS_BUNDLE_H

#include <stddef.h>
#include <stdint.h>

#include "formats/entry.h"

#define PL_BUNDLE_MAGIC       "PLBU"
#define PL_BUNDLE_VERSION     1u
#define PL_BUNDLE_SS_HEADER   24u /* crypto_secretstream_xchacha20poly1305_HEADERBYTES */
#define PL_BUNDLE_SS_ABYTES   17u /* crypto_secretstream_xchacha20poly1305_ABYTES */
#define PL_BUNDLE_PREAMBLE    (4u + 1u + 3u + PL_HASH_BYTES + PL_SIGN_PK_BYTES + 4u + 4u + \
                               PL_BUNDLE_SS_HEADER)
#define PL_BUNDLE_MAX_ENTRIES 100000u
#define PL_BUNDLE_MAX_BYTES   (256u * 1024u * 1024u) /* a file larger than this is refused */
/* One record: header length, header, signature, body flag, wraps, body. */
#define PL_BUNDLE_RECORD_MAX  (2u + PL_HEADER_MAX + PL_SIG_BYTES + 1u + \
                               PL_RCPT_MAX * PL_WRAP_BYTES + PL_BODY_MAX)
#define PL_DOM_BUNDLE_SIG     "peerlog/v1/bundle-sig"

_Static_assert(PL_BUNDLE_PREAMBLE == 104, "bundle preamble as in formats/bundle.md");
_Static_assert(PL_BUNDLE_SS_HEADER == crypto_secretstream_xchacha20poly1305_HEADERBYTES,
               "secretstream header");
_Static_assert(PL_BUNDLE_SS_ABYTES == crypto_secretstream_xchacha20poly1305_ABYTES,
               "secretstream overhead");
_Static_assert(PL_KEY_BYTES == crypto_secretstream_xchacha20poly1305_KEYBYTES, "exchange key");

/* What the cleartext preamble says. */
typedef struct {
    uint8_t org[PL_HASH_BYTES];          /* organisation id */
    uint8_t exporter[PL_SIGN_PK_BYTES];  /* the exporting device's Ed25519 key */
    uint32_t epoch;                      /* which exchange key encrypted it */
    uint32_t count;                      /* entries in the bundle, 1..PL_BUNDLE_MAX_ENTRIES */
} pl_bundle_info;

/* One entry as carried: pointers into the caller's (encode) or the decoder's buffer. The
 * lengths of wraps and body follow from the header (nrcpt, body_len); the decoder fills
 * them in, the encoder derives them itself. */
typedef struct {
    const uint8_t *header;
    size_t header_len;
    const uint8_t *sig;   /* PL_SIG_BYTES */
    const uint8_t *wraps; /* nrcpt * PL_WRAP_BYTES */
    size_t wraps_len;
    const uint8_t *body;  /* body_len bytes, or NULL when the body was erased */
    size_t body_len;
} pl_bundle_entry;

/* Reads the preamble only (to find the exchange key): checks magic, version, reserved bytes
 * and count. */
PL_WUR pl_fmt_status fmt_bundle_info(const uint8_t *in, size_t n, pl_bundle_info *info);

/* Encodes entries[0..info->count) into a malloc'd *out (*len bytes), encrypted under key and
 * signed with exporter_sk (whose public key must be info->exporter). */
PL_WUR pl_fmt_status fmt_bundle_encode(const pl_bundle_info *info,
                                       const uint8_t key[PL_KEY_BYTES],
                                       const uint8_t exporter_sk[PL_SIGN_SK_BYTES],
                                       const pl_bundle_entry *entries, uint8_t **out,
                                       size_t *len);

/* Decrypts and checks the whole bundle: framing, every record's layout and header, the
 * final tag, no trailing bytes, and the exporter's signature. On success *entries (count
 * items) point into *plain; free both with free(). Nothing is returned on failure. Entry
 * signatures and chains are the caller's to check. */
PL_WUR pl_fmt_status fmt_bundle_decode(const uint8_t *in, size_t n,
                                       const uint8_t key[PL_KEY_BYTES], pl_bundle_info *info,
                                       pl_bundle_entry **entries, uint8_t **plain);

#endif
