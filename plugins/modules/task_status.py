#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: identitynow.tasks contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: task_status
short_description: Set the completion status of SailPoint Identity Security Cloud tasks, idempotently
version_added: 0.1.0
description:
  - Updates the status of background tasks (aggregations, identity refreshes and other tasks) through the Task
    Management API of SailPoint Identity Security Cloud (ISC, formerly IdentityNow), with C(PATCH /task-status/{id}).
  - Its main use is to clear a task that is stuck pending, so that new aggregations of the same source can run.
  - "You describe the state you want (O(completion_status), O(completed)); the module reads the task, computes the
    JSON Patch locally and sends it only when something differs. A second run with the same input reports
    RV(changed=false) and sends no PATCH."
  - By default only tasks that are still pending (no C(completionStatus)) are changed; a finished task is reported
    as C(refused) unless O(allow_finished=true).
  - "The PATCH carries RFC 6902 C(test) operations on C(modified) (and on C(completionStatus) when it is set) with the
    values just read, so that ISC applies nothing when the task finished or moved on between the read and the
    write. The module then reads the task again and reports what happened. See O(guard)."
  - If the answer to a PATCH is lost (connection reset or timeout after sending, HTTP 500, 502 or 504, an unreadable
    answer), the module reads the task again and reports its true state. It never sends the same PATCH twice.
  - "With O(ids), one run reads the tasks with one list request per 50 ids, sends one PATCH per task that needs one,
    reuses the session and the token, keeps under the rate limit (O(rate_limit)), and reports an outcome for every
    task (RV(tasks)) instead of stopping at the first failure, unless O(stop_on_error=true)."
  - Works with every API version of O(api_version).
author:
  - identitynow.tasks contributors (@identitynow)
options:
  id:
    description:
      - ID of the task to update. It is read with one GET by id.
      - Exactly one of O(id) and O(ids) is required.
    type: str
  ids:
    description:
      - IDs of several tasks to update in one run; duplicates are ignored and the order is kept in RV(tasks).
      - They are read with one list request per 50 ids, not one request per task.
    type: list
    elements: str
  completion_status:
    description:
      - The completion status the task should have.
      - "One of V(SUCCESS), V(WARNING), V(ERROR), V(TERMINATED), V(TEMPERROR), in any letter case; it is sent in the
        platform's upper case. V(TEMP_ERROR), the spelling of the aggregation API, is read as V(TEMPERROR)."
      - If the task has no C(completed) time and O(completed) is not set, the time of the change is sent as well, so
        that the task is complete.
      - Mutually exclusive with O(patch).
    type: str
  completed:
    description:
      - The completion time the task should have.
      - "An ISO 8601 date-time, for example V(2024-05-17T19:33:16.470Z) or V(2024-05-17 19:33:16.470000+00:00); a
        date-time without a zone is taken as UTC. It is sent in UTC with milliseconds (C(YYYY-MM-DDTHH:MM:SS.mmmZ))
        and compared as an instant, so another spelling of the current value is no change."
      - V(now) sets the current time on a task that has no completion time, and keeps the time of a task that has
        one, so that re-runs stay idempotent.
      - Mutually exclusive with O(patch).
    type: str
  patch:
    description:
      - For experts, a raw list of JSON Patch (RFC 6902) operations instead of O(completion_status) and O(completed).
      - "Each operation is checked before anything is sent: C(op) one of V(add), V(remove), V(replace), V(test),
        V(move), V(copy); C(path) (and C(from) for V(move) and V(copy)) a JSON pointer; C(value) required for V(add),
        V(replace) and V(test), a string, boolean, integer, dictionary or list, never null; no other keys."
      - Operations that change the task may only target C(/completionStatus) and C(/completed) (V(move) also reads
        its C(from) away), unless O(allow_other_paths=true). V(test) and the C(from) of V(copy) may read any path.
      - Values for C(/completionStatus) must be completion statuses (any letter case, sent in upper case); values for
        C(/completed) must be ISO 8601 date-times, or V(now) in V(add) and V(replace).
      - The patch is applied locally to the task as read first. If that changes nothing the task is C(unchanged) and
        nothing is sent; if one of its V(test) operations does not hold the task is C(refused) and nothing is sent.
      - The guard operations of O(guard) are put in front of it.
    type: list
    elements: dict
  allow_finished:
    description:
      - Also change tasks that already have a C(completionStatus).
      - With V(false), a finished task that would need a change is reported as C(refused) and not changed. A finished
        task that already has the desired state is C(unchanged) either way.
    type: bool
    default: false
  allow_other_paths:
    description:
      - Let O(patch) change paths other than C(/completionStatus) and C(/completed).
      - ISC documents only these two as changeable; other paths are likely to be rejected with HTTP 400.
    type: bool
    default: false
  guard:
    description:
      - Put C(test) operations in front of every PATCH, with the values of C(modified) and (when set)
        C(completionStatus) just read. ISC then applies nothing if the task changed in between; the module reads the
        task again and reports it as C(refused).
      - A task that is still running changes C(modified) as it makes progress, so it is refused this way; a stuck
        task does not.
      - C(completionStatus) is not tested while it is null, because ISC's patch schema allows no null value.
      - Set V(false) only for a tenant that rejects the C(test) operation.
    type: bool
    default: true
  stop_on_error:
    description:
      - With O(ids), stop at the first task whose outcome is listed in O(fail_on); the remaining tasks are reported as
        C(skipped) and not touched.
      - "Whatever this option says, a PATCH refused with HTTP 403 stops the run: the token lacks the rights to update
        task statuses (see the notes), which holds for every task, so the remaining tasks are reported as C(skipped)
        with that reason instead of being sent one identical refused PATCH each."
      - With V(false), every task is attempted and reported.
    type: bool
    default: false
  fail_on:
    description:
      - Outcomes that make the module fail (after every task was attempted, unless O(stop_on_error=true)).
      - RV(tasks) and RV(summary) are returned either way, and RV(changed) is true if any task changed.
      - Use V([failed]) to accept tasks that are gone or were refused, for example when clearing a list read
        earlier, some of whose tasks may have finished since.
    type: list
    elements: str
    choices: [not_found, refused, failed]
    default: [not_found, refused, failed]
