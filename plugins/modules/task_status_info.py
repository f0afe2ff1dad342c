#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: identitynow.tasks contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: task_status_info
short_description: Read the status of SailPoint Identity Security Cloud tasks, and wait for them to finish
version_added: 0.1.0
description:
  - Reads task statuses (aggregations, identity refreshes and other background tasks) from the Task Management API
    of SailPoint Identity Security Cloud (ISC, formerly IdentityNow).
  - Selects one task by O(id), many by O(ids), or lists tasks with filters. O(source_ids), O(completion_status),
    O(pending), O(types) and O(launchers) are sent to ISC; O(unique_names), O(created_after), O(created_before) and
    O(older_than) are applied by the module, because ISC cannot filter on them.
  - "With O(wait=true) it polls until every selected task is finished: a task counts as finished only when both
    C(completed) and C(completionStatus) are set, since ISC sets them one after the other. Each poll round is one
    list request per 50 running tasks, never one request per task."
  - "Filters differ by API version (O(api_version)). C(sourceId), C(completionStatus) (C(eq), C(in)) and C(type) work
    everywhere; C(completionStatus isnull), used by O(pending=true), needs C(v2025), C(v2026) or C(v1) (with C(beta)
    and C(v2024) the module reads their deprecated pending-tasks list instead); C(launcher) needs C(v2026) or C(v1).
    An option the chosen version does not support fails before any request is sent."
  - The lists of C(beta) and C(v2024) return only finished tasks; use O(pending=true) or O(ids) there for running ones.
  - ISC returns no data for tasks older than 90 days.
  - This module never changes anything.
author:
  - identitynow.tasks contributors (@identitynow)
