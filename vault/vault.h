/* The peerlog vault: an encrypted, append-only, signed ledger in one directory.
 * Every function returns a pl_status and, on failure, one sentence in err->msg. */
#ifndef PL_VAULT_VAULT_H
#define PL_VAULT_VAULT_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "formats/entry.h"
#include "formats/invite.h"
#include "formats/text.h"
#include "vault/secret.h"
#include "vault/status.h"

#define PL_FINGERPRINT_BYTES 16u
#define PL_FINGERPRINT_HEX   (2u * PL_FINGERPRINT_BYTES)
#define PL_ID_HEX            (2u * PL_ID_BYTES)
#define PL_NAME_MAX          200u
#define PL_NOTE_MAX          100000u /* bytes of a session note or a journal note */
#define PL_HELD_MAX          64u     /* role and member keys one vault can hold */
#define PL_RCPT_EXTRA_MAX    (PL_RCPT_MAX - 1u)
#define PL_DOM_FINGERPRINT   "peerlog/v1/fingerprint"

typedef struct pl_vault pl_vault;

typedef struct {
    uint32_t m_kib;
    uint32_t t;
    uint32_t lanes;
} pl_kdf_params;

/* RFC 9106's second recommended option, the floor for a vault's default. */
#define PL_KDF_DEFAULT_M_KIB (256u * 1024u)
#define PL_KDF_DEFAULT_T     3u
#define PL_KDF_DEFAULT_LANES 4u

/* Measures Argon2id on this machine and raises the passes from the default so that one
 * derivation takes about target_ms (never below the default). */
PL_WUR pl_status vault_kdf_calibrate(unsigned target_ms, pl_kdf_params *out, pl_err *err);

typedef struct {
    char name[PL_NAME_MAX + 1];
    uint8_t sign_pk[PL_SIGN_PK_BYTES];
    uint8_t box_pk[PL_BOX_PK_BYTES];
    char fingerprint[PL_FINGERPRINT_HEX + 1];
} pl_identity;

/* Creates a vault at dir (made 0700; must not hold a vault already): a master key, the
 * owner's identity (copied to id_out unless NULL), keyslots for pass and for a fresh
 * recovery code written to recovery. */
PL_WUR pl_status vault_init(const char *dir, const char *name, const pl_secret *pass,
                            const pl_kdf_params *kdf, char recovery[PL_RECOVERY_LEN + 1],
                            pl_identity *id_out, pl_err *err);
/* Opens the vault at dir with pass. PL_E_PASSPHRASE when pass is wrong, PL_E_INTEGRITY when
 * vault.db fails authentication. */
PL_WUR pl_status vault_open(const char *dir, const pl_secret *pass, pl_vault **out, pl_err *err);
void vault_close(pl_vault *v);
/* Replaces the passphrase slot; the database is not re-encrypted. kdf NULL keeps the cost
 * of the slot being replaced (also in vault_recover). */
PL_WUR pl_status vault_passwd(const char *dir, const pl_secret *old_pass, const pl_secret *new_pass,
                              const pl_kdf_params *kdf, pl_err *err);
/* Sets a new passphrase with the recovery code; the used code is replaced by a new one,
 * written to new_recovery. */
PL_WUR pl_status vault_recover(const char *dir, const char *code, const pl_secret *new_pass,
                               const pl_kdf_params *kdf, char new_recovery[PL_RECOVERY_LEN + 1],
                               pl_err *err);

void vault_identity(const pl_vault *v, pl_identity *out);
/* The public identity as a self-signed JSON object (formats/records.md, "Identity export"). */
PL_WUR pl_status vault_identity_export(pl_vault *v, json_t **out, pl_err *err);
/* Checks an identity file (what vault_identity_export wrote, parsed): its fields, its
 * self-signature and its fingerprint. PL_E_INVALID / PL_E_INTEGRITY with the reason. */
PL_WUR pl_status pl_identity_import(json_t *j, pl_identity *out, pl_err *err);
void vault_fingerprint(const uint8_t sign_pk[PL_SIGN_PK_BYTES],
                       const uint8_t box_pk[PL_BOX_PK_BYTES], char out[PL_FINGERPRINT_HEX + 1]);

/* ---- entries ---------------------------------------------------------------------- */

typedef enum { PL_BODY_PRESENT = 0, PL_BODY_ERASED = 1 } pl_body_state;

typedef struct {
    uint8_t id[PL_ID_BYTES];
    pl_header h;
    uint8_t sig[PL_SIG_BYTES];
    pl_body_state body;
    /* Set by the reader for root entries: a later amend or retract refers to it. */
    int amended;
    int retracted;
} pl_entry;

typedef struct {
    const char *type;    /* NULL: any */
    const char *subject; /* NULL: any */
    const char *since;   /* YYYY-MM-DD or NULL */
} pl_filter;

typedef int (*pl_entry_cb)(void *ctx, const pl_entry *e);

/* Calls cb for each matching entry in ledger order (time, feed, seq); cb returning non-zero
 * stops the walk. */
PL_WUR pl_status vault_log(pl_vault *v, const pl_filter *f, pl_entry_cb cb, void *ctx, pl_err *err);
/* Finds the entry whose hex id starts with prefix (at least 4 hex digits). */
PL_WUR pl_status vault_find(pl_vault *v, const char *prefix, pl_entry *out, pl_err *err);
/* Decrypts and parses the body of e. PL_E_ACCESS: no key for it here; PL_E_INTEGRITY: the
 * body does not match its header; PL_E_NOTFOUND with an "erased" message when erased. */
