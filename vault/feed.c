/* The owner's feed: appending signed entries, reading them back, opening bodies. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "formats/meta.h"
#include "vault/internal.h"

void pl_date_of_ms(int64_t ms, char out[PL_DATE_LEN + 1])
{
    time_t t = (time_t)(ms / 1000);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(out, PL_DATE_LEN + 1, "%Y-%m-%d", &tm);
}

void pl_today(char out[PL_DATE_LEN + 1])
{
    time_t t = time(NULL);
    struct tm tm;
    localtime_r(&t, &tm);
    strftime(out, PL_DATE_LEN + 1, "%Y-%m-%d", &tm);
}

void feed_entry_date(const pl_header *h, char out[PL_DATE_LEN + 1])
{
    if (fmt_meta_get(h->meta, h->meta_len, "date", out, PL_DATE_LEN + 1) == 0 &&
        fmt_date_valid(out))
        return;
    pl_date_of_ms(h->time_ms, out);
}

void pl_entry_date(const pl_header *h, char out[PL_DATE_LEN + 1])
{
    feed_entry_date(h, out);
}

int64_t pl_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The crypto_box shared key of this vault's secret key `who` (0: its own box key, j + 1:
 * held key j) with peer, from a small cache: imports open many wraps between the same
 * pairs, and each computation is a scalar multiplication. */
pl_status feed_shared_key_as(pl_vault *v, unsigned who, const uint8_t peer[PL_BOX_PK_BYTES],
                             const uint8_t **shared)
{
    pl_vault_secrets *s = v->sec;
    if (who > s->nheld)
        return PL_E_INTEGRITY;
    for (unsigned i = 0; i < s->nshared; i++)
        if (s->shared_who[i] == who && sodium_memcmp(s->shared_pk[i], peer, PL_BOX_PK_BYTES) == 0) {
            *shared = s->shared[i];
            return PL_OK;
        }
    unsigned slot = s->nshared < PL_SHARED_CACHE ? s->nshared : s->shared_next++ % PL_SHARED_CACHE;
    const uint8_t *sk = who ? s->held_sk[who - 1] : s->box_sk;
    if (crypto_box_beforenm(s->shared[slot], peer, sk) != 0) {
        sodium_memzero(s->shared[slot], PL_KEY_BYTES);
        /* a low-order public key: the slot now holds nothing usable */
        memset(s->shared_pk[slot], 0, PL_BOX_PK_BYTES);
        s->shared_who[slot] = UINT8_MAX; /* matches no key; a fresh slot stays uncounted */
        return PL_E_INTEGRITY;
    }
    if (slot == s->nshared)
        s->nshared++;
    memcpy(s->shared_pk[slot], peer, PL_BOX_PK_BYTES);
    s->shared_who[slot] = (uint8_t)who;
    *shared = s->shared[slot];
    return PL_OK;
}

pl_status feed_shared_key(pl_vault *v, const uint8_t peer[PL_BOX_PK_BYTES], const uint8_t **shared)
{
    return feed_shared_key_as(v, 0, peer, shared);
}

pl_status vault_begin(pl_vault *v, pl_err *err)
{
    if (v->in_txn)
        return pl_fail(err, PL_E_INVALID, "a transaction is already open");
    pl_status st = store_exec(v->db, "BEGIN IMMEDIATE", err);
    if (st == PL_OK) {
        v->in_txn = 1;
        v->pending_sig = 0;
    }
    return st;
}

void vault_rollback(pl_vault *v)
{
    if (v->in_txn)
        sqlite3_exec(v->db, "ROLLBACK", NULL, NULL, NULL);
    v->in_txn = 0;
    v->pending_sig = 0;
    v->erased_pending = 0;
}

pl_status vault_commit(pl_vault *v, pl_err *err)
{
    if (!v->in_txn)
        return pl_fail(err, PL_E_INVALID, "no transaction is open");
    /* Verify what we made: the head's signature covers the chain written in this
     * transaction, so checking it once guards every entry before it. */
    if (v->pending_sig && fmt_entry_verify(v->last_id, v->last_sig, v->id.sign_pk) != 0) {
        vault_rollback(v);
        return pl_fail(err, PL_E_INTEGRITY, "a signature just made does not verify; nothing "
                                            "was written");
    }
    pl_status st = store_exec(v->db, "COMMIT", err);
    if (st != PL_OK)
        vault_rollback(v);
    v->in_txn = 0;
    v->pending_sig = 0;
    /* Erased bodies: their old pages must not stay in the WAL (secure_delete has zeroed
     * them in the pages written now). */
    if (st == PL_OK && v->erased_pending)
        vault_scrub_wal(v);
    v->erased_pending = 0;
    return st;
}

