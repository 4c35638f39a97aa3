"""The REST v2.2 provincial axis (adapter lgsp_rest, domain.md §5) beside the national axis (vxp),
each on its simulator:
- routing: a document to a recipient listed in directory_file and one on the national directory
  becomes one delivery per axis, each axis receiving it once and nowhere else; the multipart copy
  the REST axis stores is byte for byte the copy the gateway recorded (copy_sha256);
- statuses 01, 03, 06 from each recipient, each from its own axis, form two timelines, and the
  recall handshake 13 -> 15 crosses both axes;
- inbound: a package is fetched (raw and base64 edxml, both byte-exact), stored, acked done and in
  the inbox; a package listed again by overlapping windows is stored once; the list cursor is
  stored, and a restarted gateway lists from it (a package older than the cursor is not listed);
- tokens: revoked tokens cost one login and the calls succeed; a 401 on a send or a getEdoc
  logs in again and retries that call once (the body resent, the answer rescanned); a token is
  renewed at 80 % of the lifetime the login gave, before it is refused;
- error codes: 15 opens the axis's breaker without spending attempts; 20 is retried and delivered;
  22 ends the delivery at once (DEAD, axis_refused); 18, the same answer for several packages,
  spends their attempts and opens no breaker (axis_recipient);
- SIGHUP re-reads directory_file: a new id routes to the REST axis;
- on the wire (a capturing stand-in for the axis): the login JSON, the headers of every call, the
  list window's dates, and the multipart body read back by Python's email parser."""

import email.parser
import email.policy
import hashlib
import json
import os
import re
import signal
import threading
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import gwrest
import gwtest as t

pkg = t.package_read
timeline = t.timeline
codes = t.timeline_codes
delivered = t.deliveries_sent
synced = t.directory_synced

IN = "000.00.05.H49"     # on the REST axis (directory_file)
IN2 = "000.00.06.H49"    # added to directory_file later (SIGHUP)
OUT = "000.00.00.G22"    # on the national directory
VN = timezone(timedelta(hours=7))


def vn_day(offset=0):
    return datetime.now(VN).date() + timedelta(days=offset)


class World:
    """The national simulator (env.sim), the REST simulator and its directory file."""

    def __init__(self, env, encoding="raw"):
        self.env = env
        self.rest = gwrest.RestSim(os.path.join(env.root, "rest"), [
            gwrest.system(t.GW_SYSTEMID, [t.PROVINCE, t.AGENCY]),
            gwrest.system("h49-05", [IN], secret="s5", username="u5", password="p5"),
            gwrest.system("h49-06", [IN2], secret="s6", username="u6", password="p6"),
        ], encoding=encoding)
        self.dir_file = os.path.join(env.root, "rest-directory.txt")
        with open(self.dir_file, "w") as f:
            f.write("# organisations served by the REST provincial axis\n%s\n\n" % IN)
        env.sim.ctl("POST", "/_sim/directory", {"agencies": [
            {"id": i, "code": c, "pid": "", "name": "Cơ quan " + c, "mail": ""}
            for i, c in enumerate([OUT, t.PROVINCE, t.AGENCY])], "qd20": []})

    def gateway(self, extra=None, start=True):
        cfg = {"axis.national:role": "national", "routing:directory_retry_ms": "300",
               "routing:directory_interval_ms": "600000", "delivery:breaker_backoff_ms": "500",
               "delivery:breaker_backoff_max_ms": "1000"}
        cfg.update(gwrest.axis_config("prov", self.rest, self.dir_file))
        cfg.update(extra or {})
        gw = self.env.gateway(cfg, start=start)
        if start:
            t.wait_until(lambda: synced(self.env, "national") and synced(self.env, "prov"), 20,
                         what="both directories synced")
        return gw

    def close(self):
        self.rest.close()


def with_world(fn, **kw):
    def run(env):
        w = World(env, **kw)
        try:
            fn(env, w)
        finally:
            w.close()
    run.__name__ = fn.__name__
    return run


