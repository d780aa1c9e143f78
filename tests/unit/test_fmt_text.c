/* Header metadata (formats/entry.md §6) and the text alphabets of §7: record types, subjects,
 * pseudonyms, recovery codes and their normalisation, dates; vectors of §8.6. */
#include <stdint.h>
#include <string.h>

#include <sodium.h>

#include "formats/meta.h"
#include "formats/text.h"
#include "tests/unit/check.h"

/* ---- the values of formats/entry.md §8.6 ------------------------------------------------- */

static const char P1_RANDOM[] = "3cc774bc54";
static const char P1_PSEUDONYM[] = "B-7K3Q-9F2M";
static const char R1_CODE[] = "000G-40R4-0M30-E209-185G-R38E";
static const char R2_CODE[] = "ZZZZ-ZZZZ-ZZZZ-ZZZZ-ZZZZ-ZZZZ";

static int meta_ok(const char *m)
{
    return fmt_meta_valid(m, strlen(m));
}

/* A string of n copies of c followed by tail (for length limits). */
static const char *repeat(char c, size_t n, const char *tail)
{
    static char buf[2048];
    memset(buf, c, n);
    strcpy(buf + n, tail);
    return buf;
}

static void test_meta_valid(void)
{
    CHECK(meta_ok(""));
    CHECK(meta_ok("a=b\n"));
    CHECK(meta_ok("a=\n"));
    CHECK(meta_ok("a=x=y\n"));
    CHECK(meta_ok("a_1=~ !\n"));
    CHECK(meta_ok("date=2024-04-01\nscopes=record-keeping\n"));
    CHECK(meta_ok("a=1\na0=2\n"));  /* keys compared alone: "a" < "a0" */
    CHECK(!meta_ok("a0=1\na=2\n"));
    CHECK(!meta_ok("b=1\na=2\n"));
    CHECK(!meta_ok("a=1\na=2\n"));  /* a key once */
    CHECK(!meta_ok("a=b"));         /* every line ends with LF */
    CHECK(!meta_ok("a=b\r\n"));
    CHECK(!meta_ok("\n"));
    CHECK(!meta_ok("=b\n"));
    CHECK(!meta_ok("a\n"));
    CHECK(!meta_ok("A=b\n"));
    CHECK(!meta_ok("1a=b\n"));
    CHECK(!meta_ok("_a=b\n"));
    CHECK(!meta_ok("a-b=c\n"));
    CHECK(!meta_ok("a=b\tc\n"));
    CHECK(!meta_ok("a=\x7f\n"));
    CHECK(!meta_ok("a=\xc3\xa6\n")); /* UTF-8 is not printable ASCII */
    CHECK(!fmt_meta_valid("a=b\0c\n", 6));
    CHECK(meta_ok(repeat('k', 32, "=v\n")));
    CHECK(!meta_ok(repeat('k', 33, "=v\n")));
    static char line[1100];
    snprintf(line, sizeof line, "k=%s", repeat('v', 1024, "\n"));
    CHECK(meta_ok(line));
    snprintf(line, sizeof line, "k=%s", repeat('v', 1025, "\n"));
    CHECK(!meta_ok(line));
}

static void test_meta_get(void)
{
    static const char m[] = "date=2024-04-01\nempty=\nscopes=record-keeping\nx=a=b\n";
    char out[64];
    CHECK(fmt_meta_get(m, strlen(m), "date", out, sizeof out) == 0);
    CHECK_STR(out, "2024-04-01");
    CHECK(fmt_meta_get(m, strlen(m), "scopes", out, sizeof out) == 0);
    CHECK_STR(out, "record-keeping");
    CHECK(fmt_meta_get(m, strlen(m), "x", out, sizeof out) == 0);
    CHECK_STR(out, "a=b");
    CHECK(fmt_meta_get(m, strlen(m), "empty", out, sizeof out) == 0);
    CHECK_STR(out, "");
    CHECK(fmt_meta_get(m, strlen(m), "dat", out, sizeof out) == -1);
    CHECK(fmt_meta_get(m, strlen(m), "date=2024", out, sizeof out) == -1);
    CHECK(fmt_meta_get(m, strlen(m), "date", out, 10) == -1); /* 10 digits need 11 bytes */
    CHECK(fmt_meta_get(m, strlen(m), "date", out, 11) == 0);
    CHECK(fmt_meta_get("", 0, "date", out, sizeof out) == -1);
    CHECK(fmt_meta_get("A=1\ndate=x\n", 11, "date", out, sizeof out) == -1); /* bad line first */
    CHECK(fmt_meta_get(m, 10, "date", out, sizeof out) == -1); /* cut inside the line */
}

