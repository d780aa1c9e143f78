/* Organisations (formats/org.md): the genesis, its keys, and reading them back.
 * Issue 3 in progress: membership changes, grants and exchange come next. */
#include <ctype.h>
#include <stdarg.h>
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

static const char *const controller_keys[] = {"contact", "email", "phone", "address",
                                               "policy_url"};

/* The controller's fields in controller_keys order. */
static char *controller_field(pl_controller *c, size_t i)
{
    char *const f[] = {c->contact, c->email, c->phone, c->address, c->policy_url};
    return f[i];
}

/* The "controller" object of a genesis body: the fields given, each checked. */
static pl_status controller_json(const pl_controller *c, json_t **out, pl_err *err)
{
    *out = json_object();
    if (!*out)
        return pl_fail(err, PL_E_NOMEM, "out of memory");
    for (size_t i = 0; i < sizeof controller_keys / sizeof controller_keys[0]; i++) {
        const char *f = controller_field((pl_controller *)c, i);
        size_t n = strnlen(f, PL_NAME_MAX + 1);
        if (!f[0])
            continue;
        /* fixed with the genesis: refused rather than left out when it is not plain UTF-8 */
        json_t *value = n <= PL_NAME_MAX && fmt_name_valid(f, n) ? json_string(f) : NULL;
        if (!value || json_object_set_new(*out, controller_keys[i], value) != 0) {
            json_decref(*out);
            return pl_fail(err, PL_E_INVALID, "the controller's %s must be plain text of at "
                                              "most %u bytes", controller_keys[i], PL_NAME_MAX);
        }
    }
    return PL_OK;
}

pl_status vault_org_init(pl_vault *v, const char *name, const pl_controller *controller,
                         const pl_retention *retention, pl_org *out, pl_err *err)
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
    json_t *ctl = NULL;
    if (controller && (st = controller_json(controller, &ctl, err)) != PL_OK) {
        json_decref(utf8);
        return st;
    }
    /* Key pairs: the member key (index PL_ROLES) and one per role, in guarded memory. */
    uint8_t(*pk)[PL_BOX_PK_BYTES] = calloc(PL_ROLES + 1, PL_BOX_PK_BYTES);
    uint8_t(*sk)[PL_BOX_SK_BYTES] = sodium_malloc((PL_ROLES + 1) * PL_BOX_SK_BYTES);
    json_t *body = json_pack("{s:o, s:o}", "name", utf8, "policy", default_policy());
    if (body && ctl && json_object_size(ctl))
        json_object_set(body, "controller", ctl);
    json_decref(ctl);
    if (body && retention && retention->set)
        json_object_set_new(body, "retention", pl_retention_json(retention));
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

static int grow(void **list, size_t *cap, size_t n, size_t size);

typedef struct {
    pl_org *org;
    const uint8_t *genesis;
    pl_org_key *cand; /* every well-formed announcement, before the epoch rule */
    size_t n, cap;
    int nomem;
} keys_ctx;

/* Collects the key announcements that refer to the genesis: each role's, at each epoch, and
 * the member key's rotations, by a coordinator whose interval holds the announcement. */
static int collect_key(void *ctx, const pl_entry *e)
{
    keys_ctx *k = ctx;
    char role[16], hex[2 * PL_BOX_PK_BYTES + 1], ep[12] = "1";
    pl_org *o = k->org;
    pl_org_key key;
    memset(&key, 0, sizeof key);
    if (strcmp(e->h.type, "key.rotate") != 0 || e->h.nrefs < 1 ||
        sodium_memcmp(e->h.refs[0], k->genesis, PL_ID_BYTES) != 0 ||
        !org_coordinator_at(o, e->h.feed, e->h.seq) ||
        fmt_meta_get(e->h.meta, e->h.meta_len, "key", role, sizeof role) != 0 ||
        fmt_meta_get(e->h.meta, e->h.meta_len, "pk", hex, sizeof hex) != 0)
        return 0;
    if (fmt_meta_get(e->h.meta, e->h.meta_len, "epoch", ep, sizeof ep) != 0)
        snprintf(ep, sizeof ep, "1"); /* the genesis's announcements carry no epoch */
    char *end;
    unsigned long epoch = strtoul(ep, &end, 10);
    unsigned bit;
    char bad[32];
    int is_member = !strcmp(role, "member");
    if (*end || !isdigit((unsigned char)ep[0]) || epoch < 1 || epoch > 1000000 ||
        (is_member && epoch < 2) ||
        (!is_member && pl_roles_parse(role, &bit, bad, sizeof bad) != 0) || strchr(role, ','))
        return 0;
    /* Epoch 1 comes from the genesis author alone, in the genesis's transaction. */
    if (epoch == 1 && sodium_memcmp(e->h.feed, o->coordinator, PL_SIGN_PK_BYTES) != 0)
        return 0;
    size_t bin = 0;
    if (sodium_hex2bin(key.pk, sizeof key.pk, hex, strlen(hex), NULL, &bin, NULL) != 0 ||
        bin != PL_BOX_PK_BYTES || !entry_authentic(e))
        return 0;
    snprintf(key.role, sizeof key.role, "%s", role);
    key.epoch = (uint32_t)epoch;
    memcpy(key.by, e->id, PL_ID_BYTES);
    memcpy(key.author, e->h.feed, PL_SIGN_PK_BYTES);
    if (grow((void **)&k->cand, &k->cap, k->n, sizeof key) != 0) {
        k->nomem = 1;
        return 1;
    }
    k->cand[k->n++] = key;
    return 0;
}

static int by_epoch_id(const void *a, const void *b)
{
    const pl_org_key *x = a, *y = b;
    if (x->epoch != y->epoch)
        return x->epoch < y->epoch ? -1 : 1;
    return memcmp(x->by, y->by, PL_ID_BYTES);
}

/* The keys that count, the same everywhere whatever order they arrived in: taken by epoch,
 * then announcing id; epoch e of a name counts only when a key of epoch e - 1 of that name
 * counts (the member key's epoch 1 is the genesis's); a public key announced before is not
 * taken again; at most PL_ORG_KEYS_MAX. Two coordinators who rotate one key at once both
 * announce the same epoch: both keys count (members may hold either), and
 * pl_org_current_key picks one the same way everywhere. */