def routing_and_timelines(env, w):
    gw = w.gateway()
    assert env.pg.rows("SELECT axis, role, agencies FROM v_directory ORDER BY ord") == \
        [["national", "national", "3"], ["prov", "provincial", "1"]]
    doc_id = "000.00.12.H49,2026/12/01,21/STC-NS"
    r = gw.submit(t.edoc(doc_id, to=(IN, OUT)))
    assert r.status == 202, r.body
    pid = r.json()["id"]
    assert sorted((d["axis"], d["recipients"]) for d in pkg(gw, pid)["deliveries"]) == \
        [("national", [OUT]), ("prov", [IN])]
    t.wait_until(lambda: delivered(gw, pid), 20, what="both SENT")
    # Each axis got it once, for its recipient only.
    box = w.rest.mailbox(IN)
    assert len(box) == 1 and box[0]["messageType"] == "edoc", box
    assert w.rest.mailbox(OUT) == [] and w.rest.stats()["sent"] == 1
    assert env.sim.stats()["sent_by_document_id"].get(doc_id) == 1
    assert len(env.sim.mailbox(OUT)) == 1
    # What the REST axis took out of the multipart body is exactly the copy the gateway sent.
    sha, n, axis_id = env.pg.rows("SELECT encode(copy_sha256, 'hex'), copy_len, axis_doc_id FROM delivery "
                                  "WHERE package_id = %d AND axis = 'prov'" % pid)[0]
    assert hashlib.sha256(box[0]["edxml"]).hexdigest() == sha and len(box[0]["edxml"]) == int(n)
    assert axis_id == box[0]["docId"]

    # Statuses from each recipient, each from its own axis.
    for code in ("01", "03", "06"):
        w.rest.inject(t.AGENCY, IN, t.status_pkg(doc_id, t.AGENCY, code, sender=IN), message_type="status")
        env.sim.inject(t.AGENCY, t.status_pkg(doc_id, t.AGENCY, code, sender=OUT), messagetype="status",
                       sender=OUT)
    doc = t.wait_until(lambda: (lambda d: d if codes(timeline(d, IN)) == ["01", "03", "06"] and
                                codes(timeline(d, OUT)) == ["01", "03", "06"] else None)(pkg(gw, pid)),
                       30, what="two timelines 01 03 06")
    assert timeline(doc, IN)["route"]["axis"] == "prov" and timeline(doc, OUT)["route"]["axis"] == "national"

    # Recall: 13 to each recipient over its axis, the 15 back over the same axis.
    for rcpt, axis in ((IN, "prov"), (OUT, "national")):
        r = gw.submit(t.status_pkg(doc_id, rcpt, "13", sender=t.AGENCY))
        assert r.status == 202, r.body
        sid = r.json()["id"]
        assert [(d["axis"], d["recipients"]) for d in pkg(gw, sid)["deliveries"]] == [(axis, [rcpt])]
        t.wait_until(lambda: delivered(gw, sid), 20, what="13 SENT")
    assert [i["messageType"] for i in w.rest.mailbox(IN)] == ["edoc", "status"]
    w.rest.inject(t.AGENCY, IN, t.status_pkg(doc_id, t.AGENCY, "15", sender=IN), message_type="status")
    env.sim.inject(t.AGENCY, t.status_pkg(doc_id, t.AGENCY, "15", sender=OUT), messagetype="status", sender=OUT)
    t.wait_until(lambda: all(codes(timeline(pkg(gw, pid), x)) == ["01", "03", "06", "13", "15"]
                             for x in (IN, OUT)), 30, what="13, 15 on both timelines")


def stored(env, axis_doc_id):
    return env.pg.rows("SELECT p.id, encode(p.sha256, 'hex') FROM axis_receipt r JOIN package p ON "
                       "p.id = r.package_id WHERE r.axis = 'prov' AND r.axis_doc_id = '%s'" % axis_doc_id)


