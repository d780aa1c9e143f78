/* peerlog: the command line. Global options, the command table, option parsing, errors. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "cli/cli.h"

typedef int (*cmd_fn)(cli_ctx *ctx, int argc, char **argv);

typedef struct {
    const char *word;
    cmd_fn fn;
    const char *summary;
} top_command;

static const top_command commands[] = {
    {"init", cmd_init, "create a new vault with your identity and a recovery code"},
    {"id", cmd_id, "show your fingerprint; 'id export' prints your public identity"},
    {"passwd", cmd_passwd, "change the vault's passphrase"},
    {"recover", cmd_recover, "set a new passphrase with the recovery code"},
    {"consent", cmd_consent, "'consent grant' and 'consent withdraw' for a citizen"},
    {"session", cmd_session, "'session add': record a meeting with a citizen"},
    {"note", cmd_note, "'note add': a private journal note only you can read"},
    {"match", cmd_match, "'match add': match a citizen with a guide (coordinators)"},
    {"agreement", cmd_agreement, "volunteer and collaboration agreements, countersigning"},
    {"supervision", cmd_supervision, "'supervision add': record a supervision (supervisors)"},
    {"course", cmd_course, "'course close': close a citizen's course"},
    {"amend", cmd_amend, "correct an entry (a new entry; the original stays)"},
    {"retract", cmd_retract, "withdraw an entry made in error, with a reason"},
    {"log", cmd_log, "list entries"},
    {"show", cmd_show, "show one entry (the latest version; --history for all)"},
    {"org", cmd_org, "'org init' starts an organisation; 'org show' describes it"},
    {"member", cmd_member, "'member add IDFILE --role R', 'member remove FP' (coordinators)"},
    {"erase", cmd_erase, "erase a citizen's data everywhere it syncs (coordinators)"},
    {"retention", cmd_retention, "list and erase what the retention policy makes due"},
    {"fork", cmd_fork, "'fork resolve --keep ID': decide which branch of a fork counts"},
    {"join", cmd_join, "join an organisation (--expect-org checks its fingerprint)"},
    {"sync", cmd_sync, "exchange entries with the other members through a shared folder"},
    {"export", cmd_export, "write a run of a feed's entries to a bundle file"},
    {"import", cmd_import, "import a bundle file another member exported"},
    {"backup", cmd_backup, "write a consistent copy of the vault to one file"},
    {"restore", cmd_restore, "bring a vault back from a backup file"},
    {"verify", cmd_verify, "check every chain link and body hash, and the signatures"},
    {"audit", cmd_audit, "check that every contact was covered by consent (auditors)"},
    {"checkpoint", cmd_checkpoint, "'checkpoint sign -o FILE', 'checkpoint verify FILE'"},
    {"report", cmd_report, "statistics for evaluation, small counts suppressed (auditors)"},
};

static void main_help(FILE *f)
{
    fprintf(f,
            "peerlog - encrypted, append-only journal and consent ledger for peer support\n"
            "\n"
            "Usage: peerlog [--vault DIR] [--passphrase-file FILE] COMMAND [OPTIONS]\n"
            "\n"
            "Commands:\n");
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        fprintf(f, "  %-9s %s\n", commands[i].word, commands[i].summary);
    fprintf(f,
            "\n"
            "Run 'peerlog COMMAND --help' for a command's options and examples.\n"
            "\n"
            "Global options:\n"
            "  --vault DIR             the vault directory (default: $PEERLOG_VAULT, else\n"
            "                          $XDG_DATA_HOME/peerlog, else ~/.local/share/peerlog)\n"
            "  --passphrase-file FILE  read the passphrase from the first line of FILE\n"
            "  --help                  this text;  --version  the program's version\n"
            "\n"
            "The passphrase is asked on the terminal without echo. Scripts can use\n"
            "--passphrase-file, $PEERLOG_PASSPHRASE_FILE or $PEERLOG_PASSPHRASE_FD (a file\n"
            "descriptor to read it from). It is never taken from argv or a plain variable.\n"
            "\n"
            "Every command that prints takes --json after the command.\n"
            "\n"
            "Exit codes:\n"
            "  0  ok\n"
            "  1  error (the message says what to do), e.g. a session without consent\n"
            "  2  usage: an unknown command or option, a missing argument\n"
            "  3  wrong passphrase or recovery code, or another peerlog kept the vault busy\n"
            "  4  integrity failure: the vault is damaged or was tampered with\n"
            "  5  access denied: no key here for that entry's body, or not your entry to amend\n");
}

/* ---- option parsing ------------------------------------------------------------------- */

