#!/usr/bin/env python3
"""Paper copies end to end (Art. 10.3, domain.md §7): a document sent to the Government Office is
flagged under clause 1 with its evidence and a due date counted in working days (a configured
holiday skipped); QLVBĐH records the dispatch through POST /v1/packages/{id}/paper-copy, scoped
like the reads; an unconfirmed copy whose due date has passed is overdue in v_paper_copy_pending
and in /metrics; a catalogue change takes effect on SIGHUP without touching packages already
classified, and a bad catalogue is refused with its file and line while the previous one stays."""
import datetime
import hashlib
import json
import os
import shutil
import signal

import gwtest as t

FAR = "000.00.13.H49"
GOV = "000.00.00.G22"
GOV_QD20 = "G22.VPCP"


def vn_today():
    return (datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(hours=7)).date()


def add_workdays(day, n, holidays):
    while n > 0:
        day += datetime.timedelta(days=1)
        if day.weekday() < 5 and day not in holidays:
            n -= 1
    return day


def metric(gw, line):
    return line in t.request(gw.port, "GET", "/metrics", token=None).body.decode()


def paper_of(gw, pid):
    r = gw.get("/v1/packages/%d" % pid)
    assert r.status == 200, r.body
    return r.json()["paper"]


def submit(gw, n, to=("000.00.00.G22", "000.00.00.H44"), subject="Báo cáo tình hình thực hiện nhiệm vụ"):
    r = gw.submit(t.edoc("000.00.12.H49,2026/12/01,%d/STC-VP" % n, to=to, subject=subject))
    assert r.status == 202, r.body
    return r.json()["id"]


def record(gw, pid, body, token=t.TOKEN):
    return gw.post("/v1/packages/%d/paper-copy" % pid, json.dumps(body).encode(), token=token)


def log_has(gw, needle):
    with open(gw.log_path) as f:
        return needle in f.read()


def synced(env):
    return env.pg.query("SELECT bool_and(last_success_at IS NOT NULL) FROM directory_sync") == "t"


