/* Import against forged bundles: the test holds the organisation's exchange key (derived as
 * formats/org.md says, independently of vault/exchange.c) and plays a member or outsider
 * who builds bundles by hand. Each must be refused with PL_E_INTEGRITY and leave the vault
 * as it was; forks are the one thing kept. */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "formats/bundle.h"
#include "tests/unit/check.h"
#include "tests/unit/vault_testing.h"
#include "vault/internal.h"

static const pl_kdf_params small_kdf = {8u * 1024u, 1u, 1u};
static char base[] = "/tmp/pl-test-exchange-XXXXXX";
static pl_secret *pass;

static pl_vault *make(const char *name)
{
    char dir[128], rec[PL_RECOVERY_LEN + 1];
    pl_err err;
    pl_vault *v = NULL;
    snprintf(dir, sizeof dir, "%s/%s", base, name);
    CHECK_EQ_INT(vault_init(dir, name, pass, &small_kdf, rec, NULL, &err), PL_OK);
    CHECK_EQ_INT(vault_open(dir, pass, &v, &err), PL_OK);
    return v;
}

/* The exchange key of org.md: BLAKE2b-256 keyed with the member key's secret half over
 * "peerlog/v1/exchange-key\0" || organisation id. */
static void exchange_of(pl_vault *c, const pl_org *o, uint8_t key[PL_KEY_BYTES])
{
    static const char dom[] = "peerlog/v1/exchange-key";
    uint8_t msg[sizeof dom + PL_ID_BYTES];
    int j = feed_held_index(c, o->member_pk);
    CHECK(j >= 0);
    memcpy(msg, dom, sizeof dom);
    memcpy(msg + sizeof dom, o->id, PL_ID_BYTES);
    crypto_generichash(key, PL_KEY_BYTES, msg, sizeof msg, c->sec->held_sk[j < 0 ? 0 : j],
                       PL_BOX_SK_BYTES);
}

static int64_t count_rows(pl_vault *v, const char *table)
{
    char sql[64];
    sqlite3_stmt *q = NULL;
    int64_t n = -1;
    snprintf(sql, sizeof sql, "SELECT count(*) FROM %s", table);
    if (sqlite3_prepare_v2(vault_db(v), sql, -1, &q, NULL) == SQLITE_OK &&
        sqlite3_step(q) == SQLITE_ROW)
        n = sqlite3_column_int64(q, 0);
    sqlite3_finalize(q);
    return n;
}

/* Adds m to c's organisation with roles, and lets m join by invitation and import. */
static void add_and_join(pl_vault *c, pl_vault *m, unsigned roles)
{
    pl_err err;
    pl_identity id;
    pl_entry e;
    pl_org *o = calloc(1, sizeof *o);
    uint8_t inv[PL_INVITE_BYTES], *b = NULL;
    size_t n = 0;
    pl_export_info xi;
    pl_import_report r;
    vault_identity(m, &id);
    CHECK_EQ_INT(vault_member_add(c, &id, roles, &e, &err), PL_OK);
    CHECK_EQ_INT(vault_org(c, o, &err), PL_OK);
    CHECK_EQ_INT(vault_invite(c, id.sign_pk, inv, &err), PL_OK);
    CHECK_EQ_INT(vault_join(m, inv, sizeof inv, o->fingerprint, &err), PL_OK);
    vault_identity(c, &id);
    CHECK_EQ_INT(vault_export(c, id.sign_pk, 1, 0, &b, &n, &xi, &err), PL_OK);
    CHECK_EQ_INT(vault_import(m, b, n, &r, &err), PL_OK);
    CHECK(r.keys_taken >= 1);            /* the role keys; the member key came with the */
    CHECK(vault_keys_held(m) >= 2);      /* invitation, held once the genesis confirmed it */
    free(b);
    free(o);
}

/* Decodes a bundle made by vault_export (the test's key), for tampering. */
static pl_bundle_entry *open_bundle(const uint8_t *b, size_t n, const uint8_t *key,
                                    pl_bundle_info *info, uint8_t **plain)
{
    pl_bundle_entry *list = NULL;
    CHECK_EQ_INT(fmt_bundle_decode(b, n, key, info, &list, plain), PL_FMT_OK);
    return list;
}

/* Imports a bundle re-encoded from entries, signed by exporter, and expects a refusal that
 * says want, with no change to the vault. */
