#!/usr/bin/env bash
# The command line contract: init, id, consent, session, note, log, show, amend, retract,
# verify, help and usage errors, passphrase sources, passwd and recover.
. "$(dirname "$0")/lib.sh"

# --- help and usage ---------------------------------------------------------------------
expect_rc 0 "help" -- "$PEERLOG" --help
expect_in "Exit codes" "$OUT" "help lists exit codes"
expect_in "4  integrity failure" "$OUT" "help lists code 4"
for c in init id passwd recover "consent grant" "consent withdraw" "session add" "note add" \
         amend retract log show verify; do
  # shellcheck disable=SC2086
  expect_rc 0 "$c --help" -- "$PEERLOG" $c --help
  expect_in "Usage: peerlog" "$OUT" "$c --help"
done
expect_rc 2 "no command" -- "$PEERLOG"
expect_rc 2 "unknown command" -- "$PEERLOG" frobnicate
expect_in "unknown command 'frobnicate'" "$ERR" "unknown command message"
expect_rc 2 "unknown option" -- pl log --colour
expect_in "unknown option '--colour'" "$ERR" "unknown option message"
expect_rc 2 "option without value" -- pl log --type
expect_in "--type needs a value" "$ERR" "missing value message"

# --- no vault yet -----------------------------------------------------------------------
expect_rc 1 "log without vault" -- pl log
expect_in "no vault at $V" "$ERR" "no vault message"
expect_in "peerlog init" "$ERR" "no vault says what to do"

# --- init -------------------------------------------------------------------------------
printf 'short\n' > "$T/short"
expect_rc 1 "short passphrase" -- "$PEERLOG" --vault "$V" --passphrase-file "$T/short" init \
  "${KDF[@]}"
expect_in "too short" "$ERR" "short passphrase message"
[ ! -e "$V/keyslots" ] || fail "a refused init left a vault"
expect_rc 2 "bad kdf" -- pl init --kdf-memory 2
mkdir -m 1777 "$T/shared" && touch "$T/shared/other-file"
expect_rc 1 "init into a folder holding other things" -- "$PEERLOG" --vault "$T/shared" \
  --passphrase-file "$PASS" init "${KDF[@]}"
expect_in "not an empty directory" "$ERR" "non-empty folder message"
[ "$(stat -c %a "$T/shared")" = 1777 ] || fail "a refused init changed the folder's mode"
mkdir -m 755 "$T/empty"
expect_rc 0 "init into an empty folder" -- "$PEERLOG" --vault "$T/empty" \
  --passphrase-file "$PASS" init "${KDF[@]}"
[ "$(stat -c %a "$T/empty")" = 700 ] || fail "the empty folder was not made private"
mv "$T/empty/vault.db" "$T/real.db" && ln -s "$T/real.db" "$T/empty/vault.db"
expect_rc 4 "vault.db as a symlink" -- "$PEERLOG" --vault "$T/empty" --passphrase-file "$PASS" log
expect_in "not a regular file" "$ERR" "symlink message"
init_vault
expect_in "weaker than the default" "$ERR" "weak kdf warning"
FP="$(json 'j["fingerprint"]')"
RC="$(json 'j["recovery_code"]')"
[[ "$FP" =~ ^[0-9a-f]{32}$ ]] || fail "fingerprint format: $FP"
[[ "$RC" =~ ^([0-9A-HJKMNP-TV-Z]{4}-){5}[0-9A-HJKMNP-TV-Z]{4}$ ]] || fail "recovery code: $RC"
[ "$(stat -c %a "$V")" = 700 ] || fail "vault dir mode $(stat -c %a "$V")"
[ "$(stat -c %a "$V/keyslots")" = 600 ] || fail "keyslots mode"
[ "$(stat -c %a "$V/vault.db")" = 600 ] || fail "vault.db mode"
expect_rc 1 "init twice" -- pl init "${KDF[@]}"
expect_in "already holds a vault" "$ERR" "init twice message"

expect_rc 0 "id --json" -- pl id --json
[ "$(json 'j["fingerprint"]')" = "$FP" ] || fail "id fingerprint differs from init's"
expect_rc 0 "id export" -- pl id export
[ "$(json 'j["type"]')" = "peerlog.identity" ] || fail "id export type"
[ "$(json 'j["fingerprint"]')" = "$FP" ] || fail "id export fingerprint"

# --- passphrase sources -----------------------------------------------------------------
expect_rc 0 "PEERLOG_PASSPHRASE_FILE" -- env PEERLOG_PASSPHRASE_FILE="$PASS" "$PEERLOG" \
  --vault "$V" id --json
expect_rc 0 "PEERLOG_PASSPHRASE_FD" -- env PEERLOG_PASSPHRASE_FD=7 PEERLOG_VAULT="$V" \
  bash -c 'exec "$0" id --json 7<"$1"' "$PEERLOG" "$PASS"
expect_rc 1 "no passphrase source" -- env PEERLOG_VAULT="$V" setsid "$PEERLOG" id </dev/null
expect_in "passphrase-file" "$ERR" "no passphrase message says what to do"

