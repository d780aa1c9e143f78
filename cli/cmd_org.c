/* org init, org show: the organisation (issue 3 in progress: members, join and sync next). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "cli/cli.h"

static void print_grouped(const char *hex)
{
    for (size_t i = 0; hex[i]; i += 4)
        printf("%.4s%s", hex + i, hex[i + 4] ? " " : "\n");
}

void cli_print_org_notes(const pl_org *o)
{
    if (!o->nnotes)
        return;
    printf("Changes made at once by two coordinators, and how they were resolved:\n");
    for (unsigned i = 0; i < o->nnotes && i < PL_ORG_NOTES_MAX; i++)
        printf("  %s\n", o->notes[i]);
    if (o->nnotes > PL_ORG_NOTES_MAX)
        printf("  … and %u more\n", o->nnotes - PL_ORG_NOTES_MAX);
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
        for (unsigned i = 0; members && i < o->nmembers; i++) {
            const pl_org_member *m = &o->members[i];
            char mfeed[2 * PL_SIGN_PK_BYTES + 1], roles[96];
            cli_hex(m->id.sign_pk, PL_SIGN_PK_BYTES, mfeed, sizeof mfeed);
            pl_roles_format(m->roles, roles, sizeof roles);
            json_t *rl = json_array();
            for (char *save = NULL, *t = strtok_r(roles, ",", &save); rl && t;
                 t = strtok_r(NULL, ",", &save))
                json_array_append_new(rl, json_string(t));
            json_t *mj = json_pack("{s:s, s:s, s:s, s:o, s:I, s:b}", "feed", mfeed,
                                   "fingerprint", m->id.fingerprint, "name", m->id.name,
                                   "roles", rl, "from_seq", (json_int_t)m->from_seq, "removed",
                                   m->removed);
            if (mj && m->removed)
                json_object_set_new(mj, "until_seq", json_integer((json_int_t)m->until_seq));
            json_array_append_new(members, mj);
        }
        json_t *notes = json_array();
        for (unsigned i = 0; notes && i < o->nnotes && i < PL_ORG_NOTES_MAX; i++)
            json_array_append_new(notes, json_string(o->notes[i]));
        const pl_controller *c = &o->controller;
        json_t *ctl = json_pack("{s:s, s:s, s:s, s:s, s:s}", "contact", c->contact, "email",
                                c->email, "phone", c->phone, "address", c->address,
                                "policy_url", c->policy_url);
        return cli_print_json(json_pack("{s:s, s:s, s:s, s:s, s:o, s:o, s:o, s:i, s:o, s:o}",
                                        "name", o->name, "id", id, "fingerprint",
                                        o->fingerprint, "member_pk", mpk, "members", members,
                                        "keys", keys, "notes", notes, "notes_total",
                                        (int)o->nnotes, "controller", ctl, "retention",
                                        o->retention.set ? pl_retention_json(&o->retention)
                                                         : json_null()));
    }
    printf("Organisation: %s\nId:           %s\nFingerprint:  ", o->name, id);
    print_grouped(o->fingerprint);
    printf("              (read this to a new member; they check it when they join)\n");
    const pl_controller *c = &o->controller;
    if (c->contact[0] || c->email[0] || c->phone[0] || c->address[0] || c->policy_url[0])
        printf("Controller:   %s%s%s%s%s%s%s%s%s\n", c->contact, c->email[0] ? ", " : "",
               c->email, c->phone[0] ? ", " : "", c->phone, c->address[0] ? ", " : "",
               c->address, c->policy_url[0] ? ", " : "", c->policy_url);
    (void)me_coord;
    if (o->retention.set) {
        printf("Retention:    ");
        for (int t = 0; t < PL_RET_TYPES; t++) {
            int m = o->retention.months[t];
            if (m > 0)
                printf("%s%s %d month%s", t ? ", " : "", pl_retention_names[t], m,
                       m == 1 ? "" : "s");
            else
                printf("%s%s %s", t ? ", " : "", pl_retention_names[t],
                       m == PL_RET_LAST_ENTRY ? "while other records remain" : "kept");
        }
        printf("\n              (periods run from the day a citizen's course closed)\n");
    }
    printf("Members:\n");
    for (unsigned i = 0; i < o->nmembers; i++) {
        const pl_org_member *m = &o->members[i];
        char roles[96];
        pl_roles_format(m->roles, roles, sizeof roles);
        char gone[64] = "";
        if (m->removed)
            snprintf(gone, sizeof gone, " (removed after entry %llu)",
                     (unsigned long long)m->until_seq);
        printf("  %-24s %s  %s%s%s\n",
               m->id.name[0] ? m->id.name
                             : i == 0 ? "(first coordinator)" : "(name not readable)",
               m->id.fingerprint, roles,
               sodium_memcmp(m->id.sign_pk, me.sign_pk, PL_SIGN_PK_BYTES) ? "" : " (this vault)",
               gone);
    }
    printf("Keys (epoch):");
    static const char *const names[] = {"member", "coordinator", "guide", "supervisor",
                                        "auditor"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        pl_org_key tmp;
        const pl_org_key *k = pl_org_current_key(o, names[i], &tmp);
        if (k)
            printf("%s %s (%u)", i ? "," : "", names[i], (unsigned)k->epoch);
    }
    printf("\n");
    cli_print_org_notes(o);
    return cli_finish_stdout();
}

static int org_init(cli_ctx *ctx, int argc, char **argv)
{
    const char *name = NULL, *retention = NULL;
    pl_retention ret;
    pl_controller ctl;
    memset(&ctl, 0, sizeof ctl);
    const char *f[5] = {NULL, NULL, NULL, NULL, NULL};
    const cli_opt opts[] = {
        {"name", "NAME", "the organisation's name, as members know it", &name, NULL},
        {"contact", "TEXT", "who answers for the data (a person or office), for consent "
                            "receipts", &f[0], NULL},
        {"email", "ADDRESS", "the controller's e-mail address", &f[1], NULL},
        {"phone", "NUMBER", "the controller's phone number", &f[2], NULL},
        {"address", "TEXT", "the controller's postal address", &f[3], NULL},
        {"policy-url", "URL", "where the privacy policy is published", &f[4], NULL},
        {"retention", "SPEC", "how long citizens' records are kept: months after their course "
                              "closed (see below)", &retention, NULL},
    };
    const cli_command cmd = {
        "org init", NULL, "Start an organisation, with you as its first coordinator.",
        "Run it in a new vault (peerlog --vault DIR init first): an organisation's ledger\n"
        "starts with its genesis entry. It creates the organisation's keys (one per role and\n"
        "one for all members) and prints the organisation's fingerprint, which every new\n"
        "member checks when they join.\n"
        "The controller's details (--contact, --email, --phone, --address, --policy-url)\n"
        "go on every consent receipt; they are fixed with the organisation.\n"
        "--retention sets how long the records about a citizen are kept once their course\n"
        "has closed, for 'peerlog retention plan' and 'apply': a number of months for every\n"
        "type (consent then stays while any other record about the citizen does), and/or\n"
        "TYPE=MONTHS or TYPE=keep for session, supervision, match, agreement.collaboration,\n"
        "course.close, and consent=last-entry or consent=keep. Without it nothing is due.\n"
        "It is fixed with the organisation too.\n"
        "\nExample:\n"
        "  peerlog org init --name \"Peer support Aarhus\" --contact \"Ana Holm, coordinator\" \\\n"
        "      --email peerstotte@example.dk --phone \"+45 12 34 56 78\" \\\n"
        "      --address \"Vestergade 1, 8000 Aarhus C\" \\\n"
        "      --policy-url https://example.dk/privacy --retention 12,supervision=24\n",
        opts, sizeof opts / sizeof opts[0]};
    const char *pos[1];
    size_t npos;
    int rc = cli_parse(ctx, &cmd, argc, argv, pos, 0, &npos);
    if (rc)
        return rc < 0 ? EXIT_USAGE : cli_finish_stdout();
    if (!name || !*name)
        return cli_usage_error(&cmd, "--name is required");
    char *dst[5] = {ctl.contact, ctl.email, ctl.phone, ctl.address, ctl.policy_url};
    for (int i = 0; i < 5; i++) {
        if (f[i] && strlen(f[i]) > PL_NAME_MAX)
            return cli_usage_error(&cmd, "--%s takes at most %u bytes", opts[i + 1].name,
                                   PL_NAME_MAX);
        if (f[i])
            snprintf(dst[i], PL_NAME_MAX + 1, "%s", f[i]);
    }
    pl_err err = {{0}};
    if (retention && pl_retention_parse(retention, &ret, &err) != PL_OK)
        return cli_usage_error(&cmd, "%s", err.msg);
    pl_vault *v = NULL;
    if ((rc = cli_open_vault(ctx, &v)) != EXIT_OK)
        return rc;
    pl_org *o = calloc(1, sizeof *o);
    pl_status st = o ? vault_org_init(v, name, &ctl, retention ? &ret : NULL, o, &err)
                     : pl_fail(&err, PL_E_NOMEM, "out of memory");
    rc = st == PL_OK ? print_org(ctx, v, o) : cli_fail(st, &err);
    free(o);
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
    pl_org *o = calloc(1, sizeof *o);
    pl_err err = {{0}};
    pl_status st = o ? vault_org(v, o, &err) : PL_E_NOMEM;
    rc = st == PL_OK ? print_org(ctx, v, o) : cli_fail(st, &err);
    free(o);
    vault_close(v);
    return rc;
}

int cmd_org(cli_ctx *ctx, int argc, char **argv)
{
    static const cli_verb verbs[] = {
        {"init", org_init, "start an organisation"},
        {"show", org_show, "show the organisation"},
    };
    return cli_dispatch("org", verbs, sizeof verbs / sizeof verbs[0], ctx, argc, argv);
}

/* ---- member add --------------------------------------------------------------------------- */