PL_WUR pl_status vault_body(pl_vault *v, const pl_entry *e, json_t **out, pl_err *err);
/* The chain of versions of the record e belongs to: the original, each amend, and a retract,
 * in order. *n receives the count; free *out with free(). */
PL_WUR pl_status vault_history(pl_vault *v, const pl_entry *e, pl_entry **out, size_t *n,
                               pl_err *err);

/* ---- records (formats/records.md) --------------------------------------------------- */

enum {
    PL_SCOPE_PEER_SUPPORT = 1u << 0,
    PL_SCOPE_RECORD_KEEPING = 1u << 1,
    PL_SCOPE_SUPERVISION_SHARING = 1u << 2,
    PL_SCOPE_CONTACT_PROFESSIONALS = 1u << 3,
    PL_SCOPE_EVALUATION = 1u << 4,
    PL_SCOPE_ALL = (1u << 5) - 1u
};
#define PL_SCOPE_SESSION (PL_SCOPE_PEER_SUPPORT | PL_SCOPE_RECORD_KEEPING)

#define PL_SESSION_KINDS 4u
extern const char *const pl_session_kinds[PL_SESSION_KINDS]; /* one-to-one, ... ward */

/* Parses "a,b,c" into a mask; -1 names the first unknown scope in bad[cap]. */
PL_WUR int pl_scopes_parse(const char *list, unsigned *mask, char *bad, size_t cap);
/* Writes the mask as a comma list in canonical order. */
void pl_scopes_format(unsigned mask, char *out, size_t cap);

/* The date an entry is about: its metadata's date, else the UTC date it was written. */
void pl_entry_date(const pl_header *h, char out[PL_DATE_LEN + 1]);

/* Today's local date as YYYY-MM-DD. */
void pl_today(char out[PL_DATE_LEN + 1]);

/* Appends a record of type with the JSON body (validated against the type's schema in
 * formats/records.md; header metadata is derived from it). subject: a pseudonym or NULL.
 * For "consent.grant" with subject "new", a fresh pseudonym is made and written to
 * subject_out. Sessions are refused (PL_E_CONSENT) without covering consent. */
PL_WUR pl_status vault_record_add(pl_vault *v, const char *type, const char *subject,
                                  json_t *body, char subject_out[PL_SUBJECT_MAX + 1],
                                  pl_entry *out, pl_err *err);
/* The guide's countersignature of a volunteer agreement that names them (an
 * agreement.sign entry referring to it); once per agreement. */
PL_WUR pl_status vault_agreement_sign(pl_vault *v, const pl_entry *agreement, const char *date,
                                      pl_entry *out, pl_err *err);
/* Appends an amend of target (or of its original) carrying the full new body. */
PL_WUR pl_status vault_amend(pl_vault *v, const pl_entry *target, json_t *body, pl_entry *out,
                             pl_err *err);
/* Appends a retraction of target with a reason. */
PL_WUR pl_status vault_retract(pl_vault *v, const pl_entry *target, const char *reason,
                               pl_entry *out, pl_err *err);
/* Withdraws scopes (mask) of subject's consent as of date. */
PL_WUR pl_status vault_consent_withdraw(pl_vault *v, const char *subject, unsigned scopes,
                                        const char *date, const char *reason, pl_entry *out,
                                        pl_err *err);
/* PL_OK when subject's consent covers every scope in need on date; else PL_E_CONSENT with
 * the reason in err. */
PL_WUR pl_status vault_consent_check(pl_vault *v, const char *subject, unsigned need,
                                     const char *date, pl_err *err);
/* Checks body against the schema of type ("consent.grant", "consent.withdraw", "session",
 * "note", "retract") without a vault, as appending does, and writes the header metadata it
 * derives into meta_out[cap]. PL_E_INVALID with the reason in err when it does not fit. */
PL_WUR pl_status pl_record_validate(const char *type, json_t *body, char *meta_out, size_t cap,
                                    pl_err *err);

/* ---- verify ------------------------------------------------------------------------- */

#define PL_VERIFY_MAX_PROBLEMS 64u

typedef struct {
    uint8_t feed[PL_SIGN_PK_BYTES];
    uint64_t seq; /* 0 when the problem is not about one entry */
    char what[200];
} pl_problem;

/* A coordinator's erasure of a citizen's bodies (formats/erasure.md). */
typedef struct {
    uint8_t id[PL_ID_BYTES];
    uint8_t by[PL_SIGN_PK_BYTES]; /* the coordinator's feed */
    char subject[PL_SUBJECT_MAX + 1];
    char date[PL_DATE_LEN + 1];
    unsigned types; /* retention: bit PL_RET_* of the record types it takes; 0: all of them */
    char until[PL_DATE_LEN + 1]; /* retention: the records dated up to this day ("" when all) */
    int64_t time_ms; /* when it was written (its header's time) */
    uint64_t bodies; /* verify: bodies it accounts for */
} pl_erasure;

/* ---- retention (formats/erasure.md §6) ------------------------------------------------ */

/* The record types a retention period applies to; consent stands for consent.grant and
 * consent.withdraw. */
enum {
    PL_RET_SESSION,
    PL_RET_SUPERVISION,
    PL_RET_MATCH,
    PL_RET_COLLABORATION,
    PL_RET_COURSE_CLOSE,
    PL_RET_CONSENT,
    PL_RET_TYPES
};
#define PL_RET_LAST_ENTRY (-1) /* consent: kept while any other entry about the citizen is */
#define PL_RET_MONTHS_MAX 1200
extern const char *const pl_retention_names[PL_RET_TYPES]; /* "session", ..., "consent" */
/* The PL_RET_* of a record type (consent.grant and consent.withdraw: PL_RET_CONSENT), or -1. */
int pl_retention_type(const char *record_type);

