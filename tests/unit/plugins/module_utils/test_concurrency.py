# -*- coding: utf-8 -*-
# Copyright: identitynow.tasks contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Two writers on the same task, and a listing while tasks are created, against the simulated tenant.

The reliability suite (tests/reliability) shows the same with two real ansible-playbook runs; these are
the exact, in-process versions of the two fixes it led to.
"""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from ansible_collections.identitynow.tasks.plugins.module_utils import task_query, task_update
from ansible_collections.identitynow.tasks.plugins.module_utils.client import IscClient
from ansible_collections.identitynow.tasks.plugins.modules import task_status
from ansible_collections.identitynow.tasks.tests.unit.plugins.modules.module_params import module_params

NOW = datetime(2026, 1, 1, tzinfo=timezone.utc)


@pytest.fixture
def client(sim):
    client = IscClient(sim.url, client_id="sim-pat-client", client_secret="sim-pat-secret", rate_limit=0)
    yield client
    client.session.close()


def clear_request(task_id, **params):
    options = dict(dict(id=task_id, completion_status="TERMINATED"), **params)
    return task_update.request_from_params(module_params(task_status, **options), NOW)


def test_losing_the_race_to_the_same_change_is_unchanged(sim, client):
    task = sim.add_task(outcome="STUCK", created_ago=3600, duration=60)
    late = task_update.TaskUpdater(client, clear_request(task["id"]))
    read_before = late.read()[task["id"]]
    first = task_update.update_tasks(client, clear_request(task["id"]))
    assert first.result["outcome"] == "changed"
    entry = late.update_one(task["id"], read_before)
    assert entry["outcome"] == "unchanged" and entry["changed"] is False
    assert entry["task"]["completionStatus"] == "TERMINATED"
    patches = [e["status"] for e in sim.log() if e["method"] == "PATCH"]
    assert patches == [200, 400]  # the guard stopped the second writer; nothing applied twice


def test_losing_the_race_to_a_different_change_is_refused(sim, client):
    task = sim.add_task(outcome="STUCK", created_ago=3600, duration=60)
    late = task_update.TaskUpdater(client, clear_request(task["id"]))
    read_before = late.read()[task["id"]]
    task_update.update_tasks(client, clear_request(task["id"], completion_status="ERROR"))
    entry = late.update_one(task["id"], read_before)
    assert entry["outcome"] == "refused" and "changed between the read and the write" in entry["msg"]
    assert entry["task"]["completionStatus"] == "ERROR"


@pytest.mark.parametrize("sorters", ["created", "-created"])
def test_listing_while_tasks_are_created_misses_and_repeats_nothing(sim, client, sorters):
    originals = {t["id"] for t in sim.add_tasks({"created_ago": 7200, "duration": 5, "count": 50})}
    send = client.request
    calls = []

    def request(method, path, **kwargs):
        calls.append(path)
        if len(calls) == 3:  # after two pages, 12 tasks are created (the newest: first with -created)
            sim.add_tasks({"duration": 5, "count": 12})
        return send(method, path, **kwargs)

    client.request = request
    query = task_query.build_query({"sorters": sorters, "page_size": 10})
    listed = [r["id"] for r in task_query.read(client, query).records]
    assert len(listed) == len(set(listed))
    assert originals <= set(listed)
