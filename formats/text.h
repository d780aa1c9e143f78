/* Text alphabets of the formats: record types, pseudonyms, recovery codes, dates. */
#ifndef PL_FORMATS_TEXT_H
#define PL_FORMATS_TEXT_H

#include <stddef.h>
#include <stdint.h>

#include "formats/bytes.h"

/* Crockford's base32 alphabet: no I, L, O, U, so codes survive being read aloud. */
#define PL_B32_ALPHABET "0123456789ABCDEFGHJKMNPQRSTVWXYZ"

#define PL_PSEUDONYM_RANDOM_BYTES 5u  /* 40 bits -> 8 symbols */
#define PL_PSEUDONYM_LEN          11u /* "B-XXXX-XXXX" */
#define PL_RECOVERY_RANDOM_BYTES  15u /* 120 bits -> 24 symbols */
#define PL_RECOVERY_SYMBOLS       24u
#define PL_RECOVERY_LEN           29u /* six groups of four, joined by '-' */
#define PL_DATE_LEN               10u /* YYYY-MM-DD */

/* A record type: 1..32 bytes of [a-z0-9.-], starting with a letter. */
int fmt_type_valid(const char *s, size_t n);
/* A header subject: 1..32 bytes of [A-Z0-9-]. */
int fmt_subject_valid(const char *s, size_t n);
/* A citizen pseudonym as peerlog makes them: "B-" 4 symbols "-" 4 symbols. */
int fmt_pseudonym_valid(const char *s);
/* Writes "B-XXXX-XXXX" (PL_PSEUDONYM_LEN + 1 bytes) from 5 random bytes. */
void fmt_pseudonym_make(const uint8_t rnd[PL_PSEUDONYM_RANDOM_BYTES],
                        char out[PL_PSEUDONYM_LEN + 1]);
/* Writes "XXXX-XXXX-XXXX-XXXX-XXXX-XXXX" (PL_RECOVERY_LEN + 1 bytes) from 15 random bytes. */
void fmt_recovery_make(const uint8_t rnd[PL_RECOVERY_RANDOM_BYTES],
                       char out[PL_RECOVERY_LEN + 1]);
/* Normalises what a person typed (case, spaces, dashes, O->0, I/L->1) into the canonical
 * form. 0 on success, -1 when it is not a recovery code. */
PL_WUR int fmt_recovery_normalize(const char *in, size_t n, char out[PL_RECOVERY_LEN + 1]);
/* 1 when the UTF-8 text s[n] is safe to show a person as a name: no control characters
 * (C0, DEL, C1), no line or paragraph separators and no bidirectional controls, which could
 * forge or hide what is printed next to it (e.g. a fingerprint). */
int fmt_name_valid(const char *s, size_t n);
/* The length of a control character, C1 control or bidirectional/separator mark starting at
 * s[0] (of n bytes), 0 when s starts with safe text: what a terminal must not be sent. */
size_t fmt_text_unsafe_at(const char *s, size_t n);
/* A fingerprint as a person types it (spaces, '-' and ':' between digits allowed, any case)
 * into out: 2 * nbytes lowercase hex digits. 0, or -1 when it is not one. */
int fmt_fingerprint_parse(const char *in, size_t nbytes, char *out);
/* 1 when s is a real calendar date "YYYY-MM-DD" between 1900 and 9999. */
int fmt_date_valid(const char *s);

#endif
