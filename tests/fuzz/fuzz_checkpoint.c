/* Checkpoints. First byte even: the rest is a checkpoint file, read with fmt_checkpoint_decode.
 * What it accepts must be what formats/checkpoint.md describes: the text it found re-encodes
 * byte for byte with fmt_checkpoint_text and a blank line follows it; the signature line
 * re-encoded from the fields it returned is the first line with an auditor's key name; the file
 * is printable ASCII but for the newlines and the em dashes that open signature lines. First
 * byte odd: the rest gives an organisation, a signer, a key hash, a signature and feeds (sorted
 * when bit 1 of the first byte is set), which fmt_checkpoint_text and fmt_checkpoint_sign_line
 * write when they are valid and fmt_checkpoint_decode must read back as they were. */
#include <stdlib.h>
#include <string.h>

#include "formats/checkpoint.h"
#include "tests/fuzz/fuzz.h"

#define EM_DASH "\xe2\x80\x94 "
#define FEED_BYTES (PL_SIGN_PK_BYTES + 8 + PL_ID_BYTES)

static pl_checkpoint_feed rows[PL_CHECKPOINT_FEEDS_MAX], made[PL_CHECKPOINT_FEEDS_MAX];
static char out[PL_CHECKPOINT_MAX];

static int lower_hex(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
            return 0;
    return 1;
}

/* 1 when the line s[0..n) (with its newline) carries an auditor's key name. */
static int auditor_line(const char *s, size_t n)
{
    const size_t pre = sizeof EM_DASH - 1, kn = sizeof PL_CHECKPOINT_KEY_NAME - 1;
    return n > pre + kn + PL_CHECKPOINT_FP_HEX && memcmp(s, EM_DASH, pre) == 0 &&
           memcmp(s + pre, PL_CHECKPOINT_KEY_NAME, kn) == 0 &&
           lower_hex(s + pre + kn, PL_CHECKPOINT_FP_HEX) &&
           s[pre + kn + PL_CHECKPOINT_FP_HEX] == ' ';
}

static void check_file(const char *in, size_t n)
{
    pl_checkpoint c;
    pl_fmt_status st = fmt_checkpoint_decode(in, n, &c, rows);
    if (n > PL_CHECKPOINT_MAX)
        FUZZ_CHECK(st == PL_FMT_TOO_BIG);
    if (st != PL_FMT_OK)
        return;
    FUZZ_CHECK(n > 0 && in[n - 1] == '\n');
    FUZZ_CHECK(c.feeds == rows && c.nfeeds >= 1 && c.nfeeds <= PL_CHECKPOINT_FEEDS_MAX);
    FUZZ_CHECK(c.text_len + 1 < n && in[c.text_len - 1] == '\n' && in[c.text_len] == '\n');
    FUZZ_CHECK(strlen(c.org) == PL_CHECKPOINT_FP_HEX && strlen(c.signer) == PL_CHECKPOINT_FP_HEX);

    /* The round trip of the text. */
    size_t len = 0, total = 0;
    FUZZ_CHECK(fmt_checkpoint_text(&c, out, sizeof out, &len) == PL_FMT_OK);
    FUZZ_CHECK(len == c.text_len && memcmp(out, in, len) == 0);
    for (size_t i = 0; i < len; i++)
        FUZZ_CHECK(in[i] == '\n' || (in[i] >= 0x20 && in[i] < 0x7f));

    /* Our signature line is the first auditor's line, as it re-encodes; every signature line
     * is an em dash, a space and printable ASCII. */
    FUZZ_CHECK(fmt_checkpoint_sign_line(&c, out, sizeof out, len, &total) == PL_FMT_OK);
    const char *ours = out + len + 1;
    size_t ours_len = total - len - 1, lines = 0;
    int seen = 0;
    for (size_t at = c.text_len + 1; at < n;) {
        const char *s = in + at, *nl = memchr(s, '\n', n - at);
        FUZZ_CHECK(nl != NULL);
        size_t l = (size_t)(nl - s) + 1;
        FUZZ_CHECK(l > sizeof EM_DASH - 1 && memcmp(s, EM_DASH, sizeof EM_DASH - 1) == 0);
        for (size_t i = sizeof EM_DASH - 1; i + 1 < l; i++)
            FUZZ_CHECK(s[i] >= 0x20 && s[i] < 0x7f);
        if (!seen && auditor_line(s, l)) {
            FUZZ_CHECK(l == ours_len && memcmp(s, ours, l) == 0);
            seen = 1;
        }
        lines++;
        at += l;
    }
    FUZZ_CHECK(seen && lines >= 1 && lines <= PL_CHECKPOINT_SIGS_MAX);
}

