#!/usr/bin/env bash
# After a full workflow, a note's unique marker, the citizen's name and the passphrase are
# found nowhere under the vault directory, /tmp or /dev/shm. The marker reaches peerlog only
# through pipes and the editor (never a file we write), so any copy found is peerlog's.
. "$(dirname "$0")/lib.sh"

# The editor's private directories go into a tmpfs directory of this test's own, so that
# tests running in parallel cannot be mistaken for leftovers of this one.
XDG_RUNTIME_DIR="$(mktemp -d /dev/shm/pl-e2e-XXXXXX)"
export XDG_RUNTIME_DIR
trap 'rm -rf "$T" "$XDG_RUNTIME_DIR"' EXIT
MARK="marker-$(od -An -N12 -tx1 /dev/urandom | tr -d ' \n')"
NAME="Citizen-$(od -An -N6 -tx1 /dev/urandom | tr -d ' \n')"
PHRASE="passphrase-$(od -An -N9 -tx1 /dev/urandom | tr -d ' \n')"
# The passphrase reaches peerlog through a descriptor, not a file.
plfd() { PEERLOG_PASSPHRASE_FD=9 "$PEERLOG" --vault "$V" "$@" 9<<<"$PHRASE"; }

# An editor that appends the marker (taken from its environment) to the file it is given.
cat > "$T/editor" <<'SH'
#!/bin/sh
printf 'Edited: %s\n' "$PL_TEST_MARK" >> "$1"
SH
chmod +x "$T/editor"

expect_rc 0 "init" -- plfd init --name "Guide" "${KDF[@]}"
expect_rc 0 "grant with name" -- plfd consent grant --subject new \
  --scopes peer-support,record-keeping --valid-from 2026-01-01 --name "$NAME" --json
SUBJECT="$(json 'j["subject"]')"
expect_rc 0 "session from stdin" -- bash -c 'printf "Session %s\n" "$1" | PEERLOG_PASSPHRASE_FD=9 \
  "$0" --vault "$2" session add --subject "$3" --minutes 60 --kind one-to-one \
  --date 2026-11-02 --note-file - --json 9<<<"$4"' "$PEERLOG" "$MARK" "$V" "$SUBJECT" "$PHRASE"
SESSION="$(json 'j["entry"]')"
expect_rc 0 "note with the editor" -- env EDITOR="$T/editor" PL_TEST_MARK="$MARK" \
  PEERLOG_PASSPHRASE_FD=9 "$PEERLOG" --vault "$V" note add --edit 9<<<"$PHRASE"
expect_rc 0 "amend with the editor" -- env EDITOR="$T/editor" PL_TEST_MARK="$MARK-2" \
  PEERLOG_PASSPHRASE_FD=9 "$PEERLOG" --vault "$V" amend "${SESSION:0:8}" --edit 9<<<"$PHRASE"
expect_rc 0 "show" -- plfd show "${SESSION:0:8}" --json
expect_in "$MARK-2" "$OUT" "the amended text reads back"
expect_rc 0 "log" -- plfd log --type note --json
NOTE="$(json 'j[0]["id"]')"
expect_rc 0 "show note" -- plfd show "$NOTE" --json
expect_in "Edited: $MARK" "$OUT" "the edited note reads back"
expect_rc 0 "verify" -- plfd verify
OUT=""; ERR=""; rm -f "$T/out" "$T/err"

# Nothing of it on disk, including in SQLite's WAL and shm files.
for secret in "$MARK" "$NAME" "$PHRASE"; do
  CHECKS=$((CHECKS + 1))
  hits="$(grep -r -a -l -F -- "$secret" "$V" /tmp /dev/shm 2>/dev/null)"
  [ -z "$hits" ] || fail "'${secret:0:12}...' found in: $hits"
done
# The editor's private directory is gone.
CHECKS=$((CHECKS + 1))
left="$(ls -A "$XDG_RUNTIME_DIR")"
[ -z "$left" ] || fail "editor directories left behind: $left"
done_tests
