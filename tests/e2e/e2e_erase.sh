#!/usr/bin/env bash
# Issue 5 (first part), erasure: a coordinator's erase entry drops the bodies of every entry
# about the citizen in every vault that holds it or receives it later, keeps the headers so
# verify still passes, and says so; a guide's erase is refused and changes nothing.
. "$(dirname "$0")/lib.sh"
S="$T/shared"
mkdir "$S"
# bodies WHO SQL-CONDITION: how many rows with a body match, in WHO's vault
bodies() { "$PL_TOOL" sql "$T/$1" "$PASS" "SELECT count(*) FROM entries WHERE body IS NOT NULL AND ($2)"; }

for who in coord guide sup; do
  as "$who"; expect_rc 0 "init $who" -- pl init --name "$who" "${KDF[@]}" --json
done
as coord
expect_rc 0 "org init" -- pl org init --name "Peer support Vejle" --json
ORGFP="$(json 'j["fingerprint"]')"
enrol "$ORGFP" guide:guide sup:supervisor

as guide
expect_rc 0 "consent" -- pl consent grant --subject new \
  --scopes peer-support,record-keeping,supervision-sharing --valid-from 2026-01-01 \
  --name "Erase Marker-Name" --contact "erase-marker@example.org" --json
SUBJ="$(json 'j["subject"]')"
expect_rc 0 "another citizen" -- pl consent grant --subject new --scopes peer-support,record-keeping \
  --valid-from 2026-01-01 --json
KEEP="$(json 'j["subject"]')"
printf 'ERASE-MARKER session note\n' > "$T/note"
expect_rc 0 "session" -- pl session add --subject "$SUBJ" --date 2026-02-01 --minutes 60 \
  --kind one-to-one --note-file "$T/note" --json
SESSION="$(json 'j["entry"]')"
expect_rc 0 "kept session" -- pl session add --subject "$KEEP" --date 2026-02-01 --minutes 60 \
  --kind one-to-one --note-file "$T/note" --json
sync_all guide sup
as sup
expect_rc 0 "supervision naming the citizen" -- pl supervision add --guides "$(fp_of guide)" \
  --subjects "$SUBJ" --minutes 30 --date 2026-02-10 --note-file "$T/note" --json
SUPV="$(json 'j["entry"]')"
sync_all sup coord guide

ABOUT="(subject = '$SUBJ' AND type <> 'erase') OR type = 'supervision'"
[ "$(bodies coord "$ABOUT")" = 3 ] || fail "before: the coordinator holds 3 bodies about the citizen"

# A guide's erasure is refused and changes nothing.
as guide
expect_rc 5 "a guide may not erase" -- pl erase --subject "$SUBJ" --reason "asked" --yes
expect_in "only a coordinator" "$ERR" "says who may"
[ "$(bodies guide "subject = '$SUBJ'")" = 2 ] || fail "nothing changed at the guide"
# Confirmation: a script must say --yes; bad input.
as coord
expect_rc 2 "erasure without confirmation" -- pl erase --subject "$SUBJ" --reason "asked"
expect_in "cannot be undone" "$ERR" "says why"
expect_rc 2 "no reason" -- pl erase --subject "$SUBJ" --yes
expect_rc 2 "a bad pseudonym" -- pl erase --subject bob --reason x --yes
expect_rc 1 "a citizen this vault does not know" -- pl erase --subject B-0000-0000 --reason x --yes
[ "$(bodies coord "$ABOUT")" = 3 ] || fail "nothing erased by refused commands"

