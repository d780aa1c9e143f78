/* consent, session, note, amend, retract: the commands that add entries. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "cli/cli.h"

#define SCOPES_HELP                                                                         \
    "Scopes: peer-support, record-keeping, supervision-sharing, contact-professionals,\n"   \
    "evaluation. A session needs peer-support and record-keeping on its date.\n"

/* Copies a pseudonym (or "new") as typed into out, upper-cased. -1 when it cannot be one. */
static int subject_arg(const char *in, char out[PL_SUBJECT_MAX + 1])
{
    size_t n = strlen(in);
    if (!strcmp(in, "new")) {
        memcpy(out, "new", 4);
        return 0;
    }
    if (n != PL_PSEUDONYM_LEN)
        return -1;
    for (size_t i = 0; i <= n; i++)
        out[i] = (char)toupper((unsigned char)in[i]);
    return fmt_pseudonym_valid(out) ? 0 : -1;
}

static int date_arg(const cli_command *cmd, const char *opt, const char *in,
                    char out[PL_DATE_LEN + 1])
{
    if (!in) {
        pl_today(out);
        return EXIT_OK;
    }
    if (!fmt_date_valid(in))
        return cli_usage_error(cmd, "--%s must be a date like 2026-11-23, not '%s'", opt, in);
    memcpy(out, in, PL_DATE_LEN + 1);
    return EXIT_OK;
}

/* Sets key to a JSON string made from text[n]; EXIT_ERROR when it is not UTF-8. */
static int set_text(json_t *body, const char *key, const char *text, size_t n)
{
    if (memchr(text, '\0', n)) {
        fprintf(stderr, "peerlog: the %s contains a NUL byte (is it a binary file?); save it "
                        "as plain text; nothing was written\n", key);
        return EXIT_ERROR;
    }
    json_t *s = json_stringn(text, n);
    if (!s) {
        fprintf(stderr, "peerlog: the %s is not UTF-8 text; nothing was written\n", key);
        return EXIT_ERROR;
    }
    json_object_set_new(body, key, s);
    return EXIT_OK;
}

/* A comma list as a JSON array of strings (empty items refused). */
static json_t *list_arg(const char *list)
{
    json_t *a = json_array();
    const char *p = list;
    while (a && *p) {
        const char *end = strchr(p, ',');
        size_t n = end ? (size_t)(end - p) : strlen(p);
        if (n == 0 || json_array_append_new(a, json_stringn(p, n)) != 0) {
            json_decref(a);
            return NULL;
        }
        p += n + (end ? 1 : 0);
        if (end && !*p) {
            json_decref(a);
            return NULL;
        }
    }
    if (a && json_array_size(a) == 0) {
        json_decref(a);
        return NULL;
    }
    return a;
}

static int scopes_arg(const cli_command *cmd, const char *in, unsigned *mask)
{
    char bad[64];
    if (pl_scopes_parse(in, mask, bad, sizeof bad) != 0 || *mask == 0)
        return cli_usage_error(cmd, "unknown consent scope '%s'; use a comma list of "
                                    "peer-support, record-keeping, supervision-sharing, "
                                    "contact-professionals, evaluation", bad);
    return EXIT_OK;
}

/* Text for a body field from --note-file or --edit (starting from initial); NULL when
 * neither was given (*rc EXIT_OK) or after an error (*rc set). */
static pl_secret *text_input(const char *file, int edit, int allow_non_tmpfs,
                             const char *initial, int *rc)
{
    pl_secret *t = NULL;
    *rc = EXIT_OK;
    if (file)
        t = cli_read_text_file(file, PL_NOTE_MAX);
    else if (edit)
        t = cli_edit(initial ? initial : "", initial ? strlen(initial) : 0, allow_non_tmpfs,
                     PL_NOTE_MAX);
    else
        return NULL;
    if (!t) {
        *rc = EXIT_ERROR;
        return NULL;
    }
    /* trailing newlines are the editor's, not the writer's */
    while (t->len && (t->p[t->len - 1] == '\n' || t->p[t->len - 1] == '\r'))
        t->len--;
    t->p[t->len] = '\0';
    return t;
}

static void short_id(const uint8_t id[PL_ID_BYTES], char out[13])
{
    char hex[PL_ID_HEX + 1];
    cli_hex(id, PL_ID_BYTES, hex, sizeof hex);
    memcpy(out, hex, 12);
    out[12] = '\0';
}

/* Prints the result of an added entry. */
static int report_entry(const cli_ctx *ctx, const pl_entry *e, const char *what)
{
    char hex[PL_ID_HEX + 1], sid[13];
    cli_hex(e->id, PL_ID_BYTES, hex, sizeof hex);
    short_id(e->id, sid);
    if (ctx->json) {
        json_t *j = json_pack("{s:s, s:s, s:I}", "entry", hex, "type", e->h.type, "seq",
                              (json_int_t)e->h.seq);
        if (j && e->h.subject[0])
            json_object_set_new(j, "subject", json_string(e->h.subject));
        return cli_print_json(j);
    }
    printf("%s (entry %s)\n", what, sid);
    return cli_finish_stdout();
}

/* Adds the record to v (opened by the caller, or here when v is NULL), closes the vault and
 * prints per report_entry. Takes body. */
