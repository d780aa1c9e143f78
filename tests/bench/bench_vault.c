/* bench_vault: the vault's bulk append and full verify against the floor that libsodium and
 * SQLCipher set when used bare, measured in the same run (DESIGN.md, "Performance notes").
 *
 *   bench_vault [--entries N] [--txn-entries M] [--audit-sessions A] [--reps R]
 *
 * append: N session-like records (~300-byte JSON bodies) in one transaction, against the
 *   floor of one Ed25519 signature, one XChaCha20-Poly1305 encryption of the same body and
 *   one prepared INSERT of a row of the same size per entry into a fresh SQLCipher database
 *   with the vault's pragmas, also in one transaction. M entries are also appended one
 *   transaction each, for information.
 * verify: vault_verify of those N entries, head signature only and every signature, against
 *   crypto_sign_verify_detached on N signatures.
 * audit: vault_audit of a coordinator's vault holding a guide's A sessions as whole courses
 *   (about 1.2 A headers, nothing to find), against one plain SQL scan of the same headers
 *   ("SELECT header FROM entries", its pages decrypted afresh) in the same vault.
 * Everything runs R times (default 3). Each run measures the floor just before and just after
 * the vault's measurement and compares the vault with their mean, so that both sides of a
 * ratio see the same load on a shared machine; the run with the median ratio is printed. The
 * program prints ratios and never judges them; it exits non-zero only when a call fails or
 * verify reports a problem, so a small run (--entries 300) serves as a smoke test. */
#define _XOPEN_SOURCE 700 /* nftw */

#include <errno.h>
#include <ftw.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#define SQLITE_HAS_CODEC 1
#include <sqlite3.h>

#include "vault/vault.h"

#define REPS_MAX      9
#define BODY_TARGET   300u
#define BODY_CAP      512u
#define META_CAP      96u
#define SUBJECT_COUNT 50u
#define FLOOR_MSG     32u

static const pl_kdf_params bench_kdf = {8u * 1024u, 1u, 1u}; /* KDF is not under test */

typedef struct {
    char body[BODY_CAP];
    size_t body_len;
    char meta[META_CAP];
    char subject[PL_SUBJECT_MAX + 1];
} bench_record;

/* The seconds one run took for each measurement; floor and raw are the means of the
 * measurements taken just before and just after the vault's. */
typedef struct {
    double floor, app, raw, head, every, each, imp;
} run_times;

static char tmp_root[64];

static void fail(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

static int rm_one(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)ftw;
    if ((flag == FTW_DP ? rmdir(path) : unlink(path)) != 0)
        fprintf(stderr, "bench_vault: cannot remove %s: %s\n", path, strerror(errno));
    return 0;
}

static void cleanup(void)
{
    if (tmp_root[0])
        nftw(tmp_root, rm_one, 16, FTW_DEPTH | FTW_PHYS);
    tmp_root[0] = '\0';
}

