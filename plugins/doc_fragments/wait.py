# -*- coding: utf-8 -*-
# Copyright: identitynow.tasks contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations


class ModuleDocFragment:
    """Wait options shared by the modules that wait for tasks (argument spec: module_utils/wait.py)."""

    DOCUMENTATION = r"""
options:
  wait:
    description:
      - Wait until every selected task is finished (both C(completed) and C(completionStatus) set).
      - The tasks are selected once, by the first read; tasks created later are not waited for. When nothing is
        selected, or everything is finished already, the module returns at once.
      - Fails when O(wait_timeout) passes first, naming each unfinished task with its last C(progress) and
        C(percentComplete).
    type: bool
    default: false
  wait_timeout:
    description:
      - Seconds to wait at most, counted from the start of the module, on a monotonic clock.
      - Request retries (HTTP 429, 5xx) never sleep past it.
    type: float
    default: 600
  wait_sleep:
    description:
      - Seconds between the first poll rounds; each round waits 1.5 times longer, up to O(wait_sleep_max).
    type: float
    default: 5
  wait_sleep_max:
    description:
      - Longest pause between two poll rounds, in seconds. Never less than O(wait_sleep).
    type: float
    default: 30
  fail_on_status:
    description:
      - Fail when a selected task has finished with one of these completion statuses, with the task's messages in
        the error. Same values as O(completion_status), for example V([ERROR, TERMINATED, TEMPERROR]).
      - With O(wait=true) the wait stops as soon as one selected task ends that way.
      - Not set, any completion status is a successful end.
    type: list
    elements: str
  fail_on_missing:
    description:
      - Fail when a task given by O(id) or O(ids) is unknown to ISC, or disappears during the wait.
      - When V(false), such ids are returned in RV(missing) with a warning.
    type: bool
    default: false
"""
