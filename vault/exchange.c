/* Exchange between devices (formats/bundle.md): the exchange key, export, import,
 * invitations and joining. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "formats/bundle.h"
#include "formats/invite.h"
#include "vault/internal.h"

#define PL_DOM_EXCHANGE "peerlog/v1/exchange-key"
#define EXCHANGE_EPOCH  1u /* the member key's epoch; rotation comes with member removal */

pl_status org_invitation(pl_vault *v, uint8_t *out, pl_err *err)
{
    sqlite3_stmt *q = NULL;
    int rc = sqlite3_prepare_v2(v->db, "SELECT v FROM vault_meta WHERE k = 'invite'", -1, &q,
                                NULL);
    if (rc != SQLITE_OK)
        return store_fail(v->db, rc, "reading the invitation", err);
    pl_status st = PL_OK;
    rc = sqlite3_step(q);
    if (rc == SQLITE_DONE)
        st = pl_fail(err, PL_E_NOTFOUND, "this vault has no invitation");
    else if (rc != SQLITE_ROW)
        st = store_fail(v->db, rc, "reading the invitation", err);
    else if (sqlite3_column_bytes(q, 0) != PL_INVITE_BYTES)
        st = pl_fail(err, PL_E_INTEGRITY, "the invitation kept in vault.db is damaged");
    else if (out)
        memcpy(out, sqlite3_column_blob(q, 0), PL_INVITE_BYTES);
    sqlite3_finalize(q);
    return st;
}

static void derive_exchange(const uint8_t member_sk[PL_BOX_SK_BYTES],
                            const uint8_t org[PL_ID_BYTES], uint8_t key[PL_KEY_BYTES])
{
    crypto_generichash_state hs;
    crypto_generichash_init(&hs, member_sk, PL_BOX_SK_BYTES, PL_KEY_BYTES);
    crypto_generichash_update(&hs, (const uint8_t *)PL_DOM_EXCHANGE, sizeof PL_DOM_EXCHANGE);
    crypto_generichash_update(&hs, org, PL_ID_BYTES);
    crypto_generichash_final(&hs, key, PL_KEY_BYTES);
    sodium_memzero(&hs, sizeof hs);
}

/* Puts the exchange key of epoch into v->sec->exchange: derived from the member key when
 * this vault holds it, else taken from the invitation it joined with. known: the
 * organisation as the caller has read it already (NULL: read it here; not readable yet is
 * fine). */
static pl_status exchange_key(pl_vault *v, const uint8_t org[PL_ID_BYTES], uint32_t epoch,
                              const pl_org *known, pl_err *err)
{
    if (epoch != EXCHANGE_EPOCH)
        return pl_fail(err, PL_E_INTEGRITY, "the bundle is encrypted with exchange key epoch "
                                            "%u, which this vault does not hold", epoch);
    int j = -1;
    if (known) {
        j = feed_held_index(v, known->member_pk);
    } else {
        pl_org *o = calloc(1, sizeof *o);
        pl_err ignore;
        if (!o)
            return pl_fail(err, PL_E_NOMEM, "out of memory");
        if (vault_org(v, o, &ignore) == PL_OK)
            j = feed_held_index(v, o->member_pk);
        free(o);
    }
    if (j >= 0) {
        derive_exchange(v->sec->held_sk[j], org, v->sec->exchange);
        return PL_OK;
    }
    uint8_t inv[PL_INVITE_BYTES];
    pl_invite_info info;
    pl_status st = org_invitation(v, inv, err);
    if (st == PL_E_NOTFOUND)
        return pl_fail(err, PL_E_ACCESS, "this vault holds no key for the organisation's "
                                         "bundles yet");
    if (st != PL_OK)
        return st;
    /* The member key from the invitation (the genesis has not arrived to confirm it). */
    uint8_t *sk = v->sec->invited_sk;
    pl_fmt_status fs = fmt_invite_open(inv, sizeof inv, v->id.box_pk, v->sec->box_sk, &info, sk);
    if (fs == PL_FMT_OK && sodium_memcmp(info.org, org, PL_ID_BYTES) == 0 && info.epoch == epoch)
        derive_exchange(sk, org, v->sec->exchange);
    sodium_memzero(sk, PL_BOX_SK_BYTES);
    if (fs != PL_FMT_OK || sodium_memcmp(info.org, org, PL_ID_BYTES) != 0 || info.epoch != epoch)
        return pl_fail(err, PL_E_INTEGRITY, "the invitation kept in vault.db does not open");
    return PL_OK;
}

/* Once the genesis is here: holds the member key the invitation carried, if it is the one
 * the genesis announces (an invitation anyone could have sealed proves nothing before). */
static pl_status hold_invited_key(pl_vault *v, const pl_org *o, int *held, pl_err *err)
{
    uint8_t inv[PL_INVITE_BYTES], pk[PL_BOX_PK_BYTES];
    pl_invite_info info;
    *held = 0;
    if (feed_held_index(v, o->member_pk) >= 0 || org_invitation(v, inv, NULL) != PL_OK)
        return PL_OK;
    uint8_t *sk = v->sec->invited_sk;
    pl_status st = PL_OK;
    if (fmt_invite_open(inv, sizeof inv, v->id.box_pk, v->sec->box_sk, &info, sk) ==
            PL_FMT_OK &&
        sodium_memcmp(info.org, o->id, PL_ID_BYTES) == 0 &&
        crypto_scalarmult_base(pk, sk) == 0 &&
        sodium_memcmp(pk, o->member_pk, PL_BOX_PK_BYTES) == 0) {
        st = vault_key_hold(v, pk, sk, "member/1", err);
        *held = st == PL_OK;
    }
    sodium_memzero(sk, PL_BOX_SK_BYTES);
    return st;
}

