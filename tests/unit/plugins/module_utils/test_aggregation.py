# -*- coding: utf-8 -*-
# Copyright: identitynow.tasks contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""module_utils/aggregation.py without a server: options, paths, answers, and finding a start whose answer was
lost (records with ISO strings and with epoch milliseconds)."""

from __future__ import annotations

import pytest

from ansible_collections.identitynow.tasks.plugins.module_utils import aggregation
from ansible_collections.identitynow.tasks.plugins.module_utils.errors import IscError
from ansible_collections.identitynow.tasks.plugins.module_utils.wait import wait_argument_spec

DEFAULTS = dict((name, spec.get("default")) for name, spec in wait_argument_spec().items())


def plan(**params):
    return aggregation.build_plan(dict(DEFAULTS, **params))


@pytest.mark.parametrize("version,kind,path", [
    ("v2026", "accounts", "/v2026/sources/abc/load-accounts"),
    ("v2025", "entitlements", "/v2025/sources/abc/load-entitlements"),
    ("v2024", "accounts", "/v2024/sources/abc/load-accounts"),
    ("beta", "entitlements", "/beta/sources/abc/load-entitlements"),
    ("v1", "accounts", "/sources/v1/abc/load-accounts"),
    ("v1", "entitlements", "/sources/v1/abc/load-entitlements"),
])
def test_paths_of_every_version(version, kind, path):
    assert aggregation.aggregation_path(version, kind, "abc") == path


def test_source_ids_are_one_encoded_segment():
    assert aggregation.aggregation_path("v2026", "accounts", "a/../b?c") == "/v2026/sources/a%2F%2E%2E%2Fb%3Fc/load-accounts"
    with pytest.raises(IscError, match="not a source id"):
        plan(source_id=[".."])


def test_user_context_only():
    assert aggregation.user_context_only("v2026", "entitlements")
    assert aggregation.user_context_only("beta", "accounts")
    assert not aggregation.user_context_only("v1", "accounts")


@pytest.mark.parametrize("data,expected", [
    ({"success": True, "task": {"id": "t1", "name": "Cloud Account Aggregation"}}, "t1"),
    ({"success": "true", "task": {"id": "t2"}}, "t2"),
    ({"id": "t3", "uniqueName": "Cloud Group Aggregation"}, "t3"),
    ({"success": True, "task": {"id": ""}}, None),
    ({"task": "t4"}, None),
    ([{"id": "t5"}], None),
    (None, None),
    ({"id": 5}, None),
])
def test_task_id_in_one_place_whatever_the_shape(data, expected):
    assert aggregation.task_id_of(data) == expected


def test_the_form_never_has_a_content_type_without_a_body(tmp_path):
    assert aggregation._form(plan(source_id=["a"])) == {}
    assert aggregation._form(plan(source_id=["a"], disable_optimization=True)) == {"disableOptimization": "true"}
    assert aggregation._form(plan(source_id=["a"], disable_optimization=False)) == {"disableOptimization": "false"}
    csv = tmp_path / "accounts.csv"
    csv.write_bytes(b"id\n1\n")
    assert aggregation._form(plan(source_id=["a"], kind="entitlements", file=str(csv))) == {
        "file": ("accounts.csv", b"id\n1\n", "text/csv")}


def test_a_single_string_is_one_source_and_duplicates_go():
    assert plan(source_id="abc").sources == ["abc"]
    assert plan(source_id=["b", "a", "b", " a "]).sources == ["b", "a"]


class FakeClient:
    """Lists canned records; counts requests; never sleeps."""

    api_version = "v2026"

    def __init__(self, batches, version="v2026"):
        self.batches = list(batches)
        self.api_version = version
        self.calls = []
        self.slept = 0.0
        self.now = 0.0

    def clock(self):
        return self.now

    def sleep(self, seconds):
        self.slept += seconds
        self.now += seconds

    def list_tasks(self, filters=None, sorters=None, page_size=250, max_results=None, count=False, deadline=None,
                   path=None):
        self.calls.append((None if filters is None else filters.render(), sorters, path))
        if path is not None:
            return []
        return self.batches.pop(0) if self.batches else []


def record(task_id, created, name="Cloud Account Aggregation", source="src"):
    return {"id": task_id, "uniqueName": name, "created": created, "completionStatus": None,
            "target": {"id": source, "type": "APPLICATION", "name": "S [source]"}}


SINCE = 1764624000.0  # 2025-12-01T21:20:00Z


@pytest.mark.parametrize("created", ["2025-12-01T21:20:05.000Z", int((SINCE + 5) * 1000)],
                         ids=["iso", "epoch-ms"])
def test_find_started_reads_iso_and_epoch_milliseconds(created):
    client = FakeClient([[record("new", created), record("old", "2025-12-01T20:00:00Z"),
                          record("groups", created, name="Cloud Group Aggregation")]])
    found = aggregation.find_started(client, plan(source_id=["src"]), "src", SINCE, set(), deadline=100)
    assert found["id"] == "new"
    assert client.calls == [('sourceId eq "src"', "-created", None)]


def test_find_started_leaves_out_known_tasks_and_retries_then_gives_up():
    client = FakeClient([[record("running", "2025-12-01T21:30:00Z")], [], []])
    found = aggregation.find_started(client, plan(source_id=["src"]), "src", SINCE, {"running"}, deadline=100)
    assert found is None
    assert len(client.calls) == aggregation.LOOKUP_TRIES and client.slept == 2 * aggregation.LOOKUP_PAUSE


def test_find_started_stops_at_the_deadline():
    client = FakeClient([[], [], []])
    assert aggregation.find_started(client, plan(source_id=["src"]), "src", SINCE, set(), deadline=1) is None
    assert len(client.calls) == 1 and client.slept == 0


def test_find_started_reads_pending_tasks_where_the_list_holds_finished_ones_only():
    client = FakeClient([[]], version="beta")
    aggregation.find_started(client, plan(source_id=["src"]), "src", SINCE, set(), deadline=1)
    assert client.calls[-1][2] == "/beta/task-status/pending-tasks"


def test_find_running_uses_isnull_and_never_type():
    client = FakeClient([[record("r1", "2025-12-01T21:30:00Z", source="a"),
                          record("g1", "2025-12-01T21:30:00Z", source="a", name="Cloud Group Aggregation"),
                          dict(record("done", "2025-12-01T21:30:00Z", source="b"), completionStatus="SUCCESS")]])
    running = aggregation.find_running(client, plan(source_id=["a", "b"]), ["a", "b"], deadline=10)
    assert [r["id"] for r in running["a"]] == ["r1"] and running["b"] == []
    assert client.calls == [('sourceId in ("a","b") and completionStatus isnull', None, None)]


def test_find_running_reads_pending_tasks_on_beta_and_v2024():
    for version in ("beta", "v2024"):
        client = FakeClient([], version=version)
        aggregation.find_running(client, plan(source_id=["a"]), ["a"], deadline=10)
        assert client.calls == [(None, None, "/%s/task-status/pending-tasks" % version)]


def test_source_of_a_record_falls_back_to_app_id():
    assert aggregation.source_id_of({"target": None, "attributes": {"appId": "x"}}) == "x"
    assert aggregation.source_id_of({"target": {"id": "y"}, "attributes": {"appId": "x"}}) == "y"
    assert aggregation.source_id_of({}) is None
