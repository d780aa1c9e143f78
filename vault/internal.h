/* Private to vault/: the vault struct and the helpers its files share. */
#ifndef PL_VAULT_INTERNAL_H
#define PL_VAULT_INTERNAL_H

#include <stdarg.h>

#define SQLITE_HAS_CODEC 1
#include <sqlite3.h>

#include "formats/bundle.h"
#include "formats/keyslots.h"
#include "vault/vault.h"

#define PL_KDF_CONTEXT     "plvault1" /* crypto_kdf context, 8 bytes */
#define PL_BUSY_TIMEOUT_MS 30000   /* how long a write waits for another peerlog */
#define PL_SUBKEY_DB       1u         /* SQLCipher raw key */
#define PL_SUBKEY_IDENTITY 2u         /* wraps the identity's secret keys in vault.db */
#define PL_SUBKEY_HELD     3u         /* seals held keys (role and member keys) in vault.db */
#define PL_DOM_HELD        "peerlog/v1/held-key"
#define PL_DOM_IDENTITY    "peerlog/v1/identity-secrets"
#define PL_SCHEMA_VERSION  1
#define PL_SHARED_CACHE    16u

_Static_assert(PL_HELD_MAX < UINT8_MAX, "shared_who holds a held key's index + 1 in a byte");

/* Layout of the vault's secret buffer. */
typedef struct {
    uint8_t sign_sk[PL_SIGN_SK_BYTES];
    uint8_t box_sk[PL_BOX_SK_BYTES];
    uint8_t shared_pk[PL_SHARED_CACHE][PL_BOX_PK_BYTES];
    uint8_t shared[PL_SHARED_CACHE][PL_KEY_BYTES]; /* crypto_box_beforenm cache */
    uint8_t shared_who[PL_SHARED_CACHE]; /* whose secret key: 0 own, j + 1 held key j */
    unsigned nshared, shared_next;
    /* The entry being appended draws its body key, body nonce and wrap nonce here in one
     * randombytes call, and wipes them once the body is sealed and the key wrapped: guarded
     * memory without a sodium_malloc (mmap, mprotect, munmap) per entry. */
    uint8_t append_rnd[PL_KEY_BYTES + PL_BODY_NONCE_BYTES + PL_WRAP_NONCE_BYTES];
    /* Keys granted to this vault besides its own box key (vault_key_hold), the key that
     * seals them in vault.db, and scratch for a shared key computed with one of them. */
    uint8_t held_pk[PL_HELD_MAX][PL_BOX_PK_BYTES];
    uint8_t held_sk[PL_HELD_MAX][PL_BOX_SK_BYTES];
    unsigned nheld;
    uint8_t held_kek[PL_KEY_BYTES];
    uint8_t exchange[PL_KEY_BYTES]; /* the exchange key while a bundle is made or read */
    uint8_t invited_sk[PL_BOX_SK_BYTES]; /* the member key an invitation carries, while read */
} pl_vault_secrets;

struct pl_vault {
    sqlite3 *db;
    pl_identity id;
    pl_vault_secrets *sec; /* sodium_malloc'd */
    int in_txn;
    int pending_sig;       /* an append in this transaction awaits its head check */
    uint8_t last_id[PL_ID_BYTES];
    uint8_t last_sig[PL_SIG_BYTES];
    sqlite3_stmt *st_head;
    sqlite3_stmt *st_insert;
    char *dir;      /* the vault's directory */
    int restored;   /* restored from a backup: no appends until sync has caught up */
    int erased_pending;   /* bodies erased in this transaction: checkpoint the WAL after it */
    pl_opened opened[16]; /* bodies decrypted through this handle, by type */
    size_t nopened;
};

/* Fault-injection seam for tests: when set and it returns non-zero for an operation name
 * ("write", "fsync", "rename"), that file operation fails as if with EIO. */
extern int (*pl_io_fault)(const char *op);

/* vault.c: makes dir (0700) for a new vault, or takes an empty one of ours. */
PL_WUR pl_status vault_prepare_dir(const char *dir, pl_err *err);

