/* verify: database pages, chains, headers, body hashes and signatures. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vault/internal.h"

static void problem(pl_verify_report *rep, const uint8_t *feed, uint64_t seq, const char *fmt,
                    ...) __attribute__((format(printf, 4, 5)));

void problem_vadd(pl_problem list[PL_VERIFY_MAX_PROBLEMS], size_t *n, const uint8_t *feed,
                  uint64_t seq, const char *fmt, va_list ap)
{
    if (*n < PL_VERIFY_MAX_PROBLEMS) {
        pl_problem *p = &list[*n];
        memset(p, 0, sizeof *p);
        if (feed)
            memcpy(p->feed, feed, PL_SIGN_PK_BYTES);
        p->seq = seq;
        vsnprintf(p->what, sizeof p->what, fmt, ap);
    }
    (*n)++;
}

static void problem(pl_verify_report *rep, const uint8_t *feed, uint64_t seq, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    problem_vadd(rep->problem, &rep->nproblems, feed, seq, fmt, ap);
    va_end(ap);
}

/* PRAGMA quick_check reads every page of every table and index, so SQLCipher checks each
 * page's HMAC; it also catches structural damage. */
static pl_status check_pages(pl_vault *v, pl_verify_report *rep, pl_err *err)
{
    sqlite3_stmt *q = NULL;
    int rc = sqlite3_prepare_v2(v->db, "PRAGMA quick_check", -1, &q, NULL);
    if (rc != SQLITE_OK)
        return store_fail(v->db, rc, "checking vault.db", err);
    int first = 1;
    while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
        const char *r = (const char *)sqlite3_column_text(q, 0);
        if (r && strcmp(r, "ok") != 0 && first) {
            /* one line: the page check's own report is long and says the same */
            char line[120];
            snprintf(line, sizeof line, "%s", r);
            line[strcspn(line, "\n")] = '\0';
            problem(rep, NULL, 0, "vault.db failed authentication or is damaged (%s)", line);
            first = 0;
        }
    }
    sqlite3_finalize(q);
    if (rc != SQLITE_DONE)
        return store_fail(v->db, rc, "checking vault.db", err);
    return PL_OK;
}

#define FORK_WIDTH 4u /* branches of one feed tracked at one sequence number */

typedef struct {
    int have_prev;
    uint64_t seq;
    uint8_t id[PL_ID_BYTES];
    /* The ids at seq (more than one where a feed forked) and at seq - 1. */
    uint8_t at_seq[FORK_WIDTH][PL_ID_BYTES], before[FORK_WIDTH][PL_ID_BYTES];
    unsigned n_at, n_before;
    uint8_t sig[PL_SIG_BYTES];
    int sig_checked;
    int sig_bad;
} link_state;

/* 1 when prev names an entry at the sequence number before. */
static int links_to(const link_state *L, const uint8_t *prev)
{
    for (unsigned i = 0; i < L->n_at; i++)
        if (memcmp(L->at_seq[i], prev, PL_ID_BYTES) == 0)
            return 1;
    return 0;
}

/* 1 when prev names an entry at the sequence number before the last one (a fork's link). */
static int links_before(const link_state *L, const uint8_t *prev)
{
    for (unsigned i = 0; i < L->n_before; i++)
        if (memcmp(L->before[i], prev, PL_ID_BYTES) == 0)
            return 1;
    return 0;
}

/* Reports an entry whose link or id is wrong, pinpointing it by its own signature. */
static void broken(pl_verify_report *rep, const pl_header *h, const uint8_t *id,
                   const uint8_t *sig, const char *what)
{
    if (fmt_entry_verify(id, sig, h->feed) != 0)
        problem(rep, h->feed, h->seq, "the header was altered (its signature does not verify)");
    else
        problem(rep, h->feed, h->seq, "%s", what);
}

/* Every row in chain order: links, headers, index columns, body hashes, signatures. Each row
 * whose header decodes, but for the later ones at a forked place, goes to cb. */
