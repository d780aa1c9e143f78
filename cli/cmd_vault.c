/* init, id, passwd, recover: creating a vault and managing its keys. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "cli/cli.h"

#define KDF_OPTS(m, t, l)                                                                   \
    {"kdf-memory", "MIB", "Argon2id memory in MiB (default: 256; passwd, recover: as before)", \
     &(m),                                                                                  \
     NULL},                                                                                 \
        {"kdf-passes", "N", "Argon2id passes (default: 3 or more, about one second)", &(t),  \
         NULL},                                                                             \
        {"kdf-lanes", "N", "Argon2id lanes (default: 4)", &(l), NULL}

/* Reads the --kdf-* options. *given is 0 when none was set. Returns an exit code. */
static int kdf_from_opts(const cli_command *cmd, const char *m, const char *t, const char *l,
                         pl_kdf_params *kdf, int *given)
{
    unsigned long v;
    *given = m || t || l;
    kdf->m_kib = PL_KDF_DEFAULT_M_KIB;
    kdf->t = PL_KDF_DEFAULT_T;
    kdf->lanes = PL_KDF_DEFAULT_LANES;
    if (!*given)
        return EXIT_OK;
    if (m) {
        if (cli_parse_uint(m, 8, 4096, &v) != 0)
            return cli_usage_error(cmd, "--kdf-memory must be a number of MiB from 8 to 4096");
        kdf->m_kib = (uint32_t)v * 1024u;
    }
    if (t) {
        if (cli_parse_uint(t, 1, 64, &v) != 0)
            return cli_usage_error(cmd, "--kdf-passes must be a number from 1 to 64");
        kdf->t = (uint32_t)v;
    }
    if (l) {
        if (cli_parse_uint(l, 1, 64, &v) != 0)
            return cli_usage_error(cmd, "--kdf-lanes must be a number from 1 to 64");
        kdf->lanes = (uint32_t)v;
    }
    if (kdf->m_kib < PL_KDF_DEFAULT_M_KIB || kdf->t < PL_KDF_DEFAULT_T)
        cli_warn("the passphrase protection is weaker than the default (256 MiB, 3 passes); "
                 "use such settings only for tests");
    return EXIT_OK;
}

static void print_fingerprint(const char *fp)
{
    for (size_t i = 0; fp[i]; i += 4)
        printf("%.4s%s", fp + i, fp[i + 4] ? " " : "\n");
}

/* ---- init ----------------------------------------------------------------------------- */