typedef struct {
    int set; /* the organisation's policy sets retention */
    /* per PL_RET_*: 0 kept; N > 0: N months after the citizen's last course closed;
     * consent: PL_RET_LAST_ENTRY or 0 */
    int months[PL_RET_TYPES];
} pl_retention;

/* Parses the --retention option of 'org init': "12" (every type 12 months after the
 * course closed, consent while other entries remain), then or instead TYPE=MONTHS,
 * TYPE=keep, consent=last-entry, comma-separated. PL_E_INVALID with what is wrong. */
PL_WUR pl_status pl_retention_parse(const char *spec, pl_retention *out, pl_err *err);
/* The policy as the genesis body's "retention" object: {"<type>": months | "keep" |
 * "last-entry"} (formats/erasure.md §6). */
json_t *pl_retention_json(const pl_retention *r);

/* What the policy makes due for one citizen. */
typedef struct {
    char subject[PL_SUBJECT_MAX + 1];
    int open;                        /* a course is open (or none closed): nothing is due */
    char closed[PL_DATE_LEN + 1];    /* the last course's close date */
    char until[PL_DATE_LEN + 1];     /* the day asked: an erasure takes what is dated up to it */
    char due[PL_RET_TYPES][PL_DATE_LEN + 1]; /* when each type falls due ("" kept) */
    uint64_t bodies[PL_RET_TYPES];   /* entries per type, dated up to until, still with body */
    uint64_t other;                  /* other entries naming the citizen that keep a body: dated
                                        after until, or supervisions of citizens not due */
    unsigned due_now;                /* PL_RET_* bits due on the day asked */
    uint64_t taken;                  /* bodies an erasure of due_now would take */
} pl_retention_item;

/* Per citizen, what the organisation's retention policy makes due on the day on (NULL:
 * today); *policy receives the policy. Free *items. PL_E_ACCESS when the policy cannot be
 * read yet. Reads headers only. */
PL_WUR pl_status vault_retention_plan(pl_vault *v, const char *on, pl_retention_item **items,
                                      size_t *n, pl_retention *policy, pl_err *err);
/* Writes, in one transaction, one retention erasure (types due, until the close date) per
 * citizen with bodies due today, and applies them (a current coordinator: PL_E_ACCESS
 * otherwise). */
PL_WUR pl_status vault_retention_apply(pl_vault *v, unsigned *erasures, uint64_t *erased,
                                       pl_err *err);
#define PL_VERIFY_ERASURES_MAX 16u

typedef struct {
    uint64_t feeds;
    uint64_t entries;
    uint64_t bodies_checked;
    uint64_t bodies_erased;
    uint64_t not_counted; /* by removed members after their removal: kept, do not count */
    uint64_t forks_resolved; /* entries at a forked place that a coordinator's resolution covers */
    uint64_t signatures_checked;
    size_t nproblems;    /* problems found (may exceed what fits below) */
    pl_problem problem[PL_VERIFY_MAX_PROBLEMS];
    pl_erasure erasure[PL_VERIFY_ERASURES_MAX]; /* the erasures that account for erased bodies */
    size_t nerasures;    /* may exceed PL_VERIFY_ERASURES_MAX */
} pl_verify_report;

/* Checks the database pages, every chain link, header, body hash and the signature of each
 * feed's head (every signature when every_sig). PL_E_INTEGRITY when anything is wrong. */
PL_WUR pl_status vault_verify(pl_vault *v, int every_sig, pl_verify_report *rep, pl_err *err);

/* ---- audit (formats/audit.md) -------------------------------------------------------- */

enum {
    PL_RULE_INTEGRITY,         /* chains, signatures, body hashes, forks, author roles */
    PL_RULE_REMOVED_AUTHOR,    /* written after the author's removal: kept, not counted */
    PL_RULE_CONSENT_MISSING,   /* no consent to a needed scope on the entry's date */
    PL_RULE_CONSENT_EXPIRED,   /* the consent had ended by that date */
    PL_RULE_CONSENT_WITHDRAWN, /* dated on or after a withdrawal of a needed scope */
    PL_RULE_AGREEMENT,         /* a guide's sessions without an active volunteer agreement */
    PL_RULE_COURSE_LENGTH,     /* a course longer than PL_COURSE_MONTHS_MAX */
    PL_RULE_OUTSIDE_COURSE,    /* sessions outside every course of their subject */
    PL_RULE_CHECKPOINT,        /* the vault no longer holds what a checkpoint recorded */
    PL_RULE_AFTER_ERASURE,     /* covered by an erasure written before it: content dropped */
    PL_AUDIT_RULES
};
extern const char *const pl_audit_rule_names[PL_AUDIT_RULES];
#define PL_COURSE_MONTHS_MAX 4
#define PL_AUDIT_COURSES_MAX 4096u

typedef struct {
    unsigned rule;
    char subject[PL_SUBJECT_MAX + 1]; /* "" when not about one citizen */
    char date[PL_DATE_LEN + 1];       /* "" when not about one day */
    uint8_t entry[PL_ID_BYTES];
    int has_entry;
    char what[300];
} pl_finding;

/* One mark on a citizen's timeline: kind is consent, withdrawal, match, course, session,
 * supervision or close; end is a consent's or course's last day when it has one. */
