/* Writes the seed inputs of the fuzz targets into <dir>/<target>/: valid encodings made with
 * the library's own encoders and fixed, readable values. Run by hand when a format changes:
 *   build-fuzz/tests/fuzz/fuzz_make_seeds tests/fuzz/corpus
 * It leaves other files alone: regress-* are inputs that once crashed a target, kept by hand. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "formats/entry.h"
#include "formats/keyslots.h"
#include "tests/fuzz/fuzz.h"

static const char *root;
static int64_t seed_time_ms = 1793000000000; /* 2026-10-26 */

static void put(const char *target, const char *name, const void *p, size_t n)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", root, target);
    if (mkdir(path, 0755) != 0 && errno != EEXIST) {
        perror(path);
        exit(1);
    }
    snprintf(path, sizeof path, "%s/%s/%s", root, target, name);
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(p, 1, n, f) != n || fclose(f) != 0) {
        perror(path);
        exit(1);
    }
}

static void put_text(const char *target, const char *name, const char *s)
{
    put(target, name, s, strlen(s));
}

/* A fuzz_retention seed: the mode byte, then the text. */
static void put_mode(const char *name, uint8_t mode, const char *s)
{
    static uint8_t buf[1024];
    size_t n = strlen(s);
    FUZZ_CHECK(n < sizeof buf);
    buf[0] = mode;
    memcpy(buf + 1, s, n);
    put("fuzz_retention", name, buf, n + 1);
}

static void fill(uint8_t *p, size_t n, uint8_t start)
{
    for (size_t i = 0; i < n; i++)
        p[i] = (uint8_t)(start + i);
}

static void header_seed(const char *name, const char *type, uint64_t seq, const char *subject,
                        uint8_t nrefs, const char *meta, uint8_t nrcpt)
{
    static pl_header h;
    static uint8_t out[PL_HEADER_MAX];
    size_t len;
    memset(&h, 0, sizeof h);
    h.version = PL_HEADER_VERSION;
    snprintf(h.type, sizeof h.type, "%s", type);
    fill(h.feed, sizeof h.feed, 0x10);
    h.seq = seq;
    if (seq > 1)
        fill(h.prev, sizeof h.prev, 0x30);
    h.time_ms = seed_time_ms;
    snprintf(h.subject, sizeof h.subject, "%s", subject);
    h.nrefs = nrefs;
    for (size_t i = 0; i < nrefs; i++)
        fill(h.refs[i], PL_ID_BYTES, (uint8_t)(0x50 + i));
    h.meta_len = (uint16_t)strlen(meta);
    snprintf(h.meta, sizeof h.meta, "%s", meta);
    fill(h.box_pk, sizeof h.box_pk, 0x70);
    h.nrcpt = nrcpt;
    for (size_t i = 0; i < nrcpt; i++)
        fill(h.rcpt[i], PL_BOX_PK_BYTES, (uint8_t)(0x90 + i));
    h.body_len = 120;
    fill(h.body_hash, sizeof h.body_hash, 0xb0);
    FUZZ_CHECK(fmt_header_encode(&h, out, sizeof out, &len) == PL_FMT_OK);
    put("fuzz_header", name, out, len);
    if (!strcmp(type, "erase")) { /* also a retention seed: mode byte 2, then the header */
        static uint8_t tagged[1 + PL_HEADER_MAX];
        tagged[0] = 2;
        memcpy(tagged + 1, out, len);
        put("fuzz_retention", name, tagged, len + 1);
    }
}

static void keyslot(pl_keyslot *s, uint8_t kind, uint32_t m_kib, uint32_t t, uint32_t lanes)
{
    uint8_t kek[PL_KEY_BYTES], master[PL_MASTER_KEY_BYTES];
    memset(kek, 0x4b, sizeof kek); /* FUZZ_KEK_BYTE in fuzz_keyslots.c */
    fill(master, sizeof master, 0xc0);
    memset(s, 0, sizeof *s);
    s->kind = kind;
    s->kdf = PL_KS_KDF_ARGON2ID;
    s->m_kib = m_kib;
    s->t = t;
    s->lanes = lanes;
    fill(s->salt, sizeof s->salt, (uint8_t)(0x20 * kind));
    fill(s->nonce, sizeof s->nonce, (uint8_t)(0x40 + kind));
    fmt_keyslot_seal(s, kek, master);
}