int cmd_init(cli_ctx *ctx, int argc, char **argv)
{
    const char *name = NULL, *m = NULL, *t = NULL, *l = NULL;
    const cli_opt opts[] = {
        {"name", "NAME", "your name as your coordinator knows you (asked if not given)", &name,
         NULL},
        KDF_OPTS(m, t, l),
    };
    const cli_command cmd = {
        "init", NULL, "Create a new vault: your identity, a passphrase and a recovery code.",
        "The vault is a new or empty directory (default $PEERLOG_VAULT, else\n"
        "$XDG_DATA_HOME/peerlog, else ~/.local/share/peerlog) that will hold vault.db\n"
        "(encrypted) and keyslots. You choose a passphrase (at least 8 bytes; a few words);\n"
        "peerlog prints a recovery code once: write it on paper and keep it away from the\n"
        "laptop. With it, 'peerlog recover' sets a new passphrase if you forget yours.\n"
        "\n"
        "Examples:\n"
        "  peerlog init --name \"Kim Berg\"\n"
        "  peerlog --vault /tmp/v --passphrase-file pass.txt init --name Kim --kdf-memory 8 "
        "--kdf-passes 1 --kdf-lanes 1\n",
        opts, sizeof opts / sizeof opts[0]};
    size_t npos;
    const char *pos[1];
    int rc = cli_parse(ctx, &cmd, argc, argv, pos, 0, &npos);
    if (rc)
        return rc < 0 ? EXIT_USAGE : cli_finish_stdout();
    pl_kdf_params kdf;
    int given;
    if ((rc = kdf_from_opts(&cmd, m, t, l, &kdf, &given)) != EXIT_OK)
        return rc;
    if (name && strlen(name) > PL_NAME_MAX)
        return cli_usage_error(&cmd, "--name is longer than %u characters", PL_NAME_MAX);
    if (cli_vault_dir(ctx) != 0)
        return EXIT_ERROR;

    pl_err err = {{0}};
    pl_secret *asked = NULL;
    if (!name && cli_have_tty()) {
        asked = cli_ask("Your name (as your coordinator knows you): ");
        if (!asked)
            return EXIT_ERROR;
        name = (const char *)asked->p;
    }
    if (!name)
        name = "";
    pl_secret *pass = cli_read_new_passphrase(ctx, NULL);
    if (!pass) {
        pl_secret_free(asked);
        return EXIT_ERROR;
    }
    pl_status st = PL_OK;
    if (!given) {
        if (!ctx->json)
            fprintf(stderr, "Measuring this computer for the passphrase protection...\n");
        st = vault_kdf_calibrate(1000, &kdf, &err);
    }
    char recovery[PL_RECOVERY_LEN + 1];
    pl_identity id;
    if (st == PL_OK)
        st = vault_init(ctx->vault_dir, name, pass, &kdf, recovery, &id, &err);
    pl_secret_free(pass);
    pl_secret_free(asked);
    if (st != PL_OK)
        return cli_fail(st, &err);
    const char *fp = id.fingerprint;
    if (ctx->json) {
        json_t *j = json_pack("{s:s, s:s, s:s}", "vault", ctx->vault_dir, "fingerprint", fp,
                              "recovery_code", recovery);
        sodium_memzero(recovery, sizeof recovery);
        return cli_print_json(j);
    }
    printf("Created the vault in %s\n", ctx->vault_dir);
    printf("Your fingerprint: ");
    print_fingerprint(fp);
    printf("\nYour recovery code (shown only this once):\n\n    %s\n\n"
           "Write it on paper and keep it away from this laptop. With it, 'peerlog recover'\n"
           "sets a new passphrase if you forget yours; anyone who has it and the vault can\n"
           "do the same.\n",
           recovery);
    sodium_memzero(recovery, sizeof recovery);
    return cli_finish_stdout();
}

/* ---- id ------------------------------------------------------------------------------- */

int cmd_id(cli_ctx *ctx, int argc, char **argv)
{
    const cli_command cmd = {
        "id", "[export]",
        "Show your name and fingerprint; 'id export' prints your public identity as JSON.",
        "Read the fingerprint aloud to your coordinator to confirm it is really you.\n"
        "'peerlog id export > me.json' gives the file your coordinator adds to the\n"
        "organisation; it holds only public keys, your name and a self-signature.\n",
        NULL, 0};
    const char *pos[1];
    size_t npos;
    int rc = cli_parse(ctx, &cmd, argc, argv, pos, 1, &npos);
    if (rc)
        return rc < 0 ? EXIT_USAGE : cli_finish_stdout();
    int export = npos == 1 && !strcmp(pos[0], "export");
    if (npos == 1 && !export)
        return cli_usage_error(&cmd, "unknown argument '%s' (did you mean 'id export'?)",
                               pos[0]);
    pl_vault *v = NULL;
    if ((rc = cli_open_vault(ctx, &v)) != EXIT_OK)
        return rc;
    pl_identity id;
    pl_err err = {{0}};
    vault_identity(v, &id);
    if (export) {
        json_t *j = NULL;
        pl_status st = vault_identity_export(v, &j, &err);
        vault_close(v);
        return st == PL_OK ? cli_print_json(j) : cli_fail(st, &err);
    }
    vault_close(v);
    if (ctx->json) {
        char spk[2 * PL_SIGN_PK_BYTES + 1], bpk[2 * PL_BOX_PK_BYTES + 1];
        cli_hex(id.sign_pk, sizeof id.sign_pk, spk, sizeof spk);
        cli_hex(id.box_pk, sizeof id.box_pk, bpk, sizeof bpk);
        return cli_print_json(json_pack("{s:s, s:s, s:s, s:s}", "fingerprint", id.fingerprint,
                                        "name", id.name, "feed", spk, "box_pk", bpk));
    }
    printf("Name:        %s\nFingerprint: ", id.name[0] ? id.name : "(none)");
    print_fingerprint(id.fingerprint);
    return cli_finish_stdout();
}

/* ---- passwd and recover --------------------------------------------------------------- */