static void take_keys(pl_org *o, pl_org_key *cand, size_t n)
{
    if (n)
        qsort(cand, n, sizeof *cand, by_epoch_id);
    for (size_t i = 0; i < n; i++) {
        const pl_org_key *c = &cand[i];
        int prev = c->epoch == 2 && !strcmp(c->role, "member"), dup = 0;
        for (unsigned j = 0; j < o->nkeys; j++) {
            const pl_org_key *k = &o->keys[j];
            dup |= sodium_memcmp(k->pk, c->pk, PL_BOX_PK_BYTES) == 0 ||
                   (c->epoch == 1 && k->epoch == 1 && !strcmp(k->role, c->role));
            prev |= !strcmp(k->role, c->role) && k->epoch + 1 == c->epoch;
        }
        if (dup || (c->epoch > 1 && !prev) ||
            sodium_memcmp(c->pk, o->member_pk, PL_BOX_PK_BYTES) == 0)
            continue;
        if (o->nkeys == PL_ORG_KEYS_MAX) {
            org_note(o, "the organisation has more than %u keys; later epochs are not used",
                     PL_ORG_KEYS_MAX);
            return;
        }
        o->keys[o->nkeys++] = *c;
    }
}

static const pl_org_key *org_key_at(const pl_org *o, unsigned i, pl_org_key *tmp);

const pl_org_key *pl_org_current_key(const pl_org *o, const char *name, pl_org_key *out)
{
    const pl_org_key *best = NULL;
    /* The highest epoch; of concurrent keys of one epoch, the lowest announcing entry id. */
    for (unsigned i = 0; i < o->nkeys; i++)
        if (!strcmp(o->keys[i].role, name) &&
            (!best || o->keys[i].epoch > best->epoch ||
             (o->keys[i].epoch == best->epoch && memcmp(o->keys[i].by, best->by,
                                                        PL_ID_BYTES) < 0)))
            best = &o->keys[i];
    if (!best && !strcmp(name, "member"))
        best = org_key_at(o, o->nkeys, out);
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
    json_t *ctl = json_object_get(body, "controller");
    for (size_t i = 0; i < sizeof controller_keys / sizeof controller_keys[0]; i++) {
        const char *f = json_string_value(json_object_get(ctl, controller_keys[i]));
        if (f && strlen(f) <= PL_NAME_MAX && fmt_name_valid(f, strlen(f)))
            snprintf(controller_field(&out->controller, i), PL_NAME_MAX + 1, "%s", f);
    }
    retention_read(json_object_get(body, "retention"), &out->retention);
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
    /* Members first: who may announce keys depends on who is a coordinator. */
    if ((st = org_members(v, out, &g, err)) != PL_OK)
        return st;
    keys_ctx kc = {out, out->id, NULL, 0, 0, 0};
    pl_filter f = {.type = "key.rotate"};
    st = vault_log(v, &f, collect_key, &kc, err);
    if (st == PL_OK && kc.nomem)
        st = pl_fail(err, PL_E_NOMEM, "out of memory");
    if (st == PL_OK)
        take_keys(out, kc.cand, kc.n);
    free(kc.cand);
    if (st != PL_OK)
        return st;
    /* Keys made at once: each epoch of a name with more than one key, reported once. */
    for (unsigned i = 0; i < out->nkeys; i++) {
        const pl_org_key *k = &out->keys[i];
        unsigned same = 0, earlier = 0;
        for (unsigned j = 0; j < out->nkeys; j++)
            if (!strcmp(out->keys[j].role, k->role) && out->keys[j].epoch == k->epoch) {
                same++;
                earlier += j < i;
            }
        if (same < 2 || earlier)
            continue;
        pl_org_key tmp;
        const pl_org_key *cur = pl_org_current_key(out, k->role, &tmp);
        if (cur && cur->epoch == k->epoch)
            org_note(out, "%u %s keys of epoch %u were made at once by two coordinators; the "
                          "one announced by entry %02x%02x%02x%02x… is used",
                     same, k->role, (unsigned)k->epoch, cur->by[0], cur->by[1], cur->by[2],
                     cur->by[3]);
        else
            org_note(out, "%u %s keys of epoch %u were made at once by two coordinators; a "
                          "later epoch replaced them",
                     same, k->role, (unsigned)k->epoch);
    }
    return PL_OK;
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

/* One member.add or member.remove as its header says, before the rules decide whether it
 * counts (formats/org.md §10.6). */
typedef struct {
    int remove;
    uint8_t id[PL_ID_BYTES], author[PL_SIGN_PK_BYTES], member[PL_SIGN_PK_BYTES],
        box[PL_BOX_PK_BYTES];
    uint64_t seq;  /* the author's */
    uint64_t n;    /* from_seq of an add, until_seq of a removal */
    int64_t time_ms;
    unsigned roles;
    int counted;
    char name[PL_NAME_MAX + 1];
} org_change;

typedef struct {
    pl_vault *v;
    pl_org *org;
    org_change *list;
    size_t n, cap;
    int nomem;
} members_ctx;

/* Makes room for one more item of size in *list (n used of *cap): 0, or -1 out of memory
 * or past a million items. */
static int grow(void **list, size_t *cap, size_t n, size_t size)
{
    if (n < *cap)
        return 0;
    size_t want = *cap ? 2 * *cap : 32;
    void *l = want <= 1000000 ? realloc(*list, want * size) : NULL;
    if (!l)
        return -1;
    *list = l;
    *cap = want;
    return 0;
}

void org_note(pl_org *o, const char *fmt, ...)
{
    if (o->nnotes < PL_ORG_NOTES_MAX) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(o->notes[o->nnotes], PL_ORG_NOTE_LEN, fmt, ap);
        va_end(ap);
    }
    o->nnotes++;
}

/* Collects each well-formed, authentic member.add and member.remove of this organisation. */
static int collect_change(void *ctx, const pl_entry *e)
{
    members_ctx *m = ctx;
    org_change c;
    char roles[96], num[24], bad[32];
    memset(&c, 0, sizeof c);
    c.remove = !strcmp(e->h.type, "member.remove");
    if ((!c.remove && strcmp(e->h.type, "member.add") != 0) || e->h.nrefs < 1 ||
        sodium_memcmp(e->h.refs[0], m->org->id, PL_ID_BYTES) != 0 ||
        meta_key(&e->h, "member", c.member) != 0 ||
        fmt_meta_get(e->h.meta, e->h.meta_len, c.remove ? "until_seq" : "from_seq", num,
                     sizeof num) != 0)
        return 0;
    if (!c.remove && (meta_key(&e->h, "box", c.box) != 0 ||
                      fmt_meta_get(e->h.meta, e->h.meta_len, "roles", roles, sizeof roles) != 0 ||
                      pl_roles_parse(roles, &c.roles, bad, sizeof bad) != 0 || !c.roles))
        return 0;
    char *end;
    c.n = strtoull(num, &end, 10);
    if (*end || !isdigit((unsigned char)num[0]) || c.n > (uint64_t)INT64_MAX ||
        (!c.remove && c.n == 0) || !entry_authentic(e))
        return 0;
    memcpy(c.id, e->id, PL_ID_BYTES);
    memcpy(c.author, e->h.feed, PL_SIGN_PK_BYTES);
    c.seq = e->h.seq;
    c.time_ms = e->h.time_ms;
    if (!c.remove) {
        json_t *body = NULL;
        pl_err ignore;
        if (vault_body(m->v, e, &body, &ignore) == PL_OK) {
            const char *name = json_string_value(json_object_get(body, "name"));
            if (name && fmt_name_valid(name, strlen(name)))
                snprintf(c.name, sizeof c.name, "%s", name);
        }
        json_decref(body);
    }
    if (grow((void **)&m->list, &m->cap, m->n, sizeof c) != 0) {
        m->nomem = 1;
        return 1;
    }
    m->list[m->n++] = c;
    return 0;
}

