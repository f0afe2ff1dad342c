# -*- coding: utf-8 -*-
# Copyright: identitynow.tasks contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""task_status run in-process against the simulated tenant; request counts come from the simulator's log."""

from __future__ import annotations

import functools
import http.server
import sys
import threading

import pytest
import requests

from ansible_collections.identitynow.tasks.plugins.module_utils import client as client_utils
from ansible_collections.identitynow.tasks.plugins.modules import task_status

VERSIONS = ("v2026", "v2025", "v2024", "beta", "v1")
API_CLIENT = dict(client_id="sim-api-client", client_secret="sim-api-secret")


@pytest.fixture
def run(run_module):
    """run(check_mode=False, diff=False, **options) -> result: the module's JSON output, connected to the simulator."""
    return functools.partial(run_module, task_status)


def stuck(sim, count=1, **spec):
    """Tasks stuck pending for an hour (their 'modified' no longer moves)."""
    spec = dict(dict(outcome="STUCK", created_ago=3600, duration=60), **spec)
    if count == 1:
        return [sim.add_task(**spec)]
    return sim.add_tasks(dict(spec, count=count))


def calls(sim, method=None):
    """The API requests in the simulator's log (token requests left out); the log is cleared."""
    log = [e for e in sim.log() if e["path"] != "/oauth/token"]
    sim.clear_log()
    return [e for e in log if method is None or e["method"] == method]


def state(sim, task_id):
    token = sim.token()
    return sim.request("GET", "/v2026/task-status/%s" % task_id, token=token).json()


# -- the basic cycle ---------------------------------------------------------------------------------------

def test_change_then_no_op(sim, run):
    task = stuck(sim)[0]
    sim.clear_log()
    result = run(id=task["id"], completion_status="terminated", completed="now")
    assert result["changed"] and result["outcome"] == "changed"
    assert result["task"]["completionStatus"] == "TERMINATED" and result["task"]["completed"]
    assert [op["op"] for op in result["operations"]] == ["test", "replace", "replace"]
    assert [(e["method"], e["status"]) for e in calls(sim)] == [("GET", 200), ("PATCH", 200)]

    again = run(id=task["id"], completion_status="TERMINATED", completed="now")
    assert not again["changed"] and again["outcome"] == "unchanged" and again["operations"] == []
    assert calls(sim, "PATCH") == []
    assert again["task"] == state(sim, task["id"])


def test_check_mode_sends_no_patch(sim, run):
    task = stuck(sim)[0]
    sim.clear_log()
    result = run(check_mode=True, diff=True, id=task["id"], completion_status="ERROR")
    assert result["changed"] and result["task"]["completionStatus"] == "ERROR"
    assert result["diff"]["before"] == {"completionStatus": None, "completed": None}
    assert result["diff"]["after"]["completionStatus"] == "ERROR"
    assert calls(sim, "PATCH") == []
    assert state(sim, task["id"])["completionStatus"] is None


def test_diff_mode_shows_only_changed_fields(sim, run):
    task = stuck(sim)[0]
    stamp = "2024-05-17T19:33:16.470Z"
    result = run(diff=True, id=task["id"], completion_status="error", completed="2024-05-17 19:33:16.470000+00:00")
    assert result["diff"] == {"before": {"completionStatus": None, "completed": None},
                              "after": {"completionStatus": "ERROR", "completed": stamp}}
    result = run(diff=True, id=task["id"], completed="2024-05-17T21:33:16.470+02:00")
    assert not result["changed"] and result["diff"] == {"before": {}, "after": {}}
    assert "diff" not in run(id=task["id"], completion_status="ERROR")


def test_finished_task_refused_by_default(sim, run):
    task = sim.add_task(outcome="SUCCESS", created_ago=3600, duration=60)
    sim.clear_log()
    result = run(id=task["id"], completion_status="ERROR")
    assert result["failed"] and result["outcome"] == "refused" and "allow_finished=true" in result["msg"]
    assert calls(sim, "PATCH") == [] and state(sim, task["id"])["completionStatus"] == "SUCCESS"
    result = run(id=task["id"], completion_status="SUCCESS")          # already so: not refused
    assert not result.get("failed") and result["outcome"] == "unchanged"
    result = run(id=task["id"], completion_status="ERROR", allow_finished=True)
    assert result["changed"] and state(sim, task["id"])["completionStatus"] == "ERROR"
    assert {"op": "test", "path": "/completionStatus", "value": "SUCCESS"} in result["operations"]


