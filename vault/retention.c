/* Retention (formats/erasure.md §6): the policy says how many months after a citizen's last
 * course closed each kind of record is kept; what is due is erased as erasure entries that
 * name the record types and the last day they take. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "formats/meta.h"
#include "vault/internal.h"

const char *const pl_retention_names[PL_RET_TYPES] = {
    "session", "supervision", "match", "agreement.collaboration", "course.close", "consent"};

int pl_retention_type(const char *record_type)
{
    if (!strcmp(record_type, "consent.grant") || !strcmp(record_type, "consent.withdraw"))
        return PL_RET_CONSENT;
    for (int i = 0; i < PL_RET_CONSENT; i++)
        if (!strcmp(record_type, pl_retention_names[i]))
            return i;
    return -1;
}

static int name_index(const char *name, size_t n)
{
    for (int i = 0; i < PL_RET_TYPES; i++)
        if (strlen(pl_retention_names[i]) == n && !memcmp(name, pl_retention_names[i], n))
            return i;
    return -1;
}

/* Months as decimal digits, 1..PL_RET_MONTHS_MAX; 0 when not. */
static int parse_months(const char *p, size_t n)
{
    int m = 0;
    if (n == 0 || n > 4 || p[0] == '0')
        return 0;
    for (size_t i = 0; i < n; i++) {
        if (p[i] < '0' || p[i] > '9')
            return 0;
        m = m * 10 + (p[i] - '0');
    }
    return m <= PL_RET_MONTHS_MAX ? m : 0;
}

pl_status pl_retention_parse(const char *spec, pl_retention *out, pl_err *err)
{
    memset(out, 0, sizeof *out);
    out->set = 1;
    for (const char *p = spec;;) {
        const char *c = strchr(p, ',');
        size_t l = c ? (size_t)(c - p) : strlen(p);
        const char *eq = memchr(p, '=', l);
        if (!eq) {
            int m = parse_months(p, l);
            if (!m)
                return pl_fail(err, PL_E_INVALID, "--retention: '%.*s' is not a number of months "
                                                  "(1 to %d)", (int)l, p, PL_RET_MONTHS_MAX);
            for (int i = 0; i < PL_RET_CONSENT; i++)
                out->months[i] = m;
            out->months[PL_RET_CONSENT] = PL_RET_LAST_ENTRY;
        } else {
            int t = name_index(p, (size_t)(eq - p));
            const char *val = eq + 1;
            size_t vl = l - (size_t)(val - p);
            if (t < 0)
                return pl_fail(err, PL_E_INVALID, "--retention: '%.*s' is not a record type "
                                                  "(session, supervision, match, "
                                                  "agreement.collaboration, course.close, consent)",
                               (int)(eq - p), p);
            if (vl == 4 && !memcmp(val, "keep", 4))
                out->months[t] = 0;
            else if (t == PL_RET_CONSENT && vl == 10 && !memcmp(val, "last-entry", 10))
                out->months[t] = PL_RET_LAST_ENTRY;
            else if (t != PL_RET_CONSENT && parse_months(val, vl))
                out->months[t] = parse_months(val, vl);
            else
                return pl_fail(err, PL_E_INVALID, "--retention: %s takes %s, not '%.*s'",
                               pl_retention_names[t],
                               t == PL_RET_CONSENT ? "last-entry or keep"
                                                   : "a number of months or keep",
                               (int)vl, val);
        }
        if (!c)
            break;
        p = c + 1;
    }
    return PL_OK;
}

json_t *pl_retention_json(const pl_retention *r)
{
    json_t *j = json_object();
    for (int i = 0; j && i < PL_RET_TYPES; i++)
        json_object_set_new(j, pl_retention_names[i],
                            r->months[i] > 0 ? json_integer(r->months[i])
                            : r->months[i] == PL_RET_LAST_ENTRY ? json_string("last-entry")
                                                                : json_string("keep"));
    return j;
}

void retention_read(const json_t *j, pl_retention *out)
{
    memset(out, 0, sizeof *out);
    if (!json_is_object(j))
        return;
    out->set = 1;
    for (int i = 0; i < PL_RET_TYPES; i++) {
        const json_t *v = json_object_get(j, pl_retention_names[i]);
        json_int_t m = json_is_integer(v) ? json_integer_value(v) : 0;
        if (i != PL_RET_CONSENT && m >= 1 && m <= PL_RET_MONTHS_MAX)
            out->months[i] = (int)m;
        else if (i == PL_RET_CONSENT && json_is_string(v) &&
                 !strcmp(json_string_value(v), "last-entry"))
            out->months[i] = PL_RET_LAST_ENTRY;
    }
}