static void expect_refused(pl_vault *v, const pl_bundle_info *info, const uint8_t *key,
                           const uint8_t *exporter_sk, const pl_bundle_entry *entries,
                           const char *want)
{
    uint8_t *b = NULL;
    size_t n = 0;
    pl_err err = {{0}};
    pl_import_report r;
    int64_t rows = count_rows(v, "entries"), held = count_rows(v, "held_keys");
    unsigned nheld = vault_keys_held(v);
    CHECK_EQ_INT(fmt_bundle_encode(info, key, exporter_sk, entries, &b, &n), PL_FMT_OK);
    CHECK_EQ_INT(vault_import(v, b, n, &r, &err), PL_E_INTEGRITY);
    if (!strstr(err.msg, want)) {
        fprintf(stderr, "refusal says \"%s\", wanted \"%s\"\n", err.msg, want);
        CHECK(0);
    }
    CHECK_EQ_INT(count_rows(v, "entries"), rows);
    CHECK_EQ_INT(count_rows(v, "held_keys"), held);
    CHECK_EQ_INT(vault_keys_held(v), nheld);
    free(b);
}

/* Appends a low-level entry of type with a small body. */
static void raw_append(pl_vault *v, const char *type, const uint8_t (*refs)[PL_ID_BYTES],
                       uint8_t nrefs, pl_entry *out)
{
    pl_err err;
    static const uint8_t body[] = "{}";
    pl_append_req req = {.type = type, .refs = refs, .nrefs = nrefs, .meta = "",
                         .body = body, .body_len = 2};
    CHECK_EQ_INT(vault_append(v, &req, out, &err), PL_OK);
}

/* Exports v's own feed from since and decodes it with key. */
static pl_bundle_entry *own_entries(pl_vault *v, uint64_t since, const uint8_t *key,
                                    pl_bundle_info *info, uint8_t **plain, uint8_t **raw)
{
    pl_err err;
    pl_identity id;
    size_t n = 0;
    pl_export_info xi;
    vault_identity(v, &id);
    CHECK_EQ_INT(vault_export(v, id.sign_pk, since, 0, raw, &n, &xi, &err), PL_OK);
    return open_bundle(*raw, n, key, info, plain);
}

