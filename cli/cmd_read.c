/* log, show, verify: the commands that read. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "cli/cli.h"
#include "formats/meta.h"

/* The header of e as a JSON object (no body). */
static json_t *entry_json(const pl_entry *e)
{
    char id[PL_ID_HEX + 1], feed[2 * PL_SIGN_PK_BYTES + 1], t[32];
    cli_hex(e->id, PL_ID_BYTES, id, sizeof id);
    cli_hex(e->h.feed, PL_SIGN_PK_BYTES, feed, sizeof feed);
    cli_time_iso(e->h.time_ms, t);
    json_t *j = json_pack("{s:s, s:s, s:s, s:I, s:s, s:I}", "id", id, "type", e->h.type, "feed",
                          feed, "seq", (json_int_t)e->h.seq, "time", t, "time_ms",
                          (json_int_t)e->h.time_ms);
    if (!j)
        return NULL;
    json_object_set_new(j, "subject", e->h.subject[0] ? json_string(e->h.subject) : json_null());
    json_t *refs = json_array(), *meta = json_object();
    for (unsigned i = 0; refs && i < e->h.nrefs; i++) {
        char r[PL_ID_HEX + 1];
        cli_hex(e->h.refs[i], PL_ID_BYTES, r, sizeof r);
        json_array_append_new(refs, json_string(r));
    }
    /* metadata lines "key=value\n" */
    const char *p = e->h.meta, *end = e->h.meta + e->h.meta_len;
    while (meta && p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *eq = memchr(p, '=', (size_t)(end - p));
        if (!nl || !eq || eq > nl)
            break;
        char key[PL_META_KEY_MAX + 1];
        size_t kl = (size_t)(eq - p);
        if (kl > PL_META_KEY_MAX)
            break;
        memcpy(key, p, kl);
        key[kl] = '\0';
        json_object_set_new(meta, key, json_stringn(eq + 1, (size_t)(nl - eq - 1)));
        p = nl + 1;
    }
    json_object_set_new(j, "refs", refs);
    json_object_set_new(j, "meta", meta);
    json_object_set_new(j, "amended", json_boolean(e->amended));
    json_object_set_new(j, "retracted", json_boolean(e->retracted));
    json_object_set_new(j, "erased", json_boolean(e->body == PL_BODY_ERASED));
    return j;
}

/* ---- log ------------------------------------------------------------------------------ */

typedef struct {
    int json;
    json_t *list;
    size_t n;
} log_state;

static int log_cb(void *ctx, const pl_entry *e)
{
    log_state *s = ctx;
    s->n++;
    if (s->json)
        return json_array_append_new(s->list, entry_json(e)) != 0;
    char id[PL_ID_HEX + 1], t[32], d[PL_DATE_LEN + 1], m[PL_META_VALUE_MAX + 1];
    cli_hex(e->id, PL_ID_BYTES, id, sizeof id);
    id[12] = '\0';
    cli_time_iso(e->h.time_ms, t);
    t[16] = '\0';
    t[10] = ' ';
    pl_entry_date(&e->h, d);
    printf("%s  %s  %-16s %-11s", id, t, e->h.type, e->h.subject[0] ? e->h.subject : "-");
    if (!strcmp(e->h.type, "session") || !strcmp(e->h.type, "consent.grant") ||
        !strcmp(e->h.type, "consent.withdraw"))
        printf("  %s", d);
    if (fmt_meta_get(e->h.meta, e->h.meta_len, "kind", m, sizeof m) == 0)
        printf(" %s", m);
    if (fmt_meta_get(e->h.meta, e->h.meta_len, "minutes", m, sizeof m) == 0)
        printf(" %s min", m);
    if (fmt_meta_get(e->h.meta, e->h.meta_len, "scopes", m, sizeof m) == 0)
        printf(" %s", m);
    if (fmt_meta_get(e->h.meta, e->h.meta_len, "of", m, sizeof m) == 0) {
        char r[PL_ID_HEX + 1];
        cli_hex(e->h.refs[0], PL_ID_BYTES, r, sizeof r);
        r[12] = '\0';
        printf(" %s %s", m, r);
    }
    if (e->retracted)
        printf("  [retracted]");
    else if (e->amended)
        printf("  [amended]");
    if (e->body == PL_BODY_ERASED)
        printf("  [erased]");
    putchar('\n');
    return 0;
}

