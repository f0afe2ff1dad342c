# -*- coding: utf-8 -*-
# Copyright: identitynow.tasks contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Unit tests of task_query: option logic, client-side filters, summary and the wait loop (fake client, fake clock)."""

from __future__ import annotations

import calendar

import pytest

from ansible_collections.identitynow.tasks.plugins.module_utils import durations, task_record
from ansible_collections.identitynow.tasks.plugins.module_utils import task_query as tq
from ansible_collections.identitynow.tasks.plugins.module_utils.errors import IscError
from ansible_collections.identitynow.tasks.plugins.modules import task_status_info
from ansible_collections.identitynow.tasks.tests.unit.plugins.modules.module_params import SpecError, module_params

NOW = calendar.timegm((2025, 1, 31, 12, 0, 0, 0, 0, 0))


def query(**options):
    """The Query of task_status_info for options, with the module's real argument spec and defaults."""
    return tq.build_query(module_params(task_status_info, **options), now=NOW)


def error_of(**options):
    with pytest.raises((IscError, SpecError)) as info:
        query(**options)
    return str(info.value)


def record(task_id, status=None, completed=None, created="2025-01-31T10:00:00.000Z", **extra):
    rec = {"id": task_id, "uniqueName": "Cloud Account Aggregation", "created": created, "launched": created,
           "completed": completed, "completionStatus": status, "progress": "Working", "percentComplete": 40,
           "messages": [], "taskDefinitionSummary": {"uniqueName": "Cloud Account Aggregation"}}
    if status and completed is None:
        rec["completed"] = "2025-01-31T11:00:00.000Z"
    rec.update(extra)
    return rec


class FakeClock:
    def __init__(self):
        self.now = 1000.0
        self.sleeps = []

    def clock(self):
        return self.now

    def sleep(self, seconds):
        self.sleeps.append(seconds)
        self.now += seconds


class FakePages:
    def __init__(self, records, page_size, total, calls):
        self.records = records
        self.page_size = page_size
        self.total = None
        self._total = total
        self.duplicates = 0
        self.calls = calls

    def __iter__(self):
        for start in range(0, max(1, len(self.records)), self.page_size):
            self.calls.append(("list", start))
            self.total = self._total
            page = self.records[start:start + self.page_size]
            yield from page
            if len(page) < self.page_size:
                return


class FakeClient:
    """Answers from a script: states[i] is the {id: record} map of the i-th by-ids read."""

    def __init__(self, states=None, listed=None, fake_clock=None, total=None):
        self.states = list(states or [])
        self.listed = listed or []
        self.total = total
        self.calls = []
        self.deadlines = []
        self.fake = fake_clock or FakeClock()
        self.clock = self.fake.clock
        self.sleep = self.fake.sleep
        self.list_args = None
        self.api_version = "v2026"

    def get_tasks_by_ids(self, ids, deadline=None):
        self.calls.append(("by_ids", tuple(ids)))
        self.deadlines.append(deadline)
        state = self.states.pop(0) if len(self.states) > 1 else self.states[0]
        return dict((i, state[i]) for i in ids if i in state)

    def get_task(self, task_id, deadline=None):
        self.calls.append(("get", task_id))
        state = self.states.pop(0) if len(self.states) > 1 else self.states[0]
        if task_id not in state:
            raise IscError("ISC answered 404 Not Found", status=404)
        return state[task_id]

    def list_tasks(self, **kwargs):
        self.list_args = kwargs
        total = self.total if self.total is not None else len(self.listed)
        return FakePages(self.listed, kwargs["page_size"], total, self.calls)


# -- option validation ---------------------------------------------------------------------------