def inbound_and_cursor(env, w):
    gw = w.gateway()
    raw = t.edoc("000.00.05.H49,2026/12/01,31/UB", to=(t.AGENCY,), sender=IN)
    d1 = w.rest.inject(t.AGENCY, IN, raw)
    old = t.edoc("000.00.05.H49,2026/12/01,32/UB", to=(t.AGENCY,), sender=IN)
    d2 = w.rest.inject(t.AGENCY, IN, old, created=vn_day(-1).isoformat())  # in both windows
    for d, data in ((d1, raw), (d2, old)):
        rows = t.wait_until(lambda: stored(env, d), 20, what="stored " + d)
        assert rows[0][1] == hashlib.sha256(data).hexdigest()
        t.wait_until(lambda: w.rest.stats()["acks"].get(d) == "done", 20, what="acked " + d)
        content = gw.get("/v1/packages/%s/content" % rows[0][0])
        assert content.status == 200 and content.body == data  # raw edxml, byte-exact
    # In the inbox once their signature check has released them (CHECKING until then).
    ids = {int(stored(env, d)[0][0]) for d in (d1, d2)}

    def in_inbox():
        r = gw.get("/v1/inbox?limit=500")
        assert r.status == 200
        return ids <= {i["id"] for i in r.json()["items"]}

    t.wait_until(in_inbox, 20, what="both in the inbox")
    # The cursor: the next window starts a day back (window_overlap_days = 1).
    t.wait_until(lambda: env.pg.query("SELECT cursor FROM axis_cursor WHERE axis = 'prov' AND kind = 'edoc'")
                 == vn_day(-1).strftime("%Y/%m/%d"), 20, what="edoc cursor stored")
    assert env.pg.query("SELECT count(*) FROM axis_cursor WHERE axis = 'national'") == "0"
    # Further polls list d2 again (overlap): never fetched nor stored twice.
    lists = w.rest.calls("syncReceivedEdocList")
    t.wait_until(lambda: w.rest.calls("syncReceivedEdocList") >= lists + 6, 20, what="more polls")
    assert w.rest.calls("getEdoc") == 2
    assert env.pg.query("SELECT count(*) FROM axis_receipt WHERE axis = 'prov'") == "2"

    # Restart from a cursor three days back: a package created five days back (inside the first
    # window of 7 days, outside the cursor's) is not listed; one two days back is, base64 this time.
    assert gw.stop() == 0
    env.pg.query("UPDATE axis_cursor SET cursor = '%s' WHERE axis = 'prov' AND kind = 'edoc'"
                 % vn_day(-3).strftime("%Y/%m/%d"))
    w.rest.faults(edxml_encoding="base64")
    before = t.edoc("000.00.05.H49,2026/12/01,33/UB", to=(t.AGENCY,), sender=IN)
    d3 = w.rest.inject(t.AGENCY, IN, before, created=vn_day(-5).isoformat())
    b64 = t.edoc("000.00.05.H49,2026/12/01,34/UB", to=(t.AGENCY,), sender=IN, pad=70000)
    d4 = w.rest.inject(t.AGENCY, IN, b64, created=vn_day(-2).isoformat())
    gw.start()
    rows = t.wait_until(lambda: stored(env, d4), 20, what="stored " + d4)
    content = gw.get("/v1/packages/%s/content" % rows[0][0])
    assert content.status == 200 and content.body == b64  # base64 edxml, byte-exact
    t.wait_until(lambda: w.rest.stats()["acks"].get(d4) == "done", 20, what="acked " + d4)
    # d1 and d2 are listed again (done, but not acked by this process): re-acked, not re-fetched.
    lists = w.rest.calls("syncReceivedEdocList")
    t.wait_until(lambda: w.rest.calls("syncReceivedEdocList") >= lists + 4, 20, what="more polls")
    assert stored(env, d3) == [] and d3 not in w.rest.stats()["acks"]
    assert w.rest.calls("getEdoc") == 3
    t.wait_until(lambda: env.pg.query("SELECT cursor FROM axis_cursor WHERE axis = 'prov' AND kind = 'edoc'")
                 == vn_day(-1).strftime("%Y/%m/%d"), 20, what="edoc cursor advanced")


