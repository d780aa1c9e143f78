/* sync: this device's new entries out to a shared folder as bundle files, and every bundle
 * in the folder in (formats/bundle.md §5). */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "formats/bundle.h"
#include "vault/internal.h"

#define SYNC_CHUNK 10000u /* entries per bundle file */

typedef struct {
    char *path;
    uint8_t feed[PL_SIGN_PK_BYTES];
    uint64_t first, last;
    char id8[9];
    int named; /* the name parsed as <first>-<last>-<id8>.bundle */
    int coordinator; /* a file of the coordinator's feed: imported first */
    int done;
    pl_status st;
    char msg[PL_ERR_MSG_MAX];
} sync_file;

/* Makes path a directory (or finds one there): a symbolic link planted in the shared folder
 * must not send this vault's files elsewhere. */
static int make_dir(const char *path)
{
    if (mkdir(path, 0700) == 0 || errno == EEXIST) {
        struct stat sb;
        if (lstat(path, &sb) == 0 && S_ISDIR(sb.st_mode))
            return 0;
        errno = ENOTDIR;
    }
    return -1;
}

static int parse_name(const char *name, sync_file *f)
{
    unsigned long long a, b;
    char id8[9], tail[8];
    int k = sscanf(name, "%20llu-%20llu-%8[0-9a-f].%7s", &a, &b, id8, tail);
    if (k != 4 || strcmp(tail, "bundle") != 0 || strlen(id8) != 8 || a == 0 || b < a)
        return -1;
    f->first = a;
    f->last = b;
    memcpy(f->id8, id8, sizeof id8);
    return 0;
}

/* 1 when the vault holds feed's entry seq with an id starting with id8 (and so, by the
 * chain, every entry before it). */
static int holds(pl_vault *v, const uint8_t *feed, uint64_t seq, const char *id8)
{
    sqlite3_stmt *q = NULL;
    int found = 0;
    if (sqlite3_prepare_v2(v->db, "SELECT id FROM entries WHERE feed = ? AND seq = ?", -1, &q,
                           NULL) != SQLITE_OK)
        return 0;
    sqlite3_bind_blob(q, 1, feed, PL_SIGN_PK_BYTES, SQLITE_STATIC);
    sqlite3_bind_int64(q, 2, (sqlite3_int64)seq);
    while (!found && sqlite3_step(q) == SQLITE_ROW) {
        char hex[PL_ID_HEX + 1];
        if (sqlite3_column_bytes(q, 0) != PL_ID_BYTES)
            continue;
        sodium_bin2hex(hex, sizeof hex, sqlite3_column_blob(q, 0), PL_ID_BYTES);
        found = memcmp(hex, id8, 8) == 0;
    }
    sqlite3_finalize(q);
    return found;
}

static char *join_path(const char *a, const char *b)
{
    size_t n = strlen(a) + strlen(b) + 2;
    char *p = malloc(n);
    if (p)
        snprintf(p, n, "%s/%s", a, b);
    return p;
}

