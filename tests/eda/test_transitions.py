# -*- coding: utf-8 -*-
# Copyright: identitynow.tasks contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The transition logic of the event source, without a server: Tracker, apply_poll and Poller on a fake tenant.

The fake tenant (FakeTenant) answers the three reads of a poll from a list of task lifecycles, with its clock
moving on at every request, so that tasks start and finish between the reads of one poll as they do in ISC.
"""

from __future__ import annotations

import collections
import json
from datetime import datetime, timezone

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

BASE = 1_800_000_000.0  # an epoch in 2027; the fake tenant's times are BASE + seconds


def iso(seconds):
    moment = datetime.fromtimestamp(BASE + seconds, timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + "%03dZ" % (moment.microsecond // 1000)


def record(task_id, created, completed=None, status=None, name="Cloud Account Aggregation", source=("s1", "AD")):
    return {"id": task_id, "uniqueName": name, "created": iso(created), "launched": iso(created),
            "completed": None if completed is None else iso(completed), "completionStatus": status,
            "target": {"id": source[0], "type": "APPLICATION", "name": source[1]}, "messages": []}


class FakeTenant:
    """Tasks as (id, created, completed, status_at, status): listed from `created`, `completed` set from
    `completed`, `completionStatus` from `status_at` (the race window in between). Each request moves the clock
    by `step` seconds."""

    def __init__(self, tasks, step=0.0):
        self.tasks = tasks
        self.now = 0.0
        self.step = step
        self.stats = collections.Counter()
        self.warnings = []

    def _record(self, task):
        task_id, created, completed, status_at, status = task
        return record(task_id, created, completed if self.now >= completed else None,
                      status if self.now >= status_at else None)

    def _visible(self):
        return [self._record(t) for t in sorted(self.tasks, key=lambda t: (t[1], t[0])) if t[1] <= self.now]

    def _pages(self, records, page_size):
        for start in range(0, max(1, len(records)), page_size):
            self.stats["requests"] += 1
            page = records[start:start + page_size]
            self.now += self.step
            yield from page
            if len(page) < page_size:
                return

    def list_tasks(self, filters=None, sorters=None, page_size=250, path=None, **kwargs):
        records = self._visible()
        if filters is not None and "isnull" in str(filters):
            records = [r for r in records if not r["completionStatus"]]
        if sorters == "-created":
            records.reverse()
        return self._pages(records, page_size)

    def get_tasks_by_ids(self, task_ids):
        found = {}
        ids = list(task_ids)
        for start in range(0, len(ids), 50):
            self.stats["requests"] += 1
            visible = dict((r["id"], r) for r in self._visible())
            found.update((i, visible[i]) for i in ids[start:start + 50] if i in visible)
            self.now += self.step
        return found


def make(module, **options):
    args = dict(base_url="http://127.0.0.1:9", access_token="t0ken-for-tests", interval=5)
    args.update(options)
    config = module.Config(args, environ={}, now=BASE)
    return config, module.Tracker(config.since)


def poll(module, config, tracker, tenant):
    """(transition, task id) of one poll's events, and the requests it sent."""
    before = tenant.stats["requests"]
    events = module.apply_poll(config, tracker, module.Poller(config, tenant).fetch(tracker))
    return [(e["transition"], e["task_id"]) for e in events], tenant.stats["requests"] - before


# -- Tracker ---------------------------------------------------------------------------------------

def test_started_then_finished_once_each(plugin_module):
    tracker = plugin_module.Tracker(since=BASE - 10)
    tracker.primed = True
    assert tracker.observe(record("a", 0)) == ["started"]
    assert tracker.observe(record("a", 0)) == []
    assert tracker.observe(record("a", 0, completed=30, status="ERROR")) == ["finished"]
    assert tracker.observe(record("a", 0, completed=30, status="ERROR")) == []
    assert tracker.observe(record("a", 0)) == [], "a stale record must not start the task again"


