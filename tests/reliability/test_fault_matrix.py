# -*- coding: utf-8 -*-
# Copyright: identitynow.tasks contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The fault matrix: each fault the simulated tenant can inject, through real ansible-playbook runs.

Transient faults must be survived transparently; permanent ones must fail with the HTTP status,
SailPoint's detailCode and trackingId and a hint; a write whose answer was lost is never sent twice and
the module reports the task's true state. Every case is one test; docs/reliability.md maps them. Every
run is also scanned for secrets (see conftest.py).
"""

from __future__ import annotations

import pytest

from ansible_collections.identitynow.tasks.tests.reliability.helpers import (
    api_log, assert_permanent_failure, info, state, stuck, token_requests, update, wait_for_log)

TASKS_PATH = "/v2026/task-status"
STATUS_DETAIL = {500: "500.0 Internal Fault", 502: "502.0 Bad Gateway", 503: "503.0 Service Unavailable",
                 504: "504.0 Gateway Timeout"}


# ------------------------------------------------------------------------------------------------ 429
def test_429_with_short_retry_after_is_waited_out(play, sim):
    task = stuck(sim)[0]
    sim.add_fault("rate_storm", retry_after=1, count=2, path=TASKS_PATH)
    run = play.run([info("get", id=task["id"])])
    result = run.ok("get")
    assert result["task_statuses"][0]["id"] == task["id"]
    assert [e["status"] for e in api_log(sim)] == [429, 429, 200]


def test_429_with_retry_after_beyond_retry_max_wait_fails_at_once(play, sim):
    task = stuck(sim)[0]
    sim.add_fault("rate_storm", retry_after=600, count=5, path=TASKS_PATH)
    run = play.run([info("get", id=task["id"], retry_max_wait=30)])
    result = run.failed("get")
    assert result["status"] == 429 and result["retry_after"] == 600
    assert "longer than retry_max_wait" in result["msg"]
    assert "rate limit" in result["hint"]
    assert [e["status"] for e in api_log(sim)] == [429]  # no sleep, no second attempt


def test_429_with_retry_after_beyond_the_wait_budget_fails_without_sleeping(play, sim):
    task = stuck(sim)[0]
    sim.add_fault("rate_storm", retry_after=60, count=5, path=TASKS_PATH)
    run = play.run([info("wait", id=task["id"], wait=True, wait_timeout=5)])
    result = run.failed("wait")
    assert result["status"] == 429
    assert "time budget" in result["msg"] and result["msg"].startswith("while waiting for tasks")
    assert result["polls"] == 0
    assert [e["status"] for e in api_log(sim)] == [429]


# ------------------------------------------------------------------------------------------------ 5xx
@pytest.mark.parametrize("status", [500, 502, 503, 504])
def test_5xx_burst_shorter_than_the_retry_budget_is_survived(play, sim, status):
    task = stuck(sim)[0]
    sim.add_fault("status", status=status, count=2, method="GET")
    run = play.run([info("get", id=task["id"], max_retries=3)])
    assert run.ok("get")["task_statuses"][0]["id"] == task["id"]
    assert [e["status"] for e in api_log(sim)] == [status, status, 200]


@pytest.mark.parametrize("status", [500, 502, 503, 504])
def test_5xx_burst_longer_than_the_retry_budget_fails_with_details(play, sim, status):
    task = stuck(sim)[0]
    sim.add_fault("status", status=status, count=10, method="GET")
    run = play.run([info("get", id=task["id"], max_retries=2)])
    result = run.failed("get")
    assert_permanent_failure(result, status)
    assert result["detail_code"] == STATUS_DETAIL[status]
    assert "after 2 retries" in result["msg"] and "server-side fault" in result["hint"]
    assert [e["status"] for e in api_log(sim)] == [status] * 3


def test_503_on_patch_is_retried_and_applied_once(play, sim):
    task = stuck(sim)[0]
    sim.add_fault("status", status=503, count=1, method="PATCH")
    run = play.run([update("clear", id=task["id"], completion_status="error")])
    result = run.ok("clear")
    assert result["changed"] and result["task"]["completionStatus"] == "ERROR"
    assert [e["status"] for e in api_log(sim, "PATCH")] == [503, 200]
    assert state(sim, task["id"])["completionStatus"] == "ERROR"


@pytest.mark.parametrize("status", [500, 502, 504])
def test_5xx_on_patch_is_not_resent_and_the_true_state_is_reported(play, sim, status):
    task = stuck(sim)[0]
    sim.add_fault("status", status=status, count=1, method="PATCH")
    run = play.run([update("clear", id=task["id"], completion_status="ERROR")])
    result = run.failed("clear")
    # The fault answered instead of the tenant: nothing was applied, and the module says so.
    assert result["uncertain"] is True and result["outcome"] == "failed"
    assert "not applied and it was not sent again" in result["msg"]
    assert result["task"]["completionStatus"] is None
    assert len(api_log(sim, "PATCH")) == 1
    assert state(sim, task["id"])["completionStatus"] is None


# ------------------------------------------------------------------------------- resets and timeouts
def test_connection_reset_on_get_is_retried(play, sim):
    task = stuck(sim)[0]
    sim.add_fault("drop", count=1, method="GET")
    run = play.run([info("get", id=task["id"])])
    assert run.ok("get")["task_statuses"][0]["id"] == task["id"]
    assert [e["status"] for e in api_log(sim)] == [None, 200]


def test_read_timeout_on_get_is_retried(play, sim):
    task = stuck(sim)[0]
    sim.add_fault("latency", seconds=2.5, count=1, method="GET")
    run = play.run([info("get", id=task["id"], timeout=1)])
    assert run.ok("get")["task_statuses"][0]["id"] == task["id"]
    # The held request is logged when the simulator answers it, after the client gave up on it.
    log = wait_for_log(sim, lambda log: len([e for e in log if e["method"] == "GET"]) >= 2, what="both GETs")
    assert sorted(e.get("fault", "") for e in log if e["method"] == "GET") == ["", "latency"]


def test_connection_reset_after_an_applied_patch_reports_the_change_once(play, sim):
    task = stuck(sim)[0]
    sim.add_fault("drop", apply=True, count=1, method="PATCH")
    run = play.run([update("clear", id=task["id"], completion_status="TERMINATED")])
    result = run.ok("clear")
    assert result["changed"] is True and result["uncertain"] is True and result["outcome"] == "changed"
    assert result["task"]["completionStatus"] == "TERMINATED"
    assert len(api_log(sim, "PATCH")) == 1
    assert state(sim, task["id"])["completionStatus"] == "TERMINATED"


def test_connection_reset_before_a_patch_was_applied_fails_and_a_rerun_applies_it(play, sim):
    task = stuck(sim)[0]
    sim.add_fault("drop", apply=False, count=1, method="PATCH")
    first = play.run([update("clear", id=task["id"], completion_status="TERMINATED")]).failed("clear")
    assert first["uncertain"] is True and first["changed"] is False
    assert "not applied and it was not sent again" in first["msg"]
    assert first["task"]["completionStatus"] is None
    assert len(api_log(sim, "PATCH")) == 1
    assert state(sim, task["id"])["completionStatus"] is None
    second = play.run([update("clear", id=task["id"], completion_status="TERMINATED")]).ok("clear")
    assert second["changed"] is True and "uncertain" not in second
    assert state(sim, task["id"])["completionStatus"] == "TERMINATED"


def test_read_timeout_on_patch_is_not_resent_and_the_true_state_is_reported(play, sim):
    task = stuck(sim)[0]
    # The PATCH is applied after the client gave up on it; the read that follows is slow, so it sees it.
    sim.add_fault("latency", seconds=1.5, count=1, method="PATCH")
    sim.add_fault("latency", seconds=0.9, count=1, method="GET", after=1)
    run = play.run([update("clear", id=task["id"], completion_status="ERROR", timeout=1)])
    result = run.ok("clear")
    assert result["changed"] is True and result["uncertain"] is True
    assert result["task"]["completionStatus"] == "ERROR"
    assert len(api_log(sim, "PATCH")) == 1
    assert state(sim, task["id"])["completionStatus"] == "ERROR"


# ---------------------------------------------------------------------------------------- tokens
def test_token_expiry_during_a_500_task_clear(play, sim):
    sim.settings(rate_limit=0)
    tasks = stuck(sim, count=500)
    ids = [t["id"] for t in tasks]
    # The 101st PATCH is held for three seconds; every token is revoked meanwhile, so it meets a dead token.
    sim.add_fault("latency", seconds=3, count=1, method="PATCH", after=100)
    running = play.start([update("clear", ids=ids, completion_status="TERMINATED", rate_limit=0)])
    wait_for_log(sim, lambda log: sum(1 for e in log if e["method"] == "PATCH") >= 100, what="100 PATCHes")
    sim.expire_tokens()
    result = play.finish(running).ok("clear")
    assert result["summary"]["changed"] == 500 and result["changed"] is True
    patches = api_log(sim, "PATCH")
    assert [e["status"] for e in patches].count(401) == 1
    applied = [e["path"].rsplit("/", 1)[1] for e in patches if e["status"] == 200]
    assert sorted(applied) == sorted(ids)  # each task patched exactly once
    assert len(token_requests(sim)) == 2
    assert all(t["completionStatus"] == "TERMINATED" for t in sim.tasks())


def test_token_expiry_during_a_long_wait(play, sim):
    sim.settings(race_window=0)
    task = sim.add_task(outcome="SUCCESS", duration=600)  # ends when the test moves the tenant's clock
    running = play.start([info("wait", id=task["id"], wait=True, wait_timeout=120, wait_sleep=0.3,
                               wait_sleep_max=0.3)])
    wait_for_log(sim, lambda log: sum(1 for e in log if e["method"] == "GET") >= 3, what="two polls")
    sim.expire_tokens()
    wait_for_log(sim, lambda log: [e["status"] for e in log if e["method"] == "GET"][-2:] == [401, 200],
                 what="a 401 and the replay")
    sim.advance(601)
    result = play.finish(running).ok("wait")
    assert result["task_statuses"][0]["completionStatus"] == "SUCCESS"
    assert [e["status"] for e in api_log(sim)].count(401) == 1
    assert len(token_requests(sim)) == 2


@pytest.mark.parametrize("credentials,words", [
    ({"client_id": "sim-pat-client", "client_secret": "wrong-secret-9f3c2a71"},
     "client_id 'sim-pat-client' (from the client_id option)"),
    ({"access_token": "not-a-token-4b8d1e6a"}, "access_token"),
])
def test_invalid_credentials_fail_with_status_and_hint(play, sim, credentials, words):
    task = stuck(sim)[0]
    connection = dict(base_url=play.sim_server.url, **credentials)
    run = play.run([info("get", id=task["id"]), update("clear", id=task["id"], completion_status="ERROR")],
                   connection=connection)
    for name in ("get", "clear"):
        result = run.failed(name)
        assert result["status"] == 401 and words in result["hint"], result
    assert state(sim, task["id"])["completionStatus"] is None


# ------------------------------------------------------------------------------ broken answers
def test_malformed_json_once_is_retried(play, sim):
    task = stuck(sim)[0]
    sim.add_fault("malformed", count=1, method="GET")
    run = play.run([info("get", id=task["id"])])
    assert run.ok("get")["task_statuses"][0]["id"] == task["id"]


def test_malformed_json_that_persists_fails_clearly(play, sim):
    stuck(sim, count=3)
    sim.add_fault("malformed", count=10, method="GET")
    result = play.run([info("list", pending=True, max_retries=1)]).failed("list")
    assert result["status"] == 200 and "not valid JSON" in result["msg"] and "after 1 retries" in result["msg"]


def test_malformed_json_after_a_patch_is_not_resent(play, sim):
    task = stuck(sim)[0]
    sim.add_fault("malformed", count=1, method="PATCH")
    result = play.run([update("clear", id=task["id"], completion_status="ERROR")]).failed("clear")
    assert result["uncertain"] is True and "not sent again" in result["msg"]
    assert len(api_log(sim, "PATCH")) == 1


def test_html_error_page_from_a_proxy_once_is_retried(play, sim):
    task = stuck(sim)[0]
    sim.add_fault("html", status=502, count=1, method="GET")
    assert play.run([info("get", id=task["id"])]).ok("get")["task_statuses"][0]["id"] == task["id"]


@pytest.mark.parametrize("status,hint", [(403, "rights"), (502, "server-side fault")])
def test_html_error_page_from_a_proxy_that_persists_fails_with_status_and_hint(play, sim, status, hint):
    task = stuck(sim)[0]
    sim.add_fault("html", status=status, count=10, method="GET")
    result = play.run([info("get", id=task["id"], max_retries=1)]).failed("get")
    assert result["status"] == status and hint in result["hint"]
    assert "non-JSON answer (text/html), probably from a proxy" in result["msg"]


# ------------------------------------------------------------------------------- tasks that move
def test_task_pruned_mid_wait_ends_the_wait_with_a_warning(play, sim):
    task = stuck(sim)[0]
    running = play.start([info("wait", id=task["id"], wait=True, wait_timeout=60, wait_sleep=0.3, wait_sleep_max=0.3,
                               fail_on_missing=False),
                          info("strict", id=task["id"], wait=True, wait_timeout=60, fail_on_missing=True)])
    wait_for_log(sim, lambda log: sum(1 for e in log if e["method"] == "GET") >= 2, what="the first poll")
    sim.advance(91 * 86400)  # the task is now older than 90 days: ISC no longer returns it
    run = play.finish(running)
    result = run.ok("wait")
    assert result["missing"] == [task["id"]] and result["task_statuses"] == []
    assert any("disappeared while waiting" in w for w in result["warnings"])
    assert result["timed_out"] is False
    strict = run.failed("strict")
    assert "fail_on_missing" in strict["msg"] and strict["missing"] == [task["id"]]


def test_two_step_completion_race_is_not_taken_for_the_end(play, sim):
    sim.settings(race_window=3600)
    # Ended a second ago: completed is set, completionStatus not yet (until the test moves the clock).
    task = sim.add_task(outcome="WARNING", duration=1, created_ago=2)
    assert task["completed"] and task["completionStatus"] is None
    running = play.start([info("look", id=task["id"]),
                          info("wait", id=task["id"], wait=True, wait_timeout=120, wait_sleep=0.3,
                               wait_sleep_max=0.3)])
    # The look, the first read of the wait and two polls all see the race state.
    wait_for_log(sim, lambda log: sum(1 for e in log if e["method"] == "GET") >= 4, what="two polls")
    sim.advance(3600)
    run = play.finish(running)
    assert run.ok("look")["summary"]["pending"] == 1
    result = run.ok("wait")
    assert result["task_statuses"][0]["completionStatus"] == "WARNING" and result["polls"] >= 2


@pytest.mark.parametrize("sorters", ["created", "-created"])
def test_records_shifting_between_pages_while_tasks_are_created(play, sim, sorters):
    originals = [t["id"] for t in sim.add_tasks({"outcome": "SUCCESS", "created_ago": 7200, "duration": 5,
                                                 "count": 100})]
    sim.add_fault("latency", seconds=2, count=1, method="GET", after=2)
    running = play.start([info("list", sorters=sorters, page_size=10, rate_limit=0)])
    wait_for_log(sim, lambda log: len([e for e in log if e["method"] == "GET"]) >= 2, what="two pages")
    created = [t["id"] for t in sim.add_tasks({"outcome": "SUCCESS", "duration": 5, "count": 15})]
    result = play.finish(running).ok("list")
    listed = [t["id"] for t in result["task_statuses"]]
    assert len(listed) == len(set(listed)), "a task was listed twice"
    missed = set(originals) - set(listed)
    assert not missed, "%d tasks that existed before the listing were missed" % len(missed)
    assert set(listed) <= set(originals) | set(created)


def test_two_playbooks_clearing_the_same_tasks_at_once(play, sim):
    tasks = stuck(sim, count=20)
    ids = [t["id"] for t in tasks]
    # Both runs read before either writes: the PATCH of each on the first task is held 6 s. (Whether the
    # race happens or one run reads after the other wrote, the outcome must be the same.)
    sim.add_fault("latency", seconds=6, count=2, method="PATCH", path=ids[0])
    runs = [play.start([update("clear", ids=ids, completion_status="TERMINATED")]) for dummy in range(2)]
    results = [play.finish(running).ok("clear") for running in runs]
    for index, task_id in enumerate(ids):
        outcomes = sorted(r["tasks"][index]["outcome"] for r in results)
        assert outcomes == ["changed", "unchanged"], (task_id, outcomes)
    applied = [e["path"].rsplit("/", 1)[1] for e in api_log(sim, "PATCH") if e["status"] == 200]
    assert sorted(applied) == sorted(ids)
    assert all(t["completionStatus"] == "TERMINATED" for t in sim.tasks())
