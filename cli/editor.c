/* --edit: $VISUAL/$EDITOR on a file in a private directory on tmpfs, wiped afterwards. */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli/cli.h"

#define TMPFS_MAGIC_NUMBER 0x01021994L
#define EDITOR_ARGS_MAX    16

static int is_tmpfs(const char *dir)
{
    struct statfs sf;
    return dir && *dir == '/' && statfs(dir, &sf) == 0 && (long)sf.f_type == TMPFS_MAGIC_NUMBER;
}

/* Overwrites a file with zeros (through the same inode), then removes it. */
static void wipe_file(int dfd, const char *name)
{
    int fd = openat(dfd, name, O_WRONLY | O_NOFOLLOW | O_CLOEXEC);
    if (fd >= 0) {
        struct stat sb;
        static const char zeros[4096];
        if (fstat(fd, &sb) == 0 && S_ISREG(sb.st_mode)) {
            off_t left = sb.st_size;
            while (left > 0) {
                size_t chunk = left > (off_t)sizeof zeros ? sizeof zeros : (size_t)left;
                ssize_t w = write(fd, zeros, chunk);
                if (w <= 0)
                    break;
                left -= w;
            }
            (void)fsync(fd);
        }
        close(fd);
    }
    (void)unlinkat(dfd, name, 0);
}

/* Wipes every file the editor left in dir and its subdirectories (swap and backup files
 * too), then removes them. Links are removed, never followed. */
static void wipe_tree(const char *dir, int depth)
{
    DIR *d = depth < 8 ? opendir(dir) : NULL;
    if (d) {
        struct dirent *de;
        while ((de = readdir(d)) != NULL) {
            struct stat sb;
            char sub[PATH_MAX];
            if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
                continue;
            if (fstatat(dirfd(d), de->d_name, &sb, AT_SYMLINK_NOFOLLOW) == 0 &&
                S_ISDIR(sb.st_mode) &&
                (size_t)snprintf(sub, sizeof sub, "%s/%s", dir, de->d_name) < sizeof sub)
                wipe_tree(sub, depth + 1);
            else
                wipe_file(dirfd(d), de->d_name);
        }
        closedir(d);
    }
    if (rmdir(dir) != 0)
        cli_warn("could not remove the editor's directory %s: %s", dir, strerror(errno));
}

static void wipe_dir(const char *dir)
{
    wipe_tree(dir, 0);
}

/* Wipes directories "peerlog-PID-XXXXXX" in base left by a peerlog of ours that no longer
 * runs (killed with SIGKILL, or the machine lost power while its editor was open). */
static void wipe_stale(const char *base)
{
    DIR *d = opendir(base);
    if (!d)
        return;
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        const char *p = de->d_name;
        if (strncmp(p, "peerlog-", 8) != 0 || !isdigit((unsigned char)p[8]))
            continue;
        char *end;
        long pid = strtol(p + 8, &end, 10);
        struct stat sb;
        char path[PATH_MAX];
        if (*end != '-' || pid <= 0 || (kill((pid_t)pid, 0) == 0 || errno != ESRCH))
            continue;
        if ((size_t)snprintf(path, sizeof path, "%s/%s", base, p) >= sizeof path ||
            lstat(path, &sb) != 0 || !S_ISDIR(sb.st_mode) || sb.st_uid != getuid())
            continue;
        wipe_dir(path);
    }
    closedir(d);
}

static int vim_like(const char *prog)
{
    const char *base = strrchr(prog, '/');
    base = base ? base + 1 : prog;
    return !strcmp(base, "vi") || !strcmp(base, "vim") || !strcmp(base, "nvim") ||
           !strcmp(base, "vim.basic") || !strcmp(base, "vim.tiny") || !strcmp(base, "view");
}

/* Runs the editor on path; 0 when it exited successfully. SIGTERM and SIGHUP stay blocked
 * on return; *mask_out receives the mask to restore. */