def test_finished_needs_completed_and_completion_status(plugin_module):
    tracker = plugin_module.Tracker(since=BASE - 10)
    assert tracker.observe(record("a", 0, completed=30)) == ["started"], "completed alone is the race, not the end"
    assert tracker.observe({"id": "a", "created": iso(0), "completionStatus": "SUCCESS"}) == []
    assert tracker.observe(record("a", 0, completed=30, status="SUCCESS")) == ["finished"]


def test_short_lived_task_emits_both(plugin_module):
    tracker = plugin_module.Tracker(since=None)
    tracker.primed = True
    assert tracker.observe(record("a", 0, completed=1, status="SUCCESS")) == ["started", "finished"]


def test_start_now_takes_the_first_poll_as_baseline(plugin_module):
    tracker = plugin_module.Tracker(since=None)
    assert tracker.observe(record("old", -100, completed=-50, status="SUCCESS")) == []
    assert tracker.observe(record("running", -100)) == []
    tracker.primed = True
    assert tracker.observe(record("running", -100, completed=5, status="ERROR")) == ["finished"]
    assert tracker.observe(record("old", -100, completed=-50, status="SUCCESS")) == []
    assert tracker.observe(record("new", 10)) == ["started"]


def test_look_back_replays_tasks_created_since(plugin_module):
    tracker = plugin_module.Tracker(since=BASE - 3600)
    assert tracker.observe(record("in", -1800, completed=-1700, status="SUCCESS")) == ["started", "finished"]
    assert tracker.observe(record("before", -7200)) == [], "created before the look-back: not started"
    assert tracker.observe(record("before", -7200, completed=1, status="ERROR")) == ["finished"]


@pytest.mark.parametrize("start, since", [
    ("now", None), ("NOW", None), ("90s", BASE - 90), ("1h30m", BASE - 5400), ("2d", BASE - 172800),
    ("2027-01-15T08:00:00Z", datetime(2027, 1, 15, 8, tzinfo=timezone.utc).timestamp()),
    ("2027-01-15", datetime(2027, 1, 15, tzinfo=timezone.utc).timestamp()),
])
def test_start_is_now_a_look_back_or_a_date_time(plugin_module, start, since):
    assert plugin_module.parse_start(start, BASE) == since


@pytest.mark.parametrize("start", ["yesterday", "", "-1h", "1y", "3600"])
def test_a_bad_start_names_what_is_accepted(plugin_module, start):
    with pytest.raises(plugin_module.ConfigurationError, match="start must be 'now', a look-back such as 90s"):
        plugin_module.parse_start(start, BASE)


def test_prune_forgets_only_what_no_read_returns(plugin_module):
    tracker = plugin_module.Tracker(since=None, overlap=100)
    tracker.primed = True
    memory = plugin_module.FINISHED_MEMORY
    tracker.observe(record("old-done", 0, completed=1, status="SUCCESS"), now=BASE)
    tracker.observe(record("old-just-done", 0, completed=1, status="SUCCESS"), now=BASE + memory)
    tracker.observe(record("old-running", 0), now=BASE)
    tracker.observe(record("recent-done", 950, completed=960, status="SUCCESS"), now=BASE)
    tracker.advance(BASE + 1000)
    tracker.prune(now=BASE + memory + 1)
    assert sorted(tracker.tasks) == ["old-just-done", "old-running", "recent-done"]


def test_a_list_that_lags_behind_never_repeats_an_event(plugin_module):
    """A finished task that a (lagging) running list shows again, or that a read by id lost and finds again,
    emits nothing twice: no second start for a task created before the window of the newest tasks."""
    tracker = plugin_module.Tracker(since=None, overlap=100)
    tracker.primed = True
    tracker.advance(BASE + 5000)
    assert tracker.observe(record("a", 4950)) == ["started"]
    assert tracker.observe(record("a", 4950, completed=4990, status="ERROR"), now=BASE) == ["finished"]
    tracker.advance(BASE + 9000)
    tracker.prune(now=BASE + 1)
    assert tracker.observe(record("a", 4950), now=BASE + 2) == [], "a stale running record started it again"
    tracker.observe(record("b", 100))
    for dummy in range(plugin_module.MAX_MISSES):
        tracker.missed("b")
    assert "b" not in tracker.tasks
    assert tracker.observe(record("b", 100)) == [], "found again: its start is long past"
    assert tracker.observe(record("b", 100, completed=9000, status="SUCCESS")) == ["finished"]