def test_raw_patch(sim, run):
    task = stuck(sim)[0]
    patch = [{"op": "replace", "path": "/completionStatus", "value": "TempError"},
             {"op": "replace", "path": "/completed", "value": "2025-01-02T03:04:05Z"}]
    result = run(id=task["id"], patch=patch)
    assert result["changed"] and result["task"]["completionStatus"] == "TEMPERROR"
    assert result["task"]["completed"] == "2025-01-02T03:04:05.000Z"
    assert result["operations"][1:] == [{"op": "replace", "path": "/completionStatus", "value": "TEMPERROR"},
                                        {"op": "replace", "path": "/completed", "value": "2025-01-02T03:04:05.000Z"}]
    sim.clear_log()
    assert run(id=task["id"], patch=patch)["outcome"] == "unchanged"
    refused = run(id=task["id"], allow_finished=True,
                  patch=[{"op": "test", "path": "/completionStatus", "value": "ERROR"},
                         {"op": "replace", "path": "/completionStatus", "value": "SUCCESS"}])
    assert refused["outcome"] == "refused" and "test operation" in refused["msg"]
    assert calls(sim, "PATCH") == []


@pytest.mark.parametrize("options,fragment", [
    (dict(patch=[{"op": "replace", "path": "/progress", "value": "x"}]), "allow_other_paths"),
    (dict(patch=[{"op": "replace", "path": "/completionStatus", "value": None}]), "must not be null"),
    (dict(patch=[{"op": "delete", "path": "/completed"}]), "'op' must be one of"),
    (dict(completion_status="done"),
     "completion_status: unknown completion status 'done'; accepted (any letter case): SUCCESS, WARNING, ERROR, TERMINATED, TEMPERROR"),
    (dict(completed="tomorrow"), "completed must be an ISO 8601 date-time"),
    (dict(completion_status="ERROR", fail_on=["oops"]), "fail_on"),
    (dict(), "one of the following is required: completion_status, completed, patch"),
    (dict(completion_status="ERROR", patch=[{"op": "remove", "path": "/completed"}]), "mutually exclusive"),
])
def test_bad_input_fails_before_any_request(sim, run, options, fragment):
    task = stuck(sim)[0]
    sim.clear_log()
    result = run(id=task["id"], **options)
    assert result["failed"] and fragment in result["msg"] and not result.get("changed")
    assert sim.log() == []


def test_token_without_user_context_gets_403_hint(sim, run):
    task = stuck(sim)[0]
    result = run(id=task["id"], completion_status="ERROR", **API_CLIENT)
    assert result["failed"] and result["outcome"] == "failed" and result["status"] == 403
    assert "personal access token" in result["msg"] and "idn:task-management:write" in result["hint"]
    assert state(sim, task["id"])["completionStatus"] is None


def test_unknown_id_is_404_with_90_day_hint(sim, run):
    result = run(id="0123456789abcdef0123456789abcdef", completion_status="ERROR")
    assert result["failed"] and result["outcome"] == "not_found" and "90 days" in result["msg"]
    assert result["task"] is None


@pytest.mark.parametrize("hidden,named", [
    (["jsonpatch"], "library jsonpatch"),
    (["requests", "jsonpatch"], "libraries requests and jsonpatch"),
])
def test_missing_libraries_are_named_at_once(sim, run, monkeypatch, hidden, named):
    for name in hidden:
        monkeypatch.setitem(sys.modules, name, None)      # import fails as if not installed
    result = run(id="x", completion_status="ERROR")
    assert result["failed"] and named in result["msg"] and sim.log() == []
    assert "%s -m pip install %s" % (sys.executable, " ".join(hidden)) in result["msg"]
    assert sys.executable in result["msg"].split(" -m pip")[0]


def test_temp_error_alias_is_accepted(sim, run):
    task = stuck(sim)[0]
    result = run(id=task["id"], completion_status="temp_error")
    assert result["changed"] and result["task"]["completionStatus"] == "TEMPERROR"
    assert {"op": "replace", "path": "/completionStatus", "value": "TEMPERROR"} in result["operations"]
    assert not run(id=task["id"], completion_status="TEMP_ERROR")["changed"]


# -- many ids ----------------------------------------------------------------------------------------------

def test_thirty_ids_one_list_read_and_thirty_patches(sim, run):
    ids = [t["id"] for t in stuck(sim, count=30)]
    sim.clear_log()
    result = run(ids=ids, completion_status="ERROR")
    log = calls(sim)
    assert [e["method"] for e in log] == ["GET"] + ["PATCH"] * 30
    assert log[0]["path"] == "/v2026/task-status" and "id in (" in log[0]["query"]["filters"]
    assert result["changed"] and result["summary"]["changed"] == 30 and not result.get("failed")
    assert [e["id"] for e in result["tasks"]] == ids
    again = run(ids=ids, completion_status="error")
    assert not again["changed"] and again["summary"]["unchanged"] == 30
    assert [e["method"] for e in calls(sim)] == ["GET"]


