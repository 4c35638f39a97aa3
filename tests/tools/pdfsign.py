#!/usr/bin/env python3
"""Test PDF signer, independent of the gateway: Python 3 stdlib for the PDF side, the openssl CLI
for CMS, RFC 3161 timestamps and keys, faketime for times in the past.

Makes base PDFs (classic xref table, or xref stream + object stream), adds signatures as
incremental updates (adbe.pkcs7.detached, ETSI.CAdES.detached, adbe.pkcs7.sha1, ETSI.RFC3161
document timestamps, DocMDP certification), embeds signature timestamps as the unsigned
attribute id-aa-signatureTimeStampToken, and has hooks to build attacks (odd ByteRanges, CMS
edits, later revisions). Library use: see tests/fixtures/sig/make_fixtures.py. CLI:
  pdfsign.py base OUT [--pages N] [--xref-stream] [--text-field]
  pdfsign.py sign IN OUT --cert C --key K --chain CHAIN [--subfilter S] [--md sha256]
             [--time "YYYY-MM-DD HH:MM:SS"] [--tsa-config tsa.cnf --ts-time T] [--field NAME]
             [--name NAME] [--docmdp P]
  pdfsign.py doc-timestamp IN OUT --tsa-config tsa.cnf [--ts-time T]
  pdfsign.py ranges IN N OUT   (writes the bytes signature N's ByteRange covers)
"""
import argparse
import datetime
import hashlib
import os
import re
import subprocess
import sys
import tempfile
import zlib

# ---------------------------------------------------------------------------------------------
# PDF values


class Name(str):
    pass


class Ref(tuple):
    def __new__(cls, num, gen=0):
        return tuple.__new__(cls, (num, gen))

    num = property(lambda s: s[0])
    gen = property(lambda s: s[1])


class HexStr(bytes):
    pass


class Raw(bytes):
    """Emitted verbatim (placeholders)."""


class Stream:
    def __init__(self, d, data):
        self.d = dict(d)
        self.data = data


def _name(n):
    out = b"/"
    for ch in n.encode("utf-8"):
        if ch < 33 or ch > 126 or chr(ch) in "()<>[]{}/%#":
            out += b"#%02X" % ch
        else:
            out += bytes([ch])
    return out


def _lit(b):
    return b"(" + b.replace(b"\\", b"\\\\").replace(b"(", b"\\(").replace(b")", b"\\)").replace(b"\r", b"\\r") + b")"


def text(s):
    """A PDF text string: PDFDocEncoding subset when ASCII, UTF-16BE with BOM otherwise."""
    try:
        return s.encode("ascii")
    except UnicodeEncodeError:
        return HexStr(b"\xfe\xff" + s.encode("utf-16-be"))


def ser(v):
    if v is None:
        return b"null"
    if v is True:
        return b"true"
    if v is False:
        return b"false"
    if isinstance(v, Raw):
        return bytes(v)
    if isinstance(v, Ref):
        return b"%d %d R" % (v[0], v[1])
    if isinstance(v, Name):
        return _name(v)
    if isinstance(v, int):
        return b"%d" % v
    if isinstance(v, float):
        return ("%.4f" % v).rstrip("0").rstrip(".").encode()
    if isinstance(v, HexStr):
        return b"<" + bytes(v).hex().upper().encode() + b">"
    if isinstance(v, bytes):
        return _lit(v)
    if isinstance(v, str):
        return ser(text(v))
    if isinstance(v, list):
        return b"[" + b" ".join(ser(x) for x in v) + b"]"
    if isinstance(v, dict):
        return b"<<" + b"".join(_name(k) + b" " + ser(x) for k, x in v.items()) + b">>"
    if isinstance(v, Stream):
        d = dict(v.d)
        d["Length"] = len(v.data)
        return ser(d) + b"\nstream\n" + v.data + b"\nendstream"
    raise TypeError("cannot serialise %r" % (v,))


def indirect(num, v, gen=0):
    return b"%d %d obj\n" % (num, gen) + ser(v) + b"\nendobj\n"


# ---------------------------------------------------------------------------------------------
# Parser (enough for what this file writes, and for simple files from other tools)

WS = b" \t\r\n\x0c\x00"
DELIM = b"()<>[]{}/%"


