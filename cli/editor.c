/* --edit: $VISUAL/$EDITOR on a file in a private directory on tmpfs, wiped afterwards. */
#include <dirent.h>
#include <errno.h>
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

/* Wipes every file the editor left in dir (swap files too), then removes dir. */
static void wipe_dir(const char *dir)
{
    DIR *d = opendir(dir);
    if (d) {
        struct dirent *de;
        while ((de = readdir(d)) != NULL)
            if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
                wipe_file(dirfd(d), de->d_name);
        closedir(d);
    }
    if (rmdir(dir) != 0)
        cli_warn("could not remove the editor's directory %s: %s", dir, strerror(errno));
}

static int vim_like(const char *prog)
{
    const char *base = strrchr(prog, '/');
    base = base ? base + 1 : prog;
    return !strcmp(base, "vi") || !strcmp(base, "vim") || !strcmp(base, "nvim") ||
           !strcmp(base, "vim.basic") || !strcmp(base, "vim.tiny") || !strcmp(base, "view");
}

/* Runs the editor on path; 0 when it exited successfully. */
static int run_editor(const char *path)
{
    const char *ed = getenv("VISUAL");
    if (!ed || !*ed)
        ed = getenv("EDITOR");
    if (!ed || !*ed)
        ed = "vi";
    char *copy = strdup(ed);
    if (!copy)
        return -1;
    char *argv[EDITOR_ARGS_MAX + 8];
    size_t n = 0;
    for (char *save = NULL, *t = strtok_r(copy, " \t", &save); t && n < EDITOR_ARGS_MAX;
         t = strtok_r(NULL, " \t", &save))
        argv[n++] = t;
    if (n == 0) {
        free(copy);
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
    pid_t pid = fork();
    if (pid < 0) {
        free(copy);
        return -1;
    }
    if (pid == 0) {
        execvp(argv[0], argv);
        fprintf(stderr, "peerlog: cannot run the editor '%s': %s\n", argv[0], strerror(errno));
        _exit(127);
    }
    free(copy);
    int status;
    while (waitpid(pid, &status, 0) < 0)
        if (errno != EINTR)
            return -1;
    return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -1;
}

pl_secret *cli_edit(const char *initial, size_t n, int allow_non_tmpfs)
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
    char dir[PATH_MAX], path[PATH_MAX + 16];
    if ((size_t)snprintf(dir, sizeof dir, "%s/peerlog-XXXXXX", base) >= sizeof dir ||
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
    close(fd);
    if (run_editor(path) != 0) {
        fprintf(stderr, "peerlog: the editor did not finish successfully; nothing was "
                        "written\n");
        goto done;
    }
    out = cli_read_text_file(path, PL_BODY_PLAIN_MAX / 2);
done:
    wipe_dir(dir);
    return out;
}
