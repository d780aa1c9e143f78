/* checkpoint sign, checkpoint verify, and the checkpoint part of audit. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/html.h"
#include "formats/checkpoint.h"

/* Reads and checks the checkpoint at path; 0 with *rep filled, else an exit code after
 * printing why. */
static int check_file(pl_vault *v, const char *path, pl_checkpoint_report *rep)
{
    uint8_t *buf = NULL;
    size_t n = 0;
    pl_err err = {{0}};
    pl_status st = pl_file_read(path, PL_CHECKPOINT_MAX, &buf, &n, &err);
    if (st == PL_OK)
        st = vault_checkpoint_verify(v, (const char *)buf, n, rep, &err);
    free(buf);
    if (st != PL_OK)
        return cli_fail(st, &err);
    return 0;
}

static json_t *report_json(const pl_checkpoint_report *rep)
{
    json_t *probs = json_array();
    for (size_t i = 0; i < rep->nproblems && i < PL_VERIFY_MAX_PROBLEMS; i++) {
        char feed[2 * PL_SIGN_PK_BYTES + 1];
        cli_hex(rep->problem[i].feed, PL_SIGN_PK_BYTES, feed, sizeof feed);
        json_array_append_new(probs, json_pack("{s:s, s:I, s:s}", "feed", feed, "seq",
                                               (json_int_t)rep->problem[i].seq, "what",
                                               rep->problem[i].what));
    }
    return json_pack("{s:b, s:s, s:s, s:I, s:I, s:I, s:o}", "ok", rep->nproblems == 0, "signer",
                     rep->signer, "signer_name", rep->signer_name, "feeds",
                     (json_int_t)rep->feeds, "matched", (json_int_t)rep->matched,
                     "problem_count", (json_int_t)rep->nproblems, "problems", probs);
}

int cli_audit_checkpoint(pl_vault *v, const char *path, pl_audit *a, json_t **out)
{
    pl_checkpoint_report *rep = calloc(1, sizeof *rep);
    if (!rep) {
        fprintf(stderr, "peerlog: out of memory\n");
        return EXIT_ERROR;
    }
    int rc = check_file(v, path, rep);
    if (rc) {
        free(rep);
        return rc;
    }
    size_t shown = rep->nproblems < PL_VERIFY_MAX_PROBLEMS ? rep->nproblems
                                                           : PL_VERIFY_MAX_PROBLEMS;
    for (size_t i = 0; i < shown + (rep->nproblems > shown); i++) {
        pl_finding *grown = pl_grow(a->findings, &a->capfindings, a->nfindings, sizeof *grown);
        if (!grown) {
            free(rep);
            fprintf(stderr, "peerlog: out of memory\n");
            return EXIT_ERROR;
        }
        a->findings = grown;
        pl_finding *f = &a->findings[a->nfindings++];
        memset(f, 0, sizeof *f);
        f->rule = PL_RULE_CHECKPOINT;
        if (i < shown)
            snprintf(f->what, sizeof f->what, "%s", rep->problem[i].what);
        else
            snprintf(f->what, sizeof f->what, "and %zu more feeds that no longer hold what the "
                     "checkpoint recorded", rep->nproblems - shown);
    }
    a->rule_count[PL_RULE_CHECKPOINT] += rep->nproblems;
    *out = report_json(rep);
    free(rep);
    return 0;
}