static int run_editor(const char *path, sigset_t *mask_out)
{
    const char *ed = getenv("VISUAL");
    if (!ed || !*ed)
        ed = getenv("EDITOR");
    if (!ed || !*ed)
        ed = "vi";
    char *copy = strdup(ed);
    if (!copy) {
        sigprocmask(SIG_BLOCK, NULL, mask_out);
        return -1;
    }
    char *argv[EDITOR_ARGS_MAX + 8];
    size_t n = 0;
    for (char *save = NULL, *t = strtok_r(copy, " \t", &save); t && n < EDITOR_ARGS_MAX;
         t = strtok_r(NULL, " \t", &save))
        argv[n++] = t;
    if (n == 0) {
        free(copy);
        sigprocmask(SIG_BLOCK, NULL, mask_out);
        return -1;
    }
    if (vim_like(argv[0])) {
        /* no swap file, no viminfo, no backup or undo file anywhere */
        argv[n++] = "-n";
        argv[n++] = "-i";
        argv[n++] = "NONE";
        argv[n++] = "--cmd";
        argv[n++] = "set nobackup nowritebackup noundofile noswapfile viminfo=";
    }
    argv[n++] = (char *)path;
    argv[n] = NULL;
    /* As system(3) does: while the editor runs, Ctrl-C and Ctrl-\\ are the editor's, and a
     * SIGTERM or SIGHUP (the terminal closed) waits until peerlog has wiped the file. */
    struct sigaction ign = {.sa_handler = SIG_IGN}, old_int, old_quit;
    sigset_t block, old_mask;
    sigemptyset(&ign.sa_mask);
    sigemptyset(&block);
    sigaddset(&block, SIGTERM);
    sigaddset(&block, SIGHUP);
    sigaction(SIGINT, &ign, &old_int);
    sigaction(SIGQUIT, &ign, &old_quit);
    sigprocmask(SIG_BLOCK, &block, &old_mask);
    pid_t pid = fork();
    if (pid == 0) {
        sigaction(SIGINT, &old_int, NULL);
        sigaction(SIGQUIT, &old_quit, NULL);
        sigprocmask(SIG_SETMASK, &old_mask, NULL);
        execvp(argv[0], argv);
        fprintf(stderr, "peerlog: cannot run the editor '%s': %s\n", argv[0], strerror(errno));
        _exit(127);
    }
    free(copy);
    int status = 0, rc = -1;
    if (pid > 0) {
        while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
            ;
        rc = WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -1;
    }
    sigaction(SIGINT, &old_int, NULL);
    sigaction(SIGQUIT, &old_quit, NULL);
    *mask_out = old_mask; /* restored by the caller once the file is wiped */
    return rc;
}

pl_secret *cli_edit(const char *initial, size_t n, int allow_non_tmpfs, size_t max)
{
    const char *base = getenv("XDG_RUNTIME_DIR");
    if (!is_tmpfs(base))
        base = is_tmpfs("/dev/shm") ? "/dev/shm" : NULL;
    if (!base) {
        if (!allow_non_tmpfs) {
            fprintf(stderr, "peerlog: no private memory-backed directory for the editor "
                            "($XDG_RUNTIME_DIR or /dev/shm); use --note-file - to pipe the "
                            "text, or --allow-non-tmpfs to accept a copy on disk\n");
            return NULL;
        }
        base = getenv("TMPDIR");
        if (!base || *base != '/')
            base = "/tmp";
        cli_warn("the text will pass through a file on disk in %s", base);
    }
    wipe_stale(base);
    char dir[PATH_MAX], path[PATH_MAX + 16];
    if ((size_t)snprintf(dir, sizeof dir, "%s/peerlog-%ld-XXXXXX", base, (long)getpid()) >=
            sizeof dir ||
        !mkdtemp(dir)) {
        fprintf(stderr, "peerlog: cannot make a private directory in %s: %s\n", base,
                strerror(errno));
        return NULL;
    }
    snprintf(path, sizeof path, "%s/note.txt", dir);
    pl_secret *out = NULL;
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0) {
        fprintf(stderr, "peerlog: cannot create %s: %s\n", path, strerror(errno));
        goto done;
    }
    size_t off = 0;
    while (off < n) {
        ssize_t w = write(fd, initial + off, n - off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            fprintf(stderr, "peerlog: cannot write %s: %s\n", path, strerror(errno));
            close(fd);
            goto done;
        }
        off += (size_t)w;
    }
    if (close(fd) != 0) { /* the current text did not reach the file the editor will open */
        fprintf(stderr, "peerlog: cannot write %s: %s\n", path, strerror(errno));
        goto done;
    }
    sigset_t mask;
    int ran = run_editor(path, &mask);
    if (ran != 0)
        fprintf(stderr, "peerlog: the editor did not finish successfully; nothing was "
                        "written\n");
    else
        out = cli_read_text_file(path, max);
    wipe_dir(dir);
    sigprocmask(SIG_SETMASK, &mask, NULL); /* a SIGTERM that came meanwhile acts now */
    return out;
done:
    wipe_dir(dir);
    return out;
}