class TestValidation:
    def test_defaults(self):
        q = query()
        assert q.server_filter is None and q.page_size == 250 and q.max_results == 10000
        assert not q.by_id and not q.client_side and not q.wait.wait

    @pytest.mark.parametrize("option", ["source_ids", "completion_status", "types", "launchers", "unique_names"])
    def test_id_with_filter(self, option):
        msg = error_of(id="abc", **{option: ["SUCCESS"]})
        assert "id selects tasks by id and cannot be combined with %s" % option in msg
        assert "source_ids, completion_status, pending" in msg

    def test_ids_with_pending_and_raw_filter(self):
        msg = error_of(ids=["a"], pending=True, filters='id eq "a"')
        assert msg.startswith("ids selects tasks by id and cannot be combined with pending, filters")

    def test_ids_with_count_and_sorters(self):
        assert "sorters, count" in error_of(ids=["a"], sorters="created", count=True)

    def test_empty_filter_lists_do_not_conflict_with_ids(self):
        assert query(ids=["a"], source_ids=[], count=False).ids == ["a"]

    def test_id_and_ids(self):
        assert "parameters are mutually exclusive: id|ids" in error_of(id="a", ids=["b"])

    def test_empty_id(self):
        assert "id must be a non-empty" in error_of(id="  ")
        assert "ids must not contain empty values" in error_of(ids=["a", ""])

    def test_ids_deduplicated(self):
        assert query(ids=["a", "b", "a"]).ids == ["a", "b"]

    @pytest.mark.parametrize("size", [0, -1, 251])
    def test_page_size_bounds(self, size):
        assert "page_size must be between 1 and 250, got %d" % size in error_of(page_size=size)

    def test_max_results(self):
        assert "max_results must be 0 (no cap) or more, got -5" in error_of(max_results=-5)
        assert query(max_results=0).max_results == 0

    @pytest.mark.parametrize("name", ["wait_timeout", "wait_sleep", "wait_sleep_max"])
    @pytest.mark.parametrize("value", [0, -3])
    def test_wait_numbers(self, name, value):
        assert "%s must be a number of seconds greater than 0" % name in error_of(**{name: value})

    @pytest.mark.parametrize("value,seconds", [(90, 90), ("90", 90), ("90s", 90), ("30m", 1800), ("1h30m", 5400),
                                               (2.5, 2.5), ("6h", 21600)])
    def test_wait_durations(self, value, seconds):
        q = query(wait=True, wait_timeout=value, wait_sleep=value, wait_sleep_max=value)
        assert q.wait.timeout == q.wait.sleep == q.wait.sleep_max == seconds

    def test_wait_sleep_max_not_below_wait_sleep(self):
        q = query(wait_sleep=40, wait_sleep_max=10)
        assert q.wait.sleep_max == 40

    def test_shipped_wait_defaults(self):
        q = query(wait=True)
        assert (q.wait.timeout, q.wait.sleep, q.wait.sleep_max) == (600, 5, 30)

    @pytest.mark.parametrize("wait,given,expected", [(True, None, True), (False, None, False), (True, False, False),
                                                     (False, True, True)])
    def test_fail_on_missing_follows_wait(self, wait, given, expected):
        options = dict(wait=wait) if given is None else dict(wait=wait, fail_on_missing=given)
        assert query(**options).wait.fail_on_missing is expected


class TestStatuses:
    def test_any_case_and_alias(self):
        q = query(completion_status=["success", "Error", "temp_error", "SUCCESS"])
        assert str(q.server_filter) == 'completionStatus in ("SUCCESS","ERROR","TEMPERROR")'

    def test_unknown_status_names_option_and_values(self):
        msg = error_of(completion_status=["DONE"])
        assert msg.startswith("completion_status: unknown completion status 'DONE'")
        assert "SUCCESS, WARNING, ERROR, TERMINATED, TEMPERROR" in msg

    def test_fail_on_status_validated(self):
        assert "fail_on_status: unknown completion status 'FAILED'" in error_of(fail_on_status=["FAILED"])
        assert query(fail_on_status=["error", "terminated", "temp_error"]).wait.fail_on_status == \
            ["ERROR", "TERMINATED", "TEMPERROR"]

    def test_status_with_pending_contradicts(self):
        assert "contradict" in error_of(completion_status=["SUCCESS"], pending=True)