static void test_meta_build(void)
{
    char out[256];
    size_t len = 0;
    pl_meta_pair p[4] = {{"scopes", "record-keeping"}, {"of", NULL}, {"date", "2024-04-01"}};
    CHECK(fmt_meta_build(p, 3, out, sizeof out, &len) == 0);
    CHECK_STR(out, "date=2024-04-01\nscopes=record-keeping\n");
    CHECK_EQ_INT(len, 38);
    CHECK(fmt_meta_build(p, 0, out, sizeof out, &len) == 0);
    CHECK_STR(out, "");
    CHECK_EQ_INT(len, 0);

    pl_meta_pair fits[1] = {{"a", "b"}};
    CHECK(fmt_meta_build(fits, 1, out, 5, &len) == 0); /* "a=b\n" and its NUL */
    CHECK(fmt_meta_build(fits, 1, out, 4, &len) == -1);
    CHECK(fmt_meta_build(fits, 0, out, 0, &len) == -1);

#define BUILD_FAILS(k1, v1, k2, v2)                                                           \
    do {                                                                                      \
        pl_meta_pair q[2] = {{k1, v1}, {k2, v2}};                                             \
        CHECK(fmt_meta_build(q, 2, out, sizeof out, &len) == -1);                             \
    } while (0)
    BUILD_FAILS("a", "1", "a", "2");            /* repeated */
    BUILD_FAILS("a", "x\nb=y", "c", "1");       /* a value cannot add a line */
    BUILD_FAILS("a=b", "c", "d", "1");          /* nor a key */
    BUILD_FAILS("A", "1", "b", "2");
    BUILD_FAILS("", "1", "b", "2");
    BUILD_FAILS("a", "\t", "b", "2");
    BUILD_FAILS("a", "\xc3\xa6", "b", "2");
    BUILD_FAILS("a", repeat('v', 1025, ""), "b", "2");
#undef BUILD_FAILS
    pl_meta_pair longkey[1] = {{"kkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkk", "v"}}; /* 33 bytes */
    CHECK(fmt_meta_build(longkey, 1, out, sizeof out, &len) == -1);
}

static void test_type_subject(void)
{
    CHECK(fmt_type_valid("note", 4));
    CHECK(fmt_type_valid("consent.grant", 13));
    CHECK(fmt_type_valid("a", 1));
    CHECK(fmt_type_valid("a-0.9", 5));
    CHECK(fmt_type_valid(repeat('a', 32, ""), 32));
    CHECK(!fmt_type_valid(repeat('a', 33, ""), 33));
    CHECK(!fmt_type_valid("", 0));
    CHECK(!fmt_type_valid("Note", 4));
    CHECK(!fmt_type_valid("1note", 5));
    CHECK(!fmt_type_valid(".a", 2));
    CHECK(!fmt_type_valid("a_b", 3));
    CHECK(!fmt_type_valid("a b", 3));
    CHECK(!fmt_type_valid("a\0b", 3));
    CHECK(fmt_subject_valid("B-7K3Q-9F2M", 11));
    CHECK(fmt_subject_valid("-", 1));
    CHECK(fmt_subject_valid(repeat('Z', 32, ""), 32));
    CHECK(!fmt_subject_valid(repeat('Z', 33, ""), 33));
    CHECK(!fmt_subject_valid("", 0));
    CHECK(!fmt_subject_valid("b-7k3q-9f2m", 11));
    CHECK(!fmt_subject_valid("B 7K3Q", 6));
}

static void test_pseudonym(void)
{
    uint8_t rnd[PL_PSEUDONYM_RANDOM_BYTES];
    char ps[PL_PSEUDONYM_LEN + 1], other[PL_PSEUDONYM_LEN + 1];
    CHECK(sodium_hex2bin(rnd, sizeof rnd, P1_RANDOM, strlen(P1_RANDOM), NULL, NULL, NULL) == 0);
    fmt_pseudonym_make(rnd, ps);
    CHECK_STR(ps, P1_PSEUDONYM);
    CHECK(fmt_pseudonym_valid(ps));
    /* Bit order: flipping bit k of the random bytes (MSB first) changes symbol k / 5 only. */
    for (size_t k = 0; k < 8 * sizeof rnd; k++) {
        rnd[k / 8] ^= (uint8_t)(0x80u >> (k % 8));
        fmt_pseudonym_make(rnd, other);
        size_t sym = k / 5, at = 2 + sym + (sym >= 4 ? 1u : 0u);
        int only_there = other[at] != ps[at];
        for (size_t i = 0; i < PL_PSEUDONYM_LEN; i++)
            if (i != at && other[i] != ps[i])
                only_there = 0;
        CHECK(only_there);
        rnd[k / 8] ^= (uint8_t)(0x80u >> (k % 8));
    }
    memset(rnd, 0, sizeof rnd);
    fmt_pseudonym_make(rnd, ps);
    CHECK_STR(ps, "B-0000-0000");
    memset(rnd, 0xff, sizeof rnd);
    fmt_pseudonym_make(rnd, ps);
    CHECK_STR(ps, "B-ZZZZ-ZZZZ");
    CHECK(!fmt_pseudonym_valid("b-7k3q-9f2m"));
    CHECK(!fmt_pseudonym_valid("B-7K3Q-9F2"));
    CHECK(!fmt_pseudonym_valid("B-7K3Q-9F2MX"));
    CHECK(!fmt_pseudonym_valid("B-7K3U-9F2M"));
    CHECK(!fmt_pseudonym_valid("B-7K3O-9F2M"));
    CHECK(!fmt_pseudonym_valid("B-7K3I-9F2M"));
    CHECK(!fmt_pseudonym_valid("C-7K3Q-9F2M"));
    CHECK(!fmt_pseudonym_valid("B_7K3Q-9F2M"));
    CHECK(!fmt_pseudonym_valid("B-7K3Q_9F2M"));
    CHECK(!fmt_pseudonym_valid(""));
}