/* backup.c: a restored vault that has caught up with its feed may append again. */
PL_WUR pl_status vault_restore_settled(pl_vault *v, pl_err *err);

/* keys.c */
/* Serialises read-modify-write of keyslots (passwd, recover) with flock on the vault dir.
 * *fd receives the descriptor to pass to keys_unlock. */
PL_WUR pl_status keys_lock(const char *dir, int *fd, pl_err *err);
void keys_unlock(int fd);
PL_WUR pl_status keys_read(const char *dir, pl_keyslots *ks, pl_err *err);
PL_WUR pl_status keys_write(const char *dir, const pl_keyslots *ks, pl_err *err);
PL_WUR pl_status keys_make_slot(uint8_t kind, const pl_kdf_params *kdf, const uint8_t *secret,
                                size_t n, const uint8_t *master, pl_keyslot *slot, pl_err *err);
/* Opens the first slot of kind that secret unlocks into master; PL_E_PASSPHRASE if none. */
PL_WUR pl_status keys_open_kind(const pl_keyslots *ks, uint8_t kind, const uint8_t *secret,
                                size_t n, uint8_t *master, pl_err *err);
char *pl_path(const char *dir, const char *name); /* malloc'd dir/name, NULL on OOM */
/* Writes all of p[n] to fd (retrying short writes and EINTR); -1 on failure (errno set).
 * The "write" fault of pl_io_fault applies. */
int pl_write_all(int fd, const uint8_t *p, size_t n);
PL_WUR pl_status pl_fsync_dir(const char *dir, pl_err *err);

/* store.c */
PL_WUR pl_status store_open(const char *path, const uint8_t *master, int create, sqlite3 **db,
                            pl_err *err);
/* Maps a SQLite error on db to a status and message ("what" names the operation). */
pl_status store_fail(sqlite3 *db, int rc, const char *what, pl_err *err);
PL_WUR pl_status store_exec(sqlite3 *db, const char *sql, pl_err *err);

/* feed.c */
/* The columns feed_row_entry reads, from an entries table aliased "e". */
#define ENTRY_COLS_PUBLIC "e.header, e.sig, e.id, e.body IS NULL," \
    " EXISTS (SELECT 1 FROM entries a WHERE a.ref0 = e.id AND a.type = 'amend')," \
    " EXISTS (SELECT 1 FROM entries r WHERE r.ref0 = e.id AND r.type = 'retract')"
PL_WUR pl_status feed_row_entry(sqlite3_stmt *st, int col_header, pl_entry *e, pl_err *err);
PL_WUR pl_status feed_shared_key(pl_vault *v, const uint8_t peer[PL_BOX_PK_BYTES],
                                 const uint8_t **shared);
PL_WUR pl_status feed_shared_key_as(pl_vault *v, unsigned who,
                                    const uint8_t peer[PL_BOX_PK_BYTES], const uint8_t **shared);
/* The highest sequence number of feed in this vault (0: none). */
uint64_t feed_head_seq(pl_vault *v, const uint8_t *feed);
/* Inserts one entry row (body NULL: erased) in the open transaction. */
PL_WUR pl_status feed_insert(pl_vault *v, const pl_header *h, const uint8_t id[PL_ID_BYTES],
                             const uint8_t *hdr, size_t hlen, const uint8_t sig[PL_SIG_BYTES],
                             const uint8_t *wraps, const uint8_t *body, pl_err *err);
/* Opens every wrap of h this vault should be able to open (all when it is the author, its
 * own as a recipient): PL_E_INTEGRITY when one does not. The body key is wiped. */
PL_WUR pl_status feed_wraps_check(pl_vault *v, const pl_header *h, const uint8_t *wraps);
void pl_date_of_ms(int64_t ms, char out[PL_DATE_LEN + 1]);
/* records.c: 1 when a record of type may be amended (formats/records.md), and when it names
 * a citizen in its header's subject. */
int pl_record_amendable(const char *type);
int pl_record_needs_subject(const char *type);
/* records.c: "a,b" <-> bit mask over names[0..count) (scopes, roles). */
int pl_names_parse(const char *list, const char *const *names, size_t count, unsigned *mask,
                   char *bad, size_t cap);
