/* SQLCipher storage: keying, pinned cipher settings, schema and its append-only triggers. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "vault/internal.h"

/* Cipher settings pinned so that SQLCipher 3.4 (Debian 12) and 4.x read the same file.
 * The raw key skips SQLCipher's PBKDF2 for the page key; the page HMAC key is still derived
 * with fast_kdf_iter rounds of the KDF algorithm, so that algorithm is pinned too. 4.x-only
 * pragmas are ignored by 3.4, which already uses these values. */
static const char *const cipher_pragmas[] = {
    "PRAGMA cipher_page_size = 4096",
    "PRAGMA kdf_iter = 64000",
    "PRAGMA cipher_hmac_algorithm = HMAC_SHA1",
    "PRAGMA cipher_kdf_algorithm = PBKDF2_HMAC_SHA1",
    "PRAGMA cipher_use_hmac = ON",
};

static const char schema_sql[] =
    "CREATE TABLE vault_meta(k TEXT PRIMARY KEY, v NOT NULL);"
    "CREATE TABLE identity("
    "  one INTEGER PRIMARY KEY CHECK (one = 1),"
    "  name TEXT NOT NULL,"
    "  sign_pk BLOB NOT NULL CHECK (length(sign_pk) = 32),"
    "  box_pk BLOB NOT NULL CHECK (length(box_pk) = 32),"
    "  secrets BLOB NOT NULL);"
    "CREATE TABLE entries("
    "  n INTEGER PRIMARY KEY,"          /* local arrival order */
    "  feed BLOB NOT NULL, seq INTEGER NOT NULL, id BLOB NOT NULL UNIQUE,"
    "  type TEXT NOT NULL, subject TEXT, time_ms INTEGER NOT NULL, date TEXT NOT NULL,"
    "  ref0 BLOB,"                      /* first reference, for amend/retract lookups */
    "  header BLOB NOT NULL, sig BLOB NOT NULL, wraps BLOB NOT NULL, body BLOB,"
    "  UNIQUE (feed, seq, id));"
    "CREATE INDEX entries_subject ON entries(subject, type, date);"
    "CREATE INDEX entries_type ON entries(type, date);"
    "CREATE INDEX entries_time ON entries(time_ms, feed, seq);"
    "CREATE INDEX entries_ref0 ON entries(ref0) WHERE ref0 IS NOT NULL;"
    /* The ledger is append-only: no DELETE, and no UPDATE except erasing a body. */
    "CREATE TRIGGER entries_no_delete BEFORE DELETE ON entries BEGIN"
    "  SELECT RAISE(ABORT, 'peerlog: ledger entries cannot be deleted'); END;"
    "CREATE TRIGGER entries_no_update BEFORE UPDATE ON entries"
    "  WHEN NEW.n IS NOT OLD.n OR NEW.feed IS NOT OLD.feed OR NEW.seq IS NOT OLD.seq"
    "    OR NEW.id IS NOT OLD.id OR NEW.type IS NOT OLD.type OR NEW.subject IS NOT OLD.subject"
    "    OR NEW.time_ms IS NOT OLD.time_ms OR NEW.date IS NOT OLD.date"
    "    OR NEW.ref0 IS NOT OLD.ref0 OR NEW.header IS NOT OLD.header OR NEW.sig IS NOT OLD.sig"
    "    OR NEW.wraps IS NOT OLD.wraps OR NEW.body IS NOT NULL BEGIN"
    "  SELECT RAISE(ABORT, 'peerlog: ledger entries are append-only'); END;"
    /* Keys granted to this vault: n orders them, sealed is nonce || XChaCha20-Poly1305(sk). */
    "CREATE TABLE held_keys("
    "  n INTEGER PRIMARY KEY,"
    "  pk BLOB NOT NULL UNIQUE CHECK (length(pk) = 32),"
    "  label TEXT NOT NULL,"
    "  sealed BLOB NOT NULL CHECK (length(sealed) = 72));"
    "CREATE TRIGGER held_keys_no_change BEFORE UPDATE ON held_keys BEGIN"
    "  SELECT RAISE(ABORT, 'peerlog: held keys cannot change'); END;"
    "CREATE TRIGGER held_keys_no_delete BEFORE DELETE ON held_keys BEGIN"
    "  SELECT RAISE(ABORT, 'peerlog: held keys cannot be deleted'); END;"
    "CREATE TRIGGER identity_no_update BEFORE UPDATE ON identity BEGIN"
    "  SELECT RAISE(ABORT, 'peerlog: the identity cannot change'); END;"
    "CREATE TRIGGER identity_no_delete BEFORE DELETE ON identity BEGIN"
    "  SELECT RAISE(ABORT, 'peerlog: the identity cannot change'); END;"
    "INSERT INTO vault_meta(k, v) VALUES ('schema', 1);";

