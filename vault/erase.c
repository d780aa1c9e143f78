/* Erasure (formats/erasure.md): a coordinator's erase entry names a citizen; every vault that
 * holds it drops the bodies of the entries about that citizen, and keeps their headers. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "formats/meta.h"
#include "vault/internal.h"

/* The next name of a comma list (possibly empty) in *name and *len, *p moved past it and
 * its comma; 0 at the end of the list. */
static int next_name(const char **p, const char **name, size_t *len)
{
    if (!**p)
        return 0;
    const char *c = strchr(*p, ',');
    *len = c ? (size_t)(c - *p) : strlen(*p);
    *name = *p;
    *p += *len + (c != NULL);
    return 1;
}

/* 1 when a supervision's (or its amend's) header names subject in its metadata. */
static int names_citizen(const pl_header *h, const char *subject)
{
    char list[PL_META_VALUE_MAX + 1];
    size_t n = strlen(subject), l;
    const char *p = list, *name;
    if (fmt_meta_get(h->meta, h->meta_len, "subjects", list, sizeof list) != 0)
        return 0;
    while (next_name(&p, &name, &l))
        if (l == n && !memcmp(name, subject, n))
            return 1;
    return 0;
}

int erasure_filter(const pl_header *h, pl_erasure *x)
{
    char types[PL_META_VALUE_MAX + 1], until[PL_META_VALUE_MAX + 1];
    /* Read at full length: a value too long for a date is there, and wrong. */
    int has_types = fmt_meta_get(h->meta, h->meta_len, "types", types, sizeof types) == 0;
    int has_until = fmt_meta_get(h->meta, h->meta_len, "until", until, sizeof until) == 0;
    if (!has_types && !has_until)
        return 0;
    if (!has_types || !has_until || strlen(until) != PL_DATE_LEN || !fmt_date_valid(until))
        return -1;
    memcpy(x->until, until, PL_DATE_LEN + 1);
    for (char *save = NULL, *t = strtok_r(types, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
        int b = -1;
        for (int i = 0; i < PL_RET_TYPES; i++)
            if (!strcmp(t, pl_retention_names[i]))
                b = i;
        if (b < 0)
            return -1;
        x->types |= 1u << b;
    }
    return x->types ? 0 : -1;
}

/* 1 when a retention erasure x takes the record h: its type (an amend's or retract's
 * original type) among x's, and its date (feed_entry_date) not after x's until. */
static int filter_takes(const pl_erasure *x, const pl_header *h)
{
    char of[PL_TYPE_MAX + 1], date[PL_DATE_LEN + 1];
    const char *type = h->type;
    if ((!strcmp(type, "amend") || !strcmp(type, "retract")) &&
        fmt_meta_get(h->meta, h->meta_len, "of", of, sizeof of) == 0)
        type = of;
    int b = pl_retention_type(type);
    if (b < 0 || !(x->types & (1u << b)))
        return 0;
    feed_entry_date(h, date);
    return strcmp(date, x->until) <= 0;
}

pl_status erasures_load(pl_vault *v, const pl_org *o, pl_erasure **out, size_t *n, pl_err *err)
{
    *out = NULL;
    *n = 0;
    sqlite3_stmt *q = NULL;
    int rc = sqlite3_prepare_v2(v->db, "SELECT " ENTRY_COLS_PUBLIC " FROM entries e"
                                       " WHERE e.type = 'erase' ORDER BY e.n", -1, &q, NULL);
    if (rc != SQLITE_OK)
        return store_fail(v->db, rc, "reading erasures", err);
    pl_entry *e = malloc(sizeof *e);
    size_t cap = 0;
    pl_status st = e ? PL_OK : pl_fail(err, PL_E_NOMEM, "out of memory");
    while (st == PL_OK && (rc = sqlite3_step(q)) == SQLITE_ROW) {
        char why[240];
        if ((st = feed_row_entry(q, 0, e, err)) != PL_OK)
            break;
        /* Only a coordinator's, signed, naming a citizen. */
        if (strcmp(e->h.type, "erase") != 0 || !fmt_pseudonym_valid(e->h.subject) ||
            e->h.nrefs < 1 || memcmp(e->h.refs[0], o->id, PL_ID_BYTES) != 0 ||
            org_may_write(v, o, &e->h, why, sizeof why) != 0 || !entry_authentic(e))
            continue;
        pl_erasure *grown = pl_grow(*out, &cap, *n, sizeof *grown);
        if (!grown) {
            st = pl_fail(err, PL_E_NOMEM, "out of memory");
            break;
        }
        *out = grown;
        pl_erasure *x = &grown[*n];
        memset(x, 0, sizeof *x);
        if (erasure_filter(&e->h, x) != 0)
            continue; /* a filter it cannot read: it does not count (nothing is taken) */
        (*n)++;
        memcpy(x->id, e->id, PL_ID_BYTES);
        memcpy(x->by, e->h.feed, PL_SIGN_PK_BYTES);
        snprintf(x->subject, sizeof x->subject, "%s", e->h.subject);
        feed_entry_date(&e->h, x->date);
        x->time_ms = e->h.time_ms;
    }
    if (st == PL_OK && rc != SQLITE_DONE)
        st = store_fail(v->db, rc, "reading erasures", err);
    sqlite3_finalize(q);
    free(e);
    if (st != PL_OK) {
        free(*out);
        *out = NULL;
        *n = 0;
    }
    return st;
}

/* 1 when h may name citizens in its metadata: a supervision, or an amend of one. */
static int names_in_meta(const pl_header *h)
{
    char of[PL_TYPE_MAX + 1];
    return !strcmp(h->type, "supervision") ||
           (!strcmp(h->type, "amend") &&
            fmt_meta_get(h->meta, h->meta_len, "of", of, sizeof of) == 0 &&
            !strcmp(of, "supervision"));
}

/* 1 when some erasure in list takes h for the citizen who (a full one, or a retention one
 * whose filter takes h). */
static int taken_for(const pl_erasure *list, size_t n, const pl_header *h, const char *who,
                     size_t len)
{
    for (size_t i = 0; i < n; i++)
        if (strlen(list[i].subject) == len && !memcmp(list[i].subject, who, len) &&
            (!list[i].types || filter_takes(&list[i], h)))
            return 1;
    return 0;
}

/* A supervision (or its amend) naming several citizens goes by retention only when it is
 * due for every one of them. */
static int taken_for_all(const pl_erasure *list, size_t n, const pl_header *h)
{
    char names[PL_META_VALUE_MAX + 1];
    const char *p = names, *name;
    size_t l;
    if (fmt_meta_get(h->meta, h->meta_len, "subjects", names, sizeof names) != 0)
        return 0;
    while (next_name(&p, &name, &l))
        if (!taken_for(list, n, h, name, l))
            return 0;
    return 1;
}

const pl_erasure *erasure_covering(const pl_erasure *list, size_t n, const pl_header *h,
                                   const uint8_t id[PL_ID_BYTES])
{
    if (!strcmp(h->type, "erase") || (!h->subject[0] && !names_in_meta(h)))
        return NULL;
    for (size_t i = 0; i < n; i++) {
        if (!memcmp(list[i].id, id, PL_ID_BYTES))
            continue;
        if (!(h->subject[0] ? !strcmp(h->subject, list[i].subject)
                            : names_citizen(h, list[i].subject)))
            continue;
        if (!list[i].types)
            return &list[i];
        if (filter_takes(&list[i], h) && (h->subject[0] || taken_for_all(list, n, h)))
            return &list[i];
    }
    return NULL;
}

pl_status erasures_apply(pl_vault *v, const pl_org *o, uint64_t *erased, pl_err *err)
{
    pl_erasure *list = NULL;
    size_t n = 0;
    *erased = 0;
    pl_status st = erasures_load(v, o, &list, &n, err);
    if (st != PL_OK || n == 0) {
        free(list);
        return st;
    }
    /* Rows that still hold a body and could be covered: a citizen's, or a supervision's. */
    sqlite3_stmt *q = NULL, *up = NULL;
    /* Through the indexes: the erased citizens' rows, and the rows without a citizen that may
     * name one (supervisions and amends); each is then checked on its signed header. */
    int rc = sqlite3_prepare_v2(v->db, "SELECT id, header FROM entries WHERE body IS NOT NULL"
                                       " AND type <> 'erase' AND (subject IN (SELECT subject"
                                       " FROM entries WHERE type = 'erase') OR ((subject IS NULL"
                                       " OR subject = '') AND type IN ('supervision', 'amend')))",
                                -1, &q, NULL);
    if (rc == SQLITE_OK)
        rc = sqlite3_prepare_v2(v->db, "UPDATE entries SET body = NULL WHERE id = ?", -1, &up,
                                NULL);
    pl_header *h = malloc(sizeof *h);
    if (rc != SQLITE_OK || !h) {
        st = h ? store_fail(v->db, rc, "erasing", err) : pl_fail(err, PL_E_NOMEM, "out of memory");
        goto out;
    }
    /* The ids first, then the updates: no row changes under the running SELECT. */
    uint8_t(*ids)[PL_ID_BYTES] = NULL;
    size_t nids = 0, cap = 0;
    while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
        int hl = sqlite3_column_bytes(q, 1);
        if (sqlite3_column_bytes(q, 0) != PL_ID_BYTES || hl <= 0 ||
            fmt_header_decode(sqlite3_column_blob(q, 1), (size_t)hl, h) != PL_FMT_OK ||
            !erasure_covering(list, n, h, sqlite3_column_blob(q, 0)))
            continue;
        uint8_t(*grown)[PL_ID_BYTES] = pl_grow(ids, &cap, nids, sizeof *grown);
        if (!grown) {
            free(ids);
            st = pl_fail(err, PL_E_NOMEM, "out of memory");
            goto out;
        }
        ids = grown;
        memcpy(ids[nids++], sqlite3_column_blob(q, 0), PL_ID_BYTES);
    }
    if (rc != SQLITE_DONE)
        st = store_fail(v->db, rc, "erasing", err);
    for (size_t i = 0; st == PL_OK && i < nids; i++) {
        sqlite3_reset(up);
        sqlite3_bind_blob(up, 1, ids[i], PL_ID_BYTES, SQLITE_STATIC);
        if ((rc = sqlite3_step(up)) != SQLITE_DONE)
            st = store_fail(v->db, rc, "erasing", err);
        else
            (*erased)++;
    }
    free(ids);
    /* The WAL is checkpointed once this transaction commits; the mark, committed with the
     * erasure, keeps that owed until a checkpoint completes (vault_scrub_wal). */
    if (st == PL_OK && *erased &&
        (rc = sqlite3_exec(v->db, "INSERT OR REPLACE INTO vault_meta(k, v) VALUES ('wal_scrub', 1)",
                           NULL, NULL, NULL)) != SQLITE_OK)
        st = store_fail(v->db, rc, "erasing", err);
    if (st == PL_OK && *erased)
        v->erased_pending = 1;
out:
    free(h);
    sqlite3_finalize(q);
    sqlite3_finalize(up);
    free(list);
    return st;
}

