# -*- coding: utf-8 -*-
# Copyright: identitynow.tasks contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Benchmark callback: when each task started and ended, per host, loop item and retry, with a small digest.

Enabled only by the benchmark harness (tests/bench/bench.py), which sets ANSIBLE_CALLBACK_PLUGINS to this
folder, ANSIBLE_CALLBACKS_ENABLED=bench_timer and BENCH_TIMINGS to the JSON file to write at the end of the
run. Times are ``time.time()`` (seconds since the epoch), so that they compare with the simulator clock and
with timestamps taken in other processes. The digest keeps a few scalar result keys and the lengths of the
large lists, never the records themselves (copying them would add to the time measured).
"""

from __future__ import annotations

import json
import os
import time

from ansible.plugins.callback import CallbackBase

DOCUMENTATION = r"""
name: bench_timer
type: aggregate
short_description: Task timestamps for the identitynow.tasks benchmark harness
description:
  - Writes the start and end time of every task, of every loop item and every retry to the file named by
    the BENCH_TIMINGS environment variable.
requirements:
  - enabled with ANSIBLE_CALLBACKS_ENABLED=bench_timer
"""

SCALARS = ("changed", "failed", "polls", "elapsed", "timed_out", "attempts", "msg", "status", "total", "truncated",
           "x_total_count")
LISTS = ("task_statuses", "json", "missing", "tasks", "results")


def _digest(data):
    if not isinstance(data, dict):
        return {}
    digest = {}
    for key in SCALARS:
        value = data.get(key)
        if isinstance(value, (bool, int, float, str)):
            digest[key] = value if not isinstance(value, str) else value[:500]
    for key in LISTS:
        value = data.get(key)
        if isinstance(value, list):
            digest["len_" + key] = len(value)
    for key in ("summary",):
        value = data.get(key)
        if isinstance(value, dict):
            digest[key] = dict((k, v) for k, v in value.items() if isinstance(v, (bool, int, float, str)))
    return digest


def _data(result):
    # The callback copy of the result; _return_data avoids a second conversion of large results.
    data = getattr(result, "_return_data", None)
    if data is None:
        data = getattr(result, "_result", None)
    return data


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "aggregate"
    CALLBACK_NAME = "bench_timer"
    CALLBACK_NEEDS_ENABLED = True

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.started = time.time()
        self.tasks = []
        self.current = None

    def v2_playbook_on_task_start(self, task, is_conditional):
        self.current = {"name": task.get_name(), "action": task.action, "start": time.time(), "end": None,
                        "status": None, "items": [], "retries": [], "digest": {}, "hosts": {}}
        self.tasks.append(self.current)

    def _end(self, result, status):
        if self.current is None:
            return
        self.current["end"] = time.time()
        self.current["status"] = status
        self.current["digest"] = _digest(_data(result))
        # With several hosts, the task's end and digest are those of the last host; each host's are kept too.
        host = getattr(getattr(result, "_host", None), "name", None)
        if host:
            self.current["hosts"][host] = {"end": self.current["end"], "status": status,
                                           "digest": self.current["digest"]}

    def v2_runner_on_ok(self, result):
        self._end(result, "ok")

    def v2_runner_on_failed(self, result, ignore_errors=False):
        self._end(result, "failed")

    def v2_runner_on_skipped(self, result):
        self._end(result, "skipped")

    def v2_runner_on_unreachable(self, result):
        self._end(result, "unreachable")

    def v2_runner_item_on_ok(self, result):
        if self.current is not None:
            self.current["items"].append({"end": time.time(), "status": "ok", "digest": _digest(_data(result))})

    def v2_runner_item_on_failed(self, result):
        if self.current is not None:
            self.current["items"].append({"end": time.time(), "status": "failed", "digest": _digest(_data(result))})

    def v2_runner_retry(self, result):
        if self.current is not None:
            self.current["retries"].append(time.time())

    def v2_playbook_on_stats(self, stats):
        path = os.environ.get("BENCH_TIMINGS")
        if not path:
            return
        with open(path, "w") as handle:
            json.dump({"started": self.started, "ended": time.time(), "tasks": self.tasks}, handle, indent=1)