int cmd_log(cli_ctx *ctx, int argc, char **argv)
{
    const char *type = NULL, *subject = NULL, *since = NULL;
    const cli_opt opts[] = {
        {"type", "TYPE", "only this type: consent.grant, consent.withdraw, session, note, "
                         "amend, retract", &type, NULL},
        {"subject", "PSEUDONYM", "only entries about this citizen", &subject, NULL},
        {"since", "DATE", "only entries on or after this date", &since, NULL},
    };
    const cli_command cmd = {
        "log", NULL, "List entries, oldest first (headers only; nothing is decrypted).",
        "Columns: entry id (a prefix; give it to 'show', 'amend', 'retract'), time written\n"
        "(UTC), type, citizen, then what the header says: the date a session or consent is\n"
        "about, kind, minutes, scopes; for amend and retract, what they change.\n"
        "\nExamples:\n"
        "  peerlog log --subject B-7K3Q-9F2M\n"
        "  peerlog log --type session --since 2026-11-01 --json\n",
        opts, sizeof opts / sizeof opts[0]};
    const char *pos[1];
    size_t npos;
    int rc = cli_parse(ctx, &cmd, argc, argv, pos, 0, &npos);
    if (rc)
        return rc < 0 ? EXIT_USAGE : cli_finish_stdout();
    if (since && !fmt_date_valid(since))
        return cli_usage_error(&cmd, "--since must be a date like 2026-11-01");
    if (type && !fmt_type_valid(type, strlen(type)))
        return cli_usage_error(&cmd, "--type must be a record type such as session");
    char subj[PL_SUBJECT_MAX + 1];
    if (subject) {
        size_t n = strlen(subject);
        for (size_t i = 0; i <= n && i <= PL_SUBJECT_MAX; i++)
            subj[i] = (char)(subject[i] >= 'a' && subject[i] <= 'z' ? subject[i] - 32 : subject[i]);
        if (n > PL_SUBJECT_MAX || !fmt_subject_valid(subj, n))
            return cli_usage_error(&cmd, "--subject must be a pseudonym like B-7K3Q-9F2M");
    }
    pl_vault *v = NULL;
    if ((rc = cli_open_vault(ctx, &v)) != EXIT_OK)
        return rc;
    log_state s = {ctx->json, ctx->json ? json_array() : NULL, 0};
    pl_filter f = {type, subject ? subj : NULL, since};
    pl_err err = {{0}};
    pl_status st = vault_log(v, &f, log_cb, &s, &err);
    vault_close(v);
    if (st != PL_OK) {
        json_decref(s.list);
        return cli_fail(st, &err);
    }
    if (ctx->json)
        return cli_print_json(s.list);
    if (s.n == 0)
        fprintf(stderr, "No entries%s.\n", type || subject || since ? " match" : " yet");
    return cli_finish_stdout();
}

/* ---- show ----------------------------------------------------------------------------- */

/* Prints text from a body (another member may have written it) with every control
 * character and bidirectional mark shown as U+FFFD: a body cannot drive the terminal or
 * disguise what is printed around it. Newlines and tabs are the caller's to handle. */
static void print_safe(const char *s, size_t n)
{
    for (size_t i = 0; i < n;) {
        size_t bad = s[i] == '\t' ? 0 : fmt_text_unsafe_at(s + i, n - i);
        if (bad) {
            fputs("\xef\xbf\xbd", stdout);
            i += bad;
        } else {
            putchar(s[i]);
            i++;
        }
    }
}

