/* HTML pages: one file each, inline style and SVG, no scripts and nothing fetched. */
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/html.h"

void html_text(FILE *f, const char *s)
{
    for (; *s; s++) {
        switch (*s) {
        case '&': fputs("&amp;", f); break;
        case '<': fputs("&lt;", f); break;
        case '>': fputs("&gt;", f); break;
        case '"': fputs("&quot;", f); break;
        case '\'': fputs("&#39;", f); break;
        default: fputc(*s, f);
        }
    }
}

void html_begin(FILE *f, const char *title)
{
    fputs("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n"
          "<meta name=\"viewport\" content=\"width=device-width\">\n"
          /* nothing may be fetched: the page is read offline, often from a USB stick */
          "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; "
          "style-src 'unsafe-inline'\">\n<title>",
          f);
    html_text(f, title);
    fputs("</title>\n<style>\n"
          "body{font-family:sans-serif;margin:2em;color:#222;max-width:70em}\n"
          "table{border-collapse:collapse;margin:1em 0}\n"
          "td,th{border:1px solid #bbb;padding:.25em .5em;text-align:left;vertical-align:top}\n"
          "th{background:#eee}\n.bad{color:#a00}.ok{color:#070}\n"
          "svg{display:block;margin:.5em 0 1.5em}\n"
          "svg text{font:11px sans-serif;fill:#333}\n"
          "</style></head><body>\n",
          f);
}

static void html_end(FILE *f)
{
    fputs("</body></html>\n", f);
}

int html_close(FILE *f, char **buf, size_t *n, const char *path)
{
    html_end(f);
    /* open_memstream: *buf and *n are set when the stream is closed */
    if (fclose(f) != 0 || !*buf) {
        free(*buf);
        fprintf(stderr, "peerlog: out of memory\n");
        return EXIT_ERROR;
    }
    pl_err err = {{0}};
    pl_status st = pl_file_write_atomic(path, (const uint8_t *)*buf, *n, &err);
    free(*buf);
    if (st != PL_OK)
        return cli_fail(st, &err);
    return EXIT_OK;
}

/* ---- the audit ------------------------------------------------------------------------- */

#define TL_W    880.0
#define TL_LEFT 90.0

typedef struct {
    long lo, hi;
} span;

static double x_of(span s, const char *d)
{
    long day = pl_day_number(d);
    if (day < s.lo)
        day = s.lo;
    if (day > s.hi)
        day = s.hi;
    return TL_LEFT + (TL_W - TL_LEFT - 10) * (double)(day - s.lo) / (double)(s.hi - s.lo);
}

static const struct {
    const char *kind, *label;
    double y;
} lanes[] = {{"consent", "consent", 18}, {"course", "course", 42}, {"session", "sessions", 66},
             {"supervision", "supervision", 90}, {"finding", "findings", 114}};