/* ---- export ------------------------------------------------------------------------- */

typedef struct {
    uint8_t *buf; /* header, sig, wraps, body, one allocation */
    pl_bundle_entry e;
} owned_entry;

static void free_owned(owned_entry *list, size_t n)
{
    for (size_t i = 0; list && i < n; i++)
        free(list[i].buf);
    free(list);
}

pl_status vault_export(pl_vault *v, const uint8_t feed[PL_SIGN_PK_BYTES], uint64_t since,
                       uint32_t max_entries, uint8_t **out, size_t *len, pl_export_info *xi,
                       pl_err *err)
{
    uint8_t org[PL_ID_BYTES];
    pl_status st;
    *out = NULL;
    *len = 0;
    memset(xi, 0, sizeof *xi);
    if (max_entries == 0 || max_entries > PL_BUNDLE_MAX_ENTRIES)
        max_entries = PL_BUNDLE_MAX_ENTRIES;
    if (since == 0)
        since = 1;
    if ((st = org_id(v, org, err)) != PL_OK)
        return st == PL_E_NOTFOUND ? pl_fail(err, PL_E_INVALID, "only a vault that belongs to "
                                                                "an organisation exports "
                                                                "bundles")
                                   : st;
    /* One branch: where a feed forked, the entry that arrived first. */
    sqlite3_stmt *q = NULL;
    int rc = sqlite3_prepare_v2(
        v->db,
        "SELECT seq, header, sig, wraps, body FROM entries e WHERE feed = ?1 AND seq >= ?2"
        " AND n = (SELECT min(n) FROM entries f WHERE f.feed = ?1 AND f.seq = e.seq)"
        " ORDER BY seq LIMIT ?3",
        -1, &q, NULL);
    if (rc != SQLITE_OK)
        return store_fail(v->db, rc, "reading the feed", err);
    sqlite3_bind_blob(q, 1, feed, PL_SIGN_PK_BYTES, SQLITE_STATIC);
    sqlite3_bind_int64(q, 2, (sqlite3_int64)since);
    sqlite3_bind_int64(q, 3, max_entries);
    owned_entry *list = calloc(max_entries < 1024 ? max_entries : 1024, sizeof *list);
    size_t cap = max_entries < 1024 ? max_entries : 1024, n = 0;
    /* Room for the preamble and the signature message; each record adds its frame. */
    size_t total = PL_BUNDLE_PREAMBLE + 4u + PL_SIG_BYTES + PL_BUNDLE_SS_ABYTES;
    uint64_t want = since;
    pl_header *h = malloc(sizeof *h);
    if (!list || !h) {
        st = pl_fail(err, PL_E_NOMEM, "out of memory");
        goto out;
    }
    while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
        uint64_t seq = (uint64_t)sqlite3_column_int64(q, 0);
        size_t hl = (size_t)sqlite3_column_bytes(q, 1), wl = (size_t)sqlite3_column_bytes(q, 3),
               bl = (size_t)sqlite3_column_bytes(q, 4);
        int erased = sqlite3_column_type(q, 4) == SQLITE_NULL;
        if (seq != want)
            break; /* a gap in what this vault holds: the bundle stops before it */
        if (hl == 0 || hl > PL_HEADER_MAX || sqlite3_column_bytes(q, 2) != PL_SIG_BYTES ||
            fmt_header_decode(sqlite3_column_blob(q, 1), hl, h) != PL_FMT_OK ||
            wl != (size_t)h->nrcpt * PL_WRAP_BYTES || (!erased && bl != h->body_len)) {
            st = pl_fail(err, PL_E_INTEGRITY, "entry %llu of the feed is damaged; run 'peerlog "
                                              "verify'", (unsigned long long)seq);
            goto out;
        }
        size_t rec = 4u + 2u + hl + PL_SIG_BYTES + 1u + wl + (erased ? 0 : bl) +
                     PL_BUNDLE_SS_ABYTES;
        if (total + rec > PL_BUNDLE_MAX_BYTES)
            break; /* the next bundle carries the rest */
        if (n == cap) {
            size_t ncap = cap * 2 < max_entries ? cap * 2 : max_entries;
            owned_entry *grown = realloc(list, ncap * sizeof *list);
            if (!grown) {
                st = pl_fail(err, PL_E_NOMEM, "out of memory");
                goto out;
            }
            memset(grown + cap, 0, (ncap - cap) * sizeof *grown);
            list = grown;
            cap = ncap;
        }
        owned_entry *o = &list[n];
        o->buf = malloc(hl + PL_SIG_BYTES + wl + (erased ? 0 : bl) + 1);
        if (!o->buf) {
            st = pl_fail(err, PL_E_NOMEM, "out of memory");
            goto out;
        }
        uint8_t *p = o->buf;
        memcpy(p, sqlite3_column_blob(q, 1), hl);
        o->e.header = p;
        o->e.header_len = hl;
        p += hl;
        memcpy(p, sqlite3_column_blob(q, 2), PL_SIG_BYTES);
        o->e.sig = p;
        p += PL_SIG_BYTES;
        if (wl)
            memcpy(p, sqlite3_column_blob(q, 3), wl);
        o->e.wraps = p;
        o->e.wraps_len = wl;
        p += wl;
        if (!erased && bl)
            memcpy(p, sqlite3_column_blob(q, 4), bl);
        o->e.body = erased ? NULL : p;
        o->e.body_len = h->body_len;
        fmt_entry_id(o->e.header, hl, xi->last_id);
        total += rec;
        n++;
        want++;
    }
    if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
        st = store_fail(v->db, rc, "reading the feed", err);
        goto out;
    }
    if (n == 0) {
        st = pl_fail(err, PL_E_NOTFOUND, "the feed has no entries from %llu on",
                     (unsigned long long)since);
        goto out;
    }
    if ((st = exchange_key(v, org, EXCHANGE_EPOCH, NULL, err)) != PL_OK)
        goto out;
    pl_bundle_entry *entries = malloc(n * sizeof *entries);
    if (!entries) {
        st = pl_fail(err, PL_E_NOMEM, "out of memory");
        goto out;
    }
    for (size_t i = 0; i < n; i++)
        entries[i] = list[i].e;
    pl_bundle_info info;
    memcpy(info.org, org, PL_ID_BYTES);
    memcpy(info.exporter, v->id.sign_pk, PL_SIGN_PK_BYTES);
    info.epoch = EXCHANGE_EPOCH;
    info.count = (uint32_t)n;
    pl_fmt_status fs = fmt_bundle_encode(&info, v->sec->exchange, v->sec->sign_sk, entries, out,
                                         len);
    sodium_memzero(v->sec->exchange, PL_KEY_BYTES);
    free(entries);
    if (fs != PL_FMT_OK) {
        st = pl_fail(err, PL_E_INTEGRITY, "cannot make the bundle: %s", fmt_status_str(fs));
        goto out;
    }
    xi->first = since;
    xi->last = since + n - 1;
    xi->count = (uint32_t)n;
