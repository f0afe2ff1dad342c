# -*- coding: utf-8 -*-
# Copyright: identitynow.tasks contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Sliding-window rate limit per client and API version."""

from __future__ import annotations


def test_limit_per_client_and_version_with_retry_after(sim):
    sim.settings(rate_limit=3, rate_window=10)
    pat, api = sim.token("pat"), sim.token("api")
    for dummy in range(3):
        assert sim.request("GET", "/v2026/task-status", token=pat).status == 200
    limited = sim.request("GET", "/v2026/task-status/x", token=pat)
    assert limited.status == 429
    assert limited.json() == {"message": " Rate Limit Exceeded "}
    assert 1 <= int(limited.headers["Retry-After"]) <= 10
    # Other versions and other clients have their own windows; the token endpoint is not limited.
    assert sim.request("GET", "/v2025/task-status", token=pat).status == 200
    assert sim.request("GET", "/task-status/v1", token=pat).status == 200
    assert sim.request("GET", "/v2026/task-status", token=api).status == 200
    for dummy in range(5):
        sim.token("pat")
    # The window slides on the simulator clock.
    sim.advance(10)
    assert sim.request("GET", "/v2026/task-status", token=pat).status == 200
    statuses = [entry["status"] for entry in sim.log() if entry["version"] == "v2026" and entry["client"] == "sim-pat-client"]
    assert statuses == [200, 200, 200, 429, 200]


def test_retry_after_counts_down_to_the_oldest_request(sim):
    sim.settings(rate_limit=2, rate_window=10)
    token = sim.token()
    sim.request("GET", "/beta/task-status", token=token)
    sim.advance(6)
    sim.request("GET", "/beta/task-status", token=token)
    response = sim.request("GET", "/beta/task-status", token=token)
    assert response.status == 429 and response.headers["Retry-After"] == "4"
    sim.advance(4)
    assert sim.request("GET", "/beta/task-status", token=token).status == 200


def test_default_limit_is_100_per_10_seconds_and_0_disables(sim):
    token = sim.token()
    assert sim.settings()["rate_limit"] == 100
    statuses = [sim.request("GET", "/v2024/task-status", token=token).status for dummy in range(101)]
    assert statuses.count(200) == 100 and statuses[-1] == 429
    sim.settings(rate_limit=0)
    assert sim.request("GET", "/v2024/task-status", token=token).status == 200


def test_control_interface_is_not_limited(sim):
    sim.settings(rate_limit=1)
    for dummy in range(5):
        sim.now()
