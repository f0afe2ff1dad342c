# -*- coding: utf-8 -*-
# Copyright: identitynow.tasks contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""``python -m isc_sim`` as a process: it stops on SIGTERM/SIGINT however often they come, and says why it
cannot start."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))


def start(tmp_path, port=0):
    """A simulator process on ``port``; returns (process, bound port)."""
    port_file = tmp_path / "port"
    env = dict(os.environ, PYTHONPATH=HERE, SIM_SCENARIO="empty")
    proc = subprocess.Popen([sys.executable, "-m", "isc_sim", "--port", str(port), "--port-file", str(port_file)],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if port_file.exists() and port_file.read_text().strip():
            return proc, int(port_file.read_text())
        if proc.poll() is not None:
            raise AssertionError("the simulator exited: %r" % (proc.communicate(),))
        time.sleep(0.02)
    proc.kill()
    raise AssertionError("the simulator did not start")


def listening(port) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
        return True
    except OSError:
        return False


@pytest.mark.parametrize("signals", [
    [signal.SIGTERM],
    [signal.SIGINT],
    [signal.SIGTERM, signal.SIGTERM],
    [signal.SIGINT, signal.SIGINT],
    # A storm, as from a terminal and make at once: the handler is re-entered while it runs.
    [signal.SIGINT, signal.SIGTERM] * 25,
], ids=["term", "int", "term-twice", "int-twice", "storm"])
def test_signals_stop_it_within_5_seconds(tmp_path, signals):
    proc, port = start(tmp_path)
    assert listening(port)
    began = time.monotonic()
    for number in signals:
        try:
            proc.send_signal(number)
        except ProcessLookupError:  # already gone: fine
            break
        time.sleep(0.001)
    try:
        out, err = proc.communicate(timeout=5)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.communicate()
        raise AssertionError("the simulator was still running 5 s after %d signal(s)" % len(signals))
    assert time.monotonic() - began < 5
    assert proc.returncode == 0, err
    assert b"Traceback" not in err
    assert not listening(port)


def test_a_busy_port_is_named(tmp_path):
    holder = socket.socket()
    holder.bind(("127.0.0.1", 0))
    holder.listen(1)
    port = holder.getsockname()[1]
    try:
        env = dict(os.environ, PYTHONPATH=HERE, SIM_PORT=str(port))
        done = subprocess.run([sys.executable, "-m", "isc_sim"], env=env, capture_output=True, timeout=20, check=False)
    finally:
        holder.close()
    assert done.returncode == 2
    message = done.stderr.decode()
    assert "port %d" % port in message and "already in use" in message and "SIM_PORT" in message
    assert "Traceback" not in message
