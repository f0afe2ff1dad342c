# -*- coding: utf-8 -*-
# Copyright: identitynow.tasks contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Paths of every API generation, routing edge cases and the experimental header."""

from __future__ import annotations

import http.client
import json

import pytest

LIST_PATHS = {"v2024": "/v2024/task-status", "v2025": "/v2025/task-status", "v2026": "/v2026/task-status",
              "beta": "/beta/task-status", "v1": "/task-status/v1"}
PATCH_HEADERS = {"Content-Type": "application/json-patch+json"}


@pytest.fixture
def finished_and_pending(sim):
    """One finished task and one stuck (pending) task."""
    done = sim.add_task(id="done0000000000000000000000000001", created_ago=120, duration=10)
    stuck = sim.add_task(id="stuck000000000000000000000000001", created_ago=120, outcome="STUCK")
    return done, stuck


@pytest.mark.parametrize("version", sorted(LIST_PATHS))
def test_list_get_and_patch_on_every_generation(sim, finished_and_pending, assert_task_status, version):
    done, stuck = finished_and_pending
    token = sim.token()
    path = LIST_PATHS[version]
    listed = sim.request("GET", path, token=token)
    assert listed.status == 200
    assert listed.headers["Content-Type"].startswith("application/json")
    ids = [record["id"] for record in assert_task_status(listed.json())]
    # beta and v2024 describe their list as completed tasks only.
    assert ids == ([done["id"]] if version in ("beta", "v2024") else [done["id"], stuck["id"]])
    got = sim.request("GET", path + "/" + stuck["id"], token=token)
    assert got.status == 200
    assert assert_task_status(got.json())["id"] == stuck["id"]
    patched = sim.request("PATCH", path + "/" + stuck["id"], headers=PATCH_HEADERS, token=token,
                          body=json.dumps([{"op": "replace", "path": "/completionStatus", "value": "TERMINATED"}]))
    assert patched.status == 200
    assert assert_task_status(patched.json())["completionStatus"] == "TERMINATED"


@pytest.mark.parametrize("version", ["beta", "v2024", "v2025"])
def test_pending_tasks_where_the_spec_has_it(sim, finished_and_pending, assert_task_status, version):
    stuck = finished_and_pending[1]
    token = sim.token()
    path = "/%s/task-status/pending-tasks" % version
    response = sim.request("GET", path, {"count": "true"}, token=token)
    assert response.status == 200
    assert response.headers["X-Deprecated"] == "true"
    assert response.headers["X-Total-Count"] == "1"
    assert [r["id"] for r in assert_task_status(response.json())] == [stuck["id"]]
    head = sim.request("HEAD", path, {"count": "true"}, token=token)
    assert head.status == 200
    assert head.body == b""
    assert head.headers["X-Total-Count"] == "1"
    assert int(head.headers["Content-Length"]) == len(response.body)
    assert sim.request("GET", path, {"offset": 1}, token=token).status == 204
    assert sim.request("GET", path, {"limit": 251}, token=token).status == 400


def test_pending_tasks_204_when_nothing_is_pending(sim):
    token = sim.token()
    for method in ("GET", "HEAD"):
        response = sim.request(method, "/v2025/task-status/pending-tasks", {"count": "true"}, token=token)
        assert response.status == 204
        assert response.body == b""
        assert response.headers["X-Total-Count"] == "0"


@pytest.mark.parametrize("path", ["/v2026/task-status/pending-tasks", "/task-status/v1/pending-tasks"])
def test_no_pending_tasks_in_v2026_and_v1(sim, path):
    response = sim.request("GET", path, token=sim.token())
    assert response.status == 404
    assert response.json()["detailCode"] == "404 Not found"


@pytest.mark.parametrize("path", ["/v3/task-status", "/v2027/task-status", "/task-status", "/task-status/v2",
                                  "/v2026/task-status/a/b", "/v2026/task-status/", "/beta/task-statuses", "/"])
def test_unknown_paths_get_404_error_dto(sim, path):
    response = sim.request("GET", path, token=sim.token())
    assert response.status == 404
    body = response.json()
    assert body["detailCode"] == "404 Not found" and body["messages"][0]["text"]


