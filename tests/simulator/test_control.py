# -*- coding: utf-8 -*-
# Copyright: identitynow.tasks contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The control interface (log, reset, settings, tasks, clock), the scenarios and the command-line start."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from datetime import datetime

import pytest

from isc_sim import SimControl, start_simulator
from isc_sim.__main__ import config_from_env
from isc_sim.store import InvalidRequest

SIMULATOR_DIR = os.path.dirname(os.path.abspath(__file__))


def parse_time(text: str) -> float:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def test_log_records_api_requests_but_not_control_requests(sim):
    token = sim.token()
    sim.request("GET", "/v2026/task-status", {"limit": 5, "filters": 'id eq "x"'}, token=token)
    sim.request("GET", "/task-status/v1/abc", token=token)
    sim.request("GET", "/beta/task-status", token="bad")
    sim.now()
    log = sim.log()
    assert [(e["method"], e["path"], e["status"], e["client"], e["version"]) for e in log] == [
        ("POST", "/oauth/token", 200, "sim-pat-client", None),
        ("GET", "/v2026/task-status", 200, "sim-pat-client", "v2026"),
        ("GET", "/task-status/v1/abc", 404, "sim-pat-client", "v1"),
        ("GET", "/beta/task-status", 401, None, "beta"),
    ]
    assert log[1]["query"] == {"limit": "5", "filters": 'id eq "x"'}
    assert [e["seq"] for e in log] == [1, 2, 3, 4]
    assert all(e["time"].endswith("Z") for e in log)
    sim.clear_log()
    assert sim.log() == []


def test_reset_clears_everything_and_applies_settings(sim):
    token = sim.token()
    sim.add_task()
    sim.add_fault("status", status=500)
    sim.advance(100)
    sim.settings(token_ttl=5)
    result = sim.reset("empty", rate_limit=7)
    assert result["tasks"] == 0 and result["settings"]["rate_limit"] == 7 and result["settings"]["token_ttl"] == 749
    assert sim.faults() == [] and sim.log() == [] and sim.tasks() == []
    assert sim.request("GET", "/v2026/task-status", token=token).status == 401  # tokens forgotten
    assert sim.request("GET", "/v2026/task-status", token=sim.token()).status == 200  # fault gone


def test_settings_get_and_validate(sim):
    assert sim.settings() == {"token_ttl": 749, "rate_limit": 100, "rate_window": 10, "race_window": 2,
                              "require_experimental": False, "aggregation_timestamps": "iso"}
    assert sim.settings(race_window=0.5)["race_window"] == 0.5
    for bad in ({"token_ttl": 0}, {"rate_limit": -1}, {"rate_window": 0}, {"require_experimental": 1}, {"nope": 1},
                {"aggregation_timestamps": "unix"}):
        response = sim.request("POST", "/__sim__/settings", body=bad)
        assert response.status == 400 and list(bad)[0] in response.json()["error"]


@pytest.mark.parametrize("spec", [
    {"outcome": "DONE"}, {"unique_name": "Coffee Break"}, {"duration": -1}, {"created_ago": "1h"}, {"count": 0},
    {"id": "x", "count": 2}, {"launcher": ""}, {"colour": "red"}, "not a spec",
])
def test_task_specs_are_validated(sim, spec):
    response = sim.request("POST", "/__sim__/tasks", body={"tasks": [spec]})
    assert response.status == 400 and response.json()["error"]
    assert sim.tasks() == []


def test_task_spec_defaults_and_copies(sim, assert_task_status):
    created = sim.add_tasks({"count": 3, "source_name": "Okta", "outcome": "stuck"}, {"unique_name": "IDENTITY_REFRESH"})
    assert len({t["id"] for t in created}) == 4 and len(created[0]["id"]) == 32
    assert {t["target"]["name"] for t in created[:3]} == {"Okta [source]"}
    assert created[3]["uniqueName"] == "Identity Refresh" and created[3]["target"] is None
    assert_task_status(created)
    duplicate = sim.request("POST", "/__sim__/tasks", body={"tasks": [{"id": created[0]["id"]}]})
    assert duplicate.status == 400


def test_clock_advances_and_rejects_going_back(sim):
    before = sim.now()
    after = sim.advance(86400)
    assert after[:10] > before[:10]
    assert sim.request("POST", "/__sim__/clock", body={"advance": -1}).status == 400


def test_unknown_control_endpoints_and_methods(sim):
    assert sim.request("GET", "/__sim__/nothing").status == 404
    assert sim.request("DELETE", "/__sim__/settings").status == 405
    assert sim.request("POST", "/__sim__/reset", body="[1]").status == 400
    assert sim.request("POST", "/__sim__/reset", body={"scenario": "huge"}).status == 400
    assert sim.health()["ok"] is True


