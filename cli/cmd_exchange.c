/* export, import, join, sync: moving entries between the members' laptops. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "cli/cli.h"
#include "formats/bundle.h"

/* The feed an --feed argument names: a member's fingerprint (as 'org show' prints it) or
 * the feed's 64 hex digits. */
static int resolve_feed(pl_vault *v, const char *arg, uint8_t feed[PL_SIGN_PK_BYTES],
                        pl_err *err, pl_status *st)
{
    char hex[2 * PL_SIGN_PK_BYTES + 1];
    size_t bin = 0;
    if (fmt_fingerprint_parse(arg, PL_SIGN_PK_BYTES, hex) == 0)
        return sodium_hex2bin(feed, PL_SIGN_PK_BYTES, hex, strlen(hex), NULL, &bin, NULL);
    if (fmt_fingerprint_parse(arg, PL_FINGERPRINT_BYTES, hex) != 0) {
        *st = pl_fail(err, PL_E_INVALID, "--feed takes a member's fingerprint (32 hex digits, "
                                         "see 'peerlog org show') or a feed's 64 hex digits");
        return -1;
    }
    pl_org *o = calloc(1, sizeof *o);
    *st = o ? vault_org(v, o, err) : pl_fail(err, PL_E_NOMEM, "out of memory");
    const pl_org_member *m = *st == PL_OK ? pl_org_find(o, hex) : NULL;
    if (m)
        memcpy(feed, m->id.sign_pk, PL_SIGN_PK_BYTES);
    else if (*st == PL_OK)
        *st = pl_fail(err, PL_E_NOTFOUND, "no member has fingerprint %s (see 'peerlog org "
                                          "show')", hex);
    free(o);
    return m ? 0 : -1;
}

int cmd_export(cli_ctx *ctx, int argc, char **argv)
{
    const char *feed_arg = NULL, *since_arg = NULL, *out = NULL;
    const cli_opt opts[] = {
        {"feed", "FEED", "whose entries: a member's fingerprint (default: your own)", &feed_arg,
         NULL},
        {"since", "SEQ", "the first sequence number to include (default 1)", &since_arg, NULL},
        {"o", "FILE", "the bundle file to write", &out, NULL},
    };
    const cli_command cmd = {
        "export", NULL, "Write a run of one feed's entries to a bundle file.",
        "The bundle is encrypted to the organisation's exchange key and signed by this\n"
        "device; any member's vault can import it ('peerlog import FILE'). Most people\n"
        "never need this: 'peerlog sync DIR' exports and imports through a shared folder.\n"
        "\nExamples:\n"
        "  peerlog export -o my-entries.bundle\n"
        "  peerlog export --feed 3d63ed51ac91f7266249986b0372a728 --since 40 -o kim.bundle\n",
        opts, sizeof opts / sizeof opts[0]};
    const char *pos[1];
    size_t npos;
    int rc = cli_parse(ctx, &cmd, argc, argv, pos, 0, &npos);
    if (rc)
        return rc < 0 ? EXIT_USAGE : cli_finish_stdout();
    if (!out || !*out)
        return cli_usage_error(&cmd, "name the file to write with -o FILE");
    unsigned long since = 1;
    if (since_arg && cli_parse_uint(since_arg, 1, (unsigned long)INT64_MAX, &since) != 0)
        return cli_usage_error(&cmd, "--since takes a sequence number (1 or more)");
    pl_vault *v = NULL;
    if ((rc = cli_open_vault(ctx, &v)) != EXIT_OK)
        return rc;
    pl_err err = {{0}};
    pl_status st = PL_OK;
    uint8_t feed[PL_SIGN_PK_BYTES];
    pl_identity me;
    vault_identity(v, &me);
    memcpy(feed, me.sign_pk, sizeof feed);
    uint8_t *buf = NULL;
    size_t len = 0;
    pl_export_info xi;
    if (feed_arg && resolve_feed(v, feed_arg, feed, &err, &st) != 0)
        goto out;
    if ((st = vault_export(v, feed, since, 0, &buf, &len, &xi, &err)) != PL_OK)
        goto out;
    st = pl_file_write_atomic(out, buf, len, &err);
out:
    free(buf);
    vault_close(v);
    if (st != PL_OK)
        return cli_fail(st, &err);
    if (ctx->json)
        return cli_print_json(json_pack("{s:s, s:I, s:I, s:i, s:I}", "file", out, "first",
                                        (json_int_t)xi.first, "last", (json_int_t)xi.last,
                                        "count", (int)xi.count, "bytes", (json_int_t)len));
    printf("Exported entries %llu to %llu (%u) to %s\n", (unsigned long long)xi.first,
           (unsigned long long)xi.last, xi.count, out);
    if (xi.count == PL_BUNDLE_MAX_ENTRIES)
        printf("The feed may go on: export the rest with --since %llu\n",
               (unsigned long long)xi.last + 1);
    return cli_finish_stdout();
}

