/* The vault library end to end, without the CLI: init, open, wrong passphrase, records,
 * consent refusal, amend/retract history, verify, passwd and recover. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "tests/unit/check.h"
#include "tests/unit/vault_testing.h"
#include "vault/vault.h"


static const pl_kdf_params small_kdf = {8u * 1024u, 1u, 1u};


/* The library's fault seam (vault/internal.h): fail the named file operation. */
extern int (*pl_io_fault)(const char *op);
static const char *fail_op;
static int fault_on(const char *op)
{
    return fail_op && !strcmp(op, fail_op);
}

static int count_cb(void *ctx, const pl_entry *e)
{
    (void)e;
    (*(int *)ctx)++;
    return 0;
}


static int find_note_of(void *ctx, const pl_entry *e)
{
    pl_entry *out = ctx;
    if (!strcmp(e->h.type, "note") && e->h.nrcpt == 2)
        *out = *e;
    return 0;
}

/* Bodies wrapped to more than the author: a role key another vault holds can read them. */
static void test_recipients(const char *base, pl_secret *pass)
{
    char da[96], db[96], rec[PL_RECOVERY_LEN + 1];
    pl_err err;
    pl_vault *a = NULL, *b = NULL;
    uint8_t rpk[32], rsk[32], zero[32] = {0};
    snprintf(da, sizeof da, "%s/a", base);
    snprintf(db, sizeof db, "%s/b", base);
    CHECK_EQ_INT(vault_init(da, "A", pass, &small_kdf, rec, NULL, &err), PL_OK);
    CHECK_EQ_INT(vault_init(db, "B", pass, &small_kdf, rec, NULL, &err), PL_OK);
    CHECK_EQ_INT(vault_open(da, pass, &a, &err), PL_OK);
    CHECK_EQ_INT(vault_open(db, pass, &b, &err), PL_OK);
    if (!a || !b)
        return;
    crypto_box_keypair(rpk, rsk); /* a role key, as a coordinator would make it */

    static const char text[] = "{\"text\":\"for the role\"}";
    const uint8_t (*one)[32] = (const uint8_t(*)[32])rpk;
    pl_append_req req = {.type = "note", .meta = "", .body = (const uint8_t *)text,
                         .body_len = sizeof text - 1, .rcpt = one, .nrcpt = 1};
    pl_entry e;
    CHECK_EQ_INT(vault_append(b, &req, &e, &err), PL_OK);
    CHECK_EQ_INT(e.h.nrcpt, 2);
    pl_identity idb;
    vault_identity(b, &idb);
    /* bad recipient lists are refused */
    uint8_t two[2][32];
    memcpy(two[0], rpk, 32);
    memcpy(two[1], rpk, 32);
    req.rcpt = (const uint8_t(*)[32])two;
    req.nrcpt = 2;
    CHECK_EQ_INT(vault_append(b, &req, &e, &err), PL_E_INVALID);
    req.rcpt = (const uint8_t(*)[32])idb.box_pk;
    req.nrcpt = 1;
    CHECK_EQ_INT(vault_append(b, &req, &e, &err), PL_E_INVALID);
    req.rcpt = (const uint8_t(*)[32])zero;
    CHECK_EQ_INT(vault_append(b, &req, &e, &err), PL_E_INVALID);
    pl_verify_report rep;
    CHECK_EQ_INT(vault_verify(b, 1, &rep, &err), PL_OK);

    /* B's entry reaches A. Without the role key A cannot read it; with it, A can. */
    CHECK_EQ_INT(copy_entries(b, a), 0);
    pl_entry theirs;
    memset(&theirs, 0, sizeof theirs);
    pl_filter all = {0};
    CHECK_EQ_INT(vault_log(a, &all, find_note_of, &theirs, &err), PL_OK);
    CHECK_EQ_INT(theirs.h.nrcpt, 2);
    json_t *body = NULL;
    CHECK_EQ_INT(vault_body(a, &theirs, &body, &err), PL_E_ACCESS);
    CHECK_EQ_INT(vault_key_hold(a, rpk, zero, "guide/1", &err), PL_E_INVALID);
    CHECK_EQ_INT(vault_key_hold(a, rpk, rsk, "guide/1", &err), PL_OK);
    CHECK_EQ_INT(vault_key_hold(a, rpk, rsk, "guide/1", &err), PL_OK); /* again: no-op */
    CHECK_EQ_INT(vault_keys_held(a), 1);
    CHECK_EQ_INT(vault_body(a, &theirs, &body, &err), PL_OK);
    CHECK(body && !strcmp(json_string_value(json_object_get(body, "text")), "for the role"));
    json_decref(body);
    body = NULL;
    vault_close(a);
    a = NULL;
    /* The held key is kept, sealed, across opening the vault again. */
    CHECK_EQ_INT(vault_open(da, pass, &a, &err), PL_OK);
    if (!a)
        fprintf(stderr, "reopen: %s\n", err.msg);
    if (a) {
        CHECK_EQ_INT(vault_keys_held(a), 1);
        CHECK_EQ_INT(vault_body(a, &theirs, &body, &err), PL_OK);
        json_decref(body);
        /* verify opens the wrap it can (none damaged) and reports the foreign feed */
        CHECK_EQ_INT(vault_verify(a, 1, &rep, &err), PL_E_INTEGRITY);
        CHECK_EQ_INT(rep.nproblems, 1);
        CHECK(strstr(rep.problem[0].what, "not this vault's owner's") != NULL);
    }
    vault_close(a);
    vault_close(b);
}

