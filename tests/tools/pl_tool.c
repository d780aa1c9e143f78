/* Test helper that plays roles the CLI never offers:
 *   pl_tool sql DIR PASSFILE SQL     run SQL on the open vault.db (the attacker who holds the
 *                                    database key: it may drop the append-only triggers)
 *   pl_tool append DIR PASSFILE N    append N note entries, one transaction each (crash test)
 *   pl_tool hold DIR PASSFILE SECONDS
 *                                    hold a read transaction open (a reader of an old snapshot)
 *   pl_tool find DIR PASSFILE NEEDLES [BUNDLE...]
 *                                    decrypt, in memory, every page of DIR/vault.db and every
 *                                    frame of DIR/vault.db-wal (AES-256-CBC pages,
 *                                    formats/keyslots.md §4.1) and each bundle file given (with
 *                                    the organisation's exchange key); print "FOUND i WHERE" for
 *                                    each needle (NEEDLES: a file of hex strings, one per line)
 *                                    found in any plaintext; exit 0 when none is, 3 when any is
 * Exit 0 on success, 1 on any failure (message on stderr). */
#define _GNU_SOURCE 1 /* memmem */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>
#define SQLITE_HAS_CODEC 1
#include <sqlite3.h>

#include "vault/internal.h"

#ifdef PL_TOOL_AES
#include <openssl/evp.h>
#endif

static pl_secret *read_pass(const char *path)
{
    pl_secret *s = pl_secret_new(1024);
    int fd = open(path, O_RDONLY);
    if (!s || fd < 0)
        return NULL;
    ssize_t n = read(fd, s->p, 1023);
    close(fd);
    if (n <= 0)
        return NULL;
    s->len = (size_t)n;
    while (s->len && (s->p[s->len - 1] == '\n' || s->p[s->len - 1] == '\r'))
        s->len--;
    return s;
}

static int print_row(void *ctx, int n, char **vals, char **names)
{
    (void)ctx;
    (void)names;
    for (int i = 0; i < n; i++)
        printf("%s%s", i ? "|" : "", vals[i] ? vals[i] : "NULL");
    putchar('\n');
    return 0;
}

typedef struct {
    uint8_t *p;
    size_t n;
} needle;

static int found_any;

/* Reports each needle that occurs in buf (where says in what). */
static void search(const needle *nd, size_t nn, const uint8_t *buf, size_t len, const char *where)
{
    for (size_t i = 0; i < nn; i++)
        if (nd[i].n && nd[i].n <= len && memmem(buf, len, nd[i].p, nd[i].n)) {
            printf("FOUND %zu %s\n", i, where);
            found_any = 1;
        }
}

/* The needles, one hex string per line; exits 1 on a missing file, an empty one or a line
 * that is not hex (a search for nothing must not pass). */
static size_t read_needles(const char *path, needle **out)
{
    FILE *f = fopen(path, "r");
    char line[4096];
    size_t n = 0;
    *out = NULL;
    if (!f) {
        fprintf(stderr, "pl_tool: cannot read %s\n", path);
        exit(1);
    }
    while (fgets(line, sizeof line, f)) {
        size_t len = strcspn(line, "\r\n"), bin = 0;
        needle *g = realloc(*out, (n + 1) * sizeof *g);
        if (!g || !(g[n].p = malloc(len / 2 + 1)))
            exit(1);
        *out = g;
        if (len < 2 || sodium_hex2bin(g[n].p, len / 2 + 1, line, len, NULL, &bin, NULL) != 0 ||
            bin * 2 != len) {
            fprintf(stderr, "pl_tool: %s: line %zu is not a hex string\n", path, n + 1);
            exit(1);
        }
        g[n++].n = bin;
    }
    fclose(f);
    if (!n) {
        fprintf(stderr, "pl_tool: %s holds no needle\n", path);
        exit(1);
    }
    return n;
}

#ifdef PL_TOOL_AES
enum { PAGE = 4096, RESERVE = 48, SALT = 16 };