int cmd_import(cli_ctx *ctx, int argc, char **argv)
{
    const cli_command cmd = {
        "import", "FILE", "Import a bundle another member exported.",
        "Everything in the bundle is checked first: that it belongs to your organisation,\n"
        "decrypts, and that every signature, every link of each feed and every author's\n"
        "membership and role hold. Then all of it is stored at once, or nothing is.\n"
        "Importing the same bundle again changes nothing. A bundle that would leave a gap\n"
        "names the missing entries; import the one that holds them first.\n"
        "\nExample:\n"
        "  peerlog import kim.bundle\n",
        NULL, 0};
    const char *pos[1];
    size_t npos;
    int rc = cli_parse(ctx, &cmd, argc, argv, pos, 1, &npos);
    if (rc)
        return rc < 0 ? EXIT_USAGE : cli_finish_stdout();
    if (npos != 1)
        return cli_usage_error(&cmd, "name the bundle file, e.g. 'peerlog import kim.bundle'");
    pl_err err = {{0}};
    uint8_t *buf = NULL;
    size_t len = 0;
    pl_status st = pl_file_read(pos[0], PL_BUNDLE_MAX_BYTES, &buf, &len, &err);
    if (st != PL_OK)
        return cli_fail(st, &err);
    pl_vault *v = NULL;
    if ((rc = cli_open_vault(ctx, &v)) != EXIT_OK) {
        free(buf);
        return rc;
    }
    pl_import_report r;
    st = vault_import(v, buf, len, &r, &err);
    free(buf);
    vault_close(v);
    if (st != PL_OK)
        return cli_fail(st, &err);
    if (r.cut)
        cli_warn("%u entr%s by removed member %s refused: written after the removal", r.cut,
                 r.cut == 1 ? "y" : "ies", r.cut_who);
    if (r.forks)
        cli_warn("%s: a fork, kept as evidence; 'peerlog verify' fails while it is there; tell "
                 "your coordinator and keep this vault as it is", r.fork);
    if (ctx->json) {
        rc = cli_print_json(json_pack("{s:i, s:i, s:i, s:i, s:i, s:i}", "entries",
                                      (int)r.entries, "added", (int)r.added, "known",
                                      (int)r.known, "forks", (int)r.forks, "cut", (int)r.cut,
                                      "keys_taken", (int)r.keys_taken));
        return rc == EXIT_OK && (r.forks || r.cut) ? EXIT_INTEGRITY : rc;
    }
    if (r.added == 0)
        printf("Nothing new: all %u entries were here already\n", r.entries);
    else
        printf("Imported %u new entr%s (%u were here already)\n", r.added,
               r.added == 1 ? "y" : "ies", r.known);
    if (r.keys_taken)
        printf("Took %u key%s granted to you\n", r.keys_taken, r.keys_taken == 1 ? "" : "s");
    rc = cli_finish_stdout();
    return rc == EXIT_OK && (r.forks || r.cut) ? EXIT_INTEGRITY : rc;
}

typedef struct {
    int tty;
    unsigned refused;
} sync_ui;