extends_documentation_fragment:
  - identitynow.tasks.connection
  - identitynow.tasks.connection.attributes
  - ansible.builtin.action_common_attributes
attributes:
  check_mode:
    support: full
    details: The tasks are read but no PATCH is sent; RV(task) and RV(operations) show what would be sent and the result.
  diff_mode:
    support: full
    details: RV(diff) holds the before and after values of the fields that change.
  platform:
    platforms: all
notes:
  - Updating a task status needs a token with a user context, that is a personal access token whose user has an admin
    level, with the C(idn:task-management:write) or C(sp:scopes:all) scope. A token of an API client from the client
    credentials grant can read tasks but gets HTTP 403 on the PATCH.
  - ISC returns no data for tasks older than 90 days; they are reported as C(not_found).
  - "Request costs: O(id) is one GET plus at most one PATCH; O(ids) is one list request per 50 ids (with C(beta),
    C(v2024) and C(v2025) plus a read of the pending-tasks list when some tasks are not in the list) plus one PATCH per
    task that needs a change. A refused or lost PATCH adds one GET of that task. A PATCH refused with HTTP 403 ends
    the run."
  - Only RFC 6902 is sent, as C(application/json-patch+json).
requirements:
  - jsonpatch
seealso:
  - module: identitynow.tasks.task_status_info
  - name: Task Management API
    description: SailPoint's reference of the task-status endpoints.
    link: https://developer.sailpoint.com/docs/api/v2025/update-task-status
"""

EXAMPLES = r"""
# Connection options are best set once per play:
#   module_defaults:
#     group/identitynow.tasks.isc:
#       tenant: acme
#       client_id: "{{ isc_pat_client_id }}"      # a personal access token
#       client_secret: "{{ isc_pat_client_secret }}"

- name: Clear a stuck aggregation so that the source can aggregate again
  identitynow.tasks.task_status:
    id: 2c9180835d2e5168015d32f890ca1581
    completion_status: error
    completed: now

