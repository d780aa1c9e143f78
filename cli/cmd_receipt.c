/* consent receipt, consent check-receipt: what a citizen agreed to, and its proof. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/html.h"

/* The receipt in plain words: every line a citizen needs, nothing they do not. */
static void print_text(const pl_receipt *r, const pl_org *o, json_t *k)
{
    const pl_controller *c = &o->controller;
    json_t *ext = json_object_get(k, "peerlog");
    printf("Consent receipt from %s\n\n", o->name);
    printf("Your pseudonym:     %s (the organisation's records use it instead of your name)\n",
           r->subject);
    char recorded[PL_DATE_LEN + 1];
    pl_date_of_day((long)(r->time_ms / 86400000), recorded);
    printf("You agreed on:      %s (recorded %s), by %s\n", r->valid_from, recorded,
           json_string_value(json_object_get(k, "collectionMethod")));
    printf("Valid:              from %s %s\n", r->valid_from,
           r->valid_until[0] ? "until the day below" : "until you withdraw it");
    if (r->valid_until[0])
        printf("                    until %s\n", r->valid_until);
    printf("State:              %s%s%s\n", r->state, r->withdrawn_on[0] ? ", withdrawal on " : "",
           r->withdrawn_on);
    printf("What you agreed to:\n");
    size_t i;
    json_t *p;
    json_array_foreach(json_object_get(json_array_get(json_object_get(k, "services"), 0),
                                       "purposes"), i, p)
        printf("  - %s (%s)\n", json_string_value(json_object_get(p, "purpose")),
               json_string_value(json_object_get(p, "consentState")));
    printf("To withdraw:        %s\n", json_string_value(json_object_get(ext, "withdraw")));
    printf("Who is responsible: %s%s%s%s%s%s%s%s%s\n", o->name, c->contact[0] ? ", " : "",
           c->contact, c->address[0] ? ", " : "", c->address, c->email[0] ? ", " : "", c->email,
           c->phone[0] ? ", " : "", c->phone);
    if (c->policy_url[0])
        printf("Privacy policy:     %s\n", c->policy_url);
    printf("Receipt id:         %s\n", r->receipt_id);
    printf("Verification code:  %s\n",
           json_string_value(json_object_get(ext, "verificationCode")));
}

int cli_consent_receipt(cli_ctx *ctx, int argc, char **argv)
{
    const char *subject = NULL, *entry = NULL, *html = NULL;
    int text = 0;
    const cli_opt opts[] = {
        {"subject", "PSEUDONYM", "the citizen, e.g. B-7K3Q-9F2M", &subject, NULL},
        {"entry", "ID", "which consent (default: the newest not retracted)", &entry, NULL},
        {"text", NULL, "print it as plain text (the default)", NULL, &text},
        {"html", "FILE", "write it as a page to print or hand over", &html, NULL},
    };
    const cli_command cmd = {
        "consent receipt", NULL, "Give a citizen a receipt of what they agreed to.",
        "The receipt says what the citizen agreed to and when, how to withdraw (as easy as\n"
        "giving: tell the guide or the coordinator), who is responsible for the data (the\n"
        "organisation's controller details, set at 'org init'), and a verification code:\n"
        "the consent entry's hash, with which 'peerlog consent check-receipt FILE' later\n"
        "shows that the receipt matches the ledger. It names the citizen by pseudonym only.\n"
        "--json writes the Kantara Consent Receipt v1.1 form (formats/receipt.md), with the\n"
        "state in W3C DPV terms: given, withdrawn or expired.\n"
        "\nExamples:\n"
        "  peerlog consent receipt --subject B-7K3Q-9F2M\n"
        "  peerlog consent receipt --subject B-7K3Q-9F2M --html receipt.html\n"
        "  peerlog consent receipt --subject B-7K3Q-9F2M --json > receipt.json\n",
        opts, sizeof opts / sizeof opts[0]};
    const char *pos[1];
    size_t npos;
    int rc = cli_parse(ctx, &cmd, argc, argv, pos, 0, &npos);
    if (rc)
        return rc < 0 ? EXIT_USAGE : cli_finish_stdout();
    if (!subject)
        return cli_usage_error(&cmd, "--subject is required");
    if (!fmt_pseudonym_valid(subject))
        return cli_usage_error(&cmd, "--subject must be a pseudonym like B-7K3Q-9F2M");
    if (entry && (strlen(entry) < 4 || strlen(entry) > PL_ID_HEX ||
                  strspn(entry, "0123456789abcdef") != strlen(entry)))
        return cli_usage_error(&cmd, "--entry takes 4 to 64 lowercase hex digits of an id");
    if (text + ctx->json + (html != NULL) > 1)
        return cli_usage_error(&cmd, "choose one of --text, --json and --html");
    pl_vault *v = NULL;
    if ((rc = cli_open_vault(ctx, &v)) != EXIT_OK)
        return rc;
    pl_err err = {{0}};
    pl_receipt r;
    pl_org *o = calloc(1, sizeof *o);
    pl_status st = o ? vault_org(v, o, &err) : PL_E_NOMEM;
    if (st == PL_E_NOTFOUND)
        st = pl_fail(&err, PL_E_NOTFOUND, "receipts name the organisation responsible for the "
                                          "data: this vault belongs to none");
    if (st == PL_OK && !o->name[0])
        st = pl_fail(&err, PL_E_ACCESS, "this vault cannot read the organisation's details "
                                        "yet: run 'peerlog sync' first");
    if (st == PL_OK)
        st = vault_consent_receipt(v, subject, entry, &r, &err);
    vault_close(v);
    json_t *k = st == PL_OK ? pl_receipt_json(&r, o) : NULL;
    if (st == PL_OK && !k)
        st = pl_fail(&err, PL_E_NOMEM, "out of memory");
    if (st != PL_OK) {
        free(o);
        return cli_fail(st, &err);
    }
    if (ctx->json) {
        rc = cli_print_json(k);
        k = NULL;
    } else if (html) {
        rc = cli_receipt_html(html, &r, o, k);
        if (rc == EXIT_OK) {
            printf("Wrote the receipt for %s to %s\n", r.subject, html);
            rc = cli_finish_stdout();
        }
    } else {
        print_text(&r, o, k);
        rc = cli_finish_stdout();
    }
    json_decref(k);
    free(o);
    return rc;
}