/* Every *.bundle under dir/feeds/<feed hex>/, sorted by path. */
static pl_status list_bundles(const char *feeds, sync_file **out, size_t *n, pl_err *err)
{
    *out = NULL;
    *n = 0;
    size_t cap = 0;
    DIR *d = opendir(feeds);
    if (!d)
        return errno == ENOENT ? PL_OK
                               : pl_fail(err, PL_E_IO, "cannot read %s: %s", feeds,
                                         strerror(errno));
    struct dirent *fe;
    pl_status st = PL_OK;
    while (st == PL_OK && (fe = readdir(d))) {
        uint8_t feed[PL_SIGN_PK_BYTES];
        size_t bin = 0;
        struct stat sb;
        if (strlen(fe->d_name) != 2 * PL_SIGN_PK_BYTES ||
            strspn(fe->d_name, "0123456789abcdef") != 2 * PL_SIGN_PK_BYTES ||
            sodium_hex2bin(feed, sizeof feed, fe->d_name, strlen(fe->d_name), NULL, &bin,
                           NULL) != 0 ||
            bin != sizeof feed)
            continue; /* only the lowercase name a feed's owner writes */
        char *sub = join_path(feeds, fe->d_name);
        /* A feed's folder, not a link planted to send a rewrite elsewhere. */
        DIR *sd = sub && lstat(sub, &sb) == 0 && S_ISDIR(sb.st_mode) ? opendir(sub) : NULL;
        struct dirent *be;
        while (sd && st == PL_OK && (be = readdir(sd))) {
            size_t len = strlen(be->d_name);
            if (len < 8 || strcmp(be->d_name + len - 7, ".bundle") != 0 || be->d_name[0] == '.')
                continue;
            if (*n == cap) {
                size_t ncap = cap ? cap * 2 : 32;
                sync_file *g = realloc(*out, ncap * sizeof *g);
                if (!g) {
                    st = pl_fail(err, PL_E_NOMEM, "out of memory");
                    break;
                }
                *out = g;
                cap = ncap;
            }
            sync_file *f = &(*out)[*n];
            memset(f, 0, sizeof *f);
            memcpy(f->feed, feed, sizeof feed);
            f->named = parse_name(be->d_name, f) == 0;
            if (!(f->path = join_path(sub, be->d_name))) {
                st = pl_fail(err, PL_E_NOMEM, "out of memory");
                break;
            }
            (*n)++;
        }
        if (sd)
            closedir(sd);
        free(sub);
    }
    closedir(d);
    return st;
}

/* Coordinators' feeds sort first: their organisation entries (a member added, a removal)
 * decide how the other feeds' entries are judged. */
static int by_order(const void *a, const void *b)
{
    const sync_file *x = a, *y = b;
    if (x->coordinator != y->coordinator)
        return x->coordinator ? -1 : 1;
    int c = memcmp(x->feed, y->feed, PL_SIGN_PK_BYTES);
    if (c)
        return c;
    if (x->first != y->first)
        return x->first < y->first ? -1 : 1;
    return strcmp(x->path, y->path);
}

static void free_files(sync_file *f, size_t n)
{
    for (size_t i = 0; f && i < n; i++)
        free(f[i].path);
    free(f);
}

/* Imports every bundle not yet held, in passes until a pass adds nothing: a bundle that
 * waits for another (a gap, a member not yet added) is tried again after it. */
static pl_status import_all(pl_vault *v, sync_file *files, size_t n, pl_sync_cb cb, void *ctx,
                            pl_sync_report *rep, pl_err *err)
{
    size_t todo = 0;
    for (size_t i = 0; i < n; i++) {
        files[i].done = files[i].named && holds(v, files[i].feed, files[i].last, files[i].id8);
        todo += !files[i].done;
    }
    size_t seen = 0;
    for (int progress = 1; progress;) {
        progress = 0;
        for (size_t i = 0; i < n; i++) {
            sync_file *f = &files[i];
            if (f->done)
                continue;
            uint8_t *buf = NULL;
            size_t len = 0;
            pl_import_report ir;
            pl_err ferr;
            memset(&ir, 0, sizeof ir);
            if (cb && f->st == PL_OK)
                cb(ctx, PL_SYNC_PROGRESS, f->path, ++seen, todo, NULL);
            pl_status st = pl_file_read(f->path, PL_BUNDLE_MAX_BYTES, &buf, &len, &ferr);
            if (st == PL_OK)
                st = vault_import(v, buf, len, &ir, &ferr);
            free(buf);
            if (st == PL_OK) {
                f->done = 1;
                progress = 1;
                rep->bundles_imported += ir.added ? 1u : 0u;
                rep->entries_added += ir.added;
                rep->forks += ir.forks;
                rep->keys_taken += ir.keys_taken;
                if (ir.forks && cb)
                    cb(ctx, PL_SYNC_FORK, f->path, 0, 0, ir.fork);
                rep->bodies_erased += ir.bodies_erased;
                rep->entries_cut += ir.cut;
                if (ir.cut && cb) {
                    char why[160];
                    snprintf(why, sizeof why, "%u entr%s by removed member %s, written after "
                             "the removal", ir.cut, ir.cut == 1 ? "y" : "ies", ir.cut_who);
                    cb(ctx, PL_SYNC_CUT, f->path, 0, 0, why);
                }
                continue;
            }
            if (st == PL_E_NOMEM || st == PL_E_LOCKED)
                return pl_fail(err, st, "%s", ferr.msg);
            f->st = st;
            snprintf(f->msg, sizeof f->msg, "%s", ferr.msg);
            if (st == PL_E_INTEGRITY && ir.retry)
                continue; /* tried again after the others */
            f->done = 1;
            if (st == PL_E_INTEGRITY) {
                rep->bundles_refused++;
                if (cb)
                    cb(ctx, PL_SYNC_REFUSED, f->path, 0, 0, f->msg);
            } else {
                rep->bundles_unreadable++;
                if (cb)
                    cb(ctx, PL_SYNC_UNREADABLE, f->path, 0, 0, f->msg);
            }
        }
    }
    /* What still waits for another bundle is not an error: the next sync may bring it. */
    for (size_t i = 0; i < n; i++)
        if (!files[i].done) {
            rep->bundles_waiting++;
            if (cb)
                cb(ctx, PL_SYNC_WAITING, files[i].path, 0, 0, files[i].msg);
        }
    return PL_OK;
}

