# -*- coding: utf-8 -*-
# Copyright: identitynow.tasks contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The ISC client: auth, retries, PATCH safety, pacing, pagination, id encoding.

Exact fault sequences run against a scripted local server (scripted_server.py); pagination, pacing and
id encoding run against the simulated tenant and are checked in its request log. Time is a fake clock
whose sleep() records the delays, so nothing here really waits for a backoff.
"""

from __future__ import annotations

import email.utils
import math
import random
import socket
import time
from urllib.parse import unquote

import pytest

from ansible_collections.identitynow.tasks.plugins.module_utils import client as client_utils
from ansible_collections.identitynow.tasks.plugins.module_utils import filters
from ansible_collections.identitynow.tasks.plugins.module_utils.client import IscClient, parse_retry_after, task_path
from ansible_collections.identitynow.tasks.plugins.module_utils.errors import NETWORK_HINT, IscError
from ansible_collections.identitynow.tasks.tests.unit.plugins.module_utils.scripted_server import (
    hangup, html, malformed, reply, slow, truncated)

SECRET = "cc-secret-5e8f0a1b2c3d"
TASK_ID = "00eebcf881994e419d72e757fd30dc0e"
TASK = {"id": TASK_ID, "completionStatus": None}
PATCH_OPS = [{"op": "replace", "path": "/completionStatus", "value": "ERROR"}]
PAT = ("sim-pat-client", "sim-pat-secret")


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def failure(call, *args, **kwargs):
    with pytest.raises(IscError) as info:
        call(*args, **kwargs)
    return info.value


# ========================================================================================== auth
def test_client_credentials_grant(serve, connect):
    server = serve(reply(200, TASK))
    assert connect(server.url).get_task(TASK_ID) == TASK
    token_request, api_request = server.requests
    assert token_request.method == "POST" and token_request.path == "/oauth/token"
    assert token_request.form == {"grant_type": "client_credentials", "client_id": "cc-client-id",
                                  "client_secret": SECRET}
    assert "x-www-form-urlencoded" in token_request.headers["Content-Type"]
    assert api_request.bearer == server.tokens[0]
    assert api_request.path == "/v2026/task-status/" + TASK_ID


def test_given_token_needs_no_token_request(serve, connect):
    server = serve(reply(200, TASK))
    connect(server.url, access_token="given-token-abc").get_task(TASK_ID)
    assert not server.token_requests
    assert [r.bearer for r in server.api_requests] == ["given-token-abc"]


def test_token_url_option(serve, connect):
    server = serve(reply(200, TASK))
    client = connect(server.url, token_url=server.url + "/oauth/token")
    client.get_task(TASK_ID)
    assert len(server.token_requests) == 1


def test_one_token_for_the_whole_run(serve, connect, clock):
    server = serve(default_body=[])
    client = connect(server.url)
    for dummy in range(25):
        client.get_task(TASK_ID)
        clock.advance(10)  # 250 s in all, well inside the 749 s lifetime
    list(client.list_tasks())
    assert len(server.token_requests) == 1
    assert {r.bearer for r in server.api_requests} == {server.tokens[0]}
    assert client.stats["token_requests"] == 1


@pytest.mark.parametrize("ttl,keep_until,renew_at", [(100, 89.0, 91.0), (749, 688.0, 690.0), (3600, 3539.0, 3541.0)])
def test_token_renewed_shortly_before_it_expires(serve, connect, clock, ttl, keep_until, renew_at):
    server = serve(default_body=TASK, token_ttl=ttl)
    client = connect(server.url)
    start = clock()
    client.get_task(TASK_ID)
    clock.now = start + keep_until
    client.get_task(TASK_ID)
    assert len(server.token_requests) == 1
    clock.now = start + renew_at  # still before expires_in: renewed ahead of time, no 401 needed
    client.get_task(TASK_ID)
    assert len(server.token_requests) == 2
    assert [r.bearer for r in server.api_requests] == [server.tokens[0], server.tokens[0], server.tokens[1]]


def test_token_without_expires_in_is_kept(serve, connect, clock):
    server = serve(default_body=TASK, token_ttl=None)
    client = connect(server.url)
    client.get_task(TASK_ID)
    clock.advance(100000)
    client.get_task(TASK_ID)
    assert len(server.token_requests) == 1


def test_401_renews_once_and_replays(serve, connect, clock):
    server = serve(reply(401, {"error": "JWT validation failed: JWT is expired"}), reply(200, TASK))
    client = connect(server.url)
    assert client.get_task(TASK_ID) == TASK
    assert len(server.token_requests) == 2
    assert [r.bearer for r in server.api_requests] == server.tokens
    assert clock.sleeps == []
    assert client.stats["token_renewals_on_401"] == 1


def test_second_401_fails_after_exactly_one_renewal(serve, connect):
    server = serve(reply(401, {"error": "JWT is expired"}), reply(401, {"error": "JWT is invalid"}), reply(200, TASK))
    error = failure(connect(server.url).get_task, TASK_ID)
    assert error.status == 401 and "JWT is invalid" in error.messages
    assert len(server.token_requests) == 2 and len(server.api_requests) == 2
    assert "client_id" in error.hint


def test_401_renewal_happens_once_per_request_not_per_retry(serve, connect):
    server = serve(reply(401, {"error": "expired"}), reply(503), reply(401, {"error": "expired again"}))
    error = failure(connect(server.url).get_task, TASK_ID)
    assert error.status == 401
    assert len(server.token_requests) == 2 and len(server.api_requests) == 3


def test_given_token_is_not_renewed(serve, connect):
    server = serve(reply(401, {"error": "JWT validation failed: JWT is expired"}), reply(200, TASK))
    error = failure(connect(server.url, access_token="given-token-abc").get_task, TASK_ID)
    assert error.status == 401
    assert not server.token_requests and len(server.api_requests) == 1
    assert "given-token-abc" not in str(error)


def test_bad_credentials(serve, connect):
    server = serve(token_script=[reply(401, {"error": "invalid_client", "error_description": "Bad client credentials"})])
    error = failure(connect(server.url).get_task, TASK_ID)
    assert (error.status, error.method, error.url) == (401, "POST", server.url + "/oauth/token")
    assert "client_id" in error.hint and "client_secret" in error.hint
    assert "Bad client credentials" in str(error)
    assert SECRET not in str(error) and SECRET not in repr(error.to_result())
    assert len(server.token_requests) == 1 and not server.api_requests  # a 401 is not retried


def test_token_endpoint_without_token(serve, connect):
    server = serve(token_script=[reply(200, {"token_type": "bearer"})])
    error = failure(connect(server.url).get_task, TASK_ID)
    assert "access_token" in str(error) and not server.api_requests


def test_token_endpoint_transient_failure_is_retried(serve, connect, clock):
    server = serve(reply(200, TASK), token_script=[reply(503), None])
    assert connect(server.url).get_task(TASK_ID) == TASK
    assert len(server.token_requests) == 2 and len(clock.sleeps) == 1


def test_no_credentials_is_an_error():
    with pytest.raises(IscError, match="credentials"):
        IscClient("https://acme.example.com", client_id="only-id")


def test_one_keep_alive_connection(serve, connect):
    server = serve(default_body=TASK)
    client = connect(server.url)
    for dummy in range(10):
        client.get_task(TASK_ID)
    client.patch_task(TASK_ID, PATCH_OPS)
    assert len(server.requests) == 12
    assert len({r.port for r in server.requests}) == 1


@pytest.mark.parametrize("version,experimental,path,header", [
    ("v2026", True, "/v2026/task-status/", "true"),
    ("v2025", True, "/v2025/task-status/", "true"),
    ("v2024", True, "/v2024/task-status/", "true"),
    ("beta", True, "/beta/task-status/", None),
    ("v1", True, "/task-status/v1/", None),
    ("v2026", False, "/v2026/task-status/", None),
])
def test_paths_and_experimental_header(serve, connect, version, experimental, path, header):
    server = serve(default_body=TASK)
    client = connect(server.url, api_version=version, experimental=experimental)
    client.get_task(TASK_ID)
    list(client.list_tasks())
    client.patch_task(TASK_ID, PATCH_OPS)
    get, listing, patch = server.api_requests
    assert get.path == path + TASK_ID and patch.path == path + TASK_ID and listing.path == path.rstrip("/")
    for request in (get, listing, patch):
        assert request.headers.get("X-SailPoint-Experimental") == header
    assert server.token_requests[0].headers.get("X-SailPoint-Experimental") is None


def test_unknown_api_version():
    with pytest.raises(IscError, match="api_version"):
        IscClient("https://a.example.com", access_token="t0ken", api_version="v3")


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


# ====================================================================================== task_path
@pytest.mark.parametrize("version,task_id,path", [
    ("v2026", TASK_ID, "/v2026/task-status/" + TASK_ID),
    ("beta", "a-b_c~d", "/beta/task-status/a-b_c~d"),
    ("v1", "a/b", "/task-status/v1/a%2Fb"),
    ("v2025", "x?y=1#z", "/v2025/task-status/x%3Fy%3D1%23z"),
    ("v2024", "a b", "/v2024/task-status/a%20b"),
    ("v2026", "é", "/v2026/task-status/%C3%A9"),
    ("v2026", "%2F", "/v2026/task-status/%252F"),
    ("v2026", None, "/v2026/task-status"),
    ("v1", None, "/task-status/v1"),
])
def test_task_path(version, task_id, path):
    assert task_path(version, task_id) == path


@pytest.mark.parametrize("task_id", ["", 5, ["a"]])
def test_task_path_rejects_non_ids(task_id):
    with pytest.raises(IscError, match="task id"):
        task_path("v2026", task_id)


WEIRD_IDS = ["a/b", "../../oauth/token", "pending-tasks/", "pending-tasks?x", ".../", "?", "x?filters=id", "#frag", "a b", "ünï/cödé", "%2F", "a&b=c",
             "..%2F", ". .", "pending-tasks/x", "\U0001F600", "a\\b", "a;b"]


@pytest.mark.parametrize("version", ["v2026", "beta", "v1"])
@pytest.mark.parametrize("task_id", WEIRD_IDS)
def test_ids_never_reach_another_endpoint(sim, version, task_id):
    client = IscClient(sim.url, *PAT, api_version=version)
    try:
        error = failure(client.get_task, task_id)
        patch_error = failure(client.patch_task, task_id, PATCH_OPS)
    finally:
        client.session.close()
    assert error.status == 404 and patch_error.status == 404
    base = task_path(version).split("/")
    entries = [e for e in sim.log() if e["path"] != "/oauth/token"]
    assert [(e["method"], e["status"]) for e in entries] == [("GET", 404), ("PATCH", 404)]
    for entry in entries:
        segments = entry["path"].split("/")
        assert segments[:-1] == base and unquote(segments[-1]) == task_id, entry
        assert entry["query"] == {}


@pytest.mark.parametrize("version", ["v2026", "beta"])
@pytest.mark.parametrize("task_id", [".", "..", "pending-tasks"])
def test_ids_naming_another_endpoint_are_refused_before_sending(serve, connect, version, task_id):
    """'.' and '..' are resolved even when percent-encoded; pending-tasks is an endpoint of its own."""
    server = serve()
    client = connect(server.url, api_version=version)
    for call in (lambda: client.get_task(task_id), lambda: client.patch_task(task_id, PATCH_OPS)):
        error = failure(call)
        assert "not a task id" in str(error) and repr(task_id) in str(error)
    assert not server.requests


# ====================================================================================== pagination
def page(first, count):
    return [{"id": "task-%03d" % i} for i in range(first, first + count)]


def test_pages_send_limit_offset_and_count_on_every_page(serve, connect):
    server = serve(reply(200, page(0, 3), {"X-Total-Count": "7"}), reply(200, page(3, 3)), reply(200, page(6, 1)))
    pages = connect(server.url).list_tasks(filters=filters.eq("sourceId", "ad"), sorters="-created", page_size=3,
                                           count=True)
    assert [r["id"] for r in pages] == ["task-%03d" % i for i in range(7)]
    assert pages.total == 7 and pages.pages == 3
    queries = [r.query for r in server.api_requests]
    assert [(q["limit"], q["offset"]) for q in queries] == [("3", "0"), ("3", "3"), ("3", "6")]
    assert [q.get("count") for q in queries] == ["true", "true", "true"]
    assert all(q["filters"] == 'sourceId eq "ad"' and q["sorters"] == "-created" for q in queries)


def test_default_page_size_is_sent(serve, connect):
    server = serve(reply(200, page(0, 2)))
    assert len(list(connect(server.url).list_tasks())) == 2
    assert server.api_requests[0].query == {"limit": "250", "offset": "0", "count": "true"}


@pytest.mark.parametrize("size", [0, 251, -1])
def test_page_size_is_checked(size):
    client = IscClient("https://a.example.com", access_token="t0ken")
    with pytest.raises(IscError, match="page size"):
        client.list_tasks(page_size=size)
    client.session.close()


def test_duplicates_across_pages_are_dropped(serve, connect):
    server = serve(reply(200, page(0, 3)), reply(200, page(2, 3)), reply(200, page(5, 1)))
    pages = connect(server.url).list_tasks(page_size=3)
    assert [r["id"] for r in pages] == ["task-%03d" % i for i in range(6)]
    assert pages.duplicates == 1


def sim_tasks(sim, count, **spec):
    """count tasks, oldest first, a second apart; returns their ids oldest first."""
    specs = [dict(spec, created_ago=10000 - i, duration=1) for i in range(count)]
    return [t["id"] for t in sim.add_tasks(*specs)] if count else []


def list_calls(sim, path="/v2026/task-status"):
    return [e for e in sim.log() if e["path"] == path]


@pytest.mark.parametrize("total,page_size", [(23, 5), (1, 250), (0, 10), (7, 1), (20, 5), (251, 250)])
def test_number_of_list_calls(sim, total, page_size):
    ids = sim_tasks(sim, total)
    client = IscClient(sim.url, *PAT)
    try:
        got = [r["id"] for r in client.list_tasks(page_size=page_size)]
    finally:
        client.session.close()
    assert got == ids
    calls = list_calls(sim)
    # The counted total ends the listing: never a trailing empty page (one request when there is nothing).
    assert len(calls) == max(1, math.ceil(total / page_size))
    assert all(c["query"]["limit"] == str(page_size) for c in calls)
    assert [int(c["query"]["offset"]) for c in calls] == [page_size * i for i in range(len(calls))]


def test_records_shifting_between_pages_are_not_repeated(sim):
    old = sim_tasks(sim, 25)
    client = IscClient(sim.url, *PAT)
    added = []
    try:
        pages = client.list_tasks(sorters="-created", page_size=10)
        got = []
        for record in pages:
            got.append(record["id"])
            if len(got) == 10 and not added:  # between page 1 and page 2: three new tasks push the rest down
                added = [t["id"] for t in sim.add_tasks({"created_ago": 0}, {"created_ago": 0}, {"created_ago": 0})]
    finally:
        client.session.close()
    assert len(got) == len(set(got))
    assert set(old) <= set(got)
    assert got[:25] == old[::-1]
    assert pages.duplicates == 3  # the shift really happened
    assert all(c["query"]["sorters"] == "-created" for c in list_calls(sim))


def test_max_results_caps_the_listing(sim):
    ids = sim_tasks(sim, 30)
    client = IscClient(sim.url, *PAT)
    try:
        got = [r["id"] for r in client.list_tasks(page_size=10, max_results=15)]
        nothing = list(client.list_tasks(max_results=0))
    finally:
        client.session.close()
    assert got == ids[:15] and nothing == []
    assert len(list_calls(sim)) == 2


def test_count_reports_the_total(sim):
    sim_tasks(sim, 12, source_id="ad-source", source_name="AD")
    sim_tasks(sim, 5, source_id="wd-source", source_name="Workday")
    client = IscClient(sim.url, *PAT)
    try:
        everything = client.list_tasks(page_size=5, count=True, max_results=3)
        assert len(list(everything)) == 3 and everything.total == 17
        ad = client.list_tasks(filters=filters.eq("sourceId", "ad-source"), page_size=5, count=True)
        assert len(list(ad)) == 12 and ad.total == 12
        uncounted = client.list_tasks(page_size=5)
        list(uncounted)
        assert uncounted.total is None
    finally:
        client.session.close()
    # count=true goes on every page (it is how the listing knows where to stop), but .total is only
    # reported when asked for.
    assert all(c["query"].get("count") == "true" for c in list_calls(sim))


# ================================================================================ get_tasks_by_ids
def test_get_tasks_by_ids_one_list_call_per_50_ids(sim):
    ids = sim_tasks(sim, 120)
    missing = ["%032x" % (0xdead0000 + i) for i in range(7)]
    wanted = ids[:60] + missing[:3] + ids[60:] + missing[3:] + ids[:5]  # duplicates too
    client = IscClient(sim.url, *PAT)
    try:
        found = client.get_tasks_by_ids(wanted)
    finally:
        client.session.close()
    assert set(found) == set(ids)
    assert all(found[i]["id"] == i for i in ids)
    calls = list_calls(sim)
    assert len(calls) == math.ceil(127 / 50)
    for call in calls:
        assert call["query"]["filters"].startswith("id in (")
        assert call["status"] == 200


def test_get_tasks_by_ids_single_and_empty(sim):
    ids = sim_tasks(sim, 2)
    client = IscClient(sim.url, *PAT)
    try:
        assert list(client.get_tasks_by_ids([ids[1]])) == [ids[1]]
        assert client.get_tasks_by_ids([]) == {}
    finally:
        client.session.close()
    assert [c["query"]["filters"] for c in list_calls(sim)] == ['id eq "%s"' % ids[1]]


def test_get_tasks_by_ids_reads_pending_tasks_on_beta(sim):
    done = sim_tasks(sim, 3)
    running = sim.add_task(outcome="STUCK")["id"]
    client = IscClient(sim.url, *PAT, api_version="beta")
    try:
        found = client.get_tasks_by_ids(done + [running, "f" * 32])
    finally:
        client.session.close()
    assert set(found) == set(done + [running])
    assert found[running]["completionStatus"] is None
    assert len(list_calls(sim, "/beta/task-status")) == 1
    assert len(list_calls(sim, "/beta/task-status/pending-tasks")) >= 1


# ============================================================================ faults of the simulator
@pytest.fixture
def sim_client(sim, clock):
    """A client of the simulated tenant (PAT credentials) on the fake clock; its sleeps are recorded only."""
    client = IscClient(sim.url, *PAT, clock=clock, sleep=clock.sleep)
    yield client
    client.session.close()


def api_log(sim):
    return [(e["method"], e["status"]) for e in sim.log() if e["path"] != "/oauth/token"]


def test_sim_expired_token_is_renewed_and_replayed(sim, sim_client):
    task = sim.add_task(duration=5)["id"]
    assert sim_client.get_task(task)["id"] == task
    sim.expire_tokens()
    assert sim_client.get_task(task)["id"] == task
    assert api_log(sim) == [("GET", 200), ("GET", 401), ("GET", 200)]
    assert len([e for e in sim.log() if e["path"] == "/oauth/token"]) == 2


def test_sim_token_lifetime_runs_out_between_calls(sim, sim_client, clock):
    sim.settings(token_ttl=100)
    task = sim.add_task(duration=5)["id"]
    sim_client.get_task(task)
    clock.advance(95)  # the client renews ahead of time (10% of 100 s) ...
    sim.advance(95)    # ... while the tenant still accepts the old token
    sim_client.get_task(task)
    assert api_log(sim) == [("GET", 200), ("GET", 200)]
    assert len([e for e in sim.log() if e["path"] == "/oauth/token"]) == 2


def test_sim_503_burst_is_survived(sim, sim_client, clock):
    task = sim.add_task()["id"]
    sim.add_fault("status", status=503, count=3, path="/task-status/")
    assert sim_client.get_task(task)["id"] == task
    assert api_log(sim) == [("GET", 503)] * 3 + [("GET", 200)]
    assert len(clock.sleeps) == 3


def test_sim_rate_storm_fails_at_once(sim, sim_client, clock):
    sim.add_fault("rate_storm", retry_after=600, path="/task-status")
    error = failure(sim_client.get_task, TASK_ID)
    assert error.status == 429 and error.retry_after == 600 and clock.sleeps == []


def test_sim_rate_storm_shorter_than_retry_max_wait_is_waited_out(sim, sim_client, clock):
    task = sim.add_task()["id"]
    sim.add_fault("rate_storm", retry_after=60, count=2, path="/task-status")
    assert sim_client.get_task(task)["id"] == task
    assert clock.sleeps == [60.0, 60.0]


@pytest.mark.parametrize("kind,rule", [("drop", {"apply": True}), ("drop", {"apply": False}), ("malformed", {}),
                                       ("status", {"status": 502}), ("html", {"status": 504})])
def test_sim_patch_with_lost_answer_is_uncertain_and_sent_once(sim, sim_client, clock, kind, rule):
    task = sim.add_task(outcome="STUCK")["id"]
    sim.add_fault(kind, method="PATCH", **rule)
    error = failure(sim_client.patch_task, task, PATCH_OPS)
    assert error.uncertain is True and clock.sleeps == []
    assert [m for m, dummy in api_log(sim)] == ["PATCH"]
    applied = sim_client.get_task(task)["completionStatus"] == "ERROR"
    assert applied == (kind == "drop" and rule["apply"])  # the tenant may or may not have applied it


def test_sim_patch_503_is_retried_and_applied_once(sim, sim_client, clock):
    task = sim.add_task(outcome="STUCK")["id"]
    sim.add_fault("status", status=503, method="PATCH")
    assert sim_client.patch_task(task, PATCH_OPS)["completionStatus"] == "ERROR"
    assert api_log(sim) == [("PATCH", 503), ("PATCH", 200)] and len(clock.sleeps) == 1


def test_sim_patch_with_api_client_token_gets_the_pat_hint(sim, clock):
    task = sim.add_task(outcome="STUCK")["id"]
    client = IscClient(sim.url, "sim-api-client", "sim-api-secret", clock=clock, sleep=clock.sleep)
    try:
        error = failure(client.patch_task, task, PATCH_OPS)
    finally:
        client.session.close()
    assert error.status == 403 and "personal access token" in error.hint and error.uncertain is False
    assert error.detail_code and error.tracking_id and error.messages


def test_sim_unknown_task_is_404_with_the_90_day_hint(sim, sim_client):
    error = failure(sim_client.get_task, "0" * 32)
    assert error.status == 404 and "90 days" in error.hint and error.detail_code == "404 Not found"


@pytest.mark.parametrize("version", ["v2024", "v2025", "v2026"])
def test_sim_requiring_the_experimental_header(sim, version):
    sim.settings(require_experimental=True)
    task = sim.add_task(created_ago=100, duration=1)["id"]  # finished: v2024 lists finished tasks only
    with_header = IscClient(sim.url, *PAT, api_version=version)
    without = IscClient(sim.url, *PAT, api_version=version, experimental=False)
    try:
        assert with_header.get_task(task)["id"] == task
        assert len(list(with_header.list_tasks())) == 1
        error = failure(without.get_task, task)
    finally:
        with_header.session.close()
        without.session.close()
    assert error.status == 400 and "X-SailPoint-Experimental" in str(error)


def test_pages_stop_at_the_counted_total_without_an_empty_page(serve, connect):
    server = serve(reply(200, page(0, 3), {"X-Total-Count": "6"}), reply(200, page(3, 3), {"X-Total-Count": "6"}),
                   reply(200, [], {"X-Total-Count": "6"}))
    pages = connect(server.url).list_tasks(page_size=3)
    assert len(list(pages)) == 6
    assert pages.pages == 2 and len(server.api_requests) == 2


def test_pages_follow_a_total_that_grows_while_reading(serve, connect):
    server = serve(reply(200, page(0, 3), {"X-Total-Count": "6"}), reply(200, page(3, 3), {"X-Total-Count": "7"}),
                   reply(200, page(6, 1), {"X-Total-Count": "7"}))
    pages = connect(server.url).list_tasks(page_size=3)
    assert [r["id"] for r in pages] == ["task-%03d" % i for i in range(7)]
    assert pages.pages == 3
