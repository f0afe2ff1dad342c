# -*- coding: utf-8 -*-
# Copyright: identitynow.tasks contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Fixtures of the reliability suite: real ansible-playbook runs against the simulated tenant.

``play`` runs a playbook (tasks given as dicts) with ansible-playbook at -vvvv and every traceback shown
(ANSIBLE_DISPLAY_TRACEBACK=always), connected to the session
simulator through module_defaults for group/identitynow.tasks.isc, in a directory of its own: the local
and remote temp dirs, HOME, TMPDIR, the log_path file and the retry files of the run all live there.
After every run, its output and every file it wrote are scanned for the client secrets and for every
access token the simulator issued: any run of the suite that leaks one fails, whatever it tests.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
COLLECTION_ROOT = os.path.dirname(os.path.dirname(HERE))
PAT = {"client_id": "sim-pat-client", "client_secret": "sim-pat-secret"}
API_CLIENT = {"client_id": "sim-api-client", "client_secret": "sim-api-secret"}
#: Every credential the suite uses; wrong ones included (a rejected secret is still a secret).
STATIC_SECRETS = ("sim-pat-secret", "sim-api-secret", "wrong-secret-9f3c2a71", "not-a-token-4b8d1e6a")


def collections_path():
    """ANSIBLE_COLLECTIONS_PATH holding identitynow.tasks (make collection), from the environment or the layout."""
    path = os.environ.get("ANSIBLE_COLLECTIONS_PATH")
    if path:
        return path
    parts = COLLECTION_ROOT.split(os.sep)
    if parts[-3:-2] == ["ansible_collections"]:
        return os.sep.join(parts[:-3])
    return os.path.join(COLLECTION_ROOT, "build", "collections")


class PlaybookRun:
    """One finished ansible-playbook run: rc, out, err, the task results by name, its directory."""

    def __init__(self, rc, out, err, results, directory):
        self.rc = rc
        self.out = out
        self.err = err
        self.results = results
        self.dir = directory

    def result(self, name):
        """The result of the last task called name (with '_status' ok/failed/skipped)."""
        for entry in reversed(self.results):
            if entry["task"] == name:
                return dict(entry["result"], _status=entry["status"])
        raise AssertionError("no result for task %r; tasks: %s\n%s" % (
            name, [e["task"] for e in self.results], self.out[-3000:]))

    def failed(self, name):
        result = self.result(name)
        assert result["_status"] == "failed", "task %r did not fail: %s" % (name, json.dumps(result)[:3000])
        return result

    def ok(self, name):
        result = self.result(name)
        assert result["_status"] == "ok", "task %r failed: %s" % (name, json.dumps(result)[:3000])
        return result


class Running:
    """An ansible-playbook run in the background."""

    def __init__(self, process, directory, results_path):
        self.process = process
        self.dir = directory
        self.results_path = results_path


def leaks(texts, directory, secrets, skip):
    """(where, secret prefix) for every secret found in texts or in a file under directory (skip excepted)."""
    found = []
    blobs = [(name, text.encode("utf-8", "replace")) for name, text in texts]
    for root, dummy, files in os.walk(directory):
        if os.path.abspath(root).startswith(skip):
            continue
        for name in files:
            path = os.path.join(root, name)
            if os.path.islink(path) or not os.path.isfile(path):
                continue
            with open(path, "rb") as handle:
                blobs.append((os.path.relpath(path, directory), handle.read()))
    for where, blob in blobs:
        for secret in secrets:
            if secret and secret.encode("utf-8") in blob:
                found.append((where, secret[:5] + "..."))
    return found


