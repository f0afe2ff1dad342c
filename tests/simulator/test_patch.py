# -*- coding: utf-8 -*-
# Copyright: identitynow.tasks contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""PATCH /task-status/{id}: JSON Patch, allowed paths and values, user context, freezing."""

from __future__ import annotations

import json

import pytest

from isc_sim.jsonpatch import PatchError, PatchTestFailed, apply_patch, json_equal, parse_pointer, validate_operations

PATCH = {"Content-Type": "application/json-patch+json"}
STUCK = "5" * 32


@pytest.fixture
def stuck(sim):
    return sim.add_task(id=STUCK, created_ago=7 * 3600, outcome="STUCK", duration=600)


def patch(sim, operations, token=None, headers=None, task_id=STUCK, version="v2026"):
    body = operations if isinstance(operations, (str, bytes)) else json.dumps(operations)
    path = "/task-status/v1/" + task_id if version == "v1" else "/%s/task-status/%s" % (version, task_id)
    return sim.request("PATCH", path, headers=PATCH if headers is None else headers, body=body,
                       token=token or sim.token())


def error_text(response, status=400):
    assert response.status == status, response
    return response.json()["messages"][0]["text"]


def test_spec_example_patch_clears_a_stuck_task(sim, stuck, assert_task_status):
    assert stuck["completionStatus"] is None
    response = patch(sim, [{"op": "replace", "path": "/completionStatus", "value": "Error"},
                           {"op": "replace", "path": "/completed", "value": "2024-05-17 19:33:16.470000+00:00"}])
    assert response.status == 200
    record = assert_task_status(response.json())
    assert record["completionStatus"] == "ERROR"
    assert record["completed"] == "2024-05-17T19:33:16.470Z"
    assert record["modified"] > stuck["modified"]
    got = sim.request("GET", "/task-status/v1/" + STUCK, token=sim.token()).json()
    assert got == record


@pytest.mark.parametrize("value,stored", [
    ("2024-05-17T19:33:16.470Z", "2024-05-17T19:33:16.470Z"),
    ("2024-05-17T21:33:16+02:00", "2024-05-17T19:33:16.000Z"),
    ("2024-05-17t19:33:16.4z", "2024-05-17T19:33:16.400Z"),
])
def test_completed_accepts_iso_8601_forms(sim, stuck, value, stored):
    assert stuck
    response = patch(sim, [{"op": "add", "path": "/completed", "value": value},
                           {"op": "add", "path": "/completionStatus", "value": "terminated"}], version="beta")
    assert response.json()["completed"] == stored
    assert response.json()["completionStatus"] == "TERMINATED"


def test_patch_freezes_the_task(sim, stuck):
    assert stuck
    frozen = patch(sim, [{"op": "replace", "path": "/completionStatus", "value": "SUCCESS"}]).json()
    sim.advance(86400)
    assert sim.request("GET", "/v2026/task-status/" + STUCK, token=sim.token()).json() == frozen
    assert [t["_sim"]["frozen"] for t in sim.tasks()] == [True]


def test_patching_only_completed_keeps_a_running_task_going(sim, assert_task_status):
    task = sim.add_task(id=STUCK, duration=100)
    record = patch(sim, [{"op": "replace", "path": "/completed", "value": "2030-01-01T00:00:00Z"}]).json()
    assert record["completed"] == "2030-01-01T00:00:00.000Z" and record["completionStatus"] is None
    sim.advance(200)
    later = assert_task_status(sim.request("GET", "/v2026/task-status/" + STUCK, token=sim.token()).json())
    assert later["completionStatus"] == "SUCCESS" and later["completed"] == "2030-01-01T00:00:00.000Z"
    assert later["percentComplete"] == 100 and task["percentComplete"] == 0


def test_test_operation(sim, stuck):
    assert stuck
    ok = patch(sim, [{"op": "test", "path": "/id", "value": STUCK},
                     {"op": "test", "path": "/completionStatus", "value": "x"}])
    assert "test failed" in error_text(ok)
    good = patch(sim, [{"op": "test", "path": "/target/type", "value": "APPLICATION"},
                       {"op": "replace", "path": "/completionStatus", "value": "ERROR"},
                       {"op": "test", "path": "/completionStatus", "value": "ERROR"}])
    assert good.status == 200
    assert "test failed" in error_text(patch(sim, [{"op": "test", "path": "/completionStatus", "value": "SUCCESS"}]))