pl_status store_fail(sqlite3 *db, int rc, const char *what, pl_err *err)
{
    int prim = rc & 0xff;
    if (prim == SQLITE_NOTADB || prim == SQLITE_CORRUPT)
        return pl_fail(err, PL_E_INTEGRITY,
                       "vault.db failed authentication: the file is damaged or was tampered "
                       "with (%s); restore it from a backup",
                       what);
    if (prim == SQLITE_BUSY || prim == SQLITE_LOCKED)
        return pl_fail(err, PL_E_LOCKED,
                       "the vault is busy: another peerlog is using it; try again in a moment");
    if (prim == SQLITE_NOMEM)
        return pl_fail(err, PL_E_NOMEM, "out of memory");
    if (prim == SQLITE_FULL)
        return pl_fail(err, PL_E_IO, "%s: the disk is full; nothing was written", what);
    return pl_fail(err, PL_E_IO, "%s: %s", what, db ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
}

pl_status store_exec(sqlite3 *db, const char *sql, pl_err *err)
{
    int rc = sqlite3_exec(db, sql, NULL, NULL, NULL);
    if (rc != SQLITE_OK)
        return store_fail(db, rc, "database", err);
    return PL_OK;
}

static pl_status key_db(sqlite3 *db, const uint8_t *master, pl_err *err)
{
    /* "x'<64 hex>'" is SQLCipher's raw-key form; build it in guarded memory. */
    enum { RAW_LEN = 3 + 2 * PL_KEY_BYTES };
    uint8_t *dbkey = sodium_malloc(PL_KEY_BYTES);
    char *raw = sodium_malloc(RAW_LEN + 1);
    pl_status st = PL_OK;
    if (!dbkey || !raw) {
        st = pl_fail(err, PL_E_NOMEM, "out of memory");
        goto out;
    }
    crypto_kdf_derive_from_key(dbkey, PL_KEY_BYTES, PL_SUBKEY_DB, PL_KDF_CONTEXT, master);
    raw[0] = 'x';
    raw[1] = '\'';
    sodium_bin2hex(raw + 2, 2 * PL_KEY_BYTES + 1, dbkey, PL_KEY_BYTES);
    raw[RAW_LEN - 1] = '\'';
    raw[RAW_LEN] = '\0';
    int rc = sqlite3_key(db, raw, RAW_LEN);
    if (rc != SQLITE_OK)
        st = store_fail(db, rc, "keying vault.db", err);
out:
    sodium_free(raw);
    sodium_free(dbkey);
    return st;
}

pl_status store_open(const char *path, const uint8_t *master, int create, sqlite3 **out,
                     pl_err *err)
{
    sqlite3 *db = NULL;
    pl_status st;
    *out = NULL;
    if (create) {
        /* Create the file ourselves: 0600, never following a planted link, never reusing. */
        int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
        if (fd < 0)
            return pl_fail(err, errno == EEXIST ? PL_E_EXISTS : PL_E_IO, "cannot create %s: %s",
                           path, strerror(errno));
        close(fd);
    }
    int rc = sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL);
    if (rc != SQLITE_OK) {
        st = pl_fail(err, PL_E_IO, "cannot open %s: %s", path, sqlite3_errstr(rc));
        goto fail;
    }
    sqlite3_extended_result_codes(db, 1);
    if ((st = key_db(db, master, err)) != PL_OK)
        goto fail;
    for (size_t i = 0; i < sizeof cipher_pragmas / sizeof cipher_pragmas[0]; i++)
        if ((st = store_exec(db, cipher_pragmas[i], err)) != PL_OK)
            goto fail;
    sqlite3_busy_timeout(db, PL_BUSY_TIMEOUT_MS);
    /* The first read authenticates page 1: a wrong key or a damaged file fails here. */
    if ((st = store_exec(db, "SELECT count(*) FROM sqlite_master", err)) != PL_OK)
        goto fail;
    if ((st = store_exec(db,
                         "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL;"
                         "PRAGMA secure_delete = ON; PRAGMA temp_store = MEMORY;"
                         "PRAGMA foreign_keys = ON;",
                         err)) != PL_OK)
        goto fail;
    if (create) {
        if ((st = store_exec(db, "BEGIN", err)) != PL_OK)
            goto fail;
        if ((st = store_exec(db, schema_sql, err)) != PL_OK ||
            (st = store_exec(db, "COMMIT", err)) != PL_OK) {
            sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
            goto fail;
        }
    } else {
        sqlite3_stmt *q = NULL;
        rc = sqlite3_prepare_v2(db, "SELECT v FROM vault_meta WHERE k = 'schema'", -1, &q, NULL);
        if (rc == SQLITE_OK)
            rc = sqlite3_step(q);
        int version = rc == SQLITE_ROW ? sqlite3_column_int(q, 0) : -1;
        sqlite3_finalize(q);
        if (rc != SQLITE_ROW && rc != SQLITE_DONE && rc != SQLITE_ERROR) {
            st = store_fail(db, rc, "reading the vault schema", err);
            goto fail;
        }
        if (version != PL_SCHEMA_VERSION) {
            st = pl_fail(err, PL_E_INTEGRITY,
                         "vault.db has no peerlog schema this version understands (found %d)",
                         version);
            goto fail;
        }
    }
    *out = db;
    return PL_OK;
fail:
    sqlite3_close(db);
    return st;
}