static void fail(const char *fmt, ...)
{
    va_list ap;
    fputs("bench_vault: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    cleanup();
    exit(1);
}

static double clock_s(clockid_t id)
{
    struct timespec ts;
    clock_gettime(id, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double now_s(void)
{
    return clock_s(CLOCK_MONOTONIC);
}

/* The process's CPU time: less disturbed than the wall clock by other work on the machine.
 * Each timed run leaves its CPU seconds in last_cpu. */
static double cpu_s(void)
{
    return clock_s(CLOCK_PROCESS_CPUTIME_ID);
}

static double last_cpu;

static double run_ratio(const run_times *t, int which)
{
    return which == 0   ? t->app / t->floor
           : which == 1 ? t->head / t->raw
           : which == 2 ? t->every / t->raw
                        : t->imp / t->raw;
}

/* The run whose ratio (0: append to floor, 1: head verify to raw verify, 2: every-signature
 * verify to raw verify, 3: import to raw verify) is the median of the n runs. */
static const run_times *median_run(const run_times *t, int n, int which)
{
    for (int i = 0; i < n; i++) {
        int below = 0, above = 0;
        double x = run_ratio(&t[i], which);
        for (int j = 0; j < n; j++) {
            below += run_ratio(&t[j], which) < x;
            above += run_ratio(&t[j], which) > x;
        }
        if (below <= n / 2 && above <= (n - 1) / 2)
            return &t[i];
    }
    return &t[0];
}

/* ---- workload --------------------------------------------------------------------------- */

static uint32_t rng_state = 0x9e3779b9u;

static uint32_t rng(uint32_t n)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 17;
    rng_state ^= rng_state << 5;
    return rng_state % n;
}

#define PICK(a) ((a)[rng((uint32_t)(sizeof(a) / sizeof(a)[0]))])

/* Session records as formats/records.md describes them, with notes of varying length so
 * that bodies run from about 260 to 340 bytes. */
static void make_record(bench_record *r, size_t i)
{
    static const char *const kinds[] = {"one-to-one", "accompaniment", "group", "ward"};
    static const char *const places[] = {"cafe", "library", "walk by the harbour",
                                         "ward 4, Aarhus University Hospital", "phone"};
    static const char *const themes[] = {"loneliness", "work", "family", "sleep", "housing",
                                         "debt", "grief", "medication", "friends", "school"};
    static const char *const words[] = {"talked", "about", "the", "week", "and", "next",
                                        "steps", "felt", "calmer", "than", "last", "time",
                                        "we", "agreed", "to", "meet", "again", "after",
                                        "a", "short", "walk", "plan", "for", "appointment"};
    char note[BODY_CAP], date[PL_DATE_LEN + 1], th[160];
    const char *kind = PICK(kinds);
    unsigned minutes = 30u + rng(91);
    snprintf(date, sizeof date, "2024-%02u-%02u", 1u + rng(12), 1u + rng(28));
    size_t tl = 0, nth = 1u + rng(3);
    for (size_t k = 0; k < nth; k++)
        tl += (size_t)snprintf(th + tl, sizeof th - tl, "%s\"%s\"", k ? "," : "", PICK(themes));
    int head = snprintf(r->body, sizeof r->body,
                        "{\"date\":\"%s\",\"kind\":\"%s\",\"minutes\":%u,\"place\":\"%s\","
                        "\"themes\":[%s],\"note\":\"",
                        date, kind, minutes, PICK(places), th);
    size_t want = BODY_TARGET - 40u + rng(81), nl = 0;
    note[0] = '\0';
    while ((size_t)head + nl + 2u < want && nl + 16u < sizeof note)
        nl += (size_t)snprintf(note + nl, sizeof note - nl, "%s%s", nl ? " " : "", PICK(words));
    int n = snprintf(r->body + head, sizeof r->body - (size_t)head, "%s\"}", note);
    r->body_len = (size_t)head + (size_t)n;
    snprintf(r->meta, sizeof r->meta, "date=%s\nkind=%s\nminutes=%u\n", date, kind, minutes);
    snprintf(r->subject, sizeof r->subject, "B-%04zu-%04u", i % SUBJECT_COUNT,
             (unsigned)(i % SUBJECT_COUNT) * 7u + 1000u);
}

/* ---- the vault ------------------------------------------------------------------------- */

static pl_secret *bench_pass(void)
{
    static const char pw[] = "bench passphrase, not a secret";
    pl_secret *p = pl_secret_new(sizeof pw);
    if (!p)
        fail("out of memory");
    memcpy(p->p, pw, sizeof pw - 1);
    p->len = sizeof pw - 1;
    return p;
}

static pl_vault *fresh_vault(const char *name)
{
    char dir[128], rec[PL_RECOVERY_LEN + 1];
    pl_err err;
    pl_vault *v = NULL;
    pl_secret *pass = bench_pass();
    snprintf(dir, sizeof dir, "%s/%s", tmp_root, name);
    pl_status st = vault_init(dir, "Bench Guide", pass, &bench_kdf, rec, NULL, &err);
    if (st == PL_OK)
        st = vault_open(dir, pass, &v, &err);
    pl_secret_free(pass);
    if (st != PL_OK)
        fail("vault %s: %s (%s)", name, err.msg, pl_status_name(st));
    sodium_memzero(rec, sizeof rec);
    return v;
}

static void fill_req(pl_append_req *req, const bench_record *r)
{
    memset(req, 0, sizeof *req);
    req->type = "session";
    req->subject = r->subject;
    req->meta = r->meta;
    req->body = (const uint8_t *)r->body;
    req->body_len = r->body_len;
}

/* Appends n records in one transaction; returns the seconds it took. */
static double append_bulk(pl_vault *v, const bench_record *recs, size_t n)
{
    pl_err err;
    pl_entry e;
    pl_append_req req;
    pl_status st;
    double c0 = cpu_s(), t0 = now_s();
    if ((st = vault_begin(v, &err)) != PL_OK)
        fail("vault_begin: %s", err.msg);
    for (size_t i = 0; i < n; i++) {
        fill_req(&req, &recs[i]);
        if ((st = vault_append(v, &req, &e, &err)) != PL_OK) {
            vault_rollback(v);
            fail("vault_append (entry %zu): %s (%s)", i, err.msg, pl_status_name(st));
        }
    }
    if ((st = vault_commit(v, &err)) != PL_OK)
        fail("vault_commit: %s (%s)", err.msg, pl_status_name(st));
    double t = now_s() - t0;
    last_cpu = cpu_s() - c0;
    return t;
}

/* Appends n records, each in its own transaction. */
static double append_each(pl_vault *v, const bench_record *recs, size_t n)
{
    pl_err err;
    pl_entry e;
    pl_append_req req;
    pl_status st;
    double t0 = now_s();
    for (size_t i = 0; i < n; i++) {
        fill_req(&req, &recs[i]);
        if ((st = vault_append(v, &req, &e, &err)) != PL_OK)
            fail("vault_append (entry %zu): %s (%s)", i, err.msg, pl_status_name(st));
    }
    return now_s() - t0;
}

static double verify_once(pl_vault *v, int every, size_t n)
{
    static pl_verify_report rep;
    pl_err err;
    double c0 = cpu_s(), t0 = now_s();
    pl_status st = vault_verify(v, every, &rep, &err);
    double t = now_s() - t0;
    last_cpu = cpu_s() - c0;
    if (st != PL_OK || rep.nproblems) {
        for (size_t i = 0; i < rep.nproblems && i < PL_VERIFY_MAX_PROBLEMS; i++)
            fprintf(stderr, "  seq %llu: %s\n", (unsigned long long)rep.problem[i].seq,
                    rep.problem[i].what);
        fail("vault_verify (%s): %s (%s)", every ? "every signature" : "head", err.msg,
             pl_status_name(st));
    }
    uint64_t want_sigs = every ? (uint64_t)n : 1u;
    if (rep.feeds != 1 || rep.entries != n || rep.bodies_checked != n ||
        rep.signatures_checked != want_sigs)
        fail("vault_verify (%s) checked %llu feeds, %llu entries, %llu bodies, %llu signatures; "
             "expected 1, %zu, %zu, %llu",
             every ? "every signature" : "head", (unsigned long long)rep.feeds,
             (unsigned long long)rep.entries, (unsigned long long)rep.bodies_checked,
             (unsigned long long)rep.signatures_checked, n, n, (unsigned long long)want_sigs);
    return t;
}

/* The average size of an entries row, and of its body column, as the vault stored them. */
static void vault_row_size(pl_vault *v, size_t *row, size_t *body)
{
    sqlite3_stmt *q = NULL;
    int rc = sqlite3_prepare_v2(
        vault_db(v),
        "SELECT avg(length(feed) + 8 + length(id) + length(type) + ifnull(length(subject), 0)"
        " + 8 + length(date) + ifnull(length(ref0), 0) + length(header) + length(sig)"
        " + length(wraps) + length(body)), avg(length(body)) FROM entries",
        -1, &q, NULL);
    if (rc != SQLITE_OK || sqlite3_step(q) != SQLITE_ROW)
        fail("measuring the vault's rows: %s", sqlite3_errmsg(vault_db(v)));
    *row = (size_t)(sqlite3_column_double(q, 0) + 0.5);
    *body = (size_t)(sqlite3_column_double(q, 1) + 0.5);
    sqlite3_finalize(q);
}

/* ---- the floor ------------------------------------------------------------------------- */

static void db_exec(sqlite3 *db, const char *sql)
{
    char *msg = NULL;
    if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK)
        fail("floor database: %s: %s", sql, msg ? msg : sqlite3_errmsg(db));
}

/* A fresh SQLCipher database keyed and tuned as vault/store.c does it. */
static sqlite3 *floor_db(const char *name)
{
    static const char *const pragmas[] = {
        "PRAGMA cipher_page_size = 4096", "PRAGMA kdf_iter = 64000",
        "PRAGMA cipher_hmac_algorithm = HMAC_SHA1",
        "PRAGMA cipher_kdf_algorithm = PBKDF2_HMAC_SHA1", "PRAGMA cipher_use_hmac = ON"};
    char path[128], raw[3 + 2 * 32 + 1];
    uint8_t key[32];
    sqlite3 *db = NULL;
    snprintf(path, sizeof path, "%s/%s", tmp_root, name);
    if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
                        SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK)
        fail("cannot open %s", path);
    randombytes_buf(key, sizeof key);
    raw[0] = 'x';
    raw[1] = '\'';
    sodium_bin2hex(raw + 2, sizeof raw - 2, key, sizeof key);
    raw[sizeof raw - 2] = '\'';
    raw[sizeof raw - 1] = '\0';
    if (sqlite3_key(db, raw, (int)strlen(raw)) != SQLITE_OK)
        fail("cannot key %s", path);
    sodium_memzero(raw, sizeof raw);
    sodium_memzero(key, sizeof key);
    for (size_t i = 0; i < sizeof pragmas / sizeof pragmas[0]; i++)
        db_exec(db, pragmas[i]);
    db_exec(db, "SELECT count(*) FROM sqlite_master");
    db_exec(db, "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL;"
                "PRAGMA secure_delete = ON; PRAGMA temp_store = MEMORY;");
    db_exec(db, "CREATE TABLE floor(n INTEGER PRIMARY KEY, row BLOB NOT NULL)");
    return db;
}