static pl_status verify_walk(pl_vault *v, unsigned what, pl_verify_report *rep,
                             verify_row_cb cb, void *ctx, pl_err *err)
{
    sqlite3_stmt *q = NULL;
    int rc = sqlite3_prepare_v2(
        v->db,
        /* (feed, seq) is the order of the unique index on (feed, seq, id): no sort */
        "SELECT feed, seq, id, type, subject, time_ms, date, ref0, header, sig, wraps, body, n"
        " FROM entries ORDER BY feed, seq",
        -1, &q, NULL);
    if (rc != SQLITE_OK)
        return store_fail(v->db, rc, "reading entries", err);
    pl_header *h = malloc(sizeof *h);
    pl_org *org = calloc(1, sizeof *org);
    if (!h || !org) {
        free(h);
        free(org);
        sqlite3_finalize(q);
        return pl_fail(err, PL_E_NOMEM, "out of memory");
    }
    uint8_t org_id_bytes[PL_ID_BYTES];
    pl_err oerr;
    if (org_id(v, org_id_bytes, &oerr) == PL_E_NOTFOUND) {
        free(org);
        org = NULL;
    } else if (vault_org(v, org, &oerr) != PL_OK) {
        problem(rep, NULL, 0, "the organisation cannot be read: %s", oerr.msg);
        free(org);
        org = NULL;
    }
    pl_fork_resolution *res = NULL;
    size_t nres = 0;
    if (org && org_fork_resolutions(v, org, &res, &nres, &oerr) != PL_OK)
        problem(rep, NULL, 0, "the fork resolutions cannot be read: %s", oerr.msg);
    pl_erasure *erasures = NULL;
    size_t nerasures = 0;
    if (org && erasures_load(v, org, &erasures, &nerasures, &oerr) != PL_OK)
        problem(rep, NULL, 0, "the erasures cannot be read: %s", oerr.msg);
    uint8_t cur_feed[PL_SIGN_PK_BYTES];
    const pl_org_member *author = NULL; /* the member whose feed cur_feed is */
    pl_header last_h;
    int have_feed = 0;
    link_state L = {0};
    memset(&last_h, 0, sizeof last_h);

    for (;;) {
        rc = sqlite3_step(q);
        int row = rc == SQLITE_ROW;
        const uint8_t *feed = row ? sqlite3_column_blob(q, 0) : NULL;
        int new_feed = row && (!have_feed || sqlite3_column_bytes(q, 0) != PL_SIGN_PK_BYTES ||
                               sodium_memcmp(feed, cur_feed, PL_SIGN_PK_BYTES) != 0);
        /* Close the previous feed: its head's signature authenticates the chain. */
        if (have_feed && (!row || new_feed) && L.have_prev && !L.sig_checked) {
            rep->signatures_checked++;
            if (fmt_entry_verify(L.id, L.sig, cur_feed) != 0)
                problem(rep, cur_feed, L.seq, "the signature of the feed's last entry does not "
                                              "verify");
        }
        if (!row)
            break;
        if (new_feed) {
            if (sqlite3_column_bytes(q, 0) != PL_SIGN_PK_BYTES) {
                problem(rep, NULL, 0, "an entry row has a malformed feed id");
                have_feed = 0;
                continue;
            }
            memcpy(cur_feed, feed, PL_SIGN_PK_BYTES);
            have_feed = 1;
            author = org ? org_member(org, cur_feed) : NULL;
            rep->feeds++;
            memset(&L, 0, sizeof L);
            /* A vault outside an organisation holds one feed: its owner's. Any other feed
             * got here without an import that checked it. */
            if (!org && sodium_memcmp(cur_feed, v->id.sign_pk, PL_SIGN_PK_BYTES) != 0)
                problem(rep, cur_feed, 0, "entries of a feed that is not this vault's owner's "
                                          "(no import could have added them)");
        }
        rep->entries++;
        uint64_t seq = (uint64_t)sqlite3_column_int64(q, 1);
        const uint8_t *hdr = sqlite3_column_blob(q, 8), *sig = sqlite3_column_blob(q, 9);
        int hlen = sqlite3_column_bytes(q, 8);
        uint8_t id[PL_ID_BYTES];
        if (hlen <= 0 || fmt_header_decode(hdr, (size_t)hlen, h) != PL_FMT_OK) {
            problem(rep, cur_feed, seq, "the header cannot be read (damaged or altered)");
            L.have_prev = 0;
            continue;
        }
        if (sqlite3_column_bytes(q, 9) != PL_SIG_BYTES) {
            problem(rep, cur_feed, seq, "the signature is missing or malformed");
            L.have_prev = 0;
            continue;
        }
        fmt_entry_id(hdr, (size_t)hlen, id);
        int bad = 0, sig_bad = 0, fork = 0;
        /* In an organisation, each entry counts only if its author was a member whose roles
         * allow its type (formats/org.md). */
        char why[240];
        int same_feed = sodium_memcmp(h->feed, cur_feed, PL_SIGN_PK_BYTES) == 0;
        int counts = !org ? 0 : org_may_write_as(v, org, same_feed ? author
                                                                   : org_member(org, h->feed),
                                                 h, why, sizeof why);
        if (counts == -2)
            rep->not_counted++; /* arrived before its author's removal did: kept, not counted */
        else if (counts != 0)
            problem(rep, cur_feed, seq, "%s", why);

        /* The row's columns must say what the signed header says. */
        if (!same_feed || h->seq != seq) {
            broken(rep, h, id, sig, "the row is not where its header says it belongs");
            problem(rep, cur_feed, seq, "a different entry (feed seq %llu) stands in this place",
                    (unsigned long long)h->seq);
            bad = 1;
        } else if (sqlite3_column_bytes(q, 2) != PL_ID_BYTES ||
                   memcmp(sqlite3_column_blob(q, 2), id, PL_ID_BYTES) != 0) {
            problem(rep, cur_feed, seq, "the stored id does not match the header");
            bad = 1;
        } else {
            char date[PL_DATE_LEN + 1];
            const char *type = (const char *)sqlite3_column_text(q, 3);
            const char *subj = (const char *)sqlite3_column_text(q, 4);
            const char *cdate = (const char *)sqlite3_column_text(q, 6);
            feed_entry_date(h, date);
            int ref_ok = h->nrefs ? (sqlite3_column_bytes(q, 7) == PL_ID_BYTES &&
                                     !memcmp(sqlite3_column_blob(q, 7), h->refs[0], PL_ID_BYTES))
                                  : sqlite3_column_type(q, 7) == SQLITE_NULL;
            if (!type || strcmp(type, h->type) || (subj ? strcmp(subj, h->subject) : h->subject[0]) ||
                sqlite3_column_int64(q, 5) != h->time_ms || !cdate || strcmp(cdate, date) ||
                !ref_ok) {
                problem(rep, cur_feed, seq, "the row's index columns disagree with its header");
                bad = 1;
            }
        }
        /* Chain: sequence continuity and the link to the previous header. */
        if (h->seq == seq && same_feed) {
            if (!L.have_prev && L.seq == 0 && seq != 1) {
                problem(rep, cur_feed, 1, "entries 1 to %llu are missing",
                        (unsigned long long)seq - 1);
            } else if (L.seq && seq == L.seq) {
                /* A fork is an accusation against the feed's owner: only signed entries on
                 * both sides, each linked into the feed, make one. */
                rep->signatures_checked += 2;
                if (fmt_entry_verify(id, sig, cur_feed) != 0 ||
                    fmt_entry_verify(L.id, L.sig, cur_feed) != 0)
                    problem(rep, cur_feed, seq, "an entry at this sequence number was altered "
                                                "(its signature does not verify)");
                else if (seq > 1 && !links_before(&L, h->prev))
                    problem(rep, cur_feed, seq, "an entry at this sequence number links to "
                                                "nothing before it");
                else if (org_fork_resolved(v, res, nres, cur_feed, seq, id))
                    rep->forks_resolved++;
                else
                    problem(rep, cur_feed, seq, "two different signed entries have this "
                                                "sequence number (a fork: %02x%02x%02x%02x%02x%02x "
                                                "and %02x%02x%02x%02x%02x%02x): a coordinator "
                                                "keeps one with 'peerlog fork resolve'",
                            L.id[0], L.id[1], L.id[2], L.id[3], L.id[4], L.id[5], id[0], id[1],
                            id[2], id[3], id[4], id[5]);
                bad = fork = 1;
            } else if (L.seq && seq != L.seq + 1) {
                problem(rep, cur_feed, L.seq + 1, "entries %llu to %llu are missing",
                        (unsigned long long)L.seq + 1, (unsigned long long)seq - 1);
            } else if (L.have_prev && !links_to(&L, h->prev)) {
                /* Which side changed? An altered header no longer matches its signature. */
                if (L.sig_checked && L.sig_bad)
                    ; /* the previous entry's bad signature is reported already */
                else if (!L.sig_checked && fmt_entry_verify(L.id, L.sig, cur_feed) != 0)
                    problem(rep, cur_feed, L.seq, "the header was altered (its signature does "
                                                  "not verify)");
                else
                    broken(rep, h, id, sig, "the link to the previous entry is broken");
                rep->signatures_checked++;
                bad = 1;
            }
        }
        if (what & VERIFY_EVERY_SIG) {
            rep->signatures_checked++;
            if (fmt_entry_verify(id, sig, cur_feed) != 0) {
                problem(rep, cur_feed, seq, "the signature does not verify");
                bad = sig_bad = 1;
            }
        }
        /* Body: present bodies must hash to what the header promises. */
        if (sqlite3_column_type(q, 11) == SQLITE_NULL) {
            /* Only an erasure that counts may take a body (formats/erasure.md). */
            const pl_erasure *by = erasure_covering(erasures, nerasures, h, id);
            rep->bodies_erased++;
            if (!by)
                problem(rep, cur_feed, seq, "the body was removed without an erasure entry");
            else
                erasures[by - erasures].bodies++;
        } else {
            const uint8_t *body = sqlite3_column_blob(q, 11);
            size_t blen = (size_t)sqlite3_column_bytes(q, 11);
            if (erasure_covering(erasures, nerasures, h, id))
                problem(rep, cur_feed, seq, "the body is still here although an erasure covers "
                                            "it");
            uint8_t hash[PL_HASH_BYTES];
            rep->bodies_checked++;
            if (blen != h->body_len) {
                problem(rep, cur_feed, seq, "the body's length does not match its header");
            } else {
                fmt_body_hash(body, blen, hash);
                if (sodium_memcmp(hash, h->body_hash, PL_HASH_BYTES) != 0)
                    problem(rep, cur_feed, seq, "the body does not match its header's hash");
            }
        }
        if ((size_t)sqlite3_column_bytes(q, 10) != (size_t)h->nrcpt * PL_WRAP_BYTES)
            problem(rep, cur_feed, seq, "the key wraps do not match the recipients");
        else if ((what & VERIFY_WRAPS) && feed_wraps_check(v, h, sqlite3_column_blob(q, 10)) != PL_OK)
            problem(rep, cur_feed, seq, "a key wrap does not open: the body can no longer be "
                                        "read");
        /* The rows that passed go to the caller (a fork's branches too: each is signed and
         * linked, and the fork is a problem of its own). */
        if (cb && cb(ctx, h, id, sqlite3_column_int64(q, 12), counts, !bad || fork) != 0) {
            free(erasures);
            free(h);
            free(org);
            free(res);
            sqlite3_finalize(q);
            return pl_fail(err, PL_E_NOMEM, "out of memory");
        }
        L.have_prev = !bad || h->seq == seq;
        if (seq != L.seq) { /* the ids at the last seq become the ones before */
            memcpy(L.before, L.at_seq, sizeof L.before);
            L.n_before = L.n_at;
            L.n_at = 0;
        }
        if (L.n_at < FORK_WIDTH)
            memcpy(L.at_seq[L.n_at++], id, PL_ID_BYTES);
        L.seq = seq;
        memcpy(L.id, id, PL_ID_BYTES);
        memcpy(L.sig, sig, PL_SIG_BYTES);
        L.sig_checked = (what & VERIFY_EVERY_SIG) != 0;
        L.sig_bad = sig_bad;
    }
    for (size_t i = 0; i < nerasures; i++) {
        if (i < PL_VERIFY_ERASURES_MAX)
            rep->erasure[i] = erasures[i];
        rep->nerasures++;
    }
    free(erasures);
    free(h);
    free(org);
    free(res);
    sqlite3_finalize(q);
    if (rc != SQLITE_DONE)
        return store_fail(v->db, rc, "reading entries", err);
    return PL_OK;
}