# --- wrong passphrase: exit 3, nothing changed ------------------------------------------
before="$(sha256sum "$V"/* | sha256sum)"
printf 'not the passphrase\n' > "$T/wrong"
expect_rc 3 "wrong passphrase" -- "$PEERLOG" --vault "$V" --passphrase-file "$T/wrong" log
expect_in "wrong passphrase" "$ERR" "wrong passphrase message"
[ "$(sha256sum "$V"/* | sha256sum)" = "$before" ] || fail "wrong passphrase changed the vault"

# --- consent and sessions ---------------------------------------------------------------
expect_rc 1 "session for unknown citizen" -- pl session add --subject B-0000-0000 \
  --minutes 60 --kind one-to-one
expect_in "no consent recorded" "$ERR" "unknown citizen message"
expect_rc 2 "bad scope" -- pl consent grant --subject new --scopes peer-support,gossip
expect_in "gossip" "$ERR" "bad scope named"
expect_rc 2 "bad date" -- pl consent grant --subject new --scopes peer-support \
  --valid-from 2026-02-30
new_subject 2026-11-01
[[ "$SUBJECT" =~ ^B-[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{4}$ ]] || fail "pseudonym $SUBJECT"
GRANT="$(json 'j["entry"]')"
expect_rc 0 "consent peer-support only" -- pl consent grant --subject new --scopes peer-support \
  --valid-from 2026-11-01 --json
PARTIAL="$(json 'j["subject"]')"
expect_rc 1 "session without record-keeping" -- pl session add --subject "$PARTIAL" \
  --minutes 30 --kind one-to-one --date 2026-11-02
expect_in "record-keeping" "$ERR" "missing scope named"
expect_rc 1 "session before consent" -- pl session add --subject "$SUBJECT" --minutes 60 \
  --kind one-to-one --date 2026-10-31
expect_in "starts on 2026-11-01" "$ERR" "consent start named"
expect_rc 2 "bad minutes" -- pl session add --subject "$SUBJECT" --minutes 0 --kind ward
expect_rc 2 "bad kind" -- pl session add --subject "$SUBJECT" --minutes 5 --kind party
expect_rc 2 "bad subject" -- pl session add --subject Bob --minutes 5 --kind ward
expect_rc 0 "session" -- bash -c 'echo "We walked to the library." | "$0" --vault "$1" \
  --passphrase-file "$2" session add --subject "$3" --minutes 60 --kind one-to-one \
  --date 2026-11-02 --themes housing,sleep --place "the park" --note-file - --json' \
  "$PEERLOG" "$V" "$PASS" "${SUBJECT,,}"
SESSION="$(json 'j["entry"]')"
expect_rc 0 "second session" -- pl session add --subject "$SUBJECT" --minutes 90 \
  --kind accompaniment --date 2026-11-09 --json
printf 'A private thought.\n' > "$T/note.txt"
expect_rc 0 "note" -- pl note add --note-file "$T/note.txt" --json
NOTE="$(json 'j["entry"]')"
expect_rc 2 "note without text" -- pl note add
printf 'a\0b' > "$T/nul"
expect_rc 1 "note with a NUL byte" -- pl note add --note-file "$T/nul"
expect_in "NUL byte" "$ERR" "NUL byte named"
printf '\xff\xfe not utf-8' > "$T/latin"
expect_rc 1 "note that is not UTF-8" -- pl note add --note-file "$T/latin"
expect_in "not UTF-8" "$ERR" "encoding named"
head -c 100001 /dev/zero | tr '\0' 'x' > "$T/big"
expect_rc 1 "note over the limit" -- pl note add --note-file "$T/big"
expect_in "longer than 100000 bytes" "$ERR" "limit named"
printf '' > "$T/empty"
expect_rc 1 "empty note" -- pl note add --note-file "$T/empty"

# --- log --------------------------------------------------------------------------------
expect_rc 0 "log --json" -- pl log --json
[ "$(json 'len(j)')" = 5 ] || fail "log has $(json 'len(j)') entries, wanted 5"
[ "$(json '{"feed","id","seq","subject","time","type"} <= set(j[0].keys())')" = True ] ||
  fail "log entry fields: $(json 'sorted(j[0].keys())')"
[ "$(json '[e["seq"] for e in j]')" = "[1, 2, 3, 4, 5]" ] || fail "log order"
[ "$(json 'j[4]["subject"]')" = None ] || fail "a note has no subject"
expect_rc 0 "log --type session" -- pl log --type session --json
[ "$(json 'len(j)')" = 2 ] || fail "session filter"
expect_rc 0 "log --subject" -- pl log --subject "$SUBJECT" --json
[ "$(json 'len(j)')" = 3 ] || fail "subject filter"
expect_rc 0 "log --since" -- pl log --since 2026-11-05 --type session --json
[ "$(json 'len(j)')" = 1 ] || fail "since filter"
expect_rc 0 "log text" -- pl log
expect_in "$SUBJECT" "$OUT" "log text shows the subject"
expect_not_in "library" "$OUT" "log shows no body text"

# --- show, amend, retract ---------------------------------------------------------------
expect_rc 0 "show by prefix" -- pl show "${SESSION:0:8}" --json
[ "$(json 'j["body"]["note"]')" = "We walked to the library." ] || fail "show body"
[ "$(json 'j["body"]["themes"]')" = "['housing', 'sleep']" ] || fail "show themes"
expect_rc 1 "show unknown" -- pl show ffffffff
expect_rc 1 "show short prefix" -- pl show abc
expect_rc 0 "amend" -- pl amend "${SESSION:0:10}" --minutes 75 --json
AMEND="$(json 'j["entry"]')"
expect_rc 0 "show latest" -- pl show "${SESSION:0:10}" --json
[ "$(json 'j["body"]["minutes"]')" = 75 ] || fail "show presents the amended minutes"
[ "$(json 'j["body"]["note"]')" = "We walked to the library." ] || fail "amend kept the note"
expect_rc 1 "amend to a date without consent" -- pl amend "${SESSION:0:10}" --date 2026-01-01
expect_in "consent" "$ERR" "amend consent message"
expect_rc 2 "amend nothing" -- pl amend "${SESSION:0:10}"
expect_rc 2 "retract without reason" -- pl retract "${SESSION:0:10}"
expect_rc 0 "retract" -- pl retract "${SESSION:0:10}" --reason "wrong citizen"
expect_rc 0 "history" -- pl show "${SESSION:0:10}" --history --json
[ "$(json '[v["type"] for v in j["versions"]]')" = "['session', 'amend', 'retract']" ] ||
  fail "history versions: $OUT"
[ "$(json 'j["versions"][0]["body"]["minutes"]')" = 60 ] || fail "history keeps the original"
[ "$(json 'j["versions"][2]["body"]["reason"]')" = "wrong citizen" ] || fail "retract reason"
expect_rc 1 "amend retracted" -- pl amend "${SESSION:0:10}" --minutes 10
expect_rc 0 "show retracted" -- pl show "${SESSION:0:10}"
expect_in "RETRACTED" "$OUT" "show marks retraction"
expect_rc 0 "log marks" -- pl log --type session
expect_in "[retracted]" "$OUT" "log marks retraction"

# --- withdraw ---------------------------------------------------------------------------
expect_rc 0 "withdraw" -- pl consent withdraw --subject "$SUBJECT" --scopes record-keeping \
  --date 2026-11-10
expect_rc 1 "session after withdrawal" -- pl session add --subject "$SUBJECT" --minutes 30 \
  --kind one-to-one --date 2026-11-11
expect_in "withdrew" "$ERR" "withdrawal named"
# Once record-keeping is withdrawn no new record is made, even of an earlier meeting.
expect_rc 1 "late record after withdrawal" -- pl session add --subject "$SUBJECT" --minutes 30 \
  --kind one-to-one --date 2026-11-09

# --- verify -----------------------------------------------------------------------------
expect_rc 0 "verify" -- pl verify --json
[ "$(json 'j["ok"]')" = True ] || fail "verify ok"
[ "$(json 'j["entries"]')" = 8 ] || fail "verify counted $(json 'j["entries"]') entries"
expect_rc 0 "verify every signature" -- pl verify --every-signature --json
[ "$(json 'j["signatures_checked"]')" = 8 ] || fail "every signature checked"

# --- passwd and recover -----------------------------------------------------------------
printf 'a brand new passphrase\n' > "$T/new"
expect_rc 3 "passwd with wrong old" -- "$PEERLOG" --vault "$V" --passphrase-file "$T/wrong" \
  passwd --new-passphrase-file "$T/new"
expect_rc 1 "passwd to short" -- pl passwd --new-passphrase-file "$T/short"
expect_rc 0 "passwd" -- pl passwd --new-passphrase-file "$T/new"
expect_rc 3 "old passphrase after passwd" -- pl log
expect_rc 0 "new passphrase after passwd" -- "$PEERLOG" --vault "$V" --passphrase-file \
  "$T/new" verify
printf '%s\n' "${RC,,}" | tr -d '-' | sed 's/0/O/g' > "$T/code"   # as a person might type it
printf 'XXXX-XXXX-XXXX-XXXX-XXXX-XXXX\n' > "$T/badcode"
expect_rc 3 "recover with a wrong code" -- "$PEERLOG" --vault "$V" recover \
  --recovery-code-file "$T/badcode" --new-passphrase-file "$PASS"
expect_rc 2 "recover never takes the new passphrase from the old source" -- env \
  PEERLOG_PASSPHRASE_FILE="$T/new" setsid "$PEERLOG" --vault "$V" recover \
  --recovery-code-file "$T/code"
expect_in "--new-passphrase-file" "$ERR" "recover says how to give the new passphrase"
expect_rc 0 "recover" -- "$PEERLOG" --vault "$V" recover --recovery-code-file "$T/code" \
  --new-passphrase-file "$PASS" --json
RC2="$(json 'j["recovery_code"]')"
[ "$RC2" != "$RC" ] || fail "recover must issue a new code"
expect_rc 3 "a used recovery code" -- "$PEERLOG" --vault "$V" recover \
  --recovery-code-file "$T/code" --new-passphrase-file "$T/new"
expect_rc 0 "verify after recover" -- pl verify
done_tests
