#!/usr/bin/env bash
# Issue 5, retention: the policy set at 'org init --retention' makes a citizen's records due a
# number of months after their course closed; 'retention plan' lists what is due (and when),
# 'retention apply' erases it as erasure entries that every vault applies, and consent goes
# only with the last other record. Dates are relative to today so the due dates are known.
. "$(dirname "$0")/lib.sh"
S="$T/shared"
mkdir "$S"
bodies() { "$PL_TOOL" sql "$T/$1" "$PASS" "SELECT count(*) FROM entries WHERE body IS NOT NULL AND ($2)"; }
ago() { date -d "$(date +%Y-%m-01) -$1 months" +%Y-%m-%d; }   # first day, $1 months ago
TODAY="$(date +%Y-%m-%d)"

for who in coord guide sup; do
  as "$who"; expect_rc 0 "init $who" -- pl init --name "$who" "${KDF[@]}" --json
done
as coord
# Bad policies are refused before anything is written.
expect_rc 2 "retention: not a number" -- pl org init --name X --retention soon
expect_in "not a number of months" "$ERR" "says what is wrong"
expect_rc 2 "retention: unknown type" -- pl org init --name X --retention 12,notes=3
expect_in "not a record type" "$ERR" "names the types"
expect_rc 2 "retention: consent takes last-entry or keep" -- pl org init --name X --retention consent=12
expect_rc 2 "retention: months out of range" -- pl org init --name X --retention 0
expect_rc 2 "retention: months out of range" -- pl org init --name X --retention 1201
expect_rc 0 "org init with retention" -- pl org init --name "Peer support Horsens" \
  --retention 12,supervision=24 --json
ORGFP="$(json 'j["fingerprint"]')"
[ "$(json 'j["retention"]')" = "{'session': 12, 'supervision': 24, 'match': 12, 'agreement.collaboration': 12, 'course.close': 12, 'consent': 'last-entry'}" ] \
  || fail "the policy in the genesis: $OUT"
expect_rc 0 "org show" -- pl org show
expect_in "session 12 months" "$OUT" "org show prints the retention"
enrol "$ORGFP" guide:guide sup:supervisor
GFP="$(fp_of guide)"

# Four citizens: A closed 18 months ago (sessions due, its supervision not until 24 months),
# B closed 30 months ago (everything due, consent too), C closed 6 months ago (nothing due
# yet), D with a course still open.
declare -A SUBJ CLOSE START
START[A]="$(ago 21)"; CLOSE[A]="$(ago 18)"
START[B]="$(ago 33)"; CLOSE[B]="$(ago 30)"
START[C]="$(ago 9)";  CLOSE[C]="$(ago 6)"
START[D]="$(ago 2)"
as guide
printf 'RETENTION-MARKER note\n' > "$T/note"
for c in A B C D; do
  expect_rc 0 "consent $c" -- pl consent grant --subject new --scopes \
    peer-support,record-keeping,supervision-sharing --valid-from "${START[$c]}" \
    --name "Citizen $c" --json
  SUBJ[$c]="$(json 'j["subject"]')"
  for w in 0 1 2; do
    d="$(date -d "${START[$c]} +$((w * 7)) days" +%Y-%m-%d)"
    expect_rc 0 "session $c $w" -- pl session add --subject "${SUBJ[$c]}" --date "$d" \
      --minutes 60 --kind one-to-one --note-file "$T/note"
  done
  [ -n "${CLOSE[$c]:-}" ] && expect_rc 0 "close $c" -- pl course close --subject "${SUBJ[$c]}" \
    --outcome completed --date "${CLOSE[$c]}"
done
sync_all guide sup
as sup
for c in A B; do
  expect_rc 0 "supervision $c" -- pl supervision add --guides "$GFP" --subjects "${SUBJ[$c]}" \
    --minutes 30 --date "$(date -d "${START[$c]} +10 days" +%Y-%m-%d)" --note-file "$T/note"
