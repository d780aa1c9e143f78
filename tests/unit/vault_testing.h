/* Helpers shared by the library tests that play an import by copying rows. */
#ifndef PL_TEST_VAULT_TESTING_H
#define PL_TEST_VAULT_TESTING_H

#include <stdio.h>
#include <string.h>

#define SQLITE_HAS_CODEC 1
#include <sqlite3.h>

#include "vault/vault.h"

/* Copies every entry of src's database into dst's (entries already there are skipped, as an
 * import replays nothing). 0 on success. */
static inline int copy_entries(pl_vault *src, pl_vault *dst)
{
    static const char cols[] = "feed, seq, id, type, subject, time_ms, date, ref0, header, "
                               "sig, wraps, body";
    char sql[256];
    sqlite3_stmt *q = NULL, *ins = NULL;
    snprintf(sql, sizeof sql, "SELECT %s FROM entries", cols);
    int rc = sqlite3_prepare_v2(vault_db(src), sql, -1, &q, NULL);
    snprintf(sql, sizeof sql,
             "INSERT OR IGNORE INTO entries(%s) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)", cols);
    if (rc == SQLITE_OK)
        rc = sqlite3_prepare_v2(vault_db(dst), sql, -1, &ins, NULL);
    while (rc == SQLITE_OK && sqlite3_step(q) == SQLITE_ROW) {
        for (int c = 0; c < 12; c++)
            sqlite3_bind_value(ins, c + 1, sqlite3_column_value(q, c));
        rc = sqlite3_step(ins) == SQLITE_DONE ? SQLITE_OK : SQLITE_ERROR;
        sqlite3_reset(ins);
    }
    sqlite3_finalize(q);
    sqlite3_finalize(ins);
    return rc == SQLITE_OK ? 0 : -1;
}

/* A passphrase in secret memory. */
static inline pl_secret *secret_of(const char *s)
{
    pl_secret *p = pl_secret_new(strlen(s) + 1);
    memcpy(p->p, s, strlen(s));
    p->len = strlen(s);
    return p;
}

#endif