def tokens_and_error_codes(env, w):
    gw = w.gateway()
    n = [0]

    def send(to=(IN,)):
        n[0] += 1
        r = gw.submit(t.edoc("000.00.12.H49,2026/12/02,%d/STC" % n[0], to=to))
        assert r.status == 202, r.body
        return r.json()["id"]

    pid = send()
    t.wait_until(lambda: delivered(gw, pid), 20, what="first SENT")
    assert w.rest.stats()["logins"] == 1
    # Every token revoked: the next calls are answered 401, one login follows, the calls succeed.
    w.rest.faults(expire_tokens=True)
    pid = send()
    t.wait_until(lambda: delivered(gw, pid), 20, what="SENT after the tokens expired")
    s = w.rest.stats()
    assert s["logins"] == 2 and s["unauthorized"] >= 1, s
    w.rest.faults()
    # A 401 on a send itself: one more login, the same body sent again, stored once.
    sends, sent = w.rest.calls("sendEdoc"), w.rest.stats()["sent"]
    w.rest.faults(http_status=401, count=1, ops=["sendEdoc"])
    pid = send()
    t.wait_until(lambda: delivered(gw, pid), 20, what="SENT after a 401 on the send")
    s = w.rest.stats()
    assert s["logins"] == 3 and s["calls"]["sendEdoc"] == sends + 2 and s["sent"] == sent + 1, s
    assert env.pg.query("SELECT attempts FROM delivery WHERE package_id = %d" % pid) == "1"
    # A 401 on a getEdoc: one more login, the package fetched again into a fresh scanner.
    w.rest.faults(http_status=401, count=1, ops=["getEdoc"])
    data = t.edoc("000.00.05.H49,2026/12/02,9/UB", to=(t.AGENCY,), sender=IN)
    d = w.rest.inject(t.AGENCY, IN, data)
    rows = t.wait_until(lambda: stored(env, d), 20, what="stored after a 401 on getEdoc")
    assert rows[0][1] == hashlib.sha256(data).hexdigest()
    s = w.rest.stats()
    assert s["logins"] == 4 and s["calls"]["getEdoc"] == 2, s
    w.rest.faults()

    # Tokens of 10 s (expiresIn): renewed at 80 % of their life, before the axis refuses them.
    w.rest.faults(token_lifetime_s=10, expire_tokens=True)
    t.wait_until(lambda: w.rest.stats()["logins"] == 5, 20, what="login after the revocation")
    unauthorized = w.rest.stats()["unauthorized"]
    t.wait_until(lambda: w.rest.stats()["logins"] >= 7, 40, what="two renewals")
    assert w.rest.stats()["unauthorized"] == unauthorized
    w.rest.faults()

    # errorCode 15: the credentials are refused: the breaker opens, no attempt is spent.
    w.rest.faults(refuse_credentials=True)
    ids = [send() for _ in range(5)]
    t.wait_until(lambda: env.pg.query("SELECT state FROM peer_health WHERE axis = 'prov'") in ("open", "half_open"),
                 20, what="breaker open")
    assert "errorCode 15" in env.pg.query("SELECT reason FROM peer_health WHERE axis = 'prov'")
    assert env.pg.query("SELECT count(*) FROM delivery WHERE axis = 'prov' AND state <> 'SENT' "
                        "AND attempts > 0") == "0"
    w.rest.faults()
    t.wait_until(lambda: all(delivered(gw, p) for p in ids), 30, what="backlog SENT")
    assert env.pg.query("SELECT count(*) FROM delivery WHERE state = 'DEAD'") == "0"

    # errorCode 20: retried, then delivered.
    sends = w.rest.calls("sendEdoc")
    w.rest.faults(error_code=20, count=2, ops=["sendEdoc"])
    pid = send()
    t.wait_until(lambda: delivered(gw, pid), 30, what="SENT after errorCode 20")
    assert w.rest.calls("sendEdoc") == sends + 3

    # errorCode 22: the package is refused for good.
    w.rest.faults(error_code=22, count=1, ops=["sendEdoc"])
    pid = send()
    t.wait_until(lambda: env.pg.query("SELECT state FROM delivery WHERE package_id = %d" % pid) == "DEAD", 20,
                 what="DEAD after errorCode 22")
    state, attempts, err = env.pg.rows("SELECT state, attempts, last_error FROM delivery WHERE package_id = %d"
                                       % pid)[0]
    assert attempts == "1" and err.startswith("axis_refused: errorCode 22"), (attempts, err)
    w.rest.faults()

    # errorCode 18 (receiver does not exist) with the same text, for three packages in turn, eight
    # times: the recipient's condition, each failure spends its attempt and the breaker stays
    # closed (before, it was taken for the same answer from a failing peer: after five the
    # breaker opened, the rest were held and every package to that axis waited).
    since = env.pg.query("SELECT state || ' ' || since FROM peer_health WHERE axis = 'prov'")
    assert since.startswith("closed "), since
    w.rest.faults(error_code=18, count=8, ops=["sendEdoc"])
    ids = [send() for _ in range(3)]
    t.wait_until(lambda: all(delivered(gw, p) for p in ids), 40, what="SENT after errorCode 18")
    assert env.pg.query("SELECT state || ' ' || since FROM peer_health WHERE axis = 'prov'") == since
    assert env.pg.query("SELECT sum(attempts) FROM delivery WHERE package_id IN (%s)"
                        % ",".join(map(str, ids))) == "11"
    errors = env.pg.rows("SELECT detail->>'error' FROM event WHERE kind = 'send_failed' AND package_id IN (%s)"
                         % ",".join(map(str, ids)))
    assert len(errors) == 8 and all(e[0].startswith("axis_recipient: errorCode 18") for e in errors), errors
    w.rest.faults()

    # Logins refused with HTTP 400: the credentials' condition, the breaker opens at once and no
    # attempt is spent (before, each waiting call failed with "login: HTTP 400" as its own
    # package's failure, five in a row before the breaker opened).
    w.rest.faults(expire_tokens=True, http_status=400, count=1000, ops=["login"])
    ids = [send() for _ in range(3)]
    t.wait_until(lambda: env.pg.query("SELECT state FROM peer_health WHERE axis = 'prov'") in ("open", "half_open"),
                 20, what="breaker open on the refused login")
    assert "login: HTTP 400" in env.pg.query("SELECT reason FROM peer_health WHERE axis = 'prov'")
    w.rest.faults()
    t.wait_until(lambda: all(delivered(gw, p) for p in ids), 30, what="SENT after the login is back")
    assert env.pg.query("SELECT sum(attempts) FROM delivery WHERE package_id IN (%s)"
                        % ",".join(map(str, ids))) == "3"