/* Ledger order with the entry id as the last word, so that every vault with the same
 * entries reads them in the same order (forked feeds included). */
static int by_time_id(const void *a, const void *b)
{
    const org_change *x = a, *y = b;
    if (x->time_ms != y->time_ms)
        return x->time_ms < y->time_ms ? -1 : 1;
    return memcmp(x->id, y->id, PL_ID_BYTES);
}

static pl_org_member *member_of(pl_org *o, const uint8_t feed[PL_SIGN_PK_BYTES])
{
    return (pl_org_member *)org_member(o, feed); /* the same lookup, on a pl_org being built */
}

static const char *short_fp(const pl_org_member *m, char out[9])
{
    snprintf(out, 9, "%.8s", m ? m->id.fingerprint : "????????");
    return out;
}

/* The membership rules of formats/org.md §10.6, which give every vault with the same entries
 * the same members whatever order they arrived in:
 *   1. the first coordinator (the genesis author) is a member from the genesis on and is
 *      never removed; its removals always count;
 *   2. a member.add counts when its author is a coordinator whose interval holds it, and
 *      gives the coordinator role only when the first coordinator wrote it (so the set of
 *      coordinators is decided by one feed, in that feed's order); the adds are taken until
 *      nothing changes, and two adds of one member join their roles;
 *   3. a removal by another coordinator counts when its interval holds it and it removes no
 *      coordinator (only the first coordinator removes coordinators);
 *   4. removal wins: of several cuts of one member the lowest holds, and an add never undoes
 *      a removal. */
static pl_status org_members(pl_vault *v, pl_org *o, const pl_entry *genesis, pl_err *err)
{
    pl_org_member *first = &o->members[0];
    char f1[9], f2[9];
    memset(first, 0, sizeof *first);
    memcpy(first->id.sign_pk, genesis->h.feed, PL_SIGN_PK_BYTES);
    memcpy(first->id.box_pk, genesis->h.box_pk, PL_BOX_PK_BYTES);
    vault_fingerprint(first->id.sign_pk, first->id.box_pk, first->id.fingerprint);
    if (sodium_memcmp(first->id.sign_pk, v->id.sign_pk, PL_SIGN_PK_BYTES) == 0)
        snprintf(first->id.name, sizeof first->id.name, "%s", v->id.name);
    first->roles = 1u; /* coordinator */
    first->from_seq = genesis->h.seq;
    first->until_seq = UINT64_MAX;
    memcpy(first->added_by, genesis->h.feed, PL_SIGN_PK_BYTES);
    memcpy(first->add_id, genesis->id, PL_ID_BYTES);
    o->nmembers = 1;
    members_ctx m = {v, o, NULL, 0, 0, 0};
    pl_filter fa = {.type = "member.add"}, fr = {.type = "member.remove"};
    pl_status st = vault_log(v, &fa, collect_change, &m, err);
    if (st == PL_OK)
        st = vault_log(v, &fr, collect_change, &m, err);
    if (st == PL_OK && m.nomem)
        st = pl_fail(err, PL_E_NOMEM, "out of memory");
    if (st != PL_OK) {
        free(m.list);
        return st;
    }
    if (m.n)
        qsort(m.list, m.n, sizeof *m.list, by_time_id);
    /* Rule 1: the first coordinator's cuts, which are the only cuts of coordinators. */
    uint64_t *cut = malloc((m.n ? m.n : 1) * sizeof *cut);
    if (!cut) {
        free(m.list);
        return pl_fail(err, PL_E_NOMEM, "out of memory");
    }
    for (size_t i = 0; i < m.n; i++) {
        cut[i] = UINT64_MAX;
        for (size_t j = 0; j < m.n; j++) {
            const org_change *r = &m.list[j];
            if (r->remove && r->n < cut[i] &&
                sodium_memcmp(r->author, first->id.sign_pk, PL_SIGN_PK_BYTES) == 0 &&
                sodium_memcmp(r->member, m.list[i].author, PL_SIGN_PK_BYTES) == 0)
                cut[i] = r->n; /* the cut of change i's author by the first coordinator */
        }
    }
    /* Rule 2: adds by coordinators, until nothing changes (roles only grow, so it ends). */
    for (int changed = 1; changed;) {
        changed = 0;
        for (size_t i = 0; i < m.n; i++) {
            org_change *c = &m.list[i];
            pl_org_member *a = c->remove || c->counted ? NULL : member_of(o, c->author);
            if (!a || !(a->roles & 1u) || c->seq < a->from_seq || c->seq > cut[i])
                continue;
            if ((c->roles & 1u) && a != first)
                continue; /* only the first coordinator makes coordinators */
            if (sodium_memcmp(c->member, first->id.sign_pk, PL_SIGN_PK_BYTES) == 0) {
                c->counted = 1; /* the first coordinator holds its role already */
                continue;
            }
            pl_org_member *t = member_of(o, c->member);
            if (t && sodium_memcmp(t->id.box_pk, c->box, PL_BOX_PK_BYTES) != 0) {
                c->counted = 1; /* another box key for one feed: the first add stands */
                org_note(o, "member %s was added again with another encryption key; the "
                            "first addition stands", short_fp(t, f1));
                continue;
            }
            if (!t && o->nmembers == PL_ORG_MEMBERS_MAX)
                continue;
            if (!t) {
                t = &o->members[o->nmembers++];
                memset(t, 0, sizeof *t);
                memcpy(t->id.sign_pk, c->member, PL_SIGN_PK_BYTES);
                memcpy(t->id.box_pk, c->box, PL_BOX_PK_BYTES);
                vault_fingerprint(t->id.sign_pk, t->id.box_pk, t->id.fingerprint);
                snprintf(t->id.name, sizeof t->id.name, "%s", c->name);
                t->from_seq = c->n;
                t->until_seq = UINT64_MAX;
                memcpy(t->added_by, c->author, PL_SIGN_PK_BYTES);
                memcpy(t->add_id, c->id, PL_ID_BYTES);
            } else {
                char roles[96];
                if ((t->roles | c->roles) != t->roles || c->n != t->from_seq) {
                    char f3[9];
                    pl_roles_format(t->roles | c->roles, roles, sizeof roles);
                    org_note(o, "member %s was added twice (by %s and %s); the roles are "
                                "joined: %s", short_fp(t, f1),
                             short_fp(member_of(o, t->added_by), f2), short_fp(a, f3), roles);
                }
                if (c->n < t->from_seq)
                    t->from_seq = c->n;
            }
            t->roles |= c->roles;
            c->counted = 1;
            changed = 1;
        }
    }
    /* Rules 3 and 4: the removals that count, the lowest cut of each member. */
    for (size_t i = 0; i < m.n; i++) {
        org_change *c = &m.list[i];
        if (!c->remove)
            continue;
        pl_org_member *a = member_of(o, c->author), *t = member_of(o, c->member);
        int by_first = a == first;
        if (!t || t == first || !a || !(a->roles & 1u) || c->seq < a->from_seq) {
            if (t == first)
                org_note(o, "a removal of the first coordinator does not count");
            continue;
        }
        if (c->seq > cut[i]) {
            org_note(o, "coordinator %s removed %s after their own removal; that does not "
                        "count", short_fp(a, f1), short_fp(t, f2));
            continue;
        }
        if (!by_first && (t->roles & 1u)) {
            org_note(o, "coordinator %s removed coordinator %s; only the first coordinator "
                        "removes coordinators, so it does not count",
                     short_fp(a, f1), short_fp(t, f2));
            continue;
        }
        if (t->removed && t->until_seq != c->n)
            org_note(o, "member %s was removed twice; the lower cut (after entry %llu) holds",
                     short_fp(t, f1),
                     (unsigned long long)(c->n < t->until_seq ? c->n : t->until_seq));
        c->counted = 1;
        if (!t->removed || c->n < t->until_seq) {
            t->until_seq = c->n;
            memcpy(t->removal_id, c->id, PL_ID_BYTES);
        }
        t->removed = 1;
    }
    /* Adds that did not count, for the coordinators to see. */
    for (size_t i = 0; i < m.n; i++) {
        const org_change *c = &m.list[i];
        const pl_org_member *a = member_of(o, c->author);
        if (c->remove || c->counted || !a || !(a->roles & 1u))
            continue;
        org_note(o, c->seq > cut[i] ? "coordinator %s added a member after their own removal; "
                                      "that does not count"
                 : (c->roles & 1u) ? "coordinator %s added a coordinator; only the first "
                                     "coordinator adds coordinators, so it does not count"
                                   : "coordinator %s added a member who does not fit: the "
                                     "organisation is full",
                 short_fp(a, f1));
    }
    free(cut);
    free(m.list);
    return PL_OK;
}

