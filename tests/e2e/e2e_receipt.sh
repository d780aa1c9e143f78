#!/usr/bin/env bash
# Issue 4, consent receipts: what a citizen agreed to as text, as a Kantara Consent Receipt
# v1.1 (every required field, DPV states) and as a page; check-receipt shows a receipt matches
# the ledger and names what differs when it does not. No receipt carries the citizen's name.
. "$(dirname "$0")/lib.sh"
S="$T/shared"
mkdir "$S"

for who in coord guide aud other; do
  as "$who"; expect_rc 0 "init $who" -- pl init --name "$who" "${KDF[@]}" --json
done
as coord
expect_rc 2 "an over-long controller field" -- pl org init --name "Peer support Aalborg" \
  --contact "$(printf 'x%.0s' $(seq 1 201))"
expect_rc 0 "org init with the controller's details" -- pl org init --name "Peer support Aalborg" \
  --contact "Ana Holm, coordinator" --email peerstotte@example.dk --phone "+45 12 34 56 78" \
  --address "Vestergade 1, 9000 Aalborg" --policy-url https://example.dk/privacy --json
ORGFP="$(json 'j["fingerprint"]')"
expect_rc 0 "org show" -- pl org show --json
[ "$(json 'j["controller"]["email"]')" = "peerstotte@example.dk" ] || fail "controller in org show"
for pair in guide:guide aud:auditor; do
  who="${pair%%:*}"; role="${pair#*:}"
  as "$who"; pl id export > "$T/$who.json"; fp="$(fp_of "$who")"
  as coord
  expect_rc 0 "add $who" -- pl member add "$T/$who.json" --role "$role" --expect-fingerprint "$fp"
done
as coord; expect_rc 0 "sync coord" -- pl sync "$S"
for who in guide aud; do as "$who"; expect_rc 0 "join $who" -- pl join "$S" --expect-org "$ORGFP"; done

as guide
expect_rc 0 "consent with a name" -- pl consent grant --subject new \
  --scopes peer-support,record-keeping,supervision-sharing --valid-from 2026-02-01 \
  --valid-until 2026-12-31 --method verbal --name "Receipt Marker-Person" --contact "marker@example.org" --json
SUBJ="$(json 'j["subject"]')"; GRANT="$(json 'j["entry"]')"

# Text: the citizen's words.
expect_rc 0 "receipt as text" -- pl consent receipt --subject "$SUBJ"
for want in "$SUBJ" "Peer support Aalborg" "To withdraw" "+45 12 34 56 78" "Ana Holm" \
    "$GRANT" "2026-02-01" "2026-12-31" "verbal consent" "State:              given" \
    "discuss the meetings with a supervisor"; do
  expect_in "$want" "$OUT" "the text receipt says $want"
done
expect_not_in "Marker-Person" "$OUT" "no name in a receipt"
expect_not_in "marker@example.org" "$OUT" "no contact in a receipt"

# JSON: Kantara v1.1, every required field with its kind.
expect_rc 0 "receipt as JSON" -- pl consent receipt --subject "$SUBJ" --json
printf '%s\n' "$OUT" > "$T/receipt.json"
expect_not_in "Marker-Person" "$OUT" "no name in the JSON receipt"
python3 - "$T/receipt.json" "$SUBJ" "$GRANT" "$ORGFP" <<'PY' || fail "Kantara v1.1 required fields"
import json, re, sys
j = json.load(open(sys.argv[1]))
def need(obj, key, kind, where="receipt"):
    assert key in obj, "%s: %s missing" % (where, key)
    assert isinstance(obj[key], kind), "%s: %s is %r" % (where, key, type(obj[key]))
    return obj[key]
assert need(j, "version", str) == "KI-CR-v1.1.0"
assert need(j, "jurisdiction", str) == "DK"
assert need(j, "consentTimestamp", int) > 1700000000
need(j, "collectionMethod", str)
assert re.fullmatch(r"[0-9a-f]{8}-[0-9a-f]{4}-8[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}",
                    need(j, "consentReceiptID", str))