static int add_record(cli_ctx *ctx, pl_vault *v, const char *type, const char *subject,
                      json_t *body, const char *what)
{
    int rc;
    if (!v && (rc = cli_open_vault(ctx, &v)) != EXIT_OK) {
        json_decref(body);
        return rc;
    }
    pl_err err = {{0}};
    pl_entry e;
    char made[PL_SUBJECT_MAX + 1] = "";
    pl_status st = vault_record_add(v, type, subject, body, made, &e, &err);
    json_decref(body);
    vault_close(v);
    if (st != PL_OK)
        return cli_fail(st, &err);
    char line[160];
    if (!strcmp(type, "consent.grant"))
        snprintf(line, sizeof line, "Consent recorded for %s", e.h.subject);
    else
        snprintf(line, sizeof line, "%s", what);
    return report_entry(ctx, &e, line);
}

/* ---- consent -------------------------------------------------------------------------- */

static int consent_grant(cli_ctx *ctx, int argc, char **argv)
{
    const char *subject = NULL, *scopes = NULL, *name = NULL, *contact = NULL, *method = NULL,
               *from = NULL, *until = NULL;
    const cli_opt opts[] = {
        {"subject", "new|PSEUDONYM", "'new' for a new citizen, or an existing pseudonym",
         &subject, NULL},
        {"scopes", "LIST", "comma list of what the citizen agrees to", &scopes, NULL},
        {"name", "NAME", "the citizen's name (asked if not given; stored encrypted)", &name,
         NULL},
        {"contact", "TEXT", "phone or e-mail (asked if not given; stored encrypted)", &contact,
         NULL},
        {"method", "HOW", "written, verbal or digital (default: written)", &method, NULL},
        {"valid-from", "DATE", "first day the consent covers (default: today)", &from, NULL},
        {"valid-until", "DATE", "last day the consent covers (default: until withdrawn)",
         &until, NULL},
    };
    const cli_command cmd = {
        "consent grant", NULL, "Record a citizen's consent; 'new' makes a pseudonym for them.",
        SCOPES_HELP
        "\nThe citizen is named in the ledger only by a random pseudonym such as B-7K3Q-9F2M.\n"
        "Name and contact go into the encrypted body. Options on the command line can be\n"
        "seen by other programs on this computer while peerlog runs: leave --name and\n"
        "--contact out to be asked for them instead.\n"
        "\nExample:\n"
        "  peerlog consent grant --subject new --scopes peer-support,record-keeping\n",
        opts, sizeof opts / sizeof opts[0]};
    const char *pos[1];
    size_t npos;
    int rc = cli_parse(ctx, &cmd, argc, argv, pos, 0, &npos);
    if (rc)
        return rc < 0 ? EXIT_USAGE : cli_finish_stdout();
    char subj[PL_SUBJECT_MAX + 1], d_from[PL_DATE_LEN + 1], d_until[PL_DATE_LEN + 1];
    unsigned mask;
    if (!subject)
        return cli_usage_error(&cmd, "--subject is required ('new' for a new citizen)");
    if (subject_arg(subject, subj) != 0)
        return cli_usage_error(&cmd, "--subject must be 'new' or a pseudonym like B-7K3Q-9F2M");
    if (!scopes)
        return cli_usage_error(&cmd, "--scopes is required, e.g. peer-support,record-keeping");
    if ((rc = scopes_arg(&cmd, scopes, &mask)) != EXIT_OK ||
        (rc = date_arg(&cmd, "valid-from", from, d_from)) != EXIT_OK ||
        (until && (rc = date_arg(&cmd, "valid-until", until, d_until)) != EXIT_OK))
        return rc;
    if (method && strcmp(method, "written") && strcmp(method, "verbal") &&
        strcmp(method, "digital"))
        return cli_usage_error(&cmd, "--method must be written, verbal or digital");

    char list[128];
    pl_scopes_format(mask, list, sizeof list);
    json_t *body = json_pack("{s:o, s:s, s:s}", "scopes", list_arg(list), "valid_from", d_from,
                             "method", method ? method : "written");
    if (!body)
        return cli_fail(PL_E_NOMEM, &(pl_err){"out of memory"});
    if (until)
        json_object_set_new(body, "valid_until", json_string(d_until));
    /* Name and contact: from the options, else asked on a terminal (Enter skips). */
    pl_secret *asked_name = NULL, *asked_contact = NULL;
    if (!name && cli_have_tty())
        asked_name = cli_ask("Citizen's name (stored encrypted; Enter to skip): ");
    if (!contact && cli_have_tty())
        asked_contact = cli_ask("Phone or e-mail (stored encrypted; Enter to skip): ");
    rc = EXIT_OK;
    if (name && *name)
        rc = set_text(body, "name", name, strlen(name));
    else if (asked_name && asked_name->len)
        rc = set_text(body, "name", (const char *)asked_name->p, asked_name->len);
    if (rc == EXIT_OK && contact && *contact)
        rc = set_text(body, "contact", contact, strlen(contact));
    else if (rc == EXIT_OK && asked_contact && asked_contact->len)
        rc = set_text(body, "contact", (const char *)asked_contact->p, asked_contact->len);
    pl_secret_free(asked_name);
    pl_secret_free(asked_contact);
    if (rc != EXIT_OK) {
        json_decref(body);
        return rc;
    }
    return add_record(ctx, NULL, "consent.grant", subj, body, NULL);
}

