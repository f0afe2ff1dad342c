# -*- coding: utf-8 -*-
# Copyright: identitynow.tasks contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""``python -m isc_sim``: run the simulator in the foreground on 127.0.0.1 until SIGTERM or SIGINT.

Configuration comes from the environment (SIM_PORT, SIM_SCENARIO, SIM_TASKS, SIM_TOKEN_TTL, SIM_RATE_LIMIT,
SIM_RATE_WINDOW, SIM_RACE_WINDOW, SIM_REQUIRE_EXPERIMENTAL, SIM_PAT_CLIENT_ID, SIM_PAT_CLIENT_SECRET); ``--port`` overrides SIM_PORT and ``--port-file``
names a file that receives the bound port.
"""

from __future__ import annotations

import argparse
import errno
import os
import signal
import sys
import time

from .api import CLIENTS
from .scenarios import SCENARIOS
from .server import start_simulator
from .store import InvalidRequest

_BOOLEANS = {"1": True, "true": True, "yes": True, "on": True, "0": False, "false": False, "no": False, "off": False,
             "": False}


def _number(environ, name: str, default, kind):
    raw = environ.get(name, "").strip()
    if not raw:
        return default
    try:
        return kind(raw)
    except ValueError:
        raise InvalidRequest("%s must be %s, got %r" % (name, "an integer" if kind is int else "a number", raw)) from None


def config_from_env(environ) -> dict:
    """start_simulator keyword arguments from SIM_* variables (settings are validated by the Store)."""
    scenario = environ.get("SIM_SCENARIO", "").strip() or "demo"
    if scenario not in SCENARIOS:
        raise InvalidRequest("SIM_SCENARIO must be one of %s, got %r" % (", ".join(SCENARIOS), scenario))
    experimental = environ.get("SIM_REQUIRE_EXPERIMENTAL", "").strip().lower()
    if experimental not in _BOOLEANS:
        raise InvalidRequest("SIM_REQUIRE_EXPERIMENTAL must be 1 or 0, got %r" % experimental)
    return {
        "port": _number(environ, "SIM_PORT", 8765, int),
        "scenario": scenario,
        "tasks": _number(environ, "SIM_TASKS", 1000, int),
        "token_ttl": _number(environ, "SIM_TOKEN_TTL", 749, int),
        "rate_limit": _number(environ, "SIM_RATE_LIMIT", 100, int),
        "rate_window": _number(environ, "SIM_RATE_WINDOW", 10, float),
        "race_window": _number(environ, "SIM_RACE_WINDOW", 2, float),
        "require_experimental": _BOOLEANS[experimental],
    }


def _pat_client(environ) -> None:
    """SIM_PAT_CLIENT_ID and SIM_PAT_CLIENT_SECRET (both or neither): this process's personal access token client
    instead of sim-pat-client, so that simulators standing for different tenants have different credentials."""
    client_id, secret = environ.get("SIM_PAT_CLIENT_ID", "").strip(), environ.get("SIM_PAT_CLIENT_SECRET", "")
    if bool(client_id) != bool(secret):
        raise InvalidRequest("SIM_PAT_CLIENT_ID and SIM_PAT_CLIENT_SECRET must be set together")
    if client_id:
        CLIENTS[client_id] = dict(CLIENTS.pop("sim-pat-client"), secret=secret)


def _write_port_file(path: str, port: int) -> None:
    temporary = path + ".tmp"
    with open(temporary, "w", encoding="ascii") as handle:
        handle.write("%d\n" % port)
    os.replace(temporary, path)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m isc_sim", description="Simulated SailPoint ISC task-status API.")
    parser.add_argument("--port", type=int, help="port to listen on (overrides SIM_PORT; 0 picks a free port)")
    parser.add_argument("--port-file", help="write the bound port to this file once listening")
    args = parser.parse_args(argv)
    try:
        config = config_from_env(os.environ)
        _pat_client(os.environ)
        if args.port is not None:
            config["port"] = args.port
        if not 0 <= config["port"] <= 65535:
            raise InvalidRequest("port must be 0..65535, got %d" % config["port"])
        handle = start_simulator(**config)
    except InvalidRequest as exc:
        print("isc-sim: %s" % exc, file=sys.stderr)
        return 2
    except OSError as exc:
        print("isc-sim: %s" % _listen_error(config["port"], exc), file=sys.stderr)
        return 2
    # The handler only records the signal. It takes no lock, so a signal that arrives while the main thread is
    # inside it, or inside anything else, cannot deadlock; a second SIGTERM or SIGINT (make forwards one) just
    # adds a mark. The main loop sees the mark within a fraction of a second and shuts the server down.
    signals = []
    for number in (signal.SIGTERM, signal.SIGINT):
        signal.signal(number, lambda received, frame: signals.append(received))
    if args.port_file:
        _write_port_file(args.port_file, handle.port)
    print("isc-sim listening on %s scenario=%s" % (handle.url, config["scenario"]), flush=True)
    while not signals:
        time.sleep(0.1)
    handle.stop()
    return 0


def _listen_error(port: int, exc: OSError) -> str:
    """Why the simulator could not listen, naming the port (and what to do when it is taken)."""
    if exc.errno == errno.EADDRINUSE:
        return ("port %d on 127.0.0.1 is already in use (another simulator or service listens there); stop it, or "
                "choose another port with SIM_PORT=<port> (0 picks a free one)" % port)
    return "cannot listen on 127.0.0.1:%d: %s" % (port, exc.strerror or exc)


if __name__ == "__main__":
    sys.exit(main())
