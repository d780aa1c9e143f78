/* Shared declarations of the peerlog command line. Only cli/ prints and picks exit codes. */
#ifndef PL_CLI_H
#define PL_CLI_H

#include <stddef.h>

#include <jansson.h>

#include "vault/vault.h"

enum {
    EXIT_OK = 0,
    EXIT_ERROR = 1,
    EXIT_USAGE = 2,
    EXIT_PASSPHRASE = 3,
    EXIT_INTEGRITY = 4,
    EXIT_ACCESS = 5
};

/* One row of a command's option table. arg is the value's name ("DATE"), NULL for a flag. */
typedef struct {
    const char *name; /* without the leading "--" */
    const char *arg;
    const char *help;
    const char **value; /* where the value goes (options with arg) */
    int *flag;          /* set to 1 (flags) */
} cli_opt;

typedef struct {
    const char *path;    /* "session add" */
    const char *args;    /* positional synopsis, e.g. "ENTRY" */
    const char *summary; /* one line */
    const char *details; /* paragraphs and examples, may be NULL */
    const cli_opt *opts;
    size_t nopts;
} cli_command;

typedef struct {
    const char *vault_dir;
    const char *pass_file;
    const char *vault_arg; /* --vault given after the command */
    int json;
} cli_ctx;

/* Parses argv against the command's table (plus --vault, --passphrase-file, --json, --help).
 * Positional arguments go to pos (at most npos_max); *npos receives their count.
 * Returns -1 after printing a usage error, 1 after printing help, 0 to go on. */
int cli_parse(cli_ctx *ctx, const cli_command *cmd, int argc, char **argv, const char **pos,
              size_t npos_max, size_t *npos);
void cli_help(const cli_command *cmd);
/* A one-verb command ("session add"): argv[0] must be word. 0 to go on; else it printed help
 * (for --help) or a usage error and returns the exit code + 1. */
int cli_expect_word(const cli_command *cmd, int argc, char **argv, const char *word);

typedef int (*cli_fn)(cli_ctx *ctx, int argc, char **argv);
typedef struct {
    const char *word;    /* "grant" */
    cli_fn fn;           /* called with the arguments after the word */
    const char *summary; /* one line for the group's --help */
} cli_verb;
/* A command of several verbs ("consent grant|withdraw"): calls the verb argv[0] names;
 * prints the group's help for --help, a usage error naming the verbs otherwise. */
int cli_dispatch(const char *group, const cli_verb *verbs, size_t n, cli_ctx *ctx, int argc,
                 char **argv);