def test_paper_copies(env):
    # The axis's directory lists the Government Office under its QCVN 102 id and a QĐ 20 form.
    env.sim.ctl("POST", "/_sim/directory", {
        "agencies": [{"id": i, "code": c, "pid": "", "name": "Cơ quan " + c, "mail": ""}
                     for i, c in enumerate([GOV, "000.00.00.H44", t.PROVINCE, t.AGENCY])],
        "qd20": [{"id": 1, "code": GOV_QD20, "code102": GOV, "name": "Văn phòng Chính phủ", "mail": ""}]})
    rules = os.path.join(env.root, "rules")
    shutil.copytree(os.path.join(t.SRC, "schemas", "rules"), rules)
    today = vn_today()
    holiday = add_workdays(today, 1, set())  # the next working day is a public holiday
    gw = env.gateway({
        "paper:rules_dir": rules,
        "paper:metrics_interval_ms": "1000",
        "paper:holidays": holiday.isoformat(),
        "client.far:token_sha256": hashlib.sha256(b"far-token").hexdigest(),
        "client.far:organ_id": FAR,
    })

    t.wait_until(lambda: synced(env), 20, what="directory synced")
    # Clause 1: the Government Office is a recipient; the evidence names the field and the text.
    pid = submit(gw, 1)
    paper = paper_of(gw, pid)
    assert paper["required"] and paper["clauses"] == [1], paper
    hit = paper["hits"][0]
    assert (hit["clause"], hit["rule"], hit["field"], hit["text"]) == \
        (1, "c1.government", "To[1]/OrganId", "000.00.00.G22"), hit
    assert paper["declared"] == 0 and paper["mismatch"], paper  # the sender declared Paper = 0
    due = add_workdays(today, 1, {holiday})  # [paper] due_days_clause1 defaults to 1
    assert paper["due_on"] == due.isoformat() and paper["judged_on"] == today.isoformat(), paper
    # Clause 1 concerns the Government recipient only: one copy, for it.
    copies = paper["copies"]
    assert [(c["recipient"], c["reason"], c["clauses"], c["state"], c["overdue"]) for c in copies] == \
        [("000.00.00.G22", "required", [1], "PENDING", False)], copies
    events = [e for e in gw.get("/v1/packages/%d" % pid).json()["events"] if e["kind"] == "paper_classified"]
    assert events and events[0]["detail"]["rules"] == ["c1.government"], events
    t.wait_until(lambda: metric(gw, "gateway_paper_copies_pending 1\n"), 10, what="pending gauge")

    # Recording the dispatch: scoped, validated, idempotent.
    r = record(gw, pid, {"by": "Văn thư"}, token="far-token")
    assert r.status == 404, (r.status, r.body)
    assert gw.post("/v1/packages/%d/paper-copy" % pid, b"not json").status == 400
    assert record(gw, pid, {"reference": "12/STC"}).status == 422  # who sent it is required
    big = record(gw, pid, {"by": "x" * 20000})  # a record is at most 16 KiB
    assert big.status == 413 and big.json()["error"]["code"] == "too_large", big.body
    assert record(gw, pid, {"by": "x", "dispatched_at": "yesterday"}).status == 422
    r = record(gw, pid, {"recipient": "000.00.00.G22", "by": "Nguyễn Văn A, văn thư",
                         "reference": "12/STC-VP", "dispatched_at": "2026-12-01T09:30:00+07:00"})
    assert r.status == 200 and r.json() == {"id": pid, "recorded": 1}, r.body
    assert record(gw, pid, {"by": "Nguyễn Văn A, văn thư"}).json()["recorded"] == 0
    c = paper_of(gw, pid)["copies"][0]
    assert (c["state"], c["dispatched_by"], c["reference"], c["recorded_by"]) == \
        ("DISPATCHED", "Nguyễn Văn A, văn thư", "12/STC-VP", "qlvbdh"), c
    assert c["dispatched_at"].startswith("2026-12-01T02:30:00"), c
    assert any(e["kind"] == "paper_dispatched" for e in gw.get("/v1/packages/%d" % pid).json()["events"])
    t.wait_until(lambda: metric(gw, "gateway_paper_copies_pending 0\n"), 10, what="pending gauge 0")

    # A document that needs no paper copy has nothing to record.
    plain = submit(gw, 2, to=("000.00.00.H44",))
    assert not paper_of(gw, plain)["required"] and paper_of(gw, plain)["copies"] == []
    r = record(gw, plain, {"by": "Văn thư"})
    assert r.status == 409 and r.json()["error"]["code"] == "no_paper_copy", r.body

    # An unconfirmed copy becomes overdue once its due date has passed (the day moved back stands
    # for the days that went by): in the view and in the gauge.
    late = submit(gw, 3)
    t.wait_until(lambda: paper_of(gw, late)["copies"], 10, what="copy of the late package")
    env.pg.query("UPDATE paper_copy SET due_on = due_on - 10 WHERE package_id = %d" % late)
    rows = env.pg.rows("SELECT package_id, overdue, days_overdue > 0 FROM v_paper_copy_pending")
    assert rows == [[str(late), "t", "t"]], rows
    assert paper_of(gw, late)["copies"][0]["overdue"] is True
    t.wait_until(lambda: metric(gw, "gateway_paper_copies_overdue 1\n"), 10, what="overdue gauge")

    # The Government Office under its QĐ 20 form, known from the directory, is clause 1 too.
    t.wait_until(lambda: log_has(gw, "paper.aliases"), 10, what="directory aliases loaded")
    qd = paper_of(gw, submit(gw, 7, to=(GOV_QD20,), subject="Báo cáo tháng 11"))
    assert qd["clauses"] == [1] and qd["hits"][0]["alias_of"] == GOV, qd
    assert qd["hits"][0]["text"] == GOV_QD20 and qd["copies"][0]["recipient"] == GOV_QD20, qd

    # Art. 10.3a: a recipient no directory lists gets its copy on paper only, due in
    # due_days_no_means working days; the one the axis serves needs none.
    nem = paper_of(gw, submit(gw, 8, to=("000.00.00.H44", "000.00.99.H99"), subject="Thông báo"))
    assert not nem["required"], nem
    assert [(c["recipient"], c["reason"], c["paper_only"], c["due_on"]) for c in nem["copies"]] == \
        [("000.00.99.H99", "no_electronic_means", True, add_workdays(today, 3, {holiday}).isoformat())], nem

    # A new catalogue rule takes effect on SIGHUP; what was classified before keeps its result.
    subject = "Kế hoạch chuyển đổi số năm 2027 của Sở Tài chính"
    before = submit(gw, 4, to=("000.00.00.H44",), subject=subject)
    old = paper_of(gw, before)
    assert not old["required"], old
    with open(os.path.join(rules, "clause3_digital.ini"), "w") as f:
        f.write("[catalogue]\nversion = test.1\n\n[rule c3.digital]\nclause = 3\n"
                "effective_from = 2021-01-01\nsubject = chuyển đổi số\n")
    gw.proc.send_signal(signal.SIGHUP)
    t.wait_until(lambda: log_has(gw, "paper.catalogue_reloaded"), 10, what="catalogue reloaded")
    after = submit(gw, 5, to=("000.00.00.H44",), subject=subject)
    new = paper_of(gw, after)
    assert new["required"] and new["clauses"] == [3] and new["hits"][0]["rule"] == "c3.digital", new
    assert new["catalogue"]["digest"] != old["catalogue"]["digest"]
    assert paper_of(gw, before) == old
    t.wait_until(lambda: metric(gw, "gateway_paper_rules 9\n"), 5, what="rules gauge")

    # A bad catalogue is refused with its file and line; the previous one stays in force.
    with open(os.path.join(rules, "zz_bad.ini"), "w") as f:
        f.write("[rule c3.bad]\nclause = 7\neffective_from = 2021-01-01\n")
    gw.proc.send_signal(signal.SIGHUP)
    t.wait_until(lambda: log_has(gw, "paper.catalogue_refused"), 10, what="catalogue refused")
    assert log_has(gw, "zz_bad.ini:2: unknown_clause"), gw.tail()
    kept = paper_of(gw, submit(gw, 6, to=("000.00.00.H44",), subject=subject))
    assert kept["clauses"] == [3] and kept["catalogue"]["digest"] == new["catalogue"]["digest"], kept
    t.wait_until(lambda: metric(gw, 'gateway_paper_catalogue_reloads_total{result="refused"} 1\n'), 5,
                 what="refused reload counted")

    # An incoming package to another province's agency and two of ours: clause 3, copies tracked
    # for ours only (022). Before, every To got one, the other province's overdue for ever.
    incoming = t.edoc("000.00.00.G22,2026/12/01,9/VPCP", to=("000.00.00.H44", t.PROVINCE, t.AGENCY),
                      sender="000.00.00.G22", subject=subject)
    env.sim.inject(t.PROVINCE, incoming)
    pin = t.wait_until(lambda: env.pg.query("SELECT id FROM package WHERE direction = 'in' AND document_id = "
                                            "'000.00.00.G22,2026/12/01,9/VPCP'"), 20, what="incoming stored")
    copies = t.wait_until(lambda: env.pg.rows("SELECT recipient FROM paper_copy WHERE package_id = %s "
                                              "ORDER BY recipient" % pin), 20, what="incoming copies")
    assert copies == sorted([[t.PROVINCE], [t.AGENCY]]), copies
    assert env.pg.query("SELECT required FROM paper_check WHERE package_id = %s" % pin) == "t"


if __name__ == "__main__":
    t.run([test_paper_copies])
