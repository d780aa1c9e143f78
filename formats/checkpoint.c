#include "formats/checkpoint.h"

#include <stdio.h>
#include <string.h>

#include <sodium.h>

/* The em dash that opens a signature line: U+2014 in UTF-8, then a space. */
#define SIG_PREFIX     "\xe2\x80\x94 "
#define SIG_TYPE_ED25519 0x01u
#define SIG_B64_LEN    (((PL_CHECKPOINT_KEYHASH + PL_SIG_BYTES + 2) / 3) * 4) /* 92 */

void fmt_checkpoint_keyhash(const char *name, const uint8_t pk[PL_SIGN_PK_BYTES],
                            uint8_t out[PL_CHECKPOINT_KEYHASH])
{
    crypto_hash_sha256_state st;
    uint8_t sep[2] = {'\n', SIG_TYPE_ED25519}, h[crypto_hash_sha256_BYTES];
    crypto_hash_sha256_init(&st);
    crypto_hash_sha256_update(&st, (const uint8_t *)name, strlen(name));
    crypto_hash_sha256_update(&st, sep, sizeof sep);
    crypto_hash_sha256_update(&st, pk, PL_SIGN_PK_BYTES);
    crypto_hash_sha256_final(&st, h);
    memcpy(out, h, PL_CHECKPOINT_KEYHASH);
}

static int lower_hex(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
            return 0;
    return 1;
}

pl_fmt_status fmt_checkpoint_text(const pl_checkpoint *c, char *out, size_t cap, size_t *len)
{
    size_t at = 0;
    if (strlen(c->org) != PL_CHECKPOINT_FP_HEX || !lower_hex(c->org, PL_CHECKPOINT_FP_HEX) ||
        c->nfeeds == 0 || c->nfeeds > PL_CHECKPOINT_FEEDS_MAX)
        return PL_FMT_FIELD;
    int n = snprintf(out, cap, PL_CHECKPOINT_ORIGIN "%s\n", c->org);
    if (n < 0 || (size_t)n >= cap)
        return PL_FMT_TOO_BIG;
    at = (size_t)n;
    for (size_t i = 0; i < c->nfeeds; i++) {
        const pl_checkpoint_feed *f = &c->feeds[i];
        if (f->seq == 0 || f->seq > (uint64_t)INT64_MAX ||
            (i && memcmp(c->feeds[i - 1].feed, f->feed, PL_SIGN_PK_BYTES) >= 0))
            return PL_FMT_FIELD;
        char feed[2 * PL_SIGN_PK_BYTES + 1], head[2 * PL_ID_BYTES + 1];
        sodium_bin2hex(feed, sizeof feed, f->feed, PL_SIGN_PK_BYTES);
        sodium_bin2hex(head, sizeof head, f->head, PL_ID_BYTES);
        n = snprintf(out + at, cap - at, "%s %llu %s\n", feed, (unsigned long long)f->seq, head);
        if (n < 0 || (size_t)n >= cap - at)
            return PL_FMT_TOO_BIG;
        at += (size_t)n;
    }
    *len = at;
    return PL_FMT_OK;
}

pl_fmt_status fmt_checkpoint_sign_line(const pl_checkpoint *c, char *out, size_t cap,
                                       size_t text_len, size_t *len)
{
    uint8_t raw[PL_CHECKPOINT_KEYHASH + PL_SIG_BYTES];
    char b64[SIG_B64_LEN + 1];
    if (strlen(c->signer) != PL_CHECKPOINT_FP_HEX || !lower_hex(c->signer, PL_CHECKPOINT_FP_HEX))
        return PL_FMT_FIELD;
    memcpy(raw, c->keyhash, PL_CHECKPOINT_KEYHASH);
    memcpy(raw + PL_CHECKPOINT_KEYHASH, c->sig, PL_SIG_BYTES);
    sodium_bin2base64(b64, sizeof b64, raw, sizeof raw, sodium_base64_VARIANT_ORIGINAL);
    if (text_len >= cap)
        return PL_FMT_TOO_BIG;
    int n = snprintf(out + text_len, cap - text_len, "\n" SIG_PREFIX PL_CHECKPOINT_KEY_NAME "%s %s\n",
                     c->signer, b64);
    if (n < 0 || (size_t)n >= cap - text_len)
        return PL_FMT_TOO_BIG;
    *len = text_len + (size_t)n;
    return PL_FMT_OK;
}

