"""Hostile packages, both ways (issue 6 "Hardened XML", and a zip bomb): submitted by QLVBĐH each gets a 4xx with a
stable code and nothing is stored, staged chunks included; fetched from the axis each is refused
with the same code (`updateStatus fail`, a verdict) and nothing is stored; gatewayd keeps serving."""

import base64
import io
import zipfile

import gwtest as t

NS = "http://www.mic.gov.vn/TBT/QCVN_102_2016"
HEAD = '<?xml version="1.0" encoding="UTF-8"?>\n'


def header(inner):
    return ("<edXML xmlns=\"%s\"><edXMLEnvelope><edXMLHeader><MessageHeader>"
            "<From><OrganId>000.00.12.H49</OrganId></From><To><OrganId>000.00.00.H49</OrganId></To>"
            "<DocumentId>000.00.12.H49,2024/05/15,1/STC</DocumentId>%s</MessageHeader></edXMLHeader>"
            "</edXMLEnvelope></edXML>" % (NS, inner))


def cases():
    """(name, bytes, expected stable code), built from the threats the issue names."""
    laughs = ('<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
              + "".join('<!ENTITY lol%d "%s">' % (i, ("&lol%d;" % (i - 1) if i else "&lol;") * 10)
                        for i in range(1, 10))
              + ']><edXML xmlns="%s">&lol9;</edXML>' % NS)
    deep = HEAD + header("<Subject>" + "<x>" * 100 + "</x>" * 100 + "</Subject>")
    huge_attr = HEAD + header('<Subject a="%s">s</Subject>' % ("A" * 200000))
    many_attrs = HEAD + header("<Subject %s>s</Subject>" % " ".join('a%d="1"' % i for i in range(300000)))
    bad_utf8 = (HEAD + header("<Subject>\xff</Subject>")).encode("latin-1")
    good = (HEAD + header("<Subject>Công văn</Subject>")).encode()
    truncated = good[: len(good) * 2 // 3]
    inetcloud = (HEAD + '<edXML xmlns="http://www.inetcloud.vn/ns/edxml"><Header/></edXML>')
    zbuf = io.BytesIO()
    with zipfile.ZipFile(zbuf, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("3f2a.pdf", b"%PDF-1.4\n" + b"\0" * (20 << 20))
    bomb = (HEAD + "<edXML xmlns=\"%s\"><edXMLEnvelope><edXMLHeader><MessageHeader>"
            "<From><OrganId>000.00.12.H49</OrganId></From><To><OrganId>000.00.00.H49</OrganId></To>"
            "<DocumentId>000.00.12.H49,2024/05/15,2/STC</DocumentId></MessageHeader></edXMLHeader>"
            "</edXMLEnvelope><AttachmentEncoded><Attachment><ContentId>1</ContentId>"
            "<AttachmentName>qd.pdf</AttachmentName><ContentType>application/pdf</ContentType>"
            "<ContentTransferEncoded>%s</ContentTransferEncoded></Attachment></AttachmentEncoded>"
            "</edXML>" % (NS, base64.b64encode(zbuf.getvalue()).decode()))
    external = (HEAD + '<!DOCTYPE edXML SYSTEM "http://127.0.0.1:9/x.dtd">' + header(""))
    return [
        ("billion laughs", laughs.encode(), "doctype"),
        ("external DTD", external.encode(), "doctype"),
        ("deep nesting", deep.encode(), "too_deep"),
        ("huge attribute", huge_attr.encode(), "attribute_too_long"),
        ("300 000 attributes", many_attrs.encode(), "too_many_attributes"),
        ("invalid UTF-8", bad_utf8, "not_well_formed"),
        ("truncated stream", truncated, "not_well_formed"),
        ("inetcloud format", inetcloud.encode(), "inetcloud_format"),
        ("zip bomb (20 MB of zeros as a PDF)", bomb.encode(), "zip_bomb"),
    ]


def nothing_stored(env):
    assert env.pg.query("SELECT count(*) FROM package") == "0"
    t.wait_until(lambda: env.pg.query("SELECT count(*) FROM body") == "0", 10, what="staged bodies discarded")
    assert env.pg.query("SELECT count(*) FROM body_chunk") == "0"


BIG = {"server:max_body_bytes": str(16 << 20)}


def test_submitted(env):
    gw = env.gateway(BIG)
    for name, body, code in cases():
        r = gw.submit(body)
        assert 400 <= r.status < 500, (name, r.status, r.body)
        err = r.json()["error"]
        assert err["message"].startswith(code + ":"), (name, code, err)
        assert t.request(gw.port, "GET", "/healthz", token=None).status == 200, name
    nothing_stored(env)


def test_fetched(env):
    gw = env.gateway(dict(BIG, **{"axis.national:poll_interval_ms": "200"}))
    ids = {}
    for name, body, code in cases():
        ids[env.sim.inject(t.PROVINCE, body)] = (name, code)
    t.wait_until(lambda: env.pg.query("SELECT count(*) FROM incoming_refusal") == str(len(ids)), 60,
                 what="every hostile package refused")
    for doc_id, (name, code) in ids.items():
        got = env.pg.query("SELECT code FROM incoming_refusal WHERE axis_doc_id = '%s'" % doc_id)
        assert got == code, (name, code, got)
    t.wait_until(lambda: env.sim.stats()["acks_fail"] == len(ids), 30, what="updateStatus fail for each")
    nothing_stored(env)
    assert t.request(gw.port, "GET", "/healthz", token=None).status == 200


if __name__ == "__main__":
    t.run([test_submitted, test_fetched])
