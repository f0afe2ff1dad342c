# -*- coding: utf-8 -*-
# Copyright: identitynow.tasks contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""task_update without HTTP: option parsing, patch validation, planning, and outcomes with a fake client."""

from __future__ import annotations

import copy
from datetime import datetime, timezone

import jsonpatch
import pytest

from ansible_collections.identitynow.tasks.plugins.module_utils import task_update as tu
from ansible_collections.identitynow.tasks.plugins.module_utils.errors import IscError
from ansible_collections.identitynow.tasks.plugins.modules import task_status
from ansible_collections.identitynow.tasks.tests.unit.plugins.modules.module_params import SpecError, module_params

NOW = datetime(2025, 3, 4, 5, 6, 7, 890123, tzinfo=timezone.utc)
NOW_TEXT = "2025-03-04T05:06:07.890Z"


def pending(task_id="t1", **extra):
    record = {"id": task_id, "uniqueName": "Cloud Account Aggregation", "created": "2025-03-04T01:00:00.000Z",
              "modified": "2025-03-04T01:30:00.000Z", "completed": None, "completionStatus": None,
              "percentComplete": 40, "progress": "Aggregating accounts: 4 of 10"}
    record.update(extra)
    return record


def finished(task_id="t1", status="SUCCESS", completed="2025-03-04T02:00:00.000Z"):
    return pending(task_id, completionStatus=status, completed=completed, modified=completed)


def request_from(**options):
    """The UpdateRequest of task_status for options, with the module's real argument spec and defaults."""
    return tu.request_from_params(module_params(task_status, **options), now=NOW)


def request(**options):
    options.setdefault("id", "t1")
    return request_from(**options)


# -- values ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("given,expected", [
    ("2024-05-17T19:33:16.470Z", "2024-05-17T19:33:16.470Z"),
    ("2024-05-17 19:33:16.470000+00:00", "2024-05-17T19:33:16.470Z"),   # the v2026 / v1 spec example
    ("2024-05-17T21:33:16.4705+02:00", "2024-05-17T19:33:16.470Z"),
    ("2024-05-17T14:33:16-0500", "2024-05-17T19:33:16.000Z"),
    ("2024-05-17T19:33", "2024-05-17T19:33:00.000Z"),                     # no zone: UTC
    ("2024-05-17t19:33:16,5z", "2024-05-17T19:33:16.500Z"),
    ("now", NOW_TEXT), ("NOW", NOW_TEXT),
])
def test_completed_forms(given, expected):
    assert tu.normalize_completed(given, NOW) == expected


def test_completed_from_a_yaml_datetime():
    assert tu.normalize_completed(datetime(2024, 5, 17, 19, 33, 16, 470000), NOW) == "2024-05-17T19:33:16.470Z"


@pytest.mark.parametrize("given", ["yesterday", "2024-05-17", "2024-13-01T00:00:00Z", "2024-02-30T00:00:00Z",
                                   "17/05/2024 19:33", "", 1715974396])
def test_bad_completed_names_option(given):
    with pytest.raises(IscError) as info:
        tu.normalize_completed(given, NOW)
    assert "completed must be an ISO 8601 date-time" in str(info.value) and "'now'" in str(info.value)


def test_same_instant_ignores_spelling():
    assert tu.same_instant("2024-05-17T19:33:16.470Z", "2024-05-17 19:33:16.470000+00:00")
    assert not tu.same_instant("2024-05-17T19:33:16.470Z", "2024-05-17T19:33:16.471Z")
    assert not tu.same_instant(None, "2024-05-17T19:33:16.470Z")
    assert tu.same_instant("garbage", "garbage") and not tu.same_instant("garbage", "other")


# -- options ----------------------------------------------------------------------------------------------