static void print_safe_str(const char *s)
{
    print_safe(s, strlen(s));
}

/* Prints a body's fields as "key: value" lines, text fields indented. */
static void print_body(const json_t *body)
{
    const char *key;
    json_t *val;
    json_object_foreach((json_t *)body, key, val) {
        fputs("  ", stdout);
        print_safe_str(key);
        if (json_is_string(val)) {
            const char *s = json_string_value(val);
            if (strchr(s, '\n')) {
                fputs(":\n", stdout);
                for (const char *p = s; *p;) {
                    const char *nl = strchr(p, '\n');
                    size_t n = nl ? (size_t)(nl - p) : strlen(p);
                    fputs("    ", stdout);
                    print_safe(p, n);
                    putchar('\n');
                    p += n + (nl ? 1 : 0);
                }
            } else {
                fputs(": ", stdout);
                print_safe_str(s);
                putchar('\n');
            }
        } else if (json_is_array(val)) {
            size_t i;
            json_t *x;
            putchar(':');
            json_array_foreach(val, i, x) {
                fputs(i ? ", " : " ", stdout);
                print_safe_str(json_is_string(x) ? json_string_value(x) : "?");
            }
            putchar('\n');
        } else if (json_is_integer(val)) {
            printf(": %lld\n", (long long)json_integer_value(val));
        } else {
            /* other JSON (a schema may allow it later): straight to stdout, no heap copy;
             * jansson escapes control characters */
            fputs(": ", stdout);
            if (json_dumpf(val, stdout, JSON_COMPACT | JSON_ENCODE_ANY | JSON_ENSURE_ASCII) != 0)
                fputc('?', stdout);
            putchar('\n');
        }
    }
}

static void print_header_line(const pl_entry *e, const char *label)
{
    char id[PL_ID_HEX + 1], t[32];
    cli_hex(e->id, PL_ID_BYTES, id, sizeof id);
    cli_time_iso(e->h.time_ms, t);
    printf("%s %s\n  type: %s   written: %s   seq: %llu%s%s\n", label, id, e->h.type, t,
           (unsigned long long)e->h.seq, e->h.subject[0] ? "   citizen: " : "",
           e->h.subject);
}

/* Adds the decrypted body of e to j (or the reason it cannot be shown); prints in text
 * mode. Returns the status of the body read. */
static pl_status body_into(pl_vault *v, const pl_entry *e, json_t *j, int json, int *denied,
                           pl_err *err)
{
    json_t *body = NULL;
    pl_status st = vault_body(v, e, &body, err);
    if (st == PL_E_ACCESS) {
        /* no key here for it: the header is still shown, the body is not */
        if (json)
            json_object_set_new(j, "readable", json_false());
        else
            printf("  (not readable by your roles)\n");
        *denied = 1;
        return PL_OK;
    }
    if (st == PL_OK) {
        if (json)
            json_object_set(j, "body", body);
        else
            print_body(body);
        json_decref(body);
    } else if (st == PL_E_NOTFOUND) {
        /* erased: the header stays and says so, and by which erasure */
        pl_erasure by;
        pl_err ignore;
        int known = vault_erasure_of(v, e, &by, &ignore) == PL_OK;
        char eid[PL_ID_HEX + 1] = "";
        if (known)
            cli_hex(by.id, PL_ID_BYTES, eid, sizeof eid);
        if (json) {
            json_object_set_new(j, "body", json_null());
            if (known)
                json_object_set_new(j, "erased_by", json_pack("{s:s, s:s}", "entry", eid,
                                                              "date", by.date));
        } else if (known) {
            printf("  (the content was erased by entry %.12s on %s)\n", eid, by.date);
        } else {
            printf("  (the content is missing and no erasure covers it: run 'peerlog "
                   "verify')\n");
        }
        st = PL_OK;
    }
    return st;
}

