#!/usr/bin/env bash
# Two processes appending 100 entries each at the same time: 200 entries, one linear chain.
. "$(dirname "$0")/lib.sh"
init_vault
writer() {
  for i in $(seq 1 100); do
    printf 'writer %s note %s\n' "$1" "$i" |
      "$PEERLOG" --vault "$V" --passphrase-file "$PASS" note add --note-file - >/dev/null ||
      echo "writer $1 entry $i failed" >> "$T/errors"
  done
}
writer A & a=$!
writer B & b=$!
wait $a $b
CHECKS=$((CHECKS + 1))
[ ! -s "$T/errors" ] || fail "appends failed: $(cat "$T/errors")"
expect_rc 0 "log" -- pl log --json
[ "$(json 'len(j)')" = 200 ] || fail "$(json 'len(j)') entries, wanted 200"
[ "$(json 'sorted(e["seq"] for e in j) == list(range(1, 201))')" = True ] ||
  fail "sequence numbers are not 1..200"
[ "$(json 'len(set(e["feed"] for e in j))')" = 1 ] || fail "more than one feed"
expect_rc 0 "verify every signature" -- pl verify --every-signature --json
[ "$(json 'j["entries"]')" = 200 ] || fail "verify saw $(json 'j["entries"]')"
done_tests
