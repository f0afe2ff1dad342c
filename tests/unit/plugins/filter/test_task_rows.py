# -*- coding: utf-8 -*-
# Copyright: identitynow.tasks contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The filters of plugins/filter/task_rows.py: inputs, rows, the wait state, clearing, the report."""

from __future__ import annotations

import os

import pytest
import yaml
from ansible.errors import AnsibleFilterError

from ansible_collections.identitynow.tasks.plugins.filter import task_rows as tf
from ansible_collections.identitynow.tasks.plugins.module_utils import task_record

NOW = 1738324800.0  # 2025-01-31T12:00:00Z
FILTER_DIR = os.path.dirname(tf.__file__)


def iso(seconds_ago):
    return task_record.format_timestamp(NOW - seconds_ago)


def record(task_id, created_ago=600, launched_ago=None, completed_ago=None, status=None, source=("src-ad",
           "Active Directory [source]"), name="Cloud Account Aggregation", progress=None, percent=None,
           messages=None, modified_ago=None):
    rec = {"id": task_id, "uniqueName": name, "created": iso(created_ago),
           "launched": iso(created_ago if launched_ago is None else launched_ago),
           "completed": None if completed_ago is None else iso(completed_ago), "completionStatus": status,
           "progress": progress, "percentComplete": percent, "messages": messages or [],
           "modified": iso(0 if modified_ago is None else modified_ago)}
    if source:
        rec["target"] = {"id": source[0], "name": source[1], "type": "APPLICATION"}
    return rec


def message(kind, text):
    return {"type": kind, "key": "k", "localizedText": {"locale": "en-US", "message": text}}


# -- documentation -----------------------------------------------------------------------------

def test_every_filter_has_its_documentation_file():
    names = sorted(tf.FilterModule().filters())
    for name in names:
        with open(os.path.join(FILTER_DIR, name + ".yml")) as handle:
            doc = yaml.safe_load(handle)
        assert doc["DOCUMENTATION"]["name"] == name
        assert doc["EXAMPLES"] and doc["RETURN"]["_value"]
    documented = sorted(f[:-4] for f in os.listdir(FILTER_DIR) if f.endswith(".yml"))
    assert documented == names


# -- inputs --------------------------------------------------------------------------------------

@pytest.mark.parametrize("given, expected", [
    (None, []), ("", []), ([], []), ("a", ["a"]), (" a, b,,a ,", ["a", "b"]),
    (["x", " ", None, "x ", 7], ["x", "7"]), (("p", "q"), ["p", "q"]),
    ("Cloud Account Aggregation, cloud group aggregation", ["Cloud Account Aggregation", "cloud group aggregation"]),
])
def test_string_list_reads_lists_and_comma_separated_strings(given, expected):
    assert tf.string_list(given) == expected


@pytest.mark.parametrize("given", [{"a": 1}, 5, ["ok", {"a": 1}], [["nested"]]])
def test_string_list_names_the_input_it_refuses(given):
    with pytest.raises(AnsibleFilterError, match="my_input must"):
        tf.string_list(given, "my_input")


def test_completion_statuses_upper_case_and_alias():
    assert tf.completion_statuses("error, temp_error,Terminated, ERROR") == ["ERROR", "TEMPERROR", "TERMINATED"]
    assert tf.completion_statuses([]) == []


def test_completion_statuses_refuses_an_unknown_status_naming_the_input():
    with pytest.raises(AnsibleFilterError, match="wait_for_aggregation_fail_on_status: unknown completion status 'DONE'"):
        tf.completion_statuses(["ERROR", "DONE"], "wait_for_aggregation_fail_on_status")


@pytest.mark.parametrize("given, expected", [
    ("90s", 90), ("30m", 1800), ("6h", 21600), ("1h30m", 5400), ("2d", 172800), (90, 90), ("90", 90),
    (" 15 ", 15), (0.5, 0.5), ("1.5m", 90), ("0", 0),
])
def test_duration_seconds(given, expected):
    assert tf.duration_seconds(given) == expected


@pytest.mark.parametrize("given", ["soon", "", "-5", "5 minutes", None, [1], True])
def test_duration_seconds_refuses_what_is_not_a_duration(given):
    with pytest.raises(AnsibleFilterError, match="my_timeout must be"):
        tf.duration_seconds(given, "my_timeout")


