# -*- coding: utf-8 -*-
# Copyright: identitynow.tasks contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The ISC client against the faults of the simulated tenant: token expiry, 5xx bursts, rate storms, lost answers."""

from __future__ import annotations

import pytest

from ansible_collections.identitynow.tasks.plugins.module_utils.client import IscClient
from ansible_collections.identitynow.tasks.tests.support.common import PAT, PATCH_OPS, TASK_ID, failure


# ============================================================================ faults of the simulator
@pytest.fixture
def sim_client(sim, clock):
    """A client of the simulated tenant (PAT credentials) on the fake clock; its sleeps are recorded only."""
    client = IscClient(sim.url, *PAT, clock=clock, sleep=clock.sleep)
    yield client
    client.session.close()


def api_log(sim):
    return [(e["method"], e["status"]) for e in sim.log() if e["path"] != "/oauth/token"]


def test_sim_expired_token_is_renewed_and_replayed(sim, sim_client):
    task = sim.add_task(duration=5)["id"]
    assert sim_client.get_task(task)["id"] == task
    sim.expire_tokens()
    assert sim_client.get_task(task)["id"] == task
    assert api_log(sim) == [("GET", 200), ("GET", 401), ("GET", 200)]
    assert len([e for e in sim.log() if e["path"] == "/oauth/token"]) == 2


def test_sim_token_lifetime_runs_out_between_calls(sim, sim_client, clock):
    sim.settings(token_ttl=100)
    task = sim.add_task(duration=5)["id"]
    sim_client.get_task(task)
    clock.advance(95)  # the client renews ahead of time (10% of 100 s) ...
    sim.advance(95)    # ... while the tenant still accepts the old token
    sim_client.get_task(task)
    assert api_log(sim) == [("GET", 200), ("GET", 200)]
    assert len([e for e in sim.log() if e["path"] == "/oauth/token"]) == 2


def test_sim_503_burst_is_survived(sim, sim_client, clock):
    task = sim.add_task()["id"]
    sim.add_fault("status", status=503, count=3, path="/task-status/")
    assert sim_client.get_task(task)["id"] == task
    assert api_log(sim) == [("GET", 503)] * 3 + [("GET", 200)]
    assert len(clock.sleeps) == 3


def test_sim_rate_storm_fails_at_once(sim, sim_client, clock):
    sim.add_fault("rate_storm", retry_after=600, path="/task-status")
    error = failure(sim_client.get_task, TASK_ID)
    assert error.status == 429 and error.retry_after == 600 and clock.sleeps == []


def test_sim_rate_storm_shorter_than_retry_max_wait_is_waited_out(sim, sim_client, clock):
    task = sim.add_task()["id"]
    sim.add_fault("rate_storm", retry_after=60, count=2, path="/task-status")
    assert sim_client.get_task(task)["id"] == task
    assert clock.sleeps == [60.0, 60.0]


@pytest.mark.parametrize("kind,rule", [("drop", {"apply": True}), ("drop", {"apply": False}), ("malformed", {}),
                                       ("status", {"status": 502}), ("html", {"status": 504})])
def test_sim_patch_with_lost_answer_is_uncertain_and_sent_once(sim, sim_client, clock, kind, rule):
    task = sim.add_task(outcome="STUCK")["id"]
    sim.add_fault(kind, method="PATCH", **rule)
    error = failure(sim_client.patch_task, task, PATCH_OPS)
    assert error.uncertain is True and clock.sleeps == []
    assert [m for m, dummy in api_log(sim)] == ["PATCH"]
    applied = sim_client.get_task(task)["completionStatus"] == "ERROR"
    assert applied == (kind == "drop" and rule["apply"])  # the tenant may or may not have applied it


def test_sim_patch_503_is_retried_and_applied_once(sim, sim_client, clock):
    task = sim.add_task(outcome="STUCK")["id"]
    sim.add_fault("status", status=503, method="PATCH")
    assert sim_client.patch_task(task, PATCH_OPS)["completionStatus"] == "ERROR"
    assert api_log(sim) == [("PATCH", 503), ("PATCH", 200)] and len(clock.sleeps) == 1


def test_sim_patch_with_api_client_token_gets_the_pat_hint(sim, clock):
    task = sim.add_task(outcome="STUCK")["id"]
    client = IscClient(sim.url, "sim-api-client", "sim-api-secret", clock=clock, sleep=clock.sleep)
    try:
        error = failure(client.patch_task, task, PATCH_OPS)
    finally:
        client.session.close()
    assert error.status == 403 and "personal access token" in error.hint and error.uncertain is False
    assert error.detail_code and error.tracking_id and error.messages


def test_sim_unknown_task_is_404_with_the_90_day_hint(sim, sim_client):
    error = failure(sim_client.get_task, "0" * 32)
    assert error.status == 404 and "90 days" in error.hint and error.detail_code == "404 Not found"


@pytest.mark.parametrize("version", ["v2024", "v2025", "v2026"])
def test_sim_requiring_the_experimental_header(sim, version):
    sim.settings(require_experimental=True)
    task = sim.add_task(created_ago=100, duration=1)["id"]  # finished: v2024 lists finished tasks only
    with_header = IscClient(sim.url, *PAT, api_version=version)
    without = IscClient(sim.url, *PAT, api_version=version, experimental=False)
    try:
        assert with_header.get_task(task)["id"] == task
        assert len(list(with_header.list_tasks())) == 1
        error = failure(without.get_task, task)
    finally:
        with_header.session.close()
        without.session.close()
    assert error.status == 400 and "X-SailPoint-Experimental" in str(error)