def _skip(b, i):
    n = len(b)
    while i < n:
        c = b[i : i + 1]
        if c in (b" ", b"\t", b"\r", b"\n", b"\x0c", b"\x00"):
            i += 1
        elif c == b"%":
            while i < n and b[i : i + 1] not in (b"\r", b"\n"):
                i += 1
        else:
            break
    return i


def _token_end(b, i):
    n = len(b)
    while i < n and b[i] not in WS and b[i] not in DELIM:
        i += 1
    return i


_NUM = re.compile(rb"[+-]?(\d+\.?\d*|\.\d+)")
_REF = re.compile(rb"(\d+)\s+(\d+)\s+R(?![A-Za-z0-9])")


def parse_value(b, i):
    i = _skip(b, i)
    c = b[i : i + 1]
    if b[i : i + 2] == b"<<":
        d = {}
        i += 2
        while True:
            i = _skip(b, i)
            if b[i : i + 2] == b">>":
                return d, i + 2
            k, i = parse_value(b, i)
            if not isinstance(k, Name):
                raise ValueError("dictionary key at %d" % i)
            v, i = parse_value(b, i)
            d[str(k)] = v
    if c == b"<":
        j = b.index(b">", i)
        h = re.sub(rb"\s", b"", b[i + 1 : j])
        if len(h) % 2:
            h += b"0"
        return HexStr(bytes.fromhex(h.decode())), j + 1
    if c == b"(":
        out = bytearray()
        depth = 0
        i += 1
        while True:
            ch = b[i]
            if ch == 0x5C:  # backslash
                nx = b[i + 1 : i + 2]
                esc = {b"n": b"\n", b"r": b"\r", b"t": b"\t", b"b": b"\b", b"f": b"\f"}
                if nx in esc:
                    out += esc[nx]
                    i += 2
                elif nx in (b"\r", b"\n"):
                    i += 2
                    if nx == b"\r" and b[i : i + 1] == b"\n":
                        i += 1
                elif nx.isdigit():
                    m = re.match(rb"[0-7]{1,3}", b[i + 1 : i + 4])
                    out.append(int(m.group(), 8) & 0xFF)
                    i += 1 + len(m.group())
                else:
                    out += nx
                    i += 2
                continue
            if ch == 0x28:
                depth += 1
            elif ch == 0x29:
                if depth == 0:
                    return bytes(out), i + 1
                depth -= 1
            out.append(ch)
            i += 1
    if c == b"[":
        arr = []
        i += 1
        while True:
            i = _skip(b, i)
            if b[i : i + 1] == b"]":
                return arr, i + 1
            v, i = parse_value(b, i)
            arr.append(v)
    if c == b"/":
        j = _token_end(b, i + 1)
        raw = re.sub(rb"#([0-9A-Fa-f]{2})", lambda m: bytes([int(m.group(1), 16)]), b[i + 1 : j])
        return Name(raw.decode("utf-8", "replace")), j
    m = _REF.match(b, i)
    if m:
        return Ref(int(m.group(1)), int(m.group(2))), m.end()
    m = _NUM.match(b, i)
    if m:
        s = m.group()
        return (float(s) if b"." in s else int(s)), m.end()
    j = _token_end(b, i)
    word = b[i:j]
    if word == b"true":
        return True, j
    if word == b"false":
        return False, j
    if word == b"null":
        return None, j
    raise ValueError("unexpected %r at %d" % (b[i : i + 20], i))


def _png_unpredict(data, columns):
    out = bytearray()
    prev = bytearray(columns)
    row = columns + 1
    for k in range(0, len(data), row):
        t, line = data[k], bytearray(data[k + 1 : k + row])
        if t == 2:
            line = bytearray((line[x] + prev[x]) & 0xFF for x in range(len(line)))
        elif t == 1:
            for x in range(1, len(line)):
                line[x] = (line[x] + line[x - 1]) & 0xFF
        elif t != 0:
            raise ValueError("PNG predictor %d not supported" % t)
        out += line
        prev = line
    return bytes(out)


def decode_stream(s):
    data = s.data
    f = s.d.get("Filter")
    if f in ("FlateDecode", ["FlateDecode"]):
        data = zlib.decompress(data)
        p = s.d.get("DecodeParms") or {}
        if isinstance(p, list):
            p = p[0] or {}
        if p.get("Predictor", 1) >= 10:
            data = _png_unpredict(data, p.get("Columns", 1))
    elif f:
        raise ValueError("filter %r not supported" % f)
    return data