def sighup_directory(env, w):
    gw = w.gateway()
    r = gw.submit(t.edoc("000.00.12.H49,2026/12/03,1/STC", to=(IN2,)))
    assert r.status == 202
    first = pkg(gw, r.json()["id"])
    assert [d["axis"] for d in first["deliveries"]] != ["prov"]  # not on the REST directory yet
    with open(w.dir_file, "a") as f:
        f.write("%s   # added\n" % IN2)
    gw.proc.send_signal(signal.SIGHUP)
    t.wait_until(lambda: env.pg.query("SELECT agencies FROM v_directory WHERE axis = 'prov'") == "2", 20,
                 what="directory resynced")
    r = gw.submit(t.edoc("000.00.12.H49,2026/12/03,2/STC", to=(IN2,)))
    assert r.status == 202
    pid = r.json()["id"]
    assert [(d["axis"], d["recipients"]) for d in pkg(gw, pid)["deliveries"]] == [("prov", [IN2])]
    t.wait_until(lambda: delivered(gw, pid), 20, what="SENT to the new recipient")
    assert len(w.rest.mailbox(IN2)) == 1


class Capture(BaseHTTPRequestHandler):
    """A stand-in for the REST axis that records every request (method, path, headers, body)."""
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        pass

    def answer(self, obj):
        data = json.dumps(obj).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def handle_one(self):
        n = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(n) if n else b""
        u = urlsplit(self.path)
        self.server.seen.append({"method": self.command, "path": u.path, "query": parse_qs(u.query),
                                 "headers": dict(self.headers.items()), "body": body})
        if u.path == "/v1/auth/login":
            self.answer({"success": True, "data": {"token": "tok-1", "expiresIn": 600}})
        elif u.path == "/v1/sendEdoc":
            self.answer({"success": True, "message": "ok", "docId": "cap-%d" % len(self.server.seen)})
        elif u.path == "/v1/syncReceivedEdocList":
            self.answer({"success": True, "count": 0, "data": []})
        else:
            self.answer({"success": False, "data": {"errorCode": 99, "errorDesc": "unexpected"}})

    do_GET = handle_one
    do_POST = handle_one


