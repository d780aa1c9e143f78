#!/usr/bin/env bash
# org init and org show (issue 3, first part): the genesis, the keys, the fingerprint, and
# the refusals around them.
. "$(dirname "$0")/lib.sh"
init_vault
expect_rc 1 "org show before any organisation" -- pl org show
expect_in "belongs to no organisation" "$ERR" "no organisation message"
expect_rc 2 "org init without a name" -- pl org init
expect_rc 2 "org without a subcommand" -- pl org
expect_rc 0 "org init --help" -- "$PEERLOG" org init --help
expect_in "fingerprint" "$OUT" "org init help explains the fingerprint"

expect_rc 0 "org init" -- pl org init --name "Peer support Aarhus" --json
ORG="$(json 'j["id"]')"
FP="$(json 'j["fingerprint"]')"
[[ "$ORG" =~ ^[0-9a-f]{64}$ ]] || fail "org id: $ORG"
[[ "$FP" =~ ^[0-9a-f]{32}$ ]] || fail "org fingerprint: $FP"
# The fingerprint is BLAKE2b-128 of the domain and the id (formats/org.md §1).
want="$(python3 -c 'import hashlib,sys; print(hashlib.blake2b(b"peerlog/v1/org-fingerprint\0" + bytes.fromhex(sys.argv[1]), digest_size=16).hexdigest())' "$ORG")"
[ "$FP" = "$want" ] || fail "fingerprint $FP is not BLAKE2b-128 of the id ($want)"

expect_rc 0 "org show --json" -- pl org show --json
[ "$(json 'j["fingerprint"]')" = "$FP" ] || fail "org show fingerprint"
[ "$(json 'j["name"]')" = "Peer support Aarhus" ] || fail "org show name"
[ "$(json 'sorted(k["role"] for k in j["keys"])')" = \
  "['auditor', 'coordinator', 'guide', 'supervisor']" ] || fail "one key per role: $OUT"
[ "$(json 'j["members"][0]["roles"]')" = "['coordinator']" ] || fail "first coordinator"
expect_rc 0 "id" -- pl id --json
[ "$(json 'j["feed"]')" = "$(pl org show --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["members"][0]["feed"])')" ] ||
  fail "the coordinator is this vault's feed"
expect_rc 0 "org show text" -- pl org show
expect_in "${FP:0:4} ${FP:4:4}" "$OUT" "fingerprint in groups of four"

# The genesis and the key announcements are ordinary signed entries.
expect_rc 0 "log" -- pl log --json
[ "$(json '[e["type"] for e in j]')" = \
  "['org.genesis', 'key.rotate', 'key.rotate', 'key.rotate', 'key.rotate']" ] ||
  fail "entries: $OUT"
[ "$(json 'j[0]["id"]')" = "$ORG" ] || fail "the org id is the genesis entry id"
expect_rc 0 "show genesis" -- pl show "$ORG" --json
[ "$(json 'j["body"]["name"]')" = "Peer support Aarhus" ] || fail "genesis body name"
[ "$(json 'j["body"]["policy"]["session"]["read"]')" = "['supervisor']" ] ||
  fail "default policy: sessions are read by supervisors"
expect_rc 0 "verify" -- pl verify --every-signature

# Adding a member from their identity file, confirmed by fingerprint.
COORD="$V"
V="$T/guide"
init_vault
expect_rc 0 "guide id export" -- pl id export
printf '%s\n' "$OUT" > "$T/kim.json"
expect_rc 0 "guide id" -- pl id --json
GFP="$(json 'j["fingerprint"]')"
expect_rc 1 "member add outside an organisation" -- pl member add "$T/kim.json" --role guide \
  --expect-fingerprint "$GFP"
expect_in "belongs to no organisation" "$ERR" "member add needs an organisation"
V="$COORD"
expect_rc 2 "member add without a role" -- pl member add "$T/kim.json" --expect-fingerprint "$GFP"
expect_rc 2 "member add with an unknown role" -- pl member add "$T/kim.json" --role janitor \
  --expect-fingerprint "$GFP"
expect_in "janitor" "$ERR" "unknown role named"
expect_rc 2 "member add without a terminal or fingerprint" -- setsid "$PEERLOG" --vault "$V" \
  --passphrase-file "$PASS" member add "$T/kim.json" --role guide
expect_rc 4 "member add with the wrong fingerprint" -- pl member add "$T/kim.json" --role guide \
  --expect-fingerprint 0000000000000000000000000000000f