int cmd_show(cli_ctx *ctx, int argc, char **argv)
{
    int history = 0;
    const cli_opt opts[] = {
        {"history", NULL, "show every version: the original, each amendment, a retraction",
         NULL, &history},
    };
    const cli_command cmd = {
        "show", "ENTRY", "Show an entry's content (decrypted), as last amended.",
        "ENTRY is an id or a unique prefix of one (at least 4 characters, see 'peerlog log').\n"
        "\nExamples:\n"
        "  peerlog show 3f9a2c\n"
        "  peerlog show 3f9a2c --history --json\n",
        opts, sizeof opts / sizeof opts[0]};
    const char *pos[1];
    size_t npos;
    int rc = cli_parse(ctx, &cmd, argc, argv, pos, 1, &npos);
    if (rc)
        return rc < 0 ? EXIT_USAGE : cli_finish_stdout();
    if (npos != 1)
        return cli_usage_error(&cmd, "name the entry to show, e.g. 'peerlog show 3f9a2c'");
    pl_vault *v = NULL;
    if ((rc = cli_open_vault(ctx, &v)) != EXIT_OK)
        return rc;
    pl_err err = {{0}};
    pl_entry e, *hist = NULL;
    size_t nh = 0;
    pl_status st = vault_find(v, pos[0], &e, &err);
    if (st == PL_OK)
        st = vault_history(v, &e, &hist, &nh, &err);
    if (st != PL_OK) {
        vault_close(v);
        return cli_fail(st, &err);
    }
    /* The record: its original, the latest amend (content), a retraction if any. */
    size_t latest = 0, retract = nh;
    for (size_t i = 1; i < nh; i++) {
        if (!strcmp(hist[i].h.type, "amend"))
            latest = i;
        else if (!strcmp(hist[i].h.type, "retract"))
            retract = i;
    }
    json_t *out = NULL;
    int denied = 0;
    if (history) {
        json_t *list = ctx->json ? json_array() : NULL;
        for (size_t i = 0; i < nh && st == PL_OK; i++) {
            json_t *j = ctx->json ? entry_json(&hist[i]) : NULL;
            if (!ctx->json)
                print_header_line(&hist[i], i == 0 ? "Original" : !strcmp(hist[i].h.type,
                                                                          "amend")
                                                                      ? "\nAmendment"
                                                                      : "\nRetraction");
            st = body_into(v, &hist[i], j, ctx->json, &denied, &err);
            if (j)
                json_array_append_new(list, j);
        }
        out = ctx->json ? json_pack("{s:o}", "versions", list) : NULL;
    } else {
        out = ctx->json ? entry_json(&hist[0]) : NULL;
        if (!ctx->json) {
            print_header_line(&hist[0], "Entry");
            if (latest)
                printf("  (amended; this is the latest version; --history shows all)\n");
        }
        st = body_into(v, &hist[latest], out, ctx->json, &denied, &err);
        if (ctx->json && out && latest) {
            char a[PL_ID_HEX + 1];
            cli_hex(hist[latest].id, PL_ID_BYTES, a, sizeof a);
            json_object_set_new(out, "latest_version", json_string(a));
        }
        if (st == PL_OK && retract < nh) {
            json_t *rj = ctx->json ? entry_json(&hist[retract]) : NULL;
            if (!ctx->json)
                print_header_line(&hist[retract], "RETRACTED by");
            st = body_into(v, &hist[retract], rj, ctx->json, &denied, &err);
            if (out && rj)
                json_object_set_new(out, "retraction", rj);
            else
                json_decref(rj);
        }
    }
    free(hist);
    vault_close(v);
    if (st != PL_OK) {
        json_decref(out);
        return cli_fail(st, &err);
    }
    int rc_out = ctx->json ? cli_print_json(out) : cli_finish_stdout();
    if (denied) {
        fprintf(stderr, "peerlog: this body is not readable by your roles\n");
        return EXIT_ACCESS;
    }
    return rc_out;
}