/* Reads a small JSON file (an identity export). */
static json_t *load_json_file(const char *path)
{
    json_error_t jerr;
    char buf[16384];
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "peerlog: cannot open %s\n", path);
        return NULL;
    }
    size_t n = fread(buf, 1, sizeof buf, f);
    int big = n == sizeof buf;
    fclose(f);
    if (big) {
        fprintf(stderr, "peerlog: %s is too large for an identity file\n", path);
        return NULL;
    }
    json_t *j = json_loadb(buf, n, JSON_REJECT_DUPLICATES, &jerr);
    if (!j)
        fprintf(stderr, "peerlog: %s is not an identity file (line %d: %s)\n", path, jerr.line,
                jerr.text);
    return j;
}

static int member_remove(cli_ctx *ctx, int argc, char **argv)
{
    const char *reason = NULL;
    const cli_opt opts[] = {
        {"reason", "TEXT", "why (kept in the ledger, readable by the remaining members)",
         &reason, NULL},
    };
    const cli_command cmd = {
        "member remove", "FINGERPRINT", "Remove a member (coordinators only).",
        "FINGERPRINT is the member's, as 'peerlog org show' lists it. The member's entries\n"
        "up to the newest one this vault holds keep counting; later ones are refused by\n"
        "every vault that has seen the removal. The member key and the keys of the member's\n"
        "roles get a new epoch, granted to the remaining members: bodies written after your\n"
        "next sync are unreadable to the removed member. What they could read before, they\n"
        "keep. Sync first, so that the cut includes the member's latest entries, and take\n"
        "away their access to the shared folder too.\n"
        "\nAny coordinator removes guides, supervisors and auditors; only the first\n"
        "coordinator removes a coordinator. When two coordinators change the membership at\n"
        "once, removal wins; 'peerlog org show' lists what did not take effect, and the next\n"
        "sync of a coordinator gives new keys where a removed member still held one.\n"
        "\nExample:\n"
        "  peerlog member remove 3d63ed51ac91f7266249986b0372a728 --reason \"left the "
        "programme\"\n",
        opts, sizeof opts / sizeof opts[0]};
    const char *pos[1];
    size_t npos;
    int rc = cli_parse(ctx, &cmd, argc, argv, pos, 1, &npos);
    if (rc)
        return rc < 0 ? EXIT_USAGE : cli_finish_stdout();
    char want[PL_FINGERPRINT_HEX + 1];
    if (npos != 1 || fmt_fingerprint_parse(pos[0], PL_FINGERPRINT_BYTES, want) != 0)
        return cli_usage_error(&cmd, "name the member by fingerprint (32 hex digits, see "
                                     "'peerlog org show')");
    if (!reason || !*reason)
        return cli_usage_error(&cmd, "give a reason with --reason");
    pl_vault *v = NULL;
    if ((rc = cli_open_vault(ctx, &v)) != EXIT_OK)
        return rc;
    pl_err err = {{0}};
    pl_org *o = calloc(1, sizeof *o);
    pl_status st = o ? vault_org(v, o, &err) : pl_fail(&err, PL_E_NOMEM, "out of memory");
    const pl_org_member *m = st == PL_OK ? pl_org_find(o, want) : NULL;
    if (st == PL_OK && !m)
        st = pl_fail(&err, PL_E_NOTFOUND, "no member has fingerprint %s (see 'peerlog org "
                                          "show')", want);
    pl_entry e;
    char name[PL_NAME_MAX + 1] = "";
    if (st == PL_OK) {
        snprintf(name, sizeof name, "%s", m->id.name[0] ? m->id.name : m->id.fingerprint);
        st = vault_member_remove(v, m->id.sign_pk, reason, &e, &err);
    }
    free(o);
    vault_close(v);
    if (st != PL_OK)
        return cli_fail(st, &err);
    char id[PL_ID_HEX + 1];
    cli_hex(e.id, PL_ID_BYTES, id, sizeof id);
    if (ctx->json)
        return cli_print_json(json_pack("{s:s, s:s}", "entry", id, "fingerprint", want));
    printf("Removed %s (entry %.12s); new keys for the remaining members.\n"
           "Run 'peerlog sync DIR' now, and take away their access to the shared folder.\n",
           name, id);
    return cli_finish_stdout();
}

