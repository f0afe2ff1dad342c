#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: identitynow.tasks contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: source_aggregation
short_description: Start account or entitlement aggregations of SailPoint Identity Security Cloud sources, and wait for them
version_added: 0.2.0
description:
  - Starts the account aggregation (C(load-accounts)) or the entitlement aggregation (C(load-entitlements)) of one
    source or of several, on every API version the collection supports (O(api_version)), and returns the id of
    each task it started in one place, RV(aggregations[].task_id), whatever the shape of ISC's answer.
  - "Before it starts anything it looks for an aggregation of the same kind that still runs on each source (a task
    of the source without C(completionStatus); one list request per 50 sources, never a filter on C(type), which ISC
    does not apply reliably). O(when_running) says what happens then."
  - "Starting is a write: a start is retried only when ISC's answer proves that nothing was started (HTTP 429 with
    C(Retry-After), 503). When the answer to a start is lost (connection reset, timeout, 502, 504), the module looks
    for a task of that source created since the request and reports it; it never sends a second start for one
    source."
  - With O(wait=true) it waits for the started (or reused) tasks exactly as M(identitynow.tasks.task_status_info)
    does, with the same code and options. A task counts as finished only when both C(completed) and
    C(completionStatus) are set.
  - In check mode it starts nothing; it reads what runs on the sources and reports what it would do.
author:
  - identitynow.tasks contributors (@identitynow)
options:
  source_id:
    description:
      - The id of the source, or a list of source ids; each source gets one aggregation of the kind O(kind).
      - A source id is 32 hexadecimal characters (as in the source's URL in ISC), not the source's name.
      - Duplicates are ignored; the results keep the order given.
    type: list
    elements: str
    required: true
    aliases: [source_ids]
  kind:
    description:
      - V(accounts) starts an account aggregation (task C(Cloud Account Aggregation)); V(entitlements) an
        entitlement aggregation (task C(Cloud Group Aggregation)).
      - Entitlement aggregation accepts only tokens with a user context (a personal access token with
        C(idn:entitlement:manage)); an API client gets HTTP 403 there. So does account aggregation with
        O(api_version=beta).
    type: str
    choices: [accounts, entitlements]
    default: accounts
  when_running:
    description:
      - What to do when an aggregation of the same kind already runs on a source.
      - V(wait_then_start) waits until it ends (within O(wait_timeout), with O(wait_sleep) and
        O(wait_sleep_max), whatever O(wait) says), then starts a fresh one. The safe choice when the data must be
        newer than a change just made to the source.
      - V(reuse) starts nothing on that source and reports the running task instead (C(changed=false) for it).
      - V(start) starts anyway. ISC accepts the request, then fails the new task because the running aggregation
        must complete first; the module warns.
    type: str
    choices: [wait_then_start, reuse, start]
    default: wait_then_start
  disable_optimization:
    description:
      - Account aggregations only. V(true) makes ISC process every account, changed or not; V(false) keeps the
        optimization. Sent as the string C(true) or C(false), as the API expects.
      - Not set, nothing is sent and ISC's default applies.
    type: bool
  file:
    description:
      - A CSV file to upload, for a delimited-file source (ISC answers HTTP 400 when such a source gets no file).
      - Sent as the C(file) part of a C(multipart/form-data) body. Only with one O(source_id).
      - A path on the host where the module runs (usually the controller, with C(delegate_to) or C(hosts) set to
        C(localhost)).
      - Without O(file) and O(disable_optimization) the request has no body and no Content-Type, as direct-connect
        sources need (ISC answers 500 to a multipart Content-Type without a body).
    type: path
extends_documentation_fragment:
  - identitynow.tasks.connection
  - identitynow.tasks.wait
  - identitynow.tasks.connection.attributes
  - ansible.builtin.action_common_attributes
attributes:
  check_mode:
    support: full
    details: Starts nothing and does not wait; reads the running aggregations and reports each decision.
  diff_mode:
    support: none
  platform:
    platforms: all
notes:
  - "Request costs: one list request per 50 sources to find running aggregations (with C(beta) and C(v2024), a read
    of the pending-tasks list instead); one POST per started aggregation; without O(wait), one list request per 50
    started tasks to return their task records; with O(wait), each poll round is one list request per 50 running
    tasks."
  - O(wait_timeout) bounds the whole run, the wait for a running aggregation (O(when_running=wait_then_start))
    included. Sources with nothing running are started first, so they do not wait for the busy ones.
  - When a start fails (for example HTTP 404 for an unknown source), the other sources are still started, the
    module does not wait, and it fails naming each failure.
  - A lost answer is looked up among the newest tasks of the source created up to two minutes before the request
    (for clocks that differ), leaving out the tasks that were already running.
seealso:
  - module: identitynow.tasks.task_status_info
  - name: Source aggregation API
    description: SailPoint's reference of the account aggregation endpoint (the entitlement one is next to it).
    link: https://developer.sailpoint.com/docs/api/v2025/import-accounts
"""

EXAMPLES = r"""
# Connection options are best set once per play:
#   module_defaults:
#     group/identitynow.tasks.isc:
#       tenant: acme
#       client_id: "{{ isc_client_id }}"
#       client_secret: "{{ isc_client_secret }}"

- name: Aggregate the accounts of a source and wait until ISC has them
  identitynow.tasks.source_aggregation:
    source_id: 2c91808568c529c60168cca6f90c1313
    wait: true
    wait_timeout: 30m
    fail_on_status: [ERROR, TERMINATED, TEMPERROR]
  register: aggregation

- name: Show the task id
  ansible.builtin.debug:
    msg: "{{ aggregation.aggregations[0].task_id }} ended {{ aggregation.aggregations[0].task.completionStatus }}"