int vault_scrub_wal(pl_vault *v)
{
    int log = -1, done = -1;
    /* Readers of an older snapshot hold it back: wait for them a little, not the 30 s a
     * write waits. */
    sqlite3_busy_timeout(v->db, 2000);
    int rc = sqlite3_wal_checkpoint_v2(v->db, NULL, SQLITE_CHECKPOINT_TRUNCATE, &log, &done);
    sqlite3_busy_timeout(v->db, PL_BUSY_TIMEOUT_MS);
    if (rc != SQLITE_OK || log != done)
        return 0; /* a reader holds old frames: the mark stays, the next open tries again */
    /* Done: the mark goes (the frame that removes it holds no body), and that frame too. */
    if (sqlite3_exec(v->db, "DELETE FROM vault_meta WHERE k = 'wal_scrub'", NULL, NULL, NULL) !=
        SQLITE_OK)
        return 0;
    return sqlite3_wal_checkpoint_v2(v->db, NULL, SQLITE_CHECKPOINT_TRUNCATE, NULL, NULL) ==
           SQLITE_OK;
}

static pl_status prepare(pl_vault *v, sqlite3_stmt **st, const char *sql, pl_err *err)
{
    if (*st) {
        sqlite3_reset(*st);
        sqlite3_clear_bindings(*st);
        return PL_OK;
    }
    int rc = sqlite3_prepare_v2(v->db, sql, -1, st, NULL);
    if (rc != SQLITE_OK)
        return store_fail(v->db, rc, "preparing a statement", err);
    return PL_OK;
}

pl_status feed_insert(pl_vault *v, const pl_header *h, const uint8_t id[PL_ID_BYTES],
                      const uint8_t *hdr, size_t hlen, const uint8_t sig[PL_SIG_BYTES],
                      const uint8_t *wraps, const uint8_t *body, pl_err *err)
{
    char date[PL_DATE_LEN + 1];
    pl_status st;
    feed_entry_date(h, date);
    if ((st = prepare(v, &v->st_insert,
                      "INSERT INTO entries(feed, seq, id, type, subject, time_ms, date, ref0,"
                      " header, sig, wraps, body) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
                      err)) != PL_OK)
        return st;
    sqlite3_stmt *q = v->st_insert;
    sqlite3_bind_blob(q, 1, h->feed, PL_SIGN_PK_BYTES, SQLITE_STATIC);
    sqlite3_bind_int64(q, 2, (sqlite3_int64)h->seq);
    sqlite3_bind_blob(q, 3, id, PL_ID_BYTES, SQLITE_STATIC);
    sqlite3_bind_text(q, 4, h->type, -1, SQLITE_STATIC);
    if (h->subject[0])
        sqlite3_bind_text(q, 5, h->subject, -1, SQLITE_STATIC);
    sqlite3_bind_int64(q, 6, h->time_ms);
    sqlite3_bind_text(q, 7, date, -1, SQLITE_TRANSIENT);
    if (h->nrefs)
        sqlite3_bind_blob(q, 8, h->refs[0], PL_ID_BYTES, SQLITE_STATIC);
    sqlite3_bind_blob(q, 9, hdr, (int)hlen, SQLITE_STATIC);
    sqlite3_bind_blob(q, 10, sig, PL_SIG_BYTES, SQLITE_STATIC);
    sqlite3_bind_blob(q, 11, wraps, (int)((size_t)h->nrcpt * PL_WRAP_BYTES), SQLITE_STATIC);
    if (body)
        sqlite3_bind_blob(q, 12, body, (int)h->body_len, SQLITE_STATIC);
    int rc = sqlite3_step(q);
    sqlite3_reset(q);
    sqlite3_clear_bindings(q);
    if (rc != SQLITE_DONE)
        return store_fail(v->db, rc, "writing the entry", err);
    return PL_OK;
}

uint64_t feed_head_seq(pl_vault *v, const uint8_t *feed)
{
    sqlite3_stmt *q = NULL;
    uint64_t head = 0;
    if (sqlite3_prepare_v2(v->db, "SELECT max(seq) FROM entries WHERE feed = ?", -1, &q, NULL) ==
        SQLITE_OK) {
        sqlite3_bind_blob(q, 1, feed, PL_SIGN_PK_BYTES, SQLITE_STATIC);
        if (sqlite3_step(q) == SQLITE_ROW)
            head = (uint64_t)sqlite3_column_int64(q, 0);
    }
    sqlite3_finalize(q);
    return head;
}