int cmd_passwd(cli_ctx *ctx, int argc, char **argv)
{
    const char *newfile = NULL, *m = NULL, *t = NULL, *l = NULL;
    const cli_opt opts[] = {
        {"new-passphrase-file", "FILE", "read the new passphrase from FILE (else asked twice)",
         &newfile, NULL},
        KDF_OPTS(m, t, l),
    };
    const cli_command cmd = {
        "passwd", NULL, "Change the vault's passphrase.",
        "Asks for the current passphrase, then the new one twice. Only the small keyslots\n"
        "file is rewritten (atomically); the database is not re-encrypted. Without --kdf-*\n"
        "options the new passphrase gets the same protection cost as the old one.\n"
        "\nExamples:\n"
        "  peerlog passwd\n"
        "  peerlog --passphrase-file old.txt passwd --new-passphrase-file new.txt\n",
        opts, sizeof opts / sizeof opts[0]};
    const char *pos[1];
    size_t npos;
    int rc = cli_parse(ctx, &cmd, argc, argv, pos, 0, &npos);
    if (rc)
        return rc < 0 ? EXIT_USAGE : cli_finish_stdout();
    pl_kdf_params kdf;
    int given;
    if ((rc = kdf_from_opts(&cmd, m, t, l, &kdf, &given)) != EXIT_OK)
        return rc;
    if (cli_vault_dir(ctx) != 0)
        return EXIT_ERROR;
    if (!newfile && !cli_have_tty())
        return cli_usage_error(&cmd, "no terminal to ask for the new passphrase; give "
                                     "--new-passphrase-file FILE");
    pl_secret *old = cli_read_passphrase(ctx, "Current passphrase: ");
    if (!old)
        return EXIT_ERROR;
    pl_secret *fresh = cli_read_new_passphrase(NULL, newfile);
    if (!fresh) {
        pl_secret_free(old);
        return EXIT_ERROR;
    }
    pl_err err = {{0}};
    pl_status st = vault_passwd(ctx->vault_dir, old, fresh, given ? &kdf : NULL, &err);
    pl_secret_free(old);
    pl_secret_free(fresh);
    if (st != PL_OK)
        return cli_fail(st, &err);
    if (ctx->json)
        return cli_print_json(json_pack("{s:b}", "changed", 1));
    printf("The passphrase is changed. The old one no longer opens the vault.\n");
    return cli_finish_stdout();
}

int cmd_recover(cli_ctx *ctx, int argc, char **argv)
{
    const char *codefile = NULL, *newfile = NULL, *m = NULL, *t = NULL, *l = NULL;
    const cli_opt opts[] = {
        {"recovery-code-file", "FILE", "read the recovery code from FILE (else asked)",
         &codefile, NULL},
        {"new-passphrase-file", "FILE", "read the new passphrase from FILE (else asked twice)",
         &newfile, NULL},
        KDF_OPTS(m, t, l),
    };
    const cli_command cmd = {
        "recover", NULL, "Set a new passphrase with the recovery code printed at init.",
        "Type the code as written; case, spaces and dashes do not matter, and O, I and L\n"
        "are read as 0, 1 and 1. The code can be used once: peerlog prints a new one.\n"
        "\nExamples:\n"
        "  peerlog recover\n"
        "  peerlog recover --recovery-code-file code.txt --new-passphrase-file new.txt\n",
        opts, sizeof opts / sizeof opts[0]};
    const char *pos[1];
    size_t npos;
    int rc = cli_parse(ctx, &cmd, argc, argv, pos, 0, &npos);
    if (rc)
        return rc < 0 ? EXIT_USAGE : cli_finish_stdout();
    pl_kdf_params kdf;
    int given;
    if ((rc = kdf_from_opts(&cmd, m, t, l, &kdf, &given)) != EXIT_OK)
        return rc;
    if (cli_vault_dir(ctx) != 0)
        return EXIT_ERROR;
    if ((!newfile || !codefile) && !cli_have_tty())
        return cli_usage_error(&cmd, "no terminal to ask on; give --recovery-code-file FILE and "
                                     "--new-passphrase-file FILE");
    pl_secret *code = cli_read_secret_line(codefile, "Recovery code: ");
    if (!code)
        return EXIT_ERROR;
    pl_secret *fresh = cli_read_new_passphrase(NULL, newfile); /* never the old source */
    if (!fresh) {
        pl_secret_free(code);
        return EXIT_ERROR;
    }
    pl_err err = {{0}};
    char recovery[PL_RECOVERY_LEN + 1];
    pl_status st = vault_recover(ctx->vault_dir, (const char *)code->p, fresh,
                                 given ? &kdf : NULL, recovery, &err);
    pl_secret_free(code);
    pl_secret_free(fresh);
    if (st != PL_OK)
        return cli_fail(st, &err);
    if (ctx->json) {
        json_t *j = json_pack("{s:s}", "recovery_code", recovery);
        sodium_memzero(recovery, sizeof recovery);
        return cli_print_json(j);
    }
    printf("The new passphrase is set. The old recovery code no longer works; here is the "
           "new one\n(shown only this once):\n\n    %s\n\nWrite it on paper and keep it away "
           "from this laptop.\n", recovery);
    sodium_memzero(recovery, sizeof recovery);
    return cli_finish_stdout();
}