- name: Dry run first, showing what would change
  identitynow.tasks.task_status:
    id: "{{ stuck_task_id }}"
    completion_status: TERMINATED
  check_mode: true
  diff: true
  register: preview

- name: Then clear it for real if the dry run found something to change
  identitynow.tasks.task_status:
    id: "{{ stuck_task_id }}"
    completion_status: TERMINATED
  when: preview is changed

- name: Find account aggregations pending for more than six hours
  identitynow.tasks.task_status_info:
    pending: true
    older_than: 6h
    unique_names: [Cloud Account Aggregation]
    fields: [id]
  register: stuck

- name: Clear all of them in one run; tasks that finished meanwhile are reported, not failed
  identitynow.tasks.task_status:
    ids: "{{ stuck.task_statuses | map(attribute='id') | list }}"
    completion_status: ERROR
    completed: now
    fail_on: [failed]
  register: cleared
  when: stuck.task_statuses | length > 0

- name: Report what happened to each task
  ansible.builtin.debug:
    msg: "{{ cleared.summary }}"
  when: cleared is not skipped

- name: Experts - a raw JSON Patch on a finished task, with an explicit precondition
  identitynow.tasks.task_status:
    id: "{{ task_id }}"
    allow_finished: true
    patch:
      - {op: test, path: /completionStatus, value: TEMPERROR}
      - {op: replace, path: /completionStatus, value: ERROR}
"""

RETURN = r"""
changed:
  description: Whether any task was changed (in check mode, would be changed).
  returned: always
  type: bool
  sample: true
msg:
  description:
    - With O(id), what happened to the task, including the reason when it was not changed.
    - With O(ids), the counts per outcome and the first failure, if any.
  returned: always
  type: str
  sample: "1 changed, 2 unchanged"
outcome:
  description:
    - What happened to the task of O(id).
    - C(changed) (in check mode, would be changed), C(unchanged) (already in the desired state, nothing sent),
      C(not_found) (ISC does not return it, see the 90-day window), C(refused) (finished and not O(allow_finished),
      a V(test) of O(patch) does not hold, or the task changed between read and write), C(failed) (ISC rejected the
      PATCH, or its outcome could not be established).
  returned: when O(id) is set
  type: str
  sample: changed
task:
  description:
    - The task of O(id) as the server returned it after the change (the PATCH response, or the task read again when
      the response was lost or a guard refused the change); as read when nothing was sent; in check mode, the task as
      read with the operations applied locally. Null when ISC does not return the task.
    - A TaskStatus; its main fields are listed here.
  returned: when O(id) is set
  type: dict
  contains:
    id:
      description: Task ID.
      type: str
      sample: 2c9180835d2e5168015d32f890ca1581
    uniqueName:
      description: Name of the task.
      type: str
      sample: Cloud Account Aggregation
    completionStatus:
      description: V(SUCCESS), V(WARNING), V(ERROR), V(TERMINATED), V(TEMPERROR), or null while pending.
      type: str
      sample: ERROR
    completed:
      description: When the task completed, or null.
      type: str
      sample: "2024-05-17T19:33:16.470Z"
    modified:
      description: When the task last changed.
      type: str
      sample: "2024-05-17T19:33:16.470Z"
operations:
  description:
    - The JSON Patch operations sent for the task of O(id) (in check mode, that would be sent), guard operations
      included. Empty when nothing was sent.
  returned: when O(id) is set
  type: list
  elements: dict
  sample:
    - {op: test, path: /modified, value: "2024-05-17T18:00:00.000Z"}
    - {op: replace, path: /completionStatus, value: ERROR}
    - {op: replace, path: /completed, value: "2024-05-17T19:33:16.470Z"}
uncertain:
  description:
    - True when the answer to the PATCH was lost and the outcome comes from reading the task again.
  returned: when the answer to a PATCH was lost (O(id))
  type: bool
  sample: true