static void timeline(FILE *f, const pl_audit *a, size_t from, size_t to)
{
    const char *subject = a->events[from].subject;
    /* The span: the events' and findings' own dates; a consent's or course's last day may lie
     * far beyond them (or be forged so) and is drawn to the edge. */
    span s = {0, 0};
    int first = 1;
    for (size_t i = from; i < to; i++) {
        long d = pl_day_number(a->events[i].date);
        if (first || d < s.lo)
            s.lo = d;
        if (first || d > s.hi)
            s.hi = d;
        first = 0;
    }
    for (size_t i = 0; i < a->nfindings; i++)
        if (!strcmp(a->findings[i].subject, subject) && a->findings[i].date[0]) {
            long d = pl_day_number(a->findings[i].date);
            s.lo = d < s.lo ? d : s.lo;
            s.hi = d > s.hi ? d : s.hi;
        }
    s.lo -= 7;
    s.hi += 31;
    fprintf(f, "<svg width=\"%.0f\" height=\"150\" viewBox=\"0 0 %.0f 150\" role=\"img\" "
               "aria-label=\"timeline of ",
            TL_W, TL_W);
    html_text(f, subject);
    fputs("\">\n", f);
    for (size_t l = 0; l < sizeof lanes / sizeof lanes[0]; l++)
        fprintf(f, "<text x=\"4\" y=\"%.0f\">%s</text><line x1=\"%.0f\" x2=\"%.0f\" y1=\"%.0f\" "
                   "y2=\"%.0f\" stroke=\"#ddd\"/>\n",
                lanes[l].y + 4, lanes[l].label, TL_LEFT, TL_W - 10, lanes[l].y, lanes[l].y);
    /* Month ticks, at most about 24 of them. */
    char tick[PL_DATE_LEN + 1], lo[PL_DATE_LEN + 1];
    pl_date_of_day(s.lo, lo);
    long months = (s.hi - s.lo) / 30 + 1, step = months / 24 + 1;
    snprintf(tick, sizeof tick, "%.8s01", lo);
    for (long k = 0; pl_day_number(tick) <= s.hi && k <= months; k += step) {
        char next[PL_DATE_LEN + 1];
        if (pl_day_number(tick) >= s.lo) {
            double x = x_of(s, tick);
            fprintf(f, "<line x1=\"%.1f\" x2=\"%.1f\" y1=\"8\" y2=\"124\" stroke=\"#eee\"/>"
                       "<text x=\"%.1f\" y=\"142\">%.7s</text>\n",
                    x, x, x + 2, tick);
        }
        pl_date_plus_months(tick, (int)step, next);
        memcpy(tick, next, sizeof tick);
    }
    for (size_t i = from; i < to; i++) {
        const pl_audit_event *e = &a->events[i];
        double x = x_of(s, e->date);
        char id[13];
        cli_hex(e->entry, 6, id, sizeof id);
        if (!strcmp(e->kind, "consent") || !strcmp(e->kind, "course")) {
            double y = !strcmp(e->kind, "consent") ? 18 : 42;
            double x2 = e->end[0] ? x_of(s, e->end) : TL_W - 10;
            fprintf(f, "<rect x=\"%.1f\" y=\"%.0f\" width=\"%.1f\" height=\"10\" fill=\"%s\" "
                       "opacity=\"0.6\"><title>%s %s from %s%s%s</title></rect>\n",
                    x, y - 5, x2 - x > 1 ? x2 - x : 1, y < 20 ? "#3a3" : "#36c", e->kind, id,
                    e->date, e->end[0] ? " to " : "", e->end);
        } else if (!strcmp(e->kind, "withdrawal")) {
            fprintf(f, "<line x1=\"%.1f\" x2=\"%.1f\" y1=\"8\" y2=\"52\" stroke=\"#c00\" "
                       "stroke-width=\"2\"><title>withdrawal %s on %s</title></line>\n",
                    x, x, id, e->date);
        } else if (!strcmp(e->kind, "close")) {
            fprintf(f, "<line x1=\"%.1f\" x2=\"%.1f\" y1=\"34\" y2=\"50\" stroke=\"#000\" "
                       "stroke-width=\"3\"><title>course closed %s on %s</title></line>\n",
                    x, x, id, e->date);
        } else if (!strcmp(e->kind, "match")) {
            fprintf(f, "<path d=\"M%.1f 36 l5 6 l-5 6 l-5 -6 z\" fill=\"#639\"><title>match %s "
                       "on %s</title></path>\n",
                    x, id, e->date);
        } else if (!strcmp(e->kind, "session")) {
            fprintf(f, "<circle cx=\"%.1f\" cy=\"66\" r=\"4\" fill=\"#333\"><title>session %s on "
                       "%s, %u minutes</title></circle>\n",
                    x, id, e->date, e->minutes);
        } else if (!strcmp(e->kind, "supervision")) {
            fprintf(f, "<path d=\"M%.1f 84 l5 10 l-10 0 z\" fill=\"#c80\"><title>supervision %s "
                       "on %s</title></path>\n",
                    x, id, e->date);
        }
    }
    for (size_t i = 0; i < a->nfindings; i++) {
        const pl_finding *g = &a->findings[i];
        if (strcmp(g->subject, subject) != 0 || !g->date[0])
            continue;
        double x = x_of(s, g->date);
        fprintf(f, "<circle cx=\"%.1f\" cy=\"114\" r=\"6\" fill=\"none\" stroke=\"#c00\" "
                   "stroke-width=\"2\"><title>%s: ",
                x, pl_audit_rule_names[g->rule]);
        html_text(f, g->what);
        fputs("</title></circle>\n", f);
    }
    fputs("</svg>\n", f);
}