def test_demo_scenario(sim, assert_task_status):
    sim.reset("demo")
    token = sim.token()
    records = assert_task_status(sim.request("GET", "/v2026/task-status", {"count": "true"}, token=token).json())
    stored = sim.tasks()
    assert len(stored) == len(records) + 1 and sum(t["_sim"]["expired"] for t in stored) == 1
    sources = {r["target"]["name"] for r in records if r["target"]}
    assert len(sources) == 6 and "Active Directory [source]" in sources
    pending = sim.request("GET", "/v2026/task-status", {"filters": "completionStatus isnull"}, token=token).json()
    assert len(pending) == 8  # six fresh aggregations and two stuck ones
    stuck = [t for t in stored if t["_sim"]["outcome"] == "STUCK"]
    now = parse_time(sim.now())
    assert sorted(round((now - parse_time(t["created"])) / 3600) for t in stuck) == [7, 30]
    sim.advance(60)
    token = sim.token()
    pending = sim.request("GET", "/v2026/task-status", {"filters": "completionStatus isnull"}, token=token).json()
    assert sorted(r["id"] for r in pending) == sorted(t["id"] for t in stuck)
    failed = sim.request("GET", "/v2026/task-status", {"filters": 'completionStatus eq "ERROR"', "sorters": "-created"},
                         token=token).json()
    assert failed[0]["target"]["name"] == "Salesforce [source]"
    assert [m["type"] for m in failed[0]["messages"]].count("ERROR") == 2
    assert sim.reset("demo")["tasks"] == len(stored)
    assert [t["id"] for t in sim.tasks()] == [t["id"] for t in stored]


def test_bulk_scenario_is_deterministic_and_pages(sim, assert_task_status):
    sim.reset("bulk", tasks=600, rate_limit=0)
    token = sim.token()
    first = sim.request("GET", "/v2026/task-status", {"count": "true"}, token=token)
    assert first.headers["X-Total-Count"] == "600"
    seen = []
    for offset in range(0, 600, 250):
        page = sim.request("GET", "/v2026/task-status", {"offset": offset, "limit": 250}, token=token).json()
        seen.extend(record["id"] for record in page)
    assert len(set(seen)) == 600
    assert_task_status(first.json())
    pending = sim.request("GET", "/v2026/task-status", {"filters": "completionStatus isnull"}, token=token).json()
    assert 1 <= len(pending) <= 10
    ids = [t["id"] for t in sim.tasks()]
    sim.reset("bulk", tasks=600)
    assert [t["id"] for t in sim.tasks()] == ids


def test_start_simulator_applies_settings_as_defaults():
    handle = start_simulator(port=0, scenario="bulk", tasks=20, rate_limit=0, token_ttl=30)
    try:
        control = handle.control()
        assert control.health()["tasks"] == 20
        control.reset("empty")
        assert control.settings()["rate_limit"] == 0 and control.settings()["token_ttl"] == 30
    finally:
        handle.stop()


def test_environment_configuration():
    config = config_from_env({"SIM_PORT": "0", "SIM_SCENARIO": "bulk", "SIM_TASKS": "50", "SIM_RATE_WINDOW": "2.5",
                              "SIM_REQUIRE_EXPERIMENTAL": "1"})
    assert config["port"] == 0 and config["scenario"] == "bulk" and config["tasks"] == 50
    assert config["rate_window"] == 2.5 and config["require_experimental"] is True and config["token_ttl"] == 749
    assert config_from_env({})["scenario"] == "demo" and config_from_env({})["port"] == 8765
    for bad in ({"SIM_SCENARIO": "full"}, {"SIM_PORT": "x"}, {"SIM_REQUIRE_EXPERIMENTAL": "maybe"}):
        with pytest.raises(InvalidRequest):
            config_from_env(bad)


def test_command_line_start_with_port_file_and_sigterm(tmp_path):
    port_file = tmp_path / "port"
    env = dict(os.environ, PYTHONPATH=SIMULATOR_DIR, SIM_PORT="0", SIM_SCENARIO="demo", SIM_RATE_LIMIT="0")
    process = subprocess.Popen([sys.executable, "-m", "isc_sim", "--port-file", str(port_file)], env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        line = process.stdout.readline()
        port = int(port_file.read_text(encoding="ascii"))
        assert line == "isc-sim listening on http://127.0.0.1:%d scenario=demo\n" % port
        control = SimControl("http://127.0.0.1:%d" % port)
        assert control.health()["scenario"] == "demo"
        assert control.request("GET", "/v2026/task-status", token=control.token()).status == 200
        assert control.settings()["rate_limit"] == 0
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=10) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        process.stdout.close()
        process.stderr.close()


def test_command_line_rejects_bad_environment():
    env = dict(os.environ, PYTHONPATH=SIMULATOR_DIR, SIM_SCENARIO="nope")
    result = subprocess.run([sys.executable, "-m", "isc_sim"], env=env, capture_output=True, text=True, timeout=30,
                            check=False)
    assert result.returncode == 2 and "SIM_SCENARIO" in result.stderr