static void sync_event(void *ctx, pl_sync_event ev, const char *path, size_t done, size_t total,
                       const char *msg)
{
    sync_ui *ui = ctx;
    switch (ev) {
    case PL_SYNC_PROGRESS:
        if (ui->tty && total > 1) {
            fprintf(stderr, "\rpeerlog: importing bundle %zu of %zu", done, total);
            if (done >= total)
                fputc('\n', stderr);
        }
        break;
    case PL_SYNC_REFUSED:
        ui->refused++;
        cli_warn("%s refused: %s", path, msg);
        break;
    case PL_SYNC_WAITING:
        cli_warn("%s waits: %s", path, msg);
        break;
    case PL_SYNC_UNREADABLE:
        cli_warn("%s cannot be read: %s", path, msg);
        break;
    case PL_SYNC_CUT:
        cli_warn("%s: %s: refused (not imported)", path, msg);
        break;
    case PL_SYNC_STALE:
        cli_warn("%s %s", path, msg);
        break;
    case PL_SYNC_FORK:
        cli_warn("%s: %s: a fork, kept as evidence; 'peerlog verify' fails while it is there; "
                 "tell your coordinator and keep this vault as it is", path, msg);
        break;
    }
}

static int sync_print(const cli_ctx *ctx, const pl_sync_report *r)
{
    if (ctx->json)
        return cli_print_json(json_pack(
            "{s:i, s:I, s:i, s:i, s:I, s:I, s:i, s:i, s:i, s:i, s:I, s:b, s:b, s:b, s:i, s:i,"
            " s:I, s:i, s:I}",
            "bundles_written",
            (int)r->bundles_written, "entries_exported", (json_int_t)r->entries_exported,
            "invites_written", (int)r->invites_written, "bundles_imported",
            (int)r->bundles_imported, "entries_added", (json_int_t)r->entries_added, "forks",
            (json_int_t)r->forks, "keys_taken", (int)r->keys_taken, "bundles_refused",
            (int)r->bundles_refused, "bundles_waiting", (int)r->bundles_waiting,
            "bundles_unreadable", (int)r->bundles_unreadable, "entries_cut",
            (json_int_t)r->entries_cut, "waiting", r->waiting, "restore_settled",
            r->restore_settled, "restore_waiting", r->restore_waiting, "keys_rotated",
            (int)r->keys_rotated, "grants_written", (int)r->grants_written, "bodies_erased",
            (json_int_t)r->bodies_erased, "bundles_rewritten", (int)r->bundles_rewritten,
            "bodies_removed", (json_int_t)r->bodies_removed));
    printf("Received %llu new entr%s from %u bundle%s; sent %llu in %u bundle%s",
           (unsigned long long)r->entries_added, r->entries_added == 1 ? "y" : "ies",
           r->bundles_imported, r->bundles_imported == 1 ? "" : "s",
           (unsigned long long)r->entries_exported, r->bundles_written,
           r->bundles_written == 1 ? "" : "s");
    if (r->invites_written)
        printf("; wrote %u invitation%s", r->invites_written,
               r->invites_written == 1 ? "" : "s");
    printf("\n");
    if (r->keys_taken)
        printf("Took %u key%s granted to you\n", r->keys_taken, r->keys_taken == 1 ? "" : "s");
    if (r->keys_rotated || r->grants_written)
        printf("Mended what changes made at once by two coordinators left: %u new key%s, %u "
               "key grant%s (see 'peerlog org show')\n",
               r->keys_rotated, r->keys_rotated == 1 ? "" : "s", r->grants_written,
               r->grants_written == 1 ? "" : "s");
    if (r->bodies_erased)
        printf("Erased the content of %llu entr%s an erasure covers (their headers stay)\n",
               (unsigned long long)r->bodies_erased, r->bodies_erased == 1 ? "y" : "ies");
    if (r->bundles_rewritten)
        printf("Rewrote %u bundle file%s of yours in the folder without %llu erased bod%s\n",
               r->bundles_rewritten, r->bundles_rewritten == 1 ? "" : "s",
               (unsigned long long)r->bodies_removed, r->bodies_removed == 1 ? "y" : "ies");
    if (r->waiting)
        printf("The organisation's first entries are not in the folder yet: ask your "
               "coordinator to sync, then sync again\n");
    if (r->restore_settled)
        printf("This restored vault has caught up with its feed: it can write again\n");
    if (r->restore_waiting)
        printf("This restored vault writes nothing yet: the folder does not (yet) hold its own "
               "entries as far as the backup went, or holds some it could not take; check "
               "that this is the organisation's folder and sync again (see 'peerlog sync "
               "--help')\n");
    return cli_finish_stdout();
}