class Pdf:
    """Reads the last revision of a PDF: trailer, xref (tables, streams, /Prev chain), objects."""

    def __init__(self, data):
        self.data = data
        m = list(re.finditer(rb"startxref\s+(\d+)", data[-2048:]))
        if not m:
            raise ValueError("no startxref")
        self.startxref = int(m[-1].group(1))
        self.xref = {}
        self.trailer = None
        self.kind = None
        self._cache = {}
        off, seen = self.startxref, set()
        while off is not None and off not in seen:
            seen.add(off)
            trailer, kind = self._read_section(off)
            if self.trailer is None:
                self.trailer, self.kind = trailer, kind
            off = trailer.get("Prev")

    def _read_section(self, off):
        b = self.data
        i = _skip(b, off)
        if b[i : i + 4] == b"xref":
            i += 4
            while True:
                i = _skip(b, i)
                if b[i : i + 7] == b"trailer":
                    trailer, _ = parse_value(b, i + 7)
                    return trailer, "table"
                m = re.compile(rb"(\d+)\s+(\d+)").match(b, i)
                start, count = int(m.group(1)), int(m.group(2))
                i = _skip(b, m.end())
                for k in range(count):
                    e = b[i : i + 20]
                    if start + k not in self.xref and e[17:18] == b"n":
                        self.xref[start + k] = ("n", int(e[0:10]))
                    elif start + k not in self.xref:
                        self.xref[start + k] = ("f", 0)
                    i += 20
        num, obj, _ = self._read_at(i)
        if not isinstance(obj, Stream) or obj.d.get("Type") != "XRef":
            raise ValueError("no xref at %d" % off)
        data = decode_stream(obj)
        w = obj.d["W"]
        idx = obj.d.get("Index", [0, obj.d["Size"]])
        p = 0
        for s, c in zip(idx[0::2], idx[1::2]):
            for k in range(c):
                f = []
                for width in w:
                    f.append(int.from_bytes(data[p : p + width], "big") if width else None)
                    p += width
                t = 1 if f[0] is None else f[0]
                if s + k in self.xref:
                    continue
                if t == 1:
                    self.xref[s + k] = ("n", f[1])
                elif t == 2:
                    self.xref[s + k] = ("c", f[1], f[2])
                else:
                    self.xref[s + k] = ("f", 0)
        return obj.d, "stream"

    def _read_at(self, off):
        b = self.data
        m = re.compile(rb"\s*(\d+)\s+(\d+)\s+obj").match(b, off)
        if not m:
            raise ValueError("no object at %d" % off)
        v, i = parse_value(b, m.end())
        i = _skip(b, i)
        if b[i : i + 6] == b"stream":
            i += 6
            if b[i : i + 2] == b"\r\n":
                i += 2
            elif b[i : i + 1] in (b"\n", b"\r"):
                i += 1
            n = v["Length"]
            if isinstance(n, Ref):
                n = self.get(n)
            v = Stream(v, b[i : i + n])
            i += n
        return int(m.group(1)), v, i

    def get(self, ref):
        if isinstance(ref, Ref):
            num = ref.num
        elif isinstance(ref, int):
            num = ref
        else:
            return ref
        if num in self._cache:
            return self._cache[num]
        e = self.xref.get(num)
        if e is None or e[0] == "f":
            v = None
        elif e[0] == "n":
            v = self._read_at(e[1])[1]
        else:
            stm = self.get(e[1])
            data = decode_stream(stm)
            first, n = stm.d["First"], stm.d["N"]
            head = data[:first].split()
            offs = [int(x) for x in head[1 : 2 * n : 2]]
            v = parse_value(data, first + offs[e[2]])[0]
        self._cache[num] = v
        return v

    def size(self):
        return max(self.trailer.get("Size", 0), max(self.xref) + 1 if self.xref else 0)

    def pages(self):
        out = []

        def walk(ref):
            node = self.get(ref)
            if node.get("Type") == "Pages":
                for k in node["Kids"]:
                    walk(k)
            else:
                out.append(ref)

        walk(self.get(self.trailer["Root"])["Pages"])
        return out

    def signatures(self):
        """[(field_ref, sig_dict)] in field order."""
        root = self.get(self.trailer["Root"])
        af = self.get(root.get("AcroForm")) or {}
        out = []
        for f in self.get(af.get("Fields")) or []:
            fd = self.get(f)
            if fd.get("FT") == "Sig" and fd.get("V") is not None:
                out.append((f, self.get(fd["V"])))
        return out