int cmd_member(cli_ctx *ctx, int argc, char **argv)
{
    if (argc >= 1 && !strcmp(argv[0], "remove"))
        return member_remove(ctx, argc - 1, argv + 1);
    const char *role = NULL, *expect = NULL;
    const cli_opt opts[] = {
        {"role", "ROLE", "guide, supervisor, auditor or coordinator (repeat for more)", &role,
         NULL},
        {"expect-fingerprint", "FP", "the fingerprint the member read to you (for scripts)",
         &expect, NULL},
    };
    const cli_command cmd = {
        "member add", "IDFILE", "Add a member from the file their 'peerlog id export' wrote.",
        "Coordinators only. peerlog shows the member's fingerprint: ask the member to run\n"
        "'peerlog id' and read theirs to you; add them only if the two are the same (a\n"
        "file swapped on the way would show a different one). The member gets the keys of\n"
        "their roles, readable by them alone.\n"
        "\nExamples:\n"
        "  peerlog member add kim.json --role guide\n"
        "  peerlog member add sam.json --role supervisor --role guide \\\n"
        "      --expect-fingerprint 3d63ed51ac91f7266249986b0372a728\n",
        opts, sizeof opts / sizeof opts[0]};
    if (argc < 1 || strcmp(argv[0], "add") != 0) {
        if (argc >= 1 && (!strcmp(argv[0], "--help") || !strcmp(argv[0], "-h"))) {
            cli_help(&cmd);
            return cli_finish_stdout();
        }
        return cli_usage_error(&cmd, "use 'peerlog member add IDFILE --role ROLE' or 'peerlog "
                                     "member remove FINGERPRINT --reason TEXT'");
    }
    /* --role may repeat: gather every value before the table parse keeps the last. */
    unsigned roles = 0;
    for (int i = 1; i < argc; i++) {
        const char *val = NULL;
        if (!strcmp(argv[i], "--"))
            break;
        if (!strcmp(argv[i], "--role") && i + 1 < argc)
            val = argv[++i];
        else if (!strncmp(argv[i], "--role=", 7))
            val = argv[i] + 7;
        else if ((!strcmp(argv[i], "--expect-fingerprint") || !strcmp(argv[i], "--vault") ||
                  !strcmp(argv[i], "--passphrase-file")) && i + 1 < argc)
            i++; /* that option's value, whatever it looks like */
        unsigned mask;
        char bad[32];
        if (val && pl_roles_parse(val, &mask, bad, sizeof bad) != 0)
            return cli_usage_error(&cmd, "unknown role '%s'; use guide, supervisor, auditor or "
                                         "coordinator", bad);
        if (val)
            roles |= mask;
    }
    const char *pos[1];
    size_t npos;
    int rc = cli_parse(ctx, &cmd, argc - 1, argv + 1, pos, 1, &npos);
    if (rc)
        return rc < 0 ? EXIT_USAGE : cli_finish_stdout();
    if (npos != 1)
        return cli_usage_error(&cmd, "name the identity file, e.g. 'peerlog member add kim.json "
                                     "--role guide'");
    if (!role)
        return cli_usage_error(&cmd, "give the member's role with --role");
    char want[PL_FINGERPRINT_HEX + 1];
    if (expect && fmt_fingerprint_parse(expect, PL_FINGERPRINT_BYTES, want) != 0)
        return cli_usage_error(&cmd, "--expect-fingerprint must be 32 hex digits");
    if (!expect && !cli_have_tty())
        return cli_usage_error(&cmd, "no terminal to confirm the fingerprint on; give "
                                     "--expect-fingerprint FP");
    json_t *j = load_json_file(pos[0]);
    if (!j)
        return EXIT_ERROR;
    pl_identity m;
    pl_err err = {{0}};
    pl_status st = pl_identity_import(j, &m, &err);
    json_decref(j);
    if (st != PL_OK)
        return cli_fail(st, &err);
    if (expect && strcmp(want, m.fingerprint) != 0) {
        fprintf(stderr, "peerlog: the file's fingerprint %s is not the one the member read "
                        "(%s); nothing was changed\n", m.fingerprint, want);
        return EXIT_INTEGRITY;
    }
    /* The vault first: someone who cannot add members learns it before confirming. */
    pl_vault *v = NULL;
    if ((rc = cli_open_vault(ctx, &v)) != EXIT_OK)
        return rc;
    pl_org *o = calloc(1, sizeof *o);
    pl_identity me;
    vault_identity(v, &me);
    st = o ? vault_org(v, o, &err) : PL_E_NOMEM;
    const pl_org_member *mine = st == PL_OK ? pl_org_find(o, me.fingerprint) : NULL;
    if (st == PL_OK && !(mine && (mine->roles & 1u) && !mine->removed))
        st = pl_fail(&err, PL_E_ACCESS, "only a coordinator can add members");
    free(o);
    if (st != PL_OK) {
        vault_close(v);
        return cli_fail(st, &err);
    }
    if (!expect) {
        /* The fingerprint first, the (signed but chosen) name after it. */
        printf("Fingerprint: ");
        for (size_t i = 0; m.fingerprint[i]; i += 4)
            printf("%.4s%s", m.fingerprint + i, m.fingerprint[i + 4] ? " " : "\n");
        printf("Name:        %s\n", m.name);
        fflush(stdout);
        pl_secret *yes = cli_ask("Did the member read you this fingerprint? [y/N] ");
        int ok = yes && yes->len >= 1 && (yes->p[0] == 'y' || yes->p[0] == 'Y');
        pl_secret_free(yes);
        if (!ok) {
            vault_close(v);
            fprintf(stderr, "peerlog: not added; check the file with the member\n");
            return EXIT_ERROR;
        }
    }
    pl_entry e;
    st = vault_member_add(v, &m, roles, &e, &err);
    vault_close(v);
    if (st != PL_OK)
        return cli_fail(st, &err);
    char list[96], id[PL_ID_HEX + 1];
    pl_roles_format(roles, list, sizeof list);
    cli_hex(e.id, PL_ID_BYTES, id, sizeof id);
    if (ctx->json)
        return cli_print_json(json_pack("{s:s, s:s, s:s, s:s}", "entry", id, "fingerprint",
                                        m.fingerprint, "name", m.name, "roles", list));
    printf("Added %s as %s (entry %.12s)\n", m.name[0] ? m.name : m.fingerprint, list, id);
    return cli_finish_stdout();
}