assert need(j, "piiPrincipalId", str) == sys.argv[2]
ctl = need(j, "piiControllers", list)
assert len(ctl) == 1
for k in ("piiController", "contact", "address", "email", "phone"):
    assert need(ctl[0], k, str, "piiControllers[0]")
assert ctl[0]["piiController"] == "Peer support Aalborg"
assert need(j, "policyUrl", str) == "https://example.dk/privacy"
services = need(j, "services", list)
assert len(services) == 1 and need(services[0], "service", str)
purposes = need(services[0], "purposes", list)
assert [p["scope"] for p in purposes] == ["peer-support", "record-keeping", "supervision-sharing"]
for p in purposes:
    need(p, "purpose", str, "purpose")
    assert need(p, "purposeCategory", list, "purpose") and all(isinstance(x, str) for x in p["purposeCategory"])
    need(p, "consentType", str, "purpose")
    assert "Health" in need(p, "piiCategory", list, "purpose")
    need(p, "termination", str, "purpose")
    need(p, "thirdPartyDisclosure", bool, "purpose")
    assert p["consentState"] == "given"
assert need(j, "sensitive", bool) is True
assert "Health" in need(j, "spiCat", list)
ext = need(j, "peerlog", dict)
assert ext["verificationCode"] == sys.argv[3] and ext["organisation"] == sys.argv[4]
assert ext["consentState"] == "given" and ext["validUntil"] == "2026-12-31"
assert "consent withdraw" in ext["withdraw"]
PY

# check-receipt: it matches, in the guide's, the coordinator's and the auditor's vaults.
expect_rc 0 "check-receipt" -- pl consent check-receipt "$T/receipt.json"
expect_in "matches the ledger" "$OUT" "match said"
expect_in "still given" "$OUT" "state said"
as guide; expect_rc 0 "guide syncs" -- pl sync "$S"
for who in coord aud; do
  as "$who"; expect_rc 0 "$who syncs" -- pl sync "$S"
  expect_rc 0 "check-receipt at $who" -- pl consent check-receipt "$T/receipt.json" --json
  [ "$(json 'j["matches"]')" = True ] || fail "$who: matches"
done
as aud
expect_rc 0 "the auditor makes the same receipt" -- pl consent receipt --subject "$SUBJ" --json
[ "$(json 'j["consentReceiptID"]')" = "$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["consentReceiptID"])' "$T/receipt.json")" ] ||
  fail "the receipt id depends on the consent entry only"

# A receipt altered by hand, of another organisation, or not a receipt.
python3 - "$T/receipt.json" > "$T/altered.json" <<'PY'
import json, sys
j = json.load(open(sys.argv[1]))
j["peerlog"]["scopes"].append("evaluation")
print(json.dumps(j))
PY
as guide
expect_rc 4 "an altered receipt" -- pl consent check-receipt "$T/altered.json"
expect_in "scopes differs" "$ERR" "what differs is named"
python3 - "$T/receipt.json" > "$T/moved.json" <<'PY'
import json, sys
j = json.load(open(sys.argv[1]))
j["consentTimestamp"] -= 86400
print(json.dumps(j))
PY
expect_rc 4 "a receipt with another time" -- pl consent check-receipt "$T/moved.json"
expect_in "time of consent" "$ERR" "time named"
python3 - "$T/receipt.json" > "$T/reworded.json" <<'PY'
import json, sys
j = json.load(open(sys.argv[1]))
j["peerlog"]["withdraw"] = "Call +45 99 99 99 99 to withdraw."
j["piiControllers"][0]["phone"] = "+45 99 99 99 99"
print(json.dumps(j))
PY
expect_rc 4 "a receipt with its wording changed" -- pl consent check-receipt "$T/reworded.json"
expect_in "wording" "$ERR" "wording named"
printf '{"version": "KI-CR-v1.1.0"}' > "$T/empty.json"
expect_rc 1 "a receipt missing its fields" -- pl consent check-receipt "$T/empty.json"
expect_in "damaged" "$ERR" "damaged said"
printf 'not json' > "$T/junk.json"
expect_rc 1 "not a receipt" -- pl consent check-receipt "$T/junk.json"
expect_rc 1 "no such file" -- pl consent check-receipt "$T/none.json"
as other
expect_rc 0 "another organisation" -- pl org init --name "Elsewhere" --json
expect_rc 4 "another organisation's vault" -- pl consent check-receipt "$T/receipt.json"
expect_in "another organisation" "$ERR" "says so"

