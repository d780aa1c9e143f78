#!/usr/bin/env bash
# --edit refuses when no tmpfs is available (unless --allow-non-tmpfs), and turns vim's swap,
# backup, undo and viminfo files off. Needs root and unshare for a private mount namespace.
. "$(dirname "$0")/lib.sh"
unset XDG_RUNTIME_DIR # the editor's directory goes to /dev/shm, where this test looks
init_vault

# vim is started with the options that keep it from writing anywhere else.
cat > "$T/vim" <<'SH'
#!/bin/sh
printf '%s\n' "$@" > "$PL_ARGS_OUT"
last=""; for a in "$@"; do last="$a"; done
printf 'written in vim\n' >> "$last"
SH
chmod +x "$T/vim"
expect_rc 0 "note with a vim-like editor" -- env EDITOR="$T/vim" PL_ARGS_OUT="$T/args" \
  "$PEERLOG" --vault "$V" --passphrase-file "$PASS" note add --edit
args="$(cat "$T/args")"
expect_in "-n" "$args" "vim without swap file"
expect_in "NONE" "$args" "vim without viminfo"
expect_in "noundofile" "$args" "vim without undo file"
expect_in "nobackup" "$args" "vim without backup"
case "$(tail -n1 "$T/args")" in
  /dev/shm/peerlog-*|"${XDG_RUNTIME_DIR:-/nonexistent}"/peerlog-*) CHECKS=$((CHECKS + 1)) ;;
  *) fail "the editor file is not in a private tmpfs dir: $(tail -n1 "$T/args")" ;;
esac
[ ! -e "$(tail -n1 "$T/args")" ] || fail "the editor file was not removed"

# An editor that leaves a backup directory behind: all of it is wiped.
cat > "$T/messy" <<'SH'
#!/bin/sh
printf 'text\n' >> "$1"
mkdir -p "$(dirname "$1")/backup/deeper" && cp "$1" "$(dirname "$1")/backup/deeper/copy"
ln -s /etc/passwd "$(dirname "$1")/backup/link"
echo "$1" > "$PL_ARGS_OUT"
SH
chmod +x "$T/messy"
expect_rc 0 "an editor leaving subdirectories" -- env EDITOR="$T/messy" PL_ARGS_OUT="$T/messyfile" \
  "$PEERLOG" --vault "$V" --passphrase-file "$PASS" note add --edit
CHECKS=$((CHECKS + 1))
[ ! -e "$(dirname "$(cat "$T/messyfile")")" ] || fail "the editor's subdirectories survived"
[ -s /etc/passwd ] || fail "a link in the editor's directory was followed"

# A failing editor writes nothing.
expect_rc 1 "editor fails" -- env EDITOR=false "$PEERLOG" --vault "$V" \
  --passphrase-file "$PASS" note add --edit
expect_rc 0 "log" -- pl log --json
[ "$(json 'len(j)')" = 2 ] || fail "a failed edit wrote an entry"


# SIGTERM while the editor is open (e.g. the terminal closes): the file is wiped before
# peerlog dies of the signal, and nothing is written.
cat > "$T/slow" <<'SH'
#!/bin/sh
printf 'half-written thought\n' >> "$1"
echo "$1" > "$PL_ARGS_OUT"
sleep 2
SH
chmod +x "$T/slow"
EDITOR="$T/slow" PL_ARGS_OUT="$T/slowfile" "$PEERLOG" --vault "$V" --passphrase-file "$PASS" \
  note add --edit >/dev/null 2>&1 &
pid=$!
for _ in $(seq 1 50); do [ -s "$T/slowfile" ] && break; sleep 0.1; done
kill -TERM "$pid"
wait "$pid"
got=$?
CHECKS=$((CHECKS + 1))
[ "$got" -eq 143 ] || fail "peerlog under SIGTERM exited $got, wanted death by SIGTERM (143)"
CHECKS=$((CHECKS + 1))
[ -s "$T/slowfile" ] && [ ! -e "$(cat "$T/slowfile")" ] && [ ! -e "$(dirname "$(cat "$T/slowfile")")" ] ||
  fail "the editor's file or directory survived SIGTERM"
expect_rc 0 "log after SIGTERM" -- pl log --json
[ "$(json 'len(j)')" = 2 ] || fail "an entry was written despite SIGTERM"

# A directory left by a peerlog killed with SIGKILL is wiped by the next --edit.
dead="$(sh -c 'echo $$')"
stale="/dev/shm/peerlog-$dead-ABCDEF"
mkdir -m 700 "$stale" && printf 'left behind\n' > "$stale/note.txt"
expect_rc 0 "edit after a crash" -- env EDITOR="$T/vim" PL_ARGS_OUT="$T/args6" \
  "$PEERLOG" --vault "$V" --passphrase-file "$PASS" note add --edit
[ ! -e "$stale" ] || { fail "a stale editor directory was not wiped"; rm -rf "$stale"; }

# What is known before writing is checked before the editor opens, so no text is lost to it.
printf 'not it\n' > "$T/wrong"
expect_rc 3 "wrong passphrase before the editor" -- env EDITOR="$T/vim" PL_ARGS_OUT="$T/args4" \
  "$PEERLOG" --vault "$V" --passphrase-file "$T/wrong" note add --edit
[ ! -e "$T/args4" ] || fail "the editor opened before the passphrase was checked"
expect_rc 1 "no consent before the editor" -- env EDITOR="$T/vim" PL_ARGS_OUT="$T/args5" \
  "$PEERLOG" --vault "$V" --passphrase-file "$PASS" session add --subject B-0000-0000 \
  --minutes 30 --kind ward --edit
expect_in "no consent recorded" "$ERR" "consent refusal before the editor"
[ ! -e "$T/args5" ] || fail "the editor opened for a session that consent refuses"

# No tmpfs: hide /dev/shm behind a disk directory in a private mount namespace.
if [ "$(id -u)" -ne 0 ] || ! unshare -m true 2>/dev/null; then
  echo "skipping the no-tmpfs case: needs root and unshare" >&2
  done_tests || exit 1
  exit 0
fi
mkdir -p "$T/disk"
expect_rc 1 "refused without tmpfs" -- env -u XDG_RUNTIME_DIR EDITOR="$T/vim" \
  PL_ARGS_OUT="$T/args2" unshare -m sh -c 'mount --bind "$1" /dev/shm && exec "$2" \
  --vault "$3" --passphrase-file "$4" note add --edit' sh "$T/disk" "$PEERLOG" "$V" "$PASS"
expect_in "allow-non-tmpfs" "$ERR" "refusal says how to go on"
[ ! -e "$T/args2" ] || fail "the editor ran without tmpfs"
expect_rc 0 "allowed without tmpfs" -- env -u XDG_RUNTIME_DIR EDITOR="$T/vim" \
  PL_ARGS_OUT="$T/args3" TMPDIR="$T/disk" unshare -m sh -c 'mount --bind "$1" /dev/shm && \
  exec "$2" --vault "$3" --passphrase-file "$4" note add --edit --allow-non-tmpfs' sh \
  "$T/disk" "$PEERLOG" "$V" "$PASS"
expect_in "on disk" "$ERR" "warning about the disk copy"
CHECKS=$((CHECKS + 1))
[ -z "$(ls -A "$T/disk")" ] || fail "files left in the disk directory: $(ls -A "$T/disk")"
done_tests
