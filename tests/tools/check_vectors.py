#!/usr/bin/env python3
"""Recomputes the test vectors of formats/entry.md, keyslots.md, records.md, checkpoint.md and
receipt.md with Python's hashlib only (no libsodium): ids, body hashes, subkeys, fingerprints,
key hashes, receipt ids, byte layouts, base32.
Ed25519 signatures are checked too when the 'cryptography' package happens to be installed.
Usage: check_vectors.py [FORMATS_DIR]. Exit 0 when every check passes."""
import base64
import hashlib
import json
import os
import re
import struct
import sys
import uuid

FAILED = []


def check(cond, what):
    if not cond:
        FAILED.append(what)
        print("FAIL:", what)


def vectors(path):
    """Name -> bytes (hex blocks) or str (same-line text) from the ``` blocks of a .md file."""
    out, name, fenced = {}, None, False
    for line in open(path, encoding="utf-8"):
        line = line.rstrip("\n")
        if line.startswith("```"):
            fenced, name = not fenced, None
            continue
        if not fenced:
            continue
        m = re.match(r"^(\w[\w.]*) =(?: (.*))?$", line)
        if m:
            name = m.group(1)
            out[name] = m.group(2) if m.group(2) is not None else ""
        elif name and re.match(r"^    [0-9a-f]+$", line):
            out[name] += line.strip()
    return {k: (bytes.fromhex(v) if re.fullmatch(r"([0-9a-f]{2})+", v) and "." in k
                and not k.endswith((".code", ".pseudonym", ".plain")) else v)
            for k, v in out.items()}


def b2(data, size=32, **kw):
    return hashlib.blake2b(data, digest_size=size, **kw).digest()


def counting(first, n):
    return bytes((first + i) & 0xFF for i in range(n))


def parse_header(h):
    """entry.md §1, field by field; returns a dict and checks nothing is left over."""
    f, o = {}, 0

    def take(n):
        nonlocal o
        b = h[o:o + n]
        check(len(b) == n, "header truncated")
        o += n
        return b
    f["version"] = take(1)[0]
    f["type"] = take(take(1)[0]).decode()
    f["feed"], f["seq"] = take(32), struct.unpack("<Q", take(8))[0]
    f["prev"], f["time_ms"] = take(32), struct.unpack("<q", take(8))[0]
    f["subject"] = take(take(1)[0]).decode()
    f["refs"] = [take(32) for _ in range(take(1)[0])]
    f["meta"] = take(struct.unpack("<H", take(2))[0]).decode()
    f["box_pk"] = take(32)
    f["rcpt"] = [take(32) for _ in range(take(1)[0])]
    f["body_len"], f["body_hash"] = struct.unpack("<I", take(4))[0], take(32)
    check(o == len(h), "header has trailing bytes")
    return f


