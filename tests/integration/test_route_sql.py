"""The routing and timeline functions of schemas/sql/005_route.sql, driven directly: directory
replacement in one transaction (rows removed, first-seen kept, duplicates, lists kept when not
replaced), routing precedence (provincial over national, QĐ 20 codes through their pairs, the
lenient form), the default axis before every directory is synced and no electronic means after,
DocumentId normalisation, update and replace edocs keyed on their originals through the parsed
header (the `header` jsonb column a later migration adds), and idempotent notes."""

import json
import subprocess

import gwtest as t


def migrate(env):
    gw = env.gateway(start=False)
    r = subprocess.run([t.GATEWAYD, "-c", gw.config, "--migrate"], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stdout + r.stderr


def q(env, sql):
    return env.pg.query(sql)


def replace(env, axis, lists, rows, qd20_error="NULL"):
    return env.pg.rows("SELECT * FROM gw_directory_replace('%s', ARRAY%r::text[], '%s'::jsonb, %s)"
                       % (axis, lists, json.dumps(rows).replace("'", "''"), qd20_error))


def submit(env, doc, to, bdt=0, kind="edoc", code="NULL", sender="000.00.12.H49"):
    body = ("%s-%s-%s-%s" % (doc, ",".join(to), bdt, code)).replace("'", "")
    return q(env, "SELECT package_id FROM gw_submit('q', '%s', '%s', '%s', ARRAY%r::text[], %s, %d::smallint, "
                  "sha256(convert_to('%s', 'UTF8')), convert_to('%s', 'UTF8'), 'national')"
             % (kind, doc, sender, list(to), code, bdt, body, body))


def deliveries(env, pid):
    return env.pg.rows("SELECT axis, array_to_string(recipients, ' ') FROM delivery WHERE package_id = %s "
                       "ORDER BY axis" % pid)


def events(env, doc, rcpt):
    return [r[0] for r in env.pg.rows(
        "SELECT coalesce(e.code, e.kind) FROM recipient_status rs JOIN recipient_status_event e "
        "ON e.timeline_id = rs.id WHERE rs.document_id = '%s' AND rs.recipient = '%s' ORDER BY e.id" % (doc, rcpt))]


def test_directory_and_routes(env):
    migrate(env)
    assert q(env, "SELECT gw_docid_norm(' A,2024-01-02,5/X '), gw_docid_norm('A,2024/01/02,12024-01-025')") == \
        "A,2024/01/02,5/X|A,2024/01/02,12024-01-025"
    assert q(env, "SELECT coalesce(gw_orgid_key(' null '), '-'), gw_orgid_key(' h49.dn.001\t')") == "-|H49.DN.001"
    # Nothing registered yet: every recipient goes to the default axis.
    p0 = submit(env, "D0", ["X.1"])
    assert deliveries(env, p0) == [["national", "X.1"]]
    q(env, "SELECT gw_directory_axes_set(ARRAY['national', 'prov'], ARRAY['national', 'provincial'], "
           "ARRAY[true, true], ARRAY[true, true])")
    try:
        q(env, "SELECT gw_directory_replace('nowhere', ARRAY['qcvn102'], '[]', NULL)")
        raise AssertionError("an unregistered axis was accepted")
    except subprocess.CalledProcessError as e:
        assert "not registered" in e.stderr, e.stderr
    assert replace(env, "national", ["qcvn102"], [
        {"list": "qcvn102", "code": "000.00.00.G22"}, {"list": "qcvn102", "code": "000.00.05.h49"},
        {"list": "qcvn102", "code": " 000.00.00.g22 ", "name": "duplicate: first row kept"},
        {"list": "qcvn102", "code": ""}, {"list": "qcvn102", "name": "no code"}]) == [["2", "0", "0"]]
    assert q(env, "SELECT name IS NULL FROM agency WHERE axis = 'national' AND code_key = '000.00.00.G22'") == "t"
    # Only the national directory synced: an unknown recipient still goes to the default axis.
    p1 = submit(env, "D1", ["000.00.05.H49", "X.2"])
    assert deliveries(env, p1) == [["national", "000.00.05.H49 X.2"]]
    assert q(env, "SELECT string_agg(route, ',' ORDER BY ord) FROM package_route WHERE package_id = %s" % p1) \
        == "directory,default"
    assert replace(env, "prov", ["qcvn102", "qd20"], [
        {"list": "qcvn102", "code": "000.00.05.H49", "pid": "000.00.00.H49", "oldCode": "OLD"},
        {"list": "qd20", "code": "H49.07", "code102": "000.00.07.H49"}]) == [["1", "1", "1"]]
    assert q(env, "SELECT qcvn102 FROM v_agency_pair WHERE qd20 = 'H49.07'") == "000.00.07.H49"
    # Provincial first (listed by both), QĐ 20 and its QCVN 102 pair, lenient form; the rest nowhere.
    p2 = submit(env, "D2,2024/01/02,1/X", [" 000.00.05.h49", "000.00.00.G22", "H49.07", "000.00.07.H49", "X.3"])
    assert deliveries(env, p2) == [["national", "000.00.00.G22"], ["prov", " 000.00.05.h49 H49.07 000.00.07.H49"]]
    assert q(env, "SELECT recipient FROM v_no_electronic_means WHERE package_id = %s" % p2) == "X.3"
    assert q(env, "SELECT state FROM package WHERE id = %s" % p2) == "ROUTED"
    p3 = submit(env, "D3", ["X.4"])
    assert deliveries(env, p3) == [] and q(env, "SELECT state FROM package WHERE id = %s" % p3) == \
        "NO_ELECTRONIC_MEANS"
    # Replacing a list drops what is gone, keeps first_seen_at of what stays; a list not replaced stays.
    first = q(env, "SELECT first_seen_at FROM agency WHERE axis = 'prov' AND code_key = '000.00.05.H49'")
    assert replace(env, "prov", ["qcvn102"], [{"list": "qcvn102", "code": "000.00.05.H49"},
                                              {"list": "qd20", "code": "IGNORED"}],
                   "'no QD20 list'") == [["1", "1", "1"]]
    assert q(env, "SELECT first_seen_at FROM agency WHERE axis = 'prov' AND code_key = '000.00.05.H49'") == first
    assert q(env, "SELECT qd20_error FROM directory_sync WHERE axis = 'prov'") == "no QD20 list"
    assert replace(env, "prov", ["qcvn102", "qd20"], []) == [["0", "0", "0"]]
    assert q(env, "SELECT gw_directory_failed('prov', 'HTTP 500'), last_success_at IS NOT NULL "
                  "FROM directory_sync WHERE axis = 'prov'") == "1|t"
    # A disabled axis is still routed over with the directory last stored (its deliveries wait).
    replace(env, "prov", ["qcvn102"], [{"list": "qcvn102", "code": "000.00.05.H49"}])
    q(env, "SELECT gw_directory_axes_set(ARRAY['national', 'prov'], ARRAY['national', 'provincial'], "
           "ARRAY[true, true], ARRAY[true, false])")
    p4 = submit(env, "D4", ["000.00.05.H49"])
    assert deliveries(env, p4) == [["prov", "000.00.05.H49"]]
    # An axis no longer configured is not.
    q(env, "SELECT gw_directory_axes_set(ARRAY['national'], ARRAY['national'], ARRAY[true], ARRAY[true])")
    assert q(env, "SELECT configured, enabled FROM directory_sync WHERE axis = 'prov'") == "f|f"
    p5 = submit(env, "D5", ["000.00.05.H49"])
    assert deliveries(env, p5) == [["national", "000.00.05.H49"]]


def test_timelines_update_replace(env):
    migrate(env)
    # The parsed header the ingest migration stores with each package (edxml_json.h shape).
    q(env, "ALTER TABLE package ADD COLUMN IF NOT EXISTS header jsonb")
    q(env, "SELECT gw_directory_axes_set(ARRAY['national'], ARRAY['national'], ARRAY[true], ARRAY[true])")
    replace(env, "national", ["qcvn102"], [{"list": "qcvn102", "code": c} for c in ("A.1", "B.1", "C.1")])
    orig = submit(env, "S,2024/03/04,9/X", ["A.1", "B.1"])
    assert [r[0] for r in env.pg.rows("SELECT recipient FROM recipient_status ORDER BY id")] == ["A.1", "B.1"]
    # Received statuses: 01 from A (date written yyyy-MM-dd), 13 asked of B, then 16 from B.
    def incoming(doc_id, sender, code, rcpt, hdr=None):
        pid = q(env, "SELECT package_id FROM gw_store_incoming('national', '%s-%s', 'status', '%s', '%s', "
                     "ARRAY['%s'], '%s', 0::smallint, sha256(convert_to('%s%s', 'UTF8')), 'x')"
                % (code, sender, doc_id, sender, rcpt, code, code, sender))
        return pid
    p = incoming("S,2024-03-04,9/X", "A.1", "01", "000.00.12.H49")
    assert q(env, "SELECT gw_timeline_note(%s)" % p) == "1"
    assert q(env, "SELECT gw_timeline_note(%s)" % p) == "0"  # idempotent
    p13 = submit(env, "S,2024/03/04,9/X", ["B.1"], kind="status", code="'13'")
    assert events(env, "S,2024/03/04,9/X", "B.1") == ["13"]
    # Update: a new DocumentId whose Bussiness/DocumentId is the original.
    up = submit(env, "S,2024/03/05,10/X", ["A.1", "B.1"], bdt=2)
    q(env, "UPDATE package SET header = '{\"business\": {\"document_id\": \"S,2024-03-04,9/X\", "
           "\"reason\": \"Sửa nội dung\"}}' WHERE id = %s" % up)
    assert q(env, "SELECT gw_timeline_note(%s)" % up) == "2"
    assert events(env, "S,2024/03/04,9/X", "A.1") == ["01", "update"]
    assert q(env, "SELECT description FROM recipient_status_event WHERE package_id = %s LIMIT 1" % up) == "Sửa nội dung"
    # The update did not start timelines of its own DocumentId.
    assert q(env, "SELECT count(*) FROM recipient_status WHERE document_id = 'S,2024/03/05,10/X'") == "0"
    # Replace: ReplacementInfo names the original and, for it, only B.
    rp = submit(env, "S,2024/03/06,11/X", ["A.1", "B.1"], bdt=3)
    q(env, "UPDATE package SET header = '{\"business\": {\"replacements\": [{\"document_id\": "
           "\"S,2024/03/04,9/X\", \"organ_ids\": [\"b.1\"]}]}}' WHERE id = %s" % rp)
    assert q(env, "SELECT gw_timeline_note(%s)" % rp) == "1"
    assert events(env, "S,2024/03/04,9/X", "B.1") == ["13", "update", "replace"]
    assert events(env, "S,2024/03/04,9/X", "A.1") == ["01", "update"]
    tl = json.loads(q(env, "SELECT gw_package_timelines(%s)" % orig))
    assert [(x["recipient"], x["route"]["axis"], x["last_code"]) for x in tl] == \
        [("A.1", "national", "01"), ("B.1", "national", "13")], tl
    # A revoke with no header falls back to its own DocumentId (the original's, by definition).
    rv = submit(env, "S,2024/03/04,9/X", ["A.1"], bdt=1)
    assert events(env, "S,2024/03/04,9/X", "A.1") == ["01", "update", "revoke"], rv
    assert p13


if __name__ == "__main__":
    t.run([test_directory_and_routes, test_timelines_update_replace])