def test_many_ids_with_faults_in_the_middle(sim, run):
    ids = [t["id"] for t in stuck(sim, count=8)]
    done = sim.add_task(outcome="WARNING", created_ago=3600, duration=60)["id"]
    unknown = "ffffffffffffffffffffffffffffffff"
    # 3rd PATCH: applied, then the connection drops; 5th: HTTP 500 and not applied.
    sim.add_fault("drop", method="PATCH", after=2, apply=True)
    sim.add_fault("status", method="PATCH", path=ids[5], status=500, count=10)
    sim.clear_log()
    result = run(ids=ids[:3] + [done, unknown] + ids[3:], completion_status="ERROR", max_retries=2)
    by_id = dict((e["id"], e) for e in result["tasks"])
    assert [e["outcome"] for e in result["tasks"]] == (["changed"] * 3 + ["refused", "not_found"] + ["changed"] * 2
                                                       + ["failed"] + ["changed"] * 2)
    assert by_id[ids[2]]["uncertain"] and "shows the change applied" in by_id[ids[2]]["msg"]
    assert by_id[ids[5]]["uncertain"] and "not sent again" in by_id[ids[5]]["msg"]
    assert result["failed"] and result["changed"]
    assert result["summary"] == {"changed": 7, "unchanged": 0, "not_found": 1, "refused": 1, "failed": 1, "skipped": 0}
    patches = calls(sim, "PATCH")
    assert sorted(e["path"].rsplit("/", 1)[1] for e in patches) == sorted(ids)   # one PATCH per task, none twice
    for task_id in ids:
        assert state(sim, task_id)["completionStatus"] == (None if task_id == ids[5] else "ERROR")


def test_stop_on_error_skips_the_rest(sim, run):
    done = sim.add_task(outcome="SUCCESS", created_ago=3600, duration=60)["id"]
    ids = [t["id"] for t in stuck(sim, count=3)]
    sim.clear_log()
    result = run(ids=[ids[0], done] + ids[1:], completion_status="ERROR", stop_on_error=True)
    assert [e["outcome"] for e in result["tasks"]] == ["changed", "refused", "skipped", "skipped"]
    assert len(calls(sim, "PATCH")) == 1 and result["failed"]


def test_fail_on_lets_refused_and_missing_pass(sim, run):
    done = sim.add_task(outcome="SUCCESS", created_ago=3600, duration=60)["id"]
    task = stuck(sim)[0]["id"]
    result = run(ids=[done, "nope", task], completion_status="ERROR", fail_on=["failed"])
    assert not result.get("failed") and result["changed"] and result["msg"] == "1 changed, 1 not_found, 1 refused"


def test_lost_patch_answer_applied_once(sim, run):
    task = stuck(sim)[0]
    sim.add_fault("drop", method="PATCH", apply=True)
    sim.clear_log()
    result = run(id=task["id"], completion_status="ERROR")
    assert result["changed"] and result["outcome"] == "changed" and result["uncertain"] and not result.get("failed")
    assert result["task"]["completionStatus"] == "ERROR"
    assert [e["method"] for e in calls(sim)] == ["GET", "PATCH", "GET"]


def test_task_finishing_between_read_and_write_is_refused(sim, run, monkeypatch):
    sim.settings(race_window=2)
    # Ended 1 s ago: 'completed' is set, completionStatus arrives 1 s from now.
    task = sim.add_task(outcome="SUCCESS", created_ago=3, duration=2)
    assert task["completionStatus"] is None and task["completed"]
    original = client_utils.IscClient.patch_task

    def late_patch(self, task_id, operations, deadline=None):
        sim.advance(5)
        return original(self, task_id, operations, deadline=deadline)

    monkeypatch.setattr(client_utils.IscClient, "patch_task", late_patch)
    sim.clear_log()
    result = run(id=task["id"], completion_status="ERROR")
    assert result["outcome"] == "refused" and "finished with completionStatus SUCCESS" in result["msg"]
    assert [(e["method"], e["status"]) for e in calls(sim)] == [("GET", 200), ("PATCH", 400), ("GET", 200)]
    assert result["task"]["completionStatus"] == "SUCCESS" and state(sim, task["id"])["completionStatus"] == "SUCCESS"


def test_paced_under_the_rate_limit(sim, run):
    sim.settings(rate_limit=10, rate_window=1)
    ids = [t["id"] for t in stuck(sim, count=24)]
    sim.clear_log()
    result = run(ids=ids, completion_status="ERROR", rate_limit=10, rate_limit_window=1)
    assert result["summary"]["changed"] == 24
    log = calls(sim)
    assert len(log) == 25 and all(e["status"] != 429 for e in log)


