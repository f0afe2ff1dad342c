# -*- coding: utf-8 -*-
# Copyright: identitynow.tasks contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""List paging, counting, sorting and the 90-day window."""

from __future__ import annotations

import pytest

DAY = 86400


@pytest.fixture
def five(sim):
    """Five finished tasks created 50, 40, 30, 20 and 10 minutes ago; returns their ids oldest first."""
    ids = ["%032x" % n for n in range(1, 6)]
    sim.add_tasks(*[{"id": task_id, "created_ago": 600 * (5 - index), "duration": 5} for index, task_id in enumerate(ids)])
    return ids


def ids_of(response):
    assert response.status == 200, response
    return [record["id"] for record in response.json()]


def test_default_order_is_created_ascending_then_id(sim, assert_task_status):
    sim.add_tasks({"id": "b" * 32, "created_ago": 60}, {"id": "a" * 32, "created_ago": 60}, {"id": "c" * 32, "created_ago": 120})
    response = sim.request("GET", "/v2026/task-status", token=sim.token())
    assert ids_of(response) == ["c" * 32, "a" * 32, "b" * 32]
    assert_task_status(response.json())


def test_limit_offset_and_count(sim, five):
    token = sim.token()
    response = sim.request("GET", "/v2026/task-status", {"limit": 2, "offset": 1, "count": "true"}, token=token)
    assert ids_of(response) == five[1:3]
    assert response.headers["X-Total-Count"] == "5"
    no_count = sim.request("GET", "/v2026/task-status", {"limit": 2}, token=token)
    assert "X-Total-Count" not in no_count.headers
    assert ids_of(sim.request("GET", "/v2026/task-status", {"limit": 0}, token=token)) == []
    assert ids_of(sim.request("GET", "/v2026/task-status", {"offset": 5}, token=token)) == []
    assert ids_of(sim.request("GET", "/v2026/task-status", {"limit": 250, "count": "false"}, token=token)) == five


def test_default_and_maximum_limit_is_250(sim):
    sim.add_task(count=260, created_ago=100, duration=1)
    token = sim.token()
    response = sim.request("GET", "/v2025/task-status", {"count": "true"}, token=token)
    assert len(response.json()) == 250
    assert response.headers["X-Total-Count"] == "260"
    assert len(sim.request("GET", "/v2025/task-status", {"offset": 250}, token=token).json()) == 10


@pytest.mark.parametrize("params", [
    {"limit": 251}, {"limit": -1}, {"limit": "ten"}, {"limit": "1.5"}, {"limit": ""},
    {"offset": -1}, {"offset": "x"}, {"offset": 2 ** 31}, {"count": "yes"},
])
def test_bad_paging_parameters_get_400(sim, params):
    response = sim.request("GET", "/v2026/task-status", params, token=sim.token())
    assert response.status == 400
    body = response.json()
    assert body["detailCode"] == "400.1 Bad Request Content"
    assert list(params)[0] in body["messages"][0]["text"]


def test_sorters(sim, five):
    token = sim.token()
    assert ids_of(sim.request("GET", "/v2026/task-status", {"sorters": "-created"}, token=token)) == five[::-1]
    assert ids_of(sim.request("GET", "/v2026/task-status", {"sorters": "created"}, token=token)) == five
    descending = sim.request("GET", "/v2026/task-status", {"sorters": "-created", "limit": 2, "offset": 1}, token=token)
    assert ids_of(descending) == [five[3], five[2]]


@pytest.mark.parametrize("sorters", ["id", "-modified", "created,id", "Created", "+created", "created,-created"])
def test_unsupported_sorters_get_400(sim, sorters):
    response = sim.request("GET", "/v2026/task-status", {"sorters": sorters}, token=sim.token())
    assert response.status == 400
    assert "sort" in response.json()["messages"][0]["text"]


def test_tasks_older_than_90_days_are_never_returned(sim):
    token = sim.token()
    sim.add_tasks({"id": "old" + "0" * 29, "created_ago": 90 * DAY + 60, "duration": 10},
                  {"id": "new" + "0" * 29, "created_ago": 90 * DAY - 60, "duration": 10})
    assert ids_of(sim.request("GET", "/v2026/task-status", token=token)) == ["new" + "0" * 29]
    assert sim.request("GET", "/v2026/task-status/old" + "0" * 29, token=token).status == 404
    assert sim.request("GET", "/v2026/task-status/new" + "0" * 29, token=token).status == 200
    # Two minutes later the second one has aged out too.
    sim.advance(120)
    token = sim.token()
    assert ids_of(sim.request("GET", "/v2026/task-status", token=token)) == []
    assert sim.request("GET", "/v2026/task-status/new" + "0" * 29, token=token).status == 404
    stored = {task["id"]: task["_sim"]["expired"] for task in sim.tasks()}
    assert stored == {"old" + "0" * 29: True, "new" + "0" * 29: True}


def test_beta_and_v2024_list_only_tasks_with_a_completion_status(sim):
    token = sim.token()
    sim.settings(race_window=30)
    sim.add_tasks({"id": "r" * 32, "duration": 10}, {"id": "s" * 32, "created_ago": 100, "duration": 10})
    sim.advance(15)  # the first task is inside its race window: completed set, completionStatus null
    for path in ("/beta/task-status", "/v2024/task-status"):
        assert ids_of(sim.request("GET", path, {"count": "true"}, token=token)) == ["s" * 32]
    assert ids_of(sim.request("GET", "/v2025/task-status", token=token)) == ["s" * 32, "r" * 32]
    pending = sim.request("GET", "/beta/task-status/pending-tasks", token=token)
    assert ids_of(pending) == ["r" * 32]


def test_cached_results_follow_the_clock_and_patches(sim):
    token = sim.token()
    sim.add_tasks({"id": "a" * 32, "duration": 10}, {"id": "b" * 32, "outcome": "STUCK"})
    query = {"filters": "completionStatus isnull", "count": "true"}
    assert ids_of(sim.request("GET", "/v2026/task-status", query, token=token)) == ["a" * 32, "b" * 32]
    sim.advance(11)  # ended, but inside the 2-second race window
    assert ids_of(sim.request("GET", "/v2026/task-status", query, token=token)) == ["a" * 32, "b" * 32]
    sim.advance(1)
    assert ids_of(sim.request("GET", "/v2026/task-status", query, token=token)) == ["b" * 32]
    patched = sim.request("PATCH", "/v2026/task-status/" + "b" * 32, headers={"Content-Type": "application/json-patch+json"},
                          body='[{"op": "add", "path": "/completionStatus", "value": "ERROR"}]', token=token)
    assert patched.status == 200
    assert ids_of(sim.request("GET", "/v2026/task-status", query, token=token)) == []
    assert ids_of(sim.request("GET", "/v2026/task-status", {"filters": 'completionStatus eq "error"'}, token=token)) == ["b" * 32]
