#include "formats/text.h"

#include <string.h>

#include <sodium.h>

int fmt_type_valid(const char *s, size_t n)
{
    if (n == 0 || n > 32 || !(s[0] >= 'a' && s[0] <= 'z'))
        return 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '-'))
            return 0;
    }
    return 1;
}

int fmt_subject_valid(const char *s, size_t n)
{
    if (n == 0 || n > 32)
        return 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-'))
            return 0;
    }
    return 1;
}

static int b32_symbol(char c)
{
    return c != '\0' && strchr(PL_B32_ALPHABET, c) != NULL;
}

int fmt_pseudonym_valid(const char *s)
{
    if (strlen(s) != PL_PSEUDONYM_LEN || s[0] != 'B' || s[1] != '-' || s[6] != '-')
        return 0;
    for (size_t i = 2; i < PL_PSEUDONYM_LEN; i++)
        if (i != 6 && !b32_symbol(s[i]))
            return 0;
    return 1;
}

/* Big-endian base32 of nbytes into nsym symbols (nsym * 5 <= nbytes * 8). */
static void b32_encode(const uint8_t *in, size_t nbytes, char *out, size_t nsym)
{
    size_t bit = 0;
    for (size_t i = 0; i < nsym; i++, bit += 5) {
        unsigned v = 0;
        for (size_t b = 0; b < 5; b++) {
            size_t at = bit + b;
            unsigned x = at / 8 < nbytes ? ((unsigned)in[at / 8] >> (7u - at % 8u)) & 1u : 0u;
            v = (v << 1) | x;
        }
        out[i] = PL_B32_ALPHABET[v];
    }
}

void fmt_pseudonym_make(const uint8_t rnd[PL_PSEUDONYM_RANDOM_BYTES],
                        char out[PL_PSEUDONYM_LEN + 1])
{
    char sym[8];
    b32_encode(rnd, PL_PSEUDONYM_RANDOM_BYTES, sym, sizeof sym);
    out[0] = 'B';
    out[1] = '-';
    memcpy(out + 2, sym, 4);
    out[6] = '-';
    memcpy(out + 7, sym + 4, 4);
    out[PL_PSEUDONYM_LEN] = '\0';
}

static void group_symbols(const char *sym, char out[PL_RECOVERY_LEN + 1])
{
    size_t o = 0;
    for (size_t i = 0; i < PL_RECOVERY_SYMBOLS; i++) {
        if (i && i % 4 == 0)
            out[o++] = '-';
        out[o++] = sym[i];
    }
    out[o] = '\0';
}

void fmt_recovery_make(const uint8_t rnd[PL_RECOVERY_RANDOM_BYTES], char out[PL_RECOVERY_LEN + 1])
{
    char sym[PL_RECOVERY_SYMBOLS];
    b32_encode(rnd, PL_RECOVERY_RANDOM_BYTES, sym, sizeof sym);
    group_symbols(sym, out);
    sodium_memzero(sym, sizeof sym); /* a recovery code is a secret */
}

int fmt_recovery_normalize(const char *in, size_t n, char out[PL_RECOVERY_LEN + 1])
{
    char sym[PL_RECOVERY_SYMBOLS];
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        char c = in[i];
        if (c == '-' || c == ' ' || c == '\t' || c == '\n' || c == '\r')
            continue;
        if (c >= 'a' && c <= 'z')
            c = (char)(c - 'a' + 'A');
        if (c == 'O')
            c = '0';
        else if (c == 'I' || c == 'L')
            c = '1';
        if (!b32_symbol(c) || k == PL_RECOVERY_SYMBOLS) {
            sodium_memzero(sym, sizeof sym);
            return -1;
        }
        sym[k++] = c;
    }
    if (k == PL_RECOVERY_SYMBOLS)
        group_symbols(sym, out);
    sodium_memzero(sym, sizeof sym);
    return k == PL_RECOVERY_SYMBOLS ? 0 : -1;
}

int fmt_date_valid(const char *s)
{
    static const int mdays[12] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (strlen(s) != PL_DATE_LEN || s[4] != '-' || s[7] != '-')
        return 0;
    for (size_t i = 0; i < PL_DATE_LEN; i++)
        if (i != 4 && i != 7 && !(s[i] >= '0' && s[i] <= '9'))
            return 0;
    int y = (s[0] - '0') * 1000 + (s[1] - '0') * 100 + (s[2] - '0') * 10 + (s[3] - '0');
    int m = (s[5] - '0') * 10 + (s[6] - '0');
    int d = (s[8] - '0') * 10 + (s[9] - '0');
    if (y < 1900 || m < 1 || m > 12 || d < 1 || d > mdays[m - 1])
        return 0;
    int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    return !(m == 2 && d == 29 && !leap);
}

size_t fmt_text_unsafe_at(const char *s, size_t n)
{
    const unsigned char *p = (const unsigned char *)s;
    if (n == 0)
        return 0;
    if (p[0] < 0x20 || p[0] == 0x7f)
        return 1;
    /* C1 controls U+0080..U+009F: C2 80..C2 9F */
    if (p[0] == 0xc2 && n > 1 && p[1] >= 0x80 && p[1] <= 0x9f)
        return 2;
    /* U+061C arabic letter mark: D8 9C */
    if (p[0] == 0xd8 && n > 1 && p[1] == 0x9c)
        return 2;
    if (p[0] == 0xe2 && n > 2) {
        unsigned b = p[1], c = p[2];
        /* U+200E/F marks, U+2028/9 separators, U+202A..E embeddings and overrides */
        if (b == 0x80 && (c == 0x8e || c == 0x8f || (c >= 0xa8 && c <= 0xae)))
            return 3;
        /* U+2066..U+2069 isolates */
        if (b == 0x81 && c >= 0xa6 && c <= 0xa9)
            return 3;
    }
    return 0;
}

int fmt_name_valid(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (fmt_text_unsafe_at(s + i, n - i))
            return 0;
    return 1;
}

int fmt_fingerprint_parse(const char *in, size_t nbytes, char *out)
{
    size_t k = 0;
    for (; *in; in++) {
        char c = *in;
        if (c == ' ' || c == '-' || c == ':')
            continue;
        if (c >= 'A' && c <= 'F')
            c = (char)(c - 'A' + 'a');
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')) || k == 2 * nbytes)
            return -1;
        out[k++] = c;
    }
    out[k] = '\0';
    return k == 2 * nbytes ? 0 : -1;
}
