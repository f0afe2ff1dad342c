# -*- coding: utf-8 -*-
# Copyright: identitynow.tasks contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""task_status_info run in-process against the simulated tenant; request counts come from the simulator's log."""

from __future__ import annotations

import math
import sys

import pytest

from ansible_collections.identitynow.tasks.plugins.modules import task_status_info

VERSIONS = ("v2026", "v2025", "v2024", "beta", "v1")


@pytest.fixture
def run(run_module):
    """run(**options) -> (failed, result): the module's JSON output, connected to the simulator."""

    def call(**options):
        result = run_module(task_status_info, **options)
        assert result.get("changed", False) is False
        return bool(result.get("failed")), result

    return call


class Calls:
    """The simulator's request log since the last clear, sorted by kind; the log is cleared."""

    def __init__(self, sim):
        log = sim.log()
        sim.clear_log()
        self.lists = [e for e in log if e["path"].rstrip("/").endswith(("/task-status", "/task-status/v1"))]
        self.pending = [e for e in log if e["path"].endswith("/pending-tasks")]
        self.tokens = [e for e in log if e["path"] == "/oauth/token"]
        self.by_id = [e for e in log if e not in self.lists and e not in self.pending and e not in self.tokens]


# -- request counts --------------------------------------------------------------------------------

@pytest.mark.parametrize("tasks,page_size", [(10000, 250), (1000, 100), (7, 3), (6, 3), (0, 250)])
def test_listing_costs_ceil_n_over_page_size(sim, run, tasks, page_size):
    sim.reset("bulk", tasks=tasks, rate_limit=0)
    failed, result = run(page_size=page_size, max_results=0, fields=["completionStatus"], count=True)
    assert not failed
    calls = Calls(sim)
    assert len(result["task_statuses"]) == tasks == result["total"]
    assert len({r["id"] for r in result["task_statuses"]}) == tasks
    assert len(calls.lists) == max(1, math.ceil(tasks / float(page_size)))
    assert [int(e["query"]["offset"]) for e in calls.lists] == [i * page_size for i in range(len(calls.lists))]
    assert {e["query"]["limit"] for e in calls.lists} == {str(page_size)}
    assert calls.by_id == [] and calls.pending == [] and len(calls.tokens) == 1
    assert result["truncated"] is False


def test_ten_thousand_with_default_cap(sim, run):
    sim.reset("bulk", tasks=10000, rate_limit=0)
    failed, result = run(fields=["id"])
    calls = Calls(sim)
    assert not failed and len(result["task_statuses"]) == 10000 and result["truncated"] is False
    assert len(calls.lists) == 40 and len(calls.tokens) == 1


def test_cap_below_total(sim, run):
    sim.reset("bulk", tasks=600, rate_limit=0)
    failed, result = run(max_results=300, page_size=250, fields=["id"])
    calls = Calls(sim)
    assert not failed and len(result["task_statuses"]) == 300 and result["truncated"] is True
    assert [e["query"]["limit"] for e in calls.lists] == ["250", "250"]
    assert any("max_results=300" in w and "ISC counts 600" in w for w in result["warnings"])


def test_wait_on_fifty_running_tasks_is_one_list_call_per_round(sim, run):
    sim.settings(race_window=0.3)
    sim.add_tasks({"source_id": "gate", "source_name": "Gate", "duration": 2.5, "count": 50})
    ids = [t["id"] for t in sim.tasks()]
    sim.clear_log()
    failed, result = run(ids=ids, wait=True, wait_sleep=0.4, wait_sleep_max=0.4, wait_timeout=30,
                         fields=["completionStatus"])
    assert not failed, result["msg"]
    calls = Calls(sim)
    assert result["polls"] >= 2 and result["timed_out"] is False
    assert len(calls.lists) == 1 + result["polls"]
    assert all(e["query"]["filters"].startswith("id in (") for e in calls.lists)
    assert calls.by_id == [] and calls.pending == [] and len(calls.tokens) == 1
    assert result["summary"]["by_status"]["SUCCESS"] == 50


