/* Organisations (formats/org.md): the genesis, its keys, and reading them back.
 * Issue 3 in progress: membership changes, grants and exchange come next. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "formats/meta.h"
#include "vault/internal.h"

static const char *const role_names[PL_ROLES] = {"coordinator", "guide", "supervisor",
                                                 "auditor"};

/* The default policy (formats/org.md §5): who writes each type, which roles read its body. */
static json_t *default_policy(void)
{
    return json_pack(
        "{s:{s:[s,s],s:[s,s]}, s:{s:[s,s],s:[s,s]}, s:{s:[s],s:[s]},"
        " s:{s:[s],s:[s,s,s]}, s:{s:[s],s:[]}, s:{s:[s],s:[s]}, s:{s:[s],s:[s]},"
        " s:{s:[s,s],s:[s,s]}, s:{s:[s,s,s,s],s:[]}}",
        "consent.grant", "write", "guide", "coordinator", "read", "coordinator", "auditor",
        "consent.withdraw", "write", "guide", "coordinator", "read", "coordinator", "auditor",
        "agreement.volunteer", "write", "coordinator", "read", "auditor",
        "agreement.collaboration", "write", "guide", "read", "supervisor", "coordinator",
        "auditor",
        "match", "write", "coordinator", "read",
        "session", "write", "guide", "read", "supervisor",
        "supervision", "write", "supervisor", "read", "supervisor",
        "course.close", "write", "guide", "coordinator", "read", "supervisor", "coordinator",
        "note", "write", "coordinator", "guide", "supervisor", "auditor", "read");
}

void vault_org_fingerprint(const uint8_t id[PL_ID_BYTES], char out[PL_FINGERPRINT_HEX + 1])
{
    uint8_t fp[PL_FINGERPRINT_BYTES];
    crypto_generichash_state st;
    crypto_generichash_init(&st, NULL, 0, sizeof fp);
    crypto_generichash_update(&st, (const uint8_t *)PL_DOM_ORG_FINGERPRINT,
                              sizeof PL_DOM_ORG_FINGERPRINT);
    crypto_generichash_update(&st, id, PL_ID_BYTES);
    crypto_generichash_final(&st, fp, sizeof fp);
    sodium_bin2hex(out, PL_FINGERPRINT_HEX + 1, fp, sizeof fp);
}

/* The organisation id this vault belongs to, from vault_meta; PL_E_NOTFOUND when none. */
static pl_status org_id(pl_vault *v, uint8_t id[PL_ID_BYTES], pl_err *err)
{
    sqlite3_stmt *q = NULL;
    pl_status st = PL_OK;
    int rc = sqlite3_prepare_v2(v->db, "SELECT v FROM vault_meta WHERE k = 'org'", -1, &q, NULL);
    if (rc != SQLITE_OK)
        return store_fail(v->db, rc, "reading the organisation", err);
    rc = sqlite3_step(q);
    if (rc == SQLITE_ROW) {
        const char *hex = (const char *)sqlite3_column_text(q, 0);
        size_t bin = 0;
        if (!hex || sodium_hex2bin(id, PL_ID_BYTES, hex, strlen(hex), NULL, &bin, NULL) != 0 ||
            bin != PL_ID_BYTES)
            st = pl_fail(err, PL_E_INTEGRITY, "the organisation id in vault.db is damaged");
    } else if (rc == SQLITE_DONE) {
        st = pl_fail(err, PL_E_NOTFOUND, "this vault belongs to no organisation yet; start one "
                                         "with 'peerlog org init' or join one");
    } else {
        st = store_fail(v->db, rc, "reading the organisation", err);
    }
    sqlite3_finalize(q);
    return st;
}

static int feed_is_empty(pl_vault *v)
{
    sqlite3_stmt *q = NULL;
    int empty = 0;
    if (sqlite3_prepare_v2(v->db, "SELECT 1 FROM entries WHERE feed = ? LIMIT 1", -1, &q,
                           NULL) == SQLITE_OK) {
        sqlite3_bind_blob(q, 1, v->id.sign_pk, PL_SIGN_PK_BYTES, SQLITE_STATIC);
        empty = sqlite3_step(q) == SQLITE_DONE;
    }
    sqlite3_finalize(q);
    return empty;
}

