/* Reading passphrases, recovery codes and note text into sodium_malloc'd memory.
 * Everything is read with read(2) straight into secret memory: no stdio buffer, no heap
 * copy, nothing on argv or in the environment. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include <sodium.h>

#include "cli/cli.h"

#define PASS_MAX     1024u
#define PASS_MIN_NEW 8u

/* ---- the terminal --------------------------------------------------------------------- */

static volatile sig_atomic_t tty_fd_saved = -1;
static struct termios tty_saved;

/* Signals that end or stop peerlog at a hidden prompt; echo must come back first. */
static const int prompt_signals[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGTSTP};
#define NPROMPT_SIGNALS (sizeof prompt_signals / sizeof prompt_signals[0])
static struct sigaction prompt_old[NPROMPT_SIGNALS];

/* Puts echo back if the person presses Ctrl-C (or Ctrl-\\, or closes the terminal) at a
 * hidden prompt, then dies of the signal. Ctrl-Z is refused while the prompt hides input. */
static void restore_tty(int sig)
{
    if (tty_fd_saved >= 0)
        tcsetattr(tty_fd_saved, TCSAFLUSH, &tty_saved);
    signal(sig, SIG_DFL);
    raise(sig);
}

static void prompt_signals_catch(void)
{
    struct sigaction sa = {.sa_handler = restore_tty};
    sigemptyset(&sa.sa_mask);
    for (size_t i = 0; i < NPROMPT_SIGNALS; i++) {
        struct sigaction use = sa;
        if (prompt_signals[i] == SIGTSTP)
            use.sa_handler = SIG_IGN;
        sigaction(prompt_signals[i], &use, &prompt_old[i]);
    }
}

static void prompt_signals_restore(void)
{
    for (size_t i = 0; i < NPROMPT_SIGNALS; i++)
        sigaction(prompt_signals[i], &prompt_old[i], NULL);
}

int cli_have_tty(void)
{
    int fd = open("/dev/tty", O_RDWR | O_CLOEXEC | O_NOCTTY);
    if (fd < 0)
        return 0;
    close(fd);
    return isatty(STDIN_FILENO);
}

/* Reads one line from fd into secret memory (without the newline, or a trailing CR). */
static pl_secret *read_line_fd(int fd, const char *what)
{
    pl_secret *s = pl_secret_new(PASS_MAX + 1);
    if (!s) {
        fprintf(stderr, "peerlog: out of memory\n");
        return NULL;
    }
    for (;;) {
        uint8_t c;
        ssize_t r = read(fd, &c, 1);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            fprintf(stderr, "peerlog: cannot read the %s: %s\n", what, strerror(errno));
            pl_secret_free(s);
            return NULL;
        }
        if (r == 0 || c == '\n')
            break;
        if (s->len == PASS_MAX) {
            fprintf(stderr, "peerlog: the %s is longer than %u bytes\n", what, PASS_MAX);
            pl_secret_free(s);
            return NULL;
        }
        s->p[s->len++] = c;
    }
    if (s->len && s->p[s->len - 1] == '\r')
        s->len--;
    s->p[s->len] = '\0';
    return s;
}

static pl_secret *read_tty(const char *prompt, int echo, const char *what)
{
    int fd = open("/dev/tty", O_RDWR | O_CLOEXEC | O_NOCTTY);
    if (fd < 0) {
        fprintf(stderr, "peerlog: no terminal to ask for the %s; use --passphrase-file FILE, "
                        "$PEERLOG_PASSPHRASE_FILE or $PEERLOG_PASSPHRASE_FD\n", what);
        return NULL;
    }
    struct termios t;
    int hidden = 0;
    if (!echo && tcgetattr(fd, &t) == 0) {
        tty_saved = t;
        tty_fd_saved = fd;
        prompt_signals_catch();
        t.c_lflag &= ~(tcflag_t)(ECHO | ECHONL);
        hidden = tcsetattr(fd, TCSAFLUSH, &t) == 0;
    }
    if (write(fd, prompt, strlen(prompt)) < 0) {
        /* the prompt is a courtesy; reading still works */
    }
    pl_secret *s = read_line_fd(fd, what);
    if (hidden) {
        tcsetattr(fd, TCSAFLUSH, &tty_saved);
        if (write(fd, "\n", 1) < 0) {
            /* nothing to do */
        }
    }
    if (tty_fd_saved >= 0) {
        tty_fd_saved = -1;
        prompt_signals_restore();
    }
    close(fd);
    return s;
}

static pl_secret *read_file_line(const char *path, const char *what)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        fprintf(stderr, "peerlog: cannot open the %s file %s: %s\n", what, path,
                strerror(errno));
        return NULL;
    }
    pl_secret *s = read_line_fd(fd, what);
    close(fd);
    return s;
}