def multipart_on_the_wire(env, w):
    srv = ThreadingHTTPServer(("127.0.0.1", 0), Capture)
    srv.seen = []
    th = threading.Thread(target=srv.serve_forever, daemon=True)
    th.start()
    try:
        cap_dir = os.path.join(env.root, "cap-directory.txt")
        with open(cap_dir, "w") as f:
            f.write("%s\n" % IN2)
        cap = gwrest.axis_config("cap", w.rest, cap_dir, base_url="http://127.0.0.1:%d" % srv.server_address[1])
        gw = w.gateway(cap)
        t.wait_until(lambda: synced(env, "cap"), 20, what="capture directory synced")
        ids = []
        for i in (1, 2):
            r = gw.submit(t.edoc("000.00.12.H49,2026/12/04,%d/STC" % i, to=(IN2,)))
            assert r.status == 202, r.body
            ids.append(r.json()["id"])
        t.wait_until(lambda: all(delivered(gw, p) for p in ids), 20, what="both SENT to the capture")
        seen = list(srv.seen)
    finally:
        srv.shutdown()
        srv.server_close()
    logins = [x for x in seen if x["path"] == "/v1/auth/login"]
    assert len(logins) == 1, [x["path"] for x in seen]
    assert logins[0]["query"] == {"allow_anonymous": ["true"]}
    assert json.loads(logins[0]["body"]) == {"username": gwrest.USERNAME, "password": gwrest.PASSWORD,
                                             "applicationCode": gwrest.APP_CODE, "otp": None,
                                             "twoFactorProvider": None, "typeObjs": [0, 1]}
    for x in seen:
        assert x["headers"].get("X-SystemId") == t.GW_SYSTEMID and x["headers"].get("X-SecretKey") == \
            gwrest.SECRET, x["headers"]
        if x["path"] != "/v1/auth/login":
            assert x["headers"].get("Authorization") == "Bearer tok-1", x["headers"]
    lists = [x for x in seen if x["path"] == "/v1/syncReceivedEdocList"]
    assert lists and {x["query"]["messageType"][0] for x in lists} == {"edoc", "status"}
    assert lists[0]["query"]["fromDate"] == [vn_day(-7).strftime("%Y/%m/%d")]
    assert lists[0]["query"]["toDate"] == [vn_day(0).strftime("%Y/%m/%d")]
    sends = [x for x in seen if x["path"] == "/v1/sendEdoc"]
    assert len(sends) == 2
    boundaries, copies = set(), set()
    for x in sends:
        ctype = x["headers"]["Content-Type"]
        m = re.fullmatch(r"multipart/form-data; boundary=(gwrest[0-9a-f]{32})", ctype)
        assert m, ctype
        boundaries.add(m.group(1))
        assert int(x["headers"]["Content-Length"]) == len(x["body"])
        msg = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
            b"Content-Type: " + ctype.encode() + b"\r\nMIME-Version: 1.0\r\n\r\n" + x["body"])
        assert msg.is_multipart() and not msg.defects, msg.defects
        parts = list(msg.iter_parts())
        assert [p.get_param("name", header="content-disposition") for p in parts] == ["messageType", "edocFile"]
        assert parts[0].get_payload(decode=True) == b"edoc" and parts[0].get_filename() is None
        f = parts[1]
        assert f.get_filename() == "edoc.edxml" and f.get_content_type() == "application/xml"
        data = f.get_payload(decode=True)
        assert b"<DocumentId>000.00.12.H49,2026/12/04," in data
        copies.add((hashlib.sha256(data).hexdigest(), str(len(data))))
    assert len(boundaries) == 2  # a fresh boundary per request
    # The file parts are exactly the copies the gateway recorded as sent (in either order).
    assert copies == {tuple(r) for r in env.pg.rows("SELECT encode(copy_sha256, 'hex'), copy_len FROM delivery "
                                                    "WHERE axis = 'cap'")}


if __name__ == "__main__":
    t.run([with_world(routing_and_timelines), with_world(inbound_and_cursor),
           with_world(tokens_and_error_codes), with_world(sighup_directory),
           with_world(multipart_on_the_wire)])