/* Appends a record with a JSON body in the open transaction. */
static pl_status append_json(pl_vault *v, const char *type, json_t *body, const char *meta,
                             const uint8_t (*refs)[PL_ID_BYTES], uint8_t nrefs,
                             const uint8_t (*rcpt)[PL_BOX_PK_BYTES], uint8_t nrcpt,
                             pl_entry *out, pl_err *err)
{
    size_t n = json_dumpb(body, NULL, 0, JSON_COMPACT | JSON_SORT_KEYS);
    pl_secret *text = n ? pl_secret_new(n) : NULL;
    if (!text)
        return pl_fail(err, PL_E_NOMEM, "out of memory");
    text->len = json_dumpb(body, (char *)text->p, n, JSON_COMPACT | JSON_SORT_KEYS);
    pl_append_req req = {.type = type, .meta = meta, .refs = refs, .nrefs = nrefs,
                         .rcpt = rcpt, .nrcpt = nrcpt, .body = text->p, .body_len = text->len};
    pl_status st = text->len == n ? vault_append(v, &req, out, err)
                                  : pl_fail(err, PL_E_INVALID, "cannot write the body");
    pl_secret_free(text);
    return st;
}

pl_status vault_org_init(pl_vault *v, const char *name, pl_org *out, pl_err *err)
{
    uint8_t id[PL_ID_BYTES];
    char hex[2 * PL_BOX_PK_BYTES + 1], meta[PL_META_MAX + 1];
    size_t mlen;
    pl_status st;
    json_t *utf8 = name ? json_string(name) : NULL;
    if (!utf8 || !*name || strlen(name) > PL_NAME_MAX) {
        json_decref(utf8);
        return pl_fail(err, PL_E_INVALID, "the organisation's name must be 1 to %u bytes of "
                                          "text", PL_NAME_MAX);
    }
    if ((st = org_id(v, id, err)) != PL_E_NOTFOUND) {
        json_decref(utf8);
        return st == PL_OK ? pl_fail(err, PL_E_EXISTS, "this vault already belongs to an "
                                                       "organisation; nothing was changed")
                           : st;
    }
    if (!feed_is_empty(v)) {
        json_decref(utf8);
        return pl_fail(err, PL_E_INVALID, "this vault already has entries; an organisation "
                                          "starts in a new vault ('peerlog --vault DIR init')");
    }
    /* Key pairs: the member key (index PL_ROLES) and one per role, in guarded memory. */
    uint8_t(*pk)[PL_BOX_PK_BYTES] = calloc(PL_ROLES + 1, PL_BOX_PK_BYTES);
    uint8_t(*sk)[PL_BOX_SK_BYTES] = sodium_malloc((PL_ROLES + 1) * PL_BOX_SK_BYTES);
    json_t *body = json_pack("{s:o, s:o}", "name", utf8, "policy", default_policy());
    unsigned held_before = v->sec->nheld;
    if (!pk || !sk || !body) {
        st = pl_fail(err, PL_E_NOMEM, "out of memory");
        goto out;
    }
    for (unsigned i = 0; i <= PL_ROLES; i++)
        crypto_box_keypair(pk[i], sk[i]);
    if ((st = vault_begin(v, err)) != PL_OK)
        goto out;
    pl_entry genesis, e;
    sodium_bin2hex(hex, sizeof hex, pk[PL_ROLES], PL_BOX_PK_BYTES);
    pl_meta_pair gm[] = {{"member_pk", hex}};
    if (fmt_meta_build(gm, 1, meta, sizeof meta, &mlen) != 0)
        st = pl_fail(err, PL_E_INVALID, "cannot build the genesis metadata");
    if (st == PL_OK)
        st = append_json(v, "org.genesis", body, meta, NULL, 0,
                         (const uint8_t(*)[PL_BOX_PK_BYTES])pk[PL_ROLES], 1, &genesis, err);
    /* Each role's first key, announced in a header so that anyone can wrap to it. */
    for (unsigned i = 0; st == PL_OK && i < PL_ROLES; i++) {
        json_t *empty = json_object();
        sodium_bin2hex(hex, sizeof hex, pk[i], PL_BOX_PK_BYTES);
        pl_meta_pair km[] = {{"key", role_names[i]}, {"pk", hex}};
        if (!empty || fmt_meta_build(km, 2, meta, sizeof meta, &mlen) != 0)
            st = pl_fail(err, PL_E_NOMEM, "cannot build a key announcement");
        else
            st = append_json(v, "key.rotate", empty, meta,
                             (const uint8_t(*)[PL_ID_BYTES])genesis.id, 1,
                             (const uint8_t(*)[PL_BOX_PK_BYTES])pk[PL_ROLES], 1, &e, err);
        json_decref(empty);
    }
    /* The first coordinator holds every key it made (formats/org.md §9.5). */
    for (unsigned i = 0; st == PL_OK && i <= PL_ROLES; i++) {
        char label[32];
        snprintf(label, sizeof label, "%s/1", i < PL_ROLES ? role_names[i] : "member");
        st = vault_key_hold(v, pk[i], sk[i], label, err);
    }
    if (st == PL_OK) {
        sqlite3_stmt *q = NULL;
        char idhex[PL_ID_HEX + 1];
        sodium_bin2hex(idhex, sizeof idhex, genesis.id, PL_ID_BYTES);
        int rc = sqlite3_prepare_v2(v->db, "INSERT INTO vault_meta(k, v) VALUES ('org', ?)", -1,
                                    &q, NULL);
        if (rc == SQLITE_OK) {
            sqlite3_bind_text(q, 1, idhex, -1, SQLITE_STATIC);
            rc = sqlite3_step(q);
        }
        sqlite3_finalize(q);
        if (rc != SQLITE_DONE)
            st = store_fail(v->db, rc, "recording the organisation", err);
    }
    if (st == PL_OK)
        st = vault_commit(v, err);
    else
        vault_rollback(v);
    if (st != PL_OK)
        v->sec->nheld = held_before; /* the rows went with the rollback */
    else
        st = vault_org(v, out, err);
out:
    json_decref(body);
    free(pk);
    sodium_free(sk);
    return st;
}