typedef struct {
    char subject[PL_SUBJECT_MAX + 1];
    char kind[16];
    char date[PL_DATE_LEN + 1], end[PL_DATE_LEN + 1];
    uint8_t entry[PL_ID_BYTES];
    unsigned minutes;
} pl_audit_event;

/* A course (collaboration agreement until course.close) and its cadence. */
typedef struct {
    char subject[PL_SUBJECT_MAX + 1];
    char guide[PL_FINGERPRINT_HEX + 1];
    char start[PL_DATE_LEN + 1], planned_end[PL_DATE_LEN + 1], end[PL_DATE_LEN + 1];
    unsigned sessions, max_gap_days;
    double mean_gap_days;
} pl_audit_course;

typedef struct {
    uint64_t feeds, entries, signatures_checked, bodies_checked;
    uint64_t subjects, sessions, supervisions;
    uint64_t rule_count[PL_AUDIT_RULES]; /* findings per rule */
    pl_finding *findings;
    size_t nfindings, capfindings;
    pl_audit_event *events; /* grouped by subject, in ledger order within each */
    size_t nevents, capevents;
    pl_audit_course *courses;
    size_t ncourses, courses_left_off;
} pl_audit;

/* Audits the organisation's ledger in this vault (an auditor's or coordinator's: PL_E_ACCESS
 * otherwise) from headers only: integrity as verify checks it (but for the page check),
 * entries by removed members, consent for every session, match, collaboration agreement and
 * supervision naming a citizen on its date, volunteer agreements, course length and sessions
 * outside courses. from/to (YYYY-MM-DD or NULL) limit the findings to entries dated in that
 * range. Free with pl_audit_free. */
PL_WUR pl_status vault_audit(pl_vault *v, const char *from, const char *to, pl_audit *a,
                             pl_err *err);
void pl_audit_free(pl_audit *a);
/* Days since 1970-01-01 of a valid date, and back. */
long pl_day_number(const char *date);
void pl_date_of_day(long day, char out[PL_DATE_LEN + 1]);
/* ---- report (formats/report.md) --------------------------------------------------------- */

#define PL_REPORT_MIN_CITIZENS 5u /* cells about fewer citizens are suppressed ("<5") */

/* Bits of pl_report_row.hidden: counts a suppressed report shows as "<5". */
#define PL_HIDE_STARTED    (1u << 0)
#define PL_HIDE_CLOSED     (1u << 1)
#define PL_HIDE_KIND(k)    (1u << (2u + (k))) /* sessions and hours of kind k */
#define PL_HIDE_CITIZENS   (1u << 6)
#define PL_HIDE_TOTAL      (1u << 7) /* the row's sessions and hours in all */

typedef struct {
    char key[PL_FINGERPRINT_HEX + 1]; /* "YYYY-MM", or a guide's fingerprint */
    char label[PL_NAME_MAX + 1];      /* the guide's name, when this vault can read it */
    unsigned courses_started, courses_closed;
    unsigned sessions[PL_SESSION_KINDS];
    uint64_t minutes[PL_SESSION_KINDS];
    unsigned supervisions;
    uint64_t supervision_minutes;
    unsigned guides;                  /* guides with sessions */
    /* How many distinct citizens each count is about: the suppression rule's measure. */
    unsigned citizens_started, citizens_closed, citizens_kind[PL_SESSION_KINDS], citizens;
    unsigned hidden; /* PL_HIDE_* (suppressed reports) */
} pl_report_row;

typedef struct {
    pl_report_row *rows; /* by month (ascending) or by guide (by fingerprint) */
    size_t nrows;
    pl_report_row total;
} pl_report;

/* Statistics for evaluation from headers only (an auditor's or coordinator's vault): courses
 * started and closed, sessions and their minutes by kind, active guides, supervisions, per
 * month or per guide, for entries dated from..to (NULL: open). With suppress, marks in each
 * row's hidden the counts about 1 to 4 citizens, and the counts that would give those away
 * by subtraction (formats/report.md §2). Free with pl_report_free. */
PL_WUR pl_status vault_report(pl_vault *v, const char *from, const char *to, int by_guide,
                              int suppress, pl_report *out, pl_err *err);
void pl_report_free(pl_report *r);

/* The date months after from (a valid date), the day clamped to the month's last. */
void pl_date_plus_months(const char *from, int months, char out[PL_DATE_LEN + 1]);

typedef struct {
    char type[PL_TYPE_MAX + 1];
    uint64_t n;
} pl_opened;
/* How many bodies this handle decrypted since it was opened, by header type: writes at most
 * cap rows to out and returns how many types there are. */
size_t vault_bodies_opened(const pl_vault *v, pl_opened *out, size_t cap);

/* ---- checkpoints (formats/checkpoint.md) -------------------------------------------- */

typedef struct {
    char signer[PL_FINGERPRINT_HEX + 1];
    char signer_name[PL_NAME_MAX + 1]; /* "" when this vault cannot read it */
    size_t feeds, matched;             /* lines in the checkpoint; those this vault still holds */
    size_t nproblems;                  /* feeds rolled back, rewritten or missing */
    pl_problem problem[PL_VERIFY_MAX_PROBLEMS];
} pl_checkpoint_report;

/* A checkpoint of every feed this vault holds, signed by its owner (a current auditor:
 * PL_E_ACCESS otherwise): the file's text in *out (free() it), *len bytes, *nfeeds lines. */
PL_WUR pl_status vault_checkpoint_sign(pl_vault *v, char **out, size_t *len, size_t *nfeeds,
                                       pl_err *err);
