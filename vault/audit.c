/* The consent-trail audit (formats/audit.md): from headers only, every record about a citizen
 * against the consent, agreements and courses on its date, and the ledger's integrity. */
#define _GNU_SOURCE /* qsort_r */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "formats/meta.h"
#include "vault/internal.h"

enum {
    K_OTHER,
    K_GRANT,
    K_WITHDRAW,
    K_SESSION,
    K_MATCH,
    K_COLLAB,
    K_SUPERVISION,
    K_CLOSE,
    K_VOLUNTEER,
    K_SIGN,
    K_AMEND,
    K_RETRACT
};

static const char *const kind_types[] = {
    "",      "consent.grant",          "consent.withdraw", "session",
    "match", "agreement.collaboration", "supervision",     "course.close",
    "agreement.volunteer", "agreement.sign", "amend", "retract"};
#define NKINDS (sizeof kind_types / sizeof kind_types[0])

const char *const pl_audit_rule_names[PL_AUDIT_RULES] = {
    "integrity",      "removed-author", "consent-missing", "consent-expired",
    "consent-withdrawn", "agreement",   "course-length",   "outside-course", "checkpoint",
    "after-erasure"};

#define SUPERVISION_SUBJECTS_MAX 16u /* formats/records.md §10.5 */

typedef struct {
    uint8_t id[PL_ID_BYTES];
    uint8_t ref0[PL_ID_BYTES];
    uint8_t (*refs)[PL_ID_BYTES]; /* a withdrawal's references, all of them */
    uint8_t feed[PL_SIGN_PK_BYTES];
    const pl_org_member *author;  /* NULL when not a member */
    uint64_t seq;
    int64_t row; /* the local row number: arrival order */
    int64_t time_ms;
    uint8_t kind, of, nrefs, has_ref;
    int8_t counts;      /* org_may_write's verdict */
    uint8_t intact;     /* passed verify's checks of header, place and link */
    uint8_t retracted, bad_meta;
    unsigned scopes;
    unsigned minutes;
    uint8_t skind; /* a session's kind: index into pl_session_kinds */
    char subject[PL_SUBJECT_MAX + 1];
    char date[PL_DATE_LEN + 1], until[PL_DATE_LEN + 1];
    char guide[PL_FINGERPRINT_HEX + 1];
    char *subjects; /* a supervision's comma list */
    char *guides;   /* a supervision's guides, comma list */
    uint32_t late;  /* 1 + the index of an erasure it was written after and is covered by */
} rec;

typedef struct {
    rec *r;
    size_t n, cap;
    pl_erasure *er; /* the erasures that count */
    size_t ner;
} rec_list;

static unsigned kind_of_type(const char *t)
{
    for (unsigned k = 1; k < NKINDS; k++)
        if (!strcmp(t, kind_types[k]))
            return k;
    return K_OTHER;
}

/* 1 valid (copied), 0 absent, -1 present but not a date (too long included). */
static int meta_date(const pl_header *h, const char *key, char out[PL_DATE_LEN + 1])
{
    char v[PL_META_VALUE_MAX + 1];
    out[0] = '\0';
    if (fmt_meta_get(h->meta, h->meta_len, key, v, sizeof v) != 0)
        return 0;
    if (!fmt_date_valid(v))
        return -1;
    memcpy(out, v, PL_DATE_LEN + 1);
    return 1;
}

/* 0 when list is 1..max distinct pseudonyms separated by commas. */
static int subject_list_ok(const char *list, size_t max)
{
    size_t n = 0;
    for (const char *p = list;;) {
        const char *c = strchr(p, ',');
        size_t l = c ? (size_t)(c - p) : strlen(p);
        char name[PL_SUBJECT_MAX + 1];
        if (l != PL_PSEUDONYM_LEN || ++n > max)
            return -1;
        memcpy(name, p, l);
        name[l] = '\0';
        if (!fmt_pseudonym_valid(name))
            return -1;
        for (const char *q = list; q < p; q += PL_PSEUDONYM_LEN + 1)
            if (!memcmp(q, p, l))
                return -1;
        if (!c)
            return 0;
        p = c + 1;
    }
}

/* 0 when list is 1..max distinct fingerprints (32 lowercase hex digits) separated by commas. */
static int fingerprint_list_ok(const char *list, size_t max)
{
    size_t n = 0, len = strlen(list);
    if (len % (PL_FINGERPRINT_HEX + 1) != PL_FINGERPRINT_HEX)
        return -1;
    for (const char *p = list; p < list + len; p += PL_FINGERPRINT_HEX + 1) {
        if (++n > max || strspn(p, "0123456789abcdef") < PL_FINGERPRINT_HEX ||
            (p[PL_FINGERPRINT_HEX] != ',' && p[PL_FINGERPRINT_HEX] != '\0'))
            return -1;
        for (const char *q = list; q < p; q += PL_FINGERPRINT_HEX + 1)
            if (!memcmp(q, p, PL_FINGERPRINT_HEX))
                return -1;
    }
    return 0;
}

/* The fields of h that the rules read, parsed into r (kind: the record's type, the
 * original's for an amend); r->bad_meta when one is missing or malformed. -1: out of memory. */
static int parse_fields(const pl_header *h, unsigned kind, rec *r)
{
    char buf[PL_META_VALUE_MAX + 1], bad[80];
    int bad_meta = 0;
    int dated = kind != K_OTHER && kind != K_AMEND && kind != K_RETRACT;
    int d = meta_date(h, "date", r->date);
    if (d < 0 || (dated && d == 0))
        bad_meta = 1;
    if (d <= 0)
        feed_entry_date(h, r->date);
    if ((kind == K_GRANT || kind == K_VOLUNTEER) && meta_date(h, "valid_until", r->until) < 0)
        bad_meta = 1;
    if (kind == K_COLLAB && meta_date(h, "planned_end", r->until) <= 0)
        bad_meta = 1;
    if ((kind == K_GRANT || kind == K_WITHDRAW) &&
        (fmt_meta_get(h->meta, h->meta_len, "scopes", buf, sizeof buf) != 0 ||
         pl_scopes_parse(buf, &r->scopes, bad, sizeof bad) != 0 || r->scopes == 0))
        bad_meta = 1;
    if ((kind == K_MATCH || kind == K_VOLUNTEER) &&
        (fmt_meta_get(h->meta, h->meta_len, "guide", r->guide, sizeof r->guide) != 0 ||
         strlen(r->guide) != PL_FINGERPRINT_HEX))
        bad_meta = 1;
    if (kind == K_SESSION || kind == K_SUPERVISION) {
        /* 1..1440, digits only, no leading zero (formats/records.md §4) */
        unsigned long m = 0;
        size_t l = 0;
        if (fmt_meta_get(h->meta, h->meta_len, "minutes", buf, sizeof buf) == 0)
            for (; l < 5 && buf[l] >= '0' && buf[l] <= '9'; l++)
                m = m * 10 + (unsigned long)(buf[l] - '0');
        if (l == 0 || buf[l] != '\0' || buf[0] == '0' || m > 1440)
            bad_meta = 1;
        r->minutes = (unsigned)m;
    }
    if (kind == K_SESSION) {
        unsigned k = 0;
        if (fmt_meta_get(h->meta, h->meta_len, "kind", buf, sizeof buf) == 0)
            while (k < PL_SESSION_KINDS && strcmp(buf, pl_session_kinds[k]) != 0)
                k++;
        if (k == PL_SESSION_KINDS)
            bad_meta = 1;
        r->skind = (uint8_t)(k % PL_SESSION_KINDS);
    }
    if (kind == K_SUPERVISION &&
        (fmt_meta_get(h->meta, h->meta_len, "guides", buf, sizeof buf) != 0 ||
         fingerprint_list_ok(buf, 8) != 0))
        bad_meta = 1;
    else if (kind == K_SUPERVISION) {
        free(r->guides);
        if (!(r->guides = strdup(buf)))
            return -1;
    }
    if (kind == K_SUPERVISION &&
        fmt_meta_get(h->meta, h->meta_len, "subjects", buf, sizeof buf) == 0) {
        if (subject_list_ok(buf, SUPERVISION_SUBJECTS_MAX) != 0)
            bad_meta = 1;
        free(r->subjects);
        if (!(r->subjects = strdup(buf)))
            return -1;
    }
    r->bad_meta = (uint8_t)bad_meta;
    return 0;
}