def test_duration_seconds_positive_refuses_zero():
    assert tf.duration_seconds("0s", "t") == 0
    with pytest.raises(AnsibleFilterError, match="t must be a number of seconds greater than 0"):
        tf.duration_seconds("0s", "t", positive=True)


@pytest.mark.parametrize("seconds, clock, age, span", [
    (0, "0s", "0h 00m", "0s"), (45, "45s", "0h 00m", "45s"), (90, "1m 30s", "0h 01m", "90s"),
    (3600, "1h 00m 00s", "1h 00m", "60m"), (5400, "1h 30m 00s", "1h 30m", "90m"), (7200, "2h 00m 00s", "2h 00m", "2h"),
    (25200, "7h 00m 00s", "7h 00m", "7h"), (108000, "1d 06h 00m", "1d 06h 00m", "30h"),
    (3661, "1h 01m 01s", "1h 01m", "1h 01m 01s"),
])
def test_texts(seconds, clock, age, span):
    assert (tf.clock_text(seconds), tf.age_text(seconds), tf.span_text(seconds)) == (clock, age, span)


def test_records_must_be_mappings():
    with pytest.raises(AnsibleFilterError, match="records must contain task records"):
        tf.clear_plan(["not a record"], "6h")
    with pytest.raises(AnsibleFilterError, match="recent must be a list of task records"):
        tf.task_report("nope", [], 24)


# -- rows ----------------------------------------------------------------------------------------

def test_task_row_names_times_and_messages():
    row = tf.task_row(record("t1", created_ago=700, launched_ago=600, completed_ago=100, status="temp_error",
                             messages=[message("ERROR", "boom"), {"type": None, "key": "just.a.key"}, "junk"]), NOW)
    assert row["source"] == "Active Directory" and row["source_id"] == "src-ad"
    assert row["name"] == "Cloud Account Aggregation"
    assert row["status"] == "TEMPERROR" and row["finished"] and not row["finishing"]
    assert row["duration"] == 500 and row["age"] == 700
    assert row["messages"] == ["ERROR: boom", "INFO: just.a.key"]


def test_task_row_without_target_or_times():
    row = tf.task_row({"id": "bare", "taskDefinitionSummary": {"uniqueName": "Identity Refresh"}}, NOW)
    assert row["source"] is None and row["source_id"] is None and row["name"] == "Identity Refresh"
    assert row["duration"] == 0 and row["age"] == 0 and row["status"] is None and not row["finished"]


# -- wait_state ----------------------------------------------------------------------------------

SETTINGS = {"start": NOW - 600, "timeout": 3600, "progress_interval": 60, "fail_on_status": ["ERROR", "TERMINATED"],
            "fail_fast": False, "missing": []}


def result(*records, missing=()):
    return {"task_statuses": list(records), "missing": list(missing)}


def test_wait_state_rows_lines_and_what_finished_since_the_previous_round():
    before = result(record("a", progress="Aggregating accounts: 1 of 4", percent=25),
                    record("b", completed_ago=900, created_ago=1000, status="SUCCESS"),
                    record("c", percent=90, progress="Completed"))
    now = result(record("a", progress="Aggregating accounts: 3 of 4", percent=75),
                 record("b", completed_ago=900, created_ago=1000, status="SUCCESS"),
                 dict(record("c", completed_ago=5, percent=100, progress="Completed"), completionStatus=None),
                 missing=[])
    state = tf.wait_state([before, now], SETTINGS, now=NOW)
    assert [r["status"] for r in state["rows"]] == ["RUNNING", "SUCCESS", "FINISHING"]
    assert state["unfinished"] == ["a", "c"] and state["continue"] and not state["timed_out"]
    assert state["lines"][0] == "After 10m 00s of 60m: 1 of 3 task(s) finished"
    # b had finished before this round: no "finished" line for it again.
    assert not [line for line in state["lines"] if line.startswith("finished")]
    assert state["lines"][1] == ("running:   Active Directory / Cloud Account Aggregation: Aggregating accounts: 3 of 4, "
                                 "75%, running 10m 00s (a)")
    assert state["lines"][2] == ("finishing: Active Directory / Cloud Account Aggregation: Completed, 100%, finishing: "
                                 "completed after 9m 55s, completion status not yet set (c)")
    assert state["round_timeout"] == 60


