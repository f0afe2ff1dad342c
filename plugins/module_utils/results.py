# -*- coding: utf-8 -*-
# Copyright: identitynow.tasks contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""What the logic of a module hands back to its main(): one RunResult, and how main() ends with it.

Every module's main() reads the same: documentation, argument spec, one call into module_utils, result::

    module = AnsibleModule(**module_args())
    client = client_from_module(module)
    finish(module, client, task_query.execute(client, module.params))

(It is not called an outcome: task_status reports an ``outcome`` per task, a different thing.)
"""

from __future__ import annotations


class RunResult:
    """The module result, the warnings for the user, and the fail_json arguments when the module fails.

    failure, when set, holds every key of result as well (fail_json returns them too) and a msg.
    """

    def __init__(self, result, warnings=None, failure=None):
        self.result = result
        self.warnings = list(warnings or [])
        self.failure = failure

    @classmethod
    def failed(cls, error, warnings=None, **result):
        """A RunResult that fails with an IscError's details (and result's keys, changed=False by default)."""
        result.setdefault("changed", False)
        failure = dict(result)
        failure.update(error.to_result())
        return cls(result, warnings, failure)


def finish(module, client, run):
    """End the module with a RunResult: every warning (the run's, then the client's), then fail_json or exit_json."""
    for warning in run.warnings + client.warnings:
        module.warn(warning)
    if run.failure:
        module.fail_json(**run.failure)
    module.exit_json(**run.result)
