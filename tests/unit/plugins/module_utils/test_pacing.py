# -*- coding: utf-8 -*-
# Copyright: identitynow.tasks contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Pacing: the sliding window, its shared file, and the window a token names.

Unit tests use a fake clock; the end-to-end ones pace real clients against the simulated tenant and
check its request log for 429s.
"""

from __future__ import annotations

import base64
import json
import random
import threading

import pytest

from ansible_collections.identitynow.tasks.plugins.module_utils import pacing
from ansible_collections.identitynow.tasks.plugins.module_utils.client import IscClient
from ansible_collections.identitynow.tasks.plugins.module_utils.errors import IscError
from ansible_collections.identitynow.tasks.plugins.module_utils.pacing import RateLimiter
from ansible_collections.identitynow.tasks.tests.support.scripted_server import FakeClock

TASK_ID = "00eebcf881994e419d72e757fd30dc0e"
TASK = {"id": TASK_ID, "completionStatus": None}
PAT = ("sim-pat-client", "sim-pat-secret")


def failure(call, *args, **kwargs):
    with pytest.raises(IscError) as info:
        call(*args, **kwargs)
    return info.value


# ========================================================================================== pacing
def sends_in_any_window(times, window):
    return max(sum(1 for t in times if start <= t < start + window) for start in times)


@pytest.mark.parametrize("limit,window", [(5, 1.0), (100, 10.0), (1, 0.5)])
def test_rate_limiter_never_exceeds_the_limit_in_any_window(limit, window):
    clock = FakeClock(start=50.0)
    limiter = RateLimiter(limit, window, clock=clock, sleep=clock.sleep)
    rng = random.Random(limit)
    sends = []
    for dummy in range(limit * 6):
        limiter.acquire()
        sends.append(clock())
        clock.advance(rng.choice([0.0, 0.0, window / 50.0, window / 3.0]))
    assert sends_in_any_window(sends, window) <= limit
    assert limiter.waited == pytest.approx(sum(clock.sleeps))


def test_rate_limiter_does_not_wait_below_the_limit():
    clock = FakeClock()
    limiter = RateLimiter(10, 10.0, clock=clock, sleep=clock.sleep)
    for dummy in range(10):
        limiter.acquire()
    assert clock.sleeps == []
    limiter.acquire()
    assert clock.sleeps == [pytest.approx(10.0 + RateLimiter.MARGIN)]


def test_rate_limiter_counts_a_request_from_its_answer():
    # The gateway counts a request somewhere between its send and its answer: the window starts at the answer.
    clock = FakeClock(start=0.0)
    limiter = RateLimiter(2, 10.0, clock=clock, sleep=clock.sleep)
    first = limiter.acquire()
    clock.advance(3.0)  # a slow answer
    limiter.done(first)
    limiter.done(limiter.acquire())
    limiter.acquire()
    assert clock.sleeps == [pytest.approx(10.0 + RateLimiter.MARGIN)]
    assert clock() == pytest.approx(3.0 + 10.0 + RateLimiter.MARGIN)


def test_rate_limiter_disabled():
    clock = FakeClock()
    limiter = RateLimiter(0, 10.0, clock=clock, sleep=clock.sleep)
    for dummy in range(1000):
        limiter.acquire()
    assert clock.sleeps == []


def test_client_paces_its_requests(serve, connect, clock):
    server = serve(default_body=TASK)
    client = connect(server.url, rate_limit=3, rate_limit_window=10.0)
    for dummy in range(7):
        client.get_task(TASK_ID)
    assert len(server.api_requests) == 7
    assert sum(clock.sleeps) == pytest.approx(2 * (10.0 + RateLimiter.MARGIN))


def test_pacing_against_the_simulator_avoids_429(sim):
    # The client counts a longer window than the tenant, so that a slow local request cannot make it look faster.
    sim.reset("empty", rate_limit=5, rate_window=0.3)
    client = IscClient(sim.url, *PAT, rate_limit=5, rate_limit_window=0.5, max_retries=0)
    try:
        for dummy in range(12):
            list(client.list_tasks(page_size=10))
    finally:
        client.session.close()
    assert client.limiter.waited > 0
    statuses = [e["status"] for e in sim.log() if e["path"] == "/v2026/task-status"]
    assert statuses == [200] * 12


def list_outcomes(client, times):
    """List `times` times with the client (then close it): the records found, or the HTTP status of a failure."""
    outcomes = []
    try:
        for dummy in range(times):
            try:
                outcomes.append(len(list(client.list_tasks(page_size=10))))
            except IscError as exc:
                outcomes.append(exc.status)
    finally:
        client.session.close()
    return outcomes


@pytest.mark.parametrize("count_from_answer", [True, False])
def test_pacing_survives_a_request_counted_late(sim, monkeypatch, count_from_answer):
    """A first request that the tenant counts 0.5 s after it was sent (latency before the gateway): counting
    the window from the answer keeps the fourth request out of the window; counting from the send (the
    control) gets a 429."""
    sim.reset("empty", rate_limit=3, rate_window=1.0)
    sim.add_fault("latency", seconds=0.5, method="GET", path="/v2026/task-status")
    client = IscClient(sim.url, *PAT, rate_limit=3, rate_limit_window=1.0, max_retries=0)
    if not count_from_answer:
        monkeypatch.setattr(client.limiter, "done", lambda slot: None)
    assert list_outcomes(client, 4) == ([0, 0, 0, 0] if count_from_answer else [0, 0, 0, 429])


def test_limiters_sharing_a_file_share_one_window(tmp_path):
    # Two module runs of one play, one after the other: the second counts the first's requests.
    clock = FakeClock(start=1000.0)
    path = str(tmp_path / "pacing.json")
    first = RateLimiter(10, 10.0, clock=clock, sleep=clock.sleep, path=path)
    for dummy in range(4):
        first.acquire()
    second = RateLimiter(10, 10.0, clock=clock, sleep=clock.sleep, path=path)
    for dummy in range(6):
        second.acquire()
    assert clock.sleeps == []
    second.acquire()
    assert clock.sleeps == [pytest.approx(10.0 + RateLimiter.MARGIN)]
    assert first.path == second.path == path


def test_shared_pacing_file_that_is_unreadable_or_unusable(tmp_path):
    clock = FakeClock(start=1000.0)
    garbled = tmp_path / "garbled.json"
    garbled.write_text('{"not": "a list"')
    limiter = RateLimiter(2, 10.0, clock=clock, sleep=clock.sleep, path=str(garbled))
    limiter.acquire()
    limiter.acquire()
    assert clock.sleeps == [] and limiter.path == str(garbled)
    nowhere = RateLimiter(2, 10.0, clock=clock, sleep=clock.sleep, path=str(tmp_path / "no" / "such" / "dir"))
    for dummy in range(3):
        nowhere.acquire()
    assert nowhere.path is None and len(clock.sleeps) == 1


def test_shared_pacing_ignores_send_times_from_the_future(tmp_path):
    clock = FakeClock(start=1000.0)
    path = tmp_path / "pacing.json"
    path.write_text("[%s]" % ", ".join(["5000.0"] * 10))  # written before the clock was set back
    RateLimiter(10, 10.0, clock=clock, sleep=clock.sleep, path=str(path)).acquire()
    assert clock.sleeps == []


def test_pacing_path_is_per_client_and_version_and_holds_no_secret():
    url = "https://acme.api.identitynow.com/oauth/token"
    by_token = pacing.pacing_path(url, None, "secret-token-value", "v2026")
    assert "secret-token-value" not in by_token
    assert by_token == pacing.pacing_path(url, None, "secret-token-value", "v2026")
    assert by_token != pacing.pacing_path(url, None, "other-token", "v2026")
    assert pacing.pacing_path(url, "client-a", None, "v2026") != pacing.pacing_path(url, "client-a", None, "beta")


def jwt(claims):
    """A JWT-shaped token with these claims (the signature is not checked by the client)."""
    def part(value):
        return base64.urlsafe_b64encode(json.dumps(value).encode()).decode().rstrip("=")
    return ".".join((part({"alg": "HS256", "typ": "JWT"}), part(claims), "c2lnbmF0dXJl"))


def test_tokens_of_one_client_share_its_pacing_window():
    # The gateway counts per client id; ISC's tokens are JWTs that name it.
    url = "https://acme.api.identitynow.com/oauth/token"
    by_client = pacing.pacing_path(url, "client-a", None, "v2026")
    first = jwt({"client_id": "client-a", "jti": "1"})
    second = jwt({"client_id": "client-a", "jti": "2"})
    assert pacing.pacing_path(url, None, first, "v2026") == by_client
    assert pacing.pacing_path(url, None, second, "v2026") == by_client
    assert pacing.pacing_path(url, None, jwt({"client_id": "client-b"}), "v2026") != by_client
    assert pacing.token_client_id(first) == "client-a"


@pytest.mark.parametrize("token", ["opaque-token", "a.b.c", "a.%s.c" % base64.urlsafe_b64encode(b"[1]").decode(),
                                   jwt({"sub": "x"}), jwt({"client_id": 7}), "..", "a.\xff.c"])
def test_tokens_that_name_no_client_get_a_window_of_their_own(token):
    url = "https://acme.api.identitynow.com/oauth/token"
    assert pacing.token_client_id(token) is None
    path = pacing.pacing_path(url, None, token, "v2026")
    assert path == pacing.pacing_path(url, None, token, "v2026")
    assert path != pacing.pacing_path(url, None, token + "x", "v2026")


@pytest.mark.parametrize("shared", [True, False])
def test_consecutive_clients_share_pacing(sim, tmp_path, monkeypatch, shared):
    """Three runs one after the other, 4 requests each: each run alone stays under the limit of 6 per
    second; only the shared window keeps the three together under it (the control gets a 429)."""
    monkeypatch.setattr(pacing.tempfile, "gettempdir", lambda: str(tmp_path))
    monkeypatch.delenv("XDG_RUNTIME_DIR", raising=False)
    sim.reset("empty", rate_limit=6, rate_window=1.0)
    outcomes = []
    for dummy in range(3):
        client = IscClient(sim.url, *PAT, rate_limit=6, rate_limit_window=1.2, max_retries=0, shared_pacing=shared)
        outcomes += list_outcomes(client, 4)
    if shared:
        assert outcomes == [0] * 12
        assert len(list(tmp_path.glob("identitynow.tasks-*/pacing-*.json"))) == 1
    else:
        assert 429 in outcomes


@pytest.mark.parametrize("shared", [True, False])
def test_concurrent_clients_share_pacing(sim, tmp_path, monkeypatch, shared):
    """Two runs at the same time (forks of one play), 5 requests each: each alone stays under the limit of 6 per
    second; only the shared window, locked while it is read and written, keeps the two together under it (the
    control gets a 429)."""
    monkeypatch.setattr(pacing.tempfile, "gettempdir", lambda: str(tmp_path))
    monkeypatch.delenv("XDG_RUNTIME_DIR", raising=False)
    sim.reset("empty", rate_limit=6, rate_window=1.0)
    clients = [IscClient(sim.url, *PAT, rate_limit=6, rate_limit_window=1.2, max_retries=0, shared_pacing=shared)
               for dummy in range(2)]
    outcomes = {}
    threads = [threading.Thread(target=lambda c=c: outcomes.update({id(c): list_outcomes(c, 5)})) for c in clients]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    results = sum(outcomes.values(), [])
    assert len(results) == 10
    if shared:
        assert results == [0] * 10
    else:
        assert 429 in results


def test_without_pacing_the_simulator_answers_429(sim):
    """The control for the test above: the same load unpaced is rate limited."""
    sim.reset("empty", rate_limit=5, rate_window=5)
    client = IscClient(sim.url, *PAT, rate_limit=0, max_retries=0)
    try:
        error = failure(lambda: [list(client.list_tasks(page_size=10)) for dummy in range(16)])
    finally:
        client.session.close()
    assert error.status == 429 and error.retry_after >= 1
