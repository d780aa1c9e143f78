#!/usr/bin/env bash
# Issue 3, more than one coordinator (formats/org.md §10.6): coordinators add coordinators;
# concurrent membership changes resolve the same way at every vault, removal wins, and are
# reported; a coordinator's next sync mends keys that two concurrent removals left with a
# removed member.
. "$(dirname "$0")/lib.sh"
S="$T/shared"
mkdir "$S"

add() { # add BY WHO ROLE...
  local by="$1" who="$2"; shift 2
  local roles=() fp
  for r in "$@"; do roles+=(--role "$r"); done
  as "$who"; pl id export > "$T/$who.json"; fp="$(fp_of "$who")"
  as "$by"
  expect_rc 0 "$by adds $who" -- pl member add "$T/$who.json" "${roles[@]}" \
    --expect-fingerprint "$fp"
}
# The membership as a vault computes it: fingerprint, roles, removed, cut; and current keys.
view() {
  as "$1"; pl org show --json | python3 -c '
import json, sys
j = json.load(sys.stdin)
m = sorted((x["fingerprint"], ",".join(x["roles"]), x["removed"], x.get("until_seq"))
           for x in j["members"])
cur = {}
for k in j["keys"]:
    cur[k["role"]] = max(cur.get(k["role"], 0), k["epoch"])
print(m, sorted(cur.items()))'
}

for who in first c2 c3 gG gH sup; do
  as "$who"; expect_rc 0 "init $who" -- pl init --name "$who" "${KDF[@]}" --json
done
as first
expect_rc 0 "org init" -- pl org init --name "Peer support Odense" --json
ORGFP="$(json 'j["fingerprint"]')"
add first c2 coordinator
add first c3 coordinator
add first gG guide
add first gH guide
add first sup supervisor
sync_all first
for who in c2 c3 gG gH sup; do
  as "$who"; expect_rc 0 "join $who" -- pl join "$S" --expect-org "$ORGFP"
done
sync_all c2 c3 gG gH sup first

# A second coordinator holds every key, so it can add members; the invitation is its own.
as c2
expect_rc 0 "c2 org show" -- pl org show --json
[ "$(json '[m["roles"] for m in j["members"] if m["fingerprint"] == "'"$(fp_of c2)"'"][0]')" = \
  "['coordinator']" ] || fail "c2 is a coordinator: $OUT"
as z; expect_rc 0 "init z" -- pl init --name "Zoe" "${KDF[@]}" --json
add c2 z guide
as first; expect_rc 0 "first syncs" -- pl sync "$S" --json
[ "$(json 'j["invites_written"]')" = 0 ] || fail "first writes no invitation for c2's member: $OUT"
as c2; expect_rc 0 "c2 syncs" -- pl sync "$S" --json
[ "$(json 'j["invites_written"]')" = 1 ] || fail "c2 invites the member it added: $OUT"
as z; expect_rc 0 "z joins" -- pl join "$S" --expect-org "$ORGFP"
expect_rc 0 "z consent" -- pl consent grant --subject new --scopes peer-support,record-keeping \
  --valid-from 2026-01-01 --json
ZSUBJ="$(json 'j["subject"]')"
printf 'Coffee at the library. MARKER-Z\n' > "$T/note"
expect_rc 0 "z session" -- pl session add --subject "$ZSUBJ" --date 2026-02-03 --minutes 40 \
  --kind one-to-one --note-file "$T/note" --json
ZSESSION="$(json 'j["entry"]')"
sync_all z first c3 sup
as sup
expect_rc 0 "the supervisor reads the session of a guide a second coordinator added" -- \
  pl show "${ZSESSION:0:12}"
expect_in "MARKER-Z" "$OUT" "session body"