typedef struct {
    double sign, seal, insert; /* seconds spent in each part */
    size_t row_bytes;          /* the average row as stored */
} floor_parts;

/* Per record: sign a 32-byte message, encrypt the body, insert one row as large as the
 * vault's (row_extra: its bytes beyond the nonce, ciphertext and tag, signature included)
 * holding the signature, nonce and ciphertext; all in one transaction with one prepared
 * statement. */
static double floor_run(const char *name, const bench_record *recs, size_t n, size_t row_extra,
                        floor_parts *parts)
{
    uint8_t pk[crypto_sign_PUBLICKEYBYTES], sk[crypto_sign_SECRETKEYBYTES];
    uint8_t key[crypto_aead_xchacha20poly1305_ietf_KEYBYTES];
    uint8_t msg[FLOOR_MSG], nonce[crypto_aead_xchacha20poly1305_ietf_NPUBBYTES];
    enum { NONCE_AT = crypto_sign_BYTES, CT_AT = NONCE_AT + sizeof nonce };
    size_t cap = row_extra + sizeof nonce + BODY_CAP + crypto_aead_xchacha20poly1305_ietf_ABYTES;
    uint8_t *row = calloc(1, cap);
    sqlite3 *db = floor_db(name);
    sqlite3_stmt *q = NULL;
    if (!row)
        fail("out of memory");
    if (row_extra < crypto_sign_BYTES)
        fail("the vault's rows are smaller than a signature");
    crypto_sign_keypair(pk, sk);
    crypto_aead_xchacha20poly1305_ietf_keygen(key);
    randombytes_buf(msg, sizeof msg);
    if (sqlite3_prepare_v2(db, "INSERT INTO floor(row) VALUES (?)", -1, &q, NULL) != SQLITE_OK)
        fail("floor: %s", sqlite3_errmsg(db));
    memset(parts, 0, sizeof *parts);

    double c0 = cpu_s(), t0 = now_s();
    db_exec(db, "BEGIN IMMEDIATE");
    for (size_t i = 0; i < n; i++) {
        unsigned long long clen;
        double a = now_s();
        msg[i % FLOOR_MSG] ^= (uint8_t)i;
        crypto_sign_detached(row, NULL, msg, sizeof msg, sk);
        double b = now_s();
        randombytes_buf(nonce, sizeof nonce);
        memcpy(row + NONCE_AT, nonce, sizeof nonce);
        crypto_aead_xchacha20poly1305_ietf_encrypt(row + CT_AT, &clen,
                                                   (const uint8_t *)recs[i].body,
                                                   recs[i].body_len, NULL, 0, NULL, nonce, key);
        double c = now_s();
        sqlite3_bind_blob(q, 1, row, (int)(row_extra + sizeof nonce + clen), SQLITE_STATIC);
        if (sqlite3_step(q) != SQLITE_DONE)
            fail("floor insert: %s", sqlite3_errmsg(db));
        sqlite3_reset(q);
        double d = now_s();
        parts->sign += b - a;
        parts->seal += c - b;
        parts->insert += d - c;
    }
    db_exec(db, "COMMIT");
    double t = now_s() - t0;
    last_cpu = cpu_s() - c0;

    sqlite3_finalize(q);
    if (sqlite3_prepare_v2(db, "SELECT avg(length(row)) FROM floor", -1, &q, NULL) !=
            SQLITE_OK ||
        sqlite3_step(q) != SQLITE_ROW)
        fail("floor: %s", sqlite3_errmsg(db));
    parts->row_bytes = (size_t)(sqlite3_column_double(q, 0) + 0.5);
    sqlite3_finalize(q);
    if (sqlite3_close(db) != SQLITE_OK)
        fail("floor: closing the database");
    sodium_memzero(sk, sizeof sk);
    sodium_memzero(key, sizeof key);
    free(row);
    return t;
}