int main(void)
{
    char tmpl[] = "/tmp/pl-test-vault-XXXXXX";
    char dir[64], rec[PL_RECOVERY_LEN + 1], rec2[PL_RECOVERY_LEN + 1];
    char subject[PL_SUBJECT_MAX + 1];
    pl_err err;
    pl_vault *v = NULL;
    pl_entry grant, sess, amend, retract;

    if (sodium_init() < 0)
        return 1;
    pl_json_use_wiping_allocator();
    CHECK(mkdtemp(tmpl) != NULL);
    snprintf(dir, sizeof dir, "%s/v", tmpl);

    pl_secret *pass = secret_of("correct horse battery");
    pl_secret *wrong = secret_of("correct horse battery!");
    pl_secret *newpass = secret_of("a new passphrase");

    CHECK_EQ_INT(vault_init(dir, "Test Guide", pass, &small_kdf, rec, NULL, &err), PL_OK);
    CHECK_EQ_INT(strlen(rec), PL_RECOVERY_LEN);
    CHECK_EQ_INT(vault_init(dir, "Again", pass, &small_kdf, rec2, NULL, &err), PL_E_EXISTS);
    CHECK_EQ_INT(vault_open(dir, wrong, &v, &err), PL_E_PASSPHRASE);
    CHECK(v == NULL);
    CHECK_EQ_INT(vault_open(dir, pass, &v, &err), PL_OK);
    if (!v)
        return check_done("test_vault");

    pl_identity id;
    vault_identity(v, &id);
    CHECK_STR(id.name, "Test Guide");
    CHECK_EQ_INT(strlen(id.fingerprint), PL_FINGERPRINT_HEX);

    /* A session without consent is refused and nothing is written. */
    json_t *s0 = json_pack("{s:s, s:i, s:s}", "date", "2026-11-02", "minutes", 60, "kind",
                           "one-to-one");
    CHECK_EQ_INT(vault_record_add(v, "session", "B-0000-0000", s0, NULL, &sess, &err),
                 PL_E_CONSENT);
    json_decref(s0);

    json_t *g = json_pack("{s:[s,s], s:s, s:s}", "scopes", "peer-support", "record-keeping",
                          "valid_from", "2026-11-01", "method", "written");
    CHECK_EQ_INT(vault_record_add(v, "consent.grant", "new", g, subject, &grant, &err), PL_OK);
    json_decref(g);
    CHECK(fmt_pseudonym_valid(subject));

    /* Before the consent's first day: refused. */
    json_t *s1 = json_pack("{s:s, s:i, s:s}", "date", "2026-10-31", "minutes", 60, "kind",
                           "one-to-one");
    CHECK_EQ_INT(vault_record_add(v, "session", subject, s1, NULL, &sess, &err), PL_E_CONSENT);
    json_decref(s1);
    json_t *s2 = json_pack("{s:s, s:i, s:s, s:s}", "date", "2026-11-02", "minutes", 45, "kind",
                           "accompaniment", "note", "MARKER-in-the-body");
    CHECK_EQ_INT(vault_record_add(v, "session", subject, s2, NULL, &sess, &err), PL_OK);
    json_decref(s2);

    json_t *body = NULL;
    CHECK_EQ_INT(vault_body(v, &sess, &body, &err), PL_OK);
    CHECK_STR(json_string_value(json_object_get(body, "note")), "MARKER-in-the-body");
    json_decref(body);

    json_t *a = json_pack("{s:s, s:i, s:s}", "date", "2026-11-02", "minutes", 50, "kind",
                          "accompaniment");
    CHECK_EQ_INT(vault_amend(v, &sess, a, &amend, &err), PL_OK);
    json_decref(a);
    CHECK_EQ_INT(vault_retract(v, &sess, "entered for the wrong person", &retract, &err), PL_OK);

    /* The caller's copy of the session still says "not retracted": the vault must look. */
    pl_entry again;
    json_t *a2 = json_pack("{s:s, s:i, s:s}", "date", "2026-11-02", "minutes", 55, "kind",
                           "accompaniment");
    CHECK_EQ_INT(vault_amend(v, &sess, a2, &again, &err), PL_E_INVALID);
    json_decref(a2);
    CHECK_EQ_INT(vault_retract(v, &amend, "twice", &again, &err), PL_E_INVALID);

    pl_entry *hist = NULL;
    size_t nh = 0;
    CHECK_EQ_INT(vault_history(v, &sess, &hist, &nh, &err), PL_OK);
    CHECK_EQ_INT(nh, 3);
    free(hist);

    int n = 0;
    pl_filter all = {0};
    CHECK_EQ_INT(vault_log(v, &all, count_cb, &n, &err), PL_OK);
    CHECK_EQ_INT(n, 4);
    n = 0;
    pl_filter only = {.type = "session"};
    CHECK_EQ_INT(vault_log(v, &only, count_cb, &n, &err), PL_OK);
    CHECK_EQ_INT(n, 1);

    char hex[PL_ID_HEX + 1];
    sodium_bin2hex(hex, sizeof hex, grant.id, sizeof grant.id);
    hex[8] = '\0';
    pl_entry found;
    CHECK_EQ_INT(vault_find(v, hex, &found, &err), PL_OK);
    CHECK(memcmp(found.id, grant.id, PL_ID_BYTES) == 0);
    CHECK_EQ_INT(vault_find(v, "zz", &found, &err), PL_E_INVALID);

    pl_verify_report rep;
    CHECK_EQ_INT(vault_verify(v, 1, &rep, &err), PL_OK);
    CHECK_EQ_INT(rep.entries, 4);
    CHECK_EQ_INT(rep.nproblems, 0);
    vault_close(v);
    v = NULL;

    /* A keyslots write that fails at any step leaves the old keyslots working, the new
     * passphrase useless, and no temp file behind. */
    static const char *const ops[] = {"write", "fsync", "rename"};
    pl_io_fault = fault_on;
    for (size_t i = 0; i < 3; i++) {
        char tmpfile[96];
        fail_op = ops[i];
        CHECK_EQ_INT(vault_passwd(dir, pass, newpass, &small_kdf, &err), PL_E_IO);
        CHECK(strstr(err.msg, "keyslots") != NULL);
        snprintf(tmpfile, sizeof tmpfile, "%s/keyslots.tmp", dir);
        CHECK(access(tmpfile, F_OK) != 0);
        CHECK_EQ_INT(vault_open(dir, newpass, &v, &err), PL_E_PASSPHRASE);
        CHECK_EQ_INT(vault_open(dir, pass, &v, &err), PL_OK);
        vault_close(v);
        v = NULL;
    }
    fail_op = NULL;
    pl_io_fault = NULL;

    /* passwd: the old passphrase stops working, the new one opens the same vault. */
    CHECK_EQ_INT(vault_passwd(dir, wrong, newpass, &small_kdf, &err), PL_E_PASSPHRASE);
    CHECK_EQ_INT(vault_passwd(dir, pass, newpass, &small_kdf, &err), PL_OK);
    CHECK_EQ_INT(vault_open(dir, pass, &v, &err), PL_E_PASSPHRASE);
    CHECK_EQ_INT(vault_open(dir, newpass, &v, &err), PL_OK);
    vault_close(v);
    v = NULL;

    /* recover: the code sets a new passphrase and is replaced by a fresh one. */
    CHECK_EQ_INT(vault_recover(dir, "AAAA-AAAA-AAAA-AAAA-AAAA-AAAA", pass, &small_kdf, rec2,
                               &err), PL_E_PASSPHRASE);
    CHECK_EQ_INT(vault_recover(dir, rec, pass, &small_kdf, rec2, &err), PL_OK);
    CHECK(strcmp(rec, rec2) != 0);
    CHECK_EQ_INT(vault_recover(dir, rec, newpass, &small_kdf, rec2, &err), PL_E_PASSPHRASE);
    CHECK_EQ_INT(vault_open(dir, pass, &v, &err), PL_OK);
    if (v) {
        CHECK_EQ_INT(vault_verify(v, 1, &rep, &err), PL_OK);
        vault_close(v);
    }

    test_recipients(tmpl, pass);

    pl_secret_free(pass);
    pl_secret_free(wrong);
    pl_secret_free(newpass);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpl);
    CHECK_EQ_INT(system(cmd), 0);
    return check_done("test_vault");
}