static const char *const global_args[] = {"vault", "passphrase-file"};

void cli_help(const cli_command *cmd)
{
    printf("Usage: peerlog %s", cmd->path);
    if (cmd->args)
        printf(" %s", cmd->args);
    if (cmd->nopts)
        printf(" [OPTIONS]");
    printf("\n\n%s\n\nOptions:\n", cmd->summary);
    {
        for (size_t i = 0; i < cmd->nopts; i++) {
            char left[64];
            const cli_opt *o = &cmd->opts[i];
            snprintf(left, sizeof left, "%s%s%s%s", o->name[1] ? "--" : "-", o->name,
                     o->arg ? " " : "",
                     o->arg ? o->arg : "");
            if (strlen(left) > 24)
                printf("  %s\n  %-24s %s\n", left, "", o->help);
            else
                printf("  %-24s %s\n", left, o->help);
        }
    }
    printf("  %-24s %s\n", "--json", "print the result as JSON (one line)");
    printf("  %-24s %s\n", "--help", "this text");
    if (cmd->details)
        printf("\n%s", cmd->details);
    printf("\nGlobal options (--vault DIR, --passphrase-file FILE) may also come first; see "
           "'peerlog --help'.\n");
}

int cli_expect_word(const cli_command *cmd, int argc, char **argv, const char *word)
{
    if (argc >= 1 && !strcmp(argv[0], word))
        return 0;
    if (argc >= 1 && (!strcmp(argv[0], "--help") || !strcmp(argv[0], "-h"))) {
        cli_help(cmd);
        return cli_finish_stdout() + 1;
    }
    return cli_usage_error(cmd, "use 'peerlog %s'", cmd->path) + 1;
}

int cli_dispatch(const char *group, const cli_verb *verbs, size_t n, cli_ctx *ctx, int argc,
                 char **argv)
{
    for (size_t i = 0; argc >= 1 && i < n; i++)
        if (!strcmp(argv[0], verbs[i].word))
            return verbs[i].fn(ctx, argc - 1, argv + 1);
    if (argc >= 1 && (!strcmp(argv[0], "--help") || !strcmp(argv[0], "-h"))) {
        printf("Usage: peerlog %s ", group);
        for (size_t i = 0; i < n; i++)
            printf("%s%s", i ? "|" : "", verbs[i].word);
        printf(" [OPTIONS]\n\n");
        for (size_t i = 0; i < n; i++)
            printf("  %s %-16s %s\n", group, verbs[i].word, verbs[i].summary);
        printf("(see 'peerlog %s COMMAND --help')\n", group);
        return cli_finish_stdout();
    }
    char list[256] = "";
    for (size_t i = 0; i < n; i++)
        snprintf(list + strlen(list), sizeof list - strlen(list), "%s'peerlog %s %s'",
                 i == 0 ? "" : i + 1 == n ? " or " : ", ", group, verbs[i].word);
    return cli_usage_error(NULL, "use %s", list);
}