static int sync_report_exit(const cli_ctx *ctx, const pl_sync_report *r)
{
    int rc = sync_print(ctx, r);
    if (rc == EXIT_OK && r->bundles_waiting)
        printf("%u bundle%s wait%s for entries not in the folder yet; the next sync will try "
               "again\n", r->bundles_waiting, r->bundles_waiting == 1 ? "" : "s",
               r->bundles_waiting == 1 ? "s" : "");
    if (rc == EXIT_OK && r->bundles_refused) {
        cli_warn("%u bundle%s refused (see above); nothing of %s was imported; tell your "
                 "coordinator", r->bundles_refused, r->bundles_refused == 1 ? " was" : "s were",
                 r->bundles_refused == 1 ? "it" : "them");
        return EXIT_INTEGRITY;
    }
    if (rc == EXIT_OK && r->bundles_unreadable)
        return EXIT_ERROR;
    if (rc == EXIT_OK && r->forks)
        return EXIT_INTEGRITY;
    return rc;
}

/* sync --status: which feeds' files in the folder still carry erased content. */
static int folder_status(const cli_ctx *ctx, pl_vault *v, const char *dir)
{
    pl_err err = {{0}};
    pl_folder_status fs;
    pl_org *o = calloc(1, sizeof *o);
    pl_status st = o ? vault_folder_status(v, dir, &fs, &err)
                     : pl_fail(&err, PL_E_NOMEM, "out of memory");
    if (st == PL_OK && vault_org(v, o, &err) != PL_OK)
        memset(o, 0, sizeof *o); /* names unknown: feeds are shown by key */
    if (st != PL_OK) {
        free(o);
        return cli_fail(st, &err);
    }
    json_t *list = ctx->json ? json_array() : NULL;
    if (!ctx->json) {
        printf("%s: %u bundle file%s of %u feed%s\n", dir, fs.files, fs.files == 1 ? "" : "s",
               fs.feeds, fs.feeds == 1 ? "" : "s");
        if (!fs.nstale)
            printf("No file in the folder carries content this vault holds erased\n");
        else
            printf("Files that still carry erased content (their laptops have not synced "
                   "since the erasure):\n");
    }
    for (size_t i = 0; i < fs.nstale; i++) {
        const pl_folder_feed *f = &fs.stale[i];
        char hex[2 * PL_SIGN_PK_BYTES + 1], when[32] = "?";
        struct tm tm;
        time_t t = (time_t)f->newest;
        sodium_bin2hex(hex, sizeof hex, f->feed, PL_SIGN_PK_BYTES);
        const pl_org_member *m = NULL;
        for (unsigned k = 0; !m && k < o->nmembers; k++)
            if (!memcmp(o->members[k].id.sign_pk, f->feed, PL_SIGN_PK_BYTES))
                m = &o->members[k];
        if (f->newest && localtime_r(&t, &tm))
            strftime(when, sizeof when, "%Y-%m-%d %H:%M", &tm);
        const char *name = m && m->id.name[0] ? m->id.name : "an unknown member";
        if (list)
            json_array_append_new(list, json_pack("{s:s, s:s, s:s, s:i, s:I, s:s}", "feed", hex,
                                                  "member", name, "fingerprint",
                                                  m ? m->id.fingerprint : "", "files",
                                                  (int)f->files, "bodies",
                                                  (json_int_t)f->bodies, "newest_file", when));
        else
            printf("  %s (feed %.16s…): %u file%s, %llu erased bod%s; newest file %s\n", name,
                   hex, f->files, f->files == 1 ? "" : "s", (unsigned long long)f->bodies,
                   f->bodies == 1 ? "y" : "ies", when);
    }
    if (fs.unreadable)
        cli_warn("%u file%s could not be read or checked (damaged, or not this "
                 "organisation's); 'peerlog sync' names them", fs.unreadable,
                 fs.unreadable == 1 ? "" : "s");
    int rc;
    if (list)
        rc = cli_print_json(json_pack("{s:i, s:i, s:i, s:o}", "feeds", (int)fs.feeds, "files",
                                      (int)fs.files, "unreadable", (int)fs.unreadable,
                                      "still_erased", list));
    else {
        if (fs.nstale)
            printf("Ask each of them to run 'peerlog sync'; until then those files keep the "
                   "content, encrypted\n");
        rc = cli_finish_stdout();
    }
    int stale = fs.nstale != 0;
    free(fs.stale);
    free(o);
    return rc == EXIT_OK && stale ? EXIT_INTEGRITY : rc;
}