def test_wait_on_120_tasks_chunks_ids_by_50(sim, run):
    sim.settings(race_window=0)
    sim.add_tasks({"duration": 1.5, "count": 120})
    ids = [t["id"] for t in sim.tasks()]
    sim.clear_log()
    failed, result = run(ids=ids, wait=True, wait_sleep=0.3, wait_sleep_max=0.3, wait_timeout=30, fields=["id"])
    assert not failed, result["msg"]
    calls = Calls(sim)
    sizes = [e["query"]["filters"].count(",") + 1 for e in calls.lists]
    assert sizes[:3] == [50, 50, 20]
    assert all(size <= 50 for size in sizes)
    assert len(calls.lists) <= 3 * (1 + result["polls"])


# -- reading ---------------------------------------------------------------------------------------

def test_get_one_is_one_request(sim, run):
    task = sim.add_task(id="one-task", duration=0)
    failed, result = run(id=task["id"])
    calls = Calls(sim)
    assert not failed and result["task_statuses"][0]["id"] == "one-task"
    assert [e["path"] for e in calls.by_id] == ["/v2026/task-status/one-task"]
    assert calls.lists == [] and len(calls.tokens) == 1
    assert "elapsed" not in result and "truncated" not in result and "total" not in result


@pytest.mark.parametrize("version", VERSIONS)
def test_every_version_reads_pending_and_finished(sim, run, version):
    sim.settings(race_window=0)
    sim.add_tasks({"id": "done-a", "source_id": "src-a", "duration": 0, "created_ago": 100},
                  {"id": "run-a", "source_id": "src-a", "duration": 600, "created_ago": 50})
    failed, pending = run(api_version=version, pending=True)
    assert not failed and [r["id"] for r in pending["task_statuses"]] == ["run-a"]
    failed, done = run(api_version=version, source_ids=["src-a"], completion_status=["success"])
    assert not failed and [r["id"] for r in done["task_statuses"]] == ["done-a"]
    failed, both = run(api_version=version, ids=["run-a", "done-a"])
    assert not failed and [r["id"] for r in both["task_statuses"]] == ["run-a", "done-a"]
    failed, one = run(api_version=version, id="run-a")
    assert not failed and one["task_statuses"][0]["completionStatus"] is None
    calls = Calls(sim)
    if version in ("v2024", "beta"):
        assert calls.pending, "pending tasks of %s come from pending-tasks" % version
    elif version in ("v2026", "v1"):
        assert calls.pending == []


def test_unknown_ids_reported(sim, run):
    sim.add_task(id="known", duration=0)
    failed, result = run(ids=["nope", "known"])
    assert not failed and result["missing"] == ["nope"] and [r["id"] for r in result["task_statuses"]] == ["known"]
    assert "nope" in result["warnings"][0]
    failed, result = run(id="nope", fail_on_missing=True)
    assert failed and result["missing"] == ["nope"]


def test_check_mode_reads_the_same(sim, run):
    sim.add_task(id="cm", duration=0)
    failed, result = run(id="cm", _ansible_check_mode=True)
    assert not failed and result["task_statuses"][0]["id"] == "cm"


def test_client_side_filters_and_fields(sim, run):
    sim.add_tasks({"id": "old", "created_ago": 7200, "duration": 1},
                  {"id": "new", "created_ago": 60, "duration": 1},
                  {"id": "refresh", "unique_name": "Identity Refresh", "created_ago": 7200, "duration": 1})
    failed, result = run(older_than="1h", unique_names=["CLOUD ACCOUNT AGGREGATION"], fields=["created"])
    assert not failed and result["task_statuses"] == [{"id": "old", "created": result["task_statuses"][0]["created"]}]
    calls = Calls(sim)
    assert len(calls.lists) == 1 and "filters" not in calls.lists[0]["query"]


# -- waiting ---------------------------------------------------------------------------------------

