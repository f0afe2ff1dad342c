# -*- coding: utf-8 -*-
# Copyright: identitynow.tasks contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Facts and small helpers shared by the client tests: a task, a PATCH, the simulator's PAT, failure()."""

from __future__ import annotations

import socket

import pytest

from ansible_collections.identitynow.tasks.plugins.module_utils.errors import IscError

#: The client secret of the ``connect`` fixture (tests/unit/plugins/module_utils/conftest.py).
SECRET = "cc-secret-5e8f0a1b2c3d"
TASK_ID = "00eebcf881994e419d72e757fd30dc0e"
TASK = {"id": TASK_ID, "completionStatus": None}
PATCH_OPS = [{"op": "replace", "path": "/completionStatus", "value": "ERROR"}]
#: The personal access token the simulator seeds (client id, client secret).
PAT = ("sim-pat-client", "sim-pat-secret")


def free_port():
    """A port of 127.0.0.1 that nothing listens on (at the time of the call)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def failure(call, *args, **kwargs):
    """The IscError that call(*args, **kwargs) raises (the test fails if it raises nothing)."""
    with pytest.raises(IscError) as info:
        call(*args, **kwargs)
    return info.value
