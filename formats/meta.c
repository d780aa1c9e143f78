#include "formats/meta.h"

#include <stdlib.h>
#include <string.h>

static int key_char(char c, int first)
{
    if (c >= 'a' && c <= 'z')
        return 1;
    return !first && ((c >= '0' && c <= '9') || c == '_');
}

/* Checks one "key=value\n" line at m[0..n); returns its length, 0 if invalid.
 * *klen receives the key length. */
static size_t line_check(const char *m, size_t n, size_t *klen)
{
    size_t i = 0;
    while (i < n && i <= PL_META_KEY_MAX && key_char(m[i], i == 0))
        i++;
    if (i == 0 || i > PL_META_KEY_MAX || i >= n || m[i] != '=')
        return 0;
    *klen = i;
    size_t v = ++i;
    while (i < n && m[i] != '\n') {
        if (m[i] < 0x20 || m[i] > 0x7e)
            return 0;
        i++;
    }
    if (i >= n || i - v > PL_META_VALUE_MAX)
        return 0;
    return i + 1;
}

static int key_cmp(const char *a, size_t an, const char *b, size_t bn)
{
    int c = memcmp(a, b, an < bn ? an : bn);
    if (c)
        return c;
    return an < bn ? -1 : an > bn ? 1 : 0;
}

int fmt_meta_valid(const char *m, size_t n)
{
    const char *prev = NULL;
    size_t prevlen = 0, off = 0;
    while (off < n) {
        size_t klen, len = line_check(m + off, n - off, &klen);
        if (len == 0)
            return 0;
        if (prev && key_cmp(prev, prevlen, m + off, klen) >= 0)
            return 0;
        prev = m + off;
        prevlen = klen;
        off += len;
    }
    return 1;
}

int fmt_meta_get(const char *m, size_t n, const char *key, char *out, size_t cap)
{
    size_t off = 0, want = strlen(key);
    while (off < n) {
        size_t klen, len = line_check(m + off, n - off, &klen);
        if (len == 0)
            return -1;
        if (klen == want && memcmp(m + off, key, klen) == 0) {
            size_t vlen = len - klen - 2;
            if (vlen + 1 > cap)
                return -1;
            memcpy(out, m + off + klen + 1, vlen);
            out[vlen] = '\0';
            return 0;
        }
        off += len;
    }
    return -1;
}

static int pair_cmp(const void *a, const void *b)
{
    return strcmp(((const pl_meta_pair *)a)->key, ((const pl_meta_pair *)b)->key);
}

/* A key or value that is valid on its own; checked before writing, so that a value holding
 * "\n" or a key holding "=" cannot smuggle in a line that would pass fmt_meta_valid. */
static int pair_ok(const char *k, size_t kl, const char *v, size_t vl)
{
    if (kl == 0 || kl > PL_META_KEY_MAX || vl > PL_META_VALUE_MAX)
        return 0;
    for (size_t i = 0; i < kl; i++)
        if (!key_char(k[i], i == 0))
            return 0;
    for (size_t i = 0; i < vl; i++)
        if (v[i] < 0x20 || v[i] > 0x7e)
            return 0;
    return 1;
}

int fmt_meta_build(pl_meta_pair *pairs, size_t n, char *out, size_t cap, size_t *len)
{
    size_t at = 0;
    if (cap == 0)
        return -1;
    qsort(pairs, n, sizeof *pairs, pair_cmp);
    for (size_t i = 0; i < n; i++) {
        if (!pairs[i].value)
            continue;
        size_t kl = strlen(pairs[i].key), vl = strlen(pairs[i].value);
        if (!pair_ok(pairs[i].key, kl, pairs[i].value, vl) || kl + vl + 2 >= cap - at)
            return -1;
        memcpy(out + at, pairs[i].key, kl);
        out[at + kl] = '=';
        memcpy(out + at + kl + 1, pairs[i].value, vl);
        out[at + kl + 1 + vl] = '\n';
        at += kl + vl + 2;
    }
    out[at] = '\0';
    if (!fmt_meta_valid(out, at))
        return -1;
    *len = at;
    return 0;
}
