/* Checkpoints (formats/checkpoint.md): an auditor signs every feed's head; later, any vault
 * of the organisation shows it still holds each of those entries. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "formats/checkpoint.h"
#include "vault/internal.h"

static void cp_problem(pl_checkpoint_report *rep, const uint8_t *feed, uint64_t seq,
                       const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static void cp_problem(pl_checkpoint_report *rep, const uint8_t *feed, uint64_t seq,
                       const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    problem_vadd(rep->problem, &rep->nproblems, feed, seq, fmt, ap);
    va_end(ap);
}

/* The organisation, and this vault's owner as a current auditor (for signing) or member. */
static pl_status org_and_me(pl_vault *v, pl_org *o, unsigned need_roles, pl_err *err)
{
    pl_status st = vault_org(v, o, err);
    if (st == PL_E_NOTFOUND)
        return pl_fail(err, PL_E_NOTFOUND, "this vault belongs to no organisation: checkpoints "
                                           "are an organisation's");
    if (st != PL_OK)
        return st;
    const pl_org_member *me = org_member(o, v->id.sign_pk);
    if (!me || me->removed || (need_roles && !(me->roles & need_roles)))
        return pl_fail(err, PL_E_ACCESS, need_roles ? "only an auditor signs checkpoints"
                                                    : "this vault's owner is not a current "
                                                      "member of the organisation");
    return PL_OK;
}

/* The id the header stored at (feed, seq) hashes to, for each row there (more than one where
 * the feed forked); *n receives how many. */
static pl_status ids_at(pl_vault *v, sqlite3_stmt *q, const uint8_t *feed, uint64_t seq,
                        uint8_t ids[4][PL_ID_BYTES], unsigned *n, pl_err *err)
{
    *n = 0;
    sqlite3_reset(q);
    sqlite3_bind_blob(q, 1, feed, PL_SIGN_PK_BYTES, SQLITE_STATIC);
    sqlite3_bind_int64(q, 2, (sqlite3_int64)seq);
    int rc;
    while ((rc = sqlite3_step(q)) == SQLITE_ROW)
        if (*n < 4 && sqlite3_column_bytes(q, 0) > 0)
            fmt_entry_id(sqlite3_column_blob(q, 0), (size_t)sqlite3_column_bytes(q, 0),
                         ids[(*n)++]);
    if (rc != SQLITE_DONE)
        return store_fail(v->db, rc, "reading entries", err);
    return PL_OK;
}