/* crypto_sign_verify_detached on n distinct signatures (made before the clock starts). */
static double raw_verify(size_t n)
{
    uint8_t pk[crypto_sign_PUBLICKEYBYTES], sk[crypto_sign_SECRETKEYBYTES];
    uint8_t (*msg)[FLOOR_MSG] = malloc(n * FLOOR_MSG);
    uint8_t (*sig)[crypto_sign_BYTES] = malloc(n * crypto_sign_BYTES);
    if (!msg || !sig)
        fail("out of memory");
    crypto_sign_keypair(pk, sk);
    randombytes_buf(msg, n * FLOOR_MSG);
    for (size_t i = 0; i < n; i++)
        crypto_sign_detached(sig[i], NULL, msg[i], FLOOR_MSG, sk);
    size_t bad = 0;
    double c0 = cpu_s(), t0 = now_s();
    for (size_t i = 0; i < n; i++)
        bad += crypto_sign_verify_detached(sig[i], msg[i], FLOOR_MSG, pk) != 0;
    double t = now_s() - t0;
    last_cpu = cpu_s() - c0;
    if (bad)
        fail("raw verify: %zu signatures did not verify", bad);
    sodium_memzero(sk, sizeof sk);
    free(msg);
    free(sig);
    return t;
}

/* ---- import ---------------------------------------------------------------------------- */

/* An organisation for the import measurement: a coordinator, and a guide whose n sessions
 * (wrapped to the supervisor key, as the policy says) are exported as one bundle. */
typedef struct {
    pl_vault *coord;
    uint8_t *coord_bundle, *bundle;
    size_t coord_len, len;
    int next; /* importer vaults made so far */
} bench_org;

static pl_vault *joined_vault(bench_org *b, const char *name, unsigned roles)
{
    pl_err err;
    pl_identity id;
    pl_entry e;
    pl_import_report r;
    uint8_t inv[PL_INVITE_BYTES];
    pl_org *o = calloc(1, sizeof *o);
    pl_vault *v = fresh_vault(name);
    vault_identity(v, &id);
    if (!o || vault_member_add(b->coord, &id, roles, &e, &err) != PL_OK ||
        vault_org(b->coord, o, &err) != PL_OK ||
        vault_invite(b->coord, id.sign_pk, inv, &err) != PL_OK ||
        vault_join(v, inv, sizeof inv, o->fingerprint, &err) != PL_OK)
        fail("joining %s: %s", name, err.msg);
    /* The coordinator's feed as it is now (with this member's grant). */
    pl_identity cid;
    pl_export_info xi;
    vault_identity(b->coord, &cid);
    free(b->coord_bundle);
    if (vault_export(b->coord, cid.sign_pk, 1, 0, &b->coord_bundle, &b->coord_len, &xi, &err) !=
            PL_OK ||
        vault_import(v, b->coord_bundle, b->coord_len, &r, &err) != PL_OK)
        fail("%s takes the organisation's entries: %s", name, err.msg);
    free(o);
    return v;
}

