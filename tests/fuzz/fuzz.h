/* Shared by the libFuzzer targets: one-time setup and a check that crashes loudly, so a
 * broken property is reported by libFuzzer like any memory error (with the input saved). */
#ifndef PL_TEST_FUZZ_H
#define PL_TEST_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include <sodium.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_CHECK(cond)                                                                  \
    do {                                                                                  \
        if (!(cond)) {                                                                    \
            fprintf(stderr, "%s:%d: property failed: %s\n", __FILE__, __LINE__, #cond);   \
            abort();                                                                      \
        }                                                                                 \
    } while (0)

/* sodium_init once per process; the targets call this first on every input. */
static inline void fuzz_init(void)
{
    static int done;
    if (!done) {
        FUZZ_CHECK(sodium_init() >= 0);
        done = 1;
    }
}

#endif
