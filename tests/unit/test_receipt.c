/* Consent receipts (formats/receipt.md): the receipt id RC1 of the entry id H2 (entry.md §8.3),
 * the Kantara receipt RC2 byte for byte, its Kantara v1.1 required fields and their JSON kinds,
 * the variants of §4 (open-ended, expired, withdrawn, no policy URL, each method), RC2 read
 * back by pl_receipt_parse (§9.3), and every refusal of §5 and §9.4. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "formats/text.h"
#include "tests/unit/check.h"
#include "tests/unit/hex.h"
#include "vault/vault.h"

/* RC1 of receipt.md §9.1. */
#define CODE "7363369de0daba718895e7fdcc02ddfd84a44b3aec0c7d8f694ed7742486001e" /* H2.id */
#define RC1_INPUT                                                                         \
    "706565726c6f672f76312f726563656970742d6964007363369de0daba718895"                    \
    "e7fdcc02ddfd84a44b3aec0c7d8f694ed7742486001e"
#define RC1_DIGEST      "1b688cc0e0a92b23ba0e337ad70b3e9b"
#define RC1_UUID_BYTES  "1b688cc0e0a98b23ba0e337ad70b3e9b"
#define RID             "1b688cc0-e0a9-8b23-ba0e-337ad70b3e9b"

/* RC2 of receipt.md §9.2: the inputs, and the receipt as json_dumps(JSON_COMPACT) writes it. */
#define SUBJECT "B-7K3Q-9F2M"
#define ORG     "0123456789abcdef0123456789abcdef"
#define POLICY  "https://example.org/privacy"
#define PHONE   "+45 12 34 56 78"
#define KINDS   "\"purposeCategory\":[\"Core Function\"],\"consentType\":\"EXPLICIT\","         \
                "\"piiCategory\":[\"Health\"],"
#define UNTIL   "\"termination\":\"Until 2025-02-28, or until the citizen withdraws consent\","  \
                "\"thirdPartyDisclosure\":false,"
#define RC2                                                                               \
    "{\"version\":\"KI-CR-v1.1.0\",\"jurisdiction\":\"DK\",\"consentTimestamp\":1709629200,"    \
    "\"collectionMethod\":\"written consent form\",\"consentReceiptID\":\"" RID "\","         \
    "\"language\":\"en\",\"piiPrincipalId\":\"" SUBJECT "\","                                 \
    "\"piiControllers\":[{\"piiController\":\"Example Peer Support\","                        \
    "\"contact\":\"Data Protection Officer\","                                                \
    "\"address\":\"1 Example Street, 8000 Aarhus C, Denmark\","                               \
    "\"email\":\"dpo@example.org\",\"phone\":\"" PHONE "\","                                  \
    "\"piiControllerUrl\":\"" POLICY "\"}],\"policyUrl\":\"" POLICY "\","                     \
    "\"services\":[{\"service\":\"Peer support after discharge from psychiatric care\","     \
    "\"purposes\":["                                                                          \
    "{\"purpose\":\"Meetings with a peer-guide after discharge from psychiatric care\","     \
    KINDS "\"primaryPurpose\":true," UNTIL                                                    \
    "\"scope\":\"peer-support\",\"consentState\":\"given\"},"                                 \
    "{\"purpose\":\"The peer-guide keeps notes of the meetings in an encrypted journal\","   \
    KINDS "\"primaryPurpose\":false," UNTIL                                                   \
    "\"scope\":\"record-keeping\",\"consentState\":\"withdrawn\"},"                           \
    "{\"purpose\":\"The peer-guide may discuss the meetings with a supervisor of the "       \
    "programme\"," KINDS "\"primaryPurpose\":false," UNTIL                                    \
    "\"scope\":\"supervision-sharing\",\"consentState\":\"given\"}]}],"                       \
    "\"sensitive\":true,\"spiCat\":[\"Health\"],"                                             \
    "\"peerlog\":{\"verificationCode\":\"" CODE "\",\"organisation\":\"" ORG "\","            \
    "\"validFrom\":\"2024-03-01\",\"validUntil\":\"2025-02-28\",\"consentState\":\"given\","  \
    "\"scopes\":[\"peer-support\",\"record-keeping\",\"supervision-sharing\"],"               \
    "\"withdrawnOn\":\"2024-04-01\",\"withdraw\":\"Tell your peer-guide or the coordinator (" \
    PHONE ") that you withdraw, by any means; they record it at once with one command "      \
    "('peerlog consent withdraw --subject " SUBJECT "'), as easily as the consent was "      \
    "recorded.\",\"issued\":\"2024-04-02\"}}"