static void org_setup(bench_org *b, const bench_record *recs, size_t n)
{
    pl_err err;
    pl_org *o = calloc(1, sizeof *o);
    memset(b, 0, sizeof *b);
    b->coord = fresh_vault("org-coord");
    pl_retention keep12; /* the retention bench: every record 12 months after the close */
    if (pl_retention_parse("12", &keep12, &err) != PL_OK)
        fail("retention: %s", err.msg);
    if (!o || vault_org_init(b->coord, "Bench organisation", NULL, &keep12, o, &err) != PL_OK)
        fail("org init: %s", err.msg);
    pl_vault *g = joined_vault(b, "org-guide", 1u << 1);
    uint8_t sup_pk[1][PL_BOX_PK_BYTES];
    if (vault_org(g, o, &err) != PL_OK)
        fail("guide reads the organisation: %s", err.msg);
    for (unsigned k = 0; k < o->nkeys; k++)
        if (!strcmp(o->keys[k].role, "supervisor"))
            memcpy(sup_pk[0], o->keys[k].pk, PL_BOX_PK_BYTES);
    pl_append_req req;
    pl_entry e;
    if (vault_begin(g, &err) != PL_OK)
        fail("vault_begin: %s", err.msg);
    for (size_t i = 0; i < n; i++) {
        fill_req(&req, &recs[i]);
        req.rcpt = (const uint8_t(*)[PL_BOX_PK_BYTES])sup_pk;
        req.nrcpt = 1;
        if (vault_append(g, &req, &e, &err) != PL_OK)
            fail("guide append: %s", err.msg);
    }
    if (vault_commit(g, &err) != PL_OK)
        fail("vault_commit: %s", err.msg);
    pl_identity gid;
    pl_export_info xi;
    vault_identity(g, &gid);
    if (vault_export(g, gid.sign_pk, 1, 0, &b->bundle, &b->len, &xi, &err) != PL_OK ||
        xi.count != n)
        fail("exporting the guide's feed: %s", err.msg);
    vault_close(g);
    free(o);
}

/* Imports the guide's bundle into a new supervisor's vault; the seconds it took. */
static double import_once(bench_org *b, size_t n)
{
    char name[32];
    pl_err err;
    pl_import_report r;
    snprintf(name, sizeof name, "org-sup%d", b->next++);
    pl_vault *v = joined_vault(b, name, 1u << 2);
    double c0 = cpu_s(), t0 = now_s();
    pl_status st = vault_import(v, b->bundle, b->len, &r, &err);
    double t = now_s() - t0;
    last_cpu = cpu_s() - c0;
    if (st != PL_OK || r.added != n)
        fail("import: %s (%s), %u added of %zu", err.msg, pl_status_name(st), r.added, n);
    vault_close(v);
    return t;
}

/* ---- the audit -------------------------------------------------------------------------- */

#define AUDIT_PER_SUBJECT 20u /* sessions per course */

static void audit_append(pl_vault *g, const char *type, const char *subject, const char *meta)
{
    static const char body[] = "{\"bench\":\"the audit reads headers only\"}";
    pl_append_req req;
    pl_entry e;
    pl_err err;
    memset(&req, 0, sizeof req);
    req.type = type;
    req.subject = subject;
    req.meta = meta;
    req.body = (const uint8_t *)body;
    req.body_len = sizeof body - 1;
    if (vault_append(g, &req, &e, &err) != PL_OK)
        fail("audit fixture append: %s", err.msg);
}

/* Moves every entry of src's own feed into dst, in bundles. */
static void move_feed(pl_vault *src, pl_vault *dst)
{
    pl_identity id;
    pl_export_info xi;
    pl_import_report r;
    pl_err err;
    uint8_t *buf = NULL;
    size_t len = 0;
    vault_identity(src, &id);
    for (uint64_t since = 1;; since = xi.last + 1) {
        pl_status st = vault_export(src, id.sign_pk, since, 0, &buf, &len, &xi, &err);
        if (st == PL_E_NOTFOUND)
            break;
        if (st != PL_OK || vault_import(dst, buf, len, &r, &err) != PL_OK)
            fail("moving a feed: %s", err.msg);
        free(buf);
        buf = NULL;
    }
}

/* A coordinator's vault holding a guide's n sessions as whole courses: per citizen a
 * consent, a collaboration agreement, AUDIT_PER_SUBJECT sessions five days apart and a close;
 * the guide's volunteer agreement, countersigned. The audit of it finds nothing. */
