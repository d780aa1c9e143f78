#include "vault/secret.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <jansson.h>
#include <sodium.h>

pl_secret *pl_secret_new(size_t cap)
{
    pl_secret *s = sodium_malloc(sizeof *s);
    if (!s)
        return NULL;
    s->p = sodium_malloc(cap ? cap : 1);
    if (!s->p) {
        sodium_free(s);
        return NULL;
    }
    s->len = 0;
    s->cap = cap;
    return s;
}

void pl_secret_free(pl_secret *s)
{
    if (!s)
        return;
    sodium_free(s->p); /* sodium_free wipes before unmapping */
    sodium_free(s);
}

/* Each block carries its size in front so that free can wipe it. */
typedef union {
    size_t n;
    max_align_t align;
} json_block;

static void *json_wiping_malloc(size_t n)
{
    if (n > SIZE_MAX - sizeof(json_block))
        return NULL;
    json_block *b = malloc(sizeof *b + n);
    if (!b)
        return NULL;
    b->n = n;
    return b + 1;
}

static void json_wiping_free(void *p)
{
    if (!p)
        return;
    json_block *b = (json_block *)p - 1;
    sodium_memzero(p, b->n);
    free(b);
}

void pl_json_use_wiping_allocator(void)
{
    json_set_alloc_funcs(json_wiping_malloc, json_wiping_free);
}