/* Checks a checkpoint file's bytes: its organisation, its signature by an auditor of it, and
 * that this vault still holds, for every feed, the entry recorded at its sequence number.
 * PL_E_INVALID / PL_E_INTEGRITY when the file cannot be trusted; feeds that do not match are
 * problems in rep (PL_OK is returned all the same). */
PL_WUR pl_status vault_checkpoint_verify(pl_vault *v, const char *in, size_t n,
                                         pl_checkpoint_report *rep, pl_err *err);

/* ---- erasure (formats/erasure.md; issue 5 in progress) -------------------------------- */

/* Erases a citizen's data (a current coordinator: PL_E_ACCESS otherwise): an erase entry
 * naming subject with reason (readable by every member), and, in the same transaction, the
 * bodies of every entry about subject that this vault holds (headers stay; secure_delete is
 * on, and the WAL is checkpointed after the commit). *erased receives how many bodies went.
 * Every vault that imports the entry does the same. PL_E_NOTFOUND when this vault holds
 * nothing about subject. */
PL_WUR pl_status vault_erase(pl_vault *v, const char *subject, const char *reason,
                             pl_entry *out, uint64_t *erased, pl_err *err);
/* The erasure that covers e (its body erased), in out; PL_E_NOTFOUND when none does. */
PL_WUR pl_status vault_erasure_of(pl_vault *v, const pl_entry *e, pl_erasure *out,
                                  pl_err *err);

/* ---- held keys ---------------------------------------------------------------------- */

/* Keeps an X25519 key pair granted to this vault (a role or member key) so that bodies
 * wrapped to pk can be read. The secret key is sealed in vault.db under a subkey of the
 * master key. Holding a key twice is a no-op. PL_E_INVALID when sk does not give pk. */
PL_WUR pl_status vault_key_hold(pl_vault *v, const uint8_t pk[PL_BOX_PK_BYTES],
                                const uint8_t sk[PL_BOX_SK_BYTES], const char *label,
                                pl_err *err);
/* How many keys this vault holds besides its own. */
unsigned vault_keys_held(const pl_vault *v);

/* ---- organisation (formats/org.md; issue 3 in progress) ------------------------------ */

#define PL_ROLES                4u /* coordinator, guide, supervisor, auditor */
#define PL_ROLE_COORDINATOR     (1u << 0) /* role bits of pl_org_member.roles */
#define PL_ROLE_GUIDE           (1u << 1)
#define PL_ROLE_SUPERVISOR      (1u << 2)
#define PL_ROLE_AUDITOR         (1u << 3)
#define PL_DOM_ORG_FINGERPRINT  "peerlog/v1/org-fingerprint"

typedef struct {
    char role[16];
    uint32_t epoch;
    uint8_t pk[PL_BOX_PK_BYTES];
    uint8_t by[PL_ID_BYTES];   /* the entry that announced it (the genesis for member/1) */
    uint8_t author[PL_SIGN_PK_BYTES]; /* whose device made it (and holds it) */
} pl_org_key;

#define PL_ORG_MEMBERS_MAX      128u

typedef struct {
    pl_identity id;  /* name is "" when this vault cannot read the member.add body */
    unsigned roles;  /* bit i: role i of coordinator, guide, supervisor, auditor */
    uint64_t from_seq;
    uint64_t until_seq; /* after a removal: the member's last entry that counts; else max */
    int removed;
    uint8_t added_by[PL_SIGN_PK_BYTES]; /* the coordinator of the first member.add that counts */
    uint8_t add_id[PL_ID_BYTES];        /* that member.add (the genesis for the first) */
    uint8_t removal_id[PL_ID_BYTES];    /* the member.remove whose cut holds, when removed */
} pl_org_member;

/* A concurrent change that the membership rules resolved (formats/org.md §10.6): printed by
 * 'org show' and 'verify', so that coordinators see what did not take effect. */
#define PL_ORG_NOTES_MAX 16u
#define PL_ORG_NOTE_LEN  200u

#define PL_ORG_KEYS_MAX 64u

/* The data controller, as consent receipts name it (formats/org.md §10.8): the genesis body's
 * "controller" object; "" where not given. */
typedef struct {
    char contact[PL_NAME_MAX + 1]; /* a person or office */
    char email[PL_NAME_MAX + 1];
    char phone[PL_NAME_MAX + 1];
    char address[PL_NAME_MAX + 1];
    char policy_url[PL_NAME_MAX + 1]; /* where the privacy policy is */
} pl_controller;

typedef struct {
    char name[PL_NAME_MAX + 1];
    uint8_t id[PL_ID_BYTES];                  /* the genesis entry's id */
    char fingerprint[PL_FINGERPRINT_HEX + 1]; /* read aloud to a joining member */
    uint8_t coordinator[PL_SIGN_PK_BYTES];    /* the genesis author's feed */
    uint8_t member_pk[PL_BOX_PK_BYTES];       /* the member key of epoch 1 (exchange root) */
    /* Every announced key: the roles' (epoch 1 and each rotation) and the member key's
     * rotations (role "member", epoch 2 on). */
    pl_org_key keys[PL_ORG_KEYS_MAX];
    unsigned nkeys;
    pl_org_member members[PL_ORG_MEMBERS_MAX]; /* the first coordinator first */
    unsigned nmembers;
    struct {
        char type[PL_TYPE_MAX + 1];
        unsigned write, read; /* role masks */
    } policy[16];
    unsigned npolicy; /* 0 when this vault cannot read the genesis body yet */
    char notes[PL_ORG_NOTES_MAX][PL_ORG_NOTE_LEN];
    unsigned nnotes; /* may exceed PL_ORG_NOTES_MAX: the count of every note */
    pl_controller controller;
    pl_retention retention; /* from the genesis body ("retention"); set = 0 when none */
} pl_org;

