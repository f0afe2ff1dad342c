# -*- coding: utf-8 -*-
# Copyright: identitynow.tasks contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Fixtures of the event source tests (tests/eda; make eda).

- ``source_module``: extensions/eda/plugins/event_source/task_status.py loaded by path, as ansible-rulebook
  loads it; its MIN_INTERVAL lowered so that main() can be tested with polls a fraction of a second apart.
- ``ListQueue``: the queue main() is given in the tests, a list with an async put.
- ``sim_args(sim_server, **options)``: arguments of the source for the simulator, with the personal access token.
"""

from __future__ import annotations

import asyncio
import importlib.util
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PLUGIN = ROOT / "extensions" / "eda" / "plugins" / "event_source" / "task_status.py"
sys.path.insert(0, str(Path(__file__).resolve().parent))


@pytest.fixture(scope="session")
def plugin_module():
    spec = importlib.util.spec_from_file_location("identitynow_tasks_task_status_source", str(PLUGIN))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def source_module(plugin_module, monkeypatch):
    monkeypatch.setattr(plugin_module, "MIN_INTERVAL", 0.05)
    return plugin_module


class ListQueue:
    """What main() puts, in order."""

    def __init__(self):
        self.events = []

    async def put(self, event):
        self.events.append(event)

    def put_nowait(self, event):
        self.events.append(event)


def sim_args(url, **options):
    args = dict(base_url=url, client_id="sim-pat-client", client_secret="sim-pat-secret", interval=0.2)
    args.update(options)
    return args


async def run_until(module, args, condition, timeout=15.0, queue=None):
    """Run main(queue, args) until condition(queue.events) holds (or main ends); returns the queue."""
    queue = queue or ListQueue()
    task = asyncio.ensure_future(module.main(queue, args))
    deadline = asyncio.get_running_loop().time() + timeout
    try:
        while not task.done() and not condition(queue.events):
            if asyncio.get_running_loop().time() > deadline:
                raise AssertionError("condition not met within %s s; events: %s"
                                     % (timeout, [(e["transition"], e["task_id"]) for e in queue.events]))
            await asyncio.sleep(0.02)
        if task.done():
            task.result()  # raises what main raised
    finally:
        task.cancel()
        try:
            await task
        except asyncio.CancelledError:
            pass
    return queue


def java_missing_message():
    """How to get Java for ansible-rulebook, and how to skip the tests that need it."""
    return ("the EDA integration test runs ansible-rulebook, which needs Java 17 or newer on PATH (or JAVA_HOME): "
            "install it (Debian/Ubuntu: apt-get install openjdk-17-jre-headless; Fedora/RHEL: dnf install "
            "java-17-openjdk-headless; macOS: brew install openjdk@17), or set SKIP_EDA_JAVA_TESTS=1 to skip the "
            "tests that need it")


def java_opt_out():
    """True when the user has chosen to skip the tests that need Java (SKIP_EDA_JAVA_TESTS=1)."""
    return os.environ.get("SKIP_EDA_JAVA_TESTS", "").strip().lower() in ("1", "true", "yes")


def require_java():
    """The java command (JAVA_HOME, else PATH) if it is Java 17 or newer; else pytest.fail with how to install
    it, or pytest.skip when the user opted out."""
    home = os.environ.get("JAVA_HOME")
    command = os.path.join(home, "bin", "java") if home else None
    if not (command and os.access(command, os.X_OK)):
        command = shutil.which("java")
    problem = None
    if command is None:
        problem = "java is not on PATH and JAVA_HOME is not set"
    else:
        output = subprocess.run([command, "-version"], capture_output=True, text=True, check=False).stderr
        match = re.search(r'version "(\d+)', output)
        if not match or int(match.group(1)) < 17:
            problem = "java at %s is not Java 17 or newer (%s)" % (command, output.strip()[:200])
    if problem is None:
        return command
    if java_opt_out():
        pytest.skip("SKIP_EDA_JAVA_TESTS is set: %s" % problem)
    pytest.fail("%s: %s" % (problem, java_missing_message()))
