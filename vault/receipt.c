/* Consent receipts (formats/receipt.md): the Kantara Consent Receipt v1.1 form of a receipt,
 * its strict reader, and the check of a receipt against the ledger. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vault/internal.h"

#define DOM_RECEIPT_ID "peerlog/v1/receipt-id"
#define KANTARA_VERSION "KI-CR-v1.1.0"

void pl_receipt_id(const uint8_t entry[PL_ID_BYTES], char out[PL_RECEIPT_ID_LEN + 1])
{
    uint8_t u[16];
    crypto_generichash_state st;
    crypto_generichash_init(&st, NULL, 0, sizeof u);
    crypto_generichash_update(&st, (const uint8_t *)DOM_RECEIPT_ID, sizeof DOM_RECEIPT_ID);
    crypto_generichash_update(&st, entry, PL_ID_BYTES);
    crypto_generichash_final(&st, u, sizeof u);
    u[6] = (uint8_t)((u[6] & 0x0fu) | 0x80u); /* version 8: custom (RFC 9562 §5.8) */
    u[8] = (uint8_t)((u[8] & 0x3fu) | 0x80u); /* variant 10 */
    static const char hx[] = "0123456789abcdef";
    size_t k = 0;
    for (size_t i = 0; i < sizeof u; i++) {
        if (i == 4 || i == 6 || i == 8 || i == 10)
            out[k++] = '-';
        out[k++] = hx[u[i] >> 4];
        out[k++] = hx[u[i] & 15u];
    }
    out[k] = '\0';
}

/* The purposes, one per consent scope, in scope-bit order (formats/receipt.md §3). */
static const struct {
    const char *scope, *purpose, *category, *pii;
    int primary;
} purposes[] = {
    {"peer-support", "Meetings with a peer-guide after discharge from psychiatric care",
     "Core Function", "Health", 1},
    {"record-keeping", "The peer-guide keeps notes of the meetings in an encrypted journal",
     "Core Function", "Health", 0},
    {"supervision-sharing", "The peer-guide may discuss the meetings with a supervisor of the "
                            "programme", "Core Function", "Health", 0},
    {"contact-professionals", "The peer-guide may contact professionals involved in the "
                              "citizen's care", "Protecting Your Health", "Health", 0},
    {"evaluation", "Figures without names are used to evaluate the programme",
     "Improve Performance", "Health", 0},
};
#define NPURPOSES (sizeof purposes / sizeof purposes[0])

static const char *method_text(const char *m)
{
    if (!strcmp(m, "written"))
        return "written consent form";
    if (!strcmp(m, "verbal"))
        return "verbal consent, recorded by the peer-guide";
    if (!strcmp(m, "digital"))
        return "digital consent form";
    return m;
}

json_t *pl_receipt_json(const pl_receipt *r, const pl_org *o)
{
    const pl_controller *c = &o->controller;
    char code[PL_ID_HEX + 1], termination[160];
    sodium_bin2hex(code, sizeof code, r->entry, PL_ID_BYTES);
    if (r->valid_until[0])
        snprintf(termination, sizeof termination,
                 "Until %s, or until the citizen withdraws consent", r->valid_until);
    else
        snprintf(termination, sizeof termination, "Until the citizen withdraws consent");
    json_t *list = json_array(), *scopes = json_array();
    for (unsigned s = 0; s < NPURPOSES; s++) {
        if (!(r->scopes & (1u << s)))
            continue;
        const char *state = (r->withdrawn & (1u << s)) ? "withdrawn"
                            : !strcmp(r->state, "expired") ? "expired"
                                                            : "given";
        json_array_append_new(scopes, json_string(purposes[s].scope));
        /* Contacting professionals discloses to them: Kantara then wants their name. */
        int third = (1u << s) == PL_SCOPE_CONTACT_PROFESSIONALS;
        json_t *p = json_pack("{s:s, s:[s], s:s, s:[s], s:b, s:s, s:b}", "purpose",
                              purposes[s].purpose, "purposeCategory", purposes[s].category,
                              "consentType", "EXPLICIT", "piiCategory", purposes[s].pii,
                              "primaryPurpose", purposes[s].primary, "termination", termination,
                              "thirdPartyDisclosure", third);
        if (p && third)
            json_object_set_new(p, "thirdPartyName",
                                json_string("professionals involved in the citizen's care"));
        if (p) {
            json_object_set_new(p, "scope", json_string(purposes[s].scope));
            json_object_set_new(p, "consentState", json_string(state));
        }
        json_array_append_new(list, p);
    }
    char withdraw[700];
    snprintf(withdraw, sizeof withdraw,
             "Tell your peer-guide or the coordinator%s%s%s that you withdraw, by any means; they "
             "record it at once with one command ('peerlog consent withdraw --subject %s'), as "
             "easily as the consent was recorded.",
             c->contact[0] || c->phone[0] ? " (" : "", c->phone[0] ? c->phone : c->contact,
             c->contact[0] || c->phone[0] ? ")" : "", r->subject);
    json_t *ext = json_pack("{s:s, s:s, s:s, s:s?, s:s, s:o, s:s?, s:s, s:s}", "verificationCode",
                            code, "organisation", o->fingerprint, "validFrom", r->valid_from,
                            "validUntil", r->valid_until[0] ? r->valid_until : NULL,
                            "consentState", r->state, "scopes", scopes, "withdrawnOn",
                            r->withdrawn_on[0] ? r->withdrawn_on : NULL, "withdraw", withdraw,
                            "issued", r->issued);
    json_t *ctl = json_pack("{s:s, s:s, s:s, s:s, s:s}", "piiController", o->name, "contact",
                            c->contact, "address", c->address, "email", c->email, "phone",
                            c->phone);
    if (ctl && c->policy_url[0])
        json_object_set_new(ctl, "piiControllerUrl", json_string(c->policy_url));
    json_t *j = json_pack("{s:s, s:s, s:I, s:s, s:s, s:s, s:s, s:[o], s:s, "
                          "s:[{s:s, s:o}], s:b, s:[s], s:o}",
                          "version", KANTARA_VERSION, "jurisdiction", "DK", "consentTimestamp",
                          (json_int_t)(r->time_ms / 1000), "collectionMethod",
                          method_text(r->method), "consentReceiptID", r->receipt_id, "language",
                          "en", "piiPrincipalId", r->subject, "piiControllers", ctl,
                          "policyUrl", c->policy_url, "services", "service",
                          "Peer support after discharge from psychiatric care", "purposes", list,
                          "sensitive", 1, "spiCat", "Health", "peerlog", ext);
    return j;
}

