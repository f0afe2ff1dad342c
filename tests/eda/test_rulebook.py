# -*- coding: utf-8 -*-
# Copyright: identitynow.tasks contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The real ansible-rulebook (Java 17+) runs the shipped rulebook against the simulated tenant.

Run 1: a failed aggregation in the simulator fires the rule; the remediation playbook reports it within one poll
interval plus a few seconds and starts the aggregation of that source again. Run 2, with the same state file: an
aggregation that failed while nothing ran is reported, the one of run 1 is not emitted again.

Run 3: with a wrong client secret, ansible-rulebook stops and shows the source's message (HTTP 401 at the token
endpoint), and the secret appears nowhere.

Without java on PATH (or JAVA_HOME) the tests fail with how to install it; SKIP_EDA_JAVA_TESTS=1 skips them instead.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from conftest import require_java

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
INTERVAL = 5  # the source's minimum
# From the moment the task is finished in the simulator: the event reaches the rule engine within one interval
# plus the time of a poll; the playbook's report comes from a fresh ansible-playbook process (about 4 s on an idle
# machine), a few seconds later again, more on a loaded one.
EVENT_BUDGET = INTERVAL + 3
REPORT_BUDGET = INTERVAL + 10
SALESFORCE = "4087b9bfbd728e9b85b9115b19b58fb1"  # the simulator's source that fails its aggregations
WORKDAY = "d295d8de9431774abdff390514ee29da"


@pytest.fixture(scope="module")
def java():
    return require_java()


def _collections_path():
    if ROOT.parts[-3:] == ("ansible_collections", "identitynow", "tasks"):
        return ROOT.parents[2]
    pytest.fail("run the EDA tests in the collection layout (make eda runs them in build/collections)")


class Rulebook:
    """ansible-rulebook in the background; its output lines with the time they arrived."""

    def __init__(self, workdir, env):
        self.lines = []
        self.process = subprocess.Popen(
            [str(BIN / "ansible-rulebook"), "-r", "identitynow.tasks.remediate_failed_aggregation", "-i",
             "inventory.yml", "-e", "vars.yml", "--print-events", "--shutdown-delay", "5"],
            cwd=str(workdir), env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self):
        for line in self.process.stdout:
            self.lines.append((time.monotonic(), line.rstrip("\n")))

    def text(self):
        return "\n".join(line for dummy, line in self.lines)

    def wait_for(self, pattern, timeout):
        """The time the first line matching pattern arrived; fails after timeout seconds."""
        deadline = time.monotonic() + timeout
        regex = re.compile(pattern)
        while time.monotonic() < deadline:
            for moment, line in list(self.lines):
                if regex.search(line):
                    return moment
            if self.process.poll() is not None:
                break
            time.sleep(0.1)
        raise AssertionError("no line matching %r within %s s (rc %s); output:\n%s"
                             % (pattern, timeout, self.process.poll(), self.text()[-8000:]))

    def stop(self):
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)
        self.reader.join(5)
        return self.text()


def _wait_for_polls(sim, count, timeout=60):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        polls = [e for e in sim.log() if e["path"] == "/v2026/task-status" and e["query"].get("sorters") == "-created"]
        if len(polls) >= count:
            return
        time.sleep(0.1)
    raise AssertionError("the source did not poll %d times within %s s" % (count, timeout))


def _starts(sim, source_id):
    return [e for e in sim.log() if e["method"] == "POST" and e["path"].endswith("/%s/load-accounts" % source_id)]