class Player:
    """Runs playbooks against the session simulator; see the module docstring."""

    def __init__(self, sim_server, sim, tmp_path):
        self.sim_server = sim_server
        self.sim = sim
        self.tmp_path = tmp_path
        self.count = 0
        self.scanned = 0

    @property
    def connection(self):
        return dict(base_url=self.sim_server.url, **PAT)

    def secrets(self):
        with self.sim_server.store.lock:
            tokens = list(self.sim_server.store.tokens)
        return list(STATIC_SECRETS) + tokens

    def start(self, tasks, connection=None, verbosity=4, env=None, play=None):
        self.count += 1
        directory = os.path.join(str(self.tmp_path), "run%d" % self.count)
        inputs = os.path.join(directory, "input")
        for sub in ("input", "home", "tmp", "local_tmp", "remote_tmp", "retry"):
            os.makedirs(os.path.join(directory, sub))
        playbook = dict(hosts="localhost", gather_facts=False, tasks=tasks,
                        module_defaults={"group/identitynow.tasks.isc": self.connection if connection is None
                                         else connection})
        playbook.update(play or {})
        path = os.path.join(inputs, "playbook.yml")
        with open(path, "w", encoding="utf-8") as handle:
            json.dump([playbook], handle, indent=1)
        results_path = os.path.join(directory, "results.json")
        environment = dict((k, v) for k, v in os.environ.items()
                           if not k.startswith(("SAIL_", "ANSIBLE_", "PYTEST_", "REQUESTS_CA", "CURL_CA")))
        environment.update(
            ANSIBLE_COLLECTIONS_PATH=collections_path(), ANSIBLE_NOCOLOR="1", ANSIBLE_FORCE_COLOR="0",
            ANSIBLE_LOCALHOST_WARNING="0", ANSIBLE_INVENTORY_UNPARSED_WARNING="0",
            ANSIBLE_PYTHON_INTERPRETER=sys.executable, ANSIBLE_LOCAL_TEMP=os.path.join(directory, "local_tmp"),
            ANSIBLE_REMOTE_TEMP=os.path.join(directory, "remote_tmp"),
            ANSIBLE_LOG_PATH=os.path.join(directory, "ansible.log"), ANSIBLE_RETRY_FILES_ENABLED="1",
            ANSIBLE_RETRY_FILES_SAVE_PATH=os.path.join(directory, "retry"), HOME=os.path.join(directory, "home"),
            TMPDIR=os.path.join(directory, "tmp"), ANSIBLE_CALLBACK_PLUGINS=os.path.join(HERE, "callback_plugins"),
            ANSIBLE_CALLBACKS_ENABLED="reliability_results", ANSIBLE_STDOUT_CALLBACK="default",
            ANSIBLE_DISPLAY_TRACEBACK="always",
            RELIABILITY_RESULTS=results_path)
        environment.update(env or {})
        command = [os.path.join(os.path.dirname(sys.executable), "ansible-playbook"), "-i", "localhost,",
                   "-c", "local", path]
        if verbosity:
            command.append("-" + "v" * verbosity)
        process = subprocess.Popen(command, cwd=directory, env=environment, stdout=subprocess.PIPE,
                                   stderr=subprocess.PIPE, text=True)
        return Running(process, directory, results_path)

    def finish(self, running, timeout=240, scan=True, secrets=()):
        try:
            out, err = running.process.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            running.process.kill()
            out, err = running.process.communicate()
            raise AssertionError("ansible-playbook did not end within %d s:\n%s\n%s" % (timeout, out[-3000:], err))
        results = []
        if os.path.exists(running.results_path):
            with open(running.results_path, encoding="utf-8") as handle:
                results = json.load(handle)
        run = PlaybookRun(running.process.returncode, out, err, results, running.dir)
        if scan:
            found = leaks([("stdout", out), ("stderr", err)], running.dir, self.secrets() + list(secrets),
                          os.path.join(running.dir, "input"))
            assert not found, "secrets leaked (where, secret prefix): %s" % found
            self.scanned += 1
        return run

    def run(self, tasks, **options):
        """start() and finish(); timeout and secrets (more secrets to scan for) go to finish()."""
        timeout = options.pop("timeout", 240)
        secrets = options.pop("secrets", ())
        return self.finish(self.start(tasks, **options), timeout=timeout, secrets=secrets)


@pytest.fixture
def play(sim_server, sim, tmp_path):
    """A Player on the freshly reset session simulator."""
    return Player(sim_server, sim, tmp_path)
