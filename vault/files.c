/* Whole-file reads and crash-safe whole-file writes for bundles and invitations. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "vault/internal.h"

pl_status pl_file_read(const char *path, size_t max, uint8_t **out, size_t *len, pl_err *err)
{
    *out = NULL;
    *len = 0;
    /* Never block on a FIFO or follow a link planted in a shared folder: open without
     * waiting, then insist on a regular file before reading. */
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY);
    if (fd < 0)
        return pl_fail(err, PL_E_IO, "cannot open %s: %s", path,
                       errno == ELOOP ? "it is a symbolic link" : strerror(errno));
    struct stat sb;
    if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
        close(fd);
        return pl_fail(err, PL_E_IO, "%s is not a regular file", path);
    }
    (void)fcntl(fd, F_SETFL, 0); /* plain blocking reads of the regular file */
    /* The size is checked before anything is read or allocated. */
    if ((uint64_t)sb.st_size > max) {
        close(fd);
        return pl_fail(err, PL_E_INTEGRITY, "%s is larger than %zu bytes: refused unread", path,
                       max);
    }
    size_t n = (size_t)sb.st_size, got = 0;
    uint8_t *buf = malloc(n ? n : 1);
    if (!buf) {
        close(fd);
        return pl_fail(err, PL_E_NOMEM, "out of memory");
    }
    while (got < n) {
        ssize_t r = read(fd, buf + got, n - got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0) {
            int e = r < 0 ? errno : EIO;
            free(buf);
            close(fd);
            return pl_fail(err, PL_E_IO, "cannot read %s: %s", path,
                           r < 0 ? strerror(e) : "it changed while being read");
        }
        got += (size_t)r;
    }
    close(fd);
    *out = buf;
    *len = n;
    return PL_OK;
}

pl_status pl_file_write_atomic(const char *path, const uint8_t *p, size_t n, pl_err *err)
{
    /* A temporary name beside the target, unique to this call, then fsync and rename: a
     * reader (or a sync service) sees the old file or the whole new one, never a part. */
    char *tmp = NULL, *dir = NULL;
    uint8_t rnd[8];
    char suffix[2 * sizeof rnd + 1];
    randombytes_buf(rnd, sizeof rnd);
    sodium_bin2hex(suffix, sizeof suffix, rnd, sizeof rnd);
    const char *slash = strrchr(path, '/');
    size_t dlen = slash ? (size_t)(slash - path) : 0, cap = strlen(path) + sizeof suffix + 16;
    tmp = malloc(cap);
    dir = malloc(dlen + 2);
    if (!tmp || !dir) {
        free(tmp);
        free(dir);
        return pl_fail(err, PL_E_NOMEM, "out of memory");
    }
    snprintf(tmp, cap, "%.*s%s.peerlog-%s.tmp", (int)dlen, path, slash ? "/" : "", suffix);
    if (!slash)
        snprintf(dir, dlen + 2, ".");
    else if (dlen == 0)
        snprintf(dir, dlen + 2, "/");
    else
        snprintf(dir, dlen + 2, "%.*s", (int)dlen, path);
    pl_status st = PL_OK;
    int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0) {
        st = pl_fail(err, PL_E_IO, "cannot create a file beside %s: %s", path, strerror(errno));
        goto out;
    }
    if (pl_write_all(fd, p, n) != 0 || (pl_io_fault && pl_io_fault("fsync")) || fsync(fd) != 0) {
        st = pl_fail(err, PL_E_IO, "cannot write %s: %s", path, strerror(errno));
        close(fd);
        (void)unlink(tmp);
        goto out;
    }
    if (close(fd) != 0 || (pl_io_fault && pl_io_fault("rename")) || rename(tmp, path) != 0) {
        st = pl_fail(err, PL_E_IO, "cannot write %s: %s", path, strerror(errno));
        (void)unlink(tmp);
        goto out;
    }
    st = pl_fsync_dir(dir, err);
out:
    free(tmp);
    free(dir);
    return st;
}

void *pl_grow(void *p, size_t *cap, size_t n, size_t size)
{
    if (n < *cap)
        return p;
    size_t want = *cap ? 2 * *cap : 16;
    if (want <= n || want > SIZE_MAX / size)
        return NULL;
    void *bigger = realloc(p, want * size);
    if (bigger)
        *cap = want;
    return bigger;
}