int cmd_fork(cli_ctx *ctx, int argc, char **argv)
{
    const char *keep = NULL, *reason = NULL;
    const cli_opt opts[] = {
        {"keep", "ID", "the entry whose branch counts (an id prefix 'peerlog verify' names)",
         &keep, NULL},
        {"reason", "TEXT", "why that branch (kept in the ledger, readable by every member)",
         &reason, NULL},
    };
    const cli_command cmd = {
        "fork resolve", NULL, "Resolve a fork of a member's feed (coordinators only).",
        "A fork is two different entries with one feed and sequence number, usually from a\n"
        "laptop brought back from an old backup. 'peerlog verify' names the two entries and\n"
        "fails until a coordinator decides which branch counts. Both branches stay in every\n"
        "vault as evidence; the resolution covers the forks of that feed up to the newest\n"
        "entry of it this vault holds (a later fork needs a new resolution). Ask the member\n"
        "which entries are the genuine ones before you choose.\n"
        "\nExample:\n"
        "  peerlog fork resolve --keep 3f9a2c4b1d07 --reason \"restored laptop; kept the "
        "entries its supervisor read\"\n",
        opts, sizeof opts / sizeof opts[0]};
    int rc = cli_expect_word(&cmd, argc, argv, "resolve");
    if (rc)
        return rc - 1;
    const char *pos[1];
    size_t npos;
    rc = cli_parse(ctx, &cmd, argc - 1, argv + 1, pos, 0, &npos);
    if (rc)
        return rc < 0 ? EXIT_USAGE : cli_finish_stdout();
    if (!keep || strlen(keep) < 4 || strspn(keep, "0123456789abcdef") != strlen(keep))
        return cli_usage_error(&cmd, "name the entry to keep with --keep (at least 4 hex "
                                     "digits of its id)");
    if (!reason || !*reason)
        return cli_usage_error(&cmd, "give a reason with --reason");
    pl_vault *v = NULL;
    if ((rc = cli_open_vault(ctx, &v)) != EXIT_OK)
        return rc;
    pl_err err = {{0}};
    pl_entry e;
    pl_status st = vault_fork_resolve(v, keep, reason, &e, &err);
    vault_close(v);
    if (st != PL_OK)
        return cli_fail(st, &err);
    char id[PL_ID_HEX + 1];
    cli_hex(e.id, PL_ID_BYTES, id, sizeof id);
    if (ctx->json)
        return cli_print_json(json_pack("{s:s}", "entry", id));
    printf("Resolved the fork, keeping the branch of %s (entry %.12s).\n"
           "Run 'peerlog sync DIR' so that every member's verify sees it.\n", keep, id);
    return cli_finish_stdout();
}

