# -*- coding: utf-8 -*-
# Copyright: identitynow.tasks contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The ISC client: retries, backoff, Retry-After, deadlines of retries, and PATCH safety.

Exact fault sequences run against a scripted local server (tests/support/scripted_server.py). Time is a fake
clock whose sleep() records the delays, so nothing here really waits for a backoff.
"""

from __future__ import annotations

import email.utils
import random
import time

import pytest

from ansible_collections.identitynow.tasks.plugins.module_utils import client as client_utils
from ansible_collections.identitynow.tasks.plugins.module_utils.client import parse_retry_after
from ansible_collections.identitynow.tasks.plugins.module_utils.errors import NETWORK_HINT
from ansible_collections.identitynow.tasks.tests.support.common import PATCH_OPS, TASK, TASK_ID, failure, free_port
from ansible_collections.identitynow.tasks.tests.support.scripted_server import (
    hangup, html, malformed, reply, slow, truncated)


# ======================================================================================= retries
def test_503_burst_shorter_than_max_retries(serve, connect, clock):
    server = serve(reply(503), reply(503), reply(503), reply(200, TASK))
    client = connect(server.url, max_retries=3)
    assert client.get_task(TASK_ID) == TASK
    assert len(server.api_requests) == 4 and len(clock.sleeps) == 3
    assert client.stats["retries"] == 3


def test_503_burst_longer_than_max_retries(serve, connect, clock):
    server = serve(*[reply(503)] * 5, reply(200, TASK))
    error = failure(connect(server.url, max_retries=3).get_task, TASK_ID)
    assert error.status == 503 and "after 3 retries" in str(error)
    assert len(server.api_requests) == 4 and len(clock.sleeps) == 3
    assert error.hint and "server-side" in error.hint


def test_no_retries_when_max_retries_is_zero(serve, connect, clock):
    server = serve(reply(503), reply(200, TASK))
    error = failure(connect(server.url, max_retries=0).get_task, TASK_ID)
    assert error.status == 503 and "retries" not in error.message
    assert len(server.api_requests) == 1 and clock.sleeps == []


@pytest.mark.parametrize("action", [reply(500), reply(502), reply(504), html(502), malformed(), hangup(), truncated()],
                         ids=["500", "502", "504", "html-502", "malformed", "reset", "truncated"])
def test_transient_failures_of_a_read_are_retried(serve, connect, clock, action):
    server = serve(action, reply(200, TASK))
    assert connect(server.url).get_task(TASK_ID) == TASK
    assert len(server.api_requests) == 2 and len(clock.sleeps) == 1


@pytest.mark.parametrize("status", [400, 403, 404, 405, 415])
def test_client_errors_are_not_retried(serve, connect, clock, status):
    server = serve(reply(status, {"messages": [{"text": "no"}]}), reply(200, TASK))
    assert failure(connect(server.url).get_task, TASK_ID).status == status
    assert len(server.api_requests) == 1 and clock.sleeps == []


def test_429_honours_retry_after_seconds(serve, connect, clock):
    server = serve(reply(429, {"message": " Rate Limit Exceeded "}, {"Retry-After": "7"}), reply(200, TASK))
    client = connect(server.url)
    assert client.get_task(TASK_ID) == TASK
    assert clock.sleeps == [7.0]
    assert client.stats["rate_limited"] == 1


def test_429_honours_retry_after_http_date(serve, connect, clock):
    when = email.utils.formatdate(time.time() + 30, usegmt=True)
    server = serve(reply(429, {"message": "slow down"}, {"Retry-After": when}), reply(200, TASK))
    assert connect(server.url).get_task(TASK_ID) == TASK
    assert len(clock.sleeps) == 1 and 28 <= clock.sleeps[0] <= 30


def test_429_without_retry_after_backs_off(serve, connect, clock):
    server = serve(reply(429, {"message": "slow down"}), reply(200, TASK))
    assert connect(server.url, backoff_base=0.5, backoff_max=8).get_task(TASK_ID) == TASK
    assert len(clock.sleeps) == 1 and 0.25 <= clock.sleeps[0] <= 0.5


def test_retry_after_longer_than_retry_max_wait_fails_at_once(serve, connect, clock):
    server = serve(reply(429, {"message": " Rate Limit Exceeded "}, {"Retry-After": "600"}), reply(200, TASK))
    error = failure(connect(server.url, retry_max_wait=120).get_task, TASK_ID)
    assert clock.sleeps == [] and len(server.api_requests) == 1
    assert error.status == 429 and error.retry_after == 600
    assert "600" in str(error) and "retry_max_wait" in str(error)


def test_retry_after_is_capped_by_the_deadline(serve, connect, clock):
    server = serve(reply(429, {"message": "x"}, {"Retry-After": "10"}), reply(200, TASK))
    error = failure(connect(server.url).get_task, TASK_ID, deadline=clock() + 5)
    assert clock.sleeps == [] and len(server.api_requests) == 1
    assert error.status == 429 and "time budget" in str(error)


def test_backoff_never_sleeps_past_the_deadline(serve, connect, clock):
    server = serve(*[reply(503)] * 20)
    client = connect(server.url, max_retries=20, backoff_base=1.0, backoff_max=4.0)
    deadline = clock() + 6
    error = failure(client.get_task, TASK_ID, deadline=deadline)
    assert error.status == 503 and "time budget" in str(error)
    assert clock() <= deadline and sum(clock.sleeps) <= 6
    assert len(clock.sleeps) >= 2  # it did retry while there was time


def test_backoff_is_exponential_capped_and_jittered(serve, connect, clock, monkeypatch):
    monkeypatch.setattr(client_utils, "random", random.Random(20240601))
    server = serve(*[reply(503)] * 10, reply(200, TASK))
    client = connect(server.url, max_retries=10, backoff_base=0.5, backoff_max=4.0)
    assert client.get_task(TASK_ID) == TASK
    assert len(clock.sleeps) == 10
    for attempt, delay in enumerate(clock.sleeps):
        cap = min(4.0, 0.5 * 2 ** attempt)
        assert cap / 2 <= delay <= cap, (attempt, delay)
    assert max(clock.sleeps) <= 4.0
    capped = clock.sleeps[3:]
    assert len(set(capped)) == len(capped)  # jittered: no two equal waits
    assert clock.sleeps[0] < clock.sleeps[4]  # and growing


def test_connection_refused_is_retried_then_reported(connect, clock):
    url = "http://127.0.0.1:%d" % free_port()
    error = failure(connect(url, access_token="given-token-abc", max_retries=2).get_task, TASK_ID)
    assert "connection" in str(error).lower() and error.hint == NETWORK_HINT
    assert "after 2 retries" in str(error) and len(clock.sleeps) == 2
    assert error.uncertain is False


def test_read_timeout_of_a_read_is_retried(serve, connect, clock):
    server = serve(slow(1.0, 200, TASK), reply(200, TASK))
    assert connect(server.url, timeout=0.3).get_task(TASK_ID) == TASK
    assert len(server.api_requests) == 2 and len(clock.sleeps) == 1


# ==================================================================================== PATCH safety
@pytest.mark.parametrize("first", [reply(503), reply(429, {"message": "x"}, {"Retry-After": "2"})], ids=["503", "429"])
def test_patch_retried_when_the_answer_proves_it_was_not_applied(serve, connect, clock, first):
    server = serve(first, reply(200, dict(TASK, completionStatus="ERROR")))
    result = connect(server.url).patch_task(TASK_ID, PATCH_OPS)
    assert result["completionStatus"] == "ERROR"
    patches = [r for r in server.api_requests if r.method == "PATCH"]
    assert len(patches) == 2 and len(clock.sleeps) == 1
    assert patches[0].body == patches[1].body
    assert patches[0].headers["Content-Type"] == "application/json-patch+json"


@pytest.mark.parametrize("action", [reply(500), reply(502), reply(504), html(502), hangup(), truncated(), malformed()],
                         ids=["500", "502", "504", "html-502", "reset-after-send", "truncated", "malformed"])
def test_patch_not_retried_when_it_may_have_been_applied(serve, connect, clock, action):
    server = serve(action, reply(200, TASK))
    error = failure(connect(server.url).patch_task, TASK_ID, PATCH_OPS)
    assert error.uncertain is True, str(error)
    assert error.method == "PATCH"
    assert len(server.api_requests) == 1 and clock.sleeps == []


def test_patch_read_timeout_is_uncertain(serve, connect, clock):
    server = serve(slow(1.0, 200, TASK), reply(200, TASK))
    error = failure(connect(server.url, timeout=0.3).patch_task, TASK_ID, PATCH_OPS)
    assert error.uncertain is True and len(server.api_requests) == 1 and clock.sleeps == []


def test_patch_connection_refused_is_retried(connect, clock, serve):
    port = free_port()
    started = []

    def sleep_then_start_server(seconds):
        clock.sleep(seconds)
        if not started:
            started.append(serve(reply(200, dict(TASK, completionStatus="ERROR")), port=port))

    client = connect("http://127.0.0.1:%d" % port, access_token="given-token-abc", sleep=sleep_then_start_server)
    assert client.patch_task(TASK_ID, PATCH_OPS)["completionStatus"] == "ERROR"
    assert len(clock.sleeps) == 1 and len(started[0].api_requests) == 1


def test_patch_401_is_replayed_with_a_new_token(serve, connect):
    server = serve(reply(401, {"error": "JWT is expired"}), reply(200, TASK))
    assert connect(server.url).patch_task(TASK_ID, PATCH_OPS) == TASK
    assert [r.method for r in server.api_requests] == ["PATCH", "PATCH"]
    assert len(server.token_requests) == 2


@pytest.mark.parametrize("status", [400, 403, 404, 409])
def test_patch_client_errors_are_certain(serve, connect, clock, status):
    server = serve(reply(status, {"messages": [{"text": "no"}]}))
    error = failure(connect(server.url).patch_task, TASK_ID, PATCH_OPS)
    assert error.status == status and error.uncertain is False and clock.sleeps == []


# ==================================================================================== Retry-After
def test_parse_retry_after():
    now = 1_700_000_000.0
    assert parse_retry_after(None) is None
    assert parse_retry_after("garbage") is None
    assert parse_retry_after("") is None
    assert parse_retry_after(" 12 ") == 12.0
    assert parse_retry_after("1.5") == 1.5
    assert parse_retry_after("-3") == 0.0
    assert parse_retry_after(email.utils.formatdate(now + 90, usegmt=True), now=now) == pytest.approx(90.0)
    assert parse_retry_after(email.utils.formatdate(now - 90, usegmt=True), now=now) == 0.0
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", now=1445412480.0 - 60) == pytest.approx(60.0)