@pytest.mark.parametrize("params,fragment", [
    (dict(completion_status="ERROR"), "one of the following is required: id, ids"),
    (dict(id="a", ids=["b"], completion_status="ERROR"), "parameters are mutually exclusive: id|ids"),
    (dict(id=" ", completion_status="ERROR"), "id must be a non-empty task id"),
    (dict(ids=[], completion_status="ERROR"), "ids must be a non-empty list"),
    (dict(ids=["a", ""], completion_status="ERROR"), "ids must hold only non-empty task ids"),
    (dict(id="a"), "one of the following is required: completion_status, completed, patch"),
    (dict(id="a", completion_status="ERROR", patch=[{"op": "test", "path": "/id", "value": "a"}]),
     "parameters are mutually exclusive: patch|completion_status"),
    (dict(id="a", completion_status="ERROR", fail_on=["oops"]),
     "value of fail_on must be one or more of: not_found, refused, failed. Got no match for: oops"),
])
def test_bad_options(params, fragment):
    with pytest.raises((IscError, SpecError)) as info:
        request_from(**params)
    assert fragment in str(info.value)


def test_shipped_defaults():
    req = request(completion_status="error")
    assert req.guard is True and req.fail_on == ("not_found", "refused", "failed")
    assert not req.allow_finished and not req.stop_on_error


@pytest.mark.parametrize("spelling", ["TEMP_ERROR", "temp_error", "TempError", "TEMPERROR"])
def test_temp_error_alias(spelling):
    assert request(completion_status=spelling).completion_status == "TEMPERROR"
    assert tu.plan_update(pending(completionStatus=None), request(completion_status=spelling)).outcome == "changed"
    assert tu.plan_update(finished(status="TEMPERROR"), request(completion_status=spelling)).outcome == "unchanged"


def test_ids_are_deduplicated_in_order():
    req = request_from(ids=["b", "a", "b", " c "], completion_status="error")
    assert req.ids == ["b", "a", "c"] and not req.single and req.completion_status == "ERROR"


# -- raw patch validation -------------------------------------------------------------------------------------

@pytest.mark.parametrize("patch,fragment", [
    ([], "non-empty list"),
    ("replace", "non-empty list"),
    (["replace"], "patch[0] must be a dictionary"),
    ([{"op": "set", "path": "/completionStatus", "value": "ERROR"}], "'op' must be one of add, remove, replace, test"),
    ([{"path": "/completionStatus", "value": "ERROR"}], "'op' must be one of"),
    ([{"op": "replace", "path": "completionStatus", "value": "ERROR"}], "'path' must be a JSON pointer"),
    ([{"op": "replace", "path": "/completed~2", "value": "now"}], "'path' must be a JSON pointer"),
    ([{"op": "replace", "path": "", "value": {}}], "must not be empty"),
    ([{"op": "replace", "path": "/completionStatus"}], "'replace' needs a 'value'"),
    ([{"op": "replace", "path": "/completionStatus", "value": None}], "must not be null"),
    ([{"op": "test", "path": "/completionStatus", "value": None}], "must not be null"),
    ([{"op": "replace", "path": "/completed", "value": 1.5}], "got a float"),
    ([{"op": "add", "path": "/completed", "value": {"a": None}}], "'value.a' must not be null"),
    ([{"op": "replace", "path": "/completionStatus", "value": "Done"}], "patch[0].value: unknown completion status"),
    ([{"op": "replace", "path": "/completed", "value": "soon"}], "patch[0].value must be an ISO 8601"),
    ([{"op": "test", "path": "/completed", "value": "now"}], "for /completed must be an ISO 8601"),
    ([{"op": "replace", "path": "/progress", "value": "x"}], "set allow_other_paths=true"),
    ([{"op": "remove", "path": "/messages"}], "may only change /completionStatus and /completed"),
    ([{"op": "move", "from": "/progress", "path": "/completed"}], "may only change"),
    ([{"op": "copy", "path": "/completed"}], "'from' must be a JSON pointer"),
    ([{"op": "replace", "path": "/completionStatus", "value": "ERROR", "vaule": "x"}], "does not take vaule"),
    ([{"op": "remove", "path": "/completed", "value": "x"}], "'remove' does not take value"),
    ([{"op": "test", "path": "/id", "value": "t1"}, {"op": "replace", "path": "/x", "value": 1}], "patch[1]"),
])
def test_bad_patch_is_rejected_before_sending(patch, fragment):
    with pytest.raises(IscError) as info:
        tu.validate_patch(patch, NOW)
    assert fragment in str(info.value)


