/* Record types (formats/records.md): body schemas, the header metadata derived from them,
 * and the consent rules a session must satisfy. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "formats/meta.h"
#include "vault/internal.h"

static const char *const scope_names[] = {"peer-support", "record-keeping", "supervision-sharing",
                                          "contact-professionals", "evaluation"};
#define NSCOPES (sizeof scope_names / sizeof scope_names[0])
const char *const pl_session_kinds[PL_SESSION_KINDS] = {"one-to-one", "accompaniment", "group",
                                                        "ward"};
static const char *const consent_methods[] = {"written", "verbal", "digital"};

#define TEXT_MAX 200u   /* name, contact, place, a theme, a reason */
#define NOTE_MAX PL_NOTE_MAX

int pl_names_parse(const char *list, const char *const *names, size_t count, unsigned *mask,
                   char *bad, size_t cap)
{
    *mask = 0;
    const char *p = list;
    while (*p) {
        const char *end = strchr(p, ',');
        size_t n = end ? (size_t)(end - p) : strlen(p);
        size_t i;
        for (i = 0; i < count; i++)
            if (strlen(names[i]) == n && !strncmp(names[i], p, n))
                break;
        if (i == count) {
            snprintf(bad, cap, "%.*s", (int)(n > 64 ? 64 : n), p);
            return -1;
        }
        *mask |= 1u << i;
        p += n;
        if (*p == ',')
            p++;
    }
    if (!*mask) {
        snprintf(bad, cap, "(none)");
        return -1;
    }
    return 0;
}

void pl_names_format(unsigned mask, const char *const *names, size_t count, char *out,
                     size_t cap)
{
    size_t at = 0;
    out[0] = '\0';
    for (size_t i = 0; i < count; i++)
        if (mask & (1u << i)) {
            int w = snprintf(out + at, cap - at, "%s%s", at ? "," : "", names[i]);
            if (w < 0 || (size_t)w >= cap - at)
                return;
            at += (size_t)w;
        }
}

int pl_scopes_parse(const char *list, unsigned *mask, char *bad, size_t cap)
{
    return pl_names_parse(list, scope_names, NSCOPES, mask, bad, cap);
}

void pl_scopes_format(unsigned mask, char *out, size_t cap)
{
    pl_names_format(mask, scope_names, NSCOPES, out, cap);
}

static int one_of(const char *s, const char *const *set, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!strcmp(s, set[i]))
            return 1;
    return 0;
}

/* ---- body schemas ------------------------------------------------------------------- */

#define META_PAIRS 10u

typedef struct {
    pl_meta_pair pair[META_PAIRS];
    size_t n;
    char buf[META_PAIRS][400]; /* storage for derived values */
    int bad;                   /* a value did not fit: fmt_meta_build must not run */
} meta_set;

static void meta_add(meta_set *m, const char *key, const char *value)
{
    size_t len = strlen(value);
    if (m->n >= META_PAIRS || len >= sizeof m->buf[0]) {
        m->bad = 1;
        return;
    }
    {
        memcpy(m->buf[m->n], value, len + 1);
        m->pair[m->n].key = key;
        m->pair[m->n].value = m->buf[m->n];
        m->n++;
    }
}

/* Only these keys, each of the right JSON kind. */
static pl_status check_keys(json_t *body, const char *const *allowed, size_t n, const char *type,
                            pl_err *err)
{
    const char *key;
    json_t *val;
    json_object_foreach(body, key, val) {
        if (!one_of(key, allowed, n))
            return pl_fail(err, PL_E_INVALID, "a %s record has no field '%s'", type, key);
    }
    return PL_OK;
}

static pl_status opt_text(json_t *body, const char *key, size_t max, int required,
                          const char **out, pl_err *err)
{
    json_t *v = json_object_get(body, key);
    *out = NULL;
    if (!v) {
        if (required)
            return pl_fail(err, PL_E_INVALID, "the field '%s' is required", key);
        return PL_OK;
    }
    if (!json_is_string(v) || json_string_length(v) > max ||
        strlen(json_string_value(v)) != json_string_length(v))
        return pl_fail(err, PL_E_INVALID, "'%s' must be text of at most %zu bytes", key, max);
    if (required && json_string_length(v) == 0)
        return pl_fail(err, PL_E_INVALID, "the field '%s' must not be empty", key);
    *out = json_string_value(v);
    return PL_OK;
}

static pl_status req_date(json_t *body, const char *key, int required, const char **out,
                          pl_err *err)
{
    pl_status st = opt_text(body, key, PL_DATE_LEN, required, out, err);
    if (st == PL_OK && *out && !fmt_date_valid(*out))
        return pl_fail(err, PL_E_INVALID, "'%s' must be a date YYYY-MM-DD, not '%s'", key, *out);
    return st;
}

static pl_status scopes_field(json_t *body, unsigned *mask, pl_err *err)
{
    json_t *a = json_object_get(body, "scopes"), *s;
    size_t i;
    *mask = 0;
    if (!json_is_array(a) || json_array_size(a) == 0)
        return pl_fail(err, PL_E_INVALID, "'scopes' must list at least one scope");
    json_array_foreach(a, i, s) {
        char bad[80];
        unsigned one;
        if (!json_is_string(s) || strchr(json_string_value(s), ',') ||
            pl_scopes_parse(json_string_value(s), &one, bad, sizeof bad) != 0)
            return pl_fail(err, PL_E_INVALID, "unknown consent scope in 'scopes'");
        if (*mask & one)
            return pl_fail(err, PL_E_INVALID, "a scope is listed twice in 'scopes'");
        *mask |= one;
    }
    return PL_OK;
}

static pl_status schema_consent_grant(json_t *b, meta_set *m, pl_err *err)
{
    static const char *const keys[] = {"scopes", "valid_from", "valid_until", "method", "name",
                                       "contact"};
    const char *from, *until, *method, *name, *contact;
    unsigned mask;
    char list[128];
    pl_status st;
    if ((st = check_keys(b, keys, 6, "consent.grant", err)) != PL_OK ||
        (st = scopes_field(b, &mask, err)) != PL_OK ||
        (st = req_date(b, "valid_from", 1, &from, err)) != PL_OK ||
        (st = req_date(b, "valid_until", 0, &until, err)) != PL_OK ||
        (st = opt_text(b, "method", 16, 1, &method, err)) != PL_OK ||
        (st = opt_text(b, "name", TEXT_MAX, 0, &name, err)) != PL_OK ||
        (st = opt_text(b, "contact", TEXT_MAX, 0, &contact, err)) != PL_OK)
        return st;
    if (!one_of(method, consent_methods, 3))
        return pl_fail(err, PL_E_INVALID, "'method' must be written, verbal or digital");
    if (until && strcmp(until, from) < 0)
        return pl_fail(err, PL_E_INVALID, "consent cannot end (%s) before it starts (%s)", until,
                       from);
    pl_scopes_format(mask, list, sizeof list);
    meta_add(m, "scopes", list);
    meta_add(m, "date", from);
    meta_add(m, "method", method);
    if (until)
        meta_add(m, "valid_until", until);
    return PL_OK;
}