def test_rulebook_remediates_a_failed_aggregation_and_resumes_from_its_state(java, sim, sim_server, tmp_path):
    sim.settings(race_window=0.5)
    (tmp_path / "inventory.yml").write_text(
        "all:\n  hosts:\n    localhost:\n      ansible_connection: local\n      ansible_python_interpreter: %s\n"
        % sys.executable, encoding="utf-8")
    state = tmp_path / "state.json"
    (tmp_path / "vars.yml").write_text("isc_interval: %d\nisc_state_file: %s\n" % (INTERVAL, state), encoding="utf-8")
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=str(_collections_path()), ANSIBLE_NOCOLOR="1",
               ANSIBLE_FORCE_COLOR="0", NO_COLOR="1", SAIL_BASE_URL=sim_server.url, SAIL_CLIENT_ID="sim-pat-client",
               SAIL_CLIENT_SECRET="sim-pat-secret", PATH="%s%s%s" % (BIN, os.pathsep, os.environ.get("PATH", "")),
               JAVA_HOME=str(Path(os.path.realpath(java)).parents[1]))
    # The restarted aggregation of Salesforce succeeds, so that it emits no event of its own.
    sim.add_source(id=SALESFORCE, name="Salesforce", outcome="SUCCESS", duration=1)

    first = Rulebook(tmp_path, env)
    try:
        _wait_for_polls(sim, 1)
        failed = sim.add_task(source_name="Salesforce", outcome="ERROR", duration=0.3)
        finished = time.monotonic() + 0.3 + 0.5  # duration, then the race window: completionStatus is set
        received = first.wait_for(r"'event_key': '%s:finished'" % failed["id"], EVENT_BUDGET + 20)
        reported = first.wait_for(r"ISC task %s \(Cloud Account Aggregation of Salesforce \[source\]\) finished "
                                  r"with ERROR" % failed["id"], REPORT_BUDGET + 20)
        assert received - finished <= EVENT_BUDGET, "the event came %.1f s after the failure" % (received - finished)
        assert reported - finished <= REPORT_BUDGET, "reported %.1f s after the failure" % (reported - finished)
        first.wait_for(r"Started accounts aggregation of source %s: task [0-9a-f]{32}" % SALESFORCE, 30)
        assert len(_starts(sim, SALESFORCE)) == 1
        _wait_for_polls(sim, len([e for e in sim.log() if e["query"].get("sorters") == "-created"]) + 1)
    finally:
        output_one = first.stop()
    assert "Traceback" not in output_one and "sim-pat-secret" not in output_one
    assert output_one.count("'event_key': '%s:finished'" % failed["id"]) == 1
    assert state.is_file() and oct(state.stat().st_mode & 0o777) == "0o600"

    # While nothing runs, Workday's aggregation fails.
    other = sim.add_task(source_name="Workday", outcome="TERMINATED", duration=0.2)
    time.sleep(1.0)
    second = Rulebook(tmp_path, env)
    try:
        second.wait_for(r"ISC task %s \(Cloud Account Aggregation of Workday \[source\]\) finished with TERMINATED"
                        % other["id"], 60)
        second.wait_for(r"(Started|Reused the running) accounts aggregation of source %s" % WORKDAY, 30)
        # One more poll, to be sure it brings nothing that run 1 emitted.
        _wait_for_polls(sim, len([e for e in sim.log() if e["query"].get("sorters") == "-created"]) + 1)
    finally:
        output_two = second.stop()
    assert "Traceback" not in output_two
    assert failed["id"] not in output_two, "the second run repeated the event of the first"
    assert output_two.count("'event_key': '%s:finished'" % other["id"]) == 1


def test_a_credential_error_stops_the_activation_with_the_message(java, sim, sim_server, tmp_path):
    """ansible-rulebook ends (non-zero) and shows why; the wrong secret appears nowhere."""
    (tmp_path / "inventory.yml").write_text("all:\n  hosts:\n    localhost:\n      ansible_connection: local\n",
                                            encoding="utf-8")
    (tmp_path / "vars.yml").write_text("isc_interval: %d\n" % INTERVAL, encoding="utf-8")
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=str(_collections_path()), ANSIBLE_NOCOLOR="1",
               SAIL_BASE_URL=sim_server.url, SAIL_CLIENT_ID="sim-pat-client", SAIL_CLIENT_SECRET="wrong-secret-7c1d2",
               PATH="%s%s%s" % (BIN, os.pathsep, os.environ.get("PATH", "")),
               JAVA_HOME=str(Path(os.path.realpath(java)).parents[1]))
    rulebook = Rulebook(tmp_path, env)
    try:
        rulebook.process.wait(90)
    finally:
        output = rulebook.stop()
    assert rulebook.process.returncode not in (0, None), output
    assert re.search(r"ConfigurationError: Source plugin failed with error message: .*HTTP 401.*/oauth/token", output), \
        output[-4000:]
    assert "wrong-secret-7c1d2" not in output