static pl_status append_in_txn(pl_vault *v, const pl_append_req *req, pl_entry *out, pl_err *err)
{
    if (v->restored)
        return pl_fail(err, PL_E_INVALID, "this vault was restored from a backup: run 'peerlog "
                                          "sync DIR' with the shared folder first, so that it "
                                          "does not reuse places in its feed it used after the "
                                          "backup; nothing was written");
    pl_status st;
    pl_header *h = &out->h;
    uint8_t hdr[PL_HEADER_MAX];
    size_t hlen;
    int rc;

    memset(out, 0, sizeof *out);
    if (req->nrcpt > PL_RCPT_EXTRA_MAX)
        return pl_fail(err, PL_E_INVALID, "too many recipients (at most %u)",
                       PL_RCPT_EXTRA_MAX);
    /* Each recipient once, and never the author again (the author's wrap comes first). */
    for (size_t i = 0; i < req->nrcpt; i++) {
        if (sodium_memcmp(req->rcpt[i], v->id.box_pk, PL_BOX_PK_BYTES) == 0)
            return pl_fail(err, PL_E_INVALID, "the author is always a recipient; do not list "
                                              "them again");
        for (size_t j = 0; j < i; j++)
            if (sodium_memcmp(req->rcpt[i], req->rcpt[j], PL_BOX_PK_BYTES) == 0)
                return pl_fail(err, PL_E_INVALID, "a recipient is listed twice");
    }
    if ((st = prepare(v, &v->st_head,
                      "SELECT seq, id FROM entries WHERE feed = ? ORDER BY seq DESC LIMIT 1",
                      err)) != PL_OK)
        return st;
    sqlite3_bind_blob(v->st_head, 1, v->id.sign_pk, PL_SIGN_PK_BYTES, SQLITE_STATIC);
    rc = sqlite3_step(v->st_head);
    h->seq = 1;
    if (rc == SQLITE_ROW) {
        if (sqlite3_column_bytes(v->st_head, 1) != PL_ID_BYTES)
            return pl_fail(err, PL_E_INTEGRITY, "the head of this feed is damaged");
        h->seq = (uint64_t)sqlite3_column_int64(v->st_head, 0) + 1;
        memcpy(h->prev, sqlite3_column_blob(v->st_head, 1), PL_ID_BYTES);
    } else if (rc != SQLITE_DONE) {
        return store_fail(v->db, rc, "reading the head of the feed", err);
    }
    sqlite3_reset(v->st_head);

    h->version = PL_HEADER_VERSION;
    if (!req->type || strlen(req->type) > PL_TYPE_MAX ||
        (req->subject && strlen(req->subject) > PL_SUBJECT_MAX) ||
        strlen(req->meta ? req->meta : "") > PL_META_MAX || req->nrefs > PL_REFS_MAX)
        return pl_fail(err, PL_E_INVALID, "entry fields out of range");
    snprintf(h->type, sizeof h->type, "%s", req->type);
    snprintf(h->subject, sizeof h->subject, "%s", req->subject ? req->subject : "");
    memcpy(h->feed, v->id.sign_pk, PL_SIGN_PK_BYTES);
    h->time_ms = req->time_ms ? req->time_ms : pl_now_ms();
    h->nrefs = req->nrefs;
    if (req->nrefs)
        memcpy(h->refs, req->refs, (size_t)req->nrefs * PL_ID_BYTES);
    snprintf(h->meta, sizeof h->meta, "%s", req->meta ? req->meta : "");
    h->meta_len = (uint16_t)strlen(h->meta);
    memcpy(h->box_pk, v->id.box_pk, PL_BOX_PK_BYTES);
    h->nrcpt = (uint8_t)(1u + req->nrcpt);
    memcpy(h->rcpt[0], v->id.box_pk, PL_BOX_PK_BYTES);
    if (req->nrcpt)
        memcpy(h->rcpt[1], req->rcpt, (size_t)req->nrcpt * PL_BOX_PK_BYTES);
    if (req->body_len > PL_BODY_PLAIN_MAX)
        return pl_fail(err, PL_E_INVALID, "the record is larger than %u bytes", PL_BODY_PLAIN_MAX);
    h->body_len = (uint32_t)(req->body_len + PL_BODY_OVERHEAD);

    /* Encrypt under a fresh key, wrapped to each recipient: the author first. */
    uint8_t *body = malloc(h->body_len);
    size_t nwrap = (size_t)h->nrcpt * PL_WRAP_BYTES;
    uint8_t *wrap = malloc(nwrap);
    uint8_t *rnd = v->sec->append_rnd, *key = rnd;
    const uint8_t *body_nonce = rnd + PL_KEY_BYTES;
    const uint8_t *wrap_nonce = body_nonce + PL_BODY_NONCE_BYTES;
    const uint8_t *shared;
    if (!body || !wrap) {
        free(body);
        free(wrap);
        return pl_fail(err, PL_E_NOMEM, "out of memory");
    }
    randombytes_buf(rnd, sizeof v->sec->append_rnd);
    st = PL_OK;
    if (fmt_body_seal_nonce(key, h->feed, h->seq, body_nonce, req->body, req->body_len, body) !=
        PL_FMT_OK)
        st = pl_fail(err, PL_E_INVALID, "the record is too large");
    for (size_t i = 0; st == PL_OK && i < h->nrcpt; i++) {
        if (feed_shared_key(v, h->rcpt[i], &shared) != PL_OK) {
            st = pl_fail(err, PL_E_INVALID, "recipient %zu's key is not a usable public key", i);
            break;
        }
        if (i == 0) /* the drawn wrap nonce; the others fresh (same key, distinct pairs) */
            fmt_wrap_seal_nonce(shared, key, wrap_nonce, wrap);
        else
            fmt_wrap_seal(shared, key, wrap + i * PL_WRAP_BYTES);
    }
    sodium_memzero(rnd, sizeof v->sec->append_rnd);
    if (st != PL_OK) {
        free(body);
        free(wrap);
        return st;
    }
    fmt_body_hash(body, h->body_len, h->body_hash);
    pl_fmt_status fs = fmt_header_encode(h, hdr, sizeof hdr, &hlen);
    if (fs != PL_FMT_OK) {
        free(body);
        free(wrap);
        return pl_fail(err, PL_E_INVALID, "the entry header is invalid: %s", fmt_status_str(fs));
    }
    fmt_entry_id(hdr, hlen, out->id);
    fmt_entry_sign(out->id, v->sec->sign_sk, out->sig);

    st = feed_insert(v, h, out->id, hdr, hlen, out->sig, wrap, body, err);
    free(body);
    free(wrap);
    if (st != PL_OK)
        return st;
    memcpy(v->last_id, out->id, PL_ID_BYTES);
    memcpy(v->last_sig, out->sig, PL_SIG_BYTES);
    v->pending_sig = 1;
    out->body = PL_BODY_PRESENT;
    return PL_OK;
}