static int consent_withdraw(cli_ctx *ctx, int argc, char **argv)
{
    const char *subject = NULL, *scopes = NULL, *date = NULL, *reason = NULL;
    const cli_opt opts[] = {
        {"subject", "PSEUDONYM", "the citizen, e.g. B-7K3Q-9F2M", &subject, NULL},
        {"scopes", "LIST", "what to withdraw (default: everything)", &scopes, NULL},
        {"date", "DATE", "the day the citizen withdrew (default: today)", &date, NULL},
        {"reason", "TEXT", "why, if the citizen said (stored encrypted)", &reason, NULL},
    };
    const cli_command cmd = {
        "consent withdraw", NULL, "Record that a citizen withdraws consent.",
        SCOPES_HELP
        "\nOnce a withdrawal is recorded, no new session (of any date) needing a withdrawn\n"
        "scope is accepted until the citizen grants it again. --date records when the\n"
        "citizen withdrew. Entries already made stay; erasing them is a separate step for\n"
        "the coordinator.\n"
        "\nExample:\n"
        "  peerlog consent withdraw --subject B-7K3Q-9F2M\n",
        opts, sizeof opts / sizeof opts[0]};
    const char *pos[1];
    size_t npos;
    int rc = cli_parse(ctx, &cmd, argc, argv, pos, 0, &npos);
    if (rc)
        return rc < 0 ? EXIT_USAGE : cli_finish_stdout();
    char subj[PL_SUBJECT_MAX + 1], d[PL_DATE_LEN + 1];
    unsigned mask = PL_SCOPE_ALL;
    if (!subject || subject_arg(subject, subj) != 0 || !strcmp(subj, "new"))
        return cli_usage_error(&cmd, "--subject must be a pseudonym like B-7K3Q-9F2M");
    if ((scopes && (rc = scopes_arg(&cmd, scopes, &mask)) != EXIT_OK) ||
        (rc = date_arg(&cmd, "date", date, d)) != EXIT_OK)
        return rc;
    pl_vault *v = NULL;
    if ((rc = cli_open_vault(ctx, &v)) != EXIT_OK)
        return rc;
    pl_err err = {{0}};
    pl_entry e;
    pl_status st = vault_consent_withdraw(v, subj, mask, d, reason, &e, &err);
    vault_close(v);
    if (st != PL_OK)
        return cli_fail(st, &err);
    char line[96];
    snprintf(line, sizeof line, "Consent withdrawn for %s (dated %s)", subj, d);
    return report_entry(ctx, &e, line);
}

int cmd_consent(cli_ctx *ctx, int argc, char **argv)
{
    static const cli_verb verbs[] = {
        {"grant", consent_grant, "record a citizen's consent"},
        {"withdraw", consent_withdraw, "record a withdrawal"},
        {"receipt", cli_consent_receipt, "the citizen's receipt of what they agreed to"},
        {"check-receipt", cli_consent_check_receipt, "show that a receipt matches the ledger"},
    };
    return cli_dispatch("consent", verbs, sizeof verbs / sizeof verbs[0], ctx, argc, argv);
}

/* ---- session and note ----------------------------------------------------------------- */

int cmd_session(cli_ctx *ctx, int argc, char **argv)
{
    const char *subject = NULL, *minutes = NULL, *kind = NULL, *date = NULL, *place = NULL,
               *themes = NULL, *note_file = NULL;
    int edit = 0, non_tmpfs = 0;
    const cli_opt opts[] = {
        {"subject", "PSEUDONYM", "the citizen, e.g. B-7K3Q-9F2M", &subject, NULL},
        {"minutes", "N", "how long the meeting lasted (1-1440)", &minutes, NULL},
        {"kind", "KIND", "one-to-one, accompaniment, group or ward", &kind, NULL},
        {"date", "DATE", "when it took place (default: today)", &date, NULL},
        {"place", "TEXT", "where (stored encrypted)", &place, NULL},
        {"themes", "LIST", "comma list of themes, e.g. housing,sleep", &themes, NULL},
        {"note-file", "FILE", "the session note from FILE ('-': standard input)", &note_file,
         NULL},
        {"edit", NULL, "write the note in your editor (in memory, wiped after)", NULL, &edit},
        {"allow-non-tmpfs", NULL, "let --edit use a disk directory if no tmpfs exists", NULL,
         &non_tmpfs},
    };
    const cli_command cmd = {
        "session add", NULL, "Record a meeting with a citizen.",
        "Refused unless the citizen's consent covers peer-support and record-keeping on the\n"
        "session's date. The note is readable only by you (and, later, your supervisor).\n"
        "\nExamples:\n"
        "  peerlog session add --subject B-7K3Q-9F2M --minutes 60 --kind one-to-one --edit\n"
        "  echo 'Walked to the job centre.' | peerlog session add --subject B-7K3Q-9F2M \\\n"
        "      --minutes 90 --kind accompaniment --themes work --note-file -\n",
        opts, sizeof opts / sizeof opts[0]};
    int rc = cli_expect_word(&cmd, argc, argv, "add");
    if (rc)
        return rc - 1;
    const char *pos[1];
    size_t npos;
    rc = cli_parse(ctx, &cmd, argc - 1, argv + 1, pos, 0, &npos);
    if (rc)
        return rc < 0 ? EXIT_USAGE : cli_finish_stdout();
    char subj[PL_SUBJECT_MAX + 1], d[PL_DATE_LEN + 1];
    unsigned long mins;
    if (!subject || subject_arg(subject, subj) != 0 || !strcmp(subj, "new"))
        return cli_usage_error(&cmd, "--subject must be a pseudonym like B-7K3Q-9F2M");
    if (!minutes || cli_parse_uint(minutes, 1, 1440, &mins) != 0)
        return cli_usage_error(&cmd, "--minutes must be a whole number from 1 to 1440");
    if (!kind || (strcmp(kind, "one-to-one") && strcmp(kind, "accompaniment") &&
                  strcmp(kind, "group") && strcmp(kind, "ward")))
        return cli_usage_error(&cmd, "--kind must be one-to-one, accompaniment, group or ward");
    if ((rc = date_arg(&cmd, "date", date, d)) != EXIT_OK)
        return rc;
    if (note_file && edit)
        return cli_usage_error(&cmd, "give either --note-file or --edit, not both");
    json_t *tl = NULL;
    if (themes && !(tl = list_arg(themes)))
        return cli_usage_error(&cmd, "--themes must be a comma list like housing,sleep");
    json_t *body = json_pack("{s:s, s:I, s:s}", "date", d, "minutes", (json_int_t)mins, "kind",
                             kind);
    if (!body) {
        json_decref(tl);
        return cli_fail(PL_E_NOMEM, &(pl_err){"out of memory"});
    }
    if (tl)
        json_object_set_new(body, "themes", tl);
    if (place && (rc = set_text(body, "place", place, strlen(place))) != EXIT_OK) {
        json_decref(body);
        return rc;
    }
    /* Passphrase and consent first: a note written in the editor is not thrown away
     * because of something that was known before it was written. */
    pl_vault *v = NULL;
    pl_err err = {{0}};
    pl_status st;
    if ((rc = cli_open_vault(ctx, &v)) != EXIT_OK) {
        json_decref(body);
        return rc;
    }
    if ((st = vault_consent_check(v, subj, PL_SCOPE_SESSION, d, &err)) != PL_OK) {
        json_decref(body);
        vault_close(v);
        return cli_fail(st, &err);
    }
    pl_secret *note = text_input(note_file, edit, non_tmpfs, NULL, &rc);
    if (rc == EXIT_OK && note && note->len)
        rc = set_text(body, "note", (const char *)note->p, note->len);
    pl_secret_free(note);
    if (rc != EXIT_OK) {
        json_decref(body);
        vault_close(v);
        return rc;
    }
    char what[96];
    snprintf(what, sizeof what, "Session with %s on %s recorded", subj, d);
    return add_record(ctx, v, "session", subj, body, what);
}