static pl_vault *audit_fixture(bench_org *b, size_t n)
{
    pl_err err;
    pl_entry vol, sig;
    pl_identity gid;
    pl_vault *g = joined_vault(b, "audit-guide", 1u << 1);
    vault_identity(g, &gid);
    json_t *body = json_pack("{s:s, s:s}", "guide", gid.fingerprint, "date", "2023-12-01");
    if (!body || vault_record_add(b->coord, "agreement.volunteer", NULL, body, NULL, &vol, &err) !=
                     PL_OK)
        fail("volunteer agreement: %s", err.msg);
    json_decref(body);
    move_feed(b->coord, g);
    if (vault_agreement_sign(g, &vol, "2023-12-02", &sig, &err) != PL_OK)
        fail("countersigning: %s", err.msg);
    if (vault_begin(g, &err) != PL_OK)
        fail("vault_begin: %s", err.msg);
    size_t subjects = (n + AUDIT_PER_SUBJECT - 1) / AUDIT_PER_SUBJECT;
    for (size_t s = 0, written = 0; s < subjects; s++) {
        char subj[PL_SUBJECT_MAX + 1], meta[160];
        snprintf(subj, sizeof subj, "B-%04zu-%04zu", s / 10000, s % 10000);
        audit_append(g, "consent.grant", subj,
                     "date=2024-01-01\nmethod=written\n"
                     "scopes=peer-support,record-keeping,supervision-sharing\n");
        audit_append(g, "agreement.collaboration", subj, "date=2024-01-01\nplanned_end=2024-04-30\n");
        for (unsigned k = 0; k < AUDIT_PER_SUBJECT && written < n; k++, written++) {
            char date[PL_DATE_LEN + 1];
            pl_date_of_day(pl_day_number("2024-01-01") + 5 * k, date);
            snprintf(meta, sizeof meta, "date=%s\nkind=one-to-one\nminutes=60\n", date);
            audit_append(g, "session", subj, meta);
        }
        audit_append(g, "course.close", subj, "date=2024-04-20\noutcome=completed\n");
    }
    if (vault_commit(g, &err) != PL_OK)
        fail("vault_commit: %s", err.msg);
    move_feed(g, b->coord);
    vault_close(g);
    return b->coord;
}

/* The floor: every header read by one plain SQL scan, its pages decrypted afresh. */
static double scan_once(pl_vault *v, size_t *rows)
{
    sqlite3 *db = vault_db(v);
    sqlite3_stmt *q = NULL;
    sqlite3_db_release_memory(db);
    double c0 = cpu_s(), t0 = now_s();
    size_t k = 0, bytes = 0;
    if (sqlite3_prepare_v2(db, "SELECT header FROM entries", -1, &q, NULL) != SQLITE_OK)
        fail("scan: %s", sqlite3_errmsg(db));
    while (sqlite3_step(q) == SQLITE_ROW) {
        bytes += (size_t)sqlite3_column_bytes(q, 0);
        k += sqlite3_column_blob(q, 0) != NULL;
    }
    sqlite3_finalize(q);
    double t = now_s() - t0;
    last_cpu = cpu_s() - c0;
    *rows = bytes ? k : 0;
    return t;
}

static double audit_once(pl_vault *v, size_t n)
{
    pl_audit a;
    pl_err err;
    double c0 = cpu_s(), t0 = now_s();
    pl_status st = vault_audit(v, NULL, NULL, &a, &err);
    double t = now_s() - t0;
    last_cpu = cpu_s() - c0;
    if (st != PL_OK)
        fail("audit: %s", err.msg);
    if (a.nfindings || a.sessions != n)
        fail("audit of the fixture: %zu findings (first: %s), %llu sessions of %zu", a.nfindings,
             a.nfindings ? a.findings[0].what : "", (unsigned long long)a.sessions, n);
    pl_audit_free(&a);
    return t;
}

static void audit_bench(bench_org *b, size_t n, int reps)
{
    pl_vault *v = audit_fixture(b, n);
    double ratio[REPS_MAX], cpu_ratio[REPS_MAX], aud[REPS_MAX], scan[REPS_MAX];
    size_t rows = 0;
    for (int r = 0; r < reps; r++) {
        double s1 = scan_once(v, &rows), c1 = last_cpu;
        aud[r] = audit_once(v, n);
        double ca = last_cpu;
        double s2 = scan_once(v, &rows), c2 = last_cpu;
        scan[r] = (s1 + s2) / 2;
        ratio[r] = aud[r] / scan[r];
        cpu_ratio[r] = ca / ((c1 + c2) / 2);
    }
    int med = 0;
    for (int i = 0; i < reps; i++) {
        int below = 0, above = 0;
        for (int j = 0; j < reps; j++) {
            below += ratio[j] < ratio[i];
            above += ratio[j] > ratio[i];
        }
        if (below <= reps / 2 && above <= (reps - 1) / 2) {
            med = i;
            break;
        }
    }
    printf("audit (%zu headers: %zu sessions in whole courses, every rule checked, chains and "
           "body hashes too): %.0f headers/s, plain SQL scan of the same headers %.0f/s, ratio "
           "%.2f (target <= 2); by CPU time %.2f\n",
           rows, n, (double)rows / aud[med], (double)rows / scan[med], ratio[med],
           cpu_ratio[med]);
}

/* The floor of an erasure: the same rows' bodies set to NULL by one plain UPDATE (in the
 * same vault, for other citizens), committed, and the WAL checkpointed (TRUNCATE). */
static double raw_erase(pl_vault *v, const char *where, size_t *rows)
{
    sqlite3 *db = vault_db(v);
    char sql[256];
    double t0 = now_s();
    snprintf(sql, sizeof sql, "BEGIN; UPDATE entries SET body = NULL WHERE %s; COMMIT;", where);
    db_exec(db, sql);
    *rows = (size_t)sqlite3_changes(db);
    db_exec(db, "PRAGMA wal_checkpoint(TRUNCATE)");
    return now_s() - t0;
}

/* Retention and erasure on the audit fixture (every course closed in 2024, the policy 12
 * months): the plan against a plain scan of the headers; one citizen's erasure and the
 * retention apply of half the citizens against raw UPDATEs of as many rows. */
