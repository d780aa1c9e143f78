#!/usr/bin/env bash
# kill -9 at random moments during appends, 20 times: the vault opens and verifies each time,
# and every entry is whole (no half entry, no gap).
. "$(dirname "$0")/lib.sh"
: "${PL_TOOL:?PL_TOOL must name the pl_tool binary}"
init_vault
prev=0
for round in $(seq 1 20); do
  "$PL_TOOL" append "$V" "$PASS" 100000 >/dev/null 2>&1 &
  pid=$!
  # between 20 and 400 ms: past opening the vault, in the middle of appending
  sleep "0.$(printf '%03d' $((20 + RANDOM % 380)))"
  kill -9 "$pid" 2>/dev/null
  wait "$pid" 2>/dev/null
  expect_rc 0 "verify after kill $round" -- pl verify --every-signature --json
  n="$(json 'j["entries"]')"
  CHECKS=$((CHECKS + 1))
  [ "$n" -ge "$prev" ] || fail "round $round: entries went from $prev to $n"
  prev="$n"
done
CHECKS=$((CHECKS + 1))
[ "$prev" -gt 0 ] || fail "no entry was ever appended; the kills came too early"
expect_rc 0 "log" -- pl log --json
[ "$(json 'sorted(e["seq"] for e in j) == list(range(1, len(j) + 1))')" = True ] ||
  fail "sequence numbers have a gap"
echo "crash test: $prev entries survived 20 kills" >&2
done_tests