int cmd_sync(cli_ctx *ctx, int argc, char **argv)
{
    int resume = 0, status = 0;
    const cli_opt opts[] = {
        {"resume-after-restore", NULL, "let a restored vault write although the folder holds "
                                       "less of its feed than the backup (see below)",
         NULL, &resume},
        {"status", NULL, "change nothing; list the members whose files in the folder still "
                         "carry erased content (exit 4 when any do)",
         NULL, &status},
    };
    const cli_command cmd = {
        "sync", "DIR", "Exchange entries with the other members through a shared folder.",
        "DIR is a folder every member's laptop sees: synchronised by Syncthing or Nextcloud,\n"
        "a network share, or a USB stick carried around. sync imports every bundle file in\n"
        "it that this vault does not hold yet, then writes this vault's new entries as\n"
        "DIR/feeds/<your feed>/<first>-<last>-<id>.bundle. Each member writes only their own\n"
        "feed's files, so the folder never has conflicts. Bundles are encrypted: the folder's\n"
        "host sees file names, sizes and times, not what is in them.\n"
        "A coordinator's sync also leaves an invitation for each new member in DIR/invites.\n"
        "A vault restored from a backup writes nothing until a sync has brought back its own\n"
        "entries from the folder, at least as far as the backup went. Use\n"
        "--resume-after-restore only if you are sure this laptop's newer entries never\n"
        "reached the folder (say, it broke before it synced them).\n"
        "After an erasure ('peerlog erase'), sync leaves out the erased content of what it\n"
        "imports and rewrites your own files in the folder without it. Each member's sync\n"
        "rewrites that member's files: --status shows whose files still carry it.\n"
        "\nExamples:\n"
        "  peerlog sync ~/Sync/peer-support\n"
        "  peerlog sync --status ~/Sync/peer-support\n",
        opts, sizeof opts / sizeof opts[0]};
    const char *pos[1];
    size_t npos;
    int rc = cli_parse(ctx, &cmd, argc, argv, pos, 1, &npos);
    if (rc)
        return rc < 0 ? EXIT_USAGE : cli_finish_stdout();
    if (npos != 1)
        return cli_usage_error(&cmd, "name the shared folder, e.g. 'peerlog sync "
                                     "~/Sync/peer-support'");
    pl_vault *v = NULL;
    if ((rc = cli_open_vault(ctx, &v)) != EXIT_OK)
        return rc;
    if (status) {
        rc = folder_status(ctx, v, pos[0]);
        vault_close(v);
        return rc;
    }
    pl_err err = {{0}};
    pl_sync_report r;
    sync_ui ui = {isatty(STDERR_FILENO), 0};
    pl_status st = vault_sync(v, pos[0], resume ? PL_SYNC_RESUME_AFTER_RESTORE : 0, sync_event,
                              &ui, &r, &err);
    vault_close(v);
    if (st != PL_OK)
        return cli_fail(st, &err);
    return sync_report_exit(ctx, &r);
}