# ---------------------------------------------------------------------------------------------
# Writing: base documents and incremental updates

HEADER = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n"


def page_content(lines, y0=780):
    ops = [b"BT /F1 12 Tf 14 TL 56 %d Td" % y0]
    for ln in lines:
        ops.append(_lit(ln.encode("latin-1")) + b" '")
    ops.append(b"ET")
    return Stream({}, b"\n".join(ops))


def _xref_table(entries, trailer):
    """entries: {num: offset}; writes subsections of consecutive numbers."""
    nums = sorted(entries)
    out = [b"xref\n"]
    k = 0
    while k < len(nums):
        j = k
        while j + 1 < len(nums) and nums[j + 1] == nums[j] + 1:
            j += 1
        out.append(b"%d %d\n" % (nums[k], j - k + 1))
        for n in nums[k : j + 1]:
            if entries[n] is None:
                out.append(b"0000000000 65535 f \n")
            else:
                out.append(b"%010d 00000 n \n" % entries[n])
        k = j + 1
    out.append(b"trailer\n" + ser(trailer) + b"\n")
    return b"".join(out)


def _xref_stream(num, entries, trailer, offset):
    """entries: {num: ("n", off) | ("c", stm, idx) | None}; the stream is object num at offset."""
    entries = dict(entries)
    entries[num] = ("n", offset)
    nums = sorted(entries)
    index, rows = [], b""
    k = 0
    while k < len(nums):
        j = k
        while j + 1 < len(nums) and nums[j + 1] == nums[j] + 1:
            j += 1
        index += [nums[k], j - k + 1]
        for n in nums[k : j + 1]:
            e = entries[n]
            if e is None:
                rows += b"\x00" + (0).to_bytes(4, "big") + (65535).to_bytes(2, "big")
            elif e[0] == "n":
                rows += b"\x01" + e[1].to_bytes(4, "big") + b"\x00\x00"
            else:
                rows += b"\x02" + e[1].to_bytes(4, "big") + e[2].to_bytes(2, "big")
        k = j + 1
    d = dict(trailer)
    d.update({"Type": Name("XRef"), "W": [1, 4, 2], "Index": index, "Filter": Name("FlateDecode")})
    return indirect(num, Stream(d, zlib.compress(rows)))


def _doc_id(seed):
    return HexStr(hashlib.md5(seed).digest())