/* Decrypts one SQLCipher 3 page (formats/keyslots.md §4.1) of page number pgno into out. */
static int decrypt_page(const uint8_t *key, const uint8_t *page, uint32_t pgno, uint8_t *out)
{
    size_t off = pgno == 1 ? SALT : 0, len = PAGE - RESERVE - off;
    int l1 = 0, l2 = 0;
    EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
    int ok = c && EVP_DecryptInit_ex(c, EVP_aes_256_cbc(), NULL, key, page + PAGE - RESERVE) &&
             EVP_CIPHER_CTX_set_padding(c, 0) &&
             EVP_DecryptUpdate(c, out, &l1, page + off, (int)len) &&
             EVP_DecryptFinal_ex(c, out + l1, &l2);
    EVP_CIPHER_CTX_free(c);
    return ok && (size_t)(l1 + l2) == len ? (int)len : -1;
}

/* Searches the plaintext of every page of vault.db and every WAL frame. */
static int search_db(const char *dir, const uint8_t *key, const needle *nd, size_t nn)
{
    static const char *const names[2] = {"vault.db", "vault.db-wal"};
    uint8_t page[PAGE], plain[PAGE];
    for (int w = 0; w < 2; w++) {
        char path[4096], where[64];
        snprintf(path, sizeof path, "%s/%s", dir, names[w]);
        FILE *f = fopen(path, "rb");
        if (!f) {
            if (w == 1 && errno == ENOENT)
                continue; /* no WAL: checkpointed and removed, or never written */
            return -1;
        }
        long count = 0;
        if (w == 1 && fread(page, 1, 32, f) != 32) { /* the WAL header */
            fclose(f);
            continue;
        }
        for (;;) {
            uint8_t fh[24];
            uint32_t pgno = (uint32_t)count + 1;
            if (w == 1) {
                if (fread(fh, 1, sizeof fh, f) != sizeof fh)
                    break;
                pgno = (uint32_t)fh[0] << 24 | (uint32_t)fh[1] << 16 | (uint32_t)fh[2] << 8 |
                       fh[3];
            }
            if (fread(page, 1, PAGE, f) != PAGE)
                break;
            int len = decrypt_page(key, page, pgno, plain);
            /* AES-CBC decrypts anything: page 1 must read as SQLite's header (page size
             * 4096, WAL file format, 48 reserved bytes, payload fractions 64/32/32), or the
             * key is wrong and nothing below would be found. */
            if (len < 0 || (pgno == 1 && (plain[0] != 0x10 || plain[1] != 0x00 || plain[2] != 2 ||
                                          plain[3] != 2 || plain[4] != RESERVE ||
                                          plain[5] != 64 || plain[6] != 32 || plain[7] != 32))) {
                fclose(f);
                return -1;
            }
            snprintf(where, sizeof where, "%s:%ld", names[w], count);
            search(nd, nn, plain, (size_t)len, where);
            count++;
        }
        fclose(f);
        fprintf(stderr, "pl_tool: %s: %ld pages decrypted\n", names[w], count);
    }
    return 0;
}

