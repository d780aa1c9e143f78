/* Creating, opening and re-keying a vault; the owner's identity. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <argon2.h>

#include "vault/internal.h"

#define IDENTITY_AD_BYTES (sizeof PL_DOM_IDENTITY + PL_SIGN_PK_BYTES + PL_BOX_PK_BYTES)
#define SECRETS_PLAIN     (PL_SIGN_SK_BYTES + PL_BOX_SK_BYTES)
#define SECRETS_BLOB      (PL_BODY_NONCE_BYTES + SECRETS_PLAIN + PL_BODY_TAG_BYTES)

void vault_fingerprint(const uint8_t sign_pk[PL_SIGN_PK_BYTES],
                       const uint8_t box_pk[PL_BOX_PK_BYTES], char out[PL_FINGERPRINT_HEX + 1])
{
    uint8_t fp[PL_FINGERPRINT_BYTES];
    crypto_generichash_state st;
    crypto_generichash_init(&st, NULL, 0, sizeof fp);
    crypto_generichash_update(&st, (const uint8_t *)PL_DOM_FINGERPRINT, sizeof PL_DOM_FINGERPRINT);
    crypto_generichash_update(&st, sign_pk, PL_SIGN_PK_BYTES);
    crypto_generichash_update(&st, box_pk, PL_BOX_PK_BYTES);
    crypto_generichash_final(&st, fp, sizeof fp);
    sodium_bin2hex(out, PL_FINGERPRINT_HEX + 1, fp, sizeof fp);
}

static void identity_ad(const uint8_t *sign_pk, const uint8_t *box_pk,
                        uint8_t ad[IDENTITY_AD_BYTES])
{
    memcpy(ad, PL_DOM_IDENTITY, sizeof PL_DOM_IDENTITY);
    memcpy(ad + sizeof PL_DOM_IDENTITY, sign_pk, PL_SIGN_PK_BYTES);
    memcpy(ad + sizeof PL_DOM_IDENTITY + PL_SIGN_PK_BYTES, box_pk, PL_BOX_PK_BYTES);
}

pl_status vault_kdf_calibrate(unsigned target_ms, pl_kdf_params *out, pl_err *err)
{
    static const uint8_t probe_salt[16] = {0};
    uint8_t key[32];
    out->m_kib = PL_KDF_DEFAULT_M_KIB;
    out->t = PL_KDF_DEFAULT_T;
    out->lanes = PL_KDF_DEFAULT_LANES;
    struct timespec a, b;
    clock_gettime(CLOCK_MONOTONIC, &a);
    int rc = argon2id_hash_raw(out->t, out->m_kib, out->lanes, "calibrate", 9, probe_salt,
                               sizeof probe_salt, key, sizeof key);
    clock_gettime(CLOCK_MONOTONIC, &b);
    if (rc != ARGON2_OK)
        return pl_fail(err, rc == ARGON2_MEMORY_ALLOCATION_ERROR ? PL_E_NOMEM : PL_E_INVALID,
                       "cannot run the passphrase key derivation: %s", argon2_error_message(rc));
    double ms = (double)(b.tv_sec - a.tv_sec) * 1e3 + (double)(b.tv_nsec - a.tv_nsec) / 1e6;
    double per_pass = ms / out->t;
    if (per_pass > 0) {
        double passes = (double)target_ms / per_pass;
        if (passes > out->t)
            out->t = passes > PL_KS_T_MAX ? PL_KS_T_MAX : (uint32_t)passes;
    }
    return PL_OK;
}

/* Makes dir (mode 0700). An existing dir is used only when it is empty, a real directory
 * (not a link) and ours: a vault never moves into a folder that holds other things. */