# Only the first coordinator removes a coordinator; a guide removes nobody.
as c2
expect_rc 5 "c2 removes c3" -- pl member remove "$(fp_of c3)" --reason test
expect_in "only the first coordinator" "$ERR" "the refusal names the rule"
as gG
expect_rc 5 "a guide removes a member" -- pl member remove "$(fp_of gH)" --reason test
as x; expect_rc 0 "init x" -- pl init --name "Xavi" "${KDF[@]}" --json
pl id export > "$T/x.json"
as c2
expect_rc 5 "c2 adds a coordinator" -- pl member add "$T/x.json" --role coordinator \
  --expect-fingerprint "$(fp_of x)"
expect_in "only the first coordinator" "$ERR" "the first coordinator decides who coordinates"

# Two coordinators remove two guides at once: each rotates the guide and member keys and
# grants its new keys to the guide the other one removes.
as c2; expect_rc 0 "c2 removes gG" -- pl member remove "$(fp_of gG)" --reason "moved away"
as c3; expect_rc 0 "c3 removes gH" -- pl member remove "$(fp_of gH)" --reason "on leave"
as c2; expect_rc 0 "c2 syncs after its removal" -- pl sync "$S"
as c3; expect_rc 0 "c3 syncs and mends" -- pl sync "$S" --json
[ "$(json 'j["keys_rotated"]')" -ge 2 ] || fail "c3 gives the leaked keys a new epoch: $OUT"
[ "$(json 'j["grants_written"]')" -ge 1 ] || fail "c3 grants the new keys: $OUT"
expect_rc 0 "c3 org show" -- pl org show
expect_in "were made at once" "$OUT" "the concurrent rotation is reported"
sync_all c2 first sup z gG gH c3 c2 first sup z
# Removal wins at every vault, and every vault computes the same membership and keys.
want="$(view first)"
expect_in "'$(fp_of gG)', 'guide', True" "$want" "gG removed"
expect_in "'$(fp_of gH)', 'guide', True" "$want" "gH removed"
for who in c2 c3 sup z; do
  [ "$(view "$who")" = "$want" ] || fail "$who computes another membership: $(view "$who") vs $want"
done
as c2; expect_rc 0 "a second sync mends nothing more" -- pl sync "$S" --json
[ "$(json 'j["keys_rotated"] + j["grants_written"]')" = 0 ] || fail "repair settles: $OUT"
as first; expect_rc 0 "verify at the first coordinator" -- pl verify
expect_in "were made at once" "$OUT" "verify reports the resolution"

# After the mending, neither removed guide reads what members write: a member.add body
# (wrapped to the member key) written now is unreadable to both.
as w; expect_rc 0 "init w" -- pl init --name "MARKER-W" "${KDF[@]}" --json
add c2 w auditor
as c2; expect_rc 0 "c2 log" -- pl log --type member.add --json
WADD="$(json '[e["id"] for e in j][-1]')"
sync_all c2 gG gH sup
for who in gG gH; do
  as "$who"
  expect_rc 5 "$who cannot read a body written after the mending" -- pl show "${WADD:0:12}"
  expect_not_in "MARKER-W" "$OUT" "$who sees no name"
done
as sup; expect_rc 0 "a current member reads it" -- pl show "${WADD:0:12}"
expect_in "MARKER-W" "$OUT" "the supervisor reads the new member's name"

# The same person added by two coordinators at once: one member, roles joined, reported.
as dup; expect_rc 0 "init dup" -- pl init --name "Dup" "${KDF[@]}" --json
add c2 dup guide
add c3 dup supervisor
sync_all c2 c3 first c2
want="$(view first)"
expect_in "'$(fp_of dup)', 'guide,supervisor', False" "$want" "roles joined"
[ "$(view c2)" = "$want" ] || fail "c2 agrees on the joined roles"
as first; expect_rc 0 "first org show" -- pl org show
expect_in "added twice" "$OUT" "the double add is reported"

