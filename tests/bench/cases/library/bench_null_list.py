# -*- coding: utf-8 -*-
# Copyright: identitynow.tasks contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The null module of benchmark case 1: Ansible's own floor for returning the records of a list.

No HTTP and no collection code: it reads a JSON file of task records and returns them as ``task_statuses``,
through the same AnsibleModule machinery as task_status_info (argument handling, ``remove_values`` of the no_log
values, the module-to-controller JSON encoder). Like task_status_info run with the SAIL_* variables, it has one
no_log value, the client secret from SAIL_CLIENT_SECRET, so that the redaction walk of the result is the same.
Ansible finds it in the library/ folder next to the playbooks of cases/; it is not one of the collection's plugins.
"""

from __future__ import annotations

DOCUMENTATION = r"""
module: bench_null_list
short_description: Return task records read from a file (benchmark floor, no HTTP)
description:
  - Reads a JSON array of task records from O(path) and returns it as RV(task_statuses).
  - Used only by the benchmark harness of identitynow.tasks (tests/bench/bench.py, case 1).
options:
  path:
    description: JSON file holding an array of task records.
    type: path
    required: true
  client_secret:
    description: A no_log value, as task_status_info has; read from SAIL_CLIENT_SECRET when not given.
    type: str
author:
  - identitynow.tasks contributors
"""

RETURN = r"""
task_statuses:
  description: The records of the file, unchanged.
  returned: always
  type: list
  elements: dict
"""

import json

from ansible.module_utils.basic import AnsibleModule, env_fallback


def main():
    module = AnsibleModule(
        argument_spec=dict(
            path=dict(type="path", required=True),
            client_secret=dict(type="str", no_log=True, fallback=(env_fallback, ["SAIL_CLIENT_SECRET"])),
        ),
        supports_check_mode=True,
    )
    with open(module.params["path"], "rb") as handle:
        records = json.load(handle)
    module.exit_json(changed=False, task_statuses=records)


if __name__ == "__main__":
    main()