static pl_secret *nonempty(pl_secret *s, const char *what)
{
    if (s && s->len == 0) {
        fprintf(stderr, "peerlog: the %s is empty\n", what);
        pl_secret_free(s);
        return NULL;
    }
    return s;
}

/* ---- passphrases ---------------------------------------------------------------------- */

/* The non-interactive sources, in order; *tried is 0 when none is set. */
static pl_secret *read_configured(const cli_ctx *ctx, int *tried)
{
    *tried = 0;
    if (!ctx)
        return NULL;
    const char *file = ctx->pass_file;
    if (!file || !*file)
        file = getenv("PEERLOG_PASSPHRASE_FILE");
    *tried = 1;
    if (file && *file)
        return nonempty(read_file_line(file, "passphrase"), "passphrase");
    const char *fds = getenv("PEERLOG_PASSPHRASE_FD");
    if (fds && *fds) {
        unsigned long fd;
        if (cli_parse_uint(fds, 0, 65535, &fd) != 0) {
            fprintf(stderr, "peerlog: PEERLOG_PASSPHRASE_FD must be a file descriptor "
                            "number\n");
            return NULL;
        }
        return nonempty(read_line_fd((int)fd, "passphrase"), "passphrase");
    }
    *tried = 0;
    return NULL;
}

pl_secret *cli_read_passphrase(const cli_ctx *ctx, const char *prompt)
{
    int tried;
    pl_secret *s = read_configured(ctx, &tried);
    if (tried)
        return s;
    return nonempty(read_tty(prompt, 0, "passphrase"), "passphrase");
}

static pl_secret *long_enough(pl_secret *s)
{
    if (s && s->len < PASS_MIN_NEW) {
        fprintf(stderr, "peerlog: the new passphrase is too short: use at least %u characters "
                        "(a few words you can remember are best)\n", PASS_MIN_NEW);
        pl_secret_free(s);
        return NULL;
    }
    return s;
}

pl_secret *cli_read_new_passphrase(const cli_ctx *ctx, const char *file)
{
    int tried;
    if (file && *file)
        return long_enough(nonempty(read_file_line(file, "new passphrase"), "new passphrase"));
    pl_secret *s = read_configured(ctx, &tried);
    if (tried)
        return long_enough(s);
    s = long_enough(nonempty(read_tty("New passphrase: ", 0, "new passphrase"),
                             "new passphrase"));
    if (!s)
        return NULL;
    pl_secret *again = read_tty("Type it again: ", 0, "new passphrase");
    if (!again || again->len != s->len || sodium_memcmp(again->p, s->p, s->len) != 0) {
        if (again)
            fprintf(stderr, "peerlog: the two passphrases differ; nothing was changed\n");
        pl_secret_free(s);
        pl_secret_free(again);
        return NULL;
    }
    pl_secret_free(again);
    return s;
}

pl_secret *cli_read_secret_line(const char *file, const char *prompt)
{
    if (file && *file)
        return nonempty(read_file_line(file, "recovery code"), "recovery code");
    if (!cli_have_tty()) {
        fprintf(stderr, "peerlog: no terminal to ask for the recovery code; use "
                        "--recovery-code-file FILE\n");
        return NULL;
    }
    return nonempty(read_tty(prompt, 0, "recovery code"), "recovery code");
}

pl_secret *cli_ask(const char *question)
{
    return read_tty(question, 1, "answer");
}

int cli_confirm_typed(const char *question, const char *word)
{
    pl_secret *a = cli_ask(question);
    int same = a && a->len == strlen(word) && !memcmp(a->p, word, a->len);
    pl_secret_free(a);
    return same;
}

/* ---- note text ------------------------------------------------------------------------ */

pl_secret *cli_read_text_file(const char *path, size_t max)
{
    int fd = STDIN_FILENO;
    if (strcmp(path, "-") != 0) {
        fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0) {
            fprintf(stderr, "peerlog: cannot open %s: %s\n", path, strerror(errno));
            return NULL;
        }
    }
    pl_secret *s = pl_secret_new(max + 1);
    if (!s) {
        fprintf(stderr, "peerlog: out of memory\n");
        if (fd != STDIN_FILENO)
            close(fd);
        return NULL;
    }
    for (;;) {
        ssize_t r = read(fd, s->p + s->len, max + 1 - s->len);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            fprintf(stderr, "peerlog: cannot read %s: %s\n", path, strerror(errno));
            pl_secret_free(s);
            s = NULL;
            break;
        }
        if (r == 0)
            break;
        s->len += (size_t)r;
        if (s->len > max) {
            fprintf(stderr, "peerlog: the text from %s is longer than %zu bytes; nothing was "
                            "written\n", strcmp(path, "-") ? path : "standard input", max);
            pl_secret_free(s);
            s = NULL;
            break;
        }
    }
    if (fd != STDIN_FILENO)
        close(fd);
    if (s)
        s->p[s->len] = '\0';
    return s;
}
