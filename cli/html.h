/* Self-contained HTML pages (no scripts, no network): the audit and the report. */
#ifndef PL_CLI_HTML_H
#define PL_CLI_HTML_H

#include <stdio.h>

#include "vault/vault.h"

/* Writes s with &, <, >, " and ' escaped. */
void html_text(FILE *f, const char *s);
/* The page's head (title escaped, inline style). */
void html_begin(FILE *f, const char *title);
/* Ends the page in f (open_memstream(buf, n)), closes f and writes the page to path
 * crash-safely; frees *buf. An exit code (0 ok, after printing the error otherwise). */
int html_close(FILE *f, char **buf, size_t *n, const char *path);

/* The audit as a page with a timeline (SVG) per citizen, saying which bodies the audit
 * decrypted; an exit code. */
int cli_audit_html(const char *path, const pl_audit *a, const pl_org *o, const char *from,
                   const char *to, const pl_opened *opened, size_t nopened);
/* The report as a page: its table and a bar chart (SVG) of sessions per month, suppressed
 * counts shown as "<5" and drawn without height; an exit code. */
int cli_report_html(const char *path, const pl_report *r, const pl_org *o, const char *from,
                    const char *to, int by_guide, int suppress);
/* A citizen's consent receipt as a page to print or hand over; an exit code. */
int cli_receipt_html(const char *path, const pl_receipt *r, const pl_org *o, json_t *kantara);
/* Checks the checkpoint file at path against v and adds a finding per feed that does not
 * match to a; *out receives its JSON description. 0, or an exit code after printing why the
 * file cannot be used. */
int cli_audit_checkpoint(pl_vault *v, const char *path, pl_audit *a, json_t **out);

#endif