typedef struct {
    rec_list *L;
    const pl_org *o;
    const pl_org_member *author; /* of the feed last seen */
    uint8_t feed[PL_SIGN_PK_BYTES];
    int have_feed;
    int oom;
} walk_ctx;

static void free_rec(rec *r)
{
    free(r->refs);
    free(r->subjects);
    free(r->guides);
}

static int on_row(void *ctx, const pl_header *h, const uint8_t id[PL_ID_BYTES], int64_t n,
                  int counts, int intact)
{
    walk_ctx *w = ctx;
    rec_list *L = w->L;
    /* Where a feed forked, the entry that arrived first (the lowest row number) stands for
     * the place, as in consent checks (formats/records.md §8). */
    if (L->n && L->r[L->n - 1].seq == h->seq &&
        !memcmp(L->r[L->n - 1].feed, h->feed, PL_SIGN_PK_BYTES)) {
        if (n > L->r[L->n - 1].row)
            return 0;
        free_rec(&L->r[--L->n]);
    }
    rec *grown = pl_grow(L->r, &L->cap, L->n, sizeof *grown);
    if (!grown)
        return w->oom = 1;
    L->r = grown;
    if (!w->have_feed || memcmp(w->feed, h->feed, PL_SIGN_PK_BYTES) != 0) {
        memcpy(w->feed, h->feed, PL_SIGN_PK_BYTES);
        w->author = org_member(w->o, h->feed);
        w->have_feed = 1;
    }
    rec *r = &L->r[L->n];
    memset(r, 0, sizeof *r);
    memcpy(r->id, id, PL_ID_BYTES);
    memcpy(r->feed, h->feed, PL_SIGN_PK_BYTES);
    r->author = w->author;
    r->seq = h->seq;
    r->row = n;
    r->time_ms = h->time_ms;
    r->counts = (int8_t)counts;
    r->intact = intact != 0;
    r->kind = (uint8_t)kind_of_type(h->type);
    memcpy(r->subject, h->subject, sizeof r->subject);
    if (h->nrefs) {
        memcpy(r->ref0, h->refs[0], PL_ID_BYTES);
        r->has_ref = 1;
    }
    unsigned fields = r->kind;
    if (r->kind == K_AMEND) {
        char of[PL_TYPE_MAX + 1];
        if (fmt_meta_get(h->meta, h->meta_len, "of", of, sizeof of) == 0)
            r->of = (uint8_t)kind_of_type(of);
        fields = r->of;
    }
    if (r->kind == K_WITHDRAW && h->nrefs) {
        if (!(r->refs = malloc((size_t)h->nrefs * PL_ID_BYTES)))
            return w->oom = 1;
        memcpy(r->refs, h->refs, (size_t)h->nrefs * PL_ID_BYTES);
        r->nrefs = h->nrefs;
    }
    /* Covered by an erasure written before it: its content was dropped on arrival. */
    const pl_erasure *x = L->ner ? erasure_covering(L->er, L->ner, h, id) : NULL;
    if (x && h->time_ms > x->time_ms)
        r->late = (uint32_t)(x - L->er) + 1;
    L->n++; /* counted now, so that a failure below frees what this row holds */
    if (parse_fields(h, fields, r) != 0)
        return w->oom = 1;
    return 0;
}

/* ---- order and lookup ------------------------------------------------------------------ */