# Bad input to 'consent receipt'.
as guide
expect_rc 2 "no subject" -- pl consent receipt
expect_rc 2 "a bad subject" -- pl consent receipt --subject bob
expect_rc 1 "an unknown citizen" -- pl consent receipt --subject B-0000-0000
expect_in "no consent recorded" "$ERR" "says so"
expect_rc 2 "a bad entry" -- pl consent receipt --subject "$SUBJ" --entry xyz
expect_rc 2 "two forms" -- pl consent receipt --subject "$SUBJ" --json --html "$T/r.html"
expect_rc 2 "text and a page" -- pl consent receipt --subject "$SUBJ" --text --html "$T/r.html"
as personal; expect_rc 0 "init personal" -- pl init --name "p" "${KDF[@]}" --json
expect_rc 1 "a vault outside an organisation" -- pl consent receipt --subject "$SUBJ"

# Withdrawal: the state follows (DPV: withdrawn), the old receipt still matches.
as coord
expect_rc 0 "withdraw supervision-sharing" -- pl consent withdraw --subject "$SUBJ" \
  --scopes supervision-sharing --date 2026-05-01
expect_rc 0 "receipt after a partial withdrawal" -- pl consent receipt --subject "$SUBJ" --json
[ "$(json '[p["consentState"] for p in j["services"][0]["purposes"]]')" = \
  "['given', 'given', 'withdrawn']" ] || fail "per-purpose states: $OUT"
[ "$(json 'j["peerlog"]["withdrawnOn"]')" = 2026-05-01 ] || fail "withdrawal date"
expect_rc 0 "withdraw the rest" -- pl consent withdraw --subject "$SUBJ" --date 2026-06-01
expect_rc 0 "receipt after withdrawal" -- pl consent receipt --subject "$SUBJ" --json
[ "$(json 'j["peerlog"]["consentState"]')" = withdrawn ] || fail "DPV withdrawn: $OUT"
expect_rc 0 "the old receipt still matches" -- pl consent check-receipt "$T/receipt.json"
expect_in "was withdrawn on 2026-06-01" "$OUT" "and says it was withdrawn"

# A corrected consent no longer matches an old receipt; expired consent says so.
as guide
expect_rc 0 "guide syncs the withdrawals" -- pl sync "$S"
expect_rc 0 "correct the consent" -- pl amend "${GRANT:0:12}" --date 2026-02-02
expect_rc 4 "the old receipt after a correction" -- pl consent check-receipt "$T/receipt.json"
expect_in "period of consent differs" "$ERR" "says what"
expect_rc 0 "an expired consent" -- pl consent grant --subject new --scopes peer-support \
  --valid-from 2025-01-01 --valid-until 2025-06-30 --json
OLD="$(json 'j["subject"]')"
expect_rc 0 "receipt of expired consent" -- pl consent receipt --subject "$OLD" --json
[ "$(json 'j["peerlog"]["consentState"]')" = expired ] || fail "DPV expired: $OUT"

# HTML: a page to print, without scripts or the name, rendered by Chromium.
expect_rc 0 "receipt as a page" -- pl consent receipt --subject "$SUBJ" --html "$T/receipt.html"
grep -q "<script" "$T/receipt.html" && fail "no scripts"
grep -q "Marker-Person" "$T/receipt.html" && fail "no name in the page"
grep -q "Receipt id" "$T/receipt.html" || fail "receipt id in the page"
if command -v chromium >/dev/null; then
  timeout 120 chromium --headless --no-sandbox --disable-gpu --disable-dev-shm-usage \
    --user-data-dir="$T/chromium" --no-first-run --dump-dom "file://$T/receipt.html" \
    > "$T/dom.html" 2>/dev/null || fail "chromium renders the receipt"
  [ "$(grep -c "<li>" "$T/dom.html")" = 3 ] || fail "three purposes rendered"
else
  fail "chromium is not installed (scripts/deps --test installs it)"
fi
done_tests
