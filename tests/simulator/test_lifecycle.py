# -*- coding: utf-8 -*-
# Copyright: identitynow.tasks contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Task life on the simulator clock: queued, running, the completed/completionStatus race, outcomes, stuck."""

from __future__ import annotations

import pytest

from isc_sim.store import Store


def get(sim, task_id):
    """GET one task with a fresh token (the clock moves by hours in these tests)."""
    response = sim.request("GET", "/v2026/task-status/" + task_id, token=sim.token())
    assert response.status == 200, response
    return response.json()


def test_a_task_goes_from_queued_to_success_through_the_race_window(sim, assert_task_status):
    created = sim.add_task(id="t" * 32, launch_delay=5, duration=100, source_name="Workday")
    assert created["launched"] is None and created["progress"] is None and created["percentComplete"] == 0
    assert created["target"] == {"id": created["attributes"]["appId"], "type": "APPLICATION", "name": "Workday [source]"}
    sim.advance(5)
    started = assert_task_status(get(sim, "t" * 32))
    assert started["launched"] is not None and started["progress"] == "Started"
    assert started["messages"][0]["type"] == "INFO"
    sim.advance(50)
    running = assert_task_status(get(sim, "t" * 32))
    assert running["percentComplete"] == 50
    assert running["progress"].startswith("Aggregating accounts: ") and " of " in running["progress"]
    assert running["completed"] is None and running["completionStatus"] is None
    sim.advance(50)
    race = assert_task_status(get(sim, "t" * 32))
    assert race["completed"] is not None and race["completionStatus"] is None  # the known race
    assert race["percentComplete"] == 100
    sim.advance(2)
    done = assert_task_status(get(sim, "t" * 32))
    assert done["completionStatus"] == "SUCCESS" and done["completed"] == race["completed"]
    assert done["progress"] == "Completed" and done["modified"] > race["modified"]
    assert done["attributes"]["total"] > 0 and "identityCount" in done["attributes"]
    sim.advance(3600)
    assert get(sim, "t" * 32) == done


def test_race_window_is_settable(sim):
    sim.settings(race_window=0)
    sim.add_task(id="z" * 32, duration=10)
    sim.advance(10)
    assert get(sim, "z" * 32)["completionStatus"] == "SUCCESS"
    sim.settings(race_window=60)
    record = get(sim, "z" * 32)
    assert record["completed"] is not None and record["completionStatus"] is None


@pytest.mark.parametrize("outcome,message_type", [("ERROR", "ERROR"), ("WARNING", "WARN"), ("TERMINATED", "WARN"),
                                                  ("TEMPERROR", "ERROR")])
def test_other_outcomes(sim, assert_task_status, outcome, message_type):
    sim.add_task(id="o" * 32, duration=10, outcome=outcome, created_ago=60)
    record = assert_task_status(get(sim, "o" * 32))
    assert record["completionStatus"] == outcome
    assert record["messages"][-1]["type"] == message_type
    assert record["messages"][-1]["localizedText"]["message"]
    if outcome in ("ERROR", "TERMINATED", "TEMPERROR"):
        assert record["percentComplete"] < 100


def test_stuck_task_never_finishes(sim, assert_task_status):
    sim.add_task(id="s" * 32, duration=20, outcome="STUCK", unique_name="Identity Refresh")
    sim.advance(20)
    stuck = assert_task_status(get(sim, "s" * 32))
    assert 0 < stuck["percentComplete"] < 100 and stuck["target"] is None
    assert stuck["progress"].startswith("Refreshing identities")
    sim.advance(30 * 86400)
    assert get(sim, "s" * 32) == stuck


def test_record_shape_looks_real(sim, assert_task_status):
    record = assert_task_status(sim.add_task(created_ago=100, duration=5))
    assert len(record["id"]) == 32 and int(record["id"], 16) >= 0
    assert record["type"] == "QUARTZ" and record["uniqueName"] == "Cloud Account Aggregation"
    assert record["parentName"] is None and record["description"]
    assert record["taskDefinitionSummary"]["uniqueName"] == "Cloud Account Aggregation"
    assert {"name", "attributeName"} <= set(record["returns"][0])
    for field in ("created", "modified", "launched", "completed"):
        assert len(record[field]) == 24 and record[field].endswith("Z")


def test_final_records_are_cached_until_settings_change():
    store = Store()
    store.reset("empty")
    task = store.add_tasks([{"duration": 1, "created_ago": 10}])[0]
    now = store.now()
    first = task.json(now, store.race_ms, store.generation)
    assert task.json(now + 5000, store.race_ms, store.generation) is first
    store.update_settings({"race_window": 60})
    assert task.json(store.now(), store.race_ms, store.generation) is not first