def make_base(pages=1, xref_stream=False, text_field=False, extra=None, title="Công văn thử nghiệm"):
    """A small document: 1-2 pages of text (Helvetica), optionally an AcroForm text field on
    page 1 and extra unreferenced objects (extra: {num: value}, numbers from 20 up)."""
    texts = [
        [
            "UBND TINH BINH DUONG - SO THONG TIN VA TRUYEN THONG",
            "So: 123/STTTT-VP",
            "V/v thu nghiem chu ky so tren van ban dien tu",
            "Kinh gui: Cac co quan, don vi",
            "Noi dung: van ban nay duoc tao de kiem thu xac thuc chu ky.",
        ],
        ["Trang 2", "Noi nhan: nhu tren; luu VT."],
    ]
    objs = {}
    kids = []
    font = {"Type": Name("Font"), "Subtype": Name("Type1"), "BaseFont": Name("Helvetica"),
            "Encoding": Name("WinAnsiEncoding")}
    objs[5] = font
    for p in range(pages):
        pn, cn = (3, 4) if p == 0 else (6 + 2 * (p - 1), 7 + 2 * (p - 1))
        objs[cn] = page_content(texts[min(p, 1)])
        objs[pn] = {"Type": Name("Page"), "Parent": Ref(2), "MediaBox": [0, 0, 595, 842],
                    "Resources": {"Font": {"F1": Ref(5)}}, "Contents": Ref(cn)}
        kids.append(Ref(pn))
    objs[2] = {"Type": Name("Pages"), "Kids": kids, "Count": len(kids)}
    objs[1] = {"Type": Name("Catalog"), "Pages": Ref(2)}
    objs[10] = {"Title": title, "Producer": b"pdfsign.py (test fixtures)",
                "CreationDate": b"D:20240515080000+07'00'"}
    if text_field:
        objs[11] = {"Type": Name("Annot"), "Subtype": Name("Widget"), "FT": Name("Tx"), "T": b"approval",
                    "V": b"", "Rect": [56, 600, 300, 620], "P": Ref(3), "F": 4, "DA": b"/F1 10 Tf 0 g"}
        objs[3]["Annots"] = [Ref(11)]
        objs[1]["AcroForm"] = {"Fields": [Ref(11)], "DA": b"/F1 10 Tf 0 g", "DR": {"Font": {"F1": Ref(5)}}}
    for n, v in (extra or {}).items():
        objs[n] = v
    size = max(objs) + 1
    fid = _doc_id(repr(sorted(objs)).encode() + title.encode() + bytes([pages, xref_stream, text_field]))
    trailer = {"Size": size, "Root": Ref(1), "Info": Ref(10), "ID": [fid, fid]}
    out = bytearray(HEADER)
    if not xref_stream:
        entries = {0: None}
        for n in sorted(objs):
            entries[n] = len(out)
            out += indirect(n, objs[n])
        x = len(out)
        out += _xref_table(entries, trailer)
    else:
        stm_num, xref_num = size, size + 1
        trailer["Size"] = size + 2
        entries = {0: None}
        packed = [n for n in sorted(objs) if not isinstance(objs[n], Stream)]
        for n in sorted(objs):
            if isinstance(objs[n], Stream):
                entries[n] = ("n", len(out))
                out += indirect(n, objs[n])
        head, body = [], b""
        for k, n in enumerate(packed):
            head.append(b"%d %d" % (n, len(body)))
            body += ser(objs[n]) + b"\n"
            entries[n] = ("c", stm_num, k)
        head = b" ".join(head) + b"\n"
        entries[stm_num] = ("n", len(out))
        out += indirect(stm_num, Stream({"Type": Name("ObjStm"), "N": len(packed), "First": len(head),
                                         "Filter": Name("FlateDecode")}, zlib.compress(head + body)))
        x = len(out)
        out += _xref_stream(xref_num, entries, trailer, x)
    out += b"startxref\n%d\n%%%%EOF\n" % x
    return bytes(out)


def update(data, objs, with_xref=True, kind=None):
    """Appends an incremental update with objs {num: value}; returns (bytes, {num: offset}).
    The xref section has the kind of the previous one unless kind says otherwise."""
    doc = Pdf(data)
    kind = kind or doc.kind
    out = bytearray(data)
    if not out.endswith(b"\n"):
        out += b"\n"
    offs = {}
    for n in sorted(objs):
        offs[n] = len(out)
        out += indirect(n, objs[n])
    if not with_xref:
        return bytes(out), offs
    size = max(doc.size(), max(objs) + 1)
    t = doc.trailer
    ids = t.get("ID")
    fid = ids[0] if ids else _doc_id(data[:1024])
    trailer = {"Size": size, "Root": t["Root"], "Prev": doc.startxref,
               "ID": [fid, _doc_id(bytes(out[-4096:]) + b"%d" % len(out))]}
    if "Info" in t:
        trailer["Info"] = t["Info"]
    x = len(out)
    if kind == "table":
        out += _xref_table({n: offs[n] for n in objs}, trailer)
    else:
        trailer["Size"] = size + 1
        out += _xref_stream(size, {n: ("n", offs[n]) for n in objs}, trailer, x)
    out += b"startxref\n%d\n%%%%EOF\n" % x
    return bytes(out), offs


# ---------------------------------------------------------------------------------------------
# DER (just what CMS editing needs)


def der_header(b, i):
    tag = b[i]
    ln = b[i + 1]
    if ln < 0x80:
        return tag, i + 2, i + 2 + ln
    k = ln & 0x7F
    n = int.from_bytes(b[i + 2 : i + 2 + k], "big")
    return tag, i + 2 + k, i + 2 + k + n


def der_children(content):
    out, i = [], 0
    while i < len(content):
        tag, s, e = der_header(content, i)
        out.append((tag, content[i:e], content[s:e]))
        i = e
    return out


