/* Output helpers of the command line: JSON, hex, times, numbers. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "cli/cli.h"

int cli_finish_stdout(void)
{
    if (fflush(stdout) != 0 || ferror(stdout)) {
        fprintf(stderr, "peerlog: cannot write the output: %s\n", strerror(errno));
        return EXIT_ERROR;
    }
    return EXIT_OK;
}

int cli_print_json(json_t *j)
{
    if (!j) {
        fprintf(stderr, "peerlog: out of memory\n");
        return EXIT_ERROR;
    }
    int rc = json_dumpf(j, stdout, JSON_COMPACT | JSON_ENSURE_ASCII);
    json_decref(j);
    if (rc != 0 || fputc('\n', stdout) == EOF) {
        fprintf(stderr, "peerlog: cannot write the output\n");
        return EXIT_ERROR;
    }
    return cli_finish_stdout();
}

void cli_hex(const uint8_t *p, size_t n, char *out, size_t cap)
{
    if (cap < 2 * n + 1) {
        if (cap)
            out[0] = '\0';
        return;
    }
    sodium_bin2hex(out, cap, p, n);
}

void cli_time_iso(int64_t ms, char out[32])
{
    time_t t = (time_t)(ms / 1000);
    struct tm tm;
    if (!gmtime_r(&t, &tm) || strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
        snprintf(out, 32, "%lld", (long long)ms);
}

int cli_parse_uint(const char *s, unsigned long lo, unsigned long hi, unsigned long *out)
{
    char *end;
    if (!s || *s < '0' || *s > '9')
        return -1;
    errno = 0;
    unsigned long v = strtoul(s, &end, 10);
    if (errno || *end || v < lo || v > hi)
        return -1;
    *out = v;
    return 0;
}

int cli_date_range(const cli_command *cmd, const char *from, const char *to)
{
    if (from && !fmt_date_valid(from))
        return cli_usage_error(cmd, "--from takes a date as YYYY-MM-DD, not '%s'", from);
    if (to && !fmt_date_valid(to))
        return cli_usage_error(cmd, "--to takes a date as YYYY-MM-DD, not '%s'", to);
    if (from && to && strcmp(from, to) > 0)
        return cli_usage_error(cmd, "--from %s comes after --to %s", from, to);
    return EXIT_OK;
}
