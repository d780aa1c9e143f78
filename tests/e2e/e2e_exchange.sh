#!/usr/bin/env bash
# Issue 3, exchange: five vaults (coordinator, guides A and B, supervisor, auditor) that meet
# only through a shared folder; who reads what; export/import; and bad bundles, each refused
# with exit 4 (1 for a plain I/O error) and the vault left byte for byte as it was.
. "$(dirname "$0")/lib.sh"
S="$T/shared"
mkdir "$S"

# Byte-level identity of a closed vault (vault.db and keyslots; no -wal/-shm left behind).
vault_sum() { (cd "$T/$1" && ls -A | sort && sha256sum vault.db keyslots) ; }

for who in coord guideA guideB sup aud; do
  as "$who"
  expect_rc 0 "init $who" -- pl init --name "$who" "${KDF[@]}" --json
done
as coord
expect_rc 0 "org init" -- pl org init --name "Peer support Aarhus" --json
ORGFP="$(json 'j["fingerprint"]')"
for pair in guideA:guide guideB:guide sup:supervisor aud:auditor; do
  who="${pair%%:*}" role="${pair#*:}"
  as "$who"; pl id export > "$T/$who.json"
  fp="$(fp_of "$who")"
  as coord
  expect_rc 0 "member add $who" -- pl member add "$T/$who.json" --role "$role" \
    --expect-fingerprint "$fp"
done

# Before the coordinator syncs there is nothing to join with.
as guideA
expect_rc 1 "join before the coordinator synced" -- pl join "$S" --expect-org "$ORGFP"
expect_in "no invitation for you" "$ERR" "join explains the missing invitation"

as coord
expect_rc 0 "coordinator sync" -- pl sync "$S" --json
[ "$(json 'j["invites_written"]')" = 4 ] || fail "four invitations: $OUT"
[ "$(json 'j["entries_exported"]')" -ge 13 ] || fail "the coordinator's entries: $OUT"
ls "$S/invites" | grep -q "^$(fp_of guideA).invite$" || fail "invitation named by fingerprint"

# The fingerprint check: a wrong fingerprint is refused, and the vault stays outside.
as guideA
wrong="$(printf '%s' "$ORGFP" | tr '0-9a-f' '1-9a-f0')"
expect_rc 4 "join with the wrong fingerprint" -- pl join "$S" --expect-org "$wrong"
expect_in "do not join" "$ERR" "mismatch tells the member not to join"
expect_rc 1 "still no organisation" -- pl org show
expect_rc 2 "join without --expect-org" -- pl join "$S"
expect_rc 1 "join with a malformed fingerprint" -- pl join "$S" --expect-org "12 34"

for who in guideA guideB sup aud; do
  as "$who"
  # Spaces as org show prints them are fine.
  expect_rc 0 "join $who" -- pl join "$S" --expect-org "${ORGFP:0:4} ${ORGFP:4:4} ${ORGFP:8}"
  expect_in "fingerprint checked" "$OUT" "$who: join confirms the check"
  expect_rc 0 "$who org show" -- pl org show --json
  [ "$(json 'j["fingerprint"]')" = "$ORGFP" ] || fail "$who sees the organisation"
done
as guideA
expect_rc 1 "join twice" -- pl join "$S" --expect-org "$ORGFP"
expect_in "already" "$ERR" "a second join says the vault is a member already"

# Guide A writes consent and a session; everyone syncs.
as guideA
expect_rc 0 "A consent" -- pl consent grant --subject new \
  --scopes peer-support,record-keeping,supervision-sharing --valid-from 2026-01-01 \
  --name "Ann Citizen MARKER-NAME" --contact "555-0101" --json
SUBJ="$(json 'j["subject"]')"
CONSENT="$(json 'j["entry"]')"
printf 'We walked by the river. MARKER-NOTE-A\n' > "$T/note"
expect_rc 0 "A session" -- pl session add --subject "$SUBJ" --date 2026-02-02 --minutes 50 \
  --kind one-to-one --note-file "$T/note" --json
SESSION="$(json 'j["entry"]')"
for who in guideA coord guideB sup aud; do
  as "$who"; expect_rc 0 "sync $who" -- pl sync "$S"
done
# Nothing readable leaks into the folder: the bundles are encrypted.
if grep -rqa -e MARKER-NOTE-A -e MARKER-NAME -e "Peer support Aarhus" "$S"; then
  fail "plain text in the shared folder"