def test_patch_values_are_normalized():
    ops = tu.validate_patch([{"op": "test", "path": "/completionStatus", "value": "TempError"},
                             {"op": "replace", "path": "/completionStatus", "value": "error"},
                             {"op": "add", "path": "/completed", "value": "now"},
                             {"op": "copy", "from": "/modified", "path": "/completed"},
                             {"op": "test", "path": "/attributes", "value": {"appId": "x", "n": [1, True]}}], NOW)
    assert ops[0]["value"] == "TEMPERROR" and ops[1]["value"] == "ERROR" and ops[2]["value"] == NOW_TEXT
    assert ops[3] == {"op": "copy", "from": "/modified", "path": "/completed"}


def test_other_paths_need_the_option():
    patch = [{"op": "replace", "path": "/progress", "value": "Done"}]
    assert tu.validate_patch(patch, NOW, allow_other_paths=True) == patch


# -- planning ------------------------------------------------------------------------------------------------

def test_pending_task_gets_status_and_time_of_change():
    plan = tu.plan_update(pending(), request(completion_status="error"))
    assert plan.outcome == "changed"
    assert plan.operations == [
        {"op": "test", "path": "/modified", "value": "2025-03-04T01:30:00.000Z"},
        {"op": "replace", "path": "/completionStatus", "value": "ERROR"},
        {"op": "replace", "path": "/completed", "value": NOW_TEXT}]
    assert plan.expected["completionStatus"] == "ERROR" and plan.changes == ["completionStatus", "completed"]


def test_existing_completed_is_kept_by_default_and_by_now():
    task = pending(completed="2025-03-04T01:59:00.000Z")  # ended, status not yet reported
    for extra in ({}, {"completed": "now"}):
        plan = tu.plan_update(task, request(completion_status="ERROR", **extra))
        assert [op["path"] for op in plan.operations] == ["/modified", "/completionStatus"]


def test_explicit_completed_compared_as_instant():
    task = finished(status="ERROR", completed="2024-05-17T19:33:16.470Z")
    req = request(completion_status="error", completed="2024-05-17 21:33:16.47+02:00")
    assert tu.plan_update(task, req).outcome == "unchanged"
    plan = tu.plan_update(task, request(completed="2024-05-17T19:33:17Z", allow_finished=True))
    assert plan.operations[-1] == {"op": "replace", "path": "/completed", "value": "2024-05-17T19:33:17.000Z"}


def test_title_case_status_on_the_server_is_the_same_status():
    assert tu.plan_update(finished(status="Error"), request(completion_status="ERROR")).outcome == "unchanged"


def test_finished_task_refused_unless_allowed():
    plan = tu.plan_update(finished(), request(completion_status="error"))
    assert plan.outcome == "refused" and "allow_finished=true" in plan.msg and plan.operations == []
    plan = tu.plan_update(finished(), request(completion_status="error", allow_finished=True))
    assert plan.outcome == "changed"
    assert plan.operations[:2] == [{"op": "test", "path": "/modified", "value": "2025-03-04T02:00:00.000Z"},
                                   {"op": "test", "path": "/completionStatus", "value": "SUCCESS"}]
    assert plan.operations[2:] == [{"op": "replace", "path": "/completionStatus", "value": "ERROR"}]


def test_no_guard_and_missing_fields():
    task = pending()
    del task["completionStatus"], task["completed"], task["modified"]
    plan = tu.plan_update(task, request(completion_status="WARNING", guard=False))
    assert plan.operations == [{"op": "add", "path": "/completionStatus", "value": "WARNING"},
                               {"op": "add", "path": "/completed", "value": NOW_TEXT}]


def test_raw_patch_plans():
    ops = [{"op": "replace", "path": "/completionStatus", "value": "TERMINATED"}]
    plan = tu.plan_update(pending(), request(patch=ops))
    assert plan.outcome == "changed" and plan.operations[1:] == ops and plan.changes == ["completionStatus"]
    assert tu.plan_update(finished(status="TERMINATED"), request(patch=ops)).outcome == "unchanged"
    failing = [{"op": "test", "path": "/completionStatus", "value": "ERROR"}] + ops
    plan = tu.plan_update(finished(status="TEMPERROR"), request(patch=failing, allow_finished=True))
    assert plan.outcome == "refused" and "test operation" in plan.msg and plan.operations == []
    broken = [{"op": "remove", "path": "/completed/x"}]
    assert tu.plan_update(pending(), request(patch=broken, allow_other_paths=True)).outcome == "failed"