int cli_audit_html(const char *path, const pl_audit *a, const pl_org *o, const char *from,
                   const char *to, const pl_opened *opened, size_t nopened)
{
    char *buf = NULL;
    size_t n = 0;
    FILE *f = open_memstream(&buf, &n);
    if (!f) {
        fprintf(stderr, "peerlog: out of memory\n");
        return EXIT_ERROR;
    }
    char title[PL_NAME_MAX + 40];
    snprintf(title, sizeof title, "Consent-trail audit: %s", o->name);
    html_begin(f, title);
    fputs("<h1>", f);
    html_text(f, title);
    fputs("</h1>\n<p>", f);
    char today[PL_DATE_LEN + 1];
    pl_today(today);
    fprintf(f, "Made on %s from entry headers. Entries dated %s to %s. ", today,
            from ? from : "from the start", to ? to : "today");
    fputs("Bodies decrypted during the audit: ", f);
    for (size_t i = 0; i < nopened; i++) {
        fprintf(f, "%s", i ? ", " : "");
        html_text(f, opened[i].type);
        fprintf(f, " %llu", (unsigned long long)opened[i].n);
    }
    fputs(nopened ? ". " : "none. ", f);
    fprintf(f, "%llu entries in %llu feeds; %llu citizens; %llu sessions; %llu supervisions.</p>\n",
            (unsigned long long)a->entries, (unsigned long long)a->feeds,
            (unsigned long long)a->subjects, (unsigned long long)a->sessions,
            (unsigned long long)a->supervisions);
    fprintf(f, "<p class=\"%s\" id=\"result\">%s</p>\n", a->nfindings ? "bad" : "ok",
            a->nfindings ? "Findings: some rules do not hold (below)." : "No findings: every "
                                                                         "rule holds.");
    fputs("<table id=\"counts\"><tr><th>Rule</th><th>Findings</th></tr>\n", f);
    for (unsigned r = 0; r < PL_AUDIT_RULES; r++)
        fprintf(f, "<tr><td>%s</td><td>%llu</td></tr>\n", pl_audit_rule_names[r],
                (unsigned long long)a->rule_count[r]);
    fputs("</table>\n<h2>Findings</h2>\n", f);
    if (a->nfindings) {
        fputs("<table id=\"findings\"><tr><th>Rule</th><th>Citizen</th><th>Date</th>"
              "<th>Entry</th><th>What</th></tr>\n",
              f);
        for (size_t i = 0; i < a->nfindings; i++) {
            const pl_finding *g = &a->findings[i];
            char id[13] = "";
            if (g->has_entry)
                cli_hex(g->entry, 6, id, sizeof id);
            fprintf(f, "<tr><td>%s</td><td>", pl_audit_rule_names[g->rule]);
            html_text(f, g->subject);
            fprintf(f, "</td><td>%s</td><td><code>%s</code></td><td>", g->date, id);
            html_text(f, g->what);
            fputs("</td></tr>\n", f);
        }
        fputs("</table>\n", f);
    } else {
        fputs("<p>None.</p>\n", f);
    }
    fputs("<h2>Timelines</h2>\n<p>Green: consent (to its last day, if it has one); blue: course "
          "(collaboration agreement to its planned end); red line: withdrawal; black bar: course closed; dots: "
          "sessions; purple: match; orange: supervision naming the citizen; red rings: "
          "findings. Hover for entry ids.</p>\n",
          f);
    for (size_t i = 0; i < a->nevents;) {
        size_t j = i + 1;
        while (j < a->nevents && !strcmp(a->events[j].subject, a->events[i].subject))
            j++;
        fputs("<section class=\"subject\"><h3>", f);
        html_text(f, a->events[i].subject);
        fputs("</h3>\n", f);
        timeline(f, a, i, j);
        fputs("</section>\n", f);
        i = j;
    }
    return html_close(f, &buf, &n, path);
}

/* ---- a consent receipt ------------------------------------------------------------------- */

static void row(FILE *f, const char *label, const char *value)
{
    fprintf(f, "<tr><th>%s</th><td>", label);
    html_text(f, value);
    fputs("</td></tr>\n", f);
}

