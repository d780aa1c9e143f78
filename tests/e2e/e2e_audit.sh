#!/usr/bin/env bash
# Issue 4, the consent-trail audit and checkpoints: a scripted organisation (a coordinator,
# 3 guides, a supervisor, an auditor; 10 citizens, 200 sessions over six months) audits clean;
# then six planted violations are each found exactly once. The auditor holds no key for
# session or supervision bodies and the audit decrypts none. Checkpoints catch a rollback, a
# rewrite and a missing feed.
. "$(dirname "$0")/lib.sh"
S="$T/shared"
mkdir "$S"

day() { date -u -d "$1 + $2 days" +%F; }
entry() { json 'j["entry"]'; }

for who in coord g1 g2 g3 g4 sup aud; do
  as "$who"; expect_rc 0 "init $who" -- pl init --name "$who" "${KDF[@]}" --json
done
as coord
expect_rc 0 "org init" -- pl org init --name "Peer support Aalborg" --json
ORGFP="$(json 'j["fingerprint"]')"
enrol "$ORGFP" g1:guide g2:guide g3:guide g4:guide sup:supervisor aud:auditor
declare -A FP
for g in g1 g2 g3 g4; do FP[$g]="$(fp_of "$g")"; done

# Volunteer agreements from 2026-01-01, countersigned the next day.
declare -A VOL
as coord
for g in g1 g2 g3; do
  expect_rc 0 "volunteer agreement $g" -- pl agreement volunteer --guide "${FP[$g]}" \
    --date 2026-01-01 --json
  VOL[$g]="$(entry)"
done
sync_all coord g1 g2 g3
for g in g1 g2 g3; do
  as "$g"; expect_rc 0 "$g countersigns" -- pl agreement sign "${VOL[$g]:0:12}" --date 2026-01-02
done

# Ten citizens; citizen i starts on 2026-01-05 + 7i with guide g(i mod 3 + 1). C1's consent
# to record-keeping is a grant of its own (to be corrected later).
GUIDES=(g1 g2 g3)
declare -A SUBJ START GUIDE GRANT RKGRANT
for i in 0 1 2 3 4 5 6 7 8 9; do
  g="${GUIDES[$((i % 3))]}"; GUIDE[$i]="$g"; START[$i]="$(day 2026-01-05 $((7 * i)))"
  as "$g"
  if [ "$i" = 1 ]; then
    expect_rc 0 "consent C$i" -- pl consent grant --subject new \
      --scopes peer-support,supervision-sharing --valid-from "$(day "${START[$i]}" -7)" --json
    SUBJ[$i]="$(json 'j["subject"]')"; GRANT[$i]="$(entry)"
    expect_rc 0 "consent C$i record-keeping" -- pl consent grant --subject "${SUBJ[$i]}" \
      --scopes record-keeping --valid-from "$(day "${START[$i]}" -7)" --json
    RKGRANT[$i]="$(entry)"
  else
    expect_rc 0 "consent C$i" -- pl consent grant --subject new \
      --scopes peer-support,record-keeping,supervision-sharing \
      --valid-from "$(day "${START[$i]}" -7)" --json
    SUBJ[$i]="$(json 'j["subject"]')"; GRANT[$i]="$(entry)"
  fi
done
sync_all g1 g2 g3 coord
as coord
for i in 0 1 2 3 4 5 6 7 8 9; do
  expect_rc 0 "match C$i" -- pl match add --subject "${SUBJ[$i]}" --guide "${FP[${GUIDE[$i]}]}" \
    --date "$(day "${START[$i]}" -3)"
done
sync_all coord g1 g2 g3