def test_wait_fail_on_status(sim, run):
    sim.settings(race_window=0)
    sim.add_tasks({"id": "bad", "source_name": "LDAP", "outcome": "ERROR", "duration": 0.5},
                  {"id": "slow", "duration": 60})
    failed, result = run(ids=["bad", "slow"], wait=True, wait_sleep=0.2, fail_on_status=["Error"])
    assert failed and result["timed_out"] is False
    assert "bad (Cloud Account Aggregation on LDAP [source]) ended with ERROR" in result["msg"]
    assert "Error connecting to source 'LDAP'" in result["msg"]
    assert result["failed_tasks"][0]["id"] == "bad"


def test_wait_timeout(sim, run):
    sim.add_task(id="stuck", outcome="STUCK", duration=5)
    failed, result = run(id="stuck", wait=True, wait_timeout=1, wait_sleep=0.3)
    # The last poll goes out a tenth of wait_timeout (at most 1 s) before it, so the wait ends within it.
    assert failed and result["timed_out"] is True and 0.9 <= result["elapsed"] <= 1.5
    assert result["msg"].startswith("timed out after")
    assert result["unfinished"][0]["id"] == "stuck" and isinstance(result["unfinished"][0]["percentComplete"], int)


def test_wait_survives_token_expiry_and_429(sim, run):
    sim.settings(token_ttl=1, race_window=0)
    sim.add_task(id="long", duration=3)
    sim.add_fault("rate_storm", retry_after=1, count=2, after=2, path="/v2026/task-status")
    failed, result = run(id="long", wait=True, wait_sleep=0.3, wait_sleep_max=0.3, wait_timeout=30)
    assert not failed, result.get("msg")
    assert result["task_statuses"][0]["completionStatus"] == "SUCCESS"
    log = sim.log()
    assert len([e for e in log if e["path"] == "/oauth/token"]) >= 2
    assert len([e for e in log if e["status"] == 429]) == 2


def test_retry_after_past_the_deadline_fails_fast(sim, run):
    sim.add_task(id="long", duration=30)
    sim.add_fault("rate_storm", retry_after=60, count=3, path="/v2026/task-status")
    failed, result = run(id="long", wait=True, wait_timeout=2)
    assert failed and result["status"] == 429 and "time budget" in result["msg"]
    assert result["elapsed"] < 2 and result["polls"] == 0


def test_race_window_is_not_finished(sim, run):
    sim.settings(race_window=2)
    sim.add_task(id="racing", duration=0.2)
    sim.advance(0.5)
    failed, before = run(id="racing")
    assert not failed and before["task_statuses"][0]["completed"] and before["summary"]["pending"] == 1
    failed, after = run(id="racing", wait=True, wait_sleep=0.3, wait_sleep_max=0.3, wait_timeout=10)
    assert not failed and after["polls"] >= 1 and after["task_statuses"][0]["completionStatus"] == "SUCCESS"


# -- bad input -------------------------------------------------------------------------------------

@pytest.mark.parametrize("options,expected", [
    ({"completion_status": ["DONE"]}, "completion_status: unknown completion status 'DONE'; accepted (any letter case): "
                                      "SUCCESS, WARNING, ERROR, TERMINATED, TEMPERROR"),
    ({"api_version": "v2025", "launchers": ["x"]}, "launchers: filter field 'launcher' is not supported by api_version "
                                                   "v2025; supported fields: completionStatus, id, sourceId, type"),
    ({"api_version": "beta", "pending": True, "types": ["CLOUD_ACCOUNT_AGGREGATION"]}, "pending: api_version beta"),
    ({"id": "a", "completion_status": ["ERROR"]}, "id selects tasks by id and cannot be combined with completion_status"),
    ({"page_size": -1}, "page_size must be between 1 and 250, got -1"),
    ({"max_results": -1}, "max_results must be 0 (no cap) or more, got -1"),
    ({"wait_sleep": -1}, "wait_sleep must be a number of seconds greater than 0"),
    ({"sorters": "-name"}, "created, -created"),
    ({"id": "a", "ids": ["b"]}, "parameters are mutually exclusive: id|ids"),
    ({"created_before": "1h", "older_than": "2h"}, "parameters are mutually exclusive: created_before|older_than"),
    ({"wait_timeout": "ten minutes"}, "wait_timeout must be a number of seconds greater than 0, or a duration"),
    ({"ids": ["a"], "filters": 'id eq "a"'}, "ids selects tasks by id and cannot be combined with filters"),
    ({"fields": ["status"]}, "fields: unknown field(s) status; accepted (TaskStatus fields, camelCase): id, type"),
    ({"older_than": "6 hours"}, "older_than must be a duration of 0 or more"),
    ({"created_after": "yesterday"}, "created_after must be an ISO 8601 date-time"),
    ({"wait": True, "wait_timeout": 0}, "wait_timeout must be a number of seconds greater than 0"),
    ({"fail_on_status": ["FAILED"]}, "fail_on_status: unknown completion status 'FAILED'"),
])
def test_bad_input_sends_nothing(sim, run, options, expected):
    failed, result = run(**options)
    assert failed and expected in result["msg"]
    assert sim.log() == []


