/* Bounded little-endian byte cursors used by every codec in formats/.
 * A reader never reads past its end; a writer never writes past its capacity.
 * Both latch the first failure, so a codec can check once at the end. */
#ifndef PL_FORMATS_BYTES_H
#define PL_FORMATS_BYTES_H

#include <stddef.h>
#include <stdint.h>

#define PL_WUR __attribute__((warn_unused_result))

typedef struct {
    const uint8_t *p;
    size_t n;
    size_t off;
    int bad; /* set once any read ran past the end */
} pl_rd;

typedef struct {
    uint8_t *p;
    size_t cap;
    size_t len;
    int bad; /* set once any write would have overflowed */
} pl_wr;

void pl_rd_init(pl_rd *r, const uint8_t *p, size_t n);
uint8_t pl_rd_u8(pl_rd *r);
uint16_t pl_rd_u16(pl_rd *r);
uint32_t pl_rd_u32(pl_rd *r);
uint64_t pl_rd_u64(pl_rd *r);
/* Returns a pointer to the next n bytes, or NULL (and marks the reader bad). */
const uint8_t *pl_rd_take(pl_rd *r, size_t n);
/* Copies the next n bytes into out (zeroes out on failure). */
void pl_rd_copy(pl_rd *r, void *out, size_t n);
size_t pl_rd_left(const pl_rd *r);

void pl_wr_init(pl_wr *w, uint8_t *p, size_t cap);
void pl_wr_u8(pl_wr *w, uint8_t v);
void pl_wr_u16(pl_wr *w, uint16_t v);
void pl_wr_u32(pl_wr *w, uint32_t v);
void pl_wr_u64(pl_wr *w, uint64_t v);
void pl_wr_put(pl_wr *w, const void *src, size_t n);

void pl_store_u64(uint8_t out[8], uint64_t v);

#endif
