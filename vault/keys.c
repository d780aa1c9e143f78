/* The keyslots file: reading, atomic writing, and Argon2id key derivation. */
#include <errno.h>
#include <fcntl.h>
#include <sys/file.h>
#include <time.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <argon2.h>

#include "vault/internal.h"

int (*pl_io_fault)(const char *op);

static int fault(const char *op)
{
    if (pl_io_fault && pl_io_fault(op)) {
        errno = EIO;
        return 1;
    }
    return 0;
}

pl_status keys_lock(const char *dir, int *fd, pl_err *err)
{
    *fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (*fd < 0)
        return pl_fail(err, PL_E_NOVAULT, "no vault at %s (%s)", dir, strerror(errno));
    /* Wait up to 30 s for another passwd or recover, as SQLite waits for a busy vault. */
    for (int tries = 0; flock(*fd, LOCK_EX | LOCK_NB) != 0; tries++) {
        pl_status st = PL_OK;
        if (errno == EWOULDBLOCK && tries >= 300)
            st = pl_fail(err, PL_E_LOCKED, "the vault is busy: another peerlog is changing its "
                                           "keys; try again in a moment");
        else if (errno != EWOULDBLOCK && errno != EINTR)
            st = pl_fail(err, PL_E_IO, "cannot lock %s: %s", dir, strerror(errno));
        if (st != PL_OK) {
            close(*fd);
            *fd = -1;
            return st;
        }
        struct timespec pause = {0, 100 * 1000 * 1000};
        nanosleep(&pause, NULL);
    }
    return PL_OK;
}

void keys_unlock(int fd)
{
    if (fd >= 0)
        close(fd); /* releases the flock */
}

char *pl_path(const char *dir, const char *name)
{
    size_t n = strlen(dir) + strlen(name) + 2;
    char *p = malloc(n);
    if (p)
        snprintf(p, n, "%s/%s", dir, name);
    return p;
}

pl_status pl_fsync_dir(const char *dir, pl_err *err)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return pl_fail(err, PL_E_IO, "cannot open %s: %s", dir, strerror(errno));
    int bad = fault("fsync") || fsync(fd) != 0;
    int saved = errno;
    close(fd);
    if (bad)
        return pl_fail(err, PL_E_IO, "cannot sync %s: %s", dir, strerror(saved));
    return PL_OK;
}

/* Reads at most cap bytes of path into buf; -1 with errno on failure. */
static int read_small_file(const char *path, uint8_t *buf, size_t cap, size_t *n)
{
    int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0)
        return -1;
    *n = 0;
    for (;;) {
        ssize_t r = read(fd, buf + *n, cap - *n);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            int saved = errno;
            close(fd);
            errno = saved;
            return -1;
        }
        if (r == 0 || (*n += (size_t)r) == cap)
            break;
    }
    close(fd);
    return 0;
}

pl_status keys_read(const char *dir, pl_keyslots *ks, pl_err *err)
{
    uint8_t buf[PL_KS_FILE_MAX + 1];
    size_t n;
    char *path = pl_path(dir, "keyslots");
    if (!path)
        return pl_fail(err, PL_E_NOMEM, "out of memory");
    int rc = read_small_file(path, buf, sizeof buf, &n);
    free(path);
    if (rc != 0) {
        if (errno == ENOENT)
            return pl_fail(err, PL_E_NOVAULT, "no vault at %s (run 'peerlog init' to create one)",
                           dir);
        return pl_fail(err, PL_E_IO, "cannot read %s/keyslots: %s", dir, strerror(errno));
    }
    pl_fmt_status st = fmt_keyslots_decode(buf, n, ks);
    if (st != PL_FMT_OK)
        return pl_fail(err, PL_E_INTEGRITY, "%s/keyslots is damaged (%s); restore it from a backup",
                       dir, fmt_status_str(st));
    return PL_OK;
}