def test_copy_and_move_within_the_allowed_fields(sim, stuck):
    assert stuck
    response = patch(sim, [{"op": "copy", "from": "/created", "path": "/completed"},
                           {"op": "replace", "path": "/completionStatus", "value": "WARNING"}])
    assert response.json()["completed"] == response.json()["created"]
    moved = patch(sim, [{"op": "move", "from": "/completed", "path": "/completed"}])
    assert moved.status == 200
    assert "removed" in error_text(patch(sim, [{"op": "move", "from": "/completed", "path": "/completionStatus"}]))


def test_api_client_without_user_context_gets_403(sim, stuck):
    assert stuck
    response = patch(sim, [{"op": "replace", "path": "/completionStatus", "value": "ERROR"}], token=sim.token("api"))
    assert "user context" in error_text(response, 403)
    assert response.json()["detailCode"] == "403 Forbidden"
    # Reading with the API client is fine.
    assert sim.request("GET", "/v2026/task-status/" + STUCK, token=sim.token("api")).status == 200


@pytest.mark.parametrize("content_type", [None, "application/json", "text/plain", "application/merge-patch+json"])
def test_wrong_content_type_gets_415(sim, stuck, content_type):
    assert stuck
    headers = {} if content_type is None else {"Content-Type": content_type}
    response = patch(sim, [{"op": "replace", "path": "/completionStatus", "value": "ERROR"}], headers=headers)
    assert "application/json-patch+json" in error_text(response, 415)


def test_content_type_parameters_are_accepted(sim, stuck):
    assert stuck
    response = patch(sim, [{"op": "replace", "path": "/completionStatus", "value": "ERROR"}],
                     headers={"Content-Type": "Application/JSON-Patch+JSON; charset=utf-8"})
    assert response.status == 200


@pytest.mark.parametrize("body,words", [
    ("", ["array"]),
    ("not json", ["JSON"]),
    ('{"op": "replace"}', ["array"]),
    ('["x"]', ["object"]),
    ('[{"path": "/completionStatus", "value": "ERROR"}]', ["'op'"]),
    ('[{"op": "update", "path": "/completionStatus", "value": "ERROR"}]', ["'op'", "update"]),
    ('[{"op": "replace", "value": "ERROR"}]', ["'path'"]),
    ('[{"op": "replace", "path": 5, "value": "ERROR"}]', ["'path'"]),
    ('[{"op": "replace", "path": "completionStatus", "value": "ERROR"}]', ["pointer"]),
    ('[{"op": "replace", "path": "/completionStatus"}]', ["value"]),
    ('[{"op": "replace", "path": "/completionStatus", "value": null}]', ["null"]),
    ('[{"op": "replace", "path": "/completed", "value": 1.5}]', ["float"]),
    ('[{"op": "copy", "path": "/completed"}]', ["from"]),
    ('[{"op": "test", "path": "/id"}]', ["value"]),
])
def test_bad_operations_get_400(sim, stuck, body, words):
    assert stuck
    text = error_text(patch(sim, body))
    for word in words:
        assert word in text


@pytest.mark.parametrize("path", ["/progress", "/percentComplete", "/id", "/launched", "/completionStatus/x", "",
                                  "/attributes/appId", "/messages/0"])
def test_only_completion_status_and_completed_may_change(sim, stuck, path):
    assert stuck
    text = error_text(patch(sim, [{"op": "replace", "path": path, "value": "x"}]))
    assert repr(path) in text and "/completionStatus" in text
    assert repr("/id") in error_text(patch(sim, [{"op": "move", "from": "/id", "path": "/completed"}]))


