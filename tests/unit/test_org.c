/* Organisations through the library: a coordinator starts one and adds a member; once the
 * member's vault has the coordinator's entries and takes its grants, it reads what is
 * wrapped to its roles and nothing else. (Import is not there yet: the test copies rows, as
 * an import will.) */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "tests/unit/check.h"
#include "tests/unit/vault_testing.h"
#include "vault/vault.h"


static const pl_kdf_params small_kdf = {8u * 1024u, 1u, 1u};


/* What 'join' will do once it exists: remember which organisation this vault is in. */
static int set_org(pl_vault *v, const uint8_t id[PL_ID_BYTES])
{
    char hex[PL_ID_HEX + 1], sql[160];
    sodium_bin2hex(hex, sizeof hex, id, PL_ID_BYTES);
    snprintf(sql, sizeof sql, "INSERT INTO vault_meta(k, v) VALUES ('org', '%s')", hex);
    return sqlite3_exec(vault_db(v), sql, NULL, NULL, NULL) == SQLITE_OK ? 0 : -1;
}


static pl_vault *make(const char *base, const char *name, pl_secret *pass)
{
    char dir[128], rec[PL_RECOVERY_LEN + 1];
    pl_err err;
    pl_vault *v = NULL;
    snprintf(dir, sizeof dir, "%s/%s", base, name);
    CHECK_EQ_INT(vault_init(dir, name, pass, &small_kdf, rec, NULL, &err), PL_OK);
    CHECK_EQ_INT(vault_open(dir, pass, &v, &err), PL_OK);
    return v;
}

