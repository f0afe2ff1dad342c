# -*- coding: utf-8 -*-
# Copyright: identitynow.tasks contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""isc_sim: a simulated SailPoint Identity Security Cloud tenant for the task-status API.

Standard library only. Start one in-process with :func:`start_simulator`, or from a shell with
``PYTHONPATH=tests/simulator python -m isc_sim``; drive it with :class:`SimControl`. See docs/simulator.md.
"""

from __future__ import annotations

import os

from .control import SimControl, SimControlError, SimResponse
from .server import SimHandle, start_simulator

DATA_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "data")
#: JSON Schema (draft 2020-12) of TaskStatus, translated from the spec.
TASK_STATUS_SCHEMA = os.path.join(DATA_DIR, "taskstatus.schema.json")
#: JSON Schema (draft 2020-12) of ErrorResponseDto, translated from the spec.
ERROR_RESPONSE_SCHEMA = os.path.join(DATA_DIR, "errorresponse.schema.json")
#: JSON Schemas (draft 2020-12) of the 202 bodies of load-accounts and load-entitlements, translated from the spec.
LOAD_ACCOUNTS_SCHEMA = os.path.join(DATA_DIR, "loadaccountstask.schema.json")
LOAD_ENTITLEMENTS_SCHEMA = os.path.join(DATA_DIR, "loadentitlementtask.schema.json")

__all__ = ["start_simulator", "SimHandle", "SimControl", "SimControlError", "SimResponse",
           "TASK_STATUS_SCHEMA", "ERROR_RESPONSE_SCHEMA", "LOAD_ACCOUNTS_SCHEMA", "LOAD_ENTITLEMENTS_SCHEMA"]