class TestServerFilters:
    def test_combined(self):
        q = query(source_ids=["s1", "s2"], pending=True, types=["cloud_account_aggregation"], launchers=["me"])
        assert str(q.server_filter) == ('sourceId in ("s1","s2") and type eq "CLOUD_ACCOUNT_AGGREGATION" and '
                                        'launcher eq "me" and completionStatus isnull')

    def test_pending_false_selects_finished(self):
        assert str(query(pending=False).server_filter) == \
            'completionStatus in ("SUCCESS","WARNING","ERROR","TERMINATED","TEMPERROR")'

    @pytest.mark.parametrize("version", ["v2025", "v2024", "beta"])
    def test_launchers_unsupported(self, version):
        msg = error_of(api_version=version, launchers=["me"])
        assert msg.startswith("launchers: filter field 'launcher' is not supported by api_version %s" % version)
        assert "supported fields: completionStatus, id, sourceId, type" in msg

    @pytest.mark.parametrize("version", ["v2026", "v1"])
    def test_launchers_supported(self, version):
        assert str(query(api_version=version, launchers=["me"]).server_filter) == 'launcher eq "me"'

    def test_type_value_not_in_v2025(self):
        msg = error_of(api_version="v2025", types=["IDENTITY_REFRESH"])
        assert msg.startswith("types: type filter value(s) IDENTITY_REFRESH not accepted by api_version v2025")
        assert "CLOUD_ACCOUNT_AGGREGATION" in msg

    def test_unknown_type(self):
        assert "types: type filter value(s) QUARTZ not accepted" in error_of(types=["QUARTZ"])

    @pytest.mark.parametrize("version", ["v2026", "v1", "v2025"])
    def test_pending_uses_isnull(self, version):
        q = query(api_version=version, pending=True)
        assert str(q.server_filter) == "completionStatus isnull" and q.path is None

    @pytest.mark.parametrize("version,path", [("v2024", "/v2024/task-status/pending-tasks"),
                                              ("beta", "/beta/task-status/pending-tasks")])
    def test_pending_on_finished_only_versions(self, version, path):
        q = query(api_version=version, pending=True, unique_names=["Cloud Account Aggregation"])
        assert q.path == path and q.server_filter is None

    def test_pending_on_v2024_rejects_server_filters(self):
        msg = error_of(api_version="v2024", pending=True, source_ids=["s"], sorters="-created")
        assert msg.startswith("pending: api_version v2024 lists pending tasks only through its deprecated")
        assert "remove source_ids, sorters" in msg and "v2025, v2026 or v1" in msg

    def test_raw_filter(self):
        q = query(filters=' type eq "X" ')
        assert q.server_filter == 'type eq "X"'

    def test_raw_filter_not_combined(self):
        msg = error_of(filters='type eq "X"', source_ids=["s"])
        assert "filters (a raw filter string) cannot be combined with source_ids" in msg

    def test_empty_raw_filter(self):
        assert "filters must not be empty" in error_of(filters="  ")

    def test_sorters(self):
        assert query(sorters="-created").sorters == "-created"
        assert "value of sorters must be one of: created, -created, got: name" in error_of(sorters="name")

    def test_quoting(self):
        q = query(source_ids=['a"b'])
        assert str(q.server_filter) == 'sourceId eq "a\\"b"'