fi

as sup
expect_rc 0 "supervisor reads A's session" -- pl show "$SESSION" --json
expect_in "MARKER-NOTE-A" "$OUT" "session note for the supervisor"
expect_rc 5 "supervisor cannot read the consent body" -- pl show "$CONSENT"
# Nobody writes what the others would refuse: a supervisor records no consent.
expect_rc 5 "a supervisor's consent grant is refused" -- pl consent grant --subject new \
  --scopes peer-support,record-keeping --valid-from 2026-01-01 --name X --contact Y
expect_in "do not allow writing 'consent.grant'" "$ERR" "the refusal names the role rule"
as guideB
expect_rc 5 "guide B cannot read A's session" -- pl show "$SESSION"
expect_in "not readable by your roles" "$OUT$ERR" "B is told why"
expect_not_in "MARKER-NOTE-A" "$OUT$ERR" "B sees no note text"
expect_rc 5 "guide B cannot read A's consent" -- pl show "$CONSENT"
as aud
expect_rc 0 "auditor reads the consent" -- pl show "$CONSENT" --json
expect_in "MARKER-NAME" "$OUT" "consent body for the auditor"
expect_rc 5 "auditor cannot read the session" -- pl show "$SESSION"
expect_rc 0 "auditor log shows the session header" -- pl log --type session --json
[ "$(json 'len(j)')" = 1 ] || fail "auditor sees the session header: $OUT"
for who in coord guideA guideB sup aud; do
  as "$who"
  expect_rc 0 "verify $who" -- pl verify --every-signature --json
  [ "$(json 'j["feeds"]')" = 2 ] || fail "$who holds both feeds: $OUT"
done

# A second sync changes nothing and writes nothing.
as sup
before="$(find "$S" -type f | sort)"
expect_rc 0 "sync again" -- pl sync "$S" --json
[ "$(json 'j["entries_added"]')" = 0 ] && [ "$(json 'j["bundles_written"]')" = 0 ] ||
  fail "a second sync is a no-op: $OUT"
[ "$before" = "$(find "$S" -type f | sort)" ] || fail "a second sync wrote files"

# export / import by hand.
as guideA
expect_rc 0 "A writes another session" -- pl session add --subject "$SUBJ" --date 2026-02-09 \
  --minutes 40 --kind one-to-one --note-file "$T/note" --json
expect_rc 2 "export without -o" -- pl export
expect_rc 0 "export --help" -- pl export --help
expect_in "-o FILE" "$OUT" "help shows -o"
expect_rc 0 "export A's feed" -- pl export -o "$T/a.bundle" --json
[ "$(json 'j["first"], j["last"], j["count"]')" = "1 3 3" ] || fail "export range: $OUT"
expect_rc 0 "export --since" -- pl export --since 3 -o "$T/a3.bundle" --json
[ "$(json 'j["count"]')" = 1 ] || fail "export --since 3: $OUT"
expect_rc 1 "export past the head" -- pl export --since 9 -o "$T/none.bundle"
[ -e "$T/none.bundle" ] && fail "a failed export left a file"
as sup
expect_rc 0 "import" -- pl import "$T/a.bundle" --json
[ "$(json 'j["added"], j["known"]')" = "1 2" ] || fail "import adds only what is new: $OUT"
expect_rc 0 "import again (replay)" -- pl import "$T/a.bundle" --json
[ "$(json 'j["added"]')" = 0 ] || fail "a replay adds nothing: $OUT"
expect_in "Nothing new" "$(pl import "$T/a.bundle" 2>&1)" "replay says nothing is new"
expect_rc 0 "export another member's feed by fingerprint" -- \
  pl export --feed "$(fp_of guideA)" -o "$T/a-by-sup.bundle" --json
[ "$(json 'j["count"]')" = 3 ] || fail "a member relays another's feed: $OUT"