typedef struct {
    const char *name;
    uint32_t epoch;
    const uint8_t *pk;
} grant_key;

/* The body of a key.grant: each key's secret sealed to box_pk (the keys must be held here),
 * the header's keys= list ("name" for epoch 1, "name/epoch" after) in labels, and its kids=
 * list (the first 8 bytes of each public key in hex, which tell apart two keys of one
 * epoch) in kids[PL_GRANT_KIDS_MAX]. */
#define PL_GRANT_KIDS_MAX (PL_HELD_MAX * 17u)
static pl_status build_grant(pl_vault *v, const grant_key *gk, unsigned n,
                             const uint8_t box_pk[PL_BOX_PK_BYTES], json_t **out, char *labels,
                             size_t cap, char *kids, pl_err *err)
{
    json_t *grants = json_array();
    labels[0] = '\0';
    kids[0] = '\0';
    if (n > PL_HELD_MAX)
        return pl_fail(err, PL_E_INVALID, "too many keys for one grant");
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
        size_t k = strlen(kids);
        snprintf(kids + k, PL_GRANT_KIDS_MAX - k, "%s%.16s", k ? "," : "", pkhex);
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
    char kids[PL_GRANT_KIDS_MAX];
    size_t mlen;
    pl_org *o = calloc(1, sizeof *o);
    if (!o)
        return pl_fail(err, PL_E_NOMEM, "out of memory");
    if ((st = vault_org(v, o, err)) != PL_OK)
        goto out;
    const pl_org_member *me = org_member(o, v->id.sign_pk);
    if (!me || !(me->roles & 1u) || me->removed) {
        st = pl_fail(err, PL_E_ACCESS, "only a coordinator can add members");
        goto out;
    }
    if (!roles || roles >= (1u << PL_ROLES)) {
        st = pl_fail(err, PL_E_INVALID, "give at least one role");
        goto out;
    }
    if ((roles & 1u) && me != &o->members[0]) {
        st = pl_fail(err, PL_E_ACCESS, "only the first coordinator (%.8s…) can add a "
                                       "coordinator (formats/org.md §10.6)",
                     o->members[0].id.fingerprint);
        goto out;
    }
    for (unsigned i = 0; i < o->nmembers; i++)
        if (sodium_memcmp(o->members[i].id.sign_pk, m->sign_pk, PL_SIGN_PK_BYTES) == 0 ||
            sodium_memcmp(o->members[i].id.box_pk, m->box_pk, PL_BOX_PK_BYTES) == 0) {
            st = o->members[i].removed
                     ? pl_fail(err, PL_E_EXISTS, "%s was removed from the organisation and "
                                                 "cannot be added again; they start a new vault "
                                                 "('peerlog init') and send its identity",
                               m->fingerprint)
                     : pl_fail(err, PL_E_EXISTS, "%s is a member already; nothing was changed",
                               m->fingerprint);
            goto out;
        }
    /* The keys to grant: the member key and the keys of the member's roles, every epoch, so
     * that a new supervisor reads what supervisors could read before a rotation too. A
     * coordinator gets every key, as it grants them to the members it adds. All must be
     * held here. */
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
        if (is_member || (roles & 1u) ||
            (pl_roles_parse(k->role, &bit, bad, sizeof bad) == 0 && (roles & bit)))
            gk[ngrant++] = (grant_key){is_member ? "member" : k->role, k->epoch, k->pk};
    }
    cm = pl_org_current_key(o, "member", &cur_member);
    if (ngrant > 1 + PL_HELD_MAX / 2) {
        st = pl_fail(err, PL_E_INVALID, "too many key epochs to grant (%u)", ngrant);
        goto out;
    }
    json_t *grants = NULL;
    if ((st = build_grant(v, gk, ngrant, m->box_pk, &grants, labels, sizeof labels, kids,
                          err)) != PL_OK)
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
        pl_meta_pair gm[] = {{"keys", labels}, {"kids", kids}, {"member", member_hex}};
        if (st == PL_OK && fmt_meta_build(gm, 3, meta, sizeof meta, &mlen) != 0)
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
    for (unsigned i = 0; i <= o->nkeys; i++) {
        const pl_org_key *k = org_key_at(o, i, out);
        if (sodium_memcmp(pk, k->pk, PL_BOX_PK_BYTES) == 0)
            return k;
    }
    return NULL;
}