class TestTimes:
    @pytest.mark.parametrize("text,seconds", [("90", 90), ("90s", 90), ("30m", 1800), ("6h", 21600), ("2d", 172800),
                                              ("1w", 604800), ("1h30m", 5400), ("1.5h", 5400), (" 2D ", 172800)])
    def test_durations(self, text, seconds):
        assert durations.parse_duration(text, "older_than") == seconds

    @pytest.mark.parametrize("text", ["", "6x", "h6", "-1h", "6 hours", "inf", "nan"])
    def test_bad_durations(self, text):
        with pytest.raises(IscError) as info:
            durations.parse_duration(text, "older_than")
        assert str(info.value).startswith("older_than must be a duration of 0 or more")
        assert "s, m, h, d, w" in str(info.value)

    @pytest.mark.parametrize("text,expected", [
        ("2025-01-31T12:00:00Z", NOW), ("2025-01-31T12:00:00.500Z", NOW + 0.5), ("2025-01-31 12:00:00+00:00", NOW),
        ("2025-01-31T14:00:00+02:00", NOW), ("2025-01-31T07:00:00-0500", NOW), ("2025-01-31T12:00", NOW),
        ("2025-01-31", NOW - 43200), ("2025-01-31T12:00:00.470000+00:00", NOW + 0.47)])
    def test_datetimes(self, text, expected):
        assert task_record.epoch_of(text) == pytest.approx(expected)

    @pytest.mark.parametrize("text", ["yesterday", "2025-13-01", "2025-01-31T25:00:00Z", None])
    def test_bad_datetimes(self, text):
        assert task_record.epoch_of(text) is None

    def test_bounds(self):
        q = query(created_after="6h", older_than="30m")
        assert q.created_after == NOW - 21600 and q.created_before == NOW - 1800
        q = query(created_after="2025-01-31", created_before="2025-02-01T00:00:00Z")
        assert q.created_after == NOW - 43200 and q.created_before == NOW + 43200

    def test_bad_bound(self):
        msg = error_of(created_after="last week")
        assert msg.startswith("created_after must be an ISO 8601 date-time") and "30m, 6h, 2d" in msg

    def test_before_and_older_than_exclusive(self):
        assert "parameters are mutually exclusive: created_before|older_than" in \
            error_of(created_before="1h", older_than="2h")

    def test_empty_window(self):
        assert "created_after (2025-01-31T12:00:00Z) must be earlier" in \
            error_of(created_after="2025-01-31T12:00:00Z", older_than="1h")

    def test_matches(self):
        q = query(created_after="3h", older_than="1h", unique_names=["cloud account aggregation"])
        assert q.matches(record("a", created="2025-01-31T10:00:00Z"))
        assert not q.matches(record("b", created="2025-01-31T08:00:00Z"))
        assert not q.matches(record("c", created="2025-01-31T11:30:00Z"))
        assert not q.matches(record("d", created=None))
        other = record("e", uniqueName="Identity Refresh", taskDefinitionSummary={"uniqueName": "Identity Refresh"})
        assert not q.matches(other)
        by_summary = record("f", uniqueName="something else")
        assert q.matches(by_summary)


class TestFields:
    def test_projection_keeps_id(self):
        q = query(fields=["progress", "completionStatus"])
        assert tq.project(record("a"), q.fields) == {"id": "a", "progress": "Working", "completionStatus": None}

    def test_unknown_field(self):
        msg = error_of(fields=["id", "status"])
        assert msg.startswith("fields: unknown field(s) status; accepted")
        assert "percentComplete" in msg


# -- reading ---------------------------------------------------------------------------------------