int cmd_join(cli_ctx *ctx, int argc, char **argv)
{
    const char *expect = NULL;
    const cli_opt opts[] = {
        {"expect-org", "FP", "the organisation's fingerprint, as your coordinator read it to you",
         &expect, NULL},
    };
    const cli_command cmd = {
        "join", "DIR-OR-FILE", "Join an organisation your coordinator added you to.",
        "First give your coordinator the file 'peerlog id export' writes, and read them your\n"
        "fingerprint ('peerlog id'). Once they have added you and synced, join with the\n"
        "shared folder (or the invitation file they gave you) and the organisation's\n"
        "fingerprint, which the coordinator reads to you from 'peerlog org show'. If the\n"
        "fingerprint differs, do not join: the folder or file is not what it claims.\n"
        "Join needs a new vault ('peerlog --vault DIR init').\n"
        "\nExamples:\n"
        "  peerlog join ~/Sync/peer-support --expect-org \"b8e1 42d0 ...\"\n"
        "  peerlog join invitation.plinvite --expect-org b8e142d0...\n",
        opts, sizeof opts / sizeof opts[0]};
    const char *pos[1];
    size_t npos;
    int rc = cli_parse(ctx, &cmd, argc, argv, pos, 1, &npos);
    if (rc)
        return rc < 0 ? EXIT_USAGE : cli_finish_stdout();
    if (npos != 1)
        return cli_usage_error(&cmd, "name the shared folder or the invitation file");
    if (!expect)
        return cli_usage_error(&cmd, "give the organisation's fingerprint with --expect-org FP "
                                     "(your coordinator reads it from 'peerlog org show')");
    struct stat sb;
    if (stat(pos[0], &sb) != 0) {
        fprintf(stderr, "peerlog: cannot find %s\n", pos[0]);
        return EXIT_ERROR;
    }
    int is_dir = S_ISDIR(sb.st_mode);
    pl_vault *v = NULL;
    if ((rc = cli_open_vault(ctx, &v)) != EXIT_OK)
        return rc;
    pl_identity me;
    vault_identity(v, &me);
    pl_err err = {{0}};
    pl_status st;
    uint8_t *buf = NULL;
    size_t len = 0;
    char *path = NULL;
    if (is_dir) {
        size_t n = strlen(pos[0]) + PL_FINGERPRINT_HEX + 32;
        path = malloc(n);
        if (path)
            snprintf(path, n, "%s/invites/%s.invite", pos[0], me.fingerprint);
    }
    st = is_dir && !path ? pl_fail(&err, PL_E_NOMEM, "out of memory")
                         : pl_file_read(is_dir ? path : pos[0],
                                        PL_INVITE_BYTES + PL_BUNDLE_MAX_BYTES, &buf, &len, &err);
    if (st == PL_E_IO && is_dir)
        st = pl_fail(&err, PL_E_NOTFOUND, "no invitation for you in %s yet (%s.invite): ask "
                                          "your coordinator to add you and sync",
                     pos[0], me.fingerprint);
    free(path);
    if (st == PL_OK)
        st = vault_join(v, buf, len, expect, &err);
    pl_sync_report r;
    memset(&r, 0, sizeof r);
    sync_ui ui = {isatty(STDERR_FILENO), 0};
    if (st == PL_OK && is_dir) {
        st = vault_sync(v, pos[0], 0, sync_event, &ui, &r, &err);
    } else if (st == PL_OK && len > PL_INVITE_BYTES) {
        pl_import_report ir;
        st = vault_import(v, buf + PL_INVITE_BYTES, len - PL_INVITE_BYTES, &ir, &err);
        r.entries_added = ir.added;
        r.keys_taken = ir.keys_taken;
        r.bundles_imported = 1;
    }
    free(buf);
    pl_org *o = calloc(1, sizeof *o);
    pl_err oerr;
    int have_org = st == PL_OK && o && vault_org(v, o, &oerr) == PL_OK;
    vault_close(v);
    if (st != PL_OK) {
        free(o);
        return cli_fail(st, &err);
    }
    if (!ctx->json) {
        if (have_org) {
            const pl_org_member *m = NULL;
            for (unsigned i = 0; i < o->nmembers; i++)
                if (!sodium_memcmp(o->members[i].id.sign_pk, me.sign_pk, PL_SIGN_PK_BYTES))
                    m = &o->members[i];
            char roles[96] = "";
            if (m)
                pl_roles_format(m->roles, roles, sizeof roles);
            printf("Joined %s (fingerprint checked) as %s\n",
                   o->name[0] ? o->name : "the organisation", roles[0] ? roles : "a member");
        } else {
            printf("Joined: the fingerprint matches; the organisation's entries have not "
                   "arrived yet\n");
        }
        printf("From now on, run 'peerlog sync DIR' with the shared folder to exchange "
               "entries\n");
    }
    free(o);
    return is_dir ? sync_report_exit(ctx, &r) : (ctx->json ? sync_print(ctx, &r)
                                                           : cli_finish_stdout());
}