int cmd_note(cli_ctx *ctx, int argc, char **argv)
{
    const char *note_file = NULL;
    int edit = 0, non_tmpfs = 0;
    const cli_opt opts[] = {
        {"note-file", "FILE", "the note from FILE ('-': standard input)", &note_file, NULL},
        {"edit", NULL, "write the note in your editor (in memory, wiped after)", NULL, &edit},
        {"allow-non-tmpfs", NULL, "let --edit use a disk directory if no tmpfs exists", NULL,
         &non_tmpfs},
    };
    const cli_command cmd = {
        "note add", NULL, "Write a private journal note that only you can read.",
        "A note names no citizen and is never shared.\n"
        "\nExamples:\n"
        "  peerlog note add --edit\n"
        "  peerlog note add --note-file - < thoughts.txt\n",
        opts, sizeof opts / sizeof opts[0]};
    int rc = cli_expect_word(&cmd, argc, argv, "add");
    if (rc)
        return rc - 1;
    const char *pos[1];
    size_t npos;
    rc = cli_parse(ctx, &cmd, argc - 1, argv + 1, pos, 0, &npos);
    if (rc)
        return rc < 0 ? EXIT_USAGE : cli_finish_stdout();
    if (note_file && edit)
        return cli_usage_error(&cmd, "give either --note-file or --edit, not both");
    if (!note_file && !edit)
        return cli_usage_error(&cmd, "give the note with --edit or --note-file FILE ('-' reads "
                                     "standard input)");
    pl_vault *v = NULL; /* the passphrase before the writing, as for sessions */
    if ((rc = cli_open_vault(ctx, &v)) != EXIT_OK)
        return rc;
    pl_secret *text = text_input(note_file, edit, non_tmpfs, NULL, &rc);
    if (text && text->len == 0) {
        fprintf(stderr, "peerlog: the note is empty; nothing was written\n");
        rc = EXIT_ERROR;
    }
    json_t *body = rc == EXIT_OK && text ? json_object() : NULL;
    if (rc == EXIT_OK)
        rc = body ? set_text(body, "text", (const char *)text->p, text->len) : EXIT_ERROR;
    pl_secret_free(text);
    if (rc != EXIT_OK) {
        json_decref(body);
        vault_close(v);
        return rc;
    }
    return add_record(ctx, v, "note", NULL, body, "Note saved");
}

/* ---- amend and retract ---------------------------------------------------------------- */

/* Finds ENTRY by id prefix in an open vault; prints and returns an exit code on failure. */
static int find_entry(pl_vault *v, const char *prefix, pl_entry *e)
{
    pl_err err = {{0}};
    pl_status st = vault_find(v, prefix, e, &err);
    return st == PL_OK ? EXIT_OK : cli_fail(st, &err);
}

