/* Test helper that plays roles the CLI never offers:
 *   pl_tool sql DIR PASSFILE SQL     run SQL on the open vault.db (the attacker who holds the
 *                                    database key: it may drop the append-only triggers)
 *   pl_tool append DIR PASSFILE N    append N note entries, one transaction each (crash test)
 * Exit 0 on success, 1 on any failure (message on stderr). */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>
#define SQLITE_HAS_CODEC 1
#include <sqlite3.h>

#include "vault/vault.h"

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

int main(int argc, char **argv)
{
    if (argc != 5 || sodium_init() < 0) {
        fprintf(stderr, "usage: pl_tool sql|append DIR PASSFILE ARG\n");
        return 2;
    }
    pl_json_use_wiping_allocator();
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
    } else {
        fprintf(stderr, "pl_tool: unknown command %s\n", argv[1]);
        rc = 2;
    }
    vault_close(v);
    return rc;
}
