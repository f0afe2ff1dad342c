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
        selected, or everything is finished already, the module returns at once (with an empty list of ids, with a warning).
      - Fails when O(wait_timeout) passes first, naming each unfinished task with its last C(progress) and
        C(percentComplete).
      - The module prints nothing while it waits; its result comes when the wait ends. For progress reports
        during a long wait, use the role C(identitynow.tasks.wait_for_aggregation), which waits in rounds and
        reports the progress of each task after every round.
    type: bool
    default: false
  wait_timeout:
    description:
      - How long to wait at most, counted from the start of the module, on a monotonic clock.
      - "A duration: a number of seconds, or a number with a unit C(s), C(m), C(h), C(d) or C(w), combined as
        needed: V(90s), V(30m), V(6h), V(1h30m). The same form as C(older_than) of
        M(identitynow.tasks.task_status_info)."
      - Request retries (HTTP 429, 5xx) never sleep past it.
    type: raw
    default: 600
  wait_sleep:
    description:
      - Pause between the first poll rounds; each round waits 1.5 times longer, up to O(wait_sleep_max).
      - A duration, as O(wait_timeout).
    type: raw
    default: 5
  wait_sleep_max:
    description:
      - Longest pause between two poll rounds. Never less than O(wait_sleep).
      - A duration, as O(wait_timeout).
    type: raw
    default: 30
  fail_on_status:
    description:
      - Fail when a selected task has finished with one of these completion statuses, with the task's messages in
        the error. Completion statuses in any letter case (V(TEMP_ERROR) is read as V(TEMPERROR)); the recommended set is V([ERROR, TERMINATED, TEMPERROR]).
      - With O(wait=true) the wait stops as soon as one selected task ends that way.
      - Not set, any completion status is a successful end.
    type: list
    elements: str
  fail_on_missing:
    description:
      - Fail when a task given by its id is unknown to ISC, or disappears during the wait.
      - When V(false), such ids are returned in RV(missing) with a warning.
      - Not set, V(true) when O(wait=true) (a gate fails closed on a mistyped id, or one of another tenant), and
        V(false) otherwise.
    type: bool
"""