int main(void)
{
    pl_err err;
    if (sodium_init() < 0 || !mkdtemp(base))
        return 1;
    pl_json_use_wiping_allocator();
    pass = secret_of("exchange test passphrase");
    pl_vault *c = make("coord"), *a = make("guideA"), *b = make("guideB"), *x = make("outsider");
    pl_org *o = calloc(1, sizeof *o);
    CHECK_EQ_INT(vault_org_init(c, "Exchange test", NULL, NULL, o, &err), PL_OK);
    add_and_join(c, a, 1u << 1);
    add_and_join(c, b, 1u << 1);
    uint8_t key[PL_KEY_BYTES];
    exchange_of(c, o, key);
    pl_identity cid, aid, bid, xid;
    vault_identity(c, &cid);
    vault_identity(a, &aid);
    vault_identity(b, &bid);
    vault_identity(x, &xid);

    /* A guide's ordinary entry imports; the same bundle again adds nothing. */
    pl_entry e1, e2;
    raw_append(a, "note", NULL, 0, &e1);
    uint8_t *raw = NULL, *plain = NULL;
    size_t rawn = 0;
    pl_export_info xi;
    pl_import_report r;
    CHECK_EQ_INT(vault_export(a, aid.sign_pk, 1, 0, &raw, &rawn, &xi, &err), PL_OK);
    CHECK_EQ_INT(vault_import(c, raw, rawn, &r, &err), PL_OK);
    CHECK_EQ_INT(r.added, 1);
    CHECK_EQ_INT(vault_import(c, raw, rawn, &r, &err), PL_OK);
    CHECK_EQ_INT(r.added, 0);
    CHECK_EQ_INT(r.known, 1);
    pl_bundle_info info;
    pl_bundle_entry *list = open_bundle(raw, rawn, key, &info, &plain);

    /* Exported by a device that is not a member (it holds the key, not a membership). */
    uint8_t spk[PL_SIGN_PK_BYTES], ssk[PL_SIGN_SK_BYTES];
    crypto_sign_keypair(spk, ssk);
    pl_bundle_info forged = info;
    memcpy(forged.exporter, spk, sizeof spk);
    raw_append(a, "note", NULL, 0, &e2);
    free(raw);
    free(list);
    free(plain);
    list = own_entries(a, 2, key, &info, &plain, &raw);
    forged = info;
    memcpy(forged.exporter, spk, sizeof spk);
    expect_refused(c, &forged, key, ssk, list, "not a member");
    /* A wrong exchange key epoch. */
    forged = info;
    forged.epoch = 2;
    expect_refused(c, &forged, key, a->sec->sign_sk, list, "epoch 2");
    /* The body left out. */
    list[0].body = NULL;
    expect_refused(c, &info, key, a->sec->sign_sk, list, "without its body");
    free(raw);
    free(list);
    free(plain);
    /* The genuine entry 2 then imports. */
    CHECK_EQ_INT(vault_export(a, aid.sign_pk, 2, 1, &raw, &rawn, &xi, &err), PL_OK);
    CHECK_EQ_INT(vault_import(c, raw, rawn, &r, &err), PL_OK);
    CHECK_EQ_INT(r.added, 1);
    free(raw);

    /* Written by someone who was never added, relayed by a member. */
    pl_entry xe;
    raw_append(x, "note", NULL, 0, &xe);
    CHECK_EQ_INT(vault_export(x, xid.sign_pk, 1, 0, &raw, &rawn, &xi, &err), PL_E_INVALID);
    {
        uint8_t hdr[PL_HEADER_MAX], wraps[PL_WRAP_BYTES];
        size_t hl = 0;
        sqlite3_stmt *q = NULL;
        CHECK_EQ_INT(sqlite3_prepare_v2(vault_db(x), "SELECT header, sig, wraps, body FROM "
                                                     "entries", -1, &q, NULL), SQLITE_OK);
        CHECK_EQ_INT(sqlite3_step(q), SQLITE_ROW);
        hl = (size_t)sqlite3_column_bytes(q, 0);
        memcpy(hdr, sqlite3_column_blob(q, 0), hl);
        memcpy(wraps, sqlite3_column_blob(q, 2), sizeof wraps);
        pl_bundle_entry xb = {hdr, hl, sqlite3_column_blob(q, 1), wraps, sizeof wraps,
                              sqlite3_column_blob(q, 3), (size_t)sqlite3_column_bytes(q, 3)};
        pl_bundle_info xinfo = {.epoch = 1, .count = 1};
        memcpy(xinfo.org, o->id, PL_ID_BYTES);
        memcpy(xinfo.exporter, aid.sign_pk, PL_SIGN_PK_BYTES);
        expect_refused(c, &xinfo, key, a->sec->sign_sk, &xb, "not a member");
        /* The same entry, its signature broken. */
        uint8_t sig[PL_SIG_BYTES];
        memcpy(sig, xb.sig, sizeof sig);
        sig[5] ^= 1;
        xb.sig = sig;
        expect_refused(c, &xinfo, key, a->sec->sign_sk, &xb, "signature");
        sqlite3_finalize(q);
    }

    /* A guide writing what only coordinators or supervisors write. */
    pl_entry ge;
    raw_append(a, "member.add", NULL, 0, &ge);
    list = own_entries(a, 3, key, &info, &plain, &raw);
    expect_refused(c, &info, key, a->sec->sign_sk, list, "may not write 'member.add'");
    free(raw);
    free(list);
    free(plain);
    /* The refused entry stays in A's own vault; A's later entries cannot pass without it.
     * Guide B instead: a supervision record. */
    raw_append(b, "supervision", NULL, 0, &ge);
    list = own_entries(b, 1, key, &info, &plain, &raw);
    expect_refused(c, &info, key, b->sec->sign_sk, list, "may not write 'supervision'");
    free(raw);
    free(list);
    free(plain);

    /* A correction of another member's entry. */
    pl_vault *b2 = make("guideB2");
    add_and_join(c, b2, 1u << 1);
    pl_identity b2id;
    vault_identity(b2, &b2id);
    CHECK_EQ_INT(vault_export(a, aid.sign_pk, 1, 2, &raw, &rawn, &xi, &err), PL_OK);
    CHECK_EQ_INT(vault_import(b2, raw, rawn, &r, &err), PL_OK);
    free(raw);
    const uint8_t(*ref)[PL_ID_BYTES] = (const uint8_t(*)[PL_ID_BYTES])e1.id;
    raw_append(b2, "amend", ref, 1, &ge);
    list = own_entries(b2, 1, key, &info, &plain, &raw);
    expect_refused(c, &info, key, b2->sec->sign_sk, list, "not their own");
    free(raw);
    free(list);
    free(plain);

    /* An entry whose author box key is not the member's: re-signed by the member. */
    pl_vault *b3 = make("guideB3");
    add_and_join(c, b3, 1u << 1);
    raw_append(b3, "note", NULL, 0, &ge);
    list = own_entries(b3, 1, key, &info, &plain, &raw);
    {
        pl_header *h = malloc(sizeof *h);
        uint8_t hdr[PL_HEADER_MAX], id[PL_ID_BYTES], sig[PL_SIG_BYTES];
        size_t hl = 0;
        CHECK_EQ_INT(fmt_header_decode(list[0].header, list[0].header_len, h), PL_FMT_OK);
        h->box_pk[0] ^= 1;
        CHECK_EQ_INT(fmt_header_encode(h, hdr, sizeof hdr, &hl), PL_FMT_OK);
        fmt_entry_id(hdr, hl, id);
        fmt_entry_sign(id, b3->sec->sign_sk, sig);
        list[0].header = hdr;
        list[0].header_len = hl;
        list[0].sig = sig;
        expect_refused(c, &info, key, b3->sec->sign_sk, list, "does not know");
        free(h);
    }
    free(raw);
    free(list);
    free(plain);

    /* A correction that says it corrects another type, or names another citizen, than its
     * original (an erasure judges corrections by them): refused. */
    {
        static const char *const subjects[] = {"", "B-7K3Q-9F2M"};
        for (int k = 0; k < 2; k++) {
            pl_vault *b4 = make(k ? "guideB4b" : "guideB4a");
            pl_entry note, bad;
            static const uint8_t body[] = "{}";
            add_and_join(c, b4, 1u << 1);
            raw_append(b4, "note", NULL, 0, &note);
            pl_append_req req = {.type = "amend", .subject = subjects[k],
                                 .refs = (const uint8_t(*)[PL_ID_BYTES])note.id, .nrefs = 1,
                                 .meta = k ? "of=note\n" : "of=session\n", .body = body,
                                 .body_len = 2};
            CHECK_EQ_INT(vault_append(b4, &req, &bad, &err), PL_OK);
            list = own_entries(b4, 1, key, &info, &plain, &raw);
            expect_refused(c, &info, key, b4->sec->sign_sk, list, "names another type or citizen");
            free(raw);
            free(list);
            free(plain);
            vault_close(b4);
        }
    }

    /* Another organisation's genesis, carried under this organisation's key. */
    pl_vault *other = make("other");
    pl_org *oo = calloc(1, sizeof *oo);
    CHECK_EQ_INT(vault_org_init(other, "Other", NULL, NULL, oo, &err), PL_OK);
    uint8_t okey[PL_KEY_BYTES];
    exchange_of(other, oo, okey);
    list = own_entries(other, 1, okey, &info, &plain, &raw);
    memcpy(info.org, o->id, PL_ID_BYTES);
    info.count = 1;
    expect_refused(c, &info, key, other->sec->sign_sk, list, "genesis of another");
    free(raw);
    free(list);
    free(plain);

    /* A reordered run: two of A's entries swapped, re-signed by the exporter. */
    list = own_entries(a, 1, key, &info, &plain, &raw);
    CHECK(info.count >= 2);
    pl_bundle_entry t = list[0];
    list[0] = list[1];
    list[1] = t;
    expect_refused(b, &info, key, a->sec->sign_sk, list, "not one linked run");
    free(raw);
    free(list);
    free(plain);

    /* A fork: a copy of A's vault (a restored backup) writes a different entry 2. Both are
     * kept in the importing vault, and verify fails until it is resolved. */
    {
        char src[160], dst[160], cmd[400];
        snprintf(src, sizeof src, "%s/guideF", base);
        pl_vault *f = make("guideF");
        add_and_join(c, f, 1u << 1);
        pl_identity fid;
        vault_identity(f, &fid);
        pl_entry f1, f2, f2b;
        raw_append(f, "note", NULL, 0, &f1);
        vault_close(f);
        snprintf(dst, sizeof dst, "%s/guideF-restored", base);
        snprintf(cmd, sizeof cmd, "cp -a '%s' '%s'", src, dst);
        CHECK_EQ_INT(system(cmd), 0);
        pl_vault *f_a = NULL, *f_b = NULL;
        CHECK_EQ_INT(vault_open(src, pass, &f_a, &err), PL_OK);
        CHECK_EQ_INT(vault_open(dst, pass, &f_b, &err), PL_OK);
        raw_append(f_a, "note", NULL, 0, &f2);
        raw_append(f_b, "note", NULL, 0, &f2b);
        CHECK(memcmp(f2.id, f2b.id, PL_ID_BYTES) != 0);
        CHECK_EQ_INT(vault_export(f_a, fid.sign_pk, 1, 0, &raw, &rawn, &xi, &err), PL_OK);
        CHECK_EQ_INT(vault_import(c, raw, rawn, &r, &err), PL_OK);
        free(raw);
        CHECK_EQ_INT(vault_export(f_b, fid.sign_pk, 2, 0, &raw, &rawn, &xi, &err), PL_OK);
        CHECK_EQ_INT(vault_import(c, raw, rawn, &r, &err), PL_OK);
        CHECK_EQ_INT(r.added, 1);
        CHECK_EQ_INT(r.forks, 1);
        CHECK(strstr(r.fork, "two different entries 2") != NULL);
        CHECK_EQ_INT(vault_import(c, raw, rawn, &r, &err), PL_OK);
        CHECK_EQ_INT(r.added, 0);
        free(raw);
        pl_verify_report *rep = malloc(sizeof *rep);
        CHECK_EQ_INT(vault_verify(c, 1, rep, &err), PL_E_INTEGRITY);
        int saw_fork = 0;
        for (size_t i = 0; i < rep->nproblems && i < PL_VERIFY_MAX_PROBLEMS; i++)
            saw_fork |= strstr(rep->problem[i].what, "a fork") != NULL;
        CHECK(saw_fork);
        free(rep);
        vault_close(f_a);
        vault_close(f_b);
    }

    /* A removal: the leaver's entry after the cut is refused by a vault that knows of the
     * removal, and kept but not counted by one that had it before the removal arrived. */
    {
        pl_vault *w1 = make("witness1"), *w2 = make("witness2"), *lv = make("leaver");
        add_and_join(c, w1, 1u << 2);
        add_and_join(c, w2, 1u << 2);
        add_and_join(c, lv, 1u << 1);
        pl_identity lid;
        pl_entry l1, l2, rm;
        vault_identity(lv, &lid);
        raw_append(lv, "note", NULL, 0, &l1);
        /* w1 learns of the leaver's membership (the coordinator's feed so far). */
        CHECK_EQ_INT(vault_export(c, cid.sign_pk, 1, 0, &raw, &rawn, &xi, &err), PL_OK);
        CHECK_EQ_INT(vault_import(w1, raw, rawn, &r, &err), PL_OK);
        free(raw);
        CHECK_EQ_INT(vault_export(lv, lid.sign_pk, 1, 0, &raw, &rawn, &xi, &err), PL_OK);
        CHECK_EQ_INT(vault_import(c, raw, rawn, &r, &err), PL_OK);
        free(raw);
        CHECK_EQ_INT(vault_member_remove(c, lid.sign_pk, "left", &rm, &err), PL_OK);
        CHECK_EQ_INT(vault_member_remove(c, lid.sign_pk, "again", &rm, &err), PL_E_EXISTS);
        CHECK_EQ_INT(vault_member_remove(a, lid.sign_pk, "not mine", &rm, &err), PL_E_ACCESS);
        raw_append(lv, "note", NULL, 0, &l2); /* after the cut, unaware of it */
        uint8_t *lb = NULL, *cb = NULL;
        size_t lbn = 0, cbn = 0;
        CHECK_EQ_INT(vault_export(lv, lid.sign_pk, 1, 0, &lb, &lbn, &xi, &err), PL_OK);
        CHECK_EQ_INT(vault_export(c, cid.sign_pk, 1, 0, &cb, &cbn, &xi, &err), PL_OK);
        /* w1: the leaver's entries first, then the removal. */
        CHECK_EQ_INT(vault_import(w1, lb, lbn, &r, &err), PL_OK);
        CHECK_EQ_INT(r.added, 2);
        CHECK_EQ_INT(vault_import(w1, cb, cbn, &r, &err), PL_OK);
        pl_verify_report *vr = malloc(sizeof *vr);
        CHECK_EQ_INT(vault_verify(w1, 1, vr, &err), PL_OK);
        CHECK_EQ_INT(vr->not_counted, 1);
        /* w2: the removal first; the entry after the cut is refused, the one before kept. */
        CHECK_EQ_INT(vault_import(w2, cb, cbn, &r, &err), PL_OK);
        CHECK_EQ_INT(vault_import(w2, lb, lbn, &r, &err), PL_OK);
        CHECK_EQ_INT(r.added, 1);
        CHECK_EQ_INT(r.cut, 1);
        CHECK_EQ_INT(vault_verify(w2, 1, vr, &err), PL_OK);
        CHECK_EQ_INT(vr->not_counted, 0);
        /* The remaining supervisors hold the rotated member key; the leaver never gets it. */
        pl_org *ro = calloc(1, sizeof *ro);
        pl_org_key tmp;
        CHECK_EQ_INT(vault_org(w2, ro, &err), PL_OK);
        const pl_org_key *cur = pl_org_current_key(ro, "member", &tmp);
        CHECK(cur && cur->epoch == 2);
        CHECK(cur && feed_held_index(w2, cur->pk) >= 0);
        CHECK_EQ_INT(vault_import(lv, cb, cbn, &r, &err), PL_OK);
        CHECK(cur && feed_held_index(lv, cur->pk) < 0);
        free(ro);
        free(vr);
        free(lb);
        free(cb);
        vault_close(w1);
        vault_close(w2);
        vault_close(lv);
    }

    /* Consent across feeds: a grant written on a laptop whose clock runs 30 days fast does
     * not outlive the coordinator's later withdrawal of it. */
    {
        uint8_t rnd[PL_PSEUDONYM_RANDOM_BYTES];
        char subj[PL_PSEUDONYM_LEN + 1];
        randombytes_buf(rnd, sizeof rnd);
        fmt_pseudonym_make(rnd, subj);
        static const uint8_t gbody[] = "{}";
        pl_append_req req = {.type = "consent.grant", .subject = subj,
                             .meta = "date=2026-01-01\nmethod=written\n"
                                     "scopes=peer-support,record-keeping\n",
                             .body = gbody, .body_len = 2,
                             .time_ms = (int64_t)time(NULL) * 1000 + 30LL * 86400 * 1000};
        pl_entry g, w;
        pl_vault *gc = make("guideC");
        pl_identity gcid;
        add_and_join(c, gc, 1u << 1);
        vault_identity(gc, &gcid);
        CHECK_EQ_INT(vault_append(gc, &req, &g, &err), PL_OK);
        CHECK_EQ_INT(vault_export(gc, gcid.sign_pk, 1, 0, &raw, &rawn, &xi, &err), PL_OK);
        CHECK_EQ_INT(vault_import(c, raw, rawn, &r, &err), PL_OK);
        vault_close(gc);
        free(raw);
        CHECK_EQ_INT(vault_consent_check(c, subj, PL_SCOPE_SESSION, "2026-02-01", &err), PL_OK);
        CHECK_EQ_INT(vault_consent_withdraw(c, subj, PL_SCOPE_PEER_SUPPORT, "2026-02-02",
                                            "asked to stop", &w, &err),
                     PL_OK);
        CHECK(w.h.time_ms < g.h.time_ms);
        CHECK_EQ_INT(vault_consent_check(c, subj, PL_SCOPE_SESSION, "2026-02-03", &err),
                     PL_E_CONSENT);
        CHECK(strstr(err.msg, "withdrew") != NULL);
    }

    /* The guides' vaults verify: membership is a view over the organisation's entries. */
    pl_verify_report *rep = malloc(sizeof *rep);
    CHECK_EQ_INT(vault_verify(b3, 1, rep, &err), PL_OK);
    CHECK_EQ_INT(rep->feeds, 2);
    /* and an entry that does not count is a problem even in its author's own vault. */
    CHECK_EQ_INT(vault_verify(b2, 1, rep, &err), PL_E_INTEGRITY);
    CHECK(rep->nproblems == 1 && strstr(rep->problem[0].what, "not their own"));
    free(rep);

    free(o);
    free(oo);
    vault_close(c);
    vault_close(a);
    vault_close(b);
    vault_close(b2);
    vault_close(b3);
    vault_close(x);
    vault_close(other);
    pl_secret_free(pass);
    char cmd[160];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", base);
    if (system(cmd) != 0)
        return 1;
    return check_done("test_exchange");
}