/* "coordinator,guide" -> mask; -1 (and the unknown name in bad) when a role is unknown. */
PL_WUR int pl_roles_parse(const char *list, unsigned *mask, char *bad, size_t cap);
void pl_roles_format(unsigned mask, char *out, size_t cap);
/* Adds a member (coordinators only): a member.add entry (readable by every member) and a
 * key.grant entry giving the member the member key and the keys of its roles, readable by
 * the member alone. PL_E_EXISTS when that identity is a member already. */
PL_WUR pl_status vault_member_add(pl_vault *v, const pl_identity *m, unsigned roles,
                                  pl_entry *out, pl_err *err);
/* Removes a member (coordinators only): a member.remove entry naming the member's last entry
 * this vault holds (later ones do not count), a new epoch of the member key and of each role
 * key the member held, and grants of the new keys to the remaining members, in one
 * transaction. feed: the member's feed. */
PL_WUR pl_status vault_member_remove(pl_vault *v, const uint8_t feed[PL_SIGN_PK_BYTES],
                                     const char *reason, pl_entry *out, pl_err *err);
/* Resolves a fork (coordinators only): a fork.resolve entry keeping the branch of the entry
 * whose id starts with keep, which must share its feed and sequence number with another
 * entry. verify then reports the fork as resolved instead of failing. */
PL_WUR pl_status vault_fork_resolve(pl_vault *v, const char *keep, const char *reason,
                                    pl_entry *out, pl_err *err);
/* The member with identity fingerprint fp (32 lowercase hex digits), or NULL. */
const pl_org_member *pl_org_find(const pl_org *o, const char *fp);
/* The current (highest-epoch) key of name ("member" or a role); NULL when none. For
 * "member" before any rotation it is the epoch-1 key, returned as a static copy in out. */
const pl_org_key *pl_org_current_key(const pl_org *o, const char *name, pl_org_key *out);
/* After concurrent changes by coordinators (formats/org.md §10.6), a current coordinator
 * gives a new epoch to each current key that a removed member holds, and grants each current
 * member the current keys it lacks (where this vault holds them). *rotated and *granted
 * count the entries written; nothing is written when nothing needs repair or when this
 * vault is not a current coordinator's. */
PL_WUR pl_status vault_org_repair(pl_vault *v, unsigned *rotated, unsigned *granted,
                                  pl_err *err);
/* Holds every key granted to this vault by the key.grant entries it has (after an import);
 * *taken receives how many keys the grants carried (already held ones count too). */
PL_WUR pl_status vault_accept_grants(pl_vault *v, unsigned *taken, pl_err *err);

/* Starts an organisation with this vault's owner as first coordinator: a genesis entry
 * (name, the controller's details unless controller is NULL, default policy, retention unless
 * retention is NULL or not set, member key) and a key announcement per role, all in one
 * transaction; the new keys are held by this vault. Needs a vault with no entries yet. */
PL_WUR pl_status vault_org_init(pl_vault *v, const char *name, const pl_controller *controller,
                                const pl_retention *retention, pl_org *out, pl_err *err);
/* The organisation this vault belongs to; PL_E_NOTFOUND when none. */
PL_WUR pl_status vault_org(pl_vault *v, pl_org *out, pl_err *err);
/* BLAKE2b-128(PL_DOM_ORG_FINGERPRINT "\0" || id) (a 16-byte BLAKE2b output), as hex. */
void vault_org_fingerprint(const uint8_t id[PL_ID_BYTES], char out[PL_FINGERPRINT_HEX + 1]);

/* ---- consent receipts (formats/receipt.md) ------------------------------------------- */

#define PL_RECEIPT_ID_LEN 36u /* a UUID, 8-4-4-4-12 lowercase hex */

/* What a citizen agreed to, from the headers of their consent.grant and the withdrawals since:
 * no body is read, and no name or contact is in it. */
typedef struct {
    char subject[PL_SUBJECT_MAX + 1];
    uint8_t entry[PL_ID_BYTES];   /* the grant; its id is the verification code */
    int64_t time_ms;              /* when it was recorded */
    char method[17];              /* written, verbal or digital */
    unsigned scopes;              /* granted (as last amended) */
    unsigned withdrawn;           /* of those, withdrawn since */
    char valid_from[PL_DATE_LEN + 1], valid_until[PL_DATE_LEN + 1]; /* until: "" for open */
    char withdrawn_on[PL_DATE_LEN + 1]; /* the latest withdrawal's date, "" when none */
    char state[16];               /* W3C DPV: given, withdrawn or expired */
    char issued[PL_DATE_LEN + 1]; /* today */
    char receipt_id[PL_RECEIPT_ID_LEN + 1];
} pl_receipt;

/* The receipt for subject's consent: the grant whose id starts with entry (hex), or when entry
 * is NULL the newest one not retracted. PL_E_NOTFOUND when there is none. */
PL_WUR pl_status vault_consent_receipt(pl_vault *v, const char *subject, const char *entry,
                                       pl_receipt *out, pl_err *err);
/* The receipt id of a grant: BLAKE2b-128("peerlog/v1/receipt-id\0" || id) as a version-8
 * UUID (formats/receipt.md §2). */