class TestRead:
    def test_single_id_missing(self):
        client = FakeClient(states=[{}])
        out = tq.run(client, query(id="nope"))
        assert out.result["missing"] == ["nope"] and out.result["task_statuses"] == []
        assert out.failure is None and "Tasks older than 90 days" in out.warnings[0]

    def test_single_id_missing_fails_when_asked(self):
        out = tq.run(FakeClient(states=[{}]), query(id="nope", fail_on_missing=True))
        assert "fail_on_missing is true" in out.failure["msg"] and out.failure["missing"] == ["nope"]

    def test_other_errors_propagate(self):
        class Broken(FakeClient):
            def get_task(self, task_id, deadline=None):
                raise IscError("boom", status=500)
        with pytest.raises(IscError):
            tq.run(Broken(states=[{}]), query(id="x"))

    def test_ids_keep_order(self):
        state = {"a": record("a", "SUCCESS"), "b": record("b")}
        out = tq.run(FakeClient(states=[state]), query(ids=["b", "x", "a"]))
        assert [r["id"] for r in out.result["task_statuses"]] == ["b", "a"]
        assert out.result["missing"] == ["x"] and "truncated" not in out.result

    def test_empty_ids_no_request(self):
        client = FakeClient(states=[{}])
        out = tq.run(client, query(ids=[], wait=True))
        assert client.calls == [] and out.result["task_statuses"] == [] and out.result["polls"] == 0
        assert out.failure is None and "ids is empty" in out.warnings[0]
        assert tq.run(FakeClient(states=[{}]), query(ids=[])).warnings == []

    def test_list_stops_at_total_without_an_empty_page(self):
        listed = [record("t%d" % i, "SUCCESS") for i in range(500)]
        client = FakeClient(listed=listed)
        out = tq.run(client, query(page_size=250, max_results=0))
        assert len(out.result["task_statuses"]) == 500
        assert client.calls == [("list", 0), ("list", 250)]
        assert client.list_args["count"] is True and "total" not in out.result
        assert out.result["truncated"] is False

    def test_count_returned(self):
        client = FakeClient(listed=[record("a")], total=1)
        assert tq.run(client, query(count=True)).result["total"] == 1

    def test_max_results_caps_server_side(self):
        listed = [record("t%d" % i) for i in range(30)]
        client = FakeClient(listed=listed, total=30)
        out = tq.run(client, query(max_results=10, page_size=250))
        assert client.list_args["page_size"] == 10 and client.list_args["max_results"] == 10
        assert out.result["truncated"] is True and "stopped at max_results=10" in out.warnings[0]
        assert "(ISC counts 30)" in out.warnings[0]

    def test_max_results_equal_total_not_truncated(self):
        client = FakeClient(listed=[record("t%d" % i) for i in range(10)], total=10)
        out = tq.run(client, query(max_results=10))
        assert out.result["truncated"] is False and out.warnings == []

    def test_client_side_filters_cap_after_filtering(self):
        listed = [record("t%d" % i, created="2025-01-31T%02d:00:00Z" % (i % 12)) for i in range(40)]
        client = FakeClient(listed=listed)
        out = tq.run(client, query(older_than="6h", max_results=5, page_size=10))
        assert client.list_args["max_results"] is None and client.list_args["page_size"] == 10
        assert [r["id"] for r in out.result["task_statuses"]] == ["t0", "t1", "t2", "t3", "t4"]
        assert out.result["truncated"] is True

    def test_the_clients_version_decides(self):
        client = FakeClient(listed=[])
        client.api_version = "beta"
        tq.run(client, query(api_version="v2026", pending=True))
        assert client.list_args["path"] == "/beta/task-status/pending-tasks"
        client.api_version = "v2025"
        with pytest.raises(IscError, match="launchers: filter field 'launcher' is not supported by api_version v2025"):
            tq.run(client, query(launchers=["me"]))

    def test_pending_path_passed(self):
        client = FakeClient(listed=[])
        client.api_version = "beta"
        tq.run(client, query(api_version="beta", pending=True))
        assert client.list_args["path"] == "/beta/task-status/pending-tasks"
        assert client.list_args["filters"] is None


# -- summary ---------------------------------------------------------------------------------------

class TestSummary:
    def test_counts_and_oldest(self):
        records = [record("a", "SUCCESS"), record("b", "error"), record("c", created="2025-01-31T11:00:00Z"),
                   record("d", created="2025-01-31T09:00:00Z"),
                   record("e", completed="2025-01-31T11:59:00Z")]  # completed, status not yet set
        summary = tq.summarize(records, now=NOW)
        assert summary["count"] == 5 and summary["finished"] == 2 and summary["pending"] == 3
        assert summary["by_status"] == {"SUCCESS": 1, "WARNING": 0, "ERROR": 1, "TERMINATED": 0, "TEMPERROR": 0}
        assert summary["oldest_pending"]["id"] == "d" and summary["oldest_pending"]["age_seconds"] == 10800

    def test_empty(self):
        summary = tq.summarize([], now=NOW)
        assert summary["count"] == 0 and summary["oldest_pending"] is None


