# -*- coding: utf-8 -*-
# Copyright: identitynow.tasks contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The shared pacing state on a shared host: nobody else can touch it, and nothing found there harms a run.

Each attack is planted where the code looks (pacing_path with the temporary directory of the test) with
real files: symbolic links, FIFOs, hard links, a lock held by another process, files and directories of
another owner (os.chown, so those cases need root: the suite runs as root here and in CI) and corrupt
contents. The last tests run the module through ansible-playbook with the attack in its TMPDIR.
"""

from __future__ import annotations

import fcntl
import json
import os
import stat
import subprocess
import sys
import threading
import time

import pytest

from ansible_collections.identitynow.tasks.plugins.module_utils import pacing
from ansible_collections.identitynow.tasks.plugins.module_utils.pacing import RateLimiter
from ansible_collections.identitynow.tasks.tests.reliability.conftest import PAT
from ansible_collections.identitynow.tasks.tests.reliability.helpers import info, stuck

TOKEN_URL = "https://acme.api.identitynow.com/oauth/token"
FOREIGN_UID = 54321
VICTIM = b"precious: do not overwrite\n"
needs_root = pytest.mark.skipif(os.geteuid() != 0, reason="a file of another owner can only be made as root")


class Clock:
    """A fake clock whose sleep advances it and can run a callback just before the sleeper wakes."""

    def __init__(self, start=1000.0):
        self.now = start
        self.sleeps = []
        self.while_asleep = None

    def __call__(self):
        return self.now

    def sleep(self, seconds):
        self.sleeps.append(seconds)
        self.now += seconds
        if self.while_asleep is not None:
            self.while_asleep()  # just before waking


@pytest.fixture
def state(tmp_path, monkeypatch):
    """The pacing file path the code uses, with the temporary directory (mode 1777, as /tmp) in tmp_path."""
    temp = tmp_path / "tmp"
    temp.mkdir()
    os.chmod(str(temp), 0o1777)
    monkeypatch.setattr(pacing.tempfile, "gettempdir", lambda: str(temp))
    monkeypatch.delenv("XDG_RUNTIME_DIR", raising=False)
    return pacing.pacing_path(TOKEN_URL, "client-a", None, "v2026")


def plant_directory_link(path, target):
    """Plant the directory of path as a symbolic link to target (an empty directory in its place goes first)."""
    directory = os.path.dirname(path)
    if os.path.isdir(directory) and not os.path.islink(directory):
        os.rmdir(directory)
    os.symlink(str(target), directory)


def private_dir(path):
    """Create the directory of path as the code would (0700, ours), to plant something inside it."""
    directory = os.path.dirname(path)
    if not os.path.isdir(directory):
        os.mkdir(directory, 0o700)
    return directory


def pace(path, requests=3, limit=2, clock=None, **options):
    """Pace `requests` requests through the shared file at path; (limiter, warnings, clock)."""
    clock = clock or Clock()
    warnings = []
    limiter = RateLimiter(limit, 10.0, clock=clock, sleep=clock.sleep, path=path, warn=warnings.append, **options)
    for dummy in range(requests):
        limiter.done(limiter.acquire())
    return limiter, warnings, clock


def in_thread(call, timeout=15.0):
    """Run call in a thread; its result, or an AssertionError when it blocks past timeout."""
    outcome = {}

    def target():
        try:
            outcome["result"] = call()
        except BaseException as exc:  # pylint: disable=broad-except
            outcome["error"] = exc

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    thread.join(timeout)
    assert not thread.is_alive(), "blocked for more than %g s" % timeout
    if "error" in outcome:
        raise outcome["error"]
    return outcome["result"]


def fell_back(limiter, warnings, clock, reason):
    """The limiter gave up the shared file with one warning naming the reason, and still paces per process."""
    assert limiter.path is None
    assert len(warnings) == 1 and "per process" in warnings[0] and reason in warnings[0], warnings
    assert clock.sleeps == [pytest.approx(10.0 + RateLimiter.MARGIN)]  # 3 requests under a limit of 2


# ------------------------------------------------------------------------------------ the directory
def test_the_state_lives_in_a_private_directory_created_0700(state):
    limiter, warnings, dummy = pace(state)
    directory = os.path.dirname(state)
    info_dir = os.lstat(directory)
    assert stat.S_ISDIR(info_dir.st_mode) and stat.S_IMODE(info_dir.st_mode) == 0o700
    assert info_dir.st_uid == os.geteuid()
    assert os.path.basename(directory) == "identitynow.tasks-%d" % os.geteuid()
    info_file = os.lstat(state)
    assert stat.S_ISREG(info_file.st_mode) and stat.S_IMODE(info_file.st_mode) == 0o600
    assert limiter.path == state and warnings == []
    with open(state, encoding="utf-8") as handle:
        assert json.load(handle) == [pytest.approx(1010.1)]  # the third request; the first two left the window


def test_the_runtime_directory_is_used_when_it_is_private(tmp_path, monkeypatch):
    runtime = tmp_path / "run-user"
    runtime.mkdir(mode=0o700)
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(runtime))
    path = pacing.pacing_path(TOKEN_URL, "client-a", None, "v2026")
    assert os.path.dirname(path) == str(runtime / "identitynow.tasks")
    limiter, warnings, dummy = pace(path)
    assert limiter.path == path and warnings == [] and os.path.isfile(path)
    assert stat.S_IMODE(os.lstat(str(runtime / "identitynow.tasks")).st_mode) == 0o700


@pytest.mark.parametrize("runtime", ["symlink", "writable", "relative", "missing"])
def test_an_unsafe_runtime_directory_is_passed_over_for_the_temporary_directory(tmp_path, monkeypatch, runtime):
    real = tmp_path / "real"
    real.mkdir(mode=0o700)
    value = {"symlink": str(tmp_path / "link"), "writable": str(real), "relative": "run/user",
             "missing": str(tmp_path / "nothing")}[runtime]
    if runtime == "symlink":
        os.symlink(str(real), value)
    if runtime == "writable":
        os.chmod(value, 0o777)
    monkeypatch.setenv("XDG_RUNTIME_DIR", value)
    monkeypatch.setattr(pacing.tempfile, "gettempdir", lambda: str(tmp_path))
    assert pacing.state_dir() == str(tmp_path / ("identitynow.tasks-%d" % os.geteuid()))


def test_a_symlink_as_the_directory_is_not_followed(state, tmp_path):
    """Another user plants the state directory as a link to a directory of theirs: nothing is written there."""
    attacker = tmp_path / "attacker"
    attacker.mkdir()
    plant_directory_link(state, attacker)
    outcome = pace(state)
    assert os.listdir(str(attacker)) == []
    fell_back(*outcome, reason="symbolic link")


@needs_root
def test_a_directory_of_another_user_is_not_used(state):
    directory = os.path.dirname(state)
    if not os.path.isdir(directory):
        os.mkdir(directory, 0o700)
    before = sorted(os.listdir(directory))
    os.chown(directory, FOREIGN_UID, FOREIGN_UID)
    outcome = pace(state)
    assert sorted(os.listdir(directory)) == before
    fell_back(*outcome, reason="belongs to uid %d" % FOREIGN_UID)


def test_a_directory_others_can_write_is_not_used(state):
    directory = os.path.dirname(state)
    if not os.path.isdir(directory):
        os.mkdir(directory, 0o700)
    before = sorted(os.listdir(directory))
    os.chmod(directory, 0o777)
    outcome = pace(state)
    assert sorted(os.listdir(directory)) == before
    fell_back(*outcome, reason="can be written by others")


# ------------------------------------------------------------------------------------------ the file
def test_a_symlink_at_the_file_is_not_followed(state, tmp_path):
    victim = tmp_path / "victim"
    victim.write_bytes(VICTIM)
    private_dir(state)
    os.symlink(str(victim), state)
    outcome = pace(state)
    assert victim.read_bytes() == VICTIM
    assert os.path.islink(state)
    fell_back(*outcome, reason="symbolic link")


def test_a_dangling_symlink_at_the_file_creates_nothing(state, tmp_path):
    target = tmp_path / "created-by-us"
    private_dir(state)
    os.symlink(str(target), state)
    outcome = pace(state)
    assert not target.exists()
    fell_back(*outcome, reason="symbolic link")


def test_a_fifo_at_the_file_neither_blocks_nor_crashes(state):
    private_dir(state)
    os.mkfifo(state, 0o600)
    fell_back(*in_thread(lambda: pace(state)), reason="not a regular file")
    assert stat.S_ISFIFO(os.lstat(state).st_mode)


def test_a_hard_link_is_not_written_through(state, tmp_path):
    victim = tmp_path / "victim"
    victim.write_bytes(VICTIM)
    private_dir(state)
    os.link(str(victim), state)
    outcome = pace(state)
    assert victim.read_bytes() == VICTIM
    fell_back(*outcome, reason="2 hard links")


@needs_root
def test_a_file_of_another_user_is_not_used_or_written(state):
    private_dir(state)
    with open(state, "w", encoding="utf-8") as handle:
        handle.write("[]")
    os.chmod(state, 0o600)
    os.chown(state, FOREIGN_UID, FOREIGN_UID)
    outcome = pace(state)
    with open(state, encoding="utf-8") as handle:
        assert handle.read() == "[]"
    fell_back(*outcome, reason="belongs to uid %d" % FOREIGN_UID)


def test_a_file_others_can_write_is_not_used_or_written(state):
    private_dir(state)
    with open(state, "w", encoding="utf-8") as handle:
        handle.write("[]")
    os.chmod(state, 0o666)
    outcome = pace(state)
    with open(state, encoding="utf-8") as handle:
        assert handle.read() == "[]"
    fell_back(*outcome, reason="can be written by others")


def test_a_directory_at_the_file_is_not_fatal(state):
    private_dir(state)
    os.mkdir(state)
    fell_back(*pace(state), reason=state)


@pytest.mark.parametrize("content", [
    b"[" * 200000,                        # nesting deeper than Python's recursion limit
    b"[1000.0, " + b" " * (2 << 20) + b"1000.0]",  # larger than any pacing file
    b"\xff\xfe not utf-8",
    b'{"not": "a list"}',
    b"null",
    b'[1000.0, "1000.0"]',
    b"[NaN, Infinity]",
    b"[1e999]",
    b"[" + b"9" * 400 + b"]",
    b"[true, false]",
], ids=["deep", "huge", "binary", "object", "null", "string", "nan", "overflow", "bigint", "bool"])
def test_a_corrupt_file_is_never_fatal_and_is_started_anew(state, content):
    private_dir(state)
    with open(state, "wb") as handle:
        handle.write(content)
    os.chmod(state, 0o600)
    limiter, warnings, clock = pace(state)
    assert limiter.path == state, "the file is ours in our directory: sharing goes on"
    assert len(warnings) == 1 and "started anew" in warnings[0], warnings
    assert clock.sleeps == [pytest.approx(10.0 + RateLimiter.MARGIN)]
    with open(state, encoding="utf-8") as handle:
        times = json.load(handle)
    assert times == [pytest.approx(1010.1)]  # the third request; the first two have left the window


# ------------------------------------------------------------------------------------------ the lock
HOLDER = """
import fcntl, os, sys, time
descriptor = os.open(sys.argv[1], os.O_RDWR)
fcntl.flock(descriptor, fcntl.LOCK_EX)
print("locked", flush=True)
time.sleep(float(sys.argv[2]))
"""


def test_a_lock_held_by_another_process_does_not_block_for_ever(state):
    pace(state, requests=1)  # the file exists, as after an earlier run
    with open(state, encoding="utf-8") as handle:
        before = handle.read()
    holder = subprocess.Popen([sys.executable, "-c", HOLDER, state, "60"], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "locked"
        started = time.monotonic()
        outcome = in_thread(lambda: pace(state), timeout=20)
        elapsed = time.monotonic() - started
    finally:
        holder.kill()
        holder.wait()
    assert RateLimiter.LOCK_TIMEOUT <= elapsed < RateLimiter.LOCK_TIMEOUT + 5  # slack for a loaded machine
    with open(state, encoding="utf-8") as handle:
        assert handle.read() == before
    fell_back(*outcome, reason="could not be locked within 2 s (held by another process)")


def lock_is_free(path):
    descriptor = os.open(path, os.O_RDWR)
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return True
    except BlockingIOError:
        return False
    finally:
        os.close(descriptor)


def test_the_lock_is_never_held_while_sleeping_and_the_window_stays_shared(state):
    """A waits for a free slot; while it sleeps, B (another process of the same client) finds the lock free
    and takes the slot that expired first. A, woken, reads B's slot and waits again: one window for both."""
    clock = Clock()
    first = RateLimiter(1, 10.0, clock=clock, sleep=clock.sleep, path=state)
    second = RateLimiter(1, 10.0, clock=clock, sleep=lambda seconds: None, path=state)
    first.done(first.acquire())  # at 1000.0
    sends = [clock()]
    free = []

    def while_asleep():
        free.append(lock_is_free(state))
        if free[-1] and len(free) == 1:  # B runs as the first slot expires, before A wakes
            sends.append(clock())
            second.done(second.acquire())

    clock.while_asleep = while_asleep
    first.done(first.acquire())
    sends.append(clock())
    assert free and all(free), "the lock was held while sleeping"
    assert sends == [pytest.approx(1000.0), pytest.approx(1010.1), pytest.approx(1020.2)]
    assert clock.sleeps == [pytest.approx(10.1), pytest.approx(10.1)]
    assert first.path == second.path == state