static int checkpoint_sign(cli_ctx *ctx, int argc, char **argv)
{
    const char *out = NULL;
    const cli_opt opts[] = {
        {"o", "FILE", "where to write the checkpoint (required)", &out, NULL},
    };
    const cli_command cmd = {
        "checkpoint sign", NULL,
        "Sign a checkpoint: every feed's newest entry, as this vault holds them (auditors).",
        "A checkpoint is a small text file (a signed note: formats/checkpoint.md) with one\n"
        "line per member's feed: the feed, its newest sequence number and that entry's hash,\n"
        "signed with your key. Keep it outside the shared folder (print it, mail it to the\n"
        "board). Later, 'peerlog checkpoint verify FILE' on any member's vault shows that no\n"
        "entry it recorded was rolled back or rewritten. Sync first, so that it covers\n"
        "everyone's entries.\n"
        "\nExamples:\n"
        "  peerlog checkpoint sign -o 2026-q4.checkpoint\n"
        "  peerlog checkpoint verify 2026-q4.checkpoint\n",
        opts, sizeof opts / sizeof opts[0]};
    const char *pos[1];
    size_t npos;
    int rc = cli_parse(ctx, &cmd, argc, argv, pos, 0, &npos);
    if (rc)
        return rc < 0 ? EXIT_USAGE : cli_finish_stdout();
    if (!out)
        return cli_usage_error(&cmd, "say where to write the checkpoint: -o FILE");
    pl_vault *v = NULL;
    if ((rc = cli_open_vault(ctx, &v)) != EXIT_OK)
        return rc;
    pl_err err = {{0}};
    char *text = NULL;
    size_t len = 0, nfeeds = 0;
    pl_status st = vault_checkpoint_sign(v, &text, &len, &nfeeds, &err);
    vault_close(v);
    if (st == PL_OK)
        st = pl_file_write_atomic(out, (const uint8_t *)text, len, &err);
    free(text);
    if (st != PL_OK)
        return cli_fail(st, &err);
    if (ctx->json)
        return cli_print_json(json_pack("{s:s, s:I}", "file", out, "feeds", (json_int_t)nfeeds));
    printf("Signed a checkpoint of %zu feed%s in %s; keep a copy outside the shared folder\n",
           nfeeds, nfeeds == 1 ? "" : "s", out);
    return cli_finish_stdout();
}

static int checkpoint_verify(cli_ctx *ctx, int argc, char **argv)
{
    const cli_command cmd = {
        "checkpoint verify", "FILE",
        "Check that this vault still holds every entry a checkpoint recorded.",
        "Checks the checkpoint's signature (an auditor of this organisation) and, for each\n"
        "feed in it, that this vault holds the same entry at the same sequence number. A feed\n"
        "rolled back (entries missing at its end), rewritten (another entry in that place) or\n"
        "missing altogether is named, and the exit code is 4.\n"
        "\nExamples:\n"
        "  peerlog checkpoint verify 2026-q4.checkpoint\n"
        "  peerlog checkpoint verify 2026-q4.checkpoint --json\n",
        NULL, 0};
    const char *pos[2];
    size_t npos;
    int rc = cli_parse(ctx, &cmd, argc, argv, pos, 1, &npos);
    if (rc)
        return rc < 0 ? EXIT_USAGE : cli_finish_stdout();
    if (npos != 1)
        return cli_usage_error(&cmd, "name the checkpoint file");
    pl_vault *v = NULL;
    if ((rc = cli_open_vault(ctx, &v)) != EXIT_OK)
        return rc;
    pl_checkpoint_report *rep = calloc(1, sizeof *rep);
    if (!rep) {
        vault_close(v);
        fprintf(stderr, "peerlog: out of memory\n");
        return EXIT_ERROR;
    }
    rc = check_file(v, pos[0], rep);
    vault_close(v);
    if (rc) {
        free(rep);
        return rc;
    }
    int bad = rep->nproblems != 0;
    if (ctx->json) {
        rc = cli_print_json(report_json(rep));
    } else {
        for (size_t i = 0; i < rep->nproblems && i < PL_VERIFY_MAX_PROBLEMS; i++)
            fprintf(stderr, "peerlog: %s\n", rep->problem[i].what);
        if (!bad)
            printf("OK: all %zu feeds hold what the checkpoint signed by %s (%.8s…) recorded\n",
                   rep->feeds, rep->signer_name[0] ? rep->signer_name : "an auditor",
                   rep->signer);
        else
            fprintf(stderr, "peerlog: %zu of %zu feeds no longer hold what the checkpoint "
                            "recorded; keep this vault as it is and tell your coordinator\n",
                    rep->nproblems, rep->feeds);
        rc = cli_finish_stdout();
    }
    free(rep);
    return rc == EXIT_OK && bad ? EXIT_INTEGRITY : rc;
}

int cmd_checkpoint(cli_ctx *ctx, int argc, char **argv)
{
    static const cli_verb verbs[] = {
        {"sign", checkpoint_sign, "sign every feed's newest entry (auditors; -o FILE)"},
        {"verify", checkpoint_verify, "check that nothing a checkpoint (FILE) recorded was "
                                      "rolled back or rewritten"},
    };
    return cli_dispatch("checkpoint", verbs, sizeof verbs / sizeof verbs[0], ctx, argc, argv);
}