def test_a_task_missing_from_reads_by_id_is_given_up_after_three_polls(plugin_module):
    tracker = plugin_module.Tracker(since=None)
    tracker.observe(record("a", 0))
    assert [tracker.missed("a") for dummy in range(3)] == [False, False, True]
    assert "a" not in tracker.tasks
    tracker.observe(record("b", 0))
    tracker.missed("b")
    tracker.observe(record("b", 0))
    assert tracker.tasks["b"][2] == 0, "a read that finds the task again resets the count"


def test_state_round_trip_resumes_without_repeats(plugin_module):
    tracker = plugin_module.Tracker(since=None)
    tracker.primed = True
    tracker.observe(record("a", 0))
    tracker.observe(record("b", 0, completed=2, status="SUCCESS"))
    tracker.advance(BASE)
    state = json.loads(json.dumps(tracker.to_state("http://x v2026")))
    resumed = plugin_module.Tracker(since=None)
    resumed.load_state(state, "http://x v2026", "state.json")
    assert resumed.primed
    assert resumed.observe(record("b", 0, completed=2, status="SUCCESS")) == []
    assert resumed.observe(record("a", 0)) == []
    assert resumed.observe(record("a", 0, completed=9, status="ERROR")) == ["finished"]


@pytest.mark.parametrize("state, why", [
    ({"version": 99, "tenant": "t", "cursor": None, "tasks": {}}, "not a state file of version 1"),
    ({"version": 1, "tenant": "other", "cursor": None, "tasks": {}}, "belongs to 'other'"),
    ({"version": 1, "tenant": "t", "cursor": "soon", "tasks": {}}, "no valid cursor"),
    ({"version": 1, "tenant": "t", "cursor": 1.0, "tasks": {"a": [1.0, "yes", 0, None]}}, "invalid entry for task 'a'"),
    ({"version": 1, "tenant": "t", "cursor": 1.0, "tasks": {"a": [1.0, True, 0]}}, "invalid entry for task 'a'"),
    ([], "not a state file"),
])
def test_a_state_of_another_kind_or_tenant_is_refused(plugin_module, state, why):
    with pytest.raises(plugin_module.ConfigurationError, match="move it away") as info:
        plugin_module.Tracker(None).load_state(state, "t", "/x/state.json")
    assert why in str(info.value)


# -- polls on the fake tenant ---------------------------------------------------------------------

def test_poll_reads_running_gone_and_newest(plugin_module):
    tenant = FakeTenant([("a", -50, 20, 22, "ERROR"), ("b", -40, 1000, 1002, "SUCCESS")])
    config, tracker = make(plugin_module)
    assert poll(plugin_module, config, tracker, tenant) == ([], 2)
    tenant.now = 30
    tenant.tasks.append(("c", 25, 28, 29, "SUCCESS"))
    events, requests = poll(plugin_module, config, tracker, tenant)
    assert events == [("finished", "a"), ("started", "c"), ("finished", "c")]
    assert requests == 3, "running list, a read by id for 'a', the newest tasks"


def test_a_task_in_the_race_window_finishes_one_poll_later(plugin_module):
    tenant = FakeTenant([("a", 1, 10, 15, "ERROR")])
    config, tracker = make(plugin_module, start="1h")
    tenant.now = 12
    assert poll(plugin_module, config, tracker, tenant)[0] == [("started", "a")]
    tenant.now = 14
    assert poll(plugin_module, config, tracker, tenant)[0] == []
    tenant.now = 16
    assert poll(plugin_module, config, tracker, tenant)[0] == [("finished", "a")]