# -- running, with a fake client ------------------------------------------------------------------------------

class FakeClient:
    """get_task / get_tasks_by_ids / patch_task over a dict of records; scripted PATCH failures."""

    def __init__(self, *records):
        self.records = dict((r["id"], copy.deepcopy(r)) for r in records)
        self.calls = []
        self.patch_errors = {}   # id -> (IscError, apply first?, change the task first?)

    def get_task(self, task_id, deadline=None):
        self.calls.append(("GET", task_id))
        if task_id not in self.records:
            raise IscError("ISC answered 404 Not Found", status=404, method="GET")
        return copy.deepcopy(self.records[task_id])

    def get_tasks_by_ids(self, ids, deadline=None, chunk_size=50):
        self.calls.append(("LIST", tuple(ids)))
        return dict((i, copy.deepcopy(self.records[i])) for i in ids if i in self.records)

    def patch_task(self, task_id, operations, deadline=None):
        self.calls.append(("PATCH", task_id))
        error, apply, meddle = self.patch_errors.pop(task_id, (None, True, None))
        if meddle:
            self.records[task_id].update(meddle)
        if task_id not in self.records:
            raise IscError("ISC answered 404 Not Found", status=404, method="PATCH")
        try:
            after = jsonpatch.apply_patch(self.records[task_id], operations)
        except jsonpatch.JsonPatchTestFailed:
            raise IscError("ISC answered 400 Bad Request", status=400, method="PATCH",
                           messages=["JSON Patch test operation failed"])
        if apply:
            after["modified"] = "2025-03-04T05:06:08.000Z"
            self.records[task_id] = after
        if error:
            raise error
        return copy.deepcopy(after)

    def patches(self):
        return [c for c in self.calls if c[0] == "PATCH"]


def run(client, check_mode=False, diff=False, **params):
    run_result = tu.update_tasks(client, request_from(**params), check_mode=check_mode, diff=diff)
    return dict(run_result.result, failed=run_result.failure is not None)


def test_single_changed_then_unchanged():
    client = FakeClient(pending())
    result = run(client, id="t1", completion_status="error", diff=True)
    assert result["changed"] and not result["failed"] and result["outcome"] == "changed"
    assert result["task"]["completionStatus"] == "ERROR" and len(result["operations"]) == 3
    assert result["diff"] == {"before": {"completionStatus": None, "completed": None},
                              "after": {"completionStatus": "ERROR", "completed": NOW_TEXT}}
    again = run(client, id="t1", completion_status="ERROR", diff=True)
    assert not again["changed"] and again["outcome"] == "unchanged" and again["operations"] == []
    assert again["diff"] == {"before": {}, "after": {}}
    assert client.calls == [("GET", "t1"), ("PATCH", "t1"), ("GET", "t1")]


def test_check_mode_sends_nothing():
    client = FakeClient(pending())
    result = run(client, check_mode=True, id="t1", completion_status="ERROR")
    assert result["changed"] and result["task"]["completionStatus"] == "ERROR" and result["operations"]
    assert "diff" not in result and client.patches() == []
    assert client.records["t1"]["completionStatus"] is None


def test_single_not_found_fails_with_90_day_hint():
    result = run(FakeClient(), id="gone", completion_status="ERROR")
    assert result["failed"] and result["outcome"] == "not_found" and "90 days" in result["msg"]
    assert result["task"] is None and not result["changed"]


def test_lost_answer_applied_is_changed_and_not_resent():
    client = FakeClient(pending())
    client.patch_errors["t1"] = (IscError("connection to ISC failed", uncertain=True), True, None)
    result = run(client, id="t1", completion_status="ERROR")
    assert result["outcome"] == "changed" and result["changed"] and result["uncertain"] and not result["failed"]
    assert result["task"]["completionStatus"] == "ERROR"
    assert client.calls == [("GET", "t1"), ("PATCH", "t1"), ("GET", "t1")]