int main(void)
{
    char tmpl[] = "/tmp/pl-test-org-XXXXXX";
    pl_err err;
    if (sodium_init() < 0 || !mkdtemp(tmpl))
        return 1;
    pl_json_use_wiping_allocator();
    pl_secret *pass = secret_of("organisation test passphrase");
    pl_vault *c = make(tmpl, "coord", pass), *m = make(tmpl, "member", pass),
             *x = make(tmpl, "stranger", pass);
    if (!c || !m || !x)
        return check_done("test_org");
    pl_org *o = calloc(1, sizeof *o), *seen = calloc(1, sizeof *seen);
    CHECK_EQ_INT(vault_org(c, o, &err), PL_E_NOTFOUND);
    CHECK_EQ_INT(vault_org_init(c, "Test organisation", NULL, NULL, o, &err), PL_OK);
    CHECK_EQ_INT(o->nkeys, PL_ROLES);
    CHECK_EQ_INT(vault_keys_held(c), PL_ROLES + 1);

    /* The member's identity file, checked as member add checks it. */
    json_t *idj = NULL;
    pl_identity mid;
    CHECK_EQ_INT(vault_identity_export(m, &idj, &err), PL_OK);
    CHECK_EQ_INT(pl_identity_import(idj, &mid, &err), PL_OK);
    json_object_set_new(idj, "name", json_string("Someone else"));
    pl_identity forged;
    CHECK_EQ_INT(pl_identity_import(idj, &forged, &err), PL_E_INTEGRITY);
    json_decref(idj);

    unsigned roles;
    char bad[32];
    CHECK_EQ_INT(pl_roles_parse("guide,supervisor", &roles, bad, sizeof bad), 0);
    CHECK_EQ_INT(pl_roles_parse("guide,janitor", &roles, bad, sizeof bad), -1);
    CHECK_STR(bad, "janitor");
    CHECK_EQ_INT(pl_roles_parse("guide,supervisor", &roles, bad, sizeof bad), 0);
    pl_entry add;
    CHECK_EQ_INT(vault_member_add(c, &mid, roles, &add, &err), PL_OK);
    CHECK_EQ_INT(vault_member_add(c, &mid, roles, &add, &err), PL_E_EXISTS);
    CHECK_EQ_INT(vault_org(c, o, &err), PL_OK);
    CHECK_EQ_INT(o->nmembers, 2);
    CHECK_STR(o->members[1].id.name, "member");
    CHECK_EQ_INT(o->members[1].roles, roles);

    /* The coordinator writes a body for supervisors and one for auditors. */
    const uint8_t *sup = NULL, *aud = NULL;
    for (unsigned i = 0; i < o->nkeys; i++) {
        if (!strcmp(o->keys[i].role, "supervisor"))
            sup = o->keys[i].pk;
        if (!strcmp(o->keys[i].role, "auditor"))
            aud = o->keys[i].pk;
    }
    CHECK(sup && aud);
    static const char t1[] = "{\"text\":\"for supervisors\"}", t2[] = "{\"text\":\"for auditors\"}";
    pl_append_req r1 = {.type = "note", .meta = "", .body = (const uint8_t *)t1,
                        .body_len = sizeof t1 - 1,
                        .rcpt = (const uint8_t(*)[PL_BOX_PK_BYTES])sup, .nrcpt = 1};
    pl_append_req r2 = r1;
    r2.body = (const uint8_t *)t2;
    r2.body_len = sizeof t2 - 1;
    r2.rcpt = (const uint8_t(*)[PL_BOX_PK_BYTES])aud;
    pl_entry e1, e2;
    CHECK_EQ_INT(vault_append(c, &r1, &e1, &err), PL_OK);
    CHECK_EQ_INT(vault_append(c, &r2, &e2, &err), PL_OK);

    /* The member's vault gets the coordinator's entries. */
    CHECK_EQ_INT(copy_entries(c, m), 0);
    CHECK_EQ_INT(set_org(m, o->id), 0);
    CHECK_EQ_INT(vault_org(m, seen, &err), PL_OK);
    CHECK_STR(seen->fingerprint, o->fingerprint);
    CHECK_STR(seen->name, ""); /* the genesis body needs the member key, not held yet */
    json_t *body = NULL;
    CHECK_EQ_INT(vault_body(m, &e1, &body, &err), PL_E_ACCESS);
    unsigned taken = 0;
    CHECK_EQ_INT(vault_accept_grants(m, &taken, &err), PL_OK);
    CHECK_EQ_INT(taken, 3); /* member, guide, supervisor */
    CHECK_EQ_INT(vault_keys_held(m), 3);
    CHECK_EQ_INT(vault_org(m, seen, &err), PL_OK);
    CHECK_STR(seen->name, "Test organisation");
    CHECK_EQ_INT(vault_body(m, &e1, &body, &err), PL_OK);
    CHECK(body && !strcmp(json_string_value(json_object_get(body, "text")), "for supervisors"));
    json_decref(body);
    body = NULL;
    CHECK_EQ_INT(vault_body(m, &e2, &body, &err), PL_E_ACCESS); /* not an auditor */

    /* A stranger with the same entries reads none of it, and takes no grant. */
    CHECK_EQ_INT(copy_entries(c, x), 0);
    CHECK_EQ_INT(set_org(x, o->id), 0);
    CHECK_EQ_INT(vault_accept_grants(x, &taken, &err), PL_OK);
    CHECK_EQ_INT(taken, 0);
    CHECK_EQ_INT(vault_body(x, &e1, &body, &err), PL_E_ACCESS);
    CHECK_EQ_INT(vault_body(x, &add, &body, &err), PL_E_ACCESS); /* member.add: members only */

    /* The policy at work: a guide's consent is for coordinators and auditors, its session
     * for supervisors (formats/org.md §5). */
    pl_vault *g = make(tmpl, "guide", pass), *s = make(tmpl, "supervisor", pass),
             *a = make(tmpl, "auditor", pass);
    pl_vault *who[3] = {g, s, a};
    static const char *const their_roles[3] = {"guide", "supervisor", "auditor"};
    for (int i = 0; i < 3; i++) {
        json_t *ij = NULL;
        pl_identity pid;
        CHECK_EQ_INT(vault_identity_export(who[i], &ij, &err), PL_OK);
        CHECK_EQ_INT(pl_identity_import(ij, &pid, &err), PL_OK);
        json_decref(ij);
        CHECK_EQ_INT(pl_roles_parse(their_roles[i], &roles, bad, sizeof bad), 0);
        CHECK_EQ_INT(vault_member_add(c, &pid, roles, &add, &err), PL_OK);
    }
    json_t *grant = json_pack("{s:[s,s], s:s, s:s}", "scopes", "peer-support",
                              "record-keeping", "valid_from", "2026-11-01", "method", "written");
    json_t *sess = json_pack("{s:s, s:i, s:s, s:s}", "date", "2026-11-02", "minutes", 60,
                             "kind", "one-to-one", "note", "the session note");
    char subject[PL_SUBJECT_MAX + 1];
    pl_entry ge, se;
    for (int i = 0; i < 3; i++) {
        CHECK_EQ_INT(copy_entries(c, who[i]), 0);
        CHECK_EQ_INT(set_org(who[i], o->id), 0);
    }
    /* Before taking its grants the guide cannot tell whom to write for: refused. */
    CHECK_EQ_INT(vault_record_add(g, "consent.grant", "new", grant, subject, &ge, &err),
                 PL_E_ACCESS);
    for (int i = 0; i < 3; i++)
        CHECK_EQ_INT(vault_accept_grants(who[i], &taken, &err), PL_OK);
    CHECK_EQ_INT(vault_record_add(g, "consent.grant", "new", grant, subject, &ge, &err), PL_OK);
    CHECK_EQ_INT(vault_record_add(g, "session", subject, sess, NULL, &se, &err), PL_OK);
    CHECK_EQ_INT(ge.h.nrcpt, 3); /* author, coordinator, auditor */
    CHECK_EQ_INT(se.h.nrcpt, 2); /* author, supervisor */
    json_decref(grant);
    json_decref(sess);
    CHECK_EQ_INT(copy_entries(g, s), 0);
    CHECK_EQ_INT(copy_entries(g, a), 0);
    /* The supervisor reads the session, not the consent; the auditor the other way round. */
    CHECK_EQ_INT(vault_body(s, &se, &body, &err), PL_OK);
    CHECK(body && !strcmp(json_string_value(json_object_get(body, "note")), "the session note"));
    json_decref(body);
    body = NULL;
    CHECK_EQ_INT(vault_body(s, &ge, &body, &err), PL_E_ACCESS);
    CHECK_EQ_INT(vault_body(a, &ge, &body, &err), PL_OK);
    json_decref(body);
    body = NULL;
    CHECK_EQ_INT(vault_body(a, &se, &body, &err), PL_E_ACCESS);
    vault_close(g);
    vault_close(s);
    vault_close(a);

    free(o);
    free(seen);
    vault_close(c);
    vault_close(m);
    vault_close(x);
    pl_secret_free(pass);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpl);
    CHECK_EQ_INT(system(cmd), 0);
    return check_done("test_org");
}