static pl_status schema_consent_withdraw(json_t *b, meta_set *m, pl_err *err)
{
    static const char *const keys[] = {"scopes", "date", "reason"};
    const char *date, *reason;
    unsigned mask;
    char list[128];
    pl_status st;
    if ((st = check_keys(b, keys, 3, "consent.withdraw", err)) != PL_OK ||
        (st = scopes_field(b, &mask, err)) != PL_OK ||
        (st = req_date(b, "date", 1, &date, err)) != PL_OK ||
        (st = opt_text(b, "reason", TEXT_MAX, 0, &reason, err)) != PL_OK)
        return st;
    pl_scopes_format(mask, list, sizeof list);
    meta_add(m, "scopes", list);
    meta_add(m, "date", date);
    return PL_OK;
}

static pl_status schema_session(json_t *b, meta_set *m, pl_err *err)
{
    static const char *const keys[] = {"date", "minutes", "kind", "place", "themes", "note"};
    const char *date, *kind, *place, *note;
    pl_status st;
    char num[16];
    if ((st = check_keys(b, keys, 6, "session", err)) != PL_OK ||
        (st = req_date(b, "date", 1, &date, err)) != PL_OK ||
        (st = opt_text(b, "kind", 16, 1, &kind, err)) != PL_OK ||
        (st = opt_text(b, "place", TEXT_MAX, 0, &place, err)) != PL_OK ||
        (st = opt_text(b, "note", NOTE_MAX, 0, &note, err)) != PL_OK)
        return st;
    json_t *min = json_object_get(b, "minutes"), *themes = json_object_get(b, "themes"), *t;
    if (!json_is_integer(min) || json_integer_value(min) < 1 || json_integer_value(min) > 1440)
        return pl_fail(err, PL_E_INVALID, "'minutes' must be a whole number from 1 to 1440");
    if (!one_of(kind, pl_session_kinds, PL_SESSION_KINDS))
        return pl_fail(err, PL_E_INVALID,
                       "'kind' must be one-to-one, accompaniment, group or ward, not '%s'", kind);
    if (themes) {
        size_t i;
        if (!json_is_array(themes) || json_array_size(themes) > 32)
            return pl_fail(err, PL_E_INVALID, "'themes' must be a list of at most 32 words");
        json_array_foreach(themes, i, t) {
            if (!json_is_string(t) || json_string_length(t) == 0 ||
                json_string_length(t) > TEXT_MAX ||
                memchr(json_string_value(t), '\0', json_string_length(t)))
                return pl_fail(err, PL_E_INVALID, "each theme must be text of 1 to %u bytes",
                               TEXT_MAX);
        }
    }
    snprintf(num, sizeof num, "%lld", (long long)json_integer_value(min));
    meta_add(m, "date", date);
    meta_add(m, "kind", kind);
    meta_add(m, "minutes", num);
    return PL_OK;
}

static pl_status schema_note(json_t *b, meta_set *m, pl_err *err)
{
    static const char *const keys[] = {"text"};
    const char *text;
    pl_status st;
    (void)m;
    if ((st = check_keys(b, keys, 1, "note", err)) != PL_OK ||
        (st = opt_text(b, "text", NOTE_MAX, 1, &text, err)) != PL_OK)
        return st;
    return PL_OK;
}

static pl_status schema_retract(json_t *b, meta_set *m, pl_err *err)
{
    static const char *const keys[] = {"reason"};
    const char *reason;
    pl_status st;
    (void)m;
    if ((st = check_keys(b, keys, 1, "retract", err)) != PL_OK ||
        (st = opt_text(b, "reason", TEXT_MAX, 1, &reason, err)) != PL_OK)
        return st;
    return PL_OK;
}

/* A member's identity fingerprint: 32 lowercase hex digits. */
static int fingerprint_valid(const char *s)
{
    size_t n = 0;
    for (; s[n]; n++)
        if (!((s[n] >= '0' && s[n] <= '9') || (s[n] >= 'a' && s[n] <= 'f')))
            return 0;
    return n == PL_FINGERPRINT_HEX;
}

static pl_status fingerprint_field(json_t *b, const char *key, const char **out, pl_err *err)
{
    pl_status st = opt_text(b, key, PL_FINGERPRINT_HEX, 1, out, err);
    if (st == PL_OK && !fingerprint_valid(*out))
        return pl_fail(err, PL_E_INVALID, "'%s' must be a member's fingerprint (32 hex digits)",
                       key);
    return st;
}

/* A list field of 1..max strings each passing ok(), also written as a comma list. */
static pl_status list_field(json_t *b, const char *key, size_t max, int required,
                            int (*ok)(const char *), char *list, size_t cap, size_t *count,
                            pl_err *err)
{
    json_t *a = json_object_get(b, key), *x;
    size_t i, at = 0;
    list[0] = '\0';
    *count = 0;
    if (!a && !required)
        return PL_OK;
    if (!json_is_array(a) || json_array_size(a) == 0 || json_array_size(a) > max)
        return pl_fail(err, PL_E_INVALID, "'%s' must list 1 to %zu items", key, max);
    json_array_foreach(a, i, x) {
        const char *v = json_string_value(x);
        if (!v || !ok(v))
            return pl_fail(err, PL_E_INVALID, "item %zu of '%s' is not valid", i + 1, key);
        for (size_t j = 0; j < i; j++)
            if (!strcmp(json_string_value(json_array_get(a, j)), v))
                return pl_fail(err, PL_E_INVALID, "'%s' lists %s twice", key, v);
        int w = snprintf(list + at, cap - at, "%s%s", at ? "," : "", v);
        if (w < 0 || (size_t)w >= cap - at)
            return pl_fail(err, PL_E_INVALID, "'%s' is too long", key);
        at += (size_t)w;
    }
    *count = json_array_size(a);
    return PL_OK;
}

static int pseudonym_ok(const char *s)
{
    return fmt_pseudonym_valid(s);
}

static pl_status schema_match(json_t *b, meta_set *m, pl_err *err)
{
    static const char *const keys[] = {"guide", "date"};
    const char *guide, *date;
    pl_status st;
    if ((st = check_keys(b, keys, 2, "match", err)) != PL_OK ||
        (st = fingerprint_field(b, "guide", &guide, err)) != PL_OK ||
        (st = req_date(b, "date", 1, &date, err)) != PL_OK)
        return st;
    meta_add(m, "date", date);
    meta_add(m, "guide", guide);
    return PL_OK;
}

static pl_status schema_agreement_volunteer(json_t *b, meta_set *m, pl_err *err)
{
    static const char *const keys[] = {"guide", "date", "valid_until"};
    const char *guide, *date, *until;
    pl_status st;
    if ((st = check_keys(b, keys, 3, "agreement.volunteer", err)) != PL_OK ||
        (st = fingerprint_field(b, "guide", &guide, err)) != PL_OK ||
        (st = req_date(b, "date", 1, &date, err)) != PL_OK ||
        (st = req_date(b, "valid_until", 0, &until, err)) != PL_OK)
        return st;
    if (until && strcmp(until, date) < 0)
        return pl_fail(err, PL_E_INVALID, "the agreement cannot end (%s) before it starts (%s)",
                       until, date);
    meta_add(m, "date", date);
    meta_add(m, "guide", guide);
    if (until)
        meta_add(m, "valid_until", until);
    return PL_OK;
}