# Each course: a collaboration agreement of 4 months less a day, 16 weekly one-to-one
# sessions and 4 group sessions (20 per citizen, 200 in all), closed on day 110.
declare -A FIRST LAST CLOSE
for i in 0 1 2 3 4 5 6 7 8 9; do
  as "${GUIDE[$i]}"
  end="$(date -u -d "${START[$i]} + 4 months - 1 day" +%F)"
  expect_rc 0 "collaboration C$i" -- pl agreement collaboration --subject "${SUBJ[$i]}" \
    --start "${START[$i]}" --planned-end "$end"
  for k in $(seq 0 15); do
    expect_rc 0 "session C$i week $k" -- pl session add --subject "${SUBJ[$i]}" --minutes 60 \
      --kind one-to-one --date "$(day "${START[$i]}" $((7 * k)))" --json
    [ "$k" = 0 ] && FIRST[$i]="$(entry)"
    [ "$k" = 15 ] && LAST[$i]="$(entry)"
  done
  for k in 0 1 2 3; do
    expect_rc 0 "group session C$i $k" -- pl session add --subject "${SUBJ[$i]}" --minutes 90 \
      --kind group --date "$(day "${START[$i]}" $((7 * k + 3)))"
  done
  expect_rc 0 "close C$i" -- pl course close --subject "${SUBJ[$i]}" --outcome completed \
    --date "$(day "${START[$i]}" 110)" --json
  CLOSE[$i]="$(entry)"
done
sync_all g1 g2 g3 sup
# A supervision a month into each course, naming its citizen.
declare -A SUPV
as sup
for i in 0 1 2 3 4 5 6 7 8 9; do
  expect_rc 0 "supervision C$i" -- pl supervision add --guides "${FP[${GUIDE[$i]}]}" \
    --subjects "${SUBJ[$i]}" --minutes 60 --date "$(day "${START[$i]}" 30)" --json
  SUPV[$i]="$(entry)"
done
sync_all sup g4 coord aud g1 g2 g3 sup coord aud

# ---- the clean organisation --------------------------------------------------------------
as aud
expect_rc 0 "the clean organisation audits clean" -- pl audit --json
[ "$(json 'j["finding_count"]')" = 0 ] || fail "no findings: $OUT"
[ "$(json 'j["sessions"]')" = 200 ] || fail "200 sessions: $(json 'j["sessions"]')"
[ "$(json 'j["subjects"]')" = 10 ] || fail "10 citizens: $(json 'j["subjects"]')"
[ "$(json 'j["supervisions"]')" = 10 ] || fail "10 supervisions: $(json 'j["supervisions"]')"
[ "$(json 'len(j["courses"])')" = 10 ] || fail "10 courses"
[ "$(json 'j["courses"][0]["sessions"]')" = 20 ] || fail "20 sessions in a course: $OUT"
[ "$(json 'j["courses"][0]["max_gap_days"]')" = 7 ] || fail "weekly cadence: $OUT"
expect_rc 0 "text audit" -- pl audit
expect_in "No findings: every rule holds." "$OUT" "clean summary"
expect_in "200 sessions" "$OUT" "summary counts sessions"

# The audit decrypts no session or supervision body, and the auditor holds no key for them.
as aud
expect_rc 5 "the auditor cannot read a session" -- pl show "${FIRST[0]:0:12}"
expect_rc 5 "the auditor cannot read a supervision" -- pl show "${SUPV[0]:0:12}"
expect_rc 0 "audit json" -- pl audit --json
opened="$(json 'sorted(j["bodies_opened"].items())')"
expect_not_in "'session'" "$opened" "no session body decrypted"
expect_not_in "'supervision'" "$opened" "no supervision body decrypted"
expect_not_in "'amend'" "$opened" "no amended body decrypted"
as coord
expect_rc 0 "the coordinator audits too" -- pl audit --json
opened="$(json 'sorted(j["bodies_opened"].items())')"
expect_not_in "'session'" "$opened" "the coordinator's audit decrypts no session"

# ---- the report: statistics from headers, small counts suppressed ----------------------------
as aud
expect_rc 0 "report by month" -- pl report --json
python3 - "$T/out" <<'PY' || fail "report by month: $OUT"
import json, sys
j = json.load(open(sys.argv[1]))
t = j["total"]
assert t["sessions"] == {"one-to-one": 160, "accompaniment": 0, "group": 40, "ward": 0}, t
assert t["courses_started"] == 10 and t["courses_closed"] == 10 and t["citizens"] == 10, t
assert t["hours_total"] == 160 + 60 and t["guides"] == 3 and t["supervisions"] == 10, t
rows = {r["key"]: r for r in j["rows"]}
assert sorted(rows) == ["2026-01", "2026-02", "2026-03", "2026-04", "2026-05", "2026-06"], sorted(rows)
# January: the courses starting on the 5th, 12th, 19th and 26th, 4 citizens: suppressed
assert rows["2026-01"]["citizens"] == "<5" and rows["2026-01"]["courses_started"] == "<5"
assert rows["2026-01"]["sessions"]["one-to-one"] == "<5"
assert rows["2026-03"]["citizens"] == 10 and isinstance(rows["2026-03"]["sessions"]["one-to-one"], int)
assert sum(r["supervisions"] for r in j["rows"]) == 10
# April: one citizen's group sessions are hidden, so April's totals go too (else total minus
# the shown kinds would give them away), and so does the smallest other hidden-column cell
assert rows["2026-04"]["sessions"]["group"] == "<5" and rows["2026-04"]["hours_total"] == "<5"
for col in ["one-to-one", "group"]:
    assert sum(r["sessions"][col] == "<5" for r in j["rows"]) != 1, col
