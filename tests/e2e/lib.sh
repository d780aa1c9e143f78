# Shared helpers of the end-to-end tests. Each test sources this file; $PEERLOG and $PL_TOOL
# name the binaries under test (set by CTest). Every test works in its own temporary dir.
set -u
: "${PEERLOG:?PEERLOG must name the peerlog binary}"
T="$(mktemp -d /tmp/pl-e2e-XXXXXX)"
trap 'rm -rf "$T"' EXIT
V="$T/vault"
PASS="$T/pass"
printf 'correct horse battery staple\n' > "$PASS"
KDF=(--kdf-memory 8 --kdf-passes 1 --kdf-lanes 1)
FAILS=0
CHECKS=0
unset PEERLOG_VAULT PEERLOG_PASSPHRASE_FILE PEERLOG_PASSPHRASE_FD

pl() { "$PEERLOG" --vault "$V" --passphrase-file "$PASS" "$@"; }

# Debian's python3 where there is one: a version manager's shim in front of it (pyenv) costs
# most of a second per call, and the tests call python3 hundreds of times.
if [ -x /usr/bin/python3 ]; then python3() { /usr/bin/python3 "$@"; }; fi

fail() { echo "FAIL: $*" >&2; FAILS=$((FAILS + 1)); }

# expect_rc CODE DESCRIPTION -- command...: runs the command, keeps its output in $OUT/$ERR.
expect_rc() {
  local want="$1" what="$2"; shift 3
  CHECKS=$((CHECKS + 1))
  "$@" >"$T/out" 2>"$T/err"
  local got=$?
  OUT="$(cat "$T/out")"; ERR="$(cat "$T/err")"
  if [ "$got" -ne "$want" ]; then
    fail "$what: exit $got, wanted $want"; echo "  stdout: $OUT" >&2; echo "  stderr: $ERR" >&2
  fi
}

# expect_in TEXT HAYSTACK DESCRIPTION
expect_in() {
  CHECKS=$((CHECKS + 1))
  case "$2" in *"$1"*) ;; *) fail "$3: '$1' not in: $2" ;; esac
}

expect_not_in() {
  CHECKS=$((CHECKS + 1))
  case "$2" in *"$1"*) fail "$3: '$1' unexpectedly in: $2" ;; *) ;; esac
}

# json EXPR: evaluates a Python expression on the JSON in $OUT (as j).
json() { python3 -c "import json,sys; j=json.loads(sys.stdin.read()); print($1)" <<<"$OUT"; }

# Several vaults in one test: 'as NAME' makes $T/NAME the vault pl uses; fp_of NAME prints
# its fingerprint; sync_all NAME... syncs each with the shared folder $S.
as() { V="$T/$1"; }
fp_of() { as "$1"; pl id --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["fingerprint"])'; }
sync_all() { for who in "$@"; do as "$who"; expect_rc 0 "sync $who" -- pl sync "$S"; done; }
# enrol ORGFP NAME:ROLE...: the coordinator (vault coord) adds each member, syncs, and each
# member joins through the shared folder $S.
enrol() {
  local org="$1" pair who role fp; shift
  for pair in "$@"; do
    who="${pair%%:*}"; role="${pair#*:}"
    as "$who"; pl id export > "$T/$who.json"; fp="$(fp_of "$who")"
    as coord
    expect_rc 0 "add $who" -- pl member add "$T/$who.json" --role "$role" --expect-fingerprint "$fp"
  done
  sync_all coord
  for pair in "$@"; do
    who="${pair%%:*}"; as "$who"; expect_rc 0 "join $who" -- pl join "$S" --expect-org "$org"
  done
}

init_vault() { expect_rc 0 "init" -- pl init --name "Test Guide" "${KDF[@]}" --json; }

new_subject() {
  expect_rc 0 "consent grant" -- pl consent grant --subject new \
    --scopes peer-support,record-keeping --valid-from "${1:-2026-01-01}" --json
  SUBJECT="$(json 'j["subject"]')"
}

done_tests() {
  if [ "$CHECKS" -eq 0 ]; then echo "no checks ran" >&2; exit 1; fi
  echo "$(basename "$0"): $CHECKS checks, $FAILS failed" >&2
  [ "$FAILS" -eq 0 ]
}