/* The page cache during a verify: large enough for the whole file (up to this cap), so that
 * the walk after quick_check reuses the pages quick_check has just authenticated instead of
 * reading and decrypting each one a second time. */
#define VERIFY_CACHE_MAX_KIB (64 * 1024)

/* 0 with the pragma's value in *x, -1 when it cannot be read. */
static int pragma_int(sqlite3 *db, const char *sql, sqlite3_int64 *x)
{
    sqlite3_stmt *q = NULL;
    int ok = sqlite3_prepare_v2(db, sql, -1, &q, NULL) == SQLITE_OK &&
             sqlite3_step(q) == SQLITE_ROW;
    if (ok)
        *x = sqlite3_column_int64(q, 0);
    sqlite3_finalize(q);
    return ok ? 0 : -1;
}

static void set_cache_size(sqlite3 *db, sqlite3_int64 size)
{
    char sql[64];
    snprintf(sql, sizeof sql, "PRAGMA cache_size = %lld", (long long)size);
    sqlite3_exec(db, sql, NULL, NULL, NULL); /* only a speed hint; failure changes nothing */
}

pl_status verify_run(pl_vault *v, unsigned what, pl_verify_report *rep,
                     verify_row_cb cb, void *ctx, pl_err *err)
{
    pl_status st;
    memset(rep, 0, sizeof *rep);
    /* One read transaction: the pages quick_check authenticates are the rows walked. */
    int own_txn = sqlite3_get_autocommit(v->db);
    if (own_txn && (st = store_exec(v->db, "BEGIN", err)) != PL_OK)
        return st;
    /* Drop pages cached before this verify, so that every page is read from the file and its
     * HMAC checked now; then let the cache hold the whole file for the walk. */
    sqlite3_db_release_memory(v->db);
    sqlite3_int64 old_cache = 0, page_size = 0, pages = 0;
    int raised = 0;
    /* Only worth it when the page check has read every page first. */
    if ((what & VERIFY_PAGES) && pragma_int(v->db, "PRAGMA cache_size", &old_cache) == 0 &&
        pragma_int(v->db, "PRAGMA page_size", &page_size) == 0 &&
        pragma_int(v->db, "PRAGMA page_count", &pages) == 0 && page_size >= 1024 && pages > 0) {
        sqlite3_int64 want_kib = pages * (page_size / 1024) + 1024;
        sqlite3_int64 old_kib = old_cache < 0 ? -old_cache : old_cache * (page_size / 1024);
        if (want_kib > VERIFY_CACHE_MAX_KIB)
            want_kib = VERIFY_CACHE_MAX_KIB;
        if ((raised = want_kib > old_kib))
            set_cache_size(v->db, -want_kib);
    }

    st = (what & VERIFY_PAGES) ? check_pages(v, rep, err) : PL_OK;
    if (st == PL_OK && rep->nproblems && own_txn) {
        /* A page that failed its HMAC leaves this read transaction in an error state; walk
         * in a fresh one so the rows still say what and where, as they would on their own. */
        if (sqlite3_exec(v->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK)
            sqlite3_exec(v->db, "ROLLBACK", NULL, NULL, NULL);
        st = store_exec(v->db, "BEGIN", err);
        own_txn = st == PL_OK;
    }
    if (st == PL_OK)
        st = verify_walk(v, what, rep, cb, ctx, err);

    if (raised)
        set_cache_size(v->db, old_cache);
    if (own_txn && sqlite3_exec(v->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK)
        sqlite3_exec(v->db, "ROLLBACK", NULL, NULL, NULL); /* read-only: nothing to lose */
    sqlite3_db_release_memory(v->db); /* frees the decrypted pages this verify cached */
    return st;
}

pl_status vault_verify(pl_vault *v, int every_sig, pl_verify_report *rep, pl_err *err)
{
    pl_status st = verify_run(v, VERIFY_PAGES | VERIFY_WRAPS | (every_sig ? VERIFY_EVERY_SIG : 0u),
                              rep, NULL, NULL, err);
    if (st != PL_OK)
        return st;
    if (rep->nproblems)
        return pl_fail(err, PL_E_INTEGRITY, "verification failed: %zu problem%s found",
                       rep->nproblems, rep->nproblems == 1 ? "" : "s");
    return PL_OK;
}