def der_tlv(tag, content):
    n = len(content)
    if n < 0x80:
        ln = bytes([n])
    else:
        nb = n.to_bytes((n.bit_length() + 7) // 8, "big")
        ln = bytes([0x80 | len(nb)]) + nb
    return bytes([tag]) + ln + content


OID_SIG_TST = bytes.fromhex("060B2A864886F70D010910020E")  # 1.2.840.113549.1.9.16.2.14


def _signer_info_path(cms):
    """Returns (ci, sd, sis, si) as lists of children plus a rebuild function for a new si."""
    _, s, e = der_header(cms, 0)
    ci = der_children(cms[s:e])
    sd_outer = ci[1]  # [0] EXPLICIT
    sd_tlv = der_children(sd_outer[2])[0]
    sd = der_children(sd_tlv[2])
    sis = sd[-1]
    if sis[0] != 0x31:
        raise ValueError("no signerInfos")
    si_list = der_children(sis[2])
    si = der_children(si_list[0][2])

    def rebuild(new_si_content):
        new_sis = der_tlv(0x31, der_tlv(0x30, new_si_content) + b"".join(x[1] for x in si_list[1:]))
        new_sd = der_tlv(0x30, b"".join(x[1] for x in sd[:-1]) + new_sis)
        return der_tlv(0x30, ci[0][1] + der_tlv(0xA0, new_sd))

    return si, rebuild


def cms_signature_value(cms):
    si, _ = _signer_info_path(cms)
    for tag, _, content in si:
        if tag == 0x04:
            return content
    raise ValueError("no signature value")


def cms_add_unsigned_attr(cms, oid_tlv, value_tlv):
    si, rebuild = _signer_info_path(cms)
    attr = der_tlv(0x30, oid_tlv + der_tlv(0x31, value_tlv))
    if si[-1][0] == 0xA1:
        parts = [x[1] for x in si[:-1]] + [der_tlv(0xA1, si[-1][2] + attr)]
    else:
        parts = [x[1] for x in si] + [der_tlv(0xA1, attr)]
    return rebuild(b"".join(parts))


def cms_corrupt_signature(cms):
    """Flips the last byte of the SignerInfo's signature value (the DER stays well-formed)."""
    si, rebuild = _signer_info_path(cms)
    parts = []
    for tag, tlv, content in si:
        if tag == 0x04:
            content = content[:-1] + bytes([content[-1] ^ 0x01])
            tlv = der_tlv(0x04, content)
        parts.append(tlv)
    return rebuild(b"".join(parts))


# ---------------------------------------------------------------------------------------------
# openssl

ENV = dict(os.environ, TZ="UTC")


def run(args, at=None, inp=None):
    if at:
        args = ["faketime", at] + list(args)
    r = subprocess.run(args, input=inp, capture_output=True, env=ENV)
    if r.returncode != 0:
        raise RuntimeError("%s failed: %s" % (" ".join(args), r.stderr.decode("utf-8", "replace")))
    return r.stdout


_CADES = None


def has_cades():
    global _CADES
    if _CADES is None:
        r = subprocess.run(["openssl", "cms", "-help"], capture_output=True)
        _CADES = b"-cades" in r.stdout + r.stderr
    return _CADES


def cms_sign(content, signer, md="sha256", at=None, cades=False, detached=True):
    with tempfile.TemporaryDirectory() as t:
        inp = os.path.join(t, "in.bin")
        with open(inp, "wb") as f:
            f.write(content)
        args = ["openssl", "cms", "-sign", "-binary", "-outform", "DER", "-md", md, "-signer", signer["cert"],
                "-inkey", signer["key"], "-in", inp, "-out", os.path.join(t, "out.der")]
        if signer.get("chain"):
            args += ["-certfile", signer["chain"]]
        if not detached:
            args.append("-nodetach")
        if cades and has_cades():
            args.append("-cades")
        run(args, at=at)
        with open(os.path.join(t, "out.der"), "rb") as f:
            return f.read()


def ts_token(tsa_config, digest_hex=None, data=None, at=None, md="sha256"):
    """An RFC 3161 TimeStampToken (DER ContentInfo) over a digest or data, dated at (faketime)."""
    with tempfile.TemporaryDirectory() as t:
        q = os.path.join(t, "q.tsq")
        args = ["openssl", "ts", "-query", "-" + md, "-cert", "-out", q]
        if digest_hex:
            args += ["-digest", digest_hex]
        else:
            p = os.path.join(t, "data.bin")
            with open(p, "wb") as f:
                f.write(data)
            args += ["-data", p]
        run(args)
        tok = os.path.join(t, "tok.der")
        run(["openssl", "ts", "-reply", "-config", tsa_config, "-queryfile", q, "-token_out", "-out", tok], at=at)
        with open(tok, "rb") as f:
            return f.read()


def add_signature_timestamp(cms, tsa_config, at=None):
    digest = hashlib.sha256(cms_signature_value(cms)).hexdigest()
    return cms_add_unsigned_attr(cms, OID_SIG_TST, ts_token(tsa_config, digest_hex=digest, at=at))


# ---------------------------------------------------------------------------------------------
# Signing


def pdf_date(at):
    if at:
        t = datetime.datetime.strptime(at, "%Y-%m-%d %H:%M:%S")
    else:
        t = datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None)
    return t.strftime("D:%Y%m%d%H%M%SZ").encode()