pl_status vault_prepare_dir(const char *dir, pl_err *err)
{
    struct stat sb;
    if (mkdir(dir, 0700) == 0)
        return PL_OK;
    if (errno != EEXIST)
        return pl_fail(err, PL_E_IO, "cannot create %s: %s", dir, strerror(errno));
    if (lstat(dir, &sb) != 0 || !S_ISDIR(sb.st_mode))
        return pl_fail(err, PL_E_IO, "%s exists and is not a directory; choose a new one", dir);
    char *ks = pl_path(dir, "keyslots"), *db = pl_path(dir, "vault.db");
    int there = (ks && access(ks, F_OK) == 0) || (db && access(db, F_OK) == 0);
    free(ks);
    free(db);
    if (there)
        return pl_fail(err, PL_E_EXISTS, "%s already holds a vault; nothing was changed", dir);
    DIR *d = opendir(dir);
    int empty = d != NULL;
    for (struct dirent *de; d && (de = readdir(d)) != NULL;)
        if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
            empty = 0;
    if (d)
        closedir(d);
    if (!empty || sb.st_uid != geteuid())
        return pl_fail(err, PL_E_EXISTS, "%s is not an empty directory of yours; give a new "
                                         "directory for the vault", dir);
    if ((sb.st_mode & 0777) != 0700 && chmod(dir, 0700) != 0)
        return pl_fail(err, PL_E_IO, "cannot make %s private: %s", dir, strerror(errno));
    return PL_OK;
}

static pl_status insert_identity(sqlite3 *db, const char *name, const uint8_t *master,
                                 const pl_vault_secrets *sec, const uint8_t *sign_pk,
                                 const uint8_t *box_pk, pl_err *err)
{
    uint8_t blob[SECRETS_BLOB], ad[IDENTITY_AD_BYTES];
    uint8_t *k = sodium_malloc(PL_KEY_BYTES);
    if (!k)
        return pl_fail(err, PL_E_NOMEM, "out of memory");
    crypto_kdf_derive_from_key(k, PL_KEY_BYTES, PL_SUBKEY_IDENTITY, PL_KDF_CONTEXT, master);
    identity_ad(sign_pk, box_pk, ad);
    randombytes_buf(blob, PL_BODY_NONCE_BYTES);
    /* sign_sk and box_sk sit next to each other in pl_vault_secrets. */
    crypto_aead_xchacha20poly1305_ietf_encrypt(blob + PL_BODY_NONCE_BYTES, NULL, sec->sign_sk,
                                               SECRETS_PLAIN, ad, sizeof ad, NULL, blob, k);
    sodium_free(k);
    sqlite3_stmt *q = NULL;
    int rc = sqlite3_prepare_v2(
        db, "INSERT INTO identity(one, name, sign_pk, box_pk, secrets) VALUES (1, ?, ?, ?, ?)", -1,
        &q, NULL);
    if (rc == SQLITE_OK) {
        sqlite3_bind_text(q, 1, name, -1, SQLITE_STATIC);
        sqlite3_bind_blob(q, 2, sign_pk, PL_SIGN_PK_BYTES, SQLITE_STATIC);
        sqlite3_bind_blob(q, 3, box_pk, PL_BOX_PK_BYTES, SQLITE_STATIC);
        sqlite3_bind_blob(q, 4, blob, sizeof blob, SQLITE_STATIC);
        rc = sqlite3_step(q);
    }
    sqlite3_finalize(q);
    if (rc != SQLITE_DONE)
        return store_fail(db, rc, "storing the identity", err);
    return PL_OK;
}

_Static_assert(offsetof(pl_vault_secrets, box_sk) == PL_SIGN_SK_BYTES,
               "identity secrets are contiguous");