typedef struct {
    uint8_t member[PL_SIGN_PK_BYTES];
    char kids[PL_META_VALUE_MAX + 1]; /* "" when the grant has none: then labels */
    char labels[PL_META_VALUE_MAX + 1];
} grant_seen;

/* Reads what a key.grant header names: its member, and its kids= and keys= lists. */
static int grant_seen_read(const pl_header *h, grant_seen *s)
{
    memset(s, 0, sizeof *s);
    if (meta_key(h, "member", s->member) != 0)
        return -1;
    if (fmt_meta_get(h->meta, h->meta_len, "kids", s->kids, sizeof s->kids) != 0)
        s->kids[0] = '\0';
    if (fmt_meta_get(h->meta, h->meta_len, "keys", s->labels, sizeof s->labels) != 0)
        s->labels[0] = '\0';
    return 0;
}

/* 1 when a grant names key k: by its id prefix, or (a grant without kids=) by its label. */
static int grant_names(const grant_seen *s, const pl_org_key *k)
{
    char list[PL_META_VALUE_MAX + 1], want[40], kid[17];
    if (s->kids[0]) {
        sodium_bin2hex(kid, sizeof kid, k->pk, 8);
        snprintf(list, sizeof list, "%s", s->kids);
        for (char *save = NULL, *t = strtok_r(list, ",", &save); t;
             t = strtok_r(NULL, ",", &save))
            if (!strcmp(t, kid))
                return 1;
        return 0;
    }
    if (k->epoch == 1)
        snprintf(want, sizeof want, "%s", k->role);
    else
        snprintf(want, sizeof want, "%s/%u", k->role, (unsigned)k->epoch);
    snprintf(list, sizeof list, "%s", s->labels);
    for (char *save = NULL, *t = strtok_r(list, ",", &save); t; t = strtok_r(NULL, ",", &save))
        if (!strcmp(t, want))
            return 1;
    return 0;
}

/* Key i of o's announced keys, with the epoch-1 member key as the last (i == o->nkeys). */
static const pl_org_key *org_key_at(const pl_org *o, unsigned i, pl_org_key *tmp)
{
    if (i < o->nkeys)
        return &o->keys[i];
    snprintf(tmp->role, sizeof tmp->role, "member");
    tmp->epoch = 1;
    memcpy(tmp->pk, o->member_pk, PL_BOX_PK_BYTES);
    memcpy(tmp->by, o->id, PL_ID_BYTES);
    memcpy(tmp->author, o->coordinator, PL_SIGN_PK_BYTES);
    return tmp;
}

/* 1 when grant header h names at least one announced key and v holds every one it names (a
 * keys= label may name two keys of one epoch: then both). */
static int grant_held(pl_vault *v, const pl_org *o, const pl_header *h)
{
    grant_seen *s = malloc(sizeof *s);
    unsigned named = 0;
    int held = s && grant_seen_read(h, s) == 0;
    for (unsigned i = 0; held && i <= o->nkeys; i++) {
        pl_org_key tmp;
        const pl_org_key *k = org_key_at(o, i, &tmp);
        if (!grant_names(s, k))
            continue;
        held = feed_held_index(v, k->pk) >= 0;
        named++;
    }
    free(s);
    return held && named > 0;
}

/* Opens one key.grant addressed to this vault and holds the keys it carries. */
static int take_grant(void *ctx, const pl_entry *e)
{
    grants_ctx *g = ctx;
    uint8_t member[PL_SIGN_PK_BYTES];
    if (meta_key(&e->h, "member", member) != 0 ||
        sodium_memcmp(member, g->v->id.sign_pk, PL_SIGN_PK_BYTES) != 0)
        return 0;
    /* Only a coordinator grants keys, for this organisation, and only announced keys. */
    if (!org_coordinator_at(g->org, e->h.feed, e->h.seq) || e->h.nrefs != 2 ||
        sodium_memcmp(e->h.refs[0], g->org->id, PL_ID_BYTES) != 0 || !entry_authentic(e))
        return 0;
    json_t *body = NULL, *k;
    size_t i;
    /* A grant whose keys are all held already was taken before: it is not opened again, so
     * that one grant that can no longer be used (an erased body, a full key table) does not
     * stop every later import. The keys it names are in its header. */
    if (grant_held(g->v, g->org, &e->h))
        return 0;
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

const pl_org_member *org_coordinator_at(const pl_org *o, const uint8_t feed[PL_SIGN_PK_BYTES],
                                        uint64_t seq)
{
    const pl_org_member *m = org_member(o, feed);
    return m && (m->roles & 1u) && seq >= m->from_seq && seq <= m->until_seq ? m : NULL;
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
                                            "member.add", "member.remove", "fork.resolve",
                                            "erase"};
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
    return org_may_write_as(v, o, org_member(o, h->feed), h, why, cap);
}