pl_status vault_append(pl_vault *v, const pl_append_req *req, pl_entry *out, pl_err *err)
{
    pl_status st;
    if (v->in_txn)
        return append_in_txn(v, req, out, err);
    if ((st = vault_begin(v, err)) != PL_OK)
        return st;
    if ((st = append_in_txn(v, req, out, err)) != PL_OK) {
        vault_rollback(v);
        return st;
    }
    return vault_commit(v, err);
}

/* ---- reading ------------------------------------------------------------------------ */

#define ENTRY_COLS ENTRY_COLS_PUBLIC

/* Fills e from the ENTRY_COLS columns starting at col. */
pl_status feed_row_entry(sqlite3_stmt *st, int col, pl_entry *e, pl_err *err)
{
    const uint8_t *hdr = sqlite3_column_blob(st, col);
    int hlen = sqlite3_column_bytes(st, col);
    memset(e, 0, sizeof *e);
    if (sqlite3_column_bytes(st, col + 1) != PL_SIG_BYTES ||
        sqlite3_column_bytes(st, col + 2) != PL_ID_BYTES || hlen <= 0)
        return pl_fail(err, PL_E_INTEGRITY, "an entry in vault.db is damaged; run "
                                            "'peerlog verify'");
    pl_fmt_status fs = fmt_header_decode(hdr, (size_t)hlen, &e->h);
    if (fs != PL_FMT_OK)
        return pl_fail(err, PL_E_INTEGRITY, "an entry header in vault.db is damaged (%s); run "
                                            "'peerlog verify'", fmt_status_str(fs));
    memcpy(e->sig, sqlite3_column_blob(st, col + 1), PL_SIG_BYTES);
    memcpy(e->id, sqlite3_column_blob(st, col + 2), PL_ID_BYTES);
    e->body = sqlite3_column_int(st, col + 3) ? PL_BODY_ERASED : PL_BODY_PRESENT;
    e->amended = sqlite3_column_int(st, col + 4);
    e->retracted = sqlite3_column_int(st, col + 5);
    return PL_OK;
}

pl_status vault_log(pl_vault *v, const pl_filter *f, pl_entry_cb cb, void *ctx, pl_err *err)
{
    sqlite3_stmt *q = NULL;
    pl_entry *e = malloc(sizeof *e);
    pl_status st = PL_OK;
    if (!e)
        return pl_fail(err, PL_E_NOMEM, "out of memory");
    /* With a type or subject, find the rows by that column's index and sort them; the
     * planner would otherwise walk the time index over every entry to avoid the sort. */
#define LOG_SQL(first)                                                                        \
    "SELECT " ENTRY_COLS " FROM entries e WHERE " first                                       \
    " AND (?1 IS NULL OR e.type = ?1) AND (?2 IS NULL OR e.subject = ?2)"                     \
    " AND (?3 IS NULL OR e.date >= ?3)"
    const char *sql = f && f->type    ? LOG_SQL("e.type = ?1") " ORDER BY +e.time_ms, e.feed, e.seq"
                    : f && f->subject ? LOG_SQL("e.subject = ?2")
                                        " ORDER BY +e.time_ms, e.feed, e.seq"
                                      : LOG_SQL("1") " ORDER BY e.time_ms, e.feed, e.seq";
#undef LOG_SQL
    int rc = sqlite3_prepare_v2(v->db, sql,
                                -1, &q, NULL);
    if (rc != SQLITE_OK) {
        free(e);
        return store_fail(v->db, rc, "reading the log", err);
    }
    if (f && f->type)
        sqlite3_bind_text(q, 1, f->type, -1, SQLITE_STATIC);
    if (f && f->subject)
        sqlite3_bind_text(q, 2, f->subject, -1, SQLITE_STATIC);
    if (f && f->since)
        sqlite3_bind_text(q, 3, f->since, -1, SQLITE_STATIC);
    while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
        if ((st = feed_row_entry(q, 0, e, err)) != PL_OK)
            break;
        if (cb(ctx, e) != 0)
            break;
    }
    if (st == PL_OK && rc != SQLITE_ROW && rc != SQLITE_DONE)
        st = store_fail(v->db, rc, "reading the log", err);
    sqlite3_finalize(q);
    free(e);
    return st;
}