static int find(const char *dir, const char *pass_path, const char *needles, char **bundles,
                int nbundles)
{
    pl_vault *v = NULL;
    needle *nd;
    size_t nn = read_needles(needles, &nd);
    pl_keyslots ks;
    pl_err err = {{0}};
    uint8_t *master = sodium_malloc(PL_KEY_BYTES), *key = sodium_malloc(PL_KEY_BYTES);
    pl_secret *pass = read_pass(pass_path);
    int rc = 0;
    if (!master || !key || !pass || keys_read(dir, &ks, &err) != PL_OK ||
        keys_open_kind(&ks, PL_KS_KIND_PASSPHRASE, pass->p, pass->len, master, &err) != PL_OK) {
        fprintf(stderr, "pl_tool: cannot open the key slots: %s\n", err.msg);
        rc = 1;
    } else {
        crypto_kdf_derive_from_key(key, PL_KEY_BYTES, PL_SUBKEY_DB, PL_KDF_CONTEXT, master);
        if (search_db(dir, key, nd, nn) != 0) {
            fprintf(stderr, "pl_tool: cannot read or decrypt %s/vault.db\n", dir);
            rc = 1;
        }
    }
    /* Opened only now: opening completes an erasure's WAL checkpoint (vault_scrub_wal), and
     * the pages above are searched as they were left. */
    if (rc == 0 && nbundles && vault_open(dir, pass, &v, &err) != PL_OK) {
        fprintf(stderr, "pl_tool: %s\n", err.msg);
        rc = 1;
    }
    for (int i = 0; rc == 0 && i < nbundles; i++) {
        uint8_t *buf = NULL, *plain = NULL;
        size_t len = 0;
        pl_bundle_info info;
        pl_bundle_entry *list = NULL;
        if (pl_file_read(bundles[i], PL_BUNDLE_MAX_BYTES, &buf, &len, &err) != PL_OK ||
            bundle_open(v, buf, len, &info, &list, &plain, &err) != PL_OK) {
            fprintf(stderr, "pl_tool: %s: %s\n", bundles[i], err.msg);
            rc = 1;
        }
        for (uint32_t k = 0; rc == 0 && k < info.count; k++) {
            search(nd, nn, list[k].header, list[k].header_len, bundles[i]);
            search(nd, nn, list[k].wraps, list[k].wraps_len, bundles[i]);
            if (list[k].body)
                search(nd, nn, list[k].body, list[k].body_len, bundles[i]);
        }
        free(list);
        free(plain);
        free(buf);
    }
    vault_close(v);
    pl_secret_free(pass);
    sodium_free(master);
    sodium_free(key);
    for (size_t i = 0; i < nn; i++)
        free(nd[i].p);
    free(nd);
    return rc ? rc : found_any ? 3 : 0;
}
#endif

int main(int argc, char **argv)
{
    if (argc < 5 || (argc != 5 && strcmp(argv[1], "find") != 0) || sodium_init() < 0) {
        fprintf(stderr, "usage: pl_tool sql|append|hold DIR PASSFILE ARG\n"
                        "       pl_tool find DIR PASSFILE NEEDLES [BUNDLE...]\n");
        return 2;
    }
    pl_json_use_wiping_allocator();
    if (!strcmp(argv[1], "find")) {
#ifdef PL_TOOL_AES
        return find(argv[2], argv[3], argv[4], argv + 5, argc - 5);
#else
        fprintf(stderr, "pl_tool: built without OpenSSL's libcrypto (AES for the pages): "
                        "install libssl-dev (scripts/deps --test) and build again\n");
        return 1;
#endif
    }
    pl_secret *pass = read_pass(argv[3]);
    pl_vault *v = NULL;
    pl_err err = {{0}};
    if (!pass) {
        fprintf(stderr, "pl_tool: cannot read %s\n", argv[3]);
        return 1;
    }
    pl_status st = vault_open(argv[2], pass, &v, &err);
    pl_secret_free(pass);
    if (st != PL_OK) {
        fprintf(stderr, "pl_tool: %s\n", err.msg);
        return 1;
    }
    int rc = 0;
    if (!strcmp(argv[1], "sql")) {
        char *msg = NULL;
        if (sqlite3_exec(vault_db(v), argv[4], print_row, NULL, &msg) != SQLITE_OK) {
            fprintf(stderr, "pl_tool: %s\n", msg ? msg : "sql failed");
            rc = 1;
        }
        sqlite3_free(msg);
    } else if (!strcmp(argv[1], "append")) {
        long n = strtol(argv[4], NULL, 10);
        for (long i = 0; i < n && rc == 0; i++) {
            json_t *body = json_pack("{s:s}", "text", "crash test note with some length to it");
            pl_entry e;
            if (vault_record_add(v, "note", NULL, body, NULL, &e, &err) != PL_OK) {
                fprintf(stderr, "pl_tool: %s\n", err.msg);
                rc = 1;
            }
            json_decref(body);
        }
    } else if (!strcmp(argv[1], "hold")) {
        /* A reader that keeps its snapshot open (another peerlog reading the vault). */
        if (sqlite3_exec(vault_db(v), "BEGIN; SELECT count(*) FROM entries;", NULL, NULL, NULL) !=
            SQLITE_OK)
            rc = 1;
        printf("holding\n");
        fflush(stdout);
        sleep((unsigned)strtoul(argv[4], NULL, 10));
    } else {
        fprintf(stderr, "pl_tool: unknown command %s\n", argv[1]);
        rc = 2;
    }
    vault_close(v);
    return rc;
}