def test_requests_per_poll_are_bounded(plugin_module):
    """260 running tasks (2 pages), 60 of them finish (2 reads by id), 10 new ones: 2 + 2 + 1 requests."""
    tasks = [("r%03d" % i, -100 - i, 50 if i < 60 else 10_000, 51 if i < 60 else 10_001, "SUCCESS")
             for i in range(260)]
    tenant = FakeTenant(tasks)
    config, tracker = make(plugin_module)
    assert poll(plugin_module, config, tracker, tenant)[1] == 2 + 1, "first poll: 2 pages running, 1 page newest"
    tenant.now = 60
    tenant.tasks.extend(("n%d" % i, 55, 10_000, 10_001, "SUCCESS") for i in range(10))
    events, requests = poll(plugin_module, config, tracker, tenant)
    assert requests == 1 + 2 + 1
    assert sorted(events).count(("started", "n0")) == 1 and len(events) == 70


def test_filters_of_the_options(plugin_module):
    """Names, transitions and statuses select the events; new tasks come in creation order."""
    tenant = FakeTenant([])
    config, tracker = make(plugin_module, task_names=["cloud account aggregation"], transitions=["finished"],
                           statuses=["error", "TEMP_ERROR"])
    poll(plugin_module, config, tracker, tenant)
    tenant.now = 100
    tenant.tasks.extend([("tmp", 12, 20, 21, "TEMPERROR"), ("ok", 10, 20, 21, "SUCCESS"), ("bad", 11, 20, 21, "ERROR")])
    assert poll(plugin_module, config, tracker, tenant)[0] == [("finished", "bad"), ("finished", "tmp")]
    assert config.wants(record("x", 0, name="Cloud Account Aggregation"))
    assert not config.wants(record("x", 0, name="Identity Refresh"))


# -- hypothesis: any ordering of starts, finishes, polls and restarts ---------------------------------

# Durations beyond the overlap (120 s), so that finishes are seen through the running list and the reads by id.
lifecycle = st.tuples(st.floats(0, 600), st.floats(0, 600), st.floats(0, 5), st.sampled_from(["SUCCESS", "ERROR"]))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(tasks=st.lists(lifecycle, max_size=25), polls=st.lists(st.floats(0, 1300), min_size=1, max_size=30),
       step=st.sampled_from([0.0, 0.5, 3.0]), restarts=st.sets(st.integers(0, 29), max_size=4),
       keep_state=st.booleans())
def test_every_transition_exactly_once_in_order(plugin_module, tasks, polls, step, restarts, keep_state):
    """Look-back from before every task: each task emits started, then finished, each once, whatever the
    timing of the polls (and of the reads inside a poll), with restarts that keep the state file.
    Restarts without a state (start now) never repeat an event either."""
    specs = [("t%02d" % i, created, created + duration, created + duration + race, status)
             for i, (created, duration, race, status) in enumerate(tasks)]
    tenant = FakeTenant(specs, step=step)
    config, tracker = make(plugin_module, start="10s")
    emitted = []
    for index, moment in enumerate(sorted(polls) + [1400.0]):
        tenant.now = max(tenant.now, moment)
        if index in restarts:
            state = json.loads(json.dumps(tracker.to_state("t")))
            tracker = plugin_module.Tracker(config.since if keep_state else None)
            if keep_state:
                tracker.load_state(state, "t", "state.json")
        emitted.extend(poll(plugin_module, config, tracker, tenant)[0])
    assert len(emitted) == len(set(emitted)), "an event repeated: %s" % emitted
    if keep_state or not restarts:
        expected = sorted([("started", s[0]) for s in specs] + [("finished", s[0]) for s in specs])
        assert sorted(emitted) == expected
        for spec in specs:
            assert emitted.index(("started", spec[0])) < emitted.index(("finished", spec[0]))