int cli_receipt_html(const char *path, const pl_receipt *r, const pl_org *o, json_t *kantara)
{
    char *buf = NULL, *json = NULL;
    size_t n = 0;
    FILE *f = open_memstream(&buf, &n);
    json = json_dumps(kantara, JSON_INDENT(2) | JSON_ENSURE_ASCII);
    json_malloc_t jmalloc;
    json_free_t jfree; /* json_dumps allocates with jansson's (wiping) allocator */
    json_get_alloc_funcs(&jmalloc, &jfree);
    if (!f || !json) {
        if (f)
            fclose(f);
        free(buf);
        if (json)
            jfree(json);
        fprintf(stderr, "peerlog: out of memory\n");
        return EXIT_ERROR;
    }
    const pl_controller *c = &o->controller;
    json_t *ext = json_object_get(kantara, "peerlog");
    char title[PL_NAME_MAX + 40], valid[64], state[64];
    snprintf(title, sizeof title, "Consent receipt: %s", o->name);
    snprintf(valid, sizeof valid, "from %s %s%s", r->valid_from,
             r->valid_until[0] ? "until " : "until you withdraw it", r->valid_until);
    snprintf(state, sizeof state, "%s%s%s", r->state, r->withdrawn_on[0] ? ", withdrawal on " : "",
             r->withdrawn_on);
    html_begin(f, title);
    fputs("<h1>", f);
    html_text(f, title);
    fputs("</h1>\n<table id=\"receipt\">\n", f);
    row(f, "Your pseudonym", r->subject);
    row(f, "Consent given", r->valid_from);
    row(f, "How", json_string_value(json_object_get(kantara, "collectionMethod")));
    row(f, "Valid", valid);
    row(f, "State", state);
    fputs("</table>\n<h2>What you agreed to</h2>\n<ul id=\"purposes\">\n", f);
    size_t i;
    json_t *p;
    json_array_foreach(json_object_get(json_array_get(json_object_get(kantara, "services"), 0),
                                       "purposes"), i, p) {
        fputs("<li>", f);
        html_text(f, json_string_value(json_object_get(p, "purpose")));
        fputs(" (", f);
        html_text(f, json_string_value(json_object_get(p, "consentState")));
        fputs(")</li>\n", f);
    }
    fputs("</ul>\n<h2>To withdraw</h2>\n<p>", f);
    html_text(f, json_string_value(json_object_get(ext, "withdraw")));
    fputs("</p>\n<h2>Who is responsible for your data</h2>\n<table id=\"controller\">\n", f);
    row(f, "Organisation", o->name);
    row(f, "Contact", c->contact);
    row(f, "Address", c->address);
    row(f, "E-mail", c->email);
    row(f, "Phone", c->phone);
    row(f, "Privacy policy", c->policy_url);
    fputs("</table>\n<h2>For checking</h2>\n<table>\n", f);
    row(f, "Receipt id", r->receipt_id);
    row(f, "Verification code", json_string_value(json_object_get(ext, "verificationCode")));
    row(f, "Issued", r->issued);
    fputs("</table>\n<p>The organisation can show that this receipt matches its records with "
          "'peerlog consent check-receipt'. The same receipt in the Kantara Consent Receipt "
          "v1.1 form:</p>\n<pre id=\"kantara\">",
          f);
    html_text(f, json);
    fputs("</pre>\n", f);
    jfree(json);
    return html_close(f, &buf, &n, path);
}

/* ---- the report -------------------------------------------------------------------------- */

static unsigned sessions_of(const pl_report_row *x)
{
    unsigned n = 0;
    for (unsigned k = 0; k < PL_SESSION_KINDS; k++)
        n += x->sessions[k];
    return n;
}

static void report_cell(FILE *f, const pl_report_row *x, unsigned bit, unsigned value)
{
    if (x->hidden & bit)
        fputs("<td class=\"sup\">&lt;5</td>", f);
    else
        fprintf(f, "<td>%u</td>", value);
}

static void report_row(FILE *f, const char *name, const pl_report_row *x)
{
    fputs("<tr><th>", f);
    html_text(f, name);
    fputs("</th>", f);
    report_cell(f, x, PL_HIDE_STARTED, x->courses_started);
    report_cell(f, x, PL_HIDE_CLOSED, x->courses_closed);
    uint64_t minutes = 0;
    for (unsigned k = 0; k < PL_SESSION_KINDS; k++) {
        report_cell(f, x, PL_HIDE_KIND(k), x->sessions[k]);
        minutes += x->minutes[k];
    }
    if (x->hidden & PL_HIDE_TOTAL)
        fputs("<td class=\"sup\">&lt;5</td>", f);
    else
        fprintf(f, "<td>%.1f</td>", (double)minutes / 60.0);
    report_cell(f, x, PL_HIDE_CITIZENS, x->citizens);
    fprintf(f, "<td>%u</td><td>%u</td><td>%.1f</td></tr>\n", x->guides, x->supervisions,
            (double)x->supervision_minutes / 60.0);
}