int org_may_write_as(pl_vault *v, const pl_org *o, const pl_org_member *m, const pl_header *h,
                     char *why, size_t cap)
{
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
        /* It must say what it corrects as the original does: its type and its citizen
         * (an erasure judges a correction by them, formats/erasure.md §3). */
        char of[PL_TYPE_MAX + 1];
        if (fmt_meta_get(h->meta, h->meta_len, "of", of, sizeof of) != 0 || strcmp(of, type) != 0 ||
            strcmp(h->subject, target.h.subject) != 0) {
            snprintf(why, cap, "member %.8s… corrects a '%s' but names another type or citizen "
                               "than it", fp, type);
            return -1;
        }
        if (!strcmp(h->type, "amend") && !pl_record_amendable(type)) {
            snprintf(why, cap, "member %.8s… amends a '%s', which cannot be amended", fp, type);
            return -1;
        }
    }
    if (pl_record_needs_subject(type) && !fmt_pseudonym_valid(h->subject)) {
        snprintf(why, cap, "member %.8s… wrote a '%s' that names no citizen", fp, type);
        return -1;
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

/* Appends a key.grant to member r of those of the keys gk[n] that r should hold (epoch 0:
 * none): the member key, the keys of r's roles, and every key for a coordinator. refs =
 * [organisation, why]. Nothing when r should hold none of them. */
static pl_status append_grant(pl_vault *v, const pl_org *o, const pl_org_member *r,
                              const grant_key *gk, unsigned n, const uint8_t why[PL_ID_BYTES],
                              pl_err *err)
{
    grant_key mine[PL_ROLES + 1];
    unsigned ng = 0;
    for (unsigned i = 0; i < n && ng < PL_ROLES + 1; i++) {
        unsigned bit = 0;
        char bad[32];
        if (gk[i].epoch && (!strcmp(gk[i].name, "member") || (r->roles & 1u) ||
                            (pl_roles_parse(gk[i].name, &bit, bad, sizeof bad) == 0 &&
                             (r->roles & bit))))
            mine[ng++] = gk[i];
    }
    if (!ng)
        return PL_OK;
    json_t *grants = NULL, *gbody = NULL;
    char labels[512], kids[PL_GRANT_KIDS_MAX], rhex[65], meta[PL_META_MAX + 1];
    size_t mlen;
    uint8_t refs[2][PL_ID_BYTES];
    pl_entry e;
    pl_status st = build_grant(v, mine, ng, r->id.box_pk, &grants, labels, sizeof labels, kids,
                               err);
    if (st != PL_OK)
        return st;
    gbody = json_pack("{s:o}", "keys", grants);
    sodium_bin2hex(rhex, sizeof rhex, r->id.sign_pk, PL_SIGN_PK_BYTES);
    memcpy(refs[0], o->id, PL_ID_BYTES);
    memcpy(refs[1], why, PL_ID_BYTES);
    pl_meta_pair gm[] = {{"keys", labels}, {"kids", kids}, {"member", rhex}};
    if (!gbody || fmt_meta_build(gm, 3, meta, sizeof meta, &mlen) != 0)
        st = pl_fail(err, PL_E_NOMEM, "cannot build a key grant");
    else
        st = append_json(v, "key.grant", gbody, meta, (const uint8_t(*)[PL_ID_BYTES])refs, 2,
                         (const uint8_t(*)[PL_BOX_PK_BYTES])r->id.box_pk, 1, &e, err);
    json_decref(gbody);
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
    const pl_org_member *me = org_member(o, v->id.sign_pk);
    if (!me || !(me->roles & 1u) || me->removed) {
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
    if ((m->roles & 1u) && me != &o->members[0]) {
        st = pl_fail(err, PL_E_ACCESS, "only the first coordinator (%.8s…) can remove a "
                                       "coordinator (formats/org.md §10.6)",
                     o->members[0].id.fingerprint);
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
    /* Which keys rotate: the member key, and every role key the member held (a coordinator
     * held them all). */
    unsigned rotate = (1u << PL_ROLES) | ((m->roles & 1u) ? (1u << PL_ROLES) - 1u : m->roles);
    for (unsigned i = 0; i <= PL_ROLES; i++) {
        pl_org_key tmp;
        const pl_org_key *cur =
            pl_org_current_key(o, i < PL_ROLES ? role_names[i] : "member", &tmp);
        if (!(rotate & (1u << i)) || !cur)
            continue;
        epoch[i] = cur->epoch + 1;
        crypto_box_keypair(pk[i], sk[i]);
    }
    unsigned nrot = 0;
    for (unsigned i = 0; i <= PL_ROLES; i++)
        nrot += epoch[i] != 0;
    if (o->nkeys + nrot > PL_ORG_KEYS_MAX || v->sec->nheld + nrot > PL_HELD_MAX) {
        st = pl_fail(err, PL_E_INVALID, "the organisation has used up the %u key epochs this "
                                        "version keeps; nothing was changed", PL_ORG_KEYS_MAX);
        goto out;
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
    /* Each remaining member gets the new member key and the new keys of its roles; each
     * coordinator every new key. */
    grant_key gk[PL_ROLES + 1];
    for (unsigned i = 0; i <= PL_ROLES; i++)
        gk[i] = (grant_key){i < PL_ROLES ? role_names[i] : "member", epoch[i], pk[i]};
    for (unsigned k = 0; st == PL_OK && k < o->nmembers; k++) {
        const pl_org_member *r = &o->members[k];
        if (r != m && !r->removed && r != me)
            st = append_grant(v, o, r, gk, PL_ROLES + 1, refs[1], err);
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

/* ---- repair after concurrent changes ------------------------------------------------------ */

typedef struct {
    const pl_org *org;
    grant_seen *list;
    size_t n, cap;
    int nomem;
} grants_seen_ctx;

static int collect_grant(void *ctx, const pl_entry *e)
{
    grants_seen_ctx *g = ctx;
    grant_seen s;
    if (grant_seen_read(&e->h, &s) != 0 || e->h.nrefs < 1 ||
        sodium_memcmp(e->h.refs[0], g->org->id, PL_ID_BYTES) != 0 ||
        !org_coordinator_at(g->org, e->h.feed, e->h.seq) || !entry_authentic(e))
        return 0;
    if (grow((void **)&g->list, &g->cap, g->n, sizeof s) != 0) {
        g->nomem = 1;
        return 1;
    }
    g->list[g->n++] = s;
    return 0;
}

/* 1 when member m made key k or was granted it. */
static int member_holds(const grants_seen_ctx *g, const pl_org_member *m, const pl_org_key *k)
{
    if (sodium_memcmp(k->author, m->id.sign_pk, PL_SIGN_PK_BYTES) == 0)
        return 1;
    for (size_t i = 0; i < g->n; i++)
        if (sodium_memcmp(g->list[i].member, m->id.sign_pk, PL_SIGN_PK_BYTES) == 0 &&
            grant_names(&g->list[i], k))
            return 1;
    return 0;
}

/* 1 when member m should hold the keys of name ("member" or a role). */
static int member_needs(const pl_org_member *m, unsigned name)
{
    return name == PL_ROLES || (m->roles & 1u) || (m->roles & (1u << name));
}

/* The keys member r should get from a repair, in give[PL_ROLES + 1] (epoch 0: none): each
 * new key gk[i] (epoch non-zero) of a name r needs, and each current key of a name r needs
 * but neither made nor was granted, where v holds it. Returns how many. */
static unsigned keys_to_give(pl_vault *v, const pl_org *o, const grants_seen_ctx *g,
                             const pl_org_member *r, const grant_key *gk, grant_key *give)
{
    unsigned n = 0;
    for (unsigned i = 0; i <= PL_ROLES; i++) {
        pl_org_key tmp;
        const pl_org_key *cur = pl_org_current_key(o, gk[i].name, &tmp);
        give[i] = gk[i];
        if (!member_needs(r, i))
            give[i].epoch = 0;
        else if (!gk[i].epoch && cur && !member_holds(g, r, cur) &&
                 feed_held_index(v, cur->pk) >= 0)
            give[i] = (grant_key){gk[i].name, cur->epoch, cur->pk};
        n += give[i].epoch != 0;
    }
    return n;
}

pl_status vault_org_repair(pl_vault *v, unsigned *rotated, unsigned *granted, pl_err *err)
{
    *rotated = *granted = 0;
    pl_org *o = calloc(1, sizeof *o);
    uint8_t(*pk)[PL_BOX_PK_BYTES] = calloc(PL_ROLES + 1, PL_BOX_PK_BYTES);
    uint8_t(*sk)[PL_BOX_SK_BYTES] = sodium_malloc((PL_ROLES + 1) * PL_BOX_SK_BYTES);
    grants_seen_ctx g = {o, NULL, 0, 0, 0};
    unsigned held_before = v->sec->nheld;
    pl_status st = o && pk && sk ? vault_org(v, o, err) : pl_fail(err, PL_E_NOMEM, "out of memory");
    const pl_org_member *me = st == PL_OK ? org_member(o, v->id.sign_pk) : NULL;
    if (st != PL_OK || !me || !(me->roles & 1u) || me->removed)
        goto out; /* only a current coordinator repairs */
    pl_filter f = {.type = "key.grant"};
    if ((st = vault_log(v, &f, collect_grant, &g, err)) != PL_OK)
        goto out;
    if (g.nomem) {
        st = pl_fail(err, PL_E_NOMEM, "out of memory");
        goto out;
    }
    /* 1. A current key that a removed member holds (two removals at once each granted
     *    their new key to the member the other removed) gets a new epoch. */
    grant_key gk[PL_ROLES + 1];
    const uint8_t *why = NULL;
    unsigned nrot = 0; /* within the key tables' bounds, or not at all */
    for (unsigned i = 0; i <= PL_ROLES; i++) {
        const char *name = i < PL_ROLES ? role_names[i] : "member";
        pl_org_key tmp;
        const pl_org_key *cur = pl_org_current_key(o, name, &tmp);
        gk[i] = (grant_key){name, 0, pk[i]};
        for (unsigned k = 0; cur && k < o->nmembers; k++) {
            const pl_org_member *r = &o->members[k];
            if (r->removed && member_holds(&g, r, cur) &&
                o->nkeys + nrot < PL_ORG_KEYS_MAX && v->sec->nheld + nrot < PL_HELD_MAX) {
                nrot++;
                gk[i].epoch = cur->epoch + 1;
                why = r->removal_id;
                crypto_box_keypair(pk[i], sk[i]);
                break;
            }
        }
    }
    /* Nothing to mend (the usual case): no transaction, nothing written. */
    unsigned todo = why != NULL;
    for (unsigned k = 0; !todo && k < o->nmembers; k++) {
        grant_key give[PL_ROLES + 1];
        const pl_org_member *r = &o->members[k];
        todo = !r->removed && r != me && keys_to_give(v, o, &g, r, gk, give);
    }
    if (!todo || (st = vault_begin(v, err)) != PL_OK)
        goto out;
    char meta[PL_META_MAX + 1];
    size_t mlen;
    pl_entry e;
    uint8_t refs[2][PL_ID_BYTES];
    memcpy(refs[0], o->id, PL_ID_BYTES);
    if (why)
        memcpy(refs[1], why, PL_ID_BYTES);
    pl_org_key mtmp;
    const pl_org_key *member_key = pl_org_current_key(o, "member", &mtmp);
    for (unsigned i = 0; st == PL_OK && i <= PL_ROLES; i++) {
        if (!gk[i].epoch)
            continue;
        char hex[2 * PL_BOX_PK_BYTES + 1], ep[12], label[32];
        json_t *empty = json_object();
        sodium_bin2hex(hex, sizeof hex, pk[i], PL_BOX_PK_BYTES);
        snprintf(ep, sizeof ep, "%u", (unsigned)gk[i].epoch);
        pl_meta_pair km[] = {{"epoch", ep}, {"key", gk[i].name}, {"pk", hex}};
        /* Readable by the members: the new member key when it rotates, else the current. */
        const uint8_t *to = gk[PL_ROLES].epoch ? pk[PL_ROLES] : member_key->pk;
        if (!empty || fmt_meta_build(km, 3, meta, sizeof meta, &mlen) != 0)
            st = pl_fail(err, PL_E_NOMEM, "cannot build a key announcement");
        else
            st = append_json(v, "key.rotate", empty, meta, (const uint8_t(*)[PL_ID_BYTES])refs,
                             2, (const uint8_t(*)[PL_BOX_PK_BYTES])to, 1, &e, err);
        json_decref(empty);
        snprintf(label, sizeof label, "%s/%u", gk[i].name, (unsigned)gk[i].epoch);
        if (st == PL_OK)
            st = vault_key_hold(v, pk[i], sk[i], label, err);
        if (st == PL_OK)
            (*rotated)++;
    }
    /* 2. Each current member gets the new keys, and a current key it should hold but was
     *    never granted (a member added while another coordinator rotated), where this vault
     *    holds it. */
    for (unsigned k = 0; st == PL_OK && k < o->nmembers; k++) {
        const pl_org_member *r = &o->members[k];
        if (r->removed || r == me)
            continue;
        grant_key give[PL_ROLES + 1];
        if (!keys_to_give(v, o, &g, r, gk, give))
            continue;
        st = append_grant(v, o, r, give, PL_ROLES + 1, why ? refs[1] : r->add_id, err);
        if (st == PL_OK)
            (*granted)++;
    }
    if (st == PL_OK)
        st = vault_commit(v, err);
    else
        vault_rollback(v);
    if (st != PL_OK) {
        feed_held_truncate(v, held_before);
        *rotated = *granted = 0;
    }
out:
    free(g.list);
    free(o);
    free(pk);
    sodium_free(sk);
    return st;
}

/* ---- forks ---------------------------------------------------------------------------- */

pl_status vault_fork_resolve(pl_vault *v, const char *keep, const char *reason, pl_entry *out,
                             pl_err *err)
{
    pl_entry kept;
    pl_status st;
    if (!reason || !*reason || strlen(reason) > PL_NAME_MAX)
        return pl_fail(err, PL_E_INVALID, "give a reason (1 to %u bytes)", PL_NAME_MAX);
    pl_org *o = calloc(1, sizeof *o);
    if (!o)
        return pl_fail(err, PL_E_NOMEM, "out of memory");
    if ((st = vault_org(v, o, err)) != PL_OK)
        goto out;
    const pl_org_member *me = org_member(o, v->id.sign_pk);
    if (!me || !(me->roles & 1u) || me->removed) {
        st = pl_fail(err, PL_E_ACCESS, "only a coordinator resolves a fork");
        goto out;
    }
    if ((st = vault_find(v, keep, &kept, err)) != PL_OK)
        goto out;
    /* A fork: another entry of the same feed at the same sequence number. And the feed's
     * head as this vault holds it: the resolution covers forks up to there. */
    sqlite3_stmt *q = NULL;
    int others = 0;
    uint64_t head = 0;
    int rc = sqlite3_prepare_v2(v->db, "SELECT (SELECT count(*) FROM entries WHERE feed = ?1"
                                       " AND seq = ?2 AND id <> ?3),"
                                       " (SELECT max(seq) FROM entries WHERE feed = ?1)",
                                -1, &q, NULL);
    if (rc == SQLITE_OK) {
        sqlite3_bind_blob(q, 1, kept.h.feed, PL_SIGN_PK_BYTES, SQLITE_STATIC);
        sqlite3_bind_int64(q, 2, (sqlite3_int64)kept.h.seq);
        sqlite3_bind_blob(q, 3, kept.id, PL_ID_BYTES, SQLITE_STATIC);
        rc = sqlite3_step(q);
    }
    if (rc == SQLITE_ROW) {
        others = sqlite3_column_int(q, 0);
        head = (uint64_t)sqlite3_column_int64(q, 1);
    }
    sqlite3_finalize(q);
    if (rc != SQLITE_ROW) {
        st = store_fail(v->db, rc, "reading the feed", err);
        goto out;
    }
    if (!others) {
        st = pl_fail(err, PL_E_INVALID, "entry %.12s… is not part of a fork: no other entry "
                                        "has its feed and sequence number ('peerlog verify' "
                                        "names forks)", keep);
        goto out;
    }
    char feed_hex[2 * PL_SIGN_PK_BYTES + 1], seq[24], until[24], meta[PL_META_MAX + 1];
    size_t mlen;
    sodium_bin2hex(feed_hex, sizeof feed_hex, kept.h.feed, PL_SIGN_PK_BYTES);
    snprintf(seq, sizeof seq, "%llu", (unsigned long long)kept.h.seq);
    snprintf(until, sizeof until, "%llu", (unsigned long long)head);
    pl_meta_pair fm[] = {{"feed", feed_hex}, {"seq", seq}, {"until_seq", until}};
    uint8_t refs[2][PL_ID_BYTES];
    memcpy(refs[0], o->id, PL_ID_BYTES);
    memcpy(refs[1], kept.id, PL_ID_BYTES);
    pl_org_key tmp;
    const pl_org_key *mk = pl_org_current_key(o, "member", &tmp);
    json_t *body = json_pack("{s:s}", "reason", reason);
    if (!body || fmt_meta_build(fm, 3, meta, sizeof meta, &mlen) != 0) {
        st = pl_fail(err, PL_E_NOMEM, "cannot build the resolution");
    } else if ((st = vault_begin(v, err)) == PL_OK) {
        st = append_json(v, "fork.resolve", body, meta, (const uint8_t(*)[PL_ID_BYTES])refs, 2,
                         (const uint8_t(*)[PL_BOX_PK_BYTES])mk->pk, 1, out, err);
        if (st == PL_OK)
            st = vault_commit(v, err);
        else
            vault_rollback(v);
    }
    json_decref(body);
out:
    free(o);
    return st;
}

typedef struct {
    const pl_org *org;
    pl_fork_resolution *list;
    size_t n, cap;
    int nomem;
} resolutions_ctx;

static int collect_resolution(void *ctx, const pl_entry *e)
{
    resolutions_ctx *r = ctx;
    pl_fork_resolution x;
    char seq[24], until[24];
    memset(&x, 0, sizeof x);
    if (e->h.nrefs != 2 || sodium_memcmp(e->h.refs[0], r->org->id, PL_ID_BYTES) != 0 ||
        !org_coordinator_at(r->org, e->h.feed, e->h.seq) || meta_key(&e->h, "feed", x.feed) != 0 ||
        fmt_meta_get(e->h.meta, e->h.meta_len, "seq", seq, sizeof seq) != 0 ||
        fmt_meta_get(e->h.meta, e->h.meta_len, "until_seq", until, sizeof until) != 0 ||
        !isdigit((unsigned char)seq[0]) || !isdigit((unsigned char)until[0]))
        return 0;
    char *e1, *e2;
    x.seq = strtoull(seq, &e1, 10);
    x.until_seq = strtoull(until, &e2, 10);
    if (*e1 || *e2 || x.seq < 1 || x.until_seq < x.seq || x.until_seq > (uint64_t)INT64_MAX ||
        !entry_authentic(e))
        return 0;
    memcpy(x.keep, e->h.refs[1], PL_ID_BYTES);
    memcpy(x.by, e->id, PL_ID_BYTES);
    if (grow((void **)&r->list, &r->cap, r->n, sizeof x) != 0) {
        r->nomem = 1;
        return 1;
    }
    r->list[r->n++] = x;
    return 0;
}

int org_fork_resolved(pl_vault *v, const pl_fork_resolution *res, size_t n,
                      const uint8_t feed[PL_SIGN_PK_BYTES], uint64_t seq,
                      const uint8_t id[PL_ID_BYTES])
{
    for (size_t i = 0; i < n; i++) {
        const pl_fork_resolution *r = &res[i];
        char hex[PL_ID_HEX + 1];
        pl_entry kept;
        pl_err ignore;
        if (memcmp(r->feed, feed, PL_SIGN_PK_BYTES) != 0 || seq < r->seq || seq > r->until_seq)
            continue;
        sodium_bin2hex(hex, sizeof hex, r->keep, PL_ID_BYTES);
        if (seq > r->seq || !memcmp(r->keep, id, PL_ID_BYTES) ||
            (vault_find(v, hex, &kept, &ignore) == PL_OK && kept.h.seq == seq &&
             !memcmp(kept.h.feed, feed, PL_SIGN_PK_BYTES)))
            return 1;
    }
    return 0;
}

pl_status org_fork_resolutions(pl_vault *v, const pl_org *o, pl_fork_resolution **out,
                               size_t *n, pl_err *err)
{
    resolutions_ctx r = {o, NULL, 0, 0, 0};
    pl_filter f = {.type = "fork.resolve"};
    pl_status st = vault_log(v, &f, collect_resolution, &r, err);
    if (st == PL_OK && r.nomem)
        st = pl_fail(err, PL_E_NOMEM, "out of memory");
    if (st != PL_OK) {
        free(r.list);
        r.list = NULL;
        r.n = 0;
    }
    *out = r.list;
    *n = r.n;
    return st;
}