int cli_usage_error(const cli_command *cmd, const char *fmt, ...)
{
    va_list ap;
    fputs("peerlog: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    if (cmd)
        fprintf(stderr, " (see 'peerlog %s --help')\n", cmd->path);
    else
        fputs(" (see 'peerlog --help')\n", stderr);
    return EXIT_USAGE;
}

void cli_warn(const char *fmt, ...)
{
    va_list ap;
    fputs("peerlog: warning: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

/* Splits "--name=value"; returns the option name length. */
static size_t opt_name_len(const char *a)
{
    const char *eq = strchr(a, '=');
    return eq ? (size_t)(eq - a) : strlen(a);
}

static int name_is(const char *a, size_t n, const char *name)
{
    return strlen(name) == n && strncmp(a, name, n) == 0;
}

/* Takes the value of an option: "--x=v" or "--x v". NULL after printing a usage error. */
static const char *opt_value(const cli_command *cmd, int argc, char **argv, int *i,
                             const char *name)
{
    const char *eq = strchr(argv[*i], '=');
    if (eq)
        return eq + 1;
    if (*i + 1 >= argc) {
        cli_usage_error(cmd, "%s%s needs a value", name[1] ? "--" : "-", name);
        return NULL;
    }
    return argv[++*i];
}

int cli_parse(cli_ctx *ctx, const cli_command *cmd, int argc, char **argv, const char **pos,
              size_t npos_max, size_t *npos)
{
    int only_pos = 0;
    *npos = 0;
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        if (only_pos || a[0] != '-' || !strcmp(a, "-")) {
            if (*npos >= npos_max) {
                cli_usage_error(cmd, "unexpected argument '%s'", a);
                return -1;
            }
            pos[(*npos)++] = a;
            continue;
        }
        if (!strcmp(a, "--")) {
            only_pos = 1;
            continue;
        }
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            cli_help(cmd);
            return 1;
        }
        if (a[1] != '-' && a[2] == '\0') {
            /* A one-letter option of the table (-o FILE). */
            const cli_opt *o = NULL;
            for (size_t k = 0; k < cmd->nopts; k++)
                if (cmd->opts[k].name[0] == a[1] && cmd->opts[k].name[1] == '\0')
                    o = &cmd->opts[k];
            if (o && o->arg) {
                const char *v = opt_value(cmd, argc, argv, &i, o->name);
                if (!v)
                    return -1;
                *o->value = v;
                continue;
            }
        }
        if (strncmp(a, "--", 2) != 0) {
            cli_usage_error(cmd, "unknown option '%s'", a);
            return -1;
        }
        const char *name = a + 2;
        size_t nl = opt_name_len(name);
        if (name_is(name, nl, "json")) {
            ctx->json = 1;
            continue;
        }
        if (name_is(name, nl, global_args[0]) || name_is(name, nl, global_args[1])) {
            const char *v = opt_value(cmd, argc, argv, &i, name_is(name, nl, "vault")
                                                              ? "vault"
                                                              : "passphrase-file");
            if (!v)
                return -1;
            if (name_is(name, nl, "vault"))
                ctx->vault_dir = v;
            else
                ctx->pass_file = v;
            continue;
        }
        const cli_opt *o = NULL;
        for (size_t k = 0; k < cmd->nopts; k++)
            if (name_is(name, nl, cmd->opts[k].name))
                o = &cmd->opts[k];
        if (!o) {
            cli_usage_error(cmd, "unknown option '--%.*s'", (int)nl, name);
            return -1;
        }
        if (!o->arg) {
            if (name[nl] == '=') {
                cli_usage_error(cmd, "--%s takes no value", o->name);
                return -1;
            }
            *o->flag = 1;
            continue;
        }
        const char *v = opt_value(cmd, argc, argv, &i, o->name);
        if (!v)
            return -1;
        *o->value = v;
    }
    return 0;
}

/* ---- errors and exit codes ------------------------------------------------------------ */

int cli_exit_code(pl_status st)
{
    switch (st) {
    case PL_OK: return EXIT_OK;
    case PL_E_PASSPHRASE:
    case PL_E_LOCKED: return EXIT_PASSPHRASE;
    case PL_E_INTEGRITY: return EXIT_INTEGRITY;
    case PL_E_ACCESS: return EXIT_ACCESS;
    default: return EXIT_ERROR;
    }
}

int cli_fail(pl_status st, const pl_err *err)
{
    fprintf(stderr, "peerlog: %s\n", err->msg[0] ? err->msg : pl_status_name(st));
    return cli_exit_code(st);
}

/* ---- the vault ------------------------------------------------------------------------ */

int cli_vault_dir(cli_ctx *ctx)
{
    static char buf[4096];
    if (ctx->vault_dir && *ctx->vault_dir)
        return 0;
    const char *env = getenv("PEERLOG_VAULT");
    if (env && *env) {
        ctx->vault_dir = env;
        return 0;
    }
    const char *xdg = getenv("XDG_DATA_HOME");
    const char *home = getenv("HOME");
    int n;
    if (xdg && *xdg == '/')
        n = snprintf(buf, sizeof buf, "%s/peerlog", xdg);
    else if (home && *home == '/')
        n = snprintf(buf, sizeof buf, "%s/.local/share/peerlog", home);
    else {
        fprintf(stderr, "peerlog: no vault given; use --vault DIR or set PEERLOG_VAULT\n");
        return -1;
    }
    if (n < 0 || (size_t)n >= sizeof buf) {
        fprintf(stderr, "peerlog: the vault path is too long; use --vault DIR\n");
        return -1;
    }
    ctx->vault_dir = buf;
    return 0;
}

int cli_open_vault(cli_ctx *ctx, pl_vault **v)
{
    pl_err err = {{0}};
    struct stat sb;
    if (cli_vault_dir(ctx) != 0)
        return EXIT_ERROR;
    char ks[4200];
    snprintf(ks, sizeof ks, "%s/keyslots", ctx->vault_dir);
    if (stat(ks, &sb) != 0) {
        fprintf(stderr, "peerlog: no vault at %s; create one with 'peerlog init' or give "
                        "--vault DIR\n", ctx->vault_dir);
        return EXIT_ERROR;
    }
    pl_secret *pass = cli_read_passphrase(ctx, "Passphrase: ");
    if (!pass)
        return EXIT_ERROR;
    pl_status st = vault_open(ctx->vault_dir, pass, v, &err);
    pl_secret_free(pass);
    if (st != PL_OK)
        return cli_fail(st, &err);
    return EXIT_OK;
}

/* ---- main ----------------------------------------------------------------------------- */

/* No core dumps (they would hold keys), no ptrace by other users' tools, private files. */
static void harden_process(void)
{
    struct rlimit rl = {0, 0};
    (void)setrlimit(RLIMIT_CORE, &rl);
    (void)prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
    umask(077);
}

/* stdout's buffer holds what show prints (decrypted bodies, a recovery code): give it
 * guarded, locked memory and wipe it when peerlog is done. */
#define STDOUT_BUF 65536u
static char *stdout_buf;

static void private_stdout(void)
{
    stdout_buf = sodium_malloc(STDOUT_BUF);
    if (stdout_buf && setvbuf(stdout, stdout_buf, isatty(STDOUT_FILENO) ? _IOLBF : _IOFBF,
                              STDOUT_BUF) != 0) {
        sodium_free(stdout_buf);
        stdout_buf = NULL;
    }
}

static int wipe_stdout(int rc)
{
    if (fflush(stdout) != 0 && rc == EXIT_OK)
        rc = EXIT_ERROR;
    if (stdout_buf)
        sodium_memzero(stdout_buf, STDOUT_BUF); /* stdio keeps the pointer: not freed */
    return rc;
}

static int run(int argc, char **argv);

int main(int argc, char **argv)
{
    harden_process();
    if (sodium_init() < 0) {
        fprintf(stderr, "peerlog: cannot initialise libsodium\n");
        return EXIT_ERROR;
    }
    private_stdout();
    pl_json_use_wiping_allocator();
    return wipe_stdout(run(argc, argv));
}

static int run(int argc, char **argv)
{
    cli_ctx ctx = {0};
    int i = 1;

    for (; i < argc && argv[i][0] == '-'; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            main_help(stdout);
            return cli_finish_stdout();
        }
        if (!strcmp(a, "--version")) {
            printf("peerlog 0.1.0\n");
            return cli_finish_stdout();
        }
        size_t nl = strncmp(a, "--", 2) == 0 ? opt_name_len(a + 2) : 0;
        if (nl && (name_is(a + 2, nl, "vault") || name_is(a + 2, nl, "passphrase-file"))) {
            const char *v = opt_value(NULL, argc, argv, &i, a + 2);
            if (!v)
                return EXIT_USAGE;
            if (name_is(a + 2, nl, "vault"))
                ctx.vault_dir = v;
            else
                ctx.pass_file = v;
            continue;
        }
        return cli_usage_error(NULL, "unknown option '%s'", a);
    }
    if (i >= argc) {
        main_help(stderr);
        return EXIT_USAGE;
    }
    for (size_t k = 0; k < sizeof commands / sizeof commands[0]; k++)
        if (!strcmp(argv[i], commands[k].word))
            return commands[k].fn(&ctx, argc - i - 1, argv + i + 1);
    return cli_usage_error(NULL, "unknown command '%s'", argv[i]);
}
