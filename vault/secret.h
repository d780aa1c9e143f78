/* Secret buffers: sodium_malloc'd (guard pages, mlock'd where the OS allows), wiped and
 * freed by pl_secret_free on every path. */
#ifndef PL_VAULT_SECRET_H
#define PL_VAULT_SECRET_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
    uint8_t *p;
    size_t len;
    size_t cap;
} pl_secret;

/* Allocates cap bytes (len 0); NULL when out of memory. */
pl_secret *pl_secret_new(size_t cap);
/* Wipes and frees s (NULL is fine). */
void pl_secret_free(pl_secret *s);

/* jansson allocation hooks that wipe every block on free, so decrypted JSON bodies do not
 * linger in freed heap memory. Call once before any other jansson use. */
void pl_json_use_wiping_allocator(void);

#endif
