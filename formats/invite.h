/* Invitations: the organisation's member key (its X25519 secret key, from which the exchange
 * key follows) sealed to a new member's box key, so that the member can read the
 * organisation's bundles and policy before its key grant arrives.
 * Byte layout in formats/bundle.md §4; keep the two in step. */
#ifndef PL_FORMATS_INVITE_H
#define PL_FORMATS_INVITE_H

#include <stddef.h>
#include <stdint.h>

#include "formats/entry.h"

#define PL_INVITE_MAGIC   "PLIN"
#define PL_INVITE_VERSION 1u
#define PL_DOM_INVITE     "peerlog/v1/invitation"
/* Sealed plaintext: domain, org, epoch, member, member key (secret). */
#define PL_INVITE_PLAIN   (sizeof PL_DOM_INVITE + PL_ID_BYTES + 4u + PL_SIGN_PK_BYTES + \
                           PL_KEY_BYTES)
#define PL_INVITE_SEALED  (PL_INVITE_PLAIN + 48u) /* crypto_box_SEALBYTES */
#define PL_INVITE_BYTES   (4u + 1u + 3u + PL_ID_BYTES + 4u + PL_SIGN_PK_BYTES + PL_INVITE_SEALED)

_Static_assert(PL_INVITE_BYTES == 246, "invitation size as in formats/bundle.md");

typedef struct {
    uint8_t org[PL_ID_BYTES];           /* organisation id */
    uint32_t epoch;                     /* the member key's epoch */
    uint8_t member[PL_SIGN_PK_BYTES];   /* the invited member's feed */
} pl_invite_info;

/* Writes an invitation for info->member, sealing key to member_box_pk, into out.
 * PL_FMT_CRYPTO (and out zeroed) when member_box_pk is not a usable key. */
PL_WUR pl_fmt_status fmt_invite_encode(const pl_invite_info *info, const uint8_t key[PL_KEY_BYTES],
                       const uint8_t member_box_pk[PL_BOX_PK_BYTES],
                       uint8_t out[PL_INVITE_BYTES]);

/* Reads the clear fields of in[0..n) (at least PL_INVITE_BYTES; the rest, if any, is
 * *rest_len bytes at *rest: a bundle that came with it). */
PL_WUR pl_fmt_status fmt_invite_info(const uint8_t *in, size_t n, pl_invite_info *info,
                                     const uint8_t **rest, size_t *rest_len);

/* Opens the sealed part with the member's box key pair into key (PL_FMT_CRYPTO when it is
 * not for that key) and checks that it repeats the clear fields. */
PL_WUR pl_fmt_status fmt_invite_open(const uint8_t *in, size_t n,
                                     const uint8_t box_pk[PL_BOX_PK_BYTES],
                                     const uint8_t box_sk[PL_BOX_SK_BYTES],
                                     pl_invite_info *info, uint8_t key[PL_KEY_BYTES]);

#endif