/* ---- erase (formats/erasure.md) -------------------------------------------------------- */

int cmd_erase(cli_ctx *ctx, int argc, char **argv)
{
    const char *subject = NULL, *reason = NULL;
    int yes = 0;
    const cli_opt opts[] = {
        {"subject", "PSEUDONYM", "the citizen whose data goes", &subject, NULL},
        {"reason", "TEXT", "why, e.g. \"the citizen asked (GDPR art. 17)\" (every member reads "
                           "it)", &reason, NULL},
        {"yes", NULL, "do not ask for confirmation (scripts)", NULL, &yes},
    };
    const cli_command cmd = {
        "erase", NULL, "Erase a citizen's data: the content of every entry about them "
                       "(coordinators).",
        "Writes an erasure entry naming the citizen, and deletes the content (bodies) of\n"
        "every entry about them in this vault: consent (name and contact go), sessions,\n"
        "agreements, supervisions naming them. The headers stay, so 'peerlog verify' still\n"
        "passes and says what was erased, when and by whom. Every member's vault does the\n"
        "same when it syncs. It cannot be undone. On a terminal it asks you to type the\n"
        "pseudonym again; scripts give --yes. Copies that never sync again (a laptop kept\n"
        "offline, backups) are not reached: see SECURITY.md.\n"
        "\nExample:\n"
        "  peerlog erase --subject B-7K3Q-9F2M --reason \"the citizen asked (GDPR art. 17)\"\n",
        opts, sizeof opts / sizeof opts[0]};
    const char *pos[1];
    size_t npos;
    int rc = cli_parse(ctx, &cmd, argc, argv, pos, 0, &npos);
    if (rc)
        return rc < 0 ? EXIT_USAGE : cli_finish_stdout();
    if (!subject || !fmt_pseudonym_valid(subject))
        return cli_usage_error(&cmd, "--subject takes a pseudonym like B-7K3Q-9F2M");
    if (!reason || !*reason)
        return cli_usage_error(&cmd, "--reason is required");
    if (!yes && !cli_have_tty())
        return cli_usage_error(&cmd, "erasure cannot be undone: run it on a terminal to confirm "
                                     "it, or add --yes");
    pl_vault *v = NULL;
    if ((rc = cli_open_vault(ctx, &v)) != EXIT_OK)
        return rc;
    if (!yes) {
        char question[128];
        snprintf(question, sizeof question, "This erases what this organisation holds about "
                                            "%s. Type the pseudonym again to go on: ", subject);
        if (!cli_confirm_typed(question, subject)) {
            vault_close(v);
            fprintf(stderr, "peerlog: not confirmed; nothing was erased\n");
            return EXIT_ERROR;
        }
    }
    pl_err err = {{0}};
    pl_entry e;
    uint64_t erased = 0;
    pl_status st = vault_erase(v, subject, reason, &e, &erased, &err);
    vault_close(v);
    if (st != PL_OK)
        return cli_fail(st, &err);
    char id[PL_ID_HEX + 1];
    cli_hex(e.id, PL_ID_BYTES, id, sizeof id);
    if (ctx->json)
        return cli_print_json(json_pack("{s:s, s:s, s:I}", "entry", id, "subject", subject,
                                        "bodies_erased", (json_int_t)erased));
    printf("Erased the content of %llu entr%s about %s (erasure entry %.12s); sync now so "
           "that every member's vault erases it too\n",
           (unsigned long long)erased, erased == 1 ? "y" : "ies", subject, id);
    return cli_finish_stdout();
}