/* ---- reading a receipt ------------------------------------------------------------------- */

/* The string at key of j, when it is one of 1..max bytes; else NULL. */
static const char *str_at(json_t *j, const char *key, size_t max)
{
    const char *s = json_string_value(json_object_get(j, key));
    size_t n = s ? strlen(s) : 0;
    return n >= 1 && n <= max && json_string_length(json_object_get(j, key)) == n ? s : NULL;
}

pl_status pl_receipt_parse(const char *in, size_t n, pl_receipt_claim *out, pl_err *err)
{
    memset(out, 0, sizeof *out);
    if (n > PL_RECEIPT_MAX)
        return pl_fail(err, PL_E_INVALID, "the file is larger than any receipt (%u bytes)",
                       PL_RECEIPT_MAX);
    json_error_t jerr;
    json_t *j = json_loadb(in, n, JSON_REJECT_DUPLICATES, &jerr);
    pl_status st = PL_OK;
    if (!json_is_object(j)) {
        st = pl_fail(err, PL_E_INVALID, "this is not a consent receipt (not a JSON object)");
        goto out;
    }
    json_t *ext = json_object_get(j, "peerlog");
    const char *version = str_at(j, "version", 32), *subject = str_at(j, "piiPrincipalId", 32),
               *rid = str_at(j, "consentReceiptID", PL_RECEIPT_ID_LEN),
               *method = str_at(j, "collectionMethod", sizeof out->collection_method - 1),
               *code = str_at(ext, "verificationCode", PL_ID_HEX),
               *org = str_at(ext, "organisation", PL_FINGERPRINT_HEX),
               *from = str_at(ext, "validFrom", PL_DATE_LEN),
               *until = json_is_null(json_object_get(ext, "validUntil"))
                            ? ""
                            : str_at(ext, "validUntil", PL_DATE_LEN);
    json_t *ts = json_object_get(j, "consentTimestamp"), *scopes = json_object_get(ext, "scopes");
    size_t bin = 0;
    if (!version || strcmp(version, KANTARA_VERSION) != 0) {
        st = pl_fail(err, PL_E_INVALID, "this is not a Kantara v1.1 consent receipt from "
                                        "peerlog (version)");
        goto out;
    }
    if (!subject || !fmt_pseudonym_valid(subject) || !rid || strlen(rid) != PL_RECEIPT_ID_LEN ||
        !method || !code || strlen(code) != PL_ID_HEX ||
        sodium_hex2bin(out->entry, PL_ID_BYTES, code, PL_ID_HEX, NULL, &bin, NULL) != 0 ||
        bin != PL_ID_BYTES || !org || strlen(org) != PL_FINGERPRINT_HEX || !from ||
        !fmt_date_valid(from) || !until || (until[0] && !fmt_date_valid(until)) ||
        !json_is_integer(ts) || json_integer_value(ts) < 0 || !json_is_array(scopes) ||
        json_array_size(scopes) == 0 || json_array_size(scopes) > 5) {
        st = pl_fail(err, PL_E_INVALID, "the receipt is damaged: a field peerlog checks is "
                                        "missing or malformed");
        goto out;
    }
    size_t i;
    json_t *sc;
    json_array_foreach(scopes, i, sc) {
        const char *name = json_string_value(sc);
        unsigned bit = 0;
        char bad[32];
        /* one scope name per element: pl_scopes_parse would also take a list "a,b" */
        if (!name || strlen(name) > 32 || strchr(name, ',') ||
            pl_scopes_parse(name, &bit, bad, sizeof bad) != 0 || (out->scopes & bit)) {
            st = pl_fail(err, PL_E_INVALID, "the receipt names an unknown or repeated scope");
            goto out;
        }
        out->scopes |= bit;
    }
    snprintf(out->subject, sizeof out->subject, "%s", subject);
    snprintf(out->receipt_id, sizeof out->receipt_id, "%s", rid);
    snprintf(out->collection_method, sizeof out->collection_method, "%s", method);
    snprintf(out->organisation, sizeof out->organisation, "%s", org);
    snprintf(out->valid_from, sizeof out->valid_from, "%s", from);
    snprintf(out->valid_until, sizeof out->valid_until, "%s", until);
    out->timestamp = (int64_t)json_integer_value(ts);
out:
    json_decref(j);
    return st;
}