B32 = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def base32(data):
    v, bits = int.from_bytes(data, "big"), 8 * len(data)
    return "".join(B32[(v >> (bits - 5 * (i + 1))) & 31] for i in range(bits // 5))


def ed25519_checks(pairs):
    try:
        from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
    except ImportError:
        print("note: 'cryptography' not installed; Ed25519 signatures not rechecked")
        return
    for pk, sig, msg, what in pairs:
        try:
            Ed25519PublicKey.from_public_bytes(pk).verify(sig, msg)
        except Exception:  # InvalidSignature or a malformed key
            check(False, what)


def check_entry(v):
    spk, bpk, rpk = v["author.sign_pk"], v["author.box_pk"], v["recipient.box_pk"]
    check(v["author.sign_sk"] == counting(0x00, 32) + spk, "author.sign_sk = seed || pk")
    check(v["author.box_sk"] == hashlib.sha512(counting(0x20, 32)).digest()[:32], "author.box_sk")
    check(v["recipient.box_sk"] == hashlib.sha512(counting(0x40, 32)).digest()[:32],
          "recipient.box_sk")
    sigs = []
    for n, seq in (("H1", 1), ("H2", 2)):
        hdr, body = v[n + ".header"], v[n + ".body"]
        check(b2(b"peerlog/v1/entry-id\0" + hdr) == v[n + ".id"], n + ".id")
        check(b2(b"peerlog/v1/body-hash\0" + body) == v[n + ".body_hash"], n + ".body_hash")
        check(len(body) == len(v[n + ".plain"]) + 40, n + ".body length")
        f = parse_header(hdr)
        check(f["version"] == 1 and f["feed"] == spk and f["box_pk"] == bpk, n + " keys")
        check(f["seq"] == seq and f["body_len"] == len(body), n + " seq/body_len")
        check(f["body_hash"] == v[n + ".body_hash"], n + " body_hash field")
        sigs.append((spk, v[n + ".sig"], b"peerlog/v1/entry-sig\0" + v[n + ".id"], n + ".sig"))
    f1, f2 = parse_header(v["H1.header"]), parse_header(v["H2.header"])
    check(f1["type"] == "note" and f1["prev"] == bytes(32) and f1["time_ms"] == 1709629200000
          and f1["subject"] == "" and f1["refs"] == [] and f1["meta"] == ""
          and f1["rcpt"] == [bpk], "H1 fields")
    check(f2["type"] == "consent.withdraw" and f2["prev"] == v["H1.id"]
          and f2["time_ms"] == 1711967400000 and f2["subject"] == "B-7K3Q-9F2M"
          and f2["refs"] == [b"\x22" * 32]
          and f2["meta"] == "date=2024-04-01\nscopes=record-keeping\n"
          and f2["rcpt"] == [bpk, rpk], "H2 fields")
    check(v["H2.body_ad"] == b"peerlog/v1/body\0" + spk + struct.pack("<Q", 2), "H2.body_ad")
    check(v["H2.sig_message"] == b"peerlog/v1/entry-sig\0" + v["H2.id"], "H2.sig_message")
    w = v["H2.wraps"]
    check(len(w) == 144 and w[:24] == counting(0xD0, 24) and w[72:96] == counting(0xE8, 24),
          "H2.wraps layout")
    p = base32(v["P1.random"])
    check("B-%s-%s" % (p[:4], p[4:]) == v["P1.pseudonym"], "P1.pseudonym")
    for n in ("R1", "R2"):
        c = base32(v[n + ".random"])
        check("-".join(c[i:i + 4] for i in range(0, 24, 4)) == v[n + ".code"], n + ".code")
    return sigs


def check_keyslots(v, e):
    master = v["KS.master"]
    for i in (1, 2):
        salt, person = struct.pack("<Q", i) + bytes(8), b"plvault1" + bytes(8)
        sub = b2(b"", key=master, salt=salt, person=person)
        check(sub == v["KS.subkey%d" % i], "KS.subkey%d" % i)
    check(v["KS.sqlcipher_key"] == "x'%s'" % v["KS.subkey1"].hex(), "KS.sqlcipher_key")
    f = v["KS.file"]
    check(f[:8] == b"PLKS\x01\x02\x00\x00" and len(f) == 8 + 2 * 104, "KS.file header")
    for i, kind in ((0, 1), (1, 2)):
        s = f[8 + 104 * i:8 + 104 * (i + 1)]
        check(s[:16] == struct.pack("<BBHIII", kind, 1, 0, 8192, 1, 1), "slot %d params" % i)
        check(s[16:32] == v["KS.salt%d" % (i + 1)] and s[32:56] == v["KS.nonce%d" % (i + 1)],
              "slot %d salt/nonce" % i)
        check(s[56:] == v["KS.slot%d_ct" % (i + 1)], "slot %d ct" % i)
    check(v["KS.slot1_ad"] == b"peerlog/v1/keyslot\0\x01" + f[8:64], "KS.slot1_ad")
    check(v["ID.ad"] == b"peerlog/v1/identity-secrets\0" + e["author.sign_pk"] + e["author.box_pk"],
          "ID.ad")
    check(len(v["ID.secrets"]) == 136 and v["ID.secrets"][:24] == v["ID.nonce"], "ID.secrets")


def check_records(v, e, path):
    spk, bpk = e["author.sign_pk"], e["author.box_pk"]
    fp = b2(b"peerlog/v1/fingerprint\0" + spk + bpk, 16)
    check(fp == v["EX.fingerprint"], "EX.fingerprint")
    msg = b"peerlog/v1/identity-export\0" + spk + bpk + struct.pack("<H", 10) + b"Test Guide"
    check(msg == v["EX.message"], "EX.message")
    line = [l for l in open(path, encoding="utf-8") if l.startswith('{"type":"peerlog.identity"')]
    j = json.loads(line[0]) if len(line) == 1 else {}
    check(j == {"type": "peerlog.identity", "version": 1, "name": "Test Guide",
                "sign_pk": spk.hex(), "box_pk": bpk.hex(), "fingerprint": fp.hex(),
                "sig": v["EX.sig"].hex()}, "identity export JSON")
    return [(spk, v["EX.sig"], msg, "EX.sig")]


def check_checkpoint(v, e, r, path):
    """checkpoint.md §9: key hashes (SHA-256), the text from its fields, the files line by line."""
    spk, wpk = e["author.sign_pk"], v["CP.witness_pk"]
    name = "peerlog-auditor-" + r["EX.fingerprint"].hex()
    check(v["CP1.key_name"] == name, "CP1.key_name")
    check(v["CP1.keyhash_input"] == name.encode() + b"\n\x01" + spk, "CP1.keyhash_input")
    check(hashlib.sha256(v["CP1.keyhash_input"]).digest()[:4] == v["CP1.keyhash"], "CP1.keyhash")
    text = ("peerlog/org/0123456789abcdef0123456789abcdef\n"
            "%s 2 %s\n%s %d %s\n" % (spk.hex(), e["H2.id"].hex(), wpk.hex(), 2**63 - 1,
                                     counting(0xC0, 32).hex())).encode()
    check(spk < wpk and v["CP1.text"] == text and len(text) == 327, "CP1.text")

    def line(name_, keyhash, sig):
        return ("\u2014 %s %s\n" % (name_, base64.b64encode(keyhash + sig).decode())).encode()
    ours = line(name, v["CP1.keyhash"], v["CP1.sig"])
    check(len(ours) == 146, "CP1 signature line length")
    check(v["CP1.file"] == text + b"\n" + ours and len(v["CP1.file"]) == 474, "CP1.file")
    wname = "witness.example/w1"
    wkh = hashlib.sha256(wname.encode() + b"\n\x01" + wpk).digest()[:4]
    check(wkh == v["CP2.witness_keyhash"], "CP2.witness_keyhash")
    witness = line(wname, wkh, v["CP2.witness_sig"])
    check(v["CP2.file"] == text + b"\n" + witness + ours and len(v["CP2.file"]) == 590,
          "CP2.file")
    md = open(path, encoding="utf-8").read()
    check(v["CP1.file"].decode() in md, "CP1 as text")
    check((witness + ours).decode() in md, "CP2 signature lines as text")
    return [(spk, v["CP1.sig"], text, "CP1.sig"),
            (wpk, v["CP2.witness_sig"], text, "CP2.witness_sig")]


def check_receipt(v, e, path):
    """receipt.md §9: the receipt id of H2.id (BLAKE2b-128, version-8 UUID) and the receipt RC2,
    re-read with Python's json: compact, keys in order, each value where §4 says."""
    rid_input = b"peerlog/v1/receipt-id\0" + e["H2.id"]
    check(v["RC1.entry"] == e["H2.id"], "RC1.entry = H2.id")
    check(v["RC1.input"] == rid_input and len(rid_input) == 54, "RC1.input")
    d = bytearray(b2(rid_input, 16))
    check(bytes(d) == v["RC1.digest"], "RC1.digest")
    d[6] = (d[6] & 0x0F) | 0x80
    d[8] = (d[8] & 0x3F) | 0x80
    check(bytes(d) == v["RC1.uuid_bytes"], "RC1.uuid_bytes")
    u = uuid.UUID(bytes=bytes(d))
    check(str(u) == v["RC1.receipt_id"] and u.version == 8 and u.variant == uuid.RFC_4122,
          "RC1.receipt_id")
    line = [l.rstrip("\n") for l in open(path, encoding="utf-8")
            if l.startswith('{"version":"KI-CR-v1.1.0"')]
    check(len(line) == 1, "RC2 once in receipt.md")
    if len(line) != 1:
        return
    text = line[0]
    check(len(text.encode()) == 2246, "RC2 length")
    check(hashlib.sha256(text.encode()).digest() == v["RC2.sha256"], "RC2.sha256")

    def no_dups(pairs):
        keys = [k for k, _ in pairs]
        check(len(keys) == len(set(keys)), "RC2 duplicate keys")
        return dict(pairs)
    j = json.loads(text, object_pairs_hook=no_dups)
    check(json.dumps(j, separators=(",", ":"), ensure_ascii=True) == text, "RC2 compact form")
    check(list(j) == ["version", "jurisdiction", "consentTimestamp", "collectionMethod",
                      "consentReceiptID", "language", "piiPrincipalId", "piiControllers",
                      "policyUrl", "services", "sensitive", "spiCat", "peerlog"], "RC2 key order")
    check(j["version"] == "KI-CR-v1.1.0" and j["consentReceiptID"] == v["RC1.receipt_id"]
          and j["consentTimestamp"] == 1709629200123 // 1000
          and j["piiPrincipalId"] == "B-7K3Q-9F2M" and j["sensitive"] is True
          and j["spiCat"] == ["Health"], "RC2 top-level values")
    c = j["piiControllers"]
    check(len(c) == 1 and list(c[0]) == ["piiController", "contact", "address", "email", "phone",
                                         "piiControllerUrl"]
          and all(isinstance(x, str) for x in c[0].values())
          and c[0]["piiControllerUrl"] == j["policyUrl"], "RC2 piiControllers")
    scopes = ["peer-support", "record-keeping", "supervision-sharing"]
    p = j["services"][0]["purposes"] if len(j["services"]) == 1 else []
    check(len(p) == 3 and [x["scope"] for x in p] == scopes
          and [x["consentState"] for x in p] == ["given", "withdrawn", "given"]
          and all(list(x) == ["purpose", "purposeCategory", "consentType", "piiCategory",
                              "primaryPurpose", "termination", "thirdPartyDisclosure", "scope",
                              "consentState"]
                  and x["consentType"] == "EXPLICIT" and x["piiCategory"] == ["Health"]
                  and x["thirdPartyDisclosure"] is False
                  and x["termination"] == "Until 2025-02-28, or until the citizen withdraws "
                                          "consent" for x in p)
          and [x["primaryPurpose"] for x in p] == [True, False, False], "RC2 purposes")
    x = j["peerlog"]
    check(x["verificationCode"] == e["H2.id"].hex()
          and x["organisation"] == "0123456789abcdef0123456789abcdef"
          and x["validFrom"] == "2024-03-01" and x["validUntil"] == "2025-02-28"
          and x["consentState"] == "given" and x["scopes"] == scopes
          and x["withdrawnOn"] == "2024-04-01" and x["issued"] == "2024-04-02"
          and x["withdraw"].startswith("Tell your peer-guide or the coordinator (+45 12 34 56 78) ")
          and "--subject B-7K3Q-9F2M'" in x["withdraw"], "RC2 peerlog object")


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    fmt = sys.argv[1] if len(sys.argv) > 1 else os.path.join(here, "..", "..", "formats")
    e = vectors(os.path.join(fmt, "entry.md"))
    sigs = check_entry(e)
    check_keyslots(vectors(os.path.join(fmt, "keyslots.md")), e)
    rec = os.path.join(fmt, "records.md")
    r = vectors(rec)
    sigs += check_records(r, e, rec)
    cp = os.path.join(fmt, "checkpoint.md")
    sigs += check_checkpoint(vectors(cp), e, r, cp)
    rc = os.path.join(fmt, "receipt.md")
    check_receipt(vectors(rc), e, rc)
    ed25519_checks(sigs)
    print("%s: %d failed" % (os.path.basename(sys.argv[0]), len(FAILED)))
    return 1 if FAILED else 0


if __name__ == "__main__":
    sys.exit(main())