/* ---- the plan ------------------------------------------------------------------------- */

/* One record of the citizen's course history: an original, its current date, whether it
 * was retracted. */
typedef struct {
    uint8_t id[PL_ID_BYTES];
    int type; /* PL_RET_* */
    char date[PL_DATE_LEN + 1];
    int retracted;
} course_rec;

/* The citizen's last course close (closed) and whether a course is open: no close yet, or a
 * session, match or collaboration agreement dated after the last close. */
static pl_status course_state(pl_vault *v, const char *subject, pl_header *h, char *closed,
                              int *open, pl_err *err)
{
    sqlite3_stmt *q = NULL;
    course_rec *r = NULL;
    size_t n = 0, cap = 0;
    pl_status st = PL_OK;
    int rc = sqlite3_prepare_v2(v->db, "SELECT id, header FROM entries WHERE subject = ?"
                                       " ORDER BY time_ms, feed, seq", -1, &q, NULL);
    if (rc == SQLITE_OK)
        rc = sqlite3_bind_text(q, 1, subject, -1, SQLITE_STATIC);
    while (rc == SQLITE_OK && (rc = sqlite3_step(q)) == SQLITE_ROW) {
        int hl = sqlite3_column_bytes(q, 1);
        rc = SQLITE_OK;
        if (sqlite3_column_bytes(q, 0) != PL_ID_BYTES || hl <= 0 ||
            fmt_header_decode(sqlite3_column_blob(q, 1), (size_t)hl, h) != PL_FMT_OK)
            continue;
        int t = pl_retention_type(h->type);
        if (t == PL_RET_SESSION || t == PL_RET_MATCH || t == PL_RET_COLLABORATION ||
            t == PL_RET_COURSE_CLOSE) {
            course_rec *g = pl_grow(r, &cap, n, sizeof *g);
            if (!g) {
                st = pl_fail(err, PL_E_NOMEM, "out of memory");
                break;
            }
            r = g;
            memcpy(r[n].id, sqlite3_column_blob(q, 0), PL_ID_BYTES);
            r[n].type = t;
            r[n].retracted = 0;
            feed_entry_date(h, r[n++].date);
        } else if ((!strcmp(h->type, "amend") || !strcmp(h->type, "retract")) && h->nrefs) {
            for (size_t i = 0; i < n; i++)
                if (!memcmp(r[i].id, h->refs[0], PL_ID_BYTES)) {
                    if (h->type[0] == 'r')
                        r[i].retracted = 1;
                    else
                        feed_entry_date(h, r[i].date); /* the current version's */
                }
        }
    }
    if (st == PL_OK && rc != SQLITE_DONE)
        st = store_fail(v->db, rc, "reading the citizen's records", err);
    sqlite3_finalize(q);
    closed[0] = '\0';
    for (size_t i = 0; i < n; i++)
        if (!r[i].retracted && r[i].type == PL_RET_COURSE_CLOSE && strcmp(r[i].date, closed) > 0)
            snprintf(closed, PL_DATE_LEN + 1, "%s", r[i].date);
    *open = !closed[0];
    for (size_t i = 0; i < n; i++)
        if (!r[i].retracted && r[i].type != PL_RET_COURSE_CLOSE && strcmp(r[i].date, closed) > 0)
            *open = 1;
    free(r);
    return st;
}

/* Counts, per PL_RET_* type, the entries about the citizen that still hold a body and that a
 * retention erasure of every type up to until would take (erasure_covering's rules); *other
 * the entries naming the citizen with a body that it would not take. */