def test_lost_answer_not_applied_is_failed_and_not_resent():
    client = FakeClient(pending())
    client.patch_errors["t1"] = (IscError("ISC answered 502", status=502, uncertain=True), False, None)
    result = run(client, id="t1", completion_status="ERROR")
    assert result["outcome"] == "failed" and not result["changed"] and result["failed"]
    assert "was not applied and it was not sent again" in result["msg"]
    assert len(client.patches()) == 1


def test_lost_answer_and_failed_reread_is_unknown():
    client = FakeClient(pending())
    client.patch_errors["t1"] = (IscError("timeout", uncertain=True), True, None)
    original = client.get_task
    count = {"n": 0}

    def get_task(task_id, deadline=None):
        count["n"] += 1
        if count["n"] > 1:
            raise IscError("ISC answered 503", status=503)
        return original(task_id)

    client.get_task = get_task
    result = run(client, id="t1", completion_status="ERROR")
    assert result["outcome"] == "failed" and result["uncertain"] and "unknown" in result["msg"]


def test_task_finishing_between_read_and_write_is_refused():
    client = FakeClient(pending())
    finish = {"completionStatus": "SUCCESS", "completed": "2025-03-04T05:00:00.000Z",
              "modified": "2025-03-04T05:00:01.000Z"}
    client.patch_errors["t1"] = (None, True, finish)
    result = run(client, id="t1", completion_status="ERROR")
    assert result["outcome"] == "refused" and result["failed"]
    assert "finished with completionStatus SUCCESS" in result["msg"]
    assert result["task"]["completionStatus"] == "SUCCESS"
    assert client.records["t1"]["completionStatus"] == "SUCCESS"


def test_400_without_a_moved_task_is_failed_with_messages():
    client = FakeClient(pending())
    client.patch_errors["t1"] = (IscError("ISC answered 400 Bad Request", status=400, method="PATCH",
                                          messages=["nope"]), False, None)
    result = run(client, id="t1", completion_status="ERROR")
    assert result["outcome"] == "failed" and "nope" in result["msg"] and "guard=false" in result["msg"]
    assert result["error"]["status"] == 400 and result["status"] == 400


def test_403_is_failed_with_hint():
    client = FakeClient(pending())
    client.patch_errors["t1"] = (IscError("ISC answered 403 Forbidden", status=403, method="PATCH"), False, None)
    result = run(client, id="t1", completion_status="ERROR")
    assert result["outcome"] == "failed" and "personal access token" in result["msg"]
    assert "idn:task-management:write" in result["hint"]


def test_many_ids_report_every_outcome():
    client = FakeClient(pending("a"), finished("b", status="ERROR"), finished("c"), pending("d"), pending("e"))
    client.patch_errors["d"] = (IscError("ISC answered 500", status=500, uncertain=True), False, None)
    result = run(client, ids=["a", "b", "c", "x", "d", "e"], completion_status="ERROR", diff=True)
    outcomes = [(e["id"], e["outcome"]) for e in result["tasks"]]
    assert outcomes == [("a", "changed"), ("b", "unchanged"), ("c", "refused"), ("x", "not_found"),
                        ("d", "failed"), ("e", "changed")]
    assert result["summary"] == {"changed": 2, "unchanged": 1, "not_found": 1, "refused": 1, "failed": 1, "skipped": 0}
    assert result["changed"] and result["failed"] and "first failure: task c refused" in result["msg"]
    assert sorted(result["diff"]["after"]) == ["a", "e"]
    assert client.calls[0] == ("LIST", ("a", "b", "c", "x", "d", "e"))
    assert [c[1] for c in client.patches()] == ["a", "d", "e"]


def test_fail_on_and_stop_on_error():
    client = FakeClient(finished("a"), pending("b"))
    result = run(client, ids=["x", "a", "b"], completion_status="ERROR", fail_on=["failed"])
    assert not result["failed"] and result["changed"] and result["msg"] == "1 changed, 1 not_found, 1 refused"
    client = FakeClient(finished("a"), pending("b"))
    result = run(client, ids=["a", "b"], completion_status="ERROR", stop_on_error=True)
    assert [e["outcome"] for e in result["tasks"]] == ["refused", "skipped"] and result["failed"]
    assert client.patches() == []


def test_read_failure_raises():
    client = FakeClient()

    def broken(ids, deadline=None, chunk_size=50):
        raise IscError("ISC answered 403", status=403, method="GET")

    client.get_tasks_by_ids = broken
    with pytest.raises(IscError):
        run(client, ids=["a", "b"], completion_status="ERROR")