def test_wait_state_reports_a_task_once_when_it_finishes():
    before = result(record("a", percent=50))
    after = result(record("a", completed_ago=30, created_ago=600, status="ERROR",
                          messages=[message("INFO", "started"), message("ERROR", "connect timed out")]))
    state = tf.wait_state([before, after], SETTINGS, now=NOW)
    assert state["lines"] == ["After 10m 00s of 60m: 1 of 1 task(s) finished",
                              "finished:  ERROR      Active Directory / Cloud Account Aggregation, 9m 30s (a): "
                              "ERROR: connect timed out"]
    assert not state["continue"]
    res = state["result"]
    assert res["outcome"] == "failed" and res["failed"] == ["a"]
    assert res["msg"] == "FAILED: 1 of 1 task(s) ended with ERROR, after 10m 00s."
    assert res["summary"][1].startswith("ERROR      Active Directory")


def test_wait_state_keeps_the_most_advanced_record_whatever_the_order():
    old = result(record("a", completed_ago=10, status="SUCCESS"))
    new = result(record("a", percent=99))
    for results in ([old, new], [new, old]):
        assert tf.wait_state(results, SETTINGS, now=NOW)["result"]["outcome"] == "success"


def test_wait_state_timeout_fail_fast_missing_nothing():
    running = result(record("slow", percent=10), record("bad", completed_ago=1, status="TERMINATED"))
    late = dict(SETTINGS, start=NOW - 3600)
    state = tf.wait_state(running, late, now=NOW)
    assert state["timed_out"] and not state["continue"]
    assert state["result"]["outcome"] == "failed"  # a failure wins over the timeout
    assert state["result"]["msg"] == ("FAILED: 1 of 2 task(s) ended with TERMINATED (1 still running when the role "
                                      "stopped), after 60m 00s.")
    assert not tf.wait_state(running, dict(SETTINGS, fail_fast=True), now=NOW)["continue"]
    assert tf.wait_state(running, SETTINGS, now=NOW)["continue"]

    stuck = tf.wait_state(result(record("slow")), dict(SETTINGS, timeout=3, start=NOW - 4), now=NOW)
    assert stuck["result"]["outcome"] == "timed_out"
    assert stuck["result"]["msg"] == "TIMED OUT after 0m 04s (timeout 3s): 1 of 1 task(s) still running."
    assert stuck["result"]["summary"][1].startswith("RUNNING    Active Directory")
    assert stuck["round_timeout"] == 1

    gone = tf.wait_state([result(record("a", completed_ago=1, status="SUCCESS"), record("x")),
                          result(record("a", completed_ago=1, status="SUCCESS"), missing=["x"])],
                         dict(SETTINGS, missing=["typo"]), now=NOW)
    assert gone["ids"] == ["a"] and gone["result"]["missing"] == ["typo", "x"]
    assert gone["result"]["outcome"] == "missing"
    assert gone["result"]["msg"] == ("FAILED: ISC does not return 2 of the task id(s): typo, x (unknown, or older than "
                                     "90 days).")

    nothing = tf.wait_state(result(), SETTINGS, now=NOW)
    assert nothing["result"]["outcome"] == "nothing_running" and not nothing["continue"]


def test_wait_state_success_names_the_statuses_and_intro_lists_the_tasks():
    state = tf.wait_state([None, result(record("a", completed_ago=1, status="WARNING"), record("b", percent=5))],
                          SETTINGS, now=NOW)
    assert state["intro"][0] == "Waiting up to 60m for 1 of 2 task(s):"
    assert len(state["intro"]) == 3
    done = tf.wait_state(result(record("a", completed_ago=1, status="WARNING")), SETTINGS, now=NOW)
    assert done["result"]["msg"] == ("SUCCESS: all 1 task(s) finished without a status of ERROR, TERMINATED, "
                                     "after 10m 00s.")


def test_wait_state_refuses_what_is_not_a_result():
    with pytest.raises(AnsibleFilterError, match="expected a list of task_status_info results"):
        tf.wait_state([], SETTINGS)


# -- clear_pending_tasks -----------------------------------------------------------------------