static pl_status count_bodies(pl_vault *v, const char *subject, const char *until, pl_header *h,
                              uint64_t counts[PL_RET_TYPES], uint64_t *other, pl_err *err)
{
    pl_erasure all, full;
    memset(&all, 0, sizeof all);
    snprintf(all.subject, sizeof all.subject, "%s", subject);
    snprintf(all.until, sizeof all.until, "%s", until);
    all.types = (1u << PL_RET_TYPES) - 1;
    full = all;
    full.types = 0;
    full.until[0] = '\0';
    memset(counts, 0, PL_RET_TYPES * sizeof counts[0]);
    *other = 0;
    sqlite3_stmt *q = NULL;
    int rc = sqlite3_prepare_v2(v->db, "SELECT id, header FROM entries WHERE body IS NOT NULL"
                                       " AND type <> 'erase' AND (subject = ?1 OR ((subject IS"
                                       " NULL OR subject = '') AND type IN ('supervision',"
                                       " 'amend')))", -1, &q, NULL);
    if (rc == SQLITE_OK)
        rc = sqlite3_bind_text(q, 1, subject, -1, SQLITE_STATIC);
    while (rc == SQLITE_OK && (rc = sqlite3_step(q)) == SQLITE_ROW) {
        int hl = sqlite3_column_bytes(q, 1);
        char of[PL_TYPE_MAX + 1];
        rc = SQLITE_OK;
        if (sqlite3_column_bytes(q, 0) != PL_ID_BYTES || hl <= 0 ||
            fmt_header_decode(sqlite3_column_blob(q, 1), (size_t)hl, h) != PL_FMT_OK ||
            !erasure_covering(&full, 1, h, sqlite3_column_blob(q, 0)))
            continue;
        if (!erasure_covering(&all, 1, h, sqlite3_column_blob(q, 0))) {
            (*other)++;
            continue;
        }
        const char *type = h->type;
        if (fmt_meta_get(h->meta, h->meta_len, "of", of, sizeof of) == 0 &&
            (!strcmp(type, "amend") || !strcmp(type, "retract")))
            type = of;
        int t = pl_retention_type(type);
        if (t >= 0)
            counts[t]++;
    }
    pl_status st = rc == SQLITE_DONE ? PL_OK : store_fail(v->db, rc, "counting bodies", err);
    sqlite3_finalize(q);
    return st;
}

/* Fills it for subject as of the day on (YYYY-MM-DD). */
static pl_status plan_one(pl_vault *v, const pl_retention *r, const char *subject,
                          const char *on, pl_header *h, pl_retention_item *it, pl_err *err)
{
    memset(it, 0, sizeof *it);
    snprintf(it->subject, sizeof it->subject, "%s", subject);
    pl_status st = course_state(v, subject, h, it->closed, &it->open, err);
    /* A close dated after the day asked has not happened yet. */
    if (st == PL_OK && strcmp(it->closed, on) > 0)
        it->open = 1;
    if (st != PL_OK || it->open)
        return st;
    /* What is due goes up to the day asked: with no course open, records dated after the
     * close (a later supervision, a withdrawal) belong to the course that closed. */
    snprintf(it->until, sizeof it->until, "%s", on);
    if ((st = count_bodies(v, subject, on, h, it->bodies, &it->other, err)) != PL_OK)
        return st;
    /* Each type with a period falls due that many months after the last close. */
    uint64_t kept = it->other;
    for (int t = 0; t < PL_RET_CONSENT; t++) {
        if (r->months[t] <= 0) {
            kept += it->bodies[t];
            continue;
        }
        pl_date_plus_months(it->closed, r->months[t], it->due[t]);
        if (strcmp(it->due[t], on) <= 0)
            it->due_now |= 1u << t;
        else
            kept += it->bodies[t];
    }
    /* Consent goes with the last of the others. */
    if (r->months[PL_RET_CONSENT] == PL_RET_LAST_ENTRY) {
        int never = 0;
        for (int t = 0; t < PL_RET_CONSENT; t++)
            if (it->bodies[t] && r->months[t] <= 0)
                never = 1;
            else if (it->bodies[t] && strcmp(it->due[t], it->due[PL_RET_CONSENT]) > 0)
                snprintf(it->due[PL_RET_CONSENT], PL_DATE_LEN + 1, "%s", it->due[t]);
        if (never)
            it->due[PL_RET_CONSENT][0] = '\0';
        else if (!it->due[PL_RET_CONSENT][0])
            snprintf(it->due[PL_RET_CONSENT], PL_DATE_LEN + 1, "%s", it->closed);
        if (!kept && !never)
            it->due_now |= 1u << PL_RET_CONSENT;
    }
    for (int t = 0; t < PL_RET_TYPES; t++)
        if (it->due_now & (1u << t))
            it->taken += it->bodies[t];
    return PL_OK;
}

