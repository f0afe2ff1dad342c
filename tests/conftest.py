# -*- coding: utf-8 -*-
# Copyright: identitynow.tasks contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Shared pytest fixtures of the identitynow.tasks collection.

- Puts ``tests/simulator`` on ``sys.path`` (the ``isc_sim`` package) and, when the collection sits at
  ``.../ansible_collections/identitynow/tasks``, the directory above ``ansible_collections`` (so that
  ``ansible_collections.identitynow.tasks`` imports).
- ``sim_server`` (session): a simulated ISC tenant on 127.0.0.1 with a free port; ``.url``, ``.port``, ``.stop()``.
- ``sim`` (function): resets ``sim_server`` to scenario ``empty`` with default settings; returns its SimControl.
- ``assert_task_status`` (session): validates a TaskStatus (or a list of them) against the JSON Schema.
"""

from __future__ import annotations

import json
import os
import re
import sys
from datetime import datetime

import pytest

_TESTS_DIR = os.path.dirname(os.path.abspath(__file__))
_COLLECTION_ROOT = os.path.dirname(_TESTS_DIR)


def _add_path(path: str) -> None:
    if path not in sys.path:
        sys.path.insert(0, path)


_add_path(os.path.join(_TESTS_DIR, "simulator"))
_NAMESPACE_DIR = os.path.dirname(_COLLECTION_ROOT)
if (os.path.basename(_COLLECTION_ROOT) == "tasks" and os.path.basename(_NAMESPACE_DIR) == "identitynow"
        and os.path.basename(os.path.dirname(_NAMESPACE_DIR)) == "ansible_collections"):
    _add_path(os.path.dirname(os.path.dirname(_NAMESPACE_DIR)))

from isc_sim import TASK_STATUS_SCHEMA, SimControl, start_simulator  # noqa: E402

_RFC3339 = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$")


def _is_rfc3339(value) -> bool:
    """RFC 3339 ``date-time`` (the JSON Schema format), checked without optional jsonschema extras."""
    if not isinstance(value, str):
        return True
    if not _RFC3339.match(value):
        return False
    try:
        datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return False
    return True


@pytest.fixture(scope="session")
def sim_server():
    """A simulator running in this process for the whole session (scenario ``empty``, default settings)."""
    handle = start_simulator(port=0, scenario="empty")
    yield handle
    handle.stop()


@pytest.fixture
def sim(sim_server):
    """The session simulator reset to scenario ``empty`` with default settings, as a SimControl."""
    control = SimControl(sim_server.url)
    control.reset("empty")
    return control


@pytest.fixture(scope="session")
def assert_task_status():
    """A function that asserts a TaskStatus dict, or each of a list of them, matches the schema; returns it."""
    import jsonschema

    with open(TASK_STATUS_SCHEMA, encoding="utf-8") as handle:
        schema = json.load(handle)
    checker = jsonschema.FormatChecker()
    checker.checks("date-time")(_is_rfc3339)
    validator = jsonschema.Draft202012Validator(schema, format_checker=checker)

    def check(body):
        for record in body if isinstance(body, list) else [body]:
            errors = ["%s: %s" % ("/".join(str(p) for p in error.absolute_path), error.message)
                      for error in validator.iter_errors(record)]
            name = record.get("id") if isinstance(record, dict) else repr(record)
            assert not errors, "TaskStatus %s does not match the schema: %s" % (name, "; ".join(errors))
        return body

    return check