pl_status vault_init(const char *dir, const char *name, const pl_secret *pass,
                     const pl_kdf_params *kdf, char recovery[PL_RECOVERY_LEN + 1],
                     pl_identity *id_out, pl_err *err)
{
    pl_status st;
    sqlite3 *db = NULL;
    uint8_t sign_pk[PL_SIGN_PK_BYTES], box_pk[PL_BOX_PK_BYTES], rnd[PL_RECOVERY_RANDOM_BYTES];
    pl_keyslots ks;
    char *dbpath = NULL;
    int created_db = 0;
    if (!name || strlen(name) > PL_NAME_MAX)
        return pl_fail(err, PL_E_INVALID, "the name is longer than %u bytes", PL_NAME_MAX);
    json_t *utf8 = json_string(name); /* NULL unless valid UTF-8 */
    if (!utf8)
        return pl_fail(err, PL_E_INVALID, "the name is not UTF-8 text");
    if (!fmt_name_valid(name, strlen(name))) {
        json_decref(utf8);
        return pl_fail(err, PL_E_INVALID, "the name has control characters; use plain text");
    }
    json_decref(utf8);
    if (pass->len == 0)
        return pl_fail(err, PL_E_INVALID, "the passphrase is empty");
    uint8_t *master = sodium_malloc(PL_MASTER_KEY_BYTES);
    pl_vault_secrets *sec = sodium_malloc(sizeof *sec);
    char *code = sodium_malloc(PL_RECOVERY_LEN + 1);
    if (!master || !sec || !code) {
        st = pl_fail(err, PL_E_NOMEM, "out of memory");
        goto out;
    }
    if ((st = vault_prepare_dir(dir, err)) != PL_OK)
        goto out;
    if (!(dbpath = pl_path(dir, "vault.db"))) {
        st = pl_fail(err, PL_E_NOMEM, "out of memory");
        goto out;
    }
    crypto_kdf_keygen(master);
    crypto_sign_keypair(sign_pk, sec->sign_sk);
    crypto_box_keypair(box_pk, sec->box_sk);
    randombytes_buf(rnd, sizeof rnd);
    fmt_recovery_make(rnd, code);
    sodium_memzero(rnd, sizeof rnd);

    /* Slots first (slow KDF, nothing on disk yet), then the database, then keyslots last:
     * a vault without keyslots is not a vault, so a crash leaves nothing half-usable. */
    memset(&ks, 0, sizeof ks);
    ks.nslots = 2;
    if ((st = keys_make_slot(PL_KS_KIND_PASSPHRASE, kdf, pass->p, pass->len, master, &ks.slot[0],
                             err)) != PL_OK ||
        (st = keys_make_slot(PL_KS_KIND_RECOVERY, kdf, (const uint8_t *)code, PL_RECOVERY_LEN,
                             master, &ks.slot[1], err)) != PL_OK)
        goto out;
    if ((st = store_open(dbpath, master, 1, &db, err)) != PL_OK)
        goto out;
    created_db = 1;
    if ((st = insert_identity(db, name, master, sec, sign_pk, box_pk, err)) != PL_OK)
        goto out;
    if (sqlite3_close(db) != SQLITE_OK) {
        st = pl_fail(err, PL_E_IO, "cannot close vault.db");
        db = NULL;
        goto out;
    }
    db = NULL;
    if ((st = keys_write(dir, &ks, err)) != PL_OK)
        goto out;
    memcpy(recovery, code, PL_RECOVERY_LEN + 1);
    if (id_out) {
        memset(id_out, 0, sizeof *id_out);
        snprintf(id_out->name, sizeof id_out->name, "%s", name);
        memcpy(id_out->sign_pk, sign_pk, sizeof sign_pk);
        memcpy(id_out->box_pk, box_pk, sizeof box_pk);
        vault_fingerprint(sign_pk, box_pk, id_out->fingerprint);
    }
out:
    if (db)
        sqlite3_close(db);
    if (st != PL_OK && created_db && dbpath) {
        char *wal = pl_path(dir, "vault.db-wal"), *shm = pl_path(dir, "vault.db-shm");
        (void)unlink(dbpath);
        if (wal)
            (void)unlink(wal);
        if (shm)
            (void)unlink(shm);
        free(wal);
        free(shm);
    }
    free(dbpath);
    sodium_free(master);
    sodium_free(sec);
    sodium_free(code);
    return st;
}