out:
    sqlite3_finalize(q);
    free(h);
    free_owned(list, cap); /* slots past n are zeroed or hold a partly filled entry */
    return st;
}

/* ---- import ------------------------------------------------------------------------- */

enum { ENTRY_NEW = 0, ENTRY_KNOWN, ENTRY_FORK, ENTRY_CUT };
/* Feeds one bundle may carry: exporters write one; the check of each feed appearing once is
 * quadratic in this. */
#define BUNDLE_MAX_FEEDS 64u

/* What the check of one entry on its own found. */
enum { CHECK_OK = 0, CHECK_HEADER, CHECK_SIG, CHECK_BODY, CHECK_GENESIS };

typedef struct {
    uint8_t id[PL_ID_BYTES];
    uint8_t feed[PL_SIGN_PK_BYTES];
    uint8_t prev[PL_ID_BYTES];
    uint64_t seq;
    int is_genesis;
    int no_body;   /* carried without its body: an erasure must cover it */
    int check;     /* CHECK_* */
    int run_start; /* first entry of its feed in the bundle */
    int state;
} import_item;

/* Checks entries [from, to) each on its own: header, id, signature, body hash. These are
 * independent of one another, so two threads share the work (the signatures dominate). */
typedef struct {
    const pl_bundle_entry *list;
    import_item *items;
    uint32_t from, to;
    const uint8_t *org;
} check_job;

static void *check_range(void *arg)
{
    check_job *j = arg;
    uint8_t hash[PL_HASH_BYTES];
    pl_header *h = malloc(sizeof *h);
    for (uint32_t i = j->from; i < j->to; i++) {
        const pl_bundle_entry *e = &j->list[i];
        import_item *it = &j->items[i];
        if (!h || fmt_header_decode(e->header, e->header_len, h) != PL_FMT_OK) {
            it->check = CHECK_HEADER;
            continue;
        }
        fmt_entry_id(e->header, e->header_len, it->id);
        memcpy(it->feed, h->feed, PL_SIGN_PK_BYTES);
        memcpy(it->prev, h->prev, PL_ID_BYTES);
        it->seq = h->seq;
        it->is_genesis = !strcmp(h->type, "org.genesis");
        if (fmt_entry_verify(it->id, e->sig, h->feed) != 0) {
            it->check = CHECK_SIG;
        } else if (!e->body) {
            it->no_body = 1; /* erased: accepted once an erasure is seen to cover it */
        } else {
            fmt_body_hash(e->body, e->body_len, hash);
            if (sodium_memcmp(hash, h->body_hash, PL_HASH_BYTES) != 0)
                it->check = CHECK_BODY;
            else if (it->is_genesis && sodium_memcmp(it->id, j->org, PL_ID_BYTES) != 0)
                it->check = CHECK_GENESIS;
        }
    }
    free(h);
    return NULL;
}

/* Below this many entries a second thread costs more than it saves. */
#define CHECK_THREAD_MIN 64u

static void check_all(const uint8_t *org, const pl_bundle_entry *list, import_item *items,
                      uint32_t n)
{
    check_job a = {list, items, 0, n, org}, b = a;
    pthread_t t;
    if (n >= CHECK_THREAD_MIN) {
        a.to = b.from = n / 2;
        if (pthread_create(&t, NULL, check_range, &b) == 0) {
            check_range(&a);
            pthread_join(t, NULL);
            return;
        }
        a.to = n; /* no thread to be had: all of it here */
    }
    check_range(&a);
}