static pl_status schema_agreement_sign(json_t *b, meta_set *m, pl_err *err)
{
    static const char *const keys[] = {"date"};
    const char *date;
    pl_status st;
    if ((st = check_keys(b, keys, 1, "agreement.sign", err)) != PL_OK ||
        (st = req_date(b, "date", 1, &date, err)) != PL_OK)
        return st;
    meta_add(m, "date", date);
    return PL_OK;
}

/* The date four months after from (the day clamped to the month's last). */
void pl_date_plus_months(const char *from, int months, char out[PL_DATE_LEN + 1])
{
    int y = atoi(from), mo = atoi(from + 5), d = atoi(from + 8);
    static const int mdays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    mo += months;
    while (mo > 12) {
        mo -= 12;
        y++;
    }
    if (y > 9999) { /* past the last date a header may carry: that last date */
        y = 9999;
        mo = 12;
        d = 31;
    }
    int last = mdays[mo - 1] + (mo == 2 && ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0));
    if (d > last)
        d = last;
    /* A valid date in, so each part fits its width. */
    out[0] = (char)('0' + y / 1000 % 10);
    out[1] = (char)('0' + y / 100 % 10);
    out[2] = (char)('0' + y / 10 % 10);
    out[3] = (char)('0' + y % 10);
    out[4] = '-';
    out[5] = (char)('0' + mo / 10);
    out[6] = (char)('0' + mo % 10);
    out[7] = '-';
    out[8] = (char)('0' + d / 10);
    out[9] = (char)('0' + d % 10);
    out[10] = '\0';
}


static pl_status schema_agreement_collaboration(json_t *b, meta_set *m, pl_err *err)
{
    static const char *const keys[] = {"start", "planned_end", "note"};
    const char *start, *end, *note;
    char cap[PL_DATE_LEN + 1];
    pl_status st;
    if ((st = check_keys(b, keys, 3, "agreement.collaboration", err)) != PL_OK ||
        (st = req_date(b, "start", 1, &start, err)) != PL_OK ||
        (st = req_date(b, "planned_end", 1, &end, err)) != PL_OK ||
        (st = opt_text(b, "note", NOTE_MAX, 0, &note, err)) != PL_OK)
        return st;
    pl_date_plus_months(start, PL_COURSE_MONTHS_MAX, cap);
    if (strcmp(end, start) < 0)
        return pl_fail(err, PL_E_INVALID, "the course cannot end (%s) before it starts (%s)", end,
                       start);
    if (strcmp(end, cap) > 0)
        return pl_fail(err, PL_E_INVALID, "a course lasts at most %d months: from %s, end by %s",
                       PL_COURSE_MONTHS_MAX, start, cap);
    meta_add(m, "date", start);
    meta_add(m, "planned_end", end);
    return PL_OK;
}

static int fingerprint_ok(const char *s)
{
    return fingerprint_valid(s);
}

static pl_status schema_supervision(json_t *b, meta_set *m, pl_err *err)
{
    static const char *const keys[] = {"date", "minutes", "guides", "subjects", "note"};
    const char *date, *note;
    char guides[8 * (PL_FINGERPRINT_HEX + 1)], subjects[16 * (PL_PSEUDONYM_LEN + 1)], num[16];
    size_t ng, ns;
    pl_status st;
    if ((st = check_keys(b, keys, 5, "supervision", err)) != PL_OK ||
        (st = req_date(b, "date", 1, &date, err)) != PL_OK ||
        (st = list_field(b, "guides", 8, 1, fingerprint_ok, guides, sizeof guides, &ng, err)) !=
            PL_OK ||
        (st = list_field(b, "subjects", 16, 0, pseudonym_ok, subjects, sizeof subjects, &ns,
                         err)) != PL_OK ||
        (st = opt_text(b, "note", NOTE_MAX, 0, &note, err)) != PL_OK)
        return st;
    json_t *min = json_object_get(b, "minutes");
    if (!json_is_integer(min) || json_integer_value(min) < 1 || json_integer_value(min) > 1440)
        return pl_fail(err, PL_E_INVALID, "'minutes' must be a whole number from 1 to 1440");
    snprintf(num, sizeof num, "%lld", (long long)json_integer_value(min));
    meta_add(m, "date", date);
    meta_add(m, "guides", guides);
    meta_add(m, "minutes", num);
    if (ns)
        meta_add(m, "subjects", subjects);
    return PL_OK;
}

static const char *const course_outcomes[] = {"completed", "ended-early", "moved-on", "other"};

static pl_status schema_course_close(json_t *b, meta_set *m, pl_err *err)
{
    static const char *const keys[] = {"date", "outcome", "note"};
    const char *date, *outcome, *note;
    pl_status st;
    if ((st = check_keys(b, keys, 3, "course.close", err)) != PL_OK ||
        (st = req_date(b, "date", 1, &date, err)) != PL_OK ||
        (st = opt_text(b, "outcome", 16, 1, &outcome, err)) != PL_OK ||
        (st = opt_text(b, "note", NOTE_MAX, 0, &note, err)) != PL_OK)
        return st;
    if (!one_of(outcome, course_outcomes, 4))
        return pl_fail(err, PL_E_INVALID, "'outcome' must be completed, ended-early, moved-on "
                                          "or other");
    meta_add(m, "date", date);
    meta_add(m, "outcome", outcome);
    return PL_OK;
}

typedef struct {
    const char *type;
    int subject;   /* 1: required, 0: none */
    int amendable;
    pl_status (*schema)(json_t *body, meta_set *m, pl_err *err);
} record_kind;

static const record_kind kinds[] = {
    {"consent.grant", 1, 1, schema_consent_grant},
    {"consent.withdraw", 1, 0, schema_consent_withdraw},
    {"session", 1, 1, schema_session},
    {"note", 0, 1, schema_note},
    {"match", 1, 1, schema_match},
    {"agreement.volunteer", 0, 1, schema_agreement_volunteer},
    {"agreement.collaboration", 1, 1, schema_agreement_collaboration},
    {"supervision", 0, 1, schema_supervision},
    {"course.close", 1, 1, schema_course_close},
};

static const record_kind sign_kind = {"agreement.sign", 0, 0, schema_agreement_sign};

static const record_kind retract_kind = {"retract", 0, 0, schema_retract};

static const record_kind *kind_of(const char *type)
{
    for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++)
        if (!strcmp(kinds[i].type, type))
            return &kinds[i];
    return NULL;
}

int pl_record_amendable(const char *type)
{
    const record_kind *k = kind_of(type);
    return k && k->amendable;
}

