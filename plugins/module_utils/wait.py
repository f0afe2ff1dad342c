# -*- coding: utf-8 -*-
# Copyright: identitynow.tasks contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The wait options shared by the modules that wait for tasks.

The matching documentation is the doc fragment identitynow.tasks.wait.
"""

from __future__ import annotations


def wait_argument_spec():
    """A fresh argument spec of the wait options (the defaults live here, and only here)."""
    return dict(
        wait=dict(type="bool", default=False),
        wait_timeout=dict(type="float", default=600.0),
        wait_sleep=dict(type="float", default=5.0),
        wait_sleep_max=dict(type="float", default=30.0),
        fail_on_status=dict(type="list", elements="str"),
        fail_on_missing=dict(type="bool", default=False),
    )