static int by_ledger(const void *a, const void *b, void *base)
{
    const rec *x = &((const rec *)base)[*(const size_t *)a];
    const rec *y = &((const rec *)base)[*(const size_t *)b];
    if (x->time_ms != y->time_ms)
        return x->time_ms < y->time_ms ? -1 : 1;
    int c = memcmp(x->feed, y->feed, PL_SIGN_PK_BYTES);
    if (c)
        return c;
    return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* Puts L in ledger order (time, feed, seq) by sorting indices, then moving each row once. */
static int ledger_sort(rec_list *L)
{
    size_t *ix = malloc((L->n + 1) * sizeof *ix);
    rec *out = malloc((L->n + 1) * sizeof *out);
    if (!ix || !out) {
        free(ix);
        free(out);
        return -1;
    }
    for (size_t i = 0; i < L->n; i++)
        ix[i] = i;
    qsort_r(ix, L->n, sizeof *ix, by_ledger, L->r);
    for (size_t i = 0; i < L->n; i++)
        out[i] = L->r[ix[i]];
    free(ix);
    free(L->r);
    L->r = out;
    L->cap = L->n + 1;
    return 0;
}

typedef struct {
    const rec *r; /* sorted in ledger order */
    size_t *by_id; /* indices sorted by id */
    size_t n;
} ledger;

static int cmp_id_idx(const void *a, const void *b, void *base)
{
    const rec *r = base;
    return memcmp(r[*(const size_t *)a].id, r[*(const size_t *)b].id, PL_ID_BYTES);
}

/* The index of the entry with id, or -1. */
static long find_id(const ledger *g, const uint8_t id[PL_ID_BYTES])
{
    size_t lo = 0, hi = g->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = memcmp(g->r[g->by_id[mid]].id, id, PL_ID_BYTES);
        if (c == 0)
            return (long)g->by_id[mid];
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return -1;
}

/* Amends replace their original's fields, retractions take it out; a correction counts only
 * from the original's own feed, and an amend only of a type that may be amended
 * (formats/records.md §6-7). */
static void apply_corrections(rec *r, const ledger *g)
{
    for (size_t i = 0; i < g->n; i++) {
        rec *c = &r[i];
        if ((c->kind != K_AMEND && c->kind != K_RETRACT) || !c->has_ref || c->counts != 0 ||
            !c->intact)
            continue;
        long t = find_id(g, c->ref0);
        if (t < 0 || memcmp(r[t].feed, c->feed, PL_SIGN_PK_BYTES) != 0 ||
            r[t].kind == K_AMEND || r[t].kind == K_RETRACT)
            continue;
        rec *o = &r[t];
        if (c->kind == K_RETRACT) {
            o->retracted = 1;
            continue;
        }
        if (c->of != o->kind || !pl_record_amendable(kind_types[o->kind]))
            continue;
        memcpy(o->date, c->date, sizeof o->date);
        memcpy(o->until, c->until, sizeof o->until);
        memcpy(o->guide, c->guide, sizeof o->guide);
        o->scopes = c->scopes;
        o->minutes = c->minutes;
        o->skind = c->skind;
        o->bad_meta = c->bad_meta;
        free(o->subjects);
        o->subjects = c->subjects;
        c->subjects = NULL;
        free(o->guides);
        o->guides = c->guides;
        c->guides = NULL;
    }
}

/* ---- findings -------------------------------------------------------------------------- */

typedef struct {
    pl_audit *a;
    const pl_org *o;
    const char *from, *to; /* the range findings are reported for ("" for none) */
    char asof[PL_DATE_LEN + 1];
    int oom;
} audit_run;

static void finding(audit_run *A, unsigned rule, const char *subject, const char *date,
                    const uint8_t *entry, const char *fmt, ...)
    __attribute__((format(printf, 6, 7)));

static void finding(audit_run *A, unsigned rule, const char *subject, const char *date,
                    const uint8_t *entry, const char *fmt, ...)
{
    pl_audit *a = A->a;
    a->rule_count[rule]++;
    pl_finding *grown = pl_grow(a->findings, &a->capfindings, a->nfindings, sizeof *grown);
    if (!grown) {
        A->oom = 1;
        return;
    }
    a->findings = grown;
    pl_finding *f = &a->findings[a->nfindings++];
    memset(f, 0, sizeof *f);
    f->rule = rule;
    snprintf(f->subject, sizeof f->subject, "%s", subject ? subject : "");
    snprintf(f->date, sizeof f->date, "%s", date ? date : "");
    if (entry) {
        memcpy(f->entry, entry, PL_ID_BYTES);
        f->has_entry = 1;
    }
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(f->what, sizeof f->what, fmt, ap);
    va_end(ap);
}

static int in_range(const audit_run *A, const char *date)
{
    return (!A->from[0] || strcmp(date, A->from) >= 0) && (!A->to[0] || strcmp(date, A->to) <= 0);
}

/* A record the rules look at: a root entry that counts, is not retracted and reads well. */
static int live(const rec *r)
{
    return r->counts == 0 && r->intact && !r->retracted && !r->bad_meta;
}

enum { COV_OK, COV_MISSING, COV_EXPIRED, COV_WITHDRAWN };
#define NSCOPES 5u

/* One citizen's consent: the grants (ledger order) and, for each grant and scope, the
 * withdrawal with the earliest date that takes that scope from it: one that names the grant
 * or comes after it in the ledger (formats/audit.md §3). */
typedef struct {
    const rec *r;
    size_t *grant, ngrant;
    size_t *wmin; /* ngrant * NSCOPES, SIZE_MAX for none */
} consent_view;

static int takes(const rec *r, size_t g, size_t w, unsigned bit)
{
    if (!(r[w].scopes & bit))
        return 0;
    if (w > g)
        return 1;
    for (unsigned i = 0; i < r[w].nrefs; i++)
        if (!memcmp(r[w].refs[i], r[g].id, PL_ID_BYTES))
            return 1;
    return 0;
}

/* Builds the view from the subject's entries ix[n] (ledger order); -1 out of memory. */
static int consent_build(consent_view *c, const rec *r, const size_t *ix, size_t n)
{
    size_t nw = 0, *w = malloc((n + 1) * sizeof *w);
    c->r = r;
    c->ngrant = 0;
    c->grant = malloc((n + 1) * sizeof *c->grant);
    c->wmin = malloc((n + 1) * NSCOPES * sizeof *c->wmin);
    if (!w || !c->grant || !c->wmin) {
        free(w);
        return -1;
    }
    for (size_t i = 0; i < n; i++) {
        const rec *e = &r[ix[i]];
        if (e->kind == K_GRANT && live(e))
            c->grant[c->ngrant++] = ix[i];
        else if (e->kind == K_WITHDRAW && live(e))
            w[nw++] = ix[i];
    }
    for (size_t g = 0; g < c->ngrant; g++)
        for (unsigned s = 0; s < NSCOPES; s++) {
            size_t best = SIZE_MAX;
            for (size_t j = 0; j < nw; j++)
                if (takes(r, c->grant[g], w[j], 1u << s) &&
                    (best == SIZE_MAX || strcmp(r[w[j]].date, r[best].date) < 0))
                    best = w[j];
            c->wmin[g * NSCOPES + s] = best;
        }
    free(w);
    return 0;
}

static void consent_free(consent_view *c)
{
    free(c->grant);
    free(c->wmin);
}

/* Whether scope s is active on date; *by receives the deciding grant or withdrawal. */
static int cover(const consent_view *c, unsigned s, const char *date, size_t *by)
{
    const rec *r = c->r;
    int state = COV_MISSING;
    for (size_t i = 0; i < c->ngrant; i++) {
        size_t g = c->grant[i], w = c->wmin[i * NSCOPES + s];
        if (!(r[g].scopes & (1u << s)) || strcmp(date, r[g].date) < 0)
            continue;
        if (r[g].until[0] && strcmp(date, r[g].until) > 0) {
            if (state == COV_MISSING) {
                state = COV_EXPIRED;
                *by = g;
            }
            continue;
        }
        if (w == SIZE_MAX || strcmp(r[w].date, date) > 0) {
            *by = g;
            return COV_OK;
        }
        state = COV_WITHDRAWN;
        *by = w;
    }
    return state;
}

/* Checks that need (scopes) is active for subject on e's date; one finding for the entry
 * when not, naming every scope that is not. */
static void check_consent(audit_run *A, const consent_view *c, const rec *e, const char *subject,
                          unsigned need, const char *what)
{
    const rec *r = c->r;
    int worst = COV_OK;
    size_t why = 0;
    unsigned missing = 0;
    for (unsigned s = 0; s < NSCOPES; s++) {
        if (!(need & (1u << s)))
            continue;
        size_t by = 0;
        int st = cover(c, s, e->date, &by);
        if (st == COV_OK)
            continue;
        missing |= 1u << s;
        if (st > worst) {
            worst = st;
            why = by;
        }
    }
    char scopes[128];
    pl_scopes_format(missing, scopes, sizeof scopes);
    char id[13];
    sodium_bin2hex(id, sizeof id, e->id, 6);
    if (worst == COV_MISSING)
        finding(A, PL_RULE_CONSENT_MISSING, subject, e->date, e->id,
                "%s %s on %s: no consent to %s on that date", what, id, e->date, scopes);
    else if (worst == COV_EXPIRED)
        finding(A, PL_RULE_CONSENT_EXPIRED, subject, e->date, e->id,
                "%s %s on %s: consent to %s ended on %s", what, id, e->date, scopes,
                r[why].until);
    else if (worst == COV_WITHDRAWN) {
        char wid[13];
        sodium_bin2hex(wid, sizeof wid, r[why].id, 6);
        finding(A, PL_RULE_CONSENT_WITHDRAWN, subject, e->date, e->id,
                "%s %s on %s: consent to %s was withdrawn on %s (entry %s)", what, id, e->date,
                scopes, r[why].date, wid);
    }
}

/* ---- timelines and courses --------------------------------------------------------------- */

static void event(audit_run *A, const rec *e, const char *subject, const char *kind,
                  const char *end)
{
    pl_audit *a = A->a;
    pl_audit_event *grown = pl_grow(a->events, &a->capevents, a->nevents, sizeof *grown);
    if (!grown) {
        A->oom = 1;
        return;
    }
    a->events = grown;
    pl_audit_event *x = &a->events[a->nevents++];
    memset(x, 0, sizeof *x);
    snprintf(x->subject, sizeof x->subject, "%s", subject);
    snprintf(x->kind, sizeof x->kind, "%s", kind);
    memcpy(x->date, e->date, sizeof x->date);
    snprintf(x->end, sizeof x->end, "%s", end ? end : "");
    memcpy(x->entry, e->id, PL_ID_BYTES);
    x->minutes = e->minutes;
}

long pl_day_number(const char *d)
{
    long y = atol(d), m = atol(d + 5), dd = atol(d + 8);
    y -= m <= 2;
    long era = (y >= 0 ? y : y - 399) / 400;
    long yoe = y - era * 400;
    long doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + dd - 1;
    long doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

void pl_date_of_day(long day, char out[PL_DATE_LEN + 1])
{
    long z = day + 719468, era = (z >= 0 ? z : z - 146096) / 146097, doe = z - era * 146097;
    long yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    long doy = doe - (365 * yoe + yoe / 4 - yoe / 100), mp = (5 * doy + 2) / 153;
    long d = doy - (153 * mp + 2) / 5 + 1, m = mp < 10 ? mp + 3 : mp - 9;
    long y = yoe + era * 400 + (m <= 2);
    char buf[48];
    snprintf(buf, sizeof buf, "%04ld-%02ld-%02ld", y % 10000, m % 100, d % 100);
    memcpy(out, buf, PL_DATE_LEN);
    out[PL_DATE_LEN] = '\0';
}

static int cmp_date_idx(const void *a, const void *b, void *base)
{
    const rec *r = base;
    size_t i = *(const size_t *)a, j = *(const size_t *)b;
    int c = strcmp(r[i].date, r[j].date);
    if (c)
        return c;
    return i < j ? -1 : i > j;
}

/* Courses of one subject: collaboration agreements until a course.close. */
static void check_courses(audit_run *A, const rec *r, const size_t *ix, size_t n,
                          const char *subject)
{
    size_t *col = malloc((n + 1) * sizeof *col), *cl = malloc((n + 1) * sizeof *cl),
           *ses = malloc((n + 1) * sizeof *ses);
    const char **end = malloc((n + 1) * sizeof *end);
    size_t ncol = 0, ncl = 0, nses = 0;
    if (!col || !cl || !ses || !end) {
        A->oom = 1;
        goto out;
    }
    for (size_t i = 0; i < n; i++) {
        const rec *e = &r[ix[i]];
        if (!live(e))
            continue;
        if (e->kind == K_COLLAB)
            col[ncol++] = ix[i];
        else if (e->kind == K_CLOSE)
            cl[ncl++] = ix[i];
        else if (e->kind == K_SESSION)
            ses[nses++] = ix[i];
    }
    qsort_r(col, ncol, sizeof *col, cmp_date_idx, (void *)r);
    qsort_r(cl, ncl, sizeof *cl, cmp_date_idx, (void *)r);
    qsort_r(ses, nses, sizeof *ses, cmp_date_idx, (void *)r);
    /* Each course ends at the first close on or after its start and before the next course's
     * start (a course left open is not closed by its successor's close); a session is inside
     * when a course's span holds its date. */
    size_t ncourse = ncol;
    for (size_t c = 0; c < ncourse; c++) {
        const rec *k = &r[col[c]];
        end[c] = NULL;
        for (size_t j = 0; j < ncl && !end[c]; j++)
            if (strcmp(r[cl[j]].date, k->date) >= 0 &&
                (c + 1 == ncourse || strcmp(r[cl[j]].date, r[col[c + 1]].date) < 0))
                end[c] = r[cl[j]].date;
        char limit[PL_DATE_LEN + 1], last[PL_DATE_LEN + 1] = "";
        pl_date_plus_months(k->date, PL_COURSE_MONTHS_MAX, limit);
        unsigned count = 0;
        long prev = -1, maxgap = 0, sumgap = 0;
        for (size_t s = 0; s < nses; s++) {
            const char *d = r[ses[s]].date;
            if (strcmp(d, k->date) < 0 || (end[c] && strcmp(d, end[c]) > 0) ||
                (!end[c] && c + 1 < ncourse && strcmp(d, r[col[c + 1]].date) >= 0))
                continue;
            long day = pl_day_number(d);
            if (prev >= 0) {
                sumgap += day - prev;
                if (day - prev > maxgap)
                    maxgap = day - prev;
            }
            prev = day;
            count++;
            memcpy(last, d, sizeof last);
        }
        pl_audit *a = A->a;
        if (a->ncourses < PL_AUDIT_COURSES_MAX) {
            pl_audit_course *x = &a->courses[a->ncourses++];
            memset(x, 0, sizeof *x);
            snprintf(x->subject, sizeof x->subject, "%s", subject);
            const pl_org_member *g = k->author;
            snprintf(x->guide, sizeof x->guide, "%s", g ? g->id.fingerprint : "");
            memcpy(x->start, k->date, sizeof x->start);
            snprintf(x->end, sizeof x->end, "%s", end[c] ? end[c] : "");
            memcpy(x->planned_end, k->until, sizeof x->planned_end);
            x->sessions = count;
            x->mean_gap_days = count > 1 ? (double)sumgap / (count - 1) : 0;
            x->max_gap_days = (unsigned)maxgap;
        } else {
            a->courses_left_off++;
        }
        const char *stop = end[c] ? end[c] : (last[0] ? last : NULL);
        int overlaps = (!A->to[0] || strcmp(k->date, A->to) <= 0) &&
                       (!A->from[0] || !end[c] || strcmp(end[c], A->from) >= 0);
        if (!overlaps)
            continue;
        char id[13];
        sodium_bin2hex(id, sizeof id, k->id, 6);
        if (stop && strcmp(stop, limit) > 0)
            finding(A, PL_RULE_COURSE_LENGTH, subject, k->date, k->id,
                    end[c] ? "course from %s (entry %s) closed on %s: longer than %d months "
                             "(until %s)"
                           : "course from %s (entry %s) has sessions until %s: longer than %d "
                             "months (until %s)",
                    k->date, id, stop, PL_COURSE_MONTHS_MAX, limit);
        else if (!end[c] && strcmp(A->asof, limit) > 0)
            finding(A, PL_RULE_COURSE_LENGTH, subject, k->date, k->id,
                    "course from %s (entry %s) is still open after %d months (since %s): "
                    "close it with 'peerlog course close'",
                    k->date, id, PL_COURSE_MONTHS_MAX, limit);
    }
    /* Sessions outside every course: one finding per subject. */
    unsigned outside = 0;
    const rec *first = NULL, *lastout = NULL;
    for (size_t s = 0; s < nses; s++) {
        const rec *e = &r[ses[s]];
        if (!in_range(A, e->date))
            continue;
        int inside = 0;
        for (size_t c = 0; c < ncourse && !inside; c++)
            inside = strcmp(e->date, r[col[c]].date) >= 0 &&
                     (!end[c] || strcmp(e->date, end[c]) <= 0);
        if (inside)
            continue;
        if (!first)
            first = e;
        lastout = e;
        outside++;
    }
    if (outside) {
        char id[13];
        sodium_bin2hex(id, sizeof id, first->id, 6);
        finding(A, PL_RULE_OUTSIDE_COURSE, subject, first->date, first->id,
                "%u session%s from %s to %s outside any course (first: entry %s)", outside,
                outside == 1 ? "" : "s", first->date, lastout->date, id);
    }
out:
    free(col);
    free(cl);
    free(ses);
    free(end);
}

/* ---- per subject ------------------------------------------------------------------------- */

static int cmp_subject_idx(const void *a, const void *b, void *base)
{
    const rec *r = base;
    size_t i = *(const size_t *)a, j = *(const size_t *)b;
    int c = strcmp(r[i].subject, r[j].subject);
    if (c)
        return c;
    return i < j ? -1 : i > j;
}

/* A citizen a supervision names: the supervisions, expanded, sorted by name. */
typedef struct {
    char subject[PL_PSEUDONYM_LEN + 1];
    size_t sup; /* the supervision's index */
} named;

static int cmp_named(const void *a, const void *b)
{
    const named *x = a, *y = b;
    int c = strcmp(x->subject, y->subject);
    if (c)
        return c;
    return x->sup < y->sup ? -1 : x->sup > y->sup;
}

/* Every (citizen, supervision) pair of the live supervisions in r[n]; NULL on out of memory. */
static named *supervision_names(const rec *r, size_t n, size_t *count)
{
    size_t k = 0, cap = 0;
    for (size_t i = 0; i < n; i++)
        if (r[i].kind == K_SUPERVISION && live(&r[i]) && r[i].subjects)
            cap += SUPERVISION_SUBJECTS_MAX;
    named *out = malloc((cap + 1) * sizeof *out);
    if (!out)
        return NULL;
    for (size_t i = 0; i < n; i++) {
        if (r[i].kind != K_SUPERVISION || !live(&r[i]) || !r[i].subjects)
            continue;
        /* checked by subject_list_ok: pseudonyms of PL_PSEUDONYM_LEN, comma-separated */
        for (const char *p = r[i].subjects; *p; p += p[PL_PSEUDONYM_LEN] ? PL_PSEUDONYM_LEN + 1
                                                                          : PL_PSEUDONYM_LEN) {
            memcpy(out[k].subject, p, PL_PSEUDONYM_LEN);
            out[k].subject[PL_PSEUDONYM_LEN] = '\0';
            out[k++].sup = i;
        }
    }
    qsort(out, k, sizeof *out, cmp_named);
    *count = k;
    return out;
}

/* The first pair naming subject, or nnamed. */
static size_t named_first(const named *nm, size_t nnamed, const char *subject)
{
    size_t lo = 0, hi = nnamed;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (strcmp(nm[mid].subject, subject) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

static void audit_subject(audit_run *A, const rec *r, const size_t *ix, size_t n,
                          const named *nm, size_t nnamed)
{
    const char *subject = r[ix[0]].subject;
    consent_view cv;
    if (consent_build(&cv, r, ix, n) != 0) {
        consent_free(&cv);
        A->oom = 1;
        return;
    }
    A->a->subjects++;
    for (size_t i = 0; i < n; i++) {
        const rec *e = &r[ix[i]];
        if (!live(e))
            continue;
        static const char *const tl[NKINDS] = {
            [K_GRANT] = "consent", [K_WITHDRAW] = "withdrawal", [K_SESSION] = "session",
            [K_MATCH] = "match", [K_COLLAB] = "course", [K_CLOSE] = "close"};
        if (tl[e->kind])
            event(A, e, subject, tl[e->kind],
                  e->kind == K_GRANT || e->kind == K_COLLAB ? e->until : NULL);
        if (!in_range(A, e->date))
            continue;
        if (e->kind == K_SESSION)
            check_consent(A, &cv, e, subject, PL_SCOPE_SESSION, "session");
        else if (e->kind == K_MATCH)
            check_consent(A, &cv, e, subject, PL_SCOPE_PEER_SUPPORT, "match");
        else if (e->kind == K_COLLAB)
            check_consent(A, &cv, e, subject, PL_SCOPE_PEER_SUPPORT, "collaboration agreement");
    }
    for (size_t i = named_first(nm, nnamed, subject);
         i < nnamed && !strcmp(nm[i].subject, subject); i++) {
        const rec *e = &r[nm[i].sup];
        event(A, e, subject, "supervision", NULL);
        if (in_range(A, e->date))
            check_consent(A, &cv, e, subject, PL_SCOPE_SUPERVISION_SHARING, "supervision");
    }
    consent_free(&cv);
    check_courses(A, r, ix, n, subject);
}

/* A supervision naming a citizen no other entry names: no consent can cover it. */
static void unknown_subjects(audit_run *A, const rec *r, const size_t *ix, size_t nix,
                             const named *nm, size_t nnamed)
{
    for (size_t i = 0; i < nnamed; i++) {
        size_t lo = 0, hi = nix;
        while (lo < hi) {
            size_t mid = lo + (hi - lo) / 2;
            if (strcmp(r[ix[mid]].subject, nm[i].subject) < 0)
                lo = mid + 1;
            else
                hi = mid;
        }
        const rec *e = &r[nm[i].sup];
        if ((lo == nix || strcmp(r[ix[lo]].subject, nm[i].subject) != 0) &&
            in_range(A, e->date)) {
            char id[13];
            sodium_bin2hex(id, sizeof id, e->id, 6);
            finding(A, PL_RULE_CONSENT_MISSING, nm[i].subject, e->date, e->id,
                    "supervision %s on %s names %s, who has no consent in the ledger", id,
                    e->date, nm[i].subject);
        }
    }
}

/* ---- volunteer agreements ------------------------------------------------------------------ */

/* 1 when the guide fp had a countersigned volunteer agreement active on date. */
static int agreement_active(const rec *r, const size_t *vol, size_t nvol, const size_t *sig,
                            size_t nsig, const audit_run *A, const char *fp, const char *date)
{
    for (size_t i = 0; i < nvol; i++) {
        const rec *v = &r[vol[i]];
        if (strcmp(v->guide, fp) != 0 || strcmp(date, v->date) < 0 ||
            (v->until[0] && strcmp(date, v->until) > 0))
            continue;
        for (size_t j = 0; j < nsig; j++) {
            const rec *s = &r[sig[j]];
            const pl_org_member *m = s->author;
            if (m && !strcmp(m->id.fingerprint, fp) && !memcmp(s->ref0, v->id, PL_ID_BYTES) &&
                strcmp(s->date, date) <= 0)
                return 1;
        }
    }
    return 0;
}

static void check_agreements(audit_run *A, const rec *r, size_t n)
{
    size_t *vol = malloc((n + 1) * sizeof *vol), *sig = malloc((n + 1) * sizeof *sig);
    size_t nvol = 0, nsig = 0;
    struct {
        char fp[PL_FINGERPRINT_HEX + 1];
        unsigned count;
        size_t first, last;
    } *gap = calloc(PL_ORG_MEMBERS_MAX, sizeof *gap);
    size_t ngap = 0;
    if (!vol || !sig || !gap) {
        A->oom = 1;
        goto out;
    }
    for (size_t i = 0; i < n; i++) {
        if (r[i].kind == K_VOLUNTEER && live(&r[i]))
            vol[nvol++] = i;
        else if (r[i].kind == K_SIGN && live(&r[i]) && r[i].has_ref)
            sig[nsig++] = i;
    }
    for (size_t i = 0; i < n; i++) {
        const rec *e = &r[i];
        if (e->kind != K_SESSION || !live(e) || !in_range(A, e->date))
            continue;
        const pl_org_member *m = e->author;
        if (!m || agreement_active(r, vol, nvol, sig, nsig, A, m->id.fingerprint, e->date))
            continue;
        size_t k = 0;
        while (k < ngap && strcmp(gap[k].fp, m->id.fingerprint) != 0)
            k++;
        if (k == ngap) {
            if (ngap == PL_ORG_MEMBERS_MAX)
                continue;
            memcpy(gap[ngap].fp, m->id.fingerprint, sizeof gap[ngap].fp);
            gap[ngap].first = gap[ngap].last = i;
            ngap++;
        }
        if (strcmp(e->date, r[gap[k].first].date) < 0)
            gap[k].first = i;
        if (strcmp(e->date, r[gap[k].last].date) > 0)
            gap[k].last = i;
        gap[k].count++;
    }
    for (size_t k = 0; k < ngap; k++) {
        const rec *f = &r[gap[k].first];
        char id[13];
        sodium_bin2hex(id, sizeof id, f->id, 6);
        finding(A, PL_RULE_AGREEMENT, "", f->date, f->id,
                "guide %.8s… had no active countersigned volunteer agreement for %u session%s "
                "from %s to %s (first: entry %s)",
                gap[k].fp, gap[k].count, gap[k].count == 1 ? "" : "s", f->date,
                r[gap[k].last].date, id);
    }
out:
    free(vol);
    free(sig);
    free(gap);
}

/* ---- the audit --------------------------------------------------------------------------- */

static void free_recs(rec_list *L)
{
    for (size_t i = 0; i < L->n; i++)
        free_rec(&L->r[i]);
    free(L->r);
    free(L->er);
}

static void integrity_findings(audit_run *A, const pl_verify_report *rep, const rec *r, size_t n)
{
    size_t shown = rep->nproblems < PL_VERIFY_MAX_PROBLEMS ? rep->nproblems
                                                           : PL_VERIFY_MAX_PROBLEMS;
    for (size_t i = 0; i < shown; i++) {
        char feed[17];
        sodium_bin2hex(feed, sizeof feed, rep->problem[i].feed, 8);
        if (rep->problem[i].seq)
            finding(A, PL_RULE_INTEGRITY, "", "", NULL, "feed %s… entry %llu: %s", feed,
                    (unsigned long long)rep->problem[i].seq, rep->problem[i].what);
        else
            finding(A, PL_RULE_INTEGRITY, "", "", NULL, "%s", rep->problem[i].what);
    }
    if (rep->nproblems > shown)
        finding(A, PL_RULE_INTEGRITY, "", "", NULL, "and %zu more integrity problems",
                rep->nproblems - shown);
    for (size_t i = 0; i < n; i++) {
        const rec *e = &r[i];
        char id[13];
        sodium_bin2hex(id, sizeof id, e->id, 6);
        if (e->counts == -2 && in_range(A, e->date)) {
            const pl_org_member *m = e->author;
            finding(A, PL_RULE_REMOVED_AUTHOR, e->subject, e->date, e->id,
                    "%s %s by %.8s…, written after their removal: kept as evidence, does not "
                    "count",
                    kind_types[e->kind][0] ? kind_types[e->kind] : "entry", id,
                    m ? m->id.fingerprint : "?");
        } else if (e->counts == 0 && e->bad_meta) {
            finding(A, PL_RULE_INTEGRITY, e->subject, e->date, e->id,
                    "entry %s: its header metadata is malformed, so it was not checked", id);
        }
    }
}

/* Entries an erasure covers that were written after it (an offline laptop's): their content
 * was dropped where they arrived; the audit names them (formats/audit.md, after-erasure). */
static void late_findings(audit_run *A, const rec_list *L)
{
    for (size_t i = 0; i < L->n; i++) {
        const rec *e = &L->r[i];
        if (!e->late || !in_range(A, e->date))
            continue;
        const pl_erasure *x = &L->er[e->late - 1];
        char id[13], xid[13];
        sodium_bin2hex(id, sizeof id, e->id, 6);
        sodium_bin2hex(xid, sizeof xid, x->id, 6);
        finding(A, PL_RULE_AFTER_ERASURE, x->subject, e->date, e->id,
                "%s %s by %.8s…, written after erasure %s (%s) of %s: its content was dropped "
                "where it arrived",
                kind_types[e->kind][0] ? kind_types[e->kind] : "entry", id,
                e->author ? e->author->id.fingerprint : "?", xid, x->date, x->subject);
    }
}

void pl_audit_free(pl_audit *a)
{
    if (!a)
        return;
    free(a->findings);
    free(a->events);
    free(a->courses);
    memset(a, 0, sizeof *a);
}

/* What the audit and the report read: the organisation (o), verify's walk (rep) and every
 * entry that reached the walk, in ledger order with corrections applied (L). The vault's
 * owner must be a current member holding one of roles; what names the command. */
static pl_status collect(pl_vault *v, unsigned roles, const char *what, pl_org *o,
                         pl_verify_report *rep, rec_list *L, pl_err *err)
{
    pl_status st = vault_org(v, o, err);
    if (st == PL_E_NOTFOUND)
        return pl_fail(err, PL_E_NOTFOUND, "this vault belongs to no organisation: the %s "
                                           "reads an organisation's ledger", what);
    if (st != PL_OK)
        return st;
    const pl_org_member *me = org_member(o, v->id.sign_pk);
    if (!me || me->removed || !(me->roles & roles))
        return pl_fail(err, PL_E_ACCESS, "only an auditor or a coordinator runs the %s", what);
    /* Room for every row at once: the highest row number is their count (rows are never
     * deleted). */
    sqlite3_stmt *q = NULL;
    if (sqlite3_prepare_v2(v->db, "SELECT max(n) FROM entries", -1, &q, NULL) == SQLITE_OK &&
        sqlite3_step(q) == SQLITE_ROW) {
        sqlite3_int64 rows = sqlite3_column_int64(q, 0);
        if (rows > 0 && rows < (sqlite3_int64)(SIZE_MAX / sizeof *L->r) &&
            (L->r = malloc((size_t)rows * sizeof *L->r)) != NULL)
            L->cap = (size_t)rows;
    }
    sqlite3_finalize(q);
    if ((st = erasures_load(v, o, &L->er, &L->ner, err)) != PL_OK)
        return st;
    walk_ctx w = {L, o, NULL, {0}, 0, 0};
    st = verify_run(v, 0, rep, on_row, &w, err);
    if (st == PL_OK && w.oom)
        st = pl_fail(err, PL_E_NOMEM, "out of memory");
    if (st != PL_OK)
        return st;
    size_t *by_id = NULL;
    if (ledger_sort(L) != 0 || !(by_id = malloc((L->n + 1) * sizeof *by_id)))
        return pl_fail(err, PL_E_NOMEM, "out of memory");
    for (size_t i = 0; i < L->n; i++)
        by_id[i] = i;
    qsort_r(by_id, L->n, sizeof *by_id, cmp_id_idx, L->r);
    ledger g = {L->r, by_id, L->n};
    apply_corrections(L->r, &g);
    free(by_id);
    return PL_OK;
}

pl_status vault_audit(pl_vault *v, const char *from, const char *to, pl_audit *a, pl_err *err)
{
    memset(a, 0, sizeof *a);
    if ((from && !fmt_date_valid(from)) || (to && !fmt_date_valid(to)))
        return pl_fail(err, PL_E_INVALID, "the audit's dates must be valid YYYY-MM-DD dates");
    pl_org *o = calloc(1, sizeof *o);
    pl_verify_report *rep = calloc(1, sizeof *rep);
    rec_list L = {0};
    size_t *ix = NULL;
    named *nm = NULL;
    size_t nnamed = 0;
    pl_status st = PL_OK;
    if (!o || !rep || !(a->courses = calloc(PL_AUDIT_COURSES_MAX, sizeof *a->courses))) {
        st = pl_fail(err, PL_E_NOMEM, "out of memory");
        goto out;
    }
    if ((st = collect(v, PL_ROLE_COORDINATOR | PL_ROLE_AUDITOR, "audit", o, rep, &L, err)) !=
        PL_OK)
        goto out;
    a->entries = rep->entries;
    a->feeds = rep->feeds;
    a->signatures_checked = rep->signatures_checked;
    a->bodies_checked = rep->bodies_checked;
    if (!(ix = malloc((L.n + 1) * sizeof *ix))) {
        st = pl_fail(err, PL_E_NOMEM, "out of memory");
        goto out;
    }

    audit_run A = {a, o, from ? from : "", to ? to : "", "", 0};
    if (to)
        memcpy(A.asof, to, PL_DATE_LEN + 1);
    else
        pl_today(A.asof);
    integrity_findings(&A, rep, L.r, L.n);
    late_findings(&A, &L);
    check_agreements(&A, L.r, L.n);

    /* Subjects: the entries that name one, grouped; supervisions name theirs in metadata. */
    size_t nix = 0;
    for (size_t i = 0; i < L.n; i++) {
        const rec *e = &L.r[i];
        if (e->kind == K_SESSION && live(e) && in_range(&A, e->date))
            a->sessions++;
        if (e->kind == K_SUPERVISION && live(e) && in_range(&A, e->date))
            a->supervisions++;
        if (e->subject[0] && e->kind != K_AMEND && e->kind != K_RETRACT)
            ix[nix++] = i;
    }
    qsort_r(ix, nix, sizeof *ix, cmp_subject_idx, L.r);
    if (!(nm = supervision_names(L.r, L.n, &nnamed))) {
        st = pl_fail(err, PL_E_NOMEM, "out of memory");
        goto out;
    }
    for (size_t i = 0; i < nix && !A.oom;) {
        size_t j = i + 1;
        while (j < nix && !strcmp(L.r[ix[j]].subject, L.r[ix[i]].subject))
            j++;
        audit_subject(&A, L.r, ix + i, j - i, nm, nnamed);
        i = j;
    }
    unknown_subjects(&A, L.r, ix, nix, nm, nnamed);
    if (A.oom)
        st = pl_fail(err, PL_E_NOMEM, "out of memory");
out:
    free(ix);
    free(nm);
    free_recs(&L);
    free(rep);
    free(o);
    if (st != PL_OK)
        pl_audit_free(a);
    return st;
}

/* ---- report ------------------------------------------------------------------------------ */

enum { CELL_STARTED, CELL_CLOSED, CELL_KIND, CELL_ANY = CELL_KIND + PL_SESSION_KINDS, CELL_GUIDE,
       CELLS };

/* One (row, cell, citizen or guide) fact; sorted, the distinct ones are counted. */
typedef struct {
    size_t row;
    unsigned cell;
    char who[PL_FINGERPRINT_HEX + 1];
} fact;

static int cmp_fact(const void *a, const void *b)
{
    const fact *x = a, *y = b;
    if (x->row != y->row)
        return x->row < y->row ? -1 : 1;
    if (x->cell != y->cell)
        return x->cell < y->cell ? -1 : 1;
    return strcmp(x->who, y->who);
}

static int cmp_row(const void *a, const void *b)
{
    return strcmp(((const pl_report_row *)a)->key, ((const pl_report_row *)b)->key);
}

typedef struct {
    pl_report *r;
    size_t cap;
    fact *facts;
    size_t nfacts, capfacts;
    int oom;
} report_build;

/* The row for key (made when new); SIZE_MAX when out of memory. */
static size_t row_of(report_build *b, const char *key, const char *label)
{
    for (size_t i = 0; i < b->r->nrows; i++) /* months and guides: a few dozen rows */
        if (!strcmp(b->r->rows[i].key, key))
            return i;
    pl_report_row *grown = pl_grow(b->r->rows, &b->cap, b->r->nrows, sizeof *grown);
    if (!grown) {
        b->oom = 1;
        return SIZE_MAX;
    }
    b->r->rows = grown;
    pl_report_row *x = &b->r->rows[b->r->nrows];
    memset(x, 0, sizeof *x);
    snprintf(x->key, sizeof x->key, "%s", key);
    snprintf(x->label, sizeof x->label, "%s", label ? label : "");
    return b->r->nrows++;
}

static void add_fact(report_build *b, size_t row, unsigned cell, const char *who)
{
    if (row == SIZE_MAX)
        return;
    fact *grown = pl_grow(b->facts, &b->capfacts, b->nfacts, sizeof *grown);
    if (!grown) {
        b->oom = 1;
        return;
    }
    b->facts = grown;
    fact *f = &b->facts[b->nfacts++];
    f->row = row;
    f->cell = cell;
    snprintf(f->who, sizeof f->who, "%s", who);
}

/* The row an entry counts in: its month, or (by guide) its author's fingerprint. */
static size_t entry_row(report_build *b, const rec *e, int by_guide)
{
    char month[8];
    if (!by_guide) {
        snprintf(month, sizeof month, "%.7s", e->date);
        return row_of(b, month, NULL);
    }
    if (!e->author)
        return SIZE_MAX;
    return row_of(b, e->author->id.fingerprint, e->author->id.name);
}

static unsigned *cell_count(pl_report_row *x, unsigned cell)
{
    if (cell == CELL_STARTED)
        return &x->citizens_started;
    if (cell == CELL_CLOSED)
        return &x->citizens_closed;
    if (cell < CELL_ANY)
        return &x->citizens_kind[cell - CELL_KIND];
    return cell == CELL_ANY ? &x->citizens : &x->guides;
}

static void sum_row(pl_report_row *t, const pl_report_row *x)
{
    t->courses_started += x->courses_started;
    t->courses_closed += x->courses_closed;
    for (unsigned k = 0; k < PL_SESSION_KINDS; k++) {
        t->sessions[k] += x->sessions[k];
        t->minutes[k] += x->minutes[k];
    }
    t->supervisions += x->supervisions;
    t->supervision_minutes += x->supervision_minutes;
}

static int few(unsigned citizens)
{
    return citizens > 0 && citizens < PL_REPORT_MIN_CITIZENS;
}

/* The value of a column (a PL_HIDE_* bit) in row x, for choosing what else to hide. */
static uint64_t column_value(const pl_report_row *x, unsigned bit)
{
    if (bit == PL_HIDE_STARTED)
        return x->courses_started;
    if (bit == PL_HIDE_CLOSED)
        return x->courses_closed;
    uint64_t all = 0;
    for (unsigned k = 0; k < PL_SESSION_KINDS; k++) {
        if (bit == PL_HIDE_KIND(k))
            return x->sessions[k];
        all += x->sessions[k];
    }
    return all; /* PL_HIDE_TOTAL */
}

/* Primary suppression (counts about 1 to 4 citizens), then secondary: a row's totals go with
 * any hidden kind, and a column with a single hidden cell hides its smallest shown cell too,
 * until nothing changes; so no hidden count follows from the others by subtraction within a
 * row or down a column (formats/report.md §2). */
static void suppress_cells(pl_report *r)
{
    pl_report_row *all[2] = {&r->total, NULL};
    for (size_t i = 0; i <= r->nrows; i++) {
        pl_report_row *x = i < r->nrows ? &r->rows[i] : all[0];
        x->hidden |= few(x->citizens_started) ? PL_HIDE_STARTED : 0;
        x->hidden |= few(x->citizens_closed) ? PL_HIDE_CLOSED : 0;
        x->hidden |= few(x->citizens) ? PL_HIDE_CITIZENS | PL_HIDE_TOTAL : 0;
        for (unsigned k = 0; k < PL_SESSION_KINDS; k++)
            x->hidden |= few(x->citizens_kind[k]) ? PL_HIDE_KIND(k) : 0;
    }
    static const unsigned columns[] = {PL_HIDE_STARTED, PL_HIDE_CLOSED, PL_HIDE_KIND(0),
                                       PL_HIDE_KIND(1), PL_HIDE_KIND(2), PL_HIDE_KIND(3),
                                       PL_HIDE_TOTAL};
    for (int changed = 1; changed;) {
        changed = 0;
        for (size_t i = 0; i <= r->nrows; i++) {
            pl_report_row *x = i < r->nrows ? &r->rows[i] : &r->total;
            unsigned kinds = (PL_HIDE_KIND(PL_SESSION_KINDS) - 1u) & ~(PL_HIDE_KIND(0) - 1u);
            if ((x->hidden & kinds) && !(x->hidden & PL_HIDE_TOTAL)) {
                x->hidden |= PL_HIDE_TOTAL;
                changed = 1;
            }
        }
        for (size_t c = 0; c < sizeof columns / sizeof columns[0]; c++) {
            size_t hidden = 0, pick = SIZE_MAX;
            for (size_t i = 0; i < r->nrows; i++) {
                const pl_report_row *x = &r->rows[i];
                if (x->hidden & columns[c])
                    hidden++;
                else if (column_value(x, columns[c]) &&
                         (pick == SIZE_MAX ||
                          column_value(x, columns[c]) < column_value(&r->rows[pick], columns[c])))
                    pick = i;
            }
            if (hidden == 1 && pick != SIZE_MAX) {
                r->rows[pick].hidden |= columns[c];
                changed = 1;
            }
        }
    }
}

pl_status vault_report(pl_vault *v, const char *from, const char *to, int by_guide,
                       int suppress, pl_report *out, pl_err *err)
{
    memset(out, 0, sizeof *out);
    if ((from && !fmt_date_valid(from)) || (to && !fmt_date_valid(to)))
        return pl_fail(err, PL_E_INVALID, "the report's dates must be valid YYYY-MM-DD dates");
    pl_org *o = calloc(1, sizeof *o);
    pl_verify_report *rep = calloc(1, sizeof *rep);
    rec_list L = {0};
    report_build b = {out, 0, NULL, 0, 0, 0};
    pl_status st = PL_OK;
    if (!o || !rep) {
        st = pl_fail(err, PL_E_NOMEM, "out of memory");
        goto out;
    }
    if ((st = collect(v, PL_ROLE_COORDINATOR | PL_ROLE_AUDITOR, "report", o, rep, &L, err)) !=
        PL_OK)
        goto out;
    audit_run A = {NULL, o, from ? from : "", to ? to : "", "", 0};
    for (size_t i = 0; i < L.n && !b.oom; i++) {
        const rec *e = &L.r[i];
        if (!live(e) || !in_range(&A, e->date))
            continue;
        if (e->kind == K_COLLAB || e->kind == K_CLOSE || e->kind == K_SESSION) {
            size_t row = entry_row(&b, e, by_guide);
            if (row == SIZE_MAX)
                continue;
            pl_report_row *x = &out->rows[row];
            if (e->kind == K_COLLAB) {
                x->courses_started++;
                add_fact(&b, row, CELL_STARTED, e->subject);
            } else if (e->kind == K_CLOSE) {
                x->courses_closed++;
                add_fact(&b, row, CELL_CLOSED, e->subject);
            } else {
                x->sessions[e->skind]++;
                x->minutes[e->skind] += e->minutes;
                add_fact(&b, row, CELL_KIND + e->skind, e->subject);
                add_fact(&b, row, CELL_ANY, e->subject);
                if (e->author)
                    add_fact(&b, row, CELL_GUIDE, e->author->id.fingerprint);
            }
        } else if (e->kind == K_SUPERVISION) {
            /* by month: once; by guide: for each guide it names */
            if (!by_guide) {
                size_t row = entry_row(&b, e, 0);
                if (row != SIZE_MAX) {
                    out->rows[row].supervisions++;
                    out->rows[row].supervision_minutes += e->minutes;
                }
                continue;
            }
            for (const char *p = e->guides; p && *p;) {
                const char *c = strchr(p, ',');
                size_t l = c ? (size_t)(c - p) : strlen(p);
                char fp[PL_FINGERPRINT_HEX + 1];
                snprintf(fp, sizeof fp, "%.*s", (int)(l < PL_FINGERPRINT_HEX ? l : PL_FINGERPRINT_HEX), p);
                const pl_org_member *g = pl_org_find(o, fp);
                size_t row = g ? row_of(&b, g->id.fingerprint, g->id.name) : SIZE_MAX;
                if (row != SIZE_MAX) {
                    out->rows[row].supervisions++;
                    out->rows[row].supervision_minutes += e->minutes;
                }
                p = c ? c + 1 : NULL;
            }
        }
    }
    if (b.oom) {
        st = pl_fail(err, PL_E_NOMEM, "out of memory");
        goto out;
    }
    /* Distinct citizens (and guides) behind each count, per row and over all rows. */
    qsort(b.facts, b.nfacts, sizeof *b.facts, cmp_fact);
    for (size_t i = 0; i < b.nfacts; i++)
        if (i == 0 || cmp_fact(&b.facts[i - 1], &b.facts[i]) != 0)
            (*cell_count(&out->rows[b.facts[i].row], b.facts[i].cell))++;
    for (size_t i = 0; i < b.nfacts; i++)
        b.facts[i].row = 0;
    qsort(b.facts, b.nfacts, sizeof *b.facts, cmp_fact);
    for (size_t i = 0; i < b.nfacts; i++)
        if (i == 0 || cmp_fact(&b.facts[i - 1], &b.facts[i]) != 0)
            (*cell_count(&out->total, b.facts[i].cell))++;
    for (size_t i = 0; i < out->nrows; i++)
        sum_row(&out->total, &out->rows[i]);
    qsort(out->rows, out->nrows, sizeof *out->rows, cmp_row);
    if (suppress)
        suppress_cells(out);
out:
    free(b.facts);
    free_recs(&L);
    free(rep);
    free(o);
    if (st != PL_OK)
        pl_report_free(out);
    return st;
}

void pl_report_free(pl_report *r)
{
    if (!r)
        return;
    free(r->rows);
    memset(r, 0, sizeof *r);
}