int pl_record_needs_subject(const char *type)
{
    const record_kind *k = kind_of(type);
    return k && k->subject;
}

/* Validates body against k and derives its header metadata, plus "of" (the original's type)
 * for amends and retractions, into meta[cap]; *mlen receives its length. The one place a
 * body meets its schema: appending and pl_record_validate both come here. */
static pl_status record_check(const record_kind *k, json_t *body, const char *of, char *meta,
                              size_t cap, size_t *mlen, pl_err *err)
{
    meta_set m;
    pl_status st;
    m.n = 0;
    m.bad = 0;
    if (!json_is_object(body))
        return pl_fail(err, PL_E_INVALID, "a record body must be a JSON object");
    if ((st = k->schema(body, &m, err)) != PL_OK)
        return st;
    if (of)
        meta_add(&m, "of", of);
    if (m.bad || fmt_meta_build(m.pair, m.n, meta, cap, mlen) != 0)
        return pl_fail(err, PL_E_INVALID, "a header field has characters peerlog cannot store "
                                          "(use plain text)");
    return PL_OK;
}

pl_status pl_record_validate(const char *type, json_t *body, char *meta_out, size_t cap,
                             pl_err *err)
{
    const record_kind *k = !strcmp(type, retract_kind.type) ? &retract_kind
                           : !strcmp(type, sign_kind.type)  ? &sign_kind
                                                            : kind_of(type);
    size_t mlen;
    if (!k)
        return pl_fail(err, PL_E_INVALID, "'%s' is not a record type", type);
    return record_check(k, body, NULL, meta_out, cap, &mlen, err);
}

/* ---- consent --------------------------------------------------------------------------- */

typedef struct {
    uint8_t id[PL_ID_BYTES];
    uint8_t feed[PL_SIGN_PK_BYTES];
    uint8_t refs[PL_REFS_MAX][PL_ID_BYTES]; /* a withdrawal: the grants it withdraws */
    uint8_t nrefs;
    char meta[PL_META_MAX + 1];
    size_t meta_len;
    int kind; /* 'g' grant, 'w' withdraw */
    int retracted;
    int64_t time_ms;
} consent_event;

static void meta_str(const char *meta, size_t n, const char *key, char *out, size_t cap)
{
    if (fmt_meta_get(meta, n, key, out, cap) != 0)
        out[0] = '\0';
}

/* Loads the subject's consent grants and withdrawals in ledger order, with amends applied and
 * retracted ones marked. */
static pl_status load_consent(pl_vault *v, const char *subject, consent_event **out, size_t *n,
                              pl_err *err)
{
    sqlite3_stmt *q = NULL;
    size_t cap = 8, k = 0;
    consent_event *ev = malloc(cap * sizeof *ev);
    pl_entry *e = malloc(sizeof *e);
    pl_status st = PL_OK;
    *out = NULL;
    *n = 0;
    if (!ev || !e) {
        free(ev);
        free(e);
        return pl_fail(err, PL_E_NOMEM, "out of memory");
    }
    int rc = sqlite3_prepare_v2(v->db,
                                "SELECT " ENTRY_COLS_PUBLIC " FROM entries e WHERE e.subject = ?"
                                " AND e.type IN ('consent.grant', 'consent.withdraw', 'amend',"
                                " 'retract')"
                                /* where a feed forked, only the entry that arrived first */
                                " AND NOT EXISTS (SELECT 1 FROM entries f WHERE f.feed = e.feed"
                                " AND f.seq = e.seq AND f.n < e.n)"
                                " ORDER BY e.time_ms, e.feed, e.seq",
                                -1, &q, NULL);
    if (rc != SQLITE_OK) {
        free(ev);
        free(e);
        return store_fail(v->db, rc, "reading consent", err);
    }
    /* The owner's consent records count, and in an organisation those of every member whose
     * roles may write them, checked here again (signature included: a row planted by someone
     * with the database key must not cover a session). Headers only: a supervisor checks
     * consent it cannot read. */
    sqlite3_bind_text(q, 1, subject, -1, SQLITE_STATIC);
    pl_org *org = NULL;
    uint8_t oid[PL_ID_BYTES];
    pl_err ignore;
    if (org_id(v, oid, &ignore) == PL_OK && (org = calloc(1, sizeof *org)) != NULL &&
        vault_org(v, org, &ignore) != PL_OK) {
        free(org);
        org = NULL;
    }
    while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
        if ((st = feed_row_entry(q, 0, e, err)) != PL_OK)
            break;
        char why[240];
        /* The row's columns chose it; its signed header must say the same. */
        if (strcmp(e->h.subject, subject) != 0 ||
            (strcmp(e->h.type, "consent.grant") && strcmp(e->h.type, "consent.withdraw") &&
             strcmp(e->h.type, "amend") && strcmp(e->h.type, "retract")))
            continue;
        if (sodium_memcmp(e->h.feed, v->id.sign_pk, PL_SIGN_PK_BYTES) != 0 &&
            (!org || org_may_write(v, org, &e->h, why, sizeof why) != 0 || !entry_authentic(e)))
            continue;
        const char *t = e->h.type;
        if (!strcmp(t, "amend") || !strcmp(t, "retract")) {
            for (size_t i = 0; i < k && e->h.nrefs; i++) {
                /* a correction counts from the original's own author only */
                if (memcmp(ev[i].id, e->h.refs[0], PL_ID_BYTES) != 0 ||
                    memcmp(ev[i].feed, e->h.feed, PL_SIGN_PK_BYTES) != 0)
                    continue;
                if (t[0] == 'r') {
                    ev[i].retracted = 1;
                } else {
                    memcpy(ev[i].meta, e->h.meta, e->h.meta_len + 1);
                    ev[i].meta_len = e->h.meta_len;
                }
            }
            continue;
        }
        if (k == cap) {
            consent_event *bigger = realloc(ev, 2 * cap * sizeof *ev);
            if (!bigger) {
                st = pl_fail(err, PL_E_NOMEM, "out of memory");
                break;
            }
            ev = bigger;
            cap *= 2;
        }
        memcpy(ev[k].id, e->id, PL_ID_BYTES);
        memcpy(ev[k].feed, e->h.feed, PL_SIGN_PK_BYTES);
        ev[k].nrefs = e->h.nrefs;
        if (e->h.nrefs)
            memcpy(ev[k].refs, e->h.refs, (size_t)e->h.nrefs * PL_ID_BYTES);
        memcpy(ev[k].meta, e->h.meta, e->h.meta_len + 1);
        ev[k].meta_len = e->h.meta_len;
        ev[k].kind = t[8] == 'g' ? 'g' : 'w';
        ev[k].retracted = 0;
        ev[k].time_ms = e->h.time_ms;
        k++;
    }
    if (st == PL_OK && rc != SQLITE_DONE)
        st = store_fail(v->db, rc, "reading consent", err);
    sqlite3_finalize(q);
    free(org);
    free(e);
    if (st != PL_OK) {
        free(ev);
        return st;
    }
    *out = ev;
    *n = k;
    return PL_OK;
}