@pytest.mark.parametrize("operations,words", [
    ([{"op": "replace", "path": "/completionStatus", "value": "DONE"}], ["completionStatus", "SUCCESS"]),
    ([{"op": "replace", "path": "/completionStatus", "value": 3}], ["completionStatus"]),
    ([{"op": "replace", "path": "/completionStatus", "value": "TEMP_ERROR"}], ["TEMPERROR"]),
    ([{"op": "replace", "path": "/completed", "value": "yesterday"}], ["completed", "ISO-8601"]),
    ([{"op": "replace", "path": "/completed", "value": "2024-05-17T19:33:16"}], ["time zone"]),
    ([{"op": "replace", "path": "/completed", "value": "2024-02-30T00:00:00Z"}], ["completed"]),
    ([{"op": "replace", "path": "/completed", "value": True}], ["completed"]),
    ([{"op": "remove", "path": "/completed"}], ["removed"]),
    ([{"op": "copy", "from": "/messages", "path": "/completed"}], ["completed"]),
    ([{"op": "copy", "from": "/nothing", "path": "/completed"}], ["/nothing"]),
])
def test_bad_values_get_400(sim, stuck, operations, words):
    assert stuck
    text = error_text(patch(sim, operations))
    for word in words:
        assert word in text
    assert sim.tasks()[0]["completionStatus"] is None  # nothing was applied


def test_a_set_value_cannot_become_null(sim):
    sim.add_task(id=STUCK, created_ago=100, duration=10)
    response = patch(sim, [{"op": "copy", "from": "/parentName", "path": "/completionStatus"}])
    assert "completionStatus must be one of" in error_text(response)
    response = patch(sim, [{"op": "copy", "from": "/parentName", "path": "/completed"}])
    assert "completed must be" in error_text(response)


def test_unknown_and_expired_ids_get_404(sim):
    sim.add_task(id="old" + "0" * 29, created_ago=91 * 86400)
    body = [{"op": "replace", "path": "/completionStatus", "value": "ERROR"}]
    assert patch(sim, body, task_id="f" * 32).status == 404
    assert patch(sim, body, task_id="old" + "0" * 29).status == 404


def test_empty_patch_changes_nothing(sim, stuck):
    response = patch(sim, [])
    assert response.status == 200
    assert response.json()["completionStatus"] is None
    assert response.json()["modified"] == stuck["modified"]


# ---------------------------------------------------------------------------------------- RFC 6902 unit
def test_rfc6902_operations_on_nested_documents():
    document = {"a": {"b": [1, 2]}, "c~d": 1, "e/f": 2}
    result = apply_patch(document, validate_operations([
        {"op": "add", "path": "/a/b/1", "value": 9},
        {"op": "add", "path": "/a/b/-", "value": 3},
        {"op": "remove", "path": "/c~0d"},
        {"op": "replace", "path": "/e~1f", "value": {"x": None}},
        {"op": "move", "from": "/a/b/0", "path": "/first"},
        {"op": "copy", "from": "/a", "path": "/copy"},
        {"op": "test", "path": "/copy/b", "value": [9, 2, 3]},
    ]))
    assert result == {"a": {"b": [9, 2, 3]}, "e/f": {"x": None}, "first": 1, "copy": {"b": [9, 2, 3]}}
    assert document == {"a": {"b": [1, 2]}, "c~d": 1, "e/f": 2}


@pytest.mark.parametrize("operation", [
    {"op": "add", "path": "/missing/x", "value": 1},
    {"op": "add", "path": "/a/b/5", "value": 1},
    {"op": "add", "path": "/a/b/01", "value": 1},
    {"op": "remove", "path": "/nope"},
    {"op": "replace", "path": "/nope", "value": 1},
    {"op": "move", "from": "/a", "path": "/a/b/c"},
    {"op": "remove", "path": ""},
])
def test_rfc6902_errors(operation):
    with pytest.raises(PatchError):
        apply_patch({"a": {"b": [1, 2]}}, validate_operations([operation]))


def test_rfc6902_test_equality_rules():
    assert json_equal({"a": [1, "x"]}, {"a": [1.0, "x"]})
    assert not json_equal(1, True)
    assert not json_equal({"a": 1}, {"a": 1, "b": 2})
    with pytest.raises(PatchTestFailed):
        apply_patch({"a": 0}, [{"op": "test", "path": "/a", "value": False}])
    with pytest.raises(PatchError):
        parse_pointer("/a~2")
