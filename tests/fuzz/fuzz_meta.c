/* Header metadata ("key=value\n" lines), read from every decoded header.
 * Properties: validating and looking up never misbehave, valid or not; in valid metadata
 * every key present is found with its exact value (and refused when out is one byte short);
 * fmt_meta_build of the parsed pairs, given in reverse order, reproduces the input exactly,
 * and refuses an output buffer one byte short. Buffers are heap blocks of the exact size, so
 * AddressSanitizer sees any write past them. */
#include <string.h>

#include "formats/entry.h"
#include "formats/meta.h"
#include "tests/fuzz/fuzz.h"

#define MAX_PAIRS (PL_META_MAX / 3u + 1u) /* shortest line: "a=\n" */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *m = (const char *)data;
    static pl_meta_pair pairs[MAX_PAIRS];
    char probe[PL_META_VALUE_MAX + 1];
    fuzz_init();

    /* Lookups on anything, as load_consent and feed_entry_date do. */
    (void)fmt_meta_get(m, size, "date", probe, sizeof probe);
    (void)fmt_meta_get(m, size, "scopes", probe, sizeof probe);
    if (!fmt_meta_valid(m, size))
        return 0;

    /* Split a copy in place: '=' and '\n' become NULs, leaving key and value strings. */
    char *copy = malloc(size + 1);
    FUZZ_CHECK(copy != NULL);
    memcpy(copy, data, size);
    copy[size] = '\0';
    size_t n = 0;
    for (size_t off = 0; off < size;) {
        char *key = copy + off, *eq = memchr(key, '=', size - off);
        FUZZ_CHECK(eq != NULL);
        char *value = eq + 1, *nl = memchr(value, '\n', size - (size_t)(value - copy));
        FUZZ_CHECK(nl != NULL);
        *eq = '\0';
        *nl = '\0';
        size_t vlen = (size_t)(nl - value);
        FUZZ_CHECK(n < MAX_PAIRS);
        pairs[n].key = key;
        pairs[n].value = value;
        n++;

        char *got = malloc(vlen + 1);
        FUZZ_CHECK(got != NULL);
        FUZZ_CHECK(fmt_meta_get(m, size, key, got, vlen + 1) == 0);
        FUZZ_CHECK(memcmp(got, value, vlen + 1) == 0);
        FUZZ_CHECK(fmt_meta_get(m, size, key, got, vlen) == -1);
        free(got);
        off = (size_t)(nl - copy) + 1;
    }

    for (size_t i = 0; i < n / 2; i++) {
        pl_meta_pair t = pairs[i];
        pairs[i] = pairs[n - 1 - i];
        pairs[n - 1 - i] = t;
    }
    char *out = malloc(size + 1);
    size_t len = 0;
    FUZZ_CHECK(out != NULL);
    FUZZ_CHECK(fmt_meta_build(pairs, n, out, size + 1, &len) == 0);
    FUZZ_CHECK(len == size && memcmp(out, data, size) == 0 && out[size] == '\0');
    free(out);
    out = malloc(size); /* with size 0 ASan still flags any write */
    FUZZ_CHECK(out != NULL || size == 0);
    FUZZ_CHECK(fmt_meta_build(pairs, n, out, size, &len) == -1);
    free(out);
    free(copy);
    return 0;
}