static unsigned meta_scopes(const consent_event *e)
{
    char list[256], bad[80];
    unsigned mask = 0;
    meta_str(e->meta, e->meta_len, "scopes", list, sizeof list);
    if (pl_scopes_parse(list, &mask, bad, sizeof bad) != 0)
        return 0;
    return mask;
}

/* 1 when grant i is named by a standing withdrawal of scope bit: withdrawn, whichever of the
 * two carries the later time (the authors' clocks may disagree). */
static int withdrawn(const consent_event *ev, size_t n, size_t i, unsigned bit)
{
    if (ev[i].kind != 'g')
        return 0;
    for (size_t w = 0; w < n; w++)
        if (ev[w].kind == 'w' && !ev[w].retracted && (meta_scopes(&ev[w]) & bit))
            for (unsigned r = 0; r < ev[w].nrefs; r++)
                if (!memcmp(ev[w].refs[r], ev[i].id, PL_ID_BYTES))
                    return 1;
    return 0;
}

pl_status vault_consent_check(pl_vault *v, const char *subject, unsigned need, const char *date,
                              pl_err *err)
{
    consent_event *ev;
    size_t n;
    pl_status st = load_consent(v, subject, &ev, &n, err);
    if (st != PL_OK)
        return st;
    if (n == 0) {
        free(ev);
        return pl_fail(err, PL_E_CONSENT, "%s has no consent recorded in this vault; record "
                                          "it first with 'peerlog consent grant'", subject);
    }
    /* For each needed scope, the last grant or withdrawal touching it decides. */
    for (size_t s = 0; s < NSCOPES && st == PL_OK; s++) {
        unsigned bit = 1u << s;
        if (!(need & bit))
            continue;
        const consent_event *last = NULL;
        for (size_t i = 0; i < n; i++)
            if (!ev[i].retracted && (meta_scopes(&ev[i]) & bit) && !withdrawn(ev, n, i, bit))
                last = &ev[i];
        char from[16], until[16], wdate[16];
        if (!last) {
            st = pl_fail(err, PL_E_CONSENT, "%s has not consented to %s", subject, scope_names[s]);
        } else if (last->kind == 'w') {
            meta_str(last->meta, last->meta_len, "date", wdate, sizeof wdate);
            st = pl_fail(err, PL_E_CONSENT, "%s withdrew consent to %s on %s", subject,
                         scope_names[s], wdate);
        } else {
            meta_str(last->meta, last->meta_len, "date", from, sizeof from);
            meta_str(last->meta, last->meta_len, "valid_until", until, sizeof until);
            if (strcmp(date, from) < 0)
                st = pl_fail(err, PL_E_CONSENT, "%s's consent to %s starts on %s, after %s",
                             subject, scope_names[s], from, date);
            else if (until[0] && strcmp(date, until) > 0)
                st = pl_fail(err, PL_E_CONSENT, "%s's consent to %s ended on %s, before %s",
                             subject, scope_names[s], until, date);
        }
    }
    free(ev);
    return st;
}

/* ---- consent receipts (formats/receipt.md) ------------------------------------------- */

pl_status vault_consent_receipt(pl_vault *v, const char *subject, const char *entry,
                                pl_receipt *out, pl_err *err)
{
    memset(out, 0, sizeof *out);
    if (!subject || !fmt_pseudonym_valid(subject))
        return pl_fail(err, PL_E_INVALID, "a citizen is named by a pseudonym like B-7K3Q-9F2M");
    consent_event *ev;
    size_t n;
    pl_status st = load_consent(v, subject, &ev, &n, err);
    if (st != PL_OK)
        return st;
    /* The grant: the one named, else the newest that is not retracted. */
    size_t g = SIZE_MAX, matches = 0;
    for (size_t i = 0; i < n; i++) {
        char hex[PL_ID_HEX + 1];
        sodium_bin2hex(hex, sizeof hex, ev[i].id, PL_ID_BYTES);
        if (ev[i].kind != 'g')
            continue;
        if (entry ? !strncmp(hex, entry, strlen(entry)) : !ev[i].retracted) {
            g = i;
            matches++;
        }
    }
    if (entry && matches > 1) {
        free(ev);
        return pl_fail(err, PL_E_INVALID, "%s names more than one consent of %s; give more of "
                                          "the id", entry, subject);
    }
    if (g == SIZE_MAX || ev[g].retracted) {
        free(ev);
        if (g != SIZE_MAX)
            return pl_fail(err, PL_E_NOTFOUND, "that consent was retracted (recorded in error): "
                                               "there is nothing to give a receipt for");
        return pl_fail(err, PL_E_NOTFOUND, entry ? "no consent of %s starts with %s here"
                                                 : "%s has no consent recorded in this vault",
                       subject, entry ? entry : "");
    }
    const consent_event *c = &ev[g];
    snprintf(out->subject, sizeof out->subject, "%s", subject);
    memcpy(out->entry, c->id, PL_ID_BYTES);
    out->time_ms = c->time_ms;
    out->scopes = meta_scopes(c);
    meta_str(c->meta, c->meta_len, "method", out->method, sizeof out->method);
    meta_str(c->meta, c->meta_len, "date", out->valid_from, sizeof out->valid_from);
    meta_str(c->meta, c->meta_len, "valid_until", out->valid_until, sizeof out->valid_until);
    /* A scope is withdrawn by a standing withdrawal of it that names this grant or comes
     * after it (formats/audit.md §3, as of today). */
    for (size_t w = 0; w < n; w++) {
        if (ev[w].kind != 'w' || ev[w].retracted)
            continue;
        unsigned took = 0;
        for (unsigned s = 0; s < NSCOPES; s++)
            if ((out->scopes & meta_scopes(&ev[w]) & (1u << s)) &&
                (w > g || withdrawn(ev, n, g, 1u << s)))
                took |= 1u << s;
        if (!took)
            continue;
        char wd[PL_DATE_LEN + 1];
        meta_str(ev[w].meta, ev[w].meta_len, "date", wd, sizeof wd);
        out->withdrawn |= took;
        if (strcmp(wd, out->withdrawn_on) > 0)
            memcpy(out->withdrawn_on, wd, sizeof wd);
    }
    free(ev);
    pl_today(out->issued);
    if (out->scopes && out->withdrawn == out->scopes)
        snprintf(out->state, sizeof out->state, "withdrawn");
    else if (out->valid_until[0] && strcmp(out->issued, out->valid_until) > 0)
        snprintf(out->state, sizeof out->state, "expired");
    else
        snprintf(out->state, sizeof out->state, "given");
    pl_receipt_id(out->entry, out->receipt_id);
    return PL_OK;
}

/* ---- appending records ---------------------------------------------------------------- */