# ---------------------------------------------------------------------------- through ansible-playbook
@pytest.mark.parametrize("attack", ["symlink", "fifo", "directory symlink"])
def test_a_module_run_meets_a_planted_pacing_state(play, sim, tmp_path, monkeypatch, attack):
    """The module runs, paces per process, warns, and leaves the planted target alone; no exception.

    (The run shows tracebacks all the same: ANSIBLE_DISPLAY_TRACEBACK=always gives every warning the place
    it was raised from.)"""
    task = stuck(sim)[0]
    temp = tmp_path / "module-tmp"
    temp.mkdir()
    os.chmod(str(temp), 0o1777)
    monkeypatch.setattr(pacing.tempfile, "gettempdir", lambda: str(temp))
    monkeypatch.delenv("XDG_RUNTIME_DIR", raising=False)
    path = pacing.pacing_path(play.sim_server.url + "/oauth/token", PAT["client_id"], None, "v2026")
    victim = tmp_path / "victim"
    victim.write_bytes(VICTIM)
    attacker = tmp_path / "attacker"
    attacker.mkdir()
    if attack == "directory symlink":
        plant_directory_link(path, attacker)
    else:
        private_dir(path)
        if attack == "symlink":
            os.symlink(str(victim), path)
        else:
            os.mkfifo(path, 0o600)
    run = play.run([info("get", id=task["id"]), info("list", pending=True)],
                   env={"TMPDIR": str(temp), "XDG_RUNTIME_DIR": ""}, timeout=90)
    assert victim.read_bytes() == VICTIM
    assert os.listdir(str(attacker)) == []
    for name in ("get", "list"):
        result = run.ok(name)
        assert any("pacing is per process" in w for w in result.get("warnings", [])), result
    assert [t["id"] for t in run.result("get")["task_statuses"]] == [task["id"]]
    assert run.rc == 0 and not any("exception" in e["result"] for e in run.results), run.out[-3000:]