BR_PLACEHOLDER = b"[0 0000000000 0000000000 0000000000]" + b" " * 8


def default_byterange(hs, he, n):
    return [0, hs, he, n - he]


def add_signature(data, signer=None, *, subfilter="adbe.pkcs7.detached", field=None, page=0, at=None,
                  md="sha256", tsa_config=None, ts_at=None, docmdp=None, name=None, reason=None,
                  contents_size=12000, byterange=default_byterange, cms_fn=None, cms_post=None,
                  doc_timestamp=False, detached=True):
    """Adds one signature (or, with doc_timestamp, an ETSI.RFC3161 document timestamp) as an
    incremental update. Hooks for attacks: byterange(hs, he, n) -> 4 numbers; cms_fn(bytes) ->
    the /Contents bytes instead of a real signature; cms_post(cms) -> edited CMS."""
    doc = Pdf(data)
    root_ref = doc.trailer["Root"]
    catalog = dict(doc.get(root_ref))
    page_ref = doc.pages()[page]
    pg = dict(doc.get(page_ref))
    n = doc.size()
    sig_num, wid_num = n, n + 1
    nsigs = len(doc.signatures())
    field = field or ("Signature%d" % (nsigs + 1))
    objs = {}
    if doc_timestamp:
        sig = {"Type": Name("DocTimeStamp"), "Filter": Name("Adobe.PPKLite"), "SubFilter": Name("ETSI.RFC3161")}
    else:
        sig = {"Type": Name("Sig"), "Filter": Name("Adobe.PPKLite"), "SubFilter": Name(subfilter)}
    sig["ByteRange"] = Raw(BR_PLACEHOLDER)
    sig["Contents"] = Raw(b"<" + b"0" * (2 * contents_size) + b">")
    if not doc_timestamp:
        sig["M"] = pdf_date(at)
        if name:
            sig["Name"] = name
        if reason:
            sig["Reason"] = reason
    if docmdp:
        sig["Reference"] = [{"Type": Name("SigRef"), "TransformMethod": Name("DocMDP"),
                             "TransformParams": {"Type": Name("TransformParams"), "P": docmdp, "V": Name("1.2")}}]
        catalog["Perms"] = {"DocMDP": Ref(sig_num)}
    objs[sig_num] = sig
    objs[wid_num] = {"Type": Name("Annot"), "Subtype": Name("Widget"), "FT": Name("Sig"), "T": field.encode(),
                     "V": Ref(sig_num), "F": 132, "Rect": [0, 0, 0, 0], "P": page_ref}
    annots = doc.get(pg.get("Annots")) or []
    if isinstance(pg.get("Annots"), Ref):
        objs[pg["Annots"].num] = list(annots) + [Ref(wid_num)]
    else:
        pg["Annots"] = list(annots) + [Ref(wid_num)]
    objs[page_ref.num] = pg
    af_ref = catalog.get("AcroForm")
    af = dict(doc.get(af_ref) or {})
    af["Fields"] = list(doc.get(af.get("Fields")) or []) + [Ref(wid_num)]
    af["SigFlags"] = 3
    if isinstance(af_ref, Ref):
        objs[af_ref.num] = af
    else:
        catalog["AcroForm"] = af
    objs[root_ref.num] = catalog
    out, offs = update(data, objs)
    out = bytearray(out)
    so = offs[sig_num]
    bp = out.index(BR_PLACEHOLDER, so)
    hs = out.index(b"<" + b"0" * 64, so)
    he = hs + 2 + 2 * contents_size
    br = byterange(hs, he, len(out))
    brs = ("[%d %d %d %d]" % tuple(br)).encode()
    if len(brs) > len(BR_PLACEHOLDER):
        raise ValueError("ByteRange too long")
    out[bp : bp + len(BR_PLACEHOLDER)] = brs + b" " * (len(BR_PLACEHOLDER) - len(brs))
    signed = b"".join(bytes(out[br[k] : br[k] + br[k + 1]]) for k in range(0, len(br), 2))
    if cms_fn:
        cms = cms_fn(signed)
    elif doc_timestamp:
        cms = ts_token(tsa_config, data=signed, at=ts_at)
    elif subfilter == "adbe.pkcs7.sha1":
        cms = cms_sign(hashlib.sha1(signed).digest(), signer, md="sha1", at=at, detached=False)
    else:
        cms = cms_sign(signed, signer, md=md, at=at, cades=(subfilter == "ETSI.CAdES.detached"),
                       detached=detached)
    if not cms_fn and not doc_timestamp and tsa_config and ts_at is not None:
        cms = add_signature_timestamp(cms, tsa_config, at=ts_at or None)
    if cms_post:
        cms = cms_post(cms)
    hx = cms.hex().upper().encode()
    if len(hx) > 2 * contents_size:
        raise ValueError("signature (%d bytes) larger than /Contents (%d)" % (len(cms), contents_size))
    out[hs + 1 : hs + 1 + len(hx)] = hx
    return bytes(out)