void pl_receipt_id(const uint8_t entry[PL_ID_BYTES], char out[PL_RECEIPT_ID_LEN + 1]);
/* The receipt as a Kantara Consent Receipt v1.1 object (formats/receipt.md §3). */
json_t *pl_receipt_json(const pl_receipt *r, const pl_org *o);
/* What a receipt file claims, read strictly: the fields check-receipt compares. */
typedef struct {
    char subject[PL_SUBJECT_MAX + 1];
    uint8_t entry[PL_ID_BYTES];
    int64_t timestamp; /* consentTimestamp, seconds */
    char receipt_id[PL_RECEIPT_ID_LEN + 1];
    char collection_method[64];
    unsigned scopes;
    char valid_from[PL_DATE_LEN + 1], valid_until[PL_DATE_LEN + 1];
    char organisation[PL_FINGERPRINT_HEX + 1];
} pl_receipt_claim;
#define PL_RECEIPT_MAX (64u * 1024u) /* bytes of a receipt file */
/* Parses a receipt file's bytes (JSON as 'consent receipt --json' writes it). PL_E_INVALID
 * with the reason when it is not one. */
PL_WUR pl_status pl_receipt_parse(const char *in, size_t n, pl_receipt_claim *out, pl_err *err);
/* Compares a receipt file in[n] (parsed into c) with the ledger: the grant it names must be
 * here, of that citizen, with the same time, receipt id, method, dates and scopes, and the
 * rest of the receipt must be what this organisation issues for it, but for what changes with
 * the day (the states, the issue date). PL_E_INTEGRITY naming what differs; now receives the
 * receipt as the ledger gives it today. */
PL_WUR pl_status vault_receipt_check(pl_vault *v, const char *in, size_t n,
                                     const pl_receipt_claim *c, pl_receipt *now, pl_err *err);

/* ---- exchange (formats/bundle.md) ---------------------------------------------------- */

typedef struct {
    uint64_t first, last; /* the sequence numbers exported */
    uint32_t count;
    uint8_t last_id[PL_ID_BYTES];
} pl_export_info;

/* A bundle of feed's entries from since on (one branch, contiguous), at most max_entries
 * (0: the format's limit) and at most PL_BUNDLE_MAX_BYTES; free *out with free().
 * PL_E_NOTFOUND when the feed has no entries from since on. */
PL_WUR pl_status vault_export(pl_vault *v, const uint8_t feed[PL_SIGN_PK_BYTES], uint64_t since,
                              uint32_t max_entries, uint8_t **out, size_t *len,
                              pl_export_info *info, pl_err *err);

typedef struct {
    uint32_t entries; /* in the bundle */
    uint32_t added;   /* stored now (forks included) */
    uint32_t known;   /* held already: a re-import adds nothing */
    uint32_t forks;   /* stored as evidence: another entry holds the same feed and seq */
    uint32_t forks_resolved; /* the same, at a fork a coordinator resolved: not in forks */
    unsigned keys_taken;
    int retry;        /* refused for a reason a later import can remove: a gap, or an author
                         or exporter whose membership has not arrived */
    uint32_t cut;     /* refused: written by a removed member after the removal's cut */
    uint64_t bodies_erased; /* bodies dropped because an erasure covers them */
    char cut_who[PL_FINGERPRINT_HEX + 1]; /* the first such member's fingerprint */
    uint8_t exporter[PL_SIGN_PK_BYTES];
    char fork[120];   /* the first fork, described */
} pl_import_report;

/* Checks everything in the bundle first (decryption, every signature and body hash, chain
 * continuity with what the vault holds, membership and roles of every author and of the
 * exporter, key wraps addressed to this vault) and stores all of its new entries in one
 * transaction, or nothing: PL_E_INTEGRITY with the reason. Takes key grants addressed to
 * this vault. */
PL_WUR pl_status vault_import(pl_vault *v, const uint8_t *in, size_t n, pl_import_report *rep,
                              pl_err *err);

/* How many entries the bundle carries with a body this vault holds erased (the row's body
 * NULL): what a rewrite of the file would remove (formats/erasure.md §5). PL_E_INTEGRITY when
 * the bundle does not decode. */
PL_WUR pl_status vault_bundle_erased(pl_vault *v, const uint8_t *in, size_t n,
                                     uint64_t *carried, pl_err *err);

/* An invitation for member (coordinators only): the exchange key sealed to the member's box
 * key, so that its vault can read the organisation's bundles (formats/bundle.md §4). */
PL_WUR pl_status vault_invite(pl_vault *v, const uint8_t member[PL_SIGN_PK_BYTES],
                              uint8_t out[PL_INVITE_BYTES], pl_err *err);
/* Joins the organisation an invitation names, after checking that its fingerprint is
 * expect_org (as 'org show' prints it; spaces ignored): records the organisation and keeps
 * the invitation until the organisation's entries are imported. Needs a new vault. */
PL_WUR pl_status vault_join(pl_vault *v, const uint8_t *in, size_t n, const char *expect_org,
                            pl_err *err);

typedef struct {
    unsigned bundles_written, invites_written;
    uint64_t entries_exported;
    unsigned bundles_imported; /* that added entries */
    uint64_t entries_added;
    uint64_t forks;
    unsigned keys_taken;
    unsigned bundles_refused;    /* damaged, forged or not allowed: reported through cb */
    unsigned bundles_waiting;    /* need a bundle not in the folder yet (a gap, a member) */
    unsigned bundles_unreadable; /* could not be read (permissions, not a file) */
    uint64_t entries_cut;        /* refused: by removed members, after their removal */
    int restore_settled;         /* a restored vault caught up and may append again */
    int restore_waiting;         /* a restored vault's own later entries are not all in */
    int waiting;              /* joined, but the organisation's entries are not there yet */
    unsigned keys_rotated, grants_written; /* repairs by a coordinator (vault_org_repair) */
    uint64_t bodies_erased;      /* dropped on import: an erasure covers them */
    unsigned bundles_rewritten;  /* own files written again without erased bodies */
    uint64_t bodies_removed;     /* erased bodies those files no longer carry */
} pl_sync_report;

