# -*- coding: utf-8 -*-
# Copyright: identitynow.tasks contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Module params as AnsibleModule makes them, for the tests of the modules' logic.

``module_params(task_status, id="a", completion_status="error")`` checks the options against the module's
real argument spec and rules (``module_args()``) and fills in the shipped defaults, so that a test of
module_utils tests what the module really passes.
"""

from __future__ import annotations

from ansible.module_utils.common.arg_spec import ArgumentSpecValidator


class SpecError(Exception):
    """Options the module's argument spec rejects; the message is AnsibleModule's."""


def module_params(module, **options):
    """The params the module's main() would get for options; SpecError when the argument spec rejects them."""
    args = dict(module.module_args())
    args.pop("supports_check_mode", None)
    spec = args.pop("argument_spec")
    result = ArgumentSpecValidator(spec, **args).validate(options)
    if result.error_messages:
        raise SpecError("; ".join(result.error_messages))
    return result.validated_parameters