/* The last sequence number of this vault's feed already in the folder. */
static uint64_t published(pl_vault *v, const sync_file *files, size_t n)
{
    uint64_t last = 0;
    for (size_t i = 0; i < n; i++)
        if (files[i].named && files[i].last > last &&
            !sodium_memcmp(files[i].feed, v->id.sign_pk, PL_SIGN_PK_BYTES) &&
            holds(v, files[i].feed, files[i].last, files[i].id8))
            last = files[i].last;
    return last;
}

static pl_status export_new(pl_vault *v, const char *own_dir, uint64_t from,
                            pl_sync_report *rep, pl_err *err)
{
    for (;;) {
        uint8_t *buf = NULL;
        size_t len = 0;
        pl_export_info xi;
        pl_status st = vault_export(v, v->id.sign_pk, from, SYNC_CHUNK, &buf, &len, &xi, err);
        if (st == PL_E_NOTFOUND)
            return PL_OK; /* nothing new */
        if (st != PL_OK)
            return st;
        char id[PL_ID_HEX + 1], name[80];
        sodium_bin2hex(id, sizeof id, xi.last_id, PL_ID_BYTES);
        snprintf(name, sizeof name, "%llu-%llu-%.8s.bundle", (unsigned long long)xi.first,
                 (unsigned long long)xi.last, id);
        char *path = join_path(own_dir, name);
        st = path ? pl_file_write_atomic(path, buf, len, err)
                  : pl_fail(err, PL_E_NOMEM, "out of memory");
        free(path);
        free(buf);
        if (st != PL_OK)
            return st;
        rep->bundles_written++;
        rep->entries_exported += xi.count;
        from = xi.last + 1;
    }
}

/* 1 when the vault holds an erased body among f's entries (its feed, first to last): only
 * then can the file carry one, and only then is it opened. -1 on a database error. */
static int range_has_erased(pl_vault *v, const sync_file *f)
{
    sqlite3_stmt *q = NULL;
    if (!f->named)
        return 0;
    int rc = sqlite3_prepare_v2(v->db, "SELECT 1 FROM entries WHERE feed = ? AND seq BETWEEN ?"
                                       " AND ? AND body IS NULL LIMIT 1", -1, &q, NULL);
    if (rc == SQLITE_OK) {
        sqlite3_bind_blob(q, 1, f->feed, PL_SIGN_PK_BYTES, SQLITE_STATIC);
        sqlite3_bind_int64(q, 2, (sqlite3_int64)f->first);
        sqlite3_bind_int64(q, 3, (sqlite3_int64)f->last);
        rc = sqlite3_step(q);
    }
    sqlite3_finalize(q);
    return rc == SQLITE_ROW ? 1 : rc == SQLITE_DONE ? 0 : -1;
}

