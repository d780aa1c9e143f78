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
pl_status org_id(pl_vault *v, uint8_t id[PL_ID_BYTES], pl_err *err)
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

/* PL_OK when this vault's feed has no entries, PL_E_INVALID when it has. */
static pl_status feed_empty(pl_vault *v, pl_err *err)
{
    sqlite3_stmt *q = NULL;
    int rc = sqlite3_prepare_v2(v->db, "SELECT 1 FROM entries WHERE feed = ? LIMIT 1", -1, &q,
                                NULL);
    if (rc == SQLITE_OK) {
        sqlite3_bind_blob(q, 1, v->id.sign_pk, PL_SIGN_PK_BYTES, SQLITE_STATIC);
        rc = sqlite3_step(q);
    }
    sqlite3_finalize(q);
    if (rc == SQLITE_DONE)
        return PL_OK;
    if (rc == SQLITE_ROW)
        return pl_fail(err, PL_E_INVALID, "this vault already has entries; an organisation "
                                          "starts in a new vault ('peerlog --vault DIR init')");
    return store_fail(v->db, rc, "reading the feed", err);
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
    if (!utf8 || !*name || strlen(name) > PL_NAME_MAX || !fmt_name_valid(name, strlen(name))) {
        json_decref(utf8);
        return pl_fail(err, PL_E_INVALID, "the organisation's name must be 1 to %u bytes of "
                                          "plain text", PL_NAME_MAX);
    }
    if ((st = org_id(v, id, err)) != PL_E_NOTFOUND) {
        json_decref(utf8);
        return st == PL_OK ? pl_fail(err, PL_E_EXISTS, "this vault already belongs to an "
                                                       "organisation; nothing was changed")
                           : st;
    }
    if ((st = feed_empty(v, err)) != PL_OK) {
        json_decref(utf8);
        return st;
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
    if (st != PL_OK) {
        feed_held_truncate(v, held_before); /* the rows went with the rollback */
    } else if (vault_org(v, out, err) != PL_OK) {
        char why[PL_ERR_MSG_MAX];
        snprintf(why, sizeof why, "%s", err->msg);
        st = pl_fail(err, PL_E_IO, "the organisation was created, but reading it back failed "
                                   "(%.300s); run 'peerlog org show'", why);
    }
out:
    json_decref(body);
    free(pk);
    sodium_free(sk);
    return st;
}

static pl_status org_members(pl_vault *v, pl_org *o, const pl_entry *genesis, pl_err *err);

/* 1 when e's header hashes to its id and its feed's signature over that id verifies: the
 * organisation's readers decide who may do what from these headers, so they do not take a
 * row's word for them (rows may come from an import, or from someone with the db key). */
int entry_authentic(const pl_entry *e)
{
    uint8_t *hdr = malloc(PL_HEADER_MAX), id[PL_ID_BYTES];
    size_t n;
    int ok = hdr && fmt_header_encode(&e->h, hdr, PL_HEADER_MAX, &n) == PL_FMT_OK;
    if (ok) {
        fmt_entry_id(hdr, n, id);
        ok = sodium_memcmp(id, e->id, PL_ID_BYTES) == 0 &&
             fmt_entry_verify(e->id, e->sig, e->h.feed) == 0;
    }
    free(hdr);
    return ok;
}

typedef struct {
    pl_org *org;
    const uint8_t *genesis;
} keys_ctx;

/* Collects the key announcements that refer to the genesis: each role's, at each epoch, and
 * the member key's rotations. A second announcement of one key and epoch is ignored (one
 * coordinator writes them in order; concurrent rotations come with more coordinators). */
static int collect_key(void *ctx, const pl_entry *e)
{
    keys_ctx *k = ctx;
    char role[16], hex[2 * PL_BOX_PK_BYTES + 1], ep[12] = "1";
    pl_org *o = k->org;
    if (strcmp(e->h.type, "key.rotate") != 0 || e->h.nrefs < 1 ||
        sodium_memcmp(e->h.refs[0], k->genesis, PL_ID_BYTES) != 0 ||
        sodium_memcmp(e->h.feed, o->coordinator, PL_SIGN_PK_BYTES) != 0 ||
        fmt_meta_get(e->h.meta, e->h.meta_len, "key", role, sizeof role) != 0 ||
        fmt_meta_get(e->h.meta, e->h.meta_len, "pk", hex, sizeof hex) != 0 ||
        o->nkeys == PL_ORG_KEYS_MAX)
        return 0;
    if (fmt_meta_get(e->h.meta, e->h.meta_len, "epoch", ep, sizeof ep) != 0)
        snprintf(ep, sizeof ep, "1"); /* the genesis's announcements carry no epoch */
    char *end;
    unsigned long epoch = strtoul(ep, &end, 10);
    unsigned bit;
    char bad[32];
    int is_member = !strcmp(role, "member");
    if (*end || epoch < 1 || epoch > 1000000 || (is_member && epoch < 2) ||
        (!is_member && pl_roles_parse(role, &bit, bad, sizeof bad) != 0) || strchr(role, ','))
        return 0;
    for (unsigned i = 0; i < o->nkeys; i++)
        if (!strcmp(o->keys[i].role, role) && o->keys[i].epoch == epoch)
            return 0;
    pl_org_key *key = &o->keys[o->nkeys];
    size_t bin = 0;
    if (sodium_hex2bin(key->pk, sizeof key->pk, hex, strlen(hex), NULL, &bin, NULL) != 0 ||
        bin != PL_BOX_PK_BYTES || !entry_authentic(e))
        return 0;
    snprintf(key->role, sizeof key->role, "%s", role);
    key->epoch = (uint32_t)epoch;
    o->nkeys++;
    return 0;
}

const pl_org_key *pl_org_current_key(const pl_org *o, const char *name, pl_org_key *out)
{
    const pl_org_key *best = NULL;
    for (unsigned i = 0; i < o->nkeys; i++)
        if (!strcmp(o->keys[i].role, name) && (!best || o->keys[i].epoch > best->epoch))
            best = &o->keys[i];
    if (!best && !strcmp(name, "member")) {
        snprintf(out->role, sizeof out->role, "member");
        out->epoch = 1;
        memcpy(out->pk, o->member_pk, PL_BOX_PK_BYTES);
        best = out;
    }
    return best;
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
    if ((st = vault_find(v, hex, &g, err)) != PL_OK) {
        if (st != PL_E_NOTFOUND)
            return st;
        /* A vault that joined keeps the invitation until the genesis arrives. */
        return org_invitation(v, NULL, NULL) == PL_OK
                   ? pl_fail(err, PL_E_NOTFOUND, "this vault has joined an organisation whose "
                                                 "first entries have not arrived yet; run "
                                                 "'peerlog sync DIR' with the shared folder")
                   : pl_fail(err, PL_E_INTEGRITY, "the organisation's genesis is missing from "
                                                  "vault.db");
    }
    if (strcmp(g.h.type, "org.genesis") != 0 || !entry_authentic(&g))
        return pl_fail(err, PL_E_INTEGRITY, "the organisation id does not name a genuine "
                                            "genesis");
    vault_org_fingerprint(out->id, out->fingerprint);
    memcpy(out->coordinator, g.h.feed, PL_SIGN_PK_BYTES);
    char mpk[2 * PL_BOX_PK_BYTES + 1];
    size_t bin = 0;
    if (fmt_meta_get(g.h.meta, g.h.meta_len, "member_pk", mpk, sizeof mpk) != 0 ||
        sodium_hex2bin(out->member_pk, PL_BOX_PK_BYTES, mpk, strlen(mpk), NULL, &bin, NULL) !=
            0 ||
        bin != PL_BOX_PK_BYTES)
        return pl_fail(err, PL_E_INTEGRITY, "the genesis names no member key");
    /* The name is in the body, readable with the member key; a vault that has not taken
     * its grants yet knows the organisation by its headers only. */
    if ((st = vault_body(v, &g, &body, err)) != PL_OK && st != PL_E_ACCESS)
        return st;
    /* Names come from another device: printed only when they are plain text. */
    const char *name = json_string_value(json_object_get(body, "name"));
    if (name && fmt_name_valid(name, strlen(name)))
        snprintf(out->name, sizeof out->name, "%s", name);
    const char *type;
    json_t *rule;
    json_object_foreach(json_object_get(body, "policy"), type, rule) {
        if (out->npolicy == sizeof out->policy / sizeof out->policy[0] ||
            strlen(type) > PL_TYPE_MAX)
            break;
        unsigned masks[2] = {0, 0};
        static const char *const sides[2] = {"write", "read"};
        for (int s = 0; s < 2; s++) {
            size_t i;
            json_t *r;
            json_array_foreach(json_object_get(rule, sides[s]), i, r) {
                unsigned bit;
                char bad[32];
                const char *rn = json_string_value(r);
                if (rn && pl_roles_parse(rn, &bit, bad, sizeof bad) == 0)
                    masks[s] |= bit;
            }
        }
        snprintf(out->policy[out->npolicy].type, sizeof out->policy[0].type, "%s", type);
        out->policy[out->npolicy].write = masks[0];
        out->policy[out->npolicy].read = masks[1];
        out->npolicy++;
    }
    json_decref(body);
    keys_ctx k = {out, out->id};
    pl_filter f = {.type = "key.rotate"};
    if ((st = vault_log(v, &f, collect_key, &k, err)) != PL_OK)
        return st;
    return org_members(v, out, &g, err);
}

/* ---- members ---------------------------------------------------------------------------- */

int pl_roles_parse(const char *list, unsigned *mask, char *bad, size_t cap)
{
    return pl_names_parse(list, role_names, PL_ROLES, mask, bad, cap);
}

void pl_roles_format(unsigned mask, char *out, size_t cap)
{
    pl_names_format(mask, role_names, PL_ROLES, out, cap);
}

/* Reads a 32-byte key from metadata key in hex. */
static int meta_key(const pl_header *h, const char *key, uint8_t out[32])
{
    char hex[65];
    size_t bin = 0;
    return fmt_meta_get(h->meta, h->meta_len, key, hex, sizeof hex) == 0 &&
                   sodium_hex2bin(out, 32, hex, strlen(hex), NULL, &bin, NULL) == 0 &&
                   bin == 32
               ? 0
               : -1;
}

typedef struct {
    pl_vault *v;
    pl_org *org;
} members_ctx;

static int collect_member(void *ctx, const pl_entry *e)
{
    members_ctx *m = ctx;
    pl_org *o = m->org;
    char roles[96], from[24], bad[32];
    pl_org_member mem;
    memset(&mem, 0, sizeof mem);
    if (strcmp(e->h.type, "member.add") != 0 || e->h.nrefs < 1 ||
        sodium_memcmp(e->h.refs[0], o->id, PL_ID_BYTES) != 0 ||
        sodium_memcmp(e->h.feed, o->coordinator, PL_SIGN_PK_BYTES) != 0 || !entry_authentic(e) ||
        meta_key(&e->h, "member", mem.id.sign_pk) != 0 ||
        meta_key(&e->h, "box", mem.id.box_pk) != 0 ||
        fmt_meta_get(e->h.meta, e->h.meta_len, "roles", roles, sizeof roles) != 0 ||
        fmt_meta_get(e->h.meta, e->h.meta_len, "from_seq", from, sizeof from) != 0 ||
        pl_roles_parse(roles, &mem.roles, bad, sizeof bad) != 0 ||
        o->nmembers == PL_ORG_MEMBERS_MAX)
        return 0;
    char *end;
    mem.from_seq = strtoull(from, &end, 10);
    if (*end || mem.from_seq == 0 || mem.from_seq > (uint64_t)INT64_MAX)
        return 0;
    mem.until_seq = UINT64_MAX;
    vault_fingerprint(mem.id.sign_pk, mem.id.box_pk, mem.id.fingerprint);
    json_t *body = NULL;
    pl_err ignore;
    if (vault_body(m->v, e, &body, &ignore) == PL_OK) {
        const char *name = json_string_value(json_object_get(body, "name"));
        if (name && fmt_name_valid(name, strlen(name)))
            snprintf(mem.id.name, sizeof mem.id.name, "%s", name);
    }
    json_decref(body);
    o->members[o->nmembers++] = mem;
    return 0;
}

/* A removal by the coordinator: the member's entries after until_seq no longer count. */
static int collect_remove(void *ctx, const pl_entry *e)
{
    members_ctx *m = ctx;
    pl_org *o = m->org;
    uint8_t feed[PL_SIGN_PK_BYTES];
    char until[24];
    if (strcmp(e->h.type, "member.remove") != 0 || e->h.nrefs < 1 ||
        sodium_memcmp(e->h.refs[0], o->id, PL_ID_BYTES) != 0 ||
        sodium_memcmp(e->h.feed, o->coordinator, PL_SIGN_PK_BYTES) != 0 ||
        meta_key(&e->h, "member", feed) != 0 ||
        fmt_meta_get(e->h.meta, e->h.meta_len, "until_seq", until, sizeof until) != 0)
        return 0;
    char *end;
    uint64_t u = strtoull(until, &end, 10);
    if (*end || u > (uint64_t)INT64_MAX || !entry_authentic(e))
        return 0;
    for (unsigned i = 1; i < o->nmembers; i++) /* the genesis author is never removed */
        if (sodium_memcmp(o->members[i].id.sign_pk, feed, PL_SIGN_PK_BYTES) == 0 &&
            (!o->members[i].removed || u < o->members[i].until_seq)) {
            o->members[i].removed = 1;
            o->members[i].until_seq = u;
        }
    return 0;
}

/* The members: the genesis author as first coordinator, then each member.add, with the cut
 * of each member.remove. */
static pl_status org_members(pl_vault *v, pl_org *o, const pl_entry *genesis, pl_err *err)
{
    pl_org_member *first = &o->members[0];
    memset(first, 0, sizeof *first);
    memcpy(first->id.sign_pk, genesis->h.feed, PL_SIGN_PK_BYTES);
    memcpy(first->id.box_pk, genesis->h.box_pk, PL_BOX_PK_BYTES);
    vault_fingerprint(first->id.sign_pk, first->id.box_pk, first->id.fingerprint);
    if (sodium_memcmp(first->id.sign_pk, v->id.sign_pk, PL_SIGN_PK_BYTES) == 0)
        snprintf(first->id.name, sizeof first->id.name, "%s", v->id.name);
    first->roles = 1u; /* coordinator */
    first->from_seq = genesis->h.seq;
    first->until_seq = UINT64_MAX;
    o->nmembers = 1;
    members_ctx m = {v, o};
    pl_filter f = {.type = "member.add"};
    pl_status st = vault_log(v, &f, collect_member, &m, err);
    pl_filter r = {.type = "member.remove"};
    if (st == PL_OK)
        st = vault_log(v, &r, collect_remove, &m, err);
    return st;
}

typedef struct {
    const char *name;
    uint32_t epoch;
    const uint8_t *pk;
} grant_key;

/* The body of a key.grant: each key's secret sealed to box_pk (the keys must be held here),
 * and the header's keys= list ("name" for epoch 1, "name/epoch" after) in labels. */
static pl_status build_grant(pl_vault *v, const grant_key *gk, unsigned n,
                             const uint8_t box_pk[PL_BOX_PK_BYTES], json_t **out, char *labels,
                             size_t cap, pl_err *err)
{
    json_t *grants = json_array();
    labels[0] = '\0';
    *out = NULL;
    for (unsigned g = 0; grants && g < n; g++) {
        int j = feed_held_index(v, gk[g].pk);
        uint8_t sealed[crypto_box_SEALBYTES + PL_BOX_SK_BYTES];
        char pkhex[65], shex[2 * sizeof sealed + 1];
        if (j < 0) {
            json_decref(grants);
            return pl_fail(err, PL_E_ACCESS, "this vault does not hold the %s key it should "
                                             "grant", gk[g].name);
        }
        if (crypto_box_seal(sealed, v->sec->held_sk[j], PL_BOX_SK_BYTES, box_pk) != 0) {
            json_decref(grants);
            return pl_fail(err, PL_E_INVALID, "the member's encryption key is unusable");
        }
        sodium_bin2hex(pkhex, sizeof pkhex, gk[g].pk, PL_BOX_PK_BYTES);
        sodium_bin2hex(shex, sizeof shex, sealed, sizeof sealed);
        if (json_array_append_new(grants, json_pack("{s:s, s:i, s:s, s:s}", "key", gk[g].name,
                                                    "epoch", (int)gk[g].epoch, "pk", pkhex,
                                                    "sealed", shex)) != 0) {
            json_decref(grants);
            return pl_fail(err, PL_E_NOMEM, "out of memory");
        }
        size_t at = strlen(labels);
        int w = gk[g].epoch == 1 ? snprintf(labels + at, cap - at, "%s%s", at ? "," : "",
                                            gk[g].name)
                                 : snprintf(labels + at, cap - at, "%s%s/%u", at ? "," : "",
                                            gk[g].name, (unsigned)gk[g].epoch);
        if (w < 0 || (size_t)w >= cap - at) {
            json_decref(grants);
            return pl_fail(err, PL_E_INVALID, "too many keys for one grant");
        }
    }
    if (!grants)
        return pl_fail(err, PL_E_NOMEM, "out of memory");
    *out = grants;
    return PL_OK;
}

pl_status vault_member_add(pl_vault *v, const pl_identity *m, unsigned roles, pl_entry *out,
                           pl_err *err)
{
    pl_status st;
    char meta[PL_META_MAX + 1], member_hex[65], box_hex[65], list[96], labels[1024];
    size_t mlen;
    pl_org *o = calloc(1, sizeof *o);
    if (!o)
        return pl_fail(err, PL_E_NOMEM, "out of memory");
    if ((st = vault_org(v, o, err)) != PL_OK)
        goto out;
    if (sodium_memcmp(o->coordinator, v->id.sign_pk, PL_SIGN_PK_BYTES) != 0) {
        st = pl_fail(err, PL_E_ACCESS, "only a coordinator can add members");
        goto out;
    }
    if (!roles || roles >= (1u << PL_ROLES)) {
        st = pl_fail(err, PL_E_INVALID, "give at least one role");
        goto out;
    }
    if (roles & 1u) { /* coordinator */
        st = pl_fail(err, PL_E_INVALID, "adding coordinators is not possible yet (issue 3: "
                                        "formats/org.md §9); add them as another role for now");
        goto out;
    }
    for (unsigned i = 0; i < o->nmembers; i++)
        if (sodium_memcmp(o->members[i].id.sign_pk, m->sign_pk, PL_SIGN_PK_BYTES) == 0 ||
            sodium_memcmp(o->members[i].id.box_pk, m->box_pk, PL_BOX_PK_BYTES) == 0) {
            st = pl_fail(err, PL_E_EXISTS, "%s is a member already; nothing was changed",
                         m->fingerprint);
            goto out;
        }
    /* The keys to grant: the member key and the keys of the member's roles, every epoch, so
     * that a new supervisor reads what supervisors could read before a rotation too. All
     * must be held here. */
    grant_key gk[PL_ORG_KEYS_MAX + 1];
    unsigned ngrant = 0;
    gk[ngrant++] = (grant_key){"member", 1, o->member_pk};
    const pl_org_key *cm = NULL;
    pl_org_key cur_member;
    for (unsigned i = 0; i < o->nkeys && ngrant < PL_ORG_KEYS_MAX + 1; i++) {
        const pl_org_key *k = &o->keys[i];
        unsigned bit = 0;
        char bad[32];
        int is_member = !strcmp(k->role, "member");
        if (is_member || (pl_roles_parse(k->role, &bit, bad, sizeof bad) == 0 && (roles & bit)))
            gk[ngrant++] = (grant_key){is_member ? "member" : k->role, k->epoch, k->pk};
    }
    cm = pl_org_current_key(o, "member", &cur_member);
    if (ngrant > 1 + PL_HELD_MAX / 2) {
        st = pl_fail(err, PL_E_INVALID, "too many key epochs to grant (%u)", ngrant);
        goto out;
    }
    json_t *grants = NULL;
    if ((st = build_grant(v, gk, ngrant, m->box_pk, &grants, labels, sizeof labels, err)) !=
        PL_OK)
        goto out;
    json_t *grant_body = json_pack("{s:o}", "keys", grants);
    json_t *add_body = json_pack("{s:s}", "name", m->name);
    sodium_bin2hex(member_hex, sizeof member_hex, m->sign_pk, PL_SIGN_PK_BYTES);
    sodium_bin2hex(box_hex, sizeof box_hex, m->box_pk, PL_BOX_PK_BYTES);
    pl_roles_format(roles, list, sizeof list);
    pl_entry add, grant;
    uint8_t refs[2][PL_ID_BYTES];
    uint8_t rcpt[2][PL_BOX_PK_BYTES];
    memcpy(refs[0], o->id, PL_ID_BYTES);
    memcpy(rcpt[0], cm ? cm->pk : o->member_pk, PL_BOX_PK_BYTES);
    memcpy(rcpt[1], m->box_pk, PL_BOX_PK_BYTES);
    pl_meta_pair am[] = {{"box", box_hex}, {"from_seq", "1"}, {"member", member_hex},
                         {"roles", list}};
    if (!grant_body || !add_body) {
        st = pl_fail(err, PL_E_NOMEM, "out of memory");
    } else if ((st = vault_begin(v, err)) == PL_OK) {
        if (fmt_meta_build(am, 4, meta, sizeof meta, &mlen) != 0)
            st = pl_fail(err, PL_E_INVALID, "cannot build the member's metadata");
        if (st == PL_OK)
            st = append_json(v, "member.add", add_body, meta,
                             (const uint8_t(*)[PL_ID_BYTES])refs, 1,
                             (const uint8_t(*)[PL_BOX_PK_BYTES])rcpt, 2, &add, err);
        pl_meta_pair gm[] = {{"keys", labels}, {"member", member_hex}};
        if (st == PL_OK && fmt_meta_build(gm, 2, meta, sizeof meta, &mlen) != 0)
            st = pl_fail(err, PL_E_INVALID, "cannot build the grant's metadata");
        if (st == PL_OK)
            memcpy(refs[1], add.id, PL_ID_BYTES);
        /* The grant is readable by the member alone (and its author). */
        if (st == PL_OK)
            st = append_json(v, "key.grant", grant_body, meta,
                             (const uint8_t(*)[PL_ID_BYTES])refs, 2,
                             (const uint8_t(*)[PL_BOX_PK_BYTES])rcpt[1], 1, &grant, err);
        if (st == PL_OK)
            st = vault_commit(v, err);
        else
            vault_rollback(v);
        if (st == PL_OK)
            *out = add;
    }
    json_decref(grant_body);
    json_decref(add_body);
out:
    free(o);
    return st;
}

typedef struct {
    pl_vault *v;
    const pl_org *org;
    unsigned taken;
    pl_status st;
    pl_err *err;
} grants_ctx;

/* pk among the organisation's announced keys (the epoch-1 member key, or any announced role
 * or member key of any epoch), copied to out; NULL when not announced. */
static const pl_org_key *announced(const pl_org *o, const uint8_t *pk, pl_org_key *out)
{
    if (sodium_memcmp(pk, o->member_pk, PL_BOX_PK_BYTES) == 0) {
        snprintf(out->role, sizeof out->role, "member");
        out->epoch = 1;
        memcpy(out->pk, pk, PL_BOX_PK_BYTES);
        return out;
    }
    for (unsigned i = 0; i < o->nkeys; i++)
        if (sodium_memcmp(pk, o->keys[i].pk, PL_BOX_PK_BYTES) == 0)
            return &o->keys[i];
    return NULL;
}

/* The announced key a grant's keys= item ("name" or "name/epoch") names, or NULL. */
static const uint8_t *grant_item_pk(const pl_org *o, char *item)
{
    char *slash = strchr(item, '/');
    unsigned long epoch = 1;
    if (slash) {
        char *end;
        *slash = '\0';
        epoch = strtoul(slash + 1, &end, 10);
        if (*end || epoch < 1)
            return NULL;
    }
    if (!strcmp(item, "member") && epoch == 1)
        return o->member_pk;
    for (unsigned i = 0; i < o->nkeys; i++)
        if (!strcmp(o->keys[i].role, item) && o->keys[i].epoch == epoch)
            return o->keys[i].pk;
    return NULL;
}

/* Opens one key.grant addressed to this vault and holds the keys it carries. */
static int take_grant(void *ctx, const pl_entry *e)
{
    grants_ctx *g = ctx;
    uint8_t member[PL_SIGN_PK_BYTES];
    if (meta_key(&e->h, "member", member) != 0 ||
        sodium_memcmp(member, g->v->id.sign_pk, PL_SIGN_PK_BYTES) != 0)
        return 0;
    /* Only the coordinator grants keys, for this organisation, and only announced keys. */
    if (sodium_memcmp(e->h.feed, g->org->coordinator, PL_SIGN_PK_BYTES) != 0 ||
        e->h.nrefs != 2 || sodium_memcmp(e->h.refs[0], g->org->id, PL_ID_BYTES) != 0 ||
        !entry_authentic(e))
        return 0;
    json_t *body = NULL, *k;
    size_t i;
    /* A grant whose keys are all held already was taken before: it is not opened again, so
     * that one grant that can no longer be used (an erased body, a full key table) does not
     * stop every later import. The keys it names are in its header. */
    char names[1024];
    if (fmt_meta_get(e->h.meta, e->h.meta_len, "keys", names, sizeof names) == 0) {
        int all = 1;
        for (char *save = NULL, *t = strtok_r(names, ",", &save); t && all;
             t = strtok_r(NULL, ",", &save)) {
            const uint8_t *pk = grant_item_pk(g->org, t);
            all = pk && feed_held_index(g->v, pk) >= 0;
        }
        if (all)
            return 0;
    }
    if ((g->st = vault_body(g->v, e, &body, g->err)) != PL_OK)
        return 1;
    uint8_t *sk = sodium_malloc(PL_BOX_SK_BYTES);
    json_array_foreach(json_object_get(body, "keys"), i, k) {
        uint8_t pk[PL_BOX_PK_BYTES], sealed[crypto_box_SEALBYTES + PL_BOX_SK_BYTES];
        const char *pkh = json_string_value(json_object_get(k, "pk"));
        const char *sh = json_string_value(json_object_get(k, "sealed"));
        size_t b1 = 0, b2 = 0;
        char label[40];
        pl_org_key tmp;
        const pl_org_key *name = NULL;
        if (!sk || !pkh || !sh ||
            sodium_hex2bin(pk, sizeof pk, pkh, strlen(pkh), NULL, &b1, NULL) != 0 ||
            b1 != sizeof pk ||
            sodium_hex2bin(sealed, sizeof sealed, sh, strlen(sh), NULL, &b2, NULL) != 0 ||
            b2 != sizeof sealed || !(name = announced(g->org, pk, &tmp)) ||
            crypto_box_seal_open(sk, sealed, sizeof sealed, g->v->id.box_pk,
                                 g->v->sec->box_sk) != 0) {
            g->st = pl_fail(g->err, PL_E_INTEGRITY, "a key grant addressed to you is damaged");
            break;
        }
        /* The label comes from what the organisation announced, not from the grant. */
        snprintf(label, sizeof label, "%.16s/%u", name->role, (unsigned)name->epoch);
        int had = feed_held_index(g->v, pk) >= 0;
        if ((g->st = vault_key_hold(g->v, pk, sk, label, g->err)) != PL_OK)
            break;
        g->taken += had ? 0u : 1u;
    }
    sodium_free(sk);
    json_decref(body);
    return g->st != PL_OK;
}

pl_status org_take_grants(pl_vault *v, const pl_org *o, unsigned *taken, pl_err *err)
{
    grants_ctx g = {v, o, 0, PL_OK, err};
    pl_filter f = {.type = "key.grant"};
    pl_status st = vault_log(v, &f, take_grant, &g, err);
    if (st == PL_OK)
        st = g.st;
    *taken = st == PL_OK ? g.taken : 0;
    return st;
}

pl_status vault_accept_grants(pl_vault *v, unsigned *taken, pl_err *err)
{
    pl_org *o = calloc(1, sizeof *o);
    unsigned held_before = v->sec->nheld, got = 0;
    if (taken)
        *taken = 0;
    if (!o)
        return pl_fail(err, PL_E_NOMEM, "out of memory");
    pl_status st = vault_org(v, o, err);
    /* All of the grants or none: a damaged one leaves nothing half taken. */
    if (st == PL_OK && (st = vault_begin(v, err)) == PL_OK) {
        st = org_take_grants(v, o, &got, err);
        if (st == PL_OK)
            st = vault_commit(v, err);
        else
            vault_rollback(v);
        if (st != PL_OK) {
            feed_held_truncate(v, held_before);
            got = 0;
        }
    }
    free(o);
    if (taken)
        *taken = got;
    return st;
}

const pl_org_member *pl_org_find(const pl_org *o, const char *fp)
{
    for (unsigned i = 0; i < o->nmembers; i++)
        if (!strcmp(o->members[i].id.fingerprint, fp))
            return &o->members[i];
    return NULL;
}

const pl_org_member *org_member(const pl_org *o, const uint8_t feed[PL_SIGN_PK_BYTES])
{
    for (unsigned i = 0; i < o->nmembers; i++)
        if (sodium_memcmp(o->members[i].id.sign_pk, feed, PL_SIGN_PK_BYTES) == 0)
            return &o->members[i];
    return NULL;
}

/* The roles that may write type: organisation entries are the coordinators'; records are
 * as the policy says. -1 when the policy does not name the type (or cannot be read). */
static int writers_of(const pl_org *o, const char *type, unsigned *mask)
{
    static const char *const org_types[] = {"org.genesis", "key.rotate", "key.grant",
                                            "member.add", "member.remove"};
    for (size_t i = 0; i < sizeof org_types / sizeof org_types[0]; i++)
        if (strcmp(type, org_types[i]) == 0) {
            *mask = 1u; /* coordinator */
            return 0;
        }
    if (!strcmp(type, "agreement.sign")) { /* the countersignature of the guide it names */
        *mask = 1u << 1;
        return 0;
    }
    for (unsigned p = 0; p < o->npolicy; p++)
        if (strcmp(o->policy[p].type, type) == 0) {
            *mask = o->policy[p].write;
            return 0;
        }
    return -1;
}

int org_may_write(pl_vault *v, const pl_org *o, const pl_header *h, char *why, size_t cap)
{
    const pl_org_member *m = org_member(o, h->feed);
    char fp[PL_FINGERPRINT_HEX + 1], type[PL_TYPE_MAX + 1], roles[96];
    unsigned need = 0;
    if (!m) {
        char feed[2 * PL_SIGN_PK_BYTES + 1];
        sodium_bin2hex(feed, sizeof feed, h->feed, PL_SIGN_PK_BYTES);
        snprintf(why, cap, "written by feed %.16s…, which is not a member of the organisation",
                 feed);
        return -1;
    }
    memcpy(fp, m->id.fingerprint, sizeof fp);
    if (sodium_memcmp(h->box_pk, m->id.box_pk, PL_BOX_PK_BYTES) != 0) {
        snprintf(why, cap, "member %.8s… wrote with a key the organisation does not know", fp);
        return -1;
    }
    if (h->seq > m->until_seq) {
        snprintf(why, cap, "member %.8s… was removed; their entries after %llu do not count", fp,
                 (unsigned long long)m->until_seq);
        return -2;
    }
    if (h->seq < m->from_seq) {
        snprintf(why, cap, "member %.8s… wrote entry %llu before joining (from entry %llu)", fp,
                 (unsigned long long)h->seq, (unsigned long long)m->from_seq);
        return -1;
    }
    snprintf(type, sizeof type, "%s", h->type);
    if (!strcmp(type, "amend") || !strcmp(type, "retract")) {
        /* A correction is allowed when its original is the same author's entry. */
        char hex[PL_ID_HEX + 1];
        pl_entry target;
        pl_err ignore;
        sodium_bin2hex(hex, sizeof hex, h->refs[0], PL_ID_BYTES);
        if (h->nrefs < 1 || vault_find(v, hex, &target, &ignore) != PL_OK ||
            sodium_memcmp(target.h.feed, h->feed, PL_SIGN_PK_BYTES) != 0) {
            snprintf(why, cap, "member %.8s… corrects an entry that is not their own", fp);
            return -1;
        }
        snprintf(type, sizeof type, "%s", target.h.type);
    }
    if (!strcmp(h->type, "agreement.sign")) {
        /* It countersigns a volunteer agreement that names its author. */
        char hex[PL_ID_HEX + 1], guide[PL_FINGERPRINT_HEX + 1];
        pl_entry target;
        pl_err ignore;
        sodium_bin2hex(hex, sizeof hex, h->refs[0], PL_ID_BYTES);
        if (h->nrefs < 1 || vault_find(v, hex, &target, &ignore) != PL_OK ||
            strcmp(target.h.type, "agreement.volunteer") != 0 ||
            fmt_meta_get(target.h.meta, target.h.meta_len, "guide", guide, sizeof guide) != 0 ||
            strcmp(guide, m->id.fingerprint) != 0) {
            snprintf(why, cap, "member %.8s… signs an agreement not made with them", fp);
            return -1;
        }
    }
    if (writers_of(o, type, &need) != 0) {
        snprintf(why, cap, o->npolicy ? "the organisation's policy has no record type '%s'"
                                      : "this vault cannot read the organisation's policy to "
                                        "check who may write '%s'",
                 type);
        return -1;
    }
    if (!(m->roles & need)) {
        pl_roles_format(m->roles, roles, sizeof roles);
        snprintf(why, cap, "member %.8s… (%s) may not write '%s'", fp, roles, type);
        return -1;
    }
    return 0;
}

pl_status org_recipients(pl_vault *v, const char *type, const char *guide,
                         uint8_t rcpt[PL_ROLES + 1][PL_BOX_PK_BYTES], uint8_t *n, pl_err *err)
{
    *n = 0;
    pl_org *o = calloc(1, sizeof *o);
    if (!o)
        return pl_fail(err, PL_E_NOMEM, "out of memory");
    uint8_t id[PL_ID_BYTES];
    pl_status st = org_id(v, id, err);
    if (st == PL_E_NOTFOUND) { /* a personal vault: the author alone */
        free(o);
        return PL_OK;
    }
    if (st == PL_OK)
        st = vault_org(v, o, err);
    if (st == PL_OK && o->npolicy == 0)
        st = pl_fail(err, PL_E_ACCESS, "this vault cannot read its organisation's policy yet "
                                       "(take your key grants first)");
    /* Never write what the other members would refuse: an entry that does not count would
     * also hold back every later entry of this feed at their imports. */
    const pl_org_member *me = st == PL_OK ? org_member(o, v->id.sign_pk) : NULL;
    unsigned need = 0;
    if (st == PL_OK && me && me->removed)
        st = pl_fail(err, PL_E_ACCESS, "you were removed from the organisation; this vault "
                                       "can no longer write records");
    if (st == PL_OK && (!me || writers_of(o, type, &need) != 0 || !(me->roles & need))) {
        char roles[96] = "none";
        if (me)
            pl_roles_format(me->roles, roles, sizeof roles);
        st = pl_fail(err, PL_E_ACCESS, "your roles in the organisation (%s) do not allow "
                                       "writing '%s'", roles, type);
    }
    for (unsigned p = 0; st == PL_OK && p < o->npolicy; p++) {
        if (strcmp(o->policy[p].type, type) != 0)
            continue;
        for (unsigned r = 0; r < PL_ROLES; r++) {
            pl_org_key tmp;
            const pl_org_key *k = (o->policy[p].read & (1u << r))
                                      ? pl_org_current_key(o, role_names[r], &tmp)
                                      : NULL;
            if (k && *n < PL_ROLES) /* the newest epoch this vault has seen */
                memcpy(rcpt[(*n)++], k->pk, PL_BOX_PK_BYTES);
        }
    }
    /* The guide a record concerns reads it too: a current member with the guide role. */
    const pl_org_member *g = st == PL_OK && guide ? pl_org_find(o, guide) : NULL;
    if (st == PL_OK && guide && (!g || g->removed || !(g->roles & (1u << 1))))
        st = pl_fail(err, PL_E_INVALID, "%s is not a current guide of the organisation (see "
                                        "'peerlog org show')", guide);
    if (st == PL_OK && g && sodium_memcmp(g->id.box_pk, v->id.box_pk, PL_BOX_PK_BYTES) != 0)
        memcpy(rcpt[(*n)++], g->id.box_pk, PL_BOX_PK_BYTES);
    free(o);
    return st;
}

/* ---- removal ---------------------------------------------------------------------------- */

pl_status vault_member_remove(pl_vault *v, const uint8_t feed[PL_SIGN_PK_BYTES],
                              const char *reason, pl_entry *out, pl_err *err)
{
    pl_status st;
    pl_org *o = calloc(1, sizeof *o);
    /* New key pairs: the member key (index PL_ROLES) and each role's, in guarded memory. */
    uint8_t(*pk)[PL_BOX_PK_BYTES] = calloc(PL_ROLES + 1, PL_BOX_PK_BYTES);
    uint8_t(*sk)[PL_BOX_SK_BYTES] = sodium_malloc((PL_ROLES + 1) * PL_BOX_SK_BYTES);
    uint32_t epoch[PL_ROLES + 1] = {0};
    unsigned held_before = v->sec->nheld;
    json_t *body = NULL;
    if (!o || !pk || !sk) {
        st = pl_fail(err, PL_E_NOMEM, "out of memory");
        goto out;
    }
    if (!reason || !*reason || strlen(reason) > PL_NAME_MAX) {
        st = pl_fail(err, PL_E_INVALID, "give a reason (1 to %u bytes)", PL_NAME_MAX);
        goto out;
    }
    if ((st = vault_org(v, o, err)) != PL_OK)
        goto out;
    if (sodium_memcmp(o->coordinator, v->id.sign_pk, PL_SIGN_PK_BYTES) != 0) {
        st = pl_fail(err, PL_E_ACCESS, "only a coordinator can remove members");
        goto out;
    }
    const pl_org_member *m = org_member(o, feed);
    if (!m) {
        st = pl_fail(err, PL_E_NOTFOUND, "no member has that fingerprint (see 'peerlog org "
                                         "show')");
        goto out;
    }
    if (m == &o->members[0]) {
        st = pl_fail(err, PL_E_INVALID, "the first coordinator cannot be removed");
        goto out;
    }
    if (m->removed) {
        st = pl_fail(err, PL_E_EXISTS, "%s was removed already; nothing was changed",
                     m->id.fingerprint);
        goto out;
    }
    /* The cut: the member's newest entry this vault holds; later ones will not count. */
    char until_seq[24], until_id[PL_ID_HEX + 1] = "", member_hex[65], meta[PL_META_MAX + 1];
    uint64_t head = 0;
    {
        sqlite3_stmt *q = NULL;
        int rc = sqlite3_prepare_v2(v->db, "SELECT seq, id FROM entries WHERE feed = ?"
                                           " ORDER BY seq DESC, n LIMIT 1", -1, &q, NULL);
        if (rc == SQLITE_OK) {
            sqlite3_bind_blob(q, 1, feed, PL_SIGN_PK_BYTES, SQLITE_STATIC);
            rc = sqlite3_step(q);
        }
        if (rc == SQLITE_ROW && sqlite3_column_bytes(q, 1) == PL_ID_BYTES) {
            head = (uint64_t)sqlite3_column_int64(q, 0);
            sodium_bin2hex(until_id, sizeof until_id, sqlite3_column_blob(q, 1), PL_ID_BYTES);
        }
        sqlite3_finalize(q);
        if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
            st = store_fail(v->db, rc, "reading the member's feed", err);
            goto out;
        }
    }
    snprintf(until_seq, sizeof until_seq, "%llu", (unsigned long long)head);
    sodium_bin2hex(member_hex, sizeof member_hex, feed, PL_SIGN_PK_BYTES);
    /* Which keys rotate: the member key, and every role key the member held. */
    unsigned rotate = (1u << PL_ROLES) | m->roles;
    for (unsigned i = 0; i <= PL_ROLES; i++) {
        pl_org_key tmp;
        const pl_org_key *cur =
            pl_org_current_key(o, i < PL_ROLES ? role_names[i] : "member", &tmp);
        if (!(rotate & (1u << i)) || !cur)
            continue;
        epoch[i] = cur->epoch + 1;
        crypto_box_keypair(pk[i], sk[i]);
    }
    body = json_pack("{s:s}", "reason", reason);
    if (!body) {
        st = pl_fail(err, PL_E_NOMEM, "out of memory");
        goto out;
    }
    pl_meta_pair rm[] = {{"member", member_hex}, {"until_id", head ? until_id : NULL},
                         {"until_seq", until_seq}};
    size_t mlen;
    uint8_t refs[2][PL_ID_BYTES];
    memcpy(refs[0], o->id, PL_ID_BYTES);
    pl_entry removal, e;
    if ((st = vault_begin(v, err)) != PL_OK)
        goto out;
    if (fmt_meta_build(rm, 3, meta, sizeof meta, &mlen) != 0)
        st = pl_fail(err, PL_E_INVALID, "cannot build the removal's metadata");
    /* Readable by the remaining members: wrapped to the new member key. */
    if (st == PL_OK)
        st = append_json(v, "member.remove", body, meta, (const uint8_t(*)[PL_ID_BYTES])refs,
                         1, (const uint8_t(*)[PL_BOX_PK_BYTES])pk[PL_ROLES], 1, &removal, err);
    if (st == PL_OK)
        memcpy(refs[1], removal.id, PL_ID_BYTES);
    for (unsigned i = 0; st == PL_OK && i <= PL_ROLES; i++) {
        if (!epoch[i])
            continue;
        char hex[2 * PL_BOX_PK_BYTES + 1], ep[12], label[32];
        const char *name = i < PL_ROLES ? role_names[i] : "member";
        json_t *empty = json_object();
        sodium_bin2hex(hex, sizeof hex, pk[i], PL_BOX_PK_BYTES);
        snprintf(ep, sizeof ep, "%u", (unsigned)epoch[i]);
        pl_meta_pair km[] = {{"epoch", ep}, {"key", name}, {"pk", hex}};
        if (!empty || fmt_meta_build(km, 3, meta, sizeof meta, &mlen) != 0)
            st = pl_fail(err, PL_E_NOMEM, "cannot build a key announcement");
        else
            st = append_json(v, "key.rotate", empty, meta, (const uint8_t(*)[PL_ID_BYTES])refs,
                             2, (const uint8_t(*)[PL_BOX_PK_BYTES])pk[PL_ROLES], 1, &e, err);
        json_decref(empty);
        snprintf(label, sizeof label, "%s/%u", name, (unsigned)epoch[i]);
        if (st == PL_OK)
            st = vault_key_hold(v, pk[i], sk[i], label, err);
    }
    /* Each remaining member gets the new member key and the new keys of its roles. */
    for (unsigned k = 1; st == PL_OK && k < o->nmembers; k++) {
        const pl_org_member *r = &o->members[k];
        if (r == m || r->removed)
            continue;
        grant_key gk[PL_ROLES + 1];
        unsigned ng = 0;
        gk[ng++] = (grant_key){"member", epoch[PL_ROLES], pk[PL_ROLES]};
        for (unsigned i = 0; i < PL_ROLES; i++)
            if (epoch[i] && (r->roles & (1u << i)))
                gk[ng++] = (grant_key){role_names[i], epoch[i], pk[i]};
        json_t *grants = NULL, *gbody = NULL;
        char labels[512], rhex[65];
        if ((st = build_grant(v, gk, ng, r->id.box_pk, &grants, labels, sizeof labels, err)) !=
            PL_OK)
            break;
        gbody = json_pack("{s:o}", "keys", grants);
        sodium_bin2hex(rhex, sizeof rhex, r->id.sign_pk, PL_SIGN_PK_BYTES);
        pl_meta_pair gm[] = {{"keys", labels}, {"member", rhex}};
        if (!gbody || fmt_meta_build(gm, 2, meta, sizeof meta, &mlen) != 0)
            st = pl_fail(err, PL_E_NOMEM, "cannot build a key grant");
        else
            st = append_json(v, "key.grant", gbody, meta, (const uint8_t(*)[PL_ID_BYTES])refs,
                             2, (const uint8_t(*)[PL_BOX_PK_BYTES])r->id.box_pk, 1, &e, err);
        json_decref(gbody);
    }
    if (st == PL_OK)
        st = vault_commit(v, err);
    else
        vault_rollback(v);
    if (st != PL_OK)
        feed_held_truncate(v, held_before);
    else
        *out = removal;
out:
    json_decref(body);
    free(o);
    free(pk);
    sodium_free(sk);
    return st;
}