typedef enum {
    PL_SYNC_PROGRESS,
    PL_SYNC_REFUSED,
    PL_SYNC_WAITING,
    PL_SYNC_UNREADABLE,
    PL_SYNC_FORK,
    PL_SYNC_CUT,
    PL_SYNC_STALE /* an own file still carries erased content and could not be rewritten */
} pl_sync_event;
/* PROGRESS: about to import file number done of total; the others: msg says why. */
typedef void (*pl_sync_cb)(void *ctx, pl_sync_event ev, const char *path, size_t done,
                           size_t total, const char *msg);

/* Imports every bundle under dir/feeds/ not yet held (in passes, so that a bundle waiting
 * for another is retried), then writes this vault's new entries as
 * dir/feeds/<feed>/<first>-<last>-<id8>.bundle and, on a coordinator's vault, an invitation
 * dir/invites/<fingerprint>.invite for each member without one. A refused bundle is
 * reported through cb and counted; it does not stop the others. */
/* Then rewrites each of this vault's own files in the folder that carries a body this vault
 * holds erased (formats/erasure.md §5). */
#define PL_SYNC_RESUME_AFTER_RESTORE 1u /* a restored vault may write although the folder
                                             holds less of its feed than the backup did */
PL_WUR pl_status vault_sync(pl_vault *v, const char *dir, unsigned flags, pl_sync_cb cb,
                            void *ctx, pl_sync_report *rep, pl_err *err);

typedef struct {
    uint8_t feed[PL_SIGN_PK_BYTES];
    unsigned files;  /* bundle files of the feed that still carry erased bodies */
    uint64_t bodies; /* how many such bodies they carry */
    int64_t newest;  /* modification time of the feed's newest file (seconds since 1970) */
} pl_folder_feed;

typedef struct {
    unsigned feeds, files; /* in the folder */
    unsigned unreadable;   /* files that could not be checked (damaged, another organisation) */
    pl_folder_feed *stale; /* free() */
    size_t nstale;
} pl_folder_status;

/* Reads the shared folder without changing it or the vault: which feeds' files still carry a
 * body this vault holds erased (their owners have not synced since the erasure reached
 * them). Files whose range holds no erased entry here are not opened. */
PL_WUR pl_status vault_folder_status(pl_vault *v, const char *dir, pl_folder_status *out,
                                     pl_err *err);

/* ---- backup and restore (formats/vault.md §5) ---------------------------------------- */

/* Writes a consistent copy of the vault (its keyslots and an encrypted copy of vault.db made
 * in one read transaction) to path; *bytes receives the size. The copy opens with the
 * passphrase (or recovery code) the vault has now. */
PL_WUR pl_status vault_backup(pl_vault *v, const char *path, uint64_t *bytes, pl_err *err);
/* Writes the vault in a backup file into dir (new, or empty and ours). A vault of an
 * organisation restored this way refuses to append until 'sync' has caught up with its own
 * feed in the shared folder. */
PL_WUR pl_status vault_restore(const char *file, const char *dir, pl_err *err);
/* 1 while a restored vault waits for sync before appending. */
int vault_is_restored(const pl_vault *v);
/* The head of the owner's feed when the backup was made (0 when not restored). */
uint64_t vault_restored_head(pl_vault *v);

/* Room for element n of the array p holding *cap elements of size bytes: p itself, or p grown
 * (doubling, from 16; *cap updated); NULL when out of memory, p then unchanged. */
void *pl_grow(void *p, size_t *cap, size_t n, size_t size);

/* Whole files: read (refused unread when larger than max) and written crash-safely (a
 * temporary name beside path, fsync, rename, fsync of the directory). */
PL_WUR pl_status pl_file_read(const char *path, size_t max, uint8_t **out, size_t *len,
                              pl_err *err);
PL_WUR pl_status pl_file_write_atomic(const char *path, const uint8_t *p, size_t n,
                                      pl_err *err);

/* ---- low level (tests, benchmarks) --------------------------------------------------- */

typedef struct {
    const char *type;
    const char *subject; /* NULL or "" for none */
    const uint8_t (*refs)[PL_ID_BYTES];
    uint8_t nrefs;
    const char *meta; /* canonical metadata, "" for none */
    /* Recipients besides the author (role keys, a person concerned): each gets a wrap. */
    const uint8_t (*rcpt)[PL_BOX_PK_BYTES];
    uint8_t nrcpt;
    const uint8_t *body;
    size_t body_len;
    int64_t time_ms; /* 0: now */
} pl_append_req;

/* Appends one entry to the owner's feed in its own transaction (or in the caller's, between
 * vault_begin and vault_commit). */
PL_WUR pl_status vault_append(pl_vault *v, const pl_append_req *req, pl_entry *out, pl_err *err);
PL_WUR pl_status vault_begin(pl_vault *v, pl_err *err);
PL_WUR pl_status vault_commit(pl_vault *v, pl_err *err);
void vault_rollback(pl_vault *v);
/* The open SQLCipher handle, for tests that play the attacker who holds the database key. */
struct sqlite3 *vault_db(pl_vault *v);

#endif
