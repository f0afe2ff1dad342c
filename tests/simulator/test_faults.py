# -*- coding: utf-8 -*-
# Copyright: identitynow.tasks contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Injected faults: status codes, latency, dropped connections, malformed bodies, HTML pages, 429 storms."""

from __future__ import annotations

import http.client
import json
import time

import pytest

from isc_sim.control import SimControlError

PATCH = {"Content-Type": "application/json-patch+json"}


@pytest.mark.parametrize("status", [500, 502, 503, 504])
def test_status_fault_answers_the_next_n_requests(sim, status):
    token = sim.token()
    sim.add_fault("status", status=status, count=2)
    for dummy in range(2):
        response = sim.request("GET", "/v2026/task-status", token=token)
        assert response.status == status
        body = response.json()
        assert body["detailCode"].startswith(str(status)) and len(body["trackingId"]) == 32
        assert body["messages"][0]["text"]
    assert sim.request("GET", "/v2026/task-status", token=token).status == 200
    assert sim.faults() == []


def test_after_method_and_path_select_requests(sim):
    token = sim.token()
    sim.add_fault("status", status=503, after=1, method="GET", path="/v2025/")
    assert sim.request("GET", "/v2025/task-status", token=token).status == 200  # skipped
    assert sim.request("GET", "/v2026/task-status", token=token).status == 200  # other path
    assert sim.request("GET", "/v2025/task-status", token=token).status == 503
    assert sim.request("GET", "/v2025/task-status", token=token).status == 200


def test_faults_skip_the_token_endpoint_unless_its_path_is_named(sim):
    sim.add_fault("status", status=500)
    sim.token()  # not affected
    assert [f["kind"] for f in sim.faults()] == ["status"]
    sim.clear_faults()
    sim.add_fault("status", status=502, path="/oauth/token")
    with pytest.raises(SimControlError):
        sim.token()
    assert sim.log()[-1]["status"] == 502 and sim.log()[-1]["client"] == "sim-pat-client"


def test_latency_fault_delays_the_answer(sim):
    token = sim.token()
    sim.add_fault("latency", seconds=0.3)
    started = time.monotonic()
    assert sim.request("GET", "/v2026/task-status", token=token).status == 200
    assert time.monotonic() - started >= 0.3


def test_drop_fault_closes_the_connection_without_an_answer(sim):
    token = sim.token()
    sim.add_task(id="d" * 32, outcome="STUCK")
    sim.add_fault("drop", method="PATCH")
    body = json.dumps([{"op": "replace", "path": "/completionStatus", "value": "ERROR"}])
    with pytest.raises((http.client.RemoteDisconnected, ConnectionError)):
        sim.request("PATCH", "/v2026/task-status/" + "d" * 32, headers=PATCH, body=body, token=token)
    assert sim.tasks()[0]["completionStatus"] is None  # not applied
    entry = sim.log()[-1]
    assert entry["status"] is None and entry["fault"] == "drop" and entry["client"] == "sim-pat-client"


def test_drop_fault_with_apply_processes_the_request_first(sim):
    token = sim.token()
    sim.add_task(id="d" * 32, outcome="STUCK")
    sim.add_fault("drop", method="PATCH", apply=True)
    body = json.dumps([{"op": "replace", "path": "/completionStatus", "value": "ERROR"}])
    with pytest.raises((http.client.RemoteDisconnected, ConnectionError)):
        sim.request("PATCH", "/v2026/task-status/" + "d" * 32, headers=PATCH, body=body, token=token)
    assert sim.tasks()[0]["completionStatus"] == "ERROR"  # applied, but the client never heard
    assert sim.log()[-1]["status"] is None


def test_malformed_fault_sends_truncated_json(sim):
    token = sim.token()
    sim.add_fault("malformed")
    response = sim.request("GET", "/v2026/task-status", token=token)
    assert response.status == 200 and response.headers["Content-Type"].startswith("application/json")
    with pytest.raises(ValueError):
        response.json()


def test_html_fault_sends_a_proxy_error_page(sim):
    token = sim.token()
    sim.add_fault("html")
    sim.add_fault("html", status=504)
    first = sim.request("GET", "/v2026/task-status", token=token)
    assert first.status == 502 and first.headers["Content-Type"] == "text/html"
    assert b"<html>" in first.body and b"502 Bad Gateway" in first.body
    assert sim.request("GET", "/v2026/task-status", token=token).status == 504


def test_rate_storm_sends_429_with_a_long_retry_after(sim):
    token = sim.token()
    sim.add_fault("rate_storm", count=3)
    sim.add_fault("rate_storm", retry_after=1200)
    for dummy in range(3):
        response = sim.request("GET", "/v2026/task-status", token=token)
        assert response.status == 429 and response.headers["Retry-After"] == "600"
        assert response.json() == {"message": " Rate Limit Exceeded "}
    assert sim.request("GET", "/v2026/task-status", token=token).headers["Retry-After"] == "1200"


def test_faults_apply_to_unauthenticated_and_unknown_paths(sim):
    sim.add_fault("status", status=500, count=2)
    assert sim.request("GET", "/v2026/task-status").status == 500
    assert sim.request("GET", "/nowhere").status == 500
    assert sim.request("GET", "/nowhere").status == 404


@pytest.mark.parametrize("rule", [
    {"kind": "explode"},
    {"kind": "status", "status": 418},
    {"kind": "status", "count": 0},
    {"kind": "status", "after": -1},
    {"kind": "latency"},
    {"kind": "latency", "seconds": -1},
    {"kind": "drop", "apply": "yes"},
    {"kind": "html", "status": 200},
    {"kind": "rate_storm", "retry_after": 0},
    {"kind": "malformed", "seconds": 1},
    {"kind": "status", "method": 1},
])
def test_invalid_fault_rules_are_rejected(sim, rule):
    response = sim.request("POST", "/__sim__/faults", body=rule)
    assert response.status == 400 and response.json()["error"]
    assert sim.faults() == []