/* ---- verify --------------------------------------------------------------------------- */

int cmd_verify(cli_ctx *ctx, int argc, char **argv)
{
    int every = 0;
    const cli_opt opts[] = {
        {"every-signature", NULL, "check each entry's signature, not only each feed's head",
         NULL, &every},
    };
    const cli_command cmd = {
        "verify", NULL, "Check the vault: every chain link, body hash and key wrap, and the "
                        "signatures.",
        "Each entry names the hash of the one before it, so checking all hashes and the\n"
        "signature of each feed's newest entry proves the whole feed; --every-signature\n"
        "checks them all. On any problem the exit code is 4 and each problem is named by\n"
        "feed and sequence number.\n"
        "\nExamples:\n"
        "  peerlog verify\n"
        "  peerlog verify --every-signature --json\n",
        opts, sizeof opts / sizeof opts[0]};
    const char *pos[1];
    size_t npos;
    int rc = cli_parse(ctx, &cmd, argc, argv, pos, 0, &npos);
    if (rc)
        return rc < 0 ? EXIT_USAGE : cli_finish_stdout();
    pl_vault *v = NULL;
    if ((rc = cli_open_vault(ctx, &v)) != EXIT_OK)
        return rc;
    pl_verify_report *rep = calloc(1, sizeof *rep);
    if (!rep) {
        vault_close(v);
        fprintf(stderr, "peerlog: out of memory\n");
        return EXIT_ERROR;
    }
    pl_err err = {{0}};
    pl_status st = vault_verify(v, every, rep, &err);
    /* Concurrent membership changes and how they were resolved (formats/org.md §10.6). */
    pl_org *o = calloc(1, sizeof *o);
    pl_err oerr;
    if (o && vault_org(v, o, &oerr) != PL_OK)
        o->nnotes = 0;
    vault_close(v);
    if (st != PL_OK && st != PL_E_INTEGRITY) {
        free(rep);
        free(o);
        return cli_fail(st, &err);
    }
    size_t shown = rep->nproblems < PL_VERIFY_MAX_PROBLEMS ? rep->nproblems
                                                           : PL_VERIFY_MAX_PROBLEMS;
    if (ctx->json) {
        json_t *probs = json_array();
        for (size_t i = 0; i < shown; i++) {
            char feed[2 * PL_SIGN_PK_BYTES + 1];
            cli_hex(rep->problem[i].feed, PL_SIGN_PK_BYTES, feed, sizeof feed);
            json_array_append_new(probs, json_pack("{s:s, s:I, s:s}", "feed", feed, "seq",
                                                   (json_int_t)rep->problem[i].seq, "what",
                                                   rep->problem[i].what));
        }
        json_t *j = json_pack("{s:b, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:o}", "ok",
                              rep->nproblems == 0 && st == PL_OK, "feeds",
                              (json_int_t)rep->feeds, "entries", (json_int_t)rep->entries,
                              "bodies_checked", (json_int_t)rep->bodies_checked,
                              "bodies_erased", (json_int_t)rep->bodies_erased,
                              "not_counted", (json_int_t)rep->not_counted,
                              "forks_resolved", (json_int_t)rep->forks_resolved,
                              "signatures_checked", (json_int_t)rep->signatures_checked,
                              "problem_count", (json_int_t)rep->nproblems, "problems", probs);
        json_t *notes = json_array();
        for (unsigned i = 0; o && notes && i < o->nnotes && i < PL_ORG_NOTES_MAX; i++)
            json_array_append_new(notes, json_string(o->notes[i]));
        json_object_set_new(j, "org_notes", notes);
        json_t *er = json_array();
        for (size_t i = 0; er && i < rep->nerasures && i < PL_VERIFY_ERASURES_MAX; i++) {
            char eid[PL_ID_HEX + 1];
            cli_hex(rep->erasure[i].id, PL_ID_BYTES, eid, sizeof eid);
            json_array_append_new(er, json_pack("{s:s, s:s, s:s, s:I}", "entry", eid, "subject",
                                                rep->erasure[i].subject, "date",
                                                rep->erasure[i].date, "bodies",
                                                (json_int_t)rep->erasure[i].bodies));
        }
        json_object_set_new(j, "erasures", er);
        rc = cli_print_json(j);
    } else {
        for (size_t i = 0; i < shown; i++) {
            char feed[2 * PL_SIGN_PK_BYTES + 1];
            cli_hex(rep->problem[i].feed, PL_SIGN_PK_BYTES, feed, sizeof feed);
            feed[16] = '\0';
            if (rep->problem[i].seq)
                fprintf(stderr, "peerlog: feed %s seq %llu: %s\n", feed,
                        (unsigned long long)rep->problem[i].seq, rep->problem[i].what);
            else
                fprintf(stderr, "peerlog: %s\n", rep->problem[i].what);
        }
        if (rep->nproblems > shown)
            fprintf(stderr, "peerlog: ... and %zu more problems\n", rep->nproblems - shown);
        if (rep->nproblems == 0 && st == PL_OK)
            printf("OK: %llu feed%s, %llu entries, %llu bodies checked (%llu erased), "
                   "%llu signature%s checked\n",
                   (unsigned long long)rep->feeds, rep->feeds == 1 ? "" : "s",
                   (unsigned long long)rep->entries, (unsigned long long)rep->bodies_checked,
                   (unsigned long long)rep->bodies_erased,
                   (unsigned long long)rep->signatures_checked,
                   rep->signatures_checked == 1 ? "" : "s");
        if (rep->nproblems == 0 && st == PL_OK && rep->not_counted)
            printf("%llu entr%s by removed members, written after their removal, kept as "
                   "evidence; they do not count\n", (unsigned long long)rep->not_counted,
                   rep->not_counted == 1 ? "y" : "ies");
        for (size_t i = 0; rep->nproblems == 0 && st == PL_OK && i < rep->nerasures &&
                           i < PL_VERIFY_ERASURES_MAX; i++) {
            const pl_erasure *x = &rep->erasure[i];
            char eid[13];
            cli_hex(x->id, 6, eid, sizeof eid);
            char by[PL_NAME_MAX + 1] = "?";
            for (unsigned m = 0; o && m < o->nmembers; m++)
                if (!sodium_memcmp(o->members[m].id.sign_pk, x->by, PL_SIGN_PK_BYTES))
                    snprintf(by, sizeof by, "%s", o->members[m].id.name[0]
                                                      ? o->members[m].id.name
                                                      : o->members[m].id.fingerprint);
            printf("%llu bod%s about %s erased by entry %s (%s, coordinator %s)\n",
                   (unsigned long long)x->bodies, x->bodies == 1 ? "y" : "ies", x->subject, eid,
                   x->date, by);
        }
        if (rep->nproblems == 0 && st == PL_OK && rep->forks_resolved)
            printf("%llu entr%s at forks that a coordinator resolved; both branches are kept "
                   "as evidence\n", (unsigned long long)rep->forks_resolved,
                   rep->forks_resolved == 1 ? "y" : "ies");
        if (o)
            cli_print_org_notes(o);
        if (!(rep->nproblems == 0 && st == PL_OK))
            fprintf(stderr, "peerlog: the vault FAILED verification (%zu problem%s); keep "
                            "this copy and tell your coordinator\n",
                    rep->nproblems, rep->nproblems == 1 ? "" : "s");
        rc = cli_finish_stdout();
    }
    int bad = rep->nproblems != 0 || st != PL_OK;
    if (st != PL_OK && rep->nproblems == 0)
        fprintf(stderr, "peerlog: %s\n", err.msg);
    free(rep);
    free(o);
    return bad ? EXIT_INTEGRITY : rc;
}
