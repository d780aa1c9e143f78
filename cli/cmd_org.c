/* org init, org show: the organisation (issue 3 in progress: members, join and sync next). */
#include <stdio.h>
#include <string.h>

#include <sodium.h>

#include "cli/cli.h"

static void print_grouped(const char *hex)
{
    for (size_t i = 0; hex[i]; i += 4)
        printf("%.4s%s", hex + i, hex[i + 4] ? " " : "\n");
}

static int print_org(const cli_ctx *ctx, pl_vault *v, const pl_org *o)
{
    char id[PL_ID_HEX + 1], feed[2 * PL_SIGN_PK_BYTES + 1], mpk[2 * PL_BOX_PK_BYTES + 1];
    pl_identity me;
    vault_identity(v, &me);
    int me_coord = sodium_memcmp(me.sign_pk, o->coordinator, PL_SIGN_PK_BYTES) == 0;
    cli_hex(o->id, PL_ID_BYTES, id, sizeof id);
    cli_hex(o->coordinator, PL_SIGN_PK_BYTES, feed, sizeof feed);
    cli_hex(o->member_pk, PL_BOX_PK_BYTES, mpk, sizeof mpk);
    if (ctx->json) {
        json_t *keys = json_array(), *members = json_array();
        for (unsigned i = 0; keys && i < o->nkeys; i++) {
            char pk[2 * PL_BOX_PK_BYTES + 1];
            cli_hex(o->keys[i].pk, PL_BOX_PK_BYTES, pk, sizeof pk);
            json_array_append_new(keys, json_pack("{s:s, s:i, s:s}", "role", o->keys[i].role,
                                                  "epoch", (int)o->keys[i].epoch, "pk", pk));
        }
        json_t *coord = json_pack("{s:s, s:[s]}", "feed", feed, "roles", "coordinator");
        if (coord && me_coord) {
            json_object_set_new(coord, "fingerprint", json_string(me.fingerprint));
            json_object_set_new(coord, "name", json_string(me.name));
        }
        json_array_append_new(members, coord);
        return cli_print_json(json_pack("{s:s, s:s, s:s, s:s, s:o, s:o}", "name", o->name,
                                        "id", id, "fingerprint", o->fingerprint, "member_pk",
                                        mpk, "members", members, "keys", keys));
    }
    printf("Organisation: %s\nId:           %s\nFingerprint:  ", o->name, id);
    print_grouped(o->fingerprint);
    printf("              (read this to a new member; they check it when they join)\n");
    printf("Coordinator:  %s%s\n", me_coord ? me.name : feed, me_coord ? " (this vault)" : "");
    printf("Keys:         member");
    for (unsigned i = 0; i < o->nkeys; i++)
        printf(", %s", o->keys[i].role);
    printf(" (epoch 1)\n");
    return cli_finish_stdout();
}

static int org_init(cli_ctx *ctx, int argc, char **argv)
{
    const char *name = NULL;
    const cli_opt opts[] = {
        {"name", "NAME", "the organisation's name, as members know it", &name, NULL},
    };
    const cli_command cmd = {
        "org init", NULL, "Start an organisation, with you as its first coordinator.",
        "Run it in a new vault (peerlog --vault DIR init first): an organisation's ledger\n"
        "starts with its genesis entry. It creates the organisation's keys (one per role and\n"
        "one for all members) and prints the organisation's fingerprint, which every new\n"
        "member checks when they join.\n"
        "\nExample:\n"
        "  peerlog org init --name \"Peer support Aarhus\"\n",
        opts, sizeof opts / sizeof opts[0]};
    const char *pos[1];
    size_t npos;
    int rc = cli_parse(ctx, &cmd, argc, argv, pos, 0, &npos);
    if (rc)
        return rc < 0 ? EXIT_USAGE : cli_finish_stdout();
    if (!name || !*name)
        return cli_usage_error(&cmd, "--name is required");
    pl_vault *v = NULL;
    if ((rc = cli_open_vault(ctx, &v)) != EXIT_OK)
        return rc;
    pl_org o;
    pl_err err = {{0}};
    pl_status st = vault_org_init(v, name, &o, &err);
    rc = st == PL_OK ? print_org(ctx, v, &o) : cli_fail(st, &err);
    vault_close(v);
    return rc;
}

static int org_show(cli_ctx *ctx, int argc, char **argv)
{
    const cli_command cmd = {
        "org show", NULL, "Show the organisation: name, id, fingerprint, members, keys.",
        "\nExample:\n"
        "  peerlog org show --json\n",
        NULL, 0};
    const char *pos[1];
    size_t npos;
    int rc = cli_parse(ctx, &cmd, argc, argv, pos, 0, &npos);
    if (rc)
        return rc < 0 ? EXIT_USAGE : cli_finish_stdout();
    pl_vault *v = NULL;
    if ((rc = cli_open_vault(ctx, &v)) != EXIT_OK)
        return rc;
    pl_org o;
    pl_err err = {{0}};
    pl_status st = vault_org(v, &o, &err);
    rc = st == PL_OK ? print_org(ctx, v, &o) : cli_fail(st, &err);
    vault_close(v);
    return rc;
}

int cmd_org(cli_ctx *ctx, int argc, char **argv)
{
    if (argc >= 1 && !strcmp(argv[0], "init"))
        return org_init(ctx, argc - 1, argv + 1);
    if (argc >= 1 && !strcmp(argv[0], "show"))
        return org_show(ctx, argc - 1, argv + 1);
    if (argc >= 1 && (!strcmp(argv[0], "--help") || !strcmp(argv[0], "-h"))) {
        printf("Usage: peerlog org init|show [OPTIONS]\n\n"
               "  org init   start an organisation (see 'org init --help')\n"
               "  org show   show the organisation (see 'org show --help')\n");
        return cli_finish_stdout();
    }
    return cli_usage_error(NULL, "use 'peerlog org init' or 'peerlog org show'");
}