int cmd_amend(cli_ctx *ctx, int argc, char **argv)
{
    const char *minutes = NULL, *kind = NULL, *date = NULL, *place = NULL, *themes = NULL,
               *note_file = NULL, *name = NULL, *contact = NULL, *method = NULL, *until = NULL,
               *scopes = NULL;
    int edit = 0, non_tmpfs = 0;
    const cli_opt opts[] = {
        {"date", "DATE", "the corrected date (consent: its first day; course agreement: its "
                         "start)", &date, NULL},
        {"minutes", "N", "session: the corrected length", &minutes, NULL},
        {"kind", "KIND", "session: one-to-one, accompaniment, group or ward", &kind, NULL},
        {"place", "TEXT", "session: where", &place, NULL},
        {"themes", "LIST", "session: comma list of themes", &themes, NULL},
        {"note-file", "FILE", "session or note: the new text from FILE ('-': stdin)",
         &note_file, NULL},
        {"edit", NULL, "session or note: edit the current text in your editor", NULL, &edit},
        {"allow-non-tmpfs", NULL, "let --edit use a disk directory if no tmpfs exists", NULL,
         &non_tmpfs},
        {"name", "NAME", "consent: the citizen's name", &name, NULL},
        {"contact", "TEXT", "consent: phone or e-mail", &contact, NULL},
        {"method", "HOW", "consent: written, verbal or digital", &method, NULL},
        {"valid-until", "DATE", "consent: the last day covered", &until, NULL},
        {"scopes", "LIST", "consent: what the citizen agreed to, as corrected", &scopes, NULL},
    };
    const cli_command cmd = {
        "amend", "ENTRY", "Correct an entry: a new entry that replaces its content.",
        "ENTRY is an id or a unique prefix of one (at least 4 characters, see 'peerlog log').\n"
        "Fields you do not give keep their current value. The original stays in the ledger;\n"
        "'peerlog show ENTRY' presents the latest version and --history all of them.\n"
        "A corrected session date must still be covered by the citizen's consent.\n"
        "\nExamples:\n"
        "  peerlog amend 3f9a2c --minutes 75\n"
        "  peerlog amend 3f9a2c --edit\n"
        "  peerlog amend 7d01e4 --scopes peer-support,record-keeping   # a consent\n",
        opts, sizeof opts / sizeof opts[0]};
    const char *pos[1];
    size_t npos;
    int rc = cli_parse(ctx, &cmd, argc, argv, pos, 1, &npos);
    if (rc)
        return rc < 0 ? EXIT_USAGE : cli_finish_stdout();
    if (npos != 1)
        return cli_usage_error(&cmd, "name the entry to amend, e.g. 'peerlog amend 3f9a2c'");
    if (note_file && edit)
        return cli_usage_error(&cmd, "give either --note-file or --edit, not both");
    char d[PL_DATE_LEN + 1], du[PL_DATE_LEN + 1];
    unsigned long mins = 0;
    if ((date && (rc = date_arg(&cmd, "date", date, d)) != EXIT_OK) ||
        (until && (rc = date_arg(&cmd, "valid-until", until, du)) != EXIT_OK))
        return rc;
    if (minutes && cli_parse_uint(minutes, 1, 1440, &mins) != 0)
        return cli_usage_error(&cmd, "--minutes must be a whole number from 1 to 1440");
    json_t *tl = NULL;
    if (themes && !(tl = list_arg(themes)))
        return cli_usage_error(&cmd, "--themes must be a comma list like housing,sleep");
    unsigned mask = 0;
    if (scopes && (rc = scopes_arg(&cmd, scopes, &mask)) != EXIT_OK)
        return rc;
    if (!date && !minutes && !kind && !place && !themes && !note_file && !edit && !name &&
        !contact && !method && !until && !scopes)
        return cli_usage_error(&cmd, "say what to change (e.g. --minutes 75 or --edit)");

    pl_vault *v = NULL;
    if ((rc = cli_open_vault(ctx, &v)) != EXIT_OK) {
        json_decref(tl);
        return rc;
    }
    pl_err err = {{0}};
    pl_entry target, latest, made;
    pl_entry *hist = NULL;
    size_t nh = 0;
    json_t *body = NULL;
    pl_status st;
    if ((rc = find_entry(v, pos[0], &target)) != EXIT_OK)
        goto out;
    /* Start from the latest version's content. */
    if ((st = vault_history(v, &target, &hist, &nh, &err)) != PL_OK) {
        rc = cli_fail(st, &err);
        goto out;
    }
    latest = hist[0];
    for (size_t i = 0; i < nh; i++)
        if (!strcmp(hist[i].h.type, "amend"))
            latest = hist[i];
    if ((st = vault_body(v, &latest, &body, &err)) != PL_OK) {
        rc = cli_fail(st, &err);
        goto out;
    }
    const char *root_type = hist[0].h.type;
    const char *text_key = !strcmp(root_type, "note") ? "text" : "note";
    if (date)
        json_object_set_new(body, !strcmp(root_type, "consent.grant") ? "valid_from"
                                  : !strcmp(root_type, "agreement.collaboration") ? "start"
                                                                                  : "date",
                            json_string(d));
    if (scopes) {
        char list[128];
        pl_scopes_format(mask, list, sizeof list);
        json_object_set_new(body, "scopes", list_arg(list));
    }
    if (minutes)
        json_object_set_new(body, "minutes", json_integer((json_int_t)mins));
    if (kind)
        json_object_set_new(body, "kind", json_string(kind));
    if (method)
        json_object_set_new(body, "method", json_string(method));
    if (until)
        json_object_set_new(body, "valid_until", json_string(du));
    if (tl) {
        json_object_set_new(body, "themes", tl);
        tl = NULL;
    }
    if ((place && (rc = set_text(body, "place", place, strlen(place))) != EXIT_OK) ||
        (name && (rc = set_text(body, "name", name, strlen(name))) != EXIT_OK) ||
        (contact && (rc = set_text(body, "contact", contact, strlen(contact))) != EXIT_OK))
        goto out;
    if (note_file || edit) {
        const char *cur = json_string_value(json_object_get(body, text_key));
        pl_secret *t = text_input(note_file, edit, non_tmpfs, cur, &rc);
        if (!t)
            goto out;
        if (t->len)
            rc = set_text(body, text_key, (const char *)t->p, t->len);
        else
            json_object_del(body, text_key);
        pl_secret_free(t);
        if (rc != EXIT_OK)
            goto out;
    }
    if ((st = vault_amend(v, &target, body, &made, &err)) != PL_OK) {
        rc = cli_fail(st, &err);
        goto out;
    }
    rc = report_entry(ctx, &made, "Amended");
out:
    json_decref(tl);
    json_decref(body);
    free(hist);
    vault_close(v);
    return rc;
}