int cli_consent_check_receipt(cli_ctx *ctx, int argc, char **argv)
{
    const cli_command cmd = {
        "consent check-receipt", "FILE", "Show that a consent receipt matches the ledger.",
        "FILE is a receipt as 'consent receipt --json' wrote it. The verification code in\n"
        "it names the consent entry; the receipt matches when this vault holds that entry\n"
        "for the same citizen, with the same time, receipt id, method, dates and scopes.\n"
        "Exit 0 when it matches (and it says whether the consent is still given), 4 when\n"
        "it does not, 1 when the file is not a receipt.\n"
        "\nExample:\n"
        "  peerlog consent check-receipt receipt.json\n",
        NULL, 0};
    const char *pos[2];
    size_t npos;
    int rc = cli_parse(ctx, &cmd, argc, argv, pos, 1, &npos);
    if (rc)
        return rc < 0 ? EXIT_USAGE : cli_finish_stdout();
    if (npos != 1)
        return cli_usage_error(&cmd, "name the receipt file");
    uint8_t *buf = NULL;
    size_t n = 0;
    pl_err err = {{0}};
    pl_receipt_claim claim;
    pl_status st = pl_file_read(pos[0], PL_RECEIPT_MAX, &buf, &n, &err);
    if (st == PL_E_INTEGRITY) /* too large: not a receipt, not a broken ledger */
        st = pl_fail(&err, PL_E_INVALID, "%s is larger than any receipt", pos[0]);
    if (st == PL_OK)
        st = pl_receipt_parse((const char *)buf, n, &claim, &err);
    pl_vault *v = NULL;
    if (st != PL_OK || (rc = cli_open_vault(ctx, &v)) != EXIT_OK) {
        free(buf);
        return st != PL_OK ? cli_fail(st, &err) : rc;
    }
    pl_receipt now;
    st = vault_receipt_check(v, (const char *)buf, n, &claim, &now, &err);
    free(buf);
    vault_close(v);
    if (ctx->json) {
        json_t *j = json_pack("{s:b, s:s, s:s}", "matches", st == PL_OK, "subject",
                              claim.subject, "receipt_id", claim.receipt_id);
        if (j && st == PL_OK)
            json_object_set_new(j, "consent_state", json_string(now.state));
        if (j && st != PL_OK)
            json_object_set_new(j, "why", json_string(err.msg));
        if (st != PL_OK && st != PL_E_INTEGRITY) {
            json_decref(j);
            return cli_fail(st, &err);
        }
        rc = cli_print_json(j);
        return rc == EXIT_OK && st != PL_OK ? EXIT_INTEGRITY : rc;
    }
    if (st != PL_OK)
        return cli_fail(st, &err);
    printf("The receipt %s matches the ledger: %s's consent of %s", claim.receipt_id,
           claim.subject, claim.valid_from);
    if (!strcmp(now.state, "given") && now.withdrawn)
        printf(" is still given, but part of it was withdrawn on %s\n", now.withdrawn_on);
    else if (!strcmp(now.state, "withdrawn"))
        printf(" was withdrawn on %s\n", now.withdrawn_on);
    else
        printf(" is %s\n", !strcmp(now.state, "given") ? "still given" : "expired");
    return cli_finish_stdout();
}