int cli_report_html(const char *path, const pl_report *r, const pl_org *o, const char *from,
                    const char *to, int by_guide, int suppress)
{
    char *buf = NULL;
    size_t n = 0;
    FILE *f = open_memstream(&buf, &n);
    if (!f) {
        fprintf(stderr, "peerlog: out of memory\n");
        return EXIT_ERROR;
    }
    char title[PL_NAME_MAX + 40];
    snprintf(title, sizeof title, "Report: %s", o->name);
    html_begin(f, title);
    fputs("<h1>", f);
    html_text(f, title);
    fprintf(f, "</h1>\n<p>Entries dated %s to %s, by %s, counted from entry headers only. %s</p>\n",
            from ? from : "from the start", to ? to : "today", by_guide ? "guide" : "month",
            suppress ? "A count about fewer than 5 citizens shows as &lt;5."
                     : "<strong>Counts are not suppressed: for internal use only.</strong>");
    /* The chart: sessions per row, a bar each; a suppressed row is an outline marked <5. */
    unsigned most = 1;
    for (size_t i = 0; i < r->nrows; i++)
        if (sessions_of(&r->rows[i]) > most)
            most = sessions_of(&r->rows[i]);
    double bw = r->nrows ? 800.0 / (double)r->nrows : 800.0;
    fprintf(f, "<h2>Sessions per %s</h2>\n<svg id=\"chart\" width=\"880\" height=\"260\" "
               "viewBox=\"0 0 880 260\" role=\"img\" aria-label=\"sessions per %s\">\n"
               "<line x1=\"40\" x2=\"860\" y1=\"220\" y2=\"220\" stroke=\"#333\"/>\n",
            by_guide ? "guide" : "month", by_guide ? "guide" : "month");
    for (size_t i = 0; i < r->nrows; i++) {
        const pl_report_row *x = &r->rows[i];
        double x0 = 50 + bw * (double)i, w = bw * 0.7;
        unsigned s = sessions_of(x);
        char label[PL_FINGERPRINT_HEX + 1];
        snprintf(label, sizeof label, "%.*s", by_guide ? 8 : 7, x->key);
        if (x->hidden & PL_HIDE_TOTAL) {
            fprintf(f, "<rect class=\"bar suppressed\" x=\"%.1f\" y=\"190\" width=\"%.1f\" "
                       "height=\"30\" fill=\"none\" stroke=\"#999\" stroke-dasharray=\"4 3\"/>"
                       "<text x=\"%.1f\" y=\"184\">&lt;5</text>\n",
                    x0, w, x0 + 2);
        } else {
            double h = 180.0 * s / most;
            fprintf(f, "<rect class=\"bar\" x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" "
                       "fill=\"#36c\"><title>%u sessions</title></rect><text x=\"%.1f\" "
                       "y=\"%.1f\">%u</text>\n",
                    x0, 220 - h, w, h, s, x0 + 2, 214 - h, s);
        }
        fprintf(f, "<text x=\"%.1f\" y=\"238\">", x0);
        html_text(f, label);
        fputs("</text>\n", f);
    }
    fputs("</svg>\n<table id=\"report\"><tr><th></th><th>courses started</th><th>closed</th>", f);
    for (unsigned k = 0; k < PL_SESSION_KINDS; k++)
        fprintf(f, "<th>%s</th>", pl_session_kinds[k]);
    fputs("<th>hours</th><th>citizens</th><th>guides</th><th>supervisions</th>"
          "<th>supervision hours</th></tr>\n",
          f);
    for (size_t i = 0; i < r->nrows; i++) {
        char name[PL_NAME_MAX + 48];
        if (by_guide)
            snprintf(name, sizeof name, "%.8s %s", r->rows[i].key, r->rows[i].label);
        else
            snprintf(name, sizeof name, "%s", r->rows[i].key);
        report_row(f, name, &r->rows[i]);
    }
    report_row(f, "total", &r->total);
    fputs("</table>\n", f);
    return html_close(f, &buf, &n, path);
}