int cmd_retract(cli_ctx *ctx, int argc, char **argv)
{
    const char *reason = NULL;
    const cli_opt opts[] = {
        {"reason", "TEXT", "why the entry is withdrawn (required; stored encrypted)", &reason,
         NULL},
    };
    const cli_command cmd = {
        "retract", "ENTRY", "Withdraw an entry made in error.",
        "The entry and the retraction both stay in the ledger (it is append-only); 'log'\n"
        "and 'show' mark the entry as retracted. A retracted entry cannot be amended.\n"
        "\nExample:\n"
        "  peerlog retract 3f9a2c --reason \"recorded for the wrong citizen\"\n",
        opts, sizeof opts / sizeof opts[0]};
    const char *pos[1];
    size_t npos;
    int rc = cli_parse(ctx, &cmd, argc, argv, pos, 1, &npos);
    if (rc)
        return rc < 0 ? EXIT_USAGE : cli_finish_stdout();
    if (npos != 1)
        return cli_usage_error(&cmd, "name the entry to retract, e.g. 'peerlog retract 3f9a2c'");
    if (!reason || !*reason)
        return cli_usage_error(&cmd, "--reason is required");
    pl_vault *v = NULL;
    if ((rc = cli_open_vault(ctx, &v)) != EXIT_OK)
        return rc;
    pl_entry target, made;
    pl_err err = {{0}};
    if ((rc = find_entry(v, pos[0], &target)) == EXIT_OK) {
        pl_status st = vault_retract(v, &target, reason, &made, &err);
        rc = st == PL_OK ? report_entry(ctx, &made, "Retracted") : cli_fail(st, &err);
    }
    vault_close(v);
    return rc;
}

/* ---- organisation records: match, agreements, supervision, course close ------------------- */

int cmd_match(cli_ctx *ctx, int argc, char **argv)
{
    const char *subject = NULL, *guide = NULL, *date = NULL;
    const cli_opt opts[] = {
        {"subject", "PSEUDONYM", "the citizen", &subject, NULL},
        {"guide", "FP", "the guide's fingerprint (see 'peerlog org show')", &guide, NULL},
        {"date", "DATE", "when (default: today)", &date, NULL},
    };
    const cli_command cmd = {
        "match add", NULL, "Match a citizen with a guide (coordinators).",
        "Needs the citizen's consent to peer-support on that date. The guide named can read\n"
        "the match.\n"
        "\nExample:\n"
        "  peerlog match add --subject B-7K3Q-9F2M --guide 3d63ed51ac91f7266249986b0372a728\n",
        opts, sizeof opts / sizeof opts[0]};
    int rc = cli_expect_word(&cmd, argc, argv, "add");
    if (rc)
        return rc - 1;
    const char *pos[1];
    size_t npos;
    if ((rc = cli_parse(ctx, &cmd, argc - 1, argv + 1, pos, 0, &npos)))
        return rc < 0 ? EXIT_USAGE : cli_finish_stdout();
    char subj[PL_SUBJECT_MAX + 1], fp[PL_FINGERPRINT_HEX + 1], d[PL_DATE_LEN + 1];
    if (!subject || subject_arg(subject, subj) != 0 || !strcmp(subj, "new"))
        return cli_usage_error(&cmd, "--subject must be a pseudonym like B-7K3Q-9F2M");
    if (!guide || fmt_fingerprint_parse(guide, PL_FINGERPRINT_BYTES, fp) != 0)
        return cli_usage_error(&cmd, "--guide must be a guide's fingerprint (32 hex digits)");
    if ((rc = date_arg(&cmd, "date", date, d)) != EXIT_OK)
        return rc;
    json_t *body = json_pack("{s:s, s:s}", "guide", fp, "date", d);
    char what[96];
    snprintf(what, sizeof what, "%s matched with guide %.8s… on %s", subj, fp, d);
    return add_record(ctx, NULL, "match", subj, body, what);
}

static int agreement_volunteer(cli_ctx *ctx, int argc, char **argv)
{
    const char *guide = NULL, *date = NULL, *until = NULL;
    const cli_opt opts[] = {
        {"guide", "FP", "the volunteer guide's fingerprint", &guide, NULL},
        {"date", "DATE", "when it starts (default: today)", &date, NULL},
        {"valid-until", "DATE", "when it ends (default: open)", &until, NULL},
    };
    const cli_command cmd = {
        "agreement volunteer", NULL, "Record a volunteer agreement with a guide (coordinators).",
        "It is active once the guide countersigns it on their laptop with 'peerlog agreement\n"
        "sign ENTRY' (after a sync). The guide can read it.\n"
        "\nExample:\n"
        "  peerlog agreement volunteer --guide 3d63ed51ac91f7266249986b0372a728\n",
        opts, sizeof opts / sizeof opts[0]};
    const char *pos[1];
    size_t npos;
    int rc = cli_parse(ctx, &cmd, argc, argv, pos, 0, &npos);
    if (rc)
        return rc < 0 ? EXIT_USAGE : cli_finish_stdout();
    char fp[PL_FINGERPRINT_HEX + 1], d[PL_DATE_LEN + 1], u[PL_DATE_LEN + 1];
    if (!guide || fmt_fingerprint_parse(guide, PL_FINGERPRINT_BYTES, fp) != 0)
        return cli_usage_error(&cmd, "--guide must be a guide's fingerprint (32 hex digits)");
    if ((rc = date_arg(&cmd, "date", date, d)) != EXIT_OK ||
        (until && (rc = date_arg(&cmd, "valid-until", until, u)) != EXIT_OK))
        return rc;
    json_t *body = json_pack("{s:s, s:s}", "guide", fp, "date", d);
    if (body && until)
        json_object_set_new(body, "valid_until", json_string(u));
    return add_record(ctx, NULL, "agreement.volunteer", NULL, body,
                      "Volunteer agreement recorded; the guide countersigns it with 'peerlog "
                      "agreement sign'");
}