def test_clear_plan_rows_and_selection():
    plan = tf.clear_plan(result(record("ad", created_ago=108000, percent=40, progress="Aggregating groups: 1 of 2"),
                                record("sap", created_ago=25200, launched_ago=None, source=None, name=None)),
                         "6h", "Cloud Account Aggregation, x", ["src-ad"], now=NOW)
    assert plan["selection"] == ("task(s) pending for more than 6h named Cloud Account Aggregation or x on source(s) "
                                 "src-ad")
    assert plan["ids"] == ["ad", "sap"]
    assert plan["rows"][0]["line"] == ('Active Directory / Cloud Account Aggregation, pending for 1d 06h 00m, at 40% '
                                       '"Aggregating groups: 1 of 2" (ad)')
    assert plan["rows"][1]["line"] == "task, pending for 7h 00m, at 0% not launched (sap)"
    assert plan["rows"][1]["age"] == 25200 and plan["rows"][1]["age_text"] == "7h 00m"
    assert tf.clear_plan([], "6h")["selection"] == "task(s) pending for more than 6h"


def test_clear_summary_cleared_left_alone_and_check_mode():
    plan = tf.clear_plan([record("a"), record("b")], "6h", now=NOW)
    cleared = {"changed": True, "tasks": [{"id": "a", "outcome": "changed"},
                                          {"id": "b", "outcome": "refused", "msg": "the task already finished"}]}
    summary = tf.clear_summary(plan, cleared, "terminated")
    assert summary["outcome"] == "cleared" and summary["cleared"] == ["a"] and summary["left_alone"] == ["b"]
    assert summary["msg"] == "Cleared 1 of 2 task(s) pending for more than 6h."
    assert summary["tasks"][0]["line"].endswith("(a): cleared (TERMINATED)")
    assert summary["tasks"][1]["line"].endswith("(b): left alone (refused): the task already finished")
    assert summary["hint"] is None and summary["lines"][0] == summary["msg"] and len(summary["lines"]) == 3

    checked = tf.clear_summary(plan, {"tasks": [{"id": "a", "outcome": "changed", "msg": "check mode: nothing was sent"},
                                                {"id": "b", "outcome": "changed"}]}, "ERROR")
    assert checked["outcome"] == "checked" and checked["check_mode"]
    assert checked["msg"] == "Would clear 2 of 2 task(s) pending for more than 6h (check mode: nothing was changed)."

    nothing = tf.clear_summary(tf.clear_plan([], "6h"), {"skipped": True}, "ERROR")
    assert nothing["outcome"] == "nothing_to_clear" and nothing["msg"] == "Nothing to clear: no task(s) pending for more than 6h."


def test_clear_summary_on_a_refused_write_gives_each_task_and_the_hint_once():
    hint = "Updating a task status needs a token with user context."
    plan = tf.clear_plan([record("a"), record("b"), record("c")], "6h", now=NOW)
    cleared = {"failed": True, "msg": "2 skipped, 1 failed; first failure: ...", "tasks": [
        {"id": "a", "outcome": "failed", "msg": "HTTP 403 | PATCH http://127.0.0.1/x. Hint: " + hint,
         "error": {"status": 403, "hint": hint}},
        {"id": "b", "outcome": "skipped", "msg": "not attempted: this token cannot update task statuses. " + hint},
        {"id": "c", "outcome": "skipped", "msg": "not attempted: this token cannot update task statuses. " + hint}]}
    summary = tf.clear_summary(plan, cleared, "ERROR")
    assert summary["outcome"] == "failed" and summary["hint"] == hint
    assert summary["msg"] == "FAILED to clear 1 of 3 task(s) pending for more than 6h (0 cleared, 2 left alone)."
    text = "\n".join(summary["lines"])
    assert text.count(hint) == 1 and summary["lines"][-1] == "Hint: " + hint
    assert summary["lines"][1].endswith("(a): left alone (failed): HTTP 403 | PATCH http://127.0.0.1/x")
    assert summary["lines"][2].endswith("(b): left alone (skipped): not attempted: this token cannot update task "
                                        "statuses.")


def test_clear_summary_when_the_run_failed_before_any_task():
    plan = tf.clear_plan([record("a"), record("b")], "6h", now=NOW)
    summary = tf.clear_summary(plan, {"failed": True, "msg": "HTTP 500 | GET x. Hint: try later", "hint": "try later"},
                               "ERROR")
    assert summary["outcome"] == "failed"
    assert summary["lines"][1] == "task_status failed: HTTP 500 | GET x"
    assert summary["lines"][-1] == "Hint: try later" and "\n".join(summary["lines"]).count("try later") == 1