error:
  description: Details of ISC's answer when the PATCH failed (O(id)); the same keys are also returned at the top level.
  returned: when the PATCH of the task of O(id) failed
  type: dict
  contains:
    status:
      description: HTTP status.
      type: int
      sample: 403
    detail_code:
      description: SailPoint's C(detailCode).
      type: str
      sample: 403 Forbidden
    tracking_id:
      description: SailPoint's C(trackingId), for a support case.
      type: str
      sample: b21b1f7ce4da4d639f2c62a57171b427
    error_messages:
      description: SailPoint's messages.
      type: list
      elements: str
    hint:
      description: What to check, for example the personal access token needed for HTTP 403.
      type: str
tasks:
  description: One entry per task of O(ids), in the order of O(ids).
  returned: when O(ids) is set
  type: list
  elements: dict
  contains:
    id:
      description: Task ID.
      type: str
      sample: 2c9180835d2e5168015d32f890ca1581
    outcome:
      description: C(changed), C(unchanged), C(not_found), C(refused), C(failed), or C(skipped) (not attempted because
        of O(stop_on_error), or because ISC refused an earlier PATCH with HTTP 403; RV(tasks[].msg) says which); see
        RV(outcome).
      type: str
      sample: changed
    changed:
      description: Whether this task was changed (in check mode, would be changed).
      type: bool
      sample: true
    task:
      description: The task as the server returned it after the change; see RV(task). Null when not found or skipped.
      type: dict
    operations:
      description: The JSON Patch operations sent (in check mode, that would be sent); empty when nothing was sent.
      type: list
      elements: dict
    msg:
      description: Why the task was not changed, or how the outcome was established.
      type: str
      returned: when there is something to say
    uncertain:
      description: True when the answer to the PATCH was lost and the outcome comes from reading the task again.
      type: bool
      returned: when the answer to the PATCH was lost
    error:
      description: ISC's answer to a failed PATCH; see RV(error).
      type: dict
      returned: when the PATCH failed
    diff:
      description: Before and after values of the fields that changed.
      type: dict
      returned: in diff mode, for changed tasks
summary:
  description: Number of tasks per outcome.
  returned: when O(ids) is set
  type: dict
  sample: {changed: 28, unchanged: 1, not_found: 1, refused: 0, failed: 0, skipped: 0}
diff:
  description:
    - Before and after values of the fields that change, for C(--diff).
    - With O(id), C(before) and C(after) hold the fields of the task; with O(ids), they hold one such dictionary per
      changed task, keyed by task ID.
  returned: in diff mode
  type: dict
  sample:
    before: {completionStatus: null, completed: null}
    after: {completionStatus: ERROR, completed: "2024-05-17T19:33:16.470Z"}
"""

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.identitynow.tasks.plugins.module_utils import task_update
from ansible_collections.identitynow.tasks.plugins.module_utils.connection import client_from_module, isc_argument_spec
from ansible_collections.identitynow.tasks.plugins.module_utils.results import finish


def module_args():
    """The keyword arguments of AnsibleModule: the options, their defaults and the rules between them.

    What a spec cannot say (non-empty ids, status and time values, the raw patch) is checked by
    task_update.request_from_params.
    """
    return dict(
        argument_spec=isc_argument_spec(
            id=dict(type="str"),
            ids=dict(type="list", elements="str"),
            completion_status=dict(type="str"),
            completed=dict(type="str"),
            patch=dict(type="list", elements="dict"),
            allow_finished=dict(type="bool", default=False),
            allow_other_paths=dict(type="bool", default=False),
            guard=dict(type="bool", default=True),
            stop_on_error=dict(type="bool", default=False),
            fail_on=dict(type="list", elements="str", choices=list(task_update.FAIL_ON_CHOICES),
                         default=list(task_update.FAIL_ON_CHOICES)),
        ),
        mutually_exclusive=[("id", "ids"), ("patch", "completion_status"), ("patch", "completed")],
        required_one_of=[("id", "ids"), ("completion_status", "completed", "patch")],
        supports_check_mode=True,
    )


def main():
    module = AnsibleModule(**module_args())
    client = client_from_module(module, needs=("requests", "jsonpatch"))
    finish(module, client, task_update.execute(client, module.params, check_mode=module.check_mode, diff=module._diff))


if __name__ == "__main__":
    main()