/* The decimal in s[0..n): 1 .. INT64_MAX, no sign, no leading zero. -1 when not one. */
static int parse_seq(const char *s, size_t n, uint64_t *out)
{
    uint64_t v = 0;
    if (n == 0 || n > 19 || s[0] == '0')
        return -1;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        v = v * 10 + (uint64_t)(s[i] - '0');
    }
    if (v > (uint64_t)INT64_MAX)
        return -1;
    *out = v;
    return 0;
}

/* A feed line "<64 hex> <seq> <64 hex>" in s[0..n) (without its newline). */
static pl_fmt_status feed_line(const char *s, size_t n, pl_checkpoint_feed *f)
{
    enum { HEX = 2 * PL_SIGN_PK_BYTES };
    if (n < 2 * HEX + 3 || s[HEX] != ' ' || s[n - HEX - 1] != ' ' || !lower_hex(s, HEX) ||
        !lower_hex(s + n - HEX, HEX))
        return PL_FMT_FIELD;
    if (parse_seq(s + HEX + 1, n - 2 * HEX - 2, &f->seq) != 0)
        return PL_FMT_FIELD;
    if (sodium_hex2bin(f->feed, PL_SIGN_PK_BYTES, s, HEX, NULL, NULL, NULL) != 0 ||
        sodium_hex2bin(f->head, PL_ID_BYTES, s + n - HEX, HEX, NULL, NULL, NULL) != 0)
        return PL_FMT_FIELD;
    return PL_FMT_OK;
}

/* How many bytes the base64 in s[0..n) encodes: standard alphabet, padded, canonical (the bits
 * after the last byte zero). 0 when it is not such base64. Checked before sodium_base642bin,
 * which (libsodium 1.0.18, signed char) decodes every byte >= 0x80 as the digit '/'. */