pl_status vault_erase(pl_vault *v, const char *subject, const char *reason, pl_entry *out,
                      uint64_t *erased, pl_err *err)
{
    *erased = 0;
    if (!subject || !fmt_pseudonym_valid(subject))
        return pl_fail(err, PL_E_INVALID, "a citizen is named by a pseudonym like B-7K3Q-9F2M");
    if (!reason || !*reason || strlen(reason) > PL_NAME_MAX ||
        !fmt_name_valid(reason, strlen(reason)))
        return pl_fail(err, PL_E_INVALID, "give a reason (1 to %u bytes of plain text)",
                       PL_NAME_MAX);
    pl_org *o = calloc(1, sizeof *o);
    pl_status st = o ? vault_org(v, o, err) : pl_fail(err, PL_E_NOMEM, "out of memory");
    if (st == PL_E_NOTFOUND)
        st = pl_fail(err, PL_E_NOTFOUND, "erasure is an organisation's: this vault belongs to "
                                         "none");
    if (st != PL_OK)
        goto out;
    const pl_org_member *me = org_member(o, v->id.sign_pk);
    if (!me || me->removed || !(me->roles & PL_ROLE_COORDINATOR)) {
        st = pl_fail(err, PL_E_ACCESS, "only a coordinator erases a citizen's data; nothing "
                                       "was changed");
        goto out;
    }
    sqlite3_stmt *q = NULL;
    int rc = sqlite3_prepare_v2(v->db, "SELECT 1 FROM entries WHERE subject = ? LIMIT 1", -1,
                                &q, NULL);
    if (rc == SQLITE_OK) {
        sqlite3_bind_text(q, 1, subject, -1, SQLITE_STATIC);
        rc = sqlite3_step(q);
    }
    sqlite3_finalize(q);
    if (rc == SQLITE_DONE)
        st = pl_fail(err, PL_E_NOTFOUND, "this vault holds nothing about %s: sync first, and "
                                         "check the pseudonym", subject);
    else if (rc != SQLITE_ROW)
        st = store_fail(v->db, rc, "reading the citizen's entries", err);
    if (st != PL_OK)
        goto out;
    if ((st = vault_begin(v, err)) == PL_OK) {
        st = erase_append(v, o, subject, reason, 0, NULL, out, err);
        if (st == PL_OK)
            st = erasures_apply(v, o, erased, err);
        if (st == PL_OK)
            st = vault_commit(v, err);
        else
            vault_rollback(v);
    }
out:
    free(o);
    return st;
}