assert sum(r["hours_total"] == "<5" for r in j["rows"]) != 1
PY
expect_rc 0 "report by guide" -- pl report --by guide --json
[ "$(json 'sorted(r["citizens"] for r in j["rows"])')" = "['<5', '<5', '<5']" ] ||
  fail "every guide has fewer than 5 citizens: suppressed: $OUT"
[ "$(json 'j["total"]["sessions"]["one-to-one"]')" = 160 ] || fail "the total is not: $OUT"
expect_rc 5 "an auditor may not lift suppression" -- pl report --no-suppress
expect_in "only a coordinator" "$ERR" "says who may"
as coord
expect_rc 0 "a coordinator may" -- pl report --no-suppress --json
[ "$(json '[r["citizens"] for r in j["rows"] if r["key"] == "2026-01"][0]')" = 4 ] ||
  fail "unsuppressed January: 4 citizens: $OUT"
as aud
expect_rc 0 "report as text" -- pl report --from 2026-01-01 --to 2026-06-30
expect_in "2026-01" "$OUT" "months in text"
expect_in "<5" "$OUT" "suppressed in text"
expect_rc 2 "report --by week" -- pl report --by week
expect_rc 2 "report from the middle of a month" -- pl report --from 2026-01-02
expect_in "whole months" "$ERR" "says why"
expect_rc 2 "report bad date" -- pl report --to 2026-02-30
as g1
expect_rc 5 "a guide runs no report" -- pl report
as aud
expect_rc 0 "report as a page" -- pl report --html "$T/report.html"
grep -q "<script" "$T/report.html" && fail "no scripts in the report page"
[ "$(grep -o 'class="bar' "$T/report.html" | wc -l)" = 6 ] || fail "a bar per month"
grep -q 'class="bar suppressed"' "$T/report.html" || fail "January's bar is suppressed"
if command -v chromium >/dev/null; then
  timeout 120 chromium --headless --no-sandbox --disable-gpu --disable-dev-shm-usage \
    --user-data-dir="$T/chromium-r" --no-first-run --dump-dom "file://$T/report.html" \
    > "$T/rdom.html" 2>/dev/null || fail "chromium renders the report"
  [ "$(grep -o '<rect class="bar' "$T/rdom.html" | wc -l)" = 6 ] || fail "bars in the DOM"
fi

# ---- a checkpoint of the clean ledger ------------------------------------------------------
as aud
expect_rc 0 "checkpoint sign" -- pl checkpoint sign -o "$T/q2.checkpoint"
expect_in "Signed a checkpoint of 5 feeds" "$OUT" "one line per feed (coordinator, 3 guides, supervisor)"
head -1 "$T/q2.checkpoint" | grep -qx "peerlog/org/$ORGFP" || fail "origin line names the org"
[ "$(grep -c '^[0-9a-f]\{64\} [1-9][0-9]* [0-9a-f]\{64\}$' "$T/q2.checkpoint")" = 5 ] ||
  fail "five feed lines: $(cat "$T/q2.checkpoint")"
grep -q "^— peerlog-auditor-$(fp_of aud) " "$T/q2.checkpoint" || fail "auditor's signature line"
as aud
expect_rc 0 "checkpoint verify" -- pl checkpoint verify "$T/q2.checkpoint"
expect_in "OK: all 5 feeds" "$OUT" "verify ok"
as coord
expect_rc 0 "another member's vault verifies it" -- pl checkpoint verify "$T/q2.checkpoint"
as g1
expect_rc 5 "a guide signs no checkpoint" -- pl checkpoint sign -o "$T/g1.checkpoint"
[ -e "$T/g1.checkpoint" ] && fail "nothing written for a refused checkpoint"
as aud
expect_rc 2 "checkpoint sign needs -o" -- pl checkpoint sign
sed 's/^\([0-9a-f]\{64\}\) \([0-9]*\) /\1 1\2 /' "$T/q2.checkpoint" > "$T/forged.checkpoint"
expect_rc 4 "an altered checkpoint" -- pl checkpoint verify "$T/forged.checkpoint"
expect_in "signature does not verify" "$ERR" "altered checkpoint named"
# A bogus auditor's line in front of the real one is skipped, as signed notes say.
python3 - "$T/q2.checkpoint" "$(fp_of g1)" > "$T/prefixed.checkpoint" <<'PY'
import base64, sys
text, sigs = open(sys.argv[1], encoding="utf-8").read().split("\n\n", 1)
bogus = "\u2014 peerlog-auditor-%s %s\n" % (sys.argv[2], base64.b64encode(bytes(68)).decode())
sys.stdout.write(text + "\n\n" + bogus + sigs)
PY
as aud
expect_rc 0 "a bogus first auditor's line is skipped" -- \
  pl checkpoint verify "$T/prefixed.checkpoint"
printf 'not a checkpoint\n' > "$T/junk.checkpoint"
expect_rc 1 "a file that is no checkpoint" -- pl checkpoint verify "$T/junk.checkpoint"
expect_in "not a peerlog checkpoint" "$ERR" "junk refused"
expect_rc 1 "a missing checkpoint file" -- pl checkpoint verify "$T/none.checkpoint"

# ---- planted violations --------------------------------------------------------------------
# 1. A session before consent: C1's record-keeping consent is corrected to start the day after
#    C1's first session.
as "${GUIDE[1]}"
expect_rc 0 "correct C1's record-keeping consent" -- pl amend "${RKGRANT[1]:0:12}" \
  --date "$(day "${START[1]}" 1)"
# 2. A session after withdrawal: C2 withdrew on the day of the last session (recorded late).
as coord
expect_rc 0 "C2 withdraws" -- pl consent withdraw --subject "${SUBJ[2]}" \
  --scopes peer-support,record-keeping --date "$(day "${START[2]}" 105)"
# 3. A guide without a volunteer agreement: g3's agreement was recorded in error.
expect_rc 0 "retract g3's agreement" -- pl retract "${VOL[g3]:0:12}" --reason "wrong person"
# 4. A course of 5 months: C4's close is corrected to five months after its start.
as "${GUIDE[4]}"
expect_rc 0 "C4 closed later" -- pl amend "${CLOSE[4]:0:12}" \
  --date "$(date -u -d "${START[4]} + 5 months" +%F)"
# 5. A supervision naming a citizen without supervision-sharing: C5's consent is corrected.
as "${GUIDE[5]}"
expect_rc 0 "C5 never agreed to supervision-sharing" -- pl amend "${GRANT[5]:0:12}" \
  --scopes peer-support,record-keeping
# 6. An entry by a removed member: g4 writes after the coordinator last synced, the auditor
#    takes it in, and the coordinator removes g4 with the entries it had.
sync_all g1 g2 g3 coord aud
as g4
printf 'written after the removal\n' > "$T/n4"
expect_rc 0 "g4 writes" -- pl note add --note-file "$T/n4" --json
G4NOTE="$(entry)"
expect_rc 0 "g4 syncs" -- pl sync "$S"
sync_all aud
as coord
expect_rc 0 "coordinator removes g4" -- pl member remove "${FP[g4]}" --reason "left"
sync_all coord aud

as aud
expect_rc 4 "the planted organisation fails the audit" -- pl audit --json
python3 - "$T" <<PY || fail "each planted violation found exactly once: $OUT"
import json, sys
j = json.loads(open(sys.argv[1] + "/out").read())
want = {  # (rule, subject): the entry it names (None: not checked)
    ("consent-missing", "${SUBJ[1]}"): "${FIRST[1]:0:12}",
    ("consent-withdrawn", "${SUBJ[2]}"): "${LAST[2]:0:12}",
    ("agreement", None): None,
    ("course-length", "${SUBJ[4]}"): None,
    ("consent-missing", "${SUBJ[5]}"): "${SUPV[5]:0:12}",
    ("removed-author", None): "${G4NOTE:0:12}",
}
got = {}
for f in j["findings"]:
    got.setdefault((f["rule"], f.get("subject")), []).append((f.get("entry") or "")[:12])
ok = j["finding_count"] == 6 and sorted(got) == sorted(want)
ok = ok and all(len(v) == 1 for v in got.values())
ok = ok and all(w is None or got[k] == [w] for k, w in want.items())
print(sorted(got.items()))
sys.exit(0 if ok else 1)
PY
AGR="$(json '[f["what"] for f in j["findings"] if f["rule"] == "agreement"][0]')"
expect_in "${FP[g3]:0:8}" "$AGR" "the agreement finding names g3"
expect_in "60 sessions" "$AGR" "all of g3's sessions (C2, C5, C8)"
expect_rc 4 "text audit" -- pl audit
[ "$(grep -c . <<<"$OUT")" -ge 7 ] || fail "one line per finding and a summary: $OUT"
expect_in "6 findings" "$OUT" "summary counts"
expect_in "consent-withdrawn" "$OUT" "rule named in text"
expect_in "${SUBJ[2]}" "$OUT" "subject named in text"

# --from/--to limit the findings to entries dated in the range.
expect_rc 4 "audit of C1's first week" -- pl audit --from "${START[1]}" --to "${START[1]}" --json
[ "$(json '[f["rule"] for f in j["findings"] if f.get("subject")]')" = "['consent-missing']" ] ||
  fail "only C1's session in range: $OUT"
expect_rc 0 "a range with nothing wrong" -- pl audit --from 2026-12-01 --json

# Bad input.
expect_rc 2 "a bad date" -- pl audit --from 2026-13-01
expect_rc 2 "from after to" -- pl audit --from 2026-06-01 --to 2026-01-01
as g1
expect_rc 5 "a guide runs no audit" -- pl audit
expect_in "auditor or a coordinator" "$ERR" "the refusal says who may"
as personal; expect_rc 0 "init personal" -- pl init --name "p" "${KDF[@]}" --json
expect_rc 1 "no organisation, no audit" -- pl audit
expect_in "no organisation" "$ERR" "says why"

# ---- the HTML report ------------------------------------------------------------------------
as aud
expect_rc 4 "html report" -- pl audit --html "$T/audit.html"
expect_in "Wrote the report to" "$OUT" "says where"
grep -q "<script" "$T/audit.html" && fail "no scripts in the page"
grep -qi "src=\"http\|href=\"http\|url(" "$T/audit.html" && fail "nothing fetched by the page"
[ "$(grep -c "<svg" "$T/audit.html")" = 10 ] || fail "a timeline per citizen"
if command -v chromium >/dev/null; then
  CH=(chromium --headless --no-sandbox --disable-gpu --disable-dev-shm-usage
      --user-data-dir="$T/chromium" --no-first-run)
  timeout 120 "${CH[@]}" --dump-dom "file://$T/audit.html" > "$T/dom.html" 2>/dev/null ||
    fail "chromium renders the page"
  [ "$(grep -o "<circle" "$T/dom.html" | wc -l)" -ge 200 ] || fail "session marks in the DOM"
  grep -q "${SUBJ[2]}" "$T/dom.html" || fail "subject in the rendered page"
  timeout 120 "${CH[@]}" --window-size=1000,2000 --screenshot="$T/audit.png" \
    "file://$T/audit.html" >/dev/null 2>&1 || fail "chromium screenshot"
  python3 - "$T/audit.png" <<'PY' || fail "the screenshot shows the timelines in colour"
import struct, sys, zlib
data = open(sys.argv[1], "rb").read()
assert data[:8] == b"\x89PNG\r\n\x1a\n"
pos, idat, w, h = 8, b"", 0, 0
while pos < len(data):
    n, kind = struct.unpack(">I4s", data[pos:pos + 8])
    body = data[pos + 8:pos + 8 + n]
    if kind == b"IHDR":
        w, h, depth, ctype = struct.unpack(">IIBB", body[:10])
        assert depth == 8 and ctype in (2, 6)
    elif kind == b"IDAT":
        idat += body
    pos += 12 + n
raw = zlib.decompress(idat)
bpp = 3 if ctype == 2 else 4
stride = w * bpp
# Count pixels of the report's colours (unfiltered rows suffice for a rough count: filters
# other than None change bytes, so decode them).
prev = bytearray(stride)
colours = set()
red = 0
for y in range(h):
    f = raw[y * (stride + 1)]
    row = bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
    for x in range(stride):
        a = row[x - bpp] if x >= bpp else 0
        b = prev[x]
        c = prev[x - bpp] if x >= bpp else 0
        if f == 1: row[x] = (row[x] + a) & 255
        elif f == 2: row[x] = (row[x] + b) & 255
        elif f == 3: row[x] = (row[x] + (a + b) // 2) & 255
        elif f == 4:
            p = a + b - c
            pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
            row[x] = (row[x] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
    for x in range(0, stride, bpp * 4):
        px = tuple(row[x:x + 3])
        colours.add(px)
        if px[0] > 150 and px[1] < 80 and px[2] < 80:
            red += 1
    prev = row
print(len(colours), red)
sys.exit(0 if len(colours) > 8 and red > 0 else 1)
PY
else
  fail "chromium is not installed (scripts/deps --test installs it)"
fi

# ---- checkpoints catch a rollback, a rewrite and a missing feed ------------------------------
as aud
expect_rc 0 "checkpoint of the planted ledger" -- pl checkpoint sign -o "$T/now.checkpoint"
expect_rc 4 "audit with the checkpoint" -- pl audit --checkpoint "$T/now.checkpoint" --json
[ "$(json 'j["checkpoint"]["ok"]')" = True ] || fail "the checkpoint holds: $OUT"
[ "$(json 'j["counts"]["checkpoint"]')" = 0 ] || fail "no checkpoint finding"
cp -r "$T/aud" "$T/aud-copy"
# The attacker with the database key drops the append-only triggers.
untrigger="DROP TRIGGER entries_no_delete; DROP TRIGGER entries_no_update;"
feed_of() { as "$1"; pl id export | python3 -c 'import json,sys; print(json.load(sys.stdin)["sign_pk"])'; }
G1FEED="$(feed_of g1)"; G2FEED="$(feed_of g2)"; SUPFEED="$(feed_of sup)"
"$PL_TOOL" sql "$T/aud" "$PASS" "$untrigger DELETE FROM entries WHERE feed = x'$G1FEED'
  AND seq > (SELECT max(seq) - 2 FROM entries WHERE feed = x'$G1FEED');" || fail "rollback"
"$PL_TOOL" sql "$T/aud" "$PASS" "UPDATE entries SET header = (SELECT header FROM entries
  WHERE feed = x'$G2FEED' AND seq = 3) WHERE feed = x'$G2FEED' AND seq = (SELECT max(seq)
  FROM entries WHERE feed = x'$G2FEED');" || fail "rewrite"
"$PL_TOOL" sql "$T/aud" "$PASS" "DELETE FROM entries WHERE feed = x'$SUPFEED';" || fail "drop"
expect_rc 4 "checkpoint verify after tampering" -- pl checkpoint verify "$T/now.checkpoint"
expect_in "${FP[g1]:0:8}… was rolled back" "$ERR" "rollback named"
expect_in "${FP[g2]:0:8}… was rewritten" "$ERR" "rewrite named"
expect_in "$(fp_of sup | cut -c1-8)… is missing" "$ERR" "missing feed named"
expect_rc 4 "checkpoint verify --json" -- pl checkpoint verify "$T/now.checkpoint" --json
[ "$(json 'j["problem_count"]')" = 3 ] || fail "three feeds named: $OUT"
expect_rc 4 "audit --checkpoint" -- pl audit --checkpoint "$T/now.checkpoint" --json
[ "$(json 'j["counts"]["checkpoint"]')" = 3 ] || fail "three checkpoint findings: $OUT"
# The untouched copy still matches.
as aud-copy
expect_rc 0 "an untouched vault matches" -- pl checkpoint verify "$T/now.checkpoint"
# A removed auditor's key signs nothing that counts: nothing in a note dates it.
as coord
expect_rc 0 "the coordinator's vault verifies the clean checkpoint" -- \
  pl checkpoint verify "$T/q2.checkpoint"
expect_rc 0 "remove the auditor" -- pl member remove "$(fp_of aud)" --reason "contract ended"
as coord
expect_rc 4 "a removed auditor's checkpoint" -- pl checkpoint verify "$T/q2.checkpoint"
expect_in "no longer an auditor" "$ERR" "the refusal says why"

done_tests
