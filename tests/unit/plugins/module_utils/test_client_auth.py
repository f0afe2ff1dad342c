# -*- coding: utf-8 -*-
# Copyright: identitynow.tasks contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The ISC client: the client-credentials grant, token renewal, given tokens, API paths and headers.

Exact sequences run against a scripted local server (tests/support/scripted_server.py), on a fake clock.
"""

from __future__ import annotations

import pytest

from ansible_collections.identitynow.tasks.plugins.module_utils.client import IscClient
from ansible_collections.identitynow.tasks.plugins.module_utils.errors import IscError
from ansible_collections.identitynow.tasks.tests.support.common import PATCH_OPS, SECRET, TASK, TASK_ID, failure
from ansible_collections.identitynow.tasks.tests.support.scripted_server import reply


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
    server = serve(*[reply(200, TASK)] * 25, default_body=[])
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
    server = serve(reply(200, TASK), reply(200, [TASK]), reply(200, TASK))
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