static void short_feed(const uint8_t feed[PL_SIGN_PK_BYTES], char out[17])
{
    char hex[2 * PL_SIGN_PK_BYTES + 1];
    sodium_bin2hex(hex, sizeof hex, feed, PL_SIGN_PK_BYTES);
    snprintf(out, 17, "%.16s", hex);
}

/* Everything that can be checked without the vault: every id, signature and body hash,
 * and each feed's run of entries linked and in order. The first problem in bundle order is
 * the one reported. */
static pl_status check_bundle(const uint8_t org[PL_ID_BYTES], const pl_bundle_info *info,
                              const pl_bundle_entry *list, import_item *items, pl_err *err)
{
    char fs[17];
    unsigned runs = 0;
    check_all(org, list, items, info->count);
    for (uint32_t i = 0; i < info->count; i++) {
        import_item *it = &items[i];
        unsigned long long seq = (unsigned long long)it->seq;
        short_feed(it->feed, fs);
        switch (it->check) {
        case CHECK_HEADER:
            return pl_fail(err, PL_E_INTEGRITY, "entry %u of the bundle has a damaged header",
                           i + 1);
        case CHECK_SIG:
            return pl_fail(err, PL_E_INTEGRITY, "the signature of entry %llu of feed %s… does "
                                                "not verify: the bundle was altered", seq, fs);
        case CHECK_BODY:
            return pl_fail(err, PL_E_INTEGRITY, "the body of entry %llu of feed %s… does not "
                                                "match its header", seq, fs);
        case CHECK_GENESIS:
            return pl_fail(err, PL_E_INTEGRITY, "the bundle carries the genesis of another "
                                                "organisation");
        default:
            break;
        }
        it->run_start = i == 0 || sodium_memcmp(items[i - 1].feed, it->feed,
                                                PL_SIGN_PK_BYTES) != 0;
        if (it->run_start && ++runs > BUNDLE_MAX_FEEDS)
            return pl_fail(err, PL_E_INTEGRITY, "the bundle holds entries of more than %u "
                                                "feeds: refused", BUNDLE_MAX_FEEDS);
        if (it->run_start) {
            /* Each feed once, as one run. */
            for (uint32_t k = 0; k < i; k++)
                if (items[k].run_start &&
                    sodium_memcmp(items[k].feed, it->feed, PL_SIGN_PK_BYTES) == 0)
                    return pl_fail(err, PL_E_INTEGRITY, "the entries of feed %s… in the bundle "
                                                        "are split: reordered or altered", fs);
            if (it->seq == 1 && !sodium_is_zero(it->prev, PL_ID_BYTES))
                return pl_fail(err, PL_E_INTEGRITY, "entry 1 of feed %s… links to an entry "
                                                    "before it", fs);
        } else {
            const import_item *p = &items[i - 1];
            if (it->seq != p->seq + 1 || sodium_memcmp(it->prev, p->id, PL_ID_BYTES) != 0)
                return pl_fail(err, PL_E_INTEGRITY, "the entries of feed %s… in the bundle are "
                                                    "not one linked run (at %llu): reordered or "
                                                    "altered", fs, seq);
        }
    }
    return PL_OK;
}

/* Whether the vault holds, at feed/seq, this id (ENTRY_KNOWN), another (ENTRY_FORK) or
 * nothing (ENTRY_NEW). */
static pl_status held_at(pl_vault *v, sqlite3_stmt *q, const uint8_t *feed, uint64_t seq,
                         const uint8_t *id, int *state, pl_err *err)
{
    int rc;
    sqlite3_reset(q);
    sqlite3_bind_blob(q, 1, feed, PL_SIGN_PK_BYTES, SQLITE_STATIC);
    sqlite3_bind_int64(q, 2, (sqlite3_int64)seq);
    *state = ENTRY_NEW;
    while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
        if (sqlite3_column_bytes(q, 0) == PL_ID_BYTES &&
            memcmp(sqlite3_column_blob(q, 0), id, PL_ID_BYTES) == 0) {
            *state = ENTRY_KNOWN;
            break;
        }
        *state = ENTRY_FORK;
    }
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        return store_fail(v->db, rc, "reading the feed", err);
    sqlite3_reset(q);
    return PL_OK;
}

/* In the open transaction: classifies each entry against the vault, and stores the new
 * ones and those that fork a feed. */