/* 1 when typed normalises to want. */
static int normalises_to(const char *typed, const char *want)
{
    char out[PL_RECOVERY_LEN + 1];
    return fmt_recovery_normalize(typed, strlen(typed), out) == 0 && strcmp(out, want) == 0;
}

static int refused(const char *typed, size_t n)
{
    char out[PL_RECOVERY_LEN + 1];
    return fmt_recovery_normalize(typed, n, out) == -1;
}

static void test_recovery(void)
{
    uint8_t rnd[PL_RECOVERY_RANDOM_BYTES];
    char code[PL_RECOVERY_LEN + 1];
    for (size_t i = 0; i < sizeof rnd; i++)
        rnd[i] = (uint8_t)i;
    fmt_recovery_make(rnd, code);
    CHECK_STR(code, R1_CODE);
    memset(rnd, 0xff, sizeof rnd);
    fmt_recovery_make(rnd, code);
    CHECK_STR(code, R2_CODE);

    CHECK(normalises_to(R1_CODE, R1_CODE));
    CHECK(normalises_to(" 000g 40r4 0m30 e2o9 185g r38e ", R1_CODE));
    CHECK(normalises_to("000G40R40M30E209185GR38E", R1_CODE));
    CHECK(normalises_to("OOOG-4OR4-OM3O-E2O9-I85G-R38E", R1_CODE));
    CHECK(normalises_to("ooog-4or4-om3o-e2o9-l85g-r38e", R1_CODE));
    CHECK(normalises_to("000G-40R4\t0M30\r\nE209--185G-R38E\n", R1_CODE));
    CHECK(normalises_to("zzzz zzzz zzzz zzzz zzzz zzzz", R2_CODE));
    CHECK(refused("000G-40R4-0M30-E209-185G-R38", 28));     /* 23 symbols */
    CHECK(refused("000G-40R4-0M30-E209-185G-R38EE", 30));   /* 25 symbols */
    CHECK(refused("000G-40R4-0M30-E209-185G-R38U", 29));
    CHECK(refused("000G-40R4-0M30-E209-185G-R38*", 29));
    CHECK(refused("000G-40R4-0M30-E209-185G-R3\xc3\xa6", 30));
    CHECK(refused("000G-40R4-0M30-E209-185G-R38E\0", 30)); /* a NUL inside n */
    CHECK(refused("", 0));
}

static void test_dates(void)
{
    CHECK(fmt_date_valid("2024-02-29"));
    CHECK(!fmt_date_valid("2023-02-29"));
    CHECK(fmt_date_valid("2000-02-29"));
    CHECK(!fmt_date_valid("1900-02-29"));
    CHECK(fmt_date_valid("1900-01-01"));
    CHECK(!fmt_date_valid("1899-12-31"));
    CHECK(fmt_date_valid("9999-12-31"));
    CHECK(fmt_date_valid("2024-04-30"));
    CHECK(!fmt_date_valid("2024-04-31"));
    CHECK(!fmt_date_valid("2024-13-01"));
    CHECK(!fmt_date_valid("2024-00-10"));
    CHECK(!fmt_date_valid("2024-01-00"));
    CHECK(!fmt_date_valid("2024-01-32"));
    CHECK(!fmt_date_valid("2024-4-01"));
    CHECK(!fmt_date_valid("2024-04-011"));
    CHECK(!fmt_date_valid("2024/04/01"));
    CHECK(!fmt_date_valid("2024-O4-01"));
    CHECK(!fmt_date_valid(""));
}

int main(void)
{
    if (sodium_init() < 0)
        return 1;
    test_meta_valid();
    test_meta_get();
    test_meta_build();
    test_type_subject();
    test_pseudonym();
    test_recovery();
    test_dates();
    /* Fingerprints as people type them: groups, dashes, colons, either case. */
    {
        char fp[2 * 16 + 1];
        CHECK_EQ_INT(fmt_fingerprint_parse("8011 44C8 8e14-6bed:212b fc8f 0c00 4f0c", 16, fp), 0);
        CHECK_STR(fp, "801144c88e146bed212bfc8f0c004f0c");
        CHECK_EQ_INT(fmt_fingerprint_parse("801144c88e146bed212bfc8f0c004f0", 16, fp), -1);
        CHECK_EQ_INT(fmt_fingerprint_parse("801144c88e146bed212bfc8f0c004f0c0", 16, fp), -1);
        CHECK_EQ_INT(fmt_fingerprint_parse("801144c88e146bed212bfc8f0c004f0g", 16, fp), -1);
        CHECK_EQ_INT(fmt_fingerprint_parse("", 16, fp), -1);
    }
    return check_done("test_fmt_text");
}