/* How many bodies the file f still carries that this vault holds erased. */
static pl_status file_erased(pl_vault *v, const sync_file *f, uint64_t *carried, pl_err *err)
{
    uint8_t *buf = NULL;
    size_t len = 0;
    *carried = 0;
    int has = range_has_erased(v, f);
    if (has < 0)
        return pl_fail(err, PL_E_IO, "cannot read the vault's entries of %s", f->path);
    if (!has)
        return PL_OK;
    pl_status st = pl_file_read(f->path, PL_BUNDLE_MAX_BYTES, &buf, &len, err);
    if (st == PL_OK)
        st = vault_bundle_erased(v, buf, len, carried, err);
    free(buf);
    return st;
}

/* Rewrites each of this vault's own files that still carries a body this vault holds erased:
 * the same range exported again (erased bodies left out), written over the old file
 * crash-safely under the same name (formats/erasure.md §5). */
static pl_status rewrite_own(pl_vault *v, const sync_file *files, size_t n, pl_sync_cb cb,
                             void *ctx, pl_sync_report *rep, pl_err *err)
{
    for (size_t i = 0; i < n; i++) {
        const sync_file *f = &files[i];
        uint64_t carried = 0;
        pl_err ferr;
        if (sodium_memcmp(f->feed, v->id.sign_pk, PL_SIGN_PK_BYTES) != 0)
            continue;
        pl_status st = file_erased(v, f, &carried, &ferr);
        if (st == PL_E_NOMEM || st == PL_E_LOCKED)
            return pl_fail(err, st, "%s", ferr.msg);
        if (st != PL_OK || !carried)
            continue; /* a file that does not decode was reported by the import */
        uint8_t *buf = NULL;
        size_t len = 0;
        pl_export_info xi;
        char id[PL_ID_HEX + 1];
        st = vault_export(v, v->id.sign_pk, f->first, (uint32_t)(f->last - f->first + 1), &buf,
                          &len, &xi, &ferr);
        if (st == PL_E_NOMEM || st == PL_E_LOCKED) {
            free(buf);
            return pl_fail(err, st, "%s", ferr.msg);
        }
        if (st == PL_OK)
            sodium_bin2hex(id, sizeof id, xi.last_id, PL_ID_BYTES);
        if (st != PL_OK || xi.first != f->first || xi.last != f->last ||
            memcmp(id, f->id8, 8) != 0) {
            /* The vault no longer holds this range as the file names it (a fork, a
             * restore): left alone, and reported. */
            free(buf);
            if (cb)
                cb(ctx, PL_SYNC_STALE, f->path, 0, 0, "still carries erased content, and this "
                                                      "vault cannot write the same entries again");
            continue;
        }
        st = pl_file_write_atomic(f->path, buf, len, err);
        free(buf);
        if (st != PL_OK)
            return st;
        rep->bundles_rewritten++;
        rep->bodies_removed += carried;
    }
    return PL_OK;
}