# -- every API version -------------------------------------------------------------------------------------

@pytest.mark.parametrize("version", VERSIONS)
def test_each_api_version(sim, run, version):
    ids = [t["id"] for t in stuck(sim, count=3)]
    result = run(api_version=version, id=ids[0], completion_status="warning")
    assert result["changed"] and result["task"]["completionStatus"] == "WARNING"
    result = run(api_version=version, ids=ids, completion_status="WARNING")
    assert [e["outcome"] for e in result["tasks"]] == ["unchanged", "changed", "changed"]
    assert not run(api_version=version, ids=ids, completion_status="WARNING")["changed"]
    prefix = "/task-status/v1" if version == "v1" else "/%s/task-status" % version
    assert all(e["path"].startswith(prefix) for e in calls(sim))


# -- a bulk run keeps its per-task report ------------------------------------------------------------------

class _CorruptingProxy(http.server.ThreadingHTTPServer):
    """A proxy on 127.0.0.1 in front of the simulator that answers the PATCH of one task with a wrong shape."""

    daemon_threads = True

    def __init__(self, upstream, corrupt_id, body):
        self.upstream, self.corrupt_id, self.body = upstream, corrupt_id, body
        super().__init__(("127.0.0.1", 0), _ProxyHandler)
        threading.Thread(target=self.serve_forever, daemon=True).start()

    @property
    def url(self):
        return "http://127.0.0.1:%d" % self.server_address[1]


class _ProxyHandler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, format, *args):  # pylint: disable=redefined-builtin
        pass

    def _forward(self):
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        headers = dict((k, v) for k, v in self.headers.items() if k.lower() not in ("host", "content-length"))
        answer = requests.request(self.command, self.server.upstream + self.path, data=body, headers=headers,
                                  timeout=10)
        status, payload = answer.status_code, answer.content
        if self.command == "PATCH" and self.path.endswith("/" + self.server.corrupt_id):
            status, payload = 200, self.server.body      # applied upstream, answered with the wrong shape
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        if "X-Total-Count" in answer.headers:
            self.send_header("X-Total-Count", answer.headers["X-Total-Count"])
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    do_GET = do_POST = do_PATCH = _forward


@pytest.mark.parametrize("body", [b'"done"', b"[]", b'{"unexpected": true}'])
def test_a_wrong_shape_for_one_task_gives_it_an_outcome_and_the_run_goes_on(sim, run, body):
    ids = [t["id"] for t in stuck(sim, count=3)]
    proxy = _CorruptingProxy(sim.url, ids[1], body)
    try:
        sim.clear_log()
        result = run(base_url=proxy.url, ids=ids, completion_status="ERROR")
    finally:
        proxy.shutdown()
        proxy.server_close()
    by_id = dict((e["id"], e) for e in result["tasks"])
    assert [e["id"] for e in result["tasks"]] == ids
    assert by_id[ids[0]]["outcome"] == by_id[ids[2]]["outcome"] == "changed"
    assert by_id[ids[1]]["outcome"] in ("changed", "failed") and by_id[ids[1]]["msg"]
    assert sum(result["summary"].values()) == 3
    assert len(calls(sim, "PATCH")) == 3                     # one PATCH per task, none sent twice
    assert all(state(sim, task_id)["completionStatus"] == "ERROR" for task_id in ids)


def test_bulk_403_without_user_context_stops_the_run(sim, run):
    ids = [t["id"] for t in stuck(sim, count=5)]
    sim.clear_log()
    result = run(ids=ids, completion_status="ERROR", fail_on=["failed"], **API_CLIENT)
    assert result["failed"] and not result["changed"]
    assert [e["outcome"] for e in result["tasks"]] == ["failed"] + ["skipped"] * 4
    first, skipped = result["tasks"][0], result["tasks"][1:]
    assert first["error"]["status"] == 403 and "personal access token" in first["msg"]
    for entry in skipped:
        assert entry["msg"].startswith("not attempted: ISC refused the PATCH of task %s with HTTP 403" % ids[0])
        assert "personal access token" in entry["msg"] and entry["task"] is None and entry["operations"] == []
    assert result["summary"] == {"changed": 0, "unchanged": 0, "not_found": 0, "refused": 0, "failed": 1,
                                 "skipped": 4}
    assert [e["method"] for e in calls(sim)] == ["GET", "PATCH"]
    assert all(state(sim, task_id)["completionStatus"] is None for task_id in ids)