void pl_names_format(unsigned mask, const char *const *names, size_t count, char *out,
                     size_t cap);
/* org.c: the keys a body of type is wrapped to besides the author's: the current key of
 * each role the policy lets read it, and the box key of the guide the record concerns
 * (fingerprint guide, or NULL; PL_E_INVALID unless a current guide). None outside an
 * organisation. */
PL_WUR pl_status org_recipients(pl_vault *v, const char *type, const char *guide,
                                uint8_t rcpt[PL_ROLES + 1][PL_BOX_PK_BYTES], uint8_t *n,
                                pl_err *err);
/* The organisation id this vault belongs to (vault_meta); PL_E_NOTFOUND when none. */
PL_WUR pl_status org_id(pl_vault *v, uint8_t id[PL_ID_BYTES], pl_err *err);
/* Takes the key grants addressed to this vault, in the caller's transaction. */
PL_WUR pl_status org_take_grants(pl_vault *v, const pl_org *o, unsigned *taken, pl_err *err);
/* 1 when e's header hashes to its id and its feed's signature over that id verifies. */
int entry_authentic(const pl_entry *e);
/* Adds a note on a resolved conflict to o (formats/org.md §10.6). */
void org_note(pl_org *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* The member whose feed is feed when it is a coordinator whose interval holds seq, or NULL:
 * who may write organisation entries there. */
const pl_org_member *org_coordinator_at(const pl_org *o, const uint8_t feed[PL_SIGN_PK_BYTES],
                                        uint64_t seq);
/* A coordinator's fork.resolve that counts: forks of feed from seq to until_seq are
 * resolved, keeping the branch of entry keep (formats/org.md §10.7). */
typedef struct {
    uint8_t feed[PL_SIGN_PK_BYTES];
    uint64_t seq, until_seq;
    uint8_t keep[PL_ID_BYTES], by[PL_ID_BYTES];
} pl_fork_resolution;
/* Every counted resolution, in *out (free() it) and *n. */
PL_WUR pl_status org_fork_resolutions(pl_vault *v, const pl_org *o, pl_fork_resolution **out,
                                      size_t *n, pl_err *err);
/* 1 when a resolution in res[n] covers a fork of feed at seq where entry id stands: one
 * whose range holds seq and, at its own seq, whose kept entry is id or is held there. */
int org_fork_resolved(pl_vault *v, const pl_fork_resolution *res, size_t n,
                      const uint8_t feed[PL_SIGN_PK_BYTES], uint64_t seq,
                      const uint8_t id[PL_ID_BYTES]);
/* The member whose feed is feed, or NULL. */
const pl_org_member *org_member(const pl_org *o, const uint8_t feed[PL_SIGN_PK_BYTES]);
/* 0 when h's author was a member whose roles may write h's type at h's place in its feed;
 * -2 when it comes after its author's removal (kept as evidence where it arrived before the
 * removal, never counted); -1 otherwise; the reason in why[cap]. */
int org_may_write(pl_vault *v, const pl_org *o, const pl_header *h, char *why, size_t cap);
/* The same for an author already looked up: m is org_member(o, h->feed). */
int org_may_write_as(pl_vault *v, const pl_org *o, const pl_org_member *m, const pl_header *h,
                     char *why, size_t cap);
/* verify.c: adds a problem to list[*n] (counted, kept while there is room). */
void problem_vadd(pl_problem list[PL_VERIFY_MAX_PROBLEMS], size_t *n, const uint8_t *feed,
                  uint64_t seq, const char *fmt, va_list ap) __attribute__((format(printf, 5, 0)));
/* verify.c: called for each entry the walk reads whose header decodes, in the order of
 * (feed, seq) (where a feed forked, the entries at one place in any order: arrival is their
 * local row number n), with org_may_write's verdict (0 outside an organisation) and intact 0
 * when the row failed a check of its header, place or link (reported as a problem); non-zero
 * stops the walk (out of memory). */
typedef int (*verify_row_cb)(void *ctx, const pl_header *h, const uint8_t id[PL_ID_BYTES],
                             int64_t n, int counts, int intact);
/* vault_verify's work in one read transaction: chains, headers, index columns, body hashes
 * and each feed's head signature, and what the flags add; rep holds the problems (PL_OK is
 * returned even when there are some). */
#define VERIFY_EVERY_SIG 1u /* every entry's signature */
#define VERIFY_PAGES     2u /* every page of vault.db (quick_check), indexes included */
#define VERIFY_WRAPS     4u /* open every key wrap this vault should be able to open */
PL_WUR pl_status verify_run(pl_vault *v, unsigned what, pl_verify_report *rep,
                            verify_row_cb cb, void *ctx, pl_err *err);
/* erase.c: the erasures that count (a coordinator's, signed, naming a citizen), in arrival
 * order; free *out. */
PL_WUR pl_status erasures_load(pl_vault *v, const pl_org *o, pl_erasure **out, size_t *n,
                               pl_err *err);
/* Reads a retention erasure's filter from its header into x (metadata "types" into x->types,
 * "until" into x->until; both or neither): 0, or -1 when it has one that does not parse
 * (formats/erasure.md §2). */
int erasure_filter(const pl_header *h, pl_erasure *x);
/* The erasure in list[n] that covers the entry h (id), or NULL. */
const pl_erasure *erasure_covering(const pl_erasure *list, size_t n, const pl_header *h,
                                   const uint8_t id[PL_ID_BYTES]);
/* PL_E_CONSENT when an erasure that counts would cover a new record of type (the original's
 * type for an amend) about subject with metadata meta: nothing more is written about a
 * citizen whose data was erased (formats/erasure.md §4), nor a record a retention erasure
 * took (§6). */
PL_WUR pl_status erasure_refuses(pl_vault *v, const char *subject, const char *type,
                                 const char *meta, size_t mlen, pl_err *err);
/* Writes one erase entry (types 0 and until NULL: everything about subject; else a retention
 * erasure) in the open transaction, without applying it. */
PL_WUR pl_status erase_append(pl_vault *v, const pl_org *o, const char *subject,
                              const char *reason, unsigned types, const char *until,
                              pl_entry *out, pl_err *err);
/* feed.c: the time now, in milliseconds since 1970 (UTC). */
int64_t pl_now_ms(void);
/* retention.c: reads the genesis body's "retention" object back (anything not understood is
 * left out: that type is kept). */
void retention_read(const json_t *j, pl_retention *out);
/* feed.c: checkpoints the WAL into vault.db and truncates it, so that no frame holds an
 * erased body; clears the 'wal_scrub' mark of vault_meta when that completes. 1 when done,
 * 0 when a reader held it back (the mark stays; vault_open tries again). */
int vault_scrub_wal(pl_vault *v);
/* exchange.c: decrypts and decodes a bundle of this vault's organisation (its signature
 * checked, not its entries): *list and *plain as fmt_bundle_decode gives them (free both). */
PL_WUR pl_status bundle_open(pl_vault *v, const uint8_t *in, size_t n, pl_bundle_info *info,
                             pl_bundle_entry **list, uint8_t **plain, pl_err *err);
/* Drops, in the open transaction, the bodies every erasure held covers; *erased counts them. */
PL_WUR pl_status erasures_apply(pl_vault *v, const pl_org *o, uint64_t *erased, pl_err *err);
/* exchange.c: the invitation this vault joined with (vault_meta 'invite'), copied to out
 * unless NULL; PL_E_NOTFOUND when none. */
PL_WUR pl_status org_invitation(pl_vault *v, uint8_t *out, pl_err *err);
/* Forgets (and wipes) the held keys from index n on: their rows went with a rollback. */
void feed_held_truncate(pl_vault *v, unsigned n);
/* The index of pk among the held keys, -1 when not held. */
int feed_held_index(const pl_vault *v, const uint8_t *pk);
/* Loads the held keys from vault.db into v->sec (after the identity). */
PL_WUR pl_status feed_load_held(pl_vault *v, const uint8_t *master, pl_err *err);
/* The date an entry is about: its metadata's date, else the UTC date of its time. */
void feed_entry_date(const pl_header *h, char out[PL_DATE_LEN + 1]);

#endif