pl_status vault_folder_status(pl_vault *v, const char *dir, pl_folder_status *out, pl_err *err)
{
    memset(out, 0, sizeof *out);
    struct stat sb;
    if (stat(dir, &sb) != 0 || !S_ISDIR(sb.st_mode))
        return pl_fail(err, PL_E_IO, "%s is not a folder: give the organisation's shared folder",
                       dir);
    char *feeds = join_path(dir, "feeds");
    sync_file *files = NULL;
    size_t n = 0, cap = 0;
    pl_status st = feeds ? list_bundles(feeds, &files, &n, err)
                         : pl_fail(err, PL_E_NOMEM, "out of memory");
    if (st == PL_OK && n)
        qsort(files, n, sizeof *files, by_order);
    for (size_t i = 0; st == PL_OK && i < n; i++) {
        const sync_file *f = &files[i];
        uint64_t carried = 0;
        pl_err ferr;
        out->files++;
        if (i == 0 || memcmp(f->feed, files[i - 1].feed, PL_SIGN_PK_BYTES) != 0)
            out->feeds++;
        pl_folder_feed *last = out->nstale ? &out->stale[out->nstale - 1] : NULL;
        pl_status fst = file_erased(v, f, &carried, &ferr);
        if (fst == PL_E_NOMEM || fst == PL_E_LOCKED) {
            st = pl_fail(err, fst, "%s", ferr.msg);
            break;
        }
        if (fst != PL_OK)
            out->unreadable++;
        if (!carried)
            continue;
        if (!last || memcmp(last->feed, f->feed, PL_SIGN_PK_BYTES) != 0) {
            pl_folder_feed *g = pl_grow(out->stale, &cap, out->nstale, sizeof *g);
            if (!g) {
                st = pl_fail(err, PL_E_NOMEM, "out of memory");
                break;
            }
            out->stale = g;
            last = &g[out->nstale++];
            memset(last, 0, sizeof *last);
            memcpy(last->feed, f->feed, PL_SIGN_PK_BYTES);
        }
        last->files++;
        last->bodies += carried;
    }
    /* When each such feed last wrote to the folder: its newest file. */
    for (size_t k = 0; st == PL_OK && k < out->nstale; k++)
        for (size_t i = 0; i < n; i++)
            if (!memcmp(files[i].feed, out->stale[k].feed, PL_SIGN_PK_BYTES) &&
                stat(files[i].path, &sb) == 0 && (int64_t)sb.st_mtime > out->stale[k].newest)
                out->stale[k].newest = (int64_t)sb.st_mtime;
    free_files(files, n);
    free(feeds);
    if (st != PL_OK) {
        free(out->stale);
        out->stale = NULL;
        out->nstale = 0;
    }
    return st;
}

/* Coordinators leave an invitation for each member who has none in the folder yet. */
static pl_status write_invites(pl_vault *v, const pl_org *o, const char *dir,
                               pl_sync_report *rep, pl_err *err)
{
    const pl_org_member *me = org_member(o, v->id.sign_pk);
    if (!me || !(me->roles & 1u) || me->removed)
        return PL_OK;
    char *inv_dir = join_path(dir, "invites");
    if (!inv_dir)
        return pl_fail(err, PL_E_NOMEM, "out of memory");
    pl_status st = PL_OK;
    if (make_dir(inv_dir) != 0)
        st = pl_fail(err, PL_E_IO, "cannot make %s: %s", inv_dir, strerror(errno));
    for (unsigned i = 0; st == PL_OK && i < o->nmembers; i++) {
        const pl_org_member *m = &o->members[i];
        char name[PL_FINGERPRINT_HEX + 8];
        struct stat sb;
        /* Each coordinator invites the members it added: one writer per file. */
        if (m == me || m->removed || sodium_memcmp(m->added_by, me->id.sign_pk,
                                                   PL_SIGN_PK_BYTES) != 0)
            continue;
        snprintf(name, sizeof name, "%s.invite", m->id.fingerprint);
        char *path = join_path(inv_dir, name);
        if (!path) {
            st = pl_fail(err, PL_E_NOMEM, "out of memory");
            break;
        }
        if (stat(path, &sb) != 0) {
            uint8_t inv[PL_INVITE_BYTES];
            if ((st = vault_invite(v, m->id.sign_pk, inv, err)) == PL_OK &&
                (st = pl_file_write_atomic(path, inv, sizeof inv, err)) == PL_OK)
                rep->invites_written++;
        }
        free(path);
    }
    free(inv_dir);
    return st;
}