pl_status vault_find(pl_vault *v, const char *prefix, pl_entry *out, pl_err *err)
{
    size_t n = strlen(prefix);
    char lower[PL_ID_HEX + 1];
    if (n < 4 || n > PL_ID_HEX)
        return pl_fail(err, PL_E_INVALID, "'%s' is not an entry id (give at least 4 hex digits)",
                       prefix);
    for (size_t i = 0; i < n; i++) {
        char c = prefix[i];
        if (c >= 'A' && c <= 'F')
            c = (char)(c - 'A' + 'a');
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
            return pl_fail(err, PL_E_INVALID, "'%s' is not an entry id (hex digits only)", prefix);
        lower[i] = c;
    }
    lower[n] = '\0';
    /* Range-scan the id index: the prefix's bytes, padded low and high. */
    uint8_t lo[PL_ID_BYTES] = {0}, hi[PL_ID_BYTES];
    memset(hi, 0xff, sizeof hi);
    for (size_t i = 0; i < n; i++) {
        unsigned d = (unsigned)(lower[i] <= '9' ? lower[i] - '0' : lower[i] - 'a' + 10);
        unsigned shift = (i % 2) ? 0u : 4u;
        lo[i / 2] = (uint8_t)(lo[i / 2] | (d << shift));
        hi[i / 2] = (uint8_t)((hi[i / 2] & ~(0xfu << shift)) | (d << shift));
    }
    sqlite3_stmt *q = NULL;
    int rc = sqlite3_prepare_v2(v->db,
                                "SELECT " ENTRY_COLS " FROM entries e"
                                " WHERE e.id >= ? AND e.id <= ? ORDER BY e.id LIMIT 2",
                                -1, &q, NULL);
    if (rc != SQLITE_OK)
        return store_fail(v->db, rc, "finding the entry", err);
    sqlite3_bind_blob(q, 1, lo, sizeof lo, SQLITE_STATIC);
    sqlite3_bind_blob(q, 2, hi, sizeof hi, SQLITE_STATIC);
    pl_status st = PL_OK;
    rc = sqlite3_step(q);
    if (rc == SQLITE_DONE)
        st = pl_fail(err, PL_E_NOTFOUND, "no entry with id %s in this vault (see 'peerlog log')",
                     lower);
    else if (rc != SQLITE_ROW)
        st = store_fail(v->db, rc, "finding the entry", err);
    else if ((st = feed_row_entry(q, 0, out, err)) == PL_OK) {
        rc = sqlite3_step(q);
        if (rc == SQLITE_ROW)
            st = pl_fail(err, PL_E_AMBIGUOUS, "more than one entry starts with %s; give more digits",
                         lower);
        else if (rc != SQLITE_DONE)
            st = store_fail(v->db, rc, "finding the entry", err);
    }
    sqlite3_finalize(q);
    return st;
}


/* The shared key with which this vault opens wrap i of h: as the author (any wrap), as a
 * recipient by its own box key, or by a key it holds. PL_E_ACCESS: wrap i is for someone
 * else; PL_E_INTEGRITY: it is ours but a key involved is unusable. */
static pl_status wrap_key(pl_vault *v, const pl_header *h, size_t i, const uint8_t **shared)
{
    /* The author path only for this vault's own feed: a foreign header may name our box
     * key as its author's, and must not make us open wraps addressed to others. */
    if (sodium_memcmp(h->feed, v->id.sign_pk, PL_SIGN_PK_BYTES) == 0 &&
        sodium_memcmp(h->box_pk, v->id.box_pk, PL_BOX_PK_BYTES) == 0)
        return feed_shared_key(v, h->rcpt[i], shared);
    if (sodium_memcmp(h->rcpt[i], v->id.box_pk, PL_BOX_PK_BYTES) == 0)
        return feed_shared_key(v, h->box_pk, shared);
    int j = feed_held_index(v, h->rcpt[i]);
    if (j < 0)
        return PL_E_ACCESS;
    return feed_shared_key_as(v, (unsigned)j + 1u, h->box_pk, shared);
}

/* Counts a body decryption by type (the audit shows it decrypts no session or supervision);
 * types beyond the table's size go into its last row. */