options:
  id:
    description:
      - ID of one task, read with a single GET by id.
      - An unknown id (HTTP 404) is returned in RV(missing), not as an error, unless O(fail_on_missing) is true, which
        it is by default with O(wait=true).
      - Mutually exclusive with O(ids) and with every filter option (O(source_ids), O(completion_status), O(pending),
        O(types), O(launchers), O(filters), O(unique_names), O(created_after), O(created_before), O(older_than),
        O(sorters), O(count)).
    type: str
  ids:
    description:
      - IDs of several tasks, read with C(id in (...)) list requests of up to 50 ids each.
      - Ids ISC does not return are listed in RV(missing); with O(wait=true) they make the module fail unless
        O(fail_on_missing=false). An empty list selects no task.
      - Duplicates are ignored; the results keep the order of O(ids).
      - Mutually exclusive with O(id) and with every filter option (see O(id)).
    type: list
    elements: str
  source_ids:
    description:
      - Only tasks of these sources (server-side filter C(sourceId in (...))). Supported by every API version.
    type: list
    elements: str
  completion_status:
    description:
      - Only tasks that finished with one of these statuses (server-side filter C(completionStatus in (...))).
      - "Accepted values, in any letter case: V(SUCCESS), V(WARNING), V(ERROR), V(TERMINATED), V(TEMPERROR)
        (V(TEMP_ERROR), the spelling of the aggregation API, is read as V(TEMPERROR))."
      - Cannot be combined with O(pending=true).
    type: list
    elements: str
  pending:
    description:
      - V(true) selects only tasks without a completion status (still running, or about to report one);
        V(false) only finished tasks.
      - "With C(v2025), C(v2026) and C(v1), V(true) sends C(completionStatus isnull). C(beta) and C(v2024) do not
        support that filter: there the module reads the deprecated C(pending-tasks) list, which takes no
        filters or sorters, so O(source_ids), O(types), O(filters) and O(sorters) are rejected; the client-side
        filters still apply."
      - Not set (the default) selects both.
    type: bool
  types:
    description:
      - Only tasks of these task definitions (server-side filter C(type in (...))), for example
        V(CLOUD_ACCOUNT_AGGREGATION). Any letter case.
      - "Accepted with C(v2026), C(v1), C(v2024) and C(beta): V(CLOUD_ACCOUNT_AGGREGATION),
        V(CLOUD_GROUP_AGGREGATION), V(CLOUD_PROCESS_UNCORRELATED_ACCOUNTS), V(CLOUD_REFRESH_ROLE),
        V(SOURCE_APPLICATION_DISCOVERY), V(AI_AGENT_AGGREGATION), V(APPLICATION_DISCOVERY),
        V(MACHINE_IDENTITY_AGGREGATION), V(MACHINE_IDENTITY_DELETION), V(ACCOUNT_DELETION),
        V(CLOUD_ENTITLEMENT_IMPORT), V(CLOUD_UNCORRELATED_REFRESH), V(CLOUD_IDENTITY_AGGREGATION),
        V(CLOUD_ATTRIBUTE_SYNCHRONIZATION), V(IDENTITY_REFRESH)."
      - C(v2025) accepts only the first ten of these.
      - These are task-definition codes, not the C(type) field of a record (C(QUARTZ), C(QPOC), C(QUEUED_TASK)).
        On the real service this filter has been unreliable; O(unique_names) matches on the client side instead.
    type: list
    elements: str
  launchers:
    description:
      - Only tasks started by these launchers (server-side filter C(launcher in (...))). Needs C(v2026) or C(v1).
    type: list
    elements: str
  filters:
    description:
      - A raw filter string in the ISC filter syntax, sent as is, for example
        C(type eq "CLOUD_ACCOUNT_AGGREGATION" and completionStatus isnull).
      - For experts; the module does not check it against O(api_version), and ISC answers HTTP 400 to a field
        or operator it does not support.
      - Cannot be combined with O(source_ids), O(completion_status), O(pending), O(types) or O(launchers); the
        client-side filters still apply.
    type: str
  unique_names:
    description:
      - Only tasks whose C(uniqueName) or C(taskDefinitionSummary.uniqueName) is one of these names, for example
        V(Cloud Account Aggregation). Compared without regard to letter case, on the client side.
    type: list
    elements: str
  created_after:
    description:
      - Only tasks created at or after this moment; applied on the client side.
      - "An ISO 8601 date-time (V(2025-01-31T08:00:00Z); without a zone it is UTC), a date (V(2025-01-31),
        midnight UTC), or a duration meaning that long ago (V(24h) selects the tasks of the last 24 hours).
        Durations are numbers with a unit C(s), C(m), C(h), C(d) or C(w), and can be combined (V(1h30m))."
      - Durations count from the clock of the host that runs the module.
    type: str
  created_before:
    description:
      - Only tasks created before this moment; applied on the client side. Same formats as O(created_after).
      - Mutually exclusive with O(older_than).
    type: str
  older_than:
    description:
      - Only tasks created more than this duration ago, for example V(30m), V(6h) or V(2d); applied on the client
        side. A bare number is seconds.
      - Mutually exclusive with O(created_before).
    type: str
  sorters:
    description:
      - Order of a list query. ISC sorts only on C(created); V(-created) lists the newest first.
      - Not set leaves the order to ISC.
    type: str
    choices: [created, -created]
  page_size:
    description:
      - Records per list request, from 1 to 250. Always sent, so that results do not depend on server defaults.
      - Used by list queries only; O(ids) are read 50 per request.
    type: int
    default: 250
  max_results:
    description:
      - Most tasks a list query returns, across pages; V(0) means no cap.
      - When the cap is reached and more tasks may match, RV(truncated) is true and a warning says so.
      - With client-side filters the cap counts the tasks that pass them.
      - Used by list queries only.
    type: int
    default: 10000
  count:
    description:
      - Return in RV(total) how many tasks ISC counts for the server-side filters (its C(X-Total-Count)),
        whatever the page size and O(max_results). Client-side filters are not reflected in it.
    type: bool
    default: false
  fields:
    description:
      - Return only these top-level fields of each task (C(id) is always kept), to keep results small.
      - "Accepted: C(id), C(type), C(uniqueName), C(description), C(parentName), C(launcher), C(target), C(created),
        C(modified), C(launched), C(completed), C(completionStatus), C(messages), C(returns), C(attributes),
        C(progress), C(percentComplete), C(taskDefinitionSummary)."
      - RV(summary) is computed from the complete records.
    type: list
    elements: str
extends_documentation_fragment:
  - identitynow.tasks.connection
  - identitynow.tasks.wait
  - identitynow.tasks.connection.attributes
  - ansible.builtin.action_common_attributes
attributes:
  check_mode:
    support: full
    details: The module only reads; check mode behaves exactly like a normal run, waiting included.
  diff_mode:
    support: none
  platform:
    platforms: all