/* ---- retention (formats/erasure.md §6) ------------------------------------------------- */

/* "session, supervision and consent" for the PL_RET_* bits of mask. */
static void type_list(unsigned mask, char *out, size_t cap)
{
    out[0] = '\0';
    for (int t = 0; t < PL_RET_TYPES; t++)
        if (mask & (1u << t))
            snprintf(out + strlen(out), cap - strlen(out), "%s%s", out[0] ? ", " : "",
                     pl_retention_names[t]);
}

static json_t *item_json(const pl_retention_item *it)
{
    json_t *due = json_object(), *now = json_array(), *bodies = json_object();
    for (int t = 0; t < PL_RET_TYPES; t++) {
        json_object_set_new(due, pl_retention_names[t],
                            it->due[t][0] ? json_string(it->due[t]) : json_null());
        json_object_set_new(bodies, pl_retention_names[t], json_integer((json_int_t)it->bodies[t]));
        if (it->due_now & (1u << t))
            json_array_append_new(now, json_string(pl_retention_names[t]));
    }
    return json_pack("{s:s, s:b, s:s?, s:s?, s:o, s:o, s:o, s:I, s:I}", "subject", it->subject,
                     "open", it->open, "closed", it->closed[0] ? it->closed : NULL, "until",
                     it->until[0] ? it->until : NULL, "due", due, "due_now", now, "bodies",
                     bodies, "bodies_due", (json_int_t)it->taken, "other",
                     (json_int_t)it->other);
}