# The first coordinator removes c2 while c2, not yet synced, adds a member: removal wins, the
# add does not count, and c2's vault stops writing once it sees its removal.
as first; expect_rc 0 "first removes c2" -- pl member remove "$(fp_of c2)" --reason "left"
as y; expect_rc 0 "init y" -- pl init --name "Yan" "${KDF[@]}" --json
add c2 y guide
sync_all first c2 c3 sup
for who in first c3 sup; do
  as "$who"; expect_rc 0 "$who org show" -- pl org show --json
  [ "$(json '[m["fingerprint"] for m in j["members"]].count("'"$(fp_of y)"'")')" = 0 ] ||
    fail "$who: c2's add after its removal does not count: $OUT"
  [ "$(json '[m["removed"] for m in j["members"] if m["fingerprint"] == "'"$(fp_of c2)"'"][0]')" = True ] ||
    fail "$who: c2 removed"
done
as c2
expect_rc 5 "a removed coordinator adds nobody" -- pl member add "$T/y.json" --role guide \
  --expect-fingerprint "$(fp_of y)"
as first; expect_rc 0 "verify after all of it" -- pl verify

# A fork: Z's laptop is brought back from a backup and writes again at a sequence number it
# had used. verify fails until a coordinator keeps one branch; both stay as evidence.
as z
expect_rc 0 "z backs up" -- pl backup -o "$T/z.backup"
expect_rc 0 "z writes after the backup" -- pl session add --subject "$ZSUBJ" --date 2026-02-10 \
  --minutes 30 --kind one-to-one --note-file "$T/note" --json
KEEP="$(json 'j["entry"]')"
expect_rc 0 "and syncs" -- pl sync "$S"
V="$T/z-restored"
expect_rc 0 "z restores" -- pl restore "$T/z.backup"
mkdir "$T/nothing"
expect_rc 0 "and resumes without the folder" -- pl sync "$T/nothing" --resume-after-restore
expect_rc 0 "the restored laptop writes at the same place" -- pl session add \
  --subject "$ZSUBJ" --date 2026-02-11 --minutes 30 --kind one-to-one --note-file "$T/note" \
  --json
OTHER="$(json 'j["entry"]')"
expect_rc 0 "its feed as a bundle" -- pl export -o "$T/fork.bundle"
as first
expect_rc 0 "first syncs" -- pl sync "$S"
expect_rc 4 "the fork arrives" -- pl import "$T/fork.bundle"
expect_rc 4 "verify fails on the fork" -- pl verify
expect_in "fork resolve" "$ERR" "verify says what to do"
expect_in "${KEEP:0:12}" "$ERR" "verify names one entry"
expect_in "${OTHER:0:12}" "$ERR" "and the other"
as sup
expect_rc 5 "a supervisor resolves no fork" -- pl fork resolve --keep "${KEEP:0:12}" --reason x
as first
expect_rc 2 "fork resolve without a reason" -- pl fork resolve --keep "${KEEP:0:12}"
expect_rc 1 "fork resolve of an entry that is no fork" -- pl fork resolve \
  --keep "${ZSESSION:0:12}" --reason "not a fork"
expect_in "not part of a fork" "$ERR" "the refusal says why"
expect_rc 0 "the first coordinator keeps the synced branch" -- pl fork resolve \
  --keep "${KEEP:0:12}" --reason "restored laptop" --json
expect_rc 0 "verify passes once the fork is resolved" -- pl verify --json
[ "$(json 'j["forks_resolved"]')" -ge 1 ] || fail "verify counts the resolved fork: $OUT"
expect_rc 0 "both branches stay" -- pl show "${OTHER:0:12}"
expect_rc 0 "first syncs the resolution" -- pl sync "$S"
as c3
expect_rc 0 "c3 imports the fork and the resolution" -- pl import "$T/fork.bundle"
expect_rc 0 "c3 syncs" -- pl sync "$S"
expect_rc 0 "c3 verifies with the resolution" -- pl verify

done_tests
