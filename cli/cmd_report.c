/* report: statistics for evaluation, from headers only, with small cells suppressed. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/html.h"

/* A count about n distinct citizens: shown unless 1..4 citizens could be singled out. */
static int hidden(unsigned citizens, int suppress)
{
    return suppress && citizens > 0 && citizens < PL_REPORT_MIN_CITIZENS;
}

static json_t *cell_json(unsigned value, unsigned citizens, int suppress)
{
    return hidden(citizens, suppress) ? json_string("<5") : json_integer((json_int_t)value);
}

static unsigned total_minutes(const pl_report_row *x)
{
    unsigned m = 0;
    for (unsigned k = 0; k < PL_SESSION_KINDS; k++)
        m += x->minutes[k];
    return m;
}

static json_t *row_json(const pl_report_row *x, int suppress)
{
    json_t *sessions = json_object(), *hours = json_object();
    for (unsigned k = 0; k < PL_SESSION_KINDS; k++) {
        json_object_set_new(sessions, pl_session_kinds[k],
                            cell_json(x->sessions[k], x->citizens_kind[k], suppress));
        json_object_set_new(hours, pl_session_kinds[k],
                            hidden(x->citizens_kind[k], suppress)
                                ? json_string("<5")
                                : json_real(x->minutes[k] / 60.0));
    }
    json_t *j = json_pack("{s:s, s:s, s:o, s:o, s:o, s:o, s:o, s:o, s:i, s:i, s:f}", "key", x->key,
                          "label", x->label, "courses_started",
                          cell_json(x->courses_started, x->citizens_started, suppress),
                          "courses_closed",
                          cell_json(x->courses_closed, x->citizens_closed, suppress),
                          "sessions", sessions, "hours", hours, "citizens",
                          cell_json(x->citizens, x->citizens, suppress), "hours_total",
                          hidden(x->citizens, suppress) ? json_string("<5")
                                                         : json_real(total_minutes(x) / 60.0),
                          "guides", (int)x->guides, "supervisions", (int)x->supervisions,
                          "supervision_hours", x->supervision_minutes / 60.0);
    return j;
}

static void cell_text(char *out, size_t cap, unsigned value, unsigned citizens, int suppress)
{
    if (hidden(citizens, suppress))
        snprintf(out, cap, "<5");
    else
        snprintf(out, cap, "%u", value);
}

static void print_row(const char *name, const pl_report_row *x, int suppress)
{
    char c[8][16];
    cell_text(c[0], sizeof c[0], x->courses_started, x->citizens_started, suppress);
    cell_text(c[1], sizeof c[1], x->courses_closed, x->citizens_closed, suppress);
    for (unsigned k = 0; k < PL_SESSION_KINDS; k++)
        cell_text(c[2 + k], sizeof c[2 + k], x->sessions[k], x->citizens_kind[k], suppress);
    cell_text(c[6], sizeof c[6], x->citizens, x->citizens, suppress);
    if (hidden(x->citizens, suppress))
        snprintf(c[7], sizeof c[7], "<5");
    else
        snprintf(c[7], sizeof c[7], "%.1f", total_minutes(x) / 60.0);
    printf("%-24.24s %7s %6s %10s %13s %5s %4s %6s %8s %6u %12.1f\n", name, c[0], c[1], c[2],
           c[3], c[4], c[5], c[7], c[6], x->guides, x->supervision_minutes / 60.0);
}

