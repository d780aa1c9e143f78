/* report: statistics for evaluation, from headers only, with small cells suppressed. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/html.h"

static uint64_t total_minutes(const pl_report_row *x)
{
    uint64_t m = 0;
    for (unsigned k = 0; k < PL_SESSION_KINDS; k++)
        m += x->minutes[k];
    return m;
}

static double hours(uint64_t minutes)
{
    return (double)minutes / 60.0;
}

/* A count, or "<5" where the report hides it (PL_HIDE_* bit). */
static json_t *cell_json(const pl_report_row *x, unsigned bit, json_t *value)
{
    if (!(x->hidden & bit))
        return value;
    json_decref(value);
    return json_string("<5");
}

static json_t *row_json(const pl_report_row *x)
{
    json_t *sessions = json_object(), *hrs = json_object();
    for (unsigned k = 0; k < PL_SESSION_KINDS; k++) {
        json_object_set_new(sessions, pl_session_kinds[k],
                            cell_json(x, PL_HIDE_KIND(k), json_integer(x->sessions[k])));
        json_object_set_new(hrs, pl_session_kinds[k],
                            cell_json(x, PL_HIDE_KIND(k), json_real(hours(x->minutes[k]))));
    }
    return json_pack("{s:s, s:s, s:o, s:o, s:o, s:o, s:o, s:o, s:i, s:i, s:f}", "key", x->key,
                     "label", x->label, "courses_started",
                     cell_json(x, PL_HIDE_STARTED, json_integer(x->courses_started)),
                     "courses_closed", cell_json(x, PL_HIDE_CLOSED, json_integer(x->courses_closed)),
                     "sessions", sessions, "hours", hrs, "citizens",
                     cell_json(x, PL_HIDE_CITIZENS, json_integer(x->citizens)), "hours_total",
                     cell_json(x, PL_HIDE_TOTAL, json_real(hours(total_minutes(x)))), "guides",
                     (int)x->guides, "supervisions", (int)x->supervisions, "supervision_hours",
                     hours(x->supervision_minutes));
}

static void cell_text(char *out, size_t cap, const pl_report_row *x, unsigned bit,
                      unsigned value)
{
    if (x->hidden & bit)
        snprintf(out, cap, "<5");
    else
        snprintf(out, cap, "%u", value);
}

static void print_row(const char *name, const pl_report_row *x)
{
    char c[8][24];
    cell_text(c[0], sizeof c[0], x, PL_HIDE_STARTED, x->courses_started);
    cell_text(c[1], sizeof c[1], x, PL_HIDE_CLOSED, x->courses_closed);
    for (unsigned k = 0; k < PL_SESSION_KINDS; k++)
        cell_text(c[2 + k], sizeof c[2 + k], x, PL_HIDE_KIND(k), x->sessions[k]);
    cell_text(c[6], sizeof c[6], x, PL_HIDE_CITIZENS, x->citizens);
    if (x->hidden & PL_HIDE_TOTAL)
        snprintf(c[7], sizeof c[7], "<5");
    else
        snprintf(c[7], sizeof c[7], "%.1f", hours(total_minutes(x)));
    printf("%-24.24s %7s %6s %10s %13s %5s %4s %6s %8s %6u %12.1f\n", name, c[0], c[1], c[2],
           c[3], c[4], c[5], c[7], c[6], x->guides, hours(x->supervision_minutes));
}

/* 1 when from is the first of a month and to the last day of one (either may be NULL). */
static int whole_months(const char *from, const char *to)
{
    char next[PL_DATE_LEN + 1] = "";
    if (to)
        pl_date_of_day(pl_day_number(to) + 1, next);
    return (!from || !strcmp(from + 8, "01")) && (!to || !strcmp(next + 8, "01"));
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
    if (!no_suppress && !whole_months(from, to))
        return cli_usage_error(&cmd, "--from and --to take whole months (e.g. --from 2026-01-01 "
                                     "--to 2026-06-30), so that two reports cannot be "
                                     "subtracted to single out a day's citizens");
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
        st = vault_report(v, from, to, by_guide, !no_suppress, &r, &err);
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
        int whole = rows != NULL;
        for (size_t i = 0; i < r.nrows && whole; i++)
            whole = json_array_append_new(rows, row_json(&r.rows[i])) == 0;
        json_t *j = json_pack("{s:s, s:s?, s:s?, s:s, s:b, s:i, s:o, s:o}", "organisation",
                              o->name, "from", from, "to", to, "by", by_guide ? "guide" : "month",
                              "suppressed", suppress, "min_citizens",
                              (int)PL_REPORT_MIN_CITIZENS, "rows", rows, "total",
                              row_json(&r.total));
        if (!whole) {
            json_decref(j);
            j = NULL; /* cli_print_json says: out of memory */
        }
        rc = cli_print_json(j);
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
            print_row(name, &r.rows[i]);
        }
        print_row("total", &r.total);
        if (html)
            printf("Wrote the report to %s\n", html);
        rc = cli_finish_stdout();
    }
    pl_report_free(&r);
    free(o);
    return rc;
}
