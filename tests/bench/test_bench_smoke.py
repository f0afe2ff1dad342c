# -*- coding: utf-8 -*-
# Copyright: identitynow.tasks contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Smoke test of the benchmark harness (make bench-smoke, part of make test).

Runs tests/bench/bench.py --smoke (every case at tiny sizes, rate limit on) and checks that it ran every
case without an error and produced the table and the JSON report with the rows of every case, and checks the
figures that do not depend on the machine's speed: records returned and requests counted by the simulator. It
checks no time and no timing target: a missed timing target is a finding of make bench, not a broken harness.
Every case of tests/bench/extra/ runs too: it must add rows without an error, and its own ``check(rows, size)``,
when the file has one, checks its counts.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
HEADER = "| case | measure | ours | alternatives | ratio | target | met? |"


def harness():
    """bench.py as a module (for its discovery of the cases in tests/bench/extra/)."""
    spec = importlib.util.spec_from_file_location("bench_harness", os.path.join(HERE, "bench.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


EXTRA = harness().extra_cases()

# Rows every run must have, by case (the start of the measure's name).
EXPECTED = {
    1: ("records returned", "list requests", "token requests", "wall: module task vs null module task",
        "wall: module process alone vs null module process", "wall: module task vs floor process",
        "wall: module task vs uri tasks", "wall: whole playbook vs uri playbook",
        "wall: collection code without Ansible", "peak RSS of the module process"),
    2: ("list requests per poll round", "API requests in total", "token requests (TTL 749 s)",
        "token requests (TTL 3 s: renewal)", "return after the last completion"),
    3: ("tasks cleared (101 stuck): task_status_info + task_status",
        "wall: whole playbook vs rate-limit floor: task_status_info + task_status",
        "429 responses: task_status_info + task_status", "requests list / get / PATCH / token: task_status_info"),
    4: ("one GET by id, same token",),
    5: ("list pages/s served", "headroom over the fastest list rate of cases 1-3"),
}


def test_bench_smoke(tmp_path):
    start = time.monotonic()
    proc = subprocess.run([sys.executable, os.path.join(HERE, "bench.py"), "--smoke", "--out", str(tmp_path)],
                          capture_output=True, text=True, timeout=600, check=False)
    seconds = time.monotonic() - start
    assert proc.returncode == 0, "bench.py --smoke failed after %.0f s:\n%s\n%s" % (
        seconds, proc.stdout, proc.stderr[-5000:])

    squeezed = "\n".join(" ".join(line.split()) for line in proc.stdout.splitlines())
    assert HEADER in squeezed, proc.stdout

    with open(os.path.join(tmp_path, "latest.json")) as handle:
        report = json.load(handle)
    assert report["mode"] == "smoke"
    assert report["cases"] == sorted([1, 2, 3, 4, 5] + list(EXTRA))
    assert report["errors"] == [], "\n".join(e["traceback"] for e in report["errors"])
    assert report["limits"]["rate_limit"] == 100, "the smoke run must keep the rate limit on"
    for key in ("date", "nproc", "python", "ansible_core"):
        assert report["machine"][key]

    rows = report["rows"]
    for case, measures in EXPECTED.items():
        names = [row["measure"] for row in rows if row["case"] == case]
        for measure in measures:
            assert any(name.startswith(measure) for name in names), "case %d has no row %r: %s" % (
                case, measure, names)
    for row in rows:
        assert row["status"] in ("met", "NOT MET", "-", "n/a"), row
        assert row["ours"] not in ("", "n/a"), row
        if row["target"] and not row["ours"].startswith("n/a: "):
            # A row with a target has a verdict, unless its cell says why not ("n/a: the reason").
            assert row["met"] in (True, False), "a row with a target must say met or not met: %r" % row
        assert row["measure"] in proc.stdout, row
    check_requests(report)
    check_extra(report)
    # The picture of case 3's requests per sliding window is written next to the JSON, from the run's requests.
    assert report["picture"] == os.path.join(str(tmp_path), "case3-requests.svg")
    with open(report["picture"]) as handle:
        svg = handle.read()
    assert "<svg" in svg and "task_status_info + task_status: %d API requests" % len(
        report["details"]["case3_requests"]["task_status_info + task_status"]) in svg
    # The markdown copy of the table is written next to the JSON.
    with open(os.path.join(tmp_path, "latest.md")) as handle:
        markdown = handle.read()
    assert HEADER in "\n".join(" ".join(line.split()) for line in markdown.splitlines())
    assert all(row["measure"] in markdown for row in rows)


def row(report, case, measure):
    """The data of the one row of a case whose measure starts with measure."""
    found = [r for r in report["rows"] if r["case"] == case and r["measure"].startswith(measure)]
    assert len(found) == 1, "case %d: %d rows %r" % (case, len(found), measure)
    return found[0]["data"]


def check_requests(report):
    """Request counts and records are exact (they come from the simulator's request log), unlike times."""
    sizes = report["sizes"]
    n, page = sizes["list_tasks"], sizes["page_size"]
    pages = -(-n // page)
    records = row(report, 1, "records returned")
    assert (records["ours"], records["floor"], records["uri"], records["null"]) == (n, n, n, n), records
    null = row(report, 1, "wall: module task vs null module task")
    assert null["null_requests"].get("api", 0) == 0 and null["null_requests"].get("token", 0) == 0, null
    lists = row(report, 1, "list requests")
    assert [lists[k]["list"] for k in ("ours", "floor", "uri")] == [pages] * 3, lists
    tokens = row(report, 1, "token requests")
    assert (tokens["ours"], tokens["floor"], tokens["uri"]) == (1, 1, 1), tokens
    plain = row(report, 1, "wall: collection code without Ansible")
    assert (plain["records"], plain["list"], plain["token"]) == (n, pages, 1), plain

    rounds = row(report, 2, "list requests per poll round")
    # How many rounds a wait takes depends on the machine's speed; one list request per round does not.
    assert rounds["rounds"] >= 1 and rounds["list"] == rounds["rounds"] * rounds["chunks"], rounds
    assert rounds["uri_ids"] == sizes["wait_tasks"] and rounds["uri_get"] >= sizes["wait_tasks"], rounds
    assert row(report, 2, "token requests (TTL 749 s)")["tokens"] == 1
    assert row(report, 2, "token requests (TTL %d s" % sizes["short_ttl"])["tokens"] >= 1

    stuck = sizes["clear_tasks"]
    titles = ["task_status_info + task_status"]
    if any(r["measure"].endswith(": clear_pending_tasks role") for r in report["rows"] if r["case"] == 3):
        titles.append("clear_pending_tasks role")
    for title in titles:
        assert row(report, 3, "tasks cleared (%d stuck): %s" % (stuck, title))["cleared"] == stuck, title
        counts = row(report, 3, "requests list / get / PATCH / token: %s" % title)["ours"]
        assert counts.get("patch_ok") == stuck, (title, counts)
        assert counts.get("errors", 0) == 0, (title, counts)

    calls = row(report, 4, "requests in the run")
    assert (calls["get"], calls["token"]) == (calls["expected_get"], calls["expected_token"]), calls


def check_extra(report):
    """Every case of tests/bench/extra/ ran at its smoke size, added rows, and passes its own check."""
    for number, case in sorted(EXTRA.items()):
        rows = [r for r in report["rows"] if r["case"] == number]
        assert rows, "case %d (%s) added no row" % (number, case.path)
        assert report["extra"][str(number)]["sizes"] == case.load().SIZES["smoke"], number
        check = getattr(case.load(), "check", None)
        if check is not None:
            check(rows, report["extra"][str(number)]["sizes"])