static pl_status store_bundle(pl_vault *v, const pl_org *pre, const pl_bundle_info *info,
                              const pl_bundle_entry *list, pl_header *h, import_item *items,
                              pl_import_report *rep, pl_err *err)
{
    sqlite3_stmt *q = NULL;
    pl_status st = PL_OK;
    char fs[17];
    int rc = sqlite3_prepare_v2(v->db, "SELECT id FROM entries WHERE feed = ? AND seq = ?", -1,
                                &q, NULL);
    if (rc != SQLITE_OK)
        return store_fail(v->db, rc, "reading the feed", err);
    for (uint32_t i = 0; st == PL_OK && i < info->count; i++) {
        import_item *it = &items[i];
        const pl_bundle_entry *e = &list[i];
        if ((st = held_at(v, q, it->feed, it->seq, it->id, &it->state, err)) != PL_OK)
            break;
        if (it->state == ENTRY_KNOWN) {
            rep->known++;
            continue;
        }
        /* Past a removal's cut: refused, and so is the rest of the run (later entries). A
         * removed member's fork below the cut is refused too: their feed after the removal
         * is what the coordinator saw, nothing else. */
        const pl_org_member *author = pre ? org_member(pre, it->feed) : NULL;
        if (author && (it->seq > author->until_seq ||
                       (author->removed && it->state == ENTRY_FORK))) {
            if (rep->cut == 0)
                snprintf(rep->cut_who, sizeof rep->cut_who, "%s", author->id.fingerprint);
            it->state = ENTRY_CUT;
            rep->cut++;
            continue;
        }
        if (fmt_header_decode(e->header, e->header_len, h) != PL_FMT_OK) {
            st = pl_fail(err, PL_E_INTEGRITY, "entry %u of the bundle has a damaged header",
                         i + 1);
            break;
        }
        /* A run must continue what the vault holds: its first entry's predecessor must be
         * here (a later entry's predecessor is the one before it in the bundle). */
        if (it->run_start && it->seq > 1) {
            int prev_state;
            if ((st = held_at(v, q, it->feed, it->seq - 1, h->prev, &prev_state, err)) != PL_OK)
                break;
            if (prev_state != ENTRY_KNOWN) {
                short_feed(it->feed, fs);
                uint64_t head = feed_head_seq(v, it->feed);
                if (prev_state == ENTRY_NEW) {
                    rep->retry = 1;
                    st = head + 1 < it->seq - 1
                             ? pl_fail(err, PL_E_INTEGRITY, "feed %s… is missing entries %llu "
                                                            "to %llu: import the bundle that "
                                                            "holds them first",
                                       fs, (unsigned long long)head + 1,
                                       (unsigned long long)it->seq - 1)
                             : pl_fail(err, PL_E_INTEGRITY, "feed %s… is missing entry %llu: "
                                                            "import the bundle that holds it "
                                                            "first",
                                       fs, (unsigned long long)it->seq - 1);
                } else {
                    st = pl_fail(err, PL_E_INTEGRITY, "feed %s… branches before entry %llu "
                                                      "from what this vault holds: export it "
                                                      "from where the branch starts",
                                 fs, (unsigned long long)it->seq);
                }
                break;
            }
        }
        if (it->state == ENTRY_FORK) {
            if (rep->forks == 0) {
                short_feed(it->feed, fs);
                snprintf(rep->fork, sizeof rep->fork, "feed %s… has two different entries %llu",
                         fs, (unsigned long long)it->seq);
            }
            rep->forks++;
        }
        if ((st = feed_insert(v, h, it->id, e->header, e->header_len, e->sig, e->wraps, e->body,
                              err)) != PL_OK)
            break;
        rep->added++;
    }
    sqlite3_finalize(q);
    return st;
}

/* After storing: an entry that came without its body must be covered by an erasure that
 * counts, held already or in this bundle (formats/erasure.md §4). */
static pl_status check_erased(pl_vault *v, const pl_org *o, const pl_bundle_info *info,
                              const pl_bundle_entry *list, pl_header *h,
                              const import_item *items, pl_import_report *rep, pl_err *err)
{
    pl_erasure *er = NULL;
    size_t ner = 0, missing = SIZE_MAX;
    int any = 0;
    for (uint32_t i = 0; i < info->count && !any; i++)
        any = items[i].no_body;
    if (!any)
        return PL_OK;
    pl_status st = erasures_load(v, o, &er, &ner, err);
    for (uint32_t i = 0; st == PL_OK && i < info->count && missing == SIZE_MAX; i++) {
        if (!items[i].no_body || items[i].state == ENTRY_KNOWN || items[i].state == ENTRY_CUT)
            continue;
        if (fmt_header_decode(list[i].header, list[i].header_len, h) != PL_FMT_OK ||
            !erasure_covering(er, ner, h, items[i].id))
            missing = i;
    }
    free(er);
    if (st == PL_OK && missing != SIZE_MAX) {
        char fs[17];
        short_feed(items[missing].feed, fs);
        rep->retry = 1; /* the erasure may come in another bundle */
        st = pl_fail(err, PL_E_INTEGRITY, "entry %llu of feed %s… comes without its body and "
                                          "no erasure this vault holds covers it: import the "
                                          "coordinator's entries first",
                     (unsigned long long)items[missing].seq, fs);
    }
    return st;
}

/* After storing: who exported the bundle and who wrote each new entry must be members
 * allowed to write it, and every key wrap addressed to this vault must open. */