static pl_status load_identity(pl_vault *v, const uint8_t *master, pl_err *err)
{
    sqlite3_stmt *q = NULL;
    pl_status st = PL_OK;
    int rc = sqlite3_prepare_v2(v->db, "SELECT name, sign_pk, box_pk, secrets FROM identity", -1,
                                &q, NULL);
    if (rc == SQLITE_OK)
        rc = sqlite3_step(q);
    if (rc != SQLITE_ROW) {
        sqlite3_finalize(q);
        if (rc == SQLITE_DONE)
            return pl_fail(err, PL_E_INTEGRITY, "vault.db has no identity");
        return store_fail(v->db, rc, "reading the identity", err);
    }
    const char *name = (const char *)sqlite3_column_text(q, 0);
    if (sqlite3_column_bytes(q, 1) != PL_SIGN_PK_BYTES ||
        sqlite3_column_bytes(q, 2) != PL_BOX_PK_BYTES ||
        sqlite3_column_bytes(q, 3) != (int)SECRETS_BLOB || !name || strlen(name) > PL_NAME_MAX) {
        sqlite3_finalize(q);
        return pl_fail(err, PL_E_INTEGRITY, "the identity in vault.db is damaged");
    }
    snprintf(v->id.name, sizeof v->id.name, "%s", name);
    memcpy(v->id.sign_pk, sqlite3_column_blob(q, 1), PL_SIGN_PK_BYTES);
    memcpy(v->id.box_pk, sqlite3_column_blob(q, 2), PL_BOX_PK_BYTES);
    const uint8_t *blob = sqlite3_column_blob(q, 3);
    uint8_t ad[IDENTITY_AD_BYTES], pk[PL_SIGN_PK_BYTES], bpk[PL_BOX_PK_BYTES];
    uint8_t *k = sodium_malloc(PL_KEY_BYTES);
    if (!k) {
        sqlite3_finalize(q);
        return pl_fail(err, PL_E_NOMEM, "out of memory");
    }
    crypto_kdf_derive_from_key(k, PL_KEY_BYTES, PL_SUBKEY_IDENTITY, PL_KDF_CONTEXT, master);
    identity_ad(v->id.sign_pk, v->id.box_pk, ad);
    if (crypto_aead_xchacha20poly1305_ietf_decrypt(
            v->sec->sign_sk, NULL, NULL, blob + PL_BODY_NONCE_BYTES,
            SECRETS_BLOB - PL_BODY_NONCE_BYTES, ad, sizeof ad, blob, k) != 0)
        st = pl_fail(err, PL_E_INTEGRITY, "the identity keys in vault.db failed authentication");
    sodium_free(k);
    sqlite3_finalize(q);
    if (st != PL_OK)
        return st;
    crypto_sign_ed25519_sk_to_pk(pk, v->sec->sign_sk);
    crypto_scalarmult_base(bpk, v->sec->box_sk);
    if (sodium_memcmp(pk, v->id.sign_pk, sizeof pk) != 0 ||
        sodium_memcmp(bpk, v->id.box_pk, sizeof bpk) != 0)
        return pl_fail(err, PL_E_INTEGRITY, "the identity keys in vault.db do not match");
    vault_fingerprint(v->id.sign_pk, v->id.box_pk, v->id.fingerprint);
    return PL_OK;
}

