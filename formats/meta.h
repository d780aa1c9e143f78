/* Header metadata: what an auditor needs without the body, as canonical text.
 * Lines "key=value\n"; keys [a-z][a-z0-9_]* up to PL_META_KEY_MAX bytes, strictly
 * increasing in byte order (so each key appears once and the encoding is unique);
 * values printable ASCII (0x20-0x7e) up to PL_META_VALUE_MAX bytes. */
#ifndef PL_FORMATS_META_H
#define PL_FORMATS_META_H

#include <stddef.h>

#include "formats/bytes.h"

#define PL_META_KEY_MAX   32u
#define PL_META_VALUE_MAX 1024u

typedef struct {
    const char *key;
    const char *value; /* NULL: the pair is left out */
} pl_meta_pair;

/* 1 when m[n] is valid metadata (the empty string is), else 0. */
int fmt_meta_valid(const char *m, size_t n);
/* Copies the value of key into out[cap] (NUL-terminated); 0 found, -1 absent or too long. */
PL_WUR int fmt_meta_get(const char *m, size_t n, const char *key, char *out, size_t cap);
/* Sorts pairs by key and writes canonical metadata into out[cap] (NUL-terminated);
 * *len receives its length. -1 when a key or value is invalid, repeated, or out is short. */
PL_WUR int fmt_meta_build(pl_meta_pair *pairs, size_t n, char *out, size_t cap, size_t *len);

#endif