int cmd_backup(cli_ctx *ctx, int argc, char **argv)
{
    const char *out = NULL;
    const cli_opt opts[] = {
        {"o", "FILE", "the backup file to write", &out, NULL},
    };
    const cli_command cmd = {
        "backup", NULL, "Write a consistent copy of the whole vault to one file.",
        "The copy is encrypted as the vault is, and opens with the passphrase (or recovery\n"
        "code) the vault has now: keep that with it. Keep backups somewhere other than the\n"
        "laptop. A vault of an organisation restored from a backup writes nothing until\n"
        "'peerlog sync DIR' has brought back what it wrote after the backup.\n"
        "\nExample:\n"
        "  peerlog backup -o /media/usb/peerlog-2026-11-23.backup\n",
        opts, sizeof opts / sizeof opts[0]};
    const char *pos[1];
    size_t npos;
    int rc = cli_parse(ctx, &cmd, argc, argv, pos, 0, &npos);
    if (rc)
        return rc < 0 ? EXIT_USAGE : cli_finish_stdout();
    if (!out || !*out)
        return cli_usage_error(&cmd, "name the file to write with -o FILE");
    pl_vault *v = NULL;
    if ((rc = cli_open_vault(ctx, &v)) != EXIT_OK)
        return rc;
    pl_err err = {{0}};
    uint64_t bytes = 0;
    pl_status st = vault_backup(v, out, &bytes, &err);
    vault_close(v);
    if (st != PL_OK)
        return cli_fail(st, &err);
    if (ctx->json)
        return cli_print_json(json_pack("{s:s, s:I}", "file", out, "bytes", (json_int_t)bytes));
    printf("Wrote the backup to %s (%llu bytes)\n", out, (unsigned long long)bytes);
    return cli_finish_stdout();
}

int cmd_restore(cli_ctx *ctx, int argc, char **argv)
{
    const cli_command cmd = {
        "restore", "FILE", "Bring a vault back from a backup file into a new directory.",
        "The vault goes where --vault (or $PEERLOG_VAULT) points; that directory must be new\n"
        "or empty. Open it with the passphrase it had when the backup was made, or with\n"
        "that time's recovery code ('peerlog recover'). A vault of an organisation then\n"
        "refuses to write until 'peerlog sync DIR' has brought back its own entries written\n"
        "after the backup: otherwise it would write new entries in places its feed already\n"
        "used, and the other members would see a fork.\n"
        "\nExample:\n"
        "  peerlog --vault ~/peerlog-restored restore /media/usb/peerlog-2026-11-23.backup\n",
        NULL, 0};
    const char *pos[1];
    size_t npos;
    int rc = cli_parse(ctx, &cmd, argc, argv, pos, 1, &npos);
    if (rc)
        return rc < 0 ? EXIT_USAGE : cli_finish_stdout();
    if (npos != 1)
        return cli_usage_error(&cmd, "name the backup file");
    if (cli_vault_dir(ctx) != 0)
        return EXIT_USAGE;
    pl_err err = {{0}};
    pl_status st = vault_restore(pos[0], ctx->vault_dir, &err);
    if (st != PL_OK)
        return cli_fail(st, &err);
    if (ctx->json)
        return cli_print_json(json_pack("{s:s}", "vault", ctx->vault_dir));
    printf("Restored the vault to %s\n"
           "Check it with 'peerlog verify'; in an organisation, run 'peerlog sync DIR' before "
           "writing.\n", ctx->vault_dir);
    return cli_finish_stdout();
}