static pl_status open_with_master(const char *dir, const uint8_t *master, pl_vault **out,
                                  pl_err *err)
{
    pl_status st;
    char *dbpath = pl_path(dir, "vault.db");
    pl_vault *v = calloc(1, sizeof *v);
    if (!dbpath || !v || !(v->sec = sodium_malloc(sizeof *v->sec))) {
        st = pl_fail(err, PL_E_NOMEM, "out of memory");
        goto fail;
    }
    v->sec->nshared = 0;
    v->sec->shared_next = 0;
    v->sec->nheld = 0;
    struct stat sb;
    if (lstat(dbpath, &sb) != 0) {
        st = pl_fail(err, PL_E_INTEGRITY, "%s is missing; restore it from a backup", dbpath);
        goto fail;
    }
    if (S_ISREG(sb.st_mode) && sb.st_size == 0) { /* SQLite would start a new file in it */
        st = pl_fail(err, PL_E_INTEGRITY, "%s is empty (damaged); restore it from a backup",
                     dbpath);
        goto fail;
    }
    if (!S_ISREG(sb.st_mode)) { /* a symlink could point SQLite's writes anywhere */
        st = pl_fail(err, PL_E_INTEGRITY, "%s is not a regular file (a link?); restore it from "
                                          "a backup", dbpath);
        goto fail;
    }
    if ((st = store_open(dbpath, master, 0, &v->db, err)) != PL_OK)
        goto fail;
    if ((st = load_identity(v, master, err)) != PL_OK ||
        (st = feed_load_held(v, master, err)) != PL_OK)
        goto fail;
    if (!(v->dir = strdup(dir))) {
        st = pl_fail(err, PL_E_NOMEM, "out of memory");
        goto fail;
    }
    {
        sqlite3_stmt *q = NULL;
        if (sqlite3_prepare_v2(v->db, "SELECT 1 FROM vault_meta WHERE k = 'restored_head'", -1,
                               &q, NULL) == SQLITE_OK)
            v->restored = sqlite3_step(q) == SQLITE_ROW;
        sqlite3_finalize(q);
        /* An erasure whose WAL checkpoint a reader held back: done now if it can be. */
        int scrub = 0;
        if (sqlite3_prepare_v2(v->db, "SELECT 1 FROM vault_meta WHERE k = 'wal_scrub'", -1, &q,
                               NULL) == SQLITE_OK)
            scrub = sqlite3_step(q) == SQLITE_ROW;
        sqlite3_finalize(q);
        if (scrub)
            vault_scrub_wal(v);
    }
    free(dbpath);
    *out = v;
    return PL_OK;
fail:
    free(dbpath);
    vault_close(v);
    return st;
}

pl_status vault_open(const char *dir, const pl_secret *pass, pl_vault **out, pl_err *err)
{
    pl_keyslots ks;
    pl_status st;
    *out = NULL;
    if ((st = keys_read(dir, &ks, err)) != PL_OK)
        return st;
    uint8_t *master = sodium_malloc(PL_MASTER_KEY_BYTES);
    if (!master)
        return pl_fail(err, PL_E_NOMEM, "out of memory");
    st = keys_open_kind(&ks, PL_KS_KIND_PASSPHRASE, pass->p, pass->len, master, err);
    if (st == PL_OK)
        st = open_with_master(dir, master, out, err);
    sodium_free(master);
    return st;
}

void vault_close(pl_vault *v)
{
    if (!v)
        return;
    sqlite3_finalize(v->st_head);
    sqlite3_finalize(v->st_insert);
    if (v->db)
        sqlite3_close(v->db);
    sodium_free(v->sec);
    free(v->dir);
    free(v);
}

/* Replaces the slot of kind in ks with a fresh one for secret. */
static pl_status replace_slot(pl_keyslots *ks, uint8_t kind, const pl_kdf_params *kdf,
                              const uint8_t *secret, size_t n, const uint8_t *master, pl_err *err)
{
    for (size_t i = 0; i < ks->nslots; i++)
        if (ks->slot[i].kind == kind) {
            pl_kdf_params same = {ks->slot[i].m_kib, ks->slot[i].t, ks->slot[i].lanes};
            return keys_make_slot(kind, kdf ? kdf : &same, secret, n, master, &ks->slot[i], err);
        }
    if (!kdf)
        return pl_fail(err, PL_E_INVALID, "no key derivation cost given for a new key slot");
    if (ks->nslots == PL_KS_MAX_SLOTS)
        return pl_fail(err, PL_E_INVALID, "no room for another key slot");
    return keys_make_slot(kind, kdf, secret, n, master, &ks->slot[ks->nslots++], err);
}