#define RC2_SHA256 "e5375289695f70cffb996a87549bf4abef8368f4758649b30efc94794eeb3bbd"

_Static_assert(sizeof RC2 - 1 == 2246, "RC2 length as in receipt.md §9.2");
_Static_assert(sizeof RID - 1 == PL_RECEIPT_ID_LEN, "a receipt id is a 36-byte UUID");

static pl_org org; /* large: not on the stack */

/* The inputs of RC2 (receipt.md §9.2). */
static void rc2_inputs(pl_receipt *r, pl_org *o)
{
    memset(r, 0, sizeof *r);
    memset(o, 0, sizeof *o);
    snprintf(r->subject, sizeof r->subject, "%s", SUBJECT);
    CHECK_EQ_INT(unhex(CODE, r->entry, PL_ID_BYTES), PL_ID_BYTES);
    r->time_ms = 1709629200123; /* 2024-03-05T09:00:00.123Z */
    snprintf(r->method, sizeof r->method, "written");
    r->scopes = PL_SCOPE_PEER_SUPPORT | PL_SCOPE_RECORD_KEEPING | PL_SCOPE_SUPERVISION_SHARING;
    r->withdrawn = PL_SCOPE_RECORD_KEEPING;
    snprintf(r->valid_from, sizeof r->valid_from, "2024-03-01");
    snprintf(r->valid_until, sizeof r->valid_until, "2025-02-28");
    snprintf(r->withdrawn_on, sizeof r->withdrawn_on, "2024-04-01");
    snprintf(r->state, sizeof r->state, "given");
    snprintf(r->issued, sizeof r->issued, "2024-04-02");
    pl_receipt_id(r->entry, r->receipt_id);
    snprintf(o->name, sizeof o->name, "Example Peer Support");
    snprintf(o->fingerprint, sizeof o->fingerprint, ORG);
    snprintf(o->controller.contact, sizeof o->controller.contact, "Data Protection Officer");
    snprintf(o->controller.email, sizeof o->controller.email, "dpo@example.org");
    snprintf(o->controller.phone, sizeof o->controller.phone, PHONE);
    snprintf(o->controller.address, sizeof o->controller.address,
             "1 Example Street, 8000 Aarhus C, Denmark");
    snprintf(o->controller.policy_url, sizeof o->controller.policy_url, POLICY);
}

/* j as json_dumps writes it with flags, in a heap string the caller frees (test's malloc). */
static char *dump(json_t *j, size_t flags)
{
    json_malloc_t jmalloc;
    json_free_t jfree;
    char *s = j ? json_dumps(j, flags) : NULL;
    if (!s)
        abort();
    char *copy = strdup(s);
    /* jansson's string comes from jansson's allocator, which a program may have replaced */
    json_get_alloc_funcs(&jmalloc, &jfree);
    jfree(s);
    if (!copy)
        abort();
    return copy;
}

/* Parses a heap copy of exactly n bytes of in (so AddressSanitizer sees a read past it). */
static pl_status parse(const char *in, size_t n, pl_receipt_claim *c, pl_err *err)
{
    char *copy = malloc(n ? n : 1);
    if (!copy)
        abort();
    memcpy(copy, in, n);
    err->msg[0] = '\0';
    pl_status st = pl_receipt_parse(copy, n, c, err);
    free(copy);
    return st;
}

/* RC2 with the first occurrence of from replaced by to, into out[cap]. */
static const char *edited(const char *from, const char *to, char *out, size_t cap)
{
    static const char file[] = RC2;
    const char *at = strstr(file, from);
    if (!at || sizeof file + strlen(to) > cap)
        abort();
    size_t head = (size_t)(at - file);
    memcpy(out, file, head);
    snprintf(out + head, cap - head, "%s%s", to, at + strlen(from));
    return out;
}

/* The string v, or a marker when it is none (so a CHECK_STR fails instead of crashing). */
static const char *str(json_t *v)
{
    const char *s = json_string_value(v);
    return s ? s : "(not a string)";
}

/* 1 when key of obj has the JSON kind: s string, i integer, b boolean, o object, a non-empty
 * array, S non-empty array of strings. Prints what is missing. */
