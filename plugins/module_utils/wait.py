# -*- coding: utf-8 -*-
# Copyright: identitynow.tasks contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Waiting for tasks: the wait options shared by the modules that wait, and the poll loop.

The matching documentation is the doc fragment identitynow.tasks.wait. ``wait_options(params)``
turns the options into WaitOptions (bad input raises IscError naming the option); ``wait_for()``
polls until every task is finished. A module that waits for task ids calls
``task_query.wait_for_tasks(client, ids, params)``, which reads, waits and builds the result.
"""

from __future__ import annotations

from ansible_collections.identitynow.tasks.plugins.module_utils import task_record
from ansible_collections.identitynow.tasks.plugins.module_utils.durations import parse_duration
from ansible_collections.identitynow.tasks.plugins.module_utils.errors import IscError

# Each poll round waits this many times longer than the one before, up to wait_sleep_max.
BACKOFF_FACTOR = 1.5
# The last poll is sent this long before the deadline (at most a tenth of wait_timeout), so that it can
# be answered in time: the client sends nothing once the deadline has passed.
POLL_RESERVE = 1.0


def wait_argument_spec():
    """A fresh argument spec of the wait options (the defaults live here, and only here)."""
    return dict(
        wait=dict(type="bool", default=False),
        wait_timeout=dict(type="raw", default=600),
        wait_sleep=dict(type="raw", default=5),
        wait_sleep_max=dict(type="raw", default=30),
        fail_on_status=dict(type="list", elements="str"),
        # None: true when wait is true, false otherwise (a gate fails closed on an id ISC does not know).
        fail_on_missing=dict(type="bool"),
    )


class WaitOptions:
    """The validated wait options; the durations in seconds."""

    def __init__(self, wait, timeout, sleep, sleep_max, fail_on_status, fail_on_missing):
        self.wait = wait
        self.timeout = timeout
        self.sleep = sleep
        self.sleep_max = sleep_max if sleep is None or sleep_max is None else max(sleep_max, sleep)
        self.fail_on_status = fail_on_status
        self.fail_on_missing = fail_on_missing
        # True when fail_on_missing was not set and follows wait.
        self.missing_by_default = False


def wait_options(params):
    """WaitOptions from module params (those of wait_argument_spec()); IscError naming the option on bad input.

    The durations are checked even when wait is false: a wrong value is a mistake either way. A
    library caller that leaves a duration out (None) must not ask for a wait.
    """
    wait = bool(params.get("wait"))
    seconds = {}
    for name in ("wait_timeout", "wait_sleep", "wait_sleep_max"):
        value = params.get(name)
        if value is None and wait:
            raise IscError("%s is required when wait is true" % name)
        seconds[name] = None if value is None else parse_duration(value, name, positive=True)
    fail_on_missing = params.get("fail_on_missing")
    options = WaitOptions(
        wait=wait, timeout=seconds["wait_timeout"], sleep=seconds["wait_sleep"], sleep_max=seconds["wait_sleep_max"],
        fail_on_status=task_record.normalize_statuses(params.get("fail_on_status"), "fail_on_status"),
        fail_on_missing=wait if fail_on_missing is None else bool(fail_on_missing))
    options.missing_by_default = fail_on_missing is None and wait
    return options


class WaitState:
    """Progress of a wait, reported in the result."""

    def __init__(self):
        self.polls = 0
        self.timed_out = False
        self.elapsed = 0.0
        self.disappeared = []


def failed_tasks(records, statuses):
    """The finished records whose completion status is one of statuses."""
    return [r for r in records if task_record.is_finished(r) and task_record.status_of(r) in statuses]


def wait_for(client, records, options, start, deadline, clock, sleep, state=None):
    """Poll the unfinished tasks of records until all are finished, one fails, or the deadline passes.

    One poll round is one client.get_tasks_by_ids call for the tasks still running: one list request
    per 50 ids. The last round is sent up to POLL_RESERVE before the deadline, so that the wait ends
    by it. The entries of records (a list) are replaced by the newest ones as they come. Returns a
    WaitState (the one given, updated as the wait goes, so that a caller still has it when the client
    raises IscError).
    """
    state = state or WaitState()
    index = dict((record.get("id"), i) for i, record in enumerate(records))
    interval = options.sleep
    reserve = min(POLL_RESERVE, (deadline - start) / 10.0)
    while True:
        if options.fail_on_status and failed_tasks(records, options.fail_on_status):
            break
        running = [r.get("id") for r in records
                   if not task_record.is_finished(r) and r.get("id") not in state.disappeared]
        if not running:
            break
        # Time left before the last poll must go out (a millisecond or less counts as none).
        left = deadline - reserve - clock()
        if left < 0.001:
            state.timed_out = True
            break
        sleep(min(interval, left))
        interval = min(interval * BACKOFF_FACTOR, options.sleep_max)
        try:
            found = client.get_tasks_by_ids(running, deadline=deadline)
        except IscError:
            if clock() < deadline:
                raise
            # The last poll did not make it before the deadline: the wait timed out.
            state.timed_out = True
            break
        state.polls += 1
        for task_id in running:
            if task_id in found:
                records[index[task_id]] = found[task_id]
            else:
                state.disappeared.append(task_id)
    state.elapsed = clock() - start
    return state