static pl_status check_members(pl_vault *v, const pl_org *o, const pl_bundle_info *info,
                               const pl_bundle_entry *list, pl_header *h,
                               const import_item *items, pl_import_report *rep, pl_err *err)
{
    char why[240];
    if (!org_member(o, info->exporter)) {
        rep->retry = 1; /* its member.add may arrive in another bundle */
        return pl_fail(err, PL_E_INTEGRITY, "the bundle was exported by a device that is not a "
                                            "member of the organisation");
    }
    for (uint32_t i = 0; i < info->count; i++) {
        if (items[i].state == ENTRY_KNOWN || items[i].state == ENTRY_CUT)
            continue;
        if (fmt_header_decode(list[i].header, list[i].header_len, h) != PL_FMT_OK)
            return pl_fail(err, PL_E_INTEGRITY, "entry %u of the bundle has a damaged header",
                           i + 1);
        if (org_may_write(v, o, h, why, sizeof why) != 0) {
            rep->retry = !org_member(o, h->feed);
            return pl_fail(err, PL_E_INTEGRITY, "entry %llu refused: %s",
                           (unsigned long long)h->seq, why);
        }
        if (feed_wraps_check(v, h, list[i].wraps) != PL_OK)
            return pl_fail(err, PL_E_INTEGRITY, "entry %llu refused: a key wrap addressed to "
                                                "this vault does not open",
                           (unsigned long long)h->seq);
    }
    return PL_OK;
}

/* Forks a coordinator's resolution covers (formats/org.md §10.7) are stored as evidence but
 * no longer reported as forks: they move from rep->forks to rep->forks_resolved. */
static pl_status resolved_forks(pl_vault *v, const pl_org *o, const pl_bundle_info *info,
                                const import_item *items, pl_import_report *rep, pl_err *err)
{
    pl_fork_resolution *res = NULL;
    size_t nres = 0;
    pl_status st = org_fork_resolutions(v, o, &res, &nres, err);
    for (uint32_t i = 0; st == PL_OK && i < info->count; i++) {
        const import_item *it = &items[i];
        if (it->state != ENTRY_FORK)
            continue;
        if (org_fork_resolved(v, res, nres, it->feed, it->seq, it->id)) {
            rep->forks--;
            rep->forks_resolved++;
        }
    }
    free(res);
    return st;
}

pl_status vault_import(pl_vault *v, const uint8_t *in, size_t n, pl_import_report *rep,
                       pl_err *err)
{
    uint8_t org[PL_ID_BYTES];
    pl_bundle_info info;
    pl_bundle_entry *list = NULL;
    uint8_t *plain = NULL;
    import_item *items = NULL;
    pl_header *h = NULL;
    pl_org *o = NULL;
    pl_status st;
    memset(rep, 0, sizeof *rep);
    pl_fmt_status fs = fmt_bundle_info(in, n, &info);
    if (fs == PL_FMT_TOO_BIG)
        return pl_fail(err, PL_E_INTEGRITY, "the bundle is larger than %u MiB: refused",
                       PL_BUNDLE_MAX_BYTES >> 20);
    if (fs != PL_FMT_OK)
        return pl_fail(err, PL_E_INTEGRITY, "this is not a peerlog bundle, or it is damaged "
                                            "(%s)", fmt_status_str(fs));
    rep->entries = info.count;
    memcpy(rep->exporter, info.exporter, PL_SIGN_PK_BYTES);
    if ((st = org_id(v, org, err)) != PL_OK)
        return st == PL_E_NOTFOUND ? pl_fail(err, PL_E_INVALID, "this vault belongs to no "
                                                                "organisation: join one first "
                                                                "('peerlog join')")
                                   : st;
    if (sodium_memcmp(info.org, org, PL_ID_BYTES) != 0) {
        char fp[PL_FINGERPRINT_HEX + 1];
        vault_org_fingerprint(info.org, fp);
        return pl_fail(err, PL_E_INTEGRITY, "the bundle belongs to another organisation "
                                            "(fingerprint %.8s…): refused", fp);
    }
    /* The organisation as this vault knows it before the import: it names the exchange key
     * and decides which entries come after a removal's cut (formats/org.md §10.2). */
    pl_org *pre = calloc(1, sizeof *pre);
    pl_err ignore;
    if (!pre)
        return pl_fail(err, PL_E_NOMEM, "out of memory");
    if (vault_org(v, pre, &ignore) != PL_OK) {
        free(pre);
        pre = NULL;
    }
    if ((st = exchange_key(v, org, info.epoch, pre, err)) != PL_OK) {
        free(pre);
        return st;
    }
    fs = fmt_bundle_decode(in, n, v->sec->exchange, &info, &list, &plain);
    sodium_memzero(v->sec->exchange, PL_KEY_BYTES);
    if (fs != PL_FMT_OK) {
        free(pre);
        return pl_fail(err, PL_E_INTEGRITY, "the bundle is damaged, truncated or altered (%s): "
                                            "refused, nothing imported", fmt_status_str(fs));
    }
    items = calloc(info.count, sizeof *items);
    h = malloc(sizeof *h);
    o = calloc(1, sizeof *o);
    if (!items || !h || !o) {
        st = pl_fail(err, PL_E_NOMEM, "out of memory");
        goto out;
    }
    if ((st = check_bundle(org, &info, list, items, err)) != PL_OK)
        goto out;
    unsigned held_before = v->sec->nheld;
    if ((st = vault_begin(v, err)) != PL_OK)
        goto out;
    st = store_bundle(v, pre, &info, list, h, items, rep, err);
    if (st == PL_OK) {
        st = vault_org(v, o, err);
        if (st == PL_E_NOTFOUND) {
            rep->retry = 1; /* the genesis has not arrived */
            st = pl_fail(err, PL_E_INTEGRITY, "the organisation's first entries have not "
                                              "arrived yet: import the coordinator's bundle "
                                              "first");
        }
    }
    int invited = 0;
    if (st == PL_OK)
        st = hold_invited_key(v, o, &invited, err);
    if (st == PL_OK && invited)
        st = vault_org(v, o, err); /* the member key opens the name and the policy */
    if (st == PL_OK && (st = org_take_grants(v, o, &rep->keys_taken, err)) == PL_OK &&
        rep->keys_taken)
        st = vault_org(v, o, err); /* the new keys may open more */
    if (st == PL_OK)
        st = check_members(v, o, &info, list, h, items, rep, err);
    if (st == PL_OK && rep->forks)
        st = resolved_forks(v, o, &info, items, rep, err);
    if (st == PL_OK)
        st = check_erased(v, o, &info, list, h, items, rep, err);
    if (st == PL_OK) /* an erasure held or just arrived covers what came with it */
        st = erasures_apply(v, o, &rep->bodies_erased, err);
    if (st == PL_OK)
        st = vault_commit(v, err);
    else
        vault_rollback(v);
    if (st != PL_OK) {
        feed_held_truncate(v, held_before);
        rep->added = rep->forks = rep->forks_resolved = 0;
        rep->keys_taken = 0;
    }
out:
    free(pre);
    free(items);
    free(h);
    free(o);
    free(list);
    free(plain);
    return st;
}

