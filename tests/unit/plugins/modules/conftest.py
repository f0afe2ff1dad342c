# -*- coding: utf-8 -*-
# Copyright: identitynow.tasks contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The one runner of the module tests: a module's main() in-process, connected to the simulated tenant."""

from __future__ import annotations

import json

import pytest

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.testing import patch_module_args

# A personal access token of the simulator: its token has a user context, so PATCH works.
PAT = dict(client_id="sim-pat-client", client_secret="sim-pat-secret")


@pytest.fixture
def run_module(sim, capsys, monkeypatch):
    """run_module(module, check_mode=False, diff=False, **options) -> the module's JSON result.

    The module runs against the simulator with the personal access token (options override it). The
    exit code agrees with the result's failed key; result["warnings"] holds the texts the module gave
    module.warn() in this run (recorded there: where warnings go depends on what else the process loaded).
    """
    recorded = []
    original_warn = AnsibleModule.warn

    def warn(self, warning):
        recorded.append(warning)
        original_warn(self, warning)

    monkeypatch.setattr(AnsibleModule, "warn", warn)

    def call(module, check_mode=False, diff=False, **options):
        args = dict(base_url=sim.url, **PAT)
        args.update(options, _ansible_check_mode=check_mode, _ansible_diff=diff)
        capsys.readouterr()
        del recorded[:]
        with patch_module_args(args):
            with pytest.raises(SystemExit) as info:
                module.main()
        result = json.loads(capsys.readouterr().out)
        assert bool(info.value.code) == bool(result.get("failed"))
        result["warnings"] = list(recorded)
        return result

    return call