static size_t b64_bytes(const char *s, size_t n)
{
    static const char alphabet[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    if (n == 0 || n % 4 != 0)
        return 0;
    size_t pad = s[n - 1] != '=' ? 0 : s[n - 2] != '=' ? 1 : 2;
    size_t last = 0;
    for (size_t i = 0; i < n - pad; i++) {
        const char *p = memchr(alphabet, s[i], sizeof alphabet - 1);
        if (!p)
            return 0;
        last = (size_t)(p - alphabet);
    }
    if ((pad == 1 && (last & 0x3u)) || (pad == 2 && (last & 0xfu)))
        return 0;
    return n / 4 * 3 - pad;
}

/* A signature line (without its newline): 1 when it is ours (c->signer, keyhash and sig
 * set), 0 when it is well-formed but another key's, -1 when malformed. */
static int sig_line(const char *s, size_t n, pl_checkpoint *c)
{
    const size_t pre = sizeof SIG_PREFIX - 1;
    if (n < pre + 1 || memcmp(s, SIG_PREFIX, pre) != 0)
        return -1;
    const char *name = s + pre, *sp = memchr(name, ' ', n - pre);
    if (!sp || sp == name || (size_t)(s + n - (sp + 1)) == 0)
        return -1;
    size_t name_len = (size_t)(sp - name), b64_len = (size_t)(s + n - (sp + 1));
    for (size_t i = 0; i < name_len; i++)
        if ((unsigned char)name[i] <= 0x20 || (unsigned char)name[i] >= 0x7f || name[i] == '+')
            return -1; /* printable ASCII: no control character, space or invalid UTF-8 */
    const size_t kn = sizeof PL_CHECKPOINT_KEY_NAME - 1;
    if (name_len != kn + PL_CHECKPOINT_FP_HEX || memcmp(name, PL_CHECKPOINT_KEY_NAME, kn) != 0 ||
        !lower_hex(name + kn, PL_CHECKPOINT_FP_HEX)) /* another key's: a key id and a signature */
        return b64_bytes(sp + 1, b64_len) > PL_CHECKPOINT_KEYHASH ? 0 : -1;
    uint8_t raw[PL_CHECKPOINT_KEYHASH + PL_SIG_BYTES];
    size_t got = 0;
    const char *end = NULL;
    if (b64_len != SIG_B64_LEN || b64_bytes(sp + 1, b64_len) != sizeof raw || /* see b64_bytes */
        sodium_base642bin(raw, sizeof raw, sp + 1, b64_len, NULL, &got, &end,
                          sodium_base64_VARIANT_ORIGINAL) != 0 ||
        got != sizeof raw || end != s + n)
        return -1;
    memcpy(c->signer, name + kn, PL_CHECKPOINT_FP_HEX);
    c->signer[PL_CHECKPOINT_FP_HEX] = '\0';
    memcpy(c->keyhash, raw, PL_CHECKPOINT_KEYHASH);
    memcpy(c->sig, raw + PL_CHECKPOINT_KEYHASH, PL_SIG_BYTES);
    return 1;
}

pl_fmt_status fmt_checkpoint_decode(const char *in, size_t n, pl_checkpoint *c,
                                    pl_checkpoint_feed *feeds)
{
    memset(c, 0, sizeof *c);
    c->feeds = feeds;
    if (n > PL_CHECKPOINT_MAX)
        return PL_FMT_TOO_BIG;
    if (memchr(in, '\0', n))
        return PL_FMT_FIELD;
    size_t at = 0, line = 0;
    int in_sigs = 0, have_sig = 0;
    unsigned nsigs = 0;
    while (at < n) {
        const char *s = in + at, *nl = memchr(s, '\n', n - at);
        if (!nl)
            return PL_FMT_TRUNCATED; /* every line ends in a newline */
        size_t len = (size_t)(nl - s);
        if (line == 0) {
            const size_t on = sizeof PL_CHECKPOINT_ORIGIN - 1;
            if (len != on + PL_CHECKPOINT_FP_HEX || memcmp(s, PL_CHECKPOINT_ORIGIN, on) != 0 ||
                !lower_hex(s + on, PL_CHECKPOINT_FP_HEX))
                return PL_FMT_VERSION;
            memcpy(c->org, s + on, PL_CHECKPOINT_FP_HEX);
        } else if (!in_sigs && len == 0) {
            if (c->nfeeds == 0)
                return PL_FMT_FIELD;
            in_sigs = 1;
            c->text_len = at; /* the text ends with the newline before the blank line */
        } else if (!in_sigs) {
            if (c->nfeeds == PL_CHECKPOINT_FEEDS_MAX)
                return PL_FMT_TOO_BIG;
            pl_checkpoint_feed *f = &feeds[c->nfeeds];
            if (feed_line(s, len, f) != PL_FMT_OK)
                return PL_FMT_FIELD;
            if (c->nfeeds && memcmp(feeds[c->nfeeds - 1].feed, f->feed, PL_SIGN_PK_BYTES) >= 0)
                return PL_FMT_FIELD; /* feeds in strictly increasing order: each once */
            c->nfeeds++;
        } else {
            if (++nsigs > PL_CHECKPOINT_SIGS_MAX)
                return PL_FMT_TOO_BIG;
            pl_checkpoint one;
            int r = sig_line(s, len, &one);
            if (r < 0)
                return PL_FMT_FIELD;
            if (r == 1) {
                if (!have_sig) {
                    memcpy(c->signer, one.signer, sizeof c->signer);
                    memcpy(c->keyhash, one.keyhash, sizeof c->keyhash);
                    memcpy(c->sig, one.sig, sizeof c->sig);
                }
                memcpy(c->cand[c->ncand].signer, one.signer, sizeof one.signer);
                memcpy(c->cand[c->ncand].keyhash, one.keyhash, sizeof one.keyhash);
                memcpy(c->cand[c->ncand].sig, one.sig, sizeof one.sig);
                c->ncand++; /* at most one per signature line: nsigs bounds it */
                have_sig = 1;
            }
        }
        at += len + 1;
        line++;
    }
    if (!in_sigs || nsigs == 0)
        return PL_FMT_TRUNCATED;
    if (!have_sig)
        return PL_FMT_FIELD; /* no signature by an auditor's key */
    return PL_FMT_OK;
}