notes:
  - "Request costs: O(id) is one request; O(ids) one list request per 50 ids (with C(beta), C(v2024) and C(v2025)
    plus a read of the pending-tasks list when some tasks are not in the list); a list query
    ceil(matches / O(page_size)) requests; each poll round of a wait one list request per 50 running tasks.
    At most one token request is made unless the token expires."
  - The token is renewed automatically during long waits.
seealso:
  - name: Task Management API
    description: SailPoint's reference of the task-status endpoints.
    link: https://developer.sailpoint.com/docs/api/v2025/task-management
"""

EXAMPLES = r"""
# Connection options are best set once per play:
#   module_defaults:
#     group/identitynow.tasks.isc:
#       tenant: acme
#       client_id: "{{ isc_client_id }}"
#       client_secret: "{{ isc_client_secret }}"

- name: Get one task
  identitynow.tasks.task_status_info:
    id: 2c9180835d2e5168015d32f890ca1581
  register: one

- name: Show its status
  ansible.builtin.debug:
    msg: "{{ one.task_statuses[0].completionStatus | default('not found') }}"

- name: List the pending account aggregations of a source
  identitynow.tasks.task_status_info:
    source_ids: [2c91808568c529c60168cca6f90c1313]
    pending: true
    unique_names: [Cloud Account Aggregation]
    sorters: created
    fields: [id, uniqueName, created, progress, percentComplete]
  register: pending

- name: Wait on the task an aggregation returned (its task.id), failing if it did not succeed
  identitynow.tasks.task_status_info:
    id: "{{ aggregation.json.task.id }}"
    wait: true
    wait_timeout: 30m
    wait_sleep: 10s
    fail_on_status: [ERROR, TERMINATED, TEMPERROR]

- name: Gate a deployment on every running aggregation of these sources
  identitynow.tasks.task_status_info:
    source_ids: "{{ deployment_source_ids }}"
    pending: true
    wait: true
    wait_timeout: 1h
    wait_sleep: 15s
    wait_sleep_max: 1m
    fail_on_status: [ERROR, TERMINATED, TEMPERROR]
  register: gate

- name: List everything that failed today
  identitynow.tasks.task_status_info:
    completion_status: [ERROR, TERMINATED, TEMPERROR]
    created_after: "{{ now(utc=true).strftime('%Y-%m-%d') }}"
    sorters: -created
    count: true
  register: failed_today

- name: Report them
  ansible.builtin.debug:
    msg: "{{ failed_today.summary.by_status }} ({{ failed_today.task_statuses | length }} tasks)"

- name: Tasks still running after six hours, on the per-resource API
  identitynow.tasks.task_status_info:
    api_version: v1
    pending: true
    older_than: 6h
  register: stuck
"""

RETURN = r"""
task_statuses:
  description:
    - The selected tasks, as ISC returns them (camelCase), reduced to O(fields) when given.
    - In the order of O(ids), or of the list query.
    - After a wait, the newest record of each task.
  returned: always
  type: list
  elements: dict
  sample:
    - id: 2c9180835d2e5168015d32f890ca1581
      type: QUARTZ
      uniqueName: Cloud Account Aggregation
      description: Aggregates accounts from the specified source.
      parentName: null
      launcher: 2c9180835d2e5168015d32f890ca0001
      target: {id: 2c91808568c529c60168cca6f90c1313, type: APPLICATION, name: "Active Directory [source]"}
      created: "2025-01-31T08:00:00.000Z"
      modified: "2025-01-31T08:04:02.120Z"
      launched: "2025-01-31T08:00:01.000Z"
      completed: "2025-01-31T08:04:02.000Z"
      completionStatus: SUCCESS
      messages: []
      returns: [{name: Accounts Scanned, attributeName: total}]
      attributes: {appId: "c31386ffa2a14a8ca9b8c8c8c7d0d5c9"}
      progress: Completed
      percentComplete: 100
total:
  description: The number of tasks ISC counts for the server-side filters (C(X-Total-Count)).
  returned: when O(count=true)
  type: int
  sample: 1234
truncated:
  description: True when a list query stopped at O(max_results) and more tasks may match.
  returned: for list queries (neither O(id) nor O(ids))
  type: bool
  sample: false
missing:
  description:
    - Ids given in O(id) or O(ids) that ISC did not return, and tasks that disappeared during a wait.
  returned: always
  type: list
  elements: str
  sample: [2c9180835d2e5168015d32f890ca9999]