pl_status erase_append(pl_vault *v, const pl_org *o, const char *subject, const char *reason,
                       unsigned types, const char *until, pl_entry *out, pl_err *err)
{
    char date[PL_DATE_LEN + 1], meta[PL_META_MAX + 1], list[PL_META_VALUE_MAX + 1] = "";
    size_t mlen, nm = 1;
    pl_today(date);
    pl_meta_pair m[3] = {{"date", date}};
    if (types) {
        for (int i = 0; i < PL_RET_TYPES; i++)
            if (types & (1u << i))
                snprintf(list + strlen(list), sizeof list - strlen(list), "%s%s",
                         list[0] ? "," : "", pl_retention_names[i]);
        m[nm++] = (pl_meta_pair){"types", list};
        m[nm++] = (pl_meta_pair){"until", until};
    }
    pl_org_key tmp;
    const pl_org_key *mk = pl_org_current_key(o, "member", &tmp);
    if (!mk)
        return pl_fail(err, PL_E_INTEGRITY, "the organisation has no member key to write the "
                                            "erasure to; run 'peerlog verify'");
    json_t *body = json_pack("{s:s}", "reason", reason);
    size_t n = body ? json_dumpb(body, NULL, 0, JSON_COMPACT | JSON_SORT_KEYS) : 0;
    pl_secret *text = n ? pl_secret_new(n) : NULL;
    pl_status st = PL_OK;
    if (!text)
        st = pl_fail(err, PL_E_NOMEM, "out of memory");
    else if (fmt_meta_build(m, nm, meta, sizeof meta, &mlen) != 0)
        st = pl_fail(err, PL_E_INVALID, "cannot build the erasure's metadata");
    if (st == PL_OK) {
        text->len = json_dumpb(body, (char *)text->p, n, JSON_COMPACT | JSON_SORT_KEYS);
        pl_append_req req = {.type = "erase", .subject = subject, .meta = meta,
                             .refs = (const uint8_t(*)[PL_ID_BYTES])o->id, .nrefs = 1,
                             .rcpt = (const uint8_t(*)[PL_BOX_PK_BYTES])mk->pk, .nrcpt = 1,
                             .body = text->p, .body_len = text->len};
        st = vault_append(v, &req, out, err);
    }
    pl_secret_free(text);
    json_decref(body);
    return st;
}

