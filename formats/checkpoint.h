/* Checkpoints: an auditor's signed note of every feed's head, in the C2SP signed-note style
 * (formats/checkpoint.md; keep the two in step). */
#ifndef PL_FORMATS_CHECKPOINT_H
#define PL_FORMATS_CHECKPOINT_H

#include <stddef.h>
#include <stdint.h>

#include "formats/entry.h"

#define PL_CHECKPOINT_ORIGIN    "peerlog/org/"
#define PL_CHECKPOINT_KEY_NAME  "peerlog-auditor-"
#define PL_CHECKPOINT_FEEDS_MAX 4096u
#define PL_CHECKPOINT_SIGS_MAX  16u
#define PL_CHECKPOINT_MAX       (1u << 20) /* bytes of a whole file */
#define PL_CHECKPOINT_FP_HEX    32u        /* fingerprints: 16 bytes as lowercase hex */
#define PL_CHECKPOINT_KEYHASH   4u

typedef struct {
    uint8_t feed[PL_SIGN_PK_BYTES];
    uint64_t seq;
    uint8_t head[PL_ID_BYTES];
} pl_checkpoint_feed;

typedef struct {
    char org[PL_CHECKPOINT_FP_HEX + 1];    /* the organisation's fingerprint */
    char signer[PL_CHECKPOINT_FP_HEX + 1]; /* the signing auditor's fingerprint */
    uint8_t keyhash[PL_CHECKPOINT_KEYHASH];
    uint8_t sig[PL_SIG_BYTES];
    size_t text_len; /* the signed text is in[0..text_len) */
    /* Every auditor's signature line, in file order (the first is also in signer, keyhash
     * and sig): a verifier takes the first that verifies (formats/checkpoint.md §7). */
    struct {
        char signer[PL_CHECKPOINT_FP_HEX + 1];
        uint8_t keyhash[PL_CHECKPOINT_KEYHASH];
        uint8_t sig[PL_SIG_BYTES];
    } cand[PL_CHECKPOINT_SIGS_MAX];
    size_t ncand;
    size_t nfeeds;
    pl_checkpoint_feed *feeds; /* points into the caller's array of PL_CHECKPOINT_FEEDS_MAX */
} pl_checkpoint;

/* The C2SP key hash of an Ed25519 key named name: SHA-256(name || "\n" || 0x01 || pk)[0..4). */
void fmt_checkpoint_keyhash(const char *name, const uint8_t pk[PL_SIGN_PK_BYTES],
                            uint8_t out[PL_CHECKPOINT_KEYHASH]);

/* Writes the note's text (origin line and one line per feed, feeds in increasing byte order,
 * each once) into out[cap]; *len receives its length. PL_FMT_TOO_BIG when out is short,
 * PL_FMT_FIELD when the feeds are not in strictly increasing order or a seq is 0. */
PL_WUR pl_fmt_status fmt_checkpoint_text(const pl_checkpoint *c, char *out, size_t cap,
                                         size_t *len);
/* Appends the blank line and the signature line for the text in out[0..text_len) to out; the
 * signature (c->sig) must be over exactly that text. *len receives the file's length. */
PL_WUR pl_fmt_status fmt_checkpoint_sign_line(const pl_checkpoint *c, char *out, size_t cap,
                                              size_t text_len, size_t *len);
/* Parses a whole file: the text, then the signature lines; those whose key name is
 * PL_CHECKPOINT_KEY_NAME + fingerprint are kept in cand (the first also in signer, keyhash
 * and sig), others are skipped, as signed notes allow. feeds must hold PL_CHECKPOINT_FEEDS_MAX rows. The signature is not checked here. */
PL_WUR pl_fmt_status fmt_checkpoint_decode(const char *in, size_t n, pl_checkpoint *c,
                                           pl_checkpoint_feed *feeds);

#endif