done
# A supervision naming B (all due) and D (course open): it goes only when due for both.
expect_rc 0 "supervision of B and D" -- pl supervision add --guides "$GFP" \
  --subjects "${SUBJ[B]},${SUBJ[D]}" --minutes 30 --date "$(ago 1)" --note-file "$T/note" --json
BOTH="$(json 'j["entry"]')"
sync_all sup coord guide
# A close dated in the far future (a typo, or a member's forgery) makes nothing due early.
as guide
expect_rc 0 "a close dated 9999" -- pl course close --subject "${SUBJ[D]}" --outcome completed \
  --date 9999-06-01
sync_all guide coord

# The plan, as the coordinator sees it today.
as coord
expect_rc 0 "retention plan" -- pl retention plan --json
plan() { python3 -c "
import json,sys
j=json.loads(sys.stdin.read())
c={x['subject']: x for x in j['citizens']}
print($1)" <<<"$OUT"; }
[ "$(plan "sorted(c['${SUBJ[A]}']['due_now'])")" = "['agreement.collaboration', 'course.close', 'match', 'session']" ] \
  || fail "A: everything but supervision and consent is due: $OUT"
[ "$(plan "c['${SUBJ[A]}']['bodies_due']")" = 4 ] || fail "A: 3 sessions and the close"
[ "$(plan "c['${SUBJ[A]}']['due']['supervision']")" = "$(date -d "${CLOSE[A]} +24 months" +%Y-%m-%d)" ] \
  || fail "A: the supervision falls due 24 months after the close"
[ "$(plan "c['${SUBJ[A]}']['due']['consent']")" = "$(date -d "${CLOSE[A]} +24 months" +%Y-%m-%d)" ] \
  || fail "A: consent goes with the supervision, the last other record"
[ "$(plan "len(c['${SUBJ[B]}']['due_now'])")" = 5 ] || fail "B: every type but consent is due: $OUT"
[ "$(plan "c['${SUBJ[B]}']['bodies_due']")" = 5 ] || fail "B: 3 sessions, close, supervision"
[ "$(plan "c['${SUBJ[B]}']['other']")" = 1 ] || fail "B: the supervision of B and D stays, and so does B's consent"
[ "$(plan "c['${SUBJ[C]}']['due_now']")" = "[]" ] || fail "C: nothing due"
[ "$(plan "c['${SUBJ[C]}']['due']['session']")" = "$(date -d "${CLOSE[C]} +12 months" +%Y-%m-%d)" ] \
  || fail "C: sessions due 12 months after the close"
[ "$(plan "c['${SUBJ[D]}']['open']")" = True ] || fail "D: course open (its close lies in the future): $OUT"
[ "$(json 'j["citizens_due"]')" = 2 ] || fail "two citizens due"
# --on looks ahead: in 7 months C's sessions are due as well.
expect_rc 0 "retention plan --on" -- pl retention plan --on "$(date -d "${CLOSE[C]} +12 months" +%Y-%m-%d)" --json
[ "$(plan "'session' in c['${SUBJ[C]}']['due_now']")" = True ] || fail "C due on the day"
expect_rc 0 "retention plan (text)" -- pl retention plan
expect_in "${SUBJ[A]}  course closed ${CLOSE[A]}: DUE session" "$OUT" "text names A's due types"
expect_in "${SUBJ[D]}  course open: nothing due (its close is dated 9999-06-01" "$OUT" "text names D open, and the odd close"
expect_rc 2 "retention plan --on junk" -- pl retention plan --on tomorrow
expect_rc 2 "retention without a verb" -- pl retention

# Apply: refused for a guide (nothing changes), needs confirmation, then erases what is due.
as guide
expect_rc 5 "a guide may not apply retention" -- pl retention apply --yes
expect_in "only a coordinator" "$ERR" "says who may"
[ "$(bodies guide "subject = '${SUBJ[A]}' AND type = 'session'")" = 3 ] || fail "nothing changed at the guide"
as coord
expect_rc 2 "apply without confirmation" -- pl retention apply
expect_rc 0 "retention apply" -- pl retention apply --yes --json
[ "$(json 'j["erasures"]')" = 2 ] || fail "one erasure each for A and B: $OUT"
[ "$(json 'j["bodies_erased"]')" = 9 ] || fail "4 of A's and 5 of B's bodies: $OUT"
expect_rc 0 "apply again: nothing due" -- pl retention apply --yes --json
[ "$(json 'j["erasures"]')" = 0 ] || fail "nothing written twice: $OUT"
expect_rc 0 "verify after retention" -- pl verify --json
[ "$(json 'sorted(e["bodies"] for e in j["erasures"])')" = "[4, 5]" ] || fail "verify accounts both: $OUT"
sync_all coord guide sup
for who in coord guide sup; do
  A="${SUBJ[A]}"; B="${SUBJ[B]}"; C="${SUBJ[C]}"
  [ "$(bodies "$who" "subject = '$A' AND type IN ('session', 'course.close')")" = 0 ] || fail "$who: A's sessions went"
  [ "$(bodies "$who" "subject = '$A' AND type = 'consent.grant'")" = 1 ] || fail "$who: A's consent stays"
  [ "$(bodies "$who" "type = 'supervision' AND instr(header, CAST('$A' AS BLOB)) > 0")" = 1 ] || fail "$who: A's supervision stays"
  [ "$(bodies "$who" "subject = '$B' AND type NOT IN ('erase', 'consent.grant')")" = 0 ] || fail "$who: B's records went"
  [ "$(bodies "$who" "subject = '$B' AND type = 'consent.grant'")" = 1 ] || fail "$who: B's consent stays while a record about B does"
  [ "$(bodies "$who" "type = 'supervision' AND instr(header, CAST('$B' AS BLOB)) > 0")" = 1 ] || fail "$who: B's own supervision went"
  [ "$(bodies "$who" "id = x'$BOTH'")" = 1 ] || fail "$who: the supervision of B and D stays (D not due)"
  [ "$(bodies "$who" "subject = '$C'")" = 5 ] || fail "$who: C keeps everything (consent, 3 sessions, close)"
  as "$who"; expect_rc 0 "verify at $who" -- pl verify
done

# A retention erasure is not a full one: A may come back for a new course (records dated
# after the day it was applied are kept), but nothing dated up to that day is added.
as guide
expect_rc 1 "no session dated before the erased close" -- pl session add --subject "${SUBJ[A]}" \
  --date "$(date -d "${CLOSE[A]} -3 days" +%Y-%m-%d)" --minutes 30 --kind one-to-one
expect_in "retention policy" "$ERR" "says why"
expect_rc 1 "no session dated up to the day of the erasure" -- pl session add \
  --subject "${SUBJ[A]}" --date "$TODAY" --minutes 30 --kind one-to-one
expect_rc 0 "a new consent for A's new course" -- pl consent grant --subject "${SUBJ[A]}" \
  --scopes peer-support,record-keeping --valid-from "$TODAY"
TOMORROW="$(date -d tomorrow +%Y-%m-%d)"
expect_rc 0 "a new session for A" -- pl session add --subject "${SUBJ[A]}" --date "$TOMORROW" \
  --minutes 30 --kind one-to-one --note-file "$T/note" --json
NEW="$(json 'j["entry"]')"
expect_rc 0 "the new session keeps its content" -- pl show "${NEW:0:12}"
expect_in "one-to-one" "$OUT" "readable"
sync_all guide coord
as coord
expect_rc 0 "plan after A returns" -- pl retention plan --json
[ "$(plan "c['${SUBJ[A]}']['open']")" = True ] || fail "A's new course is open: nothing due: $OUT"
done_tests
