/* backup and restore: a consistent copy of a vault in one file (formats/vault.md §5). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "formats/backup.h"
#include "formats/keyslots.h"
#include "vault/internal.h"


/* The copy's vault_meta row that makes a restored vault wait for sync before appending. */
#define RESTORED_ROW "restored_head"

/* Copies the open database into tmp (an empty file), encrypted with the same key and
 * cipher settings, in one read transaction. In an organisation the copy is marked so that,
 * once restored, it waits for sync before appending. */
static pl_status export_db(pl_vault *v, const char *tmp, int in_org, pl_err *err)
{
    static const char *const bk_pragmas[] = {
        "PRAGMA bk.cipher_page_size = 4096",
        "PRAGMA bk.kdf_iter = 64000",
        "PRAGMA bk.cipher_hmac_algorithm = HMAC_SHA1",
        "PRAGMA bk.cipher_kdf_algorithm = PBKDF2_HMAC_SHA1",
        "PRAGMA bk.cipher_use_hmac = ON",
        "PRAGMA bk.journal_mode = DELETE", /* after the cipher: the copy is one file, no WAL */
    };
    sqlite3_stmt *q = NULL;
    pl_status st;
    /* ATTACH without KEY: the copy takes this connection's key. */
    int rc = sqlite3_prepare_v2(v->db, "ATTACH DATABASE ? AS bk", -1, &q, NULL);
    if (rc == SQLITE_OK) {
        sqlite3_bind_text(q, 1, tmp, -1, SQLITE_STATIC);
        rc = sqlite3_step(q) == SQLITE_DONE ? SQLITE_OK : sqlite3_errcode(v->db);
    }
    sqlite3_finalize(q);
    if (rc != SQLITE_OK)
        return store_fail(v->db, rc, "making the backup copy", err);
    st = PL_OK;
    for (size_t i = 0; st == PL_OK && i < sizeof bk_pragmas / sizeof bk_pragmas[0]; i++)
        st = store_exec(v->db, bk_pragmas[i], err);
    if (st == PL_OK)
        st = store_exec(v->db, "BEGIN", err);
    if (st == PL_OK) {
        st = store_exec(v->db, "SELECT sqlcipher_export('bk')", err);
        if (st == PL_OK && in_org) {
            char sql[128];
            snprintf(sql, sizeof sql,
                     "INSERT OR REPLACE INTO bk.vault_meta(k, v) VALUES ('" RESTORED_ROW
                     "', %llu)", (unsigned long long)feed_head_seq(v, v->id.sign_pk));
            st = store_exec(v->db, sql, err);
        }
        if (st == PL_OK)
            st = store_exec(v->db, "COMMIT", err);
        else
            sqlite3_exec(v->db, "ROLLBACK", NULL, NULL, NULL);
    }
    if (sqlite3_exec(v->db, "DETACH DATABASE bk", NULL, NULL, NULL) != SQLITE_OK && st == PL_OK)
        st = store_fail(v->db, sqlite3_errcode(v->db), "finishing the backup copy", err);
    return st;
}

/* Removes copies a backup killed half-way left in the vault's directory. */
static void remove_stale_copies(const char *dir)
{
    DIR *d = opendir(dir);
    for (struct dirent *de; d && (de = readdir(d)) != NULL;) {
        size_t n = strlen(de->d_name);
        if (n > 11 && !strncmp(de->d_name, "backup-", 7) &&
            strstr(de->d_name + 7, ".tmp") != NULL) {
            char *p = pl_path(dir, de->d_name);
            if (p)
                (void)unlink(p);
            free(p);
        }
    }
    if (d)
        closedir(d);
}