/* Confirms master opens this vault's database before keyslots are rewritten for it. */
static pl_status check_master(const char *dir, const uint8_t *master, pl_err *err)
{
    pl_vault *v = NULL;
    pl_status st = open_with_master(dir, master, &v, err);
    vault_close(v);
    return st;
}

pl_status vault_passwd(const char *dir, const pl_secret *old_pass, const pl_secret *new_pass,
                       const pl_kdf_params *kdf, pl_err *err)
{
    pl_keyslots ks;
    pl_status st;
    if (new_pass->len == 0)
        return pl_fail(err, PL_E_INVALID, "the new passphrase is empty");
    int lock;
    if ((st = keys_lock(dir, &lock, err)) != PL_OK)
        return st;
    uint8_t *master = sodium_malloc(PL_MASTER_KEY_BYTES);
    if (!master)
        st = pl_fail(err, PL_E_NOMEM, "out of memory");
    else if ((st = keys_read(dir, &ks, err)) == PL_OK &&
             (st = keys_open_kind(&ks, PL_KS_KIND_PASSPHRASE, old_pass->p, old_pass->len,
                                  master, err)) == PL_OK &&
             (st = check_master(dir, master, err)) == PL_OK &&
             (st = replace_slot(&ks, PL_KS_KIND_PASSPHRASE, kdf, new_pass->p, new_pass->len,
                                master, err)) == PL_OK)
        st = keys_write(dir, &ks, err);
    sodium_free(master);
    keys_unlock(lock);
    return st;
}

pl_status vault_recover(const char *dir, const char *code, const pl_secret *new_pass,
                        const pl_kdf_params *kdf, char new_recovery[PL_RECOVERY_LEN + 1],
                        pl_err *err)
{
    pl_keyslots ks;
    pl_status st;
    uint8_t rnd[PL_RECOVERY_RANDOM_BYTES];
    if (new_pass->len == 0)
        return pl_fail(err, PL_E_INVALID, "the new passphrase is empty");
    int lock;
    if ((st = keys_lock(dir, &lock, err)) != PL_OK)
        return st;
    if ((st = keys_read(dir, &ks, err)) != PL_OK) {
        keys_unlock(lock);
        return st;
    }
    uint8_t *master = sodium_malloc(PL_MASTER_KEY_BYTES);
    char *norm = sodium_malloc(PL_RECOVERY_LEN + 1), *fresh = sodium_malloc(PL_RECOVERY_LEN + 1);
    if (!master || !norm || !fresh) {
        st = pl_fail(err, PL_E_NOMEM, "out of memory");
        goto out;
    }
    if (fmt_recovery_normalize(code, strlen(code), norm) != 0) {
        st = pl_fail(err, PL_E_PASSPHRASE,
                     "that is not a recovery code (24 letters and digits, as printed at init)");
        goto out;
    }
    randombytes_buf(rnd, sizeof rnd);
    fmt_recovery_make(rnd, fresh);
    sodium_memzero(rnd, sizeof rnd);
    if ((st = keys_open_kind(&ks, PL_KS_KIND_RECOVERY, (const uint8_t *)norm, PL_RECOVERY_LEN,
                             master, err)) == PL_OK &&
        (st = check_master(dir, master, err)) == PL_OK &&
        (st = replace_slot(&ks, PL_KS_KIND_PASSPHRASE, kdf, new_pass->p, new_pass->len, master,
                           err)) == PL_OK &&
        (st = replace_slot(&ks, PL_KS_KIND_RECOVERY, kdf, (const uint8_t *)fresh,
                           PL_RECOVERY_LEN, master, err)) == PL_OK &&
        (st = keys_write(dir, &ks, err)) == PL_OK)
        memcpy(new_recovery, fresh, PL_RECOVERY_LEN + 1);
out:
    sodium_free(master);
    sodium_free(norm);
    sodium_free(fresh);
    keys_unlock(lock);
    return st;
}

void vault_identity(const pl_vault *v, pl_identity *out)
{
    *out = v->id;
}

struct sqlite3 *vault_db(pl_vault *v)
{
    return v->db;
}