def test_lost_answer_with_server_spelling_of_the_values_is_changed():
    client = FakeClient(pending())
    client.patch_errors["t1"] = (IscError("connection reset", uncertain=True), True, None)
    original = client.get_task

    def get_task(task_id, deadline=None):
        record = original(task_id)
        if record["completionStatus"]:
            record.update(completionStatus="Error", completed="2025-03-04 05:06:07.890000+00:00")
        return record

    client.get_task = get_task
    result = run(client, id="t1", completion_status="ERROR")
    assert result["outcome"] == "changed" and result["uncertain"] and len(client.patches()) == 1


def test_same_value():
    assert tu.same_value("completionStatus", "Error", "ERROR")
    assert tu.same_value("completed", "2025-03-04T05:06:07.890Z", "2025-03-04 05:06:07.89+00:00")
    assert not tu.same_value("completionStatus", None, "ERROR")
    assert tu.same_value("progress", "x", "x") and not tu.same_value("progress", "x", "X")


def test_one_bad_answer_does_not_lose_the_report():
    client = FakeClient(pending("a"), pending("b"), pending("c"), pending("d"))
    original = client.patch_task

    def patch_task(task_id, operations, deadline=None):
        if task_id == "b":
            original(task_id, operations)
            return ["not", "a", "task"]                       # applied, answered with a wrong shape
        if task_id == "c":
            raise IscError("ISC answered the PATCH with a string, not a task record", method="PATCH")
        return original(task_id, operations)

    def get_task(task_id, deadline=None):
        client.calls.append(("GET", task_id))
        return "garbage" if task_id == "b" else copy.deepcopy(client.records[task_id])

    client.patch_task, client.get_task = patch_task, get_task
    result = run(client, ids=["a", "b", "c", "d"], completion_status="ERROR")
    outcomes = dict((e["id"], e["outcome"]) for e in result["tasks"])
    assert outcomes == {"a": "changed", "b": "failed", "c": "failed", "d": "changed"}
    by_id = dict((e["id"], e) for e in result["tasks"])
    assert "not a task record" in by_id["b"]["msg"] and by_id["b"]["uncertain"]
    assert "not a task record" in by_id["c"]["msg"]
    assert [c[1] for c in client.patches()] == ["a", "b", "d"]      # none sent twice ("c" raised before sending)
    assert result["summary"]["changed"] == 2 and result["summary"]["failed"] == 2


def test_a_record_that_is_not_a_task_is_failed_and_not_patched():
    client = FakeClient(pending("a"))
    listed = {"a": copy.deepcopy(client.records["a"]), "b": ["junk"]}
    client.get_tasks_by_ids = lambda ids, deadline=None, chunk_size=50: listed
    result = run(client, ids=["a", "b"], completion_status="ERROR")
    assert [e["outcome"] for e in result["tasks"]] == ["changed", "failed"]
    assert "not as a task record" in result["tasks"][1]["msg"] and [c[1] for c in client.patches()] == ["a"]


def test_patch_403_stops_the_run():
    client = FakeClient(pending("a"), finished("b"), pending("c"), pending("d"))
    client.patch_errors["a"] = (IscError("ISC answered 403 Forbidden", status=403, method="PATCH"), False, None)
    result = run(client, ids=["a", "b", "c", "d"], completion_status="ERROR", fail_on=["failed"])
    assert [e["outcome"] for e in result["tasks"]] == ["failed", "skipped", "skipped", "skipped"]
    assert all(e["msg"].startswith("not attempted: ISC refused the PATCH of task a with HTTP 403")
               and "personal access token" in e["msg"] for e in result["tasks"][1:])
    assert [c[1] for c in client.patches()] == ["a"] and result["failed"]


def test_other_patch_failures_do_not_stop_the_run():
    client = FakeClient(pending("a"), pending("b"))
    client.patch_errors["a"] = (IscError("ISC answered 404", status=404, method="PATCH"), False, None)
    result = run(client, ids=["a", "b"], completion_status="ERROR")
    assert [e["outcome"] for e in result["tasks"]] == ["not_found", "changed"]