/* Validates body against kind, derives metadata (plus extra pairs), serialises and appends. */
static pl_status append_record(pl_vault *v, const char *type, const record_kind *k,
                               const char *subject, const uint8_t (*refs)[PL_ID_BYTES],
                               uint8_t nrefs, json_t *body, const char *of, pl_entry *out,
                               pl_err *err)
{
    char meta[PL_META_MAX + 1];
    size_t mlen;
    pl_status st;
    if ((st = record_check(k, body, of, meta, sizeof meta, &mlen, err)) != PL_OK)
        return st;
    /* Nothing more about a citizen whose data was erased. */
    if (subject && subject[0] &&
        (st = erasure_refuses(v, subject, k->type, meta, mlen, err)) != PL_OK)
        return st;
    if (!strcmp(k->type, "supervision")) {
        char names[16 * (PL_PSEUDONYM_LEN + 1)];
        if (fmt_meta_get(meta, mlen, "subjects", names, sizeof names) == 0)
            for (char *save = NULL, *t = strtok_r(names, ",", &save); t;
                 t = strtok_r(NULL, ",", &save))
                if ((st = erasure_refuses(v, t, k->type, meta, mlen, err)) != PL_OK)
                    return st;
    }
    /* Records about a citizen need consent on their date (amended ones too): a session
     * peer-support and record-keeping, a match or collaboration agreement peer-support, a
     * supervision each citizen it names supervision-sharing. */
    char date[PL_DATE_LEN + 1];
    unsigned need = !strcmp(k->type, "session") ? PL_SCOPE_SESSION
                    : !strcmp(k->type, "match") || !strcmp(k->type, "agreement.collaboration")
                        ? PL_SCOPE_PEER_SUPPORT
                        : 0;
    if ((need || !strcmp(k->type, "supervision")) &&
        fmt_meta_get(meta, mlen, "date", date, sizeof date) != 0)
        return pl_fail(err, PL_E_INVALID, "a %s needs a date", k->type);
    if (need && (st = vault_consent_check(v, subject, need, date, err)) != PL_OK)
        return st;
    if (!strcmp(k->type, "supervision")) {
        char list[16 * (PL_PSEUDONYM_LEN + 1)];
        if (fmt_meta_get(meta, mlen, "subjects", list, sizeof list) == 0)
            for (char *save = NULL, *t = strtok_r(list, ",", &save); t;
                 t = strtok_r(NULL, ",", &save))
                if ((st = vault_consent_check(v, t, PL_SCOPE_SUPERVISION_SHARING, date, err)) !=
                    PL_OK)
                    return st;
    }
    /* Serialise straight into secret memory: the plaintext never sits in the heap. */
    size_t tlen = json_dumpb(body, NULL, 0, JSON_COMPACT | JSON_SORT_KEYS);
    if (tlen == 0)
        return pl_fail(err, PL_E_INVALID, "the record body cannot be written as JSON");
    if (tlen > PL_BODY_PLAIN_MAX)
        return pl_fail(err, PL_E_INVALID, "the record is too long (%zu bytes; at most %u)",
                       tlen, PL_BODY_PLAIN_MAX);
    pl_secret *text = pl_secret_new(tlen);
    if (!text)
        return pl_fail(err, PL_E_NOMEM, "out of memory");
    text->len = json_dumpb(body, (char *)text->p, tlen, JSON_COMPACT | JSON_SORT_KEYS);
    if (text->len != tlen) {
        pl_secret_free(text);
        return pl_fail(err, PL_E_INVALID, "the record body cannot be written as JSON");
    }
    /* Besides the author, the roles the organisation's policy names for this type (for an
     * amend or retract: the original's type). */
    uint8_t rcpt[PL_ROLES + 1][PL_BOX_PK_BYTES];
    uint8_t nrcpt = 0;
    char guide[PL_FINGERPRINT_HEX + 1];
    const char *base = of ? of : k->type;
    int concerns = (!strcmp(base, "match") || !strcmp(base, "agreement.volunteer")) &&
                   fmt_meta_get(meta, mlen, "guide", guide, sizeof guide) == 0;
    if ((st = org_recipients(v, base, concerns ? guide : NULL, rcpt, &nrcpt, err)) != PL_OK) {
        pl_secret_free(text);
        return st;
    }
    pl_append_req req = {.type = type,
                         .subject = subject,
                         .refs = refs,
                         .nrefs = nrefs,
                         .rcpt = (const uint8_t(*)[PL_BOX_PK_BYTES])rcpt,
                         .nrcpt = nrcpt,
                         .meta = meta,
                         .body = text->p,
                         .body_len = text->len,
                         .time_ms = 0};
    st = vault_append(v, &req, out, err);
    pl_secret_free(text);
    return st;
}

static int subject_exists(pl_vault *v, const char *subject)
{
    sqlite3_stmt *q = NULL;
    int found = 1; /* on error, assume taken and draw again */
    if (sqlite3_prepare_v2(v->db, "SELECT 1 FROM entries WHERE subject = ? LIMIT 1", -1, &q,
                           NULL) == SQLITE_OK) {
        sqlite3_bind_text(q, 1, subject, -1, SQLITE_STATIC);
        found = sqlite3_step(q) != SQLITE_DONE;
    }
    sqlite3_finalize(q);
    return found;
}

pl_status vault_record_add(pl_vault *v, const char *type, const char *subject, json_t *body,
                           char subject_out[PL_SUBJECT_MAX + 1], pl_entry *out, pl_err *err)
{
    const record_kind *k = kind_of(type);
    char fresh[PL_PSEUDONYM_LEN + 1];
    pl_status st;
    if (!k || !strcmp(type, "consent.withdraw"))
        return pl_fail(err, PL_E_INVALID, "'%s' is not a record type peerlog can add here", type);
    if (!k->subject && subject)
        return pl_fail(err, PL_E_INVALID, "a %s names no citizen", type);
    if (k->subject && !subject)
        return pl_fail(err, PL_E_INVALID, "a %s needs a citizen (--subject)", type);
    if ((st = vault_begin(v, err)) != PL_OK)
        return st;
    if (subject && !strcmp(type, "consent.grant") && !strcmp(subject, "new")) {
        for (int tries = 0;; tries++) {
            uint8_t rnd[PL_PSEUDONYM_RANDOM_BYTES];
            randombytes_buf(rnd, sizeof rnd);
            fmt_pseudonym_make(rnd, fresh);
            if (!subject_exists(v, fresh))
                break;
            if (tries == 16) {
                vault_rollback(v);
                return pl_fail(err, PL_E_IO, "cannot draw an unused pseudonym");
            }
        }
        subject = fresh;
    } else if (subject && !fmt_pseudonym_valid(subject)) {
        vault_rollback(v);
        return pl_fail(err, PL_E_INVALID,
                       "'%s' is not a citizen pseudonym (like B-7K3Q-9F2M; see 'peerlog log')",
                       subject);
    } else if (subject && !subject_exists(v, subject)) {
        vault_rollback(v);
        return pl_fail(err, PL_E_CONSENT,
                       "%s is not known in this vault; record consent first with "
                       "'peerlog consent grant --subject new'",
                       subject);
    }
    if ((st = append_record(v, type, k, subject, NULL, 0, body, NULL, out, err)) != PL_OK) {
        vault_rollback(v);
        return st;
    }
    if ((st = vault_commit(v, err)) != PL_OK)
        return st;
    if (subject_out)
        snprintf(subject_out, PL_SUBJECT_MAX + 1, "%s", subject ? subject : "");
    return PL_OK;
}

