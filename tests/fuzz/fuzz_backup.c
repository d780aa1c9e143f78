/* Backup files: fmt_backup_decode on any input must stay inside it, accept only a layout
 * whose lengths add up exactly, and what it accepts must encode back to the same bytes. */
#include <stdlib.h>
#include <string.h>

#include "formats/backup.h"
#include "tests/fuzz/fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const uint8_t *ks, *db;
    size_t nks, ndb, len = 0;
    pl_fmt_status st = fmt_backup_decode(data, size, &ks, &nks, &db, &ndb);
    if (st != PL_FMT_OK) {
        FUZZ_CHECK(ks == NULL && db == NULL && nks == 0 && ndb == 0);
        return 0;
    }
    FUZZ_CHECK(nks <= PL_KS_FILE_MAX && ndb >= PL_BACKUP_DB_MIN);
    FUZZ_CHECK(ks == data + PL_BACKUP_HEADER && db == ks + nks + 8u);
    FUZZ_CHECK(fmt_backup_size(nks, ndb) == size);
    uint8_t *out = malloc(size);
    FUZZ_CHECK(out != NULL);
    FUZZ_CHECK(fmt_backup_encode(ks, nks, db, ndb, out, size, &len) == PL_FMT_OK);
    FUZZ_CHECK(len == size && memcmp(out, data, size) == 0);
    free(out);
    return 0;
}