pl_status vault_backup(pl_vault *v, const char *path, uint64_t *bytes, pl_err *err)
{
    remove_stale_copies(v->dir);
    uint8_t *ks = NULL, *db = NULL, *out = NULL;
    size_t nks = 0, ndb = 0;
    pl_status st;
    uint8_t id[PL_ID_BYTES];
    pl_err ignore;
    int in_org = org_id(v, id, &ignore) == PL_OK;
    char *kspath = pl_path(v->dir, "keyslots"), *tmp = NULL;
    uint8_t rnd[8];
    char name[48], hex[17];
    randombytes_buf(rnd, sizeof rnd);
    sodium_bin2hex(hex, sizeof hex, rnd, sizeof rnd);
    snprintf(name, sizeof name, "backup-%s.tmp", hex);
    tmp = pl_path(v->dir, name);
    if (!kspath || !tmp) {
        st = pl_fail(err, PL_E_NOMEM, "out of memory");
        goto out;
    }
    if ((st = pl_file_read(kspath, PL_KS_FILE_MAX, &ks, &nks, err)) != PL_OK)
        goto out;
    /* The copy is made in the vault's own private directory, then read back. */
    int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0) {
        st = pl_fail(err, PL_E_IO, "cannot create %s: %s", tmp, strerror(errno));
        goto out;
    }
    if (close(fd) != 0) {
        st = pl_fail(err, PL_E_IO, "cannot create %s: %s", tmp, strerror(errno));
        (void)unlink(tmp);
        goto out;
    }
    st = export_db(v, tmp, in_org, err);
    if (st == PL_OK)
        st = pl_file_read(tmp, (size_t)PL_BACKUP_DB_MAX, &db, &ndb, err);
    (void)unlink(tmp);
    if (st != PL_OK)
        goto out;
    size_t total = fmt_backup_size(nks, ndb), len = 0;
    if (!(out = malloc(total))) {
        st = pl_fail(err, PL_E_NOMEM, "out of memory");
        goto out;
    }
    st = fmt_backup_encode(ks, nks, db, ndb, out, total, &len) != PL_FMT_OK
             ? pl_fail(err, PL_E_INTEGRITY, "the vault's files do not make a backup (damaged "
                                            "keyslots?); nothing was written")
             : pl_file_write_atomic(path, out, len, err);
    if (st == PL_OK && bytes)
        *bytes = total;
out:
    free(kspath);
    free(tmp);
    free(ks);
    free(db);
    free(out);
    return st;
}

/* Writes p[n] to dir/name as a new file (0600), synced. */
static pl_status write_new(const char *dir, const char *name, const uint8_t *p, size_t n,
                           pl_err *err)
{
    char *path = pl_path(dir, name);
    if (!path)
        return pl_fail(err, PL_E_NOMEM, "out of memory");
    pl_status st = PL_OK;
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0) {
        st = pl_fail(err, PL_E_IO, "cannot create %s: %s", path, strerror(errno));
    } else {
        if (pl_write_all(fd, p, n) != 0 || fsync(fd) != 0)
            st = pl_fail(err, PL_E_IO, "cannot write %s: %s", path, strerror(errno));
        if (close(fd) != 0 && st == PL_OK)
            st = pl_fail(err, PL_E_IO, "cannot write %s: %s", path, strerror(errno));
    }
    free(path);
    return st;
}

pl_status vault_restore(const char *file, const char *dir, pl_err *err)
{
    uint8_t *in = NULL;
    size_t n = 0;
    pl_status st = pl_file_read(file, (size_t)PL_BACKUP_DB_MAX + PL_BACKUP_HEADER +
                                          PL_KS_FILE_MAX + 8u,
                                &in, &n, err);
    if (st != PL_OK)
        return st;
    const uint8_t *ks, *db;
    size_t nks, ndb;
    pl_fmt_status fs = fmt_backup_decode(in, n, &ks, &nks, &db, &ndb);
    if (fs != PL_FMT_OK) {
        free(in);
        return pl_fail(err, PL_E_INTEGRITY, "%s is not a peerlog backup, or it is damaged or "
                                            "cut short (%s)", file, fmt_status_str(fs));
    }
    if ((st = vault_prepare_dir(dir, err)) == PL_OK &&
        (st = write_new(dir, "vault.db", db, ndb, err)) == PL_OK) {
        if ((st = write_new(dir, "keyslots", ks, nks, err)) == PL_OK) {
            st = pl_fsync_dir(dir, err);
        } else {
            /* half a vault helps nobody, and would stop the next restore here */
            static const char *const names[] = {"vault.db", "keyslots"};
            for (size_t i = 0; i < 2; i++) {
                char *p = pl_path(dir, names[i]);
                if (p)
                    (void)unlink(p);
                free(p);
            }
        }
    }
    free(in);
    return st;
}

pl_status vault_restore_settled(pl_vault *v, pl_err *err)
{
    if (!v->restored)
        return PL_OK;
    pl_status st = store_exec(v->db, "DELETE FROM vault_meta WHERE k = '" RESTORED_ROW "'", err);
    if (st == PL_OK)
        v->restored = 0;
    return st;
}

int vault_is_restored(const pl_vault *v)
{
    return v->restored;
}

uint64_t vault_restored_head(pl_vault *v)
{
    sqlite3_stmt *q = NULL;
    uint64_t head = 0;
    if (v->restored &&
        sqlite3_prepare_v2(v->db, "SELECT v FROM vault_meta WHERE k = '" RESTORED_ROW "'", -1, &q,
                           NULL) == SQLITE_OK &&
        sqlite3_step(q) == SQLITE_ROW)
        head = (uint64_t)sqlite3_column_int64(q, 0);
    sqlite3_finalize(q);
    return head;
}
