/* audit: the consent-trail audit as text, JSON or a self-contained HTML page. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "cli/cli.h"
#include "cli/html.h"
#include "formats/text.h"

static json_t *audit_json(const pl_audit *a, const pl_org *o, const char *from, const char *to,
                          const pl_opened *opened, size_t nopened, const json_t *checkpoint)
{
    json_t *findings = json_array(), *counts = json_object(), *courses = json_array(),
           *bodies = json_object();
    for (size_t i = 0; i < a->nfindings; i++) {
        const pl_finding *f = &a->findings[i];
        char id[PL_ID_HEX + 1] = "";
        if (f->has_entry)
            cli_hex(f->entry, PL_ID_BYTES, id, sizeof id);
        json_array_append_new(findings,
                              json_pack("{s:s, s:s?, s:s?, s:s?, s:s}", "rule",
                                        pl_audit_rule_names[f->rule], "subject",
                                        f->subject[0] ? f->subject : NULL, "date",
                                        f->date[0] ? f->date : NULL, "entry",
                                        f->has_entry ? id : NULL, "what", f->what));
    }
    for (unsigned r = 0; r < PL_AUDIT_RULES; r++)
        json_object_set_new(counts, pl_audit_rule_names[r], json_integer((json_int_t)a->rule_count[r]));
    for (size_t i = 0; i < a->ncourses; i++) {
        const pl_audit_course *c = &a->courses[i];
        json_array_append_new(
            courses, json_pack("{s:s, s:s, s:s, s:s?, s:s?, s:i, s:f, s:i}", "subject", c->subject,
                               "guide", c->guide, "start", c->start, "planned_end",
                               c->planned_end[0] ? c->planned_end : NULL, "end",
                               c->end[0] ? c->end : NULL, "sessions", (int)c->sessions,
                               "mean_gap_days", c->mean_gap_days, "max_gap_days",
                               (int)c->max_gap_days));
    }
    for (size_t i = 0; i < nopened && i < 16; i++)
        json_object_set_new(bodies, opened[i].type, json_integer((json_int_t)opened[i].n));
    json_t *j = json_pack("{s:b, s:s, s:s?, s:s?, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I}", "ok",
                          a->nfindings == 0, "organisation", o->name, "from", from, "to", to,
                          "feeds", (json_int_t)a->feeds, "entries", (json_int_t)a->entries,
                          "subjects", (json_int_t)a->subjects, "sessions",
                          (json_int_t)a->sessions, "supervisions", (json_int_t)a->supervisions,
                          "signatures_checked", (json_int_t)a->signatures_checked,
                          "bodies_checked", (json_int_t)a->bodies_checked, "finding_count",
                          (json_int_t)a->nfindings);
    if (!j)
        return NULL;
    json_object_set_new(j, "counts", counts);
    json_object_set_new(j, "findings", findings);
    json_object_set_new(j, "courses", courses);
    json_object_set_new(j, "courses_left_off", json_integer((json_int_t)a->courses_left_off));
    json_object_set_new(j, "bodies_opened", bodies);
    if (checkpoint)
        json_object_set(j, "checkpoint", (json_t *)checkpoint);
    return j;
}

static void print_finding(const pl_finding *f)
{
    char id[13] = "-";
    if (f->has_entry)
        cli_hex(f->entry, 6, id, sizeof id);
    printf("%-17s %-11s %-10s %-12s %s\n", pl_audit_rule_names[f->rule],
           f->subject[0] ? f->subject : "-", f->date[0] ? f->date : "-", id, f->what);
}

static void print_summary(const pl_audit *a, const pl_org *o, const char *from, const char *to)
{
    printf("Audit of \"%s\"", o->name);
    if (from || to)
        printf(" for entries dated %s to %s", from ? from : "the start", to ? to : "today");
    printf(": %llu entr%s in %llu feed%s, %llu citizen%s, %llu session%s, %llu supervision%s\n",
           (unsigned long long)a->entries, a->entries == 1 ? "y" : "ies",
           (unsigned long long)a->feeds, a->feeds == 1 ? "" : "s",
           (unsigned long long)a->subjects, a->subjects == 1 ? "" : "s",
           (unsigned long long)a->sessions, a->sessions == 1 ? "" : "s",
           (unsigned long long)a->supervisions, a->supervisions == 1 ? "" : "s");
    unsigned gaps = 0;
    double sum = 0;
    unsigned with = 0;
    for (size_t i = 0; i < a->ncourses; i++) {
        if (a->courses[i].max_gap_days > 14)
            gaps++;
        if (a->courses[i].sessions > 1) {
            sum += a->courses[i].mean_gap_days;
            with++;
        }
    }
    if (a->ncourses)
        printf("Courses: %zu; a session every %.1f days on average; %u with a gap of more than "
               "two weeks (reported, not a finding)\n",
               a->ncourses, with ? sum / with : 0.0, gaps);
    if (a->nfindings == 0) {
        printf("No findings: every rule holds.\n");
        return;
    }
    printf("%zu finding%s:", a->nfindings, a->nfindings == 1 ? "" : "s");
    const char *sep = " ";
    for (unsigned r = 0; r < PL_AUDIT_RULES; r++)
        if (a->rule_count[r]) {
            printf("%s%s %llu", sep, pl_audit_rule_names[r], (unsigned long long)a->rule_count[r]);
            sep = ", ";
        }
    printf("\n");
}

int cmd_audit(cli_ctx *ctx, int argc, char **argv)
{
    const char *from = NULL, *to = NULL, *html = NULL, *checkpoint = NULL;
    const cli_opt opts[] = {
        {"from", "DATE", "report findings about entries dated from DATE (YYYY-MM-DD)", &from,
         NULL},
        {"to", "DATE", "... up to DATE (inclusive); open courses are judged as of DATE", &to,
         NULL},
        {"html", "FILE", "also write a self-contained HTML report with a timeline per citizen",
         &html, NULL},
        {"checkpoint", "FILE", "also check a checkpoint an auditor signed earlier", &checkpoint,
         NULL},
    };
    const cli_command cmd = {
        "audit", NULL,
        "Check that every contact with a citizen was covered by consent (auditors, "
        "coordinators).",
        "Reads headers only: no session or supervision note is decrypted. Checks, for every\n"
        "citizen, that each session (peer-support and record-keeping), match and\n"
        "collaboration agreement (peer-support) and each supervision naming the citizen\n"
        "(supervision-sharing) had active consent on its date, and nothing came after a\n"
        "withdrawal or after consent ended; that each guide's sessions fell under a\n"
        "countersigned volunteer agreement; that a course lasts at most 4 months and\n"
        "sessions fall inside a course; that every author held a role allowed to write the\n"
        "entry; chains, signatures, body hashes and forks. How often sessions happen is\n"
        "reported, not judged. One line per finding (rule, citizen, date, entry, what);\n"
        "the exit code is 4 when there is any finding. Sync first, so that the audit sees\n"
        "everyone's entries.\n"
        "\nExamples:\n"
        "  peerlog audit\n"
        "  peerlog audit --from 2026-01-01 --to 2026-06-30 --html audit.html\n"
        "  peerlog audit --checkpoint last-quarter.checkpoint --json\n",
        opts, sizeof opts / sizeof opts[0]};
    const char *pos[1];
    size_t npos;
    int rc = cli_parse(ctx, &cmd, argc, argv, pos, 0, &npos);
    if (rc)
        return rc < 0 ? EXIT_USAGE : cli_finish_stdout();
    if ((rc = cli_date_range(&cmd, from, to)) != EXIT_OK)
        return rc;
    pl_vault *v = NULL;
    if ((rc = cli_open_vault(ctx, &v)) != EXIT_OK)
        return rc;
    pl_err err = {{0}};
    pl_audit a;
    pl_org *o = calloc(1, sizeof *o);
    json_t *cp = NULL;
    if (!o) {
        vault_close(v);
        fprintf(stderr, "peerlog: out of memory\n");
        return EXIT_ERROR;
    }
    pl_status st = vault_audit(v, from, to, &a, &err);
    if (st == PL_OK && (st = vault_org(v, o, &err)) != PL_OK)
        pl_audit_free(&a);
    if (st == PL_OK && checkpoint && (rc = cli_audit_checkpoint(v, checkpoint, &a, &cp)) != 0) {
        pl_audit_free(&a);
        vault_close(v);
        free(o);
        return rc;
    }
    pl_opened opened[16];
    size_t nopened = vault_bodies_opened(v, opened, 16);
    vault_close(v);
    if (st != PL_OK) {
        free(o);
        return cli_fail(st, &err);
    }
    if (html && (rc = cli_audit_html(html, &a, o, from, to, opened,
                                         nopened < 16 ? nopened : 16)) != EXIT_OK) {
        pl_audit_free(&a);
        json_decref(cp);
        free(o);
        return rc;
    }
    if (ctx->json) {
        rc = cli_print_json(audit_json(&a, o, from, to, opened, nopened, cp));
    } else {
        for (size_t i = 0; i < a.nfindings; i++)
            print_finding(&a.findings[i]);
        print_summary(&a, o, from, to);
        if (html)
            printf("Wrote the report to %s\n", html);
        rc = cli_finish_stdout();
    }
    if (rc == EXIT_OK && a.nfindings)
        rc = EXIT_INTEGRITY;
    pl_audit_free(&a);
    json_decref(cp);
    free(o);
    return rc;
}
