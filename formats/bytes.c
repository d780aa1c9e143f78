#include "formats/bytes.h"

#include <string.h>

void pl_rd_init(pl_rd *r, const uint8_t *p, size_t n)
{
    r->p = p;
    r->n = p ? n : 0;
    r->off = 0;
    r->bad = 0;
}

const uint8_t *pl_rd_take(pl_rd *r, size_t n)
{
    if (r->bad || n > r->n - r->off) {
        r->bad = 1;
        return NULL;
    }
    const uint8_t *at = r->p + r->off;
    r->off += n;
    return at;
}

void pl_rd_copy(pl_rd *r, void *out, size_t n)
{
    const uint8_t *at = pl_rd_take(r, n);
    if (at)
        memcpy(out, at, n);
    else if (n)
        memset(out, 0, n);
}

size_t pl_rd_left(const pl_rd *r)
{
    return r->bad ? 0 : r->n - r->off;
}

static uint64_t rd_le(pl_rd *r, size_t n)
{
    const uint8_t *at = pl_rd_take(r, n);
    uint64_t v = 0;
    if (!at)
        return 0;
    for (size_t i = n; i-- > 0;)
        v = (v << 8) | at[i];
    return v;
}

uint8_t pl_rd_u8(pl_rd *r) { return (uint8_t)rd_le(r, 1); }
uint16_t pl_rd_u16(pl_rd *r) { return (uint16_t)rd_le(r, 2); }
uint32_t pl_rd_u32(pl_rd *r) { return (uint32_t)rd_le(r, 4); }
uint64_t pl_rd_u64(pl_rd *r) { return rd_le(r, 8); }

void pl_wr_init(pl_wr *w, uint8_t *p, size_t cap)
{
    w->p = p;
    w->cap = p ? cap : 0;
    w->len = 0;
    w->bad = 0;
}

void pl_wr_put(pl_wr *w, const void *src, size_t n)
{
    if (w->bad || n > w->cap - w->len) {
        w->bad = 1;
        return;
    }
    if (n)
        memcpy(w->p + w->len, src, n);
    w->len += n;
}

static void wr_le(pl_wr *w, uint64_t v, size_t n)
{
    uint8_t b[8];
    for (size_t i = 0; i < n; i++)
        b[i] = (uint8_t)(v >> (8 * i));
    pl_wr_put(w, b, n);
}

void pl_wr_u8(pl_wr *w, uint8_t v) { wr_le(w, v, 1); }
void pl_wr_u16(pl_wr *w, uint16_t v) { wr_le(w, v, 2); }
void pl_wr_u32(pl_wr *w, uint32_t v) { wr_le(w, v, 4); }
void pl_wr_u64(pl_wr *w, uint64_t v) { wr_le(w, v, 8); }

void pl_store_u64(uint8_t out[8], uint64_t v)
{
    for (size_t i = 0; i < 8; i++)
        out[i] = (uint8_t)(v >> (8 * i));
}
