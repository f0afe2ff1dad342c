# -*- coding: utf-8 -*-
# Copyright: identitynow.tasks contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Reliability suite callback: every task result of a run, by task name, in a JSON file.

Enabled only by tests/reliability (ANSIBLE_CALLBACK_PLUGINS set to this folder,
ANSIBLE_CALLBACKS_ENABLED=reliability_results, RELIABILITY_RESULTS naming the file). The file is one of
the files the run writes, so the secret scan of the suite reads it too.
"""

from __future__ import annotations

import json
import os

from ansible.plugins.callback import CallbackBase

DOCUMENTATION = r"""
name: reliability_results
type: aggregate
short_description: Task results for the identitynow.tasks reliability suite
description:
  - Writes the result of every task, with its status, to the file named by the RELIABILITY_RESULTS
    environment variable.
requirements:
  - enabled with ANSIBLE_CALLBACKS_ENABLED=reliability_results
"""


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "aggregate"
    CALLBACK_NAME = "reliability_results"
    CALLBACK_NEEDS_ENABLED = True

    def __init__(self):
        super().__init__()
        self.results = []

    def _record(self, result, status):
        data = dict(result._result)  # pylint: disable=protected-access
        self.results.append({"task": result._task.get_name(), "status": status,  # pylint: disable=protected-access
                             "result": data})

    def v2_runner_on_ok(self, result):
        self._record(result, "ok")

    def v2_runner_on_failed(self, result, ignore_errors=False):
        self._record(result, "failed")

    def v2_runner_on_skipped(self, result):
        self._record(result, "skipped")

    def v2_runner_on_unreachable(self, result):
        self._record(result, "unreachable")

    def v2_playbook_on_stats(self, stats):
        path = os.environ.get("RELIABILITY_RESULTS")
        if path:
            with open(path, "w", encoding="utf-8") as handle:
                json.dump(self.results, handle, default=str)