pl_status vault_checkpoint_sign(pl_vault *v, char **out, size_t *len, size_t *nfeeds,
                                pl_err *err)
{
    *out = NULL;
    pl_org *o = calloc(1, sizeof *o);
    pl_checkpoint_feed *feeds = calloc(PL_CHECKPOINT_FEEDS_MAX, sizeof *feeds);
    size_t cap = PL_CHECKPOINT_MAX;
    char *buf = malloc(cap);
    sqlite3_stmt *q = NULL, *at = NULL;
    pl_status st = PL_OK;
    if (!o || !feeds || !buf) {
        st = pl_fail(err, PL_E_NOMEM, "out of memory");
        goto out;
    }
    if ((st = org_and_me(v, o, PL_ROLE_AUDITOR, err)) != PL_OK)
        goto out;
    pl_checkpoint c = {0};
    c.feeds = feeds;
    memcpy(c.org, o->fingerprint, sizeof c.org);
    memcpy(c.signer, v->id.fingerprint, sizeof c.signer);
    /* One read transaction: the heads are one moment's. */
    if ((st = store_exec(v->db, "BEGIN", err)) != PL_OK)
        goto out;
    int rc = sqlite3_prepare_v2(v->db, "SELECT feed, max(seq) FROM entries GROUP BY feed"
                                       " ORDER BY feed", -1, &q, NULL);
    if (rc == SQLITE_OK)
        rc = sqlite3_prepare_v2(v->db, "SELECT header FROM entries WHERE feed = ? AND seq = ?"
                                       " ORDER BY n", -1, &at, NULL);
    while (rc == SQLITE_OK && (rc = sqlite3_step(q)) == SQLITE_ROW) {
        if (sqlite3_column_bytes(q, 0) != PL_SIGN_PK_BYTES) {
            st = pl_fail(err, PL_E_INTEGRITY, "an entry row has a malformed feed id; run "
                                              "'peerlog verify'");
            break;
        }
        if (c.nfeeds == PL_CHECKPOINT_FEEDS_MAX) {
            st = pl_fail(err, PL_E_INVALID, "more than %u feeds: too many for one checkpoint",
                         PL_CHECKPOINT_FEEDS_MAX);
            break;
        }
        pl_checkpoint_feed *f = &feeds[c.nfeeds];
        memcpy(f->feed, sqlite3_column_blob(q, 0), PL_SIGN_PK_BYTES);
        f->seq = (uint64_t)sqlite3_column_int64(q, 1);
        uint8_t ids[4][PL_ID_BYTES];
        unsigned n = 0;
        if ((st = ids_at(v, at, f->feed, f->seq, ids, &n, err)) != PL_OK)
            break;
        if (n == 0 || f->seq == 0) {
            st = pl_fail(err, PL_E_INTEGRITY, "a feed's newest entry cannot be read; run "
                                              "'peerlog verify'");
            break;
        }
        memcpy(f->head, ids[0], PL_ID_BYTES); /* where a head forked: the first to arrive */
        c.nfeeds++;
        rc = SQLITE_OK;
    }
    if (st == PL_OK && rc != SQLITE_DONE)
        st = store_fail(v->db, rc, "reading feeds", err);
    sqlite3_finalize(q);
    sqlite3_finalize(at);
    q = at = NULL;
    if (sqlite3_exec(v->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK)
        sqlite3_exec(v->db, "ROLLBACK", NULL, NULL, NULL); /* read-only */
    if (st != PL_OK)
        goto out;
    size_t text_len = 0;
    char name[sizeof PL_CHECKPOINT_KEY_NAME + PL_CHECKPOINT_FP_HEX];
    snprintf(name, sizeof name, PL_CHECKPOINT_KEY_NAME "%s", c.signer);
    fmt_checkpoint_keyhash(name, v->id.sign_pk, c.keyhash);
    if (fmt_checkpoint_text(&c, buf, cap, &text_len) != PL_FMT_OK) {
        st = pl_fail(err, PL_E_INVALID, "the checkpoint cannot be written");
        goto out;
    }
    crypto_sign_detached(c.sig, NULL, (const uint8_t *)buf, text_len, v->sec->sign_sk);
    if (crypto_sign_verify_detached(c.sig, (const uint8_t *)buf, text_len, v->id.sign_pk) != 0) {
        st = pl_fail(err, PL_E_INTEGRITY, "the checkpoint's signature failed its own check; "
                                          "nothing was written");
        goto out;
    }
    if (fmt_checkpoint_sign_line(&c, buf, cap, text_len, len) != PL_FMT_OK) {
        st = pl_fail(err, PL_E_INVALID, "the checkpoint cannot be written");
        goto out;
    }
    *nfeeds = c.nfeeds;
    *out = buf;
    buf = NULL;
out:
    sqlite3_finalize(q);
    sqlite3_finalize(at);
    free(buf);
    free(feeds);
    free(o);
    return st;
}

pl_status vault_checkpoint_verify(pl_vault *v, const char *in, size_t n,
                                  pl_checkpoint_report *rep, pl_err *err)
{
    memset(rep, 0, sizeof *rep);
    pl_org *o = calloc(1, sizeof *o);
    pl_checkpoint_feed *feeds = calloc(PL_CHECKPOINT_FEEDS_MAX, sizeof *feeds);
    sqlite3_stmt *at = NULL;
    pl_status st = PL_OK;
    pl_checkpoint c;
    if (!o || !feeds) {
        st = pl_fail(err, PL_E_NOMEM, "out of memory");
        goto out;
    }
    if ((st = org_and_me(v, o, 0, err)) != PL_OK)
        goto out;
    pl_fmt_status fs = fmt_checkpoint_decode(in, n, &c, feeds);
    if (fs != PL_FMT_OK) {
        st = pl_fail(err, PL_E_INVALID, "this is not a peerlog checkpoint, or it is damaged "
                                        "(%s)", fmt_status_str(fs));
        goto out;
    }
    if (strcmp(c.org, o->fingerprint) != 0) {
        st = pl_fail(err, PL_E_INVALID, "this checkpoint is of another organisation (%.8s…, "
                                        "this vault's is %.8s…)", c.org, o->fingerprint);
        goto out;
    }
    /* The signer: a current auditor, the first whose line verifies (lines of other keys were
     * skipped by the decoder). A removed auditor's key could sign a checkpoint of any history
     * after the removal, and nothing in the note dates it; a checkpoint signed by an auditor
     * who has left since is signed again by a current one (formats/checkpoint.md §7). */
    const pl_org_member *m = NULL;
    for (size_t i = 0; i < c.ncand && !m; i++) {
        const pl_org_member *who = pl_org_find(o, c.cand[i].signer);
        char name[sizeof PL_CHECKPOINT_KEY_NAME + PL_CHECKPOINT_FP_HEX];
        uint8_t kh[PL_CHECKPOINT_KEYHASH];
        snprintf(name, sizeof name, PL_CHECKPOINT_KEY_NAME "%s", c.cand[i].signer);
        if (!who || !(who->roles & PL_ROLE_AUDITOR)) {
            if (i == 0)
                pl_fail(err, PL_E_INTEGRITY, "the checkpoint is signed by %.8s…, who is not an "
                                             "auditor of this organisation", c.cand[i].signer);
            continue;
        }
        if (who->removed) {
            if (i == 0)
                pl_fail(err, PL_E_INTEGRITY, "the checkpoint is signed by %.8s…, who is no "
                                             "longer an auditor of this organisation; ask a "
                                             "current auditor to sign a new one",
                        c.cand[i].signer);
            continue;
        }
        fmt_checkpoint_keyhash(name, who->id.sign_pk, kh);
        if (sodium_memcmp(kh, c.cand[i].keyhash, sizeof kh) != 0 ||
            crypto_sign_verify_detached(c.cand[i].sig, (const uint8_t *)in, c.text_len,
                                        who->id.sign_pk) != 0) {
            if (i == 0)
                pl_fail(err, PL_E_INTEGRITY, "the checkpoint's signature does not verify: it "
                                             "was altered after the auditor signed it");
            continue;
        }
        m = who;
        memcpy(c.signer, c.cand[i].signer, sizeof c.signer);
    }
    if (!m) {
        st = PL_E_INTEGRITY; /* err holds the first line's reason */
        goto out;
    }
    memcpy(rep->signer, c.signer, sizeof rep->signer);
    snprintf(rep->signer_name, sizeof rep->signer_name, "%s", m->id.name);
    rep->feeds = c.nfeeds;
    int rc = sqlite3_prepare_v2(v->db, "SELECT header FROM entries WHERE feed = ? AND seq = ?"
                                       " ORDER BY n", -1, &at, NULL);
    if (rc != SQLITE_OK) {
        st = store_fail(v->db, rc, "reading entries", err);
        goto out;
    }
    for (size_t i = 0; i < c.nfeeds && st == PL_OK; i++) {
        const pl_checkpoint_feed *f = &feeds[i];
        uint8_t ids[4][PL_ID_BYTES];
        unsigned k = 0, found = 0;
        if ((st = ids_at(v, at, f->feed, f->seq, ids, &k, err)) != PL_OK)
            break;
        for (unsigned j = 0; j < k; j++)
            found |= sodium_memcmp(ids[j], f->head, PL_ID_BYTES) == 0;
        if (found) {
            rep->matched++;
            continue;
        }
        const pl_org_member *who = org_member(o, f->feed);
        char fp[24];
        if (who)
            snprintf(fp, sizeof fp, "%.8s…", who->id.fingerprint);
        else
            snprintf(fp, sizeof fp, "a non-member");
        uint64_t head = feed_head_seq(v, f->feed);
        if (k)
            cp_problem(rep, f->feed, f->seq, "feed of %s was rewritten: entry %llu is not the "
                       "one the checkpoint recorded", fp, (unsigned long long)f->seq);
        else if (head == 0)
            cp_problem(rep, f->feed, f->seq, "feed of %s is missing: the checkpoint recorded "
                       "%llu entries", fp, (unsigned long long)f->seq);
        else if (head < f->seq)
            cp_problem(rep, f->feed, f->seq, "feed of %s was rolled back: it ends at entry "
                       "%llu, the checkpoint recorded %llu", fp, (unsigned long long)head,
                       (unsigned long long)f->seq);
        else
            cp_problem(rep, f->feed, f->seq, "feed of %s lost entry %llu, which the checkpoint "
                       "recorded", fp, (unsigned long long)f->seq);
    }
out:
    sqlite3_finalize(at);
    free(feeds);
    free(o);
    return st;
}