# Needles for the byte search: three 16-byte slices of each body about the citizen (the
# encrypted bodies, as vault.db pages and bundle records carry them; three, so that one
# slice lies whole in a page however the body is split), and the name, contact and note
# marker themselves (which must never be in any file in the clear).
# slices WHO CONDITION: the slices of the bodies that match, body by body (3 lines each)
slices() { "$PL_TOOL" sql "$T/$1" "$PASS" "SELECT hex(substr(body, 1 + 16 * k, 16)) FROM entries,
  (SELECT 0 AS k UNION ALL SELECT 1 UNION ALL SELECT 2) WHERE ($2) AND body IS NOT NULL
  ORDER BY id, k"; }
slices coord "$ABOUT" > "$T/needles" || fail "needles"
[ "$(wc -l < "$T/needles")" = 9 ] || fail "three bodies to look for"
for m in "Erase Marker-Name" "erase-marker@example.org" "ERASE-MARKER"; do
  printf '%s' "$m" | od -An -tx1 | tr -d ' \n' >> "$T/needles"; echo >> "$T/needles"
done
slices coord "subject = '$KEEP' AND type = 'session'" > "$T/kept" || fail "kept needle"
bundles() { find "$S/feeds" -name '*.bundle' | sort; }
# find WHO NEEDLES: 0 when no needle is in WHO's decrypted vault.db, its WAL or any bundle
find_in() { "$PL_TOOL" find "$T/$1" "$PASS" "$2" $(bundles) > "$T/found" 2>"$T/find.err"; }
CHECKS=$((CHECKS + 1))
# The search can fail: before the erasure it finds every body, in the vaults and the folder.
find_in coord "$T/needles"; rc=$?
[ "$rc" = 3 ] || fail "before erasure the search finds the bodies (rc $rc: $(cat "$T/find.err"))"
for i in 0 1 2; do
  grep -Eq "^FOUND ($((3 * i))|$((3 * i + 1))|$((3 * i + 2))) vault.db" "$T/found" \
    || fail "body $i found in the coordinator's pages"
  grep -Eq "^FOUND ($((3 * i))|$((3 * i + 1))|$((3 * i + 2))) .*\.bundle$" "$T/found" \
    || fail "body $i found in a bundle file"
done
grep -Eq "^FOUND (9|10|11) " "$T/found" && fail "a marker in the clear in a decrypted page or bundle"
# Nor can it pass by reading nothing: a wrong key, no needles, a needle that is not hex.
CHECKS=$((CHECKS + 1))
# (the coordinator's pages with the guide's key slots: the passphrase opens them, the key
# they give decrypts the pages to noise)
mkdir "$T/mixed"; cp "$T/coord/vault.db" "$T/mixed/"; cp "$T/guide/keyslots" "$T/mixed/"
"$PL_TOOL" find "$T/mixed" "$PASS" "$T/needles" 2>/dev/null; rc=$?
[ "$rc" = 1 ] || fail "the search refuses pages it cannot decrypt (rc $rc)"
CHECKS=$((CHECKS + 1))
"$PL_TOOL" find "$T/coord" "$PASS" "$T/no-such-file" 2>/dev/null; rc=$?
[ "$rc" = 1 ] || fail "the search refuses a missing needle file (rc $rc)"
CHECKS=$((CHECKS + 1))
printf 'zz\n' > "$T/bad-needles"; "$PL_TOOL" find "$T/coord" "$PASS" "$T/bad-needles" 2>/dev/null; rc=$?
[ "$rc" = 1 ] || fail "the search refuses a needle that is not hex (rc $rc)"

# The coordinator erases: the bodies go, the headers stay, verify says what happened.
expect_rc 0 "erase" -- pl erase --subject "$SUBJ" --reason "the citizen asked (GDPR art. 17)" --yes --json
[ "$(json 'j["bodies_erased"]')" = 3 ] || fail "three bodies erased: $OUT"
[ "$(bodies coord "$ABOUT")" = 0 ] || fail "no body about the citizen left at the coordinator"
[ "$(bodies coord "subject = '$KEEP'")" = 2 ] || fail "the other citizen's bodies stay"
expect_rc 0 "verify after erasure" -- pl verify
expect_in "3 bodies about $SUBJ erased by entry" "$OUT" "verify reports the erasure"
expect_rc 0 "show an erased session" -- pl show "${SESSION:0:12}"
expect_in "erased by entry" "$OUT" "show says it was erased, and by which entry"
expect_rc 0 "log keeps the header" -- pl log --subject "$SUBJ" --json
expect_in "$SESSION" "$OUT" "the header is still listed"

# The folder: the coordinator's sync cannot rewrite others' files; --status names whose
# files still carry the erased content, and changes nothing.
sync_all coord
expect_rc 4 "sync --status before the others synced" -- pl sync --status "$S"
expect_in "guide" "$OUT" "the guide's laptop is listed"
expect_in "sup" "$OUT" "the supervisor's laptop is listed"
expect_in "have not synced since the erasure" "$OUT" "says what it means"
expect_rc 4 "sync --status --json" -- pl sync --status "$S" --json
[ "$(json 'sorted(f["member"] for f in j["still_erased"])')" = "['guide', 'sup']" ] \
  || fail "two feeds listed: $OUT"
[ "$(json 'sum(f["bodies"] for f in j["still_erased"])')" = 3 ] || fail "3 bodies: $OUT"
expect_rc 2 "sync --status without a folder" -- pl sync --status
expect_rc 1 "sync --status of a missing folder" -- pl sync --status "$T/nowhere"

# Meanwhile the guide, offline, writes about the citizen again.
as guide
expect_rc 0 "a late session" -- pl session add --subject "$SUBJ" --date 2026-02-15 --minutes 30 \
  --kind one-to-one --note-file "$T/note" --json
LATE="$(json 'j["entry"]')"
as guide
expect_rc 0 "the guide's sync takes the erasure" -- pl sync "$S" --json
[ "$(json 'j["bodies_erased"]')" = 4 ] || fail "consent, session, supervision and the late session dropped: $OUT"
[ "$(json 'j["bundles_rewritten"]')" = 1 ] || fail "the guide's file rewritten: $OUT"
[ "$(json 'j["bodies_removed"]')" = 2 ] || fail "two bodies left the folder: $OUT"
sync_all sup coord
as coord
expect_rc 0 "sync --status after everyone synced" -- pl sync --status "$S"
expect_in "No file in the folder carries" "$OUT" "the folder is clean"
# The byte search: no vault file (pages, WAL) and no bundle holds an erased body or a marker.
for who in coord guide sup; do
  CHECKS=$((CHECKS + 1))
  find_in "$who" "$T/needles"; rc=$?
  [ "$rc" = 0 ] || fail "$who: erased content still in a file (rc $rc): $(cat "$T/found" "$T/find.err")"
  CHECKS=$((CHECKS + 1))
  find_in "$who" "$T/kept"; rc=$?
  [ "$rc" = 3 ] || fail "$who: the search still finds the other citizen's session (rc $rc)"
  grep -q "vault.db" "$T/found" || fail "$who: ... in its own pages, not only in the folder"
done
CHECKS=$((CHECKS + 1))
grep -rqa -e "Erase Marker-Name" -e "erase-marker@example.org" -e "ERASE-MARKER" \
  "$T/coord" "$T/guide" "$T/sup" "$S" && fail "a marker in the clear in some file"
for who in coord guide sup; do
  [ "$(bodies "$who" "$ABOUT")" = 0 ] || fail "$who: no body about the citizen after sync"
  as "$who"; expect_rc 0 "verify at $who" -- pl verify --json
  [ "$(json '[e["subject"] for e in j["erasures"]]')" = "['$SUBJ']" ] || fail "$who: erasure listed: $OUT"
done
[ "$(bodies coord "subject = '$KEEP'")" = 2 ] || fail "the other citizen's bodies stay at the coordinator"
as coord
expect_rc 0 "the late session's header arrived" -- pl log --subject "$SUBJ" --json
expect_in "$LATE" "$OUT" "late header kept"
# The audit names the entry written after the erasure (its content dropped on arrival).
expect_rc 4 "audit after the erasure" -- pl audit --json
[ "$(json '[f["entry"] for f in j["findings"] if f["rule"] == "after-erasure"]')" = "['$LATE']" ] \
  || fail "one after-erasure finding, the late session: $OUT"
# Nothing more is written about an erased citizen, at any vault that holds the erasure.
as guide
expect_rc 1 "no new consent for an erased citizen" -- pl consent grant --subject "$SUBJ" \
  --scopes peer-support --valid-from 2026-03-01
expect_in "was erased" "$ERR" "says why"
as sup
expect_rc 1 "no supervision naming an erased citizen" -- pl supervision add \
  --guides "$(fp_of guide)" --subjects "$SUBJ" --minutes 30 --date 2026-03-01
expect_in "a new consent needs a new pseudonym" "$ERR" "says what to do"
# Erasing again finds nothing more to erase, and that is fine.
as coord
expect_rc 0 "erase twice" -- pl erase --subject "$SUBJ" --reason "again" --yes --json
[ "$(json 'j["bodies_erased"]')" = 0 ] || fail "nothing left: $OUT"
expect_rc 0 "verify after two erasures" -- pl verify

# Another peerlog reading the vault holds the WAL checkpoint back: the erasure commits, keeps
# a mark, and the next open completes the checkpoint. Killed (no clean close, which would
# checkpoint too), the reader leaves the old pages in vault.db until then.
"$PL_TOOL" sql "$T/coord" "$PASS" "SELECT hex(substr(body, 1, 48)) FROM entries
  WHERE subject = '$KEEP' AND body IS NOT NULL" > "$T/kept" || fail "kept needles"
"$PL_TOOL" hold "$T/coord" "$PASS" 60 > "$T/hold" & HOLDER=$!
for _ in $(seq 100); do grep -q holding "$T/hold" && break; sleep 0.1; done
as coord
expect_rc 0 "erase while another peerlog reads" -- pl erase --subject "$KEEP" --reason "asked" --yes
[ "$("$PL_TOOL" sql "$T/coord" "$PASS" "SELECT v FROM vault_meta WHERE k = 'wal_scrub'")" = 1 ] \
  || fail "the checkpoint is still owed"
kill -9 "$HOLDER"; wait "$HOLDER" 2>/dev/null
CHECKS=$((CHECKS + 1))
"$PL_TOOL" find "$T/coord" "$PASS" "$T/kept" > "$T/found" 2>"$T/find.err"; rc=$?
[ "$rc" = 3 ] || fail "before the owed checkpoint, vault.db still holds the old pages (rc $rc)"
expect_rc 0 "the next open checkpoints" -- pl verify
[ -z "$("$PL_TOOL" sql "$T/coord" "$PASS" "SELECT v FROM vault_meta WHERE k = 'wal_scrub'")" ] \
  || fail "the mark is cleared"
CHECKS=$((CHECKS + 1))
"$PL_TOOL" find "$T/coord" "$PASS" "$T/kept" > "$T/found" 2>"$T/find.err"; rc=$?
[ "$rc" = 0 ] || fail "after it, no old page holds the body (rc $rc): $(cat "$T/found")"

# A body removed without an erasure is still tampering.
"$PL_TOOL" sql "$T/coord" "$PASS" "DROP TRIGGER entries_no_update; UPDATE entries SET body = NULL
  WHERE type = 'member.add';" || fail "tamper"
expect_rc 4 "a body removed without erasure" -- pl verify
expect_in "removed without an erasure entry" "$ERR" "named"
done_tests