static void keyslots_seed(const char *name, size_t nslots)
{
    pl_keyslots ks;
    uint8_t out[PL_KS_FILE_MAX];
    size_t len;
    memset(&ks, 0, sizeof ks);
    ks.nslots = (uint8_t)nslots;
    keyslot(&ks.slot[0], PL_KS_KIND_PASSPHRASE, 256u * 1024u, 3, 4);
    if (nslots > 1)
        keyslot(&ks.slot[1], PL_KS_KIND_RECOVERY, 8u * 1024u, 1, 1);
    FUZZ_CHECK(fmt_keyslots_encode(&ks, out, sizeof out, &len) == PL_FMT_OK);
    put("fuzz_keyslots", name, out, len);
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: %s CORPUS-DIR\n", argv[0]);
        return 2;
    }
    root = argv[1];
    fuzz_init();

    header_seed("session", "session", 1, "B-7K3Q-9F2M", 0,
                "date=2026-11-02\nkind=one-to-one\nminutes=60\n", 1);
    header_seed("amend", "amend", 5, "B-7K3Q-9F2M", 1,
                "date=2026-11-02\nkind=accompaniment\nminutes=50\nof=session\n", 2);
    header_seed("withdraw", "consent.withdraw", 7, "B-0000-ZZZZ", 3,
                "date=2026-12-01\nscopes=peer-support,evaluation\n", 1);
    header_seed("note", "note", 2, "", 0, "", 1);
    header_seed("erase", "erase", 4, "B-7K3Q-9F2M", 1, "date=2026-11-23\n", 1);
    header_seed("erase-retention", "erase", 6, "B-7K3Q-9F2M", 1,
                "date=2026-11-23\ntypes=session,supervision,consent\nuntil=2025-05-01\n", 1);
    put_mode("policy", 0, "{\"agreement.collaboration\":12,\"consent\":"
                                         "\"last-entry\",\"course.close\":12,\"match\":12,"
                                         "\"session\":12,\"supervision\":24}");
    put_mode("policy-odd", 0, "{\"session\":\"keep\",\"consent\":12,"
                                             "\"match\":1.5,\"x\":3}");
    put_mode("spec", 1, "12,supervision=24,match=keep,consent=last-entry");
    seed_time_ms = PL_TIME_MS_MAX; /* the last moment a header may name */
    header_seed("last-moment", "note", 3, "", 0, "", 1);

    keyslots_seed("one-slot", 1);
    keyslots_seed("two-slots", 2);

    put_text("fuzz_meta", "empty", "");
    put_text("fuzz_meta", "session", "date=2026-11-02\nkind=one-to-one\nminutes=60\n");
    put_text("fuzz_meta", "grant", "date=2026-11-01\nmethod=written\n"
                                   "scopes=peer-support,record-keeping\nvalid_until=2027-10-31\n");
    put_text("fuzz_meta", "amend", "date=2026-11-02\nkind=group\nminutes=90\nof=session\n");
    put_text("fuzz_meta", "odd", "a=\nb0_x= ~!\"#$%&'()*+,-./:;<>?@[\\]^_`{|}\n");

    put_text("fuzz_text", "recovery", "7K3Q-9F2M-0000-ZZZZ-ABCD-EFGH");
    put_text("fuzz_text", "recovery-typed", " 7k3q 9f2m oooo zzzz abcd efgh\n");
    put_text("fuzz_text", "recovery-il", "iiii-LLLL-1111-0000-o0O0-XYZ9");
    put_text("fuzz_text", "date", "2026-11-02");
    put_text("fuzz_text", "leap", "2024-02-29");
    put_text("fuzz_text", "not-leap", "1900-02-29");
    put_text("fuzz_text", "pseudonym", "B-7K3Q-9F2M");
    put_text("fuzz_text", "scopes", "peer-support,record-keeping,supervision-sharing");
    put_text("fuzz_text", "scopes-all", "evaluation,contact-professionals,peer-support,"
                                        "record-keeping,supervision-sharing");
    put_text("fuzz_text", "type", "consent.grant");

    put_text("fuzz_body", "grant", "{\"method\":\"written\",\"scopes\":[\"peer-support\","
                                   "\"record-keeping\"],\"valid_from\":\"2026-11-01\","
                                   "\"valid_until\":\"2027-10-31\",\"name\":\"A. Citizen\","
                                   "\"contact\":\"+41 00 000 00 00\"}");
    put_text("fuzz_body", "withdraw", "{\"date\":\"2026-12-01\",\"reason\":\"moved away\","
                                      "\"scopes\":[\"evaluation\"]}");
    put_text("fuzz_body", "session", "{\"date\":\"2026-11-02\",\"kind\":\"accompaniment\","
                                     "\"minutes\":45,\"note\":\"MARKER-in-the-body\","
                                     "\"place\":\"office\",\"themes\":[\"housing\",\"work\"]}");
    put_text("fuzz_body", "note", "{\"text\":\"a note \\u00e9\\n\"}");
    put_text("fuzz_body", "retract", "{\"reason\":\"entered for the wrong person\"}");
    return 0;
}