pl_status bundle_open(pl_vault *v, const uint8_t *in, size_t n, pl_bundle_info *info,
                      pl_bundle_entry **list, uint8_t **plain, pl_err *err)
{
    uint8_t org[PL_ID_BYTES];
    *list = NULL;
    *plain = NULL;
    pl_status st = org_id(v, org, err);
    if (st != PL_OK)
        return st;
    pl_fmt_status fs = fmt_bundle_info(in, n, info);
    if (fs != PL_FMT_OK || sodium_memcmp(info->org, org, PL_ID_BYTES) != 0)
        return pl_fail(err, PL_E_INTEGRITY, "not a bundle of this organisation, or damaged "
                                            "(%s)", fmt_status_str(fs));
    if ((st = exchange_key(v, org, info->epoch, NULL, err)) != PL_OK)
        return st;
    fs = fmt_bundle_decode(in, n, v->sec->exchange, info, list, plain);
    sodium_memzero(v->sec->exchange, PL_KEY_BYTES);
    if (fs != PL_FMT_OK)
        return pl_fail(err, PL_E_INTEGRITY, "the bundle is damaged, truncated or altered (%s)",
                       fmt_status_str(fs));
    return PL_OK;
}

pl_status vault_bundle_erased(pl_vault *v, const uint8_t *in, size_t n, uint64_t *carried,
                              pl_err *err)
{
    pl_bundle_info info;
    pl_bundle_entry *list = NULL;
    uint8_t *plain = NULL;
    sqlite3_stmt *q = NULL;
    *carried = 0;
    pl_status st = bundle_open(v, in, n, &info, &list, &plain, err);
    if (st != PL_OK)
        return st;
    int rc = sqlite3_prepare_v2(v->db, "SELECT body IS NULL FROM entries WHERE id = ?", -1, &q,
                                NULL);
    for (uint32_t i = 0; rc == SQLITE_OK && i < info.count; i++) {
        uint8_t id[PL_ID_BYTES];
        if (!list[i].body)
            continue; /* carried without its body already */
        fmt_entry_id(list[i].header, list[i].header_len, id);
        sqlite3_reset(q);
        sqlite3_bind_blob(q, 1, id, PL_ID_BYTES, SQLITE_STATIC);
        rc = sqlite3_step(q);
        if (rc == SQLITE_ROW && sqlite3_column_int(q, 0))
            (*carried)++;
        if (rc == SQLITE_ROW || rc == SQLITE_DONE)
            rc = SQLITE_OK;
    }
    if (rc != SQLITE_OK)
        st = store_fail(v->db, rc, "reading the entries a bundle carries", err);
    sqlite3_finalize(q);
    free(list);
    free(plain);
    return st;
}

/* ---- invitations and joining -------------------------------------------------------- */

pl_status vault_invite(pl_vault *v, const uint8_t member[PL_SIGN_PK_BYTES],
                       uint8_t out[PL_INVITE_BYTES], pl_err *err)
{
    pl_org *o = calloc(1, sizeof *o);
    if (!o)
        return pl_fail(err, PL_E_NOMEM, "out of memory");
    pl_status st = vault_org(v, o, err);
    const pl_org_member *m = st == PL_OK ? org_member(o, member) : NULL;
    const pl_org_member *me = st == PL_OK ? org_member(o, v->id.sign_pk) : NULL;
    if (st == PL_OK && !(me && (me->roles & 1u) && !me->removed))
        st = pl_fail(err, PL_E_ACCESS, "only a coordinator invites members");
    else if (st == PL_OK && !m)
        st = pl_fail(err, PL_E_NOTFOUND, "that identity is not a member yet: 'peerlog member "
                                         "add' first");
    else if (st == PL_OK && m->removed)
        st = pl_fail(err, PL_E_ACCESS, "that member was removed; no invitation");
    if (st == PL_OK) {
        pl_invite_info info;
        memcpy(info.org, o->id, PL_ID_BYTES);
        info.epoch = EXCHANGE_EPOCH;
        memcpy(info.member, member, PL_SIGN_PK_BYTES);
        int j = feed_held_index(v, o->member_pk);
        if (j < 0)
            st = pl_fail(err, PL_E_ACCESS, "this vault does not hold the organisation's member "
                                           "key");
        else if (fmt_invite_encode(&info, v->sec->held_sk[j], m->id.box_pk, out) != PL_FMT_OK)
            st = pl_fail(err, PL_E_INVALID, "the member's box key is not usable; nothing was "
                                            "written");
    }
    free(o);
    return st;
}