def test_ids_are_opaque_path_segments(sim, assert_task_status):
    token = sim.token()
    sim.add_task(id="a b")
    sim.add_task(id="pending-tasks")
    assert sim.request("GET", "/v2026/task-status/a%20b", token=token).status == 200
    # An encoded slash stays inside the id segment: a lookup of id "a/b", which does not exist.
    assert sim.request("GET", "/v2026/task-status/a%2Fb", token=token).status == 404
    assert sim.request("GET", "/v2026/task-status/a/b", token=token).status == 404
    assert sim.request("GET", "/beta/task-status/x%2Fpending-tasks", token=token).status == 404
    assert sim.request("GET", "/v2026/task-status/%2E%2E", token=token).status == 404
    # On v2026 "pending-tasks" is just an id.
    got = sim.request("GET", "/v2026/task-status/pending-tasks", token=token)
    assert assert_task_status(got.json())["id"] == "pending-tasks"


def test_get_unknown_id_is_404(sim):
    response = sim.request("GET", "/task-status/v1/00eebcf881994e419d72e757fd30dc0e", token=sim.token())
    assert response.status == 404
    assert response.json()["detailCode"] == "404 Not found"


@pytest.mark.parametrize("method,path,allowed", [
    ("POST", "/v2026/task-status", "GET"),
    ("DELETE", "/v2026/task-status/x", "GET, PATCH"),
    ("PUT", "/task-status/v1/x", "GET, PATCH"),
    ("HEAD", "/v2026/task-status", "GET"),
])
def test_wrong_method_gets_405(sim, method, path, allowed):
    response = sim.request(method, path, token=sim.token())
    assert response.status == 405
    assert response.headers["Allow"] == allowed


def test_experimental_header_accepted_everywhere_when_not_required(sim):
    token = sim.token()
    for path in LIST_PATHS.values():
        response = sim.request("GET", path, headers={"X-SailPoint-Experimental": "true"}, token=token)
        assert response.status == 200


def test_experimental_header_required_on_year_versions_only(sim):
    sim.settings(require_experimental=True)
    token = sim.token()
    for version, path in LIST_PATHS.items():
        plain = sim.request("GET", path, token=token)
        if version in ("beta", "v1"):
            assert plain.status == 200
            continue
        assert plain.status == 400
        text = plain.json()["messages"][0]["text"]
        assert "preview" in text and "X-SailPoint-Experimental: true" in text
        assert sim.request("GET", path, headers={"X-SailPoint-Experimental": "true"}, token=token).status == 200
        assert sim.request("GET", path, headers={"X-SailPoint-Experimental": "false"}, token=token).status == 400
    assert sim.request("GET", "/v2024/task-status/pending-tasks", token=token).status == 400


def test_keep_alive_serves_several_requests_on_one_connection(sim_server, sim):
    token = sim.token()
    connection = http.client.HTTPConnection("127.0.0.1", sim_server.port, timeout=10)
    try:
        for dummy in range(3):
            connection.request("GET", "/v2026/task-status", headers={"Authorization": "Bearer " + token})
            response = connection.getresponse()
            assert response.status == 200 and response.read() == b"[]"
            assert response.version == 11 and not response.will_close
    finally:
        connection.close()


def test_chunked_bodies_and_bad_content_length(sim_server, sim):
    connection = http.client.HTTPConnection("127.0.0.1", sim_server.port, timeout=10)
    try:
        form = iter([b"grant_type=client_credentials&client_id=sim-pat-client", b"&client_secret=sim-pat-secret"])
        connection.request("POST", "/oauth/token", body=form, headers={"Content-Type": "application/x-www-form-urlencoded"})
        response = connection.getresponse()
        assert response.status == 200 and b"access_token" in response.read()
        connection.putrequest("GET", "/v2026/task-status")
        connection.putheader("Content-Length", "abc")
        connection.endheaders()
        response = connection.getresponse()
        assert response.status == 400 and b"Content-Length" in response.read()
    finally:
        connection.close()
    assert [entry["status"] for entry in sim.log()] == [200]