# -- task_report ---------------------------------------------------------------------------------

def test_task_report_counts_slowest_failures_pending():
    recent = result(
        record("ok-1", created_ago=7200, completed_ago=7140, status="SUCCESS"),
        record("ok-2", created_ago=18000, completed_ago=15000, status="SUCCESS"),
        record("warn", created_ago=3600, completed_ago=3480, status="WARNING", source=("src-hr", "Workday [source]")),
        record("bad", created_ago=600, completed_ago=570, status="ERROR",
               messages=[message("INFO", "started"), message("ERROR", "no route")]),
        record("temp", created_ago=500, completed_ago=400, status="TEMP_ERROR"),
        record("refresh", created_ago=10000, completed_ago=9100, status="TERMINATED", source=None,
               name="Identity Refresh"),
        record("stuck", created_ago=25200, percent=40, progress="Aggregating"),
        dict(record("finishing", created_ago=300, completed_ago=1), completionStatus=None),
    )
    pending = result(record("stuck", created_ago=25200, percent=40, progress="Aggregating"),
                     record("ancient", created_ago=200000, source=("src-sap", "SAP ERP [source]")))
    report = tf.task_report(recent, pending, 24, 2, now=NOW)
    assert report["total"] == 8
    assert report["by_status"] == {"SUCCESS": 2, "WARNING": 1, "ERROR": 1, "TERMINATED": 1, "TEMPERROR": 1, "PENDING": 2}
    assert report["counts"] == [
        {"name": "Cloud Account Aggregation", "total": 7, "SUCCESS": 2, "WARNING": 1, "ERROR": 1, "TERMINATED": 0,
         "TEMPERROR": 1, "PENDING": 2},
        {"name": "Identity Refresh", "total": 1, "SUCCESS": 0, "WARNING": 0, "ERROR": 0, "TERMINATED": 1,
         "TEMPERROR": 0, "PENDING": 0}]
    assert [t["id"] for t in report["slowest"]] == ["ok-2", "refresh"]
    assert [t["id"] for t in report["failures"]] == ["bad", "temp", "refresh"]
    assert [t["id"] for t in report["pending"]] == ["ancient", "stuck", "finishing"]
    assert report["pending"][0]["age"] == 200000 and not report["pending"][0]["recent"]
    assert report["since"] == "2025-01-30T12:00:00Z" and report["generated"] == "2025-01-31T12:00:00Z"
    assert not report["truncated"]
    assert tf.task_report(dict(recent, truncated=True), pending, 24, now=NOW)["truncated"]


def test_task_report_markdown_shows_the_source_id_next_to_the_source():
    recent = result(record("ok", created_ago=700, completed_ago=100, status="SUCCESS"),
                    record("bad", created_ago=700, completed_ago=600, status="ERROR",
                           source=("src-sf", "Sales|force [source]"), messages=[message("ERROR", "no route")]))
    pending = result(record("stuck", created_ago=25200, percent=40, progress="Aggregating"))
    text = tf.task_report_markdown(tf.task_report(recent, pending, 24, now=NOW))
    lines = text.splitlines()
    assert lines[0] == "# ISC task report: the last 24 hours"
    assert "| Cloud Account Aggregation | 1 | 0 | 1 | 0 | 0 | 0 | 2 |" in lines
    assert "| 10m 00s | Active Directory / Cloud Account Aggregation | src-ad | SUCCESS | %s | ok |" % iso(700) in lines
    assert ("- **ERROR** Sales|force / Cloud Account Aggregation (source id `src-sf`), started %s, after 1m 40s (`bad`)"
            % iso(700)) in lines
    assert "  - ERROR: no route" in lines
    assert ("| 7h 00m 00s | Active Directory / Cloud Account Aggregation | src-ad | Aggregating, 40%% | %s | stuck |"
            % iso(25200)) in lines
    # A pipe in a name cannot break a table row.
    assert "| 1m 40s | Sales\\|force / Cloud Account Aggregation | src-sf | ERROR |" in text
    empty = tf.task_report_markdown(tf.task_report([], [], 1, now=NOW))
    assert "No task was created in the last 1 hours." in empty and "Nothing is pending." in empty
    assert "No task failed." in empty and "No finished run." in empty