static int has(json_t *obj, const char *key, char kind)
{
    json_t *v = json_object_get(obj, key);
    int ok = 0;
    switch (kind) {
    case 's': ok = json_is_string(v); break;
    case 'i': ok = json_is_integer(v); break;
    case 'b': ok = json_is_boolean(v); break;
    case 'o': ok = json_is_object(v); break;
    case 'a': ok = json_is_array(v) && json_array_size(v) > 0; break;
    case 'S':
        ok = json_is_array(v) && json_array_size(v) > 0;
        for (size_t i = 0; ok && i < json_array_size(v); i++)
            ok = json_is_string(json_array_get(v, i));
        break;
    default: break;
    }
    if (!ok)
        fprintf(stderr, "  missing or of the wrong kind: \"%s\" (%c)\n", key, kind);
    return ok;
}

/* The Kantara Consent Receipt v1.1 required fields (receipt.md §4.1-4.4), and peerlog's own
 * (§4.5). */
static void check_kantara(json_t *j, size_t npurposes)
{
    static const struct {
        const char *key;
        char kind;
    } top[] = {{"version", 's'},        {"jurisdiction", 's'},     {"consentTimestamp", 'i'},
               {"collectionMethod", 's'}, {"consentReceiptID", 's'}, {"piiPrincipalId", 's'},
               {"piiControllers", 'a'},  {"policyUrl", 's'},        {"services", 'a'},
               {"sensitive", 'b'},       {"spiCat", 'S'},           {"language", 's'},
               {"peerlog", 'o'}},
      controller[] = {{"piiController", 's'}, {"contact", 's'}, {"address", 's'},
                      {"email", 's'},         {"phone", 's'}},
      purpose[] = {{"purpose", 's'},           {"purposeCategory", 'S'},
                   {"consentType", 's'},       {"piiCategory", 'S'},
                   {"primaryPurpose", 'b'},    {"termination", 's'},
                   {"thirdPartyDisclosure", 'b'}, {"scope", 's'},
                   {"consentState", 's'}},
      ext[] = {{"verificationCode", 's'}, {"organisation", 's'}, {"validFrom", 's'},
               {"consentState", 's'},     {"scopes", 'S'},       {"withdraw", 's'},
               {"issued", 's'}};
    CHECK(json_is_object(j));
    for (size_t i = 0; i < sizeof top / sizeof top[0]; i++)
        CHECK(has(j, top[i].key, top[i].kind));
    CHECK_STR(str(json_object_get(j, "version")), "KI-CR-v1.1.0");
    CHECK(json_is_true(json_object_get(j, "sensitive")));
    json_t *ctls = json_object_get(j, "piiControllers"), *svcs = json_object_get(j, "services");
    CHECK_EQ_INT(json_array_size(ctls), 1);
    for (size_t i = 0; i < sizeof controller / sizeof controller[0]; i++)
        CHECK(has(json_array_get(ctls, 0), controller[i].key, controller[i].kind));
    CHECK_EQ_INT(json_array_size(svcs), 1);
    json_t *svc = json_array_get(svcs, 0), *list = json_object_get(svc, "purposes");
    CHECK(has(svc, "service", 's'));
    CHECK(has(svc, "purposes", 'a'));
    CHECK_EQ_INT(json_array_size(list), npurposes);
    for (size_t p = 0; p < json_array_size(list); p++) {
        json_t *pp = json_array_get(list, p);
        for (size_t i = 0; i < sizeof purpose / sizeof purpose[0]; i++)
            CHECK(has(pp, purpose[i].key, purpose[i].kind));
        /* contacting professionals discloses to them: then, and only then, thirdPartyName
         * (Kantara requires it when thirdPartyDisclosure is true) */
        int third = !strcmp(str(json_object_get(pp, "scope")), "contact-professionals");
        CHECK(json_is_boolean(json_object_get(pp, "thirdPartyDisclosure")));
        CHECK_EQ_INT(json_is_true(json_object_get(pp, "thirdPartyDisclosure")), third);
        CHECK_EQ_INT(json_is_string(json_object_get(pp, "thirdPartyName")), third);
    }
    for (size_t i = 0; i < sizeof ext / sizeof ext[0]; i++)
        CHECK(has(json_object_get(j, "peerlog"), ext[i].key, ext[i].kind));
}

/* The receipt of r and o as pl_receipt_json builds it. */
static json_t *receipt(const pl_receipt *r, const pl_org *o)
{
    json_t *j = pl_receipt_json(r, o);
    CHECK(j != NULL);
    if (!j)
        abort();
    return j;
}