static void count_opened(pl_vault *v, const char *type)
{
    size_t cap = sizeof v->opened / sizeof v->opened[0], i = 0;
    while (i < v->nopened && strcmp(v->opened[i].type, type) != 0)
        i++;
    if (i == v->nopened) {
        if (i == cap) {
            i = cap - 1;
            snprintf(v->opened[i].type, sizeof v->opened[i].type, "other");
        } else {
            snprintf(v->opened[i].type, sizeof v->opened[i].type, "%s", type);
            v->nopened++;
        }
    }
    v->opened[i].n++;
}

size_t vault_bodies_opened(const pl_vault *v, pl_opened *out, size_t cap)
{
    for (size_t i = 0; i < v->nopened && i < cap; i++)
        out[i] = v->opened[i];
    return v->nopened;
}

pl_status vault_body(pl_vault *v, const pl_entry *e, json_t **out, pl_err *err)
{
    sqlite3_stmt *q = NULL;
    pl_status st = PL_OK;
    const pl_header *h = &e->h;
    *out = NULL;
    int rc = sqlite3_prepare_v2(v->db, "SELECT wraps, body FROM entries WHERE id = ?", -1, &q,
                                NULL);
    if (rc != SQLITE_OK)
        return store_fail(v->db, rc, "reading the body", err);
    sqlite3_bind_blob(q, 1, e->id, PL_ID_BYTES, SQLITE_STATIC);
    rc = sqlite3_step(q);
    if (rc != SQLITE_ROW) {
        sqlite3_finalize(q);
        if (rc == SQLITE_DONE)
            return pl_fail(err, PL_E_NOTFOUND, "the entry is not in this vault");
        return store_fail(v->db, rc, "reading the body", err);
    }
    const uint8_t *wraps = sqlite3_column_blob(q, 0), *body = sqlite3_column_blob(q, 1);
    size_t nwraps = (size_t)sqlite3_column_bytes(q, 0), nbody = (size_t)sqlite3_column_bytes(q, 1);
    uint8_t hash[PL_HASH_BYTES];
    uint8_t *key = NULL, *plain = NULL;
    if (sqlite3_column_type(q, 1) == SQLITE_NULL) {
        st = pl_fail(err, PL_E_NOTFOUND, "the body of this entry was erased");
        goto out;
    }
    if (nbody != h->body_len || nwraps != (size_t)h->nrcpt * PL_WRAP_BYTES) {
        st = pl_fail(err, PL_E_INTEGRITY, "the body does not match its header (length)");
        goto out;
    }
    fmt_body_hash(body, nbody, hash);
    if (sodium_memcmp(hash, h->body_hash, PL_HASH_BYTES) != 0) {
        st = pl_fail(err, PL_E_INTEGRITY, "the body does not match its header (hash)");
        goto out;
    }
    /* Which wrap can this vault open? As author, any; else one addressed to its own key
     * or to a key it holds. */
    const uint8_t *wrap = NULL, *shared = NULL;
    int found = 0;
    for (size_t i = 0; i < h->nrcpt && !found; i++) {
        pl_status ws = wrap_key(v, h, i, &shared);
        if (ws == PL_OK) {
            wrap = wraps + i * PL_WRAP_BYTES;
            found = 1;
        } else if (ws != PL_E_ACCESS) {
            found = -1;
        }
    }
    if (found == 0) {
        st = pl_fail(err, PL_E_ACCESS, "this body is not readable by your roles");
        goto out;
    }
    key = sodium_malloc(PL_KEY_BYTES);
    plain = sodium_malloc(nbody - PL_BODY_OVERHEAD + 1);
    if (!key || !plain) {
        st = pl_fail(err, PL_E_NOMEM, "out of memory");
        goto out;
    }
    /* The wrap is addressed to a key this vault holds: when it does not open, it was
     * damaged (or the author's key is unusable). */
    if (found < 0 || fmt_wrap_open(shared, wrap, key) != PL_FMT_OK) {
        st = pl_fail(err, PL_E_INTEGRITY, "the key wrap of this body is damaged; run "
                                          "'peerlog verify'");
        goto out;
    }
    count_opened(v, h->type);
    if (fmt_body_open(key, h->feed, h->seq, body, nbody, plain) != PL_FMT_OK) {
        st = pl_fail(err, PL_E_INTEGRITY, "the body failed authentication");
        goto out;
    }
    json_error_t jerr;
    *out = json_loadb((const char *)plain, nbody - PL_BODY_OVERHEAD, JSON_REJECT_DUPLICATES, &jerr);
    if (!*out || !json_is_object(*out)) {
        json_decref(*out);
        *out = NULL;
        st = pl_fail(err, PL_E_INTEGRITY, "the body is not a JSON object");
    }
out:
    sodium_free(key);
    sodium_free(plain);
    sqlite3_finalize(q);
    return st;
}