/* Takes out of a receipt what changes with the day it is made: the states and the issue date
 * (the ledger's consent may have been withdrawn since, and that is not a mismatch). */
static void strip_day(json_t *j)
{
    json_t *ext = json_object_get(j, "peerlog"), *p;
    json_object_del(ext, "consentState");
    json_object_del(ext, "withdrawnOn");
    json_object_del(ext, "issued");
    size_t i;
    json_array_foreach(json_object_get(json_array_get(json_object_get(j, "services"), 0),
                                       "purposes"), i, p)
        json_object_del(p, "consentState");
}

pl_status vault_receipt_check(pl_vault *v, const char *in, size_t n, const pl_receipt_claim *c,
                              pl_receipt *now, pl_err *err)
{
    char hex[PL_ID_HEX + 1];
    pl_org *o = calloc(1, sizeof *o);
    json_t *mine = NULL, *theirs = NULL;
    if (!o)
        return pl_fail(err, PL_E_NOMEM, "out of memory");
    pl_status st = vault_org(v, o, err);
    if (st == PL_OK && strcmp(o->fingerprint, c->organisation) != 0)
        st = pl_fail(err, PL_E_INTEGRITY, "the receipt is from another organisation (%.8s…)",
                     c->organisation);
    if (st != PL_OK)
        goto out;
    sodium_bin2hex(hex, sizeof hex, c->entry, PL_ID_BYTES);
    st = vault_consent_receipt(v, c->subject, hex, now, err);
    if (st == PL_E_NOTFOUND) {
        char why[sizeof err->msg];
        memcpy(why, err->msg, sizeof why);
        st = pl_fail(err, PL_E_INTEGRITY, "the ledger holds no consent of %s with this "
                                          "receipt's verification code (%s)", c->subject, why);
        goto out;
    }
    if (st != PL_OK)
        goto out;
    const char *what = NULL;
    if (sodium_memcmp(now->entry, c->entry, PL_ID_BYTES) != 0)
        what = "verification code";
    else if (strcmp(now->receipt_id, c->receipt_id) != 0)
        what = "receipt id";
    else if (now->time_ms / 1000 != c->timestamp)
        what = "time of consent";
    else if (strcmp(method_text(now->method), c->collection_method) != 0)
        what = "collection method";
    else if (strcmp(now->valid_from, c->valid_from) != 0 ||
             strcmp(now->valid_until, c->valid_until) != 0)
        what = "period of consent";
    else if (now->scopes != c->scopes)
        what = "scopes";
    if (what) {
        st = pl_fail(err, PL_E_INTEGRITY, "the receipt does not match the ledger: its %s "
                                          "differs (the consent may have been corrected since; "
                                          "make a new receipt)", what);
        goto out;
    }
    /* Everything else a citizen reads (purposes, how to withdraw, the controller) must be
     * what this organisation issues for that consent: the receipt made anew, less what
     * changes with the day. */
    json_error_t jerr;
    mine = pl_receipt_json(now, o);
    theirs = json_loadb(in, n, JSON_REJECT_DUPLICATES, &jerr);
    if (!mine || !theirs) {
        st = pl_fail(err, mine ? PL_E_INVALID : PL_E_NOMEM,
                     mine ? "the receipt cannot be read" : "out of memory");
        goto out;
    }
    strip_day(mine);
    strip_day(theirs);
    if (!json_equal(mine, theirs))
        st = pl_fail(err, PL_E_INTEGRITY, "the receipt does not match the ledger: its wording "
                                          "(purposes, how to withdraw or the controller's "
                                          "details) was changed");
out:
    json_decref(mine);
    json_decref(theirs);
    free(o);
    return st;
}