/* The organisation's erasures that count, read afresh: *list (free it) of *n. */
static pl_status erasures_here(pl_vault *v, pl_erasure **list, size_t *n, pl_err *err)
{
    pl_org *o = calloc(1, sizeof *o);
    pl_status st = o ? vault_org(v, o, err) : pl_fail(err, PL_E_NOMEM, "out of memory");
    *list = NULL;
    *n = 0;
    if (st == PL_OK)
        st = erasures_load(v, o, list, n, err);
    free(o);
    return st;
}

pl_status vault_erasure_of(pl_vault *v, const pl_entry *e, pl_erasure *out, pl_err *err)
{
    pl_erasure *list;
    size_t n;
    pl_status st = erasures_here(v, &list, &n, err);
    const pl_erasure *by = st == PL_OK ? erasure_covering(list, n, &e->h, e->id) : NULL;
    if (st == PL_OK && !by)
        st = pl_fail(err, PL_E_NOTFOUND, "no erasure covers this entry");
    if (by)
        *out = *by;
    free(list);
    return st;
}

pl_status erasure_refuses(pl_vault *v, const char *subject, const char *type,
                          const char *meta, size_t mlen, pl_err *err)
{
    sqlite3_stmt *q = NULL;
    int rc = sqlite3_prepare_v2(v->db, "SELECT 1 FROM entries WHERE type = 'erase' AND"
                                       " subject = ? LIMIT 1", -1, &q, NULL);
    if (rc == SQLITE_OK) {
        sqlite3_bind_text(q, 1, subject, -1, SQLITE_STATIC);
        rc = sqlite3_step(q);
    }
    sqlite3_finalize(q);
    if (rc == SQLITE_DONE) /* no erasure names the citizen: the common case, one index probe */
        return PL_OK;
    if (rc != SQLITE_ROW)
        return store_fail(v->db, rc, "reading erasures", err);
    pl_erasure *list;
    size_t n;
    pl_status st = erasures_here(v, &list, &n, err);
    /* The new record as its header will read: its type and metadata. */
    pl_header *h = st == PL_OK ? calloc(1, sizeof *h) : NULL;
    if (st == PL_OK && (!h || mlen > PL_META_MAX)) {
        st = h ? pl_fail(err, PL_E_INVALID, "the record's metadata is too long")
               : pl_fail(err, PL_E_NOMEM, "out of memory");
    } else if (h) {
        snprintf(h->type, sizeof h->type, "%s", type);
        memcpy(h->meta, meta, mlen);
        h->meta_len = (uint16_t)mlen;
        h->time_ms = pl_now_ms(); /* a record without a date is dated the day it is written */
    }
    for (size_t i = 0; st == PL_OK && i < n; i++) {
        char id[13];
        if (strcmp(list[i].subject, subject) != 0)
            continue;
        sodium_bin2hex(id, sizeof id, list[i].id, 6);
        if (!list[i].types)
            st = pl_fail(err, PL_E_CONSENT, "%s's data was erased (entry %s, %s): nothing more "
                                            "is recorded about %s; a new consent needs a new "
                                            "pseudonym", subject, id, list[i].date, subject);
        else if (filter_takes(&list[i], h))
            st = pl_fail(err, PL_E_CONSENT, "%s's records of this kind dated up to %s were "
                                            "erased as the retention policy asks (entry %s): "
                                            "nothing dated before then is added", subject,
                         list[i].until, id);
    }
    free(h);
    free(list);
    return st;
}
