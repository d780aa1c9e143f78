/* Record schemas (formats/records.md): each accepted body gives the documented metadata, and
 * each way a body can be wrong is refused with a message that names the problem. */
#include <string.h>

#include <sodium.h>

#include "tests/unit/check.h"
#include "vault/vault.h"

typedef struct {
    const char *type;
    const char *json;
    const char *want; /* metadata when accepted, or a piece of the refusal message */
    int ok;
} record_case;

static const record_case cases[] = {
    /* accepted, with the metadata the header gets */
    {"consent.grant", "{\"scopes\":[\"record-keeping\",\"peer-support\"],"
                      "\"valid_from\":\"2026-11-01\",\"method\":\"verbal\"}",
     "date=2026-11-01\nmethod=verbal\nscopes=peer-support,record-keeping\n", 1},
    {"consent.grant", "{\"scopes\":[\"evaluation\"],\"valid_from\":\"2026-11-01\","
                      "\"valid_until\":\"2027-03-01\",\"method\":\"digital\",\"name\":\"A\","
                      "\"contact\":\"+45 1\"}",
     "date=2026-11-01\nmethod=digital\nscopes=evaluation\nvalid_until=2027-03-01\n", 1},
    {"consent.withdraw", "{\"scopes\":[\"peer-support\"],\"date\":\"2026-12-01\"}",
     "date=2026-12-01\nscopes=peer-support\n", 1},
    {"session", "{\"date\":\"2026-11-02\",\"minutes\":60,\"kind\":\"ward\","
                "\"themes\":[\"sleep\"],\"place\":\"x\",\"note\":\"y\"}",
     "date=2026-11-02\nkind=ward\nminutes=60\n", 1},
    {"note", "{\"text\":\"hello\"}", "", 1},
    {"retract", "{\"reason\":\"wrong person\"}", "", 1},
    /* refused */
    {"consent.grant", "{\"scopes\":[],\"valid_from\":\"2026-11-01\",\"method\":\"written\"}",
     "at least one scope", 0},
    {"consent.grant", "{\"scopes\":[\"gossip\"],\"valid_from\":\"2026-11-01\","
                      "\"method\":\"written\"}", "unknown consent scope", 0},
    {"consent.grant", "{\"scopes\":[\"evaluation\",\"evaluation\"],"
                      "\"valid_from\":\"2026-11-01\",\"method\":\"written\"}",
     "listed twice", 0},
    {"consent.grant", "{\"scopes\":[\"evaluation\"],\"valid_from\":\"2026-11-01\","
                      "\"method\":\"telepathy\"}", "'method' must be", 0},
    {"consent.grant", "{\"scopes\":[\"evaluation\"],\"valid_from\":\"2026-11-01\","
                      "\"valid_until\":\"2026-10-01\",\"method\":\"written\"}",
     "cannot end", 0},
    {"consent.grant", "{\"scopes\":[\"evaluation\"],\"valid_from\":\"2026-02-30\","
                      "\"method\":\"written\"}", "must be a date", 0},
    {"consent.grant", "{\"scopes\":[\"evaluation\"],\"method\":\"written\"}",
     "'valid_from' is required", 0},
    {"consent.grant", "{\"scopes\":[\"evaluation\"],\"valid_from\":\"2026-11-01\","
                      "\"method\":\"\"}", "must not be empty", 0},
    /* an optional text may be empty (records.md §1) */
    {"consent.grant", "{\"scopes\":[\"evaluation\"],\"valid_from\":\"2026-11-01\","
                      "\"method\":\"written\",\"name\":\"\"}",
     "date=2026-11-01\nmethod=written\nscopes=evaluation\n", 1},
    {"consent.grant", "{\"scopes\":[\"evaluation\"],\"valid_from\":\"2026-11-01\","
                      "\"method\":\"written\",\"shoe_size\":44}", "no field 'shoe_size'", 0},
    {"session", "{\"date\":\"2026-11-02\",\"minutes\":0,\"kind\":\"ward\"}",
     "'minutes' must be", 0},
    {"session", "{\"date\":\"2026-11-02\",\"minutes\":60.0,\"kind\":\"ward\"}",
     "'minutes' must be", 0},
    {"session", "{\"date\":\"2026-11-02\",\"minutes\":\"60\",\"kind\":\"ward\"}",
     "'minutes' must be", 0},
    {"session", "{\"date\":\"2026-11-02\",\"minutes\":60,\"kind\":\"party\"}",
     "'kind' must be", 0},
    {"session", "{\"date\":\"2026-11-02\",\"minutes\":60,\"kind\":\"ward\",\"themes\":\"x\"}",
     "'themes' must be a list", 0},
    {"session", "{\"date\":\"2026-11-02\",\"minutes\":60,\"kind\":\"ward\",\"themes\":[\"\"]}",
     "each theme", 0},
    {"session", "{\"date\":\"2026-11-02\",\"minutes\":60,\"kind\":\"ward\",\"place\":7}",
     "'place' must be text", 0},
    {"note", "{}", "'text' is required", 0},
    {"note", "[]", "must be a JSON object", 0},
    {"retract", "{\"reason\":\"\"}", "must not be empty", 0},
    {"gossip", "{}", "not a record type", 0},
    /* Records of an organisation (formats/records.md §10). */
    {"match", "{\"guide\":\"0f1e2d3c4b5a69788796a5b4c3d2e1f0\",\"date\":\"2026-01-20\"}",
     "date=2026-01-20\nguide=0f1e2d3c4b5a69788796a5b4c3d2e1f0\n", 1},
    {"match", "{\"guide\":\"0F1E2D3C4B5A69788796A5B4C3D2E1F0\",\"date\":\"2026-01-20\"}",
     "fingerprint", 0},
    {"match", "{\"guide\":\"0f1e\",\"date\":\"2026-01-20\"}", "fingerprint", 0},
    {"agreement.volunteer",
     "{\"guide\":\"0f1e2d3c4b5a69788796a5b4c3d2e1f0\",\"date\":\"2026-01-02\","
     "\"valid_until\":\"2026-12-31\"}",
     "date=2026-01-02\nguide=0f1e2d3c4b5a69788796a5b4c3d2e1f0\nvalid_until=2026-12-31\n", 1},
    {"agreement.volunteer",
     "{\"guide\":\"0f1e2d3c4b5a69788796a5b4c3d2e1f0\",\"date\":\"2026-01-02\","
     "\"valid_until\":\"2025-12-31\"}",
     "before it starts", 0},
    {"agreement.sign", "{\"date\":\"2026-01-03\"}", "date=2026-01-03\n", 1},
    {"agreement.collaboration", "{\"start\":\"2026-10-31\",\"planned_end\":\"2027-02-28\"}",
     "date=2026-10-31\nplanned_end=2027-02-28\n", 1},
    {"agreement.collaboration", "{\"start\":\"2026-10-31\",\"planned_end\":\"2027-03-01\"}",
     "at most 4 months", 0},
    {"agreement.collaboration", "{\"start\":\"2027-10-31\",\"planned_end\":\"2028-02-29\"}",
     "date=2027-10-31\nplanned_end=2028-02-29\n", 1},
    {"agreement.collaboration", "{\"start\":\"2026-03-01\",\"planned_end\":\"2026-02-28\"}",
     "before it starts", 0},
    {"supervision",
     "{\"date\":\"2026-02-20\",\"guides\":[\"0f1e2d3c4b5a69788796a5b4c3d2e1f0\"],"
     "\"minutes\":60,\"subjects\":[\"B-7K3Q-9F2M\"]}",
     "date=2026-02-20\nguides=0f1e2d3c4b5a69788796a5b4c3d2e1f0\nminutes=60\n"
     "subjects=B-7K3Q-9F2M\n", 1},
    {"supervision", "{\"date\":\"2026-02-20\",\"guides\":[],\"minutes\":60}", "'guides' must list",
     0},
    {"supervision",
     "{\"date\":\"2026-02-20\",\"guides\":[\"0f1e2d3c4b5a69788796a5b4c3d2e1f0\","
     "\"0f1e2d3c4b5a69788796a5b4c3d2e1f0\"],\"minutes\":60}",
     "twice", 0},
    {"supervision",
     "{\"date\":\"2026-02-20\",\"guides\":[\"0f1e2d3c4b5a69788796a5b4c3d2e1f0\"],"
     "\"minutes\":60,\"subjects\":[\"nobody\"]}",
     "item 1 of 'subjects'", 0},
    {"course.close", "{\"date\":\"2026-05-30\",\"outcome\":\"completed\"}",
     "date=2026-05-30\noutcome=completed\n", 1},
    {"course.close", "{\"date\":\"2026-05-30\",\"outcome\":\"vanished\"}", "'outcome' must", 0},
};