/* 1 when this vault's owner has countersigned the agreement id already. */
static int signed_already(pl_vault *v, const uint8_t id[PL_ID_BYTES])
{
    sqlite3_stmt *q = NULL;
    int found = 0;
    if (sqlite3_prepare_v2(v->db, "SELECT 1 FROM entries WHERE ref0 = ? AND feed = ?"
                                  " AND type = 'agreement.sign' LIMIT 1", -1, &q, NULL) ==
        SQLITE_OK) {
        sqlite3_bind_blob(q, 1, id, PL_ID_BYTES, SQLITE_STATIC);
        sqlite3_bind_blob(q, 2, v->id.sign_pk, PL_SIGN_PK_BYTES, SQLITE_STATIC);
        found = sqlite3_step(q) == SQLITE_ROW;
    }
    sqlite3_finalize(q);
    return found;
}

pl_status vault_agreement_sign(pl_vault *v, const pl_entry *agreement, const char *date,
                               pl_entry *out, pl_err *err)
{
    char guide[PL_FINGERPRINT_HEX + 1];
    pl_status st;
    if (strcmp(agreement->h.type, "agreement.volunteer") != 0)
        return pl_fail(err, PL_E_INVALID, "that entry is not a volunteer agreement");
    if (fmt_meta_get(agreement->h.meta, agreement->h.meta_len, "guide", guide, sizeof guide) !=
            0 ||
        strcmp(guide, v->id.fingerprint) != 0)
        return pl_fail(err, PL_E_ACCESS, "that agreement is not made with you; only the guide "
                                         "it names signs it");
    if (agreement->retracted)
        return pl_fail(err, PL_E_INVALID, "that agreement was retracted");
    json_t *body = json_pack("{s:s}", "date", date);
    if (!body)
        return pl_fail(err, PL_E_NOMEM, "out of memory");
    if ((st = vault_begin(v, err)) != PL_OK) {
        json_decref(body);
        return st;
    }
    if (signed_already(v, agreement->id))
        st = pl_fail(err, PL_E_EXISTS, "you have signed that agreement already");
    else
        st = append_record(v, "agreement.sign", &sign_kind, NULL,
                           (const uint8_t(*)[PL_ID_BYTES])agreement->id, 1, body, NULL, out,
                           err);
    json_decref(body);
    if (st != PL_OK) {
        vault_rollback(v);
        return st;
    }
    return vault_commit(v, err);
}

/* The original record behind target (itself, or what an amend refers to), read afresh
 * inside the caller's transaction: the caller's copy may predate an amend or retraction. */
static pl_status original_of(pl_vault *v, const pl_entry *target, pl_entry *root, pl_err *err)
{
    char hex[PL_ID_HEX + 1];
    if (!strcmp(target->h.type, "retract"))
        return pl_fail(err, PL_E_INVALID, "a retraction cannot be amended or retracted");
    const uint8_t *id = !strcmp(target->h.type, "amend") ? target->h.refs[0] : target->id;
    sodium_bin2hex(hex, sizeof hex, id, PL_ID_BYTES);
    return vault_find(v, hex, root, err);
}

static pl_status check_own_live(pl_vault *v, const pl_entry *root, pl_err *err)
{
    if (!strcmp(root->h.type, "agreement.sign"))
        return pl_fail(err, PL_E_INVALID, "a countersignature cannot be amended or retracted");
    if (sodium_memcmp(root->h.feed, v->id.sign_pk, PL_SIGN_PK_BYTES) != 0)
        return pl_fail(err, PL_E_ACCESS, "only the author of an entry can amend or retract it");
    if (root->retracted)
        return pl_fail(err, PL_E_INVALID, "that entry was retracted; it cannot change again");
    return PL_OK;
}

pl_status vault_amend(pl_vault *v, const pl_entry *target, json_t *body, pl_entry *out,
                      pl_err *err)
{
    pl_entry root;
    pl_status st;
    if ((st = vault_begin(v, err)) != PL_OK)
        return st;
    if ((st = original_of(v, target, &root, err)) == PL_OK &&
        (st = check_own_live(v, &root, err)) == PL_OK) {
        const record_kind *k = kind_of(root.h.type);
        if (!k || !k->amendable)
            st = pl_fail(err, PL_E_INVALID, "a %s cannot be amended", root.h.type);
        else
            st = append_record(v, "amend", k, root.h.subject[0] ? root.h.subject : NULL,
                               (const uint8_t(*)[PL_ID_BYTES])root.id, 1, body, root.h.type, out,
                               err);
    }
    if (st != PL_OK) {
        vault_rollback(v);
        return st;
    }
    return vault_commit(v, err);
}

pl_status vault_retract(pl_vault *v, const pl_entry *target, const char *reason, pl_entry *out,
                        pl_err *err)
{
    pl_entry root;
    pl_status st;
    json_t *body = json_pack("{s:s}", "reason", reason ? reason : "");
    if (!body)
        return pl_fail(err, PL_E_NOMEM, "out of memory");
    if ((st = vault_begin(v, err)) == PL_OK) {
        if ((st = original_of(v, target, &root, err)) == PL_OK &&
            (st = check_own_live(v, &root, err)) == PL_OK)
            st = append_record(v, "retract", &retract_kind,
                               root.h.subject[0] ? root.h.subject : NULL,
                               (const uint8_t(*)[PL_ID_BYTES])root.id, 1, body, root.h.type, out,
                               err);
        if (st != PL_OK)
            vault_rollback(v);
        else
            st = vault_commit(v, err);
    }
    json_decref(body);
    return st;
}

pl_status vault_consent_withdraw(pl_vault *v, const char *subject, unsigned scopes,
                                 const char *date, const char *reason, pl_entry *out, pl_err *err)
{
    consent_event *ev = NULL;
    size_t n = 0;
    uint8_t refs[PL_REFS_MAX][PL_ID_BYTES];
    uint8_t nrefs = 0;
    pl_status st;
    if (!fmt_pseudonym_valid(subject))
        return pl_fail(err, PL_E_INVALID, "'%s' is not a citizen pseudonym (like B-7K3Q-9F2M)",
                       subject);
    json_t *body = json_object(), *list = json_array();
    if (!body || !list) {
        json_decref(body);
        json_decref(list);
        return pl_fail(err, PL_E_NOMEM, "out of memory");
    }
    for (size_t i = 0; i < NSCOPES; i++)
        if (scopes & (1u << i))
            json_array_append_new(list, json_string(scope_names[i]));
    json_object_set_new(body, "scopes", list);
    json_object_set_new(body, "date", json_string(date));
    if (reason && *reason)
        json_object_set_new(body, "reason", json_string(reason));
    if ((st = vault_begin(v, err)) != PL_OK) {
        json_decref(body);
        return st;
    }
    st = load_consent(v, subject, &ev, &n, err);
    /* The header refers to the live grants whose scopes this withdraws, newest first (at
     * most PL_REFS_MAX; the refs inform a reader, the withdrawal's effect comes from its
     * scopes, see formats/records.md). */
    for (size_t i = n; st == PL_OK && i-- > 0;)
        if (ev[i].kind == 'g' && !ev[i].retracted && (meta_scopes(&ev[i]) & scopes) &&
            nrefs < PL_REFS_MAX)
            memcpy(refs[nrefs++], ev[i].id, PL_ID_BYTES);
    if (st == PL_OK && nrefs == 0)
        st = pl_fail(err, PL_E_NOTFOUND, "%s has no consent to those scopes to withdraw", subject);
    if (st == PL_OK)
        st = append_record(v, "consent.withdraw", kind_of("consent.withdraw"), subject,
                           (const uint8_t(*)[PL_ID_BYTES])refs, nrefs, body, NULL, out, err);
    free(ev);
    json_decref(body);
    if (st != PL_OK) {
        vault_rollback(v);
        return st;
    }
    return vault_commit(v, err);
}

