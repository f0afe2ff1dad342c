# -*- coding: utf-8 -*-
# Copyright: identitynow.tasks contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Run one command against a freshly started simulated tenant, then stop the tenant.

    python tests/simulator/with_sim.py [--scenario demo] [--tasks N] [--config FILE] -- COMMAND ...

The simulator listens on a free loopback port. The command gets SIM_URL, SAIL_BASE_URL and the
personal-access-token credentials in SAIL_CLIENT_ID / SAIL_CLIENT_SECRET. --config writes an
ansible-test integration_config.yml with the same values. The exit status is the command's.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
PAT = ("sim-pat-client", "sim-pat-secret")
API = ("sim-api-client", "sim-api-secret")


def start(scenario, tasks, extra_env=None):
    """Start `python -m isc_sim` on a free port; return (process, url)."""
    port_file = tempfile.NamedTemporaryFile(prefix="isc-sim-port-", delete=False)
    port_file.close()
    os.unlink(port_file.name)
    env = dict(os.environ, SIM_PORT="0", SIM_SCENARIO=scenario, PYTHONPATH=HERE)
    if tasks:
        env["SIM_TASKS"] = str(tasks)
    env.update(extra_env or {})
    proc = subprocess.Popen([sys.executable, "-m", "isc_sim", "--port-file", port_file.name], env=env)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit("the simulator exited with status %s before it was ready" % proc.returncode)
        try:
            with open(port_file.name) as handle:
                port = handle.read().strip()
            if port:
                os.unlink(port_file.name)
                return proc, "http://127.0.0.1:%s" % port
        except OSError:
            pass
        time.sleep(0.05)
    proc.terminate()
    raise SystemExit("the simulator did not start within 30 s")


def stop(proc):
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenario", default="demo")
    parser.add_argument("--tasks", type=int)
    parser.add_argument("--config", help="write an integration_config.yml here")
    parser.add_argument("command", nargs=argparse.REMAINDER)
    args = parser.parse_args(argv)
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    if not command:
        parser.error("no command given")
    proc, url = start(args.scenario, args.tasks)
    try:
        if args.config:
            with open(args.config, "w") as handle:
                handle.write("---\nisc_sim_url: %s\nisc_pat: {client_id: %s, client_secret: %s}\n"
                             "isc_api_client: {client_id: %s, client_secret: %s}\n" % ((url,) + PAT + API))
        env = dict(os.environ, SIM_URL=url, SAIL_BASE_URL=url, SAIL_CLIENT_ID=PAT[0], SAIL_CLIENT_SECRET=PAT[1])
        return subprocess.call(command, env=env)
    finally:
        stop(proc)


if __name__ == "__main__":
    sys.exit(main())