typedef struct {
    pl_org *org;
    const uint8_t *genesis;
} keys_ctx;

/* Collects the key announcements that refer to the genesis. */
static int collect_key(void *ctx, const pl_entry *e)
{
    keys_ctx *k = ctx;
    char role[16], hex[2 * PL_BOX_PK_BYTES + 1];
    pl_org *o = k->org;
    if (e->h.nrefs < 1 || sodium_memcmp(e->h.refs[0], k->genesis, PL_ID_BYTES) != 0 ||
        sodium_memcmp(e->h.feed, o->coordinator, PL_SIGN_PK_BYTES) != 0 ||
        fmt_meta_get(e->h.meta, e->h.meta_len, "key", role, sizeof role) != 0 ||
        fmt_meta_get(e->h.meta, e->h.meta_len, "pk", hex, sizeof hex) != 0 ||
        o->nkeys == PL_ROLES)
        return 0;
    pl_org_key *key = &o->keys[o->nkeys];
    size_t bin = 0;
    if (sodium_hex2bin(key->pk, sizeof key->pk, hex, strlen(hex), NULL, &bin, NULL) != 0 ||
        bin != PL_BOX_PK_BYTES)
        return 0;
    snprintf(key->role, sizeof key->role, "%s", role);
    key->epoch = 1;
    o->nkeys++;
    return 0;
}

pl_status vault_org(pl_vault *v, pl_org *out, pl_err *err)
{
    pl_status st;
    char hex[PL_ID_HEX + 1];
    pl_entry g;
    json_t *body = NULL;
    memset(out, 0, sizeof *out);
    if ((st = org_id(v, out->id, err)) != PL_OK)
        return st;
    sodium_bin2hex(hex, sizeof hex, out->id, PL_ID_BYTES);
    if ((st = vault_find(v, hex, &g, err)) != PL_OK)
        return st == PL_E_NOTFOUND ? pl_fail(err, PL_E_INTEGRITY, "the organisation's genesis "
                                                                  "is missing from vault.db")
                                   : st;
    if (strcmp(g.h.type, "org.genesis") != 0)
        return pl_fail(err, PL_E_INTEGRITY, "the organisation id does not name a genesis");
    vault_org_fingerprint(out->id, out->fingerprint);
    memcpy(out->coordinator, g.h.feed, PL_SIGN_PK_BYTES);
    char mpk[2 * PL_BOX_PK_BYTES + 1];
    size_t bin = 0;
    if (fmt_meta_get(g.h.meta, g.h.meta_len, "member_pk", mpk, sizeof mpk) != 0 ||
        sodium_hex2bin(out->member_pk, PL_BOX_PK_BYTES, mpk, strlen(mpk), NULL, &bin, NULL) !=
            0 ||
        bin != PL_BOX_PK_BYTES)
        return pl_fail(err, PL_E_INTEGRITY, "the genesis names no member key");
    if ((st = vault_body(v, &g, &body, err)) != PL_OK)
        return st;
    const char *name = json_string_value(json_object_get(body, "name"));
    snprintf(out->name, sizeof out->name, "%s", name ? name : "");
    json_decref(body);
    keys_ctx k = {out, out->id};
    pl_filter f = {.type = "key.rotate"};
    return vault_log(v, &f, collect_key, &k, err);
}
