/* Hex helpers shared by the golden-vector tests (the notation of the formats .md files). */
#ifndef PL_TEST_HEX_H
#define PL_TEST_HEX_H

#include <stdio.h>
#include <string.h>

#include <sodium.h>

#include "formats/entry.h"
#include "formats/keyslots.h"
#include "tests/unit/check.h"

#define HEX_MAX_BYTES (PL_HEADER_MAX > PL_KS_FILE_MAX ? PL_HEADER_MAX : PL_KS_FILE_MAX)

/* Fills p[n] with first, first+1, … (the "00..1f" notation of the .md files). */
static inline void count_from(uint8_t *p, size_t n, unsigned first)
{
    for (size_t i = 0; i < n; i++)
        p[i] = (uint8_t)(first + i);
}

/* Decodes hex into out[cap]; returns the byte count, 0 when hex is malformed or too long. */
static inline size_t unhex(const char *hex, uint8_t *out, size_t cap)
{
    size_t n = 0;
    if (sodium_hex2bin(out, cap, hex, strlen(hex), NULL, &n, NULL) != 0)
        return 0;
    return n;
}

/* 1 when p[n] is exactly the bytes written as hex; prints both on a mismatch. */
static inline int same_hex(const uint8_t *p, size_t n, const char *hex)
{
    static char buf[2 * HEX_MAX_BYTES + 1];
    if (2 * n + 1 > sizeof buf)
        return 0;
    sodium_bin2hex(buf, sizeof buf, p, n);
    if (strcmp(buf, hex) == 0)
        return 1;
    fprintf(stderr, "  got:  %s\n  want: %s\n", buf, hex);
    return 0;
}

#define CHECK_HEX(p, n, hex) CHECK(same_hex((p), (n), (hex)))

#endif