def signed_ranges(data, index):
    """(ByteRange list, covered bytes, /Contents bytes) of signature number index (0-based)."""
    doc = Pdf(data)
    sigs = doc.signatures()
    sd = sigs[index][1]
    br = sd["ByteRange"]
    covered = b"".join(data[br[k] : br[k] + br[k + 1]] for k in range(0, len(br), 2))
    return br, covered, bytes(sd["Contents"])


# ---------------------------------------------------------------------------------------------
# CLI


def main(argv):
    ap = argparse.ArgumentParser(prog="pdfsign.py")
    sp = ap.add_subparsers(dest="cmd", required=True)
    b = sp.add_parser("base")
    b.add_argument("out")
    b.add_argument("--pages", type=int, default=1)
    b.add_argument("--xref-stream", action="store_true")
    b.add_argument("--text-field", action="store_true")
    s = sp.add_parser("sign")
    s.add_argument("inp")
    s.add_argument("out")
    s.add_argument("--cert", required=True)
    s.add_argument("--key", required=True)
    s.add_argument("--chain")
    s.add_argument("--subfilter", default="adbe.pkcs7.detached")
    s.add_argument("--md", default="sha256")
    s.add_argument("--time")
    s.add_argument("--tsa-config")
    s.add_argument("--ts-time")
    s.add_argument("--field")
    s.add_argument("--name")
    s.add_argument("--docmdp", type=int)
    d = sp.add_parser("doc-timestamp")
    d.add_argument("inp")
    d.add_argument("out")
    d.add_argument("--tsa-config", required=True)
    d.add_argument("--ts-time")
    r = sp.add_parser("ranges")
    r.add_argument("inp")
    r.add_argument("index", type=int)
    r.add_argument("out")
    a = ap.parse_args(argv)
    if a.cmd == "base":
        data = make_base(a.pages, a.xref_stream, a.text_field)
    elif a.cmd == "ranges":
        _, covered, _ = signed_ranges(open(a.inp, "rb").read(), a.index)
        open(a.out, "wb").write(covered)
        return 0
    else:
        data = open(a.inp, "rb").read()
        if a.cmd == "sign":
            signer = {"cert": a.cert, "key": a.key, "chain": a.chain}
            data = add_signature(data, signer, subfilter=a.subfilter, md=a.md, at=a.time, field=a.field,
                                 tsa_config=a.tsa_config, ts_at=(a.ts_time or "") if a.tsa_config else None,
                                 name=a.name, docmdp=a.docmdp)
        else:
            data = add_signature(data, doc_timestamp=True, tsa_config=a.tsa_config, ts_at=a.ts_time)
    with open(a.out, "wb") as f:
        f.write(data)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