# -- a gate fails closed ---------------------------------------------------------------------------

def test_wait_on_an_unknown_id_fails_by_default(sim, run):
    sim.settings(race_window=0)
    sim.add_task(id="known", duration=0)
    failed, result = run(ids=["known", "typo"], wait=True, wait_timeout=5)
    assert failed and result["missing"] == ["typo"]
    assert "fail_on_missing is true, the default with wait: true" in result["msg"] and "typo" in result["msg"]
    assert result["task_statuses"][0]["id"] == "known" and result["polls"] == 0
    failed, result = run(id="typo", wait=True)
    assert failed and result["missing"] == ["typo"]


def test_wait_on_an_unknown_id_passes_when_told(sim, run):
    sim.add_task(id="known", duration=0)
    failed, result = run(ids=["known", "typo"], wait=True, fail_on_missing=False)
    assert not failed and result["missing"] == ["typo"] and any("typo" in w for w in result["warnings"])


def test_without_wait_an_unknown_id_is_a_warning(sim, run):
    failed, result = run(ids=["typo"])
    assert not failed and result["missing"] == ["typo"] and "typo" in result["warnings"][0]


def test_wait_on_no_ids_returns_at_once_with_a_warning(sim, run):
    failed, result = run(ids=[], wait=True)
    assert not failed and result["task_statuses"] == [] and result["polls"] == 0
    assert any("ids is empty" in w and "nothing to wait for" in w for w in result["warnings"])
    assert sim.log() == []


# -- durations -------------------------------------------------------------------------------------

@pytest.mark.parametrize("timeout,sleep", [("2s", "300ms"), (2, 0.3), ("2", "0.3")])
def test_wait_options_take_durations(sim, run, timeout, sleep):
    sim.add_task(id="stuck", outcome="STUCK", duration=5)
    sleep = "0.3s" if sleep == "300ms" else sleep
    failed, result = run(id="stuck", wait=True, wait_timeout=timeout, wait_sleep=sleep, wait_sleep_max=sleep)
    assert failed and result["timed_out"] is True and 1.8 <= result["elapsed"] <= 2.5
    assert "(wait_timeout 2 s)" in result["msg"]


@pytest.mark.parametrize("option", ["wait_timeout", "wait_sleep", "wait_sleep_max"])
@pytest.mark.parametrize("value", ["soon", "0s", "-1m", "1h30", True])
def test_bad_wait_durations(sim, run, option, value):
    failed, result = run(wait=True, **{option: value})
    assert failed and result["msg"].startswith("%s must be a number of seconds greater than 0, or a duration" % option)
    assert "90s, 30m, 6h, 2d, 1h30m" in result["msg"] and sim.log() == []


def test_missing_requests_is_named_with_the_interpreter(sim, run, monkeypatch):
    monkeypatch.setitem(sys.modules, "requests", None)
    failed, result = run(id="x")
    assert failed and "library requests" in result["msg"] and sim.log() == []
    assert "%s -m pip install requests" % sys.executable in result["msg"]