/* Records the organisation (unless org_hex is NULL) and keeps the invitation, in one
 * transaction. */
static pl_status keep_invitation(pl_vault *v, const char *org_hex, const uint8_t *inv,
                                 pl_err *err)
{
    sqlite3_stmt *q = NULL;
    pl_status st = vault_begin(v, err);
    if (st != PL_OK)
        return st;
    int rc = org_hex ? sqlite3_prepare_v2(v->db, "INSERT INTO vault_meta(k, v) VALUES ('org', ?)",
                                          -1, &q, NULL)
                     : SQLITE_OK;
    if (rc == SQLITE_OK && q) {
        sqlite3_bind_text(q, 1, org_hex, -1, SQLITE_STATIC);
        rc = sqlite3_step(q) == SQLITE_DONE ? SQLITE_OK : SQLITE_ERROR;
        sqlite3_finalize(q);
        q = NULL;
    }
    if (rc == SQLITE_OK)
        rc = sqlite3_prepare_v2(v->db,
                                "INSERT OR REPLACE INTO vault_meta(k, v) VALUES ('invite', ?)", -1,
                                &q, NULL);
    if (rc == SQLITE_OK) {
        sqlite3_bind_blob(q, 1, inv, PL_INVITE_BYTES, SQLITE_STATIC);
        rc = sqlite3_step(q) == SQLITE_DONE ? SQLITE_OK : SQLITE_ERROR;
    }
    sqlite3_finalize(q);
    if (rc != SQLITE_OK) {
        st = store_fail(v->db, sqlite3_errcode(v->db), "recording the organisation", err);
        vault_rollback(v);
        return st;
    }
    return vault_commit(v, err);
}

pl_status vault_join(pl_vault *v, const uint8_t *in, size_t n, const char *expect_org,
                     pl_err *err)
{
    pl_invite_info info;
    char want[PL_FINGERPRINT_HEX + 1], fp[PL_FINGERPRINT_HEX + 1], hex[PL_ID_HEX + 1];
    uint8_t have[PL_ID_BYTES];
    pl_status st;
    if (!expect_org || fmt_fingerprint_parse(expect_org, PL_FINGERPRINT_BYTES, want) != 0)
        return pl_fail(err, PL_E_INVALID, "give the organisation's fingerprint (32 hex digits, "
                                          "as 'peerlog org show' prints it on the coordinator's "
                                          "laptop) with --expect-org");
    pl_fmt_status fs = fmt_invite_info(in, n, &info, NULL, NULL);
    if (fs != PL_FMT_OK)
        return pl_fail(err, PL_E_INTEGRITY, "this is not a peerlog invitation, or it is "
                                            "damaged (%s)", fmt_status_str(fs));
    if (sodium_memcmp(info.member, v->id.sign_pk, PL_SIGN_PK_BYTES) != 0)
        return pl_fail(err, PL_E_INTEGRITY, "this invitation is for someone else, not for this "
                                            "vault's identity");
    fs = fmt_invite_open(in, n, v->id.box_pk, v->sec->box_sk, &info, v->sec->invited_sk);
    sodium_memzero(v->sec->invited_sk, PL_BOX_SK_BYTES);
    if (fs != PL_FMT_OK)
        return pl_fail(err, PL_E_INTEGRITY, "the invitation does not open with this vault's "
                                            "key: it is damaged or was not made for you");
    vault_org_fingerprint(info.org, fp);
    if (sodium_memcmp(fp, want, PL_FINGERPRINT_HEX) != 0)
        return pl_fail(err, PL_E_INTEGRITY, "the organisation's fingerprint is %s, not the one "
                                            "you expected: do not join; ask your coordinator",
                       fp);
    if ((st = org_id(v, have, err)) == PL_OK) {
        if (sodium_memcmp(have, info.org, PL_ID_BYTES) != 0)
            return pl_fail(err, PL_E_EXISTS, "this vault belongs to another organisation "
                                             "already; a vault serves one organisation");
        pl_org *o = calloc(1, sizeof *o);
        pl_err ignore;
        st = o ? vault_org(v, o, &ignore) : PL_E_NOMEM;
        free(o);
        if (st == PL_OK)
            return pl_fail(err, PL_E_EXISTS, "this vault is a member of that organisation "
                                             "already");
        /* Joined before, the organisation's entries still to come: this invitation replaces
         * the kept one (which may have been a forgery that opens nothing). */
        return keep_invitation(v, NULL, in, err);
    }
    if (st != PL_E_NOTFOUND)
        return st;
    /* One feed per organisation: the owner's feed must not have entries from elsewhere. */
    if (feed_head_seq(v, v->id.sign_pk) != 0)
        return pl_fail(err, PL_E_INVALID, "this vault has entries already; a member joins "
                                          "with a new vault ('peerlog --vault DIR init')");
    sodium_bin2hex(hex, sizeof hex, info.org, PL_ID_BYTES);
    return keep_invitation(v, hex, in, err);
}