int main(void)
{
    if (sodium_init() < 0)
        return 1;
    pl_json_use_wiping_allocator();
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const record_case *c = &cases[i];
        json_error_t jerr;
        json_t *body = json_loads(c->json, JSON_REJECT_DUPLICATES, &jerr);
        char meta[PL_META_MAX + 1] = "";
        pl_err err = {{0}};
        CHECK(body != NULL);
        if (!body)
            continue;
        pl_status st = pl_record_validate(c->type, body, meta, sizeof meta, &err);
        json_decref(body);
        if (c->ok) {
            CHECK_EQ_INT(st, PL_OK);
            CHECK_STR(meta, c->want);
        } else {
            CHECK_EQ_INT(st, PL_E_INVALID);
            if (!strstr(err.msg, c->want))
                fprintf(stderr, "case %zu: '%s' not in '%s'\n", i, c->want, err.msg);
            CHECK(strstr(err.msg, c->want) != NULL);
        }
    }
    /* Names shown next to fingerprints: plain text only (formats/text.h fmt_name_valid). */
    static const char *const good[] = {"Kim Berg", "Søren Ærø", "", "O'Neil-Smith"};
    static const char *const bad[] = {"Sam\nFingerprint: 0000", "a\tb", "esc\033[8m",
                                      "del\x7f", "c1\xc2\x85", "rtl\xe2\x80\xae",
                                      "isolate\xe2\x81\xa6", "sep\xe2\x80\xa8",
                                      "mark\xe2\x80\x8f", "alm\xd8\x9c"};
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++)
        CHECK(fmt_name_valid(good[i], strlen(good[i])));
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        CHECK(!fmt_name_valid(bad[i], strlen(bad[i])));
    return check_done("test_records");
}