pl_status vault_sync(pl_vault *v, const char *dir, unsigned flags, pl_sync_cb cb, void *ctx,
                     pl_sync_report *rep, pl_err *err)
{
    uint8_t id[PL_ID_BYTES];
    pl_status st;
    memset(rep, 0, sizeof *rep);
    if ((st = org_id(v, id, err)) != PL_OK)
        return st == PL_E_NOTFOUND ? pl_fail(err, PL_E_INVALID, "this vault belongs to no "
                                                                "organisation: join one first "
                                                                "('peerlog join')")
                                   : st;
    struct stat sb;
    if (stat(dir, &sb) != 0 || !S_ISDIR(sb.st_mode))
        return pl_fail(err, PL_E_IO, "%s is not a folder: give the organisation's shared folder",
                       dir);
    char *feeds = join_path(dir, "feeds"), *own = NULL, hex[2 * PL_SIGN_PK_BYTES + 1];
    pl_err ignore;
    sync_file *files = NULL;
    size_t n = 0;
    pl_org *o = calloc(1, sizeof *o);
    sodium_bin2hex(hex, sizeof hex, v->id.sign_pk, PL_SIGN_PK_BYTES);
    if (!feeds || !o || !(own = join_path(feeds, hex))) {
        st = pl_fail(err, PL_E_NOMEM, "out of memory");
        goto out;
    }
    /* In first: after a restore, this feed's own later entries come back before any new
     * entry could reuse their sequence numbers. */
    if ((st = list_bundles(feeds, &files, &n, err)) != PL_OK)
        goto out;
    if (vault_org(v, o, &ignore) == PL_OK)
        for (size_t i = 0; i < n; i++)
            files[i].coordinator = org_coordinator_at(o, files[i].feed, 1) != NULL;
    if (n)
        qsort(files, n, sizeof *files, by_order);
    if ((st = import_all(v, files, n, cb, ctx, rep, err)) != PL_OK)
        goto out;
    if (vault_is_restored(v)) {
        /* Restored from a backup: appending waits until every entry of this feed that the
         * folder holds is back in the vault, and the folder holds at least what the vault
         * held at the backup (an empty or wrong folder proves nothing). */
        uint64_t head = feed_head_seq(v, v->id.sign_pk), in_folder = 0;
        for (size_t i = 0; i < n; i++)
            if (files[i].named && !sodium_memcmp(files[i].feed, v->id.sign_pk,
                                                 PL_SIGN_PK_BYTES)) {
                if (files[i].last > head)
                    rep->restore_waiting = 1;
                if (files[i].last > in_folder)
                    in_folder = files[i].last;
            }
        if (in_folder < vault_restored_head(v) && !(flags & PL_SYNC_RESUME_AFTER_RESTORE))
            rep->restore_waiting = 1;
        if (!rep->restore_waiting) {
            if ((st = vault_restore_settled(v, err)) != PL_OK)
                goto out;
            rep->restore_settled = 1;
        }
    }
    if (vault_org(v, o, err) != PL_OK) {
        /* Joined, but the organisation's first entries are not in the folder yet. */
        rep->waiting = 1;
        st = PL_OK;
        goto out;
    }
    if (!org_member(o, v->id.sign_pk))
        goto out; /* not (yet) a member: nothing of ours to publish */
    /* A coordinator mends what concurrent changes left (formats/org.md §10.6) before it
     * publishes; a restored vault waits, as it may not append yet. */
    if (!vault_is_restored(v)) {
        if ((st = vault_org_repair(v, &rep->keys_rotated, &rep->grants_written, err)) != PL_OK)
            goto out;
        if ((rep->keys_rotated || rep->grants_written) && (st = vault_org(v, o, err)) != PL_OK)
            goto out;
    }
    if (make_dir(feeds) != 0 || make_dir(own) != 0) {
        st = pl_fail(err, PL_E_IO, "cannot make %s: %s", own, strerror(errno));
        goto out;
    }
    /* A restored vault still waiting publishes nothing: the folder may be the wrong one. */
    if (!vault_is_restored(v) &&
        (st = export_new(v, own, published(v, files, n) + 1, rep, err)) != PL_OK)
        goto out;
    /* A restored vault still waiting leaves its files as they are, like its new entries. */
    if (!vault_is_restored(v) && (st = rewrite_own(v, files, n, cb, ctx, rep, err)) != PL_OK)
        goto out;
    st = write_invites(v, o, dir, rep, err);
out:
    free_files(files, n);
    free(feeds);
    free(own);
    free(o);
    return st;
}