int pl_write_all(int fd, const uint8_t *p, size_t n)
{
    while (n > 0) {
        if (fault("write"))
            return -1;
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

pl_status keys_write(const char *dir, const pl_keyslots *ks, pl_err *err)
{
    uint8_t buf[PL_KS_FILE_MAX], back[PL_KS_FILE_MAX + 1];
    size_t n, nback;
    pl_keyslots check;
    pl_status st = PL_OK;
    if (fmt_keyslots_encode(ks, buf, sizeof buf, &n) != PL_FMT_OK)
        return pl_fail(err, PL_E_INVALID, "keyslots out of range");
    char *tmp = pl_path(dir, "keyslots.tmp"), *dst = pl_path(dir, "keyslots");
    if (!tmp || !dst) {
        free(tmp);
        free(dst);
        return pl_fail(err, PL_E_NOMEM, "out of memory");
    }
    (void)unlink(tmp); /* a leftover of a crash: it never replaced the real file */
    int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0) {
        st = pl_fail(err, PL_E_IO, "cannot create %s: %s", tmp, strerror(errno));
        goto out;
    }
    if (pl_write_all(fd, buf, n) != 0 || fault("fsync") || fsync(fd) != 0) {
        st = pl_fail(err, PL_E_IO, "cannot write %s: %s", tmp, strerror(errno));
        close(fd);
        (void)unlink(tmp);
        goto out;
    }
    if (close(fd) != 0) {
        st = pl_fail(err, PL_E_IO, "cannot write %s: %s", tmp, strerror(errno));
        (void)unlink(tmp);
        goto out;
    }
    /* Read the new file back before it replaces the old one. */
    if (read_small_file(tmp, back, sizeof back, &nback) != 0 || nback != n ||
        sodium_memcmp(back, buf, n) != 0 || fmt_keyslots_decode(back, nback, &check) != PL_FMT_OK) {
        st = pl_fail(err, PL_E_IO, "%s did not read back as written; the old keyslots are kept",
                     tmp);
        (void)unlink(tmp);
        goto out;
    }
    if (fault("rename") || rename(tmp, dst) != 0) {
        st = pl_fail(err, PL_E_IO, "cannot replace %s: %s", dst, strerror(errno));
        (void)unlink(tmp);
        goto out;
    }
    st = pl_fsync_dir(dir, err);
out:
    free(tmp);
    free(dst);
    return st;
}

static pl_status derive_kek(const pl_keyslot *slot, const uint8_t *secret, size_t n, uint8_t *kek,
                            pl_err *err)
{
    int rc = argon2id_hash_raw(slot->t, slot->m_kib, slot->lanes, secret, n, slot->salt,
                               sizeof slot->salt, kek, PL_KEY_BYTES);
    if (rc == ARGON2_MEMORY_ALLOCATION_ERROR)
        return pl_fail(err, PL_E_NOMEM, "not enough memory for the passphrase key derivation "
                                        "(%u MiB)", slot->m_kib / 1024u);
    if (rc != ARGON2_OK)
        return pl_fail(err, PL_E_INVALID, "passphrase key derivation failed: %s",
                       argon2_error_message(rc));
    return PL_OK;
}

pl_status keys_make_slot(uint8_t kind, const pl_kdf_params *kdf, const uint8_t *secret, size_t n,
                         const uint8_t *master, pl_keyslot *slot, pl_err *err)
{
    memset(slot, 0, sizeof *slot);
    slot->kind = kind;
    slot->kdf = PL_KS_KDF_ARGON2ID;
    slot->m_kib = kdf->m_kib;
    slot->t = kdf->t;
    slot->lanes = kdf->lanes;
    if (slot->lanes < 1 || slot->lanes > PL_KS_LANES_MAX || slot->t < 1 ||
        slot->t > PL_KS_T_MAX || slot->m_kib > PL_KS_M_KIB_MAX ||
        slot->m_kib < PL_KS_M_KIB_MIN * slot->lanes)
        return pl_fail(err, PL_E_INVALID,
                       "key derivation settings out of range (memory %u KiB, passes %u, lanes %u)",
                       slot->m_kib, slot->t, slot->lanes);
    randombytes_buf(slot->salt, sizeof slot->salt);
    randombytes_buf(slot->nonce, sizeof slot->nonce);
    uint8_t *kek = sodium_malloc(PL_KEY_BYTES), *check = sodium_malloc(PL_MASTER_KEY_BYTES);
    pl_status st = PL_OK;
    if (!kek || !check)
        st = pl_fail(err, PL_E_NOMEM, "out of memory");
    else if ((st = derive_kek(slot, secret, n, kek, err)) == PL_OK) {
        fmt_keyslot_seal(slot, kek, master);
        /* Verify what we made: the slot must open to the same master key. */
        if (fmt_keyslot_open(slot, kek, check) != PL_FMT_OK ||
            sodium_memcmp(check, master, PL_MASTER_KEY_BYTES) != 0)
            st = pl_fail(err, PL_E_INTEGRITY, "a key slot just made does not open; nothing "
                                              "was changed");
    }
    sodium_free(kek);
    sodium_free(check);
    return st;
}

pl_status keys_open_kind(const pl_keyslots *ks, uint8_t kind, const uint8_t *secret, size_t n,
                         uint8_t *master, pl_err *err)
{
    uint8_t *kek = sodium_malloc(PL_KEY_BYTES);
    if (!kek)
        return pl_fail(err, PL_E_NOMEM, "out of memory");
    pl_status st = PL_E_PASSPHRASE;
    int seen = 0;
    for (size_t i = 0; i < ks->nslots && st == PL_E_PASSPHRASE; i++) {
        if (ks->slot[i].kind != kind)
            continue;
        seen = 1;
        pl_status d = derive_kek(&ks->slot[i], secret, n, kek, err);
        if (d != PL_OK)
            st = d;
        else if (fmt_keyslot_open(&ks->slot[i], kek, master) == PL_FMT_OK)
            st = PL_OK;
    }
    sodium_free(kek);
    if (st == PL_E_PASSPHRASE)
        return pl_fail(err, PL_E_PASSPHRASE, seen ? (kind == PL_KS_KIND_RECOVERY
                                                         ? "wrong recovery code"
                                                         : "wrong passphrase")
                                                  : "the vault has no such key slot");
    return st;
}