expect_in "nothing was changed" "$ERR" "wrong fingerprint changes nothing"
sed 's/"name":"[^"]*"/"name":"Mallory"/' "$T/kim.json" > "$T/forged.json"
expect_rc 4 "member add of a forged identity file" -- pl member add "$T/forged.json" \
  --role guide --expect-fingerprint "$GFP"
expect_in "signature does not verify" "$ERR" "forged file named"
printf 'not json' > "$T/junk.json"
expect_rc 1 "member add of a file that is not an identity" -- pl member add "$T/junk.json" \
  --role guide --expect-fingerprint "$GFP"
# (Adding coordinators, and what they may do, is tested in e2e_coordinators.sh.)
expect_rc 0 "member add" -- pl member add "$T/kim.json" --role guide --role supervisor \
  --expect-fingerprint "${GFP:0:4} ${GFP:4:28}" --json
[ "$(json 'j["roles"]')" = "guide,supervisor" ] || fail "roles: $OUT"
expect_rc 1 "member added twice" -- pl member add "$T/kim.json" --role guide \
  --expect-fingerprint "$GFP"
expect_in "a member already" "$ERR" "second add refused"
expect_rc 0 "org show lists the member" -- pl org show --json
[ "$(json '[(m["fingerprint"], m["roles"]) for m in j["members"]][1]')" = \
  "('$GFP', ['guide', 'supervisor'])" ] || fail "members: $OUT"
expect_rc 0 "log shows the grant" -- pl log --type key.grant --json
[ "$(json 'len(j)')" = 1 ] || fail "one key grant"
expect_rc 0 "verify after adding a member" -- pl verify --every-signature

# An entry whose body this vault holds no key for: header shown, body withheld, exit 5.
: "${PL_TOOL:?PL_TOOL must name the pl_tool binary}"
GRANT_ID="$(pl log --type key.grant --json | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["id"])')"
expect_rc 0 "the grant row as SQL" -- "$PL_TOOL" sql "$V" "$PASS" "SELECT 'INSERT INTO
  entries(feed, seq, id, type, subject, time_ms, date, ref0, header, sig, wraps, body) VALUES
  (' || quote(feed) || ', ' || seq || ', ' || quote(id) || ', ' || quote(type) || ', ' ||
  quote(subject) || ', ' || time_ms || ', ' || quote(date) || ', ' || quote(ref0) || ', ' ||
  quote(header) || ', ' || quote(sig) || ', ' || quote(wraps) || ', ' || quote(body) || ')'
  FROM entries WHERE type = 'key.grant'"
grant_sql="$OUT"
COORD2="$V"
V="$T/stranger"
init_vault
expect_rc 0 "plant the grant in another vault" -- "$PL_TOOL" sql "$V" "$PASS" "$grant_sql"
expect_rc 5 "show a body this vault has no key for" -- pl show "${GRANT_ID:0:12}"
expect_in "key.grant" "$OUT" "the header is shown"
expect_in "not readable by your roles" "$OUT" "the body is withheld"
expect_in "not readable by your roles" "$ERR" "the refusal is said"
expect_rc 5 "show --json of it" -- pl show "${GRANT_ID:0:12}" --json
[ "$(json 'j["readable"]')" = False ] || fail "json says not readable: $OUT"
[ "$(json 'j["type"]')" = key.grant ] || fail "json keeps the header: $OUT"
expect_rc 0 "log lists it" -- pl log --type key.grant --json
[ "$(json 'len(j)')" = 1 ] || fail "log shows the header"
V="$COORD2"

# Refusals: a second organisation; an organisation in a vault that has entries.
expect_rc 1 "org init twice" -- pl org init --name "Another"
expect_in "already belongs to an organisation" "$ERR" "second org message"
V="$T/used"
init_vault
new_subject
expect_rc 1 "org init in a used vault" -- pl org init --name "Late"
expect_in "starts in a new vault" "$ERR" "used vault message"
V="$T/bad-name"
init_vault
expect_rc 1 "org name not UTF-8" -- pl org init --name "$(printf 'bad\xff')"
expect_rc 1 "org name with a line break" -- pl org init --name "$(printf 'Org\nFingerprint: 0000')"
expect_rc 1 "org name with a right-to-left override" -- pl org init --name "$(printf 'Org\xe2\x80\xae')"
expect_rc 0 "a plain name with letters beyond ASCII is fine" -- pl org init --name "Støttecenter Aarhus"
V="$T/ctl"
expect_rc 1 "a person's name with an escape sequence" -- pl init --name "$(printf 'Kim\033[8m')" \
  "${KDF[@]}"
expect_in "control characters" "$ERR" "control characters named"
done_tests