/* Prints "peerlog: <msg>" and a hint to stderr; returns EXIT_USAGE. */
int cli_usage_error(const cli_command *cmd, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Prints "peerlog: <msg>" to stderr and returns the exit code for st. */
int cli_fail(pl_status st, const pl_err *err);
int cli_exit_code(pl_status st);
void cli_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Resolves the vault directory; prints and returns -1 when none can be found. */
int cli_vault_dir(cli_ctx *ctx);
/* Opens the vault, asking for the passphrase; returns an exit code (0 ok). */
int cli_open_vault(cli_ctx *ctx, pl_vault **v);

/* Prints j (compact, one line) to stdout and frees it; EXIT_ERROR if stdout fails. */
int cli_print_json(json_t *j);
int cli_finish_stdout(void);
/* Prints the organisation's notes on resolved concurrent changes, if any. */
void cli_print_org_notes(const pl_org *o);

/* secret_input.c */
/* The passphrase of an existing vault: --passphrase-file, $PEERLOG_PASSPHRASE_FILE,
 * $PEERLOG_PASSPHRASE_FD, or the terminal without echo. NULL after printing an error. */
pl_secret *cli_read_passphrase(const cli_ctx *ctx, const char *prompt);
/* A new passphrase: from file if given, else the sources above (none when ctx is NULL);
 * asked twice on a terminal. At least 8 bytes. */
pl_secret *cli_read_new_passphrase(const cli_ctx *ctx, const char *file);
/* A secret line from file (or the terminal with prompt when file is NULL). */
pl_secret *cli_read_secret_line(const char *file, const char *prompt);
/* Reads all of path ("-" = stdin) as text into secret memory; NULL after printing an error. */
pl_secret *cli_read_text_file(const char *path, size_t max);
/* Asks a question on the terminal with echo (for names); the answer in secret memory. */
pl_secret *cli_ask(const char *question);
/* Asks question on the terminal; 1 when the answer is exactly word. */
int cli_confirm_typed(const char *question, const char *word);
int cli_have_tty(void);

/* editor.c */
/* Opens $VISUAL/$EDITOR on initial text in a private tmpfs directory; returns the edited text
 * (at most max bytes; NULL after printing an error). The file is wiped and removed. */
pl_secret *cli_edit(const char *initial, size_t n, int allow_non_tmpfs, size_t max);

/* Commands. */
int cmd_init(cli_ctx *ctx, int argc, char **argv);
int cmd_id(cli_ctx *ctx, int argc, char **argv);
int cmd_passwd(cli_ctx *ctx, int argc, char **argv);
int cmd_recover(cli_ctx *ctx, int argc, char **argv);
int cmd_consent(cli_ctx *ctx, int argc, char **argv);
int cmd_session(cli_ctx *ctx, int argc, char **argv);
int cmd_note(cli_ctx *ctx, int argc, char **argv);
int cmd_amend(cli_ctx *ctx, int argc, char **argv);
int cmd_retract(cli_ctx *ctx, int argc, char **argv);
int cmd_log(cli_ctx *ctx, int argc, char **argv);
int cmd_show(cli_ctx *ctx, int argc, char **argv);
int cmd_verify(cli_ctx *ctx, int argc, char **argv);
int cmd_org(cli_ctx *ctx, int argc, char **argv);
int cmd_member(cli_ctx *ctx, int argc, char **argv);
int cmd_fork(cli_ctx *ctx, int argc, char **argv);
int cmd_join(cli_ctx *ctx, int argc, char **argv);
int cmd_match(cli_ctx *ctx, int argc, char **argv);
int cmd_agreement(cli_ctx *ctx, int argc, char **argv);
int cmd_supervision(cli_ctx *ctx, int argc, char **argv);
int cmd_course(cli_ctx *ctx, int argc, char **argv);
int cmd_backup(cli_ctx *ctx, int argc, char **argv);
int cmd_restore(cli_ctx *ctx, int argc, char **argv);
int cmd_sync(cli_ctx *ctx, int argc, char **argv);
int cmd_export(cli_ctx *ctx, int argc, char **argv);
int cmd_import(cli_ctx *ctx, int argc, char **argv);
int cmd_audit(cli_ctx *ctx, int argc, char **argv);
int cmd_checkpoint(cli_ctx *ctx, int argc, char **argv);
int cmd_report(cli_ctx *ctx, int argc, char **argv);
int cmd_erase(cli_ctx *ctx, int argc, char **argv);
int cmd_retention(cli_ctx *ctx, int argc, char **argv);
/* cmd_receipt.c: 'consent receipt' and 'consent check-receipt'. */
int cli_consent_receipt(cli_ctx *ctx, int argc, char **argv);
int cli_consent_check_receipt(cli_ctx *ctx, int argc, char **argv);

/* Shared helpers of the commands. */
void cli_hex(const uint8_t *p, size_t n, char *out, size_t cap);
void cli_time_iso(int64_t ms, char out[32]);
/* Checks --from and --to (either may be NULL): valid dates, from not after to; EXIT_OK, or
 * EXIT_USAGE after printing why. */
int cli_date_range(const cli_command *cmd, const char *from, const char *to);
/* Parses a whole number in [lo, hi]; -1 when it is not one. */
int cli_parse_uint(const char *s, unsigned long lo, unsigned long hi, unsigned long *out);

#endif