/* ---- identity export -------------------------------------------------------------------- */

#define PL_DOM_IDENTITY_EXPORT "peerlog/v1/identity-export"

pl_status vault_identity_export(pl_vault *v, json_t **out, pl_err *err)
{
    size_t nl = strlen(v->id.name);
    size_t n = sizeof PL_DOM_IDENTITY_EXPORT + PL_SIGN_PK_BYTES + PL_BOX_PK_BYTES + 2 + nl;
    uint8_t *msg = malloc(n), sig[PL_SIG_BYTES];
    char spk[2 * PL_SIGN_PK_BYTES + 1], bpk[2 * PL_BOX_PK_BYTES + 1], shex[2 * PL_SIG_BYTES + 1];
    if (!msg)
        return pl_fail(err, PL_E_NOMEM, "out of memory");
    pl_wr w;
    pl_wr_init(&w, msg, n);
    pl_wr_put(&w, PL_DOM_IDENTITY_EXPORT, sizeof PL_DOM_IDENTITY_EXPORT);
    pl_wr_put(&w, v->id.sign_pk, PL_SIGN_PK_BYTES);
    pl_wr_put(&w, v->id.box_pk, PL_BOX_PK_BYTES);
    pl_wr_u16(&w, (uint16_t)nl);
    pl_wr_put(&w, v->id.name, nl);
    crypto_sign_detached(sig, NULL, msg, w.len, v->sec->sign_sk);
    free(msg);
    sodium_bin2hex(spk, sizeof spk, v->id.sign_pk, PL_SIGN_PK_BYTES);
    sodium_bin2hex(bpk, sizeof bpk, v->id.box_pk, PL_BOX_PK_BYTES);
    sodium_bin2hex(shex, sizeof shex, sig, sizeof sig);
    *out = json_pack("{s:s, s:i, s:s, s:s, s:s, s:s, s:s}", "type", "peerlog.identity",
                     "version", 1, "name", v->id.name, "sign_pk", spk, "box_pk", bpk,
                     "fingerprint", v->id.fingerprint, "sig", shex);
    if (!*out)
        return pl_fail(err, PL_E_NOMEM, "out of memory");
    return PL_OK;
}

/* Reads 2n hex digits of j[key] into out[n]; 0 on success. */
static int hex_field(json_t *j, const char *key, uint8_t *out, size_t n)
{
    const char *s = json_string_value(json_object_get(j, key));
    size_t bin = 0;
    return s && strlen(s) == 2 * n &&
                   sodium_hex2bin(out, n, s, 2 * n, NULL, &bin, NULL) == 0 && bin == n
               ? 0
               : -1;
}

pl_status pl_identity_import(json_t *j, pl_identity *out, pl_err *err)
{
    uint8_t sig[PL_SIG_BYTES];
    memset(out, 0, sizeof *out);
    const char *type = json_string_value(json_object_get(j, "type"));
    const char *name = json_string_value(json_object_get(j, "name"));
    const char *fp = json_string_value(json_object_get(j, "fingerprint"));
    json_t *version = json_object_get(j, "version");
    if (!json_is_object(j) || !type || strcmp(type, "peerlog.identity") != 0)
        return pl_fail(err, PL_E_INVALID, "that is not a peerlog identity file (from 'peerlog "
                                          "id export')");
    if (!json_is_integer(version) || json_integer_value(version) != 1)
        return pl_fail(err, PL_E_INVALID, "that identity file has a version this peerlog does "
                                          "not know");
    if (!name || json_string_length(json_object_get(j, "name")) > PL_NAME_MAX ||
        memchr(name, '\0', json_string_length(json_object_get(j, "name"))) ||
        !fmt_name_valid(name, strlen(name)) ||
        hex_field(j, "sign_pk", out->sign_pk, PL_SIGN_PK_BYTES) != 0 ||
        hex_field(j, "box_pk", out->box_pk, PL_BOX_PK_BYTES) != 0 ||
        hex_field(j, "sig", sig, PL_SIG_BYTES) != 0 || !fp)
        return pl_fail(err, PL_E_INVALID, "the identity file is incomplete or damaged");
    size_t nl = strlen(name);
    size_t n = sizeof PL_DOM_IDENTITY_EXPORT + PL_SIGN_PK_BYTES + PL_BOX_PK_BYTES + 2 + nl;
    uint8_t *msg = malloc(n);
    if (!msg)
        return pl_fail(err, PL_E_NOMEM, "out of memory");
    pl_wr w;
    pl_wr_init(&w, msg, n);
    pl_wr_put(&w, PL_DOM_IDENTITY_EXPORT, sizeof PL_DOM_IDENTITY_EXPORT);
    pl_wr_put(&w, out->sign_pk, PL_SIGN_PK_BYTES);
    pl_wr_put(&w, out->box_pk, PL_BOX_PK_BYTES);
    pl_wr_u16(&w, (uint16_t)nl);
    pl_wr_put(&w, name, nl);
    int bad = crypto_sign_verify_detached(sig, msg, w.len, out->sign_pk) != 0;
    free(msg);
    if (bad)
        return pl_fail(err, PL_E_INTEGRITY, "the identity file's signature does not verify; "
                                            "ask the member to export it again");
    /* A key of low order would make every wrap to this member fail (or be guessable). */
    uint8_t probe[PL_BOX_SK_BYTES], shared[PL_BOX_PK_BYTES];
    memset(probe, 0x42, sizeof probe);
    bad = crypto_scalarmult(shared, probe, out->box_pk) != 0;
    sodium_memzero(shared, sizeof shared);
    if (bad)
        return pl_fail(err, PL_E_INTEGRITY, "the member's encryption key is unusable");
    snprintf(out->name, sizeof out->name, "%s", name);
    vault_fingerprint(out->sign_pk, out->box_pk, out->fingerprint);
    if (strcmp(out->fingerprint, fp) != 0)
        return pl_fail(err, PL_E_INTEGRITY, "the identity file's fingerprint does not match "
                                            "its keys");
    return PL_OK;
}