# Bad bundles: each refused with exit 4, the vault unchanged byte for byte.
as guideB
cp "$T/a.bundle" "$T/good.bundle"
refused() { # NAME FILE MESSAGE-PART
  local sum; as guideB; sum="$(vault_sum guideB)"
  expect_rc 4 "$1 refused" -- pl import "$2"
  expect_in "$3" "$ERR" "$1: message"
  [ "$(printf '%s' "$ERR" | wc -l)" -le 1 ] || fail "$1: one line, got: $ERR"
  [ "$sum" = "$(vault_sum guideB)" ] || fail "$1: the vault changed"
}
size=$(stat -c %s "$T/good.bundle")
head -c $((size - 1)) "$T/good.bundle" > "$T/trunc.bundle"
refused truncated "$T/trunc.bundle" "damaged, truncated or altered"
head -c 100 "$T/good.bundle" > "$T/short.bundle"
refused "cut in the preamble" "$T/short.bundle" "not a peerlog bundle"
python3 - "$T/good.bundle" "$T/flip.bundle" <<'EOF'
import sys
b = bytearray(open(sys.argv[1], 'rb').read()); b[len(b) // 2] ^= 0x10
open(sys.argv[2], 'wb').write(b)
EOF
refused "bit flipped" "$T/flip.bundle" "damaged, truncated or altered"
python3 - "$T/good.bundle" "$T/reorder.bundle" <<'EOF'
import struct, sys
b = open(sys.argv[1], 'rb').read()
pre, rest, msgs = b[:104], b[104:], []
while rest:
    n = struct.unpack('<I', rest[:4])[0]; msgs.append(rest[:4 + n]); rest = rest[4 + n:]
msgs[0], msgs[1] = msgs[1], msgs[0]
open(sys.argv[2], 'wb').write(pre + b''.join(msgs))
EOF
refused reordered "$T/reorder.bundle" "damaged, truncated or altered"
truncate -s $((256 * 1024 * 1024 + 1)) "$T/huge.bundle"
refused oversized "$T/huge.bundle" "larger than"
printf 'not a bundle at all\n' > "$T/text.bundle"
refused "not a bundle" "$T/text.bundle" "not a peerlog bundle"
expect_rc 1 "missing file" -- pl import "$T/no-such.bundle"
# Another organisation's bundle.
as other
expect_rc 0 "other init" -- pl init --name other "${KDF[@]}"
expect_rc 0 "other org" -- pl org init --name "Another programme"
expect_rc 0 "other export" -- pl export -o "$T/other.bundle"
refused "another organisation" "$T/other.bundle" "another organisation"
# Outside an organisation there is nothing to import into.
as fresh
expect_rc 0 "fresh init" -- pl init --name fresh "${KDF[@]}"
expect_rc 1 "import into a vault outside the organisation" -- pl import "$T/good.bundle"
expect_in "join one first" "$ERR" "import explains joining"
# A gap: A's entry 4 before B has entry 3.
as guideA
printf 'private MARKER-PRIVATE\n' > "$T/private"
expect_rc 0 "A's fourth entry" -- pl note add --note-file "$T/private" --json
expect_rc 0 "export entry 4" -- pl export --since 4 -o "$T/a4.bundle"
refused gap "$T/a4.bundle" "missing entry 3"
as guideB
expect_rc 0 "import entry 3" -- pl import "$T/a3.bundle"
expect_rc 0 "then entry 4" -- pl import "$T/a4.bundle"
expect_rc 5 "B cannot read A's private note" -- pl show "$(pl log --type note --json | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["id"])')"

# Sync refuses a bad file in the folder, says which, and imports the rest.
as guideA
expect_rc 0 "A syncs the new session" -- pl sync "$S"
AFEED="$S/feeds/$(pl id --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["feed"])')"
cp "$T/flip.bundle" "$AFEED/90-91-deadbeef.bundle"
as guideB
expect_rc 4 "sync with a damaged file in the folder" -- pl sync "$S"
expect_in "90-91-deadbeef.bundle refused" "$ERR" "the bad file is named"
expect_in "Received 0 new entries" "$OUT" "B had every good entry already"
rm "$AFEED/90-91-deadbeef.bundle"
expect_rc 0 "sync after the bad file is gone" -- pl sync "$S"
expect_rc 0 "B verifies after sync" -- pl verify --every-signature

# Backup and restore: a restored vault must not fork its own feed.
as guideA
expect_rc 0 "A syncs" -- pl sync "$S"
expect_rc 2 "backup without -o" -- pl backup
expect_rc 0 "A backs up" -- pl backup -o "$T/a.backup" --json
if grep -qa -e MARKER-NOTE-A -e MARKER-NAME "$T/a.backup"; then fail "plain text in the backup"; fi
expect_rc 0 "A writes after the backup" -- pl session add --subject "$SUBJ" --date 2026-02-16 \
  --minutes 45 --kind one-to-one --note-file "$T/note" --json
AFTER_BACKUP="$(json 'j["entry"]')"
expect_rc 0 "and syncs it" -- pl sync "$S"
A_DIR="$V"
V="$T/guideA-restored"
expect_rc 0 "restore" -- pl restore "$T/a.backup"
expect_rc 1 "restore into a vault that exists" -- pl restore "$T/a.backup"
expect_in "already holds a vault" "$ERR" "restore never overwrites"
expect_rc 0 "the restored vault verifies" -- pl verify --every-signature
expect_rc 1 "the restored vault does not hold the later entry" -- pl show "$AFTER_BACKUP"
expect_rc 1 "a restored vault refuses to write before sync" -- pl session add \
  --subject "$SUBJ" --date 2026-02-17 --minutes 20 --kind one-to-one --note-file "$T/note"
expect_in "restored from a backup" "$ERR" "the refusal says why"
expect_in "sync" "$ERR" "and what to do"
mkdir "$T/empty-folder"
expect_rc 0 "a sync with an empty folder" -- pl sync "$T/empty-folder"
expect_in "writes nothing yet" "$OUT" "an empty folder does not end the wait"
expect_rc 1 "still refused after syncing an empty folder" -- pl note add --note-file "$T/note"
expect_rc 0 "sync brings the later entry back" -- pl sync "$S"
expect_in "caught up" "$OUT" "sync says the vault may write again"
expect_rc 0 "the later entry is back" -- pl show "$AFTER_BACKUP"
expect_rc 0 "now it writes" -- pl session add --subject "$SUBJ" --date 2026-02-17 --minutes 20 \
  --kind one-to-one --note-file "$T/note" --json
expect_rc 0 "and syncs" -- pl sync "$S"
as sup
expect_rc 0 "the supervisor takes it without a fork" -- pl sync "$S"
expect_rc 0 "and verifies" -- pl verify --every-signature
printf 'PLBK\001\000\000\000garbage' > "$T/bad.backup"
V="$T/from-bad"
expect_rc 4 "a damaged backup is refused" -- pl restore "$T/bad.backup"
[ -e "$T/from-bad/vault.db" ] && fail "a refused restore left a vault.db"
head -c 5000 "$T/a.backup" > "$T/short.backup"
expect_rc 4 "a cut backup is refused" -- pl restore "$T/short.backup"
# From here on guide A's vault is the restored one.
rm -rf "$A_DIR"; mv "$T/guideA-restored" "$A_DIR"

# Removal: guide B leaves. B's entries up to the cut keep counting; the member key and the
# guide key rotate; what is written after is unreadable to B, and B's later entries are
# refused on import.
for who in guideA guideB coord sup aud; do as "$who"; pl sync "$S" > /dev/null 2>&1; done
as guideB
expect_rc 0 "B records consent before the removal" -- pl consent grant --subject new \
  --scopes peer-support,record-keeping --valid-from 2026-01-05 --name "Cy MARKER-B" \
  --contact 555-0102 --json
B_BEFORE="$(json 'j["entry"]')"
expect_rc 0 "B syncs it" -- pl sync "$S"
BFP="$(fp_of guideB)"
as coord
expect_rc 0 "coordinator takes B's entries" -- pl sync "$S"
expect_rc 2 "remove without a reason" -- pl member remove "$BFP"
as guideA
expect_rc 5 "a guide cannot remove members" -- pl member remove "$BFP" --reason x
as coord
expect_rc 0 "remove B" -- pl member remove "$BFP" --reason "left the programme"
expect_in "take away their access" "$OUT" "removal reminds of the folder"
expect_rc 1 "remove B again" -- pl member remove "$BFP" --reason again
expect_in "removed already" "$ERR" "a second removal changes nothing"
expect_rc 0 "org show after removal" -- pl org show --json
[ "$(json '[m["removed"] for m in j["members"] if m["fingerprint"] == "'"$BFP"'"][0]')" = True ] ||
  fail "B is shown removed: $OUT"
[ "$(json 'max(k["epoch"] for k in j["keys"] if k["role"] == "guide")')" = 2 ] ||
  fail "the guide key rotated: $OUT"
[ "$(json 'max(k["epoch"] for k in j["keys"] if k["role"] == "supervisor")')" = 1 ] ||
  fail "the supervisor key did not rotate (B held no supervisor role): $OUT"
expect_rc 0 "coordinator syncs the removal" -- pl sync "$S"
# B, offline, writes once more before learning of the removal.
as guideB
expect_rc 0 "B writes after the cut, unaware" -- pl consent grant --subject new \
  --scopes peer-support,record-keeping --valid-from 2026-01-06 --name "Di MARKER-LATE-B" \
  --contact 555-0103 --json
B_AFTER="$(json 'j["entry"]')"
expect_rc 0 "B's sync brings the removal in and B's entry out" -- pl sync "$S"
expect_rc 5 "B now refuses to write" -- pl consent grant --subject new \
  --scopes peer-support,record-keeping --valid-from 2026-01-07 --name Ed --contact 1
expect_in "removed from the organisation" "$ERR" "B is told"
for who in coord guideA sup aud; do
  as "$who"
  expect_rc 0 "$who syncs after the removal" -- pl sync "$S" --json
  expect_in "by removed member $BFP" "$ERR" "$who: B's late entry is named as refused"
  expect_rc 1 "$who does not hold B's late entry" -- pl show "$B_AFTER"
  expect_rc 0 "$who still verifies" -- pl verify --every-signature
done
as aud
expect_rc 0 "B's entry before the cut still counts" -- pl show "$B_BEFORE" --json
expect_in "MARKER-B" "$OUT" "the auditor reads B's earlier consent"
expect_rc 4 "importing B's late bundle by hand" -- pl import "$(ls "$S/feeds/$(as guideB; pl id --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["feed"])')"/*.bundle | sort -t- -k1,1n | tail -1)"
expect_in "written after the removal" "$ERR" "import names the removal"

# A member added after the coordinator has written records and synced them: the earlier
# bundle needs the policy, which the invitation's member key opens before the grant arrives.
as coord
expect_rc 0 "coordinator records a consent" -- pl consent grant --subject new \
  --scopes peer-support,record-keeping --valid-from 2026-03-01 --name "Bo MARKER-LATE" \
  --contact 555-0199 --json
LATE_CONSENT="$(json 'j["entry"]')"
LATE_SUBJ="$(json 'j["subject"]')"
expect_rc 0 "coordinator syncs it" -- pl sync "$S"
as late
expect_rc 0 "late init" -- pl init --name late "${KDF[@]}"
pl id export > "$T/late.json"
LFP="$(fp_of late)"
as coord
expect_rc 0 "member add late" -- pl member add "$T/late.json" --role auditor \
  --expect-fingerprint "$LFP"
expect_rc 0 "coordinator syncs the new member" -- pl sync "$S"
as late
expect_rc 0 "the late member joins" -- pl join "$S" --expect-org "$ORGFP"
expect_rc 0 "and reads the earlier consent" -- pl show "$LATE_CONSENT" --json
expect_in "MARKER-LATE" "$OUT" "late auditor reads the consent"
expect_rc 0 "late member verifies" -- pl verify --every-signature
# The member.add of the late member is wrapped to the member key of epoch 2: not for B.
LATE_ADD="$(pl log --type member.add --json | python3 -c 'import json,sys; print(json.load(sys.stdin)[-1]["id"])')"
expect_rc 0 "the late member reads its own member.add" -- pl show "$LATE_ADD"
as guideB
expect_rc 0 "B syncs once more" -- pl sync "$S"
expect_rc 5 "B cannot read a body written after the rotation" -- pl show "$LATE_ADD"

# The records that need roles: agreements, match, supervision, course close.
AFP="$(fp_of guideA)"
as coord
expect_rc 2 "volunteer agreement without a guide" -- pl agreement volunteer
expect_rc 0 "coordinator: volunteer agreement with A" -- pl agreement volunteer --guide "$AFP" \
  --date 2026-01-02 --json
AGR="$(json 'j["entry"]')"
expect_rc 1 "a volunteer agreement with a removed member" -- pl agreement volunteer \
  --guide "$BFP"
expect_rc 0 "coordinator: match" -- pl match add --subject "$SUBJ" --guide "$AFP" \
  --date 2026-01-20 --json
expect_rc 0 "coordinator syncs" -- pl sync "$S"
as guideA
expect_rc 0 "A syncs" -- pl sync "$S"
expect_rc 0 "A reads the agreement made with A" -- pl show "$AGR"
expect_rc 0 "A countersigns" -- pl agreement sign "${AGR:0:12}" --date 2026-01-03
expect_rc 1 "A countersigns twice" -- pl agreement sign "${AGR:0:12}"
expect_in "already" "$ERR" "a second signature is refused"
SIGN="$(pl log --type agreement.sign --json | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["id"])')"
expect_rc 1 "a countersignature cannot be retracted" -- pl retract "$SIGN" --reason oops
expect_in "cannot be amended or retracted" "$ERR" "the refusal says why"
expect_rc 1 "a course over 4 months" -- pl agreement collaboration --subject "$SUBJ" \
  --start 2026-02-01 --planned-end 2026-06-02
expect_in "at most 4 months" "$ERR" "the course cap is explained"
expect_rc 0 "collaboration agreement" -- pl agreement collaboration --subject "$SUBJ" \
  --start 2026-02-01 --planned-end 2026-06-01
expect_rc 5 "a guide cannot record a supervision" -- pl supervision add --guides "$AFP" \
  --minutes 30
expect_rc 0 "A closes the course" -- pl course close --subject "$SUBJ" --outcome completed \
  --date 2026-05-30
expect_rc 2 "an unknown outcome" -- pl course close --subject "$SUBJ"
expect_rc 1 "an unknown outcome word" -- pl course close --subject "$SUBJ" --outcome vanished
expect_rc 0 "A syncs" -- pl sync "$S"
as late
expect_rc 0 "the late member syncs" -- pl sync "$S"
expect_rc 5 "only the guide named countersigns" -- pl agreement sign "$AGR"
expect_in "not made with you" "$ERR" "the refusal says why"
as sup
expect_rc 0 "supervisor syncs" -- pl sync "$S"
printf 'Talked through the river walk. MARKER-SUPERVISION\n' > "$T/sup-note"
expect_rc 0 "supervision naming A's citizen" -- pl supervision add --guides "$AFP" \
  --subjects "$SUBJ" --minutes 60 --date 2026-02-20 --note-file "$T/sup-note" --json
SUPV="$(json 'j["entry"]')"
expect_rc 1 "supervision naming a citizen without supervision-sharing" -- pl supervision add \
  --guides "$AFP" --subjects "$LATE_SUBJ" --minutes 30 --date 2026-03-02
expect_in "supervision-sharing" "$ERR" "the missing scope is named"
expect_rc 0 "supervisor syncs the supervision" -- pl sync "$S"
for who in coord guideA aud late; do as "$who"; pl sync "$S" > /dev/null 2>&1; done
as aud
expect_rc 0 "auditor reads the volunteer agreement" -- pl show "$AGR"
expect_rc 5 "auditor cannot read the supervision" -- pl show "$SUPV"
expect_rc 0 "the auditor verifies everything" -- pl verify --every-signature
as guideA
expect_rc 5 "a guide cannot read the supervision" -- pl show "$SUPV"
expect_rc 0 "A verifies" -- pl verify --every-signature
as sup
expect_rc 0 "the supervisor reads it" -- pl show "$SUPV" --json
expect_in "MARKER-SUPERVISION" "$OUT" "supervision note"

# A body another member wrote cannot drive the supervisor's terminal.
as guideA
printf 'clear\033[2J\033]0;pwned\007 and \342\200\256reversed\nline two\n' > "$T/evil-note"
expect_rc 0 "A writes a note with terminal controls" -- pl session add --subject "$SUBJ" \
  --date 2026-03-01 --minutes 10 --kind one-to-one --note-file "$T/evil-note" --json
EVIL="$(json 'j["entry"]')"
expect_rc 0 "A syncs it" -- pl sync "$S"
as sup
expect_rc 0 "supervisor syncs" -- pl sync "$S"
"$PEERLOG" --vault "$V" --passphrase-file "$PASS" show "$EVIL" > "$T/shown" 2>&1
CHECKS=$((CHECKS + 1))
if grep -q "$(printf '\033')" "$T/shown" || grep -q "$(printf '\342\200\256')" "$T/shown"; then
  fail "control characters reached the terminal: $(od -c "$T/shown" | head -5)"
fi
expect_in "line two" "$(cat "$T/shown")" "the rest of the note is shown"
expect_in "$(printf '\357\277\275')" "$(cat "$T/shown")" "controls are shown as U+FFFD"

done_tests