static int retention_plan(cli_ctx *ctx, int argc, char **argv)
{
    const char *on = NULL;
    const cli_opt opts[] = {
        {"on", "DATE", "what will be due on that day (YYYY-MM-DD; default today)", &on, NULL},
    };
    const cli_command cmd = {
        "retention plan", NULL, "List what the retention policy makes due, per citizen.",
        "Reads the organisation's retention policy (set by 'org init --retention') and, for\n"
        "each citizen whose course has closed, says when each kind of record falls due and\n"
        "how many entries with content that is. Citizens with a course still open are listed\n"
        "as open: nothing of theirs is due. It changes nothing; 'retention apply' erases what\n"
        "is due today.\n"
        "\nExamples:\n"
        "  peerlog retention plan\n"
        "  peerlog retention plan --on 2027-06-30 --json\n",
        opts, sizeof opts / sizeof opts[0]};
    const char *pos[1];
    size_t npos;
    int rc = cli_parse(ctx, &cmd, argc, argv, pos, 0, &npos);
    if (rc)
        return rc < 0 ? EXIT_USAGE : cli_finish_stdout();
    if (on && !fmt_date_valid(on))
        return cli_usage_error(&cmd, "--on takes a date like 2027-06-30");
    pl_vault *v = NULL;
    if ((rc = cli_open_vault(ctx, &v)) != EXIT_OK)
        return rc;
    pl_err err = {{0}};
    pl_retention_item *items = NULL;
    pl_retention pol;
    size_t n = 0;
    char today[PL_DATE_LEN + 1];
    pl_today(today);
    pl_status st = vault_retention_plan(v, on, &items, &n, &pol, &err);
    vault_close(v);
    if (st != PL_OK)
        return cli_fail(st, &err);
    uint64_t due = 0;
    unsigned citizens = 0;
    for (size_t i = 0; i < n; i++)
        if (items[i].due_now && items[i].taken) {
            due += items[i].taken;
            citizens++;
        }
    if (ctx->json) {
        json_t *list = json_array();
        for (size_t i = 0; i < n; i++)
            json_array_append_new(list, item_json(&items[i]));
        free(items);
        return cli_print_json(json_pack("{s:s, s:b, s:o, s:o, s:i, s:I}", "on", on ? on : today,
                                        "policy_set", pol.set,
                                        "policy", pol.set ? pl_retention_json(&pol) : json_null(),
                                        "citizens", list, "citizens_due", (int)citizens,
                                        "bodies_due", (json_int_t)due));
    }
    if (!pol.set) {
        free(items);
        printf("The organisation's policy sets no retention period: nothing is ever due.\n"
               "(It is set when the organisation is made: 'peerlog org init --retention'.)\n");
        return cli_finish_stdout();
    }
    printf("Retention on %s:\n", on ? on : today);
    for (size_t i = 0; i < n; i++) {
        const pl_retention_item *it = &items[i];
        char types[160];
        if (it->open && it->closed[0] && strcmp(it->closed, on ? on : today) > 0) {
            printf("  %s  course open: nothing due (its close is dated %s, after this day: "
                   "correct it if it is wrong)\n", it->subject, it->closed);
            continue;
        }
        if (it->open) {
            printf("  %s  course open: nothing due\n", it->subject);
            continue;
        }
        type_list(it->due_now, types, sizeof types);
        if (it->due_now && it->taken)
            printf("  %s  course closed %s: DUE %s (%llu entr%s)\n", it->subject, it->closed,
                   types, (unsigned long long)it->taken, it->taken == 1 ? "y" : "ies");
        else if (it->due_now)
            printf("  %s  course closed %s: %s already erased\n", it->subject, it->closed,
                   types);
        const char *next = NULL;
        int nt = -1;
        for (int t = 0; t < PL_RET_TYPES; t++)
            if (!(it->due_now & (1u << t)) && it->due[t][0] && it->bodies[t] &&
                (!next || strcmp(it->due[t], next) < 0)) {
                next = it->due[t];
                nt = t;
            }
        if (next)
            printf("  %s  course closed %s: %s due on %s\n", it->subject, it->closed,
                   pl_retention_names[nt], next);
        else if (!it->due_now)
            printf("  %s  course closed %s: nothing due (kept)\n", it->subject, it->closed);
    }
    printf("%u citizen%s with %llu entr%s due; 'peerlog retention apply' erases them\n",
           citizens, citizens == 1 ? "" : "s", (unsigned long long)due, due == 1 ? "y" : "ies");
    free(items);
    return cli_finish_stdout();
}

