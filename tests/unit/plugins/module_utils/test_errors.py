# -*- coding: utf-8 -*-
# Copyright: identitynow.tasks contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""IscError: SailPoint's error details, hints per status, and redaction of secrets.

The HTTP cases go through a real client against a scripted local server, so the mapping is tested on
real responses rather than on hand-made response objects.
"""

from __future__ import annotations

import json
import re
import traceback
from urllib.parse import quote, quote_plus

import pytest

from ansible_collections.identitynow.tasks.plugins.module_utils import errors
from ansible_collections.identitynow.tasks.plugins.module_utils.client import IscClient
from ansible_collections.identitynow.tasks.plugins.module_utils.errors import IscError
from ansible_collections.identitynow.tasks.tests.support.scripted_server import (
    FakeClock, ScriptedServer, html, reply)

SECRET = "s3cret-Value-9f8e7d"
TASK_ID = "00eebcf881994e419d72e757fd30dc0e"
TRACKING = "b21b1f7ce4da4d639f2c62a57171b427"


def dto(detail_code, *texts, causes=()):
    return {"detailCode": detail_code, "trackingId": TRACKING,
            "messages": [{"locale": "en-US", "localeOrigin": "DEFAULT", "text": t} for t in texts],
            "causes": [{"locale": "en-US", "localeOrigin": "DEFAULT", "text": t} for t in causes]}


@pytest.fixture
def call():
    """call(script, method="GET", **client_options) -> the IscError the client raised (and the server)."""
    servers, clients = [], []

    def run(script, method="GET", **options):
        server = ScriptedServer(script)
        servers.append(server)
        clock = FakeClock()
        options.setdefault("client_id", "sim-client-id")
        options.setdefault("client_secret", SECRET)
        options.setdefault("max_retries", 0)
        client = IscClient(server.url, clock=clock, sleep=clock.sleep, **options)
        clients.append(client)
        with pytest.raises(IscError) as info:
            if method == "PATCH":
                client.patch_task(TASK_ID, [{"op": "replace", "path": "/completionStatus", "value": "ERROR"}])
            else:
                client.get_task(TASK_ID)
        return info.value

    yield run
    for client in clients:
        client.session.close()
    for server in servers:
        server.close()


# ------------------------------------------------------------------------------------ error details
def test_error_response_dto_details(call):
    error = call([reply(400, dto("400.1 Bad Request Content", "bad value for sorters", causes=["sorters: -modified"]))])
    assert (error.status, error.method) == (400, "GET")
    assert error.url.endswith("/v2026/task-status/" + TASK_ID)
    assert error.detail_code == "400.1 Bad Request Content"
    assert error.tracking_id == TRACKING
    assert error.messages == ["bad value for sorters", "sorters: -modified"]
    text = str(error)
    for part in ("HTTP 400", "400.1 Bad Request Content", TRACKING, "bad value for sorters", "sorters: -modified",
                 "GET " + error.url, "Hint: "):
        assert part in text
    result = error.to_result()
    assert result["status"] == 400 and result["tracking_id"] == TRACKING and result["detail_code"]
    assert result["error_messages"] == error.messages and result["msg"] == text


def test_401_error_body(call):
    error = call([reply(401, {"error": "JWT validation failed: JWT is expired"})], access_token="given-token-123",
                 client_id=None, client_secret=None)
    assert error.status == 401
    assert error.messages == ["JWT validation failed: JWT is expired"]
    assert error.detail_code is None and error.tracking_id is None
    assert "client_id" in error.hint and "access_token" in error.hint


def test_429_message_body_is_trimmed(call):
    error = call([reply(429, {"message": " Rate Limit Exceeded "}, {"Retry-After": "900"})])
    assert error.messages == ["Rate Limit Exceeded"]
    assert error.retry_after == 900
    assert "rate limit" in error.hint.lower() and "Retry-After" in error.hint


def test_html_proxy_page(call):
    error = call([html(502)])
    assert error.status == 502
    assert error.messages and "non-JSON" in error.messages[0] and "text/html" in error.messages[0]
    assert "<html" not in str(error) and "nginx" not in str(error)
    assert error.hint == errors.SERVER_HINT


def test_error_without_body(call):
    error = call([reply(404)])
    assert error.status == 404 and error.messages == []
    assert "90 days" in str(error)


# ------------------------------------------------------------------------------------------ hints
@pytest.mark.parametrize("status,method,words", [
    (401, "GET", ["client_id", "client_secret", "access_token"]),
    (403, "GET", ["idn:task-management:read", "sp:scopes:all"]),
    (403, "PATCH", ["personal access token", "user context", "idn:task-management:write"]),
    (404, "GET", ["unknown", "90 days"]),
    (404, "PATCH", ["90 days"]),
    (415, "PATCH", ["application/json-patch+json"]),
    (500, "GET", ["server-side"]),
])
def test_hint_per_status(call, status, method, words):
    given = dict(access_token="given-token-123", client_id=None, client_secret=None) if status == 401 else {}
    error = call([reply(status, dto("%d x" % status, "nope"))], method=method, **given)
    assert error.status == status
    for word in words:
        assert word in error.hint, (word, error.hint)
    assert error.hint in str(error)


def test_hint_for_statuses_without_details():
    assert errors.hint_for(None) is None
    assert errors.hint_for(418) is None
    assert errors.hint_for(503) == errors.SERVER_HINT
    assert errors.hint_for(403, "PATCH") == errors.PATCH_403_HINT
    assert errors.hint_for(403, "GET") != errors.PATCH_403_HINT


def test_explicit_hint_wins():
    assert IscError("x", status=404, hint="custom").hint == "custom"


# ------------------------------------------------------------------------------------------ redaction
def test_redaction_of_message_url_and_messages():
    token = "eyJhbGciOiJIUzI1NiJ9.payload.sig"
    error = IscError("failed with secret %s" % SECRET, status=400, method="GET",
                     url="https://acme.example.com/v2026/task-status?access_token=%s" % token,
                     messages=["token %s rejected" % token, "fine"])
    error.redacted([SECRET, token, None, ""])
    text = str(error) + repr(error.to_result()) + repr(error.args)
    assert SECRET not in text and token not in text
    assert errors.REDACTED in error.message and errors.REDACTED in error.url
    assert error.messages == ["token %s rejected" % errors.REDACTED, "fine"]


def test_redact_keeps_text_without_secrets():
    assert errors.redact("nothing to hide", [SECRET]) == "nothing to hide"
    assert errors.redact(None, [SECRET]) is None
    assert errors.redact("a %s b %s" % (SECRET, SECRET), [SECRET]) == "a ******** b ********"


@pytest.fixture
def echo_server():
    server = ScriptedServer(token_script=[reply(401, {"error": "invalid_client",
                                                      "error_description": "secret %s is not valid" % SECRET})])
    yield server
    server.close()


def test_bad_credentials_never_show_the_secret(echo_server):
    clock = FakeClock()
    client = IscClient(echo_server.url, client_id="sim-client-id", client_secret=SECRET, clock=clock,
                       sleep=clock.sleep)
    with pytest.raises(IscError) as info:
        client.get_task(TASK_ID)
    client.session.close()
    error = info.value
    assert error.status == 401 and error.method == "POST" and error.url == echo_server.url + "/oauth/token"
    assert "client_id" in error.hint
    assert echo_server.token_requests[0].form["client_secret"] == SECRET  # it was sent ...
    shown = str(error) + repr(error.to_result()) + "".join(traceback.format_exception(error))
    assert SECRET not in shown  # ... but never shown
    assert "invalid_client" in str(error)
    assert not echo_server.api_requests


def test_token_echoed_in_an_api_error_is_redacted():
    server = ScriptedServer([reply(400, dto("400.1 Bad Request Content", "token tok-1-0123456789abcdef is odd"))])
    clock = FakeClock()
    client = IscClient(server.url, client_id="sim-client-id", client_secret=SECRET, clock=clock, sleep=clock.sleep)
    try:
        with pytest.raises(IscError) as info:
            client.get_task(TASK_ID)
    finally:
        client.session.close()
        server.close()
    assert server.tokens[0] not in str(info.value)
    assert info.value.messages == ["token %s is odd" % errors.REDACTED]


@pytest.mark.parametrize("secret", ["s3cret-Value-9f8e7d", "quo\"te's\\back-slash", "p%ss&w+rd=/?#", "n\u00e9e-\u00fcml\u00e4ut-\u2603"])
def test_every_spelling_of_a_secret_is_redacted(secret):
    spellings = {"raw": secret, "repr": repr(secret), "ascii": ascii(secret), "json": json.dumps(secret),
                 "json-unicode": json.dumps(secret, ensure_ascii=False), "percent": quote(secret, safe=""),
                 "percent-path": quote(secret), "form": quote_plus(secret),
                 "percent-lower": re.sub(r"%[0-9A-F]{2}", lambda m: m.group(0).lower(), quote(secret, safe=""))}
    for name, form in spellings.items():
        text = "before %s after" % form
        redacted = errors.redact(text, [secret])
        assert redacted.startswith("before ") and redacted.endswith(" after"), (name, redacted)
        assert errors.REDACTED in redacted, (name, form, redacted)
        for part in (secret, secret[:8], secret[-8:]):
            assert part not in redacted, (name, redacted)
    error = IscError("failed: %r" % secret, messages=[json.dumps({"secret": secret})], hint="was %s" % quote(secret))
    error.redacted([secret])
    assert secret not in str(error) and repr(secret) not in str(error) and quote(secret) not in str(error)


def test_a_404_that_means_a_wrong_base_url_is_not_a_missing_task(call):
    error = call([reply(404, dto("404 Not found", "no route"))], client_id=None, client_secret=None,
                 access_token="given-token-123")
    assert error.status == 404 and error.path_missing is False  # a task path under the gateway root
    server = ScriptedServer(route=lambda request: reply(404, {"error": "Not Found"}))
    client = IscClient(server.url + "/v3", client_id="sim-client-id", client_secret=SECRET, max_retries=0)
    try:
        with pytest.raises(IscError) as info:
            client.get_task(TASK_ID)
    finally:
        client.session.close()
        server.close()
    assert info.value.status == 404 and info.value.path_missing is True and "gateway root" in info.value.hint


def test_a_long_token_is_redacted_before_any_text_is_cut():
    token = "eyJhbGciOiJSUzI1NiJ9." + "x" * 900 + ".sig"
    server = ScriptedServer([reply(400, dto("400.1 Bad Request Content", "token %s is odd" % token,
                                            causes=["%s%s" % ("c" * 480, token)]))])
    clock = FakeClock()
    client = IscClient(server.url, access_token=token, clock=clock, sleep=clock.sleep)
    try:
        with pytest.raises(IscError) as info:
            client.get_task(TASK_ID)
    finally:
        client.session.close()
        server.close()
    text = str(info.value) + repr(info.value.to_result())
    assert "x" * 20 not in text and errors.REDACTED in text
    assert all(len(m) <= errors.MAX_ITEM + 3 for m in info.value.messages)