pl_status vault_retention_plan(pl_vault *v, const char *on, pl_retention_item **out, size_t *n,
                               pl_retention *policy, pl_err *err)
{
    *out = NULL;
    *n = 0;
    char today[PL_DATE_LEN + 1];
    pl_today(today);
    if (!on)
        on = today;
    if (!fmt_date_valid(on))
        return pl_fail(err, PL_E_INVALID, "give the day as YYYY-MM-DD");
    pl_org *o = calloc(1, sizeof *o);
    pl_header *h = malloc(sizeof *h);
    pl_status st = o && h ? vault_org(v, o, err) : pl_fail(err, PL_E_NOMEM, "out of memory");
    if (st == PL_E_NOTFOUND)
        st = pl_fail(err, PL_E_NOTFOUND, "retention is an organisation's policy: this vault "
                                         "belongs to none");
    if (st == PL_OK && !o->npolicy)
        st = pl_fail(err, PL_E_ACCESS, "this vault cannot read the organisation's policy yet: "
                                       "sync first");
    if (st == PL_OK)
        *policy = o->retention;
    sqlite3_stmt *q = NULL;
    size_t cap = 0;
    int rc = SQLITE_DONE;
    if (st == PL_OK && o->retention.set) {
        /* Every citizen some entry names (an erasure's name alone does not count). */
        rc = sqlite3_prepare_v2(v->db, "SELECT DISTINCT subject FROM entries WHERE subject IS"
                                       " NOT NULL AND subject <> '' AND type <> 'erase'"
                                       " ORDER BY subject", -1, &q, NULL);
        while (rc == SQLITE_OK && (rc = sqlite3_step(q)) == SQLITE_ROW) {
            const char *s = (const char *)sqlite3_column_text(q, 0);
            rc = SQLITE_OK;
            if (!s || !fmt_pseudonym_valid(s))
                continue;
            pl_retention_item *g = pl_grow(*out, &cap, *n, sizeof *g);
            if (!g) {
                st = pl_fail(err, PL_E_NOMEM, "out of memory");
                break;
            }
            *out = g;
            if ((st = plan_one(v, &o->retention, s, on, h, &g[*n], err)) != PL_OK)
                break;
            (*n)++;
        }
        if (st == PL_OK && rc != SQLITE_DONE)
            st = store_fail(v->db, rc, "reading the citizens", err);
        sqlite3_finalize(q);
    }
    free(o);
    free(h);
    if (st != PL_OK) {
        free(*out);
        *out = NULL;
        *n = 0;
    }
    return st;
}

pl_status vault_retention_apply(pl_vault *v, unsigned *erasures, uint64_t *erased, pl_err *err)
{
    pl_retention_item *items = NULL;
    pl_retention policy;
    size_t n = 0;
    *erasures = 0;
    *erased = 0;
    pl_org *o = calloc(1, sizeof *o);
    pl_status st = o ? vault_org(v, o, err) : pl_fail(err, PL_E_NOMEM, "out of memory");
    if (st == PL_OK) {
        const pl_org_member *me = org_member(o, v->id.sign_pk);
        if (!me || me->removed || !(me->roles & PL_ROLE_COORDINATOR))
            st = pl_fail(err, PL_E_ACCESS, "only a coordinator applies the retention policy; "
                                           "nothing was changed");
    }
    /* The plan is made inside the transaction: no import lands between it and the entries. */
    if (st == PL_OK && (st = vault_begin(v, err)) == PL_OK) {
        if ((st = vault_retention_plan(v, NULL, &items, &n, &policy, err)) != PL_OK)
            n = 0;
        for (size_t i = 0; st == PL_OK && i < n; i++) {
            const pl_retention_item *it = &items[i];
            char reason[PL_NAME_MAX + 1];
            pl_entry e;
            if (!it->due_now || !it->taken)
                continue;
            snprintf(reason, sizeof reason, "retention policy: records kept until their period "
                                            "after the course closed on %s had passed",
                     it->closed);
            st = erase_append(v, o, it->subject, reason, it->due_now, it->until, &e, err);
            (*erasures)++;
        }
        if (st == PL_OK && *erasures)
            st = erasures_apply(v, o, erased, err);
        if (st == PL_OK)
            st = vault_commit(v, err);
        else
            vault_rollback(v);
        if (st != PL_OK)
            *erasures = 0, *erased = 0;
    }
    free(items);
    free(o);
    return st;
}