static const char *purpose_state(json_t *j, size_t i)
{
    json_t *list = json_object_get(json_array_get(json_object_get(j, "services"), 0), "purposes");
    return str(json_object_get(json_array_get(list, i), "consentState"));
}

static const char *ext_str(json_t *j, const char *key)
{
    return str(json_object_get(json_object_get(j, "peerlog"), key));
}

/* Inputs of receipt.md §9.4 made by editing RC2 once: each must be refused (PL_E_INVALID). */
#define PIID    "\"piiPrincipalId\":"
#define SCOPES3 "[\"peer-support\",\"record-keeping\",\"supervision-sharing\"]"
static const struct {
    const char *what, *from, *to;
} refused[] = {
    {"another version", "KI-CR-v1.1.0", "KI-CR-v1.0.0"},
    {"version as a number", "\"KI-CR-v1.1.0\"", "1.1"},
    {"no version", "\"version\":\"KI-CR-v1.1.0\",", ""},
    {"pseudonym in lower case", PIID "\"" SUBJECT "\"", PIID "\"b-7k3q-9f2m\""},
    {"pseudonym too short", PIID "\"" SUBJECT "\"", PIID "\"B-7K3Q-9F2\""},
    {"pseudonym too long", PIID "\"" SUBJECT "\"", PIID "\"B-7K3Q-9F2MM\""},
    {"pseudonym with U", PIID "\"" SUBJECT "\"", PIID "\"B-7K3Q-9F2U\""},
    {"pseudonym with O", PIID "\"" SUBJECT "\"", PIID "\"B-7K3Q-9F2O\""},
    {"pseudonym with another prefix", PIID "\"" SUBJECT "\"", PIID "\"C-7K3Q-9F2M\""},
    {"a name for a pseudonym", PIID "\"" SUBJECT "\"", PIID "\"Test Person\""},
    {"pseudonym as a number", PIID "\"" SUBJECT "\"", PIID "7"},
    {"no pseudonym", PIID "\"" SUBJECT "\",", ""},
    {"code of 63 hex digits", CODE,
     "363369de0daba718895e7fdcc02ddfd84a44b3aec0c7d8f694ed7742486001e"},
    {"code of 65 hex digits", CODE, CODE "0"},
    {"code with a non-hex digit", CODE,
     "7363369de0daba718895e7fdcc02ddfd84a44b3aec0c7d8f694ed774248600zz"},
    {"code with a space", CODE,
     "7363369de0daba718895e7fdcc02ddfd 84a44b3aec0c7d8f694ed7742486001"},
    {"code empty", CODE, ""},
    {"code as a number", "\"" CODE "\"", "7363369"},
    {"no code", "\"verificationCode\":\"" CODE "\",", ""},
    {"negative consentTimestamp", "1709629200", "-1709629200"},
    {"fractional consentTimestamp", "1709629200", "1709629200.5"},
    {"consentTimestamp as a real", "1709629200", "1709629200.0"},
    {"consentTimestamp in exponent form", "1709629200", "1.7096292e9"},
    {"consentTimestamp as a string", "1709629200", "\"1709629200\""},
    {"consentTimestamp null", "1709629200", "null"},
    {"consentTimestamp too big for JSON", "1709629200", "99999999999999999999"},
    {"no consentTimestamp", "\"consentTimestamp\":1709629200,", ""},
    {"empty scopes", SCOPES3, "[]"},
    {"an unknown scope", "\"scopes\":[\"peer-support\"", "\"scopes\":[\"peer-supports\""},
    {"a scope in upper case", "\"scopes\":[\"peer-support\"", "\"scopes\":[\"Peer-support\""},
    {"an empty scope", "\"scopes\":[\"peer-support\"", "\"scopes\":[\"\""},
    {"a repeated scope", "\"scopes\":[\"peer-support\",\"record-keeping\"",
     "\"scopes\":[\"peer-support\",\"peer-support\""},
    {"two scopes in one string", "\"scopes\":[\"peer-support\",\"record-keeping\"",
     "\"scopes\":[\"peer-support,evaluation\",\"record-keeping\""},
    {"a scope with a comma after it", "\"scopes\":[\"peer-support\"",
     "\"scopes\":[\"peer-support,\""},
    {"a scope as a number", "\"scopes\":[\"peer-support\"", "\"scopes\":[1"},
    {"scopes as a string", SCOPES3, "\"peer-support,record-keeping,supervision-sharing\""},
    {"scopes as an object", SCOPES3, "{\"peer-support\":true}"},
    {"six scopes", SCOPES3,
     "[\"peer-support\",\"record-keeping\",\"supervision-sharing\",\"contact-professionals\","
     "\"evaluation\",\"peer-support\"]"},
    {"no scopes", "\"scopes\":" SCOPES3 ",", ""},
    {"validFrom not a date", "\"validFrom\":\"2024-03-01\"", "\"validFrom\":\"2024-02-30\""},
    {"validFrom without leading zeros", "\"validFrom\":\"2024-03-01\"",
     "\"validFrom\":\"2024-3-1\""},
    {"validFrom with a time", "\"validFrom\":\"2024-03-01\"",
     "\"validFrom\":\"2024-03-01T00:00:00Z\""},
    {"validFrom empty", "\"validFrom\":\"2024-03-01\"", "\"validFrom\":\"\""},
    {"validFrom null", "\"validFrom\":\"2024-03-01\"", "\"validFrom\":null"},
    {"no validFrom", "\"validFrom\":\"2024-03-01\",", ""},
    {"validUntil absent", "\"validUntil\":\"2025-02-28\",", ""},
    {"validUntil not a date", "\"validUntil\":\"2025-02-28\"", "\"validUntil\":\"2025-02-29\""},
    {"validUntil empty", "\"validUntil\":\"2025-02-28\"", "\"validUntil\":\"\""},
    {"validUntil false", "\"validUntil\":\"2025-02-28\"", "\"validUntil\":false"},
    {"receipt id of 35 bytes", RID, "1b688cc0-e0a9-8b23-ba0e-337ad70b3e9"},
    {"receipt id of 37 bytes", RID, RID "b"},
    {"no receipt id", "\"consentReceiptID\":\"" RID "\",", ""},
    {"collectionMethod empty", "\"written consent form\"", "\"\""},
    {"no collectionMethod", "\"collectionMethod\":\"written consent form\",", ""},
    {"organisation of 31 bytes", ORG, "123456789abcdef0123456789abcdef"},
    {"organisation of 33 bytes", ORG, ORG "0"},
    {"no organisation", "\"organisation\":\"" ORG "\",", ""},
    {"no peerlog object", ",\"peerlog\":{", ",\"peerlog-x\":{"},
    {"peerlog not an object", "\"peerlog\":{", "\"peerlog\":\"x\",\"other\":{"},
    {"a duplicate key at the top", "{\"version\":\"KI-CR-v1.1.0\",",
     "{\"version\":\"KI-CR-v1.1.0\",\"version\":\"KI-CR-v1.1.0\","},
    {"a duplicate key in peerlog", "\"validFrom\":\"2024-03-01\",",
     "\"validFrom\":\"2024-03-01\",\"validFrom\":\"2024-03-01\","},
    {"a duplicate key in a purpose", "\"consentType\":\"EXPLICIT\",",
     "\"consentType\":\"EXPLICIT\",\"consentType\":\"EXPLICIT\","},
    {"a NUL escape in a string", "Example Peer Support", "Example\\u0000Peer Support"},
    {"a lone surrogate", "Example Peer Support", "Example \\ud800 Support"},
    {"invalid UTF-8", "Example Peer Support", "Example \xc3\x28 Support"},
    {"trailing garbage", "\"issued\":\"2024-04-02\"}}", "\"issued\":\"2024-04-02\"}}x"},
    {"a second object after it", "\"issued\":\"2024-04-02\"}}", "\"issued\":\"2024-04-02\"}}{}"},
    {"a trailing comma", "\"issued\":\"2024-04-02\"}}", "\"issued\":\"2024-04-02\",}}"},
    {"the receipt inside an array", "{\"version\"", "[{\"version\""},
};