static void erasure_bench(pl_vault *v, size_t n)
{
    pl_err err;
    pl_retention_item *items = NULL;
    pl_retention pol;
    size_t ni = 0, rows = 0, citizens = (n + AUDIT_PER_SUBJECT - 1) / AUDIT_PER_SUBJECT;
    double s1 = scan_once(v, &rows), t0 = now_s();
    if (vault_retention_plan(v, NULL, &items, &ni, &pol, &err) != PL_OK)
        fail("retention plan: %s", err.msg);
    double plan = now_s() - t0, s2 = scan_once(v, &rows);
    size_t due = 0;
    for (size_t i = 0; i < ni; i++)
        due += items[i].due_now != 0;
    free(items);
    if (ni != citizens || due != citizens)
        fail("retention plan of the fixture: %zu citizens, %zu due, of %zu", ni, due, citizens);
    printf("retention plan (%zu citizens, %zu headers): %.0f citizens/s, ratio to a plain SQL "
           "scan of the same headers %.2f\n",
           ni, rows, (double)ni / plan, plan / ((s1 + s2) / 2));
    /* One citizen: the erase command's work against the UPDATE of another's rows. */
    pl_entry e;
    uint64_t erased = 0;
    size_t changed = 0;
    (void)raw_erase(v, "subject = 'B-0000-0001'", &changed); /* checkpoints what came before */
    double f1 = raw_erase(v, "subject = 'B-0000-0002'", &changed);
    t0 = now_s();
    if (vault_erase(v, "B-0000-0000", "bench", &e, &erased, &err) != PL_OK)
        fail("erase: %s", err.msg);
    double one = now_s() - t0, f2 = raw_erase(v, "subject = 'B-0000-0003'", &changed);
    printf("erase one citizen (%llu bodies): %.1f ms, raw UPDATE + checkpoint %.1f ms, ratio "
           "%.2f\n", (unsigned long long)erased, one * 1e3, (f1 + f2) / 2 * 1e3,
           one / ((f1 + f2) / 2));
    /* Half the citizens by raw UPDATE (the floor), then retention apply does the rest. */
    char where[128];
    snprintf(where, sizeof where, "subject >= 'B-0000-0004' AND subject < 'B-%04zu-%04zu'",
             (citizens / 2) / 10000, (citizens / 2) % 10000);
    double floor = raw_erase(v, where, &changed);
    unsigned erasures = 0;
    t0 = now_s();
    if (vault_retention_apply(v, &erasures, &erased, &err) != PL_OK)
        fail("retention apply: %s", err.msg);
    double apply = now_s() - t0;
    double rate = (double)erased / apply, floor_rate = (double)changed / floor;
    printf("retention apply (%u erasures, %llu bodies): %.0f bodies/s, raw UPDATE of %zu "
           "rows %.0f bodies/s, ratio %.2f\n",
           erasures, (unsigned long long)erased, rate, changed, floor_rate, floor_rate / rate);
}

static void org_free(bench_org *b)
{
    vault_close(b->coord);
    free(b->coord_bundle);
    free(b->bundle);
}

/* ---- main ------------------------------------------------------------------------------ */

static void usage(const char *error)
{
    if (error)
        fprintf(stderr, "bench_vault: %s\n", error);
    fprintf(stderr, "usage: bench_vault [--entries N] [--txn-entries M] [--audit-sessions A] "
                    "[--reps R]\n"
                    "  --entries N      entries appended and verified (default 10000)\n"
                    "  --txn-entries M  entries appended one transaction each (default "
                    "min(N, 1000))\n"
                    "  --audit-sessions A  sessions in the audited organisation (default "
                    "100000)\n"
                    "  --reps R         repetitions of each measurement, 1..%d (default 3)\n",
            REPS_MAX);
    exit(2);
}

static size_t count_arg(const char *s, size_t lo, size_t hi)
{
    char *end;
    errno = 0;
    unsigned long long x = s ? strtoull(s, &end, 10) : 0;
    if (!s || errno || *end || s[0] == '-' || x < lo || x > hi)
        usage("a count is missing or out of range");
    return (size_t)x;
}