summary:
  description: An overview of RV(task_statuses), computed from the complete records.
  returned: always
  type: dict
  contains:
    count:
      description: Number of tasks returned.
      type: int
      sample: 5
    finished:
      description: Tasks with both C(completed) and C(completionStatus) set.
      type: int
      sample: 3
    pending:
      description: Tasks not finished yet.
      type: int
      sample: 2
    by_status:
      description: Finished tasks per completion status; every status is present.
      type: dict
      sample: {SUCCESS: 2, WARNING: 0, ERROR: 1, TERMINATED: 0, TEMPERROR: 0}
    oldest_pending:
      description:
        - The unfinished task created first, with its progress and its age in seconds; null when none is pending.
      type: dict
      sample:
        id: 2c9180835d2e5168015d32f890ca1582
        uniqueName: Cloud Account Aggregation
        created: "2025-01-31T08:00:00.000Z"
        launched: "2025-01-31T08:00:01.000Z"
        completed: null
        completionStatus: null
        progress: Processing accounts
        percentComplete: 40
        age_seconds: 312.5
elapsed:
  description: Seconds from the start of the module to the end of the wait.
  returned: when O(wait=true)
  type: float
  sample: 42.317
polls:
  description: Poll rounds after the first read; each is one list request per 50 running tasks.
  returned: when O(wait=true)
  type: int
  sample: 6
timed_out:
  description: True when O(wait_timeout) passed before every task finished (the module then fails).
  returned: when O(wait=true)
  type: bool
  sample: false
unfinished:
  description: Id, name, C(progress) and C(percentComplete) of each task still running at the timeout.
  returned: when the wait timed out
  type: list
  elements: dict
  sample:
    - id: 2c9180835d2e5168015d32f890ca1582
      uniqueName: Cloud Account Aggregation
      created: "2025-01-31T08:00:00.000Z"
      launched: "2025-01-31T08:00:01.000Z"
      completed: null
      completionStatus: null
      progress: Processing accounts
      percentComplete: 40
failed_tasks:
  description: The tasks that ended with a status of O(fail_on_status), with their messages.
  returned: when the module fails because of O(fail_on_status)
  type: list
  elements: dict
  sample:
    - id: 2c9180835d2e5168015d32f890ca1583
      uniqueName: Cloud Account Aggregation
      created: "2025-01-31T08:00:00.000Z"
      launched: "2025-01-31T08:00:01.000Z"
      completed: "2025-01-31T08:01:00.000Z"
      completionStatus: ERROR
      progress: Failed
      percentComplete: 100
      messages: ["ERROR: Connection refused by the source"]
"""

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.identitynow.tasks.plugins.module_utils import task_query
from ansible_collections.identitynow.tasks.plugins.module_utils.connection import client_from_module, isc_argument_spec
from ansible_collections.identitynow.tasks.plugins.module_utils.results import finish
from ansible_collections.identitynow.tasks.plugins.module_utils.wait import wait_argument_spec


def module_args():
    """The keyword arguments of AnsibleModule: the options, their defaults and the rules between them.

    What a spec cannot say (value ranges, an empty list counting as not set, what an API version
    supports) is checked by task_query.build_query.
    """
    return dict(
        argument_spec=isc_argument_spec(
            id=dict(type="str"),
            ids=dict(type="list", elements="str"),
            source_ids=dict(type="list", elements="str"),
            completion_status=dict(type="list", elements="str"),
            pending=dict(type="bool"),
            types=dict(type="list", elements="str"),
            launchers=dict(type="list", elements="str"),
            filters=dict(type="str"),
            unique_names=dict(type="list", elements="str"),
            created_after=dict(type="str"),
            created_before=dict(type="str"),
            older_than=dict(type="str"),
            sorters=dict(type="str", choices=["created", "-created"]),
            page_size=dict(type="int", default=250),
            max_results=dict(type="int", default=10000),
            count=dict(type="bool", default=False),
            fields=dict(type="list", elements="str"),
            **wait_argument_spec()
        ),
        mutually_exclusive=[("id", "ids"), ("created_before", "older_than")],
        supports_check_mode=True,
    )


def main():
    module = AnsibleModule(**module_args())
    client = client_from_module(module)
    finish(module, client, task_query.execute(client, module.params))


if __name__ == "__main__":
    main()