int cmd_report(cli_ctx *ctx, int argc, char **argv)
{
    const char *from = NULL, *to = NULL, *by = NULL, *html = NULL;
    int no_suppress = 0;
    const cli_opt opts[] = {
        {"from", "DATE", "count entries dated from DATE (YYYY-MM-DD)", &from, NULL},
        {"to", "DATE", "... up to DATE (inclusive)", &to, NULL},
        {"by", "month|guide", "one row per month (the default) or per guide", &by, NULL},
        {"html", "FILE", "also write a page with a bar chart per month", &html, NULL},
        {"no-suppress", NULL, "show counts about fewer than 5 citizens (coordinators only)",
         NULL, &no_suppress},
    };
    const cli_command cmd = {
        "report", NULL, "Statistics for evaluation: courses, sessions, hours, guides.",
        "Counts from entry headers only (no note is read): courses started and closed,\n"
        "sessions and hours by kind, the citizens they were with, guides with sessions,\n"
        "supervisions and their hours, per month or per guide. A count about fewer than 5\n"
        "citizens shows as <5, so that no citizen can be singled out; a coordinator may\n"
        "lift that with --no-suppress for internal use. Auditors and coordinators.\n"
        "\nExamples:\n"
        "  peerlog report --from 2026-01-01 --to 2026-06-30\n"
        "  peerlog report --by guide --json\n"
        "  peerlog report --html report.html\n",
        opts, sizeof opts / sizeof opts[0]};
    const char *pos[1];
    size_t npos;
    int rc = cli_parse(ctx, &cmd, argc, argv, pos, 0, &npos);
    if (rc)
        return rc < 0 ? EXIT_USAGE : cli_finish_stdout();
    if ((rc = cli_date_range(&cmd, from, to)) != EXIT_OK)
        return rc;
    if (by && strcmp(by, "month") && strcmp(by, "guide"))
        return cli_usage_error(&cmd, "--by takes month or guide, not '%s'", by);
    int by_guide = by && !strcmp(by, "guide");
    pl_vault *v = NULL;
    if ((rc = cli_open_vault(ctx, &v)) != EXIT_OK)
        return rc;
    pl_err err = {{0}};
    pl_report r;
    pl_org *o = calloc(1, sizeof *o);
    pl_status st = o ? vault_org(v, o, &err) : PL_E_NOMEM;
    if (st == PL_E_NOTFOUND)
        st = pl_fail(&err, PL_E_NOTFOUND, "this vault belongs to no organisation: the report "
                                          "reads an organisation's ledger");
    if (st == PL_OK && no_suppress) {
        pl_identity me;
        vault_identity(v, &me);
        const pl_org_member *m = pl_org_find(o, me.fingerprint);
        if (!m || m->removed || !(m->roles & PL_ROLE_COORDINATOR))
            st = pl_fail(&err, PL_E_ACCESS, "only a coordinator may show counts about fewer "
                                            "than 5 citizens (--no-suppress)");
    }
    if (st == PL_OK)
        st = vault_report(v, from, to, by_guide, &r, &err);
    vault_close(v);
    if (st != PL_OK) {
        free(o);
        return cli_fail(st, &err);
    }
    int suppress = !no_suppress;
    if (html && (rc = cli_report_html(html, &r, o, from, to, by_guide, suppress)) != EXIT_OK) {
        pl_report_free(&r);
        free(o);
        return rc;
    }
    if (ctx->json) {
        json_t *rows = json_array();
        for (size_t i = 0; i < r.nrows; i++)
            json_array_append_new(rows, row_json(&r.rows[i], suppress));
        rc = cli_print_json(json_pack("{s:s, s:s?, s:s?, s:s, s:b, s:i, s:o, s:o}",
                                      "organisation", o->name, "from", from, "to", to, "by",
                                      by_guide ? "guide" : "month", "suppressed", suppress,
                                      "min_citizens", (int)PL_REPORT_MIN_CITIZENS, "rows", rows,
                                      "total", row_json(&r.total, suppress)));
    } else {
        printf("Report of \"%s\", entries dated %s to %s, by %s%s\n", o->name,
               from ? from : "the start", to ? to : "today", by_guide ? "guide" : "month",
               suppress ? "; <5: a count about fewer than 5 citizens" : " (NOT suppressed: "
                                                                      "internal use only)");
        printf("%-24s %7s %6s %10s %13s %5s %4s %6s %8s %6s %12s\n",
               by_guide ? "guide" : "month", "started", "closed", "one-to-one", "accompaniment",
               "group", "ward", "hours", "citizens", "guides", "supervision h");
        for (size_t i = 0; i < r.nrows; i++) {
            char name[PL_NAME_MAX + 48];
            if (by_guide)
                snprintf(name, sizeof name, "%.8s %s", r.rows[i].key, r.rows[i].label);
            else
                snprintf(name, sizeof name, "%s", r.rows[i].key);
            print_row(name, &r.rows[i], suppress);
        }
        print_row("total", &r.total, suppress);
        if (html)
            printf("Wrote the report to %s\n", html);
        rc = cli_finish_stdout();
    }
    pl_report_free(&r);
    free(o);
    return rc;
}