pl_status feed_wraps_check(pl_vault *v, const pl_header *h, const uint8_t *wraps)
{
    pl_status st = PL_OK;
    uint8_t *key = v->sec->append_rnd; /* guarded scratch, wiped below */
    for (size_t i = 0; i < h->nrcpt && st == PL_OK; i++) {
        const uint8_t *shared;
        pl_status ws = wrap_key(v, h, i, &shared);
        if (ws == PL_E_ACCESS)
            continue; /* not for this vault */
        if (ws != PL_OK || fmt_wrap_open(shared, wraps + i * PL_WRAP_BYTES, key) != PL_FMT_OK)
            st = PL_E_INTEGRITY;
    }
    sodium_memzero(key, PL_KEY_BYTES);
    return st;
}

/* ---- held keys ---------------------------------------------------------------------- */

#define HELD_AD_BYTES (sizeof PL_DOM_HELD + PL_BOX_PK_BYTES)
#define HELD_SEALED   (PL_BODY_NONCE_BYTES + PL_BOX_SK_BYTES + PL_BODY_TAG_BYTES)
_Static_assert(HELD_SEALED == 72, "held_keys.sealed as in formats/vault.md");

static void held_ad(const uint8_t pk[PL_BOX_PK_BYTES], uint8_t ad[HELD_AD_BYTES])
{
    memcpy(ad, PL_DOM_HELD, sizeof PL_DOM_HELD);
    memcpy(ad + sizeof PL_DOM_HELD, pk, PL_BOX_PK_BYTES);
}

/* 1 when sk is the X25519 secret key of pk. */
static int held_pair_ok(const uint8_t *pk, const uint8_t *sk)
{
    uint8_t derived[PL_BOX_PK_BYTES];
    int ok = crypto_scalarmult_base(derived, sk) == 0 &&
             sodium_memcmp(derived, pk, PL_BOX_PK_BYTES) == 0;
    sodium_memzero(derived, sizeof derived);
    return ok;
}

int feed_held_index(const pl_vault *v, const uint8_t *pk)
{
    for (unsigned j = 0; j < v->sec->nheld; j++)
        if (sodium_memcmp(v->sec->held_pk[j], pk, PL_BOX_PK_BYTES) == 0)
            return (int)j;
    return -1;
}

void feed_held_truncate(pl_vault *v, unsigned n)
{
    for (unsigned j = n; j < v->sec->nheld; j++)
        sodium_memzero(v->sec->held_sk[j], PL_BOX_SK_BYTES);
    if (n < v->sec->nheld)
        v->sec->nheld = n;
    /* Shared keys computed with a forgotten key go too. */
    for (unsigned i = 0; i < v->sec->nshared; i++)
        if (v->sec->shared_who[i] > n && v->sec->shared_who[i] != UINT8_MAX) {
            sodium_memzero(v->sec->shared[i], PL_KEY_BYTES);
            v->sec->shared_who[i] = UINT8_MAX;
        }
}

unsigned vault_keys_held(const pl_vault *v)
{
    return v->sec->nheld;
}

pl_status vault_key_hold(pl_vault *v, const uint8_t pk[PL_BOX_PK_BYTES],
                         const uint8_t sk[PL_BOX_SK_BYTES], const char *label, pl_err *err)
{
    uint8_t sealed[HELD_SEALED], ad[HELD_AD_BYTES];
    if (!held_pair_ok(pk, sk))
        return pl_fail(err, PL_E_INVALID, "the secret key does not belong to that public key");
    if (feed_held_index(v, pk) >= 0 || sodium_memcmp(pk, v->id.box_pk, PL_BOX_PK_BYTES) == 0)
        return PL_OK;
    if (v->sec->nheld == PL_HELD_MAX)
        return pl_fail(err, PL_E_INVALID, "this vault holds %u keys already", PL_HELD_MAX);
    held_ad(pk, ad);
    randombytes_buf(sealed, PL_BODY_NONCE_BYTES);
    crypto_aead_xchacha20poly1305_ietf_encrypt(sealed + PL_BODY_NONCE_BYTES, NULL, sk,
                                               PL_BOX_SK_BYTES, ad, sizeof ad, NULL, sealed,
                                               v->sec->held_kek);
    sqlite3_stmt *q = NULL;
    int rc = sqlite3_prepare_v2(v->db, "INSERT INTO held_keys(pk, label, sealed) VALUES (?,?,?)",
                                -1, &q, NULL);
    if (rc == SQLITE_OK) {
        sqlite3_bind_blob(q, 1, pk, PL_BOX_PK_BYTES, SQLITE_STATIC);
        sqlite3_bind_text(q, 2, label ? label : "", -1, SQLITE_STATIC);
        sqlite3_bind_blob(q, 3, sealed, sizeof sealed, SQLITE_STATIC);
        rc = sqlite3_step(q);
    }
    sqlite3_finalize(q);
    if (rc != SQLITE_DONE)
        return store_fail(v->db, rc, "storing a key", err);
    memcpy(v->sec->held_pk[v->sec->nheld], pk, PL_BOX_PK_BYTES);
    memcpy(v->sec->held_sk[v->sec->nheld], sk, PL_BOX_SK_BYTES);
    v->sec->nheld++;
    return PL_OK;
}