static int retention_apply(cli_ctx *ctx, int argc, char **argv)
{
    int yes = 0;
    const cli_opt opts[] = {
        {"yes", NULL, "do not ask for confirmation (scripts)", NULL, &yes},
    };
    const cli_command cmd = {
        "retention apply", NULL, "Erase what the retention policy makes due today "
                                 "(coordinators).",
        "Writes one erasure entry per citizen with records due (see 'retention plan'):\n"
        "it names the kinds of record and the day their course closed, and the content of\n"
        "those records dated up to that day goes, in this vault now and in every member's\n"
        "vault when it syncs, exactly as with 'peerlog erase'. Headers stay. It cannot be\n"
        "undone: on a terminal it asks you to type 'erase'; scripts give --yes.\n"
        "\nExample:\n"
        "  peerlog retention plan && peerlog retention apply\n",
        opts, sizeof opts / sizeof opts[0]};
    const char *pos[1];
    size_t npos;
    int rc = cli_parse(ctx, &cmd, argc, argv, pos, 0, &npos);
    if (rc)
        return rc < 0 ? EXIT_USAGE : cli_finish_stdout();
    if (!yes && !cli_have_tty())
        return cli_usage_error(&cmd, "erasure cannot be undone: run it on a terminal to confirm "
                                     "it, or add --yes");
    pl_vault *v = NULL;
    if ((rc = cli_open_vault(ctx, &v)) != EXIT_OK)
        return rc;
    if (!yes) {
        if (!cli_confirm_typed("This erases every record the retention policy makes due today "
                               "('peerlog retention plan' lists them). Type 'erase' to go on: ",
                               "erase")) {
            vault_close(v);
            fprintf(stderr, "peerlog: not confirmed; nothing was erased\n");
            return EXIT_ERROR;
        }
    }
    pl_err err = {{0}};
    unsigned erasures = 0;
    uint64_t erased = 0;
    pl_status st = vault_retention_apply(v, &erasures, &erased, &err);
    vault_close(v);
    if (st != PL_OK)
        return cli_fail(st, &err);
    if (ctx->json)
        return cli_print_json(json_pack("{s:i, s:I}", "erasures", (int)erasures, "bodies_erased",
                                        (json_int_t)erased));
    if (!erasures)
        printf("Nothing is due today\n");
    else
        printf("Wrote %u erasure entr%s; erased the content of %llu entr%s. Sync now so that "
               "every member's vault erases it too\n", erasures, erasures == 1 ? "y" : "ies",
               (unsigned long long)erased, erased == 1 ? "y" : "ies");
    return cli_finish_stdout();
}

int cmd_retention(cli_ctx *ctx, int argc, char **argv)
{
    static const cli_verb verbs[] = {
        {"plan", retention_plan, "list what the retention policy makes due"},
        {"apply", retention_apply, "erase what is due today (coordinators)"},
    };
    return cli_dispatch("retention", verbs, sizeof verbs / sizeof verbs[0], ctx, argc, argv);
}