int main(int argc, char **argv)
{
    size_t n = 10000, m = 0, audit_n = 100000;
    int reps = 3, have_m = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--entries"))
            n = count_arg(argv[++i], 2, 1000000);
        else if (!strcmp(argv[i], "--txn-entries")) {
            m = count_arg(argv[++i], 0, 1000000);
            have_m = 1;
        }
        else if (!strcmp(argv[i], "--audit-sessions"))
            audit_n = count_arg(argv[++i], 1, 1000000);
        else if (!strcmp(argv[i], "--reps"))
            reps = (int)count_arg(argv[++i], 1, REPS_MAX);
        else
            usage("unknown option");
    }
    if (!have_m)
        m = n < 1000 ? n : 1000;
    if (sodium_init() < 0)
        fail("sodium_init failed");
    snprintf(tmp_root, sizeof tmp_root, "/tmp/pl-bench-XXXXXX");
    if (!mkdtemp(tmp_root)) {
        tmp_root[0] = '\0';
        fail("cannot make a temporary folder: %s", strerror(errno));
    }

    size_t nrec = n > m ? n : m, body_total = 0;
    bench_record *recs = calloc(nrec, sizeof *recs);
    if (!recs)
        fail("out of memory");
    for (size_t i = 0; i < nrec; i++) {
        make_record(&recs[i], i);
        body_total += recs[i].body_len;
    }
    printf("bench_vault: %zu entries (bodies %zu bytes on average), %d runs; libsodium %s, "
           "SQLCipher on SQLite %s\n",
           n, body_total / nrec, reps, sodium_version_string(), sqlite3_libversion());

    /* A warm-up vault, untimed, gives the size of the vault's rows for the floor's. */
    size_t row = 0, body = 0;
    pl_vault *v = fresh_vault("warmup");
    (void)append_bulk(v, recs, n);
    vault_row_size(v, &row, &body);
    vault_close(v);

    /* Each run brackets the vault between two floor measurements (the floor before and after
     * it, averaged), so that a ratio compares times taken under the same load. */
    run_times w[REPS_MAX], c[REPS_MAX]; /* wall clock, CPU */
    bench_org org;
    org_setup(&org, recs, n);
    floor_parts parts[2 * REPS_MAX];
    for (int r = 0; r < reps; r++) {
        char name[32];
        snprintf(name, sizeof name, "floor%da.db", r);
        w[r].floor = floor_run(name, recs, n, row - body, &parts[2 * r]);
        c[r].floor = last_cpu;
        snprintf(name, sizeof name, "bulk%d", r);
        v = fresh_vault(name);
        w[r].app = append_bulk(v, recs, n);
        c[r].app = last_cpu;
        snprintf(name, sizeof name, "floor%db.db", r);
        w[r].floor = (w[r].floor + floor_run(name, recs, n, row - body, &parts[2 * r + 1])) / 2;
        c[r].floor = (c[r].floor + last_cpu) / 2;
        w[r].raw = raw_verify(n);
        c[r].raw = last_cpu;
        w[r].head = verify_once(v, 0, n);
        c[r].head = last_cpu;
        w[r].every = verify_once(v, 1, n);
        c[r].every = last_cpu;
        w[r].imp = import_once(&org, n);
        c[r].imp = last_cpu;
        w[r].raw = (w[r].raw + raw_verify(n)) / 2;
        c[r].raw = (c[r].raw + last_cpu) / 2;
        vault_close(v);
        w[r].each = 0;
        if (m) {
            snprintf(name, sizeof name, "each%d", r);
            v = fresh_vault(name);
            w[r].each = append_each(v, recs, m);
            (void)verify_once(v, 0, m); /* checked, not timed */
            vault_close(v);
        }
    }

    const floor_parts *fp = &parts[0];
    for (int i = 1; i < 2 * reps; i++)
        if (parts[i].sign + parts[i].seal + parts[i].insert < fp->sign + fp->seal + fp->insert)
            fp = &parts[i];
    double dn = (double)n;
    const run_times *a = median_run(w, reps, 0), *h = median_run(w, reps, 1),
                    *e = median_run(w, reps, 2);

    printf("rows: %zu bytes per entry (%zu of them the encrypted body); floor rows %zu bytes\n",
           row, body, fp->row_bytes);
    printf("floor parts (fastest floor run): sign %.0f/s, encrypt %.0f/s, insert %.0f/s\n",
           dn / fp->sign, dn / fp->seal, dn / fp->insert);
    printf("ratios below: the median of %d runs, each against the floor measured around it\n",
           reps);
    printf("append: %.0f entries/s, floor %.0f entries/s, ratio %.2f (target <= 1.5)\n",
           dn / a->app, dn / a->floor, a->app / a->floor);
    printf("append by CPU time (less disturbed by other load; leaves out waiting for fsync): "
           "ratio %.2f\n", median_run(c, reps, 0)->app / median_run(c, reps, 0)->floor);
    if (m) {
        double each = w[0].each;
        for (int r = 1; r < reps; r++)
            each = w[r].each < each ? w[r].each : each;
        printf("append, one transaction per entry (information; best of %d runs of %zu "
               "entries): %.0f entries/s\n", reps, m, (double)m / each);
    }
    printf("verify (head signature only): %.0f entries/s, raw Ed25519 verify %.0f/s, ratio of "
           "raw verify throughput %.0f%% (target >= 80%%)\n",
           dn / h->head, dn / h->raw, 100.0 * h->raw / h->head);
    printf("verify (every signature): %.0f entries/s, raw Ed25519 verify %.0f/s, ratio of raw "
           "verify throughput %.0f%% (target >= 80%%)\n",
           dn / e->every, dn / e->raw, 100.0 * e->raw / e->every);
    const run_times *im = median_run(w, reps, 3);
    printf("import (a guide's sessions into a supervisor's vault, everything checked): %.0f "
           "entries/s, raw Ed25519 verify %.0f/s, ratio of raw verify throughput %.0f%% "
           "(target >= 80%%); by CPU time %.0f%%\n",
           dn / im->imp, dn / im->raw, 100.0 * im->raw / im->imp,
           100.0 * median_run(c, reps, 3)->raw / median_run(c, reps, 3)->imp);
    printf("verify by CPU time: head signature only %.0f%%, every signature %.0f%% of raw verify "
           "throughput\n",
           100.0 * median_run(c, reps, 1)->raw / median_run(c, reps, 1)->head,
           100.0 * median_run(c, reps, 2)->raw / median_run(c, reps, 2)->every);

    audit_bench(&org, audit_n, reps);
    erasure_bench(org.coord, audit_n);
    org_free(&org);
    free(recs);
    cleanup();
    if (fflush(stdout) != 0)
        return 1;
    return 0;
}