static int agreement_sign(cli_ctx *ctx, int argc, char **argv)
{
    const char *date = NULL;
    const cli_opt opts[] = {
        {"date", "DATE", "when you sign (default: today)", &date, NULL},
    };
    const cli_command cmd = {
        "agreement sign", "ENTRY", "Countersign the volunteer agreement made with you.",
        "ENTRY is the agreement's id (see 'peerlog log --type agreement.volunteer').\n"
        "\nExample:\n"
        "  peerlog agreement sign 3f9a2c\n",
        opts, sizeof opts / sizeof opts[0]};
    const char *pos[1];
    size_t npos;
    int rc = cli_parse(ctx, &cmd, argc, argv, pos, 1, &npos);
    if (rc)
        return rc < 0 ? EXIT_USAGE : cli_finish_stdout();
    char d[PL_DATE_LEN + 1];
    if (npos != 1)
        return cli_usage_error(&cmd, "name the agreement, e.g. 'peerlog agreement sign 3f9a2c'");
    if ((rc = date_arg(&cmd, "date", date, d)) != EXIT_OK)
        return rc;
    pl_vault *v = NULL;
    if ((rc = cli_open_vault(ctx, &v)) != EXIT_OK)
        return rc;
    pl_entry target, e;
    pl_err err = {{0}};
    if ((rc = find_entry(v, pos[0], &target)) != EXIT_OK) {
        vault_close(v);
        return rc;
    }
    pl_status st = vault_agreement_sign(v, &target, d, &e, &err);
    vault_close(v);
    if (st != PL_OK)
        return cli_fail(st, &err);
    return report_entry(ctx, &e, "Agreement countersigned");
}

static int agreement_collaboration(cli_ctx *ctx, int argc, char **argv)
{
    const char *subject = NULL, *start = NULL, *end = NULL;
    const cli_opt opts[] = {
        {"subject", "PSEUDONYM", "the citizen", &subject, NULL},
        {"start", "DATE", "the course's first day (default: today)", &start, NULL},
        {"planned-end", "DATE", "its planned last day (at most 4 months on)", &end, NULL},
    };
    const cli_command cmd = {
        "agreement collaboration", NULL,
        "Record the collaboration agreement that starts a course (guides).",
        "Needs the citizen's consent to peer-support on the start date. A course lasts at\n"
        "most 4 months.\n"
        "\nExample:\n"
        "  peerlog agreement collaboration --subject B-7K3Q-9F2M --start 2026-12-01 \\\n"
        "      --planned-end 2027-03-31\n",
        opts, sizeof opts / sizeof opts[0]};
    const char *pos[1];
    size_t npos;
    int rc = cli_parse(ctx, &cmd, argc, argv, pos, 0, &npos);
    if (rc)
        return rc < 0 ? EXIT_USAGE : cli_finish_stdout();
    char subj[PL_SUBJECT_MAX + 1], s[PL_DATE_LEN + 1], e[PL_DATE_LEN + 1];
    if (!subject || subject_arg(subject, subj) != 0 || !strcmp(subj, "new"))
        return cli_usage_error(&cmd, "--subject must be a pseudonym like B-7K3Q-9F2M");
    if (!end)
        return cli_usage_error(&cmd, "give the planned end with --planned-end DATE");
    if ((rc = date_arg(&cmd, "start", start, s)) != EXIT_OK ||
        (rc = date_arg(&cmd, "planned-end", end, e)) != EXIT_OK)
        return rc;
    json_t *body = json_pack("{s:s, s:s}", "start", s, "planned_end", e);
    char what[96];
    snprintf(what, sizeof what, "Course with %s from %s to %s recorded", subj, s, e);
    return add_record(ctx, NULL, "agreement.collaboration", subj, body, what);
}

int cmd_agreement(cli_ctx *ctx, int argc, char **argv)
{
    static const cli_verb verbs[] = {
        {"volunteer", agreement_volunteer, "a coordinator's agreement with a volunteer guide"},
        {"sign", agreement_sign, "the guide's countersignature (ENTRY)"},
        {"collaboration", agreement_collaboration, "a guide's agreement with a citizen: a course"},
    };
    return cli_dispatch("agreement", verbs, sizeof verbs / sizeof verbs[0], ctx, argc, argv);
}