static void check_refused(const char *what, const char *in, size_t n)
{
    pl_receipt_claim c;
    pl_err err;
    pl_status st = parse(in, n, &c, &err);
    if (st != PL_E_INVALID || !err.msg[0])
        fprintf(stderr, "  not refused as it should be: %s\n", what);
    CHECK_EQ_INT(st, PL_E_INVALID);
    CHECK(err.msg[0] != '\0');
}

/* Parses RC2 edited once (from -> to) into c. */
static pl_status parse_edited(const char *from, const char *to, pl_receipt_claim *c)
{
    static char buf[sizeof RC2 + 512];
    pl_err err;
    edited(from, to, buf, sizeof buf);
    return parse(buf, strlen(buf), c, &err);
}

int main(void)
{
    if (sodium_init() < 0)
        return 1;
    /* As the CLI does before reading any body: jansson's memory then comes from peerlog's
     * wiping allocator, and jansson's strings must go back to it (dump). */
    pl_json_use_wiping_allocator();

    /* RC1: the receipt id of H2.id, by pl_receipt_id and by hand. */
    uint8_t id[PL_ID_BYTES], input[64], digest[16];
    char rid[PL_RECEIPT_ID_LEN + 1];
    CHECK_EQ_INT(unhex(CODE, id, sizeof id), PL_ID_BYTES);
    memset(rid, 'x', sizeof rid);
    pl_receipt_id(id, rid);
    CHECK_STR(rid, RID);
    CHECK_EQ_INT(unhex(RC1_INPUT, input, sizeof input), 22 + PL_ID_BYTES);
    CHECK(memcmp(input, "peerlog/v1/receipt-id", 22) == 0 &&
          memcmp(input + 22, id, PL_ID_BYTES) == 0);
    crypto_generichash(digest, sizeof digest, input, 22 + PL_ID_BYTES, NULL, 0);
    CHECK_HEX(digest, sizeof digest, RC1_DIGEST);
    digest[6] = (uint8_t)((digest[6] & 0x0fu) | 0x80u);
    digest[8] = (uint8_t)((digest[8] & 0x3fu) | 0x80u);
    CHECK_HEX(digest, sizeof digest, RC1_UUID_BYTES);
    /* The shape of every receipt id: 8-4-4-4-12 lower-case hex, version 8, variant 10. */
    for (unsigned k = 0; k < 256; k++) {
        memset(id, (int)k, sizeof id);
        id[0] = (uint8_t)(k * 7u);
        pl_receipt_id(id, rid);
        int shape = strlen(rid) == PL_RECEIPT_ID_LEN && rid[14] == '8' &&
                    strchr("89ab", rid[19]) != NULL;
        for (size_t i = 0; i < PL_RECEIPT_ID_LEN; i++)
            shape &= (i == 8 || i == 13 || i == 18 || i == 23)
                         ? rid[i] == '-'
                         : (rid[i] >= '0' && rid[i] <= '9') || (rid[i] >= 'a' && rid[i] <= 'f');
        CHECK(shape);
    }

    /* RC2, byte for byte (and the same bytes with JSON_ENSURE_ASCII, as the CLI prints). */
    pl_receipt r;
    rc2_inputs(&r, &org);
    CHECK_STR(r.receipt_id, RID);
    json_t *j = receipt(&r, &org);
    char *text = dump(j, JSON_COMPACT);
    CHECK_EQ_INT(strlen(text), sizeof RC2 - 1);
    CHECK_STR(text, RC2);
    {
        uint8_t h[crypto_hash_sha256_BYTES];
        crypto_hash_sha256(h, (const uint8_t *)RC2, sizeof RC2 - 1);
        CHECK_HEX(h, sizeof h, RC2_SHA256);
    }
    if (getenv("PL_PRINT_VECTORS"))
        printf("%s\n", text);
    free(text);
    text = dump(j, JSON_COMPACT | JSON_ENSURE_ASCII);
    CHECK_STR(text, RC2);
    free(text);
    check_kantara(j, 3);
    json_decref(j);

    /* Open-ended consent without a policy URL or phone: validUntil null, no piiControllerUrl,
     * policyUrl "", the contact named in the withdraw text; one purpose. */
    rc2_inputs(&r, &org);
    r.valid_until[0] = '\0';
    r.scopes = PL_SCOPE_EVALUATION;
    r.withdrawn = 0;
    r.withdrawn_on[0] = '\0';
    org.controller.policy_url[0] = '\0';
    org.controller.phone[0] = '\0';
    j = receipt(&r, &org);
    check_kantara(j, 1);
    json_t *ext = json_object_get(j, "peerlog"),
           *ctl = json_array_get(json_object_get(j, "piiControllers"), 0),
           *p0 = json_array_get(
               json_object_get(json_array_get(json_object_get(j, "services"), 0), "purposes"), 0);
    CHECK(json_is_null(json_object_get(ext, "validUntil")));
    CHECK(json_is_null(json_object_get(ext, "withdrawnOn")));
    CHECK(json_object_get(ctl, "piiControllerUrl") == NULL);
    CHECK_STR(str(json_object_get(ctl, "phone")), "");
    CHECK_STR(str(json_object_get(j, "policyUrl")), "");
    CHECK_STR(str(json_object_get(p0, "termination")),
              "Until the citizen withdraws consent");
    CHECK_STR(str(json_object_get(p0, "scope")), "evaluation");
    const char *cat =
        json_string_value(json_array_get(json_object_get(p0, "purposeCategory"), 0));
    CHECK(cat && !strcmp(cat, "Improve Performance"));
    CHECK(json_is_false(json_object_get(p0, "primaryPurpose")));
    CHECK(strstr(ext_str(j, "withdraw"), "coordinator (Data Protection Officer) that") != NULL);
    text = dump(j, JSON_COMPACT);
    {
        pl_receipt_claim c;
        pl_err err;
        CHECK_EQ_INT(parse(text, strlen(text), &c, &err), PL_OK);
        CHECK_STR(c.valid_until, "");
        CHECK_EQ_INT(c.scopes, PL_SCOPE_EVALUATION);
    }
    free(text);
    json_decref(j);
    /* No contact and no phone: no parentheses. */
    org.controller.contact[0] = '\0';
    j = receipt(&r, &org);
    CHECK(strstr(ext_str(j, "withdraw"), "the coordinator that you withdraw") != NULL);
    json_decref(j);

    /* Every scope, in scope-bit order with its purpose; expired: the purposes not withdrawn
     * say expired. */
    rc2_inputs(&r, &org);
    r.scopes = 0x1fu;
    r.withdrawn = PL_SCOPE_CONTACT_PROFESSIONALS;
    snprintf(r.state, sizeof r.state, "expired");
    j = receipt(&r, &org);
    check_kantara(j, 5);
    static const char *const scope_order[] = {"peer-support", "record-keeping",
                                              "supervision-sharing", "contact-professionals",
                                              "evaluation"};
    json_t *list = json_object_get(json_array_get(json_object_get(j, "services"), 0), "purposes");
    for (size_t i = 0; i < 5; i++) {
        json_t *pp = json_array_get(list, i);
        CHECK_STR(str(json_object_get(pp, "scope")), scope_order[i]);
        json_t *names = json_object_get(json_object_get(j, "peerlog"), "scopes");
        CHECK_STR(str(json_array_get(names, i)), scope_order[i]);
        CHECK_STR(purpose_state(j, i), i == 3 ? "withdrawn" : "expired");
        CHECK(json_is_boolean(json_object_get(pp, "primaryPurpose")) &&
              json_is_true(json_object_get(pp, "primaryPurpose")) == (i == 0));
    }
    CHECK_STR(ext_str(j, "consentState"), "expired");
    json_decref(j);
    /* Withdrawn: every purpose withdrawn. */
    r.withdrawn = r.scopes;
    snprintf(r.state, sizeof r.state, "withdrawn");
    j = receipt(&r, &org);
    for (size_t i = 0; i < 5; i++)
        CHECK_STR(purpose_state(j, i), "withdrawn");
    CHECK_STR(ext_str(j, "consentState"), "withdrawn");
    json_decref(j);
    /* The other collection methods, in words. */
    rc2_inputs(&r, &org);
    snprintf(r.method, sizeof r.method, "verbal");
    j = receipt(&r, &org);
    CHECK_STR(str(json_object_get(j, "collectionMethod")),
              "verbal consent, recorded by the peer-guide");
    json_decref(j);
    snprintf(r.method, sizeof r.method, "digital");
    j = receipt(&r, &org);
    CHECK_STR(str(json_object_get(j, "collectionMethod")), "digital consent form");
    json_decref(j);

    /* pl_receipt_parse of RC2 gives back every field check-receipt compares. */
    {
        pl_receipt_claim c;
        pl_err err;
        uint8_t want[PL_ID_BYTES];
        CHECK_EQ_INT(unhex(CODE, want, sizeof want), PL_ID_BYTES);
        CHECK_EQ_INT(parse(RC2, sizeof RC2 - 1, &c, &err), PL_OK);
        CHECK_STR(c.subject, SUBJECT);
        CHECK(memcmp(c.entry, want, PL_ID_BYTES) == 0);
        CHECK_EQ_INT(c.timestamp, 1709629200);
        CHECK_STR(c.receipt_id, RID);
        CHECK_STR(c.collection_method, "written consent form");
        CHECK_EQ_INT(c.scopes, PL_SCOPE_PEER_SUPPORT | PL_SCOPE_RECORD_KEEPING |
                                   PL_SCOPE_SUPERVISION_SHARING);
        CHECK_STR(c.valid_from, "2024-03-01");
        CHECK_STR(c.valid_until, "2025-02-28");
        CHECK_STR(c.organisation, ORG);
        /* The file as the CLI writes it (a final LF), pretty-printed, with fields peerlog does
         * not read removed or reordered: the same claim. */
        static char buf[PL_RECEIPT_MAX + 2];
        pl_receipt_claim c2;
        snprintf(buf, sizeof buf, "%s\n", RC2);
        CHECK_EQ_INT(parse(buf, strlen(buf), &c2, &err), PL_OK);
        CHECK(memcmp(&c, &c2, sizeof c) == 0);
        json_error_t jerr;
        json_t *back = json_loads(RC2, JSON_REJECT_DUPLICATES, &jerr);
        CHECK(back != NULL);
        text = dump(back, JSON_INDENT(2) | JSON_SORT_KEYS);
        memset(&c2, 0xa5, sizeof c2);
        CHECK_EQ_INT(parse(text, strlen(text), &c2, &err), PL_OK);
        CHECK(memcmp(&c, &c2, sizeof c) == 0);
        free(text);
        json_object_del(back, "services");
        json_object_del(back, "piiControllers");
        json_object_del(json_object_get(back, "peerlog"), "withdraw");
        text = dump(back, JSON_COMPACT);
        CHECK_EQ_INT(parse(text, strlen(text), &c2, &err), PL_OK);
        CHECK(memcmp(&c, &c2, sizeof c) == 0);
        free(text);
        json_decref(back);
        /* validUntil null: open-ended. */
        CHECK_EQ_INT(parse_edited("\"validUntil\":\"2025-02-28\"", "\"validUntil\":null", &c2),
                     PL_OK);
        CHECK_STR(c2.valid_until, "");
        /* Scopes in any order, and upper-case hex in the code, read the same. */
        CHECK_EQ_INT(parse_edited(SCOPES3,
                                  "[\"supervision-sharing\",\"peer-support\",\"record-keeping\"]",
                                  &c2),
                     PL_OK);
        CHECK_EQ_INT(c2.scopes, c.scopes);
        CHECK_EQ_INT(parse_edited(CODE, "7363369DE0DABA718895E7FDCC02DDFD"
                                        "84A44B3AEC0C7D8F694ED7742486001E", &c2),
                     PL_OK);
        CHECK(memcmp(c2.entry, want, PL_ID_BYTES) == 0);
        /* consentTimestamp 0 is a time; validUntil before validFrom is read as it is (the
         * ledger decides whether it matches). */
        CHECK_EQ_INT(parse_edited("1709629200", "0", &c2), PL_OK);
        CHECK_EQ_INT(c2.timestamp, 0);
        CHECK_EQ_INT(parse_edited("\"validUntil\":\"2025-02-28\"",
                                  "\"validUntil\":\"2000-01-01\"", &c2),
                     PL_OK);
        CHECK_STR(c2.valid_until, "2000-01-01");

        /* The size limit: RC2 padded with spaces to PL_RECEIPT_MAX bytes is read, one more
         * byte is refused before it is parsed. */
        memset(buf, ' ', sizeof buf);
        memcpy(buf, RC2, sizeof RC2 - 1);
        CHECK_EQ_INT(parse(buf, PL_RECEIPT_MAX, &c2, &err), PL_OK);
        CHECK(memcmp(&c, &c2, sizeof c) == 0);
        check_refused("a file of PL_RECEIPT_MAX + 1 bytes", buf, PL_RECEIPT_MAX + 1);
    }

    /* Refusals: not JSON, not an object, and each edit of the table. */
    static char buf[sizeof RC2 + 512];
    static const char *const not_receipts[] = {"", "not json", "{", "[]", "{}", "\"x\"", "1",
                                               "null", "{\"version\":\"KI-CR-v1.1.0\"}"};
    for (size_t i = 0; i < sizeof not_receipts / sizeof not_receipts[0]; i++)
        check_refused(not_receipts[i], not_receipts[i], strlen(not_receipts[i]));
    for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++) {
        edited(refused[i].from, refused[i].to, buf, sizeof buf);
        check_refused(refused[i].what, buf, strlen(buf));
    }
    /* Every proper prefix of RC2 is refused. */
    for (size_t n = 0; n < sizeof RC2 - 1; n++)
        check_refused("a prefix of RC2", RC2, n);
    return check_done("test_receipt");
}
