# -*- coding: utf-8 -*-
# Copyright: identitynow.tasks contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The ISC client: task ids are one path segment of the task endpoint, and never reach another endpoint.

The hostile ids run against the simulated tenant and are checked in its request log.
"""

from __future__ import annotations

from urllib.parse import unquote

import pytest

from ansible_collections.identitynow.tasks.plugins.module_utils.client import IscClient, task_path
from ansible_collections.identitynow.tasks.plugins.module_utils.errors import IscError
from ansible_collections.identitynow.tasks.tests.support.common import PAT, PATCH_OPS, TASK_ID, failure


# ====================================================================================== task_path
@pytest.mark.parametrize("version,task_id,path", [
    ("v2026", TASK_ID, "/v2026/task-status/" + TASK_ID),
    ("beta", "a-b_c~d", "/beta/task-status/a-b_c~d"),
    ("v1", "a/b", "/task-status/v1/a%2Fb"),
    ("v2025", "x?y=1#z", "/v2025/task-status/x%3Fy%3D1%23z"),
    ("v2024", "a b", "/v2024/task-status/a%20b"),
    ("v2026", "é", "/v2026/task-status/%C3%A9"),
    ("v2026", "%2F", "/v2026/task-status/%252F"),
    ("v2026", None, "/v2026/task-status"),
    ("v1", None, "/task-status/v1"),
])
def test_task_path(version, task_id, path):
    assert task_path(version, task_id) == path


@pytest.mark.parametrize("task_id", ["", 5, ["a"]])
def test_task_path_rejects_non_ids(task_id):
    with pytest.raises(IscError, match="task id"):
        task_path("v2026", task_id)


WEIRD_IDS = ["a/b", "../../oauth/token", "pending-tasks/", "pending-tasks?x", ".../", "?", "x?filters=id", "#frag", "a b", "ünï/cödé", "%2F", "a&b=c",
             "..%2F", ". .", "pending-tasks/x", "\U0001F600", "a\\b", "a;b"]


@pytest.mark.parametrize("version", ["v2026", "beta", "v1"])
@pytest.mark.parametrize("task_id", WEIRD_IDS)
def test_ids_never_reach_another_endpoint(sim, version, task_id):
    client = IscClient(sim.url, *PAT, api_version=version)
    try:
        error = failure(client.get_task, task_id)
        patch_error = failure(client.patch_task, task_id, PATCH_OPS)
    finally:
        client.session.close()
    assert error.status == 404 and patch_error.status == 404
    base = task_path(version).split("/")
    entries = [e for e in sim.log() if e["path"] != "/oauth/token"]
    assert [(e["method"], e["status"]) for e in entries] == [("GET", 404), ("PATCH", 404)]
    for entry in entries:
        segments = entry["path"].split("/")
        assert segments[:-1] == base and unquote(segments[-1]) == task_id, entry
        assert entry["query"] == {}


@pytest.mark.parametrize("version", ["v2026", "beta"])
@pytest.mark.parametrize("task_id", [".", "..", "pending-tasks"])
def test_ids_naming_another_endpoint_are_refused_before_sending(serve, connect, version, task_id):
    """'.' and '..' are resolved even when percent-encoded; pending-tasks is an endpoint of its own."""
    server = serve()
    client = connect(server.url, api_version=version)
    for call in (lambda: client.get_task(task_id), lambda: client.patch_task(task_id, PATCH_OPS)):
        error = failure(call)
        assert "not a task id" in str(error) and repr(task_id) in str(error)
    assert not server.requests