# -- waiting ---------------------------------------------------------------------------------------

def running_then(ids, finished_after, status="SUCCESS"):
    """States for a by-ids script: every id runs for finished_after reads, then has status."""
    states = [dict((i, record(i)) for i in ids) for dummy in range(finished_after)]
    states.append(dict((i, record(i, status)) for i in ids))
    return states


class TestWait:
    def test_success_with_backoff(self):
        client = FakeClient(states=running_then(["a", "b"], 4))
        out = tq.run(client, query(ids=["a", "b"], wait=True, wait_sleep=2, wait_sleep_max=4, wait_timeout=100))
        assert out.failure is None
        assert out.result["polls"] == 4 and out.result["timed_out"] is False
        assert client.fake.sleeps == [2, 3, 4, 4]
        assert out.result["elapsed"] == 13
        assert [c[0] for c in client.calls] == ["by_ids"] * 5
        assert all(d == 1100.0 for d in client.deadlines)  # deadline = start + wait_timeout

    def test_poll_only_running_tasks(self):
        first = {"a": record("a", "SUCCESS"), "b": record("b"), "c": record("c")}
        second = {"a": record("a", "SUCCESS"), "b": record("b", "SUCCESS"), "c": record("c")}
        third = {"c": record("c", "WARNING")}
        client = FakeClient(states=[first, second, third])
        out = tq.run(client, query(ids=["a", "b", "c"], wait=True, wait_sleep=1))
        assert client.calls == [("by_ids", ("a", "b", "c")), ("by_ids", ("b", "c")), ("by_ids", ("c",))]
        assert out.result["summary"]["by_status"]["WARNING"] == 1 and out.failure is None

    def test_two_step_completion_is_not_finished(self):
        racing = {"a": record("a", completed="2025-01-31T11:59:00Z")}
        client = FakeClient(states=[racing, racing, {"a": record("a", "SUCCESS")}])
        out = tq.run(client, query(id="a", wait=True, wait_sleep=1))
        assert out.result["polls"] == 2 and out.result["task_statuses"][0]["completionStatus"] == "SUCCESS"

    def test_timeout_reports_progress(self):
        client = FakeClient(states=[{"a": record("a", progress="Aggregating accounts: 5 of 10", percentComplete=50),
                                     "b": record("b", "SUCCESS")}])
        out = tq.run(client, query(ids=["a", "b"], wait=True, wait_timeout=10, wait_sleep=3))
        assert out.result["timed_out"] is True and out.failure["timed_out"] is True
        assert client.fake.sleeps == [3, 4.5, 1.5]  # the last poll goes out 1 s before the deadline
        msg = out.failure["msg"]
        assert msg.startswith("timed out after 9.0 s (wait_timeout 10 s) with 1 of 2 task(s) unfinished")
        assert "a (Cloud Account Aggregation): progress 'Aggregating accounts: 5 of 10', 50%" in msg
        assert out.failure["unfinished"][0]["percentComplete"] == 50
        assert out.failure["elapsed"] == 9 and out.failure["polls"] == 3

    def test_timeout_mentions_race(self):
        racing = {"a": record("a", completed="2025-01-31T11:59:00Z")}
        out = tq.run(FakeClient(states=[racing]), query(id="a", wait=True, wait_timeout=1, wait_sleep=1))
        assert "completion status not yet set" in out.failure["msg"]

    def test_fail_on_status_stops_the_wait(self):
        failed = record("a", "ERROR", messages=[{"type": "ERROR", "key": "k",
                                                 "localizedText": {"locale": "en-US", "message": "connect timed out"}}])
        states = [{"a": record("a"), "b": record("b")}, {"a": failed, "b": record("b")}]
        client = FakeClient(states=states)
        out = tq.run(client, query(ids=["a", "b"], wait=True, wait_sleep=1, fail_on_status=["error"]))
        assert out.result["polls"] == 1
        assert out.failure["msg"].startswith("1 task(s) ended with a status listed in fail_on_status (ERROR): "
                                             "a (Cloud Account Aggregation) ended with ERROR: ERROR: connect timed out")
        assert out.failure["failed_tasks"][0]["messages"] == ["ERROR: connect timed out"]
        assert out.failure["timed_out"] is False

    def test_fail_on_status_without_wait(self):
        out = tq.run(FakeClient(states=[{"a": record("a", "TERMINATED")}]), query(id="a", fail_on_status=["TERMINATED"]))
        assert "ended with TERMINATED" in out.failure["msg"]

    def test_other_statuses_end_the_wait_successfully(self):
        out = tq.run(FakeClient(states=[{"a": record("a", "TEMPERROR")}]),
                     query(id="a", wait=True, fail_on_status=["ERROR"]))
        assert out.failure is None and out.result["polls"] == 0

    def test_disappeared_task(self):
        states = [{"a": record("a"), "b": record("b")}, {"b": record("b", "SUCCESS")}]
        out = tq.run(FakeClient(states=states), query(ids=["a", "b"], wait=True, wait_sleep=1, fail_on_missing=False))
        assert out.failure is None and out.result["missing"] == ["a"]
        assert [r["id"] for r in out.result["task_statuses"]] == ["b"]
        assert any("task a (Cloud Account Aggregation) disappeared while waiting" in w for w in out.warnings)

    def test_disappeared_task_fails_when_asked(self):
        states = [{"a": record("a")}, {}]
        out = tq.run(FakeClient(states=states), query(ids=["a"], wait=True, wait_sleep=1, fail_on_missing=True))
        assert "did not return 1 task(s)" in out.failure["msg"]

    def test_missing_task_fails_a_wait_by_default(self):
        out = tq.run(FakeClient(states=[{"a": record("a", "SUCCESS")}]), query(ids=["a", "typo"], wait=True))
        assert "did not return 1 task(s) (fail_on_missing is true, the default with wait: true): typo" in \
            out.failure["msg"]
        assert out.failure["missing"] == ["typo"] and out.result["task_statuses"][0]["id"] == "a"

    def test_wait_on_list_query(self):
        listed = [record("a"), record("b", "SUCCESS")]
        client = FakeClient(listed=listed, states=[{"a": record("a", "SUCCESS")}])
        out = tq.run(client, query(pending=None, wait=True, wait_sleep=1, fields=["completionStatus"]))
        assert client.calls[-1] == ("by_ids", ("a",))
        assert out.result["task_statuses"] == [{"id": "a", "completionStatus": "SUCCESS"},
                                               {"id": "b", "completionStatus": "SUCCESS"}]

    def test_nothing_selected_returns_at_once(self):
        client = FakeClient(listed=[])
        out = tq.run(client, query(pending=True, wait=True))
        assert out.result["polls"] == 0 and client.fake.sleeps == [] and out.failure is None

    def test_error_while_waiting(self):
        class Flaky(FakeClient):
            def get_tasks_by_ids(self, ids, deadline=None):
                if self.calls:
                    raise IscError("ISC answered 503 Service Unavailable", status=503)
                return FakeClient.get_tasks_by_ids(self, ids, deadline)
        out = tq.run(Flaky(states=[{"a": record("a")}]), query(id="a", wait=True, wait_sleep=1))
        assert out.failure["msg"].startswith("while waiting for tasks: ISC answered 503")
        assert out.failure["status"] == 503 and out.failure["task_statuses"][0]["id"] == "a"