int cmd_supervision(cli_ctx *ctx, int argc, char **argv)
{
    const char *guides = NULL, *subjects = NULL, *minutes = NULL, *date = NULL,
               *note_file = NULL;
    int edit = 0, non_tmpfs = 0;
    const cli_opt opts[] = {
        {"guides", "FP,FP", "the guides supervised (fingerprints, comma list)", &guides, NULL},
        {"subjects", "LIST", "citizens discussed (pseudonyms, comma list)", &subjects, NULL},
        {"minutes", "N", "how long (1-1440)", &minutes, NULL},
        {"date", "DATE", "when (default: today)", &date, NULL},
        {"note-file", "FILE", "the note from FILE ('-': standard input)", &note_file, NULL},
        {"edit", NULL, "write the note in your editor (in memory, wiped after)", NULL, &edit},
        {"allow-non-tmpfs", NULL, "let --edit use a disk directory if no tmpfs exists", NULL,
         &non_tmpfs},
    };
    const cli_command cmd = {
        "supervision add", NULL, "Record a supervision (supervisors).",
        "Naming a citizen needs their consent to supervision-sharing on that date. The note\n"
        "is readable by supervisors only.\n"
        "\nExample:\n"
        "  peerlog supervision add --guides 3d63ed51ac91f7266249986b0372a728 --minutes 60 \\\n"
        "      --subjects B-7K3Q-9F2M --edit\n",
        opts, sizeof opts / sizeof opts[0]};
    int rc = cli_expect_word(&cmd, argc, argv, "add");
    if (rc)
        return rc - 1;
    const char *pos[1];
    size_t npos;
    if ((rc = cli_parse(ctx, &cmd, argc - 1, argv + 1, pos, 0, &npos)))
        return rc < 0 ? EXIT_USAGE : cli_finish_stdout();
    unsigned long mins;
    char d[PL_DATE_LEN + 1];
    json_t *gl = guides ? list_arg(guides) : NULL, *sl = subjects ? list_arg(subjects) : NULL;
    json_t *x;
    size_t i;
    int bad = !gl || (subjects && !sl);
    json_array_foreach(gl, i, x) {
        char fp[PL_FINGERPRINT_HEX + 1];
        if (fmt_fingerprint_parse(json_string_value(x), PL_FINGERPRINT_BYTES, fp) != 0)
            bad = 1;
        else
            json_array_set_new(gl, i, json_string(fp));
    }
    json_array_foreach(sl, i, x) {
        char s[PL_SUBJECT_MAX + 1];
        if (subject_arg(json_string_value(x), s) != 0 || !strcmp(s, "new"))
            bad = 1;
        else
            json_array_set_new(sl, i, json_string(s));
    }
    if (bad) {
        json_decref(gl);
        json_decref(sl);
        return cli_usage_error(&cmd, "--guides takes fingerprints and --subjects pseudonyms, "
                                     "each a comma list");
    }
    if (!minutes || cli_parse_uint(minutes, 1, 1440, &mins) != 0 ||
        (rc = date_arg(&cmd, "date", date, d)) != EXIT_OK || (note_file && edit)) {
        json_decref(gl);
        json_decref(sl);
        return rc ? rc : cli_usage_error(&cmd, "--minutes must be 1 to 1440 (and give either "
                                               "--note-file or --edit, not both)");
    }
    json_t *body = json_pack("{s:s, s:I, s:o}", "date", d, "minutes", (json_int_t)mins,
                             "guides", gl);
    if (body && sl)
        json_object_set_new(body, "subjects", sl);
    else
        json_decref(sl);
    pl_vault *v = NULL;
    if ((rc = cli_open_vault(ctx, &v)) != EXIT_OK) {
        json_decref(body);
        return rc;
    }
    pl_secret *note = text_input(note_file, edit, non_tmpfs, NULL, &rc);
    if (rc == EXIT_OK && note && note->len)
        rc = set_text(body, "note", (const char *)note->p, note->len);
    pl_secret_free(note);
    if (rc != EXIT_OK) {
        json_decref(body);
        vault_close(v);
        return rc;
    }
    char what[64];
    snprintf(what, sizeof what, "Supervision on %s recorded", d);
    return add_record(ctx, v, "supervision", NULL, body, what);
}

int cmd_course(cli_ctx *ctx, int argc, char **argv)
{
    const char *subject = NULL, *outcome = NULL, *date = NULL;
    const cli_opt opts[] = {
        {"subject", "PSEUDONYM", "the citizen", &subject, NULL},
        {"outcome", "WORD", "completed, ended-early, moved-on or other", &outcome, NULL},
        {"date", "DATE", "the course's last day (default: today)", &date, NULL},
    };
    const cli_command cmd = {
        "course close", NULL, "Close a citizen's course (guides, coordinators).",
        "\nExample:\n"
        "  peerlog course close --subject B-7K3Q-9F2M --outcome completed\n",
        opts, sizeof opts / sizeof opts[0]};
    int rc = cli_expect_word(&cmd, argc, argv, "close");
    if (rc)
        return rc - 1;
    const char *pos[1];
    size_t npos;
    if ((rc = cli_parse(ctx, &cmd, argc - 1, argv + 1, pos, 0, &npos)))
        return rc < 0 ? EXIT_USAGE : cli_finish_stdout();
    char subj[PL_SUBJECT_MAX + 1], d[PL_DATE_LEN + 1];
    if (!subject || subject_arg(subject, subj) != 0 || !strcmp(subj, "new"))
        return cli_usage_error(&cmd, "--subject must be a pseudonym like B-7K3Q-9F2M");
    if (!outcome)
        return cli_usage_error(&cmd, "give --outcome: completed, ended-early, moved-on or other");
    if ((rc = date_arg(&cmd, "date", date, d)) != EXIT_OK)
        return rc;
    json_t *body = json_pack("{s:s, s:s}", "date", d, "outcome", outcome);
    char what[96];
    snprintf(what, sizeof what, "Course of %s closed on %s", subj, d);
    return add_record(ctx, NULL, "course.close", subj, body, what);
}