pl_status feed_load_held(pl_vault *v, const uint8_t *master, pl_err *err)
{
    uint8_t ad[HELD_AD_BYTES];
    pl_status st = PL_OK;
    crypto_kdf_derive_from_key(v->sec->held_kek, PL_KEY_BYTES, PL_SUBKEY_HELD, PL_KDF_CONTEXT,
                               master);
    v->sec->nheld = 0;
    sqlite3_stmt *q = NULL;
    int rc = sqlite3_prepare_v2(v->db, "SELECT pk, sealed FROM held_keys ORDER BY n", -1, &q,
                                NULL);
    if (rc != SQLITE_OK)
        return store_fail(v->db, rc, "reading held keys", err);
    while (st == PL_OK && (rc = sqlite3_step(q)) == SQLITE_ROW) {
        const uint8_t *pk = sqlite3_column_blob(q, 0), *sealed = sqlite3_column_blob(q, 1);
        unsigned j = v->sec->nheld;
        if (j == PL_HELD_MAX || sqlite3_column_bytes(q, 0) != PL_BOX_PK_BYTES ||
            sqlite3_column_bytes(q, 1) != HELD_SEALED) {
            st = pl_fail(err, PL_E_INTEGRITY, "a held key in vault.db is damaged");
            break;
        }
        held_ad(pk, ad);
        if (crypto_aead_xchacha20poly1305_ietf_decrypt(
                v->sec->held_sk[j], NULL, NULL, sealed + PL_BODY_NONCE_BYTES,
                HELD_SEALED - PL_BODY_NONCE_BYTES, ad, sizeof ad, sealed, v->sec->held_kek) != 0 ||
            !held_pair_ok(pk, v->sec->held_sk[j])) {
            sodium_memzero(v->sec->held_sk[j], PL_BOX_SK_BYTES);
            st = pl_fail(err, PL_E_INTEGRITY, "a held key in vault.db failed authentication");
            break;
        }
        memcpy(v->sec->held_pk[j], pk, PL_BOX_PK_BYTES);
        v->sec->nheld++;
    }
    sqlite3_finalize(q);
    if (st == PL_OK && rc != SQLITE_DONE)
        st = store_fail(v->db, rc, "reading held keys", err);
    return st;
}

pl_status vault_history(pl_vault *v, const pl_entry *e, pl_entry **out, size_t *n, pl_err *err)
{
    pl_entry root;
    pl_status st;
    *out = NULL;
    *n = 0;
    if ((!strcmp(e->h.type, "amend") || !strcmp(e->h.type, "retract")) && e->h.nrefs > 0) {
        char hex[PL_ID_HEX + 1];
        sodium_bin2hex(hex, sizeof hex, e->h.refs[0], PL_ID_BYTES);
        if ((st = vault_find(v, hex, &root, err)) != PL_OK)
            return st;
    } else {
        root = *e;
    }
    sqlite3_stmt *q = NULL;
    int rc = sqlite3_prepare_v2(v->db,
                                "SELECT " ENTRY_COLS " FROM entries e WHERE e.ref0 = ?"
                                " AND e.feed = ? AND e.type IN ('amend', 'retract')"
                                " ORDER BY e.time_ms, e.seq",
                                -1, &q, NULL);
    if (rc != SQLITE_OK)
        return store_fail(v->db, rc, "reading the history", err);
    sqlite3_bind_blob(q, 1, root.id, PL_ID_BYTES, SQLITE_STATIC);
    sqlite3_bind_blob(q, 2, root.h.feed, PL_SIGN_PK_BYTES, SQLITE_STATIC); /* only its author */
    size_t cap = 4, k = 0;
    pl_entry *list = malloc(cap * sizeof *list);
    st = list ? PL_OK : pl_fail(err, PL_E_NOMEM, "out of memory");
    if (list)
        list[k++] = root;
    while (st == PL_OK && (rc = sqlite3_step(q)) == SQLITE_ROW) {
        if (k == cap) {
            pl_entry *bigger = realloc(list, 2 * cap * sizeof *list);
            if (!bigger) {
                st = pl_fail(err, PL_E_NOMEM, "out of memory");
                break;
            }
            list = bigger;
            cap *= 2;
        }
        st = feed_row_entry(q, 0, &list[k], err);
        if (st == PL_OK)
            k++;
    }
    if (st == PL_OK && rc != SQLITE_DONE)
        st = store_fail(v->db, rc, "reading the history", err);
    sqlite3_finalize(q);
    if (st != PL_OK) {
        free(list);
        return st;
    }
    *out = list;
    *n = k;
    return PL_OK;
}