static int by_feed(const void *a, const void *b)
{
    return memcmp(((const pl_checkpoint_feed *)a)->feed, ((const pl_checkpoint_feed *)b)->feed,
                  PL_SIGN_PK_BYTES);
}

static void check_made(const uint8_t *p, size_t n, int sorted)
{
    static const char hex[] = "0123456789abcdef";
    pl_checkpoint c, got;
    uint8_t head[2 * 16 + PL_CHECKPOINT_KEYHASH + PL_SIG_BYTES] = {0};
    size_t take = n < sizeof head ? n : sizeof head;
    memcpy(head, p, take);
    p += take;
    n -= take;
    memset(&c, 0, sizeof c);
    for (size_t i = 0; i < 16; i++) {
        c.org[2 * i] = hex[head[i] >> 4];
        c.org[2 * i + 1] = hex[head[i] & 15];
        c.signer[2 * i] = hex[head[16 + i] >> 4];
        c.signer[2 * i + 1] = hex[head[16 + i] & 15];
    }
    memcpy(c.keyhash, head + 32, PL_CHECKPOINT_KEYHASH);
    memcpy(c.sig, head + 32 + PL_CHECKPOINT_KEYHASH, PL_SIG_BYTES);
    c.feeds = made;
    for (; n >= FEED_BYTES && c.nfeeds < PL_CHECKPOINT_FEEDS_MAX; n -= FEED_BYTES) {
        pl_checkpoint_feed *f = &made[c.nfeeds++];
        memcpy(f->feed, p, PL_SIGN_PK_BYTES);
        f->seq = 0;
        for (size_t i = 0; i < 8; i++)
            f->seq |= (uint64_t)p[PL_SIGN_PK_BYTES + i] << (8 * i);
        f->seq &= (uint64_t)INT64_MAX; /* 0 stays possible */
        memcpy(f->head, p + PL_SIGN_PK_BYTES + 8, PL_ID_BYTES);
        p += FEED_BYTES;
    }
    if (sorted && c.nfeeds)
        qsort(made, c.nfeeds, sizeof made[0], by_feed);
    int valid = c.nfeeds > 0;
    for (size_t i = 0; i < c.nfeeds; i++)
        if (made[i].seq == 0 || (i && by_feed(&made[i - 1], &made[i]) >= 0))
            valid = 0;
    size_t len = 0, total = 0;
    pl_fmt_status st = fmt_checkpoint_text(&c, out, sizeof out, &len);
    FUZZ_CHECK(st == (valid ? PL_FMT_OK : PL_FMT_FIELD));
    if (!valid)
        return;
    FUZZ_CHECK(fmt_checkpoint_sign_line(&c, out, sizeof out, len, &total) == PL_FMT_OK);
    FUZZ_CHECK(fmt_checkpoint_decode(out, total, &got, rows) == PL_FMT_OK);
    FUZZ_CHECK(strcmp(got.org, c.org) == 0 && strcmp(got.signer, c.signer) == 0);
    FUZZ_CHECK(memcmp(got.keyhash, c.keyhash, PL_CHECKPOINT_KEYHASH) == 0);
    FUZZ_CHECK(memcmp(got.sig, c.sig, PL_SIG_BYTES) == 0);
    FUZZ_CHECK(got.text_len == len && got.nfeeds == c.nfeeds);
    for (size_t i = 0; i < c.nfeeds; i++)
        FUZZ_CHECK(memcmp(rows[i].feed, made[i].feed, PL_SIGN_PK_BYTES) == 0 &&
                   rows[i].seq == made[i].seq &&
                   memcmp(rows[i].head, made[i].head, PL_ID_BYTES) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_init();
    if (size == 0)
        return 0;
    if (data[0] & 1)
        check_made(data + 1, size - 1, data[0] & 2);
    else /* libFuzzer's copy of the input ends where it ends: a read past it is caught */
        check_file((const char *)data + 1, size - 1);
    return 0;
}