- name: Entitlement aggregation of three sources (needs a personal access token), reusing any that already runs
  identitynow.tasks.source_aggregation:
    source_id:
      - 2c91808568c529c60168cca6f90c1313
      - 2c9180835d2e5168015d32f890ca1581
      - 2c9180866d2e5168015d32f890ca2222
    kind: entitlements
    when_running: reuse
    wait: true
    wait_timeout: 1h
    fail_on_status: [ERROR, TERMINATED, TEMPERROR]

- name: Upload a CSV to a delimited-file source and reprocess every account
  identitynow.tasks.source_aggregation:
    source_id: "{{ hr_source_id }}"
    file: files/hr-export.csv
    disable_optimization: true

- name: What would be started (starts nothing)
  identitynow.tasks.source_aggregation:
    source_id: "{{ deployment_source_ids }}"
  check_mode: true
  register: plan

- name: Start now, wait later with task_status_info
  identitynow.tasks.source_aggregation:
    source_id: "{{ deployment_source_ids }}"
  register: started

- name: Wait for them
  identitynow.tasks.task_status_info:
    ids: "{{ started.task_ids }}"
    wait: true
    fail_on_status: [ERROR, TERMINATED, TEMPERROR]
"""

RETURN = r"""
aggregations:
  description: One entry per source, in the order of O(source_id).
  returned: always
  type: list
  elements: dict
  contains:
    source_id:
      description: The source.
      type: str
      sample: 2c91808568c529c60168cca6f90c1313
    kind:
      description: V(accounts) or V(entitlements).
      type: str
      sample: accounts
    decision:
      description:
        - V(started), V(reused) (a running aggregation is reported instead), V(waited_then_started) (a running one
          was waited for first), V(failed) (ISC refused the start, see RV(aggregations[].error)) or V(skipped)
          (not sent, see RV(aggregations[].error)).
        - In check mode, what would be done.
      type: str
      sample: started
    task_id:
      description:
        - The id of the task started (or reused), from C(task.id) of a load-accounts answer or C(id) of a
          load-entitlements answer. Null in check mode for a start, and when nothing was started.
      type: str
      sample: 9d64c5e8fca94a5b8c1f0b2d6e8a1c3e
    task:
      description:
        - The task record (TaskStatus) as ISC returns it; after the wait when O(wait=true). When the record could
          not be read back, the task object of the start's answer.
      type: dict
      sample:
        id: 9d64c5e8fca94a5b8c1f0b2d6e8a1c3e
        uniqueName: Cloud Account Aggregation
        target: {id: 2c91808568c529c60168cca6f90c1313, type: APPLICATION, name: "Active Directory [source]"}
        completed: "2025-01-31T08:04:02.000Z"
        completionStatus: SUCCESS
        attributes: {appId: 2c91808568c529c60168cca6f90c1313}
    running_task_ids:
      description: The aggregations of the same kind that were running on the source when the module looked.
      type: list
      elements: str
      sample: []
    recovered:
      description: True when the answer to the start was lost and the task was found among the source's new tasks.
      type: bool
      returned: when true
      sample: true
    error:
      description: Why the source failed or was skipped.
      type: str
      returned: when RV(aggregations[].decision) is V(failed) or V(skipped)
      sample: "ISC answered 404 Not Found | HTTP 404 | ..."
task_ids:
  description: The task ids of RV(aggregations), in order, without the nulls.
  returned: always
  type: list
  elements: str
  sample: [9d64c5e8fca94a5b8c1f0b2d6e8a1c3e]
task_statuses:
  description: The records waited for, as RV(identitynow.tasks.task_status_info#module:task_statuses).
  returned: when O(wait=true) and something was started or reused
  type: list
  elements: dict
summary:
  description: Counts per completion status of the tasks waited for, as in M(identitynow.tasks.task_status_info).
  returned: when O(wait=true) and something was started or reused
  type: dict
missing:
  description: Started tasks that ISC did not return during the wait (the module then fails, unless
    O(fail_on_missing=false)).
  returned: when O(wait=true) and something was started or reused
  type: list
  elements: str
elapsed:
  description: Seconds the wait for the started tasks took.
  returned: when O(wait=true) and something was started or reused
  type: float
  sample: 42.317
polls:
  description: Poll rounds of that wait; each is one list request per 50 running tasks.
  returned: when O(wait=true) and something was started or reused
  type: int
  sample: 6
timed_out:
  description: True when O(wait_timeout) passed before every task finished (the module then fails).
  returned: when O(wait=true) and something was started or reused
  type: bool
  sample: false
"""

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.identitynow.tasks.plugins.module_utils import aggregation
from ansible_collections.identitynow.tasks.plugins.module_utils.connection import client_from_module, isc_argument_spec
from ansible_collections.identitynow.tasks.plugins.module_utils.wait import wait_argument_spec


def module_args():
    """The keyword arguments of AnsibleModule; what a spec cannot say is checked by aggregation.build_plan."""
    return dict(
        argument_spec=isc_argument_spec(
            source_id=dict(type="list", elements="str", required=True, aliases=["source_ids"]),
            kind=dict(type="str", default="accounts", choices=list(aggregation.KINDS)),
            when_running=dict(type="str", default="wait_then_start", choices=list(aggregation.WHEN_RUNNING)),
            disable_optimization=dict(type="bool"),
            file=dict(type="path"),
            **wait_argument_spec()
        ),
        supports_check_mode=True,
    )


def main():
    module = AnsibleModule(**module_args())
    client = client_from_module(module)
    run = aggregation.run(client, module.params, check_mode=module.check_mode)
    for warning in run.warnings + client.warnings:
        module.warn(warning)
    if run.failure:
        module.fail_json(**run.failure)
    module.exit_json(**run.result)


if __name__ == "__main__":
    main()
